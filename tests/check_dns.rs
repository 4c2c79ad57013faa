//! `DNS_CHECK` against Debian's dnsmasq in a namespace of its own, run the
//! operator's way (`tandem check-once` inside the namespace), and the
//! `DNS_CHECK` block as keepalived 2.2.7 reads it (keywords, defaults,
//! errors at file:line:col).
//!
//! The peer answers `up.example` (A, NOERROR) and NXDOMAIN for every
//! other name under `example`; a silent UDP socket, a closed port and an
//! address without a route give the three other ways a check fails. Each
//! DOWN line carries keepalived's own words for that failure (check_dns.c).

mod netns;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use netns::daemon::Scratch;
use netns::{Netns, wait_until};
use tandem::config::{CheckerKind, DnsType, LoadOptions, load_str};

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// dnsmasq on 192.0.2.1:53 in `ns`, answering for `example` only.
fn start_dnsmasq(ns: &Netns) -> Option<Kill> {
    if !Path::new(DNSMASQ).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "dnsmasq is missing (.ci/setup installs dnsmasq-base)"
        );
        eprintln!("skipped: {DNSMASQ} is not installed");
        return None;
    }
    let child = ns
        .command(DNSMASQ)
        .args([
            "-k",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=192.0.2.1",
            "--bind-interfaces",
            "--port=53",
            "--address=/up.example/192.0.2.99",
            "--local=/example/",
            "--pid-file=",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dnsmasq");
    let guard = Kill(child);
    let listening = wait_until(10.0, || {
        let out = ns.exec(&["ss", "-Hlun", "sport", "=", ":53"]);
        String::from_utf8_lossy(&out.stdout).contains("192.0.2.1:53")
    });
    assert!(listening, "dnsmasq never listened on 192.0.2.1:53");
    Some(guard)
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

/// The check-once line of the checker probing `target`.
fn line<'a>(out: &'a str, target: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("DNS_CHECK {target} ")))
        .unwrap_or_else(|| panic!("no DNS_CHECK {target} line in:\n{out}"))
}

fn real_server(addr: &str, port: u16, body: &str) -> String {
    format!(
        "  real_server {addr} {port} {{\n    DNS_CHECK {{\n      connect_timeout 2\n{body}    }}\n  }}\n"
    )
}

#[test]
fn dns_check_against_dnsmasq_up_nxdomain_refused_timeout_unreachable() {
    let ns = Netns::new("s8chk-dns");
    ns.ip(&["addr", "add", "192.0.2.1/32", "dev", "lo"]);
    let Some(_dnsmasq) = start_dnsmasq(&ns) else {
        return;
    };
    // A UDP socket that reads and never answers: the timeout case.
    let silent = ns
        .run_in(|| UdpSocket::bind("192.0.2.1:5300").expect("bind the silent socket"))
        .join()
        .expect("bind in the namespace");
    let dir = Scratch::new("s8chk-dns");
    let mut conf = String::from("virtual_server 192.0.2.100 53 {\n  protocol UDP\n");
    conf += &real_server("192.0.2.1", 53, "      type A\n      name up.example\n");
    // Another name, another checker: NXDOMAIN.
    conf += "  real_server 192.0.2.2 53 {\n    DNS_CHECK {\n      connect_ip 192.0.2.1\n      connect_port 53\n      connect_timeout 3\n      type a\n      name nope.example.\n    }\n  }\n";
    conf += &real_server("192.0.2.1", 54, "      type A\n      name up.example\n");
    conf += &real_server("192.0.2.1", 5300, "");
    conf += &real_server("203.0.113.5", 53, "");
    conf += "}\n";
    let path = dir.file("dns.conf", &conf);

    let (code, out) = check_once(&ns, &path, &[]);
    assert_eq!(code, Some(1), "some checkers are down:\n{out}");
    assert!(line(&out, "192.0.2.1:53").contains(" UP "), "{out}");
    let nx = out
        .lines()
        .find(|l| l.contains("DNS_CHECK 192.0.2.1:53 ") && l.contains("DOWN"))
        .unwrap_or_else(|| panic!("no NXDOMAIN line in:\n{out}"));
    assert!(
        nx.contains("DOWN: read error occurred. (rcode = 3)"),
        "{nx}"
    );
    assert!(
        line(&out, "192.0.2.1:54")
            .contains("DOWN: failed to read socket; errno 111 (Connection refused)"),
        "{out}"
    );
    assert!(
        line(&out, "192.0.2.1:5300").contains("DOWN: read timeout from socket"),
        "{out}"
    );
    assert!(
        line(&out, "203.0.113.5:53").contains("DOWN: network unreachable for [203.0.113.5]:53"),
        "{out}"
    );
    assert!(out.contains("5 checkers, 1 up, 4 down"), "{out}");
    drop(silent);
}

