//! `reload_check_config LOG_FILE`: keepalived checks a new file in a child
//! before it reloads; tandem always checks first and keeps the running
//! configuration when the new one is refused. With the option the check's
//! errors (file:line:col) are written to LOG_FILE at each reload, and
//! emptied by a reload that applies. In a namespace of its own
//! (`tdm-s11knobs-rc`).

mod netns;

use std::fs;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

fn conf(log: &str, priority: &str, vip: &str) -> String {
    format!(
        "global_defs {{
  reload_check_config {log}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 81
  priority {priority}
  advert_int 1
  virtual_ipaddress {{
    {vip}/32
  }}
}}
"
    )
}

#[test]
fn a_refused_reload_keeps_the_running_file_and_writes_the_check_log() {
    let ns = Netns::with_eth0("s11knobs-rc", "192.0.2.1/24");
    let dir = Scratch::new("s11knobs-rc");
    let log = dir.0.join("check.log");
    let log_s = log.to_str().unwrap().to_string();
    let path = dir.file("t.conf", &conf(&log_s, "100", "192.0.2.100"));
    let d = Daemon::start(&ns, &path, dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    // A bad priority and a new VIP: refused, nothing of it applied.
    fs::write(&path, conf(&log_s, "300", "192.0.2.101")).unwrap();
    d.signal("-HUP");
    assert!(
        wait_until(10.0, || d.log().contains("reload refused")),
        "{}",
        d.log()
    );
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("t.conf:7:12") && text.contains("priority 300 is out of range"),
        "{text}"
    );
    assert!(ns.has_addr("eth0", "192.0.2.100"));
    assert!(!ns.has_addr("eth0", "192.0.2.101"));
    assert_eq!(d.status()["config"]["reload_failures"], 1);
    // A good file: applied, and the log says nothing any more.
    fs::write(&path, conf(&log_s, "100", "192.0.2.101")).unwrap();
    d.signal("-HUP");
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", "192.0.2.101")),
        "{}",
        d.log()
    );
    assert!(wait_until(5.0, || fs::read_to_string(&log).is_ok_and(|t| t.is_empty())));
    assert!(!ns.has_addr("eth0", "192.0.2.100"));
}
