//! Tracking: what moves an instance's priority or puts it in FAULT.
//!
//! keepalived's `track_interface`, `track_script` (over `vrrp_script`),
//! `track_bfd` (over `bfd_instance`), `track_file` and friends all reduce to the same thing for the state
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
//! A `track_file` is different: it carries a value, not a state. The
//! file's integer times the weight is added to the priority (negated with
//! `reverse`); at or below -254 the instance goes to FAULT; above 253 it
//! counts as 253; with weight 0 any nonzero value is FAULT (with
//! `reverse`, zero is). [`TrackFileParams::effect`] is that rule, as
//! keepalived 2.2.7 applies it (`vrrp_track.c`, `track_file.c`).
//!
//! Owns the weights, the file-value rule and rise/fall; no I/O: script
//! results, link states and file values come in from the daemon.

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

    /// A `track_bfd` entry as keepalived 2.2.7 applies it, and whether the
    /// session's state must be inverted before it is fed to the tracker.
    ///
    /// keepalived's `reverse` for BFD flips the sign of the weight, not
    /// the state: `weight 10 reverse` is −10 while the session is Up and
    /// 0 while it is down; `weight -10 reverse` is +10 while it is down;
    /// `weight 0 reverse` is FAULT while it is Up. That is a tracker of
    /// weight −W fed the opposite state. A session starts down (keepalived
    /// assumes so until its BFD process reports), so the tracker starts in
    /// the state a down session feeds it.
    pub fn for_bfd(name: impl Into<String>, weight: i16, reverse: bool) -> (TrackerParams, bool) {
        let (weight, invert) = if reverse {
            (-weight, true)
        } else {
            (weight, false)
        };
        let p = TrackerParams {
            name: name.into(),
            weight,
            reverse: false,
            initially_up: invert,
        };
        (p, invert)
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

/// A `track_file` as one instance tracks it (the file's own block, or the
/// instance's or sync group's `track_file { NAME weight W }` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackFileParams {
    /// The `track_file` block's name, for logs and status output.
    pub name: String,
    /// The multiplier, -254..=254; 0: a nonzero value means FAULT.
    pub weight: i32,
    /// `weight W reverse`: the product is negated (weight 0: a zero value
    /// means FAULT instead).
    pub reverse: bool,
    /// The value the file held when the instance was built (0 for a
    /// missing file, as keepalived reads one).
    pub initial_value: i64,
}

/// What a track file's value does to one tracking instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileEffect {
    /// The instance must be in FAULT.
    Fault,
    /// This is added to the base priority (-253..=253).
    Delta(i32),
}

/// The lowest product that is still a priority change; keepalived's
/// FAULT value is one below it (-254).
const FILE_DELTA_MIN: i64 = -253;
/// Products above this count as this (keepalived caps at 253, so that a
/// priority of 1 plus the delta stays below the owner's 255).
const FILE_DELTA_MAX: i64 = 253;

impl TrackFileParams {
    /// The effect of the file holding `value` (keepalived reads values from
    /// -2147483648 to 2147483648).
    pub fn effect(&self, value: i64) -> FileEffect {
        if self.weight == 0 {
            let fault = (value != 0) != self.reverse;
            return if fault {
                FileEffect::Fault
            } else {
                FileEffect::Delta(0)
            };
        }
        let sign = if self.reverse { -1 } else { 1 };
        let product = i128::from(value) * i128::from(self.weight) * sign;
        if product < i128::from(FILE_DELTA_MIN) {
            FileEffect::Fault
        } else {
            // In range after the check and the cap.
            FileEffect::Delta(product.min(i128::from(FILE_DELTA_MAX)) as i32)
        }
    }

    /// What the value adds to the priority (0 in FAULT).
    pub fn priority_delta(&self, value: i64) -> i32 {
        match self.effect(value) {
            FileEffect::Fault => 0,
            FileEffect::Delta(d) => d,
        }
    }

    /// Whether the value puts the instance in FAULT.
    pub fn faults(&self, value: i64) -> bool {
        self.effect(value) == FileEffect::Fault
    }
}

/// A `vrrp_track_process` as one instance tracks it. The process
/// tracker's quorum (its count of processes within `quorum..=quorum_max`)
/// is worked out by the daemon; here it is only up or down, weighed as
/// keepalived 2.2.7 weighs it (`vrrp_track.c`,
/// `process_update_track_process_status`): `reverse` negates the weight
/// (and, with weight 0, makes quorum the FAULT condition); a positive
/// weight is added while there is quorum, a negative one while there is
/// not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackProcessParams {
    /// The `vrrp_track_process` block's name.
    pub name: String,
    /// -254..=254; 0: no quorum (with `reverse`: quorum) means FAULT.
    pub weight: i32,
    pub reverse: bool,
    /// Quorum as the daemon saw it when the instance was built.
    pub initially_up: bool,
}

impl TrackProcessParams {
    /// Whether quorum `up` puts the instance in FAULT.
    pub fn faults(&self, up: bool) -> bool {
        self.weight == 0 && up == self.reverse
    }

