//! `tandem_takeover` (tandem's own rule, docs/vrrp.md "BFD"): a BACKUP
//! whose BFD session to its master goes Down takes over at once, as if
//! Master_Down_Timer had fired ([`Event::PeerDown`]).
//!
//! First the state machine alone, one rule per test, with explicit times;
//! then two balancers on a virtual clock, each running the real VRRP
//! [`Router`] and a real BFD [`Session`] to the other, every advert and
//! every Control packet through the real codecs and a network with a
//! fixed delay: the master dies (the backup takes over within the BFD
//! detection time, against Master_Down_Interval without the rule), and
//! only BFD fails while the master lives (the dual-master window this
//! opens, how long it lasts, and that it ends with the master's advert, as
//! RFC 5798 §6.4.3 resolves it).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tandem::bfd::{ControlPacket, Session, SessionParams, State as BfdState};
use tandem::vrrp::packet::{CodecOptions, MULTICAST_V4, decode_ipv4, encode_ipv4};
use tandem::vrrp::{
    Action, Auth, Event, Instance, Params, Reason, Router, State, Time, TrackerParams, Version,
    VrrpRepr,
};

const LB1: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11));
const LB2: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 13));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

fn ms(n: u64) -> Time {
    Time::from_millis(n)
}

fn params(name: &str, vrid: u8, me: IpAddr, priority: u8) -> Params {
    let mut p = Params::new(name, vrid, me);
    p.version = Version::V3;
    p.advert_int = 10; // 0.1 s
    p.priority = priority;
    p.vips = vec![VIP];
    p.garp_master_delay = None;
    p
}

fn advert(vrid: u8, priority: u8) -> VrrpRepr {
    VrrpRepr {
        version: Version::V3,
        vrid,
        priority,
        max_adver_int: 10,
        auth: Auth::None,
        addresses: vec![VIP],
    }
}

fn drain(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action())
        .filter(|a| !matches!(a, Action::SetTimer { .. }))
        .collect()
}

/// lb2's instance, BACKUP behind lb1 (priority 150) since 0 ms.
fn backup_behind_lb1() -> Instance {
    let mut i = Instance::new(params("VI_1", 51, LB2, 100), ms(0)).unwrap();
    i.handle(ms(0), Event::Startup).unwrap();
    let a = Event::AdvertReceived {
        src: LB1,
        advert: advert(51, 150),
    };
    i.handle(ms(10), a).unwrap();
    drain(&mut i);
    assert_eq!(i.master(), Some((LB1, 150)));
    i
}

#[test]
fn a_backup_whose_master_s_session_goes_down_becomes_master_at_once() {
    let mut i = backup_behind_lb1();
    i.handle(ms(40), Event::PeerDown { peer: LB1 }).unwrap();
    assert_eq!(i.state(), State::Master);
    // RFC 5798 §6.4.2's Master_Down_Timer actions, in its order, 30 ms
    // after the last advert instead of Master_Down_Interval (360.9 ms).
    assert_eq!(
        drain(&mut i),
        vec![
            Action::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: Reason::PeerDown
            },
            Action::AddVips,
            Action::SendAdvert { priority: 100 },
            Action::SendGratuitous,
            Action::Notify {
                state: State::Master
            },
        ]
    );
    assert_eq!(i.counters().master_transitions, 1);
    // As master it advertises every interval from now.
    assert_eq!(i.poll_timeout(), Some(ms(140)));
}

#[test]
fn a_session_to_another_router_or_no_master_yet_changes_nothing() {
    let mut i = backup_behind_lb1();
    i.handle(ms(40), Event::PeerDown { peer: OTHER }).unwrap();
    assert_eq!(i.state(), State::Backup);
    assert!(drain(&mut i).is_empty());

    // No advert accepted yet: nobody to take over from.
    let mut fresh = Instance::new(params("VI_1", 51, LB2, 100), ms(0)).unwrap();
    fresh.handle(ms(0), Event::Startup).unwrap();
    drain(&mut fresh);
    fresh.handle(ms(5), Event::PeerDown { peer: LB1 }).unwrap();
    assert_eq!(fresh.state(), State::Backup);
    assert!(drain(&mut fresh).is_empty());
}

