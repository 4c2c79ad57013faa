#!/usr/bin/env bash
# Runs the tests that need a real IPVS kernel, inside the test VM:
#   netns-lab/vm-run -- bash tests/vm/run.sh [TEST...]
# (tests/suites/40-vm-ipvs.sh does exactly that.) Each tests/vm/t-*.sh runs
# on its own and builds its own namespaces; the run ends with a summary line
# and fails if any test failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
[ -e /proc/net/ip_vs ] || { echo "tests/vm/run.sh: no IPVS here; run it through netns-lab/vm-run" >&2; exit 2; }

tests=()
if [ $# -gt 0 ]; then
  for t in "$@"; do tests+=("$here/$(basename "$t" .sh).sh"); done
else
  tests=("$here"/t-*.sh)
fi
passed=0 failed=0 failures=()
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  echo "=== vm test $name"
  start=$SECONDS
  if bash "$t"; then
    passed=$((passed + 1)); echo "--- ok $name ($((SECONDS - start))s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "--- FAILED $name ($((SECONDS - start))s)"
  fi
done
[ "$failed" -eq 0 ] || echo "failed vm tests: ${failures[*]}"
echo "vm tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
