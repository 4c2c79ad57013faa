//! The address and route options `tests/net_options.rs` leaves out:
//! route types written out, `from` (IPv6 source-specific routes), `encap
//! ip|ip6` (also inside a `nexthop`), `add` / `prepend` / `append` beside
//! a route already there, `as` (ignored), `autojoin` on multicast
//! addresses, and `track_src_ip`. Each is installed by tandem and by
//! Debian's keepalived 2.2.7 from the same file, in namespaces side by
//! side, and read back from the kernel (`ip -d route`, `ip -j addr`,
//! `ip maddr`).
//!
//! Needs root (namespaces); keepalived for the comparison.

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

/// A node: eth0 192.0.2.1/24, eth1 198.51.100.2/24 and 2001:db8:1::2/64,
/// and in table 100 the routes an operator put there before the daemon
/// started (`proto boot`), one per `add` / `prepend` / `append` line.
fn node(test: &str) -> Netns {
    let ns = Netns::with_eth0_eth1(test, "192.0.2.1/24");
    ns.ip(&["addr", "add", "198.51.100.2/24", "dev", "eth1"]);
    ns.ip(&["addr", "add", "2001:db8:1::2/64", "dev", "eth1", "nodad"]);
    for dst in ["203.0.113.0/28", "203.0.113.16/28", "203.0.113.32/28"] {
        ns.ip(&[
            "route",
            "add",
            dst,
            "via",
            "198.51.100.1",
            "dev",
            "eth1",
            "table",
            "100",
        ]);
    }
    for dst in ["2001:db8:20::/64", "2001:db8:21::/64"] {
        ns.ip(&[
            "-6",
            "route",
            "add",
            dst,
            "via",
            "2001:db8:1::1",
            "dev",
            "eth1",
            "table",
            "100",
        ]);
    }
    ns
}

/// Each option once; `local` without `scope host` is refused by the
/// kernel (for keepalived and tandem alike), so that route is missing.
const ROUTES: &str = "\
static_routes {
  203.0.113.0/28 via 198.51.100.3 dev eth1 table 100 add
  203.0.113.16/28 via 198.51.100.3 dev eth1 table 100 prepend
  203.0.113.32/28 via 198.51.100.3 dev eth1 table 100 append
  2001:db8:20::/64 via 2001:db8:1::3 dev eth1 table 100 append
  2001:db8:21::/64 via 2001:db8:1::3 dev eth1 table 100 add
  unicast 203.0.113.48/28 via 198.51.100.1 dev eth1 table 100
  local 203.0.113.64/28 dev eth1 table 100 scope host
  broadcast 203.0.113.80/28 dev eth1 table 100 scope link
  anycast 203.0.113.96/28 dev eth1 table 100 scope link
  multicast 203.0.113.112/28 dev eth1 table 100
  nat 203.0.113.128/28 table 100 scope nowhere
  xresolve 203.0.113.144/28 table 100 scope nowhere
  local 203.0.113.160/28 dev eth1 table 100
  local 2001:db8:30::/64 dev eth1 table 100
  anycast 2001:db8:31::/64 dev eth1 table 100
  2001:db8:40::/64 from 2001:db8:41::/64 via 2001:db8:1::1 dev eth1 table 100
  203.0.113.176/28 encap ip id 42 dst 192.0.2.50 tos 0x10 ttl 9 flags 1 dev eth1 table 100
  203.0.113.192/28 encap ip dst 192.0.2.51 src 192.0.2.52 via 198.51.100.1 dev eth1 table 100
  2001:db8:50::/64 encap ip6 id 7 dst 2001:db8::50 src 2001:db8::51 tc 0x20 dev eth1 table 100
  203.0.113.224/28 as to 192.0.2.99 via 198.51.100.1 dev eth1 table 100
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 67
  priority 255
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_routes {
    multicast 203.0.113.240/28 dev eth1 table 100
    2001:db8:51::/64 encap ip6 dst 2001:db8::52 hoplimit 8 dev eth1 table 100
  }
}
";

