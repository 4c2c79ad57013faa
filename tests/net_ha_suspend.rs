//! `ha_suspend` in a running daemon: a virtual server's health checks run
//! only while its address is configured on the node, as keepalived's
//! checker follows the kernel's address events.
//!
//! Three namespaces on one LAN (`s12has-*`): Debian's keepalived 2.2.7 as
//! the VRRP master (priority 200) of the VIP 192.0.2.100, tandem as its
//! backup (priority 100) with three virtual servers, and a real server that
//! counts the connections it accepts on each port. `192.0.2.100:8080`
//! and `group G` (`192.0.2.100 8082`) have `ha_suspend`;
//! `192.0.2.101:8081` (an address no node holds) does not, and proves
//! that the checks run meanwhile. The counts at the real
//! server are what a user sees:
//! - while tandem is BACKUP (the VIP at keepalived): port 8081 is probed
//!   every delay_loop, ports 8080 and 8082 not once;
//! - keepalived stops, tandem becomes MASTER and adds the VIP: 8080's
//!   and 8082's probes start;
//! - keepalived comes back and preempts, tandem drops the VIP: 8080's
//!   and 8082's probes stop again while 8081's go on.
//!
//! No IPVS is needed (this kernel has none): the checks, the VRRP side and
//! the address events are what is tested; the IPVS table is the VM's
//! business.

mod netns;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Lan, Netns, wait_until};

const VIP: &str = "192.0.2.100";

fn instance(priority: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority {priority}
  advert_int 1
  virtual_ipaddress {{
    {VIP}/24 dev eth0
  }}
}}
"
    )
}

/// `key` is `IP PORT` or `group NAME`; the real server listens on `port`.
fn virtual_server(key: &str, port: u16, ha_suspend: bool) -> String {
    let ha = if ha_suspend { "  ha_suspend\n" } else { "" };
    format!(
        "virtual_server {key} {{
  protocol TCP
  delay_loop 0.5
{ha}  real_server 192.0.2.3 {port} {{
    TCP_CHECK {{
      connect_timeout 1
      warmup 0
    }}
  }}
}}
"
    )
}

/// A real server that appends the port of every connection it accepts to
/// `log`, one a line (and `ready` once it listens).
fn counting_server(ns: &Netns, log: &Path) -> Child {
    let script = "
import selectors, socket, sys
out = open(sys.argv[1], 'a', buffering=1)
sel = selectors.DefaultSelector()
for p in sys.argv[2:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(p)))
    s.listen(64)
    sel.register(s, selectors.EVENT_READ, p)
out.write('ready\\n')
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        out.write(key.data + '\\n')
        c.close()
";
    let child = ns
        .command("/usr/bin/python3")
        .args(["-c", script])
        .arg(log)
        .args(["8080", "8081", "8082"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3: {e}"));
    let ready = wait_until(10.0, || {
        std::fs::read_to_string(log).is_ok_and(|t| t.contains("ready"))
    });
    assert!(ready, "the real server never listened");
    child
}

/// Connections accepted so far on 8080 and 8082 (ha_suspend) and 8081
/// (not).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counts {
    vip: usize,
    other: usize,
    group: usize,
}

fn counts(log: &Path) -> Counts {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let n = |p: &str| text.lines().filter(|l| *l == p).count();
    Counts {
        vip: n("8080"),
        other: n("8081"),
        group: n("8082"),
    }
}

/// Waits `secs` and says how many probes each port received meanwhile.
fn probes_during(log: &Path, secs: f64) -> Counts {
    let before = counts(log);
    std::thread::sleep(Duration::from_secs_f64(secs));
    let after = counts(log);
    Counts {
        vip: after.vip - before.vip,
        other: after.other - before.other,
        group: after.group - before.group,
    }
}

#[test]
fn checks_run_only_while_the_virtual_server_address_is_here() {
    if !require_keepalived() {
        return;
    }
    let lan = Lan::new("s12has", 3);
    let (peer, node, rs) = (&lan.nodes[0], &lan.nodes[1], &lan.nodes[2]);
    let dir = Scratch::new("s12has");
    let hits = dir.0.join("hits");
    let mut server = counting_server(rs, &hits);

    let kconf = dir.file("keepalived.conf", &instance(200));
    let mut k = Keepalived::start(peer, &kconf, &dir.0);
    assert!(
        wait_until(10.0, || peer.has_addr("eth0", VIP)),
        "keepalived never took the VIP\n{}",
        k.log()
    );
    let tconf = format!(
        "{}{}{}virtual_server_group G {{\n  {VIP} 8082\n}}\n{}",
        instance(100),
        virtual_server(&format!("{VIP} 8080"), 8080, true),
        virtual_server("192.0.2.101 8081", 8081, false),
        virtual_server("group G", 8082, true),
    );
    let d = Daemon::start(node, &dir.file("t.conf", &tconf), dir.0.join("t.log"));
    d.wait_started();

    // BACKUP: the checks without ha_suspend run, the others never did.
    assert!(
        wait_until(10.0, || counts(&hits).other >= 4),
        "the checks without ha_suspend do not run: {:?}\n{}",
        counts(&hits),
        d.log()
    );
    let backup = probes_during(&hits, 3.0);
    assert!(!node.has_addr("eth0", VIP), "{}", d.log());
    let total = counts(&hits);
    assert_eq!(
        (total.vip, total.group),
        (0, 0),
        "probes while BACKUP\n{}",
        d.log()
    );
    assert_eq!((backup.vip, backup.group), (0, 0));
    assert!(backup.other >= 4, "{backup:?} in 3 s");
    assert!(d.log().contains("Suspending healthchecker"), "{}", d.log());

    // keepalived leaves (priority 0): tandem is MASTER, holds the VIP, and
    // its ha_suspend checks run, the group's too.
    k.stop();
    assert!(
        wait_until(10.0, || node.has_addr("eth0", VIP)),
        "tandem did not take the VIP\n{}",
        d.log()
    );
    assert!(
        wait_until(5.0, || {
            let c = counts(&hits);
            c.vip >= 3 && c.group >= 3
        }),
        "no probes of 8080 / 8082 as MASTER: {:?}\n{}",
        counts(&hits),
        d.log()
    );
    let master = probes_during(&hits, 2.0);
    assert!(
        master.vip >= 3 && master.group >= 3,
        "{master:?} in 2 s as MASTER"
    );
    assert!(d.log().contains("Activating healthchecker"), "{}", d.log());

    // keepalived is back and preempts: the VIP leaves tandem, the probes
    // of 8080 and 8082 stop (one in flight as it left is allowed for).
    let k2 = Keepalived::start(peer, &kconf, &dir.0);
    assert!(
        wait_until(15.0, || !node.has_addr("eth0", VIP)
            && peer.has_addr("eth0", VIP)),
        "keepalived did not take the VIP back\n{}\n{}",
        k2.log(),
        d.log()
    );
    std::thread::sleep(Duration::from_millis(700));
    let again = probes_during(&hits, 3.0);
    assert_eq!(
        (again.vip, again.group),
        (0, 0),
        "probes after the VIP left\n{}",
        d.log()
    );
    assert!(again.other >= 4, "{again:?} in 3 s");

    let _ = server.kill();
    let _ = server.wait();
}
