//! The route options beyond destination, gateway, device, scope, table
//! and metric: `tos`, `protocol`, `onlink`, `realms`, `pref`, `expires`
//! and the metrics (`mtu`, `advmss`, `rtt`, ... `congctl`), read as
//! keepalived 2.2.7 reads them (vrrp_iproute.c): the same words, the same
//! units, the same limits.
//!
//! Owns: one option's words. May not: decide the route's family (the
//! route reader does, from what this leaves in the route).

use crate::config::model::*;
use crate::config::parser::Word;
use crate::config::rt_realms;

use super::builder::Builder;
use super::values::parse_c_u64;

/// The options this file reads.
pub(super) const ROUTE_OPTIONS: [&str; 24] = [
    "tos",
    "ttl-propagate",
    "dsfield",
    "protocol",
    "onlink",
    "realms",
    "pref",
    "expires",
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "hoplimit",
    "features",
    "quickack",
    "congctl",
    "fastopen_no_cookie",
];

/// The metrics whose value may follow `lock` (keepalived's list).
const LOCKABLE: [&str; 9] = [
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "cwnd",
    "ssthresh",
    "rto_min",
    "congctl",
];

/// The kernel's bounds on an rtt-like value, in ms (TCP_RTO_MIN/MAX).
const RTT_MIN_MS: u64 = 200;
const RTT_MAX_MS: u64 = 120_000;

impl Builder {
    /// The option at `w[0]` (its values after it) into `r`: the number
    /// of words taken, `None` when the line is refused (reported).
    pub(super) fn route_option(&mut self, r: &mut VirtualRoute, w: &[&Word]) -> Option<usize> {
        let opt = w[0].text.as_str();
        if opt == "onlink" {
            r.onlink = true;
            return Some(1);
        }
        let mut took = 2;
        let mut at = 1;
        if LOCKABLE.contains(&opt) && w.get(1).is_some_and(|v| v.text == "lock") {
            at = 2;
            took = 3;
        }
        let Some(v) = w.get(at).copied() else {
            self.err(w[0].pos, format!("\"{opt}\" needs a value"));
            return None;
        };
        if at == 2 {
            r.lock |= 1 << rtax_of(opt);
        }
        self.route_option_value(r, opt, v)?;
        Some(took)
    }

    fn route_option_value(&mut self, r: &mut VirtualRoute, opt: &str, v: &Word) -> Option<()> {
        let t = v.text.as_str();
        match opt {
            "tos" | "dsfield" => r.tos = Some(self.route_num(opt, v, 255, true)? as u8),
            "ttl-propagate" => match t {
                "enabled" => r.ttl_propagate = Some(true),
                "disabled" => r.ttl_propagate = Some(false),
                _ => {
                    let msg = format!("ttl-propagate expects enabled or disabled, not \"{t}\"");
                    self.err(v.pos, msg);
                    return None;
                }
            },
            "protocol" => match protocol(t) {
                Some(p) => r.protocol = Some(p),
                None => {
                    self.err(v.pos, format!("protocol expects a number up to 255 or a name (static, boot, kernel, keepalived, ...), not \"{t}\""));
                    return None;
                }
            },
            "realms" => match rt_realms::realms(t, 255) {
                Ok(n) => r.realms = Some(n),
                Err((word, e)) => {
                    self.err(
                        v.pos,
                        format!("realms {t}: {}", rt_realms::message(&word, &e, 255)),
                    );
                    return None;
                }
            },
            "pref" => match t {
                "low" => r.pref = Some(3),
                "medium" => r.pref = Some(0),
                "high" => r.pref = Some(1),
                _ => r.pref = Some(self.route_num(opt, v, 255, false)? as u8),
            },
            "expires" => r.expires = Some(self.route_num(opt, v, u32::MAX.into(), false)? as u32),
            "features" => {
                if t != "ecn" {
                    self.err(
                        v.pos,
                        format!("features: only \"ecn\" is known, not \"{t}\""),
                    );
                    return None;
                }
                add_metric(r, RouteMetric::Features(1));
            }
            "congctl" => add_metric(r, RouteMetric::Congctl(t.to_string())),
            "rtt" | "rttvar" | "rto_min" => {
                let mult = match opt {
                    "rtt" => 8,
                    "rttvar" => 4,
                    _ => 1,
                };
                let n = self.rtt_value(opt, v, mult)?;
                add_metric(
                    r,
                    match opt {
                        "rtt" => RouteMetric::Rtt(n),
                        "rttvar" => RouteMetric::Rttvar(n),
                        _ => RouteMetric::RtoMin(n),
                    },
                );
            }
            _ => {
                let max = match opt {
                    "hoplimit" => 255,
                    "quickack" | "fastopen_no_cookie" => 1,
                    _ => u64::from(u32::MAX),
                };
                let n = self.route_num(opt, v, max, false)? as u32;
                add_metric(r, plain_metric(opt, n));
            }
        }
        Some(())
    }

