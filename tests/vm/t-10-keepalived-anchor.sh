#!/usr/bin/env bash
# The anchor for every table test: Debian's keepalived, the reference reader
# of keepalived.conf, programs each configs/*.conf into IPVS, and ipvsadm
# shows exactly configs/*.expected. tandem's table tests compare against the
# same files, so tandem and keepalived program the same tables.
source "$(dirname "$0")/lib.sh"

for conf in "$CONFIGS"/*.conf; do
  name=$(basename "$conf" .conf)
  balancer_ns ns "$name"
  keepalived_checker "$ns" "$conf"
  if ! wait_for_snapshot "$ns" "$CONFIGS/$name.expected" 20; then
    expect_snapshot "$ns" "$CONFIGS/$name.expected" "keepalived with $name.conf" || true
    sed 's/^/    keepalived: /' "$SCRATCH/$name.keepalived.log" >&2
    fail "keepalived did not program $name.conf as $name.expected says"
  fi
  note "$name: keepalived's table matches $name.expected ($(ipvs_rules "$ns" | wc -l) entries)"
  stop_pid "$KEEPALIVED_PID"
done
