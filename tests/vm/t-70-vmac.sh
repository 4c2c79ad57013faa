#!/usr/bin/env bash
# use_vmac, vmac_xmit_base and use_ipvlan on a kernel with macvlan and
# ipvlan, read back with `ip -d link`, sysctl and tcpdump, with Debian's
# keepalived (use_vmac too) as the VRRP peer:
#
#   a: tandem     eth0 192.0.2.1  --- pa [br0 in c] pb ---  eth0 192.0.2.2  b: keepalived
#                 eth1 198.51.100.1 --- c1 (c: 192.0.2.100, 198.51.100.100)
#
#   VI_1 vrid 51 use_vmac (vrrp.51), VIP 192.0.2.10   (keepalived's peer)
#   VI_2 vrid 52 use_vmac vm52 + vmac_xmit_base, VIP 192.0.2.20
#   VI_3 vrid 53 use_ipvlan ipv53 198.51.100.53/24 private, VIP 198.51.100.30
#   VI_6 vrid 61 use_vmac (vrrp.61), VIP 2001:db8::61
#
# 1. tandem alone: each vmac is what keepalived makes (macvlan private with
#    the RFC 5798 MAC / ipvlan l2 private), the VIPs are on it, the
#    sysctls are set; on the wire (captured in c) the adverts, gratuitous
#    ARPs / NAs and the ARP replies for the VIP carry the virtual MAC
#    (the base's MAC with vmac_xmit_base), never the base's for a VIP.
# 2. keepalived joins with priority 100: one master (tandem, 150).
# 3. tandem stops: keepalived takes the VIP; every vmac is gone and the
#    base's arp_ignore / arp_filter are back.
# 4. tandem again with priority 50: it hears keepalived's adverts on its
#    vmac (with all.rp_filter 1, lowered as keepalived lowers it) and stays
#    backup; a reload to 150 preempts, dropping VI_2 removes vm52 and
#    nothing else, and a vmac deleted by hand is made again; the last stop
#    removes the rest.
# shellcheck disable=SC2154 # ns_new names namespaces by printf -v
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

ns_new A a
ns_new B b
ns_new C c
ip -n "$C" -batch - <<'IP'
link add br0 type bridge mcast_snooping 0
link set br0 up
addr add 192.0.2.100/24 dev br0
addr add 2001:db8::100/64 dev br0 nodad
link add pa type veth peer name pa1
link add pb type veth peer name pb1
link add c1 type veth peer name c2
link set pa master br0 up
link set pb master br0 up
link set c1 up
addr add 198.51.100.100/24 dev c1
IP
ip -n "$C" link set pa1 netns "$A" name eth0
ip -n "$C" link set c2 netns "$A" name eth1
ip -n "$C" link set pb1 netns "$B" name eth0
ip -n "$A" -batch - <<'IP'
link set eth0 addrgenmode none
addr add 192.0.2.1/24 dev eth0
addr add fe80::a/64 dev eth0 nodad
addr add 198.51.100.1/24 dev eth1
link set eth0 up
link set eth1 up
IP
ip -n "$B" -batch - <<'IP'
addr add 192.0.2.2/24 dev eth0
link set eth0 up
IP
mac_a0=$(ip -n "$A" -br link show eth0 | awk '{print $3}')
mac_a1=$(ip -n "$A" -br link show eth1 | awk '{print $3}')

# conf_a PRIORITY [without-vi2]: tandem's file.
conf_a() {
  cat <<EOF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    use_vmac
    virtual_router_id 51
    priority $1
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/24
    }
}
vrrp_instance VI_3 {
    interface eth1
    use_ipvlan ipv53 198.51.100.53/24 private
    virtual_router_id 53
    priority 150
    virtual_ipaddress {
        198.51.100.30/24
    }
}
vrrp_instance VI_6 {
    interface eth0
    use_vmac
    virtual_router_id 61
    priority 150
    virtual_ipaddress {
        2001:db8::61/64
    }
}
EOF
  [ "${2:-}" = without-vi2 ] || cat <<'EOF'
