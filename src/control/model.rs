//! The status model: one [`StatusSnapshot`] says everything `tandem status`,
//! the metrics and the state dump show.
//!
//! The daemon owns the live state; it publishes a fresh snapshot into a
//! `tokio::sync::watch` channel whenever something changes (a transition, a
//! check result, a counter batch). Readers — the control socket, the
//! Prometheus listener, the SIGUSR1 dump — only ever borrow the latest
//! snapshot, so a slow or stuck reader never holds a lock the VRRP or check
//! tasks need. The same structs are the JSON schema of `GET /status` (and of
//! `tandem status --json`); field names follow keepalived.conf and RFC 5798.
//!
//! Times are milliseconds since the Unix epoch (`*_unix_ms`), so the JSON is
//! easy to use from any language and sorts as text.
//!
//! Owns the status schema and its channel; no sockets, no files.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

pub use crate::notify::mail::MailQueueStatus;
use crate::process::unix_ms_now;

/// Version of this JSON schema; bumped when a field changes meaning or goes
/// away (adding fields does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

/// A watch channel carrying the latest snapshot: the daemon holds the
/// sender, every control reader a receiver.
pub type StatusSender = tokio::sync::watch::Sender<StatusSnapshot>;
pub type StatusReceiver = tokio::sync::watch::Receiver<StatusSnapshot>;

/// Make the channel; the daemon fills in the first real snapshot once its
/// configuration is applied.
pub fn status_channel(initial: StatusSnapshot) -> (StatusSender, StatusReceiver) {
    tokio::sync::watch::channel(initial)
}

/// The BFD side: every session, and the datagrams that reached none
/// (malformed, by RFC 5880 §6.8.6 check; or for no session).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdStatus {
    pub sessions: Vec<BfdSessionStatus>,
    #[serde(default)]
    pub malformed: std::collections::BTreeMap<String, u64>,
    #[serde(default)]
    pub no_session: u64,
}

/// One `bfd_instance`, with RFC 5880's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BfdSessionStatus {
    pub name: String,
    pub neighbor_ip: IpAddr,
    pub source_ip: Option<IpAddr>,
    /// The UDP source port chosen (49152–65535); 0 while no socket is open.
    pub source_port: u16,
    /// "AdminDown", "Down", "Init" or "Up".
    pub state: String,
    pub remote_state: String,
    /// bfd.LocalDiag and the neighbour's, in RFC 5880's words.
    pub local_diag: String,
    pub remote_diag: String,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    /// The transmit interval in use and the detection time, µs.
    pub tx_interval_us: u32,
    pub detect_time_us: u64,
    pub remote_min_rx_us: u32,
    pub remote_min_tx_us: u32,
    pub remote_detect_mult: u8,
    pub counters: crate::bfd::SessionCounters,
    pub last_transition: Option<BfdTransition>,
}

/// A session's last change of state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BfdTransition {
    pub from: String,
    pub to: String,
    pub at_unix_ms: u64,
    /// The diagnostic the change came with.
    pub diag: String,
}

/// Everything the daemon reports about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    pub schema_version: u32,
    /// tandem's version.
    pub version: String,
    /// `router_id` from global_defs (the host name if unset).
    pub router_id: String,
    pub pid: u32,
    pub started_unix_ms: u64,
    /// When this snapshot was made.
    pub generated_unix_ms: u64,
    /// The configuration in force.
    pub config: ConfigStatus,
    #[serde(default)]
    pub vrrp_instances: Vec<VrrpInstanceStatus>,
    #[serde(default)]
    pub sync_groups: Vec<SyncGroupStatus>,
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServerStatus>,
    #[serde(default)]
    pub mail: MailQueueStatus,
    /// The BFD sessions (`bfd_instance`) and the packets none took.
    #[serde(default)]
    pub bfd: BfdStatus,
}

