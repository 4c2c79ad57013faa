//! One VRRP instance (one VRID on one interface): the sans-IO state machine
//! of RFC 5798 §6.4, with keepalived's behaviour where the two differ.
//!
//! The instance reads no clock and touches no socket. The caller feeds it
//! the current [`Time`] and one [`Event`] at a time through
//! [`Instance::handle`], drains what to do with [`Instance::poll_action`],
//! and arms one timer for [`Instance::poll_timeout`]. When that timer fires
//! it passes [`Event::Timer`]; the instance then looks at which of its own
//! deadlines have really passed in its *current* state, so a timer event
//! that went stale (the deadline moved, or the state changed meanwhile) does
//! nothing.
//!
//! ```text
//!                 Startup (owner)            Master_Down_Timer
//!   Initialize ──────────────────▶ Master ◀────────────────── Backup
//!       │  Startup                   │  higher-priority advert   ▲
//!       └────────────────────────────┼──────────────────────────▶│
//!                                    │ link down / weight-0 tracker
//!                                    ▼                           │
//!                                  Fault ────── fault cleared ───┘
//! ```
//!
//! Owns one VRID's state machine; may not do I/O (sockets, timers and the
//! clock are the daemon's).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::counters::{InstanceCounters, NewMasterReason};
use super::event::{Action, Event, Reason, State};
use super::packet::{Auth, Family, RxError, Version, VrrpRepr, ip_greater, same_addresses};
use super::params::{InitialState, Params, ParamsError, ReconfigureError};
use super::time::Time;
use super::track::effective_priority;

/// One VRRP instance.
#[derive(Debug, Clone)]
pub struct Instance {
    params: Params,
    state: State,
    effective_priority: u8,
    /// Master_Adver_Interval (RFC 5798 §6.1): learned from the master's v3
    /// adverts, our own Advertisement_Interval until then.
    master_adver_interval: Duration,
    adver_timer: Option<Time>,
    master_down_timer: Option<Time>,
    garp_timer: Option<Time>,
    /// The second lower-priority round is due (`garp_lower_prio_delay`).
    lower_prio_garp_timer: Option<Time>,
    /// When a preempt_delay started running (first lower-priority advert).
    preempt_since: Option<Time>,
    /// The last accepted advert came from a lower-priority master, so
    /// becoming master now is a preemption (for the counters).
    preempting: bool,
    /// [`Event::PreemptHold`]: no preemption before this time.
    preempt_hold: Option<Time>,
    /// The hold is keeping this backup on a lower-priority master now
    /// (reported once with [`Action::PreemptHeld`]).
    preempt_held: bool,
    /// Skew-only down timer after a priority-0 advert.
    master_left: bool,
    /// [`Event::StartupHold`].
    startup_hold: Option<Time>,
    link_up: bool,
    trackers_up: Vec<bool>,
    /// The value each `track_file` holds now (see [`Params::track_files`]).
    file_values: Vec<i64>,
    /// Whether each `track_process` has its quorum now.
    processes_up: Vec<bool>,
    /// Set by the sync group when another member is in FAULT.
    group_fault: bool,
    /// Member of a sync group with other members: an expired
    /// Master_Down_Timer only makes the instance *want* master; the group
    /// promotes it once every member wants to (see `sync_group`).
    in_sync_group: bool,
    /// Why this instance wants master (its Master_Down_Timer expired while
    /// it was held back by its sync group).
    want_master: Option<Reason>,
    /// Address and priority of the master last accepted (Backup only).
    master_seen: Option<(IpAddr, u8)>,
    counters: InstanceCounters,
    actions: VecDeque<Action>,
    armed: Option<Time>,
}

/// A snapshot of one instance for status output and the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub vrid: u8,
    pub state: State,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// Master_Adver_Interval in centiseconds (learned from the master in v3).
    pub master_adver_interval_cs: u64,
    /// The master this backup follows: its address and advertised priority.
    pub master: Option<(IpAddr, u8)>,
    /// Whether the sync group holds this instance in FAULT.
    pub group_fault: bool,
    pub counters: InstanceCounters,
}