vrrp_instance VI_2 {
    interface eth0
    use_vmac vm52
    vmac_xmit_base
    virtual_router_id 52
    priority 150
    virtual_ipaddress {
        192.0.2.20/24
    }
}
EOF
}
conf_a 150 >"$SCRATCH/a.conf"
# Strict reverse-path filtering, which a vmac's rp_filter 0 cannot lift
# alone: tandem lowers all.rp_filter as keepalived does.
ip netns exec "$A" sysctl -qw net.ipv4.conf.all.rp_filter=1
cat >"$SCRATCH/b.conf" <<'EOF'
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    use_vmac
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/24
    }
}
EOF

# until SECONDS WHAT COMMAND...: poll COMMAND every 0.2 s.
until_() {
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "timed out waiting for: $what"
    sleep 0.2
  done
}
# (No `ip ... | grep -q`: grep's early exit would fail the pipe, pipefail.)
has_addr() { [[ "$(ip -n "$1" addr show dev "$2" 2>/dev/null)" == *" $3/"* ]]; }
no_addr() { ! has_addr "$@"; }
no_link() { ! ip -n "$1" link show "$2" >/dev/null 2>&1; }
conf() { ip netns exec "$1" cat "/proc/sys/net/ipv4/conf/$2/$3"; }
expect_conf() {
  local got
  got=$(conf "$1" "$2" "$3")
  [ "$got" = "$4" ] || fail "$1: net.ipv4.conf.$2.$3 is $got, not $4"
}

start_tandem() {
  ip netns exec "$A" tandem run -f "$SCRATCH/a.conf" >>"$SCRATCH/tandem.log" 2>&1 &
  TANDEM=$!
  track_pid "$TANDEM"
}
stop_tandem() {
  kill -TERM "$TANDEM"
  wait "$TANDEM" || { tail -20 "$SCRATCH/tandem.log" >&2; fail "tandem run did not exit cleanly"; }
}
all_vips_at_a() {
  has_addr "$A" vrrp.51 192.0.2.10 && has_addr "$A" vm52 192.0.2.20 &&
    has_addr "$A" ipv53 198.51.100.30 && has_addr "$A" vrrp.61 2001:db8::61
}

# ---- 1. tandem alone ---------------------------------------------------------
ip netns exec "$C" tcpdump -Z root -i pa -e -n -U -w "$SCRATCH/pa.pcap" 2>/dev/null &
CAP1=$!
track_pid "$CAP1"
ip netns exec "$C" tcpdump -Z root -i c1 -e -n -U -w "$SCRATCH/c1.pcap" 2>/dev/null &
CAP2=$!
track_pid "$CAP2"
sleep 1
start_tandem
until_ 30 "tandem holds every VIP on its vmac" all_vips_at_a
note "tandem is master of VI_1, VI_2, VI_3, VI_6"
# Creating a vmac (down, then up) is no link failure for its instance.
if grep -E "is down|FAULT" "$SCRATCH/tandem.log"; then
  fail "an instance saw its new vmac as a failed link"
fi

# What keepalived creates: a private macvlan with the RFC 5798 MAC (IPv4
# 00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID), an l2 ipvlan.
link51=$(ip -n "$A" -d link show vrrp.51)
grep -q "vrrp.51@eth0" <<<"$link51" || fail "vrrp.51 is not on eth0: $link51"
grep -q "link/ether 00:00:5e:00:01:33 " <<<"$link51" || fail "vrrp.51's MAC: $link51"
grep -q "macvlan mode private" <<<"$link51" || fail "vrrp.51 is not a private macvlan: $link51"
[[ "$(ip -n "$A" -d link show vrrp.61)" == *"link/ether 00:00:5e:00:02:3d "* ]] || fail "vrrp.61's MAC is not 00:00:5e:00:02:3d"
[[ "$(ip -n "$A" -d link show vm52)" == *"link/ether 00:00:5e:00:01:34 "* ]] || fail "vm52's MAC is not 00:00:5e:00:01:34"
link53=$(ip -n "$A" -d link show ipv53)
grep -q "ipvlan  *mode l2 private" <<<"$link53" || fail "ipv53 is not an l2 private ipvlan: $link53"
has_addr "$A" ipv53 198.51.100.53 ||
  fail "ipv53 has not its address 198.51.100.53: $(ip -n "$A" addr show dev ipv53; grep -i ipv53 "$SCRATCH/tandem.log")"
