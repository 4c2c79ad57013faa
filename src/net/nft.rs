//! Accept mode's firewall (RFC 5798 §6.1 Accept_Mode): an nftables table
//! that drops traffic to the VIPs of masters not in accept mode, kept
//! through Debian's `nft` program fed JSON (`nft -j -f -`).
//!
//! The table has keepalived's shape (`table ip|ip6 keepalived`, base chains
//! `in` and `out` at priority -1, a set `vips`, and for IPv6 link-local
//! VIPs a set `vips_link_local` of address . interface index), so an
//! operator's `nft list ruleset` reads as it does under keepalived. ARP is
//! not IP and never reaches these chains; IPv6 neighbour solicitations and
//! advertisements are accepted before the drop, so a master still answers
//! for its VIPs at the link layer.
//!
//! Every change writes the whole table of each family in one nft
//! transaction (`add table` + `delete table` + the new content): atomic,
//! idempotent, and correct whatever a killed previous run left behind. A
//! family with nothing to drop has no table at all, so the rules are in
//! the kernel exactly while some master holds a filtered VIP.
//!
//! Why `nft` and not netlink from Rust: nf_tables' netlink is a bytecode of
//! registers and expressions that `nft` compiles from its language; no
//! maintained Rust crate covers sets with concatenated keys, and the JSON
//! interface is nft's documented, stable programmatic API. A change is one
//! short process (a few ms) on a VRRP transition, not on a hot path.
//!
//! Owns: the table's content and the `nft` child. May not: know VRRP
//! states or the configuration; the daemon says which addresses to drop.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The table's name and hook priority, and whether its rules count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftSettings {
    pub table: String,
    pub priority: i32,
    pub counters: bool,
}

/// One address to drop traffic to, on the interface that carries it (the
/// index only matters for IPv6 link-local addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DropEntry {
    pub addr: IpAddr,
    pub ifindex: u32,
}

/// Why the table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("cannot run nft (install Debian's package nftables): {0}")]
    Spawn(std::io::Error),
    #[error("nft refused the table: {0}")]
    Refused(String),
}

/// The drop entries of every instance, and the table they make. One per
/// daemon (one table per network namespace): shared by the units, which
/// call it only around adding and removing their VIPs.
#[derive(Debug, Default)]
pub struct AcceptFilter {
    inner: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    settings: Option<NftSettings>,
    by_owner: BTreeMap<String, BTreeSet<DropEntry>>,
}

impl Held {
    fn all(&self) -> BTreeSet<DropEntry> {
        self.by_owner.values().flatten().copied().collect()
    }
}

impl AcceptFilter {
    /// Drop traffic to `entries` for `owner` (an instance), before it
    /// adds them as addresses. Written to the kernel only if that changes
    /// the table.
    pub fn hold(
        &self,
        settings: &NftSettings,
        owner: &str,
        entries: &[DropEntry],
    ) -> Result<(), NftError> {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let before = g.all();
        g.settings = Some(settings.clone());
        g.by_owner
            .entry(owner.to_string())
            .or_default()
            .extend(entries.iter().copied());
        let after = g.all();
        if before == after {
            return Ok(());
        }
        run_nft(&batch(settings, &after))
    }

    /// Stop dropping traffic to `entries` of `owner`, once it removed the
    /// addresses (nothing happens for entries it does not hold).
    pub fn release(&self, owner: &str, entries: &[DropEntry]) -> Result<(), NftError> {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(settings) = g.settings.clone() else {
            return Ok(());
        };
        let before = g.all();
        if let Some(set) = g.by_owner.get_mut(owner) {
            for e in entries {
                set.remove(e);
            }
        }
        let after = g.all();
        if before == after {
            return Ok(());
        }
        run_nft(&batch(&settings, &after))
    }

    /// The entries the table holds now.
    pub fn held(&self) -> BTreeSet<DropEntry> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .all()
    }
}

