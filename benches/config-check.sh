#!/usr/bin/env bash
# Benchmark: `tandem check-config` against Debian's `keepalived -t -f` on
# the same large configuration (250 vrrp_instances, 1000 virtual_servers x
# 10 real_servers with HTTP_GET, about 2.5 MB, from config-gen.py), in the
# same run. Prints the median wall time, CPU time (user+sys) and peak RSS
# of each, and the ratios tandem/keepalived. Target: time ratio <= 0.5 and
# less peak memory.
#
# keepalived only ever runs with -t (it checks and exits), and inside a
# network namespace made here (with a veth pair for the interfaces the
# configuration names), so nothing touches the machine's network. Both
# programs run the same way, from one shell inside that namespace.
#
# Usage (root): benches/config-check.sh [RUNS]   (default 11)
# TANDEM=path/to/tandem skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-11}
if [ "$(id -u)" != 0 ]; then
  echo "config-check: needs root (network namespace for keepalived -t)" >&2
  exit 2
fi
command -v keepalived >/dev/null || { echo "config-check: keepalived is not installed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "config-check: /usr/bin/time is needed for peak RSS" >&2; exit 2; }

if [ -z "${TANDEM:-}" ]; then
  cargo build --release --quiet --bin tandem
  TANDEM=$PWD/target/release/tandem
fi

ns=tdm-bench-config-$$
work=$(mktemp -d /tmp/tdm-bench-config.XXXXXX)
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

conf=$work/keepalived.conf
python3 benches/config-gen.py 250 1000 10 >"$conf"
ip netns add "$ns"
ip -n "$ns" link add bench0 type veth peer name bench1

# Both must accept the file, or the comparison means nothing.
if ! out=$(ip netns exec "$ns" "$TANDEM" check-config -f "$conf" 2>&1); then
  echo "tandem refused the benchmark configuration:"; echo "$out" | head -20; exit 1
fi
if ! out=$(ip netns exec "$ns" keepalived -t -f "$conf" 2>&1); then
  echo "keepalived refused the benchmark configuration:"; echo "$out" | head -20; exit 1
fi

# The timed loop runs inside the namespace, so `ip netns exec` (slow on a
# loaded machine) is paid once, not in every measurement.
cat >"$work/loop.sh" <<'LOOP'
set -euo pipefail
runs=$1 tandem=$2 conf=$3 out=$4
# One timed run: appends "WALL_S CPU_S RSS_KB" to a file.
measure() {
  local file=$1 t0 t1 rest; shift
  t0=$(date +%s%N)
  rest=$(/usr/bin/time -f '%U %S %M' "$@" 2>&1 >/dev/null | tail -1)
  t1=$(date +%s%N)
  awk -v w="$(( t1 - t0 ))" -v r="$rest" 'BEGIN { split(r, a, " "); printf "%.4f %.3f %d\n", w / 1e9, a[1] + a[2], a[3] }' >>"$file"
}
: >"$out/tandem"; : >"$out/keepalived"
for _ in $(seq "$runs"); do
  # Alternate, so load on the machine hits both alike.
  measure "$out/tandem" "$tandem" check-config -f "$conf"
  measure "$out/keepalived" keepalived -t -f "$conf"
done
LOOP
ip netns exec "$ns" bash "$work/loop.sh" "$runs" "$TANDEM" "$conf" "$work"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

col() { awk -v c="$1" '{ print $c }' "$2" | median; }
tw=$(col 1 "$work/tandem"); kw=$(col 1 "$work/keepalived")
tc=$(col 2 "$work/tandem"); kc=$(col 2 "$work/keepalived")
tm=$(col 3 "$work/tandem"); km=$(col 3 "$work/keepalived")

size=$(stat -c %s "$conf")
echo "config-check benchmark: $(( size / 1024 )) KiB, 250 vrrp_instances, 1000 virtual_servers x 10 real_servers, $runs runs each"
echo "keepalived: $(keepalived --version 2>&1 | head -1)"
printf '%-22s %12s %12s %12s\n' "" "wall (s)" "cpu (s)" "peak RSS (KiB)"
printf '%-22s %12s %12s %12s\n' "tandem check-config" "$tw" "$tc" "$tm"
printf '%-22s %12s %12s %12s\n' "keepalived -t" "$kw" "$kc" "$km"
awk -v a="$tw" -v b="$kw" -v c="$tc" -v d="$kc" -v e="$tm" -v f="$km" 'BEGIN {
  printf "ratio tandem/keepalived: wall %.2f, cpu %.2f, peak RSS %.2f\n", a / b, (d > 0 ? c / d : 0), e / f
  ok = (a / b <= 0.5 && e < f)
  printf "target (time <= 0.5x, less memory): %s\n", ok ? "met" : "NOT met"
}'
