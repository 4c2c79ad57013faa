//! Address and route options of `virtual_ipaddress`, `static_ipaddress`,
//! `virtual_routes` and `static_routes` on the real kernel: what tandem
//! installs, read back with `ip -j -d`, and compared with what Debian's
//! keepalived 2.2.7 installs from the same file in a namespace beside it.
//!
//! Needs root (namespaces); keepalived for the comparison.

mod netns;

use std::collections::BTreeSet;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

/// A node: `eth0` (192.0.2.1/24) and `eth1`, both veths with a carrier;
/// eth1 keeps IPv6 duplicate address detection on (the kernel's
/// default), so `-nodad` shows.
fn node(test: &str) -> Netns {
    Netns::with_eth0_eth1(test, "192.0.2.1/24")
}

fn json(ns: &Netns, args: &[&str]) -> serde_json::Value {
    let out = ns.exec(&[&["ip", "-j"][..], args].concat());
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn items(v: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    v.as_array().into_iter().flatten()
}

/// The address flags `ip -j addr` reports as `"name": true`.
const FLAGS: [&str; 6] = [
    "noprefixroute",
    "home",
    "mngtmpaddr",
    "nodad",
    "deprecated",
    "tentative",
];

/// eth1's and eth0's global addresses: `local/len flags... preferred P`,
/// P being 0, forever or finite (it counts down).
fn addresses(ns: &Netns) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dev in ["eth0", "eth1"] {
        for a in items(&json(ns, &["addr", "show", "dev", dev]))
            .flat_map(|l| items(&l["addr_info"]))
            .filter(|a| a["scope"] != "link")
        {
            let flags: Vec<&str> = FLAGS
                .iter()
                .copied()
                .filter(|f| a[*f] == serde_json::Value::Bool(true))
                .collect();
            let lft = match a["preferred_life_time"].as_u64() {
                Some(0) => "0",
                Some(4294967295) | None => "forever",
                Some(_) => "finite",
            };
            out.insert(format!(
                "{dev} {}/{} {} preferred {lft}",
                a["local"].as_str().unwrap_or("-"),
                a["prefixlen"],
                flags.join(",")
            ));
        }
    }
    out
}

/// The main table's routes on eth1 (both families, link-local left out):
/// where a prefix route was or was not added.
fn prefix_routes(ns: &Netns) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for fam in ["-4", "-6"] {
        for r in items(&json(ns, &[fam, "route", "show", "dev", "eth1"])) {
            let dst = r["dst"].as_str().unwrap_or("-");
            if !dst.starts_with("fe80") && !dst.starts_with("ff00") {
                out.insert(dst.to_string());
            }
        }
    }
    out
}

/// The preferred lifetime left on one address of eth1.
fn preferred_left(ns: &Netns, local: &str) -> Option<u64> {
    items(&json(ns, &["addr", "show", "dev", "eth1"]))
        .flat_map(|l| items(&l["addr_info"]))
        .find(|a| a["local"] == local)
        .and_then(|a| a["preferred_life_time"].as_u64())
}

const ADDRESSES: &str = "\
static_ipaddress {
  198.51.100.20/24 dev eth1 noprefixroute
  2001:db8:2::20/64 dev eth1 home noprefixroute preferred_lft 0
  2001:db8:3::30/64 dev eth1 mngtmpaddr
  2001:db8:4::40/64 dev eth1 -nodad
  2001:db8:5::50 dev eth1
  2001:db8:6::60 dev eth1 preferred_lft forever
  2001:db8:7::70/64 dev eth1 preferred_lft 3600
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 255
  advert_int 1
  virtual_ipaddress {
    203.0.113.30/25 dev eth1 noprefixroute
    203.0.113.200/26 dev eth1 home
  }
}
";

