//! Reading IPVS messages from the wire: strict about lengths (a value of
//! the wrong size is an error, not a guess), lenient about attributes it
//! does not know (kept as `Other`).
//!
//! Bytes to attribute enums only; their meaning is [`super::table`]'s.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, NlaBuffer, NlasIterator, Parseable, ParseableParametrized,
};
use netlink_packet_generic::GenlHeader;

use super::attr::{
    CmdAttr, DaemonAttr, DestAttr, IpvsCmd, IpvsMessage, StatsAttr, SvcAttr, cmd_attr, daemon_attr,
    dest_attr, info_attr, stats_attr, svc_attr,
};

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
