//! `tandem run -f FILE` as an operator runs it: two balancers in two
//! namespaces on one LAN elect a master, the backup takes the VIP when the
//! master dies (kill -9 and link down), SIGTERM hands over and exits 0,
//! notify scripts run, and configurations that cannot run are refused.

mod netns;

use std::fs;
use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::{Lan, Netns, wait_until};

const VIP: &str = "203.0.113.10";

fn conf(priority: u8, notify_log: &std::path::Path) -> String {
    format!(
        r#"
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass s3cret
    }}
    virtual_ipaddress {{
        {VIP}/24 dev eth0 label eth0:vip
    }}
    notify "/bin/sh -c 'echo \"$@\" >> {log}' notify"
}}
"#,
        log = notify_log.display()
    )
}

#[test]
fn two_node_failover_with_tandem_run() {
    let lan = Lan::new("fo-kill", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("fo-kill");
    let n1 = dir.0.join("notify1");
    let n2 = dir.0.join("notify2");
    let c1 = dir.file("lb1.conf", &conf(150, &n1));
    let c2 = dir.file("lb2.conf", &conf(100, &n2));
    let mut d1 = Daemon::start(lb1, &c1, dir.0.join("lb1.log"));
    d1.wait_started();
    let mut d2 = Daemon::start(lb2, &c2, dir.0.join("lb2.log"));

    // lb1 (150) becomes master and holds the VIP; lb2 stays backup.
    assert!(
        wait_until(8.0, || lb1.has_addr("eth0", VIP)),
        "lb1 never took the VIP\nlb1: {}\nlb2: {}",
        d1.log(),
        d2.log()
    );
    assert!(wait_until(3.0, || d1
        .log()
        .contains("VRRP_Instance(VI_1) Entering MASTER STATE")));
    assert!(
        !lb2.has_addr("eth0", VIP),
        "lb2 holds the VIP too\n{}",
        d2.log()
    );
    assert!(
        d2.log()
            .contains("VRRP_Instance(VI_1) Entering BACKUP STATE")
    );
    assert!(wait_until(3.0, || fs::read_to_string(&n1)
        .unwrap_or_default()
        .contains("INSTANCE VI_1 MASTER 150")));

    // A client on the LAN reaches the VIP at lb1's MAC.
    let client = Netns::new("fo-kill-client");
    lan.switch
        .ip(&["link", "add", "pc", "type", "veth", "peer", "name", "eth0"]);
    lan.switch
        .ip(&["link", "set", "eth0", "netns", &client.name]);
    lan.switch.ip(&["link", "set", "pc", "master", "br0"]);
    lan.switch.ip(&["link", "set", "pc", "up"]);
    client.ip(&["addr", "add", "203.0.113.100/24", "dev", "eth0"]);
    client.ip(&["link", "set", "eth0", "up"]);
    let ping = |ns: &Netns| {
        ns.exec(&["ping", "-c", "1", "-W", "1", VIP])
            .status
            .success()
    };
    assert!(wait_until(5.0, || ping(&client)), "the VIP does not answer");
    let neigh =
        |ns: &Netns| String::from_utf8_lossy(&ns.ip(&["neigh", "show", VIP]).stdout).to_string();
    assert!(
        neigh(&client).contains(&lb1.mac("eth0")),
        "{}",
        neigh(&client)
    );

    // lb1 dies as a machine: killed -9, its link down.
    d1.signal("-9");
    let _ = d1.wait(5.0);
    lb1.ip(&["link", "set", "eth0", "down"]);
    assert!(
        wait_until(6.0, || lb2.has_addr("eth0", VIP)),
        "lb2 did not take over\n{}",
        d2.log()
    );
    assert!(
        d2.log()
            .contains("Entering MASTER STATE (master down timer expired)")
    );
    // The client's neighbour entry moves to lb2 (gratuitous ARP), the VIP answers.
    assert!(
        wait_until(5.0, || neigh(&client).contains(&lb2.mac("eth0"))),
        "client still maps the VIP to {}",
        neigh(&client)
    );
    assert!(
        wait_until(5.0, || ping(&client)),
        "the VIP does not answer from lb2"
    );

    // SIGTERM: a clean exit, the VIP released, notify STOP with the arguments keepalived uses.
    d2.signal("-TERM");
    assert_eq!(d2.wait(15.0), Some(0), "{}", d2.log());
    assert!(!lb2.has_addr("eth0", VIP));
    let n2 = fs::read_to_string(&n2).unwrap_or_default();
    assert!(n2.contains("INSTANCE VI_1 BACKUP 100"), "{n2}");
    assert!(n2.contains("INSTANCE VI_1 MASTER 100"), "{n2}");
    assert!(n2.contains("INSTANCE VI_1 STOP"), "{n2}");
}

#[test]
fn sigterm_of_the_master_hands_over_and_both_exit_cleanly() {
    let lan = Lan::new("fo-term", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("fo-term");
    let c1 = dir.file("lb1.conf", &conf(150, &dir.0.join("n1")));
    let c2 = dir.file("lb2.conf", &conf(100, &dir.0.join("n2")));
    let mut d1 = Daemon::start(lb1, &c1, dir.0.join("lb1.log"));
    d1.wait_started();
    let mut d2 = Daemon::start(lb2, &c2, dir.0.join("lb2.log"));
    assert!(
        wait_until(8.0, || lb1.has_addr("eth0", VIP)),
        "{}",
        d1.log()
    );
    d1.signal("-TERM");
    assert!(
        wait_until(6.0, || lb2.has_addr("eth0", VIP)),
        "lb2 did not take over after lb1's priority 0\n{}",
        d2.log()
    );
    assert_eq!(d1.wait(10.0), Some(0), "{}", d1.log());
    assert!(!lb1.has_addr("eth0", VIP), "lb1 left its VIP behind");
    assert!(
        d2.log().contains("(master sent priority 0)"),
        "{}",
        d2.log()
    );
    // SIGINT (Ctrl-C in a terminal) leaves as SIGTERM does: priority 0,
    // notify STOP, and the VIP removed (after waiting in vain for a new
    // master: lb1 is gone) before the exit.
    assert!(lb2.has_addr("eth0", VIP), "{}", d2.log());
    d2.signal("-INT");
    assert_eq!(d2.wait(10.0), Some(0), "{}", d2.log());
    let log = d2.log();
    assert!(log.contains("SIGINT: stopping"), "{log}");
    assert!(log.contains("sent priority 0 advert"), "{log}");
    assert!(
        !lb2.has_addr("eth0", VIP),
        "lb2 left its VIP behind after SIGINT\n{log}"
    );
    let n2 = fs::read_to_string(dir.0.join("n2")).unwrap_or_default();
    assert!(n2.contains("INSTANCE VI_1 STOP"), "{n2}");
}

#[test]
fn a_stale_vip_is_removed_at_startup() {
    let lan = Lan::new("fo-stale", 2);
    let (lb1, lb2) = (&lan.nodes[0], &lan.nodes[1]);
    let dir = Scratch::new("fo-stale");
    // lb2 already carries the VIP (a previous run killed with -9) but lb1 is master.
    let mut d1 = Daemon::start(
        lb1,
        &dir.file("lb1.conf", &conf(150, &dir.0.join("n1"))),
        dir.0.join("lb1.log"),
    );
    d1.wait_started();
    assert!(
        wait_until(8.0, || lb1.has_addr("eth0", VIP)),
        "{}",
        d1.log()
    );
    lb2.ip(&["addr", "add", &format!("{VIP}/24"), "dev", "eth0"]);
    let d2 = Daemon::start(
        lb2,
        &dir.file("lb2.conf", &conf(100, &dir.0.join("n2"))),
        dir.0.join("lb2.log"),
    );
    assert!(
        wait_until(3.0, || !lb2.has_addr("eth0", VIP)),
        "the stale VIP stayed on the backup\n{}",
        d2.log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!lb2.has_addr("eth0", VIP));
    assert!(lb1.has_addr("eth0", VIP));
    d1.signal("-TERM");
    let _ = d1.wait(10.0);
}

#[test]
fn a_missing_interface_is_refused_with_a_clear_message() {
    let ns = Netns::new("fo-noif");
    let dir = Scratch::new("fo-noif");
    let c = dir.file(
        "bad.conf",
        &conf(100, &dir.0.join("n")).replace("interface eth0", "interface eth9"),
    );
    let mut d = Daemon::start(&ns, &c, dir.0.join("log"));
    let code = d.wait(10.0);
    let log = d.log();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("interface eth9 does not exist"), "{log}");
    assert!(log.contains("bad.conf:"), "message names the file: {log}");
}

#[test]
fn a_config_error_is_refused_before_anything_runs() {
    let ns = Netns::new("fo-bad");
    let dir = Scratch::new("fo-bad");
    let c = dir.file(
        "bad.conf",
        &conf(100, &dir.0.join("n")).replace("priority 100", "priorty 100"),
    );
    let mut d = Daemon::start(&ns, &c, dir.0.join("log"));
    let code = d.wait(10.0);
    let log = d.log();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("bad.conf:"), "{log}");
}

