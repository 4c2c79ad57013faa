//! One VRID used by two instances on one link, where keepalived 2.2.7
//! keeps them apart: a multicast and a unicast instance, and two
//! multicast instances on different groups (`mcast_dst_ip`). tandem in one
//! namespace and Debian's keepalived in the other run the same pair of
//! instances with the priorities crossed, so that each node is MASTER of
//! one instance and BACKUP of the other. Every advert on the wire carries
//! VRID 51: if one instance's adverts reached the other, tandem's MASTER
//! (priority 150) would yield to keepalived's MASTER of the other instance
//! (priority 200). Instead each election stands on its own: each node
//! holds its own instance's VIP only, and in a quiet window tandem's
//! MASTER receives no advert while its BACKUP receives keepalived's.
//!
//! Two unicast instances with one VRID and one source address, each to
//! its own peer, are told apart by the advert's source: on a LAN of three,
//! tandem runs both, keepalived on each of the other two nodes runs one
//! (priority 100 against tandem's 150 for VI_A, the first instance, and
//! 200 for VI_B): the adverts of VI_B's master must reach VI_B, not the
//! first instance with that VRID.
//!
//! Needs root (namespaces) and keepalived.

mod netns;

use std::time::Duration;

use netns::daemon::{Daemon, Scratch, check_config_accepts};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Lan, Pair, wait_until};

/// Two instances with VRID 51 on `dev`: VI_A (VIP .100) at `prio_a`,
/// VI_B (VIP .101) at `prio_b` with `b_extra` (its unicast peer or group).
fn conf(dev: &str, prio_a: u8, prio_b: u8, b_extra: &str) -> String {
    format!(
        "vrrp_instance VI_A {{
  interface {dev}
  virtual_router_id 51
  priority {prio_a}
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/24
  }}
}}
vrrp_instance VI_B {{
  interface {dev}
  virtual_router_id 51
  priority {prio_b}
  advert_int 1
  {b_extra}
  virtual_ipaddress {{
    192.0.2.101/24
  }}
}}
"
    )
}

/// The `adverts_received` counter of instance `name`.
fn received(d: &Daemon, name: &str) -> u64 {
    let st = d.status();
    st["vrrp_instances"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["name"] == name)
        .and_then(|i| i["counters"]["adverts_received"].as_u64())
        .unwrap_or_else(|| panic!("no counters for {name} in {st}"))
}

/// tandem in `a` (VI_A 150, VI_B 100), keepalived in `b` (VI_A 100,
/// VI_B 200); `b_extra(peer)` makes VI_B unicast or another group.
fn run(test: &str, b_extra: impl Fn(&str) -> String) {
    if !require_keepalived() {
        return;
    }
    let p = Pair::new(test);
    let dir = Scratch::new(test);
    let t_conf = dir.file("t.conf", &conf("veth0", 150, 100, &b_extra("192.0.2.2")));
    let k_conf = dir.file("k.conf", &conf("veth1", 100, 200, &b_extra("192.0.2.1")));
    let said = check_config_accepts(&t_conf);
    assert!(!said.contains("virtual_router_id"), "{said}");
    let mut d = Daemon::start(&p.a, &t_conf, dir.0.join("t.log"));
    d.wait_started();
    let mut k = Keepalived::start(&p.b, &k_conf, &dir.0);
    let settled = || {
        p.a.has_addr("veth0", "192.0.2.100")
            && !p.a.has_addr("veth0", "192.0.2.101")
            && p.b.has_addr("veth1", "192.0.2.101")
            && !p.b.has_addr("veth1", "192.0.2.100")
    };
    let ok = wait_until(20.0, settled);
    let logs =
        |d: &Daemon, k: &Keepalived| format!("tandem:\n{}\nkeepalived:\n{}", d.log(), k.log());
    assert!(
        ok,
        "each node did not take its own VIP only:\n{}",
        logs(&d, &k)
    );
    // A quiet window: keepalived's VI_A is BACKUP (silent), its VI_B
    // MASTER (an advert a second, with VRID 51 and priority 200).
    let (a0, b0) = (received(&d, "VI_A"), received(&d, "VI_B"));
    std::thread::sleep(Duration::from_secs(5));
    let (a1, b1) = (received(&d, "VI_A"), received(&d, "VI_B"));
    assert!(settled(), "an election moved:\n{}", logs(&d, &k));
    assert_eq!(
        a1 - a0,
        0,
        "tandem's VI_A took adverts of keepalived's VI_B"
    );
    assert!(
        b1 - b0 >= 3,
        "tandem's VI_B heard {} adverts in 5 s",
        b1 - b0
    );
    k.stop();
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
}

