//! Linkbeat: an interface's carrier read by polling the driver, as
//! keepalived's `linkbeat_interfaces` does, for drivers whose link
//! events cannot be trusted. Three ways, tried in keepalived's order:
//! the MII PHY's status register (SIOCGMIIPHY, then SIOCGMIIREG of
//! BMSR, read twice because its link bit latches a loss), ethtool's
//! ETHTOOL_GLINK (SIOCETHTOOL), and the interface flags alone
//! (SIOCGIFFLAGS). Whatever the way, the link counts as up only while
//! the flags also say IFF_UP and IFF_RUNNING.
//!
//! Owns the ioctl socket and the unsafe calls. May not decide what a
//! change means (the daemon turns it into a link event).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use socket2::{Domain, Socket, Type};

/// How a carrier is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkbeatWay {
    Mii,
    Ethtool,
    Ioctl,
}

const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const SIOCGMIIPHY: libc::c_ulong = 0x8947;
const SIOCGMIIREG: libc::c_ulong = 0x8948;
const ETHTOOL_GLINK: u32 = 0x0a;
/// MII registers: basic mode control and status; BMSR's link bit.
const MII_BMCR: u16 = 0;
const MII_BMSR: u16 = 1;
const BMSR_LSTATUS: u16 = 0x0004;

/// `struct ifreq`: the name, then a 24-byte union (flags, a pointer, or
/// the MII data in place).
#[repr(C, align(8))]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: [u8; 24],
}

impl IfReq {
    fn new(name: &str) -> Option<IfReq> {
        let b = name.as_bytes();
        if b.is_empty() || b.len() >= libc::IFNAMSIZ || b.contains(&0) {
            return None;
        }
        let mut r = IfReq {
            name: [0; libc::IFNAMSIZ],
            data: [0; 24],
        };
        r.name[..b.len()].copy_from_slice(b);
        Some(r)
    }

    fn u16_at(&self, i: usize) -> u16 {
        u16::from_ne_bytes([self.data[2 * i], self.data[2 * i + 1]])
    }

    fn set_u16_at(&mut self, i: usize, v: u16) {
        self.data[2 * i..2 * i + 2].copy_from_slice(&v.to_ne_bytes());
    }
}

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// The socket the ioctls go through (any datagram socket will do).
pub struct Linkbeat {
    fd: OwnedFd,
}

impl Linkbeat {
    pub fn new() -> io::Result<Linkbeat> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
        Ok(Linkbeat { fd: s.into() })
    }

    fn ioctl(&self, req: libc::c_ulong, r: &mut IfReq) -> bool {
        // SAFETY: `r` is a properly sized, aligned `struct ifreq` that
        // lives across the call; the kernel writes only inside it (or,
        // for SIOCETHTOOL, inside the ethtool_value its data points to,
        // which the caller keeps alive).
        unsafe { libc::ioctl(self.fd.as_raw_fd(), req as _, r as *mut IfReq) == 0 }
    }

    /// The MII PHY's link bit; `None` when the driver has no MII.
    fn mii(&self, name: &str) -> Option<bool> {
        let mut r = IfReq::new(name)?;
        if !self.ioctl(SIOCGMIIPHY, &mut r) {
            return None;
        }
        let phy = r.u16_at(0);
        let mut read = |reg: u16| {
            r.set_u16_at(0, phy);
            r.set_u16_at(1, reg);
            self.ioctl(SIOCGMIIREG, &mut r).then(|| r.u16_at(3))
        };
        read(MII_BMSR)?;
        if read(MII_BMCR)? == 0xffff {
            return None;
        }
        let first = read(MII_BMSR)?;
        if first == 0 {
            return None;
        }
        let second = read(MII_BMSR)?;
        Some((first | second) & BMSR_LSTATUS != 0)
    }

    /// ETHTOOL_GLINK; `None` when the driver does not answer it.
    fn ethtool(&self, name: &str) -> Option<bool> {
        let mut r = IfReq::new(name)?;
        let mut v = EthtoolValue {
            cmd: ETHTOOL_GLINK,
            data: 0,
        };
        let p = (&mut v as *mut EthtoolValue as usize).to_ne_bytes();
        r.data[..p.len()].copy_from_slice(&p);
        self.ioctl(SIOCETHTOOL, &mut r).then_some(v.data != 0)
    }

    /// IFF_UP and IFF_RUNNING; a missing interface is down, any other
    /// failure counts as up (keepalived's reading).
    fn flags(&self, name: &str) -> bool {
        let Some(mut r) = IfReq::new(name) else {
            return false;
        };
        if !self.ioctl(SIOCGIFFLAGS, &mut r) {
            return io::Error::last_os_error().raw_os_error() != Some(libc::ENODEV);
        }
        let f = i32::from(r.u16_at(0));
        let want = libc::IFF_UP | libc::IFF_RUNNING;
        f & want == want
    }

    /// Whether `name`'s link is up, read the way `prefer` says if the
    /// driver answers it, else the first way that works (MII, ethtool,
    /// flags); and the way used.
    pub fn poll(&self, name: &str, prefer: Option<LinkbeatWay>) -> (bool, LinkbeatWay) {
        let order: &[LinkbeatWay] = match prefer {
            Some(LinkbeatWay::Ethtool) => &[LinkbeatWay::Ethtool, LinkbeatWay::Mii],
            Some(LinkbeatWay::Ioctl) => &[],
            _ => &[LinkbeatWay::Mii, LinkbeatWay::Ethtool],
        };
        for &way in order {
            let got = match way {
                LinkbeatWay::Mii => self.mii(name),
                _ => self.ethtool(name),
            };
            if let Some(up) = got {
                return (up && self.flags(name), way);
            }
        }
        (self.flags(name), LinkbeatWay::Ioctl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_up_by_its_flags_and_a_missing_link_is_down() {
        let Ok(lb) = Linkbeat::new() else {
            return;
        };
        // lo answers neither MII nor ethtool's GLINK... or GLINK; either
        // way it is up.
        assert!(lb.poll("lo", None).0);
        assert!(lb.poll("lo", Some(LinkbeatWay::Ioctl)).0);
        assert!(!lb.poll("s9-no-such-if0", None).0);
        assert!(!lb.poll("", None).0);
    }
}
