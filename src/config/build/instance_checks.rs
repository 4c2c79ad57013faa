//! The checks of a vrrp_instance once its words are read: what
//! keepalived refuses or corrects about the whole instance (its address
//! families, its advert interval, more VIPs than an advert carries, a
//! unicast instance without peers).

use std::time::Duration;

use crate::config::diag::{Diagnostic, Severity};
use crate::config::lexer::Pos;
use crate::config::model::*;

use super::builder::Builder;
use super::raw::RawInstance;

impl Builder {
    /// `unicast_fault_no_peer` without a `unicast_peer`: the instance will
    /// stay in FAULT, as keepalived 2.2.7's does; said at the keyword.
    pub(super) fn check_fault_no_peer(&mut self, vi: &VrrpInstance, ri: &RawInstance) {
        if let (true, Some(pos)) = (vi.unicast_peer.is_empty(), ri.fault_no_peer_pos) {
            let msg = format!(
                "vrrp_instance {}: unicast_fault_no_peer without any unicast_peer: the instance stays in FAULT (keepalived 2.2.7: \"Cannot use unicast without any peers - going to fault state\")",
                vi.name
            );
            self.warn(pos, msg);
        }
    }

    /// What needs the resolved version and family: authentication is
    /// VRRPv2 only, nopreempt needs state BACKUP, and the unicast
    /// addresses must share the instance's family.
    /// More virtual addresses than one advert carries: keepalived 2.2.7
    /// moves the excess to the excluded ones (held while master, not
    /// advertised), with a report (`vrrp_complete_instance`). Its limit:
    /// what fits a 1500-byte frame after the Ethernet, IP and VRRP headers
    /// (and v2 authentication), and at most 255 (RFC 5798 §5.2.5's 8-bit
    /// count): 255 for IPv4, 89 for IPv6.
    pub(super) fn excess_vips(&mut self, vi: &mut VrrpInstance, ri: &RawInstance) {
        const MTU: usize = 1500;
        let max = if vi.family == AddressFamily::Inet6 {
            (MTU - 14 - 40 - 8) / 16
        } else {
            let mut hdr = 14 + 20 + 8;
            if vi.version == VrrpVersion::V2 {
                hdr += 8;
                if vi
                    .authentication
                    .as_ref()
                    .is_some_and(|a| a.auth_type == crate::config::AuthType::Ah)
                {
                    hdr += 24;
                }
            }
            (MTU - hdr) / 4
        }
        .min(255);
        if vi.virtual_ipaddress.len() <= max {
            return;
        }
        let Some(first) = vi.virtual_ipaddress.get(max).map(|v| v.address) else {
            return;
        };
        let pos = ri
            .vip_pos
            .iter()
            .find(|(a, _)| *a == first)
            .map_or(ri.kw_pos, |p| p.1);
        let n = vi.virtual_ipaddress.len();
        let excess = vi.virtual_ipaddress.split_off(max);
        vi.virtual_ipaddress_excluded.splice(0..0, excess);
        self.warn(
            pos,
            format!(
                "vrrp_instance {}: {n} virtual addresses, more than an advert carries ({max}): \
                 the {} from here on are held but not advertised, as virtual_ipaddress_excluded \
                 (keepalived does the same)",
                vi.name,
                n - max
            ),
        );
    }

    pub(super) fn check_resolved_instance(&mut self, vi: &VrrpInstance, ri: &RawInstance) {
        if vi.vmac.is_some()
            && let Some(pos) = ri.promote_secondaries_pos
        {
            let msg = format!(
                "vrrp_instance {}: promote_secondaries changes nothing with use_vmac / use_ipvlan: the vmac has it already (keepalived ignores it there too)",
                vi.name
            );
            self.warn(pos, msg);
        }
        if vi.version == VrrpVersion::V3
            && vi.authentication.is_some()
            && let Some(pos) = ri.auth_pos
        {
            self.err(
                pos,
                format!(
                    "vrrp_instance {}: authentication is not part of VRRP version 3 (RFC 5798; keepalived 2.2.7 would report it and ignore the authentication block)",
                    vi.name
                ),
            );
        }
        if vi.nopreempt && vi.state == InitialState::Master {
            self.p.lexer.diagnostics.push(Diagnostic::at(
                Severity::Warning,
                &vi.origin,
                format!(
                    "vrrp_instance {}: nopreempt has no effect with state MASTER; use state BACKUP",
                    vi.name
                ),
            ));
        }
        self.check_fault_no_peer(vi, ri);
        if vi.unicast_peer.is_empty()
            && let Some(pos) = ri.unicast_ttl_pos
        {
            let file = self.origin(pos);
            self.p.lexer.diagnostics.push(Diagnostic::at(
                Severity::Warning,
                &file,
                format!(
                    "vrrp_instance {}: unicast_ttl has no effect without unicast_peer (multicast adverts always carry TTL 255)",
                    vi.name
                ),
            ));
        }
        self.check_address_families(vi, ri);
    }

