//! The IPVS generic-netlink messages (`include/uapi/linux/ip_vs.h`, the
//! "IPVS Generic Netlink interface definitions"), defined on the
//! netlink-packet-core / netlink-packet-generic traits.
//!
//! Two layers:
//! - [`IpvsMessage`] with attribute enums ([`CmdAttr`], [`SvcAttr`],
//!   [`DestAttr`], [`DaemonAttr`], [`StatsAttr`]): one variant per attribute
//!   number of the header, lossless in both directions;
//! - conversions between those attribute lists and the table types of
//!   [`super::types`], where the layouts are interpreted: addresses are a
//!   16-byte `union nf_inet_addr` cut by family, ports are big-endian, the
//!   netmask is an IPv4 mask or an IPv6 prefix length, counters come as
//!   `STATS` (32/64-bit mix) or `STATS64`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, NLA_F_NESTED, Nla, NlaBuffer, NlasIterator, Parseable,
    ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::types::{
    DaemonState, DestEntry, Destination, Family, Forward, Info, Netmask, Protocol, Scheduler,
    Service, ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon, Timeouts, TunnelFlags,
    TunnelType,
};

/// `IPVS_GENL_NAME`: the family name the controller resolves to an id.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const IPVS_GENL_VERSION: u8 = 1;
/// `IP_VS_SCHEDNAME_MAXLEN` (including the terminating NUL).
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
/// `IP_VS_IFNAME_MAXLEN` (including the terminating NUL).
pub const IP_VS_IFNAME_MAXLEN: usize = 16;

/// Attribute numbers of the first level of every command (`IPVS_CMD_ATTR_*`).
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// Attributes of the `IPVS_CMD_SET_INFO` reply (`IPVS_INFO_ATTR_*`); they
/// sit at the first level, numbered over the `IPVS_CMD_ATTR_*` space.
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// Attributes nested in `IPVS_CMD_ATTR_SERVICE` (`IPVS_SVC_ATTR_*`).
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// Attributes nested in `IPVS_CMD_ATTR_DEST` (`IPVS_DEST_ATTR_*`).
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// Attributes nested in `IPVS_CMD_ATTR_DAEMON` (`IPVS_DAEMON_ATTR_*`).
pub mod daemon_attr {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
}

/// Attributes nested in the `*_STATS` and `*_STATS64` attributes (`IPVS_STATS_ATTR_*`).
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
    /// Padding the kernel inserts to align a following 64-bit value.
    pub const PAD: u16 = 11;
}

/// The IPVS generic-netlink commands (`IPVS_CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    SetConfig,
    GetConfig,
    SetInfo,
    GetInfo,
    Zero,
    Flush,
}

impl IpvsCmd {
    const ALL: [IpvsCmd; 17] = [
        IpvsCmd::NewService,
        IpvsCmd::SetService,
        IpvsCmd::DelService,
        IpvsCmd::GetService,
        IpvsCmd::NewDest,
        IpvsCmd::SetDest,
        IpvsCmd::DelDest,
        IpvsCmd::GetDest,
        IpvsCmd::NewDaemon,
        IpvsCmd::DelDaemon,
        IpvsCmd::GetDaemon,
        IpvsCmd::SetConfig,
        IpvsCmd::GetConfig,
        IpvsCmd::SetInfo,
        IpvsCmd::GetInfo,
        IpvsCmd::Zero,
        IpvsCmd::Flush,
    ];

    /// The command number: position in the `IPVS_CMD_*` enum (UNSPEC = 0).
    pub fn number(self) -> u8 {
        match self {
            IpvsCmd::NewService => 1,
            IpvsCmd::SetService => 2,
            IpvsCmd::DelService => 3,
            IpvsCmd::GetService => 4,
            IpvsCmd::NewDest => 5,
            IpvsCmd::SetDest => 6,
            IpvsCmd::DelDest => 7,
            IpvsCmd::GetDest => 8,
            IpvsCmd::NewDaemon => 9,
            IpvsCmd::DelDaemon => 10,
            IpvsCmd::GetDaemon => 11,
            IpvsCmd::SetConfig => 12,
            IpvsCmd::GetConfig => 13,
            IpvsCmd::SetInfo => 14,
            IpvsCmd::GetInfo => 15,
            IpvsCmd::Zero => 16,
            IpvsCmd::Flush => 17,
        }
    }

    pub fn from_number(n: u8) -> Option<Self> {
        IpvsCmd::ALL.iter().copied().find(|c| c.number() == n)
    }

    /// The name in ip_vs.h, for logs and operation listings.
    pub fn name(self) -> &'static str {
        match self {
            IpvsCmd::NewService => "NEW_SERVICE",
            IpvsCmd::SetService => "SET_SERVICE",
            IpvsCmd::DelService => "DEL_SERVICE",
            IpvsCmd::GetService => "GET_SERVICE",
            IpvsCmd::NewDest => "NEW_DEST",
            IpvsCmd::SetDest => "SET_DEST",
            IpvsCmd::DelDest => "DEL_DEST",
            IpvsCmd::GetDest => "GET_DEST",
            IpvsCmd::NewDaemon => "NEW_DAEMON",
            IpvsCmd::DelDaemon => "DEL_DAEMON",
            IpvsCmd::GetDaemon => "GET_DAEMON",
            IpvsCmd::SetConfig => "SET_CONFIG",
            IpvsCmd::GetConfig => "GET_CONFIG",
            IpvsCmd::SetInfo => "SET_INFO",
            IpvsCmd::GetInfo => "GET_INFO",
            IpvsCmd::Zero => "ZERO",
            IpvsCmd::Flush => "FLUSH",
        }
    }
}

