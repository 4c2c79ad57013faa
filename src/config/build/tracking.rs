//! `track_script`, `track_interface` and `track_bfd` entries, shared by
//! vrrp_instance and vrrp_sync_group: `NAME [weight W [reverse|noreverse]]`.
//!
//! Owns: reading the entries, and taking an entry's weight from its
//! script or bfd_instance when it gives none. May not: check that the
//! names exist.

use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::{TrackBfdEntry, TrackEntry};

impl Builder {
    /// `track_script { NAME [weight W [reverse|noreverse]] ... }`.
    pub(super) fn track_script(&mut self, s: &Stmt) -> Vec<TrackEntry> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            let (weight, reverse) = b.track_weight(&st, -253, 253);
            out.push((
                TrackScript {
                    name: st.keyword.text.clone(),
                    weight: 0,
                    reverse: false,
                    origin: b.origin(st.keyword.pos),
                },
                weight,
                reverse,
            ));
        });
        out
    }

    /// `track_bfd { NAME [weight W [reverse|noreverse]] [tandem_takeover]
    /// ... }`; `tandem_takeover` is tandem's own, anywhere after NAME.
    pub(super) fn track_bfd(&mut self, s: &Stmt) -> Vec<TrackBfdEntry> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, mut st| {
            b.no_block(&st);
            let before = st.args.len();
            st.args.retain(|w| w.text != "tandem_takeover");
            let tandem_takeover = st.args.len() != before;
            let (weight, reverse) = b.track_weight(&st, -253, 253);
            out.push((
                TrackBfd {
                    name: st.keyword.text.clone(),
                    weight: 0,
                    reverse: false,
                    tandem_takeover,
                    origin: b.origin(st.keyword.pos),
                },
                weight,
                reverse,
            ));
        });
        out
    }

    /// `[weight W [reverse|noreverse|no_reverse]]` after a tracked name.
    fn track_weight(&mut self, st: &Stmt, lo: i64, hi: i64) -> (Option<i32>, Option<bool>) {
        let mut weight = None;
        let mut reverse = None;
        let mut it = st.args.iter();
        while let Some(w) = it.next() {
            match w.text.as_str() {
                "weight" => match it.next() {
                    Some(v) => weight = self.int_word("weight", v, lo, hi).map(|v| v as i32),
                    None => self.err(w.pos, "\"weight\" needs a number"),
                },
                "reverse" => reverse = Some(true),
                "noreverse" | "no_reverse" => reverse = Some(false),
                other => {
                    let msg = format!(
                        "unexpected \"{other}\" after {}; expected \"weight N\"",
                        st.keyword.text
                    );
                    self.err(w.pos, msg);
                }
            }
        }
        (weight, reverse)
    }

    pub(super) fn track_interface(&mut self, s: &Stmt) -> Vec<TrackInterface> {
        let mut out = Vec::new();
        if !self.need_block(s) {
            return out;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            let (weight, reverse) = b.track_weight(&st, -253, 253);
            out.push(TrackInterface {
                name: st.keyword.text.clone(),
                weight: weight.unwrap_or(0),
                reverse: reverse.unwrap_or(false),
            });
        });
        out
    }
}

impl Builder {
    /// The track_script entries without those naming a vrrp_script
    /// dropped for having no `script`: keepalived 2.2.7 finds no such
    /// script and ignores the entry ("track script ... not found"); so
    /// does tandem, with a warning at the entry.
    pub(super) fn drop_tracks(
        &mut self,
        kind: &str,
        owner: &str,
        list: Vec<TrackEntry>,
    ) -> Vec<TrackEntry> {
        let mut kept = Vec::new();
        for entry in list {
            if self.dropped_scripts.contains(&entry.0.name) {
                let msg = format!(
                    "{kind} {owner}: track_script {} is dropped with its vrrp_script, which has no \"script\" (keepalived 2.2.7 ignores the entry too)",
                    entry.0.name
                );
                self.warn_at(&entry.0.origin, msg);
            } else {
                kept.push(entry);
            }
        }
        kept
    }
}

/// The tracked scripts with their weight and direction resolved: the
/// entry's, else its script's (an unknown script is reported by validate).
pub(super) fn resolve_tracks(scripts: &[VrrpScript], list: Vec<TrackEntry>) -> Vec<TrackScript> {
    list.into_iter()
        .map(|(mut t, w, r)| {
            let script = scripts.iter().find(|s| s.name == t.name);
            t.weight = w.or(script.map(|s| s.weight)).unwrap_or(0);
            t.reverse = r.or(script.map(|s| s.weight_reverse)).unwrap_or(false);
            t
        })
        .collect::<Vec<_>>()
}

impl Builder {
    /// The tracked BFD sessions with their weight and direction resolved:
    /// the entry's, else its bfd_instance's (an unknown name is reported
    /// by validate). An entry naming a bfd_instance dropped for want of a
    /// neighbour is dropped with it, as keepalived drops it.
    pub(super) fn resolve_bfd_tracks(
        &mut self,
        bfds: &[BfdInstance],
        list: Vec<TrackBfdEntry>,
    ) -> Vec<TrackBfd> {
        let mut out = Vec::with_capacity(list.len());
        for (mut t, w, r) in list {
            let bfd = bfds.iter().find(|b| b.name == t.name);
            if bfd.is_none() && self.dropped_bfds.contains(&t.name) {
                let msg = format!(
                    "track_bfd {}: that bfd_instance was dropped (it has no neighbor_ip), so this entry is dropped too",
                    t.name
                );
                self.warn_at(&t.origin, msg);
                continue;
            }
            t.weight = w.or(bfd.map(|b| b.weight)).unwrap_or(0);
            t.reverse = r.or(bfd.map(|b| b.weight_reverse)).unwrap_or(false);
            out.push(t);
        }
        out
    }
}
