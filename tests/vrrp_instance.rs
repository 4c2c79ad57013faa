//! The VRRP state machine, one behaviour per test, driven with explicit
//! times and events: what a user would see on the wire and on the
//! interface (adverts, VIPs, gratuitous ARP, notify) for each RFC 5798 §6.4
//! rule and each keepalived deviation.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use tandem::vrrp::{
    Action, Auth, Event, InitialState, Instance, NewMasterReason, Params, Reason, ReconfigureError,
    Router, RxError, State, Time, TrackerParams, Version, VrrpRepr,
};

const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const LOWER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5));
const HIGHER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn params(version: Version, priority: u8) -> Params {
    let mut p = Params::new("VI_1", 51, ME);
    p.version = version;
    p.priority = priority;
    p.vips = vec![VIP];
    p.garp_master_delay = None;
    p
}

fn advert(version: Version, priority: u8, interval_cs: u16) -> VrrpRepr {
    VrrpRepr {
        version,
        vrid: 51,
        priority,
        max_adver_int: interval_cs,
        auth: Auth::None,
        addresses: vec![VIP],
    }
}

fn rx(inst: &mut Instance, now: Time, src: IpAddr, a: VrrpRepr) -> Result<(), RxError> {
    inst.handle(now, Event::AdvertReceived { src, advert: a })
}

/// Drains the action queue, leaving out timer bookkeeping.
fn actions(inst: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| inst.poll_action())
        .filter(|a| !matches!(a, Action::SetTimer { .. }))
        .collect()
}

fn started(p: Params, now: Time) -> Instance {
    let mut i = Instance::new(p, now).unwrap();
    i.handle(now, Event::Startup).unwrap();
    actions(&mut i);
    i
}

