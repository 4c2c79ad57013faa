//! `bfd_instance NAME { ... }`: a BFD session (RFC 5880 / 5881) that VRRP
//! instances and sync groups track with `track_bfd`.
//!
//! Owns: the meaning of each bfd_instance keyword, its range, unit and
//! default (keepalived 2.2.7's `bfd_parser.c`), and the checks within one
//! block (a neighbour given, one address family). Every value keepalived
//! reports and ignores is an error here. May not: check who tracks the
//! session, or two sessions against each other (validate does).

use std::net::IpAddr;
use std::time::Duration;

use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;

/// keepalived's longest `bfd_instance` name (its buffer is 32 bytes).
const NAME_MAX: usize = 31;
/// keepalived's upper bound of the intervals: `UINT32_MAX / 1000` ms, so
/// that the microseconds fit the 32-bit fields of the packet.
const INTERVAL_MAX_MS: u64 = u32::MAX as u64 / 1000;

/// The settings of one block as written, before defaults.
#[derive(Default)]
struct Written {
    neighbor: Option<(IpAddr, Word)>,
    source: Option<(IpAddr, Word)>,
    min_rx: Option<Duration>,
    min_tx: Option<Duration>,
    idle_tx: Option<Duration>,
    multiplier: Option<u8>,
    passive: bool,
    ttl: Option<u8>,
    /// `Some(None)`: the check turned off (−1 or 255).
    max_hops: Option<(Option<u8>, Word)>,
    weight: Option<(i32, bool)>,
    vrrp: bool,
    checker: bool,
}

