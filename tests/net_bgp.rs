//! `tandem_bgp` with real BIRD 2 daemons, in namespaces of their own
//! (`tdm-s10bgp-*`): a router namespace runs BIRD with an eBGP session to
//! each of two balancer namespaces, each balancer runs BIRD and `tandem
//! run`. The router's kernel table (`ip -j route`, BIRD's kernel protocol
//! with `merge paths`) and `birdc show route` are the readers: the VIP's
//! route has one nexthop per balancer whose virtual server has its quorum;
//! a balancer loses its nexthop when its real server's TCP_CHECK fails and
//! when tandem gets SIGTERM (while tandem still runs: the drain), and gets
//! it back when the check passes again or tandem starts again; after
//! kill -9 (no withdrawal sent) BIRD withdraws on its own, as the kernel
//! removes tandem's liveness device, which its routes point at. An IPv6
//! VIP (`tdm-s12bgp6-*`, one balancer, an IPv6-only session) goes out as a
//! /128 and is withdrawn on quorum loss the same way. This
//! machine's kernel has no IPVS: the checks and the quorum run all the
//! same (tandem logs that it cannot program the table), which is all this
//! test needs.

mod netns;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use netns::daemon::{Daemon, Scratch};
use netns::{Lan, Netns, wait_until};

const VIP: &str = "203.0.113.10";
/// The router is node 0 of the LAN (192.0.2.1), the balancers nodes 1, 2.
const BALANCERS: [&str; 2] = ["192.0.2.2", "192.0.2.3"];

