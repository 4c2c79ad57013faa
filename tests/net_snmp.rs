//! SNMP through a real master agent: Debian's snmpd in a namespace, with
//! tandem as its AgentX subagent (`enable_snmp_vrrp`, `snmp_socket`,
//! `enable_traps`), read with `snmpwalk` and heard with `snmptrapd`.
//!
//! - A pair: the walk of KEEPALIVED-MIB shows what `tandem status --json`
//!   shows (name, vrid, state, base and effective priority), follows a
//!   failover (a track_file lowers lb1 below lb2), a state-change trap
//!   reaches snmptrapd, and the subagent comes back after snmpd restarts.
//! - Debian's keepalived with the same file against the same snmpd: every
//!   object tandem exposes, keepalived exposes with the same value.
//!
//! Numeric OIDs throughout: the standard MIBs are not packaged.

mod netns;

use std::collections::BTreeMap;
use std::path::Path;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::require_keepalived;
use netns::snmp::{SnmpPair, require_snmp, start_snmpd, walk_under, walks_of_both};
use netns::{Netns, wait_until};

const KEEPALIVED_MIB: &str = ".1.3.6.1.4.1.9586.100.5";

/// `snmpwalk` of KEEPALIVED-MIB, the OIDs without the MIB's prefix.
fn walk(ns: &Netns, dir: &Path) -> BTreeMap<String, String> {
    walk_under(ns, dir, KEEPALIVED_MIB)
}

/// The VrrpState number of a state as `tandem status --json` writes it.
fn state_number(s: &str) -> u32 {
    match s {
        "INIT" | "INITIALIZE" => 0,
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 4,
    }
}

/// The instance row of the walk agrees with the status JSON: name, vrid,
/// state, base and effective priority. The error says what differs.
fn row_matches(w: &BTreeMap<String, String>, d: &Daemon) -> Result<(), String> {
    let s = d.status();
    let i = &s["vrrp_instances"][0];
    let want = [
        (
            ".2.3.1.2.1",
            format!("STRING: \"{}\"", i["name"].as_str().unwrap_or("?")),
        ),
        (".2.3.1.3.1", format!("Gauge32: {}", i["virtual_router_id"])),
        (
            ".2.3.1.4.1",
            format!(
                "INTEGER: {}",
                state_number(i["state"].as_str().unwrap_or("?"))
            ),
        ),
        (".2.3.1.7.1", format!("INTEGER: {}", i["priority"])),
        (
            ".2.3.1.8.1",
            format!("INTEGER: {}", i["effective_priority"]),
        ),
        (
            ".1.2.0",
            format!("STRING: \"{}\"", s["router_id"].as_str().unwrap_or("?")),
        ),
    ];
    for (oid, value) in want {
        if w.get(oid) != Some(&value) {
            return Err(format!("{oid}: walk {:?}, status {value}", w.get(oid)));
        }
    }
    Ok(())
}

/// Whether a vrrpInstanceStateChange with state `state` for VI_1 is in
/// snmptrapd's log.
fn trap_seen(log: &Path, state: u32) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().any(|l| {
        l.contains(".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2")
            && l.contains(".1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: \"VI_1\"")
            && l.contains(&format!(
                ".1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: {state}"
            ))
    })
}

