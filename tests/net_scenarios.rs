//! `tandem run` scenarios beyond the basic failover: IPv6 (VRRPv3, NA),
//! unicast peers with a rogue router, track_interface, sync groups.

mod netns;

use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::{Lan, Netns, wait_until};

fn has(ns: &Netns, addr: &str) -> bool {
    ns.has_addr("eth0", addr)
}

/// A link whose carrier the test controls: `NAME` is tracked, taking its
/// veth peer `NAME-p` down removes the carrier (this kernel has no dummy
/// links).
fn tracked_link(ns: &Netns, name: &str) {
    let peer = format!("{name}-p");
    ns.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer]);
    ns.ip(&["link", "set", name, "up"]);
    ns.ip(&["link", "set", &peer, "up"]);
    ns.wait_oper_up(name);
}

#[test]
fn ipv6_vrrpv3_failover_moves_the_neighbour_entry() {
    const VIP6: &str = "2001:db8::100";
    let lan = Lan::new("sc-v6", 3);
    let (lb1, lb2, client) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let dir = Scratch::new("sc-v6");
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_6 {{\n interface eth0\n virtual_router_id 61\n priority {prio}\n advert_int 0.2\n virtual_ipaddress {{\n  {VIP6}/64\n }}\n}}\n"
        )
    };
    let d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150)),
        dir.0.join("lb1.log"),
    );
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(100)),
        dir.0.join("lb2.log"),
    );
    assert!(
        wait_until(5.0, || has(lb1, VIP6)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(!has(lb2, VIP6));
    let ping = || {
        client
            .exec(&["ping", "-6", "-c", "1", "-W", "1", VIP6])
            .status
            .success()
    };
    assert!(wait_until(5.0, ping), "the IPv6 VIP does not answer");
    let neigh =
        || String::from_utf8_lossy(&client.ip(&["-6", "neigh", "show", VIP6]).stdout).to_string();
    assert!(neigh().contains(&lb1.mac("eth0")), "{}", neigh());

    d1.signal("-9");
    lb1.ip(&["link", "set", "eth0", "down"]);
    assert!(wait_until(4.0, || has(lb2, VIP6)), "{}", d2.log());
    // The unsolicited NA (Override) moved the client's entry to lb2.
    assert!(
        wait_until(4.0, || neigh().contains(&lb2.mac("eth0"))),
        "client still has {}",
        neigh()
    );
    assert!(wait_until(5.0, ping));
}

#[test]
fn unicast_peers_ignore_a_rogue_router_and_count_its_adverts() {
    const VIP: &str = "203.0.113.20";
    let lan = Lan::new("sc-uni", 3);
    let (lb1, lb2, rogue) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let dir = Scratch::new("sc-uni");
    let conf = |prio: u8, me: &str, peers: &[&str]| {
        let peers: String = peers.iter().map(|p| format!("  {p}\n")).collect();
        format!(
            "vrrp_instance VI_U {{\n interface eth0\n virtual_router_id 71\n priority {prio}\n version 3\n advert_int 0.2\n unicast_src_ip {me}\n unicast_peer {{\n{peers} }}\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
        )
    };
    let d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150, "192.0.2.1", &["192.0.2.2"])),
        dir.0.join("lb1.log"),
    );
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(100, "192.0.2.2", &["192.0.2.1"])),
        dir.0.join("lb2.log"),
    );
    assert!(
        wait_until(5.0, || has(lb1, VIP)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(!has(lb2, VIP));

    // A router the pair does not list, with a higher priority, sending
    // unicast adverts to both: it must change nothing.
    let dr = Daemon::start(
        rogue,
        &dir.file(
            "rogue.conf",
            &conf(250, "192.0.2.3", &["192.0.2.1", "192.0.2.2"]),
        ),
        dir.0.join("rogue.log"),
    );
    assert!(
        wait_until(5.0, || dr.log().contains("Entering MASTER STATE")),
        "{}",
        dr.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        has(lb1, VIP),
        "lb1 gave up the VIP to an unlisted router\n{}",
        d1.log()
    );
    assert!(!has(lb2, VIP), "{}", d2.log());
    assert!(
        !d1.log()
            .contains("Entering BACKUP STATE (received a higher-priority advert)")
    );
    assert!(
        d1.log().contains("source not in unicast_peer"),
        "{}",
        d1.log()
    );

    // The drops are counted (SIGUSR1 logs the counters).
    d1.signal("-USR1");
    assert!(
        wait_until(3.0, || {
            d1.log().lines().any(|l| {
                l.contains("VRRP_Instance(VI_U) stats") && !l.contains("unicast_peer_drops=0")
            })
        }),
        "{}",
        d1.log()
    );
}

#[test]
fn track_interface_down_puts_the_master_in_fault() {
    const VIP: &str = "203.0.113.30";
    let lan = Lan::new("sc-trk", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    // An "inner" link on each balancer whose state is tracked.
    tracked_link(lb1, "inner0");
    tracked_link(lb2, "inner0");
    let dir = Scratch::new("sc-trk");
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_T {{\n interface eth0\n virtual_router_id 81\n priority {prio}\n version 3\n advert_int 0.2\n track_interface {{\n  inner0\n }}\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
        )
    };
    let d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150)),
        dir.0.join("lb1.log"),
    );
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(100)),
        dir.0.join("lb2.log"),
    );
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());

    lb1.ip(&["link", "set", "inner0-p", "down"]); // inner0 loses carrier
    assert!(
        wait_until(3.0, || has(lb2, VIP)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(
        wait_until(2.0, || !has(lb1, VIP)),
        "lb1 kept the VIP in FAULT"
    );
    assert!(
        d1.log()
            .contains("VRRP_Instance(VI_T) Entering FAULT STATE"),
        "{}",
        d1.log()
    );

    lb1.ip(&["link", "set", "inner0-p", "up"]);
    // Back from FAULT with the higher priority: lb1 preempts.
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());
    assert!(wait_until(2.0, || !has(lb2, VIP)));
}

