//! Keyword tables: what tandem reads in each block, what keepalived reads
//! there that tandem does not support yet, deprecated aliases, and
//! "did you mean" suggestions for misspellings.
//!
//! A keepalived keyword that tandem does not implement must be refused
//! with exactly that message, never with "unknown keyword" and never
//! silently ignored: an operator who relies on `use_vmac` must not get a
//! daemon that quietly behaves differently.
//!
//! Owns: the keyword lists and the "did you mean" distance. May not: read
//! statements or values (the builder does), or depend on the model.

/// tandem's own keywords, read where keepalived reads nothing like them
/// (keepalived refuses a file that has one): the scale-out block.
pub const TANDEM_EXTENSIONS: &[&str] = &["tandem_bgp"];

/// The blocks of keepalived.conf, as the builder walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Top,
    GlobalDefs,
    VrrpScript,
    VrrpSyncGroup,
    VrrpInstance,
    Authentication,
    VirtualServerGroup,
    VirtualServer,
    RealServer,
    HttpGet,
    SslGet,
    TcpCheck,
    PingCheck,
    MiscCheck,
    DnsCheck,
    SmtpCheck,
    SmtpHost,
    UdpCheck,
    BfdCheck,
    Url,
    TrackFile,
    FileCheck,
    BfdInstance,
    TrackProcess,
    /// tandem's own `tandem_bgp` block in a virtual_server (no keepalived
    /// equivalent): announce the VIP through BIRD (docs/scale-out.md).
    TandemBgp,
    /// A top-level `garp_group`.
    GarpGroup,
}

