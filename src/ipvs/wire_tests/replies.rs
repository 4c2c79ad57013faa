//! IPVS replies decoded from literal bytes, as the kernel writes them
//! (the layouts are those of the requests beside this file).

use super::*;

#[test]
fn service_dump_reply_ipv4_with_stats_and_stats64() {
    // Nested attributes carry NLA_F_NESTED (0x8000) as modern kernels set
    // it; 64-bit counters in STATS follow a PAD so that they are aligned.
    let attrs = "
      bc 00 01 80
        06 00 01 00 02 00 00 00
        06 00 02 00 06 00 00 00
        14 00 03 00 c0 00 02 0a 00 00 00 00 00 00 00 00 00 00 00 00
        06 00 04 00 01 bb 00 00
        08 00 06 00 77 6c 63 00
        0c 00 07 00 03 00 00 00 ff ff ff ff
        08 00 08 00 2c 01 00 00
        08 00 09 00 ff ff ff 00
        40 00 0a 80
          08 00 01 00 05 00 00 00
          08 00 02 00 06 00 00 00
          08 00 03 00 07 00 00 00
          04 00 0b 00
          0c 00 04 00 00 00 00 00 01 00 00 00
          0c 00 05 00 09 00 00 00 00 00 00 00
          08 00 06 00 01 00 00 00
        28 00 0c 80
          0c 00 01 00 00 00 00 00 02 00 00 00
          0c 00 04 00 00 00 00 00 01 00 00 00
          0c 00 05 00 09 00 00 00 00 00 00 00";
    let msgs = decode_datagram(FAM, &reply(1, attrs)).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].cmd, IpvsCmd::NewService);
    let e = msgs[0].to_service().unwrap();
    let mut want = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip("192.0.2.10"),
            port: 443,
        },
        Scheduler::Wlc,
    );
    // HASHED (0x2) is the kernel's own and masked off.
    want.flags = ServiceFlags(ServiceFlags::PERSISTENT);
    want.timeout = 300;
    want.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
    assert_eq!(e.service, want);
    // STATS64 wins over the 32-bit STATS.
    let s = e.stats.unwrap();
    assert_eq!(s.conns, 1 << 33);
    assert_eq!(s.inbytes, 1 << 32);
    assert_eq!(s.outbytes, 9);
}

#[test]
fn service_dump_reply_ipv6_fwmark_and_32bit_stats_only() {
    let attrs = "
      44 00 01 00
        06 00 01 00 0a 00 00 00
        08 00 05 00 07 00 00 00
        07 00 06 00 6d 68 00 00
        0c 00 07 00 18 00 00 00 ff ff ff ff
        08 00 08 00 00 00 00 00
        08 00 09 00 80 00 00 00
        0c 00 0a 00
          08 00 01 00 2a 00 00 00";
    let e = decode_datagram(FAM, &reply(1, attrs)).unwrap()[0]
        .to_service()
        .unwrap();
    assert_eq!(e.service.key, fwm6());
    assert_eq!(e.service.scheduler, Scheduler::Mh);
    assert_eq!(
        e.service.flags,
        ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2)
    );
    assert_eq!(e.service.netmask, Netmask::V6(128));
    assert_eq!(e.stats.unwrap().conns, 42);
}

#[test]
fn dest_reply_without_addr_family_takes_the_service_family() {
    // As kernels before 3.18 send it: no IPVS_DEST_ATTR_ADDR_FAMILY.
    let attrs = "
      58 00 02 00
        14 00 01 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
        06 00 02 00 00 50 00 00
        08 00 03 00 03 00 00 00
        08 00 04 00 05 00 00 00
        08 00 05 00 00 00 00 00
        08 00 06 00 00 00 00 00
        08 00 07 00 0b 00 00 00
        08 00 08 00 0c 00 00 00
        08 00 09 00 0d 00 00 00";
    let m = &decode_datagram(FAM, &reply(5, attrs)).unwrap()[0];
    let e = m.to_dest(Family::Inet6).unwrap();
    assert_eq!(
        e.dest,
        Destination::new(ip("2001:db8::2"), 80, Forward::Route, 5)
    );
    assert_eq!(
        (e.active_conns, e.inact_conns, e.persist_conns),
        (11, 12, 13)
    );
    assert_eq!(e.stats, None);
}

