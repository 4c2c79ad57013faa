//! The VRRP knobs of keepalived that change what an instance sends and
//! accepts: `lower_prio_no_advert`, `higher_prio_send_advert` (and their
//! global_defs defaults), `dont_track_primary`, `unicast_ttl`,
//! `unicast_peer … min_ttl/max_ttl`, `check_unicast_src`. What the model
//! holds for each spelling, which default wins, and the error (with
//! file:line:col) for each bad value.

use std::net::IpAddr;
use std::path::Path;

use tandem::config::{LoadOptions, Loaded, UnicastPeerTtl, VrrpInstance, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

/// global_defs `global`, then one instance VI_1 with `body` added.
fn conf(global: &str, body: &str) -> String {
    format!(
        "global_defs {{
{global}
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority 100
{body}
    virtual_ipaddress {{
        192.0.2.10/24
    }}
}}
"
    )
}

fn instance(global: &str, body: &str) -> VrrpInstance {
    let l = check(&conf(global, body));
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let cfg = l.config.unwrap_or_else(|| panic!("refused: {msgs:?}"));
    cfg.vrrp_instances[0].clone()
}

fn errors(global: &str, body: &str) -> Vec<String> {
    let l = check(&conf(global, body));
    l.errors().map(|d| d.to_string()).collect()
}

fn warnings(global: &str, body: &str) -> Vec<String> {
    let l = check(&conf(global, body));
    assert!(!l.has_errors());
    l.diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn advert_answers_follow_the_instance_then_global_defs() {
    let i = instance("", "");
    assert!(!i.lower_prio_no_advert && !i.higher_prio_send_advert);
    let i = instance(
        "vrrp_lower_prio_no_advert true\nvrrp_higher_prio_send_advert",
        "",
    );
    assert!(i.lower_prio_no_advert && i.higher_prio_send_advert);
    // The instance's own word wins over global_defs, both ways.
    let i = instance(
        "vrrp_lower_prio_no_advert true",
        "lower_prio_no_advert false\nhigher_prio_send_advert on",
    );
    assert!(!i.lower_prio_no_advert && i.higher_prio_send_advert);
    let i = instance("", "lower_prio_no_advert");
    assert!(i.lower_prio_no_advert);
}

#[test]
fn a_bad_boolean_names_its_place() {
    let e = errors("vrrp_lower_prio_no_advert maybe", "");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:2:27:"), "{e:?}");
    assert!(e[0].contains("on|off|true|false|yes|no"), "{e:?}");
}

#[test]
fn dont_track_primary_is_read() {
    assert!(!instance("", "").dont_track_primary);
    assert!(instance("", "dont_track_primary").dont_track_primary);
    let e = errors("", "dont_track_primary yes");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:8:"), "{e:?}");
}

#[test]
fn unicast_ttl_and_peer_ttl_ranges() {
    let peer: IpAddr = "192.0.2.2".parse().unwrap();
    let other: IpAddr = "192.0.2.3".parse().unwrap();
    let i = instance(
        "vrrp_check_unicast_src",
        "unicast_ttl 4\ncheck_unicast_src\nunicast_peer {\n 192.0.2.2 min_ttl 4 max_ttl 5\n 192.0.2.3\n}",
    );
    assert_eq!(i.unicast_ttl, Some(4));
    assert_eq!(i.unicast_peer, vec![peer, other]);
    // Only the peer with a range is listed; one option alone keeps the
    // other bound at keepalived's default.
    assert_eq!(
        i.unicast_peer_ttl,
        vec![UnicastPeerTtl {
            addr: peer,
            min_ttl: 4,
            max_ttl: 5
        }]
    );
    let i = instance("", "unicast_peer {\n 192.0.2.2 max_ttl 9\n}");
    assert_eq!(
        i.unicast_peer_ttl,
        vec![UnicastPeerTtl {
            addr: peer,
            min_ttl: 0,
            max_ttl: 9
        }]
    );
    assert_eq!(instance("", "").unicast_ttl, None);
}

#[test]
fn bad_ttls_are_refused_with_their_place() {
    let e = errors("", "unicast_ttl 300\nunicast_peer {\n 192.0.2.2\n}");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:8:13:"), "{e:?}");
    let e = errors("", "unicast_peer {\n 192.0.2.2 min_ttl 6 max_ttl 5\n}");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("min_ttl 6 > max_ttl 5"), "{e:?}");
    assert!(e[0].starts_with("t.conf:9:2:"), "{e:?}");
    let e = errors("", "unicast_peer {\n 192.0.2.2 min_tll 4\n}");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("did you mean \"min_ttl\""), "{e:?}");
    assert!(e[0].starts_with("t.conf:9:12:"), "{e:?}");
    let e = errors("", "unicast_peer {\n 192.0.2.2 max_ttl\n}");
    assert!(e[0].contains("max_ttl is missing a value"), "{e:?}");
    let e = errors("", "unicast_peer {\n 192.0.2.2 max_ttl many\n}");
    assert!(
        e[0].contains("max_ttl expects 0-255, not \"many\""),
        "{e:?}"
    );
}

#[test]
fn unicast_ttl_without_peers_is_a_warning() {
    let w = warnings("", "unicast_ttl 4");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("t.conf:8:1:"), "{w:?}");
    assert!(w[0].contains("no effect without unicast_peer"), "{w:?}");
}

#[test]
fn state_and_priority_are_derived_from_each_other_as_in_keepalived() {
    let one = |body: &str| {
        let text = format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{body}\n virtual_ipaddress {{\n  192.0.2.10/24\n }}\n}}\n"
        );
        let l = check(&text);
        let c = l.config.expect("accepted");
        let i = &c.vrrp_instances[0];
        (i.state, i.priority)
    };
    use tandem::config::InitialState::{Backup, Master};
    assert_eq!(one(" state MASTER"), (Master, 255));
    assert_eq!(one(" state MASTER\n priority 150"), (Master, 150));
    assert_eq!(one(" priority 255"), (Master, 255));
    assert_eq!(one(" state BACKUP\n priority 255"), (Backup, 255));
    assert_eq!(one(""), (Backup, 100));
}

