#!/usr/bin/env bash
# The Debian package on two real machines (issue 19): netns-lab/systemd-pair
# builds the .deb (packaging/build-deb.sh), boots two Debian VMs with
# systemd as PID 1 (image cached in netns-lab/.cache/sysvm, built by
# mmdebstrap on a fresh machine), installs and runs tandem on both with
# `systemctl enable --now`, and asserts readiness, the sandbox, journald
# priorities, reload, the watchdog, stop, upgrade, power loss, power-on and
# purge from what a client, `ip addr`, `ipvsadm -Ln`, `systemctl show` and
# the journal show. Then the namespace lab's figure for the same failure
# (benches/failover.sh, one round, tandem only, VRRPv2 advert_int 1), so
# the VMs' power-loss outage can be read beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
netns-lab/systemd-pair 2>&1 | tee "$log" || rc=$?
pair=$((SECONDS - start))
vm_outage=$(sed -n 's/^systemd-pair: power-loss outage \([0-9.]*\) s$/\1/p' "$log")
echo
echo "--- the same failure in the namespace lab (benches/failover.sh, 1 round, tandem, v2 advert_int 1)"
bench=$(mktemp)
trap 'rm -f "$log" "$bench"' EXIT
ROUNDS=1 KINDS=tandem CASES=2:1 benches/failover.sh >"$bench" 2>&1 || true
grep -a -E '^(case|v2 int)' "$bench" || tail -n 5 "$bench"
ns=$(awk '$1 == "v2" && $4 == "death" && $5 == "client" { print $9 }' "$bench" | head -n 1)
echo "power loss, client outage: two systemd VMs ${vm_outage:-?} s (HTTP every 100 ms); namespaces ${ns:-?} ms (TCP connect every 10 ms)"
echo "70-systemd-vms: systemd-pair ${pair} s, suite $((SECONDS - start)) s"
exit "$rc"
