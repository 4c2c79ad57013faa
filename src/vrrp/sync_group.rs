//! `vrrp_sync_group`: instances that must change state together.
//!
//! An LVS-NAT balancer has an outer VIP (clients) and an inner VIP (the
//! real servers' default gateway). If the two ended on different balancers,
//! replies would leave through the one without the connection table. So the
//! instances of a sync group move as one, as in keepalived:
//!
//! - one member goes to FAULT → every member goes to FAULT; the group leaves
//!   FAULT only when no member has a fault of its own;
//! - one member becomes MASTER → every BACKUP member becomes MASTER;
//! - one member steps down from MASTER to BACKUP → every MASTER member
//!   becomes BACKUP.
//!
//! [`Router`] holds all instances of one node and the groups among them,
//! and is what the daemon (and the simulation) drives: one `handle`, one
//! queue of `(instance, action)`, one timer. Instances outside any group
//! behave exactly as on their own.
//!
//! Owns the grouping rule and the [`Router`]; no I/O, no clock.

use std::collections::VecDeque;

use super::event::{Action, Event, State};
use super::instance::Instance;
use super::packet::RxError;
use super::params::{Params, ParamsError};
use super::time::Time;

/// Index of an instance in its [`Router`], in the order given to
/// [`Router::new`].
pub type InstanceId = usize;

/// A [`Router`] that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    #[error("instance {index} ({name}): {source}")]
    Params {
        index: usize,
        name: String,
        source: ParamsError,
    },
    #[error("sync group {group}: instance index {index} does not exist")]
    UnknownMember { group: usize, index: usize },
    #[error("instance {0} is in more than one sync group")]
    TwoGroups(usize),
}

/// All VRRP instances of one node, with their sync groups.
#[derive(Debug, Clone)]
pub struct Router {
    instances: Vec<Instance>,
    groups: Vec<Vec<InstanceId>>,
    group_of: Vec<Option<usize>>,
    actions: VecDeque<(InstanceId, Action)>,
}

impl Router {
    /// `groups` lists the members of each `vrrp_sync_group` by index into
    /// `instances`.
    pub fn new(
        instances: Vec<Params>,
        groups: Vec<Vec<InstanceId>>,
        now: Time,
    ) -> Result<Router, RouterError> {
        let mut built = Vec::with_capacity(instances.len());
        for (index, p) in instances.into_iter().enumerate() {
            let name = p.name.clone();
            built.push(Instance::new(p, now).map_err(|source| RouterError::Params {
                index,
                name,
                source,
            })?);
        }
        let mut group_of = vec![None; built.len()];
        for (g, members) in groups.iter().enumerate() {
            for &m in members {
                let slot = group_of
                    .get_mut(m)
                    .ok_or(RouterError::UnknownMember { group: g, index: m })?;
                if slot.is_some() {
                    return Err(RouterError::TwoGroups(m));
                }
                *slot = Some(g);
            }
        }
        for members in &groups {
            if members.len() > 1 {
                for &m in members {
                    built[m].set_in_sync_group(true);
                }
            }
        }
        Ok(Router {
            instances: built,
            groups,
            group_of,
            actions: VecDeque::new(),
        })
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.get(id)
    }

    /// Record a codec rejection against an instance.
    pub fn record_rx_error(&mut self, id: InstanceId, err: &RxError) {
        if let Some(i) = self.instances.get_mut(id) {
            i.record_rx_error(err);
        }
    }

    /// The instance with this VRID and address family, for demultiplexing
    /// received adverts. (One interface per router in this lookup; the
    /// daemon that serves several interfaces keeps its own map.)
    pub fn find(&self, vrid: u8, family: super::packet::Family) -> Option<InstanceId> {
        self.instances.iter().position(|i| {
            i.params().vrid == vrid && super::packet::Family::of(&i.params().primary_addr) == family
        })
    }

