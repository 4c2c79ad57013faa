//! The AgentX codec against byte strings written out by hand from RFC
//! 2741's layouts (§5 and §6), in both byte orders, and against damage.

use std::net::Ipv4Addr;

use super::pdu::*;

fn keepalived_oid() -> Oid {
    Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5])
}

/// A header (§6.1) with the given type, flags and payload length,
/// big-endian: session 7, transaction 8, packet 9.
fn header(kind: u8, flags: u8, len: u32) -> Vec<u8> {
    let mut b = vec![1, kind, flags, 0];
    b.extend_from_slice(&7u32.to_be_bytes());
    b.extend_from_slice(&8u32.to_be_bytes());
    b.extend_from_slice(&9u32.to_be_bytes());
    b.extend_from_slice(&len.to_be_bytes());
    b
}

#[test]
fn open_is_written_as_rfc_2741_6_2_1_lays_it_out() {
    let pdu = Pdu {
        header: Header {
            flags: 0,
            session_id: 0,
            transaction_id: 0,
            packet_id: 1,
        },
        context: None,
        body: Body::Open {
            timeout: 5,
            id: keepalived_oid(),
            descr: b"tandem".to_vec(),
        },
    };
    let mut want = vec![
        1, 1, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 36,
    ];
    want.extend_from_slice(&[5, 0, 0, 0]); // o.timeout, reserved
    // o.id: n_subid 4, prefix 4 (1.3.6.1.4), include 0, then 1.9586.100.5
    want.extend_from_slice(&[
        4, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5,
    ]);
    // o.descr: length 6, "tandem", two bytes of padding
    want.extend_from_slice(&[0, 0, 0, 6, b't', b'a', b'n', b'd', b'e', b'm', 0, 0]);
    assert_eq!(pdu.encode(), want);
    assert_eq!(Pdu::decode(&want), Ok(pdu));
}

#[test]
fn a_little_endian_get_next_is_read() {
    // GetNext (§6.2.8) of one range 1.3.6.1.4.1.9586 (include 1) to null,
    // little-endian (NETWORK_BYTE_ORDER clear).
    let mut b = vec![1, 6, 0, 0];
    b.extend_from_slice(&[3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 16, 0, 0, 0]);
    b.extend_from_slice(&[2, 4, 1, 0, 1, 0, 0, 0, 0x72, 0x25, 0, 0]);
    b.extend_from_slice(&[0, 0, 0, 0]);
    let p = Pdu::decode(&b).expect("decodes");
    assert_eq!(p.header.session_id, 3);
    assert_eq!(p.header.transaction_id, 4);
    assert_eq!(p.header.packet_id, 5);
    assert_eq!(
        p.body,
        Body::GetNext(vec![SearchRange {
            start: Oid::new(&[1, 3, 6, 1, 4, 1, 9586]),
            include: true,
            end: Oid::default(),
        }])
    );
}

#[test]
fn get_bulk_with_a_context_is_read() {
    // §6.2.7 with NON_DEFAULT_CONTEXT: context "ab", non_repeaters 1,
    // max_repetitions 10, one range without prefix 1.2 .. 1.3.
    let mut payload = vec![0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, 0, 10];
    payload.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
    payload.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3]);
    let mut b = header(7, 0x18, payload.len() as u32);
    b.extend_from_slice(&payload);
    let p = Pdu::decode(&b).expect("decodes");
    assert_eq!(p.context.as_deref(), Some(&b"ab"[..]));
    assert_eq!(
        p.body,
        Body::GetBulk {
            non_repeaters: 1,
            max_repetitions: 10,
            ranges: vec![SearchRange {
                start: Oid::new(&[1, 2]),
                include: false,
                end: Oid::new(&[1, 3]),
            }],
        }
    );
    // It survives a round trip.
    assert_eq!(Pdu::decode(&p.encode()), Ok(p));
}

