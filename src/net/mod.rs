//! Kernel network interfaces: rtnetlink addresses and links, raw VRRP sockets, GARP/NA.
//!
//! Everything here talks to the kernel of the network namespace the process
//! runs in. Nothing here knows about VRRP states: the daemon decides *what*
//! to do, this module only knows *how* to do it on Linux.
//!
//! | file            | what it does                                                   |
//! |-----------------|----------------------------------------------------------------|
//! | `rtnl.rs`       | rtnetlink requests: addresses, routes, links (sync, one ack each) |
//! | `link.rs`       | the RTNLGRP_LINK monitor behind `track_interface`              |
//! | `socket.rs`     | raw IP protocol 112 sockets: send and receive adverts          |
//! | `garp.rs`       | gratuitous ARP (AF_PACKET) and unsolicited neighbour adverts   |

pub mod garp;
pub mod link;
pub mod rtnl;
pub mod socket;

pub use garp::{GarpSender, NaSender};
pub use link::{LinkEvent, LinkMonitor};
pub use rtnl::{IfAddress, LinkInfo, Route, RouteKind, Rtnl, RtnlError, Scope};
pub use socket::{ReceivedAdvert, SocketError, VrrpRecvSocket, VrrpSendSocket};

/// `IPPROTO_VRRP`: the IP protocol number assigned to VRRP (RFC 5798 §5.1.1.4).
pub const IPPROTO_VRRP: i32 = 112;

/// The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const VRRP_MCAST_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 18);

/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const VRRP_MCAST_V6: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// The interface index of `name`, or `None` when the namespace has no such link.
pub fn if_index(name: &str) -> Option<u32> {
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: `cname` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    (index != 0).then_some(index)
}

/// Register a socket this module owns with the tokio reactor.
pub(crate) fn register<T: std::os::fd::AsRawFd>(
    inner: T,
) -> std::io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY: `inner` owns its file descriptor and the `AsyncFd` owns
    // `inner`, so the descriptor stays open exactly as long as it is
    // registered, and nothing else closes it.
    Ok(unsafe { tokio::io::unix::AsyncFd::register(inner) }?)
}