/// Waits until both VIPs are on eth1 and IPv6 DAD (1 s here) is over.
fn installed(ns: &Netns) -> bool {
    let ok = wait_until(15.0, || {
        ns.has_addr("eth1", "203.0.113.30") && ns.has_addr("eth1", "2001:db8:7::70")
    });
    std::thread::sleep(std::time::Duration::from_millis(2500));
    ok
}

#[test]
fn address_flags_and_lifetimes_are_what_keepalived_sets() {
    let t = node("s8net-at");
    let dir = Scratch::new("s8net-addr");
    let path = dir.file("keepalived.conf", ADDRESSES);
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(installed(&t), "{}", d.log());
    let tandem = (addresses(&t), prefix_routes(&t));
    let lft = preferred_left(&t, "2001:db8:7::70");
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());

    // Each option, read back from the kernel.
    let a = &tandem.0;
    for want in [
        "eth1 198.51.100.20/24 noprefixroute preferred forever",
        "eth1 2001:db8:2::20/64 noprefixroute,home,nodad,deprecated preferred 0",
        "eth1 2001:db8:3::30/64 mngtmpaddr,nodad preferred forever",
        // -nodad: DAD ran (no nodad flag), and is over.
        "eth1 2001:db8:4::40/64  preferred forever",
        // A /128 is deprecated unless preferred_lft says otherwise.
        "eth1 2001:db8:5::50/128 nodad,deprecated preferred 0",
        "eth1 2001:db8:6::60/128 nodad preferred forever",
        "eth1 2001:db8:7::70/64 nodad preferred finite",
        "eth1 203.0.113.30/25 noprefixroute preferred forever",
        // The kernel keeps `home` on IPv6 addresses only.
        "eth1 203.0.113.200/26  preferred forever",
    ] {
        assert!(a.contains(want), "{want:?} not in {a:#?}");
    }
    assert!(
        lft.is_some_and(|l| (3500..=3600).contains(&l)),
        "preferred_lft 3600 read back as {lft:?}"
    );
    // noprefixroute: no route for those prefixes; the others have theirs.
    let r = &tandem.1;
    for gone in ["198.51.100.0/24", "2001:db8:2::/64", "203.0.113.0/25"] {
        assert!(!r.contains(gone), "{gone} in {r:?}");
    }
    for there in ["203.0.113.192/26", "2001:db8:3::/64", "2001:db8:7::/64"] {
        assert!(r.contains(there), "{there} not in {r:?}");
    }

    if !require_keepalived() {
        return;
    }
    let k = node("s8net-ak");
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    assert!(
        installed(&k),
        "keepalived never installed the addresses:\n{}",
        std::fs::read_to_string(dir.0.join("keepalived.log")).unwrap_or_default()
    );
    let keepalived = (addresses(&k), prefix_routes(&k));
    kd.stop();
    assert_eq!(tandem, keepalived, "tandem and keepalived differ");
}

/// Every route option keepalived reads that the kernel takes without a
/// VRF or an encapsulation; one route with `protocol` and `no_track`.
const ROUTES: &str = "\
static_routes {
  203.0.113.0/26 via 198.51.100.1 dev eth1 table 100 tos 0x10 mtu lock 1400 advmss 1360 hoplimit 32 initcwnd 10 initrwnd 20 features ecn quickack 1 congctl reno window 65535 rtt 300ms rttvar lock 100ms rto_min 250ms ssthresh 100 cwnd 30 reordering 5 realms 3/4 fastopen_no_cookie 1
  203.0.113.64/26 via 203.0.113.1 dev eth1 onlink table 100
  2001:db8:9::/64 via 2001:db8:1::1 dev eth1 table 100 pref high expires 3600 metric 5
  203.0.113.128/26 dev eth1 table 100 protocol static no_track
  198.51.100.128/25 dev eth1 table 100 scope link
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 62
  priority 255
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_routes {
    203.0.113.192/26 via 198.51.100.1 dev eth1 table 100 mtu 1300 congctl lock reno
    2001:db8:a::/64 dev eth1 table 100 pref low hoplimit 9
  }
}
";

