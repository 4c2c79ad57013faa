//! Receive tasks: one per receive socket (an interface and a multicast
//! group, or an interface's unicast adverts), reading the raw VRRP socket
//! and handing each advert to the unit that owns its VRID there.
//!
//! The VRID is read from the second byte of the VRRP header without any
//! other check; validation is the codec's and the state machine's job in the
//! unit task. Unicast instances may share a VRID on one interface when
//! their local addresses or their peers differ (keepalived's
//! `VRRP_FLAG_UNICAST_DUPLICATE_VRID`): the advert goes to the one whose
//! address it was sent to and whose `unicast_peer` list holds its source. Datagrams for a VRID nobody here runs are counted and dropped.
//! A receive task never waits for a unit: a full inbox drops the advert
//! (counted), and it never touches protocol state.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::net::VrrpRecvSocket;

use super::unit::UnitMsg;

/// Drops that happen before an advert reaches an instance.
#[derive(Debug, Default)]
pub struct RxStats {
    /// Too short to carry a VRRP header, or a broken IPv4 header.
    pub malformed: AtomicU64,
    /// A VRID no instance on this socket uses (or, when unicast instances
    /// share it, a sender none of them lists).
    pub unknown_vrid: AtomicU64,
    /// The unit's queue was full (it is far behind).
    pub queue_full: AtomicU64,
}

impl RxStats {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "malformed": self.malformed.load(Ordering::Relaxed),
            "unknown_vrid": self.unknown_vrid.load(Ordering::Relaxed),
            "queue_full": self.queue_full.load(Ordering::Relaxed),
        })
    }
}

/// One instance that takes adverts of a VRID on a socket.
#[derive(Debug, Clone)]
pub struct Route {
    /// The unit's inbox, and the instance's index in it.
    pub tx: mpsc::Sender<UnitMsg>,
    pub instance: usize,
    /// Its source address (adverts to it are its own, when several
    /// unicast instances share the VRID).
    pub local: IpAddr,
    /// `unicast_peer`: empty for a multicast instance.
    pub peers: Vec<IpAddr>,
}

/// Where adverts with a VRID go; more than one only for unicast instances
/// that share it.
pub type Routes = HashMap<u8, Vec<Route>>;

/// The instance among `routes` an advert from `src` to `dst` belongs to:
/// the only one, else the first whose peers hold `src`, preferring those
/// whose address is `dst` (as keepalived's socket per `unicast_src_ip`
/// sees only its own). `None`: none of them knows the sender.
pub fn pick(routes: &[Route], src: IpAddr, dst: IpAddr) -> Option<&Route> {
    if let [only] = routes {
        return Some(only);
    }
    let knows = |r: &&Route| r.peers.contains(&src);
    routes
        .iter()
        .filter(|r| r.local == dst)
        .find(knows)
        .or_else(|| routes.iter().find(knows))
}

/// The routes of one socket, shared with the daemon so that a reload can
/// add, replace and remove units while the socket keeps receiving.
pub type SharedRoutes = Arc<std::sync::RwLock<Routes>>;

/// Read `socket` until it fails; deliver by VRID. `log_unknown` (keepalived's
/// `log_unknown_vrids`): an advert for a VRID nobody here runs is logged,
/// not only counted.
pub async fn receive(
    mut socket: VrrpRecvSocket,
    routes: SharedRoutes,
    stats: Arc<RxStats>,
    log_unknown: bool,
) {
    loop {
        let advert = match socket.recv().await {
            Ok(Ok(a)) => a,
            Ok(Err(drop)) => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    interface = socket.ifname(),
                    ?drop,
                    "malformed datagram dropped"
                );
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "VRRP receive socket failed; no more adverts on it");
                return;
            }
        };
        let Some(&vrid) = advert.vrrp().get(1) else {
            stats.malformed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let target = routes.read().ok().and_then(|r| {
            r.get(&vrid)
                .and_then(|list| pick(list, advert.src, advert.dst))
                .map(|route| (route.tx.clone(), route.instance))
        });
        let Some((tx, instance)) = target else {
            stats.unknown_vrid.fetch_add(1, Ordering::Relaxed);
            if log_unknown {
                tracing::info!(interface = socket.ifname(), vrid, src = %advert.src, "Unknown VRID({vrid}) received on interface({}) from {}; ignored", socket.ifname(), advert.src);
                continue;
            }
            tracing::debug!(interface = socket.ifname(), vrid, src = %advert.src, "advert for a VRID not configured here");
            continue;
        };
        let msg = UnitMsg::Advert { instance, advert };
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(msg) {
            stats.queue_full.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(tx: &mpsc::Sender<UnitMsg>, instance: usize, local: &str, peers: &[&str]) -> Route {
        Route {
            tx: tx.clone(),
            instance,
            local: local.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            peers: peers.iter().filter_map(|p| p.parse().ok()).collect(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn a_lone_instance_takes_every_advert_of_its_vrid() {
        let (tx, _rx) = mpsc::channel(1);
        let routes = [route(&tx, 3, "192.0.2.1", &["192.0.2.2"])];
        // Its unit counts and drops a stranger (unicast_peer), as keepalived.
        let got = pick(&routes, ip("192.0.2.9"), ip("192.0.2.1"));
        assert_eq!(got.map(|r| r.instance), Some(3));
    }

    #[test]
    fn unicast_instances_sharing_a_vrid_are_told_apart_by_peer_and_address() {
        let (tx, _rx) = mpsc::channel(1);
        let routes = [
            route(&tx, 0, "192.0.2.1", &["192.0.2.2"]),
            route(&tx, 1, "192.0.2.1", &["192.0.2.3"]),
            route(&tx, 2, "192.0.2.4", &["192.0.2.3"]),
        ];
        let to = |src: &str, dst: &str| pick(&routes, ip(src), ip(dst)).map(|r| r.instance);
        assert_eq!(to("192.0.2.2", "192.0.2.1"), Some(0));
        assert_eq!(to("192.0.2.3", "192.0.2.1"), Some(1));
        // The same peer speaking to the other local address.
        assert_eq!(to("192.0.2.3", "192.0.2.4"), Some(2));
        // Nobody lists the sender.
        assert_eq!(to("192.0.2.9", "192.0.2.1"), None);
    }
}