#[test]
fn a_master_a_leaving_master_and_a_startup_hold_are_left_alone() {
    // A master whose backup's session goes down stays master, unmoved.
    let mut m = Instance::new(params("VI_1", 51, LB1, 150), ms(0)).unwrap();
    m.handle(ms(0), Event::Startup).unwrap();
    let at = m.poll_timeout().unwrap();
    m.handle(at, Event::Timer).unwrap();
    assert_eq!(m.state(), State::Master);
    drain(&mut m);
    m.handle(at + Duration::from_millis(5), Event::PeerDown { peer: LB2 })
        .unwrap();
    assert_eq!(m.state(), State::Master);
    assert!(drain(&mut m).is_empty());

    // After priority 0 the Skew_Time timer runs (the master is leaving,
    // and said so); the session going down with it changes nothing.
    let mut i = backup_behind_lb1();
    let zero = Event::AdvertReceived {
        src: LB1,
        advert: advert(51, 0),
    };
    i.handle(ms(20), zero).unwrap();
    let skew_end = i.poll_timeout().unwrap();
    i.handle(ms(21), Event::PeerDown { peer: LB1 }).unwrap();
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.poll_timeout(), Some(skew_end));

    // vrrp_startup_delay: no MASTER before the hold ends, whatever BFD says.
    let mut h = Instance::new(params("VI_1", 51, LB2, 100), ms(0)).unwrap();
    h.handle(ms(0), Event::StartupHold { until: ms(5000) })
        .unwrap();
    h.handle(ms(0), Event::Startup).unwrap();
    let a = Event::AdvertReceived {
        src: LB1,
        advert: advert(51, 150),
    };
    h.handle(ms(10), a).unwrap();
    h.handle(ms(40), Event::PeerDown { peer: LB1 }).unwrap();
    assert_eq!(h.state(), State::Backup);
}

/// LB2's sync group of VI_OUT (VRID 51) and VI_IN (52), started.
fn group_of_two_on_lb2() -> Router {
    let p = |name: &str, vrid| params(name, vrid, LB2, 100);
    let mut r = Router::new(
        vec![p("VI_OUT", 51), p("VI_IN", 52)],
        vec![vec![0, 1]],
        ms(0),
    )
    .unwrap();
    r.broadcast(ms(0), Event::Startup);
    r
}

#[test]
fn a_sync_group_takes_over_together_once_every_member_heard() {
    let mut r = group_of_two_on_lb2();
    for (id, vrid) in [(0, 51), (1, 52)] {
        let a = Event::AdvertReceived {
            src: LB1,
            advert: advert(vrid, 150),
        };
        r.handle(ms(10), id, a).unwrap();
    }
    while r.poll_action().is_some() {}
    // One member alone wants master; the group waits (keepalived's rule
    // for an expired Master_Down_Timer, the same here).
    r.handle(ms(40), 0, Event::PeerDown { peer: LB1 }).unwrap();
    assert!(r.instances().iter().all(|i| i.state() == State::Backup));
    assert!(r.instances()[0].wants_master());
    // A group's `track_bfd` reaches every member: then both go.
    r.handle(ms(40), 1, Event::PeerDown { peer: LB1 }).unwrap();
    assert!(r.instances().iter().all(|i| i.state() == State::Master));
}

#[test]
fn the_master_s_next_advert_cancels_a_wish_to_take_over() {
    // In a group, a member that wanted master on PeerDown but then hears
    // the master again (only BFD failed) follows it again.
    let mut r = group_of_two_on_lb2();
    let a = |vrid| Event::AdvertReceived {
        src: LB1,
        advert: advert(vrid, 150),
    };
    r.handle(ms(10), 0, a(51)).unwrap();
    r.handle(ms(10), 1, a(52)).unwrap();
    r.handle(ms(40), 0, Event::PeerDown { peer: LB1 }).unwrap();
    r.handle(ms(110), 0, a(51)).unwrap();
    assert!(!r.instances()[0].wants_master());
    r.handle(ms(110), 1, Event::PeerDown { peer: LB1 }).unwrap();
    assert!(r.instances().iter().all(|i| i.state() == State::Backup));
}

