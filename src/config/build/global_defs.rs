//! `global_defs { ... }`: mail settings, the VRRP defaults instances
//! inherit, script security and the IPVS flush settings (the sync daemon
//! and timeouts are read in `lvs_sync`).
//!
//! Owns: the meaning of each global_defs keyword, and the defaults among
//! them that follow others. May not: resolve what the instances and
//! servers inherit from it (their own files do, once the file is read).

use std::net::IpAddr;
use std::time::Duration;

use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::values::parse_ip;

impl Builder {
    pub(super) fn global_defs(&mut self, s: &Stmt) {
        if !self.need_block(s) {
            return;
        }
        self.args(s, 0, "");
        self.kw_block(s, &mut |b, st| b.global_stmt(st));
    }

    /// One global_defs statement: the mail keywords, then the VRRP
    /// defaults, then the rest (scripts, IPVS flushing).
    fn global_stmt(&mut self, st: Stmt) {
        let kw = self.alias(&st, Block::GlobalDefs);
        if self.global_mail_stmt(&kw, &st)
            || self.global_vrrp_stmt(&kw, &st)
            || self.global_process_stmt(&kw, &st)
            || self.global_firewall_stmt(&kw, &st)
            || self.global_fifo_stmt(&kw, &st)
            || self.global_daemon_stmt(&kw, &st)
            || self.global_netlink_stmt(&kw, &st)
            || self.global_rx_bufs_stmt(&kw, &st)
        {
            return;
        }
        match kw.as_str() {
            "default_interface" => self.default_interface(&st),
            "router_id" => {
                if let Some(v) = self.string(&st) {
                    self.global.router_id = Some(v);
                }
            }
            "script_user" => {
                if let Some(u) = self.script_user(&st) {
                    self.global.script_user = Some(u);
                }
            }
            "enable_script_security" => {
                self.bare(&st);
                self.global.enable_script_security = true;
            }
            "lvs_flush" => {
                self.bare(&st);
                self.global.lvs_flush = true;
            }
            "enable_dbus" => {
                self.bare(&st);
                self.global.enable_dbus = true;
            }
            "dbus_service_name" => self.dbus_service_name(&st),
            "dynamic_interfaces" => self.dynamic_interfaces(&st),
            "lvs_flush_on_stop" => self.lvs_flush_on_stop(&st),
            "umask" => {
                if let Some(m) = self.umask(&st) {
                    self.global.umask = Some(m);
                }
            }
            "lvs_sync_daemon" => self.lvs_sync_daemon(&st),
            "lvs_timeouts" => self.lvs_timeouts(&st),
            "snmp_socket" => self.snmp_socket(&st),
            "enable_snmp_vrrp" => {
                self.bare(&st);
                self.global.snmp.vrrp = true;
            }
            "enable_snmp_checker" => {
                self.bare(&st);
                self.global.snmp.checker = true;
            }
            "enable_snmp_rfcv2" | "enable_snmp_rfcv3" | "enable_snmp_rfc" => {
                self.bare(&st);
                let kw = st.keyword.text.as_str();
                self.global.snmp.rfcv2 |= kw != "enable_snmp_rfcv3";
                self.global.snmp.rfcv3 |= kw != "enable_snmp_rfcv2";
            }
            "enable_traps" => {
                self.bare(&st);
                self.global.snmp.traps = true;
                self.enable_traps_pos = Some(st.keyword.pos);
            }
            _ => self.unknown(Block::GlobalDefs, &st),
        }
    }

