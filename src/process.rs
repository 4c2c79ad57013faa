//! Process-wide helpers: the open-files limit, the file-mode creation
//! mask, the allocator's free pages, the wall clock in the units the status
//! reports use.
//!
//! Owns nothing but these few calls. It sits below every other room (it
//! imports nothing from the crate), so the daemon, the checks and the
//! command-line front ends can all use it without depending on each other.

use std::time::{SystemTime, UNIX_EPOCH};

/// Thousands of checks each hold a socket for a moment: lift the soft limit
/// on open files to the hard one, as keepalived does.
pub fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Set the file-mode creation mask (`global_defs { umask }`), which every
/// file the daemon and its scripts create from now on gets; returns the
/// previous one.
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask only swaps the process's mask; it cannot fail.
    unsafe { libc::umask((mask & 0o777) as libc::mode_t) as u32 }
}

/// Return freed heap pages to the kernel (glibc keeps them otherwise), so
/// that what was only needed at start-up does not stay resident.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Milliseconds since the Unix epoch, as every `*_unix_ms` field of the
/// status carries them (0 if the clock is before 1970).
pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// keepalived's `net_namespace NAME`: move this process into the network
/// namespace `ip netns add NAME` made (`/run/netns/NAME`). Must run before
/// any other thread starts: `setns` moves only the calling thread, and
/// threads started later inherit its namespace.
pub fn enter_net_namespace(name: &str) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let path = std::path::Path::new("/run/netns").join(name);
    let file = std::fs::File::open(&path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "net_namespace {name}: cannot open {} ({e}; make it with `ip netns add {name}`)",
                path.display()
            ),
        )
    })?;
    // SAFETY: a plain syscall on a descriptor we own for the call.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(std::io::Error::new(
            e.kind(),
            format!("net_namespace {name}: cannot enter it ({e})"),
        ));
    }
    Ok(())
}

/// Move the calling thread into the network namespace of `path` (a
/// `/proc/PID/ns/net` or `/run/netns/NAME`): for a thread of its own that
/// opens one socket there and ends.
pub fn enter_netns_path(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path)?;
    // SAFETY: a plain syscall on a descriptor we own for the call.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// How one side's threads are scheduled (keepalived's `vrrp_*` /
/// `checker_*` knobs, which keepalived applies to a child process each;
/// tandem has threads instead, and Linux schedules threads one by one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadSched {
    /// The nice value (`*_priority`).
    pub nice: Option<i32>,
    /// SCHED_RR at this priority (`*_rt_priority`).
    pub rt_priority: Option<i32>,
    /// The CPUs the thread may run on (`*_cpu_affinity`); empty: any.
    pub cpus: Vec<usize>,
    /// The thread's name (`*_process_name`); `None`: as it was started.
    pub name: Option<String>,
}

static VRRP_THREADS: std::sync::OnceLock<ThreadSched> = std::sync::OnceLock::new();
static CHECKER_THREADS: std::sync::OnceLock<ThreadSched> = std::sync::OnceLock::new();
static BFD_THREADS: std::sync::OnceLock<ThreadSched> = std::sync::OnceLock::new();
/// The VRRP side's threads as they start, for [`raise_vrrp_threads`].
static VRRP_TIDS: std::sync::Mutex<Vec<libc::pid_t>> = std::sync::Mutex::new(Vec::new());

/// Set once at start-up, before the threads exist: how the VRRP side's
/// threads (the daemon's runtime), the checks' threads and the BFD
/// thread are scheduled.
///
/// Threads inherit their creator's nice value and CPU set, and the check
/// threads are started from the VRRP side's: what `checker` leaves unset
/// is the process's own at this moment, as a separate keepalived checker
/// process would have it.
pub fn set_thread_sched(vrrp: ThreadSched, checker: ThreadSched, bfd: ThreadSched) {
    let _ = VRRP_THREADS.set(vrrp);
    let _ = CHECKER_THREADS.set(own_or_current(checker));
    let _ = BFD_THREADS.set(own_or_current(bfd));
}

/// `s` with what it leaves unset filled in from the calling thread now.
fn own_or_current(mut checker: ThreadSched) -> ThreadSched {
    if checker.nice.is_none() {
        // SAFETY: a plain syscall; errno tells -1 apart from an error.
        unsafe {
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
            if *libc::__errno_location() == 0 {
                checker.nice = Some(nice);
            }
        }
    }
    if checker.cpus.is_empty() {
        // SAFETY: cpu_set_t is plain data, filled by the kernel.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) == 0 {
                checker.cpus = (0..libc::CPU_SETSIZE as usize)
                    .filter(|&c| libc::CPU_ISSET(c, &set))
                    .collect();
            }
        }
    }
    checker
}

