//! The virtual-server logic driven by the real retry schedule on a virtual
//! clock: checkers, real servers whose health is a function of time, and
//! assertions on the table and the actions a user would see.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::check::{CheckEvent, CheckSchedule, CheckTiming, CheckerId, Report, Step};
use crate::ipvs::types::{
    DestKey, Forward, Protocol, Scheduler, Service, ServiceKey, VirtualService,
};

/// The weight of destination `addr` in a service, if present.
trait WeightOf {
    fn weight_of(&self, addr: SocketAddr) -> Option<i32>;
}

impl WeightOf for VirtualService {
    fn weight_of(&self, addr: SocketAddr) -> Option<i32> {
        self.destinations
            .get(&DestKey {
                addr: addr.ip(),
                port: addr.port(),
            })
            .map(|d| d.weight)
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn service() -> Service {
    Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "192.0.2.2".parse().unwrap(),
            port: 80,
        },
        Scheduler::Rr,
    )
}

/// A script line as the configuration would give it (run as root).
fn script(line: &str) -> crate::notify::script::Script {
    crate::notify::script::Script {
        argv: line.split(' ').map(str::to_string).collect(),
        run_as: crate::notify::script::RunAs::ROOT,
    }
}

fn rs(a: &str, checkers: &[usize]) -> RealServerSpec {
    RealServerSpec {
        addr: addr(a),
        weight: 1,
        inhibit_on_failure: false,
        forward: Forward::Masq,
        u_threshold: 0,
        l_threshold: 0,
        notify_up: Some(script(&format!("/bin/notify up {a}"))),
        notify_down: Some(script(&format!("/bin/notify down {a}"))),
        checkers: checkers.iter().map(|&c| CheckerId(c)).collect(),
        file_checks: Vec::new(),
    }
}

fn vs(real_servers: Vec<RealServerSpec>) -> VirtualServerSpec {
    VirtualServerSpec {
        services: vec![service()],
        quorum: 1,
        hysteresis: 0,
        quorum_up: Some(script("/bin/quorum up")),
        quorum_down: Some(script("/bin/quorum down")),
        sorry_server: None,
        omega: false,
        real_servers,
    }
}

/// The seed's virtual server: rr, two real servers with inhibit_on_failure,
/// a sorry server, HTTP_GET with delay_loop 5, retry 3, delay_before_retry 3.
fn seed() -> VirtualServerSpec {
    let mut v = vs(vec![
        rs("198.51.100.10:80", &[0]),
        rs("198.51.100.11:80", &[1]),
    ]);
    for r in &mut v.real_servers {
        r.inhibit_on_failure = true;
    }
    v.sorry_server = Some(SorryServer {
        addr: addr("192.0.2.100:80"),
        weight: 1,
        inhibit: false,
        forward: Forward::Masq,
    });
    v
}

fn seed_timing() -> CheckTiming {
    CheckTiming {
        delay_loop: Duration::from_secs(5),
        retry: 3,
        delay_before_retry: Duration::from_secs(3),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    }
}

fn ev(c: usize, report: Report) -> CheckEvent {
    CheckEvent {
        checker: CheckerId(c),
        report,
        detail: None,
    }
}

/// A real server's health as a function of virtual time.
type Health = Box<dyn Fn(Duration) -> bool>;

/// A discrete-event simulation: each checker has a schedule and a health
/// function of time; events are fed to the state in time order.
struct Sim {
    state: LvsState,
    checkers: Vec<(CheckSchedule, Health)>,
    log: Vec<(Duration, Action)>,
    tables: Vec<(Duration, VirtualService)>,
}

impl Sim {
    fn new(spec: VirtualServerSpec, timing: CheckTiming, health: Vec<Health>) -> Self {
        let state = LvsState::new(vec![spec], |_| !timing.alpha);
        let checkers = health
            .into_iter()
            .map(|h| (CheckSchedule::new(timing), h))
            .collect();
        let mut sim = Self {
            state,
            checkers,
            log: Vec::new(),
            tables: Vec::new(),
        };
        sim.snapshot(Duration::ZERO);
        sim
    }

    fn snapshot(&mut self, now: Duration) {
        let t = self.state.desired(VsIndex(0)).remove(0);
        if self.tables.last().map(|(_, last)| last) != Some(&t) {
            self.tables.push((now, t));
        }
    }

