//! The BFD Control packet (RFC 5880 §4.1) and the receive checks of
//! §6.8.6 that need no session.
//!
//! A Control packet is 24 bytes in this implementation: keepalived and
//! tandem send no Authentication Section (the A bit is never set), and a
//! received packet with the A bit is dropped by the session (§6.8.6: "If
//! the A bit is set and no authentication is in use"). Every way a
//! datagram can fail is a distinct [`Malformed`], so the daemon counts each
//! drop reason; nothing here panics on any input.
//!
//! Owns the bytes of a Control packet; may not do I/O or know sessions.

use serde::Serialize;

/// UDP destination port of single-hop Control packets (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;
/// The source port range a single-hop session must send from (RFC 5881 §4).
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// The only protocol version (RFC 5880 §4.1, "Version").
pub const VERSION: u8 = 1;
/// Length of the mandatory section (RFC 5880 §4.1).
pub const LEN: usize = 24;
/// Smallest Length with the A bit set: the mandatory section plus an
/// Authentication Section's type and length octets (§6.8.6).
pub const LEN_WITH_AUTH: usize = 26;
/// Highest Diagnostic code RFC 5880 §4.1 defines (8, Reverse Concatenated
/// Path Down); keepalived drops packets with a higher one, and so does
/// tandem.
pub const MAX_DIAG: u8 = 8;

/// bfd.SessionState / the Sta field (RFC 5880 §4.1, §6.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum State {
    AdminDown,
    Down,
    Init,
    Up,
}

impl State {
    pub fn from_bits(v: u8) -> State {
        match v & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }

    /// RFC 5880's spelling, as keepalived logs it.
    pub fn name(self) -> &'static str {
        match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        }
    }
}

/// Diagnostic codes (RFC 5880 §4.1, "Diagnostic").
pub mod diag {
    pub const NONE: u8 = 0;
    /// Control Detection Time Expired.
    pub const EXPIRED: u8 = 1;
    /// Neighbor Signaled Session Down.
    pub const NEIGHBOR_DOWN: u8 = 3;
    /// Administratively Down.
    pub const ADMIN_DOWN: u8 = 7;

    /// RFC 5880's wording of a code.
    pub fn name(d: u8) -> &'static str {
        match d {
            0 => "No Diagnostic",
            1 => "Control Detection Time Expired",
            2 => "Echo Function Failed",
            3 => "Neighbor Signaled Session Down",
            4 => "Forwarding Plane Reset",
            5 => "Path Down",
            6 => "Concatenated Path Down",
            7 => "Administratively Down",
            8 => "Reverse Concatenated Path Down",
            _ => "Unknown",
        }
    }
}

/// Why a datagram is not a Control packet any session may look at
/// (RFC 5880 §6.8.6, the checks before a session is selected, and
/// keepalived's extra ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
pub enum Malformed {
    #[error("shorter than the 24-byte mandatory section")]
    TooShort,
    #[error("version is not 1")]
    Version,
    #[error("the Length field is below the minimum or beyond the datagram")]
    Length,
    #[error("Detect Mult is zero")]
    DetectMult,
    #[error("the Multipoint bit is set")]
    Multipoint,
    #[error("My Discriminator is zero")]
    MyDiscriminator,
    #[error("Your Discriminator is zero in state Init or Up")]
    YourDiscriminator,
    #[error("both Poll and Final are set")]
    PollAndFinal,
    #[error("unknown Diagnostic code")]
    Diagnostic,
}

impl Malformed {
    pub const ALL: [Malformed; 9] = [
        Malformed::TooShort,
        Malformed::Version,
        Malformed::Length,
        Malformed::DetectMult,
        Malformed::Multipoint,
        Malformed::MyDiscriminator,
        Malformed::YourDiscriminator,
        Malformed::PollAndFinal,
        Malformed::Diagnostic,
    ];

    /// A short name for counters and metrics.
    pub fn key(self) -> &'static str {
        match self {
            Malformed::TooShort => "too_short",
            Malformed::Version => "version",
            Malformed::Length => "length",
            Malformed::DetectMult => "detect_mult",
            Malformed::Multipoint => "multipoint",
            Malformed::MyDiscriminator => "my_discriminator",
            Malformed::YourDiscriminator => "your_discriminator",
            Malformed::PollAndFinal => "poll_and_final",
            Malformed::Diagnostic => "diagnostic",
        }
    }
}

