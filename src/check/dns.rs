//! `DNS_CHECK`: one DNS query over UDP, judged by the answer's header.
//!
//! What keepalived 2.2.7 (check_dns.c) does, and so what tandem does:
//! - a connected UDP socket (with the checker's `bindto`, `bind_port`,
//!   `bind_if`, `fwmark`), one query with a random ID, the RD bit set, one
//!   question (`name`, `type`, class IN) and no EDNS record;
//! - a datagram shorter than a header, with another ID, or that is not a
//!   response (QR clear) is ignored, and the check waits on for the next;
//! - the first matching response passes when its RCODE is 0 (NOERROR) and
//!   fails with its RCODE otherwise (3, NXDOMAIN; 2, SERVFAIL; 5, REFUSED).
//!   Neither keepalived nor tandem looks at the answer section: a NOERROR
//!   reply without a record of the asked type passes;
//! - `connect_timeout` bounds the whole exchange; an ICMP port unreachable
//!   shows up as ECONNREFUSED on the read.
//!
//! The codec ([`encode_query`], [`judge_reply`]) is sans-IO; only
//! [`probe`] touches a socket. The failure texts are keepalived's log
//! words, so a log line reads the same under both daemons.
//!
//! Owns the DNS wire format of the check; may not schedule or retry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::outcome::CheckError;
use super::spec::{CheckerSpec, DnsCheck};

/// keepalived's receive buffer (DNS_BUFFER_SIZE): only the header counts,
/// a longer answer is cut, as there.
const RECV_BUF: usize = 768;
/// The fixed DNS header (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// RD, Recursion Desired (RFC 1035 §4.1.1): the only flag keepalived sets.
const FLAG_RD: u16 = 0x0100;
/// QR: set in responses.
const FLAG_QR: u16 = 0x8000;
/// Class IN (RFC 1035 §3.2.4).
const CLASS_IN: u16 = 1;

/// The query datagram for `name` and `qtype` with this `id` (RFC 1035
/// §4.1): header, then one question. `name` is dotted text without empty
/// labels (the configuration checked it); `""` and `"."` are the root,
/// keepalived's default.
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&FLAG_RD.to_be_bytes());
    // QDCOUNT 1, ANCOUNT, NSCOUNT, ARCOUNT 0.
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        // The configuration refuses labels over 63 octets; cut anyway so
        // the length octet can never carry the compression bits.
        let label = &label.as_bytes()[..label.len().min(63)];
        q.push(label.len() as u8);
        q.extend_from_slice(label);
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

/// What one received datagram means for the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Not the answer to our query (too short, another ID, not a
    /// response): keep waiting.
    Ignore,
    /// The answer, RCODE 0.
    Pass,
    /// The answer, with this non-zero RCODE.
    Rcode(u8),
}

/// Judge a datagram against the query ID `id`, keepalived's way.
pub fn judge_reply(id: u16, datagram: &[u8]) -> Reply {
    let Some(header) = datagram.get(..HEADER_LEN) else {
        return Reply::Ignore;
    };
    let got_id = u16::from_be_bytes([header[0], header[1]]);
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if got_id != id || flags & FLAG_QR == 0 {
        return Reply::Ignore;
    }
    match (flags & 0x000f) as u8 {
        0 => Reply::Pass,
        rcode => Reply::Rcode(rcode),
    }
}

/// A query ID nobody can guess from the last one (keepalived: `random()`).
fn query_id() -> u16 {
    crate::process::random_u64() as u16
}

/// keepalived's "[ip]:port" for the unreachable message.
fn pair(addr: SocketAddr) -> String {
    format!("[{}]:{}", addr.ip(), addr.port())
}

