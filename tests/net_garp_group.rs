//! `garp_group` and the global `vrrp_garp_interval` on the wire: two
//! instances whose VIPs share eth0 become master together, and a
//! neighbour's tcpdump sees every gratuitous ARP on eth0 at least the
//! interval after the one before it, whichever instance sent it (keepalived
//! 2.2.7's per-interface `garp_delay`). A control run without either sends
//! them back to back; Debian's keepalived on the same file is paced too.
//!
//! Needs root (namespaces) and tcpdump; keepalived for the comparison.

mod netns;

use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const VIPS: [&str; 4] = ["192.0.2.211", "192.0.2.212", "192.0.2.213", "192.0.2.214"];

/// Two address-owner instances on eth0, two VIPs each, 3 gratuitous ARPs
/// per VIP on becoming master and no second round; `top` and `globals`
/// go before them.
fn conf(top: &str, globals: &str) -> String {
    let inst = |name: &str, vrid: u8, a: &str, b: &str| {
        format!(
            "vrrp_instance {name} {{\n  interface eth0\n  virtual_router_id {vrid}\n  priority 255\n  \
             advert_int 1\n  garp_master_repeat 3\n  garp_master_delay 0\n  virtual_ipaddress {{\n    \
             {a}/24\n    {b}/24\n  }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n{globals}}}\n{top}{}{}",
        inst("VI_A", 71, VIPS[0], VIPS[1]),
        inst("VI_B", 72, VIPS[2], VIPS[3])
    )
}

/// The times (seconds) of the gratuitous ARPs for our VIPs that `watcher`
/// sees while `run` runs, and tcpdump's text.
fn garp_times(watcher: &Netns, dir: &Scratch, run: impl FnOnce()) -> (Vec<f64>, String) {
    let cap = dir.0.join("arp.txt");
    let listening = dir.0.join("arp.err");
    let mut tcpdump = watcher
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "-tt", "arp"])
        .stdout(std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&listening).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    let ok = wait_until(5.0, || {
        std::fs::read_to_string(&listening)
            .unwrap_or_default()
            .contains("listening")
    });
    if ok {
        run();
    }
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    assert!(ok, "tcpdump did not start");
    let text = std::fs::read_to_string(&cap).unwrap_or_default();
    let times = text
        .lines()
        .filter(|l| {
            VIPS.iter()
                .any(|v| l.contains(&format!("who-has {v} ")) && l.contains(&format!("tell {v},")))
        })
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .collect();
    (times, text)
}

/// The smallest gap between consecutive times.
fn min_gap(times: &[f64]) -> f64 {
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min)
}

/// tandem as master of both instances for 4 s (3 × 4 announcements at
/// 0.2 s apart need 2.2 s).
fn tandem_run(lb1: &Netns, watcher: &Netns, dir: &Scratch, text: &str) -> (Vec<f64>, String) {
    let path = dir.file("keepalived.conf", text);
    garp_times(watcher, dir, || {
        let mut d = Daemon::start(lb1, &path, dir.0.join("t.log"));
        assert!(
            wait_until(5.0, || VIPS.iter().all(|v| lb1.has_addr("eth0", v))),
            "{}",
            d.log()
        );
        std::thread::sleep(Duration::from_secs(4));
        d.signal("-TERM");
        assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    })
}

const GROUP: &str = "garp_group {\n  garp_interval 0.2\n  interfaces {\n    eth0\n  }\n}\n";

#[test]
fn a_garp_group_paces_every_instance_s_gratuitous_arps_on_its_interface() {
    let lan = netns::Lan::new("s12garp-g", 2);
    let (lb1, watcher) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("s12garp-group");

    // Control: no pacing, the 12 announcements go out back to back.
    let (times, cap) = tandem_run(lb1, watcher, &dir, &conf("", ""));
    assert_eq!(times.len(), 12, "without garp_group:\n{cap}");
    assert!(
        min_gap(&times) < 0.05,
        "without garp_group the ARPs are not paced:\n{cap}"
    );

    let text = conf(GROUP, "");
    let (times, cap) = tandem_run(lb1, watcher, &dir, &text);
    assert_eq!(times.len(), 12, "every announcement still goes out:\n{cap}");
    // 0.2 s less a little for the capture's timestamps.
    assert!(
        min_gap(&times) >= 0.19,
        "gap {} < 0.2 s:\n{cap}",
        min_gap(&times)
    );

    if !require_keepalived() {
        return;
    }
    let path = dir.file("keepalived.conf", &text);
    let (k_times, k_cap) = garp_times(watcher, &dir, || {
        let mut kd = Keepalived::start(lb1, &path, &dir.0);
        assert!(wait_until(10.0, || VIPS
            .iter()
            .all(|v| lb1.has_addr("eth0", v))));
        std::thread::sleep(Duration::from_secs(4));
        kd.stop();
    });
    // keepalived paces the same way; it keeps one pending announcement per
    // VIP, so it sends fewer than the repeat asks (docs/config.md).
    assert!(k_times.len() >= 4, "keepalived:\n{k_cap}");
    assert!(
        min_gap(&k_times) >= 0.19,
        "keepalived's gap {}:\n{k_cap}",
        min_gap(&k_times)
    );
    eprintln!(
        "gratuitous ARPs at 0.2 s: tandem {} (min gap {:.3} s), keepalived {} (min gap {:.3} s)",
        times.len(),
        min_gap(&times),
        k_times.len(),
        min_gap(&k_times)
    );
}

#[test]
fn the_global_vrrp_garp_interval_paces_per_interface_across_instances() {
    let lan = netns::Lan::new("s12garp-i", 2);
    let (lb1, watcher) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("s12garp-global");
    let (times, cap) = tandem_run(lb1, watcher, &dir, &conf("", "  vrrp_garp_interval 0.2\n"));
    assert_eq!(times.len(), 12, "{cap}");
    assert!(
        min_gap(&times) >= 0.19,
        "gap {} < 0.2 s:\n{cap}",
        min_gap(&times)
    );
}
