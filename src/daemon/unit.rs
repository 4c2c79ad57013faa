//! The task that owns the VRRP state of one unit: a `vrrp_sync_group` with
//! its members, or one instance outside any group.
//!
//! ```text
//!   receive task (per interface+family) ──Advert──┐
//!   link monitor ─────────────────────────Link────┤
//!   script trackers ─────────────────────Script───┼──► unit task ──► sockets, rtnetlink,
//!   signal handler ────────────────────Shutdown───┤     (Router)     GARP/NA, notify queue,
//!   SIGUSR1 ──────────────────────────DumpStats───┘                  event bus
//! ```
//!
//! Only this task touches the state machine ([`crate::vrrp::Router`]), so
//! there is no lock around protocol state: everything else sends it
//! messages. Timers are the state machine's own deadlines
//! ([`Router::poll_timeout`]), slept on here; a timer that fires late or
//! for a state already left is harmless because the state machine
//! re-checks every deadline against its current state.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::net::{ReceivedAdvert, Rtnl, VrrpSendSocket};
use crate::notify::script::{NotifyState, ScriptQueue, ScriptQueueTask, Subject};
use crate::vrrp::packet::{decode_ipv4, decode_ipv6};
use crate::vrrp::{Action, Event, Reason, Router, State, Time};

use super::addrs::{Announcer, Burst, VipSet};
use super::bus::{self, Bus, Role, RoleChange};
use super::plan::{GroupPlan, InstancePlan, UnitPlan};
use super::status::StatusHub;
use crate::control::model::{
    SyncGroupStatus, Transition, VrrpCounters, VrrpInstanceStatus, VrrpState,
};
use crate::notify::mail::{Mailer, VrrpMailFilter, VrrpMailState};
use crate::process::unix_ms_now;

/// Where a unit reports beyond the bus: the status snapshot and e-mail.
#[derive(Debug, Clone, Default)]
pub struct UnitReporting {
    pub status: Option<StatusHub>,
    pub mailer: Option<Mailer>,
    /// Instances and sync groups whose resolved `smtp_alert` is on.
    pub smtp_alert: std::collections::BTreeSet<String>,
    /// `no_email_faults`: entering FAULT sends no mail.
    pub no_email_faults: bool,
}

/// What other tasks tell a unit.
#[derive(Debug)]
pub enum UnitMsg {
    /// An advert arrived for instance `instance` (index in the unit).
    Advert {
        instance: usize,
        advert: ReceivedAdvert,
    },
    /// A link changed (every unit gets every link event).
    Link { ifindex: u32, running: bool },
    /// A `vrrp_script` result changed after rise/fall.
    Script { name: String, up: bool },
    /// Log the counters of every instance.
    DumpStats,
    /// Leave: priority 0, VIPs released, notify_stop.
    Shutdown,
    /// A reload changed this unit's configuration in a way it can take
    /// while running (see [`Reconfigure`]).
    Reconfigure(Box<Reconfigure>),
    /// After a reload: a master adds its VIPs again. An address that moved
    /// from another instance to this one was added here (already present)
    /// and then removed by the instance that gave it up.
    Reassert,
}

/// A reload's new plan for a running unit: same members, same interfaces,
/// same VRIDs (`daemon::in_place` decided that); priorities, intervals,
/// addresses, tracker weights, gratuitous ARP settings, notify scripts and
/// mail switches may differ. Applied without a re-election, as keepalived
/// keeps the state of an instance that survives a reload.
pub struct Reconfigure {
    pub plan: UnitPlan,
    pub announcer: Announcer,
    pub reporting: UnitReporting,
    /// Told when the change is applied (and its adverts sent): what was
    /// done, one line per instance, or why nothing was.
    pub done: tokio::sync::oneshot::Sender<Result<Vec<String>, String>>,
}

impl std::fmt::Debug for Reconfigure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconfigure")
            .field("unit", &self.plan.name())
            .finish_non_exhaustive()
    }
}

