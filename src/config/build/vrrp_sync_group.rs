//! `vrrp_sync_group NAME { group { ... } ... }`: instances that change
//! state together.
//!
//! Owns: the meaning of each vrrp_sync_group keyword, and once every
//! instance is read, resolving its alerts, tracked scripts and BFD sessions and checking
//! that its members exist. May not: change the instances it names.

use crate::config::keywords::{self, Block};
use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;
use super::raw::RawGroup;
use super::tracking::resolve_tracks;

impl Builder {
    pub(super) fn vrrp_sync_group(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut g = RawGroup {
            group: VrrpSyncGroup {
                name: name.clone().unwrap_or_default(),
                group: Vec::new(),
                notify_priority_changes: None,
                sync_group_tracking_weight: false,
                track_interface: Vec::new(),
                track_script: Vec::new(),
                track_file: Vec::new(),
                track_bfd: Vec::new(),
                track_process: Vec::new(),
                notify_master: None,
                notify_backup: None,
                notify_fault: None,
                notify_stop: None,
                notify: None,
                smtp_alert: false,
                origin: self.origin(s.keyword.pos),
            },
            smtp_alert: None,
            track_script: Vec::new(),
            track_bfd: Vec::new(),
        };
        let mut members: Vec<Word> = Vec::new();
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "group" => members.extend(b.word_list(&st)),
            "track_interface" => {
                let list = b.track_interface(&st);
                g.group.track_interface.extend(list);
            }
            "track_script" => {
                let list = b.track_script(&st);
                g.track_script.extend(list);
            }
            "track_file" => {
                let who = format!("vrrp_sync_group {}", g.group.name);
                b.track_file_entries(&st, &who, &mut g.group.track_file);
            }
            "track_bfd" => {
                let list = b.track_bfd(&st);
                g.track_bfd.extend(list);
            }
            "track_process" => {
                let who = format!("vrrp_sync_group {}", g.group.name);
                b.track_process_entries(&st, &who, &mut g.group.track_process);
            }
            "notify_master" => g.group.notify_master = b.notify_script(&st),
            "notify_backup" => g.group.notify_backup = b.notify_script(&st),
            "notify_fault" => g.group.notify_fault = b.notify_script(&st),
            "notify_stop" => g.group.notify_stop = b.notify_script(&st),
            "notify" => g.group.notify = b.notify_script(&st),
            "smtp_alert" => g.smtp_alert = Some(b.flag(&st)),
            "notify_priority_changes" => g.group.notify_priority_changes = Some(b.flag(&st)),
            "sync_group_tracking_weight" => {
                b.bare(&st);
                g.group.sync_group_tracking_weight = true;
            }
            _ => b.unknown(Block::VrrpSyncGroup, &st),
        });
        if members.is_empty() {
            self.err(
                s.keyword.pos,
                format!(
                    "vrrp_sync_group {} has no members (group {{ ... }})",
                    g.group.name
                ),
            );
        }
        // Member positions are kept for the reference check in validate.
        g.group.group = members.iter().map(|w| w.text.clone()).collect();
        self.group_members
            .extend(members.into_iter().map(|w| (g.group.name.clone(), w)));
        if name.is_some() {
            self.groups.push(g);
        }
    }

    /// The sync groups with their alerts and tracked scripts resolved.
    pub(super) fn finish_sync_groups(
        &mut self,
        scripts: &[VrrpScript],
        bfds: &[BfdInstance],
        alert_default: Option<bool>,
    ) -> Vec<VrrpSyncGroup> {
        let mut groups = Vec::new();
        for mut rg in std::mem::take(&mut self.groups) {
            rg.group.smtp_alert = rg.smtp_alert.or(alert_default).unwrap_or(false);
            let tracks = self.drop_tracks(
                "vrrp_sync_group",
                &rg.group.name,
                std::mem::take(&mut rg.track_script),
            );
            rg.group.track_script = resolve_tracks(scripts, tracks);
            rg.group.track_bfd = self.resolve_bfd_tracks(bfds, std::mem::take(&mut rg.track_bfd));
            groups.push(rg.group);
        }
        groups
    }

    /// Sync group members must be instances (known only once every
    /// instance is read).
    pub(super) fn check_sync_group_members(&mut self, instances: &[VrrpInstance]) {
        for (group, w) in std::mem::take(&mut self.group_members) {
            if !instances.iter().any(|i| i.name == w.text) {
                let cands = instances.iter().map(|i| i.name.as_str());
                let msg = match keywords::suggest(&w.text, cands) {
                    Some(m) => format!(
                        "vrrp_sync_group {group}: no vrrp_instance named \"{}\"; did you mean \"{m}\"?",
                        w.text
                    ),
                    None => format!(
                        "vrrp_sync_group {group}: no vrrp_instance named \"{}\"",
                        w.text
                    ),
                };
                self.err(w.pos, msg);
            }
        }
    }
}