// ----- two balancers on a virtual clock ---------------------------------------

/// One-way delay of every packet on the simulated LAN.
const DELAY: Duration = Duration::from_micros(200);
const BFD_MS: u32 = 10;
const BFD_MULT: u8 = 3;

enum Packet {
    Vrrp(Vec<u8>),
    Bfd(Vec<u8>),
}

struct Node {
    addr: IpAddr,
    router: Router,
    bfd: Session,
    /// The `track_bfd` entry's tracker: (index, invert).
    tracker: (usize, bool),
    takeover: bool,
    alive: bool,
}

/// What one run saw.
#[derive(Default)]
struct Trace {
    /// (time, node, from, to, reason) of every VRRP state change.
    states: Vec<(Time, usize, State, State, Reason)>,
    /// (time, node) of every BFD session leaving Up.
    bfd_down: Vec<(Time, usize)>,
}

struct Lan {
    now: Time,
    seq: u64,
    nodes: [Node; 2],
    queue: BinaryHeap<Reverse<(Time, u64, usize)>>,
    packets: Vec<Option<(usize, Packet)>>,
    /// BFD Control packets are lost while true; VRRP still flows.
    bfd_cut: bool,
    trace: Trace,
}

impl Lan {
    /// lb1 (priority 150) and lb2 (100), each tracking its session to the
    /// other with weight -1; `takeover` on lb2's entry with `tandem_takeover`.
    fn new(takeover: bool, lower_prio_no_advert: bool) -> Lan {
        let node = |i: usize, addr: IpAddr, prio: u8, takeover: bool| {
            let mut p = params("VI_1", 51, addr, prio);
            p.lower_prio_no_advert = lower_prio_no_advert;
            let (t, invert) = TrackerParams::for_bfd("bfd peer", -1, false);
            p.trackers = vec![t];
            let bfd = SessionParams {
                desired_min_tx_us: BFD_MS * 1000,
                required_min_rx_us: BFD_MS * 1000,
                idle_tx_us: 1_000_000,
                detect_mult: BFD_MULT,
                passive: false,
                ttl: 255,
                max_hops: 0,
            };
            Node {
                addr,
                router: Router::new(vec![p], vec![], Time::ZERO).unwrap(),
                bfd: Session::new(bfd, 0x100 + i as u32, 0, 7 + i as u64),
                tracker: (0, invert),
                takeover,
                alive: true,
            }
        };
        let mut lan = Lan {
            now: Time::ZERO,
            seq: 0,
            nodes: [node(0, LB1, 150, false), node(1, LB2, 100, takeover)],
            queue: BinaryHeap::new(),
            packets: Vec::new(),
            bfd_cut: false,
            trace: Trace::default(),
        };
        for n in 0..2 {
            lan.nodes[n].router.broadcast(Time::ZERO, Event::Startup);
            lan.after(n);
        }
        lan
    }

    fn send(&mut self, from: usize, p: Packet) {
        self.seq += 1;
        self.packets.push(Some((1 - from, p)));
        let at = self.now + DELAY;
        self.queue
            .push(Reverse((at, self.seq, self.packets.len() - 1)));
    }

    /// Carry out node `n`'s VRRP actions and send its BFD packets.
    fn after(&mut self, n: usize) {
        while let Some((id, a)) = self.nodes[n].router.poll_action() {
            match a {
                Action::SendAdvert { priority } => {
                    let repr = self.nodes[n].router.instances()[id].advert(priority);
                    let IpAddr::V4(src) = self.nodes[n].addr else {
                        unreachable!()
                    };
                    let bytes =
                        encode_ipv4(&repr, src, MULTICAST_V4, 1, CodecOptions::default()).unwrap();
                    self.send(n, Packet::Vrrp(bytes));
                }
                Action::StateChanged { from, to, reason } => {
                    self.trace.states.push((self.now, n, from, to, reason));
                }
                _ => {}
            }
        }
        while let Some(p) = self.nodes[n].bfd.poll_transmit(self.now.as_micros()) {
            self.send(n, Packet::Bfd(p.encode().to_vec()));
        }
    }

