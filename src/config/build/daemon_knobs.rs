//! The global_defs knobs of the daemon's own life rather than of one
//! VRRP instance or virtual server: `rs_init_notifies`,
//! `vrrp_startup_delay`, `startup_script` / `shutdown_script` and their
//! timeouts, `reload_time_file` / `reload_repeat`, and the top-level
//! `child_wait_time` and `use_pid_dir` (moot in tandem: notes).
//!
//! Owns: reading them with keepalived's ranges. May not: apply them (the
//! daemon does).

use std::time::Duration;

use crate::config::parser::Stmt;

use super::builder::Builder;
use super::values::parse_timer;

/// keepalived's read_timer bounds for `vrrp_startup_delay`: 1 ms up to
/// UINT_MAX microseconds.
const STARTUP_DELAY_MIN: Duration = Duration::from_millis(1);
const STARTUP_DELAY_MAX: Duration = Duration::from_micros(u32::MAX as u64);

impl Builder {
    /// One of the knobs; false if `kw` is not one of them.
    pub(super) fn global_daemon_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        match kw {
            "rs_init_notifies" => self.global.rs_init_notifies = self.flag(st),
            "vrrp_notify_priority_changes" => {
                self.global.vrrp_notify_priority_changes = self.flag(st)
            }
            "fifo_write_vrrp_states_on_reload" => {
                self.bare(st);
                self.global.fifo_write_vrrp_states_on_reload = true;
            }
            "vrrp_startup_delay" => self.vrrp_startup_delay(st),
            "startup_script" | "shutdown_script" => self.start_stop_script(kw, st),
            "startup_script_timeout" => {
                if let Some(v) = self.int_in(st, 1, 1000) {
                    self.global.startup_script_timeout = Duration::from_secs(v as u64);
                }
            }
            "shutdown_script_timeout" => {
                if let Some(v) = self.int_in(st, 1, 1000) {
                    self.global.shutdown_script_timeout = Duration::from_secs(v as u64);
                }
            }
            "reload_time_file" => {
                if let Some(path) = self.string(st) {
                    self.global.reload_time_file = Some(path);
                }
            }
            "random_seed" => {
                if let Some(v) = self.u32_val(st) {
                    self.global.random_seed = Some(v);
                }
            }
            "log_unknown_vrids" => {
                self.bare(st);
                self.global.log_unknown_vrids = true;
            }
            "reload_repeat" => {
                self.bare(st);
                self.global.reload_repeat = true;
            }
            "disable_local_igmp" => {
                self.bare(st);
                self.global.disable_local_igmp = true;
            }
            // keepalived's default log file of the check is /dev/null.
            "reload_check_config" => {
                self.no_block(st);
                if let Some(words) = self.args_range(st, 0, 1, "") {
                    self.global.reload_check_config = Some(
                        words
                            .first()
                            .map_or_else(|| "/dev/null".to_string(), |w| w.text.clone()),
                    );
                }
            }
            _ => return false,
        }
        true
    }

    /// `vrrp_startup_delay SECS` (fractions allowed). keepalived keeps the
    /// longer of two given; so does tandem.
    fn vrrp_startup_delay(&mut self, st: &Stmt) {
        let Some(w) = self.one(st, "a time in seconds") else {
            return;
        };
        let range = STARTUP_DELAY_MIN..=STARTUP_DELAY_MAX;
        match parse_timer(&w.text) {
            Some(d) if range.contains(&d) => {
                let g = &mut self.global;
                g.vrrp_startup_delay = g.vrrp_startup_delay.max(d);
            }
            _ => {
                let msg = format!(
                    "vrrp_startup_delay expects a time in seconds from 0.001 to 4294.967295, not \"{}\" (keepalived 2.2.7 would report it too and ignore the line)",
                    w.text
                );
                self.err(w.pos, msg);
            }
        }
    }

    /// `startup_script SCRIPT [USER [GROUP]]` or `shutdown_script ...`:
    /// one of each, as keepalived, which keeps the first and reports the
    /// second.
    fn start_stop_script(&mut self, kw: &str, st: &Stmt) {
        let Some(script) = self.notify_script(st) else {
            return;
        };
        let slot = match kw {
            "startup_script" => &mut self.global.startup_script,
            _ => &mut self.global.shutdown_script,
        };
        if slot.is_some() {
            let msg = format!(
                "{kw} given twice: the first one is kept (keepalived 2.2.7 reports it too)"
            );
            self.err(st.keyword.pos, msg);
        } else {
            *slot = Some(script);
        }
    }

    /// Top-level `child_wait_time SECS`: how long keepalived's parent
    /// process lets its VRRP and checker children exit at SIGTERM before
    /// it SIGKILLs them (default 5). tandem runs both sides in one
    /// process: nothing to wait for or kill, the stop does the releasing
    /// itself (`Running::shutdown`, bounded by `RunOptions::shutdown_timeout`).
    /// Read, range-checked as keepalived (0..UINT_MAX), and said so.
    pub(super) fn child_wait_time(&mut self, st: &Stmt) {
        if self.int_in(st, 0, i64::from(u32::MAX)).is_some() {
            self.note(
                st.keyword.pos,
                "child_wait_time: tandem runs its VRRP and checker sides in one process, so there is no child process to wait for or kill at stop; the stop releases the VIPs and the IPVS table itself (the VRRP side given at most 60 s)",
            );
        }
    }

    /// Top-level `use_pid_dir`: keepalived then writes its pid files in
    /// /run/keepalived/ rather than /run/ (keepalived ignores any words
    /// after it). tandem writes no pid file, and its own files (control
    /// socket, dump file) are always in /run/tandem/, named after
    /// `instance` / `net_namespace` as keepalived's pid files are.
    pub(super) fn use_pid_dir(&mut self, st: &Stmt) {
        self.no_block(st);
        self.note(
            st.keyword.pos,
            "use_pid_dir: tandem writes no pid file; its control socket and dump file are in /run/tandem/ with or without it",
        );
    }
}
