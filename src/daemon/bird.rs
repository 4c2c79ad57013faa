//! The BIRD task: follows the VIPs the LVS task says to announce
//! (`Bus::announcements`, `tandem_bgp`) and makes BIRD announce exactly
//! those: each include file rewritten atomically (a temporary file, then
//! a rename, so BIRD never reads half of one), then `configure` on BIRD's
//! control socket (docs/scale-out.md).
//!
//! ```text
//!   LvsTask ──Bus::announcements (watch)──► BIRD task ──include file + configure──► BIRD
//! ```
//!
//! It is the only writer of the include files. A failed write or a
//! refused `configure` is logged and retried every second until it
//! succeeds, so a BIRD that starts after tandem (or restarts) is brought
//! in line. On stop it withdraws everything first ([`BirdService::withdraw`]):
//! the daemon then keeps forwarding for the longest `drain_delay` before
//! it takes its IPVS table down, so flows the router already sent here
//! still find their real servers while the router moves new ones away.
//!
//! The routes point at a liveness device ([`LivenessDevice`], a TUN
//! device that dies with tandem): after kill -9 the kernel removes it and
//! BIRD withdraws the routes on its own.
//!
//! May not: decide what is announced (the LVS task does).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::config::model::BgpAnnounce;
use crate::net::tun::LivenessDevice;

use super::bus::{Announcements, Bus};

/// Between retries of a failed write or `configure`.
const RETRY: Duration = Duration::from_secs(1);

/// The running BIRD task.
pub struct BirdService {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Duration>,
}

/// What BIRD was last told to announce, per include file.
type Written = BTreeMap<String, (BgpAnnounce, BTreeSet<IpAddr>)>;

impl BirdService {
    /// Follow the bus's announcements until [`Self::withdraw`].
    pub fn start(bus: &Bus) -> BirdService {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(bus.announcements(), stopped));
        BirdService { stop, task }
    }

    /// Withdraw every VIP (each include file emptied, BIRD reconfigured),
    /// then wait out the longest `drain_delay` of the files that had
    /// announced something: the graceful drain before forwarding stops.
    pub async fn withdraw(self) {
        let _ = self.stop.send(());
        let drain = self.task.await.unwrap_or_default();
        if !drain.is_zero() {
            tracing::info!(
                drain_delay = ?drain,
                "BGP: VIPs withdrawn; still forwarding while the router moves the flows"
            );
            tokio::time::sleep(drain).await;
        }
    }
}

/// The task: returns the drain delay owed at stop.
async fn run(mut rx: watch::Receiver<Announcements>, mut stop: oneshot::Receiver<()>) -> Duration {
    let mut written = Written::new();
    let mut devices = Devices::new();
    let mut dirty = false;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            changed = rx.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep(RETRY), if dirty => {}
        }
        let want: Written = rx
            .borrow_and_update()
            .iter()
            .map(|(file, a)| (file.clone(), (a.bgp.clone(), a.vips.clone())))
            .collect();
        // The include file first, then the device: routes a dead run
        // left in the file come back only as this run's quorum says.
        dirty = !apply(&want, &mut written).await;
        dirty |= !ensure_devices(&want, &mut devices);
    }
    let drain = written
        .values()
        .filter(|(_, vips)| !vips.is_empty())
        .map(|(bgp, _)| bgp.drain_delay)
        .max()
        .unwrap_or_default();
    let nothing: Written = written
        .iter()
        .map(|(file, (bgp, _))| (file.clone(), (bgp.clone(), BTreeSet::new())))
        .collect();
    if !apply(&nothing, &mut written).await {
        tracing::error!("BGP: could not withdraw every VIP through BIRD at stop");
    }
    // The devices go with the task (their routes were withdrawn above).
    drop(devices);
    drain
}

/// The liveness devices this run holds, by name.
type Devices = BTreeMap<String, LivenessDevice>;

/// Create every liveness device `want` names that this run does not hold
/// yet; true when none is missing. A device that cannot be created keeps
/// its routes inactive in BIRD (nothing announced): an error, retried.
fn ensure_devices(want: &Written, devices: &mut Devices) -> bool {
    let mut ok = true;
    for (bgp, _) in want.values() {
        let name = &bgp.liveness_device;
        if devices.contains_key(name) {
            continue;
        }
        match LivenessDevice::create(name) {
            Ok(dev) => {
                tracing::info!(device = %name, "BGP: liveness device up (BIRD's routes to the VIPs point at it)");
                devices.insert(name.clone(), dev);
            }
            Err(e) => {
                tracing::error!(device = %name, error = %e, "BGP: cannot create the liveness device: nothing is announced; retrying");
                ok = false;
            }
        }
    }
    ok
}

/// Bring every include file to `want` (a file no longer wanted, after a
/// reload, is emptied); true when BIRD took every change.
async fn apply(want: &Written, written: &mut Written) -> bool {
    let gone: Written = written
        .iter()
        .filter(|(file, _)| !want.contains_key(*file))
        .map(|(file, (bgp, _))| (file.clone(), (bgp.clone(), BTreeSet::new())))
        .collect();
    let mut ok = true;
    for (file, (bgp, vips)) in want.iter().chain(gone.iter()) {
        if written.get(file).is_some_and(|(_, was)| was == vips) {
            continue;
        }
        let (b, v) = (bgp.clone(), vips.clone());
        let done = tokio::task::spawn_blocking(move || announce(&b, &v)).await;
        match done {
            Ok(Ok(reply)) => {
                tracing::info!(include_file = %file, vips = ?vips, bird = %reply, "BGP: BIRD announces");
                if vips.is_empty() && gone.contains_key(file) {
                    written.remove(file);
                } else {
                    written.insert(file.clone(), (bgp.clone(), vips.clone()));
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(include_file = %file, error = %e, "BGP: BIRD not updated; retrying");
                ok = false;
            }
            Err(e) => {
                tracing::error!(error = %e, "BGP: the BIRD update panicked");
                ok = false;
            }
        }
    }
    ok
}

#[derive(Debug, thiserror::Error)]
enum AnnounceError {
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Bird(#[from] crate::bird::BirdError),
}

/// Write the include file (atomically) and have BIRD reread it.
fn announce(bgp: &BgpAnnounce, vips: &BTreeSet<IpAddr>) -> Result<String, AnnounceError> {
    let text = crate::bird::render(&bgp.protocol, vips, Some(&bgp.liveness_device));
    let path = PathBuf::from(&bgp.include_file);
    write_atomically(&path, &text).map_err(|source| AnnounceError::Write {
        path: bgp.include_file.clone(),
        source,
    })?;
    Ok(crate::bird::configure(Path::new(&bgp.bird_socket))?)
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tandem-new");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
