//! `vrrp_track_process NAME { ... }` and the `track_process { NAME
//! [weight W [reverse|noreverse]] }` entries of vrrp_instance and
//! vrrp_sync_group.
//!
//! Read as keepalived 2.2.7 reads them (`vrrp_parser.c`,
//! `vrrp_track.c`), in the order written (a `quorum` above an earlier
//! `quorum_max` is wrong, as keepalived finds it), but where keepalived
//! reports a problem and ignores the line, tandem refuses the file: an
//! ignored tracker silently changes which node is master. keepalived
//! finds a block only when it comes before the entry that names it; so
//! does tandem. In 2.2.7 only `vrrp_track_process` names the block at the
//! top level (`track_process` there is a keyword of later versions).
//!
//! Owns: the meaning of those keywords. May not: look at processes.

use std::time::Duration;

use crate::config::keywords::Block;
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::values::parse_timer;

/// keepalived's bound for a weight.
const WEIGHT: i64 = 254;
/// keepalived's bound for `quorum` and `quorum_max`.
const QUORUM: i64 = 65535;
/// keepalived's bound for a delay (3600 s, µs resolution).
const DELAY_MAX: Duration = Duration::from_secs(3600);

/// Where each keyword was first written (for "already set").
#[derive(Default)]
struct Seen {
    process: Option<Pos>,
    weight: Option<Pos>,
}

impl Builder {
    /// `vrrp_track_process NAME { ... }` at the top level.
    pub(super) fn track_process_block(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut tp = TrackProcess {
            name: name.clone().unwrap_or_default(),
            process: String::new(),
            params: Vec::new(),
            param_match: ParamMatch::None,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
            full_command: false,
            origin: self.origin(s.keyword.pos),
        };
        let mut seen = Seen::default();
        self.block(s, &mut |b, st| {
            b.track_process_stmt(&st, &mut tp, &mut seen)
        });
        let Some(name) = name else { return };
        if seen.process.is_none() {
            let msg = format!(
                "vrrp_track_process {name} has no \"process\" (keepalived ignores such a block)"
            );
            self.err(s.keyword.pos, msg);
            return;
        }
        if let Some(first) = self.track_processes.iter().find(|t| t.name == name) {
            let msg = format!(
                "vrrp_track_process {name} is already defined at {}; keepalived uses the first",
                first.origin
            );
            self.err(s.keyword.pos, msg);
            return;
        }
        self.track_processes.push(tp);
    }

    fn track_process_stmt(&mut self, st: &Stmt, tp: &mut TrackProcess, seen: &mut Seen) {
        match st.keyword.text.as_str() {
            "process" => {
                if let Some(first) = seen.process {
                    return self.already(st, "process", first);
                }
                self.no_block(st);
                let Some((path, params)) = st.args.split_first() else {
                    self.err(st.keyword.pos, "\"process\" needs a process name");
                    return;
                };
                seen.process = Some(st.keyword.pos);
                tp.process = path.text.clone();
                if !params.is_empty() {
                    tp.params = params.iter().map(|w| w.text.clone()).collect();
                    if tp.param_match == ParamMatch::None {
                        tp.param_match = ParamMatch::Exact;
                    }
                    tp.full_command = true;
                }
            }
            "param_match" => {
                self.no_block(st);
                let m = match st.args.first().map(|w| w.text.as_str()) {
                    None => ParamMatch::Exact,
                    Some("partial") => ParamMatch::Partial,
                    Some("initial") => ParamMatch::Initial,
                    Some(other) => {
                        let msg = format!(
                            "param_match expects nothing, \"partial\" or \"initial\", not \"{other}\""
                        );
                        return self.err(st.args[0].pos, msg);
                    }
                };
                if let Some(extra) = st.args.get(1) {
                    let msg = format!("unexpected \"{}\" after param_match", extra.text);
                    return self.err(extra.pos, msg);
                }
                tp.param_match = m;
                tp.full_command = true;
            }
            "weight" => {
                if let Some(first) = seen.weight {
                    return self.already(st, "weight", first);
                }
                seen.weight = Some(st.keyword.pos);
                self.track_process_weight(st, tp);
            }
            "quorum" => self.quorum(st, tp),
            "quorum_max" => self.quorum_max(st, tp),
            "delay" | "terminate_delay" | "fork_delay" => {
                let Some(d) = self.process_delay(st) else {
                    return;
                };
                if st.keyword.text != "fork_delay" {
                    tp.terminate_delay = d;
                }
                if st.keyword.text != "terminate_delay" {
                    tp.fork_delay = d;
                }
            }
            "full_command" => {
                self.bare(st);
                tp.full_command = true;
            }
            _ => self.unknown(Block::TrackProcess, st),
        }
    }

    /// `weight W [reverse]` in the block.
    fn track_process_weight(&mut self, st: &Stmt, tp: &mut TrackProcess) {
        self.no_block(st);
        let Some(args) = self.args_range(st, 1, 2, "a number (-254..254)") else {
            return;
        };
        if let Some(v) = self.int_word("weight", &args[0], -WEIGHT, WEIGHT) {
            tp.weight = v as i32;
        }
        if let Some(r) = args.get(1) {
            if r.text == "reverse" {
                tp.weight_reverse = true;
            } else {
                self.err(r.pos, format!("expected \"reverse\", not \"{}\"", r.text));
            }
        }
    }

