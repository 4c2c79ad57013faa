//! The VRRP codec against literal bytes: adverts captured from Debian's
//! keepalived 2.2.7 on a veth pair (see `tests/vrrp_capture_keepalived.sh`,
//! which regenerates them), and hand-made malformed packets, one per drop
//! reason of RFC 5798 §7.1.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use tandem::vrrp::packet::{
    self, Auth, CodecOptions, Packet, RxError, TxError, Version, VrrpRepr, decode_ipv4,
    decode_ipv6, encode_ipv4,
};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0);
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// keepalived 2.2.7, `version 2`, `auth_type PASS`, `auth_pass s3cret`,
/// VRID 51, priority 150, advert_int 1, VIPs 192.0.2.100 and .101, sent
/// from 192.0.2.1 to 224.0.0.18 (whole IPv4 datagram as a raw socket
/// delivers it).
const KA_V2_PASS: &str =
    "45c0002c00010000ff70188dc0000201e000001221339602010186e4c0000264c00002657333637265740000";
/// The same instance on `SIGTERM`: priority 0.
const KA_V2_PASS_PRIO0: &str =
    "45c0002c00050000ff701889c0000201e00000122133000201011ce5c0000264c00002657333637265740000";
/// keepalived 2.2.7, `version 3` over IPv4, VRID 52, priority 120,
/// advert_int 0.5 (50 cs), VIP 192.0.2.102: checksum with the IPv4
/// pseudo-header (keepalived's default).
const KA_V3_V4: &str = "45c0002000010000ff701899c0000201e0000012313478010032f1a0c0000266";
const KA_V3_V4_PRIO0: &str = "45c00020000c0000ff70188ec0000201e000001231340001003269a1c0000266";
/// keepalived 2.2.7, `version 3`, VRID 53, priority 100, advert_int 1,
/// VIP 192.0.2.103, pseudo-header checksum 0x056d.
const KA_V3_V4_VRID53: &str = "45c0002000010000ff701899c0000201e0000012313564010064056dc0000267";
/// NOT captured: no keepalived on this machine can send it. The
/// `v3_checksum_as_v2` keyword (checksum over the VRRP message alone, no
/// IPv4 pseudo-header; what Cisco sends) arrived in keepalived 2.2.8
/// (2023-05-31 release notes); Debian's 2.2.7 rejects it as "Unknown
/// keyword" both in `global_defs` and in a `vrrp_instance` (checked with
/// `unshare -n keepalived -t -f <conf>`), so the capture script does not
/// set it. The vector is [`KA_V3_V4_VRID53`] with its two checksum bytes
/// (IPv4 offset 26..28) replaced by the RFC 1071 sum of the 12-byte VRRP
/// message with the checksum field zeroed:
/// 0x3135 + 0x6401 + 0x0064 + 0xc000 + 0x0267 = 0x15801 → 0x5802 → !0xa7fd.
/// `v3_checksum_as_v2_vector_is_derived_from_the_capture` recomputes both
/// checksums with pnet_packet's independent implementation.
const V3_V4_AS_V2: &str = "45c0002000010000ff701899c0000201e0000012313564010064a7fdc0000267";
/// keepalived 2.2.7, `version 3` over IPv6, VRID 54, priority 200,
/// advert_int 1, VIPs 2001:db8::100 and ::101. The whole IPv6 packet as
/// captured; an IPv6 raw socket delivers only the payload (from byte 40).
const KA_V3_V6: &str = "6c0ddba6002870fffe80000000000000000000fffe000001ff0200000000000000000000000000123136c8020064abc020010db800000000000000000000010020010db8000000000000000000000101";
const KA_V3_V6_PRIO0: &str = "6c0ddba6002870fffe80000000000000000000fffe000001ff02000000000000000000000000001231360002006473c120010db800000000000000000000010020010db8000000000000000000000101";

const KA_SRC4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const KA_SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1);

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().unwrap())
}

const AS_V2: CodecOptions = CodecOptions {
    v3_checksum_as_v2: true,
    old_unicast_checksum: None,
};