impl StatusSnapshot {
    /// An empty snapshot for a daemon that has just started.
    pub fn new(router_id: impl Into<String>) -> Self {
        let now = unix_ms_now();
        StatusSnapshot {
            schema_version: SCHEMA_VERSION,
            version: env!("CARGO_PKG_VERSION").to_string(),
            router_id: router_id.into(),
            pid: std::process::id(),
            started_unix_ms: now,
            generated_unix_ms: now,
            config: ConfigStatus::default(),
            vrrp_instances: Vec::new(),
            sync_groups: Vec::new(),
            virtual_servers: Vec::new(),
            mail: MailQueueStatus::default(),
            bfd: BfdStatus::default(),
        }
    }
}

/// Which configuration runs, and how the last reload went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigStatus {
    /// The file given with `-f`.
    pub file: String,
    /// When the configuration in force was applied.
    pub applied_unix_ms: Option<u64>,
    /// Successful reloads since start.
    pub reloads: u64,
    /// Reloads refused because the new file had errors (the running
    /// configuration stayed).
    pub reload_failures: u64,
    /// The errors of the last refused reload, with file:line:col.
    #[serde(default)]
    pub last_reload_errors: Vec<String>,
}

/// VRRP states (RFC 5798 §6.4), plus keepalived's FAULT and STOP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpState {
    Initialize,
    Backup,
    Master,
    Fault,
    Stop,
}

impl VrrpState {
    pub const ALL: [VrrpState; 5] = [
        VrrpState::Initialize,
        VrrpState::Backup,
        VrrpState::Master,
        VrrpState::Fault,
        VrrpState::Stop,
    ];

    /// The word keepalived prints (`MASTER`, `BACKUP`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            VrrpState::Initialize => "INIT",
            VrrpState::Backup => "BACKUP",
            VrrpState::Master => "MASTER",
            VrrpState::Fault => "FAULT",
            VrrpState::Stop => "STOP",
        }
    }
}

impl std::fmt::Display for VrrpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstanceStatus {
    /// The instance name (`VI_1`).
    pub name: String,
    pub interface: String,
    pub virtual_router_id: u8,
    /// VRRP version in use (2 or 3).
    pub version: u8,
    pub state: VrrpState,
    /// The `state` the configuration starts it in (MASTER or BACKUP), as
    /// KEEPALIVED-MIB's vrrpInstanceInitialState.
    #[serde(default = "initial_backup")]
    pub initial_state: VrrpState,
    /// `priority` as configured.
    pub priority: u8,
    /// The priority after track_script/track_interface/track_file weights.
    pub effective_priority: u8,
    /// Address of the current master (ourselves when MASTER), if known.
    pub master_address: Option<IpAddr>,
    /// The master's advertised priority, if known.
    pub master_priority: Option<u8>,
    /// `advert_int`, in milliseconds.
    pub advert_interval_ms: u64,
    /// `virtual_ipaddress` entries (`192.0.2.2/32 dev eth0`).
    #[serde(default)]
    pub virtual_ipaddress: Vec<String>,
    /// The sync group this instance belongs to.
    pub sync_group: Option<String>,
    pub last_transition: Option<Transition>,
    /// A BACKUP that outranks its master but waits for its connection-sync
    /// daemon to catch up (`lvs_sync_daemon`): when the hold ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempt_held_until_unix_ms: Option<u64>,
    #[serde(default)]
    pub counters: VrrpCounters,
    /// What the VRRP MIBs (RFC 2787, RFC 6527) index and show.
    #[serde(default)]
    pub router: VirtualRouterStatus,
}

/// The parts of an instance the VRRP MIBs (RFC 2787, RFC 6527) need
/// beside the above: their tables are indexed by ifIndex and VRID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VirtualRouterStatus {
    /// The interface's ifIndex; for a `use_vmac` instance its base's, as
    /// keepalived indexes the tables. 0: not known (older JSON).
    pub ifindex: u32,
    /// The interface's primary address, the adverts' source.
    pub primary_address: Option<IpAddr>,
    /// `auth_type`: `PASS`, `AH`, or empty for none.
    pub auth_type: String,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// Accept mode (RFC 5798 §6.1): whether the VIPs take packets
    /// addressed to them while MASTER (`accept`, or the address owner);
    /// false when `no_accept` drops them.
    pub accept: bool,
    /// When the instance started running (left INIT for the first time),
    /// vrrpOperVirtualRouterUpTime's origin.
    pub up_since_unix_ms: Option<u64>,
}

