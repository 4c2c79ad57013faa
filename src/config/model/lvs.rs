//! The model of the LVS blocks: `virtual_server_group`, `virtual_server`,
//! `real_server`, and the IPVS scheduler, forwarding method and tunnel
//! settings they carry.
//!
//! Owns: those types. May not: depend on the VRRP part of the model; the
//! health checks a real server runs are in `checkers`.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::checkers::Checker;
use super::common::{AddressFamily, NotifyScript, Origin};
use super::{opt_secs, secs};

/// The IPVS scheduler (`lvs_sched`, formerly `lb_algo`); names as ipvsadm's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LvsSched {
    Rr,
    Wrr,
    Lc,
    /// keepalived's (and ipvsadm's) default.
    #[default]
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
}

impl LvsSched {
    /// Every scheduler, for parsing and suggestions.
    pub const ALL: [LvsSched; 14] = [
        LvsSched::Rr,
        LvsSched::Wrr,
        LvsSched::Lc,
        LvsSched::Wlc,
        LvsSched::Lblc,
        LvsSched::Lblcr,
        LvsSched::Dh,
        LvsSched::Sh,
        LvsSched::Sed,
        LvsSched::Nq,
        LvsSched::Fo,
        LvsSched::Ovf,
        LvsSched::Mh,
        LvsSched::Twos,
    ];

    /// The name the kernel knows the scheduler module by (`ip_vs_<name>`).
    pub fn name(self) -> &'static str {
        match self {
            LvsSched::Rr => "rr",
            LvsSched::Wrr => "wrr",
            LvsSched::Lc => "lc",
            LvsSched::Wlc => "wlc",
            LvsSched::Lblc => "lblc",
            LvsSched::Lblcr => "lblcr",
            LvsSched::Dh => "dh",
            LvsSched::Sh => "sh",
            LvsSched::Sed => "sed",
            LvsSched::Nq => "nq",
            LvsSched::Fo => "fo",
            LvsSched::Ovf => "ovf",
            LvsSched::Mh => "mh",
            LvsSched::Twos => "twos",
        }
    }
}

/// The forwarding method (`lvs_method`, formerly `lb_kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LvsMethod {
    /// Masquerading (`IP_VS_CONN_F_MASQ`), keepalived's default.
    #[default]
    Nat,
    /// Direct routing (`IP_VS_CONN_F_DROUTE`).
    Dr,
    /// IP-in-IP tunnelling (`IP_VS_CONN_F_TUNNEL`, type ipip).
    Tun,
}

/// The encapsulation of `lvs_method TUN [type ipip|gue port N|gre]
/// [nocsum|csum|remcsum]` (ip_vs.h `IPVS_DEST_ATTR_TUN_TYPE`,
/// `_TUN_PORT`, `_TUN_FLAGS`). Only meaningful with [`LvsMethod::Tun`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    pub tunnel_type: TunnelType,
    /// The GUE destination port (0 for the other types).
    pub port: u16,
    pub checksum: TunnelChecksum,
}

/// `IP_VS_CONN_F_TUNNEL_TYPE_*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    /// IP-in-IP, the default.
    #[default]
    Ipip,
    /// Generic UDP Encapsulation (Linux 5.2+), needs a port.
    Gue,
    /// GRE (Linux 5.3+).
    Gre,
}

/// `IP_VS_TUNNEL_ENCAP_FLAG_*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelChecksum {
    /// `nocsum`, the default.
    #[default]
    Nocsum,
    /// `csum` (GUE, GRE).
    Csum,
    /// `remcsum`: remote checksum offload (GUE only).
    Remcsum,
}

/// Scheduler flags (ip_vs.h `IP_VS_SVC_F_SCHED1..3`): `flag-1`..`flag-3`,
/// or by their meaning for sh/mh: `sh-fallback`/`mh-fallback` (flag 1),
/// `sh-port`/`mh-port` (flag 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchedFlags {
    pub flag_1: bool,
    pub flag_2: bool,
    pub flag_3: bool,
}

