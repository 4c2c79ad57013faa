//! The model of an ip rule line of `virtual_rules` and `static_rules`:
//! what `ip rule add ...` takes, in keepalived.conf's words.
//!
//! Owns: the rule's selectors and action. May not: depend on the other
//! model files beyond the prefix type.

use serde::{Deserialize, Serialize};

use super::addresses::IpPrefix;
use super::common::AddressFamily;

/// What a matching packet does (`FR_ACT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// `table N` / `lookup N`: look the route up in table N.
    Table(u32),
    /// `l3mdev`: the table of the L3 master device the packet arrived on.
    L3mdev,
    /// `goto N`: continue at the rule of preference N.
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// An inclusive range (`uidrange 1000-1999`, `sport 80-90`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range<T> {
    pub start: T,
    pub end: T,
}

/// One rule line: `[from P] [to P] [not] [priority N] [tos N] [fwmark
/// M[/MASK]] [iif IF] [oif IF] ... ACTION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRule {
    pub family: AddressFamily,
    pub from: Option<IpPrefix>,
    pub to: Option<IpPrefix>,
    /// `not`: the selectors are inverted (`FIB_RULE_INVERT`).
    pub invert: bool,
    /// `preference` / `priority` / `order`; keepalived gives a rule
    /// without one 16384, 16383, ... per family (in the order written).
    pub priority: u32,
    /// `tos` / `dsfield`.
    pub tos: u8,
    pub fwmark: Option<u32>,
    /// `fwmark M/MASK`.
    pub fwmask: Option<u32>,
    /// `iif` / `dev`.
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// `realms [SRC/]DST`: (source << 16) | destination.
    pub realms: Option<u32>,
    pub suppress_prefixlength: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub tunnel_id: Option<u64>,
    pub uidrange: Option<Range<u32>>,
    /// `protocol N`: who installed the rule; keepalived's 18 unless
    /// `no_track` (that is how keepalived recognises its rules).
    pub protocol: Option<u8>,
    pub ipproto: Option<u8>,
    pub sport: Option<Range<u16>>,
    pub dport: Option<Range<u16>>,
    pub action: RuleAction,
    pub no_track: bool,
    /// `track_group NAME` (static rules only): the instances of that
    /// `track_group` track the rule's `iif`.
    #[serde(default)]
    pub track_group: Option<String>,
}
