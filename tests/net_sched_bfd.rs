//! The `bfd_*` scheduling knobs on tandem's BFD thread ("tandem-bfd", a
//! runtime of its own), read back from /proc as `ps`/`chrt` would:
//! `bfd_priority` and `bfd_cpu_affinity` on that thread only (the daemon
//! runtime's workers keep theirs), `bfd_rt_priority` (SCHED_RR),
//! `bfd_no_swap` (locked memory) and `bfd_rlimit_rttime` (the process's
//! RLIMIT_RTTIME, one per process as with the other sides' knobs). In a
//! namespace of its own (`tdm-s9schedbfd-*`), a session to a neighbour
//! that does not answer.

mod netns;

use std::fs;

use netns::daemon::{Daemon, Scratch};
use netns::threads::{Thread, threads};
use netns::{Netns, wait_until};

fn conf(knobs: &str) -> String {
    format!(
        "global_defs {{
{knobs}}}
bfd_instance b {{
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
}}
"
    )
}

fn bfd_thread(pid: u32) -> Option<Thread> {
    threads(pid).into_iter().find(|t| t.comm == "tandem-bfd")
}

fn start(name: &str, knobs: &str) -> (Netns, Scratch, Daemon, u32) {
    let ns = Netns::with_eth0(name, "192.0.2.1/24");
    let dir = Scratch::new(name);
    let d = Daemon::start(&ns, &dir.file("t.conf", &conf(knobs)), dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || d.log().contains("BFD_Instance(b) starting")),
        "{}",
        d.log()
    );
    let pid = d.pid().unwrap_or(0);
    assert!(
        wait_until(5.0, || bfd_thread(pid).is_some()),
        "{:?}\n{}",
        threads(pid),
        d.log()
    );
    (ns, dir, d, pid)
}

#[test]
fn bfd_knobs_reach_the_bfd_thread_only() {
    let (_ns, _dir, d, pid) = start(
        "s9schedbfd-n",
        "  bfd_priority 9\n  bfd_cpu_affinity 0\n  bfd_no_swap\n  bfd_rlimit_rttime 200000\n",
    );
    let t = bfd_thread(pid).unwrap_or_default();
    assert_eq!((t.nice, t.policy, t.cpus.as_str()), (9, 0, "0"), "{t:?}");
    // The daemon runtime's threads are not the BFD side's.
    let workers: Vec<_> = threads(pid)
        .into_iter()
        .filter(|t| t.comm == "tokio-rt-worker")
        .collect();
    assert!(!workers.is_empty());
    assert!(workers.iter().all(|w| w.nice == 0), "{workers:?}");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let locked: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0);
    assert!(locked > 0, "bfd_no_swap: nothing locked\n{status}");
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let rttime = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .unwrap_or("");
    assert_eq!(
        rttime
            .split_whitespace()
            .skip(3)
            .take(2)
            .collect::<Vec<_>>(),
        // Soft limit at half, as docs/config.md says.
        ["100000", "200000"],
        "{limits}"
    );
    drop(d);
}

#[test]
fn bfd_rt_priority_makes_the_bfd_thread_round_robin() {
    let (_ns, _dir, d, pid) = start("s9schedbfd-r", "  bfd_rt_priority 3\n");
    let t = bfd_thread(pid).unwrap_or_default();
    // SCHED_RR is policy 2.
    assert_eq!((t.rt_priority, t.policy), (3, 2), "{t:?}\n{}", d.log());
    assert!(
        threads(pid)
            .iter()
            .filter(|t| t.comm == "tokio-rt-worker")
            .all(|w| w.policy == 0),
        "{:?}",
        threads(pid)
    );
}