#[test]
fn a_sync_group_moves_together() {
    const OUTER: &str = "203.0.113.40";
    const INNER: &str = "198.51.100.40";
    let lan = Lan::new("sc-sync", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    for lb in [lb1, lb2] {
        tracked_link(lb, "trk0");
    }
    let dir = Scratch::new("sc-sync");
    let notify = dir.0.join("group-notify");
    let conf = |prio: u8| {
        format!(
            "vrrp_sync_group G_LVS {{\n group {{\n  VI_OUT\n  VI_IN\n }}\n notify \"/bin/sh -c 'echo \\\"$@\\\" >> {n}' x\"\n}}\n\
             vrrp_instance VI_OUT {{\n interface eth0\n virtual_router_id 91\n priority {prio}\n version 3\n advert_int 0.2\n virtual_ipaddress {{\n  {OUTER}/24\n }}\n}}\n\
             vrrp_instance VI_IN {{\n interface eth0\n virtual_router_id 92\n priority {prio}\n version 3\n advert_int 0.2\n track_interface {{\n  trk0\n }}\n virtual_ipaddress {{\n  {INNER}/24\n }}\n}}\n",
            n = notify.display()
        )
    };
    let d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150)),
        dir.0.join("lb1.log"),
    );
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(100)),
        dir.0.join("lb2.log"),
    );
    assert!(
        wait_until(5.0, || has(lb1, OUTER) && has(lb1, INNER)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(!has(lb2, OUTER) && !has(lb2, INNER));
    assert!(wait_until(2.0, || d1.log().contains(
        "VRRP_Group(G_LVS) Syncing instances to MASTER state"
    )));
    assert!(wait_until(2.0, || std::fs::read_to_string(&notify)
        .unwrap_or_default()
        .contains("GROUP G_LVS MASTER")));

    // Only VI_IN's tracked link fails; the group takes VI_OUT along.
    lb1.ip(&["link", "set", "trk0-p", "down"]);
    assert!(
        wait_until(4.0, || has(lb2, OUTER) && has(lb2, INNER)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(
        wait_until(2.0, || !has(lb1, OUTER) && !has(lb1, INNER)),
        "{}",
        d1.log()
    );
    assert!(wait_until(2.0, || std::fs::read_to_string(&notify)
        .unwrap_or_default()
        .contains("GROUP G_LVS FAULT")));
}

#[test]
fn a_failing_track_script_hands_the_vip_over() {
    const VIP: &str = "203.0.113.50";
    let lan = Lan::new("sc-scr", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("sc-scr");
    let flag = dir.0.join("healthy");
    std::fs::write(&flag, "").unwrap_or_else(|e| panic!("{e}"));
    let conf = |prio: u8, flag: &std::path::Path| {
        format!(
            "vrrp_script chk {{\n script \"/usr/bin/test -e {f}\"\n interval 1\n fall 1\n rise 1\n}}\n\
             vrrp_instance VI_S {{\n interface eth0\n virtual_router_id 95\n priority {prio}\n version 3\n advert_int 0.2\n track_script {{\n  chk\n }}\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n",
            f = flag.display()
        )
    };
    let d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150, &flag)),
        dir.0.join("lb1.log"),
    );
    // lb2's check always passes.
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(100, &dir.0)),
        dir.0.join("lb2.log"),
    );
    assert!(
        wait_until(5.0, || has(lb1, VIP)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(!has(lb2, VIP));

    std::fs::remove_file(&flag).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        wait_until(5.0, || has(lb2, VIP)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(wait_until(2.0, || !has(lb1, VIP)));
    assert!(d1.log().contains("VRRP_Script(chk) failed"), "{}", d1.log());
    assert!(d1.log().contains("Entering FAULT STATE"), "{}", d1.log());

    std::fs::write(&flag, "").unwrap_or_else(|e| panic!("{e}"));
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());
}
