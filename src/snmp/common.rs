//! What the MIB modules share: the clock the up-time columns count from,
//! the `virtual_ipaddress` text of the status model read back, and the
//! SNMPv2 notification frame (sysUpTime.0, snmpTrapOID.0, objects).
//!
//! Owns nothing else; sans-IO.

use std::net::IpAddr;

use super::pdu::{Oid, Value, VarBind};

/// The times the up-time columns are counted from: now, and when the
/// subagent started (sysUpTime's origin), both Unix ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    pub now_unix_ms: u64,
    pub agent_start_unix_ms: u64,
}

/// One `virtual_ipaddress` entry as the status model writes it
/// (`192.0.2.2/24 dev eth0`, the `dev` part optional).
pub(super) fn parse_vip(text: &str) -> Option<(IpAddr, u8, Option<&str>)> {
    let mut words = text.split_whitespace();
    let (addr, len) = words.next()?.split_once('/')?;
    let dev = match (words.next(), words.next()) {
        (Some("dev"), Some(d)) => Some(d),
        _ => None,
    };
    Some((addr.parse().ok()?, len.parse().ok()?, dev))
}

/// snmpTrapOID.0 (SNMPv2-MIB).
fn snmp_trap_oid() -> Oid {
    Oid::new(&[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0])
}

/// sysUpTime.0 (SNMPv2-MIB), the first varbind of every notification.
fn sys_uptime_oid() -> Oid {
    Oid::new(&[1, 3, 6, 1, 2, 1, 1, 3, 0])
}

pub(super) fn notification(uptime_cs: u32, trap: Oid, objects: Vec<VarBind>) -> Vec<VarBind> {
    let mut v = vec![
        VarBind {
            name: sys_uptime_oid(),
            value: Value::TimeTicks(uptime_cs),
        },
        VarBind {
            name: snmp_trap_oid(),
            value: Value::ObjectIdentifier(trap),
        },
    ];
    v.extend(objects);
    v
}
