//! The tasks that feed every unit from outside VRRP: the link monitor
//! (RTNLGRP_LINK → [`UnitMsg::Link`]) and one tracker per `vrrp_script`
//! (rise/fall-debounced results → [`UnitMsg::Script`]).
//!
//! They only send messages to the units' inboxes; they never touch a
//! unit's state, a socket of the units or the bus. A tracker waits on its
//! script (bounded by the script's timeout), and both wait while a unit's
//! inbox is full: neither is ever on a unit's own path.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::net::{LinkEvent, LinkMonitor, Linkbeat, LinkbeatWay, RtnlError};
use crate::notify::script::{self, Outcome};
use crate::vrrp::ScriptState;

use super::plan::ScriptPlan;
use super::unit::UnitMsg;

/// Every unit's inbox, shared with the feeders; a reload adds and removes
/// entries as units start and stop.
pub(super) type Inboxes = Arc<std::sync::RwLock<Vec<mpsc::Sender<UnitMsg>>>>;

/// Where link events come from: the kernel's [`LinkMonitor`], or a
/// scripted source in tests.
pub(super) trait LinkEvents {
    fn next_events(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Vec<LinkEvent>, RtnlError>> + Send;
}

impl LinkEvents for LinkMonitor {
    fn next_events(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Vec<LinkEvent>, RtnlError>> + Send {
        self.next()
    }
}

/// Forward link changes to every unit.
///
/// If the subscription fails for good, `track_interface` and every
/// instance's own link state would silently stop following the links (an
/// instance would stay MASTER on a dead interface): that is reported on
/// `failed` like a unit's panic, so the daemon exits non-zero and is
/// restarted with a fresh subscription.
///
/// The links in `polled` are linkbeat's (their state comes from
/// [`linkbeat`]): their events are ignored, as keepalived ignores them.
pub(super) async fn watch_links(
    mut monitor: impl LinkEvents,
    inboxes: Inboxes,
    failed: mpsc::UnboundedSender<String>,
    polled: HashSet<String>,
) {
    let mut last: HashMap<u32, bool> = HashMap::new();
    loop {
        match monitor.next_events().await {
            Ok(events) => {
                for ev in events.into_iter().filter(|e| !polled.contains(&e.name)) {
                    // The kernel repeats RTM_NEWLINK for changes we do not
                    // track (MTU, stats); pass only changes of "running".
                    if last.insert(ev.index, ev.running) == Some(ev.running) {
                        continue;
                    }
                    send_link(&inboxes, ev.index, ev.running).await;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "link monitor failed; track_interface can no longer follow link changes: stopping");
                let _ = failed.send(format!("the link monitor failed ({e})"));
                return;
            }
        }
    }
}

/// Tell every unit that link `ifindex` is (not) running.
async fn send_link(inboxes: &Inboxes, ifindex: u32, running: bool) {
    let units = inboxes.read().map(|l| l.clone()).unwrap_or_default();
    for tx in &units {
        let _ = tx.send(UnitMsg::Link { ifindex, running }).await;
    }
}

/// keepalived's linkbeat period (POLLING_DELAY: one second).
const LINKBEAT_PERIOD: Duration = Duration::from_secs(1);

/// Poll each linkbeat interface's carrier every second and report its
/// changes to the units as link events (the first poll reports every
/// interface, so the units start from the polled state, not
/// rtnetlink's). An interface that does not exist is down; one that
/// appears is found by name at the next poll.
pub(super) async fn linkbeat(list: Vec<(String, Option<LinkbeatWay>)>, inboxes: Inboxes) {
    let probe = match Linkbeat::new() {
        Ok(p) => p,
        Err(e) => {
            // keepalived logs and goes on without polling: so does tandem,
            // but louder, since the links then follow nothing.
            tracing::error!(error = %e, "linkbeat: cannot open the ioctl socket; polled interfaces are not followed");
            return;
        }
    };
    let mut last: HashMap<String, (u32, bool)> = HashMap::new();
    let mut tick = tokio::time::interval(LINKBEAT_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (name, prefer) in &list {
            let index = crate::net::if_index(name);
            let (up, way) = match index {
                Some(_) => probe.poll(name, *prefer),
                None => (false, prefer.unwrap_or(LinkbeatWay::Ioctl)),
            };
            let index = index.or(last.get(name).map(|l| l.0));
            let Some(index) = index else {
                continue;
            };
            let before = last.insert(name.clone(), (index, up));
            if before.map(|b| b.1) == Some(up) {
                continue;
            }
            if before.is_some() {
                tracing::info!(interface = %name, ?way, up, "Linkbeat reports {} {}", name, if up { "up" } else { "down" });
            } else {
                tracing::info!(interface = %name, ?way, up, "linkbeat: polling {} ({:?}), {}", name, way, if up { "up" } else { "down" });
            }
            send_link(&inboxes, index, up).await;
        }
    }
}

/// Run a `vrrp_script` every `interval`; report rise/fall-debounced changes.
pub(super) async fn track_script(s: ScriptPlan, inboxes: Inboxes, cap: Duration) {
    let mut state = ScriptState::new(s.rise, s.fall, !s.init_fail);
    let timeout = if s.timeout.is_zero() { cap } else { s.timeout };
    let mut tick = tokio::time::interval(s.interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let outcome = script::run(&s.script, timeout).await;
        let ok = outcome == Outcome::Exited(0);
        if let Some(up) = state.record(ok) {
            tracing::info!(script = %s.name, up, ?outcome, "VRRP_Script({}) {}", s.name, if up { "succeeded" } else { "failed" });
            let units = inboxes.read().map(|l| l.clone()).unwrap_or_default();
            for tx in &units {
                let _ = tx
                    .send(UnitMsg::Script {
                        name: s.name.clone(),
                        up,
                    })
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::error::DaemonError;

    /// A scripted link-event source: its batches, then an error.
    struct Scripted(std::collections::VecDeque<Vec<LinkEvent>>);

    impl LinkEvents for Scripted {
        fn next_events(
            &mut self,
        ) -> impl std::future::Future<Output = Result<Vec<LinkEvent>, RtnlError>> + Send {
            let next = self.0.pop_front();
            async move {
                next.ok_or_else(|| RtnlError::Io {
                    op: "link events",
                    source: std::io::Error::from_raw_os_error(libc::EBADF),
                })
            }
        }
    }

    #[tokio::test]
    async fn a_failed_link_monitor_stops_the_daemon_like_a_unit_panic() {
        let (tx, mut inbox) = mpsc::channel(8);
        let inboxes = Arc::new(std::sync::RwLock::new(vec![tx]));
        let (failed_tx, mut failed) = mpsc::unbounded_channel();
        let down = LinkEvent {
            index: 3,
            name: "eth1".into(),
            running: false,
            removed: false,
        };
        let source = Scripted(vec![vec![down]].into());
        watch_links(source, inboxes, failed_tx, HashSet::new()).await;
        // The events before the failure reached the units...
        assert!(matches!(
            inbox.try_recv(),
            Ok(UnitMsg::Link {
                ifindex: 3,
                running: false
            })
        ));
        // ...and the failure is reported as fatal, as `run` exits on.
        let what = failed.try_recv().unwrap_or_default();
        assert!(what.contains("link monitor failed"), "{what}");
        let err = DaemonError::TaskFailed(what);
        assert!(
            err.to_string()
                .contains("stopped so that it can be restarted"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_link_events_of_a_polled_link_are_ignored() {
        let (tx, mut inbox) = mpsc::channel(8);
        let inboxes = Arc::new(std::sync::RwLock::new(vec![tx]));
        let (failed_tx, _failed) = mpsc::unbounded_channel();
        let ev = |index: u32, name: &str| LinkEvent {
            index,
            name: name.into(),
            running: false,
            removed: false,
        };
        let source = Scripted(vec![vec![ev(3, "eth1"), ev(4, "eth2")]].into());
        let polled = HashSet::from(["eth1".to_string()]);
        watch_links(source, inboxes, failed_tx, polled).await;
        // eth1 is linkbeat's: only eth2's event reaches the unit.
        assert!(matches!(
            inbox.try_recv(),
            Ok(UnitMsg::Link {
                ifindex: 4,
                running: false
            })
        ));
        assert!(inbox.try_recv().is_err());
    }
}
