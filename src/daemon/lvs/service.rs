//! The LVS side as the daemon runs it: [`PreparedLvs`] (built from the
//! configuration before anything starts) and [`LvsService`] (the checkers,
//! the LVS task and the IPVS programmer, started, reloaded and stopped).
//!
//! Owns the tasks' handles and what a reload carries over (the programmer,
//! the script queue, the checkers' specs and verdicts). It never computes a
//! table or touches the kernel itself: the task and the programmer do.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::lvs::{Action, LvsState, VsIndex};
use crate::notify::mail::Mailer;
use crate::notify::script::ScriptQueue;

use crate::daemon::bus::Bus;
use crate::daemon::status::StatusHub;

use super::mail::removal_alerts;
use super::programmer::{DesiredTable, program};
use super::reporting::{LvsReporting, Occasion, VsInfo};
use super::task::LvsTask;

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
    fifos: crate::notify::fifo::Fifos,
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
    /// `lvs_sync_daemon` is configured: a takeover puts the handover
    /// guard in ([`crate::net::guard`]).
    handover_guard: bool,
    /// `rs_init_notifies`: the real servers alive at start say so.
    rs_init_notifies: bool,
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
            handover_guard: config.global_defs.lvs_sync_daemon.is_some(),
            rs_init_notifies: config.global_defs.rs_init_notifies,
        }))
    }

    /// The VRRP instances that govern at least one virtual server: their
    /// VIPs wait for the IPVS table on becoming MASTER.
    pub fn governing(&self) -> BTreeSet<String> {
        self.built.governance.governing()
    }

    /// Start checkers, the LVS task and the IPVS programmer.
    pub fn start(
        mut self,
        bus: &Bus,
        script_timeout: std::time::Duration,
        status: Option<StatusHub>,
        (mailer, fifos): (Option<Mailer>, crate::notify::fifo::Fifos),
    ) -> LvsService {
        crate::process::raise_nofile_limit();
        // FILE_CHECK: the files as they are now (a real server whose file
        // fails starts down, silently, as in keepalived).
        self.built.state.seed_track_files(&bus.track_values());
        let (table_tx, table_rx) = LvsTask::table_channel();
        let (queue, scripts_task) = ScriptQueue::start("lvs".into(), script_timeout);
        bus.set_governing(self.governing());
        let programmer = tokio::spawn(program(
            table_rx,
            self.lvs_flush,
            self.stop_policy,
            Some(bus.clone()),
            self.handover_guard,
        ));
        let mut initial = Vec::new();
        if self.rs_init_notifies {
            initial = self.built.state.initial_up();
        }
        initial.extend(self.starting_quorum());
        let rs_alerts = self.rs_alerts();
        let (checks, stop, task, checker_specs) = self.spawn(
            bus,
            table_tx.clone(),
            queue.clone(),
            status.clone(),
            (mailer.clone(), fifos.clone()),
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
            fifos,
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
        files: &std::collections::BTreeMap<String, i64>,
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
        state.seed_track_files(files);
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
        mailer: (Option<Mailer>, crate::notify::fifo::Fifos),
        (initial, occasion): (Vec<Action>, Occasion),
    ) -> (
        crate::check::runner::RunningChecks,
        tokio::sync::oneshot::Sender<bool>,
        tokio::task::JoinHandle<LvsState>,
        Vec<Arc<crate::check::spec::CheckerSpec>>,
    ) {
        let mut built = self.built;
        let ha_suspend = super::ha_suspend::HaSuspend::prepare(
            std::mem::take(&mut built.ha_suspend),
            &mut built.runner,
        );
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
        let mut checks = match built
            .runner
            .spawn_on_thread(checks_tx.clone(), max_in_flight)
        {
            Ok(checks) => checks,
            Err(e) => {
                tracing::warn!(error = %e, "no thread for the health checks; they share the daemon's");
                built.runner.spawn_bounded(checks_tx.clone(), max_in_flight)
            }
        };
        // BFD_CHECK: the BFD task's session states, on the daemon's runtime
        // (one small task; it wakes only when a session changes).
        checks.follow_bfd(built.runner.bfd_follow(), bus.bfd_states(), checks_tx);
        if let Some(w) = ha_suspend {
            checks.attach(tokio::spawn(w.run()));
        }
        let task = LvsTask {
            state: built.state,
            governance: built.governance,
            names: built.names,
            checks: checks_rx,
            bus: bus.clone(),
            table: table_tx,
            scripts: Some(queue),
            reporting: LvsReporting::new(status, mailer, self.infos, checker_kinds),
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
            Some(old) => next.carry(&self.checker_specs, old, &bus.track_values()),
            None => {
                next.built.state.seed_track_files(&bus.track_values());
                Vec::new()
            }
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
            (self.mailer.clone(), self.fifos.clone()),
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
            fifos: self.fifos,
            rs_alerts,
        }
    }
}
