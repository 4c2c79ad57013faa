//! `SMTP_CHECK`, with keepalived's deprecated `host { }` sub-blocks.
//!
//! keepalived 2.2.7 (check_smtp.c) reads `helo_name` and every common
//! checker keyword in the block, and the common keywords again in each
//! `host { }`. A host is a connection of its own (its `connect_ip`,
//! `connect_port`, `bindto`, `bind_port`, `bind_if`, `fwmark`,
//! `connect_timeout`, each defaulting to the real server's), checked as
//! one more checker of the real server; the timers it names (`retry`,
//! `delay_loop`, ...) are the whole check's. The block's own connection is
//! checked too when any connection keyword is set at its level or when
//! there is no host; otherwise the hosts are the only connections.
//!
//! Owns the reading of the block into one raw checker per connection;
//! may not open one.

use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::RawChecker;

/// keepalived's `helo_name` default (SMTP_DEFAULT_HELO).
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// The connection keywords that make the block's own connection checked.
const CONNECTION: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "fwmark",
    "connect_timeout",
];

impl Builder {
    /// One raw checker per connection the block checks.
    pub(super) fn smtp_check(&mut self, s: &Stmt) -> Vec<RawChecker> {
        if let Some(extra) = s.args.first() {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after SMTP_CHECK", extra.text),
            );
        }
        if !self.need_block(s) {
            return Vec::new();
        }
        let mut kind = CheckerKind::SmtpCheck(SmtpCheck {
            helo_name: DEFAULT_HELO.to_string(),
        });
        let mut c = RawChecker::new(kind.clone(), self.origin(s.keyword.pos));
        let mut own_connection = false;
        let mut hosts: Vec<RawChecker> = Vec::new();
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "helo_name" => {
                if let (Some(v), CheckerKind::SmtpCheck(smtp)) = (b.string(&st), &mut kind) {
                    smtp.helo_name = v;
                }
            }
            "host" => {
                if let Some(h) = b.smtp_host(&st, &mut c) {
                    hosts.push(h);
                }
            }
            kw => {
                own_connection |= CONNECTION.contains(&kw);
                let mut unused = kind.clone();
                b.checker_stmt(st, Block::SmtpCheck, &mut unused, &mut c);
            }
        });
        if let Some(first) = hosts.first() {
            self.warn_at(
                &first.origin,
                "the SMTP_CHECK host block is deprecated (as in keepalived); define more SMTP_CHECKs instead",
            );
        }
        c.kind = kind;
        let mut out = Vec::new();
        if own_connection || hosts.is_empty() {
            out.push(c.clone());
        }
        for h in hosts {
            let mut one = c.clone();
            one.connect_ip = h.connect_ip;
            one.connect_port = h.connect_port;
            one.bindto = h.bindto;
            one.bind_port = h.bind_port;
            one.bind_if = h.bind_if;
            one.fwmark = h.fwmark;
            // A host's timeout defaults to the real server's, not to the
            // block's (check_smtp.c).
            one.inh.connect_timeout = h.inh.connect_timeout;
            one.origin = h.origin;
            out.push(one);
        }
        out
    }

    /// One `host { }`: its connection, returned; the timers it sets go to
    /// the whole check `c`.
    fn smtp_host(&mut self, s: &Stmt, c: &mut RawChecker) -> Option<RawChecker> {
        if !self.need_block(s) {
            return None;
        }
        let mut h = c.clone();
        h.connect_ip = None;
        h.connect_port = None;
        h.bindto = None;
        h.bind_port = None;
        h.bind_if = None;
        h.fwmark = None;
        h.inh.connect_timeout = None;
        h.origin = self.origin(s.keyword.pos);
        self.kw_block(s, &mut |b, st| {
            let kw = st.keyword.text.clone();
            let mut unused = CheckerKind::TcpCheck;
            if CONNECTION.contains(&kw.as_str()) {
                b.checker_stmt(st, Block::SmtpHost, &mut unused, &mut h);
            } else {
                b.checker_stmt(st, Block::SmtpHost, &mut unused, c);
            }
        });
        Some(h)
    }
}
