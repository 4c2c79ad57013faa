//! The model of the VRRP blocks: `vrrp_script`, `vrrp_sync_group`,
//! `vrrp_instance` with its `authentication` and tracked interfaces and
//! scripts (RFC 3768, RFC 5798).
//!
//! Owns: those types and the instance's defaults. May not: depend on the
//! LVS part of the model.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::addresses::{VirtualIpAddress, VirtualRoute};
use super::bfd::TrackBfd;
use super::common::{AddressFamily, NotifyScript, Origin, ScriptUser, VrrpVersion};
use super::global::{GarpExtraIf, GlobalDefs};
use super::rules::IpRule;
use super::track_file::TrackFileEntry;
use super::track_process::TrackProcessEntry;
use super::vmac::Vmac;
use super::{opt_secs, secs};

/// `vrrp_script NAME { ... }`: a command whose exit status is tracked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpScript {
    pub name: String,
    /// `script`: the command line (quotes removed).
    pub script: String,
    /// `interval`, default 1 s.
    #[serde(with = "secs")]
    pub interval: Duration,
    /// `timeout`: a run longer than this counts as a failure; default:
    /// the interval.
    #[serde(with = "secs")]
    pub timeout: Duration,
    /// `weight` (−253..253), default 0: 0 means a failed script puts the
    /// tracking instances in FAULT; otherwise the priority is adjusted.
    pub weight: i32,
    /// `weight N reverse`: adjust in the opposite direction.
    pub weight_reverse: bool,
    /// `rise`: successes needed to count as up, default 1.
    pub rise: u32,
    /// `fall`: failures needed to count as down, default 1.
    pub fall: u32,
    /// `user USER [GROUP]`; `None`: the global `script_user`.
    pub user: Option<ScriptUser>,
    /// `init_fail`: the script starts in the failed state.
    pub init_fail: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// `vrrp_sync_group NAME { group { ... } ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpSyncGroup {
    pub name: String,
    /// Names of the member `vrrp_instance`s (checked to exist).
    pub group: Vec<String>,
    /// `notify_priority_changes [BOOL]`: the members' default (before the
    /// global `vrrp_notify_priority_changes`).
    #[serde(default)]
    pub notify_priority_changes: Option<bool>,
    /// `sync_group_tracking_weight`: the members' own weighted trackers
    /// move their priority (keepalived's default, off, zeroes or drops
    /// them, since the members of a group should keep one priority).
    #[serde(default)]
    pub sync_group_tracking_weight: bool,
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackScript>,
    /// `track_file`: applied to every member.
    pub track_file: Vec<TrackFileEntry>,
    /// `track_bfd`, applied to every member.
    #[serde(default)]
    pub track_bfd: Vec<TrackBfd>,
    /// `track_process`: applied to every member.
    #[serde(default)]
    pub track_process: Vec<TrackProcessEntry>,
    pub notify_master: Option<NotifyScript>,
    pub notify_backup: Option<NotifyScript>,
    pub notify_fault: Option<NotifyScript>,
    pub notify_stop: Option<NotifyScript>,
    pub notify: Option<NotifyScript>,
    /// `smtp_alert`, resolved against the global `smtp_alert(_vrrp)`;
    /// default no.
    pub smtp_alert: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// The state a `vrrp_instance` starts in (`state MASTER|BACKUP`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    /// keepalived's default.
    #[default]
    Backup,
    Master,
}

