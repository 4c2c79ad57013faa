//! `track_file NAME { ... }` (and the older `vrrp_track_file`), the
//! `track_file { NAME [weight W [reverse|noreverse]] }` entries of
//! vrrp_instance and vrrp_sync_group, and `FILE_CHECK` in real_server.
//!
//! Read as keepalived 2.2.7 reads them (`track_file.c`, `check_file.c`),
//! but where keepalived reports a problem and ignores the line (a second
//! `file`, an unknown name, a weight out of range), tandem refuses the
//! file: an ignored tracker would silently change which node is master.
//! keepalived finds a track_file only when its block comes before the
//! entry that names it; so does tandem, and it says so when the block
//! comes later.
//!
//! Owns: the meaning of those keywords, and the weights keepalived allows
//! in a sync group member or an address owner. May not: read the file
//! (the daemon does, at start).

use crate::config::keywords::{self, Block};
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;

/// keepalived's bound for the weight of a track_file and of a VRRP entry.
const VRRP_WEIGHT: i64 = 254;
/// keepalived's bound for the weight of a FILE_CHECK (IPVS_WEIGHT_LIMIT).
const CHECK_WEIGHT: i64 = i32::MAX as i64;

impl Builder {
    /// `track_file NAME { ... }` at the top level; `vrrp_track_file` is
    /// its deprecated spelling.
    pub(super) fn track_file_block(&mut self, s: &Stmt) {
        if s.keyword.text == "vrrp_track_file" {
            self.warn(
                s.keyword.pos,
                "\"vrrp_track_file\" is deprecated; use \"track_file\"",
            );
        }
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut tf = TrackFile {
            name: name.clone().unwrap_or_default(),
            file: String::new(),
            weight: 1,
            weight_reverse: false,
            init_file: None,
            origin: self.origin(s.keyword.pos),
        };
        let mut file_at: Option<Pos> = None;
        let mut weight_at: Option<Pos> = None;
        self.block(s, &mut |b, st| match st.keyword.text.as_str() {
            "file" => {
                if let Some(first) = file_at {
                    b.already(&st, "file", first);
                } else if let Some(v) = b.string(&st) {
                    tf.file = v;
                    file_at = Some(st.keyword.pos);
                }
            }
            "weight" => {
                if let Some(first) = weight_at {
                    b.already(&st, "weight", first);
                } else {
                    weight_at = Some(st.keyword.pos);
                    b.track_file_weight(&st, &mut tf);
                }
            }
            "init_file" => {
                b.no_block(&st);
                tf.init_file = Some(b.init_file(&st));
            }
            _ => b.unknown(Block::TrackFile, &st),
        });
        let Some(name) = name else { return };
        if file_at.is_none() {
            self.err(
                s.keyword.pos,
                format!("track_file {name} has no \"file\" (keepalived ignores such a block)"),
            );
            return;
        }
        if let Some(first) = self.track_files.iter().find(|t| t.name == name) {
            let msg = format!(
                "track_file {name} is already defined at {}; keepalived uses the first",
                first.origin
            );
            self.err(s.keyword.pos, msg);
            return;
        }
        self.track_files.push(tf);
    }

    /// A second `file` or `weight`: keepalived keeps the first one.
    pub(super) fn already(&mut self, st: &Stmt, kw: &str, first: Pos) {
        let msg = format!(
            "\"{kw}\" is already set at line {}; keepalived keeps the first and ignores this one",
            first.line
        );
        self.err(st.keyword.pos, msg);
        self.skip(st);
    }

    /// `weight W [reverse]` in a track_file block.
    fn track_file_weight(&mut self, st: &Stmt, tf: &mut TrackFile) {
        self.no_block(st);
        let Some(args) = self.args_range(st, 1, 2, "a number (-254..254)") else {
            return;
        };
        if let Some(v) = self.int_word("weight", &args[0], -VRRP_WEIGHT, VRRP_WEIGHT) {
            tf.weight = v as i32;
        }
        if let Some(r) = args.get(1) {
            if r.text == "reverse" {
                tf.weight_reverse = true;
            } else {
                self.err(r.pos, format!("expected \"reverse\", not \"{}\"", r.text));
            }
        }
    }