/// Table 100 as `ip -j -d route` reads it (both families), one JSON
/// object per route, each followed by the route's line of `ip -d route`
/// (only the text shows `lock`); `expires` (it counts down) is replaced
/// by whether it is there.
fn table_100(ns: &Netns) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for fam in ["-4", "-6"] {
        let text = ns.exec(&["ip", "-d", fam, "route", "show", "table", "100"]);
        let lines: Vec<String> = String::from_utf8_lossy(&text.stdout)
            .lines()
            .map(|l| {
                l.split_whitespace()
                    .map(|w| if w.ends_with("sec") { "N" } else { w })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        for r in items(&json(ns, &["-d", fam, "route", "show", "table", "100"])) {
            let mut r = r.clone();
            if let Some(o) = r.as_object_mut() {
                if o.remove("expires").is_some() {
                    o.insert("expires".into(), serde_json::Value::Bool(true));
                }
            }
            let dst = r["dst"].as_str().unwrap_or("-").to_string();
            let line = lines
                .iter()
                .find(|l| l.split_whitespace().any(|w| w == dst))
                .cloned()
                .unwrap_or_default();
            out.insert(format!("{fam} {r} | {line}"));
        }
    }
    out
}

fn route_node(test: &str) -> Netns {
    let ns = node(test);
    ns.ip(&["addr", "add", "198.51.100.2/24", "dev", "eth1"]);
    ns.ip(&["addr", "add", "2001:db8:1::2/64", "dev", "eth1", "nodad"]);
    ns
}

fn routes_installed(ns: &Netns) -> bool {
    wait_until(15.0, || {
        let t = table_100(ns);
        t.iter().any(|r| r.contains("203.0.113.192"))
            && t.iter().any(|r| r.contains("2001:db8:a::"))
    })
}

#[test]
fn route_options_are_what_keepalived_installs() {
    let t = route_node("s8net-rt");
    let dir = Scratch::new("s8net-route");
    let path = dir.file("keepalived.conf", ROUTES);
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(routes_installed(&t), "{:#?}\n{}", table_100(&t), d.log());
    let tandem = table_100(&t);
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    assert!(
        table_100(&t).is_empty(),
        "left behind: {:#?}",
        table_100(&t)
    );

    let route = |dst: &str| {
        tandem
            .iter()
            .find(|r| r.contains(&format!("\"dst\":\"{dst}\"")))
            .cloned()
            .unwrap_or_default()
    };
    for (dst, want) in [
        (
            "203.0.113.0/26",
            &[
                "\"tos\":\"0x10\"",
                "\"protocol\":\"keepalived\"",
                "\"mtu\":1400",
                "\"advmss\":1360",
                "\"hoplimit\":32",
                "\"initcwnd\":10",
                "\"initrwnd\":20",
                "\"ecn\":null",
                "\"quickack\":1",
                "\"congestion\":\"reno\"",
                "\"window\":65535",
                "\"rtt\":300",
                // 100ms is below the kernel's 200ms: keepalived resets it.
                "\"rttvar\":200",
                "\"rto_min\":250",
                "\"ssthresh\":100",
                "\"cwnd\":30",
                "\"reordering\":5",
                "\"flow\":{\"from\":\"3\",\"to\":\"4\"}",
                "\"fastopen_no_cookie\":1",
                "mtu lock 1400",
                "rttvar lock",
            ][..],
        ),
        ("203.0.113.64/26", &["\"flags\":[\"onlink\"]"]),
        (
            "2001:db8:9::/64",
            &["\"pref\":\"high\"", "\"expires\":true", "\"metric\":5"],
        ),
        ("203.0.113.128/26", &["\"protocol\":\"static\""]),
        ("198.51.100.128/25", &["\"scope\":\"link\""]),
        ("203.0.113.192/26", &["\"mtu\":1300", "congctl lock reno"]),
        ("2001:db8:a::/64", &["\"pref\":\"low\"", "\"hoplimit\":9"]),
    ] {
        let got = route(dst);
        for w in want {
            assert!(got.contains(w), "route {dst}: {w} not in {got:?}");
        }
    }

    if !require_keepalived() {
        return;
    }
    let k = route_node("s8net-rk");
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    assert!(
        routes_installed(&k),
        "keepalived never installed the routes:\n{:#?}\n{}",
        table_100(&k),
        std::fs::read_to_string(dir.0.join("keepalived.log")).unwrap_or_default()
    );
    let keepalived = table_100(&k);
    kd.stop();
    assert_eq!(tandem, keepalived, "tandem and keepalived differ");
    assert!(
        table_100(&k).is_empty(),
        "keepalived left: {:#?}",
        table_100(&k)
    );
}

/// `native_ipv6` after `version 2`: the instance is IPv6 and VRRPv3.
/// (keepalived 2.2.7 refuses an instance without a virtual address, so
/// none is tried here.)
fn native_ipv6(prio: u8) -> String {
    format!(
        "vrrp_instance VI_6 {{\n  interface eth0\n  virtual_router_id 63\n  priority {prio}\n  \
         advert_int 1\n  version 2\n  native_ipv6\n  virtual_ipaddress {{\n    2001:db8::100/64\n  }}\n}}\n"
    )
}

#[test]
fn native_ipv6_instances_speak_vrrpv3_over_ipv6_with_keepalived() {
    let lan = netns::Lan::new("s8net-n6", 3);
    let (lb1, lb2, watcher) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let dir = Scratch::new("s8net-native6");
    let cap = dir.0.join("vrrp.txt");
    let listening = dir.0.join("tcpdump.err");
    let mut tcpdump = watcher
        .command("tcpdump")
        .args([
            "-i",
            "eth0",
            "-n",
            "-l",
            "-v",
            "ip6 proto 112 or ip proto 112",
        ])
        .stdout(std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&listening).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    assert!(wait_until(5.0, || std::fs::read_to_string(&listening)
        .unwrap_or_default()
        .contains("listening")));
    let d = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &native_ipv6(150)),
        dir.0.join("t.log"),
    );
    assert!(
        wait_until(10.0, || lb1.has_addr("eth0", "2001:db8::100")),
        "{}",
        d.log()
    );
    let with_peer = require_keepalived();
    let mut kd =
        with_peer.then(|| Keepalived::start(lb2, &dir.file("lb2.conf", &native_ipv6(100)), &dir.0));
    // keepalived's start-up, then a window in which only tandem may speak.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let mark = std::fs::read_to_string(&cap).unwrap_or_default().len();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let text = std::fs::read_to_string(&cap).unwrap_or_default();
    let window = &text[mark.min(text.len())..];
    let n = window
        .lines()
        .filter(|l| {
            l.contains("ff02::12") && l.contains("VRRPv3") && l.contains("vrid 63, prio 150")
        })
        .count();
    assert!(n >= 2, "{n} VRRPv3 adverts to ff02::12 in 3 s:\n{text}");
    assert!(
        !text.contains("VRRPv2") && !text.contains("224.0.0.18"),
        "{text}"
    );
    if let Some(kd) = kd.as_mut() {
        // keepalived heard tandem's adverts: it stayed BACKUP (no advert
        // of its own, no VIP).
        assert!(!window.contains("prio 100"), "keepalived spoke:\n{window}");
        assert!(!lb2.has_addr("eth0", "2001:db8::100"));
        // And it was running: tandem gone, it takes the VIP over.
        let log = d.log();
        drop(d);
        assert!(
            wait_until(10.0, || lb2.has_addr("eth0", "2001:db8::100")),
            "keepalived did not take over:\n{}",
            std::fs::read_to_string(dir.0.join("keepalived.log")).unwrap_or_default()
        );
        kd.stop();
        assert!(log.contains("VI_6"), "{log}");
    }
}

