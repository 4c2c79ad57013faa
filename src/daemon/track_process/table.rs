//! The process tracker's bookkeeping, without I/O: which processes count
//! for which `vrrp_track_process`, and when each gains or loses its
//! quorum, as keepalived 2.2.7 decides it (`track_process.c`).
//!
//! - A process matches by its comm (the kernel's 15-byte task name), or
//!   with `full_command` by the first word of its command line; with
//!   `param_match` its other words are compared too (exact, the given
//!   ones first, or the last given one only as a prefix).
//! - A fork of a counted process counts (the child is a copy); an exec
//!   or a comm change is looked at afresh; an exit uncounts.
//! - Quorum is `quorum <= count <= quorum_max`. Reaching it by a fork
//!   counts only after `fork_delay`, losing it by an exit only after
//!   `terminate_delay` (a pending loss is cancelled by a new process, a
//!   pending gain by an exit). Reaching or losing it by an exec or a comm
//!   change counts at once, as in keepalived.
//! - After lost events (the socket overflowed) everything is counted
//!   again from /proc ([`Table::rescan`]).
//!
//! One difference: keepalived counts a process twice when it execs a
//! program that matches again; here a process counts at most once per
//! tracker.
//!
//! Owns the counts, the quorum flags and the delay deadlines. The caller
//! reads /proc and the connector socket, and passes the time in.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::config::{ParamMatch, TrackProcess};

/// What the caller read of a process: its comm (for trackers without
/// `full_command`) and its command line (NUL-separated, for those with).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcInfo<'a> {
    pub comm: Option<&'a [u8]>,
    pub cmdline: Option<&'a [u8]>,
}

/// One tracker's configuration, as the matcher needs it.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    process: Vec<u8>,
    /// The given words, each followed by a NUL, as the kernel writes a
    /// command line.
    params: Vec<u8>,
    param_match: ParamMatch,
    full_command: bool,
    quorum: u64,
    quorum_max: u64,
    fork_delay: Duration,
    terminate_delay: Duration,
}

#[derive(Debug, Clone, Default)]
struct Count {
    n: u64,
    up: bool,
    fork_timer: Option<Instant>,
    terminate_timer: Option<Instant>,
}

/// How a process arrived or left, for the delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Fork,
    Exit,
    Other,
}

/// The trackers' counts and quorums.
#[derive(Debug)]
pub struct Table {
    specs: Vec<Spec>,
    counts: Vec<Count>,
    /// pid → the trackers it counts for.
    pids: HashMap<i32, Vec<usize>>,
    changed: bool,
}

impl Spec {
    fn new(t: &TrackProcess) -> Spec {
        let mut params = Vec::new();
        for p in &t.params {
            params.extend_from_slice(p.as_bytes());
            params.push(0);
        }
        Spec {
            name: t.name.clone(),
            process: t.process.as_bytes().to_vec(),
            params,
            param_match: t.param_match,
            full_command: t.full_command,
            quorum: u64::from(t.quorum),
            quorum_max: u64::from(t.quorum_max),
            fork_delay: t.fork_delay,
            terminate_delay: t.terminate_delay,
        }
    }

    fn within(&self, n: u64) -> bool {
        self.quorum <= n && n <= self.quorum_max
    }

    /// keepalived's `check_params`: `actual` is the command line after
    /// its first word's NUL.
    fn params_match(&self, actual: &[u8]) -> bool {
        let want = &self.params[..];
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => actual == want,
            _ if actual.len() < want.len() => false,
            _ if want.is_empty() => true,
            ParamMatch::Partial => actual.starts_with(want),
            ParamMatch::Initial => actual.starts_with(&want[..want.len() - 1]),
        }
    }

    /// Whether a process with these names counts. `None` for the name
    /// the tracker uses: it was not read (or the process is gone).
    fn matches(&self, info: &ProcInfo) -> Option<bool> {
        if self.full_command {
            let line = info.cmdline?;
            let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
            if line[..end] != self.process[..] {
                return Some(false);
            }
            let rest = line.get(end + 1..).unwrap_or(&[]);
            Some(self.params_match(rest))
        } else {
            Some(info.comm? == &self.process[..])
        }
    }
}

impl Table {
    pub fn new(trackers: &[TrackProcess]) -> Table {
        Table {
            specs: trackers.iter().map(Spec::new).collect(),
            counts: vec![Count::default(); trackers.len()],
            pids: HashMap::new(),
            changed: false,
        }
    }

    /// Whether some tracker matches by comm / by command line (what the
    /// caller must read of a process).
    pub fn wants(&self) -> (bool, bool) {
        let full = self.specs.iter().any(|s| s.full_command);
        let comm = self.specs.iter().any(|s| !s.full_command);
        (comm, full)
    }