    /// `quorum N` (1..65535), not above an earlier `quorum_max`.
    fn quorum(&mut self, st: &Stmt, tp: &mut TrackProcess) {
        let Some(q) = self.int_in(st, 1, QUORUM) else {
            return;
        };
        let q = q as u32;
        if q > tp.quorum_max {
            let msg = format!(
                "quorum {q} is above quorum_max {} (keepalived ignores this line)",
                tp.quorum_max
            );
            return self.err(st.keyword.pos, msg);
        }
        tp.quorum = q;
    }

    /// `quorum_max N` (0..65535), not below the quorum; 0 (with no quorum
    /// above 1) means "no such process may run", and sets the quorum to 0.
    fn quorum_max(&mut self, st: &Stmt, tp: &mut TrackProcess) {
        let Some(m) = self.int_in(st, 0, QUORUM) else {
            return;
        };
        let m = m as u32;
        if (m != 0 || tp.quorum > 1) && m < tp.quorum {
            let msg = format!(
                "quorum_max {m} is below quorum {} (keepalived ignores this line)",
                tp.quorum
            );
            return self.err(st.keyword.pos, msg);
        }
        tp.quorum_max = m;
        if m == 0 {
            tp.quorum = 0;
        } else if tp.quorum == 0 {
            tp.quorum = 1;
        }
    }

    /// A delay in seconds, 0.000001..3600.
    fn process_delay(&mut self, st: &Stmt) -> Option<Duration> {
        let w = self.one(st, "a time in seconds")?;
        match parse_timer(&w.text) {
            Some(d) if !d.is_zero() && d <= DELAY_MAX => Some(d),
            _ => {
                let msg = format!(
                    "{} expects a time in seconds from 0.000001 to 3600, not \"{}\"",
                    st.keyword.text, w.text
                );
                self.err(w.pos, msg);
                None
            }
        }
    }

    /// `track_process { NAME [weight W [reverse|noreverse]] ... }` in
    /// `who` (a vrrp_instance or vrrp_sync_group), appended to `list`.
    pub(super) fn track_process_entries(
        &mut self,
        s: &Stmt,
        who: &str,
        list: &mut Vec<TrackProcessEntry>,
    ) {
        if !self.need_block(s) {
            return;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            let Some(tp) = b.known_track_process(&st.keyword, who) else {
                return;
            };
            let Some((weight, reverse)) = b.entry_weight(&st, WEIGHT) else {
                return;
            };
            if let Some(first) = list.iter().find(|e| e.name == tp.name) {
                let msg = format!(
                    "{who}: track_process {} is already tracked at {}; keepalived ignores this entry",
                    tp.name, first.origin
                );
                return b.err(st.keyword.pos, msg);
            }
            list.push(TrackProcessEntry {
                name: tp.name.clone(),
                weight: weight.unwrap_or(tp.weight),
                reverse: reverse.unwrap_or(tp.weight_reverse),
                origin: b.origin(st.keyword.pos),
            });
        });
    }

    fn known_track_process(&mut self, w: &Word, who: &str) -> Option<TrackProcess> {
        let found = self.track_processes.iter().find(|t| t.name == w.text);
        if found.is_none() {
            self.unresolved_track_processes
                .push((w.clone(), who.to_string()));
        }
        found.cloned()
    }

    /// Once the whole file is read: the entries that named a
    /// vrrp_track_process no block defined before them.
    pub(super) fn report_unresolved_track_processes(&mut self) {
        for (w, who) in std::mem::take(&mut self.unresolved_track_processes) {
            let defined: Vec<(&str, &Origin)> = self
                .track_processes
                .iter()
                .map(|t| (t.name.as_str(), &t.origin))
                .collect();
            let msg =
                super::track_file::unresolved_block(&who, "vrrp_track_process", &w.text, &defined);
            self.err(w.pos, msg);
        }
    }

    /// keepalived sets a sync group's weighted track_process entries to
    /// weight 0 when a member is the address owner (priority 255).
    pub(super) fn restrict_track_process_weights(
        &mut self,
        groups: &mut [VrrpSyncGroup],
        instances: &[VrrpInstance],
    ) {
        for g in groups.iter_mut() {
            let owner = instances
                .iter()
                .any(|i| i.priority == 255 && g.group.contains(&i.name));
            if !owner {
                continue;
            }
            for e in g.track_process.iter_mut().filter(|e| e.weight != 0) {
                let o = e.origin.clone();
                let msg = format!(
                    "vrrp_sync_group {}: track_process {} has weight {}, but a member is the \
                     address owner (priority 255): keepalived uses weight 0 (FAULT without quorum)",
                    g.name, e.name, e.weight
                );
                self.warn_at(&o, msg);
                e.weight = 0;
            }
        }
    }
}
