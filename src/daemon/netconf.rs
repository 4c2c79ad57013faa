//! keepalived.conf's address, route and rule lines → the rtnetlink items
//! that carry them out: shared by an instance's VIPs, routes and rules
//! (`configure`) and the static ones the daemon holds from start to exit
//! (`statics`).
//!
//! Pure: interfaces are resolved by the caller (an index for addresses
//! and routes; rules keep names, as the kernel does).

use std::net::IpAddr;

use crate::config::{self, IpRule, VirtualIpAddress, VirtualRoute};
use crate::net::{
    AddMode, Encap, IfAddress, NextHop, Route, RouteKind, RouteOptions, Rule, RuleKind, Scope,
};

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

/// A `virtual_routes` / `static_routes` line; `oif` its `dev`'s index,
/// `hop_oifs` those of its next hops' (0 for a hop without a `dev`), in
/// the order of `r.nexthops`.
pub(super) fn route_of(r: &VirtualRoute, oif: Option<u32>, hop_oifs: &[u32]) -> Route {
    Route {
        dst: r.destination.address,
        dst_len: r.destination.prefix_len,
        gateway: r.via,
        oif,
        src: r.src,
        metric: r.metric,
        table: r.table,
        // keepalived: universe unless the line says (not `ip route`'s
        // link scope for a route without a gateway).
        scope: Some(scope_of(r.scope)),
        kind: kind_of(r.route_type),
        options: RouteOptions {
            nexthops: r
                .nexthops
                .iter()
                .zip(hop_oifs.iter().copied().chain(std::iter::repeat(0)))
                .map(|(h, oif)| NextHop {
                    gateway: h.via,
                    oif,
                    hops: h.weight.map_or(0, |w| w.saturating_sub(1) as u8),
                    onlink: h.onlink,
                    realms: h.realms,
                    encap: h.encap.as_ref().map(encap_of),
                })
                .collect(),
            ..route_options(r)
        },
    }
}

/// The route options; the protocol is keepalived's 18 unless a
/// `no_track` route names another (the reader refuses it otherwise).
fn route_options(r: &VirtualRoute) -> RouteOptions {
    let mut metrics = Vec::new();
    let mut congctl = None;
    for m in &r.metrics {
        let v = match m {
            config::RouteMetric::Congctl(name) => {
                congctl = Some(name.clone());
                continue;
            }
            config::RouteMetric::Mtu(v)
            | config::RouteMetric::Window(v)
            | config::RouteMetric::Rtt(v)
            | config::RouteMetric::Rttvar(v)
            | config::RouteMetric::Ssthresh(v)
            | config::RouteMetric::Cwnd(v)
            | config::RouteMetric::Advmss(v)
            | config::RouteMetric::Reordering(v)
            | config::RouteMetric::Hoplimit(v)
            | config::RouteMetric::Initcwnd(v)
            | config::RouteMetric::Features(v)
            | config::RouteMetric::RtoMin(v)
            | config::RouteMetric::Initrwnd(v)
            | config::RouteMetric::Quickack(v)
            | config::RouteMetric::FastopenNoCookie(v) => *v,
        };
        metrics.push((m.rtax(), v));
    }
    RouteOptions {
        tos: r.tos.unwrap_or(0),
        protocol: Some(r.protocol.unwrap_or(RTPROT_KEEPALIVED)),
        onlink: r.onlink,
        realms: r.realms,
        pref: r.pref,
        expires: r.expires,
        ttl_propagate: r.ttl_propagate,
        metrics,
        congctl,
        lock: r.lock,
        nexthops: Vec::new(),
        from: r.from.map(|p| (p.address, p.prefix_len)),
        encap: r.encap.as_ref().map(encap_of),
        add_mode: match r.add_mode {
            config::RouteAddMode::Prepend => AddMode::Prepend,
            config::RouteAddMode::Add => AddMode::Add,
            config::RouteAddMode::Append => AddMode::Append,
        },
    }
}

fn kind_of(t: config::RouteType) -> RouteKind {
    match t {
        config::RouteType::Unicast => RouteKind::Unicast,
        config::RouteType::Blackhole => RouteKind::Blackhole,
        config::RouteType::Unreachable => RouteKind::Unreachable,
        config::RouteType::Prohibit => RouteKind::Prohibit,
        config::RouteType::Throw => RouteKind::Throw,
        config::RouteType::Local => RouteKind::Local,
        config::RouteType::Broadcast => RouteKind::Broadcast,
        config::RouteType::Anycast => RouteKind::Anycast,
        config::RouteType::Multicast => RouteKind::Multicast,
        config::RouteType::Nat => RouteKind::Nat,
        config::RouteType::Xresolve => RouteKind::Xresolve,
    }
}

fn encap_of(e: &config::RouteEncap) -> Encap {
    Encap {
        ip6: e.ip6,
        id: e.id,
        dst: e.dst,
        src: e.src,
        tos: e.tos,
        ttl: e.ttl,
        flags: e.flags,
    }
}

/// `RTPROT_KEEPALIVED`: the protocol keepalived gives its routes.
const RTPROT_KEEPALIVED: u8 = 18;

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
