//! `enable_script_security`: whether a script that runs with root's rights
//! could be changed by someone else.
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
//! Reads file metadata only; refusing or warning is [`super::setup`]'s.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::line::RunAs;

/// What [`check_secure`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    Safe,
    /// `path` (the file or a directory above it) is not safe: `reason`.
    Insecure {
        path: PathBuf,
        reason: String,
    },
    /// The program could not be found or examined; `missing` when it
    /// does not exist here (the machine that will run the configuration
    /// may have it).
    Unknown {
        reason: String,
        missing: bool,
    },
}

/// [`Security::Unknown`] for an I/O error, missing when the error says
/// the path does not exist.
fn unknown(reason: String, e: &std::io::Error) -> Security {
    Security::Unknown {
        reason,
        missing: e.kind() == std::io::ErrorKind::NotFound,
    }
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
        return Security::Unknown {
            reason: "not found on PATH".into(),
            missing: true,
        };
    };
    let file = match path.metadata() {
        Ok(m) => m,
        Err(e) => return unknown(format!("cannot examine {}: {e}", path.display()), &e),
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
            Err(e) => return unknown(format!("cannot resolve {}: {e}", path.display()), &e),
        }
    };
    // The path as written (whoever can change a symbolic link on it can
    // change what runs) and the real path behind every link (as keepalived
    // resolves it with realpath): a link in a root-owned directory to a
    // script in someone else's directory is not safe.
    let real = match std::fs::canonicalize(&absolute) {
        Ok(p) => p,
        Err(e) => return unknown(format!("cannot resolve {}: {e}", path.display()), &e),
    };
    for walked in [&absolute, &real] {
        let mut prefix = PathBuf::new();
        for part in walked.components() {
            prefix.push(part);
            let m = match std::fs::metadata(&prefix) {
                Ok(m) => m,
                Err(e) => {
                    return unknown(format!("cannot examine {}: {e}", prefix.display()), &e);
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

#[cfg(test)]
mod tests {
    use super::*;

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
            Security::Unknown { .. }
        ));
    }
}
