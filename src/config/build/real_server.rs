//! `real_server IP [PORT] { ... }`: one server behind a virtual server.
//!
//! Owns: the meaning of each real_server keyword, and resolving what the
//! server inherits from its virtual server (called when the virtual
//! server's block ends). May not: read the checkers' keywords (`checkers`
//! does).

use std::net::IpAddr;

use crate::config::diag::{Diagnostic, Severity};
use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::checkers::resolve_checker;
use super::raw::{Inherit, RawRs};

impl Builder {
    pub(super) fn real_server(&mut self, s: &Stmt) -> Option<RawRs> {
        let Some(first) = s.args.first() else {
            self.err(s.keyword.pos, "\"real_server\" needs IP [PORT]");
            self.skip(s);
            return None;
        };
        let address = self.sock_ip_word("real_server", first);
        let port = match s.args.get(1) {
            Some(w) => self.port_word("real_server port", w),
            None => None,
        };
        if let Some(extra) = s.args.get(2) {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after real_server", extra.text),
            );
        }
        let mut raw = RawRs {
            rs: RealServer {
                address: address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                port: 0,
                weight: 1,
                lvs_method: LvsMethod::Nat,
                tunnel: Tunnel::default(),
                inhibit_on_failure: false,
                notify_up: None,
                notify_down: None,
                uthreshold: None,
                lthreshold: None,
                smtp_alert: true,
                alpha: false,
                snmp_name: None,
                checkers: Vec::new(),
                file_checks: Vec::new(),
                origin: self.origin(s.keyword.pos),
            },
            port,
            lvs_method: None,
            inh: Inherit::default(),
            checkers: Vec::new(),
        };
        if !s.block {
            // keepalived accepts a real server without a block.
            address?;
            return Some(raw);
        }
        self.kw_block(s, &mut |b, st| b.rs_stmt(st, &mut raw));
        address?;
        Some(raw)
    }

    fn rs_stmt(&mut self, st: Stmt, raw: &mut RawRs) {
        let kw = self.alias(&st, Block::RealServer);
        if self.inherit_stmt(&kw, &st, &mut raw.inh) {
            return;
        }
        match kw.as_str() {
            "weight" => {
                if let Some(v) = self.int_in(&st, 0, 65535) {
                    raw.rs.weight = v as u32;
                }
            }
            "lvs_method" => raw.lvs_method = self.lvs_method(&st),
            "notify_up" => raw.rs.notify_up = self.notify_script(&st).map(Box::new),
            "notify_down" => raw.rs.notify_down = self.notify_script(&st).map(Box::new),
            "uthreshold" => raw.rs.uthreshold = self.u32_val(&st),
            "lthreshold" => raw.rs.lthreshold = self.u32_val(&st),
            "snmp_name" => {
                if let Some(w) = self.one(&st, "a name") {
                    raw.rs.snmp_name = Some(w.text.clone());
                }
            }
            "HTTP_GET" | "SSL_GET" | "TCP_CHECK" | "MISC_CHECK" | "DNS_CHECK" | "UDP_CHECK"
            | "PING_CHECK" => {
                if let Some(c) = self.checker(&st) {
                    raw.checkers.push(c);
                }
            }
            "BFD_CHECK" => {
                if let Some(c) = self.bfd_check(&st) {
                    raw.checkers.push(c);
                }
            }
            "SMTP_CHECK" => {
                let checkers = self.smtp_check(&st);
                raw.checkers.extend(checkers);
            }
            "FILE_CHECK" => {
                if let Some(c) = self.file_check(&st) {
                    raw.rs.file_checks.push(c);
                }
            }
            _ => self.unknown(Block::RealServer, &st),
        }
    }

    /// A real server with what it inherits from its virtual server: the
    /// port, the forwarding method, the inherited settings, its checkers.
    pub(super) fn resolve_rs(
        &mut self,
        rr: RawRs,
        vs: &VirtualServer,
        vs_inh: &Inherit,
        vs_port: u16,
    ) -> RealServer {
        let mut rs = rr.rs;
        rs.port = rr.port.unwrap_or(vs_port);
        (rs.lvs_method, rs.tunnel) = rr.lvs_method.unwrap_or((vs.lvs_method, vs.tunnel));
        let rs_inh = rr.inh.over(vs_inh);
        rs.inhibit_on_failure = rs_inh.inhibit_on_failure.unwrap_or(false);
        rs.alpha = rs_inh.alpha.unwrap_or(false);
        self.rs_alert.push(rr.inh.smtp_alert);
        rs.checkers.reserve_exact(rr.checkers.len());
        for rc in rr.checkers {
            let checker = resolve_checker(rc, &rs, &rs_inh);
            rs.checkers.push(checker);
        }
        if rr.port.is_some() {
            self.correct_forwarded_port(&mut rs, &vs.key);
        }
        rs
    }

    /// IPVS forwards DR and TUN packets unchanged: the port is the
    /// virtual server's (none for a fwmark service), as keepalived resets
    /// it. The checkers keep the port as written.
    fn correct_forwarded_port(&mut self, rs: &mut RealServer, key: &VirtualServerKey) {
        if rs.lvs_method == LvsMethod::Nat {
            return;
        }
        let effective = match key {
            VirtualServerKey::Address { port, .. } => Some(*port),
            VirtualServerKey::Fwmark { .. } => Some(0),
            VirtualServerKey::Group { .. } => None,
        };
        if let Some(p) = effective
            && rs.port != p
        {
            let method = if rs.lvs_method == LvsMethod::Dr {
                "DR"
            } else {
                "TUN"
            };
            let msg = format!(
                "real_server {} port {}: with lvs_method {method} IPVS does not translate ports; {}",
                rs.address,
                rs.port,
                if p == 0 {
                    "the port is ignored for a fwmark service".to_string()
                } else {
                    format!("port {p} is used")
                }
            );
            self.p
                .lexer
                .diagnostics
                .push(Diagnostic::at(Severity::Warning, &rs.origin, msg));
            rs.port = p;
        }
    }
}
