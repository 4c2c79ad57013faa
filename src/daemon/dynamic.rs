//! `dynamic_interfaces [allow_if_changes]`: links that come and go.
//!
//! keepalived's behaviour, which this follows: an instance whose link does
//! not exist at start (or a sync group with such a member) does not refuse
//! the start; it is FAULT until the link appears, and then starts. A link
//! deleted under a running instance puts it in FAULT (the unit sees the
//! link go, as for `track_interface`); made again, it has a new index, and
//! the instance is started afresh on it. Without `allow_if_changes`, a link
//! that comes back as another kind than it first was (a macvlan where
//! there was a plain link, or a macvlan on another base) is ignored, as
//! keepalived ignores it; with it, it is used.
//!
//! Owns the link-event subscription of the main loop and what it has seen
//! of each link name. The re-planning itself is the reload's
//! ([`super::reload::reapply_links`]); this only says when.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::config::{Config, DynamicInterfaces, VrrpVersion};
use crate::control::model::{SyncGroupStatus, Transition, VrrpInstanceStatus, VrrpState};
use crate::net::{LinkInfo, LinkMonitor, Rtnl, VlanInfo};

use super::running::Running;
use super::status::StatusHub;

/// What a link is, for `allow_if_changes`: a macvlan/ipvlan or not, and
/// on which base.
type Kind = (bool, Option<u32>);

/// The main loop's view of the links, with `dynamic_interfaces`.
pub(super) struct LinkWatch {
    monitor: LinkMonitor,
    settings: DynamicInterfaces,
    /// index → name of every link seen.
    known: HashMap<u32, String>,
    /// The kind each name had when it was first seen.
    first: HashMap<String, Kind>,
    /// Names whose link is now of another kind (ignored).
    ignored: BTreeSet<String>,
    /// A link appeared: re-plan once no event came for [`SETTLE`].
    settle_at: Option<tokio::time::Instant>,
}

/// How long the links must be quiet before a re-plan.
const SETTLE: Duration = Duration::from_millis(200);

impl LinkWatch {
    /// Subscribe (inside the runtime), when the configuration asks for
    /// dynamic interfaces.
    pub(super) fn start(config: &Config) -> Option<LinkWatch> {
        let settings = config.global_defs.dynamic_interfaces?;
        let monitor = match LinkMonitor::new() {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "dynamic_interfaces: cannot follow link events");
                return None;
            }
        };
        let mut w = LinkWatch {
            monitor,
            settings,
            known: HashMap::new(),
            first: HashMap::new(),
            ignored: BTreeSet::new(),
            settle_at: None,
        };
        w.reread();
        Some(w)
    }

    /// Names of links to leave out of a plan.
    pub(super) fn ignored(&self) -> &BTreeSet<String> {
        &self.ignored
    }

    /// Wait until a link appears (a new index, or a link renamed), then
    /// for the burst of events around it to settle (200 ms without one).
    /// Cancel-safe: the main loop's other events may interrupt it at any
    /// point, and what it saw is kept for the next call. Never returns
    /// when the subscription failed (logged).
    pub(super) async fn next_change(&mut self) {
        loop {
            let next = match self.settle_at {
                Some(at) => tokio::select! {
                    _ = tokio::time::sleep_until(at) => None,
                    e = self.monitor.next() => Some(e),
                },
                None => Some(self.monitor.next().await),
            };
            let events = match next {
                None => {
                    self.settle_at = None;
                    self.reread();
                    return;
                }
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    tracing::error!(error = %e, "dynamic_interfaces: link events lost");
                    std::future::pending::<()>().await;
                    continue;
                }
            };
            let appeared = events
                .iter()
                .any(|e| !e.removed && self.known.get(&e.index) != Some(&e.name));
            for e in &events {
                if e.removed {
                    self.known.remove(&e.index);
                } else {
                    self.known.insert(e.index, e.name.clone());
                }
            }
            // A link is made in steps (created, renamed, addressed, set
            // up): one re-plan for the lot.
            if appeared || self.settle_at.is_some() {
                self.settle_at = Some(tokio::time::Instant::now() + SETTLE);
            }
        }
    }

    /// Read every link again: the names known, and which are ignored.
    fn reread(&mut self) {
        let links = match Rtnl::new().and_then(|mut r| r.links()) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "dynamic_interfaces: cannot read the links");
                return;
            }
        };
        self.known = links.iter().map(|l| (l.index, l.name.clone())).collect();
        let before = std::mem::take(&mut self.ignored);
        self.ignored = changed_kind(&links, &mut self.first, self.settings.allow_if_changes);
        for name in self.ignored.difference(&before) {
            tracing::warn!(
                interface = %name,
                "dynamic_interfaces: {name} came back as another kind of link; ignored (allow_if_changes is not set)"
            );
        }
    }
}

