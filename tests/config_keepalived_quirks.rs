//! Spellings real keepalived.conf files use that keepalived 2.2.7 reads in
//! its own way: virtual_server `alpha 1` / `omega 1` (keepalived ignores
//! the value and turns them on), a real server's `alpha 1` (keepalived
//! reports it and ignores the line), routes to `default`, a `/prefix`
//! after a source or server address (keepalived drops it), and the lines
//! keepalived reports as invalid and then drops (persistence_timeout 0, a
//! real server given twice), which tandem drops the same way, saying so;
//! an instance's `debug` (a note) and global_defs' `default_interface`.

use std::net::IpAddr;
use std::path::Path;

use tandem::config::{Config, LoadOptions, Loaded, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn vs(body: &str, rs: &str) -> String {
    format!(
        "virtual_server 192.0.2.10 80 {{\n  lvs_sched rr\n  protocol TCP\n{body}\n  real_server 198.51.100.1 80 {{\n{rs}\n  }}\n}}\n"
    )
}

fn loaded(text: &str) -> (Config, Vec<String>) {
    let l = check(text);
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    (
        l.config.unwrap_or_else(|| panic!("refused: {msgs:?}")),
        msgs,
    )
}

#[test]
fn virtual_server_alpha_and_omega_are_on_whatever_follows_as_in_keepalived() {
    let (c, msgs) = loaded(&vs("  alpha 1\n  omega 1", ""));
    let v = &c.virtual_servers[0];
    assert!(v.alpha && v.omega);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].starts_with("t.conf:4:9: warning"), "{msgs:?}");
    assert!(msgs[0].contains("\"1\" is ignored (as keepalived 2.2.7 does) and alpha is on"));
    // alpha reaches the real servers (inherited), as keepalived's does.
    assert!(v.real_servers[0].alpha);
    let (c, msgs) = loaded(&vs("  alpha\n  omega yes", ""));
    assert!(c.virtual_servers[0].alpha && c.virtual_servers[0].omega);
    assert!(msgs.is_empty(), "{msgs:?}");
    let (c, _) = loaded(&vs("", ""));
    assert!(!c.virtual_servers[0].alpha && !c.virtual_servers[0].omega);
}

#[test]
fn virtual_server_alpha_off_is_refused_since_keepalived_would_turn_it_on() {
    let l = check(&vs("  alpha off", ""));
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:4:9:"), "{e:?}");
    assert!(e[0].contains("ignores \"off\" and turns alpha on"), "{e:?}");
}

#[test]
fn a_real_servers_bad_alpha_says_what_keepalived_would_do() {
    let l = check(&vs("", "    alpha 1"));
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:6:11:"), "{e:?}");
    assert!(
        e[0].contains("would report it too and ignore the line"),
        "{e:?}"
    );
}

fn route_of(line: &str) -> tandem::config::VirtualRoute {
    let text = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n  192.0.2.10/24\n }}\n virtual_routes {{\n  {line}\n }}\n}}\n"
    );
    let (c, _) = loaded(&text);
    c.vrrp_instances[0].virtual_routes[0].clone()
}

#[test]
fn default_routes_take_their_family_from_the_gateway_or_inet6() {
    let r = route_of("default via 192.0.2.1 dev eth0 src 192.0.2.5");
    assert_eq!(r.destination.address, "0.0.0.0".parse::<IpAddr>().unwrap());
    assert_eq!(r.destination.prefix_len, 0);
    assert_eq!(r.via, Some("192.0.2.1".parse().unwrap()));
    let r = route_of("default via inet6 2001:db8::1 dev eth0");
    assert_eq!(r.destination.address, "::".parse::<IpAddr>().unwrap());
    assert_eq!(r.via, Some("2001:db8::1".parse().unwrap()));
    let r = route_of("inet6 blackhole default");
    assert_eq!(r.destination.address, "::".parse::<IpAddr>().unwrap());
    let r = route_of("any dev eth0");
    assert_eq!(r.destination.address, "0.0.0.0".parse::<IpAddr>().unwrap());
}

#[test]
fn a_third_word_after_virtual_server_is_refused_saying_keepalived_ignores_it() {
    let text = vs("", "").replacen("192.0.2.10 80 {", "192.0.2.10 80 80 {", 1);
    let l = check(&text);
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.conf:1:30: error: unexpected \"80\""),
        "{e:?}"
    );
    assert!(e[0].contains("keepalived 2.2.7 would ignore"), "{e:?}");
}

