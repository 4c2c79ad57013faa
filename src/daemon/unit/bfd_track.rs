//! Which trackers of a unit's instances a `vrrp_script` or a
//! `bfd_instance` moves, and which of the BFD task's reports are news.
//!
//! The BFD task keeps every session's latest state in [`BfdStates`], each
//! with a sequence number that grows with every change, and also sends
//! each change to every unit ([`super::UnitMsg::Bfd`]). A unit starting
//! (or rebuilt by a reload) reads the current states first; a report can
//! then arrive late or twice, and the sequence number tells which one is
//! the latest. Owns that bookkeeping; the unit applies what it returns to
//! its state machine.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use crate::daemon::plan::UnitPlan;

/// Each session's (sequence number, Up), written by the BFD task.
pub type BfdStates = Arc<RwLock<HashMap<String, (u64, bool)>>>;

/// One tracker to move: (instance index, tracker index, the state to feed).
pub(super) type TrackerUpdate = (usize, usize, bool);

/// The BFD trackers of one unit.
pub(super) struct BfdTracking {
    /// bfd_instance name → (instance, tracker, invert).
    trackers: HashMap<String, Vec<(usize, usize, bool)>>,
    /// bfd_instance name → (instance, neighbour) of its `tandem_takeover`
    /// entries.
    takeovers: HashMap<String, Vec<(usize, IpAddr)>>,
    /// The sequence number of the last report applied, per session.
    seen: HashMap<String, u64>,
    states: BfdStates,
}

impl BfdTracking {
    pub(super) fn new(plan: &UnitPlan) -> BfdTracking {
        let mut t = BfdTracking {
            trackers: HashMap::new(),
            takeovers: HashMap::new(),
            seen: HashMap::new(),
            states: BfdStates::default(),
        };
        t.replan(plan);
        t
    }

    /// Read the BFD task's states from `states` from now on.
    pub(super) fn set_states(&mut self, states: BfdStates) {
        self.states = states;
    }

    /// A reload's plan: the same sessions may move other trackers.
    pub(super) fn replan(&mut self, plan: &UnitPlan) {
        self.trackers.clear();
        self.takeovers.clear();
        for (i, inst) in plan.instances.iter().enumerate() {
            for (name, t, invert) in &inst.track_bfds {
                self.trackers
                    .entry(name.clone())
                    .or_default()
                    .push((i, *t, *invert));
            }
            for (name, peer) in &inst.takeovers {
                self.takeovers
                    .entry(name.clone())
                    .or_default()
                    .push((i, *peer));
            }
        }
    }

    /// The instances to tell [`crate::vrrp::Event::PeerDown`] (with the
    /// neighbour's address) when session `name` leaves Up. Only for a
    /// report, never for a starting unit's read of the states: a unit
    /// that starts follows no master yet.
    pub(super) fn takeovers(&self, name: &str) -> &[(usize, IpAddr)] {
        self.takeovers.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A report from the BFD task: the trackers to move, none when it is
    /// older than one already applied.
    pub(super) fn report(&mut self, name: &str, up: bool, seq: u64) -> Vec<TrackerUpdate> {
        let Some(list) = self.trackers.get(name) else {
            return Vec::new();
        };
        if self.seen.get(name).is_some_and(|&s| s >= seq) {
            return Vec::new();
        }
        self.seen.insert(name.to_string(), seq);
        list.iter().map(|&(i, t, inv)| (i, t, up != inv)).collect()
    }

    /// Every tracked session's current state, as reports, for a unit
    /// starting. A session that never changed (sequence 0) is down, as
    /// the trackers start.
    pub(super) fn current(&mut self) -> Vec<(String, bool, Vec<TrackerUpdate>)> {
        let now: Vec<(String, (u64, bool))> = match self.states.read() {
            Ok(m) => m
                .iter()
                .filter(|(_, (seq, _))| *seq > 0)
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut out = Vec::new();
        for (name, (seq, up)) in now {
            let moves = self.report(&name, up, seq);
            if !moves.is_empty() {
                out.push((name, up, moves));
            }
        }
        out
    }
}

/// Which trackers each `vrrp_script` moves: name → (instance, tracker index).
pub(super) fn script_trackers(plan: &UnitPlan) -> HashMap<String, Vec<(usize, usize)>> {
    let mut trackers: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (i, inst) in plan.instances.iter().enumerate() {
        for (name, t) in &inst.track_scripts {
            trackers.entry(name.clone()).or_default().push((i, *t));
        }
    }
    trackers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking() -> BfdTracking {
        let mut t = BfdTracking {
            trackers: HashMap::new(),
            takeovers: HashMap::new(),
            seen: HashMap::new(),
            states: BfdStates::default(),
        };
        t.trackers
            .insert("b".into(), vec![(0, 2, false), (1, 0, true)]);
        t
    }

    #[test]
    fn reports_move_trackers_once_and_in_order() {
        let mut t = tracking();
        // Inverted trackers are fed the opposite state.
        assert_eq!(t.report("b", true, 1), vec![(0, 2, true), (1, 0, false)]);
        // A late or repeated report is ignored.
        assert!(t.report("b", false, 1).is_empty());
        assert_eq!(t.report("b", false, 2).len(), 2);
        assert!(t.report("other", true, 3).is_empty());
    }

    #[test]
    fn a_starting_unit_reads_the_states_then_ignores_older_reports() {
        let mut t = tracking();
        if let Ok(mut m) = t.states.write() {
            m.insert("b".into(), (4, true));
            m.insert("never".into(), (0, false));
        }
        let now = t.current();
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].0, "b");
        assert!(now[0].1);
        // The report of change 4 (or an older one) arrives after the read.
        assert!(t.report("b", true, 4).is_empty());
        assert!(t.report("b", false, 3).is_empty());
        assert_eq!(t.report("b", false, 5).len(), 2);
    }
}
