//! The matching and quorum rules of [`Table`], event by event.

use super::*;
use crate::config::Origin;

fn tracker(name: &str, process: &str) -> TrackProcess {
    TrackProcess {
        name: name.into(),
        process: process.into(),
        params: Vec::new(),
        param_match: ParamMatch::None,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: u32::MAX,
        fork_delay: Duration::ZERO,
        terminate_delay: Duration::ZERO,
        full_command: false,
        origin: Origin::default(),
    }
}

fn comm(c: &str) -> ProcInfo<'_> {
    ProcInfo {
        comm: Some(c.as_bytes()),
        cmdline: None,
    }
}

fn line(l: &[u8]) -> ProcInfo<'_> {
    ProcInfo {
        comm: None,
        cmdline: Some(l),
    }
}

fn up(t: &Table, name: &str) -> bool {
    t.quorums()[name]
}

#[test]
fn comm_or_the_first_word_of_the_command_line_is_compared() {
    let mut full = tracker("f", "/usr/sbin/httpd");
    full.full_command = true;
    let mut t = Table::new(&[tracker("c", "httpd"), full]);
    assert_eq!(t.wants(), (true, true));
    t.initial([
        (10, comm("httpd")),
        (11, comm("httpd2")),
        (12, line(b"/usr/sbin/httpd\0-k\0")),
        (13, line(b"httpd\0")),
    ]);
    assert_eq!(t.count("c"), Some(1));
    assert_eq!(t.count("f"), Some(1));
    assert!(up(&t, "c") && up(&t, "f"));
}

#[test]
fn param_match_exact_partial_initial() {
    let spec = |m: ParamMatch, params: &[&str]| {
        let mut s = tracker("p", "srv");
        s.params = params.iter().map(|p| p.to_string()).collect();
        s.param_match = m;
        s.full_command = true;
        Spec::new(&s)
    };
    let m = |s: &Spec, l: &[u8]| s.matches(&line(l)) == Some(true);
    let exact = spec(ParamMatch::Exact, &["-a", "x"]);
    assert!(m(&exact, b"srv\0-a\0x\0"));
    assert!(!m(&exact, b"srv\0-a\0x\0y\0"));
    assert!(!m(&exact, b"srv\0-a\0"));
    // param_match with no words: only a command with no arguments.
    let none = spec(ParamMatch::Exact, &[]);
    assert!(m(&none, b"srv\0"));
    assert!(!m(&none, b"srv\0-a\0"));
    let partial = spec(ParamMatch::Partial, &["-a"]);
    assert!(m(&partial, b"srv\0-a\0x\0"));
    assert!(!m(&partial, b"srv\0-ab\0"));
    assert!(!m(&partial, b"srv\0x\0-a\0"));
    let initial = spec(ParamMatch::Initial, &["-a", "conf"]);
    assert!(m(&initial, b"srv\0-a\0config.yml\0"));
    assert!(!m(&initial, b"srv\0-b\0config.yml\0"));
    // No param_match: any arguments.
    let mut any = tracker("p", "srv");
    any.full_command = true;
    assert!(m(&Spec::new(&any), b"srv\0whatever\0"));
}

#[test]
fn forks_count_exits_uncount_and_quorum_follows() {
    let mut tp = tracker("p", "worker");
    tp.quorum = 2;
    tp.quorum_max = 3;
    let mut t = Table::new(&[tp]);
    let now = Instant::now();
    t.initial([(1, comm("worker")), (2, comm("bash"))]);
    assert!(!up(&t, "p"));
    assert!(t.take_changed());
    t.on_fork(now, 2, 3); // untracked parent
    assert_eq!(t.count("p"), Some(1));
    t.on_fork(now, 1, 4);
    assert!(up(&t, "p") && t.take_changed());
    t.on_fork(now, 4, 5);
    t.on_fork(now, 1, 6); // 4 > quorum_max
    assert!(!up(&t, "p"));
    t.on_exit(now, 6);
    assert!(up(&t, "p"));
    t.on_exit(now, 99);
    t.on_exit(now, 5);
    t.on_exit(now, 4);
    assert!(!up(&t, "p"));
    assert_eq!(t.count("p"), Some(1));
}

