//! The sync-daemon task ([`SyncService`]): keepalived's `lvs_sync_daemon`
//! and `lvs_timeouts` carried out. The kernel's connection-sync daemons
//! follow the VRRP role of the named instance; the IPVS timeouts are set at
//! start and on every reload that changes them.
//!
//! ```text
//!   daemon::bus (RoleChange) ──┐
//!   reload (watch<Wanted>) ────┴─► sync task ──spawn_blocking──► IpvsClient
//!                                                (NEW/DEL/GET_DAEMON, SET_CONFIG)
//! ```
//!
//! Owns the task and its IPVS client. The decisions are
//! [`crate::ipvs::sync`]'s (`desired`, `plan`, `shutdown`, `catch_up`);
//! this file only feeds them the role and the kernel's state, applies what
//! they return and holds back the master daemon's stop for [`FLUSH_DELAY`]
//! after the instance leaves MASTER (and at exit), so that the entries it
//! still buffers reach the peer. It sets the sync sysctls of its namespace
//! when they are the kernel's defaults ([`SyncSysctls::tuned`]) and
//! publishes the caught-up preemption gate on the bus: the moment the
//! backup daemon has heard of every connection the master carries. It
//! never touches the IPVS table (the programmer does) or the VIPs.

use std::time::Duration;

use tokio::sync::{broadcast, oneshot, watch};
use tokio::time::Instant;

use crate::config::Config;
use crate::ipvs::IpvsClient;
use crate::ipvs::sync::{
    self, CatchUp, DaemonOp, DaemonSet, FLUSH_DELAY, Instance, SyncSettings, SyncSysctls,
    TAKEOVER_LISTEN,
};
use crate::ipvs::types::{DaemonState, Timeouts};

use super::bus::{Bus, GateScope, PreemptGate, Role, Subject};

/// How long one IPVS netlink request may take.
const IPVS_TIMEOUT: Duration = Duration::from_secs(5);
/// After a failed round (no `ip_vs`, an interface not there yet), the next
/// attempt.
const RETRY: Duration = Duration::from_secs(5);

/// What the configuration asks of the sync daemons and the timeouts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `lvs_sync_daemon`, as the planner takes it; `None`: not configured.
    pub settings: Option<SyncSettings>,
    /// The `virtual_router_id` of the named instance, if it exists.
    pub vrid: Option<u8>,
    /// `lvs_timeouts`; `None`: not configured, the kernel's are left alone.
    pub timeouts: Option<Timeouts>,
}

impl Wanted {
    /// From a configuration (`None`: none, nothing wanted).
    pub fn from_config(config: Option<&Config>) -> Wanted {
        let Some(config) = config else {
            return Wanted::default();
        };
        let g = &config.global_defs;
        let settings = g.lvs_sync_daemon.as_ref().map(SyncSettings::from);
        let vrid = settings
            .as_ref()
            .and_then(|s| s.instance.as_ref())
            .and_then(|name| config.vrrp_instances.iter().find(|v| &v.name == name))
            .map(|v| v.virtual_router_id);
        let t = g.lvs_timeouts;
        let timeouts = t.is_set().then_some(Timeouts {
            tcp: t.tcp,
            tcp_fin: t.tcpfin,
            udp: t.udp,
        });
        Wanted {
            settings,
            vrid,
            timeouts,
        }
    }
}

/// Which instances the caught-up gate holds, for these settings.
fn scope_of(settings: Option<&SyncSettings>) -> GateScope {
    match settings {
        None => GateScope::None,
        Some(s) => match &s.instance {
            Some(name) => GateScope::Instance(name.clone()),
            None => GateScope::All,
        },
    }
}

/// The gate before the sync task's first round, set before the VRRP units
/// start so that a node that starts and would preempt already waits: the
/// backup daemon starts within moments, and tandem tunes the sysctls
/// ([`SyncSysctls::tuned`]) unless an operator set them; the first round
/// replaces this with the real start time and sysctls.
pub fn provisional_gate(config: Option<&Config>) -> PreemptGate {
    let w = Wanted::from_config(config);
    let scope = scope_of(w.settings.as_ref());
    let tuned = SyncSysctls::default().tuned().unwrap_or_default();
    let until = match (&scope, sync::catch_up(&tuned)) {
        (GateScope::None, _) => None,
        (_, CatchUp::Within(d)) => Some(std::time::Instant::now() + d),
        _ => None,
    };
    PreemptGate { scope, until }
}