    fn run(&mut self, until: Duration) {
        // next probe time per checker
        let mut next: BTreeMap<usize, Duration> = (0..self.checkers.len())
            .map(|i| (i, self.checkers[i].0.first_delay(0.0)))
            .collect();
        while let Some((&i, &now)) = next.iter().min_by_key(|(i, t)| (**t, **i)) {
            if now > until {
                break;
            }
            let (sched, health) = &mut self.checkers[i];
            let Step {
                next: wait,
                reports,
            } = if health(now) {
                sched.on_pass(None)
            } else {
                sched.on_fail()
            };
            for r in reports {
                for a in self.state.on_check(&ev(i, r)) {
                    self.log.push((now, a));
                }
            }
            self.snapshot(now);
            next.insert(i, now + wait);
        }
    }

    fn table_at(&self, t: Duration) -> &VirtualService {
        &self
            .tables
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .expect("snapshot at 0")
            .1
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn both_up_table_has_both_at_their_weight() {
    let s = LvsState::new(vec![seed()], |_| true);
    let t = s.desired(VsIndex(0)).remove(0);
    assert_eq!(t.weight_of(addr("198.51.100.10:80")), Some(1));
    assert_eq!(t.weight_of(addr("198.51.100.11:80")), Some(1));
    assert_eq!(t.weight_of(addr("192.0.2.100:80")), None, "no sorry server");
    assert_eq!(s.quorum_up(VsIndex(0)), Some(true));
}

#[test]
fn seed_rs1_dies_inhibited_after_retries_then_returns() {
    // rs1 (checker 0) dies at t=12 and returns at t=40; rs2 stays up.
    let mut sim = Sim::new(
        seed(),
        seed_timing(),
        vec![
            Box::new(|t: Duration| !(12..40).contains(&t.as_secs())),
            Box::new(|_| true),
        ],
    );
    sim.run(secs(60));
    let rs1 = addr("198.51.100.10:80");
    let rs2 = addr("198.51.100.11:80");
    // Until the third retry fails (15 + 3*3 = 24) rs1 keeps its weight.
    assert_eq!(sim.table_at(secs(23)).weight_of(rs1), Some(1));
    // Then weight 0 (inhibit_on_failure), not removed; rs2 untouched.
    assert_eq!(sim.table_at(secs(24)).weight_of(rs1), Some(0));
    assert_eq!(sim.table_at(secs(24)).weight_of(rs2), Some(1));
    // Back at the first passing check after it returned (44).
    assert_eq!(sim.table_at(secs(43)).weight_of(rs1), Some(0));
    assert_eq!(sim.table_at(secs(44)).weight_of(rs1), Some(1));
    // Quorum never lost (rs2 alone has weight 1 = quorum).
    assert_eq!(
        sim.log,
        vec![
            (
                secs(24),
                Action::RealServerDown {
                    vs: VsIndex(0),
                    rs: rs1,
                    notify: Some(script("/bin/notify down 198.51.100.10:80")),
                    reason: None,
                    checker: Some(CheckerId(0)),
                }
            ),
            (
                secs(44),
                Action::RealServerUp {
                    vs: VsIndex(0),
                    rs: rs1,
                    notify: Some(script("/bin/notify up 198.51.100.10:80")),
                    checker: Some(CheckerId(0)),
                }
            ),
        ]
    );
}

#[test]
fn seed_both_die_sorry_server_then_one_back() {
    // rs1 dies at 12 and returns at 50; rs2 dies at 12 for good.
    let mut sim = Sim::new(
        seed(),
        seed_timing(),
        vec![
            Box::new(|t: Duration| !(12..50).contains(&t.as_secs())),
            Box::new(|t: Duration| t.as_secs() < 12),
        ],
    );
    sim.run(secs(80));
    let rs1 = addr("198.51.100.10:80");
    let rs2 = addr("198.51.100.11:80");
    let sorry = addr("192.0.2.100:80");
    // Both declared down at 24 -> quorum lost -> sorry server in, real
    // servers at weight 0 (inhibit_on_failure).
    let t = sim.table_at(secs(24));
    assert_eq!(t.weight_of(sorry), Some(1));
    assert_eq!(t.weight_of(rs1), Some(0));
    assert_eq!(t.weight_of(rs2), Some(0));
    // rs1 passes at 54 (the first probe after 50): out of sorry mode.
    assert_eq!(sim.table_at(secs(53)).weight_of(sorry), Some(1));
    let t = sim.table_at(secs(54));
    assert_eq!(t.weight_of(sorry), None, "sorry server removed");
    assert_eq!(t.weight_of(rs1), Some(1));
    assert_eq!(t.weight_of(rs2), Some(0));
    let quorum: Vec<_> = sim
        .log
        .iter()
        .filter(|(_, a)| matches!(a, Action::QuorumUp { .. } | Action::QuorumDown { .. }))
        .cloned()
        .collect();
    assert_eq!(
        quorum,
        vec![
            (
                secs(24),
                Action::QuorumDown {
                    vs: VsIndex(0),
                    notify: Some(script("/bin/quorum down")),
                    sorry: true
                }
            ),
            (
                secs(54),
                Action::QuorumUp {
                    vs: VsIndex(0),
                    notify: Some(script("/bin/quorum up")),
                    sorry: true
                }
            ),
        ]
    );
}

#[test]
fn without_inhibit_dead_server_is_removed_and_sorry_mode_removes_alive_ones() {
    let mut v = vs(vec![
        rs("198.51.100.10:80", &[0]),
        rs("198.51.100.11:80", &[1]),
    ]);
    v.quorum = 2;
    v.sorry_server = Some(SorryServer {
        addr: addr("192.0.2.100:80"),
        weight: 1,
        inhibit: true,
        forward: Forward::Masq,
    });
    let mut s = LvsState::new(vec![v], |_| true);
    let t = s.desired(VsIndex(0)).remove(0);
    // sorry_server_inhibit: present at weight 0 while quorum holds.
    assert_eq!(t.weight_of(addr("192.0.2.100:80")), Some(0));
    s.on_check(&ev(0, Report::Down));
    let t = s.desired(VsIndex(0)).remove(0);
    // Quorum 2 lost with one server down: the alive one is taken out too.
    assert_eq!(t.weight_of(addr("198.51.100.10:80")), None);
    assert_eq!(t.weight_of(addr("198.51.100.11:80")), None);
    assert_eq!(t.weight_of(addr("192.0.2.100:80")), Some(1));
    s.on_check(&ev(0, Report::Up));
    let t = s.desired(VsIndex(0)).remove(0);
    assert_eq!(t.weight_of(addr("198.51.100.10:80")), Some(1));
    assert_eq!(t.weight_of(addr("198.51.100.11:80")), Some(1));
    assert_eq!(t.weight_of(addr("192.0.2.100:80")), Some(0));
}

#[test]
fn without_sorry_server_quorum_loss_only_notifies() {
    let mut s = LvsState::new(vec![vs(vec![rs("198.51.100.10:80", &[0])])], |_| true);
    let a = s.on_check(&ev(0, Report::Down));
    assert!(matches!(
        a.as_slice(),
        [
            Action::RealServerDown { .. },
            Action::QuorumDown { sorry: false, .. }
        ]
    ));
    let t = s.desired(VsIndex(0)).remove(0);
    assert!(t.destinations.is_empty());
}

#[test]
fn all_checkers_must_pass() {
    // One real server with two checkers (0 and 1).
    let mut s = LvsState::new(vec![vs(vec![rs("198.51.100.10:80", &[0, 1])])], |_| true);
    let rs1 = addr("198.51.100.10:80");
    assert_eq!(s.on_check(&ev(0, Report::Down)).len(), 2); // down + quorum
    // The second checker failing too changes nothing but that checker
    // (reported for keepalived's per-checker mail).
    assert!(matches!(
        s.on_check(&ev(1, Report::Down)).as_slice(),
        [Action::CheckerChanged {
            passed: false,
            alive: false,
            ..
        }]
    ));
    // One of two passing again is not enough.
    assert!(matches!(
        s.on_check(&ev(0, Report::Up)).as_slice(),
        [Action::CheckerChanged {
            passed: true,
            alive: false,
            ..
        }]
    ));
    // A repeated verdict is no change at all.
    assert!(s.on_check(&ev(0, Report::Up)).is_empty());
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), None);
    let a = s.on_check(&ev(1, Report::Up));
    assert!(matches!(a[0], Action::RealServerUp { .. }));
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(1));
}