/// `ip -d route show table 100` of both families, in the kernel's order
/// (which tells a prepended route from an appended one).
fn table_100(ns: &Netns) -> String {
    let mut out = String::new();
    for fam in ["-4", "-6"] {
        let o = ns.exec(&["ip", "-d", fam, "route", "show", "table", "100"]);
        out.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    out
}

/// The line of `dst` in `text`, with its next hops joined by `|`.
fn route_line(text: &str, dst: &str) -> String {
    let mut it = text
        .lines()
        .skip_while(|l| !l.split_whitespace().any(|w| w == dst));
    let mut out = it.next().unwrap_or_default().to_string();
    for l in it.take_while(|l| l.starts_with(char::is_whitespace)) {
        out.push_str(" |");
        out.push_str(l.trim());
    }
    out
}

fn installed(ns: &Netns) -> bool {
    wait_until(15.0, || {
        let t = table_100(ns);
        t.contains("203.0.113.240/28") && t.contains("2001:db8:51::/64")
    })
}

#[test]
fn route_types_from_encap_and_add_modes_are_what_keepalived_installs() {
    let t = node("s12rt-t");
    let before = table_100(&t);
    let dir = Scratch::new("s12rt-routes");
    let path = dir.file("keepalived.conf", ROUTES);
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(installed(&t), "{}\n{}", table_100(&t), d.log());
    // keepalived's and tandem's logs both say why the scope-less local
    // route is missing; give it the same time.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let tandem = table_100(&t);
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    // At exit, only the operator's routes are left.
    assert_eq!(table_100(&t), before, "left behind");

    let line = |dst: &str| route_line(&tandem, dst);
    // add: the operator's route stays alone; prepend: ours first; append:
    // ours after it (IPv6: another path of it).
    assert_eq!(tandem.matches("203.0.113.0/28").count(), 1, "{tandem}");
    assert!(
        line("203.0.113.0/28").contains("via 198.51.100.1"),
        "{tandem}"
    );
    let first = |dst: &str| {
        tandem
            .lines()
            .find(|l| l.contains(dst))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        first("203.0.113.16/28").contains("via 198.51.100.3"),
        "{tandem}"
    );
    assert!(
        first("203.0.113.32/28").contains("via 198.51.100.1"),
        "{tandem}"
    );
    assert_eq!(tandem.matches("203.0.113.32/28").count(), 2, "{tandem}");
    let six = line("2001:db8:20::/64");
    assert!(
        six.contains("nexthop via 2001:db8:1::1") && six.contains("nexthop via 2001:db8:1::3"),
        "{six}"
    );
    assert!(
        !tandem.contains("2001:db8:1::3 dev eth1 proto keepalived"),
        "{tandem}"
    );
    for (dst, want) in [
        (
            "203.0.113.48/28",
            "unicast 203.0.113.48/28 via 198.51.100.1",
        ),
        (
            "203.0.113.64/28",
            "local 203.0.113.64/28 dev eth1 proto keepalived scope host",
        ),
        (
            "203.0.113.80/28",
            "broadcast 203.0.113.80/28 dev eth1 proto keepalived scope link",
        ),
        (
            "203.0.113.96/28",
            "anycast 203.0.113.96/28 dev eth1 proto keepalived scope link",
        ),
        (
            "203.0.113.112/28",
            "multicast 203.0.113.112/28 dev eth1 proto keepalived",
        ),
        (
            "203.0.113.128/28",
            "nat 203.0.113.128/28 proto keepalived scope nowhere",
        ),
        (
            "203.0.113.144/28",
            "xresolve 203.0.113.144/28 proto keepalived scope nowhere",
        ),
        (
            "203.0.113.240/28",
            "multicast 203.0.113.240/28 dev eth1 proto keepalived",
        ),
        (
            "2001:db8:30::/64",
            "local 2001:db8:30::/64 dev eth1 proto keepalived",
        ),
        (
            "2001:db8:31::/64",
            "anycast 2001:db8:31::/64 dev eth1 proto keepalived",
        ),
        (
            "2001:db8:40::/64",
            "2001:db8:40::/64 from 2001:db8:41::/64 via 2001:db8:1::1",
        ),
        (
            "203.0.113.176/28",
            "encap ip id 42 src 0.0.0.0 dst 192.0.2.50 ttl 9 tos 16",
        ),
        (
            "203.0.113.192/28",
            "encap ip id 0 src 192.0.2.52 dst 192.0.2.51",
        ),
        (
            "2001:db8:50::/64",
            "encap ip6 id 7 src 2001:db8::51 dst 2001:db8::50 hoplimit 0 tc 32",
        ),
        (
            "2001:db8:51::/64",
            "encap ip6 id 0 src :: dst 2001:db8::52 hoplimit 8",
        ),
        (
            "203.0.113.224/28",
            "unicast 203.0.113.224/28 via 198.51.100.1",
        ),
    ] {
        assert!(
            line(dst).contains(want),
            "{want:?} not in {:?}\n{tandem}",
            line(dst)
        );
    }
    assert!(!tandem.contains("203.0.113.160/28"), "{tandem}");
    assert!(d.log().contains("203.0.113.160"), "{}", d.log());

    if !require_keepalived() {
        return;
    }
    let k = node("s12rt-k");
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    assert!(installed(&k), "{}\n{}", table_100(&k), kd.log());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let keepalived = table_100(&k);
    kd.stop();
    assert_eq!(tandem, keepalived, "tandem and keepalived differ");
    assert_eq!(table_100(&k), before, "keepalived left behind");
}

/// `encap` inside a `nexthop`: tandem sends it on the hop. keepalived
/// 2.2.7 reads it but sends nothing of it (its buffer for the hop's
/// attributes is given the hop's current length as its size), so its
/// route has the hop without the encapsulation.
#[test]
fn nexthop_encap_is_on_the_hop() {
    let conf = "static_routes {\n  203.0.113.208/28 table 100 nexthop via 198.51.100.1 dev eth1 \
                encap ip id 5 dst 192.0.2.53 nexthop via 198.51.100.3 dev eth1\n}\n\
                vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 68\n  priority 255\n  \
                virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n";
    let dir = Scratch::new("s12rt-nhencap");
    let path = dir.file("keepalived.conf", conf);
    let hops = |ns: &Netns| {
        wait_until(15.0, || table_100(ns).contains("203.0.113.208/28"));
        route_line(&table_100(ns), "203.0.113.208/28")
    };
    let t = node("s12nh-t");
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    let tandem = hops(&t);
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    assert!(
        tandem.contains(
            "nexthop  encap ip id 5 src 0.0.0.0 dst 192.0.2.53 ttl 0 tos 0 via 198.51.100.1 dev eth1"
        ) && tandem.contains("nexthop via 198.51.100.3 dev eth1"),
        "{tandem}\n{}",
        d.log()
    );
    if !require_keepalived() {
        return;
    }
    let k = node("s12nh-k");
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    let keepalived = hops(&k);
    kd.stop();
    assert!(
        keepalived.contains("nexthop via 198.51.100.1 dev eth1") && !keepalived.contains("encap"),
        "keepalived now sends a hop's encap: {keepalived}"
    );
}

const AUTOJOIN: &str = "\
static_ipaddress {
  ff05::db8:10/128 dev eth1 autojoin
  233.252.0.11/32 dev eth1 autojoin
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 69
  priority 255
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
    233.252.0.10/32 dev eth1 autojoin
  }
}
";

