//! The process monitor of `vrrp_track_process`: subscribe to the kernel's
//! process events, count the processes running at start from /proc, then
//! follow forks, execs, comm changes and exits, keeping every tracker's
//! quorum on the [`Bus`] ([`Bus::set_process_quorums`]) for the units.
//!
//! As keepalived 2.2.7 does it (`track_process.c`): the subscription comes
//! before the /proc scan, so no process starts unseen between the two;
//! when the socket overflowed (ENOBUFS: events were lost), the processes
//! are counted again from /proc a second later. A reload keeps the
//! monitor as it is: a changed `vrrp_track_process` block needs a restart
//! (see `reload::policy`), a changed entry's weight does not.
//!
//! Owns the connector socket and the timers; the counting rules are in
//! [`table`], the socket's wire layout in [`connector`].

mod connector;
mod procfs;
mod table;

use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

use crate::config::Config;

use super::bus::Bus;
use super::error::DaemonError;

use connector::{Connector, ProcEvent};
use table::{ProcInfo, Table};

/// How long keepalived lets things settle after lost events before it
/// counts again.
const RESCAN_AFTER: Duration = Duration::from_secs(1);

/// The monitor, subscribed and with the first count on the bus.
pub struct ProcessMonitor {
    conn: Connector,
    table: Table,
}

fn info(p: &procfs::Proc) -> (i32, ProcInfo<'_>) {
    (
        p.pid,
        ProcInfo {
            comm: p.comm.as_deref(),
            cmdline: p.cmdline.as_deref(),
        },
    )
}

impl ProcessMonitor {
    /// `None` when the configuration has no `vrrp_track_process`. A
    /// connector that cannot be opened stops the start: keepalived would
    /// run with trackers that never see a process.
    pub fn prepare(config: &Config, bus: &Bus) -> Result<Option<ProcessMonitor>, DaemonError> {
        if config.track_processes.is_empty() {
            return Ok(None);
        }
        let conn = Connector::open().map_err(|e| {
            DaemonError::TrackProcess(format!(
                "vrrp_track_process: cannot subscribe to the kernel's process events \
                 (NETLINK_CONNECTOR, needs CONFIG_PROC_EVENTS and CAP_NET_ADMIN): {e}"
            ))
        })?;
        let mut table = Table::new(&config.track_processes);
        let (comm, cmdline) = table.wants();
        let procs = procfs::scan(comm, cmdline);
        table.initial(procs.iter().map(info));
        for t in &config.track_processes {
            let n = table.count(&t.name).unwrap_or(0);
            tracing::info!(track_process = %t.name, count = n, "tracking process {}: {n} running", t.process);
        }
        table.take_changed();
        bus.set_process_quorums(table.quorums());
        Ok(Some(ProcessMonitor { conn, table }))
    }

    /// Follow the events until the daemon ends.
    pub async fn run(mut self, bus: Bus) {
        // SAFETY: the `Connector` owns its socket and the `AsyncFd` owns
        // the `Connector`, so the descriptor stays open exactly as long as
        // it is registered, and nothing else closes it.
        let registered = unsafe { AsyncFd::register(self.conn) };
        let fd = match registered {
            Ok(fd) => fd,
            Err(e) => {
                tracing::error!(error = %e, "track_process: cannot poll the connector; quorums stay as they are");
                return;
            }
        };
        let mut buf = Vec::with_capacity(256);
        let mut rescan_at: Option<Instant> = None;
        loop {
            let timer = [self.table.poll_timeout(), rescan_at]
                .into_iter()
                .flatten()
                .min();
            tokio::select! {
                ready = fd.readable() => {
                    let Ok(mut guard) = ready else { return };
                    loop {
                        match guard.get_inner().recv(&mut buf) {
                            Ok(Some(_)) => on_event(&mut self.table, &buf),
                            Ok(None) => {
                                guard.clear_ready();
                                break;
                            }
                            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                                tracing::warn!("track_process: process events were lost; counting again in {RESCAN_AFTER:?}");
                                rescan_at = Some(Instant::now() + RESCAN_AFTER);
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "track_process: connector receive error");
                                guard.clear_ready();
                                break;
                            }
                        }
                    }
                }
                _ = sleep_until(timer) => {
                    let now = Instant::now();
                    if rescan_at.is_some_and(|at| at <= now) {
                        rescan_at = None;
                        let (comm, cmdline) = self.table.wants();
                        let procs = procfs::scan(comm, cmdline);
                        self.table.rescan(now, procs.iter().map(info));
                    }
                    self.table.handle_timeout(now);
                }
            }
            if self.table.take_changed() {
                let q = self.table.quorums();
                for (name, up) in &q {
                    tracing::debug!(track_process = %name, up, "track_process {name}: quorum {up}");
                }
                log_changes(&bus, &q);
                bus.set_process_quorums(q);
            }
        }
    }
}

/// keepalived's "Quorum gained / lost for tracked process NAME".
fn log_changes(bus: &Bus, now: &std::collections::BTreeMap<String, bool>) {
    let before = bus.process_quorums().borrow().clone();
    for (name, up) in now {
        if before.get(name) != Some(up) {
            let what = if *up { "gained" } else { "lost" };
            tracing::info!(track_process = %name, "Quorum {what} for tracked process {name}");
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn on_event(table: &mut Table, buf: &[u8]) {
    let now = Instant::now();
    match connector::parse(buf) {
        Some(ProcEvent::Fork { parent, child }) => table.on_fork(now, parent, child),
        Some(ProcEvent::Exec { pid }) => {
            let (comm, cmdline) = table.wants();
            let p = procfs::read(pid, comm, cmdline);
            table.on_exec(now, pid, &info(&p).1);
        }
        Some(ProcEvent::Comm { pid, comm }) => table.on_comm(now, pid, &comm),
        Some(ProcEvent::Exit { pid }) => table.on_exit(now, pid),
        Some(ProcEvent::Ack) => {
            tracing::debug!("track_process: the kernel confirmed the subscription")
        }
        None => {}
    }
}
