//! Kernel network interfaces: rtnetlink addresses and links, raw VRRP sockets, GARP/NA,
//! BFD's UDP sockets,
//! and the nftables tables of accept mode and of the handover guard.
//!
//! Everything here talks to the kernel of the network namespace the process
//! runs in. Nothing here knows about VRRP states: the daemon decides *what*
//! to do, this module only knows *how* to do it on Linux.
//!
//! | file            | what it does                                                   |
//! |-----------------|----------------------------------------------------------------|
//! | `rtnl.rs`       | rtnetlink requests: addresses, routes, links (sync, one ack each) |
//! | `rule.rs`       | ip rules (virtual_rules, static_rules) over rtnetlink          |
//! | `removals.rs`   | address / route / rule removals (static entries put back)     |
//! | `events.rs`     | an rtnetlink multicast subscription on tokio (lost events said) |
//! | `link.rs`       | the RTNLGRP_LINK monitor behind `track_interface`              |
//! | `netlink_bufs.rs` | the receive buffers of the netlink sockets (`*_rcv_bufs`)   |
//! | `ancillary.rs`  | recvmsg with the TTL / hop limit and destination control messages |
//! | `socket.rs`     | raw IP protocol 112 sockets: send and receive adverts          |
//! | `garp.rs`       | gratuitous ARP (AF_PACKET) and unsolicited neighbour adverts   |
//! | `bfd.rs`        | BFD's UDP sockets: the port 3784 listener, one sender per session |
//! | `nft.rs`        | accept mode's nftables table (drop traffic to VIPs), via `nft -j` |
//! | `guard.rs`      | the handover guard: unknown TCP segments dropped, not reset, for a few seconds after a takeover |
//! | `vlan.rs`       | macvlan / ipvlan kinds and IPv4 settings as a link dump says   |
//! | `vmac.rs`       | macvlan / ipvlan links and per-link IPv4 settings (use_vmac)   |
//!
//! Owns the node's kernel networking: addresses, routes, link events, the
//! VRRP and announcement sockets. May not know VRRP states, IPVS or the
//! configuration: it imports nothing else of tandem.

mod ancillary;
pub mod bfd;
mod events;
pub mod garp;
pub mod guard;
pub mod link;
pub mod linkbeat;
pub mod netlink_bufs;
pub mod nft;
mod reactor;
pub mod removals;
pub mod rtnl;
pub mod rule;
pub mod socket;
pub mod tun;
mod vlan;
pub mod vmac;

pub use bfd::{BfdDatagram, BfdListener, BfdSender, BfdSocketError};
pub use events::{Batch, RtnlEvents};
pub use garp::{GarpSender, NaSender};
pub use link::{LinkEvent, LinkMonitor};
pub use linkbeat::{Linkbeat, LinkbeatWay};
pub use nft::{AcceptFilter, DropEntry, NftError, NftSettings};
pub use removals::{RemovalMonitor, Removed};
pub use rtnl::{
    AddMode, Encap, IfAddress, InetConf, LinkInfo, NextHop, Route, RouteKind, RouteOptions, Rtnl,
    RtnlError, Scope, VlanInfo,
};
pub use rule::{Rule, RuleKind};
pub use socket::{
    IPPROTO_AH, IPPROTO_VRRP, ReceivedAdvert, RxDest, SocketError, VRRP_MCAST_V4, VRRP_MCAST_V6,
    VrrpRecvSocket, VrrpSendSocket,
};

/// The interface index of `name`, or `None` when the namespace has no such link.
pub fn if_index(name: &str) -> Option<u32> {
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: `cname` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    (index != 0).then_some(index)
}
