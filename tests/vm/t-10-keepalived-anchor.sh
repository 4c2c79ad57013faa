#!/usr/bin/env bash
# The anchor for every table test: Debian's keepalived, the reference reader
# of keepalived.conf, programs each configs/*.conf into IPVS, and ipvsadm
# shows exactly configs/*.expected. tandem's table tests compare against the
# same files, so tandem and keepalived program the same tables.
# Then tandem, looking at keepalived's table with the same configuration,
# plans nothing: it agrees field by field, as tandem decodes the kernel's
# table, that the table is what the configuration asks.
source "$(dirname "$0")/lib.sh"
for_each_config "$@"

name=$1
conf=$CONFIGS/$name.conf
balancer_ns ns "$name"
keepalived_checker "$ns" "$conf"
if ! wait_for_snapshot "$ns" "$CONFIGS/$name.expected" 20; then
  expect_snapshot "$ns" "$CONFIGS/$name.expected" "keepalived with $name.conf" || true
  sed 's/^/    keepalived: /' "$SCRATCH/$name.keepalived.log" >&2
  fail "keepalived did not program $name.conf as $name.expected says"
fi
note "$name: keepalived's table matches $name.expected ($(ipvs_rules "$ns" | wc -l) entries)"

require_tandem_ipvs
tandem_apply "$ns" -f "$conf" --dry-run
grep -q '^operations: 0 (dry run, 0 planned)' "$SCRATCH/apply.out" ||
  { cat "$SCRATCH/apply.out" >&2; fail "$name: tandem would change keepalived's table for the same configuration"; }
note "$name: tandem plans no change to keepalived's table"
stop_pid "$KEEPALIVED_PID"
