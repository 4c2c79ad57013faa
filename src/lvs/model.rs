//! The virtual-server configuration the logic needs, and the table it emits.
//!
//! These are deliberately small, IO-free value types: the configuration
//! model is mapped into them once at start-up (see `lvs::build`), and the
//! desired table is mapped into the IPVS reconciler's types by the daemon.

use std::net::SocketAddr;

use crate::check::CheckerId;

/// `protocol TCP|UDP|SCTP` of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

/// How IPVS identifies the service (ip_vs.h: addr/port/protocol or fwmark).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    Addr {
        addr: SocketAddr,
        protocol: Protocol,
    },
    Fwmark {
        mark: u32,
        ipv6: bool,
    },
}

impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKey::Addr { addr, protocol } => write!(f, "{protocol:?} {addr}"),
            ServiceKey::Fwmark { mark, .. } => write!(f, "fwmark {mark}"),
        }
    }
}

/// The service-level attributes that go to IPVS unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceSpec {
    pub key: ServiceKey,
    /// `lvs_sched` / `lb_algo` (IPVS scheduler name: rr, wlc, ...).
    pub scheduler: String,
    /// `persistence_timeout` in seconds (IP_VS_SVC_F_PERSISTENT when set).
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity` as a prefix length (255.255.255.0 → 24).
    pub persistence_granularity: Option<u8>,
    /// `ops`: one-packet scheduling (UDP).
    pub ops: bool,
}

/// `lvs_method` of a real or sorry server (ip_vs.h IP_VS_CONN_F_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Forward {
    #[default]
    Nat,
    DirectRoute,
    Tunnel,
}

/// One `virtual_server` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerSpec {
    /// The IPVS services: one, or one per address (and fwmark) of a
    /// `virtual_server_group`; they all get the same destinations.
    pub services: Vec<ServiceSpec>,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<String>,
    /// `quorum_down` script.
    pub quorum_down: Option<String>,
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
    pub forward: Forward,
    /// `uthreshold` / `lthreshold` (0 = none).
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
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
    pub forward: Forward,
}

/// One destination of the desired table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredDestination {
    pub addr: SocketAddr,
    pub weight: u32,
    pub forward: Forward,
    pub u_threshold: u32,
    pub l_threshold: u32,
}

/// One service of the desired table with all its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    pub service: ServiceSpec,
    pub destinations: Vec<DesiredDestination>,
}

impl DesiredService {
    /// The weight of the destination at `addr`, if present.
    pub fn weight_of(&self, addr: SocketAddr) -> Option<u32> {
        self.destinations
            .iter()
            .find(|d| d.addr == addr)
            .map(|d| d.weight)
    }
}
