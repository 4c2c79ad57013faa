//! The trackers of a [`Plan`]'s instances: `track_interface`,
//! `track_script`, `track_file`, `track_process` and `track_bfd` entries as
//! the VRRP state machine takes them, a sync group's trackers added to each
//! member, and the BFD sessions the BFD task runs.
//!
//! Pure, as [`super::configure`]: it reads the parsed configuration and a
//! [`Kernel`] snapshot, and opens nothing.

use crate::config::{self, Config};
use crate::vrrp::{self, Params, TrackFileParams, TrackerParams};

use super::plan::{InstancePlan, Kernel, PlanError};

pub(super) fn tracker(name: &str, weight: i32, reverse: bool, up: bool) -> TrackerParams {
    TrackerParams {
        name: name.to_string(),
        weight: weight.clamp(-254, 254) as i16,
        reverse,
        initially_up: up,
    }
}

/// keepalived applies a group's trackers to every member: add the
/// group's `track_interface`, `track_script`, `track_file` and `track_bfd`
/// to `p`.
pub(super) fn group_trackers(
    config: &Config,
    g: &config::VrrpSyncGroup,
    kernel: &Kernel,
    p: &mut InstancePlan,
) -> Result<(), PlanError> {
    for t in &g.track_interface {
        let Some(link) = kernel.link(&t.name) else {
            return Err(PlanError::NoInterface {
                origin: g.origin.to_string(),
                instance: g.name.clone(),
                ifname: t.name.clone(),
            });
        };
        p.track_links.push((link.index, p.params.trackers.len()));
        p.params
            .trackers
            .push(tracker(&t.name, t.weight, t.reverse, link.running));
    }
    for t in &g.track_script {
        p.track_scripts
            .push((t.name.clone(), p.params.trackers.len()));
        p.params
            .trackers
            .push(script_tracker(config, &t.name, t.weight, t.reverse));
    }
    for t in &g.track_file {
        group_track_file(p, t);
    }
    for t in &g.track_bfd {
        let (tracker, invert) = bfd_tracker(t);
        p.track_bfds
            .push((t.name.clone(), p.params.trackers.len(), invert));
        p.params.trackers.push(tracker);
    }
    p.takeovers.extend(takeovers(config, &g.track_bfd));
    for t in &g.track_process {
        group_track_process(p, t);
    }
    Ok(())
}

/// The `tandem_takeover` entries among `list`, with their sessions'
/// neighbours (an entry naming no session was refused by the checks).
pub(super) fn takeovers(
    config: &Config,
    list: &[config::TrackBfd],
) -> Vec<(String, std::net::IpAddr)> {
    list.iter()
        .filter(|t| t.tandem_takeover)
        .filter_map(|t| {
            let b = config.bfd_instance(&t.name)?;
            Some((t.name.clone(), b.neighbor_ip))
        })
        .collect()
}

/// The instance's own `track_file` and `track_process` entries, into
/// `params`; (name, index) of each for the unit's feeds.
pub(super) type Named = Vec<(String, usize)>;
pub(super) fn value_trackers(inst: &config::VrrpInstance, params: &mut Params) -> (Named, Named) {
    let mut track_files = Vec::new();
    for t in &inst.track_file {
        track_files.push((t.name.clone(), params.track_files.len()));
        params.track_files.push(file_tracker(t));
    }
    let mut track_processes = Vec::new();
    for t in &inst.track_process {
        track_processes.push((t.name.clone(), params.track_processes.len()));
        params.track_processes.push(process_tracker(t));
    }
    (track_files, track_processes)
}

/// A `track_process` entry as the state machine takes it; the quorum
/// comes from the bus when the unit starts.
pub(super) fn process_tracker(t: &config::TrackProcessEntry) -> vrrp::TrackProcessParams {
    vrrp::TrackProcessParams {
        name: t.name.clone(),
        weight: t.weight.clamp(-254, 254),
        reverse: t.reverse,
        initially_up: false,
    }
}

/// A sync group's `track_process` entry on one member. As keepalived
/// does (`add_vrrp_to_track_process`): a process the member tracks itself
/// takes the group's weight unless the member's own weight is 0, and
/// keeps the member's direction.
pub(super) fn group_track_process(p: &mut InstancePlan, t: &config::TrackProcessEntry) {
    match p
        .params
        .track_processes
        .iter_mut()
        .find(|f| f.name == t.name)
    {
        Some(own) => {
            if own.weight != 0 {
                own.weight = t.weight.clamp(-254, 254);
            }
        }
        None => {
            p.track_processes
                .push((t.name.clone(), p.params.track_processes.len()));
            p.params.track_processes.push(process_tracker(t));
        }
    }
}

/// A `track_file` entry as the state machine takes it; the value comes
/// from the bus when the unit starts.
pub(super) fn file_tracker(t: &config::TrackFileEntry) -> TrackFileParams {
    TrackFileParams {
        name: t.name.clone(),
        weight: t.weight.clamp(-254, 254),
        reverse: t.reverse,
        initial_value: 0,
    }
}

/// A sync group's `track_file` entry on one member. keepalived tracks a
/// file once per instance: one the member tracks itself takes the group's
/// weight, unless the member's own weight is 0.
pub(super) fn group_track_file(p: &mut InstancePlan, t: &config::TrackFileEntry) {
    match p.params.track_files.iter_mut().find(|f| f.name == t.name) {
        Some(own) => {
            if own.weight != 0 {
                own.weight = t.weight.clamp(-254, 254);
                own.reverse = t.reverse;
            }
        }
        None => {
            p.track_files
                .push((t.name.clone(), p.params.track_files.len()));
            p.params.track_files.push(file_tracker(t));
        }
    }
}

/// A `track_bfd` entry as a tracker (keepalived's weights and
/// `reverse`), and whether the session's state is fed inverted.
pub(super) fn bfd_tracker(t: &config::TrackBfd) -> (TrackerParams, bool) {
    TrackerParams::for_bfd(
        format!("bfd {}", t.name),
        t.weight.clamp(-254, 254) as i16,
        t.reverse,
    )
}

/// A `bfd_instance` as the BFD task runs it (intervals in µs).
pub(super) fn bfd_session(b: &config::BfdInstance) -> crate::bfd::SessionConfig {
    let us = |d: std::time::Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
    crate::bfd::SessionConfig {
        name: b.name.clone(),
        neighbor: b.neighbor_ip,
        source: b.source_ip,
        params: crate::bfd::SessionParams {
            desired_min_tx_us: us(b.min_tx),
            required_min_rx_us: us(b.min_rx),
            idle_tx_us: us(b.idle_tx),
            detect_mult: b.multiplier,
            passive: b.passive,
            ttl: b.ttl,
            max_hops: b.max_hops.unwrap_or(u8::MAX),
        },
    }
}

pub(super) fn script_tracker(
    config: &Config,
    name: &str,
    weight: i32,
    reverse: bool,
) -> TrackerParams {
    // keepalived starts a script as failed with `init_fail`, else as good.
    let init_fail = config
        .vrrp_scripts
        .iter()
        .find(|s| s.name == name)
        .is_some_and(|s| s.init_fail);
    tracker(&format!("script {name}"), weight, reverse, !init_fail)
}