# The IPv6 macvlan sends from the base's link-local, which it carries; the
# kernel gave it no link-local of its own (addr_gen_mode none).
has_addr "$A" vrrp.61 fe80::a || fail "vrrp.61 lacks the link-local source fe80::a"
[ "$(ip -n "$A" -6 addr show dev vrrp.61 scope link | grep -c inet6)" = 1 ] ||
  fail "vrrp.61 has a link-local address of its own: $(ip -n "$A" -6 addr show dev vrrp.61)"
no_addr "$A" eth0 192.0.2.10 || fail "the VIP is on the base eth0 too"
for s in arp_ignore:1 accept_local:1 rp_filter:0 promote_secondaries:1; do
  expect_conf "$A" vrrp.51 "${s%%:*}" "${s#*:}"
done
expect_conf "$A" vrrp.61 arp_ignore 1
# IPv6 off on the IPv4 instances' links, on for the IPv6 one.
for want in vrrp.51:1 vm52:1 ipv53:1 vrrp.61:0; do
  got=$(ip netns exec "$A" cat "/proc/sys/net/ipv6/conf/${want%%:*}/disable_ipv6")
  [ "$got" = "${want#*:}" ] || fail "${want%%:*}: disable_ipv6 is $got, not ${want#*:}"
done
expect_conf "$A" eth0 arp_ignore 1
expect_conf "$A" eth0 arp_filter 1
expect_conf "$A" all rp_filter 0
expect_conf "$A" default rp_filter 1
expect_conf "$A" eth0 rp_filter 1
expect_conf "$A" eth1 rp_filter 1
note "links, addresses and sysctls as keepalived sets them (all.rp_filter 1 -> 0, the others raised to 1)"

# The client asks for the VIPs' MACs (ARP only: a ping's reply to a VIP
# in the base's subnet may leave by the base, whose ARP request then names
# the VIP, with keepalived as with tandem: the kernel routes it).
# arp_reply NS IFACE IP: the MAC in the first answer to an ARP request.
arp_reply() {
  ip netns exec "$1" arping -f -c 2 -w 3 -I "$2" "$3" 2>/dev/null |
    sed -n 's/.*reply from [0-9.]* \[\([0-9a-f:]*\)\].*/\1/p' | head -1 || true
}
for want in 192.0.2.10:00:00:5e:00:01:33 192.0.2.20:00:00:5e:00:01:34; do
  vip=${want%%:*}
  got=$(arp_reply "$C" br0 "$vip")
  [ "$got" = "${want#*:}" ] || fail "ARP for $vip was answered by [$got], not the virtual MAC ${want#*:}"
