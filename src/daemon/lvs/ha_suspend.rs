//! `ha_suspend`: a virtual server's checkers run only while one of its
//! addresses is configured on this node, as keepalived's checker process
//! follows the kernel's address events (in tandem: while this node is
//! the MASTER of the instance holding the VIP, or whoever added it).
//!
//! Checkers are shared: one probe of a real server feeds every virtual
//! server that lists it with the same check. A shared checker is
//! suspended only while every virtual server it feeds is suspended; one
//! virtual server without `ha_suspend` (or with its address present)
//! keeps it running for all.
//!
//! Owns the address subscription and the decision; the checker threads
//! only read the flags (`check::suspend`). Logs each change as keepalived
//! does ("Suspending" / "Activating healthchecker for service ...").

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use crate::check::CheckerId;
use crate::check::runner::CheckRunner;
use crate::check::suspend::Suspended;
use crate::lvs::HaSuspendPlan;
use crate::net::{Batch, RtnlEvents};

/// The legacy group bits of IPv4 and IPv6 address events.
const ADDRESS_GROUPS: u32 = 0x10 | 0x100;

/// What the watcher decides from: each suspendable checker and, for each
/// virtual server it feeds, that virtual server's addresses.
pub(super) struct HaSuspend {
    plan: HaSuspendPlan,
    flags: Arc<Suspended>,
    /// How each checker is named in the log.
    names: Vec<(CheckerId, String)>,
    /// The address events, subscribed to before the first read so that
    /// no change between that read and the watch is missed; `None` if
    /// the kernel refused (logged: the flags then stay as first set).
    events: Option<RtnlEvents>,
}

impl HaSuspend {
    /// Before the checkers start: the flags, set from the addresses
    /// configured now, so that no probe of a suspended checker leaves
    /// even at start. `None` without `ha_suspend`.
    pub(super) fn prepare(plan: HaSuspendPlan, runner: &mut CheckRunner) -> Option<HaSuspend> {
        if plan.is_empty() {
            return None;
        }
        let names = plan
            .iter()
            .map(|(id, _)| {
                let name = runner
                    .spec(*id)
                    .map_or_else(|| format!("checker {}", id.0), |s| s.to_string());
                (*id, name)
            })
            .collect();
        let events = RtnlEvents::subscribe(ADDRESS_GROUPS, &[], "address events")
            .map_err(|e| {
                tracing::error!(error = %e, "ha_suspend: cannot follow address events; the checkers stay as they start");
            })
            .ok();
        let w = HaSuspend {
            plan,
            flags: runner.suspension(),
            names,
            events,
        };
        w.apply(&present());
        Some(w)
    }

    /// Follow the address events until the checkers stop (the caller
    /// aborts the task). Each batch re-reads the addresses: events come
    /// seldom, and a re-read also covers lost events and an address on
    /// two interfaces.
    pub(super) async fn run(mut self) {
        let Some(mut events) = self.events.take() else {
            return;
        };
        loop {
            match events.next().await {
                Ok(Batch::Messages(_) | Batch::Lost) => self.apply(&present()),
                Err(e) => {
                    tracing::error!(error = %e, "ha_suspend: address events lost; the checkers stay as they are");
                    return;
                }
            }
        }
    }

    /// Set every flag from the addresses `present`, logging the changes.
    fn apply(&self, present: &HashSet<IpAddr>) {
        for ((id, services), (_, name)) in self.plan.iter().zip(&self.names) {
            let suspend = services
                .iter()
                .all(|addrs| !addrs.iter().any(|a| present.contains(a)));
            if self.flags.set(*id, suspend) {
                if suspend {
                    tracing::info!(checker = %name, "Suspending healthchecker for service {name} (ha_suspend: no virtual server address of it is configured here)");
                } else {
                    tracing::info!(checker = %name, "Activating healthchecker for service {name} (ha_suspend: a virtual server address of it is configured here)");
                }
            }
        }
    }
}

/// The addresses configured in this namespace now (none if they cannot be
/// read: every ha_suspend checker is then suspended, as with no VIP).
fn present() -> HashSet<IpAddr> {
    let read = crate::net::Rtnl::new().and_then(|mut r| r.addresses());
    match read {
        Ok(addrs) => addrs.into_iter().map(|a| a.addr).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "ha_suspend: cannot read the addresses");
            HashSet::new()
        }
    }
}
