//! What a reload writes to the VRRP FIFO and tells the notify scripts,
//! tandem against Debian's keepalived 2.2.7 with the same file, the same
//! states, the same two reloads (one namespace, `eth0` and its veth peer
//! `eth0p`): a sync group G of two masters, a backup (an advert interval
//! of 100 s keeps it BACKUP), instances in FAULT (a track file), and four
//! instances the second reload removes: a master with `notify_deleted
//! SCRIPT`, a master with `notify_fault` only, a FAULT one without
//! `notify_deleted` and a FAULT one with it.
//!
//! * `fifo_write_vrrp_states_on_reload`: each reload writes GROUP G
//!   MASTER, then the BACKUP and FAULT instances, in the file's order;
//!   masters write nothing.
//! * `notify_deleted`: the removed instances write DELETED (with it) or
//!   FAULT (without, and nothing if in FAULT already); `notify` gets the
//!   same word, `notify_deleted`'s script runs with no arguments,
//!   `notify_fault` does not run; `smtp_alert` mails "Deleted" or
//!   "Entering FAULT state" (aiosmtpd in the namespace).

mod netns;

use netns::fifo::Fifo;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

fn instance(name: &str, dev: &str, vrid: u8, prio: u8, adv: u8, extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{
  interface {dev}
  virtual_router_id {vrid}
  priority {prio}
  advert_int {adv}
{extra}  virtual_ipaddress {{
    192.0.2.{vrid}/32
  }}
}}
"
    )
}

/// The file before (`all`) and after the second reload.
fn conf(d: &Path, all: bool) -> String {
    let d = d.display();
    let n = format!("  notify \"{d}/n.sh\"\n");
    let tf = "  track_file {\n    tf\n  }\n";
    let mut c = format!(
        "global_defs {{
  vrrp_notify_fifo {d}/vrrp.fifo
  fifo_write_vrrp_states_on_reload
  script_user root
  router_id lb1
  notification_email {{
    ops@example.org
  }}
  notification_email_from lb1@example.org
  smtp_server 127.0.0.1 2525
}}
vrrp_track_file tf {{
  file {d}/tf
  weight 0
}}
vrrp_sync_group G {{
  group {{
    VI_M
    VI_P
  }}
}}
"
    );
    c += &instance("VI_M", "eth0", 61, 100, 1, &n);
    c += &instance("VI_P", "eth0p", 62, 200, 1, "");
    c += &instance("VI_B", "eth0", 63, 100, 100, &n);
    c += &instance("VI_F", "eth0", 64, 100, 1, &format!("{n}{tf}"));
    if all {
        let n = format!("{n}  smtp_alert\n");
        let del = format!("{n}  notify_deleted \"{d}/del.sh\"\n");
        c += &instance("VI_D", "eth0", 65, 100, 1, &del);
        let fault = format!("{n}  notify_fault \"{d}/fault.sh\"\n");
        c += &instance("VI_X", "eth0", 66, 100, 1, &fault);
        c += &instance("VI_XF", "eth0", 67, 100, 1, &format!("{n}{tf}"));
        let df = format!("{n}  notify_deleted\n{tf}");
        c += &instance("VI_DF", "eth0", 68, 100, 1, &df);
    }
    c
}

/// What one daemon wrote: the FIFO lines of each reload, and the script
/// runs and mail subjects of the second.
#[derive(Debug)]
struct Run {
    same: Vec<String>,
    reduced: Vec<String>,
    scripts: Vec<String>,
    mails: Vec<String>,
}

/// Debian's aiosmtpd in the namespace, a Maildir in `dir`; killed when
/// dropped.
struct Smtpd(std::process::Child);

impl Smtpd {
    fn start(ns: &Netns, dir: &Path) -> Smtpd {
        let child = ns
            .command("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:2525"])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd: {e}"));
        let smtpd = Smtpd(child);
        let probe = "import socket; socket.create_connection(('127.0.0.1', 2525), 1).recv(3)";
        let up = wait_until(20.0, || ns.exec(&["python3", "-c", probe]).status.success());
        assert!(up, "aiosmtpd did not come up");
        smtpd
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Subject of every mail in the Maildir `dir`, sorted.
fn subjects(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir.join("new"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| fs::read_to_string(e.path()).ok())
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
        })
        .collect();
    out.sort();
    out
}

