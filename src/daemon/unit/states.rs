//! One state, many vocabularies: the state machine's [`State`] and
//! [`Reason`] as the bus, the notify scripts, the status snapshot and the
//! mails name them (keepalived's spellings).
//!
//! Pure mappings, one arm per state: no I/O, no unit state.

use crate::control::model::VrrpState;
use crate::notify::mail::VrrpMailState;
use crate::notify::script::NotifyState;
use crate::vrrp::{Reason, State};

use crate::daemon::bus::Role;

/// keepalived's spelling of a reason, for logs and the bus.
pub(super) fn reason_text(r: Reason) -> &'static str {
    match r {
        Reason::Startup => "startup",
        Reason::MasterDown => "master down timer expired",
        Reason::MasterLeft => "master sent priority 0",
        Reason::PeerDown => "BFD session to the master down (tandem_takeover)",
        Reason::Preempt => "preempting a lower-priority master",
        Reason::HigherPriorityAdvert => "received a higher-priority advert",
        Reason::LinkDown => "interface down",
        Reason::TrackerDown => "tracked object down",
        Reason::ConfigFault => "unicast without any peers",
        Reason::FaultCleared => "fault cleared",
        Reason::SyncGroup => "sync group",
        Reason::Shutdown => "shutdown",
    }
}

pub(super) fn role_of(s: State) -> Role {
    match s {
        State::Master => Role::Master,
        State::Backup => Role::Backup,
        State::Fault => Role::Fault,
        State::Initialize => Role::Stop,
    }
}

pub(super) fn notify_state(s: State) -> NotifyState {
    match s {
        State::Master => NotifyState::Master,
        State::Backup => NotifyState::Backup,
        State::Fault => NotifyState::Fault,
        State::Initialize => NotifyState::Stop,
    }
}

pub(super) fn vrrp_state(s: State, stopping: bool) -> VrrpState {
    match s {
        State::Master => VrrpState::Master,
        State::Backup => VrrpState::Backup,
        State::Fault => VrrpState::Fault,
        State::Initialize if stopping => VrrpState::Stop,
        State::Initialize => VrrpState::Initialize,
    }
}

pub(super) fn role_state(r: Role) -> VrrpState {
    match r {
        Role::Master => VrrpState::Master,
        Role::Backup => VrrpState::Backup,
        Role::Fault => VrrpState::Fault,
        Role::Stop => VrrpState::Stop,
    }
}

/// The mail for entering `s`: INIT is only ever entered on a stop, which
/// keepalived mails as "Stopping" (the daemon flushes its mail queue,
/// bounded, before it exits).
pub(super) fn mail_state(s: State) -> Option<VrrpMailState> {
    match s {
        State::Master => Some(VrrpMailState::Master),
        State::Backup => Some(VrrpMailState::Backup),
        State::Fault => Some(VrrpMailState::Fault),
        State::Initialize => Some(VrrpMailState::Stop),
    }
}

/// The mail for a sync group's new role.
pub(super) fn role_mail_state(r: Role) -> Option<VrrpMailState> {
    match r {
        Role::Master => Some(VrrpMailState::Master),
        Role::Backup => Some(VrrpMailState::Backup),
        Role::Fault => Some(VrrpMailState::Fault),
        Role::Stop => Some(VrrpMailState::Stop),
    }
}

/// The notify scripts' word for a sync group's new role.
pub(super) fn role_notify_state(r: Role) -> NotifyState {
    match r {
        Role::Master => NotifyState::Master,
        Role::Backup => NotifyState::Backup,
        Role::Fault => NotifyState::Fault,
        Role::Stop => NotifyState::Stop,
    }
}

/// A sync group's role in the status snapshot (`None`: not decided yet).
pub(super) fn group_state(r: Option<Role>) -> VrrpState {
    r.map(role_state).unwrap_or(VrrpState::Initialize)
}
