//! The typed configuration model: what a keepalived.conf *means* once parsed.
//!
//! Every value here is final. keepalived's defaults are filled in and its
//! inheritance is resolved (global_defs → vrrp_instance for GARP timers,
//! SMTP alerts and the VRRP version; virtual_server → real_server → checker
//! for `delay_loop`, `connect_timeout`, `retry`, `delay_before_retry`,
//! `warmup`, `inhibit_on_failure`, `alpha` and `virtualhost`), so a consumer
//! (the VRRP daemon, the IPVS reconciler, the health checkers, the mailer)
//! reads one field and never re-implements a default.
//!
//! The types do no I/O. Host-dependent defaults that need I/O (the host
//! name used for `router_id`, `smtp_helo_name` and `notification_email_from`)
//! are left as `None`, documented on the field, for the daemon to fill in.
//!
//! Units: every duration is a [`Duration`]; in JSON it is written as a
//! number of seconds (fractional where needed, e.g. `0.1`).
//!
//! Each named item carries an [`Origin`] (file, line and column of its
//! keyword) so that the daemon can say where something it reports on was
//! configured; it is not part of the JSON output.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where in the operator's files an item was written (its keyword).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: Arc<Path>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            file: Arc::from(PathBuf::new().as_path()),
            line: 0,
            col: 0,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// A whole configuration, in the order the items were written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    pub vrrp_instances: Vec<VrrpInstance>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
}

impl Config {
    /// The `vrrp_script` called `name`.
    pub fn vrrp_script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }
    /// The `vrrp_instance` called `name`.
    pub fn vrrp_instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|s| s.name == name)
    }
    /// The `vrrp_sync_group` called `name`.
    pub fn vrrp_sync_group(&self, name: &str) -> Option<&VrrpSyncGroup> {
        self.vrrp_sync_groups.iter().find(|s| s.name == name)
    }
    /// The sync group that lists instance `name`, if any.
    pub fn sync_group_of(&self, instance: &str) -> Option<&VrrpSyncGroup> {
        self.vrrp_sync_groups
            .iter()
            .find(|g| g.group.iter().any(|m| m == instance))
    }
    /// The `virtual_server_group` called `name`.
    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|s| s.name == name)
    }
}

// ---------------------------------------------------------------------------
// global_defs

/// `global_defs { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {
    /// Recipients of e-mail alerts (`notification_email { ... }`).
    pub notification_email: Vec<String>,
    /// Sender address. `None`: keepalived uses `keepalived@<host name>`.
    pub notification_email_from: Option<String>,
    /// `smtp_server IP [PORT]`; `None` means no e-mail is sent.
    pub smtp_server: Option<SmtpServer>,
    /// Name given in HELO/EHLO. `None`: the local host name.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout`, default 30 s.
    #[serde(with = "secs")]
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert` (default for both VRRP and checker alerts), if given.
    /// Already applied to the instances, sync groups, virtual and real servers.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`, if given (already applied to instances and groups).
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`, if given (already applied to virtual/real servers).
    pub smtp_alert_checker: Option<bool>,
    /// `router_id`. `None`: the local host name.
    pub router_id: Option<String>,
    /// `vrrp_mcast_group4`, default 224.0.0.18 (RFC 5798 §5.1.1.2).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6`, default ff02::12 (RFC 5798 §5.1.2.2).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `vrrp_version`, default 2 (IPv6 instances always use 3).
    pub vrrp_version: VrrpVersion,
    /// `vrrp_garp_master_delay`: delay of the second GARP burst after
    /// becoming master; default 5 s, zero means no second burst.
    #[serde(with = "secs")]
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat`: GARPs per burst, default 5.
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_lower_prio_delay`, default `vrrp_garp_master_delay`.
    #[serde(with = "secs")]
    pub vrrp_garp_lower_prio_delay: Duration,
    /// `vrrp_garp_lower_prio_repeat`, default `vrrp_garp_master_repeat`.
    pub vrrp_garp_lower_prio_repeat: u32,
    /// `vrrp_garp_master_refresh`: periodic GARP while master; `None` (or 0
    /// in the file) means no refresh, the default.
    #[serde(with = "opt_secs")]
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat`, default 1.
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_interval`: gap between two GARPs on one interface, default 0.
    #[serde(with = "secs")]
    pub vrrp_garp_interval: Duration,
    /// `vrrp_gna_interval`: gap between two unsolicited NAs, default 0.
    #[serde(with = "secs")]
    pub vrrp_gna_interval: Duration,
    /// `vrrp_skip_check_adv_addr` (default for every instance's
    /// `skip_check_adv_addr`).
    pub vrrp_skip_check_adv_addr: bool,
    /// `script_user USER [GROUP]`: who runs scripts that name no user.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`: refuse root scripts writable by others.
    pub enable_script_security: bool,
    /// `lvs_flush`: flush the whole IPVS table at start-up.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop [VS]`.
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `no_email_faults`: no mail when an instance or group enters FAULT.
    pub no_email_faults: bool,
    /// `no_checker_emails [BOOL]`: mail when a real server changes state,
    /// not also when one of its several checkers changes its verdict.
    pub no_checker_emails: bool,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            router_id: None,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_version: VrrpVersion::V2,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_lower_prio_delay: Duration::from_secs(5),
            vrrp_garp_lower_prio_repeat: 5,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_skip_check_adv_addr: false,
            script_user: None,
            enable_script_security: false,
            lvs_flush: false,
            lvs_flush_on_stop: LvsFlushOnStop::No,
            no_email_faults: false,
            no_checker_emails: false,
        }
    }
}

