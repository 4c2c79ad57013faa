//! Tests of the session state machine: two sessions wired back to back
//! on a virtual clock (microseconds), with a link that can be cut.

use super::packet::{ControlPacket, State, diag};
use super::session::*;

const MS: u64 = 1000;

fn params(min: u32, mult: u8) -> SessionParams {
    SessionParams {
        desired_min_tx_us: min,
        required_min_rx_us: min,
        idle_tx_us: 1_000_000,
        detect_mult: mult,
        passive: false,
        ttl: 255,
        max_hops: 0,
    }
}

/// Two sessions and what happened to them.
struct Pair {
    now: u64,
    s: [Session; 2],
    /// Packets from a side are lost while false.
    link: [bool; 2],
    log: Vec<(u64, usize, Transition)>,
    sent: [Vec<(u64, ControlPacket)>; 2],
}

impl Pair {
    fn new(a: SessionParams, b: SessionParams) -> Pair {
        Pair {
            now: 0,
            s: [Session::new(a, 0x1111, 0, 1), Session::new(b, 0x2222, 0, 2)],
            link: [true, true],
            log: Vec::new(),
            sent: [Vec::new(), Vec::new()],
        }
    }

    /// Run until `until`, delivering packets at once.
    fn run(&mut self, until: u64) {
        loop {
            let next = (0..2)
                .filter_map(|i| self.s[i].next_deadline(self.now))
                .min();
            let Some(at) = next.filter(|&t| t <= until) else {
                self.now = until;
                return;
            };
            self.now = self.now.max(at);
            for i in 0..2 {
                if let Some(t) = self.s[i].handle_timeout(self.now) {
                    self.log.push((self.now, i, t));
                }
                while let Some(p) = self.s[i].poll_transmit(self.now) {
                    self.sent[i].push((self.now, p));
                    if self.link[i] {
                        match self.s[1 - i].receive(self.now, &p, Some(255)) {
                            Ok(Some(t)) => self.log.push((self.now, 1 - i, t)),
                            Ok(None) => {}
                            Err(e) => panic!("refused: {e}"),
                        }
                    }
                }
            }
        }
    }

    fn states(&self) -> [State; 2] {
        [self.s[0].state(), self.s[1].state()]
    }
}

#[test]
fn three_way_handshake_comes_up_down_init_up() {
    let mut p = Pair::new(params(10_000, 3), params(10_000, 3));
    p.run(100 * MS);
    assert_eq!(p.states(), [State::Up, State::Up]);
    // §6.2: Down → Init → Up on one side, Down → Up on the other.
    let first: Vec<(State, State)> = p
        .log
        .iter()
        .filter(|(_, i, _)| *i == 0)
        .map(|(_, _, t)| (t.from, t.to))
        .collect();
    let second: Vec<(State, State)> = p
        .log
        .iter()
        .filter(|(_, i, _)| *i == 1)
        .map(|(_, _, t)| (t.from, t.to))
        .collect();
    assert!(
        (first == [(State::Down, State::Up)]
            && second == [(State::Down, State::Init), (State::Init, State::Up)])
            || (second == [(State::Down, State::Up)]
                && first == [(State::Down, State::Init), (State::Init, State::Up)]),
        "{first:?} {second:?}"
    );
}

#[test]
fn intervals_are_idle_while_down_and_negotiated_when_up() {
    // §6.8.3 / §6.8.7: not Up → Desired Min TX is idle_tx (1 s); Up → the
    // larger of our min_tx and the remote's min_rx.
    let mut p = Pair::new(params(10_000, 3), params(50_000, 3));
    assert_eq!(p.s[0].status().tx_interval_us, 1_000_000);
    p.run(2000 * MS);
    assert_eq!(p.states(), [State::Up, State::Up]);
    assert_eq!(p.s[0].status().tx_interval_us, 50_000);
    assert_eq!(p.s[1].status().tx_interval_us, 50_000);
    // §6.8.4: detection time = remote mult × max(our min_rx, its min_tx).
    assert_eq!(p.s[0].status().detect_time_us, 3 * 50_000);
    // Up packets carry min_tx; the last packet sent shows it.
    let (_, last) = p.sent[0].last().copied().unwrap();
    assert_eq!(last.desired_min_tx_us, 10_000);
    assert_eq!(last.state, State::Up);
}

#[test]
fn periodic_packets_are_jittered_within_75_to_100_percent() {
    let mut p = Pair::new(params(10_000, 3), params(10_000, 3));
    p.run(2000 * MS);
    let times: Vec<u64> = p.sent[0]
        .iter()
        .filter(|(t, _)| *t > 500 * MS)
        .map(|(t, _)| *t)
        .collect();
    assert!(times.len() > 100, "{}", times.len());
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|&g| (7_500..=10_000).contains(&g)),
        "{gaps:?}"
    );
    // Not all the same: the jitter is random.
    assert!(gaps.iter().any(|&g| g != gaps[0]));
}

#[test]
fn detect_mult_one_jitters_10_to_25_percent() {
    let mut p = Pair::new(params(10_000, 1), params(10_000, 1));
    p.run(1000 * MS);
    let gaps: Vec<u64> = p.sent[0]
        .windows(2)
        .filter(|w| w[0].0 > 500 * MS)
        .map(|w| w[1].0 - w[0].0)
        .collect();
    assert!(
        gaps.iter().all(|&g| (7_500..=9_000).contains(&g)),
        "{gaps:?}"
    );
}

