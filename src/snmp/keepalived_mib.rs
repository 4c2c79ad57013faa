//! KEEPALIVED-MIB (enterprise 1.3.6.1.4.1.9586.100.5) built from a status
//! snapshot, and the view and notifications of every enabled MIB (the RFC
//! ones are `vrrp_mib` and `vrrpv3_mib`): the global group (version, routerId), vrrpSyncGroupTable,
//! vrrpSyncGroupMemberTable, vrrpInstanceTable and vrrpAddressTable, and
//! the vrrpInstanceStateChange / vrrpSyncGroupStateChange notifications;
//! the checker part is `check_mib`.
//!
//! Owns the mapping from tandem's status model to OIDs and values, column
//! by column as keepalived's `vrrp_snmp.c` fills them; sans-IO. Rows are
//! numbered from 1 in the snapshot's order (instances sorted by name),
//! where keepalived numbers them in configuration order: the same numbers
//! whenever the configuration lists them by name.

use std::net::IpAddr;

use crate::control::model::{StatusSnapshot, SyncGroupStatus, VrrpInstanceStatus, VrrpState};

pub use super::common::Clock;
use super::common::{notification, parse_vip};
use super::pdu::{Oid, Value, VarBind};
use super::view::MibView;
use super::{check_mib, vrrp_mib, vrrpv3_mib};

/// 1.3.6.1.4.1.9586.100.5: KEEPALIVED-MIB's root.
pub fn keepalived() -> Oid {
    Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5])
}

/// keepalived.1: the global group.
pub fn global() -> Oid {
    keepalived().child(&[1])
}

/// keepalived.2: the VRRP part (`enable_snmp_vrrp`).
pub fn vrrp() -> Oid {
    keepalived().child(&[2])
}

/// routerId.0, which every keepalived notification carries.
fn router_id_oid() -> Oid {
    global().child(&[2, 0])
}

/// The VrrpState textual convention: init(0) .. fault(3), unknown(4);
/// STOP reads as unknown in the tables, as keepalived's do.
fn state_value(s: VrrpState) -> i32 {
    match s {
        VrrpState::Initialize => 0,
        VrrpState::Backup => 1,
        VrrpState::Master => 2,
        VrrpState::Fault => 3,
        VrrpState::Stop => 4,
    }
}

/// Which MIBs the configuration enables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enabled {
    /// `enable_snmp_vrrp` (or its old name `enable_snmp_keepalived`).
    pub vrrp: bool,
    /// `enable_snmp_checker`: the checker part (`check_mib`).
    pub checker: bool,
    /// `enable_snmp_rfcv2`: RFC 2787's VRRP-MIB.
    pub rfcv2: bool,
    /// `enable_snmp_rfcv3`: RFC 6527's VRRPv3-MIB.
    pub rfcv3: bool,
    /// `enable_traps`: what vrrpNotificationCntl says.
    pub traps: bool,
}

impl Enabled {
    /// The subtrees to Register with the master agent.
    pub fn subtrees(&self) -> Vec<Oid> {
        let mut v = Vec::new();
        if self.vrrp || self.checker {
            v.push(global());
        }
        if self.vrrp {
            v.push(vrrp());
        }
        if self.checker {
            v.push(check_mib::check());
        }
        if self.rfcv2 {
            v.push(vrrp_mib::vrrp_mib());
        }
        if self.rfcv3 {
            v.push(vrrpv3_mib::vrrpv3_mib());
        }
        v
    }
}

/// Every object of the enabled MIBs, as the snapshot has them.
pub fn build_view(s: &StatusSnapshot, enabled: Enabled, clock: Clock) -> MibView {
    let mut view = MibView::default();
    if enabled.vrrp || enabled.checker {
        add_global(&mut view, s);
    }
    if enabled.checker {
        check_mib::add(&mut view, s);
    }
    if enabled.vrrp {
        add_sync_groups(&mut view, s);
        add_instances(&mut view, &s.vrrp_instances);
        add_addresses(&mut view, &s.vrrp_instances);
    }
    if enabled.rfcv2 {
        vrrp_mib::add(&mut view, s, enabled.traps, clock);
    }
    if enabled.rfcv3 {
        vrrpv3_mib::add(&mut view, s, clock);
    }
    view
}