#[test]
fn scheduling_knobs_are_read_with_keepalived_ranges() {
    let text = "global_defs {\n vrrp_priority -5\n checker_priority 7\n vrrp_rt_priority 10\n checker_rlimit_rtime 5000\n vrrp_no_swap\n checker_cpu_affinity 0 1\n max_auto_priority\n min_auto_priority_delay 200000\n}\n";
    let c = check(text).config.expect("accepted");
    let g = &c.global_defs;
    assert_eq!(g.vrrp_process.nice, Some(-5));
    assert_eq!(g.vrrp_process.rt_priority, Some(10));
    assert!(g.vrrp_process.no_swap && !g.checker_process.no_swap);
    assert_eq!(g.checker_process.nice, Some(7));
    assert_eq!(g.checker_process.rlimit_rttime, Some(5000));
    assert_eq!(g.checker_process.cpu_affinity, vec![0, 1]);
    assert_eq!(g.max_auto_priority, Some(99));
    assert_eq!(
        g.min_auto_priority_delay,
        std::time::Duration::from_millis(200)
    );
    let c = check("global_defs {\n max_auto_priority -1\n}\n")
        .config
        .expect("accepted");
    assert_eq!(c.global_defs.max_auto_priority, None);
    for (line, col, what) in [
        ("vrrp_priority 20", 16, "out of range"),
        ("vrrp_rt_priority 5x", 19, "whole number"),
        ("max_auto_priority 100", 20, "out of range"),
        ("min_auto_priority_delay 0", 26, "out of range"),
        ("checker_cpu_affinity one", 23, "expects CPU numbers"),
    ] {
        let l = check(&format!("global_defs {{\n {line}\n}}\n"));
        let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
        assert_eq!(e.len(), 1, "{line}: {e:?}");
        assert!(
            e[0].starts_with(&format!("t.conf:2:{col}:")),
            "{line}: {e:?}"
        );
        assert!(e[0].contains(what), "{line}: {e:?}");
    }
}

#[test]
fn a_real_time_priority_outside_1_to_99_is_moved_to_the_nearest_end_as_keepalived_does() {
    for (line, want, end) in [
        ("checker_rt_priority 100", 99, "maximum"),
        ("bfd_rt_priority 0", 1, "minimum"),
        ("vrrp_rt_priority -4", 1, "minimum"),
    ] {
        let l = check(&format!("global_defs {{\n {line}\n}}\n"));
        let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
        let c = l
            .config
            .unwrap_or_else(|| panic!("{line}: refused: {msgs:?}"));
        let g = &c.global_defs;
        let got = g
            .checker_process
            .rt_priority
            .or(g.bfd_process.rt_priority)
            .or(g.vrrp_process.rt_priority);
        assert_eq!(got, Some(want), "{line}");
        assert!(
            msgs.iter()
                .any(|m| m.contains("warning:") && m.contains(&format!("the {end}, {want}"))),
            "{line}: {msgs:?}"
        );
    }
}

/// The polled interfaces a file's linkbeat options come to.
fn linkbeat(text: &str) -> Vec<(String, Option<tandem::config::LinkbeatKind>)> {
    let l = check(text);
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let cfg = l.config.unwrap_or_else(|| panic!("refused: {msgs:?}"));
    cfg.global_defs
        .linkbeat_interfaces
        .iter()
        .map(|l| (l.name.clone(), l.kind))
        .collect()
}

#[test]
fn linkbeat_options_come_to_one_list_of_polled_interfaces() {
    use tandem::config::LinkbeatKind as K;
    assert!(linkbeat(&conf("", "")).is_empty());
    let block = "linkbeat_interfaces {\n  eth2\n  eth3 ETHTOOL\n  eth4 MII\n  eth5 IOCTL\n}\n";
    assert_eq!(
        linkbeat(&format!("{block}{}", conf("", ""))),
        [
            ("eth2".to_string(), None),
            ("eth3".to_string(), Some(K::Ethtool)),
            ("eth4".to_string(), Some(K::Mii)),
            ("eth5".to_string(), Some(K::Ioctl)),
        ]
    );
    // At the top level (keepalived 2.2.7 reads it there only): each
    // instance's own interface; in the instance (deprecated, with a
    // warning): its own.
    assert_eq!(
        linkbeat(&format!("linkbeat_use_polling\n{}", conf("", ""))),
        [("eth0".to_string(), None)]
    );
    assert_eq!(
        linkbeat(&conf("", "linkbeat_use_polling")),
        [("eth0".to_string(), None)]
    );
    assert_eq!(
        warnings("", "linkbeat_use_polling"),
        [
            "t.conf:8:1: warning: (VI_1) linkbeat_use_polling in a vrrp_instance is deprecated (as keepalived says): use a linkbeat_interfaces block"
        ]
    );
    let bad = |b: &str| -> Vec<String> {
        let l = check(&format!("linkbeat_interfaces {{\n{b}\n}}\n"));
        l.errors().map(|d| d.to_string()).collect()
    };
    assert_eq!(
        bad("  eth2 FAST"),
        ["t.conf:2:8: error: linkbeat interface eth2: \"FAST\" is not MII, ETHTOOL or IOCTL"]
    );
    assert_eq!(
        bad("  eth2 MII x"),
        ["t.conf:2:12: error: linkbeat interface eth2: \"x\" after its type"]
    );
}