    /// A BFD transition on node `n`: the tracker moves, and on leaving Up
    /// a `tandem_takeover` entry tells the instance, as the daemon does.
    fn bfd_changed(&mut self, n: usize, from: BfdState, to: BfdState) {
        if (from == BfdState::Up) == (to == BfdState::Up) {
            return;
        }
        let up = to == BfdState::Up;
        let (tracker, invert) = self.nodes[n].tracker;
        let now = self.now;
        let node = &mut self.nodes[n];
        node.router
            .handle(
                now,
                0,
                Event::TrackerChanged {
                    tracker,
                    up: up != invert,
                },
            )
            .unwrap();
        if !up {
            self.trace.bfd_down.push((now, n));
            if node.takeover {
                let peer = self.nodes[1 - n].addr;
                self.nodes[n]
                    .router
                    .handle(now, 0, Event::PeerDown { peer })
                    .unwrap();
            }
        }
    }

    fn deliver(&mut self, to: usize, p: Packet) {
        if !self.nodes[to].alive {
            return;
        }
        let now = self.now;
        match p {
            Packet::Vrrp(bytes) => {
                let rx = decode_ipv4(&bytes, CodecOptions::default()).unwrap();
                let ev = Event::AdvertReceived {
                    src: rx.envelope.src,
                    advert: rx.repr,
                };
                let _ = self.nodes[to].router.handle(now, 0, ev);
            }
            Packet::Bfd(bytes) => {
                if self.bfd_cut {
                    return;
                }
                let cp = ControlPacket::decode(&bytes).unwrap();
                let before = self.nodes[to].bfd.state();
                if let Ok(Some(t)) = self.nodes[to].bfd.receive(now.as_micros(), &cp, Some(255)) {
                    self.bfd_changed(to, before, t.to);
                }
            }
        }
        self.after(to);
    }

    fn next_event(&self) -> Option<Time> {
        let packet = self.queue.peek().map(|Reverse((t, _, _))| *t);
        let timers = self.nodes.iter().filter(|n| n.alive).flat_map(|n| {
            let bfd = n
                .bfd
                .next_deadline(self.now.as_micros())
                .map(Time::from_micros);
            [n.router.poll_timeout(), bfd]
        });
        timers.chain([packet]).flatten().min()
    }

    fn run_until(&mut self, until: Time) {
        while let Some(at) = self.next_event().filter(|t| *t <= until) {
            self.now = self.now.max(at);
            while let Some(Reverse((t, _, i))) = self.queue.peek().copied() {
                if t > self.now {
                    break;
                }
                self.queue.pop();
                if let Some((to, p)) = self.packets[i].take() {
                    self.deliver(to, p);
                }
            }
            for n in 0..2 {
                if !self.nodes[n].alive {
                    continue;
                }
                let now = self.now;
                self.nodes[n].router.handle_timeout(now);
                let before = self.nodes[n].bfd.state();
                if let Some(t) = self.nodes[n].bfd.handle_timeout(now.as_micros()) {
                    self.bfd_changed(n, before, t.to);
                }
                self.after(n);
            }
        }
        self.now = until;
    }

    fn state(&self, n: usize) -> State {
        self.nodes[n].router.instances()[0].state()
    }

    /// Run until lb1 is master, lb2 backup behind it and both sessions Up.
    fn settle(&mut self) -> Time {
        self.run_until(ms(5000));
        assert_eq!(
            (self.state(0), self.state(1)),
            (State::Master, State::Backup)
        );
        assert!(self.nodes.iter().all(|n| n.bfd.state() == BfdState::Up));
        self.trace = Trace::default();
        self.now
    }

    /// The first time lb2 became master, after `since`.
    fn lb2_master_at(&self) -> Option<(Time, Reason)> {
        self.trace
            .states
            .iter()
            .find(|(_, n, _, to, _)| *n == 1 && *to == State::Master)
            .map(|(t, _, _, _, r)| (*t, *r))
    }
}

