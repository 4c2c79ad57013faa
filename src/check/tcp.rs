//! `TCP_CHECK`, and the connection set-up every network checker shares.
//!
//! The socket is made by hand (not `TcpStream::connect`) so that `bindto`,
//! `bind_port`, `bind_if` and `fwmark` apply to the check exactly as
//! configured, for HTTP_GET and SSL_GET too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::SockRef;
use tokio::net::{TcpSocket, TcpStream};

use super::CheckError;
use super::spec::CheckerSpec;

/// Open a TCP connection to the checker's target with its source options.
///
/// Not bounded in time here: callers wrap the whole probe in
/// `connect_timeout`.
pub async fn connect(spec: &CheckerSpec) -> Result<TcpStream, CheckError> {
    let addr = spec.target;
    let err = |source| CheckError::Connect { addr, source };
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(err)?;
    if let Some(ifname) = &spec.bind_if {
        socket.bind_device(Some(ifname.as_bytes())).map_err(err)?;
    }
    if let Some(mark) = spec.fwmark {
        SockRef::from(&socket).set_mark(mark).map_err(err)?;
    }
    if spec.bindto.is_some() || spec.bind_port.is_some() {
        let ip = spec.bindto.unwrap_or(match addr {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        if spec.bind_port.is_some() {
            // A fixed source port is reused every delay_loop; without
            // SO_REUSEADDR the previous connection's TIME_WAIT blocks it.
            socket.set_reuseaddr(true).map_err(err)?;
        }
        socket
            .bind(SocketAddr::new(ip, spec.bind_port.unwrap_or(0)))
            .map_err(err)?;
    }
    // No TCP_NODELAY: a check writes its request in one call and then
    // only reads, so Nagle never holds anything back; one syscall less.
    socket.connect(addr).await.map_err(err)
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