/// One IPVS generic-netlink message: a command and its first-level attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    pub cmd: IpvsCmd,
    pub attrs: Vec<CmdAttr>,
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.number()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from_number(header.cmd)
            .ok_or_else(|| DecodeError::from(format!("unknown IPVS command {}", header.cmd)))?;
        // The GET_INFO reply numbers its attributes in another space.
        let attrs = if cmd == IpvsCmd::SetInfo {
            parse_nlas(buf, parse_info_attr)?
        } else {
            parse_nlas(buf, parse_cmd_attr)?
        };
        Ok(IpvsMessage { cmd, attrs })
    }
}

/// First-level attributes (`IPVS_CMD_ATTR_*`, and `IPVS_INFO_ATTR_*` in a
/// `SET_INFO` reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdAttr {
    Service(Vec<SvcAttr>),
    Dest(Vec<DestAttr>),
    Daemon(Vec<DaemonAttr>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    InfoVersion(u32),
    InfoConnTabSize(u32),
    Other(DefaultNla),
}

impl Nla for CmdAttr {
    fn value_len(&self) -> usize {
        match self {
            CmdAttr::Service(a) => a.as_slice().buffer_len(),
            CmdAttr::Dest(a) => a.as_slice().buffer_len(),
            CmdAttr::Daemon(a) => a.as_slice().buffer_len(),
            CmdAttr::TimeoutTcp(_)
            | CmdAttr::TimeoutTcpFin(_)
            | CmdAttr::TimeoutUdp(_)
            | CmdAttr::InfoVersion(_)
            | CmdAttr::InfoConnTabSize(_) => 4,
            CmdAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            // Nested attributes carry NLA_F_NESTED, as libnl (ipvsadm) and
            // the kernel's own replies set it.
            CmdAttr::Service(_) => cmd_attr::SERVICE | NLA_F_NESTED,
            CmdAttr::Dest(_) => cmd_attr::DEST | NLA_F_NESTED,
            CmdAttr::Daemon(_) => cmd_attr::DAEMON | NLA_F_NESTED,
            CmdAttr::TimeoutTcp(_) => cmd_attr::TIMEOUT_TCP,
            CmdAttr::TimeoutTcpFin(_) => cmd_attr::TIMEOUT_TCP_FIN,
            CmdAttr::TimeoutUdp(_) => cmd_attr::TIMEOUT_UDP,
            CmdAttr::InfoVersion(_) => info_attr::VERSION,
            CmdAttr::InfoConnTabSize(_) => info_attr::CONN_TAB_SIZE,
            CmdAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            CmdAttr::Service(a) => a.as_slice().emit(buffer),
            CmdAttr::Dest(a) => a.as_slice().emit(buffer),
            CmdAttr::Daemon(a) => a.as_slice().emit(buffer),
            CmdAttr::TimeoutTcp(v)
            | CmdAttr::TimeoutTcpFin(v)
            | CmdAttr::TimeoutUdp(v)
            | CmdAttr::InfoVersion(v)
            | CmdAttr::InfoConnTabSize(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            CmdAttr::Other(n) => n.emit_value(buffer),
        }
    }
}

/// Attributes of a service (`IPVS_SVC_ATTR_*`), values as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvcAttr {
    Af(u16),
    Protocol(u16),
    /// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first four.
    Addr([u8; 16]),
    /// Host-order value; emitted and parsed big-endian (`__be16`).
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    /// `struct ip_vs_flags { flags, mask }`.
    Flags {
        flags: u32,
        mask: u32,
    },
    Timeout(u32),
    /// Raw bytes: see [`Netmask`] for their two meanings.
    Netmask([u8; 4]),
    Stats(Vec<StatsAttr>),
    PeName(String),
    Stats64(Vec<StatsAttr>),
    Other(DefaultNla),
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        match self {
            SvcAttr::Af(_) | SvcAttr::Protocol(_) | SvcAttr::Port(_) => 2,
            SvcAttr::Addr(_) => 16,
            SvcAttr::Fwmark(_) | SvcAttr::Timeout(_) | SvcAttr::Netmask(_) => 4,
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => s.len() + 1,
            SvcAttr::Flags { .. } => 8,
            SvcAttr::Stats(a) | SvcAttr::Stats64(a) => a.as_slice().buffer_len(),
            SvcAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            SvcAttr::Af(_) => svc_attr::AF,
            SvcAttr::Protocol(_) => svc_attr::PROTOCOL,
            SvcAttr::Addr(_) => svc_attr::ADDR,
            SvcAttr::Port(_) => svc_attr::PORT,
            SvcAttr::Fwmark(_) => svc_attr::FWMARK,
            SvcAttr::SchedName(_) => svc_attr::SCHED_NAME,
            SvcAttr::Flags { .. } => svc_attr::FLAGS,
            SvcAttr::Timeout(_) => svc_attr::TIMEOUT,
            SvcAttr::Netmask(_) => svc_attr::NETMASK,
            SvcAttr::Stats(_) => svc_attr::STATS | NLA_F_NESTED,
            SvcAttr::PeName(_) => svc_attr::PE_NAME,
            SvcAttr::Stats64(_) => svc_attr::STATS64 | NLA_F_NESTED,
            SvcAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            SvcAttr::Af(v) | SvcAttr::Protocol(v) => buffer[..2].copy_from_slice(&v.to_ne_bytes()),
            SvcAttr::Port(v) => buffer[..2].copy_from_slice(&v.to_be_bytes()),
            SvcAttr::Addr(a) => buffer[..16].copy_from_slice(a),
            SvcAttr::Fwmark(v) | SvcAttr::Timeout(v) => {
                buffer[..4].copy_from_slice(&v.to_ne_bytes())
            }
            SvcAttr::Netmask(b) => buffer[..4].copy_from_slice(b),
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => emit_cstr(buffer, s),
            SvcAttr::Flags { flags, mask } => {
                buffer[..4].copy_from_slice(&flags.to_ne_bytes());
                buffer[4..8].copy_from_slice(&mask.to_ne_bytes());
            }
            SvcAttr::Stats(a) | SvcAttr::Stats64(a) => a.as_slice().emit(buffer),
            SvcAttr::Other(n) => n.emit_value(buffer),
        }
    }
}

