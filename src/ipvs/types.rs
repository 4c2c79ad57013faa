//! The IPVS table as tandem sees it: virtual services, their destinations
//! (real servers), and the kernel-wide settings around them.
//!
//! Names follow `include/uapi/linux/ip_vs.h` (service, destination,
//! scheduler, forwarding method, thresholds) so that a reader can put this
//! file beside the header. These types are plain data: the wire encoding is
//! in [`super::message`], the diff in [`super::reconcile`].
//!
//! Owns the table vocabulary; no I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `AF_INET` as the kernel numbers it (the IPVS attributes carry it as u16).
pub const AF_INET: u16 = libc::AF_INET as u16;
/// `AF_INET6` as the kernel numbers it.
pub const AF_INET6: u16 = libc::AF_INET6 as u16;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The `AF_*` number carried in `IPVS_SVC_ATTR_AF` / `IPVS_DEST_ATTR_ADDR_FAMILY`.
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }

    pub fn from_af(af: u16) -> Option<Self> {
        match af {
            AF_INET => Some(Family::Inet),
            AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of an address-based virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The IP protocol number carried in `IPVS_SVC_ATTR_PROTOCOL`.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
        }
    }

    pub fn from_number(n: u16) -> Option<Self> {
        match i32::from(n) {
            libc::IPPROTO_TCP => Some(Protocol::Tcp),
            libc::IPPROTO_UDP => Some(Protocol::Udp),
            libc::IPPROTO_SCTP => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

/// What identifies a virtual service in the kernel: either
/// `<protocol, address, port>` or `<family, firewall mark>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKey {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        family: Family,
        fwmark: u32,
    },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// The notation `ipvsadm -Ln` uses: `TCP 192.0.2.1:80`, `TCP [2001:db8::1]:80`, `FWM 7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "{protocol} {}", SockAddr(*addr, *port)),
            ServiceKey::Fwmark { family, fwmark } => match family {
                Family::Inet => write!(f, "FWM {fwmark}"),
                Family::Inet6 => write!(f, "FWM {fwmark} IPv6"),
            },
        }
    }
}

/// Why a service written on the command line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a virtual service: write it as ipvsadm -Ln lists it, \
     e.g. \"TCP 192.0.2.10:80\", \"UDP [2001:db8::10]:53\", \"FWM 7\" or \"FWM 7 IPv6\""
)]
pub struct ServiceKeyError(pub String);

impl FromStr for ServiceKey {
    type Err = ServiceKeyError;

    /// The notation [`ServiceKey`]'s `Display` writes (and `ipvsadm -Ln`
    /// lists), protocol names in any case: `TCP 192.0.2.10:80`,
    /// `SCTP [2001:db8::10]:80`, `FWM 7`, `FWM 7 IPv6`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ServiceKeyError(s.to_owned());
        let words: Vec<&str> = s.split_whitespace().collect();
        let (kind, rest) = words.split_first().ok_or_else(bad)?;
        let protocol = match kind.to_ascii_uppercase().as_str() {
            "FWM" => {
                let (fwmark, family) = match rest {
                    [m] => (m, Family::Inet),
                    [m, v6] if v6.eq_ignore_ascii_case("ipv6") => (m, Family::Inet6),
                    _ => return Err(bad()),
                };
                let fwmark = fwmark.parse().map_err(|_| bad())?;
                return Ok(ServiceKey::Fwmark { family, fwmark });
            }
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            "SCTP" => Protocol::Sctp,
            _ => return Err(bad()),
        };
        let [sock] = rest else {
            return Err(bad());
        };
        let sock: std::net::SocketAddr = sock.parse().map_err(|_| bad())?;
        Ok(ServiceKey::Addr {
            protocol,
            addr: sock.ip(),
            port: sock.port(),
        })
    }
}

/// `addr:port` with IPv6 in brackets, as ipvsadm prints it.
pub struct SockAddr(pub IpAddr, pub u16);

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

/// A scheduler ("lb_algo"), by the name the kernel registers it under.
///
/// The names tandem knows are checked when a configuration is read; a dump
/// from the kernel may name one tandem does not know (a newer kernel), which
/// is kept as [`Scheduler::Other`] rather than refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Mh,
    Sed,
    Nq,
    Fo,
    Ovf,
    /// A name not in the list above, kept verbatim.
    Other(String),
}

impl Scheduler {
    /// Every scheduler name tandem accepts in a configuration.
    pub const KNOWN: [&'static str; 13] = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "fo", "ovf",
    ];

