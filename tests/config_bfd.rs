//! `bfd_instance` and `track_bfd`: every keyword with its default, range
//! and unit as keepalived 2.2.7 reads it, and each bad value an error at
//! its file:line:col.

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

fn config(text: &str) -> Config {
    let l = check(text);
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    match l.config {
        Some(c) => c,
        None => panic!("refused: {msgs:?}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    let l = check(text);
    assert_eq!(l.config.is_some(), !l.has_errors());
    l.errors().map(|d| d.to_string()).collect()
}

const INSTANCE: &str = "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100
    }
    TRACK
}
";

fn with_track(bfd: &str, track: &str) -> String {
    format!("{bfd}{}", INSTANCE.replace("TRACK", track))
}

#[test]
fn defaults_are_keepalived_s() {
    let c = config("bfd_instance B {\n    neighbor_ip 192.0.2.2\n}\n");
    let b = &c.bfd_instances[0];
    assert_eq!(b.min_rx, Duration::from_millis(10));
    assert_eq!(b.min_tx, Duration::from_millis(10));
    assert_eq!(b.idle_tx, Duration::from_secs(1));
    assert_eq!(b.multiplier, 5);
    assert!(!b.passive);
    assert_eq!(b.ttl, 255);
    assert_eq!(b.max_hops, Some(0));
    assert_eq!(b.source_ip, None);
    assert!(b.vrrp && b.checker);
    // IPv6: hop limit 64 by default, as keepalived.
    let c6 = config("bfd_instance B {\n    neighbour_ip 2001:db8::2\n}\n");
    assert_eq!(c6.bfd_instances[0].ttl, 64);
}

#[test]
fn every_keyword_is_read() {
    let c = config(
        "bfd_instance B {
    neighbor_ip 192.0.2.2
    source_ip 192.0.2.1
    min_rx 3.312
    min_tx 100
    idle_tx 2000
    multiplier 3
    passive
    ttl 20
    max_hops 2
    weight -10 reverse
    vrrp
}
",
    );
    let b = &c.bfd_instances[0];
    assert_eq!(b.source_ip, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(b.min_rx, Duration::from_micros(3312));
    assert_eq!(b.min_tx, Duration::from_millis(100));
    assert_eq!(b.idle_tx, Duration::from_secs(2));
    assert_eq!(b.multiplier, 3);
    assert!(b.passive);
    assert_eq!((b.ttl, b.max_hops), (20, Some(2)));
    assert_eq!((b.weight, b.weight_reverse), (-10, true));
    assert!(b.vrrp && !b.checker);
    // max_hops -1 and 255 turn the TTL check off.
    for off in ["-1", "255"] {
        let c = config(&format!(
            "bfd_instance B {{\n    neighbor_ip 192.0.2.2\n    max_hops {off}\n}}\n"
        ));
        assert_eq!(c.bfd_instances[0].max_hops, None, "{off}");
    }
}

