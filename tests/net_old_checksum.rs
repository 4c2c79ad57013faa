//! `old_unicast_checksum` against Debian's keepalived 2.2.7 over a veth
//! pair: unicast VRRPv3 over IPv4. With the option on both sides,
//! keepalived at priority 100 takes the adverts of tandem at 200 (it stays
//! BACKUP, without the VIP), and tandem at 100 takes keepalived's at 200
//! (it stays BACKUP, adverts received, no checksum error). With keepalived at `old_unicast_checksum never` (the
//! standard checksum, no switching), the two checksums disagree: tandem
//! counts checksum errors and keepalived, deaf to tandem, takes the VIP
//! too. That the checksum is the multicast one is a codec test in
//! tests/vrrp_packet.rs.
//!
//! Needs root (namespaces) and keepalived.

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Pair, wait_until};

fn conf(prio: u8, me: &str, peer: &str, option: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
  interface {me}
  virtual_router_id 77
  version 3
  priority {prio}
  advert_int 1
  unicast_src_ip 192.0.2.{}
  unicast_peer {{
    192.0.2.{}
  }}
  {option}
  virtual_ipaddress {{
    192.0.2.100/24
  }}
}}
",
        if me == "veth0" { 1 } else { 2 },
        if peer == "veth0" { 1 } else { 2 },
    )
}

/// What a run saw after the election settled.
struct Seen {
    tandem_vip: bool,
    keepalived_vip: bool,
    checksum_errors: u64,
    adverts_received: u64,
}

/// Tandem in `a` with the option at `t_prio`, keepalived in `b` with
/// `k_option` at `k_prio`.
fn run(test: &str, k_option: &str, t_prio: u8, k_prio: u8) -> Option<Seen> {
    if !require_keepalived() {
        return None;
    }
    let p = Pair::new(test);
    let dir = Scratch::new(test);
    let t_conf = dir.file(
        "t.conf",
        &conf(t_prio, "veth0", "veth1", "old_unicast_checksum"),
    );
    let k_conf = dir.file("k.conf", &conf(k_prio, "veth1", "veth0", k_option));
    let mut d = Daemon::start(&p.a, &t_conf, dir.0.join("t.log"));
    d.wait_started();
    let mut k = Keepalived::start(&p.b, &k_conf, &dir.0);
    let someone = || p.a.has_addr("veth0", "192.0.2.100") || p.b.has_addr("veth1", "192.0.2.100");
    assert!(wait_until(15.0, someone), "nobody MASTER:\n{}", d.log());
    // The master-down timers (3 × 1 s + skew) have long run out by then.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let k_vip = p.b.has_addr("veth1", "192.0.2.100");
    let t_vip = p.a.has_addr("veth0", "192.0.2.100");
    let st = d.status();
    let errors = st["vrrp_instances"][0]["counters"]["rx_errors"]["checksum_errors"].as_u64();
    let received = st["vrrp_instances"][0]["counters"]["adverts_received"].as_u64();
    let (Some(errors), Some(received)) = (errors, received) else {
        panic!("no counters in the status: {st}");
    };
    k.stop();
    let klog = k.log();
    d.signal("-TERM");
    assert_eq!(d.wait(20.0), Some(0), "{}", d.log());
    eprintln!("keepalived ({k_option}):\n{klog}");
    eprintln!("tandem: {errors} checksum errors, {received} adverts received");
    Some(Seen {
        tandem_vip: t_vip,
        keepalived_vip: k_vip,
        checksum_errors: errors,
        adverts_received: received,
    })
}

#[test]
fn keepalived_takes_tandems_old_checksum() {
    if let Some(s) = run("oldck1", "old_unicast_checksum", 200, 100) {
        assert!(s.tandem_vip, "tandem not MASTER");
        assert!(
            !s.keepalived_vip,
            "keepalived took the VIP: it refused tandem's adverts"
        );
    }
}

#[test]
fn tandem_takes_keepaliveds_old_checksum() {
    if let Some(s) = run("oldck2", "old_unicast_checksum", 100, 200) {
        assert!(s.keepalived_vip, "keepalived not MASTER");
        assert!(
            !s.tandem_vip,
            "tandem took the VIP: it refused keepalived's adverts"
        );
        assert!(s.adverts_received > 0, "tandem received no advert");
        assert_eq!(s.checksum_errors, 0, "tandem refused keepalived's checksum");
    }
}

#[test]
fn without_it_on_the_peer_the_checksums_disagree() {
    if let Some(s) = run("oldck0", "old_unicast_checksum never", 200, 100) {
        assert!(s.keepalived_vip, "keepalived accepted the old checksum");
        assert!(
            s.checksum_errors > 0,
            "tandem took keepalived's standard checksum"
        );
    }
}
