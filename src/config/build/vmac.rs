//! `use_vmac`, `use_ipvlan` and `vmac_xmit_base` in a `vrrp_instance`:
//! the interface of the instance's own that carries its VIPs.
//!
//! Owns: reading those keywords' arguments (a name, a MAC address, an
//! ipvlan address and mode), the checks that need the whole instance
//! (the family of an ipvlan address, unicast implying `vmac_xmit_base`)
//! and the check across instances (two instances, one name). May not:
//! name a vmac configured without one (that depends on the host's links;
//! the daemon does it).

use std::collections::HashMap;

use crate::config::diag::{Diagnostic, Severity};
use crate::config::keywords;
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::raw::RawInstance;
use super::values::parse_prefix;

/// The RFC 5798 §7.3 virtual MAC's first four octets.
const VRRP_MAC_PREFIX: [u8; 4] = [0x00, 0x00, 0x5e, 0x00];

/// The longest interface name Linux takes (IFNAMSIZ − 1).
const IFNAME_MAX: usize = 15;

/// Why `name` cannot be a Linux interface name (the kernel's
/// `dev_valid_name`), or `None` when it can.
pub(super) fn bad_ifname(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > IFNAME_MAX {
        Some("is longer than 15 characters (Linux's limit for interface names)")
    } else if name == "." || name == ".." {
        Some("is not a valid interface name")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        Some("may not contain '/', ':' or spaces")
    } else {
        None
    }
}

/// A MAC address as `use_vmac` takes it: six octets, or five (the VRID is
/// the sixth) with an optional trailing ':'. `None` when malformed.
fn parse_mac(text: &str) -> Option<(Vec<u8>, bool)> {
    let body = text.strip_suffix(':').unwrap_or(text);
    let mut octets = Vec::new();
    for part in body.split(':') {
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        octets.push(u8::from_str_radix(part, 16).ok()?);
    }
    match octets.len() {
        5 => Some((octets, true)),
        6 if !text.ends_with(':') => Some((octets, false)),
        _ => None,
    }
}

impl Builder {
    /// The vmac keywords; false if `kw` is not one of them.
    pub(super) fn instance_vmac_stmt(
        &mut self,
        kw: &str,
        st: &Stmt,
        vi: &mut VrrpInstance,
        r: &mut RawInstance,
    ) -> bool {
        match kw {
            "use_vmac" => {
                self.no_block(st);
                if let Some(v) = self.use_vmac(st, r) {
                    self.set_vmac(st, vi, r, v);
                }
            }
            "use_ipvlan" => {
                self.no_block(st);
                if let Some(v) = self.use_ipvlan(st) {
                    self.set_vmac(st, vi, r, v);
                }
            }
            "vmac_xmit_base" => {
                self.bare(st);
                r.xmit_base = Some(st.keyword.pos);
            }
            "use_vmac_addr" => {
                self.bare(st);
                vi.use_vmac_addr = true;
            }
            _ => return false,
        }
        true
    }

    fn set_vmac(&mut self, st: &Stmt, vi: &mut VrrpInstance, r: &mut RawInstance, v: Vmac) {
        if r.vmac_pos.is_some() {
            self.err(
                st.keyword.pos,
                format!(
                    "vrrp_instance {}: use_vmac or use_ipvlan given twice",
                    vi.name
                ),
            );
            return;
        }
        r.vmac_pos = Some(st.keyword.pos);
        vi.vmac = Some(v);
    }

    /// Record an interface name given to use_vmac / use_ipvlan.
    fn vmac_name(&mut self, kw: &str, w: &Word, name: &mut Option<String>) {
        if name.is_some() {
            self.err(w.pos, format!("{kw}: the interface name is already given"));
        } else if let Some(why) = bad_ifname(&w.text) {
            self.err(w.pos, format!("{kw}: interface name \"{}\" {why}", w.text));
        } else {
            *name = Some(w.text.clone());
        }
    }

