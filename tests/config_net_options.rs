//! Address and route options (`home`, `-nodad`, `mngtmpaddr`,
//! `noprefixroute`, `preferred_lft`; the route options of
//! keepalived.conf(5)): what the model holds for the spellings keepalived
//! 2.2.7 reads, its defaults, and the message (file:line:col) for each
//! value tandem refuses or warns about.

use std::path::Path;

use tandem::config::{Config, LoadOptions, Loaded, load_str};

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

fn config(text: &str) -> Config {
    let l = check(text);
    match l.config {
        Some(c) => c,
        None => panic!("refused: {:?}", messages(&l)),
    }
}

fn statics(addresses: &str) -> String {
    format!("static_ipaddress {{\n{addresses}}}\n")
}

#[test]
fn address_flags_reach_the_model() {
    let c = config(&statics(
        "  2001:db8::1/64 dev eth0 home mngtmpaddr noprefixroute -nodad\n  192.0.2.1/24 dev eth0\n",
    ));
    let a = &c.static_ipaddress[0];
    assert!(a.flags.home && a.flags.mngtmpaddr && a.flags.noprefixroute && a.dad);
    assert_eq!(a.flags.bits(), 0x10 | 0x100 | 0x200);
    let b = &c.static_ipaddress[1];
    assert_eq!(b.flags.bits(), 0);
    assert!(!b.dad);
}

#[test]
fn preferred_lft_and_its_defaults() {
    let c = config(&statics(
        "  2001:db8::1 dev eth0\n  2001:db8::2/64 dev eth0\n  2001:db8::3 dev eth0 preferred_lft forever\n  \
         2001:db8::4/64 dev eth0 preferred_lft 30\n  2001:db8::5/64 dev eth0 preferred_lft 4294967295\n",
    ));
    let lft: Vec<Option<u32>> = c.static_ipaddress.iter().map(|a| a.preferred_lft).collect();
    // keepalived: a /128 is deprecated (0) unless told otherwise.
    assert_eq!(lft, [Some(0), None, None, Some(30), None]);
}

#[test]
fn address_option_mistakes_are_reported_at_the_word() {
    let l = check(&statics("  2001:db8::1/64 dev eth0 preferred_lft soon\n"));
    assert_eq!(
        messages(&l),
        ["t.conf:2:41: error: preferred_lft expects a number of seconds or forever, not \"soon\""]
    );
    let l = check(&statics("  192.0.2.1/24 dev eth0 preferred_lft 5\n"));
    assert!(l.config.is_some());
    assert_eq!(
        messages(&l),
        [
            "t.conf:2:25: warning: preferred_lft has no effect on an IPv4 address (keepalived sends it for IPv6 only)"
        ]
    );
    let l = check(&statics("  2001:db8::1/64 dev eth0 nodad\n"));
    assert!(l.config.is_some());
    assert!(
        messages(&l)[0]
            .starts_with("t.conf:2:27: warning: \"nodad\" is not a keepalived address option")
    );
    let l = check(&statics("  2001:db8::1/64 dev eth0 noprefixrout\n"));
    assert_eq!(
        messages(&l),
        [
            "t.conf:2:27: error: unknown address option \"noprefixrout\"; did you mean \"noprefixroute\"?"
        ]
    );
    let l = check(&statics("  2001:db8::1/64 dev eth0 autojon\n"));
    assert_eq!(
        messages(&l),
        ["t.conf:2:27: error: unknown address option \"autojon\"; did you mean \"autojoin\"?"]
    );
}

#[test]
fn autojoin_is_ifa_f_mcautojoin() {
    let c = config(&statics("  ff05::db8:1/128 dev eth0 autojoin\n"));
    assert!(c.static_ipaddress[0].flags.autojoin);
    assert_eq!(c.static_ipaddress[0].flags.bits(), 0x400);
}

fn routes(lines: &str) -> String {
    format!("static_routes {{\n{lines}}}\n")
}

