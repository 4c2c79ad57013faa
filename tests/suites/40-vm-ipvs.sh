#!/usr/bin/env bash
# IPVS tests in the test VM (this machine's kernel has no IPVS): first
# vm-run's own checks, then tests/vm/run.sh inside one VM boot. Builds
# tandem first so that the VM gets the binary of these sources.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --bin tandem
netns-lab/vm/selftest
netns-lab/vm-run --no-build --timeout "${TANDEM_VM_TIMEOUT:-900}" -- bash tests/vm/run.sh
