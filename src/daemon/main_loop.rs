//! The main loop of a started daemon ([`Daemon::serve`]): it waits for
//! signals, reload requests from the control socket, the systemd watchdog
//! and a task that must not end, and then stops everything in order.
//!
//! Owns what the start-up built ([`Daemon`]) and the running
//! configuration between reloads. It never touches protocol state or the
//! IPVS table itself: a reload goes through [`reload_config`], a stop
//! through each side's own shutdown. A reload runs on this task: while it
//! runs, signals wait (repeats coalesce) and a second request waits for
//! room on the one-slot reload channel.

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use crate::control::sd_notify::{Notifier, watchdog_interval};
use crate::control::server::{ReloadOutcome, ReloadRequest};
use crate::net::{RemovalMonitor, Removed};
use crate::notify::mail::Mailer;

use super::control_socket::ControlService;
use super::dynamic::{LinkWatch, show_waiting};
use super::error::DaemonError;
use super::lvs::LvsService;
use super::options::RunOptions;
use super::reload::{Held, reapply_links, reload_config};
use super::reload_time::ReloadTimer;
use super::running::Running;
use super::statics::Statics;
use super::status::StatusHub;
use super::sync::SyncService;

/// How long a stopping daemon waits for its last alerts to be sent.
const MAIL_FLUSH_ON_STOP: Duration = Duration::from_secs(3);

/// The signals the daemon acts on, installed before anything starts so
/// that a signal during start-up still leads to a clean stop.
pub(super) struct Signals {
    term: Signal,
    int: Signal,
    usr1: Signal,
    hup: Signal,
}

impl Signals {
    pub(super) fn install() -> Result<Signals, DaemonError> {
        let install = |kind| signal(kind).map_err(DaemonError::Signal);
        Ok(Signals {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            usr1: install(SignalKind::user_defined1())?,
            hup: install(SignalKind::hangup())?,
        })
    }
}

/// Everything a started daemon holds, owned by its main loop.
pub(super) struct Daemon {
    pub(super) opts: RunOptions,
    /// The running configuration, for the next reload's comparison.
    pub(super) config: Option<Held>,
    pub(super) running: Running,
    pub(super) lvs: Option<LvsService>,
    /// `tandem_bgp`: the BIRD task (withdraws first at stop).
    pub(super) bird: super::bird::BirdService,
    /// The connection-sync daemons and IPVS timeouts.
    pub(super) sync: SyncService,
    /// static_ipaddress, static_routes, static_rules, promote_secondaries.
    pub(super) statics: Statics,
    /// `dynamic_interfaces`: the link events that make it re-plan.
    pub(super) links: Option<LinkWatch>,
    /// Removals of addresses, routes and rules, while a static entry is
    /// to be put back when deleted.
    pub(super) removals: Option<RemovalMonitor>,
    pub(super) control: Option<ControlService>,
    /// The AgentX subagent (`enable_snmp_vrrp`), if enabled.
    pub(super) snmp: Option<super::snmp::SnmpService>,
    pub(super) hub: StatusHub,
    pub(super) notifier: Notifier,
    /// The units' and the LVS side's mailer (one handle; a reload gives it
    /// new settings, never a new handle).
    pub(super) mailer: Option<Mailer>,
    pub(super) signals: Signals,
    pub(super) reload_requests: mpsc::Receiver<ReloadRequest>,
    /// `enable_dbus`: the bus service, and its `SendGarp` requests.
    pub(super) dbus: Option<super::dbus::DbusService>,
    pub(super) garp_requests: mpsc::Receiver<super::dbus::GarpRequest>,
    /// The notify FIFOs and their scripts, closed after the last line.
    pub(super) fifo: Option<super::fifo::FifoService>,
    /// `reload_time_file`: the watch of the file that schedules a reload,
    /// started again after each reload.
    pub(super) reload_timer: Option<ReloadTimer>,
}

impl Daemon {
    /// Serve until SIGTERM or SIGINT, or until a task the daemon cannot run
    /// without ends (then the error says which); stop in order either way.
    pub(super) async fn serve(mut self) -> Result<(), DaemonError> {
        let failure = self.main_loop().await;
        self.stop().await;
        match failure {
            Some(what) => Err(DaemonError::TaskFailed(what)),
            None => Ok(()),
        }
    }