#[test]
fn default6_is_the_ipv6_default_route_with_a_deprecation_warning() {
    let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10/24\n }\n virtual_routes {\n  default6 via fe80::1 dev eth0\n }\n}\n";
    let (c, msgs) = loaded(text);
    let r = &c.vrrp_instances[0].virtual_routes[0];
    assert_eq!(r.destination.address, "::".parse::<IpAddr>().unwrap());
    assert_eq!(r.destination.prefix_len, 0);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("t.conf:8:3: warning:") && m.contains("inet6 default")),
        "{msgs:?}"
    );
}

fn instance(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n{extra}\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
    )
}

#[test]
fn a_prefix_after_a_source_address_is_dropped_as_keepalived_drops_it_with_a_warning() {
    let (c, msgs) = loaded(&instance("  unicast_src_ip 192.0.2.1/24"));
    assert_eq!(
        c.vrrp_instances[0].unicast_src_ip,
        Some("192.0.2.1".parse::<IpAddr>().unwrap())
    );
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with("t.conf:5:18: warning"), "{msgs:?}");
    assert!(
        msgs[0].contains(
            "the \"/24\" after the address is ignored (keepalived ignores it too); write 192.0.2.1"
        ),
        "{msgs:?}"
    );
    // A real server written with a range keeps its first address, as in
    // keepalived, and says so.
    let text = "virtual_server 192.0.2.10 80 {\n  lvs_sched rr\n  protocol TCP\n  real_server 198.51.100.1-3 80 {\n  }\n}\n";
    let (c, msgs) = loaded(text);
    assert_eq!(
        c.virtual_servers[0].real_servers[0].address,
        "198.51.100.1".parse::<IpAddr>().unwrap()
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("the \"-3\" after the address is ignored")),
        "{msgs:?}"
    );
    // A virtual address keeps its prefix: there it means something.
    let (c, msgs) = loaded(&instance(""));
    assert!(msgs.is_empty(), "{msgs:?}");
    assert_eq!(c.vrrp_instances[0].virtual_ipaddress[0].prefix_len, 24);
    // Garbage stays an error.
    let l = check(&instance("  unicast_src_ip 192.0.2/24"));
    assert_eq!(l.errors().count(), 1);
}

#[test]
fn persistence_timeout_0_runs_without_persistence_as_in_keepalived() {
    let (c, msgs) = loaded(&vs("  persistence_timeout 0", ""));
    assert_eq!(c.virtual_servers[0].persistence_timeout, None);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with("t.conf:4:23: warning"), "{msgs:?}");
    assert!(
        msgs[0].contains("runs without persistence, as keepalived 2.2.7 runs it"),
        "{msgs:?}"
    );
    // Any other value is still persistence, and garbage an error.
    let (c, _) = loaded(&vs("  persistence_timeout 5", ""));
    assert_eq!(
        c.virtual_servers[0].persistence_timeout,
        Some(std::time::Duration::from_secs(5))
    );
    assert_eq!(
        check(&vs("  persistence_timeout -1", "")).errors().count(),
        1
    );
}

#[test]
fn a_real_server_given_twice_keeps_the_first_block_as_keepalived_does() {
    // DR takes the service's port, so 79 and 80 are the same destination.
    let text = "virtual_server 192.0.2.10 80 {\n  lvs_sched rr\n  lvs_method DR\n  protocol TCP\n  real_server 198.51.100.1 79 {\n    weight 3\n  }\n  real_server 198.51.100.1 80 {\n    weight 7\n  }\n  real_server 198.51.100.2 80 {\n  }\n}\n";
    let (c, msgs) = loaded(text);
    let rss = &c.virtual_servers[0].real_servers;
    let kept: Vec<(String, u16, u32)> = rss
        .iter()
        .map(|r| (r.address.to_string(), r.port, r.weight))
        .collect();
    assert_eq!(
        kept,
        [
            ("198.51.100.1".to_string(), 80, 3),
            ("198.51.100.2".to_string(), 80, 1)
        ]
    );
    let dup: Vec<&String> = msgs.iter().filter(|m| m.contains("already in")).collect();
    assert_eq!(dup.len(), 1, "{msgs:?}");
    assert!(dup[0].starts_with("t.conf:8:3: warning"), "{msgs:?}");
    assert!(
        dup[0].contains("already in this virtual_server at t.conf:5:3, as a DR or TUN real server takes the virtual server's port; this block is dropped"),
        "{msgs:?}"
    );
    // NAT: the same address on two ports is two real servers.
    let (c, _) = loaded(&text.replace("DR", "NAT"));
    assert_eq!(c.virtual_servers[0].real_servers.len(), 3);
}

