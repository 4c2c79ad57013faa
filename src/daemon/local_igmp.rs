//! global_defs `disable_local_igmp`: the kernel's IGMP reports for the
//! link-local groups (224.0.0.0/24, VRRP's 224.0.0.18 among them) off
//! while the daemon runs, as keepalived 2.2.7's VRRP process does
//! (`set_disable_local_igmp` / `reset_disable_local_igmp`).
//!
//! RFC 4541 §2.1.2: switches forward 224.0.0.0/24 to every port anyway,
//! so those reports only add traffic (and, from a VMAC, the VMAC's MAC
//! on the wire). The sysctl is per network namespace: the daemon's own
//! (after `net_namespace`).
//!
//! Owns: reading the value, writing 0 when it was 1, writing 1 back at
//! the end. A value that was already 0 is left alone and not put back.
//! A file that cannot be opened, read or written is logged and the
//! daemon runs without (keepalived: "Unable to open ... - errno N"):
//! the packaged systemd unit's `ProtectKernelTunables=yes` makes
//! /proc/sys read-only, and there sysctl.d does the same job.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// `net.ipv4.igmp_link_local_mcast_reports` (Linux 4.3 and later).
pub(super) const SYSCTL: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// The sysctl as the start found it: `restore` writes 1 back only if
/// this daemon changed it from 1.
#[derive(Debug)]
pub(super) struct LocalIgmp {
    /// Set when the start wrote 0 over a 1.
    changed: Option<PathBuf>,
}

impl LocalIgmp {
    /// Turn the reports off at `path` if they are on.
    pub(super) fn disable(path: impl AsRef<Path>) -> LocalIgmp {
        let path = path.as_ref();
        match swap_to_zero(path) {
            Ok(true) => {
                tracing::info!("disable_local_igmp: {} set to 0 (was 1)", path.display());
                LocalIgmp {
                    changed: Some(path.to_path_buf()),
                }
            }
            Ok(false) => {
                tracing::info!("disable_local_igmp: {} is 0 already", path.display());
                LocalIgmp { changed: None }
            }
            Err(e) => {
                tracing::warn!(
                    "disable_local_igmp: cannot set {}: {e}; IGMP reports stay as they are (where /proc/sys is read-only, as under the packaged unit's ProtectKernelTunables, set net.ipv4.igmp_link_local_mcast_reports = 0 in sysctl.d)",
                    path.display()
                );
                LocalIgmp { changed: None }
            }
        }
    }

    /// Put 1 back if [`LocalIgmp::disable`] took it away.
    pub(super) fn restore(self) {
        let Some(path) = self.changed else {
            return;
        };
        let put = OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"1"));
        match put {
            Ok(()) => tracing::info!("disable_local_igmp: {} set back to 1", path.display()),
            Err(e) => tracing::warn!("disable_local_igmp: cannot reset {}: {e}", path.display()),
        }
    }
}

/// Read the first byte; if it is `1`, write `0`. True if it wrote.
fn swap_to_zero(path: &Path) -> std::io::Result<bool> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    if b[0] != b'1' {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(0))?;
    f.write_all(b"0")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::LocalIgmp;

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("tandem-igmp-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn one_becomes_zero_and_comes_back() {
        let p = file("one", "1\n");
        let g = LocalIgmp::disable(&p);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0\n");
        g.restore();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "1\n");
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn zero_is_left_alone_and_a_missing_file_is_no_error() {
        let p = file("zero", "0\n");
        let g = LocalIgmp::disable(&p);
        std::fs::write(&p, "0\n").unwrap();
        g.restore();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0\n");
        let _ = std::fs::remove_file(&p);
        LocalIgmp::disable(&p).restore();
        assert!(!p.exists());
    }
}