/// `smtp_server IP [PORT]` (port default 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpServer {
    pub address: IpAddr,
    pub port: u16,
}

/// What `lvs_flush_on_stop` removes when the daemon stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LvsFlushOnStop {
    /// Not given: leave the IPVS table as it is (keepalived removes only
    /// what it added, as it goes).
    #[default]
    No,
    /// `lvs_flush_on_stop`: flush the whole table.
    All,
    /// `lvs_flush_on_stop VS`: remove each managed virtual server (the kernel
    /// drops its real servers with it).
    Vs,
}

/// `user USERNAME [GROUPNAME]` of a script (group default: the user's group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
    /// Where the user was named, for "no such user" errors.
    #[serde(skip)]
    pub origin: Origin,
}

/// A notify script: `notify_master "/path/cmd arg" [username [groupname]]`.
///
/// `command` is the command line exactly as written (quotes removed); it is
/// run without a shell, split on unquoted white space like keepalived does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyScript {
    pub command: String,
    /// `None`: the global `script_user` (or keepalived's default).
    pub user: Option<ScriptUser>,
    /// Where the script was configured (its keyword), for errors about it
    /// (`enable_script_security`, an unknown user).
    #[serde(skip)]
    pub origin: Origin,
}

// ---------------------------------------------------------------------------
// VRRP

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VrrpVersion {
    /// RFC 3768 (IPv4 only, `advert_int` in whole seconds 1–255).
    #[default]
    #[serde(rename = "2")]
    V2,
    /// RFC 5798 (IPv4 and IPv6, `advert_int` in centiseconds, 0.01–40.95 s).
    #[serde(rename = "3")]
    V3,
}

impl VrrpVersion {
    /// The version number on the wire.
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// An address family, as the kernel names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressFamily {
    #[default]
    Inet,
    Inet6,
}

impl AddressFamily {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressFamily::Inet => "IPv4",
            AddressFamily::Inet6 => "IPv6",
        })
    }
}

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
    pub track_interface: Vec<TrackInterface>,
    pub track_script: Vec<TrackScript>,
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
    pub track_interface: Vec<TrackInterface>,
    /// `track_script`, each weight resolved (the entry's, else the script's).
    pub track_script: Vec<TrackScript>,
    /// `unicast_src_ip` (or `mcast_src_ip`, which keepalived treats the same):
    /// source address of adverts. `None`: the interface's primary address.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer { ... }`: when non-empty adverts go to these addresses
    /// by unicast instead of the multicast group.
    pub unicast_peer: Vec<IpAddr>,
    pub notify_master: Option<NotifyScript>,
    pub notify_backup: Option<NotifyScript>,
    pub notify_fault: Option<NotifyScript>,
    pub notify_stop: Option<NotifyScript>,
    pub notify: Option<NotifyScript>,
    /// `smtp_alert`, resolved against the global `smtp_alert(_vrrp)`;
    /// default no.
    pub smtp_alert: bool,
    /// `accept` (the default) — `no_accept` is not supported yet.
    pub accept: bool,
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
    /// The global `vrrp_garp_interval`.
    #[serde(with = "secs")]
    pub garp_interval: Duration,
    /// The global `vrrp_gna_interval`.
    #[serde(with = "secs")]
    pub gna_interval: Duration,
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
            track_interface: Vec::new(),
            track_script: Vec::new(),
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            smtp_alert: false,
            accept: true,
            skip_check_adv_addr: g.vrrp_skip_check_adv_addr,
            garp_master_delay: g.vrrp_garp_master_delay,
            garp_master_repeat: g.vrrp_garp_master_repeat,
            garp_lower_prio_delay: g.vrrp_garp_lower_prio_delay,
            garp_lower_prio_repeat: g.vrrp_garp_lower_prio_repeat,
            garp_master_refresh: g.vrrp_garp_master_refresh,
            garp_master_refresh_repeat: g.vrrp_garp_master_refresh_repeat,
            garp_interval: g.vrrp_garp_interval,
            gna_interval: g.vrrp_gna_interval,
            origin: Origin::default(),
        }
    }
}

