//! The tokio layer that connects the sans-IO logic to sockets, netlink and timers.
//!
//! ```text
//!                 ┌───────────── signal handler (SIGTERM/SIGINT → Shutdown, SIGUSR1 → stats)
//!                 │  ┌────────── link monitor (RTNLGRP_LINK)
//!                 │  │  ┌─────── vrrp_script trackers (one task per script)
//!                 ▼  ▼  ▼
//!  rx task ──► unit task (one per vrrp_sync_group or lone vrrp_instance)
//!  (per interface   │ owns the state machine (vrrp::Router), executes its actions:
//!   and family)     │ adverts, VIPs and routes (rtnetlink), GARP/NA, notify scripts
//!                   ▼
//!                  Bus ──► subscribers (IPVS on master, status, alerts, ...)
//! ```
//!
//! Only the unit task touches protocol state; every other task only sends
//! it messages. [`run`] resolves the whole configuration against the kernel
//! and opens every socket *before* starting anything, so a configuration
//! that cannot run fails at once with a message naming what is missing.

pub mod addrs;
pub mod bus;
pub mod configure;
pub mod lvs;
pub mod plan;
pub mod reload;
pub mod rx;
pub mod status;
pub mod unit;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::net::{
    GarpSender, LinkEvent, LinkMonitor, NaSender, Rtnl, RtnlError, SocketError, VrrpRecvSocket,
    VrrpSendSocket,
};
use crate::notify::mail::MailSettings;
use crate::notify::script::{self, Outcome};
use crate::vrrp::{Router, RouterError, ScriptState, Time};

use addrs::Announcer;
pub use bus::{Bus, Role, RoleChange, Subject};
use plan::{Kernel, Plan, PlanError, ScriptPlan};
use rx::RxStats;
pub use status::StatusHub;
pub use unit::UnitReporting;
use unit::{InstanceIo, Unit, UnitMsg};

/// Why the daemon could not start (or had to stop).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Socket(#[from] SocketError),
    #[error("{0}")]
    Rtnl(#[from] RtnlError),
    #[error("{0}")]
    Router(#[from] RouterError),
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
    /// A task the daemon cannot run without ended: a unit (a panic, a
    /// bug) or the link monitor (the kernel's rtnetlink socket failed).
    /// Going on would leave VRRP half-blind, so the daemon stops, exits
    /// non-zero, and systemd (`Restart=on-failure`) starts it afresh.
    #[error("{0}; the daemon stopped so that it can be restarted")]
    TaskFailed(String),
    #[error("{0}")]
    Lvs(#[from] crate::lvs::BuildError),
    #[error("{0}")]
    Control(#[from] crate::control::server::ControlError),
}

/// Where the daemon serves its state (`tandem run --control-socket ...`).
#[derive(Debug, Clone)]
pub struct ControlOptions {
    /// The unix socket for `tandem status` / `tandem reload` (mode 0600).
    pub socket: std::path::PathBuf,
    /// Prometheus listener (`--metrics-listen`), off when `None`.
    pub metrics_listen: Option<String>,
    /// Where SIGUSR1 writes the keepalived-style dump.
    pub dump_file: std::path::PathBuf,
}

/// The configuration file and how to read it again on reload.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub file: std::path::PathBuf,
    pub load: crate::config::LoadOptions,
}

/// Options of `tandem run` that are not in keepalived.conf.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Limit on one notify script run.
    pub script_timeout: Duration,
    /// Limit on the whole graceful shutdown.
    pub shutdown_timeout: Duration,
    /// The bus to publish role changes on. Give one to subscribe before
    /// anything runs (no change is missed); `None` makes a new one
    /// ([`Running::bus`]).
    pub bus: Option<Bus>,
    /// Status snapshot and e-mail for the VRRP units.
    pub reporting: UnitReporting,
    /// The control socket, metrics and dump; `None` serves nothing.
    pub control: Option<ControlOptions>,
    /// Where the configuration came from, for reload and the status.
    pub source: Option<ConfigSource>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            script_timeout: script::DEFAULT_TIMEOUT,
            shutdown_timeout: Duration::from_secs(60),
            bus: None,
            reporting: UnitReporting::default(),
            control: None,
            source: None,
        }
    }
}

/// One running unit: its name, inbox, task and the plan it runs.
struct UnitHandle {
    name: String,
    plan: plan::UnitPlan,
    tx: mpsc::Sender<UnitMsg>,
    handle: tokio::task::JoinHandle<()>,
}

/// Receive sockets just opened, by (interface index, multicast group).
type NewReceivers = Vec<((u32, IpAddr), VrrpRecvSocket)>;

/// The sockets units share, kept so that a reload can start new units on
/// them (and open what is missing) without disturbing the others.
#[derive(Default)]
struct IoPool {
    send: HashMap<(u32, IpAddr), Arc<VrrpSendSocket>>,
    routes: HashMap<(u32, IpAddr), rx::SharedRoutes>,
    garp: HashMap<u32, Arc<GarpSender>>,
    na: HashMap<u32, Arc<NaSender>>,
}

impl IoPool {
    /// Open every socket `units` need that is not open yet; the new receive
    /// sockets are returned (their tasks are started by the caller once
    /// nothing else can fail).
    fn open(
        &mut self,
        units: &[plan::UnitPlan],
        macs: &HashMap<u32, (String, Option<[u8; 6]>)>,
    ) -> Result<NewReceivers, DaemonError> {
        let mut new_rx = Vec::new();
        let mut new_send = HashMap::new();
        let mut new_garp = HashMap::new();
        let mut new_na = HashMap::new();
        for unit in units {
            for inst in &unit.instances {
                let key = (inst.ifindex, inst.src);
                if !self.send.contains_key(&key) && !new_send.contains_key(&key) {
                    new_send.insert(
                        key,
                        Arc::new(VrrpSendSocket::new(&inst.ifname, inst.ifindex, inst.src)?),
                    );
                }
                let key = (inst.ifindex, inst.group);
                if !self.routes.contains_key(&key) && !new_rx.iter().any(|(k, _)| *k == key) {
                    new_rx.push((
                        key,
                        VrrpRecvSocket::with_group(&inst.ifname, inst.ifindex, inst.group)?,
                    ));
                }
                for a in &inst.vips.addresses {
                    let Some((ifname, mac)) = macs.get(&a.ifindex) else {
                        continue;
                    };
                    let Some(mac) = *mac else {
                        tracing::warn!(interface = %ifname, "interface has no MAC address; no gratuitous ARP/NA on it");
                        continue;
                    };
                    if a.addr.is_ipv4()
                        && !self.garp.contains_key(&a.ifindex)
                        && !new_garp.contains_key(&a.ifindex)
                    {
                        new_garp.insert(
                            a.ifindex,
                            Arc::new(GarpSender::new(ifname, a.ifindex, mac)?),
                        );
                    }
                    if a.addr.is_ipv6()
                        && !self.na.contains_key(&a.ifindex)
                        && !new_na.contains_key(&a.ifindex)
                    {
                        new_na.insert(a.ifindex, Arc::new(NaSender::new(ifname, a.ifindex, mac)?));
                    }
                }
            }
        }
        // Everything opened: only now change the pool.
        self.send.extend(new_send);
        self.garp.extend(new_garp);
        self.na.extend(new_na);
        for (key, _) in &new_rx {
            self.routes.insert(*key, rx::SharedRoutes::default());
        }
        Ok(new_rx)
    }

