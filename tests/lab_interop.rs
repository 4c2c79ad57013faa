//! Interoperability with Debian's keepalived (issue 4, item 7): tandem and
//! keepalived as the two balancers, each in each role, with VRRPv2 + PASS
//! authentication (advert_int 1), VRRPv2 + keepalived's IPsec AH, and
//! VRRPv3 (advert_int 0.1), multicast and
//! unicast. At every stable point the elected master (what each daemon's
//! notify script was told) and the namespace holding the VIPs agree, and the
//! client is answered by that balancer:
//!
//! 1. both start: lb1 (priority 150) master, lb2 backup — lb2 accepts lb1's
//!    adverts as those of a higher-priority master;
//! 2. lb1 dies as a machine: lb2 master;
//! 3. lb1 returns: it preempts, lb2 steps down on its adverts;
//! 4. lb1 is stopped with SIGTERM: its priority-0 advert hands over to lb2.
//!
//! Then keepalived's log must show no complaint about a packet from its
//! peer (a bad checksum, authentication, length...): each advert tandem
//! sent was accepted as well-formed; and tandem's log no dropped advert:
//! each of keepalived's decoded.
//!
//! `TANDEM_LAB_INTEROP_KINDS=keepalived` runs the same matrix with
//! keepalived on both sides (a check of the test itself).

mod lab;

use std::time::Duration;

use lab::{Kind, Lab, Node, Notification, Vrrp, in_fork_order};

/// keepalived's phrases for an advert it dropped or distrusted.
const KEEPALIVED_COMPLAINTS: &[&str] = &[
    "invalid",
    "Invalid",
    "bad ",
    "too short",
    "too long",
    "mismatch",
    "bogus",
    "ignoring",
    "wrong",
    "error",
];

fn kinds(tandem_node: Node) -> [Kind; 2] {
    if std::env::var("TANDEM_LAB_INTEROP_KINDS").as_deref() == Ok("keepalived") {
        return [Kind::Keepalived, Kind::Keepalived];
    }
    match tandem_node {
        Node::Lb1 => [Kind::Tandem, Kind::Keepalived],
        Node::Lb2 => [Kind::Keepalived, Kind::Tandem],
    }
}

fn scenario(tag: &str, vrrp: Vrrp, tandem_node: Node) {
    let mut lab = Lab::with_kinds(tag, vrrp, kinds(tandem_node));
    lab.start_both();
    lab.assert_master(Node::Lb1);

    lab.kill_machine(Node::Lb1);
    lab.assert_master(Node::Lb2);

    lab.revive(Node::Lb1);
    lab.assert_master(Node::Lb1);

    lab.terminate(Node::Lb1);
    lab.wait_exit(Node::Lb1, Duration::from_secs(10));
    lab.assert_master(Node::Lb2);

    for node in Node::BOTH {
        if lab.kind(node) == Kind::Tandem {
            // Every keepalived advert decoded: tandem dropped none. Except
            // an AH advert whose sequence number tandem had already used:
            // at a handover both masters send for a moment, and their
            // adverts cross with the same number; keepalived drops those
            // too ("sequence number ... already processed"), and the
            // elections above show none was needed.
            let drops: Vec<String> = lab
                .log(node)
                .lines()
                .filter(|l| l.contains("dropped advert") || l.contains("malformed"))
                .filter(|l| !l.contains("sequence number already seen (replay)"))
                .map(str::to_owned)
                .collect();
            assert!(
                drops.is_empty(),
                "tandem on {node} dropped its peer's adverts:\n{}\n{}",
                drops.join("\n"),
                lab.report()
            );
            continue;
        }
        let log = lab.log(node);
        let complaints: Vec<&str> = log
            .lines()
            .filter(|l| KEEPALIVED_COMPLAINTS.iter().any(|c| l.contains(c)))
            .collect();
        assert!(
            complaints.is_empty(),
            "keepalived on {node} complained about its peer's packets:\n{}\n{}",
            complaints.join("\n"),
            lab.report()
        );
    }
}

fn v2_pass() -> Vrrp {
    Vrrp::default()
}

