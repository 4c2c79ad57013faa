//! `vrrp_ipsets` with `vrrp_strict` and `vrrp_iptables` on the real
//! kernel, tandem and Debian's keepalived 2.2.7 with the same file:
//! check-config says what the keyword comes to (a note at its position),
//! and the master's virtual addresses are in the set `vips` of nftables
//! table `keepalived`, the same elements in both namespaces, read with
//! `nft -j`. (Debian's keepalived is built for nftables only and reports
//! `vrrp_ipsets` as an unknown keyword; that is the behaviour matched.)
//!
//! Needs root (namespaces) and nft.

mod netns;

use netns::daemon::{Daemon, Scratch, check_config_accepts};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const CONF: &str = "global_defs {
  vrrp_strict
  vrrp_iptables KAV_IN KAV_OUT
  vrrp_ipsets
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 76
  version 3
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101/24
  }
}
";

/// The elements of set `vips` in table ip keepalived (empty: no such set).
fn vips(ns: &Netns) -> Vec<String> {
    let out = ns.exec(&[
        "sh",
        "-c",
        "nft -j list set ip keepalived vips 2>/dev/null || true",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut elems: Vec<String> = v["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["set"]["elem"].as_array())
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    elems.sort();
    elems
}

fn want() -> Vec<String> {
    vec!["192.0.2.100".into(), "192.0.2.101".into()]
}

#[test]
fn vrrp_ipsets_drops_the_same_addresses_as_keepalived() {
    let dir = Scratch::new("ipsets");
    let path = dir.file("keepalived.conf", CONF);
    let said = check_config_accepts(&path);
    assert!(said.contains(":4:3: note: vrrp_ipsets: "), "{said}");

    let t = Netns::with_eth0("ipsets-t", "192.0.2.1/24");
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(
        wait_until(15.0, || vips(&t) == want()),
        "tandem vips {:?}:\n{}",
        vips(&t),
        d.log()
    );
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    assert!(vips(&t).is_empty(), "tandem left its table");

    if require_keepalived() {
        let k = Netns::with_eth0("ipsets-k", "192.0.2.1/24");
        let kdir = Scratch::new("ipsets-k");
        let mut kd = Keepalived::start(&k, &path, &kdir.0);
        let ok = wait_until(15.0, || vips(&k) == want());
        assert!(ok, "keepalived vips {:?}:\n{}", vips(&k), kd.log());
        kd.stop();
    }
}
