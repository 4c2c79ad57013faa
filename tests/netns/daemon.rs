//! `tandem run` as a child process inside a namespace, and scratch files.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{Netns, wait_until};

/// A `tandem run` inside a namespace, killed with -9 if still running when dropped.
pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(ns: &Netns, conf: &PathBuf, log: PathBuf) -> Daemon {
        Daemon::start_with(ns, conf, log, &[])
    }

    /// [`Daemon::start`] with more `tandem run` options.
    pub fn start_with(ns: &Netns, conf: &PathBuf, log: PathBuf, extra: &[&str]) -> Daemon {
        let err = fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
        let child = ns
            .command(env!("CARGO_BIN_EXE_tandem"))
            .args(["run", "-f"])
            .arg(conf)
            .args(extra)
            // Each daemon its own control socket and dump file: the file
            // system is shared by every namespace.
            .arg("--control-socket")
            .arg(log.with_extension("sock"))
            .arg("--dump-file")
            .arg(log.with_extension("data"))
            .env("TANDEM_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tandem: {e}"));
        Daemon {
            child: Some(child),
            log,
        }
    }

    /// Wait until the daemon has started (its first transition logged), so
    /// that a node started after it cannot win the first election by
    /// starting earlier on a loaded machine.
    pub fn wait_started(&self) {
        let ok = wait_until(10.0, || self.log().contains("Entering "));
        assert!(ok, "daemon did not start:\n{}", self.log());
    }

    /// The daemon's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `tandem status --json` over this daemon's control socket (`Null`
    /// when it does not answer).
    pub fn status(&self) -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(["status", "--json", "--socket"])
            .arg(self.log.with_extension("sock"))
            .output();
        match out {
            Ok(o) if o.status.success() => {
                serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// A counter of the first VRRP instance in `status` (`None` when the
    /// daemon does not answer).
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.status()["vrrp_instances"][0]["counters"][name].as_u64()
    }

    pub fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status();
        }
    }

    /// Wait for the process to end; its exit code.
    pub fn wait(&mut self, secs: f64) -> Option<i32> {
        let mut child = self.child.take()?;
        let ok = wait_until(secs, || matches!(child.try_wait(), Ok(Some(_))));
        if !ok {
            let _ = child.kill();
        }
        child.wait().ok().and_then(|s| s.code())
    }
}

/// Starts a pair of balancers: `lb1` with `conf1`, then, once it has
/// started, `lb2` with `conf2`, so that `lb1` wins the first election by
/// priority and not by luck. Configurations and logs go to `dir` as
/// `lb1.conf` / `lb1.log` and `lb2.conf` / `lb2.log`.
pub fn start_pair(
    dir: &Scratch,
    lb1: &Netns,
    conf1: &str,
    lb2: &Netns,
    conf2: &str,
) -> (Daemon, Daemon) {
    let d1 = Daemon::start(lb1, &dir.file("lb1.conf", conf1), dir.0.join("lb1.log"));
    d1.wait_started();
    let d2 = Daemon::start(lb2, &dir.file("lb2.conf", conf2), dir.0.join("lb2.log"));
    (d1, d2)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `tandem check-config -f PATH`, which must accept the file: what it
/// said (its warnings and notes).
pub fn check_config_accepts(path: &PathBuf) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-config", "-f"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "check-config refused it:\n{said}");
    said
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("tdm-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{e}"));
        Scratch(p)
    }
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