#[test]
fn an_unknown_keyword_says_keepalived_would_skip_it_and_its_block() {
    let l =
        check("global_defs {\n  enable_filesystem\n  filesystem_owner root {\n    x 1\n  }\n}\n");
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        e,
        [
            "t.conf:2:3: error: unknown keyword \"enable_filesystem\" in global_defs (keepalived 2.2.7 would log it and skip the line)",
            "t.conf:3:3: error: unknown keyword \"filesystem_owner\" in global_defs (keepalived 2.2.7 would log it and skip the line and its block)",
        ]
    );
}

#[test]
fn an_instances_debug_level_is_a_note_since_keepalived_only_dumps_it() {
    let (_, msgs) = loaded(&instance("  debug 2"));
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0].contains(": note: debug: keepalived 2.2.7 only shows"),
        "{msgs:?}"
    );
    // keepalived's range, 0-4.
    assert_eq!(check(&instance("  debug 5")).errors().count(), 1);
}

#[test]
fn a_static_address_without_dev_goes_to_default_interface() {
    let text = |g: &str| {
        format!("static_ipaddress {{\n  198.51.100.12/24\n  198.51.100.13/24 dev eth2\n}}\n{g}")
    };
    let devs = |t: &str| -> Vec<String> {
        let (c, _) = loaded(t);
        c.static_ipaddress
            .iter()
            .map(|a| a.dev.clone().unwrap_or_default())
            .collect()
    };
    assert_eq!(devs(&text("")), ["eth0", "eth2"]);
    // global_defs after the addresses counts too: the file is read whole.
    assert_eq!(
        devs(&text("global_defs {\n  default_interface bond0\n}\n")),
        ["bond0", "eth2"]
    );
}

/// A `vrrp_script` without `script` is dropped, as keepalived 2.2.7 drops
/// it ("No script set ... removing"), and so is every track_script entry
/// naming it ("track script ... not found, ignoring"): a warning at each,
/// the other entries and scripts kept. A name no block defines at all is
/// still an error.
#[test]
fn a_vrrp_script_without_script_is_dropped_with_its_track_entries() {
    let text = "vrrp_script empty {
  interval 2
  weight -20
}
vrrp_script real {
  script \"/bin/true\"
  weight 10
}
vrrp_sync_group G {
  group {
    VI_1
  }
  track_script {
    empty
  }
  sync_group_tracking_weight
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    192.0.2.1
  }
  track_script {
    empty
    real
  }
}
";
    let (c, msgs) = loaded(text);
    let names: Vec<&str> = c.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["real"]);
    let tracked: Vec<&str> = c.vrrp_instances[0]
        .track_script
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(tracked, ["real"]);
    // (sync_group_tracking_weight: a group member keeps its weights.)
    assert_eq!(c.vrrp_instances[0].track_script[0].weight, 10);
    assert!(c.vrrp_sync_groups[0].track_script.is_empty());
    assert_eq!(
        msgs,
        [
            "t.conf:1:1: warning: vrrp_script empty has no \"script\": dropped, with the track_script entries that name it, as keepalived 2.2.7 drops them",
            "t.conf:14:5: warning: vrrp_sync_group G: track_script empty is dropped with its vrrp_script, which has no \"script\" (keepalived 2.2.7 ignores the entry too)",
            "t.conf:26:5: warning: vrrp_instance VI_1: track_script empty is dropped with its vrrp_script, which has no \"script\" (keepalived 2.2.7 ignores the entry too)",
        ]
    );
    let l = check(&text.replace("    real\n", "    unreal\n"));
    let errors: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        errors,
        [
            "t.conf:27:5: error: vrrp_instance VI_1: track_script names no vrrp_script \"unreal\"; did you mean \"real\"?"
        ]
    );
}

