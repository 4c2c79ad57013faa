//! `recvmsg(2)` with the control messages tandem asks the kernel for: the
//! TTL or hop limit (`IP_RECVTTL`, `IPV6_RECVHOPLIMIT`) and the destination
//! address (`IP_PKTINFO`, `IPV6_RECVPKTINFO`). One copy of the unsafe
//! walk over the control buffer, for the VRRPv3 IPv6 socket and BFD's.
//!
//! Owns nothing but the call; may not interpret the datagram.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use socket2::Socket;

/// What one `recvmsg` returned besides the bytes in the caller's buffer.
pub(super) struct Received {
    /// Bytes written to the buffer (never more than its length).
    pub len: usize,
    /// The sender, as the kernel wrote it.
    pub from: libc::sockaddr_storage,
    /// The TTL (IPv4) or hop limit (IPv6), if the kernel attached it.
    pub ttl: Option<u8>,
    /// The destination address, if the kernel attached it (an IPv6 one as
    /// the kernel gives it, IPv4-mapped included).
    pub dst: Option<IpAddr>,
}

impl Received {
    /// The sender's address (`None` for a family other than IPv4/IPv6).
    pub fn source(&self) -> Option<IpAddr> {
        match i32::from(self.from.ss_family) {
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a
                // sockaddr_in6, which fits in it.
                let a: libc::sockaddr_in6 = unsafe {
                    std::ptr::read_unaligned((&self.from as *const libc::sockaddr_storage).cast())
                };
                Some(IpAddr::V6(Ipv6Addr::from(a.sin6_addr.s6_addr)))
            }
            libc::AF_INET => {
                // SAFETY: as above, a sockaddr_in.
                let a: libc::sockaddr_in = unsafe {
                    std::ptr::read_unaligned((&self.from as *const libc::sockaddr_storage).cast())
                };
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr))))
            }
            _ => None,
        }
    }
}

/// One datagram into `buf`, with its TTL and destination.
pub(super) fn recv(socket: &Socket, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: plain C structs, all-zero is a valid value.
    let mut from: libc::sockaddr_storage = unsafe { zeroed() };
    let mut control = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len();
    // SAFETY: every pointer in `msg` points to live buffers of the stated sizes.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ttl = None;
    let mut dst = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled,
    // bounded by `msg_controllen`; each payload is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            match (c.cmsg_level, c.cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let v: i32 = std::ptr::read_unaligned(data.cast());
                    ttl = u8::try_from(v).ok();
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info: libc::in6_pktinfo = std::ptr::read_unaligned(data.cast());
                    dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info: libc::in_pktinfo = std::ptr::read_unaligned(data.cast());
                    dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        info.ipi_addr.s_addr,
                    ))));
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(Received {
        len: (n as usize).min(buf.len()),
        from,
        ttl,
        dst,
    })
}