/// The daemon's schedule: the answering server stays in the table, the
/// NXDOMAIN one goes down with keepalived's words.
#[test]
fn dns_check_schedule_takes_the_failing_server_down() {
    let ns = Netns::new("s8chk-dnsf");
    ns.ip(&["addr", "add", "192.0.2.1/32", "dev", "lo"]);
    let Some(_dnsmasq) = start_dnsmasq(&ns) else {
        return;
    };
    let dir = Scratch::new("s8chk-dnsf");
    let conf = "virtual_server 192.0.2.100 53 {\n  protocol UDP\n  delay_loop 1\n  real_server 192.0.2.1 53 {\n    DNS_CHECK {\n      type A\n      name up.example\n      retry 1\n    }\n  }\n  real_server 192.0.2.2 53 {\n    DNS_CHECK {\n      connect_ip 192.0.2.1\n      name gone.example\n      retry 1\n    }\n  }\n}\n";
    let path = dir.file("dnsf.conf", conf);
    let (code, out) = check_once(&ns, &path, &["--for", "4"]);
    assert_eq!(code, Some(0), "{out}");
    let down = out
        .lines()
        .find(|l| l.contains("DNS_CHECK 192.0.2.1:53") && l.contains(" DOWN"))
        .unwrap_or_else(|| panic!("no DOWN verdict in:\n{out}"));
    assert!(down.contains("read error occurred. (rcode = 3)"), "{down}");
    assert!(out.contains("RealServerDown"), "{out}");
}

fn load(text: &str) -> tandem::config::Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn dns_block(body: &str) -> String {
    format!(
        "virtual_server 192.0.2.1 53 {{\n  protocol UDP\n  delay_loop 20\n  real_server 192.0.2.10 53 {{\n    DNS_CHECK {{\n{body}    }}\n  }}\n}}\n"
    )
}

#[test]
fn dns_check_defaults_are_keepalived_s() {
    let l = load(&dns_block(""));
    let c = l.config.expect("loads");
    let ch = &c.virtual_servers[0].real_servers[0].checkers[0];
    let CheckerKind::DnsCheck(d) = &ch.kind else {
        panic!("{:?}", ch.kind)
    };
    // check_dns.c: type SOA, the root name, 3 retries, delay_before_retry
    // = delay_loop; connect_timeout 5 as for every checker.
    assert_eq!(d.qtype, DnsType::Soa);
    assert_eq!(d.name, "");
    assert_eq!(ch.retry, 3);
    assert_eq!(ch.delay_before_retry.as_secs(), 20);
    assert_eq!(ch.connect_timeout.as_secs(), 5);
    assert_eq!(ch.connect_port, 53);
    // The real server's own settings still win over the defaults.
    let l = load(&dns_block(
        "      retry 0\n      delay_before_retry 2\n      type mx\n      name example.org\n",
    ));
    let c = l.config.expect("loads");
    let ch = &c.virtual_servers[0].real_servers[0].checkers[0];
    assert_eq!((ch.retry, ch.delay_before_retry.as_secs()), (0, 2));
    assert!(
        matches!(&ch.kind, CheckerKind::DnsCheck(d) if d.qtype == DnsType::Mx && d.name == "example.org")
    );
}

#[test]
fn dns_check_errors_name_the_position() {
    let msgs = |body: &str| -> Vec<String> {
        load(&dns_block(body))
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect()
    };
    let m = msgs("      type PTR\n");
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:6:12: error: unknown DNS_CHECK type \"PTR\"")),
        "{m:?}"
    );
    let m = msgs("      name a..example\n");
    assert!(
        m.iter().any(|l| l
            .starts_with("t.conf:6:12: error: DNS_CHECK name \"a..example\" has an empty label")),
        "{m:?}"
    );
    let m = msgs("      name .example\n");
    assert!(m.iter().any(|l| l.contains("has an empty label")), "{m:?}");
    let m = msgs("      name a.example\n      name b.example\n");
    assert!(
        m.iter()
            .any(|l| l.starts_with("t.conf:7:7: error: DNS_CHECK name already specified")),
        "{m:?}"
    );
    // keepalived refuses these in DNS_CHECK too.
    let m = msgs("      nb_get_retry 2\n");
    assert!(
        m.iter().any(|l| l.starts_with("t.conf:6:7: error:")),
        "{m:?}"
    );
    let m = msgs("      virtualhost x\n");
    assert!(
        m.iter().any(|l| l.starts_with("t.conf:6:7: error:")),
        "{m:?}"
    );
    // A misspelling gets a suggestion.
    let m = msgs("      nmae x\n");
    assert!(m.iter().any(|l| l.contains("\"name\"")), "{m:?}");
    // The block is needed (keepalived has no defaults without one).
    let l = load(
        "virtual_server 192.0.2.1 53 {\n  protocol UDP\n  real_server 192.0.2.10 53 {\n    DNS_CHECK\n  }\n}\n",
    );
    assert!(l.has_errors(), "{:?}", l.diagnostics);
}
