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
    /// `noprefixroute`, `autojoin`), given to the kernel as they are.
    pub flags: AddressFlags,
    /// `-nodad`: an IPv6 address goes through duplicate address detection.
    /// Without it keepalived (and tandem) add every IPv6 address with
    /// IFA_F_NODAD, so a VIP is usable at once.
    pub dad: bool,
    /// IPv6: the preferred lifetime in seconds, `None` for forever (no
    /// IFA_CACHEINFO sent). keepalived's default: 0 (deprecated, so never
    /// chosen as a source address) for a /128, forever otherwise.
    pub preferred_lft: Option<u32>,
    /// `track_group NAME` (static addresses only): the instances of that
    /// top-level `track_group` track the address's interface.
    #[serde(default)]
    pub track_group: Option<String>,
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
    /// `autojoin`: IFA_F_MCAUTOJOIN (the kernel joins the multicast group
    /// of a multicast address, and leaves it when the address goes; an
    /// IPv6 multicast address is refused without it).
    #[serde(default)]
    pub autojoin: bool,
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
        if self.autojoin {
            b |= 0x400;
        }
        b
    }
}

/// The kind of a `virtual_routes` entry (`rtm_type`), written before the
/// destination as in `ip route add TYPE PREFIX`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteType {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Nat,
    Xresolve,
}

impl RouteType {
    /// keepalived's (and iproute2's) names, `brd` being `broadcast`.
    pub fn from_word(w: &str) -> Option<RouteType> {
        Some(match w {
            "unicast" => RouteType::Unicast,
            "blackhole" => RouteType::Blackhole,
            "unreachable" => RouteType::Unreachable,
            "prohibit" => RouteType::Prohibit,
            "throw" => RouteType::Throw,
            "local" => RouteType::Local,
            "broadcast" | "brd" => RouteType::Broadcast,
            "anycast" => RouteType::Anycast,
            "multicast" => RouteType::Multicast,
            "nat" => RouteType::Nat,
            "xresolve" => RouteType::Xresolve,
            _ => return None,
        })
    }
}

/// How a route goes in beside one of the same destination, table, tos and
/// metric already there (keepalived's `add`, `prepend`, `append`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteAddMode {
    /// keepalived's default (NLM_F_CREATE): before the route there.
    #[default]
    Prepend,
    /// `add` (NLM_F_EXCL): not at all if one is there.
    Add,
    /// `append` (NLM_F_APPEND): after it (IPv6: another path of it).
    Append,
}

