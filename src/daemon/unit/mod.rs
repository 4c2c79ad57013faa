//! The task that owns the VRRP state of one unit: a `vrrp_sync_group` with
//! its members, or one instance outside any group.
//!
//! ```text
//!   receive task (per interface+family) ──Advert──┐
//!   link monitor ─────────────────────────Link────┤
//!   script trackers ─────────────────────Script───┼──► unit task ──► sockets, rtnetlink,
//!   main loop (stop, SIGUSR1, reload) ──Shutdown, ┤     (Router)     GARP/NA, notify queue,
//!                   DumpStats, Reconfigure, Reassert┘                mail, status, event bus
//! ```
//!
//! Only this task touches the state machine ([`crate::vrrp::Router`]), so
//! there is no lock around protocol state: everything else sends it
//! messages ([`UnitMsg`]). Timers are the state machine's own deadlines
//! ([`Router::poll_timeout`]), slept on here; a timer that fires late or
//! for a state already left is harmless because the state machine
//! re-checks every deadline against its current state. The unit never
//! reads another unit's state or the IPVS table: it hears of the table
//! only through the bus's VIP gate.

mod bfd_events;
mod bfd_track;
mod deleted;
mod handover;
mod instance_io;
mod msg;
mod report;
mod states;
mod track_files;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::control::model::{SyncGroupStatus, Transition};
use crate::net::{ReceivedAdvert, Rtnl};
use crate::notify::mail::VrrpMailFilter;
use crate::notify::script::{ScriptQueue, ScriptQueueTask, Subject};
use crate::process::unix_ms_now;
use crate::vrrp::{Action, Event, Reason, Router, RxError, State, Time};

use super::addrs::Announcer;
use super::bus::{self, Bus, Role, RoleChange};
use super::plan::{GroupPlan, InstancePlan, UnitPlan};

pub use bfd_track::BfdStates;
use bfd_track::{BfdTracking, script_trackers};
pub use instance_io::InstanceIo;
use instance_io::decode;
pub use msg::{Reconfigure, UnitMsg, UnitReporting};
use states::{
    group_state, notify_state, reason_text, role_mail_state, role_notify_state, role_of,
    role_state, vrrp_state,
};

/// How long a new MASTER waits for the IPVS programmer to confirm its
/// rules before it takes the VIPs anyway (a kernel that is slow or refuses
/// must not keep the service address away for good). Programming the
/// seed's table takes milliseconds natively and about half a second under
/// the test VM's emulated CPU.
pub const RULES_WAIT: Duration = Duration::from_secs(3);

/// How often an instance in INIT tries its source address again.
const UNBOUND_RETRY: Duration = Duration::from_millis(200);

