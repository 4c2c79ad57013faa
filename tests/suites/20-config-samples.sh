#!/usr/bin/env bash
# keepalived's own sample configurations through `tandem check-config`:
# each must give the outcome recorded in
# tests/fixtures/keepalived/expected-outcomes (accepted, or refused only
# with "not supported yet" errors), never a crash and never a line that
# says "unknown keyword" (in any outcome). Also runs over the shared
# fixtures folder (../shared/fixtures/keepalived/samples, or
# /work/shared/...) when present.
set -uo pipefail
cd "$(dirname "$0")/../.."

cargo build --quiet --bin tandem || exit 1
tandem=target/debug/tandem
expected=tests/fixtures/keepalived/expected-outcomes

dirs=(tests/fixtures/keepalived/samples)
for shared in ../shared/fixtures/keepalived/samples /work/shared/fixtures/keepalived/samples; do
  if [ -d "$shared" ]; then dirs+=("$shared"); break; fi
done

pass=0; fail=0
for dir in "${dirs[@]}"; do
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    line=$(grep -E "^${name//./\\.}[[:space:]]" "$expected" | sed 's/#.*//')
    outcome=$(awk '{print $2}' <<<"$line")
    opts=$(awk '{$1=""; $2=""; print}' <<<"$line")
    # shellcheck disable=SC2086
    out=$("$tandem" check-config -f "$f" $opts 2>&1); rc=$?
    errors=$(grep -E ':[0-9]+:[0-9]+: error: |^[^ ]+: error: ' <<<"$out" || true)
    other=$(grep -v 'that tandem does not support yet' <<<"$errors" | grep . || true)
    why=""
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
      why="exit status $rc (crash or usage error)"
    elif grep -qi 'unknown keyword' <<<"$out"; then
      # Every keyword keepalived reads is read or "not supported yet".
      why="a line says \"unknown keyword\""
    else
      case "$outcome" in
        accepted)    [ $rc -eq 0 ] && [ -z "$errors" ] || why="expected accepted" ;;
        unsupported) [ $rc -eq 1 ] && [ -n "$errors" ] && [ -z "$other" ] || why="expected refused only with \"not supported yet\"" ;;
        invalid)     [ $rc -eq 1 ] && [ -n "$other" ] || why="expected a real error" ;;
        "")          [ -z "$other" ] || why="not recorded in $expected, and refused with more than \"not supported yet\"" ;;
        *)           why="bad outcome \"$outcome\" in $expected" ;;
      esac
    fi
    if [ -n "$why" ]; then
      fail=$((fail+1)); echo "FAIL $f: $why"; sed 's/^/    /' <<<"$out"
    else
      pass=$((pass+1)); echo "ok   $f (${outcome:-unrecorded})"
    fi
  done
done
echo "config samples: $pass passed, $fail failed"

# Real users' configurations (../shared/fixtures/keepalived-real, when
# present): tandem must keep running at least the share it runs today of
# those keepalived runs (docs/config.md has the table; raise the floor as
# options land).
survey=0
if [ -d ../shared/fixtures/keepalived-real ] || [ -d /work/shared/fixtures/keepalived-real ]; then
  TANDEM=$tandem bash tests/compat/real-configs.sh --min-percent 76 --out target/real-configs.tsv || survey=1
else
  echo "real-configs: no folder of real configurations here; skipped"
fi
[ $fail -eq 0 ] && [ $survey -eq 0 ]
