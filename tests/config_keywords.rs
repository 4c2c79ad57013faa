//! Every keyword keepalived 2.2.7 reads is either read by tandem or
//! refused as "not supported yet": never "unknown keyword", which would
//! tell an operator their working configuration is misspelt.
//!
//! The lists below are what Debian's keepalived 2.2.7 accepts in each
//! block: every keyword of keepalived.conf(5) and every keyword-like
//! string of the keepalived binary, each run through `keepalived -t` in
//! that block (inside `unshare -n`), kept when keepalived did not answer
//! "Unknown keyword". So they include undocumented spellings keepalived
//! still reads (`bfd_rlimit_rtime`, `vrrp_rlimit_rtime`, `hashed`,
//! ...). `include` is read everywhere and left out (the lexer handles it).

use std::path::Path;

use tandem::config::keywords::Block;
use tandem::config::{LoadOptions, load_str};

/// What keepalived 2.2.7 reads in each block.
const KEEPALIVED_2_2_7: &[(Block, &[&str])] = &[
    (
        Block::Top,
        &[
            "interface_up_down_delays",
            "vrrp_track_file",
            "SSL",
            "bfd_instance",
            "child_wait_time",
            "garp_group",
            "global_defs",
            "instance",
            "linkbeat_interfaces",
            "linkbeat_use_polling",
            "namespace_with_ipsets",
            "net_namespace",
            "net_namespace_ipvs",
            "static_ipaddress",
            "static_routes",
            "static_rules",
            "track_file",
            "track_group",
            "use_pid_dir",
            "virtual_server",
            "virtual_server_group",
            "vrrp_instance",
            "vrrp_script",
            "vrrp_sync_group",
            "vrrp_track_process",
        ],
    ),
    (
        Block::GlobalDefs,
        &[
            "bfd_cpu_affinity",
            "bfd_no_swap",
            "bfd_priority",
            "bfd_process_name",
            "bfd_rlimit_rtime",
            "bfd_rlimit_rttime",
            "bfd_rt_priority",
            "checker_cpu_affinity",
            "checker_log_all_failures",
            "checker_no_swap",
            "checker_priority",
            "checker_process_name",
            "checker_rlimit_rtime",
            "checker_rlimit_rttime",
            "checker_rt_priority",
            "config_save_dir",
            "data_use_instance",
            "dbus_service_name",
            "default_interface",
            "disable_local_igmp",
            "dynamic_interfaces",
            "enable_dbus",
            "enable_script_security",
            "enable_snmp_checker",
            "enable_snmp_keepalived",
            "enable_snmp_rfc",
            "enable_snmp_rfcv2",
            "enable_snmp_rfcv3",
            "enable_snmp_vrrp",
            "enable_traps",
            "fifo_write_vrrp_states_on_reload",
            "include_check",
            "log_unknown_vrids",
            "lvs_flush",
            "lvs_flush_on_stop",
            "lvs_flush_onstop",
            "lvs_netlink_cmd_rcv_bufs",
            "lvs_netlink_cmd_rcv_bufs_force",
            "lvs_netlink_monitor_rcv_bufs",
            "lvs_netlink_monitor_rcv_bufs_force",
            "lvs_notify_fifo",
            "lvs_notify_fifo_script",
            "lvs_process_name",
            "lvs_sync_daemon",
            "lvs_timeouts",
            "max_auto_priority",
            "min_auto_priority_delay",
            "nftables",
            "nftables_counters",
            "nftables_ifindex",
            "nftables_ipvs",
            "nftables_ipvs_priority",
            "nftables_ipvs_start_fwmark",
            "nftables_priority",
            "no_checker_emails",
            "no_email_faults",
            "notification_email",
            "notification_email_from",
            "notify_fifo",
            "notify_fifo_script",
            "process_monitor_rcv_bufs",
            "process_monitor_rcv_bufs_force",
            "process_name",
            "process_names",
            "random_seed",
            "reload_check_config",
            "reload_file",
            "reload_repeat",
            "reload_time_file",
            "router_id",
            "rs_init_notifies",
            "script_user",
            "shutdown_script",
            "shutdown_script_timeout",
            "smtp_alert",
            "smtp_alert_checker",
            "smtp_alert_vrrp",
            "smtp_connect_timeout",
            "smtp_helo_name",
            "smtp_server",
            "snmp_socket",
            "startup_script",
            "startup_script_timeout",
            "tmp_config_directory",
            "umask",
            "vmac_addr_prefix",
            "vmac_prefix",
            "vrrp_check_unicast_src",
            "vrrp_cpu_affinity",
            "vrrp_down_timer_adverts",
            "vrrp_garp_extra_if",
            "vrrp_garp_interval",
            "vrrp_garp_lower_prio_delay",
            "vrrp_garp_lower_prio_repeat",
            "vrrp_garp_master_delay",
            "vrrp_garp_master_refresh",
            "vrrp_garp_master_refresh_repeat",
            "vrrp_garp_master_repeat",
            "vrrp_gna_interval",
            "vrrp_higher_prio_send_advert",
            "vrrp_iptables",
            "vrrp_lower_prio_no_advert",
            "vrrp_mcast_group4",
            "vrrp_mcast_group6",
            "vrrp_min_garp",
            "vrrp_netlink_cmd_rcv_bufs",
            "vrrp_netlink_cmd_rcv_bufs_force",
            "vrrp_netlink_monitor_rcv_bufs",
            "vrrp_netlink_monitor_rcv_bufs_force",
            "vrrp_no_swap",
            "vrrp_notify_fifo",
            "vrrp_notify_fifo_script",
            "vrrp_notify_priority_changes",
            "vrrp_priority",
            "vrrp_process_name",
            "vrrp_rlimit_rtime",
            "vrrp_rlimit_rttime",
            "vrrp_rt_priority",
            "vrrp_rx_bufs_multiplier",
            "vrrp_rx_bufs_policy",
            "vrrp_skip_check_adv_addr",
            "vrrp_startup_delay",
            "vrrp_strict",
            "vrrp_version",
            "vrrp_vmac_garp_intvl",
        ],
    ),
    (
        Block::VrrpScript,
        &[
            "fall",
            "init_fail",
            "interval",
            "rise",
            "script",
            "timeout",
            "user",
            "weight",
        ],
    ),
    (
        Block::VrrpSyncGroup,
        &[
            "global_tracking",
            "group",
            "notify",
            "notify_backup",
            "notify_fault",
            "notify_master",
            "notify_priority_changes",
            "notify_stop",
            "smtp_alert",
            "sync_group_tracking_weight",
            "track_bfd",
            "track_file",
            "track_interface",
            "track_process",
            "track_script",
        ],
    ),
    (
        Block::VrrpInstance,
        &[
            "lvs_sync_daemon_interface",
            "accept",
            "advert_int",
            "authentication",
            "check_unicast_src",
            "debug",
            "dont_track_primary",
            "down_timer_adverts",
            "garp_extra_if",
            "garp_lower_prio_delay",
            "garp_lower_prio_repeat",
            "garp_master_delay",
            "garp_master_refresh",
            "garp_master_refresh_repeat",
            "garp_master_repeat",
            "higher_prio_send_advert",
            "interface",
            "kernel_rx_buf_size",
            "linkbeat_use_polling",
            "lower_prio_no_advert",
            "mcast_dst_ip",
            "mcast_src_ip",
            "native_ipv6",
            "no_accept",
            "nopreempt",
            "notify",
            "notify_backup",
            "notify_deleted",
            "notify_fault",
            "notify_master",
            "notify_master_rx_lower_pri",
            "notify_priority_changes",
            "notify_stop",
            "old_unicast_checksum",
            "preempt",
            "preempt_delay",
            "priority",
            "promote_secondaries",
            "skip_check_adv_addr",
            "smtp_alert",
            "state",
            "strict_mode",
            "track_bfd",
            "track_file",
            "track_interface",
            "track_process",
            "track_script",
            "track_src_ip",
            "unicast_fault_no_peer",
            "unicast_peer",
            "unicast_src_ip",
            "unicast_ttl",
            "use_ipvlan",
            "use_vmac",
            "use_vmac_addr",
            "version",
            "virtual_ipaddress",
            "virtual_ipaddress_excluded",
            "virtual_router_id",
            "virtual_routes",
            "virtual_rules",
            "vmac_garp_intvl",
            "vmac_xmit_base",
            "vrf",
        ],
    ),
    (Block::Authentication, &["auth_pass", "auth_type"]),
    (
        Block::BfdInstance,
        &[
            "checker",
            "hoplimit",
            "idle_tx",
            "max_hops",
            "min_rx",
            "min_tx",
            "multiplier",
            "neighbor_ip",
            "neighbour_ip",
            "passive",
            "source_ip",
            "ttl",
            "vrrp",
            "weight",
        ],
    ),
    (
        Block::VirtualServer,
        &[
            "hashed",
            "alpha",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "flag-1",
            "flag-2",
            "flag-3",
            "ha_suspend",
            "hysteresis",
            "inhibit_on_failure",
            "ip_family",
            "lb_algo",
            "lb_kind",
            "lvs_method",
            "lvs_sched",
            "mh-fallback",
            "mh-port",
            "omega",
            "ops",
            "persistence_engine",
            "persistence_granularity",
            "persistence_timeout",
            "protocol",
            "quorum",
            "quorum_down",
            "quorum_up",
            "real_server",
            "retry",
            "sh-fallback",
            "sh-port",
            "smtp_alert",
            "snmp_name",
            "sorry_server",
            "sorry_server_inhibit",
            "sorry_server_lvs_method",
            "virtualhost",
            "warmup",
            "weight",
        ],
    ),
    (
        Block::RealServer,
        &[
            "BFD_CHECK",
            "DNS_CHECK",
            "FILE_CHECK",
            "HTTP_GET",
            "MISC_CHECK",
            "PING_CHECK",
            "SMTP_CHECK",
            "SSL_GET",
            "TCP_CHECK",
            "UDP_CHECK",
            "alpha",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "inhibit_on_failure",
            "lthreshold",
            "lvs_method",
            "notify_down",
            "notify_up",
            "retry",
            "smtp_alert",
            "snmp_name",
            "uthreshold",
            "virtualhost",
            "warmup",
            "weight",
        ],
    ),
    (
        Block::HttpGet,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "enable_sni",
            "fast_recovery",
            "fwmark",
            "http_protocol",
            "log_all_failures",
            "nb_get_retry",
            "retry",
            "url",
            "virtualhost",
            "warmup",
        ],
    ),
    (
        Block::SslGet,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "enable_sni",
            "fast_recovery",
            "fwmark",
            "http_protocol",
            "log_all_failures",
            "nb_get_retry",
            "retry",
            "url",
            "virtualhost",
            "warmup",
        ],
    ),
    (
        Block::TcpCheck,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "fwmark",
            "log_all_failures",
            "retry",
            "warmup",
        ],
    ),
    // check_ping.c: the common checker keywords.
    (
        Block::PingCheck,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "fwmark",
            "log_all_failures",
            "retry",
            "warmup",
        ],
    ),
    (
        Block::MiscCheck,
        &[
            "alpha",
            "delay_before_retry",
            "delay_loop",
            "log_all_failures",
            "misc_dynamic",
            "misc_path",
            "misc_timeout",
            "retry",
            "user",
            "warmup",
        ],
    ),
    (
        Block::DnsCheck,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "fwmark",
            "log_all_failures",
            "name",
            "retry",
            "type",
            "warmup",
        ],
    ),
    (
        Block::SmtpCheck,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "fwmark",
            "log_all_failures",
            "retry",
            "warmup",
            "helo_name",
            "host",
        ],
    ),
    (
        Block::SmtpHost,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "fwmark",
            "log_all_failures",
            "retry",
            "warmup",
        ],
    ),
    // check_bfd.c installs these two only.
    (Block::BfdCheck, &["alpha", "name"]),
    (
        Block::UdpCheck,
        &[
            "alpha",
            "bind_if",
            "bind_port",
            "bindto",
            "connect_ip",
            "connect_port",
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "fwmark",
            "log_all_failures",
            "max_reply_length",
            "min_reply_length",
            "payload",
            "require_reply",
            "retry",
            "warmup",
        ],
    ),
    (
        Block::Url,
        &[
            "digest",
            "path",
            "regex",
            "regex_max_offset",
            "regex_min_offset",
            "regex_no_match",
            "regex_options",
            "regex_stack",
            "status_code",
            "virtualhost",
        ],
    ),
    (Block::TrackFile, &["file", "init_file", "weight"]),
    (
        Block::GarpGroup,
        &["garp_interval", "gna_interval", "interface", "interfaces"],
    ),
    (Block::FileCheck, &["track_file", "weight"]),
    (
        Block::TrackProcess,
        &[
            "delay",
            "fork_delay",
            "full_command",
            "param_match",
            "process",
            "quorum",
            "quorum_max",
            "terminate_delay",
            "weight",
        ],
    ),
];

