//! The RFC VRRP MIBs through a real master agent (`enable_snmp_rfc`,
//! `enable_snmp_rfcv2`, `enable_snmp_rfcv3`): Debian's snmpd in a
//! namespace with tandem as its AgentX subagent, read with `snmpwalk`
//! (numeric OIDs) and heard with `snmptrapd`.
//!
//! - Debian's keepalived with the same file against the same snmpd: every
//!   object tandem exposes under mib-2.68 (RFC 2787) and mib-2.207
//!   (RFC 6527), keepalived exposes with the same value (the up times,
//!   which depend on when each daemon ran, and RFC 2787's master address
//!   of a lone master, compared apart).
//! - A pair: the rows are indexed by the interface's real ifIndex, a
//!   failover changes state and master address in both MIBs, and
//!   vrrpTrapNewMaster and vrrpv3NewMaster reach snmptrapd.

mod netns;

use std::collections::BTreeMap;
use std::path::Path;

use netns::daemon::Scratch;
use netns::keepalived::require_keepalived;
use netns::snmp::{SnmpPair, require_snmp, start_snmpd, walk_under, walks_of_both};
use netns::{Netns, wait_until};

const VRRP_MIB: &str = ".1.3.6.1.2.1.68";
const VRRPV3_MIB: &str = ".1.3.6.1.2.1.207";

/// Both MIBs, each OID prefixed with `68` or `207` (the part after mib-2).
fn walk(ns: &Netns, dir: &Path) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for (root, tag) in [(VRRP_MIB, "68"), (VRRPV3_MIB, "207")] {
        for (k, v) in walk_under(ns, dir, root) {
            all.insert(format!("{tag}{k}"), v);
        }
    }
    all
}

/// The ifIndex of `dev` in `ns`, as `ip -o link` numbers it.
fn ifindex(ns: &Netns, dev: &str) -> u32 {
    let out = ns
        .command("ip")
        .args(["-o", "link", "show", "dev", dev])
        .output()
        .unwrap_or_else(|e| panic!("ip: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ifindex in {text:?}"))
}

fn get<'a>(w: &'a BTreeMap<String, String>, oid: &str) -> Option<&'a str> {
    w.get(oid).map(String::as_str)
}

/// One node: a VRRPv2 instance with two addresses and simple auth, and a
/// VRRPv3 one with nopreempt.
fn single_conf(sock: &Path) -> String {
    format!(
        "global_defs {{
  router_id lb-rfc
  enable_snmp_rfc
  enable_traps
  snmp_socket {}
}}
vrrp_instance VI_1 {{
  state MASTER
  interface eth0
  virtual_router_id 81
  priority 200
  advert_int 1
  authentication {{
    auth_type PASS
    auth_pass secret
  }}
  virtual_ipaddress {{
    192.0.2.100/24
    192.0.2.101/32
  }}
}}
vrrp_instance VI_3 {{
  version 3
  state BACKUP
  nopreempt
  interface eth0
  virtual_router_id 83
  priority 150
  advert_int 1
  virtual_ipaddress {{
    192.0.2.103/24
  }}
}}
",
        sock.display()
    )
}

/// Objects whose values depend on when each daemon ran or on its
/// history, compared apart: the up times, and RFC 2787's master address
/// (keepalived shows the last advert's source, 0.0.0.0 on a lone master;
/// tandem the master's own address).
fn timing_or_history(oid: &str) -> bool {
    oid.starts_with("68.1.3.1.13.")
        || oid.starts_with("207.1.1.1.1.12.")
        || oid.starts_with("68.1.3.1.7.")
}