/// Attributes of a destination (`IPVS_DEST_ATTR_*`), values as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestAttr {
    Addr([u8; 16]),
    Port(u16),
    FwdMethod(u32),
    Weight(i32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Vec<StatsAttr>),
    AddrFamily(u16),
    Stats64(Vec<StatsAttr>),
    TunType(u8),
    /// Host-order value; big-endian on the wire (`__be16`).
    TunPort(u16),
    TunFlags(u16),
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            DestAttr::Addr(_) => 16,
            DestAttr::Port(_) | DestAttr::AddrFamily(_) | DestAttr::TunPort(_) => 2,
            DestAttr::TunFlags(_) => 2,
            DestAttr::TunType(_) => 1,
            DestAttr::FwdMethod(_)
            | DestAttr::Weight(_)
            | DestAttr::UThresh(_)
            | DestAttr::LThresh(_)
            | DestAttr::ActiveConns(_)
            | DestAttr::InactConns(_)
            | DestAttr::PersistConns(_) => 4,
            DestAttr::Stats(a) | DestAttr::Stats64(a) => a.as_slice().buffer_len(),
            DestAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DestAttr::Addr(_) => dest_attr::ADDR,
            DestAttr::Port(_) => dest_attr::PORT,
            DestAttr::FwdMethod(_) => dest_attr::FWD_METHOD,
            DestAttr::Weight(_) => dest_attr::WEIGHT,
            DestAttr::UThresh(_) => dest_attr::U_THRESH,
            DestAttr::LThresh(_) => dest_attr::L_THRESH,
            DestAttr::ActiveConns(_) => dest_attr::ACTIVE_CONNS,
            DestAttr::InactConns(_) => dest_attr::INACT_CONNS,
            DestAttr::PersistConns(_) => dest_attr::PERSIST_CONNS,
            DestAttr::Stats(_) => dest_attr::STATS | NLA_F_NESTED,
            DestAttr::AddrFamily(_) => dest_attr::ADDR_FAMILY,
            DestAttr::Stats64(_) => dest_attr::STATS64 | NLA_F_NESTED,
            DestAttr::TunType(_) => dest_attr::TUN_TYPE,
            DestAttr::TunPort(_) => dest_attr::TUN_PORT,
            DestAttr::TunFlags(_) => dest_attr::TUN_FLAGS,
            DestAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            DestAttr::Addr(a) => buffer[..16].copy_from_slice(a),
            DestAttr::Port(v) | DestAttr::TunPort(v) => {
                buffer[..2].copy_from_slice(&v.to_be_bytes())
            }
            DestAttr::AddrFamily(v) | DestAttr::TunFlags(v) => {
                buffer[..2].copy_from_slice(&v.to_ne_bytes())
            }
            DestAttr::TunType(v) => buffer[0] = *v,
            DestAttr::Weight(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            DestAttr::FwdMethod(v)
            | DestAttr::UThresh(v)
            | DestAttr::LThresh(v)
            | DestAttr::ActiveConns(v)
            | DestAttr::InactConns(v)
            | DestAttr::PersistConns(v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            DestAttr::Stats(a) | DestAttr::Stats64(a) => a.as_slice().emit(buffer),
            DestAttr::Other(n) => n.emit_value(buffer),
        }
    }
}

/// Attributes of a sync daemon (`IPVS_DAEMON_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAttr {
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    McastGroup(Ipv4Addr),
    McastGroup6(Ipv6Addr),
    /// Host-order value; big-endian on the wire.
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        match self {
            DaemonAttr::State(_) | DaemonAttr::SyncId(_) | DaemonAttr::McastGroup(_) => 4,
            DaemonAttr::McastIfn(s) => s.len() + 1,
            DaemonAttr::SyncMaxlen(_) | DaemonAttr::McastPort(_) => 2,
            DaemonAttr::McastGroup6(_) => 16,
            DaemonAttr::McastTtl(_) => 1,
            DaemonAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DaemonAttr::State(_) => daemon_attr::STATE,
            DaemonAttr::McastIfn(_) => daemon_attr::MCAST_IFN,
            DaemonAttr::SyncId(_) => daemon_attr::SYNC_ID,
            DaemonAttr::SyncMaxlen(_) => daemon_attr::SYNC_MAXLEN,
            DaemonAttr::McastGroup(_) => daemon_attr::MCAST_GROUP,
            DaemonAttr::McastGroup6(_) => daemon_attr::MCAST_GROUP6,
            DaemonAttr::McastPort(_) => daemon_attr::MCAST_PORT,
            DaemonAttr::McastTtl(_) => daemon_attr::MCAST_TTL,
            DaemonAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            DaemonAttr::State(v) | DaemonAttr::SyncId(v) => {
                buffer[..4].copy_from_slice(&v.to_ne_bytes())
            }
            DaemonAttr::McastIfn(s) => emit_cstr(buffer, s),
            DaemonAttr::SyncMaxlen(v) => buffer[..2].copy_from_slice(&v.to_ne_bytes()),
            DaemonAttr::McastGroup(a) => buffer[..4].copy_from_slice(&a.octets()),
            DaemonAttr::McastGroup6(a) => buffer[..16].copy_from_slice(&a.octets()),
            DaemonAttr::McastPort(v) => buffer[..2].copy_from_slice(&v.to_ne_bytes()),
            DaemonAttr::McastTtl(v) => buffer[0] = *v,
            DaemonAttr::Other(n) => n.emit_value(buffer),
        }
    }
}

