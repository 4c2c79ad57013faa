//! The VRRP side of a running daemon ([`Running`]): one task per unit, one
//! receive task per socket, the link monitor and the `vrrp_script`
//! trackers, started from a [`Plan`] and changed by a reload's plan.
//!
//! Owns the units' handles, inboxes and shared sockets ([`IoPool`]), and
//! the channel on which a task that must not end reports that it did. It
//! never touches protocol state (only a unit's task does) and knows nothing
//! of IPVS, the control socket or signals.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::net::{LinkMonitor, Rtnl, RtnlError};
use crate::vrrp::{Router, Time};

use super::bfd::{BfdIo, BfdRuntime, BfdTask};
use super::bus::Bus;
use super::error::DaemonError;
use super::feeds::{self, Inboxes};
use super::options::RunOptions;
use super::plan::{self, Kernel, Plan, PlanError, UnitPlan, VmacPlan, Waiting};
use super::pool::{IoPool, LinkMacs, NewReceivers, link_macs};
use super::rx::{self, RxStats};
use super::unit::{self, BfdStates, InstanceIo, Unit, UnitMsg, UnitReporting};
use super::vmac_set::VmacSet;

/// One running unit: its name, inbox, task and the plan it runs.
/// What [`Running::apply`] did: one line per unit for the log, and the
/// units it started (new, or rebuilt: their instances notify their own
/// transitions from INIT).
pub(super) struct Applied {
    pub lines: Vec<String>,
    pub started: Vec<String>,
}

/// Every instance a plan has, running or waiting for its link.
fn configured_instances(plan: &Plan) -> BTreeSet<String> {
    plan.units
        .iter()
        .flat_map(|u| u.instances.iter().map(|i| i.name.clone()))
        .chain(plan.waiting.iter().map(|w| w.instance.clone()))
        .collect()
}

struct UnitHandle {
    name: String,
    plan: UnitPlan,
    tx: mpsc::Sender<UnitMsg>,
    handle: tokio::task::JoinHandle<()>,
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
    inboxes: Inboxes,
    script_timeout: Duration,
    reporting: UnitReporting,
    /// The vmacs the units run on (use_vmac, use_ipvlan).
    vmacs: VmacSet,
    /// `dynamic_interfaces`: the instances the last plan left out, waiting
    /// for a link.
    waiting: Vec<Waiting>,
    /// The BFD sessions' states, which every unit reads when it starts.
    bfd_states: BfdStates,
    /// `vrrp_startup_delay`: the end of the daemon's delayed start; a unit
    /// started before it (a reload during the delay too) waits for it.
    start_hold: Option<Instant>,
    /// `log_unknown_vrids`, for the receive tasks.
    log_unknown_vrids: bool,
    /// The BFD thread, while there are sessions.
    bfd_runtime: Option<BfdRuntime>,
}

/// Read the kernel's links and addresses, resolve the configuration
/// against them with `make_plan`, open every socket and start every task.
/// Must run inside a tokio runtime, in the network namespace to manage.
pub fn start(
    make_plan: impl Fn(&Kernel) -> Result<Plan, PlanError>,
    opts: &RunOptions,
) -> Result<Running, DaemonError> {
    let mut rtnl = Rtnl::new()?;
    let mut vmacs = VmacSet::default();
    let started = (|| {
        // The vmacs first: the link events of their creation (down, then
        // up) must not reach the units as a FAULT and a recovery.
        make_vmacs(&mut rtnl, &mut vmacs, &make_plan)?;
        // Subscribe to link events before reading link states, so that no
        // change between the two is lost (a duplicate is harmless).
        let monitor = LinkMonitor::new()?;
        let (kernel, plan) = resolve(&mut rtnl, &make_plan)?;
        start_plan(plan, &kernel, monitor, opts, &mut vmacs)
    })();
    if started.is_err() {
        vmacs.remove_all(&mut rtnl);
    }
    started
}

/// Every vmac of a plan.
fn vmacs_of(plan: &Plan) -> impl Iterator<Item = &VmacPlan> {
    plan.units
        .iter()
        .flat_map(|u| &u.instances)
        .flat_map(|i| i.vmac.iter().chain(i.addr_vmacs.iter().map(|(_, v)| v)))
}