/// `mcast_dst_ip`: a group from MCAST-TEST-NET (RFC 5771), not 224.0.0.18.
fn mcast_dst(prio: u8) -> String {
    format!(
        "vrrp_instance VI_M {{\n  interface eth0\n  virtual_router_id 65\n  priority {prio}\n  \
         advert_int 1\n  mcast_dst_ip 233.252.0.18\n  virtual_ipaddress {{\n    192.0.2.200/24\n  }}\n}}\n"
    )
}

#[test]
fn mcast_dst_ip_sends_to_and_listens_on_that_group_with_keepalived() {
    let lan = netns::Lan::new("s8net-mc", 3);
    let (lb1, lb2, watcher) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let dir = Scratch::new("s8net-mcast");
    let cap = dir.0.join("vrrp.txt");
    let listening = dir.0.join("tcpdump.err");
    let mut tcpdump = watcher
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "-v", "ip proto 112"])
        .stdout(std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&listening).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    assert!(wait_until(5.0, || std::fs::read_to_string(&listening)
        .unwrap_or_default()
        .contains("listening")));
    let t1 = dir.file("lb1.conf", &mcast_dst(150));
    let d = Daemon::start(lb1, &t1, dir.0.join("t.log"));
    assert!(
        wait_until(10.0, || lb1.has_addr("eth0", "192.0.2.200")),
        "{}",
        d.log()
    );
    // The receive socket joined the group.
    let maddr = String::from_utf8_lossy(&lb1.exec(&["ip", "maddr", "show", "dev", "eth0"]).stdout)
        .to_string();
    assert!(maddr.contains("233.252.0.18"), "{maddr}");
    let with_peer = require_keepalived();
    let mut kd =
        with_peer.then(|| Keepalived::start(lb2, &dir.file("lb2.conf", &mcast_dst(100)), &dir.0));
    std::thread::sleep(std::time::Duration::from_secs(5));
    let mark = std::fs::read_to_string(&cap).unwrap_or_default().len();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let text = std::fs::read_to_string(&cap).unwrap_or_default();
    let window = &text[mark.min(text.len())..];
    let n = window
        .lines()
        .filter(|l| l.contains("192.0.2.1 > 233.252.0.18") && l.contains("vrid 65, prio 150"))
        .count();
    assert!(n >= 2, "{n} adverts to 233.252.0.18 in 3 s:\n{text}");
    assert!(!text.contains("224.0.0.18"), "{text}");
    let Some(kd) = kd.as_mut() else {
        return;
    };
    // keepalived hears tandem on the group: it stays BACKUP.
    assert!(!window.contains("prio 100"), "keepalived spoke:\n{window}");
    assert!(!lb2.has_addr("eth0", "192.0.2.200"));
    drop(d);
    assert!(
        wait_until(10.0, || lb2.has_addr("eth0", "192.0.2.200")),
        "keepalived did not take over:\n{}",
        std::fs::read_to_string(dir.0.join("keepalived.log")).unwrap_or_default()
    );
    // And tandem hears keepalived on the group: with a lower priority it
    // stays BACKUP.
    let t2 = dir.file("lb1b.conf", &mcast_dst(50));
    let d = Daemon::start(lb1, &t2, dir.0.join("t2.log"));
    d.wait_started();
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!lb1.has_addr("eth0", "192.0.2.200"), "{}", d.log());
    assert_eq!(
        d.status()["vrrp_instances"][0]["state"],
        "BACKUP",
        "{}",
        d.log()
    );
    kd.stop();
}

