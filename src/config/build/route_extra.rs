//! The route words keepalived 2.2.7 reads beside the options of
//! `route_options.rs` (vrrp_iproute.c): `encap ip|ip6 ...` (also inside a
//! `nexthop`), `from PREFIX` (an IPv6 source-specific route), `add` /
//! `prepend` / `append`, and `as [to] ADDR`, which keepalived reports and
//! ignores on an IPv4 or IPv6 route.
//!
//! Owns: those words. May not: check the route's family against the
//! destination (the route reader does).

use crate::config::model::*;
use crate::config::parser::Word;

use super::builder::Builder;
use super::values::parse_prefix;

/// The words this file reads at the start of a route option.
pub(super) const ROUTE_EXTRA: [&str; 6] = ["encap", "from", "add", "prepend", "append", "as"];

impl Builder {
    /// The word at `w[0]` (one of [`ROUTE_EXTRA`]) into `r`: the number
    /// of words taken, `None` when the line is refused (reported).
    pub(super) fn route_extra(&mut self, r: &mut VirtualRoute, w: &[&Word]) -> Option<usize> {
        match w[0].text.as_str() {
            "add" => r.add_mode = RouteAddMode::Add,
            "prepend" => r.add_mode = RouteAddMode::Prepend,
            "append" => r.add_mode = RouteAddMode::Append,
            "encap" => {
                let (e, n) = self.encap(w)?;
                r.encap = Some(e);
                return Some(n);
            }
            "from" => {
                let Some(v) = w.get(1) else {
                    self.err(w[0].pos, "\"from\" needs a value");
                    return None;
                };
                let Some(p) = parse_prefix(&v.text) else {
                    self.err(
                        v.pos,
                        format!("from: expected a prefix, not \"{}\"", v.text),
                    );
                    return None;
                };
                if p.address.is_ipv4() {
                    // The kernel has source-specific routes for IPv6 only
                    // (keepalived refuses the same).
                    self.err(
                        v.pos,
                        format!("from {p}: a source prefix is for IPv6 routes only"),
                    );
                    return None;
                }
                r.from = Some(p);
                return Some(2);
            }
            // "as": RTA_NEWDST belongs to MPLS routes, which keepalived
            // cannot install; it reports the words and goes on without them.
            _ => {
                let at = if w.get(1).is_some_and(|x| x.text == "to") {
                    2
                } else {
                    1
                };
                if w.get(at).is_none() {
                    self.err(w[0].pos, "\"as\" needs an address");
                    return None;
                }
                self.warn(
                    w[0].pos,
                    "\"as [to]\" is for MPLS routes only: ignored, as keepalived ignores it",
                );
                return Some(at + 1);
            }
        }
        Some(1)
    }

    /// `encap TYPE ...` at `w[0]`: the encapsulation and the words it
    /// took; `None` when refused (reported). As in keepalived, the
    /// key/value pairs of the type run until a word that is not one of
    /// its keys (that word is the route's next option).
    pub(super) fn encap(&mut self, w: &[&Word]) -> Option<(RouteEncap, usize)> {
        let Some(t) = w.get(1) else {
            self.err(w[0].pos, "\"encap\" needs a type (ip or ip6)");
            return None;
        };
        let ip6 = match t.text.as_str() {
            "ip" => false,
            "ip6" => true,
            // Not testable here: the kernel tandem is tested on has
            // neither MPLS routing nor ILA.
            "mpls" | "ila" => {
                self.err(
                    t.pos,
                    format!(
                        "encap {}: tandem does not support it yet (not tested: the test kernel has no {})",
                        t.text,
                        if t.text == "mpls" { "MPLS routing" } else { "ILA" }
                    ),
                );
                return None;
            }
            other => {
                self.err(
                    t.pos,
                    format!("unknown encap type \"{other}\" (ip, ip6, mpls or ila)"),
                );
                return None;
            }
        };
        let mut e = RouteEncap {
            ip6,
            ..RouteEncap::default()
        };
        let mut i = 2;
        while let (Some(k), Some(v)) = (w.get(i), w.get(i + 1)) {
            if !self.encap_pair(&mut e, k, v)? {
                break;
            }
            i += 2;
        }
        if e.dst.is_none() && e.id.is_none() {
            let ty = if ip6 { "ip6" } else { "ip" };
            self.err(t.pos, format!("encap {ty} needs a dst or an id"));
            return None;
        }
        Some((e, i))
    }

    /// One `KEY VALUE` of an encapsulation: `Some(false)` if `k` is not
    /// one of its keys, `None` if the value is bad (reported).
    fn encap_pair(&mut self, e: &mut RouteEncap, k: &Word, v: &Word) -> Option<bool> {
        let (tos, ttl) = if e.ip6 {
            ("tc", "hoplimit")
        } else {
            ("tos", "ttl")
        };
        let key = k.text.as_str();
        match key {
            "id" => e.id = Some(self.route_num("encap id", v, u64::MAX, true)?),
            "dst" | "src" => {
                let ip = self.ip_word(key, v)?;
                if ip.is_ipv6() != e.ip6 {
                    let (fam, ty) = if e.ip6 {
                        ("IPv6", "ip6")
                    } else {
                        ("IPv4", "ip")
                    };
                    self.err(
                        v.pos,
                        format!("encap {ty} {key}: {ip} is not an {fam} address"),
                    );
                    return None;
                }
                if key == "dst" {
                    e.dst = Some(ip);
                } else {
                    e.src = Some(ip);
                }
            }
            _ if key == tos => e.tos = Some(self.route_num(tos, v, 255, true)? as u8),
            _ if key == ttl => e.ttl = Some(self.route_num(ttl, v, 255, true)? as u8),
            "flags" => e.flags = Some(self.route_num("encap flags", v, 65535, true)? as u16),
            _ => return Some(false),
        }
        Some(true)
    }

    /// keepalived installs a route with scope global unless the line
    /// says otherwise, and the kernel refuses an IPv4 route of a type
    /// whose scope must be narrower ("Invalid scope"): keepalived logs
    /// that at runtime and runs on without the route; tandem does the
    /// same, and says so here.
    pub(super) fn route_type_scope(
        &mut self,
        r: &VirtualRoute,
        d: IpPrefix,
        pos: crate::config::lexer::Pos,
    ) {
        let (name, need) = match r.route_type {
            RouteType::Local => ("local", Scope::Host),
            RouteType::Broadcast => ("broadcast", Scope::Link),
            RouteType::Anycast => ("anycast", Scope::Link),
            RouteType::Nat => ("nat", Scope::Nowhere),
            RouteType::Xresolve => ("xresolve", Scope::Nowhere),
            _ => return,
        };
        let scope = r.scope.unwrap_or(Scope::Global);
        if d.address.is_ipv4() && scope.rt_scope() < need.rt_scope() {
            self.warn(
                pos,
                format!(
                    "route to {d}: the kernel refuses a {name} route with scope {} (add \"scope {}\"), \
                     so it will not be installed (keepalived fails the same way at runtime)",
                    scope_name(scope),
                    scope_name(need)
                ),
            );
        }
    }
}

fn scope_name(s: Scope) -> &'static str {
    match s {
        Scope::Global => "global",
        Scope::Site => "site",
        Scope::Link => "link",
        Scope::Host => "host",
        Scope::Nowhere => "nowhere",
    }
}