    /// Until a stop: `Some` names the task that failed.
    async fn main_loop(&mut self) -> Option<String> {
        let mut watchdog =
            tokio::time::interval(watchdog_interval().unwrap_or(Duration::from_secs(3600)));
        watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let watchdog_on = watchdog_interval().is_some();
        let mut mail_tick = tokio::time::interval(Duration::from_secs(1));
        mail_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut wait_tick = tokio::time::interval(Duration::from_secs(1));
        wait_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                Some(what) = self.running.next_failure() => {
                    tracing::error!("{what}: stopping");
                    return Some(what);
                }
                _ = self.signals.term.recv() => { tracing::info!("SIGTERM: stopping"); return None; }
                _ = self.signals.int.recv() => { tracing::info!("SIGINT: stopping"); return None; }
                _ = self.signals.usr1.recv() => self.running.dump_stats().await,
                _ = self.signals.hup.recv() => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    self.reload().await;
                }
                _ = next_timed_reload(&mut self.reload_timer) => {
                    tracing::info!("reload_time_file: the scheduled time has come: reloading the configuration");
                    self.reload().await;
                }
                Some(req) = self.reload_requests.recv() => {
                    tracing::info!("reload requested on the control socket");
                    let outcome = self.reload().await;
                    let _ = req.reply.send(outcome);
                }
                Some(req) = self.garp_requests.recv() => self.running.send_garp(&req.0).await,
                _ = next_link_change(&mut self.links) => self.links_changed().await,
                removed = next_removals(&mut self.removals) => self.statics.reinstate(&removed),
                // An address on a new link comes without a link event:
                // while an instance waits, look again every second.
                _ = wait_tick.tick(), if self.links.is_some() && self.running.any_waiting() => {
                    self.links_changed().await;
                }
                _ = watchdog.tick(), if watchdog_on => { let _ = self.notifier.watchdog(); }
                _ = mail_tick.tick() => {
                    if let Some(m) = &self.mailer {
                        self.hub.set_mail(m.status());
                    }
                }
            }
        }
    }

    async fn reload(&mut self) -> ReloadOutcome {
        // As keepalived: the reload time is read again from the reloaded
        // configuration's file.
        if let Some(t) = self.reload_timer.take() {
            t.stop();
        }
        let outcome = self.reload_now().await;
        self.start_reload_timer();
        outcome
    }

    /// `reload_time_file`: watch the file the running configuration names.
    pub(super) fn start_reload_timer(&mut self) {
        self.reload_timer = self
            .config
            .as_ref()
            .and_then(|h| ReloadTimer::start(&h.config().global_defs));
    }

    async fn reload_now(&mut self) -> ReloadOutcome {
        // The running configuration's, as keepalived's running process
        // decides whether to check.
        let check_log = self
            .config
            .as_ref()
            .and_then(|h| h.config().global_defs.reload_check_config.clone());
        let ipvs_ns = self
            .config
            .as_ref()
            .map(|h| h.config().global_defs.net_namespace_ipvs.clone());
        let outcome = reload_config(
            &self.opts,
            &mut self.config,
            &mut self.running,
            &mut self.lvs,
            &self.hub,
            &self.notifier,
        )
        .await;
        if outcome.applied {
            if let Some(held) = &self.config {
                warn_ipvs_namespace_change(ipvs_ns, held.config());
                self.sync.reload(held.config());
                self.statics.reload(held.config());
                show_waiting(&self.hub, held.config(), &self.running);
                if let Some(d) = &mut self.dbus {
                    d.reloaded(held.config()).await;
                }
            }
            self.follow_removals();
        }
        log_outcome(&outcome);
        if let Some(path) = check_log {
            write_check_log(&path, &outcome);
        }
        outcome
    }

    /// `dynamic_interfaces`: a link appeared; instances waiting for it
    /// start, a unit whose link was made again is rebuilt on it, and the
    /// static entries on it are added.
    async fn links_changed(&mut self) {
        let ignored = self
            .links
            .as_ref()
            .map(|l| l.ignored().clone())
            .unwrap_or_default();
        let done = reapply_links(&self.opts, &self.config, &mut self.running, &ignored).await;
        if !done.is_empty() {
            tracing::info!(changes = ?done, "dynamic_interfaces: links changed");
        }
        if let Some(held) = &self.config {
            self.statics.reload(held.config());
            let (instances, groups) = self.running.unit_members();
            let waiting: Vec<String> = self.running.waiting().map(|w| w.instance.clone()).collect();
            let mut keep = instances;
            keep.extend(waiting);
            let mut keep_groups = groups;
            keep_groups.extend(self.running.waiting().filter_map(|w| w.group.clone()));
            self.hub.retain_units(&keep, &keep_groups);
            show_waiting(&self.hub, held.config(), &self.running);
        }
        self.follow_removals();
    }

    /// Watch removals while a static entry is to be put back.
    pub(super) fn follow_removals(&mut self) {
        self.removals = match (self.statics.tracks_any(), self.removals.take()) {
            (false, _) => None,
            (true, Some(m)) => Some(m),
            (true, None) => match RemovalMonitor::new() {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::error!(error = %e, "static entries deleted by hand will not be put back");
                    None
                }
            },
        };
    }

    /// BGP announcements first (withdrawn, then the drain delay), then
    /// VRRP (VIPs released, notify_stop), then the LVS side (the
    /// IPVS table withdrawn after the VIPs, then the sync daemons), then the
    /// notify FIFOs (after their last lines), then the last mails, then the
    /// control socket.
    async fn stop(self) {
        let _ = self.notifier.stopping();
        if let Some(t) = self.reload_timer {
            t.stop();
        }
        // tandem_bgp: the router hears the withdrawal while this node
        // still forwards (the drain), before anything else stops.
        self.bird.withdraw().await;
        let filter = self.running.accept_filter();
        self.running.shutdown(self.opts.shutdown_timeout).await;
        if let Some(d) = self.dbus {
            d.shutdown().await;
        }
        // As keepalived: the static entries go once the VIPs are released.
        self.statics.stop();
        super::firewall::clear_at_exit(self.config.as_ref().map(Held::config), &filter);
        if let Some(lvs) = self.lvs {
            lvs.shutdown().await;
        }
        self.sync.shutdown().await;
        if let Some(f) = self.fifo {
            f.stop().await;
        }
        if let Some(m) = &self.mailer {
            // VRRP and the checks have stopped; a relay that never answers
            // costs at most this.
            m.flush(MAIL_FLUSH_ON_STOP).await;
        }
        // The master agent hears the Close after the last state change
        // (and its trap) went out.
        if let Some(s) = self.snmp {
            s.shutdown().await;
        }
        if let Some(c) = self.control {
            c.shutdown().await;
        }
        tracing::info!("tandem stopped");
    }
}