#[test]
fn hysteresis_dampens_quorum_flaps() {
    // Four servers of weight 1, quorum 3, hysteresis 1: lost below 2,
    // regained at 4.
    let mut v = vs(vec![
        rs("198.51.100.10:80", &[0]),
        rs("198.51.100.11:80", &[1]),
        rs("198.51.100.12:80", &[2]),
        rs("198.51.100.13:80", &[3]),
    ]);
    v.quorum = 3;
    v.hysteresis = 1;
    let mut s = LvsState::new(vec![v], |_| true);
    let quorum_changes = |a: Vec<Action>| {
        a.into_iter()
            .filter(|a| matches!(a, Action::QuorumUp { .. } | Action::QuorumDown { .. }))
            .count()
    };
    assert_eq!(quorum_changes(s.on_check(&ev(0, Report::Down))), 0); // 3
    assert_eq!(quorum_changes(s.on_check(&ev(1, Report::Down))), 0); // 2
    assert_eq!(s.quorum_up(VsIndex(0)), Some(true));
    assert_eq!(quorum_changes(s.on_check(&ev(2, Report::Down))), 1); // 1 < 2
    assert_eq!(s.quorum_up(VsIndex(0)), Some(false));
    assert_eq!(quorum_changes(s.on_check(&ev(2, Report::Up))), 0); // 2
    assert_eq!(quorum_changes(s.on_check(&ev(1, Report::Up))), 0); // 3 < 4
    assert_eq!(s.quorum_up(VsIndex(0)), Some(false));
    assert_eq!(quorum_changes(s.on_check(&ev(0, Report::Up))), 1); // 4
    assert_eq!(s.quorum_up(VsIndex(0)), Some(true));
}

