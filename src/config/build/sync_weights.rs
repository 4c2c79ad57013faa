//! The weights of a sync group member's own `track_interface` and
//! `track_script` entries, as keepalived 2.2.7 settles them.
//!
//! Owns: keepalived's rule that the members of a `vrrp_sync_group` keep
//! one priority, so their own weighted scripts are dropped unless the
//! group says `sync_group_tracking_weight`. May not: touch the group's
//! own entries (those always carry their weight to every member), or the
//! `track_file` / `track_bfd` entries (their own modules decide).

use crate::config::model::*;

use super::builder::Builder;

impl Builder {
    /// keepalived (`vrrp_complete_instance`): in a sync group without
    /// `sync_group_tracking_weight`, a weighted tracked script is dropped,
    /// with a warning, since the priority no longer moves as the file
    /// reads. A weighted tracked interface is logged as ignored too, but
    /// keepalived 2.2.7 still applies its weight (measured:
    /// tests/net_sync_weight.rs), so tandem keeps it and says so.
    pub(super) fn restrict_sync_member_weights(
        &mut self,
        groups: &[VrrpSyncGroup],
        instances: &mut [VrrpInstance],
    ) {
        for vi in instances.iter_mut() {
            let Some(g) = groups.iter().find(|g| g.group.contains(&vi.name)) else {
                continue;
            };
            if g.sync_group_tracking_weight {
                continue;
            }
            let origin = vi.origin.clone();
            for t in vi.track_interface.iter().filter(|t| t.weight != 0) {
                let msg = format!(
                    "vrrp_instance {}: track_interface {} has weight {} in vrrp_sync_group {}: \
                     keepalived 2.2.7 logs that it ignores this weight, yet applies it; tandem \
                     applies it too (sync_group_tracking_weight on the group says so)",
                    vi.name, t.name, t.weight, g.name
                );
                self.warn_at(&origin, msg);
            }
            let mut kept = Vec::new();
            for t in std::mem::take(&mut vi.track_script) {
                if t.weight == 0 {
                    kept.push(t);
                    continue;
                }
                let msg = format!(
                    "vrrp_instance {}: track_script {} has weight {}, but {} is in vrrp_sync_group {}: \
                     keepalived does not track it; add sync_group_tracking_weight to the group to \
                     keep it, or use weight 0",
                    vi.name, t.name, t.weight, vi.name, g.name
                );
                self.warn_at(&t.origin, msg);
            }
            vi.track_script = kept;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{LoadOptions, load_str};
    use std::path::Path;

    fn conf(flag: &str) -> String {
        format!(
            "vrrp_script chk {{\n script /bin/true\n weight 10\n}}\n\
             vrrp_sync_group G {{\n group {{\n A\n }}\n{flag}}}\n\
             vrrp_instance A {{\n interface eth0\n virtual_router_id 5\n priority 100\n\
             track_script {{\n chk weight 20\n }}\n track_interface {{\n eth1 weight 7\n }}\n\
             virtual_ipaddress {{\n 192.0.2.1/24\n }}\n}}\n"
        )
    }

    #[test]
    fn without_the_flag_member_weights_go() {
        let l = load_str(Path::new("t.conf"), conf(""), &LoadOptions::default());
        let cfg = l.config.expect("accepted with warnings");
        let vi = &cfg.vrrp_instances[0];
        assert_eq!(vi.track_interface[0].weight, 7);
        assert!(vi.track_script.is_empty());
        let w: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
        assert!(
            w.iter()
                .any(|m| m.contains("track_interface eth1 has weight 7 in vrrp_sync_group G")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.contains("track_script chk has weight 20")),
            "{w:?}"
        );
    }

    #[test]
    fn with_the_flag_member_weights_stay() {
        let text = conf(" sync_group_tracking_weight\n");
        let l = load_str(Path::new("t.conf"), text, &LoadOptions::default());
        let cfg = l.config.expect("accepted");
        assert!(cfg.vrrp_sync_groups[0].sync_group_tracking_weight);
        let vi = &cfg.vrrp_instances[0];
        assert_eq!(vi.track_interface[0].weight, 7);
        assert_eq!(vi.track_script[0].weight, 20);
        assert!(
            !l.diagnostics
                .iter()
                .any(|d| d.to_string().contains("weight")),
            "{:?}",
            l.diagnostics
        );
    }
}