/// The layer-4 protocol of a virtual server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The name as written in keepalived.conf (`TCP`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// The IP protocol number (`IPPROTO_*`).
    pub fn ip_proto(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
}

/// `virtual_server_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub entries: Vec<VsgEntry>,
    #[serde(skip)]
    pub origin: Origin,
}

/// One line of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VsgEntry {
    /// `IP [PORT]`, `IP-LAST [PORT]`, `IP-IP [PORT]` or `IP/LEN [PORT]`: the
    /// addresses `first..=last` (equal for a single address). Port 0 when
    /// not given (only valid for persistent services).
    Range {
        first: IpAddr,
        last: IpAddr,
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        fwmark: u32,
        family: Option<AddressFamily>,
    },
}

impl VsgEntry {
    /// The addresses of a range entry, `first..=last` in order (none for a
    /// fwmark entry). Each is one IPVS service of the group.
    pub fn addresses(&self) -> Box<dyn Iterator<Item = IpAddr> + '_> {
        match self {
            VsgEntry::Range {
                first: IpAddr::V4(a),
                last: IpAddr::V4(b),
                ..
            } => Box::new((u32::from(*a)..=u32::from(*b)).map(|v| IpAddr::V4(v.into()))),
            VsgEntry::Range {
                first: IpAddr::V6(a),
                last: IpAddr::V6(b),
                ..
            } => Box::new((u128::from(*a)..=u128::from(*b)).map(|v| IpAddr::V6(v.into()))),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// What a `virtual_server` line names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VirtualServerKey {
    /// `virtual_server IP [PORT]` (port 0 when omitted: persistent services).
    Address { address: IpAddr, port: u16 },
    /// `virtual_server fwmark N`.
    Fwmark { fwmark: u32 },
    /// `virtual_server group NAME` (checked to exist).
    Group { name: String },
}

impl fmt::Display for VirtualServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtualServerKey::Address {
                address: IpAddr::V6(a),
                port,
            } => write!(f, "[{a}]:{port}"),
            VirtualServerKey::Address { address, port } => write!(f, "{address}:{port}"),
            VirtualServerKey::Fwmark { fwmark } => write!(f, "fwmark {fwmark}"),
            VirtualServerKey::Group { name } => write!(f, "group {name}"),
        }
    }
}

