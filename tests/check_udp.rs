//! `UDP_CHECK` against a small python3 UDP server in a namespace of its
//! own, run the operator's way (`tandem check-once` inside the
//! namespace), and the block as keepalived 2.2.7 reads it.
//!
//! The server answers "OK" to every datagram and writes what it got (in
//! hex) to a file, so the payload sent is read back; a socket that never
//! answers, a closed port and an address without a route are the other
//! peers. Each DOWN line carries keepalived's words (check_udp.c).

mod netns;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Stdio};

use netns::daemon::Scratch;
use netns::{Netns, wait_until};
use tandem::config::{CheckerKind, LoadOptions, load_str};

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const OK_SERVER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    with open(sys.argv[2], "a") as f:
        f.write(data.hex() + "\n")
    s.sendto(b"OK", peer)
"#;

fn check_once(ns: &Netns, conf: &Path) -> String {
    let out = ns
        .command(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-once", "-f"])
        .arg(conf)
        .output()
        .expect("run tandem check-once");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn line<'a>(out: &'a str, target: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("UDP_CHECK {target} ")))
        .unwrap_or_else(|| panic!("no UDP_CHECK {target} line in:\n{out}"))
}

#[test]
fn udp_check_payload_reply_pattern_silence_refused_unreachable() {
    let ns = Netns::new("s8chk-udp");
    ns.ip(&["addr", "add", "192.0.2.1/32", "dev", "lo"]);
    let dir = Scratch::new("s8chk-udp");
    let got = dir.0.join("got.hex");
    let child = ns
        .command("/usr/bin/python3")
        .args(["-c", OK_SERVER, "7000"])
        .arg(&got)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python3");
    let _server = Kill(child);
    assert!(
        wait_until(20.0, || {
            let out = ns.exec(&["ss", "-Hlun", "sport", "=", ":7000"]);
            String::from_utf8_lossy(&out.stdout).contains("192.0.2.1:7000")
        }),
        "the python UDP server never bound"
    );
    let silent = ns
        .run_in(|| UdpSocket::bind("192.0.2.1:7001").expect("bind the silent socket"))
        .join()
        .expect("bind in the namespace");
    // One real server per case; connect_port tells them apart where the
    // address is the same.
    let cases = [
        (
            "192.0.2.1",
            7000,
            "payload 68 65 6c6c6f\n      require_reply 4f4b\n",
        ),
        (
            "192.0.2.2",
            7000,
            "connect_ip 192.0.2.1\n      require_reply 4x 4B\n",
        ),
        (
            "192.0.2.3",
            7000,
            "connect_ip 192.0.2.1\n      require_reply 4e4f\n",
        ),
        (
            "192.0.2.4",
            7000,
            "connect_ip 192.0.2.1\n      require_reply 4f4b\n      max_reply_length 1\n",
        ),
        ("192.0.2.1", 7001, ""),
        (
            "192.0.2.5",
            7001,
            "connect_ip 192.0.2.1\n      require_reply\n",
        ),
        ("192.0.2.1", 7002, ""),
        ("203.0.113.5", 7000, ""),
    ];
    let mut conf = String::from("virtual_server 192.0.2.100 7000 {\n  protocol UDP\n");
    for (addr, port, body) in cases {
        conf += &format!(
            "  real_server {addr} {port} {{\n    UDP_CHECK {{\n      connect_timeout 2\n      {body}\n    }}\n  }}\n"
        );
    }
    conf += "}\n";
    let path = dir.file("udp.conf", &conf);
    let out = check_once(&ns, &path);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("UDP_CHECK "))
        .collect();
    assert_eq!(lines.len(), 8, "{out}");
    // The lines come in the order of the configuration.
    for l in &lines[..2] {
        assert!(
            l.starts_with("UDP_CHECK 192.0.2.1:7000 ") && l.contains("  UP "),
            "{out}"
        );
    }
    for l in &lines[2..4] {
        assert!(
            l.contains("DOWN: UDP check to [192.0.2.1]:udp:7000 reply data mismatch."),
            "{l}\n{out}"
        );
    }
    // Silence passes without require_reply, fails with it.
    assert!(line(&out, "192.0.2.1:7001").contains(" UP"), "{out}");
    assert!(
        lines[5].contains("DOWN: UDP connection to [192.0.2.1]:udp:7001 failed."),
        "{out}"
    );
    assert!(
        line(&out, "192.0.2.1:7002")
            .contains("DOWN: UDP connection to [192.0.2.1]:udp:7002 failed."),
        "{out}"
    );
    assert!(
        line(&out, "203.0.113.5:7000")
            .contains("DOWN: UDP connection to [203.0.113.5]:udp:7000 failed."),
        "{out}"
    );
    // What the server got: the configured payload, and keepalived's
    // default one from the checkers without a payload.
    let got = std::fs::read_to_string(&got).unwrap_or_default();
    assert!(got.lines().any(|l| l == "68656c6c6f"), "{got}");
    let default: String = b"keepalived check - keepalived ch"
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(got.lines().any(|l| l == default), "{got}");
    drop(silent);
}

