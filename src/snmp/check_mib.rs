//! KEEPALIVED-MIB's checker part (keepalived.3, `enable_snmp_checker`)
//! built from a status snapshot: virtualServerTable (check.3),
//! realServerTable (check.4, the sorry server first, as keepalived lists
//! it), and the realServerStateChange / virtualServerQuorumStateChange
//! notifications (checkTraps.1 and .2).
//!
//! Owns the mapping from the status model's virtual and real servers to
//! OIDs and values, column by column as keepalived's `check_snmp.c` fills
//! them; sans-IO. Rows are numbered from 1 in configuration order, as
//! keepalived numbers them. The IPVS counters and rates come from the
//! status model's `ipvs` (read from the kernel by `daemon::ipvs_stats`).
//! Columns the status model has no value for (persistence, the retry and
//! delay knobs, notify scripts) are absent, as keepalived leaves out a column it has no
//! value for: a reader sees noSuchInstance, never an invented number.

use std::net::{IpAddr, SocketAddr};

use crate::control::model::{RealServerStatus, StatusSnapshot, VirtualServerStatus};
use crate::ipvs::types::Stats;

use super::common::notification;
use super::pdu::{Oid, Value, VarBind};
use super::view::MibView;

/// keepalived.3: the checker part.
pub fn check() -> Oid {
    Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 3])
}

/// routerId.0 (the global group), in every notification.
fn router_id_oid() -> Oid {
    Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 1, 2, 0])
}

/// A TruthValue, and the many two-valued enums keepalived fills as one:
/// 1 for true, 2 for false.
fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

fn count(n: usize) -> Value {
    Value::Gauge32(u32::try_from(n).unwrap_or(u32::MAX))
}

/// InetAddressType: ipv4(1), ipv6(2).
fn addr_type(ip: IpAddr) -> Value {
    Value::Integer(if ip.is_ipv4() { 1 } else { 2 })
}

fn addr_bytes(ip: IpAddr) -> Value {
    Value::OctetString(match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    })
}

/// virtualServerType: fwmark(1), ip(2), group(3).
fn vs_type(vs: &VirtualServerStatus) -> i32 {
    if vs.group.is_some() {
        3
    } else if vs.fwmark.is_some() {
        1
    } else {
        2
    }
}

/// virtualServerProtocol: tcp(1), udp(2), sctp(3), none(4).
fn protocol(vs: &VirtualServerStatus) -> i32 {
    match vs.protocol.as_str() {
        "tcp" => 1,
        "udp" => 2,
        "sctp" => 3,
        _ => 4,
    }
}

/// virtualServerLoadBalancingAlgo, unknown(99) for a scheduler the MIB
/// does not list.
fn sched(name: &str) -> i32 {
    const NAMES: [&str; 14] = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
        "twos",
    ];
    NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|i| i32::try_from(i + 1).ok())
        .unwrap_or(99)
}

/// virtualServerLoadBalancingKind: nat(1), dr(2), tun(3).
fn method(name: &str) -> Option<i32> {
    match name {
        "NAT" => Some(1),
        "DR" => Some(2),
        "TUN" => Some(3),
        _ => None,
    }
}

fn alive_count(vs: &VirtualServerStatus) -> usize {
    vs.real_servers.iter().filter(|r| r.alive).count()
}

/// Both tables of the checker part.
pub fn add(view: &mut MibView, s: &StatusSnapshot) {
    for (i, vs) in (1u32..).zip(&s.virtual_servers) {
        add_virtual_server(view, i, vs);
        add_real_servers(view, i, vs);
    }
}

