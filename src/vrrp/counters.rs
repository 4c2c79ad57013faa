//! Statistics, as routers keep them for RFC 6527's VRRPv3 MIB
//! (`vrrpv3StatisticsTable`, `vrrpv3RouterChecksumErrors`, ...), plus the
//! RFC 2787 authentication counters VRRPv2 needs.
//!
//! Every dropped packet lands in exactly one counter, so an operator can
//! tell a misconfigured peer (interval, authentication, address list) from
//! a noisy network (checksum, TTL) from the counters alone.
//!
//! Owns the counters only; no I/O, no clock (times come in as [`Time`]).
//!
//! [`Time`]: super::Time

use serde::{Deserialize, Serialize, Serializer};

use super::packet::RxError;
use super::time::Time;

/// Rejected packets, one counter per [`RxError`] variant: no two reasons
/// share a field, so an operator can tell a truncated packet from a length
/// that does not match the address count, or a broken IPv4 header from a
/// wrong IP protocol.
///
/// RFC 6527 groups some of these (`vrrpv3StatsPacketLengthErrors` is
/// truncation and length mismatch together); those sums are
/// [`RxErrorCounters::packet_length_errors`] and
/// [`RxErrorCounters::ip_header_errors`], and the JSON form carries them
/// beside the per-reason fields under those names, as before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RxErrorCounters {
    /// [`RxError::Truncated`]: shorter than the headers it claims to carry
    /// (part of `vrrpv3StatsPacketLengthErrors`).
    pub truncated_errors: u64,
    /// [`RxError::Length`]: VRRP length does not match the address count
    /// (part of `vrrpv3StatsPacketLengthErrors`).
    pub length_errors: u64,
    /// [`RxError::Ipv4Header`]: malformed IPv4 header.
    pub ipv4_header_errors: u64,
    /// [`RxError::Ipv4Checksum`]: IPv4 header checksum wrong.
    pub ipv4_checksum_errors: u64,
    /// [`RxError::Protocol`]: IP protocol other than 112.
    pub protocol_errors: u64,
    /// [`RxError::Ttl`]: `vrrpv3StatsIpTtlErrors`.
    pub ip_ttl_errors: u64,
    /// [`RxError::Version`]: `vrrpv3RouterVersionErrors`.
    pub version_errors: u64,
    /// [`RxError::Type`]: `vrrpv3StatsRcvdInvalidTypePackets`.
    pub invalid_type_errors: u64,
    /// [`RxError::Vrid`]: `vrrpv3RouterVrIdErrors`.
    pub vrid_errors: u64,
    /// [`RxError::Checksum`]: `vrrpv3RouterChecksumErrors`.
    pub checksum_errors: u64,
    /// [`RxError::Authentication`]: RFC 2787 `vrrpStatsAuthFailures` and
    /// `vrrpStatsAuthTypeMismatch` together.
    pub auth_errors: u64,
    /// [`RxError::AdvertInterval`]: `vrrpv3StatsAdvIntervalErrors`.
    pub adv_interval_errors: u64,
    /// [`RxError::AddressFamily`]: addresses of the wrong family.
    pub address_family_errors: u64,
    /// [`RxError::AddressList`]: `vrrpv3StatsAddressListErrors`, adverts
    /// whose address list differs from ours. Counted even though the
    /// advert is still accepted, so not part of [`Self::total`].
    pub address_list_errors: u64,
}

impl RxErrorCounters {
    /// Counts one rejected packet under its reason.
    pub fn record(&mut self, err: &RxError) {
        let c = match err {
            RxError::Truncated { .. } => &mut self.truncated_errors,
            RxError::Length { .. } => &mut self.length_errors,
            RxError::Ipv4Header(_) => &mut self.ipv4_header_errors,
            RxError::Ipv4Checksum => &mut self.ipv4_checksum_errors,
            RxError::Protocol(_) => &mut self.protocol_errors,
            RxError::Ttl(_) | RxError::TtlRange { .. } => &mut self.ip_ttl_errors,
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

    /// Every counter with its field name, in declaration order (for the
    /// metrics exposition and the state dump).
    pub fn by_reason(&self) -> [(&'static str, u64); 14] {
        [
            ("truncated_errors", self.truncated_errors),
            ("length_errors", self.length_errors),
            ("ipv4_header_errors", self.ipv4_header_errors),
            ("ipv4_checksum_errors", self.ipv4_checksum_errors),
            ("protocol_errors", self.protocol_errors),
            ("ip_ttl_errors", self.ip_ttl_errors),
            ("version_errors", self.version_errors),
            ("invalid_type_errors", self.invalid_type_errors),
            ("vrid_errors", self.vrid_errors),
            ("checksum_errors", self.checksum_errors),
            ("auth_errors", self.auth_errors),
            ("adv_interval_errors", self.adv_interval_errors),
            ("address_family_errors", self.address_family_errors),
            ("address_list_errors", self.address_list_errors),
        ]
    }

    /// `vrrpv3StatsPacketLengthErrors`: truncated packets and length /
    /// address count mismatches.
    pub fn packet_length_errors(&self) -> u64 {
        self.truncated_errors + self.length_errors
    }

    /// Malformed IPv4 headers, IPv4 header checksum, wrong IP protocol: the
    /// sum kept under its earlier name.
    pub fn ip_header_errors(&self) -> u64 {
        self.ipv4_header_errors + self.ipv4_checksum_errors + self.protocol_errors
    }

    /// All drops together (address list mismatches are accepted, so not
    /// counted here).
    pub fn total(&self) -> u64 {
        self.by_reason()
            .iter()
            .filter(|(name, _)| *name != "address_list_errors")
            .map(|(_, n)| n)
            .sum()
    }
}

/// The per-reason fields, then the two sums under the names they had before
/// the reasons were split (`packet_length_errors`, `ip_header_errors`), so
/// scripts reading the old keys keep working.
impl Serialize for RxErrorCounters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RxErrorCounters", 16)?;
        for (name, n) in self.by_reason() {
            st.serialize_field(name, &n)?;
        }
        st.serialize_field("packet_length_errors", &self.packet_length_errors())?;
        st.serialize_field("ip_header_errors", &self.ip_header_errors())?;
        st.end()
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
