//! The daemon's tasks in-process, in two namespaces on a bridged LAN,
//! driven by a hand-built plan (no configuration file): election, takeover
//! after a dead master, graceful hand-over on shutdown.

mod netns;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc;
use std::time::Duration;

use netns::{Lan, Netns, wait_until};
use tandem::daemon::addrs::VipSet;
use tandem::daemon::plan::{GarpPlan, InstancePlan, Kernel, Plan, PlanError, UnitPlan};
use tandem::daemon::{RunOptions, start};
use tandem::net::IfAddress;
use tandem::notify::script::NotifyScripts;
use tandem::vrrp::{Params, Version};

const VIP: &str = "203.0.113.10";

fn plan(kernel: &Kernel, ifname: &str, priority: u8) -> Result<Plan, PlanError> {
    let link = kernel
        .link(ifname)
        .unwrap_or_else(|| panic!("{ifname} exists"));
    let src = kernel
        .addresses
        .iter()
        .find(|a| a.ifindex == link.index && a.addr.is_ipv4())
        .map(|a| a.addr)
        .unwrap_or_else(|| panic!("{ifname} has an IPv4 address"));
    let vip = IpAddr::V4(VIP.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED));
    let mut params = Params::new("VI_1", 51, src);
    params.version = Version::V3;
    params.priority = priority;
    params.advert_int = 20; // 0.2 s: a fast test
    params.vips = vec![vip];
    let group = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    Ok(Plan {
        units: vec![UnitPlan {
            group: None,
            instances: vec![InstancePlan {
                name: "VI_1".into(),
                params,
                ifname: ifname.into(),
                ifindex: link.index,
                src,
                group,
                dsts: vec![group],
                unicast_peers: vec![],
                unicast_peer_ttl: vec![],
                unicast_ttl: 255,
                vips: {
                    let mut vips = VipSet::default();
                    vips.addresses = vec![IfAddress::host(link.index, vip)];
                    vips
                },
                track_links: vec![],
                track_scripts: vec![],
                track_files: vec![],
                track_bfds: vec![],
                takeovers: vec![],
                track_processes: vec![],
                notify: NotifyScripts::default(),
                garp: GarpPlan {
                    master_repeat: 1,
                    lower_prio_repeat: 1,
                    refresh: None,
                    refresh_repeat: 1,
                    extra_if: None,
                },
                vmac: None,
                addr_vmacs: vec![],
                ah_pass: None,
                rx_buf: 0,
                origin: "test".into(),
            }],
        }],
        scripts: vec![],
        waiting: vec![],
        bfd: vec![],
        linkbeat: vec![],
        garp_delays: vec![],
    })
}

enum Stop {
    /// Drop the runtime: tasks vanish, the VIP stays, like `kill -9`.
    Kill,
    /// The SIGTERM path.
    Graceful,
}

/// Run the daemon in `ns` until told how to stop.
fn daemon(
    ns: &Netns,
    ifname: &'static str,
    priority: u8,
) -> (mpsc::Sender<Stop>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Stop>();
    let handle = ns.run_in(move || {
        let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let running = rt.block_on(async {
            start(|k| plan(k, ifname, priority), &RunOptions::default())
                .unwrap_or_else(|e| panic!("{e}"))
        });
        let how = rt.block_on(async {
            loop {
                if let Ok(how) = rx.try_recv() {
                    return how;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        match how {
            Stop::Kill => drop(rt),
            Stop::Graceful => rt.block_on(running.shutdown(Duration::from_secs(10))),
        }
    });
    (tx, handle)
}

#[test]
fn higher_priority_wins_and_backup_takes_over_from_a_dead_master() {
    let lan = Lan::new("dmn-kill", 2);
    let (na, nb) = (&lan.nodes[0], &lan.nodes[1]);
    let (stop_a, a) = daemon(na, "eth0", 150);
    let (stop_b, b) = daemon(nb, "eth0", 100);
    assert!(
        wait_until(5.0, || na.has_addr("eth0", VIP)),
        "the priority-150 node never took the VIP"
    );
    std::thread::sleep(Duration::from_millis(800));
    assert!(na.has_addr("eth0", VIP));
    assert!(!nb.has_addr("eth0", VIP), "both nodes hold the VIP");

    // The master dies as a machine: process gone, link down.
    let _ = stop_a.send(Stop::Kill);
    let _ = a.join();
    na.ip(&["link", "set", "eth0", "down"]);
    assert!(
        wait_until(3.0, || nb.has_addr("eth0", VIP)),
        "the backup did not take over"
    );
    let _ = stop_b.send(Stop::Graceful);
    let _ = b.join();
    assert!(
        !nb.has_addr("eth0", VIP),
        "graceful stop left the VIP behind"
    );
}

#[test]
fn graceful_stop_hands_over_without_a_gap() {
    let lan = Lan::new("dmn-term", 2);
    let (na, nb) = (&lan.nodes[0], &lan.nodes[1]);
    let (stop_a, a) = daemon(na, "eth0", 150);
    let (stop_b, b) = daemon(nb, "eth0", 100);
    assert!(wait_until(5.0, || na.has_addr("eth0", VIP)));
    std::thread::sleep(Duration::from_millis(500));
    let _ = stop_a.send(Stop::Graceful);
    // At every moment one of the two holds the VIP.
    let mut gap = false;
    let taken = wait_until(3.0, || {
        let on_a = na.has_addr("eth0", VIP);
        let on_b = nb.has_addr("eth0", VIP);
        if !on_a && !on_b {
            gap = true;
        }
        on_b && !on_a
    });
    let _ = a.join();
    assert!(
        taken,
        "the backup did not take over, or the old master kept the VIP"
    );
    assert!(!gap, "a moment with no node holding the VIP");
    let _ = stop_b.send(Stop::Graceful);
    let _ = b.join();
}

#[test]
fn subsystems_on_the_bus_see_the_role_changes() {
    use tandem::daemon::{Role, Subject};
    let lan = Lan::new("dmn-bus", 1);
    let node = &lan.nodes[0];
    let (tx, rx) = mpsc::channel();
    let t = node.run_in(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async move {
            // What the IPVS programming would do: follow the role,
            // subscribed before the daemon starts.
            let bus = tandem::daemon::Bus::new();
            let mut sub = bus.subscribe();
            let opts = RunOptions {
                bus: Some(bus),
                ..RunOptions::default()
            };
            let running = start(|k| plan(k, "eth0", 100), &opts).unwrap_or_else(|e| panic!("{e}"));
            let watcher = tokio::spawn(async move {
                while let Ok(change) = sub.recv().await {
                    let stop = change.role == Role::Stop;
                    let _ = tx.send((change.subject, change.name, change.role));
                    if stop {
                        break;
                    }
                }
            });
            tokio::time::sleep(Duration::from_millis(1500)).await;
            assert_eq!(
                running
                    .bus
                    .snapshot()
                    .get(&(Subject::Instance, "VI_1".to_string())),
                Some(&Role::Master)
            );
            running.shutdown(Duration::from_secs(10)).await;
            let _ = watcher.await;
        })
    });
    let _ = t.join();
    let seen: Vec<_> = rx.try_iter().map(|(_, name, role)| (name, role)).collect();
    assert_eq!(
        seen,
        vec![
            ("VI_1".to_string(), Role::Backup),
            ("VI_1".to_string(), Role::Master),
            ("VI_1".to_string(), Role::Stop),
        ]
    );
}
