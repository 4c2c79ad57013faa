//! The IPVS programmer: one task that keeps the kernel's IPVS table equal
//! to the [`Desired`] table the LVS task publishes ([`program`]).
//!
//! Owns the IPVS client and the reconciler (its belief of what the kernel
//! holds). The netlink work runs on tokio's blocking pool, never on a
//! worker thread; the task itself only waits for the next table and
//! reports each table the kernel took on the bus (the VIP gate). It never
//! reads check verdicts or VRRP state: the table says it all.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::ipvs::reconcile::{Op, StopPolicy};
use crate::ipvs::types::{ServiceKey, Table};
use crate::ipvs::{ApplyReport, IpvsClient, IpvsError, Reconciler};

use crate::daemon::bus::Bus;

use super::guard::{GUARD_WINDOW, HandoverGuard};

/// The table this node should have, and the MASTER instances it was
/// computed for: the programmer reports those back on the bus once the
/// kernel has the table, which opens the VIP gate ([`RulesState`](crate::daemon::bus::RulesState)).
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

/// How long one IPVS netlink request may take.
const IPVS_TIMEOUT: Duration = Duration::from_secs(5);
/// The first retry after IPVS could not be programmed, doubled up to
/// [`MAX_BACKOFF`] while it still cannot.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Keep the kernel's IPVS table equal to the desired one: reconcile on every
/// change (the reconciler sends only the difference). If IPVS cannot be
/// reached (no `ip_vs` in this kernel), say so once and retry with back-off,
/// without affecting VRRP or the checks. When the desired-table channel
/// closes (shutdown), apply `stop` (`lvs_flush_on_stop`; by default: remove
/// the services this daemon programmed, as keepalived does). Each table the
/// kernel accepts is reported on `bus` (the VIP gate); so is a kernel that
/// cannot be programmed at all.
///
/// With `handover_guard` (`lvs_sync_daemon` configured), a table that makes
/// this node a new master puts the handover guard in before the bus hears
/// of it (so before the VIPs move), and [`GUARD_WINDOW`](super::guard::GUARD_WINDOW)
/// later takes it out ([`crate::net::guard`]).
pub async fn program(
    mut table: watch::Receiver<DesiredTable>,
    lvs_flush: bool,
    stop: StopPolicy,
    bus: Option<Bus>,
    handover_guard: bool,
) {
    let mut client = IpvsClient::new(IPVS_TIMEOUT);
    let mut reconciler = Reconciler::new(lvs_flush);
    let mut retry = Retry::default();
    let mut guard = HandoverGuard::new(handover_guard);
    if guard.enabled() {
        // A killed earlier run may have left one in.
        lift_guard(&mut guard, false).await;
    }
    let mut open = true;
    loop {
        let desired: Option<DesiredTable> = open.then(|| Arc::clone(&table.borrow_and_update()));
        let masters = desired.as_ref().map(|d| d.masters.clone());
        if let Some(d) = &desired {
            reconciler.claim(&d.claimed);
        }
        let result;
        (client, reconciler, result) =
            reconcile(client, reconciler, desired.clone(), stop, lvs_flush).await;
        match result {
            Ok((ops, report)) => {
                retry.succeeded();
                if let Some(d) = &desired {
                    put_guard_in(&mut guard, d).await;
                }
                if let (Some(bus), Some(masters)) = (&bus, &masters) {
                    bus.rules_programmed(masters);
                }
                if let (Some(bus), Some(d)) = (&bus, &desired) {
                    bus.set_in_kernel(Some(d.table.services.keys().copied().collect()));
                }
                log_applied(&ops, &report);
            }
            Err(e) => {
                let backoff = retry.failed(&e);
                if let Some(bus) = &bus {
                    bus.rules_unreachable();
                    bus.set_in_kernel(None);
                }
                if !open {
                    lift_guard(&mut guard, true).await;
                    return; // shutting down: nothing more we can do
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    changed = table.changed() => open = changed.is_ok(),
                }
                continue;
            }
        }
        if !open {
            lift_guard(&mut guard, true).await;
            return;
        }
        loop {
            tokio::select! {
                changed = table.changed() => {
                    open = changed.is_ok();
                    break;
                }
                () = sleep_until_opt(guard.deadline()) => lift_guard(&mut guard, true).await,
            }
        }
    }
}

