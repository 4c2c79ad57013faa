//! The LVS task: checker verdicts and VRRP roles in, the desired IPVS table
//! and notify scripts out.
//!
//! ```text
//!   check::CheckRunner tasks ──CheckEvent──┐
//!                                          ▼
//!   daemon::bus (RoleChange) ─────────► LvsTask ──watch<DesiredTable>──► IPVS reconciler
//!                                          │
//!                                          └──notify_up/down, quorum_up/down──► ScriptQueue
//! ```
//!
//! The task owns [`LvsState`] (no locks). It publishes a new table only when
//! the table changes, and at once when an instance becomes MASTER or stops
//! being MASTER, from the check state it already has: both nodes run every
//! check all the time, so a new master needs no check round before
//! programming.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};

use super::bus::{Bus, Role, RoleChange, Subject};
use crate::check::CheckEvent;
use crate::ipvs::types::Table;
use crate::lvs::{Action, Governance, LvsState};
use crate::notify::script::{ScriptQueue, split_command};

/// The table this node should have, shared with the reconciler.
pub type DesiredTable = Arc<Table>;

/// Everything the task needs; see [`LvsTask::run`].
pub struct LvsTask {
    pub state: LvsState,
    pub governance: Governance,
    /// How each virtual server is named in logs (same order as the state).
    pub names: Vec<String>,
    pub checks: mpsc::Receiver<CheckEvent>,
    pub bus: Bus,
    pub table: watch::Sender<DesiredTable>,
    /// Where notify_up/notify_down/quorum_up/quorum_down are queued; `None`
    /// runs no scripts (tests, `check-once`).
    pub scripts: Option<ScriptQueue>,
}

impl LvsTask {
    /// A channel for the table, starting empty (nothing programmed until
    /// the task has computed the first table).
    pub fn table_channel() -> (watch::Sender<DesiredTable>, watch::Receiver<DesiredTable>) {
        watch::channel(Arc::new(Table::new()))
    }

    /// Run until `shutdown` resolves; then run the `omega` notifiers and
    /// return the final state.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) -> LvsState {
        for line in self.governance.describe(&self.names) {
            if line.starts_with("warning:") {
                tracing::warn!("{line}");
            } else {
                tracing::info!("{line}");
            }
        }
        let mut roles = self.bus.subscribe();
        let mut masters = masters_from(&self.bus);
        self.publish(&masters);
        let mut shutdown = std::pin::pin!(shutdown);
        let mut checks_open = true;
        let mut roles_open = true;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                event = self.checks.recv(), if checks_open => {
                    let Some(event) = event else {
                        checks_open = false;
                        continue;
                    };
                    let mut actions = self.state.on_check(&event);
                    // Take whatever else is queued, then publish once: with
                    // 10,000 real servers a burst should cost one table.
                    while let Ok(more) = self.checks.try_recv() {
                        actions.extend(self.state.on_check(&more));
                    }
                    self.act(actions);
                    self.publish(&masters);
                }
                change = roles.recv(), if roles_open => match change {
                    Ok(RoleChange { subject: Subject::Instance, name, role, .. }) => {
                        let changed = if role == Role::Master {
                            masters.insert(name.clone())
                        } else {
                            masters.remove(&name)
                        };
                        if changed {
                            tracing::info!(instance = %name, %role, "virtual servers follow the VRRP role");
                            self.publish(&masters);
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        masters = masters_from(&self.bus);
                        self.publish(&masters);
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // No VRRP any more: keep the last roles.
                        roles_open = false;
                    }
                },
            }
        }
        let actions = self.state.shutdown();
        self.act(actions);
        self.state
    }

    fn publish(&self, masters: &BTreeSet<String>) {
        let table = self
            .state
            .desired_table(|v| self.governance.programs(v, |n| masters.contains(n)));
        self.table.send_if_modified(|current| {
            if **current == table {
                false
            } else {
                *current = Arc::new(table);
                true
            }
        });
    }

    fn act(&self, actions: Vec<Action>) {
        for action in actions {
            let name = |vs: crate::lvs::VsIndex| {
                self.names
                    .get(vs.0)
                    .map(String::as_str)
                    .unwrap_or("?")
                    .to_string()
            };
            let (what, script) = match &action {
                Action::RealServerUp { vs, rs, notify } => {
                    tracing::info!(virtual_server = %name(*vs), real_server = %rs, "real server UP");
                    ("notify_up", notify)
                }
                Action::RealServerDown {
                    vs,
                    rs,
                    notify,
                    reason,
                } => {
                    tracing::warn!(
                        virtual_server = %name(*vs), real_server = %rs,
                        reason = reason.as_deref().unwrap_or("-"), "real server DOWN"
                    );
                    ("notify_down", notify)
                }
                Action::QuorumUp { vs, notify, sorry } => {
                    tracing::info!(virtual_server = %name(*vs), sorry_server_removed = sorry, "quorum gained");
                    ("quorum_up", notify)
                }
                Action::QuorumDown { vs, notify, sorry } => {
                    tracing::warn!(virtual_server = %name(*vs), sorry_server_added = sorry, "quorum lost");
                    ("quorum_down", notify)
                }
            };
            if let (Some(queue), Some(line)) = (&self.scripts, script) {
                match split_command(line) {
                    Ok(argv) => queue.push(what, argv),
                    Err(e) => tracing::warn!(script = %line, error = %e, "cannot run {what}"),
                }
            }
        }
    }
}

