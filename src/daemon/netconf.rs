//! keepalived.conf's address, route and rule lines → the rtnetlink items
//! that carry them out: shared by an instance's VIPs, routes and rules
//! (`configure`) and the static ones the daemon holds from start to exit
//! (`statics`).
//!
//! Pure: interfaces are resolved by the caller (an index for addresses
//! and routes; rules keep names, as the kernel does).

use std::net::IpAddr;

use crate::config::{self, IpRule, VirtualIpAddress, VirtualRoute};
use crate::net::{IfAddress, Route, RouteKind, Rule, RuleKind, Scope};

pub(super) fn scope_of(s: Option<config::Scope>) -> Scope {
    match s {
        None | Some(config::Scope::Global) => Scope::Global,
        Some(config::Scope::Site) => Scope::Site,
        Some(config::Scope::Link) => Scope::Link,
        Some(config::Scope::Host) => Scope::Host,
        Some(config::Scope::Nowhere) => Scope::Nowhere,
    }
}

/// A `virtual_ipaddress` / `static_ipaddress` line on link `ifindex`.
pub(super) fn address_of(v: &VirtualIpAddress, ifindex: u32) -> IfAddress {
    let broadcast = match v.brd {
        Some(IpAddr::V4(b)) => Some(b),
        _ => None,
    };
    IfAddress {
        ifindex,
        addr: v.address,
        prefix_len: v.prefix_len,
        broadcast,
        label: v.label.clone(),
        scope: scope_of(v.scope),
        nodad: v.address.is_ipv6() && !v.dad,
        peer: v.peer,
        flags: v.flags.bits(),
        preferred_lft: v.preferred_lft,
    }
}

/// A `virtual_routes` / `static_routes` line; `oif` its `dev`'s index.
pub(super) fn route_of(r: &VirtualRoute, oif: Option<u32>) -> Route {
    Route {
        dst: r.destination.address,
        dst_len: r.destination.prefix_len,
        gateway: r.via,
        oif,
        src: r.src,
        metric: r.metric,
        table: r.table,
        scope: r.scope.map(|s| scope_of(Some(s))),
        kind: match r.route_type {
            config::RouteType::Unicast => RouteKind::Unicast,
            config::RouteType::Blackhole => RouteKind::Blackhole,
            config::RouteType::Unreachable => RouteKind::Unreachable,
            config::RouteType::Prohibit => RouteKind::Prohibit,
            config::RouteType::Throw => RouteKind::Throw,
        },
    }
}

/// A `virtual_rules` / `static_rules` line.
pub(super) fn rule_of(r: &IpRule) -> Rule {
    let pfx = |p: &Option<config::IpPrefix>| p.map(|p| (p.address, p.prefix_len));
    Rule {
        v6: r.family == config::AddressFamily::Inet6,
        from: pfx(&r.from),
        to: pfx(&r.to),
        invert: r.invert,
        priority: r.priority,
        tos: r.tos,
        fwmark: r.fwmark,
        fwmask: r.fwmask,
        iif: r.iif.clone(),
        oif: r.oif.clone(),
        realms: r.realms,
        suppress_prefixlength: r.suppress_prefixlength,
        suppress_ifgroup: r.suppress_ifgroup,
        tunnel_id: r.tunnel_id,
        uidrange: r.uidrange.map(|u| (u.start, u.end)),
        protocol: r.protocol,
        ipproto: r.ipproto,
        sport: r.sport.map(|u| (u.start, u.end)),
        dport: r.dport.map(|u| (u.start, u.end)),
        kind: match r.action {
            config::RuleAction::Table(t) => RuleKind::Table(t),
            config::RuleAction::L3mdev => RuleKind::L3mdev,
            config::RuleAction::Goto(t) => RuleKind::Goto(t),
            config::RuleAction::Nop => RuleKind::Nop,
            config::RuleAction::Blackhole => RuleKind::Blackhole,
            config::RuleAction::Unreachable => RuleKind::Unreachable,
            config::RuleAction::Prohibit => RuleKind::Prohibit,
        },
    }
}
