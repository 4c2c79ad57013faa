//! The model of `global_defs`: mail settings, the VRRP defaults that
//! instances inherit, script security, the IPVS flush settings, the
//! connection-sync daemon and the IPVS timeouts.
//!
//! Owns: [`GlobalDefs`] and the types only it uses. May not: depend on the
//! VRRP or LVS parts of the model (they inherit from it, not the reverse).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::common::{NotifyScript, Origin, ScriptUser, VrrpVersion};
use super::{opt_secs, secs};

/// `global_defs { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {
    /// Recipients of e-mail alerts (`notification_email { ... }`).
    pub notification_email: Vec<String>,
    /// Sender address. `None`: keepalived uses `keepalived@<host name>`.
    pub notification_email_from: Option<String>,
    /// `smtp_server HOST [PORT]`; `None` means no e-mail is sent.
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
    /// `vmac_prefix`: the start of the names given to `use_vmac` and
    /// `use_ipvlan` interfaces configured without one (PREFIX.VRID),
    /// default "vrrp".
    pub vmac_prefix: String,
    /// `vmac_addr_prefix`: the start of the names of `use_vmac_addr`'s
    /// macvlans; `None`: `vmac_prefix`.
    pub vmac_addr_prefix: Option<String>,
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
    /// `vrrp_garp_extra_if` / `vrrp_vmac_garp_intvl`: the instances'
    /// default `garp_extra_if`.
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    /// `vrrp_gna_interval`: gap between two unsolicited NAs, default 0.
    #[serde(with = "secs")]
    pub vrrp_gna_interval: Duration,
    /// `vrrp_skip_check_adv_addr` (default for every instance's
    /// `skip_check_adv_addr`).
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_lower_prio_no_advert` (default of every instance's
    /// `lower_prio_no_advert`).
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert` (default of every instance's
    /// `higher_prio_send_advert`).
    pub vrrp_higher_prio_send_advert: bool,
    /// `script_user USER [GROUP]`: who runs scripts that name no user.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`: refuse root scripts writable by others.
    pub enable_script_security: bool,
    /// `umask`: the file-mode creation mask the daemon sets at start-up
    /// (so for the files it and its scripts create); `None`: the one it
    /// was started with.
    pub umask: Option<u32>,
    /// `lvs_flush`: flush the whole IPVS table at start-up.
    pub lvs_flush: bool,
    /// Top-level `net_namespace NAME`: the daemon runs inside the named
    /// network namespace (`/run/netns/NAME`, made with `ip netns add`).
    /// Fixed for the daemon's life: a reload cannot change it.
    pub net_namespace: Option<String>,
    /// Top-level `net_namespace_ipvs [NAME]`: the IPVS table (services,
    /// destinations, sync daemons) lives in the named namespace
    /// (`/run/netns/NAME`; no name: the init process's, `/proc/1/ns/net`),
    /// while VRRP and the health checks stay where the daemon runs.
    /// Fixed for the daemon's life, as keepalived's.
    #[serde(default)]
    pub net_namespace_ipvs: Option<String>,
    /// Top-level `instance NAME`: which of several daemons on one host
    /// this is. keepalived names its pid files, syslog ident and DBus
    /// paths after it; tandem its default control socket and dump file
    /// and its DBus paths. Fixed for the daemon's life.
    pub instance: Option<String>,
    /// `enable_dbus`: serve keepalived's `org.keepalived.Vrrp1` interface
    /// on the system bus (instance state, reload, dumps).
    pub enable_dbus: bool,
    /// `dbus_service_name`: the bus name to own instead of
    /// `org.keepalived.Vrrp1` (two daemons on one bus).
    pub dbus_service_name: Option<String>,
    /// `vrrp_priority`, `vrrp_rt_priority`, `vrrp_no_swap`,
    /// `vrrp_rlimit_rttime`, `vrrp_cpu_affinity`: the threads that run
    /// VRRP (and the rest of the daemon's event loop).
    pub vrrp_process: ProcessSched,
    /// The same `checker_*` keywords: the health-check threads.
    pub checker_process: ProcessSched,
    /// The same `bfd_*` keywords: the BFD thread.
    pub bfd_process: ProcessSched,
    /// `max_auto_priority [N]`: when the event loop runs late by
    /// `min_auto_priority_delay`, switch it to SCHED_RR and raise its
    /// real-time priority one step at a time, up to N. `None`: never
    /// (keepalived's default, also `-1`).
    pub max_auto_priority: Option<u8>,
    /// `min_auto_priority_delay USECS`, default 1 s.
    #[serde(with = "secs")]
    pub min_auto_priority_delay: Duration,
    /// `lvs_flush_on_stop [VS]`.
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `no_email_faults`: no mail when an instance or group enters FAULT.
    pub no_email_faults: bool,
    /// `no_checker_emails [BOOL]`: mail when a real server changes state,
    /// not also when one of its several checkers changes its verdict.
    pub no_checker_emails: bool,
    /// `checker_log_all_failures [BOOL]`: every checker logs each failed
    /// probe while it is up, as with its own `log_all_failures`.
    pub checker_log_all_failures: bool,
    /// `lvs_sync_daemon IFNAME ...` (or the older per-instance
    /// `lvs_sync_daemon_interface IFNAME`); `None`: no sync daemon, and the
    /// kernel's daemons are left alone.
    #[serde(default)]
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`, set in the kernel at start
    /// and on reload; what is not given is left as the kernel has it.
    #[serde(default)]
    pub lvs_timeouts: LvsTimeouts,
    /// `vrrp_strict`: the default of every instance's `strict_mode`
    /// (RFC compliance: the rules are in `config::build::strict`).
    #[serde(default)]
    pub vrrp_strict: bool,
    /// `dynamic_interfaces [allow_if_changes]`: an instance whose
    /// interfaces do not all exist waits in FAULT until they do, and one
    /// whose interface is deleted and made again runs on the new one.
    /// `None`: every interface must exist at start.
    #[serde(default)]
    pub dynamic_interfaces: Option<DynamicInterfaces>,
    /// The interfaces whose carrier is polled (MII, ethtool or the
    /// interface flags, every second) instead of read from rtnetlink
    /// link events: those of `linkbeat_interfaces { ... }`, and the own
    /// interface of each instance (not on a vmac) when
    /// `linkbeat_use_polling` is set globally or in the instance.
    #[serde(default)]
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    /// `linkbeat_use_polling` (top level; keepalived keeps it with its
    /// global settings).
    #[serde(default)]
    pub linkbeat_use_polling: bool,
    /// The nftables table that keeps a master in non-accept mode from
    /// receiving traffic to its VIPs (`nftables`, `nftables_priority`,
    /// `nftables_counters`, `nftables_ifindex`, and `vrrp_iptables`, which
    /// uses it too).
    #[serde(default)]
    pub nftables: NftablesDefs,
    /// `notify_fifo NAME [USER [GROUP]]` (+ `notify_fifo_script`): every
    /// VRRP and LVS state change, one line each.
    #[serde(default)]
    pub notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_fifo ...`: the VRRP lines only.
    #[serde(default)]
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `lvs_notify_fifo ...`: the virtual and real server lines only.
    #[serde(default)]
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `snmp_socket`, `enable_snmp_vrrp` (`enable_snmp_keepalived`),
    /// `enable_traps`: the AgentX subagent.
    #[serde(default)]
    pub snmp: SnmpDefs,
    /// `rs_init_notifies`: at start (not at a reload), every real server
    /// that starts alive runs its `notify_up` and writes its `RS ... UP`
    /// line to the LVS FIFOs, as if it had just come up.
    #[serde(default)]
    pub rs_init_notifies: bool,
    /// `vrrp_notify_priority_changes [BOOL]`: the instances' default of
    /// `notify_priority_changes`.
    #[serde(default)]
    pub vrrp_notify_priority_changes: bool,
    /// `fifo_write_vrrp_states_on_reload`: after a reload, the VRRP FIFOs
    /// get the state of every sync group and of every instance the reload
    /// kept that is not master (keepalived's `vrrp_init_state`).
    #[serde(default)]
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `vrrp_startup_delay SECS` (also `vrrp_delay_after_boot`'s role in
    /// keepalived): the VRRP instances start this long after the daemon
    /// does; zero, the default, means at once.
    #[serde(default, with = "secs")]
    pub vrrp_startup_delay: Duration,
    /// `startup_script SCRIPT [USER [GROUP]]`: run when the daemon starts,
    /// before the VRRP instances and checkers, bounded by
    /// `startup_script_timeout`.
    #[serde(default)]
    pub startup_script: Option<NotifyScript>,
    /// `startup_script_timeout SECS` (1..=1000), default 10 s.
    #[serde(default = "ten_secs", with = "secs")]
    pub startup_script_timeout: Duration,
    /// `shutdown_script SCRIPT [USER [GROUP]]`: run when the daemon stops,
    /// after the VRRP instances and the LVS side have stopped.
    #[serde(default)]
    pub shutdown_script: Option<NotifyScript>,
    /// `shutdown_script_timeout SECS` (1..=1000), default 10 s.
    #[serde(default = "ten_secs", with = "secs")]
    pub shutdown_script_timeout: Duration,
    /// `reload_time_file PATH`: a file whose first line (`HH:MM:SS`,
    /// `YY-MM-DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS`, each with an optional
    /// `Z` for UTC) schedules a reload; watched for changes while the
    /// daemon runs.
    #[serde(default)]
    pub reload_time_file: Option<String>,
    /// `vrrp_netlink_monitor_rcv_bufs N` (+ `_force`): the rtnetlink event
    /// subscriptions' receive buffer.
    #[serde(default)]
    pub vrrp_netlink_monitor_rcv_bufs: NetlinkRcvBuf,
    /// `vrrp_netlink_cmd_rcv_bufs N` (+ `_force`): the rtnetlink request
    /// sockets' receive buffer.
    #[serde(default)]
    pub vrrp_netlink_cmd_rcv_bufs: NetlinkRcvBuf,
    /// `process_monitor_rcv_bufs N` (+ `_force`): the process-events
    /// connector's receive buffer (`vrrp_track_process`).
    #[serde(default)]
    pub process_monitor_rcv_bufs: NetlinkRcvBuf,
    /// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE`: how each instance adds to
    /// its VRRP receive socket's buffer (none given: the kernel's default).
    #[serde(default)]
    pub vrrp_rx_bufs_policy: RxBufsPolicy,
    /// `vrrp_rx_bufs_multiplier N` (default 3): how many MTUs or adverts
    /// an instance adds under `MTU` / `ADVERT`.
    #[serde(default = "three")]
    pub vrrp_rx_bufs_multiplier: u32,
    /// `process_name NAME`: the daemon's main thread's name, which is the
    /// process's (`/proc/PID/comm`, what `ps` and `pgrep` match), as
    /// keepalived names its parent process.
    #[serde(default)]
    pub process_name: Option<String>,
    /// `reload_check_config [LOG_FILE]`: keepalived checks a new file
    /// before it reloads, as tandem always does; the check's messages of
    /// each reload are written to LOG_FILE (default /dev/null).
    #[serde(default)]
    pub reload_check_config: Option<String>,
    /// `random_seed N`: the seed of the daemon's random numbers (BFD
    /// discriminators, ports and jitter, the checkers' `warmup` spread,
    /// DNS query ids) and of `${_RANDOM}` after the line.
    #[serde(default)]
    pub random_seed: Option<u32>,
    /// `log_unknown_vrids`: log each advert received for a VRID no
    /// instance on its interface runs.
    #[serde(default)]
    pub log_unknown_vrids: bool,
    /// `reload_repeat`: the file is kept after its reload, so that a time
    /// without a date reloads again at that time every day.
    #[serde(default)]
    pub reload_repeat: bool,
    /// `disable_local_igmp`: `net.ipv4.igmp_link_local_mcast_reports` is
    /// set to 0 while the daemon runs (no IGMP reports for 224.0.0.0/24,
    /// VRRP's 224.0.0.18 included), and back to 1 at its stop.
    #[serde(default)]
    pub disable_local_igmp: bool,
}

/// A netlink socket's receive buffer as a `*_rcv_bufs` knob and its
/// `_force` set it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetlinkRcvBuf {
    /// Bytes (SO_RCVBUF's argument; the kernel doubles it); `None`: the
    /// socket's own default.
    pub size: Option<u32>,
    /// `_force`: SO_RCVBUFFORCE, past `net.core.rmem_max`.
    pub force: bool,
}

