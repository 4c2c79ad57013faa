//! The daemon's event bus: "instance or group X became MASTER / BACKUP /
//! FAULT / stopped", for every subsystem that acts on the VRRP role.
//!
//! The VRRP tasks publish; anything else (IPVS programming on the master,
//! the status socket, e-mail alerts, metrics) subscribes. A
//! `tokio::sync::broadcast` channel: publishers never wait for a slow
//! subscriber; a subscriber that falls behind learns how many events it
//! missed (`RecvError::Lagged`) and can re-read the current roles from
//! [`Bus::snapshot`].
//!
//! Owns the latest role of every instance and group, and the VIP gate's
//! state ([`RulesState`]) between the IPVS programmer and the units. It
//! knows nothing of what subscribers do with a change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

/// Whether an event is about a `vrrp_instance` or a `vrrp_sync_group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Subject {
    Instance,
    Group,
}

/// The role a node plays for an instance or group, as keepalived names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Role {
    Backup,
    Master,
    Fault,
    /// The daemon stopped this instance (shutdown).
    Stop,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Backup => "BACKUP",
            Role::Master => "MASTER",
            Role::Fault => "FAULT",
            Role::Stop => "STOP",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One role change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleChange {
    pub subject: Subject,
    /// `vrrp_instance NAME` or `vrrp_sync_group NAME`.
    pub name: String,
    pub role: Role,
    /// The effective priority at the change (0 for groups).
    pub priority: u8,
    /// Why, in words (the state machine's reason).
    pub reason: String,
}

/// Whether the IPVS rules a new MASTER needs are in the kernel: the VIP
/// gate.
///
/// A master whose virtual servers are governed by it (docs/checks.md,
/// "master-only rules") must not take the VIPs before its IPVS table is
/// programmed: between the two, the VIP reaches the balancer's own stack,
/// and a client is answered by whatever listens locally (in the seed's
/// layout, the sorry server) or refused. The VRRP unit waits, bounded, for
/// the IPVS programmer to report the table of its new role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesState {
    /// Instances that govern at least one virtual server: only these wait.
    pub governing: BTreeSet<String>,
    /// The MASTER instances of the last table the kernel accepted.
    pub programmed: BTreeSet<String>,
    /// The programmer cannot reach IPVS (no `ip_vs`): nobody waits for it.
    pub unreachable: bool,
}

impl RulesState {
    /// Whether instance `name`, now MASTER, must still wait before adding
    /// its VIPs.
    pub fn must_wait(&self, name: &str) -> bool {
        self.governing.contains(name) && !self.unreachable && !self.programmed.contains(name)
    }
}

/// Publisher and subscription point. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<RoleChange>,
    current: Arc<Mutex<BTreeMap<(Subject, String), Role>>>,
    rules: Arc<watch::Sender<RulesState>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("subscribers", &self.tx.receiver_count())
            .finish()
    }
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    pub fn new() -> Bus {
        let (tx, _) = broadcast::channel(256);
        Bus {
            tx,
            current: Arc::new(Mutex::new(BTreeMap::new())),
            rules: Arc::new(watch::channel(RulesState::default()).0),
        }
    }

    /// Watch the VIP gate's state.
    pub fn rules(&self) -> watch::Receiver<RulesState> {
        self.rules.subscribe()
    }

    /// The instances that govern virtual servers (set before the units
    /// start, and again on a reload).
    pub fn set_governing(&self, governing: BTreeSet<String>) {
        self.rules.send_if_modified(|r| {
            let changed = r.governing != governing;
            r.governing = governing;
            changed
        });
    }

    /// The kernel now holds the table computed for these MASTER instances.
    pub fn rules_programmed(&self, masters: &BTreeSet<String>) {
        self.rules.send_if_modified(|r| {
            let changed = r.programmed != *masters || r.unreachable;
            r.programmed.clone_from(masters);
            r.unreachable = false;
            changed
        });
    }

    /// IPVS cannot be programmed at all: VIPs must not wait for it.
    pub fn rules_unreachable(&self) {
        self.rules
            .send_if_modified(|r| !std::mem::replace(&mut r.unreachable, true));
    }

    /// Announce a change. Never blocks; fine with no subscriber.
    pub fn publish(&self, change: RoleChange) {
        if let Ok(mut map) = self.current.lock() {
            map.insert((change.subject, change.name.clone()), change.role);
        }
        let _ = self.tx.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RoleChange> {
        self.tx.subscribe()
    }

    /// The latest role of every instance and group.
    pub fn snapshot(&self) -> BTreeMap<(Subject, String), Role> {
        self.current.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_governing_masters_wait_and_only_until_programmed() {
        let bus = Bus::new();
        let rules = bus.rules();
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        assert!(
            !rules.borrow().must_wait("VI_1"),
            "nothing governs: no wait"
        );
        bus.set_governing(set(&["VI_1"]));
        assert!(rules.borrow().must_wait("VI_1"));
        assert!(!rules.borrow().must_wait("VI_GW"), "governs nothing");
        bus.rules_programmed(&set(&["VI_GW"]));
        assert!(rules.borrow().must_wait("VI_1"));
        bus.rules_programmed(&set(&["VI_1", "VI_GW"]));
        assert!(!rules.borrow().must_wait("VI_1"));
        bus.rules_programmed(&set(&[]));
        assert!(
            rules.borrow().must_wait("VI_1"),
            "left MASTER: waits again next time"
        );
        bus.rules_unreachable();
        assert!(!rules.borrow().must_wait("VI_1"), "no IPVS: nobody waits");
    }

    #[tokio::test]
    async fn subscribers_see_changes_and_snapshot_keeps_the_latest() {
        let bus = Bus::new();
        let mut rx = bus.subscribe();
        bus.publish(RoleChange {
            subject: Subject::Instance,
            name: "VI_1".into(),
            role: Role::Backup,
            priority: 100,
            reason: "startup".into(),
        });
        bus.publish(RoleChange {
            subject: Subject::Instance,
            name: "VI_1".into(),
            role: Role::Master,
            priority: 100,
            reason: "master down".into(),
        });
        assert_eq!(rx.recv().await.ok().map(|c| c.role), Some(Role::Backup));
        assert_eq!(rx.recv().await.ok().map(|c| c.role), Some(Role::Master));
        assert_eq!(
            bus.snapshot().get(&(Subject::Instance, "VI_1".to_string())),
            Some(&Role::Master)
        );
    }
}