/// Starts a backup and lets its down timer make it master.
fn master(p: Params) -> (Instance, Time) {
    let mut i = started(p, t(0));
    let at = i.poll_timeout().unwrap();
    i.handle(at, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
    actions(&mut i);
    (i, at)
}

#[test]
fn non_owner_starts_as_backup_with_exact_master_down_interval() {
    let mut i = Instance::new(params(Version::V3, 100), t(0)).unwrap();
    assert_eq!(i.state(), State::Initialize);
    assert_eq!(i.poll_timeout(), None);
    i.handle(t(0), Event::Startup).unwrap();
    assert_eq!(i.state(), State::Backup);
    let acts = actions(&mut i);
    assert_eq!(
        acts,
        vec![
            Action::StateChanged {
                from: State::Initialize,
                to: State::Backup,
                reason: Reason::Startup
            },
            Action::Notify {
                state: State::Backup
            },
        ]
    );
    // 3 × 1 s + (256 − 100) × 1 s / 256 = 3.609375 s, to the microsecond.
    assert_eq!(i.skew_time(), Duration::from_micros(609_375));
    assert_eq!(i.poll_timeout(), Some(Time::from_micros(3_609_375)));
}

#[test]
fn owner_starts_as_master_and_announces_itself() {
    let mut i = Instance::new(params(Version::V2, 255), t(0)).unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    assert_eq!(
        actions(&mut i),
        vec![
            Action::StateChanged {
                from: State::Initialize,
                to: State::Master,
                reason: Reason::Startup
            },
            Action::AddVips,
            Action::SendAdvert { priority: 255 },
            Action::SendGratuitous,
            Action::Notify {
                state: State::Master
            },
        ]
    );
    assert_eq!(i.counters().new_master_reason, NewMasterReason::Priority);
    // Next advert one interval later.
    assert_eq!(i.poll_timeout(), Some(t(1000)));
    i.handle(t(1000), Event::Timer).unwrap();
    assert_eq!(actions(&mut i), vec![Action::SendAdvert { priority: 255 }]);
}

#[test]
fn backup_becomes_master_when_master_goes_silent() {
    let mut i = started(params(Version::V3, 100), t(0));
    rx(&mut i, t(500), HIGHER_IP, advert(Version::V3, 200, 100)).unwrap();
    assert_eq!(
        i.poll_timeout(),
        Some(Time::from_micros(500_000 + 3_609_375))
    );
    i.handle(t(4000), Event::Timer).unwrap(); // early: nothing due
    assert_eq!(i.state(), State::Backup);
    assert!(actions(&mut i).is_empty());
    i.handle(Time::from_micros(4_109_375), Event::Timer)
        .unwrap();
    assert_eq!(i.state(), State::Master);
    let acts = actions(&mut i);
    assert_eq!(
        acts[0],
        Action::StateChanged {
            from: State::Backup,
            to: State::Master,
            reason: Reason::MasterDown
        }
    );
    assert!(acts.contains(&Action::AddVips));
    assert!(acts.contains(&Action::SendAdvert { priority: 100 }));
    assert_eq!(
        i.counters().new_master_reason,
        NewMasterReason::MasterNoResponse
    );
}

#[test]
fn stale_timer_after_advert_reset_does_nothing() {
    let mut i = started(params(Version::V3, 100), t(0));
    let first = i.poll_timeout().unwrap();
    rx(&mut i, t(3000), HIGHER_IP, advert(Version::V3, 200, 100)).unwrap();
    // The timer armed for the first deadline fires late: must not act.
    i.handle(first, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Backup);
    assert!(actions(&mut i).is_empty());
}

#[test]
fn stale_timer_after_state_change_does_nothing() {
    let (mut i, at) = master(params(Version::V3, 100));
    rx(&mut i, at, HIGHER_IP, advert(Version::V3, 200, 100)).unwrap();
    assert_eq!(i.state(), State::Backup);
    actions(&mut i);
    // The master's advert timer, armed before, fires: no advert from a backup.
    i.handle(at + Duration::from_secs(1), Event::Timer).unwrap();
    assert!(actions(&mut i).is_empty());
}

#[test]
fn v3_learns_master_adver_interval_from_the_master() {
    let mut i = started(params(Version::V3, 100), t(0));
    rx(&mut i, t(0), HIGHER_IP, advert(Version::V3, 200, 50)).unwrap();
    assert_eq!(i.master_adver_interval(), Duration::from_millis(500));
    // 3 × 0.5 s + 156 × 0.5 s / 256 = 1.5 s + 0.3046875 s
    assert_eq!(i.master_down_interval(), Duration::from_micros(1_804_687));
    assert_eq!(i.poll_timeout(), Some(Time::from_micros(1_804_687)));
    // A slower master: learned too.
    rx(&mut i, t(100), HIGHER_IP, advert(Version::V3, 200, 400)).unwrap();
    assert_eq!(
        i.master_down_interval(),
        Duration::from_micros(12_000_000 + 2_437_500)
    );
}

#[test]
fn v2_skew_time_is_independent_of_the_interval() {
    let mut p = params(Version::V2, 100);
    p.advert_int = 300;
    let i = started(p, t(0));
    // RFC 3768 §6.1: (256 − Priority) / 256 seconds.
    assert_eq!(i.skew_time(), Duration::from_micros(609_375));
    assert_eq!(i.master_down_interval(), Duration::from_micros(9_609_375));
}

#[test]
fn priority_zero_makes_the_backup_take_over_after_skew_time() {
    let mut i = started(params(Version::V3, 100), t(0));
    rx(&mut i, t(1000), HIGHER_IP, advert(Version::V3, 200, 100)).unwrap();
    rx(&mut i, t(1500), HIGHER_IP, advert(Version::V3, 0, 100)).unwrap();
    assert_eq!(
        i.poll_timeout(),
        Some(Time::from_micros(1_500_000 + 609_375))
    );
    i.handle(Time::from_micros(2_109_375), Event::Timer)
        .unwrap();
    assert_eq!(i.state(), State::Master);
    assert!(actions(&mut i).contains(&Action::StateChanged {
        from: State::Backup,
        to: State::Master,
        reason: Reason::MasterLeft
    }));
    assert_eq!(i.counters().priority_zero_received, 1);
}

#[test]
fn shutdown_from_master_sends_priority_zero_and_releases_vips() {
    let (mut i, at) = master(params(Version::V2, 100));
    i.handle(at, Event::Shutdown).unwrap();
    assert_eq!(i.state(), State::Initialize);
    assert_eq!(
        actions(&mut i),
        vec![
            Action::StateChanged {
                from: State::Master,
                to: State::Initialize,
                reason: Reason::Shutdown
            },
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::Notify {
                state: State::Initialize
            },
        ]
    );
    assert_eq!(i.poll_timeout(), None);
    assert_eq!(i.counters().priority_zero_sent, 1);
}

#[test]
fn shutdown_from_backup_sends_nothing() {
    let mut i = started(params(Version::V2, 100), t(0));
    i.handle(t(10), Event::Shutdown).unwrap();
    let acts = actions(&mut i);
    assert!(
        !acts
            .iter()
            .any(|a| matches!(a, Action::SendAdvert { .. } | Action::RemoveVips))
    );
}

#[test]
fn master_answers_lower_priority_advert_at_once_with_garp() {
    let (mut i, at) = master(params(Version::V3, 150));
    rx(
        &mut i,
        at + Duration::from_millis(10),
        LOWER_IP,
        advert(Version::V3, 100, 100),
    )
    .unwrap();
    assert_eq!(i.state(), State::Master);
    assert_eq!(
        actions(&mut i),
        vec![
            Action::SendAdvert { priority: 150 },
            Action::SendLowerPrioGratuitous,
            // keepalived's notify_master_rx_lower_pri and FIFO line.
            Action::MasterRxLowerPri
        ]
    );
}

/// lower_prio_no_advert (implied by vrrp_strict): the master only discards
/// a lower-priority advert (RFC 5798 §6.4.3), and its next advert comes at
/// its own interval, not earlier.
#[test]
fn lower_prio_no_advert_master_keeps_quiet() {
    let mut p = params(Version::V3, 150);
    p.lower_prio_no_advert = true;
    let (mut i, at) = master(p);
    let then = at + Duration::from_millis(10);
    rx(&mut i, then, LOWER_IP, advert(Version::V3, 100, 100)).unwrap();
    assert_eq!(i.state(), State::Master);
    let acts = actions(&mut i);
    assert!(
        !acts.iter().any(|a| matches!(a, Action::SendAdvert { .. })),
        "{acts:?}"
    );
    // The advert timer was not restarted by the lower-priority advert.
    assert_eq!(i.poll_timeout(), Some(at + Duration::from_secs(1)));
}

/// keepalived: after answering a lower-priority advert, a master sends a
/// second gratuitous round `garp_lower_prio_delay` later, once however many
/// lower-priority adverts came in meanwhile, and none once it left MASTER.
#[test]
fn second_lower_priority_round_after_garp_lower_prio_delay() {
    let mut p = params(Version::V3, 150);
    p.garp_lower_prio_delay = Some(Duration::from_secs(2));
    let (mut i, at) = master(p);
    let lower_garps = |i: &mut Instance| {
        actions(i)
            .iter()
            .filter(|a| **a == Action::SendLowerPrioGratuitous)
            .count()
    };
    rx(&mut i, at, LOWER_IP, advert(Version::V3, 100, 100)).unwrap();
    assert_eq!(lower_garps(&mut i), 1, "the immediate round");
    // Another lower-priority advert half-way does not postpone the second round.
    rx(
        &mut i,
        at + Duration::from_secs(1),
        LOWER_IP,
        advert(Version::V3, 100, 100),
    )
    .unwrap();
    assert_eq!(lower_garps(&mut i), 1);
    let mut at_times = Vec::new();
    let mut now = at + Duration::from_secs(1);
    while now < at + Duration::from_secs(6) {
        now = i.poll_timeout().unwrap();
        i.handle(now, Event::Timer).unwrap();
        if lower_garps(&mut i) > 0 {
            at_times.push(now);
        }
    }
    assert_eq!(
        at_times,
        vec![at + Duration::from_secs(2)],
        "one delayed round, garp_lower_prio_delay after the first advert"
    );
    assert_eq!(i.state(), State::Master);

    // Pending when the master steps down: never sent.
    rx(
        &mut i,
        now + Duration::from_millis(10),
        LOWER_IP,
        advert(Version::V3, 100, 100),
    )
    .unwrap();
    assert_eq!(lower_garps(&mut i), 1);
    rx(
        &mut i,
        now + Duration::from_millis(20),
        HIGHER_IP,
        advert(Version::V3, 200, 100),
    )
    .unwrap();
    assert_eq!(i.state(), State::Backup);
    actions(&mut i);
    let end = now + Duration::from_secs(5);
    while let Some(next) = i.poll_timeout().filter(|t| *t < end) {
        i.handle(next, Event::Timer).unwrap();
        let acts = actions(&mut i);
        assert!(
            !acts.contains(&Action::SendLowerPrioGratuitous),
            "lower-priority round after stepping down: {acts:?}"
        );
        if i.state() != State::Backup {
            break;
        }
    }
}

/// `garp_lower_prio_delay` unset: only the immediate round.
#[test]
fn no_second_lower_priority_round_without_a_delay() {
    let mut p = params(Version::V3, 150);
    p.garp_lower_prio_delay = None;
    let (mut i, at) = master(p);
    rx(&mut i, at, LOWER_IP, advert(Version::V3, 100, 100)).unwrap();
    let mut n = actions(&mut i)
        .iter()
        .filter(|a| **a == Action::SendLowerPrioGratuitous)
        .count();
    let mut now = at;
    while now < at + Duration::from_secs(10) {
        now = i.poll_timeout().unwrap();
        i.handle(now, Event::Timer).unwrap();
        n += actions(&mut i)
            .iter()
            .filter(|a| **a == Action::SendLowerPrioGratuitous)
            .count();
    }
    assert_eq!(n, 1);
}

#[test]
fn master_yields_to_higher_priority_without_priority_zero() {
    let (mut i, at) = master(params(Version::V3, 150));
    rx(&mut i, at, LOWER_IP, advert(Version::V3, 200, 100)).unwrap();
    assert_eq!(i.state(), State::Backup);
    assert_eq!(
        actions(&mut i),
        vec![
            Action::StateChanged {
                from: State::Master,
                to: State::Backup,
                reason: Reason::HigherPriorityAdvert
            },
            Action::RemoveVips,
            Action::Notify {
                state: State::Backup
            },
        ]
    );
}

#[test]
fn equal_priority_is_broken_by_the_higher_primary_address() {
    let (mut i, at) = master(params(Version::V3, 100));
    rx(&mut i, at, LOWER_IP, advert(Version::V3, 100, 100)).unwrap();
    assert_eq!(i.state(), State::Master, "lower address loses");
    rx(&mut i, at, HIGHER_IP, advert(Version::V3, 100, 100)).unwrap();
    assert_eq!(i.state(), State::Backup, "higher address wins");
}

#[test]
fn preempting_backup_ignores_lower_master_and_takes_over() {
    let mut i = started(params(Version::V3, 200), t(0));
    let deadline = i.poll_timeout().unwrap();
    for k in 0..3 {
        rx(&mut i, t(1000 * k), LOWER_IP, advert(Version::V3, 100, 100)).unwrap();
        assert_eq!(
            i.poll_timeout(),
            Some(deadline),
            "lower adverts do not reset"
        );
    }
    i.handle(deadline, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.counters().new_master_reason, NewMasterReason::Preempted);
}

#[test]
fn nopreempt_backup_leaves_a_lower_master_alone() {
    let mut p = params(Version::V3, 200);
    p.preempt = false;
    let mut i = started(p, t(0));
    for k in 0..20 {
        rx(&mut i, t(1000 * k), LOWER_IP, advert(Version::V3, 100, 100)).unwrap();
        if let Some(at) = i.poll_timeout().filter(|at| *at <= t(1000 * k + 999)) {
            i.handle(at, Event::Timer).unwrap();
        }
    }
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn preempt_delay_holds_off_preemption() {
    let mut p = params(Version::V3, 200);
    p.preempt_delay = Duration::from_secs(10);
    let mut i = started(p, t(0));
    let mut now = 0;
    while i.state() == State::Backup && now < 30_000 {
        rx(&mut i, t(now), LOWER_IP, advert(Version::V3, 100, 100)).unwrap();
        now += 1000;
        if let Some(at) = i.poll_timeout().filter(|at| *at < t(now)) {
            i.handle(at, Event::Timer).unwrap();
        }
    }
    assert_eq!(i.state(), State::Master);
    // Accepted until 10 s after startup, then one Master_Down_Interval.
    assert!((13_000..=15_000).contains(&now), "took over at {now} ms");
}

#[test]
fn initial_state_master_shortens_the_first_wait() {
    let mut p = params(Version::V3, 100);
    p.initial_state = InitialState::Master;
    let i = started(p, t(0));
    assert_eq!(i.state(), State::Backup);
    // One interval plus the smallest skew (1 s / 256).
    assert_eq!(i.poll_timeout(), Some(Time::from_micros(1_003_906)));
}

#[test]
fn tracker_weights_move_priority_and_master_advertises_at_once() {
    let mut p = params(Version::V3, 100);
    p.trackers = vec![
        TrackerParams {
            name: "chk_nginx".into(),
            weight: -60,
            reverse: false,
            initially_up: true,
        },
        TrackerParams {
            name: "chk_bonus".into(),
            weight: 200,
            reverse: false,
            initially_up: false,
        },
    ];
    let (mut i, at) = master(p);
    assert_eq!(i.effective_priority(), 100);
    i.handle(
        at,
        Event::TrackerChanged {
            tracker: 0,
            up: false,
        },
    )
    .unwrap();
    assert_eq!(i.effective_priority(), 40);
    assert_eq!(actions(&mut i), vec![Action::SendAdvert { priority: 40 }]);
    i.handle(
        at,
        Event::TrackerChanged {
            tracker: 1,
            up: true,
        },
    )
    .unwrap();
    assert_eq!(i.effective_priority(), 240);
    i.handle(
        at,
        Event::TrackerChanged {
            tracker: 0,
            up: true,
        },
    )
    .unwrap();
    assert_eq!(i.effective_priority(), 254, "clamped below the owner's 255");
    // An unknown tracker index changes nothing.
    i.handle(
        at,
        Event::TrackerChanged {
            tracker: 9,
            up: false,
        },
    )
    .unwrap();
    assert_eq!(i.effective_priority(), 254);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn owner_priority_is_never_adjusted() {
    let mut p = params(Version::V2, 255);
    p.trackers = vec![TrackerParams {
        name: "chk".into(),
        weight: -100,
        reverse: false,
        initially_up: true,
    }];
    let mut i = started(p, t(0));
    i.handle(
        t(1),
        Event::TrackerChanged {
            tracker: 0,
            up: false,
        },
    )
    .unwrap();
    assert_eq!(i.effective_priority(), 255);
}

#[test]
fn weight_zero_tracker_puts_master_in_fault_with_priority_zero() {
    let mut p = params(Version::V3, 100);
    p.trackers = vec![TrackerParams::fault_on_down("eth1")];
    let (mut i, at) = master(p);
    i.handle(
        at,
        Event::TrackerChanged {
            tracker: 0,
            up: false,
        },
    )
    .unwrap();
    assert_eq!(i.state(), State::Fault);
    assert_eq!(
        actions(&mut i),
        vec![
            Action::StateChanged {
                from: State::Master,
                to: State::Fault,
                reason: Reason::TrackerDown
            },
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::Notify {
                state: State::Fault
            },
        ]
    );
    assert_eq!(i.poll_timeout(), None);
    // Adverts in FAULT change nothing.
    rx(&mut i, at, LOWER_IP, advert(Version::V3, 50, 100)).unwrap();
    assert!(actions(&mut i).is_empty());
    i.handle(
        at,
        Event::TrackerChanged {
            tracker: 0,
            up: true,
        },
    )
    .unwrap();
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn link_down_is_fault_and_link_up_returns_to_backup() {
    let mut i = started(params(Version::V2, 100), t(0));
    i.handle(t(5), Event::LinkDown).unwrap();
    assert_eq!(i.state(), State::Fault);
    i.handle(t(6), Event::LinkUp).unwrap();
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.counters().state_transitions, 3);
    assert_eq!(i.counters().last_transition, Some(t(6)));
}

#[test]
fn link_down_before_startup_starts_in_fault() {
    let mut i = Instance::new(params(Version::V2, 255), t(0)).unwrap();
    i.handle(t(0), Event::LinkDown).unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    assert_eq!(i.state(), State::Fault);
    i.handle(t(1), Event::LinkUp).unwrap();
    assert_eq!(i.state(), State::Master, "an owner leaves FAULT as master");
}

#[test]
fn config_mismatches_are_dropped_counted_and_change_nothing() {
    let mut p = params(Version::V2, 100);
    p.auth = Auth::pass(b"secret");
    let (mut i, at) = master(p);
    let good = VrrpRepr {
        auth: Auth::pass(b"secret"),
        ..advert(Version::V2, 200, 100)
    };
    let cases: Vec<(VrrpRepr, RxError)> = vec![
        (
            VrrpRepr {
                auth: Auth::pass(b"wrong"),
                ..good.clone()
            },
            RxError::Authentication("password mismatch"),
        ),
        (
            VrrpRepr {
                auth: Auth::None,
                ..good.clone()
            },
            RxError::Authentication("auth type mismatch"),
        ),
        (
            VrrpRepr {
                max_adver_int: 200,
                ..good.clone()
            },
            RxError::AdvertInterval {
                received_cs: 200,
                configured_cs: 100,
            },
        ),
        (
            VrrpRepr {
                vrid: 52,
                ..good.clone()
            },
            RxError::Vrid(52),
        ),
        (
            VrrpRepr {
                version: Version::V3,
                auth: Auth::None,
                ..good.clone()
            },
            RxError::Version(3),
        ),
    ];
    for (bad, err) in cases {
        assert_eq!(rx(&mut i, at, HIGHER_IP, bad), Err(err));
        assert_eq!(i.state(), State::Master);
        assert!(actions(&mut i).is_empty());
    }
    let c = &i.counters().rx_errors;
    assert_eq!(
        (
            c.auth_errors,
            c.adv_interval_errors,
            c.vrid_errors,
            c.version_errors
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(
        rx(&mut i, at, "2001:db8::1".parse().unwrap(), good.clone()),
        Err(RxError::AddressFamily)
    );
    // The good one is taken.
    rx(&mut i, at, HIGHER_IP, good).unwrap();
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn v3_zero_interval_is_refused() {
    let mut i = started(params(Version::V3, 100), t(0));
    assert!(matches!(
        rx(&mut i, t(1), HIGHER_IP, advert(Version::V3, 200, 0)),
        Err(RxError::AdvertInterval { received_cs: 0, .. })
    ));
    // Dropped and counted: still backup, the down timer untouched.
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.counters().rx_errors.adv_interval_errors, 1);
    assert_eq!(i.counters().adverts_received, 0);
    assert_eq!(i.poll_timeout(), Some(Time::from_micros(3_609_375)));
}

#[test]
fn address_list_mismatch_is_counted_but_accepted_like_keepalived() {
    let mut i = started(params(Version::V3, 100), t(0));
    let mut a = advert(Version::V3, 200, 100);
    a.addresses = vec!["192.0.2.99".parse().unwrap()];
    rx(&mut i, t(1), HIGHER_IP, a).unwrap();
    assert_eq!(i.counters().rx_errors.address_list_errors, 1);
    assert_eq!(i.counters().adverts_received, 1);
    assert_eq!(i.poll_timeout(), Some(Time::from_micros(1_000 + 3_609_375)));
}

#[test]
fn an_advert_repeating_one_of_our_addresses_is_a_list_mismatch() {
    let mut p = params(Version::V3, 100);
    let other: IpAddr = "203.0.113.11".parse().unwrap();
    p.vips.push(other);
    let mut i = started(p, t(0));
    // Same length as ours, every address one of ours, but `other` missing.
    let mut a = advert(Version::V3, 200, 100);
    a.addresses = vec![VIP, VIP];
    rx(&mut i, t(1), HIGHER_IP, a).unwrap();
    assert_eq!(i.counters().rx_errors.address_list_errors, 1);
    // The same set in another order matches.
    let mut a = advert(Version::V3, 200, 100);
    a.addresses = vec![other, VIP];
    rx(&mut i, t(2), HIGHER_IP, a).unwrap();
    assert_eq!(i.counters().rx_errors.address_list_errors, 1);
    assert_eq!(i.counters().adverts_received, 2);
}

#[test]
fn own_looped_back_advert_is_ignored() {
    let (mut i, at) = master(params(Version::V3, 100));
    rx(&mut i, at, ME, advert(Version::V3, 100, 100)).unwrap();
    assert!(actions(&mut i).is_empty());
    assert_eq!(i.counters().adverts_received, 0);
}

#[test]
fn second_gratuitous_round_after_garp_master_delay() {
    let mut p = params(Version::V3, 255);
    p.garp_master_delay = Some(Duration::from_secs(5));
    let mut i = started(p, t(0));
    let mut garps = 0;
    let mut now = t(0);
    while now < t(6000) {
        now = i.poll_timeout().unwrap();
        i.handle(now, Event::Timer).unwrap();
        garps += actions(&mut i)
            .iter()
            .filter(|a| **a == Action::SendGratuitous)
            .count();
    }
    assert_eq!(garps, 1);
}

#[test]
fn set_timer_actions_follow_the_earliest_deadline() {
    let mut i = Instance::new(params(Version::V3, 100), t(0)).unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    let timers: Vec<_> = std::iter::from_fn(|| i.poll_action())
        .filter_map(|a| match a {
            Action::SetTimer { at } => Some(at),
            _ => None,
        })
        .collect();
    assert_eq!(timers, vec![i.poll_timeout()]);
}

#[test]
fn invalid_params_are_refused() {
    let mut p = params(Version::V2, 100);
    p.advert_int = 150;
    assert!(Instance::new(p, t(0)).is_err());
    let mut p = params(Version::V3, 100);
    p.auth = Auth::pass(b"x");
    assert!(Instance::new(p, t(0)).is_err());
    let mut p = params(Version::V2, 100);
    p.vips.push("2001:db8::1".parse().unwrap());
    assert!(Instance::new(p, t(0)).is_err());
    let mut p = params(Version::V2, 100);
    p.vrid = 0;
    assert!(Instance::new(p, t(0)).is_err());
}

// ----- sync groups ---------------------------------------------------------

fn group_params() -> Vec<Params> {
    let mut outer = params(Version::V3, 100);
    outer.name = "VI_OUTER".into();
    outer.vrid = 51;
    let mut inner = params(Version::V3, 100);
    inner.name = "VI_INNER".into();
    inner.vrid = 52;
    inner.vips = vec!["192.0.2.200".parse().unwrap()];
    vec![outer, inner]
}

fn drain_router(r: &mut Router) -> Vec<(usize, Action)> {
    std::iter::from_fn(|| r.poll_action())
        .filter(|(_, a)| !matches!(a, Action::SetTimer { .. }))
        .collect()
}

#[test]
fn sync_group_member_fault_faults_the_group_and_recovers_together() {
    let mut r = Router::new(group_params(), vec![vec![0, 1]], t(0)).unwrap();
    r.broadcast(t(0), Event::Startup);
    let at = r.poll_timeout().unwrap();
    r.handle_timeout(at);
    r.handle_timeout(r.poll_timeout().unwrap());
    assert_eq!(r.instance(0).unwrap().state(), State::Master);
    assert_eq!(r.instance(1).unwrap().state(), State::Master);
    drain_router(&mut r);
    r.handle(at, 1, Event::LinkDown).unwrap();
    assert_eq!(r.instance(0).unwrap().state(), State::Fault);
    assert_eq!(r.instance(1).unwrap().state(), State::Fault);
    let acts = drain_router(&mut r);
    assert!(acts.contains(&(0, Action::RemoveVips)));
    assert!(acts.contains(&(1, Action::RemoveVips)));
    assert!(acts.contains(&(0, Action::SendAdvert { priority: 0 })));
    r.handle(at, 1, Event::LinkUp).unwrap();
    assert_eq!(r.instance(0).unwrap().state(), State::Backup);
    assert_eq!(r.instance(1).unwrap().state(), State::Backup);
}

#[test]
fn sync_group_waits_until_every_member_wants_master() {
    let mut r = Router::new(group_params(), vec![vec![0, 1]], t(0)).unwrap();
    r.broadcast(t(0), Event::Startup);
    // A master keeps advertising for VRID 52 only.
    let mut now = t(0);
    for _ in 0..10 {
        now = now + Duration::from_secs(1);
        r.handle(
            now,
            1,
            Event::AdvertReceived {
                src: HIGHER_IP,
                advert: VrrpRepr {
                    vrid: 52,
                    addresses: vec!["192.0.2.200".parse().unwrap()],
                    ..advert(Version::V3, 200, 100)
                },
            },
        )
        .unwrap();
        r.handle_timeout(now);
    }
    // VRID 51's master is silent, but the group stays backup together.
    assert!(r.instance(0).unwrap().wants_master());
    assert_eq!(r.instance(0).unwrap().state(), State::Backup);
    assert_eq!(r.instance(1).unwrap().state(), State::Backup);
    // When VRID 52's master falls silent too, both go master.
    while let Some(at) = r
        .poll_timeout()
        .filter(|at| *at < now + Duration::from_secs(10))
    {
        r.handle_timeout(at);
    }
    assert_eq!(r.instance(0).unwrap().state(), State::Master);
    assert_eq!(r.instance(1).unwrap().state(), State::Master);
}

#[test]
fn sync_group_member_stepping_down_takes_the_group_along() {
    let mut r = Router::new(group_params(), vec![vec![0, 1]], t(0)).unwrap();
    r.broadcast(t(0), Event::Startup);
    while r.instances().iter().any(|i| i.state() != State::Master) {
        let at = r.poll_timeout().unwrap();
        r.handle_timeout(at);
    }
    drain_router(&mut r);
    r.handle(
        t(9000),
        0,
        Event::AdvertReceived {
            src: HIGHER_IP,
            advert: advert(Version::V3, 200, 100),
        },
    )
    .unwrap();
    assert_eq!(r.instance(0).unwrap().state(), State::Backup);
    assert_eq!(r.instance(1).unwrap().state(), State::Backup);
    let acts = drain_router(&mut r);
    assert!(acts.contains(&(1, Action::RemoveVips)));
}

#[test]
fn router_rejects_bad_groups() {
    assert!(Router::new(group_params(), vec![vec![0, 5]], t(0)).is_err());
    assert!(Router::new(group_params(), vec![vec![0, 1], vec![1]], t(0)).is_err());
}

#[test]
fn contradictory_preemption_settings_are_cleared_like_keepalived() {
    use tandem::vrrp::ParamsWarning;
    let mut p = params(Version::V3, 100);
    p.preempt = false;
    p.initial_state = InitialState::Master;
    let (n, w) = p.clone().normalized();
    assert!(n.preempt);
    assert_eq!(w, vec![ParamsWarning::NopreemptWithStateMaster]);
    // And the instance runs with the cleared setting: it preempts.
    let mut i = started(p, t(0));
    rx(&mut i, t(100), LOWER_IP, advert(Version::V3, 50, 100)).unwrap();
    i.handle(t(1200), Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);

    let mut p = params(Version::V3, 255);
    p.preempt = false;
    assert_eq!(p.normalized().1, vec![ParamsWarning::NopreemptWithOwner]);
    let mut p = params(Version::V3, 100);
    p.preempt = false;
    p.preempt_delay = Duration::from_secs(3);
    let (n, w) = p.normalized();
    assert_eq!(n.preempt_delay, Duration::ZERO);
    assert_eq!(w, vec![ParamsWarning::PreemptDelayWithNopreempt]);
}

#[test]
fn status_names_the_master_being_followed() {
    let mut i = started(params(Version::V3, 100), t(0));
    assert_eq!(i.master(), None);
    rx(&mut i, t(10), HIGHER_IP, advert(Version::V3, 200, 50)).unwrap();
    assert_eq!(i.master(), Some((HIGHER_IP, 200)));
    let s = i.status();
    assert_eq!(s.state, State::Backup);
    assert_eq!(s.master_adver_interval_cs, 50);
    assert_eq!(s.counters.adverts_received, 1);
    assert!(serde_json::to_string(&s).unwrap().contains("\"vrid\":51"));
    let at = i.poll_timeout().unwrap();
    i.handle(at, Event::Timer).unwrap();
    assert_eq!(i.master(), None, "we are the master now");
}

// ----- arbitrary event sequences -------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Wait(u64),
        Advert {
            src: u8,
            version3: bool,
            vrid: u8,
            priority: u8,
            interval: u16,
            vip_ok: bool,
        },
        Timer,
        Link(bool),
        Tracker(usize, bool),
        Shutdown,
        Startup,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u64..5_000_000).prop_map(Step::Wait),
            (
                any::<u8>(),
                any::<bool>(),
                50u8..53,
                any::<u8>(),
                0u16..300,
                any::<bool>()
            )
                .prop_map(|(src, version3, vrid, priority, interval, vip_ok)| {
                    Step::Advert {
                        src,
                        version3,
                        vrid,
                        priority,
                        interval,
                        vip_ok,
                    }
                }),
            Just(Step::Timer),
            any::<bool>().prop_map(Step::Link),
            (0usize..3, any::<bool>()).prop_map(|(i, u)| Step::Tracker(i, u)),
            Just(Step::Shutdown),
            Just(Step::Startup),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever arrives, in whatever order: VIPs are held exactly while
        /// MASTER, adds and removes alternate, a non-master only ever sends
        /// priority 0 (when leaving), and a dropped advert changes nothing.
        #[test]
        fn instance_invariants_hold(
            v3 in any::<bool>(),
            priority in 1u8..=255,
            preempt in any::<bool>(),
            steps in prop::collection::vec(step(), 1..200),
        ) {
            let mut p = params(if v3 { Version::V3 } else { Version::V2 }, priority);
            p.preempt = preempt;
            p.trackers = vec![
                TrackerParams::fault_on_down("eth1"),
                TrackerParams { name: "chk".into(), weight: -40, reverse: false, initially_up: true },
            ];
            let mut i = Instance::new(p, t(0)).unwrap();
            let mut now = t(0);
            let mut vips = false;
            for s in steps {
                let before = (i.state(), i.poll_timeout(), i.effective_priority());
                let mut dropped = false;
                match s {
                    Step::Wait(us) => now = now + Duration::from_micros(us),
                    Step::Advert { src, version3, vrid, priority, interval, vip_ok } => {
                        let a = VrrpRepr {
                            version: if version3 { Version::V3 } else { Version::V2 },
                            vrid,
                            priority,
                            max_adver_int: interval,
                            auth: Auth::None,
                            addresses: if vip_ok { vec![VIP] } else { vec![] },
                        };
                        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, src));
                        dropped = rx(&mut i, now, src, a).is_err();
                    }
                    Step::Timer => i.handle(now, Event::Timer).unwrap(),
                    Step::Link(up) => i.handle(now, if up { Event::LinkUp } else { Event::LinkDown }).unwrap(),
                    Step::Tracker(k, up) => i.handle(now, Event::TrackerChanged { tracker: k, up }).unwrap(),
                    Step::Shutdown => i.handle(now, Event::Shutdown).unwrap(),
                    Step::Startup => i.handle(now, Event::Startup).unwrap(),
                }
                let state = i.state();
                for a in std::iter::from_fn(|| i.poll_action()) {
                    match a {
                        Action::AddVips => { prop_assert!(!vips); vips = true; }
                        Action::RemoveVips => { prop_assert!(vips); vips = false; }
                        Action::SendAdvert { priority } => {
                            prop_assert!(state == State::Master || priority == 0);
                        }
                        Action::SendGratuitous | Action::SendLowerPrioGratuitous => prop_assert!(vips),
                        _ => {}
                    }
                }
                if dropped {
                    prop_assert_eq!((i.state(), i.poll_timeout(), i.effective_priority()), before);
                }
                prop_assert_eq!(vips, i.state() == State::Master);
                if matches!(i.state(), State::Backup | State::Master) {
                    prop_assert!(i.poll_timeout().is_some());
                } else {
                    prop_assert!(i.poll_timeout().is_none());
                }
            }
        }
    }
}

