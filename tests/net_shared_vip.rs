//! One virtual address in two `vrrp_instance`s, which keepalived 2.2.7
//! runs without a word: tandem runs it too, with a warning at check-config
//! that says what happens. Both instances master on one node hold the
//! address once; when VI_2 leaves MASTER (its tracked eth1 loses its
//! carrier: FAULT), it removes the address, also from under VI_1, which
//! stays MASTER without it. Debian's keepalived with the same file does
//! the same, read by `ip -j addr` in each namespace.
//!
//! Needs root (namespaces).

mod netns;

use netns::daemon::{Daemon, Scratch, check_config_accepts};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const CONF: &str = "vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 71
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 72
  priority 100
  advert_int 1
  track_interface {
    eth1
  }
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.102/24
  }
}
";

/// eth0 for the instances and eth1 for VI_2 to track, veths whose peers are up.
fn node(test: &str) -> Netns {
    Netns::with_eth0_eth1(test, "192.0.2.1/24")
}

/// Both instances master: the shared address and VI_2's own are there;
/// VI_2 to FAULT: both are gone (`log` for the failure messages).
fn shared_address_goes_with_the_first_to_leave(ns: &Netns, log: impl Fn() -> String) {
    let both = wait_until(15.0, || {
        ns.has_addr("eth0", "192.0.2.100") && ns.has_addr("eth0", "192.0.2.102")
    });
    assert!(both, "the VIPs never came:\n{}", log());
    ns.ip(&["link", "set", "eth1p", "down"]);
    let gone = wait_until(10.0, || !ns.has_addr("eth0", "192.0.2.102"));
    assert!(gone, "VI_2 did not leave MASTER:\n{}", log());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !ns.has_addr("eth0", "192.0.2.100"),
        "the shared address stayed:\n{}",
        log()
    );
}

#[test]
fn a_shared_address_runs_as_keepalived_runs_it() {
    let dir = Scratch::new("shvip");
    let path = dir.file("keepalived.conf", CONF);
    let said = check_config_accepts(&path);
    assert!(
        said.contains("warning: vrrp_instance VI_2: virtual address 192.0.2.100 is also held by vrrp_instance VI_1"),
        "{said}"
    );

    let ns = node("shvip-t");
    let mut d = Daemon::start(&ns, &path, dir.0.join("t.log"));
    shared_address_goes_with_the_first_to_leave(&ns, || d.log());
    let states: Vec<String> = ["VI_1", "VI_2"]
        .iter()
        .map(|n| {
            let st = d.status();
            let list = st["vrrp_instances"].as_array().cloned().unwrap_or_default();
            list.iter()
                .find(|i| i["name"] == *n)
                .and_then(|i| i["state"].as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(states, ["MASTER", "FAULT"], "{}", d.log());
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());

    if require_keepalived() {
        let kns = node("shvip-k");
        let kdir = Scratch::new("shvip-k");
        let mut k = Keepalived::start(&kns, &path, &kdir.0);
        shared_address_goes_with_the_first_to_leave(&kns, || k.log());
        k.stop();
    }
}
