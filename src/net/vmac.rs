//! Macvlan and ipvlan links over rtnetlink, and the per-link IPv4 settings
//! (`net.ipv4.conf.IF.*`) they need: what `use_vmac` and `use_ipvlan`
//! create, change and remove.
//!
//! The settings are written as keepalived writes them, with `RTM_SETLINK`
//! and `IFLA_AF_SPEC` / `AF_INET` / `IFLA_INET_CONF` rather than through
//! `/proc/sys`, which a hardened service (`ProtectKernelTunables=yes`)
//! cannot write.
//!
//! Owns: those requests and reading a link's kind and settings from a
//! dump. May not: decide which links an instance needs (the daemon does).

use netlink_packet_core::{DefaultNla, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    AfSpecInet, AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoIpVlan, InfoKind,
    InfoMacVlan, IpVlanFlags, IpVlanMode, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo,
    LinkMessage, MacVlanMode,
};

use super::rtnl::{Rtnl, RtnlError};
pub use super::vlan::{IPVLAN_F_PRIVATE, IPVLAN_F_VEPA, IPVLAN_MODE_L2, MACVLAN_MODE_PRIVATE};

/// `IFLA_INET_CONF` inside `IFLA_AF_SPEC` / `AF_INET`.
const IFLA_INET_CONF: u16 = 1;

/// An IPv4 per-link setting, by its `IPV4_DEVCONF_*` number (linux/ip.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevConf {
    RpFilter = 8,
    ArpFilter = 13,
    ArpIgnore = 19,
    PromoteSecondaries = 20,
    AcceptLocal = 23,
}

/// `net.ipv4.conf.{all,default}.rp_filter`, which no rtnetlink request
/// reaches (links have `IFLA_INET_CONF`; these two are only in /proc/sys).
pub fn read_rp_filter(which: ConfScope) -> Result<i32, std::io::Error> {
    let text = std::fs::read_to_string(which.path())?;
    text.trim().parse().map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {text:?}", which.path()),
        )
    })
}

/// Write `net.ipv4.conf.{all,default}.rp_filter`.
pub fn write_rp_filter(which: ConfScope, value: i32) -> Result<(), std::io::Error> {
    std::fs::write(which.path(), format!("{value}\n"))
}

/// `net.ipv6.conf.IF.disable_ipv6`, which rtnetlink cannot set.
pub fn write_disable_ipv6(ifname: &str, disable: bool) -> Result<(), std::io::Error> {
    if ifname.contains('/') || ifname.starts_with('.') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            ifname.to_string(),
        ));
    }
    let path = format!("/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6");
    std::fs::write(path, if disable { "1\n" } else { "0\n" })
}

/// Which of the two namespace-wide IPv4 setting sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfScope {
    All,
    Default,
}

impl ConfScope {
    fn path(self) -> &'static str {
        match self {
            ConfScope::All => "/proc/sys/net/ipv4/conf/all/rp_filter",
            ConfScope::Default => "/proc/sys/net/ipv4/conf/default/rp_filter",
        }
    }
}

/// The link to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewVlan {
    /// A private-mode macvlan with this MAC address.
    Macvlan { mac: [u8; 6] },
    /// An L2 ipvlan with these `IPVLAN_F_*` flags.
    Ipvlan { flags: u16 },
}

/// `IFLA_INET_CONF` as the kernel takes it in a request: one 32-bit
/// attribute per setting, typed by its `IPV4_DEVCONF_*` number. (The
/// library's own request form leaves out zero values, and zero is what
/// `rp_filter` must be set to.)
fn inet_conf_request(settings: &[(DevConf, u32)]) -> AfSpecUnspec {
    let mut value = Vec::with_capacity(settings.len() * 8);
    for (which, v) in settings {
        value.extend_from_slice(&8u16.to_ne_bytes());
        value.extend_from_slice(&(*which as u16).to_ne_bytes());
        value.extend_from_slice(&v.to_ne_bytes());
    }
    AfSpecUnspec::Inet(vec![AfSpecInet::Other(DefaultNla::new(
        IFLA_INET_CONF | NLA_F_NESTED,
        value,
    ))])
}