fn masters_from(bus: &Bus) -> BTreeSet<String> {
    bus.snapshot()
        .into_iter()
        .filter(|((subject, _), role)| *subject == Subject::Instance && *role == Role::Master)
        .map(|((_, name), _)| name)
        .collect()
}

/// The running LVS side of the daemon: checkers, the LVS task and the IPVS
/// programmer. Started after the VRRP units (it needs their bus), stopped
/// after them (so the table is withdrawn after the VIPs are released).
pub struct LvsService {
    checks: crate::check::runner::RunningChecks,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<LvsState>,
    programmer: tokio::task::JoinHandle<()>,
    scripts: crate::notify::script::ScriptQueueTask,
}

/// The LVS side built from the configuration, before anything runs: a
/// configuration it cannot use (an unknown `MISC_CHECK` user, a huge group
/// range) stops `tandem run` before VRRP starts.
pub struct PreparedLvs {
    built: crate::lvs::Built,
    lvs_flush: bool,
    stop_policy: crate::ipvs::reconcile::StopPolicy,
}

impl PreparedLvs {
    /// `None` when the configuration has no virtual server.
    pub fn new(config: &crate::config::Config) -> Result<Option<Self>, crate::lvs::BuildError> {
        if config.virtual_servers.is_empty() {
            return Ok(None);
        }
        Ok(Some(PreparedLvs {
            built: crate::lvs::build(config)?,
            lvs_flush: config.global_defs.lvs_flush,
            stop_policy: crate::ipvs::from_config::stop_policy(
                config.global_defs.lvs_flush_on_stop,
            ),
        }))
    }

    /// Start checkers, the LVS task and the IPVS programmer.
    pub fn start(self, bus: &Bus, script_timeout: std::time::Duration) -> LvsService {
        crate::check::cli::raise_nofile_limit();
        let built = self.built;
        tracing::info!(
            virtual_servers = built.state.len(),
            checkers = built.runner.len(),
            "health checks starting"
        );
        let (checks_tx, checks_rx) = mpsc::channel(4096);
        let checks = built.runner.spawn(checks_tx);
        let (table_tx, table_rx) = LvsTask::table_channel();
        let (scripts, scripts_task) =
            crate::notify::script::ScriptQueue::start("lvs".into(), script_timeout);
        let task = LvsTask {
            state: built.state,
            governance: built.governance,
            names: built.names,
            checks: checks_rx,
            bus: bus.clone(),
            table: table_tx,
            scripts: Some(scripts),
        };
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(task.run(async {
            let _ = stop_rx.await;
        }));
        let programmer = tokio::spawn(program(table_rx, self.lvs_flush, self.stop_policy));
        LvsService {
            checks,
            stop,
            task,
            programmer,
            scripts: scripts_task,
        }
    }
}

