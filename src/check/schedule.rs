//! When to probe next and when a result changes a checker's verdict.
//!
//! Sans-IO: the runner tells [`CheckSchedule`] what a probe found and gets
//! back how long to wait and, if the verdict changed, a [`Report`]. Time is
//! only ever a `Duration` handed in or out, so the rules are tested here with
//! a virtual clock.
//!
//! The rules are keepalived's (keepalived.conf(5), "retry"):
//! - a pass of a server that is down brings it up at once; a pass of an up
//!   server changes nothing; after any pass the next probe is `delay_loop`
//!   later;
//! - a failure of a server that is up is retried `retry` times,
//!   `delay_before_retry` apart; only when the last retry fails too is the
//!   server declared down (so down after `retry + 1` consecutive failures);
//! - a failure of a server already down is not retried: next probe after
//!   `delay_loop`;
//! - with `alpha` the server starts down, otherwise up;
//! - the first probe waits a random part of `warmup`.
//!
//! Owns the retry rules; may not probe, sleep or read a clock.

use std::time::Duration;

use super::spec::CheckTiming;

/// A change of a checker's verdict, for the virtual-server logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The checker passes now (it failed, or never ran under `alpha`).
    Up,
    /// The checker failed `retry + 1` times in a row.
    Down,
    /// `misc_dynamic`: the checker passes and asks for this weight.
    Weight(u32),
}

/// What the runner does after feeding in a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Wait this long before the next probe.
    pub next: Duration,
    /// Verdict changes, in order (a dynamic weight may come with `Up`).
    pub reports: Vec<Report>,
}

/// The verdict and retry count of one checker.
#[derive(Debug, Clone)]
pub struct CheckSchedule {
    timing: CheckTiming,
    up: bool,
    /// Failures since the last pass while the server was up (keepalived's
    /// `retry_it`).
    retry_it: u32,
    /// The weight last asked for by `misc_dynamic`.
    weight: Option<u32>,
}

impl CheckSchedule {
    pub fn new(timing: CheckTiming) -> Self {
        Self {
            timing,
            up: !timing.alpha,
            retry_it: 0,
            weight: None,
        }
    }

    /// A schedule that starts from a verdict already known: a reload keeps
    /// the up/down state of a checker whose spec did not change.
    pub fn starting(timing: CheckTiming, up: bool) -> Self {
        Self {
            up,
            ..Self::new(timing)
        }
    }

    /// Whether the checker currently passes.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Delay before the first probe: `warmup * random`, with `random` in
    /// `[0, 1)` supplied by the caller (so tests are deterministic).
    pub fn first_delay(&self, random: f64) -> Duration {
        let r = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.timing.warmup.mul_f64(r)
    }

    /// A probe passed; `weight` is `Some` for a `misc_dynamic` exit 2..=255.
    pub fn on_pass(&mut self, weight: Option<u32>) -> Step {
        let mut reports = Vec::new();
        self.retry_it = 0;
        if !self.up {
            self.up = true;
            reports.push(Report::Up);
        }
        if let Some(w) = weight
            && self.weight != Some(w)
        {
            self.weight = Some(w);
            reports.push(Report::Weight(w));
        }
        Step {
            next: self.timing.delay_loop,
            reports,
        }
    }

    /// A probe failed.
    pub fn on_fail(&mut self) -> Step {
        if self.up && self.retry_it < self.timing.retry {
            self.retry_it += 1;
            return Step {
                next: self.timing.delay_before_retry,
                reports: Vec::new(),
            };
        }
        self.retry_it = 0;
        let mut reports = Vec::new();
        if self.up {
            self.up = false;
            reports.push(Report::Down);
        }
        Step {
            next: self.timing.delay_loop,
            reports,
        }
    }
}

/// How finely the checkers' wake-ups are placed in time: every probe
/// starts on a multiple of this since the checkers started.
///
/// Why: 1,000 real servers at `delay_loop 1` are 1,000 probes a second. Each
/// on its own millisecond means the checker thread sleeps and wakes once per
/// probe, and the wake-up (a timer interrupt, the scheduler, epoll_wait
/// and the clock read around it) cost as much as the probe's own socket
/// work. Probes that start in the same slot share one wake-up, and their
/// connects, writes and reads are then reported by the same epoll_wait
/// calls. Ten milliseconds is 1 % of the shortest `delay_loop` (1 s) and
/// far below anyone's failover budget; rounding to the nearest slot keeps
/// the average interval what was configured.
pub const WAKE_SLOT: Duration = Duration::from_millis(10);

