//! Which kernel connection-sync daemons must run, and how to get there.
//!
//! keepalived's `lvs_sync_daemon IFNAME [inst INSTANCE] [id N] [maxlen N]
//! [port N] [ttl N] [group ADDR]` asks the kernel (`ip_vs_sync.c`) to
//! multicast its connection table from the master balancer to the backup,
//! so that an established connection finds its entry on the node that
//! takes over. This module is the decision, without any I/O: given the
//! settings and the VRRP role of the named instance it says which daemons
//! must run ([`desired`]), and given what the kernel reports running
//! (`IPVS_CMD_GET_DAEMON`) the start/stop operations that get there
//! ([`plan`]), for a transition, a reload that changes the settings, and
//! the daemon's exit ([`shutdown`]). [`catch_up`] tells from the sync
//! sysctls how long a returning backup needs before it has heard of every
//! connection the master holds. The reasons and the measurements behind
//! them are in `docs/ipvs.md`, "Connection synchronisation"; the task
//! that carries them out is `daemon::sync`.
//!
//! keepalived's behaviour, read in its source (`global_parser.c`
//! `lvs_syncd_handler`, `vrrp.c` `vrrp_state_become_master` /
//! `vrrp_state_leave_master`, `check_daemon.c`, `ipvswrapper.c`
//! `ipvs_syncd_master/backup`), and where tandem differs:
//!
//! - with an instance: syncid defaults to its `virtual_router_id`; the
//!   MASTER runs the master daemon, the others the backup daemon. keepalived
//!   starts the backup daemon only when an instance *leaves* MASTER, so a
//!   node that starts as BACKUP receives nothing until it was master once;
//!   tandem runs the backup daemon in every state but MASTER (INIT and
//!   FAULT included), from the start.
//! - without an instance: syncid 0 (which the backup kernel takes as "accept
//!   every syncid", `ip_vs_process_message`), and both daemons for the
//!   whole life of the process.
//! - port, ttl, group and maxlen are sent only when configured; the kernel
//!   then uses 8848, 1, 224.0.0.81 and a length derived from the MTU
//!   (`start_sync_thread`). There is no IPv6 default group: ff02::12 is
//!   VRRP's group (RFC 5798 section 5.1.2.2), not the sync daemon's, and
//!   an IPv6 sync needs `group` configured.
//! - keepalived stops one daemon and then starts the other; tandem starts
//!   the new one first (the kernel runs both at once, as it does without an
//!   instance), so a failing start leaves the old daemon running rather
//!   than none.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::types::{DaemonState, SyncDaemon};

/// `IP_VS_SYNC_PORT` (`ip_vs_sync.c`): the port when none is configured.
pub const DEFAULT_PORT: u16 = 8848;
/// `IP_VS_SYNC_GROUP` (`ip_vs_sync.c`, 0xe0000051): the group when none is
/// configured, whatever the family of the sync interface's addresses.
pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
/// `start_sync_thread`: `if (!c->mcast_ttl) c->mcast_ttl = 1`.
pub const DEFAULT_TTL: u8 = 1;
/// The kernel's interface name limit (`IP_VS_IFNAME_MAXLEN`, 16 with the
/// NUL): a longer name is cut by `strscpy` in `ip_vs_genl_new_daemon` and
/// then names another interface or none.
pub const IFNAME_MAX: usize = 15;
/// keepalived's upper bound for `maxlen`: 65535 less the IPv4 and UDP
/// headers.
pub const MAXLEN_MAX: u16 = 65535 - 20 - 8;

/// The `lvs_sync_daemon` line of `global_defs`. `None` is "not configured":
/// the default applies (see [`SyncSettings::daemon`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// The interface the sync messages go out of and come in on.
    pub ifname: String,
    /// The VRRP instance whose role decides master or backup; `None`: both
    /// daemons always.
    pub instance: Option<String>,
    /// `id`, 0-255: an 8-bit field of the sync message header.
    pub syncid: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    /// A multicast group, IPv4 or IPv6.
    pub group: Option<IpAddr>,
}