/// Delete the table in both families, whatever it holds: at startup (a
/// run killed with -9 left it) and at exit.
pub fn clear(settings: &NftSettings) -> Result<(), NftError> {
    run_nft(&batch(settings, &BTreeSet::new()))
}

/// The nft JSON transaction that makes the table hold exactly `entries`.
pub fn batch(settings: &NftSettings, entries: &BTreeSet<DropEntry>) -> Value {
    let mut cmds = Vec::new();
    for family in ["ip", "ip6"] {
        let table = json!({"family": family, "name": settings.table});
        cmds.push(json!({"add": {"table": table}}));
        cmds.push(json!({"delete": {"table": table}}));
        let mine: Vec<&DropEntry> = entries
            .iter()
            .filter(|e| e.addr.is_ipv4() == (family == "ip"))
            .collect();
        if !mine.is_empty() {
            family_table(&mut cmds, family, settings, &mine);
        }
    }
    json!({ "nftables": cmds })
}

/// One family's table: its chains, sets and rules.
fn family_table(cmds: &mut Vec<Value>, family: &str, s: &NftSettings, entries: &[&DropEntry]) {
    let t = &s.table;
    cmds.push(json!({"add": {"table": {"family": family, "name": t}}}));
    for (chain, hook) in [("in", "input"), ("out", "output")] {
        cmds.push(json!({"add": {"chain": {
            "family": family, "table": t, "name": chain, "type": "filter",
            "hook": hook, "prio": s.priority, "policy": "accept"}}}));
    }
    let (global, link_local): (Vec<&DropEntry>, Vec<&DropEntry>) =
        entries.iter().partition(|e| !is_link_local(&e.addr));
    let addr_type = if family == "ip" {
        "ipv4_addr"
    } else {
        "ipv6_addr"
    };
    let elems: Vec<String> = global.iter().map(|e| e.addr.to_string()).collect();
    cmds.push(json!({"add": {"set": {
        "family": family, "table": t, "name": "vips", "type": addr_type, "elem": elems}}}));
    let rule = |chain: &str, mut expr: Vec<Value>, verdict: &str| {
        if s.counters {
            expr.push(json!({"counter": null}));
        }
        expr.push(json!({ verdict: null }));
        json!({"add": {"rule": {"family": family, "table": t, "chain": chain, "expr": expr}}})
    };
    let field = |f: &str| json!({"payload": {"protocol": family, "field": f}});
    if family == "ip6" {
        // A master must still answer neighbour solicitations for its VIPs.
        let nd = json!({"match": {"op": "==",
            "left": {"payload": {"protocol": "icmpv6", "field": "type"}},
            "right": {"set": ["nd-neighbor-solicit", "nd-neighbor-advert"]}}});
        cmds.push(rule("in", vec![nd.clone()], "accept"));
        cmds.push(rule("out", vec![nd], "accept"));
    }
    for (chain, f) in [("in", "daddr"), ("out", "saddr")] {
        let m = json!({"match": {"op": "==", "left": field(f), "right": "@vips"}});
        cmds.push(rule(chain, vec![m], "drop"));
    }
    if !link_local.is_empty() {
        let elems: Vec<Value> = link_local
            .iter()
            .map(|e| json!({"concat": [e.addr.to_string(), e.ifindex]}))
            .collect();
        cmds.push(json!({"add": {"set": {
            "family": family, "table": t, "name": "vips_link_local",
            "type": ["ipv6_addr", "iface_index"], "elem": elems}}}));
        for (chain, f, dev) in [("in", "daddr", "iif"), ("out", "saddr", "oif")] {
            let key = json!({"concat": [field(f), {"meta": {"key": dev}}]});
            let m = json!({"match": {"op": "==", "left": key, "right": "@vips_link_local"}});
            cmds.push(rule(chain, vec![m], "drop"));
        }
    }
}

