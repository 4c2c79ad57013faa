//! UDP sockets for single-hop BFD (RFC 5881): one listener on port 3784
//! for every session, and one sender per session.
//!
//! * The **listener** is an IPv6 socket bound to `[::]:3784` that also
//!   takes IPv4 (v4-mapped), as keepalived's is, or an IPv4 one where
//!   IPv6 is off. It asks for the TTL / hop limit of each datagram
//!   (`IP_RECVTTL`, `IPV6_RECVHOPLIMIT`: RFC 5881 §5's check needs it) and
//!   its destination address (`IPV6_RECVPKTINFO` / `IP_PKTINFO`: a session
//!   with a `source_ip` takes only packets addressed to it).
//! * A **sender** is bound to the session's `source_ip` (or any address)
//!   and a source port in 49152–65535 (RFC 5881 §4: "MUST be in the range
//!   49152 through 65535"), and sends with the session's TTL / hop limit.
//!
//! Owns these sockets; may not parse or judge a packet (`bfd` does).

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::reactor::register;

/// UDP port of single-hop Control packets (RFC 5881 §4).
pub const BFD_PORT: u16 = 3784;
/// RFC 5881 §4's source ports.
const SOURCE_PORT_MIN: u16 = 49152;
const SOURCE_PORT_MAX: u16 = 65535;