#[test]
fn sockets_that_cannot_be_opened_are_refused() {
    // Without CAP_NET_RAW (dropped with setpriv) no raw socket opens.
    let lan = Lan::new("fo-nocap", 1);
    let dir = Scratch::new("fo-nocap");
    let c = dir.file("lb.conf", &conf(100, &dir.0.join("n")));
    let out = lan.nodes[0].exec(&[
        "setpriv",
        "--inh-caps=-net_raw",
        "--bounding-set=-net_raw",
        env!("CARGO_BIN_EXE_tandem"),
        "run",
        "-f",
        c.to_str().unwrap_or_default(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("interface eth0: cannot open a raw IP socket"),
        "{err}"
    );
    assert!(err.contains("CAP_NET_RAW"), "{err}");
    // Nothing changed on the machine: no VIP was added.
    assert!(!lan.nodes[0].has_addr("eth0", VIP));
}

#[test]
fn sighup_is_harmless() {
    let lan = Lan::new("fo-hup", 1);
    let lb = &lan.nodes[0];
    let dir = Scratch::new("fo-hup");
    let c = dir.file("lb.conf", &conf(100, &dir.0.join("n")));
    let mut d = Daemon::start(lb, &c, dir.0.join("log"));
    assert!(wait_until(8.0, || lb.has_addr("eth0", VIP)), "{}", d.log());
    d.signal("-HUP");
    assert!(
        wait_until(3.0, || d.log().contains("SIGHUP")),
        "{}",
        d.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    // Still running, still master, the VIP still there.
    assert!(lb.has_addr("eth0", VIP));
    d.signal("-TERM");
    assert_eq!(d.wait(10.0), Some(0), "{}", d.log());
}
