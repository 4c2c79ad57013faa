//! keepalived's `auth_type AH`: VRRPv2 adverts inside an IPsec
//! Authentication Header (RFC 2402 layout, IP protocol 51) whose ICV is
//! HMAC-MD5-96 keyed with `auth_pass` (RFC 2403), built exactly as
//! keepalived 2.2.7 builds it (vrrp.c, vrrp_ipsecah.c), so the two
//! interoperate:
//!
//! ```text
//! IPv4 header (protocol 51, TOS 0xc0, TTL 255, a non-zero ID)
//! AH: Next Header 112 | Payload Len 4 | Reserved 0
//!     SPI = the sender's IPv4 address
//!     Sequence Number (one counter per instance, see below)
//!     ICV: 12 bytes, the first 96 bits of the HMAC-MD5
//! VRRPv2 advert, Auth Type 2, its 8 authentication bytes zero
//! ```
//!
//! The ICV covers the IPv4 header with its mutable fields zeroed (TOS,
//! flags and fragment offset, header checksum; the TTL too for a unicast
//! advert, since routers change it), the AH header with the ICV zeroed, and
//! the VRRP message. The key is `auth_pass` cut to 8 bytes.
//!
//! The sequence number is keepalived's: one counter per instance, shared by
//! sending and receiving. Each advert sent carries the counter plus one; an
//! advert received is accepted only if its number is above the counter,
//! which then takes its value. So a backup follows its master's count, and
//! the node that takes over continues it, and a node that restarts (from
//! 0) catches up from the first advert it accepts. keepalived's handling of
//! a counter that reaches 2^32 - 2 (136 years of adverts at one a second)
//! is not reproduced: the counter stays there.
//!
//! Sans-IO: builds and checks bytes; the caller sends them on an
//! `IP_HDRINCL` socket (the ICV covers the IP header's ID, so the header
//! must be ours) and reads them from a protocol-51 raw socket.

use std::net::Ipv4Addr;

use hmac::{KeyInit, Mac};

pub use super::packet::{AH_LEN, IPPROTO_AH};
use super::packet::{AUTH_DATA_LEN, RxError};
/// AH Payload Len: the header's length in 32-bit words minus 2.
const PAYLOAD_LEN: u8 = 4;
/// The ICV: HMAC-MD5 cut to 96 bits.
const ICV_LEN: usize = 12;
/// VRRP's IP protocol number (the AH's Next Header).
const NEXT_HEADER_VRRP: u8 = 112;

type HmacMd5 = hmac::Hmac<md5::Md5>;

/// One instance's AH: the key and the shared sequence counter.
#[derive(Debug, Clone)]
pub struct IpsecAh {
    key: [u8; AUTH_DATA_LEN],
    seq: u32,
    /// The IPv4 ID of the last datagram sent (never 0, which would let
    /// the kernel choose one after the ICV was computed).
    ip_id: u16,
}

impl IpsecAh {
    /// AH keyed with `auth_pass` (the first 8 bytes, as keepalived).
    pub fn new(auth_pass: &[u8]) -> IpsecAh {
        let mut key = [0u8; AUTH_DATA_LEN];
        let n = auth_pass.len().min(AUTH_DATA_LEN);
        key[..n].copy_from_slice(&auth_pass[..n]);
        IpsecAh {
            key,
            seq: 0,
            ip_id: 0,
        }
    }

