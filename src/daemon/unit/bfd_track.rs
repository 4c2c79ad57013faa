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
    /// The sequence number of the last report applied, per session.
    seen: HashMap<String, u64>,
    states: BfdStates,
}

impl BfdTracking {
    pub(super) fn new(plan: &UnitPlan) -> BfdTracking {
        let mut t = BfdTracking {
            trackers: HashMap::new(),
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
        for (i, inst) in plan.instances.iter().enumerate() {
            for (name, t, invert) in &inst.track_bfds {
                self.trackers
                    .entry(name.clone())
                    .or_default()
                    .push((i, *t, *invert));
            }
        }
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

    /// Every tracked session's current state, as reports (at start, and
    /// after a reload changed the trackers).
    pub(super) fn current(&mut self) -> Vec<(String, bool, Vec<TrackerUpdate>)> {
        let now: Vec<(String, (u64, bool))> = match self.states.read() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(_) => Vec::new(),
        };
        let mut out = Vec::new();
        for (name, (seq, up)) in now {
            self.seen.remove(&name);
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
