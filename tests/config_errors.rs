//! What an operator sees for a broken configuration: every problem, each
//! with its file, line and column, and a message that says what to do.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tandem::config::{LoadOptions, Loaded, Scope, VrrpVersion, load, load_str};

/// A directory of its own for one test (removed when dropped).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tdm-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

fn errors(text: &str) -> Vec<String> {
    let l = check(text);
    // A model exactly when there is no error: never a half-checked model,
    // never a refusal without a reason.
    assert_eq!(l.config.is_some(), !l.has_errors(), "{:?}", messages(&l));
    l.errors().map(|d| d.to_string()).collect()
}

const INSTANCE: &str = "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}
";

#[test]
fn a_valid_instance_has_keepalived_defaults() {
    let l = check(INSTANCE);
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let vi = &cfg.vrrp_instances[0];
    assert_eq!(vi.advert_int, Duration::from_secs(1));
    assert_eq!(vi.version, VrrpVersion::V2);
    assert_eq!(vi.garp_master_delay, Duration::from_secs(5));
    assert_eq!(vi.garp_master_repeat, 5);
    assert!(!vi.nopreempt);
    assert_eq!(vi.virtual_ipaddress[0].prefix_len, 24);
}

#[test]
fn misspelt_keyword_gets_a_suggestion_with_position() {
    let e = errors(&INSTANCE.replace("    priority 100", "    priorty 100"));
    assert_eq!(
        e,
        [
            "t.conf:4:5: error: unknown keyword \"priorty\" in vrrp_instance; did you mean \"priority\"? (keepalived 2.2.7 would log it and skip the line)"
        ]
    );
    let e = errors("global_defs {\n  router_idd x\n}\n");
    assert_eq!(
        e,
        [
            "t.conf:2:3: error: unknown keyword \"router_idd\" in global_defs; did you mean \"router_id\"? (keepalived 2.2.7 would log it and skip the line)"
        ]
    );
    let e = errors("vrrp_instanse VI_1 {\n}\n");
    assert_eq!(
        e,
        [
            "t.conf:1:1: error: unknown keyword \"vrrp_instanse\" in the top level; did you mean \"vrrp_instance\"? (keepalived 2.2.7 would log it and skip the line and its block)"
        ]
    );
}

#[test]
fn unsupported_keepalived_options_say_so() {
    let e = errors("global_defs {\n   nftables_ipvs\n}\n");
    assert_eq!(
        e,
        [
            "t.conf:2:4: error: \"nftables_ipvs\" is a keepalived option that tandem does not support yet"
        ]
    );
    let e = errors(&INSTANCE.replace("    priority 100", "    down_timer_adverts 3"));
    assert_eq!(
        e,
        [
            "t.conf:4:5: error: \"down_timer_adverts\" is a keepalived option that tandem does not support yet"
        ]
    );
    // Never "unknown keyword" for a documented keepalived option.
    let e = errors("interface_up_down_delays {\n eth0 1\n}\n");
    assert!(e[0].contains("does not support yet"), "{e:?}");
    // Nor silently ignored in a virtual_server (`hashed`: read there by
    // keepalived 2.2.7, undocumented).
    let e = errors("virtual_server 192.0.2.1 80 {\n  protocol TCP\n  hashed\n}\n");
    assert_eq!(
        e,
        ["t.conf:3:3: error: \"hashed\" is a keepalived option that tandem does not support yet"]
    );
}

#[test]
fn out_of_range_values_are_errors_at_the_value() {
    let e = errors(&INSTANCE.replace("virtual_router_id 51", "virtual_router_id 256"));
    assert_eq!(
        e,
        ["t.conf:3:23: error: virtual_router_id 256 is out of range (1-255)"]
    );
    let e = errors(&INSTANCE.replace("priority 100", "priority 0"));
    assert_eq!(
        e,
        ["t.conf:4:14: error: priority 0 is out of range (1-255)"]
    );
    let e = errors(&INSTANCE.replace("priority 100", "priority high"));
    assert_eq!(
        e,
        ["t.conf:4:14: error: priority expects a whole number, not \"high\""]
    );
}

#[test]
fn advert_int_follows_the_vrrp_version() {
    // VRRPv3 counts centiseconds: 0.1 s is fine.
    let l = check(&INSTANCE.replace(
        "priority 100",
        "priority 100\n    version 3\n    advert_int 0.1",
    ));
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let vi = &l.config.unwrap().vrrp_instances[0];
    assert_eq!(vi.advert_int, Duration::from_millis(100));
    assert_eq!(vi.version, VrrpVersion::V3);
    // The global vrrp_version applies too.
    let l = check(&format!(
        "global_defs {{\n vrrp_version 3\n}}\n{}",
        INSTANCE.replace("priority 100", "advert_int 0.25")
    ));
    assert!(!l.has_errors(), "{:?}", messages(&l));
    // VRRPv2 counts whole seconds.
    let e = errors(&INSTANCE.replace("priority 100", "advert_int 0.1"));
    assert_eq!(
        e,
        [
            "t.conf:4:16: error: advert_int 0.1 needs VRRP version 3 (\"version 3\"); version 2 counts whole seconds (keepalived rounds it to 1 s)"
        ]
    );
    let e = errors(&INSTANCE.replace("priority 100", "version 3\n    advert_int 41"));
    assert_eq!(
        e,
        [
            "t.conf:5:16: error: advert_int 41 is out of range for VRRP version 3 (0.01-40.95 seconds)"
        ]
    );
}

#[test]
fn missing_closing_brace_points_at_the_open_one() {
    let e = errors("global_defs {\n  router_id a\n\nvrrp_instance VI_1 {\n  interface eth0\n");
    assert_eq!(
        e,
        [
            "t.conf:1:13: error: missing \"}\": the block of \"global_defs\" opened here is never closed",
            "t.conf:4:1: error: \"vrrp_instance\" cannot be inside global_defs; is a \"}\" missing before it?",
            "t.conf:4:20: error: missing \"}\": the block of \"vrrp_instance\" opened here is never closed",
        ]
    );
    let e = errors(&format!("{INSTANCE}}}\n"));
    assert_eq!(
        e,
        ["t.conf:9:1: error: unexpected \"}\" (no block is open)"]
    );
}