    /// The sequence counter (for status and tests).
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// HMAC-MD5-96 of the IPv4 header (mutable fields zeroed) and of what
    /// follows it (AH with the ICV zeroed, then VRRP).
    fn icv(&self, header: &[u8], rest: &[u8], unicast: bool) -> [u8; ICV_LEN] {
        let mut h = header.to_vec();
        h[1] = 0; // TOS
        h[6] = 0; // flags, fragment offset
        h[7] = 0;
        h[10] = 0; // header checksum
        h[11] = 0;
        if unicast {
            h[8] = 0; // TTL
        }
        let mut r = rest.to_vec();
        r[12..AH_LEN].fill(0);
        let Ok(mut mac) = <HmacMd5 as KeyInit>::new_from_slice(&self.key) else {
            // HMAC takes a key of any length.
            return [0; ICV_LEN];
        };
        mac.update(&h);
        mac.update(&r);
        let full = mac.finalize().into_bytes();
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&full[..ICV_LEN]);
        icv
    }

    /// The whole IPv4 datagram for the VRRP message `vrrp` (built with
    /// [`super::packet::Auth::Ah`]) from `src` to `dst`: the next sequence
    /// number, the next IP ID, the ICV. The header checksum is left 0 for
    /// the kernel to fill in (`IP_HDRINCL` always does).
    pub fn seal(
        &mut self,
        vrrp: &[u8],
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        unicast: bool,
    ) -> Vec<u8> {
        self.seq = self.seq.saturating_add(1).min(0xFFFF_FFFE);
        self.ip_id = self.ip_id.wrapping_add(1).max(1);
        let total = 20 + AH_LEN + vrrp.len();
        let mut out = vec![0u8; total];
        out[0] = 0x45;
        out[1] = 0xc0;
        out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        out[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
        out[8] = ttl;
        out[9] = IPPROTO_AH;
        out[12..16].copy_from_slice(&src.octets());
        out[16..20].copy_from_slice(&dst.octets());
        out[20] = NEXT_HEADER_VRRP;
        out[21] = PAYLOAD_LEN;
        out[24..28].copy_from_slice(&src.octets());
        out[28..32].copy_from_slice(&self.seq.to_be_bytes());
        out[20 + AH_LEN..].copy_from_slice(vrrp);
        let icv = self.icv(&out[..20], &out[20..], unicast);
        out[32..20 + AH_LEN].copy_from_slice(&icv);
        out
    }

    /// Check a received datagram (IPv4 header, AH, VRRP): the ICV, the
    /// SPI (the source address) and the sequence number, in keepalived's
    /// order; on success the counter takes the advert's number. Errors are
    /// authentication failures, counted as such.
    pub fn open(&mut self, datagram: &[u8], unicast: bool) -> Result<(), RxError> {
        let ihl = usize::from(datagram.first().map_or(0, |b| b & 0x0f)) * 4;
        if ihl < 20 || datagram.len() < ihl + AH_LEN || datagram[9] != IPPROTO_AH {
            return Err(RxError::Authentication("not an IPsec AH datagram"));
        }
        let ah = &datagram[ihl..ihl + AH_LEN];
        if ah[0] != NEXT_HEADER_VRRP || ah[1] != PAYLOAD_LEN {
            return Err(RxError::Authentication("AH header is not keepalived's"));
        }
        let icv = self.icv(&datagram[..ihl], &datagram[ihl..], unicast);
        // Constant-time, so the ICV cannot be guessed byte by byte.
        if icv.iter().zip(&ah[12..]).fold(0u8, |d, (a, b)| d | (a ^ b)) != 0 {
            return Err(RxError::Authentication(
                "IPsec AH: invalid HMAC-MD5 (wrong auth_pass?)",
            ));
        }
        if ah[4..8] != datagram[12..16] {
            return Err(RxError::Authentication(
                "IPsec AH: SPI is not the source address",
            ));
        }
        let seq = u32::from_be_bytes([ah[8], ah[9], ah[10], ah[11]]);
        if seq <= self.seq {
            return Err(RxError::Authentication(
                "IPsec AH: sequence number already seen (replay)",
            ));
        }
        self.seq = seq;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::packet::{Auth, Version, VrrpRepr};

    /// An advert keepalived 2.2.7 sent (captured with tcpdump): VRID 51,
    /// priority 200, VIP 192.0.2.50, auth_pass "secret12", from 192.0.2.1.
    const KEEPALIVED: &str = "45c0004000010000ff3318b6c0000201e0000012\
        70040000c0000201000000016da7b9b8ca2d58aca3661fa9\
        2133c80102015297c00002320000000000000000";

    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_keepalived_advert_is_accepted_and_rebuilt_byte_for_byte() {
        let wire = bytes(KEEPALIVED);
        let mut rx = IpsecAh::new(b"secret12");
        rx.open(&wire, false).unwrap();
        assert_eq!(rx.seq(), 1);
        // Replayed: refused.
        assert!(rx.open(&wire, false).is_err());
        // A wrong password: refused.
        assert!(IpsecAh::new(b"secret13").open(&wire, false).is_err());

        // The same advert built here: identical but for the header
        // checksum, which the kernel fills in.
        let repr = VrrpRepr {
            version: Version::V2,
            vrid: 51,
            priority: 200,
            max_adver_int: 100,
            auth: Auth::Ah,
            addresses: vec!["192.0.2.50".parse().unwrap()],
        };
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18));
        let vrrp = repr
            .to_bytes(src.into(), dst.into(), Default::default())
            .unwrap();
        let mut tx = IpsecAh::new(b"secret12");
        let mut ours = tx.seal(&vrrp, src, dst, 255, false);
        ours[10..12].copy_from_slice(&wire[10..12]);
        assert_eq!(ours, wire);
    }

    #[test]
    fn the_counter_follows_what_it_accepts_and_what_it_sends() {
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(224, 0, 0, 18));
        let mut a = IpsecAh::new(b"pw");
        let mut b = IpsecAh::new(b"pw");
        for _ in 0..5 {
            let d = a.seal(&[0x21; 20], src, dst, 255, false);
            b.open(&d, false).unwrap();
        }
        assert_eq!(b.seq(), 5);
        // b takes over: it continues the count, and a accepts it.
        let d = b.seal(&[0x21; 20], Ipv4Addr::new(192, 0, 2, 2), dst, 255, false);
        a.open(&d, false).unwrap();
        assert_eq!(a.seq(), 6);
        // A unicast advert whose TTL a router lowered still checks.
        let mut d = a.seal(&[0x21; 20], src, Ipv4Addr::new(192, 0, 2, 2), 255, true);
        d[8] = 250;
        b.open(&d, true).unwrap();
        // A flipped byte of the VRRP message does not.
        let mut d = a.seal(&[0x21; 20], src, dst, 255, false);
        d[50] ^= 1;
        assert!(b.open(&d, false).is_err());
    }
}