/// Field offsets of the mandatory section (RFC 5880 §4.1).
mod field {
    /// Vers (3 bits) | Diag (5 bits).
    pub const VERS_DIAG: usize = 0;
    /// Sta (2) | P | F | C | A | D | M.
    pub const FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: usize = 4;
    pub const YOUR_DISCR: usize = 8;
    pub const DESIRED_MIN_TX: usize = 12;
    pub const REQUIRED_MIN_RX: usize = 16;
    pub const REQUIRED_MIN_ECHO_RX: usize = 20;
}

mod flag {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CPI: u8 = 0x08;
    pub const AUTH: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// A Control packet, owned and decoded. Intervals are in microseconds, as
/// on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ControlPacket {
    pub diag: u8,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    /// Control Plane Independent: tandem's BFD shares fate with its
    /// control plane, so it never sets it.
    pub cpi: bool,
    pub auth: bool,
    pub demand: bool,
    pub multipoint: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_be_bytes(w)
}

impl ControlPacket {
    /// Decode a UDP payload and apply RFC 5880 §6.8.6's checks that come
    /// before a session is selected (plus keepalived's: P and F together,
    /// an unknown diagnostic).
    pub fn decode(data: &[u8]) -> Result<ControlPacket, Malformed> {
        if data.len() < LEN {
            return Err(Malformed::TooShort);
        }
        if data[field::VERS_DIAG] >> 5 != VERSION {
            return Err(Malformed::Version);
        }
        let flags = data[field::FLAGS];
        let auth = flags & flag::AUTH != 0;
        // §6.8.6: "less than the minimum correct value (24 if the A bit is
        // clear, 26 otherwise)" or "greater than the payload".
        let len = usize::from(data[field::LENGTH]);
        let min = if auth { LEN_WITH_AUTH } else { LEN };
        if len < min || len > data.len() {
            return Err(Malformed::Length);
        }
        let p = ControlPacket {
            diag: data[field::VERS_DIAG] & 0x1f,
            state: State::from_bits(flags >> 6),
            poll: flags & flag::POLL != 0,
            final_: flags & flag::FINAL != 0,
            cpi: flags & flag::CPI != 0,
            auth,
            demand: flags & flag::DEMAND != 0,
            multipoint: flags & flag::MULTIPOINT != 0,
            detect_mult: data[field::DETECT_MULT],
            my_discr: be32(data, field::MY_DISCR),
            your_discr: be32(data, field::YOUR_DISCR),
            desired_min_tx_us: be32(data, field::DESIRED_MIN_TX),
            required_min_rx_us: be32(data, field::REQUIRED_MIN_RX),
            required_min_echo_rx_us: be32(data, field::REQUIRED_MIN_ECHO_RX),
        };
        if p.detect_mult == 0 {
            return Err(Malformed::DetectMult);
        }
        if p.multipoint {
            return Err(Malformed::Multipoint);
        }
        if p.my_discr == 0 {
            return Err(Malformed::MyDiscriminator);
        }
        if p.your_discr == 0 && !matches!(p.state, State::Down | State::AdminDown) {
            return Err(Malformed::YourDiscriminator);
        }
        if p.poll && p.final_ {
            return Err(Malformed::PollAndFinal);
        }
        if p.diag > MAX_DIAG {
            return Err(Malformed::Diagnostic);
        }
        Ok(p)
    }

