//! rtnetlink requests: add, remove and list interface addresses and routes.
//!
//! One synchronous request at a time on a `NETLINK_ROUTE` socket, each
//! acknowledged by the kernel before the next: a request takes microseconds,
//! and an explicit ack per address means a VIP reported as added really is
//! on the interface (keepalived fires its requests and reads errors later).
//!
//! Owns the request/ack `NETLINK_ROUTE` socket; may not decide which
//! addresses or routes a node should have.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteIp6Tunnel, RouteIp6TunnelFlags,
    RouteIpTunnel, RouteIpTunnelFlags, RouteLwEnCapType, RouteLwTunnelEncap, RouteMessage,
    RouteMetric, RouteMplsTtlPropagation, RouteNextHop, RouteNextHopFlags, RoutePreference,
    RouteProtocol, RouteRealm, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

pub use super::vlan::{InetConf, VlanInfo};

/// What can go wrong talking rtnetlink.
#[derive(Debug, thiserror::Error)]
pub enum RtnlError {
    #[error("cannot open a rtnetlink socket: {0}")]
    Open(#[source] std::io::Error),
    #[error("rtnetlink {op}: {source}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("rtnetlink {op}: the kernel refused: {source}")]
    Kernel {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("rtnetlink {op}: cannot decode the kernel's answer: {reason}")]
    Decode { op: &'static str, reason: String },
}

/// Address scope as `ip addr add ... scope` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    /// Parse the names `ip` and keepalived.conf accept, or a number.
    pub fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "global" | "universe" => Scope::Global,
            "site" => Scope::Site,
            "link" => Scope::Link,
            "host" => Scope::Host,
            "nowhere" => Scope::Nowhere,
            n => Scope::Other(n.parse().ok()?),
        })
    }

    fn to_u8(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    fn from_u8(n: u8) -> Scope {
        match n {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            n => Scope::Other(n),
        }
    }
}

/// One address on one interface, as `ip addr` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddress {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 only; `None` lets the kernel leave it unset, as `ip addr add` does.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 only (`eth0:vip`); the kernel requires it to start with the interface name.
    pub label: Option<String>,
    pub scope: Scope,
    /// IPv6: skip duplicate address detection, so a VIP is usable at once
    /// (keepalived sets IFA_F_NODAD on its IPv6 VIPs for the same reason).
    pub nodad: bool,
    /// The remote end of a point-to-point address (`peer`), IPv4 only.
    pub peer: Option<IpAddr>,
    /// Other `IFA_F_*` bits to set (`home`, `mngtmpaddr`, `noprefixroute`,
    /// `autojoin`),
    /// sent in IFA_FLAGS: the header's flags byte cannot carry the last two.
    pub flags: u32,
    /// IPv6: the preferred lifetime in seconds (0: deprecated), sent in
    /// IFA_CACHEINFO with an infinite valid lifetime; `None`: forever.
    pub preferred_lft: Option<u32>,
}

impl IfAddress {
    /// A host address (/32 or /128) with default scope, as keepalived adds a
    /// `virtual_ipaddress` written without a prefix.
    pub fn host(ifindex: u32, addr: IpAddr) -> IfAddress {
        IfAddress {
            ifindex,
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            broadcast: None,
            label: None,
            scope: Scope::Global,
            nodad: addr.is_ipv6(),
            peer: None,
            flags: 0,
            preferred_lft: None,
        }
    }

