//! What tandem shows on D-Bus (`enable_dbus`), as keepalived shows it: the
//! object paths, the state numbers and names, which instances changed state
//! between two snapshots, and the stats file behind `PrintStats`.
//!
//! keepalived's interface is `org.keepalived.Vrrp1` (Debian ships its XML
//! under `/usr/share/dbus-1/interfaces`): one object
//! `/org/keepalived/Vrrp1/Vrrp` (methods `PrintData`, `PrintStats`,
//! `PrintStatsClear`, `ReloadConfig`; signals `VrrpStarted`,
//! `VrrpReloaded`, `VrrpStopped`) and one object per VRRP instance,
//! `/org/keepalived/Vrrp1/Instance/IFNAME/VRID/IPv4` (method `SendGarp`,
//! signal `VrrpStatusChange(u)`, properties `Name` (s) and `State` (us)).
//! Scripts written for keepalived address those paths and compare those
//! numbers, so both are kept exactly.
//!
//! Owns the naming and the diff; pure functions of the configuration and
//! the status snapshot. The bus connection is the daemon's
//! (`daemon::dbus`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::model::AddressFamily;

use super::model::{StatusSnapshot, VrrpState};

/// keepalived's bus name, unless `dbus_service_name` says otherwise.
pub const DEFAULT_SERVICE_NAME: &str = "org.keepalived.Vrrp1";
/// The root every object path starts with.
pub const OBJECT_ROOT: &str = "/org/keepalived/Vrrp1";

/// The part of every path between the root and `/Vrrp` or `/Instance`:
/// keepalived puts its `net_namespace` and `instance` names there, so two
/// daemons on one bus do not collide.
pub fn path_prefix(net_namespace: Option<&str>, instance: Option<&str>) -> String {
    let mut p = OBJECT_ROOT.to_string();
    for name in [net_namespace, instance].into_iter().flatten() {
        p.push('/');
        p.push_str(&path_element(name));
    }
    p
}

/// The general object: `/org/keepalived/Vrrp1/Vrrp`.
pub fn vrrp_path(prefix: &str) -> String {
    format!("{prefix}/Vrrp")
}

/// An instance's object: `…/Instance/IFNAME/VRID/IPv4|IPv6`, IFNAME being
/// the configured `interface` (not its vmac) with every character that is
/// not a letter or digit made `_`, as keepalived does (`eth0.100` is
/// `eth0_100`): a path element allows no more.
pub fn instance_path(prefix: &str, interface: &str, vrid: u8, family: AddressFamily) -> String {
    let fam = match family {
        AddressFamily::Inet => "IPv4",
        AddressFamily::Inet6 => "IPv6",
    };
    format!("{prefix}/Instance/{}/{vrid}/{fam}", path_element(interface))
}

