//! `BFD_CHECK` in a running daemon, against Debian's keepalived 2.2.7 as
//! the BFD peer on the real servers' side, in two namespaces
//! (`s9bfdc-<pid>-<n>`) joined by a veth pair: tandem in `a` (192.0.2.1),
//! keepalived in `b` (192.0.2.2) running only a `bfd_instance`.
//!
//! Two real servers follow tandem's session to keepalived; one plain, one
//! with `inhibit_on_failure`. Before keepalived runs the session is Down,
//! so both are down (the plain one out of the table, the inhibited one in
//! it with weight 0), with keepalived's log line; once keepalived answers
//! the session comes Up and both come back with their weights; killing
//! keepalived takes them down again, and a new keepalived brings them
//! back. Read through tandem's own status (this machine's kernel has no
//! IPVS: the table is what tandem would program).
//!
//! Needs root and /usr/sbin/keepalived; skipped without them, except under
//! `CI=true`, where a missing keepalived fails.

mod netns;

use std::path::Path;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::Keepalived;
use netns::{Netns, Pair, wait_until};

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let ka = Path::new("/usr/sbin/keepalived").exists();
    if std::env::var("CI").as_deref() == Ok("true") {
        assert!(euid == 0 && ka, "CI: needs root and /usr/sbin/keepalived");
    }
    if euid != 0 || !ka {
        eprintln!("skipped: needs root and /usr/sbin/keepalived");
    }
    euid == 0 && ka
}

/// Debian's keepalived as the BFD peer, its files numbered `n`.
fn keepalived(ns: &Netns, dir: &Scratch, n: u32, conf: &str) -> Keepalived {
    let path = dir.file(&format!("keepalived{n}.conf"), conf);
    Keepalived::start_bfd(ns, &path, &dir.0, &format!("keepalived{n}"))
}

const KA_PEER: &str = "bfd_instance to_tandem {
    neighbor_ip 192.0.2.1
    source_ip 192.0.2.2
    min_rx 50
    min_tx 50
    multiplier 3
}
";

const TANDEM: &str = "bfd_instance to_ka {
    neighbor_ip 192.0.2.2
    source_ip 192.0.2.1
    min_rx 50
    min_tx 50
    multiplier 3
}
virtual_server 192.0.2.100 80 {
    protocol TCP
    real_server 192.0.2.2 80 {
        weight 7
        BFD_CHECK {
            name to_ka
        }
    }
    real_server 192.0.2.3 80 {
        weight 5
        inhibit_on_failure
        BFD_CHECK {
            name to_ka
        }
    }
}
";

/// (effective weight, alive, inhibited) of each real server, in order.
fn real_servers(d: &Daemon) -> Vec<(i64, bool, bool)> {
    let s = d.status();
    s["virtual_servers"][0]["real_servers"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["effective_weight"].as_i64().unwrap_or(-1),
                        r["alive"].as_bool().unwrap_or(false),
                        r["inhibited"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn expect(d: &Daemon, want: &[(i64, bool, bool)], ka: Option<&Keepalived>) {
    assert!(
        wait_until(10.0, || real_servers(d) == want),
        "want {want:?}, have {:?}\n{}\n{}",
        real_servers(d),
        d.log(),
        ka.map(Keepalived::log).unwrap_or_default()
    );
}

fn count(log: &str, line: &str) -> usize {
    log.matches(line).count()
}

const DOWN_1: &str = "BFD check of [to_ka] RS([192.0.2.2]:tcp:80) is DOWN";
const DOWN_2: &str = "BFD check of [to_ka] RS([192.0.2.3]:tcp:80) is DOWN";
const UP_1: &str = "BFD check of [to_ka] RS([192.0.2.2]:tcp:80) is UP";
const UP_2: &str = "BFD check of [to_ka] RS([192.0.2.3]:tcp:80) is UP";

#[test]
fn real_servers_follow_the_bfd_session_to_keepalived() {
    if !root() {
        return;
    }
    let pair = Pair::with_prefix("s9bfdc");
    let dir = Scratch::new("s9bfdc");
    let d = Daemon::start(
        &pair.a,
        &dir.file("tandem.conf", TANDEM),
        dir.0.join("tandem.log"),
    );
    // No peer yet: the session is Down, so are both real servers; the
    // inhibited one stays in the table with weight 0.
    expect(&d, &[(0, false, false), (0, false, true)], None);
    assert!(
        wait_until(5.0, || count(&d.log(), DOWN_2) == 1),
        "{}",
        d.log()
    );
    assert_eq!(count(&d.log(), DOWN_1), 1, "{}", d.log());
    assert_eq!(
        d.status()["virtual_servers"][0]["real_servers"][0]["last_check"]["checker"],
        "BFD_CHECK"
    );

    // keepalived answers: Up, both back at their weights.
    let mut ka = keepalived(&pair.b, &dir, 1, KA_PEER);
    expect(&d, &[(7, true, false), (5, true, false)], Some(&ka));
    assert_eq!(count(&d.log(), UP_1), 1, "{}", d.log());
    assert_eq!(count(&d.log(), UP_2), 1, "{}", d.log());

    // The peer killed: tandem's session times out (150 ms), both down.
    ka.kill();
    expect(&d, &[(0, false, false), (0, false, true)], None);
    assert_eq!(count(&d.log(), DOWN_1), 2, "{}", d.log());
    assert_eq!(count(&d.log(), DOWN_2), 2, "{}", d.log());

    // A new peer: back again.
    let ka = keepalived(&pair.b, &dir, 2, KA_PEER);
    expect(&d, &[(7, true, false), (5, true, false)], Some(&ka));
    assert_eq!(count(&d.log(), UP_1), 2, "{}", d.log());
    assert_eq!(count(&d.log(), UP_2), 2, "{}", d.log());
}
