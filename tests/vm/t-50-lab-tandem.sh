#!/usr/bin/env bash
# The user's view: a virtual server from a keepalived.conf, programmed by
# tandem on the balancer of the LVS-NAT lab, makes the client's HTTP
# requests alternate between the two real servers under rr (IPv4 and IPv6).
# Then a weight of 0 on rs1 (one operation) sends every request to rs2, and
# after tandem ipvs flush the VIP no longer balances.
source "$(dirname "$0")/lib.sh"
require_tandem_ipvs

lab_topology
tandem_apply "$LAB_BALANCER" -f "$CONFIGS/lab-nat.conf"
expect_ops 6
expect_snapshot "$LAB_BALANCER" "$CONFIGS/lab-nat.expected" "tandem on the lab balancer" ||
  fail "tandem programmed another table than keepalived for lab-nat.conf"
expect_alternation "$LAB_CLIENT" "http://192.0.2.10/" 6
expect_alternation "$LAB_CLIENT" "http://[2001:db8::10]/" 6

conf=$SCRATCH/lab.conf
cp "$CONFIGS/lab-nat.conf" "$conf"
conf_set "$conf" "192.0.2.10 80" "198.51.100.11 80" weight 0
tandem_apply "$LAB_BALANCER" -f "$conf"
expect_ops 1 SET_DEST
for i in 1 2 3 4; do
  body=$(http_get "$LAB_CLIENT" "http://192.0.2.10/") || fail "request $i after the weight change got no answer"
  [ "$body" = rs2 ] || fail "request $i after rs1's weight went to 0 answered by '$body'"
done
note "rs1 weight 0: 4 requests, all answered by rs2"

ip netns exec "$LAB_BALANCER" tandem ipvs flush >/dev/null || fail "tandem ipvs flush failed"
if body=$(http_get "$LAB_CLIENT" "http://192.0.2.10/" 2>/dev/null); then
  fail "after flush the VIP still answered '$body' through IPVS"
fi
note "after flush: the VIP no longer balances"