/// The next removals, or never when nothing is to be put back.
async fn next_removals(m: &mut Option<RemovalMonitor>) -> Vec<Removed> {
    match m {
        Some(mon) => match mon.next().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "removal events lost");
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

/// The time a `reload_time_file` schedules, or never without one.
async fn next_timed_reload(timer: &mut Option<ReloadTimer>) {
    match timer {
        Some(t) => t.fired().await,
        None => std::future::pending().await,
    }
}

/// The next link change, or never without `dynamic_interfaces`.
async fn next_link_change(links: &mut Option<LinkWatch>) {
    match links {
        Some(l) => l.next_change().await,
        None => std::future::pending().await,
    }
}

/// `net_namespace_ipvs` is fixed at start (keepalived: "Cannot change IPVS
/// network namespace at a reload - please restart"): the IPVS table stays
/// where it is.
fn warn_ipvs_namespace_change(before: Option<Option<String>>, now: &crate::config::Config) {
    if let Some(before) = before
        && before != now.global_defs.net_namespace_ipvs
    {
        tracing::warn!(
            "net_namespace_ipvs cannot change at a reload: the IPVS table stays where it was; restart tandem to move it"
        );
    }
}

/// `reload_check_config LOG_FILE`: what checking the new file found (its
/// errors, one a line, with file:line:col; nothing when it was applied),
/// replacing the last reload's.
fn write_check_log(path: &str, outcome: &ReloadOutcome) {
    let mut text = String::new();
    for e in &outcome.errors {
        text.push_str(e);
        text.push('\n');
    }
    if let Err(e) = std::fs::write(path, text) {
        tracing::warn!(file = path, error = %e, "reload_check_config: cannot write the check's log");
    }
}

fn log_outcome(outcome: &ReloadOutcome) {
    if outcome.applied && outcome.changes.is_empty() {
        tracing::info!("reload done: no change");
    } else if outcome.applied {
        tracing::info!(changes = ?outcome.changes, "reload done");
    } else {
        for e in &outcome.errors {
            tracing::error!("reload refused: {e}");
        }
    }
}