fn is_link_local(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// Run one transaction through `nft -j -f -`.
pub(super) fn run_nft(batch: &Value) -> Result<(), NftError> {
    let mut child = Command::new(nft_program())
        .args(["-j", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(NftError::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(batch.to_string().as_bytes())
            .map_err(NftError::Spawn)?;
    }
    // nft answers in milliseconds; one that hangs must not hold a unit
    // (and its VRRP adverts) for ever.
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(NftError::Spawn)? {
            Some(status) => break status,
            None if started.elapsed() > NFT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(NftError::Refused(format!(
                    "nft did not finish within {NFT_TIMEOUT:?}"
                )));
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut why = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut why);
    }
    let why = why.lines().next().unwrap_or("no reason given").to_string();
    Err(NftError::Refused(why))
}

/// Run `nft -j ARGS` (a listing) and parse what it prints.
pub(super) fn nft_json(args: &[&str]) -> Result<Value, NftError> {
    let out = Command::new(nft_program())
        .arg("-j")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(NftError::Spawn)?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(NftError::Refused(
            why.lines().next().unwrap_or("no reason given").to_string(),
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| NftError::Refused(e.to_string()))
}

/// The longest one nft transaction may take.
const NFT_TIMEOUT: Duration = Duration::from_secs(3);

/// `nft`, from `TANDEM_NFT` when set (tests), else the usual places
/// (a unit's PATH may lack /usr/sbin).
fn nft_program() -> String {
    if let Ok(p) = std::env::var("TANDEM_NFT") {
        return p;
    }
    for p in ["/usr/sbin/nft", "/sbin/nft"] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    "nft".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(counters: bool) -> NftSettings {
        NftSettings {
            table: "keepalived".into(),
            priority: -1,
            counters,
        }
    }

    fn entry(a: &str, ifindex: u32) -> DropEntry {
        DropEntry {
            addr: a.parse().unwrap(),
            ifindex,
        }
    }

    fn cmds(v: &Value) -> Vec<String> {
        v["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn empty_deletes_both_families_and_creates_nothing() {
        let c = cmds(&batch(&settings(false), &BTreeSet::new()));
        assert_eq!(c.len(), 4);
        assert!(c[1].contains(r#""delete""#) && c[1].contains(r#""ip""#));
        assert!(c[3].contains(r#""delete""#) && c[3].contains(r#""ip6""#));
    }

    #[test]
    fn ipv4_vips_in_the_set_and_drop_rules_both_ways() {
        let e: BTreeSet<_> = [entry("192.0.2.10", 2)].into();
        let text = batch(&settings(false), &e).to_string();
        assert!(text.contains(r#""elem":["192.0.2.10"]"#), "{text}");
        assert!(text.contains(r#""field":"daddr""#) && text.contains(r#""field":"saddr""#));
        assert!(text.contains(r#""prio":-1"#));
        assert!(!text.contains("counter"));
        // No ip6 table: only its add + delete.
        assert!(!text.contains(r#""chain":{"family":"ip6""#));
    }

    #[test]
    fn counters_and_ipv6_link_local_by_ifindex() {
        let e: BTreeSet<_> = [entry("2001:db8::1", 2), entry("fe80::1", 7)].into();
        let text = batch(&settings(true), &e).to_string();
        assert!(text.contains(r#"{"counter":null}"#));
        assert!(text.contains(r#""type":["ipv6_addr","iface_index"]"#));
        assert!(text.contains(r#"{"concat":["fe80::1",7]}"#), "{text}");
        assert!(text.contains("nd-neighbor-solicit"));
        assert!(text.contains(r#""elem":["2001:db8::1"]"#));
    }

    #[test]
    fn release_of_what_is_not_held_runs_nothing() {
        // No settings yet (nothing ever held): no nft is run at all.
        let f = AcceptFilter::default();
        assert!(f.release("VI_1", &[entry("192.0.2.1", 1)]).is_ok());
        assert!(f.held().is_empty());
    }
}