fn script_runs(d: &Path) -> Vec<String> {
    fs::read_to_string(d.join("scripts.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Wait for `more` new lines (and a second for stragglers), then return
/// the new ones.
fn new_lines(
    fifo: &mut Fifo,
    from: usize,
    more: usize,
    what: &str,
    log: &dyn Fn() -> String,
) -> Vec<String> {
    let ok = wait_until(20.0, || fifo.lines().len() >= from + more);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let lines = fifo.lines();
    assert!(ok, "{what}: {lines:#?}\n{}", log());
    lines[from..].to_vec()
}

/// Start, wait for the masters, reload with the same file, then with the
/// four instances gone. `start` returns (reload, log, stop).
#[allow(clippy::type_complexity)]
fn run(
    tag: &str,
    start: impl FnOnce(&Netns, &Path) -> (Box<dyn Fn()>, Box<dyn Fn() -> String>, Box<dyn FnOnce()>),
) -> Run {
    let ns = Netns::with_eth0(tag, "192.0.2.1/24");
    ns.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0p"]);
    let dir = Scratch::new(tag);
    let d = dir.0.clone();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o777)).unwrap();
    fs::write(d.join("tf"), "1\n").unwrap();
    for s in ["n", "del", "fault"] {
        let p = dir.file(
            &format!("{s}.sh"),
            &format!(
                "#!/bin/sh\necho \"{s} $*\" >> {}/scripts.log\n",
                d.display()
            ),
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut fifo = Fifo::make(&d.join("vrrp.fifo"));
    let mailbox = d.join("mail");
    let _smtpd = Smtpd::start(&ns, &mailbox);
    dir.file("k.conf", &conf(&d, true));
    let (reload, log, stop) = start(&ns, &d);
    let masters = ["VI_M", "VI_P", "VI_D", "VI_X"].map(|i| format!("INSTANCE \"{i}\" MASTER"));
    let up = wait_until(20.0, || {
        let l = fifo.lines();
        masters
            .iter()
            .all(|m| l.iter().any(|x| x.starts_with(m.as_str())))
            && l.iter().any(|x| x == "GROUP \"G\" MASTER 0")
    });
    assert!(
        up,
        "{tag}: not every master up: {:#?}\n{}",
        fifo.lines(),
        log()
    );
    let at = fifo.lines().len();
    reload();
    let same = new_lines(&mut fifo, at, 5, "the first reload", &log);
    let at = fifo.lines().len();
    let runs = script_runs(&d).len();
    // The start's mails (BACKUP, MASTER, FAULT of the four) are sent.
    wait_until(15.0, || subjects(&mailbox).len() >= 6);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let mailed = subjects(&mailbox);
    dir.file("k.conf", &conf(&d, false));
    reload();
    let reduced = new_lines(&mut fifo, at, 6, "the second reload", &log);
    wait_until(10.0, || script_runs(&d).len() >= runs + 4);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let scripts = script_runs(&d)[runs..].to_vec();
    wait_until(15.0, || subjects(&mailbox).len() >= mailed.len() + 3);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let mut mails = subjects(&mailbox);
    for m in &mailed {
        if let Some(i) = mails.iter().position(|x| x == m) {
            mails.remove(i);
        }
    }
    stop();
    Run {
        same,
        reduced,
        scripts,
        mails,
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn a_reload_writes_the_states_and_the_deleted_instances_as_keepalived() {
    let tandem = run("s12fifo-t", |ns, d| {
        let daemon = Daemon::start(ns, &d.join("k.conf"), d.join("d.log"));
        let daemon = std::rc::Rc::new(daemon);
        let (a, b) = (daemon.clone(), daemon.clone());
        (
            Box::new(move || a.signal("-HUP")),
            Box::new(move || b.log()),
            Box::new(move || drop(daemon)),
        )
    });
    let states = [
        "GROUP \"G\" MASTER 0",
        "INSTANCE \"VI_B\" BACKUP 100",
        "INSTANCE \"VI_F\" FAULT 100",
    ];
    assert_eq!(
        tandem.same,
        [
            &states[..],
            &[
                "INSTANCE \"VI_XF\" FAULT 100",
                "INSTANCE \"VI_DF\" FAULT 100"
            ]
        ]
        .concat(),
        "{tandem:#?}"
    );
    // The deleted first (in the order the units stopped), then the states.
    let deleted = [
        "INSTANCE \"VI_D\" DELETED 100",
        "INSTANCE \"VI_DF\" DELETED 100",
        "INSTANCE \"VI_X\" FAULT 100",
    ];
    assert_eq!(sorted(tandem.reduced[..3].to_vec()), deleted, "{tandem:#?}");
    assert_eq!(tandem.reduced[3..], states, "{tandem:#?}");
    let runs = [
        "del ",
        "n INSTANCE VI_D DELETED 100",
        "n INSTANCE VI_DF DELETED 100",
        "n INSTANCE VI_X FAULT 100",
    ];
    assert_eq!(sorted(tandem.scripts.clone()), runs, "{tandem:#?}");
    let mails = [
        "[lb1] VRRP Instance VI_D - Deleted",
        "[lb1] VRRP Instance VI_DF - Deleted",
        "[lb1] VRRP Instance VI_X - Entering FAULT state",
    ];
    assert_eq!(tandem.mails, mails, "{tandem:#?}");

    if !require_keepalived() {
        return;
    }
    let keepalived = run("s12fifo-k", |ns, d| {
        let k = Keepalived::start(ns, &d.join("k.conf"), d);
        let k = std::rc::Rc::new(std::cell::RefCell::new(k));
        let (a, b) = (k.clone(), k.clone());
        (
            Box::new(move || a.borrow().reload()),
            Box::new(move || b.borrow().log()),
            Box::new(move || k.borrow_mut().stop()),
        )
    });
    assert_eq!(tandem.same, keepalived.same, "the first reload");
    assert_eq!(
        sorted(tandem.reduced[..3].to_vec()),
        sorted(keepalived.reduced[..3].to_vec()),
        "the deleted instances"
    );
    assert_eq!(
        tandem.reduced[3..],
        keepalived.reduced[3..],
        "the states after"
    );
    assert_eq!(
        sorted(tandem.scripts),
        sorted(keepalived.scripts),
        "the scripts run by the second reload"
    );
    assert_eq!(
        tandem.mails, keepalived.mails,
        "the mails of the second reload"
    );
}