#[test]
fn keepalived_exposes_every_rfc_object_tandem_does_with_the_same_value() {
    if !require_snmp() || !require_keepalived() {
        return;
    }
    let ns = Netns::with_eth0("s9snmp2-k", "192.0.2.1/24");
    let dir = Scratch::new("s9snmp2-k");
    let sock = dir.0.join("agentx.sock");
    let _snmpd = start_snmpd(&ns, &dir.0, &sock);
    let conf = dir.file("k.conf", &single_conf(&sock));
    let ix = ifindex(&ns, "eth0");
    // Both MASTER: VI_1 in RFC 2787, both rows in RFC 6527.
    let both_master = |w: &BTreeMap<String, String>| {
        get(w, &format!("68.1.3.1.3.{ix}.81")) == Some("INTEGER: 3")
            && get(w, &format!("207.1.1.1.1.6.{ix}.81.1")) == Some("INTEGER: 3")
            && get(w, &format!("207.1.1.1.1.6.{ix}.83.1")) == Some("INTEGER: 3")
    };
    let (ours, theirs) = walks_of_both(&ns, &dir.0, &conf, || walk(&ns, &dir.0), both_master);

    let mut differ = Vec::new();
    for (oid, v) in &ours {
        if timing_or_history(oid) {
            if !theirs.contains_key(oid) {
                differ.push(format!("{oid}: keepalived has no such object"));
            }
        } else if theirs.get(oid) != Some(v) {
            differ.push(format!(
                "{oid}: tandem {v}, keepalived {:?}",
                theirs.get(oid)
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{differ:#?}\ntandem: {ours:#?}\nkeepalived: {theirs:#?}"
    );
    // The columns that say what this file configures, by value.
    assert_eq!(get(&ours, "68.1.1.0"), Some("INTEGER: 2"));
    assert_eq!(get(&ours, "68.1.2.0"), Some("INTEGER: 1"));
    assert_eq!(
        get(&ours, &format!("68.1.3.1.6.{ix}.81")),
        Some("INTEGER: 2")
    );
    assert_eq!(
        get(&ours, &format!("68.1.3.1.9.{ix}.81")),
        Some("INTEGER: 2")
    );
    assert_eq!(
        get(&ours, &format!("68.1.3.1.8.{ix}.81")),
        Some("IpAddress: 192.0.2.1")
    );
    assert_eq!(
        get(&ours, &format!("68.1.4.1.2.{ix}.81.192.0.2.101")),
        Some("INTEGER: 1")
    );
    assert_eq!(
        get(&ours, &format!("207.1.1.1.1.10.{ix}.83.1")),
        Some("INTEGER: 2")
    );
    assert_eq!(
        get(&ours, &format!("207.1.1.1.1.9.{ix}.83.1")),
        Some("INTEGER: 100")
    );
    // VRRPv3 instances are not in RFC 2787's table.
    assert!(
        !ours
            .keys()
            .any(|k| k.starts_with("68.1.3.1.3.") && k.ends_with(".83"))
    );
    assert!(ours.len() >= 40, "too few objects compared: {ours:#?}");
    let only_theirs: Vec<String> = theirs
        .iter()
        .filter(|(k, _)| !ours.contains_key(*k))
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    eprintln!(
        "{} objects equal; only keepalived exposes: {only_theirs:?}",
        ours.len()
    );
}

/// Whether snmptrapd logged the notification `trap` with `object`.
fn trap_seen(log: &Path, trap: &str, object: &str) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .any(|l| l.contains(&format!(".1.3.6.1.6.3.1.1.4.1.0 = OID: {trap}")) && l.contains(object))
}

#[test]
fn a_failover_changes_state_and_master_and_the_new_master_traps_arrive() {
    if !require_snmp() {
        return;
    }
    let p = SnmpPair::start("s9snmp2-p", ("lb-rfc", "enable_snmp_rfc", 62));
    let ix = ifindex(&p.pair.a, "veth0");
    let v2 = |c: u32| format!("68.1.3.1.{c}.{ix}.62");
    let v3 = |c: u32| format!("207.1.1.1.1.{c}.{ix}.62.1");
    let master = |w: &BTreeMap<String, String>| {
        get(w, &v2(3)) == Some("INTEGER: 3")
            && get(w, &v2(7)) == Some("IpAddress: 192.0.2.1")
            && get(w, &v3(6)) == Some("INTEGER: 3")
            && get(w, &v3(3)) == Some("Hex-STRING: C0 00 02 01 ")
    };
    assert!(
        wait_until(20.0, || master(&walk(&p.pair.a, &p.dir.0))),
        "{:#?}\n{}",
        walk(&p.pair.a, &p.dir.0),
        p.lb1.log()
    );
    assert_eq!(p.lb1.status()["vrrp_instances"][0]["router"]["ifindex"], ix);
    let ok = wait_until(10.0, || {
        trap_seen(
            &p.traps,
            ".1.3.6.1.2.1.68.0.1",
            &format!(".1.3.6.1.2.1.68.1.3.1.7.{ix}.62 = IpAddress: 192.0.2.1"),
        ) && trap_seen(
            &p.traps,
            ".1.3.6.1.2.1.207.0.1",
            &format!(".1.3.6.1.2.1.207.1.2.5.1.2.{ix}.62.1 = INTEGER: 3"),
        )
    });
    assert!(
        ok,
        "no new-master traps:\n{}",
        std::fs::read_to_string(&p.traps).unwrap_or_default()
    );

    // p.lb1 drops to 50: lb2 preempts; both MIBs say BACKUP and name lb2.
    std::fs::write(&p.track, "100\n").unwrap_or_else(|e| panic!("{e}"));
    let backup = |w: &BTreeMap<String, String>| {
        get(w, &v2(3)) == Some("INTEGER: 2")
            && get(w, &v2(7)) == Some("IpAddress: 192.0.2.2")
            && get(w, &v3(6)) == Some("INTEGER: 2")
            && get(w, &v3(3)) == Some("Hex-STRING: C0 00 02 02 ")
            && get(w, &format!("68.2.4.1.1.{ix}.62")) == Some("Counter32: 1")
    };
    assert!(
        wait_until(20.0, || backup(&walk(&p.pair.a, &p.dir.0))),
        "{:#?}\n{}",
        walk(&p.pair.a, &p.dir.0),
        p.lb1.log()
    );
    let w = walk(&p.pair.a, &p.dir.0);
    let rcvd = get(&w, &format!("207.1.2.5.1.3.{ix}.62.1")).unwrap_or("");
    assert!(
        rcvd.starts_with("Counter64: ") && rcvd != "Counter64: 0",
        "{w:#?}"
    );
}