/// Create (or adopt) the vmacs (use_vmac, use_ipvlan) the configuration
/// needs and `vmacs` does not hold yet, resolving it on the links as they
/// are.
fn make_vmacs(
    rtnl: &mut Rtnl,
    vmacs: &mut VmacSet,
    make_plan: &impl Fn(&Kernel) -> Result<Plan, PlanError>,
) -> Result<(), PlanError> {
    let kernel = Kernel::read(rtnl)?;
    let plan = make_plan(&kernel)?;
    if vmacs.missing(vmacs_of(&plan)) {
        vmacs.ensure(rtnl, &kernel, vmacs_of(&plan))?;
    }
    Ok(())
}

/// Read the kernel and resolve the configuration against it; every vmac
/// must exist by now ([`make_vmacs`]).
fn resolve(
    rtnl: &mut Rtnl,
    make_plan: &impl Fn(&Kernel) -> Result<Plan, PlanError>,
) -> Result<(Kernel, Plan), PlanError> {
    let kernel = Kernel::read(rtnl)?;
    let plan = make_plan(&kernel)?;
    if let Some(v) = vmacs_of(&plan).find(|v| v.index.is_none()) {
        return Err(PlanError::Invalid {
            origin: v.base_ifname.clone(),
            instance: v.name.clone(),
            what: format!("the vmac {} is not there after it was created", v.name),
        });
    }
    Ok((kernel, plan))
}

fn start_plan(
    plan: Plan,
    kernel: &Kernel,
    monitor: LinkMonitor,
    opts: &RunOptions,
    vmacs: &mut VmacSet,
) -> Result<Running, DaemonError> {
    let bus = opts.bus.clone().unwrap_or_default();
    let links: HashMap<u32, bool> = kernel.links.iter().map(|l| (l.index, l.running)).collect();
    let macs = link_macs(kernel);

    // Open everything first: a socket that cannot be opened stops the
    // start before any task runs or any address changes.
    let mut pool = IoPool::with_delays(&plan.garp_delays);
    let new_rx = pool.open(&plan.units, &macs)?;
    // BFD on a thread of its own (its scheduling knobs), started only
    // with sessions to run; its sockets are opened there, before anything
    // runs, as every socket is.
    let bfd_rt =
        if plan.bfd.is_empty() {
            None
        } else {
            Some(BfdRuntime::start().map_err(|e| {
                DaemonError::TaskFailed(format!("cannot start the BFD thread: {e}"))
            })?)
        };
    let bfd_io = match &bfd_rt {
        Some(rt) => rt.enter(|| BfdIo::open(&plan.bfd))?,
        None => None,
    };
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
        vmacs: std::mem::take(vmacs),
        waiting: plan.waiting.clone(),
        bfd_states: BfdStates::default(),
        start_hold: startup_hold(opts.vrrp_startup_delay),
        log_unknown_vrids: opts.log_unknown_vrids,
        bfd_runtime: None,
    };
    let mut prepared = Vec::new();
    for unit_plan in &plan.units {
        match running.prepare_unit(unit_plan) {
            Ok(p) => prepared.push(p),
            Err(e) => {
                *vmacs = std::mem::take(&mut running.vmacs);
                return Err(e);
            }
        }
    }
    for p in prepared {
        running.spawn_unit(p, &links);
    }
    running.spawn_receivers(new_rx, &macs);
    let inboxes = running.inboxes.clone();
    let polled = plan.linkbeat.iter().map(|(n, _)| n.clone()).collect();
    running.background.push(tokio::spawn(feeds::watch_links(
        monitor,
        inboxes.clone(),
        running.failed_tx.clone(),
        polled,
    )));
    if !plan.linkbeat.is_empty() {
        let list = plan.linkbeat.clone();
        running
            .background
            .push(tokio::spawn(feeds::linkbeat(list, inboxes.clone())));
    }
    if let Some(io) = bfd_io {
        let task = BfdTask::new(
            plan.bfd,
            io,
            running.bfd_states.clone(),
            inboxes.clone(),
            opts.reporting.status.clone(),
            running.bus.clone(),
        );
        if let Some(rt) = &bfd_rt {
            running.background.push(rt.spawn(task.run()));
        }
    }
    running.bfd_runtime = bfd_rt;
    for s in plan.scripts {
        running.background.push(tokio::spawn(feeds::track_script(
            s,
            inboxes.clone(),
            opts.script_timeout,
        )));
    }
    Ok(running)
}

