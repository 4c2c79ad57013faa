//! `track_group` on the real kernel, tandem and Debian's keepalived with
//! the same file: a static address on eth1 names `track_group TG1`, whose
//! group is VI_1; VI_2 is not in it. eth1 losing its carrier (its veth
//! peer down) puts VI_1 in FAULT (its VIP goes) while VI_2 stays MASTER
//! (its VIP stays), and the carrier back makes VI_1 MASTER again. Read
//! with `ip -j addr` in each namespace.
//!
//! Needs root (namespaces).

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const CONF: &str = "track_group TG1 {
  group {
    VI_1
  }
}
static_ipaddress {
  198.51.100.10/24 dev eth1 track_group TG1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 74
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.101/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 75
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.102/24
  }
}
";

fn node(test: &str) -> Netns {
    Netns::with_eth0_eth1(test, "192.0.2.1/24")
}

fn follows_the_static_address_interface(ns: &Netns, log: impl Fn() -> String) {
    let vips = |ns: &Netns| {
        (
            ns.has_addr("eth0", "192.0.2.101"),
            ns.has_addr("eth0", "192.0.2.102"),
        )
    };
    assert!(
        wait_until(15.0, || vips(ns) == (true, true)),
        "not both MASTER:\n{}",
        log()
    );
    ns.ip(&["link", "set", "eth1p", "down"]);
    assert!(
        wait_until(10.0, || vips(ns) == (false, true)),
        "VI_1 did not leave MASTER alone: {:?}\n{}",
        vips(ns),
        log()
    );
    ns.ip(&["link", "set", "eth1p", "up"]);
    assert!(
        wait_until(15.0, || vips(ns) == (true, true)),
        "VI_1 not MASTER again:\n{}",
        log()
    );
}

#[test]
fn a_track_group_faults_its_instances_with_the_interface() {
    let dir = Scratch::new("tgroup");
    let path = dir.file("keepalived.conf", CONF);
    let t = node("tgroup-t");
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    follows_the_static_address_interface(&t, || d.log());
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());

    if require_keepalived() {
        let k = node("tgroup-k");
        let kdir = Scratch::new("tgroup-k");
        let mut kd = Keepalived::start(&k, &path, &kdir.0);
        follows_the_static_address_interface(&k, || kd.log());
        kd.stop();
    }
}
