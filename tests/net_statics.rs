//! `static_ipaddress`, `static_routes`, `static_rules`, `virtual_rules`,
//! `brd +` / `brd -`, `default_interface` and `promote_secondaries` on the
//! real kernel, read back with `ip -j` inside the namespaces, and
//! compared with what
//! Debian's keepalived 2.2.7 installs and leaves from the same file:
//! while running, after a reload, after a kill -9 and a restart, and
//! after a clean exit.
//!
//! Needs root (namespaces); keepalived for the comparison.

mod netns;

use std::collections::BTreeSet;
use std::fs;

use netns::daemon::{Daemon, Scratch, start_pair};
use netns::keepalived::{Keepalived, have_keepalived};
use netns::{Lan, Netns, wait_until};

/// Every rule option keepalived reads that the kernel takes without a
/// VRF, and each kind of action; one rule without a preference (keepalived
/// gives it 16384).
const STATICS: &str = "\
global_defs {
  default_interface eth1
}
static_ipaddress {
  198.51.100.10/24 brd + dev eth1
  198.51.100.11/24 brd - dev eth1
  198.51.100.12/24
  2001:db8:1::10/64 dev eth1
}
static_routes {
  203.0.113.0/24 via 198.51.100.1 dev eth1 table 100
  blackhole 203.0.113.128/25 table 100
}
static_rules {
  from 198.51.100.0/24 table 100 preference 200
  to 203.0.113.0/24 fwmark 0x10/0xff iif eth1 tos 0x10 uidrange 1000-1999 lookup 100 preference 201
  from 2001:db8:1::/64 table 100 preference 202
  not to 198.51.100.0/24 ipproto tcp dport 80-90 sport 1000-2000 table 102 preference 203
  fwmark 7 goto 220 preference 204
  iif eth1 oif eth0 fwmark 8 prohibit preference 205
  from 192.0.2.0/24 realms 3/4 suppress_prefixlength 0 table main preference 206
  fwmark 9 unreachable preference 207 no_track
  fwmark 11 l3mdev preference 209
  from all nop preference 220
  from 198.51.100.64/26 table 100
}
";

fn instance(prio: u8, rules: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  \
         advert_int 1\n  promote_secondaries\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n  \
         virtual_rules {{\n{rules}  }}\n}}\n"
    )
}

const VRULES: &str = "    from 192.0.2.100 table 101 preference 300\n    to 192.0.2.0/24 fwmark 3 table 101 preference 301\n";

/// A node: `eth0` (192.0.2.1/24) and `eth1`, both veths with a carrier.
fn node(test: &str) -> Netns {
    Netns::with_eth0_eth1_no_dad(test, "192.0.2.1/24")
}

/// What the kernel holds that these options change, as `ip -j` reads it.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    /// eth1's global addresses: `local/len brd B scope S`.
    addrs: BTreeSet<String>,
    /// `ip -j rule` (both families), one JSON object per rule.
    rules: BTreeSet<String>,
    /// Table 100: `type dst gateway dev`.
    routes: BTreeSet<String>,
    /// `net.ipv4.conf.eth0.promote_secondaries`.
    promote: String,
}

