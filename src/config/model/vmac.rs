//! The model of an instance's own interface: `use_vmac` (a macvlan with
//! the VRRP virtual MAC, RFC 5798 §7.3) or `use_ipvlan` (an L2 ipvlan),
//! and `vmac_xmit_base`.
//!
//! Owns: those types. May not: know how the interface is created (the
//! daemon does that) or which name a missing one gets on a given host.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// `use_vmac` or `use_ipvlan` on a `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vmac {
    /// The interface's name as configured; `None`: the daemon names it
    /// (`vmac_prefix`.VRID, as keepalived does).
    pub name: Option<String>,
    pub kind: VmacKind,
    /// `vmac_xmit_base`: adverts are sent and received on the base
    /// interface, not on the vmac (implied with `unicast_peer`).
    pub xmit_base: bool,
}

/// Which kind of interface carries the VIPs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmacKind {
    /// `use_vmac`: a private-mode macvlan.
    Macvlan {
        /// The MAC address given after `use_vmac` (`None`: the RFC 5798
        /// virtual MAC 00-00-5E-00-01-VRID, or 00-00-5E-00-02-VRID for
        /// IPv6). Five octets given: the sixth is the VRID, resolved here.
        mac: Option<[u8; 6]>,
    },
    /// `use_ipvlan`: an L2 ipvlan (it shares the base interface's MAC).
    Ipvlan {
        mode: IpvlanMode,
        /// The address put on the ipvlan and used as the adverts' source
        /// (required for IPv4 instances), with its prefix length.
        address: Option<(IpAddr, u8)>,
    },
}

/// `use_ipvlan ... bridge|private|vepa` (the kernel's IPVLAN_F_* flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    /// keepalived's default.
    #[default]
    Bridge,
    Private,
    Vepa,
}
