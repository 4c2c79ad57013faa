//! Feeding the control socket: every task that owns live state writes its
//! part of the [`StatusSnapshot`] here.
//!
//! The snapshot sits in a `tokio::sync::watch` channel (see
//! [`crate::control::model`]). Each unit task replaces the entries of its
//! own instances and sync group after it handled an event; the LVS task
//! replaces the virtual servers after a check batch or a role change; the
//! main loop copies the mail queue counters once a second. Writers hold the
//! channel's lock only for the copy, and readers (the control socket, the
//! metrics listener, the SIGUSR1 dump) only ever borrow the latest value,
//! so a slow reader never delays VRRP or the checks. The hub holds no
//! protocol state of its own: it only keeps what the owners wrote.

use std::sync::Arc;

use crate::control::model::{
    MailQueueStatus, StatusReceiver, StatusSender, StatusSnapshot, SyncGroupStatus,
    VirtualServerStatus, VrrpInstanceStatus, status_channel,
};
use crate::process::unix_ms_now;

/// A cheap, cloneable writer of the status snapshot.
#[derive(Clone, Debug)]
pub struct StatusHub {
    tx: Arc<StatusSender>,
}

impl StatusHub {
    /// A hub with an empty snapshot for `router_id`.
    pub fn new(router_id: &str) -> StatusHub {
        let (tx, _) = status_channel(StatusSnapshot::new(router_id));
        StatusHub { tx: Arc::new(tx) }
    }

    pub fn subscribe(&self) -> StatusReceiver {
        self.tx.subscribe()
    }

    /// The latest snapshot (a copy).
    pub fn current(&self) -> StatusSnapshot {
        self.tx.borrow().clone()
    }

    /// Change the snapshot in place and stamp it.
    pub fn modify(&self, f: impl FnOnce(&mut StatusSnapshot)) {
        self.tx.send_modify(|s| {
            f(s);
            s.generated_unix_ms = unix_ms_now();
        });
    }

    /// Replace the entries of one unit: its instances, and its sync group
    /// if it has one. Entries are kept sorted by name so that the output
    /// does not depend on which unit reported last.
    pub fn set_unit(&self, instances: Vec<VrrpInstanceStatus>, group: Option<SyncGroupStatus>) {
        self.modify(|s| {
            for inst in instances {
                match s.vrrp_instances.iter_mut().find(|i| i.name == inst.name) {
                    Some(slot) => *slot = inst,
                    None => {
                        s.vrrp_instances.push(inst);
                        s.vrrp_instances.sort_by(|a, b| a.name.cmp(&b.name));
                    }
                }
            }
            if let Some(g) = group {
                match s.sync_groups.iter_mut().find(|x| x.name == g.name) {
                    Some(slot) => *slot = g,
                    None => {
                        s.sync_groups.push(g);
                        s.sync_groups.sort_by(|a, b| a.name.cmp(&b.name));
                    }
                }
            }
        });
    }

    /// Forget instances and groups that are no longer configured (reload).
    pub fn retain_units(&self, instances: &[String], groups: &[String]) {
        self.modify(|s| {
            s.vrrp_instances.retain(|i| instances.contains(&i.name));
            s.sync_groups.retain(|g| groups.contains(&g.name));
        });
    }

    /// The LVS task's view of the virtual servers; the kernel's counters
    /// the IPVS poller last read (`daemon::ipvs_stats`) stay on the
    /// entries that are still there.
    pub fn set_virtual_servers(&self, mut vs: Vec<VirtualServerStatus>) {
        self.modify(|s| {
            super::ipvs_stats::keep_counters(&s.virtual_servers, &mut vs);
            s.virtual_servers = vs;
        });
    }

    /// Write the kernel's counters into the virtual servers.
    pub fn set_ipvs_counters(&self, entries: &[crate::ipvs::types::ServiceEntry]) {
        self.modify(|s| super::ipvs_stats::merge(&mut s.virtual_servers, entries));
    }

    /// Update the mail counters, without waking readers when nothing changed.
    pub fn set_mail(&self, mail: MailQueueStatus) {
        self.tx.send_if_modified(|s| {
            if s.mail == mail {
                false
            } else {
                s.mail = mail;
                s.generated_unix_ms = unix_ms_now();
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::{VrrpCounters, VrrpState};

    fn inst(name: &str, state: VrrpState) -> VrrpInstanceStatus {
        VrrpInstanceStatus {
            name: name.into(),
            interface: "eth0".into(),
            virtual_router_id: 1,
            version: 2,
            state,
            initial_state: VrrpState::Backup,
            priority: 100,
            effective_priority: 100,
            master_address: None,
            master_priority: None,
            advert_interval_ms: 1000,
            virtual_ipaddress: vec![],
            sync_group: None,
            last_transition: None,
            preempt_held_until_unix_ms: None,
            counters: VrrpCounters::default(),
            router: Default::default(),
        }
    }

    #[test]
    fn units_replace_their_own_entries_and_stay_sorted() {
        let hub = StatusHub::new("lb1");
        let rx = hub.subscribe();
        hub.set_unit(vec![inst("VI_B", VrrpState::Backup)], None);
        hub.set_unit(vec![inst("VI_A", VrrpState::Backup)], None);
        hub.set_unit(vec![inst("VI_B", VrrpState::Master)], None);
        let s = rx.borrow().clone();
        let names: Vec<_> = s.vrrp_instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["VI_A", "VI_B"]);
        assert_eq!(s.vrrp_instances[1].state, VrrpState::Master);
        hub.retain_units(&["VI_A".to_string()], &[]);
        assert_eq!(rx.borrow().vrrp_instances.len(), 1);
    }
}