/// The I/O side of one instance.
pub struct InstanceIo {
    pub plan: InstancePlan,
    pub send: Arc<VrrpSendSocket>,
    pub announcer: Announcer,
    /// The VIPs are configured on the interface right now.
    vips_held: bool,
    /// MASTER since this instant, waiting for its IPVS rules before it
    /// takes the VIPs (the VIP gate, [`bus::RulesState`]).
    vips_pending: Option<Instant>,
    /// The gratuitous burst (its repeat) held back with the VIPs.
    garp_pending: Option<u32>,
    /// Adverts from a source not in `unicast_peer`.
    pub unicast_peer_drops: u64,
    /// Gratuitous ARP and unsolicited NA packets sent for this instance's
    /// VIPs (every address of every round): the bursts run on tasks of
    /// their own, which add to it as each packet leaves.
    garp_sent: Arc<AtomicU64>,
    /// When a garp_master_refresh round is due.
    refresh_at: Option<Instant>,
    /// Drop logging, kept sparse so a flood cannot fill the log: each
    /// (source, reason) at most once a second, at most
    /// [`DROP_LOGS_PER_SECOND`] lines a second in all.
    drop_log: HashMap<(IpAddr, String), Instant>,
    drop_window: Option<Instant>,
    drops_logged_in_window: u32,
    drops_not_logged: u64,
}

/// How long a new MASTER waits for the IPVS programmer to confirm its
/// rules before it takes the VIPs anyway (a kernel that is slow or refuses
/// must not keep the service address away for good). Programming the
/// seed's table takes milliseconds natively and about half a second under
/// the test VM's emulated CPU.
pub const RULES_WAIT: Duration = Duration::from_secs(3);

/// How often an instance in INIT tries its source address again.
const UNBOUND_RETRY: Duration = Duration::from_millis(200);

/// The most drop lines one instance logs per second.
const DROP_LOGS_PER_SECOND: u32 = 20;

impl InstanceIo {
    pub fn new(plan: InstancePlan, send: Arc<VrrpSendSocket>, announcer: Announcer) -> InstanceIo {
        InstanceIo {
            plan,
            send,
            announcer,
            vips_held: false,
            vips_pending: None,
            garp_pending: None,
            unicast_peer_drops: 0,
            garp_sent: Arc::default(),
            refresh_at: None,
            drop_log: HashMap::new(),
            drop_window: None,
            drops_logged_in_window: 0,
            drops_not_logged: 0,
        }
    }

    /// Send a gratuitous ARP / unsolicited NA burst of `repeat` rounds for
    /// every VIP, spaced as `vrrp_garp_interval` / `vrrp_gna_interval` say.
    fn gratuitous(&self, repeat: u32, name: String) {
        self.announcer.announce(
            &self.plan.vips,
            Burst {
                repeat,
                garp_interval: self.plan.garp.garp_interval,
                gna_interval: self.plan.garp.gna_interval,
            },
            name,
            self.garp_sent.clone(),
        );
    }

    /// Log a dropped advert, unless the same source was dropped for the
    /// same reason within the last second or this second's lines are used
    /// up; the next line logged says how many were not.
    fn log_drop(&mut self, src: IpAddr, why: &str) {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        if self
            .drop_window
            .is_none_or(|t| now.duration_since(t) >= second)
        {
            self.drop_window = Some(now);
            self.drops_logged_in_window = 0;
        }
        let key = (src, why.to_string());
        let recent = self
            .drop_log
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < second);
        if recent || self.drops_logged_in_window >= DROP_LOGS_PER_SECOND {
            self.drops_not_logged += 1;
            return;
        }
        if self.drop_log.len() >= 256 {
            self.drop_log.clear();
        }
        self.drop_log.insert(key, now);
        self.drops_logged_in_window += 1;
        tracing::warn!(
            instance = %self.plan.name, %src, reason = why, not_logged = self.drops_not_logged,
            "VRRP_Instance({}) dropped advert from {src}: {why}", self.plan.name
        );
        self.drops_not_logged = 0;
    }
}

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
    stopping: bool,
    reporting: UnitReporting,
    mail_filter: VrrpMailFilter,
    /// The last transition of each instance, and of the group.
    transitions: Vec<Option<Transition>>,
    group_transition: Option<Transition>,
    /// The VIP gate: whether the IPVS table of a new role is in the kernel.
    rules: tokio::sync::watch::Receiver<bus::RulesState>,
}

