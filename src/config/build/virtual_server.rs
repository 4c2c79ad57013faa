//! `virtual_server IP [PORT] | fwmark N | group NAME { ... }`: one IPVS
//! service.
//!
//! Owns: the meaning of each virtual_server keyword, resolving a service
//! once its block ends (its family, its real servers, keepalived's
//! corrections of quorum and hysteresis), and at the end of the file its
//! group's family and its alerts. May not: check across services
//! (validate does).

use std::net::IpAddr;
use std::time::Duration;

use crate::config::diag::{Diagnostic, Severity};
use crate::config::keywords::{self, Block};
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::raw::{Inherit, RawRs, RawVs};
use super::values::{netmask_to_prefix, parse_ip};

impl Builder {
    pub(super) fn virtual_server(&mut self, s: &Stmt) {
        let key = self.vs_key(s);
        if !self.need_block(s) {
            return;
        }
        let mut raw = RawVs {
            vs: VirtualServer {
                key: VirtualServerKey::Fwmark { fwmark: 0 },
                // keepalived 2.2.7 defaults to UDP (see resolve_vs).
                protocol: Protocol::Udp,
                lvs_sched: LvsSched::default(),
                lvs_method: LvsMethod::default(),
                tunnel: Tunnel::default(),
                sched_flags: SchedFlags::default(),
                persistence_timeout: None,
                persistence_granularity: None,
                persistence_engine: None,
                family: AddressFamily::Inet,
                delay_loop: Duration::from_secs(60),
                quorum: 1,
                hysteresis: 0,
                quorum_up: None,
                quorum_down: None,
                alpha: false,
                omega: false,
                ha_suspend: false,
                inhibit_on_failure: false,
                sorry_server: None,
                sorry_server_inhibit: false,
                virtualhost: None,
                ops: false,
                smtp_alert: false,
                bgp: None,
                snmp_name: None,
                real_servers: Vec::new(),
                origin: self.origin(s.keyword.pos),
            },
            inh: Inherit::default(),
            ip_family: None,
            sorry: None,
            sorry_method: None,
            sched_flag_words: Vec::new(),
            protocol_pos: None,
            rss: Vec::new(),
        };
        self.kw_block(s, &mut |b, st| b.vs_stmt(st, &mut raw));
        let Some(key) = key else {
            return;
        };
        raw.vs.key = key;
        // keepalived: "cannot use ha_suspend with fwmarks - clearing
        // ha_suspend" (a fwmark has no address to wait for).
        if raw.vs.ha_suspend && matches!(raw.vs.key, VirtualServerKey::Fwmark { .. }) {
            raw.vs.ha_suspend = false;
            self.warn(
                s.keyword.pos,
                format!("virtual_server {}: ha_suspend cannot follow a fwmark's addresses; it is cleared, as keepalived 2.2.7 clears it", raw.vs.key),
            );
        }
        let vs = self.resolve_vs(raw);
        self.vss.push(vs);
    }

    fn vs_key(&mut self, s: &Stmt) -> Option<VirtualServerKey> {
        let Some(first) = s.args.first() else {
            self.err(
                s.keyword.pos,
                "\"virtual_server\" needs IP [PORT], \"fwmark N\" or \"group NAME\"",
            );
            return None;
        };
        let max = 2;
        if let Some(extra) = s.args.get(max) {
            self.err(
                extra.pos,
                format!(
                    "unexpected \"{}\" after virtual_server (keepalived 2.2.7 would ignore the words after {} {}, without a word)",
                    extra.text, s.args[0].text, s.args[1].text
                ),
            );
        }
        match first.text.as_str() {
            "fwmark" => {
                let Some(w) = s.args.get(1) else {
                    self.err(first.pos, "\"fwmark\" needs a number");
                    return None;
                };
                self.int_word("fwmark", w, 1, i64::from(u32::MAX))
                    .map(|m| VirtualServerKey::Fwmark { fwmark: m as u32 })
            }
            "group" => {
                let Some(w) = s.args.get(1) else {
                    self.err(first.pos, "\"group\" needs a virtual_server_group name");
                    return None;
                };
                Some(VirtualServerKey::Group {
                    name: w.text.clone(),
                })
            }
            text => {
                let Some(address) = parse_ip(text) else {
                    self.err(
                        first.pos,
                        format!(
                            "virtual_server expects IP [PORT], \"fwmark N\" or \"group NAME\", not \"{text}\""
                        ),
                    );
                    return None;
                };
                let port = match s.args.get(1) {
                    Some(w) => self.port_word("virtual_server port", w)?,
                    None => 0,
                };
                Some(VirtualServerKey::Address { address, port })
            }
        }
    }