    fn announcer(&self) -> Announcer {
        Announcer {
            garp: self.garp.clone(),
            na: self.na.clone(),
        }
    }
}

/// A started daemon: its units' inboxes and tasks.
pub struct Running {
    pub bus: Bus,
    units: Vec<UnitHandle>,
    /// Tasks that ended before shutdown (a unit's panic, the link
    /// monitor's error), described for the exit message.
    failed: mpsc::UnboundedReceiver<String>,
    failed_tx: mpsc::UnboundedSender<String>,
    rx_stats: Vec<(String, Arc<RxStats>)>,
    background: Vec<tokio::task::JoinHandle<()>>,
    pool: IoPool,
    /// Every unit's inbox, for the link monitor and the script trackers.
    inboxes: Arc<std::sync::RwLock<Vec<mpsc::Sender<UnitMsg>>>>,
    script_timeout: Duration,
    reporting: UnitReporting,
}

/// Read the kernel's links and addresses, resolve the configuration
/// against them with `make_plan`, open every socket and start every task.
/// Must run inside a tokio runtime, in the network namespace to manage.
pub fn start(
    make_plan: impl FnOnce(&Kernel) -> Result<Plan, PlanError>,
    opts: &RunOptions,
) -> Result<Running, DaemonError> {
    // Subscribe to link events before reading link states, so that no
    // change between the two is lost (a duplicate is harmless).
    let monitor = LinkMonitor::new()?;
    let mut rtnl = Rtnl::new()?;
    let kernel = Kernel::read(&mut rtnl)?;
    let plan = make_plan(&kernel)?;
    start_plan(plan, &kernel, monitor, opts)
}

fn start_plan(
    plan: Plan,
    kernel: &Kernel,
    monitor: LinkMonitor,
    opts: &RunOptions,
) -> Result<Running, DaemonError> {
    let bus = opts.bus.clone().unwrap_or_default();
    let links: HashMap<u32, bool> = kernel.links.iter().map(|l| (l.index, l.running)).collect();
    let macs = link_macs(kernel);

    // Open everything first: a socket that cannot be opened stops the
    // start before any task runs or any address changes.
    let mut pool = IoPool::default();
    let new_rx = pool.open(&plan.units, &macs)?;
    let (failed_tx, failed) = mpsc::unbounded_channel();
    let mut running = Running {
        bus,
        units: Vec::new(),
        failed,
        failed_tx,
        rx_stats: Vec::new(),
        background: Vec::new(),
        pool,
        inboxes: Arc::default(),
        script_timeout: opts.script_timeout,
        reporting: opts.reporting.clone(),
    };
    let mut prepared = Vec::new();
    for unit_plan in &plan.units {
        prepared.push(running.prepare_unit(unit_plan)?);
    }
    for p in prepared {
        running.spawn_unit(p, &links);
    }
    running.spawn_receivers(new_rx, &macs);
    let inboxes = running.inboxes.clone();
    running.background.push(tokio::spawn(watch_links(
        monitor,
        inboxes.clone(),
        running.failed_tx.clone(),
    )));
    for s in plan.scripts {
        running.background.push(tokio::spawn(track_script(
            s,
            inboxes.clone(),
            opts.script_timeout,
        )));
    }
    Ok(running)
}

fn link_macs(kernel: &Kernel) -> HashMap<u32, (String, Option<[u8; 6]>)> {
    kernel
        .links
        .iter()
        .map(|l| (l.index, (l.name.clone(), l.mac)))
        .collect()
}

/// A unit built but not yet running.
struct PreparedUnit {
    unit: Unit,
    plan: plan::UnitPlan,
    tx: mpsc::Sender<UnitMsg>,
    inbox: mpsc::Receiver<UnitMsg>,
}