#[test]
fn the_walk_matches_the_status_follows_a_failover_and_survives_an_snmpd_restart() {
    if !require_snmp() {
        return;
    }
    let mut p = SnmpPair::start("s9snmp-p", ("lb-snmp", "enable_snmp_vrrp", 61));

    let master = |d: &Daemon| d.status()["vrrp_instances"][0]["state"] == "MASTER";
    assert!(wait_until(15.0, || master(&p.lb1)), "{}", p.lb1.log());
    let ok = wait_until(10.0, || {
        row_matches(&walk(&p.pair.a, &p.dir.0), &p.lb1).is_ok()
    });
    assert!(
        ok,
        "{:?}\n{}",
        row_matches(&walk(&p.pair.a, &p.dir.0), &p.lb1),
        p.lb1.log()
    );
    let w = walk(&p.pair.a, &p.dir.0);
    assert_eq!(w.get(".2.3.1.4.1").map(String::as_str), Some("INTEGER: 2"));
    assert_eq!(
        w.get(".2.3.1.8.1").map(String::as_str),
        Some("INTEGER: 150")
    );
    assert!(
        wait_until(10.0, || trap_seen(&p.traps, 2)),
        "no MASTER trap:\n{}",
        std::fs::read_to_string(&p.traps).unwrap_or_default()
    );

    // The tracked file takes 100 off p.lb1: lb2 (100) preempts, p.lb1 is
    // BACKUP at 50, and both the walk and a trap say so.
    std::fs::write(&p.track, "100\n").unwrap_or_else(|e| panic!("{e}"));
    let backup = |d: &Daemon| d.status()["vrrp_instances"][0]["state"] == "BACKUP";
    assert!(wait_until(15.0, || backup(&p.lb1)), "{}", p.lb1.log());
    let ok = wait_until(10.0, || {
        let w = walk(&p.pair.a, &p.dir.0);
        w.get(".2.3.1.4.1").map(String::as_str) == Some("INTEGER: 1")
            && w.get(".2.3.1.8.1").map(String::as_str) == Some("INTEGER: 50")
            && w.get(".2.3.1.7.1").map(String::as_str) == Some("INTEGER: 150")
            && row_matches(&w, &p.lb1).is_ok()
    });
    assert!(ok, "{:?}\n{}", walk(&p.pair.a, &p.dir.0), p.lb1.log());
    assert!(
        wait_until(10.0, || trap_seen(&p.traps, 1)),
        "no BACKUP trap:\n{}",
        std::fs::read_to_string(&p.traps).unwrap_or_default()
    );

    // snmpd goes away and comes back: the subagent reconnects on its own
    // (backoff from 1 s), and says it lost the master once.
    p.snmpd.stop();
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(walk(&p.pair.a, &p.dir.0).is_empty());
    let _ = std::fs::remove_file(&p.sock);
    p.snmpd = start_snmpd(&p.pair.a, &p.dir.0, &p.sock);
    let ok = wait_until(20.0, || {
        row_matches(&walk(&p.pair.a, &p.dir.0), &p.lb1).is_ok()
    });
    assert!(ok, "no walk after the restart\n{}", p.lb1.log());
    let lost = p.lb1.log().matches("SNMP master agent unavailable").count();
    assert_eq!(lost, 1, "{}", p.lb1.log());
}

/// One node with a sync group of two instances: the same objects keepalived
/// exposes from the same file.
fn single_conf(sock: &Path) -> String {
    format!(
        "global_defs {{
  router_id lb-cmp
  enable_snmp_vrrp
  snmp_socket {}
}}
vrrp_sync_group G1 {{
  group {{
    VI_1
    VI_2
  }}
}}
vrrp_instance VI_1 {{
  state MASTER
  interface eth0
  virtual_router_id 71
  priority 200
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/24
  }}
}}
vrrp_instance VI_2 {{
  state BACKUP
  interface eth0
  virtual_router_id 72
  priority 120
  advert_int 2
  virtual_ipaddress {{
    192.0.2.101/24
    192.0.2.102/32
  }}
}}
",
        sock.display()
    )
}

#[test]
fn keepalived_exposes_every_object_tandem_does_with_the_same_value() {
    if !require_snmp() || !require_keepalived() {
        return;
    }
    let ns = Netns::with_eth0("s9snmp-k", "192.0.2.1/24");
    let dir = Scratch::new("s9snmp-k");
    let sock = dir.0.join("agentx.sock");
    let _snmpd = start_snmpd(&ns, &dir.0, &sock);
    let conf = dir.file("k.conf", &single_conf(&sock));
    let both_master = |w: &BTreeMap<String, String>| {
        w.get(".2.3.1.4.1").map(String::as_str) == Some("INTEGER: 2")
            && w.get(".2.3.1.4.2").map(String::as_str) == Some("INTEGER: 2")
            && w.get(".2.1.1.3.1").map(String::as_str) == Some("INTEGER: 2")
    };
    let (ours, theirs) = walks_of_both(&ns, &dir.0, &conf, || walk(&ns, &dir.0), both_master);

    let mut differ = Vec::new();
    for (oid, v) in &ours {
        // The version string names the daemon.
        if oid == ".1.1.0" {
            continue;
        }
        if theirs.get(oid) != Some(v) {
            differ.push(format!(
                "{oid}: tandem {v}, keepalived {:?}",
                theirs.get(oid)
            ));
        }
    }
    assert!(differ.is_empty(), "{differ:#?}\nkeepalived: {theirs:#?}");
    assert!(ours.len() >= 30, "too few objects compared: {ours:#?}");
    let only_theirs = theirs.keys().filter(|k| !ours.contains_key(*k)).count();
    eprintln!(
        "{} objects equal; {only_theirs} only keepalived exposes",
        ours.len() - 1
    );
}
