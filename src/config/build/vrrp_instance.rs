//! `vrrp_instance NAME { ... }`: one virtual router (RFC 3768,
//! RFC 5798 §6.1), with its `authentication` and `unicast_peer` blocks.
//!
//! Owns: the meaning of each vrrp_instance keyword, and the checks that
//! need the whole instance (its family, its advert interval for the
//! version). May not: read the address and route lists themselves
//! (`addresses` does) or check across instances (validate does).

use std::time::Duration;

use crate::config::keywords::{self, Block};
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::raw::RawInstance;

impl Builder {
    pub(super) fn vrrp_instance(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut r = RawInstance::default();
        let mut vi = VrrpInstance {
            name: name.clone().unwrap_or_default(),
            origin: self.origin(s.keyword.pos),
            ..VrrpInstance::default()
        };
        self.kw_block(s, &mut |b, st| b.instance_stmt(st, &mut vi, &mut r));
        if name.is_none() {
            return;
        }
        match r.interface.take() {
            Some(i) => vi.interface = i,
            None if r.interface_given => {}
            None => self.err(
                s.keyword.pos,
                format!("vrrp_instance {} has no \"interface\"", vi.name),
            ),
        }
        match r.vrid {
            Some(v) => vi.virtual_router_id = v,
            None if r.vrid_given => {}
            None => self.err(
                s.keyword.pos,
                format!("vrrp_instance {} has no \"virtual_router_id\"", vi.name),
            ),
        }
        // The family is the VIPs'; all of them must share it.
        if let Some(first) = vi.virtual_ipaddress.first() {
            vi.family = AddressFamily::of(&first.address);
        }
        let fam = vi.family;
        let mixed = vi
            .virtual_ipaddress
            .iter()
            .find(|v| AddressFamily::of(&v.address) != fam)
            .map(|v| v.address);
        if let Some(a) = mixed {
            let pos = r
                .vip_pos
                .iter()
                .find(|(x, _)| *x == a)
                .map_or(s.keyword.pos, |p| p.1);
            self.err(
                pos,
                format!(
                    "vrrp_instance {}: virtual_ipaddress mixes {fam} and {} addresses ({a}); put the other family in virtual_ipaddress_excluded or in its own instance",
                    vi.name,
                    AddressFamily::of(&a)
                ),
            );
        }
        r.inst = vi;
        self.instances.push(r);
    }

