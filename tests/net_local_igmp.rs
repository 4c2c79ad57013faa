//! global_defs `disable_local_igmp` in a running daemon in a namespace of
//! its own: `net.ipv4.igmp_link_local_mcast_reports` (per namespace)
//! reads 0 while tandem runs and 1 again once it has stopped, as with
//! keepalived 2.2.7 and the same file; without the knob it stays 1. And
//! what that means on the wire: tcpdump on eth0 sees the IGMP report
//! for 224.0.0.18 (the VRRP socket's join) without the knob, none with it.

mod netns;

use std::process::{Child, Stdio};
use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const SYSCTL: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

fn conf(knob: bool) -> String {
    format!(
        "global_defs {{
{}}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 71
  priority 255
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/32
  }}
}}
",
        if knob { "  disable_local_igmp\n" } else { "" }
    )
}

fn reports(ns: &Netns) -> String {
    let out = ns.exec(&["cat", SYSCTL]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// tcpdump on `eth0` for IGMP, into `out`, listening when this returns.
fn capture(ns: &Netns, out: &std::path::Path) -> Child {
    let f = std::fs::File::create(out).unwrap_or_else(|e| panic!("{e}"));
    let err = f.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let c = ns
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "-p", "-v", "igmp"])
        .stdout(f)
        .stderr(err)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start tcpdump: {e}"));
    let listening = wait_until(10.0, || {
        std::fs::read_to_string(out).is_ok_and(|t| t.contains("listening on"))
    });
    assert!(listening, "tcpdump did not start");
    c
}

/// The IGMP reports tcpdump saw for VRRP's group (after a moment for the
/// last to be printed).
fn vrrp_reports(mut c: Child, out: &std::path::Path) -> usize {
    std::thread::sleep(Duration::from_millis(500));
    let _ = c.kill();
    let _ = c.wait();
    let text = std::fs::read_to_string(out).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains("igmp") && l.contains("224.0.0.18"))
        .count()
}

/// Runs until the owner's VIP is up, then reads the sysctl.
fn while_running(ns: &Netns, log: impl Fn() -> String) -> String {
    assert!(
        wait_until(15.0, || ns.has_addr("eth0", "192.0.2.100")),
        "not MASTER:\n{}",
        log()
    );
    reports(ns)
}

#[test]
fn reports_are_off_while_the_daemon_runs() {
    let dir = Scratch::new("s12igmp");
    for knob in [true, false] {
        let path = dir.file(&format!("k{knob}.conf"), &conf(knob));
        let t = Netns::with_eth0("s12igmp-t", "192.0.2.1/24");
        assert_eq!(reports(&t), "1", "a new namespace's default");
        let cap = dir.0.join(format!("igmp{knob}.txt"));
        let dump = capture(&t, &cap);
        let mut d = Daemon::start(&t, &path, dir.0.join(format!("t{knob}.log")));
        let want = if knob { "0" } else { "1" };
        assert_eq!(while_running(&t, || d.log()), want, "{}", d.log());
        let seen = vrrp_reports(dump, &cap);
        let text = std::fs::read_to_string(&cap).unwrap_or_default();
        if knob {
            assert_eq!(seen, 0, "{text}");
        } else {
            assert!(seen > 0, "{text}");
        }
        d.signal("-TERM");
        assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
        assert_eq!(reports(&t), "1", "{}", d.log());
        if knob {
            assert!(
                d.log()
                    .contains(&format!("disable_local_igmp: {SYSCTL} set back to 1")),
                "{}",
                d.log()
            );
        }
    }

    if require_keepalived() {
        let path = dir.file("k.conf", &conf(true));
        let k = Netns::with_eth0("s12igmp-k", "192.0.2.1/24");
        let kdir = Scratch::new("s12igmp-k");
        let cap = kdir.0.join("igmp.txt");
        let dump = capture(&k, &cap);
        let mut kd = Keepalived::start(&k, &path, &kdir.0);
        assert_eq!(while_running(&k, || kd.log()), "0", "{}", kd.log());
        assert_eq!(vrrp_reports(dump, &cap), 0);
        kd.stop();
        assert_eq!(reports(&k), "1", "{}", kd.log());
    }
}
