//! What the checkers report: a verdict change ([`CheckEvent`]) for the
//! virtual-server logic, and counters over all probes ([`CheckStats`]).
//!
//! Shared by the tokio runner and the checks' own event loop, so neither
//! depends on the other for its vocabulary.
//!
//! Plain values; no I/O.

use std::sync::atomic::AtomicU64;

use super::schedule::Report;

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
