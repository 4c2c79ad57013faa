//! The table types of [`crate::ipvs::types`] to attribute lists and back:
//! where the layouts are interpreted (the 16-byte address union cut by
//! family, big-endian ports, the netmask, 32- or 64-bit counters).
//!
//! No bytes here: the attribute enums in, the attribute enums out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::DecodeError;

use super::attr::{DaemonAttr, DestAttr, StatsAttr, SvcAttr, stats_attr};
use crate::ipvs::types::{
    DaemonState, DestEntry, Destination, Family, Forward, Netmask, Protocol, Scheduler, Service,
    ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon, TunnelFlags, TunnelType,
};

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

/// A reply without an attribute it must carry.
pub(super) fn missing(what: &str) -> DecodeError {
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