/// The running sync task.
pub struct SyncService {
    wanted: watch::Sender<Wanted>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SyncService {
    /// Start the task with what `config` asks for. It runs whatever the
    /// configuration says (a reload may add `lvs_sync_daemon`); without
    /// either keyword it never opens an IPVS socket.
    pub fn start(config: Option<&Config>, bus: &Bus) -> SyncService {
        let (wanted, rx) = watch::channel(Wanted::from_config(config));
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(rx, bus.clone(), stop_rx));
        SyncService { wanted, stop, task }
    }

    /// A reload: the task re-plans only if the settings changed.
    pub fn reload(&self, config: &Config) {
        let next = Wanted::from_config(Some(config));
        self.wanted.send_if_modified(|w| {
            if *w == next {
                false
            } else {
                *w = next;
                true
            }
        });
    }

    /// Stop the daemons this task manages, then end it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The task's state between rounds.
struct SyncTask {
    client: Option<IpvsClient>,
    /// Whether `lvs_sync_daemon` was ever configured: only then are the
    /// kernel's daemons tandem's to stop (at exit, or when a reload removes
    /// the keyword).
    managed: bool,
    /// The timeouts last set in the kernel.
    timeouts_set: Option<Timeouts>,
    /// Until when the master daemon's stop is held back.
    hold_master: Option<Instant>,
    /// Until when the backup daemon's stop is held back after becoming
    /// MASTER ([`TAKEOVER_LISTEN`]).
    hold_backup: Option<Instant>,
    /// Whether the named instance was MASTER at the last round.
    was_master: bool,
    /// The next attempt after a failed round.
    retry_at: Option<Instant>,
    /// Since when the backup daemon runs (as far as this task knows).
    backup_since: Option<Instant>,
    /// The sync sysctls in effect, once read (and tuned).
    sysctls: Option<SyncSysctls>,
    /// The "no time bound" warning was logged.
    unbounded_warned: bool,
}

/// What one round found and did.
struct Stepped {
    /// The backup daemon runs after the round.
    backup_running: bool,
    /// The round started (or restarted) the backup daemon.
    backup_started: bool,
    /// The sysctls read this round, if asked for.
    sysctls: Option<SyncSysctls>,
}

async fn run(mut wanted: watch::Receiver<Wanted>, bus: Bus, mut stop: oneshot::Receiver<()>) {
    let mut roles = bus.subscribe();
    let mut task = SyncTask {
        client: Some(IpvsClient::new(IPVS_TIMEOUT)),
        managed: false,
        timeouts_set: None,
        hold_master: None,
        hold_backup: None,
        was_master: false,
        retry_at: None,
        backup_since: None,
        sysctls: None,
        unbounded_warned: false,
    };
    let mut roles_open = true;
    loop {
        let w = wanted.borrow_and_update().clone();
        task.round(&w, &bus).await;
        let wake = [task.hold_master, task.hold_backup, task.retry_at]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            // A role change first: the units' STOP comes before the stop.
            biased;
            change = roles.recv(), if roles_open => {
                // Any change plans again: `plan` is no operation when the
                // named instance's role did not move.
                if let Err(broadcast::error::RecvError::Closed) = change {
                    roles_open = false;
                }
            }
            _ = &mut stop => break,
            changed = wanted.changed() => if changed.is_err() { break },
            () = sleep_until(wake) => {}
        }
    }
    task.exit().await;
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The named instance as the planner sees it: its role from the bus
/// (INIT until its unit has published one).
fn instance_of(w: &Wanted, bus: &Bus) -> Option<Instance> {
    let name = w.settings.as_ref()?.instance.as_ref()?;
    let vrid = w.vrid?;
    let role = match bus.snapshot().get(&(Subject::Instance, name.clone())) {
        Some(Role::Master) => sync::Role::Master,
        Some(Role::Backup) => sync::Role::Backup,
        Some(Role::Fault) => sync::Role::Fault,
        Some(Role::Stop) | None => sync::Role::Init,
    };
    Some(Instance { vrid, role })
}

/// Whether the named instance has stopped (the daemon is leaving): its
/// daemons then stay as they are until [`SyncTask::exit`], so a master
/// does not start a backup daemon for its last moment.
fn stopped(w: &Wanted, bus: &Bus) -> bool {
    let Some(name) = w.settings.as_ref().and_then(|s| s.instance.as_ref()) else {
        return false;
    };
    bus.snapshot().get(&(Subject::Instance, name.clone())) == Some(&Role::Stop)
}

impl SyncTask {
    /// Bring the kernel to what `w` and the instance's role ask for.
    async fn round(&mut self, w: &Wanted, bus: &Bus) {
        let now = Instant::now();
        if self.retry_at.is_some_and(|t| t > now) {
            return;
        }
        self.retry_at = None;
        if self.hold_master.is_some_and(|t| t <= now) {
            self.hold_master = None;
        }
        if self.hold_backup.is_some_and(|t| t <= now) {
            self.hold_backup = None;
        }
        if stopped(w, bus) {
            if std::mem::take(&mut self.was_master) {
                self.hold_master = Some(now + FLUSH_DELAY);
            }
            return;
        }
        let instance = instance_of(w, bus);
        let want = match sync::desired(w.settings.as_ref(), instance) {
            Ok(want) => want,
            Err(e) => {
                // validate() and the configuration checks make this rare
                // (a kernel-side limit the builder does not know).
                tracing::error!(error = %e, "lvs_sync_daemon: not started");
                return;
            }
        };
        let is_master = instance.is_some_and(|i| i.role == sync::Role::Master);
        if self.was_master && !is_master && want.master.is_none() {
            // Leaving MASTER: its buffered entries still have to go out.
            self.hold_master = Some(now + FLUSH_DELAY);
        }
        if !self.was_master && is_master && want.backup.is_none() {
            // Becoming MASTER: the old master's last entries are on their way.
            self.hold_backup = Some(now + TAKEOVER_LISTEN);
        }
        self.was_master = is_master;
        self.managed |= w.settings.is_some();
        if !self.managed && w.timeouts.is_none() {
            return;
        }
        let timeouts = w.timeouts.filter(|t| self.timeouts_set != Some(*t));
        let hold = (self.hold_master.is_some(), self.hold_backup.is_some());
        let managed = self.managed;
        let read_sysctls = w.settings.is_some() && self.sysctls.is_none();
        let stepped = self
            .blocking(move |c| {
                step(
                    c,
                    managed.then_some(&want),
                    hold,
                    timeouts.as_ref(),
                    read_sysctls,
                )
            })
            .await;
        let Some(stepped) = stepped else {
            self.retry_at = Some(Instant::now() + RETRY);
            self.backup_since = None;
            self.publish_gate(w, bus);
            return;
        };
        if let Some(t) = timeouts {
            self.timeouts_set = Some(t);
        }
        if stepped.sysctls.is_some() {
            self.sysctls = stepped.sysctls;
        }
        self.backup_since = match (stepped.backup_running, stepped.backup_started) {
            (false, _) => None,
            (true, true) => Some(Instant::now()),
            (true, false) => self.backup_since.or(Some(Instant::now())),
        };
        self.publish_gate(w, bus);
    }