/// One row of virtualServerTable (check.3.1.COLUMN.ROW).
fn add_virtual_server(view: &mut MibView, row: u32, vs: &VirtualServerStatus) {
    let entry = check().child(&[3, 1]);
    let mut put = |c: u32, v: Value| view.insert(entry.child(&[c, row]), v);
    let kind = vs_type(vs);
    put(2, Value::Integer(kind));
    match (kind, &vs.group, vs.fwmark, vs.address) {
        (3, Some(g), _, _) => put(3, Value::text(g)),
        (1, _, Some(m), _) => put(4, Value::Gauge32(m)),
        (2, _, _, Some(a)) => {
            put(6, addr_bytes(a.ip()));
            put(7, Value::Gauge32(u32::from(a.port())));
        }
        _ => {}
    }
    put(5, Value::Integer(if vs.ipv6 { 2 } else { 1 }));
    if kind != 1 {
        put(8, Value::Integer(protocol(vs)));
    }
    put(9, Value::Integer(sched(&vs.lvs_sched)));
    if let Some(m) = method(&vs.lvs_method) {
        put(10, Value::Integer(m));
    }
    // virtualServerStatus: alive while the service is in the IPVS table.
    put(11, truth(vs.installed));
    put(20, count(vs.real_servers.len()));
    put(21, count(alive_count(vs)));
    put(22, Value::Gauge32(vs.quorum));
    put(23, truth(vs.quorum_up));
    put(26, Value::Gauge32(vs.hysteresis));
    if let Some(n) = &vs.snmp_name {
        put(71, Value::text(n));
    }
    let set = &vs.settings;
    put(13, truth(set.persistence_timeout_s.is_some()));
    if let Some(t) = set.persistence_timeout_s {
        put(14, Value::Gauge32(u32::try_from(t).unwrap_or(u32::MAX)));
    }
    put(
        16,
        Value::Gauge32(u32::try_from(set.delay_loop_s).unwrap_or(u32::MAX)),
    );
    put(17, truth(set.ha_suspend));
    put(18, truth(set.alpha));
    put(19, truth(set.omega));
    put(37, truth(set.ops));
    if let Some(st) = &vs.ipvs {
        // virtualServerStatsConns .. virtualServerRateOutBPSHigh.
        put_stats(&mut put, st, [27, 28, 29, 30, 31, 32, 38, 41]);
    }
}

/// The counter columns of one row, keepalived's way: the 32-bit ones
/// (connections, packets; the rates) truncated, the bytes and the *64 ones
/// Counter64, each rate split into Low/High halves. `cols` are the column
/// numbers of Conns, InPkts, OutPkts, InBytes, OutBytes, the first rate,
/// Conns64 and the first rate's Low.
fn put_stats(put: &mut impl FnMut(u32, Value), st: &Stats, cols: [u32; 8]) {
    let [
        conns,
        inpkts,
        outpkts,
        inbytes,
        outbytes,
        rate,
        conns64,
        low,
    ] = cols;
    put(conns, Value::Gauge32(st.conns as u32));
    put(inpkts, Value::Counter32(st.inpkts as u32));
    put(outpkts, Value::Counter32(st.outpkts as u32));
    put(inbytes, Value::Counter64(st.inbytes));
    put(outbytes, Value::Counter64(st.outbytes));
    let rates = [st.cps, st.inpps, st.outpps, st.inbps, st.outbps];
    for (i, r) in (0u32..).zip(rates) {
        put(rate + i, Value::Gauge32(r as u32));
        put(low + 2 * i, Value::Gauge32(r as u32));
        put(low + 2 * i + 1, Value::Gauge32((r >> 32) as u32));
    }
    put(conns64, Value::Counter64(st.conns));
    put(conns64 + 1, Value::Counter64(st.inpkts));
    put(conns64 + 2, Value::Counter64(st.outpkts));
}

