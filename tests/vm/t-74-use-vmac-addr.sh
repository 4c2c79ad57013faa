#!/usr/bin/env bash
# use_vmac_addr and vmac_addr_prefix (the kernel here has macvlan), tandem
# and then Debian's keepalived on the same file, read back with
# `ip -d link`, sysctl, arping and tcpdump on both links:
#
#   a: eth0 192.0.2.1     --- pa [br0 in c]
#      eth1 198.51.100.1  --- c1 [c]
#
#   VI_8 vrid 72 on eth0, use_vmac_addr, garp_extra_if 2 (no `all`):
#   VIP 192.0.2.72 (on eth0), 198.51.100.73 dev eth1 (on vaddr.72).
#
# Each daemon makes vaddr.72 on eth1: a private macvlan with the RFC 5798
# MAC 00:00:5e:00:01:48, the VIP on it, arp_ignore/arp_filter 1 on eth1;
# sends a gratuitous ARP for it from the virtual MAC every ~2 s
# (garp_extra_if without `all`: the VMACs only), none periodic for eth0's
# VIP; the client's ARP for the VIP is answered by the virtual MAC; at
# stop the link is gone and eth1's settings are back.
# shellcheck disable=SC2154 # ns_new names namespaces by printf -v
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

ns_new A a
ns_new C c
ip -n "$C" -batch - <<'IP'
link add br0 type bridge mcast_snooping 0
link set br0 up
addr add 192.0.2.100/24 dev br0
link add pa type veth peer name pa1
link add c1 type veth peer name c2
link set pa master br0 up
link set c1 up
addr add 198.51.100.100/24 dev c1
IP
ip -n "$C" link set pa1 netns "$A" name eth0
ip -n "$C" link set c2 netns "$A" name eth1
ip -n "$A" -batch - <<'IP'
addr add 192.0.2.1/24 dev eth0
addr add 198.51.100.1/24 dev eth1
link set eth0 up
link set eth1 up
IP
mac_a0=$(ip -n "$A" -br link show eth0 | awk '{print $3}')
mac_a1=$(ip -n "$A" -br link show eth1 | awk '{print $3}')
vmac=00:00:5e:00:01:48
cat >"$SCRATCH/a.conf" <<'EOF'
global_defs {
    vmac_addr_prefix vaddr
}
vrrp_instance VI_8 {
    interface eth0
    use_vmac_addr
    virtual_router_id 72
    priority 150
    advert_int 1
    garp_master_delay 0
    garp_master_repeat 1
    garp_extra_if 2
    virtual_ipaddress {
        192.0.2.72/24
        198.51.100.73/24 dev eth1
    }
}
EOF

has_addr() { [[ "$(ip -n "$1" addr show dev "$2" 2>/dev/null)" == *" $3/"* ]]; }
until_() {
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "timed out waiting for: $what"
    sleep 0.2
  done
}
master() { has_addr "$A" eth0 192.0.2.72 && has_addr "$A" vaddr.72 198.51.100.73; }
released() { ! ip -n "$A" link show vaddr.72 >/dev/null 2>&1; }
conf() { ip netns exec "$A" cat "/proc/sys/net/ipv4/conf/$1/$2"; }

