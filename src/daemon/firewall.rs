//! Accept mode at the daemon's edges: the nftables table a killed run
//! left is removed before anything starts, a configuration that needs the
//! table but cannot have it (no `nft`) stops there, and the table is gone
//! when the daemon exits. In between, the units fill it as they take and
//! release VIPs (`addrs::VipSet`, `net::nft`).
//!
//! Owns only those two moments; touches nothing else.

use crate::config::Config;
use crate::net::{AcceptFilter, NftError, NftSettings, nft};

use super::error::DaemonError;

/// The table global_defs names (`nftables`, `nftables_priority`,
/// `nftables_counters`).
pub(super) fn settings(config: &Config) -> NftSettings {
    let n = &config.global_defs.nftables;
    NftSettings {
        table: n.table.clone(),
        priority: n.priority,
        counters: n.counters,
    }
}

/// Whether some instance drops traffic to its VIPs while master.
pub(super) fn needed(config: &Config) -> bool {
    config
        .vrrp_instances
        .iter()
        .any(|i| !i.accept && i.priority != 255)
}

/// Remove what a previous run left (keepalived does the same with its
/// table). Without `nft`, only a configuration that needs it fails.
pub(super) fn clear_at_start(config: &Config) -> Result<(), DaemonError> {
    let s = settings(config);
    match nft::clear(&s) {
        Ok(()) => {
            if needed(config) {
                tracing::info!(table = %s.table, "no_accept: VIPs of masters not in accept mode are filtered in nftables table {}", s.table);
            }
            if let Some(chains) = &config.global_defs.nftables.vrrp_iptables {
                tracing::info!(chains = ?chains, table = %s.table, "vrrp_iptables: the iptables chains are not used; the nftables table {} is", s.table);
            }
            Ok(())
        }
        Err(e) if needed(config) => Err(DaemonError::Nft(e)),
        Err(e) => {
            tracing::debug!(error = %e, "no nftables table to clean up");
            Ok(())
        }
    }
}

/// At exit the units have released their VIPs (and so their entries);
/// delete the table anyway, in case one could not.
pub(super) fn clear_at_exit(config: Option<&Config>, filter: &AcceptFilter) {
    let Some(config) = config else {
        return;
    };
    if !needed(config) && filter.held().is_empty() {
        return;
    }
    if let Err(e) = nft::clear(&settings(config)) {
        report(&e);
    }
}

fn report(e: &NftError) {
    tracing::error!(error = %e, "cannot remove the no_accept nftables table at exit");
}