#[test]
fn route_options_reach_the_model() {
    use tandem::config::RouteMetric as M;
    let c = config(&routes(
        "  192.0.2.0/24 dev eth0 tos 0x10 onlink realms 3/4 mtu lock 1400 rtt 1.5s rttvar 1600 rto_min 300ms congctl lock reno features ecn hoplimit 64\n  \
         default pref high expires 60 protocol boot no_track\n  \
         198.51.100.0/24 dev eth0 realms 0x14/cosmos\n",
    ));
    assert_eq!(c.static_routes[2].realms, Some(20 << 16));
    let r = &c.static_routes[0];
    assert_eq!(r.tos, Some(0x10));
    assert!(r.onlink);
    assert_eq!(r.realms, Some((3 << 16) | 4));
    assert_eq!(
        r.metrics,
        [
            M::Mtu(1400),
            M::Rtt(1500 * 8),
            M::Rttvar(1600),
            M::RtoMin(300),
            M::Congctl("reno".into()),
            M::Features(1),
            M::Hoplimit(64),
        ]
    );
    assert_eq!(r.lock, (1 << 2) | (1 << 16));
    // pref / expires make `default` IPv6, as in keepalived.
    let d = &c.static_routes[1];
    assert!(d.destination.address.is_ipv6());
    assert_eq!(
        (d.pref, d.expires, d.protocol),
        (Some(1), Some(60), Some(3))
    );
}