#[test]
fn sync_group_with_an_owner_leaves_fault_as_one() {
    let mut ps = group_params();
    ps[0].priority = 255;
    let mut r = Router::new(ps, vec![vec![0, 1]], t(0)).unwrap();
    r.broadcast(t(0), Event::Startup);
    assert_eq!(
        r.instance(1).unwrap().state(),
        State::Master,
        "follows the owner"
    );
    r.broadcast(t(10), Event::LinkDown);
    assert_eq!(r.instance(0).unwrap().state(), State::Fault);
    // The non-owner's link comes back last: the owner leaves FAULT as
    // master on that event, and the other member must follow it.
    r.handle(t(20), 0, Event::LinkUp).unwrap();
    r.handle(t(30), 1, Event::LinkUp).unwrap();
    assert_eq!(r.instance(0).unwrap().state(), State::Master);
    assert_eq!(r.instance(1).unwrap().state(), State::Master);
}

// ----- reload: new parameters for a running instance ----------------------

#[test]
fn reload_of_a_master_with_a_new_priority_advertises_it_at_once_without_transition() {
    let (mut i, at) = master(params(Version::V2, 150));
    let transitions = i.counters().state_transitions;
    let now = at + Duration::from_millis(300);
    i.reconfigure(now, params(Version::V2, 120)).unwrap();
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.effective_priority(), 120);
    assert_eq!(
        actions(&mut i),
        [Action::SendAdvert { priority: 120 }],
        "one advert with the new priority, no VIP or notify action"
    );
    assert_eq!(i.counters().state_transitions, transitions);
    // The Adver_Timer restarts from the reload.
    assert_eq!(i.poll_timeout(), Some(now + Duration::from_secs(1)));
}