/// `authentication { auth_type PASS  auth_pass SECRET }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// The password, at most 8 bytes (longer ones are cut with a warning,
    /// as keepalived does).
    pub auth_pass: String,
}

/// An address with a prefix length, e.g. `192.0.2.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpPrefix {
    pub address: IpAddr,
    pub prefix_len: u8,
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// The `scope` of an address or route (`ip address add ... scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

impl Scope {
    /// The `RT_SCOPE_*` value from rtnetlink.h.
    pub fn rt_scope(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
        }
    }
}

/// One `virtual_ipaddress` line:
/// `IP[/LEN] [brd IP] [dev IF] [scope S] [label L] [peer IP] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualIpAddress {
    pub address: IpAddr,
    /// Default /32 for IPv4, /128 for IPv6.
    pub prefix_len: u8,
    pub brd: Option<IpAddr>,
    /// `dev`; `None`: the instance's `interface`.
    pub dev: Option<String>,
    /// `scope`; `None`: global.
    pub scope: Option<Scope>,
    pub label: Option<String>,
    pub peer: Option<IpAddr>,
    /// `no_track`: losing this address does not take the instance out of
    /// MASTER.
    pub no_track: bool,
}

/// The kind of a `virtual_routes` entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteType {
    #[default]
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

/// One `virtual_routes` line:
/// `[src IP] [to] DEST [via|gw IP] [dev IF] [scope S] [table N] [metric N]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualRoute {
    pub route_type: RouteType,
    pub destination: IpPrefix,
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub scope: Option<Scope>,
    /// Routing table; `None`: main.
    pub table: Option<u32>,
    pub metric: Option<u32>,
    pub no_track: bool,
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

// ---------------------------------------------------------------------------
// LVS

/// The IPVS scheduler (`lvs_sched`, formerly `lb_algo`); names as ipvsadm's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LvsSched {
    Rr,
    Wrr,
    Lc,
    /// keepalived's (and ipvsadm's) default.
    #[default]
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
}

impl LvsSched {
    /// Every scheduler, for parsing and suggestions.
    pub const ALL: [LvsSched; 14] = [
        LvsSched::Rr,
        LvsSched::Wrr,
        LvsSched::Lc,
        LvsSched::Wlc,
        LvsSched::Lblc,
        LvsSched::Lblcr,
        LvsSched::Dh,
        LvsSched::Sh,
        LvsSched::Sed,
        LvsSched::Nq,
        LvsSched::Fo,
        LvsSched::Ovf,
        LvsSched::Mh,
        LvsSched::Twos,
    ];

    /// The name the kernel knows the scheduler module by (`ip_vs_<name>`).
    pub fn name(self) -> &'static str {
        match self {
            LvsSched::Rr => "rr",
            LvsSched::Wrr => "wrr",
            LvsSched::Lc => "lc",
            LvsSched::Wlc => "wlc",
            LvsSched::Lblc => "lblc",
            LvsSched::Lblcr => "lblcr",
            LvsSched::Dh => "dh",
            LvsSched::Sh => "sh",
            LvsSched::Sed => "sed",
            LvsSched::Nq => "nq",
            LvsSched::Fo => "fo",
            LvsSched::Ovf => "ovf",
            LvsSched::Mh => "mh",
            LvsSched::Twos => "twos",
        }
    }
}

/// The forwarding method (`lvs_method`, formerly `lb_kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LvsMethod {
    /// Masquerading (`IP_VS_CONN_F_MASQ`), keepalived's default.
    #[default]
    Nat,
    /// Direct routing (`IP_VS_CONN_F_DROUTE`).
    Dr,
    /// IP-in-IP tunnelling (`IP_VS_CONN_F_TUNNEL`, type ipip).
    Tun,
}