#[test]
fn braces_on_the_next_line_and_one_line_blocks() {
    let l = check(
        "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 9\n virtual_ipaddress { 192.0.2.1 }\n}\n",
    );
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    assert_eq!(
        cfg.vrrp_instances[0].virtual_ipaddress[0].address,
        "192.0.2.1".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = "global_defs {\n  nftables_ipvs\n  smtp_connect_timeout x\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 0\n  priorty 3\n}\n";
    let e = errors(text);
    assert_eq!(
        e,
        [
            "t.conf:2:3: error: \"nftables_ipvs\" is a keepalived option that tandem does not support yet",
            "t.conf:3:24: error: smtp_connect_timeout expects a whole number, not \"x\"",
            "t.conf:7:21: error: virtual_router_id 0 is out of range (1-255)",
            "t.conf:8:3: error: unknown keyword \"priorty\" in vrrp_instance; did you mean \"priority\"? (keepalived 2.2.7 would log it and skip the line)",
        ]
    );
}

#[test]
fn dangling_references_are_errors() {
    let text = format!(
        "vrrp_script chk_http {{\n script \"true\"\n}}\nvrrp_sync_group G {{\n group {{\n VI_1\n VI_9\n }}\n}}\n{}",
        INSTANCE.replace("priority 100", "track_script {\n  chk_htp\n }")
    );
    let e = errors(&text);
    assert_eq!(
        e,
        [
            "t.conf:7:2: error: vrrp_sync_group G: no vrrp_instance named \"VI_9\"; did you mean \"VI_1\"?",
            "t.conf:14:3: error: vrrp_instance VI_1: track_script names no vrrp_script \"chk_htp\"; did you mean \"chk_http\"?",
        ]
    );
    let e = errors("virtual_server group WEB {\n  real_server 192.0.2.5 80\n}\n");
    assert_eq!(
        e,
        ["t.conf:1:1: error: virtual_server group WEB: no virtual_server_group named \"WEB\""]
    );
}

#[test]
fn track_script_weight_defaults_to_the_scripts() {
    let text = format!(
        "vrrp_script chk {{\n script \"true\"\n weight -20\n}}\n{}",
        INSTANCE.replace("priority 100", "track_script {\n  chk\n }")
    );
    let l = check(&text);
    assert!(!l.has_errors(), "{:?}", messages(&l));
    assert_eq!(
        l.config.unwrap().vrrp_instances[0].track_script[0].weight,
        -20
    );
}

#[test]
fn duplicate_vrid_on_one_interface() {
    let second = INSTANCE
        .replace("VI_1", "VI_2")
        .replace("192.0.2.10", "192.0.2.11");
    let e = errors(&format!("{INSTANCE}{second}"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.conf:9:1: error: vrrp_instance VI_2: virtual_router_id 51 is already used on eth0 (IPv4, multicast group 224.0.0.18) by vrrp_instance VI_1 at t.conf:1:1"),
        "{e:?}"
    );
    // Another interface is fine.
    let other = second.replace("eth0", "eth1");
    assert!(errors(&format!("{INSTANCE}{other}")).is_empty());
    // The default group named is still the same group.
    let named = second.replace("priority 100", "priority 100\n    mcast_dst_ip 224.0.0.18");
    assert_eq!(errors(&format!("{INSTANCE}{named}")).len(), 1);
}

/// keepalived 2.2.7's `check_vrid_conflicts`: unicast and multicast are
/// separate VRID spaces, and so are multicast groups; unicast instances
/// conflict only with the same source address and a peer in common.
#[test]
fn one_vrid_on_one_interface_where_keepalived_keeps_them_apart() {
    let second = |extra: &str| {
        INSTANCE
            .replace("VI_1", "VI_2")
            .replace("192.0.2.10", "192.0.2.11")
            .replace("priority 100", &format!("priority 100\n    {extra}"))
    };
    let first =
        |extra: &str| INSTANCE.replace("priority 100", &format!("priority 100\n    {extra}"));
    let peer = |p: &str| format!("unicast_peer {{\n        {p}\n    }}");
    let ok = [
        // Another multicast group.
        (first(""), second("mcast_dst_ip 224.0.0.19")),
        // Unicast beside multicast.
        (first(""), second(&peer("192.0.2.2"))),
        // Unicast to different peers.
        (first(&peer("192.0.2.2")), second(&peer("192.0.2.3"))),
        // Unicast from different source addresses.
        (
            first(&format!(
                "unicast_src_ip 192.0.2.1\n    {}",
                peer("192.0.2.2")
            )),
            second(&format!(
                "unicast_src_ip 192.0.2.4\n    {}",
                peer("192.0.2.2")
            )),
        ),
    ];
    for (a, b) in ok {
        let e = errors(&format!("{a}{b}"));
        assert!(e.is_empty(), "{a}{b}: {e:?}");
    }
    let e = errors(&format!(
        "{}{}",
        first(&peer("192.0.2.2")),
        second(&peer("192.0.2.2"))
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("virtual_router_id 51 is already used on eth0 (IPv4, unicast, the same source address and peer 192.0.2.2) by vrrp_instance VI_1"),
        "{e:?}"
    );
}

#[test]
fn address_families_must_agree() {
    let e = errors(&INSTANCE.replace("192.0.2.10/24", "192.0.2.10/24\n        2001:db8::1"));
    // At the address of the other family, not at the instance.
    assert_eq!(
        e,
        [
            "t.conf:7:9: error: vrrp_instance VI_1: virtual_ipaddress mixes IPv4 and IPv6 addresses (2001:db8::1); put the other family in virtual_ipaddress_excluded or in its own instance"
        ]
    );
    let e = errors("virtual_server 192.0.2.1 80 {\n  real_server 2001:db8::5 80 {\n  }\n}\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:2:3: error: real_server 2001:db8::5 is IPv6 but virtual_server 192.0.2.1:80 is IPv4"), "{e:?}");
}

#[test]
fn a_virtual_server_needs_a_port_unless_persistent() {
    let e = errors("virtual_server 192.0.2.1 {\n  real_server 192.0.2.5\n}\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("without a port must be persistent"), "{e:?}");
    assert!(
        errors("virtual_server 192.0.2.1 {\n  persistence_timeout\n  real_server 192.0.2.5\n}\n")
            .is_empty()
    );
    let e = errors("virtual_server 192.0.2.1 70000 {\n}\n");
    assert_eq!(
        e,
        ["t.conf:1:26: error: virtual_server port 70000 is out of range (0-65535)"]
    );
}

#[test]
fn deprecated_aliases_warn_and_apply() {
    let l = check(
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  lb_algo wrr\n  lb_kind DR\n  real_server 192.0.2.5 80 {\n    HTTP_GET {\n      url { path / }\n      nb_get_retry 4\n    }\n  }\n}\n",
    );
    assert_eq!(
        messages(&l),
        [
            "t.conf:3:3: warning: \"lb_algo\" is deprecated; use \"lvs_sched\"",
            "t.conf:4:3: warning: \"lb_kind\" is deprecated; use \"lvs_method\"",
            "t.conf:8:7: warning: \"nb_get_retry\" is deprecated; use \"retry\"",
        ]
    );
    let cfg = l.config.expect("warnings do not refuse");
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.lvs_sched, tandem::config::LvsSched::Wrr);
    assert_eq!(vs.real_servers[0].lvs_method, tandem::config::LvsMethod::Dr);
    assert_eq!(vs.real_servers[0].checkers[0].retry, 4);
}

#[test]
fn inheritance_virtual_to_real_to_checker() {
    let l = check(
        "virtual_server 192.0.2.1 80 {
  delay_loop 10
  connect_timeout 7
  retry 2
  virtualhost www.example.org
  inhibit_on_failure
  real_server 192.0.2.5 8080 {
    connect_timeout 4
    HTTP_GET {
      url {
        path /health
      }
      delay_before_retry 0.5
    }
  }
  real_server 192.0.2.6 8080 {
    inhibit_on_failure off
    MISC_CHECK {
      misc_path \"/bin/check --fast\"
    }
  }
}
",
    );
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let rs = &cfg.virtual_servers[0].real_servers;
    assert!(rs[0].inhibit_on_failure);
    assert!(!rs[1].inhibit_on_failure);
    let c = &rs[0].checkers[0];
    assert_eq!(c.delay_loop, Duration::from_secs(10));
    assert_eq!(c.connect_timeout, Duration::from_secs(4));
    assert_eq!(c.retry, 2);
    assert_eq!(c.delay_before_retry, Duration::from_millis(500));
    assert_eq!(c.connect_port, 8080);
    let tandem::config::CheckerKind::HttpGet(h) = &c.kind else {
        panic!()
    };
    assert_eq!(h.url[0].virtualhost.as_deref(), Some("www.example.org"));
    assert_eq!(h.url[0].status_code[0].first, 200);
    assert_eq!(h.url[0].status_code[0].last, 299);
    let m = &rs[1].checkers[0];
    assert_eq!(m.connect_timeout, Duration::from_secs(7));
    let tandem::config::CheckerKind::MiscCheck(misc) = &m.kind else {
        panic!()
    };
    assert_eq!(misc.misc_path, "/bin/check --fast");
    assert_eq!(
        misc.misc_timeout,
        Duration::from_secs(10),
        "defaults to delay_loop"
    );
}