impl Rtnl {
    /// Create `name` on link `parent`, in `group` (keepalived puts a vmac
    /// in its base's group, so that firewall rules by group still match).
    /// Created down: the caller sets it up once configured. Returns its
    /// index.
    pub fn add_vlan(
        &mut self,
        name: &str,
        parent: u32,
        group: u32,
        vlan: &NewVlan,
    ) -> Result<u32, RtnlError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Link(parent));
        msg.attributes.push(LinkAttribute::Group(group));
        let (kind, data) = match vlan {
            NewVlan::Macvlan { mac } => {
                msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
                (
                    InfoKind::MacVlan,
                    InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Private)]),
                )
            }
            NewVlan::Ipvlan { flags } => (
                InfoKind::IpVlan,
                InfoData::IpVlan(vec![
                    InfoIpVlan::Mode(IpVlanMode::L2),
                    InfoIpVlan::Flags(IpVlanFlags::from_bits_retain(*flags)),
                ]),
            ),
        };
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            NlLinkInfo::Kind(kind),
            NlLinkInfo::Data(data),
        ]));
        self.request(
            "create link",
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )?;
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or(RtnlError::Decode {
                op: "create link",
                reason: format!("{name} is not listed after it was created"),
            })
    }

    /// Remove a link. `Ok(false)` when it was already gone.
    pub fn del_link(&mut self, index: u32) -> Result<bool, RtnlError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        match self.request("remove link", RouteNetlinkMessage::DelLink(msg), NLM_F_ACK) {
            Ok(_) => Ok(true),
            Err(RtnlError::Kernel { source, .. })
                if source.raw_os_error() == Some(libc::ENODEV) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Set a link administratively up.
    pub fn set_link_up(&mut self, index: u32) -> Result<(), RtnlError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request("set link up", RouteNetlinkMessage::SetLink(msg), NLM_F_ACK)
            .map(|_| ())
    }

    /// No automatic IPv6 link-local address on the link (RFC 5798 §7.4:
    /// one derived from the virtual MAC would be shared by every router).
    /// Must come before the link is set up.
    pub fn set_addr_gen_mode_none(&mut self, index: u32) -> Result<(), RtnlError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
            )]));
        self.request(
            "set addr_gen_mode none",
            RouteNetlinkMessage::SetLink(msg),
            NLM_F_ACK,
        )
        .map(|_| ())
    }

    /// Write IPv4 settings of a link (`net.ipv4.conf.IF.*`).
    pub fn set_inet_conf(
        &mut self,
        index: u32,
        settings: &[(DevConf, u32)],
    ) -> Result<(), RtnlError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::AfSpecUnspec(vec![inet_conf_request(
                settings,
            )]));
        self.request(
            "set IPv4 settings",
            RouteNetlinkMessage::SetLink(msg),
            NLM_F_ACK,
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, Nla};

    #[test]
    fn a_zero_setting_is_sent() {
        let AfSpecUnspec::Inet(inet) =
            inet_conf_request(&[(DevConf::RpFilter, 0), (DevConf::ArpIgnore, 1)])
        else {
            panic!("not AF_INET");
        };
        let nla = &inet[0];
        assert_eq!(nla.kind(), IFLA_INET_CONF | NLA_F_NESTED);
        let mut buf = vec![0u8; nla.value_len()];
        nla.emit_value(&mut buf);
        let mut want = Vec::new();
        for (t, v) in [(8u16, 0u32), (19, 1)] {
            want.extend_from_slice(&8u16.to_ne_bytes());
            want.extend_from_slice(&t.to_ne_bytes());
            want.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(buf, want);
        assert_eq!(inet.as_slice().buffer_len(), 4 + 16);
    }
}
