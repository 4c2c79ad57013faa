//! The set of distinct checkers, and how they are run.
//!
//! - **Dedupe**: [`CheckRunner::add`] returns the same [`CheckerId`] for an
//!   equal [`CheckerSpec`], so a real server listed in several virtual
//!   servers with the same check is probed once and its verdict fanned out
//!   by the virtual-server logic.
//! - **Where they run**: [`CheckRunner::spawn_on_thread`] (the daemon) puts
//!   TCP_CHECK and status-only HTTP_GET on the checks' own event loop
//!   ([`super::engine`]) and the others (digest, SSL_GET, MISC_CHECK) on
//!   tokio, one task per checker; [`CheckRunner::spawn`] runs every checker
//!   as a task on the current runtime.
//! - **Isolation**: every checker has its own schedule and timers, so a
//!   slow or hung real server only ever delays its own next probe (and
//!   that is bounded by `connect_timeout` / `misc_timeout`).
//! - **Memory**: the probe future is boxed, so a sleeping task holds only
//!   its schedule and a timer; 10,000 idle checkers cost little.
//!
//! Verdict changes leave as [`CheckEvent`]s on an mpsc channel; the owner of
//! the virtual-server state (`lvs::LvsState`) is the only consumer.
//!
//! Owns the checkers' tokio tasks and the event channel; may not interpret a
//! verdict (that is `lvs`'s).

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use super::bfd::BfdFollow;
use super::engine::{self, Engine, EngineHandle};
pub use super::event::{CheckEvent, CheckStats, CheckerId};
use super::outcome::Pass;
use super::probe::{Prepared, probe_prepared};
use super::schedule::{CheckSchedule, Report, WAKE_SLOT, wake_slot};
use super::spec::{CheckKind, CheckerSpec};
use super::suspend::Suspended;

/// How many network probes may run at once by default.
///
/// Each probe in flight holds a socket and its HTTP buffers (about 20 KB
/// for an HTTP_GET). When the machine keeps up, only a handful are in flight
/// at any moment; when it cannot (thousands of checks a second on a busy
/// or emulated machine) they pile up, and memory grows with them — 115 MB at
/// 10,000 real servers in the test VM before this bound. With the bound,
/// memory stays below `max_in_flight` × 20 KB on top of the idle checkers.
///
/// The trade-off: a probe waits for a free slot before it starts (its
/// `connect_timeout` starts only once it has one), so probes are delayed
/// only when `max_in_flight` probes are running at the same moment — e.g.
/// that many real servers hanging until their `connect_timeout` at once.
/// Fewer hung servers than the bound never delay anyone else's check.
/// MISC_CHECK programs are not counted.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 512;

/// The set of distinct checkers, deduplicated by their spec.
#[derive(Debug, Default)]
pub struct CheckRunner {
    specs: Vec<Arc<CheckerSpec>>,
    index: HashMap<Arc<CheckerSpec>, CheckerId>,
    /// Verdicts carried over by a reload, overriding `alpha`.
    seeded: HashMap<CheckerId, bool>,
    /// `ha_suspend`'s flags, once asked for ([`CheckRunner::suspension`]).
    suspended: Option<Arc<Suspended>>,
}