    /// The keywords of e-mail alerts; false if `kw` is not one of them.
    fn global_mail_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        match kw {
            "notification_email" => {
                let list = self.word_list(st);
                self.global
                    .notification_email
                    .extend(list.into_iter().map(|w| w.text));
            }
            "notification_email_from" => {
                if let Some(v) = self.string(st) {
                    self.global.notification_email_from = Some(v);
                }
            }
            "smtp_server" => self.smtp_server(st),
            "smtp_helo_name" => {
                if let Some(v) = self.string(st) {
                    self.global.smtp_helo_name = Some(v);
                }
            }
            "smtp_connect_timeout" => {
                if let Some(v) = self.int_in(st, 1, 3600) {
                    self.global.smtp_connect_timeout = Duration::from_secs(v as u64);
                }
            }
            "smtp_alert" => self.global.smtp_alert = Some(self.flag(st)),
            "smtp_alert_vrrp" => self.global.smtp_alert_vrrp = Some(self.flag(st)),
            "smtp_alert_checker" => self.global.smtp_alert_checker = Some(self.flag(st)),
            "no_email_faults" => {
                self.bare(st);
                self.global.no_email_faults = true;
            }
            "no_checker_emails" => {
                self.global.no_checker_emails = self.flag(st);
            }
            "checker_log_all_failures" => {
                self.global.checker_log_all_failures = self.flag(st);
            }
            _ => return false,
        }
        true
    }

    /// `smtp_server HOST [PORT]`: an address, or a host name (resolved by
    /// the daemon, not here: the file is checked for the machine that
    /// will run it). A word that is neither is an error.
    fn smtp_server(&mut self, st: &Stmt) {
        self.no_block(st);
        let Some(args) = self.args_range(st, 1, 2, "an IP address or host name [PORT]") else {
            return;
        };
        let word = &args[0].text;
        let host = match parse_ip(word) {
            Some(ip) => Some(SmtpHost::Address(ip)),
            None if is_host_name(word) => Some(SmtpHost::Name(word.clone())),
            None => {
                let msg =
                    format!("smtp_server expects an IP address or a host name, not \"{word}\"");
                self.err(args[0].pos, msg);
                None
            }
        };
        let port = match args.get(1) {
            Some(w) => self.port_word("smtp_server port", w),
            None => Some(25),
        };
        if let (Some(host), Some(port)) = (host, port) {
            self.global.smtp_server = Some(SmtpServer { host, port });
        }
    }

    /// The defaults of every vrrp_instance (multicast groups, version,
    /// gratuitous ARP / NA timing); false if `kw` is not one of them.
    fn global_vrrp_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        match kw {
            "vrrp_mcast_group4" => match self.ip(st) {
                Some(IpAddr::V4(a)) if a.is_multicast() => self.global.vrrp_mcast_group4 = a,
                Some(_) => self.err(
                    st.args[0].pos,
                    "vrrp_mcast_group4 expects an IPv4 multicast address",
                ),
                None => {}
            },
            "vrrp_mcast_group6" => match self.ip(st) {
                Some(IpAddr::V6(a)) if a.is_multicast() => self.global.vrrp_mcast_group6 = a,
                Some(_) => self.err(
                    st.args[0].pos,
                    "vrrp_mcast_group6 expects an IPv6 multicast address",
                ),
                None => {}
            },
            "vrrp_version" => {
                if let Some(v) = self.int_in(st, 2, 3) {
                    self.global.vrrp_version = if v == 2 {
                        VrrpVersion::V2
                    } else {
                        VrrpVersion::V3
                    };
                }
            }
            "vrrp_skip_check_adv_addr" => self.global.vrrp_skip_check_adv_addr = self.flag(st),
            "vrrp_lower_prio_no_advert" => self.global.vrrp_lower_prio_no_advert = self.flag(st),
            "vrrp_higher_prio_send_advert" => {
                self.global.vrrp_higher_prio_send_advert = self.flag(st)
            }
            // tandem always drops a unicast advert whose source is not one
            // of the instance's unicast_peer: what this asks for.
            "vrrp_check_unicast_src" => self.bare(st),
            "vmac_prefix" => {
                if let Some(w) = self.one(st, "a name prefix") {
                    match super::vmac::bad_ifname(&w.text) {
                        Some(why) => self.err(w.pos, format!("vmac_prefix \"{}\" {why}", w.text)),
                        None => self.global.vmac_prefix = w.text.clone(),
                    }
                }
            }
            // keepalived keeps the first and ignores the others.
            "vmac_addr_prefix" => {
                if let Some(w) = self.one(st, "a name prefix") {
                    match super::vmac::bad_ifname(&w.text) {
                        Some(why) => {
                            self.err(w.pos, format!("vmac_addr_prefix \"{}\" {why}", w.text))
                        }
                        None if self.global.vmac_addr_prefix.is_some() => self.warn(
                            w.pos,
                            "vmac_addr_prefix is given again; the first stays (as in keepalived)",
                        ),
                        None => self.global.vmac_addr_prefix = Some(w.text.clone()),
                    }
                }
            }
            _ => return self.global_garp_stmt(kw, st),
        }
        true
    }

    /// The gratuitous ARP / unsolicited NA defaults (`vrrp_garp_*`,
    /// `vrrp_gna_interval`); false if `kw` is not one of them.
    fn global_garp_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        match kw {
            "vrrp_garp_master_delay" => {
                if let Some(v) = self.int_in(st, 0, 1000) {
                    self.global.vrrp_garp_master_delay = Duration::from_secs(v as u64);
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = self.int_in(st, 1, 1000) {
                    self.global.vrrp_garp_master_repeat = v as u32;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                if let Some(v) = self.int_in(st, 0, 1000) {
                    self.global.vrrp_garp_lower_prio_delay = Duration::from_secs(v as u64);
                    self.lower_prio_delay_set = true;
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                if let Some(v) = self.int_in(st, 1, 1000) {
                    self.global.vrrp_garp_lower_prio_repeat = v as u32;
                    self.lower_prio_repeat_set = true;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(v) = self.int_in(st, 0, 86400) {
                    self.global.vrrp_garp_master_refresh =
                        (v > 0).then(|| Duration::from_secs(v as u64));
                }
            }
            "vrrp_garp_extra_if" => self.global_garp_extra_if(st),
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(v) = self.int_in(st, 1, 1000) {
                    self.global.vrrp_garp_master_refresh_repeat = v as u32;
                }
            }
            // keepalived: one gratuitous ARP / NA, no second round, no
            // refresh; each setting only while it still has its default
            // (one written earlier with another value stays, and one
            // written later wins).
            "vrrp_min_garp" => {
                if self.flag(st) {
                    let g = &mut self.global;
                    if g.vrrp_garp_master_repeat == 5 {
                        g.vrrp_garp_master_repeat = 1;
                    }
                    if g.vrrp_garp_master_delay == Duration::from_secs(5) {
                        g.vrrp_garp_master_delay = Duration::ZERO;
                    }
                    if g.vrrp_garp_master_refresh_repeat == 1 {
                        g.vrrp_garp_master_refresh_repeat = 0;
                    }
                }
            }
            "vrrp_garp_interval" => {
                if let Some(v) = self.timer(st) {
                    self.global.vrrp_garp_interval = v;
                }
            }
            "vrrp_gna_interval" => {
                if let Some(v) = self.timer(st) {
                    self.global.vrrp_gna_interval = v;
                }
            }
            _ => return false,
        }
        true
    }

    /// `dynamic_interfaces [allow_if_changes]`.
    fn dynamic_interfaces(&mut self, st: &Stmt) {
        self.no_block(st);
        let mut allow_if_changes = false;
        for w in &st.args {
            if w.text == "allow_if_changes" {
                allow_if_changes = true;
            } else {
                let msg = format!(
                    "unknown dynamic_interfaces option \"{}\" (allow_if_changes is the only one)",
                    w.text
                );
                self.err(w.pos, msg);
            }
        }
        self.global.dynamic_interfaces = Some(DynamicInterfaces { allow_if_changes });
    }

    /// `lvs_flush_on_stop [VS]`.
    fn lvs_flush_on_stop(&mut self, st: &Stmt) {
        self.no_block(st);
        if let Some(args) = self.args_range(st, 0, 1, "") {
            self.global.lvs_flush_on_stop = match args.first() {
                None => LvsFlushOnStop::All,
                Some(w) if w.text.eq_ignore_ascii_case("VS") => LvsFlushOnStop::Vs,
                Some(w) => {
                    let msg = format!(
                        "lvs_flush_on_stop expects nothing or \"VS\", not \"{}\"",
                        w.text
                    );
                    self.err(w.pos, msg);
                    LvsFlushOnStop::All
                }
            };
        }
    }

    /// `umask 0NNN` (a number as C reads it: `0` octal, `0x` hex) or
    /// `umask IWGRP|IWOTH` (the `S_I*` bits without `S_`, joined by `|`,
    /// in one word or several), as keepalived reads it.
    fn umask(&mut self, st: &Stmt) -> Option<u32> {
        let Some(first) = st.args.first() else {
            self.err(
                st.keyword.pos,
                "umask needs a mask (e.g. 0077 or IWGRP|IWOTH)",
            );
            return None;
        };
        if first.text.starts_with(|c: char| c.is_ascii_digit()) {
            if let Some(extra) = st.args.get(1) {
                self.err(extra.pos, "umask takes one number");
                return None;
            }
            let t = &first.text;
            let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                u32::from_str_radix(h, 16).ok()
            } else if t.len() > 1 && t.starts_with('0') {
                u32::from_str_radix(&t[1..], 8).ok()
            } else {
                t.parse().ok()
            };
            return match v.filter(|m| *m <= 0o777) {
                Some(m) => Some(m),
                None => {
                    self.err(
                        first.pos,
                        format!(
                            "invalid umask {t}: a mode mask from 0 to 0777 (octal with a leading 0)"
                        ),
                    );
                    None
                }
            };
        }
        let words: String = st.args.iter().map(|w| w.text.as_str()).collect();
        let mut mask = 0;
        for bit in words.split('|') {
            let v = match bit {
                "IRUSR" => 0o400,
                "IWUSR" => 0o200,
                "IXUSR" => 0o100,
                "IRGRP" => 0o040,
                "IWGRP" => 0o020,
                "IXGRP" => 0o010,
                "IROTH" => 0o004,
                "IWOTH" => 0o002,
                "IXOTH" => 0o001,
                _ => {
                    self.err(
                        first.pos,
                        format!("invalid umask \"{words}\": expected bits such as IWGRP|IWOTH (IRUSR, IWUSR, IXUSR, IRGRP, IWGRP, IXGRP, IROTH, IWOTH, IXOTH) or a number"),
                    );
                    return None;
                }
            };
            mask |= v;
        }
        Some(mask)
    }

    /// global_defs once the whole file is read: the lower-priority GARP
    /// settings default to the master ones, wherever those were written.
    pub(super) fn finish_global(&mut self) -> GlobalDefs {
        let mut g = std::mem::take(&mut self.global);
        if !self.lower_prio_delay_set {
            g.vrrp_garp_lower_prio_delay = g.vrrp_garp_master_delay;
        }
        if !self.lower_prio_repeat_set {
            g.vrrp_garp_lower_prio_repeat = g.vrrp_garp_master_repeat;
        }
        self.finish_fifos(&mut g);
        if let (Some(pos), false) = (self.enable_traps_pos, g.snmp.enabled()) {
            // As in keepalived: each trap belongs to an enabled MIB.
            self.warn(
                pos,
                "enable_traps sends nothing without enable_snmp_vrrp, enable_snmp_checker or enable_snmp_rfc",
            );
        }
        g
    }
}

