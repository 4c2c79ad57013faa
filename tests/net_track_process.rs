//! `vrrp_track_process` in a daemon in a namespace of its own, with real
//! processes: a copy of `sleep` under a name of the test's own (matched
//! by its comm) and `sleep` run with a changed argv[0] (matched by its
//! command line, `param_match`). Processes running before the start are
//! found by the /proc scan; those started or killed after, by the
//! kernel's process events. The instance's priority and state are read
//! from `tandem status --json`.

mod netns;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

/// Children of the test, killed when it ends, also on failure.
struct Procs(Vec<Child>);

impl Procs {
    fn start(&mut self, cmd: &mut Command) -> usize {
        self.0.push(cmd.spawn().expect("spawn a tracked process"));
        self.0.len() - 1
    }
    fn stop(&mut self, i: usize) {
        let _ = self.0[i].kill();
        let _ = self.0[i].wait();
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn conf(bin: &str, argv0: &str) -> String {
    format!(
        "vrrp_track_process copies {{
  process {bin}
  quorum 2
  weight -30
}}
vrrp_track_process named {{
  process {argv0} 1000
}}
vrrp_instance VI_1 {{
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/24
  }}
  track_process {{
    copies
    named
  }}
}}
"
    )
}

fn view(d: &Daemon) -> (Option<String>, Option<u64>) {
    let s = d.status();
    let i = &s["vrrp_instances"][0];
    (
        i["state"].as_str().map(str::to_owned),
        i["effective_priority"].as_u64(),
    )
}

#[test]
fn quorum_moves_the_priority_and_faults_as_processes_come_and_go() {
    let ns = Netns::with_eth0("s8trk-tp", "192.0.2.1/24");
    let dir = Scratch::new("s8trk-tp");
    // Names of this run: a comm is at most 15 bytes.
    let bin = format!("s8trk{}", std::process::id() % 10_000_000);
    let argv0 = format!("s8trkx{}", std::process::id() % 1_000_000);
    let bin_path = dir.0.join(&bin);
    std::fs::copy("/bin/sleep", &bin_path).expect("copy sleep");
    let mut procs = Procs(Vec::new());
    let copy = |p: &mut Procs| p.start(Command::new(&bin_path).arg("1000"));
    let named = |p: &mut Procs, arg: &str| p.start(Command::new("sleep").arg0(&argv0).arg(arg));
    // Before the start: one copy (below quorum 2) and the named one.
    let first = copy(&mut procs);
    named(&mut procs, "1000");
    let conf_path = dir.file("t.conf", &conf(&bin, &argv0));
    let d = Daemon::start(&ns, &conf_path, dir.0.join("d.log"));
    let want = |d: &Daemon, state: &str, prio: u64| {
        wait_until(10.0, || view(d) == (Some(state.into()), Some(prio)))
    };
    assert!(want(&d, "MASTER", 70), "{:?}\n{}", view(&d), d.log());

    // A second copy: quorum, weight -30 no longer applies.
    let second = copy(&mut procs);
    assert!(want(&d, "MASTER", 100), "{:?}\n{}", view(&d), d.log());
    procs.stop(first);
    assert!(want(&d, "MASTER", 70), "{:?}\n{}", view(&d), d.log());
    let third = copy(&mut procs);
    assert!(want(&d, "MASTER", 100), "{:?}\n{}", view(&d), d.log());

    // The named process (weight 0) gone: FAULT; one with other arguments
    // does not match; the right one brings the instance back.
    procs.stop(1);
    assert!(want(&d, "FAULT", 100), "{:?}\n{}", view(&d), d.log());
    let other = named(&mut procs, "999");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(view(&d).0.as_deref(), Some("FAULT"), "{}", d.log());
    named(&mut procs, "1000");
    assert!(want(&d, "MASTER", 100), "{:?}\n{}", view(&d), d.log());
    assert!(
        d.log().contains("Quorum lost for tracked process named"),
        "{}",
        d.log()
    );
    procs.stop(other);
    procs.stop(second);
    procs.stop(third);
    assert!(want(&d, "MASTER", 70), "{:?}\n{}", view(&d), d.log());
}
