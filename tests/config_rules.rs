//! `static_ipaddress`, `static_routes`, `static_rules`, `virtual_rules`,
//! `brd +` / `brd -` and `promote_secondaries`: what the model holds for
//! the spellings keepalived 2.2.7 reads, its defaults (rule preferences
//! 16384 down per family, protocol 18 unless `no_track`, `eth0` for a
//! static address without `dev`), `dynamic_interfaces [allow_if_changes]`,
//! and the error (file:line:col) for each value tandem refuses.

use std::net::IpAddr;
use std::path::Path;

use tandem::config::{
    AddressFamily, Config, IpPrefix, IpRule, LoadOptions, Loaded, Range, RuleAction, load_str,
};

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

fn errors(text: &str) -> Vec<String> {
    let l = check(text);
    assert_eq!(l.config.is_some(), !l.has_errors(), "{:?}", messages(&l));
    l.errors().map(|d| d.to_string()).collect()
}

fn static_rules(lines: &str) -> String {
    format!("static_rules {{\n{lines}}}\n")
}

fn rules(lines: &str) -> Vec<IpRule> {
    config(&static_rules(lines)).static_rules
}

fn pfx(s: &str, len: u8) -> Option<IpPrefix> {
    Some(IpPrefix {
        address: s.parse::<IpAddr>().unwrap(),
        prefix_len: len,
    })
}

#[test]
fn every_rule_option_reaches_the_model() {
    let r = &rules(
        "  from 192.0.2.0/24 to 198.51.100.0/26 not table 100 preference 39 tos 0x10 fwmark 24/0xff iif eth3 oif eth0 realms 30/20\n",
    )[0];
    assert_eq!(r.family, AddressFamily::Inet);
    assert_eq!(r.from, pfx("192.0.2.0", 24));
    assert_eq!(r.to, pfx("198.51.100.0", 26));
    assert!(r.invert);
    assert_eq!(r.action, RuleAction::Table(100));
    assert_eq!((r.priority, r.tos), (39, 16));
    assert_eq!((r.fwmark, r.fwmask), (Some(24), Some(255)));
    assert_eq!(
        (r.iif.as_deref(), r.oif.as_deref()),
        (Some("eth3"), Some("eth0"))
    );
    assert_eq!(r.realms, Some((30 << 16) | 20));
    // A tracked rule is keepalived's: protocol 18.
    assert_eq!((r.protocol, r.no_track), (Some(18), false));

    let r = &rules(
        "  to 2001:db8::/32 uidrange 1000-1999 sport 1-2 dport 80-90 ipproto tcp lookup local priority 5 tunnel-id 7 suppress_prefixlength 0 sup_group 3\n",
    )[0];
    assert_eq!(r.family, AddressFamily::Inet6);
    assert_eq!(
        r.uidrange,
        Some(Range {
            start: 1000,
            end: 1999
        })
    );
    assert_eq!(r.sport, Some(Range { start: 1, end: 2 }));
    assert_eq!(r.dport, Some(Range { start: 80, end: 90 }));
    assert_eq!(r.ipproto, Some(6));
    assert_eq!(r.action, RuleAction::Table(255));
    assert_eq!(
        (r.tunnel_id, r.suppress_prefixlength, r.suppress_ifgroup),
        (Some(7), Some(0), Some(3))
    );

    let kinds: Vec<RuleAction> = rules(
        "  fwmark 1 goto 100 order 50\n  fwmark 2 nop priority 1\n  fwmark 3 type blackhole priority 2\n  fwmark 4 unreachable priority 3\n  fwmark 5 prohibit priority 4\n  from 10.0.0.0/8 l3mdev priority 6\n  fwmark 6 table default priority 7\n  fwmark 7 table main protocol 4 no_track priority 8\n",
    )
    .iter()
    .map(|r| r.action)
    .collect();
    assert_eq!(
        kinds,
        [
            RuleAction::Goto(100),
            RuleAction::Nop,
            RuleAction::Blackhole,
            RuleAction::Unreachable,
            RuleAction::Prohibit,
            RuleAction::L3mdev,
            RuleAction::Table(253),
            RuleAction::Table(254),
        ]
    );
    let r = &rules("  fwmark 7 table main protocol 4 no_track priority 8\n")[0];
    assert_eq!((r.protocol, r.no_track), (Some(4), true));
    let r = &rules("  fwmark 7 table main no_track priority 8\n")[0];
    assert_eq!(r.protocol, None);
    // `default` / `all` / `any`: every address of the rule's family.
    let r = &rules("  inet6 from default table 5 priority 9\n")[0];
    assert_eq!(r.from, pfx("::", 0));
}

