//! `track_file` in the VRRP state machine: the file's value times the
//! weight moves the advertised priority, a value at or below -254 (or any
//! nonzero value with weight 0) is FAULT, and a master tells its backups
//! at once (keepalived 2.2.7, `vrrp_track.c` / `track_file.c`).

use std::net::{IpAddr, Ipv4Addr};

use tandem::vrrp::{
    Action, Auth, Event, Instance, Params, Reason, ReconfigureError, State, Time, TrackFileParams,
    Version, VrrpRepr,
};

const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn params(priority: u8, weight: i32, reverse: bool, initial_value: i64) -> Params {
    let mut p = Params::new("VI_1", 51, ME);
    p.version = Version::V2;
    p.priority = priority;
    p.vips = vec![VIP];
    p.garp_master_delay = None;
    p.track_files = vec![TrackFileParams {
        name: "tf".into(),
        weight,
        reverse,
        initial_value,
    }];
    p
}

fn actions(inst: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| inst.poll_action())
        .filter(|a| !matches!(a, Action::SetTimer { .. }))
        .collect()
}

fn started(p: Params) -> Instance {
    let mut i = Instance::new(p, t(0)).unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    actions(&mut i);
    i
}

fn master(p: Params) -> (Instance, Time) {
    let mut i = started(p);
    let at = i.poll_timeout().unwrap();
    i.handle(at, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
    actions(&mut i);
    (i, at)
}

fn value(i: &mut Instance, now: Time, value: i64) {
    i.handle(now, Event::TrackFileChanged { file: 0, value })
        .unwrap();
}

fn advert(priority: u8) -> VrrpRepr {
    VrrpRepr {
        version: Version::V2,
        vrid: 51,
        priority,
        max_adver_int: 100,
        auth: Auth::None,
        addresses: vec![VIP],
    }
}

#[test]
fn the_value_times_the_weight_is_advertised_at_once() {
    let (mut i, at) = master(params(100, 2, false, 0));
    value(&mut i, at, 20);
    assert_eq!(i.effective_priority(), 140);
    assert_eq!(actions(&mut i), vec![Action::SendAdvert { priority: 140 }]);
    value(&mut i, at, -15);
    assert_eq!(i.effective_priority(), 70);
    assert_eq!(actions(&mut i), vec![Action::SendAdvert { priority: 70 }]);
    // The same value again (a rewrite of the file) changes nothing.
    value(&mut i, at, -15);
    assert!(actions(&mut i).is_empty());
    // An unknown file index changes nothing either.
    i.handle(at, Event::TrackFileChanged { file: 3, value: 9 })
        .unwrap();
    assert_eq!(i.effective_priority(), 70);
}

#[test]
fn the_initial_value_counts_from_the_start() {
    let i = started(params(100, 1, false, 50));
    assert_eq!(i.effective_priority(), 150);
    let i = started(params(100, 10, true, 3));
    assert_eq!(i.effective_priority(), 70);
    // Capped at 253, then clamped to 254 as every tracker is.
    let i = started(params(100, 1, false, 4000));
    assert_eq!(i.effective_priority(), 254);
    let i = started(params(100, 1, false, -99));
    assert_eq!(i.effective_priority(), 1);
}

#[test]
fn minus_254_or_below_is_fault_and_a_better_value_leaves_it() {
    let (mut i, at) = master(params(100, 1, false, 0));
    value(&mut i, at, -253);
    assert_eq!(i.state(), State::Master);
    assert_eq!(i.effective_priority(), 1);
    actions(&mut i);
    value(&mut i, at, -254);
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
    value(&mut i, at, 0);
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.effective_priority(), 100);
}

#[test]
fn weight_0_means_a_nonzero_value_is_fault() {
    let mut i = started(params(100, 0, false, 7));
    assert_eq!(i.state(), State::Fault);
    assert_eq!(i.effective_priority(), 100);
    value(&mut i, t(10), 0);
    assert_eq!(i.state(), State::Backup);
    value(&mut i, t(20), -1);
    assert_eq!(i.state(), State::Fault);
    // With reverse, zero is the failure.
    let mut i = started(params(100, 0, true, 0));
    assert_eq!(i.state(), State::Fault);
    value(&mut i, t(10), 1);
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn a_backup_whose_file_raises_it_above_the_master_preempts() {
    let mut i = started(params(100, 1, false, 0));
    i.handle(
        t(100),
        Event::AdvertReceived {
            src: PEER,
            advert: advert(150),
        },
    )
    .unwrap();
    assert_eq!(i.state(), State::Backup);
    value(&mut i, t(200), 60);
    assert_eq!(i.effective_priority(), 160);
    // The master's next advert is now lower: discarded, and the down
    // timer runs out.
    i.handle(
        t(1100),
        Event::AdvertReceived {
            src: PEER,
            advert: advert(150),
        },
    )
    .unwrap();
    let at = i.poll_timeout().unwrap();
    i.handle(at, Event::Timer).unwrap();
    assert_eq!(i.state(), State::Master);
}

#[test]
fn a_reload_keeps_the_value_and_applies_a_new_weight() {
    let (mut i, at) = master(params(100, 1, false, 0));
    value(&mut i, at, 30);
    assert_eq!(i.effective_priority(), 130);
    actions(&mut i);
    i.reconfigure(at, params(100, 2, false, 0)).unwrap();
    assert_eq!(i.effective_priority(), 160);
    assert_eq!(actions(&mut i), vec![Action::SendAdvert { priority: 160 }]);
    // Another file is another virtual router's tracker set: rebuilt.
    let mut other = params(100, 2, false, 0);
    other.track_files[0].name = "tf2".into();
    assert_eq!(i.reconfigure(at, other), Err(ReconfigureError::Trackers));
}