    /// A number up to `max`: decimal, or as C's strtoul reads it (`0x10`)
    /// where keepalived reads it so (`c_style`).
    pub(super) fn route_num(
        &mut self,
        opt: &str,
        v: &Word,
        max: u64,
        c_style: bool,
    ) -> Option<u64> {
        let n = if c_style {
            parse_c_u64(&v.text)
        } else {
            v.text.parse::<u64>().ok()
        };
        let n = n.filter(|n| *n <= max);
        if n.is_none() {
            self.err(
                v.pos,
                format!("{opt} expects a number from 0 to {max}, not \"{}\"", v.text),
            );
        }
        n
    }

    /// `rtt`, `rttvar`, `rto_min`: a bare number in the kernel's unit
    /// (1/`mult` ms), or `N[.DDD]s` / `Nms`; held to 200 ms–120 s, with a
    /// warning, as keepalived resets it.
    fn rtt_value(&mut self, opt: &str, v: &Word, mult: u64) -> Option<u32> {
        let Some((raw, unit_ms)) = rtt_parse(&v.text) else {
            self.err(
                v.pos,
                format!(
                    "{opt} expects a time (200ms to 120s: N, Nms, N[.DDD]s), not \"{}\"",
                    v.text
                ),
            );
            return None;
        };
        let value = if unit_ms { raw * mult } else { raw };
        let (lo, hi) = (RTT_MIN_MS * mult, RTT_MAX_MS * mult);
        let held = value.clamp(lo, hi);
        if held != value {
            self.warn(
                v.pos,
                format!(
                    "{opt} {}: outside 200ms to 120s, {} used (as keepalived resets it)",
                    v.text,
                    if held == lo { "200ms" } else { "120s" }
                ),
            );
        }
        u32::try_from(held).ok()
    }
}

/// An rtt-like value: (the number, true when it was in ms or s, already
/// in ms) or `None`.
fn rtt_parse(s: &str) -> Option<(u64, bool)> {
    let lower = s.to_ascii_lowercase();
    let Some(p) = lower.find('s') else {
        return Some((s.parse().ok()?, false));
    };
    if !matches!(&lower[p..], "s" | "sec" | "secs") {
        return None;
    }
    let (num, places) = match lower[..p].strip_suffix('m') {
        Some(ms) => (ms, 0),
        None => (&lower[..p], 3),
    };
    if num.is_empty() || num.contains('e') {
        return None;
    }
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if frac.len() > places || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac:0<places$}");
    Some((digits.parse().ok()?, true))
}

fn add_metric(r: &mut VirtualRoute, m: RouteMetric) {
    r.metrics.retain(|old| old.rtax() != m.rtax());
    r.metrics.push(m);
}

fn plain_metric(opt: &str, n: u32) -> RouteMetric {
    match opt {
        "mtu" => RouteMetric::Mtu(n),
        "advmss" => RouteMetric::Advmss(n),
        "reordering" => RouteMetric::Reordering(n),
        "window" => RouteMetric::Window(n),
        "cwnd" => RouteMetric::Cwnd(n),
        "ssthresh" => RouteMetric::Ssthresh(n),
        "initcwnd" => RouteMetric::Initcwnd(n),
        "initrwnd" => RouteMetric::Initrwnd(n),
        "hoplimit" => RouteMetric::Hoplimit(n),
        "quickack" => RouteMetric::Quickack(n),
        _ => RouteMetric::FastopenNoCookie(n),
    }
}

/// The RTAX_* number of a lockable metric's keyword.
fn rtax_of(opt: &str) -> u16 {
    match opt {
        "mtu" => RouteMetric::Mtu(0),
        "advmss" => RouteMetric::Advmss(0),
        "rtt" => RouteMetric::Rtt(0),
        "rttvar" => RouteMetric::Rttvar(0),
        "reordering" => RouteMetric::Reordering(0),
        "cwnd" => RouteMetric::Cwnd(0),
        "ssthresh" => RouteMetric::Ssthresh(0),
        "rto_min" => RouteMetric::RtoMin(0),
        _ => RouteMetric::Congctl(String::new()),
    }
    .rtax()
}

/// `protocol`: a number, or one of the names keepalived knows without
/// /etc/iproute2/rt_protos (and `keepalived`).
fn protocol(s: &str) -> Option<u8> {
    if let Some(n) = parse_c_u64(s) {
        return u8::try_from(n).ok();
    }
    Some(match s {
        "none" => 0,
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "gated" => 8,
        "ra" => 9,
        "mrt" => 10,
        "zebra" => 11,
        "bird" => 12,
        "dnrouted" => 13,
        "xorp" => 14,
        "ntk" => 15,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_values_read_as_keepalived_reads_them() {
        assert_eq!(rtt_parse("1600"), Some((1600, false)));
        assert_eq!(rtt_parse("300ms"), Some((300, true)));
        assert_eq!(rtt_parse("1.5s"), Some((1500, true)));
        assert_eq!(rtt_parse("2secs"), Some((2000, true)));
        assert_eq!(rtt_parse("1.5ms"), None);
        assert_eq!(rtt_parse("1e3"), None);
        assert_eq!(rtt_parse("s"), None);
        assert_eq!(rtt_parse("3min"), None);
    }
}