/// An instance configured without `state` starts as BACKUP.
fn initial_backup() -> VrrpState {
    VrrpState::Backup
}

/// A state change and why it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: VrrpState,
    pub to: VrrpState,
    pub at_unix_ms: u64,
    /// Free text: `master down timer expired`, `higher priority advert from
    /// 192.0.2.12`, `sync group VG_1`, ...
    pub reason: String,
}

/// Per-instance counters (the RFC 6527 VRRP-MIB statistics that matter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrrpCounters {
    pub became_master: u64,
    pub released_master: u64,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    /// Packets dropped as malformed or hostile (bad TTL, checksum, length,
    /// auth, VRID mismatch, ...).
    pub invalid_packets: u64,
    pub gratuitous_arps_sent: u64,
    /// The packets the VRRP codec and state machine rejected, one counter
    /// per reason (`invalid_packets` is their sum plus the adverts dropped
    /// for coming from outside `unicast_peer`).
    #[serde(default)]
    pub rx_errors: crate::vrrp::RxErrorCounters,
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncGroupStatus {
    pub name: String,
    pub state: VrrpState,
    pub instances: Vec<String>,
    pub last_transition: Option<Transition>,
}

/// One `virtual_server`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// keepalived's name for it: `[192.0.2.2]:tcp:80`, `FWM 1`.
    pub name: String,
    pub address: Option<SocketAddr>,
    pub fwmark: Option<u32>,
    /// `tcp`, `udp`, `sctp`.
    pub protocol: String,
    pub lvs_sched: String,
    /// `NAT`, `DR`, `TUN`.
    pub lvs_method: String,
    /// Whether this node has the service in its IPVS table now (the master
    /// does; a backup keeps checking without it).
    pub installed: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    /// Sum of the weights of alive real servers.
    pub alive_weight: i64,
    pub quorum_up: bool,
    pub sorry_server: Option<SocketAddr>,
    /// Traffic goes to the sorry server now.
    pub sorry_active: bool,
    /// `virtual_server group NAME`: the group's name.
    #[serde(default)]
    pub group: Option<String>,
    /// The service's address family is IPv6 (also for fwmark and group
    /// services, which have no address of their own).
    #[serde(default)]
    pub ipv6: bool,
    /// `snmp_name`.
    #[serde(default)]
    pub snmp_name: Option<String>,
    /// What the configuration says beyond the above, as KEEPALIVED-MIB
    /// shows it.
    #[serde(default)]
    pub settings: VsSettings,
    /// The kernel's counters of the service (with `enable_snmp_checker`,
    /// read every 5 s as keepalived refreshes them; summed over the
    /// services of a group). None: not read, or not in the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs: Option<crate::ipvs::types::Stats>,
    #[serde(default)]
    pub real_servers: Vec<RealServerStatus>,
}

/// One `real_server`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealServerStatus {
    pub address: SocketAddr,
    /// `weight` as configured.
    pub weight: i32,
    /// The weight in the IPVS table now (0 when inhibited).
    pub effective_weight: i32,
    pub alive: bool,
    /// Kept in the table with weight 0 (`inhibit_on_failure`).
    pub inhibited: bool,
    pub last_check: Option<CheckResult>,
    pub checks_ok: u64,
    pub checks_failed: u64,
    /// How many of its checkers fail now (keepalived's failed checkers).
    #[serde(default)]
    pub failing_checkers: u32,
    /// `inhibit_on_failure`: a failure sets the weight to 0 instead of
    /// removing the real server.
    #[serde(default)]
    pub inhibit_on_failure: bool,
    /// `snmp_name`.
    #[serde(default)]
    pub snmp_name: Option<String>,
    /// The kernel's counters of the destination, as for the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs: Option<DestCounters>,
}

