#!/usr/bin/python3
"""Crafts VRRP adverts — valid, malformed or spoofed — and sends them as raw
Ethernet frames on one interface of the namespace it runs in.

The lab's hostile-packet tests run it inside a namespace on the lab's LAN
(`ip netns exec tdm-...-client netns-lab/inject.py ...`); it never runs in
the root namespace. It writes whole frames on an AF_PACKET socket, so every
byte is ours: the IP TTL, the IP source (spoofed), the checksums.

    inject.py --iface eth0 --kind ttl64 --src 192.0.2.61 --vrid 51 \
              --prio 255 --vip 192.0.2.2 --auth-pass tandem1 --count 10

Kinds (each, apart from `valid`, is something a receiver must drop):
  valid      a correct advert (the positive control: it must be obeyed)
  ttl64      IP TTL 64 instead of 255 (RFC 3768/5798 7.1: from off-link)
  badsum     VRRP checksum wrong
  truncated  IP datagram ends inside the VRRP header
  shortaddr  header says one address, the address is missing
  badauth    VRRPv2 PASS authentication with a wrong password
  badvrid    a VRID nobody here is configured for
  badversion VRRP version 1
  badtype    VRRP type 2 (not ADVERTISEMENT)
"""

import argparse
import ipaddress
import socket
import struct
import sys
import time

KINDS = [
    "valid", "ttl64", "badsum", "truncated", "shortaddr", "badauth",
    "badvrid", "badversion", "badtype",
]


def csum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def vrrp_message(a, src: bytes, dst: bytes) -> bytes:
    version = 1 if a.kind == "badversion" else a.version
    vtype = 2 if a.kind == "badtype" else 1
    vrid = a.bad_vrid if a.kind == "badvrid" else a.vrid
    addrs = b"".join(ipaddress.IPv4Address(v).packed for v in a.vip)
    count = len(a.vip)
    if a.version == 2:
        auth_type = 1 if a.auth_pass is not None else 0
        password = a.auth_pass or ""
        if a.kind == "badauth":
            password = "wrong!!!"
        auth = password.encode()[:8].ljust(8, b"\0")
        head = struct.pack("!BBBBBBH", (version << 4) | vtype, vrid, a.prio, count,
                           auth_type, int(round(a.advert_int)), 0)
        body = addrs + auth
        msg = head + body
        c = csum(msg)
    else:
        cs = int(round(a.advert_int * 100)) & 0x0FFF
        head = struct.pack("!BBBBHH", (version << 4) | vtype, vrid, a.prio, count, cs, 0)
        msg = head + addrs
        pseudo = src + dst + struct.pack("!BBH", 0, 112, len(msg))
        c = csum(pseudo + msg)
    if a.kind == "badsum":
        c ^= 0x5A5A
    msg = msg[:6] + struct.pack("!H", c) + msg[8:]
    if a.kind == "truncated":
        msg = msg[:6]
    elif a.kind == "shortaddr":
        msg = msg[:8]
    return msg


def ipv4_packet(a) -> bytes:
    src = ipaddress.IPv4Address(a.src).packed
    dst = ipaddress.IPv4Address(a.dst).packed
    payload = vrrp_message(a, src, dst)
    ttl = 64 if a.kind == "ttl64" else 255
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, 112, 0,
                      src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iface", default="eth0")
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--src", required=True, help="IP source address (spoofed at will)")
    p.add_argument("--dst", default="224.0.0.18")
    p.add_argument("--dst-mac", help="for a unicast --dst (multicast: derived)")
    p.add_argument("--version", type=int, choices=[2, 3], default=2)
    p.add_argument("--vrid", type=int, default=51)
    p.add_argument("--bad-vrid", type=int, default=99)
    p.add_argument("--prio", type=int, default=255)
    p.add_argument("--advert-int", type=float, default=1.0, help="seconds")
    p.add_argument("--auth-pass", help="VRRPv2 PASS secret (absent: no authentication)")
    p.add_argument("--vip", action="append", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.05, help="seconds between packets")
    a = p.parse_args()

    dst = ipaddress.IPv4Address(a.dst)
    if dst.is_multicast:
        d = dst.packed
        dst_mac = bytes([0x01, 0x00, 0x5E, d[1] & 0x7F, d[2], d[3]])
    elif a.dst_mac:
        dst_mac = mac_bytes(a.dst_mac)
    else:
        print("inject: a unicast --dst needs --dst-mac", file=sys.stderr)
        return 2
    with open(f"/sys/class/net/{a.iface}/address") as f:
        src_mac = mac_bytes(f.read().strip())

    frame = dst_mac + src_mac + struct.pack("!H", 0x0800) + ipv4_packet(a)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    for i in range(a.count):
        s.send(frame)
        if i + 1 < a.count:
            time.sleep(a.interval)
    print(f"inject: sent {a.count} {a.kind} advert(s) from {a.src} to {a.dst} on {a.iface}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
