//! `real_server IP [PORT] { ... }`: one server behind a virtual server.
//!
//! Owns: the meaning of each real_server keyword. May not: resolve what
//! the server inherits (its virtual server does, once its block ends).

use std::net::IpAddr;

use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::{Inherit, RawRs};

impl Builder {
    pub(super) fn real_server(&mut self, s: &Stmt) -> Option<RawRs> {
        let Some(first) = s.args.first() else {
            self.err(s.keyword.pos, "\"real_server\" needs IP [PORT]");
            self.skip(s);
            return None;
        };
        let address = self.ip_word("real_server", first);
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
                checkers: Vec::new(),
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
            "HTTP_GET" | "SSL_GET" | "TCP_CHECK" | "MISC_CHECK" => {
                if let Some(c) = self.checker(&st) {
                    raw.checkers.push(c);
                }
            }
            _ => self.unknown(Block::RealServer, &st),
        }
    }
}