/// A virtual server's settings from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsSettings {
    /// `persistence_timeout` in seconds (None: not persistent).
    pub persistence_timeout_s: Option<u64>,
    /// `delay_loop` in seconds.
    pub delay_loop_s: u64,
    pub alpha: bool,
    pub omega: bool,
    /// `ha_suspend`.
    #[serde(default)]
    pub ha_suspend: bool,
    /// `ops`: one-packet scheduling.
    pub ops: bool,
    /// The sorry server's forwarding method (`NAT`, `DR`, `TUN`).
    pub sorry_lvs_method: Option<String>,
    /// Each real server's forwarding method and `alpha`, in order.
    pub rs_lvs_method: Vec<String>,
    pub rs_alpha: Vec<bool>,
}

/// A destination's counters in the kernel's IPVS table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestCounters {
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persistent_conns: u32,
    pub stats: crate::ipvs::types::Stats,
}

/// The outcome of the last health check of a real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `HTTP_GET`, `TCP_CHECK`, ...
    pub checker: String,
    pub ok: bool,
    /// Why it failed, or what succeeded (`status 200`).
    pub reason: String,
    pub at_unix_ms: u64,
    pub duration_ms: u64,
}

/// A snapshot of the seed's layout, for tests and documentation examples.
#[doc(hidden)]
pub fn example_snapshot() -> StatusSnapshot {
    let now = unix_ms_now();
    let mut s = StatusSnapshot::new("lb1");
    s.started_unix_ms = now - 3_725_000;
    s.config = ConfigStatus {
        file: "/etc/tandem/keepalived.conf".into(),
        applied_unix_ms: Some(now - 3_720_000),
        reloads: 1,
        reload_failures: 0,
        last_reload_errors: Vec::new(),
    };
    s.vrrp_instances = example_vrrp_instances(now);
    s.sync_groups = example_sync_groups(now);
    s.virtual_servers = example_virtual_servers(now);
    s.mail = MailQueueStatus {
        enabled: true,
        queued: 0,
        capacity: 64,
        sent: 3,
        failed: 0,
        dropped: 0,
        attempt_errors: 0,
        last_sent_unix_ms: Some(now - 3_699_000),
    };
    s
}

/// A transition of the example, an hour ago.
fn example_transition(now: u64, from: VrrpState, to: VrrpState, reason: &str) -> Transition {
    Transition {
        from,
        to,
        at_unix_ms: now - 3_700_000,
        reason: reason.into(),
    }
}