impl CheckRunner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a checker; an equal spec registered before yields its id.
    pub fn add(&mut self, spec: CheckerSpec) -> CheckerId {
        if let Some(id) = self.index.get(&spec) {
            return *id;
        }
        let id = CheckerId(self.specs.len());
        let spec = Arc::new(spec);
        self.specs.push(Arc::clone(&spec));
        self.index.insert(spec, id);
        id
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    pub fn spec(&self, id: CheckerId) -> Option<&CheckerSpec> {
        self.specs.get(id.0).map(|s| &**s)
    }

    pub fn specs(&self) -> impl Iterator<Item = (CheckerId, &CheckerSpec)> {
        self.specs
            .iter()
            .enumerate()
            .map(|(i, s)| (CheckerId(i), &**s))
    }

    /// Every checker's spec, shared (indexed by [`CheckerId`]).
    pub fn shared_specs(&self) -> Vec<Arc<CheckerSpec>> {
        self.specs.clone()
    }

    /// The verdict every checker starts with (down under `alpha`).
    pub fn initial_up(&self, id: CheckerId) -> bool {
        match self.seeded.get(&id) {
            Some(up) => *up,
            None => self.spec(id).is_some_and(|s| !s.timing.alpha),
        }
    }

    /// The id of a checker with this spec, if registered.
    pub fn id_of(&self, spec: &CheckerSpec) -> Option<CheckerId> {
        self.index.get(spec).copied()
    }

    /// The flags that suspend checkers (`ha_suspend`), for every checker
    /// registered so far: ask after the last [`CheckRunner::add`] and
    /// before the spawn. Without a call, no checker is ever suspended.
    pub fn suspension(&mut self) -> Arc<Suspended> {
        let n = self.specs.len();
        Arc::clone(
            self.suspended
                .get_or_insert_with(|| Arc::new(Suspended::new(n))),
        )
    }

    /// Start checker `id` from a known verdict instead of `alpha` (reload:
    /// the same check of the same server keeps its up/down state).
    pub fn seed(&mut self, id: CheckerId, up: bool) {
        if id.0 < self.specs.len() {
            self.seeded.insert(id, up);
        }
    }

    /// Start one task per checker on the current runtime. Dropping the
    /// returned [`RunningChecks`] stops them all (and kills MISC_CHECK
    /// programs still running).
    pub fn spawn(&self, events: mpsc::Sender<CheckEvent>) -> RunningChecks {
        self.spawn_bounded(events, DEFAULT_MAX_IN_FLIGHT)
    }

    /// [`CheckRunner::spawn`] with at most `max_in_flight` network probes
    /// (HTTP_GET, SSL_GET, TCP_CHECK) running at once; see
    /// [`DEFAULT_MAX_IN_FLIGHT`] for why and what it costs.
    pub fn spawn_bounded(
        &self,
        events: mpsc::Sender<CheckEvent>,
        max_in_flight: usize,
    ) -> RunningChecks {
        let stats = Arc::new(CheckStats::default());
        let tasks = spawn_all(
            self.starts(),
            events,
            Arc::clone(&stats),
            max_in_flight,
            self.suspended.clone(),
        );
        RunningChecks {
            place: Place::Tasks(tasks),
            stats,
            bfd: None,
            feeders: Vec::new(),
        }
    }

    /// Start the checkers on threads of their own, as the daemon does:
    /// TCP_CHECK and status-only HTTP_GET on the checks' own event loop
    /// ([`super::engine`], thread "tandem-checks"), every other checker
    /// (digest, SSL_GET, MISC_CHECK) as tokio tasks on a single-threaded
    /// runtime (thread "tandem-chk-rt", started only if there are any).
    /// Each of the two has its own `max_in_flight` bound.
    ///
    /// Why threads of their own: thousands of checks a second on the
    /// daemon's multi-thread runtime kept its workers waking each other —
    /// every timer or socket event of one worker unparked the other to
    /// steal the task (futex and epoll_wait calls on top of the check's
    /// own), and the VRRP tasks shared those workers with the checks. On a
    /// thread of their own the checks cost only their own system calls, and
    /// VRRP never waits behind a check. Dropping the returned handle stops
    /// the threads.
    pub fn spawn_on_thread(
        &self,
        events: mpsc::Sender<CheckEvent>,
        max_in_flight: usize,
    ) -> std::io::Result<RunningChecks> {
        let stats = Arc::new(CheckStats::default());
        let mut lean = Vec::new();
        let mut other = Vec::new();
        for (id, up, spec) in self.starts() {
            match engine::lean_requests(&spec, &Prepared::new(&spec)) {
                Some(requests) => lean.push((id, up, spec, requests)),
                None => other.push((id, up, spec)),
            }
        }
        let engine = if lean.is_empty() {
            None
        } else {
            let seed = crate::process::random_u64();
            let ids: Vec<CheckerId> = lean.iter().map(|(id, ..)| *id).collect();
            let engine = Engine::new(lean, max_in_flight)?.with_suspension(self.suspended.clone());
            // What building the configuration and the checkers needed and
            // freed stays resident unless handed back (several MB at
            // 10,000 real servers).
            Some(engine.spawn(
                events.clone(),
                Arc::clone(&stats),
                |i| ids.get(i).map_or(0.0, |id| spread(seed, *id)),
                || {
                    crate::process::enter_checker_thread();
                    crate::process::release_free_memory();
                },
            )?)
        };
        let tasks = if other.is_empty() {
            None
        } else {
            Some(spawn_tasks_thread(
                other,
                events,
                Arc::clone(&stats),
                max_in_flight,
                self.suspended.clone(),
            )?)
        };
        Ok(RunningChecks {
            place: Place::Threads { engine, tasks },
            stats,
            bfd: None,
            feeders: Vec::new(),
        })
    }

    /// The `BFD_CHECK`s: they have no task of their own; the daemon feeds
    /// them the BFD sessions' states ([`super::bfd::follow`]).
    pub fn bfd_follow(&self) -> BfdFollow {
        BfdFollow::new(
            self.specs()
                .filter_map(|(id, spec)| match &spec.kind {
                    CheckKind::Bfd(b) => Some((id, b.clone(), self.seeded.get(&id).copied())),
                    _ => None,
                })
                .collect(),
        )
    }

    /// What each checker task starts from: id, verdict, spec (every
    /// checker but the `BFD_CHECK`s, which probe nothing).
    fn starts(&self) -> Vec<(CheckerId, bool, Arc<CheckerSpec>)> {
        self.specs
            .iter()
            .enumerate()
            .filter(|(_, spec)| !matches!(spec.kind, CheckKind::Bfd(_)))
            .map(|(i, spec)| {
                (
                    CheckerId(i),
                    self.initial_up(CheckerId(i)),
                    Arc::clone(spec),
                )
            })
            .collect()
    }
}