#[test]
fn dest_reply_ipv4_in_ipv6_tunnel_with_family_and_gre() {
    // An IPv6 service may tunnel to an IPv4 destination: ADDR_FAMILY says
    // how to cut the address; the tunnel attributes describe GRE.
    let attrs = "
      78 00 02 00
        14 00 01 00 c6 33 64 07 00 00 00 00 00 00 00 00 00 00 00 00
        06 00 02 00 00 50 00 00
        08 00 03 00 02 00 00 00
        08 00 04 00 01 00 00 00
        05 00 0d 00 02 00 00 00
        06 00 0e 00 00 00 00 00
        06 00 0f 00 01 00 00 00
        08 00 05 00 64 00 00 00
        08 00 06 00 0a 00 00 00
        08 00 07 00 00 00 00 00
        08 00 08 00 00 00 00 00
        08 00 09 00 00 00 00 00
        06 00 0b 00 02 00 00 00";
    let m = &decode_datagram(FAM, &reply(5, attrs)).unwrap()[0];
    let e = m.to_dest(Family::Inet6).unwrap();
    let mut want = Destination::new(
        ip("198.51.100.7"),
        80,
        Forward::Tunnel {
            tun_type: TunnelType::Gre,
            port: 0,
            flags: TunnelFlags(TunnelFlags::CSUM),
        },
        1,
    );
    want.u_threshold = 100;
    want.l_threshold = 10;
    assert_eq!(e.dest, want);
}

#[test]
fn info_config_and_daemon_replies() {
    // GET_INFO answers with SET_INFO, whose attributes are INFO_ATTR_*.
    let m = &decode_datagram(
        FAM,
        &reply(14, "08 00 01 00 01 02 01 00 08 00 02 00 00 10 00 00"),
    )
    .unwrap()[0];
    let info = m.to_info().unwrap();
    assert_eq!(info.version, 0x010201);
    assert_eq!(info.version_string(), "1.2.1");
    assert_eq!(info.conn_tab_size, 4096);
    // GET_CONFIG answers with SET_CONFIG.
    let m = &decode_datagram(
        FAM,
        &reply(
            12,
            "08 00 04 00 84 03 00 00 08 00 05 00 78 00 00 00 08 00 06 00 2c 01 00 00",
        ),
    )
    .unwrap()[0];
    assert_eq!(
        m.to_timeouts(),
        Timeouts {
            tcp: Some(900),
            tcp_fin: Some(120),
            udp: Some(300)
        }
    );
    // GET_DAEMON dump parts are NEW_DAEMON.
    let m = &decode_datagram(
        FAM,
        &reply(
            9,
            "30 00 03 80
               08 00 01 00 02 00 00 00
               09 00 02 00 65 74 68 31 00 00 00 00
               08 00 03 00 09 00 00 00
               06 00 07 00 90 22 00 00
               05 00 08 00 01 00 00 00",
        ),
    )
    .unwrap()[0];
    let d = m.to_daemon().unwrap();
    assert_eq!(d.state, DaemonState::Backup);
    assert_eq!(d.mcast_ifn, "eth1");
    assert_eq!(d.syncid, 9);
    assert_eq!(d.mcast_port, Some(8848));
    assert_eq!(d.mcast_ttl, Some(1));
}

#[test]
fn encoded_requests_decode_back_to_the_same_table_entries() {
    let mut svc = Service::new(fwm6(), Scheduler::Other("twos".into()));
    svc.flags = ServiceFlags(ServiceFlags::PERSISTENT);
    svc.timeout = 1800;
    svc.netmask = Netmask::V6(48);
    let bytes = req(IpvsMessage::new_service(&svc), REQ_ACK);
    let back = decode_datagram(FAM, &bytes).unwrap();
    assert_eq!(back[0].to_service().unwrap().service, svc);

    let d = Destination::new(ip("2001:db8::9"), 443, Forward::Local, 0);
    let bytes = req(IpvsMessage::new_dest(&fwm6(), &d), REQ_ACK);
    let back = decode_datagram(FAM, &bytes).unwrap();
    assert_eq!(back[0].to_dest(Family::Inet6).unwrap().dest, d);
}