    pub fn name(&self) -> &str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Other(s) => s,
        }
    }

    /// The known scheduler of that name, or `None`.
    pub fn known(name: &str) -> Option<Self> {
        Some(match name {
            "rr" => Scheduler::Rr,
            "wrr" => Scheduler::Wrr,
            "lc" => Scheduler::Lc,
            "wlc" => Scheduler::Wlc,
            "lblc" => Scheduler::Lblc,
            "lblcr" => Scheduler::Lblcr,
            "dh" => Scheduler::Dh,
            "sh" => Scheduler::Sh,
            "mh" => Scheduler::Mh,
            "sed" => Scheduler::Sed,
            "nq" => Scheduler::Nq,
            "fo" => Scheduler::Fo,
            "ovf" => Scheduler::Ovf,
            _ => return None,
        })
    }
}

impl From<String> for Scheduler {
    fn from(s: String) -> Self {
        Scheduler::known(&s).unwrap_or(Scheduler::Other(s))
    }
}

impl From<Scheduler> for String {
    fn from(s: Scheduler) -> Self {
        s.name().to_owned()
    }
}

impl FromStr for Scheduler {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Scheduler::from(s.to_owned()))
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Virtual service flags (`IP_VS_SVC_F_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// `IP_VS_SVC_F_PERSISTENT`: a client sticks to one destination for `timeout`.
    pub const PERSISTENT: u32 = 0x0001;
    /// `IP_VS_SVC_F_HASHED`: kernel-internal, never sent and masked off dumps.
    pub const HASHED: u32 = 0x0002;
    /// `IP_VS_SVC_F_ONEPACKET`: schedule each UDP datagram on its own.
    pub const ONEPACKET: u32 = 0x0004;
    /// `IP_VS_SVC_F_SCHED1`: sh-fallback / mh-fallback.
    pub const SCHED1: u32 = 0x0008;
    /// `IP_VS_SVC_F_SCHED2`: sh-port / mh-port.
    pub const SCHED2: u32 = 0x0010;
    /// `IP_VS_SVC_F_SCHED3`: reserved for schedulers.
    pub const SCHED3: u32 = 0x0020;

    pub fn has(self, flag: u32) -> bool {
        self.0 & flag != 0
    }

    /// The flags as the kernel keeps them for comparison (without HASHED).
    pub fn user(self) -> Self {
        ServiceFlags(self.0 & !Self::HASHED)
    }

    /// Names as ipvsadm prints them (`persistent`, `ops`, `flag-1`, ...).
    pub fn names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (bit, name) in [
            (Self::PERSISTENT, "persistent"),
            (Self::ONEPACKET, "ops"),
            (Self::SCHED1, "flag-1"),
            (Self::SCHED2, "flag-2"),
            (Self::SCHED3, "flag-3"),
        ] {
            if self.has(bit) {
                v.push(name);
            }
        }
        v
    }
}

/// The persistence granularity (`IPVS_SVC_ATTR_NETMASK`), whose meaning
/// depends on the family: an IPv4 netmask (`__be32`, network order) or an
/// IPv6 prefix length (a plain number in host order, 1..=128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Netmask {
    V4(Ipv4Addr),
    V6(u8),
}

impl Netmask {
    /// The default: one client address (255.255.255.255 or /128).
    pub fn host(family: Family) -> Self {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::V6(128),
        }
    }

    /// The four attribute bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        match self {
            Netmask::V4(a) => a.octets(),
            Netmask::V6(p) => u32::from(p).to_ne_bytes(),
        }
    }

    /// Read the four attribute bytes for a service of `family`.
    pub fn from_bytes(family: Family, b: [u8; 4]) -> Self {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::from(b)),
            // An IPv6 prefix length never exceeds 128: a larger value (from
            // a broken kernel) reads as 128, the whole address, rather
            // than wrapping into the u8.
            Family::Inet6 => Netmask::V6(u32::from_ne_bytes(b).min(128) as u8),
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(a) => write!(f, "{a}"),
            Netmask::V6(p) => write!(f, "{p}"),
        }
    }
}

/// A virtual service and its settings (without destinations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    #[serde(default)]
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (`persistence_timeout`).
    #[serde(default)]
    pub timeout: u32,
    pub netmask: Netmask,
    /// Persistence engine (`persistence_engine`, e.g. "sip").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with the kernel's defaults: no persistence, host netmask.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Self {
        Service {
            netmask: Netmask::host(key.family()),
            key,
            scheduler,
            flags: ServiceFlags::default(),
            timeout: 0,
            pe_name: None,
        }
    }

    /// Same settings as `other`, as far as the kernel can be asked to change them.
    pub fn same_settings(&self, other: &Service) -> bool {
        self.key == other.key
            && self.scheduler == other.scheduler
            && self.flags.user() == other.flags.user()
            && self.timeout == other.timeout
            && self.netmask == other.netmask
            && self.pe_name == other.pe_name
    }
}

/// Tunnel encapsulation (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

impl TunnelType {
    pub fn number(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        }
    }

    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            0 => Some(TunnelType::Ipip),
            1 => Some(TunnelType::Gue),
            2 => Some(TunnelType::Gre),
            _ => None,
        }
    }
}

/// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`: checksum the outer UDP/GRE header.
    pub const CSUM: u16 = 1 << 0;
    /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`: remote checksum offload (GUE only).
    pub const REMCSUM: u16 = 1 << 1;
}

/// How packets reach a destination (`IP_VS_CONN_F_FWD_MASK` values,
/// keepalived's `lb_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forward {
    /// NAT (`IP_VS_CONN_F_MASQ`).
    Masq,
    /// The balancer itself (`IP_VS_CONN_F_LOCALNODE`).
    Local,
    /// IP-in-IP or GUE/GRE tunnel (`IP_VS_CONN_F_TUNNEL`).
    Tunnel {
        #[serde(rename = "type")]
        tun_type: TunnelType,
        /// GUE destination port (required for GUE, 0 otherwise).
        port: u16,
        flags: TunnelFlags,
    },
    /// Direct routing (`IP_VS_CONN_F_DROUTE`).
    Route,
    /// Cache bypass (`IP_VS_CONN_F_BYPASS`).
    Bypass,
}

impl Forward {
    /// Plain IP-in-IP tunnel.
    pub const TUNNEL: Forward = Forward::Tunnel {
        tun_type: TunnelType::Ipip,
        port: 0,
        flags: TunnelFlags(0),
    };

    /// The value of `IPVS_DEST_ATTR_FWD_METHOD`.
    pub fn method(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel { .. } => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
        }
    }

    /// The forwarding method as ipvsadm names it.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Tunnel { .. } => "Tunnel",
            Forward::Route => "Route",
            Forward::Bypass => "Bypass",
        }
    }
}