/// The tokio tasks of [`CheckRunner::spawn_on_thread`] on a runtime and
/// thread of their own.
fn spawn_tasks_thread(
    starts: Vec<(CheckerId, bool, Arc<CheckerSpec>)>,
    events: mpsc::Sender<CheckEvent>,
    stats: Arc<CheckStats>,
    max_in_flight: usize,
    suspended: Option<Arc<Suspended>>,
) -> std::io::Result<TasksThread> {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("tandem-chk-rt".into())
        .spawn(move || {
            crate::process::enter_checker_thread();
            rt.block_on(async move {
                let mut tasks = spawn_all(starts, events, stats, max_in_flight, suspended);
                crate::process::release_free_memory();
                // A dropped sender (the handle dropped) is a stop too.
                let _ = stop_rx.await;
                tasks.shutdown().await;
            });
            // The tasks are gone (MISC_CHECK programs killed with them).
            let _ = done_tx.send(());
        })?;
    Ok(TasksThread {
        stop: stop_tx,
        done: done_rx,
    })
}

/// A checker's share of `warmup` before its first probe, in `[0, 1)`:
/// from its id, hashed with the runner's random seed (one `random_seed`
/// gives one spread).
fn spread(seed: u64, id: CheckerId) -> f64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write_u64(seed);
    h.write_usize(id.0);
    // 53 random bits -> [0, 1)
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// One task per checker on the current runtime.
fn spawn_all(
    starts: Vec<(CheckerId, bool, Arc<CheckerSpec>)>,
    events: mpsc::Sender<CheckEvent>,
    stats: Arc<CheckStats>,
    max_in_flight: usize,
    suspended: Option<Arc<Suspended>>,
) -> JoinSet<()> {
    let common = Arc::new(Common {
        events,
        stats,
        in_flight: Semaphore::new(max_in_flight.max(1)),
        origin: tokio::time::Instant::now(),
        suspended,
    });
    let mut tasks = JoinSet::new();
    let seed = crate::process::random_u64();
    for (id, up, spec) in starts {
        let random = spread(seed, id);
        tasks.spawn(run_checker(id, up, spec, Arc::clone(&common), random));
    }
    tasks
}