/// Gratuitous ARPs for `vip` seen by `watcher` while `run` runs a master
/// for 7 s (past keepalived's default second round at 5 s).
fn garps_in_7s(watcher: &Netns, dir: &Scratch, vip: &str, run: impl FnOnce()) -> (usize, String) {
    let cap = dir.0.join("arp.txt");
    let listening = dir.0.join("arp.err");
    let mut tcpdump = watcher
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "arp"])
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
    let n = text
        .lines()
        .filter(|l| l.contains(&format!("who-has {vip} ")) && l.contains(&format!("tell {vip},")))
        .count();
    (n, text)
}

#[test]
fn vrrp_min_garp_sends_one_gratuitous_arp_as_keepalived() {
    let lan = netns::Lan::new("s8net-mg", 2);
    let (lb1, watcher) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("s8net-mingarp");
    let conf = "global_defs {\n  vrrp_min_garp\n}\nvrrp_instance VI_G {\n  interface eth0\n  \
                virtual_router_id 66\n  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    \
                192.0.2.210/24\n  }\n}\n";
    let path = dir.file("keepalived.conf", conf);
    let tandem = garps_in_7s(watcher, &dir, "192.0.2.210", || {
        let mut d = Daemon::start(lb1, &path, dir.0.join("t.log"));
        assert!(
            wait_until(5.0, || lb1.has_addr("eth0", "192.0.2.210")),
            "{}",
            d.log()
        );
        std::thread::sleep(std::time::Duration::from_secs(7));
        d.signal("-TERM");
        assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    });
    assert_eq!(tandem.0, 1, "tandem's gratuitous ARPs:\n{}", tandem.1);
    if !require_keepalived() {
        return;
    }
    let keepalived = garps_in_7s(watcher, &dir, "192.0.2.210", || {
        let mut kd = Keepalived::start(lb1, &path, &dir.0);
        assert!(wait_until(10.0, || lb1.has_addr("eth0", "192.0.2.210")));
        std::thread::sleep(std::time::Duration::from_secs(7));
        kd.stop();
    });
    assert_eq!(
        keepalived.0, tandem.0,
        "keepalived's gratuitous ARPs:\n{}",
        keepalived.1
    );
}

