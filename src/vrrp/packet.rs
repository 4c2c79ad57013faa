//! VRRP wire format: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798, RFC 9568).
//!
//! Laid out like smoltcp's `wire` module: [`Packet`] is a checked view over
//! a byte buffer whose accessors read fields in place, [`VrrpRepr`] is the
//! owned, high-level form with [`VrrpRepr::parse`] and [`VrrpRepr::emit`].
//! On top of those, [`decode_ipv4`] / [`decode_ipv6`] take what a raw socket
//! hands over (the whole IPv4 datagram; the IPv6 payload plus the addresses
//! and hop limit from ancillary data) and apply the receive checks of
//! RFC 5798 §7.1 that need no configuration. The checks that do need the
//! instance's configuration (VRID, authentication, advert interval, address
//! list) are done by [`crate::vrrp::Instance`], which counts them.
//!
//! Every failure is a distinct [`RxError`], so the daemon can count each drop
//! reason the way RFC 6527's statistics table does. Nothing here panics on
//! any input; `fuzz/fuzz_targets/vrrp_decode.rs` holds us to that.
//!
//! Owns the bytes of an advert; may not do I/O (sockets are `net`'s) nor
//! judge what needs an instance's configuration.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4).
pub const PROTOCOL: u8 = 112;
/// The IPv4 multicast group adverts are sent to (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group adverts are sent to (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every advert carries (RFC 5798 §5.1.1.3, §5.1.2.3).
pub const TTL: u8 = 255;
/// Length of the fixed VRRP header, both versions.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data trailer (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;

/// IP protocol number of the IPsec Authentication Header (keepalived's
/// `auth_type AH`; [`super::ah`]).
pub const IPPROTO_AH: u8 = 51;
/// The AH header keepalived sends: 12 fixed bytes and a 12-byte ICV.
pub const AH_LEN: usize = 24;
/// The only VRRP message type (RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Largest v3 Max Adver Int: a 12-bit field of centiseconds (RFC 5798 §5.2.7).
pub const MAX_ADVER_INT_V3: u16 = 0x0fff;

/// Field offsets of the VRRP header (RFC 3768 §5.1, RFC 5798 §5.1).
mod field {
    use std::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2 only: Auth Type.
    pub const AUTH_TYPE: usize = 4;
    /// v2 only: Adver Int in seconds.
    pub const ADVER_INT: usize = 5;
    /// v3 only: 4 reserved bits then 12 bits Max Adver Int (centiseconds).
    pub const MAX_ADVER_INT: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Version {
    /// RFC 3768; IPv4 only, Adver Int in whole seconds, optional PASS auth.
    V2,
    /// RFC 5798 / RFC 9568; IPv4 and IPv6, interval in centiseconds.
    V3,
}

impl Version {
    /// The value of the 4-bit version field.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of an instance and of the addresses in its adverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// Length of one address of this family in the advert.
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6; RFC 2338 for the types).
///
/// RFC 3768 removed authentication, but keepalived still offers
/// `auth_type PASS`, so a pair mixing tandem and keepalived needs it.
/// `auth_type AH` (type 2) puts the advert inside an IPsec AH header
/// (IP protocol 51; [`super::ah`] builds and checks it), and leaves the 8
/// data bytes zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Auth {
    /// Auth Type 0; the 8 data bytes are sent as zero and ignored.
    None,
    /// Auth Type 1, simple text password: up to 8 bytes, zero padded.
    Pass([u8; AUTH_DATA_LEN]),
    /// Auth Type 2, keepalived's IPsec AH; the data bytes are zero.
    Ah,
}

impl Auth {
    /// Builds PASS authentication from keepalived's `auth_pass`: keepalived
    /// truncates longer passwords to 8 bytes, and so do we.
    pub fn pass(password: &[u8]) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        let n = password.len().min(AUTH_DATA_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::Pass(data)
    }

    fn type_number(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Ah => 2,
        }
    }
}