fn load(body: &str) -> tandem::config::Loaded {
    let text = format!(
        "virtual_server 192.0.2.1 53 {{\n  protocol UDP\n  real_server 192.0.2.10 53 {{\n    UDP_CHECK {{\n{body}    }}\n  }}\n}}\n"
    );
    load_str(
        Path::new("t.conf"),
        text,
        &LoadOptions::with_config_id("main"),
    )
}

#[test]
fn udp_check_keywords_defaults_and_errors() {
    let c = load("").config.expect("loads");
    let ch = &c.virtual_servers[0].real_servers[0].checkers[0];
    let CheckerKind::UdpCheck(u) = &ch.kind else {
        panic!("{:?}", ch.kind)
    };
    assert_eq!((u.payload.clone(), u.require_reply), (None, false));
    assert_eq!((u.min_reply_length, u.max_reply_length), (0, 255));
    assert_eq!((ch.retry, ch.delay_before_retry.as_secs()), (1, 1));
    let c = load("      payload 0102 ff\n      require_reply 4x4b\n      min_reply_length 2\n      max_reply_length 600\n")
        .config
        .expect("loads");
    let CheckerKind::UdpCheck(u) = &c.virtual_servers[0].real_servers[0].checkers[0].kind else {
        panic!()
    };
    assert_eq!(u.payload.as_deref(), Some(&[1u8, 2, 0xff][..]));
    assert_eq!(u.reply_data.as_deref(), Some(&[0x40u8, 0x4b][..]));
    assert_eq!(u.reply_mask.as_deref(), Some(&[0x0fu8, 0][..]));
    assert_eq!((u.min_reply_length, u.max_reply_length), (2, 600));
    let msgs = |body: &str| -> Vec<String> {
        load(body)
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect()
    };
    let m = msgs("      payload 0g\n");
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:5:15: error: invalid hex string for UDP_CHECK payload")),
        "{m:?}"
    );
    // Wildcards only in require_reply.
    let m = msgs("      payload 4x\n");
    assert!(
        m.iter().any(|l| l.contains("error: invalid hex string")),
        "{m:?}"
    );
    let m = msgs("      payload\n");
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:5:7: error: UDP_CHECK payload requires a payload")),
        "{m:?}"
    );
    let m = msgs("      max_reply_length 65536\n");
    assert!(
        m.iter().any(|l| l.starts_with("t.conf:5:24: error:")),
        "{m:?}"
    );
    let m = msgs("      require_reply 4f\n      min_reply_length 9\n      max_reply_length 3\n");
    assert!(
        m.iter()
            .any(|l| l.contains("warning: UDP_CHECK min_reply_length 9 > max_reply_length 3")),
        "{m:?}"
    );
    let m = msgs("      virtualhost x\n");
    assert!(
        m.iter().any(|l| l.starts_with("t.conf:5:7: error:")),
        "{m:?}"
    );
}