/// realServerTable rows of one virtual server (check.4.1.COLUMN.VS.RS):
/// the sorry server first when there is one, then the real servers.
fn add_real_servers(view: &mut MibView, vs_row: u32, vs: &VirtualServerStatus) {
    let entry = check().child(&[4, 1]);
    let mut row = 0u32;
    let address = |view: &mut MibView, row: u32, a: SocketAddr| {
        let at = |c: u32| entry.child(&[c, vs_row, row]);
        view.insert(at(3), addr_type(a.ip()));
        view.insert(at(4), addr_bytes(a.ip()));
        view.insert(at(5), Value::Gauge32(u32::from(a.port())));
    };
    let set = &vs.settings;
    if let Some(sorry) = vs.sorry_server {
        row += 1;
        view.insert(entry.child(&[2, vs_row, row]), Value::Integer(2));
        address(view, row, sorry);
        if let Some(m) = set.sorry_lvs_method.as_deref().and_then(method) {
            view.insert(entry.child(&[40, vs_row, row]), Value::Integer(m));
        }
        // realServerAlpha: a sorry server is never checked.
        view.insert(entry.child(&[42, vs_row, row]), truth(false));
    }
    for (i, rs) in vs.real_servers.iter().enumerate() {
        row += 1;
        view.insert(entry.child(&[2, vs_row, row]), Value::Integer(1));
        address(view, row, rs.address);
        let mut put = |c: u32, v: Value| view.insert(entry.child(&[c, vs_row, row]), v);
        if let Some(m) = set.rs_lvs_method.get(i).and_then(|m| method(m)) {
            put(40, Value::Integer(m));
        }
        if let Some(a) = set.rs_alpha.get(i) {
            put(42, truth(*a));
        }
        put(6, truth(rs.alive));
        put(7, Value::Integer(rs_weight(rs)));
        // realServerActionWhenDown: remove(1), inhibit(2).
        put(10, truth(!rs.inhibit_on_failure));
        put(13, Value::Gauge32(rs.failing_checkers));
        if let Some(n) = &rs.snmp_name {
            put(55, Value::text(n));
        }
        if let Some(c) = &rs.ipvs {
            // The connection counts, and the counters as for the virtual
            // server (realServerStatsConns is column 14).
            put(15, Value::Gauge32(c.active_conns));
            put(16, Value::Gauge32(c.inactive_conns));
            put(17, Value::Gauge32(c.persistent_conns));
            put_stats(&mut put, &c.stats, [14, 18, 19, 20, 21, 22, 27, 30]);
        }
    }
}

/// realServerWeight, keepalived's effective weight: what IPVS has for it
/// while it serves (a MISC_CHECK's dynamic weight included), the
/// configured one while it is down or at 0 in IPVS for the sorry server
/// (keepalived keeps its weight then and reports it).
fn rs_weight(rs: &RealServerStatus) -> i32 {
    if rs.alive && rs.effective_weight > 0 {
        rs.effective_weight
    } else {
        rs.weight
    }
}

/// A column of virtualServerTable named without a row, as the traps name
/// their objects.
fn vs_col(c: u32) -> Oid {
    check().child(&[3, 1, c])
}

fn vb(name: Oid, value: Value) -> VarBind {
    VarBind { name, value }
}

/// The virtual server's part of both traps: its type, what identifies it
/// (group name, fwmark, or address and port) and, for a fwmark service
/// too, virtualServerProtocol as keepalived sends it (tcp(1), else 2).
fn vs_objects(vs: &VirtualServerStatus) -> Vec<VarBind> {
    let kind = vs_type(vs);
    let mut v = vec![vb(vs_col(2), Value::Integer(kind))];
    match (kind, &vs.group, vs.fwmark, vs.address) {
        (3, Some(g), _, _) => v.push(vb(vs_col(3), Value::text(g))),
        (1, _, Some(m), _) => v.push(vb(vs_col(4), Value::Gauge32(m))),
        (_, _, _, Some(a)) => {
            v.push(vb(vs_col(5), addr_type(a.ip())));
            v.push(vb(vs_col(6), addr_bytes(a.ip())));
            v.push(vb(vs_col(7), Value::Gauge32(u32::from(a.port()))));
        }
        _ => {}
    }
    v.push(vb(vs_col(8), truth(vs.protocol == "tcp")));
    v
}

/// realServerStateChange (checkTraps.1) for `rs` of `vs`, with `up` of
/// the virtual server's real servers alive at that moment.
pub fn real_server_state_change(
    uptime_cs: u32,
    router_id: &str,
    vs: &VirtualServerStatus,
    rs: &RealServerStatus,
    up: usize,
) -> Vec<VarBind> {
    let rs_col = |c: u32| check().child(&[4, 1, c]);
    let mut objects = vec![
        vb(rs_col(3), addr_type(rs.address.ip())),
        vb(rs_col(4), addr_bytes(rs.address.ip())),
        vb(rs_col(5), Value::Gauge32(u32::from(rs.address.port()))),
        vb(rs_col(6), truth(rs.alive)),
    ];
    objects.extend(vs_objects(vs));
    objects.push(vb(vs_col(21), count(up)));
    objects.push(vb(vs_col(20), count(vs.real_servers.len())));
    objects.push(vb(router_id_oid(), Value::text(router_id)));
    notification(uptime_cs, check().child(&[5, 0, 1]), objects)
}

