# shellcheck shell=bash
# Host-side helpers for the systemd test VMs (netns-lab/systemd-pair
# sources this file; docs/vm.md, "The systemd VMs", describes them).
#
#   . netns-lab/sysvm/lib.sh
#   sysvm_init pair                 # names, run directory, cleanup trap
#   sysvm_image                     # build or reuse the cached image
#   sysvm_wire_up                   # the wire: two bridges in a namespace
#   sysvm_site NAME ADDR/LEN BRIDGE [GATEWAY]   # a host on a bridge (a namespace)
#   sysvm_boot lb1 OUT/LEN IN/LEN   # boot a VM from a copy-on-write overlay
#   sysvm_wait_ready lb1 SECS       # until its agent answers
#   vm lb1 'systemctl is-active tandem'    # run a command in it (bash)
#   sysvm_kill lb1                  # power loss: SIGKILL its qemu
#   spawn LOG CMD...                # a host process, stopped by sysvm_down
#   sysvm_down                      # also run by the EXIT trap
#
# Network safety: qemu's only network devices are taps inside the wire
# namespace, which this file creates and deletes; the wire's only other
# members are the site's namespaces. No user-mode networking, nothing on
# the host's own interfaces. Addresses: 192.0.2.0/24 and 198.51.100.0/24.

SYSVM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SYSVM_REPO=$(cd "$SYSVM_DIR/../.." && pwd -P)
: "${SYSVM_MEM:=640}"          # MB per VM
: "${SYSVM_ACCEL:=tcg}"        # KVM hangs on these machines (docs/vm.md)
declare -A SYSVM_QPID=()       # node -> its qemu's pid
declare -A SYSVM_NODE_ID=()    # node -> the number in its MAC addresses
SYSVM_SITE=()                  # the site's namespaces
SYSVM_BG=()                    # other host processes we started
SYSVM_SEQ=0                    # command counter for `vm`

sysvm_ns() { echo "${SYSVM_PREFIX}$1"; }   # NAME -> namespace name
sysvm_wire() { sysvm_ns wire; }