fn add_global(view: &mut MibView, s: &StatusSnapshot) {
    view.insert(
        global().child(&[1, 0]),
        Value::text(&format!("tandem v{}", s.version)),
    );
    view.insert(router_id_oid(), Value::text(&s.router_id));
}

/// vrrpSyncGroupTable (vrrp.1) and vrrpSyncGroupMemberTable (vrrp.2),
/// the members indexed by their instance's row in vrrpInstanceTable.
fn add_sync_groups(view: &mut MibView, s: &StatusSnapshot) {
    let entry = vrrp().child(&[1, 1]);
    let member = vrrp().child(&[2, 1]);
    for (gi, g) in (1u32..).zip(&s.sync_groups) {
        view.insert(entry.child(&[2, gi]), Value::text(&g.name));
        view.insert(entry.child(&[3, gi]), Value::Integer(state_value(g.state)));
        for name in &g.instances {
            if let Some(ii) = instance_index(&s.vrrp_instances, name) {
                view.insert(member.child(&[2, gi, ii]), Value::text(name));
            }
        }
    }
}

fn instance_index(instances: &[VrrpInstanceStatus], name: &str) -> Option<u32> {
    let i = instances.iter().position(|i| i.name == name)?;
    u32::try_from(i + 1).ok()
}

/// vrrpInstanceTable (vrrp.3): the columns the status model carries.
fn add_instances(view: &mut MibView, instances: &[VrrpInstanceStatus]) {
    let entry = vrrp().child(&[3, 1]);
    for (i, inst) in (1u32..).zip(instances) {
        let col = |c: u32| entry.child(&[c, i]);
        view.insert(col(2), Value::text(&inst.name));
        view.insert(col(3), Value::Gauge32(u32::from(inst.virtual_router_id)));
        view.insert(col(4), Value::Integer(state_value(inst.state)));
        view.insert(col(5), Value::Integer(state_value(inst.initial_state)));
        view.insert(col(7), Value::Integer(i32::from(inst.priority)));
        view.insert(col(8), Value::Integer(i32::from(inst.effective_priority)));
        // vrrpInstanceVipsStatus: allSet(1) while MASTER holds them.
        let vips = if inst.state == VrrpState::Master {
            1
        } else {
            2
        };
        view.insert(col(9), Value::Integer(vips));
        view.insert(col(10), Value::text(&inst.interface));
        // Seconds for VRRPv2, centiseconds for v3, as the adverts carry it.
        let advert = if inst.version == 2 {
            inst.advert_interval_ms / 1000
        } else {
            inst.advert_interval_ms / 10
        };
        view.insert(
            col(12),
            Value::Gauge32(u32::try_from(advert).unwrap_or(u32::MAX)),
        );
        if let Some(g) = &inst.sync_group {
            view.insert(col(18), Value::text(g));
        }
        view.insert(col(30), Value::Integer(i32::from(inst.version)));
    }
}

/// vrrpAddressTable (vrrp.6): each instance's virtual addresses, set
/// while it is MASTER.
fn add_addresses(view: &mut MibView, instances: &[VrrpInstanceStatus]) {
    let entry = vrrp().child(&[6, 1]);
    for (i, inst) in (1u32..).zip(instances) {
        let vips = inst.virtual_ipaddress.iter().filter_map(|v| parse_vip(v));
        for (a, (addr, len, dev)) in (1u32..).zip(vips) {
            let col = |c: u32| entry.child(&[c, i, a]);
            let (kind, bytes) = match addr {
                IpAddr::V4(v4) => (1, v4.octets().to_vec()),
                IpAddr::V6(v6) => (2, v6.octets().to_vec()),
            };
            view.insert(col(2), Value::Integer(kind));
            view.insert(col(3), Value::OctetString(bytes));
            view.insert(col(5), Value::Gauge32(u32::from(len)));
            view.insert(col(8), Value::text(dev.unwrap_or(&inst.interface)));
            let set = inst.state == VrrpState::Master;
            view.insert(col(10), Value::Integer(if set { 1 } else { 2 }));
        }
    }
}

/// The trap state: as the tables, but STOP is shutdown(5), as keepalived
/// sends when an instance stops.
fn trap_state(s: VrrpState) -> i32 {
    match s {
        VrrpState::Stop => 5,
        other => state_value(other),
    }
}

