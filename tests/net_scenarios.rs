//! `tandem run` scenarios beyond the basic failover: IPv6 (VRRPv3, NA),
//! unicast peers with a rogue router, track_interface, sync groups.

mod netns;

use std::time::Duration;

use netns::daemon::{Daemon, Scratch, start_pair};
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
    let (d1, d2) = start_pair(&dir, lb1, &conf(150), lb2, &conf(100));
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
    let (d1, d2) = start_pair(
        &dir,
        lb1,
        &conf(150, "192.0.2.1", &["192.0.2.2"]),
        lb2,
        &conf(100, "192.0.2.2", &["192.0.2.1"]),
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
    let (d1, d2) = start_pair(&dir, lb1, &conf(150), lb2, &conf(100));
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
    let (d1, d2) = start_pair(&dir, lb1, &conf(150), lb2, &conf(100));
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
    // lb2's check always passes.
    let (d1, d2) = start_pair(&dir, lb1, &conf(150, &flag), lb2, &conf(100, &dir.0));
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

#[test]
fn a_hanging_notify_script_does_not_stop_the_adverts() {
    const VIP: &str = "203.0.113.60";
    let lan = Lan::new("sc-hang", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("sc-hang");
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_H {{\n interface eth0\n virtual_router_id 96\n priority {prio}\n version 3\n advert_int 0.2\n notify_master \"/bin/sleep 30\"\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
        )
    };
    let d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150)),
        dir.0.join("lb1.log"),
    );
    d1.wait_started();
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());
    // lb1's notify_master now sleeps; lb1 must keep advertising, so lb2,
    // started after, stays backup well past its Master_Down_Interval (~0.7 s).
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(100)),
        dir.0.join("lb2.log"),
    );
    assert!(wait_until(3.0, || d2
        .log()
        .contains("Entering BACKUP STATE")));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !has(lb2, VIP),
        "lb2 took over while lb1's script ran\n{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(!d2.log().contains("Entering MASTER STATE"), "{}", d2.log());
    assert!(has(lb1, VIP));
}

#[test]
fn gratuitous_arp_rounds_follow_repeat_and_delay() {
    const VIP: &str = "203.0.113.70";
    let lan = Lan::new("sc-garp", 2);
    let (lb1, client) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("sc-garp");
    let cap = dir.0.join("arp.txt");
    let capture = std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}"));
    let listening = dir.0.join("tcpdump.err");
    let mut tcpdump = client
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "-e", "-tt", "arp"])
        .stdout(capture)
        .stderr(std::fs::File::create(&listening).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    assert!(wait_until(5.0, || std::fs::read_to_string(&listening)
        .unwrap_or_default()
        .contains("listening")));
    let conf = format!(
        "vrrp_instance VI_G {{\n interface eth0\n virtual_router_id 97\n priority 150\n version 3\n advert_int 0.2\n garp_master_delay 1\n garp_master_repeat 3\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
    );
    let d1 = Daemon::start(lb1, &dir.file("lb1.conf", &conf), dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());
    // Capture timestamps (tcpdump -tt) of the announcements for the VIP.
    let times = || -> Vec<f64> {
        std::fs::read_to_string(&cap)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&format!("who-has {VIP}")) && l.contains(&format!("tell {VIP}")))
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect()
    };
    assert!(wait_until(5.0, || times().len() >= 6), "{:?}", times());
    std::thread::sleep(Duration::from_millis(1500));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let t = times();
    // garp_master_repeat 3 at once, 3 more after garp_master_delay 1 s, then no more.
    assert_eq!(t.len(), 6, "{t:?}");
    assert!(t[2] - t[0] < 0.3, "first round spread out: {t:?}");
    assert!(t[5] - t[3] < 0.3, "second round spread out: {t:?}");
    let gap = t[3] - t[2];
    assert!(
        (0.7..1.5).contains(&gap),
        "second round {gap:.3}s after the first: {t:?}"
    );
    let text = std::fs::read_to_string(&cap).unwrap_or_default();
    assert!(
        text.contains(&lb1.mac("eth0")),
        "sent from lb1's MAC: {text}"
    );
    // The counter status and metrics report is what went on the wire.
    assert!(
        wait_until(3.0, || d1.counter("gratuitous_arps_sent") == Some(6)),
        "gratuitous_arps_sent {:?}, tcpdump saw {}\n{}",
        d1.counter("gratuitous_arps_sent"),
        t.len(),
        d1.log()
    );
}

