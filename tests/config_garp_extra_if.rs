//! `garp_extra_if` / `vrrp_garp_extra_if` and their deprecated names
//! `vmac_garp_intvl` / `vrrp_vmac_garp_intvl`: what the model holds for
//! each spelling keepalived 2.2.7 reads, and the error (file:line:col) for
//! each value it refuses. The effect is `tests/net_garp_extra_if.rs`'s.

use std::path::Path;
use std::time::Duration;

use tandem::config::{GarpExtraIf, LoadOptions, Loaded, load_str};

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

/// global_defs with `global` on line 2, then an instance with `extra` on
/// line 7.
fn text(global: &str, extra: &str) -> String {
    format!(
        "global_defs {{
    {global}
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    {extra}
    virtual_ipaddress {{
        192.0.2.10/24
    }}
}}
"
    )
}

/// The instance's resolved value and every diagnostic.
fn value(global: &str, extra: &str) -> (Option<GarpExtraIf>, Vec<String>) {
    let l = check(&text(global, extra));
    assert!(!l.has_errors(), "{:?}", messages(&l));
    let v = l
        .config
        .as_ref()
        .and_then(|c| c.vrrp_instances.first())
        .and_then(|i| i.garp_extra_if);
    (v, messages(&l))
}

fn every(secs: u64, all: bool) -> Option<GarpExtraIf> {
    Some(GarpExtraIf {
        interval: Duration::from_secs(secs),
        all,
    })
}

#[test]
fn both_spellings_take_all_on_either_side_of_the_number() {
    let (v, m) = value("vrrp_garp_extra_if all 120", "priority 100");
    assert_eq!(v, every(120, true));
    assert!(m.is_empty(), "{m:?}");
    let (v, m) = value("vrrp_vmac_garp_intvl 10 all", "priority 100");
    assert_eq!(v, every(10, true));
    assert_eq!(
        m,
        ["t.conf:2:5: warning: \"vrrp_vmac_garp_intvl\" is deprecated; use \"vrrp_garp_extra_if\""]
    );
    let (v, m) = value("vrrp_garp_extra_if all 120", "vmac_garp_intvl all 17");
    assert_eq!(v, every(17, true));
    assert_eq!(
        m,
        ["t.conf:7:5: warning: \"vmac_garp_intvl\" is deprecated; use \"garp_extra_if\""]
    );
}

#[test]
fn the_instance_value_replaces_the_global_one_and_0_turns_it_off() {
    assert_eq!(
        value("vrrp_garp_extra_if all 120", "priority 100").0,
        every(120, true)
    );
    assert_eq!(
        value("vrrp_garp_extra_if all 120", "garp_extra_if 0").0,
        None
    );
    assert_eq!(
        value("router_id a", "garp_extra_if all 60").0,
        every(60, true)
    );
    assert_eq!(value("router_id a", "priority 100").0, None);
}

#[test]
fn without_all_it_is_kept_with_a_warning_that_nothing_is_sent() {
    let (v, m) = value("vrrp_garp_extra_if 120", "priority 100");
    assert_eq!(v, every(120, false));
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("t.conf:4:1: warning: vrrp_instance VI_1: garp_extra_if without \"all\"")
            && m[0].contains("nothing is sent"),
        "{m:?}"
    );
    // With use_vmac_addr it sends on its links: no warning.
    let (v, m) = value("vrrp_garp_extra_if 120", "use_vmac_addr");
    assert_eq!(v, every(120, false));
    assert!(m.is_empty(), "{m:?}");
}

#[test]
fn bad_values_are_errors_at_the_word() {
    let cases = [
        (
            "vrrp_garp_extra_if 0",
            "priority 100",
            "t.conf:2:24: error: vrrp_garp_extra_if 0 is out of range (1-86400)",
        ),
        (
            "router_id a",
            "garp_extra_if 86401",
            "t.conf:7:19: error: garp_extra_if 86401 is out of range (0-86400)",
        ),
        (
            "vrrp_vmac_garp_intvl all",
            "priority 100",
            "t.conf:2:5: error: \"vrrp_vmac_garp_intvl\" needs a number of seconds",
        ),
        (
            "router_id a",
            "garp_extra_if 5 6",
            "t.conf:7:21: error: unexpected \"6\" after \"garp_extra_if\"",
        ),
        (
            "router_id a",
            "garp_extra_if every 5",
            "t.conf:7:19: error: garp_extra_if expects a whole number, not \"every\"",
        ),
    ];
    for (global, extra, want) in cases {
        let l = check(&text(global, extra));
        let errs: Vec<String> = l.errors().map(|d| d.to_string()).collect();
        assert_eq!(errs, [want], "{global} / {extra}");
    }
}
