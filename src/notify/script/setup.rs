//! From the configuration to runnable scripts: the default user, the
//! `USER [GROUP]` of each script, `enable_script_security`, and the errors
//! and warnings with the file:line:col they were written at.
//!
//! # Who a script runs as
//!
//! Every script tandem starts (notify scripts of instances and sync
//! groups, `notify_up`/`notify_down`, `quorum_up`/`quorum_down`,
//! `vrrp_script`, `MISC_CHECK`) runs as keepalived runs it
//! (keepalived's `lib/notify.c`, `set_default_script_user`):
//!
//! 1. the script's own `USER [GROUP]`, if it names one;
//! 2. else `global_defs { script_user USER [GROUP] }`;
//! 3. else the user `keepalived_script`, if the system has one;
//! 4. else root.
//!
//! The group is the named one, else the user's primary group; when the
//! script switches user, the supplementary groups are dropped (a script
//! that runs as the daemon's own user keeps the daemon's).
//!
//! A user or group that does not exist on this machine, or a script that
//! `enable_script_security` cannot check because it is not there, is a
//! [`Problem::is_of_this_machine`] problem: `check-config` warns about it
//! (the configuration is checked for the machine that will run it), and
//! the daemon, which runs here, refuses to start (or a reload refuses the
//! file), naming where it was written. keepalived 2.2.7 logs "Script user
//! ... does not exist" and then runs without every script that would run
//! as that user (a vrrp_script is removed and its track_script ignored,
//! a MISC_CHECK removed, a notify script never run), which silently
//! changes failover and health decisions; tandem does not start instead.
//! A `script_user` that no script uses is only a warning, and keepalived
//! runs such a file too.
//!
//! Runs nothing: [`super::spawn`] does.

use crate::config::{Config, GlobalDefs, NotifyScript, Origin, ScriptUser};

use super::line::{RunAs, Script, ScriptError, split_command};
use super::security::{Security, check_secure};
use super::user::{lookup_group, lookup_user};

/// keepalived's default script user, used when it exists and no
/// `script_user` is configured.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Why a configured script cannot be run, with where it was configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {what}: {problem}")]
pub struct SetupError {
    /// file:line:col of the script's keyword (or of the user's name).
    pub origin: String,
    /// Which script: `vrrp_instance VI_1 notify_master`.
    pub what: String,
    pub problem: Problem,
}

/// What is wrong with a configured script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    BadCommand(ScriptError),
    #[error("user {0:?}: no such user on this system")]
    UnknownUser(String),
    #[error("group {0:?}: no such group on this system")]
    UnknownGroup(String),
    #[error(
        "refused by enable_script_security: {path} {reason}, and the script runs as {run_as}; make it and every directory above it root-owned and writable by root only"
    )]
    Insecure {
        path: String,
        reason: String,
        run_as: RunAs,
    },
    /// `missing`: the program does not exist on this machine.
    #[error("refused by enable_script_security: {program} cannot be checked: {reason}")]
    Unverifiable {
        program: String,
        reason: String,
        missing: bool,
    },
}

impl Problem {
    /// A problem of this machine rather than of the file: a user, group
    /// or script it does not have (the machine that will run the file
    /// may).
    pub fn is_of_this_machine(&self) -> bool {
        matches!(
            self,
            Problem::UnknownUser(_)
                | Problem::UnknownGroup(_)
                | Problem::Unverifiable { missing: true, .. }
        )
    }
}

/// A script that will run but should not as it is, with where it was
/// configured (`None`: about the configuration as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupWarning {
    pub origin: Option<String>,
    pub message: String,
}

impl std::fmt::Display for SetupWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{o}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// `USER [GROUP]` → uid and gid (the user's primary group unless a group
/// is named).
pub fn resolve_user(what: &str, user: &ScriptUser) -> Result<RunAs, SetupError> {
    let err = |problem| SetupError {
        origin: user.origin.to_string(),
        what: what.to_string(),
        problem,
    };
    let mut run_as =
        lookup_user(&user.user).ok_or_else(|| err(Problem::UnknownUser(user.user.clone())))?;
    if let Some(group) = &user.group {
        run_as.gid =
            lookup_group(group).ok_or_else(|| err(Problem::UnknownGroup(group.clone())))?;
    }
    Ok(run_as)
}

/// The script rules of one configuration: the default user and whether
/// `enable_script_security` is on. Built once per load (start, reload,
/// check-config).
#[derive(Debug, Clone)]
pub struct ScriptEnv {
    /// Who runs a script that names no user; the error of a `script_user`
    /// this machine does not have, reported by each script that needs it.
    pub default_user: Result<RunAs, SetupError>,
    /// How the default was chosen, for the log.
    pub default_from: DefaultFrom,
    pub security: bool,
}

