//! `TCP_CHECK`, and the connection set-up every network checker shares.
//!
//! The socket is made by hand (not `TcpStream::connect`) so that `bindto`,
//! `bind_port`, `bind_if` and `fwmark` apply to the check exactly as
//! configured, for HTTP_GET and SSL_GET too.
//!
//! Owns every checker's outgoing TCP socket; may not speak a protocol over
//! it (http.rs and ssl.rs do).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;

use super::outcome::CheckError;
use super::spec::CheckerSpec;

/// Open a TCP connection to the checker's target with its source options.
///
/// Not bounded in time here: callers wrap the whole probe in
/// `connect_timeout`.
pub async fn connect(spec: &CheckerSpec) -> Result<TcpStream, CheckError> {
    let stream = connect_started(spec)?;
    let err = |source| CheckError::Connect {
        addr: spec.target,
        source,
    };
    // Writable once the handshake is over, whichever way it ended.
    stream.writable().await.map_err(err)?;
    match stream.take_error() {
        Ok(None) => Ok(stream),
        Ok(Some(e)) | Err(e) => Err(err(e)),
    }
}

/// Start connecting to the checker's target with its source options and
/// return at once, the handshake still under way (non-blocking
/// `connect`). Whoever writes first learns how the handshake ended: the
/// write waits until the socket is writable and fails with the connect
/// error (ECONNREFUSED, EHOSTUNREACH...) if there was one. HTTP_GET uses
/// this to save the `getsockopt(SO_ERROR)` that [`connect`] needs.
pub fn connect_started(spec: &CheckerSpec) -> Result<TcpStream, CheckError> {
    let stream = start_connect(spec, Opening::Plain)?;
    TcpStream::from_std(stream).map_err(|source| CheckError::Connect {
        addr: spec.target,
        source,
    })
}

/// What the caller sends once the handshake is over.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Opening {
    /// Nothing known: the kernel acknowledges the server's SYN-ACK at once.
    Plain,
    /// A request is written as soon as the socket is writable: the
    /// handshake's last ACK waits for it and rides on its first segment
    /// (`TCP_DEFER_ACCEPT` on a connecting socket makes Linux hold that
    /// ACK, at most its delayed-ACK time, 200 ms). One segment fewer per
    /// check, which the server (and on loopback the checker's own system
    /// time) does not have to process; the server's accept returns with
    /// the request already there.
    RequestFollows,
}

/// The socket of [`connect_started`], before any runtime owns it (the
/// checks' own event loop, [`super::engine`], takes it as it is).
pub fn start_connect(
    spec: &CheckerSpec,
    opening: Opening,
) -> Result<std::net::TcpStream, CheckError> {
    let addr = spec.target;
    let err = |source| CheckError::Connect { addr, source };
    // Non-blocking and close-on-exec from the start: no fcntl calls.
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
    .map_err(err)?;
    if let Some(ifname) = &spec.bind_if {
        socket.bind_device(Some(ifname.as_bytes())).map_err(err)?;
    }
    if let Some(mark) = spec.fwmark {
        socket.set_mark(mark).map_err(err)?;
    }
    if spec.bindto.is_some() || spec.bind_port.is_some() {
        let ip = spec.bindto.unwrap_or(match addr {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        if spec.bind_port.is_some() {
            // A fixed source port is reused every delay_loop; without
            // SO_REUSEADDR the previous connection's TIME_WAIT blocks it.
            socket.set_reuse_address(true).map_err(err)?;
        }
        socket
            .bind(&SocketAddr::new(ip, spec.bind_port.unwrap_or(0)).into())
            .map_err(err)?;
    }
    if opening == Opening::RequestFollows {
        // Best effort: without it the handshake simply ends with its own ACK.
        let _ = set_defer_accept(&socket);
    }
    // No TCP_NODELAY: a check writes its request in one call and then
    // only reads, so Nagle never holds anything back; one syscall less.
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(err(e)),
    }
    Ok(std::net::TcpStream::from(socket))
}

/// `TCP_DEFER_ACCEPT` of one second on a socket about to connect: see
/// [`Opening::RequestFollows`] (socket2 has no setter for it).
fn set_defer_accept(socket: &Socket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let secs: libc::c_int = 1;
    // SAFETY: `secs` outlives the call and the length is its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&secs as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `TCP_CHECK`: the server is up when a connection opens within
/// `connect_timeout`. The connection is closed at once.
pub async fn probe(spec: &CheckerSpec) -> Result<(), CheckError> {
    match tokio::time::timeout(spec.connect_timeout, connect(spec)).await {
        Ok(Ok(stream)) => {
            drop(stream);
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(CheckError::Timeout(spec.connect_timeout)),
    }
}
