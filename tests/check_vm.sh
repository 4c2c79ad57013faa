#!/usr/bin/env bash
# `tandem run` with health checks against a real IPVS kernel, read back
# with ipvsadm: checks decide the table, and only the VRRP master has it.
# Runs inside the test VM (tests/suites/64-check-vm.sh), in namespaces of
# its own that it removes on exit, with busybox httpd as real servers and
# Debian's keepalived as the VRRP peer.
#
#   rs (198.51.100.10, .11: httpd) ──veth── lb (tandem) ──veth── peer (keepalived)
#                                 198.51.100.254   192.0.2.1     192.0.2.3
set -euo pipefail
cd "$(dirname "$0")/.."
tag=tdm-chk-$$
lb=$tag-lb rs=$tag-rs peer=$tag-peer
work=$(mktemp -d /tmp/tdm-chk.XXXXXX)
# notify_up/down run as keepalived_script, which the VM has (keepalived's
# rule, docs/operating.md): let it write the log.
chmod 755 "$work"
: >"$work/notify.log"
chmod 666 "$work/notify.log"
pids=()
fail() {
  echo "check_vm: FAIL: $*" >&2
  echo "--- ipvsadm -Ln in lb:" >&2
  ip netns exec "$lb" ipvsadm -Ln >&2 || true
  echo "--- tandem log (last 30 lines):" >&2
  tail -n 30 "$work/tandem.log" >&2 || true
  exit 1
}
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "$lb" "$rs" "$peer"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for n in "$lb" "$rs" "$peer"; do
  ip netns add "$n"
  ip -n "$n" link set lo up
done
ip -n "$lb" link add in0 type veth peer name in1 netns "$rs"
ip -n "$lb" link add out0 type veth peer name out1 netns "$peer"
ip -n "$lb" addr add 198.51.100.254/24 dev in0
ip -n "$lb" addr add 192.0.2.1/24 dev out0
ip -n "$rs" addr add 198.51.100.10/24 dev in1
ip -n "$rs" addr add 198.51.100.11/24 dev in1
ip -n "$rs" addr add 198.51.100.99/24 dev in1
ip -n "$peer" addr add 192.0.2.3/24 dev out1
for l in "$lb in0" "$lb out0" "$rs in1" "$peer out1"; do
  set -- $l
  ip -n "$1" link set "$2" up
done

# Real servers: busybox httpd, one per address.
httpd() { # name addr -> pid in $work/NAME.pid
  mkdir -p "$work/$1"
  echo "$1" >"$work/$1/index.html"
  ip netns exec "$rs" busybox httpd -f -p "$2:80" -h "$work/$1" &
  echo $! >"$work/$1.pid"
  pids+=("$!")
}
stop_httpd() { kill "$(cat "$work/$1.pid")"; wait "$(cat "$work/$1.pid")" 2>/dev/null || true; }
httpd rs1 198.51.100.10
httpd rs2 198.51.100.11

# weight of destination ADDR:PORT in lb's table ("" when absent)
weight() { ip netns exec "$lb" ipvsadm -Ln | awk -v a="$1" '$1 == "->" && $2 == a { print $4 }'; }
services() { ip netns exec "$lb" ipvsadm -Ln | awk '$1 == "TCP" || $1 == "UDP" || $1 == "FWM"' | wc -l; }
# wait up to 30 s for a condition
until_() {
  local what=$1
  shift
  for _ in $(seq 1 150); do
    if "$@"; then echo "ok: $what"; return 0; fi
    sleep 0.2
  done
  fail "$what"
}
w_is() { [ "$(weight "$1")" = "$2" ]; }
full_table() { w_is 198.51.100.10:80 1 && w_is 198.51.100.11:80 2; }
no_sorry() { [ -z "$(weight 198.51.100.99:80)" ]; }
no_services() { [ "$(services)" = 0 ]; }

