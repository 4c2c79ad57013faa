//! `PING_CHECK` in a running daemon: tandem in namespace `a` (192.0.2.1,
//! 2001:db8::1), the real servers in `b` (192.0.2.2, 2001:db8::2), one
//! IPv4 and one IPv6 virtual server (`s9ping-<pid>-<n>`).
//!
//! Both real servers are up while `b` answers echo requests; the IPv4 one
//! goes down when `b` ignores ICMP echo (`net.ipv4.icmp_echo_ignore_all`),
//! the IPv6 one when it ignores ICMPv6 echo
//! (`net.ipv6.icmp.echo_ignore_all`), each without touching the other, and
//! each comes back; taking `b`'s link down takes both down. Run once with
//! `a`'s default `ping_group_range` ("1 0": no ping socket, so the probe
//! uses a raw socket) and once with the range opened to every group (a
//! ping socket). keepalived's log lines for the verdicts are checked.
//! Read through tandem's own status (this machine's kernel has no IPVS).

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::{Pair, wait_until};

const CONF: &str = "virtual_server 192.0.2.100 80 {
    protocol TCP
    real_server 192.0.2.2 80 {
        weight 3
        PING_CHECK {
            retry 1
            delay_before_retry 0.2
            delay_loop 0.5
            connect_timeout 0.5
            warmup 0
        }
    }
}
virtual_server 2001:db8::100 80 {
    protocol TCP
    real_server 2001:db8::2 80 {
        weight 4
        PING_CHECK {
            retry 0
            delay_loop 0.5
            connect_timeout 0.5
            warmup 0
        }
    }
}
";

/// Whether the real server of each virtual server is alive.
fn alive(d: &Daemon) -> Vec<bool> {
    let s = d.status();
    s["virtual_servers"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| v["real_servers"][0]["alive"].as_bool().unwrap_or(false))
                .collect()
        })
        .unwrap_or_default()
}

fn expect(d: &Daemon, want: &[bool]) {
    assert!(
        wait_until(15.0, || alive(d) == want),
        "want {want:?}, have {:?}\n{}",
        alive(d),
        d.log()
    );
}

fn sysctl(pair: &Pair, key: &str, value: &str) {
    let out = pair.b.exec(&["sysctl", "-qw", &format!("{key}={value}")]);
    assert!(out.status.success(), "{out:?}");
}

fn cycle(pair: &Pair, d: &Daemon) {
    expect(d, &[true, true]);
    sysctl(pair, "net.ipv4.icmp_echo_ignore_all", "1");
    expect(d, &[false, true]);
    sysctl(pair, "net.ipv4.icmp_echo_ignore_all", "0");
    expect(d, &[true, true]);
    sysctl(pair, "net.ipv6.icmp.echo_ignore_all", "1");
    expect(d, &[true, false]);
    sysctl(pair, "net.ipv6.icmp.echo_ignore_all", "0");
    expect(d, &[true, true]);
    pair.b.ip(&["link", "set", "veth1", "down"]);
    expect(d, &[false, false]);
    pair.b.ip(&["link", "set", "veth1", "up"]);
    pair.b.wait_oper_up("veth1");
    expect(d, &[true, true]);
}

#[test]
fn ping_check_follows_echo_replies_over_raw_and_ping_sockets() {
    let pair = Pair::with_prefix("s9ping");
    let dir = Scratch::new("s9ping");
    // b's IPv6 address must outlive its link going down (the kernel
    // flushes it otherwise).
    sysctl(&pair, "net.ipv6.conf.veth1.keep_addr_on_down", "1");
    let d = Daemon::start(&pair.a, &dir.file("t.conf", CONF), dir.0.join("d.log"));
    // a's ping_group_range is the default: raw sockets.
    let range = pair.a.exec(&["cat", "/proc/sys/net/ipv4/ping_group_range"]);
    assert_eq!(
        String::from_utf8_lossy(&range.stdout)
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["1", "0"]
    );
    cycle(&pair, &d);
    let log = d.log();
    assert!(log.contains("using raw ICMP sockets"), "{log}");
    assert!(
        log.contains("ICMP CHECK on service [192.0.2.2] failed after 1 retries."),
        "{log}"
    );
    assert!(
        log.contains("ICMP CHECK on service [2001:db8::2] failed."),
        "{log}"
    );
    assert!(
        log.contains("ICMP connection to [192.0.2.2] success."),
        "{log}"
    );
    assert!(
        log.contains("ICMP connection to [2001:db8::2] success."),
        "{log}"
    );

    // Ping sockets allowed for every group (root's included): the same.
    let out = pair
        .a
        .exec(&["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]);
    assert!(out.status.success(), "{out:?}");
    cycle(&pair, &d);
}
