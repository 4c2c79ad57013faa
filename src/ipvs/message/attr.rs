//! The IPVS generic-netlink vocabulary of `ip_vs.h`: the family, the
//! commands, the attribute numbers, [`IpvsMessage`] and one enum per
//! attribute level, and how each attribute is written on the wire.
//!
//! Values as on the wire, one variant per attribute number; what they mean
//! for the table is [`super::table`]'s, reading them back [`super::parse`]'s.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, Emitable, NLA_F_NESTED, Nla};
use netlink_packet_generic::GenlFamily;

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
    /// Raw bytes: see [`Netmask`](crate::ipvs::types::Netmask) for their two meanings.
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
    /// Host order on the wire too: the kernel reads it with `nla_get_u16`
    /// and converts only when it fills the socket address (`ip_vs_ctl.c`).
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
