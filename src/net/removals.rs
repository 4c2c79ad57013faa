//! Addresses, routes and rules removed from the namespace, from rtnetlink
//! events (`RTNLGRP_IPV4_IFADDR`, `..._IPV6_IFADDR`, `..._IPV4_ROUTE`,
//! `..._IPV6_ROUTE`, `..._IPV4_RULE`, `..._IPV6_RULE`): what lets the
//! daemon put back a static entry that someone deleted, as keepalived does.
//!
//! Owns the event socket; may not decide what a removal means.

use std::net::IpAddr;

use super::events::{Batch, RtnlEvents};
use super::rtnl::RtnlError;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::route::{RouteAddress, RouteAttribute};
use netlink_packet_route::rule::RuleAttribute;

/// The legacy group bits: IPv4 / IPv6 addresses, routes and IPv4 rules.
const GROUPS: u32 = 0x10 | 0x100 | 0x40 | 0x400 | 0x80;
/// `RTNLGRP_IPV6_RULE`: past the legacy mask, joined by number.
const RTNLGRP_IPV6_RULE: u32 = 19;

/// One removal the kernel reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    Address {
        ifindex: u32,
        addr: IpAddr,
    },
    Route {
        dst: Option<IpAddr>,
        dst_len: u8,
        table: u32,
    },
    Rule {
        v6: bool,
        priority: u32,
    },
    /// Events were lost (a full socket buffer): anything may be gone.
    Unknown,
}

/// A subscription to removals in the namespace.
pub struct RemovalMonitor {
    events: RtnlEvents,
}

impl RemovalMonitor {
    /// Subscribe. Must be called inside a tokio runtime.
    pub fn new() -> Result<RemovalMonitor, RtnlError> {
        Ok(RemovalMonitor {
            events: RtnlEvents::subscribe(GROUPS, &[RTNLGRP_IPV6_RULE], "removal events")?,
        })
    }

    /// The next batch of removals (additions are skipped). Cancel-safe.
    pub async fn next(&mut self) -> Result<Vec<Removed>, RtnlError> {
        loop {
            let removed = match self.events.next().await? {
                Batch::Messages(b) => parse(b),
                Batch::Lost => return Ok(vec![Removed::Unknown]),
            };
            if !removed.is_empty() {
                return Ok(removed);
            }
        }
    }
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Decode a datagram; anything undecodable is skipped.
fn parse(mut bytes: &[u8]) -> Vec<Removed> {
    let mut out = Vec::new();
    while bytes.len() >= 16 {
        let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if len < 16 || len > bytes.len() {
            break;
        }
        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..len])
            && let NetlinkPayload::InnerMessage(m) = msg.payload
            && let Some(r) = removal(m)
        {
            out.push(r);
        }
        let step = (len + 3) & !3;
        bytes = bytes.get(step..).unwrap_or(&[]);
    }
    out
}

fn removal(m: RouteNetlinkMessage) -> Option<Removed> {
    match m {
        RouteNetlinkMessage::DelAddress(a) => {
            let mut local = None;
            let mut address = None;
            for attr in &a.attributes {
                match attr {
                    AddressAttribute::Local(x) => local = Some(*x),
                    AddressAttribute::Address(x) => address = Some(*x),
                    _ => {}
                }
            }
            Some(Removed::Address {
                ifindex: a.header.index,
                addr: local.or(address)?,
            })
        }
        RouteNetlinkMessage::DelRoute(r) => {
            let mut dst = None;
            let mut table = u32::from(r.header.table);
            for attr in &r.attributes {
                match attr {
                    RouteAttribute::Destination(d) => dst = route_ip(d),
                    RouteAttribute::Table(t) => table = *t,
                    _ => {}
                }
            }
            Some(Removed::Route {
                dst,
                dst_len: r.header.destination_prefix_length,
                table,
            })
        }
        RouteNetlinkMessage::DelRule(r) => {
            let priority = r.attributes.iter().find_map(|a| match a {
                RuleAttribute::Priority(p) => Some(*p),
                _ => None,
            })?;
            Some(Removed::Rule {
                v6: r.header.family == netlink_packet_route::AddressFamily::Inet6,
                priority,
            })
        }
        _ => None,
    }
}