#[test]
fn malformed_replies_are_errors_not_panics() {
    // A port attribute of 3 bytes.
    let bad_port = "14 00 01 00 06 00 01 00 02 00 00 00 07 00 04 00 00 50 00 00";
    assert!(decode_datagram(FAM, &reply(1, bad_port)).is_err());
    // An attribute whose length runs past the message.
    assert!(decode_datagram(FAM, &reply(1, "40 00 01 00 06 00 01 00")).is_err());
    // A service without a family.
    let m = &decode_datagram(FAM, &reply(1, "0c 00 01 00 08 00 05 00 07 00 00 00")).unwrap()[0];
    assert!(m.to_service().is_err());
    // An unknown command number.
    assert!(decode_datagram(FAM, &reply(99, "")).is_err());
    // A truncated netlink header.
    assert!(frames(&hex("20 00 00 00 1c 00")).is_err());
    // Every prefix of a valid reply decodes or fails cleanly.
    let full = reply(
        5,
        "18 00 02 00 14 00 01 00 c6 33 64 07 00 00 00 00 00 00 00 00 00 00 00 00",
    );
    for n in 0..full.len() {
        let _ = decode_datagram(FAM, &full[..n]);
    }
}

#[test]
fn unknown_attributes_are_kept_not_refused() {
    // A newer kernel may add attributes; they are kept as `Other`.
    let attrs = "
      30 00 01 00
        06 00 01 00 02 00 00 00
        08 00 05 00 01 00 00 00
        08 00 06 00 72 72 00 00
        08 00 63 00 aa bb cc dd
        0c 00 07 00 00 00 00 00 ff ff ff ff";
    let m = &decode_datagram(FAM, &reply(1, attrs)).unwrap()[0];
    let CmdAttr::Service(svc) = &m.attrs[0] else {
        panic!("not a service")
    };
    assert_eq!(svc.len(), 5);
    assert_eq!(m.to_service().unwrap().service.scheduler, Scheduler::Rr);
}

// ---------------------------------------------------------------------------
// Against ipvsadm: the requests it sent to a real kernel (captured in the
// test VM, tests/fixtures/ipvs/ipvsadm-requests.txt).

const IPVSADM: &str = include_str!("../../../tests/fixtures/ipvs/ipvsadm-requests.txt");
/// The family id the VM's kernel gave "IPVS" when the capture was made.
const VM_FAM: u16 = 0x20;

fn captured(name: &str) -> Vec<u8> {
    let line = IPVSADM
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.split('|').next() == Some(name))
        .unwrap_or_else(|| panic!("no capture {name}"));
    hex(line.rsplit('|').next().unwrap())
}

/// Everything but the sequence number and port id (libnl's own).
fn same_request(ours: &[u8], theirs: &[u8]) -> bool {
    ours.len() == theirs.len() && ours[..8] == theirs[..8] && ours[16..] == theirs[16..]
}

#[test]
fn requests_ipvsadm_sends_byte_for_byte() {
    let mut wlc = Service::new(web(), Scheduler::Wlc);
    wlc.flags = ServiceFlags(ServiceFlags::PERSISTENT);
    wlc.timeout = 300;
    wlc.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
    let fwm = ServiceKey::Fwmark {
        family: Family::Inet6,
        fwmark: 7,
    };
    let mut sh = Service::new(fwm, Scheduler::Sh);
    sh.flags = ServiceFlags(ServiceFlags::PERSISTENT | ServiceFlags::SCHED1 | ServiceFlags::SCHED2);
    sh.timeout = 300;
    sh.netmask = Netmask::V6(64);
    let mut ops = Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: ip("192.0.2.11"),
            port: 53,
        },
        Scheduler::Wlc,
    );
    ops.flags = ServiceFlags(ServiceFlags::ONEPACKET);
    let cases = [
        (
            "new_service",
            IpvsMessage::new_service(&Service::new(web(), Scheduler::Rr)),
        ),
        ("set_service", IpvsMessage::set_service(&wlc)),
        ("new_service6", IpvsMessage::new_service(&sh)),
        ("new_service_udp_ops", IpvsMessage::new_service(&ops)),
        (
            "set_config",
            IpvsMessage::set_config(&Timeouts {
                tcp: Some(900),
                tcp_fin: Some(120),
                udp: Some(300),
            }),
        ),
        (
            "new_daemon",
            IpvsMessage::new_daemon(&SyncDaemon::new(DaemonState::Master, "d0", 5)),
        ),
        ("zero", IpvsMessage::zero(None)),
        ("flush", IpvsMessage::flush()),
    ];
    for (name, msg) in cases {
        let ours = encode_request(VM_FAM, msg, REQ_ACK, 1);
        let theirs = captured(name);
        assert!(
            same_request(&ours, &theirs),
            "{name}:\n ours   {ours:02x?}\n theirs {theirs:02x?}"
        );
    }
}