/// tcpdump capturing ARP on the client's eth0 with link-level headers and
/// timestamps; waits until it listens.
fn arp_capture(client: &Netns, dir: &Scratch) -> (std::process::Child, std::path::PathBuf) {
    let cap = dir.0.join("arp.txt");
    let listening = dir.0.join("tcpdump.err");
    let tcpdump = client
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "-e", "-tt", "arp"])
        .stdout(std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&listening).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    assert!(wait_until(5.0, || std::fs::read_to_string(&listening)
        .unwrap_or_default()
        .contains("listening")));
    (tcpdump, cap)
}

/// Timestamps of the gratuitous ARPs for `vip` sent from `mac`.
fn garp_times(cap: &std::path::Path, vip: &str, mac: &str) -> Vec<f64> {
    std::fs::read_to_string(cap)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("who-has {vip} ")) && l.contains(&format!("tell {vip}")))
        .filter(|l| l.split_whitespace().nth(1) == Some(mac))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn garp_master_refresh_repeats_while_master_and_stops_after() {
    const VIP: &str = "203.0.113.75";
    let lan = Lan::new("sc-refr", 3);
    let (lb1, lb2, client) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let dir = Scratch::new("sc-refr");
    let (mut tcpdump, cap) = arp_capture(client, &dir);
    // One announcement on becoming master (no delayed second round), then
    // two every second while master.
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_F {{\n interface eth0\n virtual_router_id 96\n priority {prio}\n version 3\n advert_int 0.2\n garp_master_delay 0\n garp_master_repeat 1\n garp_master_refresh 1\n garp_master_refresh_repeat 2\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
        )
    };
    let d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150)),
        dir.0.join("lb1.log"),
    );
    d1.wait_started();
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());
    let mac1 = lb1.mac("eth0");
    let t1 = || garp_times(&cap, VIP, &mac1);
    // The first announcement and three refresh rounds.
    assert!(
        wait_until(6.0, || t1().len() >= 7),
        "{:?}\n{}",
        t1(),
        d1.log()
    );
    let t = t1();
    let rounds: Vec<&[f64]> = {
        // Split into rounds: a gap of more than 0.5 s starts a new one.
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..=t.len() {
            if i == t.len() || t[i] - t[i - 1] > 0.5 {
                out.push(&t[start..i]);
                start = i;
            }
        }
        out
    };
    assert_eq!(
        rounds[0].len(),
        1,
        "garp_master_repeat 1 on becoming master: {t:?}"
    );
    for r in &rounds[1..rounds.len() - 1] {
        assert_eq!(
            r.len(),
            2,
            "garp_master_refresh_repeat 2 per refresh: {t:?}"
        );
    }
    for w in rounds.windows(2) {
        let gap = w[1][0] - w[0][0];
        assert!(
            (0.6..1.8).contains(&gap),
            "refresh rounds {gap:.3}s apart, not ~1s: {t:?}"
        );
    }

    // A higher-priority router takes over: lb1 steps down and its refresh stops.
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(200)),
        dir.0.join("lb2.log"),
    );
    assert!(
        wait_until(5.0, || has(lb2, VIP) && !has(lb1, VIP)),
        "{}\n{}",
        d1.log(),
        d2.log()
    );
    assert!(d1.log().contains("Entering BACKUP STATE"), "{}", d1.log());
    // A burst already past its lock may still land just after the removal.
    std::thread::sleep(Duration::from_millis(200));
    let after_step_down = t1().len();
    std::thread::sleep(Duration::from_millis(2500));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    assert_eq!(
        t1().len(),
        after_step_down,
        "lb1 kept refreshing as backup: {:?}",
        t1()
    );
    // The new master refreshes in its turn.
    let t2 = garp_times(&cap, VIP, &lb2.mac("eth0"));
    assert!(t2.len() >= 3, "lb2 did not refresh: {t2:?}");
    assert_eq!(
        d1.counter("gratuitous_arps_sent"),
        Some(after_step_down as u64),
        "lb1's counter against tcpdump"
    );
}