/// One unit's task state: the state machine of its instances, their I/O,
/// and what it reports. Built by the daemon, then moved into [`Unit::run`].
pub struct Unit {
    name: String,
    group: Option<GroupPlan>,
    group_role: Option<Role>,
    router: Router,
    io: Vec<InstanceIo>,
    rtnl: Rtnl,
    bus: Bus,
    scripts: Option<ScriptQueue>,
    scripts_task: Option<ScriptQueueTask>,
    epoch: Instant,
    /// Script trackers: name → (instance, tracker index).
    script_trackers: HashMap<String, Vec<(usize, usize)>>,
    /// The `track_file` values and who tracks each file.
    files: track_files::FileFeed,
    /// BFD trackers and the sessions' reports.
    bfd: BfdTracking,
    /// The `track_process` quorums and who tracks each process.
    procs: track_files::ProcessFeed,
    stopping: bool,
    reporting: UnitReporting,
    mail_filter: VrrpMailFilter,
    /// The last transition of each instance, and of the group.
    transitions: Vec<Option<Transition>>,
    group_transition: Option<Transition>,
    /// The VIP gate: whether the IPVS table of a new role is in the kernel.
    rules: tokio::sync::watch::Receiver<bus::RulesState>,
    /// The caught-up preemption gate of `lvs_sync_daemon`.
    gate: tokio::sync::watch::Receiver<bus::PreemptGate>,
    /// The end of `vrrp_startup_delay`, on this unit's clock.
    start_hold: Option<Time>,
    /// Each instance's effective priority when last looked at
    /// (`notify_priority_changes`).
    priorities: Vec<Option<u8>>,
    /// The instances a reload removed ([`UnitMsg::Deleted`]): id → whether
    /// it was in FAULT then.
    deleted: HashMap<usize, bool>,
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl Unit {
    pub fn new(
        plan: &UnitPlan,
        router: Router,
        io: Vec<InstanceIo>,
        bus: Bus,
        epoch: Instant,
        script_timeout: Duration,
        reporting: UnitReporting,
    ) -> Result<Unit, crate::net::RtnlError> {
        let (scripts, scripts_task) = ScriptQueue::start(plan.name().to_string(), script_timeout);
        let rules = bus.rules();
        let gate = bus.preempt_gate();
        let files = track_files::FileFeed::new(plan, &bus);
        let procs = track_files::ProcessFeed::new(plan, &bus);
        let mail_filter = VrrpMailFilter::new(reporting.no_email_faults);
        Ok(Unit {
            rules,
            gate,
            start_hold: None,
            priorities: Vec::new(),
            deleted: HashMap::new(),
            name: plan.name().to_string(),
            group: plan.group.clone(),
            group_role: None,
            router,
            io,
            rtnl: Rtnl::new()?,
            bus,
            scripts: Some(scripts),
            scripts_task: Some(scripts_task),
            epoch,
            script_trackers: script_trackers(plan),
            files,
            bfd: BfdTracking::new(plan),
            procs,
            stopping: false,
            reporting,
            mail_filter,
            transitions: vec![None; plan.instances.len()],
            group_transition: None,
        })
    }

    /// Follow the BFD task's sessions (see `bfd_track`).
    pub fn set_bfd_states(&mut self, states: BfdStates) {
        self.bfd.set_states(states);
    }

    /// `vrrp_startup_delay`: the instances start in BACKUP and stay out
    /// of MASTER until `at` ([`Event::StartupHold`]).
    pub fn set_start_hold(&mut self, at: Option<Instant>) {
        self.start_hold = at.map(|at| self.time_of(at));
    }

    /// The group's name, or the lone instance's.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn now(&self) -> Time {
        Time::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn instant_of(&self, t: Time) -> Instant {
        self.epoch + Duration::from_micros(t.as_micros())
    }

    /// Remove VIPs left over from an earlier run (we are not master yet).
    pub fn remove_stale_vips(&mut self) {
        for io in &self.io {
            io.plan.vips.remove_stale(&mut self.rtnl, &io.plan.name);
        }
    }

    /// Run until shut down. `links` is the running state of every link at start.
    pub async fn run(mut self, mut inbox: mpsc::Receiver<UnitMsg>, links: HashMap<u32, bool>) {
        let mut unbound = self.start_instances(&links);
        let mut gate_open = true;
        let mut files_open = true;
        self.execute().await;

        loop {
            let timer = self.router.poll_timeout().map(|t| self.instant_of(t));
            let refresh = self.io.iter().filter_map(|io| io.refresh_at).min();
            let extra_if = self.io.iter().filter_map(|io| io.extra_if_at).min();
            let gate = self
                .io
                .iter()
                .filter_map(|io| io.vips_pending)
                .min()
                .map(|t| t + RULES_WAIT);
            // A clone, so that the select's future does not borrow `self`;
            // `release_vips` marks the state seen on `self.rules`, which
            // the next clone starts from.
            let mut rules = self.rules.clone();
            let mut gate_rx = self.gate.clone();
            let mut files_rx = self.files.rx.clone();
            let mut procs_rx = self.procs.rx.clone();
            tokio::select! {
                changed = track_files::either_changed(&mut files_rx, &mut procs_rx), if files_open => match changed {
                    Ok(()) => self.feed_files(),
                    Err(_) => files_open = false,
                },
                changed = gate_rx.changed(), if gate_open => match changed {
                    Ok(()) => self.apply_gate(self.now()),
                    Err(_) => gate_open = false,
                },
                _ = tokio::time::sleep(UNBOUND_RETRY), if !unbound.is_empty() => {
                    self.start_unbound(&mut unbound);
                }
                changed = rules.changed(), if gate.is_some() => {
                    if changed.is_err() {
                        // No programmer any more: nothing will confirm.
                        tracing::warn!("IPVS programmer gone: VIPs no longer wait for it");
                    }
                    self.release_vips(changed.is_err()).await;
                }
                _ = sleep_until_opt(gate) => self.release_vips(false).await,
                msg = inbox.recv() => match msg {
                    None | Some(UnitMsg::Shutdown) => break,
                    Some(UnitMsg::Reconfigure(r)) => {
                        let r = *r;
                        let done = r.done;
                        let result = self.reconfigure(r.plan, r.announcer, r.reporting);
                        // The new adverts go out before the reload answers.
                        self.execute().await;
                        let _ = done.send(result);
                        continue;
                    }
                    Some(m) => self.on_msg(m),
                },
                _ = sleep_until_opt(timer) => {
                    let now = self.now();
                    self.router.handle_timeout(now);
                }
                _ = sleep_until_opt(refresh) => self.refresh_garp(),
                _ = sleep_until_opt(extra_if) => {
                    let now = Instant::now();
                    self.io.iter_mut().for_each(|io| io.extra_if_round(now));
                }
            }
            self.execute().await;
        }
        self.shutdown(inbox).await;
    }

    /// Start the instances. Returns those whose source address cannot be
    /// bound yet (an IPv6 link-local address in duplicate address
    /// detection): they stay in INIT (RFC 5798 §6.4.1: only the Startup
    /// event leaves it, and it is given once adverts can be sent), since a
    /// master that cannot send adverts would hold the VIPs beside the real
    /// master unheard.
    fn start_instances(&mut self, links: &HashMap<u32, bool>) -> Vec<usize> {
        let now = self.now();
        let mut unbound = Vec::new();
        // The gate first: a node that starts and would preempt waits too.
        self.apply_gate(now);
        // BFD sessions already Up (a unit rebuilt by a reload) before the
        // instances start, so they do not start in FAULT.
        self.apply_bfd_states(now);
        self.feed_files();
        for id in 0..self.io.len() {
            // Tell the state machine about a down interface before it
            // starts, so it comes up in FAULT rather than flapping through BACKUP.
            if links.get(&self.io[id].plan.ifindex) == Some(&false) {
                let _ = self.router.handle(now, id, Event::LinkDown);
            }
            if let Some(until) = self.start_hold {
                let _ = self.router.handle(now, id, Event::StartupHold { until });
            }
            if self.io[id].send.is_ready() {
                let _ = self.router.handle(now, id, Event::Startup);
            } else {
                tracing::info!(
                    instance = %self.io[id].plan.name,
                    "VRRP_Instance({}) stays in INIT until its source address is usable",
                    self.io[id].plan.name
                );
                unbound.push(id);
            }
        }
        unbound
    }

    /// Start the instances of `unbound` whose source address is usable now.
    fn start_unbound(&mut self, unbound: &mut Vec<usize>) {
        let now = self.now();
        let mut still = Vec::new();
        for id in unbound.drain(..) {
            if self.io[id].send.try_ready() {
                let _ = self.router.handle(now, id, Event::Startup);
            } else {
                still.push(id);
            }
        }
        *unbound = still;
    }

    /// Hand the instances the track files' current values and the
    /// tracked processes' quorums: at start,
    /// before they leave INIT (an instance whose file means FAULT starts
    /// in FAULT rather than passing through BACKUP), and on every change.
    fn feed_files(&mut self) {
        let now = self.now();
        let procs = self.procs.events();
        for (id, ev) in self.files.events().into_iter().chain(procs) {
            let _ = self.router.handle(now, id, ev);
        }
    }

    fn on_msg(&mut self, msg: UnitMsg) {
        let now = self.now();
        match msg {
            UnitMsg::Advert { instance, advert } => self.on_advert(now, instance, advert),
            UnitMsg::Link { ifindex, running } => {
                for id in 0..self.io.len() {
                    if self.io[id].plan.ifindex == ifindex {
                        tracing::info!(
                            instance = %self.io[id].plan.name, interface = %self.io[id].plan.ifname, running,
                            "VRRP_Instance({}) interface {} is {}", self.io[id].plan.name, self.io[id].plan.ifname,
                            if running { "up" } else { "down" }
                        );
                        let ev = if running {
                            Event::LinkUp
                        } else {
                            Event::LinkDown
                        };
                        let _ = self.router.handle(now, id, ev);
                    }
                    let trackers: Vec<usize> = self.io[id]
                        .plan
                        .track_links
                        .iter()
                        .filter(|(ix, _)| *ix == ifindex)
                        .map(|(_, t)| *t)
                        .collect();
                    for tracker in trackers {
                        tracing::info!(
                            instance = %self.io[id].plan.name, ifindex, running,
                            "VRRP_Instance({}) tracked interface {} is {}", self.io[id].plan.name,
                            self.io[id].plan.params.trackers.get(tracker).map(|t| t.name.as_str()).unwrap_or("?"),
                            if running { "up" } else { "down" }
                        );
                        let _ = self.router.handle(
                            now,
                            id,
                            Event::TrackerChanged {
                                tracker,
                                up: running,
                            },
                        );
                    }
                }
            }
            UnitMsg::Script { name, up } => {
                let targets = self.script_trackers.get(&name).cloned().unwrap_or_default();
                for (id, tracker) in targets {
                    let _ = self
                        .router
                        .handle(now, id, Event::TrackerChanged { tracker, up });
                }
            }
            UnitMsg::Bfd { name, up, seq } => {
                let moves = self.bfd.report(&name, up, seq);
                let news = !moves.is_empty();
                self.move_bfd_trackers(now, &name, up, moves);
                if news && !up {
                    self.bfd_takeovers(now, &name);
                }
            }
            UnitMsg::DumpStats => self.dump_stats(),
            UnitMsg::SendGarp(name) => {
                for io in self.io.iter().filter(|io| io.plan.name == name) {
                    if io.vips_held {
                        tracing::info!(instance = %name, "sending gratuitous ARPs on D-Bus request");
                        io.gratuitous(1, name.clone());
                    } else {
                        tracing::info!(instance = %name, "D-Bus SendGarp: not master, no addresses to announce");
                    }
                }
            }
            UnitMsg::Reassert => {
                for io in self.io.iter().filter(|io| io.vips_held) {
                    io.plan.vips.add(&mut self.rtnl, &io.plan.name);
                }
            }
            UnitMsg::Deleted(names) => self.mark_deleted(&names),
            UnitMsg::Shutdown | UnitMsg::Reconfigure(_) => {}
        }
    }

    /// Apply a reload's plan to the running unit (see [`Reconfigure`]):
    /// each instance takes its new parameters without leaving its state;
    /// a master configures the addresses the reload added (announcing
    /// them) and removes the ones it took away.
    fn reconfigure(
        &mut self,
        plan: UnitPlan,
        announcer: Announcer,
        reporting: UnitReporting,
    ) -> Result<Vec<String>, String> {
        let names = |p: &mut dyn Iterator<Item = &str>| p.map(str::to_string).collect::<Vec<_>>();
        if names(&mut plan.instances.iter().map(|i| i.name.as_str()))
            != names(&mut self.io.iter().map(|io| io.plan.name.as_str()))
        {
            return Err(format!("{}: the members changed", self.name));
        }
        let now = self.now();
        let done = plan
            .instances
            .iter()
            .enumerate()
            .filter_map(|(id, new)| self.reconfigure_instance(now, id, new, &announcer))
            .collect();
        self.script_trackers = script_trackers(&plan);
        self.files.replan(&plan);
        // `plan::in_place` keeps the BFD trackers as they were (same
        // sessions, same indexes), so their states stay too.
        self.bfd.replan(&plan);
        self.procs.replan(&plan);
        self.group = plan.group;
        self.mail_filter
            .set_no_email_faults(reporting.no_email_faults);
        self.reporting = reporting;
        Ok(done)
    }

    /// One instance's part of [`Unit::reconfigure`]: what was done, in one
    /// line (`None`: the unit has no instance `id`).
    fn reconfigure_instance(
        &mut self,
        now: Time,
        id: usize,
        new: &InstancePlan,
        announcer: &Announcer,
    ) -> Option<String> {
        if let Err(e) = self.router.reconfigure(now, id, new.params.clone()) {
            // Checked before the reload was sent here: only a bug
            // reaches this. The instance keeps its old parameters.
            tracing::error!(instance = %new.name, error = %e, "reload: cannot update the instance in place");
            return Some(format!("{}: not updated ({e})", new.name));
        }
        let io = self.io.get_mut(id)?;
        let mut new = new.clone();
        new.vips.share_mastership(&io.plan.vips);
        // An owner's own addresses are the ones the interface had
        // before tandem started; the new plan read the kernel while
        // this master held its VIPs, and would keep them all for ever.
        new.vips.keep = io
            .plan
            .vips
            .keep
            .iter()
            .filter(|k| new.vips.addresses.iter().any(|a| a.addr == **k))
            .copied()
            .collect();
        if io.vips_held {
            // Accept mode turned off: drop before anything else changes;
            // turned on: release once the addresses are settled.
            new.vips.hold_filter(&new.name);
            io.change_held_vips(&mut self.rtnl, &new, announcer);
            if new.vips.no_accept.is_none() {
                io.plan.vips.release_filter(&new.name);
            }
        }
        if io.plan.garp.refresh != new.garp.refresh {
            io.refresh_at = match self.router.instance(id).map(|i| i.state()) {
                Some(State::Master) => new.garp.refresh.map(|d| Instant::now() + d),
                _ => None,
            };
        }
        tracing::info!(
            instance = %new.name, priority = new.params.priority,
            "VRRP_Instance({}) reloaded in place (state kept)", new.name
        );
        let line = format!("{}: updated in place", new.name);
        let rearm = io.plan.garp.extra_if != new.garp.extra_if;
        io.plan = new;
        io.announcer = announcer.clone();
        if rearm {
            let master = self.router.instance(id).map(|i| i.state()) == Some(State::Master);
            io.arm_extra_if(master);
        }
        Some(line)
    }

    fn on_advert(&mut self, now: Time, id: usize, advert: ReceivedAdvert) {
        let Some(io) = self.io.get_mut(id) else {
            return;
        };
        // unicast_peer: only the listed peers may speak for this VRID. An
        // advert from anyone else (however valid) is counted and dropped
        // before the state machine sees it.
        if !io.plan.unicast_peers.is_empty() && !io.plan.unicast_peers.contains(&advert.src) {
            io.unicast_peer_drops += 1;
            io.log_drop(advert.src, "source not in unicast_peer");
            return;
        }
        // unicast_peer ... min_ttl / max_ttl: a peer's adverts must arrive
        // with a TTL / hop limit in its range (keepalived counts these as
        // TTL errors).
        if let Some(range) = io
            .plan
            .unicast_peer_ttl
            .iter()
            .find(|p| p.addr == advert.src)
            && let Some(ttl) = advert.ttl
            && !(range.min_ttl..=range.max_ttl).contains(&ttl)
        {
            let e = RxError::TtlRange {
                ttl,
                min: range.min_ttl,
                max: range.max_ttl,
            };
            io.log_drop(advert.src, &e.to_string());
            self.router.record_rx_error(id, &e);
            return;
        }
        // auth_type AH: the ICV, SPI and sequence number first, as
        // keepalived checks them; the VRRP checks follow.
        if let Some(ah) = io.ah.as_mut()
            && advert.src.is_ipv4()
            && let Err(e) = ah.open(&advert.packet, !advert.dst.is_multicast())
        {
            io.log_drop(advert.src, &e.to_string());
            self.router.record_rx_error(id, &e);
            return;
        }
        let result = match decode(&advert, io.plan.params.codec) {
            Ok(rx) => self.router.handle(
                now,
                id,
                Event::AdvertReceived {
                    src: rx.envelope.src,
                    advert: rx.repr,
                },
            ),
            Err(e) => {
                self.router.record_rx_error(id, &e);
                Err(e)
            }
        };
        if let Err(e) = result {
            if let Some(io) = self.io.get_mut(id) {
                io.log_drop(advert.src, &e.to_string());
            }
        }
    }

    fn refresh_garp(&mut self) {
        let now = Instant::now();
        for io in &mut self.io {
            if io.refresh_at.is_some_and(|t| t <= now) {
                io.refresh_at = io.plan.garp.refresh.map(|d| now + d);
                // A repeat of 0 (vrrp_min_garp) sends nothing, as in keepalived.
                if io.vips_held && io.plan.garp.refresh_repeat > 0 {
                    io.gratuitous(io.plan.garp.refresh_repeat, io.plan.name.clone());
                }
            }
        }
    }

    /// Carry out what the state machine asked for, in order.
    async fn execute(&mut self) {
        let mut changed = false;
        // Members whose lower-priority round their sync group shares.
        let mut lower_prio_rounds = Vec::new();
        while let Some((id, action)) = self.router.poll_action() {
            if self.io.get(id).is_none() {
                continue;
            }
            match action {
                Action::StateChanged { from, to, reason } => {
                    changed = true;
                    self.state_changed(id, from, to, reason);
                }
                Action::SendAdvert { priority } => self.send_or_hold_advert(id, priority).await,
                Action::AddVips => self.add_vips(id),
                Action::RemoveVips => self.remove_vips(id),
                Action::SendGratuitous => self.send_gratuitous(id, false),
                Action::SendLowerPrioGratuitous => {
                    lower_prio_rounds.push(id);
                    self.send_gratuitous(id, true);
                }
                Action::Notify { state } => self.run_notify(id, state),
                Action::PreemptHeld { until } => self.log_preempt_held(id, until),
                Action::MasterRxLowerPri => self.run_rx_lower_pri(id),
                Action::SetTimer { .. } => {}
            }
        }
        if self.group.is_some() {
            self.group_lower_prio_rounds(&lower_prio_rounds);
        }
        if changed {
            self.update_group_role();
        }
        self.priority_notifies();
        self.report_status();
    }

    /// keepalived's `notify_priority_changes`: when a tracker (or a
    /// reload) moved an instance's effective priority, the FIFO line
    /// `INSTANCE "NAME" MASTER_PRIORITY PRIO` (BACKUP_PRIORITY in any other
    /// state). The priorities at start are only recorded.
    fn priority_notifies(&mut self) {
        self.priorities.resize(self.io.len(), None);
        for (id, io) in self.io.iter().enumerate() {
            let Some(inst) = self.router.instance(id) else {
                continue;
            };
            let now = inst.effective_priority();
            let before = self.priorities[id].replace(now);
            if before.is_some_and(|p| p != now) && io.plan.notify.priority_changes {
                let state = match inst.state() {
                    State::Master => "MASTER_PRIORITY",
                    _ => "BACKUP_PRIORITY",
                };
                self.reporting.fifos.instance(&io.plan.name, state, now);
            }
        }
    }

    /// Hand the caught-up gate (`lvs_sync_daemon`, `daemon::sync`) to the
    /// state machine: every instance of the unit holds a preemption until
    /// the local backup sync daemon has caught up.
    fn apply_gate(&mut self, now: Time) {
        let gate = self.gate.borrow_and_update().clone();
        let until = gate
            .hold_for(self.io.iter().map(|io| io.plan.name.as_str()))
            .map(|at| self.time_of(at));
        for id in 0..self.io.len() {
            let _ = self.router.handle(now, id, Event::PreemptHold { until });
        }
    }

    /// The state machine's time of a monotonic instant.
    fn time_of(&self, at: Instant) -> Time {
        let us = at.saturating_duration_since(self.epoch).as_micros();
        Time::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// Why a backup that outranks its master does not take over yet.
    fn log_preempt_held(&self, id: usize, until: Time) {
        let Some(io) = self.io.get(id) else {
            return;
        };
        let left = until
            .saturating_duration_since(self.now())
            .as_secs_f64()
            .ceil();
        tracing::info!(
            instance = %io.plan.name, seconds_left = left,
            "VRRP_Instance({}) preempt held: sync catching up, {left} s left", io.plan.name
        );
    }

    /// Log the transition, record it for the status, mail it if
    /// `smtp_alert` says so, and publish the new role on the bus.
    fn state_changed(&mut self, id: usize, from: State, to: State, reason: Reason) {
        let mail = self.mail_state_of(id, to);
        let priority = self
            .router
            .instance(id)
            .map(|i| i.effective_priority())
            .unwrap_or(0);
        let Some(io) = self.io.get_mut(id) else {
            return;
        };
        let name = io.plan.name.clone();
        let why = reason_text(reason);
        if to == State::Initialize {
            tracing::info!(
                instance = %name, from = %from, to = %to, reason = why, priority,
                "VRRP_Instance({name}) Entering STOP STATE ({why})"
            );
        } else {
            tracing::info!(
                instance = %name, from = %from, to = %to, reason = why, priority,
                "VRRP_Instance({name}) Entering {to} STATE ({why})"
            );
        }
        io.refresh_at = match to {
            State::Master => io.plan.garp.refresh.map(|d| Instant::now() + d),
            _ => None,
        };
        io.arm_extra_if(to == State::Master);
        if let Some(slot) = self.transitions.get_mut(id) {
            *slot = Some(Transition {
                from: vrrp_state(from, false),
                to: vrrp_state(to, self.stopping),
                at_unix_ms: unix_ms_now(),
                reason: why.to_string(),
            });
        }
        if let (Some(mailer), Some(state)) = (&self.reporting.mailer, mail) {
            let on = self.reporting.smtp_alert.contains(&name);
            if let Some(alert) = self.mail_filter.instance(&name, on, state) {
                let _ = mailer.send(&alert);
            }
        }
        // A master stopping keeps its VIPs until the new master is heard
        // (`shutdown`), and its IPVS rules with them: `shutdown` says STOP
        // once the VIPs are released (measured in the systemd VMs: without
        // this, `systemctl stop` on the master reset 4 in-flight requests).
        let vips_held = io.vips_held;
        if !(self.stopping && to == State::Initialize && vips_held) {
            self.bus.publish(RoleChange {
                subject: bus::Subject::Instance,
                name,
                role: role_of(to),
                priority,
                reason: why.to_string(),
            });
        }
    }

    /// One advert with `priority`, to the multicast group or every
    /// `unicast_peer`.
    async fn send_advert(&mut self, id: usize, priority: u8) {
        let (Some(io), Some(inst)) = (self.io.get_mut(id), self.router.instance(id)) else {
            return;
        };
        let name = io.plan.name.clone();
        let repr = inst.advert(priority);
        let mut out = Vec::with_capacity(io.plan.dsts.len());
        for dst in io.plan.dsts.clone() {
            match repr.to_bytes(io.plan.src, dst, io.plan.params.codec) {
                Ok(bytes) => out.push((io.wire(bytes, dst), dst)),
                Err(e) => {
                    tracing::error!(instance = %name, error = %e, "cannot build advert")
                }
            }
        }
        let send = io.send.clone();
        for (bytes, dst) in out {
            if let Err(e) = send.send_to(&bytes, dst).await {
                tracing::warn!(instance = %name, error = %e, "cannot send advert");
            }
        }
        if priority == 0 {
            tracing::info!(instance = %name, "VRRP_Instance({name}) sent priority 0 advert");
        }
    }

    fn remove_vips(&mut self, id: usize) {
        let Some(io) = self.io.get_mut(id) else {
            return;
        };
        // On shutdown the VIPs stay until a new master is heard (see
        // `shutdown`): the leaving master keeps serving during the
        // backup's Skew_Time.
        io.vips_pending = None;
        io.garp_pending = None;
        io.advert_pending = None;
        if !self.stopping {
            io.plan.vips.remove(&mut self.rtnl, &io.plan.name);
            io.vips_held = false;
        }
    }

    /// On becoming master and at garp_master_delay: `garp_master_repeat`
    /// rounds. A master answering a lower-priority advert (`lower_prio`),
    /// and again at garp_lower_prio_delay: `garp_lower_prio_repeat` (0: not
    /// at all).
    fn send_gratuitous(&mut self, id: usize, lower_prio: bool) {
        let Some(io) = self.io.get_mut(id) else {
            return;
        };
        let repeat = if lower_prio {
            io.plan.garp.lower_prio_repeat
        } else {
            io.plan.garp.master_repeat.max(1)
        };
        if repeat == 0 {
            return;
        }
        if io.vips_pending.is_some() {
            // Announced with the VIPs, not before them.
            io.garp_pending = Some(repeat);
            return;
        }
        io.gratuitous(repeat, io.plan.name.clone());
    }

    /// Queue the instance's notify scripts for entering `state`.
    fn run_notify(&self, id: usize, state: State) {
        let Some(io) = self.io.get(id) else {
            return;
        };
        let name = &io.plan.name;
        let priority = self
            .router
            .instance(id)
            .map(|i| i.effective_priority())
            .unwrap_or(0);
        if let (State::Initialize, Some(&was_fault)) = (state, self.deleted.get(&id)) {
            return self.notify_deleted(id, was_fault, priority);
        }
        let ns = notify_state(state);
        for argv in io
            .plan
            .notify
            .commands(Subject::Instance, name, ns, priority)
        {
            if let Some(q) = &self.scripts {
                q.push(&format!("notify {} for {name}", ns.as_str()), argv);
            }
        }
        self.reporting.fifos.instance(name, ns.as_str(), priority);
    }

    /// keepalived (vrrp.c, `send_event_notify`): a master that heard a
    /// lower-priority advert runs `notify_master_rx_lower_pri` as written
    /// and writes `INSTANCE "NAME" MASTER_RX_LOWER_PRI PRIO` to the FIFOs
    /// (with or without the script).
    fn run_rx_lower_pri(&self, id: usize) {
        let Some(io) = self.io.get(id) else {
            return;
        };
        let name = &io.plan.name;
        if let (Some(q), Some(s)) = (&self.scripts, &io.plan.notify.master_rx_lower_pri) {
            q.push(&format!("notify_master_rx_lower_pri for {name}"), s.clone());
        }
        let priority = self
            .router
            .instance(id)
            .map_or(0, |i| i.effective_priority());
        self.reporting
            .fifos
            .instance(name, "MASTER_RX_LOWER_PRI", priority);
    }

    /// keepalived (vrrp.c, a master receiving a lower-priority advert): in
    /// a sync group, the other members that hold their VIPs announce them
    /// too, each with its own `garp_lower_prio_repeat` — the other router
    /// may have drawn the traffic of every address of the group, not only
    /// of the instance whose VRID it spoke on.
    fn group_lower_prio_rounds(&self, ids: &[usize]) {
        let mut done: Vec<usize> = ids.to_vec();
        for &id in ids {
            for (other, io) in self.io.iter().enumerate() {
                if other == id || done.contains(&other) {
                    continue;
                }
                done.push(other);
                let repeat = io.plan.garp.lower_prio_repeat;
                if repeat == 0 || !io.vips_held || io.vips_pending.is_some() {
                    continue;
                }
                io.gratuitous(repeat, io.plan.name.clone());
            }
        }
    }

    /// Write this unit's instances (and group) into the status snapshot.
    fn report_status(&self) {
        let Some(hub) = &self.reporting.status else {
            return;
        };
        let group = self.group.as_ref().map(|g| g.name.clone());
        let now = self.now();
        let instances = self
            .io
            .iter()
            .enumerate()
            .filter_map(|(id, io)| {
                let inst = self.router.instance(id)?;
                let last = self.transitions.get(id).cloned().flatten();
                Some(report::instance_status(
                    io,
                    inst,
                    group.clone(),
                    last,
                    self.stopping,
                    now,
                ))
            })
            .collect();
        let group = self.group.as_ref().map(|g| SyncGroupStatus {
            name: g.name.clone(),
            state: group_state(self.group_role),
            instances: self.io.iter().map(|io| io.plan.name.clone()).collect(),
            last_transition: self.group_transition.clone(),
        });
        hub.set_unit(instances, group);
    }

    /// A sync group's role: MASTER when every member is, FAULT when any
    /// member is, BACKUP otherwise (keepalived's group states).
    fn update_group_role(&mut self) {
        let Some(group) = &self.group else {
            return;
        };
        let states: Vec<State> = self.router.instances().iter().map(|i| i.state()).collect();
        let role = if states.iter().all(|s| *s == State::Initialize) {
            Role::Stop
        } else if states.contains(&State::Fault) {
            Role::Fault
        } else if states.iter().all(|s| *s == State::Master) {
            Role::Master
        } else if states.iter().all(|s| *s == State::Backup) {
            Role::Backup
        } else {
            // Members still moving: wait for them to agree.
            return;
        };
        if self.group_role == Some(role) {
            return;
        }
        let from = self.group_role;
        self.group_role = Some(role);
        let name = group.name.clone();
        self.group_transition = Some(Transition {
            from: group_state(from),
            to: role_state(role),
            at_unix_ms: unix_ms_now(),
            reason: "sync group members agree".into(),
        });
        if let (Some(mailer), Some(state)) = (&self.reporting.mailer, role_mail_state(role)) {
            let on = self.reporting.smtp_alert.contains(&name);
            if let Some(alert) = self.mail_filter.group(&name, on, state) {
                let _ = mailer.send(&alert);
            }
        }
        tracing::info!(group = %name, role = %role, "VRRP_Group({name}) Syncing instances to {role} state");
        let ns = role_notify_state(role);
        if role == Role::Stop && self.deleted.len() == self.io.len() {
            // keepalived says nothing of a sync group a reload removed.
            return;
        }
        // keepalived (vrrp_notify.c) passes priority 0 for a group, and
        // runs the group's notify_stop / `notify ... STOP` on shutdown after
        // its members' (seen from keepalived 2.2.7 in the lab:
        // `GROUP G STOP 0`).
        for argv in group.notify.commands(Subject::Group, &name, ns, 0) {
            if let Some(q) = &self.scripts {
                q.push(&format!("notify {} for group {name}", ns.as_str()), argv);
            }
        }
        self.reporting.fifos.group(&name, ns.as_str());
        self.bus.publish(RoleChange {
            subject: bus::Subject::Group,
            name,
            role,
            priority: 0,
            reason: String::new(),
        });
    }

    fn dump_stats(&self) {
        for (id, io) in self.io.iter().enumerate() {
            let Some(inst) = self.router.instance(id) else {
                continue;
            };
            let counters = serde_json::to_string(inst.counters()).unwrap_or_default();
            tracing::info!(
                instance = %io.plan.name,
                state = %inst.state(),
                priority = inst.effective_priority(),
                unicast_peer_drops = io.unicast_peer_drops,
                counters = %counters,
                "VRRP_Instance({}) stats", io.plan.name
            );
        }
    }
}
