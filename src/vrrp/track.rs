//! Tracking: what moves an instance's priority or puts it in FAULT.
//!
//! keepalived's `track_interface`, `track_script` (over `vrrp_script`),
//! `track_file` and friends all reduce to the same thing for the state
//! machine: a tracked object that is up or down, with a weight.
//!
//! - weight 0: the object being down puts the instance in FAULT;
//! - weight > 0: added to the priority while the object is up;
//! - weight < 0: added (i.e. subtracted) while the object is down;
//! - `reverse` swaps up and down for the purpose of the weight.
//!
//! The effective priority stays within 1..=254; an address owner (255)
//! keeps 255 whatever its trackers say (keepalived does the same: the owner
//! of the addresses must always win).
//!
//! `vrrp_script`'s `rise` / `fall` are a property of the script, shared by
//! every instance tracking it, so they live in [`ScriptState`], which the
//! daemon keeps once per script and feeds with each run's result. When
//! [`ScriptState::record`] reports a change, the daemon sends
//! [`crate::vrrp::Event::TrackerChanged`] to each tracking instance.
//!
//! Owns the weights and rise/fall rules; no I/O: script results and link
//! states come in from the daemon.

use serde::Serialize;

/// One tracked object as an instance sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackerParams {
    /// For logs and status output: the interface or script name.
    pub name: String,
    /// keepalived's `weight`, -254..=254.
    pub weight: i16,
    /// keepalived's `weight ... reverse`.
    pub reverse: bool,
    /// The state assumed until the first report (keepalived starts scripts
    /// as up unless `init_fail`; interfaces as their link state).
    pub initially_up: bool,
}

impl TrackerParams {
    /// A weight-0 tracker: down means FAULT.
    pub fn fault_on_down(name: impl Into<String>) -> TrackerParams {
        TrackerParams {
            name: name.into(),
            weight: 0,
            reverse: false,
            initially_up: true,
        }
    }

    /// Whether this tracker, in state `up`, puts the instance in FAULT.
    pub fn faults(&self, up: bool) -> bool {
        self.weight == 0 && !up
    }

    /// What this tracker adds to the priority in state `up`.
    pub fn priority_delta(&self, up: bool) -> i32 {
        let up = up != self.reverse;
        let w = i32::from(self.weight);
        match (w > 0, up) {
            (true, true) => w,
            (false, false) => w,
            _ => 0,
        }
    }
}

/// The priority an instance advertises: base plus tracker weights, clamped
/// to 1..=254, except that an owner (255) stays 255.
pub fn effective_priority(base: u8, deltas: impl IntoIterator<Item = i32>) -> u8 {
    if base == 255 {
        return 255;
    }
    let sum: i32 = i32::from(base) + deltas.into_iter().sum::<i32>();
    sum.clamp(1, 254) as u8
}

/// Rise / fall debouncing of a `vrrp_script`: the script counts as up after
/// `rise` consecutive successes and as down after `fall` consecutive
/// failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptState {
    rise: u32,
    fall: u32,
    up: bool,
    /// Consecutive results disagreeing with `up`.
    streak: u32,
}

impl ScriptState {
    /// `rise` and `fall` below 1 are taken as 1 (keepalived's default).
    pub fn new(rise: u32, fall: u32, initially_up: bool) -> ScriptState {
        ScriptState {
            rise: rise.max(1),
            fall: fall.max(1),
            up: initially_up,
            streak: 0,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Feeds one run's result; returns the new state if it changed.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let need = if success { self.rise } else { self.fall };
        if self.streak >= need {
            self.up = success;
            self.streak = 0;
            Some(self.up)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_clamp_within_1_to_254() {
        assert_eq!(effective_priority(100, [50]), 150);
        assert_eq!(effective_priority(250, [50]), 254);
        assert_eq!(effective_priority(20, [-50]), 1);
        assert_eq!(effective_priority(100, [-30, 10]), 80);
    }

    #[test]
    fn owner_priority_ignores_weights() {
        assert_eq!(effective_priority(255, [-100]), 255);
        assert_eq!(effective_priority(255, [10]), 255);
    }

    #[test]
    fn weight_sign_decides_when_it_applies() {
        let plus = TrackerParams {
            name: "chk".into(),
            weight: 20,
            reverse: false,
            initially_up: true,
        };
        assert_eq!(plus.priority_delta(true), 20);
        assert_eq!(plus.priority_delta(false), 0);
        let minus = TrackerParams {
            weight: -20,
            ..plus.clone()
        };
        assert_eq!(minus.priority_delta(true), 0);
        assert_eq!(minus.priority_delta(false), -20);
        let rev = TrackerParams {
            reverse: true,
            ..minus.clone()
        };
        assert_eq!(rev.priority_delta(true), -20);
        assert!(!minus.faults(false));
        assert!(TrackerParams::fault_on_down("eth0").faults(false));
        assert!(!TrackerParams::fault_on_down("eth0").faults(true));
    }

    #[test]
    fn rise_and_fall_debounce() {
        let mut s = ScriptState::new(2, 3, true);
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(true), None); // streak broken
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(false), None);
        assert_eq!(s.record(false), Some(false));
        assert!(!s.is_up());
        assert_eq!(s.record(true), None);
        assert_eq!(s.record(true), Some(true));
    }
}
