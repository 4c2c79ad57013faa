//! tandem's own `tandem_bgp` block in a virtual_server (docs/scale-out.md):
//! the model it gives with defaults and with every option, and each
//! mistake's message and file:line:col (a misspelt keyword with its
//! suggestion; an unusable service; two blocks that disagree on one
//! include file; the consistent-hashing warnings, also `mh` without
//! `mh-fallback`).

use std::path::Path;

use tandem::config::{Config, LoadOptions, Loaded, load_str};

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

/// `text` with `mh-fallback` after its `lvs_sched mh`.
fn fallback(text: &str) -> String {
    text.replace("lvs_sched mh\n", "lvs_sched mh\n  mh-fallback\n")
}

fn vs(key: &str, bgp: &str) -> String {
    format!(
        "virtual_server {key} {{\n  protocol TCP\n  lvs_sched mh\n  tandem_bgp {{\n{bgp}  }}\n  real_server 192.0.2.50 80 {{\n    inhibit_on_failure\n  }}\n}}\n"
    )
}

#[test]
fn defaults_and_every_option() {
    let c = model(&vs(
        "203.0.113.10 80",
        "    include_file /run/tandem/bird.conf\n",
    ));
    let b = c.virtual_servers[0].bgp.clone().unwrap();
    assert_eq!(b.bird_socket, "/run/bird/bird.ctl");
    assert_eq!(b.include_file, "/run/tandem/bird.conf");
    assert_eq!(b.protocol, "tandem");
    assert_eq!(b.liveness_device, "tandem-bgp");
    assert_eq!(b.drain_delay.as_secs_f64(), 2.0);
    assert_eq!((b.origin.line, b.origin.col), (4, 3));

    let c = model(&vs(
        "203.0.113.10 80",
        "    bird_socket /run/b.ctl\n    include_file /run/v.conf\n    protocol lb_vips\n    drain_delay 0.5\n    liveness_device lb-live\n",
    ));
    let b = c.virtual_servers[0].bgp.clone().unwrap();
    assert_eq!(
        (
            b.bird_socket.as_str(),
            b.protocol.as_str(),
            b.liveness_device.as_str()
        ),
        ("/run/b.ctl", "lb_vips", "lb-live")
    );
    assert_eq!(b.drain_delay.as_millis(), 500);
    // Without the block: no announcement.
    let c = model("virtual_server 203.0.113.10 80 {\n  protocol TCP\n}\n");
    assert!(c.virtual_servers[0].bgp.is_none());
}

#[test]
fn mistakes_have_positions() {
    let m = messages(&vs("203.0.113.10 80", "    include_fle /run/v.conf\n"));
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:5:5: error:")
                && l.contains("did you mean \"include_file\"")),
        "{m:?}"
    );
    let m = messages(&vs("203.0.113.10 80", "    bird_socket /run/b.ctl\n"));
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:4:3: error: tandem_bgp needs \"include_file PATH\"")),
        "{m:?}"
    );
    let m = messages(&vs("203.0.113.10 80", "    include_file bird.conf\n"));
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:5:18: error: include_file expects an absolute path")),
        "{m:?}"
    );
    let m = messages(&vs(
        "203.0.113.10 80",
        "    include_file /v\n    protocol 4x\n",
    ));
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:6:14: error: tandem_bgp protocol must be a BIRD name")),
        "{m:?}"
    );
    let m = messages(&vs(
        "203.0.113.10 80",
        "    include_file /v\n    liveness_device much-too-long-name\n",
    ));
    assert!(m.iter().any(|l| l.starts_with("t.conf:6:21: error: liveness_device expects an interface name")), "{m:?}");
    let m = messages(&vs("fwmark 7", "    include_file /v\n"));
    assert!(
        m.iter().any(|l| l.starts_with(
            "t.conf:4:3: error: virtual_server fwmark 7: tandem_bgp needs an address"
        )),
        "{m:?}"
    );
}