/// `encap ip|ip6 [id N] [dst IP] [src IP] [tos|tc N] [ttl|hoplimit N]
/// [flags N]`: a lightweight tunnel's metadata for the route
/// (RTA_ENCAP, LWTUNNEL_ENCAP_IP / _IP6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEncap {
    /// `ip6` rather than `ip`.
    pub ip6: bool,
    pub id: Option<u64>,
    pub dst: Option<IpAddr>,
    pub src: Option<IpAddr>,
    /// `tos` (ip) / `tc` (ip6).
    pub tos: Option<u8>,
    /// `ttl` (ip) / `hoplimit` (ip6).
    pub ttl: Option<u8>,
    pub flags: Option<u16>,
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
    /// `tos` / `dsfield N` (the header's TOS byte; IPv4).
    pub tos: Option<u8>,
    /// `protocol N`: only with `no_track`; `None` is keepalived's own,
    /// 18 (`proto keepalived`), which every route gets otherwise.
    pub protocol: Option<u8>,
    /// `onlink`: RTNH_F_ONLINK (the gateway is on the link even if no
    /// address says so).
    pub onlink: bool,
    /// `realms [SRC/]DST` (RTA_FLOW; IPv4): `SRC << 16 | DST`.
    pub realms: Option<u32>,
    /// `pref low|medium|high|N` (RTA_PREF; IPv6): the ICMPv6 router
    /// preference bits.
    pub pref: Option<u8>,
    /// `expires N` (RTA_EXPIRES, seconds; IPv6).
    pub expires: Option<u32>,
    /// `ttl-propagate enabled|disabled` (RTA_TTL_PROPAGATE). The kernel
    /// reads it on MPLS routes only and ignores it on IPv4/IPv6 ones, as
    /// for keepalived, which sends it all the same.
    #[serde(default)]
    pub ttl_propagate: Option<bool>,
    /// `track_group NAME` (static routes only): the instances of that
    /// `track_group` track the route's interface.
    #[serde(default)]
    pub track_group: Option<String>,
    /// The RTA_METRICS values (`mtu`, `advmss`, `rtt`, ...), as written.
    pub metrics: Vec<RouteMetric>,
    /// `lock` before a metric's value: `1 << RTAX_*` bits (RTAX_LOCK).
    pub lock: u32,
    /// `nexthop ...` (several), or `via A or B`: a multipath route
    /// (RTA_MULTIPATH); empty for a route with one path.
    #[serde(default)]
    pub nexthops: Vec<Nexthop>,
    /// `from PREFIX` (IPv6): a source-specific route (RTA_SRC).
    #[serde(default)]
    pub from: Option<IpPrefix>,
    /// `add` / `prepend` / `append`.
    #[serde(default)]
    pub add_mode: RouteAddMode,
    /// `encap ...` of the route.
    #[serde(default)]
    pub encap: Option<RouteEncap>,
}

/// One `nexthop [via IP] [dev IF] [weight N] [onlink] [realms R]` of a
/// multipath route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nexthop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// `weight 1..256` as written; the kernel gets `weight - 1`
    /// (rtnh_hops); `None`: the kernel's 1.
    pub weight: Option<u16>,
    /// RTNH_F_ONLINK on this hop.
    pub onlink: bool,
    /// RTA_FLOW of this hop: `SRC << 16 | DST` (IPv4).
    pub realms: Option<u32>,
    /// `encap ...` of this hop.
    #[serde(default)]
    pub encap: Option<RouteEncap>,
}

/// One metric of a route (`ip route add ... mtu N` and the like); the
/// values are the kernel's units (rtt in 1/8 ms, rttvar in 1/4 ms, rto_min
/// in ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMetric {
    Mtu(u32),
    Window(u32),
    Rtt(u32),
    Rttvar(u32),
    Ssthresh(u32),
    Cwnd(u32),
    Advmss(u32),
    Reordering(u32),
    Hoplimit(u32),
    Initcwnd(u32),
    /// `features ecn`: RTAX_FEATURE_ECN.
    Features(u32),
    RtoMin(u32),
    Initrwnd(u32),
    Quickack(u32),
    /// `congctl NAME`: the TCP congestion control algorithm.
    Congctl(String),
    FastopenNoCookie(u32),
}

impl RouteMetric {
    /// The RTAX_* number (rtnetlink.h), also its bit in `lock`.
    pub fn rtax(&self) -> u16 {
        match self {
            RouteMetric::Mtu(_) => 2,
            RouteMetric::Window(_) => 3,
            RouteMetric::Rtt(_) => 4,
            RouteMetric::Rttvar(_) => 5,
            RouteMetric::Ssthresh(_) => 6,
            RouteMetric::Cwnd(_) => 7,
            RouteMetric::Advmss(_) => 8,
            RouteMetric::Reordering(_) => 9,
            RouteMetric::Hoplimit(_) => 10,
            RouteMetric::Initcwnd(_) => 11,
            RouteMetric::Features(_) => 12,
            RouteMetric::RtoMin(_) => 13,
            RouteMetric::Initrwnd(_) => 14,
            RouteMetric::Quickack(_) => 15,
            RouteMetric::Congctl(_) => 16,
            RouteMetric::FastopenNoCookie(_) => 17,
        }
    }
}
