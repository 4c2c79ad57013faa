//! The handover guard: an nftables table that, for a few seconds after a
//! node takes over its virtual services, drops the TCP segments of
//! connections its IPVS table does not know yet instead of letting the
//! kernel answer them with a reset.
//!
//! Why: with `lvs_sync_daemon`, the old master's sync daemon sends each
//! connection to the peer only when its buffer fills or every 2 s
//! (`IPVS_SYNC_FLUSH_TIME` in the kernel's ip_vs_sync.c). A connection
//! opened in the old master's last seconds reaches the new master after the
//! VIPs did. Until then the new master's IPVS has no entry for it: a client
//! segment that is not a SYN is not scheduled (ip_vs_proto_tcp.c schedules
//! only SYNs), passes to the local stack, which holds the VIP but no socket,
//! and gets a RST; a real server's answer (LVS-NAT) is forwarded
//! un-NATed, from the real server's address, and the client resets that.
//! Either way the connection dies although its entry is a second away.
//! Dropped instead, both ends retransmit, and the retransmission after the
//! entry arrives goes through.
//!
//! The chains sit after IPVS's hooks (LOCAL_IN priority 99 and FORWARD
//! priority 100, ip_vs_core.c), at 150: a segment IPVS forwards (it knows
//! the connection) is stolen or rewritten before it gets here, so only
//! unknown connections match. SYNs pass (IPVS schedules them); so does
//! everything once the guard is lifted, when a stale connection is reset
//! as before.
//!
//! Owns: the `inet tandem_handover` table. May not: know VRRP states or
//! the configuration; the LVS programmer says which services and real
//! servers, and when.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{Value, json};

use super::nft::{NftError, nft_json, run_nft};

/// The table's name (family `inet`: one table for both families).
pub const GUARD_TABLE: &str = "tandem_handover";
/// After IPVS's netfilter hooks (99 on LOCAL_IN, 100 on FORWARD).
const GUARD_PRIORITY: i32 = 150;

/// What the guard covers: TCP virtual services (address, port), and the
/// LVS-NAT real servers (address, port) whose answers pass this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardEntries {
    pub services: BTreeSet<(IpAddr, u16)>,
    pub nat_reals: BTreeSet<(IpAddr, u16)>,
}

impl GuardEntries {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.nat_reals.is_empty()
    }
}

/// One transaction that replaces the table with `e` (atomic: `add table`
/// + `delete table` removes whatever a killed earlier run left).
pub fn guard_batch(e: &GuardEntries) -> Value {
    let mut cmds = vec![
        json!({"add": {"table": {"family": "inet", "name": GUARD_TABLE}}}),
        json!({"delete": {"table": {"family": "inet", "name": GUARD_TABLE}}}),
    ];
    if !e.is_empty() {
        cmds.push(json!({"add": {"table": {"family": "inet", "name": GUARD_TABLE}}}));
        for (chain, hook) in [("input", "input"), ("forward", "forward")] {
            cmds.push(json!({"add": {"chain": {
                "family": "inet", "table": GUARD_TABLE, "name": chain,
                "type": "filter", "hook": hook, "prio": GUARD_PRIORITY, "policy": "accept"
            }}}));
        }
        let sets = [
            ("vs4", "ip", false, &e.services),
            ("vs6", "ip6", true, &e.services),
            ("rs4", "ip", false, &e.nat_reals),
            ("rs6", "ip6", true, &e.nat_reals),
        ];
        for (name, proto, v6, from) in sets {
            let elems: Vec<Value> = from
                .iter()
                .filter(|(a, _)| a.is_ipv6() == v6)
                .map(|(a, p)| json!({"concat": [a.to_string(), p]}))
                .collect();
            if elems.is_empty() {
                continue;
            }
            let addr_type = if v6 { "ipv6_addr" } else { "ipv4_addr" };
            cmds.push(json!({"add": {"set": {
                "family": "inet", "table": GUARD_TABLE, "name": name,
                "type": [addr_type, "inet_service"], "elem": elems
            }}}));
            let service = name.starts_with("vs");
            let (chain, addr, port) = if service {
                ("input", "daddr", "dport")
            } else {
                ("forward", "saddr", "sport")
            };
            let mut expr = vec![json!({"match": {"op": "==", "left": {"concat": [
                {"payload": {"protocol": proto, "field": addr}},
                {"payload": {"protocol": "tcp", "field": port}}
            ]}, "right": format!("@{name}")}})];
            if service {
                // Not a SYN: `tcp flags & syn == 0`.
                expr.push(json!({"match": {"op": "!", "left":
                    {"payload": {"protocol": "tcp", "field": "flags"}}, "right": "syn"}}));
            }
            expr.push(json!({"counter": null}));
            expr.push(json!({"drop": null}));
            cmds.push(json!({"add": {"rule": {
                "family": "inet", "table": GUARD_TABLE, "chain": chain, "expr": expr
            }}}));
        }
    }
    json!({ "nftables": cmds })
}

