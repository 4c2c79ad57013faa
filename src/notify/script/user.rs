//! The system's user and group databases (`getpwnam_r`, `getgrnam_r`).
//!
//! Only lookups by name; which user a script runs as is decided in
//! [`super::setup`].

use std::ffi::CString;

use super::line::RunAs;

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