/// The encapsulation of `lvs_method TUN [type ipip|gue port N|gre]
/// [nocsum|csum|remcsum]` (ip_vs.h `IPVS_DEST_ATTR_TUN_TYPE`,
/// `_TUN_PORT`, `_TUN_FLAGS`). Only meaningful with [`LvsMethod::Tun`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    pub tunnel_type: TunnelType,
    /// The GUE destination port (0 for the other types).
    pub port: u16,
    pub checksum: TunnelChecksum,
}

/// `IP_VS_CONN_F_TUNNEL_TYPE_*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    /// IP-in-IP, the default.
    #[default]
    Ipip,
    /// Generic UDP Encapsulation (Linux 5.2+), needs a port.
    Gue,
    /// GRE (Linux 5.3+).
    Gre,
}

/// `IP_VS_TUNNEL_ENCAP_FLAG_*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelChecksum {
    /// `nocsum`, the default.
    #[default]
    Nocsum,
    /// `csum` (GUE, GRE).
    Csum,
    /// `remcsum`: remote checksum offload (GUE only).
    Remcsum,
}

/// Scheduler flags (ip_vs.h `IP_VS_SVC_F_SCHED1..3`): `flag-1`..`flag-3`,
/// or by their meaning for sh/mh: `sh-fallback`/`mh-fallback` (flag 1),
/// `sh-port`/`mh-port` (flag 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchedFlags {
    pub flag_1: bool,
    pub flag_2: bool,
    pub flag_3: bool,
}

/// The layer-4 protocol of a virtual server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The name as written in keepalived.conf (`TCP`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// The IP protocol number (`IPPROTO_*`).
    pub fn ip_proto(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
}

/// `virtual_server_group NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub entries: Vec<VsgEntry>,
    #[serde(skip)]
    pub origin: Origin,
}

/// One line of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VsgEntry {
    /// `IP [PORT]`, `IP-LAST [PORT]`, `IP-IP [PORT]` or `IP/LEN [PORT]`: the
    /// addresses `first..=last` (equal for a single address). Port 0 when
    /// not given (only valid for persistent services).
    Range {
        first: IpAddr,
        last: IpAddr,
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        fwmark: u32,
        family: Option<AddressFamily>,
    },
}

impl VsgEntry {
    /// The addresses of a range entry, `first..=last` in order (none for a
    /// fwmark entry). Each is one IPVS service of the group.
    pub fn addresses(&self) -> Box<dyn Iterator<Item = IpAddr> + '_> {
        match self {
            VsgEntry::Range {
                first: IpAddr::V4(a),
                last: IpAddr::V4(b),
                ..
            } => Box::new((u32::from(*a)..=u32::from(*b)).map(|v| IpAddr::V4(v.into()))),
            VsgEntry::Range {
                first: IpAddr::V6(a),
                last: IpAddr::V6(b),
                ..
            } => Box::new((u128::from(*a)..=u128::from(*b)).map(|v| IpAddr::V6(v.into()))),
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// What a `virtual_server` line names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VirtualServerKey {
    /// `virtual_server IP [PORT]` (port 0 when omitted: persistent services).
    Address { address: IpAddr, port: u16 },
    /// `virtual_server fwmark N`.
    Fwmark { fwmark: u32 },
    /// `virtual_server group NAME` (checked to exist).
    Group { name: String },
}

impl fmt::Display for VirtualServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VirtualServerKey::Address {
                address: IpAddr::V6(a),
                port,
            } => write!(f, "[{a}]:{port}"),
            VirtualServerKey::Address { address, port } => write!(f, "{address}:{port}"),
            VirtualServerKey::Fwmark { fwmark } => write!(f, "fwmark {fwmark}"),
            VirtualServerKey::Group { name } => write!(f, "group {name}"),
        }
    }
}

