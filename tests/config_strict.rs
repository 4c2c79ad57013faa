//! vrrp_strict / strict_mode, accept / no_accept and the nftables keywords:
//! what is refused (with file:line:col), what is corrected with a warning,
//! and what strict mode implies, as keepalived 2.2.7 sorts them.

use std::path::Path;
use std::time::Duration;

use tandem::config::{Config, InitialState, LoadOptions, Loaded, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn messages(l: &Loaded) -> Vec<String> {
    l.diagnostics.iter().map(|d| d.to_string()).collect()
}

fn config(text: &str) -> (Config, Vec<String>) {
    let l = check(text);
    let m = messages(&l);
    match l.config {
        Some(c) => (c, m),
        None => panic!("refused: {m:?}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    let l = check(text);
    assert!(l.config.is_none(), "accepted: {:?}", messages(&l));
    l.errors().map(|d| d.to_string()).collect()
}

/// global_defs (with `globals`) and one instance with `body` inside.
fn file(globals: &str, body: &str) -> String {
    format!(
        "global_defs {{\n{globals}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{body}    virtual_ipaddress {{\n        192.0.2.10\n    }}\n}}\n"
    )
}

#[test]
fn accept_mode_defaults_as_keepalived() {
    // Not strict: accept, whatever the priority.
    let (c, _) = config(&file("", ""));
    assert!(c.vrrp_instances[0].accept);
    assert!(!c.vrrp_instances[0].strict_mode);
    // no_accept: off.
    let (c, _) = config(&file("", "    no_accept\n"));
    assert!(!c.vrrp_instances[0].accept);
    // Strict: off, and the strict implications.
    let (c, m) = config(&file("    vrrp_strict\n", ""));
    let i = &c.vrrp_instances[0];
    assert!(
        !i.accept && i.strict_mode && i.lower_prio_no_advert,
        "{m:?}"
    );
    assert_eq!(i.garp_lower_prio_repeat, 0);
    assert_eq!(i.garp_lower_prio_delay, Duration::ZERO);
    assert!(m.is_empty(), "{m:?}");
    // Strict, but the address owner: accept.
    let (c, _) = config(&file(
        "    vrrp_strict\n",
        "    priority 255\n    state MASTER\n",
    ));
    assert!(c.vrrp_instances[0].accept);
    // The instance's strict_mode overrides the global.
    let (c, _) = config(&file("    vrrp_strict\n", "    strict_mode off\n"));
    assert!(c.vrrp_instances[0].accept && !c.vrrp_instances[0].strict_mode);
    let (c, _) = config(&file("", "    strict_mode\n"));
    assert!(!c.vrrp_instances[0].accept && c.vrrp_instances[0].strict_mode);
    // Strict with VRRPv3 allows accept.
    let (c, m) = config(&file(
        "    vrrp_strict\n    vrrp_version 3\n",
        "    accept\n",
    ));
    assert!(c.vrrp_instances[0].accept, "{m:?}");
}

#[test]
fn strict_mode_corrections_are_warnings_at_the_keyword() {
    // A priority below 255 (without one, `state MASTER` alone would make
    // the instance the address owner, as keepalived derives it).
    let body = "    state MASTER\n    preempt_delay 5\n    garp_lower_prio_repeat 3\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n    accept\n    priority 100\n";
    let (c, m) = config(&file("    vrrp_strict\n", body));
    let i = &c.vrrp_instances[0];
    assert_eq!(i.state, InitialState::Backup);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert_eq!(i.garp_lower_prio_repeat, 0);
    assert!(i.authentication.is_none());
    assert!(!i.accept);
    assert_eq!(
        m,
        [
            "t.conf:7:5: warning: vrrp_instance VI_1: strict mode: only the address owner (priority 255) may start as MASTER; the state is set to BACKUP",
            "t.conf:8:5: warning: vrrp_instance VI_1: strict mode does not allow preempt_delay; it is set to 0",
            "t.conf:9:5: warning: vrrp_instance VI_1: strict mode does not allow garp_lower_prio_repeat; it is set to 0",
            "t.conf:10:5: warning: vrrp_instance VI_1: strict mode does not allow authentication; it is ignored",
            "t.conf:14:5: warning: vrrp_instance VI_1: strict mode: accept mode is not part of VRRP version 2 (RFC 3768); no_accept is used",
        ]
    );
    // The owner starts as MASTER, said so when written BACKUP.
    let (c, m) = config(&file(
        "    vrrp_strict\n",
        "    priority 255\n    state BACKUP\n",
    ));
    assert_eq!(c.vrrp_instances[0].state, InitialState::Master);
    assert!(m[0].starts_with("t.conf:8:5: warning:"), "{m:?}");
    // Not written: it follows the priority, without a word.
    let (c, m) = config(&file(
        "    vrrp_strict
",
        "    priority 255
",
    ));
    assert_eq!(c.vrrp_instances[0].state, InitialState::Master);
    assert!(m.is_empty(), "{m:?}");
}

#[test]
fn strict_mode_refusals() {
    assert_eq!(
        errors(&file(
            "    vrrp_strict\n",
            "    unicast_peer {\n        192.0.2.3\n    }\n"
        )),
        [
            "t.conf:8:9: error: vrrp_instance VI_1: unicast peers are not allowed in strict mode (RFC 5798 adverts go to the multicast group)"
        ]
    );
    let no_vip = "global_defs {\n    vrrp_strict\n}\nvrrp_instance VI_9 {\n    interface eth0\n    virtual_router_id 9\n}\n";
    assert_eq!(
        errors(no_vip),
        ["t.conf:4:1: error: vrrp_instance VI_9: strict mode needs at least one virtual_ipaddress"]
    );
}

#[test]
fn strict_ipv6_first_vip_should_be_link_local() {
    let text = "global_defs {\n    vrrp_strict\n}\nvrrp_instance V6 {\n    interface eth0\n    virtual_router_id 5\n    virtual_ipaddress {\n        2001:db8::5/64\n        fe80::5/64\n    }\n}\n";
    let (_, m) = config(text);
    assert_eq!(
        m,
        [
            "t.conf:8:9: warning: vrrp_instance V6: strict mode: the first IPv6 virtual address should be link-local (RFC 5798 §5.2.9)"
        ]
    );
    let ok = text.replace(
        "2001:db8::5/64\n        fe80::5/64",
        "fe80::5/64\n        2001:db8::5/64",
    );
    assert!(config(&ok).1.is_empty());
}

#[test]
fn nftables_keywords() {
    let (c, m) = config(&file(
        "    nftables tandem_fw\n    nftables_priority -150\n    nftables_counters\n    nftables_ifindex\n",
        "    no_accept\n",
    ));
    let n = &c.global_defs.nftables;
    assert_eq!(
        (n.table.as_str(), n.priority, n.counters, n.ifindex),
        ("tandem_fw", -150, true, true)
    );
    assert!(m.is_empty(), "{m:?}");
    // Defaults: table keepalived, priority -1.
    let (c, _) = config(&file("    nftables\n", ""));
    assert_eq!(
        (
            c.global_defs.nftables.table.as_str(),
            c.global_defs.nftables.priority
        ),
        ("keepalived", -1)
    );
    assert_eq!(
        errors(&file("    nftables_priority x\n", "")),
        ["t.conf:2:23: error: nftables_priority expects a whole number, not \"x\""]
    );
    assert_eq!(errors(&file("    nftables a b\n", "")).len(), 1);
}

#[test]
fn vrrp_iptables_is_a_note_naming_the_table_used() {
    let (c, m) = config(&file(
        "    vrrp_iptables TESTIN TESTOUT\n",
        "    no_accept\n",
    ));
    assert_eq!(
        c.global_defs.nftables.vrrp_iptables,
        Some(vec!["TESTIN".to_string(), "TESTOUT".to_string()])
    );
    assert_eq!(
        m,
        [
            "t.conf:2:5: note: vrrp_iptables: the iptables chains TESTIN/TESTOUT are not used; no_accept is enforced with the nftables table \"keepalived\" (as keepalived does when built without iptables)"
        ]
    );
    let (_, m) = config(&file("    vrrp_iptables\n    nftables mine\n", ""));
    assert!(
        m[0].contains("chains INPUT/OUTPUT") && m[0].contains("table \"mine\""),
        "{m:?}"
    );
    assert_eq!(errors(&file("    vrrp_iptables A B C\n", "")).len(), 1);
}
