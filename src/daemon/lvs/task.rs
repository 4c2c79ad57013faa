//! The LVS task ([`LvsTask`]): checker verdicts and VRRP roles in, the
//! desired IPVS table, notify scripts and mails out.
//!
//! ```text
//!   check::CheckRunner tasks ──CheckEvent──┐
//!                                          ▼
//!   daemon::bus (RoleChange) ─────────► LvsTask ──watch<DesiredTable>──► IPVS programmer
//!   daemon::bus (track files' values) ──►    │    (FILE_CHECK)
//!                                          │
//!                                          └──notify_up/down, quorum_up/down──► ScriptQueue
//! ```
//!
//! The task owns [`LvsState`] (no locks). It publishes a new table only when
//! the table changes, and at once when an instance becomes MASTER or stops
//! being MASTER, from the check state it already has: both nodes run every
//! check all the time, so a new master needs no check round before
//! programming. It never waits on the kernel, a script or a mail: the
//! table goes out on a watch channel, scripts and mails on queues.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};

use crate::check::CheckEvent;
use crate::ipvs::types::ServiceKey;
use crate::lvs::{Action, Governance, LvsState};
use crate::notify::script::ScriptQueue;

use crate::daemon::bus::{Announce, Bus, Role, RoleChange, Subject};

use super::mail::Mails;
use super::programmer::{Desired, DesiredTable};
use super::reporting::{LvsReporting, Occasion};
use super::snapshot;

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
    /// Status snapshot, e-mail alerts and per-server facts for them.
    pub reporting: LvsReporting,
}

impl LvsTask {
    /// A channel for the table, starting empty (nothing programmed until
    /// the task has computed the first table).
    pub fn table_channel() -> (watch::Sender<DesiredTable>, watch::Receiver<DesiredTable>) {
        watch::channel(Arc::new(Desired::default()))
    }

