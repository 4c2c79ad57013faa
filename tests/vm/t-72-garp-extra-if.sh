#!/usr/bin/env bash
# garp_extra_if on a use_vmac instance (the kernel here has macvlan),
# tandem and then Debian's keepalived on the same file, both captured by
# tcpdump on both links:
#
#   a: eth0 192.0.2.1 (use_vmac: vrrp.71)  --- pa [br0 in c]
#      eth1 198.51.100.1                   --- c1 [c]
#
#   VI_7 vrid 71, garp_extra_if all 2: VIP 192.0.2.71 (on the vmac),
#   198.51.100.71 and 198.51.100.72 dev eth1.
#
# While master: one gratuitous ARP every ~2 s for 198.51.100.71 from
# eth1's MAC (the first VIP on the other interface), none after the first
# for 198.51.100.72, and none after the first for the vmac's VIP (its
# adverts keep the virtual MAC fresh): the same counts from both daemons.
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
mac_a1=$(ip -n "$A" -br link show eth1 | awk '{print $3}')
cat >"$SCRATCH/a.conf" <<'EOF'
vrrp_instance VI_7 {
    interface eth0
    use_vmac
    virtual_router_id 71
    priority 150
    advert_int 1
    garp_master_delay 0
    garp_master_repeat 1
    garp_extra_if all 2
    virtual_ipaddress {
        192.0.2.71/24
        198.51.100.71/24 dev eth1
        198.51.100.72/24 dev eth1
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
master() { has_addr "$A" vrrp.71 192.0.2.71 && has_addr "$A" eth1 198.51.100.71; }
released() { ! has_addr "$A" eth1 198.51.100.71; }

# check WHO TAG: the counts and spacing described at the top.
check() {
  local who=$1 tag=$2 first n
  CHECKING=$tag
  first=$(garps "$SCRATCH/$tag-c1.txt" "$mac_a1" 198.51.100.71)
  n=$(grep -c . <<<"$first" || true)
  [ "$n" -ge 3 ] || fail "$who: $n gratuitous ARPs for 198.51.100.71 on eth1, not >= 3: $first"
  awk -v who="$who" 'NR > 2 { gap = $1 - prev; if (gap < 1.5 || gap > 3.5) { print who ": rounds " gap "s apart"; bad = 1 } }
    { prev = $1 } END { exit bad }' <<<"$first" || fail "$who: not ~2 s apart: $first"
  n=$(garps "$SCRATCH/$tag-c1.txt" "$mac_a1" 198.51.100.72 | grep -c . || true)
  [ "$n" = 1 ] || fail "$who: $n gratuitous ARPs for 198.51.100.72, not 1"
  n=$(garps "$SCRATCH/$tag-pa.txt" 00:00:5e:00:01:47 192.0.2.71 | grep -c . || true)
  [ "$n" = 1 ] || fail "$who: $n gratuitous ARPs for the vmac's 192.0.2.71, not 1"
  note "$who: $(grep -c . <<<"$first") rounds on eth1, 1 for the second VIP and 1 on the vmac"
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
observe keepalived ip netns exec "$A" keepalived -n -l -P -f "$SCRATCH/a.conf" \
  -p "$SCRATCH/ka.pid" -r "$SCRATCH/ka-vrrp.pid"
check keepalived keepalived
