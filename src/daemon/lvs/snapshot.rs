//! The virtual servers as the status snapshot shows them
//! ([`virtual_servers`]): configuration, check verdicts, what the table
//! holds for each real server, and whether this node installs it.
//!
//! Reads only: the LVS task calls it after a check batch or a role change
//! and writes the result to the [`StatusHub`](crate::daemon::status::StatusHub).
//! Nothing here changes a verdict, the table or the kernel.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::control::model::{RealServerStatus, VirtualServerStatus};
use crate::ipvs::types::{DestKey, ServiceKey};
use crate::lvs::{Governance, LvsState, VirtualServerSpec, VsIndex};

use super::reporting::LvsReporting;

/// Every virtual server's snapshot entry, in configuration order; `names`
/// as the logs name them, `masters` the instances this node is MASTER of.
pub(super) fn virtual_servers(
    state: &LvsState,
    governance: &Governance,
    names: &[String],
    reporting: &LvsReporting,
    masters: &BTreeSet<String>,
) -> Vec<VirtualServerStatus> {
    let mut out = Vec::with_capacity(state.len());
    for i in 0..state.len() {
        let vs = VsIndex(i);
        let Some(spec) = state.spec(vs) else {
            continue;
        };
        let info = reporting.servers.get(i);
        let installed = governance.programs(vs, |n| masters.contains(n));
        let (real_servers, alive_weight) = real_servers(state, reporting, vs, spec);
        let quorum_up = state.quorum_up(vs).unwrap_or(true);
        let (address, fwmark, protocol) = match spec.services.first().map(|s| &s.key) {
            Some(ServiceKey::Addr {
                protocol,
                addr,
                port,
            }) => (
                Some(SocketAddr::new(*addr, *port)),
                None,
                protocol.to_string().to_lowercase(),
            ),
            Some(ServiceKey::Fwmark { fwmark, .. }) => (None, Some(*fwmark), String::new()),
            None => (None, None, String::new()),
        };
        out.push(VirtualServerStatus {
            name: names.get(i).cloned().unwrap_or_default(),
            address,
            fwmark,
            protocol: info.map(|x| x.protocol.clone()).unwrap_or(protocol),
            lvs_sched: info.map(|x| x.lvs_sched.clone()).unwrap_or_default(),
            lvs_method: info.map(|x| x.lvs_method.clone()).unwrap_or_default(),
            installed,
            quorum: spec.quorum,
            hysteresis: spec.hysteresis,
            alive_weight,
            quorum_up,
            sorry_server: spec.sorry_server.as_ref().map(|s| s.addr),
            sorry_active: !quorum_up && spec.sorry_server.is_some(),
            group: info.and_then(|x| x.group.clone()),
            ipv6: info.is_some_and(|x| x.ipv6),
            snmp_name: info.and_then(|x| x.snmp_name.clone()),
            settings: info.map(|x| x.settings.clone()).unwrap_or_default(),
            ipvs: None,
            real_servers,
        });
    }
    out
}

/// The real servers of `vs`, and the sum of the weights of those alive.
fn real_servers(
    state: &LvsState,
    reporting: &LvsReporting,
    vs: VsIndex,
    spec: &VirtualServerSpec,
) -> (Vec<RealServerStatus>, i64) {
    let desired = state.desired(vs);
    // A lookup by key: a scan per real server was quadratic, 5 x 10^7
    // comparisons per status update at 10,000 real servers.
    let weight_in_table = |addr: SocketAddr| {
        desired.first().and_then(|d| {
            d.destinations
                .get(&DestKey {
                    addr: addr.ip(),
                    port: addr.port(),
                })
                .map(|x| x.weight)
        })
    };
    let mut alive_weight = 0i64;
    let real_servers = spec
        .real_servers
        .iter()
        .enumerate()
        .map(|(r, rs)| {
            let alive = state.real_server_alive(vs, r).unwrap_or(false);
            if alive {
                alive_weight += i64::from(state.real_server_weight(vs, r).unwrap_or(rs.weight));
            }
            let in_table = weight_in_table(rs.addr);
            let failing_checkers = rs
                .checkers
                .iter()
                .filter(|c| reporting.last.get(c).is_some_and(|r| !r.ok))
                .count();
            let last_check = rs
                .checkers
                .iter()
                .filter_map(|c| reporting.last.get(c))
                // A failing checker explains the state best.
                .min_by_key(|c| (c.ok, std::cmp::Reverse(c.at_unix_ms)))
                .cloned();
            let (ok, failed) = reporting
                .verdicts
                .get(&(vs.0, rs.addr))
                .copied()
                .unwrap_or_default();
            RealServerStatus {
                address: rs.addr,
                weight: i32::try_from(rs.weight).unwrap_or(i32::MAX),
                effective_weight: in_table.unwrap_or(0),
                alive,
                inhibited: !alive && in_table.is_some(),
                last_check,
                checks_ok: ok,
                checks_failed: failed,
                failing_checkers: u32::try_from(failing_checkers).unwrap_or(u32::MAX),
                inhibit_on_failure: rs.inhibit_on_failure,
                snmp_name: reporting
                    .servers
                    .get(vs.0)
                    .and_then(|x| x.rs_snmp_name.get(&rs.addr).cloned()),
                ipvs: None,
            }
        })
        .collect();
    (real_servers, alive_weight)
}