#[test]
fn a_response_carries_every_value_type_and_round_trips() {
    let name = |n: u32| keepalived_oid().child(&[n, 0]);
    let values = vec![
        Value::Integer(-2),
        Value::text("VI_1"),
        Value::Null,
        Value::ObjectIdentifier(keepalived_oid()),
        Value::IpAddress(Ipv4Addr::new(192, 0, 2, 1)),
        Value::Counter32(7),
        Value::Gauge32(8),
        Value::TimeTicks(9),
        Value::Opaque(vec![1, 2, 3]),
        Value::Counter64(0x0102_0304_0506_0708),
        Value::NoSuchObject,
        Value::NoSuchInstance,
        Value::EndOfMibView,
    ];
    let varbinds: Vec<VarBind> = values
        .into_iter()
        .enumerate()
        .map(|(i, value)| VarBind {
            name: name(i as u32),
            value,
        })
        .collect();
    let pdu = Pdu {
        header: Header::default(),
        context: None,
        body: Body::Response {
            sys_uptime: 100,
            error: 0,
            index: 0,
            varbinds,
        },
    };
    let bytes = pdu.encode();
    assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
    assert_eq!(Pdu::decode(&bytes), Ok(pdu));
}

#[test]
fn varbind_layout_is_the_rfc_5_4_one() {
    let pdu = Pdu {
        header: Header::default(),
        context: None,
        body: Body::Response {
            sys_uptime: 1,
            error: 0,
            index: 0,
            varbinds: vec![VarBind {
                name: Oid::new(&[1, 3, 6, 1, 2, 1, 1, 3, 0]),
                value: Value::Counter64(5),
            }],
        },
    };
    let b = pdu.encode();
    let vb = &b[HEADER_LEN + 8..];
    // type 70, reserved, OID with prefix 2 and 4 sub-ids, 8-byte value.
    assert_eq!(&vb[..8], &[0, 70, 0, 0, 4, 2, 0, 0]);
    assert_eq!(
        &vb[8..24],
        &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0]
    );
    assert_eq!(&vb[24..], &[0, 0, 0, 0, 0, 0, 0, 5]);
}

#[test]
fn damage_is_an_error_never_a_panic() {
    let good = Pdu {
        header: Header::default(),
        context: None,
        body: Body::Notify(vec![VarBind {
            name: keepalived_oid(),
            value: Value::text("x"),
        }]),
    }
    .encode();
    // Every truncation of a PDU whose length field is kept says truncated.
    for n in 0..good.len() {
        assert!(Pdu::decode(&good[..n]).is_err(), "cut at {n}");
    }
    // Version 2, an unknown type, a huge or unaligned length.
    let mut v = good.clone();
    v[0] = 2;
    assert_eq!(Pdu::decode(&v), Err(PduError::Version(2)));
    let mut t = good.clone();
    t[1] = 99;
    assert_eq!(Pdu::decode(&t), Err(PduError::UnknownType(99)));
    assert_eq!(
        frame_len(&header(5, 0x10, u32::MAX)),
        Err(PduError::TooLarge(u32::MAX as usize))
    );
    assert!(frame_len(&header(5, 0x10, 3)).is_err());
    // An OID claiming 200 sub-identifiers, an octet string longer than
    // the payload, an unknown value type.
    let mut long = header(5, 0x10, 8);
    long.extend_from_slice(&[200, 0, 0, 0, 0, 0, 0, 0]);
    assert!(Pdu::decode(&long).is_err());
    let mut s = header(12, 0x10, 16);
    s.extend_from_slice(&[0, 4, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    assert!(Pdu::decode(&s).is_err());
    let mut u = header(12, 0x10, 8);
    u.extend_from_slice(&[0, 99, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Pdu::decode(&u), Err(PduError::UnknownValueType(99)));
}

#[test]
fn frame_len_waits_for_a_whole_header() {
    assert_eq!(frame_len(&[1, 5, 0x10]), Ok(None));
    assert_eq!(frame_len(&header(5, 0x10, 24)), Ok(Some(44)));
}

proptest::proptest! {
    /// What the fuzz target checks, on random bytes behind a valid header
    /// (so the body decoders run): no panic, and a decoded PDU survives a
    /// round trip.
    #[test]
    fn random_payloads_decode_or_fail_cleanly(
        kind in 0u8..20,
        flags in 0u8..32,
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96),
    ) {
        let len = body.len() / 4 * 4;
        let mut b = header(kind, flags, len as u32);
        if flags & 0x10 == 0 {
            b[16..20].copy_from_slice(&(len as u32).to_le_bytes());
        }
        b.extend_from_slice(&body[..len]);
        if let Ok(p) = Pdu::decode(&b) {
            proptest::prop_assert_eq!(Pdu::decode(&p.encode()), Ok(p));
        }
    }
}
