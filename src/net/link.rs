//! Link state from rtnetlink events (`RTNLGRP_LINK`), behind `track_interface`.
//!
//! The kernel multicasts an `RTM_NEWLINK` on every change of a link's flags
//! (up/down, carrier) and an `RTM_DELLINK` when it goes away. Reading the
//! events, rather than polling, is what lets an instance go to FAULT the
//! moment its interface loses carrier.
//!
//! Owns the link-event socket; may not decide what a change means (FAULT is
//! the VRRP instance's).

use super::events::{Batch, RtnlEvents};
use super::rtnl::{LinkInfo, Rtnl, RtnlError};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

/// `RTMGRP_LINK`: the bit of the legacy group mask for `RTNLGRP_LINK` (= 1).
const RTMGRP_LINK: u32 = 1;

/// A change of one link, or the link's state after a resynchronisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEvent {
    pub index: u32,
    pub name: String,
    /// Up and running (`IFF_UP` and `IFF_RUNNING`); false when removed.
    pub running: bool,
    /// The link was deleted.
    pub removed: bool,
}

/// A subscription to link events of the namespace.
pub struct LinkMonitor {
    events: RtnlEvents,
}

impl LinkMonitor {
    /// Subscribe. Must be called inside a tokio runtime.
    pub fn new() -> Result<LinkMonitor, RtnlError> {
        Ok(LinkMonitor {
            events: RtnlEvents::subscribe(RTMGRP_LINK, &[], "link events")?,
        })
    }

    /// Wait for the next batch of link events.
    ///
    /// When the kernel dropped events (`ENOBUFS`), every link's current
    /// state is returned instead, so no change is ever missed for good.
    pub async fn next(&mut self) -> Result<Vec<LinkEvent>, RtnlError> {
        loop {
            let events = match self.events.next().await? {
                Batch::Messages(b) => parse_events(b),
                Batch::Lost => {
                    tracing::warn!("link events overran the socket buffer; re-reading every link");
                    return resync();
                }
            };
            if !events.is_empty() {
                return Ok(events);
            }
        }
    }
}

fn resync() -> Result<Vec<LinkEvent>, RtnlError> {
    let links = Rtnl::new()?.links()?;
    Ok(links
        .into_iter()
        .map(|l| LinkEvent {
            index: l.index,
            name: l.name,
            running: l.running,
            removed: false,
        })
        .collect())
}

/// Decode a datagram of rtnetlink messages; anything undecodable is skipped
/// (a newer kernel may send attributes this library does not know).
fn parse_events(mut bytes: &[u8]) -> Vec<LinkEvent> {
    let mut events = Vec::new();
    while bytes.len() >= 16 {
        let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if len < 16 || len > bytes.len() {
            break;
        }
        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[..len]) {
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                    let info = LinkInfo::from_message(&l);
                    events.push(LinkEvent {
                        index: info.index,
                        name: info.name,
                        running: info.running,
                        removed: false,
                    });
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => {
                    let info = LinkInfo::from_message(&l);
                    events.push(LinkEvent {
                        index: info.index,
                        name: info.name,
                        running: false,
                        removed: true,
                    });
                }
                _ => {}
            }
        }
        let step = (len + 3) & !3;
        bytes = bytes.get(step..).unwrap_or(&[]);
    }
    events
}
