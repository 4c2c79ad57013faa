#!/usr/bin/env bash
# IPVS programming benchmark, in the test VM (this machine's kernel has no
# IPVS): tandem against `ipvsadm`, in the same VM, in the same run.
#
#   benches/ipvs-vm.sh [--rounds N] [--services S] [--dests D] [--debug]
#                      [--input conf|table]
#
# Per round, on a table of S services x D destinations (default 1000 x 10):
#   cold load    tandem ipvs apply -f big.conf   vs  ipvsadm -R < big.rules
#   one change   one weight changed in the config, reconciled by tandem
#                (dump + diff + apply; counted operations must be 1)
#                vs  ipvsadm -e of that one destination
#   no change    tandem ipvs apply of the same config again (0 operations)
#   teardown     tandem ipvs flush                vs  ipvsadm -C
#                tandem reconcile to an empty table with lvs_flush
#                (one DEL_SERVICE per service)
#   daemon change the same one weight changed as the daemon does it, at two
#                sizes (10 x 10 and S x D): `tandem ipvs apply -f A --then B`
#                keeps one client and one reconciler, programs A (dump +
#                load), then reconciles to B from its belief of the table;
#                that second step must be 1 request, 0 reads, 1 sendmsg,
#                and its time (measured inside tandem) is compared with
#                `ipvsadm -e` of the same edit on the same table
# Which tool goes first alternates by round. Medians over the rounds and the
# ratio tandem/ipvsadm are printed (below 1 means tandem is faster). Under
# TCG emulation absolute times mean little; the ratio is the figure.
# Uses the release build of tandem (cargo build --release) unless --debug.
# --input table feeds tandem the same table as JSON (`tandem ipvs dump
# --table`) instead of keepalived.conf: the difference is parsing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)

rounds=5 services=1000 dests=10 profile=--release inside=0 input=conf
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --services) services=$2; shift 2 ;;
    --dests) dests=$2; shift 2 ;;
    --debug) profile=; shift ;;
    --input) input=$2; shift 2 ;;
    --inside) inside=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "ipvs-vm.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$services" -gt 45000 ] || [ "$dests" -gt 240 ]; then
  echo "ipvs-vm.sh: at most 45000 services (ports below 65536) and 240 destinations" >&2
  exit 2
fi

if [ "$inside" = 0 ]; then
  # shellcheck disable=SC2086 # empty profile is no argument
  exec "$repo/netns-lab/vm-run" $profile --timeout "${TANDEM_VM_TIMEOUT:-1800}" -- \
    bash "$here/ipvs-vm.sh" --inside --rounds "$rounds" --services "$services" --dests "$dests" --input "$input"
fi

# ---- inside the VM ----------------------------------------------------------
work=$(mktemp -d /tmp/ipvs-bench.XXXXXX)
ns=tdm-bench-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add d0 type dummy
ip -n "$ns" link set d0 up
ip -n "$ns" addr add 198.51.100.1/24 dev d0
in_ns() { ip netns exec "$ns" "$@"; }
die() { echo "ipvs-vm.sh: $*" >&2; exit 1; }

# The table: service i is 192.0.2.10:(10000+i), TCP, wrr; destination j is
# 198.51.100.(11+j):(20000+i), NAT, weight 1+j%5. The same table three ways.
vip=192.0.2.10
# gen NAME S D: NAME.conf, NAME.rules (ipvsadm -R) and NAME-changed.conf
# (the middle service's first destination at weight 42) for S x D.
gen() {
  local name=$1 s=$2 d=$3 i j port
  {
    echo "global_defs {"
    echo "  router_id tdm_bench"
    echo "}"
    for ((i = 0; i < s; i++)); do
      echo "virtual_server $vip $((10000 + i)) {"
      echo "  lvs_sched wrr"
      echo "  lvs_method NAT"
      echo "  protocol TCP"
      for ((j = 0; j < d; j++)); do
        echo "  real_server 198.51.100.$((11 + j)) $((20000 + i)) {"
        echo "    weight $((1 + j % 5))"
        echo "  }"
      done
      echo "}"
    done
  } >"$work/$name.conf"
  {
    for ((i = 0; i < s; i++)); do
      echo "-A -t $vip:$((10000 + i)) -s wrr"
      for ((j = 0; j < d; j++)); do
        echo "-a -t $vip:$((10000 + i)) -r 198.51.100.$((11 + j)):$((20000 + i)) -m -w $((1 + j % 5))"
      done
    done
  } >"$work/$name.rules"
  port=$((10000 + s / 2))
  awk -v port="$port" '
    $1 == "virtual_server" { cur = $3 }
    cur == port && $1 == "weight" && !done { sub(/weight [0-9]+/, "weight 42"); done = 1 }
    { print }' "$work/$name.conf" >"$work/$name-changed.conf"
}
gen big "$services" "$dests"
# One change: the middle service's first destination gets weight 42.
mid=$((services / 2))
mid_port=$((10000 + mid))
# The daemon's one change, at a small size and at S x D.
small_services=10 small_dests=10
gen small "$small_services" "$small_dests"
echo "[]" >"$work/empty.json"
entries=$((services + services * dests))

