//! Fuzzes the BFD Control packet decoder and the session table with
//! arbitrary datagrams: nothing may panic, an accepted packet must survive
//! a round trip, and every datagram is either taken by a session or counted
//! as a drop.
//!
//! Run with `cargo +nightly fuzz run bfd_decode` from the repository root.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use tandem::bfd::{ControlPacket, SessionConfig, SessionParams, Sessions};

fuzz_target!(|data: &[u8]| {
    let Some((&ttl, rest)) = data.split_first() else {
        return;
    };
    if let Ok(p) = ControlPacket::decode(rest) {
        // The A bit stays what it was: encode writes no auth section, so
        // only packets without one round-trip byte for byte in the fields.
        if !p.auth {
            assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
        }
    }
    let neighbor = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let params = SessionParams {
        desired_min_tx_us: 10_000,
        required_min_rx_us: 10_000,
        idle_tx_us: 1_000_000,
        detect_mult: 3,
        passive: ttl & 1 == 1,
        ttl: 255,
        max_hops: ttl >> 4,
    };
    let mut t = Sessions::new(
        vec![SessionConfig {
            name: "fuzz".into(),
            neighbor,
            source: None,
            params,
        }],
        0,
        u64::from(ttl),
    );
    // The same datagram several times, with time moving on, so that a
    // packet that passes reaches Init and Up and the timers run.
    let mut taken = 0;
    for n in 0..4u64 {
        let now = n * 5_000;
        if t.receive(now, rest, neighbor, None, Some(ttl)).is_ok() {
            taken += 1;
        }
        let _ = t.handle_timeout(now);
        let _ = t.poll_transmit(now);
        let _ = t.next_deadline(now);
    }
    let c = t.counters();
    let s = t.session(0).map(|s| s.status().counters).unwrap_or_default();
    assert_eq!(
        4,
        taken + c.malformed_total() + c.no_session + s.rx_ttl_dropped + s.rx_auth_dropped
    );
});
