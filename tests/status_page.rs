//! The status listener (`tandem run --status-listen`) of a running daemon
//! in namespaces: off by default, loopback unless allowed, read-only;
//! `/status` is the JSON `tandem status --json` prints; `/` is a page that
//! Debian's Chromium (headless) renders with the instances' names and
//! states and that, left open, shows a real server going down within 2 s
//! of its check failing. A screenshot of it is read back with an
//! independent PNG reader (`tests/status_page/png_colours.py`).
//!
//! Namespaces are `tdm-s8sts-*`, removed on drop, with every process in
//! them. Needs root; the Chromium test fails without Chromium under
//! `CI=true` and is skipped (saying so) otherwise.

#[path = "status_page/cdp.rs"]
mod cdp;
mod netns;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netns::daemon::{Daemon, Scratch};
use netns::{Lan, Netns, wait_until};

const VIP: &str = "192.0.2.100";
/// The real servers' address, on the balancer's own eth0.
const RS_ADDR: &str = "192.0.2.21";

/// Two instances (VI_WEB becomes MASTER; VI_DB tracks an interface that
/// has no carrier and sits in FAULT) and a virtual server with two real
/// servers checked every second, down at the first failed connect.
fn conf() -> String {
    format!(
        "global_defs {{
  router_id lbweb
}}
vrrp_instance VI_WEB {{
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority 150
  advert_int 1
  virtual_ipaddress {{
    {VIP}/24 dev eth0
  }}
}}
vrrp_instance VI_DB {{
  state BACKUP
  interface eth0
  virtual_router_id 62
  priority 120
  advert_int 1
  track_interface {{
    eth1
  }}
  virtual_ipaddress {{
    192.0.2.101/24 dev eth0
  }}
}}
virtual_server {VIP} 80 {{
  delay_loop 1
  lb_algo rr
  protocol TCP
  real_server {RS_ADDR} 8081 {{
    weight 3
    TCP_CHECK {{
      connect_timeout 1
      retry 0
    }}
  }}
  real_server {RS_ADDR} 8082 {{
    weight 2
    TCP_CHECK {{
      connect_timeout 1
      retry 0
    }}
  }}
}}
"
    )
}

/// A balancer node of `lan`: the real servers' address on its eth0 and an
/// `eth1` without carrier (its veth peer is down) for VI_DB to track.
fn prepare_balancer(lb: &Netns) {
    lb.ip(&["addr", "add", &format!("{RS_ADDR}/24"), "dev", "eth0"]);
    lb.ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
    ]);
    lb.ip(&["link", "set", "eth1", "up"]);
}

/// A process in a namespace, killed when dropped.
struct Proc(Child);

