#!/usr/bin/env bash
# tandem programs every configs/*.conf, and ipvsadm (an independent reader)
# shows exactly the table keepalived programs from the same file
# (configs/*.expected, re-checked against keepalived by t-10). Then, per
# configuration:
#   - a cold load takes one operation per service and per destination;
#   - a second apply performs no operation (idempotence);
#   - dump -> flush -> apply of the dump restores the same table
#     (round trip through tandem's own decoding and encoding);
#   - flush empties the table.
source "$(dirname "$0")/lib.sh"
require_tandem_ipvs
for_each_config "$@"

name=$1
conf=$CONFIGS/$name.conf
expected=$CONFIGS/$name.expected
entries=$(entry_count "$expected")

balancer_ns ns "$name"
tandem_apply "$ns" -f "$conf"
expect_snapshot "$ns" "$expected" "tandem with $name.conf" || fail "$name: tandem programmed another table than keepalived"
expect_ops "$entries"

tandem_apply "$ns" -f "$conf"
expect_ops 0
expect_snapshot "$ns" "$expected" "second apply of $name.conf" || fail "$name: second apply changed the table"

ip netns exec "$ns" tandem ipvs dump --table >"$SCRATCH/$name.json" || fail "$name: tandem ipvs dump --table failed"
ip netns exec "$ns" tandem ipvs dump >"$SCRATCH/$name.listing" || fail "$name: tandem ipvs dump failed"
# The listing names every service and destination ipvsadm shows.
for key in $(awk '$1 == "->" && $2 != "RemoteAddress:Port" { print $2 }' "$expected" | sort -u); do
  grep -qF -- "$key" "$SCRATCH/$name.listing" || fail "$name: tandem ipvs dump does not list $key"
done
ip netns exec "$ns" tandem ipvs flush >/dev/null || fail "$name: tandem ipvs flush failed"
[ -z "$(ipvs_rules "$ns")" ] || fail "$name: the table is not empty after tandem ipvs flush"
tandem_apply "$ns" --table "$SCRATCH/$name.json"
expect_ops "$entries"
expect_snapshot "$ns" "$expected" "$name.conf through dump and apply --table" || fail "$name: round trip changed the table"
tandem_apply "$ns" -f "$conf"
expect_ops 0

ip netns exec "$ns" tandem ipvs flush >/dev/null || fail "$name: tandem ipvs flush failed"
[ -z "$(ipvs_rules "$ns")" ] || fail "$name: the table is not empty after tandem ipvs flush"
note "$name: $entries entries as keepalived programs them; idempotent; round trip; flush"
