//! Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6).
//!
//! When a VIP moves, every host on the link still maps it to the old
//! master's MAC. RFC 5798 §6.4.2 has the new master announce the VIP's new
//! link-layer address: a gratuitous ARP for IPv4 (RFC 5227 §3 "ARP
//! announcement"), an unsolicited neighbour advertisement with the Override
//! flag for IPv6 (RFC 4861 §7.2.6). Receivers update an existing cache entry
//! from either.
//!
//! Owns the announcement sockets and frames; may not decide when to
//! announce (the daemon does, on the instance's actions).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;

use pnet_datalink::MacAddr;
use pnet_packet::MutablePacket;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::socket::{SocketError, setup};

const ETH_P_ARP: u16 = 0x0806;
const BROADCAST: [u8; 6] = [0xff; 6];

/// Build an ARP announcement frame for `vip` owned by `mac`.
///
/// An ARP *request* whose sender and target protocol addresses are both the
/// VIP, broadcast: the form every Linux since 2.6 accepts as gratuitous and
/// uses to update (not create) its cache entry, and what keepalived sends.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; 42] {
    let mut frame = [0u8; 42];
    if let Some(mut eth) = MutableEthernetPacket::new(&mut frame) {
        eth.set_destination(MacAddr::from(BROADCAST));
        eth.set_source(MacAddr::from(mac));
        eth.set_ethertype(EtherTypes::Arp);
        if let Some(mut arp) = MutableArpPacket::new(eth.payload_mut()) {
            arp.set_hardware_type(ArpHardwareTypes::Ethernet);
            arp.set_protocol_type(EtherTypes::Ipv4);
            arp.set_hw_addr_len(6);
            arp.set_proto_addr_len(4);
            arp.set_operation(ArpOperations::Request);
            arp.set_sender_hw_addr(MacAddr::from(mac));
            arp.set_sender_proto_addr(vip);
            arp.set_target_hw_addr(MacAddr::from(BROADCAST));
            arp.set_target_proto_addr(vip);
        }
    }
    frame
}

/// Build an unsolicited neighbour advertisement (ICMPv6 type 136) for `vip`.
/// The checksum is left zero: the kernel fills it in on ICMPv6 raw sockets.
pub fn na_message(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[0] = 136; // Neighbor Advertisement
    // R (router), S (solicited) = 0: nobody asked, O (override): replace the
    // cached link-layer address (RFC 4861 §4.4, §7.2.6).
    m[4] = if router { 0x80 } else { 0 } | 0x20;
    m[8..24].copy_from_slice(&vip.octets());
    m[24] = 2; // option: Target Link-Layer Address
    m[25] = 1; // length in units of 8 bytes
    m[26..32].copy_from_slice(&mac);
    m
}

/// Sends gratuitous ARPs out of one interface.
pub struct GarpSender {
    ifname: String,
    ifindex: u32,
    mac: [u8; 6],
    socket: Socket,
}

impl GarpSender {
    pub fn new(ifname: &str, ifindex: u32, mac: [u8; 6]) -> Result<GarpSender, SocketError> {
        let socket = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from(ETH_P_ARP.to_be()))),
        )
        .map_err(setup(
            ifname,
            "open a packet socket for ARP (needs CAP_NET_RAW)",
        ))?;
        socket
            .set_nonblocking(true)
            .map_err(setup(ifname, "make the packet socket non-blocking"))?;
        // Nothing is read from this socket: drop whatever it would queue.
        socket
            .attach_filter(&[socket2::SockFilter::new(0x06, 0, 0, 0)])
            .map_err(setup(ifname, "attach a drop-all filter"))?;
        Ok(GarpSender {
            ifname: ifname.to_string(),
            ifindex,
            mac,
            socket,
        })
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Send one gratuitous ARP for `vip`.
    pub fn send(&self, vip: Ipv4Addr) -> Result<(), SocketError> {
        let frame = garp_frame(self.mac, vip);
        // SAFETY: all-zero is a valid sockaddr_ll.
        let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ARP.to_be();
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&BROADCAST);
        // SAFETY: `frame` and `sll` outlive the call; lengths match.
        let rc = unsafe {
            libc::sendto(
                self.socket.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(SocketError::Send {
                ifname: self.ifname.clone(),
                dst: vip.into(),
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }
}

/// All-nodes multicast, where unsolicited advertisements go (RFC 4861 §7.2.6).
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Sends unsolicited neighbour advertisements out of one interface.
pub struct NaSender {
    ifname: String,
    ifindex: u32,
    mac: [u8; 6],
    socket: Socket,
}

impl NaSender {
    pub fn new(ifname: &str, ifindex: u32, mac: [u8; 6]) -> Result<NaSender, SocketError> {
        let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)).map_err(
            setup(ifname, "open an ICMPv6 raw socket (needs CAP_NET_RAW)"),
        )?;
        socket
            .bind_device(Some(ifname.as_bytes()))
            .map_err(setup(ifname, "bind the ICMPv6 socket to the device"))?;
        socket
            .set_nonblocking(true)
            .map_err(setup(ifname, "make the ICMPv6 socket non-blocking"))?;
        // RFC 4861 §7.1.2: a receiver drops an advertisement whose hop limit
        // is not 255.
        socket
            .set_multicast_hops_v6(255)
            .map_err(setup(ifname, "set the hop limit to 255"))?;
        socket
            .set_multicast_if_v6(ifindex)
            .map_err(setup(ifname, "set IPV6_MULTICAST_IF"))?;
        socket
            .set_multicast_loop_v6(false)
            .map_err(setup(ifname, "disable multicast loopback"))?;
        socket
            .attach_filter(&[socket2::SockFilter::new(0x06, 0, 0, 0)])
            .map_err(setup(ifname, "attach a drop-all filter"))?;
        Ok(NaSender {
            ifname: ifname.to_string(),
            ifindex,
            mac,
            socket,
        })
    }

    /// Send one unsolicited neighbour advertisement for `vip`.
    pub fn send(&self, vip: Ipv6Addr, router: bool) -> Result<(), SocketError> {
        let msg = na_message(self.mac, vip, router);
        let dst = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, self.ifindex));
        self.socket
            .send_to(&msg, &dst)
            .map(|_| ())
            .map_err(|source| SocketError::Send {
                ifname: self.ifname.clone(),
                dst: vip.into(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_frame_layout() {
        let mac = [0x02, 0, 0, 0, 0, 0x01];
        let f = garp_frame(mac, Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(&f[0..6], &BROADCAST);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        // htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (request)
        assert_eq!(&f[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&f[22..28], &mac);
        assert_eq!(&f[28..32], &[192, 0, 2, 100]);
        assert_eq!(&f[32..38], &BROADCAST);
        assert_eq!(&f[38..42], &[192, 0, 2, 100]);
    }

    #[test]
    fn na_layout() {
        let mac = [0x02, 0, 0, 0, 0, 0x01];
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap_or(Ipv6Addr::UNSPECIFIED);
        let m = na_message(mac, vip, false);
        assert_eq!(m[0], 136);
        assert_eq!(m[4], 0x20);
        assert_eq!(&m[8..24], &vip.octets());
        assert_eq!(&m[24..26], &[2, 1]);
        assert_eq!(&m[26..32], &mac);
        assert_eq!(na_message(mac, vip, true)[4], 0xa0);
    }
}