#[test]
fn quorum_counts_weights() {
    let mut v = vs(vec![
        rs("198.51.100.10:80", &[0]),
        rs("198.51.100.11:80", &[1]),
    ]);
    v.real_servers[0].weight = 5;
    v.quorum = 5;
    let mut s = LvsState::new(vec![v], |_| true);
    s.on_check(&ev(1, Report::Down));
    assert_eq!(s.quorum_up(VsIndex(0)), Some(true), "5 alive >= 5");
    s.on_check(&ev(0, Report::Down));
    s.on_check(&ev(1, Report::Up));
    assert_eq!(s.quorum_up(VsIndex(0)), Some(false), "1 alive < 5");
}

#[test]
fn alpha_starts_in_sorry_mode_until_a_check_passes() {
    let mut timing = seed_timing();
    timing.alpha = true;
    let mut sim = Sim::new(
        seed(),
        timing,
        vec![Box::new(|_| true), Box::new(|t: Duration| t.as_secs() >= 7)],
    );
    // At start nothing has passed: sorry server only, real servers at 0.
    let t0 = sim.table_at(Duration::ZERO).clone();
    assert_eq!(t0.weight_of(addr("192.0.2.100:80")), Some(1));
    assert_eq!(t0.weight_of(addr("198.51.100.10:80")), Some(0));
    sim.run(secs(20));
    let t = sim.table_at(secs(0));
    // Checker 0 passes at its first probe (t=0) -> quorum up at once.
    assert_eq!(t.weight_of(addr("198.51.100.10:80")), Some(1));
    assert_eq!(t.weight_of(addr("192.0.2.100:80")), None);
    // Checker 1 fails at 0 and 5 (down: no retries), passes at 10.
    assert_eq!(
        sim.table_at(secs(9)).weight_of(addr("198.51.100.11:80")),
        Some(0)
    );
    assert_eq!(
        sim.table_at(secs(10)).weight_of(addr("198.51.100.11:80")),
        Some(1)
    );
}

#[test]
fn dynamic_weight_from_misc_check() {
    let mut s = LvsState::new(vec![vs(vec![rs("198.51.100.10:80", &[0])])], |_| true);
    s.on_check(&ev(0, Report::Weight(8)));
    let rs1 = addr("198.51.100.10:80");
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(8));
    // Weight 0 from the script: alive but takes no new connections, and
    // counts 0 towards the quorum.
    let a = s.on_check(&ev(0, Report::Weight(0)));
    assert!(matches!(a.as_slice(), [Action::QuorumDown { .. }]), "{a:?}");
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(0));
}

#[test]
fn one_checker_shared_by_two_virtual_servers() {
    // The same real server, checked the same way (one deduplicated
    // checker 0), in two virtual servers: one verdict updates both.
    let mut v2 = vs(vec![rs("198.51.100.10:80", &[0])]);
    v2.services[0].key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: "192.0.2.3".parse().unwrap(),
        port: 80,
    };
    let mut s = LvsState::new(vec![vs(vec![rs("198.51.100.10:80", &[0])]), v2], |_| true);
    let a = s.on_check(&ev(0, Report::Down));
    let downs: Vec<VsIndex> = a
        .iter()
        .filter_map(|a| match a {
            Action::RealServerDown { vs, .. } => Some(*vs),
            _ => None,
        })
        .collect();
    assert_eq!(downs, vec![VsIndex(0), VsIndex(1)]);
    assert!(s.desired(VsIndex(1))[0].destinations.is_empty());
}