fn path_element(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// keepalived's number and name for a state (`VrrpStatusChange` carries
/// the number, `State` both): INIT 0, BACKUP 1, MASTER 2, FAULT 3, STOP 98.
pub fn state_code(state: VrrpState) -> (u32, &'static str) {
    match state {
        VrrpState::Initialize => (0, "Init"),
        VrrpState::Backup => (1, "Backup"),
        VrrpState::Master => (2, "Master"),
        VrrpState::Fault => (3, "Fault"),
        VrrpState::Stop => (98, "Stop"),
    }
}

/// Each instance's last state, to find what changed in the next snapshot.
#[derive(Debug, Default, Clone)]
pub struct SeenStates(BTreeMap<String, VrrpState>);

impl SeenStates {
    /// The instances of `snap` whose state differs from the one seen last
    /// (every instance the first time), remembered from now on. An
    /// instance gone from the snapshot is forgotten.
    pub fn changes(&mut self, snap: &StatusSnapshot) -> Vec<(String, VrrpState)> {
        let mut out = Vec::new();
        let mut next = BTreeMap::new();
        for i in &snap.vrrp_instances {
            if self.0.get(&i.name) != Some(&i.state) {
                out.push((i.name.clone(), i.state));
            }
            next.insert(i.name.clone(), i.state);
        }
        self.0 = next;
        out
    }
}

/// The text `PrintStats` writes: keepalived's `/tmp/keepalived.stats`
/// layout (`VRRP Instance: NAME`, then indented counters), from the
/// counters tandem keeps.
pub fn render_stats(snap: &StatusSnapshot) -> String {
    let mut o = String::new();
    for i in &snap.vrrp_instances {
        let c = &i.counters;
        let e = &c.rx_errors;
        let _ = writeln!(o, "VRRP Instance: {}", i.name);
        let _ = writeln!(o, "  Advertisements:");
        let _ = writeln!(o, "    Received: {}", c.adverts_received);
        let _ = writeln!(o, "    Sent: {}", c.adverts_sent);
        let _ = writeln!(o, "  Became master: {}", c.became_master);
        let _ = writeln!(o, "  Released master: {}", c.released_master);
        let _ = writeln!(o, "  Packet Errors:");
        let _ = writeln!(o, "    Length: {}", e.length_errors + e.truncated_errors);
        let _ = writeln!(o, "    TTL: {}", e.ip_ttl_errors);
        let _ = writeln!(o, "    Invalid Type: {}", e.invalid_type_errors);
        let _ = writeln!(o, "    Advertisement Interval: {}", e.adv_interval_errors);
        let _ = writeln!(o, "    Address List: {}", e.address_list_errors);
        let _ = writeln!(o, "  Authentication Errors:");
        let _ = writeln!(o, "    Failure: {}", e.auth_errors);
        let _ = writeln!(o, "  Priority Zero:");
        let _ = writeln!(o, "    Received: {}", c.priority_zero_received);
        let _ = writeln!(o, "    Sent: {}", c.priority_zero_sent);
        let _ = writeln!(o, "  Invalid packets (all reasons): {}", c.invalid_packets);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    fn snap(states: &[(&str, VrrpState)]) -> StatusSnapshot {
        let mut s = example_snapshot();
        let template = s.vrrp_instances[0].clone();
        s.vrrp_instances = states
            .iter()
            .map(|(n, st)| {
                let mut i = template.clone();
                i.name = n.to_string();
                i.state = *st;
                i.counters = Default::default();
                i
            })
            .collect();
        s
    }

    #[test]
    fn paths_are_keepalived_s() {
        let p = path_prefix(None, None);
        assert_eq!(vrrp_path(&p), "/org/keepalived/Vrrp1/Vrrp");
        assert_eq!(
            instance_path(&p, "eth0.100", 51, AddressFamily::Inet),
            "/org/keepalived/Vrrp1/Instance/eth0_100/51/IPv4"
        );
        let p = path_prefix(Some("lb-a"), None);
        assert_eq!(
            instance_path(&p, "bond0", 7, AddressFamily::Inet6),
            "/org/keepalived/Vrrp1/lb_a/Instance/bond0/7/IPv6"
        );
        // keepalived: the namespace, then the instance.
        let p = path_prefix(Some("lb-a"), Some("web"));
        assert_eq!(vrrp_path(&p), "/org/keepalived/Vrrp1/lb_a/web/Vrrp");
        let p = path_prefix(None, Some("web"));
        assert_eq!(vrrp_path(&p), "/org/keepalived/Vrrp1/web/Vrrp");
    }

    #[test]
    fn state_numbers_are_keepalived_s() {
        assert_eq!(state_code(VrrpState::Master), (2, "Master"));
        assert_eq!(state_code(VrrpState::Backup), (1, "Backup"));
        assert_eq!(state_code(VrrpState::Fault), (3, "Fault"));
        assert_eq!(state_code(VrrpState::Initialize), (0, "Init"));
    }

    #[test]
    fn only_changed_states_are_reported() {
        let mut seen = SeenStates::default();
        let first = seen.changes(&snap(&[
            ("VI_1", VrrpState::Backup),
            ("VI_2", VrrpState::Backup),
        ]));
        assert_eq!(first.len(), 2);
        assert!(
            seen.changes(&snap(&[
                ("VI_1", VrrpState::Backup),
                ("VI_2", VrrpState::Backup)
            ]))
            .is_empty()
        );
        let next = seen.changes(&snap(&[
            ("VI_1", VrrpState::Master),
            ("VI_2", VrrpState::Backup),
        ]));
        assert_eq!(next, vec![("VI_1".to_string(), VrrpState::Master)]);
        // Gone, then back: reported again.
        seen.changes(&snap(&[("VI_1", VrrpState::Master)]));
        let back = seen.changes(&snap(&[
            ("VI_1", VrrpState::Master),
            ("VI_2", VrrpState::Backup),
        ]));
        assert_eq!(back, vec![("VI_2".to_string(), VrrpState::Backup)]);
    }

    #[test]
    fn stats_name_each_instance_and_its_counters() {
        let mut s = snap(&[("VI_1", VrrpState::Master)]);
        s.vrrp_instances[0].counters.adverts_sent = 12;
        s.vrrp_instances[0].counters.became_master = 1;
        let t = render_stats(&s);
        assert!(t.starts_with("VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 12\n  Became master: 1\n"), "{t}");
    }
}