/// Called on each of the daemon runtime's threads as it starts.
pub fn enter_vrrp_thread() {
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::gettid() };
    if let Ok(mut v) = VRRP_TIDS.lock() {
        v.push(tid);
    }
    if let Some(s) = VRRP_THREADS.get() {
        apply_thread_sched(0, s, "VRRP");
    }
}

/// Called on each of the daemon runtime's threads as it ends: its id may
/// be reused by another process's thread, which must never be raised.
pub fn leave_vrrp_thread() {
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::gettid() };
    if let Ok(mut v) = VRRP_TIDS.lock() {
        v.retain(|&t| t != tid);
    }
}

/// Name the calling thread (its comm: `ps -L`, `top -H`; on the main
/// thread, the process's name too). The kernel keeps 15 bytes.
pub fn set_thread_name(name: &str) {
    let Ok(c) = std::ffi::CString::new(name) else {
        return;
    };
    // SAFETY: PR_SET_NAME reads a NUL-terminated string that outlives the call.
    let rc = unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr()) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        tracing::warn!(name, error = %e, "cannot name a thread");
    }
}

/// The calling thread's name, if the kernel says.
pub fn thread_name() -> Option<String> {
    let mut buf = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL included.
    let rc = unsafe { libc::prctl(libc::PR_GET_NAME, buf.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// Called on the BFD thread as it starts.
pub fn enter_bfd_thread() {
    if let Some(s) = BFD_THREADS.get() {
        apply_thread_sched(0, s, "BFD");
    }
}

/// Called on each health-check thread as it starts.
pub fn enter_checker_thread() {
    if let Some(s) = CHECKER_THREADS.get() {
        apply_thread_sched(0, s, "checker");
    }
}

/// Apply `s` to thread `tid` (0: the calling thread). Failures are
/// logged, not fatal: keepalived runs on at normal priority too.
fn apply_thread_sched(tid: libc::pid_t, s: &ThreadSched, side: &str) {
    if tid == 0
        && let Some(name) = &s.name
    {
        set_thread_name(name);
    }
    if let Some(nice) = s.nice {
        // SAFETY: plain syscalls on integers.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            tracing::warn!(side, nice, error = %e, "cannot set the {side} threads' priority{}", sandbox_hint());
        }
    }
    if let Some(p) = s.rt_priority
        && let Err(e) = set_round_robin(tid, p)
    {
        tracing::warn!(side, priority = p, error = %e, "cannot set real-time scheduling for the {side} threads{}", sandbox_hint());
    }
    if !s.cpus.is_empty() {
        // SAFETY: cpu_set_t is plain data; CPU_SET stays within its size
        // (the configuration refuses CPUs beyond CPU_SETSIZE).
        let rc = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in &s.cpus {
                libc::CPU_SET(c, &mut set);
            }
            libc::sched_setaffinity(tid, size_of::<libc::cpu_set_t>(), &set)
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            tracing::warn!(side, error = %e, "cannot set the {side} threads' CPU affinity");
        }
    }
}

/// SCHED_RR at `priority` for thread `tid` (0: the calling one); reset on
/// fork, so that scripts the daemon starts run at normal priority.
fn set_round_robin(tid: libc::pid_t, priority: i32) -> std::io::Result<()> {
    let sp = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `sp` outlives the call.
    let rc =
        unsafe { libc::sched_setscheduler(tid, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &sp) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Raise every VRRP-side thread to SCHED_RR at `priority` (the
/// auto-priority step). Returns how many threads took it.
pub fn raise_vrrp_threads(priority: i32) -> usize {
    let tids = VRRP_TIDS.lock().map(|v| v.clone()).unwrap_or_default();
    tids.into_iter()
        .filter(|&t| set_round_robin(t, priority).is_ok())
        .count()
}

/// What to add to a scheduling or memory-locking failure: under systemd
/// (`$INVOCATION_ID` is set for a unit's processes) the packaged unit's
/// sandbox is the likely cause, and the operator needs to hear where to
/// lift it, not only the errno.
pub fn sandbox_hint() -> &'static str {
    sandbox_hint_for(std::env::var_os("INVOCATION_ID").is_some())
}

fn sandbox_hint_for(under_systemd: bool) -> &'static str {
    if under_systemd {
        " (tandem.service forbids it: RestrictRealtime=yes, SystemCallFilter=~@resources and no \
         CAP_SYS_NICE / CAP_IPC_LOCK; docs/running.md, \"Real-time knobs under systemd\", has the \
         drop-in that allows it)"
    } else {
        ""
    }
}

/// `*_no_swap`: keep every page of the daemon in memory, present and
/// future (faulted in as used), so a VRRP advert never waits for swap.
pub fn lock_memory() -> std::io::Result<()> {
    // SAFETY: a plain syscall with constant flags.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `*_rlimit_rttime`: the CPU time (µs) a real-time thread may use
/// without blocking; the soft limit at half, as keepalived sets it.
pub fn set_rlimit_rttime(usecs: u32) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: libc::rlim_t::from(usecs / 2),
        rlim_max: libc::rlim_t::from(usecs),
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        // The soft limit sends SIGXCPU: a warning, never the end.
        libc::signal(libc::SIGXCPU, libc::SIG_IGN);
        if libc::setrlimit(libc::RLIMIT_RTTIME, &lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// keepalived's `max_auto_priority`: an event loop that wakes up later
/// than `min_delay` after its timer is not getting the CPU; the first time
/// it goes real-time (SCHED_RR at the lowest priority), each later time one
/// priority higher, up to `max`. Sans-IO: told each lateness, it says which
/// priority to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoPriority {
    max: i32,
    min_delay: std::time::Duration,
    current: Option<i32>,
}

impl AutoPriority {
    pub fn new(max: u8, min_delay: std::time::Duration) -> AutoPriority {
        AutoPriority {
            max: i32::from(max),
            min_delay,
            current: None,
        }
    }

    /// A timer fired `late` after it was due: the priority to switch to,
    /// if it must rise.
    pub fn observe(&mut self, late: std::time::Duration) -> Option<i32> {
        if late < self.min_delay {
            return None;
        }
        let next = match self.current {
            None => 1,
            Some(p) if p < self.max => p + 1,
            Some(_) => return None,
        };
        self.current = Some(next);
        Some(next)
    }

    /// The real-time priority taken so far (`None`: not real-time).
    pub fn current(&self) -> Option<i32> {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::AutoPriority;

    #[test]
    fn a_scheduling_failure_under_systemd_points_at_the_units_sandbox() {
        assert_eq!(super::sandbox_hint_for(false), "");
        let hint = super::sandbox_hint_for(true);
        assert!(hint.contains("RestrictRealtime=yes"), "{hint}");
        assert!(hint.contains("Real-time knobs under systemd"), "{hint}");
    }

    #[test]
    fn auto_priority_rises_one_step_per_late_wakeup_up_to_its_maximum() {
        let mut a = AutoPriority::new(3, Duration::from_millis(500));
        assert_eq!(a.observe(Duration::from_millis(499)), None);
        assert_eq!(a.current(), None);
        assert_eq!(a.observe(Duration::from_millis(500)), Some(1));
        assert_eq!(a.observe(Duration::from_millis(10)), None);
        assert_eq!(a.observe(Duration::from_secs(2)), Some(2));
        assert_eq!(a.observe(Duration::from_secs(2)), Some(3));
        assert_eq!(a.observe(Duration::from_secs(9)), None, "capped");
        assert_eq!(a.current(), Some(3));
    }
}

/// The process's random numbers (BFD discriminators, ports and jitter
/// seeds, checkers' `warmup` spread, DNS query ids): `None` until
/// `random_seed` gives a seed, then a splitmix64 state, so that one seed
/// gives one sequence, as keepalived's srandom(random_seed) does for its
/// random().
static RANDOM: std::sync::Mutex<Option<u64>> = std::sync::Mutex::new(None);

/// `random_seed N`: from now on [`random_u64`] draws from this seed.
pub fn seed_random(seed: u32) {
    let mut g = RANDOM.lock().unwrap_or_else(|e| e.into_inner());
    *g = Some(u64::from(seed));
}

/// A random number: from the `random_seed` sequence when one is set, else
/// from the standard library's per-process hasher keys and the clock.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut g = RANDOM.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(state) = g.as_mut() {
        return splitmix64(state);
    }
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// One step of splitmix64: the next number of the sequence `state` is at.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod random_tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_sequence() {
        // The sequence itself (the process-wide one is shared with
        // whatever else runs in parallel in this test binary).
        let seq = |seed: u64| {
            let mut s = seed;
            (0..4).map(|_| splitmix64(&mut s)).collect::<Vec<u64>>()
        };
        let (a, b, c) = (seq(42), seq(42), seq(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[0] != w[1]));
        // seed_random starts the shared sequence at the seed.
        seed_random(42);
        let g = RANDOM.lock().unwrap_or_else(|e| e.into_inner());
        assert!(g.is_some());
    }
}