/// One counter inside `*_STATS` / `*_STATS64`: the attribute number and its
/// value, which is 32 or 64 bits wide on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsAttr {
    U32(u16, u32),
    U64(u16, u64),
    /// `IPVS_STATS_ATTR_PAD` or anything else not a counter.
    Other(DefaultNla),
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match self {
            StatsAttr::U32(..) => 4,
            StatsAttr::U64(..) => 8,
            StatsAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            StatsAttr::U32(k, _) | StatsAttr::U64(k, _) => *k,
            StatsAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            StatsAttr::U32(_, v) => buffer[..4].copy_from_slice(&v.to_ne_bytes()),
            StatsAttr::U64(_, v) => buffer[..8].copy_from_slice(&v.to_ne_bytes()),
            StatsAttr::Other(n) => n.emit_value(buffer),
        }
    }
}

fn emit_cstr(buffer: &mut [u8], s: &str) {
    buffer[..s.len()].copy_from_slice(s.as_bytes());
    buffer[s.len()] = 0;
}

// ---------------------------------------------------------------------------
// Parsing: strict about lengths (a value of the wrong size is an error, not
// a guess), lenient about attributes it does not know (kept as `Other`).

fn parse_nlas<T>(
    buf: &[u8],
    f: fn(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::new();
    for nla in NlasIterator::new(buf) {
        let nla = nla?;
        out.push(f(&nla)?);
    }
    Ok(out)
}

fn fixed<const N: usize>(nla: &NlaBuffer<&[u8]>, what: &str) -> Result<[u8; N], DecodeError> {
    let v = nla.value();
    <[u8; N]>::try_from(v).map_err(|_| {
        DecodeError::from(format!(
            "IPVS attribute {what}: {} bytes, expected {N}",
            v.len()
        ))
    })
}

fn u8_of(nla: &NlaBuffer<&[u8]>, what: &str) -> Result<u8, DecodeError> {
    Ok(fixed::<1>(nla, what)?[0])
}
fn u16_of(nla: &NlaBuffer<&[u8]>, what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(nla, what)?))
}
fn be16_of(nla: &NlaBuffer<&[u8]>, what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(nla, what)?))
}
fn u32_of(nla: &NlaBuffer<&[u8]>, what: &str) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(nla, what)?))
}

/// A NUL-terminated string; bytes after the first NUL are ignored.
fn cstr_of(nla: &NlaBuffer<&[u8]>, what: &str) -> Result<String, DecodeError> {
    let v = nla.value();
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8(v[..end].to_vec())
        .map_err(|_| DecodeError::from(format!("IPVS attribute {what}: not UTF-8")))
}

/// The address union: the kernel sends all 16 bytes; accept a bare 4-byte
/// IPv4 address too, as some tools send it.
fn addr_of(nla: &NlaBuffer<&[u8]>, what: &str) -> Result<[u8; 16], DecodeError> {
    let v = nla.value();
    let mut a = [0u8; 16];
    match v.len() {
        4 | 16 => {
            a[..v.len()].copy_from_slice(v);
            Ok(a)
        }
        n => Err(DecodeError::from(format!(
            "IPVS attribute {what}: {n} bytes, expected 16"
        ))),
    }
}

fn other(nla: &NlaBuffer<&[u8]>) -> Result<DefaultNla, DecodeError> {
    DefaultNla::parse(nla)
}

fn parse_cmd_attr(nla: &NlaBuffer<&[u8]>) -> Result<CmdAttr, DecodeError> {
    Ok(match nla.kind() {
        cmd_attr::SERVICE => CmdAttr::Service(parse_nlas(nla.value(), parse_svc_attr)?),
        cmd_attr::DEST => CmdAttr::Dest(parse_nlas(nla.value(), parse_dest_attr)?),
        cmd_attr::DAEMON => CmdAttr::Daemon(parse_nlas(nla.value(), parse_daemon_attr)?),
        cmd_attr::TIMEOUT_TCP => CmdAttr::TimeoutTcp(u32_of(nla, "TIMEOUT_TCP")?),
        cmd_attr::TIMEOUT_TCP_FIN => CmdAttr::TimeoutTcpFin(u32_of(nla, "TIMEOUT_TCP_FIN")?),
        cmd_attr::TIMEOUT_UDP => CmdAttr::TimeoutUdp(u32_of(nla, "TIMEOUT_UDP")?),
        _ => CmdAttr::Other(other(nla)?),
    })
}

fn parse_info_attr(nla: &NlaBuffer<&[u8]>) -> Result<CmdAttr, DecodeError> {
    Ok(match nla.kind() {
        info_attr::VERSION => CmdAttr::InfoVersion(u32_of(nla, "INFO_VERSION")?),
        info_attr::CONN_TAB_SIZE => CmdAttr::InfoConnTabSize(u32_of(nla, "CONN_TAB_SIZE")?),
        _ => CmdAttr::Other(other(nla)?),
    })
}

fn parse_svc_attr(nla: &NlaBuffer<&[u8]>) -> Result<SvcAttr, DecodeError> {
    Ok(match nla.kind() {
        svc_attr::AF => SvcAttr::Af(u16_of(nla, "SVC_AF")?),
        svc_attr::PROTOCOL => SvcAttr::Protocol(u16_of(nla, "SVC_PROTOCOL")?),
        svc_attr::ADDR => SvcAttr::Addr(addr_of(nla, "SVC_ADDR")?),
        svc_attr::PORT => SvcAttr::Port(be16_of(nla, "SVC_PORT")?),
        svc_attr::FWMARK => SvcAttr::Fwmark(u32_of(nla, "SVC_FWMARK")?),
        svc_attr::SCHED_NAME => SvcAttr::SchedName(cstr_of(nla, "SVC_SCHED_NAME")?),
        svc_attr::FLAGS => {
            let b: [u8; 8] = fixed(nla, "SVC_FLAGS")?;
            SvcAttr::Flags {
                flags: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
                mask: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            }
        }
        svc_attr::TIMEOUT => SvcAttr::Timeout(u32_of(nla, "SVC_TIMEOUT")?),
        svc_attr::NETMASK => SvcAttr::Netmask(fixed(nla, "SVC_NETMASK")?),
        svc_attr::STATS => SvcAttr::Stats(parse_nlas(nla.value(), parse_stats_attr)?),
        svc_attr::PE_NAME => SvcAttr::PeName(cstr_of(nla, "SVC_PE_NAME")?),
        svc_attr::STATS64 => SvcAttr::Stats64(parse_nlas(nla.value(), parse_stats_attr)?),
        _ => SvcAttr::Other(other(nla)?),
    })
}

