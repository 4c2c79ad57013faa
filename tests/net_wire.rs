//! Raw VRRP sockets, gratuitous ARP and unsolicited NA between two
//! namespaces joined by a veth pair.

mod netns;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::Duration;

use netns::{Pair, wait_until};
use tandem::net::{
    GarpSender, NaSender, Rtnl, VrrpRecvSocket, VrrpSendSocket, if_index, socket::RawDrop,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Something shaped like a VRRPv3 advert (the codec is not under test here).
const PAYLOAD: [u8; 12] = [0x31, 51, 100, 1, 0, 100, 0, 0, 203, 0, 113, 10];

/// Receive on `b` whatever `a` sends with `send`, returning (src, dst, ttl, vrrp bytes).
fn exchange(
    pair: &Pair,
    v6: bool,
    send: Vec<(IpAddr, Option<IpAddr>)>,
) -> Vec<(IpAddr, IpAddr, Option<u8>, Vec<u8>)> {
    let n = send.len();
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = pair.b.run_in(move || {
        rt().block_on(async move {
            let ifindex = if_index("veth1").unwrap_or(0);
            let mut sock =
                VrrpRecvSocket::new("veth1", ifindex, v6).unwrap_or_else(|e| panic!("{e}"));
            let _ = ready_tx.send(());
            let mut got = Vec::new();
            while got.len() < n {
                let a = tokio::time::timeout(Duration::from_secs(5), sock.recv())
                    .await
                    .unwrap_or_else(|_| panic!("no advert within 5 s; got {got:?}"))
                    .unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|d| panic!("dropped: {d:?}"));
                got.push((a.src, a.dst, a.ttl, a.vrrp().to_vec()));
            }
            got
        })
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(5));
    pair.a
        .run_in(move || {
            rt().block_on(async move {
                let ifindex = if_index("veth0").unwrap_or(0);
                for (src, dst) in send {
                    let sock = VrrpSendSocket::new("veth0", ifindex, src, 255, false)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let dst = dst.unwrap_or(sock.multicast_dst());
                    sock.send_to(&PAYLOAD, dst)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            })
        })
        .join()
        .unwrap_or_else(|_| panic!("sender"));
    receiver.join().unwrap_or_else(|_| panic!("receiver"))
}

#[test]
fn ipv4_multicast_and_unicast_adverts_carry_ttl_255() {
    let pair = Pair::new("wire-v4");
    let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    let got = exchange(&pair, false, vec![(src, None), (src, Some(peer))]);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        (
            src,
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            Some(255),
            PAYLOAD.to_vec()
        )
    );
    assert_eq!(got[1], (src, peer, Some(255), PAYLOAD.to_vec()));
}

#[test]
fn ipv6_multicast_adverts_carry_hop_limit_255() {
    let pair = Pair::new("wire-v6");
    // The link-local address of veth0, the source RFC 5798 §5.1.2.1 asks for.
    let ll = pair.a.addrs_json("veth0")[0]["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["local"].as_str())
        .find(|a| a.starts_with("fe80"))
        .and_then(|a| a.parse::<Ipv6Addr>().ok())
        .unwrap_or_else(|| panic!("veth0 has no link-local address"));
    let got = exchange(&pair, true, vec![(IpAddr::V6(ll), None)]);
    assert_eq!(
        got[0],
        (
            IpAddr::V6(ll),
            IpAddr::V6("ff02::12".parse().unwrap_or(Ipv6Addr::UNSPECIFIED)),
            Some(255),
            PAYLOAD.to_vec()
        )
    );
}

#[test]
fn a_forged_ttl_is_reported_as_received() {
    // A sender one hop away (TTL 64, as any host sends by default) must be
    // visible to the validation as such: the socket reports the TTL it got.
    let pair = Pair::new("wire-ttl");
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = pair.b.run_in(move || {
        rt().block_on(async move {
            let ifindex = if_index("veth1").unwrap_or(0);
            let mut sock =
                VrrpRecvSocket::new("veth1", ifindex, false).unwrap_or_else(|e| panic!("{e}"));
            let _ = ready_tx.send(());
            tokio::time::timeout(Duration::from_secs(5), sock.recv())
                .await
                .unwrap_or_else(|_| panic!("nothing received"))
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|a| a.ttl)
        })
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(5));
    pair.a
        .run_in(|| {
            let s = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::RAW,
                Some(socket2::Protocol::from(112)),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            s.set_ttl_v4(64).unwrap_or_else(|e| panic!("{e}"));
            let dst = std::net::SocketAddr::from((Ipv4Addr::new(192, 0, 2, 2), 0));
            s.send_to(&PAYLOAD, &dst.into())
                .unwrap_or_else(|e| panic!("{e}"));
        })
        .join()
        .unwrap_or_else(|_| panic!("sender"));
    let ttl = receiver.join().unwrap_or_else(|_| panic!("receiver"));
    assert_eq!(ttl, Ok::<_, RawDrop>(Some(64)));
}

#[test]
fn gratuitous_arp_moves_the_peer_neighbour_entry() {
    let pair = Pair::new("wire-garp");
    assert_announcement_moves_neighbour(&pair, "203.0.113.10", |ifindex, mac| {
        let garp = GarpSender::new("veth0", ifindex, mac).unwrap_or_else(|e| panic!("{e}"));
        garp.send(Ipv4Addr::new(203, 0, 113, 10))
            .unwrap_or_else(|e| panic!("{e}"));
    });
}

#[test]
fn unsolicited_na_moves_the_peer_neighbour_entry() {
    let pair = Pair::new("wire-na");
    assert_announcement_moves_neighbour(&pair, "2001:db8::100", |ifindex, mac| {
        let na = NaSender::new("veth0", ifindex, mac).unwrap_or_else(|e| panic!("{e}"));
        let vip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
        na.send(vip, false).unwrap_or_else(|e| panic!("{e}"));
    });
}

/// The peer `b` believes `vip` is at another MAC (the old master's); `a`
/// announces it with `announce` (given veth0's index and MAC, as rtnetlink
/// reports them); within 3 s `b`'s neighbour entry must name `a`'s MAC.
fn assert_announcement_moves_neighbour(
    pair: &Pair,
    vip: &str,
    announce: impl FnOnce(u32, [u8; 6]) + Send + 'static,
) {
    let (family, sysctl) = if vip.contains(':') {
        ("-6", "net.ipv6.neigh.veth1.locktime=0")
    } else {
        ("-4", "net.ipv4.neigh.veth1.locktime=0")
    };
    pair.b.ip(&[
        family,
        "neigh",
        "replace",
        vip,
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "veth1",
        "nud",
        "stale",
    ]);
    // Accept an update even right after the entry changed (default locktime is 1 s).
    pair.b.exec(&["sysctl", "-qw", sysctl]);
    let mac_a = pair.a.mac("veth0");
    pair.a
        .run_in(|| {
            let ifindex = if_index("veth0").unwrap_or(0);
            let mac = Rtnl::new()
                .and_then(|mut r| r.link(ifindex))
                .ok()
                .flatten()
                .and_then(|l| l.mac)
                .unwrap_or_else(|| panic!("veth0 has a MAC"));
            announce(ifindex, mac);
        })
        .join()
        .unwrap_or_else(|_| panic!("sender"));
    let neigh = || {
        let out = pair.b.ip(&[family, "neigh", "show", vip, "dev", "veth1"]);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let moved = wait_until(3.0, || neigh().contains(&mac_a));
    assert!(moved, "neighbour entry not updated to {mac_a}: {}", neigh());
}

#[test]
fn opening_sockets_on_a_missing_interface_fails_clearly() {
    let pair = Pair::new("wire-missing");
    let msg = pair
        .a
        .run_in(|| {
            rt().block_on(async {
                match VrrpRecvSocket::new("nosuchdev0", 999, false) {
                    Ok(_) => String::new(),
                    Err(e) => e.to_string(),
                }
            })
        })
        .join()
        .unwrap_or_else(|_| panic!("thread"));
    assert!(msg.contains("nosuchdev0"), "{msg}");
}