/// When to wake for a probe due at `due` (time since the checkers
/// started): the nearest multiple of `slot`, never before `now`.
pub fn wake_slot(due: Duration, now: Duration, slot: Duration) -> Duration {
    let slot_ns = slot.as_nanos();
    if slot_ns == 0 {
        return due.max(now);
    }
    let nearest = (due.as_nanos() + slot_ns / 2) / slot_ns * slot_ns;
    let nearest = Duration::from_nanos(u64::try_from(nearest).unwrap_or(u64::MAX));
    if nearest >= now {
        nearest
    } else {
        // Rounding down went into the past: the next slot after now.
        let up = now.as_nanos().div_ceil(slot_ns) * slot_ns;
        Duration::from_nanos(u64::try_from(up).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(retry: u32, alpha: bool) -> CheckTiming {
        CheckTiming {
            delay_loop: Duration::from_secs(5),
            retry,
            delay_before_retry: Duration::from_secs(3),
            warmup: Duration::from_secs(5),
            alpha,
            log_all_failures: false,
        }
    }

    /// Drive a schedule with a virtual clock against a server whose health
    /// is a function of time; return (time, report) for every report.
    fn simulate(
        timing: CheckTiming,
        healthy: impl Fn(Duration) -> bool,
        until: Duration,
    ) -> Vec<(Duration, Report)> {
        let mut s = CheckSchedule::new(timing);
        let mut now = s.first_delay(0.0);
        let mut out = Vec::new();
        while now <= until {
            let step = if healthy(now) {
                s.on_pass(None)
            } else {
                s.on_fail()
            };
            out.extend(step.reports.iter().map(|r| (now, *r)));
            now += step.next;
        }
        out
    }

    #[test]
    fn seed_timing_down_after_retries_and_up_on_first_pass() {
        // The seed: delay_loop 5, nb_get_retry 3, delay_before_retry 3.
        // Server dies at t=12: probes at 0,5,10 pass, 15 fails, retries at
        // 18, 21, 24 fail -> down at 24 (3 retries after the first failure).
        // It returns at t=40: probes at 29, 34, 39 fail without retries
        // (already down), 44 passes -> up at 44.
        let t = timing(3, false);
        let healthy = |now: Duration| !(12..40).contains(&now.as_secs());
        let got = simulate(t, healthy, Duration::from_secs(60));
        assert_eq!(
            got,
            vec![
                (Duration::from_secs(24), Report::Down),
                (Duration::from_secs(44), Report::Up)
            ]
        );
    }

    #[test]
    fn a_single_failure_within_retry_changes_nothing() {
        let t = timing(1, false);
        // Fails only at t=5; the retry at 8 passes.
        let got = simulate(t, |now| now.as_secs() != 5, Duration::from_secs(60));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn retry_zero_is_down_on_first_failure() {
        let t = timing(0, false);
        let got = simulate(t, |now| now.as_secs() < 5, Duration::from_secs(6));
        assert_eq!(got, vec![(Duration::from_secs(5), Report::Down)]);
    }

    #[test]
    fn alpha_starts_down_and_reports_up_on_first_pass() {
        let mut s = CheckSchedule::new(timing(3, true));
        assert!(!s.is_up());
        // A failure while down is not retried and reports nothing.
        let step = s.on_fail();
        assert_eq!(step.next, Duration::from_secs(5));
        assert!(step.reports.is_empty());
        let step = s.on_pass(None);
        assert_eq!(step.reports, vec![Report::Up]);
        assert!(s.is_up());
    }

    #[test]
    fn without_alpha_first_pass_reports_nothing() {
        let mut s = CheckSchedule::new(timing(3, false));
        assert!(s.is_up());
        assert!(s.on_pass(None).reports.is_empty());
    }

    #[test]
    fn dynamic_weight_reported_on_change_only() {
        let mut s = CheckSchedule::new(timing(0, false));
        assert_eq!(s.on_pass(Some(8)).reports, vec![Report::Weight(8)]);
        assert!(s.on_pass(Some(8)).reports.is_empty());
        assert!(s.on_pass(None).reports.is_empty());
        assert_eq!(s.on_pass(Some(3)).reports, vec![Report::Weight(3)]);
        assert_eq!(s.on_fail().reports, vec![Report::Down]);
        assert_eq!(s.on_pass(Some(3)).reports, vec![Report::Up]);
    }

    #[test]
    fn warmup_spreads_first_probe() {
        let s = CheckSchedule::new(timing(0, false));
        assert_eq!(s.first_delay(0.0), Duration::ZERO);
        assert_eq!(s.first_delay(0.5), Duration::from_millis(2500));
        assert!(s.first_delay(0.999) < Duration::from_secs(5));
        assert_eq!(s.first_delay(f64::NAN), Duration::ZERO);
        let mut t = timing(0, false);
        t.warmup = Duration::ZERO;
        assert_eq!(CheckSchedule::new(t).first_delay(0.7), Duration::ZERO);
    }

    #[test]
    fn probes_wake_on_the_nearest_slot_never_in_the_past() {
        let ms = Duration::from_millis;
        let slot = ms(10);
        // Rounded to the nearest slot: on average the configured interval.
        assert_eq!(wake_slot(ms(1004), ms(4), slot), ms(1000));
        assert_eq!(wake_slot(ms(1005), ms(5), slot), ms(1010));
        assert_eq!(wake_slot(ms(1000), ms(0), slot), ms(1000));
        // Never before now: the next slot instead.
        assert_eq!(wake_slot(ms(13), ms(12), slot), ms(20));
        assert_eq!(wake_slot(ms(20), ms(20), slot), ms(20));
        // Many probes due within one slot share one wake-up.
        let wakes: std::collections::BTreeSet<_> = (0..100)
            .map(|i| wake_slot(ms(2000) + Duration::from_micros(i * 95), ms(1000), slot))
            .collect();
        assert_eq!(wakes.len(), 2);
        // No slot: exactly when due.
        assert_eq!(wake_slot(ms(7), ms(3), Duration::ZERO), ms(7));
    }
}
