//! All sessions of a node and the demultiplexing of received packets
//! (RFC 5880 §6.3, §6.8.6), sans-IO.
//!
//! Every session receives on the one UDP port 3784, so a received packet
//! is matched to its session here: by Your Discriminator when it is
//! nonzero, else by the neighbour's address (and our address, when the
//! session has a `source_ip`), as keepalived does. The table also hands
//! out the local discriminators (nonzero, unique) and counts every packet
//! no session took.
//!
//! Owns the sessions' lookup and the node-wide drop counters; may not do
//! I/O or read a clock.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::packet::{ControlPacket, Malformed};
use super::session::{Refused, Session, SessionParams, Transition};

/// One configured session: its `bfd_instance` name and addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionConfig {
    pub name: String,
    pub neighbor: IpAddr,
    pub source: Option<IpAddr>,
    pub params: SessionParams,
}

/// Why a received datagram changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum Dropped {
    #[error("malformed: {0}")]
    Malformed(Malformed),
    /// §6.8.6: no session for Your Discriminator, or (when it is 0) for
    /// the source and destination addresses.
    #[error("no session matches")]
    NoSession,
    #[error("session {0}: {1}")]
    Refused(usize, Refused),
}

/// Packets that reached no session, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableCounters {
    /// Malformed packets by [`Malformed::key`].
    pub malformed: BTreeMap<&'static str, u64>,
    pub no_session: u64,
}

impl TableCounters {
    pub fn malformed_total(&self) -> u64 {
        self.malformed.values().sum()
    }
}

/// The sessions of a node.
#[derive(Debug, Clone)]
pub struct Sessions {
    configs: Vec<SessionConfig>,
    sessions: Vec<Session>,
    counters: TableCounters,
}

/// A discriminator from a seed: nonzero, and not one in `taken`.
fn discriminator(seed: &mut u64, taken: &[u32]) -> u32 {
    loop {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let d = (*seed >> 32) as u32;
        if d != 0 && !taken.contains(&d) {
            return d;
        }
    }
}

