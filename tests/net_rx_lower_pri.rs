//! `notify_master_rx_lower_pri` on the wire: two nodes on a veth pair, the
//! backup's namespace dropping every VRRP packet (nftables), so it becomes
//! master too and sends adverts of priority 100 that the real master (200)
//! hears. The master runs its script (with no arguments, as keepalived)
//! and writes `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 200` to its FIFO, for
//! each advert; Debian's keepalived as the master does the same with the
//! same file. And `notify_priority_changes`: a master whose track file
//! moves its priority writes `MASTER_PRIORITY` lines, the same as
//! keepalived's; an instance's `off` wins over the global setting.

mod netns;

use netns::fifo::Fifo;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, Pair, wait_until};

fn conf(dir: &Path, dev: &str, priority: u8, rx: bool) -> String {
    let rx = if rx {
        format!("  notify_master_rx_lower_pri {}/rx.sh\n", dir.display())
    } else {
        String::new()
    };
    format!(
        "global_defs {{
  vrrp_notify_fifo {d}/vrrp.fifo
}}
vrrp_instance VI_1 {{
  interface {dev}
  virtual_router_id 53
  priority {priority}
  advert_int 1
{rx}  virtual_ipaddress {{
    192.0.2.102/32
  }}
}}
",
        d = dir.display()
    )
}