/// vrrpInstanceStateChange (vrrpTraps.2): the objects named by their
/// column OIDs without a row, as keepalived sends them.
pub fn instance_state_change(
    uptime_cs: u32,
    router_id: &str,
    inst: &VrrpInstanceStatus,
) -> Vec<VarBind> {
    let col = |c: u32| vrrp().child(&[3, 1, c]);
    notification(
        uptime_cs,
        vrrp().child(&[10, 0, 2]),
        vec![
            VarBind {
                name: col(2),
                value: Value::text(&inst.name),
            },
            VarBind {
                name: col(4),
                value: Value::Integer(trap_state(inst.state)),
            },
            VarBind {
                name: col(5),
                value: Value::Integer(state_value(inst.initial_state)),
            },
            VarBind {
                name: router_id_oid(),
                value: Value::text(router_id),
            },
        ],
    )
}

/// vrrpSyncGroupStateChange (vrrpTraps.1).
pub fn sync_group_state_change(
    uptime_cs: u32,
    router_id: &str,
    group: &SyncGroupStatus,
) -> Vec<VarBind> {
    let col = |c: u32| vrrp().child(&[1, 1, c]);
    notification(
        uptime_cs,
        vrrp().child(&[10, 0, 1]),
        vec![
            VarBind {
                name: col(2),
                value: Value::text(&group.name),
            },
            VarBind {
                name: col(3),
                value: Value::Integer(trap_state(group.state)),
            },
            VarBind {
                name: router_id_oid(),
                value: Value::text(router_id),
            },
        ],
    )
}

