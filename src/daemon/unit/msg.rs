//! What other tasks tell a unit ([`UnitMsg`], [`Reconfigure`]) and where a
//! unit reports beyond the bus ([`UnitReporting`]).
//!
//! Plain data carried on the unit's inbox: nothing here runs, and nothing
//! here touches a unit's state; the unit task alone acts on these.

use crate::net::ReceivedAdvert;
use crate::notify::mail::Mailer;

use crate::daemon::addrs::Announcer;
use crate::daemon::plan::UnitPlan;
use crate::daemon::status::StatusHub;

/// Where a unit reports beyond the bus: the status snapshot and e-mail.
#[derive(Debug, Clone, Default)]
pub struct UnitReporting {
    pub status: Option<StatusHub>,
    pub mailer: Option<Mailer>,
    /// Instances and sync groups whose resolved `smtp_alert` is on.
    pub smtp_alert: std::collections::BTreeSet<String>,
    /// `no_email_faults`: entering FAULT sends no mail.
    pub no_email_faults: bool,
    /// `notify_fifo` / `vrrp_notify_fifo` (and, for the LVS side,
    /// `lvs_notify_fifo`): one line per state change.
    pub fifos: crate::notify::fifo::Fifos,
}

/// What other tasks tell a unit.
#[derive(Debug)]
pub enum UnitMsg {
    /// An advert arrived for instance `instance` (index in the unit).
    Advert {
        instance: usize,
        advert: ReceivedAdvert,
    },
    /// A link changed (every unit gets every link event).
    Link { ifindex: u32, running: bool },
    /// A `vrrp_script` result changed after rise/fall.
    Script { name: String, up: bool },
    /// A BFD session came Up (`up`) or left Up; `seq` orders the reports
    /// of one session (see `bfd_track`).
    Bfd { name: String, up: bool, seq: u64 },
    /// Log the counters of every instance.
    DumpStats,
    /// D-Bus `SendGarp`: one gratuitous ARP / NA round for this instance's
    /// addresses, if it holds them (a backup has none to announce).
    SendGarp(String),
    /// Leave: priority 0, VIPs released, notify_stop.
    Shutdown,
    /// Sent before [`UnitMsg::Shutdown`] by a reload: these instances of
    /// the unit are gone from the configuration, so they leave as deleted
    /// (`notify_deleted`: DELETED, else FAULT) instead of STOP.
    Deleted(Vec<String>),
    /// A reload changed this unit's configuration in a way it can take
    /// while running (see [`Reconfigure`]).
    Reconfigure(Box<Reconfigure>),
    /// After a reload: a master adds its VIPs again. An address that moved
    /// from another instance to this one was added here (already present)
    /// and then removed by the instance that gave it up.
    Reassert,
}

/// A reload's new plan for a running unit: same members, same interfaces,
/// same VRIDs (`daemon::plan::in_place` decided that); priorities,
/// intervals, addresses, tracker weights, gratuitous ARP settings, notify
/// scripts and mail switches may differ. Applied without a re-election, as
/// keepalived keeps the state of an instance that survives a reload.
pub struct Reconfigure {
    pub plan: UnitPlan,
    pub announcer: Announcer,
    pub reporting: UnitReporting,
    /// Told when the change is applied (and its adverts sent): what was
    /// done, one line per instance, or why nothing was.
    pub done: tokio::sync::oneshot::Sender<Result<Vec<String>, String>>,
}

impl std::fmt::Debug for Reconfigure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconfigure")
            .field("unit", &self.plan.name())
            .finish_non_exhaustive()
    }
}
