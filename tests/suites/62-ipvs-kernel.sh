#!/usr/bin/env bash
# The IPVS client and reconciler against a real IPVS kernel: builds the
# tests/ipvs_kernel.rs test binary here and runs it inside the test VM
# (netns-lab/vm-run), where each test gets a network namespace of its own
# and reads its work back with ipvsadm; then tests/ipvs_vm_cli.sh drives
# `tandem ipvs apply/dump/flush` there the way an operator would;
# tests/sync_vm.sh the sync daemons' swaps, and netns-lab/failover-lab
# (tandem only) downloads and requests across the master's death and the
# preempt-back with lvs_sync_daemon; last, alone
# (it reloads ip_vs for the whole VM), the module-reload test.
# TANDEM_REQUIRE_IPVS=1 turns a missing IPVS into a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=$(cargo test --no-run --test ipvs_kernel --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*ipvs_kernel[^"]*\)".*/\1/p' | tail -n 1)
[ -x "$bin" ] || { echo "62-ipvs-kernel: could not build the ipvs_kernel test binary" >&2; exit 1; }
cargo build -q --bin tandem

run() {
  TANDEM_REQUIRE_IPVS=1 netns-lab/vm-run --timeout 900 --no-build -- \
    bash -c '"$0" --test-threads=2 && bash tests/ipvs_vm_cli.sh && bash tests/sync_vm.sh &&
      bash netns-lab/failover-lab --check tandem &&
      "$0" --ignored --exact a_reloaded_ip_vs_module_is_found_again' "$bin"
}
# vm-run exits 125 when the guest did not come up (a TCG boot can fail on a
# loaded host); one more boot tells that apart from a failing test.
rc=0; run || rc=$?
if [ "$rc" = 125 ]; then
  echo "62-ipvs-kernel: the VM did not report a status; booting it once more" >&2
  rc=0; run || rc=$?
fi
exit "$rc"