fn parse_dest_attr(nla: &NlaBuffer<&[u8]>) -> Result<DestAttr, DecodeError> {
    Ok(match nla.kind() {
        dest_attr::ADDR => DestAttr::Addr(addr_of(nla, "DEST_ADDR")?),
        dest_attr::PORT => DestAttr::Port(be16_of(nla, "DEST_PORT")?),
        dest_attr::FWD_METHOD => DestAttr::FwdMethod(u32_of(nla, "DEST_FWD_METHOD")?),
        dest_attr::WEIGHT => DestAttr::Weight(u32_of(nla, "DEST_WEIGHT")? as i32),
        dest_attr::U_THRESH => DestAttr::UThresh(u32_of(nla, "DEST_U_THRESH")?),
        dest_attr::L_THRESH => DestAttr::LThresh(u32_of(nla, "DEST_L_THRESH")?),
        dest_attr::ACTIVE_CONNS => DestAttr::ActiveConns(u32_of(nla, "DEST_ACTIVE_CONNS")?),
        dest_attr::INACT_CONNS => DestAttr::InactConns(u32_of(nla, "DEST_INACT_CONNS")?),
        dest_attr::PERSIST_CONNS => DestAttr::PersistConns(u32_of(nla, "DEST_PERSIST_CONNS")?),
        dest_attr::STATS => DestAttr::Stats(parse_nlas(nla.value(), parse_stats_attr)?),
        dest_attr::ADDR_FAMILY => DestAttr::AddrFamily(u16_of(nla, "DEST_ADDR_FAMILY")?),
        dest_attr::STATS64 => DestAttr::Stats64(parse_nlas(nla.value(), parse_stats_attr)?),
        dest_attr::TUN_TYPE => DestAttr::TunType(u8_of(nla, "DEST_TUN_TYPE")?),
        dest_attr::TUN_PORT => DestAttr::TunPort(be16_of(nla, "DEST_TUN_PORT")?),
        dest_attr::TUN_FLAGS => DestAttr::TunFlags(u16_of(nla, "DEST_TUN_FLAGS")?),
        _ => DestAttr::Other(other(nla)?),
    })
}

fn parse_daemon_attr(nla: &NlaBuffer<&[u8]>) -> Result<DaemonAttr, DecodeError> {
    Ok(match nla.kind() {
        daemon_attr::STATE => DaemonAttr::State(u32_of(nla, "DAEMON_STATE")?),
        daemon_attr::MCAST_IFN => DaemonAttr::McastIfn(cstr_of(nla, "DAEMON_MCAST_IFN")?),
        daemon_attr::SYNC_ID => DaemonAttr::SyncId(u32_of(nla, "DAEMON_SYNC_ID")?),
        daemon_attr::SYNC_MAXLEN => DaemonAttr::SyncMaxlen(u16_of(nla, "DAEMON_SYNC_MAXLEN")?),
        daemon_attr::MCAST_GROUP => {
            DaemonAttr::McastGroup(Ipv4Addr::from(fixed::<4>(nla, "DAEMON_MCAST_GROUP")?))
        }
        daemon_attr::MCAST_GROUP6 => {
            DaemonAttr::McastGroup6(Ipv6Addr::from(fixed::<16>(nla, "DAEMON_MCAST_GROUP6")?))
        }
        daemon_attr::MCAST_PORT => DaemonAttr::McastPort(u16_of(nla, "DAEMON_MCAST_PORT")?),
        daemon_attr::MCAST_TTL => DaemonAttr::McastTtl(u8_of(nla, "DAEMON_MCAST_TTL")?),
        _ => DaemonAttr::Other(other(nla)?),
    })
}

fn parse_stats_attr(nla: &NlaBuffer<&[u8]>) -> Result<StatsAttr, DecodeError> {
    let kind = nla.kind();
    if !(stats_attr::CONNS..=stats_attr::OUTBPS).contains(&kind) {
        return Ok(StatsAttr::Other(other(nla)?));
    }
    let v = nla.value();
    match v.len() {
        4 => Ok(StatsAttr::U32(kind, u32_of(nla, "STATS")?)),
        8 => Ok(StatsAttr::U64(
            kind,
            u64::from_ne_bytes(fixed::<8>(nla, "STATS")?),
        )),
        n => Err(DecodeError::from(format!(
            "IPVS statistics attribute {kind}: {n} bytes, expected 4 or 8"
        ))),
    }
}

// ---------------------------------------------------------------------------
// Table types <-> attributes.

/// The address union for `addr`: IPv4 in the first four bytes, zeros after.
pub fn addr_union(addr: &IpAddr) -> [u8; 16] {
    let mut a = [0u8; 16];
    match addr {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a = v6.octets(),
    }
    a
}

/// Cut the address union by family.
pub fn addr_from_union(family: Family, a: &[u8; 16]) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(*a)),
    }
}

/// The identifying attributes of a service: enough for DEL_SERVICE,
/// GET_SERVICE and every destination command.
pub fn service_key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => vec![
            SvcAttr::Af(Family::of(addr).af()),
            SvcAttr::Protocol(protocol.number()),
            SvcAttr::Addr(addr_union(addr)),
            SvcAttr::Port(*port),
        ],
        ServiceKey::Fwmark { family, fwmark } => {
            vec![SvcAttr::Af(family.af()), SvcAttr::Fwmark(*fwmark)]
        }
    }
}