    /// The caught-up gate: a preemption waits until the backup daemon has
    /// run for [`sync::catch_up`] of the sysctls in effect. With sysctls
    /// that give no time bound (an operator's own `sync_threshold` with a
    /// period), nothing is held and the log says why.
    fn publish_gate(&mut self, w: &Wanted, bus: &Bus) {
        let scope = scope_of(w.settings.as_ref());
        let bound = match self.sysctls.map(|s| sync::catch_up(&s)) {
            Some(CatchUp::Within(d)) => Some(d),
            Some(other) => {
                if !std::mem::replace(&mut self.unbounded_warned, true) {
                    tracing::warn!(
                        catch_up = ?other,
                        "lvs_sync_daemon: the sync sysctls (sync_threshold with a period, or no \
                         sync_refresh_period) give the backup daemon no time to catch up in: \
                         preemption is not held; set sync_threshold \"3 0\" and \
                         sync_refresh_period, or preempt_delay"
                    );
                }
                None
            }
            None => None,
        };
        let until = match (&scope, self.backup_since, bound) {
            (GateScope::None, _, _) => None,
            (_, Some(since), Some(d)) => Some((since + d).into_std()),
            _ => None,
        };
        let gate = PreemptGate { scope, until };
        if let (Some(since), Some(d)) = (self.backup_since, bound) {
            if bus.preempt_gate().borrow().until != gate.until {
                tracing::info!(
                    seconds = d.as_secs(),
                    "lvs_sync_daemon: a preemption waits until the backup daemon has caught up \
                     ({} s after its start, {} s from now)",
                    d.as_secs(),
                    (since + d)
                        .saturating_duration_since(Instant::now())
                        .as_secs()
                );
            }
        }
        bus.set_preempt_gate(gate);
    }