#[test]
fn mcast_src_ip_sets_the_advert_source_and_ttl_is_255() {
    let lan = Lan::new("sc-src", 2);
    let (lb1, watcher) = (&lan.nodes[0], &lan.nodes[1]);
    lb1.ip(&["addr", "add", "192.0.2.51/24", "dev", "eth0"]);
    let dir = Scratch::new("sc-src");
    let cap = dir.0.join("vrrp.txt");
    let err = dir.0.join("tcpdump.err");
    let mut tcpdump = watcher
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "-v", "ip proto 112"])
        .stdout(std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&err).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    assert!(wait_until(5.0, || std::fs::read_to_string(&err)
        .unwrap_or_default()
        .contains("listening")));
    let conf = "vrrp_instance VI_M {\n interface eth0\n virtual_router_id 98\n priority 150\n advert_int 1\n mcast_src_ip 192.0.2.51\n virtual_ipaddress {\n  203.0.113.80/24\n }\n}\n";
    let d1 = Daemon::start(lb1, &dir.file("lb1.conf", conf), dir.0.join("lb1.log"));
    d1.wait_started();
    let text = || std::fs::read_to_string(&cap).unwrap_or_default();
    assert!(
        wait_until(8.0, || text().contains("192.0.2.51 > 224.0.0.18")),
        "{}\n{}",
        text(),
        d1.log()
    );
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let t = text();
    assert!(t.contains("ttl 255"), "{t}");
    assert!(
        !t.contains("192.0.2.1 > 224.0.0.18"),
        "sent from the primary address: {t}"
    );
    assert!(t.contains("vrid 98"), "{t}");
}

#[test]
fn virtual_routes_follow_the_master() {
    const VIP: &str = "203.0.113.90";
    let lan = Lan::new("sc-rt", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("sc-rt");
    let conf = |prio: u8| {
        format!(
            "vrrp_instance VI_R {{\n interface eth0\n virtual_router_id 99\n priority {prio}\n version 3\n advert_int 0.2\n virtual_ipaddress {{\n  {VIP}/24\n }}\n virtual_ipaddress_excluded {{\n  198.51.100.90/24\n }}\n virtual_routes {{\n  198.51.100.0/24 via 203.0.113.254 dev eth0 metric 5\n  blackhole 198.51.100.128/25 table 100\n  default via 203.0.113.254 dev eth0 table 100\n }}\n}}\n"
        )
    };
    let routes = |ns: &Netns| {
        let main = String::from_utf8_lossy(&ns.ip(&["route", "show"]).stdout).to_string();
        // Not `ns.ip`: a table that never had a route "does not exist".
        let t100 =
            String::from_utf8_lossy(&ns.exec(&["ip", "route", "show", "table", "100"]).stdout)
                .to_string();
        (
            main.contains("198.51.100.0/24 via 203.0.113.254 dev eth0"),
            t100.contains("blackhole 198.51.100.128/25"),
            // keepalived's `default` destination
            t100.contains("default via 203.0.113.254 dev eth0"),
        )
    };
    // lb2 watches the adverts on the wire.
    let cap = dir.0.join("vrrp.txt");
    let err = dir.0.join("tcpdump.err");
    let mut tcpdump = lb2
        .command("tcpdump")
        .args(["-i", "eth0", "-n", "-l", "-v", "ip proto 112"])
        .stdout(std::fs::File::create(&cap).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&err).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("tcpdump: {e}"));
    assert!(wait_until(5.0, || std::fs::read_to_string(&err)
        .unwrap_or_default()
        .contains("listening")));
    let (d1, mut d2) = start_pair(&dir, lb1, &conf(150), lb2, &conf(100));
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());
    // virtual_ipaddress_excluded is not carried in the adverts.
    let adverts = || std::fs::read_to_string(&cap).unwrap_or_default();
    assert!(
        wait_until(3.0, || adverts().contains(&format!("addrs: {VIP}"))),
        "{}",
        adverts()
    );
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let seen = adverts();
    assert!(
        seen.lines()
            .filter(|l| l.contains("addrs"))
            .all(|l| l.trim_end().ends_with(&format!("addrs: {VIP}"))),
        "an advert carried more than {VIP}:\n{seen}"
    );
    assert!(!seen.contains("198.51.100.90"), "{seen}");
    assert!(
        wait_until(2.0, || routes(lb1) == (true, true, true)),
        "{:?}\n{}",
        routes(lb1),
        d1.log()
    );
    assert_eq!(routes(lb2), (false, false, false));
    // virtual_ipaddress_excluded: held by the master, though not advertised.
    assert!(has(lb1, "198.51.100.90"));
    assert!(!has(lb2, "198.51.100.90"));

    d1.signal("-TERM");
    assert!(
        wait_until(5.0, || routes(lb2) == (true, true, true)),
        "{}",
        d2.log()
    );
    assert!(
        wait_until(5.0, || routes(lb1) == (false, false, false)),
        "{:?}",
        routes(lb1)
    );
    d2.signal("-TERM");
    assert_eq!(d2.wait(10.0), Some(0));
    assert_eq!(
        routes(lb2),
        (false, false, false),
        "routes left behind after stop"
    );
}

