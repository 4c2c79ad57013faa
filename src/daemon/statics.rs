//! What the daemon holds from start to exit, whatever its VRRP state:
//! `static_ipaddress`, `static_routes`, `static_rules`, and the
//! `promote_secondaries` setting of the instances' interfaces.
//!
//! keepalived's behaviour, which this follows: at start it removes the
//! static rules a run killed with -9 left (a rule added twice would be
//! there twice) and adds every static address, then route, then rule, on
//! every node; a reload removes what the new file no longer has and adds
//! what it adds; at exit (after the instances have released their VIPs)
//! it removes the rules, the routes, then the addresses. An address or
//! route that is already there at start is taken over: the daemon removes
//! it at exit. `promote_secondaries` is set to 1 on an instance's interface
//! where it was 0, and put back to 0 at exit.
//!
//! Owns the list of what it installed. Carries out, never decides: which
//! entries there are is the configuration's.

use std::collections::{BTreeMap, HashSet};

use crate::config::Config;
use crate::net::vmac::DevConf;
use crate::net::{IfAddress, Removed, Route, Rtnl, Rule};

use super::netconf;
use super::plan::{Kernel, PlanError};

/// One installed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Address(IfAddress),
    Route(Route),
    Rule(Rule),
}

impl Entry {
    fn describe(&self) -> String {
        match self {
            Entry::Address(a) => format!("address {}/{}", a.addr, a.prefix_len),
            Entry::Route(r) => format!("route {}/{}", r.dst, r.dst_len),
            Entry::Rule(r) => format!("rule {}", r.describe()),
        }
    }

    fn add(&self, rtnl: &mut Rtnl) -> Result<bool, crate::net::RtnlError> {
        match self {
            Entry::Address(a) => rtnl.add_address(a),
            Entry::Route(r) => rtnl.add_route(r),
            Entry::Rule(r) => rtnl.add_rule(r),
        }
    }

    /// Whether the kernel's removal `r` took this entry away.
    fn removed_by(&self, r: &Removed) -> bool {
        match (self, r) {
            (_, Removed::Unknown) => true,
            (Entry::Address(a), Removed::Address { ifindex, addr }) => {
                a.ifindex == *ifindex && a.addr == *addr
            }
            (
                Entry::Route(x),
                Removed::Route {
                    dst,
                    dst_len,
                    table,
                },
            ) => {
                let t = x.table.unwrap_or(254);
                (dst.is_none() || *dst == Some(x.dst)) && x.dst_len == *dst_len && t == *table
            }
            (Entry::Rule(x), Removed::Rule { v6, priority }) => {
                x.v6 == *v6 && x.priority == *priority
            }
            _ => false,
        }
    }

    fn remove(&self, rtnl: &mut Rtnl) -> Result<bool, crate::net::RtnlError> {
        match self {
            Entry::Address(a) => rtnl.del_address(a),
            Entry::Route(r) => rtnl.del_route(r),
            Entry::Rule(r) => rtnl.del_rule(r),
        }
    }
}

/// Why a static entry cannot be placed.
fn no_link(what: String, ifname: &str) -> PlanError {
    PlanError::NoLink {
        what,
        ifname: ifname.to_string(),
    }
}

/// The entries a configuration asks for, in the order they are added,
/// the links (index, name) whose promote_secondaries must be 1, and why
/// an entry cannot be placed (its link is missing; the entry is left
/// out). `vmacs`: link names the daemon itself creates (an entry may name
/// one before it exists; it is placed once the vmacs are made).
struct Desired {
    /// Each entry and whether it is tracked (put back when someone
    /// deletes it: not `no_track`).
    entries: Vec<(Entry, bool)>,
    promote: BTreeMap<u32, String>,
    missing: Vec<PlanError>,
}