/// A number of milliseconds with at most three decimals (microseconds),
/// as keepalived's `read_decimal_unsigned_strvec(..., 3)` reads it.
fn parse_ms(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || frac.len() > 3 {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..3 {
        micros *= 10;
    }
    whole.checked_mul(1000)?.checked_add(micros)
}

impl Builder {
    /// `min_rx` / `min_tx` / `idle_tx`: milliseconds, µs resolution, in
    /// `min_ms..=INTERVAL_MAX_MS`.
    fn bfd_interval(&mut self, st: &Stmt, min_ms: u64) -> Option<Duration> {
        let w = self.one(st, "a time in milliseconds")?;
        let kw = &st.keyword.text;
        let Some(us) = parse_ms(&w.text) else {
            let msg = format!(
                "{kw} expects milliseconds with at most three decimals (e.g. 10 or 3.312), not \"{}\"",
                w.text
            );
            self.err(w.pos, msg);
            return None;
        };
        if us < min_ms * 1000 || us > INTERVAL_MAX_MS * 1000 {
            let msg = format!(
                "{kw} {} ms is out of range ({min_ms}-{INTERVAL_MAX_MS} ms)",
                w.text
            );
            self.err(w.pos, msg);
            return None;
        }
        if us > 10_000_000 {
            let msg = format!(
                "{kw} {} ms is more than the sensible maximum of 10000 ms",
                w.text
            );
            self.warn(w.pos, msg);
        }
        Some(Duration::from_micros(us))
    }

    /// `weight W [reverse]` inside bfd_instance: the default of the
    /// track_bfd entries that name it.
    fn bfd_weight(&mut self, st: &Stmt) -> Option<(i32, bool)> {
        self.no_block(st);
        let args = self.args_range(st, 1, 2, "a number (-253..253)")?;
        let w = self.int_word("weight", &args[0], -253, 253)? as i32;
        match args.get(1) {
            None => Some((w, false)),
            Some(r) if r.text == "reverse" => Some((w, true)),
            Some(r) => {
                self.err(r.pos, format!("expected \"reverse\", not \"{}\"", r.text));
                None
            }
        }
    }

    fn bfd_stmt(&mut self, st: &Stmt, w: &mut Written) {
        match st.keyword.text.as_str() {
            "neighbor_ip" | "neighbour_ip" => {
                if let Some(ip) = self.ip(st) {
                    w.neighbor = Some((ip, st.args[0].clone()));
                }
            }
            "source_ip" => {
                if let Some(ip) = self.ip(st) {
                    w.source = Some((ip, st.args[0].clone()));
                }
            }
            "min_rx" => w.min_rx = self.bfd_interval(st, 1).or(w.min_rx),
            "min_tx" => w.min_tx = self.bfd_interval(st, 1).or(w.min_tx),
            "idle_tx" => w.idle_tx = self.bfd_interval(st, 1000).or(w.idle_tx),
            "multiplier" => {
                if let Some(v) = self.int_in(st, 1, 255) {
                    w.multiplier = Some(v as u8);
                }
            }
            "passive" => {
                self.bare(st);
                w.passive = true;
            }
            "ttl" | "hoplimit" => {
                if let Some(v) = self.int_in(st, 1, 255) {
                    w.ttl = Some(v as u8);
                }
            }
            "max_hops" => {
                if let Some(v) = self.int_in(st, -1, 255) {
                    let hops = u8::try_from(v).ok().filter(|&h| h != u8::MAX);
                    w.max_hops = Some((hops, st.args[0].clone()));
                }
            }
            "weight" => w.weight = self.bfd_weight(st).or(w.weight),
            "vrrp" => {
                self.bare(st);
                w.vrrp = true;
            }
            "checker" => {
                self.bare(st);
                w.checker = true;
            }
            _ => self.unknown(Block::BfdInstance, st),
        }
    }

    pub(super) fn bfd_instance(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut w = Written::default();
        self.kw_block(s, &mut |b, st| b.bfd_stmt(&st, &mut w));
        let Some(name) = name else { return };
        if name.len() > NAME_MAX {
            let msg = format!(
                "bfd_instance name \"{name}\" is too long ({} characters; keepalived allows {NAME_MAX})",
                name.len()
            );
            self.err(s.args[0].pos, msg);
        }
        // keepalived drops a session with no neighbour, and the track_bfd
        // entries that name it; configs rely on that to leave BFD out of
        // one node (`@id neighbor_ip ...` lines). Do the same, aloud.
        let Some((neighbor, _)) = w.neighbor else {
            let msg = format!(
                "bfd_instance {name} has no neighbor_ip, so it is dropped, and the track_bfd entries that name it, as keepalived 2.2.7 drops them"
            );
            self.warn(s.keyword.pos, msg);
            self.dropped_bfds.push(name);
            return;
        };
        if let Some((src, word)) = &w.source {
            if src.is_ipv4() != neighbor.is_ipv4() {
                let msg = format!(
                    "bfd_instance {name}: source_ip {src} and neighbor_ip {neighbor} are not of the same family"
                );
                self.err(word.pos, msg);
            }
        }
        let mut b = BfdInstance::new(name, neighbor);
        b.source_ip = w.source.map(|(ip, _)| ip);
        b.min_rx = w.min_rx.unwrap_or(b.min_rx);
        b.min_tx = w.min_tx.unwrap_or(b.min_tx);
        b.idle_tx = w.idle_tx.unwrap_or(b.idle_tx);
        b.multiplier = w.multiplier.unwrap_or(b.multiplier);
        b.passive = w.passive;
        b.ttl = w.ttl.unwrap_or(b.ttl);
        if let Some((hops, word)) = w.max_hops {
            if let Some(h) = hops.filter(|&h| h > b.ttl) {
                let msg = format!(
                    "bfd_instance {}: max_hops {h} exceeds the ttl/hoplimit {} (keepalived would lower it to {})",
                    b.name, b.ttl, b.ttl
                );
                self.err(word.pos, msg);
            }
            b.max_hops = hops;
        }
        (b.weight, b.weight_reverse) = w.weight.unwrap_or((0, false));
        // Neither `vrrp` nor `checker`: both hear of the session.
        let both = !w.vrrp && !w.checker;
        b.vrrp = w.vrrp || both;
        b.checker = w.checker || both;
        b.origin = self.origin(s.keyword.pos);
        self.bfds.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ms;

    #[test]
    fn milliseconds_with_three_decimals() {
        assert_eq!(parse_ms("10"), Some(10_000));
        assert_eq!(parse_ms("3.312"), Some(3_312));
        assert_eq!(parse_ms("0.5"), Some(500));
        assert_eq!(parse_ms(".5"), Some(500));
        assert_eq!(parse_ms("2."), Some(2_000));
        assert_eq!(parse_ms("1.2345"), None);
        assert_eq!(parse_ms("-1"), None);
        assert_eq!(parse_ms("1e3"), None);
        assert_eq!(parse_ms("."), None);
        assert_eq!(parse_ms(""), None);
        assert_eq!(parse_ms("99999999999999999999"), None);
    }
}
