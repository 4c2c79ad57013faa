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
//! ## Who a script runs as
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
//! that runs as the daemon's own user keeps the daemon's). A user or group that does not exist
//! is a configuration error naming where it was written.
//!
//! ## enable_script_security
//!
//! A script that runs as root (uid 0 or gid 0, or a set-uid/set-gid root
//! file) is only as safe as every directory on the way to it: keepalived's
//! `check_script_secure` refuses the file or any parent directory when it
//! is not owned by root, or is writable by a group other than root's or by
//! everyone (a sticky directory's world-writable bit is allowed, as for
//! `/tmp`). With `enable_script_security` tandem refuses such a
//! configuration (at start, in `check-config` and at reload) with the
//! script's file:line:col; without it, it warns. Where keepalived silently
//! disables the script, tandem refuses: a failover that quietly skips its
//! notify script is worse than a start that says why.
//!
//! ## Capabilities
//!
//! Under the packaged unit the daemon runs as user `tandem` with ambient
//! capabilities (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETUID, CAP_SETGID,
//! CAP_KILL). Ambient capabilities survive `execve`, so a script would get
//! them all; each child clears its ambient and inheritable sets before it
//! executes the script. A script that runs as root still gets what root
//! gets within the unit's bounding set.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::mpsc;

use crate::config::{Config, GlobalDefs, NotifyScript, Origin, ScriptUser};

/// Default limit on one script run (keepalived's `script_timeout` for
/// notify scripts is unbounded; an unbounded hang is what we avoid).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// keepalived's default script user, used when it exists and no
/// `script_user` is configured.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// What a script line looked like that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("empty script command")]
    Empty,
    #[error("unterminated quote in script command `{0}`")]
    UnterminatedQuote(String),
}

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
    #[error("refused by enable_script_security: {program} cannot be checked: {reason}")]
    Unverifiable { program: String, reason: String },
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

/// The user and group a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

impl RunAs {
    pub const ROOT: RunAs = RunAs { uid: 0, gid: 0 };

    /// Whether keepalived counts this as running with root's rights.
    pub fn is_root(self) -> bool {
        self.uid == 0 || self.gid == 0
    }
}

impl std::fmt::Display for RunAs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "uid {} gid {}", self.uid, self.gid)
    }
}

/// A script ready to run: its words and who runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub argv: Vec<String>,
    pub run_as: RunAs,
}

impl Script {
    /// The command line, for logs.
    pub fn line(&self) -> String {
        self.argv.join(" ")
    }
}

