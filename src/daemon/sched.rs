//! keepalived's scheduling knobs, applied to tandem's threads: the daemon
//! runtime's threads take the `vrrp_*` settings, the health-check threads
//! the `checker_*` ones, the BFD thread (`daemon::bfd`) the `bfd_*` ones, and `max_auto_priority` watches the runtime for
//! late wake-ups.
//!
//! Owns: mapping global_defs onto `crate::process` calls at start-up, and
//! the watchdog task. May not: decide a step (`process::AutoPriority`
//! does) or touch any protocol state.

use std::time::{Duration, Instant};

use crate::config::{GlobalDefs, ProcessSched};
use crate::process::{self, AutoPriority, ThreadSched};

fn thread_sched(p: &ProcessSched) -> ThreadSched {
    ThreadSched {
        nice: p.nice.map(i32::from),
        rt_priority: p.rt_priority.map(i32::from),
        cpus: p.cpu_affinity.iter().map(|&c| usize::from(c)).collect(),
        name: p.name.clone(),
    }
}

/// Before the runtime starts: what its threads and the check threads are
/// to take when they start, and the process-wide parts (memory locking,
/// the real-time CPU limit). The calling thread (which runs the daemon's
/// main future) takes the VRRP settings at once.
pub fn prepare(g: &GlobalDefs) {
    process::set_thread_sched(
        thread_sched(&g.vrrp_process),
        thread_sched(&g.checker_process),
        thread_sched(&g.bfd_process),
    );
    // The main thread runs VRRP but its name is the process's: it keeps
    // it, or takes `process_name` (keepalived's parent process's name).
    let own = process::thread_name();
    process::enter_vrrp_thread();
    if let Some(name) = g.process_name.as_ref().or(own.as_ref()) {
        process::set_thread_name(name);
    }
    // One process: any side's no_swap locks all of it.
    if g.vrrp_process.no_swap || g.checker_process.no_swap || g.bfd_process.no_swap {
        match process::lock_memory() {
            Ok(()) => tracing::info!("memory locked (no_swap)"),
            Err(e) => tracing::warn!(
                error = %e,
                "cannot lock memory (no_swap){}",
                process::sandbox_hint()
            ),
        }
    }
    // One limit per process: the VRRP side's if given, else the checks',
    // else BFD's.
    if let Some(us) = g
        .vrrp_process
        .rlimit_rttime
        .or(g.checker_process.rlimit_rttime)
        .or(g.bfd_process.rlimit_rttime)
        && let Err(e) = process::set_rlimit_rttime(us)
    {
        tracing::warn!(error = %e, usecs = us, "cannot set RLIMIT_RTTIME{}", process::sandbox_hint());
    }
}

/// How often the watchdog looks at the clock: often enough to see a
/// 1 s lateness (keepalived's default threshold) well within a second.
const TICK: Duration = Duration::from_millis(250);

/// `max_auto_priority`: a task that sleeps [`TICK`] and measures how late
/// it woke up; each lateness beyond `min_auto_priority_delay` raises the
/// runtime's threads one real-time step.
pub fn spawn_auto_priority(g: &GlobalDefs) {
    let Some(max) = g.max_auto_priority else {
        return;
    };
    let mut auto = AutoPriority::new(max, g.min_auto_priority_delay);
    tokio::spawn(async move {
        loop {
            let due = Instant::now() + TICK;
            tokio::time::sleep(TICK).await;
            let late = Instant::now().saturating_duration_since(due);
            if let Some(p) = auto.observe(late) {
                let n = process::raise_vrrp_threads(p);
                tracing::warn!(
                    late_ms = late.as_millis() as u64,
                    priority = p,
                    threads = n,
                    "woke up {} ms late: set realtime priority {p}",
                    late.as_millis()
                );
            }
            if auto.current() == Some(i32::from(max)) {
                return;
            }
        }
    });
}
