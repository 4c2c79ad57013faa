//! Linkbeat on the real kernel: `linkbeat_interfaces` and
//! `linkbeat_use_polling` make tandem poll the interface's carrier
//! (ethtool's ETHTOOL_GLINK on a veth, which has no MII) every second
//! instead of following rtnetlink, as keepalived does. The carrier is
//! dropped by setting the veth's peer down: the poller reports the link
//! down ("Linkbeat reports eth0 down", keepalived's words), the instance
//! goes to FAULT and its VIP goes; the peer up again, the poller reports
//! it up and the instance is MASTER with its VIP again. (That the
//! rtnetlink events of a polled link are ignored is a unit test in
//! src/daemon/feeds.rs.)
//!
//! Needs root (namespaces).

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

fn conf(polling: &str) -> String {
    format!(
        "{polling}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 65
  priority 200
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/24
  }}
}}
"
    )
}

fn state(d: &Daemon) -> String {
    d.status()["vrrp_instances"][0]["state"]
        .as_str()
        .unwrap_or("-")
        .to_string()
}

/// Master, then the carrier dropped and restored: FAULT and back, each
/// change seen by the poller.
fn carrier_loss_and_back(test: &str, polling: &str) {
    let ns = Netns::with_eth0(test, "192.0.2.1/24");
    let dir = Scratch::new(test);
    let path = dir.file("keepalived.conf", &conf(polling));
    let mut d = Daemon::start(&ns, &path, dir.0.join("t.log"));
    assert!(wait_until(10.0, || state(&d) == "MASTER"), "{}", d.log());
    assert!(ns.has_addr("eth0", "192.0.2.100"), "{}", d.log());
    assert!(
        d.log().contains("linkbeat: polling eth0 (Ethtool), up"),
        "{}",
        d.log()
    );

    ns.ip(&["link", "set", "eth0p", "down"]);
    assert!(wait_until(5.0, || state(&d) == "FAULT"), "{}", d.log());
    assert!(
        d.log().contains("Linkbeat reports eth0 down"),
        "{}",
        d.log()
    );
    assert!(
        wait_until(3.0, || !ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );

    ns.ip(&["link", "set", "eth0p", "up"]);
    assert!(wait_until(10.0, || state(&d) == "MASTER"), "{}", d.log());
    assert!(d.log().contains("Linkbeat reports eth0 up"), "{}", d.log());
    assert!(ns.has_addr("eth0", "192.0.2.100"), "{}", d.log());

    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
}

#[test]
fn linkbeat_interfaces_polls_the_carrier() {
    carrier_loss_and_back("s9net-lbi", "linkbeat_interfaces {\n  eth0 ETHTOOL\n}");
}

#[test]
fn linkbeat_use_polling_polls_the_instances_interface() {
    // Default way: MII first; a veth has none, so ethtool is used.
    carrier_loss_and_back("s9net-lbg", "linkbeat_use_polling");
}
