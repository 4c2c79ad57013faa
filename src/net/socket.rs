//! Raw IP sockets for VRRP (IP protocol 112), one pair per interface and family.
//!
//! Receiving and sending use two sockets, as keepalived does:
//!
//! * the **receive** sockets are bound to the interface (`SO_BINDTODEVICE`)
//!   and each takes one kind of advert, as keepalived's do: one per
//!   multicast group, joined and bound to that group (so no unicast advert
//!   reaches it), and one for unicast, which joins nothing and, with
//!   `IP_MULTICAST_ALL` off, sees only adverts addressed to one of the
//!   interface's own addresses ([`RxDest`]).
//! * the **send** socket is bound to the source address (the interface's
//!   primary address, `mcast_src_ip` or `unicast_src_ip`), because the v3
//!   checksum covers the source address: the codec must know it before the
//!   kernel builds the IP header. It carries a drop-everything socket filter
//!   so that nothing queues up on it.
//!
//! RFC 5798 §5.1.1.3 / §5.1.2.3: adverts are sent with TTL / hop limit 255,
//! and a receiver drops any with another value (§7.1) — which proves the
//! sender is on the link. The IPv4 receive path reads the TTL from the IP
//! header the kernel hands raw sockets (its length from IHL, never assumed
//! to be 20); IPv6 raw sockets get no header, so the hop limit comes from an
//! `IPV6_HOPLIMIT` control message (`IPV6_RECVHOPLIMIT`) and the destination
//! from `IPV6_PKTINFO`.
//!
//! Owns the protocol-112 sockets; may not parse or judge an advert (that is
//! `vrrp::packet`'s).

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockAddr, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::reactor::register;

/// `IPPROTO_VRRP`: the IP protocol number assigned to VRRP (RFC 5798 §5.1.1.4).
pub const IPPROTO_VRRP: i32 = 112;

/// `IPPROTO_AH`: IPsec's Authentication Header, which keepalived's
/// `auth_type AH` wraps VRRPv2 adverts in.
pub const IPPROTO_AH: i32 = 51;

/// The AH header keepalived sends (12 bytes and a 96-bit ICV): where the
/// VRRP message starts after it.
const AH_LEN: usize = 24;

/// The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const VRRP_MCAST_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 18);

/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const VRRP_MCAST_V6: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// What can go wrong opening or using a VRRP socket.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("interface {ifname}: cannot {what}: {source}")]
    Setup {
        ifname: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("interface {ifname}: receive: {source}")]
    Recv {
        ifname: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "interface {ifname}: source address {src} is not usable yet (tentative: duplicate address detection still running?); waiting for it"
    )]
    SourceNotUsable { ifname: String, src: IpAddr },
    #[error("interface {ifname}: send to {dst}: {source}")]
    Send {
        ifname: String,
        dst: IpAddr,
        #[source]
        source: io::Error,
    },
}

/// One advert as it came off the wire, before any VRRP validation.
#[derive(Debug, Clone)]
pub struct ReceivedAdvert {
    pub ifindex: u32,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL (from the IP header) or IPv6 hop limit (from the control message).
    /// `None` when an IPv6 datagram came without one (should not happen).
    pub ttl: Option<u8>,
    /// IPv4: the whole datagram, IP header included. IPv6: the VRRP message.
    pub packet: Vec<u8>,
    /// Where the VRRP message starts in `packet` (IHL × 4 for IPv4, 0 for IPv6).
    pub vrrp_offset: usize,
}

impl ReceivedAdvert {
    /// The VRRP message itself.
    pub fn vrrp(&self) -> &[u8] {
        self.packet.get(self.vrrp_offset..).unwrap_or(&[])
    }
}

/// Why a datagram could not even be looked at as an advert (counted, dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawDrop {
    /// Shorter than an IPv4 header, or IHL pointing past the end.
    BadIpHeader,
}

