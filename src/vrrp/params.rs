//! The configuration of one VRRP instance as the state machine needs it:
//! [`Params`], keepalived's defaults and adjustments, and what is refused.
//!
//! Plain values, independent of `crate::config` (the daemon maps a parsed
//! `vrrp_instance` onto them). No I/O, no clock.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::packet::{Auth, CodecOptions, Family, Version};
use super::track::{TrackFileParams, TrackProcessParams, TrackerParams};

/// keepalived's `state MASTER|BACKUP`: the state an instance wants at
/// startup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum InitialState {
    #[default]
    Backup,
    /// Non-owners still start in Backup (keepalived does this since 1.2.20:
    /// going straight to Master would steal the VIPs from a live master),
    /// but with a Master_Down_Timer of one advert interval plus skew, so a
    /// lone router comes up quickly. An owner (255) starts as Master
    /// whatever this says (RFC 5798 §6.4.1).
    Master,
}

/// Everything the state machine needs to know about its configuration.
///
/// Deliberately plain and independent of `crate::config`: the daemon maps a
/// parsed `vrrp_instance` onto this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Params {
    /// keepalived's instance name (`vrrp_instance NAME`), for logs.
    pub name: String,
    /// `virtual_router_id`, 1..=255.
    pub vrid: u8,
    /// `version`: 2 or 3. IPv6 instances must be 3.
    pub version: Version,
    /// `priority`, 1..=255; 255 is the address owner.
    pub priority: u8,
    /// `advert_int` in centiseconds. v2 needs whole seconds (a multiple of
    /// 100); v3 allows 1..=4095.
    pub advert_int: u16,
    /// `false` for keepalived's `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay`: how long a backup keeps accepting a lower-priority
    /// master before it preempts. Zero preempts at once.
    pub preempt_delay: Duration,
    /// `authentication { auth_type PASS; auth_pass ... }` (v2 only).
    pub auth: Auth,
    /// The interface address adverts are sent from; it breaks ties between
    /// equal priorities (RFC 5798 §6.4.3) and decides the address family.
    pub primary_addr: IpAddr,
    /// `virtual_ipaddress`: the addresses carried in adverts. The state
    /// machine only compares them with received lists; adding and removing
    /// them is the daemon's job on [`Action::AddVips`] / [`Action::RemoveVips`].
    ///
    /// [`Action::AddVips`]: super::Action::AddVips
    /// [`Action::RemoveVips`]: super::Action::RemoveVips
    pub vips: Vec<IpAddr>,
    /// keepalived's `state`.
    pub initial_state: InitialState,
    /// `track_interface`, `track_script`, ...: indexed by position in
    /// [`Event::TrackerChanged`].
    ///
    /// [`Event::TrackerChanged`]: super::Event::TrackerChanged
    pub trackers: Vec<TrackerParams>,
    /// `track_file`: trackers that carry a value, indexed by position in
    /// [`Event::TrackFileChanged`].
    ///
    /// [`Event::TrackFileChanged`]: super::Event::TrackFileChanged
    pub track_files: Vec<TrackFileParams>,
    /// `track_process`: trackers that follow a process's quorum, indexed
    /// by position in [`Event::TrackProcessChanged`].
    ///
    /// [`Event::TrackProcessChanged`]: super::Event::TrackProcessChanged
    pub track_processes: Vec<TrackProcessParams>,
    /// Codec options (`v3_checksum_as_v2`); kept here so the daemon has one
    /// struct per instance. The state machine itself does not use them.
    pub codec: CodecOptions,
    /// `garp_master_delay`: a second round of gratuitous ARP / unsolicited
    /// NA this long after becoming master (keepalived default 5 s), for
    /// switches that missed the first. `None` disables it.
    pub garp_master_delay: Option<Duration>,
    /// `garp_lower_prio_delay`: after a master answered a lower-priority
    /// advert with gratuitous ARP / NA ([`SendLowerPrioGratuitous`]),
    /// a second round this long after (keepalived's default is the
    /// `garp_master_delay`). `None` disables it; the daemon also leaves it
    /// `None` when `garp_lower_prio_repeat` is 0, as keepalived sends
    /// neither round then.
    ///
    /// [`SendLowerPrioGratuitous`]: super::Action::SendLowerPrioGratuitous
    pub garp_lower_prio_delay: Option<Duration>,
    /// keepalived's `lower_prio_no_advert`: a master that hears a
    /// lower-priority advert only discards it (RFC 5798 §6.4.3), instead of
    /// answering at once with an advert of its own (keepalived's default).
    /// The gratuitous ARP / NA of `garp_lower_prio_repeat` still goes out.
    pub lower_prio_no_advert: bool,
    /// keepalived's `higher_prio_send_advert`: a master that hears a
    /// higher-priority advert sends one advert of its own before it steps
    /// down, so the winner (with `garp_lower_prio_repeat`) renews the
    /// gratuitous ARP that ours may have overwritten.
    pub higher_prio_send_advert: bool,
    /// `false` for keepalived's `dont_track_primary`: the instance's own
    /// interface going down ([`Event::LinkDown`]) does not put it in FAULT.
    ///
    /// [`Event::LinkDown`]: super::Event::LinkDown
    pub track_primary: bool,
    /// A fault of the configuration itself (keepalived's
    /// `num_config_faults`: `unicast_fault_no_peer` without a peer): the
    /// instance goes from INIT to FAULT and no event takes it out.
    pub config_fault: bool,
}

