//! `startup_script` and `shutdown_script` (global_defs): one program run
//! before anything of the daemon starts, one after everything has
//! stopped, each bounded by its timeout, as keepalived's parent process
//! runs them (`main.c`: the startup script before its children start, the
//! shutdown script once they have all exited).
//!
//! A failing script is logged and changes nothing else: keepalived starts
//! (and exits) after either whatever its status. A timeout kills the
//! script's whole process group. Neither runs at a reload.
//!
//! Owns: running the two scripts. May not: decide who runs them or
//! whether they are safe (`notify::script`'s setup does, at load).

use std::time::Duration;

use crate::config::GlobalDefs;
use crate::notify::script::{self, Outcome, Script, ScriptEnv};

use super::error::DaemonError;

/// The two scripts of a configuration, resolved (user, path security).
#[derive(Debug, Default)]
pub struct StartStop {
    startup: Option<(Script, Duration)>,
    shutdown: Option<(Script, Duration)>,
}

impl StartStop {
    pub fn prepare(g: &GlobalDefs) -> Result<StartStop, DaemonError> {
        let env = ScriptEnv::new(g);
        let one = |what: &str, s: Option<&crate::config::NotifyScript>, t: Duration| {
            env.notify_opt(what, s)
                .map(|s| s.map(|s| (s, t)))
                .map_err(|e| DaemonError::Script(e.to_string()))
        };
        Ok(StartStop {
            startup: one(
                "startup_script",
                g.startup_script.as_ref(),
                g.startup_script_timeout,
            )?,
            shutdown: one(
                "shutdown_script",
                g.shutdown_script.as_ref(),
                g.shutdown_script_timeout,
            )?,
        })
    }

    /// Run the startup script to its end (or its timeout).
    pub async fn startup(&self) {
        if let Some((s, t)) = &self.startup {
            run_one("startup", s, *t).await;
        }
    }

    /// Run the shutdown script to its end (or its timeout).
    pub async fn shutdown(&self) {
        if let Some((s, t)) = &self.shutdown {
            run_one("shutdown", s, *t).await;
        }
    }
}

async fn run_one(kind: &str, s: &Script, timeout: Duration) {
    let line = s.line();
    tracing::info!("running {kind} script {line}");
    match script::run(s, timeout).await {
        Outcome::Exited(0) => tracing::info!("{kind} script succeeded"),
        Outcome::Exited(code) => tracing::warn!("{kind} script {line} failed, status {code}"),
        Outcome::Signalled => tracing::warn!("{kind} script {line} was killed by a signal"),
        Outcome::TimedOut => tracing::warn!(
            "{kind} script {line} timed out after {} s: killed",
            timeout.as_secs()
        ),
        Outcome::SpawnFailed(e) => tracing::warn!("call of {kind} script {line} failed: {e}"),
    }
}
