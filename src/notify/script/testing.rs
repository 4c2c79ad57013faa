//! Helpers the unit tests of the script modules share.

use super::line::{RunAs, Script};

pub(super) fn w(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The test's own user: running as it switches nothing.
pub(super) fn me() -> RunAs {
    // SAFETY: getuid/getgid cannot fail.
    unsafe {
        RunAs {
            uid: libc::getuid(),
            gid: libc::getgid(),
        }
    }
}

pub(super) fn sc(v: &[&str]) -> Script {
    Script {
        argv: w(v),
        run_as: me(),
    }
}
