//! `unicast_fault_no_peer` in a running daemon in a namespace of its own:
//! the instance that has it and no `unicast_peer` is in FAULT (`tandem
//! status`) and never holds its VIP, though it is the address owner,
//! while the owner beside it without the keyword is MASTER with its VIP;
//! keepalived 2.2.7 with the same file does the same ("Cannot use unicast
//! without any peers - going to fault state", VI_1's VIP never set).

mod netns;

use std::time::Duration;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

const CONF: &str = "vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 255
  advert_int 1
  unicast_fault_no_peer
  virtual_ipaddress {
    192.0.2.100/32
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 62
  priority 255
  advert_int 1
  virtual_ipaddress {
    192.0.2.101/32
  }
}
";

/// VI_2 holds its VIP, then VI_1 still has none two adverts later.
fn vi1_never_holds_its_vip(ns: &Netns, log: impl Fn() -> String) {
    assert!(
        wait_until(15.0, || ns.has_addr("eth0", "192.0.2.101")),
        "VI_2 not MASTER:\n{}",
        log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!ns.has_addr("eth0", "192.0.2.100"), "{}", log());
}

#[test]
fn an_instance_without_peers_stays_in_fault() {
    let dir = Scratch::new("s12ufnp");
    let path = dir.file("keepalived.conf", CONF);
    let t = Netns::with_eth0("s12ufnp-t", "192.0.2.1/24");
    let mut d = Daemon::start(&t, &path, dir.0.join("t.log"));
    vi1_never_holds_its_vip(&t, || d.log());
    let st = d.status();
    let states: Vec<(String, String)> = st["vrrp_instances"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| (i["name"].to_string(), i["state"].to_string()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        states,
        [
            ("\"VI_1\"".to_string(), "\"FAULT\"".to_string()),
            ("\"VI_2\"".to_string(), "\"MASTER\"".to_string())
        ],
        "{st}\n{}",
        d.log()
    );
    assert!(
        d.log()
            .contains("unicast_fault_no_peer without any unicast_peer"),
        "{}",
        d.log()
    );
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());

    if require_keepalived() {
        let k = Netns::with_eth0("s12ufnp-k", "192.0.2.1/24");
        let kdir = Scratch::new("s12ufnp-k");
        let mut kd = Keepalived::start(&k, &path, &kdir.0);
        vi1_never_holds_its_vip(&k, || kd.log());
        let log = kd.log();
        assert!(
            log.contains("(VI_1) Cannot use unicast without any peers - going to fault state"),
            "{log}"
        );
        // keepalived starts it in FAULT without an "Entering" line; an
        // owner that is not MASTER two adverts on is held there.
        kd.stop();
    }
}
