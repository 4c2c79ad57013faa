//! `auth_type AH` against Debian's keepalived with a different
//! `auth_pass`: neither accepts the other's adverts. keepalived logs
//! "IPSEC-AH : invalid IPSEC HMAC-MD5"; tandem counts each as an
//! authentication error in `tandem status`, hears no advert, and becomes
//! master though keepalived's priority is higher. Then the right password
//! on tandem's side (a reload): tandem accepts keepalived's adverts and
//! steps down. (The matching-password interop, both roles, multicast and
//! unicast, is tests/lab_interop.rs `v2_ah_*`.) Needs root.

mod netns;

use std::fs;

use netns::daemon::{Daemon, Scratch};
use netns::{Pair, wait_until};

const VIP: &str = "192.0.2.60";

fn conf(ifname: &str, priority: u8, pass: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface {ifname}\n  virtual_router_id 61\n  priority {priority}\n  advert_int 1\n  authentication {{\n    auth_type AH\n    auth_pass {pass}\n  }}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

/// keepalived in the foreground (`-n`), stopped with SIGTERM and waited
/// for when dropped.
struct Keepalived(std::process::Child);

impl Drop for Keepalived {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.0.id().to_string())
            .status();
        if !wait_until(10.0, || matches!(self.0.try_wait(), Ok(Some(_)))) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

#[test]
fn a_wrong_auth_pass_is_counted_and_dropped() {
    let pair = Pair::new("s7misc-ah");
    let dir = Scratch::new("s7misc-ah");
    let kconf = dir.file("k.conf", &conf("veth1", 200, "right-pw"));
    let d = dir.0.display().to_string();
    let klog = fs::File::create(dir.0.join("k.log")).unwrap();
    let _k = Keepalived(
        pair.b
            .command("keepalived")
            .args(["-n", "-l", "-D", "-f", kconf.to_str().unwrap_or("")])
            .args(["-p", &format!("{d}/k.pid"), "-r", &format!("{d}/v.pid")])
            .args(["-c", &format!("{d}/c.pid")])
            .stdout(klog.try_clone().unwrap())
            .stderr(klog)
            .spawn()
            .unwrap(),
    );
    let klog = || fs::read_to_string(dir.0.join("k.log")).unwrap_or_default();
    assert!(
        wait_until(15.0, || pair.b.has_addr("veth1", VIP)),
        "keepalived never became master:\n{}",
        klog()
    );

    let tconf = dir.file("t.conf", &conf("veth0", 100, "wrong-pw"));
    let t = Daemon::start(&pair.a, &tconf, dir.0.join("t.log"));
    // tandem hears nothing it trusts: master too, and every advert of
    // keepalived's an authentication error.
    assert!(
        wait_until(15.0, || pair.a.has_addr("veth0", VIP)),
        "tandem never became master:\n{}",
        t.log()
    );
    let counters = || t.status()["vrrp_instances"][0]["counters"].clone();
    assert!(
        wait_until(5.0, || counters()["rx_errors"]["auth_errors"]
            .as_u64()
            .is_some_and(|n| n >= 3)),
        "no auth errors counted: {}",
        counters()
    );
    assert_eq!(counters()["adverts_received"], 0, "{}", counters());
    assert!(
        t.log().contains("IPsec AH: invalid HMAC-MD5"),
        "{}",
        t.log()
    );
    assert!(
        wait_until(5.0, || klog().contains("IPSEC-AH : invalid IPSEC HMAC-MD5")),
        "keepalived accepted the wrong password:\n{}",
        klog()
    );

    // The right password, by a reload: keepalived's adverts are accepted
    // (priority 200 over 100) and tandem steps down.
    fs::write(&tconf, conf("veth0", 100, "right-pw")).unwrap();
    t.signal("-HUP");
    assert!(
        wait_until(15.0, || !pair.a.has_addr("veth0", VIP)),
        "tandem did not step down for keepalived:\n{}",
        t.log()
    );
    assert!(
        wait_until(5.0, || counters()["adverts_received"]
            .as_u64()
            .is_some_and(|n| n >= 1)),
        "{}",
        counters()
    );
    assert!(pair.b.has_addr("veth1", VIP), "{}", klog());
}