#[test]
fn virtual_ipaddress_options() {
    let l = check(&INSTANCE.replace(
        "192.0.2.10/24",
        "192.0.2.2/24 dev eth1 label eth1:1 brd 192.0.2.255 scope global\n        192.0.2.3 no_track",
    ));
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let v = &cfg.vrrp_instances[0].virtual_ipaddress;
    assert_eq!(v[0].address, "192.0.2.2".parse::<IpAddr>().unwrap());
    assert_eq!(v[0].prefix_len, 24);
    assert_eq!(v[0].dev.as_deref(), Some("eth1"));
    assert_eq!(v[0].label.as_deref(), Some("eth1:1"));
    assert_eq!(v[0].brd, Some("192.0.2.255".parse().unwrap()));
    assert_eq!(v[0].scope, Some(Scope::Global));
    assert_eq!(v[1].prefix_len, 32);
    assert!(v[1].no_track);
    let e = errors(&INSTANCE.replace("192.0.2.10/24", "192.0.2.10/33"));
    assert_eq!(
        e,
        [
            "t.conf:6:9: error: expected an IP address with an optional /prefix, not \"192.0.2.10/33\""
        ]
    );
    let e = errors(&INSTANCE.replace("192.0.2.10/24", "192.0.2.10/24 lable x"));
    assert_eq!(
        e,
        ["t.conf:6:23: error: unknown address option \"lable\"; did you mean \"label\"?"]
    );
}

#[test]
fn smtp_server_with_port() {
    let l = check("global_defs {\n smtp_server 192.0.2.25 2525\n}\n");
    let s = l.config.unwrap().global_defs.smtp_server.unwrap();
    assert_eq!(
        (s.host, s.port),
        (
            tandem::config::SmtpHost::Address("192.0.2.25".parse::<IpAddr>().unwrap()),
            2525
        )
    );
}

#[test]
fn smtp_server_by_host_name_is_read_and_nonsense_is_refused() {
    let l = check("global_defs {\n smtp_server mail.example.org\n}\n");
    let s = l.config.unwrap().global_defs.smtp_server.unwrap();
    assert_eq!(
        (s.host, s.port),
        (
            tandem::config::SmtpHost::Name("mail.example.org".into()),
            25
        )
    );
    assert_eq!(
        errors("global_defs {\n smtp_server mail_relay\n}\n"),
        [
            "t.conf:2:14: error: smtp_server expects an IP address or a host name, not \"mail_relay\""
        ]
    );
    assert_eq!(
        errors("global_defs {\n smtp_server 192.0.2\n}\n"),
        ["t.conf:2:14: error: smtp_server expects an IP address or a host name, not \"192.0.2\""]
    );
}

#[test]
fn includes_are_relative_and_keep_positions() {
    let dir = TempDir::new("include");
    dir.write(
        "conf.d/vi.conf",
        &INSTANCE.replace("priority 100", "priorty 100"),
    );
    let main = dir.write(
        "keepalived.conf",
        "global_defs {\n router_id a\n}\ninclude conf.d/*.conf\n",
    );
    let l = load(&main, &LoadOptions::with_config_id("main"));
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    let inc = dir.0.join("conf.d/vi.conf");
    assert_eq!(
        e,
        [format!(
            "{}:4:5: error: unknown keyword \"priorty\" in vrrp_instance; did you mean \"priority\"? (keepalived 2.2.7 would log it and skip the line)",
            inc.display()
        )]
    );
}

#[test]
fn a_missing_include_is_an_error_at_the_include() {
    let dir = TempDir::new("missing-include");
    let main = dir.write("keepalived.conf", "include   nothere.conf\n");
    let l = load(&main, &LoadOptions::with_config_id("main"));
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        e,
        [format!(
            "{}:1:11: error: cannot include \"{}\": no such file",
            main.display(),
            dir.0.join("nothere.conf").display()
        )]
    );
    // A pattern matching nothing is only a warning (optional conf.d).
    let main = dir.write("k2.conf", "include conf.d/*.conf\n");
    let l = load(&main, &LoadOptions::with_config_id("main"));
    assert!(!l.has_errors());
    assert_eq!(l.warnings().count(), 1);
}

#[test]
fn an_include_loop_stops() {
    let dir = TempDir::new("include-loop");
    let main = dir.write("a.conf", "include a.conf\n");
    let l = load(&main, &LoadOptions::with_config_id("main"));
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("nested more than 32 deep"), "{e:?}");
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let text = INSTANCE.replace(
        "    priority 100",
        "@main    priority 200\n@backup  priority 100\n@^main   nopreempt",
    );
    let main = load_str(
        Path::new("t.conf"),
        text.clone(),
        &LoadOptions::with_config_id("main"),
    );
    let vi = &main.config.unwrap().vrrp_instances[0];
    assert_eq!((vi.priority, vi.nopreempt), (200, false));
    let backup = load_str(
        Path::new("t.conf"),
        text,
        &LoadOptions::with_config_id("backup"),
    );
    let vi = &backup.config.unwrap().vrrp_instances[0];
    assert_eq!((vi.priority, vi.nopreempt), (100, true));
}

#[test]
fn parameters_expand_and_errors_point_at_the_reference() {
    let text = format!(
        "$PRIO=240\n$IF=eth0\n{}",
        INSTANCE
            .replace("priority 100", "priority $PRIO")
            .replace("interface eth0", "interface ${IF}")
    );
    let l = check(&text);
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let vi = &l.config.unwrap().vrrp_instances[0];
    assert_eq!((vi.priority, vi.interface.as_str()), (240, "eth0"));
    let text = format!(
        "$PRIO=300\n{}",
        INSTANCE.replace("priority 100", "priority $PRIO")
    );
    assert_eq!(
        errors(&text),
        ["t.conf:5:14: error: priority 300 is out of range (1-255)"]
    );
}

#[test]
fn utf8_comments_and_quotes() {
    let l = check(
        "global_defs { ! ←コメント\n  router_id \"lb one\" # 名前\n  notification_email_from a@b ! 送信元\n}\n",
    );
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    assert_eq!(cfg.global_defs.router_id.as_deref(), Some("lb one"));
    assert_eq!(
        cfg.global_defs.notification_email_from.as_deref(),
        Some("a@b")
    );
    let e = errors("global_defs {\n  router_id \"unterminated\n}\n");
    assert_eq!(e, ["t.conf:2:13: error: unterminated quoted string"]);
}