/// `vrrp_rx_bufs_policy`: what each instance adds to the SO_RCVBUF of the
/// VRRP receive socket it shares (keepalived's sum over the socket's
/// instances; an instance's `kernel_rx_buf_size` replaces its share).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RxBufsPolicy {
    /// Not given: only `kernel_rx_buf_size` sizes a socket.
    #[default]
    Unset,
    /// `MTU`: multiplier × the interface's MTU.
    Mtu,
    /// `ADVERT`: multiplier × the instance's advert (IP header included).
    Advert,
    /// `N`: N bytes.
    Size(u32),
}

fn three() -> u32 {
    3
}

fn ten_secs() -> Duration {
    Duration::from_secs(10)
}

/// The AgentX subagent (keepalived's `--snmp` part of global_defs). It
/// runs when some MIB is enabled; `enable_traps` alone sends nothing, as
/// in keepalived, whose traps each belong to an enabled MIB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnmpDefs {
    /// `snmp_socket ADDRESS`: the master agent, as net-snmp writes it
    /// (`unix:/path`, `/path`, `tcp:host:port`); `None`: net-snmp's
    /// default, `/var/agentx/master`.
    pub socket: Option<String>,
    /// `enable_snmp_vrrp`: KEEPALIVED-MIB's global and VRRP groups.
    pub vrrp: bool,
    /// `enable_snmp_rfcv2` (or `enable_snmp_rfc`): RFC 2787's VRRP-MIB
    /// (mib-2.68), the VRRPv2 IPv4 instances.
    #[serde(default)]
    pub rfcv2: bool,
    /// `enable_snmp_rfcv3` (or `enable_snmp_rfc`): RFC 6527's VRRPv3-MIB
    /// (mib-2.207).
    #[serde(default)]
    pub rfcv3: bool,
    /// `enable_traps`: send the enabled MIBs' notifications.
    pub traps: bool,
    /// `enable_snmp_checker`: KEEPALIVED-MIB's checker group (virtual and
    /// real servers, their groups, the real server and quorum traps).
    #[serde(default)]
    pub checker: bool,
}

