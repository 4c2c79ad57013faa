//! A url's `regex` (with `regex_no_match`, `regex_options`,
//! `regex_min_offset`, `regex_max_offset`, `regex_stack`) against real web
//! servers: python3's http.server (HTTP_GET) and python3's ssl module in
//! front of it (SSL_GET), inside a network namespace this test makes, read
//! by `tandem check-once` run inside it. Each virtual server holds one
//! real server with one url, so each line of check-once's report is one
//! case. Needs root (namespaces).

mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use netns::{Netns, wait_until};

/// Where "BUILD" starts in status.html: after a filler bigger than the
/// matcher's window, so the match is found only if the body is streamed
/// through it.
const AT: usize = 20_000;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn site() -> Dir {
    let dir = std::env::temp_dir().join(format!("tdm-s7misc-regex-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut status = "x".repeat(AT);
    status.push_str("BUILD: rpm-1.2.3 :: DATE: 01/02/2026 12:00:00.000 state: up up\n");
    std::fs::write(dir.join("status.html"), status).unwrap();
    // A subject that needs more than PCRE2's default JIT stack.
    let mut ab = "ab".repeat(5000);
    ab.push_str("c\n");
    std::fs::write(dir.join("ab.txt"), ab).unwrap();
    Dir(dir)
}

/// `(url body, expected verdict)` per case; virtual server i is case i.
fn cases(port_http: u16, port_tls: u16) -> Vec<(String, &'static str)> {
    let url = |path: &str, body: &str| format!("url {{\n path {path}\n {body}\n }}");
    let http = |u: String| format!("HTTP_GET {{\n connect_port {port_http}\n {u}\n }}");
    let tls = |u: String| format!("SSL_GET {{\n connect_port {port_tls}\n {u}\n }}");
    let build = r#"regex "BUILD: rpm-.{3,50} :: DATE: ../../.... .{12}""#;
    vec![
        (http(url("/status.html", build)), "UP"),
        (
            http(url("/status.html", "regex \"BUILD: deb-\"")),
            "DOWN: url /status.html: body does not match",
        ),
        (
            http(url("/status.html", &format!("{build}\n regex_no_match"))),
            "DOWN: url /status.html: body matches",
        ),
        (
            http(url(
                "/status.html",
                "regex \"BUILD: deb-\"\n regex_no_match",
            )),
            "UP",
        ),
        // Offsets: BUILD starts at AT.
        (
            http(url(
                "/status.html",
                &format!("regex BUILD\n regex_min_offset {AT}"),
            )),
            "UP",
        ),
        (
            http(url(
                "/status.html",
                &format!("regex BUILD\n regex_min_offset {}", AT + 1),
            )),
            "DOWN",
        ),
        (
            http(url(
                "/status.html",
                &format!("regex BUILD\n regex_max_offset {AT}"),
            )),
            "UP",
        ),
        (
            http(url(
                "/status.html",
                &format!("regex BUILD\n regex_max_offset {}", AT - 1),
            )),
            "DOWN",
        ),
        // PCRE syntax: a lookbehind and a backreference (keepalived's
        // escapes: "\\1" is the pattern's \1).
        (
            http(url("/status.html", r#"regex "(?<=state: )(up) \\1""#)),
            "UP",
        ),
        (
            http(url("/status.html", r#"regex "(?<=state: )(up) \\1x""#)),
            "DOWN",
        ),
        // regex_options.
        (http(url("/status.html", "regex \"build: RPM\"")), "DOWN"),
        (
            http(url(
                "/status.html",
                "regex \"build: RPM\"\n regex_options caseless",
            )),
            "UP",
        ),
        // regex_stack: PCRE2's default JIT stack is too small for this.
        (
            http(url("/ab.txt", "regex \"^(a|b)*c\"")),
            "DOWN: url /ab.txt: body does not match regex \"^(a|b)*c\" (a match attempt failed: JIT stack limit reached)",
        ),
        (
            http(url(
                "/ab.txt",
                "regex \"^(a|b)*c\"\n regex_stack 16384 10000000",
            )),
            "UP",
        ),
        // SSL_GET runs the same match.
        (tls(url("/status.html", build)), "UP"),
        (
            tls(url("/status.html", "regex \"BUILD: deb-\"")),
            "DOWN: url /status.html: body does not match",
        ),
    ]
}

fn config(cases: &[(String, &str)]) -> String {
    let mut s = String::new();
    for (i, (checker, _)) in cases.iter().enumerate() {
        s.push_str(&format!(
            "virtual_server 192.0.2.{} 80 {{\n protocol TCP\n real_server 127.0.0.1 80 {{\n {checker}\n }}\n}}\n",
            i + 1
        ));
    }
    s
}

/// python3 serving `dir` over TLS on `port` (certificate made here).
fn tls_server(ns: &Netns, dir: &Path, port: u16) -> std::process::Child {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = format!(
        "import http.server, ssl, functools\n\
         h = functools.partial(http.server.SimpleHTTPRequestHandler, directory={dir:?})\n\
         s = http.server.HTTPServer(('127.0.0.1', {port}), h)\n\
         c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
         c.load_cert_chain({cert:?}, {key:?})\n\
         s.socket = c.wrap_socket(s.socket, server_side=True)\n\
         s.serve_forever()\n",
        dir = dir.display().to_string(),
        cert = cert.display().to_string(),
        key = key.display().to_string(),
    );
    ns.command("python3")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn regex_verdicts_against_real_servers() {
    let ns = Netns::new("s7misc-regex");
    let dir = site();
    let (port_http, port_tls) = (8080, 8443);
    let mut http = ns
        .command("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
        .arg(&dir.0)
        .arg(port_http.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut tls = tls_server(&ns, &dir.0, port_tls);
    let listening = |port: u16| {
        let out = ns.exec(&["ss", "-Hltn", &format!("sport = :{port}")]);
        !out.stdout.is_empty()
    };
    assert!(wait_until(10.0, || listening(port_http) && listening(port_tls)));

    let cases = cases(port_http, port_tls);
    let conf = dir.0.join("keepalived.conf");
    std::fs::write(&conf, config(&cases)).unwrap();
    let out = ns
        .command(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-once", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let _ = http.kill();
    let _ = tls.kill();
    let _ = http.wait();
    let _ = tls.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (i, (checker, expected)) in cases.iter().enumerate() {
        let tag = format!("[192.0.2.{}:80 -> 127.0.0.1:", i + 1);
        let line = stdout
            .lines()
            .find(|l| l.contains(&tag))
            .unwrap_or_else(|| panic!("no line for case {i} in {stdout}{stderr}"));
        let verdict = line.split("]  ").nth(1).unwrap_or_default();
        assert!(
            verdict.starts_with(expected),
            "case {i} ({checker}): expected {expected:?}, got {line}"
        );
    }
}

#[test]
fn an_invalid_regex_is_refused_with_its_position() {
    let dir = std::env::temp_dir().join(format!("tdm-s7misc-regex-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 198.51.100.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    regex \"up (now\"\n   }\n  }\n }\n}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-config", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:7:11: error: invalid regex \"up (now\": missing closing parenthesis at offset 7",
            conf.display()
        )),
        "{stderr}"
    );
}