/// The notifications from one snapshot to the next: an instance or sync
/// group whose state changed (or that appeared in a state other than
/// INIT, as keepalived sends its first BACKUP), each as its varbinds.
pub fn state_change_traps(
    before: &StatusSnapshot,
    after: &StatusSnapshot,
    enabled: Enabled,
    uptime_cs: u32,
) -> Vec<Vec<VarBind>> {
    let mut out = Vec::new();
    if enabled.checker {
        out.extend(check_mib::traps(before, after, uptime_cs));
    }
    let changed = |old: Option<VrrpState>, new: VrrpState| match old {
        Some(o) => o != new,
        None => new != VrrpState::Initialize,
    };
    if enabled.vrrp {
        for g in &after.sync_groups {
            let old = before.sync_groups.iter().find(|o| o.name == g.name);
            if changed(old.map(|o| o.state), g.state) {
                out.push(sync_group_state_change(uptime_cs, &after.router_id, g));
            }
        }
    }
    for i in &after.vrrp_instances {
        let old = before.vrrp_instances.iter().find(|o| o.name == i.name);
        if !changed(old.map(|o| o.state), i.state) {
            continue;
        }
        if enabled.vrrp {
            out.push(instance_state_change(uptime_cs, &after.router_id, i));
        }
        // The RFC MIBs' one state notification: a new master.
        if i.state == VrrpState::Master {
            if enabled.rfcv2 {
                out.extend(vrrp_mib::new_master(uptime_cs, i));
            }
            if enabled.rfcv3 {
                out.extend(vrrpv3_mib::new_master(uptime_cs, i));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    fn at(view: &MibView, tail: &[u32]) -> Option<Value> {
        view.value(&keepalived().child(tail)).cloned()
    }

    fn on() -> Enabled {
        Enabled {
            vrrp: true,
            ..Enabled::default()
        }
    }

    #[test]
    fn the_example_maps_column_by_column() {
        let s = example_snapshot();
        let v = build_view(&s, on(), Clock::default());
        assert_eq!(at(&v, &[1, 2, 0]), Some(Value::text("lb1")));
        // vrrpInstanceTable row 1 is VI_OUTER: vrid 51, MASTER, 150/150, eth0.
        assert_eq!(at(&v, &[2, 3, 1, 2, 1]), Some(Value::text("VI_OUTER")));
        assert_eq!(at(&v, &[2, 3, 1, 3, 1]), Some(Value::Gauge32(51)));
        assert_eq!(at(&v, &[2, 3, 1, 4, 1]), Some(Value::Integer(2)));
        assert_eq!(at(&v, &[2, 3, 1, 5, 1]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[2, 3, 1, 7, 1]), Some(Value::Integer(150)));
        assert_eq!(at(&v, &[2, 3, 1, 8, 1]), Some(Value::Integer(150)));
        assert_eq!(at(&v, &[2, 3, 1, 10, 1]), Some(Value::text("eth0")));
        assert_eq!(at(&v, &[2, 3, 1, 12, 1]), Some(Value::Gauge32(1)));
        assert_eq!(at(&v, &[2, 3, 1, 18, 2]), Some(Value::text("VG_LB")));
        // The sync group, its members by instance row, an address.
        assert_eq!(at(&v, &[2, 1, 1, 2, 1]), Some(Value::text("VG_LB")));
        assert_eq!(at(&v, &[2, 1, 1, 3, 1]), Some(Value::Integer(2)));
        assert_eq!(at(&v, &[2, 2, 1, 2, 1, 2]), Some(Value::text("VI_INNER")));
        assert_eq!(
            at(&v, &[2, 6, 1, 3, 1, 1]),
            Some(Value::OctetString(vec![192, 0, 2, 2]))
        );
        assert_eq!(at(&v, &[2, 6, 1, 5, 1, 1]), Some(Value::Gauge32(24)));
        assert_eq!(at(&v, &[2, 6, 1, 10, 1, 1]), Some(Value::Integer(1)));
        // Nothing at all unless enabled.
        assert!(build_view(&s, Enabled::default(), Clock::default()).is_empty());
    }

    #[test]
    fn a_state_change_trap_names_the_trap_and_the_new_state() {
        let s = example_snapshot();
        let vbs = instance_state_change(5, "lb1", &s.vrrp_instances[0]);
        assert_eq!(vbs[0].value, Value::TimeTicks(5));
        assert_eq!(
            vbs[1].value,
            Value::ObjectIdentifier(Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 10, 0, 2]))
        );
        assert_eq!(vbs[3].value, Value::Integer(2));
        assert_eq!(vbs[4].value, Value::Integer(1));
        let g = sync_group_state_change(5, "lb1", &s.sync_groups[0]);
        assert_eq!(g[3].value, Value::Integer(2));
    }

    #[test]
    fn traps_follow_the_changes_between_snapshots() {
        let on = on();
        let before = example_snapshot();
        assert!(state_change_traps(&before, &before, on, 0).is_empty());
        let mut after = before.clone();
        after.vrrp_instances[1].state = VrrpState::Backup;
        let traps = state_change_traps(&before, &after, on, 0);
        assert_eq!(traps.len(), 1);
        assert_eq!(traps[0][2].value, Value::text("VI_INNER"));
        assert_eq!(traps[0][3].value, Value::Integer(1));
        // From nothing: every instance and group not in INIT.
        let empty = StatusSnapshot::new("lb1");
        assert_eq!(state_change_traps(&empty, &before, on, 0).len(), 3);
        assert!(state_change_traps(&before, &after, Enabled::default(), 0).is_empty());
    }

    #[test]
    fn the_rfc_mibs_send_a_new_master_trap_only() {
        let rfc = Enabled {
            rfcv2: true,
            rfcv3: true,
            ..Enabled::default()
        };
        let before = example_snapshot();
        let mut after = before.clone();
        after.vrrp_instances[1].state = VrrpState::Backup;
        assert!(state_change_traps(&before, &after, rfc, 0).is_empty());
        let traps = state_change_traps(&after, &before, rfc, 0);
        let oids: Vec<Value> = traps.iter().map(|t| t[1].value.clone()).collect();
        let trap = |tail: &[u32]| Value::ObjectIdentifier(Oid::new(tail));
        assert_eq!(
            oids,
            [
                trap(&[1, 3, 6, 1, 2, 1, 68, 0, 1]),
                trap(&[1, 3, 6, 1, 2, 1, 207, 0, 1])
            ]
        );
        let subtrees = rfc.subtrees();
        assert_eq!(subtrees.len(), 2);
        let view = build_view(&before, rfc, Clock::default());
        assert!(view.value(&keepalived().child(&[1, 2, 0])).is_none());
        assert!(!view.is_empty());
    }
}
