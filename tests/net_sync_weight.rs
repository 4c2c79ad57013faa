//! `sync_group_tracking_weight` on the real kernel, tandem and Debian's
//! keepalived side by side with the same file: a sync group member tracks
//! a script of its own that fails (`/bin/false`, weight -30) and an
//! interface of its own (eth1, weight -20). With the flag both weights
//! count: adverts at priority 70, then 50 once eth1 loses its carrier.
//! Without it (keepalived's default, where members keep one priority) the
//! weighted script is not tracked, and the interface's weight still counts
//! (keepalived 2.2.7 logs that it ignores it, yet applies it): 100, then
//! 80. The priority is read by tcpdump on the far end of the advert link,
//! an independent reader.
//!
//! Needs root (namespaces).

mod netns;

use netns::daemon::{Daemon, Scratch, check_config_accepts};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

fn conf(flag: bool) -> String {
    let flag = if flag {
        "  sync_group_tracking_weight\n"
    } else {
        ""
    };
    format!(
        "vrrp_script chk {{
  script /bin/false
  interval 1
  weight -30
}}
vrrp_sync_group G {{
  group {{
    VI_1
  }}
{flag}}}
vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 66
  priority 100
  advert_int 1
  track_interface {{
    eth1 weight -20
  }}
  track_script {{
    chk
  }}
  virtual_ipaddress {{
    192.0.2.100/24
  }}
}}
"
    )
}

/// The priorities of the VRRP adverts tcpdump reads on eth0p within `secs`.
fn advert_priorities(ns: &Netns, secs: u32) -> Vec<u32> {
    let out = ns
        .command("timeout")
        .args([
            &secs.to_string(),
            "tcpdump",
            "-l",
            "-nn",
            "-i",
            "eth0p",
            "ip proto 112",
        ])
        .output()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("prio ").nth(1))
        .filter_map(|t| t.split(',').next()?.trim().parse().ok())
        .collect()
}

/// eth0 for the adverts and eth1 to track, each a veth whose peer is up.
fn node(test: &str) -> Netns {
    Netns::with_eth0_eth1(test, "192.0.2.1/24")
}

/// Adverts at `before`, then eth1's carrier gone: the priorities of the
/// adverts that follow.
fn after_carrier_loss(ns: &Netns, before: u32, log: impl Fn() -> String) -> Vec<u32> {
    let steady = wait_until(20.0, || advert_priorities(ns, 2).contains(&before));
    assert!(steady, "no advert at priority {before}:\n{}", log());
    ns.ip(&["link", "set", "eth1p", "down"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    advert_priorities(ns, 4)
}

/// The priorities before and after the carrier loss.
fn expected(flag: bool) -> (u32, u32) {
    if flag { (70, 50) } else { (100, 80) }
}

fn tandem(test: &str, flag: bool) -> Vec<u32> {
    let ns = node(test);
    let dir = Scratch::new(test);
    let path = dir.file("keepalived.conf", &conf(flag));
    let said = check_config_accepts(&path);
    // Without the flag, check-config says the script is not tracked.
    assert_eq!(
        !flag,
        said.contains("keepalived does not track it"),
        "{said}"
    );
    let mut d = Daemon::start(&ns, &path, dir.0.join("t.log"));
    let prios = after_carrier_loss(&ns, expected(flag).0, || d.log());
    let state = d.status()["vrrp_instances"][0]["state"].clone();
    assert_eq!(state, "MASTER", "{}", d.log());
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    prios
}

fn keepalived(test: &str, flag: bool) -> Option<Vec<u32>> {
    if !require_keepalived() {
        return None;
    }
    let ns = node(test);
    let dir = Scratch::new(test);
    let path = dir.file("keepalived.conf", &conf(flag));
    let mut k = Keepalived::start(&ns, &path, &dir.0);
    let prios = after_carrier_loss(&ns, expected(flag).0, || k.log());
    k.stop();
    Some(prios)
}

fn compare(flag: bool) {
    let after = expected(flag).1;
    let name = if flag { "sgtw1" } else { "sgtw0" };
    let t = tandem(&format!("{name}-t"), flag);
    assert!(
        !t.is_empty() && t.iter().all(|&p| p == after),
        "tandem: {t:?}"
    );
    if let Some(k) = keepalived(&format!("{name}-k"), flag) {
        assert!(
            !k.is_empty() && k.iter().all(|&p| p == after),
            "keepalived: {k:?}"
        );
    }
}

#[test]
fn with_the_flag_member_weights_move_the_priority() {
    compare(true);
}

#[test]
fn without_the_flag_a_weighted_member_script_is_not_tracked() {
    compare(false);
}
