//! The builder's shared state and its walk over blocks.
//!
//! Owns: [`Builder`] (the statement stream, the items collected so far),
//! reporting a problem at a position, walking a block's statements, and
//! refusing a keyword a block does not read (unsupported, misplaced or
//! unknown, with a suggestion). May not: know what any particular keyword
//! means; the block readers beside it do.

use crate::config::diag::Diagnostic;
use crate::config::keywords::{self, Block};
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Item, Parser, Stmt, Word};

use super::raw::{RawGroup, RawInstance};

pub(super) struct Builder {
    pub(super) p: Parser,
    pub(super) global: GlobalDefs,
    pub(super) lower_prio_delay_set: bool,
    pub(super) lower_prio_repeat_set: bool,
    /// Where `vrrp_iptables` was written (for its note).
    pub(super) vrrp_iptables_pos: Option<Pos>,
    /// Where `vrrp_ipsets` was given, and whether it named sets.
    pub(super) vrrp_ipsets_pos: Option<(Pos, bool)>,
    /// Where `enable_traps` was written (for its note when no MIB is on).
    pub(super) enable_traps_pos: Option<Pos>,
    /// The vrrp_script blocks, each with whether it has a `script` (one
    /// without is dropped when the file is read, as keepalived drops it).
    pub(super) scripts: Vec<(VrrpScript, bool)>,
    /// The names of the vrrp_script blocks dropped for having no
    /// `script`: track_script entries naming them are dropped too.
    pub(super) dropped_scripts: Vec<String>,
    /// `track_file` blocks read so far (keepalived finds only those).
    pub(super) track_files: Vec<TrackFile>,
    /// Entries naming a track_file not defined before them, and who wrote
    /// them: reported at the end (unknown, or defined too late).
    pub(super) unresolved_track_files: Vec<(Word, String)>,
    pub(super) bfds: Vec<BfdInstance>,
    /// bfd_instance blocks dropped for want of a neighbour, by name: the
    /// track_bfd entries naming them go too.
    pub(super) dropped_bfds: Vec<String>,
    /// `vrrp_track_process` blocks read so far, and the entries naming
    /// one not defined before them (as for track files).
    pub(super) track_processes: Vec<TrackProcess>,
    pub(super) unresolved_track_processes: Vec<(Word, String)>,
    pub(super) groups: Vec<RawGroup>,
    pub(super) instances: Vec<RawInstance>,
    pub(super) vsgs: Vec<VirtualServerGroup>,
    /// Virtual servers are resolved as soon as their block ends (all
    /// their inheritance is inside the block), which keeps memory low on
    /// large configurations.
    pub(super) vss: Vec<VirtualServer>,
    /// `smtp_alert` as written (None: not given) of each virtual server
    /// and of each real server, in order: resolved against global_defs at
    /// the end, since global_defs may come later in the file.
    pub(super) vs_alert: Vec<Option<bool>>,
    pub(super) rs_alert: Vec<Option<bool>>,
    /// `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` as written.
    pub(super) fifos: super::notify_fifo::RawFifos,
    /// (sync group, member word) for the reference check at the end.
    pub(super) group_members: Vec<(String, Word)>,
    /// The next default rule preference for IPv4 and IPv6 (keepalived's
    /// counters: 16384 down, in the order rules are written).
    pub(super) next_rule_priority: [u32; 2],
    /// global_defs' `default_interface`: where a static address without
    /// `dev` goes (else keepalived's eth0).
    pub(super) default_interface: Option<String>,
    /// `static_ipaddress`, `static_routes`, `static_rules`, as read.
    pub(super) static_ipaddress: Vec<VirtualIpAddress>,
    pub(super) static_routes: Vec<VirtualRoute>,
    pub(super) static_rules: Vec<IpRule>,
    /// True while a static_* block is read: only there is `track_group`
    /// an option.
    pub(super) reading_statics: bool,
    /// The top-level `track_group NAME { group { ... } }` blocks, and each
    /// `track_group NAME` word of a static entry, for the check at the end.
    pub(super) track_groups: Vec<super::track_group::RawTrackGroup>,
    pub(super) track_group_refs: Vec<Word>,
    /// The interfaces of the instances that poll theirs
    /// (`linkbeat_use_polling`), added to the linkbeat list at the end.
    pub(super) linkbeat_of_instances: Vec<String>,
    /// The `garp_group` blocks, checked once every instance is read.
    pub(super) garp_groups: Vec<super::garp_group::RawGarpGroup>,
}

