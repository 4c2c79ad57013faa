#!/usr/bin/env bash
# The lab anchor: with keepalived programming configs/lab-nat.conf, HTTP
# requests from the client namespace to the VIP alternate between the two
# real servers (IPv4 and IPv6). Proves the topology that the tandem lab test
# uses.
source "$(dirname "$0")/lib.sh"

lab_topology
keepalived_checker "$LAB_BALANCER" "$CONFIGS/lab-nat.conf"
wait_for_snapshot "$LAB_BALANCER" "$CONFIGS/lab-nat.expected" 20 ||
  fail "keepalived did not program lab-nat.conf"
expect_alternation "$LAB_CLIENT" "http://192.0.2.10/" 6
expect_alternation "$LAB_CLIENT" "http://[2001:db8::10]/" 6