    /// `init_file [VALUE] [overwrite]`, the words in any order.
    fn init_file(&mut self, st: &Stmt) -> InitFile {
        let mut init = InitFile {
            value: 0,
            overwrite: false,
        };
        for w in &st.args {
            let numeric = w.text.starts_with(|c: char| c.is_ascii_digit() || c == '-');
            if numeric {
                let lo = i64::from(i32::MIN);
                let Some(v) = self.int_word("init_file", w, lo, i64::from(i32::MAX)) else {
                    continue;
                };
                if !(-VRRP_WEIGHT..=VRRP_WEIGHT).contains(&v) {
                    let msg = format!(
                        "init_file {v} is outside the range a VRRP priority can use (-254..254); \
                         written as it is (keepalived warns too)"
                    );
                    self.warn(w.pos, msg);
                }
                init.value = v as i32;
            } else if w.text == "overwrite" {
                init.overwrite = true;
            } else {
                let msg = format!(
                    "unexpected \"{}\" after init_file; expected a number or \"overwrite\"",
                    w.text
                );
                self.err(w.pos, msg);
            }
        }
        init
    }

    /// The track_file called by `w`, if its block came before; otherwise
    /// an error (unknown, with a suggestion, or defined too late) is
    /// reported once the whole file is read.
    fn known_track_file(&mut self, w: &Word, who: &str) -> Option<TrackFile> {
        let found = self.track_files.iter().find(|t| t.name == w.text).cloned();
        if found.is_none() {
            self.unresolved_track_files
                .push((w.clone(), who.to_string()));
        }
        found
    }

