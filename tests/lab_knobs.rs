//! keepalived's VRRP knobs on the wire, in the namespace lab, with
//! Debian's keepalived as the peer where the wire is involved:
//!
//! - `unicast_ttl` + `unicast_peer … min_ttl/max_ttl`: tandem's unicast
//!   adverts leave with the configured TTL (keepalived, checking the range
//!   4-5, accepts them; the default 255 would be dropped), and tandem
//!   accepts keepalived's TTL-5 adverts in the same range;
//! - a peer whose adverts arrive outside its range is dropped, logged and
//!   counted: tandem, not hearing its master, becomes master beside it;
//! - `dont_track_primary`: the master whose own link loses its carrier
//!   stays MASTER with its VIP (without it, FAULT).
//!
//! `TANDEM_LAB_DAEMON=keepalived` runs the last one with keepalived on both
//! sides (a check of the test itself).

mod lab;

use std::time::Duration;

use lab::{Kind, Lab, Node, VIP_IN, Vrrp};

fn unicast_v2() -> Vrrp {
    Vrrp {
        unicast: true,
        sync_group: false,
        inner: false,
        ..Vrrp::default()
    }
}

#[test]
fn unicast_ttl_and_peer_ttl_range_interoperate_with_keepalived() {
    let vrrp = Vrrp {
        knobs: ["unicast_ttl 5", "unicast_ttl 5"],
        peer_opts: ["min_ttl 4 max_ttl 5", "min_ttl 4 max_ttl 5"],
        ..unicast_v2()
    };
    let mut lab = Lab::with_kinds("kttl", vrrp, [Kind::Tandem, Kind::Keepalived]);
    lab.start_both();
    // keepalived (lb2) follows tandem's adverts: they carry TTL 5.
    lab.assert_master(Node::Lb1);
    lab.kill_machine(Node::Lb1);
    lab.assert_master(Node::Lb2);
    // tandem comes back as backup, hears keepalived's TTL-5 adverts
    // within its range, and preempts by priority.
    lab.revive(Node::Lb1);
    lab.assert_master(Node::Lb1);
    let ka = lab.log(Node::Lb2);
    assert!(
        !ka.contains("not in range") && !ka.contains("invalid TTL"),
        "keepalived refused tandem's TTL:\n{}",
        lab.report()
    );
    assert!(
        !lab.log(Node::Lb1).contains("dropped advert"),
        "tandem dropped keepalived's adverts:\n{}",
        lab.report()
    );
}

#[test]
fn a_peer_outside_its_ttl_range_is_dropped_and_not_followed() {
    // keepalived (lb1, the higher priority) sends TTL 5; tandem (lb2)
    // wants 6-9 from it, so it never hears a master and takes over too.
    let vrrp = Vrrp {
        knobs: ["unicast_ttl 5", ""],
        peer_opts: ["", "min_ttl 6 max_ttl 9"],
        ..unicast_v2()
    };
    let mut lab = Lab::with_kinds("kttlx", vrrp, [Kind::Keepalived, Kind::Tandem]);
    lab.start_both();
    lab.wait_for("both to report MASTER", lab::SETTLE, |l| {
        Node::BOTH
            .iter()
            .all(|n| l.state(*n, "VI_OUT").as_deref() == Some("MASTER"))
            .then_some(())
    });
    let log = lab.log(Node::Lb2);
    assert!(
        log.contains("TTL/hop limit 5 is outside the peer's range 6-9"),
        "tandem did not say why it dropped its peer's adverts:\n{}",
        lab.report()
    );
}

#[test]
fn dont_track_primary_keeps_master_when_its_own_link_goes_down() {
    let vrrp = Vrrp {
        sync_group: false,
        knobs: ["dont_track_primary", "dont_track_primary"],
        ..Vrrp::default()
    };
    let mut lab = Lab::new("kdtp", vrrp);
    lab.start_both();
    lab.assert_master(Node::Lb1);
    lab.inner_cable(Node::Lb1, false);
    // lb2 no longer hears lb1 on the inner link and takes VI_IN too ...
    lab.wait_for("lb2 to take VI_IN", lab::SETTLE, |l| {
        (l.state(Node::Lb2, "VI_IN").as_deref() == Some("MASTER")).then_some(())
    });
    // ... while lb1, not tracking its own link, stays MASTER with the VIP.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        lab.state(Node::Lb1, "VI_IN").as_deref(),
        Some("MASTER"),
        "{}",
        lab.report()
    );
    assert!(
        lab.holders(VIP_IN).contains(&Node::Lb1),
        "lb1 gave up {VIP_IN}:\n{}",
        lab.report()
    );
    lab.inner_cable(Node::Lb1, true);
    lab.assert_master(Node::Lb1);
}