/// Settings the kernel would refuse or misread; checked before anything is
/// planned, so that a reload with such settings changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("lvs_sync_daemon needs an interface name")]
    NoInterface,
    #[error("lvs_sync_daemon interface name {0:?} is longer than {IFNAME_MAX} bytes")]
    InterfaceTooLong(String),
    #[error("lvs_sync_daemon group {0} is not a multicast address")]
    NotMulticast(IpAddr),
    #[error("lvs_sync_daemon {0} 0 is not allowed (1 or more)")]
    Zero(&'static str),
    #[error("lvs_sync_daemon maxlen {0} is over {MAXLEN_MAX}")]
    MaxlenTooLarge(u16),
    #[error("lvs_sync_daemon names VRRP instance {0:?}, which the configuration does not have")]
    UnknownInstance(String),
}

/// The kernel-facing settings of a configured `lvs_sync_daemon` line: the
/// same fields, without the positions the configuration keeps for errors.
impl From<&crate::config::model::LvsSyncDaemon> for SyncSettings {
    fn from(d: &crate::config::model::LvsSyncDaemon) -> Self {
        SyncSettings {
            ifname: d.ifname.clone(),
            instance: d.instance.clone(),
            syncid: d.syncid,
            maxlen: d.maxlen,
            port: d.port,
            ttl: d.ttl,
            group: d.group,
        }
    }
}

impl SyncSettings {
    /// A daemon on `ifname` with every attribute at its default.
    pub fn new(ifname: &str) -> Self {
        SyncSettings {
            ifname: ifname.to_owned(),
            instance: None,
            syncid: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        }
    }

    /// The checks the kernel makes with a less helpful errno (EINVAL,
    /// ENODEV), and the zeros that it silently turns into its defaults
    /// (keepalived refuses them too: ranges from 1).
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.ifname.is_empty() {
            return Err(SettingsError::NoInterface);
        }
        if self.ifname.len() > IFNAME_MAX {
            return Err(SettingsError::InterfaceTooLong(self.ifname.clone()));
        }
        if let Some(g) = self.group {
            if !g.is_multicast() {
                return Err(SettingsError::NotMulticast(g));
            }
        }
        if self.port == Some(0) {
            return Err(SettingsError::Zero("port"));
        }
        if self.ttl == Some(0) {
            return Err(SettingsError::Zero("ttl"));
        }
        match self.maxlen {
            Some(0) => return Err(SettingsError::Zero("maxlen")),
            Some(m) if m > MAXLEN_MAX => return Err(SettingsError::MaxlenTooLarge(m)),
            _ => {}
        }
        Ok(())
    }

    /// The NEW_DAEMON request for `state`, with `syncid` resolved. Only
    /// configured attributes are sent, as keepalived does: the kernel's own
    /// defaults then apply, and a kernel without the optional attributes
    /// (before Linux 4.3) still accepts the request.
    pub fn daemon(&self, state: DaemonState, syncid: u8) -> SyncDaemon {
        let mut d = SyncDaemon::new(state, &self.ifname, u32::from(syncid));
        d.sync_maxlen = self.maxlen;
        d.mcast_port = self.port;
        d.mcast_ttl = self.ttl;
        d.mcast_group = self.group;
        d
    }
}

/// The VRRP state of the instance `lvs_sync_daemon` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Init,
    Backup,
    Master,
    Fault,
}

/// What the planner needs of the named instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    /// `virtual_router_id`: the default syncid. VRIDs are 1-255, so the
    /// default never is 0, the backup's "accept any syncid".
    pub vrid: u8,
    pub role: Role,
}

/// The sync daemons of one network namespace: the kernel runs at most one
/// master and one backup (`start_sync_thread` refuses a second with
/// EEXIST).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonSet {
    pub master: Option<SyncDaemon>,
    pub backup: Option<SyncDaemon>,
}

impl DaemonSet {
    /// The set from the kernel's GET_DAEMON answer. A second daemon of the
    /// same state (which the kernel never reports) replaces the first.
    pub fn from_daemons(daemons: impl IntoIterator<Item = SyncDaemon>) -> Self {
        let mut s = DaemonSet::default();
        for d in daemons {
            match d.state {
                DaemonState::Master => s.master = Some(d),
                DaemonState::Backup => s.backup = Some(d),
            }
        }
        s
    }

