//! The global knobs of the daemon's life: `rs_init_notifies`,
//! `vrrp_startup_delay`, `child_wait_time` and `use_pid_dir` (notes), the top-level
//! `instance`. What the model holds,
//! keepalived's ranges, and the message (file:line:col) for a bad value.

use std::path::Path;
use std::time::Duration;

use tandem::config::{GlobalDefs, LoadOptions, Loaded, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn conf(top: &str, global: &str) -> String {
    format!("{top}global_defs {{\n{global}}}\n")
}

fn global(top: &str, global: &str) -> (GlobalDefs, Vec<String>) {
    let l = check(&conf(top, global));
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let cfg = l.config.unwrap_or_else(|| panic!("refused: {msgs:?}"));
    (cfg.global_defs, msgs)
}

fn errors(top: &str, g: &str) -> Vec<String> {
    check(&conf(top, g))
        .errors()
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn rs_init_notifies_is_a_flag() {
    assert!(!global("", "").0.rs_init_notifies);
    assert!(global("", "    rs_init_notifies\n").0.rs_init_notifies);
    assert!(!global("", "    rs_init_notifies off\n").0.rs_init_notifies);
    assert_eq!(errors("", "    rs_init_notifies maybe\n").len(), 1);
}

#[test]
fn vrrp_startup_delay_in_keepalived_s_range_the_longer_kept() {
    assert_eq!(global("", "").0.vrrp_startup_delay, Duration::ZERO);
    let (g, m) = global("", "    vrrp_startup_delay 5.5\n");
    assert_eq!(g.vrrp_startup_delay, Duration::from_millis(5500));
    assert!(m.is_empty(), "{m:?}");
    let g = global("", "    vrrp_startup_delay 7\n    vrrp_startup_delay 2\n").0;
    assert_eq!(g.vrrp_startup_delay, Duration::from_secs(7));
    assert_eq!(
        errors("", "    vrrp_startup_delay 0\n"),
        [
            "t.conf:2:24: error: vrrp_startup_delay expects a time in seconds from 0.001 to 4294.967295, not \"0\" (keepalived 2.2.7 would report it too and ignore the line)"
        ]
    );
    assert_eq!(errors("", "    vrrp_startup_delay 5000\n").len(), 1);
    assert_eq!(errors("", "    vrrp_startup_delay x\n").len(), 1);
}

#[test]
fn child_wait_time_is_a_note_at_the_top_level() {
    let note = "note: child_wait_time: tandem runs its VRRP and checker sides in one process, so there is no child process to wait for or kill at stop; the stop releases the VIPs and the IPVS table itself (the VRRP side given at most 60 s)";
    let (_, m) = global("child_wait_time 20\n", "");
    assert_eq!(m, [format!("t.conf:1:1: {note}")]);
    // keepalived 2.2.7 reads it at the top level only: in global_defs it
    // logs "Unknown keyword 'child_wait_time'" and skips the line.
    assert_eq!(
        errors("", "    child_wait_time 3\n"),
        [
            "t.conf:2:5: error: \"child_wait_time\" cannot be inside global_defs; is a \"}\" missing before it?"
        ]
    );
    assert_eq!(
        errors("child_wait_time -1\n", "").len(),
        1,
        "keepalived: Invalid child_wait_time"
    );
    assert_eq!(errors("child_wait_time 4294967296\n", "").len(), 1);
    assert!(global("child_wait_time 0\n", "").1[0].contains("note: child_wait_time"));
}

#[test]
fn use_pid_dir_is_a_note_at_the_top_level() {
    let note = "note: use_pid_dir: tandem writes no pid file; its control socket and dump file are in /run/tandem/ with or without it";
    let (_, m) = global("use_pid_dir\n", "");
    assert_eq!(m, [format!("t.conf:1:1: {note}")]);
    // keepalived 2.2.7 ignores words after it; so does tandem.
    let (_, m) = global("use_pid_dir yes\n", "");
    assert_eq!(m, [format!("t.conf:1:1: {note}")]);
    // keepalived 2.2.7 reads it at the top level only.
    assert_eq!(
        errors("", "    use_pid_dir\n"),
        [
            "t.conf:2:5: error: \"use_pid_dir\" cannot be inside global_defs; is a \"}\" missing before it?"
        ]
    );
}

#[test]
fn startup_and_shutdown_scripts_with_keepalived_s_timeouts() {
    let (g, _) = global("", "");
    assert!(g.startup_script.is_none() && g.shutdown_script.is_none());
    assert_eq!(g.startup_script_timeout, Duration::from_secs(10));
    assert_eq!(g.shutdown_script_timeout, Duration::from_secs(10));
    let (g, _) = global(
        "",
        "    startup_script \"/bin/true up\" nobody\n    shutdown_script /bin/true\n    startup_script_timeout 3\n    shutdown_script_timeout 1000\n",
    );
    let up = g.startup_script.unwrap();
    assert_eq!(up.command, "/bin/true up");
    assert_eq!(up.user.unwrap().user, "nobody");
    assert_eq!(g.shutdown_script.unwrap().command, "/bin/true");
    assert_eq!(g.startup_script_timeout, Duration::from_secs(3));
    assert_eq!(g.shutdown_script_timeout, Duration::from_secs(1000));
    assert_eq!(errors("", "    startup_script_timeout 0\n").len(), 1);
    assert_eq!(errors("", "    shutdown_script_timeout 1001\n").len(), 1);
    assert_eq!(errors("", "    startup_script\n").len(), 1);
    assert_eq!(
        errors(
            "",
            "    startup_script /bin/true\n    startup_script /bin/false\n"
        ),
        [
            "t.conf:3:5: error: startup_script given twice: the first one is kept (keepalived 2.2.7 reports it too)"
        ]
    );
}

#[test]
fn notify_priority_changes_global_group_and_instance() {
    let text = "global_defs {
    vrrp_notify_priority_changes
}
vrrp_sync_group G {
    group {
        VI_1
    }
    notify_priority_changes off
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    notify_priority_changes
    virtual_ipaddress {
        192.0.2.10/24
    }
}
";
    let l = check(text);
    let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
    let c = l.config.unwrap_or_else(|| panic!("{msgs:?}"));
    assert!(c.global_defs.vrrp_notify_priority_changes);
    assert_eq!(c.vrrp_sync_groups[0].notify_priority_changes, Some(false));
    assert_eq!(c.vrrp_instances[0].notify_priority_changes, Some(true));
    assert_eq!(
        errors("", "    vrrp_notify_priority_changes sometimes\n").len(),
        1
    );
}

#[test]
fn net_namespace_ipvs_names_a_namespace_or_the_default_one() {
    let (g, m) = global("net_namespace_ipvs lvs\n", "");
    assert_eq!(g.net_namespace_ipvs.as_deref(), Some("lvs"));
    assert!(m.is_empty(), "{m:?}");
    // No name: the default namespace, as keepalived reads it.
    assert_eq!(
        global("net_namespace_ipvs\n", "")
            .0
            .net_namespace_ipvs
            .as_deref(),
        Some("")
    );
    assert_eq!(global("", "").0.net_namespace_ipvs, None);
    assert_eq!(
        errors("net_namespace_ipvs a/b\n", ""),
        ["t.conf:1:20: error: net_namespace_ipvs \"a/b\" is not a name under /run/netns"]
    );
}

#[test]
fn instance_is_read_once_at_the_top_level() {
    let (g, m) = global("instance web\n", "");
    assert_eq!(g.instance.as_deref(), Some("web"));
    assert!(m.is_empty(), "{m:?}");
    assert_eq!(global("", "").0.instance, None);
    assert_eq!(
        errors("instance web\ninstance db\n", ""),
        ["t.conf:2:10: error: instance given twice (first \"web\", now \"db\")"]
    );
    assert_eq!(
        errors("instance a/b\n", ""),
        ["t.conf:1:10: error: instance \"a/b\" cannot name a file (it names the control socket)"]
    );
}

#[test]
fn reload_time_file_takes_a_path_reload_repeat_nothing() {
    let g = global("", "").0;
    assert_eq!((g.reload_time_file, g.reload_repeat), (None, false));
    let (g, m) = global(
        "",
        "    reload_time_file /run/keepalived.reload\n    reload_repeat\n",
    );
    assert_eq!(
        g.reload_time_file.as_deref(),
        Some("/run/keepalived.reload")
    );
    assert!(g.reload_repeat);
    assert!(m.is_empty(), "{m:?}");
    assert_eq!(errors("", "    reload_time_file\n").len(), 1);
    assert_eq!(errors("", "    reload_time_file /a /b\n").len(), 1);
    assert_eq!(errors("", "    reload_repeat yes\n").len(), 1);
}

#[test]
fn netlink_rcv_bufs_with_keepalived_s_ranges_and_lvs_a_note() {
    use tandem::config::NetlinkRcvBuf;
    let g = global("", "").0;
    assert_eq!(g.vrrp_netlink_cmd_rcv_bufs, NetlinkRcvBuf::default());
    let (g, m) = global(
        "",
        "    vrrp_netlink_monitor_rcv_bufs 4294967295\n    vrrp_netlink_cmd_rcv_bufs 0\n    vrrp_netlink_cmd_rcv_bufs_force\n    process_monitor_rcv_bufs 300000\n    process_monitor_rcv_bufs_force off\n",
    );
    assert!(m.is_empty(), "{m:?}");
    let buf = |size, force| NetlinkRcvBuf { size, force };
    assert_eq!(g.vrrp_netlink_monitor_rcv_bufs, buf(Some(u32::MAX), false));
    // 0 leaves the size unset, as keepalived.
    assert_eq!(g.vrrp_netlink_cmd_rcv_bufs, buf(None, true));
    assert_eq!(g.process_monitor_rcv_bufs, buf(Some(300_000), false));
    assert_eq!(
        errors("", "    vrrp_netlink_cmd_rcv_bufs 4294967296\n"),
        ["t.conf:2:31: error: vrrp_netlink_cmd_rcv_bufs 4294967296 is out of range (0-4294967295)"]
    );
    assert_eq!(errors("", "    vrrp_netlink_cmd_rcv_bufs\n").len(), 1);
    assert_eq!(
        errors("", "    process_monitor_rcv_bufs_force maybe\n").len(),
        1
    );
    let (_, m) = global("", "    lvs_netlink_monitor_rcv_bufs 1000\n");
    assert_eq!(m.len(), 1);
    assert!(m[0].starts_with("t.conf:2:5: note: lvs_netlink_monitor_rcv_bufs: tandem's checkers run in its one process"), "{m:?}");
    assert_eq!(errors("", "    lvs_netlink_cmd_rcv_bufs x\n").len(), 1);
}

#[test]
fn notify_deleted_with_and_without_a_script_and_fifo_write_vrrp_states_on_reload() {
    let inst = |body: &str| {
        format!(
            "global_defs {{\n    fifo_write_vrrp_states_on_reload\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority 100\n{body}    virtual_ipaddress {{\n        192.0.2.10/24\n    }}\n}}\n"
        )
    };
    let parse = |body: &str| {
        let l = check(&inst(body));
        let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
        (l.config, msgs)
    };
    let (c, m) = parse("");
    let c = c.unwrap_or_else(|| panic!("{m:?}"));
    assert!(c.global_defs.fifo_write_vrrp_states_on_reload);
    assert_eq!(c.vrrp_instances[0].notify_deleted, None);
    let (c, m) = parse("    notify_deleted\n");
    let d = c.unwrap_or_else(|| panic!("{m:?}")).vrrp_instances[0]
        .notify_deleted
        .clone();
    assert!(d.is_some_and(|d| d.script.is_none()));
    let (c, m) = parse("    notify_deleted \"/bin/echo gone\" nobody\n");
    let s = c.unwrap_or_else(|| panic!("{m:?}")).vrrp_instances[0]
        .notify_deleted
        .clone()
        .and_then(|d| d.script)
        .unwrap();
    assert_eq!(s.command, "/bin/echo gone");
    assert_eq!(s.user.unwrap().user, "nobody");
    let (_, m) = parse("    notify_deleted /bin/true\n    notify_deleted\n");
    assert_eq!(
        m,
        [
            "t.conf:9:5: error: notify_deleted given twice: the first one is kept (keepalived 2.2.7 reports it too)"
        ]
    );
    assert_eq!(
        errors("", "    fifo_write_vrrp_states_on_reload yes\n").len(),
        1
    );
}

#[test]
fn disable_local_igmp_is_a_bare_flag_in_global_defs() {
    assert!(!global("", "").0.disable_local_igmp);
    let (g, m) = global("", "    disable_local_igmp\n");
    assert!(g.disable_local_igmp);
    assert!(m.is_empty(), "{m:?}");
    assert_eq!(
        errors("", "    disable_local_igmp yes\n"),
        ["t.conf:2:24: error: unexpected \"yes\" after \"disable_local_igmp\""]
    );
    // keepalived 2.2.7 reads it in global_defs only.
    assert!(errors("disable_local_igmp\n", "")[0].contains("unknown keyword"));
}

#[test]
fn vrrp_rx_bufs_policy_reads_as_keepalived_reads_it() {
    use tandem::config::RxBufsPolicy;
    let (g, msgs) = global("", "");
    assert_eq!(
        (g.vrrp_rx_bufs_policy, g.vrrp_rx_bufs_multiplier),
        (RxBufsPolicy::Unset, 3)
    );
    assert!(msgs.is_empty());
    let (g, _) = global(
        "",
        "  vrrp_rx_bufs_policy advert\n  vrrp_rx_bufs_multiplier 4\n",
    );
    assert_eq!(
        (g.vrrp_rx_bufs_policy, g.vrrp_rx_bufs_multiplier),
        (RxBufsPolicy::Advert, 4)
    );
    assert_eq!(
        global("", "  vrrp_rx_bufs_policy MTU\n")
            .0
            .vrrp_rx_bufs_policy,
        RxBufsPolicy::Mtu
    );
    assert_eq!(
        global("", "  vrrp_rx_bufs_policy 65536\n")
            .0
            .vrrp_rx_bufs_policy,
        RxBufsPolicy::Size(65536)
    );
    // keepalived: "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT,
    // ignoring ADVERT"; a size with a policy keeps the size.
    let (g, msgs) = global("", "  vrrp_rx_bufs_policy MTU ADVERT\n");
    assert_eq!(g.vrrp_rx_bufs_policy, RxBufsPolicy::Mtu);
    assert_eq!(
        msgs,
        [
            "t.conf:2:3: warning: vrrp_rx_bufs_policy: MTU and ADVERT; ADVERT is ignored, as keepalived 2.2.7 ignores it"
        ]
    );
    let (g, msgs) = global("", "  vrrp_rx_bufs_policy ADVERT 9000\n");
    assert_eq!(g.vrrp_rx_bufs_policy, RxBufsPolicy::Size(9000));
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(
        errors("", "  vrrp_rx_bufs_policy NO_SEND_RX\n"),
        [
            "t.conf:2:23: error: vrrp_rx_bufs_policy expects MTU, ADVERT or a size in bytes, not \"NO_SEND_RX\" (keepalived 2.2.7 would report it and ignore the word)"
        ]
    );
    assert_eq!(
        errors("", "  vrrp_rx_bufs_multiplier 0\n"),
        ["t.conf:2:27: error: vrrp_rx_bufs_multiplier 0 is out of range (1-4294967295)"]
    );
}

#[test]
fn process_names_name_each_side_and_are_cut_at_15_bytes() {
    let (g, msgs) = global("", "  process_names\n");
    assert_eq!(
        (
            g.vrrp_process.name.as_deref(),
            g.checker_process.name.as_deref(),
            g.bfd_process.name.as_deref(),
            g.process_name.as_deref()
        ),
        (
            Some("keepalived_vrrp"),
            Some("keepalived_lvs"),
            Some("keepalived_bfd"),
            None
        )
    );
    assert!(msgs.is_empty(), "{msgs:?}");
    let (g, msgs) = global(
        "",
        "  process_name lb\n  vrrp_process_name a_very_long_vrrp_name\n  lvs_process_name chk\n",
    );
    assert_eq!(g.process_name.as_deref(), Some("lb"));
    assert_eq!(g.vrrp_process.name.as_deref(), Some("a_very_long_vrr"));
    assert_eq!(g.checker_process.name.as_deref(), Some("chk"));
    assert_eq!(
        msgs,
        [
            "t.conf:3:21: warning: vrrp_process_name \"a_very_long_vrrp_name\" is more than 15 characters; \"a_very_long_vrr\" is used, as keepalived 2.2.7 truncates it",
            "t.conf:4:3: warning: \"lvs_process_name\" is deprecated; use \"checker_process_name\"",
        ]
    );
}
