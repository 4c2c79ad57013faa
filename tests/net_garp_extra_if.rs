//! `vrrp_garp_extra_if` / `garp_extra_if` (and their deprecated names
//! `vrrp_vmac_garp_intvl` / `vmac_garp_intvl`) on real interfaces: a
//! master with VIPs on eth0 (its interface) and on eth1 (`dev eth1`),
//! captured by tcpdump on a client on each link, tandem and keepalived
//! 2.2.7 in turn on the same file.
//!
//! With `all`, one gratuitous ARP for the first VIP on eth1 every interval
//! while master, none for the second VIP there nor for eth0's (whose MAC
//! the adverts keep fresh). Without `all`, nothing periodic: both send
//! only on VMACs of their own there, and there are none.

mod netns;

use std::path::Path;
use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Lan, Netns, wait_until};

/// tcpdump capturing ARP on `dev` with timestamps; waits until it listens.
fn capture(ns: &Netns, dev: &str, dir: &Scratch, tag: &str) -> std::process::Child {
    let cap = dir.0.join(format!("{tag}-{dev}.txt"));
    let listening = dir.0.join(format!("{tag}-{dev}.err"));
    let tcpdump = ns
        .command("tcpdump")
        .args(["-i", dev, "-n", "-l", "-tt", "arp"])
        .stdout(std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&listening).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    assert!(wait_until(5.0, || std::fs::read_to_string(&listening)
        .unwrap_or_default()
        .contains("listening")));
    tcpdump
}

/// Timestamps of the gratuitous ARPs for `vip` in capture `tag-dev`.
fn garps(dir: &Scratch, tag: &str, dev: &str, vip: &str) -> Vec<f64> {
    let cap: &Path = &dir.0.join(format!("{tag}-{dev}.txt"));
    std::fs::read_to_string(cap)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("who-has {vip} ")) && l.contains(&format!("tell {vip}")))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn conf(keyword: &str) -> String {
    format!(
        "global_defs {{\n {keyword}\n}}\n\
         vrrp_instance VI_X {{\n interface eth0\n virtual_router_id 47\n priority 150\n advert_int 1\n\
         garp_master_delay 0\n garp_master_repeat 1\n\
         virtual_ipaddress {{\n  203.0.113.47/24\n  198.51.100.47/24 dev eth1\n  198.51.100.48/24 dev eth1\n }}\n}}\n"
    )
}

/// What one daemon sent in `secs` seconds of mastership: the GARP times
/// of eth1's first VIP, eth1's second VIP and eth0's VIP.
type Seen = (Vec<f64>, Vec<f64>, Vec<f64>);

fn observe(lb: &Netns, client: &Netns, dir: &Scratch, tag: &str, start: impl FnOnce()) -> Seen {
    let mut c0 = capture(client, "eth0", dir, tag);
    let mut c1 = capture(client, "eth1", dir, tag);
    start();
    assert!(
        wait_until(10.0, || lb.has_addr("eth1", "198.51.100.47")),
        "{tag}: never master"
    );
    std::thread::sleep(Duration::from_millis(7500));
    for c in [&mut c0, &mut c1] {
        let _ = c.kill();
        let _ = c.wait();
    }
    (
        garps(dir, tag, "eth1", "198.51.100.47"),
        garps(dir, tag, "eth1", "198.51.100.48"),
        garps(dir, tag, "eth0", "203.0.113.47"),
    )
}

/// A master alone on the LAN, with eth1 to a second link of the client.
fn lab(test: &str) -> (Lan, Scratch) {
    let lan = Lan::new(test, 2);
    let (lb, client) = (&lan.nodes[0], &lan.nodes[1]);
    lb.ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "eth1c",
    ]);
    lb.ip(&[
        "link",
        "set",
        "eth1c",
        "netns",
        &client.name,
        "name",
        "eth1",
    ]);
    lb.ip(&["addr", "add", "198.51.100.1/24", "dev", "eth1"]);
    client.ip(&["addr", "add", "198.51.100.100/24", "dev", "eth1"]);
    lb.ip(&["link", "set", "eth1", "up"]);
    client.ip(&["link", "set", "eth1", "up"]);
    lb.wait_oper_up("eth1");
    client.wait_oper_up("eth1");
    (lan, Scratch::new(test))
}

