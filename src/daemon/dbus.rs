//! `enable_dbus`: keepalived's `org.keepalived.Vrrp1` service on the
//! system bus, served from the status snapshot.
//!
//! The objects, state numbers and names are keepalived's (see
//! [`crate::control::dbus`]), so a script that watched keepalived's
//! `VrrpStatusChange` or read an instance's `State` works unchanged. What
//! the bus may do is what keepalived allows: read `Name` and `State`, ask
//! for the data and stats files, ask for a reload (the same request the
//! control socket and SIGHUP make) and for a gratuitous ARP from a master.
//! Nothing else changes the daemon, and nothing is served unless the
//! configuration says `enable_dbus`.
//!
//! A bus that is missing or refuses the name costs D-Bus, not the service:
//! VRRP and the checks run without it, and the log says why. A slow bus
//! never delays a unit: signals are sent from this task, which only reads
//! the snapshot.
//!
//! Owns the bus connection and the objects on it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, fdo, interface};

use crate::config::Config;
use crate::control::dbus::{self as names, SeenStates};
use crate::control::dump;
use crate::control::model::StatusReceiver;
use crate::control::server::ReloadRequest;

use super::status::StatusHub;

/// Instance name to object path, as the configuration in force names them.
type Paths = Arc<Mutex<BTreeMap<String, String>>>;

/// A request for one gratuitous ARP round from instance `.0` (`SendGarp`);
/// the main loop hands it to the instance's unit.
#[derive(Debug)]
pub(crate) struct GarpRequest(pub String);

/// What the bus objects may ask of the rest of the daemon.
#[derive(Clone)]
pub(super) struct DbusRequests {
    pub reload: mpsc::Sender<ReloadRequest>,
    pub garp: mpsc::Sender<GarpRequest>,
    pub dump_file: PathBuf,
}

/// The general object, `/org/keepalived/Vrrp1/Vrrp`.
struct VrrpObject {
    status: StatusReceiver,
    requests: DbusRequests,
}

#[interface(name = "org.keepalived.Vrrp1.Vrrp")]
impl VrrpObject {
    /// keepalived writes `/tmp/keepalived.data`; tandem writes the same
    /// dump SIGUSR1 writes, where SIGUSR1 writes it.
    async fn print_data(&self) -> fdo::Result<()> {
        let snap = self.status.borrow().clone();
        let path = &self.requests.dump_file;
        dump::write_dump(path, &snap)
            .map_err(|e| fdo::Error::IOError(format!("{}: {e}", path.display())))?;
        tracing::info!(file = %path.display(), "D-Bus PrintData: state dump written");
        Ok(())
    }

    /// keepalived's `/tmp/keepalived.stats`: beside the dump, `.stats`.
    async fn print_stats(&self) -> fdo::Result<()> {
        let text = names::render_stats(&self.status.borrow());
        let path = stats_path(&self.requests.dump_file);
        std::fs::write(&path, text)
            .map_err(|e| fdo::Error::IOError(format!("{}: {e}", path.display())))?;
        tracing::info!(file = %path.display(), "D-Bus PrintStats: counters written");
        Ok(())
    }

    /// Refused: tandem's counters only grow (Prometheus and the status JSON
    /// are read as rates); clearing them would break every reader.
    async fn print_stats_clear(&self) -> fdo::Result<()> {
        Err(fdo::Error::NotSupported(
            "tandem never clears its counters (its metrics are read as rates); PrintStats writes them".into(),
        ))
    }

    /// As SIGHUP: the reload runs in the main loop, and its outcome is
    /// logged there (keepalived answers before it reloads, too).
    async fn reload_config(&self) -> fdo::Result<()> {
        let (reply, _outcome) = oneshot::channel();
        match self.requests.reload.try_send(ReloadRequest { reply }) {
            Ok(()) => {
                tracing::info!("reload requested on D-Bus");
                Ok(())
            }
            Err(_) => Err(fdo::Error::LimitsExceeded(
                "a reload is already waiting".into(),
            )),
        }
    }

