//! Process-wide helpers: the open-files limit, the allocator's free pages,
//! the wall clock in the units the status reports use, and the log line's
//! priority prefix when stderr is journald's.
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

/// Whether stderr is a stream to journald: systemd then sets
/// `$JOURNAL_STREAM` to that stream's `device:inode` (systemd.exec(5)).
pub fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some((dev, ino)) = std::env::var("JOURNAL_STREAM").ok().and_then(|s| {
        s.split_once(':')
            .map(|(d, i)| (d.parse::<u64>(), i.parse::<u64>()))
    }) else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(fd).metadata() {
        Ok(m) => dev == Ok(m.dev()) && ino == Ok(m.ino()),
        Err(_) => false,
    }
}

/// A log line formatter that puts the event's syslog priority first, as
/// `<3>` (error), `<4>` (warning), `<6>` (info) or `<7>` (debug, trace):
/// journald takes it as the line's priority (`SyslogLevelPrefix=`, on by
/// default), so `journalctl -p warning` shows the warnings and errors.
pub struct JournalPriority<F>(pub F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for JournalPriority<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}
