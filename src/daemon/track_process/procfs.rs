//! Reading processes from /proc for the process tracker: every process
//! at start (and after lost events), one process after an exec.
//!
//! As keepalived 2.2.7 reads them: the comm from `/proc/PID/stat` in the
//! full scan (skipping zombies) and from `/proc/PID/comm` after an exec;
//! the command line from `/proc/PID/cmdline`, each only when some tracker
//! needs it. A process that is gone by the time it is read is skipped.
//!
//! Owns the file reads; no decisions.

use std::io::Read;

/// keepalived reads at most this much of a command line that it needs;
/// tandem reads this much, which covers any tracker's words.
const CMDLINE_MAX: u64 = 64 * 1024;

/// What was read of one process.
#[derive(Debug, Default, Clone)]
pub struct Proc {
    pub pid: i32,
    pub comm: Option<Vec<u8>>,
    pub cmdline: Option<Vec<u8>>,
}

fn read_file(path: &str, max: u64) -> Option<Vec<u8>> {
    let f = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// The comm and whether the process is a zombie, from `/proc/PID/stat`
/// ("PID (COMM) S ..."; the comm may itself hold parentheses).
fn stat_comm(stat: &[u8]) -> Option<(Vec<u8>, bool)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = stat.get(open + 1..close)?.to_vec();
    let zombie = stat.get(close + 2) == Some(&b'Z');
    Some((comm, zombie))
}

/// Every process now, with the names the trackers need.
pub fn scan(comm: bool, cmdline: bool) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let mut p = Proc {
            pid,
            ..Proc::default()
        };
        if cmdline {
            let Some(line) = read_file(&format!("/proc/{pid}/cmdline"), CMDLINE_MAX) else {
                continue;
            };
            p.cmdline = Some(line);
        }
        if comm {
            let Some(stat) = read_file(&format!("/proc/{pid}/stat"), 512) else {
                continue;
            };
            match stat_comm(&stat) {
                Some((_, true)) | None => continue,
                Some((c, false)) => p.comm = Some(c),
            }
        }
        out.push(p);
    }
    out
}

/// One process after an exec (`None`s for what could not be read).
pub fn read(pid: i32, comm: bool, cmdline: bool) -> Proc {
    let mut p = Proc {
        pid,
        ..Proc::default()
    };
    if cmdline {
        p.cmdline = read_file(&format!("/proc/{pid}/cmdline"), CMDLINE_MAX);
    }
    if comm {
        p.comm = read_file(&format!("/proc/{pid}/comm"), 64).map(|mut c| {
            if c.last() == Some(&b'\n') {
                c.pop();
            }
            c
        });
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_gives_the_comm_and_the_zombie_state() {
        assert_eq!(
            stat_comm(b"12 (sleep) S 1 2"),
            Some((b"sleep".to_vec(), false))
        );
        assert_eq!(stat_comm(b"12 (a) b) Z 1"), Some((b"a) b".to_vec(), true)));
        assert_eq!(stat_comm(b"12 sleep"), None);
    }

    #[test]
    fn this_process_is_found() {
        let me = std::process::id() as i32;
        let all = scan(true, true);
        let p = all.iter().find(|p| p.pid == me).expect("own pid in /proc");
        assert!(p.comm.as_ref().is_some_and(|c| !c.is_empty()));
        assert!(read(me, true, true).cmdline.is_some());
    }
}
