#!/usr/bin/env bash
# The test VM itself: the tools the other tests rely on are the real ones,
# the repository is there read-only, and the kernel has IPVS with every
# scheduler tandem can name.
source "$(dirname "$0")/lib.sh"

repo=$(cd "$VM_TESTS/../.." && pwd -P)
[ -f "$repo/Cargo.toml" ] || fail "repository not at $repo"
if touch "$repo/.vm-write-test" 2>/dev/null; then
  rm -f "$repo/.vm-write-test"
  fail "the repository is writable from inside the VM"
fi
grep -q iproute2 <<<"$(ip -V)" || fail "'ip' is not iproute2's: $(command -v ip)"
grep -q 'ipvsadm v1' <<<"$(ipvsadm --version)" || fail "ipvsadm missing"
grep -q Keepalived <<<"$(keepalived --version 2>&1)" || fail "keepalived missing"
grep -q tandem <<<"$(tandem --version)" || fail "tandem missing"
command -v httpd >/dev/null || fail "no httpd"
note "tools: $(ip -V), $(ipvsadm --version), $(keepalived --version 2>&1 | head -1), $(tandem --version)"

[ -r /proc/net/ip_vs ] || fail "no /proc/net/ip_vs: IPVS not loaded"
balancer_ns ns sched
schedulers="rr wrr lc wlc lblc lblcr dh sh mh sed nq fo ovf"
i=0
for s in $schedulers; do
  i=$((i + 1))
  ip netns exec "$ns" ipvsadm -A -t "192.0.2.$i:80" -s "$s" || fail "scheduler $s refused"
  ip netns exec "$ns" ipvsadm -a -t "192.0.2.$i:80" -r 198.51.100.11:80 -m -w 1 || fail "destination refused"
done
got=$(ip netns exec "$ns" ipvsadm -Ln | awk '$1 == "TCP" { print $3 }' | sort | tr '\n' ' ')
want=$(tr ' ' '\n' <<<"$schedulers" | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "schedulers in the table: '$got', wanted '$want'"
note "schedulers: $got"

# IPVS state is per namespace: a second namespace sees an empty table.
balancer_ns other other
[ -z "$(ip netns exec "$other" ipvsadm -Sn)" ] || fail "IPVS table shared between namespaces"