impl Running {
    /// Build a unit's state machine and I/O on the pool's sockets and route
    /// its VRIDs to it. Nothing runs yet.
    fn prepare_unit(&mut self, unit_plan: &plan::UnitPlan) -> Result<PreparedUnit, DaemonError> {
        let (tx, inbox) = mpsc::channel::<UnitMsg>(1024);
        let params = unit_plan
            .instances
            .iter()
            .map(|i| i.params.clone())
            .collect();
        let groups = match unit_plan.group {
            Some(_) => vec![(0..unit_plan.instances.len()).collect()],
            None => Vec::new(),
        };
        let router = Router::new(params, groups, Time::ZERO)?;
        let announcer = self.pool.announcer();
        let mut io = Vec::new();
        for (idx, inst) in unit_plan.instances.iter().enumerate() {
            let send = self
                .pool
                .send
                .get(&(inst.ifindex, inst.src))
                .cloned()
                .ok_or_else(|| RtnlError::Decode {
                    op: "sockets",
                    reason: "send socket missing".into(),
                })?;
            if let Some(routes) = self.pool.routes.get(&(inst.ifindex, inst.group)) {
                if let Ok(mut routes) = routes.write() {
                    match routes.entry(inst.params.vrid) {
                        std::collections::hash_map::Entry::Occupied(_) => tracing::warn!(
                            instance = %inst.name, vrid = inst.params.vrid, interface = %inst.ifname,
                            "two instances use VRID {} on {}; adverts go to the first", inst.params.vrid, inst.ifname
                        ),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert((tx.clone(), idx));
                        }
                    }
                }
            }
            io.push(InstanceIo::new(inst.clone(), send, announcer.clone()));
        }
        // Each unit its own clock: a unit started by a reload starts at
        // zero like one started with the daemon.
        let mut unit = Unit::new(
            unit_plan,
            router,
            io,
            self.bus.clone(),
            Instant::now(),
            self.script_timeout,
            self.reporting.clone(),
        )?;
        unit.remove_stale_vips();
        Ok(PreparedUnit {
            unit,
            plan: unit_plan.clone(),
            tx,
            inbox,
        })
    }

    fn spawn_unit(&mut self, p: PreparedUnit, links: &HashMap<u32, bool>) {
        let name = p.unit.name().to_string();
        let task = tokio::spawn(p.unit.run(p.inbox, links.clone()));
        let failed_tx = self.failed_tx.clone();
        let unit_name = name.clone();
        // A unit only ends on shutdown; a panic ends it early, and the
        // daemon must not go on without it.
        let handle = tokio::spawn(async move {
            if let Err(e) = task.await {
                tracing::error!(unit = %unit_name, error = %e, "unit task failed");
                let _ = failed_tx.send(format!(
                    "VRRP unit {unit_name} stopped unexpectedly (a bug)"
                ));
            }
        });
        if let Ok(mut list) = self.inboxes.write() {
            list.push(p.tx.clone());
        }
        self.units.push(UnitHandle {
            name,
            plan: p.plan,
            tx: p.tx,
            handle,
        });
    }

    fn spawn_receivers(
        &mut self,
        sockets: NewReceivers,
        macs: &HashMap<u32, (String, Option<[u8; 6]>)>,
    ) {
        for ((ifindex, group), socket) in sockets {
            let Some(routes) = self.pool.routes.get(&(ifindex, group)).cloned() else {
                continue;
            };
            let stats = Arc::new(RxStats::default());
            let name = macs.get(&ifindex).map(|m| m.0.clone()).unwrap_or_default();
            self.rx_stats
                .push((format!("{name}/{group}"), stats.clone()));
            self.background
                .push(tokio::spawn(rx::receive(socket, routes, stats)));
        }
    }

    /// Stop the named units (priority 0 if master, VIPs released,
    /// notify_stop) and forget their routes.
    async fn stop_units(&mut self, names: &[String], timeout: Duration) {
        let (stop, keep): (Vec<UnitHandle>, Vec<UnitHandle>) = std::mem::take(&mut self.units)
            .into_iter()
            .partition(|u| names.contains(&u.name));
        self.units = keep;
        // Routes stay until the unit has stopped: a leaving master keeps
        // its VIPs until it hears the new master's advert.
        for u in &stop {
            let _ = u.tx.send(UnitMsg::Shutdown).await;
        }
        let txs: Vec<mpsc::Sender<UnitMsg>> = stop.iter().map(|u| u.tx.clone()).collect();
        let all = futures_join(stop.into_iter().map(|u| u.handle).collect());
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("stopping units took longer than {timeout:?}");
        }
        for tx in &txs {
            for routes in self.pool.routes.values() {
                if let Ok(mut r) = routes.write() {
                    r.retain(|_, (t, _)| !t.same_channel(tx));
                }
            }
            if let Ok(mut list) = self.inboxes.write() {
                list.retain(|t| !t.same_channel(tx));
            }
        }
    }

    /// Apply a new plan: units that are not in the new plan stop; units of
    /// the new plan not running start; a unit whose name is in `dirty`
    /// takes its new plan in place when [`in_place`] allows (its instances
    /// keep their state, as keepalived keeps an instance that survives a
    /// reload), and is rebuilt otherwise (said in the log); every other
    /// unit runs on untouched. Sockets for the new units are opened before
    /// anything stops, so a failure changes nothing.
    async fn apply(
        &mut self,
        plan: Plan,
        kernel: &Kernel,
        dirty: &std::collections::BTreeSet<String>,
        reporting: UnitReporting,
        timeout: Duration,
    ) -> Result<Vec<String>, DaemonError> {
        let running: Vec<String> = self.units.iter().map(|u| u.name.clone()).collect();
        let new_names: Vec<String> = plan.units.iter().map(|u| u.name().to_string()).collect();
        let mut rebuild = std::collections::BTreeSet::new();
        let mut update = Vec::new();
        let mut start = Vec::new();
        for u in plan.units {
            let n = u.name().to_string();
            match self.units.iter().find(|h| h.name == n) {
                None => start.push(u),
                Some(_) if !dirty.contains(&n) => {}
                Some(h) => match in_place(&h.plan, &u) {
                    Ok(()) => update.push(u),
                    Err(why) => {
                        tracing::info!(unit = %n, "reload: {why}: the unit is rebuilt (a new election)");
                        rebuild.insert(n);
                        start.push(u);
                    }
                },
            }
        }
        let stop: Vec<String> = running
            .iter()
            .filter(|n| rebuild.contains(*n) || !new_names.contains(n))
            .cloned()
            .collect();
        let macs = link_macs(kernel);
        // The updated units need no new VRRP sockets (in_place), but a
        // VIP on another interface needs its gratuitous ARP/NA sender.
        let opened: Vec<plan::UnitPlan> = start.iter().chain(&update).cloned().collect();
        let new_rx = self.pool.open(&opened, &macs)?;
        let mut done = Vec::new();
        self.reporting = reporting;
        let updated: Vec<String> = update.iter().map(|u| u.name().to_string()).collect();
        for u in update {
            let name = u.name().to_string();
            let Some(h) = self.units.iter_mut().find(|h| h.name == name) else {
                continue;
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            let msg = UnitMsg::Reconfigure(Box::new(unit::Reconfigure {
                plan: u.clone(),
                announcer: self.pool.announcer(),
                reporting: self.reporting.clone(),
                done: tx,
            }));
            if h.tx.send(msg).await.is_err() {
                done.push(format!("{name}: not running"));
                continue;
            }
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(Ok(lines))) => {
                    h.plan = u;
                    done.extend(lines);
                }
                Ok(Ok(Err(why))) => {
                    // The unit runs its old plan still.
                    tracing::error!(unit = %name, "reload: {why}");
                    done.push(format!("{name}: not updated ({why})"));
                }
                Ok(Err(_)) | Err(_) => {
                    // Delivered: the unit takes it when it gets to it.
                    h.plan = u;
                    tracing::warn!(unit = %name, "reload: the unit did not confirm the update");
                    done.push(format!("{name}: update not confirmed"));
                }
            }
        }
        if !stop.is_empty() {
            tracing::info!(units = ?stop, "reload: stopping units");
            self.stop_units(&stop, timeout).await;
            done.extend(stop.iter().map(|n| format!("{n}: stopped")));
        }
        let links: HashMap<u32, bool> = kernel.links.iter().map(|l| (l.index, l.running)).collect();
        for u in &start {
            tracing::info!(unit = %u.name(), "reload: starting unit");
            let p = self.prepare_unit(u)?;
            self.spawn_unit(p, &links);
            done.push(format!("{}: started", u.name()));
        }
        self.spawn_receivers(new_rx, &macs);
        // An address that moved between instances was added by its new
        // master before the old one removed it (updates run first, stops
        // after): the updated masters add theirs again.
        for h in self.units.iter().filter(|h| updated.contains(&h.name)) {
            let _ = h.tx.send(UnitMsg::Reassert).await;
        }
        Ok(done)
    }

    /// Names of the running units' instances and groups.
    fn unit_members(&self) -> (Vec<String>, Vec<String>) {
        let mut instances = Vec::new();
        let mut groups = Vec::new();
        for u in &self.units {
            instances.extend(u.plan.instances.iter().map(|i| i.name.clone()));
            if let Some(g) = &u.plan.group {
                groups.push(g.name.clone());
            }
        }
        (instances, groups)
    }
}