/// Master_Down_Interval of lb2: 3 × 100 ms + (256 − 100) × 100 / 256 ms.
const MDI: Duration = Duration::from_micros(360_937);
/// The BFD detection time: 3 × 10 ms.
const DETECT: Duration = Duration::from_millis(30);

#[test]
fn a_dead_master_is_replaced_within_the_bfd_detection_time() {
    for takeover in [true, false] {
        let mut lan = Lan::new(takeover, false);
        let t0 = lan.settle();
        // lb1 dies: nothing more from it (what is on the wire arrives).
        lan.run_until(t0 + Duration::from_millis(1));
        let died = lan.now;
        lan.nodes[0].alive = false;
        lan.run_until(died + Duration::from_secs(2));
        let (at, reason) = lan.lb2_master_at().expect("lb2 took over");
        let after = at.saturating_duration_since(died);
        if takeover {
            // Detected within one detection time of lb1's last Control
            // packet, which left at most one (jittered) 10 ms interval
            // before its death; the takeover is in the same instant.
            assert_eq!(reason, Reason::PeerDown);
            assert_eq!(lan.trace.bfd_down.first().map(|d| d.0), Some(at));
            assert!(
                after <= DETECT + DELAY,
                "took over {after:?} after the death"
            );
            assert!(
                after >= DETECT - Duration::from_millis(BFD_MS.into()),
                "{after:?}"
            );
        } else {
            // keepalived's meaning: the session's fall moves the priority
            // only; Master_Down_Interval after lb1's last advert.
            assert_eq!(reason, Reason::MasterDown);
            assert!(after > MDI - Duration::from_millis(100), "{after:?}");
            assert!(after <= MDI + DELAY, "{after:?}");
        }
    }
}

/// The safety case: BFD fails between two live balancers. lb2 takes over,
/// lb1 (priority 150) hears the lower-priority advert and answers it at
/// once (keepalived's and tandem's default), lb2 hears that and steps
/// back (RFC 5798 §6.4.3): two masters for one network round trip. With
/// `lower_prio_no_advert` lb1 answers only at its next interval: the
/// window is bounded by advert_int. Either way it ends, lb1 stays master
/// throughout, and lb2 does not take over again while BFD stays down.
#[test]
fn a_bfd_only_fault_gives_a_short_dual_master_that_ends() {
    for (no_advert, bound) in [
        (false, DELAY * 2),
        (true, Duration::from_millis(100) + DELAY),
    ] {
        let mut lan = Lan::new(true, no_advert);
        let t0 = lan.settle();
        lan.bfd_cut = true;
        lan.run_until(t0 + Duration::from_secs(3));
        let (up, reason) = lan.lb2_master_at().expect("lb2 took over");
        assert_eq!(reason, Reason::PeerDown);
        let lb2: Vec<_> = lan.trace.states.iter().filter(|s| s.1 == 1).collect();
        assert_eq!(
            lb2.len(),
            2,
            "lb2 became master once and left once: {lb2:?}"
        );
        let (down, _, from, to, why) = *lb2[1];
        assert_eq!(
            (from, to, why),
            (State::Master, State::Backup, Reason::HigherPriorityAdvert)
        );
        let window = down.saturating_duration_since(up);
        assert!(
            window <= bound,
            "dual master for {window:?} (bound {bound:?})"
        );
        assert!(window > Duration::ZERO);
        // lb1 never left MASTER; at the end one master, lb1.
        assert!(
            lan.trace.states.iter().all(|s| s.1 != 0),
            "{:?}",
            lan.trace.states
        );
        assert_eq!((lan.state(0), lan.state(1)), (State::Master, State::Backup));
        // BFD back: the sessions come Up again and nothing moves.
        lan.bfd_cut = false;
        let healed = lan.now;
        lan.run_until(healed + Duration::from_secs(5));
        assert!(lan.nodes.iter().all(|n| n.bfd.state() == BfdState::Up));
        assert_eq!((lan.state(0), lan.state(1)), (State::Master, State::Backup));
        assert_eq!(lan.trace.states.iter().filter(|s| s.1 == 1).count(), 2);
    }
}