/// Where ipvsadm sends more than tandem (the whole service with every
/// destination command, the tunnel attributes of a NAT destination, the
/// interface with DEL_DAEMON), every attribute tandem sends is in
/// ipvsadm's request with the same bytes, and tandem reads ipvsadm's
/// request as the same service and destination.
#[test]
fn requests_where_ipvsadm_sends_more_agree_attribute_by_attribute() {
    let mut d = Destination::new(ip("198.51.100.2"), 8080, Forward::Masq, 2);
    d.u_threshold = 1000;
    d.l_threshold = 500;
    let mut d3 = d.clone();
    d3.weight = 3;
    let fwm = ServiceKey::Fwmark {
        family: Family::Inet6,
        fwmark: 7,
    };
    let gue = Destination::new(
        ip("2001:db8::2"),
        0,
        Forward::Tunnel {
            tun_type: TunnelType::Gue,
            port: 6080,
            flags: TunnelFlags(0),
        },
        3,
    );
    let cases = [
        ("new_dest", IpvsMessage::new_dest(&web(), &d), Some(&d)),
        ("set_dest", IpvsMessage::set_dest(&web(), &d3), Some(&d3)),
        (
            "del_dest",
            IpvsMessage::del_dest(&web(), &d.addr, d.port),
            None,
        ),
        ("del_service", IpvsMessage::del_service(&web()), None),
        (
            "new_dest_gue",
            IpvsMessage::new_dest(&fwm, &gue),
            Some(&gue),
        ),
        (
            "del_daemon",
            IpvsMessage::del_daemon(DaemonState::Master),
            None,
        ),
    ];
    for (name, msg, dest) in cases {
        let theirs_bytes = captured(name);
        let theirs = &decode_datagram(VM_FAM, &theirs_bytes).unwrap()[0];
        assert_eq!(theirs.cmd, msg.cmd, "{name}");
        for (mine, their) in msg.attrs.iter().zip(&theirs.attrs) {
            match (mine, their) {
                (CmdAttr::Service(a), CmdAttr::Service(b)) => a
                    .iter()
                    .for_each(|x| assert!(b.contains(x), "{name}: {x:?}")),
                (CmdAttr::Dest(a), CmdAttr::Dest(b)) => a
                    .iter()
                    .for_each(|x| assert!(b.contains(x), "{name}: {x:?}")),
                (CmdAttr::Daemon(a), CmdAttr::Daemon(b)) => a
                    .iter()
                    .for_each(|x| assert!(b.contains(x), "{name}: {x:?}")),
                (a, b) => panic!("{name}: {a:?} vs {b:?}"),
            }
        }
        if let Some(d) = dest {
            let key = theirs.to_service().unwrap().service.key;
            assert_eq!(theirs.to_dest(key.family()).unwrap().dest, *d, "{name}");
        }
    }
}

