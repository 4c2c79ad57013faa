//! The virtual-server configuration the logic needs.
//!
//! Small, IO-free value types: the configuration model is mapped into them
//! once at start-up ([`super::build`](mod@super::build)). The IPVS parts (service settings,
//! forwarding method) are the reconciler's own types from
//! [`crate::ipvs::types`], so the desired table needs no translation.

use std::net::SocketAddr;

use crate::check::CheckerId;
use crate::ipvs::types::{Forward, Service};
use crate::notify::script::Script;

/// One `virtual_server` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerSpec {
    /// The IPVS services: one, or one per address (and fwmark) of a
    /// `virtual_server_group`; they all get the same destinations.
    pub services: Vec<Service>,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<Script>,
    /// `quorum_down` script.
    pub quorum_down: Option<Script>,
    /// `sorry_server` with `sorry_server_inhibit` / `sorry_server_lvs_method`.
    pub sorry_server: Option<SorryServer>,
    /// `omega`: run down notifiers at shutdown.
    pub omega: bool,
    pub real_servers: Vec<RealServerSpec>,
}

/// One `real_server` block, with its checkers already registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerSpec {
    pub addr: SocketAddr,
    /// `weight` (default 1).
    pub weight: u32,
    /// `inhibit_on_failure`: keep a dead server at weight 0 instead of
    /// removing it, so its established connections are not cut.
    pub inhibit_on_failure: bool,
    /// `lvs_method`.
    pub forward: Forward,
    /// `uthreshold` / `lthreshold` (0 = none).
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    /// The checkers (deduplicated ids from `check::CheckRunner`).
    pub checkers: Vec<CheckerId>,
    /// `FILE_CHECK`: the real server follows these track files too.
    pub file_checks: Vec<FileCheckSpec>,
}

/// One `FILE_CHECK` of a real server: a `track_file`'s value, times the
/// weight, added to the real server's weight (keepalived 2.2.7,
/// `check_file.c`, `track_file.c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheckSpec {
    /// The `track_file` block's name.
    pub track_file: String,
    /// −2147483647..=2147483647; 0: a nonzero value puts the real server
    /// down.
    pub weight: i32,
    /// Negate the product (weight 0: a zero value is the failure).
    pub reverse: bool,
}

/// What a file's value does to the real server that checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileCheckEffect {
    /// The checker fails: the real server is down.
    Down,
    /// The checker passes, adding this to the real server's weight.
    Weight(i64),
}

impl FileCheckSpec {
    /// keepalived: value × weight (negated with reverse), held in an
    /// `int`; the smallest `int` (−2147483648) or less is the failure.
    /// Weight 0: any nonzero value fails (with reverse, zero does).
    pub fn effect(&self, value: i64) -> FileCheckEffect {
        if self.weight == 0 {
            return if (value != 0) != self.reverse {
                FileCheckEffect::Down
            } else {
                FileCheckEffect::Weight(0)
            };
        }
        let sign = if self.reverse { -1 } else { 1 };
        let product = i128::from(value) * i128::from(self.weight) * sign;
        if product <= i128::from(i32::MIN) {
            FileCheckEffect::Down
        } else {
            // In i32 range after the check and the cap.
            FileCheckEffect::Weight(product.min(i128::from(i32::MAX)) as i64)
        }
    }
}

/// `sorry_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryServer {
    pub addr: SocketAddr,
    /// The weight while it serves (keepalived uses 1).
    pub weight: u32,
    /// `sorry_server_inhibit`: keep it at weight 0 while quorum holds.
    pub inhibit: bool,
    /// `sorry_server_lvs_method`.
    pub forward: Forward,
}