#[test]
fn bad_values_are_errors_at_their_position() {
    let cases = [
        (
            "min_rx 0",
            "t.conf:3:12: error: min_rx 0 ms is out of range (1-4294967 ms)",
        ),
        (
            "min_tx 1.2345",
            "t.conf:3:12: error: min_tx expects milliseconds with at most three decimals",
        ),
        (
            "idle_tx 999",
            "t.conf:3:13: error: idle_tx 999 ms is out of range (1000-4294967 ms)",
        ),
        (
            "multiplier 0",
            "t.conf:3:16: error: multiplier 0 is out of range (1-255)",
        ),
        (
            "multiplier 256",
            "t.conf:3:16: error: multiplier 256 is out of range (1-255)",
        ),
        ("ttl 0", "t.conf:3:9: error: ttl 0 is out of range (1-255)"),
        (
            "hoplimit 300",
            "t.conf:3:14: error: hoplimit 300 is out of range (1-255)",
        ),
        (
            "max_hops -2",
            "t.conf:3:14: error: max_hops -2 is out of range (-1-255)",
        ),
        (
            "weight 254",
            "t.conf:3:12: error: weight 254 is out of range (-253-253)",
        ),
        (
            "weight 5 sideways",
            "t.conf:3:14: error: expected \"reverse\", not \"sideways\"",
        ),
        (
            "source_ip 2001:db8::1",
            "t.conf:3:15: error: bfd_instance B: source_ip 2001:db8::1 and neighbor_ip 192.0.2.2 are not of the same family",
        ),
        (
            "passive yes",
            "t.conf:3:13: error: unexpected \"yes\" after \"passive\"",
        ),
        (
            "multihop",
            "t.conf:3:5: error: \"multihop\" is a keepalived option that tandem does not support yet",
        ),
        ("min_rxx 10", "did you mean \"min_rx\"?"),
    ];
    for (line, want) in cases {
        let text = format!("bfd_instance B {{\n    neighbor_ip 192.0.2.2\n    {line}\n}}\n");
        let errs = errors(&text);
        assert!(errs.iter().any(|e| e.contains(want)), "{line}: {errs:?}");
    }
    // max_hops beyond the ttl: keepalived lowers it and reports it.
    let errs =
        errors("bfd_instance B {\n    neighbor_ip 192.0.2.2\n    ttl 10\n    max_hops 20\n}\n");
    assert!(
        errs[0].starts_with(
            "t.conf:4:14: error: bfd_instance B: max_hops 20 exceeds the ttl/hoplimit 10"
        ),
        "{errs:?}"
    );
    // A name keepalived cannot hold.
    let long = "B".repeat(32);
    let errs = errors(&format!(
        "bfd_instance {long} {{\n    neighbor_ip 192.0.2.2\n}}\n"
    ));
    assert!(
        errs[0].starts_with("t.conf:1:14: error: bfd_instance name"),
        "{errs:?}"
    );
}

/// One file for every node, where `@id neighbor_ip ...` leaves BFD out of
/// one of them: keepalived drops a neighbour-less bfd_instance and the
/// track_bfd entries naming it, and that node runs VRRP alone.
#[test]
fn a_bfd_instance_without_a_neighbour_is_dropped_with_its_tracks() {
    let text = "bfd_instance B {\n@lb1    neighbor_ip 192.0.2.2\n    min_rx 10\n}\n\
                vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  track_bfd {\n    B\n  }\n}\n\
                vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  track_bfd {\n    B weight 0\n  }\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n";
    let load = |id: &str| {
        load_str(
            Path::new("t.conf"),
            text.to_string(),
            &LoadOptions::with_config_id(id),
        )
    };
    // Where the neighbour is given, everything stays.
    let lb1 = load("lb1").config.expect("lb1 runs");
    assert_eq!(lb1.bfd_instances.len(), 1);
    assert_eq!(lb1.vrrp_instances[0].track_bfd.len(), 1);
    assert_eq!(lb1.vrrp_sync_groups[0].track_bfd.len(), 1);
    // Where it is not, the session and both tracks go, each with a warning.
    let l = load("lb2");
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let lb2 = l.config.unwrap_or_else(|| panic!("refused: {msgs:?}"));
    assert!(lb2.bfd_instances.is_empty());
    assert!(lb2.vrrp_instances[0].track_bfd.is_empty());
    assert!(lb2.vrrp_sync_groups[0].track_bfd.is_empty());
    assert_eq!(
        msgs,
        [
            "t.conf:1:1: warning: bfd_instance B has no neighbor_ip, so it is dropped, and the track_bfd entries that name it, as keepalived 2.2.7 drops them",
            "t.conf:10:5: warning: track_bfd B: that bfd_instance was dropped (it has no neighbor_ip), so this entry is dropped too",
            "t.conf:18:5: warning: track_bfd B: that bfd_instance was dropped (it has no neighbor_ip), so this entry is dropped too",
        ]
    );
    // A name that never was a bfd_instance is still refused.
    let typo = text.replace(
        "  track_bfd {\n    B weight 0",
        "  track_bfd {\n    C weight 0",
    );
    let l = load_str(
        Path::new("t.conf"),
        typo,
        &LoadOptions::with_config_id("lb2"),
    );
    assert!(l.errors().any(|e| {
        e.to_string()
            .contains("track_bfd names no bfd_instance \"C\"")
    }));
}