done
got=$(arp_reply "$C" c1 198.51.100.30)
[ "$got" = "$mac_a1" ] || fail "ARP for 198.51.100.30 was answered by [$got], not eth1's MAC $mac_a1 (ipvlan)"
ip netns exec "$C" ping -c 1 -W 3 192.0.2.10 >/dev/null || fail "the client cannot reach 192.0.2.10"
# (No ping to the ipvlan's VIP: keepalived sets no rp_filter on an ipvlan,
# and with the strict filtering above its replies' reverse path is eth1.)
sleep 1.5
kill -INT "$CAP1" "$CAP2"
wait "$CAP1" "$CAP2" 2>/dev/null || true
tcpdump -r "$SCRATCH/pa.pcap" -e -n 2>/dev/null >"$SCRATCH/pa.txt"
tcpdump -r "$SCRATCH/c1.pcap" -e -n 2>/dev/null >"$SCRATCH/c1.txt"
# frames FILE SRC_MAC PATTERN: how many frames from SRC_MAC match PATTERN.
frames() { grep -F "$2 >" "$1" | grep -cE "$3" || true; }
[ "$(frames "$SCRATCH/pa.txt" 00:00:5e:00:01:33 'VRRPv2, Advertisement, vrid 51, prio 150')" -ge 2 ] ||
  fail "no VRRP adverts for vrid 51 from 00:00:5e:00:01:33; captured: $(grep -c . "$SCRATCH/pa.txt") frames"
[ "$(frames "$SCRATCH/pa.txt" "$mac_a0" 'VRRPv2, Advertisement, vrid 52')" -ge 2 ] ||
  fail "vmac_xmit_base: no adverts for vrid 52 from the base's MAC $mac_a0"
[ "$(frames "$SCRATCH/pa.txt" 00:00:5e:00:01:34 'VRRP')" = 0 ] ||
  fail "vmac_xmit_base: vrid 52's adverts left from its vmac"
[ "$(frames "$SCRATCH/pa.txt" 00:00:5e:00:02:3d 'fe80::a > ff02::12.*VRRPv3, Advertisement, vrid 61')" -ge 2 ] ||
  fail "no IPv6 adverts for vrid 61 from 00:00:5e:00:02:3d"
[ "$(frames "$SCRATCH/pa.txt" 00:00:5e:00:01:33 'Request who-has 192\.0\.2\.10 .*tell 192\.0\.2\.10,')" -ge 1 ] ||
  fail "no gratuitous ARP for 192.0.2.10 from 00:00:5e:00:01:33"
[ "$(frames "$SCRATCH/pa.txt" 00:00:5e:00:01:33 'Reply 192\.0\.2\.10 is-at 00:00:5e:00:01:33')" -ge 1 ] ||
  fail "no ARP reply for 192.0.2.10 with 00:00:5e:00:01:33"
[ "$(frames "$SCRATCH/pa.txt" "$mac_a0" 'Reply 192\.0\.2\.(10|20) ')" = 0 ] ||
  fail "the base eth0 answered ARP for a VIP with its own MAC"
[ "$(frames "$SCRATCH/pa.txt" 00:00:5e:00:01:34 'Request who-has 192\.0\.2\.20 .*tell 192\.0\.2\.20,')" -ge 1 ] ||
  fail "no ARP for 192.0.2.20 from its vmac 00:00:5e:00:01:34 (vmac_xmit_base)"
[ "$(frames "$SCRATCH/pa.txt" 00:00:5e:00:02:3d 'neighbor advertisement.*tgt is 2001:db8::61')" -ge 1 ] ||
  fail "no unsolicited NA for 2001:db8::61 from 00:00:5e:00:02:3d"
[ "$(frames "$SCRATCH/pa.txt" "$mac_a0" 'Request who-has 192\.0\.2\.(10|20) .*tell 192\.0\.2\.(10|20),')" = 0 ] ||
  fail "a gratuitous ARP for a VIP left from the base eth0's MAC"
[ "$(frames "$SCRATCH/c1.txt" "$mac_a1" '198.51.100.53 > 224.0.0.18: VRRPv2, Advertisement, vrid 53')" -ge 2 ] ||
  fail "ipvlan: no adverts for vrid 53 from 198.51.100.53 with eth1's MAC"
note "captured: adverts, GARP/NA and ARP replies carry the virtual MAC (vmac_xmit_base: adverts from the base)"

# ---- 2. keepalived joins as backup -------------------------------------------
ip netns exec "$B" keepalived -n -l -P -f "$SCRATCH/b.conf" \
  -p "$SCRATCH/ka.pid" -r "$SCRATCH/ka-vrrp.pid" >"$SCRATCH/keepalived.log" 2>&1 &