fn desired(config: &Config, kernel: &Kernel, vmacs: &HashSet<String>) -> Desired {
    let mut d = Desired {
        entries: Vec::new(),
        promote: BTreeMap::new(),
        missing: Vec::new(),
    };
    let mut index = |name: &str, what: String| match kernel.link(name) {
        Some(l) => Some(l.index),
        None => {
            if !vmacs.contains(name) {
                d.missing.push(no_link(what, name));
            }
            None
        }
    };
    for v in &config.static_ipaddress {
        let dev = v.dev.as_deref().unwrap_or("eth0");
        let what = format!("static_ipaddress {}/{}", v.address, v.prefix_len);
        if let Some(i) = index(dev, what) {
            d.entries
                .push((Entry::Address(netconf::address_of(v, i)), !v.no_track));
        }
    }
    for r in &config.static_routes {
        let oif = match &r.dev {
            None => None,
            Some(dev) => match index(dev, format!("static_routes {}", r.destination)) {
                Some(i) => Some(i),
                None => continue,
            },
        };
        let what = || format!("static_routes {}", r.destination);
        let hop_oifs: Option<Vec<u32>> = r
            .nexthops
            .iter()
            .map(|h| match &h.dev {
                None => Some(0),
                Some(dev) => index(dev, what()),
            })
            .collect();
        let Some(hop_oifs) = hop_oifs else {
            continue;
        };
        d.entries.push((
            Entry::Route(netconf::route_of(r, oif, &hop_oifs)),
            !r.no_track,
        ));
    }
    d.entries.extend(
        config
            .static_rules
            .iter()
            .map(|r| (Entry::Rule(netconf::rule_of(r)), !r.no_track)),
    );
    for inst in &config.vrrp_instances {
        if !inst.promote_secondaries || inst.vmac.is_some() {
            continue;
        }
        let what = format!("vrrp_instance {} promote_secondaries", inst.name);
        if let Some(i) = index(&inst.interface, what) {
            d.promote.insert(i, inst.interface.clone());
        }
    }
    d
}

