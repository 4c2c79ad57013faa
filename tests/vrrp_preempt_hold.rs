//! The caught-up preemption gate (`Event::PreemptHold`), driven with
//! explicit times: a backup that outranks its master waits until the time
//! the daemon says its backup sync daemon has caught up (`lvs_sync_daemon`,
//! docs/ipvs.md), and a takeover from a master that is gone is never
//! delayed.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tandem::vrrp::{Action, Auth, Event, Instance, Params, Reason, Router, State, Time, VrrpRepr};

const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn params(name: &str, vrid: u8) -> Params {
    let mut p = Params::new(name, vrid, ME);
    p.version = tandem::vrrp::Version::V3;
    p.priority = 200;
    p.vips = vec![VIP];
    p.garp_master_delay = None;
    p
}

fn advert(vrid: u8, priority: u8) -> VrrpRepr {
    VrrpRepr {
        version: tandem::vrrp::Version::V3,
        vrid,
        priority,
        max_adver_int: 100,
        auth: Auth::None,
        addresses: vec![VIP],
    }
}

/// What a run saw: when the instance became master and why, and the
/// holds it reported.
#[derive(Debug, Default)]
struct Run {
    master_at: Option<(u64, Reason)>,
    held: Vec<(u64, Time)>,
    held_until_seen: Option<Time>,
}

/// A backup started at 0 with `hold` (given before Startup, as the daemon
/// does), hearing a priority-100 master every second until `silent_from`
/// (ms; then nothing, or a priority-0 advert with `leaves`), stepped in
/// 10 ms, until it is master or 60 s passed.
fn run(p: Params, hold: Option<Time>, silent_from: u64, leaves: bool) -> Run {
    let mut i = Instance::new(p, t(0)).unwrap();
    i.handle(t(0), Event::PreemptHold { until: hold }).unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    let mut r = Run::default();
    for ms in (0..60_000).step_by(10) {
        let now = t(ms);
        if ms % 1000 == 0 && ms < silent_from {
            let a = advert(51, 100);
            i.handle(
                now,
                Event::AdvertReceived {
                    src: PEER,
                    advert: a,
                },
            )
            .unwrap();
        } else if ms == silent_from && leaves {
            let a = advert(51, 0);
            i.handle(
                now,
                Event::AdvertReceived {
                    src: PEER,
                    advert: a,
                },
            )
            .unwrap();
        }
        if i.poll_timeout().is_some_and(|at| at <= now) {
            i.handle(now, Event::Timer).unwrap();
        }
        r.held_until_seen = r.held_until_seen.or(i.preempt_held_until());
        while let Some(a) = i.poll_action() {
            match a {
                Action::PreemptHeld { until } => r.held.push((ms, until)),
                Action::StateChanged {
                    to: State::Master,
                    reason,
                    ..
                } => r.master_at = Some((ms, reason)),
                _ => {}
            }
        }
        if r.master_at.is_some() {
            break;
        }
    }
    r
}

#[test]
fn a_preemption_waits_for_the_hold_and_happens_once_it_is_over() {
    let r = run(params("VI_1", 51), Some(t(20_000)), u64::MAX, false);
    let (at, reason) = r.master_at.expect("never preempted");
    assert_eq!(reason, Reason::Preempt);
    // Held until 20 s, then one Master_Down_Interval (3.2 s at priority
    // 200) after the last advert it accepted.
    assert!((20_000..=24_000).contains(&at), "preempted at {at} ms");
    assert_eq!(r.held, vec![(0, t(20_000))], "reported once, at once");
    assert_eq!(r.held_until_seen, Some(t(20_000)), "the status shows it");
}

#[test]
fn without_a_hold_it_preempts_as_before() {
    let r = run(params("VI_1", 51), None, u64::MAX, false);
    let (at, reason) = r.master_at.expect("never preempted");
    assert_eq!(reason, Reason::Preempt);
    assert!(at <= 4_000, "preempted at {at} ms");
    assert!(r.held.is_empty());
    assert_eq!(r.held_until_seen, None);
}

#[test]
fn a_master_that_goes_silent_is_taken_over_at_once_whatever_the_hold() {
    let r = run(params("VI_1", 51), Some(t(50_000)), 5_000, false);
    let (at, reason) = r.master_at.expect("never took over");
    assert_eq!(reason, Reason::MasterDown);
    // The last advert at 4 s, then Master_Down_Interval.
    assert!((7_000..=7_400).contains(&at), "took over at {at} ms");
}

#[test]
fn a_master_that_leaves_with_priority_0_is_taken_over_after_skew_only() {
    let r = run(params("VI_1", 51), Some(t(50_000)), 5_000, true);
    let (at, reason) = r.master_at.expect("never took over");
    assert_eq!(reason, Reason::MasterLeft);
    assert!((5_000..=5_500).contains(&at), "took over at {at} ms");
}

