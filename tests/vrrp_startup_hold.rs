//! `vrrp_startup_delay` in the state machine ([`Event::StartupHold`]): an
//! instance starts in Backup, the owner too, and no Master_Down_Timer can
//! end before the hold does (keepalived's delayed start: every timer runs
//! from the end of the delay while it lasts); adverts heard meanwhile are
//! followed, so a backup that hears its master stays backup.

use std::net::{IpAddr, Ipv4Addr};

use tandem::vrrp::{Auth, Event, Instance, Params, State, Time, Version, VrrpRepr};

const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn held(priority: u8, hold_ms: u64) -> Instance {
    let mut p = Params::new("VI_1", 51, ME);
    p.version = Version::V2;
    p.priority = priority;
    p.vips = vec![VIP];
    let mut i = Instance::new(p, t(0)).unwrap();
    i.handle(t(0), Event::StartupHold { until: t(hold_ms) })
        .unwrap();
    i.handle(t(0), Event::Startup).unwrap();
    while i.poll_action().is_some() {}
    i
}

/// Runs the instance's own timers up to `end`; the time it became master.
fn run_until(i: &mut Instance, end: Time) -> Option<Time> {
    while let Some(at) = i.poll_timeout() {
        if at > end {
            break;
        }
        i.handle(at, Event::Timer).unwrap();
        while i.poll_action().is_some() {}
        if i.state() == State::Master {
            return Some(at);
        }
    }
    None
}

#[test]
fn a_backup_times_out_only_a_master_down_interval_after_the_hold() {
    let mut i = held(100, 5000);
    assert_eq!(i.state(), State::Backup);
    let mdi = i.master_down_interval();
    assert_eq!(i.poll_timeout(), Some(t(5000) + mdi));
    assert_eq!(run_until(&mut i, t(60_000)), Some(t(5000) + mdi));
}

#[test]
fn an_advert_during_the_hold_restarts_the_timer_from_the_hold() {
    let mut i = held(100, 5000);
    let mdi = i.master_down_interval();
    let advert = VrrpRepr {
        version: Version::V2,
        vrid: 51,
        priority: 200,
        max_adver_int: 100,
        auth: Auth::None,
        addresses: vec![VIP],
    };
    i.handle(
        t(4000),
        Event::AdvertReceived {
            src: PEER,
            advert: advert.clone(),
        },
    )
    .unwrap();
    assert_eq!(i.poll_timeout(), Some(t(5000) + mdi));
    // After the hold, timers run from now again.
    i.handle(t(6000), Event::AdvertReceived { src: PEER, advert })
        .unwrap();
    assert_eq!(i.poll_timeout(), Some(t(6000) + mdi));
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn the_owner_waits_in_backup_and_takes_over_when_the_hold_ends() {
    let mut i = held(255, 3000);
    assert_eq!(i.state(), State::Backup);
    assert_eq!(run_until(&mut i, t(60_000)), Some(t(3000)));
}

#[test]
fn a_hold_already_over_changes_nothing() {
    let mut p = Params::new("VI_1", 51, ME);
    p.priority = 255;
    p.vips = vec![VIP];
    let mut i = Instance::new(p, t(0)).unwrap();
    i.handle(t(2000), Event::StartupHold { until: t(1000) })
        .unwrap();
    i.handle(t(2000), Event::Startup).unwrap();
    assert_eq!(i.state(), State::Master);
}
