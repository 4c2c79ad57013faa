//! `PING_CHECK`: one ICMP (IPv4) or ICMPv6 echo request to the real
//! server; up when the matching echo reply comes back within
//! `connect_timeout`.
//!
//! The socket is a ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP` /
//! `IPPROTO_ICMPV6`) when `net.ipv4.ping_group_range` lets the daemon's
//! group open one: the kernel then chooses the identifier, fills in the
//! checksum and hands this socket only the replies to it. Otherwise (the
//! default range "1 0" allows nobody, root included) a raw socket, which
//! needs CAP_NET_RAW: tandem picks the identifier, computes the ICMP
//! checksum (the kernel does ICMPv6's) and skips replies that are not its
//! own. keepalived instead widens ping_group_range to include root; tandem
//! leaves the sysctl as the administrator set it.
//!
//! The socket is connected to the target, so only its packets are read;
//! `bindto`, `bind_if` and `fwmark` apply as to every checker.
//!
//! Owns the echo codec ([`echo_request`], [`is_reply`]: sans-IO) and the
//! probe.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::outcome::CheckError;
use super::spec::CheckerSpec;

/// ICMP Echo (RFC 792) and ICMPv6 Echo Request (RFC 4443 §4.1).
const ECHO_V4: u8 = 8;
const ECHO_V6: u8 = 128;
/// Echo Reply: ICMP type 0, ICMPv6 type 129.
const REPLY_V4: u8 = 0;
const REPLY_V6: u8 = 129;

/// What follows the 8-octet header in every request.
const PAYLOAD: &[u8] = b"tandem PING_CHECK";

/// Sequence numbers, shared by every checker (each probe its own).
static SEQ: AtomicU16 = AtomicU16::new(1);

/// Whether the fall-back to raw sockets was logged (once per process).
static RAW_LOGGED: AtomicBool = AtomicBool::new(false);

/// The RFC 1071 Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `id` and `seq`. For IPv4 the checksum is filled
/// in (a ping socket recomputes it anyway); for ICMPv6 it is left zero,
/// the kernel computes it over the pseudo-header.
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + PAYLOAD.len());
    p.push(if v6 { ECHO_V6 } else { ECHO_V4 });
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether `icmp` (the ICMP message, no IP header) is the reply to our
/// request `seq`, with identifier `id` when it is ours to check (raw
/// sockets; a ping socket's kernel matched it already).
pub fn is_reply(v6: bool, icmp: &[u8], id: Option<u16>, seq: u16) -> bool {
    if icmp.len() < 8 {
        return false;
    }
    let want = if v6 { REPLY_V6 } else { REPLY_V4 };
    let got_id = u16::from_be_bytes([icmp[4], icmp[5]]);
    let got_seq = u16::from_be_bytes([icmp[6], icmp[7]]);
    icmp[0] == want && icmp[1] == 0 && got_seq == seq && id.is_none_or(|i| i == got_id)
}

/// The ICMP message in what a raw IPv4 socket reads (an IP header first;
/// its length from IHL).
fn strip_ipv4(packet: &[u8]) -> &[u8] {
    let ihl = packet.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    packet.get(ihl..).unwrap_or(&[])
}

/// The socket: a ping socket if allowed, else raw. `true` when raw.
fn open(spec: &CheckerSpec) -> std::io::Result<(Socket, bool)> {
    let addr = spec.target;
    let (domain, proto) = match addr {
        SocketAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        SocketAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let (socket, raw) = match Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(proto))
    {
        Ok(s) => (s, false),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            if !RAW_LOGGED.swap(true, Ordering::Relaxed) {
                tracing::info!(
                    "PING_CHECK: net.ipv4.ping_group_range admits no group of the daemon; using raw ICMP sockets"
                );
            }
            (
                Socket::new(domain, Type::RAW.nonblocking().cloexec(), Some(proto))?,
                true,
            )
        }
        Err(e) => return Err(e),
    };
    if let Some(ifname) = &spec.bind_if {
        socket.bind_device(Some(ifname.as_bytes()))?;
    }
    if let Some(mark) = spec.fwmark {
        socket.set_mark(mark)?;
    }
    if let Some(ip) = spec.bindto {
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    // No port in ICMP: the kernel wants 0.
    socket.connect(&SockAddr::from(SocketAddr::new(addr.ip(), 0)))?;
    Ok((socket, raw))
}

