//! A `script_user` (or a script's own `user`) that this machine does not
//! have. keepalived 2.2.7 logs it and runs without every script that would
//! run as that user (asked here: `keepalived -t` says which it removes);
//! tandem's `check-config` warns, since a configuration is checked for the
//! machine that will run it, and `tandem run` on this machine refuses to
//! start, naming file:line:col, rather than fail over without its scripts.
//! A `script_user` no script uses changes nothing: both daemons run.
//! Needs root (namespaces).

mod netns;

use std::process::Command;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

const VIP: &str = "192.0.2.77";
const NOBODY: &str = "tdm-s7misc-nouser";

fn conf(global: &str, script_user_on_script: &str, with_scripts: bool) -> String {
    let scripts = if with_scripts {
        format!(
            "vrrp_script chk {{\n    script \"/bin/true\"\n    interval 1\n{script_user_on_script}}}\n"
        )
    } else {
        String::new()
    };
    let track = if with_scripts {
        "    track_script {\n        chk\n    }\n    notify_master \"/bin/true master\"\n"
    } else {
        ""
    };
    format!(
        "global_defs {{\n{global}}}\n{scripts}vrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n{track}}}\n"
    )
}

fn check_config(path: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-config", "-f"])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_warns_and_the_daemon_refuses_to_start_here() {
    let dir = Scratch::new("s7misc-su");
    let d = dir.0.display().to_string();
    let global = format!("    script_user {NOBODY}\n");
    let path = dir.file("k.conf", &conf(&global, "", true));

    // check-config: exit 0, one warning per script, at script_user's name.
    let (code, err) = check_config(&path);
    assert_eq!(code, Some(0), "{err}");
    for what in ["vrrp_script chk", "vrrp_instance VI_1 notify_master"] {
        assert!(
            err.contains(&format!("{d}/k.conf:2:17: warning: {what}, which runs as script_user: user \"{NOBODY}\": no such user on this system; tandem run refuses to start on a machine without it")),
            "{what}: {err}"
        );
    }

    // keepalived on this machine: runs, without those scripts.
    let ns = Netns::with_eth0("s7misc-su", "192.0.2.1/24");
    let k = ns.exec(&["keepalived", "-t", "-f", path.to_str().unwrap_or("")]);
    let kerr = String::from_utf8_lossy(&k.stderr);
    assert!(
        kerr.contains("Unable to set default user for vrrp script chk - removing"),
        "{kerr}"
    );

    // tandem run here: exit 1 at once, the reason with its position; it
    // never took the VIP.
    let mut daemon = Daemon::start(&ns, &path, dir.0.join("d.log"));
    assert_eq!(daemon.wait(10.0), Some(1), "{}", daemon.log());
    let log = daemon.log();
    assert!(
        log.contains(&format!("{d}/k.conf:2:17: error: vrrp_script chk, which runs as script_user: user \"{NOBODY}\": no such user on this system")),
        "{log}"
    );
    assert!(log.contains("not starting"), "{log}");
    assert!(!ns.has_addr("eth0", VIP));

    // The same for a script's own user.
    let path = dir.file("own.conf", &conf("", &format!("    user {NOBODY}\n"), true));
    let (code, err) = check_config(&path);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("{d}/own.conf:6:10: warning: vrrp_script chk: user \"{NOBODY}\": no such user on this system; tandem run refuses")),
        "{err}"
    );
    let mut daemon = Daemon::start(&ns, &path, dir.0.join("own.log"));
    assert_eq!(daemon.wait(10.0), Some(1), "{}", daemon.log());
    assert!(
        daemon.log().contains(&format!(
            "{d}/own.conf:6:10: error: vrrp_script chk: user \"{NOBODY}\""
        )),
        "{}",
        daemon.log()
    );
}

#[test]
fn a_script_user_no_script_uses_is_only_a_warning_and_the_daemon_runs() {
    let dir = Scratch::new("s7misc-su0");
    let d = dir.0.display().to_string();
    let path = dir.file(
        "k.conf",
        &conf(&format!("    script_user {NOBODY}\n"), "", false),
    );
    let (code, err) = check_config(&path);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("{d}/k.conf:2:17: warning: script_user: user \"{NOBODY}\": no such user on this system (no script runs as it)")),
        "{err}"
    );
    let ns = Netns::with_eth0("s7misc-su0", "192.0.2.1/24");
    let daemon = Daemon::start(&ns, &path, dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", VIP)),
        "never became master:\n{}",
        daemon.log()
    );
}
