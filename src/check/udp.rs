//! `UDP_CHECK`: one datagram, and (with `require_reply`) its answer.
//!
//! What keepalived 2.2.7 does (check_udp.c, layer4.c), and so tandem:
//! - a connected UDP socket with the checker's source options sends
//!   `payload` (default: 32 bytes of "keepalived check - " repeated);
//! - an ICMP destination unreachable for it (the kernel's ECONNREFUSED,
//!   EHOSTUNREACH... on the connected socket) fails the check, and so does
//!   a `connect` or `send` that fails;
//! - no answer within `connect_timeout` passes, unless `require_reply`;
//! - an answer passes; with `require_reply HEX` its length must be within
//!   `min_reply_length`..`max_reply_length` and its first octets (as many
//!   as both have) must equal HEX, `x` nibbles excepted.
//!
//! [`judge_reply`] is the sans-IO verdict on a reply; [`probe`] is the
//! thin I/O. The failure words are keepalived's log lines.
//!
//! Owns the UDP check; may not schedule or retry.

use super::dns::udp_connect;
use super::outcome::CheckError;
use super::spec::{CheckerSpec, UdpCheck};

/// keepalived's default payload (layer4.c set_buf, UDP_BUFSIZE 32).
pub fn default_payload() -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(32)
        .collect()
}

/// Whether a reply of `reply` passes `udp`'s `require_reply HEX` and
/// lengths (keepalived's check_udp_reply, inverted). Without HEX any
/// reply passes.
pub fn judge_reply(udp: &UdpCheck, reply: &[u8]) -> bool {
    let Some(want) = &udp.reply_data else {
        return true;
    };
    let len = reply.len();
    if len < usize::from(udp.min_reply_length) || len > usize::from(udp.max_reply_length) {
        return false;
    }
    reply.iter().zip(want).enumerate().all(|(i, (got, want))| {
        let free = udp
            .reply_mask
            .as_ref()
            .and_then(|m| m.get(i))
            .copied()
            .unwrap_or(0);
        (got ^ want) & !free == 0
    })
}

/// keepalived's "[ip]:udp:port" (FMT_CHK).
fn chk(spec: &CheckerSpec) -> String {
    format!("[{}]:udp:{}", spec.target.ip(), spec.target.port())
}

/// One `UDP_CHECK` probe.
pub async fn probe(spec: &CheckerSpec, udp: &UdpCheck) -> Result<(), CheckError> {
    let failed = || CheckError::Failed {
        checker: "UDP_CHECK",
        what: format!("UDP connection to {} failed.", chk(spec)),
    };
    let socket = match udp_connect(spec) {
        Ok(s) => s,
        Err(_) => return Err(failed()),
    };
    match socket.send(&udp.payload).await {
        Ok(n) if n == udp.payload.len() => {}
        _ => return Err(failed()),
    }
    // One octet more than max_reply_length, as keepalived: a longer reply
    // is cut there and fails the length test.
    let mut buf = vec![0u8; usize::from(udp.max_reply_length) + 1];
    match tokio::time::timeout(spec.connect_timeout, socket.recv(&mut buf)).await {
        Err(_) if udp.require_reply => Err(failed()),
        Err(_) => Ok(()),
        Ok(Err(_)) => Err(failed()),
        Ok(Ok(n)) if judge_reply(udp, &buf[..n]) => Ok(()),
        Ok(Ok(_)) => Err(CheckError::Failed {
            checker: "UDP_CHECK",
            what: format!("UDP check to {} reply data mismatch.", chk(spec)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(reply: Option<&[u8]>, mask: Option<&[u8]>) -> UdpCheck {
        UdpCheck {
            payload: default_payload(),
            require_reply: true,
            reply_data: reply.map(<[u8]>::to_vec),
            reply_mask: mask.map(<[u8]>::to_vec),
            min_reply_length: 0,
            max_reply_length: 255,
        }
    }

    #[test]
    fn the_default_payload_is_keepalived_s() {
        let p = default_payload();
        assert_eq!(p.len(), 32);
        assert_eq!(&p[..], b"keepalived check - keepalived ch");
    }

    #[test]
    fn replies_match_octets_under_the_mask_and_lengths() {
        let u = udp(Some(b"OK"), None);
        assert!(judge_reply(&u, b"OK"));
        assert!(judge_reply(&u, b"OK and more"));
        // Only as many octets as both have are compared.
        assert!(judge_reply(&u, b"O"));
        assert!(!judge_reply(&u, b"NO"));
        let u = udp(Some(&[0x40, 0x01]), Some(&[0x0f, 0xf0]));
        assert!(judge_reply(&u, &[0x4a, 0x71]));
        assert!(!judge_reply(&u, &[0x5a, 0x71]));
        let mut u = udp(Some(b"OK"), None);
        u.min_reply_length = 3;
        assert!(!judge_reply(&u, b"OK"));
        u.max_reply_length = 4;
        assert!(judge_reply(&u, b"OK!!"));
        assert!(!judge_reply(&u, b"OK!!!"));
        // require_reply without HEX: any reply, any length.
        let mut u = udp(None, None);
        u.min_reply_length = 10;
        assert!(judge_reply(&u, b""));
    }
}