/// Why a received packet was dropped. One variant per reason, so each can
/// be counted separately (RFC 5798 §7.1, RFC 6527 statistics).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    /// Shorter than the headers it claims to carry.
    #[error("packet truncated: {len} bytes, need at least {need}")]
    Truncated { len: usize, need: usize },
    /// IPv4 header malformed: version not 4, IHL below 5 or beyond the
    /// buffer, total length inconsistent.
    #[error("malformed IPv4 header: {0}")]
    Ipv4Header(&'static str),
    /// IPv4 header checksum wrong.
    #[error("IPv4 header checksum wrong")]
    Ipv4Checksum,
    /// Not IP protocol 112.
    #[error("IP protocol {0} is not VRRP (112)")]
    Protocol(u8),
    /// TTL / hop limit of a multicast advert is not 255 (RFC 5798 §7.1):
    /// the packet came from off-link.
    #[error("TTL/hop limit {0} is not 255")]
    Ttl(u8),
    /// A unicast peer's advert arrived with a TTL / hop limit outside its
    /// `min_ttl`..`max_ttl` (keepalived's unicast_peer options).
    #[error("TTL/hop limit {ttl} is outside the peer's range {min}-{max}")]
    TtlRange { ttl: u8, min: u8, max: u8 },
    /// Version field is neither 2 nor 3, v2 over IPv6, or a version other
    /// than the instance's.
    #[error("VRRP version {0} not accepted")]
    Version(u8),
    /// Type field is not 1 (ADVERTISEMENT).
    #[error("VRRP type {0} is not ADVERTISEMENT (1)")]
    Type(u8),
    /// VRID is 0, or not the VRID of the instance it was given to.
    #[error("VRID {0} not configured here")]
    Vrid(u8),
    /// Message length does not match the address count.
    #[error("VRRP length {len} does not match {count} addresses (expected {expected})")]
    Length {
        len: usize,
        count: u8,
        expected: usize,
    },
    /// Checksum does not verify.
    #[error("VRRP checksum wrong: carried {carried:#06x}, computed {computed:#06x}")]
    Checksum { carried: u16, computed: u16 },
    /// v2 authentication type or password differs from ours (RFC 3768 §7.1).
    #[error("authentication failed: {0}")]
    Authentication(&'static str),
    /// v2 Adver Int differs from the configured one (RFC 3768 §7.1).
    #[error("advert interval {received_cs}cs differs from configured {configured_cs}cs")]
    AdvertInterval {
        received_cs: u16,
        configured_cs: u16,
    },
    /// Addresses of the wrong family for the instance or the IP header.
    #[error("address family does not match the instance")]
    AddressFamily,
    /// The advertised address list differs from ours. Only counted: like
    /// keepalived, [`crate::vrrp::Instance`] still accepts the advert
    /// (RFC 5798 §7.1 "MAY verify"); never returned as a drop.
    #[error("advertised address list differs from the configured one")]
    AddressList,
}

/// Why [`VrrpRepr::emit`] refused to build a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("buffer of {len} bytes too small, need {need}")]
    Buffer { len: usize, need: usize },
    #[error("more than 255 addresses")]
    TooManyAddresses,
    #[error("addresses of mixed families, or not of the IP header's family")]
    AddressFamily,
    #[error("VRRPv2 carries IPv4 only")]
    V2OverIpv6,
    #[error("interval {0}cs not representable in this version")]
    Interval(u16),
    #[error("VRRPv3 has no authentication")]
    V3Auth,
}

/// Where an advert travels: the IP source and destination, which the v3
/// checksum pseudo-header covers, and the TTL / hop limit it arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Envelope {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
}