impl Builder {
    /// `snmp_socket ADDRESS`: one value, the first kept (as keepalived);
    /// the forms the daemon can connect to.
    fn snmp_socket(&mut self, st: &Stmt) {
        let Some(w) = self.one(st, "the master agent's AgentX address") else {
            return;
        };
        if let Some(first) = &self.global.snmp.socket {
            let msg = format!("snmp_socket is already set to {first}; keepalived keeps the first");
            self.err(st.keyword.pos, msg);
            return;
        }
        match crate::config::model::AgentxAddress::parse(&w.text) {
            Ok(_) => self.global.snmp.socket = Some(w.text.clone()),
            Err(why) => self.err(w.pos, format!("snmp_socket \"{}\": {why}", w.text)),
        }
    }
}

impl Builder {
    /// `dbus_service_name NAME`: a well-known bus name (dot-separated
    /// elements of letters, digits, `_` and `-`, none starting with a
    /// digit), which the bus would refuse otherwise; better said here than
    /// logged at start-up.
    fn dbus_service_name(&mut self, st: &Stmt) {
        let Some(w) = self.one(st, "a D-Bus name") else {
            return;
        };
        let name = w.text.clone();
        let element_ok = |e: &str| {
            !e.is_empty()
                && !e.starts_with(|c: char| c.is_ascii_digit())
                && e.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let elements: Vec<&str> = name.split('.').collect();
        if name.len() > 255 || elements.len() < 2 || !elements.iter().all(|e| element_ok(e)) {
            self.err(
                w.pos,
                format!(
                    "dbus_service_name \"{name}\" is not a D-Bus bus name (like org.keepalived.Vrrp1: two or more dot-separated parts of letters, digits, _ and -, none starting with a digit)"
                ),
            );
            return;
        }
        self.global.dbus_service_name = Some(name);
    }

    /// Top-level `instance NAME` (keepalived reads it outside
    /// global_defs): a name that can be part of a file name, once.
    pub(super) fn instance_name(&mut self, st: &Stmt) {
        if let Some(name) = self.top_level_name(
            st,
            self.global.instance.clone(),
            "cannot name a file (it names the control socket)",
        ) {
            self.global.instance = Some(name);
        }
    }

    /// Top-level `net_namespace NAME` (keepalived reads it outside
    /// global_defs): a name `ip netns` could have made, once.
    pub(super) fn net_namespace(&mut self, st: &Stmt) {
        if let Some(name) = self.top_level_name(
            st,
            self.global.net_namespace.clone(),
            "is not a name under /run/netns",
        ) {
            self.global.net_namespace = Some(name);
        }
    }

    /// Top-level `net_namespace_ipvs [NAME]`: no word is the default
    /// namespace (""), as keepalived reads it; a second line is reported
    /// and ignored, as keepalived ignores it.
    pub(super) fn net_namespace_ipvs(&mut self, st: &Stmt) {
        if st.args.is_empty() {
            self.no_block(st);
            if self.global.net_namespace_ipvs.is_none() {
                self.global.net_namespace_ipvs = Some(String::new());
            }
            return;
        }
        if let Some(name) = self.top_level_name(
            st,
            self.global.net_namespace_ipvs.clone(),
            "is not a name under /run/netns",
        ) {
            self.global.net_namespace_ipvs = Some(name);
        }
    }

    /// The one word of `instance` or `net_namespace`: a file name (no
    /// `/`, not `.` or `..`), given once (keepalived keeps the first and
    /// reports the second); `None` after an error.
    fn top_level_name(
        &mut self,
        st: &Stmt,
        first: Option<String>,
        not_a_file: &str,
    ) -> Option<String> {
        let kw = st.keyword.text.clone();
        let w = self.one(st, "a name")?;
        let name = w.text.clone();
        let msg = if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            format!("{kw} \"{name}\" {not_a_file}")
        } else if let Some(old) = first {
            format!("{kw} given twice (first \"{old}\", now \"{name}\")")
        } else {
            return Some(name);
        };
        self.err(w.pos, msg);
        None
    }
}

/// A DNS host name (RFC 1123): labels of letters, digits and hyphens, not
/// starting or ending with a hyphen, at most 63 bytes each and 253 in all;
/// not all digits and dots (that would be a mistyped address).
fn is_host_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
