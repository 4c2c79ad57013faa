//! The top-level `static_ipaddress`, `static_routes` and `static_rules`
//! blocks: addresses, routes and rules every node holds whatever its VRRP
//! state. Their lines are read as `virtual_ipaddress`, `virtual_routes`
//! and `virtual_rules` lines are.
//!
//! Owns: the blocks and keepalived's default interface of a static
//! address. May not: hold anything (the daemon installs them).

use crate::config::model::VirtualIpAddress;
use crate::config::parser::Stmt;

use super::builder::Builder;

/// keepalived's default interface (`DFLT_INT`): where a static address
/// written without `dev` goes unless global_defs' `default_interface`
/// names another.
pub(super) const DEFAULT_INTERFACE: &str = "eth0";

impl Builder {
    /// `static_ipaddress { ... }` and its siblings; a word after the
    /// keyword (`static_ipaddress block1 {`) is ignored, as by keepalived.
    pub(super) fn statics(&mut self, s: &Stmt) {
        if let Some(w) = s.args.first() {
            let msg = format!(
                "\"{}\" after {} is ignored (keepalived ignores it too)",
                w.text, s.keyword.text
            );
            self.warn(w.pos, msg);
        }
        self.reading_statics = true;
        match s.keyword.text.as_str() {
            "static_ipaddress" => {
                let list = self.vip_list(s);
                self.static_ipaddress
                    .extend(list.into_iter().map(|(v, _)| v));
            }
            "static_routes" => {
                let list = self.route_list(s);
                self.static_routes.extend(list);
            }
            _ => {
                let list = self.rule_list(s);
                self.static_rules.extend(list);
            }
        }
        self.reading_statics = false;
    }
}

impl Builder {
    /// `default_interface IFNAME` in global_defs.
    pub(super) fn default_interface(&mut self, st: &Stmt) {
        if let Some(v) = self.string(st) {
            self.default_interface = Some(v);
        }
    }

    /// The static addresses, each on its `dev`, else on the default
    /// interface. Resolved once the whole file is read, so global_defs
    /// may come before or after the addresses.
    pub(super) fn finish_static_addresses(&mut self) -> Vec<VirtualIpAddress> {
        let default = self
            .default_interface
            .clone()
            .unwrap_or_else(|| DEFAULT_INTERFACE.to_string());
        let mut list = std::mem::take(&mut self.static_ipaddress);
        for v in &mut list {
            v.dev.get_or_insert_with(|| default.clone());
        }
        list
    }
}