/// A configuration with `KW` standing for the keyword under test, inside
/// `block`.
fn template(block: Block) -> &'static str {
    match block {
        Block::Top => "KW\n",
        Block::GlobalDefs => "global_defs {\nKW\n}\n",
        Block::VrrpScript => "vrrp_script S {\n  script /bin/true\nKW\n}\n",
        Block::VrrpSyncGroup => {
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\nvrrp_sync_group G {\n  group {\n    VI_1\n  }\nKW\n}\n"
        }
        Block::VrrpInstance => {
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\nKW\n}\n"
        }
        Block::Authentication => {
            "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  authentication {\nKW\n  }\n}\n"
        }
        Block::VirtualServerGroup => "virtual_server_group G {\nKW\n}\n",
        Block::BfdInstance => "bfd_instance B {\n  neighbor_ip 192.0.2.9\nKW\n}\n",
        Block::VirtualServer => "virtual_server 192.0.2.1 80 {\n  protocol TCP\nKW\n}\n",
        Block::RealServer => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\nKW\n  }\n}\n"
        }
        Block::HttpGet => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    HTTP_GET {\nKW\n    }\n  }\n}\n"
        }
        Block::SslGet => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    SSL_GET {\nKW\n    }\n  }\n}\n"
        }
        Block::TcpCheck => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    TCP_CHECK {\nKW\n    }\n  }\n}\n"
        }
        Block::MiscCheck => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    MISC_CHECK {\n      misc_path /bin/true\nKW\n    }\n  }\n}\n"
        }
        Block::DnsCheck => {
            "virtual_server 192.0.2.1 53 {\n  protocol UDP\n  real_server 192.0.2.10 53 {\n    DNS_CHECK {\nKW\n    }\n  }\n}\n"
        }
        Block::SmtpCheck => {
            "virtual_server 192.0.2.1 25 {\n  protocol TCP\n  real_server 192.0.2.10 25 {\n    SMTP_CHECK {\nKW\n    }\n  }\n}\n"
        }
        Block::SmtpHost => {
            "virtual_server 192.0.2.1 25 {\n  protocol TCP\n  real_server 192.0.2.10 25 {\n    SMTP_CHECK {\n      host {\nKW\n      }\n    }\n  }\n}\n"
        }
        Block::UdpCheck => {
            "virtual_server 192.0.2.1 53 {\n  protocol UDP\n  real_server 192.0.2.10 53 {\n    UDP_CHECK {\nKW\n    }\n  }\n}\n"
        }
        Block::PingCheck => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    PING_CHECK {\nKW\n    }\n  }\n}\n"
        }
        Block::BfdCheck => {
            "bfd_instance B {\n  neighbor_ip 192.0.2.9\n}\nvirtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    BFD_CHECK {\n      name B\nKW\n    }\n  }\n}\n"
        }
        Block::Url => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    HTTP_GET {\n      url {\n        path /\nKW\n      }\n    }\n  }\n}\n"
        }
        Block::TrackFile => "track_file T {\n  file /run/t\nKW\n}\n",
        Block::TandemBgp => {
            "virtual_server 192.0.2.1 80 {\n  protocol TCP\n  tandem_bgp {\n    include_file /v\nKW\n  }\n}\n"
        }
        Block::TrackProcess => "vrrp_track_process P {\n  process sleep\nKW\n}\n",
        Block::GarpGroup => "garp_group {\n  garp_interval 1\nKW\n}\n",
        Block::FileCheck => {
            "track_file T {\n  file /run/t\n}\nvirtual_server 192.0.2.1 80 {\n  protocol TCP\n  real_server 192.0.2.10 80 {\n    FILE_CHECK {\n      track_file T\nKW\n    }\n  }\n}\n"
        }
    }
}

