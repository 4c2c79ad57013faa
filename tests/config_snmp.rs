//! The SNMP keywords of global_defs as tandem reads them: `enable_snmp_vrrp`
//! (and keepalived 2.0's `enable_snmp_keepalived`), `enable_traps`,
//! `enable_snmp_rfc`, `enable_snmp_rfcv2`, `enable_snmp_rfcv3`, `snmp_socket`
//! with net-snmp's address forms, `enable_snmp_checker`, and `snmp_name` of
//! virtual and real servers.

use std::path::Path;

use tandem::config::model::AgentxAddress;
use tandem::config::{LoadOptions, load_str};

fn load(global: &str) -> (Option<tandem::config::model::SnmpDefs>, Vec<String>) {
    let text = format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 1\n  priority 100\n}}\n"
    );
    let l = load_str(
        Path::new("t.conf"),
        text,
        &LoadOptions::with_config_id("main"),
    );
    let msgs = l.diagnostics.iter().map(|d| d.to_string()).collect();
    (l.config.map(|c| c.global_defs.snmp), msgs)
}

#[test]
fn the_supported_keywords_fill_the_model() {
    let (snmp, msgs) = load("  enable_snmp_vrrp\n  enable_traps\n  snmp_socket tcp:localhost:705");
    let snmp = snmp.unwrap_or_else(|| panic!("{msgs:?}"));
    assert!(snmp.vrrp && snmp.traps && snmp.enabled());
    assert_eq!(snmp.socket.as_deref(), Some("tcp:localhost:705"));
    let (snmp, msgs) = load("  enable_snmp_keepalived");
    assert!(snmp.is_some_and(|s| s.vrrp), "{msgs:?}");
    assert!(
        msgs.iter().any(|m| m.contains("use \"enable_snmp_vrrp\"")),
        "{msgs:?}"
    );
    // Nothing enabled: no subagent; traps alone say that they send nothing.
    let (snmp, _) = load("  router_id x");
    assert!(snmp.is_some_and(|s| !s.enabled()));
    let (snmp, msgs) = load("  enable_traps");
    assert!(snmp.is_some_and(|s| !s.enabled()));
    assert_eq!(
        msgs[0],
        "t.conf:2:3: warning: enable_traps sends nothing without enable_snmp_vrrp, enable_snmp_checker or enable_snmp_rfc"
    );
}

#[test]
fn a_bad_or_second_snmp_socket_is_an_error_with_its_position() {
    let (_, msgs) = load("  enable_snmp_vrrp\n  snmp_socket udp:127.0.0.1:705");
    assert!(
        msgs.iter().any(|m| m.starts_with(
            "t.conf:3:15: error: snmp_socket \"udp:127.0.0.1:705\": transport \"udp\""
        )),
        "{msgs:?}"
    );
    let (_, msgs) = load("  snmp_socket /a\n  snmp_socket /b");
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("t.conf:3:3: error: snmp_socket is already set")),
        "{msgs:?}"
    );
    let (_, msgs) = load("  snmp_socket unix:relative");
    assert!(
        msgs.iter().any(|m| m.contains("must be absolute")),
        "{msgs:?}"
    );
}

#[test]
fn the_rfc_mibs_are_enabled_one_by_one_or_together() {
    for (kw, v2, v3) in [
        ("enable_snmp_rfcv2", true, false),
        ("enable_snmp_rfcv3", false, true),
        ("enable_snmp_rfc", true, true),
    ] {
        let (snmp, msgs) = load(&format!("  {kw}\n  enable_traps"));
        let snmp = snmp.unwrap_or_else(|| panic!("{kw}: {msgs:?}"));
        assert_eq!((snmp.rfcv2, snmp.rfcv3, snmp.vrrp), (v2, v3, false), "{kw}");
        // The subagent runs for them alone, and the traps are theirs.
        assert!(snmp.enabled(), "{kw}");
        assert!(!msgs.iter().any(|m| m.contains("snmp")), "{kw}: {msgs:?}");
    }
    let (_, msgs) = load("  enable_snmp_rfc extra");
    assert!(!msgs.is_empty());
}

#[test]
fn enable_snmp_checker_and_snmp_name_fill_the_model() {
    let (snmp, msgs) = load("  enable_snmp_checker");
    let snmp = snmp.unwrap_or_else(|| panic!("{msgs:?}"));
    assert!(snmp.checker && !snmp.vrrp && snmp.enabled(), "{msgs:?}");
    let text = "virtual_server 192.0.2.1 80 {
  protocol TCP
  snmp_name web
  real_server 192.0.2.2 80 {
    snmp_name rs-a
  }
  real_server 192.0.2.3 80 {
  }
}
";
    let l = load_str(
        Path::new("t.conf"),
        text.into(),
        &LoadOptions::with_config_id("main"),
    );
    let c = l.config.unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.snmp_name.as_deref(), Some("web"));
    assert_eq!(vs.real_servers[0].snmp_name.as_deref(), Some("rs-a"));
    assert_eq!(vs.real_servers[1].snmp_name, None);
    // One name, as keepalived wants it: none or two is an error, with its place.
    let bad = "virtual_server 192.0.2.1 80 {\n  snmp_name a b\n}\n";
    let l = load_str(
        Path::new("t.conf"),
        bad.into(),
        &LoadOptions::with_config_id("main"),
    );
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(msgs.iter().any(|m| m.starts_with("t.conf:2:")), "{msgs:?}");
}

#[test]
fn agentx_addresses_read_as_net_snmp_writes_them() {
    let unix = |p: &str| Ok(AgentxAddress::Unix(p.into()));
    let tcp = |h: &str, port| {
        Ok(AgentxAddress::Tcp {
            host: h.into(),
            port,
        })
    };
    assert_eq!(
        AgentxAddress::parse("/var/agentx/master"),
        unix("/var/agentx/master")
    );
    assert_eq!(
        AgentxAddress::parse("unix:/run/agentx"),
        unix("/run/agentx")
    );
    assert_eq!(
        AgentxAddress::parse("tcp:localhost:705"),
        tcp("localhost", 705)
    );
    assert_eq!(AgentxAddress::parse("127.0.0.1:705"), tcp("127.0.0.1", 705));
    assert_eq!(
        AgentxAddress::parse("tcp:[2001:db8::1]:705"),
        tcp("2001:db8::1", 705)
    );
    assert!(AgentxAddress::parse("tcp:localhost").is_err());
    assert!(AgentxAddress::parse("tcp:localhost:0").is_err());
    assert!(AgentxAddress::parse("udp:localhost:705").is_err());
}
