//! RFC 6527's VRRPv3-MIB (mib-2.207, `enable_snmp_rfcv3`) built from a
//! status snapshot: vrrpv3OperationsTable, vrrpv3AssociatedIpAddrTable,
//! the vrrpv3RouterStatistics scalars, vrrpv3StatisticsTable, and the
//! vrrpv3NewMaster notification.
//!
//! Owns the mapping from the status model to this MIB, column by column
//! as keepalived fills it; sans-IO. Every instance with a virtual address
//! appears, VRRPv2 ones too (keepalived's default build answers for them
//! here as well). Rows are indexed by (ifIndex, VRID, InetAddressType);
//! an associated address follows as its bare octets, without the length
//! sub-identifier, as keepalived writes it. Columns tandem has no
//! truthful value for are left out rather than filled with a constant:
//! vrrpv3OperationsVirtualMacAddr, vrrpv3StatisticsNewMasterReason (its
//! value is in the vrrpv3NewMaster notification; the status model does not
//! keep it once the instance leaves MASTER), vrrpv3StatisticsProtoErrReason and
//! the discontinuity times.

use std::net::IpAddr;

use crate::control::model::{StatusSnapshot, VrrpInstanceStatus, VrrpState};

use super::common::{Clock, notification};
use super::pdu::{Oid, Value, VarBind};
use super::view::MibView;
use super::vrrp_mib::{centis, rfc_state, truth, vips};

/// 1.3.6.1.2.1.207: VRRPv3-MIB's root.
pub fn vrrpv3_mib() -> Oid {
    Oid::new(&[1, 3, 6, 1, 2, 1, 207])
}