impl LvsService {
    /// Stop the checks, run the `omega` notifiers, withdraw every service
    /// this daemon programmed, and wait for queued scripts.
    pub async fn shutdown(self) {
        self.checks.shutdown().await;
        let _ = self.stop.send(());
        // The task's table sender drops when it ends: the programmer then
        // withdraws what it owns and returns.
        let _ = self.task.await;
        let _ = self.programmer.await;
        self.scripts.drained().await;
    }
}

/// Keep the kernel's IPVS table equal to the desired one: reconcile on every
/// change (the reconciler sends only the difference). If IPVS cannot be
/// reached (no `ip_vs` in this kernel), say so once and retry with back-off,
/// without affecting VRRP or the checks. When the desired-table channel
/// closes (shutdown), apply `stop` (`lvs_flush_on_stop`; by default: remove
/// the services this daemon programmed, as keepalived does).
pub async fn program(
    mut table: watch::Receiver<DesiredTable>,
    lvs_flush: bool,
    stop: crate::ipvs::reconcile::StopPolicy,
) {
    use crate::ipvs::{IpvsClient, Reconciler};
    let mut client = IpvsClient::new(std::time::Duration::from_secs(5));
    let mut reconciler = Reconciler::new(lvs_flush);
    let mut failing = false;
    let mut backoff = std::time::Duration::from_millis(500);
    let mut open = true;
    loop {
        let desired: Option<DesiredTable> = open.then(|| Arc::clone(&table.borrow_and_update()));
        let (c, r, result) = tokio::task::spawn_blocking(move || {
            let mut client = client;
            let mut reconciler = reconciler;
            let result = match desired {
                Some(desired) => client.reconcile(&mut reconciler, &desired),
                // Shutting down: lvs_flush_on_stop decides what goes.
                None => client.table().and_then(|current| {
                    let ops = reconciler.teardown(&current, stop);
                    client.apply(&ops).map(|report| (ops, report))
                }),
            };
            (client, reconciler, result)
        })
        .await
        .unwrap_or_else(|e| {
            // The blocking task panicked: start over with a fresh client.
            tracing::error!(error = %e, "IPVS programmer failed");
            (
                IpvsClient::new(std::time::Duration::from_secs(5)),
                Reconciler::new(lvs_flush),
                Err(crate::ipvs::IpvsError::Socket(std::io::Error::other(
                    "programmer task failed",
                ))),
            )
        });
        client = c;
        reconciler = r;
        match result {
            Ok((ops, report)) => {
                if failing {
                    tracing::info!("IPVS reachable again");
                }
                failing = false;
                backoff = std::time::Duration::from_millis(500);
                if !ops.is_empty() {
                    tracing::info!(
                        operations = ops.len(),
                        failed = report.failed.len(),
                        "IPVS table reconciled"
                    );
                }
                for (i, e) in &report.failed {
                    if let Some(op) = ops.get(*i) {
                        tracing::warn!(operation = ?op, error = %e, "IPVS operation refused");
                    }
                }
            }
            Err(e) => {
                if !failing {
                    tracing::error!(error = %e, "cannot program IPVS; retrying with back-off");
                } else {
                    tracing::debug!(error = %e, "IPVS still unreachable");
                }
                failing = true;
                if !open {
                    return; // shutting down: nothing more we can do
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    changed = table.changed() => open = changed.is_ok(),
                }
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
                continue;
            }
        }
        if !open {
            return;
        }
        open = table.changed().await.is_ok();
    }
}