/// keepalived's spelling of a reason, for logs and the bus.
fn reason_text(r: Reason) -> &'static str {
    match r {
        Reason::Startup => "startup",
        Reason::MasterDown => "master down timer expired",
        Reason::MasterLeft => "master sent priority 0",
        Reason::Preempt => "preempting a lower-priority master",
        Reason::HigherPriorityAdvert => "received a higher-priority advert",
        Reason::LinkDown => "interface down",
        Reason::TrackerDown => "tracked object down",
        Reason::FaultCleared => "fault cleared",
        Reason::SyncGroup => "sync group",
        Reason::Shutdown => "shutdown",
    }
}

fn role_of(s: State) -> Role {
    match s {
        State::Master => Role::Master,
        State::Backup => Role::Backup,
        State::Fault => Role::Fault,
        State::Initialize => Role::Stop,
    }
}

fn notify_state(s: State) -> NotifyState {
    match s {
        State::Master => NotifyState::Master,
        State::Backup => NotifyState::Backup,
        State::Fault => NotifyState::Fault,
        State::Initialize => NotifyState::Stop,
    }
}

fn vrrp_state(s: State, stopping: bool) -> VrrpState {
    match s {
        State::Master => VrrpState::Master,
        State::Backup => VrrpState::Backup,
        State::Fault => VrrpState::Fault,
        State::Initialize if stopping => VrrpState::Stop,
        State::Initialize => VrrpState::Initialize,
    }
}

fn role_state(r: Role) -> VrrpState {
    match r {
        Role::Master => VrrpState::Master,
        Role::Backup => VrrpState::Backup,
        Role::Fault => VrrpState::Fault,
        Role::Stop => VrrpState::Stop,
    }
}