/// `vrrp_instance NAME { ... }`: one virtual router (RFC 5798 §6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    pub name: String,
    /// `state`, default BACKUP.
    pub state: InitialState,
    /// `interface`: where adverts are sent and VIPs added by default.
    pub interface: String,
    /// `use_vmac` / `use_ipvlan`: the VIPs (and, unless `vmac_xmit_base`,
    /// the adverts) go on an interface of the instance's own, created on
    /// `interface`. `None`: everything is on `interface`.
    pub vmac: Option<Vmac>,
    /// `use_vmac_addr`: a VIP or excluded VIP whose `dev` is another
    /// interface goes on a macvlan of its own created there (the virtual
    /// MAC, or `use_vmac`'s), named from `vmac_addr_prefix`.
    #[serde(default)]
    pub use_vmac_addr: bool,
    /// `virtual_router_id` (VRID), 1–255. Required.
    pub virtual_router_id: u8,
    /// `priority`, 1–255, default 100 (255: address owner).
    pub priority: u8,
    /// `advert_int`, default 1 s; fractional for VRRPv3 (10 ms resolution).
    #[serde(with = "secs")]
    pub advert_int: Duration,
    /// `version`, resolved: the instance's, else the global `vrrp_version`;
    /// IPv6 instances are always version 3.
    pub version: VrrpVersion,
    /// The address family of the instance, from its `virtual_ipaddress`
    /// (all entries share it; IPv4 when the list is empty).
    pub family: AddressFamily,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay`, default 0, up to 1000 s.
    #[serde(with = "secs")]
    pub preempt_delay: Duration,
    /// `authentication { auth_type PASS; auth_pass ... }` (VRRPv2 only,
    /// RFC 2338 §5.3.6). Only the first 8 bytes of the password are used.
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress`: the VIPs advertised and held by the master.
    pub virtual_ipaddress: Vec<VirtualIpAddress>,
    /// `virtual_ipaddress_excluded`: held by the master but not advertised.
    pub virtual_ipaddress_excluded: Vec<VirtualIpAddress>,
    /// `virtual_routes`: routes added on MASTER, removed otherwise.
    pub virtual_routes: Vec<VirtualRoute>,
    /// `virtual_rules`: ip rules added on MASTER (after the routes),
    /// removed otherwise (before them).
    pub virtual_rules: Vec<IpRule>,
    /// `promote_secondaries`: the interface's
    /// `net.ipv4.conf.IF.promote_secondaries` is 1 while the daemon runs,
    /// so removing a VIP that is the primary address of its subnet
    /// promotes the next one instead of removing them all.
    pub promote_secondaries: bool,
    pub track_interface: Vec<TrackInterface>,
    /// `track_script`, each weight resolved (the entry's, else the script's).
    pub track_script: Vec<TrackScript>,
    /// `track_file`, each weight resolved (the entry's, else the file's).
    pub track_file: Vec<TrackFileEntry>,
    /// `track_bfd`, each weight resolved (the entry's, else the
    /// bfd_instance's).
    #[serde(default)]
    pub track_bfd: Vec<TrackBfd>,
    /// `track_process`, each weight resolved (the entry's, else the block's).
    #[serde(default)]
    pub track_process: Vec<TrackProcessEntry>,
    /// `unicast_src_ip` (or `mcast_src_ip`, which keepalived treats the same):
    /// source address of adverts. `None`: the interface's primary address.
    pub unicast_src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`: the multicast group the adverts go to (and the
    /// receive socket joins) instead of the global `vrrp_mcast_group4` /
    /// `vrrp_mcast_group6`.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `unicast_peer { ... }`: when non-empty adverts go to these addresses
    /// by unicast instead of the multicast group.
    pub unicast_peer: Vec<IpAddr>,
    /// `unicast_peer { IP min_ttl N max_ttl N }`: the peers whose adverts
    /// must arrive with a TTL / hop limit in a range (the others have none).
    pub unicast_peer_ttl: Vec<UnicastPeerTtl>,
    /// `unicast_ttl`: TTL / hop limit of the unicast adverts sent
    /// (default 255; only with `unicast_peer`).
    pub unicast_ttl: Option<u8>,
    /// `old_unicast_checksum`: the VRRPv3 IPv4 checksum as keepalived
    /// before 1.3.8 computed it for unicast (the pseudo-header's
    /// destination is `vrrp_mcast_group4`, not the peer).
    /// `old_unicast_checksum never` leaves this false: keepalived then only
    /// stops switching to the old checksum on its own, which tandem never
    /// does.
    #[serde(default)]
    pub old_unicast_checksum: bool,
    /// `lower_prio_no_advert`, default the global
    /// `vrrp_lower_prio_no_advert`: a master does not answer a
    /// lower-priority advert with one of its own (RFC 5798 §6.4.3 only
    /// discards it; keepalived answers by default).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`, default the global
    /// `vrrp_higher_prio_send_advert`: a master hearing a higher-priority
    /// advert sends one more of its own before it steps down.
    pub higher_prio_send_advert: bool,
    /// `dont_track_primary`: the instance's own interface going down does
    /// not put it in FAULT.
    pub dont_track_primary: bool,
    /// `unicast_fault_no_peer`: with no `unicast_peer`, the instance stays
    /// in FAULT (keepalived 2.2.7's config fault) instead of running by
    /// multicast; with peers it changes nothing.
    pub unicast_fault_no_peer: bool,
    pub notify_master: Option<NotifyScript>,
    pub notify_backup: Option<NotifyScript>,
    pub notify_fault: Option<NotifyScript>,
    pub notify_stop: Option<NotifyScript>,
    pub notify: Option<NotifyScript>,
    /// `notify_master_rx_lower_pri SCRIPT [USER [GROUP]]`: run (with no
    /// added arguments) each time this instance, as master, hears an
    /// advert of lower priority (keepalived's `send_event_notify`).
    #[serde(default)]
    pub notify_master_rx_lower_pri: Option<NotifyScript>,
    /// `notify_deleted [SCRIPT [USER [GROUP]]]`: when a reload removes
    /// this instance, its notifies say DELETED instead of keepalived's
    /// default FAULT, and SCRIPT (if given) runs as written.
    #[serde(default)]
    pub notify_deleted: Option<NotifyDeleted>,
    /// `notify_priority_changes [BOOL]`, if given: a FIFO line each time a
    /// tracker moves the effective priority (else the sync group's, else
    /// the global `vrrp_notify_priority_changes`).
    #[serde(default)]
    pub notify_priority_changes: Option<bool>,
    /// `smtp_alert`, resolved against the global `smtp_alert(_vrrp)`;
    /// default no.
    pub smtp_alert: bool,
    /// Accept mode (RFC 5798 §6.1): `accept` / `no_accept`, resolved as
    /// keepalived does: given, else on for the address owner (priority
    /// 255), else off in strict mode and on otherwise. Off: while MASTER,
    /// traffic to the VIPs is dropped (nftables) except ARP and neighbour
    /// discovery; the owner (255) is never filtered.
    pub accept: bool,
    /// `strict_mode [BOOL]`, else the global `vrrp_strict`: RFC
    /// compliance (docs/config.md, "vrrp_strict").
    #[serde(default)]
    pub strict_mode: bool,
    /// `skip_check_adv_addr`, default the global `vrrp_skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `garp_master_delay`, default the global `vrrp_garp_master_delay`.
    #[serde(with = "secs")]
    pub garp_master_delay: Duration,
    /// `garp_master_repeat`, default the global value.
    pub garp_master_repeat: u32,
    /// `garp_lower_prio_delay`, default the global value.
    #[serde(with = "secs")]
    pub garp_lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`, default the global value.
    pub garp_lower_prio_repeat: u32,
    /// `garp_master_refresh`, default the global value (`None`: no refresh).
    #[serde(with = "opt_secs")]
    pub garp_master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`, default the global value.
    pub garp_master_refresh_repeat: u32,
    /// `garp_extra_if` (deprecated spelling `vmac_garp_intvl`), default
    /// the global `vrrp_garp_extra_if`; `None`: off.
    pub garp_extra_if: Option<GarpExtraIf>,
    /// The global `vrrp_garp_interval`.
    #[serde(with = "secs")]
    pub garp_interval: Duration,
    /// The global `vrrp_gna_interval`.
    #[serde(with = "secs")]
    pub gna_interval: Duration,
    /// `kernel_rx_buf_size N`: this instance's share of its receive
    /// socket's SO_RCVBUF, in place of `vrrp_rx_bufs_policy`'s (0: unset).
    #[serde(default)]
    pub kernel_rx_buf_size: Option<u32>,
    #[serde(skip)]
    pub origin: Origin,
}

