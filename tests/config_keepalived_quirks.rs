//! Spellings real keepalived.conf files use that keepalived 2.2.7 reads in
//! its own way: virtual_server `alpha 1` / `omega 1` (keepalived ignores
//! the value and turns them on), a real server's `alpha 1` (keepalived
//! reports it and ignores the line), and routes to `default`.

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
