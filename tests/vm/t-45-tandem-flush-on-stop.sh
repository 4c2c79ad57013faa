#!/usr/bin/env bash
# What `tandem run` leaves in IPVS when it is stopped (SIGTERM), with
# global_defs' `lvs_flush_on_stop` (keepalived.conf(5): "flush remaining
# LVS configuration at shutdown"; with the argument VS, "remove each
# keepalived managed virtual server" instead):
#   - `lvs_flush_on_stop`: the whole table goes (one IPVS_CMD_FLUSH), a
#     service someone added by hand with ipvsadm too;
#   - `lvs_flush_on_stop VS`: tandem's own services go, the hand-made one
#     stays (this is also tandem's default without the keyword,
#     tests/check_vm.sh).
# A single balancer without vrrp_instance: it programs at once.
# shellcheck disable=SC2154 # ns_new/balancer_ns/lab_topology name namespaces by printf -v
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
require_tandem_ipvs

has_service() { ip netns exec "$1" ipvsadm -Ln | grep -q "^TCP  $2 "; }
# wait_until SECONDS WHAT CMD...: poll CMD until it succeeds.
wait_until() {
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "$what (after waiting)"
    sleep 0.2
  done
}

# run_and_stop NS FLUSH_ARG: tandem run with `lvs_flush_on_stop FLUSH_ARG`
# beside a hand-made service, then SIGTERM; returns once tandem exited 0.
run_and_stop() {
  local ns=$1 arg=$2 conf=$SCRATCH/$1.conf pid rc=0
  cat >"$conf" <<EOF
global_defs {
    router_id tdm_flush_on_stop
    lvs_flush_on_stop $arg
}
virtual_server 192.0.2.10 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 198.51.100.11 80 {
        weight 1
    }
    real_server 198.51.100.12 80 {
        weight 2
    }
}
EOF
  # A service tandem's configuration does not name.
  ip netns exec "$ns" ipvsadm -A -t 203.0.113.9:443 -s lc
  ip netns exec "$ns" ipvsadm -a -t 203.0.113.9:443 -r 198.51.100.20:443 -m -w 1
  ip netns exec "$ns" tandem run -f "$conf" \
    --control-socket "$SCRATCH/$ns.sock" --dump-file "$SCRATCH/$ns.data" \
    >"$SCRATCH/$ns.log" 2>&1 &
  pid=$!
  track_pid "$pid"
  wait_until 60 "tandem run did not program 192.0.2.10:80" has_service "$ns" 192.0.2.10:80
  has_service "$ns" 203.0.113.9:443 || fail "tandem removed the hand-made service at start (no lvs_flush)"
  note "lvs_flush_on_stop${arg:+ $arg}: tandem's service and the hand-made one in the table"
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 20 "$SCRATCH/$ns.log" >&2
    fail "tandem run exited $rc on SIGTERM"
  fi
}

balancer_ns all flush-all
run_and_stop "$all" ""
if [ -n "$(ip netns exec "$all" ipvsadm -Sn)" ]; then
  ip netns exec "$all" ipvsadm -Ln >&2
  fail "lvs_flush_on_stop: the table is not empty after SIGTERM"
fi
note "lvs_flush_on_stop: after SIGTERM the table is empty (the hand-made service too)"

balancer_ns vs flush-vs
run_and_stop "$vs" VS
has_service "$vs" 192.0.2.10:80 && fail "lvs_flush_on_stop VS: tandem's service is still there after SIGTERM"
has_service "$vs" 203.0.113.9:443 || fail "lvs_flush_on_stop VS: the hand-made service was removed"
got=$(ip netns exec "$vs" ipvsadm -Sn)
want=$'-A -t 203.0.113.9:443 -s lc\n-a -t 203.0.113.9:443 -r 198.51.100.20:443 -m -w 1'
[ "$got" = "$want" ] || fail "lvs_flush_on_stop VS: the table after SIGTERM is [$got], expected [$want]"
note "lvs_flush_on_stop VS: after SIGTERM only the hand-made service (and its destination) is left"
