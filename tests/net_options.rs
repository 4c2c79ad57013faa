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
    let ns = Netns::with_eth0(test, "192.0.2.1/24");
    ns.ip(&[
        "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
    ]);
    ns.ip(&["link", "set", "eth1p", "up"]);
    ns.ip(&["link", "set", "eth1", "up"]);
    ns.wait_oper_up("eth1");
    ns
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