/// The example's two VRRP instances, both MASTER in one sync group.
fn example_vrrp_instances(now: u64) -> Vec<VrrpInstanceStatus> {
    let transition = |from, to, reason: &str| example_transition(now, from, to, reason);
    vec![
        VrrpInstanceStatus {
            name: "VI_OUTER".into(),
            interface: "eth0".into(),
            virtual_router_id: 51,
            version: 2,
            state: VrrpState::Master,
            initial_state: VrrpState::Backup,
            priority: 150,
            effective_priority: 150,
            master_address: Some("192.0.2.11".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
            master_priority: Some(150),
            advert_interval_ms: 1000,
            virtual_ipaddress: vec!["192.0.2.2/24 dev eth0".into()],
            sync_group: Some("VG_LB".into()),
            last_transition: Some(transition(
                VrrpState::Backup,
                VrrpState::Master,
                "master down timer expired",
            )),
            preempt_held_until_unix_ms: None,
            router: VirtualRouterStatus {
                ifindex: 2,
                primary_address: Some(IpAddr::from([192, 0, 2, 11])),
                auth_type: "PASS".into(),
                nopreempt: false,
                accept: true,
                up_since_unix_ms: Some(now - 3_710_000),
            },
            counters: VrrpCounters {
                became_master: 1,
                adverts_sent: 3700,
                adverts_received: 3,
                gratuitous_arps_sent: 5,
                invalid_packets: 3,
                rx_errors: crate::vrrp::RxErrorCounters {
                    truncated_errors: 1,
                    checksum_errors: 2,
                    ..Default::default()
                },
                ..VrrpCounters::default()
            },
        },
        VrrpInstanceStatus {
            name: "VI_INNER".into(),
            interface: "eth1".into(),
            virtual_router_id: 52,
            version: 2,
            state: VrrpState::Master,
            initial_state: VrrpState::Backup,
            priority: 150,
            effective_priority: 150,
            master_address: Some("198.51.100.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
            master_priority: Some(150),
            advert_interval_ms: 1000,
            virtual_ipaddress: vec!["198.51.100.1/24 dev eth1".into()],
            sync_group: Some("VG_LB".into()),
            last_transition: Some(transition(
                VrrpState::Backup,
                VrrpState::Master,
                "sync group VG_LB",
            )),
            preempt_held_until_unix_ms: None,
            counters: VrrpCounters::default(),
            router: VirtualRouterStatus {
                ifindex: 3,
                primary_address: Some(IpAddr::from([198, 51, 100, 2])),
                ..VirtualRouterStatus::default()
            },
        },
    ]
}

/// The example's sync group.
fn example_sync_groups(now: u64) -> Vec<SyncGroupStatus> {
    let transition = |from, to, reason: &str| example_transition(now, from, to, reason);
    vec![SyncGroupStatus {
        name: "VG_LB".into(),
        state: VrrpState::Master,
        instances: vec!["VI_OUTER".into(), "VI_INNER".into()],
        last_transition: Some(transition(
            VrrpState::Backup,
            VrrpState::Master,
            "all instances MASTER",
        )),
    }]
}

/// The example's virtual server: one real server up, one down and inhibited.
fn example_virtual_servers(now: u64) -> Vec<VirtualServerStatus> {
    let rs = |last: u8, alive: bool| RealServerStatus {
        address: SocketAddr::from(([198, 51, 100, last], 80)),
        weight: 1,
        effective_weight: if alive { 1 } else { 0 },
        alive,
        inhibited: !alive,
        last_check: Some(CheckResult {
            checker: "HTTP_GET".into(),
            ok: alive,
            reason: if alive {
                "status 200".into()
            } else {
                "connection refused".into()
            },
            at_unix_ms: now - 2_000,
            duration_ms: 3,
        }),
        checks_ok: 740,
        checks_failed: if alive { 0 } else { 4 },
        failing_checkers: u32::from(!alive),
        inhibit_on_failure: true,
        snmp_name: None,
        ipvs: None,
    };
    vec![VirtualServerStatus {
        name: "[192.0.2.2]:tcp:80".into(),
        address: Some(SocketAddr::from(([192, 0, 2, 2], 80))),
        fwmark: None,
        protocol: "tcp".into(),
        lvs_sched: "rr".into(),
        lvs_method: "NAT".into(),
        installed: true,
        quorum: 1,
        hysteresis: 0,
        alive_weight: 1,
        quorum_up: true,
        sorry_server: Some(SocketAddr::from(([198, 51, 100, 20], 80))),
        sorry_active: false,
        group: None,
        ipv6: false,
        snmp_name: Some("web".into()),
        settings: VsSettings::default(),
        ipvs: None,
        real_servers: vec![rs(10, true), rs(11, false)],
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_through_json() {
        let s = example_snapshot();
        let text = serde_json::to_string_pretty(&s).expect("serialize");
        let back: StatusSnapshot = serde_json::from_str(&text).expect("parse");
        assert_eq!(s, back);
        // The names a script would look for.
        assert!(text.contains("\"state\": \"MASTER\""));
        assert!(text.contains("\"effective_priority\": 150"));
        // Drops per reason, and the RFC 6527 sum under its old name.
        assert!(text.contains("\"truncated_errors\": 1"));
        assert!(text.contains("\"checksum_errors\": 2"));
        assert!(text.contains("\"packet_length_errors\": 1"));
        assert!(text.contains("\"name\": \"[192.0.2.2]:tcp:80\""));
        assert!(text.contains("\"ifindex\": 2"));
    }

    #[test]
    fn json_without_the_router_part_still_reads() {
        let mut v = serde_json::to_value(example_snapshot()).expect("serialize");
        if let Some(list) = v["vrrp_instances"].as_array_mut() {
            for i in list {
                i.as_object_mut().map(|o| o.remove("router"));
            }
        }
        let back: StatusSnapshot = serde_json::from_value(v).expect("parse");
        assert_eq!(
            back.vrrp_instances[0].router,
            VirtualRouterStatus::default()
        );
    }
}