#[test]
fn exec_and_comm_changes_are_looked_at_afresh() {
    let mut t = Table::new(&[tracker("p", "daemon")]);
    let now = Instant::now();
    t.initial([(1, comm("bash"))]);
    assert!(!up(&t, "p"));
    t.on_exec(now, 1, &comm("daemon"));
    assert!(up(&t, "p"));
    // A second exec of the same program counts once.
    t.on_exec(now, 1, &comm("daemon"));
    assert_eq!(t.count("p"), Some(1));
    t.on_comm(now, 1, b"daemon");
    assert_eq!(t.count("p"), Some(1));
    t.on_comm(now, 1, b"renamed");
    assert!(!up(&t, "p"));
    t.on_comm(now, 1, b"daemon");
    assert!(up(&t, "p"));
    t.on_exec(now, 1, &comm("sleep"));
    assert!(!up(&t, "p"));
    t.on_exec(now, 1, &ProcInfo::default()); // gone already
    assert_eq!(t.count("p"), Some(0));
}

#[test]
fn delays_hold_fork_gains_and_exit_losses_only() {
    let mut tp = tracker("p", "w");
    tp.fork_delay = Duration::from_secs(2);
    tp.terminate_delay = Duration::from_secs(3);
    let mut t = Table::new(&[tp]);
    let t0 = Instant::now();
    t.initial([(1, comm("w"))]);
    assert!(up(&t, "p"));
    t.take_changed();
    t.on_exit(t0, 1);
    assert!(up(&t, "p"), "the loss waits for terminate_delay");
    assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    t.handle_timeout(t0 + Duration::from_secs(1));
    assert!(up(&t, "p"));
    t.handle_timeout(t0 + Duration::from_secs(3));
    assert!(!up(&t, "p") && t.take_changed());
    assert_eq!(t.poll_timeout(), None);
    // Gained by exec: at once, whatever fork_delay says.
    t.on_exec(t0, 2, &comm("w"));
    assert!(up(&t, "p"));
    // Lost and back before terminate_delay: no change at all.
    t.take_changed();
    t.on_exit(t0, 2);
    t.on_exec(t0, 3, &comm("w"));
    assert!(up(&t, "p") && !t.take_changed());
    assert_eq!(t.poll_timeout(), None);
    // A fork gain waits for fork_delay; an exit before cancels it.
    t.on_exec(t0, 3, &comm("x"));
    assert!(!up(&t, "p"));
    t.on_exec(t0, 4, &comm("w"));
    t.on_exec(t0, 4, &comm("y"));
    t.take_changed();
    t.on_exec(t0, 5, &comm("w"));
    t.on_exit(t0, 5); // terminate_delay pending now
    t.on_fork(t0, 6, 7); // untracked
    t.rescan(t0, [(8, comm("w"))]);
    assert!(up(&t, "p"));
}

#[test]
fn a_fork_gain_waits_for_fork_delay() {
    let mut tp = tracker("p", "w");
    tp.quorum = 2;
    tp.fork_delay = Duration::from_secs(2);
    let mut t = Table::new(&[tp]);
    let t0 = Instant::now();
    t.initial([(1, comm("w"))]);
    t.on_fork(t0, 1, 2);
    assert!(!up(&t, "p"));
    t.handle_timeout(t0 + Duration::from_secs(2));
    assert!(up(&t, "p"));
    // Cancelled by an exit before it runs out.
    t.on_exit(t0, 2);
    assert!(!up(&t, "p"));
    t.on_fork(t0, 1, 3);
    t.on_exit(t0, 3);
    assert_eq!(t.poll_timeout(), None);
    assert!(!up(&t, "p"));
}

#[test]
fn quorum_max_0_means_none_may_run() {
    let mut tp = tracker("p", "forbidden");
    tp.quorum = 0;
    tp.quorum_max = 0;
    let mut t = Table::new(&[tp]);
    let now = Instant::now();
    t.initial([]);
    assert!(up(&t, "p"));
    t.on_exec(now, 5, &comm("forbidden"));
    assert!(!up(&t, "p"));
    t.on_exit(now, 5);
    assert!(up(&t, "p"));
}

#[test]
fn after_lost_events_a_rescan_recounts() {
    let mut tp = tracker("p", "w");
    tp.terminate_delay = Duration::from_secs(1);
    let mut t = Table::new(&[tp]);
    let t0 = Instant::now();
    t.initial([(1, comm("w")), (2, comm("w"))]);
    t.rescan(t0, [(3, comm("w"))]);
    assert_eq!(t.count("p"), Some(1));
    t.rescan(t0, []);
    assert!(
        up(&t, "p"),
        "a loss found by a rescan waits for terminate_delay"
    );
    t.handle_timeout(t0 + Duration::from_secs(1));
    assert!(!up(&t, "p"));
}
