//! rtnetlink ip rules (`RTM_NEWRULE` / `RTM_DELRULE`): what `ip rule add`
//! and `ip rule del` send, for `virtual_rules` and `static_rules`.
//!
//! Owns the translation of one rule into a `fib_rule_hdr` and its
//! attributes; the request itself goes over [`Rtnl`]'s socket. May not
//! decide which rules a node holds.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{RouteProtocol, RouteRealm};
use netlink_packet_route::rule::{
    RuleAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};
use netlink_packet_route::{AddressFamily, IpProtocol, RouteNetlinkMessage};

use super::rtnl::{Rtnl, RtnlError};

/// What a matching packet does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Table(u32),
    L3mdev,
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One ip rule, interfaces by name (the kernel keeps a rule whose
/// interface does not exist yet, and applies it once it does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// IPv6 (else IPv4).
    pub v6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub invert: bool,
    pub priority: u32,
    pub tos: u8,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub realms: Option<u32>,
    pub suppress_prefixlength: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub tunnel_id: Option<u64>,
    pub uidrange: Option<(u32, u32)>,
    pub protocol: Option<u8>,
    pub ipproto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub kind: RuleKind,
}

impl Rule {
    /// `ip rule add` as keepalived sends it: the table in the header when
    /// it fits in 8 bits, else in `FRA_TABLE`.
    pub(super) fn to_message(&self) -> RuleMessage {
        let mut m = RuleMessage::default();
        m.header.family = if self.v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        m.header.tos = self.tos;
        if self.invert {
            m.header.flags = RuleFlags::Invert;
        }
        let a = &mut m.attributes;
        if let Some((addr, len)) = self.from {
            m.header.src_len = len;
            a.push(RuleAttribute::Source(addr));
        }
        if let Some((addr, len)) = self.to {
            m.header.dst_len = len;
            a.push(RuleAttribute::Destination(addr));
        }
        a.push(RuleAttribute::Priority(self.priority));
        if let Some(v) = self.fwmark {
            a.push(RuleAttribute::FwMark(v));
        }
        if let Some(v) = self.fwmask {
            a.push(RuleAttribute::FwMask(v));
        }
        if let Some(v) = self.realms {
            a.push(RuleAttribute::Realm(RouteRealm {
                source: (v >> 16) as u16,
                destination: (v & 0xffff) as u16,
            }));
        }
        if let Some(v) = self.suppress_prefixlength {
            a.push(RuleAttribute::SuppressPrefixLen(v));
        }
        if let Some(v) = self.suppress_ifgroup {
            a.push(RuleAttribute::SuppressIfGroup(v));
        }
        if let Some(v) = &self.iif {
            a.push(RuleAttribute::Iifname(v.clone()));
        }
        if let Some(v) = &self.oif {
            a.push(RuleAttribute::Oifname(v.clone()));
        }
        if let Some(v) = self.tunnel_id {
            a.push(RuleAttribute::TunId(v));
        }
        if let Some((start, end)) = self.uidrange {
            a.push(RuleAttribute::UidRange(RuleUidRange { start, end }));
        }
        if let Some(v) = self.protocol {
            a.push(RuleAttribute::Protocol(RouteProtocol::from(v)));
        }
        if let Some(v) = self.ipproto {
            a.push(RuleAttribute::IpProtocol(IpProtocol::from(v)));
        }
        if let Some((start, end)) = self.sport {
            a.push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
        }
        if let Some((start, end)) = self.dport {
            a.push(RuleAttribute::DestinationPortRange(RulePortRange {
                start,
                end,
            }));
        }
        m.header.action = match self.kind {
            RuleKind::Table(t) => {
                match u8::try_from(t) {
                    Ok(small) => m.header.table = small,
                    Err(_) => m.attributes.push(RuleAttribute::Table(t)),
                }
                RuleAction::ToTable
            }
            RuleKind::L3mdev => {
                m.attributes.push(RuleAttribute::L3MDev(true));
                RuleAction::ToTable
            }
            RuleKind::Goto(target) => {
                m.attributes.push(RuleAttribute::Goto(target));
                RuleAction::Goto
            }
            RuleKind::Nop => RuleAction::Nop,
            RuleKind::Blackhole => RuleAction::Blackhole,
            RuleKind::Unreachable => RuleAction::Unreachable,
            RuleKind::Prohibit => RuleAction::Prohibit,
        };
        m
    }

    /// For messages: `from 192.0.2.0/24 ... pref 100`.
    pub fn describe(&self) -> String {
        let p = |x: Option<(IpAddr, u8)>| match x {
            Some((a, l)) => format!("{a}/{l}"),
            None => "all".into(),
        };
        format!(
            "from {} to {} pref {}",
            p(self.from),
            p(self.to),
            self.priority
        )
    }
}

/// The errnos the kernel answers when the rule being removed is absent.
const ABSENT: [i32; 2] = [libc::ENOENT, libc::ESRCH];

impl Rtnl {
    /// Add a rule. `Ok(false)` when an identical one was already there.
    pub fn add_rule(&mut self, r: &Rule) -> Result<bool, RtnlError> {
        let msg = RouteNetlinkMessage::NewRule(r.to_message());
        match self.request("add rule", msg, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL) {
            Ok(_) => Ok(true),
            Err(RtnlError::Kernel { source, .. })
                if source.raw_os_error() == Some(libc::EEXIST) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Remove a rule (the kernel matches every attribute sent, the same
    /// as the addition's). `Ok(false)` when it was not there.
    pub fn del_rule(&mut self, r: &Rule) -> Result<bool, RtnlError> {
        let msg = RouteNetlinkMessage::DelRule(r.to_message());
        match self.request("remove rule", msg, NLM_F_ACK) {
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
    use netlink_packet_core::Emitable;

    fn rule() -> Rule {
        Rule {
            v6: false,
            from: Some(("192.0.2.0".parse().unwrap(), 24)),
            to: None,
            invert: true,
            priority: 100,
            tos: 0x10,
            fwmark: Some(7),
            fwmask: Some(0xff),
            iif: Some("eth0".into()),
            oif: None,
            realms: Some((3 << 16) | 4),
            suppress_prefixlength: None,
            suppress_ifgroup: None,
            tunnel_id: None,
            uidrange: Some((1000, 1999)),
            protocol: Some(18),
            ipproto: Some(6),
            sport: None,
            dport: Some((80, 90)),
            kind: RuleKind::Table(300),
        }
    }

    #[test]
    fn a_table_over_255_goes_in_an_attribute_and_the_header_says_unspec() {
        let m = rule().to_message();
        assert_eq!(m.header.table, 0);
        assert_eq!(m.header.action, RuleAction::ToTable);
        assert!(m.attributes.contains(&RuleAttribute::Table(300)));
        assert_eq!(m.header.src_len, 24);
        assert_eq!(m.header.tos, 0x10);
        assert!(m.header.flags.contains(RuleFlags::Invert));
        assert!(m.attributes.contains(&RuleAttribute::Realm(RouteRealm {
            source: 3,
            destination: 4
        })));
        // It serialises (lengths are consistent).
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        let small = Rule {
            kind: RuleKind::Table(100),
            ..rule()
        }
        .to_message();
        assert_eq!(small.header.table, 100);
        assert!(
            !small
                .attributes
                .iter()
                .any(|a| matches!(a, RuleAttribute::Table(_)))
        );
    }
}
