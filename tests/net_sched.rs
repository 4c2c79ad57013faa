//! keepalived's scheduling knobs on tandem's threads, read back from
//! /proc as `ps`/`chrt` would: `vrrp_priority` on the daemon runtime's
//! threads, `checker_priority` on the health-check thread,
//! `vrrp_cpu_affinity`, `vrrp_no_swap` (locked memory), and
//! `max_auto_priority`: a daemon stopped for a moment (SIGSTOP, as a busy
//! machine would starve it) wakes up late and goes real-time, one priority
//! step per late wake-up, up to the maximum.

mod netns;

use std::fs;
use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::threads::{Thread, threads};
use netns::{Netns, wait_until};

const VIP: &str = "192.0.2.100";

const CONF: &str = "global_defs {
  vrrp_priority -5
  checker_priority 7
  vrrp_cpu_affinity 0
  vrrp_no_swap
  max_auto_priority 2
  min_auto_priority_delay 300000
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 255
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24 dev eth0
  }
}
virtual_server 192.0.2.100 80 {
  protocol TCP
  delay_loop 1
  real_server 192.0.2.1 8080 {
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
    }
  }
}
";

fn workers(pid: u32) -> Vec<Thread> {
    threads(pid)
        .into_iter()
        .filter(|t| t.comm == "tokio-rt-worker")
        .collect()
}

fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status();
}

#[test]
fn scheduling_knobs_reach_the_threads_and_a_starved_daemon_goes_real_time() {
    let ns = Netns::with_eth0("sched", "192.0.2.1/24");
    let dir = Scratch::new("sched");
    let d = Daemon::start(&ns, &dir.file("t.conf", CONF), dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", VIP)),
        "no VIP:\n{}",
        d.log()
    );
    let pid = d.pid().expect("daemon pid");
    assert!(wait_until(5.0, || threads(pid)
        .iter()
        .any(|t| t.comm == "tandem-checks")));

    let all = threads(pid);
    let w = workers(pid);
    assert!(!w.is_empty(), "{all:?}");
    for t in &w {
        assert_eq!((t.nice, t.policy, t.cpus.as_str()), (-5, 0, "0"), "{t:?}");
    }
    let checks: Vec<&Thread> = all.iter().filter(|t| t.comm == "tandem-checks").collect();
    assert!(
        checks.iter().all(|t| t.nice == 7 && t.cpus != "0"),
        "{checks:?}"
    );
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let locked = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(locked > 0, "vrrp_no_swap did not lock memory:\n{status}");

    // Starved for a second: the next tick is late, the runtime goes
    // SCHED_RR (policy 2) at priority 1; again: 2; again: stays at the
    // maximum, 2.
    for expected in [1, 2, 2] {
        signal(pid, "-STOP");
        std::thread::sleep(Duration::from_secs(1));
        signal(pid, "-CONT");
        assert!(
            wait_until(3.0, || workers(pid)
                .iter()
                .all(|t| t.policy == 2 && t.rt_priority == expected)),
            "after a late wake-up, expected SCHED_RR {expected}: {:?}\n{}",
            workers(pid),
            d.log()
        );
    }
    assert!(d.log().contains("set realtime priority 2"), "{}", d.log());
    // The check thread was not raised: it is not the VRRP side.
    assert!(
        threads(pid)
            .iter()
            .filter(|t| t.comm == "tandem-checks")
            .all(|t| t.policy == 0),
        "{:?}",
        threads(pid)
    );
}
