//! Route lines keepalived 2.2.7 accepts with a twist, on the real kernel,
//! tandem and Debian's keepalived with the same file, read back with
//! `ip -j route` in each namespace:
//!
//! * `protocol bird` on a tracked route: reset to keepalived's own (18),
//!   the route installed so; with `no_track` it keeps `bird`;
//! * `ttl-propagate enabled|disabled`: the route installs (the kernel
//!   reads RTA_TTL_PROPAGATE on MPLS routes only; that tandem sends it is a
//!   unit test in src/net/rtnl.rs);
//! * `tos` on an IPv6 route, static or virtual: the kernel refuses the
//!   route, the failure is logged, the instance is MASTER all the same,
//!   and the IPv6 route without a tos beside it is there.
//!
//! check-config says each of these in a warning. Needs root (namespaces).

mod netns;

use std::collections::BTreeSet;

use netns::daemon::{Daemon, Scratch, check_config_accepts};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const CONF: &str = "static_routes {
  203.0.113.0/24 dev eth1 table 100 protocol bird ttl-propagate enabled
  198.51.100.0/25 dev eth1 table 100 protocol bird no_track ttl-propagate disabled
  2001:db8:2::/64 dev eth1 table 100 tos 0x04
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 73
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_routes {
    2001:db8:3::/64 dev eth1 table 100 tos 0x04
    2001:db8:4::/64 dev eth1 table 100
  }
}
";

fn node(test: &str) -> Netns {
    Netns::with_eth0_eth1_no_dad(test, "192.0.2.1/24")
}

/// Table 100 as `ip -j route` reads it: `dst protocol` per route.
fn table(ns: &Netns) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for fam in ["-4", "-6"] {
        let out = ns.exec(&["ip", "-j", fam, "route", "show", "table", "100"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        for r in v.as_array().into_iter().flatten() {
            set.insert(format!(
                "{} {}",
                r["dst"].as_str().unwrap_or("-"),
                r["protocol"].as_str().unwrap_or("-")
            ));
        }
    }
    set
}

fn want() -> BTreeSet<String> {
    [
        "203.0.113.0/24 keepalived",
        "198.51.100.0/25 bird",
        "2001:db8:4::/64 keepalived",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

#[test]
fn route_quirks_run_as_keepalived_runs_them() {
    let dir = Scratch::new("rquirk");
    let path = dir.file("keepalived.conf", CONF);
    let said = check_config_accepts(&path);
    for w in [
        "2:3: warning: protocol 12: a tracked route is protocol 18",
        "4:3: warning: route to 2001:db8:2::/64: the kernel refuses a tos on an IPv6 route",
        "15:5: warning: route to 2001:db8:3::/64: the kernel refuses a tos on an IPv6 route",
    ] {
        assert!(said.contains(w), "{w} not in {said}");
    }

    let t = node("rquirk-t");
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    let ok = wait_until(15.0, || {
        t.has_addr("eth0", "192.0.2.100") && table(&t).contains("2001:db8:4::/64 keepalived")
    });
    assert!(ok, "never MASTER with its routes:\n{}", d.log());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(table(&t), want(), "{}", d.log());
    let log = d.log();
    assert!(log.contains("cannot add static route"), "{log}");
    assert!(log.contains("cannot add virtual route"), "{log}");
    assert_eq!(d.status()["vrrp_instances"][0]["state"], "MASTER", "{log}");
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());

    if require_keepalived() {
        let k = node("rquirk-k");
        let kdir = Scratch::new("rquirk-k");
        let mut kd = Keepalived::start(&k, &path, &kdir.0);
        let ok = wait_until(15.0, || {
            k.has_addr("eth0", "192.0.2.100") && table(&k).contains("2001:db8:4::/64 keepalived")
        });
        assert!(ok, "keepalived never MASTER with its routes:\n{}", kd.log());
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(table(&k), want(), "keepalived:\n{}", kd.log());
        kd.stop();
    }
}