impl Default for VrrpInstance {
    /// keepalived's defaults; `interface` empty and `virtual_router_id` 0
    /// stand for "not given" (both are required in a configuration).
    fn default() -> Self {
        let g = GlobalDefs::default();
        VrrpInstance {
            name: String::new(),
            state: InitialState::Backup,
            interface: String::new(),
            vmac: None,
            use_vmac_addr: false,
            virtual_router_id: 0,
            priority: 100,
            advert_int: Duration::from_secs(1),
            version: g.vrrp_version,
            family: AddressFamily::Inet,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            promote_secondaries: false,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_bfd: Vec::new(),
            track_process: Vec::new(),
            unicast_src_ip: None,
            mcast_dst_ip: None,
            unicast_peer: Vec::new(),
            unicast_peer_ttl: Vec::new(),
            unicast_ttl: None,
            old_unicast_checksum: false,
            lower_prio_no_advert: g.vrrp_lower_prio_no_advert,
            higher_prio_send_advert: g.vrrp_higher_prio_send_advert,
            dont_track_primary: false,
            unicast_fault_no_peer: false,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            notify_master_rx_lower_pri: None,
            notify_deleted: None,
            notify_priority_changes: None,
            smtp_alert: false,
            accept: true,
            strict_mode: false,
            skip_check_adv_addr: g.vrrp_skip_check_adv_addr,
            garp_master_delay: g.vrrp_garp_master_delay,
            garp_master_repeat: g.vrrp_garp_master_repeat,
            garp_lower_prio_delay: g.vrrp_garp_lower_prio_delay,
            garp_lower_prio_repeat: g.vrrp_garp_lower_prio_repeat,
            garp_master_refresh: g.vrrp_garp_master_refresh,
            garp_master_refresh_repeat: g.vrrp_garp_master_refresh_repeat,
            garp_extra_if: g.vrrp_garp_extra_if,
            garp_interval: g.vrrp_garp_interval,
            gna_interval: g.vrrp_gna_interval,
            kernel_rx_buf_size: None,
            origin: Origin::default(),
        }
    }
}