fn dir_with_script(name: &str) -> Scratch {
    let dir = Scratch::new(name);
    let s = dir.file(
        "rx.sh",
        &format!("#!/bin/sh\necho \"rx $#\" >> {}/rx.log\n", dir.0.display()),
    );
    fs::set_permissions(&s, fs::Permissions::from_mode(0o755)).unwrap();
    // Readable by a keepalived_script user too.
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn rx_runs(dir: &Scratch) -> Vec<String> {
    fs::read_to_string(dir.0.join("rx.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The namespace drops every VRRP packet it would receive.
fn deaf(ns: &Netns) {
    let out = ns.exec(&[
        "nft",
        "add table inet s9deaf; add chain inet s9deaf in { type filter hook input priority 0; }; add rule inet s9deaf in ip protocol vrrp drop",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const LINE: &str = "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 200";

fn rx_lines(f: &mut Fifo) -> usize {
    f.lines().iter().filter(|l| *l == LINE).count()
}

#[test]
fn a_master_hearing_lower_priority_adverts_runs_its_script_and_writes_the_fifo() {
    let pair = Pair::with_prefix("tdm-s9knobs-rx");
    deaf(&pair.b);
    let dir = dir_with_script("s9knobs-rx");
    let bdir = Scratch::new("s9knobs-rxb");
    let mut fifo = Fifo::make(&dir.0.join("vrrp.fifo"));
    let _bfifo = Fifo::make(&bdir.0.join("vrrp.fifo"));
    let master = Daemon::start(
        &pair.a,
        &dir.file("a.conf", &conf(&dir.0, "veth0", 200, true)),
        dir.0.join("a.log"),
    );
    master.wait_started();
    let backup = Daemon::start(
        &pair.b,
        &bdir.file("b.conf", &conf(&bdir.0, "veth1", 100, false)),
        bdir.0.join("b.log"),
    );
    assert!(
        wait_until(15.0, || rx_runs(&dir).len() >= 2
            && rx_lines(&mut fifo) >= 2),
        "runs {:?}, fifo {:?}\n{}\n{}",
        rx_runs(&dir),
        fifo.lines(),
        master.log(),
        backup.log()
    );
    assert!(
        rx_runs(&dir).iter().all(|l| l == "rx 0"),
        "{:?}",
        rx_runs(&dir)
    );
    let tandem: std::collections::BTreeSet<String> = fifo.lines().into_iter().collect();
    assert!(
        tandem.contains("INSTANCE \"VI_1\" MASTER 200"),
        "{tandem:?}"
    );
    drop(backup);

    if !require_keepalived() {
        return;
    }
    // keepalived as the master, the same file: the same script run, the
    // same FIFO line.
    let pair = Pair::with_prefix("tdm-s9knobs-rk");
    deaf(&pair.b);
    let kdir = dir_with_script("s9knobs-rk");
    let bdir = Scratch::new("s9knobs-rkb");
    let mut kfifo = Fifo::make(&kdir.0.join("vrrp.fifo"));
    let _bfifo = Fifo::make(&bdir.0.join("vrrp.fifo"));
    let kconf = kdir.file("k.conf", &conf(&kdir.0, "veth0", 200, true));
    let mut k = Keepalived::start(&pair.a, &kconf, &kdir.0);
    assert!(wait_until(10.0, || pair.a.has_addr("veth0", "192.0.2.102")));
    let backup = Daemon::start(
        &pair.b,
        &bdir.file("b.conf", &conf(&bdir.0, "veth1", 100, false)),
        bdir.0.join("b.log"),
    );
    let ok = wait_until(15.0, || {
        rx_runs(&kdir).len() >= 2 && rx_lines(&mut kfifo) >= 2
    });
    // Before the stop: keepalived's STOP line is not what is compared.
    let keepalived: std::collections::BTreeSet<String> = kfifo.lines().into_iter().collect();
    k.stop();
    assert!(
        ok,
        "keepalived: runs {:?}, fifo {:?}\n{}\n{}",
        rx_runs(&kdir),
        kfifo.lines(),
        fs::read_to_string(kdir.0.join("keepalived.log")).unwrap_or_default(),
        backup.log()
    );
    assert!(
        rx_runs(&kdir).iter().all(|l| l == "rx 0"),
        "{:?}",
        rx_runs(&kdir)
    );
    assert_eq!(
        tandem, keepalived,
        "the distinct FIFO lines of tandem and keepalived"
    );
}

fn prio_conf(dir: &Path, instance_knob: &str) -> String {
    format!(
        "global_defs {{
  vrrp_notify_fifo {d}/vrrp.fifo
  vrrp_notify_priority_changes
}}
vrrp_track_file tf {{
  file {d}/tf
  weight 2
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 54
  priority 100
  advert_int 1
  {instance_knob}
  track_file {{
    tf
  }}
  virtual_ipaddress {{
    192.0.2.103/32
  }}
}}
",
        d = dir.display()
    )
}

/// Master alone, then its track file moves the priority twice.
fn priority_lines(
    start: impl FnOnce(&Netns, &Path) -> Box<dyn FnOnce()>,
    knob: &str,
) -> Vec<String> {
    let ns = Netns::with_eth0("s9knobs-pr", "192.0.2.1/24");
    let dir = Scratch::new("s9knobs-pr");
    fs::write(dir.0.join("tf"), "0\n").unwrap();
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
    let mut fifo = Fifo::make(&dir.0.join("vrrp.fifo"));
    dir.file("t.conf", &prio_conf(&dir.0, knob));
    let stop = start(&ns, &dir.0);
    assert!(
        wait_until(15.0, || ns.has_addr("eth0", "192.0.2.103")),
        "no master"
    );
    fs::write(dir.0.join("tf"), "5\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    fs::write(dir.0.join("tf"), "-3\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let lines = fifo.lines();
    stop();
    lines
}

#[test]
fn notify_priority_changes_writes_keepalived_s_fifo_lines() {
    let tandem = priority_lines(
        |ns, dir| {
            let d = Daemon::start(ns, &dir.join("t.conf"), dir.join("d.log"));
            Box::new(move || drop(d))
        },
        "",
    );
    let want = [
        "INSTANCE \"VI_1\" BACKUP 100",
        "INSTANCE \"VI_1\" MASTER 100",
        "INSTANCE \"VI_1\" MASTER_PRIORITY 110",
        "INSTANCE \"VI_1\" MASTER_PRIORITY 94",
    ];
    assert_eq!(tandem, want);
    // The instance's own setting wins over the global one.
    let off = priority_lines(
        |ns, dir| {
            let d = Daemon::start(ns, &dir.join("t.conf"), dir.join("d.log"));
            Box::new(move || drop(d))
        },
        "notify_priority_changes off",
    );
    assert_eq!(off, want[..2]);

    if !require_keepalived() {
        return;
    }
    let keepalived = priority_lines(
        |ns, dir| {
            let mut k = Keepalived::start(ns, &dir.join("t.conf"), dir);
            Box::new(move || k.stop())
        },
        "",
    );
    assert_eq!(keepalived, want, "keepalived with the same file");
}
