//! Scripts run as keepalived runs them, and with nothing of the daemon's
//! privileges:
//!
//! * notify scripts (instance and sync group) and `vrrp_script` run as the
//!   script's own `USER [GROUP]`, else as `script_user`, with no
//!   supplementary groups (a script writes `id -u`, `id -g`, `id -G`);
//! * `enable_script_security` refuses, with file:line:col, a world-writable
//!   script and a script in a world-writable directory, in `check-config`,
//!   at start and at reload; a safe one is accepted; an unknown user, or a
//!   script this machine does not have, is a warning in `check-config`
//!   (the file is checked for the machine that will run it) and stops the
//!   daemon from starting, with its position;
//! * `tandem run` as the unprivileged user `tandem` with exactly the
//!   packaged unit's capabilities (ambient CAP_NET_ADMIN, CAP_NET_RAW,
//!   CAP_SETUID, CAP_SETGID, CAP_KILL; bounding set the same; no new
//!   privileges) becomes master, holds the VIP, answers `tandem status`,
//!   writes the SIGUSR1 dump, and its scripts get no capabilities.
//!
//! Namespaces are `tdm-<test>-<pid>-<n>`, removed on drop; files live in a
//! scratch directory removed on drop. Needs root.

mod netns;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use netns::daemon::{Daemon, Scratch};
use netns::{Lan, Netns, wait_until};

const VIP: &str = "203.0.113.10";

/// The capabilities packaging/tandem.service grants (its
/// AmbientCapabilities=, which must equal its CapabilityBoundingSet=), in
/// setpriv's spelling: `net_admin,net_raw,...`.
fn unit_caps() -> String {
    let unit = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/tandem.service"
    ))
    .unwrap_or_else(|e| panic!("packaging/tandem.service: {e}"));
    let value = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = unit
            .lines()
            .filter_map(|l| l.strip_prefix(key))
            .flat_map(|l| l.split_whitespace())
            .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    let ambient = value("AmbientCapabilities=");
    assert!(!ambient.is_empty(), "no AmbientCapabilities= in the unit");
    assert_eq!(
        ambient,
        value("CapabilityBoundingSet="),
        "the unit's ambient and bounding capabilities differ"
    );
    ambient.join(",")
}

fn uid_of(user: &str) -> Option<u32> {
    let out = Command::new("id").args(["-u", user]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn gid_of(user: &str) -> Option<u32> {
    let out = Command::new("id").args(["-g", user]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap_or_else(|e| panic!("{e}"));
}

/// A root-owned, root-only-writable scratch directory (0755), so that
/// scripts in it pass `enable_script_security` unless a test opens them.
fn scratch(test: &str) -> Scratch {
    let dir = Scratch::new(test);
    chmod(&dir.0, 0o755);
    dir
}

/// An executable script (0755 unless changed).
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap_or_else(|e| panic!("{e}"));
    chmod(&p, 0o755);
    p
}

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tandem: {e}"))
}

/// The lines the scripts wrote, one file per script (`OUT/TAG`: a file one
/// user created in a sticky directory cannot be appended to by another),
/// once there are `n` files.
fn lines(out: &Path, n: usize, log: impl Fn() -> String) -> Vec<String> {
    let read = || -> Vec<String> {
        let mut v = Vec::new();
        for e in fs::read_dir(out).into_iter().flatten().flatten() {
            v.extend(
                fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .lines()
                    .map(String::from),
            );
        }
        v.sort();
        v
    };
    let ok = wait_until(15.0, || fs::read_dir(out).map_or(0, |d| d.count()) >= n);
    let got = read();
    assert!(
        ok,
        "expected {n} scripts to write to {}, got:\n{got:?}\ndaemon log:\n{}",
        out.display(),
        log()
    );
    got
}

fn line_of<'a>(lines: &'a [String], tag: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.split(' ').next() == Some(tag))
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no line from {tag} in {lines:?}"))
}