    /// The 24 bytes on the wire (no Authentication Section).
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[field::VERS_DIAG] = (VERSION << 5) | (self.diag & 0x1f);
        let mut f = self.state.bits() << 6;
        for (on, bit) in [
            (self.poll, flag::POLL),
            (self.final_, flag::FINAL),
            (self.cpi, flag::CPI),
            (self.auth, flag::AUTH),
            (self.demand, flag::DEMAND),
            (self.multipoint, flag::MULTIPOINT),
        ] {
            if on {
                f |= bit;
            }
        }
        b[field::FLAGS] = f;
        b[field::DETECT_MULT] = self.detect_mult;
        b[field::LENGTH] = LEN as u8;
        for (at, v) in [
            (field::MY_DISCR, self.my_discr),
            (field::YOUR_DISCR, self.your_discr),
            (field::DESIRED_MIN_TX, self.desired_min_tx_us),
            (field::REQUIRED_MIN_RX, self.required_min_rx_us),
            (field::REQUIRED_MIN_ECHO_RX, self.required_min_echo_rx_us),
        ] {
            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Down packet of the shape keepalived 2.2.7 sends at start-up with
    /// its defaults: diag 0, Down, mult 5, a random My Discriminator, Your
    /// Discriminator 0, Desired Min TX 1 s (idle_tx while not Up),
    /// Required Min RX 10 ms, no echo.
    const KEEPALIVED_DOWN: [u8; 24] = [
        0x20, 0x40, 0x05, 0x18, 0x5f, 0xd4, 0xe9, 0xa3, 0, 0, 0, 0, 0x00, 0x0f, 0x42, 0x40, 0x00,
        0x00, 0x27, 0x10, 0, 0, 0, 0,
    ];

    fn up() -> ControlPacket {
        ControlPacket {
            diag: 0,
            state: State::Up,
            poll: true,
            final_: false,
            cpi: false,
            auth: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            my_discr: 0x01020304,
            your_discr: 0xa0b0c0d0,
            desired_min_tx_us: 10_000,
            required_min_rx_us: 20_000,
            required_min_echo_rx_us: 0,
        }
    }

    #[test]
    fn decodes_literal_bytes() {
        let p = ControlPacket::decode(&KEEPALIVED_DOWN).unwrap();
        assert_eq!(p.state, State::Down);
        assert_eq!(p.detect_mult, 5);
        assert_eq!(p.my_discr, 0x5fd4e9a3);
        assert_eq!(p.your_discr, 0);
        assert_eq!(p.desired_min_tx_us, 1_000_000);
        assert_eq!(p.required_min_rx_us, 10_000);
        assert!(!p.poll && !p.final_ && !p.auth);
        assert_eq!(p.encode(), KEEPALIVED_DOWN);
    }

    #[test]
    fn round_trips() {
        let p = up();
        let b = p.encode();
        assert_eq!(b[0], 0x20);
        assert_eq!(b[1], 0xc0 | 0x20);
        assert_eq!(b[3], 24);
        assert_eq!(ControlPacket::decode(&b).unwrap(), p);
    }

    #[test]
    fn each_malformed_field_is_its_own_reason() {
        let good = up().encode();
        type Mutation = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(Mutation, Malformed)> = vec![
            (Box::new(|b| b.truncate(23)), Malformed::TooShort),
            (Box::new(|b| b[0] = 0x40), Malformed::Version),
            (Box::new(|b| b[3] = 23), Malformed::Length),
            (Box::new(|b| b[3] = 30), Malformed::Length),
            // A bit with Length 24: below the 26 an auth section needs.
            (Box::new(|b| b[1] |= 0x04), Malformed::Length),
            (Box::new(|b| b[2] = 0), Malformed::DetectMult),
            (Box::new(|b| b[1] |= 0x01), Malformed::Multipoint),
            (Box::new(|b| b[4..8].fill(0)), Malformed::MyDiscriminator),
            (Box::new(|b| b[8..12].fill(0)), Malformed::YourDiscriminator),
            (Box::new(|b| b[1] |= 0x10), Malformed::PollAndFinal),
            (Box::new(|b| b[0] = 0x20 | 9), Malformed::Diagnostic),
        ];
        for (mutate, want) in cases {
            let mut b = good.to_vec();
            mutate(&mut b);
            assert_eq!(ControlPacket::decode(&b), Err(want), "{b:02x?}");
        }
        // Trailing bytes beyond Length are allowed (Length is not greater
        // than the payload).
        let mut long = good.to_vec();
        long.extend_from_slice(&[0; 8]);
        assert!(ControlPacket::decode(&long).is_ok());
    }

    #[test]
    fn no_input_panics() {
        // Every length up to 40 with every value of each byte position
        // that carries flags, lengths or versions.
        let base = up().encode();
        for len in 0..40 {
            let mut b = base.to_vec();
            b.resize(len, 0xff);
            for pos in 0..b.len().min(4) {
                for v in 0..=255u8 {
                    let mut c = b.clone();
                    c[pos] = v;
                    let _ = ControlPacket::decode(&c);
                }
            }
        }
    }
}
