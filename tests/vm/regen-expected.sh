#!/usr/bin/env bash
# Writes configs/NAME.expected for every configs/NAME.conf (or the ones
# named): the table Debian's keepalived (the reference implementation of the
# configuration language) programs from NAME.conf, as ipvsadm shows it.
# Run on the host; it boots the test VM once. REVIEW every changed line
# against the .conf before committing: these files are the specification
# tandem is tested against (tests/vm/t-20-keepalived-anchor.sh re-checks
# them against keepalived on every run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
if [ "${1:-}" != --inside ]; then
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
  "$repo/netns-lab/vm-run" --no-build -- bash "$here/regen-expected.sh" --inside "$@" >"$out"
  awk -v dir="$here/configs" '
    /^=== / { if (f) close(f); f = dir "/" $2 ".expected"; next }
    { print > f }' "$out"
  git -C "$repo" status --short -- "$here/configs"
  exit 0
fi
shift
# shellcheck source=tests/vm/lib.sh
source "$here/lib.sh"
confs=("$@")
[ ${#confs[@]} -gt 0 ] || confs=("$CONFIGS"/*.conf)
for conf in "${confs[@]}"; do
  conf=$CONFIGS/$(basename "$conf" .conf).conf
  name=$(basename "$conf" .conf)
  balancer_ns ns "$name"
  keepalived_checker "$ns" "$conf"
  prev=
  for _ in $(seq 50); do
    sleep 0.5
    cur=$(ipvs_snapshot "$ns")
    if [ -n "$prev" ] && [ "$cur" = "$prev" ] && [ "$(ip netns exec "$ns" ipvsadm -Sn | wc -l)" -gt 0 ]; then break; fi
    prev=$cur
  done
  echo "=== $name"
  ipvs_snapshot "$ns"
  stop_pid "$KEEPALIVED_PID"
  grep -iE 'error|warn|unknown|invalid' "$SCRATCH/$name.keepalived.log" >&2 || true
done
