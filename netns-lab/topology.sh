#!/usr/bin/env bash
# The seed's two-balancer network, built from network namespaces on this
# machine's kernel (or inside the test VM): nothing here touches the root
# namespace's interfaces, routes or addresses.
#
#   PREFIXclient 192.0.2.100 ─┐  outer bridge "out"      ┌─ PREFIXlb1 eth0 192.0.2.11
#                             ├─ (in PREFIXswitch) ───────┤
#                             │   outer VIP 192.0.2.2    └─ PREFIXlb2 eth0 192.0.2.12
#   PREFIXrs1 198.51.100.10 ──┐  inner bridge "in"       ┌─ PREFIXlb1 eth1 198.51.100.2
#   PREFIXrs2 198.51.100.11 ──┴─ (in PREFIXswitch) ───────┴─ PREFIXlb2 eth1 198.51.100.3
#                                inner gateway VIP 198.51.100.1 (the real servers' default route)
#
# The seed's addresses (192.168.1.0/24 outside, 192.168.10.0/24 inside) are
# mapped onto the documentation ranges 192.0.2.0/24 and 198.51.100.0/24; the
# outer network also has IPv6: client 2001:db8:2::100, lb1 ::11, lb2 ::12
# (an IPv6 VIP, when a test configures one: 2001:db8:2::2).
# Interfaces have fixed MAC addresses so that a neighbour entry names its
# owner: 02:00:00:00:NN:0I with NN = 01 lb1, 02 lb2, 0a rs1, 0b rs2, 64 client
# and I = 1 outer, 2 inner.
#
# Usage:  topology.sh up PREFIX     build it (PREFIX like "tdm-1234-demo-")
#         topology.sh down PREFIX   kill every process in those namespaces, delete them
#         topology.sh crash PREFIX lb1|lb2   the balancer dies as a machine (namespace gone)
#         topology.sh boot PREFIX lb1|lb2    and boots again (empty namespace, same cables)
#         topology.sh sweep         remove tdm-<pid>-* namespaces whose <pid> is gone
#         topology.sh leftovers     list those (exit 1 if there are any)
# The prefix should start with "tdm-<pid>-" where <pid> is the owner's
# process id, so that `sweep` can recognise leftovers of a crashed run.
set -euo pipefail

ROLES=(switch client lb1 lb2 rs1 rs2)

die() { echo "topology: $*" >&2; exit 1; }

down() {
  local p=$1 ns pid
  for r in "${ROLES[@]}"; do
    ns="$p$r"
    [ -e "/run/netns/$ns" ] || continue
    # Only processes inside our own namespace: they are ours.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -9 "$pid" 2>/dev/null || true
    done
  done
  for r in "${ROLES[@]}"; do
    ns="$p$r"
    [ -e "/run/netns/$ns" ] || continue
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
      sleep 0.1
    done
    ip netns del "$ns" 2>/dev/null || true
  done
}

sweep() {
  local ns pid prefix
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^(tdm-([0-9]+)-.*)(switch|client|lb1|lb2|rs1|rs2)$ ]] || continue
    prefix=${BASH_REMATCH[1]}; pid=${BASH_REMATCH[2]}
    kill -0 "$pid" 2>/dev/null && continue
    echo "topology: removing leftovers of gone process $pid: ${prefix}*" >&2
    down "$prefix"
  done
}

# Prints the prefixes of lab namespaces whose owner is gone; fails if any.
leftovers() {
  local ns pid found=1
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns =~ ^(tdm-([0-9]+)-.*)(switch|client|lb1|lb2|rs1|rs2)$ ]] || continue
    pid=${BASH_REMATCH[2]}
    kill -0 "$pid" 2>/dev/null && continue
    echo "$ns"; found=0
  done
  [ $found = 1 ]
}

# veth ROLE IFNAME PORT BRIDGE MAC: a cable from ROLE's IFNAME to the switch.
veth() {
  local p=$1 role=$2 ifname=$3 port=$4 br=$5 mac=$6
  ip -n "${p}switch" link add "$port" type veth peer name "$ifname" netns "$p$role"
  ip -n "${p}switch" link set "$port" master "$br" up
  ip -n "$p$role" link set "$ifname" address "$mac" up
}