#[test]
fn omega_runs_down_notifiers_at_shutdown() {
    let mut v = vs(vec![
        rs("198.51.100.10:80", &[0]),
        rs("198.51.100.11:80", &[1]),
    ]);
    let s = LvsState::new(vec![v.clone()], |_| true);
    assert!(s.shutdown().is_empty(), "no omega, nothing at shutdown");
    v.omega = true;
    let mut s = LvsState::new(vec![v], |_| true);
    s.on_check(&ev(1, Report::Down));
    let a = s.shutdown();
    assert_eq!(a.len(), 2, "{a:?}");
    assert!(matches!(&a[0], Action::RealServerDown { rs, .. } if *rs == addr("198.51.100.10:80")));
    assert!(matches!(&a[1], Action::QuorumDown { .. }));
}

#[test]
fn server_without_checkers_is_always_alive() {
    let s = LvsState::new(vec![vs(vec![rs("198.51.100.10:80", &[])])], |_| false);
    assert_eq!(
        s.desired(VsIndex(0))[0].weight_of(addr("198.51.100.10:80")),
        Some(1)
    );
}

#[test]
fn master_only_table() {
    let s = LvsState::new(vec![seed()], |_| true);
    let g = Governance::new(
        &[governance::InstanceVips {
            name: "VI_1".into(),
            vips: vec!["192.0.2.2".parse().unwrap()],
        }],
        &[vec!["192.0.2.2".parse().unwrap()]],
    );
    assert!(
        s.desired_table(|v| g.programs(v, |_| false))
            .services
            .is_empty(),
        "backup: no rules"
    );
    let t = s.desired_table(|v| g.programs(v, |n| n == "VI_1"));
    assert_eq!(t.services.len(), 1, "master: the full table");
    assert_eq!(t.dest_count(), 2);
}

/// Reload: the verdict of a checker is read back by id, so that a new
/// build can start the same check from it.
#[test]
fn checker_up_tells_the_current_verdict() {
    let mut s = LvsState::new(
        vec![vs(vec![
            rs("198.51.100.10:80", &[0]),
            rs("198.51.100.11:80", &[1]),
        ])],
        |_| true,
    );
    s.on_check(&ev(0, Report::Down));
    assert_eq!(s.checker_up(CheckerId(0)), Some(false));
    assert_eq!(s.checker_up(CheckerId(1)), Some(true));
    assert_eq!(s.checker_up(CheckerId(7)), None);
}

/// Reload: a virtual server with the same services keeps a lost quorum
/// (its sorry server stays in use) instead of starting over as up; one
/// with other services starts from its checks.
#[test]
fn quorum_state_carries_over_for_the_same_services() {
    let mut spec = vs(vec![
        rs("198.51.100.10:80", &[0]),
        rs("198.51.100.11:80", &[1]),
    ]);
    spec.quorum = 2;
    spec.hysteresis = 1;
    let mut old = LvsState::new(vec![spec.clone()], |_| true);
    old.on_check(&ev(0, Report::Down));
    old.on_check(&ev(1, Report::Down));
    assert_eq!(old.quorum_up(VsIndex(0)), Some(false));
    // Both back up in the new build: alive weight 2 < quorum + hysteresis
    // 3, so the quorum stays lost, as it would have without the reload.
    let mut new = LvsState::new(vec![spec.clone()], |_| true);
    assert_eq!(new.quorum_up(VsIndex(0)), Some(true));
    let actions = new.carry_quorum(&old);
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(new.quorum_up(VsIndex(0)), Some(false));
    // A build whose only virtual server has other services carries nothing.
    let mut other = spec;
    other.services = vec![Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "192.0.2.3".parse().unwrap(),
            port: 80,
        },
        Scheduler::Rr,
    )];
    let mut fresh = LvsState::new(vec![other], |_| true);
    assert!(fresh.carry_quorum(&old).is_empty());
    assert_eq!(fresh.quorum_up(VsIndex(0)), Some(true));
}

fn file_rs(a: &str, weight: u32, file: &str, w: i32, reverse: bool) -> RealServerSpec {
    let mut r = rs(a, &[]);
    r.weight = weight;
    r.file_checks = vec![crate::lvs::FileCheckSpec {
        track_file: file.into(),
        weight: w,
        reverse,
    }];
    r
}