/// keepalived's IPsec AH (HMAC-MD5-96 keyed by auth_pass), VRRPv2.
fn v2_ah() -> Vrrp {
    Vrrp {
        auth_type: "AH",
        ..Vrrp::default()
    }
}

fn v3_fast() -> Vrrp {
    Vrrp::v3_fast()
}

fn unicast(v: Vrrp) -> Vrrp {
    Vrrp { unicast: true, ..v }
}

#[test]
fn v2_pass_multicast_tandem_master_keepalived_backup() {
    scenario("iv2mt", v2_pass(), Node::Lb1);
}

#[test]
fn v2_pass_multicast_keepalived_master_tandem_backup() {
    scenario("iv2mk", v2_pass(), Node::Lb2);
}

#[test]
fn v2_pass_unicast_tandem_master_keepalived_backup() {
    scenario("iv2ut", unicast(v2_pass()), Node::Lb1);
}

#[test]
fn v2_pass_unicast_keepalived_master_tandem_backup() {
    scenario("iv2uk", unicast(v2_pass()), Node::Lb2);
}

#[test]
fn v2_ah_multicast_tandem_master_keepalived_backup() {
    scenario("s7misc-ahmt", v2_ah(), Node::Lb1);
}

#[test]
fn v2_ah_multicast_keepalived_master_tandem_backup() {
    scenario("s7misc-ahmk", v2_ah(), Node::Lb2);
}

#[test]
fn v2_ah_unicast_tandem_master_keepalived_backup() {
    scenario("s7misc-ahut", unicast(v2_ah()), Node::Lb1);
}

#[test]
fn v2_ah_unicast_keepalived_master_tandem_backup() {
    scenario("s7misc-ahuk", unicast(v2_ah()), Node::Lb2);
}

#[test]
fn v3_fast_multicast_tandem_master_keepalived_backup() {
    scenario("iv3mt", v3_fast(), Node::Lb1);
}

#[test]
fn v3_fast_multicast_keepalived_master_tandem_backup() {
    scenario("iv3mk", v3_fast(), Node::Lb2);
}

#[test]
fn v3_fast_unicast_tandem_master_keepalived_backup() {
    scenario("iv3ut", unicast(v3_fast()), Node::Lb1);
}

#[test]
fn v3_fast_unicast_keepalived_master_tandem_backup() {
    scenario("iv3uk", unicast(v3_fast()), Node::Lb2);
}

/// keepalived forks a notify script per transition and does not wait, so
/// a MASTER-then-BACKUP pair made within a millisecond (its timer fired
/// as tandem's advert arrived) can be written BACKUP first: the lab read
/// that as "keepalived is MASTER" and timed out with keepalived a BACKUP
/// (issue 15's revert). The lab puts each burst back in fork (pid) order.
#[test]
fn notify_lines_written_out_of_order_are_read_in_the_order_forked() {
    let line = |state: &str, pid: u32, ms: u128| Notification {
        kind: "INSTANCE".into(),
        name: "VI_OUT".into(),
        state: state.into(),
        pid: Some(pid),
        nanos: Some(ms * 1_000_000),
    };
    let states = |lines: Vec<Notification>| -> Vec<String> {
        in_fork_order(lines).into_iter().map(|n| n.state).collect()
    };
    // keepalived's log: BACKUP (init), MASTER, BACKUP; the file: the last
    // two swapped.
    let raced = vec![
        line("BACKUP", 100, 0),
        line("BACKUP", 205, 1_002),
        line("MASTER", 203, 1_003),
    ];
    assert_eq!(states(raced), ["BACKUP", "MASTER", "BACKUP"]);
    // Across pid_max's wrap (32767 then 300) the order stands.
    let wrapped = vec![line("MASTER", 32_760, 0), line("BACKUP", 300, 5)];
    assert_eq!(states(wrapped), ["MASTER", "BACKUP"]);
    // Seconds apart: the file's order, whatever the pids (they wrapped).
    let apart = vec![line("BACKUP", 30_000, 0), line("MASTER", 20, 10_000)];
    assert_eq!(states(apart), ["BACKUP", "MASTER"]);
    let apart = vec![line("BACKUP", 500, 0), line("MASTER", 400, 10_000)];
    assert_eq!(states(apart), ["BACKUP", "MASTER"]);
}