    /// One virtual_server statement: the inherited keywords, scheduling,
    /// quorum and sorry server each have a reader; the family and the
    /// real servers are read here.
    fn vs_stmt(&mut self, st: Stmt, raw: &mut RawVs) {
        let kw = self.alias(&st, Block::VirtualServer);
        if kw == "alpha" {
            // keepalived's virtual_server alpha takes no value (unlike the
            // real server's): read as keepalived reads it.
            raw.inh.alpha = Some(self.vs_switch(&st));
            return;
        }
        if self.inherit_stmt(&kw, &st, &mut raw.inh)
            || self.vs_scheduling_stmt(&kw, &st, raw)
            || self.vs_quorum_stmt(&kw, &st, raw)
        {
            return;
        }
        match kw.as_str() {
            "ip_family" => {
                if let Some(w) = self.one(&st, "inet or inet6") {
                    match w.text.as_str() {
                        "inet" => raw.ip_family = Some(AddressFamily::Inet),
                        "inet6" => raw.ip_family = Some(AddressFamily::Inet6),
                        _ => self.err(
                            w.pos,
                            format!("ip_family expects inet or inet6, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "real_server" => {
                if let Some(rs) = self.real_server(&st) {
                    raw.rss.push(rs);
                }
            }
            "tandem_bgp" => raw.vs.bgp = self.tandem_bgp(&st),
            "snmp_name" => {
                if let Some(w) = self.one(&st, "a name") {
                    raw.vs.snmp_name = Some(w.text.clone());
                }
            }
            _ => self.unknown(Block::VirtualServer, &st),
        }
    }

    /// How IPVS schedules and forwards the service's connections
    /// (scheduler and its flags, method, protocol, persistence); false if
    /// `kw` is not one of those keywords.
    fn vs_scheduling_stmt(&mut self, kw: &str, st: &Stmt, raw: &mut RawVs) -> bool {
        let vs = &mut raw.vs;
        match kw {
            "lvs_sched" => {
                if let Some(s) = self.lvs_sched(st) {
                    vs.lvs_sched = s;
                }
            }
            "lvs_method" => {
                if let Some((m, t)) = self.lvs_method(st) {
                    vs.lvs_method = m;
                    vs.tunnel = t;
                }
            }
            "flag-1" | "flag-2" | "flag-3" | "sh-fallback" | "sh-port" | "mh-fallback"
            | "mh-port" => {
                self.bare(st);
                match kw {
                    "flag-1" | "sh-fallback" | "mh-fallback" => vs.sched_flags.flag_1 = true,
                    "flag-2" | "sh-port" | "mh-port" => vs.sched_flags.flag_2 = true,
                    _ => vs.sched_flags.flag_3 = true,
                }
                raw.sched_flag_words.push(st.keyword.clone());
            }
            "protocol" => {
                raw.protocol_pos = Some(st.keyword.pos);
                if let Some(w) = self.one(st, "TCP, UDP or SCTP") {
                    match w.text.to_ascii_uppercase().as_str() {
                        "TCP" => vs.protocol = Protocol::Tcp,
                        "UDP" => vs.protocol = Protocol::Udp,
                        "SCTP" => vs.protocol = Protocol::Sctp,
                        _ => self.err(
                            w.pos,
                            format!("protocol expects TCP, UDP or SCTP, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "persistence_timeout" => self.persistence_timeout(st, vs),
            "persistence_granularity" => {
                if let Some(w) = self.one(st, "a netmask") {
                    match netmask_to_prefix(&w.text) {
                        Some(p) => vs.persistence_granularity = Some(p),
                        None => self.err(w.pos, format!("persistence_granularity expects a netmask (e.g. 255.255.255.0), not \"{}\"", w.text)),
                    }
                }
            }
            "ops" => {
                self.bare(st);
                vs.ops = true;
            }
            "persistence_engine" => self.persistence_engine(st, vs),
            _ => return false,
        }
        true
    }

    /// `lvs_sched NAME` (or `lb_algo`), a misspelt name with a suggestion.
    fn lvs_sched(&mut self, st: &Stmt) -> Option<LvsSched> {
        let w = self.one(st, "a scheduler (rr, wrr, lc, wlc, ...)")?;
        let found = LvsSched::ALL.iter().find(|s| s.name() == w.text);
        if found.is_none() {
            let cands = LvsSched::ALL.iter().map(|s| s.name());
            let msg = match keywords::suggest(&w.text, cands) {
                Some(m) => format!("unknown scheduler \"{}\"; did you mean \"{m}\"?", w.text),
                None => format!(
                    "unknown scheduler \"{}\" (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)",
                    w.text
                ),
            };
            self.err(w.pos, msg);
        }
        found.copied()
    }

    /// `persistence_engine NAME`: one word, as the kernel's
    /// IP_VS_PENAME_MAXLEN allows (15 bytes). keepalived 2.2.7 reports a
    /// longer one and truncates it (no engine has such a name, so its
    /// service then fails to be added); tandem refuses it.
    fn persistence_engine(&mut self, st: &Stmt, vs: &mut VirtualServer) {
        let Some(w) = self.one(st, "an IPVS persistence engine name (sip)") else {
            return;
        };
        if w.text.len() > 15 {
            let msg = format!(
                "persistence_engine \"{}\" is longer than IPVS's 15 bytes (keepalived 2.2.7 would report it and truncate it)",
                w.text
            );
            self.err(w.pos, msg);
        } else {
            vs.persistence_engine = Some(w.text.clone());
        }
    }

    /// `persistence_timeout [SECONDS]`: without a value, keepalived's 360.
    fn persistence_timeout(&mut self, st: &Stmt, vs: &mut VirtualServer) {
        self.no_block(st);
        if let Some(args) = self.args_range(st, 0, 1, "") {
            match args.first() {
                None => vs.persistence_timeout = Some(Duration::from_secs(360)),
                // `0` reads as "no persistence". keepalived 2.2.7 calls it
                // invalid and runs the service without persistence, which
                // is what the line meant: do the same, and say so.
                Some(w) if w.text == "0" => self.warn(
                    w.pos,
                    "persistence_timeout 0 is out of range (1-4294967295); the virtual server runs without persistence, as keepalived 2.2.7 runs it (delete the line to say so)",
                ),
                Some(w) => {
                    if let Some(v) = self.int_word("persistence_timeout", w, 1, i64::from(u32::MAX))
                    {
                        vs.persistence_timeout = Some(Duration::from_secs(v as u64));
                    }
                }
            }
        }
    }

    /// When the service counts as up (quorum, hysteresis), what runs when
    /// that changes, and the sorry server used while it is down; false if
    /// `kw` is not one of those keywords.
    fn vs_quorum_stmt(&mut self, kw: &str, st: &Stmt, raw: &mut RawVs) -> bool {
        let vs = &mut raw.vs;
        match kw {
            "quorum" => {
                if let Some(v) = self.int_in(st, 1, i64::from(u32::MAX)) {
                    vs.quorum = v as u32;
                }
            }
            "hysteresis" => {
                if let Some(v) = self.u32_val(st) {
                    vs.hysteresis = v;
                }
            }
            "quorum_up" => vs.quorum_up = self.notify_script(st),
            "quorum_down" => vs.quorum_down = self.notify_script(st),
            "omega" => vs.omega = self.vs_switch(st),
            "ha_suspend" => vs.ha_suspend = self.vs_switch(st),
            "sorry_server" => {
                self.no_block(st);
                if let Some(args) = self.args_range(st, 1, 2, "IP [PORT]") {
                    let ip = self.sock_ip_word("sorry_server", &args[0]);
                    let port = match args.get(1) {
                        Some(w) => self.port_word("sorry_server port", w).map(Some),
                        None => Some(None),
                    };
                    if let (Some(ip), Some(port)) = (ip, port) {
                        raw.sorry = Some((ip, port));
                    }
                }
            }
            "sorry_server_inhibit" => vs.sorry_server_inhibit = self.flag(st),
            "sorry_server_lvs_method" => raw.sorry_method = self.lvs_method(st),
            _ => return false,
        }
        true
    }

    /// A virtual server once its block ends (all its inheritance is
    /// inside the block): defaults, the sorry server, the real servers,
    /// and keepalived's corrections made visible.
    fn resolve_vs(&mut self, rv: RawVs) -> VirtualServer {
        let mut vs = rv.vs;
        self.check_protocol(&vs, rv.protocol_pos);
        let vs_inh = rv.inh;
        vs.delay_loop = vs_inh.delay_loop.unwrap_or(Duration::from_secs(60));
        vs.alpha = vs_inh.alpha.unwrap_or(false);
        vs.inhibit_on_failure = vs_inh.inhibit_on_failure.unwrap_or(false);
        vs.virtualhost = vs_inh.virtualhost.clone();
        self.vs_alert.push(vs_inh.smtp_alert);
        self.check_sched_flags(&vs, &rv.sched_flag_words);
        vs.real_servers.reserve_exact(rv.rss.len());
        let vs_port = match &vs.key {
            VirtualServerKey::Address { port, .. } => *port,
            _ => 0,
        };
        vs.family = match &vs.key {
            VirtualServerKey::Address { address, .. } => AddressFamily::of(address),
            _ => rv.ip_family.unwrap_or_else(|| {
                let sorry = rv.sorry.map(|(a, _)| (a, rv.sorry_method));
                keyless_family(&rv.rss, sorry, vs.lvs_method)
            }),
        };
        if let Some((address, port)) = rv.sorry {
            vs.sorry_server = Some(SorryServer {
                address,
                port: port.unwrap_or(vs_port),
                lvs_method: rv.sorry_method.map_or(vs.lvs_method, |m| m.0),
                tunnel: rv.sorry_method.map_or(vs.tunnel, |m| m.1),
            });
        }
        for rr in rv.rss {
            let rs = self.resolve_rs(rr, &vs, &vs_inh, vs_port);
            self.push_real_server(&mut vs, rs);
        }
        self.correct_quorum(&mut vs);
        vs
    }

    /// A real server joins its service unless the service has it already
    /// (same address and port, the port after a DR or TUN real server took
    /// the service's). IPVS holds one destination per address and port;
    /// keepalived 2.2.7 reports the second block and runs without it, and
    /// so does tandem, so a configuration that runs under keepalived runs
    /// the same here, and the warning names both blocks.
    fn push_real_server(&mut self, vs: &mut VirtualServer, rs: RealServer) {
        let Some(first) = vs
            .real_servers
            .iter()
            .find(|r| r.address == rs.address && r.port == rs.port)
        else {
            vs.real_servers.push(rs);
            return;
        };
        let why = match rs.lvs_method {
            LvsMethod::Dr | LvsMethod::Tun => {
                ", as a DR or TUN real server takes the virtual server's port"
            }
            _ => "",
        };
        let msg = format!(
            "real_server {} port {} is already in this virtual_server at {}{why}; this block is dropped, as keepalived 2.2.7 drops it",
            rs.address, rs.port, first.origin
        );
        self.warn_at(&rs.origin, msg);
    }

    /// `protocol` means nothing to a fwmark service, and its absence
    /// means UDP elsewhere: say so at the service.
    fn check_protocol(&mut self, vs: &VirtualServer, protocol_pos: Option<Pos>) {
        match (&vs.key, protocol_pos) {
            (VirtualServerKey::Fwmark { .. }, Some(pos)) => self.warn(
                pos,
                "protocol is ignored for a fwmark service (the mark selects the packets)",
            ),
            // keepalived 2.2.7 takes a service without `protocol` as UDP
            // ("no protocol set - defaulting to UDP"). tandem runs the same
            // table, but a web site silently served as UDP is rarely what
            // was meant: say so where the service is written.
            (VirtualServerKey::Address { .. } | VirtualServerKey::Group { .. }, None) => {
                let msg = format!(
                    "virtual_server {} has no \"protocol\"; UDP is used, as keepalived does: write \"protocol UDP\" (or \"protocol TCP\") explicitly",
                    vs.key
                );
                self.p
                    .lexer
                    .diagnostics
                    .push(Diagnostic::at(Severity::Warning, &vs.origin, msg));
            }
            _ => {}
        }
    }

    /// `sh-*` and `mh-*` name scheduler flags by their meaning for one
    /// scheduler; with another they set a flag that means something else.
    fn check_sched_flags(&mut self, vs: &VirtualServer, words: &[Word]) {
        for w in words {
            let needs = match w.text.as_str() {
                "sh-port" | "sh-fallback" => Some(LvsSched::Sh),
                "mh-port" | "mh-fallback" => Some(LvsSched::Mh),
                _ => None,
            };
            if let Some(sched) = needs
                && vs.lvs_sched != sched
            {
                let msg = format!(
                    "\"{}\" applies to lvs_sched {}; with {} it sets scheduler flag {}",
                    w.text,
                    sched.name(),
                    vs.lvs_sched.name(),
                    if w.text.ends_with("port") { 2 } else { 1 }
                );
                self.warn(w.pos, msg);
            }
        }
    }

    /// keepalived's corrections, made visible: a quorum above the total
    /// weight could never be reached, and a hysteresis not below the
    /// quorum could never be crossed.
    fn correct_quorum(&mut self, vs: &mut VirtualServer) {
        let weight_sum: u64 = vs.real_servers.iter().map(|r| u64::from(r.weight)).sum();
        if weight_sum > 0 && u64::from(vs.quorum) > weight_sum {
            let msg = format!(
                "virtual_server {}: quorum {} exceeds the total weight {weight_sum} of its real servers; quorum {weight_sum} is used",
                vs.key, vs.quorum
            );
            self.p
                .lexer
                .diagnostics
                .push(Diagnostic::at(Severity::Warning, &vs.origin, msg));
            vs.quorum = weight_sum as u32;
        }
        if vs.hysteresis >= vs.quorum {
            let msg = format!(
                "virtual_server {}: hysteresis {} is not below quorum {}; hysteresis {} is used",
                vs.key,
                vs.hysteresis,
                vs.quorum,
                vs.quorum - 1
            );
            self.p
                .lexer
                .diagnostics
                .push(Diagnostic::at(Severity::Warning, &vs.origin, msg));
            vs.hysteresis = vs.quorum - 1;
        }
    }

    /// The virtual servers once the whole file is read: a group service's
    /// family is its group's (the group may be defined after the service),
    /// and the alerts resolve against global_defs.
    pub(super) fn finish_virtual_servers(
        &mut self,
        checker_alert_default: Option<bool>,
    ) -> Vec<VirtualServer> {
        let mut vss = std::mem::take(&mut self.vss);
        for vs in &mut vss {
            if let VirtualServerKey::Group { name } = &vs.key
                && let Some(g) = self.vsgs.iter().find(|g| &g.name == name)
                && let Some(fam) = g.entries.iter().find_map(|e| match e {
                    VsgEntry::Range { first, .. } => Some(AddressFamily::of(first)),
                    VsgEntry::Fwmark { family, .. } => *family,
                })
            {
                vs.family = fam;
            }
        }
        let mut rs_alert = self.rs_alert.iter();
        for (vs, alert) in vss.iter_mut().zip(&self.vs_alert) {
            vs.smtp_alert = alert.or(checker_alert_default).unwrap_or(false);
            for rs in &mut vs.real_servers {
                // keepalived: real servers alert by default.
                let given = rs_alert.next().copied().flatten();
                rs.smtp_alert = given.or(checker_alert_default).unwrap_or(true);
            }
        }
        vss
    }
}

impl Builder {
    /// virtual_server's `alpha` and `omega`: keepalived 2.2.7 turns them on
    /// whatever follows (`alpha off` too). A true word or nothing is on;
    /// another value (configs write `alpha 1`) is on with a warning; a
    /// false word is refused, since keepalived would turn on what the
    /// line asks to turn off.
    fn vs_switch(&mut self, st: &Stmt) -> bool {
        self.no_block(st);
        let kw = st.keyword.text.clone();
        let Some(w) = st.args.first() else {
            return true;
        };
        if let Some(extra) = st.args.get(1) {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after \"{kw}\"", extra.text),
            );
        }
        match super::values::parse_bool_word(&w.text) {
            Some(true) => {}
            Some(false) => self.err(
                w.pos,
                format!(
                    "{kw} takes no value in a virtual_server: keepalived 2.2.7 ignores \"{}\" and turns {kw} on; \
                     leave the line out to have it off",
                    w.text
                ),
            ),
            None => self.warn(
                w.pos,
                format!(
                    "{kw} takes no value in a virtual_server; \"{}\" is ignored (as keepalived 2.2.7 does) and {kw} is on",
                    w.text
                ),
            ),
        }
        true
    }
}

/// The family of a service with no address of its own (a fwmark, or a
/// group before its entries decide), found as keepalived 2.2.7 finds it,
/// since IPVS keys a fwmark service by family and mark: the first real
/// server that is not tunnelled (TUN may cross families), else a sorry
/// server that is not tunnelled; when every server is tunnelled, their
/// one family, and IPv4 when they mix or there are none.
fn keyless_family(
    rss: &[RawRs],
    sorry: Option<(IpAddr, Option<(LvsMethod, Tunnel)>)>,
    vs_method: LvsMethod,
) -> AddressFamily {
    let method = |m: Option<(LvsMethod, Tunnel)>| m.map_or(vs_method, |m| m.0);
    let sorry = sorry.map(|(a, m)| (AddressFamily::of(&a), method(m)));
    let servers = rss
        .iter()
        .map(|r| (AddressFamily::of(&r.rs.address), method(r.lvs_method)));
    if let Some((f, _)) = servers.clone().find(|(_, m)| *m != LvsMethod::Tun) {
        return f;
    }
    if let Some((f, m)) = sorry
        && m != LvsMethod::Tun
    {
        return f;
    }
    let mut families = sorry.into_iter().chain(servers).map(|(f, _)| f);
    match families.next() {
        Some(first) if families.all(|f| f == first) => first,
        _ => AddressFamily::Inet,
    }
}
