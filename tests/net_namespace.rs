//! keepalived's top-level `net_namespace NAME`: started in one namespace,
//! the daemon runs in the named one (its interfaces, its VIPs), as
//! keepalived does; a namespace that does not exist stops it at start with
//! a message that says how to make it; a reload may not move it.

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