/// `virtual_server ... { ... }`: one IPVS service with its real servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServer {
    pub key: VirtualServerKey,
    /// `protocol`; keepalived's default is UDP (with a warning). Not used
    /// for a fwmark service.
    pub protocol: Protocol,
    /// `lvs_sched` / `lb_algo`, default wlc.
    pub lvs_sched: LvsSched,
    /// `lvs_method` / `lb_kind`, default NAT (inherited by real servers).
    pub lvs_method: LvsMethod,
    /// The tunnel options of `lvs_method TUN ...` (inherited with it).
    pub tunnel: Tunnel,
    /// `flag-1`..`flag-3`, `sh-port`, `sh-fallback`, `mh-port`,
    /// `mh-fallback`.
    pub sched_flags: SchedFlags,
    /// `persistence_timeout [N]`: `None` = not persistent; the keyword
    /// without a value means 360 s.
    #[serde(with = "opt_secs")]
    pub persistence_timeout: Option<Duration>,
    /// `persistence_granularity NETMASK` as a prefix length
    /// (255.255.255.0 → 24).
    pub persistence_granularity: Option<u8>,
    /// `ip_family inet|inet6` for fwmark services; resolved: given, else
    /// from the address / real servers, else IPv4.
    pub family: AddressFamily,
    /// `delay_loop`, default 60 s (already applied to the checkers).
    #[serde(with = "secs")]
    pub delay_loop: Duration,
    /// `quorum`: minimum total weight of live real servers, default 1.
    pub quorum: u32,
    /// `hysteresis`, default 0.
    pub hysteresis: u32,
    pub quorum_up: Option<NotifyScript>,
    pub quorum_down: Option<NotifyScript>,
    /// `alpha`: real servers start down until a check passes (applied to
    /// the real servers and checkers).
    pub alpha: bool,
    /// `omega`: run quorum_down / notify_down on shutdown.
    pub omega: bool,
    /// `inhibit_on_failure` (applied to the real servers).
    pub inhibit_on_failure: bool,
    /// `sorry_server IP [PORT]`.
    pub sorry_server: Option<SorryServer>,
    /// `sorry_server_inhibit`.
    pub sorry_server_inhibit: bool,
    /// `virtualhost` (applied to the HTTP/SSL URLs that set none).
    pub virtualhost: Option<String>,
    /// `ops`: one-packet scheduling (UDP).
    pub ops: bool,
    /// `smtp_alert`, resolved against the global `smtp_alert(_checker)`;
    /// default no.
    pub smtp_alert: bool,
    pub real_servers: Vec<RealServer>,
    #[serde(skip)]
    pub origin: Origin,
}

/// `sorry_server IP [PORT]`: used when the quorum is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    pub address: IpAddr,
    /// Default: the virtual server's port (0 for fwmark services).
    pub port: u16,
    /// `sorry_server_lvs_method`, default the virtual server's method.
    pub lvs_method: LvsMethod,
    /// Tunnel options, with the method.
    pub tunnel: Tunnel,
}

/// `real_server IP [PORT] { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServer {
    pub address: IpAddr,
    /// Default: the virtual server's port (0 for fwmark services).
    pub port: u16,
    /// `weight`, default 1.
    pub weight: u32,
    /// `lvs_method`, default the virtual server's.
    pub lvs_method: LvsMethod,
    /// Tunnel options, with the method (the real server's own when it sets
    /// `lvs_method`, else the virtual server's).
    pub tunnel: Tunnel,
    /// Resolved: the real server's, else the virtual server's. Failure sets
    /// the weight to 0 instead of removing the real server.
    pub inhibit_on_failure: bool,
    pub notify_up: Option<Box<NotifyScript>>,
    pub notify_down: Option<Box<NotifyScript>>,
    /// `uthreshold`: upper connection threshold (0 = none).
    pub uthreshold: Option<u32>,
    /// `lthreshold`: lower connection threshold.
    pub lthreshold: Option<u32>,
    /// Resolved: the real server's, else global `smtp_alert(_checker)`, else
    /// yes (keepalived's default for real servers).
    pub smtp_alert: bool,
    /// Resolved `alpha` (real server's, else the virtual server's).
    pub alpha: bool,
    /// The health checks. With none, the real server is always up.
    pub checkers: Vec<Checker>,
    #[serde(skip)]
    pub origin: Origin,
}