/// ipvsadm's NEW_DAEMON with every attribute set, captured in the test VM
/// (tests/fixtures/ipvs/capture-daemon-requests.sh): the same attributes
/// with the same bytes as tandem's (the port in host order: ipvsadm's
/// libnl `NLA_PUT_U16`), the same length; ipvsadm puts the group last,
/// tandem before the port, which the kernel's attribute table ignores.
#[test]
fn daemon_requests_agree_with_ipvsadms_attribute_by_attribute() {
    const CAP: &str = include_str!("../../../tests/fixtures/ipvs/ipvsadm-daemon-requests.txt");
    let captured = |name: &str| {
        let line = CAP
            .lines()
            .find(|l| l.split('|').next() == Some(name))
            .unwrap_or_else(|| panic!("no capture {name}"));
        hex(line.rsplit('|').next().unwrap())
    };
    let mut master = SyncDaemon::new(DaemonState::Master, "s0", 201);
    master.sync_maxlen = Some(1400);
    master.mcast_group = Some(ip("224.0.0.82"));
    master.mcast_port = Some(4660);
    master.mcast_ttl = Some(7);
    let mut backup = SyncDaemon::new(DaemonState::Backup, "s1", 202);
    backup.sync_maxlen = Some(1600);
    backup.mcast_group = Some(ip("ff02::8848"));
    backup.mcast_port = Some(4661);
    backup.mcast_ttl = Some(9);
    for (name, d) in [("daemon_master_v4", master), ("daemon_backup_v6", backup)] {
        let theirs_bytes = captured(name);
        let ours_bytes = encode_request(VM_FAM, IpvsMessage::new_daemon(&d), REQ_ACK, 1);
        assert_eq!(ours_bytes.len(), theirs_bytes.len(), "{name}");
        let theirs = &decode_datagram(VM_FAM, &theirs_bytes).unwrap()[0];
        let ours = &decode_datagram(VM_FAM, &ours_bytes).unwrap()[0];
        assert_eq!(theirs.cmd, IpvsCmd::NewDaemon, "{name}");
        let (CmdAttr::Daemon(a), CmdAttr::Daemon(b)) = (&ours.attrs[0], &theirs.attrs[0]) else {
            panic!("{name}: not daemon attributes")
        };
        assert_eq!(a.len(), b.len(), "{name}");
        a.iter()
            .for_each(|x| assert!(b.contains(x), "{name}: {x:?} not in ipvsadm's"));
        assert_eq!(theirs.to_daemon().unwrap(), d, "{name}");
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever attributes a reply carries, decoding it and reading a
        /// service, destination, daemon, info or timeouts out of it returns
        /// a value or an error: never a panic.
        #[test]
        fn replies_of_random_attributes_never_panic(
            cmd in 0u8..20,
            attrs in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let hexed: Vec<String> = attrs.iter().map(|b| format!("{b:02x}")).collect();
            let bytes = reply(cmd, &hexed.join(" "));
            if let Ok(msgs) = decode_datagram(FAM, &bytes) {
                for m in msgs {
                    let _ = m.to_service();
                    let _ = m.to_dest(Family::Inet);
                    let _ = m.to_dest(Family::Inet6);
                    let _ = m.to_daemon();
                    let _ = m.to_info();
                    let _ = m.to_timeouts();
                }
            }
        }

        /// Well-formed nested attributes with random values: the same.
        #[test]
        fn nested_attributes_with_random_values_never_panic(
            kinds in proptest::collection::vec((1u16..16, proptest::collection::vec(any::<u8>(), 0..24)), 0..20),
            outer in 1u16..4,
        ) {
            let mut inner = Vec::new();
            for (k, v) in &kinds {
                let len = 4 + v.len();
                inner.extend((len as u16).to_ne_bytes());
                inner.extend(k.to_ne_bytes());
                inner.extend(v);
                inner.resize((inner.len() + 3) & !3, 0);
            }
            let mut attrs = Vec::new();
            attrs.extend(((4 + inner.len()) as u16).to_ne_bytes());
            attrs.extend(outer.to_ne_bytes());
            attrs.extend(inner);
            let hexed: Vec<String> = attrs.iter().map(|b| format!("{b:02x}")).collect();
            for cmd in [1u8, 5, 9] {
                if let Ok(msgs) = decode_datagram(FAM, &reply(cmd, &hexed.join(" "))) {
                    for m in msgs {
                        let _ = m.to_service();
                        let _ = m.to_dest(Family::Inet6);
                        let _ = m.to_daemon();
                    }
                }
            }
        }
    }
}