#[test]
fn a_multicast_and_a_unicast_instance_share_a_vrid_as_under_keepalived() {
    run("svrid-u", |peer| {
        format!("unicast_peer {{\n    {peer}\n  }}")
    });
}

#[test]
fn two_multicast_groups_share_a_vrid_as_under_keepalived() {
    run("svrid-g", |_| "mcast_dst_ip 224.0.0.19".to_string());
}

/// One unicast instance with VRID 51 on eth0, to `peer`.
fn unicast(name: &str, prio: u8, peer: &str, vip: &str) -> String {
    format!(
        "vrrp_instance {name} {{
  interface eth0
  virtual_router_id 51
  priority {prio}
  advert_int 1
  unicast_peer {{
    {peer}
  }}
  virtual_ipaddress {{
    {vip}/24
  }}
}}
"
    )
}

#[test]
fn unicast_instances_with_one_vrid_and_different_peers_elect_apart() {
    if !require_keepalived() {
        return;
    }
    let lan = Lan::new("svrid-p", 3);
    let dir = Scratch::new("svrid-p");
    // tandem at .1: VI_A with .2 (keepalived at 100: tandem MASTER), VI_B
    // with .3 (keepalived at 200: tandem BACKUP).
    let t_conf = dir.file(
        "t.conf",
        &(unicast("VI_A", 150, "192.0.2.2", "192.0.2.100")
            + &unicast("VI_B", 150, "192.0.2.3", "192.0.2.101")),
    );
    let k2 = dir.file("k2.conf", &unicast("VI_A", 100, "192.0.2.1", "192.0.2.100"));
    let k3 = dir.file("k3.conf", &unicast("VI_B", 200, "192.0.2.1", "192.0.2.101"));
    let said = check_config_accepts(&t_conf);
    assert!(!said.contains("virtual_router_id"), "{said}");
    let mut d = Daemon::start(&lan.nodes[0], &t_conf, dir.0.join("t.log"));
    d.wait_started();
    let k2_dir = dir.0.join("k2");
    let k3_dir = dir.0.join("k3");
    let _ = std::fs::create_dir_all(&k2_dir);
    let _ = std::fs::create_dir_all(&k3_dir);
    let mut ka = Keepalived::start(&lan.nodes[1], &k2, &k2_dir);
    let mut kb = Keepalived::start(&lan.nodes[2], &k3, &k3_dir);
    let (t, n2, n3) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let settled = || {
        t.has_addr("eth0", "192.0.2.100")
            && !t.has_addr("eth0", "192.0.2.101")
            && !n2.has_addr("eth0", "192.0.2.100")
            && n3.has_addr("eth0", "192.0.2.101")
    };
    let ok = wait_until(20.0, settled);
    assert!(
        ok,
        "the two elections did not settle apart:\ntandem:\n{}\n{}\n{}",
        d.log(),
        ka.log(),
        kb.log()
    );
    // keepalived at .3 is VI_B's MASTER (an advert a second); the one at
    // .2 is BACKUP (silent): tandem's VI_A hears nothing.
    let (a0, b0) = (received(&d, "VI_A"), received(&d, "VI_B"));
    std::thread::sleep(Duration::from_secs(5));
    let (a1, b1) = (received(&d, "VI_A"), received(&d, "VI_B"));
    assert!(settled(), "an election moved:\n{}", d.log());
    assert!(
        b1 - b0 >= 3,
        "tandem's VI_B heard {} adverts in 5 s",
        b1 - b0
    );
    assert_eq!(a1 - a0, 0, "tandem's VI_A took adverts of .3's VI_B");
    ka.stop();
    kb.stop();
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
}
