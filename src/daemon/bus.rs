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
//! Owns the latest role of every instance and group, the VIP gate's
//! state ([`RulesState`]) between the IPVS programmer and the units, and
//! the value of every `track_file` ([`TrackValues`], written by the
//! track-file watcher, read by the units and the LVS task) and the
//! quorum of every `vrrp_track_process` ([`ProcessQuorums`]) and whether
//! each BFD session is Up ([`BfdUp`], written by the BFD task, read by
//! the `BFD_CHECK`s). It knows
//! nothing of what subscribers do with a change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::check::bfd::BfdUp;

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

/// Which instances the caught-up gate of `lvs_sync_daemon` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GateScope {
    /// No `lvs_sync_daemon`: nobody waits.
    #[default]
    None,
    /// The instance `lvs_sync_daemon` names (its unit applies the hold to
    /// every member of its sync group, which moves as one).
    Instance(String),
    /// `lvs_sync_daemon` names no instance: its backup daemon runs for
    /// every instance, so every instance waits.
    All,
}

/// The caught-up preemption gate: a node that would preempt a
/// lower-priority master waits until its backup sync daemon has heard of
/// the connections that master carries (docs/ipvs.md, "Connection
/// synchronisation"). Written by the sync task, read by the units, which
/// hand it to their state machines as `vrrp::Event::PreemptHold`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreemptGate {
    pub scope: GateScope,
    /// When the local backup daemon will have caught up; `None`: no hold
    /// (no backup daemon, or sync settings with no time bound).
    pub until: Option<std::time::Instant>,
}

impl PreemptGate {
    /// The hold for a unit whose instances are `names`.
    pub fn hold_for<'a>(
        &self,
        mut names: impl Iterator<Item = &'a str>,
    ) -> Option<std::time::Instant> {
        let applies = match &self.scope {
            GateScope::None => false,
            GateScope::All => true,
            GateScope::Instance(n) => names.any(|x| x == n),
        };
        self.until.filter(|_| applies)
    }
}

/// The value each `track_file` (by name) holds now; a file that is
/// missing holds 0, as keepalived reads it.
pub type TrackValues = Arc<BTreeMap<String, i64>>;

/// Whether each `vrrp_track_process` (by name) has its quorum now,
/// written by the process monitor.
pub type ProcessQuorums = Arc<BTreeMap<String, bool>>;

/// What one `tandem_bgp` include file should announce now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce {
    /// The block's settings (the first virtual server's that names the file).
    pub bgp: crate::config::model::BgpAnnounce,
    /// The VIPs whose every `tandem_bgp` virtual server has its quorum.
    pub vips: BTreeSet<std::net::IpAddr>,
}

/// Every include file's announcement, by include file path.
pub type Announcements = Arc<BTreeMap<String, Announce>>;

/// The IPVS services of the last table the kernel accepted, written by
/// the IPVS programmer: a `tandem_bgp` VIP is announced only once its
/// services are in the kernel (the BGP side of the VIP gate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InKernel {
    pub services: Arc<BTreeSet<crate::ipvs::types::ServiceKey>>,
    /// IPVS cannot be programmed at all (no `ip_vs`): nothing waits.
    pub unreachable: bool,
}