    /// `track_file { NAME [weight W [reverse|noreverse]] ... }` in
    /// `who` (a vrrp_instance or vrrp_sync_group), appended to `list`.
    pub(super) fn track_file_entries(
        &mut self,
        s: &Stmt,
        who: &str,
        list: &mut Vec<TrackFileEntry>,
    ) {
        if !self.need_block(s) {
            return;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            let Some(tf) = b.known_track_file(&st.keyword, who) else {
                return;
            };
            let Some((weight, reverse)) = b.entry_weight(&st, VRRP_WEIGHT) else {
                return;
            };
            if let Some(first) = list.iter().find(|e| e.name == tf.name) {
                let msg = format!(
                    "{who}: track_file {} is already tracked at {}; keepalived ignores this entry",
                    tf.name, first.origin
                );
                b.err(st.keyword.pos, msg);
                return;
            }
            list.push(TrackFileEntry {
                name: tf.name.clone(),
                weight: weight.unwrap_or(tf.weight),
                reverse: reverse.unwrap_or(tf.weight_reverse),
                origin: b.origin(st.keyword.pos),
            });
        });
    }

    /// `[weight W [reverse|noreverse]]` after a tracked file's name, as
    /// keepalived reads it (`weight` first, then the direction). `None`
    /// when the words are wrong (reported).
    pub(super) fn entry_weight(
        &mut self,
        st: &Stmt,
        bound: i64,
    ) -> Option<(Option<i32>, Option<bool>)> {
        let args = &st.args;
        let Some(first) = args.first() else {
            return Some((None, None));
        };
        if first.text != "weight" {
            let msg = format!(
                "unexpected \"{}\" after {}; expected \"weight N\"",
                first.text, st.keyword.text
            );
            self.err(first.pos, msg);
            return None;
        }
        let Some(v) = args.get(1) else {
            self.err(first.pos, "\"weight\" needs a number");
            return None;
        };
        let weight = self.int_word("weight", v, -bound, bound)? as i32;
        let reverse = match args.get(2).map(|w| w.text.as_str()) {
            None => None,
            Some("reverse") => Some(true),
            Some("noreverse") => Some(false),
            Some(other) => {
                let msg = format!("expected \"reverse\" or \"noreverse\", not \"{other}\"");
                self.err(args[2].pos, msg);
                return None;
            }
        };
        if let Some(extra) = args.get(3) {
            let msg = format!("unexpected \"{}\" after the weight", extra.text);
            self.err(extra.pos, msg);
            return None;
        }
        Some((Some(weight), reverse))
    }

    /// `FILE_CHECK { track_file NAME; weight W [reverse|noreverse] }`.
    pub(super) fn file_check(&mut self, s: &Stmt) -> Option<FileCheck> {
        if !self.need_block(s) {
            return None;
        }
        let mut file: Option<TrackFile> = None;
        let mut named = false;
        let mut weight: Option<(i32, Option<bool>)> = None;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "track_file" => {
                if let Some(w) = b.one(&st, "the name of a track_file") {
                    named = true;
                    file = b.known_track_file(w, "FILE_CHECK");
                }
            }
            "weight" => {
                b.no_block(&st);
                let mut words = vec![st.keyword.clone()];
                words.extend(st.args.iter().cloned());
                let probe = Stmt {
                    args: words,
                    ..st.clone()
                };
                if let Some((Some(w), r)) = b.entry_weight(&probe, CHECK_WEIGHT) {
                    weight = Some((w, r));
                }
            }
            _ => b.unknown(Block::FileCheck, &st),
        });
        if !named {
            self.err(
                s.keyword.pos,
                "FILE_CHECK has no \"track_file\" (keepalived ignores such a checker)",
            );
        }
        let tf = file?;
        let (weight, reverse) = match weight {
            Some((w, r)) => (w, r.unwrap_or(false)),
            None => (tf.weight, tf.weight_reverse),
        };
        Some(FileCheck {
            track_file: tf.name,
            weight,
            reverse,
            origin: self.origin(s.keyword.pos),
        })
    }

    /// Once the whole file is read: the entries that named a track_file
    /// no block defined before them.
    pub(super) fn report_unresolved_track_files(&mut self) {
        for (w, who) in std::mem::take(&mut self.unresolved_track_files) {
            let defined: Vec<(&str, &Origin)> = self
                .track_files
                .iter()
                .map(|t| (t.name.as_str(), &t.origin))
                .collect();
            let msg = unresolved_block(&who, "track_file", &w.text, &defined);
            self.err(w.pos, msg);
        }
    }

    /// keepalived allows only weight 0 on the track_file entries of a
    /// sync group member or an address owner: a weight of 1 (the default)
    /// becomes 0 with a warning, another weight is refused (keepalived
    /// drops the entry). A sync group with an owner among its members has
    /// its own entries set to weight 0, with a warning.
    pub(super) fn restrict_track_file_weights(
        &mut self,
        groups: &mut [VrrpSyncGroup],
        instances: &mut [VrrpInstance],
    ) {
        for vi in instances.iter_mut() {
            // sync_group_tracking_weight lets the member's weights count.
            let group = groups
                .iter()
                .find(|g| g.group.contains(&vi.name))
                .filter(|g| !g.sync_group_tracking_weight);
            let why = match group {
                Some(g) => format!("is in vrrp_sync_group {}", g.name),
                None if vi.priority == 255 => "is the address owner (priority 255)".to_string(),
                None => continue,
            };
            for e in &mut vi.track_file {
                if e.weight == 0 {
                    continue;
                }
                let o = e.origin.clone();
                if e.weight == 1 {
                    let msg = format!(
                        "vrrp_instance {}: track_file {} has weight 1, but {} {why}: keepalived uses \
                         weight 0 (a nonzero value is FAULT); write \"weight 0\" to say so",
                        vi.name, e.name, vi.name
                    );
                    self.warn_at(&o, msg);
                    e.weight = 0;
                } else {
                    let msg = format!(
                        "vrrp_instance {}: track_file {} has weight {}, but {} {why}: keepalived \
                         ignores this entry; use \"weight 0\" (or track the file in the sync group)",
                        vi.name, e.name, e.weight, vi.name
                    );
                    self.err_at(&o, msg);
                }
            }
        }
        for g in groups.iter_mut() {
            let owner = instances
                .iter()
                .any(|i| i.priority == 255 && g.group.contains(&i.name));
            if !owner {
                continue;
            }
            for e in g.track_file.iter_mut().filter(|e| e.weight != 0) {
                let o = e.origin.clone();
                let msg = format!(
                    "vrrp_sync_group {}: track_file {} has weight {}, but a member is the address \
                     owner (priority 255): keepalived uses weight 0 (a nonzero value is FAULT)",
                    g.name, e.name, e.weight
                );
                self.warn_at(&o, msg);
                e.weight = 0;
            }
        }
    }
}

/// The error for an entry naming a block (`track_file`,
/// `vrrp_track_process`) that no block defined before it: keepalived
/// resolves names as it reads, so a block defined later is missed too.
/// `defined`: every block of that kind, (name, where).
pub(super) fn unresolved_block(
    who: &str,
    kind: &str,
    name: &str,
    defined: &[(&str, &Origin)],
) -> String {
    if let Some((_, origin)) = defined.iter().find(|(n, _)| *n == name) {
        return format!(
            "{who}: {kind} {name} is defined only later, at {origin}; keepalived finds a {kind} \
             only when its block comes first (it would ignore this entry): move the block up"
        );
    }
    match keywords::suggest(name, defined.iter().map(|(n, _)| *n)) {
        Some(m) => format!("{who}: no {kind} named \"{name}\"; did you mean \"{m}\"?"),
        None => format!("{who}: no {kind} named \"{name}\""),
    }
}