sysvm_init() { # TAG
  [ "$(id -u)" = 0 ] || { echo "needs root (namespaces, taps, mmdebstrap): try sudo $0" >&2; exit 2; }
  SYSVM_PREFIX="tdm-$$-$1-"
  SYSVM_RUN=$(mktemp -d "${TMPDIR:-/tmp}/tdm-$$-$1.XXXXXX")
  chmod 755 "$SYSVM_RUN"
  trap sysvm_down EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# sysvm_image: the kernel, initramfs and root file system image (cached);
# sets SYSVM_KERNEL, SYSVM_INITRD, SYSVM_ROOTFS.
sysvm_image() {
  local cache=${TANDEM_SYSVM_CACHE:-$SYSVM_REPO/netns-lab/.cache/sysvm} out
  mkdir -p "$cache"
  out=$(flock "$cache/.lock" "$SYSVM_DIR/build-image" "$cache") || return 1
  SYSVM_KERNEL=$(sed -n 1p <<<"$out")
  SYSVM_INITRD=$(sed -n 2p <<<"$out")
  SYSVM_ROOTFS=$(sed -n 3p <<<"$out")
}

# sysvm_wire_up: namespace "wire" with two bridges, outer and inner (the
# two networks of docs/operating.md's layout). Multicast snooping off: the
# VRRP adverts (224.0.0.18) reach every port.
sysvm_wire_up() {
  local w
  w=$(sysvm_wire)
  ip netns add "$w"
  ip -n "$w" link set lo up
  for br in outer inner; do
    ip -n "$w" link add "$br" type bridge mcast_snooping 0 forward_delay 0
    ip -n "$w" link set "$br" up
  done
}

# sysvm_site NAME ADDR/LEN BRIDGE [GATEWAY]: a host of the site (client,
# real server, mail relay) as a namespace, its eth0 on BRIDGE.
sysvm_site() {
  local name=$1 addr=$2 br=$3 gw=${4:-} ns w
  ns=$(sysvm_ns "$name")
  w=$(sysvm_wire)
  ip netns add "$ns"
  SYSVM_SITE+=("$ns")
  ip -n "$w" link add "$name" type veth peer name eth0 netns "$ns"
  ip -n "$w" link set "$name" master "$br" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr" dev eth0
  ip -n "$ns" link set eth0 up
  [ -z "$gw" ] || ip -n "$ns" route add default via "$gw"
}
# spawn LOG CMD...: start CMD in the background, in its own process group
# (SYSVM_SPAWNED: its pid); sysvm_down stops it.
spawn() {
  local log=$1; shift
  setsid "$@" </dev/null >>"$log" 2>&1 &
  SYSVM_BG+=($!)
  # shellcheck disable=SC2034 # for the caller
  SYSVM_SPAWNED=$!
}
spawn_stop() { # PID: stop a process group started by spawn
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# sysvm_share NODE: the node's 9p share (read-write): the agent, the early
# script, and ctl/ for the agent's commands. Everything else the scenario
# puts there (packages, configuration) is seen in the guest under /sysvm.
sysvm_share() { echo "$SYSVM_RUN/$1/share"; }

# sysvm_boot NODE OUTER_ADDR/LEN INNER_ADDR/LEN: a VM with two network
# cards: eth0 on the outer bridge, eth1 on the inner one. Its disk is a
# fresh copy-on-write overlay of the cached image (the first boot), or the
# same overlay again (a power-on after sysvm_kill: the disk as it was).
sysvm_boot() {
  local node=$1 out=$2 in=$3 d share w id overlay
  d=$SYSVM_RUN/$node
  share=$(sysvm_share "$node")
  w=$(sysvm_wire)
  if [ -z "${SYSVM_NODE_ID[$node]:-}" ]; then
    SYSVM_NODE_ID[$node]=$(printf '%02x' $((${#SYSVM_NODE_ID[@]} + 1)))
  fi
  id=${SYSVM_NODE_ID[$node]}
  overlay=$d/disk.qcow2
  if [ ! -f "$overlay" ]; then
    mkdir -p "$share/ctl"
    qemu-img create -q -f qcow2 -F raw -b "$SYSVM_ROOTFS" "$overlay"
    install -m 0755 "$SYSVM_DIR/guest-agent" "$share/agent"
    # The node's addresses, as systemd-networkd files (written before
    # networkd starts, by sysvm-node.service).
    cat >"$share/early" <<EOF
#!/bin/sh
# $node: eth0 (outer) $out, eth1 (inner) $in; no IPv6 autoconfiguration.
mkdir -p /run/systemd/network
for pair in "eth0 $out" "eth1 $in"; do
  set -- \$pair
  printf '[Match]\nName=%s\n\n[Network]\nAddress=%s\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' "\$1" "\$2" >/run/systemd/network/10-\$1.network
done
EOF
    chmod 0755 "$share/early"
    for nic in o i; do
      ip -n "$w" tuntap add dev "$node$nic" mode tap
    done
    ip -n "$w" link set "${node}o" master outer up
    ip -n "$w" link set "${node}i" master inner up
  fi
  rm -f "$share/ctl/"*
  : >"$d/console.log"
  # Not under `timeout` or a subshell: qemu is our own child, so sysvm_down
  # and sysvm_kill always reach it by its pid.
  ip netns exec "$w" qemu-system-x86_64 -accel "$SYSVM_ACCEL" -m "$SYSVM_MEM" -smp 1 \
    -nodefaults -no-user-config -display none -vga none -monitor none \
    -kernel "$SYSVM_KERNEL" -initrd "$SYSVM_INITRD" \
    -append "console=ttyS0 panic=-1 no_timer_check net.ifnames=0 systemd.hostname=$node systemd.machine_id=5a1e00000000000000000000000000$id systemd.show_status=auto" \
    -drive "file=$overlay,format=qcow2,if=virtio,cache=writeback" \
    -netdev "tap,id=out,ifname=${node}o,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=out,mac=52:54:00:5e:$id:01,addr=0x4" \
    -netdev "tap,id=in,ifname=${node}i,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=in,mac=52:54:00:5e:$id:02,addr=0x5" \
    -virtfs "local,path=$share,mount_tag=sysvm,security_model=none" \
    -device virtio-rng-pci \
    -serial "file:$d/console.log" -no-reboot \
    </dev/null >"$d/qemu.log" 2>&1 &
  SYSVM_QPID[$node]=$!
}

# sysvm_wait_ready NODE SECS: until the agent reports the boot finished.
# Prints its report (state running|degraded, failed units, boot time).
sysvm_wait_ready() {
  local node=$1 end=$((SECONDS + $2)) ready
  ready=$(sysvm_share "$node")/ctl/ready
  while [ ! -s "$ready" ]; do
    if ! kill -0 "${SYSVM_QPID[$node]}" 2>/dev/null; then
      echo "sysvm: $node's qemu exited during boot:" >&2
      sed 's/^/  qemu: /' "$SYSVM_RUN/$node/qemu.log" >&2 2>/dev/null || true
      sysvm_console_tail "$node" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$end" ]; then
      echo "sysvm: $node did not finish booting in $2 s:" >&2
      sysvm_console_tail "$node" >&2
      return 1
    fi
    sleep 0.5
  done
  cat "$ready"
}
sysvm_console_tail() { tr -d '\r' <"$SYSVM_RUN/$1/console.log" | tail -n "${2:-25}" | sed 's/^/  | /'; }

# vm NODE [-t SECS] SCRIPT...: run SCRIPT (bash; the words are joined with
# spaces) in the VM as root; its stdout and stderr come back on ours, its
# exit status is ours. 124 when it did not answer in SECS (default 120),
# 125 when the VM is not running.
vm() {
  local node=$1 limit=120 ctl id end
  shift
  if [ "${1:-}" = -t ]; then limit=$2; shift 2; fi
  ctl=$(sysvm_share "$node")/ctl
  SYSVM_SEQ=$((SYSVM_SEQ + 1))
  id=$BASHPID-$SYSVM_SEQ
  printf '%s\n' "$*" >"$ctl/$id.tmp"
  mv "$ctl/$id.tmp" "$ctl/$id.cmd"
  end=$(( ${EPOCHREALTIME/./} + limit * 1000000 ))
  while [ ! -e "$ctl/$id.rc" ]; do
    if ! kill -0 "${SYSVM_QPID[$node]:-0}" 2>/dev/null; then
      echo "vm $node: the VM is not running" >&2
      return 125
    fi
    if [ "${EPOCHREALTIME/./}" -ge "$end" ]; then
      echo "vm $node: no answer in $limit s to: $*" >&2
      return 124
    fi
    sleep 0.05
  done
  cat "$ctl/$id.out"
  cat "$ctl/$id.err" >&2
  local rc
  rc=$(cat "$ctl/$id.rc")
  rm -f "$ctl/$id".*
  return "$rc"
}

# sysvm_kill NODE: power loss. SIGKILL to qemu: the guest gets no
# shutdown, its disk keeps what the guest had written (cache=writeback:
# what it had flushed is in the overlay; the rest may be lost, as on a real
# power loss), its links go down.
sysvm_kill() {
  local pid=${SYSVM_QPID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "SYSVM_QPID[$1]"
}

# sysvm_poweroff NODE SECS: a clean shutdown, then SIGKILL if it hangs.
sysvm_poweroff() {
  local node=$1 end pid=${SYSVM_QPID[$1]:-}
  [ -n "$pid" ] || return 0
  vm "$node" -t 10 'systemctl poweroff --no-block' >/dev/null 2>&1 || true
  end=$((SECONDS + ${2:-60}))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.5; done
  sysvm_kill "$node"
}

# sysvm_down: every qemu, background process and namespace we made, and
# the run directory (kept with TANDEM_SYSVM_KEEP=1). Runs on every exit.
sysvm_down() {
  local rc=$? node ns p
  trap - EXIT INT TERM HUP
  for node in "${!SYSVM_QPID[@]}"; do
    kill -KILL "${SYSVM_QPID[$node]}" 2>/dev/null || true
    wait "${SYSVM_QPID[$node]}" 2>/dev/null || true
  done
  for p in "${SYSVM_BG[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  for p in "${SYSVM_BG[@]}"; do { wait "$p"; } 2>/dev/null || true; done
  for ns in "${SYSVM_SITE[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  [ -z "${SYSVM_PREFIX:-}" ] || ip netns del "$(sysvm_wire)" 2>/dev/null || true
  if [ -n "${SYSVM_RUN:-}" ] && [ -d "$SYSVM_RUN" ]; then
    if [ -n "${TANDEM_SYSVM_KEEP:-}" ]; then
      echo "sysvm: run directory kept: $SYSVM_RUN" >&2
    else
      rm -rf "$SYSVM_RUN"
    fi
  fi
  exit "$rc"
}