/// Codec options that the peer must agree on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CodecOptions {
    /// keepalived's `v3_checksum_as_v2`: compute the checksum of a VRRPv3
    /// advert over IPv4 on the VRRP message alone, without the IPv4
    /// pseudo-header. RFC 5798 §5.2.8 asks for the pseudo-header and
    /// keepalived 2.2 sends it by default; some vendors (and RFC 9568's
    /// clarified text) leave it out. Like keepalived we accept only the
    /// configured layout, so a mismatch shows up as checksum errors.
    pub v3_checksum_as_v2: bool,
    /// keepalived's `old_unicast_checksum`: the IPv4 pseudo-header of a
    /// VRRPv3 advert carries this multicast group (keepalived's
    /// `vrrp_mcast_group4`) as its destination even when the advert goes to
    /// a unicast peer, as keepalived before 1.3.8 computed it, on send and
    /// on receive alike.
    pub old_unicast_checksum: Option<std::net::Ipv4Addr>,
}

/// A checked view over the bytes of a VRRP message (without IP header).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a buffer
    /// shorter than [`HEADER_LEN`]. Use [`Packet::new_checked`] for input.
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after checking that the fixed header fits.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, RxError> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(RxError::Truncated {
                len,
                need: HEADER_LEN,
            });
        }
        Ok(Packet { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Count IPvX Addr.
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2: Auth Type.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2: Adver Int, whole seconds.
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// v3: Max Adver Int, centiseconds (the 4 reserved bits masked off).
    pub fn max_adver_int_v3(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MAX_ADVER_INT];
        u16::from_be_bytes([b[0], b[1]]) & MAX_ADVER_INT_V3
    }

    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Length the message must have for its version, family and count.
    pub fn expected_len(&self, family: Family) -> usize {
        expected_len(self.version(), family, self.count())
    }
}

fn expected_len(version: u8, family: Family, count: u8) -> usize {
    let trailer = if version == 2 { AUTH_DATA_LEN } else { 0 };
    HEADER_LEN + usize::from(count) * family.addr_len() + trailer
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }

    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    pub fn set_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    pub fn set_checksum(&mut self, checksum: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&checksum.to_be_bytes());
    }
}

/// One's-complement sum of 16-bit big-endian words (RFC 1071), not folded.
fn sum_words(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Computes the VRRP checksum of `msg` (whose checksum field must be zero,
/// or is treated as zero here) for the given version and addresses.
///
/// - v2: the message alone (RFC 3768 §5.3.8);
/// - v3 over IPv6: with the IPv6 pseudo-header (RFC 5798 §5.2.8, RFC 8200 §8.1);
/// - v3 over IPv4: with the IPv4 pseudo-header (source, destination, zero,
///   protocol 112, length), unless `v3_checksum_as_v2`.
pub fn checksum(version: u8, msg: &[u8], src: IpAddr, dst: IpAddr, opts: CodecOptions) -> u16 {
    let mut acc = 0u32;
    if version == 3 {
        match (src, dst) {
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                acc = sum_words(acc, &s.octets());
                acc = sum_words(acc, &d.octets());
                acc = sum_words(acc, &(msg.len() as u32).to_be_bytes());
                acc = sum_words(acc, &[0, 0, 0, PROTOCOL]);
            }
            (IpAddr::V4(s), IpAddr::V4(d)) if !opts.v3_checksum_as_v2 => {
                let d = opts.old_unicast_checksum.unwrap_or(d);
                acc = sum_words(acc, &s.octets());
                acc = sum_words(acc, &d.octets());
                acc = sum_words(acc, &[0, PROTOCOL]);
                acc = sum_words(acc, &(msg.len() as u16).to_be_bytes());
            }
            _ => {}
        }
    }
    // Sum the message with the checksum field taken as zero.
    let head = msg.get(..field::CHECKSUM.start).unwrap_or(msg);
    acc = sum_words(acc, head);
    if let Some(rest) = msg.get(field::CHECKSUM.end..) {
        acc = sum_words(acc, rest);
    }
    fold(acc)
}

/// The owned, high-level form of a VRRP advertisement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VrrpRepr {
    pub version: Version,
    pub vrid: u8,
    /// 0 = the master is leaving; 255 = the address owner.
    pub priority: u8,
    /// Advertisement interval in centiseconds, for both versions: v3's
    /// Max Adver Int as is, v2's whole seconds × 100. Keeping one unit lets
    /// the state machine compare and learn intervals without caring which
    /// version carried them.
    pub max_adver_int: u16,
    /// v2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
    /// The virtual addresses, all of one family.
    pub addresses: Vec<IpAddr>,
}

