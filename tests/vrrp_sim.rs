//! Deterministic simulation of VRRP routers on a shared LAN.
//!
//! Each simulated router runs the real `tandem::vrrp::Router` (every
//! instance plus its sync group); adverts travel as real bytes through the
//! real codec (`encode_ipv4` / `decode_ipv4`, `to_bytes` / `decode_ipv6`).
//! The network loses, delays (and so reorders), duplicates and corrupts
//! packets and can be partitioned; routers crash and restart, links go down,
//! trackers fail, timers fire late and spuriously. Time is virtual, and
//! everything random comes from one seed, so a failing seed replays exactly.
//!
//! Invariants, checked on every run:
//! - a router holds a VRID's VIPs exactly while that instance is MASTER
//!   (never in BACKUP or FAULT), after every single event;
//! - gratuitous ARP is only sent for VIPs the router holds;
//! - a corrupted packet is never accepted;
//! - after the network heals, exactly one master per VRID within
//!   Master_Down_Interval + one advert interval (+ network delay), and it
//!   stays so (no flapping) while nothing else happens;
//! - with preemption the live router with the highest priority is master;
//! - when masters meet, the better one stays: the master standing at the
//!   end ranks (priority, then primary address) at least as high as every
//!   live router that was master since priorities last changed — so a tie
//!   goes to the higher address;
//! - with `nopreempt` a live master is not displaced: in phase 1 no router
//!   changes state during the stable hold, in phase 2 (a backup crashes and
//!   restarts) no master leaves MASTER at any moment, sync group or not;
//!   the one exception is a master advertising so slowly that the restarted
//!   router cannot hear it before its first Master_Down_Timer (see
//!   `hears_before_timeout`);
//! - members of a sync group are never split once stable: on every router
//!   they are all in the same state.
//!
//! Each checker has a guard at the end of the file that plants the
//! violation it looks for (`Sabotage`) and asserts it is reported.
//!
//! `cargo test --test vrrp_sim` runs `VRRP_SIM_SEEDS` seeds (default 2000)
//! starting at `VRRP_SIM_FIRST` (default 0).
//! A failure prints the seed, the scenario and the full trace; replay one
//! seed with `VRRP_SIM_SEED=<n> cargo test --test vrrp_sim -- --nocapture`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tandem::vrrp::packet::{self, CodecOptions, decode_ipv4, decode_ipv6, encode_ipv4};
use tandem::vrrp::{
    Action, Auth, Event, Family, InitialState, Params, Router, State, Time, TrackerParams, Version,
};

// ----- PRNG -------------------------------------------------------------------

/// SplitMix64: tiny, fast, and plenty for choosing scenarios.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True with probability `p` per million.
    fn chance(&mut self, ppm: u64) -> bool {
        self.next() % 1_000_000 < ppm
    }
}

// ----- scenario ---------------------------------------------------------------

#[derive(Debug, Clone)]
struct Scenario {
    routers: usize,
    vrids: usize,
    version: Version,
    ipv6: bool,
    /// `advert_int` per router (centiseconds). v3 routers may differ:
    /// backups must learn the master's interval (RFC 5798 §6.4.2).
    intervals: Vec<u16>,
    preempt: bool,
    sync_group: bool,
    /// Base priority per router per VRID.
    priority: Vec<Vec<u8>>,
    /// Trackers per router per VRID (weights).
    trackers: Vec<Vec<Vec<i16>>>,
    initial_master: Vec<bool>,
    loss_ppm: u64,
    dup_ppm: u64,
    corrupt_ppm: u64,
    max_delay: Duration,
    chaos: Duration,
    chaos_events: usize,
    v3_checksum_as_v2: bool,
}

impl Scenario {
    fn generate(rng: &mut Rng) -> Scenario {
        let routers = rng.range(2, 4) as usize;
        let vrids = rng.range(1, 3) as usize;
        let ipv6 = rng.chance(250_000);
        let version = if ipv6 || rng.chance(500_000) {
            Version::V3
        } else {
            Version::V2
        };
        let interval_cs = match version {
            Version::V2 => 100 * rng.range(1, 2) as u16,
            Version::V3 => rng.range(10, 200) as u16,
        };
        let intervals: Vec<u16> = if version == Version::V3 && rng.chance(300_000) {
            (0..routers).map(|_| rng.range(10, 200) as u16).collect()
        } else {
            vec![interval_cs; routers]
        };
        let fastest = intervals.iter().copied().min().unwrap_or(interval_cs);
        let slowest = intervals.iter().copied().max().unwrap_or(interval_cs);
        let preempt = rng.chance(700_000);
        let sync_group = vrids > 1 && rng.chance(500_000);
        let mut priority = Vec::new();
        let mut trackers = Vec::new();
        for _ in 0..routers {
            // Priorities collide on purpose now and then (ties broken by
            // address); an owner appears only with preemption (keepalived
            // refuses nopreempt for an owner).
            let base = if preempt && rng.chance(100_000) {
                255
            } else {
                rng.range(1, 8) as u8 * 30
            };
            let mut per_vrid = Vec::new();
            let mut tr = Vec::new();
            for _ in 0..vrids {
                // A sync group needs the same ranking on every member:
                // bases are 30 apart, so a per-member offset below 30 keeps
                // it while giving members different skew times.
                per_vrid.push(if base == 255 {
                    base
                } else if sync_group {
                    base + 7 * per_vrid.len() as u8
                } else {
                    rng.range(1, 8) as u8 * 30
                });
                let n = rng.range(0, 2);
                tr.push(
                    (0..n)
                        .map(|_| {
                            if sync_group || rng.chance(400_000) {
                                0
                            } else {
                                -(rng.range(1, 100) as i16)
                            }
                        })
                        .collect(),
                );
            }
            priority.push(per_vrid);
            trackers.push(tr);
        }
        let fastest = Duration::from_millis(u64::from(fastest) * 10);
        let slowest = Duration::from_millis(u64::from(slowest) * 10);
        Scenario {
            routers,
            vrids,
            version,
            ipv6,
            intervals,
            preempt,
            sync_group,
            priority,
            trackers,
            // keepalived clears nopreempt under `state MASTER`; covered by
            // a unit test, kept apart here so nopreempt seeds mean it.
            initial_master: (0..routers)
                .map(|_| preempt && rng.chance(200_000))
                .collect(),
            loss_ppm: rng.range(0, 300_000),
            dup_ppm: rng.range(0, 100_000),
            corrupt_ppm: rng.range(0, 20_000),
            max_delay: fastest * rng.range(0, 25) as u32 / 100,
            chaos: slowest * rng.range(5, 40) as u32,
            chaos_events: rng.range(0, 10) as usize,
            v3_checksum_as_v2: !ipv6 && version == Version::V3 && rng.chance(300_000),
        }
    }

