#!/usr/bin/env bash
# Failover benchmark (issue 4, item 9): how long the client goes without an
# answer when the master balancer fails — tandem against keepalived, in the
# same roles, in the same run, on the same namespace lab.
#
#   sudo benches/failover.sh            # 5 rounds per case
#   sudo ROUNDS=9 benches/failover.sh
#   sudo KINDS=keepalived benches/failover.sh   # one daemon only
#
# A prober in the client's namespace (netns-lab/prober.py) opens a TCP
# connection to the outer VIP every 10 ms; the outage of a round is the
# longest time between two successful connections, less one period. Cases:
# VRRPv2 at advert_int 1 and VRRPv3 at advert_int 0.1, each with the master
# (lb1) dying as a machine (daemon SIGKILLed, links down) and with the
# master stopped by SIGTERM. Prints the median and maximum per case and
# daemon, and the ratio tandem / keepalived of the medians (below 1: tandem
# is faster). Targets (issue 4): after a dead master, outage ≤
# Master_Down_Interval + 20 ms and no worse than keepalived; after SIGTERM,
# near zero.
#
# Figures, not a test: nothing here fails on a slow result.
set -euo pipefail
cd "$(dirname "$0")/.."
. netns-lab/lib.sh

ROUNDS=${ROUNDS:-5}
KINDS=${KINDS:-keepalived tandem}
CASES=${CASES:-"2:1 3:0.1"}

if [[ " $KINDS " == *" tandem "* ]]; then
  echo "failover: building tandem (cargo build --release)" >&2
  cargo build --release --quiet --bin tandem
  export TANDEM_BIN=${TANDEM_BIN:-$PWD/target/release/tandem}
fi
lab_init bench
lab_up
results="$LAB_DIR/results.txt"
: > "$results"

# one_round KIND VERSION ADVERT EVENT -> appends "VERSION ADVERT EVENT KIND MS"
one_round() {
  local kind=$1 ver=$2 adv=$3 ev=$4 out ms
  lab_reset
  lab_conf lb1 "$ver" "$adv"; lab_conf lb2 "$ver" "$adv"
  lab_start lb1 "$kind"; lab_start lb2 "$kind"
  if ! lab_wait 30 lab_is_master lb1 || ! lab_wait 10 test "$(lab_state lb2 VI_OUT)" = BACKUP; then
    echo "failover: $kind v$ver: lb1 never became master; round skipped" >&2
    return 0
  fi
  sleep 1
  out="$LAB_DIR/probe.json"
  lab_spawn client "$out" /usr/bin/python3 netns-lab/prober.py "$LAB_VIP_OUT"
  local prober=$LAB_SPAWNED
  sleep 1
  case $ev in
    death) lab_kill_machine lb1 ;;
    sigterm) lab_term lb1 ;;
  esac
  if ! lab_wait 30 lab_is_master lb2; then
    echo "failover: $kind v$ver $ev: lb2 never took over; round skipped" >&2
    lab_stop "$prober"
    return 0
  fi
  sleep 1
  lab_stop "$prober"
  ms=$(sed -n 's/.*"outage_ms": \([0-9.na]*\).*/\1/p' "$out")
  printf '   v%s advert_int %-4s %-8s %-10s %8s ms\n' "$ver" "$adv" "$ev" "$kind" "$ms" >&2
  echo "$ver $adv $ev $kind $ms" >> "$results"
}

for case in $CASES; do
  ver=${case%%:*}; adv=${case#*:}
  for ((r = 1; r <= ROUNDS; r++)); do
    # Alternate which daemon goes first, so drift in the machine's load
    # does not favour one.
    order=$KINDS
    if (( r % 2 == 0 )); then order=$(echo "$KINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
    for ev in death sigterm; do
      for kind in $order; do
        one_round "$kind" "$ver" "$adv" "$ev"
      done
    done
  done
done
lab_reset

echo
echo "failover outage seen by the client (TCP connect every 10 ms), $ROUNDS rounds per case"
printf '%-22s %-8s %12s %12s %12s %12s %8s  %s\n' case event "keepalived" "(max)" "tandem" "(max)" ratio "target"
for case in $CASES; do
  ver=${case%%:*}; adv=${case#*:}
  for ev in death sigterm; do
    line=$(awk -v v="$ver" -v a="$adv" -v e="$ev" '
      function median(arr, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
        return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
      }
      $1 == v && $2 == a && $3 == e && $5 != "nan" {
        if ($4 == "keepalived") { k[++nk] = $5 + 0; if ($5 + 0 > km) km = $5 + 0 }
        else { t[++nt] = $5 + 0; if ($5 + 0 > tm) tm = $5 + 0 }
      }
      END {
        # Master_Down_Interval of the backup (priority 100): 3 x advert_int + skew.
        skew = (256 - 100) / 256 * (v == 3 ? a : 1)
        mdi = (3 * a + skew) * 1000
        km_s = nk ? sprintf("%.0f ms", median(k, nk)) : "-"
        tm_s = nt ? sprintf("%.0f ms", median(t, nt)) : "-"
        kx = nk ? sprintf("%.0f", km) : "-"; tx = nt ? sprintf("%.0f", tm) : "-"
        ratio = (nk && nt && median(k, nk) > 0) ? sprintf("%.2f", median(t, nt) / median(k, nk)) : "-"
        target = e == "death" ? sprintf("<= %.0f ms (MDI+20)", mdi + 20) : "near 0"
        printf "%-22s %-8s %12s %12s %12s %12s %8s  %s\n", "v" v " advert_int " a, e, km_s, kx, tm_s, tx, ratio, target
      }' "$results")
    echo "$line"
  done
done
