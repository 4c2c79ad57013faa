//! A notify FIFO as a test reads it: made before the daemon starts, read
//! without blocking, so a test polls it while tandem or keepalived writes
//! (also across keepalived's reload, which closes and opens it again).

use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The FIFO and every byte read from it so far.
pub struct Fifo(fs::File, String);

impl Fifo {
    /// mkfifo(3) at `path` (which must not exist), opened for reading.
    pub fn make(path: &Path) -> Fifo {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo(3) reads the NUL-terminated path only.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        Fifo(f, String::new())
    }

    /// Every line written so far (a partial last line included).
    pub fn lines(&mut self) -> Vec<String> {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.0.read(&mut buf) {
            if n == 0 {
                break;
            }
            self.1.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        self.1.lines().map(str::to_owned).collect()
    }
}
