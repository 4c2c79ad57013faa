//! rtnetlink against the real kernel, inside throwaway namespaces:
//! addresses and routes added and removed as `ip` then reports them, and
//! link events as `track_interface` needs them.

mod netns;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use netns::{Netns, Pair};
use tandem::net::{IfAddress, Route, RouteKind, Rtnl, Scope, if_index};

#[test]
fn address_with_prefix_broadcast_label_and_scope() {
    let pair = Pair::new("rtnl-addr");
    let ns = &pair.a;
    let added = ns
        .run_in(|| {
            let ifindex = if_index("veth0").unwrap_or_else(|| panic!("veth0 exists"));
            let mut rtnl = Rtnl::new().unwrap_or_else(|e| panic!("{e}"));
            let vip = IfAddress {
                ifindex,
                addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
                prefix_len: 24,
                broadcast: Some(Ipv4Addr::new(203, 0, 113, 255)),
                label: Some("veth0:vip".into()),
                scope: Scope::Link,
                nodad: false,
                peer: None,
                flags: 0,
                preferred_lft: None,
            };
            let first = rtnl.add_address(&vip).unwrap_or_else(|e| panic!("{e}"));
            let second = rtnl.add_address(&vip).unwrap_or_else(|e| panic!("{e}"));
            let listed = rtnl.addresses().unwrap_or_else(|e| panic!("{e}"));
            (
                first,
                second,
                listed.contains(&vip) || listed.iter().any(|a| a.addr == vip.addr),
            )
        })
        .join()
        .unwrap_or_else(|_| panic!("thread"));
    assert_eq!(
        added,
        (true, false, true),
        "added once, then reported present"
    );

    let json = ns.addrs_json("veth0");
    let info = json[0]["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["local"] == "203.0.113.10")
        .cloned()
        .unwrap_or_else(|| panic!("VIP missing from ip addr: {json}"));
    assert_eq!(info["prefixlen"], 24);
    assert_eq!(info["broadcast"], "203.0.113.255");
    assert_eq!(info["label"], "veth0:vip");
    assert_eq!(info["scope"], "link");

    let removed = ns
        .run_in(|| {
            let ifindex = if_index("veth0").unwrap_or(0);
            let mut rtnl = Rtnl::new().unwrap_or_else(|e| panic!("{e}"));
            let mut vip = IfAddress::host(ifindex, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)));
            vip.prefix_len = 24;
            let first = rtnl.del_address(&vip).unwrap_or_else(|e| panic!("{e}"));
            let second = rtnl.del_address(&vip).unwrap_or_else(|e| panic!("{e}"));
            (first, second)
        })
        .join()
        .unwrap_or_else(|_| panic!("thread"));
    assert_eq!(removed, (true, false), "removed once, then reported absent");
    assert!(!ns.has_addr("veth0", "203.0.113.10"));
    // The interface's own address is untouched.
    assert!(ns.has_addr("veth0", "192.0.2.1"));
}

#[test]
fn ipv6_host_address_is_usable_at_once() {
    let pair = Pair::new("rtnl-v6");
    let ns = &pair.a;
    ns.run_in(|| {
        let ifindex = if_index("veth0").unwrap_or(0);
        let mut rtnl = Rtnl::new().unwrap_or_else(|e| panic!("{e}"));
        let vip = IfAddress::host(
            ifindex,
            "2001:db8::100"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        );
        assert!(rtnl.add_address(&vip).unwrap_or_else(|e| panic!("{e}")));
    })
    .join()
    .unwrap_or_else(|_| panic!("thread"));
    let json = ns.addrs_json("veth0");
    let info = json[0]["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["local"] == "2001:db8::100")
        .cloned()
        .unwrap_or_else(|| panic!("VIP missing: {json}"));
    assert_eq!(info["prefixlen"], 128);
    // No DAD: not tentative, so usable as a source at once.
    assert_ne!(info["tentative"], true);
}

#[test]
fn virtual_routes_added_and_removed() {
    let pair = Pair::new("rtnl-route");
    let ns = &pair.a;
    ns.run_in(|| {
        let ifindex = if_index("veth0").unwrap_or(0);
        let mut rtnl = Rtnl::new().unwrap_or_else(|e| panic!("{e}"));
        let via = via_route(ifindex);
        let hole = blackhole_route();
        assert!(rtnl.add_route(&via).unwrap_or_else(|e| panic!("{e}")));
        assert!(!rtnl.add_route(&via).unwrap_or_else(|e| panic!("{e}")));
        assert!(rtnl.add_route(&hole).unwrap_or_else(|e| panic!("{e}")));
    })
    .join()
    .unwrap_or_else(|_| panic!("thread"));
    let main = String::from_utf8_lossy(&ns.ip(&["route", "show"]).stdout).to_string();
    assert!(
        main.contains("198.51.100.0/24 via 192.0.2.2 dev veth0 proto static metric 7"),
        "{main}"
    );
    let t100 =
        String::from_utf8_lossy(&ns.ip(&["route", "show", "table", "100"]).stdout).to_string();
    assert!(t100.contains("blackhole 203.0.113.0/25"), "{t100}");

    ns.run_in(|| {
        let ifindex = if_index("veth0").unwrap_or(0);
        let mut rtnl = Rtnl::new().unwrap_or_else(|e| panic!("{e}"));
        let via = via_route(ifindex);
        assert!(rtnl.del_route(&via).unwrap_or_else(|e| panic!("{e}")));
        assert!(!rtnl.del_route(&via).unwrap_or_else(|e| panic!("{e}")));
        // A route in another table, of another type, is found and removed too.
        let hole = blackhole_route();
        assert!(rtnl.del_route(&hole).unwrap_or_else(|e| panic!("{e}")));
        assert!(!rtnl.del_route(&hole).unwrap_or_else(|e| panic!("{e}")));
    })
    .join()
    .unwrap_or_else(|_| panic!("thread"));
    let main = String::from_utf8_lossy(&ns.ip(&["route", "show"]).stdout).to_string();
    assert!(!main.contains("198.51.100.0/24"), "{main}");
    // Not `ns.ip`: `ip` fails on a table that has no route left.
    let t100 = String::from_utf8_lossy(&ns.exec(&["ip", "route", "show", "table", "100"]).stdout)
        .to_string();
    assert!(!t100.contains("203.0.113.0/25"), "{t100}");
}

/// `198.51.100.0/24 via 192.0.2.2 dev veth0 metric 7`, in the main table.
fn via_route(ifindex: u32) -> Route {
    Route {
        dst: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 0)),
        dst_len: 24,
        gateway: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))),
        oif: Some(ifindex),
        src: None,
        metric: Some(7),
        table: None,
        scope: None,
        kind: RouteKind::Unicast,
        options: Default::default(),
    }
}