#[test]
fn reload_of_a_master_with_a_lower_priority_yields_to_a_peer_that_now_outranks_it() {
    let (mut i, at) = master(params(Version::V2, 150));
    i.reconfigure(at, params(Version::V2, 90)).unwrap();
    actions(&mut i);
    // The peer at 100 was a backup; it preempts with its own advert.
    rx(
        &mut i,
        at + Duration::from_millis(10),
        LOWER_IP,
        advert(Version::V2, 100, 100),
    )
    .unwrap();
    assert_eq!(i.state(), State::Backup);
    let a = actions(&mut i);
    assert!(a.contains(&Action::RemoveVips), "{a:?}");
}

#[test]
fn reload_of_a_backup_with_a_priority_above_the_master_preempts_once() {
    let mut i = started(params(Version::V2, 100), t(0));
    rx(&mut i, t(100), HIGHER_IP, advert(Version::V2, 150, 100)).unwrap();
    actions(&mut i);
    i.reconfigure(t(200), params(Version::V2, 200)).unwrap();
    assert_eq!(
        i.state(),
        State::Backup,
        "no transition by the reload itself"
    );
    assert!(actions(&mut i).is_empty());
    // The master's adverts are now from a lower priority: discarded, and
    // the down timer set by the last accepted one runs out.
    rx(&mut i, t(1100), HIGHER_IP, advert(Version::V2, 150, 100)).unwrap();
    let at = i.poll_timeout().unwrap();
    assert!(at <= t(100) + Duration::from_millis(3700), "{at:?}");
    i.handle(at, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.counters().new_master_reason, NewMasterReason::Preempted);
    assert_eq!(i.counters().master_transitions, 1);
}