impl SnmpDefs {
    /// Whether the subagent runs at all.
    pub fn enabled(&self) -> bool {
        self.vrrp || self.checker || self.rfcv2 || self.rfcv3
    }
}

/// A FIFO the daemon writes state changes to, keepalived's line format
/// (`INSTANCE "VI_1" MASTER 100`, `GROUP "G" BACKUP 0`,
/// `VS [192.0.2.1]:tcp:80 UP`, `RS [198.51.100.2]:tcp:80 [192.0.2.1]:tcp:80 DOWN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifo {
    /// The FIFO's path; created (mode 0644) when missing, and then removed
    /// at exit.
    pub path: String,
    /// `USER [GROUP]`: the owner of a FIFO the daemon creates; `None`: the
    /// default script user.
    pub user: Option<ScriptUser>,
    /// `*_script SCRIPT [USER [GROUP]]`: started once at start with the
    /// FIFO's path as its last argument, to read it.
    pub script: Option<NotifyScript>,
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
            vmac_prefix: "vrrp".to_string(),
            vmac_addr_prefix: None,
            vrrp_version: VrrpVersion::V2,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_lower_prio_delay: Duration::from_secs(5),
            vrrp_garp_lower_prio_repeat: 5,
            vrrp_garp_master_refresh: None,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_garp_extra_if: None,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_skip_check_adv_addr: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            script_user: None,
            enable_script_security: false,
            umask: None,
            lvs_flush: false,
            net_namespace: None,
            net_namespace_ipvs: None,
            instance: None,
            enable_dbus: false,
            dbus_service_name: None,
            vrrp_process: ProcessSched::default(),
            checker_process: ProcessSched::default(),
            bfd_process: ProcessSched::default(),
            max_auto_priority: None,
            min_auto_priority_delay: Duration::from_secs(1),
            lvs_flush_on_stop: LvsFlushOnStop::No,
            no_email_faults: false,
            no_checker_emails: false,
            checker_log_all_failures: false,
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts::default(),
            vrrp_strict: false,
            dynamic_interfaces: None,
            linkbeat_interfaces: Vec::new(),
            linkbeat_use_polling: false,
            nftables: NftablesDefs::default(),
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            snmp: SnmpDefs::default(),
            rs_init_notifies: false,
            vrrp_notify_priority_changes: false,
            fifo_write_vrrp_states_on_reload: false,
            vrrp_startup_delay: Duration::ZERO,
            startup_script: None,
            startup_script_timeout: ten_secs(),
            shutdown_script: None,
            shutdown_script_timeout: ten_secs(),
            reload_time_file: None,
            reload_repeat: false,
            disable_local_igmp: false,
            random_seed: None,
            log_unknown_vrids: false,
            vrrp_netlink_monitor_rcv_bufs: NetlinkRcvBuf::default(),
            vrrp_netlink_cmd_rcv_bufs: NetlinkRcvBuf::default(),
            process_monitor_rcv_bufs: NetlinkRcvBuf::default(),
            vrrp_rx_bufs_policy: RxBufsPolicy::Unset,
            vrrp_rx_bufs_multiplier: 3,
            process_name: None,
            reload_check_config: None,
        }
    }
}