#[test]
fn a_longer_preempt_delay_wins_over_the_hold() {
    let mut p = params("VI_1", 51);
    p.preempt_delay = Duration::from_secs(15);
    let r = run(p, Some(t(5_000)), u64::MAX, false);
    let (at, _) = r.master_at.expect("never preempted");
    assert!((15_000..=19_000).contains(&at), "preempted at {at} ms");
    assert!(
        r.held.is_empty(),
        "preempt_delay, not the sync, is the reason"
    );
}

#[test]
fn a_longer_hold_wins_over_preempt_delay() {
    let mut p = params("VI_1", 51);
    p.preempt_delay = Duration::from_secs(5);
    let r = run(p, Some(t(15_000)), u64::MAX, false);
    let (at, _) = r.master_at.expect("never preempted");
    assert!((15_000..=19_000).contains(&at), "preempted at {at} ms");
    assert_eq!(r.held.len(), 1);
}

#[test]
fn nopreempt_is_not_changed_by_a_hold() {
    let mut p = params("VI_1", 51);
    p.preempt = false;
    let r = run(p, Some(t(5_000)), u64::MAX, false);
    assert_eq!(r.master_at, None);
    assert!(r.held.is_empty());
}

#[test]
fn a_hold_cleared_or_moved_applies_from_the_next_advert() {
    let mut i = Instance::new(params("VI_1", 51), t(0)).unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    i.handle(
        t(0),
        Event::PreemptHold {
            until: Some(t(60_000)),
        },
    )
    .unwrap();
    let held = |i: &mut Instance| {
        std::iter::from_fn(|| i.poll_action())
            .filter(|a| matches!(a, Action::PreemptHeld { .. }))
            .count()
    };
    let mut ms = 0;
    for _ in 0..5 {
        let a = advert(51, 100);
        i.handle(
            t(ms),
            Event::AdvertReceived {
                src: PEER,
                advert: a,
            },
        )
        .unwrap();
        ms += 1000;
    }
    assert_eq!(held(&mut i), 1);
    assert_eq!(i.preempt_held_until(), Some(t(60_000)));
    // The sync task moved the hold (its backup daemon restarted): reported
    // again with the new end.
    i.handle(
        t(ms),
        Event::PreemptHold {
            until: Some(t(70_000)),
        },
    )
    .unwrap();
    let a = advert(51, 100);
    i.handle(
        t(ms),
        Event::AdvertReceived {
            src: PEER,
            advert: a,
        },
    )
    .unwrap();
    assert_eq!(held(&mut i), 1);
    // No hold any more: the next advert is discarded and the down timer
    // runs out.
    i.handle(t(ms), Event::PreemptHold { until: None }).unwrap();
    ms += 1000;
    let a = advert(51, 100);
    i.handle(
        t(ms),
        Event::AdvertReceived {
            src: PEER,
            advert: a,
        },
    )
    .unwrap();
    assert_eq!(i.preempt_held_until(), None);
    let at = i.poll_timeout().unwrap();
    i.handle(at, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
}

#[test]
fn a_sync_group_preempts_together_once_every_held_member_is_free() {
    let mut r = Router::new(
        vec![params("VI_OUT", 51), params("VI_IN", 52)],
        vec![vec![0, 1]],
        t(0),
    )
    .unwrap();
    // As the unit does it: the hold goes to every member of the group.
    for id in 0..2 {
        r.handle(
            t(0),
            id,
            Event::PreemptHold {
                until: Some(t(10_000)),
            },
        )
        .unwrap();
        r.handle(t(0), id, Event::Startup).unwrap();
    }
    let mut master_at = None;
    for ms in (0..40_000).step_by(10) {
        let now = t(ms);
        if ms % 1000 == 0 {
            for (id, vrid) in [(0, 51), (1, 52)] {
                let a = advert(vrid, 100);
                r.handle(
                    now,
                    id,
                    Event::AdvertReceived {
                        src: PEER,
                        advert: a,
                    },
                )
                .unwrap();
            }
        }
        if r.poll_timeout().is_some_and(|at| at <= now) {
            r.handle_timeout(now);
        }
        while r.poll_action().is_some() {}
        if r.instances().iter().all(|i| i.state() == State::Master) {
            master_at = Some(ms);
            break;
        }
        assert!(
            r.instances().iter().all(|i| i.state() == State::Backup),
            "the group split at {ms} ms"
        );
    }
    let at = master_at.expect("the group never preempted");
    assert!((10_000..=14_000).contains(&at), "preempted at {at} ms");
}
