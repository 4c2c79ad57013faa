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
//! Owns: the entry point, the dispatch of the top-level blocks, and the
//! order in which what was read is resolved once the whole file is read.
//! Each block's keywords are read, and its items resolved, in the file
//! named after it; the helpers they share are in `builder`, `args`,
//! `values`, `raw` and `inherited`. May not: open files or touch the
//! network (the lexer reads the files, `rt_realms` the realm names), or check across items (validate
//! does).

mod addresses;
mod args;
mod bfd_check;
mod bfd_instance;
mod builder;
mod checkers;
mod daemon_knobs;
mod forwarding;
mod garp_extra_if;
mod garp_group;
mod global_defs;
mod inherited;
mod instance_checks;
mod linkbeat;
mod lvs_sync;
mod netlink_knobs;
mod nexthops;
mod notify_fifo;
mod process_knobs;
mod raw;
mod real_server;
mod route_extra;
mod route_options;
mod rules;
mod rx_bufs;
mod smtp_check;
mod statics;
mod strict;
mod sync_weights;
mod tandem_bgp;
mod track_file;
mod track_group;
mod track_process;
mod tracking;
mod udp_check;
mod url_regex;
mod values;
mod virtual_server;
mod virtual_server_group;
mod vmac;
mod vrrp_instance;
mod vrrp_script;
mod vrrp_sync_group;

use std::path::Path;
use std::sync::Arc;

use crate::config::diag::Diagnostic;
use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::{Item, Parser};

use builder::Builder;

pub(crate) use values::parse_c_u64;

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
        enable_traps_pos: None,
        scripts: Vec::new(),
        dropped_scripts: Vec::new(),
        track_files: Vec::new(),
        unresolved_track_files: Vec::new(),
        bfds: Vec::new(),
        dropped_bfds: Vec::new(),
        track_processes: Vec::new(),
        unresolved_track_processes: Vec::new(),
        groups: Vec::new(),
        instances: Vec::new(),
        vsgs: Vec::new(),
        vss: Vec::new(),
        vs_alert: Vec::new(),
        rs_alert: Vec::new(),
        group_members: Vec::new(),
        vrrp_iptables_pos: None,
        vrrp_ipsets_pos: None,
        fifos: Default::default(),
        next_rule_priority: [rules::RULE_START_PRIORITY; 2],
        default_interface: None,
        static_ipaddress: Vec::new(),
        static_routes: Vec::new(),
        static_rules: Vec::new(),
        reading_statics: false,
        track_groups: Vec::new(),
        track_group_refs: Vec::new(),
        linkbeat_of_instances: Vec::new(),
        garp_groups: Vec::new(),
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
                    "track_file" | "vrrp_track_file" => self.track_file_block(&s),
                    "bfd_instance" => self.bfd_instance(&s),
                    "vrrp_track_process" => self.track_process_block(&s),
                    "vrrp_sync_group" => self.vrrp_sync_group(&s),
                    "vrrp_instance" => self.vrrp_instance(&s),
                    "virtual_server_group" => self.virtual_server_group(&s),
                    "virtual_server" => self.virtual_server(&s),
                    "net_namespace" => self.net_namespace(&s),
                    "net_namespace_ipvs" => self.net_namespace_ipvs(&s),
                    "instance" => self.instance_name(&s),
                    "child_wait_time" => self.child_wait_time(&s),
                    "use_pid_dir" => self.use_pid_dir(&s),
                    "linkbeat_interfaces" => self.linkbeat_interfaces(&s),
                    "garp_group" => self.garp_group_block(&s),
                    "linkbeat_use_polling" => {
                        self.bare(&s);
                        self.global.linkbeat_use_polling = true;
                    }
                    "static_ipaddress" | "static_routes" | "static_rules" => self.statics(&s),
                    "track_group" => self.track_group_block(&s),
                    _ => self.unknown(Block::Top, &s),
                },
            }
        }
    }

    /// Resolve what was collected once the whole file is read:
    /// global_defs first (everything inherits from it), then the VRRP
    /// items, then the virtual servers' alerts.
    fn finish(&mut self) -> Config {
        let mut g = self.finish_global();
        self.note_vrrp_iptables(&g);
        self.note_vrrp_ipsets(&g);
        let vrrp_alert_default = g.smtp_alert_vrrp.or(g.smtp_alert);
        let checker_alert_default = g.smtp_alert_checker.or(g.smtp_alert);
        let (kept, dropped): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scripts)
            .into_iter()
            .partition(|(_, has_script)| *has_script);
        let scripts: Vec<VrrpScript> = kept.into_iter().map(|(s, _)| s).collect();
        self.dropped_scripts = dropped
            .into_iter()
            .map(|(s, _)| s.name)
            .filter(|n| !scripts.iter().any(|s| &s.name == n))
            .collect();
        let bfds = std::mem::take(&mut self.bfds);
        let mut groups = self.finish_sync_groups(&scripts, &bfds, vrrp_alert_default);
        self.bfds = bfds;
        let mut instances = self.finish_instances(&g, &scripts, vrrp_alert_default);
        self.finish_linkbeat(&mut g);
        self.check_sync_group_members(&instances);
        self.report_unresolved_track_files();
        self.apply_track_groups(&mut instances);
        self.restrict_sync_member_weights(&groups, &mut instances);
        self.restrict_track_file_weights(&mut groups, &mut instances);
        self.report_unresolved_track_processes();
        self.restrict_track_process_weights(&mut groups, &instances);
        let virtual_servers = self.finish_virtual_servers(checker_alert_default);
        let garp_groups = self.finish_garp_groups(&instances, &g);
        Config {
            global_defs: g,
            vrrp_scripts: scripts,
            track_files: std::mem::take(&mut self.track_files),
            bfd_instances: std::mem::take(&mut self.bfds),
            track_processes: std::mem::take(&mut self.track_processes),
            vrrp_sync_groups: groups,
            vrrp_instances: instances,
            virtual_server_groups: std::mem::take(&mut self.vsgs),
            virtual_servers,
            static_ipaddress: self.finish_static_addresses(),
            static_routes: std::mem::take(&mut self.static_routes),
            static_rules: std::mem::take(&mut self.static_rules),
            garp_groups,
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