#[test]
fn rules_without_a_preference_get_keepalived_s_16384_down_per_family_with_a_warning() {
    let text = format!(
        "{}vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n  192.0.2.2/24\n }}\n virtual_rules {{\n  from 192.0.2.2 table 7\n  from 2001:db8::1 table 7\n }}\n}}\n",
        static_rules(
            "  from 192.0.2.0/24 table 5\n  from 2001:db8::/32 table 5\n  from 198.51.100.0/24 table 5 preference 3\n  from 203.0.113.0/24 table 5\n"
        )
    );
    let c = config(&text);
    let prefs: Vec<u32> = c.static_rules.iter().map(|r| r.priority).collect();
    assert_eq!(prefs, [16384, 16384, 3, 16383]);
    let prefs: Vec<u32> = c.vrrp_instances[0]
        .virtual_rules
        .iter()
        .map(|r| r.priority)
        .collect();
    assert_eq!(prefs, [16382, 16383]);
    let l = check(&text);
    let warnings: Vec<String> = messages(&l)
        .into_iter()
        .filter(|m| m.contains("without a preference"))
        .collect();
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    assert!(
        warnings[0].starts_with("t.conf:2:3: warning: rule without a preference: it gets 16384"),
        "{}",
        warnings[0]
    );
}

#[test]
fn bad_rules_are_refused_at_the_word() {
    for (line, want) in [
        (
            "  frm 192.0.2.0/24 table 5\n",
            "t.conf:2:3: error: unknown rule option \"frm\"; did you mean \"from\"?",
        ),
        (
            "  from 192.0.2.0/24 table\n",
            "t.conf:2:21: error: rule option \"table\" needs a value",
        ),
        (
            "  from 192.0.2.0/24 table mytable\n",
            "t.conf:2:27: error: routing table \"mytable\": expected a number or default, main or local",
        ),
        (
            "  from 192.0.2.0/24 table 0\n",
            "t.conf:2:27: error: table 0 is not valid for a rule",
        ),
        (
            "  from 192.0.2.0/24\n",
            "t.conf:2:3: error: rule without an action",
        ),
        (
            "  from 192.0.2.0/24 to 2001:db8::/32 table 5\n",
            "t.conf:2:24: error: rule mixes IPv4 and IPv6",
        ),
        (
            "  from 192.0.2.0/24 table 5 nop\n",
            "t.conf:2:29: error: a rule takes one of table",
        ),
        (
            "  fwmark 1 goto 10\n",
            "t.conf:2:3: error: a goto rule needs a preference",
        ),
        (
            "  fwmark 1 goto 10 preference 10\n",
            "t.conf:2:3: error: rule preference 10 is not below its goto target 10",
        ),
        (
            "  fwmark 0x1g table 5\n",
            "t.conf:2:10: error: fwmark expects MARK or MARK/MASK",
        ),
        (
            "  fwmark 1 sport 22 table 5\n",
            "t.conf:2:18: error: sport expects FIRST-LAST",
        ),
        (
            "  fwmark 1 uidrange 5 table 5\n",
            "t.conf:2:21: error: uidrange expects FIRST-LAST",
        ),
        (
            "  fwmark 1 protocol 4 table 5\n",
            "t.conf:2:21: error: protocol 4: a tracked rule is protocol 18 (keepalived)",
        ),
        (
            "  fwmark 1 realms 70000 table 5\n",
            "t.conf:2:19: error: realms 70000: realm 70000 is above 65535",
        ),
        (
            "  fwmark 1 realms 2 nop priority 4\n",
            "t.conf:2:3: error: realms, suppress_prefixlength and suppress_ifgroup need a table action",
        ),
        (
            "  fwmark 1 ipproto 200 table 5\n",
            "t.conf:2:20: error: ipproto expects a protocol number",
        ),
        (
            "  fwmark 1 preference -1 table 5\n",
            "t.conf:2:23: error: rule preference expects a number from 0 to 4294967295",
        ),
        (
            "  fwmark 1 table 5 track_group G\n",
            "t.conf:2:32: error: no track_group named \"G\"",
        ),
        (
            "  from 192.0.2.300 table 5\n",
            "t.conf:2:8: error: rule from expects an address",
        ),
    ] {
        let e = errors(&static_rules(line));
        assert!(
            e.iter().any(|m| m.starts_with(want)),
            "{line:?}: want {want:?}, got {e:?}"
        );
    }
}