#[test]
fn two_sessions_to_one_neighbour_are_refused() {
    let errs = errors(
        "bfd_instance A {\n    neighbor_ip 192.0.2.2\n}\nbfd_instance B {\n    neighbor_ip 192.0.2.2\n}\nbfd_instance A {\n    neighbor_ip 192.0.2.3\n}\n",
    );
    assert!(errs.iter().any(|e| e.starts_with("t.conf:4:1: error: bfd_instance B: neighbor_ip 192.0.2.2 is already the neighbour of bfd_instance A")), "{errs:?}");
    assert!(
        errs.iter()
            .any(|e| e
                .starts_with("t.conf:7:1: error: bfd_instance A is already defined at t.conf:1:1")),
        "{errs:?}"
    );
    // Different sources: two sessions.
    config(
        "bfd_instance A {\n    neighbor_ip 192.0.2.2\n    source_ip 192.0.2.1\n}\nbfd_instance B {\n    neighbor_ip 192.0.2.2\n    source_ip 192.0.2.5\n}\n",
    );
}

#[test]
fn track_bfd_weights_resolve_against_the_bfd_instance() {
    let bfd = "bfd_instance B {\n    neighbor_ip 192.0.2.2\n    weight 10 reverse\n}\nbfd_instance C {\n    neighbor_ip 192.0.2.3\n}\n";
    let c = config(&with_track(
        bfd,
        "track_bfd {\n        B\n        C weight -20\n    }",
    ));
    let t = &c.vrrp_instances[0].track_bfd;
    assert_eq!(
        (t[0].name.as_str(), t[0].weight, t[0].reverse),
        ("B", 10, true)
    );
    assert_eq!(
        (t[1].name.as_str(), t[1].weight, t[1].reverse),
        ("C", -20, false)
    );
    // The entry's own weight and direction win.
    let c = config(&with_track(
        bfd,
        "track_bfd {\n        B weight 5 noreverse\n    }",
    ));
    let t = &c.vrrp_instances[0].track_bfd[0];
    assert_eq!((t.weight, t.reverse), (5, false));
}

#[test]
fn track_bfd_must_name_a_bfd_instance_vrrp_hears_of() {
    let bfd = "bfd_instance lanchk {\n    neighbor_ip 192.0.2.2\n}\n";
    let errs = errors(&with_track(bfd, "track_bfd {\n        lanchc\n    }"));
    assert_eq!(
        errs,
        [
            "t.conf:11:9: error: vrrp_instance VI_1: track_bfd names no bfd_instance \"lanchc\"; did you mean \"lanchk\"?"
        ]
    );
    let checker_only = "bfd_instance lanchk {\n    neighbor_ip 192.0.2.2\n    checker\n}\n";
    let errs = errors(&with_track(
        checker_only,
        "track_bfd {\n        lanchk\n    }",
    ));
    assert!(errs[0].contains("reports to the checker only"), "{errs:?}");
    let errs = errors(&with_track(
        bfd,
        "track_bfd {\n        lanchk\n        lanchk weight 2\n    }",
    ));
    assert!(
        errs[0].contains("track_bfd lanchk is given twice"),
        "{errs:?}"
    );
    let errs = errors(&with_track(
        bfd,
        "track_bfd {\n        lanchk weight 300\n    }",
    ));
    assert!(
        errs[0].contains("weight 300 is out of range (-253-253)"),
        "{errs:?}"
    );
}

#[test]
fn sync_groups_track_bfd_too() {
    let text = format!(
        "bfd_instance B {{\n    neighbor_ip 192.0.2.2\n}}\nvrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n    track_bfd {{\n        B weight 7\n        nothing_like_it\n    }}\n}}\n{}",
        INSTANCE.replace("TRACK", "")
    );
    let errs = errors(&text);
    assert_eq!(
        errs,
        [
            "t.conf:10:9: error: vrrp_sync_group G: track_bfd names no bfd_instance \"nothing_like_it\""
        ]
    );
    let c = config(&text.replace("        nothing_like_it\n", ""));
    assert_eq!(c.vrrp_sync_groups[0].track_bfd[0].weight, 7);
}

