//! `dynamic_interfaces` on the real kernel: an instance whose interface
//! does not exist at start is FAULT (the start is not refused) and starts
//! when the link and its address appear; a static address waits for its
//! link too; the interface deleted under a master puts it in FAULT, and
//! made again (a new index) the instance runs on it and takes its VIP
//! back. Without the keyword the same file does not start. Read back with
//! `tandem status` and `ip -j addr` inside the namespace. (Debian's
//! keepalived, run by hand through the same steps on the same file, ends
//! each step with the same VIP, static address and rule; see
//! docs/config.md, "dynamic_interfaces".)

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

const CONF: &str = "\
global_defs {
  dynamic_interfaces
}
static_ipaddress {
  198.51.100.10/24 dev eth1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 200
  version 3
  advert_int 0.2
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_rules {
    from 192.0.2.100 table 101 preference 300
  }
}
";

/// A veth `name` (its peer up beside it, so it has a carrier).
fn make_link(ns: &Netns, name: &str, addr: Option<&str>) {
    let peer = format!("{name}p");
    ns.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer]);
    ns.ip(&["link", "set", &peer, "up"]);
    ns.ip(&["link", "set", name, "up"]);
    if let Some(a) = addr {
        ns.ip(&["addr", "add", a, "dev", name]);
    }
}

fn state(d: &Daemon) -> String {
    d.status()["vrrp_instances"][0]["state"]
        .as_str()
        .unwrap_or("-")
        .to_string()
}

fn has_rule(ns: &Netns, pref: u64) -> bool {
    let out = ns.exec(&["ip", "-j", "rule", "show"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .any(|r| r["priority"].as_u64() == Some(pref))
}

#[test]
fn instances_wait_in_fault_for_their_interface_and_follow_it_being_made_again() {
    let ns = Netns::new("s7addr-dyn");
    let dir = Scratch::new("s7addr-dyn");
    let path = dir.file("tandem.conf", CONF);

    // Without dynamic_interfaces the missing eth0 stops the start.
    let plain = dir.file("plain.conf", &CONF.replace("  dynamic_interfaces\n", ""));
    let mut p = Daemon::start(&ns, &plain, dir.0.join("plain.log"));
    assert_eq!(p.wait(10.0), Some(1), "{}", p.log());
    assert!(p.log().contains("eth0 does not exist"), "{}", p.log());

    let mut d = Daemon::start(&ns, &path, dir.0.join("t.log"));
    assert!(wait_until(10.0, || state(&d) == "FAULT"), "{}", d.log());
    let why = d.status()["vrrp_instances"][0]["last_transition"]["reason"].clone();
    assert_eq!(why, "interface eth0 does not exist", "{}", d.log());

    // The link first, its address a second later (no link event then).
    make_link(&ns, "eth0", None);
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert_eq!(state(&d), "FAULT", "{}", d.log());
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    assert!(wait_until(10.0, || state(&d) == "MASTER"), "{}", d.log());
    assert!(
        wait_until(3.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    assert!(has_rule(&ns, 300));

    // The static address waits for eth1.
    std::thread::sleep(std::time::Duration::from_millis(300));
    make_link(&ns, "eth1", None);
    assert!(
        wait_until(5.0, || ns.has_addr("eth1", "198.51.100.10")),
        "{}",
        d.log()
    );

    // eth0 deleted under the master: FAULT, the virtual rule goes.
    ns.ip(&["link", "del", "eth0"]);
    assert!(wait_until(5.0, || state(&d) == "FAULT"), "{}", d.log());
    assert!(wait_until(3.0, || !has_rule(&ns, 300)), "{}", d.log());
    // Made again (another index): the instance runs on the new link.
    make_link(&ns, "eth0", Some("192.0.2.1/24"));
    assert!(wait_until(10.0, || state(&d) == "MASTER"), "{}", d.log());
    assert!(
        wait_until(3.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    assert!(has_rule(&ns, 300));

    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    assert!(!ns.has_addr("eth0", "192.0.2.100"));
    assert!(!ns.has_addr("eth1", "198.51.100.10"));
    assert!(!has_rule(&ns, 300));
}
