//! `virtual_ipaddress`, `virtual_ipaddress_excluded` and `virtual_routes`
//! entries: `IP[/LEN] [brd IP] [dev IF] ...` and
//! `[src IP] [to] DEST [via|gw IP] [dev IF] ...`.
//!
//! Owns: reading one entry's options. May not: decide which instance
//! holds an address (the vrrp_instance reader does).

use std::net::IpAddr;

use crate::config::keywords;
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::route_extra::ROUTE_EXTRA;
use super::route_options::ROUTE_OPTIONS;
use super::rules::RTPROT_KEEPALIVED;
use super::values::{parse_prefix, parse_scope, parse_table};

impl Builder {
    /// `virtual_ipaddress { IP[/LEN] [brd IP] [dev IF] [scope S] [label L] ... }`.
    pub(super) fn vip_list(&mut self, s: &Stmt) -> Vec<(VirtualIpAddress, Pos)> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            if let Some(v) = b.vip(&st) {
                out.push((v, st.keyword.pos));
            }
        });
        out
    }

    fn vip(&mut self, st: &Stmt) -> Option<VirtualIpAddress> {
        let Some(prefix) = parse_prefix(&st.keyword.text) else {
            let msg = format!(
                "expected an IP address with an optional /prefix, not \"{}\"",
                st.keyword.text
            );
            self.err(st.keyword.pos, msg);
            return None;
        };
        let mut v = VirtualIpAddress {
            address: prefix.address,
            prefix_len: prefix.prefix_len,
            brd: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            no_track: false,
            flags: AddressFlags::default(),
            dad: false,
            preferred_lft: None,
            track_group: None,
        };
        let mut brd_sign = None;
        let mut lft_set = false;
        let mut it = st.args.iter();
        while let Some(w) = it.next() {
            let opt = w.text.as_str();
            match opt {
                "brd" | "broadcast" | "dev" | "scope" | "label" | "peer" => {
                    let Some(val) = it.next() else {
                        self.err(w.pos, format!("\"{opt}\" needs a value"));
                        break;
                    };
                    match opt {
                        "dev" => v.dev = Some(val.text.clone()),
                        "label" => v.label = Some(val.text.clone()),
                        "scope" => match parse_scope(&val.text) {
                            Some(sc) => v.scope = Some(sc),
                            None => self.err(
                                val.pos,
                                format!(
                                    "scope expects global, site, link, host or nowhere, not \"{}\"",
                                    val.text
                                ),
                            ),
                        },
                        "brd" | "broadcast" if matches!(val.text.as_str(), "+" | "-") => {
                            brd_sign = Some((val.text == "+", val.pos));
                        }
                        _ => {
                            if let Some(ip) = self.ip_word(opt, val) {
                                if AddressFamily::of(&ip) != AddressFamily::of(&v.address) {
                                    self.err(
                                        val.pos,
                                        format!("{opt} {ip} is not of the address's family"),
                                    );
                                } else if opt == "peer" {
                                    v.peer = Some(ip);
                                } else {
                                    v.brd = Some(ip);
                                }
                            }
                        }
                    }
                }
                "no_track" => v.no_track = true,
                _ => match self.vip_flag(&mut v, w, &mut it) {
                    Some(true) => {}
                    Some(false) => lft_set = true,
                    None => break,
                },
            }
        }
        if let Some((plus, pos)) = brd_sign {
            self.brd_from_prefix(&mut v, plus, pos);
        }
        if v.address.is_ipv6() && !lft_set && v.prefix_len == 128 {
            // keepalived's default: a /128 VIP is deprecated, so the
            // node's own traffic (health checks) does not take it as source.
            v.preferred_lft = Some(0);
        }
        if v.address.is_ipv4() {
            v.preferred_lft = None;
        }
        Some(v)
    }

    /// The address flags, `preferred_lft` and the refused or unknown
    /// options at `w` (a value taken from `it`): `Some(true)` read,
    /// `Some(false)` a preferred_lft read, `None` the rest of the line is
    /// not read.
    fn vip_flag(
        &mut self,
        v: &mut VirtualIpAddress,
        w: &Word,
        it: &mut std::slice::Iter<'_, Word>,
    ) -> Option<bool> {
        let opt = w.text.as_str();
        match opt {
            "home" => v.flags.home = true,
            "mngtmpaddr" => v.flags.mngtmpaddr = true,
            "noprefixroute" => v.flags.noprefixroute = true,
            "autojoin" => v.flags.autojoin = true,
            "-nodad" => v.dad = true,
            // keepalived 2.2.7 knows only `-nodad`: it reports `nodad`
            // as an unknown entry and goes on, and an IPv6 address
            // gets IFA_F_NODAD anyway.
            "nodad" => self.warn(
                w.pos,
                "\"nodad\" is not a keepalived address option and is ignored \
                 (IPv6 addresses are added without duplicate address detection \
                 anyway; \"-nodad\" asks for it)",
            ),
            "preferred_lft" => {
                let Some(val) = it.next() else {
                    self.err(w.pos, "\"preferred_lft\" needs a value");
                    return None;
                };
                if v.address.is_ipv4() {
                    self.warn(
                        w.pos,
                        "preferred_lft has no effect on an IPv4 address (keepalived sends it for IPv6 only)",
                    );
                }
                match preferred_lft(&val.text) {
                    Some(l) => {
                        v.preferred_lft = l;
                        return Some(false);
                    }
                    None => self.err(
                        val.pos,
                        format!(
                            "preferred_lft expects a number of seconds or forever, not \"{}\"",
                            val.text
                        ),
                    ),
                }
            }
            "track_group" => {
                v.track_group = Some(self.track_group_word(w, it.next())?);
            }
            "use_vmac" => {
                self.err(w.pos, keywords::unsupported_message(opt));
            }
            _ => {
                let msg = match keywords::suggest(opt, ADDRESS_OPTIONS) {
                    Some(m) => format!("unknown address option \"{opt}\"; did you mean \"{m}\"?"),
                    None => format!("unknown address option \"{opt}\""),
                };
                self.err(w.pos, msg);
                // What follows may be its value: one error is enough.
                return None;
            }
        }
        Some(true)
    }

    /// `brd +` / `brd -`: the subnet's last / first address, as keepalived
    /// works it out (`ip addr add ... brd +` does the same).
    fn brd_from_prefix(&mut self, v: &mut VirtualIpAddress, plus: bool, pos: Pos) {
        let sign = if plus { '+' } else { '-' };
        let std::net::IpAddr::V4(a) = v.address else {
            self.err(pos, format!("brd {sign}: an IPv6 address has no broadcast"));
            return;
        };
        if v.peer.is_some() {
            self.err(
                pos,
                format!("brd {sign} with peer: a point-to-point address has no broadcast"),
            );
            return;
        }
        if v.prefix_len > 30 {
            self.err(
                pos,
                format!(
                    "brd {sign}: the prefix /{} is too long for a broadcast address (at most /30)",
                    v.prefix_len
                ),
            );
            return;
        }
        let host = u32::MAX.checked_shr(u32::from(v.prefix_len)).unwrap_or(0);
        let bits = u32::from(a);
        let b = if plus { bits | host } else { bits & !host };
        v.brd = Some(std::net::IpAddr::V4(b.into()));
    }

    /// `virtual_routes { [src IP] [to] DEST [via|gw IP] [dev IF] ... }`.
    pub(super) fn route_list(&mut self, s: &Stmt) -> Vec<VirtualRoute> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            if let Some(r) = b.route(&st) {
                out.push(r);
            }
        });
        out
    }

    fn route(&mut self, st: &Stmt) -> Option<VirtualRoute> {
        // `inet` / `inet6` (anywhere, also `via inet6 ADDR` as ip-route
        // writes it) only choose the family of a `default` destination.
        let mut inet6 = false;
        let words: Vec<&Word> = std::iter::once(&st.keyword)
            .chain(st.args.iter())
            .filter(|w| match w.text.as_str() {
                "inet6" => {
                    inet6 = true;
                    false
                }
                "inet" => false,
                _ => true,
            })
            .collect();
        let mut r = empty_route();
        let mut dest: Option<IpPrefix> = None;
        let mut i = 0;
        let mut ok = true;
        while i < words.len() {
            if words[i].text == "nexthop" {
                ok &= self.route_nexthops(&mut r, &words[i..]);
                break;
            }
            let word = words[i].text.as_str();
            if ROUTE_OPTIONS.contains(&word) || ROUTE_EXTRA.contains(&word) {
                let took = if ROUTE_EXTRA.contains(&word) {
                    self.route_extra(&mut r, &words[i..])
                } else {
                    self.route_option(&mut r, &words[i..])
                };
                match took {
                    Some(n) => i += n,
                    None => {
                        ok = false;
                        break;
                    }
                }
                continue;
            }
            match self.route_word(&mut r, &mut dest, words[i], words.get(i + 1).copied()) {
                RouteStep::Next { words: n, ok: good } => {
                    ok &= good;
                    i += n;
                }
                RouteStep::Stop => {
                    ok = false;
                    break;
                }
            }
        }
        let Some(mut d) = dest else {
            if ok {
                self.err(st.keyword.pos, "virtual route without a destination");
            }
            return None;
        };
        // `default`: IPv4 unless the gateway, the source or `inet6` say
        // IPv6 (keepalived's rule).
        if d.prefix_len == 0 && d.address.is_unspecified() {
            let v6 = inet6
                || r.pref.is_some()
                || r.expires.is_some()
                || r.from.is_some()
                || [r.via, r.src]
                    .into_iter()
                    .chain(r.nexthops.iter().map(|h| h.via))
                    .flatten()
                    .any(|a| a.is_ipv6());
            if v6 {
                d.address = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
            }
        }
        r.destination = d;
        let fam = AddressFamily::of(&d.address);
        let hops = r.nexthops.iter().map(|h| h.via);
        let from = r.from.map(|p| p.address);
        for a in [r.src, r.via, from].into_iter().chain(hops).flatten() {
            if AddressFamily::of(&a) != fam {
                self.err(
                    st.keyword.pos,
                    format!("route to {d}: {a} is not of the destination's family"),
                );
                ok = false;
            }
        }
        ok &= self.route_family_options(&r, d, st.keyword.pos);
        self.route_type_scope(&r, d, st.keyword.pos);
        ok &= self.route_protocol(&mut r, st.keyword.pos);
        if r.track_group.is_some() && r.dev.is_none() {
            // keepalived: a config error, and the track_group dropped.
            let msg = format!("route to {d}: track_group needs a dev (the interface it tracks)");
            self.err(st.keyword.pos, msg);
            ok = false;
        }
        ok.then_some(r)
    }

    /// The options of one family only: `realms` and `tos` are IPv4's,
    /// `pref` and `expires` IPv6's (keepalived refuses the mix). A `tos` on
    /// an IPv6 route is the exception: keepalived 2.2.7 accepts it and
    /// sends it, the kernel refuses the route ("option not available for
    /// IPv6"), keepalived logs that and runs on without it. tandem does the
    /// same, and says so here rather than when it happens.
    fn route_family_options(&mut self, r: &VirtualRoute, d: IpPrefix, pos: Pos) -> bool {
        let v6 = d.address.is_ipv6();
        if r.tos.is_some() && v6 {
            self.warn(
                pos,
                format!(
                    "route to {d}: the kernel refuses a tos on an IPv6 route, so this route will \
                     not be installed (keepalived accepts the line and fails the same way at runtime)"
                ),
            );
        }
        let wrong: Vec<&str> = [
            (
                "realms",
                (r.realms.is_some() || r.nexthops.iter().any(|h| h.realms.is_some())) && v6,
            ),
            ("pref", r.pref.is_some() && !v6),
            ("expires", r.expires.is_some() && !v6),
        ]
        .into_iter()
        .filter_map(|(o, bad)| bad.then_some(o))
        .collect();
        for o in &wrong {
            let fam = if v6 { "an IPv6" } else { "an IPv4" };
            self.err(
                pos,
                format!("route to {d}: {o} is not valid for {fam} route"),
            );
        }
        wrong.is_empty()
    }

    /// keepalived installs every route with protocol 18 (keepalived), and
    /// `protocol N` only with `no_track`: a tracked route's is reset to 18,
    /// with a message, and the route installed so. tandem does the same,
    /// with a warning.
    fn route_protocol(&mut self, r: &mut VirtualRoute, pos: Pos) -> bool {
        if let Some(p) = r
            .protocol
            .filter(|&p| p != RTPROT_KEEPALIVED && !r.no_track)
        {
            self.warn(
                pos,
                format!(
                    "protocol {p}: a tracked route is protocol {RTPROT_KEEPALIVED} (keepalived), so it is installed with {RTPROT_KEEPALIVED}, as keepalived does; add no_track to install it with {p}"
                ),
            );
            r.protocol = None;
        }
        true
    }

    /// A route's destination word: a prefix, `default` / `any` / `all`
    /// (the family settled later, from the gateway), or keepalived's old
    /// `default6`.
    fn route_destination(&mut self, dest: &mut Option<IpPrefix>, w: &Word) -> RouteStep {
        let opt = w.text.as_str();
        match opt {
            "default" | "any" | "all" => {
                *dest = Some(IpPrefix {
                    address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    prefix_len: 0,
                });
                RouteStep::Next { words: 1, ok: true }
            }
            // keepalived's name for the IPv6 default route up to 2.0.7,
            // still read (and logged as deprecated) by 2.2.7.
            "default6" => {
                self.warn(
                    w.pos,
                    "\"default6\" is deprecated (keepalived says so too): write \"inet6 default\"",
                );
                *dest = Some(IpPrefix {
                    address: IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                    prefix_len: 0,
                });
                RouteStep::Next { words: 1, ok: true }
            }
            _ => match parse_prefix(opt) {
                Some(p) => {
                    *dest = Some(p);
                    RouteStep::Next { words: 1, ok: true }
                }
                None => {
                    self.err(
                        w.pos,
                        format!("expected a destination (e.g. 192.0.2.0/24), not \"{opt}\""),
                    );
                    RouteStep::Stop
                }
            },
        }
    }

    /// One word of a route line (`w`, with the word after it), read into
    /// `r`: an option, its value, the route type or the destination.
    fn route_word(
        &mut self,
        r: &mut VirtualRoute,
        dest: &mut Option<IpPrefix>,
        w: &Word,
        value: Option<&Word>,
    ) -> RouteStep {
        let opt = w.text.as_str();
        match opt {
            "src" | "via" | "gw" | "dev" | "scope" | "table" | "metric" | "preference"
            | "priority" => {
                let Some(v) = value else {
                    self.err(w.pos, format!("\"{opt}\" needs a value"));
                    return RouteStep::Stop;
                };
                RouteStep::Next {
                    words: 2,
                    ok: self.route_value(r, opt, v),
                }
            }
            "to" => RouteStep::Next { words: 1, ok: true },
            "track_group" => match self.track_group_word(w, value) {
                Some(name) => {
                    r.track_group = Some(name);
                    RouteStep::Next { words: 2, ok: true }
                }
                None => RouteStep::Stop,
            },
            "no_track" => {
                r.no_track = true;
                RouteStep::Next { words: 1, ok: true }
            }
            // keepalived has no `type` word (it reports "unknown route
            // keyword type"): the type is the word before the destination.
            "type" if dest.is_none() => {
                let msg = "\"type\" is not a route option: write the type itself before the destination (local 192.0.2.0/24)";
                self.err(w.pos, msg);
                RouteStep::Stop
            }
            _ if dest.is_none() && RouteType::from_word(opt).is_some() => {
                r.route_type = RouteType::from_word(opt).unwrap_or_default();
                RouteStep::Next { words: 1, ok: true }
            }
            "or" => {
                let Some(v) = value else {
                    self.err(w.pos, "\"or\" needs a value");
                    return RouteStep::Stop;
                };
                RouteStep::Next {
                    words: 2,
                    ok: self.route_or(r, w, v),
                }
            }
            // Not testable here: the kernel tandem is tested on has no
            // VRF (`ip link add type vrf` fails).
            "vrf" => {
                let msg = format!(
                    "{} (not tested: the test kernel has no VRF; write the VRF's table instead)",
                    keywords::unsupported_message(opt)
                );
                self.err(w.pos, msg);
                RouteStep::Stop
            }
            _ if dest.is_none() => self.route_destination(dest, w),
            _ => {
                let cands = [
                    "src", "via", "gw", "dev", "scope", "table", "metric", "no_track",
                ]
                .into_iter()
                .chain(ROUTE_OPTIONS);
                // ip-route's abbreviation of keepalived's word.
                let hint = if opt == "proto" {
                    Some("protocol")
                } else {
                    keywords::suggest(opt, cands)
                };
                let msg = match hint {
                    Some(m) => format!("unknown route option \"{opt}\"; did you mean \"{m}\"?"),
                    None => format!("unknown route option \"{opt}\""),
                };
                self.err(w.pos, msg);
                RouteStep::Stop
            }
        }
    }

    /// The value `v` of route option `opt`; false if it is bad (reported).
    fn route_value(&mut self, r: &mut VirtualRoute, opt: &str, v: &Word) -> bool {
        match opt {
            "src" | "via" | "gw" => {
                let ip = self.ip_word(opt, v);
                if opt == "src" {
                    r.src = ip;
                } else {
                    r.via = ip;
                }
                ip.is_some()
            }
            "dev" => {
                r.dev = Some(v.text.clone());
                true
            }
            "scope" => match parse_scope(&v.text) {
                Some(sc) => {
                    r.scope = Some(sc);
                    true
                }
                None => {
                    self.err(v.pos, format!("unknown scope \"{}\"", v.text));
                    false
                }
            },
            "table" => match parse_table(&v.text) {
                Some(n) => {
                    r.table = Some(n);
                    true
                }
                None => {
                    self.err(v.pos, format!("routing table \"{}\": expected a number or default, main or local (tandem does not read /etc/iproute2/rt_tables)", v.text));
                    false
                }
            },
            // metric and its aliases preference and priority.
            _ => match v.text.parse::<u32>() {
                Ok(n) => {
                    r.metric = Some(n);
                    true
                }
                Err(_) => {
                    self.err(v.pos, format!("{opt} expects a number, not \"{}\"", v.text));
                    false
                }
            },
        }
    }
}

