//! Reading a statement's arguments: counts, numbers in a range, timers,
//! booleans, addresses, ports, names, script commands and word lists.
//!
//! Owns: checking one statement's words against what its keyword takes,
//! with the error at the offending word. May not: store anything in the
//! builder; the block readers decide where a value goes.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::values::{parse_bool_word, parse_ip, parse_timer};

impl Builder {
    /// Exactly `n` arguments (extra ones are reported); the first `n`.
    pub(super) fn args<'a>(&mut self, s: &'a Stmt, n: usize, what: &str) -> Option<&'a [Word]> {
        self.args_range(s, n, n, what)
    }

    pub(super) fn args_range<'a>(
        &mut self,
        s: &'a Stmt,
        min: usize,
        max: usize,
        what: &str,
    ) -> Option<&'a [Word]> {
        if s.args.len() < min {
            let kw = &s.keyword.text;
            let msg = format!("\"{kw}\" needs {what}");
            self.err(s.keyword.pos, msg);
            return None;
        }
        if let Some(extra) = s.args.get(max) {
            let kw = &s.keyword.text;
            let msg = format!("unexpected \"{}\" after \"{kw}\"", extra.text);
            self.err(extra.pos, msg);
        }
        Some(&s.args[..s.args.len().min(max)])
    }

    pub(super) fn one<'a>(&mut self, s: &'a Stmt, what: &str) -> Option<&'a Word> {
        self.no_block(s);
        self.args(s, 1, what).and_then(|a| a.first())
    }

    pub(super) fn string(&mut self, s: &Stmt) -> Option<String> {
        self.one(s, "a value").map(|w| w.text.clone())
    }

    pub(super) fn int_in(&mut self, s: &Stmt, lo: i64, hi: i64) -> Option<i64> {
        let w = self.one(s, "a number")?;
        self.int_word(&s.keyword.text, w, lo, hi)
    }

    pub(super) fn int_word(&mut self, kw: &str, w: &Word, lo: i64, hi: i64) -> Option<i64> {
        let digits = w.text.strip_prefix('-').unwrap_or(&w.text);
        let huge = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        match w.text.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            Ok(_) => {
                self.err(
                    w.pos,
                    format!("{kw} {} is out of range ({lo}-{hi})", w.text),
                );
                None
            }
            Err(_) if huge => {
                self.err(
                    w.pos,
                    format!("{kw} {} is out of range ({lo}-{hi})", w.text),
                );
                None
            }
            Err(_) => {
                self.err(
                    w.pos,
                    format!("{kw} expects a whole number, not \"{}\"", w.text),
                );
                None
            }
        }
    }

    pub(super) fn u32_val(&mut self, s: &Stmt) -> Option<u32> {
        self.int_in(s, 0, i64::from(u32::MAX)).map(|v| v as u32)
    }

    pub(super) fn timer(&mut self, s: &Stmt) -> Option<Duration> {
        let w = self.one(s, "a time in seconds")?;
        self.timer_word(&s.keyword.text, w)
    }

    pub(super) fn timer_word(&mut self, kw: &str, w: &Word) -> Option<Duration> {
        let t = parse_timer(&w.text);
        if t.is_none() {
            self.err(
                w.pos,
                format!(
                    "{kw} expects a time in seconds (e.g. 3 or 0.5), not \"{}\"",
                    w.text
                ),
            );
        }
        t
    }

    /// `KEYWORD [BOOL]`: no argument means yes.
    pub(super) fn flag(&mut self, s: &Stmt) -> bool {
        self.no_block(s);
        let Some(args) = self.args_range(s, 0, 1, "") else {
            return true;
        };
        match args.first() {
            None => true,
            Some(w) => match parse_bool_word(&w.text) {
                Some(b) => b,
                None => {
                    let msg = format!(
                        "{} expects on|off|true|false|yes|no, not \"{}\" (keepalived 2.2.7 would report it too and ignore the line)",
                        s.keyword.text, w.text
                    );
                    self.err(w.pos, msg);
                    true
                }
            },
        }
    }

    /// A keyword with no argument.
    pub(super) fn bare(&mut self, s: &Stmt) {
        self.no_block(s);
        self.args(s, 0, "");
    }

    /// A socket-address word (a source, peer, server, group or checker
    /// address). keepalived reads those through one function that drops a
    /// `/prefix` or `-range` tail before parsing (`mcast_src_ip
    /// 192.0.2.1/24` is its 192.0.2.1), so tandem reads the same address;
    /// unlike keepalived, it says the tail was dropped. Addresses and
    /// routes (`ip_word`) keep their prefixes meaningful and strict.
    pub(super) fn sock_ip_word(&mut self, kw: &str, w: &Word) -> Option<IpAddr> {
        if let Some(cut) = w.text.find(['/', '-']).filter(|&i| i > 0) {
            let (addr, tail) = w.text.split_at(cut);
            if let Some(ip) = parse_ip(addr) {
                self.warn(
                    w.pos,
                    format!(
                        "{kw} {}: the \"{tail}\" after the address is ignored (keepalived ignores it too); write {addr}",
                        w.text
                    ),
                );
                return Some(ip);
            }
        }
        self.ip_word(kw, w)
    }

    pub(super) fn ip_word(&mut self, kw: &str, w: &Word) -> Option<IpAddr> {
        let ip = parse_ip(&w.text);
        if ip.is_none() {
            self.err(
                w.pos,
                format!("{kw} expects an IP address, not \"{}\"", w.text),
            );
        }
        ip
    }

    pub(super) fn ip(&mut self, s: &Stmt) -> Option<IpAddr> {
        let w = self.one(s, "an IP address")?;
        self.sock_ip_word(&s.keyword.text, w)
    }

    pub(super) fn port_word(&mut self, kw: &str, w: &Word) -> Option<u16> {
        self.int_word(kw, w, 0, 65535).map(|v| v as u16)
    }

    pub(super) fn port(&mut self, s: &Stmt) -> Option<u16> {
        let w = self.one(s, "a port number")?;
        self.port_word(&s.keyword.text, w)
    }

    /// A command with arguments written without quotes: keepalived takes
    /// only the first word as the command (the next ones as `USER
    /// [GROUP]`, or nothing), so the words after it would be lost. Say how
    /// to write it, and what keepalived would have run.
    pub(super) fn unquoted_command(&mut self, s: &Stmt, extra: &Word, keepalived_does: &str) {
        let kw = &s.keyword.text;
        let line: Vec<&str> = s.args.iter().map(|w| w.text.as_str()).collect();
        let msg = format!(
            "unexpected \"{}\" after \"{kw}\": a command with arguments is one quoted word, {kw} \"{}\" ({keepalived_does})",
            extra.text,
            line.join(" ")
        );
        self.err(extra.pos, msg);
    }

    /// `notify_* SCRIPT [USER [GROUP]]`.
    pub(super) fn notify_script(&mut self, s: &Stmt) -> Option<NotifyScript> {
        self.no_block(s);
        // A user name has no `/`, so `notify_master /bin/sh /x.sh` is a
        // command that lost its quotes, as is anything past USER GROUP.
        let unquoted = s.args.len() > 3 || s.args.get(1).is_some_and(|u| u.text.contains('/'));
        if unquoted && s.args.len() > 1 {
            let does = format!(
                "keepalived 2.2.7 would take \"{}\" for the user to run it as, and not run the script",
                s.args[1].text
            );
            self.unquoted_command(s, &s.args[1], &does);
            return None;
        }
        let args = self.args_range(s, 1, 3, "a script")?;
        let command = args[0].text.clone();
        if command.trim().is_empty() {
            self.err(
                args[0].pos,
                format!("{} has an empty script", s.keyword.text),
            );
            return None;
        }
        let user = args.get(1).map(|u| ScriptUser {
            user: u.text.clone(),
            group: args.get(2).map(|g| g.text.clone()),
            origin: self.origin(u.pos),
        });
        let origin = self.origin(s.keyword.pos);
        Some(NotifyScript {
            command,
            user,
            origin,
        })
    }

    pub(super) fn script_user(&mut self, s: &Stmt) -> Option<ScriptUser> {
        self.no_block(s);
        let args = self.args_range(s, 1, 2, "a user name")?;
        Some(ScriptUser {
            user: args[0].text.clone(),
            group: args.get(1).map(|g| g.text.clone()),
            origin: self.origin(args[0].pos),
        })
    }

    /// A block of words (names, e-mail addresses).
    pub(super) fn word_list(&mut self, s: &Stmt) -> Vec<Word> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        // Like keepalived, every word of the block is an entry, whether
        // one per line or several on a line.
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            out.push(st.keyword);
            out.extend(st.args);
        });
        out
    }

    pub(super) fn name_arg(&mut self, s: &Stmt) -> Option<String> {
        let kw = s.keyword.text.clone();
        match s.args.first() {
            Some(w) => {
                if let Some(extra) = s.args.get(1) {
                    let msg = format!("unexpected \"{}\" after {kw} {}", extra.text, w.text);
                    self.err(extra.pos, msg);
                }
                Some(w.text.clone())
            }
            None => {
                self.err(s.keyword.pos, format!("\"{kw}\" needs a name"));
                None
            }
        }
    }
}
