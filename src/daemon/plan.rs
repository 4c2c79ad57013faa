//! From a parsed keepalived.conf to what the daemon runs: each
//! `vrrp_instance` resolved against the kernel (interface indexes, source
//! address, VIPs as rtnetlink addresses) and grouped into units — one per
//! `vrrp_sync_group`, one per instance outside any group.
//!
//! Everything that can make the daemon unable to run is found here, before
//! a single socket is opened: a missing interface, an interface without an
//! address to send adverts from, parameters the state machine refuses.

use std::net::IpAddr;
use std::time::Duration;

use crate::net::{IfAddress, LinkInfo};
use crate::notify::script::{NotifyScripts, Script};
use crate::vrrp::Params;

use super::addrs::VipSet;

/// Why the configuration cannot be run on this machine.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{origin}: vrrp_instance {instance}: interface {ifname} does not exist")]
    NoInterface {
        origin: String,
        instance: String,
        ifname: String,
    },
    #[error(
        "{origin}: vrrp_instance {instance}: interface {ifname} has no {family} address to send adverts from; add one or set unicast_src_ip"
    )]
    NoSourceAddress {
        origin: String,
        instance: String,
        ifname: String,
        family: &'static str,
    },
    #[error("{origin}: vrrp_instance {instance}: {what}")]
    Invalid {
        origin: String,
        instance: String,
        what: String,
    },
    #[error("vrrp_sync_group {group}: member {member} is not a vrrp_instance")]
    UnknownMember { group: String, member: String },
    #[error("{0}")]
    Script(#[from] crate::notify::script::SetupError),
    #[error("cannot read the network configuration: {0}")]
    Kernel(#[from] crate::net::RtnlError),
}

/// gratuitous ARP / NA settings of one instance (keepalived names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpPlan {
    pub master_repeat: u32,
    pub lower_prio_repeat: u32,
    pub refresh: Option<Duration>,
    pub refresh_repeat: u32,
    pub garp_interval: Duration,
    pub gna_interval: Duration,
}

/// One `vrrp_instance`, resolved.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    pub name: String,
    pub params: Params,
    pub ifname: String,
    pub ifindex: u32,
    /// The source address of adverts (= `params.primary_addr`).
    pub src: IpAddr,
    /// The multicast group joined on the interface.
    pub group: IpAddr,
    /// Where adverts go: the multicast group, or every `unicast_peer`.
    pub dsts: Vec<IpAddr>,
    /// `unicast_peer`: when not empty, adverts from anyone else are dropped.
    pub unicast_peers: Vec<IpAddr>,
    pub vips: VipSet,
    /// (interface index, tracker index in `params.trackers`) for every
    /// tracked interface, the instance's own and its group's.
    pub track_links: Vec<(u32, usize)>,
    /// (vrrp_script name, tracker index) for every tracked script.
    pub track_scripts: Vec<(String, usize)>,
    pub notify: NotifyScripts,
    pub garp: GarpPlan,
    /// Where the instance was configured, for messages.
    pub origin: String,
}

/// A `vrrp_sync_group`, resolved.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    pub name: String,
    pub notify: NotifyScripts,
}

/// What one task runs: a sync group with its members, or a lone instance.
#[derive(Debug, Clone)]
pub struct UnitPlan {
    pub group: Option<GroupPlan>,
    pub instances: Vec<InstancePlan>,
}

impl UnitPlan {
    /// The name for logs: the group's, or the instance's.
    pub fn name(&self) -> &str {
        match &self.group {
            Some(g) => &g.name,
            None => self
                .instances
                .first()
                .map(|i| i.name.as_str())
                .unwrap_or(""),
        }
    }
}

/// A `vrrp_script`, for the script tracker.
#[derive(Debug, Clone)]
pub struct ScriptPlan {
    pub name: String,
    pub script: Script,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

/// The whole daemon (empty: nothing to elect).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub units: Vec<UnitPlan>,
    pub scripts: Vec<ScriptPlan>,
}

/// What the kernel says about links and addresses, read once.
pub struct Kernel {
    pub links: Vec<LinkInfo>,
    pub addresses: Vec<IfAddress>,
}

impl Kernel {
    pub fn read(rtnl: &mut crate::net::Rtnl) -> Result<Kernel, PlanError> {
        Ok(Kernel {
            links: rtnl.links()?,
            addresses: rtnl.addresses()?,
        })
    }

    pub fn link(&self, name: &str) -> Option<&LinkInfo> {
        self.links.iter().find(|l| l.name == name)
    }
}
