//! Hostile packets on the LAN (issue 4, item 8): malformed and spoofed VRRP
//! adverts, each claiming priority 255 so that a receiver fooled by any of
//! them would give up mastership at once. Each must be counted and dropped:
//! no state change on either balancer, the daemons alive, the client still
//! answered by lb1. `netns-lab/inject.py` crafts them from the client's
//! namespace.
//!
//! Every test ends with a positive control: a *correct* priority-255 advert
//! from the same injector must make lb1 step down — so the injector's
//! packets do reach the daemons, and "no state change" above means
//! "dropped", not "never arrived".
//!
//! Daemon per balancer as in `lab_failover.rs` (`TANDEM_LAB_DAEMON`).

mod lab;

use std::thread::sleep;
use std::time::Duration;

use lab::{AUTH_PASS, Kind, Lab, Node, VIP_OUT, Vrrp};

/// What the daemon's log must show for a dropped packet from `src` of
/// `kind`: keepalived logs its own phrases (and nothing for a VRID it does
/// not run); tandem logs "dropped advert from SRC: REASON".
fn drop_evidence(lab: &Lab, node: Node, kind: &str, src: &str) -> Result<(), String> {
    let log = lab.log(node);
    match lab.kind(node) {
        Kind::Keepalived => {
            let phrase = match kind {
                "ttl64" => "invalid TTL",
                "badsum" => "checksum",
                "truncated" | "shortaddr" => "too short",
                "badauth" => "invalid passwd",
                "badtype" => "Invalid packet type",
                // keepalived drops these silently (badversion: logged as a
                // length error, not worth matching).
                _ => return Ok(()),
            };
            if log.contains(phrase) {
                Ok(())
            } else {
                Err(format!(
                    "keepalived on {node} logged no {phrase:?} for {kind}"
                ))
            }
        }
        Kind::Tandem => {
            // Dropped by an instance: "dropped advert from SRC: REASON";
            // a VRID nobody runs: "advert for a VRID not configured here
            // ... src=SRC" (debug level).
            let found = log.lines().any(|l| {
                (l.contains("dropped") || l.contains("not configured")) && l.contains(src)
            });
            if found {
                Ok(())
            } else {
                Err(format!(
                    "tandem on {node} logged no drop of the {kind} advert from {src}"
                ))
            }
        }
    }
}