/// Whether the configuration's static entries can be placed on this
/// machine (each `dev` exists, or is a vmac the daemon makes): checked
/// with the rest of the plan, before anything starts or a reload applies.
pub(super) fn check(config: &Config, kernel: &Kernel) -> Result<(), PlanError> {
    let d = desired(config, kernel, &super::vmac::configured_names(config));
    match d.missing.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What the daemon installed and holds until it stops.
#[derive(Debug, Default)]
pub(super) struct Statics {
    /// What is installed, and whether it is put back when deleted.
    held: Vec<(Entry, bool)>,
    /// Links whose promote_secondaries the daemon turned from 0 to 1.
    promoted: BTreeMap<u32, String>,
}

impl Statics {
    /// Install the configuration's static entries (see the module
    /// comment). Failures are logged; the rest is still installed.
    pub(super) fn start(config: &Config) -> Statics {
        let mut s = Statics::default();
        let Some(mut rtnl) = open() else {
            return s;
        };
        let Some(Desired {
            entries: want,
            promote,
            ..
        }) = read_desired(&mut rtnl, config)
        else {
            return s;
        };
        // Rules left by an earlier run: removed, then added afresh.
        for (e, _) in want.iter().filter(|(e, _)| matches!(e, Entry::Rule(_))) {
            let _ = e.remove(&mut rtnl);
        }
        s.install(&mut rtnl, want);
        s.promote(&mut rtnl, promote);
        s
    }

    /// A reload: remove what `config` no longer has, add what it adds.
    pub(super) fn reload(&mut self, config: &Config) {
        let Some(mut rtnl) = open() else {
            return;
        };
        let Some(Desired {
            entries: want,
            promote,
            ..
        }) = read_desired(&mut rtnl, config)
        else {
            return;
        };
        let gone: Vec<(Entry, bool)> = self
            .held
            .iter()
            .filter(|e| !want.contains(e))
            .cloned()
            .collect();
        remove_all(&mut rtnl, &gone);
        self.held.retain(|e| want.contains(e));
        let new: Vec<(Entry, bool)> = want
            .into_iter()
            .filter(|e| !self.held.contains(e))
            .collect();
        self.install(&mut rtnl, new);
        let dropped: Vec<u32> = self
            .promoted
            .keys()
            .filter(|i| !promote.contains_key(i))
            .copied()
            .collect();
        for i in dropped {
            if let Some(name) = self.promoted.remove(&i) {
                reset_promote(&mut rtnl, i, &name);
            }
        }
        let fresh = promote
            .into_iter()
            .filter(|(i, _)| !self.promoted.contains_key(i))
            .collect();
        self.promote(&mut rtnl, fresh);
    }

    /// Whether some installed entry is to be put back when deleted.
    pub(super) fn tracks_any(&self) -> bool {
        self.held.iter().any(|(_, track)| *track)
    }

    /// Someone deleted addresses, routes or rules: put back the tracked
    /// static ones among them (keepalived: "Restoring deleted static ...").
    /// Adding one that is still there changes nothing.
    pub(super) fn reinstate(&self, removed: &[Removed]) {
        let hit: Vec<&Entry> = self
            .held
            .iter()
            .filter(|(e, track)| *track && removed.iter().any(|r| e.removed_by(r)))
            .map(|(e, _)| e)
            .collect();
        if hit.is_empty() {
            return;
        }
        let Some(mut rtnl) = open() else {
            return;
        };
        // Addresses before the routes that may need them.
        for e in hit {
            match e.add(&mut rtnl) {
                Ok(true) => tracing::warn!("static {} was deleted: put back", e.describe()),
                Ok(false) => {}
                Err(err) => {
                    tracing::error!(error = %err, "cannot put back static {}", e.describe())
                }
            }
        }
    }

    /// At exit: rules, routes, then addresses; promote_secondaries back.
    pub(super) fn stop(self) {
        if self.held.is_empty() && self.promoted.is_empty() {
            return;
        }
        let Some(mut rtnl) = open() else {
            return;
        };
        remove_all(&mut rtnl, &self.held);
        for (i, name) in &self.promoted {
            reset_promote(&mut rtnl, *i, name);
        }
    }

    fn install(&mut self, rtnl: &mut Rtnl, entries: Vec<(Entry, bool)>) {
        for (e, track) in entries {
            match e.add(rtnl) {
                Ok(added) => {
                    let how = if added { "added" } else { "already there" };
                    tracing::info!("static {}: {how}", e.describe());
                    self.held.push((e, track));
                }
                Err(err) => tracing::error!(error = %err, "cannot add static {}", e.describe()),
            }
        }
    }

    fn promote(&mut self, rtnl: &mut Rtnl, links: BTreeMap<u32, String>) {
        for (i, name) in links {
            let now = match rtnl.link(i) {
                Ok(Some(l)) => l.inet_conf.map(|c| c.promote_secondaries),
                _ => None,
            };
            if now == Some(1) {
                continue;
            }
            match rtnl.set_inet_conf(i, &[(DevConf::PromoteSecondaries, 1)]) {
                Ok(()) => {
                    tracing::info!(interface = %name, "promote_secondaries set on {name}");
                    self.promoted.insert(i, name);
                }
                Err(e) => {
                    tracing::error!(interface = %name, error = %e, "cannot set promote_secondaries")
                }
            }
        }
    }
}

fn reset_promote(rtnl: &mut Rtnl, index: u32, name: &str) {
    match rtnl.set_inet_conf(index, &[(DevConf::PromoteSecondaries, 0)]) {
        Ok(()) => tracing::info!(interface = %name, "promote_secondaries put back to 0 on {name}"),
        Err(e) => {
            tracing::warn!(interface = %name, error = %e, "cannot put promote_secondaries back")
        }
    }
}

/// Rules first, then routes, then addresses (each may need the next).
fn remove_all(rtnl: &mut Rtnl, entries: &[(Entry, bool)]) {
    let rank = |e: &Entry| match e {
        Entry::Rule(_) => 0,
        Entry::Route(_) => 1,
        Entry::Address(_) => 2,
    };
    let mut order: Vec<&Entry> = entries.iter().map(|(e, _)| e).collect();
    order.sort_by_key(|e| rank(e));
    for e in order {
        match e.remove(rtnl) {
            Ok(_) => tracing::info!("static {}: removed", e.describe()),
            Err(err) => tracing::error!(error = %err, "cannot remove static {}", e.describe()),
        }
    }
}

fn open() -> Option<Rtnl> {
    match Rtnl::new() {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "static addresses, routes and rules: no rtnetlink");
            None
        }
    }
}

fn read_desired(rtnl: &mut Rtnl, config: &Config) -> Option<Desired> {
    let kernel = match Kernel::read(rtnl) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "static addresses, routes and rules");
            return None;
        }
    };
    let d = desired(config, &kernel, &HashSet::new());
    for e in &d.missing {
        // dynamic_interfaces: it is added when the link appears.
        if config.global_defs.dynamic_interfaces.is_some() {
            tracing::debug!("{e}: waits for it");
        } else {
            tracing::error!("{e}: left out");
        }
    }
    Some(d)
}