# check WHO TAG: the captures described at the top.
check() {
  local who=$1 tag=$2 first n
  CHECKING=$tag
  first=$(garps "$SCRATCH/$tag-c1.txt" "$vmac" 198.51.100.73)
  n=$(grep -c . <<<"$first" || true)
  [ "$n" -ge 3 ] || fail "$who: $n gratuitous ARPs for 198.51.100.73 from $vmac, not >= 3: $first"
  awk -v who="$who" 'NR > 2 { gap = $1 - prev; if (gap < 1.5 || gap > 3.5) { print who ": rounds " gap "s apart"; bad = 1 } }
    { prev = $1 } END { exit bad }' <<<"$first" || fail "$who: not ~2 s apart: $first"
  n=$(garps "$SCRATCH/$tag-c1.txt" "$mac_a1" 198.51.100.73 | grep -c . || true)
  [ "$n" = 0 ] || fail "$who: $n gratuitous ARPs for 198.51.100.73 from eth1's own MAC"
  n=$(garps "$SCRATCH/$tag-pa.txt" "$mac_a0" 192.0.2.72 | grep -c . || true)
  [ "$n" = 1 ] || fail "$who: $n gratuitous ARPs for eth0's 192.0.2.72, not 1"
  note "$who: $(grep -c . <<<"$first") rounds from $vmac on eth1, 1 on eth0"
  CHECKING=
}
# links WHO: while master, what keepalived makes.
links() {
  local who=$1 l got
  l=$(ip -n "$A" -d link show vaddr.72) || fail "$who: no vaddr.72"
  grep -q "vaddr.72@eth1" <<<"$l" || fail "$who: vaddr.72 is not on eth1: $l"
  grep -q "link/ether $vmac " <<<"$l" || fail "$who: vaddr.72's MAC: $l"
  grep -q "macvlan mode private" <<<"$l" || fail "$who: vaddr.72 is not a private macvlan: $l"
  if has_addr "$A" eth1 198.51.100.73; then fail "$who: the VIP is on eth1 too"; fi
  [ "$(conf eth1 arp_ignore)/$(conf eth1 arp_filter)" = 1/1 ] ||
    fail "$who: eth1 arp_ignore/arp_filter $(conf eth1 arp_ignore)/$(conf eth1 arp_filter), not 1/1"
  [ "$(conf vaddr.72 arp_ignore)" = 1 ] || fail "$who: vaddr.72 arp_ignore $(conf vaddr.72 arp_ignore)"
  got=$(ip netns exec "$C" arping -f -c 2 -w 3 -I c1 198.51.100.73 2>/dev/null |
    sed -n 's/.*reply from [0-9.]* \[\([0-9a-f:]*\)\].*/\1/p' | head -1 || true)
  [ "$got" = "$vmac" ] || fail "$who: ARP for 198.51.100.73 answered by [$got], not $vmac"
  note "$who: vaddr.72@eth1, private macvlan $vmac with the VIP; ARP answered by it"
}

# observe TAG COMMAND...: capture both links while COMMAND (logging to
# $SCRATCH/TAG.log) is master.
observe() {
  local tag=$1
  shift
  ip netns exec "$C" tcpdump -Z root -i pa -e -n -tt -U -w "$SCRATCH/$tag-pa.pcap" arp 2>/dev/null &
  local cap1=$!
  track_pid "$cap1"
  ip netns exec "$C" tcpdump -Z root -i c1 -e -n -tt -U -w "$SCRATCH/$tag-c1.pcap" arp 2>/dev/null &
  local cap2=$!
  track_pid "$cap2"
  sleep 1
  "$@" >"$SCRATCH/$tag.log" 2>&1 &
  DAEMON=$!
  track_pid "$DAEMON"
  until_ 30 "$tag holds the VIPs ($(tail -5 "$SCRATCH/$tag.log"))" master
  links "$tag"
  sleep 7.5
  kill -INT "$cap1" "$cap2"
  wait "$cap1" "$cap2" 2>/dev/null || true
  for l in pa c1; do
    tcpdump -r "$SCRATCH/$tag-$l.pcap" -e -n -tt 2>/dev/null >"$SCRATCH/$tag-$l.txt"
  done
  kill -TERM "$DAEMON"
  wait "$DAEMON" || true
  until_ 20 "$tag released the VIPs" released
}

observe tandem ip netns exec "$A" tandem run -f "$SCRATCH/a.conf"
check tandem tandem
[ "$(conf eth1 arp_ignore)/$(conf eth1 arp_filter)" = 0/0 ] || fail "tandem left eth1's arp_ignore/arp_filter changed"
observe keepalived ip netns exec "$A" keepalived -n -l -P -f "$SCRATCH/a.conf" \
  -p "$SCRATCH/ka.pid" -r "$SCRATCH/ka-vrrp.pid"
check keepalived keepalived