fn run_tandem(lb: &Netns, client: &Netns, dir: &Scratch, tag: &str, text: &str) -> (Seen, String) {
    let path = dir.file(&format!("{tag}.conf"), text);
    let mut d = None;
    let seen = observe(lb, client, dir, tag, || {
        d = Some(Daemon::start(lb, &path, dir.0.join(format!("{tag}.log"))));
    });
    let mut d = d.unwrap_or_else(|| panic!("not started"));
    d.signal("-TERM");
    let _ = d.wait(10.0);
    assert!(
        wait_until(5.0, || !lb.has_addr("eth1", "198.51.100.47")),
        "{}",
        d.log()
    );
    (seen, d.log())
}

fn run_keepalived(lb: &Netns, client: &Netns, dir: &Scratch, tag: &str, text: &str) -> Seen {
    let path = dir.file(&format!("{tag}.conf"), text);
    let kdir = dir.0.join(tag);
    std::fs::create_dir_all(&kdir).unwrap_or_else(|e| panic!("{e}"));
    let mut k = None;
    let seen = observe(lb, client, dir, tag, || {
        k = Some(Keepalived::start(lb, &path, &kdir));
    });
    if let Some(mut k) = k {
        k.stop();
    }
    assert!(wait_until(5.0, || !lb.has_addr("eth1", "198.51.100.47")));
    seen
}

/// With `all` every ~`interval` s on eth1's first VIP, nothing else after
/// the burst of becoming master.
fn assert_periodic(who: &str, (first, second, own): &Seen, interval: f64) {
    eprintln!("{who}: eth1 first VIP at {first:?}, second {second:?}, eth0 {own:?}");
    assert!(first.len() >= 3, "{who}: eth1's first VIP: {first:?}");
    for w in first.windows(2).skip(1) {
        let gap = w[1] - w[0];
        assert!(
            (interval - 0.5..interval + 1.5).contains(&gap),
            "{who}: rounds {gap:.3}s apart, not ~{interval}s: {first:?}"
        );
    }
    assert_eq!(second.len(), 1, "{who}: eth1's second VIP: {second:?}");
    assert_eq!(own.len(), 1, "{who}: eth0's VIP: {own:?}");
}

fn assert_none_periodic(who: &str, (first, second, own): &Seen) {
    assert_eq!(
        (first.len(), second.len(), own.len()),
        (1, 1, 1),
        "{who}: only the burst of becoming master: {first:?} {second:?} {own:?}"
    );
}

#[test]
fn vrrp_vmac_garp_intvl_all_announces_the_other_interfaces_like_keepalived() {
    let (lan, dir) = lab("gxif-all");
    let (lb, client) = (&lan.nodes[0], &lan.nodes[1]);
    let text = conf("vrrp_vmac_garp_intvl 2 all");
    let (t, log) = run_tandem(lb, client, &dir, "t-all", &text);
    assert_periodic("tandem", &t, 2.0);
    assert!(log.contains("Entering MASTER STATE"), "{log}");
    if require_keepalived() {
        let k = run_keepalived(lb, client, &dir, "k-all", &text);
        assert_periodic("keepalived", &k, 2.0);
    }
}

#[test]
fn garp_extra_if_without_all_sends_nothing_periodic_like_keepalived() {
    let (lan, dir) = lab("gxif-none");
    let (lb, client) = (&lan.nodes[0], &lan.nodes[1]);
    // The instance's value wins over the global one (which has `all`).
    let text = conf("vrrp_garp_extra_if all 1")
        .replace(" advert_int 1\n", " advert_int 1\n garp_extra_if 1\n");
    let (t, _) = run_tandem(lb, client, &dir, "t-none", &text);
    assert_none_periodic("tandem", &t);
    if require_keepalived() {
        let k = run_keepalived(lb, client, &dir, "k-none", &text);
        assert_none_periodic("keepalived", &k);
    }
}
