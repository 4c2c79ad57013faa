//! The daemon's event bus: "instance or group X became MASTER / BACKUP /
//! FAULT / stopped", for every subsystem that acts on the VRRP role.
//!
//! The VRRP tasks publish; anything else (IPVS programming on the master,
//! the status socket, e-mail alerts, metrics) subscribes. A
//! `tokio::sync::broadcast` channel: publishers never wait for a slow
//! subscriber; a subscriber that falls behind learns how many events it
//! missed (`RecvError::Lagged`) and can re-read the current roles from
//! [`Bus::snapshot`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

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

/// Publisher and subscription point. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<RoleChange>,
    current: Arc<Mutex<BTreeMap<(Subject, String), Role>>>,
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
        }
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
