//! Starting a script: as its user, in its own process group, without the
//! daemon's capabilities, bounded by a timeout.
//!
//! # Capabilities
//!
//! Under the packaged unit the daemon runs as user `tandem` with ambient
//! capabilities (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETUID, CAP_SETGID,
//! CAP_KILL). Ambient capabilities survive `execve`, so a script would get
//! them all; each child clears its ambient and inheritable sets before it
//! executes the script. A script that runs as root still gets what root
//! gets within the unit's bounding set.
//!
//! Owns one child process; may not queue or order runs (queue.rs does).

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::line::{RunAs, Script};

/// Default limit on one script run (keepalived's `script_timeout` for
/// notify scripts is unbounded; an unbounded hang is what we avoid).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A command that runs `argv` as `run_as` (`None`: as the daemon), in its
/// own process group (so a timeout kills what it started too), with the
/// ambient and inheritable capabilities cleared.
pub fn command(argv: &[String], run_as: Option<RunAs>) -> Option<Command> {
    let (program, args) = argv.split_first()?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .process_group(0);
    if let Some(r) = run_as {
        // SAFETY: the closure runs in the forked child before exec and only
        // makes async-signal-safe system calls.
        unsafe {
            cmd.pre_exec(move || switch_user(r));
        }
    }
    // SAFETY: prctl and the capset syscall are async-signal-safe; nothing
    // is allocated in the child.
    unsafe {
        cmd.pre_exec(drop_inherited_caps);
    }
    Some(cmd)
}

/// Become `r` in the child: supplementary groups (only `r.gid`, as
/// keepalived), group, then user. std's `uid()`/`gid()` would keep the
/// daemon's supplementary groups when it runs as a non-root user with
/// CAP_SETGID (the packaged unit), so the switch is done here. A child that
/// already is `r` (the daemon's own user) changes nothing, which needs no
/// privilege.
fn switch_user(r: RunAs) -> std::io::Result<()> {
    // SAFETY: plain system calls on values owned by this frame.
    unsafe {
        if libc::getuid() == r.uid
            && libc::geteuid() == r.uid
            && libc::getgid() == r.gid
            && libc::getegid() == r.gid
        {
            return Ok(());
        }
        if libc::setgroups(1, &r.gid) != 0
            || libc::setresgid(r.gid, r.gid, r.gid) != 0
            || libc::setresuid(r.uid, r.uid, r.uid) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Clear the ambient and inheritable capability sets, so that the script
/// does not inherit the daemon's CAP_NET_ADMIN & co. through `execve`.
fn drop_inherited_caps() -> std::io::Result<()> {
    // PR_CAP_AMBIENT_CLEAR_ALL needs no privilege; EINVAL on a kernel
    // without ambient capabilities (< 4.3), where there is nothing to clear.
    // SAFETY: plain prctl call.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(e);
        }
    }
    // The inheritable set: capget, clear it, capset (lowering is always
    // allowed). Version 3 headers carry two 32-bit words per set.
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and data match the kernel's v3 layout and outlive
    // the calls.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if data.iter().all(|d| d.inheritable == 0) {
            return Ok(());
        }
        for d in &mut data {
            d.inheritable = 0;
        }
        if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Kill a child's whole process group (it leads it: `process_group(0)`).
pub fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) with a negative pid only sends a signal.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
        }
    }
}

/// How a script run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signalled,
    TimedOut,
    SpawnFailed(String),
}

/// Run one script to completion as its user, killing its whole process
/// group after `timeout` (a script that started `sleep 300 &` leaves
/// nothing behind).
pub async fn run(script: &Script, timeout: Duration) -> Outcome {
    run_argv(&script.argv, Some(script.run_as), timeout).await
}

/// [`run`] for bare words: `run_as` `None` runs as the daemon's user.
pub async fn run_argv(argv: &[String], run_as: Option<RunAs>, timeout: Duration) -> Outcome {
    let Some(mut cmd) = command(argv, run_as) else {
        return Outcome::SpawnFailed("empty command".into());
    };
    cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(e.to_string()),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => match status.code() {
            Some(code) => Outcome::Exited(code),
            None => Outcome::Signalled,
        },
        Ok(Err(e)) => Outcome::SpawnFailed(e.to_string()),
        Err(_) => {
            kill_group(&child);
            let _ = child.kill().await;
            Outcome::TimedOut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::script::testing::sc;

    #[tokio::test]
    async fn a_hanging_script_is_killed_at_the_timeout() {
        let start = std::time::Instant::now();
        let out = run(&sc(&["/bin/sleep", "30"]), Duration::from_millis(200)).await;
        assert_eq!(out, Outcome::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn exit_status_and_missing_program() {
        assert_eq!(
            run(&sc(&["/bin/sh", "-c", "exit 3"]), DEFAULT_TIMEOUT).await,
            Outcome::Exited(3)
        );
        assert!(matches!(
            run(&sc(&["/nonexistent/script"]), DEFAULT_TIMEOUT).await,
            Outcome::SpawnFailed(_)
        ));
    }

    #[tokio::test]
    async fn a_timeout_kills_what_the_script_started() {
        let dir = std::env::temp_dir().join(format!("tdm-pgrp-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let pidfile = dir.join("pid");
        let out = run(
            &sc(&[
                "/bin/sh",
                "-c",
                &format!("sleep 300 & echo $! > {}; wait", pidfile.display()),
            ]),
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(out, Outcome::TimedOut);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("no pid written: {e}"));
        // Gone, or a zombie waiting for init to reap it.
        let gone = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z')),
        };
        let start = std::time::Instant::now();
        while !gone() && start.elapsed() < Duration::from_secs(3) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let alive = !gone();
        if alive {
            // SAFETY: kill(2) only sends a signal; clean up after a failure.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!alive, "the script's `sleep 300 &` survived its timeout");
    }
}