#[test]
fn notify_scripts_run_as_script_user_or_their_own_user() {
    let (Some(nobody), Some(nogroup), Some(daemon_uid), Some(daemon_gid)) = (
        uid_of("nobody"),
        gid_of("nobody"),
        uid_of("daemon"),
        gid_of("daemon"),
    ) else {
        panic!("the users nobody and daemon are needed");
    };
    let lan = Lan::new("nsu", 1);
    let dir = scratch("nsu");
    // Where the scripts write: anyone may (they run as several users).
    let out_dir = dir.0.join("out");
    fs::create_dir(&out_dir).unwrap_or_else(|e| panic!("{e}"));
    chmod(&out_dir, 0o1777);
    let id = script(
        &dir.0,
        "id.sh",
        &format!(
            "echo \"$1 $(id -u) $(id -g) $(id -G)\" >> {}/$1",
            out_dir.display()
        ),
    );
    let id = id.display();
    let conf = dir.file(
        "lb1.conf",
        &format!(
            r#"global_defs {{
    router_id lb1
    script_user nobody
}}
vrrp_script chk {{
    script "{id} vrrp_script"
    interval 60
    user daemon
}}
vrrp_sync_group G1 {{
    group {{
        VI_1
    }}
    notify_master "{id} group_master" daemon
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    track_script {{
        chk
    }}
    virtual_ipaddress {{
        {VIP}/24 dev eth0
    }}
    notify_master "{id} notify_master"
    notify "{id} notify" daemon nogroup
}}
"#
        ),
    );
    let d = Daemon::start(&lan.nodes[0], &conf, dir.0.join("lb1.log"));
    assert!(
        wait_until(15.0, || lan.nodes[0].has_addr("eth0", VIP)),
        "never became master:\n{}",
        d.log()
    );
    // vrrp_script, group notify_master, instance notify_master and the
    // generic notify (for BACKUP at start and for MASTER).
    let got = lines(&out_dir, 4, || d.log());
    let expect = |tag: &str, uid: u32, gid: u32| {
        let l = line_of(&got, tag);
        // `id -G`: only the script's group, no supplementary groups.
        let want = format!("{tag} {uid} {gid} {gid}");
        assert!(
            l == want || (tag == "notify" && got.iter().any(|g| g.starts_with(&want))),
            "{tag}: got {l:?}, want {want:?} (all: {got:?})"
        );
    };
    // script_user applies to a script that names no user.
    expect("notify_master", nobody, nogroup);
    // A per-script USER wins over script_user; its group is the user's.
    expect("vrrp_script", daemon_uid, daemon_gid);
    expect("group_master", daemon_uid, daemon_gid);
    // USER GROUP: the group named.
    expect("notify", daemon_uid, nogroup);
}

/// A configuration with one notify script, `enable_script_security` on or
/// off; the line and column of the notify_master keyword.
fn security_conf(dir: &Scratch, script: &Path, security: bool, user: &str) -> (PathBuf, u32, u32) {
    let text = format!(
        "global_defs {{\n    router_id lb1\n{}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n    notify_master \"{} x\"{user}\n}}\n",
        if security {
            "    enable_script_security\n"
        } else {
            ""
        },
        script.display()
    );
    let line = text
        .lines()
        .position(|l| l.contains("notify_master"))
        .map_or(0, |i| i as u32 + 1);
    (dir.file("k.conf", &text), line, 5)
}