/// A connected UDP socket to the target with the checker's source options.
/// The connect itself can only fail at once (no handshake): no route is
/// keepalived's "network unreachable".
pub(super) fn udp_connect(spec: &CheckerSpec) -> Result<UdpSocket, CheckError> {
    let addr = spec.target;
    let err = |source| CheckError::Connect { addr, source };
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
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
            socket.set_reuse_address(true).map_err(err)?;
        }
        socket
            .bind(&SocketAddr::new(ip, spec.bind_port.unwrap_or(0)).into())
            .map_err(err)?;
    }
    if let Err(e) = socket.connect(&addr.into()) {
        return Err(match e.raw_os_error() {
            Some(
                libc::ENETUNREACH
                | libc::EHOSTUNREACH
                | libc::ECONNREFUSED
                | libc::EHOSTDOWN
                | libc::ENETDOWN,
            ) => CheckError::Unreachable {
                checker: spec.kind.keyword(),
                pair: pair(addr),
            },
            _ => err(e),
        });
    }
    UdpSocket::from_std(socket.into()).map_err(err)
}

/// One `DNS_CHECK` probe.
pub async fn probe(spec: &CheckerSpec, dns: &DnsCheck) -> Result<(), CheckError> {
    let fail = |what: String| CheckError::Failed {
        checker: "DNS_CHECK",
        what,
    };
    let exchange = async {
        let socket = udp_connect(spec)?;
        let id = query_id();
        let query = encode_query(id, &dns.name, dns.qtype);
        match socket.send(&query).await {
            Ok(n) if n == query.len() => {}
            Ok(_) => return Err(fail("failed to write all of the datagram.".into())),
            Err(_) => return Err(fail("failed to write socket.".into())),
        }
        let mut buf = [0u8; RECV_BUF];
        loop {
            let n = socket
                .recv(&mut buf)
                .await
                .map_err(|e| fail(read_error(&e)))?;
            match judge_reply(id, &buf[..n]) {
                Reply::Ignore => continue,
                Reply::Pass => return Ok(()),
                Reply::Rcode(rcode) => {
                    return Err(fail(format!("read error occurred. (rcode = {rcode})")));
                }
            }
        }
    };
    match tokio::time::timeout(spec.connect_timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(fail("read timeout from socket".into())),
    }
}

/// keepalived's "failed to read socket; errno N (text)".
pub(super) fn read_error(e: &std::io::Error) -> String {
    let errno = e.raw_os_error().unwrap_or(0);
    // strerror's text without Rust's " (os error N)" suffix.
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    format!("failed to read socket; errno {errno} ({text})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_for_a_name_is_rfc1035_bytes() {
        let q = encode_query(0x1234, "example.com", 1);
        let mut want = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x07example\x03com\x00");
        want.extend_from_slice(&[0, 1, 0, 1]);
        assert_eq!(q, want);
        // A trailing dot is the same name.
        assert_eq!(encode_query(0x1234, "example.com.", 1), want);
    }

    #[test]
    fn default_name_is_the_root_soa() {
        let root = encode_query(7, "", 6);
        assert_eq!(&root[HEADER_LEN..], &[0, 0, 6, 0, 1]);
        assert_eq!(encode_query(7, ".", 6), root);
    }

    fn answer(id: u16, flags: u16) -> Vec<u8> {
        let mut a = id.to_be_bytes().to_vec();
        a.extend_from_slice(&flags.to_be_bytes());
        a.extend_from_slice(&[0; 8]);
        a
    }

    #[test]
    fn replies_are_judged_by_id_qr_and_rcode() {
        assert_eq!(judge_reply(9, &answer(9, 0x8180)), Reply::Pass);
        assert_eq!(judge_reply(9, &answer(9, 0x8183)), Reply::Rcode(3));
        assert_eq!(judge_reply(9, &answer(9, 0x8182)), Reply::Rcode(2));
        // Another ID, a query (QR clear), a runt: not our answer.
        assert_eq!(judge_reply(9, &answer(10, 0x8180)), Reply::Ignore);
        assert_eq!(judge_reply(9, &answer(9, 0x0100)), Reply::Ignore);
        assert_eq!(judge_reply(9, &answer(9, 0x8180)[..11]), Reply::Ignore);
        assert_eq!(judge_reply(9, &[]), Reply::Ignore);
    }

    #[test]
    fn read_error_reads_like_keepalived() {
        let e = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(
            read_error(&e),
            "failed to read socket; errno 111 (Connection refused)"
        );
    }
}