/// eth1's multicast memberships and its addresses with their autojoin
/// flag, each sorted (the daemons add static and virtual addresses in
/// either order).
fn groups(ns: &Netns) -> (Vec<String>, Vec<String>) {
    let m = ns.exec(&["ip", "maddr", "show", "dev", "eth1"]);
    let mut joined: Vec<String> = String::from_utf8_lossy(&m.stdout)
        .lines()
        .filter(|l| l.contains("233.252.0.") || l.contains("ff05::db8:"))
        .map(|l| l.trim().to_string())
        .collect();
    joined.sort();
    let j = ns.addrs_json("eth1");
    let mut addrs = j
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().into_iter().flatten())
        .filter(|a| a["scope"] != "link")
        .map(|a| format!("{} autojoin={}", a["local"], a["autojoin"]))
        .collect::<Vec<_>>();
    addrs.sort();
    (joined, addrs)
}

#[test]
fn autojoin_joins_the_groups_as_keepalived_does() {
    let dir = Scratch::new("s12rt-autojoin");
    let path = dir.file("keepalived.conf", AUTOJOIN);
    let up = |ns: &Netns| wait_until(15.0, || groups(ns).0.len() == 3 && groups(ns).1.len() == 3);
    let t = Netns::with_eth0_eth1("s12aj-t", "192.0.2.1/24");
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(up(&t), "{}", d.log());
    let tandem = groups(&t);
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    // The kernel joined each group for its address, and left it with it.
    for g in [
        "inet  233.252.0.10",
        "inet  233.252.0.11",
        "inet6 ff05::db8:10",
    ] {
        assert!(tandem.0.iter().any(|l| l == g), "{g} not in {:?}", tandem.0);
    }
    for a in [
        "\"233.252.0.10\" autojoin=true",
        "\"233.252.0.11\" autojoin=true",
        "\"ff05::db8:10\" autojoin=true",
    ] {
        assert!(tandem.1.iter().any(|l| l == a), "{a} not in {:?}", tandem.1);
    }
    assert_eq!(groups(&t), (vec![], vec![]), "left behind");
    if !require_keepalived() {
        return;
    }
    let k = Netns::with_eth0_eth1("s12aj-k", "192.0.2.1/24");
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    assert!(up(&k), "{}", kd.log());
    let keepalived = groups(&k);
    kd.stop();
    assert_eq!(tandem, keepalived, "tandem and keepalived differ");
}