#[test]
fn route_option_mistakes_are_reported_at_the_word() {
    let msgs = |lines: &str| messages(&check(&routes(lines)));
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 protocol static\n"),
        [
            "t.conf:2:3: warning: protocol 4: a tracked route is protocol 18 (keepalived), so it is installed with 18, as keepalived does; add no_track to install it with 4"
        ]
    );
    assert_eq!(
        msgs("  2001:db8::/64 dev eth0 tos 4\n"),
        [
            "t.conf:2:3: warning: route to 2001:db8::/64: the kernel refuses a tos on an IPv6 route, so this route will not be installed (keepalived accepts the line and fails the same way at runtime)"
        ]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 ttl-propagate on\n"),
        ["t.conf:2:39: error: ttl-propagate expects enabled or disabled, not \"on\""]
    );
    assert_eq!(
        msgs("  2001:db8::/64 dev eth0 realms 3\n"),
        ["t.conf:2:3: error: route to 2001:db8::/64: realms is not valid for an IPv6 route"]
    );
    // Names come from iproute2's rt_realms (Debian ships `0 cosmos`).
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 realms s9-no-such-realm/cosmos\n"),
        [
            "t.conf:2:32: error: realms s9-no-such-realm/cosmos: realm \"s9-no-such-realm\" is not a number nor a name in /etc/iproute2/rt_realms"
        ]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 realms 256\n"),
        ["t.conf:2:32: error: realms 256: realm 256 is above 255"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 pref high\n"),
        ["t.conf:2:3: error: route to 192.0.2.0/24: pref is not valid for an IPv4 route"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 hoplimit 256\n"),
        ["t.conf:2:34: error: hoplimit expects a number from 0 to 255, not \"256\""]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 features sack\n"),
        ["t.conf:2:34: error: features: only \"ecn\" is known, not \"sack\""]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 rtt 10ms\n"),
        [
            "t.conf:2:29: warning: rtt 10ms: outside 200ms to 120s, 200ms used (as keepalived resets it)"
        ]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 mtu lock\n"),
        ["t.conf:2:25: error: \"mtu\" needs a value"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 proto static\n"),
        ["t.conf:2:25: error: unknown route option \"proto\"; did you mean \"protocol\"?"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 dev eth0 encap mpls 100\n"),
        [
            "t.conf:2:31: error: encap mpls: tandem does not support it yet (not tested: the test kernel has no MPLS routing)"
        ]
    );
}

#[test]
fn route_types_encap_from_and_add_modes_reach_the_model() {
    use tandem::config::{RouteAddMode, RouteType};
    let c = config(&routes(
        "  local 192.0.2.0/24 dev eth0 scope host append\n  \
         brd 192.0.2.255 dev eth0 scope link add\n  \
         2001:db8:1::/64 from 2001:db8:2::/64 dev eth0 encap ip6 id 0x10 dst 2001:db8::9 tc 3 hoplimit 4 flags 1 metric 7\n  \
         192.0.2.0/25 encap ip dst 198.51.100.9 src 198.51.100.8 tos 2 ttl 3 via 192.0.2.1 as to 203.0.113.1\n  \
         192.0.2.128/25 nexthop via 192.0.2.1 encap ip id 5 nexthop via 192.0.2.2\n",
    ));
    let r = &c.static_routes;
    assert_eq!(
        (r[0].route_type, r[0].add_mode),
        (RouteType::Local, RouteAddMode::Append)
    );
    assert_eq!(
        (r[1].route_type, r[1].add_mode),
        (RouteType::Broadcast, RouteAddMode::Add)
    );
    assert_eq!(r[2].add_mode, RouteAddMode::Prepend);
    assert_eq!(
        r[2].from.map(|p| p.to_string()).as_deref(),
        Some("2001:db8:2::/64")
    );
    let e = r[2].encap.clone().unwrap_or_default();
    assert!(e.ip6);
    assert_eq!(
        (e.id, e.tos, e.ttl, e.flags),
        (Some(16), Some(3), Some(4), Some(1))
    );
    // The encapsulation's words end at the first word that is not one of
    // its keys: `metric` is the route's.
    assert_eq!(r[2].metric, Some(7));
    let e = r[3].encap.clone().unwrap_or_default();
    assert_eq!(
        (e.dst, e.src, e.tos, e.ttl),
        (
            Some(
                "198.51.100.9"
                    .parse()
                    .unwrap_or(std::net::IpAddr::from([0; 4]))
            ),
            Some(
                "198.51.100.8"
                    .parse()
                    .unwrap_or(std::net::IpAddr::from([0; 4]))
            ),
            Some(2),
            Some(3)
        )
    );
    assert_eq!(r[3].src, None, "encap's src is not the route's");
    assert_eq!(r[4].nexthops[0].encap.as_ref().and_then(|e| e.id), Some(5));
    assert_eq!(r[4].nexthops[1].encap, None);
}

#[test]
fn route_type_encap_and_from_mistakes_are_reported_at_the_word() {
    let msgs = |lines: &str| messages(&check(&routes(lines)));
    assert_eq!(
        msgs("  192.0.2.0/24 from 198.51.100.0/24 dev eth0\n"),
        ["t.conf:2:21: error: from 198.51.100.0/24: a source prefix is for IPv6 routes only"]
    );
    assert_eq!(
        msgs("  2001:db8::/64 from 2001:db8:1::/64 via 192.0.2.1\n"),
        ["t.conf:2:3: error: route to 2001:db8::/64: 192.0.2.1 is not of the destination's family"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 encap ip tos 1 dev eth0\n"),
        ["t.conf:2:22: error: encap ip needs a dst or an id"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 encap ip6 dst 192.0.2.1\n"),
        ["t.conf:2:30: error: encap ip6 dst: 192.0.2.1 is not an IPv6 address"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 encap gre dst 192.0.2.1\n"),
        ["t.conf:2:22: error: unknown encap type \"gre\" (ip, ip6, mpls or ila)"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 encap ip id 1 ttl 256\n"),
        ["t.conf:2:34: error: ttl expects a number from 0 to 255, not \"256\""]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 nexthop via 192.0.2.1 as to 192.0.2.9\n"),
        [
            "t.conf:2:38: error: \"as\" in a nexthop: keepalived does not support it either (it is for MPLS)"
        ]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 as to 192.0.2.9 dev eth0\n"),
        [
            "t.conf:2:16: warning: \"as [to]\" is for MPLS routes only: ignored, as keepalived ignores it"
        ]
    );
    assert_eq!(
        msgs("  local 192.0.2.0/24 dev eth0\n"),
        [
            "t.conf:2:3: warning: route to 192.0.2.0/24: the kernel refuses a local route with scope global (add \"scope host\"), so it will not be installed (keepalived fails the same way at runtime)"
        ]
    );
    assert_eq!(
        msgs("  type local 192.0.2.0/24 dev eth0 scope host\n"),
        [
            "t.conf:2:3: error: \"type\" is not a route option: write the type itself before the destination (local 192.0.2.0/24)"
        ]
    );
    assert!(msgs("  192.0.2.0/24 vrf blue\n")[0].starts_with(
        "t.conf:2:16: error: \"vrf\" is a keepalived option that tandem does not support yet"
    ));
}

#[test]
fn native_ipv6_makes_the_instance_ipv6_and_vrrpv3() {
    use tandem::config::{AddressFamily, VrrpVersion};
    let inst = |body: &str| {
        format!("vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{body}}}\n")
    };
    let c = config(&inst(
        " version 2\n native_ipv6\n virtual_ipaddress {\n  2001:db8::1\n }\n",
    ));
    let vi = &c.vrrp_instances[0];
    assert_eq!(
        (vi.family, vi.version),
        (AddressFamily::Inet6, VrrpVersion::V3)
    );
    // No virtual address: IPv6 all the same.
    let c = config(&inst(" native_ipv6\n"));
    assert_eq!(c.vrrp_instances[0].family, AddressFamily::Inet6);
    assert_eq!(
        messages(&check(&inst(
            " native_ipv6\n virtual_ipaddress {\n  192.0.2.1\n }\n"
        ))),
        [
            "t.conf:4:2: error: vrrp_instance VI_1: native_ipv6 with IPv4 virtual addresses (keepalived refuses it too)"
        ]
    );
}

#[test]
fn mcast_dst_ip_is_a_multicast_group_of_the_instances_family() {
    let inst = |body: &str| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{body} virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
        )
    };
    let c = config(&inst(" mcast_dst_ip 233.252.0.18\n"));
    assert_eq!(
        c.vrrp_instances[0].mcast_dst_ip,
        Some("233.252.0.18".parse().unwrap())
    );
    assert_eq!(
        messages(&check(&inst(" mcast_dst_ip 192.0.2.9\n"))),
        ["t.conf:4:15: error: mcast_dst_ip 192.0.2.9 is not an IPv4 multicast address"]
    );
    assert_eq!(
        messages(&check(&inst(" mcast_dst_ip ff05::12\n"))),
        [
            "t.conf:4:15: error: mcast_dst_ip ff05::12 is not an IPv6 link-local multicast address (ff02::/16)"
        ]
    );
    assert_eq!(
        messages(&check(&inst(" mcast_dst_ip ff02::db8:0:12\n"))),
        [
            "t.conf:4:15: error: vrrp_instance VI_1: mcast_dst_ip ff02::db8:0:12 is not IPv4 like the instance's virtual addresses"
        ]
    );
}

#[test]
fn vrrp_min_garp_is_one_gratuitous_arp_without_a_second_round() {
    use std::time::Duration;
    let text = |globals: &str| {
        format!(
            "global_defs {{\n{globals}}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
        )
    };
    let garp = |globals: &str| {
        let c = config(&text(globals));
        let vi = &c.vrrp_instances[0];
        (
            vi.garp_master_repeat,
            vi.garp_master_delay,
            vi.garp_master_refresh_repeat,
            vi.garp_lower_prio_repeat,
        )
    };
    assert_eq!(garp(" vrrp_min_garp\n"), (1, Duration::ZERO, 0, 1));
    assert_eq!(
        garp(" vrrp_min_garp false\n"),
        (5, Duration::from_secs(5), 1, 5)
    );
    // A value already changed stays; one written later wins.
    assert_eq!(
        garp(" vrrp_garp_master_repeat 3\n vrrp_min_garp\n"),
        (3, Duration::ZERO, 0, 3)
    );
    assert_eq!(
        garp(" vrrp_min_garp\n vrrp_garp_master_delay 2\n"),
        (1, Duration::from_secs(2), 0, 1)
    );
}

#[test]
fn multipath_routes_reach_the_model() {
    let c = config(&routes(
        "  192.0.2.0/24 table 5 nexthop via 198.51.100.1 dev eth0 weight 256 nexthop dev eth1 onlink realms 3/4\n  \
         default nexthop via 2001:db8::1 dev eth0 nexthop via 2001:db8::2\n",
    ));
    let r = &c.static_routes[0];
    assert_eq!(r.via, None);
    assert_eq!(r.nexthops.len(), 2);
    assert_eq!(
        (
            r.nexthops[0].via,
            r.nexthops[0].dev.as_deref(),
            r.nexthops[0].weight
        ),
        ("198.51.100.1".parse().ok(), Some("eth0"), Some(256))
    );
    assert_eq!(
        (
            r.nexthops[1].via,
            r.nexthops[1].onlink,
            r.nexthops[1].realms
        ),
        (None, true, Some((3 << 16) | 4))
    );
    // The hops' gateways make `default` IPv6, as in keepalived.
    assert!(c.static_routes[1].destination.address.is_ipv6());
    // `via A or B`: two hops, with keepalived's deprecation message.
    let l = check(&routes("  192.0.2.0/24 via 198.51.100.1 or 198.51.100.2\n"));
    assert_eq!(
        messages(&l),
        [
            "t.conf:2:33: warning: \"or\" for routes is deprecated (keepalived says so too): write nexthop via A nexthop via B"
        ]
    );
    let r = &l.config.as_ref().map(|c| c.static_routes[0].clone());
    let hops: Vec<_> = r
        .iter()
        .flat_map(|r| r.nexthops.iter().map(|h| h.via))
        .collect();
    assert_eq!(
        hops,
        ["198.51.100.1".parse().ok(), "198.51.100.2".parse().ok()]
    );
}

#[test]
fn multipath_mistakes_are_reported_at_the_word() {
    let msgs = |lines: &str| messages(&check(&routes(lines)));
    assert_eq!(
        msgs("  192.0.2.0/24 nexthop via 198.51.100.1 weight 0\n"),
        ["t.conf:2:48: error: nexthop weight expects 1 to 256, not \"0\""]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 nexthop via 198.51.100.1 table 5\n"),
        ["t.conf:2:41: error: \"table\" after the route's next hops (only nexthop may follow one)"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 nexthop weight 2\n"),
        ["t.conf:2:16: error: nexthop needs a via or a dev"]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 nexthop via 2001:db8::1\n"),
        [
            "t.conf:2:3: error: route to 192.0.2.0/24: 2001:db8::1 is not of the destination's family"
        ]
    );
    assert_eq!(
        msgs("  192.0.2.0/24 or 198.51.100.2\n"),
        [
            "t.conf:2:16: warning: \"or\" for routes is deprecated (keepalived says so too): write nexthop via A nexthop via B",
            "t.conf:2:16: error: \"or\" needs a via before it"
        ]
    );
}

#[test]
fn keepalived_resets_a_tracked_protocol_and_keeps_ipv6_tos_and_ttl_propagate() {
    let c = config(&routes(
        "  192.0.2.0/24 dev eth0 protocol bird ttl-propagate enabled\n  \
         198.51.100.0/24 dev eth0 protocol bird no_track ttl-propagate disabled\n  \
         2001:db8::/64 dev eth0 tos 0x04\n",
    ));
    let r = &c.static_routes;
    // Tracked: keepalived's own protocol (None); no_track keeps bird (12).
    assert_eq!((r[0].protocol, r[1].protocol), (None, Some(12)));
    assert_eq!(
        (r[0].ttl_propagate, r[1].ttl_propagate, r[2].ttl_propagate),
        (Some(true), Some(false), None)
    );
    // The TOS stays, to be sent (and refused by the kernel) as keepalived does.
    assert_eq!(r[2].tos, Some(4));
}