#[test]
fn reload_with_a_new_advert_int_and_vips_is_advertised_by_the_master() {
    let (mut i, at) = master(params(Version::V2, 150));
    let mut p = params(Version::V2, 150);
    p.advert_int = 200;
    let extra: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101));
    p.vips.push(extra);
    i.reconfigure(at, p).unwrap();
    assert_eq!(actions(&mut i), [Action::SendAdvert { priority: 150 }]);
    let sent = i.advert(150);
    assert_eq!(sent.max_adver_int, 200);
    assert_eq!(sent.addresses, [VIP, extra]);
    assert_eq!(i.poll_timeout(), Some(at + Duration::from_secs(2)));
    assert_eq!(
        i.master_down_interval(),
        Duration::from_secs(6) + i.skew_time()
    );
}

#[test]
fn reload_that_changes_nothing_the_peer_sees_sends_nothing() {
    let (mut i, at) = master(params(Version::V2, 150));
    let mut p = params(Version::V2, 150);
    p.preempt_delay = Duration::from_secs(3);
    i.reconfigure(at, p).unwrap();
    assert!(actions(&mut i).is_empty());
    assert_eq!(i.state(), State::Master);
}

#[test]
fn reload_with_new_tracker_weights_applies_them_to_the_current_tracker_state() {
    let mut p = params(Version::V2, 150);
    p.trackers = vec![TrackerParams {
        name: "chk".into(),
        weight: -20,
        reverse: false,
        initially_up: true,
    }];
    let (mut i, at) = master(p.clone());
    i.handle(
        at,
        Event::TrackerChanged {
            tracker: 0,
            up: false,
        },
    )
    .unwrap();
    actions(&mut i);
    assert_eq!(i.effective_priority(), 130);
    p.trackers[0].weight = -40;
    i.reconfigure(at, p.clone()).unwrap();
    assert_eq!(i.effective_priority(), 110, "the tracker is still down");
    assert_eq!(actions(&mut i), [Action::SendAdvert { priority: 110 }]);
    // Weight 0: a down tracker is a fault, as at start.
    p.trackers[0].weight = 0;
    i.reconfigure(at, p).unwrap();
    assert_eq!(i.state(), State::Fault);
}