/// `authentication { auth_type PASS|AH  auth_pass SECRET }`.
/// `notify_deleted`, given: DELETED instead of FAULT when a reload removes
/// the instance (keepalived's `vrrp_notify_deleted_handler`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyDeleted {
    /// The script to run (as written, no arguments added), if any.
    pub script: Option<NotifyScript>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// The password, at most 8 bytes (longer ones are cut with a warning,
    /// as keepalived does).
    pub auth_pass: String,
}

/// `auth_type`: the password in the advert (`PASS`), or keepalived's
/// IPsec AH with an HMAC-MD5-96 keyed by it (`AH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "AH")]
    Ah,
}

/// A `unicast_peer` entry with `min_ttl` / `max_ttl` (keepalived's
/// defaults 0 and 255 for the one not given): adverts from `addr` whose
/// TTL / hop limit is outside the range are counted and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicastPeerTtl {
    pub addr: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

/// A `track_interface` entry: `IFNAME [weight W [reverse]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInterface {
    pub name: String,
    /// −253..253; 0 (the default) means the instance goes to FAULT when the
    /// interface is down.
    pub weight: i32,
    pub reverse: bool,
}

/// A `track_script` entry: `SCRIPT [weight W [reverse|noreverse]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackScript {
    /// Name of a `vrrp_script` (checked to exist).
    pub name: String,
    /// Resolved: the entry's weight, else the script's.
    pub weight: i32,
    /// Resolved: the entry's `reverse`, else the script's.
    pub reverse: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// A top-level `garp_group`: one minimum gap between the gratuitous ARPs
/// (`garp_interval`) and between the unsolicited NAs (`gna_interval`) sent
/// on all its interfaces together, across instances (keepalived's
/// `garp_delay`; at least one interval is set, or the builder drops it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpGroup {
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    /// `interface IF` and `interfaces { IF ... }`, in file order.
    pub interfaces: Vec<String>,
    #[serde(skip)]
    pub origin: Origin,
}