/// The instance's address family as InetAddressType: ipv4(1), ipv6(2),
/// from its first virtual address.
fn family(addrs: &[IpAddr]) -> u32 {
    match addrs.first() {
        Some(IpAddr::V6(_)) => 2,
        _ => 1,
    }
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// The row index: ifIndex, VRID, address type; None for an instance this
/// MIB does not show (no virtual address).
fn index(inst: &VrrpInstanceStatus) -> Option<[u32; 3]> {
    let addrs = vips(inst);
    if addrs.is_empty() {
        return None;
    }
    Some([
        inst.router.ifindex,
        u32::from(inst.virtual_router_id),
        family(&addrs),
    ])
}

/// Every object of the MIB, as the snapshot has them.
pub fn add(view: &mut MibView, s: &StatusSnapshot, clock: Clock) {
    let root = vrrpv3_mib();
    let mut sums = [0u64; 3];
    for inst in &s.vrrp_instances {
        let Some(idx) = index(inst) else {
            continue;
        };
        add_oper(view, inst, idx, clock);
        add_stats(view, inst, idx);
        let e = &inst.counters.rx_errors;
        sums[0] += e.checksum_errors;
        sums[1] += e.version_errors;
        sums[2] += e.vrid_errors;
    }
    for (i, n) in (1u32..).zip(sums) {
        view.insert(root.child(&[1, 2, i, 0]), Value::Counter64(n));
    }
}

/// One vrrpv3OperationsTable row and its vrrpv3AssociatedIpAddrTable rows.
fn add_oper(view: &mut MibView, inst: &VrrpInstanceStatus, idx: [u32; 3], clock: Clock) {
    let col = |c: u32| vrrpv3_mib().child(&[1, 1, 1, 1, c]).child(&idx);
    let addrs = vips(inst);
    let r = &inst.router;
    let own = r.primary_address.map(octets).unwrap_or_default();
    // The master's address; our own while we are the master.
    let master = match (inst.state, inst.master_address) {
        (VrrpState::Master, _) => own.clone(),
        (_, Some(a)) => octets(a),
        (_, None) => vec![0; if idx[2] == 2 { 16 } else { 4 }],
    };
    view.insert(col(3), Value::OctetString(master));
    view.insert(col(4), Value::OctetString(own));
    view.insert(col(6), Value::Integer(rfc_state(inst.state)));
    view.insert(col(7), Value::Gauge32(u32::from(inst.priority)));
    let count = i32::try_from(addrs.len()).unwrap_or(i32::MAX);
    view.insert(col(8), Value::Integer(count));
    let cs = i32::try_from(inst.advert_interval_ms / 10).unwrap_or(i32::MAX);
    view.insert(col(9), Value::Integer(cs));
    view.insert(col(10), truth(!r.nopreempt));
    view.insert(col(11), truth(r.accept));
    // vrrpv3OperationsUpTime: how long the router has been out of INIT.
    let up = match (inst.state, r.up_since_unix_ms) {
        (VrrpState::Backup | VrrpState::Master, Some(t)) => centis(t, clock.now_unix_ms),
        _ => 0,
    };
    view.insert(col(12), Value::TimeTicks(up));
    // vrrpv3OperationsRowStatus: active(1).
    view.insert(col(13), Value::Integer(1));
    for a in addrs {
        let mut name = vrrpv3_mib().child(&[1, 1, 2, 1, 2]).child(&idx);
        name.0.extend(octets(a).iter().map(|b| u32::from(*b)));
        view.insert(name, Value::Integer(1));
    }
}

/// One vrrpv3StatisticsTable row (vrrpv3RouterStatistics.5).
fn add_stats(view: &mut MibView, inst: &VrrpInstanceStatus, idx: [u32; 3]) {
    let col = |c: u32| vrrpv3_mib().child(&[1, 2, 5, 1, c]).child(&idx);
    let c = &inst.counters;
    let e = &c.rx_errors;
    // A Counter32: the low 32 bits of the count.
    view.insert(col(1), Value::Counter32(c.became_master as u32));
    view.insert(col(3), Value::Counter64(c.adverts_received));
    view.insert(col(4), Value::Counter64(e.adv_interval_errors));
    view.insert(col(5), Value::Counter64(e.ip_ttl_errors));
    view.insert(col(7), Value::Counter64(c.priority_zero_received));
    view.insert(col(8), Value::Counter64(c.priority_zero_sent));
    view.insert(col(9), Value::Counter64(e.invalid_type_errors));
    view.insert(col(10), Value::Counter64(e.address_list_errors));
    view.insert(col(11), Value::Counter64(e.packet_length_errors()));
    // vrrpv3StatisticsRefreshRate: the advert interval in milliseconds.
    let ms = u32::try_from(inst.advert_interval_ms / 10 * 10).unwrap_or(u32::MAX);
    view.insert(col(13), Value::Gauge32(ms));
}

/// vrrpv3StatisticsNewMasterReason of a transition to MASTER, from the
/// transition's reason as the status model words it, as keepalived
/// counts them: priority(1) after the old master sent priority 0,
/// preempted(2) after preempting a lower-priority master,
/// masterNoResponse(3) otherwise (the master down timer, startup).
fn master_reason(inst: &VrrpInstanceStatus) -> i32 {
    match inst.last_transition.as_ref().map(|t| t.reason.as_str()) {
        Some("master sent priority 0") => 1,
        Some(r) if r.starts_with("preempting") => 2,
        _ => 3,
    }
}

/// vrrpv3NewMaster (vrrpv3Notifications.1) for an instance that has just
/// become MASTER: its vrrpv3OperationsMasterIpAddr (our own address) and
/// vrrpv3StatisticsNewMasterReason. None for an instance this MIB does
/// not show.
pub fn new_master(uptime_cs: u32, inst: &VrrpInstanceStatus) -> Option<Vec<VarBind>> {
    let idx = index(inst)?;
    let own = inst.router.primary_address.map(octets).unwrap_or_default();
    Some(notification(
        uptime_cs,
        vrrpv3_mib().child(&[0, 1]),
        vec![
            VarBind {
                name: vrrpv3_mib().child(&[1, 1, 1, 1, 3]).child(&idx),
                value: Value::OctetString(own),
            },
            VarBind {
                name: vrrpv3_mib().child(&[1, 2, 5, 1, 2]).child(&idx),
                value: Value::Integer(master_reason(inst)),
            },
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    fn at(view: &MibView, tail: &[u32]) -> Option<Value> {
        view.value(&vrrpv3_mib().child(tail)).cloned()
    }

    #[test]
    fn the_example_maps_column_by_column() {
        let mut s = example_snapshot();
        let up = s.vrrp_instances[0].router.up_since_unix_ms.unwrap_or(0);
        s.vrrp_instances[1].state = VrrpState::Backup;
        let clock = Clock {
            now_unix_ms: up + 4560,
            agent_start_unix_ms: 0,
        };
        let mut v = MibView::default();
        add(&mut v, &s, clock);
        // VI_OUTER: ifIndex 2, VRID 51, ipv4(1); MASTER.
        let row = |c: u32| at(&v, &[1, 1, 1, 1, c, 2, 51, 1]);
        let inner = |c: u32| at(&v, &[1, 1, 1, 1, c, 3, 52, 1]);
        let own = Value::OctetString(vec![192, 0, 2, 11]);
        assert_eq!(row(3), Some(own.clone()));
        assert_eq!(row(4), Some(own));
        assert_eq!(row(6), Some(Value::Integer(3)));
        assert_eq!(row(7), Some(Value::Gauge32(150)));
        assert_eq!(row(8), Some(Value::Integer(1)));
        assert_eq!(row(9), Some(Value::Integer(100)));
        assert_eq!(row(10), Some(Value::Integer(1)));
        assert_eq!(row(11), Some(Value::Integer(1)));
        assert_eq!(inner(11), Some(Value::Integer(2)));
        assert_eq!(row(12), Some(Value::TimeTicks(456)));
        assert_eq!(row(5), None);
        assert_eq!(
            at(&v, &[1, 1, 2, 1, 2, 2, 51, 1, 192, 0, 2, 2]),
            Some(Value::Integer(1))
        );
        // VI_INNER, BACKUP: the master it hears, backup(2).
        assert_eq!(inner(3), Some(Value::OctetString(vec![198, 51, 100, 2])));
        assert_eq!(inner(6), Some(Value::Integer(2)));
        // Statistics.
        let stat = |c: u32| at(&v, &[1, 2, 5, 1, c, 2, 51, 1]);
        assert_eq!(stat(1), Some(Value::Counter32(1)));
        assert_eq!(stat(3), Some(Value::Counter64(3)));
        assert_eq!(stat(11), Some(Value::Counter64(1)));
        assert_eq!(stat(13), Some(Value::Gauge32(1000)));
        assert_eq!(at(&v, &[1, 2, 1, 0]), Some(Value::Counter64(2)));
    }

    #[test]
    fn ipv6_rows_and_the_new_master_notification() {
        let mut s = example_snapshot();
        let i = &mut s.vrrp_instances[1];
        i.version = 3;
        i.virtual_ipaddress = vec!["2001:db8::1/64 dev eth1".into()];
        i.router.primary_address = "fe80::1".parse().ok();
        let mut v = MibView::default();
        add(&mut v, &s, Clock::default());
        let mut name = vec![1, 1, 2, 1, 2, 3, 52, 2, 0x20, 1, 0x0d, 0xb8];
        name.extend([0; 11]);
        name.push(1);
        assert_eq!(at(&v, &name), Some(Value::Integer(1)));
        let trap = new_master(9, &s.vrrp_instances[1]).unwrap_or_default();
        assert_eq!(
            trap[1].value,
            Value::ObjectIdentifier(Oid::new(&[1, 3, 6, 1, 2, 1, 207, 0, 1]))
        );
        assert_eq!(trap[2].name, vrrpv3_mib().child(&[1, 1, 1, 1, 3, 3, 52, 2]));
        // VI_INNER became MASTER with its sync group: masterNoResponse(3).
        assert_eq!(trap[3].value, Value::Integer(3));
        s.vrrp_instances[1].virtual_ipaddress.clear();
        assert!(new_master(9, &s.vrrp_instances[1]).is_none());
    }
}
