//! What the blocks wrote, before defaults and inheritance are applied.
//!
//! Owns: the forms an item takes between being read and being resolved
//! (`Option`s where a value may still come from a parent or from
//! global_defs). May not: read statements or report problems; it is data
//! the block readers fill in and the resolution steps consume.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::Word;

/// A `track_script` entry as written: the weight and `reverse` it gives,
/// if any, resolved against its vrrp_script at the end.
pub(super) type TrackEntry = (TrackScript, Option<i32>, Option<bool>);

/// A `track_bfd` entry as written, resolved against its bfd_instance at
/// the end.
pub(super) type TrackBfdEntry = (TrackBfd, Option<i32>, Option<bool>);

/// Settings that flow virtual_server → real_server → checker.
#[derive(Debug, Clone, Default)]
pub(super) struct Inherit {
    pub(super) delay_loop: Option<Duration>,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) retry: Option<u32>,
    pub(super) delay_before_retry: Option<Duration>,
    pub(super) warmup: Option<Duration>,
    pub(super) alpha: Option<bool>,
    pub(super) inhibit_on_failure: Option<bool>,
    pub(super) virtualhost: Option<String>,
    pub(super) smtp_alert: Option<bool>,
}

impl Inherit {
    /// `self` where set, else `parent`.
    pub(super) fn over(&self, parent: &Inherit) -> Inherit {
        Inherit {
            delay_loop: self.delay_loop.or(parent.delay_loop),
            connect_timeout: self.connect_timeout.or(parent.connect_timeout),
            retry: self.retry.or(parent.retry),
            delay_before_retry: self.delay_before_retry.or(parent.delay_before_retry),
            warmup: self.warmup.or(parent.warmup),
            alpha: self.alpha.or(parent.alpha),
            inhibit_on_failure: self.inhibit_on_failure.or(parent.inhibit_on_failure),
            virtualhost: self
                .virtualhost
                .clone()
                .or_else(|| parent.virtualhost.clone()),
            smtp_alert: self.smtp_alert.or(parent.smtp_alert),
        }
    }
}

#[derive(Clone)]
pub(super) struct RawChecker {
    pub(super) kind: CheckerKind,
    pub(super) inh: Inherit,
    pub(super) connect_ip: Option<IpAddr>,
    pub(super) connect_port: Option<u16>,
    pub(super) bindto: Option<IpAddr>,
    pub(super) bind_port: Option<u16>,
    pub(super) bind_if: Option<String>,
    pub(super) fwmark: Option<u32>,
    pub(super) log_all_failures: bool,
    pub(super) misc_timeout: Option<Duration>,
    pub(super) origin: Origin,
}

impl RawChecker {
    /// A checker of `kind` written at `origin`, with nothing of its own
    /// set yet: its connection and timing come from the real server.
    pub(super) fn new(kind: CheckerKind, origin: Origin) -> RawChecker {
        RawChecker {
            kind,
            inh: Inherit::default(),
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            log_all_failures: false,
            misc_timeout: None,
            origin,
        }
    }
}

pub(super) struct RawRs {
    pub(super) rs: RealServer,
    pub(super) port: Option<u16>,
    pub(super) lvs_method: Option<(LvsMethod, Tunnel)>,
    pub(super) inh: Inherit,
    pub(super) checkers: Vec<RawChecker>,
}

pub(super) struct RawVs {
    pub(super) vs: VirtualServer,
    pub(super) inh: Inherit,
    pub(super) ip_family: Option<AddressFamily>,
    pub(super) sorry: Option<(IpAddr, Option<u16>)>,
    pub(super) sorry_method: Option<(LvsMethod, Tunnel)>,
    /// Scheduler flags as written, for the check against the scheduler.
    pub(super) sched_flag_words: Vec<Word>,
    /// Where `protocol` was given (ignored for fwmark services).
    pub(super) protocol_pos: Option<Pos>,
    pub(super) rss: Vec<RawRs>,
}