    /// `use_vmac [[name] NAME] [MAC]`.
    fn use_vmac(&mut self, st: &Stmt, r: &mut RawInstance) -> Option<Vmac> {
        let mut name = None;
        let mut mac = None;
        let mut ok = true;
        let mut words = st.args.iter();
        while let Some(w) = words.next() {
            match w.text.as_str() {
                "netlink_notify_msg" | "group" => {
                    self.err(w.pos, keywords::unsupported_message(&w.text));
                    ok = false;
                }
                "name" => match words.next() {
                    Some(n) => self.vmac_name("use_vmac", n, &mut name),
                    None => self.err(w.pos, "use_vmac: \"name\" needs an interface name"),
                },
                t if t.contains(':') => ok &= self.vmac_mac(w, r, &mut mac),
                _ => self.vmac_name("use_vmac", w, &mut name),
            }
        }
        ok.then_some(Vmac {
            name,
            kind: VmacKind::Macvlan { mac },
            xmit_base: false,
        })
    }

    /// A MAC address after use_vmac: not multicast, not an RFC 5798 one
    /// (those are the default), five octets meaning "the VRID is last".
    fn vmac_mac(&mut self, w: &Word, r: &mut RawInstance, mac: &mut Option<[u8; 6]>) -> bool {
        let Some((octets, vrid_last)) = parse_mac(&w.text) else {
            self.err(
                w.pos,
                format!(
                    "use_vmac: \"{}\" is not a MAC address (6 octets, or 5 and the VRID is the 6th)",
                    w.text
                ),
            );
            return false;
        };
        let why = if mac.is_some() {
            Some("a MAC address is already given")
        } else if octets[0] & 1 == 1 {
            Some("is a multicast address")
        } else if octets[..4] == VRRP_MAC_PREFIX && matches!(octets[4], 1 | 2) {
            Some("is an RFC 5798 virtual MAC (the default; leave it out)")
        } else {
            None
        };
        if let Some(why) = why {
            self.err(w.pos, format!("use_vmac: MAC address {} {why}", w.text));
            return false;
        }
        let mut m = [0u8; 6];
        m[..octets.len()].copy_from_slice(&octets);
        *mac = Some(m);
        r.vmac_mac_vrid = vrid_last;
        true
    }

    /// `use_ipvlan [[name] NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]`.
    fn use_ipvlan(&mut self, st: &Stmt) -> Option<Vmac> {
        let mut name = None;
        let mut mode: Option<IpvlanMode> = None;
        let mut address = None;
        let mut ok = true;
        let mut words = st.args.iter();
        while let Some(w) = words.next() {
            let m = match w.text.as_str() {
                "bridge" => Some(IpvlanMode::Bridge),
                "private" => Some(IpvlanMode::Private),
                "vepa" => Some(IpvlanMode::Vepa),
                _ => None,
            };
            if let Some(m) = m {
                if mode.is_some() {
                    self.err(w.pos, "use_ipvlan: the mode is already given");
                }
                mode = Some(m);
                continue;
            }
            match w.text.as_str() {
                "group" => {
                    self.err(w.pos, keywords::unsupported_message(&w.text));
                    ok = false;
                }
                "name" => match words.next() {
                    Some(n) => self.vmac_name("use_ipvlan", n, &mut name),
                    None => self.err(w.pos, "use_ipvlan: \"name\" needs an interface name"),
                },
                t => match parse_prefix(t) {
                    Some(p) if address.is_some() => {
                        self.err(
                            w.pos,
                            format!("use_ipvlan: an address is already given ({})", p.address),
                        );
                    }
                    Some(p) => address = Some((p.address, p.prefix_len)),
                    None => self.vmac_name("use_ipvlan", w, &mut name),
                },
            }
        }
        ok.then_some(Vmac {
            name,
            kind: VmacKind::Ipvlan {
                mode: mode.unwrap_or_default(),
                address,
            },
            xmit_base: false,
        })
    }