    /// The slowest router's interval: what bounds convergence.
    fn interval(&self) -> Duration {
        let cs = self.intervals.iter().copied().max().unwrap_or(100);
        Duration::from_millis(u64::from(cs) * 10)
    }

    /// The fastest router's interval: how often to look.
    fn interval_min(&self) -> Duration {
        let cs = self.intervals.iter().copied().min().unwrap_or(100);
        Duration::from_millis(u64::from(cs) * 10)
    }

    fn addr(&self, router: usize) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 10 + router as u16))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + router as u8))
        }
    }

    /// An address below (`low`) or above every router's own.
    fn beyond(&self, low: bool) -> IpAddr {
        match (self.ipv6, low) {
            (true, true) => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            (true, false) => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xff)),
            (false, true) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            (false, false) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 250)),
        }
    }

    fn vip(&self, vrid: usize) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, vrid as u16))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100 + vrid as u8))
        }
    }

    fn group(&self) -> IpAddr {
        if self.ipv6 {
            IpAddr::V6(packet::MULTICAST_V6)
        } else {
            IpAddr::V4(packet::MULTICAST_V4)
        }
    }

    fn params(&self, router: usize) -> Vec<Params> {
        (0..self.vrids)
            .map(|k| {
                let mut p = Params::new(format!("VI_{k}"), 1 + k as u8, self.addr(router));
                p.version = self.version;
                p.priority = self.priority[router][k];
                p.advert_int = self.intervals[router];
                p.preempt = self.preempt;
                p.vips = vec![self.vip(k)];
                if self.version == Version::V2 && k == 0 {
                    p.auth = Auth::pass(b"tandem");
                }
                p.initial_state = if self.initial_master[router] {
                    InitialState::Master
                } else {
                    InitialState::Backup
                };
                p.trackers = self.trackers[router][k]
                    .iter()
                    .enumerate()
                    .map(|(i, w)| TrackerParams {
                        name: format!("chk{i}"),
                        weight: *w,
                        reverse: false,
                        initially_up: true,
                    })
                    .collect();
                p.codec = CodecOptions {
                    v3_checksum_as_v2: self.v3_checksum_as_v2,
                    ..CodecOptions::default()
                };
                p.garp_master_delay = Some(Duration::from_secs(5));
                p
            })
            .collect()
    }

    fn groups(&self) -> Vec<Vec<usize>> {
        if self.sync_group {
            vec![(0..self.vrids).collect()]
        } else {
            Vec::new()
        }
    }
}

// ----- simulation -------------------------------------------------------------

#[derive(Debug, Clone)]
enum Ev {
    Deliver {
        to: usize,
        from: usize,
        bytes: Vec<u8>,
        corrupted: bool,
    },
    Crash(usize),
    /// Clean stop (SIGTERM): priority 0, VIPs released, then gone.
    Shutdown(usize),
    Restart(usize),
    Partition(Vec<u8>),
    LinkDown(usize),
    LinkUp(usize),
    Tracker {
        router: usize,
        vrid: usize,
        tracker: usize,
        up: bool,
    },
    SpuriousTimer(usize),
    Heal,
}

/// A deliberate fault in the simulated routers or network, used only by the
/// guards at the end of this file to prove that each invariant checker
/// catches the violation it is written for (a checker that never fires
/// proves nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sabotage {
    None,
    /// This router drops every advert it receives: after the heal it stays
    /// master beside the real one.
    Deaf(usize),
    /// This router runs with `nopreempt` although the scenario preempts.
    NoPreempt(usize),
    /// This router preempts although the scenario does not, once it is
    /// restarted (its first start is as configured).
    PreemptsOnRestart(usize),
    /// This router is built without the scenario's sync group, so its
    /// instances move on their own.
    NoSyncGroup(usize),
    /// Every receiver is told the sender's address is on the other side of
    /// its own, so two masters of equal priority resolve the tie in favour
    /// of the lower address.
    LowerAddressWinsTies,
}

struct Node {
    router: Option<Router>,
    link_up: bool,
    side: u8,
    vips_held: Vec<bool>,
    trackers_up: Vec<Vec<bool>>,
}

struct Sim<'a> {
    sc: &'a Scenario,
    rng: Rng,
    now: Time,
    seq: u64,
    queue: BinaryHeap<Reverse<(Time, u64, usize)>>,
    events: Vec<Option<Ev>>,
    nodes: Vec<Node>,
    healed: bool,
    trace: Option<String>,
    /// Every state change: (time, router, instance, from, to).
    transitions: Vec<(Time, usize, usize, State, State)>,
    /// Every crash or clean stop: (time, router).
    stops: Vec<(Time, usize)>,
    /// Whether each router has been started at least once.
    started: Vec<bool>,
    ip_id: u16,
    pub steps: u64,
    /// VRIDs held to invariant 2 under nopreempt in phase 2 (reported, so a
    /// change that makes the check vacuous shows).
    nopreempt_checked: u64,
    sabotage: Sabotage,
}