/// Recomputes the IPv4 header checksum after a test edited the header.
fn fix_ip_checksum(d: &mut [u8]) {
    let ihl = usize::from(d[0] & 0x0f) * 4;
    d[10] = 0;
    d[11] = 0;
    let mut acc: u32 = 0;
    for c in d[..ihl].chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    let s = !(acc as u16);
    d[10..12].copy_from_slice(&s.to_be_bytes());
}

/// Recomputes the VRRP checksum (v2 / v3 without pseudo-header) of the
/// message starting at `at`.
fn fix_vrrp_checksum(d: &mut [u8], at: usize, end: usize) {
    d[at + 6] = 0;
    d[at + 7] = 0;
    let s = packet::checksum(
        2,
        &d[at..end],
        v4(0, 0, 0, 0),
        v4(0, 0, 0, 0),
        CodecOptions::default(),
    );
    d[at + 6..at + 8].copy_from_slice(&s.to_be_bytes());
}

#[test]
fn keepalived_v2_pass_advert_decodes() {
    let rx = decode_ipv4(&hex(KA_V2_PASS), CodecOptions::default()).unwrap();
    assert_eq!(rx.envelope.src, IpAddr::V4(KA_SRC4));
    assert_eq!(rx.envelope.dst, IpAddr::V4(packet::MULTICAST_V4));
    assert_eq!(rx.envelope.ttl, 255);
    assert_eq!(
        rx.repr,
        VrrpRepr {
            version: Version::V2,
            vrid: 51,
            priority: 150,
            max_adver_int: 100,
            auth: Auth::pass(b"s3cret"),
            addresses: vec![v4(192, 0, 2, 100), v4(192, 0, 2, 101)],
        }
    );
    let zero = decode_ipv4(&hex(KA_V2_PASS_PRIO0), CodecOptions::default()).unwrap();
    assert_eq!(zero.repr.priority, 0);
}

#[test]
fn v2_pass_advert_encodes_byte_for_byte_like_keepalived() {
    let repr = decode_ipv4(&hex(KA_V2_PASS), CodecOptions::default())
        .unwrap()
        .repr;
    // keepalived numbers IP ids from 1 and sets TOS 0xc0, TTL 255, no DF.
    let out = encode_ipv4(
        &repr,
        KA_SRC4,
        packet::MULTICAST_V4,
        1,
        CodecOptions::default(),
    )
    .unwrap();
    assert_eq!(out, hex(KA_V2_PASS));
    let zero = VrrpRepr {
        priority: 0,
        ..repr
    };
    let out = encode_ipv4(
        &zero,
        KA_SRC4,
        packet::MULTICAST_V4,
        5,
        CodecOptions::default(),
    )
    .unwrap();
    assert_eq!(out, hex(KA_V2_PASS_PRIO0));
}

#[test]
fn keepalived_v3_ipv4_advert_with_pseudo_header_checksum() {
    let bytes = hex(KA_V3_V4);
    let rx = decode_ipv4(&bytes, CodecOptions::default()).unwrap();
    assert_eq!(
        rx.repr,
        VrrpRepr {
            version: Version::V3,
            vrid: 52,
            priority: 120,
            max_adver_int: 50,
            auth: Auth::None,
            addresses: vec![v4(192, 0, 2, 102)],
        }
    );
    let out = encode_ipv4(
        &rx.repr,
        KA_SRC4,
        packet::MULTICAST_V4,
        1,
        CodecOptions::default(),
    )
    .unwrap();
    assert_eq!(out, bytes);
    let zero = VrrpRepr {
        priority: 0,
        ..rx.repr.clone()
    };
    let out = encode_ipv4(
        &zero,
        KA_SRC4,
        packet::MULTICAST_V4,
        12,
        CodecOptions::default(),
    )
    .unwrap();
    assert_eq!(out, hex(KA_V3_V4_PRIO0));
    // The same bytes under v3_checksum_as_v2 are a checksum error.
    assert!(matches!(
        decode_ipv4(&bytes, AS_V2),
        Err(RxError::Checksum { .. })
    ));
}