/// The mail for entering `s`: INIT is only ever entered on a stop, which
/// keepalived mails as "Stopping" (the daemon flushes its mail queue,
/// bounded, before it exits).
fn mail_state(s: State) -> Option<VrrpMailState> {
    match s {
        State::Master => Some(VrrpMailState::Master),
        State::Backup => Some(VrrpMailState::Backup),
        State::Fault => Some(VrrpMailState::Fault),
        State::Initialize => Some(VrrpMailState::Stop),
    }
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
        let mut script_trackers: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (i, inst) in plan.instances.iter().enumerate() {
            for (name, t) in &inst.track_scripts {
                script_trackers
                    .entry(name.clone())
                    .or_default()
                    .push((i, *t));
            }
        }
        let rules = bus.rules();
        let mail_filter = VrrpMailFilter::new(reporting.no_email_faults);
        Ok(Unit {
            rules,
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
            script_trackers,
            stopping: false,
            reporting,
            mail_filter,
            transitions: vec![None; plan.instances.len()],
            group_transition: None,
        })
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
        let now = self.now();
        // Instances whose source address cannot be bound yet (an IPv6
        // link-local address in duplicate address detection): they stay in
        // INIT (RFC 5798 §6.4.1: only the Startup event leaves it, and it
        // is given once adverts can be sent): a master that cannot send
        // adverts would hold the VIPs beside the real master unheard.
        let mut unbound: Vec<usize> = Vec::new();
        for id in 0..self.io.len() {
            // Tell the state machine about a down interface before it
            // starts, so it comes up in FAULT rather than flapping through BACKUP.
            if links.get(&self.io[id].plan.ifindex) == Some(&false) {
                let _ = self.router.handle(now, id, Event::LinkDown);
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
        self.execute().await;

        loop {
            let timer = self.router.poll_timeout().map(|t| self.instant_of(t));
            let refresh = self.io.iter().filter_map(|io| io.refresh_at).min();
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
            tokio::select! {
                _ = tokio::time::sleep(UNBOUND_RETRY), if !unbound.is_empty() => {
                    let now = self.now();
                    let mut still = Vec::new();
                    for id in unbound.drain(..) {
                        if self.io[id].send.try_ready() {
                            let _ = self.router.handle(now, id, Event::Startup);
                        } else {
                            still.push(id);
                        }
                    }
                    unbound = still;
                }
                changed = rules.changed(), if gate.is_some() => {
                    if changed.is_err() {
                        // No programmer any more: nothing will confirm.
                        tracing::warn!("IPVS programmer gone: VIPs no longer wait for it");
                    }
                    self.release_vips(changed.is_err());
                }
                _ = sleep_until_opt(gate) => self.release_vips(false),
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
            }
            self.execute().await;
        }
        self.shutdown(inbox).await;
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
            UnitMsg::DumpStats => self.dump_stats(),
            UnitMsg::Reassert => {
                for io in self.io.iter().filter(|io| io.vips_held) {
                    io.plan.vips.add(&mut self.rtnl, &io.plan.name);
                }
            }
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
        let mut done = Vec::new();
        for (id, new) in plan.instances.iter().enumerate() {
            if let Err(e) = self.router.reconfigure(now, id, new.params.clone()) {
                // Checked before the reload was sent here: only a bug
                // reaches this. The instance keeps its old parameters.
                tracing::error!(instance = %new.name, error = %e, "reload: cannot update the instance in place");
                done.push(format!("{}: not updated ({e})", new.name));
                continue;
            }
            let Some(io) = self.io.get_mut(id) else {
                continue;
            };
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
                let old = &io.plan.vips;
                // A set of its own: removing it must not cancel the
                // announcements of the addresses that stay.
                let mut gone = VipSet::default();
                gone.addresses = old
                    .addresses
                    .iter()
                    .filter(|a| !new.vips.addresses.contains(a))
                    .cloned()
                    .collect();
                gone.routes = old
                    .routes
                    .iter()
                    .filter(|r| !new.vips.routes.contains(r))
                    .cloned()
                    .collect();
                gone.keep = old.keep.clone();
                if !gone.addresses.is_empty() || !gone.routes.is_empty() {
                    gone.remove(&mut self.rtnl, &new.name);
                }
                let mut added = new.vips.clone();
                added.addresses.retain(|a| !old.addresses.contains(a));
                added.routes.retain(|r| !old.routes.contains(r));
                if !added.addresses.is_empty() || !added.routes.is_empty() {
                    added.add(&mut self.rtnl, &new.name);
                    io.announcer = announcer.clone();
                    io.announcer.announce(
                        &added,
                        Burst {
                            repeat: new.garp.master_repeat.max(1),
                            garp_interval: new.garp.garp_interval,
                            gna_interval: new.garp.gna_interval,
                        },
                        new.name.clone(),
                        io.garp_sent.clone(),
                    );
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
            done.push(format!("{}: updated in place", new.name));
            io.plan = new;
            io.announcer = announcer.clone();
        }
        self.script_trackers.clear();
        for (i, inst) in plan.instances.iter().enumerate() {
            for (name, t) in &inst.track_scripts {
                self.script_trackers
                    .entry(name.clone())
                    .or_default()
                    .push((i, *t));
            }
        }
        self.group = plan.group;
        self.mail_filter
            .set_no_email_faults(reporting.no_email_faults);
        self.reporting = reporting;
        Ok(done)
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
        let codec = io.plan.params.codec;
        let decoded = match (advert.src, advert.dst) {
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                // No hop limit reported is treated as a failed TTL check.
                decode_ipv6(src, dst, advert.ttl.unwrap_or(0), advert.vrrp(), codec)
            }
            _ => decode_ipv4(&advert.packet, codec),
        };
        let result = match decoded {
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
                if io.vips_held {
                    io.gratuitous(io.plan.garp.refresh_repeat.max(1), io.plan.name.clone());
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
            let Some(io) = self.io.get_mut(id) else {
                continue;
            };
            let name = io.plan.name.clone();
            match action {
                Action::StateChanged { from, to, reason } => {
                    changed = true;
                    let priority = self
                        .router
                        .instance(id)
                        .map(|i| i.effective_priority())
                        .unwrap_or(0);
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
                    if let Some(slot) = self.transitions.get_mut(id) {
                        *slot = Some(Transition {
                            from: vrrp_state(from, false),
                            to: vrrp_state(to, self.stopping),
                            at_unix_ms: unix_ms_now(),
                            reason: why.to_string(),
                        });
                    }
                    if let (Some(mailer), Some(state)) = (&self.reporting.mailer, mail_state(to)) {
                        let on = self.reporting.smtp_alert.contains(&name);
                        if let Some(alert) = self.mail_filter.instance(&name, on, state) {
                            let _ = mailer.send(&alert);
                        }
                    }
                    // A master stopping keeps its VIPs until the new master
                    // is heard (`shutdown`), and its IPVS rules with them:
                    // `shutdown` says STOP once the VIPs are released.
                    if !(self.stopping && to == State::Initialize && io.vips_held) {
                        self.bus.publish(RoleChange {
                            subject: bus::Subject::Instance,
                            name,
                            role: role_of(to),
                            priority,
                            reason: why.to_string(),
                        });
                    }
                }
                Action::SendAdvert { priority } => {
                    let Some(inst) = self.router.instance(id) else {
                        continue;
                    };
                    let repr = inst.advert(priority);
                    for &dst in &io.plan.dsts {
                        match repr.to_bytes(io.plan.src, dst, io.plan.params.codec) {
                            Ok(bytes) => {
                                if let Err(e) = io.send.send_to(&bytes, dst).await {
                                    tracing::warn!(instance = %name, error = %e, "cannot send advert");
                                }
                            }
                            Err(e) => {
                                tracing::error!(instance = %name, error = %e, "cannot build advert")
                            }
                        }
                    }
                    if priority == 0 {
                        tracing::info!(instance = %name, "VRRP_Instance({name}) sent priority 0 advert");
                    }
                }
                Action::AddVips => {
                    // The VIP gate: a master whose virtual servers are not
                    // yet in the kernel's IPVS table would answer for the
                    // VIP itself (or refuse): it takes the VIPs when the
                    // programmer confirms, or after RULES_WAIT.
                    if self.rules.borrow_and_update().must_wait(&name) {
                        tracing::info!(
                            instance = %name,
                            "VRRP_Instance({name}) waits for its IPVS rules before taking the VIPs"
                        );
                        io.vips_pending = Some(Instant::now());
                    } else {
                        io.plan.vips.add(&mut self.rtnl, &name);
                        io.vips_held = true;
                    }
                }
                Action::RemoveVips => {
                    // On shutdown the VIPs stay until a new master is heard
                    // (see `shutdown`): the leaving master keeps serving
                    // during the backup's Skew_Time.
                    io.vips_pending = None;
                    io.garp_pending = None;
                    if !self.stopping {
                        io.plan.vips.remove(&mut self.rtnl, &name);
                        io.vips_held = false;
                    }
                }
                Action::SendGratuitous | Action::SendLowerPrioGratuitous => {
                    // On becoming master and at garp_master_delay:
                    // `garp_master_repeat` rounds. A master answering a
                    // lower-priority advert, and again at
                    // garp_lower_prio_delay: `garp_lower_prio_repeat` (0:
                    // not at all).
                    let repeat = if action == Action::SendLowerPrioGratuitous {
                        lower_prio_rounds.push(id);
                        io.plan.garp.lower_prio_repeat
                    } else {
                        io.plan.garp.master_repeat.max(1)
                    };
                    if repeat == 0 {
                        continue;
                    }
                    if io.vips_pending.is_some() {
                        // Announced with the VIPs, not before them.
                        io.garp_pending = Some(repeat);
                        continue;
                    }
                    io.gratuitous(repeat, name);
                }
                Action::Notify { state } => {
                    let priority = self
                        .router
                        .instance(id)
                        .map(|i| i.effective_priority())
                        .unwrap_or(0);
                    let ns = notify_state(state);
                    for argv in io
                        .plan
                        .notify
                        .commands(Subject::Instance, &name, ns, priority)
                    {
                        if let Some(q) = &self.scripts {
                            q.push(&format!("notify {} for {name}", ns.as_str()), argv);
                        }
                    }
                }
                Action::SetTimer { .. } => {}
            }
        }
        if self.group.is_some() {
            self.group_lower_prio_rounds(&lower_prio_rounds);
        }
        if changed {
            self.update_group_role();
        }
        self.report_status();
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

    /// Take the VIPs of every instance whose IPVS rules are now in the
    /// kernel, or that waited RULES_WAIT (or all of them with `force`, when
    /// nothing will ever confirm), and send the gratuitous burst held back
    /// with them.
    fn release_vips(&mut self, force: bool) {
        let rules = self.rules.borrow_and_update().clone();
        let at = Instant::now();
        for io in &mut self.io {
            let Some(since) = io.vips_pending else {
                continue;
            };
            let name = io.plan.name.clone();
            let waited = at.duration_since(since);
            let waiting = rules.must_wait(&name);
            if waiting && !force && waited < RULES_WAIT {
                continue;
            }
            if waiting {
                tracing::warn!(
                    instance = %name, waited_ms = waited.as_millis(),
                    "VRRP_Instance({name}) IPVS rules not confirmed: taking the VIPs anyway"
                );
            } else if rules.unreachable {
                tracing::warn!(
                    instance = %name, waited_ms = waited.as_millis(),
                    "VRRP_Instance({name}) IPVS cannot be programmed: taking the VIPs without rules"
                );
            } else {
                tracing::info!(
                    instance = %name, waited_ms = waited.as_millis(),
                    "VRRP_Instance({name}) IPVS rules in place: taking the VIPs"
                );
            }
            io.vips_pending = None;
            io.plan.vips.add(&mut self.rtnl, &name);
            io.vips_held = true;
            if let Some(repeat) = io.garp_pending.take() {
                io.gratuitous(repeat, name);
            }
        }
    }

    /// Write this unit's instances (and group) into the status snapshot.
    fn report_status(&self) {
        let Some(hub) = &self.reporting.status else {
            return;
        };
        let group = self.group.as_ref().map(|g| g.name.clone());
        let instances = self
            .io
            .iter()
            .enumerate()
            .filter_map(|(id, io)| {
                let inst = self.router.instance(id)?;
                let c = inst.counters();
                let state = vrrp_state(inst.state(), self.stopping);
                let (master_address, master_priority) = match inst.state() {
                    State::Master => (Some(io.plan.src), Some(inst.effective_priority())),
                    _ => match inst.master() {
                        Some((a, p)) => (Some(a), Some(p)),
                        None => (None, None),
                    },
                };
                Some(VrrpInstanceStatus {
                    name: io.plan.name.clone(),
                    interface: io.plan.ifname.clone(),
                    virtual_router_id: io.plan.params.vrid,
                    version: match io.plan.params.version {
                        crate::vrrp::Version::V2 => 2,
                        crate::vrrp::Version::V3 => 3,
                    },
                    state,
                    priority: io.plan.params.priority,
                    effective_priority: inst.effective_priority(),
                    master_address,
                    master_priority,
                    advert_interval_ms: u64::try_from(io.plan.params.advert_interval().as_millis())
                        .unwrap_or(u64::MAX),
                    virtual_ipaddress: io
                        .plan
                        .vips
                        .addresses
                        .iter()
                        .map(|a| format!("{}/{} dev {}", a.addr, a.prefix_len, io.plan.ifname))
                        .collect(),
                    sync_group: group.clone(),
                    last_transition: self.transitions.get(id).cloned().flatten(),
                    counters: VrrpCounters {
                        became_master: c.master_transitions,
                        released_master: c
                            .master_transitions
                            .saturating_sub(u64::from(inst.state() == State::Master)),
                        adverts_sent: c.adverts_sent,
                        adverts_received: c.adverts_received,
                        priority_zero_sent: c.priority_zero_sent,
                        priority_zero_received: c.priority_zero_received,
                        invalid_packets: c.rx_errors.total() + io.unicast_peer_drops,
                        gratuitous_arps_sent: io.garp_sent.load(Ordering::Relaxed),
                        rx_errors: c.rx_errors,
                    },
                })
            })
            .collect();
        let group = self.group.as_ref().map(|g| SyncGroupStatus {
            name: g.name.clone(),
            state: match self.group_role {
                Some(Role::Master) => VrrpState::Master,
                Some(Role::Backup) => VrrpState::Backup,
                Some(Role::Fault) => VrrpState::Fault,
                Some(Role::Stop) => VrrpState::Stop,
                None => VrrpState::Initialize,
            },
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
            from: from.map(role_state).unwrap_or(VrrpState::Initialize),
            to: role_state(role),
            at_unix_ms: unix_ms_now(),
            reason: "sync group members agree".into(),
        });
        let mail = match role {
            Role::Master => Some(VrrpMailState::Master),
            Role::Backup => Some(VrrpMailState::Backup),
            Role::Fault => Some(VrrpMailState::Fault),
            Role::Stop => Some(VrrpMailState::Stop),
        };
        if let (Some(mailer), Some(state)) = (&self.reporting.mailer, mail) {
            let on = self.reporting.smtp_alert.contains(&name);
            if let Some(alert) = self.mail_filter.group(&name, on, state) {
                let _ = mailer.send(&alert);
            }
        }
        tracing::info!(group = %name, role = %role, "VRRP_Group({name}) Syncing instances to {role} state");
        let ns = match role {
            Role::Master => NotifyState::Master,
            Role::Backup => NotifyState::Backup,
            Role::Fault => NotifyState::Fault,
            Role::Stop => NotifyState::Stop,
        };
        // keepalived (vrrp_notify.c) passes priority 0 for a group, and
        // runs the group's notify_stop / `notify ... STOP` on shutdown after
        // its members' (seen from keepalived 2.2.7 in the lab:
        // `GROUP G STOP 0`).
        for argv in group.notify.commands(Subject::Group, &name, ns, 0) {
            if let Some(q) = &self.scripts {
                q.push(&format!("notify {} for group {name}", ns.as_str()), argv);
            }
        }
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

    /// Leave the protocol gracefully.
    ///
    /// RFC 5798 §6.4.3: a master that shuts down sends priority 0 so a
    /// backup takes over after Skew_Time instead of Master_Down_Interval.
    /// Beyond the RFC (keepalived drops its VIPs at once, leaving a gap of
    /// about Skew_Time), we keep the VIPs until an advert from the new
    /// master arrives — or one Master_Down_Interval passes — so clients see
    /// (almost) no outage.
    async fn shutdown(&mut self, mut inbox: mpsc::Receiver<UnitMsg>) {
        self.stopping = true;
        let now = self.now();
        self.router.broadcast(now, Event::Shutdown);
        self.execute().await;

        let longest = (0..self.io.len())
            .filter(|&id| self.io[id].vips_held)
            .filter_map(|id| self.router.instance(id))
            .map(|i| i.master_down_interval() + i.master_adver_interval())
            .max();
        if let Some(wait) = longest {
            let deadline = Instant::now() + wait;
            while self.io.iter().any(|io| io.vips_held) {
                let msg = tokio::select! {
                    m = inbox.recv() => m,
                    _ = tokio::time::sleep_until(deadline.into()) => None,
                };
                let Some(msg) = msg else {
                    break;
                };
                if let UnitMsg::Advert { instance, advert } = msg {
                    self.release_if_new_master(instance, &advert);
                }
            }
        }
        for io in &mut self.io {
            if io.vips_held {
                io.plan.vips.remove(&mut self.rtnl, &io.plan.name);
                io.vips_held = false;
            }
            self.bus.publish(RoleChange {
                subject: bus::Subject::Instance,
                name: io.plan.name.clone(),
                role: Role::Stop,
                priority: 0,
                reason: "shutdown".into(),
            });
        }
        self.report_status();
        drop(inbox);
        // Let notify_stop run (each script is bounded by its timeout).
        self.scripts = None;
        if let Some(task) = self.scripts_task.take() {
            task.drained().await;
        }
        tracing::info!(unit = %self.name, "stopped");
    }

    /// During shutdown: an advert with a non-zero priority from another
    /// router for `id` means the VIPs have a new master.
    fn release_if_new_master(&mut self, id: usize, advert: &ReceivedAdvert) {
        let Some(io) = self.io.get_mut(id) else {
            return;
        };
        if !io.vips_held || advert.src == io.plan.src {
            return;
        }
        if !io.plan.unicast_peers.is_empty() && !io.plan.unicast_peers.contains(&advert.src) {
            return;
        }
        let codec = io.plan.params.codec;
        let decoded = match (advert.src, advert.dst) {
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                decode_ipv6(src, dst, advert.ttl.unwrap_or(0), advert.vrrp(), codec)
            }
            _ => decode_ipv4(&advert.packet, codec),
        };
        let Ok(rx) = decoded else {
            return;
        };
        let params = &io.plan.params;
        let authentic = rx.repr.version == params.version
            && (params.version == crate::vrrp::Version::V3 || rx.repr.auth == params.auth);
        if authentic && rx.repr.vrid == params.vrid && rx.repr.priority > 0 {
            tracing::info!(
                instance = %io.plan.name, new_master = %advert.src,
                "VRRP_Instance({}) new master {} heard; releasing VIPs", io.plan.name, advert.src
            );
            io.plan.vips.remove(&mut self.rtnl, &io.plan.name);
            io.vips_held = false;
        }
    }
}
