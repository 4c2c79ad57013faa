#!/usr/bin/env bash
# The namespace lab beyond `cargo test`: the VRRP demo (tandem on both
# balancers), and the lab's scenarios with Debian's keepalived on both
# balancers as the reference — if those fail, the lab is broken, not tandem;
# accept mode and vrrp_strict against keepalived (tests/strict_accept.sh).
# Then every failover scenario with mixed tandem/keepalived pairs. (The
# scenarios with tandem on both run in 10-cargo-test.) Then no lab namespace
# may be left behind. TANDEM_LAB_REFERENCE=0 skips the keepalived runs.
set -euo pipefail
cd "$(dirname "$0")/../.."

# netns-lab/demo (the seed site, in the VM) runs in 66-seed-site-vm.
netns-lab/vrrp-demo
# vrrp_strict and no_accept (nftables) against keepalived with vrrp_strict.
tests/strict_accept.sh

if [ "${TANDEM_LAB_REFERENCE:-1}" != 0 ]; then
  TANDEM_LAB_DAEMON=keepalived cargo test --test lab_failover --test lab_hostile -- --test-threads=2
  TANDEM_LAB_INTEROP_KINDS=keepalived cargo test --test lab_interop -- --test-threads=2
  # dont_track_primary as keepalived does it (the TTL tests pair the two already).
  TANDEM_LAB_DAEMON=keepalived cargo test --test lab_knobs dont_track_primary -- --test-threads=2
  # Every failover scenario with a mixed pair, both ways round.
  TANDEM_LAB_LB1=tandem TANDEM_LAB_LB2=keepalived cargo test --test lab_failover -- --test-threads=2
  TANDEM_LAB_LB1=keepalived TANDEM_LAB_LB2=tandem cargo test --test lab_failover -- --test-threads=2
fi

if left=$(netns-lab/topology.sh leftovers); then
  echo "30-lab: no namespaces left behind"
else
  echo "30-lab: namespaces left behind:" >&2
  echo "$left" >&2
  exit 1
fi