    fn get(&self, state: DaemonState) -> Option<&SyncDaemon> {
        match state {
            DaemonState::Master => self.master.as_ref(),
            DaemonState::Backup => self.backup.as_ref(),
        }
    }
}

/// One change to the kernel's daemons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonOp {
    /// IPVS_CMD_NEW_DAEMON.
    Start(SyncDaemon),
    /// IPVS_CMD_DEL_DAEMON.
    Stop(DaemonState),
}

/// The daemons that must run. `settings` `None` (no `lvs_sync_daemon`):
/// none. A caller plans with that only on the reload that removes the
/// keyword (and at exit after running with it): like keepalived, tandem
/// leaves alone the daemons of a namespace it was never configured to
/// manage, which someone may have started with ipvsadm. `instance` is the named instance as the VRRP side sees it, `None`
/// when the settings name none or the configuration lacks it (the latter
/// is [`SettingsError::UnknownInstance`], as keepalived rejects it).
pub fn desired(
    settings: Option<&SyncSettings>,
    instance: Option<Instance>,
) -> Result<DaemonSet, SettingsError> {
    let Some(s) = settings else {
        return Ok(DaemonSet::default());
    };
    s.validate()?;
    match (&s.instance, instance) {
        (None, _) => {
            let id = s.syncid.unwrap_or(0);
            Ok(DaemonSet {
                master: Some(s.daemon(DaemonState::Master, id)),
                backup: Some(s.daemon(DaemonState::Backup, id)),
            })
        }
        (Some(name), None) => Err(SettingsError::UnknownInstance(name.clone())),
        (Some(_), Some(i)) => {
            let id = s.syncid.unwrap_or(i.vrid);
            Ok(match i.role {
                Role::Master => DaemonSet {
                    master: Some(s.daemon(DaemonState::Master, id)),
                    backup: None,
                },
                // A node that is not master may become it: it must be
                // hearing the master's table all along.
                Role::Init | Role::Backup | Role::Fault => DaemonSet {
                    master: None,
                    backup: Some(s.daemon(DaemonState::Backup, id)),
                },
            })
        }
    }
}

/// Whether a daemon the kernel reports is the one `want` asks for. The
/// kernel fills in what the request left out (`start_sync_thread`): port
/// 8848, ttl 1, group 224.0.0.81, and maxlen clamped or derived from the
/// MTU, so an attribute `want` leaves out matches the kernel's default,
/// and maxlen is compared as the kernel would have made it (see
/// [`kernel_maxlen`]; with the interface's MTU unknown, an unset maxlen
/// matches any).
pub fn matches(want: &SyncDaemon, running: &SyncDaemon, mtu: Option<u32>) -> bool {
    let group = want.mcast_group.unwrap_or(IpAddr::V4(DEFAULT_GROUP));
    let maxlen_ok = match kernel_maxlen(want.state, group, want.sync_maxlen, mtu) {
        Some(m) => running.sync_maxlen.is_none_or(|r| r == m),
        None => true,
    };
    want.state == running.state
        && want.mcast_ifn == running.mcast_ifn
        && want.syncid == running.syncid
        && running.mcast_group.unwrap_or(IpAddr::V4(DEFAULT_GROUP)) == group
        && running.mcast_port.unwrap_or(DEFAULT_PORT) == want.mcast_port.unwrap_or(DEFAULT_PORT)
        && running.mcast_ttl.unwrap_or(DEFAULT_TTL) == want.mcast_ttl.unwrap_or(DEFAULT_TTL)
        && maxlen_ok
}

/// The maxlen the kernel keeps for a request (`start_sync_thread`, Linux
/// 4.3 and later): with the IP and UDP headers `hlen` (28 for IPv4, 48 for
/// IPv6), a requested length is clamped to `[1, 65535 - hlen]` for the
/// master and `[1024, 65535 - hlen]` for the backup; none requested is
/// `1500 - hlen` for the master and `clamp(mtu, 1500, 65535) - hlen` for
/// the backup, which needs the interface's MTU (`None` without it).
pub fn kernel_maxlen(
    state: DaemonState,
    group: IpAddr,
    requested: Option<u16>,
    mtu: Option<u32>,
) -> Option<u16> {
    let hlen: u32 = if group.is_ipv6() { 40 + 8 } else { 20 + 8 };
    let (min, default) = match state {
        DaemonState::Master => (1, Some(1500)),
        DaemonState::Backup => (1024, mtu.map(|m| m.clamp(1500, 65535))),
    };
    let v = match requested {
        Some(r) => u32::from(r).clamp(min, 65535 - hlen),
        None => default? - hlen,
    };
    u16::try_from(v).ok()
}

