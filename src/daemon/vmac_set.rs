//! The vmac links the daemon runs on (`use_vmac`, `use_ipvlan`): created
//! (or adopted from an earlier run) before the units that use them start,
//! configured as keepalived configures them, and removed when no instance
//! uses them any more: at exit, and when a reload drops their instance.
//!
//! What keepalived sets, and so does this: on an IPv4 vmac `arp_ignore` 1
//! (answer ARP only for its own addresses: the VIPs), `accept_local` 1,
//! `rp_filter` 0 (adverts and ARP come in with the virtual MAC's own
//! addresses) and `promote_secondaries` 1; on an IPv6 vmac `arp_ignore` 1;
//! on the base of an IPv4 vmac `arp_ignore` 1 and `arp_filter` 1 (so the
//! base does not answer for the VIPs with its own MAC), put back as they
//! were when its last vmac goes. No automatic IPv6 link-local address on a
//! macvlan (RFC 5798 §7.4): `addr_gen_mode` none, set before the link is up;
//! `disable_ipv6` 1 on an IPv4 instance's link with no IPv6 VIP.
//!
//! Owns the set of links it made or adopted and the base settings it
//! saved. Decisions are `vmac`'s; this only carries them out.

use std::collections::{HashMap, HashSet};

use crate::net::vmac::{
    ConfScope, DevConf, NewVlan, read_rp_filter, write_disable_ipv6, write_rp_filter,
};
use crate::net::{InetConf, Rtnl, RtnlError};

use super::plan::{Kernel, PlanError, VmacPlan};
use super::vmac::{Found, RpFilterChange, found, rp_filter_change, rp_filter_restore};

/// A vmac in use.
#[derive(Debug, Clone)]
struct Owned {
    index: u32,
    base: u32,
    base_ifname: String,
    link: NewVlan,
    v6: bool,
}

/// A base interface whose settings an IPv4 vmac changed.
#[derive(Debug, Clone)]
struct Base {
    saved: InetConf,
    users: usize,
    /// Whether anything was written (nothing is put back otherwise).
    changed: bool,
}

/// The vmacs in use and what they changed on their bases.
#[derive(Debug, Default)]
pub(super) struct VmacSet {
    owned: HashMap<String, Owned>,
    bases: HashMap<u32, Base>,
    /// What lowering `all.rp_filter` changed, while IPv4 vmacs exist.
    rp_filter: Option<RpFilterChange>,
}