/// A child process killed when dropped (BIRD, the real server).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bird(ns: &Netns, dir: &Path, name: &str, conf: &str) -> Proc {
    let path = dir.join(format!("{name}.bird.conf"));
    std::fs::write(&path, conf).unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.bird.log"))).unwrap();
    let child = ns
        .command("bird")
        .arg("-f")
        .arg("-c")
        .arg(&path)
        .arg("-s")
        .arg(dir.join(format!("{name}.ctl")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start bird (apt-get install bird2): {e}"));
    Proc(child)
}

fn router_conf() -> String {
    let mut c = String::from(
        "router id 192.0.2.1;
protocol device {}
protocol kernel { ipv4 { export all; }; merge paths yes; }
template bgp lb {
  local 192.0.2.1 as 64500;
  connect retry time 1;
  ipv4 { import all; export none; };
}
",
    );
    for (i, ip) in BALANCERS.iter().enumerate() {
        c.push_str(&format!(
            "protocol bgp lb{n} from lb {{ neighbor {ip} as {as_}; }}\n",
            n = i + 1,
            as_ = 64511 + i
        ));
    }
    c
}

fn balancer_bird_conf(dir: &Path, i: usize) -> String {
    format!(
        "router id {ip};
protocol device {{}}
include \"{dir}/lb{n}-vips.conf\";
protocol bgp upstream {{
  local {ip} as {as_};
  neighbor 192.0.2.1 as 64500;
  connect retry time 1;
  ipv4 {{ import none; export where proto = \"tandem4\"; }};
}}
",
        ip = BALANCERS[i],
        n = i + 1,
        as_ = 64511 + i,
        dir = dir.display()
    )
}

fn tandem_conf(dir: &Path, i: usize) -> String {
    format!(
        "virtual_server {VIP} 80 {{
  protocol TCP
  lvs_sched mh
  tandem_bgp {{
    bird_socket {dir}/lb{n}.ctl
    include_file {dir}/lb{n}-vips.conf
    drain_delay 3
  }}
  real_server 192.0.2.50 80 {{
    inhibit_on_failure
    TCP_CHECK {{
      connect_ip 127.0.0.1
      connect_port 8080
      connect_timeout 1
      retry 0
      delay_loop 0.3
      warmup 0
    }}
  }}
}}
",
        n = i + 1,
        dir = dir.display()
    )
}

/// The real server's check target: a TCP listener on the balancer's
/// loopback.
fn listener(ns: &Netns) -> Proc {
    let child = ns
        .command("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", "8080"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3: {e}"));
    Proc(child)
}

/// The gateways of the VIP's route in the router's kernel table.
fn nexthops(router: &Netns) -> BTreeSet<String> {
    gateways(router, "-4", VIP)
}

/// The gateways of the route to exactly `dst` (a host route: `ip route
/// show` selects the exact prefix) in the router's kernel table.
fn gateways(router: &Netns, family: &str, dst: &str) -> BTreeSet<String> {
    let out = router.ip(&[family, "-j", "route", "show", dst]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut set = BTreeSet::new();
    for r in v.as_array().into_iter().flatten() {
        if let Some(g) = r["gateway"].as_str() {
            set.insert(g.to_string());
        }
        for nh in r["nexthops"].as_array().into_iter().flatten() {
            if let Some(g) = nh["gateway"].as_str() {
                set.insert(g.to_string());
            }
        }
    }
    set
}

/// The `via` lines of the VIP's routes in the router's BIRD.
fn bird_vias(router: &Netns, dir: &Path) -> BTreeSet<String> {
    vias(&birdc_show_route(router, dir, &format!("{VIP}/32")))
}

/// `birdc show route PREFIX` on the router's BIRD.
fn birdc_show_route(router: &Netns, dir: &Path, prefix: &str) -> String {
    let out = router
        .command("birdc")
        .arg("-s")
        .arg(dir.join("router.ctl"))
        .args(["show", "route", prefix])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `via` addresses of `birdc show route`'s output.
fn vias(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("via "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn expect(router: &Netns, dir: &Path, want: &[&str], logs: &[&Daemon], what: &str) {
    expect_kernel(router, want, logs, what);
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(bird_vias(router, dir), want, "{what}: birdc show route");
}

/// The router's kernel route has exactly `want`'s gateways (within 20 s).
fn expect_kernel(router: &Netns, want: &[&str], logs: &[&Daemon], what: &str) {
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    let start = std::time::Instant::now();
    let ok = wait_until(20.0, || nexthops(router) == want);
    // The figure docs/scale-out.md quotes (not asserted: a loaded machine).
    eprintln!("{what}: router's kernel route after {:?}", start.elapsed());
    let logs: String = logs
        .iter()
        .map(|d| d.log())
        .collect::<Vec<_>>()
        .join("\n----\n");
    assert!(
        ok,
        "{what}: want nexthops {want:?}, kernel has {:?}\n{logs}",
        nexthops(router)
    );
}

fn alive(d: &Daemon) -> bool {
    d.pid()
        .is_some_and(|p| Path::new(&format!("/proc/{p}/stat")).exists())
}

#[test]
fn the_vip_has_one_nexthop_per_balancer_with_quorum() {
    if Command::new("bird").arg("--version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "bird2 is missing under CI");
        eprintln!("skipped: bird (Debian's bird2) is not installed");
        return;
    }
    let lan = Lan::new("s10bgp", 3);
    let dir = Scratch::new("s10bgp");
    let d = &dir.0;
    let (router, lbs) = (&lan.nodes[0], &lan.nodes[1..]);
    let _router_bird = bird(router, d, "router", &router_conf());
    let mut birds = Vec::new();
    let mut checks = Vec::new();
    let mut tandems = Vec::new();
    for (i, ns) in lbs.iter().enumerate() {
        // BIRD needs the include file to start; tandem rewrites it.
        std::fs::write(
            d.join(format!("lb{}-vips.conf", i + 1)),
            "protocol static tandem4 { ipv4; }\nprotocol static tandem6 { ipv6; }\n",
        )
        .unwrap();
        birds.push(bird(
            ns,
            d,
            &format!("lb{}", i + 1),
            &balancer_bird_conf(d, i),
        ));
        checks.push(Some(listener(ns)));
    }
    for (i, ns) in lbs.iter().enumerate() {
        let conf = dir.file(&format!("lb{}.conf", i + 1), &tandem_conf(d, i));
        tandems.push(Daemon::start(ns, &conf, d.join(format!("lb{}.log", i + 1))));
    }
    expect(
        router,
        d,
        &BALANCERS,
        &[&tandems[0], &tandems[1]],
        "both with quorum",
    );

    // lb1's real server stops answering: quorum lost, nexthop withdrawn.
    checks[0] = None;
    expect(
        router,
        d,
        &BALANCERS[1..],
        &[&tandems[0]],
        "lb1 lost its quorum",
    );
    checks[0] = Some(listener(&lbs[0]));
    expect(
        router,
        d,
        &BALANCERS,
        &[&tandems[0]],
        "lb1 has its quorum again",
    );

    // SIGTERM: withdrawn while tandem still forwards (drain_delay 3).
    tandems[0].signal("-TERM");
    expect(router, d, &BALANCERS[1..], &[&tandems[0]], "lb1 stopping");
    assert!(
        alive(&tandems[0]),
        "the withdrawal came only at exit:\n{}",
        tandems[0].log()
    );
    assert_eq!(tandems[0].wait(15.0), Some(0), "{}", tandems[0].log());
    let log = tandems[0].log();
    assert!(log.contains("VIPs withdrawn; still forwarding"), "{log}");

    // Started again: announced again.
    let conf = d.join("lb1.conf");
    tandems[0] = Daemon::start(&lbs[0], &conf, d.join("lb1-again.log"));
    expect(router, d, &BALANCERS, &[&tandems[0]], "lb1 started again");

    // kill -9: nothing of tandem runs, its include file still lists the
    // VIP, yet the kernel removed the liveness device and BIRD withdrew.
    assert!(
        lbs[0]
            .exec(&["ip", "link", "show", "tandem-bgp"])
            .status
            .success()
    );
    tandems[0].signal("-KILL");
    tandems[0].wait(5.0);
    expect(router, d, &BALANCERS[1..], &[&tandems[0]], "lb1 killed");
    let left = std::fs::read_to_string(d.join("lb1-vips.conf")).unwrap();
    assert!(left.contains(VIP), "{left}");
    assert!(
        !lbs[0]
            .exec(&["ip", "link", "show", "tandem-bgp"])
            .status
            .success()
    );
    tandems[0] = Daemon::start(&lbs[0], &conf, d.join("lb1-third.log"));
    expect(
        router,
        d,
        &BALANCERS,
        &[&tandems[0]],
        "lb1 after kill -9, started again",
    );
    drop(tandems);
    drop(birds);
}

/// FRR as the router (docs/scale-out.md's example): zebra and bgpd with
/// their files in `dir/frr` (Debian's /etc/frr and /run/frr are left
/// alone). They drop to user frr, who must write that directory.
fn frr(ns: &Netns, dir: &Path) -> (Proc, Proc) {
    let d = dir.join("frr");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut conf = String::from(
        "frr defaults traditional
hostname router
router bgp 64500
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 bgp bestpath as-path multipath-relax
",
    );
    for (i, ip) in BALANCERS.iter().enumerate() {
        conf.push_str(&format!(
            " neighbor {ip} remote-as {}\n neighbor {ip} timers connect 1\n",
            64511 + i
        ));
    }
    conf.push_str(" address-family ipv4 unicast\n  maximum-paths 8\n exit-address-family\n");
    let file = d.join("frr.conf");
    std::fs::write(&file, conf).unwrap();
    let start = |daemon: &str| {
        let log = format!("file:{}/{daemon}.log", d.display());
        let child = ns
            .command(&format!("/usr/lib/frr/{daemon}"))
            .arg("-f")
            .arg(&file)
            .arg("-i")
            .arg(d.join(format!("{daemon}.pid")))
            .arg("-z")
            .arg(d.join("zserv.api"))
            .arg("--vty_socket")
            .arg(&d)
            .args(["-P", "0", "--log", &log])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {daemon} (apt-get install frr): {e}"));
        Proc(child)
    };
    let zebra = start("zebra");
    // bgpd connects to zebra's socket once, at start.
    assert!(
        wait_until(10.0, || d.join("zserv.api").exists()),
        "zebra did not start"
    );
    (zebra, start("bgpd"))
}

/// The same balancers (BIRD and tandem each) with FRR as the router: the
/// multipath route zebra installs follows tandem's announcements, a
/// withdrawal on quorum loss and on SIGTERM, and the return.
#[test]
fn frr_as_the_router_follows_announce_and_withdraw() {
    let have =
        |p: &str| Path::new(p).exists() && Command::new("bird").arg("--version").output().is_ok();
    if !have("/usr/lib/frr/bgpd") {
        assert!(
            std::env::var("CI").is_err(),
            "frr or bird2 is missing under CI"
        );
        eprintln!("skipped: frr or bird (Debian's frr, bird2) is not installed");
        return;
    }
    let lan = Lan::new("s11frr", 3);
    let dir = Scratch::new("s11frr");
    let d = &dir.0;
    let (router, lbs) = (&lan.nodes[0], &lan.nodes[1..]);
    let _frr = frr(router, d);
    let mut birds = Vec::new();
    let mut checks = Vec::new();
    let mut tandems = Vec::new();
    for (i, ns) in lbs.iter().enumerate() {
        std::fs::write(
            d.join(format!("lb{}-vips.conf", i + 1)),
            "protocol static tandem4 { ipv4; }\nprotocol static tandem6 { ipv6; }\n",
        )
        .unwrap();
        birds.push(bird(
            ns,
            d,
            &format!("lb{}", i + 1),
            &balancer_bird_conf(d, i),
        ));
        checks.push(Some(listener(ns)));
        let conf = dir.file(&format!("lb{}.conf", i + 1), &tandem_conf(d, i));
        tandems.push(Daemon::start(ns, &conf, d.join(format!("lb{}.log", i + 1))));
    }
    let all = [&tandems[0], &tandems[1]];
    expect_kernel(router, &BALANCERS, &all, "FRR: both with quorum");
    checks[0] = None;
    expect_kernel(router, &BALANCERS[1..], &all, "FRR: lb1 lost its quorum");
    checks[0] = Some(listener(&lbs[0]));
    expect_kernel(router, &BALANCERS, &all, "FRR: lb1 has its quorum again");
    tandems[1].signal("-TERM");
    expect_kernel(router, &BALANCERS[..1], &all, "FRR: lb2 stopping");
    assert_eq!(tandems[1].wait(15.0), Some(0), "{}", tandems[1].log());
    drop(tandems);
    drop(birds);
}

/// The IPv6 test's VIP, its balancer (node 1) and its router (node 0).
const VIP6: &str = "2001:db8:10::10";
const LB6: &str = "2001:db8::2";

/// An IPv6-only eBGP session between the router (2001:db8::1, AS 64500)
/// and one balancer (AS 64511), and tandem on a VIP of 2001:db8:10::/48
/// whose real server's check target is a listener on `::1`.
fn v6_confs(dir: &Path) -> (String, String, String) {
    let router = "router id 1;
protocol device {}
protocol kernel { ipv6 { export all; }; merge paths yes; }
protocol bgp lb1 {
  local 2001:db8::1 as 64500;
  neighbor 2001:db8::2 as 64511;
  connect retry time 1;
  ipv6 { import all; export none; };
}
"
    .to_string();
    let d = dir.display();
    let balancer = format!(
        "router id 2;
protocol device {{}}
include \"{d}/lb6-vips.conf\";
protocol bgp upstream {{
  local {LB6} as 64511;
  neighbor 2001:db8::1 as 64500;
  connect retry time 1;
  ipv6 {{ import none; export where proto = \"tandem6\"; }};
}}
"
    );
    let tandem = format!(
        "virtual_server {VIP6} 80 {{
  protocol TCP
  lvs_sched mh
  tandem_bgp {{
    bird_socket {d}/lb6.ctl
    include_file {d}/lb6-vips.conf
  }}
  real_server 2001:db8::50 80 {{
    inhibit_on_failure
    TCP_CHECK {{
      connect_ip ::1
      connect_port 8080
      connect_timeout 1
      retry 0
      delay_loop 0.3
      warmup 0
    }}
  }}
}}
"
    );
    (router, balancer, tandem)
}

/// The check target of the IPv6 test: a TCP listener on the balancer's `::1`.
fn listener6(ns: &Netns) -> Proc {
    let child = ns
        .command("python3")
        .args(["-m", "http.server", "--bind", "::1", "8080"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3: {e}"));
    Proc(child)
}

/// The router's kernel has the /128 to [`VIP6`] via the balancer exactly
/// when `announced` (within 20 s), and its BIRD agrees.
fn expect6(router: &Netns, dir: &Path, announced: bool, tandem: &Daemon, what: &str) {
    let want: BTreeSet<String> = [LB6]
        .iter()
        .filter(|_| announced)
        .map(|s| s.to_string())
        .collect();
    let start = std::time::Instant::now();
    let ok = wait_until(20.0, || gateways(router, "-6", VIP6) == want);
    eprintln!("{what}: router's kernel route after {:?}", start.elapsed());
    let table = router.ip(&["-6", "route", "show"]);
    assert!(
        ok,
        "{what}: want nexthops {want:?}, kernel has:\n{}\n{}",
        String::from_utf8_lossy(&table.stdout),
        tandem.log()
    );
    let bird = birdc_show_route(router, dir, &format!("{VIP6}/128"));
    assert_eq!(vias(&bird), want, "{what}: birdc show route:\n{bird}");
    if announced {
        assert!(bird.contains(&format!("{VIP6}/128")), "{bird}");
    }
}

/// An IPv6 VIP is announced as a /128 over an IPv6 BGP session, withdrawn
/// when the virtual server loses its quorum and announced again when it
/// gets it back, read from the router's kernel (`ip -6 route`) and BIRD.
#[test]
fn an_ipv6_vip_is_announced_as_a_128_and_withdrawn_on_quorum_loss() {
    if Command::new("bird").arg("--version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "bird2 is missing under CI");
        eprintln!("skipped: bird (Debian's bird2) is not installed");
        return;
    }
    let lan = Lan::new("s12bgp6", 2);
    let dir = Scratch::new("s12bgp6");
    let d = &dir.0;
    let (router, lb) = (&lan.nodes[0], &lan.nodes[1]);
    let (router_conf, lb_conf, tandem_conf) = v6_confs(d);
    let _router_bird = bird(router, d, "router", &router_conf);
    std::fs::write(
        d.join("lb6-vips.conf"),
        "protocol static tandem4 { ipv4; }\nprotocol static tandem6 { ipv6; }\n",
    )
    .unwrap();
    let _lb_bird = bird(lb, d, "lb6", &lb_conf);
    let check = listener6(lb);
    let conf = dir.file("lb6.conf", &tandem_conf);
    let tandem = Daemon::start(lb, &conf, d.join("lb6.log"));
    expect6(router, d, true, &tandem, "v6: with quorum");
    let written = std::fs::read_to_string(d.join("lb6-vips.conf")).unwrap();
    assert!(
        written.contains(&format!("route {VIP6}/128 via")),
        "{written}"
    );

    // The real server's check fails: the quorum is lost, the /128 withdrawn.
    drop(check);
    expect6(router, d, false, &tandem, "v6: quorum lost");
    let _check = listener6(lb);
    expect6(router, d, true, &tandem, "v6: quorum back");
}