    /// Feeds an event to one instance, then lets its sync group follow.
    /// Events for an unknown id are ignored.
    pub fn handle(&mut self, now: Time, id: InstanceId, event: Event) -> Result<(), RxError> {
        let Some(inst) = self.instances.get_mut(id) else {
            return Ok(());
        };
        let before = inst.state();
        let result = inst.handle(now, event);
        let after = inst.state();
        self.drain(id);
        self.follow(now, id, before, after);
        result
    }

    /// Applies new parameters to a running instance in place
    /// ([`Instance::reconfigure`]), then lets its sync group follow (a
    /// member entering FAULT takes the group along).
    pub fn reconfigure(
        &mut self,
        now: Time,
        id: InstanceId,
        params: Params,
    ) -> Result<(), super::params::ReconfigureError> {
        let Some(inst) = self.instances.get_mut(id) else {
            return Ok(());
        };
        let before = inst.state();
        let result = inst.reconfigure(now, params);
        let after = inst.state();
        self.drain(id);
        self.follow(now, id, before, after);
        result
    }

    /// Feeds [`Event::Timer`] to every instance (each one re-checks its own
    /// deadlines, so instances with nothing due are unaffected).
    pub fn handle_timeout(&mut self, now: Time) {
        for id in 0..self.instances.len() {
            if self.instances[id].poll_timeout().is_some_and(|t| t <= now) {
                let _ = self.handle(now, id, Event::Timer);
            }
        }
    }

    /// Feeds an event to every instance (link changes, Startup, Shutdown).
    pub fn broadcast(&mut self, now: Time, event: Event) {
        for id in 0..self.instances.len() {
            let _ = self.handle(now, id, event.clone());
        }
    }

    /// The next action for the daemon, with the instance it concerns.
    pub fn poll_action(&mut self) -> Option<(InstanceId, Action)> {
        self.actions.pop_front()
    }

    /// The earliest deadline of any instance.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.instances
            .iter()
            .filter_map(Instance::poll_timeout)
            .min()
    }

    fn drain(&mut self, id: InstanceId) {
        while let Some(a) = self.instances[id].poll_action() {
            self.actions.push_back((id, a));
        }
    }

    /// Moves the rest of `id`'s sync group after `id` went `before` → `after`.
    fn follow(&mut self, now: Time, id: InstanceId, before: State, after: State) {
        let Some(g) = self.group_of[id] else {
            return;
        };
        let members = self.groups[g].clone();
        // 1. FAULT spreads to the whole group and clears only when no member
        // has a fault of its own. Recomputed after every event: a member
        // already held in FAULT by the group may gain or lose a fault of its
        // own without changing state.
        for &m in &members {
            let others = members
                .iter()
                .any(|&k| k != m && self.instances[k].in_own_fault());
            if self.instances[m].group_fault() != others {
                self.instances[m].set_group_fault(now, others);
                self.drain(m);
            }
        }
        // 2. A member stepping down from MASTER takes the others along.
        if before == State::Master && after == State::Backup {
            for &m in &members {
                if m != id {
                    self.instances[m].sync_backup(now);
                    self.drain(m);
                }
            }
            return;
        }
        // 3. A group with a MASTER member is a master group: every BACKUP
        // member joins it. This covers a member's own promotion, an owner
        // starting or leaving FAULT as master, and a member that starts (or
        // leaves FAULT) after the others already became master.
        let any_master = members
            .iter()
            .any(|&m| self.instances[m].state() == State::Master);
        // 4. Otherwise a member whose Master_Down_Timer expired waits until
        // every other member is master or wants to be (keepalived's
        // vrrp_sync_can_goto_master), then the group goes master together.
        let all_want = members.iter().all(|&m| {
            let i = &self.instances[m];
            i.state() == State::Master || i.wants_master()
        });
        if any_master || all_want {
            for &m in &members {
                self.instances[m].sync_master(now);
                self.drain(m);
            }
        }
    }
}
