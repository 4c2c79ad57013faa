//! The notify FIFOs of a running daemon ([`FifoService`]): created and
//! opened at start, their `_script`s started to read them, and at stop
//! closed (and removed, if tandem made them) after the last line.
//!
//! As keepalived does it (`lib/notify.c`): each `*_script` runs once, as
//! its user, in its own process group, with the FIFO's path as its last
//! argument and no time limit; one that ends is logged. At stop the FIFO
//! is removed and closed first, so a reader sees the end of the file once
//! it has read every line (the STOP lines included); a script still
//! running a second later gets SIGTERM. Owns the script processes; the
//! lines are written by the units and the LVS task ([`Fifos`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, NotifyFifo};
use crate::notify::fifo::{Fifo, Fifos};
use crate::notify::script::{ScriptEnv, command};

use super::error::DaemonError;

/// How long a FIFO script may take to finish reading after the FIFO closed.
const SCRIPT_GRACE: Duration = Duration::from_secs(1);

/// The FIFOs and their scripts.
pub struct FifoService {
    pub fifos: Fifos,
    /// (process id, the task that waits for it) per script.
    scripts: Vec<(u32, tokio::task::JoinHandle<()>)>,
}

impl FifoService {
    /// Open every configured FIFO and start its script. A FIFO that cannot
    /// be created or opened stops the start, saying why (keepalived logs
    /// it and runs without the FIFO).
    pub fn start(config: &Config) -> Result<FifoService, DaemonError> {
        let g = &config.global_defs;
        let env = ScriptEnv::new(g);
        let mut scripts = Vec::new();
        let mut open =
            |kind: &str, conf: &Option<NotifyFifo>| -> Result<Option<Arc<Fifo>>, DaemonError> {
                let Some(c) = conf else { return Ok(None) };
                let owner = env
                    .run_as(&format!("{kind} {}", c.path), c.user.as_ref())
                    .map_err(|e| DaemonError::Fifo(e.to_string()))?;
                let fifo = Fifo::open(Path::new(&c.path), Some(owner))
                    .map_err(|e| DaemonError::Fifo(format!("{kind} {}: {e}", c.path)))?;
                tracing::info!(fifo = %c.path, "{kind} {} open", c.path);
                if let Some(n) = &c.script {
                    let mut s = env
                        .notify(&format!("{kind}_script"), n)
                        .map_err(|e| DaemonError::Fifo(e.to_string()))?;
                    s.argv.push(c.path.clone());
                    scripts.push(spawn_script(kind, &s.argv, s.run_as)?);
                }
                Ok(Some(Arc::new(fifo)))
            };
        let all = open("notify_fifo", &g.notify_fifo)?;
        let vrrp = open("vrrp_notify_fifo", &g.vrrp_notify_fifo)?;
        let lvs = open("lvs_notify_fifo", &g.lvs_notify_fifo)?;
        Ok(FifoService {
            fifos: Fifos::new(all, vrrp, lvs),
            scripts,
        })
    }

    /// Close the FIFOs, let their scripts read to the end, then stop them.
    pub async fn stop(self) {
        for f in self.fifos.all() {
            f.close();
        }
        for (pid, mut task) in self.scripts {
            if tokio::time::timeout(SCRIPT_GRACE, &mut task).await.is_err() {
                // SAFETY: kill(2) with a negative pid only sends a signal to
                // the script's own process group.
                unsafe {
                    libc::kill(-(pid as libc::pid_t), libc::SIGTERM);
                }
                let _ = tokio::time::timeout(SCRIPT_GRACE, task).await;
            }
        }
    }
}

/// Start one FIFO script; a task waits for it and logs its end.
fn spawn_script(
    kind: &str,
    argv: &[String],
    run_as: crate::notify::script::RunAs,
) -> Result<(u32, tokio::task::JoinHandle<()>), DaemonError> {
    let what = format!("{kind}_script");
    let mut cmd = command(argv, Some(run_as))
        .ok_or_else(|| DaemonError::Fifo(format!("{what}: empty command")))?;
    let mut child = cmd
        .spawn()
        .map_err(|e| DaemonError::Fifo(format!("{what} {}: {e}", argv[0])))?;
    let pid = child.id().unwrap_or(0);
    let task = tokio::spawn(async move {
        let status = child.wait().await;
        tracing::info!(?status, "{what} terminated");
    });
    Ok((pid, task))
}
