//! A unit's `track_file` feed: the values the track-file watcher keeps on
//! the bus, turned into [`Event::TrackFileChanged`] for the instances that
//! track each file.
//!
//! A watch channel rather than inbox messages: a unit started by a reload
//! reads the values as they are when it starts, so no change between the
//! reload's plan and the unit's start is lost. Owns only the mapping from
//! file names to trackers; the state machine decides what a value means.

use std::collections::HashMap;

use tokio::sync::watch;

use crate::daemon::bus::{Bus, TrackValues};
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
