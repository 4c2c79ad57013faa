//! Statistics, as routers keep them for RFC 6527's VRRPv3 MIB
//! (`vrrpv3StatisticsTable`, `vrrpv3RouterChecksumErrors`, ...), plus the
//! RFC 2787 authentication counters VRRPv2 needs.
//!
//! Every dropped packet lands in exactly one counter, so an operator can
//! tell a misconfigured peer (interval, authentication, address list) from
//! a noisy network (checksum, TTL) from the counters alone.

use serde::Serialize;

use super::packet::RxError;
use super::time::Time;

/// Drops, one counter per [`RxError`] reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RxErrorCounters {
    /// Truncated packets and length / count mismatches
    /// (`vrrpv3StatsPacketLengthErrors`).
    pub packet_length_errors: u64,
    /// Malformed IPv4 headers, IPv4 header checksum, wrong IP protocol.
    pub ip_header_errors: u64,
    /// `vrrpv3StatsIpTtlErrors`.
    pub ip_ttl_errors: u64,
    /// `vrrpv3RouterVersionErrors`.
    pub version_errors: u64,
    /// `vrrpv3StatsRcvdInvalidTypePackets`.
    pub invalid_type_errors: u64,
    /// `vrrpv3RouterVrIdErrors`.
    pub vrid_errors: u64,
    /// `vrrpv3RouterChecksumErrors`.
    pub checksum_errors: u64,
    /// RFC 2787 `vrrpStatsAuthFailures` / `vrrpStatsAuthTypeMismatch`.
    pub auth_errors: u64,
    /// `vrrpv3StatsAdvIntervalErrors`.
    pub adv_interval_errors: u64,
    /// Addresses of the wrong family.
    pub address_family_errors: u64,
    /// `vrrpv3StatsAddressListErrors`: adverts whose address list differs
    /// from ours. Counted even when the advert is still accepted.
    pub address_list_errors: u64,
}

impl RxErrorCounters {
    /// Counts one drop.
    pub fn record(&mut self, err: &RxError) {
        let c = match err {
            RxError::Truncated { .. } | RxError::Length { .. } => &mut self.packet_length_errors,
            RxError::Ipv4Header(_) | RxError::Ipv4Checksum | RxError::Protocol(_) => {
                &mut self.ip_header_errors
            }
            RxError::Ttl(_) => &mut self.ip_ttl_errors,
            RxError::Version(_) => &mut self.version_errors,
            RxError::Type(_) => &mut self.invalid_type_errors,
            RxError::Vrid(_) => &mut self.vrid_errors,
            RxError::Checksum { .. } => &mut self.checksum_errors,
            RxError::Authentication(_) => &mut self.auth_errors,
            RxError::AdvertInterval { .. } => &mut self.adv_interval_errors,
            RxError::AddressFamily => &mut self.address_family_errors,
            RxError::AddressList => &mut self.address_list_errors,
        };
        *c += 1;
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        self.packet_length_errors
            + self.ip_header_errors
            + self.ip_ttl_errors
            + self.version_errors
            + self.invalid_type_errors
            + self.vrid_errors
            + self.checksum_errors
            + self.auth_errors
            + self.adv_interval_errors
            + self.address_family_errors
    }
}

/// Why this router last became master (`vrrpv3StatsNewMasterReason`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum NewMasterReason {
    /// Never master (`notMaster`).
    #[default]
    NotMaster,
    /// Became master as the address owner (`priority`).
    Priority,
    /// Took over from a lower-priority master (`preempted`).
    Preempted,
    /// The master stopped advertising or sent priority 0 (`masterNoResponse`).
    MasterNoResponse,
}

/// Per-instance statistics (one row of `vrrpv3StatisticsTable`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstanceCounters {
    /// Adverts this instance asked to send (including priority 0).
    pub adverts_sent: u64,
    /// Adverts accepted for processing (`vrrpv3StatsRcvdAdvertisements`).
    pub adverts_received: u64,
    /// `vrrpv3StatsSentPriZeroPackets`.
    pub priority_zero_sent: u64,
    /// `vrrpv3StatsRcvdPriZeroPackets`.
    pub priority_zero_received: u64,
    /// `vrrpv3StatsMasterTransitions`: times this instance became master.
    pub master_transitions: u64,
    /// Every state change, not only to master.
    pub state_transitions: u64,
    /// `vrrpv3StatsNewMasterReason`.
    pub new_master_reason: NewMasterReason,
    /// When the last state change happened.
    pub last_transition: Option<Time>,
    /// Drops of packets addressed to this instance, by reason.
    pub rx_errors: RxErrorCounters,
}

/// Per-router statistics for packets that could not be tied to an instance
/// (`vrrpv3RouterChecksumErrors`, `vrrpv3RouterVersionErrors`,
/// `vrrpv3RouterVrIdErrors`, and the rest of the undeliverable drops).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouterCounters {
    pub rx_errors: RxErrorCounters,
}
