//! When the handover guard ([`crate::net::guard`]) goes in and comes out:
//! in as this node's IPVS table becomes a master's (before the VIPs, which
//! wait for that table), out [`GUARD_WINDOW`] later.
//!
//! Only with `lvs_sync_daemon`: without a sync daemon no entry will ever
//! arrive for a connection the old master carried, and a prompt reset is
//! better for the client than a silence.
//!
//! Owns: the guard's timing and what it covers. May not: read VRRP states
//! (the desired table names its masters) or program IPVS.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::ipvs::types::{Forward, Protocol, ServiceKey, Table};
use crate::net::guard::GuardEntries;

/// How long unknown connections' segments are dropped after a takeover:
/// as long as this node's backup sync daemon keeps listening for the old
/// master's last entries ([`crate::ipvs::sync::TAKEOVER_LISTEN`]: the old
/// master's daemon sends for 3 s after it leaves MASTER, and the kernel
/// sends a buffer at the latest 2 s after its first entry).
pub const GUARD_WINDOW: std::time::Duration = crate::ipvs::sync::TAKEOVER_LISTEN;

/// The guard's state: which masters the last table was for, and until when
/// the guard holds.
#[derive(Debug)]
pub struct HandoverGuard {
    enabled: bool,
    masters: BTreeSet<String>,
    until: Option<Instant>,
}

impl HandoverGuard {
    pub fn new(enabled: bool) -> Self {
        HandoverGuard {
            enabled,
            masters: BTreeSet::new(),
            until: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The kernel took `table`, computed for the MASTER instances
    /// `masters`. Returns what to guard when that makes this node master of
    /// an instance it was not master of (a takeover), and the guard's hold
    /// starts (or starts again) at `now`.
    pub fn programmed(
        &mut self,
        now: Instant,
        masters: &BTreeSet<String>,
        table: &Table,
    ) -> Option<GuardEntries> {
        let new_master = masters.iter().any(|m| !self.masters.contains(m));
        self.masters.clone_from(masters);
        if !self.enabled || !new_master {
            return None;
        }
        let entries = entries(table);
        if entries.is_empty() {
            return None;
        }
        self.until = Some(now + GUARD_WINDOW);
        Some(entries)
    }

    /// When the guard comes out, if it is in.
    pub fn deadline(&self) -> Option<Instant> {
        self.until
    }

    /// The guard is out (lifted, or it could not go in).
    pub fn lifted(&mut self) {
        self.until = None;
    }
}

/// The TCP services of `table` by address, and the real servers of its
/// LVS-NAT services (whose answers pass this node). Firewall-mark services
/// have no address to match and are left out.
pub fn entries(table: &Table) -> GuardEntries {
    let mut e = GuardEntries::default();
    for vs in table.services.values() {
        let ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        } = vs.service.key
        else {
            continue;
        };
        e.services.insert((addr, port));
        for d in vs.destinations.values() {
            if d.forward == Forward::Masq {
                e.nat_reals.insert((d.addr, d.port));
            }
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    struct Desired {
        table: Table,
        masters: BTreeSet<String>,
    }

    impl HandoverGuard {
        fn took(&mut self, now: Instant, d: &Desired) -> Option<GuardEntries> {
            self.programmed(now, &d.masters, &d.table)
        }
    }

    fn desired(masters: &[&str]) -> Desired {
        let conf = "virtual_server 192.0.2.2 80 {\n lb_kind NAT\n protocol TCP\n \
                    real_server 198.51.100.10 80 {\n }\n}\n\
                    virtual_server 192.0.2.3 53 {\n lb_kind DR\n protocol UDP\n \
                    real_server 198.51.100.11 53 {\n }\n}\n\
                    virtual_server 192.0.2.4 443 {\n lb_kind DR\n protocol TCP\n \
                    real_server 198.51.100.12 443 {\n }\n}\n";
        let loaded = crate::config::load_str(
            std::path::Path::new("g.conf"),
            conf.to_string(),
            &crate::config::LoadOptions::with_config_id("main"),
        );
        let config = loaded.config.expect("the test configuration loads");
        let table = crate::ipvs::from_config::table_all_up(&config).expect("a table");
        Desired {
            table,
            masters: masters.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn a_takeover_guards_tcp_services_and_nat_reals_for_the_window() {
        let mut g = HandoverGuard::new(true);
        let t0 = Instant::now();
        let e = g.took(t0, &desired(&["VI_1"])).expect("a takeover");
        let services: Vec<String> = e.services.iter().map(|(a, p)| format!("{a}:{p}")).collect();
        assert_eq!(services, ["192.0.2.2:80", "192.0.2.4:443"]);
        let reals: Vec<String> = e
            .nat_reals
            .iter()
            .map(|(a, p)| format!("{a}:{p}"))
            .collect();
        assert_eq!(reals, ["198.51.100.10:80"]);
        assert_eq!(g.deadline(), Some(t0 + GUARD_WINDOW));
        // The same masters again (a weight change): no new guard.
        assert!(g.took(t0, &desired(&["VI_1"])).is_none());
        g.lifted();
        assert_eq!(g.deadline(), None);
        // Back to backup, then master again: a takeover again.
        assert!(g.took(t0, &desired(&[])).is_none());
        assert!(g.took(t0, &desired(&["VI_1"])).is_some());
    }

    #[test]
    fn no_guard_without_a_sync_daemon() {
        let mut g = HandoverGuard::new(false);
        assert!(g.took(Instant::now(), &desired(&["VI_1"])).is_none());
        assert_eq!(g.deadline(), None);
    }
}