impl Builder {
    pub(super) fn origin(&self, pos: Pos) -> Origin {
        Origin {
            file: self.p.lexer.file_of(pos).clone(),
            line: pos.line,
            col: pos.col,
        }
    }

    pub(super) fn err(&mut self, pos: Pos, msg: impl Into<String>) {
        let file = self.p.lexer.file_of(pos).clone();
        self.p
            .lexer
            .diagnostics
            .push(Diagnostic::error(&file, pos.line, pos.col, msg));
    }

    pub(super) fn warn(&mut self, pos: Pos, msg: impl Into<String>) {
        let file = self.p.lexer.file_of(pos).clone();
        self.p
            .lexer
            .diagnostics
            .push(Diagnostic::warning(&file, pos.line, pos.col, msg));
    }

    /// An error at an item's recorded origin (for checks made once the
    /// whole file is read).
    pub(super) fn err_at(&mut self, o: &Origin, msg: impl Into<String>) {
        let d = Diagnostic::error(&o.file, o.line, o.col, msg);
        self.p.lexer.diagnostics.push(d);
    }

    pub(super) fn warn_at(&mut self, o: &Origin, msg: impl Into<String>) {
        let d = Diagnostic::warning(&o.file, o.line, o.col, msg);
        self.p.lexer.diagnostics.push(d);
    }

    pub(super) fn note(&mut self, pos: Pos, msg: impl Into<String>) {
        let file = self.p.lexer.file_of(pos).clone();
        self.p
            .lexer
            .diagnostics
            .push(Diagnostic::note(&file, pos.line, pos.col, msg));
    }

    /// Walk the content of the block `s` opened, calling `f` for each
    /// statement, up to its `}`.
    pub(super) fn block(&mut self, s: &Stmt, f: &mut dyn FnMut(&mut Self, Stmt)) {
        loop {
            match self.p.next_item() {
                Item::Close(_) => return,
                Item::Eof => {
                    let kw = s.keyword.text.clone();
                    self.err(
                        s.open,
                        format!(
                            "missing \"}}\": the block of \"{kw}\" opened here is never closed"
                        ),
                    );
                    return;
                }
                Item::Stmt(st) => f(self, st),
            }
        }
    }

    /// Like [`Self::block`] for blocks of keywords: a keyword given twice
    /// (other than those that add to a list) gets a warning, since the
    /// later value silently replacing the first is rarely what was meant.
    pub(super) fn kw_block(&mut self, s: &Stmt, f: &mut dyn FnMut(&mut Self, Stmt)) {
        let mut seen: Vec<(String, Pos)> = Vec::new();
        self.block(s, &mut |b, st| {
            let kw = st.keyword.text.as_str();
            let name = keywords::deprecated_alias(kw).unwrap_or(kw);
            if !keywords::REPEATABLE.contains(&name) && !keywords::KEEP_FIRST.contains(&name) {
                if let Some((_, first)) = seen.iter().find(|(k, _)| k == name) {
                    let at = if first.file == st.keyword.pos.file {
                        format!("line {}", first.line)
                    } else {
                        let o = b.origin(*first);
                        o.to_string()
                    };
                    b.warn(
                        st.keyword.pos,
                        format!("\"{name}\" is given again; this replaces the value at {at}"),
                    );
                } else {
                    seen.push((name.to_string(), st.keyword.pos));
                }
            }
            f(b, st)
        });
    }

    /// The statement must open a block; false (with an error) if not.
    pub(super) fn need_block(&mut self, s: &Stmt) -> bool {
        if !s.block {
            let kw = s.keyword.text.clone();
            self.err(
                s.keyword.pos,
                format!("\"{kw}\" needs a block: {kw} ... {{ ... }}"),
            );
        }
        s.block
    }

