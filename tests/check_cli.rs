//! `tandem check-once` as an operator runs it: a keepalived.conf whose real
//! servers are a real HTTP server (python3's http.server) and a closed port
//! on loopback.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

struct Guard {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn check_once_reports_up_and_down_with_reasons() {
    let dir = std::env::temp_dir().join(format!("tandem-check-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), b"hello\n").unwrap();
    let up = free_port();
    let down = free_port();
    let child = Command::new("/usr/bin/python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &up.to_string()])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = Guard { child, dir };
    // Wait until python listens.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", up)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let conf = guard.dir.join("keepalived.conf");
    let mut f = std::fs::File::create(&conf).unwrap();
    write!(
        f,
        r#"
virtual_server 192.0.2.2 80 {{
    lvs_sched rr
    delay_loop 1
    real_server 127.0.0.1 {up} {{
        HTTP_GET {{
            url {{
                path /index.html
                digest b1946ac92492d2347c6235b4d2611184
            }}
            connect_timeout 3
        }}
    }}
    real_server 127.0.0.1 {down} {{
        TCP_CHECK {{
            connect_timeout 3
        }}
    }}
}}
"#
    )
    .unwrap();
    drop(f);
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-once", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one checker down: {stdout}");
    let http_line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("HTTP_GET 127.0.0.1:{up}")))
        .unwrap_or_else(|| panic!("no HTTP_GET line in {stdout}"));
    assert!(http_line.contains(" UP "), "{http_line}");
    assert!(
        http_line.contains("192.0.2.2:80 -> 127.0.0.1:"),
        "{http_line}"
    );
    let tcp_line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("TCP_CHECK 127.0.0.1:{down}")))
        .unwrap_or_else(|| panic!("no TCP_CHECK line in {stdout}"));
    assert!(tcp_line.contains("DOWN: connect to"), "{tcp_line}");
    assert!(stdout.contains("2 checkers, 1 up, 1 down"), "{stdout}");

    // `--for`: the real schedule, the daemon's way (TCP_CHECK on the
    // checks' own event loop, the digest check on tokio): the closed port
    // goes down after its retry, the table keeps only the server that
    // answers, and every checker probed more than once.
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-once", "--for", "4", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let down_line = stdout
        .lines()
        .find(|l| {
            l.contains(&format!("TCP_CHECK 127.0.0.1:{down}")) && l.contains(" DOWN: connect to")
        })
        .unwrap_or_else(|| panic!("no DOWN verdict for the closed port in {stdout}"));
    assert!(!down_line.contains(&format!(":{up}")), "{down_line}");
    assert!(stdout.contains("RealServerDown"), "{stdout}");
    assert!(stdout.contains(&format!("127.0.0.1:{up}")), "{stdout}");
    let probes: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("probes "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no probe count in {stdout}"));
    assert!(probes >= 5, "{probes} probes in 4 s: {stdout}");
}

#[test]
fn check_once_refuses_a_bad_configuration_with_its_position() {
    let dir = std::env::temp_dir().join(format!("tandem-check-cli-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.2 80 {\n    real_server 198.51.100.10 80 {\n        HTTP_GTE {\n        }\n    }\n}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-once", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bad.conf:3:"), "{stderr}");
}