#[test]
fn a_weighted_track_bfd_in_a_sync_group_member_is_refused() {
    let text = format!(
        "bfd_instance B {{\n    neighbor_ip 192.0.2.2\n}}\nvrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n}}\n{}",
        INSTANCE.replace("TRACK", "track_bfd {\n        B weight 10\n    }")
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("t.conf:16:9: error: vrrp_instance VI_1: track_bfd B has weight 10 but the instance is in vrrp_sync_group G"),
        "{errs:?}"
    );
    // Weight 0 there is fine, and so is a weighted one in the group itself.
    config(&text.replace("B weight 10", "B"));
    // An address owner: a warning, the priority stays 255.
    let owner = with_track(
        "bfd_instance B {\n    neighbor_ip 192.0.2.2\n}\n",
        "priority 255\n    track_bfd {\n        B weight 10\n    }",
    );
    let l = check(&owner);
    assert!(l.config.is_some());
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.to_string().contains("has no effect on an address owner"))
    );
}

fn with_bfd_check(bfd: &str, check: &str) -> String {
    format!(
        "{bfd}virtual_server 192.0.2.100 80 {{\n    protocol TCP\n    real_server 192.0.2.2 80 {{\n{check}    }}\n}}\n"
    )
}

#[test]
fn bfd_check_reads_name_and_alpha() {
    let bfd = "bfd_instance lanchk {\n    neighbor_ip 192.0.2.2\n}\n";
    let c = config(&with_bfd_check(
        bfd,
        "        BFD_CHECK {\n            name lanchk\n            alpha\n        }\n",
    ));
    let ch = &c.virtual_servers[0].real_servers[0].checkers[0];
    match &ch.kind {
        tandem::config::model::CheckerKind::BfdCheck(b) => assert_eq!(b.name, "lanchk"),
        k => panic!("{k:?}"),
    }
    assert!(ch.alpha);
    // The connection and timing options are not BFD_CHECK's.
    let errs = errors(&with_bfd_check(
        bfd,
        "        BFD_CHECK {\n            name lanchk\n            delay_loop 3\n        }\n",
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0],
        "t.conf:9:13: error: unknown keyword \"delay_loop\" in BFD_CHECK (keepalived 2.2.7 would log it and skip the line)"
    );
    // No name, or two.
    let errs = errors(&with_bfd_check(bfd, "        BFD_CHECK {\n        }\n"));
    assert_eq!(
        errs,
        ["t.conf:7:9: error: BFD_CHECK has no name (of a bfd_instance)"]
    );
    let errs = errors(&with_bfd_check(
        "bfd_instance a {\n    neighbor_ip 192.0.2.2\n}\nbfd_instance b {\n    neighbor_ip 192.0.2.3\n}\n",
        "        BFD_CHECK {\n            name a\n            name b\n        }\n",
    ));
    assert!(errs[0].contains("already"), "{errs:?}");
}

#[test]
fn bfd_check_must_name_a_bfd_instance_the_checker_hears_of() {
    let bfd = "bfd_instance lanchk {\n    neighbor_ip 192.0.2.2\n}\n";
    let errs = errors(&with_bfd_check(
        bfd,
        "        BFD_CHECK {\n            name lanchc\n        }\n",
    ));
    assert_eq!(
        errs,
        [
            "t.conf:7:9: error: real_server 192.0.2.2 80: BFD_CHECK names no bfd_instance \"lanchc\"; did you mean \"lanchk\"?"
        ]
    );
    let vrrp_only = "bfd_instance lanchk {\n    neighbor_ip 192.0.2.2\n    vrrp\n}\n";
    let errs = errors(&with_bfd_check(
        vrrp_only,
        "        BFD_CHECK {\n            name lanchk\n        }\n",
    ));
    assert!(errs[0].contains("reports to VRRP only"), "{errs:?}");
    let errs = errors(&with_bfd_check(
        bfd,
        "        BFD_CHECK {\n            name lanchk\n        }\n        BFD_CHECK {\n            name lanchk\n        }\n",
    ));
    assert!(
        errs[0].contains("follows bfd_instance lanchk already"),
        "{errs:?}"
    );
    // A checker-only session is fine for BFD_CHECK.
    let checker_only = "bfd_instance lanchk {\n    neighbor_ip 192.0.2.2\n    checker\n}\n";
    config(&with_bfd_check(
        checker_only,
        "        BFD_CHECK {\n            name lanchk\n        }\n",
    ));
}

const PEER: &str = "bfd_instance P {\n    neighbor_ip 192.0.2.2\n}\n";