/// Send one VRRPv2 advert for VRID 51 with `priority` from the namespace,
/// out of eth0 to 224.0.0.18 with the given TTL.
fn inject_advert(ns: &Netns, priority: u8, ttl: u32) {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use tandem::vrrp::{Auth, CodecOptions, Version, VrrpRepr};
    ns.run_in(move || {
        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
        let repr = VrrpRepr {
            version: Version::V2,
            vrid: 51,
            priority,
            max_adver_int: 100,
            auth: Auth::None,
            addresses: vec![IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10))],
        };
        let bytes = repr
            .to_bytes(src, dst, CodecOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let s = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::RAW,
            Some(socket2::Protocol::from(112)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        s.bind_device(Some(b"eth0"))
            .unwrap_or_else(|e| panic!("{e}"));
        s.set_multicast_ttl_v4(ttl)
            .unwrap_or_else(|e| panic!("{e}"));
        s.bind(&SocketAddr::new(src, 0).into())
            .unwrap_or_else(|e| panic!("{e}"));
        s.send_to(&bytes, &SocketAddr::new(dst, 0).into())
            .unwrap_or_else(|e| panic!("{e}"));
    })
    .join()
    .unwrap_or_else(|_| panic!("injector"));
}

#[test]
fn an_off_link_advert_is_counted_and_changes_nothing() {
    const VIP: &str = "203.0.113.10";
    let lan = Lan::new("sc-ttl", 2);
    let (lb1, attacker) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("sc-ttl");
    let conf = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 100\n advert_int 1\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
    );
    let d1 = Daemon::start(lb1, &dir.file("lb1.conf", &conf), dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(wait_until(8.0, || has(lb1, VIP)), "{}", d1.log());

    // Priority 254 but TTL 64: came from off the link (RFC 5798 §7.1).
    inject_advert(attacker, 254, 64);
    std::thread::sleep(Duration::from_millis(500));
    assert!(has(lb1, VIP), "{}", d1.log());
    assert!(
        d1.log().contains("TTL/hop limit 64 is not 255"),
        "{}",
        d1.log()
    );
    d1.signal("-USR1");
    assert!(
        wait_until(3.0, || d1.log().contains("\"ip_ttl_errors\":1")),
        "{}",
        d1.log()
    );

    // The same advert with TTL 255 is accepted: lb1 steps down.
    inject_advert(attacker, 254, 255);
    assert!(
        wait_until(3.0, || d1.log().contains(
            "Entering BACKUP STATE (received a higher-priority advert)"
        )),
        "{}",
        d1.log()
    );
    assert!(wait_until(2.0, || !has(lb1, VIP)));
}