/// Where link events come from: the kernel's [`LinkMonitor`], or a
/// scripted source in tests.
trait LinkEvents {
    fn next_events(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Vec<LinkEvent>, RtnlError>> + Send;
}

impl LinkEvents for LinkMonitor {
    fn next_events(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Vec<LinkEvent>, RtnlError>> + Send {
        self.next()
    }
}

/// Forward link changes to every unit.
///
/// If the subscription fails for good, `track_interface` and every
/// instance's own link state would silently stop following the links (an
/// instance would stay MASTER on a dead interface): that is reported on
/// `failed` like a unit's panic, so the daemon exits non-zero and is
/// restarted with a fresh subscription.
async fn watch_links(
    mut monitor: impl LinkEvents,
    inboxes: Arc<std::sync::RwLock<Vec<mpsc::Sender<UnitMsg>>>>,
    failed: mpsc::UnboundedSender<String>,
) {
    let mut last: HashMap<u32, bool> = HashMap::new();
    loop {
        match monitor.next_events().await {
            Ok(events) => {
                for ev in events {
                    // The kernel repeats RTM_NEWLINK for changes we do not
                    // track (MTU, stats); pass only changes of "running".
                    if last.insert(ev.index, ev.running) == Some(ev.running) {
                        continue;
                    }
                    let units = inboxes.read().map(|l| l.clone()).unwrap_or_default();
                    for tx in &units {
                        let _ = tx
                            .send(UnitMsg::Link {
                                ifindex: ev.index,
                                running: ev.running,
                            })
                            .await;
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "link monitor failed; track_interface can no longer follow link changes: stopping");
                let _ = failed.send(format!("the link monitor failed ({e})"));
                return;
            }
        }
    }
}

/// Run a `vrrp_script` every `interval`; report rise/fall-debounced changes.
async fn track_script(
    s: ScriptPlan,
    inboxes: Arc<std::sync::RwLock<Vec<mpsc::Sender<UnitMsg>>>>,
    cap: Duration,
) {
    let mut state = ScriptState::new(s.rise, s.fall, !s.init_fail);
    let timeout = if s.timeout.is_zero() { cap } else { s.timeout };
    let mut tick = tokio::time::interval(s.interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let outcome = script::run(&s.script, timeout).await;
        let ok = outcome == Outcome::Exited(0);
        if let Some(up) = state.record(ok) {
            tracing::info!(script = %s.name, up, ?outcome, "VRRP_Script({}) {}", s.name, if up { "succeeded" } else { "failed" });
            let units = inboxes.read().map(|l| l.clone()).unwrap_or_default();
            for tx in &units {
                let _ = tx
                    .send(UnitMsg::Script {
                        name: s.name.clone(),
                        up,
                    })
                    .await;
            }
        }
    }
}

impl Running {
    /// Ask every unit to log its counters (and log the receive-path drops).
    pub async fn dump_stats(&self) {
        for (name, stats) in &self.rx_stats {
            tracing::info!(socket = %name, stats = %stats.to_json(), "receive path stats");
        }
        for u in &self.units {
            let _ = u.tx.send(UnitMsg::DumpStats).await;
        }
    }

    /// Graceful stop: every unit leaves (priority 0, VIPs released,
    /// notify_stop), bounded by `timeout`.
    pub async fn shutdown(self, timeout: Duration) {
        for u in &self.units {
            let _ = u.tx.send(UnitMsg::Shutdown).await;
        }
        let all = futures_join(self.units.into_iter().map(|u| u.handle).collect());
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("shutdown took longer than {timeout:?}; exiting anyway");
        }
        for h in self.background {
            h.abort();
        }
    }
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// How long a stopping daemon waits for its last alerts to be sent.
const MAIL_FLUSH_ON_STOP: Duration = Duration::from_secs(3);

/// `tandem run`: start from a parsed keepalived.conf, then serve until
/// SIGTERM or SIGINT. The configuration is taken, not borrowed: the daemon
/// keeps it for reloads, and one copy of 10,000 real servers is megabytes.
pub async fn run(config: crate::config::Config, mut opts: RunOptions) -> Result<(), DaemonError> {
    // Health checks and virtual servers (docs/checks.md), built before
    // anything starts so that a configuration they cannot use stops here.
    let lvs = lvs::PreparedLvs::new(&config)?;
    let router_id = crate::notify::mail::router_id_or_host(config.global_defs.router_id.as_deref());
    if opts.reporting.status.is_none() {
        opts.reporting.status = Some(StatusHub::new(&router_id));
    }
    if opts.reporting.mailer.is_none() {
        opts.reporting.mailer = Some(
            match crate::notify::mail::Mailer::start(crate::notify::mail::MailSettings::from(
                &config.global_defs,
            )) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, "e-mail alerts disabled");
                    crate::notify::mail::Mailer::disabled()
                }
            },
        );
    }
    opts.reporting.smtp_alert = smtp_alert_names(&config);
    opts.reporting.no_email_faults = config.global_defs.no_email_faults;
    // Everything is built from the virtual servers now: keep them only as
    // the reload's fingerprints, and hand their memory back before the
    // checks and the first IPVS table need theirs.
    let config = reload::Held::new(config);
    crate::process::release_free_memory();
    run_with_lvs(
        |kernel, config| match config {
            Some(config) => configure::plan(config, kernel),
            None => Ok(Plan::default()),
        },
        opts,
        lvs,
        Some(config),
    )
    .await
}

/// Start from a plan, then serve until SIGTERM or SIGINT.
pub async fn run_with(
    make_plan: impl FnOnce(&Kernel) -> Result<Plan, PlanError>,
    opts: RunOptions,
) -> Result<(), DaemonError> {
    run_with_lvs(|kernel, _| make_plan(kernel), opts, None, None).await
}

/// The control socket, metrics listener and SIGUSR1 dump, started before
/// the units so that a socket that cannot be bound stops the start early.
struct ControlService {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    socket: std::path::PathBuf,
}