/// The options of an address line (for suggestions).
const ADDRESS_OPTIONS: [&str; 12] = [
    "brd",
    "dev",
    "scope",
    "label",
    "peer",
    "no_track",
    "home",
    "-nodad",
    "mngtmpaddr",
    "noprefixroute",
    "autojoin",
    "preferred_lft",
];

/// `preferred_lft`'s value: seconds, or `forever` (also 4294967295,
/// the kernel's infinity) as `None`.
fn preferred_lft(text: &str) -> Option<Option<u32>> {
    if text == "forever" {
        return Some(None);
    }
    let n: u32 = text.parse().ok()?;
    Some((n != u32::MAX).then_some(n))
}

/// What one word of a route line did.
enum RouteStep {
    /// It took `words` words (1, or 2 with its value); `ok` is false if it
    /// was bad but the rest of the line can still be read.
    Next { words: usize, ok: bool },
    /// It was refused: the rest of the line is not read.
    Stop,
}

/// A route line before its words are read.
fn empty_route() -> VirtualRoute {
    VirtualRoute {
        route_type: RouteType::Unicast,
        destination: IpPrefix {
            address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
        },
        src: None,
        via: None,
        dev: None,
        scope: None,
        table: None,
        metric: None,
        no_track: false,
        tos: None,
        protocol: None,
        onlink: false,
        realms: None,
        pref: None,
        expires: None,
        ttl_propagate: None,
        track_group: None,
        metrics: Vec::new(),
        lock: 0,
        nexthops: Vec::new(),
        from: None,
        add_mode: RouteAddMode::Prepend,
        encap: None,
    }
}