/// Handle on the spawned checker tasks.
#[derive(Debug)]
pub struct RunningChecks {
    place: Place,
    pub stats: Arc<CheckStats>,
    /// The task that feeds the `BFD_CHECK`s ([`RunningChecks::follow_bfd`]).
    bfd: Option<tokio::task::JoinHandle<()>>,
    /// Other tasks stopped with the checkers ([`RunningChecks::attach`]).
    feeders: Vec<tokio::task::JoinHandle<()>>,
}

/// Where the checker tasks run.
#[derive(Debug)]
enum Place {
    /// On the runtime that spawned them.
    Tasks(JoinSet<()>),
    /// On threads of their own ([`CheckRunner::spawn_on_thread`]).
    Threads {
        engine: Option<EngineHandle>,
        tasks: Option<TasksThread>,
    },
}

/// The thread of the tokio checker tasks.
#[derive(Debug)]
struct TasksThread {
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

impl RunningChecks {
    /// Feed `follow` (the runner's [`CheckRunner::bfd_follow`]) the BFD
    /// sessions' `states`, on the current runtime, until
    /// [`RunningChecks::shutdown`]. Nothing runs without a `BFD_CHECK`.
    pub fn follow_bfd(
        &mut self,
        follow: BfdFollow,
        states: tokio::sync::watch::Receiver<super::bfd::BfdUp>,
        events: mpsc::Sender<CheckEvent>,
    ) {
        if !follow.is_empty() {
            self.bfd = Some(tokio::spawn(super::bfd::follow(follow, states, events)));
        }
    }

    /// A task that feeds the checkers (`ha_suspend`'s address watcher),
    /// stopped with them.
    pub fn attach(&mut self, task: tokio::task::JoinHandle<()>) {
        self.feeders.push(task);
    }

    /// Stop every checker and wait until they are gone.
    pub async fn shutdown(self) {
        for t in self.feeders {
            t.abort();
            let _ = t.await;
        }
        if let Some(bfd) = self.bfd {
            bfd.abort();
            let _ = bfd.await;
        }
        match self.place {
            Place::Tasks(mut tasks) => tasks.shutdown().await,
            Place::Threads { engine, tasks } => {
                if let Some(TasksThread { stop, done }) = tasks {
                    let _ = stop.send(());
                    let _ = done.await;
                }
                if let Some(engine) = engine {
                    engine.shutdown().await;
                }
            }
        }
    }
}

/// What every checker task of one runner shares (one `Arc` per task).
struct Common {
    events: mpsc::Sender<CheckEvent>,
    stats: Arc<CheckStats>,
    in_flight: Semaphore,
    /// Where the [`WAKE_SLOT`]s are counted from.
    origin: tokio::time::Instant,
    /// `ha_suspend`'s flags, if any checker may be suspended.
    suspended: Option<Arc<Suspended>>,
}

async fn run_checker(
    id: CheckerId,
    up: bool,
    spec: Arc<CheckerSpec>,
    common: Arc<Common>,
    random: f64,
) {
    let Common {
        events,
        stats,
        in_flight,
        origin,
        suspended,
    } = &*common;
    let origin = *origin;
    let mut schedule = CheckSchedule::starting(spec.timing, up);
    let prepared = Prepared::new(&spec);
    sleep_for(origin, schedule.first_delay(random)).await;
    loop {
        // ha_suspend: no probe, the verdict kept; look again a delay_loop on.
        if suspended.as_ref().is_some_and(|s| s.is(id)) {
            sleep_for(origin, spec.timing.delay_loop).await;
            continue;
        }
        // A MISC_CHECK program holds no buffers of ours, and its
        // misc_timeout may be long: it does not count against the bound.
        let permit = match spec.kind {
            CheckKind::Misc(_) => None,
            _ => in_flight.acquire().await.ok(),
        };
        // Boxed: the probe's state lives on the heap only while it runs.
        let result = Box::pin(probe_prepared(&spec, &prepared)).await;
        drop(permit);
        stats.probes.fetch_add(1, Ordering::Relaxed);
        let (step, detail) = match result {
            Ok(Pass::Up) => (schedule.on_pass(None), None),
            Ok(Pass::Weight(w)) => (schedule.on_pass(Some(w)), None),
            Err(e) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(checker = %spec, error = %e, "check failed");
                super::event::log_failure(&spec, schedule.is_up(), &e);
                (schedule.on_fail(), Some(e.to_string()))
            }
        };
        for report in &step.reports {
            super::event::log_verdict(&spec, report);
        }
        // Boxed: verdicts change rarely, and the sending state would
        // otherwise make every sleeping checker's task larger.
        if !step.reports.is_empty()
            && Box::pin(send_reports(events, id, step.reports, detail))
                .await
                .is_err()
        {
            return; // nobody listens any more: the daemon is stopping
        }
        sleep_for(origin, step.next).await;
    }
}