/// The full service, as NEW_SERVICE and SET_SERVICE need it. The flags go
/// with an all-ones mask: the kernel then takes them as given.
pub fn service_attrs(svc: &Service) -> Vec<SvcAttr> {
    let mut v = service_key_attrs(&svc.key);
    v.push(SvcAttr::SchedName(svc.scheduler.name().to_owned()));
    if let Some(pe) = &svc.pe_name {
        v.push(SvcAttr::PeName(pe.clone()));
    }
    v.push(SvcAttr::Flags {
        flags: svc.flags.user().0,
        mask: u32::MAX,
    });
    v.push(SvcAttr::Timeout(svc.timeout));
    v.push(SvcAttr::Netmask(svc.netmask.to_bytes()));
    v
}

/// The identifying attributes of a destination (DEL_DEST).
pub fn dest_key_attrs(addr: &IpAddr, port: u16) -> Vec<DestAttr> {
    vec![
        DestAttr::AddrFamily(Family::of(addr).af()),
        DestAttr::Addr(addr_union(addr)),
        DestAttr::Port(port),
    ]
}

/// The full destination, as NEW_DEST and SET_DEST need it, in the order
/// ipvsadm sends the attributes. The tunnel attributes go only with a
/// tunnel (kernels before 5.3 know none of them).
pub fn dest_attrs(d: &Destination) -> Vec<DestAttr> {
    let mut v = vec![
        DestAttr::AddrFamily(Family::of(&d.addr).af()),
        DestAttr::Addr(addr_union(&d.addr)),
        DestAttr::Port(d.port),
        DestAttr::FwdMethod(d.forward.method()),
        DestAttr::Weight(d.weight),
    ];
    if let Forward::Tunnel {
        tun_type,
        port,
        flags,
    } = d.forward
    {
        v.push(DestAttr::TunType(tun_type.number()));
        v.push(DestAttr::TunPort(port));
        v.push(DestAttr::TunFlags(flags.0));
    }
    v.push(DestAttr::UThresh(d.u_threshold));
    v.push(DestAttr::LThresh(d.l_threshold));
    v
}

/// The counters of a `STATS` or `STATS64` attribute.
pub fn stats_from_attrs(attrs: &[StatsAttr]) -> Stats {
    let mut s = Stats::default();
    for a in attrs {
        let (kind, value) = match a {
            StatsAttr::U32(k, v) => (*k, u64::from(*v)),
            StatsAttr::U64(k, v) => (*k, *v),
            StatsAttr::Other(_) => continue,
        };
        let slot = match kind {
            stats_attr::CONNS => &mut s.conns,
            stats_attr::INPKTS => &mut s.inpkts,
            stats_attr::OUTPKTS => &mut s.outpkts,
            stats_attr::INBYTES => &mut s.inbytes,
            stats_attr::OUTBYTES => &mut s.outbytes,
            stats_attr::CPS => &mut s.cps,
            stats_attr::INPPS => &mut s.inpps,
            stats_attr::OUTPPS => &mut s.outpps,
            stats_attr::INBPS => &mut s.inbps,
            stats_attr::OUTBPS => &mut s.outbps,
            _ => continue,
        };
        *slot = value;
    }
    s
}

fn missing(what: &str) -> DecodeError {
    DecodeError::from(format!("IPVS reply lacks {what}"))
}

/// Read a service from the attributes nested in `IPVS_CMD_ATTR_SERVICE`.
pub fn service_from_attrs(attrs: &[SvcAttr]) -> Result<ServiceEntry, DecodeError> {
    let mut af = None;
    let mut protocol = None;
    let mut addr = None;
    let mut port = None;
    let mut fwmark = None;
    let mut sched = None;
    let mut flags = 0;
    let mut timeout = 0;
    let mut netmask = None;
    let mut pe_name = None;
    let mut stats32 = None;
    let mut stats64 = None;
    for a in attrs {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => protocol = Some(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => fwmark = Some(*v),
            SvcAttr::SchedName(v) => sched = Some(v.clone()),
            SvcAttr::Flags { flags: f, .. } => flags = *f,
            SvcAttr::Timeout(v) => timeout = *v,
            SvcAttr::Netmask(v) => netmask = Some(*v),
            SvcAttr::Stats(v) => stats32 = Some(stats_from_attrs(v)),
            SvcAttr::PeName(v) => pe_name = Some(v.clone()).filter(|s| !s.is_empty()),
            SvcAttr::Stats64(v) => stats64 = Some(stats_from_attrs(v)),
            SvcAttr::Other(_) => {}
        }
    }
    let af = af.ok_or_else(|| missing("the service address family"))?;
    let family = Family::from_af(af)
        .ok_or_else(|| DecodeError::from(format!("IPVS service of unknown family {af}")))?;
    // The kernel sends a firewall mark only for fwmark services (and then
    // no protocol/address/port); a zero mark means "not a fwmark service".
    let key = match fwmark.filter(|&m| m != 0) {
        Some(fwmark) => ServiceKey::Fwmark { family, fwmark },
        None => {
            let p = protocol.ok_or_else(|| missing("the service protocol"))?;
            ServiceKey::Addr {
                protocol: Protocol::from_number(p).ok_or_else(|| {
                    DecodeError::from(format!("IPVS service of unknown protocol {p}"))
                })?,
                addr: addr_from_union(family, &addr.ok_or_else(|| missing("the service address"))?),
                port: port.ok_or_else(|| missing("the service port"))?,
            }
        }
    };
    let service = Service {
        key,
        scheduler: Scheduler::from(sched.ok_or_else(|| missing("the scheduler name"))?),
        flags: ServiceFlags(flags).user(),
        timeout,
        netmask: netmask
            .map(|b| Netmask::from_bytes(family, b))
            .unwrap_or(Netmask::host(family)),
        pe_name,
    };
    Ok(ServiceEntry {
        service,
        stats: stats64.or(stats32),
        destinations: Vec::new(),
    })
}

