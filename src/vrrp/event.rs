//! What goes into and comes out of a VRRP instance: the [`Event`]s it
//! takes, the [`Action`]s it asks for, its [`State`]s and the [`Reason`]
//! of each change.
//!
//! The vocabulary between the state machine and the daemon that carries it
//! out. Plain values: no I/O, no clock.

use std::net::IpAddr;

use serde::Serialize;

use super::packet::VrrpRepr;
use super::time::Time;

/// The protocol states (RFC 5798 §6.4), plus keepalived's FAULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum State {
    /// Not started, or shut down.
    Initialize,
    Backup,
    Master,
    /// keepalived's FAULT: the interface is down or a weight-0 tracker
    /// failed. The instance neither advertises nor takes over.
    Fault,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// An input to the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Leave Initialize (RFC 5798 §6.4.1). Sent once by the daemon when the
    /// instance's socket is ready.
    Startup,
    /// An advert for this VRID that passed the codec's checks
    /// ([`super::packet::decode_ipv4`] / [`super::packet::decode_ipv6`]:
    /// TTL, version, type, length, checksum). The instance checks what
    /// depends on its configuration.
    AdvertReceived { src: IpAddr, advert: VrrpRepr },
    /// The timer armed for [`Instance::poll_timeout`](super::Instance::poll_timeout) fired (or any time the
    /// daemon likes: a timer event with nothing due does nothing).
    Timer,
    /// The instance's own interface came up (carrier / IFF_RUNNING).
    LinkUp,
    /// The instance's own interface went down: FAULT.
    LinkDown,
    /// A tracked object (index into [`Params::trackers`](super::Params::trackers)) changed state.
    /// Script rise/fall is applied before this (see `track::ScriptState`).
    TrackerChanged { tracker: usize, up: bool },
    /// The file of a `track_file` (index into
    /// [`Params::track_files`](super::Params::track_files)) now holds
    /// `value` (0 when it is missing or was deleted).
    TrackFileChanged { file: usize, value: i64 },
    /// The process of a `track_process` (index into
    /// [`Params::track_processes`](super::Params::track_processes)) gained
    /// (`up`) or lost its quorum.
    TrackProcessChanged { process: usize, up: bool },
    /// tandem's `tandem_takeover` rule (not keepalived's): the liveness
    /// session to the router at `peer` (a `track_bfd` entry's BFD
    /// neighbour) went Down. A BACKUP whose master (the source of the last
    /// advert it accepted) is `peer` acts as if Master_Down_Timer had
    /// fired (RFC 5798 §6.4.2), without waiting Master_Down_Interval;
    /// anything else ignores it.
    PeerDown { peer: IpAddr },
    /// Stop: a master sends priority 0 so a backup takes over after only
    /// Skew_Time (RFC 5798 §6.4.3), and gives up its addresses.
    Shutdown,
    /// Until `until`, a preemption waits (`None`: no hold): the daemon's
    /// caught-up gate for `lvs_sync_daemon`, the moment the local backup
    /// sync daemon will have heard of every connection the master holds
    /// (docs/ipvs.md, "Connection synchronisation"). It acts as
    /// `preempt_delay` does, accepting a lower-priority master meanwhile
    /// (the longer of the two wins), and never delays a takeover from a
    /// master that went silent or sent priority 0.
    PreemptHold { until: Option<Time> },
    /// `vrrp_startup_delay`, given before [`Event::Startup`]: the instance
    /// starts in Backup (the owner too) and every Master_Down_Timer runs
    /// from `until` while it is ahead, so no Master before it; adverts
    /// heard meanwhile count as usual (keepalived's delayed start).
    StartupHold { until: Time },
}

/// Why a state changed, for logs, notify scripts and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// Startup: the owner goes to Master, everyone else to Backup.
    Startup,
    /// Master_Down_Timer expired: the master went silent.
    MasterDown,
    /// Master_Down_Timer (Skew_Time) expired after a priority-0 advert.
    MasterLeft,
    /// [`Event::PeerDown`]: the BFD session to the master went Down
    /// (`tandem_takeover`).
    PeerDown,
    /// Took over from a master advertising a lower priority.
    Preempt,
    /// A higher-priority (or equal priority, higher address) master.
    HigherPriorityAdvert,
    /// The interface went down.
    LinkDown,
    /// A weight-0 tracker went down, or a tracked file's value means
    /// FAULT.
    TrackerDown,
    /// The configuration holds the instance in FAULT
    /// ([`Params::config_fault`](super::Params::config_fault)).
    ConfigFault,
    /// All fault conditions cleared.
    FaultCleared,
    /// Moved with its `vrrp_sync_group`.
    SyncGroup,
    /// [`Event::Shutdown`].
    Shutdown,
}

/// What the state machine asks the daemon to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Send an advert with this priority (0 = leaving). Build it with
    /// [`Instance::advert`](super::Instance::advert).
    SendAdvert { priority: u8 },
    /// Configure the virtual addresses on the interface.
    AddVips,
    /// Remove the virtual addresses.
    RemoveVips,
    /// Send gratuitous ARP (IPv4) / unsolicited neighbour advertisements
    /// (IPv6) for the virtual addresses.
    SendGratuitous,
    /// The same for a master answering a lower-priority advert, and the
    /// second round `garp_lower_prio_delay` after it: the other router may
    /// have drawn traffic to itself. The daemon sends
    /// `garp_lower_prio_repeat` rounds (keepalived; not in RFC 5798).
    SendLowerPrioGratuitous,
    /// Run the notify scripts (`notify_master`, `notify_backup`,
    /// `notify_fault`, `notify_stop`, `notify`) for this state.
    Notify { state: State },
    /// The state changed. Comes first among the actions of a transition.
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    /// A preemption is held back by [`Event::PreemptHold`] until `until`
    /// (longer than any `preempt_delay`): the backup keeps following a
    /// lower-priority master meanwhile. Reported once per hold, for the
    /// log.
    PreemptHeld { until: Time },
    /// As master, an advert of lower priority arrived (answered already):
    /// keepalived's `notify_master_rx_lower_pri` and its FIFO line.
    MasterRxLowerPri,
    /// The earliest deadline changed: arm the timer for `at` (`None`:
    /// disarm). The same as calling [`Instance::poll_timeout`](super::Instance::poll_timeout) after every
    /// event; use whichever suits.
    SetTimer { at: Option<Time> },
}