vs_block() {
  cat <<EOF
virtual_server 192.0.2.2 80 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    sorry_server 198.51.100.99 80
    real_server 198.51.100.10 80 {
        weight 1
        inhibit_on_failure
        notify_up "/bin/sh -c 'echo up rs1 >> $work/notify.log'"
        notify_down "/bin/sh -c 'echo down rs1 >> $work/notify.log'"
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 198.51.100.11 80 {
        weight 2
        inhibit_on_failure
        notify_up "/bin/sh -c 'echo up rs2 >> $work/notify.log'"
        notify_down "/bin/sh -c 'echo down rs2 >> $work/notify.log'"
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
EOF
}

# ---- 1. no vrrp_instance: a single balancer that always programs ---------
vs_block >"$work/single.conf"
ip netns exec "$lb" tandem run -f "$work/single.conf" >"$work/tandem.log" 2>&1 &
tandem=$!
pids+=("$tandem")
until_ "both real servers in the table at their weights" full_table
[ -z "$(weight 198.51.100.99:80)" ] || fail "sorry server present while quorum holds"
grep -q "always programmed (no vrrp_instance)" "$work/tandem.log" || fail "mapping not logged"

stop_httpd rs1
until_ "rs1 stopped: weight 0 (inhibit_on_failure), rs2 untouched" w_is 198.51.100.10:80 0
w_is 198.51.100.11:80 2 || fail "rs2 changed"

stop_httpd rs2
until_ "both stopped: the sorry server serves" w_is 198.51.100.99:80 1
w_is 198.51.100.10:80 0 || fail "rs1 not at 0 in sorry mode"
w_is 198.51.100.11:80 0 || fail "rs2 not at 0 in sorry mode"

httpd rs1 198.51.100.10
until_ "rs1 back: out of sorry mode" no_sorry
w_is 198.51.100.10:80 1 || fail "rs1 not back at weight 1"

kill -TERM "$tandem"
wait "$tandem" || fail "tandem run did not exit cleanly"
[ "$(services)" = 0 ] || fail "services left in IPVS after stop"
echo "ok: table withdrawn at stop"
sleep 1
want=$(printf 'down rs1\ndown rs2\nup rs1')
got=$(cat "$work/notify.log" 2>/dev/null || true)
[ "$got" = "$want" ] || fail "notify scripts: expected [$want], got [$got]"
echo "ok: notify_up / notify_down ran in order"

# ---- 2. master-only: keepalived is master, tandem backup ---------------
httpd rs2 198.51.100.11
cat >"$work/keepalived.conf" <<EOF
vrrp_instance VI_1 {
    state MASTER
    interface out1
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {
        192.0.2.2/24
    }
}
EOF
ip netns exec "$peer" keepalived -n -l -P -f "$work/keepalived.conf" \
  -p "$work/ka.pid" -r "$work/ka-vrrp.pid" >"$work/keepalived.log" 2>&1 &
ka=$!
pids+=("$ka")
ka_vip() { ip -n "$peer" addr show dev out1 | grep -q 192.0.2.2/; }
until_ "keepalived holds the VIP" ka_vip
{
  cat <<EOF
vrrp_instance VI_1 {
    state BACKUP
    interface out0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.2/24
    }
}
EOF
  vs_block
} >"$work/pair.conf"
ip netns exec "$lb" tandem run -f "$work/pair.conf" >"$work/tandem.log" 2>&1 &
tandem=$!
pids+=("$tandem")
until_ "mapping logged" grep -q "programmed while MASTER of VI_1" "$work/tandem.log"
# Checks run on the backup too (they are logged), but nothing is programmed.
sleep 6
[ "$(services)" = 0 ] || fail "backup programmed IPVS while keepalived is master"
echo "ok: backup has no rules"

kill -TERM "$ka"
wait "$ka" 2>/dev/null || true
until_ "keepalived gone: tandem master with the full table" full_table
# The VIP follows the table (the VIP gate, docs/checks.md): it comes once
# the IPVS programmer has confirmed the rules, and the log says so.
lb_vip() { ip -n "$lb" addr show dev out0 | grep -q 192.0.2.2/; }
until_ "then tandem takes the VIP" lb_vip
grep -q "IPVS rules in place: taking the VIPs" "$work/tandem.log" ||
  fail "the log does not say the VIP waited for the rules"
w_is 198.51.100.10:80 1 || fail "rs1 weight on takeover"
w_is 198.51.100.11:80 2 || fail "rs2 weight on takeover"

# keepalived returns with the higher priority and preempts: tandem leaves
# MASTER and withdraws its rules.
ip netns exec "$peer" keepalived -n -l -P -f "$work/keepalived.conf" \
  -p "$work/ka.pid" -r "$work/ka-vrrp.pid" >"$work/keepalived.log" 2>&1 &
ka=$!
pids+=("$ka")
until_ "preempted: tandem withdraws the table" no_services
kill -TERM "$tandem"
wait "$tandem" || fail "tandem run did not exit cleanly"

# ---- 3. killed -9 as master, restarted as backup -------------------------
# The dead run leaves its table in the kernel. The new run, BACKUP behind
# keepalived, must withdraw the services its configuration names (the
# master's alone), and leave a service someone added by hand.
kill -TERM "$ka"
wait "$ka" 2>/dev/null || true
ip netns exec "$lb" tandem run -f "$work/pair.conf" >"$work/tandem.log" 2>&1 &
tandem=$!
pids+=("$tandem")
until_ "tandem master again with the full table" full_table
kill -KILL "$tandem"
wait "$tandem" 2>/dev/null || true
[ "$(services)" = 1 ] || fail "the killed run's service should still be in the kernel"
ip netns exec "$lb" ipvsadm -A -t 203.0.113.9:443 -s lc
ip netns exec "$peer" keepalived -n -l -P -f "$work/keepalived.conf" \
  -p "$work/ka.pid" -r "$work/ka-vrrp.pid" >"$work/keepalived.log" 2>&1 &
ka=$!
pids+=("$ka")
until_ "keepalived holds the VIP" ka_vip
ip netns exec "$lb" tandem run -f "$work/pair.conf" >"$work/tandem.log" 2>&1 &
tandem=$!
pids+=("$tandem")
has_service() { ip netns exec "$lb" ipvsadm -Ln | grep -q "^TCP  $1 "; }
stale_gone() { ! has_service 192.0.2.2:80 && has_service 203.0.113.9:443; }
until_ "restarted as backup: the dead run's service withdrawn, the hand-made one kept" stale_gone
sleep 2
stale_gone || fail "the table changed again after the withdrawal"
lb_vip && fail "backup kept the dead run's VIP"
echo "ok: backup holds no VIP"
kill -TERM "$tandem"
wait "$tandem" || fail "tandem run did not exit cleanly"
has_service 203.0.113.9:443 || fail "stopping removed the hand-made service"
echo "ok: stopping left the hand-made service"
echo "check_vm: all passed"
