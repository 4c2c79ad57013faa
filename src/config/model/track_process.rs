//! The model of `vrrp_track_process`: a process (by name, optionally by
//! its arguments) whose number of running instances puts the VRRP
//! instances and sync groups that track it in FAULT or moves their
//! priority, as keepalived 2.2.7 reads the block (`vrrp_parser.c`).
//!
//! Owns: those types and their defaults. May not: look at processes (the
//! daemon does) or know what quorum means for an instance (`vrrp` does).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::common::Origin;
use super::secs;

/// How the arguments after `process NAME` are compared with a command
/// line's (keepalived's `param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamMatch {
    /// No arguments given and no `param_match`: any arguments match.
    None,
    /// The arguments are exactly the ones given (none if none were given).
    Exact,
    /// The given arguments are the first ones of the command line.
    Partial,
    /// As `Partial`, but the last given argument need only be the start of
    /// the command line's argument in that place.
    Initial,
}

/// `vrrp_track_process NAME { process PATH [ARG..]; param_match [..];
/// weight W [reverse]; quorum N; quorum_max N; delay S; terminate_delay S;
/// fork_delay S; full_command }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcess {
    pub name: String,
    /// `process`: compared with the process's comm (its 15-byte task name)
    /// or, with `full_command`, with the first word of its command line.
    pub process: String,
    /// The words after the name in `process` (they imply `full_command`
    /// and, without `param_match`, exact matching).
    pub params: Vec<String>,
    pub param_match: ParamMatch,
    /// `weight` (−254..254), default 0: FAULT while quorum is not met.
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `quorum` (1..65535, default 1; 0 when `quorum_max 0`): fewest
    /// processes for the tracker to count as up.
    pub quorum: u32,
    /// `quorum_max` (0..65535, default unlimited: `u32::MAX`): most.
    pub quorum_max: u32,
    /// `fork_delay` (or `delay`): quorum gained by a fork counts this
    /// long later (0: at once).
    #[serde(with = "secs")]
    pub fork_delay: Duration,
    /// `terminate_delay` (or `delay`): quorum lost by an exit counts this
    /// long later (0: at once).
    #[serde(with = "secs")]
    pub terminate_delay: Duration,
    /// `full_command` (implied by arguments or `param_match`): match the
    /// command line rather than the comm.
    pub full_command: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// A `track_process { NAME [weight W [reverse|noreverse]] }` entry of a
/// `vrrp_instance` or `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcessEntry {
    /// Name of a `vrrp_track_process` block defined before the entry.
    pub name: String,
    /// Resolved: the entry's weight (−254..254), else the block's.
    pub weight: i32,
    /// Resolved: the entry's `reverse` / `noreverse`, else the block's.
    pub reverse: bool,
    #[serde(skip)]
    pub origin: Origin,
}