/// Where the default script user came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultFrom {
    ScriptUser,
    KeepalivedScript,
    Root,
}

/// A prepared script and, when it runs as root from a path others can
/// change but `enable_script_security` is off, the warning to give.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub script: Script,
    pub warning: Option<SetupWarning>,
}

impl ScriptEnv {
    /// Resolve the default script user (`script_user`, else
    /// `keepalived_script` when it exists, else root). A `script_user`
    /// this machine lacks is an error only for the scripts that use it.
    pub fn new(global: &GlobalDefs) -> ScriptEnv {
        let (default_user, default_from) = match &global.script_user {
            Some(u) => (resolve_user("script_user", u), DefaultFrom::ScriptUser),
            None => match lookup_user(DEFAULT_SCRIPT_USER) {
                Some(r) => (Ok(r), DefaultFrom::KeepalivedScript),
                None => (Ok(RunAs::ROOT), DefaultFrom::Root),
            },
        };
        ScriptEnv {
            default_user,
            default_from,
            security: global.enable_script_security,
        }
    }

    /// Who runs a script configured with `user` (its own `USER [GROUP]`).
    pub fn run_as(&self, what: &str, user: Option<&ScriptUser>) -> Result<RunAs, SetupError> {
        match user {
            Some(u) => resolve_user(what, u),
            None => self.default_user.clone().map_err(|e| SetupError {
                what: format!("{what}, which runs as script_user"),
                ..e
            }),
        }
    }

    /// Split, resolve the user and check the path of one script line.
    /// `what` names the script in messages (`vrrp_instance VI_1
    /// notify_master`).
    pub fn prepare(
        &self,
        what: &str,
        command: &str,
        user: Option<&ScriptUser>,
        origin: &Origin,
    ) -> Result<Prepared, SetupError> {
        let err = |problem| SetupError {
            origin: origin.to_string(),
            what: what.to_string(),
            problem,
        };
        let argv = split_command(command).map_err(|e| err(Problem::BadCommand(e)))?;
        let run_as = self.run_as(what, user)?;
        let mut warning = None;
        match check_secure(&argv[0], run_as) {
            Security::Safe => {}
            Security::Insecure { path, reason } => {
                if self.security {
                    return Err(err(Problem::Insecure {
                        path: path.display().to_string(),
                        reason,
                        run_as,
                    }));
                }
                warning = Some(SetupWarning {
                    origin: Some(origin.to_string()),
                    message: format!(
                        "{what}: runs as {run_as} but {} {reason}: whoever can change it runs code as root; fix the permissions and set enable_script_security",
                        path.display()
                    ),
                });
            }
            Security::Unknown { reason, missing } => {
                if self.security {
                    return Err(err(Problem::Unverifiable {
                        program: argv[0].clone(),
                        reason,
                        missing,
                    }));
                }
                warning = Some(SetupWarning {
                    origin: Some(origin.to_string()),
                    message: format!("{what}: {}: {reason}", argv[0]),
                });
            }
        }
        Ok(Prepared {
            script: Script { argv, run_as },
            warning,
        })
    }

    /// [`ScriptEnv::prepare`] for a `notify_*` / `quorum_*` keyword.
    pub fn notify(&self, what: &str, n: &NotifyScript) -> Result<Script, SetupError> {
        Ok(self
            .prepare(what, &n.command, n.user.as_ref(), &n.origin)?
            .script)
    }

    /// [`ScriptEnv::notify`] for an optional script.
    pub fn notify_opt(
        &self,
        what: &str,
        n: Option<&NotifyScript>,
    ) -> Result<Option<Script>, SetupError> {
        n.map(|n| self.notify(what, n)).transpose()
    }
}

/// The notify FIFOs configured, with their keywords.
fn fifos(g: &GlobalDefs) -> impl Iterator<Item = (&'static str, &crate::config::NotifyFifo)> {
    [
        ("notify_fifo", &g.notify_fifo),
        ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
        ("lvs_notify_fifo", &g.lvs_notify_fifo),
    ]
    .into_iter()
    .filter_map(|(kw, f)| f.as_ref().map(|f| (kw, f)))
}

/// One configured script: (what, command line, user, where).
type ScriptRef<'a> = (String, &'a str, Option<&'a ScriptUser>, &'a Origin);

fn push<'a>(all: &mut Vec<ScriptRef<'a>>, what: String, n: Option<&'a NotifyScript>) {
    if let Some(n) = n {
        all.push((what, &n.command, n.user.as_ref(), &n.origin));
    }
}

/// The scripts of global_defs: the FIFOs' readers, `startup_script` and
/// `shutdown_script`.
fn global_scripts<'a>(g: &'a GlobalDefs, all: &mut Vec<ScriptRef<'a>>) {
    for (kw, f) in fifos(g) {
        push(all, format!("{kw}_script"), f.script.as_ref());
    }
    push(all, "startup_script".into(), g.startup_script.as_ref());
    push(all, "shutdown_script".into(), g.shutdown_script.as_ref());
}

