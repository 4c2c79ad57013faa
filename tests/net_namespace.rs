//! keepalived's top-level `net_namespace NAME`: started in one namespace,
//! the daemon runs in the named one (its interfaces, its VIPs), as
//! keepalived does; a namespace that does not exist stops it at start with
//! a message that says how to make it; a reload may not move it. With
//! `instance NAME` the default control socket and dump file carry both names.

mod netns;

use std::fs;
use std::process::Command;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

const VIP: &str = "192.0.2.100";

fn conf(ns: &str, priority: u8) -> String {
    format!(
        "net_namespace {ns}\n\
         vrrp_instance VI_1 {{\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  \
         priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

#[test]
fn the_daemon_runs_in_the_named_namespace_and_keeps_it_on_reload() {
    let a = Netns::new("nsa");
    let b = Netns::with_eth0("nsb", "192.0.2.1/24");
    let dir = Scratch::new("netns");
    let path = dir.file("tandem.conf", &conf(&b.name, 255));
    let mut d = Daemon::start(&a, &path, dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || b.has_addr("eth0", VIP)),
        "the VIP never appeared in {}:\n{}",
        b.name,
        d.log()
    );
    // The namespace it was started in has no eth0 at all: everything
    // happened in the named one.
    let links = a.ip(&["-o", "link", "show"]);
    assert!(!String::from_utf8_lossy(&links.stdout).contains("eth0"));
    assert!(
        d.log()
            .contains(&format!("running in network namespace {}", b.name))
    );

    // A reload that names another namespace is refused; the daemon stays.
    fs::write(&path, conf("elsewhere", 255)).unwrap();
    let before = d.log().len();
    d.signal("-HUP");
    assert!(
        wait_until(10.0, || d.log()[before..].contains("needs a restart")),
        "the reload was not refused:\n{}",
        d.log()
    );
    assert!(b.has_addr("eth0", VIP));
    assert_eq!(d.status()["vrrp_instances"][0]["state"], "MASTER");

    d.signal("-TERM");
    assert_eq!(d.wait(10.0), Some(0), "{}", d.log());
    assert!(!b.has_addr("eth0", VIP), "the VIP stayed after exit");
}

#[test]
fn a_missing_namespace_stops_the_start_with_the_way_to_make_it() {
    let a = Netns::new("nsm");
    let dir = Scratch::new("netns-missing");
    let missing = format!("tdm-absent-{}", std::process::id());
    let path = dir.file("tandem.conf", &conf(&missing, 255));
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &a.name,
            env!("CARGO_BIN_EXE_tandem"),
            "run",
            "-f",
        ])
        .arg(&path)
        .arg("--control-socket")
        .arg(dir.0.join("x.sock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("/run/netns/{missing}")) && err.contains("ip netns add"),
        "{err}"
    );
}

/// keepalived's top-level `instance NAME`: with `net_namespace`, it names
/// this daemon's default control socket and dump file
/// (`/run/tandem/tandem-NS_NAME.sock`, `.data`), so that several daemons
/// on one host keep apart; a reload may not change it.
#[test]
fn instance_names_the_default_control_socket_and_dump_file() {
    let a = Netns::new("nsi");
    let b = Netns::with_eth0("nsj", "192.0.2.1/24");
    let dir = Scratch::new("netns-instance");
    let name = format!("web{}", std::process::id());
    let text = format!("instance {name}\n{}", conf(&b.name, 255));
    let path = dir.file("tandem.conf", &text);
    let sock = format!("/run/tandem/tandem-{}_{name}.sock", b.name);
    let data = format!("/run/tandem/tandem-{}_{name}.data", b.name);
    let log = dir.0.join("d.log");
    let err = fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
    let mut child = a
        .command(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "-f"])
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start tandem: {e}"));
    let read_log = || fs::read_to_string(&log).unwrap_or_default();
    let up = wait_until(10.0, || b.has_addr("eth0", VIP));
    let status = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["status", "--json", "--socket", &sock])
        .output();
    let dumped = {
        // SIGUSR1 writes the dump to the default file, renamed too.
        let _ = Command::new("kill")
            .args(["-USR1", &child.id().to_string()])
            .status();
        wait_until(5.0, || std::path::Path::new(&data).exists())
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exited = child.wait().map(|s| s.code());
    let _ = fs::remove_file(&data);
    let _ = fs::remove_file(format!("{data}.json"));
    assert!(up, "the VIP never appeared:\n{}", read_log());
    let status = status.unwrap_or_else(|e| panic!("tandem status: {e}"));
    assert!(
        status.status.success(),
        "no daemon on {sock}: {}\n{}",
        String::from_utf8_lossy(&status.stderr),
        read_log()
    );
    assert!(String::from_utf8_lossy(&status.stdout).contains("MASTER"));
    assert!(dumped, "no dump at {data}:\n{}", read_log());
    assert_eq!(exited.ok().flatten(), Some(0), "{}", read_log());
    assert!(!std::path::Path::new(&sock).exists(), "{sock} left behind");
}