/// virtualServerQuorumStateChange (checkTraps.2).
pub fn quorum_state_change(
    uptime_cs: u32,
    router_id: &str,
    vs: &VirtualServerStatus,
) -> Vec<VarBind> {
    let mut objects = vs_objects(vs);
    objects.push(vb(vs_col(23), truth(vs.quorum_up)));
    objects.push(vb(vs_col(22), Value::Gauge32(vs.quorum)));
    objects.push(vb(vs_col(21), count(alive_count(vs))));
    objects.push(vb(vs_col(20), count(vs.real_servers.len())));
    objects.push(vb(router_id_oid(), Value::text(router_id)));
    notification(uptime_cs, check().child(&[5, 0, 2]), objects)
}

/// The quorum notifications keepalived sends as its checker starts: quorum
/// met for every virtual server that starts with it, notMet for one that
/// starts without it and has a sorry server ("Starting with quorum down");
/// nothing for one that starts without quorum or sorry server.
pub fn startup_traps(s: &StatusSnapshot, uptime_cs: u32) -> Vec<Vec<VarBind>> {
    s.virtual_servers
        .iter()
        .filter(|vs| vs.quorum_up || vs.sorry_server.is_some())
        .map(|vs| quorum_state_change(uptime_cs, &s.router_id, vs))
        .collect()
}