#[derive(Default)]
pub(super) struct RawInstance {
    pub(super) inst: VrrpInstance,
    /// `linkbeat_use_polling` (deprecated here): poll the interface.
    pub(super) linkbeat_use_polling: bool,
    pub(super) interface: Option<String>,
    pub(super) vrid: Option<u8>,
    /// The keyword was written (even with a bad value): no "missing" error.
    pub(super) interface_given: bool,
    pub(super) vrid_given: bool,
    pub(super) state_given: bool,
    pub(super) priority_given: bool,
    pub(super) version: Option<(VrrpVersion, Pos)>,
    /// Where `native_ipv6` was written.
    pub(super) native_ipv6: Option<Pos>,
    pub(super) advert_int: Option<(Duration, Pos)>,
    pub(super) smtp_alert: Option<bool>,
    pub(super) skip_check_adv_addr: Option<bool>,
    pub(super) lower_prio_no_advert: Option<bool>,
    pub(super) higher_prio_send_advert: Option<bool>,
    /// Where `unicast_ttl` was written.
    pub(super) unicast_ttl_pos: Option<Pos>,
    /// Where `unicast_fault_no_peer` was written.
    pub(super) fault_no_peer_pos: Option<Pos>,
    pub(super) garp_master_delay: Option<Duration>,
    pub(super) garp_master_repeat: Option<u32>,
    pub(super) garp_lower_prio_delay: Option<Duration>,
    pub(super) garp_lower_prio_repeat: Option<u32>,
    pub(super) garp_master_refresh: Option<Option<Duration>>,
    pub(super) garp_master_refresh_repeat: Option<u32>,
    /// `garp_extra_if`: `Some(None)` is 0 (off).
    pub(super) garp_extra_if: Option<Option<crate::config::model::GarpExtraIf>>,
    /// track_script entries with their own weight / reverse, if given.
    pub(super) track_script: Vec<TrackEntry>,
    pub(super) track_bfd: Vec<TrackBfdEntry>,
    pub(super) auth_pos: Option<Pos>,
    /// Each address of the instance with where it was written.
    pub(super) vip_pos: Vec<(IpAddr, Pos)>,
    /// Each unicast peer with where it was written.
    pub(super) peer_pos: Vec<(IpAddr, Pos)>,
    /// Where the mcast_dst_ip address was written.
    pub(super) mcast_pos: Option<Pos>,
    /// Where the unicast_src_ip address was written.
    pub(super) src_pos: Option<Pos>,
    /// The `vrrp_instance` keyword: where instance-wide messages point.
    pub(super) kw_pos: Pos,
    /// `strict_mode [BOOL]`, if given (else the global `vrrp_strict`).
    pub(super) strict_mode: Option<bool>,
    /// `accept` (true) or `no_accept` (false), the last one written.
    pub(super) accept: Option<(bool, Pos)>,
    pub(super) state_pos: Option<Pos>,
    pub(super) preempt_delay_pos: Option<Pos>,
    /// The last garp_lower_prio_delay / _repeat keyword.
    pub(super) garp_lower_prio_pos: Option<Pos>,
    /// Where use_vmac / use_ipvlan was written.
    pub(super) vmac_pos: Option<Pos>,
    /// Where vmac_xmit_base was written.
    pub(super) xmit_base: Option<Pos>,
    /// use_vmac's MAC had five octets: the VRID is the sixth.
    pub(super) vmac_mac_vrid: bool,
    /// Where promote_secondaries was written.
    pub(super) promote_secondaries_pos: Option<Pos>,
}

pub(super) struct RawGroup {
    pub(super) group: VrrpSyncGroup,
    pub(super) smtp_alert: Option<bool>,
    pub(super) track_script: Vec<TrackEntry>,
    pub(super) track_bfd: Vec<TrackBfdEntry>,
}