    fn to_message(&self) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = family_of(self.addr);
        msg.header.prefix_len = self.prefix_len;
        msg.header.scope = AddressScope::from(self.scope.to_u8());
        msg.header.index = self.ifindex;
        let mut flags = self.flags;
        if self.nodad && self.addr.is_ipv6() {
            msg.header.flags = netlink_packet_route::address::AddressHeaderFlags::Nodad;
            flags |= IFA_F_NODAD;
        }
        if flags != 0 {
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::from_bits_retain(
                    flags,
                )));
        }
        if let (Some(lft), true) = (self.preferred_lft, self.addr.is_ipv6()) {
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = lft;
            ci.ifa_valid = u32::MAX;
            msg.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        // For IPv4, IFA_LOCAL is the address itself and IFA_ADDRESS the peer
        // (the same on a non point-to-point link); IPv6 only uses IFA_ADDRESS.
        let peer = self.peer.filter(|p| p.is_ipv4() && self.addr.is_ipv4());
        msg.attributes
            .push(AddressAttribute::Address(peer.unwrap_or(self.addr)));
        if self.addr.is_ipv4() {
            msg.attributes.push(AddressAttribute::Local(self.addr));
            if let Some(brd) = self.broadcast {
                msg.attributes.push(AddressAttribute::Broadcast(brd));
            }
            if let Some(label) = &self.label {
                msg.attributes.push(AddressAttribute::Label(label.clone()));
            }
        }
        msg
    }

    fn from_message(msg: &AddressMessage) -> Option<IfAddress> {
        let mut address = None;
        let mut local = None;
        let mut broadcast = None;
        let mut label = None;
        let mut flags = u32::from(msg.header.flags.bits());
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Broadcast(b) => broadcast = Some(*b),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = f.bits(),
                _ => {}
            }
        }
        let addr = local.or(address)?;
        Some(IfAddress {
            ifindex: msg.header.index,
            addr,
            prefix_len: msg.header.prefix_len,
            broadcast,
            label,
            scope: Scope::from_u8(u8::from(msg.header.scope)),
            nodad: false,
            peer: match (local, address) {
                (Some(l), Some(a)) if l != a => Some(a),
                _ => None,
            },
            flags: flags & SETTABLE_FLAGS,
            preferred_lft: None,
        })
    }
}

/// IFA_F_NODAD (if_addr.h).
const IFA_F_NODAD: u32 = 0x02;
/// The `IfAddress::flags` bits read back from the kernel: home,
/// mngtmpaddr, noprefixroute, autojoin.
const SETTABLE_FLAGS: u32 = 0x10 | 0x100 | 0x200 | 0x400;

/// The kind of a `virtual_routes` entry (`ip route add TYPE ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteKind {
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

impl RouteKind {
    fn route_type(self) -> RouteType {
        match self {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
            RouteKind::Throw => RouteType::Throw,
            RouteKind::Local => RouteType::Local,
            RouteKind::Broadcast => RouteType::Broadcast,
            RouteKind::Anycast => RouteType::Anycast,
            RouteKind::Multicast => RouteType::Multicast,
            RouteKind::Nat => RouteType::Nat,
            RouteKind::Xresolve => RouteType::ExternalResolve,
        }
    }
}

/// How a new route goes in beside one already there with the same key
/// (destination, table, tos, metric): `ip route prepend|add|append`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddMode {
    /// NLM_F_CREATE alone, keepalived's default: before it.
    #[default]
    Prepend,
    /// NLM_F_EXCL: refused (EEXIST) if one is there.
    Add,
    /// NLM_F_APPEND: after it.
    Append,
}

/// One route, as a `virtual_routes` line describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpAddr,
    pub dst_len: u8,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    pub src: Option<IpAddr>,
    pub metric: Option<u32>,
    /// `None` is the main table.
    pub table: Option<u32>,
    pub scope: Option<Scope>,
    pub kind: RouteKind,
    /// What keepalived.conf's route options add.
    pub options: RouteOptions,
}