/// Publisher and subscription point. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<RoleChange>,
    current: Arc<Mutex<BTreeMap<(Subject, String), Role>>>,
    rules: Arc<watch::Sender<RulesState>>,
    gate: Arc<watch::Sender<PreemptGate>>,
    track: Arc<watch::Sender<TrackValues>>,
    procs: Arc<watch::Sender<ProcessQuorums>>,
    bfd: Arc<watch::Sender<BfdUp>>,
    announce: Arc<watch::Sender<Announcements>>,
    in_kernel: Arc<watch::Sender<InKernel>>,
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
            gate: Arc::new(watch::channel(PreemptGate::default()).0),
            track: Arc::new(watch::channel(TrackValues::default()).0),
            procs: Arc::new(watch::channel(ProcessQuorums::default()).0),
            bfd: Arc::new(watch::channel(BfdUp::default()).0),
            announce: Arc::new(watch::channel(Announcements::default()).0),
            in_kernel: Arc::new(watch::channel(InKernel::default()).0),
        }
    }

    /// Watch which services the kernel holds.
    pub fn in_kernel(&self) -> watch::Receiver<InKernel> {
        self.in_kernel.subscribe()
    }

    /// The kernel accepted a table with these services, or (`None`) IPVS
    /// cannot be reached; only a change wakes anyone.
    pub fn set_in_kernel(&self, services: Option<BTreeSet<crate::ipvs::types::ServiceKey>>) {
        self.in_kernel.send_if_modified(|k| {
            let next = match services {
                Some(s) => InKernel {
                    services: Arc::new(s),
                    unreachable: false,
                },
                None => InKernel {
                    services: Arc::clone(&k.services),
                    unreachable: true,
                },
            };
            let changed = *k != next;
            *k = next;
            changed
        });
    }

    /// Watch what the `tandem_bgp` include files should announce.
    pub fn announcements(&self) -> watch::Receiver<Announcements> {
        self.announce.subscribe()
    }

    /// The include files should now announce `a` (only a change wakes
    /// the BIRD task).
    pub fn set_announcements(&self, a: BTreeMap<String, Announce>) {
        self.announce.send_if_modified(|m| {
            if **m == a {
                return false;
            }
            *m = Arc::new(a);
            true
        });
    }

    /// Watch the track files' values.
    pub fn track_files(&self) -> watch::Receiver<TrackValues> {
        self.track.subscribe()
    }

    /// The track files' values now.
    pub fn track_values(&self) -> TrackValues {
        self.track.borrow().clone()
    }

    /// Track file `name` now holds `value` (only a change wakes anyone).
    pub fn set_track_value(&self, name: &str, value: i64) {
        self.track.send_if_modified(|m| {
            if m.get(name) == Some(&value) {
                return false;
            }
            Arc::make_mut(m).insert(name.to_string(), value);
            true
        });
    }

    /// Watch the BFD sessions' states (for `BFD_CHECK`).
    pub fn bfd_states(&self) -> watch::Receiver<BfdUp> {
        self.bfd.subscribe()
    }

    /// BFD session `name` is now Up or not (only a change wakes anyone).
    pub fn set_bfd_state(&self, name: &str, up: bool) {
        self.bfd.send_if_modified(|m| {
            if m.get(name) == Some(&up) {
                return false;
            }
            m.insert(name.to_string(), up);
            true
        });
    }

    /// Watch the tracked processes' quorums.
    pub fn process_quorums(&self) -> watch::Receiver<ProcessQuorums> {
        self.procs.subscribe()
    }

    /// The tracked processes' quorums are now `q` (only a change wakes
    /// anyone).
    pub fn set_process_quorums(&self, q: BTreeMap<String, bool>) {
        self.procs.send_if_modified(|m| {
            if **m == q {
                return false;
            }
            *m = Arc::new(q);
            true
        });
    }

    /// Watch the VIP gate's state.
    pub fn rules(&self) -> watch::Receiver<RulesState> {
        self.rules.subscribe()
    }

    /// Watch the caught-up preemption gate.
    pub fn preempt_gate(&self) -> watch::Receiver<PreemptGate> {
        self.gate.subscribe()
    }

    /// A new gate (only a change wakes the units).
    pub fn set_preempt_gate(&self, gate: PreemptGate) {
        self.gate.send_if_modified(|g| {
            let changed = *g != gate;
            *g = gate;
            changed
        });
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

    #[test]
    fn the_gate_holds_the_named_instances_unit_or_every_unit() {
        let at = std::time::Instant::now();
        let gate = |scope| PreemptGate {
            scope,
            until: Some(at),
        };
        let unit = ["VI_1", "VI_GW"];
        assert_eq!(gate(GateScope::None).hold_for(unit.into_iter()), None);
        assert_eq!(gate(GateScope::All).hold_for(unit.into_iter()), Some(at));
        let named = gate(GateScope::Instance("VI_GW".into()));
        assert_eq!(named.hold_for(unit.into_iter()), Some(at));
        assert_eq!(named.hold_for(["VI_2"].into_iter()), None);
        let open = PreemptGate {
            scope: GateScope::All,
            until: None,
        };
        assert_eq!(open.hold_for(unit.into_iter()), None);
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
