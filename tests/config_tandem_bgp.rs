//! tandem's own `tandem_bgp` block in a virtual_server (docs/scale-out.md):
//! the model it gives with defaults and with every option, and each
//! mistake's message and file:line:col (a misspelt keyword with its
//! suggestion; an unusable service; two blocks that disagree on one
//! include file; the consistent-hashing warnings).

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
    // mh with inhibit_on_failure: only the note about sloppy_tcp.
    let m = messages(&vs("203.0.113.10 80", "    include_file /v\n"));
    assert!(
        m.len() == 1
            && m[0]
                .starts_with("t.conf:4:3: note: tandem_bgp: tandem sets net.ipv4.vs.sloppy_tcp=1"),
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
