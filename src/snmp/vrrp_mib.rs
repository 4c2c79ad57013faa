//! RFC 2787's VRRP-MIB (mib-2.68, `enable_snmp_rfcv2`) built from a status
//! snapshot: vrrpNodeVersion, vrrpNotificationCntl, vrrpOperTable,
//! vrrpAssoIpAddrTable, the vrrpRouterStats scalars, vrrpRouterStatsTable,
//! and the vrrpTrapNewMaster notification.
//!
//! Owns the mapping from the status model to this MIB, column by column
//! as keepalived fills it; sans-IO. Only VRRPv2 IPv4 instances with at
//! least one virtual address appear (VRRPv3 ones belong to RFC 6527's
//! MIB, and RFC 2787 knows IPv4 only). Rows are indexed by (ifIndex,
//! VRID). Columns tandem has no truthful value for are left out rather
//! than filled with a constant: vrrpOperVirtualMacAddr (keepalived shows
//! the interface's MAC there), vrrpOperAuthKey (never readable), and
//! vrrpStatsInvalidAuthType / vrrpStatsAuthTypeMismatch (tandem counts
//! every authentication drop in vrrpStatsAuthFailures).

use std::net::{IpAddr, Ipv4Addr};

use crate::control::model::{StatusSnapshot, VrrpInstanceStatus, VrrpState};

use super::common::{Clock, notification, parse_vip};
use super::pdu::{Oid, Value, VarBind};
use super::view::MibView;

/// 1.3.6.1.2.1.68: VRRP-MIB's root.
pub fn vrrp_mib() -> Oid {
    Oid::new(&[1, 3, 6, 1, 2, 1, 68])
}

/// vrrpOperState and vrrpv3OperationsStatus: initialize(1), backup(2),
/// master(3); FAULT and STOP read as initialize, as keepalived's do.
pub(super) fn rfc_state(s: VrrpState) -> i32 {
    match s {
        VrrpState::Backup => 2,
        VrrpState::Master => 3,
        VrrpState::Initialize | VrrpState::Fault | VrrpState::Stop => 1,
    }
}

/// TruthValue: true(1), false(2).
pub(super) fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

/// The instance's virtual addresses, as parsed from the status model.
pub(super) fn vips(inst: &VrrpInstanceStatus) -> Vec<IpAddr> {
    inst.virtual_ipaddress
        .iter()
        .filter_map(|v| parse_vip(v).map(|(a, _, _)| a))
        .collect()
}

/// Whether RFC 2787 shows this instance: VRRPv2, IPv4, with addresses.
fn suitable(inst: &VrrpInstanceStatus) -> bool {
    let v = vips(inst);
    inst.version == 2 && !v.is_empty() && v.iter().all(IpAddr::is_ipv4)
}