/// A destination (real server) inside a virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    /// 0 means "quiescent": no new connections, existing ones kept.
    pub weight: i32,
    /// Upper connection threshold (0 = none).
    #[serde(default)]
    pub u_threshold: u32,
    /// Lower connection threshold (0 = none).
    #[serde(default)]
    pub l_threshold: u32,
}

impl Destination {
    pub fn new(addr: IpAddr, port: u16, forward: Forward, weight: i32) -> Self {
        Destination {
            addr,
            port,
            forward,
            weight,
            u_threshold: 0,
            l_threshold: 0,
        }
    }

    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }
}

/// What identifies a destination inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SockAddr(self.addr, self.port).fmt(f)
    }
}

/// Traffic counters of a service or destination (`IPVS_STATS_ATTR_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A service as dumped from the kernel, with its counters and destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub service: Service,
    /// `IPVS_SVC_ATTR_STATS64` when the kernel sends it (3.11+), else the
    /// 32-bit `IPVS_SVC_ATTR_STATS` widened.
    pub stats: Option<Stats>,
    pub destinations: Vec<DestEntry>,
}

/// A destination as dumped from the kernel, with its connection counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestEntry {
    pub dest: Destination,
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
    pub stats: Option<Stats>,
}

/// `IPVS_CMD_GET_INFO`: the IPVS version and connection table size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// Connection timeouts (`ipvsadm --set tcp tcpfin udp`), in seconds; `None`
/// leaves a value unchanged when setting, or was absent in a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: Option<u32>,
    pub tcp_fin: Option<u32>,
    pub udp: Option<u32>,
}

/// The connection synchronisation daemon's role (`IP_VS_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn number(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }

    pub fn from_number(n: u32) -> Option<Self> {
        match n {
            1 => Some(DaemonState::Master),
            2 => Some(DaemonState::Backup),
            _ => None,
        }
    }
}

