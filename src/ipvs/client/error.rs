//! What can go wrong talking to IPVS, and how a kernel refusal reads:
//! the errno, the kernel's own text, and a hint for the common ones.
//!
//! Plain values; no I/O.

use std::io;
use std::time::Duration;

use netlink_packet_core::DecodeError;

/// What can go wrong talking to IPVS.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    #[error(
        "the kernel has no IPVS (generic netlink family \"IPVS\" not found): load the ip_vs module (modprobe ip_vs)"
    )]
    NoIpvs,
    #[error("IPVS netlink socket: {0}")]
    Socket(#[source] io::Error),
    #[error("IPVS: no answer from the kernel within {0:?}")]
    Timeout(Duration),
    #[error(
        "IPVS: the kernel dropped replies (receive buffer overrun); the table may be partly changed: dump and reconcile again"
    )]
    Overrun,
    #[error("IPVS {cmd}: {}", kernel_text(*.errno, .message.as_deref()))]
    Kernel {
        cmd: &'static str,
        /// The positive errno.
        errno: i32,
        /// The kernel's extended-ack text, when it gave one.
        message: Option<String>,
    },
    #[error("IPVS: malformed reply from the kernel: {0}")]
    Decode(String),
}

impl IpvsError {
    /// The errno of a kernel refusal.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

impl From<DecodeError> for IpvsError {
    fn from(e: DecodeError) -> Self {
        IpvsError::Decode(e.to_string())
    }
}

/// The errno text, the kernel's own message, and a hint for the refusals
/// people meet.
fn kernel_text(errno: i32, message: Option<&str>) -> String {
    let mut s = io::Error::from_raw_os_error(errno).to_string();
    if let Some(m) = message {
        s.push_str(": ");
        s.push_str(m);
    }
    let hint = match errno {
        libc::EPERM => Some("changing IPVS needs CAP_NET_ADMIN (run as root)"),
        libc::ESRCH => Some("no such virtual service"),
        libc::EEXIST => Some("it exists already"),
        libc::ENOENT => Some("no such destination, or scheduler/persistence module not found"),
        libc::EINVAL => Some(
            "invalid request: destination address not unicast or not routable, or an option the kernel refuses",
        ),
        libc::ERANGE => Some("weight negative or lower threshold above upper threshold"),
        libc::EAFNOSUPPORT => Some("the kernel's IPVS lacks this address family"),
        _ => None,
    };
    if let Some(h) = hint {
        s.push_str(" (");
        s.push_str(h);
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_refusals_read_like_the_errno_with_a_hint() {
        let e = IpvsError::Kernel {
            cmd: "NEW_DEST",
            errno: libc::ERANGE,
            message: None,
        };
        assert_eq!(
            e.to_string(),
            "IPVS NEW_DEST: Numerical result out of range (os error 34) \
             (weight negative or lower threshold above upper threshold)"
        );
        let e = IpvsError::Kernel {
            cmd: "NEW_SERVICE",
            errno: libc::EPERM,
            message: Some("denied".into()),
        };
        assert!(
            e.to_string()
                .contains(": denied (changing IPVS needs CAP_NET_ADMIN")
        );
    }
}