async fn start_control(
    ctl: &ControlOptions,
    hub: &StatusHub,
    reload: mpsc::Sender<crate::control::server::ReloadRequest>,
) -> Result<ControlService, DaemonError> {
    use crate::control::server;
    let listener = server::bind_control_socket(&ctl.socket, server::DEFAULT_SOCKET_MODE).await?;
    let metrics = match &ctl.metrics_listen {
        Some(addr) => Some(server::bind_metrics(addr).await?),
        None => None,
    };
    if let Err(e) = crate::control::dump::spawn_sigusr1_dump(ctl.dump_file.clone(), hub.subscribe())
    {
        tracing::warn!(error = %e, "SIGUSR1 state dump unavailable");
    }
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = vec![tokio::spawn(server::serve_control(
        listener,
        server::ControlState {
            status: hub.subscribe(),
            reload: Some(reload),
        },
        stopped(stop_rx.clone()),
    ))];
    tracing::info!(socket = %ctl.socket.display(), "control socket ready");
    if let Some(listener) = metrics {
        tracing::info!(address = ?ctl.metrics_listen, "Prometheus metrics at /metrics");
        tasks.push(tokio::spawn(server::serve_metrics(
            listener,
            hub.subscribe(),
            stopped(stop_rx),
        )));
    }
    Ok(ControlService {
        stop,
        tasks,
        socket: ctl.socket.clone(),
    })
}

impl ControlService {
    async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

async fn run_with_lvs(
    make_plan: impl FnOnce(&Kernel, Option<&crate::config::Config>) -> Result<Plan, PlanError>,
    mut opts: RunOptions,
    lvs: Option<lvs::PreparedLvs>,
    mut config: Option<reload::Held>,
) -> Result<(), DaemonError> {
    use crate::control::sd_notify::{Notifier, watchdog_interval};
    // Install the handlers before starting, so a signal during start-up
    // still leads to a clean stop.
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let mut usr1 = signal(SignalKind::user_defined1()).map_err(DaemonError::Signal)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let hub = opts
        .reporting
        .status
        .clone()
        .unwrap_or_else(|| StatusHub::new(&crate::notify::mail::host_name()));
    let (reload_tx, mut reload_rx) = mpsc::channel(1);
    // A control socket that cannot be bound (another tandem answers there,
    // a read-only /run) costs the status, not the service: VRRP and the
    // checks run without it, and the log says why.
    let control = match &opts.control {
        Some(ctl) => match start_control(ctl, &hub, reload_tx).await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "running without a control socket: tandem status, tandem reload and metrics are unavailable (SIGHUP still reloads)");
                None
            }
        },
        None => None,
    };
    let notifier = Notifier::from_env();
    // The VIP gate knows which instances govern virtual servers before any
    // unit runs: an address owner is MASTER at once.
    if let Some(l) = &lvs {
        opts.bus
            .get_or_insert_with(Bus::new)
            .set_governing(l.governing());
    }
    let mut running = match start(
        |kernel| make_plan(kernel, config.as_ref().map(reload::Held::config)),
        &opts,
    ) {
        Ok(r) => r,
        Err(e) => {
            if let Some(c) = control {
                c.shutdown().await;
            }
            return Err(e);
        }
    };
    let mailer = opts.reporting.mailer.clone();
    let mut lvs = lvs.map(|l| {
        l.start(
            &running.bus,
            opts.script_timeout,
            Some(hub.clone()),
            mailer.clone(),
        )
    });
    let units = running.units.len();
    if units == 0 {
        tracing::info!("no vrrp_instance configured: nothing to elect");
    }
    hub.modify(|s| {
        s.config.file = opts
            .source
            .as_ref()
            .map(|c| c.file.display().to_string())
            .unwrap_or_default();
        s.config.applied_unix_ms = Some(crate::process::unix_ms_now());
    });
    tracing::info!(units, "tandem started");
    // Sockets open, VIPs of the initial state decided by the units, checks
    // running: systemd may now consider the service started.
    let _ = notifier.ready(&format!("{units} VRRP unit(s) running"));
    let mut watchdog =
        tokio::time::interval(watchdog_interval().unwrap_or(Duration::from_secs(3600)));
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watchdog_on = watchdog_interval().is_some();
    let mut mail_tick = tokio::time::interval(Duration::from_secs(1));
    mail_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failure = None;
    loop {
        tokio::select! {
            Some(what) = running.failed.recv() => {
                tracing::error!("{what}: stopping");
                failure = Some(what);
                break;
            }
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = usr1.recv() => running.dump_stats().await,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                let outcome = reload_config(&opts, &mut config, &mut running, &mut lvs, &hub, &notifier).await;
                log_outcome(&outcome);
            }
            Some(req) = reload_rx.recv() => {
                tracing::info!("reload requested on the control socket");
                let outcome = reload_config(&opts, &mut config, &mut running, &mut lvs, &hub, &notifier).await;
                log_outcome(&outcome);
                let _ = req.reply.send(outcome);
            }
            _ = watchdog.tick(), if watchdog_on => { let _ = notifier.watchdog(); }
            _ = mail_tick.tick() => {
                if let Some(m) = &mailer {
                    hub.set_mail(m.status());
                }
            }
        }
    }
    let _ = notifier.stopping();
    running.shutdown(opts.shutdown_timeout).await;
    if let Some(lvs) = lvs {
        lvs.shutdown().await;
    }
    if let Some(m) = &mailer {
        // VRRP and the checks have stopped; a relay that never answers
        // costs at most this.
        m.flush(MAIL_FLUSH_ON_STOP).await;
    }
    if let Some(c) = control {
        c.shutdown().await;
    }
    tracing::info!("tandem stopped");
    match failure {
        Some(what) => Err(DaemonError::TaskFailed(what)),
        None => Ok(()),
    }
}

fn log_outcome(outcome: &crate::control::server::ReloadOutcome) {
    if outcome.applied && outcome.changes.is_empty() {
        tracing::info!("reload done: no change");
    } else if outcome.applied {
        tracing::info!(changes = ?outcome.changes, "reload done");
    } else {
        for e in &outcome.errors {
            tracing::error!("reload refused: {e}");
        }
    }
}

/// The resolved `smtp_alert` switches of a configuration's instances and groups.
fn smtp_alert_names(config: &crate::config::Config) -> std::collections::BTreeSet<String> {
    config
        .vrrp_instances
        .iter()
        .filter(|i| i.smtp_alert)
        .map(|i| i.name.clone())
        .chain(
            config
                .vrrp_sync_groups
                .iter()
                .filter(|g| g.smtp_alert)
                .map(|g| g.name.clone()),
        )
        .collect()
}