/// Read a destination from the attributes nested in `IPVS_CMD_ATTR_DEST`.
/// Kernels before 3.18 send no `ADDR_FAMILY`: the destination then has the
/// family of its service, `svc_family`.
pub fn dest_from_attrs(attrs: &[DestAttr], svc_family: Family) -> Result<DestEntry, DecodeError> {
    let mut addr = None;
    let mut port = None;
    let mut fwd = None;
    let mut weight = 0;
    let mut u_threshold = 0;
    let mut l_threshold = 0;
    let mut active_conns = 0;
    let mut inact_conns = 0;
    let mut persist_conns = 0;
    let mut family = svc_family;
    let mut tun_type = 0;
    let mut tun_port = 0;
    let mut tun_flags = 0;
    let mut stats32 = None;
    let mut stats64 = None;
    for a in attrs {
        match a {
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = *v,
            DestAttr::UThresh(v) => u_threshold = *v,
            DestAttr::LThresh(v) => l_threshold = *v,
            DestAttr::ActiveConns(v) => active_conns = *v,
            DestAttr::InactConns(v) => inact_conns = *v,
            DestAttr::PersistConns(v) => persist_conns = *v,
            DestAttr::Stats(v) => stats32 = Some(stats_from_attrs(v)),
            DestAttr::AddrFamily(v) => {
                family = Family::from_af(*v).ok_or_else(|| {
                    DecodeError::from(format!("IPVS destination of unknown family {v}"))
                })?
            }
            DestAttr::Stats64(v) => stats64 = Some(stats_from_attrs(v)),
            DestAttr::TunType(v) => tun_type = *v,
            DestAttr::TunPort(v) => tun_port = *v,
            DestAttr::TunFlags(v) => tun_flags = *v,
            DestAttr::Other(_) => {}
        }
    }
    let method = fwd.ok_or_else(|| missing("the forwarding method"))?;
    // Only the low three bits name the method (IP_VS_CONN_F_FWD_MASK).
    let forward = match method & 0x7 {
        0 => Forward::Masq,
        1 => Forward::Local,
        2 => Forward::Tunnel {
            tun_type: TunnelType::from_number(tun_type).ok_or_else(|| {
                DecodeError::from(format!(
                    "IPVS destination of unknown tunnel type {tun_type}"
                ))
            })?,
            port: tun_port,
            flags: TunnelFlags(tun_flags),
        },
        3 => Forward::Route,
        4 => Forward::Bypass,
        m => {
            return Err(DecodeError::from(format!(
                "IPVS destination of unknown forwarding method {m}"
            )));
        }
    };
    let dest = Destination {
        addr: addr_from_union(
            family,
            &addr.ok_or_else(|| missing("the destination address"))?,
        ),
        port: port.ok_or_else(|| missing("the destination port"))?,
        forward,
        weight,
        u_threshold,
        l_threshold,
    };
    Ok(DestEntry {
        dest,
        active_conns,
        inact_conns,
        persist_conns,
        stats: stats64.or(stats32),
    })
}

/// The daemon attributes for NEW_DAEMON.
pub fn daemon_attrs(d: &SyncDaemon) -> Vec<DaemonAttr> {
    let mut v = vec![
        DaemonAttr::State(d.state.number()),
        DaemonAttr::McastIfn(d.mcast_ifn.clone()),
        DaemonAttr::SyncId(d.syncid),
    ];
    if let Some(m) = d.sync_maxlen {
        v.push(DaemonAttr::SyncMaxlen(m));
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => v.push(DaemonAttr::McastGroup(a)),
        Some(IpAddr::V6(a)) => v.push(DaemonAttr::McastGroup6(a)),
        None => {}
    }
    if let Some(p) = d.mcast_port {
        v.push(DaemonAttr::McastPort(p));
    }
    if let Some(t) = d.mcast_ttl {
        v.push(DaemonAttr::McastTtl(t));
    }
    v
}

/// Read a sync daemon from the attributes nested in `IPVS_CMD_ATTR_DAEMON`.
pub fn daemon_from_attrs(attrs: &[DaemonAttr]) -> Result<SyncDaemon, DecodeError> {
    let mut state = None;
    let mut d = SyncDaemon::new(DaemonState::Master, "", 0);
    for a in attrs {
        match a {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(v) => d.mcast_ifn = v.clone(),
            DaemonAttr::SyncId(v) => d.syncid = *v,
            DaemonAttr::SyncMaxlen(v) => d.sync_maxlen = Some(*v),
            DaemonAttr::McastGroup(v) => d.mcast_group = Some(IpAddr::V4(*v)),
            DaemonAttr::McastGroup6(v) => d.mcast_group = Some(IpAddr::V6(*v)),
            DaemonAttr::McastPort(v) => d.mcast_port = Some(*v),
            DaemonAttr::McastTtl(v) => d.mcast_ttl = Some(*v),
            DaemonAttr::Other(_) => {}
        }
    }
    let s = state.ok_or_else(|| missing("the daemon state"))?;
    d.state = DaemonState::from_number(s)
        .ok_or_else(|| DecodeError::from(format!("IPVS daemon of unknown state {s}")))?;
    Ok(d)
}

// ---------------------------------------------------------------------------
// Requests.

impl IpvsMessage {
    pub fn new(cmd: IpvsCmd, attrs: Vec<CmdAttr>) -> Self {
        IpvsMessage { cmd, attrs }
    }

    pub fn new_service(svc: &Service) -> Self {
        Self::new(
            IpvsCmd::NewService,
            vec![CmdAttr::Service(service_attrs(svc))],
        )
    }