/// A route's less common attributes (keepalived.conf's route options).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteOptions {
    /// `rtm_tos`.
    pub tos: u8,
    /// `rtm_protocol`; `None`: `static`.
    pub protocol: Option<u8>,
    /// RTNH_F_ONLINK in `rtm_flags`.
    pub onlink: bool,
    /// RTA_FLOW: `SRC << 16 | DST`.
    pub realms: Option<u32>,
    /// RTA_PREF (IPv6 router preference bits).
    pub pref: Option<u8>,
    /// RTA_EXPIRES, seconds (IPv6).
    pub expires: Option<u32>,
    /// RTA_TTL_PROPAGATE (read by the kernel on MPLS routes only).
    pub ttl_propagate: Option<bool>,
    /// RTA_METRICS: (RTAX_* number, value).
    pub metrics: Vec<(u16, u32)>,
    /// RTAX_CC_ALGO.
    pub congctl: Option<String>,
    /// RTAX_LOCK: `1 << RTAX_*` bits.
    pub lock: u32,
    /// RTA_MULTIPATH: the paths of a multipath route (empty: one path,
    /// the route's own gateway and oif).
    pub nexthops: Vec<NextHop>,
    /// RTA_SRC and `rtm_src_len` (IPv6 source-specific routes).
    pub from: Option<(IpAddr, u8)>,
    /// RTA_ENCAP / RTA_ENCAP_TYPE.
    pub encap: Option<Encap>,
    /// The request's flags beside NLM_F_CREATE.
    pub add_mode: AddMode,
}

/// A lightweight tunnel's metadata (LWTUNNEL_ENCAP_IP or _IP6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encap {
    pub ip6: bool,
    pub id: Option<u64>,
    pub dst: Option<IpAddr>,
    pub src: Option<IpAddr>,
    /// LWTUNNEL_IP_TOS / LWTUNNEL_IP6_TC.
    pub tos: Option<u8>,
    /// LWTUNNEL_IP_TTL / LWTUNNEL_IP6_HOPLIMIT.
    pub ttl: Option<u8>,
    /// LWTUNNEL_IP_FLAGS / _IP6_FLAGS, sent in the host's byte order as
    /// keepalived 2.2.7 sends them (the kernel reads them big-endian, so
    /// this is not iproute2's `csum`/`key`/`seq`).
    pub flags: Option<u16>,
}

impl Encap {
    /// The RTA_ENCAP and RTA_ENCAP_TYPE attributes.
    fn attributes(&self) -> [RouteAttribute; 2] {
        let mut v = Vec::new();
        // The crate writes the flags big-endian: give it the value whose
        // big-endian bytes are the host's bytes of N.
        let flags = self.flags.map(|f| u16::from_be_bytes(f.to_ne_bytes()));
        if self.ip6 {
            let mut a: Vec<RouteIp6Tunnel> = Vec::new();
            a.extend(self.id.map(RouteIp6Tunnel::Id));
            a.extend(v6(self.dst).map(RouteIp6Tunnel::Destination));
            a.extend(v6(self.src).map(RouteIp6Tunnel::Source));
            a.extend(self.tos.map(RouteIp6Tunnel::Tc));
            a.extend(self.ttl.map(RouteIp6Tunnel::Hoplimit));
            a.extend(
                flags.map(|f| RouteIp6Tunnel::Flags(RouteIp6TunnelFlags::from_bits_retain(f))),
            );
            v.extend(a.into_iter().map(RouteLwTunnelEncap::Ip6));
        } else {
            let mut a: Vec<RouteIpTunnel> = Vec::new();
            a.extend(self.id.map(RouteIpTunnel::Id));
            a.extend(v4(self.dst).map(RouteIpTunnel::Destination));
            a.extend(v4(self.src).map(RouteIpTunnel::Source));
            a.extend(self.tos.map(RouteIpTunnel::Tos));
            a.extend(self.ttl.map(RouteIpTunnel::Ttl));
            a.extend(flags.map(|f| RouteIpTunnel::Flags(RouteIpTunnelFlags::from_bits_retain(f))));
            v.extend(a.into_iter().map(RouteLwTunnelEncap::Ip));
        }
        let kind = if self.ip6 {
            RouteLwEnCapType::Ip6
        } else {
            RouteLwEnCapType::Ip
        };
        [RouteAttribute::Encap(v), RouteAttribute::EncapType(kind)]
    }
}

fn v4(a: Option<IpAddr>) -> Option<Ipv4Addr> {
    match a {
        Some(IpAddr::V4(a)) => Some(a),
        _ => None,
    }
}

