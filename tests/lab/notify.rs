//! The lab's notify log: the lines its notify script writes, and the
//! order the daemon made them in (keepalived's scripts run concurrently,
//! so the file's order is not always that; see `Lab::notifications`).

use std::time::Duration;

/// Lines of a notify log written within this long of the first of a burst
/// may be out of order (their scripts ran concurrently).
pub const NOTIFY_BURST: Duration = Duration::from_secs(2);

/// One line of a lab notify log: `TYPE NAME STATE PRIORITY PID NANOS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub kind: String,
    pub name: String,
    pub state: String,
    /// The script's pid and when it wrote the line (ns since the epoch);
    /// absent in a line the script did not write.
    pub pid: Option<u32>,
    pub nanos: Option<u128>,
}

impl Notification {
    pub fn parse(line: &str) -> Option<Notification> {
        let w: Vec<&str> = line.split_whitespace().collect();
        Some(Notification {
            kind: (*w.first()?).to_owned(),
            name: (*w.get(1)?).to_owned(),
            state: (*w.get(2)?).to_owned(),
            pid: w.get(4).and_then(|p| p.parse().ok()),
            nanos: w.get(5).and_then(|t| t.parse().ok()),
        })
    }
}

/// `lines` in the order their scripts were started: each burst (lines
/// written within [`NOTIFY_BURST`] of the burst's first) sorted by pid.
/// Pids grow by one per fork and wrap at `pid_max` (32768 by default), so
/// they are compared as distances from the burst's first pid, folded into
/// ±16384: a burst spans a few forks, never half the pid space.
pub fn in_fork_order(lines: Vec<Notification>) -> Vec<Notification> {
    let mut out = Vec::with_capacity(lines.len());
    let mut burst: Vec<Notification> = Vec::new();
    let flush = |burst: &mut Vec<Notification>, out: &mut Vec<Notification>| {
        if let Some(first) = burst.first().and_then(|n| n.pid) {
            let dist = |n: &Notification| {
                n.pid.map_or(0, |p| {
                    let d = (i64::from(p) - i64::from(first)).rem_euclid(32768);
                    if d >= 16384 { d - 32768 } else { d }
                })
            };
            // Stable: lines without a pid keep their place among equals.
            burst.sort_by_key(dist);
        }
        out.append(burst);
    };
    let burst_ns = NOTIFY_BURST.as_nanos();
    for n in lines {
        let start = burst.first().and_then(|f| f.nanos);
        let within = match (start, n.nanos) {
            (Some(s), Some(t)) => t.abs_diff(s) <= burst_ns,
            _ => false,
        };
        if !within {
            flush(&mut burst, &mut out);
        }
        burst.push(n);
    }
    flush(&mut burst, &mut out);
    out
}
