//! `track_group NAME { group { VI_1 VI_2 } }` at the top level, and the
//! `track_group NAME` option of a static address, route or rule.
//!
//! keepalived's meaning (`static_track_group_init`): every instance of the
//! group tracks the interface of each static entry that names the group
//! (an address's `dev`, a route's `dev`, a rule's `iif`) as a weight-0
//! tracked interface, so the interface going down puts those instances in
//! FAULT. Owns: the blocks, the references and that resolution. May not:
//! install anything (the static entries are the daemon's).

use crate::config::keywords;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;

/// A `track_group` block as read: its name and member words.
#[derive(Debug)]
pub(crate) struct RawTrackGroup {
    name: Word,
    members: Vec<Word>,
}

impl Builder {
    pub(super) fn track_group_block(&mut self, s: &Stmt) {
        let Some(name) = s.args.first().cloned() else {
            self.err(s.keyword.pos, "track_group needs a name");
            return;
        };
        if !self.need_block(s) {
            return;
        }
        let mut members = Vec::new();
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "group" => members.extend(b.word_list(&st)),
            _ => {
                let msg = format!(
                    "unknown track_group keyword \"{}\" (a track_group has only group {{ ... }})",
                    st.keyword.text
                );
                b.err(st.keyword.pos, msg);
            }
        });
        if let Some(first) = self.track_groups.iter().find(|g| g.name.text == name.text) {
            let at = self.origin(first.name.pos);
            let msg = format!("track_group {} is already defined at {at}", name.text);
            self.err(name.pos, msg);
            return;
        }
        if members.is_empty() {
            let msg = format!(
                "track_group {} has no vrrp_instance (keepalived drops it)",
                name.text
            );
            self.warn(name.pos, msg);
        }
        self.track_groups.push(RawTrackGroup { name, members });
    }

    /// `track_group NAME` on an entry at `w` (its value `v`): only static
    /// entries have it (keepalived does not read it elsewhere).
    pub(super) fn track_group_word(&mut self, w: &Word, v: Option<&Word>) -> Option<String> {
        if !self.reading_statics {
            self.err(
                w.pos,
                "track_group is an option of static_ipaddress, static_routes and static_rules only",
            );
            return None;
        }
        let Some(v) = v else {
            self.err(w.pos, "\"track_group\" needs a value");
            return None;
        };
        self.track_group_refs.push(v.clone());
        Some(v.text.clone())
    }

    /// Once every instance is read: check the references and add each
    /// tracked interface to the instances of its group.
    pub(super) fn apply_track_groups(&mut self, instances: &mut [VrrpInstance]) {
        let groups = std::mem::take(&mut self.track_groups);
        for w in std::mem::take(&mut self.track_group_refs) {
            if groups.iter().any(|g| g.name.text == w.text) {
                continue;
            }
            let cands = groups.iter().map(|g| g.name.text.as_str());
            let msg = match keywords::suggest(&w.text, cands) {
                Some(m) => format!("no track_group named \"{}\"; did you mean \"{m}\"?", w.text),
                None => format!("no track_group named \"{}\"", w.text),
            };
            self.err(w.pos, msg);
        }
        let mut members: Vec<(&str, Vec<usize>)> = Vec::new();
        for g in &groups {
            let mut found = Vec::new();
            for m in &g.members {
                match instances.iter().position(|i| i.name == m.text) {
                    Some(i) => found.push(i),
                    None => {
                        let msg = format!(
                            "track_group {}: no vrrp_instance named \"{}\" (keepalived ignores it)",
                            g.name.text, m.text
                        );
                        self.warn(m.pos, msg);
                    }
                }
            }
            members.push((g.name.text.as_str(), found));
        }
        for (group, dev, no_track) in self.tracked_statics() {
            let Some((_, list)) = members.iter().find(|(n, _)| *n == group) else {
                continue;
            };
            // keepalived: "has both track_group and no_track set - not tracking".
            let Some(dev) = dev.filter(|_| !no_track) else {
                continue;
            };
            for &i in list {
                let vi = &mut instances[i];
                if !vi.track_interface.iter().any(|t| t.name == dev) {
                    vi.track_interface.push(TrackInterface {
                        name: dev.clone(),
                        weight: 0,
                        reverse: false,
                    });
                }
            }
        }
    }

    /// (group, interface, no_track) of each static entry that names a
    /// track group.
    fn tracked_statics(&self) -> Vec<(String, Option<String>, bool)> {
        let a = self.static_ipaddress.iter().filter_map(|a| {
            let g = a.track_group.clone()?;
            Some((g, a.dev.clone(), a.no_track))
        });
        let r = self.static_routes.iter().filter_map(|r| {
            let g = r.track_group.clone()?;
            Some((g, r.dev.clone(), r.no_track))
        });
        let u = self.static_rules.iter().filter_map(|r| {
            let g = r.track_group.clone()?;
            Some((g, r.iif.clone(), r.no_track))
        });
        a.chain(r).chain(u).collect()
    }
}
