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
//! [`crate::ipvs::sync`]'s (`desired`, `plan`, `shutdown`); this file only
//! feeds them the role and the kernel's state, applies what they return
//! and holds back the master daemon's stop for [`FLUSH_DELAY`] after the
//! instance leaves MASTER, so that the entries it still buffers reach the
//! peer. It never touches the IPVS table (the programmer does) or the VIPs.

use std::time::Duration;

use tokio::sync::{broadcast, oneshot, watch};
use tokio::time::Instant;

use crate::config::Config;
use crate::ipvs::IpvsClient;
use crate::ipvs::sync::{self, DaemonOp, DaemonSet, FLUSH_DELAY, Instance, SyncSettings};
use crate::ipvs::types::{DaemonState, Timeouts};

use super::bus::{Bus, Role, Subject};

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
    /// Whether the named instance was MASTER at the last round.
    was_master: bool,
    /// The next attempt after a failed round.
    retry_at: Option<Instant>,
}

async fn run(mut wanted: watch::Receiver<Wanted>, bus: Bus, mut stop: oneshot::Receiver<()>) {
    let mut roles = bus.subscribe();
    let mut task = SyncTask {
        client: Some(IpvsClient::new(IPVS_TIMEOUT)),
        managed: false,
        timeouts_set: None,
        hold_master: None,
        was_master: false,
        retry_at: None,
    };
    let mut roles_open = true;
    loop {
        let w = wanted.borrow_and_update().clone();
        task.round(&w, &bus).await;
        let wake = [task.hold_master, task.retry_at]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            _ = &mut stop => break,
            changed = wanted.changed() => if changed.is_err() { break },
            () = sleep_until(wake) => {}
            change = roles.recv(), if roles_open => {
                // Any change plans again: `plan` is no operation when the
                // named instance's role did not move.
                if let Err(broadcast::error::RecvError::Closed) = change {
                    roles_open = false;
                }
            }
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
        self.was_master = is_master;
        self.managed |= w.settings.is_some();
        if !self.managed && w.timeouts.is_none() {
            return;
        }
        let timeouts = w.timeouts.filter(|t| self.timeouts_set != Some(*t));
        let hold = self.hold_master.is_some();
        let managed = self.managed;
        let ok = self
            .blocking(move |c| step(c, managed.then_some(&want), hold, timeouts.as_ref()))
            .await;
        if ok {
            if let Some(t) = timeouts {
                self.timeouts_set = Some(t);
            }
        } else {
            self.retry_at = Some(Instant::now() + RETRY);
        }
    }

    /// At exit: stop every daemon, at once (keepalived does the same).
    async fn exit(mut self) {
        if !self.managed {
            return;
        }
        self.blocking(|c| {
            let running = DaemonSet::from_daemons(c.daemons()?);
            apply(c, &sync::shutdown(&running))
        })
        .await;
    }

    /// Run `f` with the client on the blocking pool; false (logged) if it
    /// failed.
    async fn blocking(
        &mut self,
        f: impl FnOnce(&mut IpvsClient) -> Result<(), crate::ipvs::IpvsError> + Send + 'static,
    ) -> bool {
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
                if let Err(e) = r {
                    tracing::warn!(error = %e, "lvs_sync_daemon: IPVS refused; retrying in 5 s");
                    return false;
                }
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "lvs_sync_daemon: the IPVS round failed");
                false
            }
        }
    }
}

/// One round on the blocking pool: the timeouts, then the daemons (`want`
/// `None`: not managed). With `hold_master`, a planned stop of the master
/// daemon waits for a later round.
fn step(
    c: &mut IpvsClient,
    want: Option<&DaemonSet>,
    hold_master: bool,
    timeouts: Option<&Timeouts>,
) -> Result<(), crate::ipvs::IpvsError> {
    if let Some(t) = timeouts {
        c.set_timeouts(t)?;
        tracing::info!(
            tcp = %shown(t.tcp), tcpfin = %shown(t.tcp_fin), udp = %shown(t.udp),
            "lvs_timeouts set"
        );
    }
    let Some(want) = want else {
        return Ok(());
    };
    let running = DaemonSet::from_daemons(c.daemons()?);
    let ifname = want
        .master
        .as_ref()
        .or(want.backup.as_ref())
        .map(|d| d.mcast_ifn.as_str());
    let mut ops = sync::plan(&running, want, ifname.and_then(mtu));
    if hold_master {
        ops.retain(|op| *op != DaemonOp::Stop(DaemonState::Master));
    }
    apply(c, &ops)
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