impl Block {
    /// The block's name in messages ("in vrrp_instance").
    pub fn name(self) -> &'static str {
        match self {
            Block::Top => "the top level",
            Block::GlobalDefs => "global_defs",
            Block::VrrpScript => "vrrp_script",
            Block::VrrpSyncGroup => "vrrp_sync_group",
            Block::VrrpInstance => "vrrp_instance",
            Block::Authentication => "authentication",
            Block::VirtualServerGroup => "virtual_server_group",
            Block::VirtualServer => "virtual_server",
            Block::RealServer => "real_server",
            Block::HttpGet => "HTTP_GET",
            Block::SslGet => "SSL_GET",
            Block::TcpCheck => "TCP_CHECK",
            Block::PingCheck => "PING_CHECK",
            Block::MiscCheck => "MISC_CHECK",
            Block::DnsCheck => "DNS_CHECK",
            Block::SmtpCheck => "SMTP_CHECK",
            Block::SmtpHost => "SMTP_CHECK host",
            Block::UdpCheck => "UDP_CHECK",
            Block::BfdCheck => "BFD_CHECK",
            Block::Url => "url",
            Block::TrackFile => "track_file",
            Block::FileCheck => "FILE_CHECK",
            Block::BfdInstance => "bfd_instance",
            Block::TrackProcess => "vrrp_track_process",
            Block::TandemBgp => "tandem_bgp",
            Block::GarpGroup => "garp_group",
        }
    }

    /// Keywords tandem reads in this block (deprecated aliases included).
    // flat table: one literal list per block, so that a block's vocabulary
    // reads in one place and a new keyword is one line.
    pub fn supported(self) -> &'static [&'static str] {
        match self {
            Block::Top => &[
                "global_defs",
                "net_namespace",
                "net_namespace_ipvs",
                "instance",
                "bfd_instance",
                "vrrp_script",
                "track_file",
                "vrrp_track_file",
                "vrrp_track_process",
                "vrrp_sync_group",
                "vrrp_instance",
                "virtual_server_group",
                "virtual_server",
                "static_ipaddress",
                "static_routes",
                "static_rules",
                "track_group",
                "child_wait_time",
                "use_pid_dir",
                "linkbeat_interfaces",
                "garp_group",
                "linkbeat_use_polling",
            ],
            Block::GlobalDefs => &[
                "default_interface",
                "notification_email",
                "notification_email_from",
                "smtp_server",
                "smtp_helo_name",
                "smtp_connect_timeout",
                "smtp_alert",
                "smtp_alert_vrrp",
                "smtp_alert_checker",
                "router_id",
                "vrrp_mcast_group4",
                "vrrp_mcast_group6",
                "vrrp_version",
                "vmac_prefix",
                "vmac_addr_prefix",
                "vrrp_garp_master_delay",
                "vrrp_garp_master_repeat",
                "vrrp_garp_lower_prio_delay",
                "vrrp_garp_lower_prio_repeat",
                "vrrp_garp_master_refresh",
                "vrrp_garp_master_refresh_repeat",
                "vrrp_garp_extra_if",
                "vrrp_vmac_garp_intvl",
                "vrrp_garp_interval",
                "vrrp_min_garp",
                "vrrp_gna_interval",
                "vrrp_skip_check_adv_addr",
                "vrrp_lower_prio_no_advert",
                "vrrp_higher_prio_send_advert",
                "vrrp_check_unicast_src",
                "vrrp_priority",
                "checker_priority",
                "vrrp_no_swap",
                "checker_no_swap",
                "vrrp_rt_priority",
                "checker_rt_priority",
                "vrrp_rlimit_rttime",
                "checker_rlimit_rttime",
                "vrrp_rlimit_rtime",
                "checker_rlimit_rtime",
                "vrrp_cpu_affinity",
                "checker_cpu_affinity",
                "process_name",
                "process_names",
                "vrrp_process_name",
                "checker_process_name",
                "lvs_process_name",
                "bfd_process_name",
                "bfd_priority",
                "bfd_rt_priority",
                "bfd_no_swap",
                "bfd_rlimit_rttime",
                "bfd_rlimit_rtime",
                "bfd_cpu_affinity",
                "max_auto_priority",
                "min_auto_priority_delay",
                "script_user",
                "enable_script_security",
                "lvs_flush",
                "enable_dbus",
                "dbus_service_name",
                "dynamic_interfaces",
                "umask",
                "lvs_flush_on_stop",
                "lvs_flush_onstop",
                "lvs_sync_daemon",
                "lvs_timeouts",
                "no_email_faults",
                "no_checker_emails",
                "checker_log_all_failures",
                "vrrp_strict",
                "vrrp_iptables",
                "vrrp_ipsets",
                "nftables",
                "nftables_priority",
                "nftables_counters",
                "nftables_ifindex",
                "notify_fifo",
                "notify_fifo_script",
                "vrrp_notify_fifo",
                "vrrp_notify_fifo_script",
                "lvs_notify_fifo",
                "lvs_notify_fifo_script",
                "snmp_socket",
                "enable_snmp_vrrp",
                "enable_snmp_keepalived",
                "enable_snmp_rfc",
                "enable_snmp_rfcv2",
                "enable_snmp_rfcv3",
                "enable_traps",
                "rs_init_notifies",
                "vrrp_notify_priority_changes",
                "fifo_write_vrrp_states_on_reload",
                "vrrp_startup_delay",
                "startup_script",
                "startup_script_timeout",
                "shutdown_script",
                "shutdown_script_timeout",
                "reload_time_file",
                "reload_repeat",
                "disable_local_igmp",
                "reload_check_config",
                "vrrp_netlink_cmd_rcv_bufs",
                "vrrp_rx_bufs_policy",
                "vrrp_rx_bufs_multiplier",
                "vrrp_netlink_cmd_rcv_bufs_force",
                "vrrp_netlink_monitor_rcv_bufs",
                "vrrp_netlink_monitor_rcv_bufs_force",
                "lvs_netlink_cmd_rcv_bufs",
                "lvs_netlink_cmd_rcv_bufs_force",
                "lvs_netlink_monitor_rcv_bufs",
                "lvs_netlink_monitor_rcv_bufs_force",
                "process_monitor_rcv_bufs",
                "process_monitor_rcv_bufs_force",
                "random_seed",
                "log_unknown_vrids",
            ],
            Block::VrrpScript => &[
                "script",
                "interval",
                "timeout",
                "weight",
                "rise",
                "fall",
                "user",
                "init_fail",
            ],
            Block::VrrpSyncGroup => &[
                "group",
                "track_interface",
                "track_script",
                "track_file",
                "track_bfd",
                "track_process",
                "notify_master",
                "notify_backup",
                "notify_fault",
                "notify_stop",
                "notify",
                "smtp_alert",
                "notify_priority_changes",
                "sync_group_tracking_weight",
            ],
            Block::VrrpInstance => &[
                "debug",
                "lvs_sync_daemon_interface",
                "kernel_rx_buf_size",
                "old_unicast_checksum",
                "unicast_fault_no_peer",
                "state",
                "interface",
                "use_vmac",
                "use_ipvlan",
                "vmac_xmit_base",
                "use_vmac_addr",
                "virtual_router_id",
                "priority",
                "advert_int",
                "version",
                "nopreempt",
                "native_ipv6",
                "mcast_dst_ip",
                "preempt",
                "preempt_delay",
                "authentication",
                "virtual_ipaddress",
                "virtual_ipaddress_excluded",
                "virtual_routes",
                "virtual_rules",
                "promote_secondaries",
                "track_interface",
                "track_script",
                "track_file",
                "track_bfd",
                "track_process",
                "unicast_src_ip",
                "mcast_src_ip",
                "unicast_peer",
                "notify_master",
                "notify_backup",
                "notify_fault",
                "notify_stop",
                "notify",
                "notify_master_rx_lower_pri",
                "notify_deleted",
                "notify_priority_changes",
                "smtp_alert",
                "accept",
                "no_accept",
                "strict_mode",
                "skip_check_adv_addr",
                "lower_prio_no_advert",
                "higher_prio_send_advert",
                "dont_track_primary",
                "linkbeat_use_polling",
                "check_unicast_src",
                "track_src_ip",
                "unicast_ttl",
                "garp_master_delay",
                "garp_master_repeat",
                "garp_lower_prio_delay",
                "garp_lower_prio_repeat",
                "garp_master_refresh",
                "garp_master_refresh_repeat",
                "garp_extra_if",
                "vmac_garp_intvl",
            ],
            Block::Authentication => &["auth_type", "auth_pass"],
            Block::VirtualServerGroup => &["fwmark"],
            Block::VirtualServer => &[
                "lvs_sched",
                "lb_algo",
                "lvs_method",
                "lb_kind",
                "protocol",
                "persistence_timeout",
                "persistence_granularity",
                "persistence_engine",
                "delay_loop",
                "quorum",
                "hysteresis",
                "quorum_up",
                "quorum_down",
                "alpha",
                "omega",
                "ha_suspend",
                "inhibit_on_failure",
                "sorry_server",
                "sorry_server_inhibit",
                "sorry_server_lvs_method",
                "virtualhost",
                "ops",
                "smtp_alert",
                "ip_family",
                "flag-1",
                "flag-2",
                "flag-3",
                "sh-port",
                "sh-fallback",
                "mh-port",
                "mh-fallback",
                "tandem_bgp",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "real_server",
            ],
            Block::RealServer => &[
                "weight",
                "lvs_method",
                "inhibit_on_failure",
                "notify_up",
                "notify_down",
                "uthreshold",
                "lthreshold",
                "smtp_alert",
                "virtualhost",
                "alpha",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "HTTP_GET",
                "SSL_GET",
                "TCP_CHECK",
                "MISC_CHECK",
                "DNS_CHECK",
                "SMTP_CHECK",
                "UDP_CHECK",
                "PING_CHECK",
                "BFD_CHECK",
                "FILE_CHECK",
            ],
            Block::HttpGet => &[
                "url",
                "http_protocol",
                "fast_recovery",
                "virtualhost",
                "enable_sni",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "nb_get_retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            Block::SslGet => &[
                "url",
                "http_protocol",
                "fast_recovery",
                "virtualhost",
                "enable_sni",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "nb_get_retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            Block::TcpCheck => &[
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            // check_ping.c: the common keywords, connection ones included.
            Block::PingCheck => &[
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            Block::MiscCheck => &[
                "misc_path",
                "misc_timeout",
                "misc_dynamic",
                "user",
                "alpha",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            Block::DnsCheck => &[
                "type",
                "name",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            Block::SmtpCheck => &[
                "helo_name",
                "host",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            Block::SmtpHost => &[
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            Block::UdpCheck => &[
                "payload",
                "require_reply",
                "min_reply_length",
                "max_reply_length",
                "connect_ip",
                "connect_port",
                "bindto",
                "bind_port",
                "bind_if",
                "fwmark",
                "alpha",
                "connect_timeout",
                "retry",
                "delay_before_retry",
                "warmup",
                "delay_loop",
                "log_all_failures",
            ],
            // check_bfd.c reads only these two.
            Block::BfdCheck => &["name", "alpha"],
            Block::Url => &[
                "path",
                "digest",
                "status_code",
                "virtualhost",
                "regex",
                "regex_no_match",
                "regex_options",
                "regex_stack",
                "regex_min_offset",
                "regex_max_offset",
            ],
            Block::TrackFile => &["file", "weight", "init_file"],
            Block::TandemBgp => &[
                "bird_socket",
                "include_file",
                "protocol",
                "drain_delay",
                "liveness_device",
            ],
            Block::FileCheck => &["track_file", "weight"],
            Block::BfdInstance => &[
                "neighbor_ip",
                "neighbour_ip",
                "source_ip",
                "min_rx",
                "min_tx",
                "idle_tx",
                "multiplier",
                "passive",
                "ttl",
                "hoplimit",
                "max_hops",
                "weight",
                "vrrp",
                "checker",
            ],
            Block::GarpGroup => &["garp_interval", "gna_interval", "interface", "interfaces"],
            Block::TrackProcess => &[
                "process",
                "param_match",
                "weight",
                "quorum",
                "quorum_max",
                "delay",
                "terminate_delay",
                "fork_delay",
                "full_command",
            ],
        }
    }

    /// keepalived keywords valid in this block that tandem does not
    /// implement yet (from keepalived.conf(5), version 2.2).
    // flat table: one literal list per block, like `supported`; it grows
    // by a line whenever keepalived adds an option tandem does not read.
    pub fn unsupported(self) -> &'static [&'static str] {
        match self {
            Block::Top => &["interface_up_down_delays", "SSL", "namespace_with_ipsets"],
            Block::GlobalDefs => GLOBAL_UNSUPPORTED,
            Block::VrrpScript => &[],
            Block::VrrpSyncGroup => &["global_tracking"],
            Block::VrrpInstance => &["vrf", "down_timer_adverts"],
            Block::Authentication => &[],
            Block::VirtualServerGroup => &[],
            // weight and hashed: read by keepalived 2.2.7 in
            // virtual_server too (undocumented).
            Block::VirtualServer => &["weight", "hashed"],
            Block::RealServer => &[],
            Block::HttpGet
            | Block::SslGet
            | Block::TcpCheck
            | Block::PingCheck
            | Block::MiscCheck
            | Block::DnsCheck
            | Block::SmtpCheck
            | Block::SmtpHost
            | Block::UdpCheck
            | Block::BfdCheck
            | Block::TrackFile
            | Block::FileCheck
            | Block::TrackProcess
            | Block::TandemBgp
            | Block::GarpGroup
            | Block::Url => &[],
            // multihop (RFC 5883): read by keepalived after 2.2.7.
            Block::BfdInstance => &["multihop"],
        }
    }
}

/// global_defs keywords of keepalived 2.2 that tandem does not implement.
const GLOBAL_UNSUPPORTED: &[&str] = &[
    "vrrp_down_timer_adverts",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "config_save_dir",
    "data_use_instance",
    "tmp_config_directory",
    "reload_file",
    "include_check",
];

/// Keywords that may be given more than once in a block: each adds to a
/// list instead of replacing a value.
pub const REPEATABLE: &[&str] = &[
    "url",
    "real_server",
    "HTTP_GET",
    "SSL_GET",
    "TCP_CHECK",
    "MISC_CHECK",
    "DNS_CHECK",
    "SMTP_CHECK",
    "UDP_CHECK",
    "BFD_CHECK",
    "PING_CHECK",
    // SMTP_CHECK's deprecated host blocks: one connection each.
    "host",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "virtual_rules",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_interface",
    "track_script",
    "track_file",
    "FILE_CHECK",
    "track_bfd",
    "unicast_peer",
    "group",
    "notification_email",
    // keepalived adds each line's options to the others.
    "regex_options",
];

/// Keywords given twice where keepalived keeps the *first* value: their
/// readers refuse the second one themselves (so no "replaces" warning).
pub const KEEP_FIRST: &[&str] = &[
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "snmp_socket",
    "startup_script",
    "shutdown_script",
    "notify_master_rx_lower_pri",
    "notify_deleted",
    "vmac_addr_prefix",
    // DNS_CHECK's and BFD_CHECK's: a second one is refused.
    "name",
];

/// A deprecated keyword and the keyword that replaces it.
pub fn deprecated_alias(keyword: &str) -> Option<&'static str> {
    match keyword {
        "lb_algo" => Some("lvs_sched"),
        "lb_kind" => Some("lvs_method"),
        "nb_get_retry" => Some("retry"),
        "mcast_src_ip" => Some("unicast_src_ip"),
        "lvs_flush_onstop" => Some("lvs_flush_on_stop"),
        // keepalived 2.0's name.
        "enable_snmp_keepalived" => Some("enable_snmp_vrrp"),
        // keepalived 2.2.2 renamed them.
        "vrrp_vmac_garp_intvl" => Some("vrrp_garp_extra_if"),
        "vmac_garp_intvl" => Some("garp_extra_if"),
        _ => None,
    }
}

/// The message for a keepalived keyword tandem does not implement.
pub fn unsupported_message(keyword: &str) -> String {
    format!("\"{keyword}\" is a keepalived option that tandem does not support yet")
}

/// The closest candidate to a misspelt `word`, if close enough to be a
/// plausible typo (optimal string alignment distance, so "priorty" and
/// "prioirty" both find "priority").
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = match word.chars().count() {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| (osa_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus transpositions).
pub fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let kw = Block::VrrpInstance.supported();
        assert_eq!(suggest("priorty", kw.iter().copied()), Some("priority"));
        assert_eq!(suggest("prioirty", kw.iter().copied()), Some("priority"));
        assert_eq!(
            suggest("virtual_routr_id", kw.iter().copied()),
            Some("virtual_router_id")
        );
        assert_eq!(suggest("zzzzzz", kw.iter().copied()), None);
    }

    #[test]
    fn tables_do_not_overlap() {
        for b in [
            Block::Top,
            Block::GlobalDefs,
            Block::VrrpScript,
            Block::VrrpSyncGroup,
            Block::VrrpInstance,
            Block::VirtualServer,
            Block::RealServer,
            Block::Url,
        ] {
            for k in b.unsupported() {
                assert!(
                    !b.supported().contains(k),
                    "{k} in both lists of {}",
                    b.name()
                );
            }
        }
    }
}
