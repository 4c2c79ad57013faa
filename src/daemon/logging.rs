//! The daemon's log: plain text on stderr, and under systemd each line
//! prefixed with its syslog priority, so journald files it at the right
//! level (`journalctl -u tandem -p warning` shows only the problems).
//!
//! Owns the tracing subscriber's set-up. May not log anything itself.

/// Log to stderr: `RUST_LOG` (or `TANDEM_LOG`) filters, `info` by default.
/// Plain text without colours, one line per event, so logs grep well and
/// read well in journald.
pub fn init_logging() {
    let filter = std::env::var("TANDEM_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter));
    // Under systemd, journald stamps each line itself and takes its
    // priority from a "<N>" prefix.
    let _ = if stderr_is_journal() {
        let format = tracing_subscriber::fmt::format().without_time();
        builder.event_format(JournalPriority(format)).try_init()
    } else {
        builder.try_init()
    };
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