#[test]
fn a_silent_neighbour_is_down_within_the_detection_time() {
    let mut p = Pair::new(params(10_000, 3), params(10_000, 3));
    p.run(1000 * MS);
    assert_eq!(p.states(), [State::Up, State::Up]);
    let cut = p.now;
    p.link[1] = false;
    p.run(cut + 100 * MS);
    let (at, who, t) = p
        .log
        .iter()
        .rev()
        .find(|(_, i, _)| *i == 0)
        .copied()
        .unwrap();
    assert_eq!(
        (who, t.from, t.to, t.diag),
        (0, State::Up, State::Down, diag::EXPIRED)
    );
    // Within Detection Time (30 ms) of the last packet heard.
    assert!(at - cut <= 30 * MS, "{}", at - cut);
    assert!(at - cut > 20 * MS, "{}", at - cut);
    // The other side hears "Down" and goes down too (diag 3).
    assert_eq!(p.s[1].state(), State::Down);
    assert_eq!(p.s[1].status().local_diag, diag::NEIGHBOR_DOWN);
    // §6.8.4: bfd.RemoteDiscr zeroed on expiry.
    assert_eq!(p.s[0].status().remote_discr, 0);
    // Healed: back Up.
    p.link[1] = true;
    p.run(p.now + 3000 * MS);
    assert_eq!(p.states(), [State::Up, State::Up]);
    assert_eq!(p.s[0].status().counters.up_transitions, 2);
    assert_eq!(p.s[0].status().counters.down_transitions, 1);
}

#[test]
fn going_up_polls_and_the_final_ends_it() {
    let mut p = Pair::new(params(10_000, 3), params(10_000, 3));
    p.run(2000 * MS);
    // §6.5: each side sent Polls after going Up, the other answered with
    // Final, and no packet had both.
    for i in 0..2 {
        assert!(p.sent[i].iter().any(|(_, k)| k.poll));
        assert!(p.sent[i].iter().any(|(_, k)| k.final_));
        assert!(p.sent[i].iter().all(|(_, k)| !(k.poll && k.final_)));
        // The Poll Sequence ended: the last packets carry no Poll.
        assert!(!p.sent[i].last().unwrap().1.poll);
    }
}

#[test]
fn admin_down_from_the_neighbour_takes_the_session_down() {
    let mut p = Pair::new(params(10_000, 3), params(10_000, 3));
    p.run(1000 * MS);
    let mut pkt = p.sent[1].last().unwrap().1;
    pkt.state = State::AdminDown;
    pkt.diag = diag::ADMIN_DOWN;
    let t = p.s[0].receive(p.now, &pkt, Some(255)).unwrap().unwrap();
    assert_eq!((t.to, t.diag), (State::Down, diag::NEIGHBOR_DOWN));
}

#[test]
fn passive_waits_to_be_spoken_to() {
    let mut quiet = params(10_000, 3);
    quiet.passive = true;
    let mut p = Pair::new(quiet.clone(), quiet);
    p.run(5000 * MS);
    assert!(p.sent[0].is_empty() && p.sent[1].is_empty());
    let mut p = Pair::new(params(10_000, 3), {
        let mut q = params(10_000, 3);
        q.passive = true;
        q
    });
    p.run(3000 * MS);
    assert_eq!(p.states(), [State::Up, State::Up]);
}

#[test]
fn gtsm_drops_low_ttls_and_counts_them() {
    let mut s = Session::new(params(10_000, 3), 1, 0, 3);
    let pkt = ControlPacket {
        diag: 0,
        state: State::Down,
        poll: false,
        final_: false,
        cpi: false,
        auth: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discr: 9,
        your_discr: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 10_000,
        required_min_echo_rx_us: 0,
    };
    // RFC 5881 §5: 255 only, by default.
    assert_eq!(s.receive(0, &pkt, Some(254)), Err(Refused::Ttl));
    assert_eq!(s.receive(0, &pkt, None), Err(Refused::Ttl));
    assert_eq!(s.status().counters.rx_ttl_dropped, 2);
    assert_eq!(s.state(), State::Down);
    // max_hops 2: down to 253.
    let mut hops = params(10_000, 3);
    hops.max_hops = 2;
    let mut s2 = Session::new(hops.clone(), 1, 0, 3);
    assert!(s2.receive(0, &pkt, Some(253)).is_ok());
    let mut s3 = Session::new(hops, 1, 0, 3);
    assert_eq!(s3.receive(0, &pkt, Some(252)), Err(Refused::Ttl));
    // max_hops 255: no check at all.
    let mut off = params(10_000, 3);
    off.max_hops = 255;
    assert!(Session::new(off, 1, 0, 3).receive(0, &pkt, Some(1)).is_ok());
    // A bit set: refused (no authentication in use).
    let mut auth = pkt;
    auth.auth = true;
    assert_eq!(s.receive(0, &auth, Some(255)), Err(Refused::Auth));
    assert_eq!(s.status().counters.rx_auth_dropped, 1);
}

#[test]
fn remote_min_rx_zero_stops_periodic_packets() {
    let mut s = Session::new(params(10_000, 3), 1, 0, 3);
    assert!(s.poll_transmit(0).is_some());
    let pkt = ControlPacket {
        diag: 0,
        state: State::Down,
        poll: false,
        final_: false,
        cpi: false,
        auth: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discr: 9,
        your_discr: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 0,
        required_min_echo_rx_us: 0,
    };
    s.receive(1, &pkt, Some(255)).unwrap();
    // §6.8.7: the neighbour asked for no packets; nothing goes out, not
    // even the change to Init, however long we wait.
    assert_eq!(s.state(), State::Init);
    assert!(s.poll_transmit(1).is_none());
    assert!(s.poll_transmit(10_000_000).is_none());
}