/// Sleep until `at`, or for ever without one.
async fn sleep_until_opt(at: Option<std::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Put the handover guard in if `d` is a takeover. A guard that cannot go
/// in (no `nft`) is said once and the takeover goes on without it.
async fn put_guard_in(guard: &mut HandoverGuard, d: &Desired) {
    let Some(entries) = guard.programmed(std::time::Instant::now(), &d.masters, &d.table) else {
        return;
    };
    let (services, reals) = (entries.services.len(), entries.nat_reals.len());
    let result = tokio::task::spawn_blocking(move || crate::net::guard::install(&entries)).await;
    match result {
        Ok(Ok(())) => tracing::info!(
            services,
            real_servers = reals,
            "handover guard in: segments of connections the sync daemon has not sent yet are dropped, not reset, for {} s",
            GUARD_WINDOW.as_secs()
        ),
        Ok(Err(e)) => {
            guard.lifted();
            tracing::warn!(error = %e, "no handover guard: a connection opened in the old master's last seconds may be reset");
        }
        Err(e) => {
            guard.lifted();
            tracing::warn!(error = %e, "no handover guard");
        }
    }
}

/// Take the handover guard out (at start: whatever an earlier run left,
/// quietly; `report`: say how many segments it held back).
async fn lift_guard(guard: &mut HandoverGuard, report: bool) {
    if report && guard.deadline().is_none() {
        return;
    }
    guard.lifted();
    let result = tokio::task::spawn_blocking(crate::net::guard::lift).await;
    match result {
        Ok(Ok(dropped)) if report => tracing::info!(
            dropped = dropped.unwrap_or(0),
            "handover guard out: {} segments of unknown connections were held back",
            dropped.map_or_else(|| "?".to_string(), |d| d.to_string())
        ),
        Ok(Ok(_)) => {}
        Ok(Err(e)) if report => tracing::warn!(error = %e, "cannot take the handover guard out"),
        Ok(Err(e)) => tracing::debug!(error = %e, "no handover guard to clear"),
        Err(e) => tracing::warn!(error = %e, "cannot take the handover guard out"),
    }
}

/// One round on the blocking pool: bring the kernel to `desired`, or, with
/// `None` (shutting down), apply `stop` (`lvs_flush_on_stop` decides what
/// goes). The client and the reconciler come back for the next round.
async fn reconcile(
    client: IpvsClient,
    reconciler: Reconciler,
    desired: Option<DesiredTable>,
    stop: StopPolicy,
    lvs_flush: bool,
) -> (
    IpvsClient,
    Reconciler,
    Result<(Vec<Op>, ApplyReport), IpvsError>,
) {
    tokio::task::spawn_blocking(move || {
        let mut client = client;
        let mut reconciler = reconciler;
        let result = match desired {
            Some(desired) => client.reconcile_shared(&mut reconciler, &desired.table),
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
            IpvsClient::new(IPVS_TIMEOUT),
            Reconciler::new(lvs_flush),
            Err(IpvsError::Socket(std::io::Error::other(
                "programmer task failed",
            ))),
        )
    })
}

/// Whether IPVS is failing, and how long to wait before the next try.
struct Retry {
    failing: bool,
    backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            failing: false,
            backoff: FIRST_BACKOFF,
        }
    }
}

impl Retry {
    fn succeeded(&mut self) {
        if self.failing {
            tracing::info!("IPVS reachable again");
        }
        *self = Retry::default();
    }

    /// Log the failure (loudly only the first time) and return the wait
    /// before the next try; the one after waits twice as long.
    fn failed(&mut self, e: &IpvsError) -> Duration {
        if !self.failing {
            tracing::error!(error = %e, "cannot program IPVS; retrying with back-off");
        } else {
            tracing::debug!(error = %e, "IPVS still unreachable");
        }
        self.failing = true;
        let wait = self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        wait
    }
}

/// What a round sent, counted by command, and what the kernel refused.
fn log_applied(ops: &[Op], report: &ApplyReport) {
    if !ops.is_empty() {
        // Which commands, counted (SET_DEST=1): what a reload
        // changed reads here, also with 10,000 entries.
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for op in ops {
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

/// The ip_vs.h command name of an operation, for the log.
fn op_name(op: &Op) -> &'static str {
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
