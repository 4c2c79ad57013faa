//! A real server's health checks: `HTTP_GET`, `SSL_GET`, `TCP_CHECK`,
//! `MISC_CHECK` and `DNS_CHECK`, with the `url { ... }` blocks of the HTTP ones.
//!
//! Owns: the meaning of each checker keyword (and which ones a kind of
//! checker refuses), and a checker's defaults by kind once what it
//! inherits from its servers is known. May not: run a check, or open a
//! connection.

use std::time::Duration;

use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::{Inherit, RawChecker};
use super::url_regex::RawRegex;

impl Builder {
    pub(super) fn checker(&mut self, s: &Stmt) -> Option<RawChecker> {
        let kind_kw = s.keyword.text.clone();
        if let Some(extra) = s.args.first() {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after {kind_kw}", extra.text),
            );
        }
        let (block, mut kind) = empty_checker(&kind_kw);
        let mut dns_name_seen = false;
        let mut c = RawChecker::new(CheckerKind::TcpCheck, self.origin(s.keyword.pos));
        if !s.block {
            if matches!(kind, CheckerKind::TcpCheck | CheckerKind::PingCheck) {
                // `TCP_CHECK` or `PING_CHECK` alone: all defaults.
                c.kind = kind;
                return Some(c);
            }
            self.need_block(s);
            return None;
        }
        self.kw_block(s, &mut |b, st| {
            if let CheckerKind::DnsCheck(d) = &mut kind {
                if b.dns_stmt(&st, d, &mut dns_name_seen) {
                    return;
                }
            }
            if let CheckerKind::UdpCheck(u) = &mut kind {
                if b.udp_stmt(&st, u) {
                    return;
                }
            }
            b.checker_stmt(st, block, &mut kind, &mut c)
        });
        match &kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.url.is_empty() => {
                self.err(
                    s.keyword.pos,
                    format!("{kind_kw} has no url {{ path ... }}"),
                );
            }
            CheckerKind::MiscCheck(m) if m.misc_path.is_empty() => {
                self.err(s.keyword.pos, "MISC_CHECK has no misc_path");
            }
            // keepalived warns the same and runs the check, which fails.
            CheckerKind::UdpCheck(u)
                if u.reply_data.is_some() && u.min_reply_length > u.max_reply_length =>
            {
                self.warn(
                    s.keyword.pos,
                    format!(
                        "UDP_CHECK min_reply_length {} > max_reply_length {}: the check will always fail",
                        u.min_reply_length, u.max_reply_length
                    ),
                );
            }
            _ => {}
        }
        if let CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) = &mut kind {
            h.url.shrink_to_fit();
        }
        c.kind = kind;
        Some(c)
    }

    pub(super) fn checker_stmt(
        &mut self,
        st: Stmt,
        block: Block,
        kind: &mut CheckerKind,
        c: &mut RawChecker,
    ) {
        let kw = self.alias(&st, block);
        // inhibit_on_failure and smtp_alert belong to real servers; a
        // virtualhost only means something to the HTTP checkers.
        // keepalived 2.2.7 refuses connect_timeout in MISC_CHECK (its
        // misc_timeout bounds the script).
        let not_here = matches!(kw.as_str(), "inhibit_on_failure" | "smtp_alert")
            || (kw == "virtualhost"
                && matches!(
                    block,
                    Block::MiscCheck
                        | Block::TcpCheck
                        | Block::PingCheck
                        | Block::DnsCheck
                        | Block::SmtpCheck
                        | Block::SmtpHost
                        | Block::UdpCheck
                ))
            || (kw == "connect_timeout" && block == Block::MiscCheck);
        if !not_here && self.inherit_stmt(&kw, &st, &mut c.inh) {
            return;
        }
        match (kw.as_str(), kind) {
            ("connect_ip", _) => c.connect_ip = self.ip(&st),
            ("connect_port", _) => c.connect_port = self.port(&st),
            ("bindto", _) => c.bindto = self.ip(&st),
            ("bind_port", _) => c.bind_port = self.port(&st),
            ("bind_if", _) => c.bind_if = self.string(&st),
            ("fwmark", _) => c.fwmark = self.int_in(&st, 1, i64::from(u32::MAX)).map(|v| v as u32),
            ("log_all_failures", _) => c.log_all_failures = self.flag(&st),
            ("url", CheckerKind::HttpGet(h) | CheckerKind::SslGet(h)) => {
                if let Some(u) = self.url(&st) {
                    h.url.push(u);
                }
            }
            ("http_protocol", CheckerKind::HttpGet(h) | CheckerKind::SslGet(h)) => {
                if let Some(w) = self.one(&st, "1.0, 1.0C or 1.1") {
                    match w.text.as_str() {
                        "1.0" => h.http_protocol = HttpProtocol::Http10,
                        "1.0C" | "1.0c" => h.http_protocol = HttpProtocol::Http10Close,
                        "1.1" => h.http_protocol = HttpProtocol::Http11,
                        _ => self.err(
                            w.pos,
                            format!("http_protocol expects 1.0, 1.0C or 1.1, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            ("fast_recovery", CheckerKind::HttpGet(h) | CheckerKind::SslGet(h)) => {
                h.fast_recovery = self.flag(&st)
            }
            ("enable_sni", CheckerKind::SslGet(h)) => h.enable_sni = self.flag(&st),
            // keepalived reads it in HTTP_GET too, where there is no TLS.
            ("enable_sni", CheckerKind::HttpGet(_)) => {
                self.flag(&st);
                self.warn(
                    st.keyword.pos,
                    "enable_sni has no effect in HTTP_GET (no TLS); it is for SSL_GET",
                );
            }
            ("misc_path", CheckerKind::MiscCheck(m)) => {
                if let [first, extra, ..] = st.args.as_slice() {
                    let does = format!(
                        "keepalived 2.2.7 would run {} without the words after it",
                        first.text
                    );
                    self.unquoted_command(&st, extra, &does);
                    // Only this error: not also "no misc_path".
                    m.misc_path = first.text.clone();
                } else if let Some(v) = self.string(&st) {
                    m.misc_path = v;
                }
            }
            ("misc_timeout", CheckerKind::MiscCheck(_)) => {
                if let Some(v) = self.timer(&st) {
                    c.misc_timeout = Some(v);
                }
            }
            ("misc_dynamic", CheckerKind::MiscCheck(m)) => m.misc_dynamic = self.flag(&st),
            ("user", CheckerKind::MiscCheck(m)) => m.user = self.script_user(&st),
            _ => self.unknown(block, &st),
        }
    }

    /// `type` and `name` of a `DNS_CHECK`; false for any other keyword.
    fn dns_stmt(&mut self, st: &Stmt, d: &mut DnsCheck, name_seen: &mut bool) -> bool {
        match st.keyword.text.as_str() {
            "type" => {
                if let Some(w) = self.one(st, "a DNS query type") {
                    match DnsType::from_word(&w.text) {
                        Some(t) => d.qtype = t,
                        None => {
                            let known: Vec<&str> =
                                DnsType::ALL.iter().map(|(_, n, _)| *n).collect();
                            self.err(
                                w.pos,
                                format!(
                                    "unknown DNS_CHECK type \"{}\" (one of {})",
                                    w.text,
                                    known.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
            "name" => {
                let Some(w) = self.one(st, "a domain name") else {
                    return true;
                };
                if *name_seen {
                    self.err(st.keyword.pos, "DNS_CHECK name already specified");
                } else if let Some(why) = dns_name_problem(&w.text) {
                    self.err(w.pos, format!("DNS_CHECK name \"{}\" {why}", w.text));
                } else {
                    d.name = w.text.clone();
                }
                *name_seen = true;
            }
            _ => return false,
        }
        true
    }

    fn url(&mut self, s: &Stmt) -> Option<Url> {
        if !self.need_block(s) {
            return None;
        }
        let mut u = Url {
            path: String::new(),
            digest: None,
            status_code: Vec::new(),
            virtualhost: None,
            regex: None,
        };
        let mut has_path = false;
        let mut regex = RawRegex::default();
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            _ if b.url_regex_keyword(&st, &mut regex) => {}
            "path" => {
                if let Some(p) = b.string(&st) {
                    u.path = p;
                    has_path = true;
                }
            }
            "digest" => {
                if let Some(w) = b.one(&st, "an MD5 digest (32 hex digits)") {
                    match Md5Digest::from_hex(&w.text) {
                        Some(d) => u.digest = Some(d),
                        None => b.err(
                            w.pos,
                            format!("digest expects 32 hex digits (an MD5 sum from genhash), not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "status_code" => {
                b.no_block(&st);
                if st.args.is_empty() {
                    b.err(st.keyword.pos, "\"status_code\" needs a code or range (e.g. 200 or 200-299)");
                }
                for w in &st.args {
                    let parsed = match w.text.split_once('-') {
                        Some((a, z)) => a.parse::<u16>().ok().zip(z.parse::<u16>().ok()),
                        None => w.text.parse::<u16>().ok().map(|v| (v, v)),
                    };
                    match parsed {
                        Some((a, z)) if (100..=599).contains(&a) && (100..=599).contains(&z) && a <= z => {
                            u.status_code.push(StatusRange { first: a, last: z });
                        }
                        _ => b.err(
                            w.pos,
                            format!("status_code expects HTTP status codes 100-599 or ranges like 200-299, not \"{}\"", w.text),
                        ),
                    }
                }
            }
            "virtualhost" => u.virtualhost = b.string(&st),
            _ => b.unknown(Block::Url, &st),
        });
        u.regex = self.finish_url_regex(regex);
        if !has_path {
            self.err(s.keyword.pos, "url has no \"path\"");
            return None;
        }
        if u.status_code.is_empty() {
            u.status_code.push(StatusRange {
                first: 200,
                last: 299,
            });
        }
        u.status_code.shrink_to_fit();
        Some(u)
    }
}

/// The block and the empty checker a checker keyword opens, with
/// keepalived's defaults for its own options.
fn empty_checker(keyword: &str) -> (Block, CheckerKind) {
    match keyword {
        "HTTP_GET" => (Block::HttpGet, CheckerKind::HttpGet(HttpGet::default())),
        "SSL_GET" => (Block::SslGet, CheckerKind::SslGet(HttpGet::default())),
        "TCP_CHECK" => (Block::TcpCheck, CheckerKind::TcpCheck),
        "PING_CHECK" => (Block::PingCheck, CheckerKind::PingCheck),
        "UDP_CHECK" => (
            Block::UdpCheck,
            CheckerKind::UdpCheck(UdpCheck {
                payload: None,
                require_reply: false,
                reply_data: None,
                reply_mask: None,
                min_reply_length: 0,
                max_reply_length: 255,
            }),
        ),
        "DNS_CHECK" => (
            Block::DnsCheck,
            CheckerKind::DnsCheck(DnsCheck {
                qtype: DnsType::default(),
                name: String::new(),
            }),
        ),
        _ => (
            Block::MiscCheck,
            CheckerKind::MiscCheck(MiscCheck {
                misc_path: String::new(),
                misc_timeout: Duration::ZERO,
                misc_dynamic: false,
                user: None,
            }),
        ),
    }
}

/// Why `name` cannot be sent as a DNS question (RFC 1035 §2.3.4), if it
/// cannot: keepalived refuses empty labels; a label over 63 octets or a
/// name over 253 would not fit the wire format either.
fn dns_name_problem(name: &str) -> Option<&'static str> {
    if name == "." || name.is_empty() {
        return None;
    }
    let labels: Vec<&str> = name.strip_suffix('.').unwrap_or(name).split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        Some("has an empty label")
    } else if labels.iter().any(|l| l.len() > 63) {
        Some("has a label longer than 63 characters")
    } else if name.len() > 253 {
        Some("is longer than 253 characters")
    } else {
        None
    }
}

/// A checker with its defaults and what it inherits from its real server
/// (and, through it, its virtual server): keepalived's defaults differ by
/// kind of check.
pub(super) fn resolve_checker(rc: RawChecker, rs: &RealServer, rs_inh: &Inherit) -> Checker {
    let inh = rc.inh.over(rs_inh);
    let delay_loop = inh.delay_loop.unwrap_or(Duration::from_secs(60));
    let mut kind = rc.kind;
    let (retry_default, dbr_default) = match &kind {
        CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => (1, Duration::from_secs(3)),
        CheckerKind::MiscCheck(_) => (0, Duration::from_secs(1)),
        CheckerKind::TcpCheck
        | CheckerKind::SmtpCheck(_)
        | CheckerKind::UdpCheck(_)
        | CheckerKind::PingCheck => (1, Duration::from_secs(1)),
        // check_dns.c: 3 retries, and delay_before_retry defaults to the
        // delay_loop.
        CheckerKind::DnsCheck(_) => (3, delay_loop),
        // Not used: the session's timers decide.
        CheckerKind::BfdCheck(_) => (0, Duration::ZERO),
    };
    match &mut kind {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => {
            for u in &mut h.url {
                if u.virtualhost.is_none() {
                    u.virtualhost = inh.virtualhost.clone();
                }
            }
        }
        CheckerKind::MiscCheck(m) => {
            m.misc_timeout = rc.misc_timeout.unwrap_or(delay_loop);
        }
        CheckerKind::TcpCheck
        | CheckerKind::DnsCheck(_)
        | CheckerKind::SmtpCheck(_)
        | CheckerKind::UdpCheck(_)
        | CheckerKind::PingCheck
        | CheckerKind::BfdCheck(_) => {}
    }
    Checker {
        kind,
        connect_ip: rc.connect_ip.unwrap_or(rs.address),
        connect_port: rc.connect_port.unwrap_or(rs.port),
        bindto: rc.bindto,
        bind_port: rc.bind_port,
        bind_if: rc.bind_if,
        fwmark: rc.fwmark,
        connect_timeout: inh.connect_timeout.unwrap_or(Duration::from_secs(5)),
        retry: inh.retry.unwrap_or(retry_default),
        delay_before_retry: inh.delay_before_retry.unwrap_or(dbr_default),
        warmup: inh.warmup.unwrap_or(delay_loop),
        delay_loop,
        alpha: inh.alpha.unwrap_or(false),
        log_all_failures: rc.log_all_failures,
        origin: rc.origin,
    }
}
