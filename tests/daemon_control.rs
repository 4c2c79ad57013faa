//! The daemon's operator interfaces on a real two-node election in
//! namespaces: `tandem status` (table and `--json`) over the control
//! socket, the SIGUSR1 dump, `tandem reload` / SIGHUP (an unchanged file
//! disturbs nothing, a bad file is refused with positions and the old
//! configuration runs on), and e-mail alerts from a real failover reaching
//! Debian's aiosmtpd.
//!
//! Namespaces are `tdm-<test>-<pid>-<n>`, removed on drop; the control
//! sockets live in a scratch directory of the test. Needs root.

mod netns;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::{Lan, Netns, wait_until};

const VIP: &str = "203.0.113.10";
const VIP2: &str = "203.0.113.20";

fn conf(router_id: &str, priority: u8, extra_global: &str, smtp_alert: bool) -> String {
    format!(
        r#"global_defs {{
    router_id {router_id}
{extra_global}}}

vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    smtp_alert {alert}
    virtual_ipaddress {{
        {VIP}/24 dev eth0
    }}
}}
"#,
        alert = if smtp_alert { "yes" } else { "no" }
    )
}

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tandem: {e}"))
}

fn status_json(sock: &Path) -> serde_json::Value {
    let out = tandem(&["status", "--json", "--socket", sock.to_str().unwrap_or("")]);
    assert!(
        out.status.success(),
        "tandem status --json failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn instance_state(sock: &Path) -> Option<String> {
    let out = tandem(&["status", "--json", "--socket", sock.to_str().unwrap_or("")]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["vrrp_instances"][0]["state"].as_str().map(String::from)
}

fn transitions(log: &str) -> usize {
    log.matches("Entering ").count()
}

/// `ip monitor address` in a namespace, collecting every address event.
struct Monitor(Child, std::path::PathBuf);

impl Monitor {
    fn start(ns: &Netns, out: std::path::PathBuf) -> Monitor {
        let f = fs::File::create(&out).unwrap_or_else(|e| panic!("{e}"));
        let child = ns
            .command("ip")
            .args(["monitor", "address"])
            .stdout(f)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("ip monitor: {e}"));
        // Let it subscribe before anything happens.
        std::thread::sleep(Duration::from_millis(300));
        Monitor(child, out)
    }
    fn events(&self) -> String {
        fs::read_to_string(&self.1).unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn status_dump_and_reload_on_a_running_pair() {
    let lan = Lan::new("dctl", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("dctl");
    let c1 = dir.file("lb1.conf", &conf("lb1", 150, "", false));
    let c2 = dir.file("lb2.conf", &conf("lb2", 100, "", false));
    let mut d1 = Daemon::start(lb1, &c1, dir.0.join("lb1.log"));
    d1.wait_started();
    let mut d2 = Daemon::start(lb2, &c2, dir.0.join("lb2.log"));
    let (s1, s2) = (dir.0.join("lb1.sock"), dir.0.join("lb2.sock"));

    assert!(
        wait_until(10.0, || lb1.has_addr("eth0", VIP)
            && instance_state(&s1).as_deref() == Some("MASTER")
            && instance_state(&s2).as_deref() == Some("BACKUP")),
        "no stable election seen through the control sockets\nlb1: {}\nlb2: {}",
        d1.log(),
        d2.log()
    );

    // The socket is root-only.
    let mode = fs::metadata(&s1).map(|m| {
        use std::os::unix::fs::PermissionsExt;
        m.permissions().mode() & 0o777
    });
    assert_eq!(mode.ok(), Some(0o600));

    // JSON: state, priorities, the master's address as the backup sees it.
    let j1 = status_json(&s1);
    assert_eq!(j1["router_id"], "lb1");
    let i1 = &j1["vrrp_instances"][0];
    assert_eq!(i1["name"], "VI_1");
    assert_eq!(i1["state"], "MASTER");
    assert_eq!(i1["effective_priority"], 150);
    assert_eq!(i1["virtual_router_id"], 51);
    assert_eq!(i1["last_transition"]["to"], "MASTER");
    assert!(i1["counters"]["adverts_sent"].as_u64().unwrap_or(0) > 0);
    assert_eq!(i1["counters"]["became_master"], 1);
    assert!(
        j1["config"]["file"]
            .as_str()
            .unwrap_or("")
            .ends_with("lb1.conf")
    );
    let i2 = &status_json(&s2)["vrrp_instances"][0];
    assert_eq!(i2["state"], "BACKUP");
    assert_eq!(i2["master_address"], "192.0.2.1");
    assert_eq!(i2["master_priority"], 150);
    assert!(i2["counters"]["adverts_received"].as_u64().unwrap_or(0) > 0);

    // Prometheus text on the control socket too.
    let out = Command::new("curl")
        .args([
            "-s",
            "--unix-socket",
            s1.to_str().unwrap_or(""),
            "http://tandem/metrics",
        ])
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    let metrics = String::from_utf8_lossy(&out.stdout);
    assert!(
        metrics.contains("tandem_vrrp_state{instance=\"VI_1\",state=\"MASTER\"} 1"),
        "{metrics}"
    );

    // The table for people.
    let out = tandem(&["status", "--socket", s1.to_str().unwrap_or("")]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        table.contains("VI_1") && table.contains("MASTER"),
        "{table}"
    );

    // SIGUSR1: the counters in the log (as before) and the dump file.
    d1.signal("-USR1");
    let dump = dir.0.join("lb1.data");
    assert!(
        wait_until(5.0, || fs::read_to_string(&dump).is_ok_and(|d| d
            .contains(" VRRP Instance = VI_1")
            && d.contains("   State = MASTER"))),
        "no SIGUSR1 dump\n{}",
        d1.log()
    );
    assert!(wait_until(3.0, || d1
        .log()
        .contains("VRRP_Instance(VI_1) stats")));

    // Reload with an unrelated change (a comment): applied, no transition,
    // no address event on the master.
    let before = transitions(&d1.log());
    let mon = Monitor::start(lb1, dir.0.join("mon1"));
    fs::write(&c1, format!("# reviewed\n{}", conf("lb1", 150, "", false)))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", s1.to_str().unwrap_or("")]);
    assert!(
        out.status.success(),
        "reload refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no change"));
    // Several advert intervals for anything to go wrong.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(transitions(&d1.log()), before, "{}", d1.log());
    assert!(lb1.has_addr("eth0", VIP));
    let events = mon.events();
    assert!(!events.contains(VIP), "VIP flapped during reload: {events}");
    assert_eq!(status_json(&s1)["config"]["reloads"], 1);

    // A bad file: refused with its position, in the reply and in the log;
    // the old configuration runs on.
    fs::write(
        &c1,
        conf("lb1", 150, "", false).replace("priority 150", "priorty 150"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", s1.to_str().unwrap_or("")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(err.contains("lb1.conf:9:5"), "no position in: {err}");
    assert!(d1.log().contains("reload refused"), "{}", d1.log());
    let j1 = status_json(&s1);
    assert_eq!(j1["config"]["reload_failures"], 1);
    assert!(
        j1["config"]["last_reload_errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("lb1.conf:9:5")
    );
    // SIGHUP takes the same path.
    d1.signal("-HUP");
    assert!(wait_until(
        5.0,
        || status_json(&s1)["config"]["reload_failures"] == 2
    ));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(transitions(&d1.log()), before, "{}", d1.log());
    assert!(lb1.has_addr("eth0", VIP));
    assert_eq!(instance_state(&s1).as_deref(), Some("MASTER"));
    assert!(!mon.events().contains(VIP));
    drop(mon);

    // An added, unrelated instance (another VRID and VIP) starts; VI_1 is
    // not disturbed: no transition, no address event for its VIP.
    let vi1 = |d: &Daemon| d.log().matches("VRRP_Instance(VI_1) Entering").count();
    let vi1_before = vi1(&d1);
    let mon = Monitor::start(lb1, dir.0.join("mon2"));
    let vi2 = |prio: u8| {
        format!(
            "vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 52\n priority {prio}\n advert_int 1\n virtual_ipaddress {{\n {VIP2}/24 dev eth0\n }}\n}}\n"
        )
    };
    fs::write(&c1, format!("{}{}", conf("lb1", 150, "", false), vi2(100)))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", s1.to_str().unwrap_or("")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("vrrp_instance VI_2: added"), "{text}");
    assert!(
        wait_until(8.0, || lb1.has_addr("eth0", VIP2)),
        "VI_2 never became master\n{}",
        d1.log()
    );
    let names: Vec<String> = status_json(&s1)["vrrp_instances"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["VI_1", "VI_2"]);

    // A priority change of VI_2 updates VI_2 in place, VI_1 untouched.
    let vi2_before = d1.log().matches("VRRP_Instance(VI_2) Entering").count();
    fs::write(&c1, format!("{}{}", conf("lb1", 150, "", false), vi2(110)))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", s1.to_str().unwrap_or("")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("vrrp_instance VI_2: changed"), "{text}");
    assert!(text.contains("VI_2: updated in place"), "{text}");
    assert!(!text.contains("VI_1"), "{text}");
    let j = status_json(&s1);
    assert_eq!(j["vrrp_instances"][1]["effective_priority"], 110);
    assert_eq!(j["vrrp_instances"][1]["state"], "MASTER");
    assert_eq!(
        d1.log().matches("VRRP_Instance(VI_2) Entering").count(),
        vi2_before,
        "{}",
        d1.log()
    );

    // Removing VI_2 releases its VIP; VI_1 untouched throughout.
    fs::write(&c1, conf("lb1", 150, "", false)).unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", s1.to_str().unwrap_or("")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("vrrp_instance VI_2: removed"));
    assert!(
        wait_until(8.0, || !lb1.has_addr("eth0", VIP2)),
        "{}",
        d1.log()
    );
    assert_eq!(
        status_json(&s1)["vrrp_instances"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(vi1(&d1), vi1_before, "{}", d1.log());
    assert!(lb1.has_addr("eth0", VIP));
    let events = mon.events();
    assert!(
        !events.contains(&format!("{VIP}/")),
        "VI_1's VIP flapped: {events}"
    );
    assert!(events.contains(VIP2), "ip monitor saw nothing: {events}");
    drop(mon);

    // A priority change of the master that keeps it highest: applied in
    // place, as keepalived does (its state stays): no transition on either
    // node, no address event, and the backup hears the new priority from
    // the advert sent with the reload (before the next periodic one).
    let t1 = transitions(&d1.log());
    let t2 = transitions(&d2.log());
    let mon = Monitor::start(lb1, dir.0.join("mon3"));
    fs::write(&c1, conf("lb1", 120, "", false)).unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", s1.to_str().unwrap_or("")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("VI_1: updated in place"), "{text}");
    let i = &status_json(&s1)["vrrp_instances"][0];
    assert_eq!(i["effective_priority"], 120);
    assert_eq!(i["state"], "MASTER");
    assert!(
        wait_until(
            0.9,
            || status_json(&s2)["vrrp_instances"][0]["master_priority"] == 120
        ),
        "lb2 did not hear the new priority at once: {}",
        status_json(&s2)
    );
    // Several advert intervals for anything to go wrong.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(transitions(&d1.log()), t1, "{}", d1.log());
    assert_eq!(transitions(&d2.log()), t2, "{}", d2.log());
    assert!(lb1.has_addr("eth0", VIP));
    assert_eq!(instance_state(&s2).as_deref(), Some("BACKUP"));
    let events = mon.events();
    assert!(!events.contains(VIP), "VIP flapped during reload: {events}");
    drop(mon);
    assert_eq!(status_json(&s1)["config"]["reloads"], 5);

    // Another VIP for the running master: configured (and announced) in
    // place; the VIP that stays sees no address event; taking it away
    // again removes only it.
    const VIP3: &str = "203.0.113.30";
    let with_vip3 = conf("lb1", 120, "", false).replace(
        &format!("{VIP}/24 dev eth0"),
        &format!("{VIP}/24 dev eth0\n        {VIP3}/24 dev eth0"),
    );
    let mon = Monitor::start(lb1, dir.0.join("mon4"));
    for (text, has) in [(with_vip3, true), (conf("lb1", 120, "", false), false)] {
        fs::write(&c1, text).unwrap_or_else(|e| panic!("{e}"));
        let out = tandem(&["reload", "--socket", s1.to_str().unwrap_or("")]);
        let reply = String::from_utf8_lossy(&out.stdout);
        assert!(reply.contains("VI_1: updated in place"), "{reply}");
        assert!(
            wait_until(3.0, || lb1.has_addr("eth0", VIP3) == has),
            "{VIP3} present: {}, wanted {has}\n{}",
            lb1.has_addr("eth0", VIP3),
            d1.log()
        );
        assert!(lb1.has_addr("eth0", VIP));
    }
    assert_eq!(transitions(&d1.log()), t1, "{}", d1.log());
    let events = mon.events();
    assert!(events.contains(VIP3), "ip monitor saw nothing: {events}");
    assert!(
        !events.contains(&format!("{VIP}/")),
        "the kept VIP flapped: {events}"
    );
    drop(mon);

    // The backup raised above the master preempts, once: lb2 enters
    // MASTER, lb1 enters BACKUP, and nothing else moves.
    fs::write(&c2, conf("lb2", 200, "", false)).unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", s2.to_str().unwrap_or("")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("VI_1: updated in place"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        wait_until(10.0, || lb2.has_addr("eth0", VIP)
            && !lb1.has_addr("eth0", VIP)
            && instance_state(&s2).as_deref() == Some("MASTER")
            && instance_state(&s1).as_deref() == Some("BACKUP")),
        "lb2 did not preempt\nlb1: {}\nlb2: {}",
        d1.log(),
        d2.log()
    );
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(transitions(&d2.log()), t2 + 1, "{}", d2.log());
    assert_eq!(transitions(&d1.log()), t1 + 1, "{}", d1.log());
    let i2 = &status_json(&s2)["vrrp_instances"][0];
    assert_eq!(i2["effective_priority"], 200);
    assert_eq!(i2["counters"]["became_master"], 1);
    assert_eq!(
        status_json(&s1)["vrrp_instances"][0]["master_priority"],
        200
    );

    // Clean stop removes the socket.
    d1.signal("-TERM");
    assert_eq!(d1.wait(15.0), Some(0), "{}", d1.log());
    assert!(!s1.exists(), "control socket left behind");
    d2.signal("-TERM");
    assert_eq!(d2.wait(15.0), Some(0), "{}", d2.log());
}

/// aiosmtpd in `ns` on 127.0.0.1:`port`, storing mail as a Maildir in `dir`.
struct Smtpd(Child);

impl Smtpd {
    fn start(ns: &Netns, dir: &Path, port: u16) -> Smtpd {
        Smtpd::start_at(ns, dir, "127.0.0.1", port)
    }

    /// aiosmtpd listening on `host`:`port` (an address).
    fn start_at(ns: &Netns, dir: &Path, host: &str, port: u16) -> Smtpd {
        let child = ns
            .command("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("{host}:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start aiosmtpd: {e}"));
        let s = Smtpd(child);
        let up = wait_until(20.0, || {
            !ns.exec(&["ss", "-Hltn", &format!("sport = :{port}")])
                .stdout
                .is_empty()
        });
        assert!(up, "aiosmtpd did not come up");
        s
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn subjects(maildir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = fs::read_dir(maildir.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let text = fs::read_to_string(e.path()).unwrap_or_default();
            for line in text.lines() {
                if let Some(s) = line.strip_prefix("Subject: ") {
                    out.push(s.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn failover_mails_reach_a_real_smtp_server() {
    let lan = Lan::new("dmail", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("dmail");
    let maildir = dir.0.join("mail");
    let _smtpd = Smtpd::start(lb1, &maildir, 2525);
    let mail = "    notification_email {\n        ops@example.org\n    }\n    notification_email_from lb1@example.org\n    smtp_server 127.0.0.1 2525\n    smtp_connect_timeout 5\n";
    // lb1 (mails on) starts as backup of lb2 (no mail), then takes over
    // when lb2 dies.
    let c1 = dir.file("lb1.conf", &conf("lb1", 100, mail, true));
    let c2 = dir.file("lb2.conf", &conf("lb2", 150, "", false));
    let mut d2 = Daemon::start(lb2, &c2, dir.0.join("lb2.log"));
    d2.wait_started();
    assert!(
        wait_until(8.0, || lb2.has_addr("eth0", VIP)),
        "{}",
        d2.log()
    );
    let mut d1 = Daemon::start(lb1, &c1, dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(
        wait_until(15.0, || subjects(&maildir)
            .iter()
            .any(|s| s == "[lb1] VRRP Instance VI_1 - Entering BACKUP state")),
        "no BACKUP mail: {:?}\n{}",
        subjects(&maildir),
        d1.log()
    );
    // lb2 dies as a machine would.
    d2.signal("-KILL");
    let _ = d2.wait(5.0);
    assert!(
        wait_until(8.0, || lb1.has_addr("eth0", VIP)),
        "{}",
        d1.log()
    );
    assert!(
        wait_until(15.0, || subjects(&maildir)
            .iter()
            .any(|s| s == "[lb1] VRRP Instance VI_1 - Entering MASTER state")),
        "no MASTER mail: {:?}\n{}",
        subjects(&maildir),
        d1.log()
    );
    // The status counts what was sent.
    let sock = dir.0.join("lb1.sock");
    assert!(wait_until(5.0, || status_json(&sock)["mail"]["sent"]
        .as_u64()
        .unwrap_or(0)
        >= 2));
    assert_eq!(status_json(&sock)["mail"]["enabled"], true);
    d1.signal("-TERM");
    assert_eq!(d1.wait(15.0), Some(0), "{}", d1.log());
}

/// `smtp_server` given as a host name: resolved through the system
/// resolver when the daemon starts (here `localhost`, from /etc/hosts),
/// and again at each reload; the mails reach the server it names.
#[test]
fn smtp_server_by_host_name_is_resolved_at_start_and_at_reload() {
    use std::net::ToSocketAddrs;
    let lan = Lan::new("s7misc-mailname", 1);
    let lb1 = &lan.nodes[0];
    let dir = Scratch::new("s7misc-mailname");
    let maildir = dir.0.join("mail");
    // Where the resolver sends "localhost" on this machine: the server
    // listens there.
    let first = ("localhost", 2526)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .expect("localhost resolves");
    let _smtpd = Smtpd::start_at(lb1, &maildir, &first.ip().to_string(), 2526);
    let mail = "    notification_email {\n        ops@example.org\n    }\n    notification_email_from lb1@example.org\n    smtp_server localhost 2526\n    smtp_connect_timeout 5\n";
    let c1 = dir.file("lb1.conf", &conf("lb1", 100, mail, true));
    let (code, err) = {
        let o = tandem(&["check-config", "-f", c1.to_str().unwrap_or("")]);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{err}");
    let mut d1 = Daemon::start(lb1, &c1, dir.0.join("lb1.log"));
    d1.wait_started();
    let resolved = format!("smtp_server localhost resolved to {}", first.ip());
    assert!(d1.log().contains(&resolved), "{}", d1.log());
    assert!(
        wait_until(15.0, || subjects(&maildir)
            .iter()
            .any(|s| s == "[lb1] VRRP Instance VI_1 - Entering MASTER state")),
        "no MASTER mail: {:?}\n{}",
        subjects(&maildir),
        d1.log()
    );
    // A reload resolves the name again.
    d1.signal("-HUP");
    assert!(
        wait_until(10.0, || d1.log().matches(&resolved).count() >= 2),
        "{}",
        d1.log()
    );
    d1.signal("-TERM");
    assert_eq!(d1.wait(15.0), Some(0), "{}", d1.log());
}

/// A TCP listener in `ns` on 127.0.0.1:`port` that accepts connections
/// and never says a word: an SMTP relay that black-holes the session (the
/// worst case: no refusal to react to, only the timeouts).
struct BlackHole(Child);

impl BlackHole {
    fn start(ns: &Netns, port: u16) -> BlackHole {
        let script = format!(
            "import socket, time\n\
             s = socket.socket()\n\
             s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.bind(('127.0.0.1', {port}))\n\
             s.listen(64)\n\
             held = []\n\
             while True:\n    held.append(s.accept())\n"
        );
        let child = ns
            .command("/usr/bin/python3")
            .args(["-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start the black hole: {e}"));
        let hole = BlackHole(child);
        let up = wait_until(10.0, || {
            !ns.exec(&["ss", "-Hltn", &format!("sport = :{port}")])
                .stdout
                .is_empty()
        });
        assert!(up, "black-hole listener did not come up");
        hole
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Mail never delays VRRP: both nodes mail through a relay that accepts
/// the connection and never answers (each attempt hangs until its
/// timeout). The master dies; the backup takes over within its
/// Master_Down_Interval (3 x 1 s + Skew_Time 0.61 s at priority 100) plus
/// scheduling slack, while its alerts sit unsent in the queue, and its
/// adverts keep going out once a second.
#[test]
fn a_black_holed_smtp_server_never_delays_a_failover() {
    let lan = Lan::new("dhole", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("dhole");
    let _h1 = BlackHole::start(lb1, 2526);
    let _h2 = BlackHole::start(lb2, 2526);
    let mail = "    notification_email {\n        ops@example.org\n    }\n    notification_email_from lb@example.org\n    smtp_server 127.0.0.1 2526\n    smtp_connect_timeout 30\n";
    let c1 = dir.file("lb1.conf", &conf("lb1", 150, mail, true));
    let c2 = dir.file("lb2.conf", &conf("lb2", 100, mail, true));
    let d1 = Daemon::start(lb1, &c1, dir.0.join("lb1.log"));
    d1.wait_started();
    let mut d2 = Daemon::start(lb2, &c2, dir.0.join("lb2.log"));
    let (s1, s2) = (dir.0.join("lb1.sock"), dir.0.join("lb2.sock"));
    assert!(
        wait_until(10.0, || lb1.has_addr("eth0", VIP)
            && instance_state(&s1).as_deref() == Some("MASTER")
            && instance_state(&s2).as_deref() == Some("BACKUP")),
        "no stable election\nlb1: {}\nlb2: {}",
        d1.log(),
        d2.log()
    );
    // lb2's BACKUP alert is stuck in the relay.
    let m = &status_json(&s2)["mail"];
    assert_eq!(m["sent"], 0, "{m}");
    assert!(m["queued"].as_u64().unwrap_or(0) >= 1, "{m}");

    // The master dies as a machine would (no priority 0).
    let killed = std::time::Instant::now();
    d1.signal("-KILL");
    assert!(
        wait_until(10.0, || lb2.has_addr("eth0", VIP)),
        "lb2 never took over\n{}",
        d2.log()
    );
    let took = killed.elapsed();
    let master_down = Duration::from_millis(3000 + (256 - 100) * 1000 / 256);
    assert!(
        took < master_down + Duration::from_millis(1500),
        "takeover took {took:?} (Master_Down_Interval {master_down:?})\n{}",
        d2.log()
    );
    assert_eq!(instance_state(&s2).as_deref(), Some("MASTER"));
    // Adverts flow while the MASTER alert waits behind the BACKUP one.
    let sent = |j: &serde_json::Value| {
        j["vrrp_instances"][0]["counters"]["adverts_sent"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = sent(&status_json(&s2));
    std::thread::sleep(Duration::from_millis(3500));
    let j = status_json(&s2);
    assert!(
        sent(&j) >= before + 3,
        "adverts stalled: {} then {}",
        before,
        sent(&j)
    );
    assert_eq!(j["mail"]["sent"], 0, "{}", j["mail"]);
    assert!(
        j["mail"]["queued"].as_u64().unwrap_or(0) >= 2,
        "{}",
        j["mail"]
    );
    eprintln!("takeover {took:?} with a black-holed relay (Master_Down_Interval {master_down:?})");
    // A stop waits for the stuck alerts a bounded time only.
    let stopping = std::time::Instant::now();
    d2.signal("-TERM");
    assert_eq!(d2.wait(15.0), Some(0), "{}", d2.log());
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        stopping.elapsed()
    );
}

#[test]
fn systemd_notifications_ready_watchdog_reload_stopping() {
    use std::os::unix::net::UnixDatagram;
    let lan = Lan::new("dsdn", 1);
    let lb = &lan.nodes[0];
    let dir = Scratch::new("dsdn");
    let c = dir.file("lb.conf", &conf("lb", 100, "", false));
    let notify = dir.0.join("notify.sock");
    let sock = UnixDatagram::bind(&notify).unwrap_or_else(|e| panic!("{e}"));
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap_or_else(|e| panic!("{e}"));
    let log = dir.0.join("lb.log");
    let err = fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
    let mut child = lb
        .command(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "-f"])
        .arg(&c)
        .arg("--control-socket")
        .arg(dir.0.join("lb.sock"))
        .arg("--dump-file")
        .arg(dir.0.join("lb.data"))
        .env("NOTIFY_SOCKET", &notify)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = child.id().to_string();
    let mut seen = String::new();
    let read_for = |secs: f64, seen: &mut String| {
        let deadline = std::time::Instant::now() + Duration::from_secs_f64(secs);
        let mut buf = [0u8; 4096];
        while std::time::Instant::now() < deadline {
            if let Ok(n) = sock.recv(&mut buf) {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                seen.push('|');
            }
        }
    };
    read_for(3.0, &mut seen);
    assert!(seen.contains("READY=1"), "{seen}");
    assert!(seen.matches("WATCHDOG=1").count() >= 5, "{seen}");
    let _ = Command::new("kill").args(["-HUP", &pid]).status();
    seen.clear();
    read_for(1.5, &mut seen);
    let reloading = seen.find("RELOADING=1");
    let ready = seen.rfind("READY=1");
    assert!(
        reloading.is_some() && ready > reloading,
        "no RELOADING then READY around SIGHUP: {seen}"
    );
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    seen.clear();
    read_for(1.0, &mut seen);
    assert!(seen.contains("STOPPING=1"), "{seen}");
    let ok = wait_until(15.0, || matches!(child.try_wait(), Ok(Some(_))));
    if !ok {
        let _ = child.kill();
    }
    let _ = child.wait();
    assert!(ok, "{}", fs::read_to_string(&log).unwrap_or_default());
}

#[test]
fn virtual_servers_in_the_status() {
    // One balancer without vrrp_instance (it always programs; this kernel
    // may have no IPVS, which only the programmer minds): the status shows
    // the check verdicts, their reasons and the quorum.
    let lan = Lan::new("dlvs", 1);
    let lb = &lan.nodes[0];
    let dir = Scratch::new("dlvs");
    let www = dir.0.join("www");
    fs::create_dir_all(&www).unwrap_or_else(|e| panic!("{e}"));
    fs::write(www.join("index.html"), "ok\n").unwrap_or_else(|e| panic!("{e}"));
    let text = r#"global_defs {
    router_id lbv
}
virtual_server 192.0.2.2 80 {
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    sorry_server 192.0.2.1 8099
    real_server 192.0.2.1 8080 {
        weight 3
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 0
        }
    }
    real_server 192.0.2.1 8081 {
        weight 2
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
"#;
    let c = dir.file("lb.conf", text);
    let d = Daemon::start(lb, &c, dir.0.join("lb.log"));
    let sock = dir.0.join("lb.sock");
    let rs = |j: &serde_json::Value, i: usize| j["virtual_servers"][0]["real_servers"][i].clone();
    let poll = |f: &dyn Fn(&serde_json::Value) -> bool| {
        wait_until(20.0, || {
            let out = tandem(&["status", "--json", "--socket", sock.to_str().unwrap_or("")]);
            serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok_and(|j| f(&j))
        })
    };
    // Nothing answers yet: both down, quorum lost, with the reasons.
    let ok = poll(&|j| {
        rs(j, 0)["last_check"]["ok"] == false
            && rs(j, 1)["last_check"]["ok"] == false
            && j["virtual_servers"][0]["quorum_up"] == false
    });
    assert!(ok, "checks never failed\n{}", d.log());
    // Without its quorum, the virtual server serves from its sorry server.
    assert_eq!(
        status_json(&sock)["virtual_servers"][0]["sorry_active"],
        true
    );
    // The web server starts: its real server comes up, quorum returns.
    let mut web = lb
        .command("/usr/bin/python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "192.0.2.1",
            "8080",
            "--directory",
        ])
        .arg(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("http.server: {e}"));
    let ok = poll(&|j| rs(j, 0)["last_check"]["ok"] == true);
    assert!(ok, "HTTP check never passed\n{}", d.log());
    let j = status_json(&sock);
    let vs = &j["virtual_servers"][0];
    assert_eq!(vs["address"], "192.0.2.2:80");
    assert_eq!(vs["lvs_sched"], "rr");
    assert_eq!(vs["lvs_method"], "NAT");
    assert_eq!(vs["installed"], true);
    assert_eq!(vs["quorum_up"], true);
    assert_eq!(vs["sorry_active"], false);
    assert_eq!(vs["alive_weight"], 3);
    let up = rs(&j, 0);
    assert_eq!(up["alive"], true);
    assert_eq!(up["weight"], 3);
    assert_eq!(up["effective_weight"], 3);
    assert_eq!(up["last_check"]["checker"], "HTTP_GET");
    let down = rs(&j, 1);
    assert_eq!(down["alive"], false);
    assert_eq!(down["inhibited"], true);
    assert_eq!(down["effective_weight"], 0);
    assert_eq!(down["last_check"]["checker"], "TCP_CHECK");
    assert_eq!(down["last_check"]["ok"], false);
    assert!(
        !down["last_check"]["reason"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{down}"
    );
    let out = tandem(&["status", "--socket", sock.to_str().unwrap_or("")]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("192.0.2.1:8081") && table.contains("DOWN"),
        "{table}"
    );
    // (The namespace's removal would kill it too, also on failure.)
    let _ = web.kill();
    let _ = web.wait();
}

#[test]
fn a_master_without_ipvs_takes_its_vip_without_waiting_for_rules() {
    // The VIP gate (docs/checks.md): a new master governing a virtual server
    // waits for its IPVS rules before taking the VIP. This kernel has no
    // IPVS (or, where it has, the table is programmed): either way the VIP
    // must come, and never after the gate's time-out.
    let lan = Lan::new("dgate", 1);
    let lb = &lan.nodes[0];
    let dir = Scratch::new("dgate");
    let text = format!(
        r#"global_defs {{
    router_id lbg
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 150
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24 dev eth0
    }}
}}
virtual_server {VIP} 80 {{
    delay_loop 1
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 192.0.2.1 8080 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"#
    );
    let c = dir.file("lb.conf", &text);
    let d = Daemon::start(lb, &c, dir.0.join("lb.log"));
    assert!(
        wait_until(20.0, || lb.has_addr("eth0", VIP)),
        "the master never took its VIP\n{}",
        d.log()
    );
    let log = d.log();
    assert!(
        log.contains(&format!(
            "virtual_server {VIP}:80: programmed while MASTER of VI_1"
        )),
        "the governance line is missing\n{log}"
    );
    assert!(
        !log.contains("IPVS rules not confirmed"),
        "the VIP waited for a programmer that could not confirm\n{log}"
    );
}

/// A reload that moves an address from one running instance to another
/// (both masters, both updated in place) leaves it on the interface: the
/// instance that gains it adds it while the one that loses it still holds
/// it, and the loser's removal must not take it away from the gainer.
#[test]
fn a_vip_moved_between_instances_by_a_reload_stays() {
    const MOVED: &str = "203.0.113.30";
    let lan = Lan::new("dmove", 1);
    let lb = &lan.nodes[0];
    let dir = Scratch::new("dmove");
    let text = |vi1_extra: &str, vi2_extra: &str| {
        format!(
            "global_defs {{\n    router_id lbm\n}}\n\
             vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 71\n    priority 150\n    advert_int 1\n    \
             virtual_ipaddress {{\n        {VIP}/24 dev eth0\n{vi1_extra}    }}\n}}\n\
             vrrp_instance VI_2 {{\n    interface eth0\n    virtual_router_id 72\n    priority 150\n    advert_int 1\n    \
             virtual_ipaddress {{\n        {VIP2}/24 dev eth0\n{vi2_extra}    }}\n}}\n"
        )
    };
    let moved = format!("        {MOVED}/24 dev eth0\n");
    let c = dir.file("lb.conf", &text("", &moved));
    let d = Daemon::start(lb, &c, dir.0.join("lb.log"));
    let sock = dir.0.join("lb.sock");
    assert!(
        wait_until(20.0, || lb.has_addr("eth0", VIP)
            && lb.has_addr("eth0", VIP2)
            && lb.has_addr("eth0", MOVED)),
        "both instances never became master\n{}",
        d.log()
    );
    fs::write(&c, text(&moved, "")).unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", sock.to_str().unwrap_or("")]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("VI_1: updated in place"), "{said}");
    assert!(said.contains("VI_2: updated in place"), "{said}");
    // Give a late removal time to land, then look.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        lb.has_addr("eth0", MOVED),
        "the moved address is gone from its new master\n{}",
        d.log()
    );
    assert!(lb.has_addr("eth0", VIP) && lb.has_addr("eth0", VIP2));
}

/// An address owner (priority 255) keeps only the addresses its interface
/// had before tandem started. A reload that updates it in place reads the
/// kernel while it holds its VIPs; those must still go when it stops.
#[test]
fn an_owner_reloaded_in_place_still_releases_its_vips_on_stop() {
    let lan = Lan::new("downer", 1);
    let lb = &lan.nodes[0];
    let dir = Scratch::new("downer");
    let text = |advert_int: u8| {
        format!(
            "global_defs {{\n    router_id lbo\n}}\n\
             vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 73\n    priority 255\n    \
             advert_int {advert_int}\n    virtual_ipaddress {{\n        {VIP}/24 dev eth0\n    }}\n}}\n"
        )
    };
    let c = dir.file("lb.conf", &text(1));
    let mut d = Daemon::start(lb, &c, dir.0.join("lb.log"));
    let sock = dir.0.join("lb.sock");
    assert!(
        wait_until(10.0, || lb.has_addr("eth0", VIP)),
        "the owner never took its VIP\n{}",
        d.log()
    );
    fs::write(&c, text(2)).unwrap_or_else(|e| panic!("{e}"));
    let out = tandem(&["reload", "--socket", sock.to_str().unwrap_or("")]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("VI_1: updated in place"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Alone on the link, it serves its VIP until Master_Down_Interval +
    // advert_int after its priority-0 advert (about 9 s at advert_int 2).
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    assert!(
        !lb.has_addr("eth0", VIP),
        "the owner kept, after a reload, a VIP it had added itself\n{}",
        d.log()
    );
}

/// `--metrics-listen` (the unit's opt-in `TANDEM_OPTIONS`): a running
/// daemon serves Prometheus text on that TCP address, `/metrics` only
/// (never the JSON state, never reload).
#[test]
fn metrics_on_the_opt_in_listen_address() {
    let lan = Lan::new("dmetr", 1);
    let lb = &lan.nodes[0];
    let dir = Scratch::new("dmetr");
    let c = dir.file("lb.conf", &conf("lbm", 150, "", false));
    let d = Daemon::start_with(
        lb,
        &c,
        dir.0.join("lb.log"),
        &["--metrics-listen", "127.0.0.1:9650"],
    );
    assert!(
        wait_until(10.0, || lb.has_addr("eth0", VIP)),
        "never master\n{}",
        d.log()
    );
    let get = |path: &str| {
        let out = lb.exec(&[
            "curl",
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            &format!("http://127.0.0.1:9650{path}"),
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let metrics = get("/metrics");
    assert!(
        metrics.contains("tandem_vrrp_state{instance=\"VI_1\",state=\"MASTER\"} 1\n"),
        "{metrics}"
    );
    assert!(metrics.ends_with("\n200"), "{metrics}");
    // "/" names the one path served; the control socket's paths are not.
    assert!(get("/").contains("/metrics"));
    for other in ["/status", "/reload"] {
        let answer = get(other);
        assert!(answer.ends_with("\n404"), "{other}: {answer}");
    }
}

/// `global_defs { umask }`: set at start-up, so the files the daemon
/// creates (the SIGUSR1 dump, asked for 0644) and those its notify scripts
/// create (`touch`: 0666) lose the masked bits. The test runs under a
/// different mask (0022), so a daemon ignoring the keyword gives 0644.
#[test]
fn umask_applies_to_the_files_the_daemon_and_its_scripts_create() {
    use std::os::unix::fs::PermissionsExt;
    let lan = Lan::new("lgumask", 1);
    let lb1 = &lan.nodes[0];
    let dir = Scratch::new("lgumask");
    let touched = dir.0.join("touched-by-notify");
    let text = conf("lb1", 150, "    umask IWGRP | IROTH|IWOTH|IXOTH\n", false).replace(
        "    smtp_alert no\n",
        &format!(
            "    smtp_alert no\n    notify_master \"/usr/bin/touch {}\"\n",
            touched.display()
        ),
    );
    let c1 = dir.file("lb1.conf", &text);
    // The daemon inherits the test's mask: it must not already be 0027.
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    assert!(
        !status.contains("Umask:\t0027"),
        "run the test under another umask"
    );
    let d1 = Daemon::start(lb1, &c1, dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(
        wait_until(10.0, || touched.exists()),
        "no notify_master\n{}",
        d1.log()
    );
    d1.signal("-USR1");
    let dump = dir.0.join("lb1.data");
    assert!(
        wait_until(5.0, || fs::read_to_string(&dump)
            .is_ok_and(|d| d.contains("VI_1"))),
        "no SIGUSR1 dump\n{}",
        d1.log()
    );
    let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
    // umask 0027: rw-r----- for both.
    assert_eq!(mode(&dump), Some(0o640), "the dump file");
    assert_eq!(mode(&touched), Some(0o640), "the notify script's file");
    assert!(d1.log().contains("umask set to 0027"), "{}", d1.log());
}
