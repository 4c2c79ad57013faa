//! Running notify scripts (`notify_master`, `notify_backup`, `notify_fault`,
//! `notify_stop`, `notify`) without ever blocking the protocol.
//!
//! A VRRP instance must keep sending adverts while a slow script runs, so
//! the instance only *queues* a script; a per-owner task runs the queue in
//! order (a BACKUP script never overtakes the MASTER script queued before
//! it), each run bounded by a timeout after which the process is killed.
//!
//! As keepalived does, a script line is split into words (single and double
//! quotes group words, a backslash escapes the next character) and executed
//! directly, not through a shell. The generic `notify` script gets four
//! more arguments: `INSTANCE|GROUP`, the name, the new state
//! (`MASTER|BACKUP|FAULT|STOP`) and the priority.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::mpsc;

/// Default limit on one script run (keepalived's `script_timeout` for
/// notify scripts is unbounded; an unbounded hang is what we avoid).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a script line looked like that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("empty script command")]
    Empty,
    #[error("unterminated quote in script command `{0}`")]
    UnterminatedQuote(String),
}

/// Split a script line into words, as keepalived does (quotes group, a
/// backslash escapes, no variable expansion, no globbing).
pub fn split_command(line: &str) -> Result<Vec<String>, ScriptError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                    in_word = true;
                }
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(ScriptError::UnterminatedQuote(line.to_string()));
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(ScriptError::Empty);
    }
    Ok(words)
}

/// Whether a notification is about a VRRP instance or a sync group
/// (the first of the generic `notify` script's extra arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Instance,
    Group,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Instance => "INSTANCE",
            Subject::Group => "GROUP",
        }
    }
}

/// The notify scripts configured for one instance or sync group, each
/// already split into words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<Vec<String>>,
    pub backup: Option<Vec<String>>,
    pub fault: Option<Vec<String>>,
    pub stop: Option<Vec<String>>,
    pub generic: Option<Vec<String>>,
}

/// The state names the scripts receive, as keepalived spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
}

impl NotifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
        }
    }
}

impl NotifyScripts {
    /// The command lines to run, in keepalived's order, for a transition to
    /// `state`: the state's own script first, then the generic `notify`
    /// with `INSTANCE|GROUP NAME STATE PRIORITY` appended.
    pub fn commands(
        &self,
        subject: Subject,
        name: &str,
        state: NotifyState,
        priority: u8,
    ) -> Vec<Vec<String>> {
        let specific = match state {
            NotifyState::Master => &self.master,
            NotifyState::Backup => &self.backup,
            NotifyState::Fault => &self.fault,
            NotifyState::Stop => &self.stop,
        };
        let mut out = Vec::new();
        if let Some(argv) = specific {
            out.push(argv.clone());
        }
        if let Some(argv) = &self.generic {
            let mut argv = argv.clone();
            argv.extend([
                subject.as_str().to_string(),
                name.to_string(),
                state.as_str().to_string(),
                priority.to_string(),
            ]);
            out.push(argv);
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.generic.is_none()
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

/// Run one command to completion, killing it after `timeout`.
pub async fn run(argv: &[String], timeout: Duration) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::SpawnFailed("empty command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
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
            let _ = child.kill().await;
            Outcome::TimedOut
        }
    }
}

/// A queue of commands run one after another on their own task.
///
/// Cloning the handle is cheap; the task ends when every handle is dropped
/// and the queue is drained, which [`ScriptQueue::close`] lets the caller
/// wait for (the shutdown path waits for `notify_stop`).
#[derive(Clone)]
pub struct ScriptQueue {
    tx: mpsc::UnboundedSender<(String, Vec<String>)>,
}

pub struct ScriptQueueTask {
    handle: tokio::task::JoinHandle<()>,
}

impl ScriptQueue {
    /// Start the queue's task. `owner` names the instance or group in logs.
    pub fn start(owner: String, timeout: Duration) -> (ScriptQueue, ScriptQueueTask) {
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Vec<String>)>();
        let handle = tokio::spawn(async move {
            while let Some((what, argv)) = rx.recv().await {
                let outcome = run(&argv, timeout).await;
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
    pub fn push(&self, what: &str, argv: Vec<String>) {
        let _ = self.tx.send((what.to_string(), argv));
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

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn split_like_keepalived() {
        assert_eq!(
            split_command("/bin/notify.sh master").ok(),
            Some(w(&["/bin/notify.sh", "master"]))
        );
        assert_eq!(
            split_command("  /bin/x 'a b'  \"c d\" e\\ f ").ok(),
            Some(w(&["/bin/x", "a b", "c d", "e f"]))
        );
        assert_eq!(split_command("/bin/x ''").ok(), Some(w(&["/bin/x", ""])));
        assert_eq!(split_command("   "), Err(ScriptError::Empty));
        assert!(matches!(
            split_command("/bin/x 'oops"),
            Err(ScriptError::UnterminatedQuote(_))
        ));
    }

    #[test]
    fn generic_notify_gets_four_arguments_after_the_specific_script() {
        let s = NotifyScripts {
            master: Some(w(&["/m.sh"])),
            generic: Some(w(&["/n.sh", "x"])),
            ..Default::default()
        };
        assert_eq!(
            s.commands(Subject::Instance, "VI_1", NotifyState::Master, 150),
            vec![
                w(&["/m.sh"]),
                w(&["/n.sh", "x", "INSTANCE", "VI_1", "MASTER", "150"])
            ]
        );
        assert_eq!(
            s.commands(Subject::Group, "G1", NotifyState::Fault, 0),
            vec![w(&["/n.sh", "x", "GROUP", "G1", "FAULT", "0"])]
        );
    }

    #[tokio::test]
    async fn a_hanging_script_is_killed_at_the_timeout() {
        let start = std::time::Instant::now();
        let out = run(&w(&["/bin/sleep", "30"]), Duration::from_millis(200)).await;
        assert_eq!(out, Outcome::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn exit_status_and_missing_program() {
        assert_eq!(
            run(&w(&["/bin/sh", "-c", "exit 3"]), DEFAULT_TIMEOUT).await,
            Outcome::Exited(3)
        );
        assert!(matches!(
            run(&w(&["/nonexistent/script"]), DEFAULT_TIMEOUT).await,
            Outcome::SpawnFailed(_)
        ));
    }

    #[tokio::test]
    async fn queue_runs_in_order_without_blocking_the_caller() {
        let dir = std::env::temp_dir().join(format!("tdm-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let log = dir.join("log");
        let _ = std::fs::remove_file(&log);
        let (q, task) = ScriptQueue::start("VI_1".into(), DEFAULT_TIMEOUT);
        let sh = |word: &str, delay: &str| {
            w(&[
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
