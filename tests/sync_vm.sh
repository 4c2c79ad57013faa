#!/usr/bin/env bash
# lvs_sync_daemon end to end, inside the test VM (run by
# tests/suites/62-ipvs-kernel.sh after tests/ipvs_vm_cli.sh, same boot):
# two `tandem run` balancers in namespaces lb1 and lb2, one VRRP instance
# VI_1 on a veth pair that also carries the sync messages, and
#   lvs_sync_daemon s0 inst VI_1 id 7 maxlen 1400 port 4660 ttl 2 group 233.252.0.1
#   lvs_timeouts tcp 901 tcpfin 121 udp 301
# Checks what an operator sees with ipvsadm:
#   1. lb1 (priority 150) is MASTER: its master daemon runs with every
#      configured attribute, no backup daemon; lb2 runs the backup daemon
#      only; both have the timeouts (ipvsadm -L --timeout);
#   2. SIGTERM to lb1's tandem: lb1's daemons are gone; lb2 takes over,
#      starts its master daemon and keeps its backup daemon for
#      TAKEOVER_LISTEN (4 s: lb1's last entries are still on their way),
#      then runs the master daemon only;
#   3. lb1 returns and preempts, but only once its backup daemon has caught
#      up (the caught-up gate: its log says "preempt held"); lb2 starts its
#      backup daemon at once and stops its master daemon FLUSH_DELAY (3 s)
#      later; both namespaces have the sync sysctls tandem sets;
#   4. a reload (SIGHUP) that changes the port restarts the daemon with it;
#   5. SIGTERM to both: the master keeps its master daemon for the drain
#      and never starts a backup daemon on the way out; then their daemons
#      are gone.
# Addresses: 192.0.2.0/24 (VRRP link), VIP 203.0.113.50, the group is
# MCAST-TEST-NET (RFC 5771). Namespaces removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=tdm-sync-$$
lb1=$tag-1 lb2=$tag-2
work=$(mktemp -d /tmp/tdm-sync.XXXXXX)
declare -A pid=()
fail() {
  echo "sync_vm: FAIL: $*" >&2
  for n in "$lb1" "$lb2"; do
    echo "--- $n: ipvsadm -L --daemon" >&2
    ip netns exec "$n" ipvsadm -L --daemon >&2 || true
  done
  for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2 || true; done
  exit 1
}
cleanup() {
  local p
  for p in "${pid[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "$lb1" "$lb2"; do
    # Daemons a killed tandem left behind go with the namespace.
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pass() { echo "sync_vm: ok: $*"; }
expect() { # $1 what, $2 wanted, $3 got
  [ "$2" = "$3" ] || fail "$1: wanted [$2], got [$3]"
  pass "$1"
}
daemons() { ip netns exec "$1" ipvsadm -L --daemon | sort; }
# wait_for SECONDS NS WANTED: until `ipvsadm -L --daemon` in NS is WANTED;
# prints the milliseconds it took.
ms_now() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
wait_for() {
  local t0
  t0=$(ms_now)
  while :; do
    [ "$(daemons "$2")" = "$3" ] && break
    [ $(($(ms_now) - t0)) -lt $(($1 * 1000)) ] || return 1
    sleep 0.1
  done
  echo $(($(ms_now) - t0))
}

ip netns add "$lb1"
ip netns add "$lb2"
for n in "$lb1" "$lb2"; do ip -n "$n" link set lo up; done
ip -n "$lb1" link add s0 type veth peer name s0 netns "$lb2"
ip -n "$lb1" addr add 192.0.2.1/24 dev s0
ip -n "$lb2" addr add 192.0.2.2/24 dev s0
ip -n "$lb1" link set s0 up
ip -n "$lb2" link set s0 up

conf() { # $1: priority
  cat <<EOF
global_defs {
    router_id lb-$1
    lvs_sync_daemon s0 inst VI_1 id 7 maxlen 1400 port 4660 ttl 2 group 233.252.0.1
    lvs_timeouts tcp 901 tcpfin 121 udp 301
}
vrrp_instance VI_1 {
    interface s0
    virtual_router_id 51
    priority $1
    advert_int 1
    virtual_ipaddress {
        203.0.113.50/32 dev s0
    }
}
EOF
}
start() { # $1 ns, $2 priority, $3 name
  conf "$2" >"$work/$3.conf"
  ip netns exec "$1" tandem check-config -f "$work/$3.conf" >/dev/null ||
    fail "check-config refuses $3.conf"
  ip netns exec "$1" tandem run -f "$work/$3.conf" --control-socket "$work/$3.sock" \
    >>"$work/$3.log" 2>&1 &
  pid[$3]=$!
}
master="master sync daemon (mcast=s0, syncid=7, maxlen=1400, group=233.252.0.1, port=4660, ttl=2)"
backup_d="backup sync daemon (mcast=s0, syncid=7, maxlen=1400, group=233.252.0.1, port=4660, ttl=2)"

# 1. lb1 first, lb2 right after: both start as BACKUP (the backup daemon
# from the start), lb1's higher priority makes it MASTER.
start "$lb1" 150 lb1
start "$lb2" 100 lb2
ms=$(wait_for 20 "$lb2" "$backup_d") || fail "lb2 (BACKUP) never ran its backup daemon"
pass "lb2 runs the backup daemon ($ms ms after start)"
ms=$(wait_for 20 "$lb1" "$master") ||
  fail "lb1 (priority 150) never ran only its master daemon"
pass "lb1 is MASTER and runs the master daemon only, every attribute as configured ($ms ms)"
wait_for 10 "$lb2" "$backup_d" >/dev/null || fail "lb2 does not run the backup daemon only"
pass "lb2 runs the backup daemon only"
for n in "$lb1" "$lb2"; do
  expect "lvs_timeouts set in $n" \
    "Timeout (tcp tcpfin udp): 901 121 301" "$(ip netns exec "$n" ipvsadm -L --timeout)"
done
grep -q "lvs_sync_daemon: sync daemon started state=Master" "$work/lb1.log" ||
  fail "lb1 did not log the start of its master daemon"
pass "the start is logged"

# 2. The master stops: its daemons go, the survivor swaps to master.
kill -TERM "${pid[lb1]}"
wait "${pid[lb1]}" || fail "lb1's tandem exited with status $?"
unset 'pid[lb1]'
expect "SIGTERM: lb1's daemons are gone" "" "$(daemons "$lb1")"
ms=$(wait_for 10 "$lb2" "$master") || fail "lb2 never swapped to the master daemon only"
# (lb1's exit took its 3 s drain, so the overlap is read from lb2's log.)
listened=$(awk '
  function t(s,   a) { split(substr(s, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
  /sync daemon started state=Master/ && !m { m = t($1) }
  /sync daemon stopped state=Backup/ && m && !b { b = t($1) }
  END { if (m && b) printf "%d", (b - m) * 1000; else print "none" }' "$work/lb2.log")
[ "$listened" != none ] && [ "$listened" -ge 3500 ] ||
  fail "lb2 stopped its backup daemon $listened ms after its master daemon started (it listens for 4 s)"
pass "lb2 took over: master daemon at once, backup daemon kept $listened ms for lb1's last entries, then master only"

# 3. lb1 comes back and preempts: lb2 leaves MASTER, starts its backup
# daemon at once and stops its master daemon about 3 s later (so that the
# entries it still buffers reach lb1).
start "$lb1" 150 lb1
both=$(printf '%s\n%s' "$backup_d" "$master" | sort)
ms=$(wait_for 40 "$lb2" "$both") || fail "lb2 never ran both daemons after leaving MASTER"
[ "$ms" -ge 8000 ] || fail "lb1 preempted $ms ms after its start: before its backup daemon caught up (8 s)"
pass "lb1 preempted $ms ms after its start, once its backup daemon had caught up"
grep -q "preempt held: sync catching up" "$work/lb1.log" || fail "lb1 did not log why it waited"
pass "lb1's log says why it waited: $(grep -m 1 -o 'preempt held: sync catching up, [0-9]* s left' "$work/lb1.log")"
ms=$(wait_for 10 "$lb2" "$backup_d") || fail "lb2's master daemon was never stopped"
[ "$ms" -ge 1500 ] || fail "lb2's master daemon stopped only $ms ms after the backup's start"
pass "lb2 left MASTER: backup daemon at once, master daemon stopped $ms ms later"
wait_for 10 "$lb1" "$master" >/dev/null || fail "lb1 is not back to the master daemon only"
pass "lb1 runs the master daemon only again"
for n in "$lb1" "$lb2"; do
  expect "tandem set the sync sysctls in $n" "3 0 5" \
    "$(ip netns exec "$n" cat /proc/sys/net/ipv4/vs/sync_threshold /proc/sys/net/ipv4/vs/sync_refresh_period | tr -s ' \t\n' ' ' | sed 's/ $//')"
done
grep -q "set sync_threshold 3 50 -> 3 0 and sync_refresh_period 0 -> 5" "$work/lb1.log" ||
  fail "lb1 did not log the sysctls it changed"
pass "the change is logged"

# 4. A reload that changes the port restarts lb2's backup daemon with it
# (the kernel cannot change a running daemon).
sed -i 's/port 4660/port 4661/' "$work/lb2.conf"
kill -HUP "${pid[lb2]}"
ms=$(wait_for 10 "$lb2" "${backup_d/port=4660/port=4661}") ||
  fail "a reload with port 4661 did not restart lb2's backup daemon"
pass "reload: lb2's backup daemon restarted with port 4661 ($ms ms)"

# 5. Both stop. lb1 (MASTER) drains: its master daemon stays for about
# 3 s after SIGTERM, and no backup daemon starts on the way out.
kill -TERM "${pid[lb1]}"
t0=$(ms_now) last_master=0
while kill -0 "${pid[lb1]}" 2>/dev/null; do
  d=$(daemons "$lb1")
  case $d in *backup*) fail "lb1 started a backup daemon while stopping: [$d]" ;; esac
  case $d in *master*) last_master=$(($(ms_now) - t0)) ;; esac
  sleep 0.1
done
[ "$last_master" -ge 2000 ] || fail "lb1's master daemon stopped $last_master ms after SIGTERM: no drain"
pass "stopping, lb1 kept its master daemon $last_master ms (the drain) and started no backup daemon"
wait "${pid[lb1]}" || fail "lb1's tandem exited with status $?"
unset 'pid[lb1]'
for n in lb2; do
  kill -TERM "${pid[$n]}"
  wait "${pid[$n]}" || fail "$n's tandem exited with status $?"
  unset "pid[$n]"
done
expect "SIGTERM: lb1's daemons are gone" "" "$(daemons "$lb1")"
expect "SIGTERM: lb2's daemons are gone" "" "$(daemons "$lb2")"
grep -q "lvs_sync_daemon: sync daemon stopped" "$work/lb2.log" ||
  fail "lb2 did not log the stops"
echo "sync_vm: all passed"
