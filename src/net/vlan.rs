//! What a link dump says about macvlans and ipvlans and a link's IPv4
//! settings: the vocabulary `rtnl` (which reads links) and `vmac` (which
//! makes them) share.
//!
//! Owns: those types, the kernel's mode numbers, and decoding them from a
//! `RTM_NEWLINK`'s attributes. May not: send anything.

use netlink_packet_route::link::{
    AfSpecInet, AfSpecUnspec, InfoData, InfoIpVlan, InfoKind, InfoMacVlan, LinkInfo as NlLinkInfo,
};

/// `MACVLAN_MODE_PRIVATE` (linux/if_link.h).
pub const MACVLAN_MODE_PRIVATE: u32 = 1;
/// `IPVLAN_MODE_L2`.
pub const IPVLAN_MODE_L2: u16 = 0;
/// `IPVLAN_F_PRIVATE`, `IPVLAN_F_VEPA`.
pub const IPVLAN_F_PRIVATE: u16 = 1;
pub const IPVLAN_F_VEPA: u16 = 2;

/// A macvlan's or an ipvlan's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VlanInfo {
    /// A macvlan in mode `MACVLAN_MODE_*` (private is 1).
    Macvlan { mode: u32 },
    /// An ipvlan in mode `IPVLAN_MODE_*` (L2 is 0) with `IPVLAN_F_*` flags.
    Ipvlan { mode: u16, flags: u16 },
}

/// A few of a link's IPv4 settings (`net.ipv4.conf.IF.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InetConf {
    pub arp_ignore: i32,
    pub arp_filter: i32,
    pub rp_filter: i32,
    pub promote_secondaries: i32,
}

/// The kind and mode of a link, from its `IFLA_LINKINFO`.
pub(super) fn vlan_info(infos: &[NlLinkInfo]) -> Option<VlanInfo> {
    let mut kind = None;
    let mut data = None;
    for i in infos {
        match i {
            NlLinkInfo::Kind(k) => kind = Some(k.clone()),
            NlLinkInfo::Data(d) => data = Some(d),
            _ => {}
        }
    }
    match (kind?, data) {
        (InfoKind::MacVlan, Some(InfoData::MacVlan(attrs))) => {
            let mode = attrs.iter().find_map(|a| match a {
                InfoMacVlan::Mode(m) => Some(u32::from(*m)),
                _ => None,
            });
            Some(VlanInfo::Macvlan {
                mode: mode.unwrap_or(0),
            })
        }
        (InfoKind::MacVlan, _) => Some(VlanInfo::Macvlan { mode: 0 }),
        (InfoKind::IpVlan, Some(InfoData::IpVlan(attrs))) => {
            let mut mode = IPVLAN_MODE_L2;
            let mut flags = 0;
            for a in attrs {
                match a {
                    InfoIpVlan::Mode(m) => mode = u16::from(*m),
                    InfoIpVlan::Flags(f) => flags = f.bits(),
                    _ => {}
                }
            }
            Some(VlanInfo::Ipvlan { mode, flags })
        }
        (InfoKind::IpVlan, _) => Some(VlanInfo::Ipvlan {
            mode: IPVLAN_MODE_L2,
            flags: 0,
        }),
        _ => None,
    }
}

/// The settings a vmac changes, from a link's `IFLA_AF_SPEC`.
pub(super) fn inet_conf(spec: &[AfSpecUnspec]) -> Option<InetConf> {
    spec.iter().find_map(|s| match s {
        AfSpecUnspec::Inet(inet) => inet.iter().find_map(|i| match i {
            AfSpecInet::DevConf(c) => Some(InetConf {
                arp_ignore: c.arp_ignore,
                arp_filter: c.arpfilter,
                rp_filter: c.rp_filter,
                promote_secondaries: c.promote_secondaries,
            }),
            _ => None,
        }),
        _ => None,
    })
}