impl Instance {
    /// Creates an instance in Initialize; nothing happens until
    /// [`Event::Startup`]. The params are [`Params::normalized`] first.
    pub fn new(params: Params, now: Time) -> Result<Instance, ParamsError> {
        params.validate()?;
        let (params, _) = params.normalized();
        let trackers_up = params.trackers.iter().map(|t| t.initially_up).collect();
        let file_values = params.track_files.iter().map(|t| t.initial_value).collect();
        let processes_up = params
            .track_processes
            .iter()
            .map(|t| t.initially_up)
            .collect();
        let mut inst = Instance {
            effective_priority: params.priority,
            master_adver_interval: params.advert_interval(),
            params,
            state: State::Initialize,
            adver_timer: None,
            master_down_timer: None,
            garp_timer: None,
            lower_prio_garp_timer: None,
            preempt_since: None,
            preempting: false,
            preempt_hold: None,
            preempt_held: false,
            master_left: false,
            startup_hold: None,
            link_up: true,
            trackers_up,
            file_values,
            processes_up,
            group_fault: false,
            in_sync_group: false,
            want_master: None,
            master_seen: None,
            counters: InstanceCounters::default(),
            actions: VecDeque::new(),
            armed: None,
        };
        inst.effective_priority = inst.compute_priority();
        inst.counters.last_transition = Some(now);
        Ok(inst)
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// A Master_Down_Timer of `d`: from now, or from the end of the
    /// startup hold while it lasts.
    fn down_timer(&self, now: Time, d: Duration) -> Option<Time> {
        let from = self.startup_hold.filter(|h| *h > now).unwrap_or(now);
        Some(from + d)
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The priority advertised now: base adjusted by tracker weights.
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// Master_Adver_Interval: the interval learned from the master (v3).
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_interval
    }

    pub fn counters(&self) -> &InstanceCounters {
        &self.counters
    }

    /// When the sync gate's hold ends, while it keeps this backup on a
    /// lower-priority master it would otherwise preempt (for the status:
    /// "preempt held: sync catching up").
    pub fn preempt_held_until(&self) -> Option<Time> {
        match self.state {
            State::Backup if self.preempt_held => self.preempt_hold,
            _ => None,
        }
    }

    /// The master this backup last accepted an advert from, with the
    /// priority it advertised. `None` while master, or before any advert.
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        match self.state {
            State::Backup => self.master_seen,
            _ => None,
        }
    }

    /// Everything an operator wants to see about this instance.
    pub fn status(&self) -> InstanceStatus {
        InstanceStatus {
            name: self.params.name.clone(),
            vrid: self.params.vrid,
            state: self.state,
            base_priority: self.params.priority,
            effective_priority: self.effective_priority,
            master_adver_interval_cs: u64::try_from(self.master_adver_interval.as_millis() / 10)
                .unwrap_or(u64::MAX),
            master: self.master(),
            group_fault: self.group_fault,
            counters: self.counters.clone(),
        }
    }

    /// Counts a packet for this instance that the codec rejected (when the
    /// daemon could still tell which instance it was for).
    pub fn record_rx_error(&mut self, err: &RxError) {
        self.counters.rx_errors.record(err);
    }

    /// Skew_Time (RFC 5798 §6.1): ((256 − Priority) × Master_Adver_Interval)
    /// / 256, in microseconds so nothing is truncated away.
    ///
    /// For v2, RFC 3768 §6.1 defines it as (256 − Priority) / 256 seconds,
    /// independent of the interval; keepalived follows that, so do we.
    pub fn skew_time(&self) -> Duration {
        let weight = 256 - u64::from(self.effective_priority);
        let base_us = match self.params.version {
            Version::V2 => 1_000_000,
            Version::V3 => {
                u64::try_from(self.master_adver_interval.as_micros()).unwrap_or(u64::MAX)
            }
        };
        Duration::from_micros(weight.saturating_mul(base_us) / 256)
    }

    /// Skew_Time with priority 255 (the smallest possible), as keepalived's
    /// VRRP_TIMER_SKEW_MIN.
    fn skew_min(&self) -> Duration {
        match self.params.version {
            Version::V2 => Duration::from_micros(1_000_000 / 256),
            Version::V3 => self.master_adver_interval / 256,
        }
    }