KA=$!
track_pid "$KA"
until_ 20 "keepalived enters BACKUP" grep -q "Entering BACKUP STATE" "$SCRATCH/keepalived.log"
[[ "$(ip -n "$B" -d link show vrrp.51)" == *"macvlan mode private"* ]] || fail "keepalived made no vmac"
sleep 4
has_addr "$A" vrrp.51 192.0.2.10 || fail "tandem lost VI_1's VIP to a lower priority"
no_addr "$B" vrrp.51 192.0.2.10 || fail "two masters: keepalived holds 192.0.2.10 too"
grep -q "Entering MASTER STATE" "$SCRATCH/keepalived.log" && fail "keepalived became master under tandem's 150"
note "one master: tandem (150), keepalived backup (100)"

# ---- 3. tandem stops: keepalived takes over; tandem's links are gone --------
stop_tandem
until_ 10 "keepalived holds 192.0.2.10" has_addr "$B" vrrp.51 192.0.2.10
for l in vrrp.51 vm52 ipv53 vrrp.61; do
  no_link "$A" "$l" || fail "$l is still there after tandem stopped"
done
expect_conf "$A" eth0 arp_ignore 0
expect_conf "$A" eth0 arp_filter 0
expect_conf "$A" all rp_filter 1
expect_conf "$A" default rp_filter 0
expect_conf "$A" eth0 rp_filter 0
note "failover to keepalived; every vmac removed, eth0's arp_ignore/arp_filter and rp_filter back"

# ---- 4. tandem again, below keepalived: it hears keepalived's adverts on
# its vmac and stays backup; a reload raises it above (it preempts, in
# place) and drops VI_2 with its vmac.
conf_a 50 >"$SCRATCH/a.conf"
start_tandem
others_at_a() {
  has_addr "$A" vm52 192.0.2.20 && has_addr "$A" ipv53 198.51.100.30 && has_addr "$A" vrrp.61 2001:db8::61
}
until_ 30 "tandem holds VI_2, VI_3 and VI_6 again" others_at_a
sleep 5
no_addr "$A" vrrp.51 192.0.2.10 || fail "tandem (50) took 192.0.2.10 from keepalived (100): it did not hear its adverts on vrrp.51"
has_addr "$B" vrrp.51 192.0.2.10 || fail "keepalived lost 192.0.2.10 to a lower priority"
note "tandem (50) backup under keepalived (100): adverts received on vrrp.51"
# A vmac deleted by hand: its instance fails; the reload makes it again.
ip -n "$A" link del vrrp.61
until_ 10 "VI_6 enters FAULT" grep -q "VI_6) Entering FAULT" "$SCRATCH/tandem.log"
conf_a 150 without-vi2 >"$SCRATCH/a.conf"
kill -HUP "$TANDEM"
until_ 20 "the reload removes vm52" no_link "$A" vm52
until_ 20 "the reload makes vrrp.61 again, VI_6 master on it" has_addr "$A" vrrp.61 2001:db8::61
until_ 20 "tandem (now 150) preempts keepalived" has_addr "$A" vrrp.51 192.0.2.10
until_ 10 "keepalived gives 192.0.2.10 up" no_addr "$B" vrrp.51 192.0.2.10
has_addr "$A" ipv53 198.51.100.30 || fail "the reload disturbed VI_3"
note "reload: priority 150 preempts in place; without VI_2, vm52 removed; vrrp.61, deleted by hand, made again"
stop_tandem
until_ 10 "keepalived holds 192.0.2.10 again" has_addr "$B" vrrp.51 192.0.2.10
for l in vrrp.51 ipv53 vrrp.61; do
  no_link "$A" "$l" || fail "$l is still there after the second stop"
done
stop_pid "$KA"
no_link "$B" vrrp.51 || fail "keepalived left its vmac behind"
note "ok"