/// Put the guard in (replacing any earlier one).
pub fn install(e: &GuardEntries) -> Result<(), NftError> {
    run_nft(&guard_batch(e))
}

/// Take the guard out; returns how many segments it dropped (`None` when
/// its counters could not be read).
pub fn lift() -> Result<Option<u64>, NftError> {
    let dropped = nft_json(&["list", "table", "inet", GUARD_TABLE])
        .ok()
        .map(|v| dropped_packets(&v));
    run_nft(&guard_batch(&GuardEntries::default()))?;
    Ok(dropped)
}

/// The packets the table's counters saw, from `nft -j list table`.
pub fn dropped_packets(listing: &Value) -> u64 {
    let Some(items) = listing.get("nftables").and_then(Value::as_array) else {
        return 0;
    };
    items
        .iter()
        .filter_map(|i| i.get("rule")?.get("expr")?.as_array())
        .flatten()
        .filter_map(|x| x.get("counter")?.get("packets")?.as_u64())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(v: &Value) -> Vec<String> {
        v["nftables"]
            .as_array()
            .map(|a| a.iter().map(Value::to_string).collect())
            .unwrap_or_default()
    }

    #[test]
    fn nothing_to_guard_only_removes_the_table() {
        let c = cmds(&guard_batch(&GuardEntries::default()));
        assert_eq!(c.len(), 2);
        assert!(c[0].contains("\"add\"") && c[1].contains("\"delete\""));
    }

    #[test]
    fn services_and_nat_reals_by_family_with_syn_passing() {
        let mut e = GuardEntries::default();
        e.services.insert(("192.0.2.2".parse().unwrap(), 80));
        e.services.insert(("2001:db8::2".parse().unwrap(), 443));
        e.nat_reals.insert(("198.51.100.10".parse().unwrap(), 80));
        let c = cmds(&guard_batch(&e)).join("\n");
        assert!(c.contains(r#""elem":[{"concat":["192.0.2.2",80]}]"#));
        assert!(c.contains(r#""type":["ipv4_addr","inet_service"]"#));
        assert!(c.contains(r#"{"concat":["2001:db8::2",443]}"#));
        assert!(c.contains(r#"{"concat":["198.51.100.10",80]}"#));
        // No IPv6 real server: no rs6 set or rule.
        assert!(!c.contains("rs6"));
        // The service rules let SYNs through; the answers' rule drops all.
        let rules: Vec<&str> = c.lines().filter(|l| l.contains("\"rule\"")).collect();
        assert_eq!(rules.len(), 3);
        for r in &rules {
            let is_service = r.contains("@vs");
            assert_eq!(r.contains(r#""right":"syn""#), is_service, "{r}");
            assert!(r.contains(r#""drop":null"#));
        }
        assert!(c.contains(r#""prio":150"#));
    }

    #[test]
    fn dropped_packets_sums_the_counters() {
        let listing = json!({"nftables": [
            {"metainfo": {}},
            {"rule": {"expr": [{"match": {}}, {"counter": {"packets": 3, "bytes": 180}}, {"drop": null}]}},
            {"rule": {"expr": [{"counter": {"packets": 4, "bytes": 240}}, {"drop": null}]}}
        ]});
        assert_eq!(dropped_packets(&listing), 7);
        assert_eq!(dropped_packets(&json!({})), 0);
    }
}
