//! Every IPVS request against literal bytes, and replies decoded from
//! literal bytes. The expected bytes are derived by hand from the layouts
//! in `include/uapi/linux/ip_vs.h` and `linux/netlink.h` (nlmsghdr 16 bytes,
//! genlmsghdr 4, attributes 4-byte header + value padded to 4), with the
//! integer attributes in host order (these tests assume little-endian, as
//! on x86-64 and arm64), ports and the IPv4 netmask in network order, but
//! for the sync daemon's multicast port, which the kernel reads and writes
//! in host order (`nla_get_u16`/`nla_put_u16` in `ip_vs_ctl.c`).
#![cfg(all(test, target_endian = "little"))]

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};

use super::client::{decode_datagram, encode_get_family, encode_request, frames};
use super::message::{CmdAttr, IpvsCmd, IpvsMessage};
use super::reconcile::Op;
use super::types::*;

/// The family id the tests pretend the kernel assigned.
const FAM: u16 = 0x1c;
const REQ_ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// nlmsghdr: length, type FAM, flags, seq 1, port 0.
fn nlhdr(len: usize, flags: u16) -> String {
    let l = len as u32;
    format!(
        "{:02x} {:02x} 00 00  1c 00 {:02x} {:02x}  01 00 00 00  00 00 00 00",
        l & 0xff,
        l >> 8,
        flags & 0xff,
        flags >> 8
    )
}

fn req(msg: IpvsMessage, flags: u16) -> Vec<u8> {
    encode_request(FAM, msg, flags, 1)
}

fn web() -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip("192.0.2.10"),
        port: 80,
    }
}

fn fwm6() -> ServiceKey {
    ServiceKey::Fwmark {
        family: Family::Inet6,
        fwmark: 7,
    }
}

// The service-identifying attributes of `web()` (44 bytes) and `fwm6()` (16).
const WEB_KEY: &str = "06 00 01 00 02 00 00 00
                       06 00 02 00 06 00 00 00
                       14 00 03 00 c0 00 02 0a 00 00 00 00 00 00 00 00 00 00 00 00
                       06 00 04 00 00 50 00 00";
const FWM6_KEY: &str = "06 00 01 00 0a 00 00 00
                        08 00 05 00 07 00 00 00";

#[test]
fn new_service_ipv4_tcp_rr() {
    let svc = Service::new(web(), Scheduler::Rr);
    let want = format!(
        "{} 01 01 00 00  54 00 01 80 {WEB_KEY}
         07 00 06 00 72 72 00 00
         0c 00 07 00 00 00 00 00 ff ff ff ff
         08 00 08 00 00 00 00 00
         08 00 09 00 ff ff ff ff",
        nlhdr(104, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_service(&svc), REQ_ACK), hex(&want));
}

#[test]
fn new_service_sctp_carries_protocol_132() {
    // IPPROTO_SCTP is 132 (0x84), a u16 in host order like TCP's 6.
    let key = ServiceKey::Addr {
        protocol: Protocol::Sctp,
        addr: ip("192.0.2.10"),
        port: 3868,
    };
    let svc = Service::new(key, Scheduler::Wlc);
    let want = format!(
        "{} 01 01 00 00  54 00 01 80
         06 00 01 00 02 00 00 00
         06 00 02 00 84 00 00 00
         14 00 03 00 c0 00 02 0a 00 00 00 00 00 00 00 00 00 00 00 00
         06 00 04 00 0f 1c 00 00
         08 00 06 00 77 6c 63 00
         0c 00 07 00 00 00 00 00 ff ff ff ff
         08 00 08 00 00 00 00 00
         08 00 09 00 ff ff ff ff",
        nlhdr(104, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_service(&svc), REQ_ACK), hex(&want));
}

