//! The parser never panics, whatever it is given, and every diagnostic
//! points inside the text it was given.

use std::path::Path;

use proptest::prelude::*;
use tandem::config::{LoadOptions, load_str};

/// Pieces of keepalived.conf, so random input reaches deep into the
/// grammar instead of failing at the first word.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\n".to_string()),
        Just(" ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("!".to_string()),
        Just("#".to_string()),
        Just("\\".to_string()),
        Just("@main ".to_string()),
        Just("@^main ".to_string()),
        Just("$X=".to_string()),
        Just("$X".to_string()),
        Just("${X}".to_string()),
        Just("$X=$X$X".to_string()),
        Just("include nothere*.conf".to_string()),
        Just("include nothere.conf".to_string()),
        prop::sample::select(vec![
            "global_defs",
            "vrrp_instance",
            "vrrp_script",
            "vrrp_sync_group",
            "virtual_server",
            "virtual_server_group",
            "real_server",
            "HTTP_GET",
            "SSL_GET",
            "TCP_CHECK",
            "MISC_CHECK",
            "url",
            "path",
            "status_code",
            "digest",
            "group",
            "fwmark",
            "interface",
            "virtual_router_id",
            "priority",
            "advert_int",
            "version",
            "virtual_ipaddress",
            "virtual_routes",
            "track_script",
            "track_interface",
            "unicast_peer",
            "authentication",
            "auth_type",
            "auth_pass",
            "PASS",
            "weight",
            "script",
            "lb_algo",
            "lb_kind",
            "nb_get_retry",
            "delay_loop",
            "sorry_server",
            "smtp_server",
            "notification_email",
            "persistence_timeout",
            "persistence_granularity",
            "dev",
            "label",
            "brd",
            "scope",
            "src",
            "via",
            "table",
            "blackhole",
            "192.0.2.1",
            "192.0.2.1-10",
            "192.0.2.0/24",
            "2001:db8::1",
            "2001:db8::/64",
            "0",
            "1",
            "3",
            "0.1",
            "255",
            "256",
            "-1",
            "99999999999999999999",
            "80",
            "200-299",
            "VI_1",
            "eth0",
            "NAT",
            "DR",
            "rr",
            "MASTER",
            "BACKUP",
            "3",
            "inet6",
            "255.255.255.0",
            "ff20ad2481f97b1754ef3e12ecd3a9cc",
        ])
        .prop_map(str::to_string),
        "[^\\x00]{0,8}",
    ]
}

fn check_positions(text: &str) {
    let loaded = load_str(
        Path::new("/nonexistent-tandem-proptest/p.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    );
    let lines = text.lines().count() as u32 + 1;
    for d in &loaded.diagnostics {
        if d.file == Path::new("/nonexistent-tandem-proptest/p.conf") {
            assert!(d.line <= lines, "{d} is past the end ({lines} lines)");
        }
        assert!(!d.message.is_empty());
    }
    assert_eq!(loaded.config.is_some(), !loaded.has_errors());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check_positions(&text);
    }

    #[test]
    fn keyword_soup_never_panics(pieces in prop::collection::vec(piece(), 0..120)) {
        let text: String = pieces.join(" ");
        check_positions(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_positions(&String::from_utf8_lossy(&bytes));
    }
}