#[test]
fn an_unreadable_file_is_an_error_not_a_panic() {
    let l = load(
        Path::new("/nonexistent/tandem.conf"),
        &LoadOptions::default(),
    );
    assert!(l.config.is_none());
    let e = messages(&l);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("/nonexistent/tandem.conf: error: cannot read the configuration"),
        "{e:?}"
    );
}

#[test]
fn many_parameters_on_one_line_and_self_reference() {
    let refs = "${P} ".repeat(200);
    let l = check(&format!(
        "$P=x\nglobal_defs {{\n notification_email {{\n {refs}\n }}\n}}\n"
    ));
    // 200 replacements on one line are not a loop.
    assert!(!l.has_errors(), "{:?}", messages(&l));
    assert_eq!(l.config.unwrap().global_defs.notification_email.len(), 200);
    let e = errors("$A=${A}${A}\nglobal_defs {\n router_id ${A}\n}\n");
    assert_eq!(
        e,
        [
            "t.conf:3:2: error: parameter substitution does not terminate (a parameter refers to itself)"
        ]
    );
}

#[test]
fn every_checker_kind_round_trips_through_json() {
    let l = check(
        "virtual_server fwmark 7 {
  persistence_timeout 60
  real_server 192.0.2.5 80 {
    TCP_CHECK {
      connect_port 81
    }
    MISC_CHECK {
      misc_path /bin/true
      misc_dynamic
      user nobody nogroup
    }
    SSL_GET {
      url {
        path /
        digest ff20ad2481f97b1754ef3e12ecd3a9cc
        status_code 200-299 301
      }
      enable_sni
    }
  }
}
",
    );
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let json = serde_json::to_string(&cfg).unwrap();
    let back: tandem::config::Config = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    let rs = &back.virtual_servers[0].real_servers[0];
    assert_eq!(rs.checkers.len(), 3);
    assert_eq!(rs.checkers[0].connect_port, 81);
    assert!(json.contains("\"digest\":\"ff20ad2481f97b1754ef3e12ecd3a9cc\""));
}

#[test]
fn a_checker_needs_a_port() {
    let e = errors(
        "virtual_server fwmark 1 {\n  persistence_timeout 60\n  real_server 192.0.2.5 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n",
    );
    assert_eq!(
        e,
        [
            "t.conf:4:5: error: TCP_CHECK of real_server 192.0.2.5 has no port to connect to; set connect_port (the real server has none)"
        ]
    );
}

#[test]
fn a_huge_number_is_out_of_range() {
    let e = errors(&INSTANCE.replace("priority 100", "priority 99999999999999999999"));
    assert_eq!(
        e,
        ["t.conf:4:14: error: priority 99999999999999999999 is out of range (1-255)"]
    );
}

#[test]
fn a_keyword_given_twice_warns() {
    let l = check(&INSTANCE.replace("priority 100", "priority 100\n    priority 150"));
    assert_eq!(
        messages(&l),
        ["t.conf:5:5: warning: \"priority\" is given again; this replaces the value at line 4"]
    );
    assert_eq!(l.config.unwrap().vrrp_instances[0].priority, 150);
    // Lists add up instead.
    let l = check(&INSTANCE.replace("priority 100", "virtual_ipaddress {\n 192.0.2.11/24\n }"));
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    assert_eq!(
        l.config.unwrap().vrrp_instances[0].virtual_ipaddress.len(),
        2
    );
}

#[test]
fn tunnel_types_and_scheduler_flags() {
    use tandem::config::{LvsMethod, SchedFlags, Tunnel, TunnelChecksum, TunnelType};
    let l = check(
        "virtual_server 192.0.2.1 80 {
  protocol TCP
  lvs_sched sh
  sh-port
  sh-fallback
  lvs_method TUN type gue port 6080 csum
  real_server 198.51.100.1 80 {
  }
  real_server 198.51.100.2 80 {
    lvs_method TUN type gre
  }
  real_server 198.51.100.3 80 {
    lvs_method DR
  }
}
",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let vs = &cfg.virtual_servers[0];
    assert_eq!(
        vs.sched_flags,
        SchedFlags {
            flag_1: true,
            flag_2: true,
            flag_3: false
        }
    );
    let gue = Tunnel {
        tunnel_type: TunnelType::Gue,
        port: 6080,
        checksum: TunnelChecksum::Csum,
    };
    assert_eq!(
        (vs.real_servers[0].lvs_method, vs.real_servers[0].tunnel),
        (LvsMethod::Tun, gue)
    );
    assert_eq!(vs.real_servers[1].tunnel.tunnel_type, TunnelType::Gre);
    assert_eq!(vs.real_servers[2].lvs_method, LvsMethod::Dr);

    let e = errors("virtual_server 192.0.2.1 80 {\n  lvs_method TUN type gue\n}\n");
    assert_eq!(
        e,
        ["t.conf:2:14: error: a GUE tunnel needs a port (lvs_method TUN type gue port N)"]
    );
    let e = errors("virtual_server 192.0.2.1 80 {\n  lvs_method TUN type gre remcsum\n}\n");
    assert_eq!(e, ["t.conf:2:14: error: remcsum needs a GUE tunnel"]);
    let e = errors("virtual_server 192.0.2.1 80 {\n  lvs_method DR type gre\n}\n");
    assert_eq!(
        e,
        ["t.conf:2:17: error: unexpected \"type\" after lvs_method DR"]
    );
    let l = check("virtual_server 192.0.2.1 80 {\n  lvs_sched rr\n  mh-port\n  protocol TCP\n}\n");
    assert_eq!(
        messages(&l),
        [
            "t.conf:3:3: warning: \"mh-port\" applies to lvs_sched mh; with rr it sets scheduler flag 2"
        ]
    );
}

#[test]
fn keepalived_corrections_are_warnings_and_applied() {
    let l = check(
        "virtual_server 192.0.2.1 80 {
  protocol TCP
  quorum 5
  hysteresis 4
  lvs_method DR
  real_server 198.51.100.1 8080 {
    weight 1
    TCP_CHECK {
    }
  }
  real_server 198.51.100.2 80 {
    weight 2
  }
}
virtual_server fwmark 9 {
  protocol UDP
  real_server 198.51.100.3 80 {
    lvs_method NAT
  }
}
",
    );
    assert_eq!(
        messages(&l),
        [
            "t.conf:1:1: warning: virtual_server 192.0.2.1:80: quorum 5 exceeds the total weight 3 of its real servers; quorum 3 is used",
            "t.conf:1:1: warning: virtual_server 192.0.2.1:80: hysteresis 4 is not below quorum 3; hysteresis 2 is used",
            "t.conf:6:3: warning: real_server 198.51.100.1 port 8080: with lvs_method DR IPVS does not translate ports; port 80 is used",
            "t.conf:16:3: warning: protocol is ignored for a fwmark service (the mark selects the packets)",
        ]
    );
    let cfg = l.config.unwrap();
    let vs = &cfg.virtual_servers[0];
    assert_eq!((vs.quorum, vs.hysteresis), (3, 2));
    assert_eq!(vs.real_servers[0].port, 80);
    assert_eq!(
        vs.real_servers[0].checkers[0].connect_port, 8080,
        "checks go where the operator said"
    );
    assert_eq!(
        cfg.virtual_servers[1].real_servers[0].port, 80,
        "NAT keeps its port"
    );
}

