#!/usr/bin/env bash
# Reconciling after a change: each one-entry change to a configuration is
# exactly one netlink operation (counted by tandem, named in its output), the
# kernel then holds what the changed configuration asks (the table equals a
# cold load of the changed configuration in a fresh namespace, and ipvsadm
# shows the changed field), and services other tools added are left alone
# unless lvs_flush.
source "$(dirname "$0")/lib.sh"
require_tandem_ipvs

conf=$SCRATCH/live.conf
cp "$CONFIGS/schedulers-v4.conf" "$conf"
balancer_ns live live
tandem_apply "$live" -f "$conf"
expect_ops "$(entry_count "$CONFIGS/schedulers-v4.expected")"

step=0
# change WHAT OPS CHECK...: apply the edited configuration to the live
# table, expect the operation names OPS, then compare with a cold load and
# grep ipvsadm -Ln (all views) for the CHECK pattern.
change() {
  local what=$1 ops=$2 check=$3 cold
  step=$((step + 1))
  tandem_apply "$live" -f "$conf"
  expect_ops "$(wc -w <<<"$ops")" "$ops"
  balancer_ns cold "cold$step"
  tandem_apply "$cold" -f "$conf"
  ipvs_snapshot "$cold" >"$SCRATCH/cold.snapshot"
  expect_snapshot "$live" "$SCRATCH/cold.snapshot" "after '$what'" ||
    fail "'$what': the reconciled table differs from a cold load of the same configuration"
  ipvs_snapshot "$live" | grep -qE -- "$check" || fail "'$what': ipvsadm does not show /$check/"
  ip netns del "$cold"
  tandem_apply "$live" -f "$conf"
  expect_ops 0
  note "$what: $ops"
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

conf_set "$conf" "192.0.2.17 53" "" sh-port
change "sh-port dropped from one service" SET_SERVICE '^UDP  192\.0\.2\.17:53 sh \(sh-fallback\)$'

conf_add_rs "$conf" "192.0.2.10 80" "198.51.100.99 8080" 4
change "one real server added" NEW_DEST '198\.51\.100\.99:8080 +Masq +4 '

conf_del_rs "$conf" "192.0.2.11 80" "198.51.100.13 80"
ipvs_snapshot "$live" | grep -q '198\.51\.100\.13:80' || fail "setup: 198.51.100.13:80 not in the table"
change "one real server removed" DEL_DEST '^TCP  192\.0\.2\.11:80 '
ip netns exec "$live" ipvsadm -Ln -t 192.0.2.11:80 | grep -q '198\.51\.100\.13:80' && fail "198.51.100.13:80 still there"

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

# Removing a virtual server from the configuration: a one-shot apply has
# not programmed it in this run, so it is not tandem's to remove unless
# lvs_flush says the whole table is.
conf_del_vs "$conf" "192.0.2.99 8000"
tandem_apply "$live" -f "$conf"
expect_ops 0
ipvs_rules "$live" | grep -q '192\.0\.2\.99:8000' || fail "a service not owned was removed without lvs_flush"
tandem_apply "$live" -f "$conf" --lvs-flush
expect_ops 1 DEL_SERVICE
ipvs_rules "$live" | grep -q '192\.0\.2\.99:8000' && fail "lvs_flush did not remove the service"
note "virtual server removed: left alone without lvs_flush, one DEL_SERVICE with it"

# Another tool's service: left alone, unless lvs_flush.
ip netns exec "$live" ipvsadm -A -u 203.0.113.200:53 -s rr
ip netns exec "$live" ipvsadm -a -u 203.0.113.200:53 -r 198.51.100.77:53 -m
tandem_apply "$live" -f "$conf"
expect_ops 0
ipvs_rules "$live" | grep -q '203\.0\.113\.200:53' || fail "tandem removed a service another tool added"
tandem_apply "$live" -f "$conf" --lvs-flush
expect_ops 1 DEL_SERVICE
ipvs_rules "$live" | grep -q '203\.0\.113\.200' && fail "lvs_flush left another tool's service"
note "another tool's service: left alone without lvs_flush, one DEL_SERVICE with it"

# A tunnel parameter (GUE port) of one real server.
cp "$CONFIGS/forwarding-v4.conf" "$conf"
ip netns exec "$live" tandem ipvs flush >/dev/null
tandem_apply "$live" -f "$conf"
conf_set "$conf" "203.0.113.11 80" "198.51.100.32 80" lvs_method TUN type gue port 7080 csum
change "one GUE tunnel port 6080 -> 7080" SET_DEST '198\.51\.100\.32:80 +Tunnel +gue:7080:\+c '

# Back to the original configuration: each change undone, one operation each.
cp "$CONFIGS/forwarding-v4.conf" "$conf"
tandem_apply "$live" -f "$conf"
expect_ops 1 SET_DEST
expect_snapshot "$live" "$CONFIGS/forwarding-v4.expected" "after undoing the change" || fail "undo did not restore the table"