/// Multipath routes (`nexthop` and the older `or`) and realms by name,
/// with the names from a realms file of the namespace's own
/// (`/etc/netns/NS/iproute2`, which `ip netns exec` mounts over
/// /etc/iproute2 for tandem, keepalived and `ip` alike).
const MULTIPATH: &str = "\
static_routes {
  203.0.113.0/26 table 100 nexthop via 198.51.100.1 dev eth1 weight 1 nexthop via 198.51.100.3 dev eth1 onlink weight 3 realms s9src/s9dst
  203.0.113.64/26 via 198.51.100.1 or 198.51.100.4 table 100
  203.0.113.128/26 dev eth1 table 100 realms s9src/s9dst
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 64
  priority 255
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_routes {
    203.0.113.192/26 table 100 nexthop via 198.51.100.5 dev eth1 nexthop dev eth1 weight 2
    2001:db8:a::/64 table 100 nexthop via 2001:db8:1::1 dev eth1 nexthop via 2001:db8:1::3 dev eth1 weight 4
  }
}
";

/// `/etc/netns/NS/iproute2`: a copy of the machine's with the test's
/// realm names added; removed when dropped.
struct RealmNames(std::path::PathBuf);

impl RealmNames {
    fn new(ns: &Netns) -> RealmNames {
        let dir = std::path::PathBuf::from(format!("/etc/netns/{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        let out = std::process::Command::new("cp")
            .args(["-a", "/etc/iproute2"])
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cp: {e}"));
        assert!(out.status.success(), "cp /etc/iproute2: {out:?}");
        let file = dir.join("iproute2/rt_realms");
        let mut text = std::fs::read_to_string(&file).unwrap_or_default();
        text.push_str("7\ts9src\n9 s9dst\n");
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        RealmNames(dir)
    }
}

impl Drop for RealmNames {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn multipath_installed(ns: &Netns) -> bool {
    wait_until(15.0, || {
        let t = table_100(ns);
        ["203.0.113.0/26", "203.0.113.192/26", "2001:db8:a::"]
            .iter()
            .all(|d| t.iter().any(|r| r.contains(d)))
    })
}

/// `ip -d route show table 100` in the namespace's network but the
/// machine's /etc (nsenter mounts no /etc/netns), so realms show as
/// numbers.
fn table_100_text(ns: &Netns, fam: &str) -> String {
    let net = format!("--net=/run/netns/{}", ns.name);
    let out = netns::run(&[
        "nsenter", &net, "ip", "-d", fam, "route", "show", "table", "100",
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn multipath_routes_and_realm_names_are_what_keepalived_installs() {
    let t = route_node("s9net-mp");
    t.ip(&["addr", "add", "198.51.100.1/32", "dev", "eth1"]);
    let _names = RealmNames::new(&t);
    let dir = Scratch::new("s9net-multipath");
    let path = dir.file("keepalived.conf", MULTIPATH);
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(multipath_installed(&t), "{:#?}\n{}", table_100(&t), d.log());
    let tandem = table_100(&t);
    let v4 = table_100_text(&t, "-4");
    let v6 = table_100_text(&t, "-6");
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    assert!(
        table_100(&t).is_empty(),
        "left behind: {:#?}",
        table_100(&t)
    );
    assert!(
        d.log().contains("\"or\" for routes is deprecated"),
        "{}",
        d.log()
    );

    // The kernel's own words for what was installed.
    let line = |text: &str, dst: &str| -> String {
        let mut it = text.lines().skip_while(|l| !l.contains(dst));
        let mut out = it.next().unwrap_or_default().to_string();
        for l in it.take_while(|l| l.starts_with(char::is_whitespace)) {
            out.push_str(" |");
            out.push_str(l.trim());
        }
        out
    };
    let mp = line(&v4, "203.0.113.0/26");
    for want in [
        "nexthop via 198.51.100.1 dev eth1 weight 1",
        "nexthop via 198.51.100.3 realms 7/9 dev eth1 weight 3 onlink",
    ] {
        assert!(mp.contains(want), "{want} not in {mp:?}\n{v4}");
    }
    let or = line(&v4, "203.0.113.64/26");
    for want in [
        "nexthop via 198.51.100.1 dev eth1 weight 1",
        "nexthop via 198.51.100.4 dev eth1 weight 1",
    ] {
        assert!(or.contains(want), "{want} not in {or:?}\n{v4}");
    }
    let named = line(&v4, "203.0.113.128/26");
    assert!(named.contains("realms 7/9"), "{named:?}\n{v4}");
    let vr = line(&v4, "203.0.113.192/26");
    for want in [
        "nexthop via 198.51.100.5 dev eth1 weight 1",
        "nexthop dev eth1 weight 2",
    ] {
        assert!(vr.contains(want), "{want} not in {vr:?}\n{v4}");
    }
    let six = line(&v6, "2001:db8:a::/64");
    for want in [
        "nexthop via 2001:db8:1::1 dev eth1 weight 1",
        "nexthop via 2001:db8:1::3 dev eth1 weight 4",
    ] {
        assert!(six.contains(want), "{want} not in {six:?}\n{v6}");
    }

    if !require_keepalived() {
        return;
    }
    let k = route_node("s9net-mk");
    k.ip(&["addr", "add", "198.51.100.1/32", "dev", "eth1"]);
    let _knames = RealmNames::new(&k);
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    assert!(
        multipath_installed(&k),
        "keepalived never installed the routes:\n{:#?}\n{}",
        table_100(&k),
        std::fs::read_to_string(dir.0.join("keepalived.log")).unwrap_or_default()
    );
    let keepalived = table_100(&k);
    kd.stop();
    assert_eq!(tandem, keepalived, "tandem and keepalived differ");
}