    /// At exit: stop every daemon, once a master daemon has drained: it
    /// keeps sending for [`FLUSH_DELAY`] after the VIPs went (keepalived
    /// stops both at once, and the connections opened in the master's last
    /// seconds, still in its buffer, are lost to the peer).
    async fn exit(mut self) {
        if !self.managed {
            return;
        }
        let master_runs = self
            .blocking(|c| Ok(DaemonSet::from_daemons(c.daemons()?).master.is_some()))
            .await
            .unwrap_or(false);
        if master_runs {
            let until = self
                .hold_master
                .unwrap_or_else(|| Instant::now() + FLUSH_DELAY);
            tracing::info!(
                "lvs_sync_daemon: the master daemon drains its buffer before it stops ({} ms)",
                until.saturating_duration_since(Instant::now()).as_millis()
            );
            tokio::time::sleep_until(until).await;
        }
        self.blocking(|c| {
            let running = DaemonSet::from_daemons(c.daemons()?);
            apply(c, &sync::shutdown(&running))
        })
        .await;
    }

    /// Run `f` with the client on the blocking pool; `None` (logged) if it
    /// failed.
    async fn blocking<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut IpvsClient) -> Result<T, crate::ipvs::IpvsError> + Send + 'static,
    ) -> Option<T> {
        let mut client = self
            .client
            .take()
            .unwrap_or_else(|| IpvsClient::new(IPVS_TIMEOUT));
        let joined = tokio::task::spawn_blocking(move || {
            let r = f(&mut client);
            (client, r)
        })
        .await;
        match joined {
            Ok((client, r)) => {
                self.client = Some(client);
                match r {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!(error = %e, "lvs_sync_daemon: IPVS refused; retrying in 5 s");
                        None
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "lvs_sync_daemon: the IPVS round failed");
                None
            }
        }
    }
}

/// One round on the blocking pool: the timeouts, then the daemons (`want`
/// `None`: not managed), then, with `read_sysctls`, the sync sysctls
/// (tuned if they are the kernel's defaults). With `hold_master`, a
/// planned stop of the master daemon waits for a later round.
fn step(
    c: &mut IpvsClient,
    want: Option<&DaemonSet>,
    (hold_master, hold_backup): (bool, bool),
    timeouts: Option<&Timeouts>,
    read_sysctls: bool,
) -> Result<Stepped, crate::ipvs::IpvsError> {
    if let Some(t) = timeouts {
        c.set_timeouts(t)?;
        tracing::info!(
            tcp = %shown(t.tcp), tcpfin = %shown(t.tcp_fin), udp = %shown(t.udp),
            "lvs_timeouts set"
        );
    }
    let Some(want) = want else {
        return Ok(Stepped {
            backup_running: false,
            backup_started: false,
            sysctls: None,
        });
    };
    let running = DaemonSet::from_daemons(c.daemons()?);
    // ip_vs is loaded now (the GET_DAEMON above), so its sysctls exist.
    let sysctls = if read_sysctls { tune_sysctls() } else { None };
    let ifname = want
        .master
        .as_ref()
        .or(want.backup.as_ref())
        .map(|d| d.mcast_ifn.as_str());
    let mut ops = sync::plan(&running, want, ifname.and_then(mtu));
    if hold_master {
        ops.retain(|op| *op != DaemonOp::Stop(DaemonState::Master));
    }
    if hold_backup && want.backup.is_none() {
        ops.retain(|op| *op != DaemonOp::Stop(DaemonState::Backup));
    }
    apply(c, &ops)?;
    Ok(Stepped {
        backup_running: want.backup.is_some(),
        backup_started: ops
            .iter()
            .any(|op| matches!(op, DaemonOp::Start(d) if d.state == DaemonState::Backup)),
        sysctls,
    })
}

