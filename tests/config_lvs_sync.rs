//! `lvs_sync_daemon`, `lvs_sync_daemon_interface` and `lvs_timeouts`: what
//! the model holds for each accepted spelling, and the error an operator
//! sees (file:line:col) for each value keepalived 2.2.7 refuses too.

use std::net::IpAddr;
use std::path::Path;

use tandem::config::{LoadOptions, Loaded, LvsSyncDaemon, LvsTimeouts, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn errors(text: &str) -> Vec<String> {
    let l = check(text);
    assert_eq!(l.config.is_some(), !l.has_errors());
    l.errors().map(|d| d.to_string()).collect()
}

/// A configuration with `global` as global_defs' body and two instances,
/// VI_1 (IPv4, VRID 51) and VI_6 (IPv6, VRID 61).
fn conf(global: &str) -> String {
    format!(
        "global_defs {{
{global}
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {{
        192.0.2.10/24
    }}
}}
vrrp_instance VI_6 {{
    interface eth0
    virtual_router_id 61
    priority 100
    virtual_ipaddress {{
        2001:db8::10/64
    }}
}}
"
    )
}

fn sync_of(text: &str) -> (Option<LvsSyncDaemon>, LvsTimeouts) {
    let l = check(text);
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let cfg = l.config.unwrap_or_else(|| panic!("refused: {msgs:?}"));
    (
        cfg.global_defs.lvs_sync_daemon,
        cfg.global_defs.lvs_timeouts,
    )
}

#[test]
fn every_option_reaches_the_model() {
    let (d, t) = sync_of(&conf(
        "    lvs_sync_daemon eth1 inst VI_1 id 7 maxlen 1400 port 4660 ttl 3 group 239.1.2.3
    lvs_timeouts tcp 900 tcpfin 120 udp 300",
    ));
    let d = d.unwrap();
    assert_eq!(d.ifname, "eth1");
    assert_eq!(d.instance.as_deref(), Some("VI_1"));
    assert_eq!(d.syncid, Some(7));
    assert_eq!(d.maxlen, Some(1400));
    assert_eq!(d.port, Some(4660));
    assert_eq!(d.ttl, Some(3));
    assert_eq!(d.group, "239.1.2.3".parse::<IpAddr>().ok());
    assert_eq!(
        t,
        LvsTimeouts {
            tcp: Some(900),
            tcpfin: Some(120),
            udp: Some(300)
        }
    );
}

#[test]
fn defaults_are_unset_and_the_old_spellings_are_read() {
    // Nothing configured: no daemon, no timeouts.
    let (d, t) = sync_of(&conf(""));
    assert_eq!(d, None);
    assert_eq!(t, LvsTimeouts::default());
    assert!(!t.is_set());
    // Interface only: both daemons, every attribute the kernel's.
    let d = sync_of(&conf("    lvs_sync_daemon eth1")).0.unwrap();
    assert_eq!(
        (d.instance, d.syncid, d.port, d.group),
        (None, None, None, None)
    );
    // keepalived's pre-2.0 form: IF INSTANCE [SYNCID].
    let d = sync_of(&conf("    lvs_sync_daemon eth1 VI_1 9")).0.unwrap();
    assert_eq!((d.instance.as_deref(), d.syncid), (Some("VI_1"), Some(9)));
    // An IPv6 group for an IPv6 instance.
    let d = sync_of(&conf("    lvs_sync_daemon eth1 inst VI_6 group ff02::8848"))
        .0
        .unwrap();
    assert_eq!(d.group, "ff02::8848".parse::<IpAddr>().ok());
    // lvs_sync_daemon_interface in a vrrp_instance names that instance.
    let text = conf("").replace(
        "    virtual_router_id 61",
        "    virtual_router_id 61\n    lvs_sync_daemon_interface eth2",
    );
    let d = sync_of(&text).0.unwrap();
    assert_eq!(
        (d.ifname.as_str(), d.instance.as_deref()),
        ("eth2", Some("VI_6"))
    );
    // Only some timeouts: the others stay as the kernel has them.
    let t = sync_of(&conf("    lvs_timeouts udp 0")).1;
    assert_eq!(
        t,
        LvsTimeouts {
            tcp: None,
            tcpfin: None,
            udp: Some(0)
        }
    );
}

