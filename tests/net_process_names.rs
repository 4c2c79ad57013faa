//! `process_name`, `vrrp_process_name`, `checker_process_name`,
//! `bfd_process_name` and `process_names`: keepalived names its parent
//! and its three child processes; tandem, one process, names its main
//! thread (whose name is the process's: `/proc/PID/comm`, what `ps` and
//! `pgrep` match) and the threads of each side, read back from /proc. In
//! a namespace of its own (`tdm-s11knobs-pn*`): a VRRP instance, a
//! TCP_CHECK and a BFD session to a neighbour that does not answer.

mod netns;

use std::collections::BTreeSet;
use std::fs;

use netns::daemon::{Daemon, Scratch};
use netns::threads::threads;
use netns::{Netns, wait_until};

fn conf(knobs: &str) -> String {
    format!(
        "global_defs {{
{knobs}}}
bfd_instance b {{
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 71
  priority 100
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/32
  }}
}}
virtual_server 192.0.2.100 80 {{
  protocol TCP
  real_server 192.0.2.5 80 {{
    TCP_CHECK {{
      connect_ip 127.0.0.1
      connect_port 9
      delay_loop 1
    }}
  }}
}}
"
    )
}

/// The process's name and the set of its threads' names, once the BFD
/// and check threads run.
fn names(name: &str, knobs: &str) -> (String, BTreeSet<String>) {
    let ns = Netns::with_eth0(name, "192.0.2.1/24");
    let dir = Scratch::new(name);
    let d = Daemon::start(&ns, &dir.file("t.conf", &conf(knobs)), dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || d.log().contains("BFD_Instance(b) starting")
            && ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    let pid = d.pid().unwrap_or(0);
    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let all = threads(pid).into_iter().map(|t| t.comm).collect();
    (comm, all)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_side_s_threads_take_their_process_name() {
    let (comm, all) = names(
        "s11knobs-pn",
        "  process_name tdm-main\n  vrrp_process_name tdm-vrrp\n  checker_process_name tdm-chk\n  bfd_process_name tdm-bfd\n",
    );
    assert_eq!(comm, "tdm-main");
    assert_eq!(all, set(&["tdm-main", "tdm-vrrp", "tdm-chk", "tdm-bfd"]));
}

#[test]
fn process_names_gives_keepalived_s_child_names_and_keeps_the_process_s() {
    let (comm, all) = names("s11knobs-pnd", "  process_names\n");
    assert_eq!(comm, "tandem");
    assert_eq!(
        all,
        set(&[
            "tandem",
            "keepalived_vrrp",
            "keepalived_lvs",
            "keepalived_bfd"
        ])
    );
}

#[test]
fn without_the_knobs_the_threads_keep_tandem_s_names() {
    let (comm, all) = names("s11knobs-pnn", "");
    assert_eq!(comm, "tandem");
    assert_eq!(
        all,
        set(&["tandem", "tokio-rt-worker", "tandem-checks", "tandem-bfd"])
    );
}
