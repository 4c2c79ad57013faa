//! `tandem run` on an interface whose IPv6 link-local address is still
//! tentative (duplicate address detection running): the VRRPv3 instance
//! waits for its source address instead of the daemon exiting.
//! Needs root; the namespace is removed on drop.

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

#[test]
fn a_tentative_link_local_source_is_waited_for() {
    const VIP6: &str = "2001:db8::100";
    let ns = Netns::new("dad");
    // A veth pair inside the namespace: DAD runs on it (not on a NOARP
    // dummy). DAD is made slow: 10 probes 1 s apart, set before the link
    // comes up so that its link-local address starts tentative.
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
    ]);
    for dev in ["eth0", "eth0p"] {
        for (k, v) in [
            (format!("net.ipv6.conf.{dev}.accept_dad"), "1"),
            (format!("net.ipv6.conf.{dev}.dad_transmits"), "10"),
            (format!("net.ipv6.neigh.{dev}.retrans_time_ms"), "1000"),
        ] {
            let out = ns.exec(&["sysctl", "-qw", &format!("{k}={v}")]);
            assert!(out.status.success(), "sysctl {k}: {out:?}");
        }
    }
    ns.ip(&["link", "set", "eth0p", "up"]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.wait_oper_up("eth0");
    let tentative = || {
        let out = ns.ip(&[
            "-6",
            "addr",
            "show",
            "dev",
            "eth0",
            "scope",
            "link",
            "tentative",
        ]);
        String::from_utf8_lossy(&out.stdout).contains("fe80::")
    };
    assert!(
        wait_until(5.0, tentative),
        "the link-local address should be tentative"
    );

    let dir = Scratch::new("dad");
    let conf = dir.file(
        "lb.conf",
        &format!(
            "vrrp_instance VI_6 {{\n interface eth0\n virtual_router_id 61\n priority 150\n advert_int 0.2\n virtual_ipaddress {{\n  {VIP6}/64\n }}\n}}\n"
        ),
    );
    let mut d = Daemon::start(&ns, &conf, dir.0.join("lb.log"));
    // While DAD runs the daemon stays up and says what it waits for.
    assert!(
        wait_until(5.0, || d.log().contains("not usable yet")),
        "no word of the tentative source address:\n{}",
        d.log()
    );
    assert!(
        tentative(),
        "DAD ended too early for the test to mean anything"
    );
    assert!(
        !d.log().contains("cannot bind"),
        "the daemon refused to start:\n{}",
        d.log()
    );
    // Meanwhile the instance stays in INIT: with advert_int 0.2 it would be
    // MASTER (holding the VIP, unheard) within a second if it started.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        tentative(),
        "DAD ended too early for the test to mean anything"
    );
    assert!(
        !ns.has_addr("eth0", VIP6),
        "the instance took the VIP before it could send an advert:\n{}",
        d.log()
    );
    assert!(
        d.log()
            .contains("stays in INIT until its source address is usable"),
        "{}",
        d.log()
    );
    // Once DAD is done, the instance adverts from its link-local address,
    // alone on the link, and holds the VIP.
    assert!(
        wait_until(25.0, || !tentative() && ns.has_addr("eth0", VIP6)),
        "no VIP after DAD finished:\n{}",
        d.log()
    );
    assert!(
        wait_until(5.0, || d.log().contains("usable now")),
        "{}",
        d.log()
    );
    d.signal("-TERM");
    assert_eq!(d.wait(10.0), Some(0), "{}", d.log());
}
