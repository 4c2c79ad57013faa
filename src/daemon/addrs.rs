//! An instance's virtual addresses and routes, and announcing them.
//!
//! keepalived semantics: `virtual_ipaddress` and `virtual_ipaddress_excluded`
//! are both configured on the interface while master and removed otherwise
//! (the excluded ones are just not carried in adverts); `virtual_routes`
//! follow the addresses. Gratuitous ARP / unsolicited NA go out for every
//! address, on the interface that carries it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::net::{GarpSender, IfAddress, NaSender, Route, Rtnl};

/// The addresses and routes an instance owns while master.
#[derive(Debug, Clone, Default)]
pub struct VipSet {
    pub addresses: Vec<IfAddress>,
    pub routes: Vec<Route>,
    /// Addresses that are the interface's own and never removed: an
    /// address owner's (priority 255) VIPs that were configured on the
    /// interface before tandem started (RFC 5798 §1: the owner's VIPs are
    /// real interface addresses).
    pub keep: Vec<IpAddr>,
}

impl VipSet {
    /// Configure every address, then every route. Failures are logged and
    /// the rest still applied: a half-configured master is better than none.
    /// Returns the number of failures.
    pub fn add(&self, rtnl: &mut Rtnl, instance: &str) -> usize {
        let mut failed = 0;
        for a in &self.addresses {
            match rtnl.add_address(a) {
                Ok(_) => {
                    tracing::debug!(instance, address = %a.addr, prefix = a.prefix_len, "VIP added")
                }
                Err(e) => {
                    failed += 1;
                    tracing::error!(instance, address = %a.addr, error = %e, "cannot add VIP");
                }
            }
        }
        for r in &self.routes {
            if let Err(e) = rtnl.add_route(r) {
                failed += 1;
                tracing::error!(instance, route = %format!("{}/{}", r.dst, r.dst_len), error = %e, "cannot add virtual route");
            }
        }
        if failed == 0 {
            tracing::info!(
                instance,
                addresses = %self.list(),
                "VRRP_Instance({instance}) setting VIPs"
            );
        }
        failed
    }

    /// Remove every route, then every address. Absent ones are fine.
    pub fn remove(&self, rtnl: &mut Rtnl, instance: &str) -> usize {
        let mut failed = 0;
        for r in &self.routes {
            if let Err(e) = rtnl.del_route(r) {
                failed += 1;
                tracing::error!(instance, route = %format!("{}/{}", r.dst, r.dst_len), error = %e, "cannot remove virtual route");
            }
        }
        for a in self
            .addresses
            .iter()
            .filter(|a| !self.keep.contains(&a.addr))
        {
            if let Err(e) = rtnl.del_address(a) {
                failed += 1;
                tracing::error!(instance, address = %a.addr, error = %e, "cannot remove VIP");
            }
        }
        tracing::info!(instance, addresses = %self.list(), "VRRP_Instance({instance}) removing VIPs");
        failed
    }

    /// At startup, remove the addresses this instance will own that are
    /// already on their interface (a previous run killed with -9, or an
    /// operator's `ip addr add`): a backup must not answer for a VIP.
    /// keepalived does the same. Returns the addresses removed.
    pub fn remove_stale(&self, rtnl: &mut Rtnl, instance: &str) -> Vec<IpAddr> {
        let present = match rtnl.addresses() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(instance, error = %e, "cannot list addresses at startup");
                return Vec::new();
            }
        };
        let mut removed = Vec::new();
        for a in self
            .addresses
            .iter()
            .filter(|a| !self.keep.contains(&a.addr))
        {
            // Delete what the kernel has (its prefix length may differ from
            // ours), on the interface the VIP belongs to.
            let Some(p) = present
                .iter()
                .find(|p| p.ifindex == a.ifindex && p.addr == a.addr)
            else {
                continue;
            };
            match rtnl.del_address(p) {
                Ok(true) => {
                    tracing::warn!(
                        instance, address = %a.addr,
                        "VRRP_Instance({instance}) removing VIP {} found on the interface at startup (not master)", a.addr
                    );
                    removed.push(a.addr);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(instance, address = %a.addr, error = %e, "cannot remove stale VIP")
                }
            }
        }
        for r in &self.routes {
            let _ = rtnl.del_route(r);
        }
        removed
    }

    fn list(&self) -> String {
        self.addresses
            .iter()
            .map(|a| a.addr.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Gratuitous ARP / NA senders, one per interface that carries a VIP.
#[derive(Clone, Default)]
pub struct Announcer {
    pub garp: HashMap<u32, Arc<GarpSender>>,
    pub na: HashMap<u32, Arc<NaSender>>,
}

/// How many announcements per address and how far apart
/// (`garp_master_repeat` / `garp_interval` / `gna_interval`).
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    pub repeat: u32,
    pub garp_interval: Duration,
    pub gna_interval: Duration,
}

impl Announcer {
    /// Send `burst.repeat` rounds for every address, on a task of its own
    /// so that a spaced-out burst never delays an advert.
    pub fn announce(&self, set: &VipSet, burst: Burst, instance: String) {
        let me = self.clone();
        let addrs: Vec<(u32, IpAddr)> = set.addresses.iter().map(|a| (a.ifindex, a.addr)).collect();
        if addrs.is_empty() || burst.repeat == 0 {
            return;
        }
        tokio::spawn(async move {
            for round in 0..burst.repeat {
                if round > 0 {
                    let gap = burst.garp_interval.max(burst.gna_interval);
                    if !gap.is_zero() {
                        tokio::time::sleep(gap).await;
                    }
                }
                for &(ifindex, addr) in &addrs {
                    let sent = match addr {
                        IpAddr::V4(a) => me.garp.get(&ifindex).map(|g| g.send(a)),
                        IpAddr::V6(a) => me.na.get(&ifindex).map(|n| n.send(a, false)),
                    };
                    match sent {
                        Some(Err(e)) => {
                            tracing::warn!(instance = %instance, address = %addr, error = %e, "cannot send gratuitous ARP/NA")
                        }
                        None => {
                            tracing::warn!(instance = %instance, address = %addr, "no announcer for the interface of this VIP")
                        }
                        Some(Ok(())) => {}
                    }
                }
            }
            tracing::debug!(instance = %instance, rounds = burst.repeat, "gratuitous ARP/NA sent");
        });
    }
}