fn messages(block: Block, kw: &str) -> Vec<String> {
    let text = template(block).replace("KW", &format!("{kw} 1"));
    let l = load_str(
        Path::new("t.conf"),
        text,
        &LoadOptions::with_config_id("main"),
    );
    l.diagnostics.iter().map(|d| d.to_string()).collect()
}

#[test]
fn every_keyword_keepalived_reads_is_read_or_not_supported_yet() {
    let mut wrong = Vec::new();
    for (block, kws) in KEEPALIVED_2_2_7 {
        for kw in *kws {
            let m = messages(*block, kw);
            if m.iter().any(|l| {
                l.contains("unknown keyword")
                    || l.contains("cannot be inside")
                    || l.contains("is not read in")
            }) {
                wrong.push(format!("{kw} in {}: {m:?}", block.name()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Keywords Debian's build of keepalived 2.2.7 answers with "Unknown
/// keyword" (and runs on) that a keepalived 2.2.7 built with other options
/// reads: `vrrp_ipsets` needs iptables/ipset support, which Debian leaves
/// out. tandem reads it with a note that says what it comes to with
/// nftables (docs/config.md, "Accept mode").
const READ_BY_OTHER_BUILDS: &[(Block, &str)] = &[(Block::GlobalDefs, "vrrp_ipsets")];

#[test]
fn tandem_reads_no_keyword_where_keepalived_refuses_it() {
    for (block, kws) in KEEPALIVED_2_2_7 {
        // The "not supported yet" lists may name options of later
        // keepalived versions: they are refused either way.
        for kw in block.supported() {
            // tandem's own blocks (docs/scale-out.md): keepalived has
            // nothing like them, and refuses them on purpose.
            if tandem::config::keywords::TANDEM_EXTENSIONS.contains(kw) {
                continue;
            }
            assert!(
                kws.contains(kw) || READ_BY_OTHER_BUILDS.contains(&(*block, *kw)),
                "tandem reads \"{kw}\" in {} but keepalived 2.2.7 refuses it there",
                block.name()
            );
        }
    }
}

#[test]
fn undocumented_spellings_keepalived_reads_are_not_supported_yet() {
    // virtual_server `hashed`: read by keepalived 2.2.7, in no manual.
    let m = messages(Block::VirtualServer, "hashed");
    assert!(
        m.iter().any(|m| m
            .contains("error: \"hashed\" is a keepalived option that tandem does not support yet")),
        "{m:?}"
    );
    // bfd_rlimit_rtime, the older spelling of bfd_rlimit_rttime, is read.
    assert!(
        messages(Block::GlobalDefs, "bfd_rlimit_rtime")
            .iter()
            .all(|m| !m.contains("error"))
    );
    // The older spelling of a supported keyword is read as the new one.
    assert!(
        messages(Block::GlobalDefs, "enable_snmp_keepalived").contains(
            &"t.conf:2:1: warning: \"enable_snmp_keepalived\" is deprecated; use \"enable_snmp_vrrp\"".to_string()
        ),
        "{:?}",
        messages(Block::GlobalDefs, "enable_snmp_keepalived")
    );
    assert!(
        messages(Block::GlobalDefs, "vrrp_rlimit_rtime")
            .iter()
            .all(|m| !m.contains("error"))
    );
    assert_eq!(
        messages(Block::GlobalDefs, "lvs_flush_onstop"),
        [
            "t.conf:2:1: warning: \"lvs_flush_onstop\" is deprecated; use \"lvs_flush_on_stop\"",
            "t.conf:2:18: error: lvs_flush_on_stop expects nothing or \"VS\", not \"1\""
        ]
    );
}
