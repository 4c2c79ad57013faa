//! SNMP fixtures: Debian's snmpd as AgentX master and snmptrapd, each in
//! a test's namespace and its own process group, and `snmpwalk` with
//! numeric OIDs (the standard MIBs are not packaged).

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{Netns, wait_until};

/// snmpd, snmpwalk and snmptrapd are there; under CI=true they must be.
pub fn require_snmp() -> bool {
    // Looked up on PATH, not run: `snmpd -V` would start a daemon.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = |p: &str| std::env::split_paths(&path).any(|d| d.join(p).is_file());
    let have = ["snmpd", "snmpwalk", "snmptrapd"].iter().all(|p| found(p));
    if !have {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "snmpd/snmp/snmptrapd are not installed (CI=true: this test must run)"
        );
        eprintln!("snmpd, snmpwalk or snmptrapd missing: skipped");
    }
    have
}

/// A child in its own process group, killed with the group when dropped.
pub struct Proc(Option<Child>);

impl Proc {
    pub fn spawn(cmd: &mut Command) -> Proc {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        Proc(Some(child))
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.0.take() {
            // The group by kill(2) itself: procps-ng 4.0.2's `kill -KILL
            // -PID` signals the group of PID's first digit only (-1: all).
            if let Ok(pgid) = i32::try_from(c.id()) {
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// snmpd as AgentX master on `socket`, answering v2c `public` on
/// 127.0.0.1 inside `ns`, sending its traps to snmptrapd there.
pub fn start_snmpd(ns: &Netns, dir: &Path, socket: &Path) -> Proc {
    let conf = dir.join("snmpd.conf");
    std::fs::write(
        &conf,
        format!(
            "master agentx\nagentXSocket {}\nagentaddress udp:127.0.0.1:161\n\
             rocommunity public 127.0.0.1\ntrap2sink 127.0.0.1:162 public\n",
            socket.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let p = Proc::spawn(
        ns.command("snmpd")
            .args(["-f", "-C", "-Lf"])
            .arg(dir.join("snmpd.log"))
            .arg("-c")
            .arg(&conf)
            .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
            .env("MIBS", ""),
    );
    let up = wait_until(10.0, || socket.exists());
    assert!(up, "snmpd did not open {}", socket.display());
    p
}

/// snmptrapd on 127.0.0.1:162 in `ns`, logging numeric OIDs to `log`.
pub fn start_snmptrapd(ns: &Netns, dir: &Path, log: &Path) -> Proc {
    let conf = dir.join("snmptrapd.conf");
    std::fs::write(&conf, "authCommunity log public\n").unwrap_or_else(|e| panic!("{e}"));
    Proc::spawn(
        ns.command("snmptrapd")
            .args(["-f", "-On", "-C", "-c"])
            .arg(&conf)
            .arg("-Lf")
            .arg(log)
            .arg("udp:127.0.0.1:162")
            .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
            .env("MIBS", ""),
    )
}

/// `snmpwalk` of the subtree `root` (numeric, `.1.3.6...`): numeric OID
/// without `root`'s prefix to the value as snmpwalk prints it
/// (`INTEGER: 2`).
pub fn walk_under(ns: &Netns, dir: &Path, root: &str) -> BTreeMap<String, String> {
    let out = ns
        .command("snmpwalk")
        .args([
            "-v2c",
            "-c",
            "public",
            "-On",
            "-t",
            "2",
            "-r",
            "1",
            "127.0.0.1",
        ])
        .arg(root)
        .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
        .env("MIBS", "")
        .output()
        .unwrap_or_else(|e| panic!("snmpwalk: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(" = "))
        // Only objects below the MIB's root: an empty walk prints the root
        // itself with "No more variables left in this MIB View".
        .filter_map(|(oid, v)| Some((oid.strip_prefix(root)?.to_string(), v.to_string())))
        .filter(|(oid, _)| oid.starts_with('.'))
        .collect()
}

/// One balancer's file in the SNMP pair tests: `enable` (the MIB keyword)
/// with traps and the test's `snmp_socket` when `snmp` is given, and a
/// `track_file` of weight -1 when `track` is.
pub fn pair_conf(
    (router_id, enable, vrid): (&str, &str, u8),
    dev: &str,
    prio: u32,
    snmp: Option<&Path>,
    track: Option<&Path>,
) -> String {
    let global = match snmp {
        Some(sock) => format!(
            "global_defs {{\n  router_id {router_id}\n  {enable}\n  enable_traps\n  snmp_socket {}\n}}\n",
            sock.display()
        ),
        None => String::new(),
    };
    let (track_def, track_use) = match track {
        Some(f) => (
            format!(
                "vrrp_track_file down {{\n  file {}\n  weight -1\n}}\n",
                f.display()
            ),
            "  track_file {\n    down\n  }\n",
        ),
        None => (String::new(), ""),
    };
    format!(
        "{global}{track_def}vrrp_instance VI_1 {{
  state BACKUP
  interface {dev}
  virtual_router_id {vrid}
  priority {prio}
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/24
  }}
{track_use}}}
"
    )
}

/// The same file served by tandem, then by Debian's keepalived, on one
/// snmpd: each one's `walk` once `ready` holds (tandem must get there;
/// keepalived's failure to is asserted after it is stopped, so nothing is
/// left running). tandem's subtree must be gone before keepalived starts.
pub fn walks_of_both(
    ns: &Netns,
    dir: &Path,
    conf: &Path,
    walk: impl Fn() -> BTreeMap<String, String>,
    ready: impl Fn(&BTreeMap<String, String>) -> bool,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut d = super::daemon::Daemon::start(ns, &conf.to_path_buf(), dir.join("tandem.log"));
    assert!(
        wait_until(20.0, || ready(&walk())),
        "{:#?}\n{}",
        walk(),
        d.log()
    );
    let ours = walk();
    d.signal("-TERM");
    d.wait(20.0);
    // snmpd drops the subtree once the session closes.
    assert!(wait_until(10.0, || walk().is_empty()));
    let mut k = super::keepalived::Keepalived::start(ns, conf, dir);
    let ok = wait_until(20.0, || ready(&walk()));
    let theirs = walk();
    k.stop();
    assert!(ok, "keepalived never got there: {theirs:#?}");
    (ours, theirs)
}

/// The pair both SNMP pair tests run: snmpd and snmptrapd beside lb1
/// (`pair.a`), lb1 (priority 150) the subagent with `mib`'s keyword and a
/// `track_file` (`track`, weight -1) to make it step down, lb2 (100) without
/// SNMP. Fields drop in order: the daemons, the agents, then the files and
/// the namespaces.
pub struct SnmpPair {
    pub lb1: super::daemon::Daemon,
    pub lb2: super::daemon::Daemon,
    pub snmpd: Proc,
    pub trapd: Proc,
    pub sock: PathBuf,
    pub traps: PathBuf,
    pub track: PathBuf,
    pub dir: super::daemon::Scratch,
    pub pair: super::Pair,
}

impl SnmpPair {
    pub fn start(prefix: &str, mib: (&str, &str, u8)) -> SnmpPair {
        let pair = super::Pair::with_prefix(prefix);
        let dir = super::daemon::Scratch::new(prefix);
        let sock = dir.0.join("agentx.sock");
        let traps = dir.0.join("traps.log");
        let track = dir.file("down", "0\n");
        let trapd = start_snmptrapd(&pair.a, &dir.0, &traps);
        let snmpd = start_snmpd(&pair.a, &dir.0, &sock);
        let lb1_conf = pair_conf(mib, "veth0", 150, Some(&sock), Some(&track));
        let lb1 = super::daemon::Daemon::start(
            &pair.a,
            &dir.file("lb1.conf", &lb1_conf),
            dir.0.join("lb1.log"),
        );
        lb1.wait_started();
        let lb2 = super::daemon::Daemon::start(
            &pair.b,
            &dir.file("lb2.conf", &pair_conf(mib, "veth1", 100, None, None)),
            dir.0.join("lb2.log"),
        );
        SnmpPair {
            lb1,
            lb2,
            snmpd,
            trapd,
            sock,
            traps,
            track,
            dir,
            pair,
        }
    }
}
