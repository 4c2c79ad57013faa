//! The generic-netlink socket under the client: opened with extended acks
//! and large buffers, every send and receive bounded by a timeout.
//!
//! Blocking calls on purpose (see [`super`]); knows nothing of IPVS
//! messages, only datagrams.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

use super::error::IpvsError;

pub(super) fn not_connected() -> IpvsError {
    IpvsError::Socket(io::Error::from(io::ErrorKind::NotConnected))
}

/// `net_namespace_ipvs`: the network namespace (a `/run/netns/NAME` or
/// `/proc/1/ns/net`) whose IPVS table every client of this process talks
/// to; `None`: the process's own.
static NAMESPACE: std::sync::RwLock<Option<PathBuf>> = std::sync::RwLock::new(None);

/// Set where the IPVS sockets opened from now on live (keepalived's
/// `net_namespace_ipvs`): checked now, so that a namespace that does not
/// exist is an error at start rather than at the first table.
pub fn set_namespace(path: Option<PathBuf>) -> io::Result<()> {
    if let Some(p) = &path {
        std::fs::File::open(p)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
    }
    if let Ok(mut ns) = NAMESPACE.write() {
        *ns = path;
    }
    Ok(())
}

pub(super) fn open_socket(timeout: Duration) -> Result<Socket, IpvsError> {
    let ns = NAMESPACE.read().ok().and_then(|n| n.clone());
    match ns {
        None => open_here(timeout),
        // A socket belongs to the namespace it was made in, whichever
        // thread uses it later: a short thread enters the namespace
        // (setns moves only the calling thread), makes it and ends.
        Some(path) => std::thread::scope(|s| {
            s.spawn(|| {
                enter(&path).map_err(IpvsError::Socket)?;
                open_here(timeout)
            })
            .join()
            .unwrap_or_else(|_| {
                Err(IpvsError::Socket(io::Error::other(
                    "socket thread panicked",
                )))
            })
        }),
    }
}

/// Move the calling thread into the network namespace at `path`.
fn enter(path: &std::path::Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    // SAFETY: a plain syscall on a descriptor we own for the call.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("cannot enter {}: {e}", path.display()),
        ));
    }
    Ok(())
}

fn open_here(timeout: Duration) -> Result<Socket, IpvsError> {
    let mut socket = Socket::new(NETLINK_GENERIC).map_err(IpvsError::Socket)?;
    socket.bind_auto().map_err(IpvsError::Socket)?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(IpvsError::Socket)?;
    // Errors carry the request header only, plus the kernel's text.
    socket.set_cap_ack(true).map_err(IpvsError::Socket)?;
    socket.set_ext_ack(true).map_err(IpvsError::Socket)?;
    set_buffers(&socket);
    set_timeout(&socket, libc::SO_RCVTIMEO, timeout)?;
    set_timeout(&socket, libc::SO_SNDTIMEO, timeout)?;
    Ok(socket)
}

/// Room for a full window of acknowledgements; FORCE needs CAP_NET_ADMIN,
/// which changing IPVS needs anyway, and the plain option is the fallback.
fn set_buffers(socket: &Socket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: a valid fd and a pointer to a c_int of the given length.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
    }
}

fn set_timeout(socket: &Socket, opt: libc::c_int, d: Duration) -> Result<(), IpvsError> {
    use std::os::fd::AsRawFd;
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: a valid fd and a pointer to a timeval of the given length.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(IpvsError::Socket(io::Error::last_os_error()));
    }
    Ok(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

pub(super) fn send_all(socket: &Socket, buf: &[u8], timeout: Duration) -> Result<(), IpvsError> {
    loop {
        match socket.send(buf, 0) {
            Ok(n) if n == buf.len() => return Ok(()),
            Ok(n) => {
                return Err(IpvsError::Socket(io::Error::other(format!(
                    "short send: {n} of {} bytes",
                    buf.len()
                ))));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(IpvsError::Timeout(timeout)),
            Err(e) => return Err(IpvsError::Socket(e)),
        }
    }
}

pub(super) fn recv(socket: &Socket, buf: &mut [u8], timeout: Duration) -> Result<usize, IpvsError> {
    loop {
        let mut slice = &mut *buf;
        match socket.recv(&mut slice, libc::MSG_TRUNC) {
            Ok(n) if n > buf.len() => {
                return Err(IpvsError::Decode(format!(
                    "a {n}-byte datagram does not fit the {}-byte buffer",
                    buf.len()
                )));
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(IpvsError::Timeout(timeout)),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Err(IpvsError::Overrun),
            Err(e) => return Err(IpvsError::Socket(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of a `struct timeval` socket option.
    fn timeval_opt(socket: &Socket, opt: libc::c_int) -> Duration {
        use std::os::fd::AsRawFd;
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        // SAFETY: a valid fd, a timeval and its length.
        let r = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&mut tv as *mut libc::timeval).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0, "getsockopt: {}", io::Error::last_os_error());
        Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
    }

    #[test]
    fn the_socket_gives_up_sending_and_receiving_after_the_timeout() {
        // A blocking send to a kernel that stops reading (its receive
        // queue full) would otherwise wait for ever.
        for timeout in [Duration::from_millis(1500), Duration::from_secs(5)] {
            let socket = open_socket(timeout).expect("a generic netlink socket");
            assert_eq!(timeval_opt(&socket, libc::SO_SNDTIMEO), timeout);
            assert_eq!(timeval_opt(&socket, libc::SO_RCVTIMEO), timeout);
        }
    }
}
