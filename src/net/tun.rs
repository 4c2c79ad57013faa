//! A liveness device: a TUN interface that exists exactly as long as the
//! file descriptor tandem holds on it (not persistent), so the kernel
//! removes it when tandem dies, however it dies (kill -9 included).
//! `tandem_bgp` points BIRD's routes at it (`via "DEV"`): BIRD keeps a
//! device route only while its device is up, so the VIPs are withdrawn
//! from BGP when the device goes (docs/scale-out.md).
//!
//! Owns: creating the device (TUNSETIFF), bringing it up (SIOCSIFFLAGS)
//! and the descriptor's lifetime. No packet is ever read or written.
//! The descriptor is close-on-exec: a script tandem runs must not keep
//! the device alive after tandem is gone.

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

/// `TUNSETIFF` (`_IOW('T', 202, int)`), from linux/if_tun.h.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` with the flags member of its union (40 bytes).
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl IfReq {
    fn new(name: &str) -> std::io::Result<IfReq> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("\"{name}\" is no interface name (1 to 15 bytes)"),
            ));
        }
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: 0,
            _pad: [0; 22],
        };
        req.name[..bytes.len()].copy_from_slice(bytes);
        Ok(req)
    }
}

/// The device; dropping it (or the process ending) removes it.
#[derive(Debug)]
pub struct LivenessDevice {
    pub name: String,
    _fd: OwnedFd,
}

impl LivenessDevice {
    /// Create TUN device `name` and bring it up. Fails if a device of
    /// that name exists (another tandem holds it, or it is no TUN).
    pub fn create(name: &str) -> std::io::Result<LivenessDevice> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let fd = OwnedFd::from(file);
        let mut req = IfReq::new(name)?;
        req.flags = IFF_TUN | IFF_NO_PI;
        // SAFETY: a valid descriptor and a properly sized ifreq.
        if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        set_up(name)?;
        Ok(LivenessDevice {
            name: name.to_string(),
            _fd: fd,
        })
    }
}

/// `ip link set NAME up`, by SIOCGIFFLAGS / SIOCSIFFLAGS.
fn set_up(name: &str) -> std::io::Result<()> {
    // SAFETY: plain socket(2); the result is checked.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptor was just opened and is owned here alone.
    let sock = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(sock) };
    let mut req = IfReq::new(name)?;
    // SAFETY: valid descriptor, properly sized ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    req.flags |= libc::IFF_UP as libc::c_short;
    // SAFETY: as above.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &mut req) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_kernel_cannot_take_are_refused_before_any_call() {
        assert!(IfReq::new("").is_err());
        assert!(IfReq::new("a-name-of-16-chr").is_err());
        assert!(IfReq::new("tandem-bgp").is_ok());
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
    }
}