fn json(ns: &Netns, args: &[&str]) -> serde_json::Value {
    // Not `ns.ip`: a table that never had a route "does not exist".
    let out = ns.exec(&[&["ip", "-j"][..], args].concat());
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn items(v: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    v.as_array().into_iter().flatten()
}

fn snapshot(ns: &Netns) -> Snapshot {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    let addrs = items(&json(ns, &["addr", "show", "dev", "eth1"]))
        .flat_map(|l| items(&l["addr_info"]))
        .filter(|a| a["scope"] != "link")
        .map(|a| {
            format!(
                "{}/{} brd {} scope {}",
                s(&a["local"]),
                a["prefixlen"],
                s(&a["broadcast"]),
                s(&a["scope"])
            )
        })
        .collect();
    let mut rules = BTreeSet::new();
    for fam in ["-4", "-6"] {
        for r in items(&json(ns, &[fam, "rule", "show"])) {
            rules.insert(format!("{fam} {r}"));
        }
    }
    let routes = items(&json(ns, &["route", "show", "table", "100"]))
        .map(|r| {
            format!(
                "{} {} via {} dev {}",
                r["type"].as_str().unwrap_or("unicast"),
                s(&r["dst"]),
                s(&r["gateway"]),
                s(&r["dev"])
            )
        })
        .collect();
    let promote = String::from_utf8_lossy(
        &ns.exec(&["cat", "/proc/sys/net/ipv4/conf/eth0/promote_secondaries"])
            .stdout,
    )
    .trim()
    .to_string();
    Snapshot {
        addrs,
        rules,
        routes,
        promote,
    }
}

fn has_rule(ns: &Netns, pref: u64) -> bool {
    ["-4", "-6"].iter().any(|fam| {
        items(&json(ns, &[fam, "rule", "show"])).any(|r| r["priority"].as_u64() == Some(pref))
    })
}

fn count_rule(ns: &Netns, pref: u64) -> usize {
    items(&json(ns, &["-4", "rule", "show"]))
        .filter(|r| r["priority"].as_u64() == Some(pref))
        .count()
}

#[test]
fn static_entries_and_virtual_rules_are_what_keepalived_installs_and_leaves() {
    let conf = format!("{STATICS}{}", instance(255, VRULES));
    let t = node("s7addr-t");
    let dir = Scratch::new("s7addr-statics");
    let path = dir.file("keepalived.conf", &conf);
    let before = snapshot(&t);
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(
        wait_until(10.0, || has_rule(&t, 300) && has_rule(&t, 16384)),
        "{}",
        d.log()
    );
    let tandem_running = snapshot(&t);
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    let tandem_after = snapshot(&t);

    // What each option does, read back from the kernel.
    let r = &tandem_running;
    for a in [
        "198.51.100.10/24 brd 198.51.100.255 scope global",
        "198.51.100.11/24 brd 198.51.100.0 scope global",
        // No dev: global_defs' default_interface (else eth0).
        "198.51.100.12/24 brd - scope global",
        "2001:db8:1::10/64 brd - scope global",
    ] {
        assert!(r.addrs.contains(a), "{a} not in {:?}", r.addrs);
    }
    assert!(
        r.routes
            .contains("unicast 203.0.113.0/24 via 198.51.100.1 dev eth1"),
        "{:?}",
        r.routes
    );
    assert!(
        r.routes.contains("blackhole 203.0.113.128/25 via - dev -"),
        "{:?}",
        r.routes
    );
    let rule = |pref: &str| {
        r.rules
            .iter()
            .find(|l| l.contains(&format!("\"priority\":{pref},")))
            .cloned()
            .unwrap_or_default()
    };
    for (pref, want) in [
        (
            "201",
            &[
                "\"dst\":\"203.0.113.0\"",
                "\"tos\":\"0x10\"",
                "\"fwmark\":\"0x10\"",
                "\"fwmask\":\"0xff\"",
                "\"iif\":\"eth1\"",
                "\"uid_start\":1000",
                "\"uid_end\":1999",
                "\"table\":\"100\"",
                "\"protocol\":\"keepalived\"",
            ][..],
        ),
        ("202", &["-6 ", "\"src\":\"2001:db8:1::\""]),
        (
            "203",
            &[
                "\"not\":null",
                "\"ipproto\":\"tcp\"",
                "\"sport_start\":1000",
                "\"dport_end\":90",
                "\"table\":\"102\"",
            ],
        ),
        ("204", &["\"fwmark\":\"0x7\"", "\"goto\":220"]),
        ("205", &["\"oif\":\"eth0\"", "\"action\":\"prohibit\""]),
        (
            "206",
            &[
                "\"flow_from\":\"3\"",
                "\"flow_to\":\"4\"",
                "\"suppress_prefixlen\":0",
                "\"table\":\"main\"",
            ],
        ),
        ("207", &["\"action\":\"unreachable\""]),
        ("209", &["\"l3mdev\":null"]),
        ("220", &["\"nop\":null"]),
        ("300", &["\"src\":\"192.0.2.100\"", "\"table\":\"101\""]),
        ("16384", &["\"src\":\"198.51.100.64\"", "\"srclen\":26"]),
    ] {
        let got = rule(pref);
        for w in want {
            assert!(got.contains(w), "rule {pref}: {w} not in {got:?}");
        }
    }
    // no_track: not keepalived's protocol.
    assert!(!rule("207").contains("keepalived"), "{}", rule("207"));
    assert_eq!(r.promote, "1");
    // Everything is gone at exit, and promote_secondaries is back.
    assert_eq!(tandem_after, before, "tandem left something behind");

    if !have_keepalived() {
        eprintln!("keepalived is not installed: comparison skipped");
        return;
    }
    let k = node("s7addr-k");
    let mut kd = Keepalived::start(&k, &path, &dir.0);
    assert!(
        wait_until(15.0, || has_rule(&k, 300) && has_rule(&k, 16384)),
        "keepalived never installed its rules:\n{}",
        fs::read_to_string(dir.0.join("keepalived.log")).unwrap_or_default()
    );
    let keepalived_running = snapshot(&k);
    kd.stop();
    let keepalived_after = snapshot(&k);
    assert_eq!(
        tandem_running, keepalived_running,
        "tandem and keepalived differ while running"
    );
    assert_eq!(
        tandem_after, keepalived_after,
        "tandem and keepalived leave different things at exit"
    );
}

#[test]
fn a_reload_changes_only_the_difference_and_a_restart_after_kill_takes_over() {
    let t = node("s7addr-r");
    let dir = Scratch::new("s7addr-reload");
    let conf = |statics: &str| format!("{statics}{}", instance(255, VRULES));
    let path = dir.file("tandem.conf", &conf(STATICS));
    let before = snapshot(&t);
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    assert!(wait_until(10.0, || has_rule(&t, 16384)), "{}", d.log());

    // The reload drops one address, one route and one rule, adds one of
    // each, and leaves the rest (a rule there since the start is not
    // removed and re-added: it stays single).
    let changed = STATICS
        .replace(
            "  198.51.100.11/24 brd - dev eth1\n",
            "  198.51.100.12/25 dev eth1\n",
        )
        .replace(
            "  blackhole 203.0.113.128/25 table 100\n",
            "  unreachable 203.0.113.64/26 table 100\n",
        )
        .replace(
            "  fwmark 7 goto 220 preference 204\n",
            "  fwmark 12 table 100 preference 210\n",
        );
    fs::write(&path, conf(&changed)).unwrap_or_else(|e| panic!("{e}"));
    d.signal("-HUP");
    assert!(
        wait_until(10.0, || has_rule(&t, 210) && !has_rule(&t, 204)),
        "{}",
        d.log()
    );
    let s = snapshot(&t);
    assert!(s.addrs.iter().any(|a| a.starts_with("198.51.100.12/25")));
    assert!(!s.addrs.iter().any(|a| a.starts_with("198.51.100.11/")));
    assert!(
        s.routes
            .iter()
            .any(|r| r.starts_with("unreachable 203.0.113.64/26"))
    );
    assert!(!s.routes.iter().any(|r| r.starts_with("blackhole")));
    assert_eq!(count_rule(&t, 200), 1);

    // Deleted by hand: the tracked entries are put back (keepalived's
    // "Restoring deleted static ..."); the no_track rule stays gone.
    t.ip(&["addr", "del", "198.51.100.10/24", "dev", "eth1"]);
    t.ip(&["route", "del", "203.0.113.0/24", "table", "100"]);
    t.ip(&["rule", "del", "pref", "201"]);
    t.ip(&["rule", "del", "pref", "207"]);
    assert!(
        wait_until(5.0, || {
            let s = snapshot(&t);
            s.addrs.iter().any(|a| a.starts_with("198.51.100.10/24"))
                && s.routes
                    .iter()
                    .any(|r| r.starts_with("unicast 203.0.113.0/24"))
                && has_rule(&t, 201)
        }),
        "{:?}\n{}",
        snapshot(&t),
        d.log()
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!has_rule(&t, 207), "the no_track rule was put back");

    // kill -9: everything stays; a restart takes it over without doubles,
    // and its clean exit removes it all.
    d.signal("-KILL");
    d.wait(5.0);
    assert!(has_rule(&t, 200) && has_rule(&t, 300));
    let mut d = Daemon::start(&t, &path, dir.0.join("t2.log"));
    assert!(
        wait_until(10.0, || d.log().contains("tandem started")),
        "{}",
        d.log()
    );
    assert!(wait_until(5.0, || has_rule(&t, 300)), "{}", d.log());
    for pref in [200, 201, 210, 300, 16384] {
        assert_eq!(count_rule(&t, pref), 1, "rule {pref} twice:\n{}", d.log());
    }
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    // promote_secondaries was already 1 when the restart began (the
    // killed run set it): left as found, as keepalived leaves it.
    let after = snapshot(&t);
    assert_eq!(after.promote, "1");
    assert_eq!(
        Snapshot {
            promote: before.promote.clone(),
            ..after
        },
        before,
        "left behind after the restart's exit"
    );
}

#[test]
fn virtual_rules_follow_the_master_and_static_rules_stay_on_both() {
    let lan = Lan::new("s7addr-vr", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("s7addr-vr");
    let conf = |prio: u8| {
        format!(
            "static_rules {{\n  from 198.51.100.0/24 table 100 preference 200\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 52\n  priority {prio}\n  \
             version 3\n  advert_int 0.2\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n  \
             virtual_rules {{\n{VRULES}  }}\n}}\n"
        )
    };
    let (d1, mut d2) = start_pair(&dir, lb1, &conf(150), lb2, &conf(100));
    assert!(wait_until(5.0, || has_rule(lb1, 300)), "{}", d1.log());
    assert!(wait_until(3.0, || has_rule(lb2, 200)), "{}", d2.log());
    // The backup: its static rule, none of the virtual ones.
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(!has_rule(lb2, 300) && !has_rule(lb2, 301), "{}", d2.log());
    assert!(has_rule(lb1, 200) && has_rule(lb1, 301));
    // A reload that changes one virtual rule of the master: that one is
    // replaced in place, the master stays master.
    let changed = conf(150).replace(
        "fwmark 3 table 101 preference 301",
        "fwmark 4 table 101 preference 302",
    );
    std::fs::write(dir.0.join("lb1.conf"), changed).unwrap_or_else(|e| panic!("{e}"));
    d1.signal("-HUP");
    assert!(
        wait_until(5.0, || has_rule(lb1, 302) && !has_rule(lb1, 301)),
        "{}",
        d1.log()
    );
    assert!(has_rule(lb1, 300));
    assert_eq!(d1.status()["vrrp_instances"][0]["state"], "MASTER");
    // The master dies: the rules move with the VIP.
    drop(d1);
    assert!(
        wait_until(5.0, || has_rule(lb2, 300) && has_rule(lb2, 301)),
        "{}",
        d2.log()
    );
    d2.signal("-TERM");
    assert_eq!(d2.wait(20.0), Some(0), "{}", d2.log());
    assert!(!has_rule(lb2, 300) && !has_rule(lb2, 200));
}
