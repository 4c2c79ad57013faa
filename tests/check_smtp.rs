//! `SMTP_CHECK` against Debian's aiosmtpd and small python servers that
//! misbehave, in a namespace of its own, run the operator's way
//! (`tandem check-once` inside the namespace); and the block as
//! keepalived 2.2.7 reads it (helo_name, the deprecated `host { }`
//! blocks, defaults, errors at file:line:col).
//!
//! Each DOWN line carries keepalived's own words for that failure
//! (check_smtp.c).

mod netns;

use std::path::Path;
use std::process::{Child, Command, Stdio};

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

/// A TCP server that greets `greeting` (or nothing, for "silent") and
/// answers the first command with `502`, writing it to `log`.
const BAD_SERVER: &str = r#"
import socket, sys
port, greeting, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.1", port)); s.listen(16)
while True:
    c, _ = s.accept()
    if greeting != "silent":
        c.sendall(greeting.encode() + b"\r\n")
        line = c.recv(512)
        open(log, "ab").write(line)
        c.sendall(b"502 not here\r\n")
    else:
        c.recv(512)
    c.close()
"#;

fn listening(ns: &Netns, port: u16) -> bool {
    wait_until(20.0, || {
        let out = ns.exec(&["ss", "-Hltn", "sport", "=", &format!(":{port}")]);
        String::from_utf8_lossy(&out.stdout).contains(&format!("192.0.2.1:{port}"))
    })
}

fn start_bad(ns: &Netns, port: u16, greeting: &str, log: &Path) -> Kill {
    let child = ns
        .command("/usr/bin/python3")
        .args(["-c", BAD_SERVER, &port.to_string(), greeting])
        .arg(log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python3");
    let k = Kill(child);
    assert!(
        listening(ns, port),
        "python server on {port} never listened"
    );
    k
}

fn start_aiosmtpd(ns: &Netns, port: u16) -> Kill {
    let child = ns
        .command("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("192.0.2.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Sink"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let k = Kill(child);
    assert!(listening(ns, port), "aiosmtpd never listened on {port}");
    k
}

fn check_once(ns: &Netns, conf: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            env!("CARGO_BIN_EXE_tandem"),
            "check-once",
        ])
        .args(extra)
        .arg("-f")
        .arg(conf)
        .output()
        .expect("run tandem check-once");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn line<'a>(out: &'a str, target: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("SMTP_CHECK {target} ")))
        .unwrap_or_else(|| panic!("no SMTP_CHECK {target} line in:\n{out}"))
}