impl Proc {
    fn spawn(ns: &Netns, args: &[&str], stderr: Stdio) -> Proc {
        let child = ns
            .command(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
        Proc(child)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real server: Python's HTTP server on `RS_ADDR:port`.
fn real_server(ns: &Netns, port: u16) -> Proc {
    Proc::spawn(
        ns,
        &[
            "python3",
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            RS_ADDR,
        ],
        Stdio::null(),
    )
}

/// `curl -s -i` in `ns` (headers and body), with extra arguments.
fn curl(ns: &Netns, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["curl", "-s", "-i", "--max-time", "5"];
    args.extend_from_slice(extra);
    args.push(url);
    ns.exec(&args)
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

/// The body of an HTTP answer printed by `curl -i`.
fn body(answer: &str) -> &str {
    answer.split_once("\n\n").map(|(_, b)| b).unwrap_or("")
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Each real server's health as `(address, alive)`, from the status JSON.
fn health(status: &serde_json::Value) -> Vec<(String, bool)> {
    status["virtual_servers"][0]["real_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["address"].as_str().unwrap_or("").to_string(),
                r["alive"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn both_up() -> Vec<(String, bool)> {
    vec![
        (format!("{RS_ADDR}:8081"), true),
        (format!("{RS_ADDR}:8082"), true),
    ]
}

/// Started, MASTER/FAULT as configured, both real servers up.
fn wait_settled(d: &Daemon) {
    assert!(
        wait_until(15.0, || {
            let s = d.status();
            s["vrrp_instances"][0]["name"] == "VI_DB"
                && s["vrrp_instances"][0]["state"] == "FAULT"
                && s["vrrp_instances"][1]["state"] == "MASTER"
                && health(&s) == both_up()
        }),
        "never settled: {}\n{}",
        d.status(),
        d.log()
    );
}

#[test]
fn status_json_is_tandem_status_json_and_slash_is_the_page() {
    let lan = Lan::new("s8sts-json", 1);
    let lb = &lan.nodes[0];
    prepare_balancer(lb);
    let _rs1 = real_server(lb, 8081);
    let _rs2 = real_server(lb, 8082);
    let dir = Scratch::new("s8sts-json");
    let d = Daemon::start_with(
        lb,
        &dir.file("lb.conf", &conf()),
        dir.0.join("lb.log"),
        &["--status-listen", "127.0.0.1:8650"],
    );
    wait_settled(&d);

    // The same snapshot: a check result published between the two reads
    // makes them differ, so read until two consecutive ones agree.
    let mut last = (serde_json::Value::Null, serde_json::Value::Null);
    let same = wait_until(10.0, || {
        let over_http = text(&curl(lb, "http://127.0.0.1:8650/status", &[]));
        let http: serde_json::Value = serde_json::from_str(body(&over_http)).unwrap_or_default();
        last = (http, d.status());
        last.0 == last.1 && !last.0.is_null()
    });
    assert!(
        same,
        "/status over HTTP differs from tandem status --json\nHTTP: {}\ncli:  {}",
        last.0, last.1
    );
    assert_eq!(last.0["router_id"], "lbweb");
    assert_eq!(last.0["vrrp_instances"][1]["name"], "VI_WEB");

    // `?pretty` is the same document, indented.
    let pretty = text(&curl(lb, "http://127.0.0.1:8650/status?pretty", &[]));
    assert!(
        body(&pretty).contains("\n  \"router_id\": \"lbweb\""),
        "{pretty}"
    );

    // The page: HTML, self-contained, fenced in by its headers.
    let page = text(&curl(lb, "http://127.0.0.1:8650/", &[]));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("content-type: text/html; charset=utf-8\n"),
        "{page}"
    );
    assert!(
        page.contains("content-security-policy: default-src 'none';"),
        "{page}"
    );
    assert!(body(&page).starts_with("<!DOCTYPE html>"), "{page}");
    assert!(body(&page).contains("fetch(\"status\""), "{page}");

    // Read-only: no reload, no write of any kind, no metrics or control
    // paths borrowed from the socket.
    for (method, path, code) in [
        ("POST", "/reload", "404"),
        ("GET", "/reload", "404"),
        ("POST", "/status", "405"),
        ("PUT", "/", "405"),
        ("DELETE", "/status", "405"),
        ("GET", "/metrics", "404"),
    ] {
        let out = text(&curl(
            lb,
            &format!("http://127.0.0.1:8650{path}"),
            &["-X", method],
        ));
        assert!(
            out.starts_with(&format!("HTTP/1.1 {code}")),
            "{method} {path}: {out}"
        );
    }
    // And the reload counter never moved.
    assert_eq!(d.status()["config"]["reloads"], 0);
}

#[test]
fn status_listener_is_off_by_default_and_loopback_unless_allowed() {
    let lan = Lan::new("s8sts-addr", 2);
    let (lb, client) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("s8sts-addr");
    let c = dir.file("lb.conf", &conf().replace("    eth1\n", "    eth0\n"));
    let tcp_listeners = || text(&lb.exec(&["ss", "-Htln"]));

    // Not loopback: refused before anything starts, saying why.
    for addr in ["192.0.2.1:8650", "0.0.0.0:8650", "[2001:db8::1]:8650"] {
        let out = lb.exec(&[
            env!("CARGO_BIN_EXE_tandem"),
            "run",
            "-f",
            c.to_str().unwrap_or(""),
            "--status-listen",
            addr,
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {err}");
        assert!(
            err.contains(&format!("--status-listen {addr}: not a loopback address"))
                && err.contains("no authentication")
                && err.contains("--status-listen-allow-remote"),
            "{addr}: {err}"
        );
        assert!(!lb.has_addr("eth0", VIP), "{addr}: it ran anyway");
    }

    // Off by default: a daemon without the flag listens on no TCP port.
    {
        let d = Daemon::start(lb, &c, dir.0.join("off.log"));
        assert!(
            wait_until(10.0, || lb.has_addr("eth0", VIP)),
            "never master\n{}",
            d.log()
        );
        assert_eq!(tcp_listeners(), "", "a TCP port without --status-listen");
    }

    // Loopback: the other node cannot reach it.
    {
        let d = Daemon::start_with(
            lb,
            &c,
            dir.0.join("lo.log"),
            &["--status-listen", "127.0.0.1:8650"],
        );
        assert!(
            wait_until(10.0, || text(&curl(
                lb,
                "http://127.0.0.1:8650/health",
                &[]
            ))
            .ends_with("\nok\n")),
            "no status listener\n{}",
            d.log()
        );
        assert!(tcp_listeners().contains("127.0.0.1:8650"));
        let out = curl(client, "http://192.0.2.1:8650/status", &[]);
        assert_eq!(out.status.code(), Some(7), "{}", text(&out)); // could not connect
    }

    // Allowed explicitly: served on that address, to the other node.
    let d = Daemon::start_with(
        lb,
        &c,
        dir.0.join("remote.log"),
        &[
            "--status-listen",
            "192.0.2.1:8650",
            "--status-listen-allow-remote",
        ],
    );
    assert!(
        wait_until(10.0, || {
            let a = text(&curl(client, "http://192.0.2.1:8650/status", &[]));
            body(&a).contains("\"router_id\":\"lbweb\"")
        }),
        "not reachable from the other node\n{}",
        d.log()
    );
}

/// Chromium, or `None` (skip) when it is missing outside CI.
fn chromium() -> Option<&'static str> {
    let path = "/usr/bin/chromium";
    if Path::new(path).exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "Debian's chromium is not installed (.ci/setup installs it)"
    );
    eprintln!("SKIPPED: Debian's chromium is not installed");
    None
}

/// Flags every headless run gets: no sandbox (we are root in a
/// namespace), a profile of its own in the scratch directory.
fn headless_args(browser: &str, profile: &Path) -> Vec<String> {
    [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// `chromium --screenshot` of the page after its script has run; what the
/// PNG reader says about it.
fn screenshot(lb: &Netns, browser: &str, dir: &Scratch, name: &str) -> String {
    let png = dir.0.join(name);
    let mut args = headless_args(browser, &dir.0.join("profile-shot"));
    args.extend([
        "--window-size=1280,900".to_string(),
        "--virtual-time-budget=3000".to_string(),
        format!("--screenshot={}", png.display()),
        "http://127.0.0.1:8650/".to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lb.exec(&args);
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reader = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/status_page/png_colours.py");
    let out = Command::new("/usr/bin/python3")
        .arg(reader)
        .arg(&png)
        // The page's MASTER/UP green, DOWN/FAULT red, header navy.
        .args(["15803d", "b91c1c", "1d2430"])
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_page_in_chromium_shows_the_state_and_a_real_server_going_down() {
    let Some(browser) = chromium() else { return };
    let lan = Lan::new("s8sts-page", 1);
    let lb = &lan.nodes[0];
    prepare_balancer(lb);
    let _rs1 = real_server(lb, 8081);
    let rs2 = real_server(lb, 8082);
    let dir = Scratch::new("s8sts-page");
    let d = Daemon::start_with(
        lb,
        &dir.file("lb.conf", &conf()),
        dir.0.join("lb.log"),
        &["--status-listen", "127.0.0.1:8650"],
    );
    wait_settled(&d);

    // A rendered page, not a blank: thousands of colours, the green of
    // MASTER/UP and the red of FAULT, at the window's size.
    let shot = screenshot(lb, browser, &dir, "page.png");
    assert!(shot.contains("size 1280x900\n"), "{shot}");
    let colours: usize = shot
        .lines()
        .find_map(|l| l.strip_prefix("colours "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(colours > 100, "a near-blank screenshot: {shot}");
    for c in ["15803d present", "b91c1c present", "1d2430 present"] {
        assert!(shot.contains(c), "{c}? {shot}");
    }

    // One page left open, read over the DevTools protocol.
    let mut args = headless_args(browser, &dir.0.join("profile-live"));
    args.extend([
        "--remote-debugging-port=9333".to_string(),
        "--window-size=1280,900".to_string(),
        "http://127.0.0.1:8650/".to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _chromium = Proc::spawn(
        lb,
        &args,
        Stdio::from(
            std::fs::File::create(dir.0.join("chromium.log")).unwrap_or_else(|e| panic!("{e}")),
        ),
    );
    let before = d.status();
    let watcher = lb.run_in(move || live_page(rs2, before));
    // Meanwhile, the daemon's own word on when the check failed: the first
    // status that has 8082 down carries that failed check (retry 0: one
    // failure is the verdict), whatever later checks do.
    let rs2_status = |s: &serde_json::Value| s["virtual_servers"][0]["real_servers"][1].clone();
    let mut failed_at = 0;
    let went_down = wait_until(20.0, || {
        let r = rs2_status(&d.status());
        if r["alive"] == false {
            failed_at = r["last_check"]["at_unix_ms"].as_u64().unwrap_or(0);
        }
        r["alive"] == false
    });
    let live = watcher
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert!(went_down && failed_at > 0, "{}\n{}", d.status(), d.log());
    assert!(
        live.shown_down_at_ms >= failed_at,
        "shown before it failed?"
    );
    let shown_after = live.shown_down_at_ms - failed_at;
    eprintln!(
        "the page showed {RS_ADDR}:8082 down {shown_after} ms after its failed check ({} polls)",
        live.polls
    );
    assert!(
        shown_after <= 2000,
        "the page showed the real server down {shown_after} ms after its check failed"
    );
    // The second DOM: the same document (the marker survived), refreshed
    // by itself, with the failure in the real server's row and the events.
    let dom = &live.dom_after;
    assert!(dom.contains("data-marker=\"same-document\""), "{dom}");
    assert!(
        dom.contains(&format!(
            "data-real-server=\"{RS_ADDR}:8082\" data-health=\"down\""
        )),
        "{dom}"
    );
    assert!(
        dom.contains(&format!(
            "data-real-server=\"{RS_ADDR}:8081\" data-health=\"up\""
        )),
        "{dom}"
    );
    assert!(dom.contains("TCP_CHECK failed"), "{dom}");
    assert!(dom.contains("Connection refused"), "{dom}");
}

/// What the open page showed.
struct Live {
    dom_after: String,
    shown_down_at_ms: u64,
    polls: u64,
}

/// Inside the namespace: find the page, dump its DOM (instances, states,
/// both real servers up), stop real server 8082, and watch the same page
/// until it shows 8082 down; then dump it again.
fn live_page(rs2: Proc, before: serde_json::Value) -> Live {
    let mut ws_url = None;
    let found = wait_until(15.0, || {
        ws_url = cdp::page_target("127.0.0.1:9333", "http://127.0.0.1:8650/");
        ws_url.is_some()
    });
    assert!(found, "no DevTools page target");
    let mut page = cdp::Page::connect(ws_url.as_deref().unwrap_or(""))
        .unwrap_or_else(|e| panic!("DevTools: {e}"));
    let dom = |page: &mut cdp::Page| {
        page.eval("document.documentElement.outerHTML")
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    };
    let mut first = String::new();
    let drawn = wait_until(10.0, || {
        first = dom(&mut page);
        first.contains(&format!(
            "data-real-server=\"{RS_ADDR}:8082\" data-health=\"up\""
        ))
    });
    assert!(drawn, "the page never drew the state: {first}");
    // The first DOM: each instance by name with its state, as the daemon
    // reports it.
    for i in before["vrrp_instances"].as_array().into_iter().flatten() {
        let row = format!(
            "<tr data-instance=\"{}\"><td><b>{}</b></td><td data-state=\"{}\">",
            i["name"].as_str().unwrap_or("?"),
            i["name"].as_str().unwrap_or("?"),
            i["state"].as_str().unwrap_or("?")
        );
        assert!(first.contains(&row), "{row} not in {first}");
    }
    assert!(first.contains(">FAULT</span>") && first.contains(">MASTER</span>"));
    let _ = page.eval("document.body.dataset.marker = 'same-document'");

    drop(rs2); // the real server stops: its next TCP_CHECK is refused
    let mut shown_down_at_ms = 0;
    let shown = wait_until(15.0, || {
        let h = page
            .eval(&format!(
                "document.querySelector('[data-real-server=\"{RS_ADDR}:8082\"]').dataset.health"
            ))
            .unwrap_or_default();
        shown_down_at_ms = unix_ms();
        h == "down"
    });
    assert!(shown, "the open page never showed the real server down");
    let polls = page
        .eval("Number(document.body.dataset.polls)")
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    std::thread::sleep(Duration::from_millis(50));
    Live {
        dom_after: dom(&mut page),
        shown_down_at_ms,
        polls,
    }
}