#[test]
fn keepalived_v3_ipv4_advert_with_checksum_as_v2() {
    let bytes = hex(V3_V4_AS_V2);
    let rx = decode_ipv4(&bytes, AS_V2).unwrap();
    assert_eq!(rx.repr.vrid, 53);
    assert_eq!(rx.repr.priority, 100);
    assert_eq!(rx.repr.max_adver_int, 100);
    assert_eq!(rx.repr.addresses, vec![v4(192, 0, 2, 103)]);
    let out = encode_ipv4(&rx.repr, KA_SRC4, packet::MULTICAST_V4, 1, AS_V2).unwrap();
    assert_eq!(out, bytes);
    // Without the option, the pseudo-header is expected: mismatch.
    let err = decode_ipv4(&bytes, CodecOptions::default()).unwrap_err();
    assert_eq!(
        err,
        RxError::Checksum {
            carried: 0xa7fd,
            computed: 0x056d
        }
    );
    // And keepalived 2.2.7's bytes for the same advert are the other layout.
    let ka = hex(KA_V3_V4_VRID53);
    assert_eq!(
        decode_ipv4(&ka, CodecOptions::default()).unwrap().repr,
        rx.repr
    );
    assert_eq!(
        decode_ipv4(&ka, AS_V2),
        Err(RxError::Checksum {
            carried: 0x056d,
            computed: 0xa7fd
        })
    );
}

#[test]
fn keepalived_v3_ipv6_advert_with_pseudo_header() {
    let pkt = hex(KA_V3_V6);
    let payload = &pkt[40..];
    let rx = decode_ipv6(
        KA_SRC6,
        packet::MULTICAST_V6,
        255,
        payload,
        CodecOptions::default(),
    )
    .unwrap();
    assert_eq!(
        rx.repr,
        VrrpRepr {
            version: Version::V3,
            vrid: 54,
            priority: 200,
            max_adver_int: 100,
            auth: Auth::None,
            addresses: vec![v6("2001:db8::100"), v6("2001:db8::101")],
        }
    );
    let out = rx
        .repr
        .to_bytes(
            IpAddr::V6(KA_SRC6),
            IpAddr::V6(packet::MULTICAST_V6),
            CodecOptions::default(),
        )
        .unwrap();
    assert_eq!(out, payload);
    let zero_pkt = hex(KA_V3_V6_PRIO0);
    let zero = decode_ipv6(
        KA_SRC6,
        packet::MULTICAST_V6,
        255,
        &zero_pkt[40..],
        CodecOptions::default(),
    )
    .unwrap();
    assert_eq!(zero.repr.priority, 0);
    // Another source address changes the pseudo-header: checksum error.
    let other: Ipv6Addr = "fe80::2".parse().unwrap();
    assert!(matches!(
        decode_ipv6(
            other,
            packet::MULTICAST_V6,
            255,
            payload,
            CodecOptions::default()
        ),
        Err(RxError::Checksum { .. })
    ));
    // v3_checksum_as_v2 concerns IPv4 only: IPv6 always has the pseudo-header.
    assert!(decode_ipv6(KA_SRC6, packet::MULTICAST_V6, 255, payload, AS_V2).is_ok());
}

#[test]
fn ipv4_header_length_comes_from_ihl() {
    // Insert a 4-byte IP option (router alert, 94 04 00 00) and set IHL 6.
    let orig = hex(KA_V2_PASS);
    let mut d = Vec::new();
    d.extend_from_slice(&orig[..20]);
    d.extend_from_slice(&[0x94, 0x04, 0x00, 0x00]);
    d.extend_from_slice(&orig[20..]);
    d[0] = 0x46;
    let total = d.len() as u16;
    d[2..4].copy_from_slice(&total.to_be_bytes());
    fix_ip_checksum(&mut d);
    let rx = decode_ipv4(&d, CodecOptions::default()).unwrap();
    assert_eq!(rx.repr.vrid, 51);
    assert_eq!(rx.repr.addresses.len(), 2);
}