#[test]
fn set_service_ipv6_persistent_with_prefix_and_sh_flags() {
    // IPv6 persistence granularity is a prefix length in host order.
    let key = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: ip("2001:db8::1"),
        port: 53,
    };
    let mut svc = Service::new(key, Scheduler::Sh);
    svc.flags = ServiceFlags(
        ServiceFlags::PERSISTENT
            | ServiceFlags::ONEPACKET
            | ServiceFlags::SCHED1
            | ServiceFlags::SCHED2,
    );
    svc.timeout = 300;
    svc.netmask = Netmask::V6(64);
    svc.pe_name = Some("sip".into());
    let want = format!(
        "{} 02 01 00 00  5c 00 01 80
         06 00 01 00 0a 00 00 00
         06 00 02 00 11 00 00 00
         14 00 03 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
         06 00 04 00 00 35 00 00
         07 00 06 00 73 68 00 00
         08 00 0b 00 73 69 70 00
         0c 00 07 00 1d 00 00 00 ff ff ff ff
         08 00 08 00 2c 01 00 00
         08 00 09 00 40 00 00 00",
        nlhdr(112, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::set_service(&svc), REQ_ACK), hex(&want));
}

#[test]
fn new_service_fwmark_ipv4_netmask_is_network_order() {
    let key = ServiceKey::Fwmark {
        family: Family::Inet,
        fwmark: 0x102,
    };
    let mut svc = Service::new(key, Scheduler::Wlc);
    svc.flags = ServiceFlags(ServiceFlags::PERSISTENT);
    svc.timeout = 60;
    svc.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
    let want = format!(
        "{} 01 01 00 00  38 00 01 80
         06 00 01 00 02 00 00 00
         08 00 05 00 02 01 00 00
         08 00 06 00 77 6c 63 00
         0c 00 07 00 01 00 00 00 ff ff ff ff
         08 00 08 00 3c 00 00 00
         08 00 09 00 ff ff ff 00",
        nlhdr(76, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_service(&svc), REQ_ACK), hex(&want));
}

#[test]
fn del_service_sends_only_the_key() {
    let want = format!("{} 03 01 00 00  30 00 01 80 {WEB_KEY}", nlhdr(68, REQ_ACK));
    assert_eq!(req(IpvsMessage::del_service(&web()), REQ_ACK), hex(&want));
}

#[test]
fn get_service_single_and_dump() {
    let want = format!("{} 04 01 00 00  30 00 01 80 {WEB_KEY}", nlhdr(68, REQ_ACK));
    assert_eq!(
        req(IpvsMessage::get_service(Some(&web())), REQ_ACK),
        hex(&want)
    );
    let dump = NLM_F_REQUEST | NLM_F_DUMP;
    assert_eq!(
        req(IpvsMessage::get_service(None), dump),
        hex(&format!("{} 04 01 00 00", nlhdr(20, dump)))
    );
}

#[test]
fn new_dest_ipv4_masq_with_thresholds() {
    let mut d = Destination::new(ip("198.51.100.2"), 8080, Forward::Masq, 2);
    d.u_threshold = 1000;
    d.l_threshold = 500;
    let want = format!(
        "{} 05 01 00 00  30 00 01 80 {WEB_KEY}
         48 00 02 80
         06 00 0b 00 02 00 00 00
         14 00 01 00 c6 33 64 02 00 00 00 00 00 00 00 00 00 00 00 00
         06 00 02 00 1f 90 00 00
         08 00 03 00 00 00 00 00
         08 00 04 00 02 00 00 00
         08 00 05 00 e8 03 00 00
         08 00 06 00 f4 01 00 00",
        nlhdr(140, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_dest(&web(), &d), REQ_ACK), hex(&want));
}

#[test]
fn set_dest_ipv6_gue_tunnel_on_fwmark_service() {
    let d = Destination::new(
        ip("2001:db8::2"),
        0,
        Forward::Tunnel {
            tun_type: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags(TunnelFlags::CSUM),
        },
        3,
    );
    let want = format!(
        "{} 06 01 00 00  14 00 01 80 {FWM6_KEY}
         60 00 02 80
         06 00 0b 00 0a 00 00 00
         14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
         06 00 02 00 00 00 00 00
         08 00 03 00 02 00 00 00
         08 00 04 00 03 00 00 00
         05 00 0d 00 01 00 00 00
         06 00 0e 00 17 c0 00 00
         06 00 0f 00 01 00 00 00
         08 00 05 00 00 00 00 00
         08 00 06 00 00 00 00 00",
        nlhdr(136, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::set_dest(&fwm6(), &d), REQ_ACK), hex(&want));
}

