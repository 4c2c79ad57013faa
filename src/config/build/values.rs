//! Pure parsers for the values keepalived.conf writes as single words:
//! timers, booleans, addresses with a prefix, netmasks, scopes,
//! forwarding methods and address ranges.
//!
//! Owns: turning one word into a value (or `None`). May not: report
//! problems (the callers say what was expected, where), or see anything
//! beyond the word.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::model::*;

pub(super) fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// A keepalived TIMER: seconds, possibly fractional (µs resolution).
pub(super) fn parse_timer(s: &str) -> Option<Duration> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if !v.is_finite() || v > 1e9 {
        return None;
    }
    let micros = (v * 1_000_000.0).round() as u64;
    Some(Duration::from_micros(micros))
}

pub(super) fn parse_bool_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

pub(super) fn parse_prefix(s: &str) -> Option<IpPrefix> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let address: IpAddr = addr.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix_len = match len {
        Some(l) => {
            let v: u8 = l.parse().ok()?;
            if v > max {
                return None;
            }
            v
        }
        None => max,
    };
    Some(IpPrefix {
        address,
        prefix_len,
    })
}

pub(super) fn netmask_to_prefix(s: &str) -> Option<u8> {
    if let Ok(v) = s.parse::<u8>() {
        return (v <= 128).then_some(v);
    }
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(m) => {
            let bits = u32::from(m);
            let ones = bits.leading_ones();
            (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
        }
        IpAddr::V6(m) => {
            let bits = u128::from(m);
            let ones = bits.leading_ones();
            (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
        }
    }
}

pub(super) fn parse_scope(s: &str) -> Option<Scope> {
    match s {
        "global" => Some(Scope::Global),
        "site" => Some(Scope::Site),
        "link" => Some(Scope::Link),
        "host" => Some(Scope::Host),
        "nowhere" => Some(Scope::Nowhere),
        _ => None,
    }
}

pub(super) fn parse_method(s: &str) -> Option<LvsMethod> {
    match s.to_ascii_uppercase().as_str() {
        "NAT" => Some(LvsMethod::Nat),
        "DR" => Some(LvsMethod::Dr),
        "TUN" => Some(LvsMethod::Tun),
        _ => None,
    }
}

/// The last address of a keepalived VSG range: `A-N` (last byte / last
/// group), `A-B` (full address) or `A/LEN`.
pub(super) fn parse_range(s: &str) -> Option<(IpAddr, IpAddr)> {
    if let Some((a, len)) = s.split_once('/') {
        let first: IpAddr = a.parse().ok()?;
        let len: u32 = len.parse().ok()?;
        return match first {
            IpAddr::V4(f) if len <= 32 => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                let base = u32::from(f) & mask;
                Some((IpAddr::V4(base.into()), IpAddr::V4((base | !mask).into())))
            }
            IpAddr::V6(f) if len <= 128 => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                let base = u128::from(f) & mask;
                Some((IpAddr::V6(base.into()), IpAddr::V6((base | !mask).into())))
            }
            _ => None,
        };
    }
    let Some((a, b)) = s.split_once('-') else {
        let ip: IpAddr = s.parse().ok()?;
        return Some((ip, ip));
    };
    let first: IpAddr = a.parse().ok()?;
    if let Ok(last) = b.parse::<IpAddr>() {
        return (AddressFamily::of(&first) == AddressFamily::of(&last)).then_some((first, last));
    }
    match first {
        IpAddr::V4(f) => {
            let last: u8 = b.parse().ok()?;
            let mut o = f.octets();
            o[3] = last;
            Some((first, IpAddr::V4(o.into())))
        }
        IpAddr::V6(f) => {
            let last = u16::from_str_radix(b, 16).ok()?;
            let mut seg = f.segments();
            seg[7] = last;
            Some((first, IpAddr::V6(seg.into())))
        }
    }
}

pub(super) fn ip_le(a: &IpAddr, b: &IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
        (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
        _ => false,
    }
}

/// A whole word read as C's `strtoul(s, &end, 0)` reads a number: `0x`
/// hexadecimal, a leading `0` octal, decimal otherwise.
pub(crate) fn parse_c_u64(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return u64::from_str_radix(&s[1..], 8).ok();
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A routing table: a number, or the names iproute2 always knows
/// (`default` 253, `main` 254, `local` 255).
pub(super) fn parse_table(s: &str) -> Option<u32> {
    match s {
        "default" => Some(253),
        "main" => Some(254),
        "local" => Some(255),
        _ => parse_c_u64(s)
            .filter(|n| *n <= u64::from(u32::MAX))
            .map(|n| n as u32),
    }
}