#[test]
fn ethernet_padding_after_ip_total_length_is_ignored() {
    let mut d = hex(KA_V3_V4);
    d.extend_from_slice(&[0u8; 14]);
    assert!(decode_ipv4(&d, CodecOptions::default()).is_ok());
}

#[test]
fn ttl_below_255_is_dropped() {
    let mut d = hex(KA_V2_PASS);
    d[8] = 254;
    fix_ip_checksum(&mut d);
    assert_eq!(
        decode_ipv4(&d, CodecOptions::default()),
        Err(RxError::Ttl(254))
    );
    let pkt = hex(KA_V3_V6);
    assert_eq!(
        decode_ipv6(
            KA_SRC6,
            packet::MULTICAST_V6,
            1,
            &pkt[40..],
            CodecOptions::default()
        ),
        Err(RxError::Ttl(1))
    );
}

#[test]
fn unicast_advert_with_lower_ttl_is_accepted() {
    // keepalived's unicast_peer with unicast_ttl: adverts may cross routers.
    let mut d = hex(KA_V2_PASS);
    d[8] = 64;
    d[16..20].copy_from_slice(&[192, 0, 2, 2]);
    fix_ip_checksum(&mut d);
    // v2 checksum does not cover the IP header: still valid.
    let rx = decode_ipv4(&d, CodecOptions::default()).unwrap();
    assert_eq!(rx.envelope.ttl, 64);
}

#[test]
fn each_malformation_has_its_own_error() {
    let base = hex(KA_V2_PASS);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut d = base.clone();
        f(&mut d);
        decode_ipv4(&d, CodecOptions::default())
    };
    // Version 1 in the VRRP header (checksum fixed so only the version is wrong).
    assert_eq!(
        edit(&|d| {
            d[20] = 0x11;
            fix_vrrp_checksum(d, 20, 44);
        }),
        Err(RxError::Version(1))
    );
    assert_eq!(
        edit(&|d| {
            d[20] = 0x22;
            fix_vrrp_checksum(d, 20, 44);
        }),
        Err(RxError::Type(2))
    );
    assert_eq!(
        edit(&|d| {
            d[21] = 0;
            fix_vrrp_checksum(d, 20, 44);
        }),
        Err(RxError::Vrid(0))
    );
    // Count says 3 addresses, the message holds 2.
    assert_eq!(
        edit(&|d| {
            d[23] = 3;
            fix_vrrp_checksum(d, 20, 44);
        }),
        Err(RxError::Length {
            len: 24,
            count: 3,
            expected: 28
        })
    );
    assert!(matches!(
        edit(&|d| d[43] ^= 1),
        Err(RxError::Checksum { .. })
    ));
    assert_eq!(
        edit(&|d| {
            d[24] = 3; // no such auth type (2 is keepalived's AH)
            fix_vrrp_checksum(d, 20, 44);
        }),
        Err(RxError::Authentication("unsupported auth type"))
    );
    assert_eq!(
        edit(&|d| {
            d[9] = 6;
            fix_ip_checksum(d);
        }),
        Err(RxError::Protocol(6))
    );
    assert_eq!(edit(&|d| d[15] ^= 1), Err(RxError::Ipv4Checksum));
    assert_eq!(
        edit(&|d| {
            d[0] = 0x44;
            fix_ip_checksum(d);
        }),
        Err(RxError::Ipv4Header("IHL below 5"))
    );
    assert_eq!(
        edit(&|d| d[0] = 0x65),
        Err(RxError::Ipv4Header("version is not 4"))
    );
    assert_eq!(
        edit(&|d| d.truncate(30)),
        Err(RxError::Truncated { len: 30, need: 44 })
    );
    assert_eq!(
        decode_ipv4(&base[..10], CodecOptions::default()),
        Err(RxError::Truncated { len: 10, need: 20 })
    );
    // A VRRPv2 message over IPv6 is a version error (RFC 5798 §5.1.2).
    let pkt = hex(KA_V3_V6);
    let mut p = pkt[40..].to_vec();
    p[0] = 0x21;
    assert_eq!(
        decode_ipv6(
            KA_SRC6,
            packet::MULTICAST_V6,
            255,
            &p,
            CodecOptions::default()
        ),
        Err(RxError::Version(2))
    );
    // IPv6 payload shorter than the VRRP header.
    assert_eq!(
        decode_ipv6(
            KA_SRC6,
            packet::MULTICAST_V6,
            255,
            &p[..5],
            CodecOptions::default()
        ),
        Err(RxError::Truncated { len: 5, need: 8 })
    );
}