/// The operations from `running` (the kernel's GET_DAEMON) to `want`
/// (from [`desired`]); `mtu` is the sync interface's, when known. A daemon
/// whose settings changed (a reload) is stopped and started again: the
/// kernel has no command to change a running one. A new daemon of the
/// other state starts before the old one stops (a transition), so that a
/// refused start leaves the node with the daemon it had.
pub fn plan(running: &DaemonSet, want: &DaemonSet, mtu: Option<u32>) -> Vec<DaemonOp> {
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    let mut restarts = Vec::new();
    for state in [DaemonState::Master, DaemonState::Backup] {
        match (running.get(state), want.get(state)) {
            (None, None) => {}
            (None, Some(w)) => starts.push(DaemonOp::Start(w.clone())),
            (Some(_), None) => stops.push(DaemonOp::Stop(state)),
            (Some(r), Some(w)) if matches(w, r, mtu) => {}
            (Some(_), Some(w)) => {
                restarts.push(DaemonOp::Stop(state));
                restarts.push(DaemonOp::Start(w.clone()));
            }
        }
    }
    restarts.into_iter().chain(starts).chain(stops).collect()
}

/// On exit: stop every daemon that runs (keepalived stops both, ignoring
/// "not running", when it terminates; tandem stops what the kernel
/// reports).
pub fn shutdown(running: &DaemonSet) -> Vec<DaemonOp> {
    plan(running, &DaemonSet::default(), None)
}

/// The sync sysctls that decide when the master sends a connection again
/// (`/proc/sys/net/ipv4/vs/`, `Documentation/networking/ipvs-sysctl.rst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSysctls {
    /// `sync_threshold`, first value: the packet count of the first sync.
    pub threshold: u32,
    /// `sync_threshold`, second value (the "sync period"): then every this
    /// many packets; 0: no periodic sync by packet count.
    pub period: u32,
    /// `sync_refresh_period`, seconds: send again when the entry's expiry
    /// moved by this much (or half its timeout) since the last sync; 0:
    /// off.
    pub refresh_period: u32,
}

impl Default for SyncSysctls {
    /// The kernel's defaults: `3 50`, refresh off.
    fn default() -> Self {
        SyncSysctls {
            threshold: 3,
            period: 50,
            refresh_period: 0,
        }
    }
}

/// The `sync_refresh_period` tandem sets (seconds): see
/// [`SyncSysctls::tuned`].
pub const TUNED_REFRESH_PERIOD: u32 = 5;

impl SyncSysctls {
    /// What tandem writes in a namespace where `lvs_sync_daemon` is
    /// configured and the sync sysctls are still the kernel's defaults:
    /// `sync_threshold "3 0"` (no packet-count period) and
    /// `sync_refresh_period` [`TUNED_REFRESH_PERIOD`]. Then every
    /// connection with a client packet is sent again on its first packet
    /// once 5 s have passed since its last sync, so a backup that just
    /// started its daemon has heard of every live connection within
    /// [`catch_up`] (8 s), where the defaults re-send only every 50th
    /// packet (unbounded for a slow connection). For a busy connection it
    /// is also less sync traffic: one entry per 5 s instead of one per 50
    /// packets. `None`: the values are not the defaults, an operator's
    /// choice, left alone.
    pub fn tuned(&self) -> Option<SyncSysctls> {
        (*self == SyncSysctls::default()).then_some(SyncSysctls {
            threshold: self.threshold,
            period: 0,
            refresh_period: TUNED_REFRESH_PERIOD,
        })
    }

    /// `sync_threshold` as `/proc` takes it.
    pub fn threshold_text(&self) -> String {
        format!("{} {}", self.threshold, self.period)
    }

