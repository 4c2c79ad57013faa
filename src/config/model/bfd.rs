//! The model of keepalived's BFD blocks: `bfd_instance` (a BFD session,
//! RFC 5880 / 5881) and the `track_bfd` entries of vrrp_instance and
//! vrrp_sync_group.
//!
//! Owns: those types and their defaults (keepalived's: min_rx / min_tx
//! 10 ms, idle_tx 1 s, multiplier 5, TTL 255 for IPv4 and hop limit 64
//! for IPv6, max_hops 0). May not: depend on the VRRP or LVS parts of the
//! model.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::common::Origin;
use super::secs;

/// `bfd_instance NAME { ... }`: one single-hop BFD session to a neighbour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BfdInstance {
    /// At most 31 characters (keepalived's limit).
    pub name: String,
    /// `neighbor_ip` (or `neighbour_ip`). Required.
    pub neighbor_ip: IpAddr,
    /// `source_ip`: the address packets are sent from, and the one a
    /// packet from the neighbour must be addressed to. `None`: the kernel
    /// chooses.
    pub source_ip: Option<IpAddr>,
    /// `min_rx` (ms, µs resolution), default 10 ms: Required Min RX.
    #[serde(with = "secs")]
    pub min_rx: Duration,
    /// `min_tx`, default 10 ms: Desired Min TX while the session is Up.
    #[serde(with = "secs")]
    pub min_tx: Duration,
    /// `idle_tx`, default 1 s (at least 1 s): Desired Min TX while not Up.
    #[serde(with = "secs")]
    pub idle_tx: Duration,
    /// `multiplier`, 1–255, default 5: Detect Mult.
    pub multiplier: u8,
    /// `passive`: send nothing until the neighbour is heard.
    pub passive: bool,
    /// `ttl` / `hoplimit`, 1–255: what packets are sent with; default 255
    /// (IPv4) or 64 (IPv6), as keepalived.
    pub ttl: u8,
    /// `max_hops`, 0–255 (−1 and 255 turn the check off: `None`): how far
    /// below `ttl` a received packet's TTL / hop limit may be.
    pub max_hops: Option<u8>,
    /// `weight` (−253..253), default 0: the weight of a `track_bfd` entry
    /// that gives none.
    pub weight: i32,
    /// `weight N reverse`.
    pub weight_reverse: bool,
    /// Whether VRRP instances may track the session: `vrrp`, or neither
    /// `vrrp` nor `checker` given.
    pub vrrp: bool,
    /// Whether `BFD_CHECK` may use the session: `checker`, or neither.
    pub checker: bool,
    #[serde(skip)]
    pub origin: Origin,
}

impl BfdInstance {
    /// keepalived's defaults for a session to `neighbor_ip`.
    pub fn new(name: String, neighbor_ip: IpAddr) -> BfdInstance {
        BfdInstance {
            name,
            neighbor_ip,
            source_ip: None,
            min_rx: Duration::from_millis(10),
            min_tx: Duration::from_millis(10),
            idle_tx: Duration::from_secs(1),
            multiplier: 5,
            passive: false,
            ttl: if neighbor_ip.is_ipv4() { 255 } else { 64 },
            max_hops: Some(0),
            weight: 0,
            weight_reverse: false,
            vrrp: true,
            checker: true,
            origin: Origin::default(),
        }
    }
}

/// A `track_bfd` entry: `NAME [weight W [reverse|noreverse]]
/// [tandem_takeover]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackBfd {
    /// Name of a `bfd_instance` (checked to exist).
    pub name: String,
    /// Resolved: the entry's weight, else the bfd_instance's.
    pub weight: i32,
    /// Resolved: the entry's `reverse`, else the bfd_instance's.
    pub reverse: bool,
    /// `tandem_takeover` (tandem's own word, not keepalived's): the
    /// session watches the peer balancer, and its going Down while this
    /// instance is BACKUP behind that peer makes it take over at once, as
    /// if Master_Down_Timer had fired (docs/vrrp.md, "BFD").
    #[serde(default)]
    pub tandem_takeover: bool,
    #[serde(skip)]
    pub origin: Origin,
}
