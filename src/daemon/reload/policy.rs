//! What a reload may change while the daemon runs: which differences
//! need a restart ([`needs_restart`]) and whether the LVS side must be
//! rebuilt ([`lvs_touched`]).
//!
//! Sans-IO: it reads two configurations and their [`Diff`], and decides;
//! it never loads a file, reads the kernel or touches a running task.

use crate::config::{Config, GlobalDefs};

use super::diff::{Diff, Item};

/// Why a valid configuration cannot be applied without a restart, if it
/// cannot: `global_defs` beyond its mail keywords and `router_id`
/// ([`mail_only`]; multicast groups, GARP defaults, script users,
/// `lvs_flush`, ... are read once at start), `vrrp_script` (the
/// trackers of running units share them), `track_file` (its watch is
/// set up at start), `bfd_instance` (the BFD task's sessions are made
/// once) and `vrrp_track_process` (the process monitor counts by the
/// blocks of the start). Virtual servers, groups and
/// VRRP instances are applied live.
pub(super) fn needs_restart(diff: &Diff, old: &GlobalDefs, new: &GlobalDefs) -> Vec<String> {
    diff.items
        .iter()
        .filter(|(item, _, _)| match item {
            Item::GlobalDefs => !mail_only(old, new),
            // The watcher follows the files of the start.
            // The watcher and the process monitor follow the blocks of the start.
            Item::VrrpScript | Item::TrackFile | Item::TrackProcess => true,
            // The BFD task owns its sessions from the start; a changed
            // session would lose its state and its discriminator.
            Item::BfdInstance => true,
            _ => false,
        })
        .map(|(item, name, change)| {
            format!(
                "{}: applying this change needs a restart",
                Diff {
                    items: vec![(*item, name.clone(), *change)]
                }
                .describe()
                .join("")
            )
        })
        .collect()
}

/// Whether two `global_defs` differ only in what a reload applies live:
/// the mail keywords (a new delivery task, [`Mailer::reconfigure`]),
/// `router_id`, `no_email_faults`, `lvs_sync_daemon` and `lvs_timeouts`
/// (the sync task re-plans, [`crate::daemon::sync`]), and the `smtp_alert` defaults (already
/// resolved into the instances and servers, whose own changes the reload
/// applies). keepalived re-reads all of `global_defs` on reload; the rest
/// (multicast groups, GARP defaults, script users, `lvs_flush`, ...) still
/// needs a restart here.
///
/// [`Mailer::reconfigure`]: crate::notify::mail::Mailer::reconfigure
fn mail_only(old: &GlobalDefs, new: &GlobalDefs) -> bool {
    let mut masked = new.clone();
    masked.notification_email = old.notification_email.clone();
    masked.notification_email_from = old.notification_email_from.clone();
    masked.smtp_server = old.smtp_server.clone();
    masked.smtp_helo_name = old.smtp_helo_name.clone();
    masked.smtp_connect_timeout = old.smtp_connect_timeout;
    masked.router_id = old.router_id.clone();
    masked.no_email_faults = old.no_email_faults;
    masked.smtp_alert = old.smtp_alert;
    masked.smtp_alert_vrrp = old.smtp_alert_vrrp;
    masked.smtp_alert_checker = old.smtp_alert_checker;
    masked.lvs_sync_daemon = old.lvs_sync_daemon.clone();
    masked.lvs_timeouts = old.lvs_timeouts;
    // The reload monitor is started again after every reload, from the
    // new file's settings.
    masked.reload_time_file = old.reload_time_file.clone();
    masked.reload_repeat = old.reload_repeat;
    // As the reload's diff compares: by what is written, not by where
    // (positions kept for error messages are not part of the value).
    serde_json::to_value(&masked).ok() == serde_json::to_value(old).ok()
}

