#!/usr/bin/env bash
# Reload against a real IPVS table in the test VM (tests/reload_vm.sh):
# unchanged, bad and refused reloads cause zero IPVS operations; a weight
# change is one SET_DEST, an added real server one NEW_DEST.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --bin tandem
run() { netns-lab/vm-run --timeout 600 --no-build -- bash tests/reload_vm.sh; }
# vm-run exits 125 when the guest did not come up; one more boot tells
# that apart from a failing test.
rc=0; run || rc=$?
if [ "$rc" = 125 ]; then
  echo "66-reload-vm: the VM did not report a status; booting it once more" >&2
  rc=0; run || rc=$?
fi
exit "$rc"