now_us() { echo "${EPOCHREALTIME/./}"; }
# timed NAME CMD...: run CMD in the namespace, record its wall time (ms)
# in $work/NAME.times, its stdout in $work/NAME.out.
# (and in microseconds in $work/NAME.us)
timed() {
  local name=$1 t0 t1
  shift
  t0=$(now_us)
  in_ns "$@" >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err" >&2; die "$name failed: $*"; }
  t1=$(now_us)
  echo "$(((t1 - t0) / 1000))" >>"$work/$name.times"
  echo "$((t1 - t0))" >>"$work/$name.us"
}
timed_stdin() {
  local name=$1 input=$2 t0 t1
  shift 2
  t0=$(now_us)
  in_ns "$@" <"$input" >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err" >&2; die "$name failed: $*"; }
  t1=$(now_us)
  echo "$(((t1 - t0) / 1000))" >>"$work/$name.times"
}
count_entries() { in_ns ipvsadm -Sn | wc -l; }
ops_of() { sed -n 's/^operations: \([0-9]*\).*/\1/p' "$work/$1.out"; }
expect_ops() {
  local got
  got=$(ops_of "$1")
  [ "$got" = "$2" ] || die "$1: $got netlink operations, expected $2"
}

run_ipvsadm() {
  timed_stdin ipvsadm_load "$work/big.rules" ipvsadm -R
  [ "$(count_entries)" = "$entries" ] || die "ipvsadm -R loaded $(count_entries) entries, not $entries"
  local first=0
  [ -f "$work/reference.rules" ] || first=1
  if [ "$first" = 1 ]; then
    in_ns ipvsadm -Sn >"$work/reference.rules"
    in_ns tandem ipvs dump --table >"$work/big.json"
  fi
  timed ipvsadm_change ipvsadm -e -t "$vip:$mid_port" -r "198.51.100.11:$((20000 + mid))" -m -w 42
  [ "$first" = 0 ] || in_ns tandem ipvs dump --table >"$work/big-changed.json"
  timed ipvsadm_teardown ipvsadm -C
  [ "$(count_entries)" = 0 ] || die "ipvsadm -C left entries"
}

case "$input" in
  conf) big=(-f "$work/big.conf") changed=(-f "$work/big-changed.conf") ;;
  table) big=(--table "$work/big.json") changed=(--table "$work/big-changed.json") ;;
  *) die "--input wants conf or table" ;;
esac
run_tandem() {
  timed tandem_load tandem ipvs apply "${big[@]}"
  expect_ops tandem_load "$entries"
  in_ns ipvsadm -Sn | cmp -s - "$work/reference.rules" ||
    die "tandem's table differs from ipvsadm's (ipvsadm -Sn)"
  timed tandem_change tandem ipvs apply "${changed[@]}"
  expect_ops tandem_change 1
  grep -q "198.51.100.11:$((20000 + mid)) .* 42 " <<<"$(in_ns ipvsadm -Ln -t "$vip:$mid_port")" ||
    die "the weight change is not in the kernel"
  timed tandem_nochange tandem ipvs apply "${changed[@]}"
  expect_ops tandem_nochange 0
  timed tandem_teardown tandem ipvs flush
  [ "$(count_entries)" = 0 ] || die "tandem ipvs flush left entries"
  # Teardown by reconciling: what tandem does for the services it owns.
  in_ns tandem ipvs apply "${big[@]}" >/dev/null
  timed tandem_teardown_reconcile tandem ipvs apply --lvs-flush --table "$work/empty.json"
  expect_ops tandem_teardown_reconcile "$services"
  [ "$(count_entries)" = 0 ] || die "reconciling to an empty table left entries"
}

# run_then NAME S: the daemon's one change on the S-service table NAME.
# tandem: apply NAME.conf --then NAME-changed.conf; its second step must be
# 1 operation, 0 reads, 1 sendmsg; its time (inside tandem) goes to
# then_NAME.us. ipvsadm: the same table loaded with -R, the same edit with
# -e, timed as a whole command (then_ipvsadm_NAME.us).
run_then() {
  local name=$1 s=$2 port dport got
  port=$((10000 + s / 2)) dport=$((20000 + s / 2))
  in_ns tandem ipvs apply -f "$work/$name.conf" --then "$work/$name-changed.conf" >"$work/then.out" 2>"$work/then.err" ||
    { cat "$work/then.err" >&2; die "tandem ipvs apply --then ($name) failed"; }
  local counts=()
  for kv in operations:1 reads:0 sends:1; do
    got=$(sed -n "s/^${kv%:*}: //p" "$work/then.out")
    [ "$got" = "${kv#*:}" ] || die "$name: the daemon's one change took ${kv%:*} $got, expected ${kv#*:}"
    counts+=("$got")
  done
  echo "${counts[*]}" >>"$work/then_$name.counts"
  grep -q "^SET_DEST TCP $vip:$port -> 198.51.100.11:$dport Masq weight 42$" "$work/then.out" ||
    die "$name: the one change is not the SET_DEST asked for: $(cat "$work/then.out")"
  grep -q "198.51.100.11:$dport .* 42 " <<<"$(in_ns ipvsadm -Ln -t "$vip:$port")" ||
    die "$name: the weight change is not in the kernel"
  sed -n 's/^time_us: //p' "$work/then.out" >>"$work/then_$name.us"
  sed -n 's/^first: //p' "$work/then.out" >"$work/then_$name.first"
  in_ns tandem ipvs flush >/dev/null
  in_ns ipvsadm -R <"$work/$name.rules"
  timed "then_ipvsadm_$name" ipvsadm -e -t "$vip:$port" -r "198.51.100.11:$dport" -m -w 42
  grep -q "198.51.100.11:$dport .* 42 " <<<"$(in_ns ipvsadm -Ln -t "$vip:$port")" ||
    die "$name: ipvsadm -e did not change the weight"
  in_ns ipvsadm -C
}

