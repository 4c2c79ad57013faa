//! `virtual_rules` and `static_rules` entries: one `ip rule` line each,
//! `[from P] [to P] [not] [preference N] [tos N] [fwmark M[/MASK]] [iif
//! IF] [oif IF] ... table N | goto N | nop | blackhole | ...`, read as
//! keepalived 2.2.7 reads it (its words, its checks, its default
//! preferences).
//!
//! Owns: reading one rule line, and the default preferences keepalived
//! hands out (16384 down, per family, in the order rules are written).
//! May not: decide which instance holds a rule.

use crate::config::keywords;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};
use crate::config::rt_realms;

use super::builder::Builder;
use super::values::{parse_c_u64, parse_prefix, parse_table};

/// keepalived's first default preference (`RULE_START_PRIORITY`).
pub(super) const RULE_START_PRIORITY: u32 = 16384;

/// The rule options a line may name; for the "did you mean".
const RULE_OPTIONS: &[&str] = &[
    "from",
    "to",
    "not",
    "table",
    "lookup",
    "preference",
    "priority",
    "order",
    "tos",
    "dsfield",
    "fwmark",
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "iif",
    "dev",
    "oif",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "protocol",
    "ipproto",
    "sport",
    "dport",
    "goto",
    "nop",
    "blackhole",
    "unreachable",
    "prohibit",
    "type",
    "no_track",
    "inet",
    "inet6",
];

/// A rule being read: the model's fields, with the ones keepalived
/// resolves at the end still open.
#[derive(Default)]
struct Partial {
    family: Option<AddressFamily>,
    from: Option<IpPrefix>,
    to: Option<IpPrefix>,
    invert: bool,
    priority: Option<u32>,
    tos: u8,
    fwmark: Option<(u32, Option<u32>)>,
    iif: Option<String>,
    oif: Option<String>,
    realms: Option<u32>,
    suppress_prefixlength: Option<u32>,
    suppress_ifgroup: Option<u32>,
    tunnel_id: Option<u64>,
    uidrange: Option<Range<u32>>,
    protocol: Option<(u8, Word)>,
    ipproto: Option<u8>,
    sport: Option<Range<u16>>,
    dport: Option<Range<u16>>,
    action: Option<RuleAction>,
    no_track: bool,
    track_group: Option<String>,
}