#[test]
fn new_dest_route_sends_no_tunnel_attributes_and_ipip_sends_zeros() {
    let d = Destination::new(ip("198.51.100.3"), 80, Forward::Route, 1);
    let want = format!(
        "{} 05 01 00 00  30 00 01 80 {WEB_KEY}
         48 00 02 80
         06 00 0b 00 02 00 00 00
         14 00 01 00 c6 33 64 03 00 00 00 00 00 00 00 00 00 00 00 00
         06 00 02 00 00 50 00 00
         08 00 03 00 03 00 00 00
         08 00 04 00 01 00 00 00
         08 00 05 00 00 00 00 00
         08 00 06 00 00 00 00 00",
        nlhdr(140, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_dest(&web(), &d), REQ_ACK), hex(&want));
    let d = Destination::new(ip("198.51.100.3"), 80, Forward::TUNNEL, 1);
    let want = format!(
        "{} 05 01 00 00  30 00 01 80 {WEB_KEY}
         60 00 02 80
         06 00 0b 00 02 00 00 00
         14 00 01 00 c6 33 64 03 00 00 00 00 00 00 00 00 00 00 00 00
         06 00 02 00 00 50 00 00
         08 00 03 00 02 00 00 00
         08 00 04 00 01 00 00 00
         05 00 0d 00 00 00 00 00
         06 00 0e 00 00 00 00 00
         06 00 0f 00 00 00 00 00
         08 00 05 00 00 00 00 00
         08 00 06 00 00 00 00 00",
        nlhdr(164, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_dest(&web(), &d), REQ_ACK), hex(&want));
}

#[test]
fn del_dest_sends_address_port_family() {
    let want = format!(
        "{} 07 01 00 00  30 00 01 80 {WEB_KEY}
         28 00 02 80
         06 00 0b 00 02 00 00 00
         14 00 01 00 c6 33 64 02 00 00 00 00 00 00 00 00 00 00 00 00
         06 00 02 00 1f 90 00 00",
        nlhdr(108, REQ_ACK)
    );
    assert_eq!(
        req(
            IpvsMessage::del_dest(&web(), &ip("198.51.100.2"), 8080),
            REQ_ACK
        ),
        hex(&want)
    );
}

#[test]
fn get_dest_dump_names_the_service() {
    let dump = NLM_F_REQUEST | NLM_F_DUMP;
    let want = format!("{} 08 01 00 00  14 00 01 80 {FWM6_KEY}", nlhdr(40, dump));
    assert_eq!(req(IpvsMessage::get_dest(&fwm6()), dump), hex(&want));
}

#[test]
fn daemons_new_del_get() {
    let mut d = SyncDaemon::new(DaemonState::Master, "eth0", 5);
    d.sync_maxlen = Some(1472);
    d.mcast_group = Some(ip("224.0.0.81"));
    d.mcast_port = Some(8848);
    d.mcast_ttl = Some(1);
    let want = format!(
        "{} 09 01 00 00  40 00 03 80
         08 00 01 00 01 00 00 00
         09 00 02 00 65 74 68 30 00 00 00 00
         08 00 03 00 05 00 00 00
         06 00 04 00 c0 05 00 00
         08 00 05 00 e0 00 00 51
         06 00 07 00 90 22 00 00
         05 00 08 00 01 00 00 00",
        nlhdr(84, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_daemon(&d), REQ_ACK), hex(&want));
    let want = format!(
        "{} 0a 01 00 00  0c 00 03 80 08 00 01 00 02 00 00 00",
        nlhdr(32, REQ_ACK)
    );
    assert_eq!(
        req(IpvsMessage::del_daemon(DaemonState::Backup), REQ_ACK),
        hex(&want)
    );
    let dump = NLM_F_REQUEST | NLM_F_DUMP;
    assert_eq!(
        req(IpvsMessage::get_daemon(), dump),
        hex(&format!("{} 0b 01 00 00", nlhdr(20, dump)))
    );
}

