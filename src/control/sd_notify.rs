//! systemd's notify protocol (`sd_notify(3)`), which `Type=notify` needs.
//!
//! systemd passes a unix datagram socket in `$NOTIFY_SOCKET` (a path, or an
//! abstract name written with a leading `@`); the service sends
//! newline-separated `KEY=VALUE` lines to it:
//!
//! * `READY=1` once the configuration is applied (VIPs and IPVS rules of
//!   the initial state in place), so `systemctl start` returns only then and
//!   units ordered after tandem see a working balancer;
//! * `RELOADING=1` … `READY=1` around a reload;
//! * `STOPPING=1` on shutdown;
//! * `WATCHDOG=1` from the main loop at half of `$WATCHDOG_USEC`: if the loop
//!   wedges, systemd kills and restarts the daemon (`WatchdogSec=` in the
//!   unit), which beats a master that holds the VIPs but no longer answers;
//! * `STATUS=…` free text shown by `systemctl status`.
//!
//! Outside systemd (no `$NOTIFY_SOCKET`) every call is a no-op, so the
//! daemon can call these unconditionally. The protocol is small enough to
//! speak directly; no libsystemd.
//!
//! Owns the `$NOTIFY_SOCKET` datagrams; may not decide when the daemon is
//! ready (the daemon calls it).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// A handle on the notification socket (or on nothing).
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    socket: Option<String>,
}

impl Notifier {
    /// Use `$NOTIFY_SOCKET` if systemd set it.
    pub fn from_env() -> Notifier {
        Notifier {
            socket: std::env::var("NOTIFY_SOCKET")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }

    /// Use the given socket (a path, or `@name` for an abstract socket).
    pub fn with_socket(socket: impl Into<String>) -> Notifier {
        Notifier {
            socket: Some(socket.into()),
        }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier { socket: None }
    }

    pub fn is_enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Send `KEY=VALUE` pairs in one datagram. Ok(false) when there is no
    /// socket to send to.
    pub fn notify(&self, fields: &[(&str, &str)]) -> io::Result<bool> {
        let Some(target) = &self.socket else {
            return Ok(false);
        };
        let mut msg = String::new();
        for (k, v) in fields {
            // A newline in a value would start a new assignment.
            msg.push_str(k);
            msg.push('=');
            msg.push_str(&v.replace('\n', " "));
            msg.push('\n');
        }
        let sock = UnixDatagram::unbound()?;
        if let Some(name) = target.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(msg.as_bytes(), &addr)?;
        } else {
            sock.send_to(msg.as_bytes(), target)?;
        }
        Ok(true)
    }

    /// The configuration is applied; `status` is shown by `systemctl status`.
    pub fn ready(&self, status: &str) -> io::Result<bool> {
        self.notify(&[("READY", "1"), ("STATUS", status)])
    }

    /// A reload starts (SIGHUP). Send [`Notifier::ready`] when it is done.
    pub fn reloading(&self) -> io::Result<bool> {
        let usec = monotonic_usec().to_string();
        self.notify(&[("RELOADING", "1"), ("MONOTONIC_USEC", &usec)])
    }

    pub fn stopping(&self) -> io::Result<bool> {
        self.notify(&[("STOPPING", "1")])
    }

    pub fn status(&self, status: &str) -> io::Result<bool> {
        self.notify(&[("STATUS", status)])
    }

    /// The main loop is alive.
    pub fn watchdog(&self) -> io::Result<bool> {
        self.notify(&[("WATCHDOG", "1")])
    }
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, if systemd
/// enabled the watchdog for this process.
pub fn watchdog_interval() -> Option<Duration> {
    parse_watchdog(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// `$WATCHDOG_USEC` applies to us unless `$WATCHDOG_PID` names another
/// process (a child that inherited the environment).
fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, my_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(my_pid) {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_ready_and_status_as_one_datagram() {
        let path = std::env::temp_dir().join(format!("tdm-notify-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).expect("bind");
        let n = Notifier::with_socket(path.to_string_lossy().to_string());
        assert!(n.ready("2 instances, MASTER\nsecond line").expect("send"));
        let mut buf = [0u8; 256];
        let len = rx.recv(&mut buf).expect("recv");
        assert_eq!(
            std::str::from_utf8(&buf[..len]).expect("utf8"),
            "READY=1\nSTATUS=2 instances, MASTER second line\n"
        );
        assert!(n.watchdog().expect("send"));
        let len = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"WATCHDOG=1\n");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn abstract_socket_names_work() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("tdm-notify-abstract-{}", std::process::id());
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let rx = UnixDatagram::bind_addr(&addr).expect("bind");
        let n = Notifier::with_socket(format!("@{name}"));
        assert!(n.stopping().expect("send"));
        let mut buf = [0u8; 64];
        let len = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"STOPPING=1\n");
    }

    #[test]
    fn without_socket_nothing_is_sent() {
        assert!(!Notifier::disabled().ready("x").expect("no-op"));
    }

    #[test]
    fn watchdog_interval_is_half_and_only_for_us() {
        assert_eq!(
            parse_watchdog(Some("10000000"), None, 7),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_watchdog(Some("10000000"), Some("7"), 7),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_watchdog(Some("10000000"), Some("8"), 7), None);
        assert_eq!(parse_watchdog(Some("0"), None, 7), None);
        assert_eq!(parse_watchdog(Some("junk"), None, 7), None);
        assert_eq!(parse_watchdog(None, None, 7), None);
    }
}