#[test]
fn includes_work_inside_blocks() {
    let dir = TempDir::new("include-block");
    dir.write(
        "rs/a.conf",
        "real_server 198.51.100.1 80 {\n  weight 3\n}\n",
    );
    dir.write(
        "rs/b.conf",
        "real_server 198.51.100.2 80 {\n  weight 4\n}\n",
    );
    let main = dir.write(
        "keepalived.conf",
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  lvs_sched rr\n  include rs/*.conf\n}\n",
    );
    let l = load(&main, &LoadOptions::with_config_id("main"));
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let w: Vec<u32> = cfg.virtual_servers[0]
        .real_servers
        .iter()
        .map(|r| r.weight)
        .collect();
    assert_eq!(w, [3, 4], "files in sorted order");
}

#[test]
fn one_address_in_two_instances_is_a_warning() {
    // keepalived 2.2.7 runs such a file silently; tandem runs it and says
    // what happens at runtime.
    let second = INSTANCE
        .replace("VI_1", "VI_2")
        .replace("virtual_router_id 51", "virtual_router_id 52");
    let l = check(&format!("{INSTANCE}{second}"));
    assert!(l.config.is_some(), "{:?}", messages(&l));
    assert_eq!(
        messages(&l),
        [
            "t.conf:9:1: warning: vrrp_instance VI_2: virtual address 192.0.2.10 is also held by vrrp_instance VI_1: \
             whichever of the two leaves MASTER first removes it from the other (keepalived does the same)"
        ]
    );
}

#[test]
fn a_repeated_address_in_one_instance_is_kept_once() {
    let l = check(&INSTANCE.replace(
        "192.0.2.10/24",
        "192.0.2.10/24\n        192.0.2.10/24 label eth0:1",
    ));
    assert_eq!(
        messages(&l),
        [
            "t.conf:7:9: warning: 192.0.2.10 is already an address of vrrp_instance VI_1 (line 6); this entry is ignored"
        ]
    );
    assert_eq!(
        l.config.unwrap().vrrp_instances[0].virtual_ipaddress.len(),
        1
    );
}

#[test]
fn no_checker_emails_is_read_with_an_optional_boolean() {
    let get = |text: &str| {
        let l = check(text);
        assert!(messages(&l).is_empty(), "{text}: {:?}", messages(&l));
        l.config.map(|c| c.global_defs.no_checker_emails)
    };
    assert_eq!(get("global_defs {\n    no_checker_emails\n}\n"), Some(true));
    assert_eq!(
        get("global_defs {\n    no_checker_emails false\n}\n"),
        Some(false)
    );
    assert_eq!(get("global_defs {\n    router_id lb1\n}\n"), Some(false));
    let bad = errors("global_defs {\n    no_checker_emails maybe\n}\n");
    assert!(
        bad.iter().any(|e| e.starts_with("t.conf:2:")),
        "a bad value is an error at its line: {bad:?}"
    );
}

#[test]
fn no_email_faults_is_read_and_takes_no_value() {
    let on = check("global_defs {\n    no_email_faults\n}\n");
    assert!(messages(&on).is_empty(), "{:?}", messages(&on));
    assert!(
        on.config
            .as_ref()
            .is_some_and(|c| c.global_defs.no_email_faults)
    );
    let off = check("global_defs {\n    router_id lb1\n}\n");
    assert!(
        off.config
            .as_ref()
            .is_some_and(|c| !c.global_defs.no_email_faults)
    );
    let bad = errors("global_defs {\n    no_email_faults yes\n}\n");
    assert!(
        bad.iter().any(|e| e.starts_with("t.conf:2:")),
        "a value after no_email_faults is an error at its line: {bad:?}"
    );
}

#[test]
fn a_virtual_server_without_protocol_is_udp_with_a_warning() {
    // keepalived 2.2.7: "no protocol set - defaulting to UDP".
    let l = check(
        "virtual_server 192.0.2.1 80 {\n  lvs_sched rr\n  real_server 198.51.100.1 80 {\n  }\n}\n\
         virtual_server_group G {\n  192.0.2.2 80\n}\n\
         virtual_server group G {\n  real_server 198.51.100.1 80 {\n  }\n}\n\
         virtual_server fwmark 7 {\n  persistence_timeout\n  real_server 198.51.100.1 80 {\n  }\n}\n\
         virtual_server 192.0.2.3 80 {\n  protocol TCP\n}\n",
    );
    assert_eq!(
        messages(&l),
        [
            "t.conf:1:1: warning: virtual_server 192.0.2.1:80 has no \"protocol\"; UDP is used, as keepalived does: write \"protocol UDP\" (or \"protocol TCP\") explicitly",
            "t.conf:9:1: warning: virtual_server group G has no \"protocol\"; UDP is used, as keepalived does: write \"protocol UDP\" (or \"protocol TCP\") explicitly",
        ]
    );
    let cfg = l.config.expect("a warning does not refuse");
    let p: Vec<_> = cfg.virtual_servers.iter().map(|v| v.protocol).collect();
    use tandem::config::Protocol;
    assert_eq!(p[0], Protocol::Udp);
    assert_eq!(p[1], Protocol::Udp);
    assert_eq!(p[3], Protocol::Tcp);
}

#[test]
fn nb_get_retry_is_read_only_where_keepalived_reads_it() {
    // keepalived 2.2.7 reads nb_get_retry in HTTP_GET and SSL_GET only;
    // elsewhere it says "Unknown keyword 'nb_get_retry'".
    let e = errors(
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  nb_get_retry 3\n  real_server 192.0.2.5 80 {\n    nb_get_retry 3\n    TCP_CHECK {\n      nb_get_retry 3\n    }\n    MISC_CHECK {\n      misc_path /bin/true\n      nb_get_retry 3\n    }\n  }\n}\n",
    );
    assert_eq!(
        e,
        [
            "t.conf:3:3: error: \"nb_get_retry\" is not read in virtual_server: keepalived 2.2.7 would log \"Unknown keyword\" and skip the line (no retry set); use \"retry\"",
            "t.conf:5:5: error: \"nb_get_retry\" is not read in real_server: keepalived 2.2.7 would log \"Unknown keyword\" and skip the line (no retry set); use \"retry\"",
            "t.conf:7:7: error: \"nb_get_retry\" is not read in TCP_CHECK: keepalived 2.2.7 would log \"Unknown keyword\" and skip the line (no retry set); use \"retry\"",
            "t.conf:11:7: error: \"nb_get_retry\" is not read in MISC_CHECK: keepalived 2.2.7 would log \"Unknown keyword\" and skip the line (no retry set); use \"retry\"",
        ]
    );
}

#[test]
fn sync_group_members_outside_group_are_explained() {
    // keepalived 1.x samples list members directly in the sync group.
    let e = errors(&format!(
        "{INSTANCE}vrrp_sync_group G {{\n  group {{\n    VI_1\n  }}\n  VI_2\n}}\n"
    ));
    assert_eq!(
        e,
        [
            "t.conf:13:3: error: \"VI_2\" is not a vrrp_sync_group keyword; a sync group lists its vrrp_instances inside group { ... }"
        ]
    );
}

#[test]
fn vrrp_version_2_cannot_carry_ipv6() {
    let text = INSTANCE
        .replace("priority 100", "version 2")
        .replace("192.0.2.10/24", "2001:db8::10");
    assert_eq!(
        errors(&text),
        [
            "t.conf:4:13: error: vrrp_instance VI_1: VRRP version 2 is IPv4 only (RFC 3768); IPv6 needs version 3"
        ]
    );
}

#[test]
fn authentication_needs_version_2() {
    let text = INSTANCE.replace(
        "priority 100",
        "version 3\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }",
    );
    assert_eq!(
        errors(&text),
        [
            "t.conf:5:5: error: vrrp_instance VI_1: authentication is not part of VRRP version 3 (RFC 5798; keepalived 2.2.7 would report it and ignore the authentication block)"
        ]
    );
}

#[test]
fn unicast_peers_share_the_instances_family() {
    // Each error at the address written, not at the instance.
    let text = INSTANCE.replace(
        "priority 100",
        "unicast_src_ip 2001:db8::1\n    unicast_peer {\n        192.0.2.2\n        2001:db8::2\n    }",
    );
    assert_eq!(
        errors(&text),
        [
            "t.conf:4:20: error: vrrp_instance VI_1: unicast_src_ip 2001:db8::1 is not IPv4 like the instance's virtual addresses; \
             keepalived reads this address first, takes the instance as IPv6 and drops its IPv4 virtual addresses, leaving it without them",
            "t.conf:7:9: error: vrrp_instance VI_1: unicast_peer 2001:db8::2 is not IPv4 like the instance's virtual addresses",
        ]
    );
}

#[test]
fn a_sorry_server_shares_the_services_family() {
    let e =
        errors("virtual_server 192.0.2.1 80 {\n  protocol TCP\n  sorry_server 2001:db8::9 80\n}\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("virtual_server 192.0.2.1:80: sorry_server 2001:db8::9 is not IPv4"),
        "{e:?}"
    );
}

#[test]
fn one_vrid_on_one_interface_for_ipv4_and_ipv6_is_accepted() {
    // RFC 5798 §7.3: IPv4 and IPv6 virtual routers are separate even
    // with the same VRID.
    let v6 = INSTANCE
        .replace("VI_1", "VI_6")
        .replace("192.0.2.10/24", "2001:db8::10");
    let l = check(&format!("{INSTANCE}{v6}"));
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    assert_eq!(cfg.vrrp_instances.len(), 2);
    assert_eq!(cfg.vrrp_instances[1].virtual_router_id, 51);
}

#[test]
fn ops_needs_udp() {
    let e = errors("virtual_server 192.0.2.1 53 {\n  protocol TCP\n  ops\n}\n");
    assert_eq!(
        e,
        [
            "t.conf:1:1: error: virtual_server 192.0.2.1:53: ops (one-packet scheduling) applies to UDP only"
        ]
    );
    assert!(errors("virtual_server 192.0.2.1 53 {\n  protocol UDP\n  ops\n}\n").is_empty());
}

#[test]
fn lthreshold_above_uthreshold_is_an_error() {
    let e = errors(
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.5 80 {\n    uthreshold 10\n    lthreshold 20\n  }\n}\n",
    );
    assert_eq!(
        e,
        ["t.conf:3:3: error: real_server 192.0.2.5: lthreshold 20 is above uthreshold 10"]
    );
}

#[test]
fn a_virtual_server_defined_twice_is_an_error() {
    let e = errors(
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n}\n\
         virtual_server 192.0.2.1 80 {\n  protocol TCP\n}\n\
         virtual_server 192.0.2.1 80 {\n  protocol UDP\n}\n\
         virtual_server fwmark 3 {\n  protocol TCP\n  persistence_timeout\n}\n\
         virtual_server fwmark 3 {\n  protocol UDP\n  persistence_timeout\n}\n",
    );
    assert_eq!(
        e,
        [
            "t.conf:4:1: error: virtual_server 192.0.2.1:80 TCP is already defined at t.conf:1:1",
            "t.conf:14:1: error: virtual_server fwmark 3 (IPv4) is already defined at t.conf:10:1",
        ]
    );
}

#[test]
fn one_fwmark_for_ipv4_and_for_ipv6_is_two_ipvs_services() {
    // IPVS keys a fwmark service by family and mark; keepalived runs both.
    let text = "virtual_server fwmark 80 {\n  lvs_method NAT\n  persistence_timeout\n  real_server 192.0.2.5 80 {\n  }\n}\n\
                virtual_server fwmark 80 {\n  lvs_method NAT\n  persistence_timeout\n  real_server 2001:db8::5 80 {\n  }\n}\n";
    let l = load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::default(),
    );
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let cfg = l.config.unwrap_or_else(|| panic!("refused: {msgs:?}"));
    let table = tandem::ipvs::from_config::table_all_up(&cfg).expect("an IPVS table");
    let mut keys: Vec<String> = table.services.keys().map(|k| format!("{k:?}")).collect();
    keys.sort();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].contains("Inet,") && keys[1].contains("Inet6"),
        "{keys:?}"
    );

    // Tunnelled servers may cross families; keepalived then takes their
    // one family, and IPv4 when they mix.
    let tun = |servers: &str| {
        let text = format!(
            "virtual_server fwmark 83 {{\n  lvs_method TUN\n  persistence_timeout\n  sorry_server 2001:db8::43 80\n{servers}}}\n"
        );
        let l = load_str(Path::new("t.conf"), text, &LoadOptions::default());
        let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
        let cfg = l.config.unwrap_or_else(|| panic!("refused: {msgs:?}"));
        cfg.virtual_servers[0].family.to_string()
    };
    let rs = |a: &str| format!("  real_server {a} 80 {{\n  }}\n");
    assert_eq!(tun(&(rs("2001:db8::40") + &rs("2001:db8::41"))), "IPv6");
    assert_eq!(tun(&(rs("2001:db8::40") + &rs("192.0.2.41"))), "IPv4");
    // A server that is not tunnelled decides.
    let nat = "  real_server 2001:db8::44 80 {\n    lvs_method NAT\n  }\n";
    assert_eq!(tun(&(rs("192.0.2.41") + nat)), "IPv6");

    // A group of family-less fwmarks serves each family once (vsg1.conf).
    let group = |a: &str, b: &str| {
        format!(
            "virtual_server_group G {{\n  fwmark 38\n}}\n\
             virtual_server group G {{\n  persistence_timeout\n  real_server {a} 80 {{\n  }}\n}}\n\
             virtual_server group G {{\n  persistence_timeout\n  real_server {b} 80 {{\n  }}\n}}\n"
        )
    };
    assert!(errors(&group("2001:db8::1", "192.0.2.1")).is_empty());
    assert_eq!(
        errors(&group("192.0.2.2", "192.0.2.1")),
        ["t.conf:9:1: error: virtual_server group G UDP (IPv4) is already defined at t.conf:4:1"]
    );
}

/// keepalived takes only the first word of a script line as the command
/// (notify scripts: the next words as USER GROUP), so an unquoted command
/// with arguments loses them; the error shows the quoted line to write.
#[test]
fn an_unquoted_command_with_arguments_says_to_quote_it() {
    let e = errors(
        "vrrp_script chk {\n  script /usr/bin/pgrep -x haproxy\n}\n\
         vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n  track_script {\n    chk\n  }\n\
         notify_master /bin/bash /usr/local/bin/a.sh 3 4 5\n  notify_backup \"/bin/bash /usr/local/bin/b.sh\" root\n}\n\
         virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.5 80 {\n    MISC_CHECK {\n      misc_path /etc/keepalived/vs.sh vs1\n    }\n  }\n}\n",
    );
    assert_eq!(
        e,
        [
            "t.conf:2:25: error: unexpected \"-x\" after \"script\": a command with arguments is one quoted word, script \"/usr/bin/pgrep -x haproxy\" (keepalived 2.2.7 would run /usr/bin/pgrep without the words after it)",
            "t.conf:13:25: error: unexpected \"/usr/local/bin/a.sh\" after \"notify_master\": a command with arguments is one quoted word, notify_master \"/bin/bash /usr/local/bin/a.sh 3 4 5\" (keepalived 2.2.7 would take \"/usr/local/bin/a.sh\" for the user to run it as, and not run the script)",
            "t.conf:20:39: error: unexpected \"vs1\" after \"misc_path\": a command with arguments is one quoted word, misc_path \"/etc/keepalived/vs.sh vs1\" (keepalived 2.2.7 would run /etc/keepalived/vs.sh without the words after it)",
        ]
    );
}

#[test]
fn advert_int_for_version_2_is_1_to_255_whole_seconds() {
    for (v, msg) in [
        (
            "0",
            "advert_int 0 is out of range for VRRP version 2 (1-255 seconds)",
        ),
        (
            "256",
            "advert_int 256 is out of range for VRRP version 2 (1-255 seconds)",
        ),
        (
            "1.5",
            "advert_int 1.5 needs VRRP version 3 (\"version 3\"); version 2 counts whole seconds (keepalived rounds it to 2 s)",
        ),
    ] {
        let text = INSTANCE.replace("priority 100", &format!("advert_int {v}"));
        assert_eq!(errors(&text), [format!("t.conf:4:16: error: {msg}")]);
    }
    assert!(errors(&INSTANCE.replace("priority 100", "advert_int 255")).is_empty());
}

#[test]
fn global_defs_are_read() {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use tandem::config::LvsFlushOnStop;
    // global_defs after the instances: keepalived applies its defaults
    // wherever they are written.
    let second = INSTANCE
        .replace("VI_1", "VI_2")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        .replace("192.0.2.10/24", "192.0.2.11/24")
        .replace(
            "priority 100",
            "garp_master_delay 2\n    garp_master_refresh_repeat 4",
        );
    let text = format!(
        "{INSTANCE}{second}global_defs {{
    vrrp_mcast_group4 239.0.0.18
    vrrp_mcast_group6 ff02::1:12
    vrrp_garp_master_delay 7
    vrrp_garp_master_repeat 3
    vrrp_garp_lower_prio_delay 9
    vrrp_garp_lower_prio_repeat 2
    vrrp_garp_master_refresh 60
    vrrp_garp_master_refresh_repeat 6
    vrrp_garp_interval 0.25
    vrrp_gna_interval 0.5
    smtp_helo_name lb1.example.org
    lvs_flush
    lvs_flush_on_stop VS
}}
"
    );
    let l = check(&text);
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let g = &cfg.global_defs;
    assert_eq!(
        g.vrrp_mcast_group4,
        "239.0.0.18".parse::<Ipv4Addr>().unwrap()
    );
    assert_eq!(
        g.vrrp_mcast_group6,
        "ff02::1:12".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(g.vrrp_garp_master_delay, Duration::from_secs(7));
    assert_eq!(g.vrrp_garp_master_repeat, 3);
    assert_eq!(g.vrrp_garp_lower_prio_delay, Duration::from_secs(9));
    assert_eq!(g.vrrp_garp_lower_prio_repeat, 2);
    assert_eq!(g.vrrp_garp_master_refresh, Some(Duration::from_secs(60)));
    assert_eq!(g.vrrp_garp_master_refresh_repeat, 6);
    assert_eq!(g.vrrp_garp_interval, Duration::from_millis(250));
    assert_eq!(g.vrrp_gna_interval, Duration::from_millis(500));
    assert_eq!(g.smtp_helo_name.as_deref(), Some("lb1.example.org"));
    assert!(g.lvs_flush);
    assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::Vs);

    // VI_1 inherits every garp setting; VI_2 overrides two of them.
    let vi = &cfg.vrrp_instances[0];
    assert_eq!(vi.garp_master_delay, Duration::from_secs(7));
    assert_eq!(vi.garp_master_repeat, 3);
    assert_eq!(vi.garp_lower_prio_delay, Duration::from_secs(9));
    assert_eq!(vi.garp_lower_prio_repeat, 2);
    assert_eq!(vi.garp_master_refresh, Some(Duration::from_secs(60)));
    assert_eq!(vi.garp_master_refresh_repeat, 6);
    assert_eq!(vi.garp_interval, Duration::from_millis(250));
    assert_eq!(vi.gna_interval, Duration::from_millis(500));
    let vi2 = &cfg.vrrp_instances[1];
    assert_eq!(vi2.garp_master_delay, Duration::from_secs(2));
    assert_eq!(vi2.garp_master_refresh_repeat, 4);
    assert_eq!(vi2.garp_master_repeat, 3);
    assert_eq!(vi2.garp_master_refresh, Some(Duration::from_secs(60)));

    // Without global_defs: keepalived's defaults, and lvs_flush_on_stop
    // without a value flushes everything.
    let l = check(&format!(
        "{INSTANCE}global_defs {{\n    lvs_flush_on_stop\n}}\n"
    ));
    let cfg = l.config.unwrap();
    let g = &cfg.global_defs;
    assert_eq!(g.vrrp_mcast_group4, Ipv4Addr::new(224, 0, 0, 18));
    assert_eq!(g.lvs_flush_on_stop, LvsFlushOnStop::All);
    assert!(!g.lvs_flush);
    let vi = &cfg.vrrp_instances[0];
    assert_eq!(vi.garp_master_delay, Duration::from_secs(5));
    assert_eq!(vi.garp_master_repeat, 5);
    assert_eq!(vi.garp_lower_prio_delay, Duration::from_secs(5));
}

#[test]
fn virtual_server_settings_are_read() {
    let l = check(
        "virtual_server 192.0.2.1 80 {
  protocol TCP
  persistence_timeout 600
  persistence_granularity 255.255.255.0
  sorry_server 192.0.2.99 8080
  sorry_server_inhibit
  real_server 192.0.2.5 80 {
    uthreshold 100
    lthreshold 10
  }
  real_server 192.0.2.6 80 {
  }
}
",
    );
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(600)));
    assert_eq!(vs.persistence_granularity, Some(24));
    assert!(vs.sorry_server_inhibit);
    let sorry = vs.sorry_server.as_ref().unwrap();
    assert_eq!(
        (sorry.address, sorry.port),
        ("192.0.2.99".parse::<IpAddr>().unwrap(), 8080)
    );
    assert_eq!(vs.real_servers[0].uthreshold, Some(100));
    assert_eq!(vs.real_servers[0].lthreshold, Some(10));
    assert_eq!(vs.real_servers[1].uthreshold, None);
    assert_eq!(vs.real_servers[1].lthreshold, None);
}

#[test]
fn persistence_engine_is_one_name_of_at_most_15_bytes() {
    let vs = |line: &str| {
        format!(
            "virtual_server 192.0.2.44 5060 {{\n  protocol UDP\n  persistence_timeout 60\n{line}}}\n"
        )
    };
    let l = check(&vs("  persistence_engine sip\n"));
    assert!(l.diagnostics.is_empty(), "{:?}", messages(&l));
    let cfg = l.config.unwrap();
    assert_eq!(
        cfg.virtual_servers[0].persistence_engine.as_deref(),
        Some("sip")
    );
    let cfg = check(&vs("")).config.unwrap();
    assert_eq!(cfg.virtual_servers[0].persistence_engine, None);
    assert_eq!(
        errors(&vs("  persistence_engine abcdefghijklmnop\n")),
        [
            "t.conf:4:22: error: persistence_engine \"abcdefghijklmnop\" is longer than IPVS's 15 bytes (keepalived 2.2.7 would report it and truncate it)"
        ]
    );
    assert_eq!(
        errors(&vs("  persistence_engine\n")),
        ["t.conf:4:3: error: \"persistence_engine\" needs an IPVS persistence engine name (sip)"]
    );
}

#[test]
fn diagnostics_are_in_file_order() {
    // A cross-item problem (found after the whole file is read) early in
    // the file comes before a per-keyword problem later in it.
    let text = INSTANCE.replace("priority 100", "track_script {\n        nosuch\n    }")
        + "vrrp_instance VI_2 {\n    priorty 10\n}\n";
    let l = check(&text);
    let pos: Vec<(u32, u32)> = l.diagnostics.iter().map(|d| (d.line, d.col)).collect();
    assert_eq!(
        messages(&l),
        [
            "t.conf:5:9: error: vrrp_instance VI_1: track_script names no vrrp_script \"nosuch\"",
            "t.conf:11:1: error: vrrp_instance VI_2 has no \"interface\"",
            "t.conf:11:1: error: vrrp_instance VI_2 has no \"virtual_router_id\"",
            "t.conf:12:5: error: unknown keyword \"priorty\" in vrrp_instance; did you mean \"priority\"? (keepalived 2.2.7 would log it and skip the line)",
        ]
    );
    let mut sorted = pos.clone();
    sorted.sort();
    assert_eq!(pos, sorted);
}

#[test]
fn checker_keywords_follow_keepalived() {
    // keepalived 2.2.7 reads enable_sni in HTTP_GET (where it means
    // nothing) and refuses connect_timeout in MISC_CHECK.
    let l = check(
        "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.5 80 {\n    HTTP_GET {\n      url { path / }\n      enable_sni\n    }\n    MISC_CHECK {\n      misc_path /bin/true\n      connect_timeout 3\n    }\n  }\n}\n",
    );
    assert_eq!(
        messages(&l),
        [
            "t.conf:6:7: warning: enable_sni has no effect in HTTP_GET (no TLS); it is for SSL_GET",
            "t.conf:10:7: error: \"connect_timeout\" is not read in MISC_CHECK: keepalived 2.2.7 would log \"Unknown keyword\" and skip the line (no misc_timeout set); use \"misc_timeout\"",
        ]
    );
}

#[test]
fn umask_as_keepalived_reads_it() {
    let mask = |v: &str| {
        let l = check(&format!("global_defs {{\n umask {v}\n}}\n{INSTANCE}"));
        (
            l.config.as_ref().and_then(|c| c.global_defs.umask),
            l.errors().map(|d| d.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(mask("0027").0, Some(0o027));
    assert_eq!(mask("0x1f").0, Some(0o037));
    assert_eq!(mask("18").0, Some(0o022), "decimal, as strtol reads it");
    assert_eq!(mask("0").0, Some(0));
    assert_eq!(mask("IWGRP|IWOTH").0, Some(0o022));
    assert_eq!(mask("IWGRP | IROTH|IWOTH").0, Some(0o026));
    for bad in ["08", "01000", "IWGRP|", "IWGRP IWOTH", "IWRONG", "0022 1"] {
        let (m, errs) = mask(bad);
        assert!(
            m.is_none() && errs.len() == 1 && errs[0].starts_with("t.conf:2:"),
            "{bad}: {errs:?}"
        );
    }
}

/// keepalived runs a unicast instance without an interface (routed
/// adverts); tandem refuses it and says so.
#[test]
fn a_unicast_instance_without_an_interface_says_what_keepalived_does() {
    let text = INSTANCE.replace("    interface eth0\n", "").replace(
        "priority 100",
        "priority 100\n    unicast_peer {\n        192.0.2.2\n    }",
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.conf:1:1: error: vrrp_instance VI_1 has no \"interface\": keepalived runs a unicast instance without one"),
        "{e:?}"
    );
}

/// keepalived 2.2.7 moves the addresses an advert cannot carry to the
/// excluded ones, with a report: 255 for IPv4 (the 8-bit count), 89 for
/// IPv6 (what fits a 1500-byte frame).
#[test]
fn virtual_addresses_beyond_an_advert_are_held_but_not_advertised() {
    for (v6, n, max) in [(false, 300usize, 255usize), (true, 100, 89)] {
        let vips: String = (0..n)
            .map(|i| {
                if v6 {
                    format!("        2001:db8::{:x}\n", i + 1)
                } else {
                    format!("        198.51.{}.{}\n", 100 + i / 250, 1 + i % 250)
                }
            })
            .collect();
        let text = INSTANCE.replace("        192.0.2.10/24\n", &vips);
        let l = check(&text);
        let m = messages(&l);
        assert_eq!(m.len(), 1, "{m:?}");
        let line = 6 + max;
        assert!(
            m[0].starts_with(&format!(
                "t.conf:{line}:9: warning: vrrp_instance VI_1: {n} virtual addresses, more than an advert carries ({max}): the {} from here on",
                n - max
            )),
            "{m:?}"
        );
        let c = l.config.unwrap_or_else(|| panic!("refused"));
        let vi = &c.vrrp_instances[0];
        assert_eq!(vi.virtual_ipaddress.len(), max);
        assert_eq!(vi.virtual_ipaddress_excluded.len(), n - max);
        assert_eq!(
            vi.virtual_ipaddress_excluded[0].address.to_string(),
            if v6 {
                format!("2001:db8::{:x}", max + 1)
            } else {
                "198.51.101.6".to_string()
            }
        );
    }
}

/// An IPv4 unicast_src_ip before IPv6 virtual addresses: keepalived makes
/// the instance IPv4 and drops the addresses; tandem refuses and says so.
#[test]
fn a_source_of_the_other_family_says_what_keepalived_makes_of_it() {
    let text = INSTANCE
        .replace("priority 100", "priority 100\n    unicast_src_ip 192.0.2.1")
        .replace("192.0.2.10/24", "2001:db8::10/64");
    let e = errors(&text);
    assert_eq!(
        e,
        [
            "t.conf:5:20: error: vrrp_instance VI_1: unicast_src_ip 192.0.2.1 is not IPv6 like the instance's virtual addresses; \
          keepalived reads this address first, takes the instance as IPv4 and drops its IPv6 virtual addresses, leaving it without them"
        ]
    );
}