/// Every script of a configuration checked as the daemon will run it:
/// the errors (unknown users, insecure paths under
/// `enable_script_security`) and the warnings, each with file:line:col.
pub fn check_config(config: &Config) -> (Vec<SetupError>, Vec<SetupWarning>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let env = ScriptEnv::new(&config.global_defs);
    // (what, command line, user, where) of every script.
    let mut all: Vec<ScriptRef> = Vec::new();
    for i in &config.vrrp_instances {
        for (kw, n) in [
            ("notify_master", &i.notify_master),
            ("notify_backup", &i.notify_backup),
            ("notify_fault", &i.notify_fault),
            ("notify_stop", &i.notify_stop),
            ("notify", &i.notify),
            ("notify_master_rx_lower_pri", &i.notify_master_rx_lower_pri),
        ] {
            push(
                &mut all,
                format!("vrrp_instance {} {kw}", i.name),
                n.as_ref(),
            );
        }
        push(
            &mut all,
            format!("vrrp_instance {} notify_deleted", i.name),
            i.notify_deleted.as_ref().and_then(|d| d.script.as_ref()),
        );
    }
    for g in &config.vrrp_sync_groups {
        for (kw, n) in [
            ("notify_master", &g.notify_master),
            ("notify_backup", &g.notify_backup),
            ("notify_fault", &g.notify_fault),
            ("notify_stop", &g.notify_stop),
            ("notify", &g.notify),
        ] {
            push(
                &mut all,
                format!("vrrp_sync_group {} {kw}", g.name),
                n.as_ref(),
            );
        }
    }
    global_scripts(&config.global_defs, &mut all);
    for s in &config.vrrp_scripts {
        all.push((
            format!("vrrp_script {}", s.name),
            &s.script,
            s.user.as_ref(),
            &s.origin,
        ));
    }
    for vs in &config.virtual_servers {
        push(&mut all, "quorum_up".into(), vs.quorum_up.as_ref());
        push(&mut all, "quorum_down".into(), vs.quorum_down.as_ref());
        for rs in &vs.real_servers {
            push(&mut all, "notify_up".into(), rs.notify_up.as_deref());
            push(&mut all, "notify_down".into(), rs.notify_down.as_deref());
            for c in &rs.checkers {
                if let crate::config::CheckerKind::MiscCheck(m) = &c.kind {
                    all.push((
                        "MISC_CHECK misc_path".into(),
                        &m.misc_path,
                        m.user.as_ref(),
                        &c.origin,
                    ));
                }
            }
        }
    }
    for (what, command, user, origin) in &all {
        match env.prepare(what, command, *user, origin) {
            Ok(p) => warnings.extend(p.warning),
            Err(e) => errors.push(e),
        }
    }
    errors.extend(fifo_owner_errors(&config.global_defs));
    let default_used = all.iter().any(|(_, _, user, _)| user.is_none());
    if let (Err(e), false) = (&env.default_user, default_used) {
        warnings.push(SetupWarning {
            origin: Some(e.origin.clone()),
            message: format!("{}: {} (no script runs as it)", e.what, e.problem),
        });
    }
    if default_used && env.default_from == DefaultFrom::Root {
        warnings.push(SetupWarning {
            origin: None,
            message: format!(
                "scripts that name no user run as root: no script_user is set and the user {DEFAULT_SCRIPT_USER} does not exist (keepalived's default)"
            ),
        });
    }
    (errors, warnings)
}

/// The owner of a notify FIFO tandem creates must exist too.
fn fifo_owner_errors(global: &GlobalDefs) -> Vec<SetupError> {
    fifos(global)
        .filter_map(|(kw, f)| f.user.as_ref().and_then(|u| resolve_user(kw, u).err()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_and_unknown_ones_are_errors_with_position() {
        let origin = Origin {
            file: std::sync::Arc::from(std::path::Path::new("k.conf")),
            line: 7,
            col: 5,
        };
        let u = |user: &str, group: Option<&str>| ScriptUser {
            user: user.into(),
            group: group.map(String::from),
            origin: origin.clone(),
        };
        assert_eq!(resolve_user("x", &u("root", None)).ok(), Some(RunAs::ROOT));
        let e = resolve_user("vrrp_script chk", &u("no-such-user-tdm", None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.conf:7:5: vrrp_script chk: user \"no-such-user-tdm\": no such user on this system"
        );
        let e = resolve_user("x", &u("root", Some("no-such-group-tdm"))).unwrap_err();
        assert!(matches!(e.problem, Problem::UnknownGroup(_)));
    }
}