fn v6(a: Option<IpAddr>) -> Option<std::net::Ipv6Addr> {
    match a {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None,
    }
}

/// One path of a multipath route (a `struct rtnexthop` and its
/// attributes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NextHop {
    pub gateway: Option<IpAddr>,
    /// `rtnh_ifindex`; 0: any (the kernel finds it from the gateway).
    pub oif: u32,
    /// `rtnh_hops`: the weight minus one.
    pub hops: u8,
    /// RTNH_F_ONLINK.
    pub onlink: bool,
    /// RTA_FLOW: `SRC << 16 | DST`.
    pub realms: Option<u32>,
    /// This path's RTA_ENCAP / RTA_ENCAP_TYPE.
    pub encap: Option<Encap>,
}

impl NextHop {
    fn to_attribute(&self) -> RouteNextHop {
        let mut nh = RouteNextHop::default();
        nh.hops = self.hops;
        nh.interface_index = self.oif;
        if self.onlink {
            nh.flags = RouteNextHopFlags::Onlink;
        }
        if let Some(gw) = self.gateway {
            nh.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(r) = self.realms {
            nh.attributes.push(RouteAttribute::Realm(realm(r)));
        }
        if let Some(e) = &self.encap {
            nh.attributes.extend(e.attributes());
        }
        nh
    }
}

/// RTA_FLOW's value as the netlink crate holds it.
fn realm(r: u32) -> RouteRealm {
    RouteRealm {
        source: (r >> 16) as u16,
        destination: (r & 0xffff) as u16,
    }
}

impl RouteOptions {
    /// The RTA_METRICS attribute, if any metric is set.
    fn metrics_attribute(&self) -> Option<RouteAttribute> {
        let mut m: Vec<RouteMetric> = self
            .metrics
            .iter()
            .filter_map(|&(rtax, v)| metric(rtax, v))
            .collect();
        if let Some(cc) = &self.congctl {
            m.push(RouteMetric::CcAlgo(cc.clone()));
        }
        if m.is_empty() {
            return None;
        }
        if self.lock != 0 {
            m.push(RouteMetric::Lock(self.lock));
        }
        Some(RouteAttribute::Metrics(m))
    }
}

/// One RTAX_* value as the netlink crate names it.
fn metric(rtax: u16, v: u32) -> Option<RouteMetric> {
    Some(match rtax {
        2 => RouteMetric::Mtu(v),
        3 => RouteMetric::Window(v),
        4 => RouteMetric::Rtt(v),
        5 => RouteMetric::RttVar(v),
        6 => RouteMetric::SsThresh(v),
        7 => RouteMetric::Cwnd(v),
        8 => RouteMetric::Advmss(v),
        9 => RouteMetric::Reordering(v),
        10 => RouteMetric::Hoplimit(v),
        11 => RouteMetric::InitCwnd(v),
        12 => RouteMetric::Features(v),
        13 => RouteMetric::RtoMin(v),
        14 => RouteMetric::InitRwnd(v),
        15 => RouteMetric::QuickAck(v),
        17 => RouteMetric::FastopenNoCookie(v),
        _ => return None,
    })
}

impl Route {
    fn to_message(&self) -> RouteMessage {
        let mut msg = RouteMessage::default();
        msg.header.address_family = family_of(self.dst);
        msg.header.destination_prefix_length = self.dst_len;
        let table = self.table.unwrap_or(u32::from(RouteHeader::RT_TABLE_MAIN));
        msg.header.table = u8::try_from(table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
        msg.header.protocol = match self.options.protocol {
            Some(p) => RouteProtocol::from(p),
            None => RouteProtocol::Static,
        };
        msg.header.tos = self.options.tos;
        if self.options.onlink {
            msg.header.flags = RouteFlags::Onlink;
        }
        msg.header.kind = self.kind.route_type();
        // As `ip route` does: link scope for a route without a gateway on a
        // device, universe otherwise, unless the configuration says.
        msg.header.scope = match self.scope {
            Some(s) => RouteScope::from(s.to_u8()),
            None if self.gateway.is_none()
                && self.oif.is_some()
                && self.kind == RouteKind::Unicast =>
            {
                RouteScope::Link
            }
            None => RouteScope::Universe,
        };
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(self.dst)));
        if let Some(gw) = self.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(oif) = self.oif {
            msg.attributes.push(RouteAttribute::Oif(oif));
        }
        if let Some(src) = self.src {
            msg.attributes
                .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        if let Some(metric) = self.metric {
            msg.attributes.push(RouteAttribute::Priority(metric));
        }
        if table > 255 {
            msg.attributes.push(RouteAttribute::Table(table));
        }
        let o = &self.options;
        if let Some(r) = o.realms {
            msg.attributes.push(RouteAttribute::Realm(realm(r)));
        }
        if !o.nexthops.is_empty() {
            let hops = o.nexthops.iter().map(NextHop::to_attribute).collect();
            msg.attributes.push(RouteAttribute::MultiPath(hops));
        }
        if let Some((from, len)) = o.from {
            msg.header.source_prefix_length = len;
            msg.attributes
                .push(RouteAttribute::Source(RouteAddress::from(from)));
        }
        if let Some(e) = &o.encap {
            msg.attributes.extend(e.attributes());
        }
        if let Some(p) = o.pref {
            msg.attributes
                .push(RouteAttribute::Preference(RoutePreference::from(p)));
        }
        if let Some(e) = o.expires {
            msg.attributes.push(RouteAttribute::Expires(e));
        }
        if let Some(t) = o.ttl_propagate {
            msg.attributes
                .push(RouteAttribute::TtlPropagate(RouteMplsTtlPropagation::from(
                    u8::from(t),
                )));
        }
        msg.attributes.extend(o.metrics_attribute());
        msg
    }
}

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// `IFF_UP` and `IFF_RUNNING`: administratively up with carrier, the
    /// test keepalived uses for `track_interface`.
    pub running: bool,
    pub mac: Option<[u8; 6]>,
    /// What the link is, when it is a macvlan or an ipvlan (how a vmac
    /// left by an earlier run is recognised).
    pub vlan: Option<VlanInfo>,
    /// `IFLA_LINK`: the link it is stacked on (a macvlan's base).
    pub parent: Option<u32>,
    /// `IFLA_GROUP`.
    pub group: u32,
    /// The IPv4 settings a vmac changes on its base, as they are now.
    pub inet_conf: Option<InetConf>,
}