/// The checker notifications from one snapshot to the next, in the order
/// keepalived sends them: per virtual server, each real server that came
/// up or went down (the up count as it was right after that one), then
/// the quorum if it changed. A virtual or real server new in `after` (a
/// reload) sends nothing.
pub fn traps(before: &StatusSnapshot, after: &StatusSnapshot, uptime_cs: u32) -> Vec<Vec<VarBind>> {
    let mut out = Vec::new();
    for vs in &after.virtual_servers {
        let Some(old) = before.virtual_servers.iter().find(|o| o.name == vs.name) else {
            continue;
        };
        let mut up = alive_count(old);
        for rs in &vs.real_servers {
            let Some(was) = old.real_servers.iter().find(|o| o.address == rs.address) else {
                continue;
            };
            if was.alive == rs.alive {
                continue;
            }
            up = if rs.alive {
                up + 1
            } else {
                up.saturating_sub(1)
            };
            out.push(real_server_state_change(
                uptime_cs,
                &after.router_id,
                vs,
                rs,
                up,
            ));
        }
        if old.quorum_up != vs.quorum_up {
            out.push(quorum_state_change(uptime_cs, &after.router_id, vs));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    fn at(view: &MibView, tail: &[u32]) -> Option<Value> {
        view.value(&check().child(tail)).cloned()
    }

    #[test]
    fn the_example_maps_column_by_column() {
        let s = example_snapshot();
        let mut v = MibView::default();
        add(&mut v, &s);
        // [192.0.2.2]:tcp:80, rr, NAT, 1 of 2 up, quorum 1 met, "web".
        assert_eq!(at(&v, &[3, 1, 2, 1]), Some(Value::Integer(2)));
        assert_eq!(at(&v, &[3, 1, 3, 1]), None);
        assert_eq!(at(&v, &[3, 1, 4, 1]), None);
        assert_eq!(at(&v, &[3, 1, 5, 1]), Some(Value::Integer(1)));
        assert_eq!(
            at(&v, &[3, 1, 6, 1]),
            Some(Value::OctetString(vec![192, 0, 2, 2]))
        );
        assert_eq!(at(&v, &[3, 1, 7, 1]), Some(Value::Gauge32(80)));
        assert_eq!(at(&v, &[3, 1, 8, 1]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[3, 1, 9, 1]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[3, 1, 10, 1]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[3, 1, 11, 1]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[3, 1, 20, 1]), Some(Value::Gauge32(2)));
        assert_eq!(at(&v, &[3, 1, 21, 1]), Some(Value::Gauge32(1)));
        assert_eq!(at(&v, &[3, 1, 22, 1]), Some(Value::Gauge32(1)));
        assert_eq!(at(&v, &[3, 1, 23, 1]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[3, 1, 71, 1]), Some(Value::text("web")));
        // The sorry server is row 1 (type sorry, no status or weight).
        assert_eq!(at(&v, &[4, 1, 2, 1, 1]), Some(Value::Integer(2)));
        assert_eq!(
            at(&v, &[4, 1, 4, 1, 1]),
            Some(Value::OctetString(vec![198, 51, 100, 20]))
        );
        assert_eq!(at(&v, &[4, 1, 6, 1, 1]), None);
        // 198.51.100.10 alive at weight 1; .11 dead, inhibited, 1 failing.
        assert_eq!(at(&v, &[4, 1, 2, 1, 2]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[4, 1, 5, 1, 2]), Some(Value::Gauge32(80)));
        assert_eq!(at(&v, &[4, 1, 6, 1, 2]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[4, 1, 7, 1, 2]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[4, 1, 6, 1, 3]), Some(Value::Integer(2)));
        assert_eq!(at(&v, &[4, 1, 7, 1, 3]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[4, 1, 10, 1, 3]), Some(Value::Integer(2)));
        assert_eq!(at(&v, &[4, 1, 13, 1, 3]), Some(Value::Gauge32(1)));
        assert_eq!(at(&v, &[4, 1, 13, 1, 2]), Some(Value::Gauge32(0)));
    }

    #[test]
    fn the_kernel_counters_fill_keepalived_s_columns() {
        let mut s = example_snapshot();
        let st = Stats {
            conns: (1 << 32) + 5,
            inpkts: 6,
            outpkts: 7,
            inbytes: 1 << 40,
            outbytes: 9,
            cps: 1,
            inpps: 2,
            outpps: 3,
            inbps: (3 << 32) + 4,
            outbps: 5,
        };
        s.virtual_servers[0].ipvs = Some(st);
        s.virtual_servers[0].real_servers[0].ipvs = Some(crate::control::model::DestCounters {
            active_conns: 11,
            inactive_conns: 12,
            persistent_conns: 13,
            stats: st,
        });
        let mut v = MibView::default();
        add(&mut v, &s);
        // Conns as Gauge32 (truncated, as keepalived's unsigned long
        // reaches net-snmp), the bytes and Conns64 whole.
        assert_eq!(at(&v, &[3, 1, 27, 1]), Some(Value::Gauge32(5)));
        assert_eq!(at(&v, &[3, 1, 28, 1]), Some(Value::Counter32(6)));
        assert_eq!(at(&v, &[3, 1, 30, 1]), Some(Value::Counter64(1 << 40)));
        assert_eq!(at(&v, &[3, 1, 35, 1]), Some(Value::Gauge32(4)));
        assert_eq!(
            at(&v, &[3, 1, 38, 1]),
            Some(Value::Counter64((1 << 32) + 5))
        );
        assert_eq!(at(&v, &[3, 1, 40, 1]), Some(Value::Counter64(7)));
        assert_eq!(at(&v, &[3, 1, 47, 1]), Some(Value::Gauge32(4)));
        assert_eq!(at(&v, &[3, 1, 48, 1]), Some(Value::Gauge32(3)));
        assert_eq!(at(&v, &[3, 1, 50, 1]), Some(Value::Gauge32(0)));
        assert_eq!(at(&v, &[3, 1, 51, 1]), None);
        // The real server (row 2: the sorry server is row 1).
        assert_eq!(at(&v, &[4, 1, 14, 1, 2]), Some(Value::Gauge32(5)));
        assert_eq!(at(&v, &[4, 1, 15, 1, 2]), Some(Value::Gauge32(11)));
        assert_eq!(at(&v, &[4, 1, 17, 1, 2]), Some(Value::Gauge32(13)));
        assert_eq!(at(&v, &[4, 1, 18, 1, 2]), Some(Value::Counter32(6)));
        assert_eq!(at(&v, &[4, 1, 21, 1, 2]), Some(Value::Counter64(9)));
        assert_eq!(at(&v, &[4, 1, 25, 1, 2]), Some(Value::Gauge32(4)));
        assert_eq!(
            at(&v, &[4, 1, 27, 1, 2]),
            Some(Value::Counter64((1 << 32) + 5))
        );
        assert_eq!(at(&v, &[4, 1, 37, 1, 2]), Some(Value::Gauge32(3)));
        assert_eq!(at(&v, &[4, 1, 39, 1, 2]), Some(Value::Gauge32(0)));
        assert_eq!(at(&v, &[4, 1, 14, 1, 3]), None);
    }

    #[test]
    fn schedulers_and_types_follow_the_mib() {
        assert_eq!(sched("wlc"), 4);
        assert_eq!(sched("twos"), 14);
        assert_eq!(sched("nonesuch"), 99);
        let mut vs = example_snapshot().virtual_servers.remove(0);
        vs.address = None;
        vs.fwmark = Some(7);
        vs.protocol = String::new();
        let mut v = MibView::default();
        let mut s = StatusSnapshot::new("lb1");
        s.virtual_servers = vec![vs.clone()];
        add(&mut v, &s);
        assert_eq!(at(&v, &[3, 1, 2, 1]), Some(Value::Integer(1)));
        assert_eq!(at(&v, &[3, 1, 4, 1]), Some(Value::Gauge32(7)));
        assert_eq!(at(&v, &[3, 1, 8, 1]), None);
        let q = quorum_state_change(0, "lb1", &vs);
        let names: Vec<Oid> = q.iter().map(|b| b.name.clone()).collect();
        assert!(names.contains(&vs_col(4)));
        assert!(!names.contains(&vs_col(6)));
    }

    #[test]
    fn traps_follow_the_changes_between_snapshots() {
        let before = example_snapshot();
        assert!(traps(&before, &before, 0).is_empty());
        let mut after = before.clone();
        // Both real servers down, the quorum lost.
        for rs in &mut after.virtual_servers[0].real_servers {
            rs.alive = false;
        }
        after.virtual_servers[0].quorum_up = false;
        let t = traps(&before, &after, 9);
        assert_eq!(t.len(), 2);
        let trap = |tail: u32| Value::ObjectIdentifier(check().child(&[5, 0, tail]));
        assert_eq!(t[0][1].value, trap(1));
        // 198.51.100.10 went down: status dead, 0 of 2 up.
        assert_eq!(t[0][3].value, Value::OctetString(vec![198, 51, 100, 10]));
        assert_eq!(t[0][5].value, Value::Integer(2));
        let get = |vbs: &[VarBind], name: Oid| {
            vbs.iter().find(|b| b.name == name).map(|b| b.value.clone())
        };
        assert_eq!(get(&t[0], vs_col(21)), Some(Value::Gauge32(0)));
        assert_eq!(get(&t[0], vs_col(20)), Some(Value::Gauge32(2)));
        assert_eq!(get(&t[0], router_id_oid()), Some(Value::text("lb1")));
        assert_eq!(t[1][1].value, trap(2));
        assert_eq!(get(&t[1], vs_col(23)), Some(Value::Integer(2)));
        assert_eq!(get(&t[1], vs_col(22)), Some(Value::Gauge32(1)));
        // A virtual server new in `after` sends nothing.
        let empty = StatusSnapshot::new("lb1");
        assert!(traps(&empty, &after, 0).is_empty());
        // At start: quorum met, or notMet with a sorry server; else nothing.
        let get23 = |s: &StatusSnapshot| {
            startup_traps(s, 0)
                .iter()
                .map(|t| get(t, vs_col(23)))
                .collect::<Vec<_>>()
        };
        assert_eq!(get23(&before), [Some(Value::Integer(1))]);
        assert_eq!(get23(&after), [Some(Value::Integer(2))]);
        after.virtual_servers[0].sorry_server = None;
        assert!(startup_traps(&after, 0).is_empty());
    }
}