/// `virtual_server ... { ... }`: one IPVS service with its real servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServer {
    pub key: VirtualServerKey,
    /// `protocol`; keepalived's default is UDP (with a warning). Not used
    /// for a fwmark service.
    pub protocol: Protocol,
    /// `lvs_sched` / `lb_algo`, default wlc.
    pub lvs_sched: LvsSched,
    /// `lvs_method` / `lb_kind`, default NAT (inherited by real servers).
    pub lvs_method: LvsMethod,
    /// The tunnel options of `lvs_method TUN ...` (inherited with it).
    pub tunnel: Tunnel,
    /// `flag-1`..`flag-3`, `sh-port`, `sh-fallback`, `mh-port`,
    /// `mh-fallback`.
    pub sched_flags: SchedFlags,
    /// `persistence_timeout [N]`: `None` = not persistent; the keyword
    /// without a value means 360 s.
    #[serde(with = "opt_secs")]
    pub persistence_timeout: Option<Duration>,
    /// `persistence_granularity NETMASK` as a prefix length
    /// (255.255.255.0 → 24).
    pub persistence_granularity: Option<u8>,
    /// `persistence_engine NAME`: the IPVS persistence engine
    /// (`ip_vs_pe_NAME`, Linux has "sip"), at most 15 bytes.
    #[serde(default)]
    pub persistence_engine: Option<String>,
    /// `ip_family inet|inet6` for fwmark services; resolved: given, else
    /// from the address / real servers, else IPv4.
    pub family: AddressFamily,
    /// `delay_loop`, default 60 s (already applied to the checkers).
    #[serde(with = "secs")]
    pub delay_loop: Duration,
    /// `quorum`: minimum total weight of live real servers, default 1.
    pub quorum: u32,
    /// `hysteresis`, default 0.
    pub hysteresis: u32,
    pub quorum_up: Option<NotifyScript>,
    pub quorum_down: Option<NotifyScript>,
    /// `alpha`: real servers start down until a check passes (applied to
    /// the real servers and checkers).
    pub alpha: bool,
    /// `omega`: run quorum_down / notify_down on shutdown.
    pub omega: bool,
    /// `ha_suspend`: its checkers run only while one of its addresses is
    /// configured on this node (not for a fwmark service).
    #[serde(default)]
    pub ha_suspend: bool,
    /// `inhibit_on_failure` (applied to the real servers).
    pub inhibit_on_failure: bool,
    /// `sorry_server IP [PORT]`.
    pub sorry_server: Option<SorryServer>,
    /// `sorry_server_inhibit`.
    pub sorry_server_inhibit: bool,
    /// `virtualhost` (applied to the HTTP/SSL URLs that set none).
    pub virtualhost: Option<String>,
    /// `ops`: one-packet scheduling (UDP).
    pub ops: bool,
    /// `smtp_alert`, resolved against the global `smtp_alert(_checker)`;
    /// default no.
    pub smtp_alert: bool,
    /// tandem's `tandem_bgp` block: announce the address through BIRD
    /// while the quorum is up (docs/scale-out.md). Absent: VRRP decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<super::bgp::BgpAnnounce>,
    /// `snmp_name NAME`: KEEPALIVED-MIB's virtualServerName.
    #[serde(default)]
    pub snmp_name: Option<String>,
    pub real_servers: Vec<RealServer>,
    #[serde(skip)]
    pub origin: Origin,
}

/// `sorry_server IP [PORT]`: used when the quorum is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    pub address: IpAddr,
    /// Default: the virtual server's port (0 for fwmark services).
    pub port: u16,
    /// `sorry_server_lvs_method`, default the virtual server's method.
    pub lvs_method: LvsMethod,
    /// Tunnel options, with the method.
    pub tunnel: Tunnel,
}

/// `real_server IP [PORT] { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServer {
    pub address: IpAddr,
    /// Default: the virtual server's port (0 for fwmark services).
    pub port: u16,
    /// `weight`, default 1.
    pub weight: u32,
    /// `lvs_method`, default the virtual server's.
    pub lvs_method: LvsMethod,
    /// Tunnel options, with the method (the real server's own when it sets
    /// `lvs_method`, else the virtual server's).
    pub tunnel: Tunnel,
    /// Resolved: the real server's, else the virtual server's. Failure sets
    /// the weight to 0 instead of removing the real server.
    pub inhibit_on_failure: bool,
    pub notify_up: Option<Box<NotifyScript>>,
    pub notify_down: Option<Box<NotifyScript>>,
    /// `uthreshold`: upper connection threshold (0 = none).
    pub uthreshold: Option<u32>,
    /// `lthreshold`: lower connection threshold.
    pub lthreshold: Option<u32>,
    /// Resolved: the real server's, else global `smtp_alert(_checker)`, else
    /// yes (keepalived's default for real servers).
    pub smtp_alert: bool,
    /// Resolved `alpha` (real server's, else the virtual server's).
    pub alpha: bool,
    /// `snmp_name NAME`: KEEPALIVED-MIB's realServerName.
    #[serde(default)]
    pub snmp_name: Option<String>,
    /// The health checks. With none, the real server is always up.
    pub checkers: Vec<Checker>,
    /// `FILE_CHECK` blocks: the real server follows these files too.
    pub file_checks: Vec<super::track_file::FileCheck>,
    #[serde(skip)]
    pub origin: Origin,
}
