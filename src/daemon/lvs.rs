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

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};

use super::bus::{Bus, Role, RoleChange, Subject};
use super::status::StatusHub;
use crate::check::{CheckEvent, CheckerId, Report};
use crate::control::model::{CheckResult, RealServerStatus, VirtualServerStatus};
use crate::ipvs::types::{DestKey, Protocol, ServiceKey, Table};
use crate::lvs::{Action, Governance, LvsState, VsIndex};
use crate::notify::mail::{Alert, Mailer, ServiceName, ServiceProtocol};
use crate::notify::script::ScriptQueue;
use crate::process::unix_ms_now;

/// The table this node should have, and the MASTER instances it was
/// computed for: the programmer reports those back on the bus once the
/// kernel has the table, which opens the VIP gate ([`super::bus::RulesState`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Desired {
    /// Shared with the reconciler's belief of what the kernel holds once
    /// it is programmed (one table of 10,000 destinations, not two).
    pub table: Arc<Table>,
    pub masters: BTreeSet<String>,
    /// Every service the configuration names, governed or not: the
    /// programmer claims them ([`crate::ipvs::Reconciler::claim`]), so a
    /// BACKUP removes what a crashed earlier run left in the kernel.
    pub claimed: Arc<BTreeSet<ServiceKey>>,
}

impl std::ops::Deref for Desired {
    type Target = Table;
    fn deref(&self) -> &Table {
        &self.table
    }
}

/// The desired table as shared with the reconciler.
pub type DesiredTable = Arc<Desired>;

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

/// Why the LVS task acts: a check verdict, the start of the daemon, or a
/// reload (keepalived's quorum mails say "Starting with quorum up/down"
/// for the last two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    Check,
    Start,
    Reload,
    /// The daemon stops (`omega`): keepalived's "=> Shutting down <=".
    Stop,
}

/// What the LVS task reports beyond logs and scripts: the virtual servers in
/// the status snapshot, and e-mail alerts.
#[derive(Debug, Default)]
pub struct LvsReporting {
    pub status: Option<StatusHub>,
    pub mailer: Option<Mailer>,
    /// Per virtual server, in configuration order.
    pub servers: Vec<VsInfo>,
    /// The checker keyword of every checker (`HTTP_GET`, ...).
    pub checker_kinds: HashMap<CheckerId, &'static str>,
    /// The last verdict of every checker.
    last: HashMap<CheckerId, CheckResult>,
    /// Verdicts counted per (virtual server, real server): (up, down).
    verdicts: HashMap<(usize, SocketAddr), (u64, u64)>,
    /// (checker, virtual server, real server): the pairs each checker
    /// decides, sorted by checker. A flat list, not a map of lists: at
    /// 10,000 real servers the map was 2 MB.
    users: Vec<(CheckerId, usize, SocketAddr)>,
}

/// Facts about one `virtual_server` the status and the mails need.
#[derive(Debug, Clone)]
pub struct VsInfo {
    pub protocol: String,
    pub lvs_sched: String,
    pub lvs_method: String,
    /// Resolved `smtp_alert` of the virtual server (quorum mails).
    pub smtp_alert: bool,
    /// Resolved `smtp_alert` of each real server (up/down mails).
    pub rs_smtp_alert: HashMap<SocketAddr, bool>,
    /// Mail a checker's change that leaves its real server's state as it
    /// is (not `no_checker_emails`).
    pub checker_mails: bool,
}

