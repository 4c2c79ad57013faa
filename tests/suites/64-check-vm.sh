#!/usr/bin/env bash
# Health checks driving a real IPVS table: `tandem run` in the test VM
# (netns-lab/vm-run) with busybox httpd real servers and keepalived as the
# VRRP peer, read back with ipvsadm (tests/check_vm.sh); then
# enable_snmp_checker on that table against keepalived -C
# (tests/snmp_check_vm.sh); then net_namespace_ipvs, the table in another
# namespace than the daemon's, against keepalived -C (tests/ipvs_netns_vm.sh);
# then the scale-out lab (netns-lab/scale-out-lab --check, about 4 minutes
# on TCG): three tandem_bgp balancers behind a BIRD ECMP router, the spread
# of new connections, mh giving the same real server on every balancer for
# a flow, no download broken by a SIGTERM or a balancer coming back, and a
# dead link withdrawn by BFD and back within 30 s of the link.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --bin tandem
run() {
  netns-lab/vm-run --timeout 1200 --no-build -- \
    bash -c 'bash tests/check_vm.sh && bash tests/snmp_check_vm.sh && bash tests/ipvs_netns_vm.sh && bash netns-lab/scale-out-lab --check'
}
# vm-run exits 125 when the guest did not come up (a TCG boot can fail on a
# loaded host); one more boot tells that apart from a failing test.
rc=0; run || rc=$?
if [ "$rc" = 125 ]; then
  echo "64-check-vm: the VM did not report a status; booting it once more" >&2
  rc=0; run || rc=$?
fi
exit "$rc"
