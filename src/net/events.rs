//! An rtnetlink multicast subscription read on tokio: the socket, its
//! receive buffer, and the one rule every reader of kernel events needs
//! (a full socket buffer loses events, which the kernel says with
//! `ENOBUFS`: the reader must look again at the whole state).
//!
//! Shared by the link monitor (`track_interface`) and the removal monitor
//! (static entries put back). Owns the socket; may not parse or decide
//! what an event means.

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::io::unix::AsyncFd;

use super::reactor::register;
use super::rtnl::RtnlError;

/// One read from the subscription.
pub enum Batch<'a> {
    /// A datagram of netlink messages.
    Messages(&'a [u8]),
    /// Events were lost: whatever the reader follows may have changed.
    Lost,
}

/// A subscription to rtnetlink multicast groups of this namespace.
pub struct RtnlEvents {
    fd: AsyncFd<Socket>,
    buf: Vec<u8>,
    /// What the events are, for errors ("link events").
    op: &'static str,
}

impl RtnlEvents {
    /// Subscribe to the legacy group bits `groups` and the group numbers
    /// `extra` (those past the legacy mask). Must be called inside a tokio
    /// runtime.
    pub fn subscribe(groups: u32, extra: &[u32], op: &'static str) -> Result<Self, RtnlError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(RtnlError::Open)?;
        socket
            .bind(&SocketAddr::new(0, groups))
            .map_err(RtnlError::Open)?;
        for &g in extra {
            socket.add_membership(g).map_err(RtnlError::Open)?;
        }
        socket.set_non_blocking(true).map_err(RtnlError::Open)?;
        // Lost events cost the reader a full look; a bigger buffer makes
        // that rare on a flapping link or a mass deletion.
        super::netlink_bufs::apply(
            super::netlink_bufs::Kind::Monitor,
            std::os::fd::AsRawFd::as_raw_fd(&socket),
            Some(1 << 20),
        );
        let fd = register(socket).map_err(RtnlError::Open)?;
        Ok(RtnlEvents {
            fd,
            buf: Vec::with_capacity(64 * 1024),
            op,
        })
    }

    /// The next datagram, or [`Batch::Lost`]. Cancel-safe.
    pub async fn next(&mut self) -> Result<Batch<'_>, RtnlError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(|source| RtnlError::Io {
                op: self.op,
                source,
            })?;
            self.buf.clear();
            let buf = &mut self.buf;
            match guard.try_io(|s| s.get_ref().recv(buf, 0)) {
                Err(_would_block) => continue,
                Ok(Ok(n)) => {
                    let n = n.min(self.buf.len());
                    return Ok(Batch::Messages(&self.buf[..n]));
                }
                Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(Batch::Lost),
                Ok(Err(source)) => {
                    return Err(RtnlError::Io {
                        op: self.op,
                        source,
                    });
                }
            }
        }
    }
}