/// Why a valid configuration cannot be applied without a restart, if it
/// cannot: `global_defs` beyond its mail keywords and `router_id`
/// ([`mail_only`]; multicast groups, GARP defaults, script users,
/// `lvs_flush`, ... are read once at start) and `vrrp_script` (the
/// trackers of running units share them). Virtual servers, groups and
/// VRRP instances are applied live.
fn needs_restart(
    diff: &reload::Diff,
    old: &crate::config::GlobalDefs,
    new: &crate::config::GlobalDefs,
) -> Vec<String> {
    use reload::Item;
    diff.items
        .iter()
        .filter(|(item, _, _)| match item {
            Item::GlobalDefs => !mail_only(old, new),
            Item::VrrpScript => true,
            _ => false,
        })
        .map(|(item, name, change)| {
            format!(
                "{}: applying this change needs a restart",
                reload::Diff {
                    items: vec![(*item, name.clone(), *change)]
                }
                .describe()
                .join("")
            )
        })
        .collect()
}

/// Whether two `global_defs` differ only in what a reload applies live:
/// the mail keywords (a new delivery task, [`Mailer::reconfigure`]),
/// `router_id`, `no_email_faults`, and the `smtp_alert` defaults (already
/// resolved into the instances and servers, whose own changes the reload
/// applies). keepalived re-reads all of `global_defs` on reload; the rest
/// (multicast groups, GARP defaults, script users, `lvs_flush`, ...) still
/// needs a restart here.
///
/// [`Mailer::reconfigure`]: crate::notify::mail::Mailer::reconfigure
fn mail_only(old: &crate::config::GlobalDefs, new: &crate::config::GlobalDefs) -> bool {
    let mut masked = new.clone();
    masked.notification_email = old.notification_email.clone();
    masked.notification_email_from = old.notification_email_from.clone();
    masked.smtp_server = old.smtp_server;
    masked.smtp_helo_name = old.smtp_helo_name.clone();
    masked.smtp_connect_timeout = old.smtp_connect_timeout;
    masked.router_id = old.router_id.clone();
    masked.no_email_faults = old.no_email_faults;
    masked.smtp_alert = old.smtp_alert;
    masked.smtp_alert_vrrp = old.smtp_alert_vrrp;
    masked.smtp_alert_checker = old.smtp_alert_checker;
    // As the reload's diff compares: by what is written, not by where
    // (positions kept for error messages are not part of the value).
    serde_json::to_value(&masked).ok() == serde_json::to_value(old).ok()
}

/// Whether a running unit can take a reload's new plan in place (its
/// instances keep their state: no re-election, no VIP flap), or why it must
/// be rebuilt. What names the virtual router or the sockets it runs on
/// cannot change under a running instance: the members, their interface,
/// source address, multicast group, unicast vs multicast, VRID, version and
/// the tracked objects (a new tracker's state is not known). Priority,
/// advert_int, preemption, authentication, VIPs, tracker weights, GARP
/// settings, notify scripts and unicast peers can.
fn in_place(old: &plan::UnitPlan, new: &plan::UnitPlan) -> Result<(), String> {
    if old.group.is_some() != new.group.is_some() {
        return Err("it became or stopped being a vrrp_sync_group".into());
    }
    let names = |u: &plan::UnitPlan| {
        u.instances
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    };
    if names(old) != names(new) {
        return Err("its members changed".into());
    }
    for (o, n) in old.instances.iter().zip(&new.instances) {
        let what = if o.ifindex != n.ifindex {
            "interface"
        } else if o.src != n.src {
            "source address"
        } else if o.group != n.group {
            "multicast group"
        } else if o.unicast_peers.is_empty() != n.unicast_peers.is_empty() {
            "unicast vs multicast"
        } else if o.params.vrid != n.params.vrid {
            "virtual_router_id"
        } else if o.params.version != n.params.version {
            "version"
        } else if o.track_links != n.track_links
            || o.track_scripts != n.track_scripts
            || o.params.trackers.iter().map(|t| &t.name).ne(n
                .params
                .trackers
                .iter()
                .map(|t| &t.name))
        {
            "tracked objects"
        } else {
            continue;
        };
        return Err(format!("vrrp_instance {}: {what} changed", n.name));
    }
    Ok(())
}

/// Whether the LVS side must be rebuilt: a virtual server or group
/// changed, or a VRRP instance whose virtual addresses decide which virtual
/// servers it governs was added, removed or given other addresses.
fn lvs_touched(
    old: &crate::config::Config,
    new: &crate::config::Config,
    diff: &reload::Diff,
) -> bool {
    use reload::Item;
    let vips = |c: &crate::config::Config, name: &str| {
        c.vrrp_instance(name)
            .map(|i| serde_json::to_value(&i.virtual_ipaddress).unwrap_or_default())
    };
    diff.items.iter().any(|(item, name, _)| match item {
        Item::VirtualServer | Item::VirtualServerGroup => true,
        Item::VrrpInstance => vips(old, name) != vips(new, name),
        _ => false,
    })
}

