#!/usr/bin/env bash
# benches/track_process.sh: the CPU cost of `vrrp_track_process` while
# short processes start at a steady rate (issue 16: 1,000 a second),
# tandem's daemon and keepalived's, same configuration, same run.
#
#   benches/track_process.sh [--rate 1000] [--seconds 10] [--rounds 5]
#
# Both daemons run in a network namespace made here (a veth pair gives
# them eth0; removed on exit), each with one vrrp_instance tracking the
# process `true` by its comm: every exec of /bin/true is read from /proc
# and counted, every exit uncounted. A forker (python posix_spawn of
# /bin/true, paced every 10 ms) starts --rate processes a second; each
# round samples the daemons' CPU time (utime+stime of all their
# processes, /proc/PID/stat) over --seconds. Printed: each round and the
# medians, in % of one core, and tandem / keepalived.
#
# What keepalived sees: the kernel's process events connector exists only
# in the initial network namespace; keepalived 2.2.7 in a namespace is
# refused ("Failed to set/clear process event listen") and gets no events
# at all, so its figure is that of a daemon doing nothing for the
# processes. tandem subscribes from the initial namespace and does the
# work. A like-for-like comparison needs both outside a namespace (the
# test VM, which is too slow under TCG for 1,000 processes a second).
#
# Needs root. TANDEM=path skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=1000 seconds=10 rounds=5
while [ $# -gt 0 ]; do
    case "$1" in
        --rate) rate=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
tandem=${TANDEM:-}
if [ -z "$tandem" ]; then
    cargo build --release --quiet
    tandem=target/release/tandem
fi
ns=bench-tp-$$
work=$(mktemp -d /tmp/bench-tp.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add eth0 type veth peer name eth0p
ip -n "$ns" link set eth0 up
ip -n "$ns" link set eth0p up
ip -n "$ns" addr add 192.0.2.1/24 dev eth0

conf() { # $1: the VRID
    cat <<CONF
vrrp_track_process starts {
  process true
  weight -10
}
vrrp_instance VI_$1 {
  state BACKUP
  interface eth0
  virtual_router_id $1
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.$1/24
  }
  track_process {
    starts
  }
}
CONF
}
conf 51 >"$work/tandem.conf"
conf 52 >"$work/ka.conf"
ip netns exec "$ns" "$tandem" run -f "$work/tandem.conf" \
    --control-socket "$work/tandem.sock" --dump-file "$work/tandem.dump" \
    >"$work/tandem.out" 2>&1 </dev/null &
tpid=$!
pids+=("$tpid")
ip netns exec "$ns" keepalived -n -l -D -P -f "$work/ka.conf" \
    -p "$work/ka.pid" -r "$work/ka-vrrp.pid" >"$work/ka.out" 2>&1 </dev/null &
kpid=$!
pids+=("$kpid")
sleep 3

# CPU ticks (utime+stime) of a process and its children.
ticks() {
    local total=0 p s
    for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        s=${s##*) }
        read -r -a f <<<"$s"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

python3 -c '
import os, sys, time
per = max(1, int(sys.argv[1]) // 100)
t = time.monotonic()
while True:
    for _ in range(per):
        os.posix_spawn("/bin/true", ["true"], {})
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    t += 0.01
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
' "$rate" >"$work/forker.out" 2>&1 </dev/null &
fpid=$!
pids+=("$fpid")
sleep 2
hz=$(getconf CLK_TCK)
t_all=() k_all=()
for r in $(seq "$rounds"); do
    t0=$(ticks "$tpid"); k0=$(ticks "$kpid"); w0=$(date +%s.%N)
    sleep "$seconds"
    t1=$(ticks "$tpid"); k1=$(ticks "$kpid"); w1=$(date +%s.%N)
    tc=$(echo "scale=2; 100 * ($t1 - $t0) / $hz / ($w1 - $w0)" | bc)
    kc=$(echo "scale=2; 100 * ($k1 - $k0) / $hz / ($w1 - $w0)" | bc)
    echo "round $r: tandem ${tc}% keepalived ${kc}% (of one core)"
    t_all+=("$tc"); k_all+=("$kc")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
tm=$(median "${t_all[@]}"); km=$(median "${k_all[@]}")
echo "median: tandem ${tm}% keepalived ${km}% at ${rate} processes/s"
if [ "$(echo "$km > 0" | bc)" = 1 ]; then
    echo "ratio tandem/keepalived: $(echo "scale=2; $tm / $km" | bc)"
else
    echo "ratio: keepalived used no measurable CPU (it receives no process events in a namespace)"
fi
grep -h "process event listen" "$work/ka.out" || true
echo "tandem: $(grep -c 'Quorum' "$work/tandem.out" || true) quorum changes logged"