#[test]
fn view_reads_fields_in_place() {
    let d = hex(KA_V3_V4);
    let p = Packet::new_checked(&d[20..]).unwrap();
    assert_eq!(p.version(), 3);
    assert_eq!(p.msg_type(), 1);
    assert_eq!(p.vrid(), 52);
    assert_eq!(p.priority(), 120);
    assert_eq!(p.count(), 1);
    assert_eq!(p.max_adver_int_v3(), 50);
    assert_eq!(p.checksum(), 0xf1a0);
    assert!(Packet::new_checked(&d[20..27]).is_err());
}

#[test]
fn emit_refuses_what_the_wire_cannot_carry() {
    let src = v4(192, 0, 2, 1);
    let dst = IpAddr::V4(packet::MULTICAST_V4);
    let mut r = VrrpRepr {
        version: Version::V2,
        vrid: 1,
        priority: 100,
        max_adver_int: 150,
        auth: Auth::None,
        addresses: vec![v4(192, 0, 2, 9)],
    };
    assert_eq!(
        r.to_bytes(src, dst, CodecOptions::default()),
        Err(TxError::Interval(150))
    );
    r.version = Version::V3;
    r.max_adver_int = 4096;
    assert_eq!(
        r.to_bytes(src, dst, CodecOptions::default()),
        Err(TxError::Interval(4096))
    );
    r.max_adver_int = 100;
    r.auth = Auth::pass(b"x");
    assert_eq!(
        r.to_bytes(src, dst, CodecOptions::default()),
        Err(TxError::V3Auth)
    );
    r.auth = Auth::None;
    r.addresses.push(v6("2001:db8::1"));
    assert_eq!(
        r.to_bytes(src, dst, CodecOptions::default()),
        Err(TxError::AddressFamily)
    );
    r.addresses = vec![v6("2001:db8::1")];
    r.version = Version::V2;
    assert_eq!(
        r.to_bytes(
            v6("fe80::1"),
            IpAddr::V6(packet::MULTICAST_V6),
            CodecOptions::default()
        ),
        Err(TxError::V2OverIpv6)
    );
    let mut small = [0u8; 4];
    r.version = Version::V3;
    assert!(matches!(
        r.emit(
            &mut small,
            v6("fe80::1"),
            IpAddr::V6(packet::MULTICAST_V6),
            CodecOptions::default()
        ),
        Err(TxError::Buffer { len: 4, need: 24 })
    ));
}

#[test]
fn auth_pass_truncates_to_eight_bytes_like_keepalived() {
    assert_eq!(Auth::pass(b"0123456789"), Auth::Pass(*b"01234567"));
    assert_eq!(
        Auth::pass(b"ab"),
        Auth::Pass([b'a', b'b', 0, 0, 0, 0, 0, 0])
    );
}