#[test]
fn reload_that_changes_the_virtual_router_itself_is_refused() {
    let (mut i, at) = master(params(Version::V2, 150));
    let mut p = params(Version::V2, 150);
    p.vrid = 52;
    assert_eq!(
        i.reconfigure(at, p),
        Err(ReconfigureError::Identity("virtual_router_id"))
    );
    let mut p = params(Version::V3, 150);
    p.advert_int = 100;
    assert_eq!(
        i.reconfigure(at, p),
        Err(ReconfigureError::Identity("version"))
    );
    let mut p = params(Version::V2, 150);
    p.trackers = vec![TrackerParams::fault_on_down("eth1")];
    assert_eq!(i.reconfigure(at, p), Err(ReconfigureError::Trackers));
    // Nothing changed.
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.params().vrid, 51);
    assert!(actions(&mut i).is_empty());
}

#[test]
fn reload_of_a_sync_group_member_keeps_the_group_and_a_new_fault_takes_it_along() {
    let mut p = group_params();
    p[1].trackers = vec![TrackerParams {
        name: "chk".into(),
        weight: -10,
        reverse: false,
        initially_up: true,
    }];
    let mut r = Router::new(p.clone(), vec![vec![0, 1]], t(0)).unwrap();
    r.broadcast(t(0), Event::Startup);
    while r.instances().iter().any(|i| i.state() != State::Master) {
        let at = r.poll_timeout().unwrap();
        r.handle_timeout(at);
    }
    let now = r.poll_timeout().unwrap();
    r.handle(
        now,
        1,
        Event::TrackerChanged {
            tracker: 0,
            up: false,
        },
    )
    .unwrap();
    drain_router(&mut r);
    // A new priority for one member: advertised, nobody moves.
    p[0].priority = 120;
    r.reconfigure(now, 0, p[0].clone()).unwrap();
    assert_eq!(
        drain_router(&mut r),
        [(0, Action::SendAdvert { priority: 120 })]
    );
    assert!(r.instances().iter().all(|i| i.state() == State::Master));
    // The down tracker's weight turned to 0: that member faults, and the
    // group with it.
    p[1].trackers[0].weight = 0;
    r.reconfigure(now, 1, p[1].clone()).unwrap();
    assert_eq!(r.instance(0).unwrap().state(), State::Fault);
    assert_eq!(r.instance(1).unwrap().state(), State::Fault);
}

