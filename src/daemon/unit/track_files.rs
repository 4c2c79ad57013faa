//! A unit's `track_file` and `track_process` feeds: the values the
//! track-file watcher and the quorums the process monitor keep on the
//! bus, turned into [`Event::TrackFileChanged`] and
//! [`Event::TrackProcessChanged`] for the instances that track each.
//!
//! A watch channel rather than inbox messages: a unit started by a reload
//! reads the values as they are when it starts, so no change between the
//! reload's plan and the unit's start is lost. Owns only the mapping from
//! file names to trackers; the state machine decides what a value means.

use std::collections::HashMap;

use tokio::sync::watch;

use crate::daemon::bus::{Bus, ProcessQuorums, TrackValues};
use crate::daemon::plan::UnitPlan;
use crate::vrrp::Event;

/// Which instances track which file, and the values' channel.
pub(super) struct FileFeed {
    pub(super) rx: watch::Receiver<TrackValues>,
    /// track_file name → (instance index, index in its `track_files`).
    targets: HashMap<String, Vec<(usize, usize)>>,
}

fn targets(plan: &UnitPlan) -> HashMap<String, Vec<(usize, usize)>> {
    let mut targets: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (i, inst) in plan.instances.iter().enumerate() {
        for (name, t) in &inst.track_files {
            targets.entry(name.clone()).or_default().push((i, *t));
        }
    }
    targets
}

impl FileFeed {
    pub(super) fn new(plan: &UnitPlan, bus: &Bus) -> FileFeed {
        FileFeed {
            rx: bus.track_files(),
            targets: targets(plan),
        }
    }

    /// A reload's plan (same trackers, maybe other weights).
    pub(super) fn replan(&mut self, plan: &UnitPlan) {
        self.targets = targets(plan);
    }

    /// The current value of every tracked file, as events (an instance
    /// ignores a value it already has).
    pub(super) fn events(&mut self) -> Vec<(usize, Event)> {
        let values = self.rx.borrow_and_update().clone();
        let mut out = Vec::new();
        for (name, list) in &self.targets {
            let value = values.get(name).copied().unwrap_or(0);
            for &(id, file) in list {
                out.push((id, Event::TrackFileChanged { file, value }));
            }
        }
        out
    }
}

/// Which instances track which process, and the quorums' channel.
pub(super) struct ProcessFeed {
    pub(super) rx: watch::Receiver<ProcessQuorums>,
    /// vrrp_track_process name → (instance index, index in its
    /// `track_processes`).
    targets: HashMap<String, Vec<(usize, usize)>>,
}

fn process_targets(plan: &UnitPlan) -> HashMap<String, Vec<(usize, usize)>> {
    let mut targets: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (i, inst) in plan.instances.iter().enumerate() {
        for (name, t) in &inst.track_processes {
            targets.entry(name.clone()).or_default().push((i, *t));
        }
    }
    targets
}

impl ProcessFeed {
    pub(super) fn new(plan: &UnitPlan, bus: &Bus) -> ProcessFeed {
        ProcessFeed {
            rx: bus.process_quorums(),
            targets: process_targets(plan),
        }
    }

    pub(super) fn replan(&mut self, plan: &UnitPlan) {
        self.targets = process_targets(plan);
    }

    /// Every tracked process's quorum now, as events (an instance ignores
    /// a quorum it already has). A process the monitor does not know has
    /// none.
    pub(super) fn events(&mut self) -> Vec<(usize, Event)> {
        let quorums = self.rx.borrow_and_update().clone();
        let mut out = Vec::new();
        for (name, list) in &self.targets {
            let up = quorums.get(name).copied().unwrap_or(false);
            for &(id, process) in list {
                out.push((id, Event::TrackProcessChanged { process, up }));
            }
        }
        out
    }
}

/// Waits for a new track-file value or process quorum (an error once a
/// sender is gone: both live as long as the bus).
pub(super) async fn either_changed(
    files: &mut watch::Receiver<TrackValues>,
    procs: &mut watch::Receiver<ProcessQuorums>,
) -> Result<(), watch::error::RecvError> {
    tokio::select! {
        r = files.changed() => r,
        r = procs.changed() => r,
    }
}