    #[zbus(signal)]
    async fn vrrp_started(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn vrrp_reloaded(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn vrrp_stopped(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// One VRRP instance, `/org/keepalived/Vrrp1/Instance/IF/VRID/IPv4`.
struct InstanceObject {
    name: String,
    status: StatusReceiver,
    garp: mpsc::Sender<GarpRequest>,
}

#[interface(name = "org.keepalived.Vrrp1.Instance")]
impl InstanceObject {
    /// One gratuitous ARP (or unsolicited NA) round for the instance's
    /// addresses; only a master holds them, as in keepalived.
    async fn send_garp(&self) -> fdo::Result<()> {
        self.garp
            .try_send(GarpRequest(self.name.clone()))
            .map_err(|_| fdo::Error::LimitsExceeded("gratuitous ARP requests queued".into()))
    }

    #[zbus(property)]
    async fn name(&self) -> String {
        self.name.clone()
    }

    /// `(2, "Master")`: keepalived's number and word.
    #[zbus(property)]
    async fn state(&self) -> (u32, String) {
        let snap = self.status.borrow();
        let state = snap
            .vrrp_instances
            .iter()
            .find(|i| i.name == self.name)
            .map(|i| i.state)
            .unwrap_or(crate::control::model::VrrpState::Initialize);
        let (n, word) = names::state_code(state);
        (n, word.to_string())
    }

    #[zbus(signal)]
    async fn vrrp_status_change(emitter: &SignalEmitter<'_>, status: u32) -> zbus::Result<()>;
}

fn stats_path(dump_file: &std::path::Path) -> PathBuf {
    dump_file.with_extension("stats")
}

/// The connection, its objects, and the task that sends state signals.
pub(super) struct DbusService {
    conn: Connection,
    prefix: String,
    paths: Paths,
    hub: StatusHub,
    requests: DbusRequests,
    stop: watch::Sender<bool>,
    watcher: tokio::task::JoinHandle<()>,
}

/// The instance objects the configuration names: name to path.
fn instance_paths(config: &Config, prefix: &str) -> BTreeMap<String, String> {
    config
        .vrrp_instances
        .iter()
        .map(|vi| {
            let path = names::instance_path(prefix, &vi.interface, vi.virtual_router_id, vi.family);
            (vi.name.clone(), path)
        })
        .collect()
}

/// Connect and serve when the configuration says `enable_dbus`.
pub(super) async fn start_if_enabled(
    config: Option<&Config>,
    hub: &StatusHub,
    requests: DbusRequests,
) -> Option<DbusService> {
    let config = config.filter(|c| c.global_defs.enable_dbus)?;
    let name = config
        .global_defs
        .dbus_service_name
        .clone()
        .unwrap_or_else(|| names::DEFAULT_SERVICE_NAME.to_string());
    match start(config, hub, requests, &name).await {
        Ok(s) => {
            tracing::info!(name = %name, "D-Bus: serving org.keepalived.Vrrp1 on the system bus");
            Some(s)
        }
        Err(e) => {
            tracing::error!(name = %name, error = %e, "D-Bus unavailable: running without it");
            None
        }
    }
}

async fn start(
    config: &Config,
    hub: &StatusHub,
    requests: DbusRequests,
    name: &str,
) -> zbus::Result<DbusService> {
    let g = &config.global_defs;
    let prefix = names::path_prefix(g.net_namespace.as_deref(), g.instance.as_deref());
    let general = VrrpObject {
        status: hub.subscribe(),
        requests: requests.clone(),
    };
    let conn = zbus::connection::Builder::system()?
        .name(name.to_string())?
        .serve_at(names::vrrp_path(&prefix), general)?
        .build()
        .await?;
    let paths: Paths = Arc::new(Mutex::new(BTreeMap::new()));
    let (stop, stop_rx) = watch::channel(false);
    let mut service = DbusService {
        watcher: tokio::spawn(std::future::ready(())),
        conn,
        prefix,
        paths,
        hub: hub.clone(),
        requests,
        stop,
    };
    service.register(config).await;
    VrrpObject::vrrp_started(&service.emitter(&names::vrrp_path(&service.prefix))?).await?;
    service.watcher = tokio::spawn(watch_states(
        service.conn.clone(),
        hub.subscribe(),
        service.paths.clone(),
        stop_rx,
    ));
    Ok(service)
}

impl DbusService {
    fn emitter(&self, path: &str) -> zbus::Result<SignalEmitter<'static>> {
        SignalEmitter::new(&self.conn, path.to_string())
    }

    /// Objects for the instances of `config`, and none for the others.
    async fn register(&mut self, config: &Config) {
        let wanted = instance_paths(config, &self.prefix);
        let old = self.paths.lock().map(|p| p.clone()).unwrap_or_default();
        let server = self.conn.object_server();
        for (inst, path) in &old {
            if wanted.get(inst) != Some(path) {
                let _ = server.remove::<InstanceObject, _>(path.as_str()).await;
            }
        }
        for (inst, path) in &wanted {
            if old.get(inst) == Some(path) {
                continue;
            }
            let obj = InstanceObject {
                name: inst.clone(),
                status: self.hub.subscribe(),
                garp: self.requests.garp.clone(),
            };
            if let Err(e) = server.at(path.as_str(), obj).await {
                tracing::warn!(instance = %inst, path = %path, error = %e, "D-Bus: no object for this instance");
            }
        }
        if let Ok(mut p) = self.paths.lock() {
            *p = wanted;
        }
    }

    /// After a reload that was applied: the objects follow the new
    /// configuration, and `VrrpReloaded` says so.
    pub(super) async fn reloaded(&mut self, config: &Config) {
        self.register(config).await;
        if let Ok(e) = self.emitter(&names::vrrp_path(&self.prefix)) {
            let _ = VrrpObject::vrrp_reloaded(&e).await;
        }
    }

    /// `VrrpStopped`, after the units have left; then off the bus.
    pub(super) async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.watcher.await;
        if let Ok(e) = SignalEmitter::new(&self.conn, names::vrrp_path(&self.prefix)) {
            let _ = VrrpObject::vrrp_stopped(&e).await;
        }
        // Every other handle on the connection is gone (the watcher ended,
        // the emitter above is dropped), so this flushes the signal and
        // releases the name without waiting on anyone.
        let _ = self.conn.graceful_shutdown().await;
    }
}

/// `VrrpStatusChange` for every instance whose state changed in the
/// snapshot (every instance once at the start, as keepalived announces
/// them after `VrrpStarted`).
async fn watch_states(
    conn: Connection,
    mut status: StatusReceiver,
    paths: Paths,
    mut stop: watch::Receiver<bool>,
) {
    let mut seen = SeenStates::default();
    let mut last = false;
    loop {
        let changes = seen.changes(&status.borrow_and_update());
        for (inst, state) in changes {
            let path = paths.lock().ok().and_then(|p| p.get(&inst).cloned());
            let Some(path) = path else { continue };
            let (code, _) = names::state_code(state);
            match SignalEmitter::new(&conn, path.clone()) {
                Ok(e) => {
                    if let Err(err) = InstanceObject::vrrp_status_change(&e, code).await {
                        tracing::warn!(instance = %inst, error = %err, "D-Bus: VrrpStatusChange not sent");
                    }
                }
                Err(err) => tracing::warn!(path = %path, error = %err, "D-Bus: bad object path"),
            }
        }
        if last {
            return;
        }
        // On stop, one more pass: the states the units left in (a master
        // that gave up) are signalled before VrrpStopped.
        tokio::select! {
            r = status.changed() => if r.is_err() { return },
            _ = stop.wait_for(|s| *s) => last = true,
        }
    }
}
