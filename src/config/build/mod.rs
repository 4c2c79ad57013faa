//! The builder: statements → the typed model.
//!
//! A recursive descent over blocks. Each block reads the keywords of its
//! table (see [`super::keywords`]); values are checked where they are
//! written, so each error points at the offending word. Settings that
//! inherit (global_defs → instances, virtual_server → real_server →
//! checker) are collected as `Option`s first and resolved once the whole
//! file is read, because keepalived allows a default to be written after
//! the blocks that inherit it.
//!
//! Owns: the entry point, the order of the top-level blocks, and the
//! resolution once the whole file is read. Each block's keywords are read
//! in the file named after it; the helpers they share are in `builder`,
//! `args` and `values`. May not: open files or touch the network (the
//! lexer reads the files), or check across items (validate does).

mod addresses;
mod args;
mod builder;
mod checkers;
mod forwarding;
mod global_defs;
mod inherited;
mod raw;
mod real_server;
mod tracking;
mod values;
mod virtual_server;
mod virtual_server_group;
mod vrrp_instance;
mod vrrp_script;
mod vrrp_sync_group;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::diag::{Diagnostic, Severity};
use crate::config::keywords::{self, Block};
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Item, Parser};

use builder::Builder;

/// Build the model from a statement stream. The model is always returned
/// (possibly partial); the diagnostics say whether it can be used.
/// The model, the diagnostics (not yet in file order) and the files read,
/// in the order they were opened (for [`super::sort_diagnostics`]).
pub(crate) fn build(p: Parser) -> (Config, Vec<Diagnostic>, Vec<Arc<Path>>) {
    let mut b = Builder {
        p,
        global: GlobalDefs::default(),
        lower_prio_delay_set: false,
        lower_prio_repeat_set: false,
        scripts: Vec::new(),
        groups: Vec::new(),
        instances: Vec::new(),
        vsgs: Vec::new(),
        vss: Vec::new(),
        vs_alert: Vec::new(),
        rs_alert: Vec::new(),
        group_members: Vec::new(),
    };
    b.top();
    let cfg = b.finish();
    let diags = std::mem::take(&mut b.p.lexer.diagnostics);
    let files = std::mem::take(&mut b.p.lexer.files);
    (cfg, diags, files)
}

impl Builder {
    fn top(&mut self) {
        loop {
            match self.p.next_item() {
                Item::Eof => return,
                Item::Close(pos) => self.err(pos, "unexpected \"}\" (no block is open)"),
                Item::Stmt(s) => match s.keyword.text.as_str() {
                    "global_defs" => self.global_defs(&s),
                    "vrrp_script" => self.vrrp_script(&s),
                    "vrrp_sync_group" => self.vrrp_sync_group(&s),
                    "vrrp_instance" => self.vrrp_instance(&s),
                    "virtual_server_group" => self.virtual_server_group(&s),
                    "virtual_server" => self.virtual_server(&s),
                    _ => self.unknown(Block::Top, &s),
                },
            }
        }
    }