/// Maps the error of one set-up step on `ifname` to [`SocketError::Setup`],
/// saying `what` was being done (`.map_err(setup(ifname, "..."))`).
pub(super) fn setup<'a>(
    ifname: &'a str,
    what: &'static str,
) -> impl FnOnce(io::Error) -> SocketError + 'a {
    move |source| SocketError::Setup {
        ifname: ifname.to_string(),
        what,
        source,
    }
}

fn raw_socket(ifname: &str, v6: bool, protocol: i32) -> Result<Socket, SocketError> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(protocol))).map_err(setup(
        ifname,
        "open a raw IP socket for VRRP (protocol 112, or 51 for auth_type AH; needs CAP_NET_RAW)",
    ))?;
    socket.bind_device(Some(ifname.as_bytes())).map_err(setup(
        ifname,
        "bind a socket to the device (SO_BINDTODEVICE)",
    ))?;
    socket
        .set_nonblocking(true)
        .map_err(setup(ifname, "make the socket non-blocking"))?;
    Ok(socket)
}

fn set_int_opt(socket: &Socket, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` outlives the call; the length matches its type.
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

/// Join `group` on the interface, and take only the groups this socket
/// joined (`IP_MULTICAST_ALL` / `IPV6_MULTICAST_ALL` off).
fn join(socket: &Socket, ifname: &str, ifindex: u32, group: IpAddr) -> Result<(), SocketError> {
    match group {
        IpAddr::V6(group6) => {
            socket
                .join_multicast_v6(&group6, ifindex)
                .map_err(setup(ifname, "join the VRRP multicast group"))?;
            let _ = socket.set_multicast_all_v6(false);
        }
        IpAddr::V4(group4) => {
            socket
                .join_multicast_v4_n(&group4, &socket2::InterfaceIndexOrAddress::Index(ifindex))
                .map_err(setup(ifname, "join the VRRP multicast group"))?;
            let _ = socket.set_multicast_all_v4(false);
        }
    }
    Ok(())
}

/// The adverts one receive socket takes on its interface: keepalived keeps
/// a socket per multicast group and one for unicast (vrrp_scheduler.c's
/// `already_exist_sock`), so that unicast and multicast instances, and
/// multicast ones on different groups, are separate VRID spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxDest {
    /// Sent to this multicast group (`mcast_dst_ip`, else the global
    /// `vrrp_mcast_group4` / `vrrp_mcast_group6`).
    Group(IpAddr),
    /// Sent to one of the interface's own addresses (`unicast_peer`).
    Unicast { v6: bool },
}

impl RxDest {
    pub fn is_ipv6(&self) -> bool {
        match self {
            RxDest::Group(g) => g.is_ipv6(),
            RxDest::Unicast { v6 } => *v6,
        }
    }
}

impl std::fmt::Display for RxDest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RxDest::Group(g) => write!(f, "{g}"),
            RxDest::Unicast { v6: false } => f.write_str("unicast IPv4"),
            RxDest::Unicast { v6: true } => f.write_str("unicast IPv6"),
        }
    }
}

/// The receiving half: every advert arriving on one interface for one family.
pub struct VrrpRecvSocket {
    ifname: String,
    ifindex: u32,
    v6: bool,
    fd: AsyncFd<Socket>,
    buf: Vec<u8>,
}

impl VrrpRecvSocket {
    /// Open, bind to the interface and join the default VRRP group on it;
    /// it sees the multicast adverts and the unicast ones (a test's probe:
    /// the daemon opens [`Self::open`]'s narrower sockets).
    /// Must be called inside a tokio runtime.
    pub fn new(ifname: &str, ifindex: u32, v6: bool) -> Result<VrrpRecvSocket, SocketError> {
        let group = if v6 {
            IpAddr::V6(VRRP_MCAST_V6)
        } else {
            IpAddr::V4(VRRP_MCAST_V4)
        };
        let socket = raw_socket(ifname, v6, IPPROTO_VRRP)?;
        join(&socket, ifname, ifindex, group)?;
        Self::finish(socket, ifname, ifindex, v6)
    }

    /// Open a socket for IP protocol `protocol` ([`IPPROTO_VRRP`], or
    /// [`IPPROTO_AH`] for `auth_type AH`) on the interface that receives
    /// only the adverts of `dest`, as keepalived's sockets do
    /// (`open_vrrp_read_socket`): a [`RxDest::Group`] socket joins the
    /// group and is bound to it, so no unicast advert reaches it; a
    /// [`RxDest::Unicast`] socket joins nothing and, with
    /// `IP_MULTICAST_ALL` / `IPV6_MULTICAST_ALL` off, sees no multicast.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        dest: RxDest,
        protocol: i32,
    ) -> Result<VrrpRecvSocket, SocketError> {
        let v6 = dest.is_ipv6();
        let socket = raw_socket(ifname, v6, protocol)?;
        match dest {
            RxDest::Group(group) => {
                join(&socket, ifname, ifindex, group)?;
                let at = match group {
                    IpAddr::V4(g) => SockAddr::from(SocketAddrV4::new(g, 0)),
                    // A link-scope group (ff02::12) needs the interface.
                    IpAddr::V6(g) => SockAddr::from(SocketAddrV6::new(g, 0, 0, ifindex)),
                };
                socket.bind(&at).map_err(setup(
                    ifname,
                    "bind the receive socket to its multicast group",
                ))?;
            }
            RxDest::Unicast { .. } => {
                if v6 {
                    socket
                        .set_multicast_all_v6(false)
                        .map_err(setup(ifname, "set IPV6_MULTICAST_ALL"))?;
                } else {
                    socket
                        .set_multicast_all_v4(false)
                        .map_err(setup(ifname, "set IP_MULTICAST_ALL"))?;
                }
            }
        }
        Self::finish(socket, ifname, ifindex, v6)
    }

    fn finish(
        socket: Socket,
        ifname: &str,
        ifindex: u32,
        v6: bool,
    ) -> Result<VrrpRecvSocket, SocketError> {
        if v6 {
            socket
                .set_recv_hoplimit_v6(true)
                .map_err(setup(ifname, "set IPV6_RECVHOPLIMIT"))?;
            set_int_opt(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
                .map_err(setup(ifname, "set IPV6_RECVPKTINFO"))?;
        }
        let fd = register(socket).map_err(setup(ifname, "register with tokio"))?;
        Ok(VrrpRecvSocket {
            ifname: ifname.to_string(),
            ifindex,
            v6,
            fd,
            buf: vec![0u8; 65536],
        })
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// SO_RCVBUF `bytes` (`vrrp_rx_bufs_policy`, `kernel_rx_buf_size`):
    /// bounded by `net.core.rmem_max` and doubled by the kernel, as for
    /// keepalived's socket; a refusal is logged, as keepalived logs it.
    pub fn set_recv_buffer(&self, bytes: u32) {
        let value = i32::try_from(bytes).unwrap_or(i32::MAX);
        if let Err(e) = set_int_opt(self.fd.get_ref(), libc::SOL_SOCKET, libc::SO_RCVBUF, value) {
            tracing::warn!(interface = %self.ifname, bytes, error = %e, "cannot set the VRRP receive buffer");
        }
    }

    /// Wait for the next datagram. `Ok(Err(_))` is a datagram too broken to
    /// attribute to anyone (the caller counts it).
    pub async fn recv(&mut self) -> Result<Result<ReceivedAdvert, RawDrop>, SocketError> {
        loop {
            let mut guard = self
                .fd
                .readable()
                .await
                .map_err(|source| SocketError::Recv {
                    ifname: self.ifname.clone(),
                    source,
                })?;
            let v6 = self.v6;
            let buf = &mut self.buf;
            let result = guard.try_io(|s| {
                if v6 {
                    recv_v6(s.get_ref(), buf).map(Some)
                } else {
                    recv_v4(s.get_ref(), buf).map(Some)
                }
            });
            match result {
                Err(_would_block) => continue,
                Ok(Ok(Some(r))) => {
                    return Ok(r.map(|mut a| {
                        a.ifindex = self.ifindex;
                        a
                    }));
                }
                Ok(Ok(None)) => continue,
                Ok(Err(source)) => {
                    return Err(SocketError::Recv {
                        ifname: self.ifname.clone(),
                        source,
                    });
                }
            }
        }
    }
}

/// IPv4: the kernel hands raw sockets the IP header; read TTL, addresses and
/// IHL from it.
fn recv_v4(socket: &Socket, buf: &mut [u8]) -> io::Result<Result<ReceivedAdvert, RawDrop>> {
    // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and recv
    // only writes initialised bytes.
    let uninit: &mut [MaybeUninit<u8>] =
        unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    let n = socket.recv(uninit)?.min(buf.len());
    let data = &buf[..n];
    Ok(parse_ipv4(data))
}

/// Take the addresses and TTL from an IPv4 header; RFC 791: the header is IHL
/// 32-bit words long, options included.
pub fn parse_ipv4(data: &[u8]) -> Result<ReceivedAdvert, RawDrop> {
    if data.len() < 20 || data[0] >> 4 != 4 {
        return Err(RawDrop::BadIpHeader);
    }
    let ihl = usize::from(data[0] & 0x0f) * 4;
    if ihl < 20 || ihl > data.len() {
        return Err(RawDrop::BadIpHeader);
    }
    let src = Ipv4Addr::new(data[12], data[13], data[14], data[15]);
    let dst = Ipv4Addr::new(data[16], data[17], data[18], data[19]);
    // auth_type AH: the VRRP message follows the AH header.
    let ihl = if data[9] == IPPROTO_AH as u8 && data.len() >= ihl + AH_LEN {
        ihl + AH_LEN
    } else {
        ihl
    };
    Ok(ReceivedAdvert {
        ifindex: 0,
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        ttl: Some(data[8]),
        packet: data.to_vec(),
        vrrp_offset: ihl,
    })
}

/// IPv6: the payload only; hop limit and destination from control messages.
fn recv_v6(socket: &Socket, buf: &mut [u8]) -> io::Result<Result<ReceivedAdvert, RawDrop>> {
    let r = super::ancillary::recv(socket, buf)?;
    Ok(Ok(ReceivedAdvert {
        ifindex: 0,
        src: r.source().unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        dst: r.dst.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        ttl: r.ttl,
        packet: buf[..r.len].to_vec(),
        vrrp_offset: 0,
    }))
}

/// The sending half: adverts from one source address out of one interface.
pub struct VrrpSendSocket {
    ifname: String,
    ifindex: u32,
    src: IpAddr,
    fd: AsyncFd<Socket>,
    /// Where to bind, and whether that worked. An IPv6 address whose
    /// duplicate address detection has not finished (tentative, as a
    /// link-local address is for a while after its link comes up) cannot be
    /// bound (EADDRNOTAVAIL), nor may it be used as a source (RFC 4862
    /// §5.4); the socket then stays unbound and every send tries the bind
    /// again instead of the daemon refusing to start.
    bind_to: SockAddr,
    bound: std::sync::Mutex<bool>,
}

impl VrrpSendSocket {
    /// Open a socket that sends from `src` out of `ifname`: multicast with
    /// TTL / hop limit 255 (RFC 5798 §5.1.1.3), unicast with `unicast_ttl`
    /// (255 unless keepalived's `unicast_ttl` says otherwise, so adverts
    /// can cross routers to a unicast peer).
    /// Must be called inside a tokio runtime.
    /// `whole`: the caller sends whole IPv4 datagrams (`IP_HDRINCL`), as
    /// `auth_type AH` must, since its ICV covers the IP header.
    pub fn new(
        ifname: &str,
        ifindex: u32,
        src: IpAddr,
        unicast_ttl: u8,
        whole: bool,
    ) -> Result<VrrpSendSocket, SocketError> {
        let v6 = src.is_ipv6();
        let socket = raw_socket(ifname, v6, IPPROTO_VRRP)?;
        if whole && !v6 {
            set_int_opt(&socket, libc::IPPROTO_IP, libc::IP_HDRINCL, 1)
                .map_err(setup(ifname, "set IP_HDRINCL"))?;
        }
        let bind_to = match src {
            IpAddr::V4(a) => {
                socket
                    .set_multicast_ttl_v4(255)
                    .map_err(setup(ifname, "set the multicast TTL to 255"))?;
                socket
                    .set_ttl_v4(u32::from(unicast_ttl))
                    .map_err(setup(ifname, "set the unicast TTL"))?;
                socket
                    .set_multicast_loop_v4(false)
                    .map_err(setup(ifname, "disable multicast loopback"))?;
                // Precedence "internetwork control", as keepalived marks
                // adverts, so QoS on the path treats them as routing traffic.
                let _ = socket.set_tos_v4(0xc0);
                // IP_MULTICAST_IF by index (struct ip_mreqn), so that a
                // source address on another interface cannot redirect it.
                let mreqn = libc::ip_mreqn {
                    imr_multiaddr: libc::in_addr { s_addr: 0 },
                    imr_address: libc::in_addr { s_addr: 0 },
                    imr_ifindex: ifindex as i32,
                };
                // SAFETY: `mreqn` outlives the call; the length matches its type.
                let rc = unsafe {
                    libc::setsockopt(
                        socket.as_raw_fd(),
                        libc::IPPROTO_IP,
                        libc::IP_MULTICAST_IF,
                        (&mreqn as *const libc::ip_mreqn).cast(),
                        size_of::<libc::ip_mreqn>() as libc::socklen_t,
                    )
                };
                if rc != 0 {
                    return Err(setup(ifname, "set IP_MULTICAST_IF")(
                        io::Error::last_os_error(),
                    ));
                }
                SockAddr::from(SocketAddrV4::new(a, 0))
            }
            IpAddr::V6(a) => {
                socket
                    .set_multicast_hops_v6(255)
                    .map_err(setup(ifname, "set the multicast hop limit to 255"))?;
                socket
                    .set_unicast_hops_v6(u32::from(unicast_ttl))
                    .map_err(setup(ifname, "set the unicast hop limit"))?;
                socket
                    .set_multicast_loop_v6(false)
                    .map_err(setup(ifname, "disable multicast loopback"))?;
                socket
                    .set_multicast_if_v6(ifindex)
                    .map_err(setup(ifname, "set IPV6_MULTICAST_IF"))?;
                let scope = if is_link_local_v6(&a) { ifindex } else { 0 };
                SockAddr::from(SocketAddrV6::new(a, 0, 0, scope))
            }
        };
        let bound = match socket.bind(&bind_to) {
            Ok(()) => true,
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                tracing::warn!(
                    interface = ifname, src = %src,
                    "VRRP source address {src} on {ifname} is not usable yet (tentative: duplicate address detection running?); adverts wait for it"
                );
                false
            }
            Err(e) => {
                return Err(setup(
                    ifname,
                    "bind to the source address (is it on the interface?)",
                )(e));
            }
        };
        // BPF "ret #0": accept nothing. This socket only sends.
        socket
            .attach_filter(&[SockFilter::new(0x06, 0, 0, 0)])
            .map_err(setup(ifname, "attach a drop-all filter"))?;
        let fd = register(socket).map_err(setup(ifname, "register with tokio"))?;
        Ok(VrrpSendSocket {
            ifname: ifname.to_string(),
            ifindex,
            src,
            fd,
            bind_to,
            bound: std::sync::Mutex::new(bound),
        })
    }

    /// Whether the source address has been bound (it is usable).
    pub fn is_ready(&self) -> bool {
        *self
            .bound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Try the bind again if the source address was not usable: whether it
    /// is usable now.
    pub fn try_ready(&self) -> bool {
        self.ensure_bound().is_ok()
    }

    /// Bind now if an earlier attempt found the source address unusable.
    fn ensure_bound(&self) -> Result<(), SocketError> {
        let mut bound = self
            .bound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *bound {
            return Ok(());
        }
        match self.fd.get_ref().bind(&self.bind_to) {
            Ok(()) => {
                *bound = true;
                tracing::info!(
                    interface = %self.ifname, src = %self.src,
                    "VRRP source address {} on {} is usable now; sending adverts", self.src, self.ifname
                );
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                Err(SocketError::SourceNotUsable {
                    ifname: self.ifname.clone(),
                    src: self.src,
                })
            }
            Err(source) => Err(SocketError::Setup {
                ifname: self.ifname.clone(),
                what: "bind to the source address (is it on the interface?)",
                source,
            }),
        }
    }

    /// The source address every advert from this socket carries.
    pub fn src(&self) -> IpAddr {
        self.src
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The default destination: the VRRP multicast group of the family.
    pub fn multicast_dst(&self) -> IpAddr {
        if self.src.is_ipv6() {
            IpAddr::V6(VRRP_MCAST_V6)
        } else {
            IpAddr::V4(VRRP_MCAST_V4)
        }
    }

    /// Send one VRRP message (the kernel adds the IP header), or, on a
    /// socket opened `whole`, one IPv4 datagram.
    pub async fn send_to(&self, vrrp: &[u8], dst: IpAddr) -> Result<(), SocketError> {
        self.ensure_bound()?;
        let addr = match dst {
            IpAddr::V6(a) if is_link_local_v6(&a) || a.is_multicast() => {
                SocketAddr::V6(SocketAddrV6::new(a, 0, 0, self.ifindex))
            }
            other => SocketAddr::new(other, 0),
        };
        let addr = SockAddr::from(addr);
        let err = |source| SocketError::Send {
            ifname: self.ifname.clone(),
            dst,
            source,
        };
        loop {
            let mut guard = self.fd.writable().await.map_err(err)?;
            match guard.try_io(|s| s.get_ref().send_to(vrrp, &addr)) {
                Err(_would_block) => continue,
                Ok(r) => return r.map(|_| ()).map_err(err),
            }
        }
    }
}

fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_length_comes_from_ihl() {
        // IHL 6: a 24-byte header with one option word, then 4 bytes of payload.
        let mut pkt = vec![
            0x46, 0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18, 1, 1, 0, 0,
        ];
        pkt.extend_from_slice(&[0x21, 7, 100, 1]);
        let a = parse_ipv4(&pkt)
            .ok()
            .unwrap_or_else(|| panic!("valid header"));
        assert_eq!(a.vrrp_offset, 24);
        assert_eq!(a.vrrp(), &[0x21, 7, 100, 1]);
        assert_eq!(a.ttl, Some(255));
        assert_eq!(a.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(a.dst, IpAddr::V4(VRRP_MCAST_V4));
    }

    #[test]
    fn broken_ipv4_headers_are_rejected() {
        assert_eq!(parse_ipv4(&[0x45; 10]).err(), Some(RawDrop::BadIpHeader));
        // IHL 15 (60 bytes) in a 24-byte datagram.
        let mut pkt = vec![0x4f; 24];
        pkt[0] = 0x4f;
        assert_eq!(parse_ipv4(&pkt).err(), Some(RawDrop::BadIpHeader));
        // IHL 4 is below the minimum.
        let mut pkt = vec![0u8; 24];
        pkt[0] = 0x44;
        assert_eq!(parse_ipv4(&pkt).err(), Some(RawDrop::BadIpHeader));
        // Version 6 in an IPv4 socket.
        let mut pkt = vec![0u8; 24];
        pkt[0] = 0x65;
        assert_eq!(parse_ipv4(&pkt).err(), Some(RawDrop::BadIpHeader));
    }
}