/// The end of `vrrp_startup_delay` from now, logged as keepalived logs it.
fn startup_hold(delay: Duration) -> Option<Instant> {
    if delay.is_zero() {
        return None;
    }
    tracing::info!(
        "Delaying startup for {} seconds (vrrp_startup_delay)",
        delay.as_secs_f64()
    );
    Some(Instant::now() + delay)
}

/// A unit built but not yet running.
struct PreparedUnit {
    unit: Unit,
    plan: UnitPlan,
    tx: mpsc::Sender<UnitMsg>,
    inbox: mpsc::Receiver<UnitMsg>,
}

impl Running {
    /// Build a unit's state machine and I/O on the pool's sockets and route
    /// its VRIDs to it. Nothing runs yet.
    fn prepare_unit(&mut self, unit_plan: &UnitPlan) -> Result<PreparedUnit, DaemonError> {
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
                .get(&super::pool::send_key(inst))
                .cloned()
                .ok_or_else(|| RtnlError::Decode {
                    op: "sockets",
                    reason: "send socket missing".into(),
                })?;
            if let Some(routes) = self.pool.routes.get(&(inst.ifindex, inst.rx_dest())) {
                if let Ok(mut routes) = routes.write() {
                    let list = routes.entry(inst.params.vrid).or_default();
                    // Unicast instances may share a VRID (rx::pick tells them
                    // apart); multicast ones on one group may not (the
                    // configuration check refuses them).
                    if inst.unicast_peers.is_empty() && !list.is_empty() {
                        tracing::warn!(
                            instance = %inst.name, vrid = inst.params.vrid, interface = %inst.ifname,
                            "two instances use VRID {} on {} for {}; adverts go to the first", inst.params.vrid, inst.ifname, inst.rx_dest()
                        );
                    } else {
                        list.push(rx::Route {
                            tx: tx.clone(),
                            instance: idx,
                            local: inst.src,
                            peers: inst.unicast_peers.clone(),
                        });
                    }
                }
            }
            let mut inst = inst.clone();
            inst.vips.filter = Some(self.pool.accept_filter.clone());
            io.push(InstanceIo::new(inst, send, announcer.clone()));
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
        unit.set_bfd_states(self.bfd_states.clone());
        unit.set_start_hold(self.start_hold);
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

    fn spawn_receivers(&mut self, sockets: NewReceivers, macs: &LinkMacs) {
        for ((ifindex, dest), socket, ah) in sockets {
            let Some(routes) = self.pool.routes.get(&(ifindex, dest)).cloned() else {
                continue;
            };
            let stats = Arc::new(RxStats::default());
            let name = macs.get(&ifindex).map(|m| m.0.clone()).unwrap_or_default();
            let label = if ah {
                format!("{name}/{dest}/AH")
            } else {
                format!("{name}/{dest}")
            };
            self.rx_stats.push((label, stats.clone()));
            self.background.push(tokio::spawn(rx::receive(
                socket,
                routes,
                stats,
                self.log_unknown_vrids,
            )));
        }
    }

    /// Stop the named units (priority 0 if master, VIPs released,
    /// notify_stop) and forget their routes. Their instances not in
    /// `configured` (the new configuration's) are deleted: they notify as
    /// keepalived notifies an instance a reload removed (`notify_deleted`).
    async fn stop_units(
        &mut self,
        names: &[String],
        configured: &BTreeSet<String>,
        timeout: Duration,
    ) {
        let (stop, keep): (Vec<UnitHandle>, Vec<UnitHandle>) = std::mem::take(&mut self.units)
            .into_iter()
            .partition(|u| names.contains(&u.name));
        self.units = keep;
        // Routes stay until the unit has stopped: a leaving master keeps
        // its VIPs until it hears the new master's advert.
        for u in &stop {
            let deleted: Vec<String> = u
                .plan
                .instances
                .iter()
                .map(|i| i.name.clone())
                .filter(|n| !configured.contains(n))
                .collect();
            if !deleted.is_empty() {
                let _ = u.tx.send(UnitMsg::Deleted(deleted)).await;
            }
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
                    r.retain(|_, list| {
                        list.retain(|route| !route.tx.same_channel(tx));
                        !list.is_empty()
                    });
                }
            }
            if let Ok(mut list) = self.inboxes.write() {
                list.retain(|t| !t.same_channel(tx));
            }
        }
    }

    /// Accept mode's nftables table, shared by the units.
    pub(super) fn accept_filter(&self) -> Arc<crate::net::AcceptFilter> {
        self.pool.accept_filter.clone()
    }

    /// A reload's update of one running unit in place ([`UnitMsg::Reconfigure`]):
    /// what was done, for the log.
    async fn update_unit(&mut self, u: UnitPlan, timeout: Duration) -> Vec<String> {
        let mut done = Vec::new();
        let name = u.name().to_string();
        let Some(h) = self.units.iter_mut().find(|h| h.name == name) else {
            return done;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let msg = UnitMsg::Reconfigure(Box::new(unit::Reconfigure {
            plan: self.pool.attach_filter(u.clone()),
            announcer: self.pool.announcer(),
            reporting: self.reporting.clone(),
            done: tx,
        }));
        if h.tx.send(msg).await.is_err() {
            done.push(format!("{name}: not running"));
            return done;
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(lines))) => {
                adopt(&self.pool, h, u);
                done.extend(lines);
            }
            Ok(Ok(Err(why))) => {
                // The unit runs its old plan still.
                tracing::error!(unit = %name, "reload: {why}");
                done.push(format!("{name}: not updated ({why})"));
            }
            Ok(Err(_)) | Err(_) => {
                // Delivered: the unit takes it when it gets to it.
                adopt(&self.pool, h, u);
                tracing::warn!(unit = %name, "reload: the unit did not confirm the update");
                done.push(format!("{name}: update not confirmed"));
            }
        }
        done
    }

    /// Apply a new plan: units that are not in the new plan stop; units of
    /// the new plan not running start; a unit whose name is in `dirty`
    /// takes its new plan in place when [`in_place`] allows (its instances
    /// keep their state, as keepalived keeps an instance that survives a
    /// reload), and is rebuilt otherwise (said in the log); every other
    /// unit runs on untouched. Sockets for the new units are opened before
    /// anything stops, so a failure changes nothing.
    pub(super) async fn apply(
        &mut self,
        plan: Plan,
        kernel: &Kernel,
        dirty: &BTreeSet<String>,
        reporting: UnitReporting,
        timeout: Duration,
    ) -> Result<Applied, DaemonError> {
        let plan = self.keep_waiting(plan);
        let garp_delays = plan.garp_delays.clone();
        let configured = configured_instances(&plan);
        let running: Vec<String> = self.units.iter().map(|u| u.name.clone()).collect();
        let new_names: Vec<String> = plan.units.iter().map(|u| u.name().to_string()).collect();
        let mut rebuild = BTreeSet::new();
        let mut update = Vec::new();
        let mut start = Vec::new();
        for u in plan.units {
            let n = u.name().to_string();
            match self.units.iter().find(|h| h.name == n) {
                None => start.push(u),
                Some(_) if !dirty.contains(&n) => {}
                Some(h) => match plan::in_place(&h.plan, &u) {
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
        let opened: Vec<UnitPlan> = start.iter().chain(&update).cloned().collect();
        let new_rx = self.pool.open(&opened, &macs)?;
        self.pool.set_delays(&garp_delays);
        let mut done = Vec::new();
        self.reporting = reporting;
        let updated: Vec<String> = update.iter().map(|u| u.name().to_string()).collect();
        for u in update {
            done.extend(self.update_unit(u, timeout).await);
        }
        if !stop.is_empty() {
            tracing::info!(units = ?stop, "reload: stopping units");
            self.stop_units(&stop, &configured, timeout).await;
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
        // A stopped instance's vmac goes once its VIPs are gone.
        self.drop_unused_vmacs();
        let started = start.iter().map(|u| u.name().to_string()).collect();
        Ok(Applied {
            lines: done,
            started,
        })
    }

    /// `dynamic_interfaces`: a running unit whose link went away is left
    /// out of a new plan (it waits for the link), but it keeps running,
    /// in FAULT, as keepalived keeps it: it stays in the plan as it is.
    fn keep_waiting(&mut self, mut plan: Plan) -> Plan {
        let waits = |name: &str| plan.waiting.iter().any(|w| w.instance == name);
        let kept: Vec<UnitPlan> = self
            .units
            .iter()
            .filter(|h| !plan.units.iter().any(|u| u.name() == h.name))
            .filter(|h| h.plan.instances.iter().all(|i| waits(&i.name)))
            .map(|h| h.plan.clone())
            .collect();
        plan.units.extend(kept);
        self.waiting = plan.waiting.clone();
        plan
    }

    /// Whether the last plan left an instance out for a missing link (or
    /// address), running or not.
    pub(super) fn any_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The instances waiting for a link and not running.
    pub(super) fn waiting(&self) -> impl Iterator<Item = &Waiting> {
        let (running, _) = self.unit_members();
        let waiting: Vec<&Waiting> = self
            .waiting
            .iter()
            .filter(|w| !running.contains(&w.instance))
            .collect();
        waiting.into_iter()
    }

    /// Names of the running units' instances and groups.
    pub(super) fn unit_members(&self) -> (Vec<String>, Vec<String>) {
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

impl Running {
    /// The next task that ended before shutdown, described for the exit
    /// message (cancel-safe: nothing is lost when another event wins).
    pub(super) async fn next_failure(&mut self) -> Option<String> {
        self.failed.recv().await
    }

    pub(super) fn unit_count(&self) -> usize {
        self.units.len()
    }

    /// The plan every running unit runs.
    pub(super) fn unit_plans(&self) -> impl Iterator<Item = &UnitPlan> {
        self.units.iter().map(|u| &u.plan)
    }

    /// How the units report now (a reload's starting point).
    pub(super) fn reporting(&self) -> &UnitReporting {
        &self.reporting
    }

    /// D-Bus `SendGarp`: to the unit that runs `instance`.
    pub async fn send_garp(&self, instance: &str) {
        for u in self.units.iter().filter(|u| u.plan.has_instance(instance)) {
            let _ = u.tx.send(UnitMsg::SendGarp(instance.to_string())).await;
        }
    }

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
        let mut vmacs = self.vmacs;
        match Rtnl::new() {
            Ok(mut rtnl) => vmacs.remove_all(&mut rtnl),
            Err(e) => tracing::warn!(error = %e, "cannot remove the vmacs"),
        }
    }

    /// Resolve a reload's configuration as a start would, creating the
    /// vmacs it needs first.
    pub(super) fn resolve(
        &mut self,
        make_plan: impl Fn(&Kernel) -> Result<Plan, PlanError>,
    ) -> Result<(Kernel, Plan), PlanError> {
        let mut rtnl = Rtnl::new()?;
        make_vmacs(&mut rtnl, &mut self.vmacs, &make_plan)?;
        resolve(&mut rtnl, &make_plan)
    }

    /// Remove the vmacs no running unit uses (an instance a reload
    /// dropped, or one a refused reload created).
    pub(super) fn drop_unused_vmacs(&mut self) {
        let keep = self
            .units
            .iter()
            .flat_map(|u| &u.plan.instances)
            .flat_map(|i| i.vmac.iter().chain(i.addr_vmacs.iter().map(|(_, v)| v)))
            .map(|v| v.name.clone())
            .collect();
        match Rtnl::new() {
            Ok(mut rtnl) => self.vmacs.retain(&mut rtnl, &keep),
            Err(e) => tracing::warn!(error = %e, "cannot remove unused vmacs"),
        }
    }
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// A unit took its new plan in place: its handle and its receive routes
/// follow it.
fn adopt(pool: &IoPool, h: &mut UnitHandle, u: UnitPlan) {
    pool.update_routes(&h.tx, &u);
    h.plan = u;
}