/// A health check of a real server, with its connection options resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checker {
    #[serde(flatten)]
    pub kind: CheckerKind,
    /// `connect_ip`, default the real server's address.
    pub connect_ip: IpAddr,
    /// `connect_port`, default the real server's port.
    pub connect_port: u16,
    /// `bindto`: source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: needed when `bindto` is IPv6 link-local.
    pub bind_if: Option<String>,
    /// `fwmark` set on the checker's packets.
    pub fwmark: Option<u32>,
    /// `connect_timeout`, default 5 s (checker ← real ← virtual server).
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// `retry` (formerly `nb_get_retry`): extra attempts before a server
    /// that was up is declared down. Default 1, 0 for MISC_CHECK.
    pub retry: u32,
    /// `delay_before_retry`: default 3 s for HTTP_GET/SSL_GET, 1 s otherwise.
    #[serde(with = "secs")]
    pub delay_before_retry: Duration,
    /// `warmup`: maximum random delay before the first check; default the
    /// `delay_loop`, zero disables it.
    #[serde(with = "secs")]
    pub warmup: Duration,
    /// `delay_loop`: interval between checks, default 60 s.
    #[serde(with = "secs")]
    pub delay_loop: Duration,
    /// `alpha`: start in the failed state.
    pub alpha: bool,
    /// `log_all_failures`.
    pub log_all_failures: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// The kind of check and its own options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CheckerKind {
    #[serde(rename = "HTTP_GET")]
    HttpGet(HttpGet),
    /// Like HTTP_GET over TLS.
    #[serde(rename = "SSL_GET")]
    SslGet(HttpGet),
    /// A TCP connect.
    #[serde(rename = "TCP_CHECK")]
    TcpCheck,
    #[serde(rename = "MISC_CHECK")]
    MiscCheck(MiscCheck),
}

impl CheckerKind {
    /// The keyword that introduces the checker.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::HttpGet(_) => "HTTP_GET",
            CheckerKind::SslGet(_) => "SSL_GET",
            CheckerKind::TcpCheck => "TCP_CHECK",
            CheckerKind::MiscCheck(_) => "MISC_CHECK",
        }
    }
}

/// Options of `HTTP_GET` and `SSL_GET`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpGet {
    /// The URLs; each must pass for the check to pass.
    pub url: Vec<Url>,
    /// `http_protocol`, default 1.0.
    pub http_protocol: HttpProtocol,
    /// `fast_recovery`.
    pub fast_recovery: bool,
    /// `enable_sni` (SSL_GET): send the virtualhost as TLS SNI.
    pub enable_sni: bool,
}

/// An `url { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    /// `path`, e.g. `/` or `/status?full`.
    pub path: String,
    /// `digest`: MD5 of the body (from genhash).
    pub digest: Option<Md5Digest>,
    /// `status_code`: accepted statuses; default 200–299.
    pub status_code: Vec<StatusRange>,
    /// Resolved: the url's `virtualhost`, else the checker's, real
    /// server's or virtual server's. `None`: the Host header is the
    /// connect address.
    pub virtualhost: Option<String>,
}

/// An inclusive range of HTTP status codes (`200`, `200-299`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRange {
    pub first: u16,
    pub last: u16,
}

impl StatusRange {
    /// Whether `status` is in the range.
    pub fn contains(&self, status: u16) -> bool {
        (self.first..=self.last).contains(&status)
    }
}

/// An MD5 digest, written as 32 hex digits in the file and in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Md5Digest(pub [u8; 16]);

impl Md5Digest {
    /// Parse 32 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Md5Digest(out))
    }
}

impl fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Md5Digest({self})")
    }
}

impl Serialize for Md5Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Md5Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Md5Digest::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 32 hex digits"))
    }
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpProtocol {
    /// HTTP/1.0 (the default).
    #[default]
    #[serde(rename = "1.0")]
    Http10,
    /// HTTP/1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10Close,
    /// HTTP/1.1 (which sends `Connection: close`).
    #[serde(rename = "1.1")]
    Http11,
}

/// Options of `MISC_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiscCheck {
    /// `misc_path`: the command line (quotes removed).
    pub misc_path: String,
    /// `misc_timeout`: the script is killed and failed after this; default
    /// the checker's `delay_loop`.
    #[serde(with = "secs")]
    pub misc_timeout: Duration,
    /// `misc_dynamic`: exit status 2–255 sets the weight to status − 2.
    pub misc_dynamic: bool,
    /// `user USER [GROUP]`; `None`: the global `script_user`.
    pub user: Option<ScriptUser>,
}

// ---------------------------------------------------------------------------
// serde helpers: durations as (fractional) seconds.

pub(crate) mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.subsec_nanos() == 0 {
            s.serialize_u64(d.as_secs())
        } else {
            s.serialize_f64(d.as_secs_f64())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

pub(crate) mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::secs::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<f64>::deserialize(d)? {
            Some(v) => Duration::try_from_secs_f64(v)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}
