//! Which interfaces share a gratuitous ARP / NA delay (keepalived's
//! `garp_delay`): each `garp_group`'s interfaces share one; with
//! `vrrp_garp_interval` / `vrrp_gna_interval` set, every other interface
//! an instance uses (its own, its VIPs') gets one of its own (keepalived
//! 2.2.7 vrrp_if.c `set_default_garp_delay`). The pacing itself is
//! [`crate::vrrp::garp_delay`]'s; the pool keeps the shared delays.

use std::collections::HashSet;
use std::time::Duration;

use crate::config::Config;

use super::plan::{GarpDelayPlan, Kernel, UnitPlan};

/// The delays of `config`, resolved against the kernel's links; a group's
/// interface that does not exist is left out with a warning (keepalived:
/// "interface X specified for garp_group doesn't exist").
pub(super) fn plan(config: &Config, kernel: &Kernel, units: &[UnitPlan]) -> Vec<GarpDelayPlan> {
    let mut out = Vec::new();
    let mut grouped = HashSet::new();
    for g in &config.garp_groups {
        let mut ifindexes = Vec::new();
        for name in &g.interfaces {
            match kernel.links.iter().find(|l| l.name == *name) {
                Some(l) => {
                    grouped.insert(l.index);
                    ifindexes.push(l.index);
                }
                None => tracing::warn!(
                    interface = %name, origin = %g.origin,
                    "interface {name} specified for garp_group doesn't exist; not paced"
                ),
            }
        }
        out.push(GarpDelayPlan {
            ifindexes,
            garp_interval: g.garp_interval,
            gna_interval: g.gna_interval,
        });
    }
    let global = &config.global_defs;
    let set = |d: Duration| (!d.is_zero()).then_some(d);
    let (garp, gna) = (
        set(global.vrrp_garp_interval),
        set(global.vrrp_gna_interval),
    );
    if garp.is_none() && gna.is_none() {
        return out;
    }
    let used = units
        .iter()
        .flat_map(|u| &u.instances)
        .flat_map(|i| std::iter::once(i.ifindex).chain(i.vips.addresses.iter().map(|a| a.ifindex)));
    let mut seen = HashSet::new();
    for ifindex in used {
        if grouped.contains(&ifindex) || !seen.insert(ifindex) {
            continue;
        }
        out.push(GarpDelayPlan {
            ifindexes: vec![ifindex],
            garp_interval: garp,
            gna_interval: gna,
        });
    }
    out
}