/// `smtp_server HOST [PORT]` (port default 25).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpServer {
    pub host: SmtpHost,
    pub port: u16,
}

/// `smtp_server`'s host: an address, or a host name that the daemon
/// resolves through the system resolver when it starts and at each
/// reload, as keepalived resolves it each time it reads the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SmtpHost {
    Address(IpAddr),
    Name(String),
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

/// `lvs_sync_daemon IFNAME [[inst] VRRP_INSTANCE] [id N] [maxlen N]
/// [port N] [ttl N] [group ADDR]`: the kernel's connection-sync daemons
/// (docs/ipvs.md, "Connection synchronisation"). `None` fields are not
/// configured: the kernel's defaults (or, for `syncid`, the instance's
/// `virtual_router_id`) apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsSyncDaemon {
    /// The interface sync messages go out of and come in on (at most 15
    /// bytes, the kernel's limit).
    pub ifname: String,
    /// The vrrp_instance whose role picks the master or backup daemon;
    /// `None`: both daemons always, syncid 0.
    pub instance: Option<String>,
    /// `id`, 0-255.
    pub syncid: Option<u8>,
    /// `maxlen`, 1-65507.
    pub maxlen: Option<u16>,
    /// `port`, 1-65535 (kernel default 8848).
    pub port: Option<u16>,
    /// `ttl`, 1-255 (kernel default 1).
    pub ttl: Option<u8>,
    /// `group`: a multicast address (kernel default 224.0.0.81).
    pub group: Option<IpAddr>,
    /// Where the keyword is, for errors about it.
    #[serde(skip)]
    pub origin: Origin,
    /// Where the instance is named.
    #[serde(skip)]
    pub instance_origin: Origin,
    /// Where the group is written.
    #[serde(skip)]
    pub group_origin: Origin,
}

