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
