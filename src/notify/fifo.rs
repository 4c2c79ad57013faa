//! keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`,
//! `lvs_notify_fifo`): one line per state change, in keepalived 2.2.7's
//! exact format (`vrrp_notify.c`, `ipwrapper.c`):
//!
//! ```text
//! INSTANCE "VI_1" MASTER 100
//! GROUP "G" BACKUP 0
//! VS [192.0.2.1]:tcp:80 UP
//! RS [198.51.100.2]:tcp:80 [192.0.2.1]:tcp:80 DOWN
//! ```
//!
//! A FIFO that does not exist is created (mode 0644, then the umask) and
//! given its owner, and removed again when it is closed; it is opened
//! read-write and non-blocking, as keepalived opens it, so a writer never
//! waits: with no reader, or a slow one, lines queue in the pipe and, once
//! it is full, further lines are dropped and counted. Neither VRRP nor
//! the checks ever block on it.
//!
//! Owns the FIFOs' descriptors and the line format; may not decide when a
//! line is written (the units and the LVS task do).

use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::script::RunAs;

/// One open notify FIFO.
#[derive(Debug)]
pub struct Fifo {
    path: PathBuf,
    file: Mutex<Option<File>>,
    /// The daemon made it (and removes it when closing).
    created: bool,
    /// Lines that did not fit in the pipe (or found it closed).
    dropped: AtomicU64,
}

impl Fifo {
    /// Create the FIFO if it is missing (owned by `owner`), then open it.
    pub fn open(path: &Path, owner: Option<RunAs>) -> std::io::Result<Fifo> {
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        // SAFETY: mkfifo(3) reads the NUL-terminated path only.
        let created = unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0;
        if !created {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e);
            }
        }
        if let (true, Some(o)) = (created, owner) {
            if let Err(e) = std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid)) {
                tracing::warn!(fifo = %path.display(), error = %e, "failed to set the owner of the notify FIFO");
            }
        }
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path);
        let file = match opened {
            Ok(f) => f,
            Err(e) => {
                if created {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        };
        Ok(Fifo {
            path: path.to_path_buf(),
            file: Mutex::new(Some(file)),
            created,
            dropped: AtomicU64::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write one line in one write(2) (atomic below PIPE_BUF); never waits.
    pub fn write_line(&self, line: &str) {
        let Ok(mut guard) = self.file.lock() else {
            return;
        };
        let done = match guard.as_mut() {
            Some(f) => matches!(f.write(line.as_bytes()), Ok(n) if n == line.len()),
            None => false,
        };
        if !done {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::debug!(fifo = %self.path.display(), dropped = n, "notify FIFO full or closed: line dropped");
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Remove the FIFO if the daemon made it (first, so that a reader that
    /// reopens it in a loop cannot), then close it: its reader sees the end
    /// of the file once it has read every line.
    pub fn close(&self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Ok(mut guard) = self.file.lock() {
            guard.take();
        }
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        self.close();
    }
}

/// The FIFOs a daemon writes to: `notify_fifo` gets every line,
/// `vrrp_notify_fifo` the VRRP ones, `lvs_notify_fifo` the LVS ones, in
/// that order (keepalived writes the common FIFO first). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Fifos {
    vrrp: Vec<Arc<Fifo>>,
    lvs: Vec<Arc<Fifo>>,
}

impl Fifos {
    pub fn new(all: Option<Arc<Fifo>>, vrrp: Option<Arc<Fifo>>, lvs: Option<Arc<Fifo>>) -> Fifos {
        Fifos {
            vrrp: all.iter().chain(vrrp.iter()).cloned().collect(),
            lvs: all.iter().chain(lvs.iter()).cloned().collect(),
        }
    }

    /// Every FIFO once.
    pub fn all(&self) -> Vec<Arc<Fifo>> {
        let mut out: Vec<Arc<Fifo>> = Vec::new();
        for f in self.vrrp.iter().chain(&self.lvs) {
            if !out.iter().any(|o| Arc::ptr_eq(o, f)) {
                out.push(f.clone());
            }
        }
        out
    }

    /// `INSTANCE "NAME" STATE PRIORITY`.
    pub fn instance(&self, name: &str, state: &str, priority: u8) {
        self.vrrp_line(&format!("INSTANCE \"{name}\" {state} {priority}\n"));
    }

    /// `GROUP "NAME" STATE 0` (keepalived gives a group priority 0).
    pub fn group(&self, name: &str, state: &str) {
        self.vrrp_line(&format!("GROUP \"{name}\" {state} 0\n"));
    }

    /// `VS SERVICE UP|DOWN`: the virtual server's quorum.
    pub fn virtual_server(&self, vs: &str, up: bool) {
        self.lvs_line(&format!("VS {vs} {}\n", up_down(up)));
    }

    /// `RS REAL SERVICE UP|DOWN`.
    pub fn real_server(&self, rs: &str, vs: &str, up: bool) {
        self.lvs_line(&format!("RS {rs} {vs} {}\n", up_down(up)));
    }

    fn vrrp_line(&self, line: &str) {
        for f in &self.vrrp {
            f.write_line(line);
        }
    }

    fn lvs_line(&self, line: &str) {
        for f in &self.lvs {
            f.write_line(line);
        }
    }
}

fn up_down(up: bool) -> &'static str {
    if up { "UP" } else { "DOWN" }
}

/// keepalived's `[ADDR]:PROTO:PORT` (`inet_sockaddrtotrio`).
pub fn trio(addr: IpAddr, protocol: &str, port: u16) -> String {
    format!("[{addr}]:{protocol}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_are_keepalived_s_and_a_full_pipe_never_blocks() {
        let dir = std::env::temp_dir().join(format!("tdm-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let fifo = Arc::new(Fifo::open(&path, None).unwrap());
        let fifos = Fifos::new(Some(fifo.clone()), None, None);
        fifos.instance("VI_1", "MASTER", 100);
        fifos.group("G", "BACKUP");
        let vs = trio("192.0.2.1".parse().unwrap(), "tcp", 80);
        let rs = trio("2001:db8::2".parse().unwrap(), "udp", 53);
        fifos.virtual_server(&vs, true);
        fifos.real_server(&rs, &vs, false);
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = reader.read(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&buf[..n]),
            "INSTANCE \"VI_1\" MASTER 100\nGROUP \"G\" BACKUP 0\n\
             VS [192.0.2.1]:tcp:80 UP\nRS [2001:db8::2]:udp:53 [192.0.2.1]:tcp:80 DOWN\n"
        );
        // Nobody reads: the pipe fills, and lines are dropped, not waited on.
        for _ in 0..5000 {
            fifos.instance("VI_1", "BACKUP", 90);
        }
        assert!(fifo.dropped() > 0);
        // The daemon made it, so closing removes it.
        fifo.close();
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