impl VrrpRepr {
    /// Parses and checks a VRRP message (no IP header). `src`/`dst` are the
    /// IP addresses it travelled between: they decide the address family
    /// and feed the v3 checksum.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src: IpAddr,
        dst: IpAddr,
        opts: CodecOptions,
    ) -> Result<VrrpRepr, RxError> {
        let bytes = packet.as_bytes();
        if bytes.len() < HEADER_LEN {
            return Err(RxError::Truncated {
                len: bytes.len(),
                need: HEADER_LEN,
            });
        }
        let family = Family::of(&src);
        if Family::of(&dst) != family {
            return Err(RxError::AddressFamily);
        }
        let version = match (packet.version(), family) {
            (2, Family::V4) => Version::V2,
            (3, _) => Version::V3,
            (v, _) => return Err(RxError::Version(v)),
        };
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(RxError::Type(packet.msg_type()));
        }
        if packet.vrid() == 0 {
            return Err(RxError::Vrid(0));
        }
        let expected = packet.expected_len(family);
        if bytes.len() != expected {
            return Err(RxError::Length {
                len: bytes.len(),
                count: packet.count(),
                expected,
            });
        }
        let computed = checksum(packet.version(), bytes, src, dst, opts);
        if computed != packet.checksum() {
            return Err(RxError::Checksum {
                carried: packet.checksum(),
                computed,
            });
        }
        let addr_end = field::ADDRESSES + usize::from(packet.count()) * family.addr_len();
        let addr_bytes = &bytes[field::ADDRESSES..addr_end];
        let addresses: Vec<IpAddr> = match family {
            Family::V4 => addr_bytes
                .chunks_exact(4)
                .map(|c| IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])))
                .collect(),
            Family::V6 => addr_bytes
                .chunks_exact(16)
                .map(|c| {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    IpAddr::V6(Ipv6Addr::from(o))
                })
                .collect(),
        };
        let (max_adver_int, auth) = match version {
            Version::V2 => {
                let auth = match packet.auth_type() {
                    0 => Auth::None,
                    1 => {
                        let mut data = [0u8; AUTH_DATA_LEN];
                        data.copy_from_slice(&bytes[addr_end..addr_end + AUTH_DATA_LEN]);
                        Auth::Pass(data)
                    }
                    2 => Auth::Ah,
                    _ => return Err(RxError::Authentication("unsupported auth type")),
                };
                (u16::from(packet.adver_int_v2()) * 100, auth)
            }
            Version::V3 => (packet.max_adver_int_v3(), Auth::None),
        };
        Ok(VrrpRepr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            max_adver_int,
            auth,
            addresses,
        })
    }

    /// Bytes [`VrrpRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let family = self.addresses.first().map(Family::of).unwrap_or(Family::V4);
        expected_len(
            self.version.number(),
            family,
            self.addresses.len().min(255) as u8,
        )
    }

    /// Writes the message, checksum included, into the start of `buf`.
    pub fn emit(
        &self,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        opts: CodecOptions,
    ) -> Result<usize, TxError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family || self.addresses.iter().any(|a| Family::of(a) != family) {
            return Err(TxError::AddressFamily);
        }
        let count = u8::try_from(self.addresses.len()).map_err(|_| TxError::TooManyAddresses)?;
        let need = expected_len(self.version.number(), family, count);
        if buf.len() < need {
            return Err(TxError::Buffer {
                len: buf.len(),
                need,
            });
        }
        let msg = &mut buf[..need];
        msg.fill(0);
        let mut p = Packet::new_unchecked(&mut *msg);
        p.set_version_type(self.version.number(), TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid);
        p.set_priority(self.priority);
        p.set_count(count);
        match self.version {
            Version::V2 => {
                if family != Family::V4 {
                    return Err(TxError::V2OverIpv6);
                }
                if self.max_adver_int % 100 != 0 || self.max_adver_int / 100 > 255 {
                    return Err(TxError::Interval(self.max_adver_int));
                }
                msg[field::AUTH_TYPE] = self.auth.type_number();
                msg[field::ADVER_INT] = (self.max_adver_int / 100) as u8;
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(TxError::V3Auth);
                }
                if self.max_adver_int > MAX_ADVER_INT_V3 {
                    return Err(TxError::Interval(self.max_adver_int));
                }
                msg[field::MAX_ADVER_INT].copy_from_slice(&self.max_adver_int.to_be_bytes());
            }
        }
        let mut at = HEADER_LEN;
        for a in &self.addresses {
            match a {
                IpAddr::V4(v4) => msg[at..at + 4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => msg[at..at + 16].copy_from_slice(&v6.octets()),
            }
            at += family.addr_len();
        }
        if let Auth::Pass(data) = &self.auth {
            msg[at..at + AUTH_DATA_LEN].copy_from_slice(data);
        }
        let sum = checksum(self.version.number(), msg, src, dst, opts);
        Packet::new_unchecked(&mut *msg).set_checksum(sum);
        Ok(need)
    }

    /// [`VrrpRepr::emit`] into a fresh vector.
    pub fn to_bytes(
        &self,
        src: IpAddr,
        dst: IpAddr,
        opts: CodecOptions,
    ) -> Result<Vec<u8>, TxError> {
        let mut buf = vec![0u8; self.buffer_len()];
        let n = self.emit(&mut buf, src, dst, opts)?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// An advert that passed every configuration-independent check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    pub envelope: Envelope,
    pub repr: VrrpRepr,
}