    /// The start: count the processes running now (zombies left out by
    /// the caller), and take the quorums from that.
    pub fn initial<'a>(&mut self, procs: impl IntoIterator<Item = (i32, ProcInfo<'a>)>) {
        self.count_all(procs);
        for (s, c) in self.specs.iter().zip(&mut self.counts) {
            c.up = s.within(c.n);
        }
        self.changed = true;
    }

    fn count_all<'a>(&mut self, procs: impl IntoIterator<Item = (i32, ProcInfo<'a>)>) {
        self.pids.clear();
        for c in &mut self.counts {
            c.n = 0;
        }
        for (pid, info) in procs {
            let hits: Vec<usize> = (0..self.specs.len())
                .filter(|&i| self.specs[i].matches(&info) == Some(true))
                .collect();
            for &i in &hits {
                self.counts[i].n += 1;
            }
            if !hits.is_empty() {
                self.pids.insert(pid, hits);
            }
        }
    }

    /// Events were lost: count again from scratch. Pending delays are
    /// dropped; a quorum gained is taken at once, a quorum lost after
    /// `terminate_delay` (keepalived's reinitialisation).
    pub fn rescan<'a>(
        &mut self,
        now: Instant,
        procs: impl IntoIterator<Item = (i32, ProcInfo<'a>)>,
    ) {
        self.count_all(procs);
        for i in 0..self.specs.len() {
            let c = &mut self.counts[i];
            c.fork_timer = None;
            c.terminate_timer = None;
            let within = self.specs[i].within(c.n);
            if !within && c.up && !self.specs[i].terminate_delay.is_zero() {
                c.terminate_timer = Some(now + self.specs[i].terminate_delay);
            } else {
                self.set(i, within);
            }
        }
    }

    fn set(&mut self, i: usize, up: bool) {
        if self.counts[i].up != up {
            self.counts[i].up = up;
            self.changed = true;
        }
    }

    fn gain(&mut self, now: Instant, i: usize, via: Via) {
        let (s, c) = (&self.specs[i], &mut self.counts[i]);
        c.n += 1;
        if c.n != s.quorum && c.n != s.quorum_max + 1 {
            return;
        }
        let reached = c.n == s.quorum;
        if c.terminate_timer.take().is_none() && via == Via::Fork && !s.fork_delay.is_zero() {
            c.fork_timer = Some(now + s.fork_delay);
            return;
        }
        self.set(i, reached);
    }

    fn lose(&mut self, now: Instant, i: usize, via: Via) {
        let (s, c) = (&self.specs[i], &mut self.counts[i]);
        let old = c.n;
        c.n = c.n.saturating_sub(1);
        if old != s.quorum && c.n != s.quorum_max {
            return;
        }
        let back = c.n == s.quorum_max;
        if c.fork_timer.take().is_none() && via == Via::Exit && !s.terminate_delay.is_zero() {
            c.terminate_timer = Some(now + s.terminate_delay);
            return;
        }
        self.set(i, back);
    }

    /// A new process (not a thread): it counts wherever its parent does.
    pub fn on_fork(&mut self, now: Instant, parent: i32, child: i32) {
        let Some(list) = self.pids.get(&parent).cloned() else {
            return;
        };
        for &i in &list {
            self.gain(now, i, Via::Fork);
        }
        self.pids.insert(child, list);
    }

    /// A process ended.
    pub fn on_exit(&mut self, now: Instant, pid: i32) {
        if let Some(list) = self.pids.remove(&pid) {
            for i in list {
                self.lose(now, i, Via::Exit);
            }
        }
    }

    /// A process ran exec(2): `info` is what it is now (both names read
    /// as [`Table::wants`] says; `None`s if it is already gone).
    pub fn on_exec(&mut self, now: Instant, pid: i32, info: &ProcInfo) {
        self.recheck(now, pid, info, false);
    }

    /// A process changed its comm (prctl PR_SET_NAME): trackers by comm
    /// look again; those by command line do not.
    pub fn on_comm(&mut self, now: Instant, pid: i32, comm: &[u8]) {
        let list = self.pids.remove(&pid).unwrap_or_default();
        let mut kept = Vec::new();
        for (k, &i) in list.iter().enumerate() {
            if self.specs[i].full_command {
                kept.push(i);
                continue;
            }
            if self.specs[i].process[..] == *comm {
                // keepalived stops here: the name did not really change.
                kept.extend_from_slice(&list[k..]);
                self.pids.insert(pid, kept);
                return;
            }
            self.lose(now, i, Via::Other);
        }
        if !kept.is_empty() {
            self.pids.insert(pid, kept);
        }
        let info = ProcInfo {
            comm: Some(comm),
            cmdline: None,
        };
        self.recheck(now, pid, &info, true);
    }

    fn recheck(&mut self, now: Instant, pid: i32, info: &ProcInfo, comm_only: bool) {
        let mut list = self.pids.remove(&pid).unwrap_or_default();
        for i in 0..self.specs.len() {
            if comm_only && self.specs[i].full_command {
                continue;
            }
            let counted = list.contains(&i);
            match self.specs[i].matches(info) {
                Some(true) if !counted => {
                    list.push(i);
                    self.gain(now, i, Via::Other);
                }
                Some(true) => {}
                _ if counted && !comm_only => {
                    list.retain(|&x| x != i);
                    self.lose(now, i, Via::Other);
                }
                _ => {}
            }
        }
        if !list.is_empty() {
            self.pids.insert(pid, list);
        }
    }

    /// The next delay to run out.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.counts
            .iter()
            .flat_map(|c| [c.fork_timer, c.terminate_timer])
            .flatten()
            .min()
    }

    /// Delays that ran out: the quorum is what the count says now.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.specs.len() {
            let c = &mut self.counts[i];
            let due = |t: &mut Option<Instant>| match *t {
                Some(at) if at <= now => {
                    *t = None;
                    true
                }
                _ => false,
            };
            let fired = due(&mut c.fork_timer) | due(&mut c.terminate_timer);
            if fired {
                let within = self.specs[i].within(self.counts[i].n);
                self.set(i, within);
            }
        }
    }

    /// Whether a quorum changed since the last call.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Every tracker's quorum, by name.
    pub fn quorums(&self) -> BTreeMap<String, bool> {
        self.specs
            .iter()
            .zip(&self.counts)
            .map(|(s, c)| (s.name.clone(), c.up))
            .collect()
    }

    /// How many processes count for tracker `name` (status, tests).
    pub fn count(&self, name: &str) -> Option<u64> {
        let i = self.specs.iter().position(|s| s.name == name)?;
        Some(self.counts[i].n)
    }
}

#[cfg(test)]
mod tests;