// ----- counters ---------------------------------------------------------------

/// One counter per [`RxError`] variant: recording a reason moves its own
/// field and nothing else, in the instance's counters as a whole.
#[test]
fn every_drop_reason_moves_exactly_its_own_counter() {
    use tandem::vrrp::RxErrorCounters as C;
    let d = C::default();
    let cases: Vec<(RxError, C)> = vec![
        (
            RxError::Truncated { len: 3, need: 20 },
            C {
                truncated_errors: 1,
                ..d
            },
        ),
        (
            RxError::Length {
                len: 16,
                count: 3,
                expected: 28,
            },
            C {
                length_errors: 1,
                ..d
            },
        ),
        (
            RxError::Ipv4Header("IHL below 5"),
            C {
                ipv4_header_errors: 1,
                ..d
            },
        ),
        (
            RxError::Ipv4Checksum,
            C {
                ipv4_checksum_errors: 1,
                ..d
            },
        ),
        (
            RxError::Protocol(6),
            C {
                protocol_errors: 1,
                ..d
            },
        ),
        (
            RxError::Ttl(64),
            C {
                ip_ttl_errors: 1,
                ..d
            },
        ),
        (
            RxError::TtlRange {
                ttl: 3,
                min: 4,
                max: 5,
            },
            C {
                ip_ttl_errors: 1,
                ..d
            },
        ),
        (
            RxError::Version(4),
            C {
                version_errors: 1,
                ..d
            },
        ),
        (
            RxError::Type(2),
            C {
                invalid_type_errors: 1,
                ..d
            },
        ),
        (
            RxError::Vrid(52),
            C {
                vrid_errors: 1,
                ..d
            },
        ),
        (
            RxError::Checksum {
                carried: 1,
                computed: 2,
            },
            C {
                checksum_errors: 1,
                ..d
            },
        ),
        (
            RxError::Authentication("password mismatch"),
            C {
                auth_errors: 1,
                ..d
            },
        ),
        (
            RxError::AdvertInterval {
                received_cs: 200,
                configured_cs: 100,
            },
            C {
                adv_interval_errors: 1,
                ..d
            },
        ),
        (
            RxError::AddressFamily,
            C {
                address_family_errors: 1,
                ..d
            },
        ),
        (
            RxError::AddressList,
            C {
                address_list_errors: 1,
                ..d
            },
        ),
    ];
    // Every variant is listed once (the match keeps this list complete
    // when a variant is added).
    for (err, _) in &cases {
        match err {
            RxError::Truncated { .. }
            | RxError::Length { .. }
            | RxError::Ipv4Header(_)
            | RxError::Ipv4Checksum
            | RxError::Protocol(_)
            | RxError::Ttl(_)
            | RxError::TtlRange { .. }
            | RxError::Version(_)
            | RxError::Type(_)
            | RxError::Vrid(_)
            | RxError::Checksum { .. }
            | RxError::Authentication(_)
            | RxError::AdvertInterval { .. }
            | RxError::AddressFamily
            | RxError::AddressList => {}
        }
    }
    assert_eq!(cases.len(), 15);
    for (err, expected) in cases {
        let mut i = started(params(Version::V3, 100), t(0));
        let before = i.counters().clone();
        i.record_rx_error(&err);
        let after = i.counters().clone();
        assert_eq!(after.rx_errors, expected, "{err:?}");
        // Nothing else in the row moved, and the state stays.
        assert_eq!(
            tandem::vrrp::InstanceCounters {
                rx_errors: before.rx_errors,
                ..after.clone()
            },
            before,
            "{err:?}"
        );
        assert_eq!(i.state(), State::Backup);
        // The sum counts drops; an address list mismatch is not one.
        let drop = !matches!(err, RxError::AddressList);
        assert_eq!(after.rx_errors.total(), u64::from(drop), "{err:?}");
    }
}

