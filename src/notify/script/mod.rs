//! Running notify scripts (`notify_master`, `notify_backup`, `notify_fault`,
//! `notify_stop`, `notify`) without ever blocking the protocol, and as the
//! user keepalived would run them.
//!
//! A VRRP instance must keep sending adverts while a slow script runs, so
//! the instance only *queues* a script; a per-owner task runs the queue in
//! order (a BACKUP script never overtakes the MASTER script queued before
//! it), each run bounded by a timeout after which the script's whole
//! process group is killed.
//!
//! As keepalived does, a script line is split into words (single and double
//! quotes group words, a backslash escapes the next character) and executed
//! directly, not through a shell. The generic `notify` script gets four
//! more arguments: `INSTANCE|GROUP`, the name, the new state
//! (`MASTER|BACKUP|FAULT|STOP`) and the priority.
//!
//! | file            | what it does                                                 |
//! |-----------------|--------------------------------------------------------------|
//! | `line.rs`       | a script line split into words, and who runs it              |
//! | `user.rs`       | user and group lookups in the system's databases             |
//! | `security.rs`   | `enable_script_security`: keepalived's `check_script_secure` |
//! | `setup.rs`      | configuration to scripts: default user, errors with position |
//! | `spawn.rs`      | one run: user switch, process group, capabilities, timeout   |
//! | `transition.rs` | the notify scripts of an instance or group, per transition   |
//! | `queue.rs`      | the per-owner queue that runs scripts in order               |
//!
//! Owns starting every script tandem runs and as whom. May not decide when
//! a script runs (VRRP, `lvs` and the daemon do) nor make a caller wait.

mod line;
mod queue;
mod security;
mod setup;
mod spawn;
#[cfg(test)]
mod testing;
mod transition;
mod user;

pub use line::{RunAs, Script, ScriptError, split_command};
pub use queue::{ScriptQueue, ScriptQueueTask};
pub use security::{Security, check_secure};
pub use setup::{
    DEFAULT_SCRIPT_USER, DefaultFrom, Prepared, Problem, ScriptEnv, SetupError, SetupWarning,
    check_config, resolve_user,
};
pub use spawn::{DEFAULT_TIMEOUT, Outcome, command, kill_group, run, run_argv};
pub use transition::{NotifyScripts, NotifyState, Subject};
pub use user::{lookup_group, lookup_user};
