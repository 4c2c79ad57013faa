#!/usr/bin/env bash
# Regenerates the keepalived test vectors of tests/vrrp_packet.rs: runs
# Debian's keepalived in a private network namespace on a veth pair,
# captures its adverts with tcpdump on the peer end, stops it (so the
# priority-0 adverts are captured too) and prints one hex line per
# (VRID, priority). Needs root; touches nothing outside its namespaces.
# Not part of the test suite: the vectors are pasted into the Rust test.
set -euo pipefail
command -v keepalived >/dev/null || { echo "keepalived not installed"; exit 1; }
tag="tdm-vcap-$$"
A="$tag-a"; B="$tag-b"
dir="$(mktemp -d)"
ka_pid=""; tcpdump_pid=""
cleanup() {
  [ -n "$ka_pid" ] && kill "$ka_pid" 2>/dev/null || true
  [ -n "$tcpdump_pid" ] && kill "$tcpdump_pid" 2>/dev/null || true
  sleep 0.5
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# `v3_checksum_as_v2` (VRRPv3 over IPv4 checksummed without the pseudo-
# header) arrived in keepalived 2.2.8; Debian's 2.2.7 rejects it as
# "Unknown keyword". Probe with `keepalived -t` (in a throwaway network
# namespace) and, where it is known, add an instance (VRID 55) that uses it,
# so its adverts can replace the derived V3_V4_AS_V2 vector.
cat > "$dir/probe.conf" <<'CONF'
vrrp_instance P {
    interface veth0
    virtual_router_id 55
    version 3
    v3_checksum_as_v2
    virtual_ipaddress {
        192.0.2.105/24
    }
}
CONF
# (-t exits non-zero here anyway: veth0 does not exist in the probe's
# namespace; only the keyword message matters.)
probe_out="$(unshare -n keepalived -t -l -f "$dir/probe.conf" 2>&1 || true)"
as_v2_known=yes
case "$probe_out" in
  *"Unknown keyword 'v3_checksum_as_v2'"*) as_v2_known=no ;;
esac
echo "keepalived $(keepalived --version 2>&1 | head -1): v3_checksum_as_v2 known: $as_v2_known" >&2

cat > "$dir/ka.conf" <<'CONF'
global_defs {
    router_id tdmcap
}
vrrp_instance V2PASS {
    interface veth0
    virtual_router_id 51
    priority 150
    advert_int 1
    version 2
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24
    }
}
vrrp_instance V3V4 {
    interface veth0
    virtual_router_id 52
    priority 120
    advert_int 0.5
    version 3
    virtual_ipaddress {
        192.0.2.102/24
    }
}
vrrp_instance V3V4B {
    interface veth0
    virtual_router_id 53
    priority 100
    advert_int 1
    version 3
    virtual_ipaddress {
        192.0.2.103/24
    }
}
vrrp_instance V3V6 {
    interface veth0
    virtual_router_id 54
    priority 200
    advert_int 1
    version 3
    virtual_ipaddress {
        2001:db8::100/64
        2001:db8::101/64
    }
}
CONF
if [ "$as_v2_known" = yes ]; then
  cat >> "$dir/ka.conf" <<'CONF'
vrrp_instance V3V4AS2 {
    interface veth0
    virtual_router_id 55
    priority 100
    advert_int 1
    version 3
    v3_checksum_as_v2
    virtual_ipaddress {
        192.0.2.105/24
    }
}
CONF
fi

ip netns add "$A"; ip netns add "$B"
ip link add tdmcap0 netns "$A" type veth peer name tdmcap1 netns "$B"
ip -n "$A" link set tdmcap0 name veth0
ip -n "$B" link set tdmcap1 name veth1
# Fixed MACs give a fixed IPv6 link-local source (fe80::ff:fe00:1).
ip -n "$A" link set veth0 address 02:00:00:00:00:01
ip -n "$B" link set veth1 address 02:00:00:00:00:02
ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip -n "$A" addr add 192.0.2.1/24 dev veth0
ip -n "$B" addr add 192.0.2.2/24 dev veth1
ip -n "$A" link set veth0 up; ip -n "$B" link set veth1 up
sleep 3 # IPv6 DAD on the link-local address

ip netns exec "$B" tcpdump -i veth1 -U -w "$dir/cap.pcap" 'ip proto 112 or ip6 proto 112' 2>/dev/null &
tcpdump_pid=$!
sleep 1
ip netns exec "$A" keepalived -n -l -D -P -f "$dir/ka.conf" -p "$dir/ka.pid" \
  -r "$dir/vrrp.pid" -c "$dir/chk.pid" >"$dir/ka.log" 2>&1 &
ka_pid=$!
sleep 7
kill "$ka_pid"; wait "$ka_pid" || true; ka_pid=""
sleep 1
kill "$tcpdump_pid"; wait "$tcpdump_pid" || true; tcpdump_pid=""

/usr/bin/python3 - "$dir/cap.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, seen = 24, set()
while off + 16 <= len(d):
    _, _, caplen, _ = struct.unpack('<IIII', d[off:off + 16]); off += 16
    frame = d[off:off + caplen]; off += caplen
    ethertype, ip = frame[12:14].hex(), frame[14:]
    vrrp = ip[(ip[0] & 15) * 4:] if ethertype == '0800' else ip[40:]
    key = (ethertype, vrrp[1], vrrp[2])
    if key not in seen:
        seen.add(key)
        fam = 'IPv4' if ethertype == '0800' else 'IPv6'
        print(f'{fam} vrid {vrrp[1]} priority {vrrp[2]}: {ip.hex()}')
PY
