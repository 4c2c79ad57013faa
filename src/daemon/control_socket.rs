//! The control socket (`tandem status`, `tandem reload`), the Prometheus
//! listener, the status page listener and the SIGUSR1 dump, as the daemon
//! starts and stops them.
//!
//! Owns the listeners and their tasks. The servers only read the status
//! snapshot and forward reload requests to the main loop on a channel; they
//! never touch a unit, the LVS side or the configuration, so a slow client
//! delays nothing else.

use tokio::sync::mpsc;

use crate::control::server::{self, ReloadRequest};
use crate::control::web;

use super::error::DaemonError;
use super::options::ControlOptions;
use super::status::StatusHub;

/// Start the control service when `ctl` asks for one. A control socket
/// that cannot be bound (another tandem answers there, a read-only /run)
/// costs the status, not the service: VRRP and the checks run without it,
/// and the log says why.
pub(super) async fn start_if_asked(
    ctl: Option<&ControlOptions>,
    hub: &StatusHub,
    reload: mpsc::Sender<ReloadRequest>,
) -> Option<ControlService> {
    match start_control(ctl?, hub, reload).await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "running without a control socket: tandem status, tandem reload, metrics and the status page are unavailable (SIGHUP still reloads)");
            None
        }
    }
}

/// The control socket, metrics and status listeners and SIGUSR1 dump, started before
/// the units: a socket that cannot be bound is known (and logged) before
/// anything runs.
pub(super) struct ControlService {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    socket: std::path::PathBuf,
}

async fn start_control(
    ctl: &ControlOptions,
    hub: &StatusHub,
    reload: mpsc::Sender<ReloadRequest>,
) -> Result<ControlService, DaemonError> {
    let listener = server::bind_control_socket(&ctl.socket, server::DEFAULT_SOCKET_MODE).await?;
    let metrics = match &ctl.metrics_listen {
        Some(addr) => Some(server::bind_metrics(addr).await?),
        None => None,
    };
    let status_page = match ctl.status_listen {
        Some(addr) => Some(web::bind_status(addr).await?),
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
            stopped(stop_rx.clone()),
        )));
    }
    if let Some(listener) = status_page {
        tracing::info!(address = ?ctl.status_listen, "status page at / and JSON at /status (read-only)");
        // The page's server gets the status feed only, never the reload
        // channel: nothing on that listener can change the daemon.
        tasks.push(tokio::spawn(web::serve_status(
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
    /// Stop serving, wait for the servers to end, remove the socket file.
    pub(super) async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}