fn arb_repr() -> impl Strategy<Value = (VrrpRepr, IpAddr, IpAddr, bool)> {
    let v4s = prop::collection::vec(any::<[u8; 4]>(), 0..20);
    let v6s = prop::collection::vec(any::<[u8; 16]>(), 0..20);
    (
        any::<bool>(),
        any::<bool>(),
        1u8..=255,
        any::<u8>(),
        1u16..=4095,
        1u8..=255,
        any::<[u8; 8]>(),
        v4s,
        v6s,
        any::<bool>(),
    )
        .prop_map(
            |(ipv6, v2, vrid, priority, cs, secs, pass, a4, a6, as_v2)| {
                if ipv6 {
                    let addrs = a6.into_iter().map(|o| IpAddr::V6(o.into())).collect();
                    (
                        VrrpRepr {
                            version: Version::V3,
                            vrid,
                            priority,
                            max_adver_int: cs,
                            auth: Auth::None,
                            addresses: addrs,
                        },
                        v6("fe80::1"),
                        IpAddr::V6(packet::MULTICAST_V6),
                        as_v2,
                    )
                } else {
                    let addrs = a4.into_iter().map(|o| IpAddr::V4(o.into())).collect();
                    let (version, max_adver_int, auth) = if v2 {
                        (
                            Version::V2,
                            u16::from(secs) * 100,
                            if pass[0] & 1 == 1 {
                                Auth::Pass(pass)
                            } else {
                                Auth::None
                            },
                        )
                    } else {
                        (Version::V3, cs, Auth::None)
                    };
                    (
                        VrrpRepr {
                            version,
                            vrid,
                            priority,
                            max_adver_int,
                            auth,
                            addresses: addrs,
                        },
                        v4(192, 0, 2, 7),
                        IpAddr::V4(packet::MULTICAST_V4),
                        as_v2,
                    )
                }
            },
        )
}

proptest! {
    #[test]
    fn emit_then_parse_round_trips((repr, src, dst, as_v2) in arb_repr()) {
        let opts = CodecOptions { v3_checksum_as_v2: as_v2, ..CodecOptions::default() };
        let bytes = repr.to_bytes(src, dst, opts).unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        let back = VrrpRepr::parse(&Packet::new_checked(&bytes[..]).unwrap(), src, dst, opts).unwrap();
        prop_assert_eq!(back, repr.clone());
        if let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) {
            let dgram = encode_ipv4(&repr, s, d, 7, opts).unwrap();
            prop_assert_eq!(decode_ipv4(&dgram, opts).unwrap().repr, repr);
        }
    }

    #[test]
    fn any_single_bit_flip_is_caught_or_harmless((repr, src, dst, as_v2) in arb_repr(), bit in any::<usize>()) {
        let opts = CodecOptions { v3_checksum_as_v2: as_v2, ..CodecOptions::default() };
        let mut bytes = repr.to_bytes(src, dst, opts).unwrap();
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        // A one-bit error always breaks the one's-complement checksum.
        prop_assert!(VrrpRepr::parse(&Packet::new_checked(&bytes[..]).unwrap(), src, dst, opts).is_err());
    }

    #[test]
    fn decoders_never_panic(data in prop::collection::vec(any::<u8>(), 0..200), hl in any::<u8>()) {
        let _ = decode_ipv4(&data, CodecOptions::default());
        let _ = decode_ipv4(&data, AS_V2);
        let _ = decode_ipv6(KA_SRC6, packet::MULTICAST_V6, hl, &data, CodecOptions::default());
    }
}

/// keepalived's real bytes, through the codec into a tandem instance: the
/// configuration-dependent checks of RFC 3768 / RFC 5798 §7.1.
#[test]
fn keepalived_adverts_meet_the_instance_checks() {
    use tandem::vrrp::{Event, Instance, Params, State, Time};
    let ours = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let mut p = Params::new("VI_51", 51, ours);
    p.priority = 100;
    p.auth = Auth::pass(b"s3cret");
    p.vips = vec![v4(192, 0, 2, 100), v4(192, 0, 2, 101)];
    let feed = |p: &Params| {
        let mut i = Instance::new(p.clone(), Time::ZERO).unwrap();
        i.handle(Time::ZERO, Event::Startup).unwrap();
        let rx = decode_ipv4(&hex(KA_V2_PASS), p.codec).unwrap();
        let res = i.handle(
            Time::from_millis(10),
            Event::AdvertReceived {
                src: rx.envelope.src,
                advert: rx.repr,
            },
        );
        (res, i)
    };
    // Matching configuration: accepted; the backup waits on keepalived.
    let (res, i) = feed(&p);
    assert_eq!(res, Ok(()));
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.counters().adverts_received, 1);
    assert_eq!(i.counters().rx_errors.address_list_errors, 0);

    let mut wrong = p.clone();
    wrong.auth = Auth::pass(b"secret");
    assert_eq!(
        feed(&wrong).0,
        Err(RxError::Authentication("password mismatch"))
    );
    wrong.auth = Auth::None;
    assert_eq!(
        feed(&wrong).0,
        Err(RxError::Authentication("auth type mismatch"))
    );
    let mut wrong = p.clone();
    wrong.advert_int = 200;
    assert_eq!(
        feed(&wrong).0,
        Err(RxError::AdvertInterval {
            received_cs: 100,
            configured_cs: 200
        })
    );
    let mut wrong = p.clone();
    wrong.vrid = 52;
    assert_eq!(feed(&wrong).0, Err(RxError::Vrid(51)));
    let mut wrong = p.clone();
    wrong.version = Version::V3;
    wrong.auth = Auth::None;
    assert_eq!(feed(&wrong).0, Err(RxError::Version(2)));
    let mut other_vips = p.clone();
    other_vips.vips = vec![v4(192, 0, 2, 100)];
    let (res, i) = feed(&other_vips);
    assert_eq!(res, Ok(()));
    assert_eq!(i.counters().rx_errors.address_list_errors, 1);
}