impl VsInfo {
    /// One entry per `virtual_server`, in configuration order (the order
    /// of [`crate::lvs::build`]).
    pub fn from_config(config: &crate::config::Config) -> Vec<VsInfo> {
        use crate::config::model::{LvsMethod, Protocol};
        config
            .virtual_servers
            .iter()
            .map(|vs| {
                let protocol = match vs.protocol {
                    Protocol::Tcp => ServiceProtocol::Tcp,
                    Protocol::Udp => ServiceProtocol::Udp,
                    Protocol::Sctp => ServiceProtocol::Sctp,
                };
                VsInfo {
                    protocol: protocol.to_string(),
                    lvs_sched: format!("{:?}", vs.lvs_sched).to_lowercase(),
                    lvs_method: match vs.lvs_method {
                        LvsMethod::Nat => "NAT",
                        LvsMethod::Dr => "DR",
                        LvsMethod::Tun => "TUN",
                    }
                    .to_string(),
                    smtp_alert: vs.smtp_alert,
                    rs_smtp_alert: vs
                        .real_servers
                        .iter()
                        .map(|r| (SocketAddr::new(r.address, r.port), r.smtp_alert))
                        .collect(),
                    checker_mails: !config.global_defs.no_checker_emails,
                }
            })
            .collect()
    }
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
        let omega = loop {
            tokio::select! {
                stop = &mut shutdown => break stop,
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
    }

    /// Write every virtual server into the status snapshot.
    fn report_status(&self, masters: &BTreeSet<String>) {
        let Some(hub) = &self.reporting.status else {
            return;
        };
        let mut out = Vec::with_capacity(self.state.len());
        for i in 0..self.state.len() {
            let vs = VsIndex(i);
            let Some(spec) = self.state.spec(vs) else {
                continue;
            };
            let info = self.reporting.servers.get(i);
            let installed = self.governance.programs(vs, |n| masters.contains(n));
            let desired = self.state.desired(vs);
            // A lookup by key: a scan per real server was quadratic, 5 x 10^7
            // comparisons per status update at 10,000 real servers.
            let weight_in_table = |addr: SocketAddr| {
                desired.first().and_then(|d| {
                    d.destinations
                        .get(&DestKey {
                            addr: addr.ip(),
                            port: addr.port(),
                        })
                        .map(|x| x.weight)
                })
            };
            let quorum_up = self.state.quorum_up(vs).unwrap_or(true);
            let mut alive_weight = 0i64;
            let real_servers = spec
                .real_servers
                .iter()
                .enumerate()
                .map(|(r, rs)| {
                    let alive = self.state.real_server_alive(vs, r).unwrap_or(false);
                    if alive {
                        alive_weight += i64::from(rs.weight);
                    }
                    let in_table = weight_in_table(rs.addr);
                    let last_check = rs
                        .checkers
                        .iter()
                        .filter_map(|c| self.reporting.last.get(c))
                        // A failing checker explains the state best.
                        .min_by_key(|c| (c.ok, std::cmp::Reverse(c.at_unix_ms)))
                        .cloned();
                    let (ok, failed) = self
                        .reporting
                        .verdicts
                        .get(&(i, rs.addr))
                        .copied()
                        .unwrap_or_default();
                    RealServerStatus {
                        address: rs.addr,
                        weight: i32::try_from(rs.weight).unwrap_or(i32::MAX),
                        effective_weight: in_table.unwrap_or(0),
                        alive,
                        inhibited: !alive && in_table.is_some(),
                        last_check,
                        checks_ok: ok,
                        checks_failed: failed,
                    }
                })
                .collect();
            let (address, fwmark, protocol) = match spec.services.first().map(|s| &s.key) {
                Some(ServiceKey::Addr {
                    protocol,
                    addr,
                    port,
                }) => (
                    Some(SocketAddr::new(*addr, *port)),
                    None,
                    protocol.to_string().to_lowercase(),
                ),
                Some(ServiceKey::Fwmark { fwmark, .. }) => (None, Some(*fwmark), String::new()),
                None => (None, None, String::new()),
            };
            out.push(VirtualServerStatus {
                name: self.names.get(i).cloned().unwrap_or_default(),
                address,
                fwmark,
                protocol: info.map(|x| x.protocol.clone()).unwrap_or(protocol),
                lvs_sched: info.map(|x| x.lvs_sched.clone()).unwrap_or_default(),
                lvs_method: info.map(|x| x.lvs_method.clone()).unwrap_or_default(),
                installed,
                quorum: spec.quorum,
                hysteresis: spec.hysteresis,
                alive_weight,
                quorum_up,
                sorry_server: spec.sorry_server.as_ref().map(|s| s.addr),
                sorry_active: !quorum_up && spec.sorry_server.is_some(),
                real_servers,
            });
        }
        hub.set_virtual_servers(out);
    }

    /// keepalived's words for a checker in a real server's mail: TCP_CHECK
    /// and MISC_CHECK name themselves and give no reason ("=> TCP CHECK
    /// failed on service <="); HTTP_GET and SSL_GET give the reason and no
    /// name ("=> CHECK failed on service : ... <=").
    fn mail_words(
        &self,
        checker: Option<CheckerId>,
        reason: Option<String>,
    ) -> (Option<String>, Option<String>) {
        match checker.and_then(|c| self.reporting.checker_kinds.get(&c).copied()) {
            Some("TCP_CHECK") => (Some("TCP".into()), None),
            Some("MISC_CHECK") => (Some("MISC".into()), None),
            _ => (None, reason),
        }
    }

    /// The mail for one action, if its `smtp_alert` says so.
    fn mail(&self, action: &Action, occasion: Occasion) {
        let Some(mailer) = &self.reporting.mailer else {
            return;
        };
        let vs_of = |vs: VsIndex| {
            let spec = self.state.spec(vs)?;
            let name = vs_mail_name(spec)?;
            Some((spec, name, self.reporting.servers.get(vs.0)))
        };
        let rs_name = rs_mail_name;
        let alert = match action {
            Action::RealServerUp {
                vs, rs, checker, ..
            }
            | Action::RealServerDown {
                vs, rs, checker, ..
            } => {
                let Some((_, name, info)) = vs_of(*vs) else {
                    return;
                };
                let on = info
                    .and_then(|i| i.rs_smtp_alert.get(rs).copied())
                    .unwrap_or(false);
                if !on {
                    return;
                }
                if occasion == Occasion::Stop {
                    let _ = mailer.send(&Alert::RealServerRemoved {
                        real_server: rs_name(&name, *rs),
                        virtual_server: name,
                        shutting_down: true,
                    });
                    return;
                }
                let (up, reason) = match action {
                    Action::RealServerDown { reason, .. } => (false, reason.clone()),
                    _ => (true, None),
                };
                let (checker, reason) = self.mail_words(*checker, reason);
                Alert::RealServer {
                    real_server: rs_name(&name, *rs),
                    virtual_server: name,
                    up,
                    checker,
                    reason,
                }
            }
            Action::CheckerChanged {
                vs,
                rs,
                checker,
                passed,
                alive,
                reason,
            } => {
                let Some((_, name, info)) = vs_of(*vs) else {
                    return;
                };
                let on = info.is_some_and(|i| {
                    i.checker_mails && i.rs_smtp_alert.get(rs).copied().unwrap_or(false)
                });
                if !on {
                    return;
                }
                let reason = if *passed { None } else { reason.clone() };
                let (checker, reason) = self.mail_words(Some(*checker), reason);
                Alert::Checker {
                    real_server: rs_name(&name, *rs),
                    virtual_server: name,
                    alive: *alive,
                    passed: *passed,
                    checker,
                    reason,
                }
            }
            Action::QuorumUp { vs, .. } | Action::QuorumDown { vs, .. } => {
                let Some((spec, name, info)) = vs_of(*vs) else {
                    return;
                };
                if !info.is_some_and(|i| i.smtp_alert) {
                    return;
                }
                let up = matches!(action, Action::QuorumUp { .. });
                if occasion == Occasion::Stop {
                    let _ = mailer.send(&Alert::Other {
                        subject: format!("Virtualserver {name} - DOWN"),
                        body: "=> Shutting down <=".into(),
                    });
                    return;
                }
                let weight_sum: i64 = spec
                    .real_servers
                    .iter()
                    .enumerate()
                    .filter(|(r, _)| self.state.real_server_alive(*vs, *r) == Some(true))
                    .map(|(_, r)| i64::from(r.weight))
                    .sum();
                let (q, h) = (i64::from(spec.quorum), i64::from(spec.hysteresis));
                // keepalived's threshold is the one the state crossed: up
                // from below needs quorum + hysteresis, down from above
                // quorum - hysteresis; at start the state was down.
                let from_below = up || occasion == Occasion::Start;
                Alert::Quorum {
                    virtual_server: name,
                    up,
                    initial: occasion != Occasion::Check,
                    quorum: spec.quorum,
                    hysteresis: spec.hysteresis,
                    threshold: if from_below { q + h } else { q - h },
                    weight_sum,
                }
            }
        };
        let _ = mailer.send(&alert);
    }

    fn act(&self, actions: Vec<Action>) {
        self.act_at(actions, Occasion::Check);
    }

    /// Carry out `actions`; `occasion` words the quorum mails as
    /// keepalived does ("Starting with quorum ..." at start and reload).
    fn act_at(&self, actions: Vec<Action>, occasion: Occasion) {
        for action in actions {
            self.mail(&action, occasion);
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

/// A virtual server as its mails name it (`[192.0.2.2]:tcp:80`, or its
/// fwmark).
fn vs_mail_name(spec: &crate::lvs::VirtualServerSpec) -> Option<ServiceName> {
    Some(match spec.services.first().map(|s| &s.key)? {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => ServiceName::addr(*addr, mail_protocol(*protocol), *port),
        ServiceKey::Fwmark { fwmark, .. } => ServiceName::Fwmark(*fwmark),
    })
}

/// A real server as its mails name it, in its virtual server's protocol.
fn rs_mail_name(vs: &ServiceName, rs: SocketAddr) -> ServiceName {
    match vs {
        ServiceName::Addr { protocol, .. } => ServiceName::addr(rs.ip(), *protocol, rs.port()),
        ServiceName::Fwmark(_) => ServiceName::addr(rs.ip(), ServiceProtocol::None, rs.port()),
    }
}

/// keepalived's mails for the real servers a reload takes away: every
/// real server alive in `old` that the new configuration no longer has
/// (in a virtual server with the same services, or at all) gets
/// "Realserver ... - DOWN", "=> Removing <=" when its `smtp_alert` was on
/// (`old_alerts`, by virtual server, as `old` was built).
fn removal_alerts(
    old: &LvsState,
    old_alerts: &[HashMap<SocketAddr, bool>],
    new: &LvsState,
) -> Vec<Alert> {
    let keys =
        |s: &crate::lvs::VirtualServerSpec| s.services.iter().map(|x| x.key).collect::<Vec<_>>();
    let new_by_keys: Vec<(Vec<ServiceKey>, BTreeSet<SocketAddr>)> = (0..new.len())
        .filter_map(|v| new.spec(VsIndex(v)))
        .map(|s| (keys(s), s.real_servers.iter().map(|r| r.addr).collect()))
        .collect();
    let mut alerts = Vec::new();
    for v in 0..old.len() {
        let Some(spec) = old.spec(VsIndex(v)) else {
            continue;
        };
        let Some(name) = vs_mail_name(spec) else {
            continue;
        };
        let mine = keys(spec);
        let kept = new_by_keys
            .iter()
            .find(|(k, _)| *k == mine)
            .map(|(_, rs)| rs);
        for (r, rs) in spec.real_servers.iter().enumerate() {
            let gone = kept.is_none_or(|set| !set.contains(&rs.addr));
            let alive = old.real_server_alive(VsIndex(v), r) == Some(true);
            let on = old_alerts
                .get(v)
                .and_then(|m| m.get(&rs.addr).copied())
                .unwrap_or(false);
            if gone && alive && on {
                alerts.push(Alert::RealServerRemoved {
                    real_server: rs_mail_name(&name, rs.addr),
                    virtual_server: name.clone(),
                    shutting_down: false,
                });
            }
        }
    }
    alerts
}

fn mail_protocol(p: Protocol) -> ServiceProtocol {
    match p {
        Protocol::Tcp => ServiceProtocol::Tcp,
        Protocol::Udp => ServiceProtocol::Udp,
        Protocol::Sctp => ServiceProtocol::Sctp,
    }
}

impl LvsReporting {
    /// Remember which (virtual server, real server) pairs each checker
    /// decides, for the verdict counters.
    fn index(&mut self, state: &LvsState) {
        self.users.clear();
        for v in 0..state.len() {
            if let Some(spec) = state.spec(VsIndex(v)) {
                for rs in &spec.real_servers {
                    for c in &rs.checkers {
                        self.users.push((*c, v, rs.addr));
                    }
                }
            }
        }
        // Stable: a checker's pairs stay in configuration order.
        self.users.sort_by_key(|u| u.0);
        self.users.shrink_to_fit();
    }

    fn record(&mut self, event: &CheckEvent) {
        let ok = !matches!(event.report, Report::Down);
        let reason = match (&event.report, &event.detail) {
            (Report::Down, Some(d)) => d.clone(),
            (Report::Down, None) => "failed".to_string(),
            (Report::Weight(w), _) => format!("passed, weight {w}"),
            (Report::Up, _) => "passed".to_string(),
        };
        self.last.insert(
            event.checker,
            CheckResult {
                checker: self
                    .checker_kinds
                    .get(&event.checker)
                    .copied()
                    .unwrap_or("check")
                    .to_string(),
                ok,
                reason,
                at_unix_ms: unix_ms_now(),
                duration_ms: 0,
            },
        );
        let first = self.users.partition_point(|u| u.0 < event.checker);
        for &(_, vs, rs) in self.users[first..]
            .iter()
            .take_while(|u| u.0 == event.checker)
        {
            let e = self.verdicts.entry((vs, rs)).or_default();
            if ok {
                e.0 += 1;
            } else {
                e.1 += 1;
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
    stop: tokio::sync::oneshot::Sender<bool>,
    task: tokio::task::JoinHandle<LvsState>,
    programmer: tokio::task::JoinHandle<()>,
    scripts: crate::notify::script::ScriptQueueTask,
    /// Kept across reloads: the programmer (and its reconciler, which knows
    /// what it applied) lives as long as one sender does.
    table: watch::Sender<DesiredTable>,
    queue: ScriptQueue,
    /// The spec of every running checker, by id, to carry verdicts over.
    /// Shared with the runner, not copied: at 10,000 real servers a copy
    /// was 3 MB.
    checker_specs: Vec<Arc<crate::check::spec::CheckerSpec>>,
    status: Option<StatusHub>,
    mailer: Option<Mailer>,
    /// Each virtual server's real servers' `smtp_alert`, for the mails of
    /// the real servers a reload removes.
    rs_alerts: Vec<HashMap<SocketAddr, bool>>,
}

/// The LVS side built from the configuration, before anything runs: a
/// configuration it cannot use (an unknown `MISC_CHECK` user, a huge group
/// range) stops `tandem run` before VRRP starts.
pub struct PreparedLvs {
    built: crate::lvs::Built,
    infos: Vec<VsInfo>,
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
            infos: VsInfo::from_config(config),
            lvs_flush: config.global_defs.lvs_flush,
            stop_policy: crate::ipvs::from_config::stop_policy(
                config.global_defs.lvs_flush_on_stop,
            ),
        }))
    }

    /// The VRRP instances that govern at least one virtual server: their
    /// VIPs wait for the IPVS table on becoming MASTER.
    pub fn governing(&self) -> BTreeSet<String> {
        self.built.governance.governing()
    }

    /// Start checkers, the LVS task and the IPVS programmer.
    pub fn start(
        self,
        bus: &Bus,
        script_timeout: std::time::Duration,
        status: Option<StatusHub>,
        mailer: Option<Mailer>,
    ) -> LvsService {
        crate::process::raise_nofile_limit();
        let (table_tx, table_rx) = LvsTask::table_channel();
        let (queue, scripts_task) =
            crate::notify::script::ScriptQueue::start("lvs".into(), script_timeout);
        bus.set_governing(self.governing());
        let programmer = tokio::spawn(program(
            table_rx,
            self.lvs_flush,
            self.stop_policy,
            Some(bus.clone()),
        ));
        let initial = self.starting_quorum();
        let rs_alerts = self.rs_alerts();
        let (checks, stop, task, checker_specs) = self.spawn(
            bus,
            table_tx.clone(),
            queue.clone(),
            status.clone(),
            mailer.clone(),
            (initial, Occasion::Start),
        );
        LvsService {
            checks,
            stop,
            task,
            programmer,
            scripts: scripts_task,
            table: table_tx,
            queue,
            checker_specs,
            status,
            mailer,
            rs_alerts,
        }
    }

    fn rs_alerts(&self) -> Vec<HashMap<SocketAddr, bool>> {
        self.infos.iter().map(|i| i.rs_smtp_alert.clone()).collect()
    }

    /// keepalived at start: a virtual server with a sorry server that
    /// starts without its quorum (its real servers start down under
    /// `alpha`, or weigh too little) says so: `quorum_down` runs and the
    /// "Starting with quorum down" mail goes out. One with its quorum, or
    /// without a sorry server, starts silently.
    fn starting_quorum(&self) -> Vec<Action> {
        let state = &self.built.state;
        (0..state.len())
            .map(VsIndex)
            .filter(|vs| state.quorum_up(*vs) == Some(false))
            .filter_map(|vs| {
                let spec = state.spec(vs)?;
                spec.sorry_server.as_ref()?;
                Some(Action::QuorumDown {
                    vs,
                    notify: spec.quorum_down.clone(),
                    sorry: true,
                })
            })
            .collect()
    }

    /// Reload: carry the verdict of every checker whose spec is unchanged
    /// and the quorum state of every virtual server whose services are
    /// unchanged from `old` into this build.
    fn carry(
        &mut self,
        old_specs: &[Arc<crate::check::spec::CheckerSpec>],
        old: &LvsState,
    ) -> Vec<Action> {
        let mut kept = 0usize;
        for (i, spec) in old_specs.iter().enumerate() {
            let Some(up) = old.checker_up(crate::check::CheckerId(i)) else {
                continue;
            };
            if let Some(id) = self.built.runner.id_of(spec) {
                self.built.runner.seed(id, up);
                kept += 1;
            }
        }
        let specs: Vec<_> = (0..self.built.state.len())
            .filter_map(|v| self.built.state.spec(VsIndex(v)).cloned())
            .collect();
        let runner = &self.built.runner;
        let mut state = LvsState::new(specs, |c| runner.initial_up(c));
        let actions = state.carry_quorum(old);
        self.built.state = state;
        tracing::info!(
            checkers_kept = kept,
            checkers = self.built.runner.len(),
            "reload: check verdicts carried over"
        );
        actions
    }

    #[allow(clippy::type_complexity)]
    fn spawn(
        self,
        bus: &Bus,
        table_tx: watch::Sender<DesiredTable>,
        queue: ScriptQueue,
        status: Option<StatusHub>,
        mailer: Option<Mailer>,
        (initial, occasion): (Vec<Action>, Occasion),
    ) -> (
        crate::check::runner::RunningChecks,
        tokio::sync::oneshot::Sender<bool>,
        tokio::task::JoinHandle<LvsState>,
        Vec<Arc<crate::check::spec::CheckerSpec>>,
    ) {
        let built = self.built;
        tracing::info!(
            virtual_servers = built.state.len(),
            checkers = built.runner.len(),
            "health checks starting"
        );
        let checker_kinds = built
            .runner
            .specs()
            .map(|(id, spec)| (id, spec.kind.keyword()))
            .collect();
        let checker_specs = built.runner.shared_specs();
        let (checks_tx, checks_rx) = mpsc::channel(4096);
        // The checks run on a thread of their own (see
        // `CheckRunner::spawn_on_thread`: cheaper, and VRRP never shares a
        // worker with them); on the daemon's runtime only if no thread can
        // be started.
        let max_in_flight = crate::check::runner::DEFAULT_MAX_IN_FLIGHT;
        let checks = match built
            .runner
            .spawn_on_thread(checks_tx.clone(), max_in_flight)
        {
            Ok(checks) => checks,
            Err(e) => {
                tracing::warn!(error = %e, "no thread for the health checks; they share the daemon's");
                built.runner.spawn_bounded(checks_tx, max_in_flight)
            }
        };
        let task = LvsTask {
            state: built.state,
            governance: built.governance,
            names: built.names,
            checks: checks_rx,
            bus: bus.clone(),
            table: table_tx,
            scripts: Some(queue),
            reporting: LvsReporting {
                status,
                mailer,
                servers: self.infos,
                checker_kinds,
                ..LvsReporting::default()
            },
        };
        task.act_at(initial, occasion);
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<bool>();
        let task = tokio::spawn(task.run(async {
            // A dropped sender is a stop.
            stop_rx.await.unwrap_or(true)
        }));
        (checks, stop, task, checker_specs)
    }
}

impl LvsService {
    /// Stop the checks, run the `omega` notifiers, withdraw every service
    /// this daemon programmed, and wait for queued scripts.
    pub async fn shutdown(self) {
        self.checks.shutdown().await;
        let _ = self.stop.send(true);
        // The table senders drop when the task ends and with `self.table`:
        // the programmer then withdraws what it owns and returns.
        let _ = self.task.await;
        drop(self.table);
        drop(self.queue);
        let _ = self.programmer.await;
        self.scripts.drained().await;
    }

    /// Reload: replace checkers and the LVS task by those of `next`, keeping
    /// the IPVS programmer (its reconciler knows what it applied, so the
    /// first table of the new task costs only the difference), the script
    /// queue, the verdicts of checkers whose spec is unchanged and the
    /// quorum state of virtual servers whose services are unchanged. No
    /// `omega` notifier runs: nothing stops.
    pub async fn reload(self, mut next: PreparedLvs, bus: &Bus) -> LvsService {
        bus.set_governing(next.governing());
        self.checks.shutdown().await;
        let _ = self.stop.send(false);
        let old = match self.task.await {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::error!(error = %e, "LVS task failed; its check state is lost");
                None
            }
        };
        let initial = match &old {
            Some(old) => next.carry(&self.checker_specs, old),
            None => Vec::new(),
        };
        if let (Some(old), Some(mailer)) = (&old, &self.mailer) {
            for alert in removal_alerts(old, &self.rs_alerts, &next.built.state) {
                let _ = mailer.send(&alert);
            }
        }
        let rs_alerts = next.rs_alerts();
        let (checks, stop, task, checker_specs) = next.spawn(
            bus,
            self.table.clone(),
            self.queue.clone(),
            self.status.clone(),
            self.mailer.clone(),
            (initial, Occasion::Reload),
        );
        LvsService {
            checks,
            stop,
            task,
            programmer: self.programmer,
            scripts: self.scripts,
            table: self.table,
            queue: self.queue,
            checker_specs,
            status: self.status,
            mailer: self.mailer,
            rs_alerts,
        }
    }
}

/// Keep the kernel's IPVS table equal to the desired one: reconcile on every
/// change (the reconciler sends only the difference). If IPVS cannot be
/// reached (no `ip_vs` in this kernel), say so once and retry with back-off,
/// without affecting VRRP or the checks. When the desired-table channel
/// closes (shutdown), apply `stop` (`lvs_flush_on_stop`; by default: remove
/// the services this daemon programmed, as keepalived does). Each table the
/// kernel accepts is reported on `bus` (the VIP gate); so is a kernel that
/// cannot be programmed at all.
pub async fn program(
    mut table: watch::Receiver<DesiredTable>,
    lvs_flush: bool,
    stop: crate::ipvs::reconcile::StopPolicy,
    bus: Option<Bus>,
) {
    use crate::ipvs::{IpvsClient, Reconciler};
    let mut client = IpvsClient::new(std::time::Duration::from_secs(5));
    let mut reconciler = Reconciler::new(lvs_flush);
    let mut failing = false;
    let mut backoff = std::time::Duration::from_millis(500);
    let mut open = true;
    loop {
        let desired: Option<DesiredTable> = open.then(|| Arc::clone(&table.borrow_and_update()));
        let masters = desired.as_ref().map(|d| d.masters.clone());
        if let Some(d) = &desired {
            reconciler.claim(&d.claimed);
        }
        let (c, r, result) = tokio::task::spawn_blocking(move || {
            let mut client = client;
            let mut reconciler = reconciler;
            let result = match desired {
                Some(desired) => client.reconcile_shared(&mut reconciler, &desired.table),
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
                if let (Some(bus), Some(masters)) = (&bus, &masters) {
                    bus.rules_programmed(masters);
                }
                if !ops.is_empty() {
                    // Which commands, counted (SET_DEST=1): what a reload
                    // changed reads here, also with 10,000 entries.
                    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
                    for op in &ops {
                        *kinds.entry(op_name(op)).or_default() += 1;
                    }
                    let kinds = kinds
                        .iter()
                        .map(|(k, n)| format!("{k}={n}"))
                        .collect::<Vec<_>>()
                        .join(",");
                    tracing::info!(
                        operations = ops.len(),
                        commands = %kinds,
                        failed = report.failed.len(),
                        "IPVS table reconciled"
                    );
                }
                for (i, e) in &report.failed {
                    if let Some(op) = ops.get(*i) {
                        tracing::warn!(operation = ?op, error = %e, "IPVS operation refused");
                    }
                }
                if ops.len() >= 1000 {
                    // A large table (the first one, with thousands of real
                    // servers) leaves megabytes of freed netlink messages
                    // and dumps behind: hand them back to the system.
                    crate::process::release_free_memory();
                }
            }
            Err(e) => {
                if !failing {
                    tracing::error!(error = %e, "cannot program IPVS; retrying with back-off");
                } else {
                    tracing::debug!(error = %e, "IPVS still unreachable");
                }
                failing = true;
                if let Some(bus) = &bus {
                    bus.rules_unreachable();
                }
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

/// The ip_vs.h command name of an operation, for the log.
fn op_name(op: &crate::ipvs::reconcile::Op) -> &'static str {
    use crate::ipvs::reconcile::Op;
    match op {
        Op::NewService { .. } => "NEW_SERVICE",
        Op::SetService { .. } => "SET_SERVICE",
        Op::DelService { .. } => "DEL_SERVICE",
        Op::NewDest { .. } => "NEW_DEST",
        Op::SetDest { .. } => "SET_DEST",
        Op::DelDest { .. } => "DEL_DEST",
        Op::Flush => "FLUSH",
    }
}