/// `lvs_timeouts`: IPVS's TCP, TCP FIN_WAIT and UDP timeouts in seconds
/// (0-2678400, 31 days). `None`: not given, the kernel keeps its value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsTimeouts {
    pub tcp: Option<u32>,
    pub tcpfin: Option<u32>,
    pub udp: Option<u32>,
}

impl LvsTimeouts {
    /// Whether any timeout is given.
    pub fn is_set(&self) -> bool {
        self.tcp.is_some() || self.tcpfin.is_some() || self.udp.is_some()
    }
}

/// How the threads of one side of the daemon (VRRP, checks) are
/// scheduled: keepalived's per-process knobs, applied per thread.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSched {
    /// `*_priority -20..19`: the nice value.
    pub nice: Option<i8>,
    /// `*_rt_priority 1..99`: SCHED_RR at this priority.
    pub rt_priority: Option<u8>,
    /// `*_no_swap`: lock the daemon's memory (mlockall).
    pub no_swap: bool,
    /// `*_rlimit_rttime USECS`: RLIMIT_RTTIME while real-time.
    pub rlimit_rttime: Option<u32>,
    /// `*_cpu_affinity CPU...`: the CPUs the threads may run on.
    pub cpu_affinity: Vec<u16>,
    /// `vrrp_process_name` / `checker_process_name` / `bfd_process_name`
    /// (or `process_names`' defaults): the threads' name (their comm,
    /// at most 15 bytes), as keepalived names its child processes.
    #[serde(default)]
    pub name: Option<String>,
}

/// The firewall settings of global_defs. tandem always uses nftables
/// (docs/config.md, "Accept mode"): `vrrp_iptables` names chains that are
/// recorded here only so that check-config and the daemon can say they are
/// not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftablesDefs {
    /// `nftables [TABLE]`: the table's name in families `ip` and `ip6`,
    /// default `keepalived`.
    pub table: String,
    /// `nftables_priority N`: the base chains' hook priority, default -1
    /// (just before the usual filter chains at 0).
    pub priority: i32,
    /// `nftables_counters`: a `counter` on every rule.
    pub counters: bool,
    /// `nftables_ifindex`: IPv6 link-local VIPs are matched by address and
    /// interface index (tandem's only way; given or not).
    pub ifindex: bool,
    /// `vrrp_iptables [IN [OUT]]`, if given: the chains keepalived would
    /// fill with iptables (empty: INPUT/OUTPUT). Not used.
    pub vrrp_iptables: Option<Vec<String>>,
}

