//! `vrrp_instance NAME { ... }`: one virtual router (RFC 3768,
//! RFC 5798 §6.1), with its `authentication` and `unicast_peer` blocks.
//!
//! Owns: the meaning of each vrrp_instance keyword, the checks that need
//! the whole instance (its family, its advert interval for the version),
//! and resolving what it inherits from global_defs once the file is read.
//! May not: read the address and route entries themselves (`addresses`
//! does) or check across instances (validate does).

use std::time::Duration;

use crate::config::keywords::{self, Block};
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::raw::RawInstance;
use super::tracking::resolve_tracks;
use super::vmac::duplicate_vmac_names;

/// The vmac name an instance configures, if any.
fn vmac_name(vi: &VrrpInstance) -> Option<String> {
    vi.vmac.as_ref().and_then(|v| v.name.clone())
}

impl Builder {
    pub(super) fn vrrp_instance(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut r = RawInstance {
            kw_pos: s.keyword.pos,
            ..RawInstance::default()
        };
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
            // keepalived runs a unicast instance without one: its adverts
            // are routed, from unicast_src_ip, over whatever link the
            // route says. tandem's sockets and VIPs belong to a link.
            None if !vi.unicast_peer.is_empty() => self.err(
                s.keyword.pos,
                format!(
                    "vrrp_instance {} has no \"interface\": keepalived runs a unicast instance without one \
                     (its adverts routed from unicast_src_ip, over any link); tandem does not support that yet, \
                     name the interface its adverts leave by",
                    vi.name
                ),
            ),
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
        if let Some(pos) = r.native_ipv6 {
            if vi.virtual_ipaddress.is_empty() {
                vi.family = AddressFamily::Inet6;
            } else if vi.family == AddressFamily::Inet {
                self.err(
                    pos,
                    format!(
                        "vrrp_instance {}: native_ipv6 with IPv4 virtual addresses (keepalived refuses it too)",
                        vi.name
                    ),
                );
            }
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

    /// One vrrp_instance statement: the addresses, the tracking and
    /// notification keywords and the GARP timers each have a reader; the
    /// election settings are read here.
    fn instance_stmt(&mut self, st: Stmt, vi: &mut VrrpInstance, r: &mut RawInstance) {
        let kw = self.alias(&st, Block::VrrpInstance);
        if self.instance_address_stmt(&kw, &st, vi, r)
            || self.instance_notify_stmt(&kw, &st, vi, r)
            || self.instance_garp_stmt(&kw, &st, r)
            || self.instance_vmac_stmt(&kw, &st, vi, r)
        {
            return;
        }
        match kw.as_str() {
            "lvs_sync_daemon_interface" => self.lvs_sync_daemon_interface(&st, &vi.name),
            "kernel_rx_buf_size" => vi.kernel_rx_buf_size = self.kernel_rx_buf_size(&st),
            "state" => self.instance_state(&st, vi, r),
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
                r.priority_given = true;
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
            "native_ipv6" => self.native_ipv6(&st, r),
            "debug" => self.instance_debug(&st),
            "nopreempt" => {
                self.bare(&st);
                vi.nopreempt = true;
            }
            "preempt" => {
                self.bare(&st);
                vi.nopreempt = false;
            }
            "preempt_delay" => {
                r.preempt_delay_pos = Some(st.keyword.pos);
                if let Some(v) = self.preempt_delay(&st) {
                    vi.preempt_delay = v;
                }
            }
            "authentication" => {
                r.auth_pos = Some(st.keyword.pos);
                vi.authentication = self.authentication(&st);
            }
            "accept" => {
                self.bare(&st);
                r.accept = Some((true, st.keyword.pos));
            }
            "no_accept" => {
                self.bare(&st);
                r.accept = Some((false, st.keyword.pos));
            }
            "strict_mode" => r.strict_mode = Some(self.flag(&st)),
            "skip_check_adv_addr" => r.skip_check_adv_addr = Some(self.flag(&st)),
            "lower_prio_no_advert" => r.lower_prio_no_advert = Some(self.flag(&st)),
            "higher_prio_send_advert" => r.higher_prio_send_advert = Some(self.flag(&st)),
            "dont_track_primary" => {
                self.bare(&st);
                vi.dont_track_primary = true;
            }
            "linkbeat_use_polling" => {
                r.linkbeat_use_polling = self.instance_linkbeat(&st, &vi.name)
            }
            _ => self.unknown(Block::VrrpInstance, &st),
        }
    }

    /// `state MASTER|BACKUP`. keepalived 2.2.7 starts any other word as
    /// BACKUP ("unknown state ..., defaulting to BACKUP").
    fn instance_state(&mut self, st: &Stmt, vi: &mut VrrpInstance, r: &mut RawInstance) {
        r.state_given = true;
        r.state_pos = Some(st.keyword.pos);
        if let Some(w) = self.one(st, "MASTER or BACKUP") {
            match w.text.to_ascii_uppercase().as_str() {
                "MASTER" => vi.state = InitialState::Master,
                "BACKUP" => vi.state = InitialState::Backup,
                // keepalived 2.2.7 starts any other word as BACKUP
                // ("unknown state ..., defaulting to BACKUP"): for
                // these two that is what the line meant.
                "EQUAL" | "SLAVE" => {
                    vi.state = InitialState::Backup;
                    self.warn(
                        w.pos,
                        format!(
                            "state \"{}\" is not MASTER or BACKUP; BACKUP is used, as keepalived 2.2.7 defaults to it",
                            w.text
                        ),
                    );
                }
                _ => self.err(
                    w.pos,
                    format!(
                        "state expects MASTER or BACKUP, not \"{}\" (keepalived 2.2.7 would start it as BACKUP)",
                        w.text
                    ),
                ),
            }
        }
    }

    /// `preempt_delay SECONDS`, at most 1000 (keepalived's limit).
    fn preempt_delay(&mut self, st: &Stmt) -> Option<Duration> {
        let w = self.one(st, "a time in seconds")?;
        let v = self.timer_word("preempt_delay", w)?;
        if v > Duration::from_secs(1000) {
            self.err(
                w.pos,
                format!("preempt_delay {} is out of range (0-1000)", w.text),
            );
            return None;
        }
        Some(v)
    }

    /// The addresses the instance holds, routes it adds and the unicast
    /// addresses of its adverts; false if `kw` is not one of them.
    fn instance_address_stmt(
        &mut self,
        kw: &str,
        st: &Stmt,
        vi: &mut VrrpInstance,
        r: &mut RawInstance,
    ) -> bool {
        match kw {
            "virtual_ipaddress" => {
                let list = self.vip_list(st);
                self.add_vips(vi, r, list, false);
            }
            "virtual_ipaddress_excluded" => {
                let list = self.vip_list(st);
                self.add_vips(vi, r, list, true);
            }
            "virtual_routes" => {
                let list = self.route_list(st);
                vi.virtual_routes.extend(list);
            }
            "virtual_rules" => {
                let list = self.rule_list(st);
                vi.virtual_rules.extend(list);
            }
            "promote_secondaries" => {
                self.bare(st);
                vi.promote_secondaries = true;
                r.promote_secondaries_pos = Some(st.keyword.pos);
            }
            "unicast_src_ip" => {
                vi.unicast_src_ip = self.ip(st);
                r.src_pos = st.args.first().map(|w| w.pos);
            }
            "mcast_dst_ip" => self.mcast_dst_ip(st, vi, r),
            "unicast_peer" => {
                if self.need_block(st) {
                    let peers = self.unicast_peers(st);
                    vi.unicast_peer.extend(peers.iter().map(|p| p.0.addr));
                    vi.unicast_peer_ttl.extend(
                        peers
                            .iter()
                            .filter(|p| (p.0.min_ttl, p.0.max_ttl) != (0, 255))
                            .map(|p| p.0),
                    );
                    r.peer_pos
                        .extend(peers.iter().map(|(p, pos)| (p.addr, *pos)));
                }
            }
            "unicast_ttl" => {
                // keepalived takes 0 too; the kernel refuses a TTL of 0.
                if let Some(v) = self.int_in(st, 1, 255) {
                    vi.unicast_ttl = Some(v as u8);
                    r.unicast_ttl_pos = Some(st.keyword.pos);
                }
            }
            "old_unicast_checksum" => {
                self.no_block(st);
                if let Some(args) = self.args_range(st, 0, 1, "[never]") {
                    match args.first() {
                        None => vi.old_unicast_checksum = true,
                        Some(w) if w.text == "never" => {}
                        Some(w) => {
                            let msg = format!(
                                "old_unicast_checksum expects nothing or \"never\", not \"{}\"",
                                w.text
                            );
                            self.err(w.pos, msg);
                        }
                    }
                }
            }
            // tandem always drops a unicast advert whose source is not one
            // of the instance's unicast_peer: what this asks for.
            "check_unicast_src" => self.bare(st),
            "unicast_fault_no_peer" => {
                self.bare(st);
                vi.unicast_fault_no_peer = true;
                r.fault_no_peer_pos = Some(st.keyword.pos);
            }
            // keepalived 2.2.7 sets VRRP_FLAG_TRACK_SADDR but its netlink
            // handler compares the address with the start of the
            // sockaddr, not the address in it, so the flag never
            // matches: a source address removed at runtime changes
            // nothing there (tests/net_addr_route_options.rs runs both).
            "track_src_ip" => {
                self.bare(st);
                self.note(
                    st.keyword.pos,
                    "track_src_ip changes nothing: keepalived 2.2.7 reads it but never acts on it \
                     (an instance whose unicast_src_ip is removed stays as it is), and neither does tandem",
                );
            }
            _ => return false,
        }
        true
    }

    /// The entries of `unicast_peer { IP [min_ttl N] [max_ttl N] ... }`,
    /// with where each was written (for the family check once the
    /// instance is resolved).
    fn unicast_peers(&mut self, st: &Stmt) -> Vec<(UnicastPeerTtl, Pos)> {
        let mut peers = Vec::new();
        self.block(st, &mut |b, p| {
            b.no_block(&p);
            let ip = b.sock_ip_word("unicast_peer", &p.keyword);
            let (mut min_ttl, mut max_ttl) = (0u8, 255u8);
            let mut rest = p.args.iter();
            while let Some(opt) = rest.next() {
                let slot = match opt.text.as_str() {
                    "min_ttl" => &mut min_ttl,
                    "max_ttl" => &mut max_ttl,
                    _ => {
                        let msg = match keywords::suggest(&opt.text, ["min_ttl", "max_ttl"]) {
                            Some(s) => format!(
                                "unexpected \"{}\" after a unicast peer (did you mean \"{s}\"?)",
                                opt.text
                            ),
                            None => format!(
                                "unexpected \"{}\" after a unicast peer (min_ttl or max_ttl may follow)",
                                opt.text
                            ),
                        };
                        b.err(opt.pos, msg);
                        break;
                    }
                };
                match rest.next().map(|v| (v, v.text.parse::<u8>())) {
                    Some((_, Ok(v))) => *slot = v,
                    Some((v, Err(_))) => {
                        let msg = format!("{} expects 0-255, not \"{}\"", opt.text, v.text);
                        b.err(v.pos, msg);
                    }
                    None => b.err(opt.pos, format!("{} is missing a value", opt.text)),
                }
            }
            if min_ttl > max_ttl {
                // keepalived warns and keeps the peer, whose adverts are then
                // all discarded: an election that can never hear its peer.
                b.err(
                    p.keyword.pos,
                    format!(
                        "unicast_peer {}: min_ttl {min_ttl} > max_ttl {max_ttl} would discard every advert from it \
                         (keepalived warns and runs so)",
                        p.keyword.text
                    ),
                );
            }
            if let Some(addr) = ip {
                let peer = UnicastPeerTtl {
                    addr,
                    min_ttl,
                    max_ttl,
                };
                peers.push((peer, p.keyword.pos));
            }
        });
        peers
    }

    /// What the instance tracks and whom it tells of a state change;
    /// false if `kw` is not one of those keywords.
    fn instance_notify_stmt(
        &mut self,
        kw: &str,
        st: &Stmt,
        vi: &mut VrrpInstance,
        r: &mut RawInstance,
    ) -> bool {
        match kw {
            "track_interface" => {
                let list = self.track_interface(st);
                vi.track_interface.extend(list);
            }
            "track_script" => {
                let list = self.track_script(st);
                r.track_script.extend(list);
            }
            "track_file" => {
                let who = format!("vrrp_instance {}", vi.name);
                self.track_file_entries(st, &who, &mut vi.track_file);
            }
            "track_bfd" => {
                let list = self.track_bfd(st);
                r.track_bfd.extend(list);
            }
            "track_process" => {
                let who = format!("vrrp_instance {}", vi.name);
                self.track_process_entries(st, &who, &mut vi.track_process);
            }
            "notify_master" => vi.notify_master = self.notify_script(st),
            "notify_backup" => vi.notify_backup = self.notify_script(st),
            "notify_fault" => vi.notify_fault = self.notify_script(st),
            "notify_stop" => vi.notify_stop = self.notify_script(st),
            "notify" => vi.notify = self.notify_script(st),
            "notify_master_rx_lower_pri" => {
                let s = self.notify_script(st);
                if vi.notify_master_rx_lower_pri.is_some() {
                    // keepalived keeps the first one and reports the second.
                    let msg = "notify_master_rx_lower_pri given twice: the first one is kept (keepalived 2.2.7 reports it too)";
                    self.err(st.keyword.pos, msg);
                } else {
                    vi.notify_master_rx_lower_pri = s;
                }
            }
            "notify_deleted" => self.notify_deleted(st, vi),
            "smtp_alert" => r.smtp_alert = Some(self.flag(st)),
            "notify_priority_changes" => vi.notify_priority_changes = Some(self.flag(st)),
            _ => return false,
        }
        true
    }

    /// The instance's own GARP / NA timers (resolved against global_defs
    /// at the end); false if `kw` is not one of them.
    /// `notify_deleted [SCRIPT [USER [GROUP]]]`: keepalived keeps the first
    /// one and reports the second.
    fn notify_deleted(&mut self, st: &Stmt, vi: &mut VrrpInstance) {
        let script = if st.args.is_empty() {
            self.no_block(st);
            None
        } else {
            let s = self.notify_script(st);
            if s.is_none() {
                return;
            }
            s
        };
        if vi.notify_deleted.is_some() {
            let msg = "notify_deleted given twice: the first one is kept (keepalived 2.2.7 reports it too)";
            self.err(st.keyword.pos, msg);
        } else {
            vi.notify_deleted = Some(NotifyDeleted { script });
        }
    }

    fn instance_garp_stmt(&mut self, kw: &str, st: &Stmt, r: &mut RawInstance) -> bool {
        match kw {
            "garp_master_delay" => {
                if let Some(v) = self.int_in(st, 0, 1000) {
                    r.garp_master_delay = Some(Duration::from_secs(v as u64));
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = self.int_in(st, 1, 1000) {
                    r.garp_master_repeat = Some(v as u32);
                }
            }
            "garp_lower_prio_delay" => {
                r.garp_lower_prio_pos = Some(st.keyword.pos);
                if let Some(v) = self.int_in(st, 0, 1000) {
                    r.garp_lower_prio_delay = Some(Duration::from_secs(v as u64));
                }
            }
            "garp_lower_prio_repeat" => {
                r.garp_lower_prio_pos = Some(st.keyword.pos);
                if let Some(v) = self.int_in(st, 1, 1000) {
                    r.garp_lower_prio_repeat = Some(v as u32);
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = self.int_in(st, 0, 86400) {
                    r.garp_master_refresh = Some((v > 0).then(|| Duration::from_secs(v as u64)));
                }
            }
            "garp_master_refresh_repeat" => {
                if let Some(v) = self.int_in(st, 1, 1000) {
                    r.garp_master_refresh_repeat = Some(v as u32);
                }
            }
            "garp_extra_if" => self.instance_garp_extra_if(st, r),
            _ => return false,
        }
        true
    }

    fn authentication(&mut self, s: &Stmt) -> Option<Authentication> {
        if !self.need_block(s) {
            return None;
        }
        let mut auth_type: Option<Word> = None;
        let mut pass: Option<Word> = None;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "auth_type" => auth_type = b.one(&st, "PASS or AH").cloned(),
            "auth_pass" => pass = b.one(&st, "a password").cloned(),
            _ => b.unknown(Block::Authentication, &st),
        });
        let auth_type = match auth_type {
            Some(t) if t.text.eq_ignore_ascii_case("PASS") => AuthType::Pass,
            Some(t) if t.text.eq_ignore_ascii_case("AH") => AuthType::Ah,
            Some(t) => {
                self.err(
                    t.pos,
                    format!("auth_type expects PASS or AH, not \"{}\"", t.text),
                );
                return None;
            }
            None => {
                self.err(
                    s.keyword.pos,
                    "authentication needs \"auth_type PASS\" (or AH)",
                );
                return None;
            }
        };
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
        Some(Authentication {
            auth_type,
            auth_pass,
        })
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

    /// `debug 0..4`: keepalived 2.2.7 stores it and only prints it in its
    /// data dump; it changes nothing it does. Read, and said so.
    fn instance_debug(&mut self, st: &Stmt) {
        if self.int_in(st, 0, 4).is_some() {
            self.note(
                st.keyword.pos,
                "debug: keepalived 2.2.7 only shows an instance's debug level in its data dump; it changes nothing, and tandem's log detail is set by TANDEM_LOG (e.g. TANDEM_LOG=debug)",
            );
        }
    }

    /// The instances with what they inherit resolved and the checks that
    /// need the resolved version made.
    pub(super) fn finish_instances(
        &mut self,
        g: &GlobalDefs,
        scripts: &[VrrpScript],
        alert_default: Option<bool>,
    ) -> Vec<VrrpInstance> {
        let mut instances = Vec::new();
        let mut names = Vec::new();
        for mut ri in std::mem::take(&mut self.instances) {
            let mut vi = std::mem::take(&mut ri.inst);
            let tracks = self.drop_tracks(
                "vrrp_instance",
                &vi.name,
                std::mem::take(&mut ri.track_script),
            );
            vi.track_script = resolve_tracks(scripts, tracks);
            let bfds = std::mem::take(&mut self.bfds);
            vi.track_bfd = self.resolve_bfd_tracks(&bfds, std::mem::take(&mut ri.track_bfd));
            self.bfds = bfds;
            vi.smtp_alert = ri.smtp_alert.or(alert_default).unwrap_or(false);
            self.inherit_global_timers(&mut vi, &ri, g);
            self.warn_garp_extra_if_idle(&vi);
            state_and_priority(&mut vi, &ri);
            vi.version = self.resolve_version(&vi, &ri, g);
            if let Some((adv, pos)) = ri.advert_int {
                vi.advert_int = self.check_advert_int(&vi, adv, pos);
            }
            self.check_resolved_instance(&vi, &ri);
            self.excess_vips(&mut vi, &ri);
            self.apply_strict(&mut vi, &ri, g);
            self.finish_vmac(&mut vi, &ri);
            if (ri.linkbeat_use_polling || g.linkbeat_use_polling) && vi.vmac.is_none() {
                self.linkbeat_of_instances.push(vi.interface.clone());
            }
            names.push((vi.name.clone(), ri.vmac_pos, vmac_name(&vi)));
            instances.push(vi);
        }
        for (i, pos, msg) in duplicate_vmac_names(&names) {
            self.warn(pos, msg);
            if let Some(v) = instances.get_mut(i).and_then(|vi| vi.vmac.as_mut()) {
                v.name = None;
            }
        }
        instances
    }

    /// The GARP / NA timers and `skip_check_adv_addr`: the instance's,
    /// else global_defs'. An instance's `garp_master_*` also stands for
    /// its `garp_lower_prio_*` unless global_defs sets those.
    fn inherit_global_timers(&self, vi: &mut VrrpInstance, ri: &RawInstance, g: &GlobalDefs) {
        vi.skip_check_adv_addr = ri.skip_check_adv_addr.unwrap_or(g.vrrp_skip_check_adv_addr);
        vi.lower_prio_no_advert = ri
            .lower_prio_no_advert
            .unwrap_or(g.vrrp_lower_prio_no_advert);
        vi.higher_prio_send_advert = ri
            .higher_prio_send_advert
            .unwrap_or(g.vrrp_higher_prio_send_advert);
        vi.garp_master_delay = ri.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay);
        vi.garp_master_repeat = ri.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
        vi.garp_lower_prio_delay = ri
            .garp_lower_prio_delay
            .or(ri.garp_master_delay.filter(|_| !self.lower_prio_delay_set))
            .unwrap_or(g.vrrp_garp_lower_prio_delay);
        vi.garp_lower_prio_repeat = ri
            .garp_lower_prio_repeat
            .or(ri
                .garp_master_repeat
                .filter(|_| !self.lower_prio_repeat_set))
            .unwrap_or(g.vrrp_garp_lower_prio_repeat);
        vi.garp_master_refresh = ri.garp_master_refresh.unwrap_or(g.vrrp_garp_master_refresh);
        vi.garp_master_refresh_repeat = ri
            .garp_master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat);
        vi.garp_extra_if = ri.garp_extra_if.unwrap_or(g.vrrp_garp_extra_if);
        vi.garp_interval = g.vrrp_garp_interval;
        vi.gna_interval = g.vrrp_gna_interval;
    }

    /// `mcast_dst_ip`: an IPv4 multicast or an IPv6 link-local multicast
    /// address (keepalived's rule; it skips anything else).
    fn mcast_dst_ip(&mut self, st: &Stmt, vi: &mut VrrpInstance, r: &mut RawInstance) {
        let Some(ip) = self.ip(st) else { return };
        let pos = st.args.first().map_or(st.keyword.pos, |w| w.pos);
        let ok = match ip {
            std::net::IpAddr::V4(a) => a.is_multicast(),
            std::net::IpAddr::V6(a) => a.octets()[0] == 0xff && a.octets()[1] & 0x0f == 2,
        };
        if !ok {
            let what = if ip.is_ipv6() {
                "an IPv6 link-local multicast address (ff02::/16)"
            } else {
                "an IPv4 multicast address"
            };
            self.err(pos, format!("mcast_dst_ip {ip} is not {what}"));
            return;
        }
        vi.mcast_dst_ip = Some(ip);
        r.mcast_pos = Some(pos);
    }

    /// `native_ipv6`: as keepalived, the instance is IPv6 and VRRP version
    /// 3 (a `version` written later still counts); the family is settled
    /// when the instance ends.
    fn native_ipv6(&mut self, st: &Stmt, r: &mut RawInstance) {
        self.bare(st);
        r.native_ipv6 = Some(st.keyword.pos);
        r.version = Some((VrrpVersion::V3, st.keyword.pos));
    }

    /// Version: the instance's, else global; IPv6 is always v3.
    fn resolve_version(
        &mut self,
        vi: &VrrpInstance,
        ri: &RawInstance,
        g: &GlobalDefs,
    ) -> VrrpVersion {
        match (ri.version, vi.family) {
            (Some((VrrpVersion::V2, pos)), AddressFamily::Inet6) => {
                self.err(
                    pos,
                    format!(
                        "vrrp_instance {}: VRRP version 2 is IPv4 only (RFC 3768); IPv6 needs version 3",
                        vi.name
                    ),
                );
                VrrpVersion::V3
            }
            (Some((v, _)), _) => v,
            (None, AddressFamily::Inet6) => VrrpVersion::V3,
            (None, AddressFamily::Inet) => g.vrrp_version,
        }
    }
}

/// keepalived derives each of `state` and `priority` from the other when
/// only one is written: `state MASTER` alone is the address owner (255),
/// `priority 255` alone starts as MASTER.
fn state_and_priority(vi: &mut VrrpInstance, ri: &RawInstance) {
    if !ri.priority_given && vi.state == InitialState::Master {
        vi.priority = 255;
    }
    if !ri.state_given && vi.priority == 255 {
        vi.state = InitialState::Master;
    }
}