/// Whether the LVS side must be rebuilt: a virtual server or group
/// changed, or a VRRP instance whose virtual addresses decide which virtual
/// servers it governs was added, removed or given other addresses.
pub(super) fn lvs_touched(old: &Config, new: &Config, diff: &Diff) -> bool {
    let vips = |c: &Config, name: &str| {
        c.vrrp_instance(name)
            .map(|i| serde_json::to_value(&i.virtual_ipaddress).unwrap_or_default())
    };
    diff.items.iter().any(|(item, name, _)| match item {
        Item::VirtualServer | Item::VirtualServerGroup => true,
        Item::VrrpInstance => vips(old, name) != vips(new, name),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::reload::diff::diff;
    use crate::daemon::testing::{BASE, parse};

    fn verdict(new: &str) -> (Vec<String>, bool) {
        let (old, new) = (parse(BASE), parse(new));
        let diff = diff(&old, &new);
        (
            needs_restart(&diff, &old.global_defs, &new.global_defs),
            lvs_touched(&old, &new, &diff),
        )
    }

    #[test]
    fn a_real_server_weight_is_applied_live_on_the_lvs_side() {
        let (why, lvs) = verdict(&BASE.replace("weight 1", "weight 5"));
        assert!(why.is_empty(), "{why:?}");
        assert!(lvs);
    }

    #[test]
    fn a_priority_change_leaves_the_lvs_side_alone() {
        let (why, lvs) = verdict(&BASE.replace("priority 150", "priority 90"));
        assert!(why.is_empty(), "{why:?}");
        assert!(!lvs);
    }

    #[test]
    fn other_vips_rebuild_the_lvs_side() {
        let (why, lvs) = verdict(&BASE.replace("192.0.2.2/24", "192.0.2.3/24"));
        assert!(why.is_empty(), "{why:?}");
        assert!(lvs);
    }

    #[test]
    fn mail_settings_and_router_id_are_reloaded_live() {
        for changed in [
            "router_id lb2",
            "router_id lb1\n    smtp_server 192.0.2.25 2525\n    notification_email {\n        ops@example.com\n    }",
            "router_id lb1\n    smtp_connect_timeout 5\n    smtp_helo_name lb1.example",
            "router_id lb1\n    no_email_faults\n    smtp_alert",
        ] {
            let (why, _) = verdict(&BASE.replace("router_id lb1", changed));
            assert!(why.is_empty(), "{changed}: {why:?}");
        }
    }

    #[test]
    fn a_mail_line_that_moves_another_keyword_is_still_mail_only() {
        // script_user keeps its position for error messages; a line added
        // above it moves that position, not its value.
        let old = parse(&BASE.replace("router_id lb1", "router_id lb1\n    script_user nobody"));
        let new = parse(&BASE.replace(
            "router_id lb1",
            "router_id lb1\n    smtp_server 192.0.2.25\n    script_user nobody",
        ));
        let diff = diff(&old, &new);
        assert!(
            needs_restart(&diff, &old.global_defs, &new.global_defs).is_empty(),
            "{:?}",
            diff.describe()
        );
    }

    #[test]
    fn other_global_defs_still_need_a_restart() {
        for changed in [
            "router_id lb1\n    vrrp_garp_master_repeat 2",
            "router_id lb1\n    vrrp_mcast_group4 224.0.0.19",
            "router_id lb2\n    lvs_flush",
        ] {
            let (why, _) = verdict(&BASE.replace("router_id lb1", changed));
            assert_eq!(
                why,
                ["global_defs: changed: applying this change needs a restart"],
                "{changed}"
            );
        }
    }

    #[test]
    fn a_track_file_block_needs_a_restart_but_its_trackers_do_not() {
        let tf = |w: &str| format!("track_file tf {{\n  file /run/tf\n  weight {w}\n}}\n");
        let old = parse(&format!("{}{BASE}", tf("2")));
        let new = parse(&format!("{}{BASE}", tf("3")));
        let d = diff(&old, &new);
        assert_eq!(
            needs_restart(&d, &old.global_defs, &new.global_defs),
            ["track_file tf: changed: applying this change needs a restart"]
        );
        // Only moving the block is no change.
        let moved = parse(&format!("{BASE}{}", tf("2")));
        assert!(diff(&old, &moved).is_empty());
    }

    #[test]
    fn a_track_process_block_needs_a_restart() {
        let tp = |q: &str| format!("vrrp_track_process tp {{\n  process sleep\n  quorum {q}\n}}\n");
        let old = parse(&format!("{}{BASE}", tp("1")));
        let new = parse(&format!("{}{BASE}", tp("2")));
        let d = diff(&old, &new);
        assert_eq!(
            needs_restart(&d, &old.global_defs, &new.global_defs),
            ["vrrp_track_process tp: changed: applying this change needs a restart"]
        );
    }
}