echo "ipvs benchmark: $services services x $dests destinations ($entries entries), $rounds rounds, input $input, $(nproc) vCPU, $(tandem --version)"
# The reference table, and a warm-up of both tools.
run_ipvsadm
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then run_tandem; run_ipvsadm; else run_ipvsadm; run_tandem; fi
  run_then small "$small_services"
  run_then big "$services"
  echo "  round $r: tandem load $(tail -n1 "$work/tandem_load.times") ms, ipvsadm -R $(tail -n1 "$work/ipvsadm_load.times") ms"
done

median() { sort -n "$work/$1.times" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The warm-up round of ipvsadm is not counted.
sed -i 1d "$work/ipvsadm_load.times" "$work/ipvsadm_change.times" "$work/ipvsadm_teardown.times"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
row() { printf '%-34s %10s ms %10s ms %8s\n' "$1" "$2" "$3" "$4"; }
echo
printf '%-34s %13s %13s %8s\n' "median of $rounds rounds" "tandem" "ipvsadm" "ratio"
tl=$(median tandem_load) il=$(median ipvsadm_load)
row "cold load ($entries entries)" "$tl" "$il" "$(ratio "$tl" "$il")"
tc=$(median tandem_change) ic=$(median ipvsadm_change)
row "one weight change (1 operation)" "$tc" "$ic" "$(ratio "$tc" "$ic")"
tn=$(median tandem_nochange)
row "reconcile, nothing changed" "$tn" "-" "-"
tt=$(median tandem_teardown) it=$(median ipvsadm_teardown)
row "teardown (flush / ipvsadm -C)" "$tt" "$it" "$(ratio "$tt" "$it")"
tr_=$(median tandem_teardown_reconcile)
row "teardown ($services DEL_SERVICE)" "$tr_" "$it" "$(ratio "$tr_" "$it")"
# Where the one-change time goes: tandem's own account (apply --json) of
# the dump and of dump + plan + apply, against the whole command.
in_ns tandem ipvs apply "${big[@]}" >/dev/null
in_ns tandem ipvs apply --json "${changed[@]}" >"$work/change.json"
in_ns tandem ipvs flush >/dev/null
dump_ms=$(sed -n 's/^ *"dump_ms": *\([0-9.]*\).*/\1/p' "$work/change.json")
total_ms=$(sed -n 's/^ *"total_ms": *\([0-9.]*\).*/\1/p' "$work/change.json")
echo
printf 'one change, inside tandem: dump of the kernel table %.0f ms, dump + plan + apply %.0f ms\n' "${dump_ms:-0}" "${total_ms:-0}"
echo "  (the rest of the $tc ms is starting the process and reading the configuration)"
echo
echo "operations: cold load $(ops_of tandem_load), one change $(ops_of tandem_change), no change $(ops_of tandem_nochange), flush $(ops_of tandem_teardown)"
echo "cold load: tandem/ipvsadm -R = $(ratio "$tl" "$il") (target: <= 1.00)"

# The daemon's one change: one client, one reconciler, the second step
# planned from the reconciler's belief (no dump).
median_us() { sort -n "$work/$1.us" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
echo "one weight changed as the daemon does it (tandem ipvs apply -f A --then B), median of $rounds rounds:"
printf '%-26s %9s %6s %6s %13s %15s %8s\n' "table" "requests" "reads" "sends" "tandem step" "ipvsadm -e" "ratio"
for pair in "small:$small_services x $small_dests" "big:$services x $dests"; do
  name=${pair%%:*} size=${pair#*:}
  t=$(median_us "then_$name") i=$(median_us "then_ipvsadm_$name")
  # The counters tandem reported; identical in every round (else: one row each).
  sort -u "$work/then_$name.counts" | while read -r req reads sends; do
    printf '%-26s %9s %6s %6s %10s us %12s us %8s\n' "$size" "$req" "$reads" "$sends" "$t" "$i" "$(ratio "$t" "$i")"
  done
done
echo "  (every round checked: the second step was exactly 1 SET_DEST, 0 reads, 1 sendmsg;"
echo "   the first step, which learned the table, took: small $(cat "$work/then_small.first"); big $(cat "$work/then_big.first");"
echo "   tandem's time is the step inside the running process, ipvsadm's the whole -e command)"
