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