/// Look a user up: its uid and primary gid. `None`: no such user.
pub fn lookup_user(name: &str) -> Option<RunAs> {
    let name = CString::new(name).ok()?;
    // SAFETY: an all-zero passwd is a valid value to be written over.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = with_growing_buffer(16 * 1024, |buf| {
        // SAFETY: getpwnam_r writes into `pwd` and `buf`, which outlive
        // the call; `result` is NULL or points at `pwd`.
        unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        }
    });
    if rc != 0 || result.is_null() {
        return None;
    }
    Some(RunAs {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// Look a group up by name. `None`: no such group.
pub fn lookup_group(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: an all-zero group is a valid value to be written over.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    let rc = with_growing_buffer(64 * 1024, |buf| {
        // SAFETY: as for getpwnam_r.
        unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        }
    });
    if rc != 0 || result.is_null() {
        return None;
    }
    Some(grp.gr_gid)
}

/// The largest buffer a user or group lookup grows to.
const LOOKUP_BUFFER_MAX: usize = 4 * 1024 * 1024;

/// Run a `get*nam_r` lookup with a buffer that doubles while the answer is
/// ERANGE (an entry larger than the buffer: a directory-service group with
/// thousands of members), rather than calling the name unknown. The
/// buffer lives until the end of this call; the caller reads only the
/// fixed fields (uid, gid) of its record afterwards.
fn with_growing_buffer(initial: usize, mut lookup: impl FnMut(&mut [u8]) -> i32) -> i32 {
    let mut buf = vec![0u8; initial];
    loop {
        let rc = lookup(&mut buf);
        if rc == libc::ERANGE && buf.len() < LOOKUP_BUFFER_MAX {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        return rc;
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
    /// Who runs a script that names no user.
    pub default_user: RunAs,
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
    /// `keepalived_script` when it exists, else root).
    pub fn new(global: &GlobalDefs) -> Result<ScriptEnv, SetupError> {
        let (default_user, default_from) = match &global.script_user {
            Some(u) => (resolve_user("script_user", u)?, DefaultFrom::ScriptUser),
            None => match lookup_user(DEFAULT_SCRIPT_USER) {
                Some(r) => (r, DefaultFrom::KeepalivedScript),
                None => (RunAs::ROOT, DefaultFrom::Root),
            },
        };
        Ok(ScriptEnv {
            default_user,
            default_from,
            security: global.enable_script_security,
        })
    }

    /// Who runs a script configured with `user` (its own `USER [GROUP]`).
    pub fn run_as(&self, what: &str, user: Option<&ScriptUser>) -> Result<RunAs, SetupError> {
        match user {
            Some(u) => resolve_user(what, u),
            None => Ok(self.default_user),
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
            Security::Unknown(reason) => {
                if self.security {
                    return Err(err(Problem::Unverifiable {
                        program: argv[0].clone(),
                        reason,
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

/// Every script of a configuration checked as the daemon will run it:
/// the errors (unknown users, insecure paths under
/// `enable_script_security`) and the warnings, each with file:line:col.
pub fn check_config(config: &Config) -> (Vec<SetupError>, Vec<SetupWarning>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let env = match ScriptEnv::new(&config.global_defs) {
        Ok(env) => env,
        Err(e) => return (vec![e], warnings),
    };
    // (what, command line, user, where) of every script.
    let mut all: Vec<(String, &str, Option<&ScriptUser>, &Origin)> = Vec::new();
    fn push<'a>(
        all: &mut Vec<(String, &'a str, Option<&'a ScriptUser>, &'a Origin)>,
        what: String,
        n: Option<&'a NotifyScript>,
    ) {
        if let Some(n) = n {
            all.push((what, &n.command, n.user.as_ref(), &n.origin));
        }
    }
    for i in &config.vrrp_instances {
        for (kw, n) in [
            ("notify_master", &i.notify_master),
            ("notify_backup", &i.notify_backup),
            ("notify_fault", &i.notify_fault),
            ("notify_stop", &i.notify_stop),
            ("notify", &i.notify),
        ] {
            push(
                &mut all,
                format!("vrrp_instance {} {kw}", i.name),
                n.as_ref(),
            );
        }
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
    let any = !all.is_empty();
    if any && env.default_from == DefaultFrom::Root {
        warnings.push(SetupWarning {
            origin: None,
            message: format!(
                "scripts that name no user run as root: no script_user is set and the user {DEFAULT_SCRIPT_USER} does not exist (keepalived's default)"
            ),
        });
    }
    (errors, warnings)
}

/// What [`check_secure`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    Safe,
    /// `path` (the file or a directory above it) is not safe: `reason`.
    Insecure {
        path: PathBuf,
        reason: String,
    },
    /// The program could not be found or examined.
    Unknown(String),
}

/// Find `program` as exec would: a name with a slash as is, else on PATH.
fn locate(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    // exec skips entries that are not executable files; so does this.
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// keepalived's `check_script_secure`: a script that runs with root's
/// rights (uid or gid 0, or a set-uid / set-gid root file) is insecure
/// when the file or any directory above it is not owned by root, or is
/// writable by a non-root group or by everyone (a sticky directory may be
/// world-writable). A script that runs as another user needs nothing: it
/// cannot do more than its user can.
pub fn check_secure(program: &str, run_as: RunAs) -> Security {
    let Some(path) = locate(program) else {
        return Security::Unknown("not found on PATH".into());
    };
    let file = match path.metadata() {
        Ok(m) => m,
        Err(e) => return Security::Unknown(format!("cannot examine {}: {e}", path.display())),
    };
    let mode = file.mode();
    let setuid_root = file.uid() == 0 && mode & 0o4100 == 0o4100;
    let setgid_root = file.gid() == 0 && mode & 0o2010 == 0o2010;
    if !(run_as.is_root() || setuid_root || setgid_root) {
        return Security::Safe;
    }
    // Every prefix: "/", "/usr", "/usr/local", ..., the file itself.
    let absolute = if path.is_absolute() {
        path.clone()
    } else {
        match std::env::current_dir() {
            Ok(d) => d.join(&path),
            Err(e) => return Security::Unknown(format!("cannot resolve {}: {e}", path.display())),
        }
    };
    // The path as written (whoever can change a symbolic link on it can
    // change what runs) and the real path behind every link (as keepalived
    // resolves it with realpath): a link in a root-owned directory to a
    // script in someone else's directory is not safe.
    let real = match std::fs::canonicalize(&absolute) {
        Ok(p) => p,
        Err(e) => return Security::Unknown(format!("cannot resolve {}: {e}", path.display())),
    };
    for walked in [&absolute, &real] {
        let mut prefix = PathBuf::new();
        for part in walked.components() {
            prefix.push(part);
            let m = match std::fs::metadata(&prefix) {
                Ok(m) => m,
                Err(e) => {
                    return Security::Unknown(format!("cannot examine {}: {e}", prefix.display()));
                }
            };
            if let Some(reason) = unsafe_reason(&m) {
                return Security::Insecure {
                    path: prefix,
                    reason,
                };
            }
        }
    }
    Security::Safe
}

/// Why one file or directory lets a non-root user change what runs.
fn unsafe_reason(m: &std::fs::Metadata) -> Option<String> {
    let mode = m.mode();
    let kind = if m.is_dir() { "directory" } else { "file" };
    if m.uid() != 0 {
        return Some(format!("is a {kind} owned by uid {}, not root", m.uid()));
    }
    let sticky_dir = m.is_dir() && mode & 0o1000 != 0;
    if sticky_dir {
        return None;
    }
    if m.gid() != 0 && mode & 0o020 != 0 {
        return Some(format!(
            "is a {kind} writable by group {} (mode {:04o})",
            m.gid(),
            mode & 0o7777
        ));
    }
    if mode & 0o002 != 0 {
        return Some(format!(
            "is a {kind} writable by everyone (mode {:04o})",
            mode & 0o7777
        ));
    }
    None
}

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
/// already split into words, with the user it runs as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    pub generic: Option<Script>,
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
    ) -> Vec<Script> {
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
        if let Some(script) = &self.generic {
            let mut script = script.clone();
            script.argv.extend([
                subject.as_str().to_string(),
                name.to_string(),
                state.as_str().to_string(),
                priority.to_string(),
            ]);
            out.push(script);
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

/// A queue of commands run one after another on their own task.
///
/// Cloning the handle is cheap; the task ends when every handle is dropped
/// and the queue is drained, which [`ScriptQueue::close`] lets the caller
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

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The test's own user: running as it switches nothing.
    fn me() -> RunAs {
        // SAFETY: getuid/getgid cannot fail.
        unsafe {
            RunAs {
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        }
    }

    fn sc(v: &[&str]) -> Script {
        Script {
            argv: w(v),
            run_as: me(),
        }
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
            master: Some(sc(&["/m.sh"])),
            generic: Some(sc(&["/n.sh", "x"])),
            ..Default::default()
        };
        assert_eq!(
            s.commands(Subject::Instance, "VI_1", NotifyState::Master, 150)
                .into_iter()
                .map(|s| s.argv)
                .collect::<Vec<_>>(),
            vec![
                w(&["/m.sh"]),
                w(&["/n.sh", "x", "INSTANCE", "VI_1", "MASTER", "150"])
            ]
        );
        assert_eq!(
            s.commands(Subject::Group, "G1", NotifyState::Fault, 0)
                .into_iter()
                .map(|s| s.argv)
                .collect::<Vec<_>>(),
            vec![w(&["/n.sh", "x", "GROUP", "G1", "FAULT", "0"])]
        );
    }

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

    /// A scratch directory for permission tests, 0755 and root-owned when
    /// the test runs as root (as in CI).
    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Dir {
            use std::os::unix::fs::PermissionsExt;
            let p = std::env::temp_dir().join(format!("tdm-sec-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            Dir(p)
        }
        fn script(&self, name: &str, mode: u32) -> PathBuf {
            use std::os::unix::fs::PermissionsExt;
            let f = self.0.join(name);
            std::fs::write(&f, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            f
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn is_root() -> bool {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn script_security_follows_keepalived_check_script_secure() {
        if !is_root() {
            eprintln!("skipped: needs root to own the test files as root");
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let d = Dir::new("unit");
        let safe = d.script("safe.sh", 0o755);
        assert_eq!(
            check_secure(safe.to_str().unwrap(), RunAs::ROOT),
            Security::Safe
        );
        // World-writable file: anyone can change what root runs.
        let w = d.script("world.sh", 0o757);
        assert!(matches!(
            check_secure(w.to_str().unwrap(), RunAs::ROOT),
            Security::Insecure { path, .. } if path == w
        ));
        // Group-writable by a non-root group.
        let g = d.script("group.sh", 0o775);
        std::os::unix::fs::chown(&g, None, Some(65534)).unwrap();
        assert!(matches!(
            check_secure(g.to_str().unwrap(), RunAs::ROOT),
            Security::Insecure { .. }
        ));
        // Owned by someone else.
        let o = d.script("other.sh", 0o755);
        std::os::unix::fs::chown(&o, Some(65534), None).unwrap();
        assert!(matches!(
            check_secure(o.to_str().unwrap(), RunAs::ROOT),
            Security::Insecure { .. }
        ));
        // ... all fine when the script does not run with root's rights.
        let nobody = RunAs {
            uid: 65534,
            gid: 65534,
        };
        assert_eq!(check_secure(w.to_str().unwrap(), nobody), Security::Safe);
        // gid 0 counts as root's rights.
        let gid0 = RunAs { uid: 65534, gid: 0 };
        assert!(matches!(
            check_secure(w.to_str().unwrap(), gid0),
            Security::Insecure { .. }
        ));
        // A directory above it that everyone can write.
        let sub = d.0.join("open");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
        let inside = sub.join("s.sh");
        std::fs::write(&inside, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            check_secure(inside.to_str().unwrap(), RunAs::ROOT),
            Security::Insecure { path, .. } if path == sub
        ));
        // ... unless it is sticky, like /tmp.
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(
            check_secure(inside.to_str().unwrap(), RunAs::ROOT),
            Security::Safe
        );
        // A link from a safe directory to a script in an open one: the
        // open directory is found on the real path (keepalived's realpath).
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
        let link = d.0.join("link.sh");
        std::os::unix::fs::symlink(&inside, &link).unwrap();
        assert!(matches!(
            check_secure(link.to_str().unwrap(), RunAs::ROOT),
            Security::Insecure { path, .. } if path == sub
        ));
        // Found on PATH; missing.
        assert_eq!(check_secure("sh", RunAs::ROOT), Security::Safe);
        assert!(matches!(
            check_secure("/nonexistent/x.sh", RunAs::ROOT),
            Security::Unknown(_)
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