/// The sync sysctls of this namespace (`/proc/sys/net/ipv4/vs`).
const VS_SYSCTLS: &str = "/proc/sys/net/ipv4/vs";

/// Read the sync sysctls, and set them as [`SyncSysctls::tuned`] says when
/// they are the kernel's defaults (logged, with the old values). `None`
/// if they cannot be read. A refused write (a read-only `/proc/sys`, as
/// systemd's `ProtectKernelTunables` makes it) is logged, and the values
/// in effect returned.
fn tune_sysctls() -> Option<SyncSysctls> {
    let read = |name: &str| std::fs::read_to_string(format!("{VS_SYSCTLS}/{name}"));
    let current = || -> Option<SyncSysctls> {
        SyncSysctls::parse(
            &read("sync_threshold").ok()?,
            &read("sync_refresh_period").ok()?,
        )
    };
    let Some(now) = current() else {
        tracing::warn!("lvs_sync_daemon: cannot read the sync sysctls in {VS_SYSCTLS}");
        return None;
    };
    let Some(tuned) = now.tuned() else {
        tracing::info!(
            sync_threshold = %now.threshold_text(), sync_refresh_period = now.refresh_period,
            "lvs_sync_daemon: the sync sysctls are not the kernel's defaults: left as they are"
        );
        return Some(now);
    };
    let write = |name: &str, value: String| {
        std::fs::write(format!("{VS_SYSCTLS}/{name}"), value)
            .map_err(|e| tracing::warn!(sysctl = name, error = %e, "lvs_sync_daemon: cannot set"))
            .is_ok()
    };
    if write("sync_refresh_period", tuned.refresh_period.to_string())
        && write("sync_threshold", tuned.threshold_text())
    {
        tracing::info!(
            "lvs_sync_daemon: set sync_threshold {} -> {} and sync_refresh_period {} -> {}, \
             so that a backup daemon catches up in bounded time",
            now.threshold_text(),
            tuned.threshold_text(),
            now.refresh_period,
            tuned.refresh_period
        );
    }
    current()
}

/// Start and stop as planned, in order; each logged.
fn apply(c: &mut IpvsClient, ops: &[DaemonOp]) -> Result<(), crate::ipvs::IpvsError> {
    for op in ops {
        match op {
            DaemonOp::Start(d) => {
                c.new_daemon(d)?;
                tracing::info!(
                    state = ?d.state, interface = %d.mcast_ifn, syncid = d.syncid,
                    maxlen = %shown(d.sync_maxlen), group = %shown(d.mcast_group),
                    port = %shown(d.mcast_port), ttl = %shown(d.mcast_ttl),
                    "lvs_sync_daemon: sync daemon started"
                );
            }
            DaemonOp::Stop(state) => {
                c.del_daemon(*state)?;
                tracing::info!(state = ?state, "lvs_sync_daemon: sync daemon stopped");
            }
        }
    }
    Ok(())
}

/// A value as logged: "kernel" when not sent (the kernel's own applies).
fn shown<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "kernel".to_owned(), |v| v.to_string())
}

/// The interface's MTU, which decides the backup's default maxlen; `None`
/// if it cannot be read (the planner then accepts any).
fn mtu(ifname: &str) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{ifname}/mtu")).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_from_a_configuration() {
        let text = "global_defs {
    lvs_sync_daemon eth1 inst VI_1 port 4660
    lvs_timeouts tcp 900 udp 30
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}
";
        let l = crate::config::load_str(
            std::path::Path::new("t.conf"),
            text.to_string(),
            &crate::config::LoadOptions::with_config_id("main"),
        );
        let cfg = l.config.unwrap();
        let w = Wanted::from_config(Some(&cfg));
        let s = w.settings.clone().unwrap();
        assert_eq!(s.ifname, "eth1");
        assert_eq!(s.instance.as_deref(), Some("VI_1"));
        assert_eq!(s.port, Some(4660));
        assert_eq!(w.vrid, Some(51));
        assert_eq!(
            w.timeouts,
            Some(Timeouts {
                tcp: Some(900),
                tcp_fin: None,
                udp: Some(30)
            })
        );
        assert_eq!(Wanted::from_config(None), Wanted::default());
    }
}