/// `blackhole 203.0.113.0/25 table 100`.
fn blackhole_route() -> Route {
    Route {
        dst: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 0)),
        dst_len: 25,
        gateway: None,
        oif: None,
        src: None,
        metric: None,
        table: Some(100),
        scope: None,
        kind: RouteKind::Blackhole,
        options: Default::default(),
    }
}

#[test]
fn link_monitor_sees_carrier_loss_and_return() {
    let pair = Pair::new("rtnl-link");
    let a_name = pair.a.name.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let watcher = pair.a.run_in(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async move {
            let ifindex = if_index("veth0").unwrap_or(0);
            let mut mon = tandem::net::LinkMonitor::new().unwrap_or_else(|e| panic!("{e}"));
            let _ = ready_tx.send(());
            let mut seen = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            // Expect: veth0 not running (peer down), then running again.
            while seen.len() < 2 {
                let batch = tokio::time::timeout_at(deadline, mon.next())
                    .await
                    .unwrap_or_else(|_| panic!("no link event within 10 s; saw {seen:?}"))
                    .unwrap_or_else(|e| panic!("{e}"));
                for ev in batch.into_iter().filter(|e| e.index == ifindex) {
                    if seen.last() != Some(&ev.running) {
                        seen.push(ev.running);
                    }
                }
                if seen.first() == Some(&true) {
                    seen.remove(0);
                }
            }
            seen
        })
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(100));
    // Taking the *peer* down removes carrier from veth0 in the other namespace:
    // what a pulled cable looks like.
    pair.b.ip(&["link", "set", "veth1", "down"]);
    std::thread::sleep(Duration::from_millis(200));
    pair.b.ip(&["link", "set", "veth1", "up"]);
    let seen = watcher
        .join()
        .unwrap_or_else(|_| panic!("watcher in {a_name} failed"));
    assert_eq!(seen, vec![false, true]);
}

#[test]
fn if_index_of_missing_interface_is_none() {
    let ns = Netns::new("rtnl-missing");
    let r = ns
        .run_in(|| (if_index("nosuchdev0"), if_index("lo")))
        .join()
        .unwrap_or_else(|_| panic!("thread"));
    assert_eq!(r.0, None);
    assert_eq!(r.1, Some(1));
}

#[test]
fn point_to_point_peer_address() {
    let pair = Pair::new("rtnl-peer");
    let ns = &pair.a;
    ns.run_in(|| {
        let ifindex = if_index("veth0").unwrap_or(0);
        let mut rtnl = Rtnl::new().unwrap_or_else(|e| panic!("{e}"));
        let mut vip = IfAddress::host(ifindex, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)));
        vip.peer = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 6)));
        assert!(rtnl.add_address(&vip).unwrap_or_else(|e| panic!("{e}")));
        let listed = rtnl.addresses().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            listed
                .iter()
                .any(|a| a.addr == vip.addr && a.peer == vip.peer),
            "{listed:?}"
        );
        assert!(rtnl.del_address(&vip).unwrap_or_else(|e| panic!("{e}")));
    })
    .join()
    .unwrap_or_else(|_| panic!("thread"));
}