    pub fn set_service(svc: &Service) -> Self {
        Self::new(
            IpvsCmd::SetService,
            vec![CmdAttr::Service(service_attrs(svc))],
        )
    }

    pub fn del_service(key: &ServiceKey) -> Self {
        Self::new(
            IpvsCmd::DelService,
            vec![CmdAttr::Service(service_key_attrs(key))],
        )
    }

    /// GET_SERVICE: one service (a plain request) or all (with NLM_F_DUMP
    /// and no attribute).
    pub fn get_service(key: Option<&ServiceKey>) -> Self {
        let attrs = key
            .map(|k| vec![CmdAttr::Service(service_key_attrs(k))])
            .unwrap_or_default();
        Self::new(IpvsCmd::GetService, attrs)
    }

    pub fn new_dest(svc: &ServiceKey, d: &Destination) -> Self {
        Self::new(
            IpvsCmd::NewDest,
            vec![
                CmdAttr::Service(service_key_attrs(svc)),
                CmdAttr::Dest(dest_attrs(d)),
            ],
        )
    }

    pub fn set_dest(svc: &ServiceKey, d: &Destination) -> Self {
        Self::new(
            IpvsCmd::SetDest,
            vec![
                CmdAttr::Service(service_key_attrs(svc)),
                CmdAttr::Dest(dest_attrs(d)),
            ],
        )
    }

    pub fn del_dest(svc: &ServiceKey, addr: &IpAddr, port: u16) -> Self {
        Self::new(
            IpvsCmd::DelDest,
            vec![
                CmdAttr::Service(service_key_attrs(svc)),
                CmdAttr::Dest(dest_key_attrs(addr, port)),
            ],
        )
    }

    /// GET_DEST (always a dump): the destinations of one service.
    pub fn get_dest(svc: &ServiceKey) -> Self {
        Self::new(
            IpvsCmd::GetDest,
            vec![CmdAttr::Service(service_key_attrs(svc))],
        )
    }

    pub fn new_daemon(d: &SyncDaemon) -> Self {
        Self::new(IpvsCmd::NewDaemon, vec![CmdAttr::Daemon(daemon_attrs(d))])
    }

    pub fn del_daemon(state: DaemonState) -> Self {
        Self::new(
            IpvsCmd::DelDaemon,
            vec![CmdAttr::Daemon(vec![DaemonAttr::State(state.number())])],
        )
    }

    pub fn get_daemon() -> Self {
        Self::new(IpvsCmd::GetDaemon, vec![])
    }

    /// SET_CONFIG: only the timeouts given are changed.
    pub fn set_config(t: &Timeouts) -> Self {
        let mut attrs = Vec::new();
        if let Some(v) = t.tcp {
            attrs.push(CmdAttr::TimeoutTcp(v));
        }
        if let Some(v) = t.tcp_fin {
            attrs.push(CmdAttr::TimeoutTcpFin(v));
        }
        if let Some(v) = t.udp {
            attrs.push(CmdAttr::TimeoutUdp(v));
        }
        Self::new(IpvsCmd::SetConfig, attrs)
    }

    pub fn get_config() -> Self {
        Self::new(IpvsCmd::GetConfig, vec![])
    }

    pub fn get_info() -> Self {
        Self::new(IpvsCmd::GetInfo, vec![])
    }

    /// ZERO: the counters of one service, or of all when `None`.
    pub fn zero(svc: Option<&ServiceKey>) -> Self {
        let attrs = svc
            .map(|k| vec![CmdAttr::Service(service_key_attrs(k))])
            .unwrap_or_default();
        Self::new(IpvsCmd::Zero, attrs)
    }

    pub fn flush() -> Self {
        Self::new(IpvsCmd::Flush, vec![])
    }

    // Reply readers.

    /// The service of a NEW_SERVICE reply (GET_SERVICE answer or dump part).
    pub fn to_service(&self) -> Result<ServiceEntry, DecodeError> {
        self.attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Service(s) => Some(service_from_attrs(s)),
                _ => None,
            })
            .unwrap_or_else(|| Err(missing("a service attribute")))
    }

    /// The destination of a NEW_DEST reply (GET_DEST dump part).
    pub fn to_dest(&self, svc_family: Family) -> Result<DestEntry, DecodeError> {
        self.attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Dest(d) => Some(dest_from_attrs(d, svc_family)),
                _ => None,
            })
            .unwrap_or_else(|| Err(missing("a destination attribute")))
    }

    /// The daemon of a NEW_DAEMON reply (GET_DAEMON dump part).
    pub fn to_daemon(&self) -> Result<SyncDaemon, DecodeError> {
        self.attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Daemon(d) => Some(daemon_from_attrs(d)),
                _ => None,
            })
            .unwrap_or_else(|| Err(missing("a daemon attribute")))
    }

    /// The timeouts of a SET_CONFIG reply.
    pub fn to_timeouts(&self) -> Timeouts {
        let mut t = Timeouts::default();
        for a in &self.attrs {
            match a {
                CmdAttr::TimeoutTcp(v) => t.tcp = Some(*v),
                CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = Some(*v),
                CmdAttr::TimeoutUdp(v) => t.udp = Some(*v),
                _ => {}
            }
        }
        t
    }

    /// The version and table size of a SET_INFO reply.
    pub fn to_info(&self) -> Result<Info, DecodeError> {
        let mut version = None;
        let mut size = None;
        for a in &self.attrs {
            match a {
                CmdAttr::InfoVersion(v) => version = Some(*v),
                CmdAttr::InfoConnTabSize(v) => size = Some(*v),
                _ => {}
            }
        }
        Ok(Info {
            version: version.ok_or_else(|| missing("the IPVS version"))?,
            conn_tab_size: size.ok_or_else(|| missing("the connection table size"))?,
        })
    }
}
