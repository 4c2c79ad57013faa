#!/usr/bin/env bash
# Reconciling after a change: each one-entry change to a configuration is
# exactly one netlink operation (counted by tandem, named in its output), the
# kernel then holds what the changed configuration asks (ipvsadm shows the
# changed field; after a series of changes the table equals a cold load of
# the changed configuration in a fresh namespace), and services other tools
# added are left alone unless lvs_flush.
source "$(dirname "$0")/lib.sh"
require_tandem_ipvs

# The base: every scheduler (schedulers-v4.conf without the sh/mh flags,
# which a step below adds back). The steps that need the rarer keywords
# (scheduler flags, tunnel types) come last.
conf=$SCRATCH/live.conf
sed -E '/^  (sh|mh)-(port|fallback)$/d' "$CONFIGS/schedulers-v4.conf" >"$conf"
balancer_ns live live
tandem_apply "$live" -f "$conf"
expect_ops "$(entry_count "$CONFIGS/schedulers-v4.expected")"

# change WHAT OPS CHECK: apply the edited configuration to the live table,
# expect exactly the operations OPS (names, in order), find the changed
# field with the pattern CHECK in what ipvsadm shows, and see a second apply
# do nothing.
change() {
  local what=$1 ops=$2 check=$3
  tandem_apply "$live" -f "$conf"
  expect_ops "$(wc -w <<<"$ops")" "$ops"
  grep -qE -- "$check" <<<"$(ipvs_snapshot "$live")" || fail "'$what': ipvsadm does not show /$check/"
  tandem_apply "$live" -f "$conf"
  expect_ops 0
  note "$what: $ops"
}

# same_as_cold WHEN: the table built by the changes so far equals a cold
# load of the same configuration into a fresh namespace.
cold=0
same_as_cold() {
  local ns
  cold=$((cold + 1))
  balancer_ns ns "cold$cold"
  tandem_apply "$ns" -f "$conf"
  ipvs_snapshot "$ns" >"$SCRATCH/cold.snapshot"
  expect_snapshot "$live" "$SCRATCH/cold.snapshot" "$1" ||
    fail "$1: the reconciled table differs from a cold load of the same configuration"
  ip netns del "$ns"
  note "$1: the same table as a cold load"
}

conf_set "$conf" "192.0.2.13 80" "198.51.100.12 80" weight 6
change "one weight 5 -> 6" SET_DEST '198\.51\.100\.12:80 +Masq +6 '

conf_set "$conf" "192.0.2.12 80" "198.51.100.12 80" uthreshold 70
change "one upper threshold 50 -> 70" SET_DEST '198\.51\.100\.12:80 +70 +0 '

conf_set "$conf" "192.0.2.13 80" "198.51.100.11 80" lvs_method DR
change "one forwarding method NAT -> DR" SET_DEST '198\.51\.100\.11:80 +Route +2 '

conf_set "$conf" "192.0.2.10 80" "" lvs_sched wrr
change "one scheduler rr -> wrr" SET_SERVICE '^TCP  192\.0\.2\.10:80 wrr$'

conf_set "$conf" "192.0.2.11 80" "" persistence_timeout 600
change "persistence added to one service" SET_SERVICE '^TCP  192\.0\.2\.11:80 wrr persistent 600$'

conf_add_rs "$conf" "192.0.2.10 80" "198.51.100.99 8080" 4
change "one real server added" NEW_DEST '198\.51\.100\.99:8080 +Masq +4 '

conf_del_rs "$conf" "192.0.2.11 80" "198.51.100.13 80"
grep -q '198\.51\.100\.13:80' <<<"$(ipvs_snapshot "$live")" || fail "setup: 198.51.100.13:80 not in the table"
change "one real server removed" DEL_DEST '^TCP  192\.0\.2\.11:80 '
grep -q '198\.51\.100\.13:80' <<<"$(ip netns exec "$live" ipvsadm -Ln -t 192.0.2.11:80)" && fail "198.51.100.13:80 still there"

cat >>"$conf" <<'CONF'

virtual_server 192.0.2.99 8000 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 198.51.100.98 8000 {
    weight 2
  }
}
CONF
change "one virtual server (with one real server) added" "NEW_SERVICE NEW_DEST" '^TCP  192\.0\.2\.99:8000 rr$'
same_as_cold "after these changes"

# Removing a virtual server from the configuration: a one-shot apply has
# not programmed it in this run, so it is not tandem's to remove unless
# lvs_flush says the whole table is.
conf_del_vs "$conf" "192.0.2.99 8000"
tandem_apply "$live" -f "$conf"
expect_ops 0
grep -q '192\.0\.2\.99:8000' <<<"$(ipvs_rules "$live")" || fail "a service not owned was removed without lvs_flush"
tandem_apply "$live" -f "$conf" --lvs-flush
expect_ops 1 DEL_SERVICE
grep -q '192\.0\.2\.99:8000' <<<"$(ipvs_rules "$live")" && fail "lvs_flush did not remove the service"
note "virtual server removed: left alone without lvs_flush, one DEL_SERVICE with it"

# Another tool's service: left alone, unless lvs_flush.
ip netns exec "$live" ipvsadm -A -u 203.0.113.200:53 -s rr
ip netns exec "$live" ipvsadm -a -u 203.0.113.200:53 -r 198.51.100.77:53 -m
tandem_apply "$live" -f "$conf"
expect_ops 0
grep -q '203\.0\.113\.200:53' <<<"$(ipvs_rules "$live")" || fail "tandem removed a service another tool added"
tandem_apply "$live" -f "$conf" --lvs-flush
expect_ops 1 DEL_SERVICE
grep -q '203\.0\.113\.200' <<<"$(ipvs_rules "$live")" && fail "lvs_flush left another tool's service"
note "another tool's service: left alone without lvs_flush, one DEL_SERVICE with it"

# A scheduler flag on one service.
conf_flag "$conf" "192.0.2.17 53" sh-port
change "sh-port added to one service" SET_SERVICE '^UDP  192\.0\.2\.17:53 sh \(sh-port\)$'
same_as_cold "after the flag"

# A tunnel parameter (GUE port) of one real server.
cp "$CONFIGS/forwarding-v4.conf" "$conf"
ip netns exec "$live" tandem ipvs flush >/dev/null
tandem_apply "$live" -f "$conf"
conf_set "$conf" "203.0.113.11 80" "198.51.100.32 80" lvs_method TUN type gue port 7080 csum
change "one GUE tunnel port 6080 -> 7080" SET_DEST '198\.51\.100\.32:80 +Tunnel +gue:7080:\+c '
same_as_cold "after the tunnel change"

# Back to the original configuration: the change undone, one operation.
cp "$CONFIGS/forwarding-v4.conf" "$conf"
tandem_apply "$live" -f "$conf"
expect_ops 1 SET_DEST
expect_snapshot "$live" "$CONFIGS/forwarding-v4.expected" "after undoing the change" || fail "undo did not restore the table"