fn check_config(conf: &Path) -> (bool, String) {
    let out = tandem(&["check-config", "-f", conf.to_str().unwrap_or("")]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn enable_script_security_refuses_scripts_others_can_change() {
    let dir = scratch("nsec");
    let d = dir.0.display().to_string();

    // A safe script (root-owned, 0755, in root-owned 0755 directories):
    // accepted, with or without the switch.
    let safe = script(&dir.0, "safe.sh", "exit 0");
    let (conf, _, _) = security_conf(&dir, &safe, true, "");
    let (ok, err) = check_config(&conf);
    assert!(ok, "a safe script was refused:\n{err}");
    assert!(!err.contains("safe.sh"), "{err}");

    // A world-writable script (0666 + x): refused with its position.
    let open = script(&dir.0, "open.sh", "exit 0");
    chmod(&open, 0o777);
    let (conf, line, col) = security_conf(&dir, &open, true, "");
    let (ok, err) = check_config(&conf);
    assert!(!ok, "a world-writable script was accepted:\n{err}");
    assert!(
        err.contains(&format!(
            "{d}/k.conf:{line}:{col}: error: vrrp_instance VI_1 notify_master: refused by enable_script_security: {d}/open.sh is a file writable by everyone (mode 0777)"
        )),
        "{err}"
    );
    // Mode 0666 exactly (not executable, still refused: it is the path that
    // counts, not whether it would run).
    chmod(&open, 0o666);
    let (ok, err) = check_config(&conf);
    assert!(
        !ok && err.contains("writable by everyone (mode 0666)"),
        "{err}"
    );

    // A safe file in a world-writable directory.
    let sub = dir.0.join("shared");
    fs::create_dir(&sub).unwrap_or_else(|e| panic!("{e}"));
    chmod(&sub, 0o777);
    let inner = script(&sub, "inner.sh", "exit 0");
    let (conf, line, col) = security_conf(&dir, &inner, true, "");
    let (ok, err) = check_config(&conf);
    assert!(!ok, "a script in a 0777 directory was accepted:\n{err}");
    assert!(
        err.contains(&format!(
            "{d}/k.conf:{line}:{col}: error: vrrp_instance VI_1 notify_master: refused by enable_script_security: {d}/shared is a directory writable by everyone (mode 0777)"
        )),
        "{err}"
    );

    // The same script run as a non-root user cannot do more than that
    // user: accepted (keepalived's rule).
    let (conf, _, _) = security_conf(&dir, &inner, true, " nobody");
    let (ok, err) = check_config(&conf);
    assert!(ok, "a non-root script was refused:\n{err}");

    // Without enable_script_security: accepted, with a warning naming it.
    let (conf, line, col) = security_conf(&dir, &inner, false, "");
    let (ok, err) = check_config(&conf);
    assert!(ok, "refused without enable_script_security:\n{err}");
    assert!(
        err.contains(&format!("{d}/k.conf:{line}:{col}: warning: vrrp_instance VI_1 notify_master: runs as uid 0 gid 0 but {d}/shared is a directory writable by everyone")),
        "{err}"
    );

    // A user that this machine does not have: a warning at the user's
    // name (the file is checked for the machine that will run it; the
    // daemon refuses to start here: tests/script_user_missing.rs).
    let (conf, line, _) = security_conf(&dir, &safe, false, " tdm-no-such-user");
    let (ok, err) = check_config(&conf);
    assert!(ok, "an unknown user was refused by check-config:\n{err}");
    assert!(
        err.contains(&format!(
            "{d}/k.conf:{line}:"
        )) && err.contains("warning: vrrp_instance VI_1 notify_master: user \"tdm-no-such-user\": no such user on this system; tandem run refuses to start on a machine without it"),
        "{err}"
    );

    // A script this machine does not have, with enable_script_security:
    // the same (it cannot be checked here; the machine that will run the
    // file may have it, and the daemon refuses to start without it).
    let gone = dir.0.join("gone.sh");
    let (conf, line, col) = security_conf(&dir, &gone, true, "");
    let (ok, err) = check_config(&conf);
    assert!(ok, "a missing script was refused by check-config:\n{err}");
    assert!(
        err.contains(&format!(
            "{d}/k.conf:{line}:{col}: warning: vrrp_instance VI_1 notify_master: refused by enable_script_security: {d}/gone.sh cannot be checked: cannot examine {d}/gone.sh: No such file or directory (os error 2); tandem run refuses to start on a machine without it"
        )),
        "{err}"
    );
}

#[test]
fn enable_script_security_refuses_at_start_and_at_reload() {
    let lan = Lan::new("nsrl", 1);
    let dir = scratch("nsrl");
    let safe = script(&dir.0, "safe.sh", "exit 0");
    let open = script(&dir.0, "open.sh", "exit 0");
    chmod(&open, 0o777);

    // Start: refused, the daemon exits 1 with the position.
    let (conf, line, col) = security_conf(&dir, &open, true, "");
    let mut d = Daemon::start(&lan.nodes[0], &conf, dir.0.join("bad.log"));
    assert_eq!(d.wait(10.0), Some(1), "{}", d.log());
    assert!(
        d.log().contains(&format!("k.conf:{line}:{col}: error: vrrp_instance VI_1 notify_master: refused by enable_script_security")),
        "{}",
        d.log()
    );

    // A missing script: the daemon runs here, where it is missing, and
    // refuses to start too.
    let (conf, line, col) = security_conf(&dir, &dir.0.join("gone.sh"), true, "");
    let mut d = Daemon::start(&lan.nodes[0], &conf, dir.0.join("gone.log"));
    assert_eq!(d.wait(10.0), Some(1), "{}", d.log());
    assert!(
        d.log().contains(&format!("k.conf:{line}:{col}: error: vrrp_instance VI_1 notify_master: refused by enable_script_security: {}/gone.sh cannot be checked", dir.0.display())),
        "{}",
        d.log()
    );

    // Reload onto the unsafe script: refused, the running one stays.
    let (conf, _, _) = security_conf(&dir, &safe, true, "");
    let d = Daemon::start(&lan.nodes[0], &conf, dir.0.join("lb1.log"));
    d.wait_started();
    security_conf(&dir, &open, true, "");
    let sock = dir.0.join("lb1.sock");
    let out = tandem(&["reload", "--socket", sock.to_str().unwrap_or("")]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "reload onto an unsafe script succeeded: {text}"
    );
    assert!(
        text.contains(&format!("k.conf:{line}:{col}: vrrp_instance VI_1 notify_master: refused by enable_script_security")),
        "{text}\n{}",
        d.log()
    );
}

/// `tandem run` in a namespace as user `tandem` with exactly the unit's
/// capabilities, through setpriv (as systemd's User=, AmbientCapabilities=,
/// CapabilityBoundingSet=, NoNewPrivileges= set them up).
struct Unprivileged {
    child: Option<Child>,
    log: PathBuf,
}

impl Unprivileged {
    fn start(ns: &Netns, conf: &Path, dir: &Path, uid: u32, gid: u32) -> Unprivileged {
        let log = dir.join("lb1.log");
        let err = fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let caps: Vec<String> = unit_caps().split(',').map(|c| format!("+{c}")).collect();
        let caps = caps.join(",");
        let child = ns
            .command("setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups")
            .arg(format!("--inh-caps=-all,{caps}"))
            .arg(format!("--ambient-caps=-all,{caps}"))
            .arg(format!("--bounding-set=-all,{caps}"))
            .arg("--no-new-privs")
            .arg(env!("CARGO_BIN_EXE_tandem"))
            .args(["run", "-f"])
            .arg(conf)
            .arg("--control-socket")
            .arg(dir.join("lb1.sock"))
            .arg("--dump-file")
            .arg(dir.join("lb1.data"))
            .env("TANDEM_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start setpriv tandem: {e}"));
        Unprivileged {
            child: Some(child),
            log,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Unprivileged {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `CapInh`, `CapPrm`, `CapEff`, `CapAmb` of /proc/PID/status text.
fn caps(status: &str) -> Vec<(String, u64)> {
    status
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            if !matches!(k, "CapInh" | "CapPrm" | "CapEff" | "CapAmb") {
                return None;
            }
            Some((k.to_string(), u64::from_str_radix(v.trim(), 16).ok()?))
        })
        .collect()
}

#[test]
fn runs_with_the_units_privileges_and_scripts_get_none() {
    // The account the unit runs as: created as the package's postinst
    // does (idempotent) when this machine has no package installed.
    if uid_of("tandem").is_none() {
        let _ = Command::new("systemd-sysusers")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/packaging/tandem.sysusers"
            ))
            .status();
    }
    let (Some(tandem_uid), Some(tandem_gid)) = (uid_of("tandem"), gid_of("tandem")) else {
        panic!("no user tandem, and systemd-sysusers packaging/tandem.sysusers did not create it");
    };
    let lan = Lan::new("ncap", 1);
    let ns = &lan.nodes[0];
    let dir = scratch("ncap");
    // The daemon's own files (control socket, dump) go where it may write,
    // as /run/tandem (RuntimeDirectory=) under the unit.
    let run = dir.0.join("run");
    fs::create_dir(&run).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::chown(&run, Some(tandem_uid), Some(tandem_gid))
        .unwrap_or_else(|e| panic!("{e}"));
    chmod(&run, 0o755);
    let out_dir = dir.0.join("out");
    fs::create_dir(&out_dir).unwrap_or_else(|e| panic!("{e}"));
    chmod(&out_dir, 0o1777);
    // The script records its own (the shell's) capability sets.
    let show = script(
        &dir.0,
        "caps.sh",
        &format!(
            "echo \"$1 $(id -u) $(grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/$$/status | tr -s '\\t\\n' '  ')\" >> {}/$1",
            out_dir.display()
        ),
    );
    let show = show.display();
    // A script that overruns its timeout and leaves a child behind, as
    // another user: stopping it needs CAP_KILL.
    let hang = script(
        &dir.0,
        "hang.sh",
        &format!(
            "sleep 300 & echo $! > {}/hang_pid.tmp && mv {0}/hang_pid.tmp {0}/hang_pid; wait",
            run.join("hang").display()
        ),
    );
    let hang_dir = run.join("hang");
    fs::create_dir(&hang_dir).unwrap_or_else(|e| panic!("{e}"));
    chmod(&hang_dir, 0o777);
    let hang = hang.display();
    let conf = dir.file(
        "lb1.conf",
        &format!(
            r#"global_defs {{
    router_id lb1
    script_user nobody
    enable_script_security
}}
vrrp_script hang {{
    script "{hang}"
    interval 30
    timeout 1
    user nobody
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24 dev eth0
    }}
    notify_backup "{show} backup_as_tandem" tandem
    notify_master "{show} master_as_nobody"
}}
"#
        ),
    );
    let d = Unprivileged::start(ns, &conf, &run, tandem_uid, tandem_gid);

    // The unit's privileges are enough to become master and hold the VIP.
    assert!(
        wait_until(15.0, || ns.has_addr("eth0", VIP)),
        "no VIP as user tandem with the unit's capabilities:\n{}",
        d.log()
    );
    // The daemon really is unprivileged, with the ambient capabilities the
    // scripts must not inherit.
    let status = fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap_or_default();
    assert!(
        status.lines().any(|l| l.starts_with("Uid:")
            && l.split_whitespace().nth(1) == Some(&tandem_uid.to_string())),
        "the daemon does not run as tandem:\n{status}"
    );
    let daemon_caps = caps(&status);
    assert!(
        daemon_caps.iter().any(|(k, v)| k == "CapAmb" && *v != 0),
        "the daemon has no ambient capabilities, the test proves nothing: {daemon_caps:?}"
    );

    // `tandem status` answers over the control socket.
    let sock = run.join("lb1.sock");
    let out = tandem(&["status", "--socket", sock.to_str().unwrap_or("")]);
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && table.contains("VI_1") && table.contains("MASTER"),
        "tandem status: {table}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    // SIGUSR1 writes the dump.
    let _ = Command::new("kill")
        .args(["-USR1", &d.pid().to_string()])
        .status();
    let dump = run.join("lb1.data");
    assert!(
        wait_until(5.0, || fs::read_to_string(&dump).is_ok_and(|t| t
            .contains(" VRRP Instance = VI_1")
            && t.contains("   State = MASTER"))),
        "no SIGUSR1 dump as user tandem:\n{}",
        d.log()
    );

    // Both scripts ran, as their users, with no capability at all: the
    // one as the daemon's own user (no user switch) and the one switched
    // to nobody.
    let got = lines(&out_dir, 2, || d.log());
    let nobody = uid_of("nobody").unwrap_or(65534);
    for (tag, uid) in [
        ("backup_as_tandem", tandem_uid),
        ("master_as_nobody", nobody),
    ] {
        let l = line_of(&got, tag);
        let mut words = l.split_whitespace().skip(1);
        assert_eq!(words.next(), Some(uid.to_string().as_str()), "{l}");
        let rest: Vec<&str> = words.collect();
        for pair in rest.chunks(2) {
            assert!(
                pair.len() == 2 && pair[1].trim_start_matches('0').is_empty(),
                "{tag}: the script has capabilities {pair:?}: {l}"
            );
        }
        assert_eq!(rest.len(), 8, "{tag}: four capability sets expected: {l}");
    }

    // The overrunning script (as nobody) and what it started are killed at
    // its timeout: the unit's CAP_KILL at work.
    let pid_file = hang_dir.join("hang_pid");
    assert!(
        wait_until(10.0, || pid_file.exists()),
        "the vrrp_script never ran:\n{}",
        d.log()
    );
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(pid > 0, "no pid in {}", pid_file.display());
    let gone = || match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
    };
    let killed = wait_until(5.0, gone);
    if !killed {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    assert!(
        killed,
        "the timed-out script's child (as nobody) survived under the unit's privileges:\n{}",
        d.log()
    );
}