#[test]
fn new_daemon_with_an_ipv6_multicast_group() {
    // IPVS_DAEMON_ATTR_MCAST_GROUP6 (6) carries the 16-byte in6_addr; the
    // IPv4 attribute (5) is not sent. The port in host order (see
    // `daemon_attributes_in_the_kernels_byte_order`), no maxlen/ttl.
    let mut d = SyncDaemon::new(DaemonState::Backup, "eth1", 9);
    d.mcast_group = Some(ip("ff02::51"));
    d.mcast_port = Some(8848);
    let want = format!(
        "{} 09 01 00 00  3c 00 03 80
         08 00 01 00 02 00 00 00
         09 00 02 00 65 74 68 31 00 00 00 00
         08 00 03 00 09 00 00 00
         14 00 06 00 ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 51
         06 00 07 00 90 22 00 00",
        nlhdr(80, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::new_daemon(&d), REQ_ACK), hex(&want));
}

/// Every `IPVS_DAEMON_ATTR_*` in the byte order the kernel uses
/// (`net/netfilter/ipvs/ip_vs_ctl.c`, Linux 6.1): `ip_vs_daemon_policy`
/// types STATE and SYNC_ID `NLA_U32`, SYNC_MAXLEN and MCAST_PORT `NLA_U16`,
/// MCAST_TTL `NLA_U8`, MCAST_IFN `NLA_NUL_STRING`, MCAST_GROUP `NLA_U32`
/// holding a `__be32` (`nla_get_in_addr`), MCAST_GROUP6 16 bytes
/// (`nla_get_in6_addr`). `ip_vs_genl_new_daemon` reads the port with
/// `nla_get_u16`, host order, and `start_sync_thread` (`ip_vs_sync.c`)
/// converts it only when it fills the socket address (`htons`);
/// `ip_vs_genl_fill_daemon` writes it back with `nla_put_u16`. A port
/// whose two bytes differ (4660 = 0x1234) tells the orders apart: 8848 in
/// network order would be read by the kernel as 36898.
#[test]
fn daemon_attributes_in_the_kernels_byte_order() {
    let mut d = SyncDaemon::new(DaemonState::Master, "sync0", 200);
    d.sync_maxlen = Some(1400);
    d.mcast_group = Some(ip("239.1.2.3"));
    d.mcast_port = Some(4660);
    d.mcast_ttl = Some(3);
    let daemon = "
         08 00 01 00 01 00 00 00
         0a 00 02 00 73 79 6e 63 30 00 00 00
         08 00 03 00 c8 00 00 00
         06 00 04 00 78 05 00 00
         08 00 05 00 ef 01 02 03
         06 00 07 00 34 12 00 00
         05 00 08 00 03 00 00 00";
    let want = format!("{} 09 01 00 00  40 00 03 80 {daemon}", nlhdr(84, REQ_ACK));
    assert_eq!(req(IpvsMessage::new_daemon(&d), REQ_ACK), hex(&want));

    // A GET_DAEMON dump part as ip_vs_genl_fill_daemon writes it: the nest
    // without NLA_F_NESTED (nla_nest_start_noflag), the attributes in the
    // kernel's order (group last), every one present (the kernel fills in
    // its defaults), here a backup with an IPv6 group.
    let m = &decode_datagram(
        FAM,
        &reply(
            9,
            "4c 00 03 00
               08 00 01 00 02 00 00 00
               0a 00 02 00 73 79 6e 63 31 00 00 00
               08 00 03 00 ff 00 00 00
               06 00 04 00 dc 05 00 00
               06 00 07 00 34 12 00 00
               05 00 08 00 ff 00 00 00
               14 00 06 00 ff 05 00 00 00 00 00 00 00 00 00 00 00 00 01 51",
        ),
    )
    .unwrap()[0];
    let got = m.to_daemon().unwrap();
    let mut want = SyncDaemon::new(DaemonState::Backup, "sync1", 255);
    want.sync_maxlen = Some(1500);
    want.mcast_group = Some(ip("ff05::151"));
    want.mcast_port = Some(4660);
    want.mcast_ttl = Some(255);
    assert_eq!(got, want);
}

/// Whatever tandem sends, it reads back the same: the request's own
/// attributes decode to the daemon it was made from, for both states and
/// both group families, with and without the optional attributes.
#[test]
fn new_daemon_requests_decode_back_to_the_same_daemon() {
    let mut all = SyncDaemon::new(DaemonState::Backup, "eth0.100", 1);
    all.sync_maxlen = Some(65507);
    all.mcast_group = Some(ip("ff12::8848"));
    all.mcast_port = Some(65535);
    all.mcast_ttl = Some(1);
    let mut v4 = SyncDaemon::new(DaemonState::Master, "bond0", 0);
    v4.mcast_group = Some(ip("224.0.0.81"));
    v4.mcast_port = Some(1);
    for d in [SyncDaemon::new(DaemonState::Master, "d0", 5), all, v4] {
        let bytes = req(IpvsMessage::new_daemon(&d), REQ_ACK);
        let back = decode_datagram(FAM, &bytes).unwrap();
        assert_eq!(back[0].to_daemon().unwrap(), d);
    }
}

