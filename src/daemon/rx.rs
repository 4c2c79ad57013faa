//! Receive tasks: one per (interface, address family), reading the raw
//! VRRP socket and handing each advert to the unit that owns its VRID.
//!
//! The VRID is read from the second byte of the VRRP header without any
//! other check; validation is the codec's and the state machine's job in the
//! unit task. Datagrams for a VRID nobody here runs are counted and dropped.
//! A receive task never waits for a unit: a full inbox drops the advert
//! (counted), and it never touches protocol state.

use std::collections::HashMap;
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
    /// A VRID no instance on this interface and family uses.
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

/// Where adverts with a VRID go: the unit's inbox and the instance index in it.
pub type Routes = HashMap<u8, (mpsc::Sender<UnitMsg>, usize)>;

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
        let target = routes.read().ok().and_then(|r| r.get(&vrid).cloned());
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