    /// Master_Down_Interval (RFC 5798 §6.1): 3 × Master_Adver_Interval +
    /// Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        self.master_adver_interval * 3 + self.skew_time()
    }

    /// The advert to send for [`Action::SendAdvert`].
    pub fn advert(&self, priority: u8) -> VrrpRepr {
        VrrpRepr {
            version: self.params.version,
            vrid: self.params.vrid,
            priority,
            max_adver_int: self.params.advert_int,
            auth: match self.params.version {
                Version::V2 => self.params.auth,
                Version::V3 => Auth::None,
            },
            addresses: self.params.vips.clone(),
        }
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to pass [`Event::Timer`] next.
    pub fn poll_timeout(&self) -> Option<Time> {
        [
            self.adver_timer,
            self.master_down_timer,
            self.garp_timer,
            self.lower_prio_garp_timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Feeds one event. An advert that fails a configuration-dependent
    /// check (RFC 5798 §7.1) is counted, dropped without any state change,
    /// and reported as `Err` for logging.
    pub fn handle(&mut self, now: Time, event: Event) -> Result<(), RxError> {
        let result = match event {
            Event::Startup => {
                if self.state == State::Initialize {
                    self.start(now);
                }
                Ok(())
            }
            Event::AdvertReceived { src, advert } => self.on_advert(now, src, &advert),
            Event::Timer => {
                self.on_timer(now);
                Ok(())
            }
            Event::LinkUp => {
                self.link_up = true;
                self.recheck_fault(now);
                Ok(())
            }
            Event::LinkDown => {
                // dont_track_primary: the interface's state is not ours to follow.
                self.link_up = !self.params.track_primary;
                self.recheck_fault(now);
                Ok(())
            }
            Event::TrackerChanged { tracker, up } => {
                if let Some(slot) = self.trackers_up.get_mut(tracker) {
                    *slot = up;
                    self.on_priority_inputs(now);
                }
                Ok(())
            }
            Event::TrackFileChanged { file, value } => {
                if let Some(slot) = self.file_values.get_mut(file) {
                    if *slot != value {
                        *slot = value;
                        self.on_priority_inputs(now);
                    }
                }
                Ok(())
            }
            Event::TrackProcessChanged { process, up } => {
                if let Some(slot) = self.processes_up.get_mut(process) {
                    if *slot != up {
                        *slot = up;
                        self.on_priority_inputs(now);
                    }
                }
                Ok(())
            }
            Event::PeerDown { peer } => {
                self.on_peer_down(now, peer);
                Ok(())
            }
            Event::Shutdown => {
                self.shutdown(now);
                Ok(())
            }
            Event::StartupHold { until } => {
                self.startup_hold = Some(until);
                Ok(())
            }
            Event::PreemptHold { until } => {
                if until != self.preempt_hold {
                    self.preempt_held = false;
                }
                self.preempt_hold = until;
                Ok(())
            }
        };
        self.note_timer();
        result
    }

    /// Applies a reloaded configuration to the running instance without a
    /// re-election, as keepalived does for an instance that survives a
    /// reload (it keeps its state, its effective priority inputs and its
    /// counters; only the difference is applied):
    ///
    /// - the state, the master followed, the counters and the trackers'
    ///   current states stay;
    /// - a master advertises the new priority, interval and address list at
    ///   once (RFC 5798 §6.4.3 sends adverts every Advertisement_Interval;
    ///   sending one now lets a backup that now outranks us preempt without
    ///   waiting, and tells backups the new interval), and restarts its
    ///   Adver_Timer with the new interval. A lower priority is not a
    ///   reason to step down: a preempting peer takes over by its own
    ///   adverts, as the protocol says;
    /// - a backup keeps following its master; a priority now above the
    ///   master's preempts through the usual path (the master's next advert
    ///   is discarded and the Master_Down_Timer runs out);
    /// - a tracker weight turned to 0 with the tracker down enters FAULT,
    ///   as it would at start.
    ///
    /// Adding and removing the addresses themselves is the daemon's job:
    /// it knows which are configured. The actions queued (adverts, timer)
    /// are drained with [`Instance::poll_action`] as after any event.
    pub fn reconfigure(&mut self, now: Time, params: Params) -> Result<(), ReconfigureError> {
        params.validate()?;
        let (params, _) = params.normalized();
        if params.vrid != self.params.vrid {
            return Err(ReconfigureError::Identity("virtual_router_id"));
        }
        if params.version != self.params.version {
            return Err(ReconfigureError::Identity("version"));
        }
        if Family::of(&params.primary_addr) != Family::of(&self.params.primary_addr) {
            return Err(ReconfigureError::Identity("address family"));
        }
        let names = |p: &Params| {
            let trackers = p.trackers.iter().map(|t| t.name.clone());
            let files = p.track_files.iter().map(|t| format!("file {}", t.name));
            let procs = p
                .track_processes
                .iter()
                .map(|t| format!("process {}", t.name));
            trackers.chain(files).chain(procs).collect::<Vec<_>>()
        };
        if names(&params) != names(&self.params) {
            return Err(ReconfigureError::Trackers);
        }
        let old = std::mem::replace(&mut self.params, params);
        let old_priority = self.effective_priority;
        self.effective_priority = self.compute_priority();
        if !self.params.preempt || self.params.preempt_delay.is_zero() {
            self.preempt_since = None;
        }
        if self.recheck_fault(now) {
            self.note_timer();
            return Ok(());
        }
        match self.state {
            State::Master => {
                self.master_adver_interval = self.params.advert_interval();
                let advertised = self.effective_priority != old_priority
                    || self.params.advert_int != old.advert_int
                    || self.params.vips != old.vips
                    || self.params.auth != old.auth;
                if advertised {
                    self.send_advert(self.effective_priority);
                    self.adver_timer = Some(now + self.params.advert_interval());
                }
                if self.params.garp_master_delay.is_none() {
                    self.garp_timer = None;
                }
            }
            State::Backup => {
                // v2 adverts carry our own interval (others are dropped);
                // v3 keeps the interval learned from the master.
                if self.params.version == Version::V2 || self.master_seen.is_none() {
                    self.master_adver_interval = self.params.advert_interval();
                }
            }
            State::Initialize | State::Fault => {
                self.master_adver_interval = self.params.advert_interval();
            }
        }
        self.note_timer();
        Ok(())
    }

    // ----- inputs ---------------------------------------------------------

    fn on_advert(&mut self, now: Time, src: IpAddr, advert: &VrrpRepr) -> Result<(), RxError> {
        if let Err(e) = self.check_advert(src, advert) {
            self.counters.rx_errors.record(&e);
            return Err(e);
        }
        // Our own advert looped back (multicast loop, or a unicast peer list
        // that names us): not news from another router.
        if src == self.params.primary_addr {
            return Ok(());
        }
        self.counters.adverts_received += 1;
        if advert.priority == 0 {
            self.counters.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_rx(now, src, advert),
            State::Master => self.master_rx(now, src, advert),
            State::Initialize | State::Fault => {}
        }
        Ok(())
    }

    /// The receive checks of RFC 5798 §7.1 that need our configuration.
    fn check_advert(&mut self, src: IpAddr, advert: &VrrpRepr) -> Result<(), RxError> {
        if advert.version != self.params.version {
            return Err(RxError::Version(advert.version.number()));
        }
        if advert.vrid != self.params.vrid {
            return Err(RxError::Vrid(advert.vrid));
        }
        let family = Family::of(&self.params.primary_addr);
        if Family::of(&src) != family || advert.addresses.iter().any(|a| Family::of(a) != family) {
            return Err(RxError::AddressFamily);
        }
        match self.params.version {
            Version::V2 => {
                // RFC 3768 §7.1: auth type and password must match ours.
                match (&self.params.auth, &advert.auth) {
                    // AH's own check (the ICV) is the unit's, before this.
                    (Auth::None, Auth::None) | (Auth::Ah, Auth::Ah) => {}
                    (Auth::Pass(ours), Auth::Pass(theirs)) => {
                        if ours != theirs {
                            return Err(RxError::Authentication("password mismatch"));
                        }
                    }
                    _ => return Err(RxError::Authentication("auth type mismatch")),
                }
                // RFC 3768 §7.1: the interval must be ours.
                if advert.max_adver_int != self.params.advert_int {
                    return Err(RxError::AdvertInterval {
                        received_cs: advert.max_adver_int,
                        configured_cs: self.params.advert_int,
                    });
                }
            }
            Version::V3 => {
                // RFC 5798 §5.2.7 gives Max Adver Int no minimum, and §7.1
                // does not list it among the checks (v3 backups adopt the
                // master's interval, §6.4.2). But learned, 0 makes
                // Master_Down_Interval = 3 × 0 + Skew_Time, and Skew_Time
                // scales with the interval in v3 (§6.1): 0. The backup
                // would take over at once, every time, beside a live
                // master. So we drop it and count it as an interval error.
                // keepalived deviation, the other way round: keepalived
                // 2.2.x does not check the received field (vrrp_check_packet
                // takes `adver_int & 0x0FFF` as is), but its own parser
                // refuses `advert_int` below 1 cs ("Must be > 0"), so no
                // keepalived peer sends 0 and refusing it costs no interop.
                if advert.max_adver_int == 0 {
                    return Err(RxError::AdvertInterval {
                        received_cs: 0,
                        configured_cs: self.params.advert_int,
                    });
                }
            }
        }
        // RFC 5798 §7.1 says MAY verify the address list, log and count a
        // mismatch; RFC 3768 §7.1 says drop unless the sender is the owner.
        // keepalived logs and keeps the advert in both versions: dropping it
        // would let one typo make two masters. We count it and go on.
        if !same_addresses(&advert.addresses, &self.params.vips) {
            self.counters.rx_errors.record(&RxError::AddressList);
        }
        Ok(())
    }

    /// RFC 5798 §6.4.2, Backup receiving an advert.
    fn backup_rx(&mut self, now: Time, src: IpAddr, advert: &VrrpRepr) {
        if advert.priority == 0 {
            self.master_seen = None;
            // The master is leaving: take over after Skew_Time only.
            self.master_down_timer = self.down_timer(now, self.skew_time());
            self.master_left = true;
            return;
        }
        let lower = advert.priority < self.effective_priority;
        let accept = if !self.params.preempt || !lower {
            self.preempt_since = None;
            self.preempt_held = false;
            true
        } else {
            // keepalived's preempt_delay: keep accepting the lower-priority
            // master until the delay since first noticing it has run out.
            // The sync gate's hold works the same way; the later end wins.
            let delay_end = (self.params.preempt_delay > Duration::ZERO)
                .then(|| *self.preempt_since.get_or_insert(now) + self.params.preempt_delay);
            let hold_end = self.preempt_hold.filter(|h| now < *h);
            match (delay_end.filter(|d| now < *d), hold_end) {
                (_, Some(h)) if delay_end.is_none_or(|d| h > d) => {
                    if !std::mem::replace(&mut self.preempt_held, true) {
                        self.actions.push_back(Action::PreemptHeld { until: h });
                    }
                    true
                }
                (Some(_), _) => true,
                (None, _) => {
                    self.preempt_held = false;
                    false
                }
            }
        };
        if accept {
            self.master_seen = Some((src, advert.priority));
            self.want_master = None;
            self.learn_interval(advert);
            self.master_down_timer = self.down_timer(now, self.master_down_interval());
            self.master_left = false;
            self.preempting = false;
        } else {
            // Discard: the down timer keeps running and we preempt when it
            // fires (RFC 5798 §6.4.2).
            self.preempting = true;
        }
    }

    /// RFC 5798 §6.4.3, Master receiving an advert.
    fn master_rx(&mut self, now: Time, src: IpAddr, advert: &VrrpRepr) {
        if advert.priority == 0 {
            // Another router left: assert ourselves at once so its backups
            // do not take over after Skew_Time.
            self.send_advert(self.effective_priority);
            self.adver_timer = Some(now + self.params.advert_interval());
            return;
        }
        let wins = advert.priority > self.effective_priority
            || (advert.priority == self.effective_priority
                && ip_greater(src, self.params.primary_addr));
        if wins {
            if self.params.higher_prio_send_advert {
                self.send_advert(self.effective_priority);
            }
            self.learn_interval(advert);
            self.become_backup(now, Reason::HigherPriorityAdvert);
        } else {
            // RFC 5798 §6.4.3 only discards a lower-priority advert.
            // keepalived answers it at once with an advert (so the other
            // router steps down now, not at its next interval) and renews
            // gratuitous ARP (the other router may have drawn traffic).
            // A peer may be keepalived, so we behave the same, including
            // its second round after garp_lower_prio_delay. A flood of
            // lower-priority adverts does not push that round back: the
            // first pending one stands.
            // With lower_prio_no_advert (RFC behaviour), only the gratuitous
            // ARP goes out and the Adver_Timer runs on undisturbed.
            if !self.params.lower_prio_no_advert {
                self.send_advert(self.effective_priority);
                self.adver_timer = Some(now + self.params.advert_interval());
            }
            self.actions.push_back(Action::SendLowerPrioGratuitous);
            self.actions.push_back(Action::MasterRxLowerPri);
            if self.lower_prio_garp_timer.is_none() {
                self.lower_prio_garp_timer = self.params.garp_lower_prio_delay.map(|d| now + d);
            }
        }
    }

    /// v3 learns Master_Adver_Interval from the master (RFC 5798 §6.4.2);
    /// v2 adverts always carry ours (others were dropped).
    fn learn_interval(&mut self, advert: &VrrpRepr) {
        if self.params.version == Version::V3 {
            self.master_adver_interval =
                Duration::from_millis(u64::from(advert.max_adver_int) * 10);
        }
    }

    fn on_timer(&mut self, now: Time) {
        match self.state {
            State::Master => {
                if self.adver_timer.is_some_and(|t| t <= now) {
                    self.send_advert(self.effective_priority);
                    self.adver_timer = Some(now + self.params.advert_interval());
                }
                if self.garp_timer.is_some_and(|t| t <= now) {
                    self.garp_timer = None;
                    self.actions.push_back(Action::SendGratuitous);
                }
                if self.lower_prio_garp_timer.is_some_and(|t| t <= now) {
                    self.lower_prio_garp_timer = None;
                    self.actions.push_back(Action::SendLowerPrioGratuitous);
                }
            }
            State::Backup => {
                if self.master_down_timer.is_some_and(|t| t <= now) {
                    let reason = if self.master_left {
                        Reason::MasterLeft
                    } else if self.preempting {
                        Reason::Preempt
                    } else {
                        Reason::MasterDown
                    };
                    self.master_down(now, reason);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// Master_Down_Timer fired (RFC 5798 §6.4.2), or tandem's takeover
    /// rule stands in for it: become master.
    fn master_down(&mut self, now: Time, reason: Reason) {
        if self.in_sync_group {
            // keepalived (vrrp_sync.c, "prefer backup state to avoid
            // thrashing"): wait until every member of the group wants
            // master; re-arm meanwhile.
            self.want_master = Some(reason);
            self.master_down_timer = self.down_timer(now, self.master_down_interval());
        } else {
            self.become_master(now, reason);
        }
    }

    /// [`Event::PeerDown`] (`tandem_takeover`): a backup whose master is
    /// `peer` acts as if Master_Down_Timer had fired. Only then: a master,
    /// a backup following another router (or none yet, or one that sent
    /// priority 0 and is leaving anyway), or an instance held by
    /// `vrrp_startup_delay` is left alone. If `peer` is in fact alive
    /// (only BFD failed), its next advert outranks ours and §6.4.3 puts
    /// one of us back to backup: a short dual master, not a lasting one.
    fn on_peer_down(&mut self, now: Time, peer: IpAddr) {
        let follows_peer = self.master_seen.is_some_and(|(m, _)| m == peer);
        let held = self.startup_hold.is_some_and(|h| h > now);
        if self.state == State::Backup && follows_peer && !self.master_left && !held {
            self.master_down(now, Reason::PeerDown);
        }
    }

    fn on_priority_inputs(&mut self, now: Time) {
        let old = self.effective_priority;
        self.effective_priority = self.compute_priority();
        if self.recheck_fault(now) {
            return;
        }
        if self.state == State::Master && self.effective_priority != old {
            // Tell the backups now rather than at the next interval: a
            // backup that now outranks us preempts sooner.
            self.send_advert(self.effective_priority);
            self.adver_timer = Some(now + self.params.advert_interval());
        }
    }

    // ----- transitions ----------------------------------------------------

    fn start(&mut self, now: Time) {
        self.master_adver_interval = self.params.advert_interval();
        if self.own_fault().is_some() || self.group_fault {
            let reason = self.own_fault().unwrap_or(Reason::SyncGroup);
            self.become_fault(now, reason);
        } else if self.params.priority == 255 {
            match self.startup_hold.filter(|h| *h > now) {
                // keepalived: the owner too enters BACKUP and times out
                // at once, once the delay is over.
                Some(hold) => {
                    self.become_backup(now, Reason::Startup);
                    self.master_down_timer = Some(hold);
                }
                None => self.become_master(now, Reason::Startup),
            }
        } else {
            self.become_backup(now, Reason::Startup);
        }
    }

    /// The reason this instance must be in FAULT on its own account.
    fn own_fault(&self) -> Option<Reason> {
        if self.params.config_fault {
            return Some(Reason::ConfigFault);
        }
        if !self.link_up {
            return Some(Reason::LinkDown);
        }
        let tracker_down = self
            .params
            .trackers
            .iter()
            .zip(&self.trackers_up)
            .any(|(t, up)| t.faults(*up));
        let file_fault = self
            .params
            .track_files
            .iter()
            .zip(&self.file_values)
            .any(|(t, v)| t.faults(*v));
        let process_fault = self
            .params
            .track_processes
            .iter()
            .zip(&self.processes_up)
            .any(|(t, up)| t.faults(*up));
        (tracker_down || file_fault || process_fault).then_some(Reason::TrackerDown)
    }

    /// Whether the instance is in FAULT by its own link or trackers (not
    /// because of its sync group).
    pub fn in_own_fault(&self) -> bool {
        self.own_fault().is_some()
    }

    /// Enters or leaves FAULT as the conditions say; true if it changed
    /// state.
    fn recheck_fault(&mut self, now: Time) -> bool {
        let fault = self
            .own_fault()
            .or(self.group_fault.then_some(Reason::SyncGroup));
        match (self.state, fault) {
            (State::Initialize, _) => false,
            (State::Fault, None) => {
                if self.params.priority == 255 {
                    self.become_master(now, Reason::FaultCleared);
                } else {
                    self.become_backup(now, Reason::FaultCleared);
                }
                true
            }
            (State::Fault, Some(_)) => false,
            (_, Some(reason)) => {
                self.become_fault(now, reason);
                true
            }
            (_, None) => false,
        }
    }

    fn transition(&mut self, now: Time, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.counters.state_transitions += 1;
        self.counters.last_transition = Some(now);
        self.actions
            .push_back(Action::StateChanged { from, to, reason });
    }

    fn become_master(&mut self, now: Time, reason: Reason) {
        let from = self.state;
        self.transition(now, State::Master, reason);
        self.master_seen = None;
        self.counters.master_transitions += 1;
        self.counters.new_master_reason = match reason {
            Reason::Startup | Reason::FaultCleared if self.params.priority == 255 => {
                NewMasterReason::Priority
            }
            Reason::Preempt => NewMasterReason::Preempted,
            _ => NewMasterReason::MasterNoResponse,
        };
        // RFC 5798 §6.4.1 / §6.4.2: send an advert, announce the addresses,
        // start the Adver_Timer.
        if from != State::Master {
            self.actions.push_back(Action::AddVips);
        }
        self.send_advert(self.effective_priority);
        self.actions.push_back(Action::SendGratuitous);
        self.actions.push_back(Action::Notify {
            state: State::Master,
        });
        self.adver_timer = Some(now + self.params.advert_interval());
        self.master_down_timer = None;
        self.garp_timer = self.params.garp_master_delay.map(|d| now + d);
        self.lower_prio_garp_timer = None;
        self.preempt_since = None;
        self.preempting = false;
        self.preempt_held = false;
        self.master_left = false;
        self.want_master = None;
    }

    fn become_backup(&mut self, now: Time, reason: Reason) {
        let from = self.state;
        self.transition(now, State::Backup, reason);
        if from == State::Master {
            self.actions.push_back(Action::RemoveVips);
        }
        self.actions.push_back(Action::Notify {
            state: State::Backup,
        });
        if from != State::Master {
            self.master_adver_interval = self.params.advert_interval();
        }
        self.adver_timer = None;
        self.garp_timer = None;
        self.lower_prio_garp_timer = None;
        self.master_down_timer = self.down_timer(now, self.master_down_interval());
        if matches!(from, State::Initialize | State::Fault) {
            if self.params.initial_state == InitialState::Master {
                // keepalived: `state MASTER` shortens the first wait to one
                // interval plus the smallest skew.
                self.master_down_timer =
                    self.down_timer(now, self.master_adver_interval + self.skew_min());
            }
            // keepalived: preempt_delay also runs from startup and from
            // leaving FAULT, so a router that just came up does not
            // preempt before it has heard the current master.
            self.preempt_since = (self.params.preempt_delay > Duration::ZERO).then_some(now);
        }
        self.preempting = false;
        self.master_left = false;
        self.want_master = None;
    }

    fn become_fault(&mut self, now: Time, reason: Reason) {
        let from = self.state;
        self.transition(now, State::Fault, reason);
        if from == State::Master {
            // keepalived sends priority 0 when a master faults, so the
            // backup takes over after Skew_Time instead of
            // Master_Down_Interval (RFC 5798 §6.4.3 does this for shutdown).
            self.send_advert(0);
            self.actions.push_back(Action::RemoveVips);
        }
        self.actions.push_back(Action::Notify {
            state: State::Fault,
        });
        self.clear_timers();
    }

    fn shutdown(&mut self, now: Time) {
        if self.state == State::Initialize {
            return;
        }
        let from = self.state;
        self.transition(now, State::Initialize, Reason::Shutdown);
        if from == State::Master {
            // RFC 5798 §6.4.3: on Shutdown, send an advert with priority 0.
            self.send_advert(0);
            self.actions.push_back(Action::RemoveVips);
        }
        self.actions.push_back(Action::Notify {
            state: State::Initialize,
        });
        self.clear_timers();
    }

    fn clear_timers(&mut self) {
        self.adver_timer = None;
        self.master_down_timer = None;
        self.garp_timer = None;
        self.lower_prio_garp_timer = None;
        self.preempt_since = None;
        self.preempting = false;
        self.preempt_held = false;
        self.master_left = false;
        self.want_master = None;
    }

    fn send_advert(&mut self, priority: u8) {
        self.counters.adverts_sent += 1;
        if priority == 0 {
            self.counters.priority_zero_sent += 1;
        }
        self.actions.push_back(Action::SendAdvert { priority });
    }

    fn compute_priority(&self) -> u8 {
        effective_priority(
            self.params.priority,
            self.params
                .trackers
                .iter()
                .zip(&self.trackers_up)
                .map(|(t, up)| t.priority_delta(*up))
                .chain(
                    self.params
                        .track_files
                        .iter()
                        .zip(&self.file_values)
                        .map(|(t, v)| t.priority_delta(*v)),
                )
                .chain(
                    self.params
                        .track_processes
                        .iter()
                        .zip(&self.processes_up)
                        .map(|(t, up)| t.priority_delta(*up)),
                ),
        )
    }

    fn note_timer(&mut self) {
        let at = self.poll_timeout();
        if at != self.armed {
            self.armed = at;
            self.actions.push_back(Action::SetTimer { at });
        }
    }

    // ----- sync group hooks -------------------------------------------------

    /// Whether the sync group holds this instance in FAULT.
    pub fn group_fault(&self) -> bool {
        self.group_fault
    }

    /// Sync group: another member is (or no longer is) in FAULT.
    pub(crate) fn set_group_fault(&mut self, now: Time, fault: bool) {
        self.group_fault = fault;
        self.recheck_fault(now);
        self.note_timer();
    }

    /// Sync group: this instance is a member of a group with others.
    pub(crate) fn set_in_sync_group(&mut self, yes: bool) {
        self.in_sync_group = yes;
    }

    /// Whether this instance's Master_Down_Timer expired and it waits for
    /// its sync group to go master together.
    pub fn wants_master(&self) -> bool {
        self.state == State::Backup && self.want_master.is_some()
    }

    /// Sync group: the group goes master; follow if we are a backup.
    pub(crate) fn sync_master(&mut self, now: Time) {
        if self.state == State::Backup {
            let reason = self.want_master.unwrap_or(Reason::SyncGroup);
            self.become_master(now, reason);
            self.note_timer();
        }
    }

    /// Sync group: another member stepped down to backup; follow it.
    pub(crate) fn sync_backup(&mut self, now: Time) {
        if self.state == State::Master {
            self.become_backup(now, Reason::SyncGroup);
            self.note_timer();
        }
    }
}