/// The hand-derived `v3_checksum_as_v2` vector, cross-checked: an
/// independent checksum implementation (pnet_packet's) first reproduces the
/// checksum keepalived put on the captured advert (with the pseudo-header),
/// then, without the pseudo-header, gives exactly the bytes of the vector.
#[test]
fn v3_checksum_as_v2_vector_is_derived_from_the_capture() {
    use pnet_packet::ip::IpNextHeaderProtocol;
    use pnet_packet::util::{checksum, ipv4_checksum};
    let ka = hex(KA_V3_V4_VRID53);
    let vrrp = &ka[20..];
    let carried = u16::from_be_bytes([vrrp[6], vrrp[7]]);
    let with_pseudo = ipv4_checksum(
        vrrp,
        3,
        &[],
        &KA_SRC4,
        &packet::MULTICAST_V4,
        IpNextHeaderProtocol(packet::PROTOCOL),
    );
    assert_eq!(with_pseudo, carried, "pnet agrees with keepalived 2.2.7");
    let message_only = checksum(vrrp, 3);
    assert_eq!(message_only, 0xa7fd);
    let mut derived = ka.clone();
    derived[26..28].copy_from_slice(&message_only.to_be_bytes());
    assert_eq!(derived, hex(V3_V4_AS_V2));
    // And our encoder, asked for the layout, writes the same bytes.
    let rx = decode_ipv4(&ka, CodecOptions::default()).unwrap();
    let out = encode_ipv4(&rx.repr, KA_SRC4, packet::MULTICAST_V4, 1, AS_V2).unwrap();
    assert_eq!(out, derived);
}