/// RFC 5798 §7.1 (RFC 3768 §7.1 for v2): a receiver MUST drop an advert
/// whose TTL / hop limit is not 255, so that only a router on the link can
/// take part. The RFCs define adverts to the multicast group only, and
/// that check is enforced here for every multicast destination.
///
/// Unicast adverts (`unicast_peer`) are keepalived's extension beyond the
/// RFC: its `unicast_ttl` lets the sender lower the TTL so adverts can
/// cross routers, and keepalived 2.2.7 does not check the TTL on receive
/// once unicast peers are configured. We do the same, or a keepalived peer
/// with `unicast_ttl` set would be dropped; the on-link guarantee is
/// replaced by the source filter (only addresses in `unicast_peer` are
/// heard, see `daemon::unit`). Pinned by `tests/lab_hostile.rs`
/// (`unicast_advert_with_ttl_64_from_a_peer_is_accepted_as_keepalived_does`).
fn check_ttl(dst: IpAddr, ttl: u8) -> Result<(), RxError> {
    if dst.is_multicast() && ttl != TTL {
        return Err(RxError::Ttl(ttl));
    }
    Ok(())
}

/// Decodes a whole IPv4 datagram as an IPv4 raw socket delivers it.
///
/// The IP header length comes from IHL (options are skipped, not assumed
/// absent) and the VRRP message ends where the IP total length says, so
/// Ethernet padding does not count as part of it.
pub fn decode_ipv4(datagram: &[u8], opts: CodecOptions) -> Result<Received, RxError> {
    if datagram.len() < 20 {
        return Err(RxError::Truncated {
            len: datagram.len(),
            need: 20,
        });
    }
    if datagram[0] >> 4 != 4 {
        return Err(RxError::Ipv4Header("version is not 4"));
    }
    let ihl = usize::from(datagram[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(RxError::Ipv4Header("IHL below 5"));
    }
    if ihl > datagram.len() {
        return Err(RxError::Truncated {
            len: datagram.len(),
            need: ihl,
        });
    }
    let total = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    if total < ihl {
        return Err(RxError::Ipv4Header("total length below header length"));
    }
    if total > datagram.len() {
        return Err(RxError::Truncated {
            len: datagram.len(),
            need: total,
        });
    }
    if fold(sum_words(0, &datagram[..ihl])) != 0 {
        return Err(RxError::Ipv4Checksum);
    }
    // VRRP itself, or inside keepalived's IPsec AH (whose ICV the unit
    // checked before this, with `super::ah`).
    let start = match datagram[9] {
        PROTOCOL => ihl,
        IPPROTO_AH if total >= ihl + AH_LEN && datagram[ihl] == PROTOCOL => ihl + AH_LEN,
        protocol => return Err(RxError::Protocol(protocol)),
    };
    let ttl = datagram[8];
    let src = IpAddr::V4(Ipv4Addr::new(
        datagram[12],
        datagram[13],
        datagram[14],
        datagram[15],
    ));
    let dst = IpAddr::V4(Ipv4Addr::new(
        datagram[16],
        datagram[17],
        datagram[18],
        datagram[19],
    ));
    check_ttl(dst, ttl)?;
    let packet = Packet::new_checked(&datagram[start..total])?;
    let repr = VrrpRepr::parse(&packet, src, dst, opts)?;
    Ok(Received {
        envelope: Envelope { src, dst, ttl },
        repr,
    })
}

/// Decodes the payload of an IPv6 raw socket: the kernel strips the IPv6
/// header, so source, destination and hop limit come from the socket
/// (`recvmsg` address and `IPV6_HOPLIMIT` / `IPV6_PKTINFO` ancillary data).
pub fn decode_ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    payload: &[u8],
    opts: CodecOptions,
) -> Result<Received, RxError> {
    let (src, dst) = (IpAddr::V6(src), IpAddr::V6(dst));
    check_ttl(dst, hop_limit)?;
    let packet = Packet::new_checked(payload)?;
    let repr = VrrpRepr::parse(&packet, src, dst, opts)?;
    Ok(Received {
        envelope: Envelope {
            src,
            dst,
            ttl: hop_limit,
        },
        repr,
    })
}

