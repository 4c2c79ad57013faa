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
                change = roles.recv() => match change {
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
                        roles = broadcast::channel(1).1;
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
