//! `garp_group { garp_interval T  gna_interval T  interface IF  interfaces
//! { IF ... } }` at the top level, read as keepalived 2.2.7 reads it
//! (vrrp_parser.c `garp_group_*_handler`): one minimum gap between the
//! gratuitous ARPs / NAs sent on all the group's interfaces together.
//!
//! keepalived reports each mistake below as a configuration error and
//! runs without the part concerned; tandem refuses the file, and says what
//! keepalived would have dropped. Owns: the block and those checks. May
//! not: know whether the interfaces exist (the daemon resolves them).

use crate::config::keywords::Block;
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;

/// A `garp_group` as read, with the words its interfaces were named by.
#[derive(Debug)]
pub(crate) struct RawGarpGroup {
    group: GarpGroup,
    interfaces: Vec<Word>,
}

impl Builder {
    pub(super) fn garp_group_block(&mut self, s: &Stmt) {
        if !self.need_block(s) {
            return;
        }
        // A word after garp_group (`garp_group GG_1 {`, seen in users'
        // files) is skipped by keepalived: a label for the reader only.
        let mut group = GarpGroup {
            origin: self.origin(s.keyword.pos),
            ..GarpGroup::default()
        };
        let mut interfaces: Vec<Word> = Vec::new();
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "garp_interval" => {
                if let Some(v) = b.timer(&st) {
                    group.garp_interval = Some(v);
                }
            }
            "gna_interval" => {
                if let Some(v) = b.timer(&st) {
                    group.gna_interval = Some(v);
                }
            }
            "interface" => {
                b.no_block(&st);
                match st.args.as_slice() {
                    [w] => interfaces.push(w.clone()),
                    _ => b.err(st.keyword.pos, "garp_group interface needs one interface name"),
                }
            }
            "interfaces" => {
                let list = b.word_list(&st);
                if list.is_empty() && st.block {
                    b.err(
                        st.keyword.pos,
                        "empty garp_group interfaces block (keepalived 2.2.7: \"Warning - empty garp_group interfaces block\")",
                    );
                }
                interfaces.extend(list);
            }
            _ => b.unknown(Block::GarpGroup, &st),
        });
        for (kw, v) in [
            ("garp_interval", group.garp_interval),
            ("gna_interval", group.gna_interval),
        ] {
            if v.is_some_and(|v| v >= std::time::Duration::from_secs(1)) {
                let msg = format!(
                    "the garp_group {kw} is very large ({:?}, as keepalived warns): one gratuitous ARP/NA per interval on these interfaces",
                    v.unwrap_or_default()
                );
                self.warn(s.keyword.pos, msg);
            }
        }
        let number = self.garp_groups.len() + 1;
        if group.garp_interval.is_none() && group.gna_interval.is_none() {
            let msg = format!(
                "garp_group has neither garp_interval nor gna_interval (keepalived 2.2.7: \"garp group {number} does not have any delay set - removing\")"
            );
            self.err(s.keyword.pos, msg);
            return;
        }
        self.garp_groups.push(RawGarpGroup { group, interfaces });
    }

    /// Once every instance is read: an interface in two groups, or a vmac
    /// (keepalived paces a vmac's messages by its base interface's delay),
    /// is refused; the groups are returned for the config.
    pub(super) fn finish_garp_groups(
        &mut self,
        instances: &[VrrpInstance],
        g: &GlobalDefs,
    ) -> Vec<GarpGroup> {
        let vmacs: Vec<String> = instances
            .iter()
            .filter_map(|i| {
                let v = i.vmac.as_ref()?;
                Some(
                    v.name
                        .clone()
                        .unwrap_or_else(|| format!("{}.{}", g.vmac_prefix, i.virtual_router_id)),
                )
            })
            .collect();
        let mut seen: Vec<(String, Pos)> = Vec::new();
        let mut out = Vec::new();
        for mut raw in std::mem::take(&mut self.garp_groups) {
            for w in raw.interfaces {
                if let Some((_, first)) = seen.iter().find(|(n, _)| *n == w.text) {
                    let at = self.origin(*first);
                    let msg = format!(
                        "interface {} is already in the garp_group at {at} (keepalived 2.2.7: \"garp_group already specified for {} - ignoring\")",
                        w.text, w.text
                    );
                    self.err(w.pos, msg);
                    continue;
                }
                if vmacs.contains(&w.text) {
                    let msg = format!(
                        "{} is a vmac: its gratuitous ARPs are paced by its base interface's garp_group (keepalived 2.2.7: \"Cannot specify garp_delay on a vmac ({}) - ignoring\")",
                        w.text, w.text
                    );
                    self.err(w.pos, msg);
                    continue;
                }
                seen.push((w.text.clone(), w.pos));
                raw.group.interfaces.push(w.text);
            }
            out.push(raw.group);
        }
        out
    }
}
