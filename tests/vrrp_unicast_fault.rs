//! `unicast_fault_no_peer`: a vrrp_instance that has it and no
//! `unicast_peer` goes from INIT to FAULT and stays there (keepalived
//! 2.2.7's config fault, "Cannot use unicast without any peers - going to
//! fault state"), where without it it would run by multicast; with peers
//! it changes nothing. The state machine (no I/O) and check-config.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use tandem::config::{LoadOptions, load_str};
use tandem::vrrp::{Action, Auth, Event, Instance, Params, Reason, State, Time, VrrpRepr};

const ME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

fn actions(inst: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| inst.poll_action())
        .filter(|a| !matches!(a, Action::SetTimer { .. }))
        .collect()
}

fn params(priority: u8, config_fault: bool) -> Params {
    let mut p = Params::new("VI_1", 51, ME);
    p.priority = priority;
    p.vips = vec![VIP];
    p.config_fault = config_fault;
    p
}

#[test]
fn a_config_fault_starts_in_fault_and_nothing_clears_it() {
    // The owner too: it would otherwise become MASTER at once.
    for prio in [100, 255] {
        let mut i = Instance::new(params(prio, true), Time::from_millis(0)).unwrap();
        i.handle(Time::from_millis(0), Event::Startup).unwrap();
        assert_eq!(i.state(), State::Fault);
        assert_eq!(
            actions(&mut i),
            [
                Action::StateChanged {
                    from: State::Initialize,
                    to: State::Fault,
                    reason: Reason::ConfigFault
                },
                Action::Notify {
                    state: State::Fault
                }
            ]
        );
        // No advert, no timer: a silent master would not take over either.
        assert_eq!(i.poll_timeout(), None);
        let later = Time::from_millis(60_000);
        i.handle(later, Event::LinkDown).unwrap();
        i.handle(later, Event::LinkUp).unwrap();
        let advert = VrrpRepr {
            version: tandem::vrrp::Version::V2,
            vrid: 51,
            priority: 50,
            max_adver_int: 100,
            auth: Auth::None,
            addresses: vec![VIP],
        };
        let _ = i.handle(later, Event::AdvertReceived { src: OTHER, advert });
        assert_eq!(i.state(), State::Fault);
        assert!(
            !actions(&mut i)
                .iter()
                .any(|a| matches!(a, Action::AddVips | Action::SendAdvert { .. })),
        );
    }
    // Without it the owner is MASTER at start.
    let mut i = Instance::new(params(255, false), Time::from_millis(0)).unwrap();
    i.handle(Time::from_millis(0), Event::Startup).unwrap();
    assert_eq!(i.state(), State::Master);
}

#[test]
fn a_reload_that_adds_peers_clears_it_and_one_that_removes_them_sets_it() {
    let at = Time::from_millis(0);
    let mut i = Instance::new(params(255, true), at).unwrap();
    i.handle(at, Event::Startup).unwrap();
    actions(&mut i);
    let later = Time::from_millis(5_000);
    i.reconfigure(later, params(255, false)).unwrap();
    assert_eq!(i.state(), State::Master);
    assert!(actions(&mut i).contains(&Action::StateChanged {
        from: State::Fault,
        to: State::Master,
        reason: Reason::FaultCleared
    }));
    i.reconfigure(later, params(255, true)).unwrap();
    assert_eq!(i.state(), State::Fault);
    assert!(actions(&mut i).contains(&Action::RemoveVips));
}

fn check(inst: &str) -> Vec<String> {
    let text = format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {{\n    192.0.2.100\n  }}\n{inst}}}\n"
    );
    let l = load_str(
        Path::new("t.conf"),
        text,
        &LoadOptions::with_config_id("main"),
    );
    let msgs = l.diagnostics.iter().map(|d| d.to_string()).collect();
    if let Some(c) = l.config {
        let want = inst.contains("unicast_fault_no_peer");
        assert_eq!(c.vrrp_instances[0].unicast_fault_no_peer, want);
    }
    msgs
}

#[test]
fn check_config_reads_it_and_warns_without_peers() {
    assert_eq!(
        check("  unicast_fault_no_peer\n"),
        [
            "t.conf:7:3: warning: vrrp_instance VI_1: unicast_fault_no_peer without any unicast_peer: the instance stays in FAULT (keepalived 2.2.7: \"Cannot use unicast without any peers - going to fault state\")"
        ]
    );
    // An empty unicast_peer block is no peer either.
    assert_eq!(
        check("  unicast_peer {\n  }\n  unicast_fault_no_peer\n").len(),
        1
    );
    // With a peer: unicast as usual, nothing to say.
    let m = check("  unicast_fault_no_peer\n  unicast_peer {\n    192.0.2.5\n  }\n");
    assert!(m.is_empty(), "{m:?}");
    // A bare keyword, as every such flag of tandem's.
    let m = check("  unicast_fault_no_peer yes\n");
    assert!(
        m.iter()
            .any(|l| l == "t.conf:7:25: error: unexpected \"yes\" after \"unicast_fault_no_peer\""),
        "{m:?}"
    );
}
