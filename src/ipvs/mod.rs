//! The IPVS (LVS) client over generic netlink and the table reconciler.
//!
//! The kernel forwards the traffic; tandem's job is to program its IPVS
//! table exactly and quickly. Layers, from the wire up:
//!
//! | module        | what it does                                                  |
//! |---------------|---------------------------------------------------------------|
//! | `types`       | services, destinations, tables, as named in `ip_vs.h`         |
//! | `message`     | the generic-netlink messages and attributes, encode/decode    |
//! | `client`      | the socket: family resolution, batches, acks, timeouts        |
//! | `reconcile`   | desired table + kernel table -> minimal list of operations    |
//! | `from_config` | keepalived.conf virtual servers -> desired table              |
//! | `sync`        | which connection-sync daemons run, from `lvs_sync_daemon` (sans-IO) |
//!
//! Owns the kernel's IPVS table: the generic-netlink protocol, the client,
//! the reconciler and the mapping of keepalived.conf virtual servers. May not
//! touch VRRP, health checks or addresses, nor decide which real servers are
//! alive (that is `lvs`'s); of tandem it reads only `crate::config`.

pub mod client;
pub mod from_config;
pub mod message;
pub mod reconcile;
pub mod sync;
pub mod types;

pub use client::{ApplyReport, Counters, IpvsClient, IpvsError};
pub use reconcile::{Op, Reconciler, StopPolicy, diff, teardown};
pub use types::{
    DaemonState, DestEntry, DestKey, Destination, Family, Forward, Info, Netmask, Protocol,
    Scheduler, Service, ServiceEntry, ServiceFlags, ServiceKey, Stats, SyncDaemon, Table, Timeouts,
    TunnelFlags, TunnelType, VirtualService,
};
#[cfg(test)]
mod wire_tests;