/// A connection synchronisation daemon (keepalived's `lvs_sync_daemon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDaemon {
    pub state: DaemonState,
    /// Interface the sync messages go out of / come in on.
    pub mcast_ifn: String,
    pub syncid: u32,
    /// Maximum UDP payload (`IPVS_DAEMON_ATTR_SYNC_MAXLEN`).
    pub sync_maxlen: Option<u16>,
    /// Multicast group, IPv4 or IPv6.
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    pub fn new(state: DaemonState, mcast_ifn: &str, syncid: u32) -> Self {
        SyncDaemon {
            state,
            mcast_ifn: mcast_ifn.to_owned(),
            syncid,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
}

/// A virtual service with the destinations it should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "VirtualServiceRepr", into = "VirtualServiceRepr")]
pub struct VirtualService {
    pub service: Service,
    pub destinations: BTreeMap<DestKey, Destination>,
}

/// JSON form of [`VirtualService`]: destinations as a list (JSON object keys
/// must be strings).
#[derive(Serialize, Deserialize)]
struct VirtualServiceRepr {
    service: Service,
    #[serde(default)]
    destinations: Vec<Destination>,
}

impl From<VirtualServiceRepr> for VirtualService {
    fn from(r: VirtualServiceRepr) -> Self {
        VirtualService {
            service: r.service,
            destinations: r.destinations.into_iter().map(|d| (d.key(), d)).collect(),
        }
    }
}

impl From<VirtualService> for VirtualServiceRepr {
    fn from(v: VirtualService) -> Self {
        VirtualServiceRepr {
            service: v.service,
            destinations: v.destinations.into_values().collect(),
        }
    }
}

/// A whole IPVS table: what the configuration asks for, or what a dump
/// found. In JSON, a list of virtual services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<VirtualService>", into = "Vec<VirtualService>")]
pub struct Table {
    pub services: BTreeMap<ServiceKey, VirtualService>,
}

impl From<Vec<VirtualService>> for Table {
    fn from(v: Vec<VirtualService>) -> Self {
        Table {
            services: v.into_iter().map(|vs| (vs.service.key, vs)).collect(),
        }
    }
}

impl From<Table> for Vec<VirtualService> {
    fn from(t: Table) -> Self {
        t.services.into_values().collect()
    }
}

impl Table {
    pub fn new() -> Self {
        Table::default()
    }

    /// Add or replace a service (its destinations are kept if it existed).
    pub fn insert_service(&mut self, service: Service) {
        match self.services.get_mut(&service.key) {
            Some(vs) => vs.service = service,
            None => {
                self.services.insert(
                    service.key,
                    VirtualService {
                        service,
                        destinations: BTreeMap::new(),
                    },
                );
            }
        }
    }

    /// Add or replace a destination of an existing service; `false` when the
    /// service is not in the table.
    pub fn insert_dest(&mut self, key: &ServiceKey, dest: Destination) -> bool {
        match self.services.get_mut(key) {
            Some(vs) => {
                vs.destinations.insert(dest.key(), dest);
                true
            }
            None => false,
        }
    }

    /// Number of destinations over all services.
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|v| v.destinations.len()).sum()
    }

    /// Build a table from a kernel dump (counters dropped).
    pub fn from_entries(entries: &[ServiceEntry]) -> Self {
        let mut t = Table::new();
        for e in entries {
            t.insert_service(e.service.clone());
            for d in &e.destinations {
                t.insert_dest(&e.service.key, d.dest.clone());
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_prefix_above_128_reads_as_128() {
        let v6 = |n: u32| Netmask::from_bytes(Family::Inet6, n.to_ne_bytes());
        assert_eq!(v6(64), Netmask::V6(64));
        assert_eq!(v6(128), Netmask::V6(128));
        assert_eq!(v6(129), Netmask::V6(128));
        assert_eq!(v6(255), Netmask::V6(128));
        assert_eq!(v6(0x1_0040), Netmask::V6(128), "not wrapped to 64");
        assert_eq!(
            Netmask::from_bytes(Family::Inet, [255, 255, 255, 0]),
            Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
        );
    }

    #[test]
    fn a_service_key_reads_back_as_it_prints() {
        for text in [
            "TCP 192.0.2.10:80",
            "UDP [2001:db8::10]:53",
            "SCTP 198.51.100.1:9",
            "FWM 7",
            "FWM 4294967295 IPv6",
        ] {
            let key: ServiceKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
        let key: ServiceKey = "tcp  192.0.2.10:80".parse().unwrap();
        assert_eq!(key.to_string(), "TCP 192.0.2.10:80");
        for bad in [
            "",
            "TCP",
            "TCP 192.0.2.10",
            "ICMP 192.0.2.10:80",
            "TCP 192.0.2.10:80 x",
            "FWM",
            "FWM x",
            "FWM 7 IPv4",
            "TCP 2001:db8::1:80",
        ] {
            let e = bad.parse::<ServiceKey>().unwrap_err();
            assert!(e.to_string().contains("e.g. \"TCP 192.0.2.10:80\""), "{e}");
        }
    }
}