#[test]
fn tandem_takeover_is_read_anywhere_after_the_name_and_off_by_default() {
    for entry in ["P weight -1 tandem_takeover", "P tandem_takeover weight -1"] {
        let c = config(&with_track(
            PEER,
            &format!("track_bfd {{\n        {entry}\n    }}"),
        ));
        let t = &c.vrrp_instances[0].track_bfd[0];
        assert_eq!((t.weight, t.reverse, t.tandem_takeover), (-1, false, true));
    }
    let c = config(&with_track(PEER, "track_bfd {\n        P weight -1\n    }"));
    assert!(!c.vrrp_instances[0].track_bfd[0].tandem_takeover);
    // Any other word is still an error, with the expected spelling.
    let errs = errors(&with_track(
        PEER,
        "track_bfd {\n        P weight -1 takeover\n    }",
    ));
    assert!(
        errs[0].starts_with("t.conf:11:21: error: unexpected \"takeover\""),
        "{errs:?}"
    );
}

#[test]
fn tandem_takeover_is_refused_where_it_cannot_act() {
    // Weight 0: FAULT while the peer is dead, never MASTER.
    let errs = errors(&with_track(
        PEER,
        "track_bfd {\n        P tandem_takeover\n    }",
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("t.conf:11:9: error: vrrp_instance VI_1: track_bfd P tandem_takeover: weight 0 puts the instance in FAULT"),
        "{errs:?}"
    );
    // A neighbour of the other family can never be the master.
    let v6 = "bfd_instance P {\n    neighbor_ip 2001:db8::2\n}\n";
    let errs = errors(&with_track(
        v6,
        "track_bfd {\n        P weight -1 tandem_takeover\n    }",
    ));
    assert!(
        errs[0].contains("vrrp_instance VI_1 is IPv4, neighbor_ip 2001:db8::2 is not"),
        "{errs:?}"
    );
    // Unicast: the neighbour must be a peer the adverts come from.
    let unicast = |peer: &str| {
        with_track(
            PEER,
            &format!(
                "unicast_peer {{\n        {peer}\n    }}\n    track_bfd {{\n        P weight -1 tandem_takeover\n    }}"
            ),
        )
    };
    let errs = errors(&unicast("192.0.2.3"));
    assert!(
        errs[0].starts_with("t.conf:14:9: error: vrrp_instance VI_1: track_bfd P tandem_takeover: neighbor_ip 192.0.2.2 is none of vrrp_instance VI_1's unicast_peer addresses"),
        "{errs:?}"
    );
    config(&unicast("192.0.2.2"));
    // IPv6 multicast adverts come from a link-local address.
    let v6_instance = format!(
        "{v6}{}",
        INSTANCE.replace("192.0.2.100", "2001:db8::100/64").replace(
            "TRACK",
            "track_bfd {\n        P weight -1 tandem_takeover\n    }"
        )
    );
    let errs = errors(&v6_instance);
    assert!(
        errs[0].contains("come from the master's link-local address"),
        "{errs:?}"
    );
    // In a sync group's entry, every member is checked.
    let group = format!(
        "{PEER}vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    track_bfd {{\n        P weight -1 tandem_takeover\n    }}\n}}\n{}{}",
        INSTANCE.replace("TRACK", ""),
        INSTANCE
            .replace("VI_1", "VI_2")
            .replace("51", "52")
            .replace("TRACK", "unicast_peer {\n        192.0.2.9\n    }")
    );
    let errs = errors(&group);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("t.conf:10:9: error: vrrp_sync_group G: track_bfd P tandem_takeover: neighbor_ip 192.0.2.2 is none of vrrp_instance VI_2's"),
        "{errs:?}"
    );
    let c = config(&group.replace("192.0.2.9", "192.0.2.2"));
    assert!(c.vrrp_sync_groups[0].track_bfd[0].tandem_takeover);
    // An address owner has nothing to take over: a warning.
    let l = check(&with_track(
        PEER,
        "priority 255\n    track_bfd {\n        P weight -1 tandem_takeover\n    }",
    ));
    assert!(l.config.is_some());
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.to_string().contains("owns its addresses (priority 255)")),
        "{:?}",
        l.diagnostics
    );
}