    /// The statement must not open a block; a block is reported and skipped.
    pub(super) fn no_block(&mut self, s: &Stmt) {
        if s.block {
            let kw = s.keyword.text.clone();
            self.err(s.open, format!("\"{kw}\" does not take a block"));
            self.skip(s);
        }
    }

    pub(super) fn skip(&mut self, s: &Stmt) {
        if s.block && !self.p.skip_block() {
            let kw = s.keyword.text.clone();
            self.err(
                s.open,
                format!("missing \"}}\": the block of \"{kw}\" opened here is never closed"),
            );
        }
    }

    /// A keyword that is not read in `block`: unsupported keepalived
    /// option, or unknown (with a suggestion). Its block is skipped.
    pub(super) fn unknown(&mut self, block: Block, s: &Stmt) {
        let kw = s.keyword.text.as_str();
        let misplaced_top = block != Block::Top
            && !block.unsupported().contains(&kw)
            && (Block::Top.supported().contains(&kw) || Block::Top.unsupported().contains(&kw));
        let msg = if let Some(new) = keywords::deprecated_alias(kw) {
            // keepalived 2.2.7 does not read it here either: it logs
            // "Unknown keyword" and runs without the line.
            format!(
                "\"{kw}\" is not read in {}: keepalived 2.2.7 would log \"Unknown keyword\" and skip the line (no {new} set); use \"{new}\"",
                block.name()
            )
        } else if block == Block::MiscCheck && kw == "connect_timeout" {
            "\"connect_timeout\" is not read in MISC_CHECK: keepalived 2.2.7 would log \"Unknown keyword\" and skip the line (no misc_timeout set); use \"misc_timeout\"".to_string()
        } else if misplaced_top {
            format!(
                "\"{kw}\" cannot be inside {}; is a \"}}\" missing before it?",
                block.name()
            )
        } else if block.unsupported().contains(&kw) {
            keywords::unsupported_message(kw)
        } else {
            let cands = block.supported().iter().chain(block.unsupported()).copied();
            match keywords::suggest(kw, cands) {
                Some(m) => format!(
                    "unknown keyword \"{kw}\" in {}; did you mean \"{m}\"?",
                    block.name()
                ),
                // keepalived 1.x samples list the members directly in
                // the sync group; keepalived 2 wants them in group { }.
                None if block == Block::VrrpSyncGroup && s.args.is_empty() && !s.block => {
                    format!(
                        "\"{kw}\" is not a vrrp_sync_group keyword; a sync group lists its vrrp_instances inside group {{ ... }}"
                    )
                }
                None => format!("unknown keyword \"{kw}\" in {}", block.name()),
            }
        };
        // keepalived logs an unknown keyword and goes on without the line
        // (and a block after it), so a file it "runs" may lose a setting
        // silently; tandem refuses, and says how little the fix costs. A
        // misspelling too: keepalived runs without what the line meant
        // (`lvs_sync_daemon_inteface`: no sync daemon at all).
        let msg = if msg.starts_with("unknown keyword") {
            let what = if s.block {
                "line and its block"
            } else {
                "line"
            };
            format!("{msg} (keepalived 2.2.7 would log it and skip the {what})")
        } else {
            msg
        };
        self.err(s.keyword.pos, msg);
        self.skip(s);
    }

    /// Warn about a deprecated alias and return the current keyword. An
    /// alias is read only in the blocks where keepalived reads it
    /// (`nb_get_retry`: HTTP_GET and SSL_GET); elsewhere it is returned
    /// as written, for [`Self::unknown`] to refuse.
    pub(super) fn alias(&mut self, s: &Stmt, block: Block) -> String {
        let kw = s.keyword.text.as_str();
        match keywords::deprecated_alias(kw) {
            Some(new) if block.supported().contains(&kw) => {
                let msg = format!("\"{kw}\" is deprecated; use \"{new}\"");
                self.warn(s.keyword.pos, msg);
                new.to_string()
            }
            _ => kw.to_string(),
        }
    }
}