/// What can go wrong with a BFD socket.
#[derive(Debug, thiserror::Error)]
pub enum BfdSocketError {
    #[error("BFD: cannot {what}: {source}")]
    Setup {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("BFD: receive: {0}")]
    Recv(#[source] io::Error),
    #[error("BFD: send to {dst}: {source}")]
    Send {
        dst: IpAddr,
        #[source]
        source: io::Error,
    },
}

fn setup(what: impl Into<String>) -> impl FnOnce(io::Error) -> BfdSocketError {
    let what = what.into();
    move |source| BfdSocketError::Setup { what, source }
}

/// One datagram as the listener got it.
#[derive(Debug, Clone)]
pub struct BfdDatagram {
    pub data: Vec<u8>,
    /// The sender (a v4-mapped address made IPv4 again).
    pub src: IpAddr,
    /// The address it was sent to, when the kernel said.
    pub dst: Option<IpAddr>,
    /// IPv4 TTL or IPv6 hop limit, when the kernel said.
    pub ttl: Option<u8>,
}

fn set_int(socket: &Socket, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` lives across the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The socket every session receives on.
pub struct BfdListener {
    fd: AsyncFd<Socket>,
    buf: Vec<u8>,
}

impl BfdListener {
    /// Bind `[::]:3784` (IPv4 too), or `0.0.0.0:3784` without IPv6. Must
    /// be called inside a tokio runtime.
    pub fn bind() -> Result<BfdListener, BfdSocketError> {
        let socket = match Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)) {
            Ok(s) => {
                s.set_only_v6(false)
                    .map_err(setup("accept IPv4 on the IPv6 listener"))?;
                set_int(&s, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)
                    .map_err(setup("set IPV6_RECVHOPLIMIT"))?;
                set_int(&s, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
                    .map_err(setup("set IPV6_RECVPKTINFO"))?;
                s
            }
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
                let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
                    .map_err(setup("open a UDP socket"))?;
                set_int(&s, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
                    .map_err(setup("set IP_PKTINFO"))?;
                s
            }
            Err(e) => return Err(setup("open a UDP socket")(e)),
        };
        // IPv4 TTLs, also of the v4-mapped datagrams of the IPv6 socket.
        set_int(&socket, libc::IPPROTO_IP, libc::IP_RECVTTL, 1).map_err(setup("set IP_RECVTTL"))?;
        let any: SocketAddr = if socket.domain().ok() == Some(Domain::IPV6) {
            (Ipv6Addr::UNSPECIFIED, BFD_PORT).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, BFD_PORT).into()
        };
        socket
            .bind(&any.into())
            .map_err(setup(format!("bind UDP port {BFD_PORT}")))?;
        socket
            .set_nonblocking(true)
            .map_err(setup("make the listener non-blocking"))?;
        let fd = register(socket).map_err(setup("register with tokio"))?;
        Ok(BfdListener {
            fd,
            buf: vec![0u8; 2048],
        })
    }

    /// The next datagram.
    pub async fn recv(&mut self) -> Result<BfdDatagram, BfdSocketError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(BfdSocketError::Recv)?;
            let buf = &mut self.buf;
            match guard.try_io(|s| recvmsg(s.get_ref(), buf)) {
                Err(_would_block) => continue,
                Ok(r) => return r.map_err(BfdSocketError::Recv),
            }
        }
    }
}

/// An IPv4 address out of a v4-mapped IPv6 one.
fn unmap(a: Ipv6Addr) -> IpAddr {
    match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    }
}

fn recvmsg(socket: &Socket, buf: &mut [u8]) -> io::Result<BfdDatagram> {
    let r = super::ancillary::recv(socket, buf)?;
    let unmap_ip = |a: IpAddr| match a {
        IpAddr::V6(v6) => unmap(v6),
        v4 => v4,
    };
    Ok(BfdDatagram {
        data: buf[..r.len].to_vec(),
        src: r
            .source()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), unmap_ip),
        dst: r.dst.map(unmap_ip),
        ttl: r.ttl,
    })
}

/// One session's sending socket.
pub struct BfdSender {
    socket: tokio::net::UdpSocket,
    dst: SocketAddr,
    port: u16,
}

impl BfdSender {
    /// Open a socket to `neighbor`'s port 3784, bound to `source` (or any
    /// address of the family) and a free port of 49152–65535 starting at
    /// `first_port` (a random pick by the caller, as keepalived's), with
    /// TTL / hop limit `ttl`. Must be called inside a tokio runtime.
    pub fn open(
        neighbor: IpAddr,
        source: Option<IpAddr>,
        ttl: u8,
        first_port: u16,
    ) -> Result<BfdSender, BfdSocketError> {
        let v6 = neighbor.is_ipv6();
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
            .map_err(setup("open a UDP socket"))?;
        if v6 {
            socket
                .set_unicast_hops_v6(u32::from(ttl))
                .map_err(setup("set IPV6_UNICAST_HOPS"))?;
        } else {
            socket
                .set_ttl_v4(u32::from(ttl))
                .map_err(setup("set IP_TTL"))?;
        }
        let ip = source.unwrap_or(if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        });
        let span = u32::from(SOURCE_PORT_MAX - SOURCE_PORT_MIN) + 1;
        let start = u32::from(first_port.max(SOURCE_PORT_MIN) - SOURCE_PORT_MIN);
        let mut bound = None;
        let mut last_err = io::Error::from_raw_os_error(libc::EADDRINUSE);
        for k in 0..span {
            let port = SOURCE_PORT_MIN + ((start + k) % span) as u16;
            match socket.bind(&SocketAddr::new(ip, port).into()) {
                Ok(()) => {
                    bound = Some(port);
                    break;
                }
                Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => last_err = e,
                Err(e) => {
                    last_err = e;
                    break;
                }
            }
        }
        let Some(port) = bound else {
            return Err(setup(format!(
                "bind {ip} to a port of {SOURCE_PORT_MIN}-{SOURCE_PORT_MAX}"
            ))(last_err));
        };
        socket
            .set_nonblocking(true)
            .map_err(setup("make the sender non-blocking"))?;
        let std_socket: std::net::UdpSocket = socket.into();
        let socket =
            tokio::net::UdpSocket::from_std(std_socket).map_err(setup("register with tokio"))?;
        Ok(BfdSender {
            socket,
            dst: SocketAddr::new(neighbor, BFD_PORT),
            port,
        })
    }

    /// The source port chosen.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Send one Control packet; a full socket buffer is an error (the
    /// next periodic packet follows soon anyway).
    pub fn send(&self, packet: &[u8]) -> Result<(), BfdSocketError> {
        match self.socket.try_send_to(packet, self.dst) {
            Ok(_) => Ok(()),
            Err(source) => Err(BfdSocketError::Send {
                dst: self.dst.ip(),
                source,
            }),
        }
    }
}