/// RFC 5798 §5.2.6: the 4 bits before Max Adver Int (Rsvd) "MUST be set to
/// zero on transmission and ignored on reception". A captured keepalived
/// advert with those bits set (and its checksum made right again) decodes
/// to the same advert and interval, and a v3 instance takes it.
#[test]
fn v3_reserved_bits_before_max_adver_int_are_ignored() {
    use pnet_packet::ip::IpNextHeaderProtocol;
    use pnet_packet::util::{ipv4_checksum, ipv6_checksum};
    use tandem::vrrp::{Event, Instance, Params, Time};

    // IPv4, VRID 52, 50 cs.
    let orig = hex(KA_V3_V4);
    let want = decode_ipv4(&orig, CodecOptions::default()).unwrap().repr;
    for rsvd in [0x10u8, 0x80, 0xf0] {
        let mut b = orig.clone();
        b[24] |= rsvd;
        // Without fixing the checksum the change is caught as corruption.
        assert!(matches!(
            decode_ipv4(&b, CodecOptions::default()),
            Err(RxError::Checksum { .. })
        ));
        let sum = ipv4_checksum(
            &b[20..],
            3,
            &[],
            &KA_SRC4,
            &packet::MULTICAST_V4,
            IpNextHeaderProtocol(packet::PROTOCOL),
        );
        b[26..28].copy_from_slice(&sum.to_be_bytes());
        let rx = decode_ipv4(&b, CodecOptions::default()).unwrap();
        assert_eq!(rx.repr, want, "rsvd {rsvd:#x}");
        assert_eq!(rx.repr.max_adver_int, 50);
        // Sent back out, the bits are zero again: the captured bytes.
        let out = encode_ipv4(
            &rx.repr,
            KA_SRC4,
            packet::MULTICAST_V4,
            1,
            CodecOptions::default(),
        )
        .unwrap();
        assert_eq!(out, orig);
        // A v3 backup with the same interval accepts it and learns 0.5 s:
        // its down timer is 3 × 0.5 s + (256 − 100) × 0.5 s / 256.
        let mut p = Params::new("VI_52", 52, v4(192, 0, 2, 9));
        p.version = Version::V3;
        p.priority = 100;
        p.advert_int = 50;
        p.vips = vec![v4(192, 0, 2, 102)];
        let mut i = Instance::new(p, Time::ZERO).unwrap();
        i.handle(Time::ZERO, Event::Startup).unwrap();
        i.handle(
            Time::from_millis(100),
            Event::AdvertReceived {
                src: rx.envelope.src,
                advert: rx.repr.clone(),
            },
        )
        .unwrap();
        assert_eq!(i.counters().adverts_received, 1);
        assert_eq!(i.counters().rx_errors.total(), 0);
        assert_eq!(
            i.poll_timeout(),
            Some(Time::from_micros(100_000 + 1_500_000 + 304_687))
        );
    }

    // IPv6, VRID 54, 100 cs.
    let pkt = hex(KA_V3_V6);
    let mut payload = pkt[40..].to_vec();
    let want = decode_ipv6(
        KA_SRC6,
        packet::MULTICAST_V6,
        255,
        &payload,
        CodecOptions::default(),
    )
    .unwrap()
    .repr;
    payload[4] |= 0xf0;
    let sum = ipv6_checksum(
        &payload,
        3,
        &[],
        &KA_SRC6,
        &packet::MULTICAST_V6,
        IpNextHeaderProtocol(packet::PROTOCOL),
    );
    payload[6..8].copy_from_slice(&sum.to_be_bytes());
    let rx = decode_ipv6(
        KA_SRC6,
        packet::MULTICAST_V6,
        255,
        &payload,
        CodecOptions::default(),
    )
    .unwrap();
    assert_eq!(rx.repr, want);
    assert_eq!(rx.repr.max_adver_int, 100);
}

/// `old_unicast_checksum`: a unicast VRRPv3 advert over IPv4 carries the
/// checksum of the same advert sent to 224.0.0.18 (keepalived before
/// 1.3.8); with the default it is the checksum over the real destination.
/// Each layout is a checksum error under the other.
#[test]
fn old_unicast_checksum_uses_the_multicast_group_in_the_pseudo_header() {
    let old = CodecOptions {
        old_unicast_checksum: Some(Ipv4Addr::new(224, 0, 0, 18)),
        ..CodecOptions::default()
    };
    let msg = [0x31, 51, 150, 1, 0, 100, 0, 0, 192, 0, 2, 100];
    let (src, peer) = (v4(192, 0, 2, 1), v4(192, 0, 2, 2));
    let mcast = IpAddr::V4(packet::MULTICAST_V4);
    let d = CodecOptions::default();
    assert_eq!(
        packet::checksum(3, &msg, src, peer, old),
        packet::checksum(3, &msg, src, mcast, d)
    );
    assert_ne!(
        packet::checksum(3, &msg, src, peer, old),
        packet::checksum(3, &msg, src, peer, d)
    );
    // v2 and IPv6 are not concerned.
    assert_eq!(
        packet::checksum(2, &msg, src, peer, old),
        packet::checksum(2, &msg, src, peer, d)
    );
    let (s6, p6) = (v6("2001:db8::1"), v6("2001:db8::2"));
    assert_eq!(
        packet::checksum(3, &msg, s6, p6, old),
        packet::checksum(3, &msg, s6, p6, d)
    );
}