impl VmacSet {
    /// Whether `plans` need a link this set has not made yet.
    pub(super) fn missing<'a>(&self, mut plans: impl Iterator<Item = &'a VmacPlan>) -> bool {
        plans.any(|v| v.index.is_none() || !self.owned.contains_key(&v.name))
    }

    /// Make every planned vmac exist and be configured. All or nothing: on
    /// an error, the links made by this call are removed again.
    pub(super) fn ensure<'a>(
        &mut self,
        rtnl: &mut Rtnl,
        kernel: &Kernel,
        plans: impl Iterator<Item = &'a VmacPlan>,
    ) -> Result<(), PlanError> {
        let mut made = Vec::new();
        for v in plans {
            if let Err(e) = self.ensure_one(rtnl, kernel, v, &mut made) {
                self.remove(rtnl, &made);
                return Err(e);
            }
        }
        Ok(())
    }

    fn ensure_one(
        &mut self,
        rtnl: &mut Rtnl,
        kernel: &Kernel,
        v: &VmacPlan,
        made: &mut Vec<String>,
    ) -> Result<(), PlanError> {
        let invalid = |what: String| PlanError::Invalid {
            origin: v.base_ifname.clone(),
            instance: v.name.clone(),
            what,
        };
        if let Some(o) = self.owned.get(&v.name) {
            if o.base != v.base || o.link != v.link {
                return Err(invalid(format!(
                    "the vmac {} in use would change its interface, MAC or mode; restart to apply",
                    v.name
                )));
            }
            if matches!(found(v, kernel), Ok(Found::Matching(i)) if i == o.index) {
                return Ok(());
            }
            // Deleted by hand since: made again (its instance is rebuilt
            // on the new link).
            tracing::warn!(vmac = %v.name, "{} disappeared; creating it again", v.name);
            self.forget(&v.name);
        }
        let index = match found(v, kernel).map_err(invalid)? {
            Found::Matching(i) => {
                tracing::info!(vmac = %v.name, "reusing the vmac {} left on {}", v.name, v.base_ifname);
                i
            }
            Found::Mismatched(i) => {
                tracing::info!(vmac = %v.name, "removing {}: not the vmac this configuration needs", v.name);
                rtnl.del_link(i)?;
                self.create(rtnl, v)?
            }
            Found::Absent => self.create(rtnl, v)?,
        };
        made.push(v.name.clone());
        self.owned.insert(
            v.name.clone(),
            Owned {
                index,
                base: v.base,
                base_ifname: v.base_ifname.clone(),
                link: v.link.clone(),
                v6: v.v6,
            },
        );
        let macvlan = matches!(v.link, NewVlan::Macvlan { .. });
        if macvlan && !v.v6 {
            if self.bases.is_empty() {
                self.clear_rp_filter(rtnl, kernel);
            }
            self.hold_base(rtnl, kernel, v)?;
        }
        self.configure(rtnl, v, index)?;
        Ok(())
    }

    fn create(&mut self, rtnl: &mut Rtnl, v: &VmacPlan) -> Result<u32, PlanError> {
        let index = rtnl.add_vlan(&v.name, v.base, v.group, &v.link)?;
        tracing::info!(vmac = %v.name, index, "created {} on {} ({:?})", v.name, v.base_ifname, v.link);
        Ok(index)
    }

    /// The vmac's own settings, then up, then its extra address. An
    /// ipvlan shares its base's MAC and gets neither the settings nor
    /// addr_gen_mode (keepalived sets none on it either).
    fn configure(&mut self, rtnl: &mut Rtnl, v: &VmacPlan, index: u32) -> Result<(), RtnlError> {
        // IPv6 off on an IPv4 instance's link, on for an IPv6 one (only
        // /proc/sys has it: a failure is logged, the link works anyway).
        if let Err(e) = write_disable_ipv6(&v.name, v.disable_ipv6) {
            tracing::warn!(vmac = %v.name, error = %e, "cannot set disable_ipv6 {} on {}", u8::from(v.disable_ipv6), v.name);
        }
        if matches!(v.link, NewVlan::Ipvlan { .. }) {
            rtnl.set_link_up(index)?;
            return self.add_own_address(rtnl, v, index);
        }
        rtnl.set_addr_gen_mode_none(index)?;
        let conf: &[(DevConf, u32)] = if v.v6 {
            &[(DevConf::ArpIgnore, 1)]
        } else {
            &[
                (DevConf::ArpIgnore, 1),
                (DevConf::AcceptLocal, 1),
                (DevConf::RpFilter, 0),
                (DevConf::PromoteSecondaries, 1),
            ]
        };
        rtnl.set_inet_conf(index, conf)?;
        rtnl.set_link_up(index)?;
        self.add_own_address(rtnl, v, index)
    }

    fn add_own_address(&self, rtnl: &mut Rtnl, v: &VmacPlan, index: u32) -> Result<(), RtnlError> {
        if let Some(a) = &v.address {
            let mut a = a.clone();
            a.ifindex = index;
            rtnl.add_address(&a)?;
        }
        Ok(())
    }

    /// An IPv4 vmac's base answers no ARP for the vmac's addresses.
    fn hold_base(
        &mut self,
        rtnl: &mut Rtnl,
        kernel: &Kernel,
        v: &VmacPlan,
    ) -> Result<(), RtnlError> {
        if let Some(b) = self.bases.get_mut(&v.base) {
            b.users += 1;
            return Ok(());
        }
        let saved = kernel
            .links
            .iter()
            .find(|l| l.index == v.base)
            .and_then(|l| l.inet_conf)
            .unwrap_or_default();
        let changed = saved.arp_ignore != 1 || saved.arp_filter != 1;
        if changed {
            rtnl.set_inet_conf(v.base, &[(DevConf::ArpIgnore, 1), (DevConf::ArpFilter, 1)])?;
        }
        self.bases.insert(
            v.base,
            Base {
                saved,
                users: 1,
                changed,
            },
        );
        Ok(())
    }

    /// The first IPv4 vmac: `all.rp_filter` to 0, the rest raised to its
    /// old value (see [`RpFilterChange`]). A failure is logged: the vmac
    /// works, but strict filtering drops the adverts that arrive on it.
    fn clear_rp_filter(&mut self, rtnl: &mut Rtnl, kernel: &Kernel) {
        let (all, default) = match (
            read_rp_filter(ConfScope::All),
            read_rp_filter(ConfScope::Default),
        ) {
            (Ok(a), Ok(d)) => (a, d),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot read net.ipv4.conf.all/default.rp_filter");
                return;
            }
        };
        let links: Vec<(u32, i32)> = kernel
            .links
            .iter()
            .filter_map(|l| l.inet_conf.map(|c| (l.index, c.rp_filter)))
            .collect();
        let Some(change) = rp_filter_change(all, default, &links) else {
            return;
        };
        let result = (|| -> Result<(), String> {
            if change.default.is_some() {
                write_rp_filter(ConfScope::Default, change.all).map_err(|e| e.to_string())?;
            }
            for (index, _) in &change.links {
                rtnl.set_inet_conf(*index, &[(DevConf::RpFilter, change.all as u32)])
                    .map_err(|e| e.to_string())?;
            }
            write_rp_filter(ConfScope::All, 0).map_err(|e| e.to_string())
        })();
        match result {
            Ok(()) => tracing::info!(
                "net.ipv4.conf.all.rp_filter {} -> 0 for the vmacs (default and {} link(s) raised to {}; put back at exit)",
                change.all,
                change.links.len(),
                change.all
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "cannot lower net.ipv4.conf.all.rp_filter from {}: adverts arriving on IPv4 vmacs are dropped by reverse path filtering; set it to 0 or 2",
                change.all
            ),
        }
        self.rp_filter = Some(change);
    }

    /// The last IPv4 vmac went: put back what [`Self::clear_rp_filter`]
    /// changed and still holds its value.
    fn restore_rp_filter(&mut self, rtnl: &mut Rtnl) {
        let Some(change) = self.rp_filter.take() else {
            return;
        };
        let links: Vec<(u32, i32)> = match rtnl.links() {
            Ok(l) => l
                .iter()
                .filter_map(|l| l.inet_conf.map(|c| (l.index, c.rp_filter)))
                .collect(),
            Err(_) => Vec::new(),
        };
        let all_now = read_rp_filter(ConfScope::All).unwrap_or(-1);
        let default_now = read_rp_filter(ConfScope::Default).unwrap_or(-1);
        let (all, default, links) = rp_filter_restore(&change, all_now, default_now, &links);
        if let Some(a) = all
            && let Err(e) = write_rp_filter(ConfScope::All, a)
        {
            tracing::warn!(error = %e, "cannot put net.ipv4.conf.all.rp_filter back to {a}");
        }
        if let Some(d) = default {
            let _ = write_rp_filter(ConfScope::Default, d);
        }
        for (index, v) in links {
            let _ = rtnl.set_inet_conf(index, &[(DevConf::RpFilter, v.max(0) as u32)]);
        }
    }

    /// Drop a vmac that is gone from the books, keeping its base's saved
    /// settings (it is made again at once).
    fn forget(&mut self, name: &str) {
        if let Some(o) = self.owned.remove(name)
            && let Some(b) = self.bases.get_mut(&o.base)
            && !o.v6
            && matches!(o.link, NewVlan::Macvlan { .. })
        {
            b.users = b.users.saturating_sub(1);
        }
    }

    /// Remove every vmac not in `keep`.
    pub(super) fn retain(&mut self, rtnl: &mut Rtnl, keep: &HashSet<String>) {
        let gone: Vec<String> = self
            .owned
            .keys()
            .filter(|n| !keep.contains(*n))
            .cloned()
            .collect();
        self.remove(rtnl, &gone);
    }

    /// Remove every vmac (at exit).
    pub(super) fn remove_all(&mut self, rtnl: &mut Rtnl) {
        self.retain(rtnl, &HashSet::new());
    }

    /// Remove the named vmacs; a base whose last IPv4 vmac goes gets its
    /// settings back. Errors are logged: removal runs on the way out.
    fn remove(&mut self, rtnl: &mut Rtnl, names: &[String]) {
        for name in names {
            let Some(o) = self.owned.remove(name) else {
                continue;
            };
            match rtnl.del_link(o.index) {
                Ok(_) => tracing::info!(vmac = %name, "removed {name} from {}", o.base_ifname),
                Err(e) => tracing::warn!(vmac = %name, error = %e, "cannot remove {name}"),
            }
            if o.v6 || !matches!(o.link, NewVlan::Macvlan { .. }) {
                continue;
            }
            let Some(b) = self.bases.get_mut(&o.base) else {
                continue;
            };
            b.users -= 1;
            if b.users > 0 {
                continue;
            }
            let b = self.bases.remove(&o.base).unwrap_or(Base {
                saved: InetConf::default(),
                users: 0,
                changed: false,
            });
            if b.changed {
                let back = [
                    (DevConf::ArpIgnore, b.saved.arp_ignore.max(0) as u32),
                    (DevConf::ArpFilter, b.saved.arp_filter.max(0) as u32),
                ];
                if let Err(e) = rtnl.set_inet_conf(o.base, &back) {
                    tracing::warn!(interface = %o.base_ifname, error = %e, "cannot put arp_ignore / arp_filter back");
                }
            }
        }
        if self.bases.is_empty() {
            self.restore_rp_filter(rtnl);
        }
    }
}
