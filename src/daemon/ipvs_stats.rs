//! The kernel's IPVS counters in the status snapshot, for
//! `enable_snmp_checker` (KEEPALIVED-MIB's virtualServerStats* /
//! realServerStats* columns): a poller that dumps the table every
//! [`INTERVAL`] (keepalived's default `snmp_vs_stats_update_interval`) and
//! writes each service's and destination's counters into its virtual and
//! real server.
//!
//! Owns the read and the matching only; it never changes the table. A
//! kernel without IPVS (or a dump that fails) leaves the counters out: the
//! MIB then has no value for them rather than a zero. A `virtual_server
//! group` gets none (its services are not in the status model).

use std::net::SocketAddr;
use std::time::Duration;

use crate::control::model::{DestCounters, VirtualServerStatus};
use crate::ipvs::client::IpvsClient;
use crate::ipvs::types::{Family, ServiceEntry, ServiceKey};

/// How often the counters are read.
pub const INTERVAL: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(2);

/// Read the table every [`INTERVAL`] until the task is aborted, handing
/// each dump to `publish` (the status hub's `set_ipvs_counters`).
pub(super) fn spawn(
    publish: impl Fn(&[ServiceEntry]) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut client = Some(IpvsClient::new(TIMEOUT));
        let mut failing = false;
        loop {
            let mut c = client.take().unwrap_or_else(|| IpvsClient::new(TIMEOUT));
            let (c, result) = match tokio::task::spawn_blocking(move || {
                let r = c.dump();
                (c, r)
            })
            .await
            {
                Ok(x) => x,
                Err(_) => return,
            };
            match result {
                Ok(entries) => {
                    failing = false;
                    client = Some(c);
                    publish(&entries);
                }
                Err(e) => {
                    if !failing {
                        tracing::debug!(error = %e, "IPVS counters unavailable for SNMP");
                    }
                    failing = true;
                }
            }
            tokio::time::sleep(INTERVAL).await;
        }
    })
}

/// Whether `key` is the service of `vs`.
fn is_service_of(key: &ServiceKey, vs: &VirtualServerStatus) -> bool {
    if vs.group.is_some() {
        return false;
    }
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            vs.fwmark.is_none()
                && vs.address == Some(SocketAddr::new(*addr, *port))
                && protocol.to_string().eq_ignore_ascii_case(&vs.protocol)
        }
        ServiceKey::Fwmark { family, fwmark } => {
            vs.fwmark == Some(*fwmark) && (*family == Family::Inet6) == vs.ipv6
        }
    }
}

/// The counters of `entries` (a dump) on the virtual and real servers
/// they belong to; a server not in the dump has none.
pub fn merge(servers: &mut [VirtualServerStatus], entries: &[ServiceEntry]) {
    for vs in servers.iter_mut() {
        let entry = entries.iter().find(|e| is_service_of(&e.service.key, vs));
        vs.ipvs = entry.and_then(|e| e.stats);
        for rs in &mut vs.real_servers {
            rs.ipvs = entry
                .and_then(|e| {
                    e.destinations.iter().find(|d| {
                        d.dest.addr == rs.address.ip() && d.dest.port == rs.address.port()
                    })
                })
                .map(|d| DestCounters {
                    active_conns: d.active_conns,
                    inactive_conns: d.inact_conns,
                    persistent_conns: d.persist_conns,
                    stats: d.stats.unwrap_or_default(),
                });
        }
    }
}

/// Carry the counters of `old` over to the same servers in `new` (the
/// LVS task rebuilds the list on every verdict; the poller fills it in
/// only every few seconds).
pub fn keep_counters(old: &[VirtualServerStatus], new: &mut [VirtualServerStatus]) {
    for vs in new.iter_mut() {
        let Some(o) = old.iter().find(|o| o.name == vs.name) else {
            continue;
        };
        vs.ipvs = o.ipvs;
        for rs in &mut vs.real_servers {
            rs.ipvs = o
                .real_servers
                .iter()
                .find(|r| r.address == rs.address)
                .and_then(|r| r.ipvs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;
    use crate::ipvs::types::{
        DestEntry, Destination, Forward, Protocol, Scheduler, Service, Stats,
    };

    #[test]
    fn counters_land_on_their_servers_and_survive_a_rebuild() {
        let mut s = example_snapshot();
        let rs = s.virtual_servers[0].real_servers[0].address;
        let stats = Stats {
            conns: 7,
            inbytes: 1 << 40,
            ..Stats::default()
        };
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "192.0.2.2".parse().unwrap_or(rs.ip()),
            port: 80,
        };
        let dest = Destination::new(rs.ip(), rs.port(), Forward::Masq, 1);
        let e = ServiceEntry {
            service: Service::new(key, Scheduler::Rr),
            stats: Some(stats),
            destinations: vec![DestEntry {
                dest,
                active_conns: 3,
                inact_conns: 1,
                persist_conns: 0,
                stats: Some(Stats {
                    conns: 5,
                    ..Stats::default()
                }),
            }],
        };
        merge(&mut s.virtual_servers, &[e]);
        let vs = &s.virtual_servers[0];
        assert_eq!(vs.ipvs.map(|x| x.conns), Some(7));
        assert_eq!(vs.real_servers[0].ipvs.map(|x| x.active_conns), Some(3));
        assert_eq!(vs.real_servers[0].ipvs.map(|x| x.stats.conns), Some(5));
        assert_eq!(vs.real_servers[1].ipvs, None);
        let mut rebuilt = example_snapshot().virtual_servers;
        keep_counters(&s.virtual_servers, &mut rebuilt);
        let counters = |v: &[VirtualServerStatus]| {
            let rs: Vec<_> = v[0].real_servers.iter().map(|r| r.ipvs).collect();
            (v[0].ipvs, rs)
        };
        assert_eq!(counters(&rebuilt), counters(&s.virtual_servers));
        // A dump without the service: no counters.
        merge(&mut s.virtual_servers, &[]);
        assert_eq!(s.virtual_servers[0].ipvs, None);
    }
}