    /// What quorum `up` adds to the priority.
    pub fn priority_delta(&self, up: bool) -> i32 {
        let signed = if self.reverse {
            -self.weight
        } else {
            self.weight
        };
        if self.weight != 0 && up == (self.weight > 0) {
            signed
        } else {
            0
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

    fn file(weight: i32, reverse: bool) -> TrackFileParams {
        TrackFileParams {
            name: "tf".into(),
            weight,
            reverse,
            initial_value: 0,
        }
    }

    #[test]
    fn a_file_value_times_its_weight_moves_the_priority() {
        assert_eq!(file(1, false).effect(20), FileEffect::Delta(20));
        assert_eq!(file(10, false).effect(-3), FileEffect::Delta(-30));
        assert_eq!(file(10, true).effect(-3), FileEffect::Delta(30));
        assert_eq!(file(-10, false).effect(2), FileEffect::Delta(-20));
        // Capped at 253 above; FAULT at -254 and below.
        assert_eq!(file(1, false).effect(1000), FileEffect::Delta(253));
        assert_eq!(file(1, false).effect(-253), FileEffect::Delta(-253));
        assert_eq!(file(1, false).effect(-254), FileEffect::Fault);
        assert_eq!(file(254, false).effect(-1), FileEffect::Fault);
        assert_eq!(
            file(254, false).effect(i64::from(i32::MIN)),
            FileEffect::Fault
        );
        assert_eq!(
            file(254, true).effect(i64::from(i32::MIN)),
            FileEffect::Delta(253)
        );
        assert_eq!(file(3, false).priority_delta(-100), 0);
        assert!(file(3, false).faults(-100));
    }

    #[test]
    fn weight_0_file_faults_on_nonzero_or_with_reverse_on_zero() {
        assert_eq!(file(0, false).effect(0), FileEffect::Delta(0));
        assert_eq!(file(0, false).effect(5), FileEffect::Fault);
        assert_eq!(file(0, false).effect(-5), FileEffect::Fault);
        assert_eq!(file(0, true).effect(0), FileEffect::Fault);
        assert_eq!(file(0, true).effect(7), FileEffect::Delta(0));
    }

    /// keepalived's table for track_bfd (keepalived.conf(5), "weight"):
    /// the priority change while the session is Up and while it is down.
    #[test]
    fn bfd_weights_follow_keepalived() {
        let effect = |w: i16, rev: bool, session_up: bool| {
            let (t, invert) = TrackerParams::for_bfd("b", w, rev);
            let fed = session_up != invert;
            (t.faults(fed), t.priority_delta(fed))
        };
        // weight  reverse  Up      down
        assert_eq!(effect(10, false, true), (false, 10));
        assert_eq!(effect(10, false, false), (false, 0));
        assert_eq!(effect(-10, false, true), (false, 0));
        assert_eq!(effect(-10, false, false), (false, -10));
        assert_eq!(effect(10, true, true), (false, -10));
        assert_eq!(effect(10, true, false), (false, 0));
        assert_eq!(effect(-10, true, true), (false, 0));
        assert_eq!(effect(-10, true, false), (false, 10));
        // weight 0: FAULT while down; reversed, FAULT while Up.
        assert_eq!(effect(0, false, false), (true, 0));
        assert_eq!(effect(0, false, true), (false, 0));
        assert_eq!(effect(0, true, true), (true, 0));
        assert_eq!(effect(0, true, false), (false, 0));
        // The tracker starts as a down session feeds it.
        let (t, invert) = TrackerParams::for_bfd("b", 0, false);
        assert_eq!(t.initially_up, invert);
        let (t, invert) = TrackerParams::for_bfd("b", 0, true);
        assert_eq!(t.initially_up, invert);
    }

    fn process(weight: i32, reverse: bool) -> TrackProcessParams {
        TrackProcessParams {
            name: "tp".into(),
            weight,
            reverse,
            initially_up: false,
        }
    }

    #[test]
    fn a_process_weighs_as_keepalived_weighs_it() {
        // weight 0: FAULT without quorum; reversed, FAULT with it.
        assert!(process(0, false).faults(false));
        assert!(!process(0, false).faults(true));
        assert!(process(0, true).faults(true));
        assert!(!process(0, true).faults(false));
        assert!(!process(10, false).faults(false));
        // A positive weight counts with quorum, a negative one without;
        // reverse negates the weight, not the condition.
        assert_eq!(process(10, false).priority_delta(true), 10);
        assert_eq!(process(10, false).priority_delta(false), 0);
        assert_eq!(process(-10, false).priority_delta(false), -10);
        assert_eq!(process(-10, false).priority_delta(true), 0);
        assert_eq!(process(10, true).priority_delta(true), -10);
        assert_eq!(process(10, true).priority_delta(false), 0);
        assert_eq!(process(-10, true).priority_delta(false), 10);
        assert_eq!(process(0, false).priority_delta(false), 0);
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
