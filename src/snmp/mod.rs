//! SNMP for tandem as keepalived offers it: an AgentX subagent (RFC 2741)
//! of a master agent such as net-snmp's snmpd, exposing KEEPALIVED-MIB
//! from the status model and sending its notifications.
//!
//! Owns the protocol, sans-IO: [`pdu`] (the wire format; its tests against
//! hand-built bytes are `pdu_tests.rs`), [`view`] (the
//! sorted OID table and Get/GetNext/GetBulk over it), [`session`] (Open,
//! Register, answers, Notify) and [`keepalived_mib`] (status snapshot to
//! OIDs; with it [`check_mib`], its virtual and real servers, [`vrrp_mib`], RFC 2787's VRRP-MIB, and [`vrrpv3_mib`],
//! RFC 6527's VRRPv3-MIB). The socket, the reconnects and the clock are the daemon's
//! (`daemon::snmp`). It sits beside `control` (layer 3) because the MIB is
//! a view of `control::model`'s snapshot.

pub mod check_mib;
mod common;
pub mod keepalived_mib;
pub mod pdu;
#[cfg(test)]
mod pdu_tests;
pub mod session;
pub mod view;
pub mod vrrp_mib;
pub mod vrrpv3_mib;

pub use pdu::{Oid, Pdu, PduError, Value, VarBind};