impl Default for NftablesDefs {
    fn default() -> Self {
        NftablesDefs {
            table: "keepalived".to_string(),
            priority: -1,
            counters: false,
            ifindex: false,
            vrrp_iptables: None,
        }
    }
}

/// `dynamic_interfaces [allow_if_changes]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicInterfaces {
    /// `allow_if_changes`: a link made again as another kind (a macvlan
    /// where there was a plain link, or a macvlan on another base) is
    /// used; without it, such a link is ignored, as keepalived ignores it.
    pub allow_if_changes: bool,
}

/// Where the AgentX master listens (`snmp_socket`), in net-snmp's
/// transport syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentxAddress {
    /// `unix:/var/agentx/master`, or a plain path.
    Unix(std::path::PathBuf),
    /// `tcp:HOST:PORT` (`tcp:[2001:db8::1]:705` for IPv6), or `HOST:PORT`.
    Tcp { host: String, port: u16 },
}

/// net-snmp's other transport names: an AgentX address with one of them
/// is refused rather than read as a host name.
const OTHER_TRANSPORTS: &[&str] = &[
    "udp", "udp6", "udpv6", "tcpv6", "ipx", "dtlsudp", "tlstcp", "ssh", "callback", "alias",
];

/// net-snmp's default master socket, keepalived's when `snmp_socket` is
/// not given.
pub const DEFAULT_AGENTX_SOCKET: &str = "/var/agentx/master";

impl AgentxAddress {
    /// Read an `snmp_socket` value; the error says what is wrong.
    pub fn parse(text: &str) -> Result<AgentxAddress, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Self::parse_path(path);
        }
        if text.starts_with('/') {
            return Self::parse_path(text);
        }
        let rest = match text.split_once(':') {
            Some((d, rest)) if d.eq_ignore_ascii_case("tcp") || d.eq_ignore_ascii_case("tcp6") => {
                rest
            }
            Some((d, _)) if OTHER_TRANSPORTS.iter().any(|t| d.eq_ignore_ascii_case(t)) => {
                return Err(format!(
                    "transport \"{d}\" is not supported (unix: or tcp:)"
                ));
            }
            _ => text,
        };
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| "expected unix:PATH, /PATH or tcp:HOST:PORT".to_string())?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("\"{port}\" is not a port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("the host is missing".into());
        }
        Ok(AgentxAddress::Tcp {
            host: host.to_string(),
            port,
        })
    }

    fn parse_path(path: &str) -> Result<AgentxAddress, String> {
        if !path.starts_with('/') {
            return Err("a unix socket path must be absolute".into());
        }
        Ok(AgentxAddress::Unix(path.into()))
    }
}

/// One polled interface (`linkbeat_interfaces`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkbeatInterface {
    pub name: String,
    /// The preferred way to read the carrier; `None`: MII, else ethtool,
    /// else the flags (keepalived's order). A way the driver does not
    /// answer falls back to the next, as in keepalived.
    pub kind: Option<LinkbeatKind>,
}

/// How a linkbeat interface's carrier is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkbeatKind {
    /// SIOCGMIIPHY / SIOCGMIIREG: the PHY's BMSR link bit.
    Mii,
    /// SIOCETHTOOL ETHTOOL_GLINK.
    Ethtool,
    /// SIOCGIFFLAGS: IFF_UP and IFF_RUNNING only.
    Ioctl,
}

/// `garp_extra_if [all] SECS` / `vrrp_garp_extra_if` (keepalived 2.2.2
/// renamed them from `vmac_garp_intvl` / `vrrp_vmac_garp_intvl`): while
/// master, every `interval` one gratuitous ARP / unsolicited NA on each
/// interface other than the instance's that carries one of its VIPs —
/// only VMACs of their own without `all`, every such interface with it.
/// The adverts keep the switches' tables fresh for the instance's own
/// interface only; this does it for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpExtraIf {
    #[serde(with = "secs")]
    pub interval: Duration,
    /// `all`: on every extra interface, not only VMACs.
    pub all: bool,
}