    /// From the texts of `sync_threshold` ("3\t50") and
    /// `sync_refresh_period` ("0"); `None` for anything else.
    pub fn parse(sync_threshold: &str, sync_refresh_period: &str) -> Option<Self> {
        let mut it = sync_threshold.split_whitespace();
        let threshold = it.next()?.parse().ok()?;
        let period = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        let refresh_period = sync_refresh_period.trim().parse().ok()?;
        Some(SyncSysctls {
            threshold,
            period,
            refresh_period,
        })
    }
}

/// The longest a master holds a connection entry in its buffer before it
/// sends it: `IPVS_SYNC_FLUSH_TIME` (2 s) after the buffer's first entry,
/// noticed by a thread that wakes every `IPVS_SYNC_CHECK_PERIOD` (1 s).
pub const FLUSH_DELAY: Duration = Duration::from_secs(3);

/// How long a node that has just become MASTER keeps its backup daemon
/// (beside its new master daemon): the old master sends what it still
/// buffers for [`FLUSH_DELAY`] after it leaves MASTER, about when this node
/// took over, and those connections are the ones the handover guard holds
/// for. One second more for the two transitions' skew.
pub const TAKEOVER_LISTEN: Duration = Duration::from_secs(FLUSH_DELAY.as_secs() + 1);

/// How soon a backup that just started its daemon has heard of every
/// connection the master holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Within this time of the backup daemon's start, for every connection
    /// that gets at least one packet from its client in that time
    /// (`sync_threshold` period 0, `sync_refresh_period` R: each entry is
    /// sent again on its first packet once R has passed since its last
    /// sync, `ip_vs_sync_conn_needed`; then at most [`FLUSH_DELAY`]).
    Within(Duration),
    /// Only after this many more packets of each connection, however long
    /// that takes (the defaults: every 50 packets; with a refresh period
    /// too, both must hold, which is rarer still).
    EveryPackets(u32),
    /// Never: a connection is sent once (threshold reached, or a state
    /// change), not again.
    Never,
}