/// One echo request, and wait for its reply.
pub async fn probe(spec: &CheckerSpec) -> Result<(), CheckError> {
    match tokio::time::timeout(spec.connect_timeout, exchange(spec)).await {
        Ok(r) => r,
        Err(_) => Err(CheckError::Failed {
            checker: "PING_CHECK",
            what: format!(
                "no echo reply from {} within connect_timeout ({:?})",
                spec.target.ip(),
                spec.connect_timeout
            ),
        }),
    }
}

async fn exchange(spec: &CheckerSpec) -> Result<(), CheckError> {
    let ip = spec.target.ip();
    let v6 = matches!(ip, IpAddr::V6(_));
    let fail = |what: String| CheckError::Failed {
        checker: "PING_CHECK",
        what,
    };
    let io = |e: std::io::Error| fail(format!("ICMP to {ip}: {e}"));
    let (socket, raw) = open(spec).map_err(io)?;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    // A raw socket sees every echo reply from the target: an identifier
    // of our own (from the socket's descriptor number and the sequence)
    // tells ours apart.
    let id = raw.then(|| {
        use std::os::fd::AsRawFd;
        (socket.as_raw_fd() as u16).wrapping_mul(40503) ^ seq
    });
    let request = echo_request(v6, id.unwrap_or(0), seq);
    // SAFETY: the socket owns its descriptor and the AsyncFd owns the
    // socket: the descriptor stays open exactly as long as it is
    // registered, and nothing else closes it.
    let fd = unsafe { AsyncFd::register(socket) }.map_err(|e| io(std::io::Error::from(e)))?;
    loop {
        let mut guard = fd.writable().await.map_err(io)?;
        match guard.try_io(|s| s.get_ref().send(&request)) {
            Ok(r) => {
                r.map_err(io)?;
                break;
            }
            Err(_would_block) => continue,
        }
    }
    let mut buf = [0u8; 1500];
    loop {
        let mut guard = fd.readable().await.map_err(io)?;
        let n = match guard.try_io(|s| (&mut s.get_ref()).read(&mut buf)) {
            Ok(Ok(n)) => n,
            // An ICMP error for our request (host unreachable, ...).
            Ok(Err(e)) if e.kind() != ErrorKind::WouldBlock => return Err(io(e)),
            Ok(Err(_)) | Err(_) => continue,
        };
        let packet = buf.get(..n).unwrap_or(&[]);
        let icmp = if raw && !v6 {
            strip_ipv4(packet)
        } else {
            packet
        };
        if is_reply(v6, icmp, id, seq) {
            return Ok(());
        }
        // Someone else's reply, or our own request looped back: wait on.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_checksum() {
        // RFC 1071 §3's example: 0001 f203 f4f5 f6f7 sums to ddf2.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        // An odd length pads with zero.
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn request_bytes_and_checksum() {
        let p = echo_request(false, 0x1234, 7);
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(&p[8..], PAYLOAD);
        // A correct checksum sums the whole message to zero.
        assert_eq!(checksum(&p), 0);
        let p6 = echo_request(true, 1, 2);
        assert_eq!(&p6[..4], &[128, 0, 0, 0]);
    }

    #[test]
    fn replies_match_type_sequence_and_identifier() {
        let mut reply = echo_request(false, 0x1234, 7);
        reply[0] = REPLY_V4;
        assert!(is_reply(false, &reply, Some(0x1234), 7));
        assert!(is_reply(false, &reply, None, 7));
        assert!(!is_reply(false, &reply, Some(0x1235), 7));
        assert!(!is_reply(false, &reply, None, 8));
        // The request itself (looped back) is no reply.
        assert!(!is_reply(false, &echo_request(false, 0x1234, 7), None, 7));
        assert!(!is_reply(false, &reply[..7], None, 7));
        let mut r6 = echo_request(true, 9, 3);
        r6[0] = REPLY_V6;
        assert!(is_reply(true, &r6, Some(9), 3));
        assert!(!is_reply(false, &r6, Some(9), 3));
        // A raw IPv4 read: the header's IHL says where ICMP starts.
        let mut ip = vec![0x46u8; 24];
        ip.extend_from_slice(&reply);
        assert_eq!(strip_ipv4(&ip), &reply[..]);
    }
}
