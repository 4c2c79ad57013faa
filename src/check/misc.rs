//! `MISC_CHECK`: run a program and judge the real server by its exit status.
//!
//! keepalived.conf(5): exit 0 is up; 1 is down; with `misc_dynamic`, 2..=255
//! is up with weight `status − 2`; without it any non-zero status is down.
//! The program runs in its own process group and the whole group is killed
//! when it outlives `misc_timeout` (default `delay_loop`), so a hung script
//! cannot pile up children every `delay_loop`.
//!
//! No shell is involved: `misc_path` is split into words with single and
//! double quotes and backslash escapes, as keepalived does (the same
//! splitting as notify scripts, `notify::script::split_command`).
//!
//! Owns the verdict of an exit status; starting the program is
//! `notify::script`'s, so MISC_CHECK runs as every script runs.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use super::outcome::{CheckError, Pass};
use super::spec::{CheckerSpec, MiscCheck};
use crate::notify::script::{RunAs, command, kill_group, split_command};

/// Map an exit status to a verdict, keepalived's way.
pub fn judge(misc: &MiscCheck, code: i32) -> Result<Pass, CheckError> {
    match code {
        0 => Ok(Pass::Up),
        2..=255 if misc.dynamic => Ok(Pass::Weight((code - 2) as u32)),
        code => Err(CheckError::Exit {
            path: misc.path.clone(),
            code,
        }),
    }
}

/// Run the program once.
pub async fn probe(spec: &CheckerSpec, misc: &MiscCheck) -> Result<Pass, CheckError> {
    let words = split_command(&misc.path).map_err(|e| CheckError::BadCommand {
        path: misc.path.clone(),
        reason: e.to_string(),
    })?;
    // As every script tandem runs: as its user (resolved at load), in its
    // own process group, without the daemon's ambient capabilities.
    let run_as = match (misc.uid, misc.gid) {
        (Some(uid), Some(gid)) => Some(RunAs { uid, gid }),
        _ => None,
    };
    let Some(mut cmd) = command(&words, run_as) else {
        return Err(CheckError::BadCommand {
            path: misc.path.clone(),
            reason: "empty command".into(),
        });
    };
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|source| CheckError::Spawn {
        path: misc.path.clone(),
        source,
    })?;
    let timeout = misc.timeout.unwrap_or(spec.timing.delay_loop);
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => match (status.code(), status.signal()) {
            (Some(code), _) => judge(misc, code),
            (None, Some(signal)) => Err(CheckError::Signal {
                path: misc.path.clone(),
                signal,
            }),
            (None, None) => Err(CheckError::Exit {
                path: misc.path.clone(),
                code: -1,
            }),
        },
        Ok(Err(source)) => Err(CheckError::Spawn {
            path: misc.path.clone(),
            source,
        }),
        Err(_) => {
            // The child leads its own process group: kill the group, so
            // grandchildren go too.
            kill_group(&child);
            let _ = child.kill().await;
            Err(CheckError::MiscTimeout {
                path: misc.path.clone(),
                timeout,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_keepalived_semantics() {
        let mut m = MiscCheck {
            path: "x".into(),
            timeout: None,
            dynamic: false,
            uid: None,
            gid: None,
        };
        assert_eq!(judge(&m, 0).ok(), Some(Pass::Up));
        assert!(judge(&m, 1).is_err());
        assert!(judge(&m, 10).is_err());
        m.dynamic = true;
        assert_eq!(judge(&m, 0).ok(), Some(Pass::Up));
        assert!(judge(&m, 1).is_err());
        assert_eq!(judge(&m, 2).ok(), Some(Pass::Weight(0)));
        assert_eq!(judge(&m, 10).ok(), Some(Pass::Weight(8)));
        assert_eq!(judge(&m, 255).ok(), Some(Pass::Weight(253)));
    }
}
