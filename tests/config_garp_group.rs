//! `garp_group` blocks: the model each spelling gives, and each mistake's
//! message and position (keepalived 2.2.7 reports these and runs without
//! the part concerned; tandem refuses the file and says what keepalived
//! would have dropped).

use std::path::Path;
use std::time::Duration;

use tandem::config::{Config, LoadOptions, Loaded, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn model(text: &str) -> Config {
    let l = check(text);
    match l.config {
        Some(c) => c,
        None => panic!("refused: {:?}", l.diagnostics),
    }
}

fn errors(text: &str) -> Vec<String> {
    let l = check(text);
    assert_eq!(l.config.is_some(), !l.has_errors());
    l.errors().map(|d| d.to_string()).collect()
}

#[test]
fn groups_give_their_intervals_to_their_interfaces() {
    let c = model(
        "garp_group {\n  garp_interval 0.25\n  interface eth0\n}\n\
         garp_group GG_2 {\n  gna_interval 0.000001\n  interfaces {\n    eth1 eth2\n    eth3\n  }\n}\n",
    );
    // keepalived skips a word after garp_group (users write a label).
    assert_eq!(c.garp_groups.len(), 2);
    let g = &c.garp_groups[0];
    assert_eq!(
        (g.garp_interval, g.gna_interval, g.interfaces.clone()),
        (
            Some(Duration::from_millis(250)),
            None,
            vec!["eth0".to_string()]
        )
    );
    let g = &c.garp_groups[1];
    assert_eq!(
        (g.garp_interval, g.gna_interval, g.interfaces.clone()),
        (
            None,
            Some(Duration::from_micros(1)),
            vec!["eth1".into(), "eth2".into(), "eth3".into()]
        )
    );
}

#[test]
fn a_very_large_interval_is_warned_of_as_keepalived_does() {
    let l = check("garp_group {\n  garp_interval 1617.123\n  interface eth0\n}\n");
    let d: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0].starts_with("t.conf:1:1: warning: the garp_group garp_interval is very large"),
        "{d:?}"
    );
    assert!(l.config.is_some());
}

#[test]
fn a_group_without_an_interval_is_refused() {
    assert_eq!(
        errors("garp_group {\n  interface eth0\n}\n"),
        [
            "t.conf:1:1: error: garp_group has neither garp_interval nor gna_interval (keepalived 2.2.7: \"garp group 1 does not have any delay set - removing\")"
        ]
    );
    // The number is the group's, as keepalived counts them.
    assert_eq!(
        errors("garp_group {\n  garp_interval 1\n}\n\ngarp_group {\n  interface eth0\n}\n"),
        [
            "t.conf:5:1: error: garp_group has neither garp_interval nor gna_interval (keepalived 2.2.7: \"garp group 2 does not have any delay set - removing\")"
        ]
    );
}

#[test]
fn an_interface_in_two_groups_is_refused() {
    assert_eq!(
        errors(
            "garp_group {\n  garp_interval 1\n  interface eth0\n}\n\
             garp_group {\n  garp_interval 2\n  interfaces {\n    eth1 eth0\n  }\n}\n"
        ),
        [
            "t.conf:8:10: error: interface eth0 is already in the garp_group at t.conf:3:13 (keepalived 2.2.7: \"garp_group already specified for eth0 - ignoring\")"
        ]
    );
}

#[test]
fn a_vmac_is_refused() {
    let inst = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  use_vmac\n  \
                virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n";
    assert_eq!(
        errors(&format!(
            "garp_group {{\n  garp_interval 1\n  interface vrrp.51\n}}\n{inst}"
        )),
        [
            "t.conf:3:13: error: vrrp.51 is a vmac: its gratuitous ARPs are paced by its base interface's garp_group (keepalived 2.2.7: \"Cannot specify garp_delay on a vmac (vrrp.51) - ignoring\")"
        ]
    );
    // Its base may be in one.
    model(&format!(
        "garp_group {{\n  garp_interval 1\n  interface eth0\n}}\n{inst}"
    ));
}

#[test]
fn an_empty_interfaces_block_and_bad_values_are_refused() {
    assert_eq!(
        errors("garp_group {\n  garp_interval 1\n  interfaces {\n  }\n}\n"),
        [
            "t.conf:3:3: error: empty garp_group interfaces block (keepalived 2.2.7: \"Warning - empty garp_group interfaces block\")"
        ]
    );
    let e = errors("garp_group {\n  garp_interval soon\n  interface eth0\n}\n");
    assert_eq!(e.len(), 2, "{e:?}");
    // The bad value is not taken, so the group has no interval either (as
    // in keepalived, which reports both).
    assert!(
        e[0].contains("garp group 1 does not have any delay set"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("t.conf:2:17: error: garp_interval expects a time in seconds"),
        "{e:?}"
    );
    let e = errors("garp_group {\n  garp_intervl 1\n  gna_interval 1\n}\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.conf:2:3: error: unknown keyword \"garp_intervl\" in garp_group; did you mean \"garp_interval\"?"),
        "{e:?}"
    );
}
