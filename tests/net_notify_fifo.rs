//! `lvs_notify_fifo` and `notify_fifo` in a running daemon, in a namespace
//! of its own: a real server going down and up (driven by a FILE_CHECK)
//! writes keepalived's `RS ... DOWN|UP` lines, the virtual server's quorum
//! its `VS ... DOWN|UP` lines (keepalived 2.2.7's format, `ipwrapper.c`),
//! to both FIFOs, and `vrrp_notify_fifo` gets none of them; a FIFO that
//! existed before is left in place at exit, one tandem made is removed.

mod netns;

use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

fn conf(dir: &Path) -> String {
    format!(
        "global_defs {{
  notify_fifo {d}/all.fifo
  lvs_notify_fifo {d}/lvs.fifo
  vrrp_notify_fifo {d}/vrrp.fifo
}}
track_file tf {{
  file {d}/tf
  weight 0
}}
virtual_server 192.0.2.100 80 {{
  protocol TCP
  real_server 192.0.2.5 8080 {{
    FILE_CHECK {{
      track_file tf
    }}
  }}
}}
virtual_server fwmark 7 {{
  protocol UDP
  persistence_timeout 60
  real_server 192.0.2.6 53 {{
    FILE_CHECK {{
      track_file tf
    }}
  }}
}}
",
        d = dir.display()
    )
}

/// A reader that takes whatever the FIFO holds now.
struct Reader(fs::File, String);

impl Reader {
    fn open(path: &Path) -> Reader {
        assert!(
            wait_until(10.0, || path.exists()),
            "{} not made",
            path.display()
        );
        let f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        Reader(f, String::new())
    }
    fn lines(&mut self) -> Vec<String> {
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

#[test]
fn real_server_and_quorum_changes_reach_the_lvs_fifos_in_keepalived_s_format() {
    let ns = Netns::new("s7track-ff");
    let dir = Scratch::new("s7track-ff");
    // One FIFO exists already: it is used, and left in place at exit.
    let lvs = dir.0.join("lvs.fifo");
    let c = std::ffi::CString::new(lvs.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) reads the NUL-terminated path only.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut d = Daemon::start(&ns, &dir.file("t.conf", &conf(&dir.0)), dir.0.join("d.log"));
    let mut all = Reader::open(&dir.0.join("all.fifo"));
    let mut lvs_r = Reader::open(&lvs);
    let mut vrrp = Reader::open(&dir.0.join("vrrp.fifo"));
    assert!(
        wait_until(10.0, || d.log().contains("tandem started")),
        "{}",
        d.log()
    );

    fs::write(dir.0.join("tf"), "1").unwrap();
    let down = [
        "RS [192.0.2.5]:tcp:8080 [192.0.2.100]:tcp:80 DOWN",
        "VS [192.0.2.100]:tcp:80 DOWN",
        "RS [192.0.2.6]:udp:53 FWM 7 DOWN",
        "VS FWM 7 DOWN",
    ];
    assert!(
        wait_until(10.0, || all.lines() == down),
        "{:?}\n{}",
        all.lines(),
        d.log()
    );
    fs::write(dir.0.join("tf"), "0").unwrap();
    let up = [
        "RS [192.0.2.5]:tcp:8080 [192.0.2.100]:tcp:80 UP",
        "VS [192.0.2.100]:tcp:80 UP",
        "RS [192.0.2.6]:udp:53 FWM 7 UP",
        "VS FWM 7 UP",
    ];
    let both: Vec<String> = down.iter().chain(&up).map(|s| s.to_string()).collect();
    assert!(
        wait_until(10.0, || all.lines() == both),
        "{:?}",
        all.lines()
    );
    assert!(
        wait_until(10.0, || lvs_r.lines() == both),
        "{:?}",
        lvs_r.lines()
    );
    assert!(vrrp.lines().is_empty(), "{:?}", vrrp.lines());

    d.signal("-TERM");
    assert_eq!(d.wait(10.0), Some(0), "{}", d.log());
    assert!(lvs.exists(), "a FIFO tandem did not make is left");
    assert!(
        !dir.0.join("all.fifo").exists(),
        "a FIFO tandem made is removed"
    );
}
