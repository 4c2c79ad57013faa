//! The model of the addresses and routes a VRRP master holds:
//! `virtual_ipaddress`, `virtual_ipaddress_excluded` and `virtual_routes`.
//!
//! Owns: those entries and their prefix and scope. May not: depend on
//! the other model files.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// An address with a prefix length, e.g. `192.0.2.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpPrefix {
    pub address: IpAddr,
    pub prefix_len: u8,
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// The `scope` of an address or route (`ip address add ... scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

impl Scope {
    /// The `RT_SCOPE_*` value from rtnetlink.h.
    pub fn rt_scope(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
        }
    }
}

/// One `virtual_ipaddress` line:
/// `IP[/LEN] [brd IP] [dev IF] [scope S] [label L] [peer IP] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualIpAddress {
    pub address: IpAddr,
    /// Default /32 for IPv4, /128 for IPv6.
    pub prefix_len: u8,
    pub brd: Option<IpAddr>,
    /// `dev`; `None`: the instance's `interface`.
    pub dev: Option<String>,
    /// `scope`; `None`: global.
    pub scope: Option<Scope>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    /// `no_track`: losing this address does not take the instance out of
    /// MASTER.
    pub no_track: bool,
    /// The `IFA_F_*` flags written on the line (`home`, `mngtmpaddr`,
    /// `noprefixroute`), given to the kernel as they are.
    pub flags: AddressFlags,
    /// `-nodad`: an IPv6 address goes through duplicate address detection.
    /// Without it keepalived (and tandem) add every IPv6 address with
    /// IFA_F_NODAD, so a VIP is usable at once.
    pub dad: bool,
    /// IPv6: the preferred lifetime in seconds, `None` for forever (no
    /// IFA_CACHEINFO sent). keepalived's default: 0 (deprecated, so never
    /// chosen as a source address) for a /128, forever otherwise.
    pub preferred_lft: Option<u32>,
}

/// Address flags keepalived.conf can ask for (`ip address add` words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressFlags {
    /// `home`: IFA_F_HOMEADDRESS (Mobile IPv6 home address).
    pub home: bool,
    /// `mngtmpaddr`: IFA_F_MANAGETEMPADDR (the kernel makes temporary
    /// privacy addresses from this /64).
    pub mngtmpaddr: bool,
    /// `noprefixroute`: IFA_F_NOPREFIXROUTE (no route for the prefix is
    /// added with the address).
    pub noprefixroute: bool,
}

impl AddressFlags {
    /// The `IFA_F_*` bits (if_addr.h).
    pub fn bits(self) -> u32 {
        let mut b = 0;
        if self.home {
            b |= 0x10;
        }
        if self.mngtmpaddr {
            b |= 0x100;
        }
        if self.noprefixroute {
            b |= 0x200;
        }
        b
    }
}

/// The kind of a `virtual_routes` entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteType {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

/// One `virtual_routes` line:
/// `[src IP] [to] DEST [via|gw IP] [dev IF] [scope S] [table N] [metric N]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualRoute {
    pub route_type: RouteType,
    pub destination: IpPrefix,
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub scope: Option<Scope>,
    /// Routing table; `None`: main.
    pub table: Option<u32>,
    pub metric: Option<u32>,
    pub no_track: bool,
}