#[test]
fn get_family_ipvs_request_to_the_controller() {
    // nlmsghdr: length 32, type GENL_ID_CTRL (0x10), flags NLM_F_REQUEST
    // only (one answer, no ack), the sequence number, port 0; genlmsghdr:
    // CTRL_CMD_GETFAMILY (3), version 2; CTRL_ATTR_FAMILY_NAME (2) "IPVS\0"
    // (length 9, padded to 12).
    let want = "20 00 00 00  10 00 01 00  78 56 34 12  00 00 00 00
                03 02 00 00
                09 00 02 00 49 50 56 53 00 00 00 00";
    assert_eq!(encode_get_family(0x1234_5678), hex(want));
}

#[test]
fn config_info_zero_flush() {
    let t = Timeouts {
        tcp: Some(900),
        tcp_fin: Some(120),
        udp: Some(300),
    };
    let want = format!(
        "{} 0c 01 00 00
         08 00 04 00 84 03 00 00
         08 00 05 00 78 00 00 00
         08 00 06 00 2c 01 00 00",
        nlhdr(44, REQ_ACK)
    );
    assert_eq!(req(IpvsMessage::set_config(&t), REQ_ACK), hex(&want));
    // Only the timeouts given are sent.
    let only_udp = Timeouts {
        udp: Some(60),
        ..Timeouts::default()
    };
    let want = format!("{} 0c 01 00 00 08 00 06 00 3c 00 00 00", nlhdr(28, REQ_ACK));
    assert_eq!(req(IpvsMessage::set_config(&only_udp), REQ_ACK), hex(&want));
    for (msg, cmd) in [
        (IpvsMessage::get_config(), "0d"),
        (IpvsMessage::get_info(), "0f"),
        (IpvsMessage::zero(None), "10"),
        (IpvsMessage::flush(), "11"),
    ] {
        let want = format!("{} {cmd} 01 00 00", nlhdr(20, REQ_ACK));
        assert_eq!(req(msg, REQ_ACK), hex(&want));
    }
    let want = format!("{} 10 01 00 00  30 00 01 80 {WEB_KEY}", nlhdr(68, REQ_ACK));
    assert_eq!(req(IpvsMessage::zero(Some(&web())), REQ_ACK), hex(&want));
}

#[test]
fn ops_map_to_their_messages() {
    let d = Destination::new(ip("198.51.100.2"), 80, Forward::Masq, 1);
    let ops = [
        Op::NewService {
            service: Service::new(web(), Scheduler::Rr),
        },
        Op::SetService {
            service: Service::new(web(), Scheduler::Rr),
        },
        Op::DelService { key: web() },
        Op::NewDest {
            service: web(),
            dest: d.clone(),
        },
        Op::SetDest {
            service: web(),
            dest: d.clone(),
        },
        Op::DelDest {
            service: web(),
            dest: d.key(),
        },
        Op::Flush,
    ];
    for op in &ops {
        assert_eq!(op.message().cmd, op.cmd());
    }
    assert_eq!(
        Op::DelDest {
            service: web(),
            dest: d.key()
        }
        .message(),
        IpvsMessage::del_dest(&web(), &d.addr, d.port)
    );
}

/// A kernel reply: nlmsghdr (type FAM, NLM_F_MULTI, seq 1, port 0x1234) +
/// genl header with `cmd` + `attrs`.
fn reply(cmd: u8, attrs: &str) -> Vec<u8> {
    let body = hex(attrs);
    let len = 20 + body.len();
    let mut v = hex(&format!(
        "{:02x} {:02x} 00 00  1c 00 02 00  01 00 00 00  34 12 00 00  {cmd:02x} 01 00 00",
        len & 0xff,
        len >> 8
    ));
    v.extend(body);
    v
}

// Replies, as the kernel writes them.
mod replies;
