//! Which interfaces share a gratuitous ARP / NA delay (keepalived's
//! `garp_delay`): each `garp_group`'s interfaces share one; with
//! `vrrp_garp_interval` / `vrrp_gna_interval` set, every other interface
//! an instance uses (its own, its VIPs') gets one of its own (keepalived
//! 2.2.7 vrrp_if.c `set_default_garp_delay`). The pacing itself is
//! [`crate::vrrp::garp_delay`]'s; the pool keeps the shared delays.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::config::Config;

use super::plan::{GarpDelayPlan, Kernel, UnitPlan};

/// The delays of `config`, resolved against the kernel's links; a group's
/// interface that does not exist is left out with a warning (keepalived:
/// "interface X specified for garp_group doesn't exist"). A vmac shares
/// its base interface's delay (keepalived paces by `IF_BASE_IFP`).
pub(super) fn plan(config: &Config, kernel: &Kernel, units: &[UnitPlan]) -> Vec<GarpDelayPlan> {
    let instances = || units.iter().flat_map(|u| &u.instances);
    let bases: HashMap<u32, u32> = instances()
        .filter_map(|i| {
            let v = i.vmac.as_ref()?;
            Some((v.index?, v.base))
        })
        .collect();
    let mut out = Vec::new();
    let mut grouped = HashSet::new();
    for g in &config.garp_groups {
        let mut ifindexes = Vec::new();
        for name in &g.interfaces {
            match kernel.links.iter().find(|l| l.name == *name) {
                Some(l) => ifindexes.push(l.index),
                None => tracing::warn!(
                    interface = %name, origin = %g.origin,
                    "interface {name} specified for garp_group doesn't exist; not paced"
                ),
            }
        }
        let ifindexes = with_vmacs(ifindexes, &bases);
        grouped.extend(ifindexes.iter().copied());
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
    let used: Vec<u32> = instances()
        .flat_map(|i| std::iter::once(i.ifindex).chain(i.vips.addresses.iter().map(|a| a.ifindex)))
        .filter(|i| !grouped.contains(i))
        .collect();
    out.extend(
        defaults(&used, &bases)
            .into_iter()
            .map(|ifindexes| GarpDelayPlan {
                ifindexes,
                garp_interval: garp,
                gna_interval: gna,
            }),
    );
    out
}

/// A group's interfaces and the vmacs on them.
fn with_vmacs(mut ifindexes: Vec<u32>, bases: &HashMap<u32, u32>) -> Vec<u32> {
    let mut vmacs: Vec<u32> = bases
        .iter()
        .filter(|(_, b)| ifindexes.contains(b))
        .map(|(v, _)| *v)
        .collect();
    vmacs.sort_unstable();
    ifindexes.extend(vmacs);
    ifindexes
}

/// The interfaces that get a default delay, one per base interface (with
/// the vmacs on it), in first-use order.
fn defaults(used: &[u32], bases: &HashMap<u32, u32>) -> Vec<Vec<u32>> {
    let mut out: Vec<(u32, Vec<u32>)> = Vec::new();
    for &i in used {
        let base = bases.get(&i).copied().unwrap_or(i);
        match out.iter_mut().find(|(b, _)| *b == base) {
            Some((_, list)) if list.contains(&i) => {}
            Some((_, list)) => list.push(i),
            None => out.push((base, vec![i])),
        }
    }
    out.into_iter().map(|(_, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vmac_shares_its_base_s_delay() {
        // ifindex 9 is a vmac on 2; 3 is another interface.
        let bases = HashMap::from([(9, 2)]);
        assert_eq!(
            defaults(&[2, 9, 3, 2, 9], &bases),
            vec![vec![2, 9], vec![3]]
        );
        // Only the vmac used: its delay is still the base's (one entry).
        assert_eq!(defaults(&[9, 9], &bases), vec![vec![9]]);
        assert_eq!(with_vmacs(vec![2, 4], &bases), vec![2, 4, 9]);
        assert_eq!(with_vmacs(vec![3], &bases), vec![3]);
    }
}