#[test]
fn a_v3_advert_int_between_centiseconds_is_rounded_as_keepalived_rounds_it() {
    for (written, want_ms) in [("0.333", 330), ("0.015", 20), ("1.237", 1240)] {
        let (c, msgs) = loaded(&instance(&format!("  version 3\n  advert_int {written}")));
        assert_eq!(
            c.vrrp_instances[0].advert_int,
            std::time::Duration::from_millis(want_ms),
            "{written}: {msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("t.conf:6:14: warning:")
                    && m.contains("as keepalived rounds it")),
            "{written}: {msgs:?}"
        );
    }
}

fn instance_in(state: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state {state}\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {{\n    192.0.2.10/24\n  }}\n}}\n"
    )
}

#[test]
fn state_equal_and_slave_start_as_backup_as_in_keepalived() {
    // keepalived 2.2.7: "(VI_1) unknown state 'EQUAL', defaulting to BACKUP".
    for word in ["EQUAL", "SLAVE"] {
        let (c, msgs) = loaded(&instance_in(word));
        assert_eq!(
            c.vrrp_instances[0].state,
            tandem::config::InitialState::Backup
        );
        assert_eq!(
            msgs,
            [format!(
                "t.conf:2:9: warning: state \"{word}\" is not MASTER or BACKUP; BACKUP is used, as keepalived 2.2.7 defaults to it"
            )]
        );
    }
    // A misspelt MASTER is not what keepalived's BACKUP would mean: refused,
    // saying what keepalived would do.
    let l = check(&instance_in("MASTR"));
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        e,
        [
            "t.conf:2:9: error: state expects MASTER or BACKUP, not \"MASTR\" (keepalived 2.2.7 would start it as BACKUP)"
        ]
    );
}

#[test]
fn a_misspelt_keyword_says_keepalived_would_skip_the_line() {
    // keepalived 2.2.7: "Unknown keyword 'lvs_sync_daemon_inteface'", and
    // no sync daemon, which is not what the line meant.
    let text = instance_in("BACKUP").replace(
        "  interface eth0\n",
        "  interface eth0\n  lvs_sync_daemon_inteface eth0\n",
    );
    let l = check(&text);
    let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
    assert_eq!(
        e,
        [
            "t.conf:4:3: error: unknown keyword \"lvs_sync_daemon_inteface\" in vrrp_instance; did you mean \"lvs_sync_daemon_interface\"? (keepalived 2.2.7 would log it and skip the line)"
        ]
    );
}

#[test]
fn ha_suspend_is_read_and_cleared_for_fwmarks_as_keepalived_clears_it() {
    let (c, msgs) = loaded(&vs("  ha_suspend", ""));
    assert!(c.virtual_servers[0].ha_suspend);
    assert!(msgs.is_empty(), "{msgs:?}");
    let (c, _) = loaded(&vs("", ""));
    assert!(!c.virtual_servers[0].ha_suspend);
    // A fwmark has no address to wait for: keepalived 2.2.7 clears it.
    let fw = vs("  ha_suspend", "")
        .replace("192.0.2.10 80", "fwmark 7")
        .replace("  protocol TCP\n", "");
    let (c, msgs) = loaded(&fw);
    assert!(!c.virtual_servers[0].ha_suspend);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].starts_with("t.conf:1:1: warning"), "{msgs:?}");
    assert!(
        msgs[0].contains("ha_suspend cannot follow a fwmark"),
        "{msgs:?}"
    );
    // A group: with a fwmark among its entries, cleared the same way; of
    // addresses only, followed, with a word on keepalived's difference.
    for (entries, says) in [
        ("  fwmark 7\n  192.0.2.11 80\n", "cannot follow a fwmark"),
        (
            "  192.0.2.11 80\n",
            "keepalived 2.2.7 matches no address of a group",
        ),
    ] {
        let text = format!(
            "virtual_server_group G {{\n{entries}}}\n{}",
            vs("  ha_suspend", "").replace("192.0.2.10 80", "group G")
        );
        let (_, msgs) = loaded(&text);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(
            msgs[0].contains("warning") && msgs[0].contains(says),
            "{msgs:?}"
        );
    }
}