/// What a link is: a macvlan/ipvlan on its base, or not.
fn kind_of(l: &LinkInfo) -> Kind {
    let vlan = matches!(
        l.vlan,
        Some(VlanInfo::Macvlan { .. } | VlanInfo::Ipvlan { .. })
    );
    (vlan, if vlan { l.parent } else { None })
}

/// The names (among `links`) that are now of another kind than when
/// first seen (recorded in `first` as they come), unless
/// `allow_if_changes`.
fn changed_kind(
    links: &[LinkInfo],
    first: &mut HashMap<String, Kind>,
    allow_if_changes: bool,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in links {
        let kind = kind_of(l);
        let was = *first.entry(l.name.clone()).or_insert(kind);
        if was != kind && !allow_if_changes {
            out.insert(l.name.clone());
        }
    }
    out
}

/// Show the instances that wait for a link as FAULT in the status (they
/// have no unit to report them).
pub(super) fn show_waiting(hub: &StatusHub, config: &Config, running: &Running) {
    let now = crate::process::unix_ms_now();
    let mut groups: BTreeSet<String> = BTreeSet::new();
    let mut entries = Vec::new();
    for w in running.waiting() {
        let Some(inst) = config.vrrp_instance(&w.instance) else {
            continue;
        };
        if let Some(g) = &w.group {
            groups.insert(g.clone());
        }
        entries.push(VrrpInstanceStatus {
            name: inst.name.clone(),
            interface: inst.interface.clone(),
            virtual_router_id: inst.virtual_router_id,
            version: match inst.version {
                VrrpVersion::V2 => 2,
                VrrpVersion::V3 => 3,
            },
            state: VrrpState::Fault,
            initial_state: match inst.state {
                crate::config::model::InitialState::Master => VrrpState::Master,
                crate::config::model::InitialState::Backup => VrrpState::Backup,
            },
            priority: inst.priority,
            effective_priority: inst.priority,
            master_address: None,
            master_priority: None,
            advert_interval_ms: inst.advert_int.as_millis() as u64,
            virtual_ipaddress: inst
                .virtual_ipaddress
                .iter()
                .map(|v| format!("{}/{}", v.address, v.prefix_len))
                .collect(),
            sync_group: w.group.clone(),
            last_transition: Some(Transition {
                from: VrrpState::Initialize,
                to: VrrpState::Fault,
                at_unix_ms: now,
                reason: format!("interface {} does not exist", w.ifname),
            }),
            preempt_held_until_unix_ms: None,
            counters: Default::default(),
            router: Default::default(),
        });
    }
    if entries.is_empty() {
        return;
    }
    hub.set_unit(entries, None);
    for g in groups {
        let Some(sg) = config.vrrp_sync_group(&g) else {
            continue;
        };
        hub.set_unit(
            Vec::new(),
            Some(SyncGroupStatus {
                name: g.clone(),
                state: VrrpState::Fault,
                instances: sg.group.clone(),
                last_transition: None,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, vlan: Option<VlanInfo>, parent: Option<u32>) -> LinkInfo {
        LinkInfo {
            name: name.into(),
            vlan,
            parent,
            ..LinkInfo::default()
        }
    }

    #[test]
    fn a_link_back_as_another_kind_is_ignored_unless_allow_if_changes() {
        let mac = Some(VlanInfo::Macvlan { mode: 1 });
        for allow in [false, true] {
            let mut first = HashMap::new();
            let start = [link("eth0", None, None), link("vrrp.1", mac, Some(2))];
            assert!(changed_kind(&start, &mut first, allow).is_empty());
            // The same kinds again (new indexes do not matter): used.
            assert!(changed_kind(&start, &mut first, allow).is_empty());
            // eth0 is now a macvlan, vrrp.1 a macvlan on another base.
            let later = [link("eth0", mac, Some(3)), link("vrrp.1", mac, Some(4))];
            let ignored = changed_kind(&later, &mut first, allow);
            if allow {
                assert!(ignored.is_empty());
            } else {
                assert_eq!(
                    ignored.into_iter().collect::<Vec<_>>(),
                    ["eth0".to_string(), "vrrp.1".to_string()]
                );
            }
        }
    }
}
