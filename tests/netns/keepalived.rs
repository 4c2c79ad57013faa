//! Debian's keepalived 2.2.7 as a child in a namespace, to compare what
//! it installs with what tandem installs from the same file.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::{Netns, wait_until};

/// Debian's keepalived in a namespace, in its own process group (killed
/// with it when dropped).
pub struct Keepalived {
    child: Option<Child>,
    log: std::path::PathBuf,
}

impl Keepalived {
    /// keepalived's VRRP process only (`-P`), logging to
    /// `dir/keepalived.log`.
    pub fn start(ns: &Netns, conf: &Path, dir: &Path) -> Keepalived {
        Keepalived::spawn(ns, conf, dir, "keepalived", &["-P"])
    }

    /// keepalived with its VRRP and BFD processes, as a BFD peer: files
    /// `dir/NAME.log` and `dir/NAME.*.pid`, so several run side by side.
    pub fn start_bfd(ns: &Netns, conf: &Path, dir: &Path, name: &str) -> Keepalived {
        Keepalived::spawn(ns, conf, dir, name, &[])
    }

    fn spawn(ns: &Netns, conf: &Path, dir: &Path, name: &str, only: &[&str]) -> Keepalived {
        let log_path = dir.join(format!("{name}.log"));
        let log = fs::File::create(&log_path).unwrap_or_else(|e| panic!("{e}"));
        // `start`'s pid files keep their old names.
        let pid = |p: &str| match name {
            "keepalived" => dir.join(format!("{p}.pid")),
            _ => dir.join(format!("{name}.{p}.pid")),
        };
        let child = ns
            .command("keepalived")
            .args(["-n", "-l", "-D", "-G"])
            .args(only)
            .arg("-f")
            .arg(conf)
            .arg("-p")
            .arg(pid("k"))
            .arg("-r")
            .arg(pid("v"))
            .arg("-c")
            .arg(pid("c"))
            .arg("-b")
            .arg(pid("b"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start keepalived: {e}"));
        Keepalived {
            child: Some(child),
            log: log_path,
        }
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGHUP: keepalived reads its file again.
    pub fn reload(&self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-HUP", &c.id().to_string()])
                .status();
        }
    }

    /// SIGTERM and wait for the whole process group.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let ok = wait_until(20.0, || matches!(c.try_wait(), Ok(Some(_))));
            assert!(ok, "keepalived did not stop");
        }
    }
}

impl Keepalived {
    /// SIGKILL to the whole group (keepalived and its children): a peer
    /// that dies without a goodbye.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // kill(2) on the group, not `kill -KILL -PID`: procps-ng
            // 4.0.2's kill sends that to the group of PID's first digit
            // (`-1xxxx` is kill(-1): every process on the machine).
            if let Ok(pgid) = i32::try_from(c.id()) {
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
            let _ = c.wait();
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn have_keepalived() -> bool {
    Command::new("keepalived").arg("--version").output().is_ok()
}

/// keepalived is missing: a failure under CI (where it is installed by
/// `.ci/setup`), else a note and `false` (the comparison is skipped).
pub fn require_keepalived() -> bool {
    if have_keepalived() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "keepalived is not installed (CI=true: the comparison must run)"
    );
    eprintln!("keepalived is not installed: comparison skipped");
    false
}
