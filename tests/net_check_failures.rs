//! `checker_log_all_failures` (global_defs) and `log_all_failures` (one
//! checker) in a running daemon, in a namespace of its own (`s9logf-*`):
//! a TCP_CHECK of a closed port on the namespace's loopback fails on every
//! probe. With the option, each failed attempt while the checker is still
//! up is logged (retry 2: three lines, then the real server is down and
//! later failures are not logged again, as keepalived does); without it,
//! none is, only the verdict. Read through the daemon's log.

mod netns;

use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

fn conf(global: &str, checker: &str) -> String {
    format!(
        "global_defs {{
{global}}}
virtual_server 192.0.2.100 80 {{
  protocol TCP
  real_server 192.0.2.5 80 {{
    TCP_CHECK {{
      connect_ip 127.0.0.1
      connect_port 9
      retry 2
      delay_before_retry 0.2
      delay_loop 0.5
      warmup 0
{checker}    }}
  }}
}}
"
    )
}

const LINE: &str = "TCP_CHECK 127.0.0.1:9 failed: connect to 127.0.0.1:9";

fn run(name: &str, text: &str) -> String {
    let ns = Netns::new(name);
    let dir = Scratch::new(name);
    let d = Daemon::start(&ns, &dir.file("t.conf", text), dir.0.join("d.log"));
    assert!(
        wait_until(15.0, || d.log().contains("real server DOWN")),
        "{}",
        d.log()
    );
    // Several more failed probes of the checker now down.
    std::thread::sleep(Duration::from_millis(2000));
    d.log()
}

#[test]
fn the_global_option_logs_every_failure_while_the_checker_is_up() {
    let log = run("s9logf-g", &conf("  checker_log_all_failures\n", ""));
    assert_eq!(log.matches(LINE).count(), 3, "{log}");
}

#[test]
fn the_checker_s_option_does_the_same() {
    let log = run("s9logf-c", &conf("", "      log_all_failures\n"));
    assert_eq!(log.matches(LINE).count(), 3, "{log}");
}

#[test]
fn without_either_no_failure_is_logged_but_the_verdict() {
    let log = run("s9logf-n", &conf("", ""));
    assert_eq!(log.matches(LINE).count(), 0, "{log}");
    assert!(log.contains("real server DOWN"), "{log}");
}