impl Builder {
    /// `virtual_rules { ... }` / `static_rules { ... }`.
    pub(super) fn rule_list(&mut self, s: &Stmt) -> Vec<IpRule> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            if let Some(r) = b.rule(&st) {
                out.push(r);
            }
        });
        out
    }

    fn rule(&mut self, st: &Stmt) -> Option<IpRule> {
        let words: Vec<&Word> = std::iter::once(&st.keyword).chain(&st.args).collect();
        let mut p = Partial::default();
        let mut i = 0;
        while i < words.len() {
            let took = self.rule_word(&mut p, &words[i..])?;
            i += took;
        }
        if let (Some(g), None) = (&p.track_group, &p.iif) {
            let msg = format!(
                "track_group {g} tracks nothing on a rule without iif (keepalived tracks a rule's iif only)"
            );
            self.warn(st.keyword.pos, msg);
        }
        self.finish_rule(p, &st.keyword)
    }

    /// One option of a rule line at `w[0]` (its value after it); the
    /// number of words it took, `None` when the line is refused.
    fn rule_word(&mut self, p: &mut Partial, w: &[&Word]) -> Option<usize> {
        let opt = w[0].text.as_str();
        let value = w.get(1).copied();
        let needs_value = !matches!(
            opt,
            "not"
                | "l3mdev"
                | "no_track"
                | "inet"
                | "inet6"
                | "nop"
                | "blackhole"
                | "unreachable"
                | "prohibit"
        );
        if needs_value && value.is_none() && RULE_OPTIONS.contains(&opt) {
            self.err(w[0].pos, format!("rule option \"{opt}\" needs a value"));
            return None;
        }
        let v = value.unwrap_or(w[0]);
        match opt {
            "inet" | "inet6" => {
                let fam = if opt == "inet" {
                    AddressFamily::Inet
                } else {
                    AddressFamily::Inet6
                };
                self.rule_family(p, fam, w[0])?;
                Some(1)
            }
            "from" | "to" => {
                let pfx = self.rule_prefix(opt, v)?;
                if !is_any(&v.text) {
                    self.rule_family(p, AddressFamily::of(&pfx.address), v)?;
                }
                if opt == "from" {
                    p.from = Some(pfx);
                } else {
                    p.to = Some(pfx);
                }
                Some(2)
            }
            "not" => {
                p.invert = true;
                Some(1)
            }
            "no_track" => {
                p.no_track = true;
                Some(1)
            }
            "track_group" => {
                p.track_group = Some(self.track_group_word(w[0], value)?);
                Some(2)
            }
            _ => self.rule_valued(p, w, v),
        }
    }

    /// The options with a value, and the actions.
    fn rule_valued(&mut self, p: &mut Partial, w: &[&Word], v: &Word) -> Option<usize> {
        let opt = w[0].text.as_str();
        let kw = w[0];
        match opt {
            "table" | "lookup" => {
                let Some(t) = parse_table(&v.text) else {
                    self.err(v.pos, format!("routing table \"{}\": expected a number or default, main or local (tandem does not read /etc/iproute2/rt_tables)", v.text));
                    return None;
                };
                if t == 0 {
                    self.err(v.pos, "table 0 is not valid for a rule");
                    return None;
                }
                self.rule_action(p, RuleAction::Table(t), kw)?;
                Some(2)
            }
            "preference" | "priority" | "order" => {
                p.priority = Some(self.rule_num(opt, v, u64::from(u32::MAX))? as u32);
                Some(2)
            }
            "tos" | "dsfield" => {
                p.tos = self.rule_num(opt, v, 255)? as u8;
                Some(2)
            }
            "fwmark" => {
                p.fwmark = Some(self.rule_fwmark(v)?);
                Some(2)
            }
            "realms"
            | "suppress_prefixlength"
            | "sup_pl"
            | "suppress_ifgroup"
            | "sup_group"
            | "tunnel-id"
            | "uidrange"
            | "sport"
            | "dport"
            | "protocol"
            | "ipproto" => {
                self.rule_selector(p, opt, v)?;
                Some(2)
            }
            "iif" | "dev" => {
                p.iif = Some(v.text.clone());
                Some(2)
            }
            "oif" => {
                p.oif = Some(v.text.clone());
                Some(2)
            }
            "l3mdev" => {
                self.rule_action(p, RuleAction::L3mdev, kw)?;
                Some(1)
            }
            "type" => {
                let took = self.rule_type_action(p, &w[1..])?;
                Some(took + 1)
            }
            _ => self.rule_type_action(p, w),
        }
    }

    /// The selectors with a value that the kernel matches beyond
    /// addresses, marks and interfaces.
    fn rule_selector(&mut self, p: &mut Partial, opt: &str, v: &Word) -> Option<()> {
        match opt {
            "realms" => {
                let r = match rt_realms::realms(&v.text, 0xffff) {
                    Ok(r) => r,
                    Err((word, e)) => {
                        let m = rt_realms::message(&word, &e, 0xffff);
                        self.err(v.pos, format!("realms {}: {m}", v.text));
                        return None;
                    }
                };
                self.rule_family(p, AddressFamily::Inet, v)?;
                p.realms = Some(r);
                Some(())
            }
            "suppress_prefixlength" | "sup_pl" => {
                p.suppress_prefixlength = Some(self.rule_num(opt, v, i32::MAX as u64)? as u32);
                Some(())
            }
            "suppress_ifgroup" | "sup_group" => {
                p.suppress_ifgroup = Some(self.rule_num(opt, v, u64::from(u32::MAX))? as u32);
                Some(())
            }
            "tunnel-id" => {
                p.tunnel_id = Some(self.rule_num(opt, v, u64::MAX)?);
                Some(())
            }
            "uidrange" => {
                let r = parse_pair::<u32>(&v.text);
                let Some(r) = r else {
                    self.err(
                        v.pos,
                        format!("uidrange expects FIRST-LAST, not \"{}\"", v.text),
                    );
                    return None;
                };
                p.uidrange = Some(r);
                Some(())
            }
            "sport" | "dport" => {
                // keepalived 2.2.7 refuses a single port ("invalid sport
                // range 22"): FIRST-LAST only, as it reads them.
                let Some(r) = parse_pair::<u16>(&v.text) else {
                    self.err(v.pos, format!("{opt} expects FIRST-LAST (keepalived reads no single port here; write 80-80), not \"{}\"", v.text));
                    return None;
                };
                if opt == "sport" {
                    p.sport = Some(r);
                } else {
                    p.dport = Some(r);
                }
                Some(())
            }
            "protocol" => {
                p.protocol = Some((self.rule_num(opt, v, 255)? as u8, v.clone()));
                Some(())
            }
            "ipproto" => {
                let Some(n) = ip_proto(&v.text) else {
                    self.err(v.pos, format!("ipproto expects a protocol number (0-127) or tcp, udp, sctp, icmp, ipv6-icmp, not \"{}\"", v.text));
                    return None;
                };
                p.ipproto = Some(n);
                Some(())
            }
            _ => Some(()),
        }
    }

    /// `goto N`, `nop`, `blackhole`, `unreachable`, `prohibit` (also
    /// after `type`) at `w[0]`; anything else is an unknown option.
    fn rule_type_action(&mut self, p: &mut Partial, w: &[&Word]) -> Option<usize> {
        let word = w[0].text.as_str();
        let (action, took) = match word {
            "nop" => (RuleAction::Nop, 1),
            "blackhole" => (RuleAction::Blackhole, 1),
            "unreachable" => (RuleAction::Unreachable, 1),
            "prohibit" => (RuleAction::Prohibit, 1),
            "goto" => {
                let Some(v) = w.get(1) else {
                    self.err(w[0].pos, "rule option \"goto\" needs a value");
                    return None;
                };
                let n = self.rule_num("goto", v, u64::from(u32::MAX))? as u32;
                (RuleAction::Goto(n), 2)
            }
            _ => {
                let msg = match keywords::suggest(word, RULE_OPTIONS.iter().copied()) {
                    Some(m) => format!("unknown rule option \"{word}\"; did you mean \"{m}\"?"),
                    None => format!("unknown rule option \"{word}\""),
                };
                self.err(w[0].pos, msg);
                return None;
            }
        };
        self.rule_action(p, action, w[0])?;
        Some(took)
    }

    /// A `from` / `to` value: a prefix, or `default`/`any`/`all`.
    fn rule_prefix(&mut self, opt: &str, v: &Word) -> Option<IpPrefix> {
        if is_any(&v.text) {
            return Some(IpPrefix {
                address: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                prefix_len: 0,
            });
        }
        let pfx = parse_prefix(&v.text);
        if pfx.is_none() {
            self.err(
                v.pos,
                format!("rule {opt} expects an address with an optional /prefix, or default, not \"{}\"", v.text),
            );
        }
        pfx
    }

    /// The rule's family is `fam` (from an address, `inet`/`inet6` or
    /// `realms`); a second, different one refuses the line.
    fn rule_family(&mut self, p: &mut Partial, fam: AddressFamily, at: &Word) -> Option<()> {
        match p.family {
            Some(f) if f != fam => {
                self.err(at.pos, "rule mixes IPv4 and IPv6");
                None
            }
            _ => {
                p.family = Some(fam);
                Some(())
            }
        }
    }

    /// A number as C's strtoul reads it (`0x10`, `010`), up to `max`.
    fn rule_num(&mut self, opt: &str, v: &Word, max: u64) -> Option<u64> {
        let n = parse_c_u64(&v.text).filter(|n| *n <= max);
        if n.is_none() {
            self.err(
                v.pos,
                format!(
                    "rule {opt} expects a number from 0 to {max}, not \"{}\"",
                    v.text
                ),
            );
        }
        n
    }

    /// `fwmark MARK[/MASK]`.
    fn rule_fwmark(&mut self, v: &Word) -> Option<(u32, Option<u32>)> {
        let num = |t: &str| {
            parse_c_u64(t)
                .filter(|n| *n <= u64::from(u32::MAX))
                .map(|n| n as u32)
        };
        let parsed = match v.text.split_once('/') {
            Some((m, k)) => num(m).zip(num(k)).map(|(m, k)| (m, Some(k))),
            None => num(&v.text).map(|m| (m, None)),
        };
        if parsed.is_none() {
            self.err(
                v.pos,
                format!(
                    "fwmark expects MARK or MARK/MASK (numbers), not \"{}\"",
                    v.text
                ),
            );
        }
        parsed
    }

    /// The line's one action (table, l3mdev, goto, nop, blackhole, ...).
    fn rule_action(&mut self, p: &mut Partial, a: RuleAction, at: &Word) -> Option<()> {
        if p.action.is_some() {
            self.err(
                at.pos,
                "a rule takes one of table, l3mdev, goto, nop, blackhole, unreachable and prohibit",
            );
            return None;
        }
        p.action = Some(a);
        Some(())
    }

    /// keepalived's checks once the line is read, and its defaults.
    fn finish_rule(&mut self, p: Partial, kw: &Word) -> Option<IpRule> {
        let Some(action) = p.action else {
            self.err(
                kw.pos,
                "rule without an action (table, goto, nop, blackhole, ...)",
            );
            return None;
        };
        let table_option =
            p.realms.is_some() || p.suppress_prefixlength.is_some() || p.suppress_ifgroup.is_some();
        if table_option && !matches!(action, RuleAction::Table(_) | RuleAction::L3mdev) {
            self.err(
                kw.pos,
                "realms, suppress_prefixlength and suppress_ifgroup need a table action",
            );
            return None;
        }
        if let RuleAction::Goto(target) = action {
            match p.priority {
                Some(pr) if pr < target => {}
                Some(pr) => {
                    self.err(
                        kw.pos,
                        format!("rule preference {pr} is not below its goto target {target}"),
                    );
                    return None;
                }
                None => {
                    self.err(kw.pos, "a goto rule needs a preference");
                    return None;
                }
            }
        }
        // keepalived recognises its rules by protocol 18 (keepalived);
        // a tracked rule cannot carry another.
        let protocol = match (&p.protocol, p.no_track) {
            (Some((n, w)), false) if *n != RTPROT_KEEPALIVED => {
                let msg = format!(
                    "protocol {n}: a tracked rule is protocol {RTPROT_KEEPALIVED} (keepalived); add no_track to install it with another"
                );
                self.err(w.pos, msg);
                return None;
            }
            (_, false) => Some(RTPROT_KEEPALIVED),
            (Some((n, _)), true) => Some(*n),
            (None, true) => None,
        };
        let family = p.family.unwrap_or(AddressFamily::Inet);
        let fix = |pfx: Option<IpPrefix>| {
            pfx.map(|mut x| {
                if family == AddressFamily::Inet6 && x.prefix_len == 0 && x.address.is_unspecified()
                {
                    x.address = std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
                }
                x
            })
        };
        let priority = match p.priority {
            Some(pr) => pr,
            None => {
                let slot = usize::from(family == AddressFamily::Inet6);
                let pr = self.next_rule_priority[slot];
                self.next_rule_priority[slot] = pr.saturating_sub(1);
                self.warn(kw.pos, format!("rule without a preference: it gets {pr}, as keepalived gives it (write one to choose the order)"));
                pr
            }
        };
        Some(IpRule {
            family,
            from: fix(p.from),
            to: fix(p.to),
            invert: p.invert,
            priority,
            tos: p.tos,
            fwmark: p.fwmark.map(|(m, _)| m),
            fwmask: p.fwmark.and_then(|(_, k)| k),
            iif: p.iif,
            oif: p.oif,
            realms: p.realms,
            suppress_prefixlength: p.suppress_prefixlength,
            suppress_ifgroup: p.suppress_ifgroup,
            tunnel_id: p.tunnel_id,
            uidrange: p.uidrange,
            protocol,
            ipproto: p.ipproto,
            sport: p.sport,
            dport: p.dport,
            action,
            no_track: p.no_track,
            track_group: p.track_group,
        })
    }
}

/// `RTPROT_KEEPALIVED`: the protocol keepalived installs its rules and
/// routes with.
pub(super) const RTPROT_KEEPALIVED: u8 = 18;

/// `default`, `any`, `all`: every address (of the rule's family).
fn is_any(s: &str) -> bool {
    matches!(s, "default" | "any" | "all")
}

/// `A-B`.
fn parse_pair<T: std::str::FromStr>(s: &str) -> Option<Range<T>> {
    let (a, b) = s.split_once('-')?;
    Some(Range {
        start: a.parse().ok()?,
        end: b.parse().ok()?,
    })
}

/// `ipproto`: a number up to 127 (keepalived's limit) or a common name
/// (keepalived asks /etc/protocols; tandem knows these few).
fn ip_proto(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return (n <= 127).then_some(n);
    }
    Some(match s {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" => 58,
        // By name, keepalived takes what /etc/protocols says, 132 too.
        "sctp" => 132,
        _ => return None,
    })
}
