//! Instances a reload removed: keepalived 2.2.7 (`clear_diff_vrrp`,
//! `send_instance_notifies`) tells their notify scripts and FIFOs DELETED
//! with `notify_deleted`, else FAULT (its old way), and nothing when
//! the instance was in FAULT already and has no `notify_deleted`; their
//! sync group says nothing.

use crate::notify::mail::VrrpMailState;
use crate::notify::script::NotifyState;
use crate::vrrp::State;

use super::Unit;
use super::states::mail_state;

impl Unit {
    /// [`super::UnitMsg::Deleted`]: remember which instances leave as
    /// deleted, and whether each was in FAULT.
    pub(super) fn mark_deleted(&mut self, names: &[String]) {
        for (id, io) in self.io.iter().enumerate() {
            if names.contains(&io.plan.name) {
                let fault = self
                    .router
                    .instance(id)
                    .is_some_and(|i| i.state() == State::Fault);
                self.deleted.insert(id, fault);
            }
        }
    }

    /// The mail for instance `id` entering `to`: for a deleted instance
    /// leaving, keepalived's "Deleted" (`notify_deleted`), "Entering FAULT
    /// state" (without it) or none (without it, from FAULT).
    pub(super) fn mail_state_of(&self, id: usize, to: State) -> Option<VrrpMailState> {
        match (to, self.deleted.get(&id), self.io.get(id)) {
            (State::Initialize, Some(&was_fault), Some(io)) => {
                match io.plan.notify.deleted(was_fault)? {
                    NotifyState::Deleted => Some(VrrpMailState::Deleted),
                    _ => Some(VrrpMailState::Fault),
                }
            }
            _ => mail_state(to),
        }
    }

    /// The notifies of a deleted instance leaving (instead of STOP).
    pub(super) fn notify_deleted(&self, id: usize, was_fault: bool, priority: u8) {
        let Some(io) = self.io.get(id) else {
            return;
        };
        let name = &io.plan.name;
        let Some(state) = io.plan.notify.deleted(was_fault) else {
            return;
        };
        for argv in io.plan.notify.deleted_commands(name, state, priority) {
            if let Some(q) = &self.scripts {
                q.push(&format!("notify {} for {name}", state.as_str()), argv);
            }
        }
        self.reporting
            .fifos
            .instance(name, state.as_str(), priority);
    }
}
