#!/usr/bin/env bash
# The user's view: a virtual server from a keepalived.conf, programmed by
# tandem on the balancer of the LVS-NAT lab, makes the client's HTTP
# requests alternate between the two real servers under rr (IPv4 and IPv6).
# The traffic shows in ipvsadm's counters, and `tandem ipvs zero` resets
# them (one service, then all). Then a weight of 0 on rs1 (one operation)
# sends every request to rs2, and after tandem ipvs flush the VIP no longer
# balances.
# shellcheck disable=SC2154 # ns_new/balancer_ns/lab_topology name namespaces by printf -v
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
require_tandem_ipvs

lab_topology
tandem_apply "$LAB_BALANCER" -f "$CONFIGS/lab-nat.conf"
expect_ops 6
expect_snapshot "$LAB_BALANCER" "$CONFIGS/lab-nat.expected" "tandem on the lab balancer" ||
  fail "tandem programmed another table than keepalived for lab-nat.conf"
expect_alternation "$LAB_CLIENT" "http://192.0.2.10/" 6
expect_alternation "$LAB_CLIENT" "http://[2001:db8::10]/" 6

# The traffic shows in the counters (ipvsadm -Ln --stats: Conns InPkts
# OutPkts InBytes OutBytes); `tandem ipvs zero SERVICE` resets that
# service's alone, `tandem ipvs zero` every one. The kernel adds its
# per-CPU counters into what it reports every 2 s (the rate estimator's
# timer), so the counters are read once they stopped moving: a packet
# counted after the ZERO would make it look as if ZERO failed.
stats_of() {
  ip netns exec "$LAB_BALANCER" ipvsadm -Ln --stats |
    awk -v s="$1" '$1 == "TCP" && $2 == s { print $3, $4, $5, $6, $7 }'
}
# expect_counting SERVICE: its counters settle (the same twice, 2.5 s
# apart, within 30 s) at 6 connections or more.
expect_counting() {
  local got prev="" end=$((SECONDS + 30))
  while :; do
    got=$(stats_of "$1")
    [ "$got" = "$prev" ] && [ "${got%% *}" -ge 6 ] 2>/dev/null && return 0
    [ "$SECONDS" -lt "$end" ] || fail "6 requests made to $1; ipvsadm --stats shows [$got]"
    prev=$got
    sleep 2.5
  done
}
# expect_zero SERVICE WHAT: its counters are 0, and still 0 after the
# estimator's next turn.
expect_zero() {
  local got
  got=$(stats_of "$1")
  [ "$got" = "0 0 0 0 0" ] || fail "after $2, ipvsadm --stats shows [$got] for $1"
  sleep 2.5
  got=$(stats_of "$1")
  [ "$got" = "0 0 0 0 0" ] || fail "2.5 s after $2, ipvsadm --stats shows [$got] for $1"
}
expect_counting 192.0.2.10:80
expect_counting "[2001:db8::10]:80"
note "counters after traffic: $(stats_of 192.0.2.10:80) / $(stats_of "[2001:db8::10]:80")"
ip netns exec "$LAB_BALANCER" tandem ipvs zero TCP 192.0.2.10:80 >"$SCRATCH/zero.out" ||
  fail "tandem ipvs zero TCP 192.0.2.10:80 failed"
[ "$(cat "$SCRATCH/zero.out")" = $'ZERO TCP 192.0.2.10:80\noperations: 1' ] ||
  fail "tandem ipvs zero printed [$(cat "$SCRATCH/zero.out")]"
expect_zero 192.0.2.10:80 "tandem ipvs zero TCP 192.0.2.10:80"
expect_counting "[2001:db8::10]:80"
note "zero TCP 192.0.2.10:80: its counters 0, the IPv6 service's kept"
ip netns exec "$LAB_BALANCER" tandem ipvs zero >/dev/null || fail "tandem ipvs zero failed"
expect_zero "[2001:db8::10]:80" "tandem ipvs zero"
note "zero: every service's counters 0"

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