#[test]
fn one_include_file_is_one_bird_s_routes() {
    let text = vs("203.0.113.10 80", "    include_file /v\n")
        + &vs(
            "203.0.113.11 80",
            "    include_file /v\n    protocol other\n",
        );
    let m = messages(&text);
    assert!(
        m.iter().any(|l| l.starts_with(
            "t.conf:14:3: error: tandem_bgp: include_file /v is already used at t.conf:4:3"
        )),
        "{m:?}"
    );
    // The same settings: fine, one file for both VIPs.
    let text = vs("203.0.113.10 80", "    include_file /v\n")
        + &vs("203.0.113.11 80", "    include_file /v\n");
    assert_eq!(model(&text).virtual_servers.len(), 2);
}

#[test]
fn a_scheduler_that_does_not_hash_consistently_is_warned_about() {
    let text =
        vs("203.0.113.10 80", "    include_file /v\n").replace("lvs_sched mh", "lvs_sched rr");
    let m = messages(&text);
    assert!(
        m.iter().any(|l| l.starts_with("t.conf:4:3: warning:")
            && l.contains("lvs_sched rr")
            && l.contains("use mh")),
        "{m:?}"
    );
    let text =
        vs("203.0.113.10 80", "    include_file /v\n").replace("    inhibit_on_failure\n", "");
    let m = messages(&text);
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:4:3: warning:")
                && l.contains("without inhibit_on_failure")),
        "{m:?}"
    );
    // mh with inhibit_on_failure and mh-fallback: only the note about
    // sloppy_tcp.
    let m = messages(&fallback(&vs("203.0.113.10 80", "    include_file /v\n")));
    assert!(
        m.len() == 1
            && m[0]
                .starts_with("t.conf:5:3: note: tandem_bgp: tandem sets net.ipv4.vs.sloppy_tcp=1"),
        "{m:?}"
    );
}

#[test]
fn sloppy_tcp_and_sctp_are_announced_once() {
    let text = vs("203.0.113.10 80", "    include_file /v\n")
        + &vs("203.0.113.11 80", "    include_file /v\n").replace("protocol TCP", "protocol SCTP");
    let m = messages(&text);
    let notes: Vec<_> = m.iter().filter(|l| l.contains(": note: ")).collect();
    assert!(
        notes.len() == 1 && notes[0].contains("sloppy_tcp=1 and sloppy_sctp=1"),
        "{m:?}"
    );
}

/// `mh` with `inhibit_on_failure` and no `mh-fallback` (flag 1): one
/// warning at the virtual_server, with or without `tandem_bgp`; none with
/// the flag by either of its names, or without `inhibit_on_failure`.
#[test]
fn mh_with_inhibit_on_failure_wants_mh_fallback() {
    let want = "t.conf:1:1: warning: virtual_server 203.0.113.10:80: lvs_sched mh with inhibit_on_failure and without mh-fallback: a new connection hashed to a failed real server (kept at weight 0) is refused instead of rehashed; add mh-fallback";
    let bgp = vs("203.0.113.10 80", "    include_file /v\n");
    let plain = "virtual_server 203.0.113.10 80 {\n  protocol TCP\n  lvs_sched mh\n  real_server 192.0.2.50 80 {\n    inhibit_on_failure\n  }\n}\n";
    for text in [bgp.as_str(), plain] {
        let m = messages(text);
        assert_eq!(
            m.iter()
                .filter(|l| l.contains("mh-fallback"))
                .collect::<Vec<_>>(),
            [want],
            "{m:?}"
        );
        let with_flag = [
            fallback(text),
            text.replace("lvs_sched mh\n", "lvs_sched mh\n  flag-1\n"),
            text.replace("    inhibit_on_failure\n", ""),
        ];
        for t in with_flag {
            let m = messages(&t);
            assert!(!m.iter().any(|l| l.contains("mh-fallback")), "{t}\n{m:?}");
        }
    }
    // The flag is the kernel's: the model carries it.
    assert!(
        model(&fallback(plain)).virtual_servers[0]
            .sched_flags
            .flag_1
    );
}