/// Load and check the configuration file again, and apply the difference
/// (see [`reload`] for what "changed" means): a bad file, or one whose
/// changes need a restart, leaves everything as it is.
async fn reload_config(
    opts: &RunOptions,
    current: &mut Option<reload::Held>,
    running: &mut Running,
    lvs: &mut Option<lvs::LvsService>,
    hub: &StatusHub,
    notifier: &crate::control::sd_notify::Notifier,
) -> crate::control::server::ReloadOutcome {
    use crate::control::server::ReloadOutcome;
    let _ = notifier.reloading();
    // Stopping a rebuilt master may take a Master_Down_Interval (bounded
    // by the shutdown timeout); keep systemd's watchdog fed meanwhile.
    let pinger = crate::control::sd_notify::watchdog_interval().map(|every| {
        let n = notifier.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let _ = n.watchdog();
            }
        })
    });
    let refuse = |errors: Vec<String>, changes: Vec<String>| ReloadOutcome {
        applied: false,
        changes,
        errors,
    };
    let outcome = 'out: {
        let (Some(source), Some(old)) = (&opts.source, current.as_ref()) else {
            break 'out refuse(
                vec![
                    "this daemon was not started from a configuration file; nothing to reload"
                        .into(),
                ],
                Vec::new(),
            );
        };
        let file = source.file.display().to_string();
        let loaded = crate::config::load(&source.file, &source.load);
        for d in loaded.diagnostics.iter().filter(|d| !d.is_error()) {
            tracing::warn!("{d}");
        }
        let Some(new) = loaded.config else {
            break 'out refuse(loaded.errors().map(|d| d.to_string()).collect(), Vec::new());
        };
        // Script users and enable_script_security, as at start.
        let (script_errors, script_warnings) = script::check_config(&new);
        for w in &script_warnings {
            tracing::warn!("{w}");
        }
        if !script_errors.is_empty() {
            break 'out refuse(
                script_errors.iter().map(|e| e.to_string()).collect(),
                Vec::new(),
            );
        }
        let diff = reload::diff_held(old, &new);
        if diff.is_empty() {
            *current = Some(reload::Held::new(new));
            break 'out ReloadOutcome {
                applied: true,
                changes: Vec::new(),
                errors: Vec::new(),
            };
        }
        let why = needs_restart(&diff, &old.config().global_defs, &new.global_defs);
        if !why.is_empty() {
            break 'out refuse(
                why.into_iter()
                    .map(|w| format!("{file}: {w} (systemctl restart tandem); the running configuration stays"))
                    .collect(),
                diff.describe(),
            );
        }
        // The LVS side is built before anything changes: a configuration it
        // cannot use (an unknown MISC_CHECK user) refuses the reload.
        let lvs_touched = lvs_touched(old.config(), &new, &diff);
        let prepared = if lvs_touched {
            match lvs::PreparedLvs::new(&new) {
                Ok(p) => p,
                Err(e) => break 'out refuse(vec![format!("{file}: {e}")], diff.describe()),
            }
        } else {
            None
        };
        // Resolve the new VRRP configuration against the kernel as a start
        // would: an instance that cannot run here refuses the reload.
        let kernel = match Rtnl::new()
            .map_err(PlanError::from)
            .and_then(|mut rtnl| Kernel::read(&mut rtnl))
        {
            Ok(k) => k,
            Err(e) => break 'out refuse(vec![e.to_string()], diff.describe()),
        };
        let plan = match configure::plan(&new, &kernel) {
            Ok(p) => p,
            Err(e) => break 'out refuse(vec![e.to_string()], diff.describe()),
        };
        // A unit whose group or any member changed is updated in place, or
        // rebuilt when it must be (`in_place`).
        let changed: std::collections::BTreeSet<String> =
            diff.items.iter().map(|(_, name, _)| name.clone()).collect();
        let mut dirty = std::collections::BTreeSet::new();
        for u in running
            .units
            .iter()
            .map(|u| &u.plan)
            .chain(plan.units.iter())
        {
            if changed.contains(u.name()) || u.instances.iter().any(|i| changed.contains(&i.name)) {
                dirty.insert(u.name().to_string());
            }
        }
        // `no_email_faults` lives in each unit's mail filter: every unit
        // takes it through an in-place update.
        if old.config().global_defs.no_email_faults != new.global_defs.no_email_faults {
            dirty.extend(running.units.iter().map(|u| u.plan.name().to_string()));
        }
        let mut reporting = running.reporting.clone();
        reporting.smtp_alert = smtp_alert_names(&new);
        reporting.no_email_faults = new.global_defs.no_email_faults;
        // New mail keywords: a new delivery task behind the same handle
        // (so the units and the LVS task use it too); settings that do not
        // check out refuse the reload before anything else changes.
        let old_globals = &old.config().global_defs;
        let mail_changed = MailSettings::from(old_globals) != MailSettings::from(&new.global_defs);
        if mail_changed {
            if let Some(m) = &running.reporting.mailer {
                if let Err(e) = m.reconfigure(MailSettings::from(&new.global_defs)) {
                    break 'out refuse(vec![format!("{file}: e-mail: {e}")], diff.describe());
                }
            }
        }
        match running
            .apply(plan, &kernel, &dirty, reporting, opts.shutdown_timeout)
            .await
        {
            Ok(done) => {
                if mail_changed {
                    let router_id = crate::notify::mail::router_id_or_host(
                        new.global_defs.router_id.as_deref(),
                    );
                    hub.modify(|s| s.router_id = router_id);
                }
                let (instances, groups) = running.unit_members();
                hub.retain_units(&instances, &groups);
                if lvs_touched {
                    // Keep the running IPVS programmer when there is one, so
                    // the kernel sees only the difference.
                    *lvs = match (lvs.take(), prepared) {
                        (Some(l), Some(p)) => Some(l.reload(p, &running.bus).await),
                        (Some(l), None) => {
                            l.shutdown().await;
                            hub.set_virtual_servers(Vec::new());
                            None
                        }
                        (None, Some(p)) => Some(p.start(
                            &running.bus,
                            opts.script_timeout,
                            Some(hub.clone()),
                            running.reporting.mailer.clone(),
                        )),
                        (None, None) => None,
                    };
                }
                *current = Some(reload::Held::new(new));
                let mut changes = diff.describe();
                changes.extend(done);
                ReloadOutcome {
                    applied: true,
                    changes,
                    errors: Vec::new(),
                }
            }
            Err(e) => {
                if mail_changed {
                    if let Some(m) = &running.reporting.mailer {
                        let _ = m.reconfigure(MailSettings::from(&old.config().global_defs));
                    }
                }
                refuse(vec![e.to_string()], diff.describe())
            }
        }
    };
    hub.modify(|s| {
        if outcome.applied {
            s.config.reloads += 1;
            s.config.applied_unix_ms = Some(crate::process::unix_ms_now());
            s.config.last_reload_errors.clear();
        } else {
            s.config.reload_failures += 1;
            s.config.last_reload_errors = outcome.errors.clone();
        }
    });
    if let Some(p) = pinger {
        p.abort();
    }
    // A reload held two configurations and two LVS builds for a moment;
    // hand what is freed back to the system.
    crate::process::release_free_memory();
    let _ = notifier.ready("configuration reloaded");
    outcome
}

