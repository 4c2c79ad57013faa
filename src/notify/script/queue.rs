//! The per-owner script queue: scripts of one instance or sync group run
//! one after another on their own task, so a caller never waits and a
//! BACKUP script never overtakes the MASTER script queued before it.
//!
//! Owns the queue tasks; may not choose which scripts a transition runs
//! (transition.rs does).

use std::time::Duration;

use tokio::sync::mpsc;

use super::line::Script;
use super::spawn::{Outcome, run};

/// A queue of commands run one after another on their own task.
///
/// Cloning the handle is cheap; the task ends when every handle is dropped
/// and the queue is drained, which [`ScriptQueueTask::drained`] lets the caller
/// wait for (the shutdown path waits for `notify_stop`).
#[derive(Clone)]
pub struct ScriptQueue {
    tx: mpsc::UnboundedSender<(String, Script)>,
}

pub struct ScriptQueueTask {
    handle: tokio::task::JoinHandle<()>,
}

impl ScriptQueue {
    /// Start the queue's task. `owner` names the instance or group in logs.
    pub fn start(owner: String, timeout: Duration) -> (ScriptQueue, ScriptQueueTask) {
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Script)>();
        let handle = tokio::spawn(async move {
            while let Some((what, script)) = rx.recv().await {
                let outcome = run(&script, timeout).await;
                let argv = &script.argv;
                match &outcome {
                    Outcome::Exited(0) => {
                        tracing::debug!(instance = %owner, script = %what, "notify script done")
                    }
                    Outcome::Exited(code) => tracing::warn!(
                        instance = %owner, script = %what, code, command = ?argv,
                        "notify script exited with non-zero status"
                    ),
                    Outcome::Signalled => tracing::warn!(
                        instance = %owner, script = %what, command = ?argv,
                        "notify script killed by a signal"
                    ),
                    Outcome::TimedOut => tracing::warn!(
                        instance = %owner, script = %what, command = ?argv, timeout_s = timeout.as_secs_f64(),
                        "notify script timed out and was killed"
                    ),
                    Outcome::SpawnFailed(e) => tracing::warn!(
                        instance = %owner, script = %what, command = ?argv, error = %e,
                        "cannot run notify script"
                    ),
                }
            }
        });
        (ScriptQueue { tx }, ScriptQueueTask { handle })
    }

    /// Queue a command; never waits.
    pub fn push(&self, what: &str, script: Script) {
        let _ = self.tx.send((what.to_string(), script));
    }
}

impl ScriptQueueTask {
    /// Wait until every queued command has run (after all handles are dropped).
    pub async fn drained(self) {
        let _ = self.handle.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::script::spawn::DEFAULT_TIMEOUT;
    use crate::notify::script::testing::sc;

    #[tokio::test]
    async fn queue_runs_in_order_without_blocking_the_caller() {
        let dir = std::env::temp_dir().join(format!("tdm-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let log = dir.join("log");
        let _ = std::fs::remove_file(&log);
        let (q, task) = ScriptQueue::start("VI_1".into(), DEFAULT_TIMEOUT);
        let sh = |word: &str, delay: &str| {
            sc(&[
                "/bin/sh",
                "-c",
                &format!("sleep {delay}; echo {word} >> {}", log.display()),
            ])
        };
        let start = std::time::Instant::now();
        q.push("notify_backup", sh("BACKUP", "0.3"));
        q.push("notify_master", sh("MASTER", "0"));
        // Queuing returned at once, although the first script sleeps.
        assert!(start.elapsed() < Duration::from_millis(100));
        drop(q);
        task.drained().await;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(text, "BACKUP\nMASTER\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