/// The codec's own rejections, decoded from real bytes, land in distinct
/// counters (these five used to share two), and the JSON keeps the RFC 6527
/// sum `packet_length_errors` and the older `ip_header_errors`.
#[test]
fn codec_rejections_from_bytes_are_told_apart() {
    use std::net::Ipv4Addr;
    use tandem::vrrp::packet::{CodecOptions, MULTICAST_V4, decode_ipv4, encode_ipv4};
    let opts = CodecOptions::default();
    let good = encode_ipv4(
        &advert(Version::V3, 200, 100),
        Ipv4Addr::new(192, 0, 2, 20),
        MULTICAST_V4,
        1,
        opts,
    )
    .unwrap();
    decode_ipv4(&good, opts).unwrap();
    let refresh_ip_checksum = |b: &mut Vec<u8>| {
        b[10] = 0;
        b[11] = 0;
        let mut sum = 0u32;
        for w in b[..20].chunks(2) {
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        b[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    };
    let mut i = started(params(Version::V3, 100), t(0));
    let mut feed = |bytes: &[u8]| {
        let e = decode_ipv4(bytes, opts).unwrap_err();
        i.record_rx_error(&e);
        e
    };
    // Truncated: cut inside the VRRP header.
    assert!(matches!(feed(&good[..24]), RxError::Truncated { .. }));
    // Length: one address more claimed than carried.
    let mut b = good.clone();
    b[23] = 2;
    assert!(matches!(feed(&b), RxError::Length { .. }));
    // IPv4 header: IHL 4.
    let mut b = good.clone();
    b[0] = 0x44;
    refresh_ip_checksum(&mut b);
    assert!(matches!(feed(&b), RxError::Ipv4Header(_)));
    // IPv4 header checksum.
    let mut b = good.clone();
    b[10] ^= 0xff;
    assert_eq!(feed(&b), RxError::Ipv4Checksum);
    // Protocol 6.
    let mut b = good.clone();
    b[9] = 6;
    refresh_ip_checksum(&mut b);
    assert_eq!(feed(&b), RxError::Protocol(6));
    let c = i.counters().rx_errors;
    assert_eq!(
        (
            c.truncated_errors,
            c.length_errors,
            c.ipv4_header_errors,
            c.ipv4_checksum_errors,
            c.protocol_errors,
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!((c.packet_length_errors(), c.ip_header_errors()), (2, 3));
    assert_eq!(c.total(), 5);
    let json = serde_json::to_value(i.counters()).unwrap();
    let rx = &json["rx_errors"];
    assert_eq!(rx["truncated_errors"], 1);
    assert_eq!(rx["protocol_errors"], 1);
    assert_eq!(rx["packet_length_errors"], 2);
    assert_eq!(rx["ip_header_errors"], 3);
    assert_eq!(rx.as_object().unwrap().len(), 16);
}

/// Adverts sent, priority 0 sent and received, master transitions and the
/// time of the last transition, as the state machine moves.
#[test]
fn counters_follow_the_state_machine() {
    let mut i = started(params(Version::V3, 100), t(0));
    let c = i.counters().clone();
    assert_eq!(
        (c.adverts_sent, c.master_transitions, c.state_transitions),
        (0, 0, 1)
    );
    assert_eq!(c.last_transition, Some(t(0)));
    // A master advertises; receiving counts, and is no transition.
    rx(&mut i, t(500), HIGHER_IP, advert(Version::V3, 200, 100)).unwrap();
    assert_eq!(i.counters().adverts_received, 1);
    assert_eq!(i.counters().last_transition, Some(t(0)));
    // It resigns (priority 0): received, and after Skew_Time we are master
    // (one advert sent on the way in).
    rx(&mut i, t(1000), HIGHER_IP, advert(Version::V3, 0, 100)).unwrap();
    let at = Time::from_micros(1_000_000 + 609_375);
    i.handle(at, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
    let c = i.counters().clone();
    assert_eq!(
        (
            c.adverts_received,
            c.priority_zero_received,
            c.adverts_sent,
            c.priority_zero_sent,
            c.master_transitions,
            c.state_transitions,
        ),
        (2, 1, 1, 0, 1, 2)
    );
    assert_eq!(c.last_transition, Some(at));
    assert_eq!(c.new_master_reason, NewMasterReason::MasterNoResponse);
    // Three Adver_Timer rounds: three more adverts, no transition.
    let mut now = at;
    for _ in 0..3 {
        now = i.poll_timeout().unwrap();
        i.handle(now, Event::Timer).unwrap();
    }
    assert_eq!(i.counters().adverts_sent, 4);
    assert_eq!(i.counters().last_transition, Some(at));
    // A higher master takes over: to BACKUP, nothing sent.
    let back = now + Duration::from_millis(100);
    rx(&mut i, back, HIGHER_IP, advert(Version::V3, 200, 100)).unwrap();
    assert_eq!(i.state(), State::Backup);
    let c = i.counters().clone();
    assert_eq!(
        (c.adverts_sent, c.master_transitions, c.state_transitions),
        (4, 1, 3)
    );
    assert_eq!(c.last_transition, Some(back));
    // It goes silent: master again (second master transition), then a
    // clean shutdown sends priority 0.
    let down = i.poll_timeout().unwrap();
    i.handle(down, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
    let off = down + Duration::from_millis(10);
    i.handle(off, Event::Shutdown).unwrap();
    let c = i.counters().clone();
    assert_eq!(
        (
            c.adverts_sent,
            c.priority_zero_sent,
            c.master_transitions,
            c.state_transitions,
        ),
        (6, 1, 2, 5)
    );
    assert_eq!(c.last_transition, Some(off));
    assert_eq!(c.rx_errors.total(), 0);
}

/// `lower_prio_no_advert`: the master only discards a lower-priority
/// advert (RFC 5798 §6.4.3); its gratuitous ARP round still goes out, and
/// its next advert comes at the interval, not at once.
#[test]
fn lower_prio_no_advert_discards_a_lower_priority_advert_without_answering() {
    let mut p = params(Version::V3, 150);
    p.lower_prio_no_advert = true;
    let (mut i, at) = master(p);
    let next = i.poll_timeout().unwrap();
    rx(
        &mut i,
        at + Duration::from_millis(10),
        LOWER_IP,
        advert(Version::V3, 100, 100),
    )
    .unwrap();
    assert_eq!(i.state(), State::Master);
    assert_eq!(
        actions(&mut i),
        vec![Action::SendLowerPrioGratuitous, Action::MasterRxLowerPri]
    );
    assert_eq!(
        i.poll_timeout(),
        Some(next),
        "the Adver_Timer is not restarted"
    );
}

/// `higher_prio_send_advert`: one advert of our own before stepping down,
/// so that the winner sees us and renews its gratuitous ARP.
#[test]
fn higher_prio_send_advert_answers_once_before_stepping_down() {
    let mut p = params(Version::V3, 150);
    p.higher_prio_send_advert = true;
    let (mut i, at) = master(p);
    rx(&mut i, at, LOWER_IP, advert(Version::V3, 200, 100)).unwrap();
    assert_eq!(i.state(), State::Backup);
    let acts = actions(&mut i);
    assert_eq!(acts.first(), Some(&Action::SendAdvert { priority: 150 }));
    assert_eq!(
        acts.iter()
            .filter(|a| matches!(a, Action::SendAdvert { .. }))
            .count(),
        1
    );
    assert!(acts.contains(&Action::RemoveVips));
}

/// `dont_track_primary`: the instance's own link going down leaves it
/// where it was (a master stays master and keeps its VIPs).
#[test]
fn dont_track_primary_ignores_the_own_link_going_down() {
    let mut p = params(Version::V3, 150);
    p.track_primary = false;
    let (mut i, at) = master(p);
    i.handle(at, Event::LinkDown).unwrap();
    assert_eq!(i.state(), State::Master);
    assert!(!actions(&mut i).contains(&Action::RemoveVips));
    // and at startup too: a down link does not start it in FAULT
    let mut p = params(Version::V2, 100);
    p.track_primary = false;
    let mut i = Instance::new(p, t(0)).unwrap();
    i.handle(t(0), Event::LinkDown).unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    assert_eq!(i.state(), State::Backup);
}