/// From the master's sync sysctls, when a returning backup has caught up
/// (`ip_vs_sync_conn_needed` in `ip_vs_sync.c`: with a period,
/// `pkts % period == threshold` is required; without one and without a
/// refresh period, only `pkts == threshold` or a state change sends).
pub fn catch_up(s: &SyncSysctls) -> CatchUp {
    match (s.period, s.refresh_period) {
        (0, 0) => CatchUp::Never,
        (0, r) => CatchUp::Within(Duration::from_secs(u64::from(r)) + FLUSH_DELAY),
        (p, _) => CatchUp::EveryPackets(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SyncSettings {
        let mut s = SyncSettings::new("eth1");
        s.instance = Some("VI_1".into());
        s
    }

    fn inst(role: Role) -> Option<Instance> {
        Some(Instance { vrid: 51, role })
    }

    fn d(state: DaemonState, ifname: &str, syncid: u32) -> SyncDaemon {
        SyncDaemon::new(state, ifname, syncid)
    }

    /// What the kernel reports for `d` started without optional attributes
    /// on an interface of MTU 1500.
    fn as_kernel_reports(mut d: SyncDaemon) -> SyncDaemon {
        d.sync_maxlen = Some(1472);
        d.mcast_group = Some(IpAddr::V4(DEFAULT_GROUP));
        d.mcast_port = Some(DEFAULT_PORT);
        d.mcast_ttl = Some(DEFAULT_TTL);
        d
    }

    #[test]
    fn no_settings_no_daemons() {
        assert_eq!(desired(None, inst(Role::Master)), Ok(DaemonSet::default()));
    }

    #[test]
    fn with_an_instance_the_role_picks_the_daemon_and_the_vrid_is_the_syncid() {
        let s = settings();
        let master = desired(Some(&s), inst(Role::Master)).unwrap();
        assert_eq!(master.master, Some(d(DaemonState::Master, "eth1", 51)));
        assert_eq!(master.backup, None);
        for role in [Role::Init, Role::Backup, Role::Fault] {
            let b = desired(Some(&s), inst(role)).unwrap();
            assert_eq!(b.master, None, "{role:?}");
            assert_eq!(
                b.backup,
                Some(d(DaemonState::Backup, "eth1", 51)),
                "{role:?}"
            );
        }
    }

    #[test]
    fn an_explicit_id_wins_over_the_vrid_and_every_attribute_is_passed_on() {
        let mut s = settings();
        s.syncid = Some(0);
        s.maxlen = Some(1400);
        s.port = Some(4660);
        s.ttl = Some(3);
        s.group = "ff02::8848".parse().ok();
        let m = desired(Some(&s), inst(Role::Master))
            .unwrap()
            .master
            .unwrap();
        assert_eq!(m.syncid, 0);
        assert_eq!(m.sync_maxlen, Some(1400));
        assert_eq!(m.mcast_port, Some(4660));
        assert_eq!(m.mcast_ttl, Some(3));
        assert_eq!(m.mcast_group, "ff02::8848".parse().ok());
    }

    #[test]
    fn without_an_instance_both_daemons_with_syncid_0_whatever_the_role() {
        let mut s = settings();
        s.instance = None;
        for i in [None, inst(Role::Master), inst(Role::Backup)] {
            let set = desired(Some(&s), i).unwrap();
            assert_eq!(set.master, Some(d(DaemonState::Master, "eth1", 0)));
            assert_eq!(set.backup, Some(d(DaemonState::Backup, "eth1", 0)));
        }
        s.syncid = Some(9);
        let set = desired(Some(&s), None).unwrap();
        assert_eq!(set.master.map(|m| m.syncid), Some(9));
        assert_eq!(set.backup.map(|b| b.syncid), Some(9));
    }

    #[test]
    fn a_named_instance_that_does_not_exist_is_an_error() {
        assert_eq!(
            desired(Some(&settings()), None),
            Err(SettingsError::UnknownInstance("VI_1".into()))
        );
    }

    #[test]
    fn settings_the_kernel_would_refuse_or_misread_are_errors() {
        type Change = fn(&mut SyncSettings);
        let cases: [(Change, SettingsError); 7] = [
            (|s| s.ifname.clear(), SettingsError::NoInterface),
            (
                |s| s.ifname = "a-very-long-name0".into(),
                SettingsError::InterfaceTooLong("a-very-long-name0".into()),
            ),
            (
                |s| s.group = "192.0.2.1".parse().ok(),
                SettingsError::NotMulticast("192.0.2.1".parse().unwrap()),
            ),
            (|s| s.port = Some(0), SettingsError::Zero("port")),
            (|s| s.ttl = Some(0), SettingsError::Zero("ttl")),
            (|s| s.maxlen = Some(0), SettingsError::Zero("maxlen")),
            (
                |s| s.maxlen = Some(65508),
                SettingsError::MaxlenTooLarge(65508),
            ),
        ];
        for (change, err) in cases {
            let mut s = settings();
            change(&mut s);
            assert_eq!(desired(Some(&s), inst(Role::Master)), Err(err));
        }
        let mut s = settings();
        s.ifname = "fifteen-chars-0".into();
        s.maxlen = Some(MAXLEN_MAX);
        assert!(desired(Some(&s), inst(Role::Master)).is_ok());
    }

    #[test]
    fn start_from_nothing() {
        let want = desired(Some(&settings()), inst(Role::Backup)).unwrap();
        assert_eq!(
            plan(&DaemonSet::default(), &want, None),
            vec![DaemonOp::Start(d(DaemonState::Backup, "eth1", 51))]
        );
    }

    #[test]
    fn a_transition_starts_the_new_daemon_then_stops_the_old() {
        let s = settings();
        let backup = desired(Some(&s), inst(Role::Backup)).unwrap();
        let master = desired(Some(&s), inst(Role::Master)).unwrap();
        let running =
            DaemonSet::from_daemons([as_kernel_reports(d(DaemonState::Backup, "eth1", 51))]);
        assert_eq!(
            running,
            DaemonSet {
                master: None,
                backup: Some(as_kernel_reports(d(DaemonState::Backup, "eth1", 51)))
            }
        );
        assert_eq!(
            plan(&running, &master, Some(1500)),
            vec![
                DaemonOp::Start(d(DaemonState::Master, "eth1", 51)),
                DaemonOp::Stop(DaemonState::Backup)
            ]
        );
        let running =
            DaemonSet::from_daemons([as_kernel_reports(d(DaemonState::Master, "eth1", 51))]);
        assert_eq!(
            plan(&running, &backup, Some(1500)),
            vec![
                DaemonOp::Start(d(DaemonState::Backup, "eth1", 51)),
                DaemonOp::Stop(DaemonState::Master)
            ]
        );
    }

    #[test]
    fn what_runs_as_wanted_is_left_alone_with_the_kernels_defaults_filled_in() {
        let s = settings();
        for role in [Role::Master, Role::Backup] {
            let want = desired(Some(&s), inst(role)).unwrap();
            let running = DaemonSet::from_daemons(
                [want.master.clone(), want.backup.clone()]
                    .into_iter()
                    .flatten()
                    .map(as_kernel_reports),
            );
            assert_eq!(plan(&running, &want, Some(1500)), vec![], "{role:?}");
            assert_eq!(plan(&running, &want, None), vec![], "{role:?}");
        }
    }

    #[test]
    fn a_reload_that_changes_a_setting_restarts_the_daemon() {
        let s = settings();
        let running =
            DaemonSet::from_daemons([as_kernel_reports(d(DaemonState::Master, "eth1", 51))]);
        let changes: [fn(&mut SyncSettings); 6] = [
            |s| s.ifname = "eth2".into(),
            |s| s.syncid = Some(7),
            |s| s.port = Some(8849),
            |s| s.ttl = Some(2),
            |s| s.group = "224.0.0.82".parse().ok(),
            |s| s.maxlen = Some(1400),
        ];
        for change in changes {
            let mut s2 = s.clone();
            change(&mut s2);
            let want = desired(Some(&s2), inst(Role::Master)).unwrap();
            let m = want.master.clone().unwrap();
            assert_eq!(
                plan(&running, &want, Some(1500)),
                vec![
                    DaemonOp::Stop(DaemonState::Master),
                    DaemonOp::Start(m.clone())
                ],
                "{m:?}"
            );
        }
        // The same values written out explicitly are no change.
        let mut same = s.clone();
        same.port = Some(DEFAULT_PORT);
        same.ttl = Some(DEFAULT_TTL);
        same.group = Some(IpAddr::V4(DEFAULT_GROUP));
        same.syncid = Some(51);
        let want = desired(Some(&same), inst(Role::Master)).unwrap();
        assert_eq!(plan(&running, &want, Some(1500)), vec![]);
    }

    #[test]
    fn a_reload_that_names_an_instance_or_drops_it() {
        // No instance: both daemons, syncid 0. Then an instance, backup.
        let mut both = settings();
        both.instance = None;
        let all = desired(Some(&both), None).unwrap();
        let running = DaemonSet::from_daemons(
            [all.master.clone(), all.backup.clone()]
                .into_iter()
                .flatten()
                .map(as_kernel_reports),
        );
        let want = desired(Some(&settings()), inst(Role::Backup)).unwrap();
        assert_eq!(
            plan(&running, &want, Some(1500)),
            vec![
                DaemonOp::Stop(DaemonState::Backup),
                DaemonOp::Start(d(DaemonState::Backup, "eth1", 51)),
                DaemonOp::Stop(DaemonState::Master),
            ]
        );
        // And back: the master starts, the backup restarts with syncid 0.
        let running =
            DaemonSet::from_daemons([as_kernel_reports(d(DaemonState::Backup, "eth1", 51))]);
        assert_eq!(
            plan(&running, &all, Some(1500)),
            vec![
                DaemonOp::Stop(DaemonState::Backup),
                DaemonOp::Start(d(DaemonState::Backup, "eth1", 0)),
                DaemonOp::Start(d(DaemonState::Master, "eth1", 0)),
            ]
        );
    }

    #[test]
    fn a_reload_that_removes_lvs_sync_daemon_stops_everything() {
        let running = DaemonSet::from_daemons([
            as_kernel_reports(d(DaemonState::Master, "eth1", 0)),
            as_kernel_reports(d(DaemonState::Backup, "eth1", 0)),
        ]);
        let want = desired(None, None).unwrap();
        assert_eq!(
            plan(&running, &want, None),
            vec![
                DaemonOp::Stop(DaemonState::Master),
                DaemonOp::Stop(DaemonState::Backup)
            ]
        );
        assert_eq!(plan(&running, &want, None), shutdown(&running));
        assert_eq!(shutdown(&DaemonSet::default()), vec![]);
    }

    #[test]
    fn maxlen_as_the_kernel_keeps_it() {
        let v4 = IpAddr::V4(DEFAULT_GROUP);
        let v6: IpAddr = "ff02::8848".parse().unwrap();
        use DaemonState::{Backup, Master};
        // Measured in the test VM (tests/ipvs_vm_cli.sh): a backup started
        // without maxlen on a veth of MTU 1500 reports 1472.
        assert_eq!(kernel_maxlen(Backup, v4, None, Some(1500)), Some(1472));
        assert_eq!(kernel_maxlen(Backup, v4, None, Some(9000)), Some(8972));
        assert_eq!(kernel_maxlen(Backup, v4, None, Some(1280)), Some(1472));
        assert_eq!(kernel_maxlen(Backup, v4, None, None), None);
        assert_eq!(kernel_maxlen(Master, v4, None, Some(9000)), Some(1472));
        assert_eq!(kernel_maxlen(Master, v6, None, None), Some(1452));
        assert_eq!(kernel_maxlen(Master, v4, Some(1), None), Some(1));
        assert_eq!(kernel_maxlen(Backup, v4, Some(1), None), Some(1024));
        assert_eq!(kernel_maxlen(Backup, v6, Some(65507), None), Some(65487));
        assert_eq!(kernel_maxlen(Master, v4, Some(1400), None), Some(1400));
    }

    #[test]
    fn maxlen_compared_as_the_kernel_keeps_it() {
        let mut want = settings();
        want.maxlen = Some(100);
        let w = want.daemon(DaemonState::Backup, 51);
        let mut r = as_kernel_reports(w.clone());
        r.sync_maxlen = Some(1024);
        assert!(matches(&w, &r, None), "the backup's 100 is kept as 1024");
        r.sync_maxlen = Some(100);
        assert!(!matches(&w, &r, None));
        // Unset: the MTU decides; unknown MTU, any.
        let w = settings().daemon(DaemonState::Backup, 51);
        r.sync_maxlen = Some(8972);
        assert!(matches(&w, &r, None));
        assert!(matches(&w, &r, Some(9000)));
        assert!(!matches(&w, &r, Some(1500)));
    }

    #[test]
    fn sysctls_parse_as_proc_writes_them() {
        assert_eq!(
            SyncSysctls::parse("3\t50\n", "0\n"),
            Some(SyncSysctls::default())
        );
        assert_eq!(
            SyncSysctls::parse("3 0", "10"),
            Some(SyncSysctls {
                threshold: 3,
                period: 0,
                refresh_period: 10
            })
        );
        assert_eq!(SyncSysctls::parse("3", "0"), None);
        assert_eq!(SyncSysctls::parse("3 50 1", "0"), None);
        assert_eq!(SyncSysctls::parse("3 50", "x"), None);
    }

    #[test]
    fn only_the_kernels_defaults_are_tuned_and_the_tuned_values_bound_the_catch_up() {
        let t = SyncSysctls::default().tuned().unwrap();
        assert_eq!(t.threshold_text(), "3 0");
        assert_eq!(t.refresh_period, 5);
        assert_eq!(catch_up(&t), CatchUp::Within(Duration::from_secs(8)));
        assert_eq!(t.tuned(), None, "already tuned: left alone");
        let mine = SyncSysctls::parse("3 100", "0").unwrap();
        assert_eq!(mine.tuned(), None, "an operator's values: left alone");
    }

    #[test]
    fn catching_up_is_bounded_in_time_only_with_a_refresh_period_and_no_packet_period() {
        assert_eq!(catch_up(&SyncSysctls::default()), CatchUp::EveryPackets(50));
        let s = |period, refresh_period| SyncSysctls {
            threshold: 3,
            period,
            refresh_period,
        };
        assert_eq!(
            catch_up(&s(0, 10)),
            CatchUp::Within(Duration::from_secs(13))
        );
        assert_eq!(catch_up(&s(50, 10)), CatchUp::EveryPackets(50));
        assert_eq!(catch_up(&s(0, 0)), CatchUp::Never);
    }
}