    /// `mcast_dst_ip`, `unicast_peer` and `unicast_src_ip` of the
    /// instance's family (its virtual addresses').
    pub(super) fn check_address_families(&mut self, vi: &VrrpInstance, ri: &RawInstance) {
        let family = vi.family;
        if let (Some(g), Some(pos)) = (vi.mcast_dst_ip, ri.mcast_pos) {
            if AddressFamily::of(&g) != family {
                let msg = format!(
                    "vrrp_instance {}: mcast_dst_ip {g} is not {family} like the instance's virtual addresses",
                    vi.name
                );
                self.err(pos, msg);
            } else if !vi.unicast_peer.is_empty() {
                let msg = format!(
                    "vrrp_instance {}: mcast_dst_ip has no effect with unicast_peer (adverts go to the peers)",
                    vi.name
                );
                self.warn(pos, msg);
            }
        }
        // keepalived takes the family from the first address it reads;
        // when that is this one, it drops the virtual addresses instead.
        let first_vip = ri.vip_pos.first().map(|p| p.1);
        let keepalived = |pos: Option<Pos>| match (pos, first_vip) {
            (Some(a), Some(v)) if a.file == v.file && (a.line, a.col) < (v.line, v.col) => format!(
                "; keepalived reads this address first, takes the instance as {} and drops its {family} \
                 virtual addresses, leaving it without them",
                if family == AddressFamily::Inet {
                    "IPv6"
                } else {
                    "IPv4"
                }
            ),
            _ => String::new(),
        };
        for (peer, pos) in &ri.peer_pos {
            if AddressFamily::of(peer) != family {
                let msg = format!(
                    "vrrp_instance {}: unicast_peer {peer} is not {family} like the instance's virtual addresses{}",
                    vi.name,
                    if ri.src_pos.is_some() {
                        String::new()
                    } else {
                        keepalived(Some(*pos))
                    }
                );
                self.err(*pos, msg);
            }
        }
        if let Some(src) = vi.unicast_src_ip
            && AddressFamily::of(&src) != family
        {
            let msg = format!(
                "vrrp_instance {}: unicast_src_ip {src} is not {family} like the instance's virtual addresses{}",
                vi.name,
                keepalived(ri.src_pos)
            );
            match ri.src_pos {
                Some(pos) => self.err(pos, msg),
                None => {
                    self.p
                        .lexer
                        .diagnostics
                        .push(Diagnostic::at(Severity::Error, &vi.origin, msg))
                }
            }
        }
    }

    /// RFC 3768 §5.3.7: whole seconds, 1–255 in an 8-bit field.
    /// RFC 5798 §5.2.7: centiseconds in a 12-bit field, 1–4095.
    /// Returns the interval the instance runs with: under version 3 a
    /// fraction of a centisecond is rounded to the nearest one, as
    /// keepalived rounds it (0.333 s is the 0.33 s the line meant).
    pub(super) fn check_advert_int(
        &mut self,
        vi: &VrrpInstance,
        adv: Duration,
        pos: Pos,
    ) -> Duration {
        let secs = adv.as_secs_f64();
        match vi.version {
            VrrpVersion::V2 => {
                if adv.subsec_nanos() != 0 {
                    // keepalived rounds to the nearest second, at least 1:
                    // not the interval the line asks for.
                    let rounded = (adv + Duration::from_millis(500)).as_secs().max(1);
                    self.err(
                        pos,
                        format!(
                            "advert_int {secs} needs VRRP version 3 (\"version 3\"); version 2 counts whole seconds \
                             (keepalived rounds it to {rounded} s)"
                        ),
                    );
                } else if !(1..=255).contains(&adv.as_secs()) {
                    self.err(
                        pos,
                        format!(
                            "advert_int {secs} is out of range for VRRP version 2 (1-255 seconds)"
                        ),
                    );
                }
            }
            VrrpVersion::V3 => {
                let cs = adv.as_micros() as f64 / 10_000.0;
                if !(1.0..=4095.0).contains(&cs) {
                    self.err(
                        pos,
                        format!("advert_int {secs} is out of range for VRRP version 3 (0.01-40.95 seconds)"),
                    );
                } else if cs.fract() != 0.0 {
                    let rounded = Duration::from_millis(((cs.round() as u64).max(1)) * 10);
                    self.warn(
                        pos,
                        format!(
                            "advert_int {secs} is not a whole number of centiseconds (VRRP version 3 resolution): using {} s, as keepalived rounds it",
                            rounded.as_secs_f64()
                        ),
                    );
                    return rounded;
                }
            }
        }
        adv
    }
}
