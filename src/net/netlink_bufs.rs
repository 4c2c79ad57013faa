//! The receive buffers of tandem's netlink sockets, as keepalived's
//! `vrrp_netlink_monitor_rcv_bufs`, `vrrp_netlink_cmd_rcv_bufs` and
//! `process_monitor_rcv_bufs` (each with `_force`) set them: SO_RCVBUF
//! (bounded by `net.core.rmem_max`) or, forced, SO_RCVBUFFORCE (any size,
//! needs CAP_NET_ADMIN), on every such socket opened after the daemon set
//! them ([`set`]).
//!
//! A process-wide setting: the sockets are opened deep in the network
//! code, one per VRRP unit or monitor, and every one of a kind gets the
//! same size, as keepalived's one socket of each kind does. Owns the three
//! settings; may not know where they come from.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};

/// The sockets the knobs size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// rtnetlink subscriptions (link, address, route and rule events).
    Monitor,
    /// rtnetlink request sockets (addresses, routes, links).
    Command,
    /// The kernel's process-events connector (`vrrp_track_process`).
    ProcessMonitor,
}

/// A socket's receive buffer: its size in bytes (`None`: the socket's own
/// default), and whether SO_RCVBUFFORCE sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RcvBuf {
    pub size: Option<u32>,
    pub force: bool,
}

const SET: u64 = 1 << 40;
const FORCE: u64 = 1 << 33;
const SIZED: u64 = 1 << 32;

static MONITOR: AtomicU64 = AtomicU64::new(0);
static COMMAND: AtomicU64 = AtomicU64::new(0);
static PROCESS: AtomicU64 = AtomicU64::new(0);

fn slot(kind: Kind) -> &'static AtomicU64 {
    match kind {
        Kind::Monitor => &MONITOR,
        Kind::Command => &COMMAND,
        Kind::ProcessMonitor => &PROCESS,
    }
}

/// Size the sockets of `kind` opened from now on.
pub fn set(kind: Kind, buf: RcvBuf) {
    let mut v = SET;
    if let Some(s) = buf.size {
        v |= SIZED | u64::from(s);
    }
    if buf.force {
        v |= FORCE;
    }
    slot(kind).store(v, Ordering::Relaxed);
}

/// What [`set`] gave for `kind`, if anything.
pub fn get(kind: Kind) -> Option<RcvBuf> {
    let v = slot(kind).load(Ordering::Relaxed);
    if v & SET == 0 {
        return None;
    }
    Some(RcvBuf {
        size: (v & SIZED != 0).then_some(v as u32),
        force: v & FORCE != 0,
    })
}

/// Set the receive buffer of `fd`, a socket of `kind`: the configured size,
/// else `default` (the socket's own choice; `None`: the kernel's), forced
/// when configured so. A refusal is logged, not fatal (as keepalived).
pub fn apply(kind: Kind, fd: RawFd, default: Option<u32>) {
    let buf = get(kind).unwrap_or_default();
    let Some(size) = buf.size.or(default) else {
        return;
    };
    let opt = if buf.force {
        libc::SO_RCVBUFFORCE
    } else {
        libc::SO_RCVBUF
    };
    // The kernel takes an int; a larger size asks for the most it allows.
    let val: libc::c_int = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SAFETY: `val` outlives the call and the length is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&val as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        let name = if buf.force {
            "SO_RCVBUFFORCE"
        } else {
            "SO_RCVBUF"
        };
        tracing::warn!(error = %e, "cannot set {name} to {size} on a netlink socket ({kind:?})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip() {
        let b = RcvBuf {
            size: Some(u32::MAX),
            force: true,
        };
        set(Kind::Command, b);
        assert_eq!(get(Kind::Command), Some(b));
        let b = RcvBuf {
            size: None,
            force: true,
        };
        set(Kind::Command, b);
        assert_eq!(get(Kind::Command), Some(b));
        set(Kind::Command, RcvBuf::default());
        assert_eq!(get(Kind::Command), Some(RcvBuf::default()));
    }
}
