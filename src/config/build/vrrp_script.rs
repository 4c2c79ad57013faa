//! `vrrp_script NAME { ... }`: a command whose exit status VRRP
//! instances and sync groups track.
//!
//! Owns: the meaning of each vrrp_script keyword and its defaults. May
//! not: check who tracks the script (validate does).

use std::time::Duration;

use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;

impl Builder {
    pub(super) fn vrrp_script(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut sc = VrrpScript {
            name: name.clone().unwrap_or_default(),
            script: String::new(),
            interval: Duration::from_secs(1),
            timeout: Duration::ZERO,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
            origin: self.origin(s.keyword.pos),
        };
        let mut timeout = None;
        let mut has_script = false;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "script" => {
                if let [first, extra, ..] = st.args.as_slice() {
                    let does = format!(
                        "keepalived 2.2.7 would run {} without the words after it",
                        first.text
                    );
                    b.unquoted_command(&st, extra, &does);
                    has_script = true;
                } else if let Some(v) = b.string(&st) {
                    sc.script = v;
                    has_script = true;
                }
            }
            "interval" => {
                if let Some(v) = b.timer(&st) {
                    if v.is_zero() {
                        b.err(st.args[0].pos, "interval must be more than 0");
                    } else {
                        sc.interval = v;
                    }
                }
            }
            "timeout" => {
                if let Some(v) = b.timer(&st) {
                    timeout = Some(v);
                }
            }
            "weight" => {
                b.no_block(&st);
                if let Some(args) = b.args_range(&st, 1, 2, "a number (-253..253)") {
                    if let Some(v) = b.int_word("weight", &args[0], -253, 253) {
                        sc.weight = v as i32;
                    }
                    if let Some(r) = args.get(1) {
                        if r.text == "reverse" {
                            sc.weight_reverse = true;
                        } else {
                            b.err(r.pos, format!("expected \"reverse\", not \"{}\"", r.text));
                        }
                    }
                }
            }
            "rise" => {
                if let Some(v) = b.int_in(&st, 1, 1_000_000) {
                    sc.rise = v as u32;
                }
            }
            "fall" => {
                if let Some(v) = b.int_in(&st, 1, 1_000_000) {
                    sc.fall = v as u32;
                }
            }
            "user" => sc.user = b.script_user(&st),
            "init_fail" => {
                b.bare(&st);
                sc.init_fail = true;
            }
            _ => b.unknown(Block::VrrpScript, &st),
        });
        if !has_script {
            self.warn(
                s.keyword.pos,
                format!(
                    "vrrp_script {} has no \"script\": dropped, with the track_script entries that name it, as keepalived 2.2.7 drops them",
                    name.as_deref().unwrap_or("")
                ),
            );
        }
        sc.timeout = timeout.unwrap_or(sc.interval);
        if name.is_some() {
            self.scripts.push((sc, has_script));
        }
    }
}