impl Sessions {
    /// Every session starts in Down at `now`; `seed` chooses the
    /// discriminators and the jitter.
    pub fn new(configs: Vec<SessionConfig>, now: u64, mut seed: u64) -> Sessions {
        let mut sessions: Vec<Session> = Vec::new();
        for c in &configs {
            let taken: Vec<u32> = sessions.iter().map(Session::local_discr).collect();
            let d = discriminator(&mut seed, &taken);
            sessions.push(Session::new(c.params.clone(), d, now, seed ^ u64::from(d)));
        }
        Sessions {
            configs,
            sessions,
            counters: TableCounters::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn config(&self, i: usize) -> Option<&SessionConfig> {
        self.configs.get(i)
    }

    pub fn session(&self, i: usize) -> Option<&Session> {
        self.sessions.get(i)
    }

    pub fn counters(&self) -> &TableCounters {
        &self.counters
    }

    /// The session for an address pair (§6.8.6 with Your Discriminator 0):
    /// the neighbour must be the source, and our `source_ip`, when set,
    /// the destination.
    fn by_address(&self, src: IpAddr, dst: Option<IpAddr>) -> Option<usize> {
        self.configs
            .iter()
            .position(|c| c.neighbor == src && c.source.is_none_or(|s| dst.is_none_or(|d| d == s)))
    }

    /// A datagram from `src` to `dst` (when the socket told) with the
    /// TTL / hop limit `ttl`: decoded, matched and handed to its session.
    pub fn receive(
        &mut self,
        now: u64,
        data: &[u8],
        src: IpAddr,
        dst: Option<IpAddr>,
        ttl: Option<u8>,
    ) -> Result<(usize, Option<Transition>), Dropped> {
        let p = match ControlPacket::decode(data) {
            Ok(p) => p,
            Err(m) => {
                *self.counters.malformed.entry(m.key()).or_default() += 1;
                return Err(Dropped::Malformed(m));
            }
        };
        let found = if p.your_discr != 0 {
            self.sessions
                .iter()
                .position(|s| s.local_discr() == p.your_discr)
        } else {
            self.by_address(src, dst)
        };
        // A discriminator match from the wrong neighbour is no match either.
        let Some(i) = found.filter(|&i| self.configs[i].neighbor == src) else {
            self.counters.no_session += 1;
            return Err(Dropped::NoSession);
        };
        match self.sessions[i].receive(now, &p, ttl) {
            Ok(t) => Ok((i, t)),
            Err(r) => Err(Dropped::Refused(i, r)),
        }
    }

    /// Expire detection timers; the sessions whose state changed.
    pub fn handle_timeout(&mut self, now: u64) -> Vec<(usize, Transition)> {
        let mut out = Vec::new();
        for (i, s) in self.sessions.iter_mut().enumerate() {
            if let Some(t) = s.handle_timeout(now) {
                out.push((i, t));
            }
        }
        out
    }

    /// The packets due now, with the session each is from.
    pub fn poll_transmit(&mut self, now: u64) -> Vec<(usize, ControlPacket)> {
        let mut out = Vec::new();
        for (i, s) in self.sessions.iter_mut().enumerate() {
            if let Some(p) = s.poll_transmit(now) {
                out.push((i, p));
            }
        }
        out
    }

    /// The earliest time any session wants attention.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        self.sessions
            .iter()
            .filter_map(|s| s.next_deadline(now))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfd::packet::State;

    fn params() -> SessionParams {
        SessionParams {
            desired_min_tx_us: 10_000,
            required_min_rx_us: 10_000,
            idle_tx_us: 1_000_000,
            detect_mult: 3,
            passive: false,
            ttl: 255,
            max_hops: 0,
        }
    }

    fn table(addrs: &[(&str, Option<&str>)]) -> Sessions {
        let configs = addrs
            .iter()
            .enumerate()
            .map(|(i, (n, s))| SessionConfig {
                name: format!("b{i}"),
                neighbor: n.parse().unwrap(),
                source: s.map(|s| s.parse().unwrap()),
                params: params(),
            })
            .collect();
        Sessions::new(configs, 0, 7)
    }

    fn down_from(discr: u32, your: u32) -> Vec<u8> {
        ControlPacket {
            diag: 0,
            state: if your == 0 { State::Down } else { State::Up },
            poll: false,
            final_: false,
            cpi: false,
            auth: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            my_discr: discr,
            your_discr: your,
            desired_min_tx_us: 1_000_000,
            required_min_rx_us: 10_000,
            required_min_echo_rx_us: 0,
        }
        .encode()
        .to_vec()
    }

    #[test]
    fn discriminators_are_nonzero_and_unique() {
        let t = table(&[
            ("192.0.2.1", None),
            ("192.0.2.2", None),
            ("2001:db8::1", None),
        ]);
        let d: Vec<u32> = (0..3)
            .map(|i| t.session(i).unwrap().local_discr())
            .collect();
        assert!(d.iter().all(|&x| x != 0));
        assert!(d[0] != d[1] && d[1] != d[2] && d[0] != d[2]);
    }

    #[test]
    fn packets_find_their_session_by_address_then_discriminator() {
        let mut t = table(&[("192.0.2.1", None), ("192.0.2.2", Some("192.0.2.9"))]);
        let src2: IpAddr = "192.0.2.2".parse().unwrap();
        // Your Discriminator 0: by address; the source_ip must be the
        // destination.
        let wrong_dst = Some("192.0.2.8".parse().unwrap());
        assert_eq!(
            t.receive(0, &down_from(5, 0), src2, wrong_dst, Some(255)),
            Err(Dropped::NoSession)
        );
        let (i, _) = t
            .receive(
                0,
                &down_from(5, 0),
                src2,
                Some("192.0.2.9".parse().unwrap()),
                Some(255),
            )
            .unwrap();
        assert_eq!(i, 1);
        // By our discriminator, from the right neighbour only.
        let mine = t.session(1).unwrap().local_discr();
        assert!(
            t.receive(1, &down_from(5, mine), src2, None, Some(255))
                .is_ok()
        );
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            t.receive(2, &down_from(5, mine), other, None, Some(255)),
            Err(Dropped::NoSession)
        );
        assert_eq!(
            t.receive(3, &down_from(5, 0xdead), src2, None, Some(255)),
            Err(Dropped::NoSession)
        );
        assert_eq!(t.counters().no_session, 3);
    }

    #[test]
    fn malformed_packets_are_counted_by_reason() {
        let mut t = table(&[("192.0.2.1", None)]);
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let mut bad = down_from(5, 0);
        bad[2] = 0;
        assert_eq!(
            t.receive(0, &bad, src, None, Some(255)),
            Err(Dropped::Malformed(Malformed::DetectMult))
        );
        assert!(t.receive(0, &bad[..10], src, None, Some(255)).is_err());
        assert_eq!(t.counters().malformed.get("detect_mult"), Some(&1));
        assert_eq!(t.counters().malformed.get("too_short"), Some(&1));
        assert_eq!(t.counters().malformed_total(), 2);
        assert_eq!(t.session(0).unwrap().status().counters.rx, 0);
    }

    #[test]
    fn random_datagrams_never_panic_and_are_all_accounted_for() {
        let mut t = table(&[("192.0.2.1", None)]);
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut dropped = 0;
        for n in 0..20_000u64 {
            let mut d = down_from(5, 0);
            d.resize((n % 40) as usize, 0);
            for b in d.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly keep the good bytes, so some packets get far.
                if x % 4 == 0 {
                    *b = (x >> 8) as u8;
                }
            }
            if t.receive(n, &d, src, None, Some((x >> 16) as u8)).is_err() {
                dropped += 1;
            }
            let _ = t.handle_timeout(n);
            let _ = t.poll_transmit(n);
        }
        let s = t.session(0).unwrap().status().counters;
        let c = t.counters();
        assert_eq!(
            dropped,
            c.malformed_total() + c.no_session + s.rx_ttl_dropped + s.rx_auth_dropped
        );
        assert!(c.malformed_total() > 0 && s.rx > 0);
    }
}