#[test]
fn static_addresses_and_routes_are_read_as_virtual_ones_with_eth0_by_default() {
    let c = config(
        "static_ipaddress block1 {\n  192.0.2.10/24 brd + dev eth1\n  198.51.100.10/24 brd -\n  2001:db8::10/64 dev eth1 label x\n}\nstatic_routes {\n  203.0.113.0/24 via 192.0.2.1 dev eth1 table default\n  blackhole 198.51.100.128/25 table 100\n}\n",
    );
    let a = &c.static_ipaddress;
    assert_eq!(a.len(), 3);
    assert_eq!(a[0].brd, Some("192.0.2.255".parse().unwrap()));
    assert_eq!(a[0].dev.as_deref(), Some("eth1"));
    assert_eq!(a[1].brd, Some("198.51.100.0".parse().unwrap()));
    assert_eq!(a[1].dev.as_deref(), Some("eth0"));
    assert_eq!(c.static_routes.len(), 2);
    assert_eq!(c.static_routes[0].table, Some(253));
    // The block's name is ignored, as by keepalived, with a warning.
    let l = check("static_ipaddress block1 {\n  192.0.2.10/24 dev eth1\n}\n");
    assert!(
        messages(&l)
            .iter()
            .any(|m| m
                .starts_with("t.conf:1:18: warning: \"block1\" after static_ipaddress is ignored")),
        "{:?}",
        messages(&l)
    );
}

#[test]
fn brd_plus_and_minus_follow_the_prefix_and_are_refused_where_there_is_none() {
    let vip = |v: &str| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n  {v}\n }}\n}}\n"
        )
    };
    for (v, brd) in [
        ("192.0.2.77/24 brd +", "192.0.2.255"),
        ("192.0.2.77/24 brd -", "192.0.2.0"),
        ("192.0.2.77/30 broadcast +", "192.0.2.79"),
        ("10.1.2.3/8 brd +", "10.255.255.255"),
    ] {
        let c = config(&vip(v));
        assert_eq!(
            c.vrrp_instances[0].virtual_ipaddress[0].brd,
            Some(brd.parse().unwrap()),
            "{v}"
        );
    }
    for (v, want) in [
        (
            "192.0.2.77/31 brd +",
            "t.conf:5:21: error: brd +: the prefix /31 is too long",
        ),
        (
            "192.0.2.77 brd -",
            "t.conf:5:18: error: brd -: the prefix /32 is too long",
        ),
        (
            "2001:db8::1/64 brd +",
            "t.conf:5:22: error: brd +: an IPv6 address has no broadcast",
        ),
    ] {
        let e = errors(&vip(v));
        assert!(
            e.iter().any(|m| m.starts_with(want)),
            "{v}: want {want:?}, got {e:?}"
        );
    }
}

#[test]
fn promote_secondaries_is_read_and_said_to_change_nothing_on_a_vmac() {
    let inst = |extra: &str| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n {extra}\n promote_secondaries\n virtual_ipaddress {{\n  192.0.2.2/24\n }}\n}}\n"
        )
    };
    assert!(config(&inst("priority 100")).vrrp_instances[0].promote_secondaries);
    let l = check(&inst("use_vmac"));
    assert!(
        messages(&l).iter().any(|m| m.starts_with("t.conf:5:2: warning: vrrp_instance VI_1: promote_secondaries changes nothing with use_vmac")),
        "{:?}",
        messages(&l)
    );
    let e = errors(&inst("priority 100").replace("promote_secondaries", "promote_secondaries yes"));
    assert!(!e.is_empty());
}

#[test]
fn dynamic_interfaces_takes_allow_if_changes_and_nothing_else() {
    let g = |line: &str| config(&format!("global_defs {{\n  {line}\n}}\n")).global_defs;
    assert_eq!(g("router_id x").dynamic_interfaces, None);
    assert_eq!(
        g("dynamic_interfaces")
            .dynamic_interfaces
            .map(|d| d.allow_if_changes),
        Some(false)
    );
    assert_eq!(
        g("dynamic_interfaces allow_if_changes")
            .dynamic_interfaces
            .map(|d| d.allow_if_changes),
        Some(true)
    );
    let e = errors("global_defs {\n  dynamic_interfaces allow_if_change\n}\n");
    assert_eq!(
        e,
        [
            "t.conf:2:22: error: unknown dynamic_interfaces option \"allow_if_change\" (allow_if_changes is the only one)"
        ]
    );
}