    /// What needs the whole instance: the VRID in a five-octet MAC, the
    /// ipvlan address's family, and `vmac_xmit_base` (only with use_vmac;
    /// implied by unicast, as keepalived implies it).
    pub(super) fn finish_vmac(&mut self, vi: &mut VrrpInstance, r: &RawInstance) {
        let name = vi.name.clone();
        let family = vi.family;
        let unicast = !vi.unicast_peer.is_empty();
        let vrid = vi.virtual_router_id;
        let Some(v) = vi.vmac.as_mut() else {
            if let Some(pos) = r.xmit_base {
                self.err(
                    pos,
                    format!("vrrp_instance {name}: vmac_xmit_base needs use_vmac"),
                );
            }
            return;
        };
        let Some(pos) = r.vmac_pos else {
            return;
        };
        match &mut v.kind {
            VmacKind::Macvlan { mac } => {
                if let (Some(m), true) = (mac.as_mut(), r.vmac_mac_vrid) {
                    m[5] = vrid;
                }
                v.xmit_base = r.xmit_base.is_some();
                if unicast && !v.xmit_base {
                    self.p.lexer.diagnostics.push(Diagnostic::at(
                        Severity::Warning,
                        &vi.origin,
                        format!(
                            "vrrp_instance {name}: unicast_peer with use_vmac sends from the base interface (vmac_xmit_base implied, as keepalived does)"
                        ),
                    ));
                    v.xmit_base = true;
                }
            }
            VmacKind::Ipvlan { address, .. } => {
                if let Some(p) = r.xmit_base {
                    self.err(
                        p,
                        format!(
                            "vrrp_instance {name}: vmac_xmit_base needs use_vmac, not use_ipvlan"
                        ),
                    );
                }
                match address {
                    Some((a, _)) if AddressFamily::of(a) != family => self.err(
                        pos,
                        format!(
                            "vrrp_instance {name}: use_ipvlan address {a} is not {family} like the instance's virtual addresses"
                        ),
                    ),
                    None if family == AddressFamily::Inet => self.err(
                        pos,
                        format!(
                            "vrrp_instance {name}: an IPv4 use_ipvlan needs an address (the adverts' source)"
                        ),
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// Two instances may not name the same vmac: keepalived 2.2.7 drops the
/// later instance's name ("VRRP instance X is already using NAME -
/// ignoring name", vrrp_parser.c) and that instance gets a generated name,
/// as without one. The index of each such instance, and the warning.
pub(super) fn duplicate_vmac_names(
    instances: &[(String, Option<Pos>, Option<String>)],
) -> Vec<(usize, Pos, String)> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut dropped = Vec::new();
    for (i, (inst, pos, name)) in instances.iter().enumerate() {
        let (Some(name), Some(pos)) = (name, pos) else {
            continue;
        };
        match seen.get(name.as_str()) {
            Some(other) => dropped.push((
                i,
                *pos,
                format!(
                    "vrrp_instance {inst}: vrrp_instance {other} already uses the interface name {name}; \
                     the name is ignored and the vmac gets a generated one (keepalived does the same)"
                ),
            )),
            None => {
                seen.insert(name, inst);
            }
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_take_five_or_six_octets() {
        assert_eq!(
            parse_mac("02:00:5e:00:04:07"),
            Some((vec![2, 0, 0x5e, 0, 4, 7], false))
        );
        assert_eq!(
            parse_mac("02:00:5e:00:04:"),
            Some((vec![2, 0, 0x5e, 0, 4], true))
        );
        assert_eq!(
            parse_mac("02:00:5e:00:04"),
            Some((vec![2, 0, 0x5e, 0, 4], true))
        );
        for bad in [
            "02:00:5e",
            "02:00:5e:00:04:07:",
            "0g:00:5e:00:04:07",
            "002:0:5e:0:4:7",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn interface_names_follow_the_kernel() {
        assert_eq!(bad_ifname("vrrp.51"), None);
        assert_eq!(bad_ifname("abcdefghijklmno"), None);
        assert!(bad_ifname("abcdefghijklmnop").is_some());
        assert!(bad_ifname("a/b").is_some());
        assert!(bad_ifname("..").is_some());
    }
}
