//! The model of `track_file` (also `vrrp_track_file`): a file whose
//! integer value the VRRP instances, sync groups and real servers that
//! track it turn into a priority or weight change, or into FAULT.
//!
//! Owns: those types and their defaults (keepalived 2.2.7's). May not:
//! read the file (the daemon does) or know what a value means (the VRRP
//! and LVS logic do).

use serde::{Deserialize, Serialize};

use super::common::Origin;

/// `track_file NAME { file PATH; weight W [reverse]; init_file [V] [overwrite] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFile {
    pub name: String,
    /// `file`: the path as written (required). The daemon resolves its
    /// directory, which must exist, and watches it.
    pub file: String,
    /// `weight` (−254..254), default 1: the multiplier of the value for
    /// every tracker that gives no weight of its own.
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `init_file`: what the daemon writes to the file at start.
    pub init_file: Option<InitFile>,
    #[serde(skip)]
    pub origin: Origin,
}

/// `init_file [VALUE] [overwrite]`: at start (not on a reload), write
/// VALUE (default 0) and a newline to the file if it does not exist, or
/// in any case with `overwrite` (a path that exists but is not a regular
/// file is left alone, with an error in the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitFile {
    pub value: i32,
    pub overwrite: bool,
}

/// A `track_file { NAME [weight W [reverse|noreverse]] }` entry of a
/// `vrrp_instance` or `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFileEntry {
    /// Name of a `track_file` block (checked to exist, and to come first,
    /// as keepalived only finds one defined earlier in the file).
    pub name: String,
    /// Resolved: the entry's weight (−254..254), else the file's. In a
    /// sync group member or an address owner keepalived allows only 0
    /// (a weight of 1 becomes 0, with a warning; another weight is
    /// refused).
    pub weight: i32,
    /// Resolved: the entry's `reverse` / `noreverse`, else the file's.
    pub reverse: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// `FILE_CHECK { track_file NAME; weight W [reverse|noreverse] }` in a
/// `real_server`: the file's value × weight is added to the real server's
/// weight; the real server is down while that is −2147483648 or below
/// (weight 0: while the value is nonzero; with reverse, while it is zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheck {
    /// The `track_file` block (defined before the virtual server).
    pub track_file: String,
    /// Resolved: the checker's weight (−2147483647..2147483647), else the
    /// file's.
    pub weight: i32,
    /// Resolved: the checker's `reverse`, else the file's.
    pub reverse: bool,
    #[serde(skip)]
    pub origin: Origin,
}