fn ipv4(a: Option<IpAddr>) -> Ipv4Addr {
    match a {
        Some(IpAddr::V4(v4)) => v4,
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// Centiseconds from `from` to `to` (Unix ms), 0 if `to` is earlier.
pub(super) fn centis(from: u64, to: u64) -> u32 {
    u32::try_from(to.saturating_sub(from) / 10).unwrap_or(u32::MAX)
}

/// A Counter32 from a 64-bit count: the low 32 bits, as a Counter32 wraps.
fn c32(n: u64) -> Value {
    Value::Counter32(n as u32)
}

/// Every object of the MIB, as the snapshot has them.
pub fn add(view: &mut MibView, s: &StatusSnapshot, traps: bool, clock: Clock) {
    let root = vrrp_mib();
    view.insert(root.child(&[1, 1, 0]), Value::Integer(2));
    view.insert(root.child(&[1, 2, 0]), truth(traps));
    let rows: Vec<&VrrpInstanceStatus> = s.vrrp_instances.iter().filter(|i| suitable(i)).collect();
    let mut sums = [0u64; 3];
    for inst in &rows {
        add_oper(view, inst, clock);
        add_stats(view, inst);
        let e = &inst.counters.rx_errors;
        sums[0] += e.checksum_errors;
        sums[1] += e.version_errors;
        sums[2] += e.vrid_errors;
    }
    for (i, n) in (1u32..).zip(sums) {
        view.insert(root.child(&[2, i, 0]), c32(n));
    }
}

/// The row index: ifIndex, VRID.
fn index(inst: &VrrpInstanceStatus) -> [u32; 2] {
    [inst.router.ifindex, u32::from(inst.virtual_router_id)]
}

/// One vrrpOperTable row (vrrpOperations.3) and its vrrpAssoIpAddrTable
/// rows (vrrpOperations.4).
fn add_oper(view: &mut MibView, inst: &VrrpInstanceStatus, clock: Clock) {
    let [ifx, vrid] = index(inst);
    let col = |c: u32| vrrp_mib().child(&[1, 3, 1, c, ifx, vrid]);
    let addrs = vips(inst);
    let r = &inst.router;
    view.insert(col(3), Value::Integer(rfc_state(inst.state)));
    // vrrpOperAdminState: up(1); the MIB is read-only, nothing sets down.
    view.insert(col(4), Value::Integer(1));
    view.insert(col(5), Value::Integer(i32::from(inst.priority)));
    let count = i32::try_from(addrs.len()).unwrap_or(i32::MAX);
    view.insert(col(6), Value::Integer(count));
    view.insert(col(7), Value::IpAddress(ipv4(inst.master_address)));
    view.insert(col(8), Value::IpAddress(ipv4(r.primary_address)));
    // vrrpOperAuthType: noAuthentication(1), simpleTextPassword(2),
    // ipAuthenticationHeader(3).
    let auth = match r.auth_type.as_str() {
        "PASS" => 2,
        "AH" => 3,
        _ => 1,
    };
    view.insert(col(9), Value::Integer(auth));
    let secs = i32::try_from(inst.advert_interval_ms / 1000).unwrap_or(i32::MAX);
    view.insert(col(11), Value::Integer(secs));
    view.insert(col(12), truth(!r.nopreempt));
    // vrrpOperVirtualRouterUpTime: sysUpTime when the router left INIT.
    let up = match (inst.state, r.up_since_unix_ms) {
        (VrrpState::Backup | VrrpState::Master, Some(t)) => centis(clock.agent_start_unix_ms, t),
        _ => 0,
    };
    view.insert(col(13), Value::TimeTicks(up));
    // vrrpOperProtocol: ip(1); vrrpOperRowStatus: active(1).
    view.insert(col(14), Value::Integer(1));
    view.insert(col(15), Value::Integer(1));
    for a in addrs {
        if let IpAddr::V4(v4) = a {
            let mut name = vrrp_mib().child(&[1, 4, 1, 2, ifx, vrid]);
            name.0.extend(v4.octets().iter().map(|b| u32::from(*b)));
            view.insert(name, Value::Integer(1));
        }
    }
}

/// One vrrpRouterStatsTable row (vrrpStatistics.4).
fn add_stats(view: &mut MibView, inst: &VrrpInstanceStatus) {
    let [ifx, vrid] = index(inst);
    let col = |c: u32| vrrp_mib().child(&[2, 4, 1, c, ifx, vrid]);
    let c = &inst.counters;
    let e = &c.rx_errors;
    view.insert(col(1), c32(c.became_master));
    view.insert(col(2), c32(c.adverts_received));
    view.insert(col(3), c32(e.adv_interval_errors));
    view.insert(col(4), c32(e.auth_errors));
    view.insert(col(5), c32(e.ip_ttl_errors));
    view.insert(col(6), c32(c.priority_zero_received));
    view.insert(col(7), c32(c.priority_zero_sent));
    view.insert(col(8), c32(e.invalid_type_errors));
    view.insert(col(9), c32(e.address_list_errors));
    view.insert(col(12), c32(e.packet_length_errors()));
}

/// vrrpTrapNewMaster (vrrpNotifications.1) for an instance that has just
/// become MASTER: vrrpOperMasterIpAddr of its row, our own address. None
/// for an instance this MIB does not show.
pub fn new_master(uptime_cs: u32, inst: &VrrpInstanceStatus) -> Option<Vec<VarBind>> {
    if !suitable(inst) {
        return None;
    }
    let [ifx, vrid] = index(inst);
    Some(notification(
        uptime_cs,
        vrrp_mib().child(&[0, 1]),
        vec![VarBind {
            name: vrrp_mib().child(&[1, 3, 1, 7, ifx, vrid]),
            value: Value::IpAddress(ipv4(inst.router.primary_address)),
        }],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    fn at(view: &MibView, tail: &[u32]) -> Option<Value> {
        view.value(&vrrp_mib().child(tail)).cloned()
    }

    const CLOCK: Clock = Clock {
        now_unix_ms: 0,
        agent_start_unix_ms: 0,
    };

    #[test]
    fn the_example_maps_column_by_column() {
        let mut s = example_snapshot();
        let start = s.vrrp_instances[0].router.up_since_unix_ms.unwrap_or(0) - 1230;
        s.vrrp_instances[0].counters.priority_zero_sent = 4;
        let mut v = MibView::default();
        let clock = Clock {
            now_unix_ms: 0,
            agent_start_unix_ms: start,
        };
        add(&mut v, &s, true, clock);
        assert_eq!(at(&v, &[1, 1, 0]), Some(Value::Integer(2)));
        assert_eq!(at(&v, &[1, 2, 0]), Some(Value::Integer(1)));
        // VI_OUTER: ifIndex 2, VRID 51, MASTER, 150, one address, PASS.
        let row = |c: u32| at(&v, &[1, 3, 1, c, 2, 51]);
        assert_eq!(row(3), Some(Value::Integer(3)));
        assert_eq!(row(4), Some(Value::Integer(1)));
        assert_eq!(row(5), Some(Value::Integer(150)));
        assert_eq!(row(6), Some(Value::Integer(1)));
        let own = Value::IpAddress(Ipv4Addr::new(192, 0, 2, 11));
        assert_eq!(row(7), Some(own.clone()));
        assert_eq!(row(8), Some(own));
        assert_eq!(row(9), Some(Value::Integer(2)));
        assert_eq!(row(11), Some(Value::Integer(1)));
        assert_eq!(row(12), Some(Value::Integer(1)));
        assert_eq!(row(13), Some(Value::TimeTicks(123)));
        assert_eq!(row(2), None);
        assert_eq!(
            at(&v, &[1, 4, 1, 2, 2, 51, 192, 0, 2, 2]),
            Some(Value::Integer(1))
        );
        // Statistics: the row, and the sums of the scalars.
        let stat = |c: u32| at(&v, &[2, 4, 1, c, 2, 51]);
        assert_eq!(stat(1), Some(Value::Counter32(1)));
        assert_eq!(stat(2), Some(Value::Counter32(3)));
        assert_eq!(stat(7), Some(Value::Counter32(4)));
        assert_eq!(stat(12), Some(Value::Counter32(1)));
        assert_eq!(at(&v, &[2, 1, 0]), Some(Value::Counter32(2)));
        // VI_INNER, ifIndex 3, VRID 52: no auth.
        assert_eq!(at(&v, &[1, 3, 1, 9, 3, 52]), Some(Value::Integer(1)));
    }

    #[test]
    fn only_vrrpv2_ipv4_instances_with_addresses_appear() {
        let mut s = example_snapshot();
        s.vrrp_instances[0].version = 3;
        s.vrrp_instances[1].virtual_ipaddress = vec!["2001:db8::1/64 dev eth1".into()];
        let mut v = MibView::default();
        add(&mut v, &s, false, CLOCK);
        assert!(
            v.iter()
                .all(|(k, _)| !k.starts_with(&vrrp_mib().child(&[1, 3])))
        );
        assert_eq!(at(&v, &[1, 2, 0]), Some(Value::Integer(2)));
        assert!(new_master(0, &s.vrrp_instances[0]).is_none());
        let s = example_snapshot();
        let trap = new_master(7, &s.vrrp_instances[1]).unwrap_or_default();
        assert_eq!(
            trap[1].value,
            Value::ObjectIdentifier(Oid::new(&[1, 3, 6, 1, 2, 1, 68, 0, 1]))
        );
        assert_eq!(trap[2].name, vrrp_mib().child(&[1, 3, 1, 7, 3, 52]));
        assert_eq!(
            trap[2].value,
            Value::IpAddress(Ipv4Addr::new(198, 51, 100, 2))
        );
    }
}