/// Sleep about `delay`: until the [`WAKE_SLOT`] nearest to now + `delay`,
/// so that probes due close together wake the thread once.
fn sleep_for(origin: tokio::time::Instant, delay: Duration) -> tokio::time::Sleep {
    let now = tokio::time::Instant::now().saturating_duration_since(origin);
    tokio::time::sleep_until(origin + wake_slot(now + delay, now, WAKE_SLOT))
}

/// Send a probe's reports in order; `Err` once nobody listens.
async fn send_reports(
    events: &mpsc::Sender<CheckEvent>,
    id: CheckerId,
    reports: Vec<Report>,
    detail: Option<String>,
) -> Result<(), ()> {
    for report in reports {
        let event = CheckEvent {
            checker: id,
            report,
            detail: detail.clone(),
        };
        events.send(event).await.map_err(|_| ())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::spec::{CheckKind, CheckTiming, DEFAULT_CONNECT_TIMEOUT};

    fn tcp(target: &str) -> CheckerSpec {
        CheckerSpec {
            kind: CheckKind::Tcp,
            target: target.parse().unwrap(),
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timing: CheckTiming::defaults(&CheckKind::Tcp, Duration::from_secs(5)),
        }
    }

    #[test]
    fn equal_specs_are_one_checker() {
        let mut r = CheckRunner::new();
        let a = r.add(tcp("198.51.100.10:80"));
        let b = r.add(tcp("198.51.100.11:80"));
        let a2 = r.add(tcp("198.51.100.10:80"));
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_eq!(r.len(), 2);
        // A different way of checking the same server is another checker.
        let mut slow = tcp("198.51.100.10:80");
        slow.timing.delay_loop = Duration::from_secs(30);
        assert_ne!(r.add(slow), a);
        assert_eq!(r.len(), 3);
    }

    /// Reload: a seeded verdict overrides `alpha` for that checker only.
    #[test]
    fn a_seeded_verdict_overrides_alpha() {
        let mut r = CheckRunner::new();
        let mut alpha = tcp("198.51.100.10:80");
        alpha.timing.alpha = true;
        let a = r.add(alpha.clone());
        let b = r.add(tcp("198.51.100.11:80"));
        assert!(!r.initial_up(a));
        assert!(r.initial_up(b));
        assert_eq!(r.id_of(&alpha), Some(a));
        r.seed(a, true);
        r.seed(b, false);
        assert!(r.initial_up(a));
        assert!(!r.initial_up(b));
    }
}