up() {
  local p=$1 r
  [[ $p =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad prefix '$p'"
  for r in "${ROLES[@]}"; do
    [ -e "/run/netns/$p$r" ] && die "namespace $p$r already exists"
  done
  trap 'down "$p"' ERR
  for r in "${ROLES[@]}"; do
    ip netns add "$p$r"
    ip -n "$p$r" link set lo up
    # No duplicate address detection (set before any interface exists, so
    # it covers the link-local addresses too): every IPv6 address is usable
    # at once, as VRRPv3 over IPv6 sends from the link-local one.
    ip netns exec "$p$r" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  # The switch: two bridges, no STP (ports forward at once), no multicast
  # snooping (VRRP's 224.0.0.18 reaches every port).
  for br in out in; do
    ip -n "${p}switch" link add "$br" type bridge stp_state 0 mcast_snooping 0
    ip -n "${p}switch" link set "$br" up
  done
  veth "$p" client eth0 client out 02:00:00:00:64:01
  veth "$p" lb1 eth0 lb1o out 02:00:00:00:01:01
  veth "$p" lb2 eth0 lb2o out 02:00:00:00:02:01
  veth "$p" lb1 eth1 lb1i in 02:00:00:00:01:02
  veth "$p" lb2 eth1 lb2i in 02:00:00:00:02:02
  veth "$p" rs1 eth0 rs1 in 02:00:00:00:0a:02
  veth "$p" rs2 eth0 rs2 in 02:00:00:00:0b:02

  # IPv6 on the outer network too (2001:db8:2::/64).
  ip -n "${p}client" addr add 2001:db8:2::100/64 dev eth0 nodad
  ip -n "${p}lb1" addr add 2001:db8:2::11/64 dev eth0 nodad
  ip -n "${p}lb2" addr add 2001:db8:2::12/64 dev eth0 nodad
  ip -n "${p}client" addr add 192.0.2.100/24 dev eth0
  ip -n "${p}lb1" addr add 192.0.2.11/24 dev eth0
  ip -n "${p}lb2" addr add 192.0.2.12/24 dev eth0
  ip -n "${p}lb1" addr add 198.51.100.2/24 dev eth1
  ip -n "${p}lb2" addr add 198.51.100.3/24 dev eth1
  ip -n "${p}rs1" addr add 198.51.100.10/24 dev eth0
  ip -n "${p}rs2" addr add 198.51.100.11/24 dev eth0
  ip -n "${p}rs1" route add default via 198.51.100.1
  ip -n "${p}rs2" route add default via 198.51.100.1
  # The balancers route between the two networks (LVS-NAT needs it).
  for r in lb1 lb2; do
    ip netns exec "$p$r" sysctl -qw net.ipv4.ip_forward=1
  done
  trap - ERR
}

# crash PREFIX lb1|lb2: the balancer dies as a machine: every process in
# its namespace killed, its cables dead, the namespace deleted (addresses,
# routes and the IPVS table, connection entries included, go with it).
# boot PREFIX lb1|lb2: it boots again: a new namespace, the same cables and
# addresses, nothing else.
crash() {
  local p=$1 r=$2 pid
  case $r in lb1 | lb2) ;; *) die "crash: lb1 or lb2, not '$r'" ;; esac
  for pid in $(ip netns pids "$p$r" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  # The cables pulled: deleting the switch's ends deletes the namespace's
  # too, at once (a dying namespace frees its devices only when the
  # kernel's clean-up gets to it, seconds later under an emulated CPU).
  ip -n "${p}switch" link del "${r}o" 2>/dev/null || true
  ip -n "${p}switch" link del "${r}i" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -z "$(ip netns pids "$p$r" 2>/dev/null)" ] && break
    sleep 0.1
  done
  ip netns del "$p$r"
}
boot() {
  local p=$1 r=$2 n
  case $r in lb1) n=01 ;; lb2) n=02 ;; *) die "boot: lb1 or lb2, not '$r'" ;; esac
  ip netns add "$p$r"
  ip -n "$p$r" link set lo up
  ip netns exec "$p$r" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  veth "$p" "$r" eth0 "${r}o" out "02:00:00:00:$n:01"
  veth "$p" "$r" eth1 "${r}i" in "02:00:00:00:$n:02"
  ip -n "$p$r" addr add "2001:db8:2::1${n#0}/64" dev eth0 nodad
  ip -n "$p$r" addr add "192.0.2.1${n#0}/24" dev eth0
  ip -n "$p$r" addr add "198.51.100.$((${n#0} + 1))/24" dev eth1
  ip netns exec "$p$r" sysctl -qw net.ipv4.ip_forward=1
}

case "${1:-}" in
  crash) [ $# -eq 3 ] || die "usage: $0 crash PREFIX lb1|lb2"; crash "$2" "$3" ;;
  boot)  [ $# -eq 3 ] || die "usage: $0 boot PREFIX lb1|lb2"; boot "$2" "$3" ;;
  up)    [ $# -eq 2 ] || die "usage: $0 up PREFIX"; up "$2" ;;
  down)  [ $# -eq 2 ] || die "usage: $0 down PREFIX"; down "$2" ;;
  sweep) sweep ;;
  leftovers) leftovers ;;
  *)     die "usage: $0 up PREFIX | down PREFIX | sweep | leftovers" ;;
esac
