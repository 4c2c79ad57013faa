//! `vrrp_track_process` and the `track_process { }` entries of
//! vrrp_instance and vrrp_sync_group: the model each spelling gives (with
//! keepalived 2.2.7's defaults), and each mistake's message and position
//! (where keepalived reports a problem and ignores the line, tandem
//! refuses the file).

use std::path::Path;
use std::time::Duration;

use tandem::config::{Config, LoadOptions, Loaded, ParamMatch, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn model(text: &str) -> Config {
    let l = check(text);
    match l.config {
        Some(c) => c,
        None => panic!("refused: {:?}", l.diagnostics),
    }
}

fn messages(text: &str) -> Vec<String> {
    check(text)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect()
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress { 192.0.2.1 }\n";

#[test]
fn defaults_are_keepalived_s() {
    let c = model(&format!(
        "vrrp_track_process tp {{\n  process sleep\n}}\n{INSTANCE}  track_process {{\n    tp\n  }}\n}}\n"
    ));
    let tp = &c.track_processes[0];
    assert_eq!(tp.process, "sleep");
    assert_eq!(tp.param_match, ParamMatch::None);
    assert!(!tp.full_command);
    assert_eq!((tp.weight, tp.weight_reverse), (0, false));
    assert_eq!((tp.quorum, tp.quorum_max), (1, u32::MAX));
    assert_eq!(tp.fork_delay, Duration::ZERO);
    assert_eq!(tp.terminate_delay, Duration::ZERO);
    let e = &c.vrrp_instances[0].track_process[0];
    assert_eq!((e.name.as_str(), e.weight, e.reverse), ("tp", 0, false));
}

#[test]
fn every_option() {
    let c = model(&format!(
        "vrrp_track_process a {{\n  process /usr/bin/srv -c conf\n  weight -20 reverse\n  quorum 2\n  quorum_max 4\n  delay 1.5\n  fork_delay 0.25\n}}\n\
         vrrp_track_process b {{\n  param_match partial\n  process srv -x\n  terminate_delay 3\n}}\n\
         vrrp_track_process c {{\n  process srv\n  param_match\n}}\n\
         vrrp_track_process d {{\n  process srv\n  full_command\n  quorum_max 0\n}}\n\
         {INSTANCE}  track_process {{\n    a weight 10 noreverse\n    b weight -5\n    c\n  }}\n}}\n\
         vrrp_sync_group G {{\n  group {{\n    VI_1\n  }}\n  track_process {{\n    d weight 7 reverse\n  }}\n}}\n"
    ));
    let a = c.track_process("a").unwrap();
    assert_eq!(a.params, ["-c", "conf"]);
    assert_eq!(a.param_match, ParamMatch::Exact);
    assert!(a.full_command);
    assert_eq!(
        (a.weight, a.weight_reverse, a.quorum, a.quorum_max),
        (-20, true, 2, 4)
    );
    assert_eq!(a.terminate_delay, Duration::from_millis(1500));
    assert_eq!(a.fork_delay, Duration::from_millis(250));
    let b = c.track_process("b").unwrap();
    assert_eq!(b.param_match, ParamMatch::Partial);
    assert_eq!(b.terminate_delay, Duration::from_secs(3));
    assert_eq!(b.fork_delay, Duration::ZERO);
    let cc = c.track_process("c").unwrap();
    assert_eq!((cc.param_match, cc.full_command), (ParamMatch::Exact, true));
    let d = c.track_process("d").unwrap();
    assert_eq!((d.quorum, d.quorum_max, d.full_command), (0, 0, true));
    let e = &c.vrrp_instances[0].track_process;
    assert_eq!((e[0].weight, e[0].reverse), (10, false));
    assert_eq!((e[1].weight, e[1].reverse), (-5, false));
    assert_eq!((e[2].weight, e[2].reverse), (0, false));
    let g = &c.vrrp_sync_groups[0].track_process[0];
    assert_eq!((g.weight, g.reverse), (7, true));
}

#[test]
fn mistakes_are_refused_where_they_are() {
    let cases: &[(&str, &str)] = &[
        (
            "vrrp_track_process tp {\n  weight 2\n}\n",
            "t.conf:1:1: error: vrrp_track_process tp has no \"process\"",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  process b\n}\n",
            "t.conf:3:3: error: \"process\" is already set at line 2",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  quorum_max 2\n  quorum 3\n}\n",
            "t.conf:4:3: error: quorum 3 is above quorum_max 2",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  quorum 3\n  quorum_max 2\n}\n",
            "t.conf:4:3: error: quorum_max 2 is below quorum 3",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  quorum 0\n}\n",
            "t.conf:3:10: error:",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  weight 255\n}\n",
            "t.conf:3:10: error:",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  delay 0\n}\n",
            "t.conf:3:9: error: delay expects a time in seconds from 0.000001 to 3600",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  param_match full\n}\n",
            "t.conf:3:15: error: param_match expects nothing, \"partial\" or \"initial\"",
        ),
        (
            "vrrp_track_process tp {\n  process a\n  quorm 2\n}\n",
            "did you mean \"quorum\"?",
        ),
    ];
    for (text, want) in cases {
        let m = messages(text);
        assert!(
            m.iter().any(|l| l.contains(want)),
            "{text:?}: wanted {want:?}, got {m:?}"
        );
    }
}

#[test]
fn entries_name_a_block_defined_before_them() {
    let m = messages(&format!(
        "{INSTANCE}  track_process {{\n    tp\n  }}\n}}\nvrrp_track_process tp {{\n  process a\n}}\n"
    ));
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:6:5: error:") && l.contains("defined only later")),
        "{m:?}"
    );
    let m = messages(&format!(
        "vrrp_track_process httpd {{\n  process a\n}}\n{INSTANCE}  track_process {{\n    htpd\n    httpd\n    httpd weight 2\n  }}\n}}\n"
    ));
    assert!(
        m.iter().any(|l| l.contains("did you mean \"httpd\"?")),
        "{m:?}"
    );
    assert!(m.iter().any(|l| l.contains("already tracked")), "{m:?}");
}

#[test]
fn an_owner_s_group_tracks_with_weight_0() {
    let l = check(&format!(
        "vrrp_track_process tp {{\n  process a\n  weight 5\n}}\n{INSTANCE}  priority 255\n}}\n\
         vrrp_sync_group G {{\n  group {{\n    VI_1\n  }}\n  track_process {{\n    tp\n  }}\n}}\n"
    ));
    let c = l.config.expect("accepted with a warning");
    assert_eq!(c.vrrp_sync_groups[0].track_process[0].weight, 0);
    assert!(
        l.diagnostics
            .iter()
            .any(|d| d.to_string().contains("warning"))
    );
}