#[test]
fn bad_values_are_errors_at_the_value() {
    let e = errors(&conf(
        "    lvs_sync_daemon eth0 VI_1 id 300 maxlen 0 port 70000 ttl 0 group 192.0.2.1 foo",
    ));
    assert_eq!(
        e,
        [
            "t.conf:2:34: error: lvs_sync_daemon id 300 is out of range (0-255)",
            "t.conf:2:45: error: lvs_sync_daemon maxlen 0 is out of range (1-65507)",
            "t.conf:2:52: error: lvs_sync_daemon port 70000 is out of range (1-65535)",
            "t.conf:2:62: error: lvs_sync_daemon ttl 0 is out of range (1-255)",
            "t.conf:2:70: error: lvs_sync_daemon group 192.0.2.1 is not a multicast address",
            "t.conf:2:80: error: lvs_sync_daemon does not take \"foo\" (expected inst, id, maxlen, port, ttl or group)",
        ]
    );
    let e = errors(&conf("  lvs_sync_daemon an-interface-name0 port x"));
    assert_eq!(
        e,
        [
            "t.conf:2:19: error: lvs_sync_daemon interface name \"an-interface-name0\" is longer than 15 bytes"
        ]
    );
    let e = errors(&conf(
        "  lvs_sync_daemon eth0 port x\n  lvs_sync_daemon eth1 ttl",
    ));
    assert_eq!(
        e,
        [
            "t.conf:2:29: error: lvs_sync_daemon port expects a whole number, not \"x\"",
            "t.conf:3:3: error: lvs_sync_daemon is given twice: the sync daemon is already configured at t.conf:2:3",
            "t.conf:3:24: error: lvs_sync_daemon ttl needs a value after it",
        ]
    );
    let e = errors(&conf(
        "  lvs_timeouts tcp 2678401 fin 3 udp\n  lvs_timeouts\n  lvs_timeouts tcp -1",
    ));
    assert_eq!(
        e,
        [
            "t.conf:2:20: error: lvs_timeouts tcp 2678401 is out of range (0-2678400)",
            "t.conf:2:28: error: lvs_timeouts does not take \"fin\" (expected tcp, tcpfin or udp)",
            "t.conf:2:32: error: lvs_timeouts does not take \"3\" (expected tcp, tcpfin or udp)",
            "t.conf:2:34: error: lvs_timeouts udp needs a time after it",
            "t.conf:3:3: error: \"lvs_timeouts\" needs tcp, tcpfin or udp and a time",
            "t.conf:4:20: error: lvs_timeouts tcp -1 is out of range (0-2678400)",
        ]
    );
}

#[test]
fn the_instance_must_exist_and_the_group_must_be_of_its_family() {
    let e = errors(&conf("    lvs_sync_daemon eth1 inst VI_2"));
    assert_eq!(
        e,
        [
            "t.conf:2:31: error: lvs_sync_daemon names vrrp_instance VI_2, which is not defined (did you mean VI_1?)"
        ]
    );
    let e = errors(&conf("    lvs_sync_daemon eth1 VI_6 group 224.0.0.81"));
    assert_eq!(
        e,
        [
            "t.conf:2:37: error: lvs_sync_daemon group 224.0.0.81 is not of the family of vrrp_instance VI_6 (IPv6)"
        ]
    );
    let e = errors(&conf("    lvs_sync_daemon eth1 inst VI_1 group ff02::8848"));
    assert_eq!(
        e,
        [
            "t.conf:2:42: error: lvs_sync_daemon group ff02::8848 is not of the family of vrrp_instance VI_1 (IPv4)"
        ]
    );
    // Without an instance any multicast group of either family is fine.
    assert_eq!(
        errors(&conf("    lvs_sync_daemon eth1 group ff02::8848")),
        Vec::<String>::new()
    );
}
