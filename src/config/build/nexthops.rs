//! The multipath tail of a route line, read as keepalived 2.2.7 reads it
//! (vrrp_iproute.c): `nexthop [via IP] [dev IF] [weight 1..256] [onlink]
//! [realms R] [encap ...]`, repeated, after every other option; and the older
//! `via A or B`, which keepalived still takes (with a deprecation
//! message) as two next hops without a device or weight.
//!
//! Owns: the nexthop words. May not: check the hops' family against the
//! destination (the route reader does, once the destination is known).

use crate::config::model::*;
use crate::config::parser::Word;
use crate::config::rt_realms;

use super::builder::Builder;
use super::values::parse_c_u64;

impl Builder {
    /// `w` starts at the first `nexthop`: every hop into `r`; false when
    /// the line is refused (reported). Nothing else may follow the hops.
    pub(super) fn route_nexthops(&mut self, r: &mut VirtualRoute, w: &[&Word]) -> bool {
        if !r.nexthops.is_empty() {
            self.err(
                w[0].pos,
                "nexthop: this route already has the \"or\" form's two next hops",
            );
            return false;
        }
        let mut i = 0;
        while w.get(i).is_some_and(|x| x.text == "nexthop") {
            let start = w[i];
            i += 1;
            let mut nh = Nexthop::default();
            while let Some(&x) = w.get(i) {
                if x.text == "encap" {
                    let Some((e, n)) = self.encap(&w[i..]) else {
                        return false;
                    };
                    nh.encap = Some(e);
                    i += n;
                    continue;
                }
                match self.nexthop_word(&mut nh, x, w.get(i + 1).copied()) {
                    Hop::Took(n) => i += n,
                    Hop::End => break,
                    Hop::Bad => return false,
                }
            }
            if nh.via.is_none() && nh.dev.is_none() {
                self.err(start.pos, "nexthop needs a via or a dev");
                return false;
            }
            r.nexthops.push(nh);
        }
        if let Some(x) = w.get(i) {
            self.err(
                x.pos,
                format!(
                    "\"{}\" after the route's next hops (only nexthop may follow one)",
                    x.text
                ),
            );
            return false;
        }
        true
    }

    fn nexthop_word(&mut self, nh: &mut Nexthop, x: &Word, v: Option<&Word>) -> Hop {
        let opt = x.text.as_str();
        if opt == "onlink" {
            nh.onlink = true;
            return Hop::Took(1);
        }
        if opt == "as" {
            // keepalived: "'as [to]' (nat) not supported", and the rest
            // of the line dropped.
            self.err(
                x.pos,
                "\"as\" in a nexthop: keepalived does not support it either (it is for MPLS)",
            );
            return Hop::Bad;
        }
        if !matches!(opt, "via" | "dev" | "weight" | "realms") {
            return Hop::End;
        }
        let Some(v) = v else {
            self.err(x.pos, format!("nexthop: \"{opt}\" needs a value"));
            return Hop::Bad;
        };
        match opt {
            "via" => match self.ip_word("nexthop via", v) {
                Some(ip) => nh.via = Some(ip),
                None => return Hop::Bad,
            },
            "dev" => nh.dev = Some(v.text.clone()),
            "weight" => match parse_c_u64(&v.text).filter(|n| (1..=256).contains(n)) {
                Some(n) => nh.weight = Some(n as u16),
                None => {
                    self.err(
                        v.pos,
                        format!("nexthop weight expects 1 to 256, not \"{}\"", v.text),
                    );
                    return Hop::Bad;
                }
            },
            _ => match rt_realms::realms(&v.text, 255) {
                Ok(n) => nh.realms = Some(n),
                Err((word, e)) => {
                    let m = rt_realms::message(&word, &e, 255);
                    self.err(v.pos, format!("realms {}: {m}", v.text));
                    return Hop::Bad;
                }
            },
        }
        Hop::Took(2)
    }

    /// `or B` after `via A`: the hops A and B (keepalived's older form of
    /// a two-path route). False when refused (reported).
    pub(super) fn route_or(&mut self, r: &mut VirtualRoute, w: &Word, v: &Word) -> bool {
        self.warn(
            w.pos,
            "\"or\" for routes is deprecated (keepalived says so too): write nexthop via A nexthop via B",
        );
        if !r.nexthops.is_empty() {
            self.warn(w.pos, "a second \"or\": ignored, as keepalived ignores it");
            return true;
        }
        let Some(first) = r.via.take() else {
            self.err(w.pos, "\"or\" needs a via before it");
            return false;
        };
        let Some(second) = self.ip_word("or", v) else {
            return false;
        };
        for via in [first, second] {
            r.nexthops.push(Nexthop {
                via: Some(via),
                ..Nexthop::default()
            });
        }
        true
    }
}

/// What one word inside a hop did.
enum Hop {
    /// It (and its value) belonged to the hop: the words taken.
    Took(usize),
    /// It starts the next hop (or is stray: the caller says).
    End,
    /// Refused (reported).
    Bad,
}