/// Log to stderr: `RUST_LOG` (or `TANDEM_LOG`) filters, `info` by default.
/// Plain text without colours, one line per event, so logs grep well and
/// read well in journald.
pub fn init_logging() {
    let filter = std::env::var("TANDEM_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter));
    // Under systemd, journald stamps each line itself and takes its
    // priority from a "<N>" prefix (`journalctl -p warning`).
    let _ = if crate::process::stderr_is_journal() {
        let format = tracing_subscriber::fmt::format().without_time();
        builder
            .event_format(crate::process::JournalPriority(format))
            .try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Config, LoadOptions, load_str};

    const BASE: &str = "\
global_defs {
    router_id lb1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.2/24
    }
}
virtual_server 192.0.2.2 80 {
    lb_algo rr
    lb_kind NAT
    real_server 198.51.100.10 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

    /// A test configuration as the daemon would get it (shared with the
    /// reload tests).
    pub(super) fn parse(text: &str) -> Config {
        let loaded = load_str(
            Path::new("test.conf"),
            text.to_string(),
            &LoadOptions::default(),
        );
        match loaded.config {
            Some(c) => c,
            None => panic!("test config refused: {:?}", loaded.diagnostics),
        }
    }

    fn verdict(new: &str) -> (Vec<String>, bool) {
        let (old, new) = (parse(BASE), parse(new));
        let diff = reload::diff(&old, &new);
        (
            needs_restart(&diff, &old.global_defs, &new.global_defs),
            lvs_touched(&old, &new, &diff),
        )
    }

    #[test]
    fn a_real_server_weight_is_applied_live_on_the_lvs_side() {
        let (why, lvs) = verdict(&BASE.replace("weight 1", "weight 5"));
        assert!(why.is_empty(), "{why:?}");
        assert!(lvs);
    }

    #[test]
    fn a_priority_change_leaves_the_lvs_side_alone() {
        let (why, lvs) = verdict(&BASE.replace("priority 150", "priority 90"));
        assert!(why.is_empty(), "{why:?}");
        assert!(!lvs);
    }

    #[test]
    fn other_vips_rebuild_the_lvs_side() {
        let (why, lvs) = verdict(&BASE.replace("192.0.2.2/24", "192.0.2.3/24"));
        assert!(why.is_empty(), "{why:?}");
        assert!(lvs);
    }

    /// A scripted link-event source: its batches, then an error.
    struct Scripted(std::collections::VecDeque<Vec<LinkEvent>>);

    impl LinkEvents for Scripted {
        fn next_events(
            &mut self,
        ) -> impl std::future::Future<Output = Result<Vec<LinkEvent>, RtnlError>> + Send {
            let next = self.0.pop_front();
            async move {
                next.ok_or_else(|| RtnlError::Io {
                    op: "link events",
                    source: std::io::Error::from_raw_os_error(libc::EBADF),
                })
            }
        }
    }

    #[tokio::test]
    async fn a_failed_link_monitor_stops_the_daemon_like_a_unit_panic() {
        let (tx, mut inbox) = mpsc::channel(8);
        let inboxes = Arc::new(std::sync::RwLock::new(vec![tx]));
        let (failed_tx, mut failed) = mpsc::unbounded_channel();
        let down = LinkEvent {
            index: 3,
            name: "eth1".into(),
            running: false,
            removed: false,
        };
        let source = Scripted(vec![vec![down]].into());
        watch_links(source, inboxes, failed_tx).await;
        // The events before the failure reached the units...
        assert!(matches!(
            inbox.try_recv(),
            Ok(UnitMsg::Link {
                ifindex: 3,
                running: false
            })
        ));
        // ...and the failure is reported as fatal, as `run` exits on.
        let what = failed.try_recv().unwrap_or_default();
        assert!(what.contains("link monitor failed"), "{what}");
        let err = DaemonError::TaskFailed(what);
        assert!(
            err.to_string()
                .contains("stopped so that it can be restarted"),
            "{err}"
        );
    }

    #[test]
    fn mail_settings_and_router_id_are_reloaded_live() {
        for changed in [
            "router_id lb2",
            "router_id lb1\n    smtp_server 192.0.2.25 2525\n    notification_email {\n        ops@example.com\n    }",
            "router_id lb1\n    smtp_connect_timeout 5\n    smtp_helo_name lb1.example",
            "router_id lb1\n    no_email_faults\n    smtp_alert",
        ] {
            let (why, _) = verdict(&BASE.replace("router_id lb1", changed));
            assert!(why.is_empty(), "{changed}: {why:?}");
        }
    }

    #[test]
    fn a_mail_line_that_moves_another_keyword_is_still_mail_only() {
        // script_user keeps its position for error messages; a line added
        // above it moves that position, not its value.
        let old = parse(&BASE.replace("router_id lb1", "router_id lb1\n    script_user nobody"));
        let new = parse(&BASE.replace(
            "router_id lb1",
            "router_id lb1\n    smtp_server 192.0.2.25\n    script_user nobody",
        ));
        let diff = reload::diff(&old, &new);
        assert!(
            needs_restart(&diff, &old.global_defs, &new.global_defs).is_empty(),
            "{:?}",
            diff.describe()
        );
    }

    #[test]
    fn other_global_defs_still_need_a_restart() {
        for changed in [
            "router_id lb1\n    vrrp_garp_master_repeat 2",
            "router_id lb1\n    vrrp_mcast_group4 224.0.0.19",
            "router_id lb2\n    lvs_flush",
        ] {
            let (why, _) = verdict(&BASE.replace("router_id lb1", changed));
            assert_eq!(
                why,
                ["global_defs: changed: applying this change needs a restart"],
                "{changed}"
            );
        }
    }

    fn unit_of(text: &str) -> plan::UnitPlan {
        let link = |index: u32, name: &str| crate::net::LinkInfo {
            index,
            name: name.into(),
            running: true,
            mac: Some([2, 0, 0, 0, 0, 1]),
        };
        let addr = |ifindex, a: [u8; 4]| crate::net::IfAddress {
            prefix_len: 24,
            ..crate::net::IfAddress::host(ifindex, IpAddr::from(a))
        };
        let kernel = Kernel {
            links: vec![link(2, "eth0"), link(3, "eth1")],
            addresses: vec![addr(2, [192, 0, 2, 1]), addr(3, [198, 51, 100, 1])],
        };
        match configure::plan(&parse(text), &kernel) {
            Ok(mut p) if p.units.len() == 1 => p.units.remove(0),
            other => panic!("not one unit: {other:?}"),
        }
    }

    #[test]
    fn how_an_instance_behaves_is_reloaded_in_place() {
        let old = unit_of(BASE);
        for new in [
            BASE.replace("priority 150", "priority 90"),
            BASE.replace("priority 150", "priority 90\n advert_int 2\n nopreempt"),
            BASE.replace("192.0.2.2/24", "192.0.2.2/24\n 192.0.2.3/24"),
            BASE.replace("priority 150", "priority 150\n garp_master_repeat 2"),
        ] {
            assert_eq!(in_place(&old, &unit_of(&new)), Ok(()), "{new}");
        }
    }

    #[test]
    fn what_names_the_virtual_router_rebuilds_it() {
        let old = unit_of(BASE);
        for (new, why) in [
            (
                BASE.replace("interface eth0", "interface eth1"),
                "vrrp_instance VI_1: interface changed",
            ),
            (
                BASE.replace("virtual_router_id 51", "virtual_router_id 52"),
                "vrrp_instance VI_1: virtual_router_id changed",
            ),
            (
                BASE.replace(
                    "priority 150",
                    "priority 150\n unicast_peer {\n 192.0.2.9\n }",
                ),
                "vrrp_instance VI_1: unicast vs multicast changed",
            ),
            (
                BASE.replace(
                    "priority 150",
                    "priority 150\n track_interface {\n eth1\n }",
                ),
                "vrrp_instance VI_1: tracked objects changed",
            ),
        ] {
            assert_eq!(
                in_place(&old, &unit_of(&new)),
                Err(why.to_string()),
                "{new}"
            );
        }
    }
}
