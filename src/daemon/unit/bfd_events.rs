//! What a unit does when a BFD session it follows changes: moves its
//! `track_bfd` trackers (keepalived's meaning), and for a `tandem_takeover`
//! entry tells the instance [`Event::PeerDown`] (tandem's own rule,
//! docs/vrrp.md "BFD"). The bookkeeping of which report is news is
//! `bfd_track`'s; the state machine decides whether to take over.

use crate::vrrp::{Event, State, Time};

use super::Unit;

/// The unit's side of BFD: moving the trackers, and `tandem_takeover`.
impl Unit {
    /// Feed the trackers what the BFD task says now.
    pub(super) fn apply_bfd_states(&mut self, now: Time) {
        for (name, up, moves) in self.bfd.current() {
            self.move_bfd_trackers(now, &name, up, moves);
        }
    }

    pub(super) fn move_bfd_trackers(
        &mut self,
        now: Time,
        name: &str,
        up: bool,
        moves: Vec<(usize, usize, bool)>,
    ) {
        for (id, tracker, fed) in moves {
            tracing::info!(
                instance = %self.io[id].plan.name, bfd = %name, up,
                "VRRP_Instance({}) Tracked BFD instance {} is {}", self.io[id].plan.name, name,
                if up { "UP" } else { "DOWN" }
            );
            let _ = self
                .router
                .handle(now, id, Event::TrackerChanged { tracker, up: fed });
        }
    }

    /// `tandem_takeover`: session `name` left Up; each instance with such
    /// an entry for it hears [`Event::PeerDown`] (after its trackers
    /// moved, so a takeover advertises the new priority).
    pub(super) fn bfd_takeovers(&mut self, now: Time, name: &str) {
        for &(id, peer) in self.bfd.takeovers(name) {
            let Some(inst) = self.router.instance(id) else {
                continue;
            };
            let master = inst.master().map(|(a, _)| a);
            let vi = &self.io[id].plan.name;
            match master {
                Some(m) if m == peer && inst.state() == State::Backup => tracing::warn!(
                    instance = %vi, bfd = %name, %peer,
                    "VRRP_Instance({vi}) BFD instance {name} to the master {peer} is down: taking over (tandem_takeover)"
                ),
                Some(m) if inst.state() == State::Backup => tracing::warn!(
                    instance = %vi, bfd = %name, %peer, master = %m,
                    "VRRP_Instance({vi}) BFD instance {name} to {peer} is down, but the master is {m}: no takeover"
                ),
                _ => {}
            }
            let _ = self.router.handle(now, id, Event::PeerDown { peer });
        }
    }
}