    /// Run until `shutdown` resolves; then, when it resolves to `true` (a
    /// stop, not a reload), run the `omega` notifiers; return the final
    /// state.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = bool>) -> LvsState {
        for line in self.governance.describe(&self.names) {
            if line.starts_with("warning:") {
                tracing::warn!("{line}");
            } else {
                tracing::info!("{line}");
            }
        }
        let mut roles = self.bus.subscribe();
        let mut masters = masters_from(&self.bus);
        self.reporting.index(&self.state);
        let claimed = Arc::new(self.state.service_keys());
        self.publish_claimed(&masters, &claimed);
        let mut shutdown = std::pin::pin!(shutdown);
        let mut checks_open = true;
        let mut roles_open = true;
        let mut files = self.bus.track_files();
        let mut files_open = true;
        let mut in_kernel = self.bus.in_kernel();
        let mut in_kernel_open = true;
        // A value that changed since the state was seeded counts now.
        self.on_track_files(&mut files, &masters, &claimed);
        let omega = loop {
            tokio::select! {
                stop = &mut shutdown => break stop,
                changed = files.changed(), if files_open => match changed {
                    Ok(()) => self.on_track_files(&mut files, &masters, &claimed),
                    Err(_) => files_open = false,
                },
                changed = in_kernel.changed(), if in_kernel_open => match changed {
                    Ok(()) => self.publish_announcements(&masters),
                    Err(_) => in_kernel_open = false,
                },
                event = self.checks.recv(), if checks_open => {
                    let Some(event) = event else {
                        checks_open = false;
                        continue;
                    };
                    self.reporting.record(&event);
                    let mut actions = self.state.on_check(&event);
                    // Take whatever else is queued, then publish once: with
                    // 10,000 real servers a burst should cost one table.
                    while let Ok(more) = self.checks.try_recv() {
                        self.reporting.record(&more);
                        actions.extend(self.state.on_check(&more));
                    }
                    self.act(actions);
                    self.publish_claimed(&masters, &claimed);
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
                            self.publish_claimed(&masters, &claimed);
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        masters = masters_from(&self.bus);
                        self.publish_claimed(&masters, &claimed);
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // No VRRP any more: keep the last roles.
                        roles_open = false;
                    }
                },
            }
        };
        if omega {
            let actions = self.state.shutdown();
            self.act_at(actions, Occasion::Stop);
        }
        self.state
    }

    /// FILE_CHECK: the track files' values now; the real servers that
    /// follow a changed one change weight, go down or come up.
    fn on_track_files(
        &mut self,
        files: &mut watch::Receiver<crate::daemon::bus::TrackValues>,
        masters: &BTreeSet<String>,
        claimed: &Arc<BTreeSet<ServiceKey>>,
    ) {
        let values = files.borrow_and_update().clone();
        let mut actions = Vec::new();
        for (name, value) in values.iter() {
            actions.extend(self.state.on_track_file(name, *value));
        }
        self.act(actions);
        self.publish_claimed(masters, claimed);
    }

    fn publish_claimed(&self, masters: &BTreeSet<String>, claimed: &Arc<BTreeSet<ServiceKey>>) {
        let table = self
            .state
            .desired_table(|v| self.governance.programs(v, |n| masters.contains(n)));
        // A new set of masters is published even when the table is the
        // same: the programmer's report of it is what a new master's VIPs
        // wait for.
        self.table.send_if_modified(|current| {
            if *current.table == table && current.masters == *masters && current.claimed == *claimed
            {
                false
            } else {
                *current = Arc::new(Desired {
                    table: Arc::new(table),
                    masters: masters.clone(),
                    claimed: Arc::clone(claimed),
                });
                true
            }
        });
        self.report_status(masters);
        self.publish_announcements(masters);
    }

    /// `tandem_bgp`: a VIP is announced while every virtual server that
    /// announces it is programmed here, has its quorum and has its
    /// services in the kernel (a node that cannot serve one of the VIP's
    /// services should not draw its flows).
    fn publish_announcements(&self, masters: &BTreeSet<String>) {
        let in_kernel = self.bus.in_kernel().borrow().clone();
        let programmed = |vs: crate::lvs::VsIndex| {
            in_kernel.unreachable
                || self.state.spec(vs).is_some_and(|s| {
                    s.services
                        .iter()
                        .all(|svc| in_kernel.services.contains(&svc.key))
                })
        };
        let mut files: BTreeMap<String, Announce> = BTreeMap::new();
        let mut refused: BTreeSet<(String, IpAddr)> = BTreeSet::new();
        for (i, info) in self.reporting.servers.iter().enumerate() {
            let Some((bgp, vip)) = &info.bgp else {
                continue;
            };
            let vs = crate::lvs::VsIndex(i);
            let serving = self.governance.programs(vs, |n| masters.contains(n))
                && self.state.quorum_up(vs) == Some(true)
                && programmed(vs);
            let file = files
                .entry(bgp.include_file.clone())
                .or_insert_with(|| Announce {
                    bgp: bgp.clone(),
                    vips: BTreeSet::new(),
                });
            if serving {
                file.vips.insert(*vip);
            } else {
                refused.insert((bgp.include_file.clone(), *vip));
            }
        }
        for (file, vip) in refused {
            if let Some(a) = files.get_mut(&file) {
                a.vips.remove(&vip);
            }
        }
        self.bus.set_announcements(files);
    }

    /// Write every virtual server into the status snapshot.
    fn report_status(&self, masters: &BTreeSet<String>) {
        let Some(hub) = &self.reporting.status else {
            return;
        };
        hub.set_virtual_servers(snapshot::virtual_servers(
            &self.state,
            &self.governance,
            &self.names,
            &self.reporting,
            masters,
        ));
    }

    /// The mail for one action, if its `smtp_alert` says so.
    fn mail(&self, action: &Action, occasion: Occasion) {
        let Some(mailer) = &self.reporting.mailer else {
            return;
        };
        // rs_init_notifies: scripts and FIFO lines only; keepalived's
        // checkers send the mails, and a server that starts up is no news.
        if occasion == Occasion::Start && matches!(action, Action::RealServerUp { .. }) {
            return;
        }
        let mails = Mails {
            state: &self.state,
            reporting: &self.reporting,
        };
        if let Some(alert) = mails.alert_for(action, occasion) {
            let _ = mailer.send(&alert);
        }
    }

    fn act(&self, actions: Vec<Action>) {
        self.act_at(actions, Occasion::Check);
    }

    /// Carry out `actions`; `occasion` words the quorum mails as
    /// keepalived does ("Starting with quorum ..." at start and reload).
    pub(super) fn act_at(&self, actions: Vec<Action>, occasion: Occasion) {
        for action in actions {
            self.mail(&action, occasion);
            self.reporting.fifo(&action);
            let name = |vs: crate::lvs::VsIndex| {
                self.names
                    .get(vs.0)
                    .map(String::as_str)
                    .unwrap_or("?")
                    .to_string()
            };
            let (what, script) = match &action {
                Action::RealServerUp { vs, rs, notify, .. } => {
                    tracing::info!(virtual_server = %name(*vs), real_server = %rs, "real server UP");
                    ("notify_up", notify)
                }
                Action::RealServerDown {
                    vs,
                    rs,
                    notify,
                    reason,
                    ..
                } => {
                    tracing::warn!(
                        virtual_server = %name(*vs), real_server = %rs,
                        reason = reason.as_deref().unwrap_or("-"), "real server DOWN"
                    );
                    ("notify_down", notify)
                }
                Action::QuorumUp { vs, notify, sorry } => {
                    let what = match occasion {
                        Occasion::Check => "quorum gained",
                        Occasion::Stop => "shutting down",
                        _ => "starting with quorum up",
                    };
                    tracing::info!(virtual_server = %name(*vs), sorry_server_removed = sorry, "{what}");
                    ("quorum_up", notify)
                }
                Action::QuorumDown { vs, notify, sorry } => {
                    let what = match occasion {
                        Occasion::Check => "quorum lost",
                        Occasion::Stop => "shutting down",
                        _ => "starting with quorum down",
                    };
                    tracing::warn!(virtual_server = %name(*vs), sorry_server_added = sorry, "{what}");
                    ("quorum_down", notify)
                }
                Action::CheckerChanged {
                    vs,
                    rs,
                    passed,
                    alive,
                    reason,
                    ..
                } => {
                    tracing::info!(
                        virtual_server = %name(*vs), real_server = %rs, passed, alive,
                        reason = reason.as_deref().unwrap_or("-"),
                        "one checker of the real server changed; the real server did not"
                    );
                    continue;
                }
            };
            if let (Some(queue), Some(script)) = (&self.scripts, script) {
                queue.push(what, script.clone());
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