/// A unicast master whose `unicast_src_ip` (a second address of eth0)
/// is removed under it, with `track_src_ip`: keepalived 2.2.7 stays
/// MASTER with its VIP (the flag never matches), and so does tandem.
#[test]
fn track_src_ip_keeps_the_master_as_keepalived_does() {
    let conf = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 70\n  priority 200\n  \
                advert_int 1\n  unicast_src_ip 192.0.2.9\n  track_src_ip\n  unicast_peer {\n    \
                192.0.2.2\n  }\n  virtual_ipaddress {\n    192.0.2.100/32\n  }\n}\n";
    let dir = Scratch::new("s12rt-tsrc");
    let path = dir.file("keepalived.conf", conf);
    let node = |name: &str| {
        let ns = Netns::with_eth0(name, "192.0.2.1/24");
        ns.ip(&["addr", "add", "192.0.2.9/24", "dev", "eth0"]);
        ns
    };
    let removed_then = |ns: &Netns| {
        assert!(wait_until(15.0, || ns.has_addr("eth0", "192.0.2.100")));
        ns.ip(&["addr", "del", "192.0.2.9/24", "dev", "eth0"]);
        std::thread::sleep(std::time::Duration::from_secs(4));
        ns.has_addr("eth0", "192.0.2.100")
    };
    let t = node("s12ts-t");
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    let held = removed_then(&t);
    let state = d.status()["vrrp_instances"][0]["state"].clone();
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    assert!(held && state == "MASTER", "{state} {held}\n{}", d.log());
    if !require_keepalived() {
        return;
    }
    let k = node("s12ts-k");
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    let kept = removed_then(&k);
    let log = kd.log();
    kd.stop();
    assert!(
        kept && !log.contains("FAULT"),
        "keepalived now acts on track_src_ip:\n{log}"
    );
}