impl LinkInfo {
    pub(crate) fn from_message(msg: &LinkMessage) -> LinkInfo {
        let flags = msg.header.flags;
        let mut info = LinkInfo {
            index: msg.header.index,
            running: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
            ..LinkInfo::default()
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => info.name = n.clone(),
                LinkAttribute::Address(a) => {
                    if let Ok(m) = <[u8; 6]>::try_from(a.as_slice()) {
                        info.mac = Some(m);
                    }
                }
                LinkAttribute::Link(p) => info.parent = Some(*p),
                LinkAttribute::Group(g) => info.group = *g,
                LinkAttribute::LinkInfo(infos) => info.vlan = super::vlan::vlan_info(infos),
                LinkAttribute::AfSpecUnspec(spec) => info.inet_conf = super::vlan::inet_conf(spec),
                _ => {}
            }
        }
        info
    }
}

fn family_of(addr: IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// A synchronous rtnetlink connection.
pub struct Rtnl {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// The errno the kernel answers when the address being added exists.
const EEXIST: i32 = libc::EEXIST;
/// The errnos the kernel answers when the address or route being removed is absent.
const ABSENT: [i32; 3] = [libc::EADDRNOTAVAIL, libc::ESRCH, libc::ENOENT];

impl Rtnl {
    pub fn new() -> Result<Rtnl, RtnlError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(RtnlError::Open)?;
        socket.bind_auto().map_err(RtnlError::Open)?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(RtnlError::Open)?;
        super::netlink_bufs::apply(
            super::netlink_bufs::Kind::Command,
            std::os::fd::AsRawFd::as_raw_fd(&socket),
            None,
        );
        // The kernel answers at once; a bound on the wait keeps a lost
        // answer from hanging the caller forever (it becomes an error).
        let timeout = libc::timeval {
            tv_sec: 5,
            tv_usec: 0,
        };
        // SAFETY: `timeout` outlives the call; the length matches its type.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&socket),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(RtnlError::Open(std::io::Error::last_os_error()));
        }
        Ok(Rtnl {
            socket,
            seq: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Send one request and collect the answers until the ack (or the end of a dump).
    pub(super) fn request(
        &mut self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, RtnlError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        self.socket
            .send(&out, 0)
            .map_err(|source| RtnlError::Io { op, source })?;

        let mut answers = Vec::new();
        loop {
            self.buf.clear();
            let n = self
                .socket
                .recv(&mut self.buf, 0)
                .map_err(|source| RtnlError::Io { op, source })?
                .min(self.buf.len());
            let mut offset = 0;
            while offset < n {
                let bytes = &self.buf[offset..n];
                let reply =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).map_err(|e| {
                        RtnlError::Decode {
                            op,
                            reason: e.to_string(),
                        }
                    })?;
                let len = reply.header.length as usize;
                if len == 0 {
                    return Err(RtnlError::Decode {
                        op,
                        reason: "zero-length message".into(),
                    });
                }
                offset += (len + 3) & !3;
                if reply.header.sequence_number != seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(answers),
                        Some(_) => {
                            return Err(RtnlError::Kernel {
                                op,
                                source: e.to_io(),
                            });
                        }
                    },
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::InnerMessage(m) => answers.push(m),
                    _ => {}
                }
            }
        }
    }

    /// Add an address. `Ok(false)` when it was already there.
    pub fn add_address(&mut self, a: &IfAddress) -> Result<bool, RtnlError> {
        let msg = RouteNetlinkMessage::NewAddress(a.to_message());
        match self.request("add address", msg, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL) {
            Ok(_) => Ok(true),
            Err(RtnlError::Kernel { source, .. }) if source.raw_os_error() == Some(EEXIST) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Remove an address. `Ok(false)` when it was not there.
    ///
    /// The kernel matches a deletion on every attribute given; only the
    /// address and prefix length are sent, so an address is found whatever
    /// label or broadcast it was added with.
    pub fn del_address(&mut self, a: &IfAddress) -> Result<bool, RtnlError> {
        let mut m = a.to_message();
        m.attributes.retain(|attr| {
            matches!(
                attr,
                AddressAttribute::Address(_) | AddressAttribute::Local(_)
            )
        });
        let msg = RouteNetlinkMessage::DelAddress(m);
        match self.request("remove address", msg, NLM_F_ACK) {
            Ok(_) => Ok(true),
            Err(RtnlError::Kernel { source, .. })
                if source.raw_os_error().is_some_and(|e| ABSENT.contains(&e)) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Every address of the namespace (both families).
    pub fn addresses(&mut self) -> Result<Vec<IfAddress>, RtnlError> {
        let msg = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        let answers = self.request("list addresses", msg, NLM_F_DUMP)?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => IfAddress::from_message(a),
                _ => None,
            })
            .collect())
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, RtnlError> {
        let msg = RouteNetlinkMessage::GetLink(LinkMessage::default());
        let answers = self.request("list links", msg, NLM_F_DUMP)?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(LinkInfo::from_message(l)),
                _ => None,
            })
            .collect())
    }

    /// One link by index.
    pub fn link(&mut self, index: u32) -> Result<Option<LinkInfo>, RtnlError> {
        Ok(self.links()?.into_iter().find(|l| l.index == index))
    }

    /// Add a route. `Ok(false)` when it was already there.
    pub fn add_route(&mut self, r: &Route) -> Result<bool, RtnlError> {
        let msg = RouteNetlinkMessage::NewRoute(r.to_message());
        let mode = match r.options.add_mode {
            AddMode::Prepend => 0,
            AddMode::Add => NLM_F_EXCL,
            AddMode::Append => NLM_F_APPEND,
        };
        // EEXIST: this very route is there (prepend, append), or one with
        // its key (add): keepalived takes either as done.
        match self.request("add route", msg, NLM_F_ACK | NLM_F_CREATE | mode) {
            Ok(_) => Ok(true),
            Err(RtnlError::Kernel { source, .. }) if source.raw_os_error() == Some(EEXIST) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Remove a route. `Ok(false)` when it was not there.
    pub fn del_route(&mut self, r: &Route) -> Result<bool, RtnlError> {
        let mut m = r.to_message();
        // The kernel matches a deletion on the fields given; a scope of
        // "nowhere" means "any scope".
        m.header.scope = RouteScope::NoWhere;
        let msg = RouteNetlinkMessage::DelRoute(m);
        match self.request("remove route", msg, NLM_F_ACK) {
            Ok(_) => Ok(true),
            Err(RtnlError::Kernel { source, .. })
                if source.raw_os_error().is_some_and(|e| ABSENT.contains(&e)) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(ttl_propagate: Option<bool>) -> Route {
        Route {
            dst: "192.0.2.0".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            dst_len: 24,
            gateway: None,
            oif: Some(2),
            src: None,
            metric: None,
            table: None,
            scope: None,
            kind: RouteKind::Unicast,
            options: RouteOptions {
                ttl_propagate,
                ..RouteOptions::default()
            },
        }
    }

    /// `ttl-propagate` is sent as keepalived sends it: RTA_TTL_PROPAGATE,
    /// 1 for enabled, 0 for disabled, absent when not written (the kernel
    /// reads it on MPLS routes only, so no `ip route` shows it back).
    #[test]
    fn ttl_propagate_is_sent_as_keepalived_sends_it() {
        let ttl = |r: Route| -> Vec<u8> {
            r.to_message()
                .attributes
                .iter()
                .filter_map(|a| match a {
                    RouteAttribute::TtlPropagate(v) => Some(u8::from(*v)),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(ttl(route(Some(true))), [1]);
        assert_eq!(ttl(route(Some(false))), [0]);
        assert!(ttl(route(None)).is_empty());
    }

    /// `encap ip ... flags N`: RTA_ENCAP nests the LWTUNNEL_IP_* values
    /// (id big-endian, as the kernel reads it) and RTA_ENCAP_TYPE follows;
    /// the flags go in the host's byte order, as keepalived 2.2.7 puts
    /// them (`rta_addattr16`).
    #[test]
    fn encap_is_sent_as_keepalived_sends_it() {
        use netlink_packet_core::Emitable;
        let mut r = route(None);
        r.options.encap = Some(Encap {
            id: Some(42),
            dst: Some(IpAddr::from([192, 0, 2, 50])),
            ttl: Some(9),
            flags: Some(1),
            ..Encap::default()
        });
        let attrs: Vec<RouteAttribute> = r
            .to_message()
            .attributes
            .into_iter()
            .filter(|a| matches!(a, RouteAttribute::Encap(_) | RouteAttribute::EncapType(_)))
            .collect();
        let mut buf = vec![0; attrs.as_slice().buffer_len()];
        attrs.as_slice().emit(&mut buf);
        let mut want = vec![40, 0, 22, 0]; // RTA_ENCAP, 4 + 36 bytes
        want.extend([12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 42]); // LWTUNNEL_IP_ID
        want.extend([8, 0, 2, 0, 192, 0, 2, 50]); // LWTUNNEL_IP_DST
        want.extend([5, 0, 4, 0, 9, 0, 0, 0]); // LWTUNNEL_IP_TTL
        want.extend([6, 0, 6, 0]); // LWTUNNEL_IP_FLAGS
        want.extend(1u16.to_ne_bytes());
        want.extend([0, 0]);
        want.extend([6, 0, 21, 0, 2, 0, 0, 0]); // RTA_ENCAP_TYPE: LWTUNNEL_ENCAP_IP
        assert_eq!(buf, want);
    }
}