    fn instance_stmt(&mut self, st: Stmt, vi: &mut VrrpInstance, r: &mut RawInstance) {
        let kw = self.alias(&st, Block::VrrpInstance);
        match kw.as_str() {
            "state" => {
                if let Some(w) = self.one(&st, "MASTER or BACKUP") {
                    match w.text.to_ascii_uppercase().as_str() {
                        "MASTER" => vi.state = InitialState::Master,
                        "BACKUP" => vi.state = InitialState::Backup,
                        _ => self.err(
                            w.pos,
                            format!("state expects MASTER or BACKUP, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "interface" => {
                r.interface_given = true;
                r.interface = self.string(&st);
            }
            "virtual_router_id" => {
                r.vrid_given = true;
                if let Some(v) = self.int_in(&st, 1, 255) {
                    r.vrid = Some(v as u8);
                }
            }
            "priority" => {
                if let Some(v) = self.int_in(&st, 1, 255) {
                    vi.priority = v as u8;
                }
            }
            "advert_int" => {
                if let Some(w) = self.one(&st, "a time in seconds") {
                    if let Some(v) = self.timer_word("advert_int", w) {
                        r.advert_int = Some((v, w.pos));
                    }
                }
            }
            "version" => {
                if let Some(w) = self.one(&st, "2 or 3") {
                    match w.text.as_str() {
                        "2" => r.version = Some((VrrpVersion::V2, w.pos)),
                        "3" => r.version = Some((VrrpVersion::V3, w.pos)),
                        _ => self.err(w.pos, format!("version expects 2 or 3, not \"{}\"", w.text)),
                    }
                }
            }
            "nopreempt" => {
                self.bare(&st);
                vi.nopreempt = true;
            }
            "preempt" => {
                self.bare(&st);
                vi.nopreempt = false;
            }
            "preempt_delay" => {
                if let Some(w) = self.one(&st, "a time in seconds") {
                    if let Some(v) = self.timer_word("preempt_delay", w) {
                        if v > Duration::from_secs(1000) {
                            self.err(
                                w.pos,
                                format!("preempt_delay {} is out of range (0-1000)", w.text),
                            );
                        } else {
                            vi.preempt_delay = v;
                        }
                    }
                }
            }
            "authentication" => {
                r.auth_pos = Some(st.keyword.pos);
                vi.authentication = self.authentication(&st);
            }
            "virtual_ipaddress" => {
                let list = self.vip_list(&st);
                self.add_vips(vi, r, list, false);
            }
            "virtual_ipaddress_excluded" => {
                let list = self.vip_list(&st);
                self.add_vips(vi, r, list, true);
            }
            "virtual_routes" => {
                let list = self.route_list(&st);
                vi.virtual_routes.extend(list);
            }
            "track_interface" => {
                let list = self.track_interface(&st);
                vi.track_interface.extend(list);
            }
            "track_script" => {
                let list = self.track_script(&st);
                r.track_script.extend(list);
            }
            "unicast_src_ip" => {
                vi.unicast_src_ip = self.ip(&st);
                r.src_pos = st.args.first().map(|w| w.pos);
            }
            "unicast_peer" => {
                if self.need_block(&st) {
                    let mut peers = Vec::new();
                    self.block(&st, &mut |b, p| {
                        b.no_block(&p);
                        let ip = b.ip_word("unicast_peer", &p.keyword);
                        // min_ttl / max_ttl are not supported.
                        if let Some(extra) = p.args.first() {
                            let msg = if matches!(extra.text.as_str(), "min_ttl" | "max_ttl") {
                                keywords::unsupported_message(&extra.text)
                            } else {
                                format!("unexpected \"{}\" after a unicast peer", extra.text)
                            };
                            b.err(extra.pos, msg);
                        }
                        if let Some(ip) = ip {
                            peers.push((ip, p.keyword.pos));
                        }
                    });
                    vi.unicast_peer.extend(peers.iter().map(|p| p.0));
                    r.peer_pos.extend(peers);
                }
            }
            "notify_master" => vi.notify_master = self.notify_script(&st),
            "notify_backup" => vi.notify_backup = self.notify_script(&st),
            "notify_fault" => vi.notify_fault = self.notify_script(&st),
            "notify_stop" => vi.notify_stop = self.notify_script(&st),
            "notify" => vi.notify = self.notify_script(&st),
            "smtp_alert" => r.smtp_alert = Some(self.flag(&st)),
            "accept" => {
                self.bare(&st);
                vi.accept = true;
            }
            "skip_check_adv_addr" => r.skip_check_adv_addr = Some(self.flag(&st)),
            "garp_master_delay" => {
                if let Some(v) = self.int_in(&st, 0, 1000) {
                    r.garp_master_delay = Some(Duration::from_secs(v as u64));
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    r.garp_master_repeat = Some(v as u32);
                }
            }
            "garp_lower_prio_delay" => {
                if let Some(v) = self.int_in(&st, 0, 1000) {
                    r.garp_lower_prio_delay = Some(Duration::from_secs(v as u64));
                }
            }
            "garp_lower_prio_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    r.garp_lower_prio_repeat = Some(v as u32);
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = self.int_in(&st, 0, 86400) {
                    r.garp_master_refresh = Some((v > 0).then(|| Duration::from_secs(v as u64)));
                }
            }
            "garp_master_refresh_repeat" => {
                if let Some(v) = self.int_in(&st, 1, 1000) {
                    r.garp_master_refresh_repeat = Some(v as u32);
                }
            }
            _ => self.unknown(Block::VrrpInstance, &st),
        }
    }

    fn authentication(&mut self, s: &Stmt) -> Option<Authentication> {
        if !self.need_block(s) {
            return None;
        }
        let mut auth_type: Option<Word> = None;
        let mut pass: Option<Word> = None;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "auth_type" => auth_type = b.one(&st, "PASS").cloned(),
            "auth_pass" => pass = b.one(&st, "a password").cloned(),
            _ => b.unknown(Block::Authentication, &st),
        });
        match auth_type {
            Some(t) if t.text.eq_ignore_ascii_case("PASS") => {}
            Some(t) if t.text.eq_ignore_ascii_case("AH") => {
                self.err(
                    t.pos,
                    "\"auth_type AH\" is a keepalived option that tandem does not support yet",
                );
                return None;
            }
            Some(t) => {
                self.err(t.pos, format!("auth_type expects PASS, not \"{}\"", t.text));
                return None;
            }
            None => {
                self.err(s.keyword.pos, "authentication needs \"auth_type PASS\"");
                return None;
            }
        }
        let Some(p) = pass else {
            self.err(s.keyword.pos, "authentication needs \"auth_pass\"");
            return None;
        };
        let mut auth_pass = p.text.clone();
        if auth_pass.len() > 8 {
            let mut cut = 8;
            while !auth_pass.is_char_boundary(cut) {
                cut -= 1;
            }
            auth_pass.truncate(cut);
            self.warn(
                p.pos,
                format!("auth_pass is longer than 8 bytes; only \"{auth_pass}\" is used"),
            );
        }
        Some(Authentication { auth_pass })
    }

    /// Add addresses to an instance, once each: a repeated address (in
    /// either list) is reported and ignored, so it is never added twice.
    fn add_vips(
        &mut self,
        vi: &mut VrrpInstance,
        r: &mut RawInstance,
        list: Vec<(VirtualIpAddress, Pos)>,
        excluded: bool,
    ) {
        for (v, pos) in list {
            if let Some((_, first)) = r.vip_pos.iter().find(|(a, _)| *a == v.address) {
                let msg = format!(
                    "{} is already an address of vrrp_instance {} (line {}); this entry is ignored",
                    v.address, vi.name, first.line
                );
                self.warn(pos, msg);
                continue;
            }
            r.vip_pos.push((v.address, pos));
            if excluded {
                vi.virtual_ipaddress_excluded.push(v);
            } else {
                vi.virtual_ipaddress.push(v);
            }
        }
    }
}