type Check = Result<(), String>;

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario, rng: Rng, trace: bool) -> Sim<'a> {
        let nodes = (0..sc.routers)
            .map(|r| Node {
                router: None,
                link_up: true,
                side: 0,
                vips_held: vec![false; sc.vrids],
                trackers_up: sc.trackers[r].iter().map(|t| vec![true; t.len()]).collect(),
            })
            .collect();
        Sim {
            sc,
            rng,
            now: Time::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            nodes,
            healed: false,
            trace: trace.then(String::new),
            transitions: Vec::new(),
            stops: Vec::new(),
            started: vec![false; sc.routers],
            ip_id: 0,
            steps: 0,
            nopreempt_checked: 0,
            sabotage: Sabotage::None,
        }
    }

    fn log(&mut self, f: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            let line = f();
            let _ = writeln!(t, "{:>14} {line}", self.now.to_string());
        }
    }

    fn schedule(&mut self, at: Time, ev: Ev) {
        self.seq += 1;
        self.events.push(Some(ev));
        self.queue
            .push(Reverse((at, self.seq, self.events.len() - 1)));
    }

    fn start(&mut self, r: usize) -> Check {
        let mut params = self.sc.params(r);
        let mut groups = self.sc.groups();
        match self.sabotage {
            Sabotage::NoPreempt(x) if x == r => {
                params.iter_mut().for_each(|p| p.preempt = false);
            }
            Sabotage::PreemptsOnRestart(x) if x == r && self.started[r] => {
                params.iter_mut().for_each(|p| p.preempt = true);
            }
            Sabotage::NoSyncGroup(x) if x == r => groups.clear(),
            _ => {}
        }
        self.started[r] = true;
        let mut router =
            Router::new(params, groups, self.now).map_err(|e| format!("router {r}: {e}"))?;
        for k in 0..self.sc.vrids {
            for (t, up) in self.nodes[r].trackers_up[k].clone().into_iter().enumerate() {
                if !up {
                    let _ = router.handle(self.now, k, Event::TrackerChanged { tracker: t, up });
                }
            }
        }
        if !self.nodes[r].link_up {
            router.broadcast(self.now, Event::LinkDown);
        }
        router.broadcast(self.now, Event::Startup);
        self.nodes[r].router = Some(router);
        self.log(|| format!("r{r} start"));
        self.after(r)
    }

    /// Carries out router `r`'s actions and checks the per-event invariants.
    fn after(&mut self, r: usize) -> Check {
        loop {
            let Some(router) = self.nodes[r].router.as_mut() else {
                return Ok(());
            };
            let Some((id, action)) = router.poll_action() else {
                break;
            };
            let state = router.instances()[id].state();
            match action {
                Action::SendAdvert { priority } => {
                    let repr = router.instances()[id].advert(priority);
                    self.log(|| format!("r{r} VI_{id} send advert prio {priority}"));
                    self.transmit(r, &repr)?;
                }
                Action::AddVips => {
                    if self.nodes[r].vips_held[id] {
                        return Err(format!("r{r} VI_{id}: AddVips while holding them"));
                    }
                    self.nodes[r].vips_held[id] = true;
                }
                Action::RemoveVips => {
                    if !self.nodes[r].vips_held[id] {
                        return Err(format!("r{r} VI_{id}: RemoveVips without holding them"));
                    }
                    self.nodes[r].vips_held[id] = false;
                }
                Action::SendGratuitous | Action::SendLowerPrioGratuitous => {
                    if !self.nodes[r].vips_held[id] || state != State::Master {
                        return Err(format!("r{r} VI_{id}: gratuitous ARP for VIPs not held"));
                    }
                }
                Action::StateChanged { from, to, reason } => {
                    self.transitions.push((self.now, r, id, from, to));
                    self.log(|| format!("r{r} VI_{id} {from} -> {to} ({reason:?})"));
                }
                Action::Notify { .. }
                | Action::SetTimer { .. }
                | Action::PreemptHeld { .. }
                | Action::MasterRxLowerPri => {}
            }
        }
        let router = self.nodes[r].router.as_ref().expect("checked above");
        for (id, inst) in router.instances().iter().enumerate() {
            let master = inst.state() == State::Master;
            if master != self.nodes[r].vips_held[id] {
                return Err(format!(
                    "r{r} VI_{id}: state {} but VIPs held = {}",
                    inst.state(),
                    self.nodes[r].vips_held[id]
                ));
            }
        }
        Ok(())
    }

    fn transmit(&mut self, from: usize, repr: &tandem::vrrp::VrrpRepr) -> Check {
        if !self.nodes[from].link_up {
            return Ok(());
        }
        let opts = CodecOptions {
            v3_checksum_as_v2: self.sc.v3_checksum_as_v2,
            ..CodecOptions::default()
        };
        let src = self.sc.addr(from);
        self.ip_id = self.ip_id.wrapping_add(1);
        let bytes = match (src, self.sc.group()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => encode_ipv4(repr, s, d, self.ip_id, opts),
            (s, d) => repr.to_bytes(s, d, opts),
        }
        .map_err(|e| format!("r{from}: cannot encode {repr:?}: {e}"))?;
        let (loss, dup, corrupt) = if self.healed {
            (0, self.sc.dup_ppm, 0)
        } else {
            (self.sc.loss_ppm, self.sc.dup_ppm, self.sc.corrupt_ppm)
        };
        for to in 0..self.sc.routers {
            if to == from || self.nodes[to].side != self.nodes[from].side {
                continue;
            }
            if self.rng.chance(loss) {
                continue;
            }
            let copies = if self.rng.chance(dup) { 2 } else { 1 };
            for _ in 0..copies {
                let delay =
                    Duration::from_micros(self.rng.range(0, self.sc.max_delay.as_micros() as u64));
                let mut b = bytes.clone();
                let corrupted = self.rng.chance(corrupt);
                if corrupted {
                    let bit = self.rng.range(0, b.len() as u64 * 8 - 1) as usize;
                    b[bit / 8] ^= 1 << (bit % 8);
                }
                self.schedule(
                    self.now + delay,
                    Ev::Deliver {
                        to,
                        from,
                        bytes: b,
                        corrupted,
                    },
                );
            }
        }
        Ok(())
    }

    fn deliver(&mut self, to: usize, from: usize, bytes: &[u8], corrupted: bool) -> Check {
        if !self.nodes[to].link_up || self.nodes[to].router.is_none() {
            return Ok(());
        }
        let opts = CodecOptions {
            v3_checksum_as_v2: self.sc.v3_checksum_as_v2,
            ..CodecOptions::default()
        };
        let decoded = match self.sc.addr(from) {
            IpAddr::V4(_) => decode_ipv4(bytes, opts),
            IpAddr::V6(s) => decode_ipv6(s, packet::MULTICAST_V6, 255, bytes, opts),
        };
        if self.sabotage == Sabotage::Deaf(to) {
            return Ok(());
        }
        let mut rx = match decoded {
            Ok(rx) => {
                if corrupted {
                    return Err(format!("r{to}: accepted a corrupted packet from r{from}"));
                }
                rx
            }
            Err(e) => {
                if !corrupted {
                    return Err(format!("r{to}: rejected a good packet from r{from}: {e}"));
                }
                self.log(|| format!("r{to} drop corrupted from r{from}: {e}"));
                return Ok(());
            }
        };
        if self.sabotage == Sabotage::LowerAddressWinsTies {
            rx.envelope.src = self.sc.beyond(from > to);
        }
        let router = self.nodes[to].router.as_mut().expect("checked above");
        let family = Family::of(&rx.envelope.src);
        let Some(id) = router.find(rx.repr.vrid, family) else {
            return Err(format!("r{to}: no instance for VRID {}", rx.repr.vrid));
        };
        let prio = rx.repr.priority;
        let res = router.handle(
            self.now,
            id,
            Event::AdvertReceived {
                src: rx.envelope.src,
                advert: rx.repr,
            },
        );
        if let Err(e) = res {
            return Err(format!("r{to} VI_{id}: refused a good advert: {e}"));
        }
        self.log(|| format!("r{to} VI_{id} recv prio {prio} from r{from}"));
        self.after(to)
    }

    fn apply(&mut self, ev: Ev) -> Check {
        match ev {
            Ev::Deliver {
                to,
                from,
                bytes,
                corrupted,
            } => self.deliver(to, from, &bytes, corrupted)?,
            Ev::Crash(r) => {
                if self.nodes[r].router.take().is_some() {
                    self.stops.push((self.now, r));
                    // The machine is gone, and the VIPs with it.
                    self.nodes[r].vips_held.iter_mut().for_each(|v| *v = false);
                    self.log(|| format!("r{r} crash"));
                }
            }
            Ev::Shutdown(r) => {
                if self.nodes[r].router.is_some() {
                    self.log(|| format!("r{r} shutdown"));
                    let now = self.now;
                    if let Some(router) = self.nodes[r].router.as_mut() {
                        router.broadcast(now, Event::Shutdown);
                    }
                    self.after(r)?;
                    if let Some(k) = self.nodes[r].vips_held.iter().position(|v| *v) {
                        return Err(format!("r{r} VI_{k}: VIPs still held after shutdown"));
                    }
                    self.nodes[r].router = None;
                    self.stops.push((self.now, r));
                }
            }
            Ev::Restart(r) => {
                if self.nodes[r].router.is_none() {
                    self.start(r)?;
                }
            }
            Ev::Partition(sides) => {
                self.log(|| format!("partition {sides:?}"));
                for (n, s) in self.nodes.iter_mut().zip(sides) {
                    n.side = s;
                }
            }
            Ev::LinkDown(r) | Ev::LinkUp(r) => {
                let up = matches!(ev, Ev::LinkUp(_));
                self.nodes[r].link_up = up;
                self.log(|| format!("r{r} link {}", if up { "up" } else { "down" }));
                if let Some(router) = self.nodes[r].router.as_mut() {
                    router.broadcast(self.now, if up { Event::LinkUp } else { Event::LinkDown });
                    self.after(r)?;
                }
            }
            Ev::Tracker {
                router: r,
                vrid,
                tracker,
                up,
            } => {
                self.nodes[r].trackers_up[vrid][tracker] = up;
                self.log(|| {
                    format!(
                        "r{r} VI_{vrid} tracker {tracker} {}",
                        if up { "up" } else { "down" }
                    )
                });
                if let Some(router) = self.nodes[r].router.as_mut() {
                    let _ = router.handle(self.now, vrid, Event::TrackerChanged { tracker, up });
                    self.after(r)?;
                }
            }
            Ev::SpuriousTimer(r) => {
                if let Some(router) = self.nodes[r].router.as_mut() {
                    for id in 0..self.sc.vrids {
                        let _ = router.handle(self.now, id, Event::Timer);
                    }
                    self.after(r)?;
                }
            }
            Ev::Heal => {
                self.log(|| "heal".to_string());
                self.healed = true;
                for r in 0..self.sc.routers {
                    self.nodes[r].side = 0;
                    if !self.nodes[r].link_up {
                        self.apply(Ev::LinkUp(r))?;
                    }
                    for k in 0..self.sc.vrids {
                        for t in 0..self.nodes[r].trackers_up[k].len() {
                            if !self.nodes[r].trackers_up[k][t] {
                                self.apply(Ev::Tracker {
                                    router: r,
                                    vrid: k,
                                    tracker: t,
                                    up: true,
                                })?;
                            }
                        }
                    }
                    if self.nodes[r].router.is_none() {
                        self.start(r)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs until `until`, timers firing late by up to 2 ms.
    fn run_until(&mut self, until: Time) -> Check {
        loop {
            let next_ev = self.queue.peek().map(|Reverse((t, _, _))| *t);
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(r, n)| {
                    n.router
                        .as_ref()
                        .and_then(|x| x.poll_timeout())
                        .map(|t| (t, r))
                })
                .min();
            let timer_at = next_timer.map(|(t, _)| t);
            let next = match (next_ev, timer_at) {
                (Some(e), Some(t)) => e.min(t),
                (Some(e), None) => e,
                (None, Some(t)) => t,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.steps += 1;
            if self.steps > 5_000_000 {
                return Err("runaway: too many events".into());
            }
            if next_ev == Some(next) {
                let Some(Reverse((t, _, idx))) = self.queue.pop() else {
                    break;
                };
                self.now = self.now.max(t);
                let ev = self.events[idx].take().expect("each event runs once");
                self.apply(ev)?;
            } else if let Some((t, r)) = next_timer {
                let jitter = Duration::from_micros(self.rng.range(0, 2000));
                self.now = self.now.max(t + jitter);
                let now = self.now;
                if let Some(router) = self.nodes[r].router.as_mut() {
                    router.handle_timeout(now);
                }
                self.after(r)?;
            }
            self.check_groups_in_step()?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Sync-group members agree on every router after every event, except
    /// transiently (a group transition is made of several member moves within
    /// one event, so after an event they must agree unless waiting).
    fn check_groups_in_step(&self) -> Check {
        if !self.sc.sync_group {
            return Ok(());
        }
        for (r, n) in self.nodes.iter().enumerate() {
            if let Some(router) = &n.router {
                let states: Vec<State> = router.instances().iter().map(|i| i.state()).collect();
                if states.iter().any(|s| *s != states[0]) {
                    return Err(format!("r{r}: sync group split: {states:?}"));
                }
            }
        }
        Ok(())
    }

    fn masters(&self, vrid: usize) -> Vec<usize> {
        (0..self.sc.routers)
            .filter(|&r| {
                self.nodes[r]
                    .router
                    .as_ref()
                    .is_some_and(|x| x.instances()[vrid].state() == State::Master)
            })
            .collect()
    }

    fn effective_priority(&self, r: usize, vrid: usize) -> Option<u8> {
        self.nodes[r]
            .router
            .as_ref()
            .map(|x| x.instances()[vrid].effective_priority())
    }

    /// Exactly one master per VRID, now.
    fn one_master_each(&self) -> Result<Vec<usize>, String> {
        (0..self.sc.vrids)
            .map(|k| match self.masters(k).as_slice() {
                [m] => Ok(*m),
                other => Err(format!("VRID {}: masters {other:?}", k + 1)),
            })
            .collect()
    }

    /// With preemption, the master has the highest priority of all live
    /// routers, and among routers of that priority it is the one with the
    /// highest address that took part in the election (see [`check_ties`]).
    fn check_highest(&self, masters: &[usize], since: Time) -> Check {
        for (k, &m) in masters.iter().enumerate() {
            let best = (0..self.sc.routers)
                .filter_map(|r| self.effective_priority(r, k))
                .max();
            if self.effective_priority(m, k) != best {
                return Err(format!(
                    "VRID {}: master r{m} has priority {:?}, highest live is {best:?}",
                    k + 1,
                    self.effective_priority(m, k)
                ));
            }
        }
        self.check_ties(masters, since)
    }

    /// Two masters that meet keep the better one: higher priority, then on
    /// equal priority the higher primary address (RFC 5798 §6.4.3, RFC 3768
    /// §6.4.3). So the master standing now must rank at least as high as
    /// every live router that was master at any moment since `since`
    /// (when priorities stopped changing). A backup of equal priority and
    /// higher address that never was master is no violation: a backup
    /// accepts an advert of equal priority whatever its source (§6.4.2),
    /// with or without preemption, so it rightly stays backup.
    fn check_ties(&self, masters: &[usize], since: Time) -> Check {
        for (k, &m) in masters.iter().enumerate() {
            let rank = |r: usize| (self.effective_priority(r, k), self.sc.addr(r));
            let was_master = |r: usize| {
                self.transitions.iter().any(|&(t, x, id, from, to)| {
                    t >= since
                        && x == r
                        && id == k
                        && (from == State::Master || to == State::Master)
                })
            };
            let stopped = |r: usize| self.stops.iter().any(|&(t, x)| t >= since && x == r);
            for r in 0..self.sc.routers {
                if r == m || self.nodes[r].router.is_none() || stopped(r) || !was_master(r) {
                    continue;
                }
                if rank(r) > rank(m) {
                    let what = if rank(r).0 == rank(m).0 {
                        "tie won by the lower address"
                    } else {
                        "a worse master won"
                    };
                    return Err(format!(
                        "VRID {}: {what}: r{m} {:?} is master, r{r} {:?} was master too since {since}",
                        k + 1,
                        rank(m),
                        rank(r)
                    ));
                }
            }
        }
        Ok(())
    }

    /// No router left MASTER for VRID `k` since `since`: the nopreempt
    /// invariant, checked on every transition rather than on samples.
    fn check_not_displaced(&self, masters: &[usize], since: Time, skip: &[usize]) -> Check {
        for (k, &m) in masters.iter().enumerate() {
            if skip.contains(&k) {
                continue;
            }
            if let Some((t, ..)) = self.transitions.iter().find(|&&(t, x, id, from, _)| {
                t >= since && x == m && id == k && from == State::Master
            }) {
                return Err(format!(
                    "nopreempt: live master r{m} of VRID {} displaced at {t}",
                    k + 1
                ));
            }
        }
        Ok(())
    }

    /// Bound for convergence after a disturbance: Master_Down_Interval (at
    /// most 3 × interval + skew) + one advert interval + network delay, plus
    /// the 2 ms timer lateness.
    fn settle_time(&self) -> Duration {
        let i = self.sc.interval();
        let skew_max = match self.sc.version {
            Version::V2 => Duration::from_secs(1),
            Version::V3 => i,
        };
        3 * i + skew_max + i + 2 * self.sc.max_delay + Duration::from_millis(10)
    }

    /// Checks one master per VRID from now until `until`, every
    /// ~interval/4, and that no router changes state at all meanwhile
    /// (nothing happens on the network, so a master that stepped down and
    /// came back between two samples would be flapping; with `nopreempt`
    /// this is also invariant 2 in its plainest form: a live master every
    /// other router hears is not displaced).
    fn hold_one_master(&mut self, until: Time) -> Result<Vec<usize>, String> {
        let first = self.one_master_each()?;
        let since = self.now;
        let step = self.sc.interval_min() / 4;
        while self.now < until {
            let next = (self.now + step).min(until);
            self.run_until(next)?;
            let now = self.one_master_each()?;
            if now != first {
                return Err(format!(
                    "master changed without cause: {first:?} -> {now:?}"
                ));
            }
            if let Some((t, r, k, from, to)) = self.transitions.iter().find(|&&(t, ..)| t > since) {
                return Err(format!(
                    "r{r} VI_{k} {from} -> {to} at {t} during a stable hold"
                ));
            }
        }
        Ok(first)
    }
}

struct Outcome {
    steps: u64,
    nopreempt_checked: u64,
}

fn run(seed: u64, trace: bool) -> (Result<Outcome, String>, Scenario, Option<String>) {
    let mut rng = Rng(seed);
    let sc = Scenario::generate(&mut rng);
    let mut sim = Sim::new(&sc, Rng(rng.next()), trace);
    let result = drive(&mut sim);
    (
        result.map(|_| Outcome {
            steps: sim.steps,
            nopreempt_checked: sim.nopreempt_checked,
        }),
        sc.clone(),
        sim.trace.take(),
    )
}

fn drive(sim: &mut Sim) -> Check {
    let sc = sim.sc;
    // Routers start at random moments in the first two intervals.
    for r in 0..sc.routers {
        let at = Time::ZERO
            + Duration::from_micros(sim.rng.range(0, 2 * sc.interval().as_micros() as u64));
        sim.schedule(at, Ev::Restart(r));
    }
    // Chaos.
    let chaos_end = Time::ZERO + sc.chaos;
    for _ in 0..sc.chaos_events {
        let at = Time::ZERO + Duration::from_micros(sim.rng.range(0, sc.chaos.as_micros() as u64));
        let r = sim.rng.range(0, sc.routers as u64 - 1) as usize;
        let ev = match sim.rng.range(0, 7) {
            0 => Ev::Crash(r),
            7 => Ev::Shutdown(r),
            1 => Ev::Restart(r),
            2 => Ev::Partition((0..sc.routers).map(|_| sim.rng.range(0, 1) as u8).collect()),
            3 => Ev::LinkDown(r),
            4 => Ev::LinkUp(r),
            5 => Ev::SpuriousTimer(r),
            _ => {
                let vrid = sim.rng.range(0, sc.vrids as u64 - 1) as usize;
                let n = sc.trackers[r][vrid].len();
                if n == 0 {
                    Ev::SpuriousTimer(r)
                } else {
                    Ev::Tracker {
                        router: r,
                        vrid,
                        tracker: sim.rng.range(0, n as u64 - 1) as usize,
                        up: sim.rng.chance(400_000),
                    }
                }
            }
        };
        sim.schedule(at, ev);
    }
    sim.schedule(chaos_end, Ev::Heal);
    sim.run_until(chaos_end)?;
    // From here on nothing changes a priority: trackers are restored and
    // links are up.
    let healed_at = sim.now;
    // Phase 1: after the heal, one master per VRID within the bound, then
    // a stable hold in which no router changes state (with nopreempt this
    // is invariant 2: the live master everyone hears stays master).
    let settle = sim.settle_time();
    sim.run_until(chaos_end + settle)?;
    let stable_until = sim.now + sc.interval() * 10;
    let masters = sim.hold_one_master(stable_until)?;
    if sc.preempt {
        sim.check_highest(&masters, healed_at)?;
    } else {
        sim.check_ties(&masters, healed_at)?;
    }
    // Phase 2: crash and restart one router, then check who is master.
    // With nopreempt, preferably a router that is master of nothing; when
    // every router is master of some VRID (no sync group, more VRIDs than
    // routers), any router, and only the VRIDs it was not master of are
    // held to invariant 2.
    let idle: Vec<usize> = (0..sc.routers).filter(|r| !masters.contains(r)).collect();
    let pool: Vec<usize> = if sc.preempt || idle.is_empty() {
        (0..sc.routers).collect()
    } else {
        idle
    };
    let r = pool[sim.rng.range(0, pool.len() as u64 - 1) as usize];
    let now = sim.now;
    sim.log(|| format!("phase 2: restart r{r}"));
    sim.apply(Ev::Crash(r))?;
    sim.schedule(now + sc.interval(), Ev::Restart(r));
    sim.run_until(now + sc.interval() + settle)?;
    let until = sim.now + sc.interval() * 10;
    let after = sim.hold_one_master(until)?;
    if sc.preempt {
        sim.check_highest(&after, now)?;
    } else {
        sim.check_ties(&after, now)?;
        // Invariant 2 cannot apply to a VRID whose master was the router
        // restarted (its VIPs move by design), nor to a master that
        // advertises so much more slowly than `r` that `r` cannot hear it
        // before its first Master_Down_Timer expires (see
        // `hears_before_timeout`). Everywhere else the master must not
        // leave MASTER at any moment, not only be master again at the end.
        let skip: Vec<usize> = (0..sc.vrids)
            .filter(|&k| masters[k] == r || !hears_before_timeout(sc, r, &[masters[k]]))
            .collect();
        sim.check_not_displaced(&masters, now, &skip)?;
        sim.nopreempt_checked += (sc.vrids - skip.len()) as u64;
        for k in (0..sc.vrids).filter(|k| !skip.contains(k)) {
            if after[k] != masters[k] {
                return Err(format!(
                    "nopreempt: live master displaced: {masters:?} -> {after:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Whether router `r`, just restarted, hears every master's first advert
/// before its own first Master_Down_Timer can expire. Until it has heard
/// one, a backup can only use its own interval (RFC 5798 §6.4.1); a master
/// advertising more than three times slower is declared dead before it
/// speaks, with or without `nopreempt`. (The simulation found this; it is
/// why docs/vrrp.md asks for one advert_int per VRID.)
fn hears_before_timeout(sc: &Scenario, r: usize, masters: &[usize]) -> bool {
    let own = Duration::from_millis(u64::from(sc.intervals[r]) * 10);
    masters.iter().all(|&m| {
        let theirs = Duration::from_millis(u64::from(sc.intervals[m]) * 10);
        3 * own > theirs + sc.max_delay + Duration::from_millis(2)
    })
}

fn report_failure(seed: u64, err: &str) -> String {
    let (_, sc, trace) = run(seed, true);
    format!(
        "seed {seed} failed: {err}\nscenario: {sc:#?}\ntrace:\n{}\nreplay: VRRP_SIM_SEED={seed} cargo test --test vrrp_sim -- --nocapture",
        trace.unwrap_or_default()
    )
}

#[test]
fn simulated_elections_hold_their_invariants() {
    if let Some(seed) = std::env::var("VRRP_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let (res, sc, trace) = run(seed, true);
        println!("scenario: {sc:#?}\ntrace:\n{}", trace.unwrap_or_default());
        if let Err(e) = res {
            panic!("seed {seed}: {e}");
        }
        return;
    }
    let seeds: u64 = std::env::var("VRRP_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let first: u64 = std::env::var("VRRP_SIM_FIRST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let start = std::time::Instant::now();
    let mut steps = 0;
    let mut nopreempt = 0;
    for seed in first..first + seeds {
        match run(seed, false) {
            (Ok(o), _, _) => {
                steps += o.steps;
                nopreempt += o.nopreempt_checked;
            }
            (Err(e), _, _) => panic!("{}", report_failure(seed, &e)),
        }
    }
    println!(
        "{seeds} seeds, {steps} events, {nopreempt} VRIDs held to nopreempt in phase 2, in {:.2?}",
        start.elapsed()
    );
    assert!(
        seeds < 100 || nopreempt > seeds / 10,
        "the nopreempt invariant was hardly checked"
    );
}

#[test]
fn the_simulation_can_fail() {
    // A guard against a simulation that checks nothing: a router that
    // keeps its VIPs after stepping down must be caught.
    let mut sc = Scenario::generate(&mut Rng(1));
    sc.chaos_events = 0;
    let mut sim = Sim::new(&sc, Rng(7), false);
    sim.nodes[0].vips_held[0] = true; // pretend r0 still holds VRID 1's VIPs
    let res = drive(&mut sim);
    assert!(res.is_err(), "a stray VIP must be reported");
}

/// Runs `sc` twice with the same seeds, after scheduling `pre`: once as it
/// is, which must pass, and once with `sabotage`, which must fail with
/// `expect` in the message. The clean run shows the failure comes from the
/// sabotage and not from the scenario.
fn assert_caught(sc: &Scenario, pre: &[(Time, Ev)], sabotage: Sabotage, expect: &str) {
    for sab in [Sabotage::None, sabotage] {
        let mut sim = Sim::new(sc, Rng(7), false);
        sim.sabotage = sab;
        for (t, ev) in pre {
            sim.schedule(*t, ev.clone());
        }
        let res = drive(&mut sim);
        match (sab, res) {
            (Sabotage::None, Err(e)) => panic!("the clean run failed: {e}"),
            (Sabotage::None, Ok(())) => {}
            (_, Ok(())) => panic!("{sab:?} went unnoticed"),
            (_, Err(e)) => assert!(e.contains(expect), "{sab:?} caught, but as: {e}"),
        }
    }
}

#[test]
fn two_masters_after_the_heal_are_caught() {
    // r1 hears nothing, so it stays master beside r0.
    assert_caught(
        &clean_pair(200, 100),
        &[],
        Sabotage::Deaf(1),
        "VRID 1: masters [0, 1]",
    );
}

#[test]
fn a_lower_priority_master_under_preemption_is_caught() {
    // r0 (200) is cut off while r1 (100) becomes master; after the heal a
    // preempting r0 takes over, a non-preempting one stays backup.
    let mut sc = clean_pair(200, 100);
    sc.chaos = Duration::from_secs(10);
    assert_caught(
        &sc,
        &[(Time::ZERO, Ev::LinkDown(0))],
        Sabotage::NoPreempt(0),
        "master r1 has priority Some(100), highest live is Some(200)",
    );
}

#[test]
fn a_split_sync_group_is_caught() {
    // r0 outranks r1 in both VRIDs, but VRID 2's tracker (weight 0) is down
    // until the heal. With the group r0 is FAULT as a whole; without it r0
    // is MASTER of VRID 1 and FAULT in VRID 2.
    let mut sc = clean_pair(200, 100);
    sc.vrids = 2;
    sc.sync_group = true;
    sc.priority = vec![vec![200, 207], vec![100, 107]];
    sc.trackers = vec![vec![vec![], vec![0]], vec![vec![], vec![]]];
    sc.chaos = Duration::from_secs(10);
    let down = Ev::Tracker {
        router: 0,
        vrid: 1,
        tracker: 0,
        up: false,
    };
    assert_caught(
        &sc,
        &[(Time::ZERO, down)],
        Sabotage::NoSyncGroup(0),
        "r0: sync group split",
    );
}

#[test]
fn a_displaced_master_under_nopreempt_is_caught_also_in_a_sync_group() {
    // nopreempt, one sync group of two VRIDs. r1 (200/207) is cut off
    // while r0 (100/107) becomes master and stays so after the heal. In
    // phase 2 r1 is restarted: as configured it returns as backup; made to
    // preempt, it displaces the live master.
    let mut sc = clean_pair(100, 200);
    sc.preempt = false;
    sc.vrids = 2;
    sc.sync_group = true;
    sc.priority = vec![vec![100, 107], vec![200, 207]];
    sc.trackers = vec![vec![vec![], vec![]], vec![vec![], vec![]]];
    sc.chaos = Duration::from_secs(10);
    assert_caught(
        &sc,
        &[(Time::ZERO, Ev::LinkDown(1))],
        Sabotage::PreemptsOnRestart(1),
        "nopreempt: live master r0 of VRID 1 displaced",
    );
}

#[test]
fn a_tie_won_by_the_lower_address_is_caught() {
    // Equal priorities, partitioned apart: both become master. When the
    // network heals, r1 (192.0.2.11) must stay master and r0 (.10) yield.
    let mut sc = clean_pair(100, 100);
    sc.chaos = Duration::from_secs(10);
    assert_caught(
        &sc,
        &[(Time::ZERO, Ev::Partition(vec![0, 1]))],
        Sabotage::LowerAddressWinsTies,
        "VRID 1: tie won by the lower address",
    );
}

// ----- timing on a clean network ---------------------------------------------

/// Two routers on a perfect LAN (no loss, no delay): r0 with `p0`, r1 with
/// `p1`, VRRPv3 at 1 s.
fn clean_pair(p0: u8, p1: u8) -> Scenario {
    Scenario {
        routers: 2,
        vrids: 1,
        version: Version::V3,
        ipv6: false,
        intervals: vec![100, 100],
        preempt: true,
        sync_group: false,
        priority: vec![vec![p0], vec![p1]],
        trackers: vec![vec![vec![]], vec![vec![]]],
        initial_master: vec![false, false],
        loss_ppm: 0,
        dup_ppm: 0,
        corrupt_ppm: 0,
        max_delay: Duration::ZERO,
        chaos: Duration::ZERO,
        chaos_events: 0,
        v3_checksum_as_v2: false,
    }
}

/// Starts both routers at 0 and runs until r0 has been master for a while.
fn settled(sim: &mut Sim) -> Time {
    sim.schedule(Time::ZERO, Ev::Restart(0));
    sim.schedule(Time::ZERO, Ev::Restart(1));
    sim.healed = true;
    sim.run_until(Time::from_millis(10_500)).unwrap();
    assert_eq!(sim.one_master_each().unwrap(), vec![0]);
    sim.now
}

fn takeover_after(sim: &Sim, t: Time) -> Duration {
    let (at, ..) = sim
        .transitions
        .iter()
        .find(|(at, r, _, _, to)| *at >= t && *r == 1 && *to == State::Master)
        .expect("r1 took over");
    *at - t
}

#[test]
fn dead_master_is_replaced_after_master_down_interval() {
    let sc = clean_pair(200, 100);
    let mut sim = Sim::new(&sc, Rng(1), false);
    let t = settled(&mut sim);
    sim.apply(Ev::Crash(0)).unwrap();
    sim.run_until(t + Duration::from_secs(10)).unwrap();
    // The backup last heard r0 at most one interval before the crash, and
    // waits 3 × 1 s + (256 − 100)/256 s = 3.609375 s from then (plus at
    // most 2 ms of timer lateness).
    let took = takeover_after(&sim, t);
    assert!(
        took > Duration::from_micros(2_609_375) && took <= Duration::from_micros(3_611_375),
        "took {took:?}"
    );
    assert_eq!(sim.one_master_each().unwrap(), vec![1]);
}

#[test]
fn clean_shutdown_hands_over_within_skew_time() {
    let sc = clean_pair(200, 100);
    let mut sim = Sim::new(&sc, Rng(2), false);
    let t = settled(&mut sim);
    sim.apply(Ev::Shutdown(0)).unwrap();
    sim.run_until(t + Duration::from_secs(5)).unwrap();
    // Priority 0 → Skew_Time = 156/256 s = 609.375 ms (+ ≤ 2 ms lateness).
    let took = takeover_after(&sim, t);
    assert!(
        took >= Duration::from_micros(609_375) && took <= Duration::from_micros(611_375),
        "took {took:?}"
    );
}

#[test]
fn higher_priority_router_preempts_on_return() {
    let sc = clean_pair(200, 100);
    let mut sim = Sim::new(&sc, Rng(3), false);
    let t = settled(&mut sim);
    sim.apply(Ev::Crash(0)).unwrap();
    sim.run_until(t + Duration::from_secs(6)).unwrap();
    assert_eq!(sim.one_master_each().unwrap(), vec![1]);
    let back = sim.now;
    sim.apply(Ev::Restart(0)).unwrap();
    sim.run_until(back + Duration::from_secs(10)).unwrap();
    assert_eq!(sim.one_master_each().unwrap(), vec![0]);
    // r0 ignores r1's lower adverts and takes over after its own
    // Master_Down_Interval: 3 s + 56/256 s.
    let (at, ..) = sim
        .transitions
        .iter()
        .find(|(at, r, _, _, to)| *at >= back && *r == 0 && *to == State::Master)
        .unwrap();
    let took = *at - back;
    assert!(
        took >= Duration::from_micros(3_218_750) && took <= Duration::from_micros(3_220_750),
        "took {took:?}"
    );
}

#[test]
fn nopreempt_router_returns_as_backup() {
    let mut sc = clean_pair(200, 100);
    sc.preempt = false;
    let mut sim = Sim::new(&sc, Rng(4), false);
    let t = settled(&mut sim);
    sim.apply(Ev::Crash(0)).unwrap();
    sim.run_until(t + Duration::from_secs(6)).unwrap();
    sim.apply(Ev::Restart(0)).unwrap();
    let back = sim.now;
    sim.run_until(back + Duration::from_secs(30)).unwrap();
    assert_eq!(sim.one_master_each().unwrap(), vec![1]);
}

#[test]
fn owner_takes_over_at_once() {
    let sc = clean_pair(100, 255);
    let mut sim = Sim::new(&sc, Rng(5), false);
    sim.schedule(Time::ZERO, Ev::Restart(0));
    sim.healed = true;
    sim.run_until(Time::from_millis(10_000)).unwrap();
    assert_eq!(sim.one_master_each().unwrap(), vec![0]);
    let t = sim.now;
    sim.apply(Ev::Restart(1)).unwrap();
    sim.run_until(t + Duration::from_millis(1)).unwrap();
    assert_eq!(sim.one_master_each().unwrap(), vec![1]);
}
