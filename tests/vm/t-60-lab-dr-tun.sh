#!/usr/bin/env bash
# Direct routing and IPIP tunnelling with real traffic: in the lab, with
# configs/lab-dr-tun.conf, the client's HTTP requests to the DR VIP and to
# the TUN VIP alternate between the two real servers, first with keepalived
# programming the balancer (the anchor: the lab is right), then with tandem.
# shellcheck disable=SC2154 # ns_new/balancer_ns/lab_topology name namespaces by printf -v
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
require_tandem_ipvs

conf=$CONFIGS/lab-dr-tun.conf
lab_topology
lab_dr_tun

keepalived_checker "$LAB_BALANCER" "$conf"
wait_for_snapshot "$LAB_BALANCER" "$CONFIGS/lab-dr-tun.expected" 20 ||
  fail "keepalived did not program lab-dr-tun.conf"
ipvs_rules "$LAB_BALANCER" >"$SCRATCH/keepalived.rules"
note "keepalived:"
expect_alternation "$LAB_CLIENT" "http://192.0.2.20/" 4
expect_alternation "$LAB_CLIENT" "http://192.0.2.30/" 4
stop_pid "$KEEPALIVED_PID"
[ -z "$(ipvs_rules "$LAB_BALANCER")" ] || fail "keepalived left its table behind"

note "tandem:"
tandem_apply "$LAB_BALANCER" -f "$conf"
expect_ops 6
# The connections of the keepalived phase are still in the kernel's
# connection table (and counted against the new destinations), so compare
# the rules alone.
if ! ipvs_rules "$LAB_BALANCER" | diff -u "$SCRATCH/keepalived.rules" - >&2; then
  fail "tandem programmed other rules than keepalived for lab-dr-tun.conf"
fi
expect_alternation "$LAB_CLIENT" "http://192.0.2.20/" 6
expect_alternation "$LAB_CLIENT" "http://192.0.2.30/" 6
