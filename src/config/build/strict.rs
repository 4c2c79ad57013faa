//! `vrrp_strict` / `strict_mode` and accept mode: the global firewall
//! keywords (`nftables`, `nftables_priority`, `nftables_counters`,
//! `nftables_ifindex`, `vrrp_iptables`), and the rules strict mode
//! imposes on an instance once it is resolved.
//!
//! keepalived 2.2.7 (`vrrp_complete_instance`) sorts strict mode's rules
//! in three kinds, and so does tandem: what makes it drop the instance is
//! an error here (no VIP, unicast peers); what it reports and corrects is
//! a warning naming the correction, and tandem makes the same one
//! (authentication ignored, preempt_delay 0, state from the priority, no
//! accept mode for VRRPv2, no lower-priority gratuitous ARP); what it
//! implies silently is simply the resolved value (no accept mode unless
//! the address owner, no advert in answer to a lower priority, no
//! lower-priority gratuitous ARP).
//!
//! Owns: those keywords' meaning and the strict rules. May not: read the
//! rest of an instance (vrrp_instance does) or touch the kernel.

use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::RawInstance;

/// The longest nftables table name the kernel takes (NFT_NAME_MAXLEN,
/// with its terminating NUL).
const TABLE_NAME_MAX: usize = 255;

impl Builder {
    /// The firewall keywords of global_defs; false if `kw` is not one.
    pub(super) fn global_firewall_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        match kw {
            "vrrp_strict" => {
                self.bare(st);
                self.global.vrrp_strict = true;
            }
            "nftables" => self.nftables(st),
            "nftables_priority" => {
                if let Some(v) = self.int_in(st, i32::MIN.into(), i32::MAX.into()) {
                    self.global.nftables.priority = v as i32;
                }
            }
            "nftables_counters" => {
                self.bare(st);
                self.global.nftables.counters = true;
            }
            "nftables_ifindex" => {
                self.bare(st);
                self.global.nftables.ifindex = true;
            }
            "vrrp_ipsets" => {
                self.no_block(st);
                let syntax = "[SET [SET6 [SET_IF6 [IGMP_SET [MLD_SET]]]]]";
                if let Some(args) = self.args_range(st, 0, 5, syntax) {
                    // ipset's IPSET_MAXNAMELEN (32, with the NUL).
                    if let Some(w) = args.iter().find(|w| w.text.len() > 30) {
                        let msg = format!("ipset name \"{}\" is longer than 30 bytes", w.text);
                        self.err(w.pos, msg);
                    }
                    self.vrrp_ipsets_pos = Some((st.keyword.pos, !args.is_empty()));
                }
            }
            "vrrp_iptables" => {
                self.no_block(st);
                if let Some(args) = self.args_range(st, 0, 2, "[IN_CHAIN [OUT_CHAIN]]") {
                    let chains = args.iter().map(|w| w.text.clone()).collect();
                    self.global.nftables.vrrp_iptables = Some(chains);
                    self.vrrp_iptables_pos = Some(st.keyword.pos);
                }
            }
            _ => return false,
        }
        true
    }

    /// `nftables [TABLE]`.
    fn nftables(&mut self, st: &Stmt) {
        self.no_block(st);
        let Some(args) = self.args_range(st, 0, 1, "[TABLE]") else {
            return;
        };
        let name = match args.first() {
            None => "keepalived".to_string(),
            Some(w) if w.text.is_empty() || w.text.len() > TABLE_NAME_MAX => {
                self.err(
                    w.pos,
                    format!("nftables table name must be 1 to {TABLE_NAME_MAX} bytes"),
                );
                return;
            }
            Some(w) => w.text.clone(),
        };
        self.global.nftables.table = name;
    }

    /// What `vrrp_ipsets` comes to with nftables, said at its keyword.
    /// keepalived built with ipset support puts the VIPs in the named ipsets
    /// for its iptables rules (and, with no name, matches each address in
    /// its own rule); Debian's keepalived 2.2.7, built for nftables only,
    /// reports the keyword as unknown. Either way the addresses dropped
    /// are the same: tandem keeps them in the `vips` set of its nftables
    /// table, where keepalived's nftables code keeps them too.
    pub(super) fn note_vrrp_ipsets(&mut self, g: &GlobalDefs) {
        let Some((pos, named)) = self.vrrp_ipsets_pos else {
            return;
        };
        let what = if named {
            "the named ipsets are not created"
        } else {
            "(no name: keepalived would not use ipsets)"
        };
        self.note(
            pos,
            format!(
                "vrrp_ipsets: {what}; the addresses no_accept drops are in the set \"vips\" of the nftables table \"{}\", as keepalived keeps them when built for nftables (Debian's 2.2.7 does not read vrrp_ipsets)",
                g.nftables.table
            ),
        );
    }

    /// What tandem does with `vrrp_iptables`, said once at its keyword
    /// (check-config and `tandem run` both print it).
    pub(super) fn note_vrrp_iptables(&mut self, g: &GlobalDefs) {
        let (Some(pos), Some(chains)) = (self.vrrp_iptables_pos, &g.nftables.vrrp_iptables) else {
            return;
        };
        let chains = if chains.is_empty() {
            "INPUT/OUTPUT".to_string()
        } else {
            chains.join("/")
        };
        self.note(
            pos,
            format!(
                "vrrp_iptables: the iptables chains {chains} are not used; no_accept is enforced with the nftables table \"{}\" (as keepalived does when built without iptables)",
                g.nftables.table
            ),
        );
    }

    /// Strict mode's rules for one resolved instance, and accept mode's
    /// default (errors make the file refused).
    pub(super) fn apply_strict(&mut self, vi: &mut VrrpInstance, ri: &RawInstance, g: &GlobalDefs) {
        vi.strict_mode = ri.strict_mode.unwrap_or(g.vrrp_strict);
        let owner = vi.priority == 255;
        // keepalived: accept unless strict, and always for the owner.
        vi.accept = ri
            .accept
            .map(|(a, _)| a)
            .unwrap_or(owner || !vi.strict_mode);
        if !vi.strict_mode {
            return;
        }
        let at = ri.kw_pos;
        let name = vi.name.clone();
        if vi.virtual_ipaddress.is_empty() {
            self.err(
                at,
                format!("vrrp_instance {name}: strict mode needs at least one virtual_ipaddress"),
            );
        }
        if let Some((_, pos)) = ri.peer_pos.first() {
            self.err(
                *pos,
                format!(
                    "vrrp_instance {name}: unicast peers are not allowed in strict mode (RFC 5798 adverts go to the multicast group)"
                ),
            );
        }
        self.strict_state(vi, ri, owner, at);
        if vi.authentication.is_some() {
            self.warn(
                ri.auth_pos.unwrap_or(at),
                format!(
                    "vrrp_instance {name}: strict mode does not allow authentication; it is ignored"
                ),
            );
            vi.authentication = None;
        }
        if !vi.preempt_delay.is_zero() {
            self.warn(
                ri.preempt_delay_pos.unwrap_or(at),
                format!(
                    "vrrp_instance {name}: strict mode does not allow preempt_delay; it is set to 0"
                ),
            );
            vi.preempt_delay = std::time::Duration::ZERO;
        }
        if let Some((true, pos)) = ri.accept
            && !owner
            && vi.version == VrrpVersion::V2
        {
            self.warn(
                pos,
                format!(
                    "vrrp_instance {name}: strict mode: accept mode is not part of VRRP version 2 (RFC 3768); no_accept is used"
                ),
            );
            vi.accept = false;
        }
        self.strict_garp(vi, ri, at);
        if vi.family == AddressFamily::Inet6
            && let Some(first) = vi.virtual_ipaddress.first()
            && !is_link_local(&first.address)
        {
            let pos = ri.vip_pos.first().map_or(at, |p| p.1);
            self.warn(
                pos,
                format!(
                    "vrrp_instance {name}: strict mode: the first IPv6 virtual address should be link-local (RFC 5798 §5.2.9)"
                ),
            );
        }
        if ri.lower_prio_no_advert == Some(false) {
            self.warn(
                at,
                format!(
                    "vrrp_instance {name}: strict mode requires lower_prio_no_advert; it is set"
                ),
            );
        }
        vi.lower_prio_no_advert = true;
        if vi.higher_prio_send_advert {
            self.warn(
                at,
                format!("vrrp_instance {name}: strict mode does not allow higher_prio_send_advert; it is cleared"),
            );
            vi.higher_prio_send_advert = false;
        }
    }

    /// Strict mode: only the address owner starts as MASTER. Not
    /// written, the state follows the priority (as keepalived derives it);
    /// written against it, it is corrected with a warning.
    fn strict_state(&mut self, vi: &mut VrrpInstance, ri: &RawInstance, owner: bool, at: Pos) {
        let name = vi.name.clone();
        // Not written: the state follows the priority, as in keepalived.
        if ri.state_pos.is_none() {
            vi.state = if owner {
                InitialState::Master
            } else {
                InitialState::Backup
            };
        }
        if (vi.state == InitialState::Master) != owner {
            let (now, why) = if owner {
                (
                    InitialState::Master,
                    "priority 255 (the address owner) starts as MASTER",
                )
            } else {
                (
                    InitialState::Backup,
                    "only the address owner (priority 255) may start as MASTER",
                )
            };
            self.warn(
                ri.state_pos.unwrap_or(at),
                format!(
                    "vrrp_instance {name}: strict mode: {why}; the state is set to {}",
                    if owner { "MASTER" } else { "BACKUP" }
                ),
            );
            vi.state = now;
        }
    }

    /// Strict mode sends no lower-priority gratuitous ARP/NA: given
    /// explicitly it is reset with a warning, inherited it is just off.
    fn strict_garp(&mut self, vi: &mut VrrpInstance, ri: &RawInstance, at: Pos) {
        let name = &vi.name;
        if ri.garp_lower_prio_repeat.is_some_and(|r| r > 0) {
            let msg = format!(
                "vrrp_instance {name}: strict mode does not allow garp_lower_prio_repeat; it is set to 0"
            );
            self.warn(ri.garp_lower_prio_pos.unwrap_or(at), msg);
        }
        if ri.garp_lower_prio_delay.is_some_and(|d| !d.is_zero()) {
            let msg = format!(
                "vrrp_instance {name}: strict mode does not allow garp_lower_prio_delay; it is set to 0"
            );
            self.warn(ri.garp_lower_prio_pos.unwrap_or(at), msg);
        }
        vi.garp_lower_prio_repeat = 0;
        vi.garp_lower_prio_delay = std::time::Duration::ZERO;
    }
}

fn is_link_local(a: &std::net::IpAddr) -> bool {
    match a {
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        std::net::IpAddr::V4(_) => false,
    }
}