    fn finish(&mut self) -> Config {
        let mut g = std::mem::take(&mut self.global);
        if !self.lower_prio_delay_set {
            g.vrrp_garp_lower_prio_delay = g.vrrp_garp_master_delay;
        }
        if !self.lower_prio_repeat_set {
            g.vrrp_garp_lower_prio_repeat = g.vrrp_garp_master_repeat;
        }
        let vrrp_alert_default = g.smtp_alert_vrrp.or(g.smtp_alert);
        let checker_alert_default = g.smtp_alert_checker.or(g.smtp_alert);

        let scripts: Vec<VrrpScript> = std::mem::take(&mut self.scripts)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let resolve_tracks = |list: Vec<(TrackScript, Option<i32>, Option<bool>)>| {
            list.into_iter()
                .map(|(mut t, w, r)| {
                    let script = scripts.iter().find(|s| s.name == t.name);
                    t.weight = w.or(script.map(|s| s.weight)).unwrap_or(0);
                    t.reverse = r.or(script.map(|s| s.weight_reverse)).unwrap_or(false);
                    t
                })
                .collect::<Vec<_>>()
        };

        let mut groups = Vec::new();
        for mut rg in std::mem::take(&mut self.groups) {
            rg.group.smtp_alert = rg.smtp_alert.or(vrrp_alert_default).unwrap_or(false);
            rg.group.track_script = resolve_tracks(std::mem::take(&mut rg.track_script));
            groups.push(rg.group);
        }

        let mut instances = Vec::new();
        for ri in std::mem::take(&mut self.instances) {
            let mut vi = ri.inst;
            vi.track_script = resolve_tracks(ri.track_script);
            vi.smtp_alert = ri.smtp_alert.or(vrrp_alert_default).unwrap_or(false);
            vi.skip_check_adv_addr = ri.skip_check_adv_addr.unwrap_or(g.vrrp_skip_check_adv_addr);
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
            vi.garp_interval = g.vrrp_garp_interval;
            vi.gna_interval = g.vrrp_gna_interval;

            // Version: the instance's, else global; IPv6 is always v3.
            let family = vi.family;
            vi.version = match (ri.version, family) {
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
            };
            if let Some((adv, pos)) = ri.advert_int {
                self.check_advert_int(&vi, adv, pos);
                vi.advert_int = adv;
            }
            if vi.version == VrrpVersion::V3
                && vi.authentication.is_some()
                && let Some(pos) = ri.auth_pos
            {
                self.err(
                    pos,
                    format!(
                        "vrrp_instance {}: authentication is not part of VRRP version 3 (RFC 5798)",
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
            for (peer, pos) in &ri.peer_pos {
                if AddressFamily::of(peer) != family {
                    let msg = format!(
                        "vrrp_instance {}: unicast_peer {peer} is not {family} like the instance's virtual addresses",
                        vi.name
                    );
                    self.err(*pos, msg);
                }
            }
            if let Some(src) = vi.unicast_src_ip
                && AddressFamily::of(&src) != family
            {
                let msg = format!(
                    "vrrp_instance {}: unicast_src_ip {src} is not {family} like the instance's virtual addresses",
                    vi.name
                );
                match ri.src_pos {
                    Some(pos) => self.err(pos, msg),
                    None => self.p.lexer.diagnostics.push(Diagnostic::at(
                        Severity::Error,
                        &vi.origin,
                        msg,
                    )),
                }
            }
            instances.push(vi);
        }

        // Sync group members must be instances.
        for (group, w) in std::mem::take(&mut self.group_members) {
            if !instances.iter().any(|i| i.name == w.text) {
                let cands = instances.iter().map(|i| i.name.as_str());
                let msg = match keywords::suggest(&w.text, cands) {
                    Some(m) => format!(
                        "vrrp_sync_group {group}: no vrrp_instance named \"{}\"; did you mean \"{m}\"?",
                        w.text
                    ),
                    None => format!(
                        "vrrp_sync_group {group}: no vrrp_instance named \"{}\"",
                        w.text
                    ),
                };
                self.err(w.pos, msg);
            }
        }

        let mut vss = std::mem::take(&mut self.vss);
        // A group service's family is its group's (known only now, since
        // the group may be defined after the service).
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

        Config {
            global_defs: g,
            vrrp_scripts: scripts,
            vrrp_sync_groups: groups,
            vrrp_instances: instances,
            virtual_server_groups: std::mem::take(&mut self.vsgs),
            virtual_servers: vss,
        }
    }

    /// RFC 3768 §5.3.7: whole seconds, 1–255 in an 8-bit field.
    /// RFC 5798 §5.2.7: centiseconds in a 12-bit field, 1–4095.
    fn check_advert_int(&mut self, vi: &VrrpInstance, adv: Duration, pos: Pos) {
        let secs = adv.as_secs_f64();
        match vi.version {
            VrrpVersion::V2 => {
                if adv.subsec_nanos() != 0 {
                    self.err(
                        pos,
                        format!(
                            "advert_int {secs} needs VRRP version 3 (\"version 3\"); version 2 counts whole seconds"
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
                    self.err(
                        pos,
                        format!("advert_int {secs} is not a whole number of centiseconds (VRRP version 3 resolution)"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod smtp_alert_tests {
    use std::path::Path;

    fn load(text: &str) -> crate::config::Config {
        let loaded = crate::config::load_str(
            Path::new("test.conf"),
            text.to_string(),
            &crate::config::LoadOptions::default(),
        );
        match loaded.config {
            Some(c) => c,
            None => panic!("refused: {:?}", loaded.diagnostics),
        }
    }

    const OBJECTS: &str = "\
vrrp_sync_group G1 {
    group {
        VI_1
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.2/24
    }
}
virtual_server 192.0.2.2 80 {
    real_server 198.51.100.10 80 {
    }
}
";

    /// (group, instance, virtual server, real server)
    fn alerts(global: &str, objects: &str) -> (bool, bool, bool, bool) {
        let c = load(&format!("global_defs {{\n{global}}}\n{objects}"));
        (
            c.vrrp_sync_groups[0].smtp_alert,
            c.vrrp_instances[0].smtp_alert,
            c.virtual_servers[0].smtp_alert,
            c.virtual_servers[0].real_servers[0].smtp_alert,
        )
    }

    #[test]
    fn nothing_set_mails_real_servers_only() {
        assert_eq!(alerts("", OBJECTS), (false, false, false, true));
    }

    #[test]
    fn the_global_switch_and_the_per_kind_switches() {
        assert_eq!(alerts("smtp_alert\n", OBJECTS), (true, true, true, true));
        assert_eq!(
            alerts("smtp_alert no\n", OBJECTS),
            (false, false, false, false)
        );
        assert_eq!(
            alerts("smtp_alert\nsmtp_alert_vrrp no\n", OBJECTS),
            (false, false, true, true)
        );
        assert_eq!(
            alerts("smtp_alert_checker no\n", OBJECTS),
            (false, false, false, false)
        );
        assert_eq!(
            alerts("smtp_alert_vrrp\n", OBJECTS),
            (true, true, false, true)
        );
    }

    #[test]
    fn an_object_s_own_switch_wins() {
        let own = OBJECTS
            .replace("    group {", "    smtp_alert\n    group {")
            .replace(
                "    interface eth0",
                "    smtp_alert no\n    interface eth0",
            )
            .replace(
                "    real_server 198.51.100.10 80 {\n",
                "    smtp_alert\n    real_server 198.51.100.10 80 {\n        smtp_alert no\n",
            );
        assert_eq!(
            alerts("smtp_alert_vrrp no\nsmtp_alert_checker\n", &own),
            (true, false, true, false)
        );
    }
}