#[test]
fn a_file_check_adds_value_times_weight_to_the_real_server_weight() {
    let rs1 = addr("198.51.100.10:80");
    let mut s = LvsState::new(
        vec![vs(vec![file_rs("198.51.100.10:80", 10, "tf", 3, false)])],
        |_| true,
    );
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(10));
    assert!(s.on_track_file("tf", 5).is_empty());
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(25));
    // Another file changes nothing.
    assert!(s.on_track_file("other", 99).is_empty());
    assert_eq!(s.real_server_weight(VsIndex(0), 0), Some(25));
    // Below zero the IPVS weight is 0: alive, no new connections, and the
    // quorum (1) is lost.
    let a = s.on_track_file("tf", -4);
    assert!(matches!(a.as_slice(), [Action::QuorumDown { .. }]), "{a:?}");
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(0));
    assert_eq!(s.real_server_alive(VsIndex(0), 0), Some(true));
    // Reverse negates the product.
    let mut s = LvsState::new(
        vec![vs(vec![file_rs("198.51.100.10:80", 10, "tf", 3, true)])],
        |_| true,
    );
    s.on_track_file("tf", -2);
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(16));
}

#[test]
fn a_weight_0_file_check_takes_the_real_server_down_on_a_nonzero_value() {
    let rs1 = addr("198.51.100.10:80");
    let mut s = LvsState::new(
        vec![vs(vec![file_rs("198.51.100.10:80", 2, "tf", 0, false)])],
        |_| true,
    );
    let a = s.on_track_file("tf", 1);
    assert!(
        matches!(a.as_slice(), [Action::RealServerDown { checker: None, reason: Some(r), .. }, Action::QuorumDown { .. }] if r.contains("tf holds 1")),
        "{a:?}"
    );
    assert!(s.desired(VsIndex(0))[0].destinations.is_empty());
    let a = s.on_track_file("tf", 0);
    assert!(
        matches!(
            a.as_slice(),
            [Action::RealServerUp { .. }, Action::QuorumUp { .. }]
        ),
        "{a:?}"
    );
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(2));
    // With reverse, zero is the failure.
    let mut s = LvsState::new(
        vec![vs(vec![file_rs("198.51.100.10:80", 2, "tf", 0, true)])],
        |_| true,
    );
    s.seed_track_files(&std::collections::BTreeMap::new());
    assert_eq!(s.real_server_alive(VsIndex(0), 0), Some(false));
    assert_eq!(s.quorum_up(VsIndex(0)), Some(false));
}

#[test]
fn a_file_check_fails_at_the_smallest_int_as_keepalived() {
    let f = crate::lvs::FileCheckSpec {
        track_file: "tf".into(),
        weight: 1,
        reverse: false,
    };
    use crate::lvs::FileCheckEffect::{Down, Weight};
    assert_eq!(
        f.effect(i64::from(i32::MIN) + 1),
        Weight(i64::from(i32::MIN) + 1)
    );
    assert_eq!(f.effect(i64::from(i32::MIN)), Down);
    let big = crate::lvs::FileCheckSpec {
        weight: 1000,
        ..f.clone()
    };
    assert_eq!(big.effect(-3_000_000), Down);
    assert_eq!(big.effect(3_000_000), Weight(i64::from(i32::MAX)));
    // The IPVS weight stays within i32.
    let rs1 = addr("198.51.100.10:80");
    let mut s = LvsState::new(
        vec![vs(vec![file_rs(
            "198.51.100.10:80",
            65535,
            "tf",
            1000,
            false,
        )])],
        |_| true,
    );
    s.on_track_file("tf", 3_000_000);
    assert_eq!(s.desired(VsIndex(0))[0].weight_of(rs1), Some(i32::MAX));
}

#[test]
fn seeded_file_values_start_a_real_server_down_without_a_notify() {
    let mut s = LvsState::new(
        vec![vs(vec![file_rs("198.51.100.10:80", 1, "tf", 0, false)])],
        |_| true,
    );
    s.seed_track_files(&[("tf".to_string(), 3)].into_iter().collect());
    assert_eq!(s.real_server_alive(VsIndex(0), 0), Some(false));
    assert_eq!(s.quorum_up(VsIndex(0)), Some(false));
    // The same value again is no change.
    assert!(s.on_track_file("tf", 3).is_empty());
}