#[test]
fn smtp_check_against_aiosmtpd_and_servers_that_fail() {
    let ns = Netns::new("s8chk-smtp");
    ns.ip(&["addr", "add", "192.0.2.1/32", "dev", "lo"]);
    let dir = Scratch::new("s8chk-smtp");
    let helo_log = dir.0.join("helo.log");
    let _good = start_aiosmtpd(&ns, 25);
    let _banner = start_bad(&ns, 2525, "554 no service", &dir.0.join("x.log"));
    let _helo = start_bad(&ns, 2526, "220 mx.example ESMTP", &helo_log);
    let _silent = start_bad(&ns, 2527, "silent", &dir.0.join("y.log"));
    let rs = |port: u16, body: &str| {
        format!(
            "  real_server 192.0.2.1 {port} {{\n    SMTP_CHECK {{\n      connect_timeout 2\n{body}    }}\n  }}\n"
        )
    };
    let mut conf = String::from("virtual_server 192.0.2.100 25 {\n  protocol TCP\n");
    conf += &rs(25, "");
    conf += &rs(2525, "");
    conf += &rs(2526, "      helo_name lb1.example.org\n");
    conf += &rs(2527, "");
    conf += &rs(2528, "");
    conf += "  real_server 203.0.113.5 25 {\n    SMTP_CHECK {\n    }\n  }\n}\n";
    let path = dir.file("smtp.conf", &conf);

    let (code, out) = check_once(&ns, &path, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(line(&out, "192.0.2.1:25").contains(" UP "), "{out}");
    assert!(
        line(&out, "192.0.2.1:2525")
            .contains("DOWN: Bad greeting banner from server [192.0.2.1]:2525"),
        "{out}"
    );
    assert!(
        line(&out, "192.0.2.1:2526")
            .contains("DOWN: Bad HELO response from server [192.0.2.1]:2526"),
        "{out}"
    );
    // The HELO tandem sent carries helo_name.
    let sent = std::fs::read_to_string(&helo_log).unwrap_or_default();
    assert_eq!(sent, "HELO lb1.example.org\r\n");
    assert!(
        line(&out, "192.0.2.1:2527").contains("DOWN: Read timeout from server [192.0.2.1]:2527"),
        "{out}"
    );
    // Nothing listens: the kernel refuses during the handshake.
    assert!(
        line(&out, "192.0.2.1:2528").contains("DOWN: Could not connect to server [192.0.2.1]:2528"),
        "{out}"
    );
    assert!(
        line(&out, "203.0.113.5:25").contains(
            "DOWN: Network unreachable for server 203.0.113.5 - real server [203.0.113.5]:25"
        ),
        "{out}"
    );
    assert!(out.contains("6 checkers, 1 up, 5 down"), "{out}");
}

/// The deprecated host blocks: each host is a checker of its own; the real
/// server is up only while every host passes.
#[test]
fn smtp_check_host_blocks_are_each_checked() {
    let ns = Netns::new("s8chk-smtph");
    ns.ip(&["addr", "add", "192.0.2.1/32", "dev", "lo"]);
    let dir = Scratch::new("s8chk-smtph");
    let _good = start_aiosmtpd(&ns, 25);
    let conf = "virtual_server 192.0.2.100 25 {\n  protocol TCP\n  delay_loop 1\n  real_server 192.0.2.1 25 {\n    SMTP_CHECK {\n      retry 0\n      host {\n        connect_ip 192.0.2.1\n      }\n      host {\n        connect_port 2529\n        connect_timeout 1\n      }\n    }\n  }\n}\n";
    let path = dir.file("smtph.conf", conf);
    let (code, out) = check_once(&ns, &path, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(line(&out, "192.0.2.1:25").contains(" UP "), "{out}");
    assert!(
        line(&out, "192.0.2.1:2529").contains("DOWN: Could not connect to server"),
        "{out}"
    );
    assert!(out.contains("2 checkers, 1 up, 1 down"), "{out}");
    let (_, out) = check_once(&ns, &path, &["--for", "3"]);
    assert!(out.contains("RealServerDown"), "{out}");
}

fn load(text: &str) -> tandem::config::Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn smtp_block(body: &str) -> String {
    format!(
        "virtual_server 192.0.2.1 25 {{\n  protocol TCP\n  connect_timeout 7\n  real_server 192.0.2.10 25 {{\n    SMTP_CHECK {{\n{body}    }}\n  }}\n}}\n"
    )
}

#[test]
fn smtp_check_defaults_and_hosts_as_keepalived_reads_them() {
    let c = load(&smtp_block("")).config.expect("loads");
    let ch = &c.virtual_servers[0].real_servers[0].checkers;
    assert_eq!(ch.len(), 1);
    let CheckerKind::SmtpCheck(s) = &ch[0].kind else {
        panic!("{:?}", ch[0].kind)
    };
    assert_eq!(s.helo_name, "smtpchecker.keepalived.org");
    assert_eq!((ch[0].retry, ch[0].delay_before_retry.as_secs()), (1, 1));
    assert_eq!(ch[0].connect_timeout.as_secs(), 7);
    assert_eq!(ch[0].connect_port, 25);

    // Hosts only: the hosts are the connections; their timers are the
    // check's, their timeout their own or the real server's.
    let l = load(&smtp_block(
        "      helo_name \"mx check\"\n      host {\n        connect_ip 192.0.2.11\n        retry 4\n      }\n      host {\n        connect_port 2525\n        connect_timeout 2\n      }\n",
    ));
    assert!(
        l.diagnostics.iter().any(|d| d
            .to_string()
            .starts_with("t.conf:7:7: warning: the SMTP_CHECK host block is deprecated")),
        "{:?}",
        l.diagnostics
    );
    let c = l.config.expect("loads");
    let ch = &c.virtual_servers[0].real_servers[0].checkers;
    let got: Vec<_> = ch
        .iter()
        .map(|c| {
            (
                c.connect_ip.to_string(),
                c.connect_port,
                c.connect_timeout.as_secs(),
                c.retry,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("192.0.2.11".to_string(), 25, 7, 4),
            ("192.0.2.10".to_string(), 2525, 2, 4)
        ]
    );
    assert!(
        ch.iter()
            .all(|c| matches!(&c.kind, CheckerKind::SmtpCheck(s) if s.helo_name == "mx check"))
    );

    // A connection keyword at the block's level: its own connection too.
    let c = load(&smtp_block(
        "      connect_port 587\n      host {\n        connect_port 2525\n      }\n",
    ))
    .config
    .expect("loads");
    let ports: Vec<u16> = c.virtual_servers[0].real_servers[0]
        .checkers
        .iter()
        .map(|c| c.connect_port)
        .collect();
    assert_eq!(ports, [587, 2525]);
}

#[test]
fn smtp_check_errors_name_the_position() {
    let msgs = |body: &str| -> Vec<String> {
        load(&smtp_block(body))
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect()
    };
    // keepalived refuses these there too.
    for body in [
        "      nb_get_retry 2\n",
        "      virtualhost x\n",
        "      host {\n        helo_name x\n      }\n",
    ] {
        let m = msgs(body);
        assert!(m.iter().any(|l| l.contains(": error:")), "{body}: {m:?}");
    }
    let m = msgs("      helo_nmae x\n");
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:6:7: error:") && l.contains("\"helo_name\"")),
        "{m:?}"
    );
    let m = msgs("      host {\n        connect_port 70000\n      }\n");
    assert!(
        m.iter().any(|l| l.starts_with("t.conf:7:22: error:")),
        "{m:?}"
    );
}
