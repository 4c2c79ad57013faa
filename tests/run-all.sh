#!/usr/bin/env bash
# Runs every test tandem has: formatting and lints, unit and simulation
# tests, the network-namespace lab, and the IPVS tests inside the test VM.
# Needs root (namespaces, raw sockets): run as a user, it runs itself
# through sudo. Each suite is a script in
# tests/suites/, run in name order; the run ends with "N passed, N failed".
set -uo pipefail
# Root for namespaces: as root directly, else through sudo.
. "$(dirname "$0")/../netns-lab/as-root.sh"
as_root "$@"
cd "$(dirname "$0")/.."
bash .ci/setup || exit 1

# Incremental compilation caches only help an edit-compile loop; here they
# would double what the build writes to disk (CI machines have a few GB).
export CARGO_INCREMENTAL=0
free_disk() { df -Ph . | awk 'NR==2 {print $4 " free on " $6}'; }
echo "=== disk: $(free_disk)"

passed=0; failed=0; failures=()
for suite in tests/suites/*.sh; do
  name=$(basename "$suite" .sh)
  echo "=== suite $name"
  start=$(date +%s)
  if bash "$suite"; then
    passed=$((passed+1)); echo "=== suite $name: ok ($(( $(date +%s) - start ))s; $(free_disk))"
  else
    failed=$((failed+1)); failures+=("$name"); echo "=== suite $name: FAILED ($(( $(date +%s) - start ))s; $(free_disk))"
  fi
done
[ $failed -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
