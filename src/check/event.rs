//! What the checkers report: a verdict change ([`CheckEvent`]) for the
//! virtual-server logic, and counters over all probes ([`CheckStats`]).
//!
//! Shared by the tokio runner and the checks' own event loop, so neither
//! depends on the other for its vocabulary.
//!
//! Plain values, and the one log line every checker writes the same way
//! ([`log_failure`]); no I/O.

use std::sync::atomic::AtomicU64;

use super::outcome::CheckError;
use super::schedule::Report;
use super::spec::CheckerSpec;

/// Index of a distinct checker in a [`CheckRunner`](super::CheckRunner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckerId(pub usize);

/// A change in one checker's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckEvent {
    pub checker: CheckerId,
    pub report: Report,
    /// Why the last probe failed, for the log line of a `Down`.
    pub detail: Option<String>,
}

/// Counters over all checkers, for status output and the benchmark.
#[derive(Debug, Default)]
pub struct CheckStats {
    pub probes: AtomicU64,
    pub failures: AtomicU64,
}

/// `log_all_failures` / `checker_log_all_failures`: one line for every
/// failed probe of a checker that is still up (the attempts before it is
/// declared down), as keepalived logs them; a checker already down, or
/// one without the option, logs only its verdict changes.
pub fn log_failure(spec: &CheckerSpec, up: bool, error: &CheckError) {
    if spec.timing.log_all_failures && up {
        tracing::info!(checker = %spec, error = %error, "{spec} failed: {error}");
    }
}

/// The verdict lines keepalived's PING_CHECK prints (check_ping.c), for a
/// PING_CHECK's verdict change; other checkers' changes are logged by the
/// virtual-server side ("real server UP" / "DOWN").
pub fn log_verdict(spec: &CheckerSpec, report: &Report) {
    if !matches!(spec.kind, super::spec::CheckKind::Ping) {
        return;
    }
    let ip = spec.target.ip();
    match report {
        Report::Down if spec.timing.retry > 0 => tracing::warn!(
            checker = %spec,
            "ICMP CHECK on service [{ip}] failed after {} retries.",
            spec.timing.retry
        ),
        Report::Down => tracing::warn!(checker = %spec, "ICMP CHECK on service [{ip}] failed."),
        Report::Up | Report::Weight(_) => {
            tracing::info!(checker = %spec, "ICMP connection to [{ip}] success.")
        }
    }
}