/// The counters tandem dumps on SIGUSR1, as one JSON object: the outer
/// instance's `rx_errors`, its `unicast_peer_drops`, and the outer
/// interface's receive-path drops (`unknown_vrid`, `malformed`).
fn tandem_counters(lab: &Lab, node: Node) -> serde_json::Value {
    let stats_lines = |l: &Lab| {
        l.log(node)
            .lines()
            .filter(|x| x.contains("VRRP_Instance(VI_OUT) stats"))
            .count()
    };
    let before = stats_lines(lab);
    lab.signal(node, libc::SIGUSR1);
    lab.wait_for(
        &format!("{node}'s counters after SIGUSR1"),
        Duration::from_secs(5),
        |l| (stats_lines(l) > before).then_some(()),
    );
    sleep(Duration::from_millis(200)); // the receive-path lines come with it
    let log = lab.log(node);
    let json_after = |line: &str, key: &str| -> serde_json::Value {
        line.split_once(key)
            .and_then(|(_, rest)| serde_json::Deserializer::from_str(rest).into_iter().next())
            .and_then(Result::ok)
            .unwrap_or(serde_json::Value::Null)
    };
    let inst = log
        .lines()
        .rev()
        .find(|l| l.contains("VRRP_Instance(VI_OUT) stats"))
        .unwrap_or_default();
    let rx = log
        .lines()
        .rev()
        .find(|l| l.contains("receive path stats") && l.contains("socket=eth0/"))
        .unwrap_or_default();
    let peer_drops: u64 = inst
        .split_whitespace()
        .find_map(|w| w.strip_prefix("unicast_peer_drops="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    serde_json::json!({
        "rx_errors": json_after(inst, "counters=")["rx_errors"],
        "unicast_peer_drops": peer_drops,
        "receive_path": json_after(rx, "stats="),
    })
}

/// Which of tandem's counters a hostile kind must have raised.
fn tandem_counter(kind: &str) -> &'static str {
    match kind {
        "ttl64" => "/rx_errors/ip_ttl_errors",
        "badsum" => "/rx_errors/checksum_errors",
        "truncated" | "shortaddr" => "/rx_errors/packet_length_errors",
        "badauth" => "/rx_errors/auth_errors",
        "badvrid" => "/receive_path/unknown_vrid",
        "badversion" => "/rx_errors/version_errors",
        "badtype" => "/rx_errors/invalid_type_errors",
        "notpeer" => "/unicast_peer_drops",
        other => panic!("no counter for {other}"),
    }
}

/// tandem's counters show at least `sent` drops of each kind (kinds that
/// share a counter add up).
fn assert_tandem_counted(lab: &Lab, kinds: &[&str], sent: u64) {
    for node in Node::BOTH {
        if lab.kind(node) != Kind::Tandem {
            continue;
        }
        let counters = tandem_counters(lab, node);
        for kind in kinds {
            let path = tandem_counter(kind);
            let expected = sent * kinds.iter().filter(|k| tandem_counter(k) == path).count() as u64;
            let got = counters.pointer(path).and_then(|v| v.as_u64()).unwrap_or(0);
            assert!(
                got >= expected,
                "tandem on {node} counted {got} at {path} for {kind}, sent {expected}\ncounters: {counters}\n{}",
                lab.report()
            );
        }
    }
}

/// Sends each hostile kind (a burst from its own source address), then
/// checks nothing changed and each drop shows in the log.
fn inject_all_and_check(lab: &mut Lab, kinds: &[&str], common: &[&str], dst: &[&str]) {
    let before = [
        lab.notifications(Node::Lb1).len(),
        lab.notifications(Node::Lb2).len(),
    ];
    let mut sources = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let src = format!("192.0.2.{}", 61 + i);
        let mut args = vec![
            "--kind",
            kind,
            "--src",
            &src,
            "--count",
            "5",
            "--interval",
            "0.02",
        ];
        args.extend_from_slice(common);
        args.extend_from_slice(dst);
        lab.inject("client", &args);
        // One burst per second: a daemon may log drops at most once a
        // second per instance, and each kind should get its own line.
        sleep(Duration::from_millis(1100));
        sources.push((kind.to_string(), src));
    }
    sleep(lab.vrrp.advert_interval() * 2);

    for node in Node::BOTH {
        assert!(lab.alive(node), "{node}'s daemon died\n{}", lab.report());
        let new = &lab.notifications(node)[before[node as usize]..];
        assert!(
            new.is_empty(),
            "{node} changed state on hostile adverts: {new:?}\n{}",
            lab.report()
        );
    }
    assert_eq!(lab.holders(VIP_OUT), vec![Node::Lb1], "{}", lab.report());
    lab.assert_answers(Node::Lb1);
    let mut missing = Vec::new();
    for (kind, src) in &sources {
        for node in Node::BOTH {
            if let Err(e) = drop_evidence(lab, node, kind, src) {
                missing.push(e);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "drops not counted:\n{}\n{}",
        missing.join("\n"),
        lab.report()
    );
    assert_tandem_counted(lab, kinds, 5);
}

/// The positive control: correct priority-255 adverts make lb1 BACKUP; when
/// they stop, lb1 is master again.
fn control_correct_advert_is_obeyed(lab: &Lab, args: &[&str]) {
    let before = lab.notifications(Node::Lb1).len();
    lab.inject("client", args);
    lab.wait_for(
        "lb1 to obey the correct priority-255 advert",
        lab::SETTLE,
        |l| {
            l.notifications(Node::Lb1)[before..]
                .iter()
                .any(|(_, _, s)| s == "BACKUP")
                .then_some(())
        },
    );
    lab.assert_master(Node::Lb1);
}

#[test]
fn hostile_vrrpv2_multicast_adverts_are_dropped_and_counted() {
    let vrrp = Vrrp {
        inner: false,
        sync_group: false,
        ..Vrrp::default()
    };
    let common = [
        "--version",
        "2",
        "--vrid",
        "51",
        "--prio",
        "255",
        "--vip",
        VIP_OUT,
        "--advert-int",
        "1",
        "--auth-pass",
        AUTH_PASS,
    ];
    let kinds = [
        "ttl64",
        "badsum",
        "truncated",
        "shortaddr",
        "badauth",
        "badvrid",
        "badversion",
        "badtype",
    ];
    hostile_multicast("hostile2", vrrp, &common, &kinds, ("30", "0.1"));
}

#[test]
fn hostile_vrrpv3_multicast_adverts_are_dropped_and_counted() {
    let vrrp = Vrrp {
        inner: false,
        sync_group: false,
        ..Vrrp::v3_fast()
    };
    let common = [
        "--version",
        "3",
        "--vrid",
        "51",
        "--prio",
        "255",
        "--vip",
        VIP_OUT,
        "--advert-int",
        "0.1",
    ];
    // v3 has no authentication field, so no "badauth" kind.
    let kinds = [
        "ttl64",
        "badsum",
        "truncated",
        "shortaddr",
        "badvrid",
        "badversion",
        "badtype",
    ];
    hostile_multicast("hostile3", vrrp, &common, &kinds, ("20", "0.05"));
}

/// One multicast run: lb1 elected, every hostile `kinds` injected with the
/// `common` advert fields (each counted and dropped, no state change), then
/// a valid priority-255 control burst (`count`, `interval`) that lb1 must
/// obey — proof that the injected packets really reached the daemons.
fn hostile_multicast(
    tag: &str,
    vrrp: Vrrp,
    common: &[&str],
    kinds: &[&str],
    (count, interval): (&str, &str),
) {
    let mut lab = Lab::new(tag, vrrp);
    lab.start_both();
    lab.assert_master(Node::Lb1);
    inject_all_and_check(&mut lab, kinds, common, &[]);
    let mut control = vec![
        "--kind",
        "valid",
        "--src",
        "192.0.2.50",
        "--count",
        count,
        "--interval",
        interval,
    ];
    control.extend_from_slice(common);
    control_correct_advert_is_obeyed(&lab, &control);
}

/// With unicast peers, a correct priority-255 advert from an address that
/// is not a `unicast_peer` is dropped; the same advert spoofed from lb2's
/// address (a peer) is obeyed — the source check is what stopped it.
#[test]
fn unicast_advert_from_an_address_not_in_unicast_peer_is_dropped() {
    let vrrp = Vrrp {
        inner: false,
        sync_group: false,
        unicast: true,
        ..Vrrp::default()
    };
    let mut lab = Lab::new("hostileu", vrrp);
    lab.start_both();
    lab.assert_master(Node::Lb1);
    let common = [
        "--version",
        "2",
        "--vrid",
        "51",
        "--prio",
        "255",
        "--vip",
        VIP_OUT,
        "--advert-int",
        "1",
        "--auth-pass",
        AUTH_PASS,
    ];
    let before = [
        lab.notifications(Node::Lb1).len(),
        lab.notifications(Node::Lb2).len(),
    ];
    for node in Node::BOTH {
        let mut args = vec![
            "--kind",
            "valid",
            "--src",
            "192.0.2.66",
            "--dst",
            node.outer_addr(),
            "--dst-mac",
            node.outer_mac(),
            "--count",
            "10",
            "--interval",
            "0.1",
        ];
        args.extend_from_slice(&common);
        lab.inject("client", &args);
    }
    sleep(lab.vrrp.advert_interval() * 2);
    for node in Node::BOTH {
        assert!(lab.alive(node), "{node}'s daemon died\n{}", lab.report());
        let new = &lab.notifications(node)[before[node as usize]..];
        assert!(
            new.is_empty(),
            "{node} obeyed a non-peer: {new:?}\n{}",
            lab.report()
        );
        if lab.kind(node) == Kind::Tandem {
            drop_evidence(&lab, node, "notpeer", "192.0.2.66")
                .unwrap_or_else(|e| panic!("{e}\n{}", lab.report()));
        }
    }
    assert_tandem_counted(&lab, &["notpeer"], 10);
    lab.assert_answers(Node::Lb1);

    let mut control = vec![
        "--kind",
        "valid",
        "--src",
        Node::Lb2.outer_addr(),
        "--dst",
        Node::Lb1.outer_addr(),
        "--dst-mac",
        Node::Lb1.outer_mac(),
        "--count",
        "30",
        "--interval",
        "0.1",
    ];
    control.extend_from_slice(&common);
    control_correct_advert_is_obeyed(&lab, &control);
}

/// Unicast adverts are not held to TTL 255 (docs/vrrp.md): keepalived
/// 2.2.7 checks the TTL only when no `unicast_peer` is configured, so that
/// `unicast_ttl` can carry adverts across routers, and tandem does the
/// same — with unicast peers, the source list is the filter instead (the
/// test above). A priority-255 advert with TTL 64 from lb2's address (a
/// listed peer) is therefore obeyed by lb1, whichever daemon runs it: the
/// same result with `TANDEM_LAB_DAEMON=keepalived` is what pins this to
/// keepalived's behaviour. (RFC 5798 §7.1's TTL check is about multicast
/// adverts, which stay checked: `hostile_*_multicast_*` above.)
#[test]
fn unicast_advert_with_ttl_64_from_a_peer_is_accepted_as_keepalived_does() {
    let vrrp = Vrrp {
        inner: false,
        sync_group: false,
        unicast: true,
        ..Vrrp::default()
    };
    let mut lab = Lab::new("hostilet", vrrp);
    lab.start_both();
    lab.assert_master(Node::Lb1);
    let mut args = vec![
        "--kind",
        "ttl64",
        "--src",
        Node::Lb2.outer_addr(),
        "--dst",
        Node::Lb1.outer_addr(),
        "--dst-mac",
        Node::Lb1.outer_mac(),
        "--count",
        "30",
        "--interval",
        "0.1",
    ];
    args.extend_from_slice(&[
        "--version",
        "2",
        "--vrid",
        "51",
        "--prio",
        "255",
        "--vip",
        VIP_OUT,
        "--advert-int",
        "1",
        "--auth-pass",
        AUTH_PASS,
    ]);
    control_correct_advert_is_obeyed(&lab, &args);
    if lab.kind(Node::Lb1) == Kind::Tandem {
        assert!(
            !lab.log(Node::Lb1).contains("TTL"),
            "tandem on lb1 complained about the TTL of a unicast advert\n{}",
            lab.report()
        );
    }
}