/// Builds a whole IPv4 datagram around an advert, for an `IP_HDRINCL` raw
/// socket (what keepalived uses): TTL 255, TOS 0xc0 (precedence
/// "internetwork control", as keepalived sets), DF clear, header checksum
/// filled in. `ip_id` lets the caller number datagrams.
pub fn encode_ipv4(
    repr: &VrrpRepr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ip_id: u16,
    opts: CodecOptions,
) -> Result<Vec<u8>, TxError> {
    let msg = repr.to_bytes(IpAddr::V4(src), IpAddr::V4(dst), opts)?;
    let total = 20 + msg.len();
    let mut out = vec![0u8; total];
    out[0] = 0x45;
    out[1] = 0xc0;
    out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    out[4..6].copy_from_slice(&ip_id.to_be_bytes());
    out[8] = TTL;
    out[9] = PROTOCOL;
    out[12..16].copy_from_slice(&src.octets());
    out[16..20].copy_from_slice(&dst.octets());
    let sum = fold(sum_words(0, &out[..20]));
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    out[20..].copy_from_slice(&msg);
    Ok(out)
}

/// Whether `a` is the greater address, compared as unsigned integers in
/// network byte order (RFC 5798 §6.4.3).
pub(crate) fn ip_greater(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
        _ => false,
    }
}

/// Address lists compared as sets: the RFC does not fix an order. Both
/// directions are checked because an advert may repeat an address: with
/// one direction only, `[a, a]` would pass for our `[a, b]`.
pub(crate) fn same_addresses(a: &[IpAddr], b: &[IpAddr]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}
