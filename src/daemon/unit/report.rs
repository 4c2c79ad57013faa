//! One instance as the status snapshot shows it ([`instance_status`]):
//! its configuration, its state machine's view and its I/O counters.
//!
//! Reads only; the unit task calls it after each event and hands the
//! result to the [`StatusHub`](crate::daemon::status::StatusHub). Nothing
//! here changes an instance or sends anything.

use std::sync::atomic::Ordering;

use crate::control::model::{
    Transition, VirtualRouterStatus, VrrpCounters, VrrpInstanceStatus, VrrpState,
};
use crate::process::unix_ms_now;
use crate::vrrp::{Auth, Instance, State, Time};

use super::instance_io::InstanceIo;
use super::states::vrrp_state;

/// The snapshot entry of one instance; `sync_group` names its group.
pub(super) fn instance_status(
    io: &InstanceIo,
    inst: &Instance,
    sync_group: Option<String>,
    last_transition: Option<Transition>,
    stopping: bool,
    now: Time,
) -> VrrpInstanceStatus {
    let c = inst.counters();
    let state = vrrp_state(inst.state(), stopping);
    let (master_address, master_priority) = match inst.state() {
        State::Master => (Some(io.plan.src), Some(inst.effective_priority())),
        _ => match inst.master() {
            Some((a, p)) => (Some(a), Some(p)),
            None => (None, None),
        },
    };
    VrrpInstanceStatus {
        name: io.plan.name.clone(),
        interface: io.plan.ifname.clone(),
        virtual_router_id: io.plan.params.vrid,
        version: match io.plan.params.version {
            crate::vrrp::Version::V2 => 2,
            crate::vrrp::Version::V3 => 3,
        },
        state,
        initial_state: match io.plan.params.initial_state {
            crate::vrrp::InitialState::Master => VrrpState::Master,
            crate::vrrp::InitialState::Backup => VrrpState::Backup,
        },
        priority: io.plan.params.priority,
        effective_priority: inst.effective_priority(),
        master_address,
        master_priority,
        advert_interval_ms: u64::try_from(io.plan.params.advert_interval().as_millis())
            .unwrap_or(u64::MAX),
        virtual_ipaddress: io
            .plan
            .vips
            .addresses
            .iter()
            .map(|a| format!("{}/{} dev {}", a.addr, a.prefix_len, io.plan.ifname))
            .collect(),
        sync_group,
        last_transition,
        preempt_held_until_unix_ms: inst.preempt_held_until().map(|t| {
            let left = u64::try_from(t.saturating_duration_since(now).as_millis());
            unix_ms_now().saturating_add(left.unwrap_or(u64::MAX))
        }),
        counters: VrrpCounters {
            became_master: c.master_transitions,
            released_master: c
                .master_transitions
                .saturating_sub(u64::from(inst.state() == State::Master)),
            adverts_sent: c.adverts_sent,
            adverts_received: c.adverts_received,
            priority_zero_sent: c.priority_zero_sent,
            priority_zero_received: c.priority_zero_received,
            invalid_packets: c.rx_errors.total() + io.unicast_peer_drops,
            gratuitous_arps_sent: io.garp_sent.load(Ordering::Relaxed),
            rx_errors: c.rx_errors,
        },
        router: VirtualRouterStatus {
            ifindex: io.plan.vmac.as_ref().map_or(io.plan.ifindex, |v| v.base),
            primary_address: Some(io.plan.src),
            auth_type: match io.plan.params.auth {
                Auth::None => String::new(),
                Auth::Pass(_) => "PASS".into(),
                Auth::Ah => "AH".into(),
            },
            nopreempt: !io.plan.params.preempt,
            accept: io.plan.vips.no_accept.is_none(),
            up_since_unix_ms: Some(io.started_unix_ms),
        },
    }
}