#[test]
fn starting_with_the_interface_down_waits_in_fault() {
    const VIP: &str = "203.0.113.15";
    let lan = Lan::new("sc-down", 1);
    let lb1 = &lan.nodes[0];
    lb1.ip(&["link", "set", "eth0", "down"]);
    let dir = Scratch::new("sc-down");
    let conf = format!(
        "vrrp_instance VI_D {{\n interface eth0\n virtual_router_id 52\n priority 100\n version 3\n advert_int 0.2\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
    );
    let d1 = Daemon::start(lb1, &dir.file("lb1.conf", &conf), dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(
        wait_until(3.0, || d1
            .log()
            .contains("VRRP_Instance(VI_D) Entering FAULT STATE")),
        "{}",
        d1.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(!has(lb1, VIP), "a node in FAULT took the VIP");
    lb1.ip(&["link", "set", "eth0", "up"]);
    assert!(wait_until(5.0, || has(lb1, VIP)), "{}", d1.log());
    assert!(
        d1.log().contains("Entering BACKUP STATE (fault cleared)"),
        "{}",
        d1.log()
    );
}

#[test]
fn an_address_owner_never_removes_its_own_address() {
    let lan = Lan::new("sc-own", 1);
    let lb1 = &lan.nodes[0];
    let dir = Scratch::new("sc-own");
    // 192.0.2.1 is lb1's own address: lb1 is its owner (priority 255).
    let conf = "vrrp_instance VI_O {\n interface eth0\n virtual_router_id 53\n priority 255\n version 3\n advert_int 0.2\n virtual_ipaddress {\n  192.0.2.1/24\n  203.0.113.77/24\n }\n}\n";
    let mut d1 = Daemon::start(lb1, &dir.file("lb1.conf", conf), dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(wait_until(3.0, || has(lb1, "203.0.113.77")), "{}", d1.log());
    assert!(
        d1.log().contains("Entering MASTER STATE (startup)"),
        "{}",
        d1.log()
    );
    d1.signal("-TERM");
    assert_eq!(d1.wait(10.0), Some(0), "{}", d1.log());
    assert!(!has(lb1, "203.0.113.77"), "the added VIP stays after stop");
    assert!(has(lb1, "192.0.2.1"), "the owner's own address was removed");
}

/// keepalived's answer to a lower-priority advert, through the daemon: a
/// master that hears one sends `garp_lower_prio_repeat` gratuitous ARPs at
/// once and the same again `garp_lower_prio_delay` later.
#[test]
fn a_lower_priority_advert_gets_garp_now_and_after_garp_lower_prio_delay() {
    const VIP: &str = "203.0.113.10";
    let lan = Lan::new("sc-lowp", 2);
    let (lb1, other) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("sc-lowp");
    let (mut tcpdump, cap) = arp_capture(other, &dir);
    let conf = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority 150\n advert_int 1\n garp_master_delay 0\n garp_master_repeat 1\n garp_lower_prio_repeat 2\n garp_lower_prio_delay 2\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
    );
    let d1 = Daemon::start(lb1, &dir.file("lb1.conf", &conf), dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(wait_until(8.0, || has(lb1, VIP)), "{}", d1.log());
    let mac = lb1.mac("eth0");
    let times = || garp_times(&cap, VIP, &mac);
    assert!(wait_until(3.0, || times().len() == 1), "{:?}", times());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(times().len(), 1, "only the announcement on becoming master");

    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    inject_advert(other, 50, 255);
    assert!(
        wait_until(5.0, || times().len() >= 5),
        "{:?}\n{}",
        times(),
        d1.log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    let t = times();
    assert_eq!(t.len(), 5, "1 + 2 now + 2 later: {t:?}");
    assert!(
        t[1] - t0 < 0.5,
        "the first answer came {:.3}s late: {t:?}",
        t[1] - t0
    );
    assert!(t[2] - t[1] < 0.3, "{t:?}");
    let gap = t[3] - t[1];
    assert!(
        (1.7..2.8).contains(&gap),
        "second lower-priority round {gap:.3}s after the first, not ~2s: {t:?}"
    );
    assert!(has(lb1, VIP), "{}", d1.log());
    assert_eq!(d1.counter("gratuitous_arps_sent"), Some(5));
}

/// In a sync group, a lower-priority advert heard by one member makes every
/// member that holds its VIPs re-announce them (keepalived: the other
/// router may have drawn the traffic of the whole group).
#[test]
fn a_lower_priority_advert_in_a_sync_group_reannounces_every_member() {
    const VIP_A: &str = "203.0.113.10";
    const VIP_B: &str = "203.0.113.11";
    let lan = Lan::new("sc-lowg", 2);
    let (lb1, other) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("sc-lowg");
    let (mut tcpdump, cap) = arp_capture(other, &dir);
    let inst = |name: &str, vrid: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority 150\n advert_int 1\n garp_master_delay 0\n garp_master_repeat 1\n garp_lower_prio_repeat 1\n garp_lower_prio_delay 0\n virtual_ipaddress {{\n  {vip}/24\n }}\n}}\n"
        )
    };
    let conf = format!(
        "vrrp_sync_group G {{\n group {{\n  VI_A\n  VI_B\n }}\n}}\n{}{}",
        inst("VI_A", 51, VIP_A),
        inst("VI_B", 52, VIP_B)
    );
    let d1 = Daemon::start(lb1, &dir.file("lb1.conf", &conf), dir.0.join("lb1.log"));
    d1.wait_started();
    assert!(
        wait_until(8.0, || has(lb1, VIP_A) && has(lb1, VIP_B)),
        "{}",
        d1.log()
    );
    let mac = lb1.mac("eth0");
    let counts = || {
        (
            garp_times(&cap, VIP_A, &mac).len(),
            garp_times(&cap, VIP_B, &mac).len(),
        )
    };
    assert!(wait_until(3.0, || counts() == (1, 1)), "{:?}", counts());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        counts(),
        (1, 1),
        "only the announcements on becoming master"
    );

    // A lower-priority advert for VI_A's VRID only.
    inject_advert(other, 50, 255);
    assert!(
        wait_until(3.0, || counts() == (2, 2)),
        "{:?}\n{}",
        counts(),
        d1.log()
    );
    std::thread::sleep(Duration::from_millis(1000));
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();
    assert_eq!(counts(), (2, 2), "one round each, no more");
}