impl Params {
    /// Defaults matching keepalived's for an instance: version 2, priority
    /// 100, advert_int 1 s, preempt, no auth, garp_master_delay 5 s.
    pub fn new(name: impl Into<String>, vrid: u8, primary_addr: IpAddr) -> Params {
        let version = match primary_addr {
            IpAddr::V4(_) => Version::V2,
            IpAddr::V6(_) => Version::V3,
        };
        Params {
            name: name.into(),
            vrid,
            version,
            priority: 100,
            advert_int: 100,
            preempt: true,
            preempt_delay: Duration::ZERO,
            auth: Auth::None,
            primary_addr,
            vips: Vec::new(),
            initial_state: InitialState::Backup,
            trackers: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            codec: CodecOptions::default(),
            garp_master_delay: Some(Duration::from_secs(5)),
            garp_lower_prio_delay: Some(Duration::from_secs(5)),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            track_primary: true,
            config_fault: false,
        }
    }

    /// The advert interval as a duration.
    pub fn advert_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.advert_int) * 10)
    }

    /// Applies keepalived's adjustments of contradictory settings and
    /// says which were made, for the daemon to log:
    /// - `nopreempt` with priority 255: an owner always preempts;
    /// - `nopreempt` or `preempt_delay` with `state MASTER`: the instance
    ///   would take over anyway after its short first wait, so keepalived
    ///   clears them;
    /// - `preempt_delay` with `nopreempt`: meaningless, cleared.
    ///
    /// [`Instance::new`] applies these itself; call this to get the list.
    ///
    /// [`Instance::new`]: super::Instance::new
    pub fn normalized(mut self) -> (Params, Vec<ParamsWarning>) {
        let mut warnings = Vec::new();
        if self.priority == 255 && !self.preempt {
            self.preempt = true;
            warnings.push(ParamsWarning::NopreemptWithOwner);
        }
        if self.initial_state == InitialState::Master {
            if !self.preempt {
                self.preempt = true;
                warnings.push(ParamsWarning::NopreemptWithStateMaster);
            }
            if self.preempt_delay > Duration::ZERO {
                self.preempt_delay = Duration::ZERO;
                warnings.push(ParamsWarning::PreemptDelayWithStateMaster);
            }
        }
        if !self.preempt && self.preempt_delay > Duration::ZERO {
            self.preempt_delay = Duration::ZERO;
            warnings.push(ParamsWarning::PreemptDelayWithNopreempt);
        }
        (self, warnings)
    }

    /// Checks what the state machine relies on.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.vrid == 0 {
            return Err(ParamsError::Vrid);
        }
        if self.priority == 0 {
            return Err(ParamsError::Priority);
        }
        let family = Family::of(&self.primary_addr);
        if self.vips.iter().any(|a| Family::of(a) != family) {
            return Err(ParamsError::MixedFamilies);
        }
        if self.vips.len() > 255 {
            return Err(ParamsError::TooManyVips);
        }
        match self.version {
            Version::V2 => {
                if family == Family::V6 {
                    return Err(ParamsError::V2OverIpv6);
                }
                if self.advert_int == 0 || self.advert_int % 100 != 0 || self.advert_int > 25500 {
                    return Err(ParamsError::AdvertInt(self.advert_int));
                }
            }
            Version::V3 => {
                if self.advert_int == 0 || self.advert_int > super::packet::MAX_ADVER_INT_V3 {
                    return Err(ParamsError::AdvertInt(self.advert_int));
                }
                if self.auth != Auth::None {
                    return Err(ParamsError::V3Auth);
                }
            }
        }
        if let Some(t) = self
            .trackers
            .iter()
            .find(|t| !(-254..=254).contains(&t.weight))
        {
            return Err(ParamsError::Weight(t.name.clone()));
        }
        if let Some(t) = self
            .track_files
            .iter()
            .find(|t| !(-254..=254).contains(&t.weight))
        {
            return Err(ParamsError::Weight(t.name.clone()));
        }
        if let Some(t) = self
            .track_processes
            .iter()
            .find(|t| !(-254..=254).contains(&t.weight))
        {
            return Err(ParamsError::Weight(t.name.clone()));
        }
        Ok(())
    }
}

/// A contradictory setting that [`Params::normalized`] cleared, as
/// keepalived does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParamsWarning {
    #[error("nopreempt is incompatible with priority 255 - cleared")]
    NopreemptWithOwner,
    #[error("nopreempt will not work with initial state MASTER - cleared")]
    NopreemptWithStateMaster,
    #[error("preempt_delay will not work with initial state MASTER - cleared")]
    PreemptDelayWithStateMaster,
    #[error("preempt_delay is incompatible with nopreempt - cleared")]
    PreemptDelayWithNopreempt,
}

/// A [`Params`] the state machine cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("virtual_router_id must be 1..=255")]
    Vrid,
    #[error("priority must be 1..=255")]
    Priority,
    #[error("virtual addresses must be of the primary address's family")]
    MixedFamilies,
    #[error("at most 255 virtual addresses fit in an advert")]
    TooManyVips,
    #[error("VRRP version 2 carries IPv4 only")]
    V2OverIpv6,
    #[error(
        "advert_int {0}cs not allowed for this version (v2: whole seconds 1..=255, v3: 1..=4095cs)"
    )]
    AdvertInt(u16),
    #[error("VRRPv3 has no authentication")]
    V3Auth,
    #[error("tracker {0}: weight must be -254..=254")]
    Weight(String),
}

/// Why [`Instance::reconfigure`](super::Instance::reconfigure) cannot apply new parameters to the
/// running instance: the caller builds a new one instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconfigureError {
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The VRID, the VRRP version or the address family changed: these say
    /// *which* virtual router the instance is, not how it behaves.
    #[error("{0} changed: a different virtual router, rebuilt")]
    Identity(&'static str),
    /// Trackers were added, removed or reordered (only their weights may
    /// change in place: the state of a new tracker is not known here).
    #[error("the tracked objects changed: rebuilt")]
    Trackers,
}
