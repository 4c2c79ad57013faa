//! `enable_dbus` against a real bus: a private `dbus-daemon` started with
//! Debian's system-bus configuration (its listen address and service
//! includes replaced by the test's socket and tandem's own policy file,
//! `packaging/dbus/tandem.conf`), tandem in a namespace as the service,
//! and `busctl` / `dbus-monitor` as the independent readers. What a
//! keepalived user's script sees: the instance's object path, its `Name`
//! and `State` (matching `tandem status --json`), the `VrrpStatusChange`
//! signals, `PrintData` / `PrintStats` files, `ReloadConfig` applying a new
//! priority, `SendGarp` putting an ARP on the wire, `VrrpStopped` at
//! SIGTERM; a user other than root may read but not reload. Then Debian's
//! keepalived serves the same file on the same bus, and its object tree and
//! `State` are compared with tandem's.

mod netns;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const INSTANCE_PATH: &str = "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4";
const VRRP_PATH: &str = "/org/keepalived/Vrrp1/Vrrp";

/// A child killed when the test ends, also on failure.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn conf(priority: u8) -> String {
    format!(
        "global_defs {{
  enable_dbus
}}
vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority {priority}
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/24
  }}
}}
"
    )
}

/// Debian's system bus configuration, listening on `socket` and with
/// tandem's policy as the only service policy.
fn bus_config(socket: &Path) -> String {
    let system = fs::read_to_string("/usr/share/dbus-1/system.conf")
        .unwrap_or_else(|e| panic!("dbus-daemon's system.conf: {e} (.ci/setup installs dbus)"));
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/dbus/tandem.conf");
    let mut out = String::new();
    for line in system.lines() {
        let t = line.trim();
        let dropped = [
            "<user>",
            "<fork/>",
            "<pidfile>",
            "<syslog/>",
            "<servicehelper>",
        ]
        .iter()
        .any(|p| t.starts_with(p))
            || t == "<standard_system_servicedirs/>"
            || (t.starts_with("<include") && !t.contains("dbus_contexts"));
        if t.starts_with("<listen>") {
            out.push_str(&format!(
                "  <listen>unix:path={}</listen>\n",
                socket.display()
            ));
        } else if t == "</busconfig>" {
            out.push_str(&format!(
                "  <policy user=\"root\"><allow own=\"org.example.Lb2\"/><allow send_destination=\"org.example.Lb2\"/></policy>\n  <include>{}</include>\n</busconfig>\n",
                policy.display()
            ));
        } else if !dropped {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn busctl(addr: &str, args: &[&str]) -> Output {
    Command::new("busctl")
        .arg(format!("--address={addr}"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("busctl: {e}"))
}

fn busctl_as_nobody(addr: &str, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "busctl"])
        .arg(format!("--address={addr}"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("setpriv busctl: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn property(addr: &str, name: &str) -> String {
    let o = busctl(
        addr,
        &[
            "get-property",
            "org.keepalived.Vrrp1",
            INSTANCE_PATH,
            "org.keepalived.Vrrp1.Instance",
            name,
        ],
    );
    text(&o).trim().to_string()
}

fn call(addr: &str, path: &str, iface: &str, method: &str) -> Output {
    busctl(addr, &["call", "org.keepalived.Vrrp1", path, iface, method])
}

/// The object paths under the service (`busctl tree`, one per line).
fn tree(addr: &str) -> Vec<String> {
    let o = busctl(addr, &["tree", "--list", "org.keepalived.Vrrp1"]);
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| l.starts_with('/'))
        .collect();
    v.sort();
    v
}

/// The signals `dbus-monitor` printed: (member, path, first argument).
fn signals(log: &Path) -> Vec<(String, String, String)> {
    let t = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = t.lines().collect();
    let field = |l: &str, k: &str| {
        l.split([' ', ';'])
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or_default()
            .to_string()
    };
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("signal ") && l.contains("path=/org/keepalived/") {
            let arg = lines
                .get(i + 1)
                .filter(|n| n.starts_with("   "))
                .map(|n| n.trim().to_string())
                .unwrap_or_default();
            out.push((field(l, "member="), field(l, "path="), arg));
        }
    }
    out
}

struct Bus {
    _daemon: Killed,
    addr: String,
}

fn start_bus(dir: &Path) -> Bus {
    let socket = dir.join("system_bus_socket");
    let cfg = dir.join("bus.conf");
    fs::write(&cfg, bus_config(&socket)).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", cfg.display()))
        .args(["--nofork", "--nopidfile"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("dbus-daemon: {e} (.ci/setup installs dbus)"));
    let daemon = Killed(child);
    assert!(
        wait_until(10.0, || socket.exists()),
        "dbus-daemon did not listen"
    );
    Bus {
        _daemon: daemon,
        addr: format!("unix:path={}", socket.display()),
    }
}

fn monitor(addr: &str, log: &Path) -> Killed {
    let out = fs::File::create(log).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new("dbus-monitor")
        .args(["--address", addr])
        .arg("type='signal',path_namespace='/org/keepalived/Vrrp1'")
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("dbus-monitor: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    Killed(child)
}

fn state(d: &Daemon) -> (Option<String>, Option<u64>) {
    let s = d.status();
    let i = &s["vrrp_instances"][0];
    (
        i["state"].as_str().map(str::to_owned),
        i["effective_priority"].as_u64(),
    )
}

/// An ARP on eth0 within 5 s of `act`, read by tcpdump in the namespace.
fn arp_after(ns: &Netns, act: impl FnOnce()) -> String {
    let cap = ns
        .command("timeout")
        .args(["5", "tcpdump", "-l", "-n", "-c", "1", "-i", "eth0", "arp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(700));
    act();
    let out = cap.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn bus_env(addr: &str) {
    // One test in this binary: no other thread reads the environment.
    unsafe { std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", addr) };
}

#[test]
fn keepalived_s_dbus_interface_served_read_only_except_for_root() {
    let dir = Scratch::new("s9dbus");
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let bus = start_bus(&dir.0);
    bus_env(&bus.addr);
    let sig_log = dir.0.join("signals.log");
    let _mon = monitor(&bus.addr, &sig_log);
    let ns = Netns::with_eth0("s9dbus", "192.0.2.1/24");
    let conf_path = dir.file("t.conf", &conf(150));
    let log = dir.0.join("d.log");
    let mut d = Daemon::start(&ns, &conf_path, log.clone());
    assert!(
        wait_until(15.0, || state(&d) == (Some("MASTER".into()), Some(150))),
        "{:?}\n{}",
        state(&d),
        d.log()
    );
    assert!(
        wait_until(5.0, || property(&bus.addr, "State") == "(us) 2 \"Master\""),
        "{}\n{}",
        property(&bus.addr, "State"),
        d.log()
    );
    assert_eq!(property(&bus.addr, "Name"), "s \"VI_1\"");
    let sigs = signals(&sig_log);
    let started = sigs
        .iter()
        .position(|s| s.0 == "VrrpStarted" && s.1 == VRRP_PATH);
    let master = sigs
        .iter()
        .position(|s| s.0 == "VrrpStatusChange" && s.1 == INSTANCE_PATH && s.2 == "uint32 2");
    assert!(
        matches!((started, master), (Some(a), Some(b)) if a < b),
        "{sigs:?}"
    );
    let tandem_tree = tree(&bus.addr);
    assert!(
        tandem_tree.contains(&INSTANCE_PATH.to_string()),
        "{tandem_tree:?}"
    );

    // Anyone may read; only root may act (the policy the .deb installs).
    assert_eq!(
        text(&busctl_as_nobody(
            &bus.addr,
            &[
                "get-property",
                "org.keepalived.Vrrp1",
                INSTANCE_PATH,
                "org.keepalived.Vrrp1.Instance",
                "State"
            ]
        ))
        .trim(),
        "(us) 2 \"Master\""
    );
    let denied = busctl_as_nobody(
        &bus.addr,
        &[
            "call",
            "org.keepalived.Vrrp1",
            VRRP_PATH,
            "org.keepalived.Vrrp1.Vrrp",
            "ReloadConfig",
        ],
    );
    assert!(!denied.status.success(), "{}", text(&denied));
    assert!(text(&denied).contains("Access denied"), "{}", text(&denied));

    // PrintData and PrintStats write keepalived-shaped files.
    let data = log.with_extension("data");
    let o = call(
        &bus.addr,
        VRRP_PATH,
        "org.keepalived.Vrrp1.Vrrp",
        "PrintData",
    );
    assert!(o.status.success(), "{}", text(&o));
    let dump = fs::read_to_string(&data).unwrap_or_default();
    assert!(dump.contains(" VRRP Instance = VI_1"), "{dump}");
    let o = call(
        &bus.addr,
        VRRP_PATH,
        "org.keepalived.Vrrp1.Vrrp",
        "PrintStats",
    );
    assert!(o.status.success(), "{}", text(&o));
    let stats = fs::read_to_string(log.with_extension("stats")).unwrap_or_default();
    assert!(stats.starts_with("VRRP Instance: VI_1\n"), "{stats}");
    assert!(stats.contains("  Became master: 1\n"), "{stats}");
    let o = call(
        &bus.addr,
        VRRP_PATH,
        "org.keepalived.Vrrp1.Vrrp",
        "PrintStatsClear",
    );
    assert!(
        text(&o).contains("never clears its counters"),
        "{}",
        text(&o)
    );

    // SendGarp: an ARP for the VIP on the wire.
    let arp = arp_after(&ns, || {
        let o = call(
            &bus.addr,
            INSTANCE_PATH,
            "org.keepalived.Vrrp1.Instance",
            "SendGarp",
        );
        assert!(o.status.success(), "{}", text(&o));
    });
    assert!(
        arp.contains("192.0.2.100"),
        "no ARP after SendGarp: {arp:?}\n{}",
        d.log()
    );

    // ReloadConfig: the new priority is in force, and VrrpReloaded says so.
    fs::write(&conf_path, conf(120)).unwrap_or_else(|e| panic!("{e}"));
    let o = call(
        &bus.addr,
        VRRP_PATH,
        "org.keepalived.Vrrp1.Vrrp",
        "ReloadConfig",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        wait_until(10.0, || state(&d) == (Some("MASTER".into()), Some(120))),
        "{:?}\n{}",
        state(&d),
        d.log()
    );
    assert!(
        wait_until(5.0, || signals(&sig_log)
            .iter()
            .any(|s| s.0 == "VrrpReloaded")),
        "{:?}",
        signals(&sig_log)
    );

    // SIGTERM: VrrpStopped, and the name is released.
    d.signal("-TERM");
    assert_eq!(d.wait(15.0), Some(0), "{}", d.log());
    assert!(
        wait_until(5.0, || signals(&sig_log)
            .iter()
            .any(|s| s.0 == "VrrpStopped")),
        "{:?}",
        signals(&sig_log)
    );
    assert!(tree(&bus.addr).is_empty(), "{:?}", tree(&bus.addr));

    // dbus_service_name: the same objects under another bus name (two
    // daemons on one bus; this bus lets root own that name), and nothing
    // under keepalived's.
    let named = conf(150).replacen(
        "  enable_dbus\n",
        "  enable_dbus\n  dbus_service_name org.example.Lb2\n",
        1,
    );
    let mut d2 = Daemon::start(&ns, &dir.file("named.conf", &named), dir.0.join("d2.log"));
    let named_state = || {
        let o = busctl(
            &bus.addr,
            &[
                "get-property",
                "org.example.Lb2",
                INSTANCE_PATH,
                "org.keepalived.Vrrp1.Instance",
                "State",
            ],
        );
        text(&o).trim().to_string()
    };
    let served = wait_until(15.0, || named_state() == "(us) 2 \"Master\"");
    let default_name_free = tree(&bus.addr).is_empty();
    let last_state = named_state();
    d2.signal("-TERM");
    assert_eq!(d2.wait(15.0), Some(0), "{}", d2.log());
    assert!(served, "{last_state}\n{}", d2.log());
    assert!(default_name_free, "org.keepalived.Vrrp1 served too");

    // keepalived on the same bus and file: the same objects, the same State.
    if !require_keepalived() {
        return;
    }
    let kdir = dir.0.join("k");
    fs::create_dir_all(&kdir).unwrap_or_else(|e| panic!("{e}"));
    let mut k = Keepalived::start(&ns, &conf_path, &kdir);
    let k_log = || fs::read_to_string(kdir.join("keepalived.log")).unwrap_or_default();
    let master = wait_until(20.0, || property(&bus.addr, "State") == "(us) 2 \"Master\"");
    let (k_state, k_name, k_tree) = (
        property(&bus.addr, "State"),
        property(&bus.addr, "Name"),
        tree(&bus.addr),
    );
    // Stopped before any assertion, so a failure leaves nothing running.
    k.stop();
    assert!(master, "{k_state}\n{}", k_log());
    // keepalived 2.2.7 wraps Name in a struct, against its own interface
    // XML (`s`); tandem sends the declared type.
    assert_eq!(k_name, "(s) \"VI_1\"");
    assert_eq!(k_tree, tandem_tree, "{}", k_log());
}

#[allow(dead_code)]
fn _unused(_: PathBuf) {}
