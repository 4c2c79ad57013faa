//! The global_defs knobs of how the daemon's threads are scheduled:
//! `vrrp_*` / `checker_*` / `bfd_*` `priority`, `rt_priority`, `no_swap`,
//! `rlimit_rttime` (and the older `rlimit_rtime`), `cpu_affinity`, and
//! `max_auto_priority` / `min_auto_priority_delay`.
//!
//! Owns: reading them into [`ProcessSched`] and the two auto-priority
//! fields, with keepalived's ranges. May not: apply them (the daemon does,
//! through `crate::process`).

use std::time::Duration;

use crate::config::parser::Stmt;

use super::builder::Builder;

impl Builder {
    /// One of the knobs; false if `kw` is not one of them.
    pub(super) fn global_process_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        let Some((side, knob)) = kw.split_once('_') else {
            return false;
        };
        if !matches!(side, "vrrp" | "checker" | "bfd") {
            return self.auto_priority_stmt(kw, st);
        }
        let mut sched = match side {
            "vrrp" => std::mem::take(&mut self.global.vrrp_process),
            "bfd" => std::mem::take(&mut self.global.bfd_process),
            _ => std::mem::take(&mut self.global.checker_process),
        };
        let known = match knob {
            "priority" => {
                sched.nice = self.int_in(st, -20, 19).map(|v| v as i8);
                true
            }
            "rt_priority" => {
                sched.rt_priority = self.rt_priority(st);
                true
            }
            "no_swap" => {
                self.bare(st);
                sched.no_swap = true;
                true
            }
            // The older spelling is still read by keepalived 2.2.7.
            "rlimit_rttime" | "rlimit_rtime" => {
                sched.rlimit_rttime = self.int_in(st, 1, i64::from(u32::MAX)).map(|v| v as u32);
                true
            }
            "cpu_affinity" => {
                sched.cpu_affinity = self.cpu_list(st);
                true
            }
            "process_name" => {
                if let Some(n) = self.process_name(st) {
                    sched.name = Some(n);
                }
                true
            }
            _ => false,
        };
        match side {
            "vrrp" => self.global.vrrp_process = sched,
            "bfd" => self.global.bfd_process = sched,
            _ => self.global.checker_process = sched,
        }
        known
    }

    fn auto_priority_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        match kw {
            "process_name" => self.global.process_name = self.process_name(st),
            // keepalived 2.2.7 still reads it, saying it is deprecated.
            "lvs_process_name" => {
                self.warn(
                    st.keyword.pos,
                    "\"lvs_process_name\" is deprecated; use \"checker_process_name\"",
                );
                if let Some(n) = self.process_name(st) {
                    self.global.checker_process.name = Some(n);
                }
            }
            // keepalived's default names of its three child processes.
            "process_names" => {
                self.args(st, 0, "");
                self.global.vrrp_process.name = Some("keepalived_vrrp".into());
                self.global.checker_process.name = Some("keepalived_lvs".into());
                self.global.bfd_process.name = Some("keepalived_bfd".into());
            }
            "max_auto_priority" => {
                self.no_block(st);
                self.global.max_auto_priority = match st.args.first() {
                    // No value: the highest SCHED_RR priority.
                    None => Some(99),
                    Some(_) => match self.int_in(st, -1, 99) {
                        Some(v) if v > 0 => Some(v as u8),
                        _ => None,
                    },
                };
            }
            "min_auto_priority_delay" => {
                if let Some(v) = self.int_in(st, 1, 10_000_000) {
                    self.global.min_auto_priority_delay = Duration::from_micros(v as u64);
                }
            }
            _ => return false,
        }
        true
    }

    /// `CPU [CPU...]`: CPU numbers as /proc/cpuinfo counts them.
    fn cpu_list(&mut self, st: &Stmt) -> Vec<u16> {
        self.no_block(st);
        if st.args.is_empty() {
            self.err(
                st.keyword.pos,
                format!("{} needs CPU numbers", st.keyword.text),
            );
        }
        let mut cpus = Vec::new();
        for w in &st.args {
            match w.text.parse::<u16>() {
                Ok(c) if usize::from(c) < libc::CPU_SETSIZE as usize => cpus.push(c),
                _ => self.err(
                    w.pos,
                    format!(
                        "{} expects CPU numbers, not \"{}\"",
                        st.keyword.text, w.text
                    ),
                ),
            }
        }
        cpus
    }

    /// A `*process_name NAME`: at most 15 bytes (the kernel's comm), longer
    /// ones cut with keepalived's warning.
    fn process_name(&mut self, st: &Stmt) -> Option<String> {
        let w = self.one(st, "a name")?;
        let mut name = w.text.clone();
        if name.len() > 15 {
            let mut cut = 15;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            name.truncate(cut);
            self.warn(
                w.pos,
                format!(
                    "{} \"{}\" is more than 15 characters; \"{name}\" is used, as keepalived 2.2.7 truncates it",
                    st.keyword.text, w.text
                ),
            );
        }
        Some(name)
    }
}

impl Builder {
    /// `*_rt_priority N`: SCHED_RR's range is 1-99 on Linux. keepalived
    /// moves a number outside it to the nearest end and reports it, which
    /// is what the line meant (the most or the least urgent), so tandem
    /// does the same and warns.
    fn rt_priority(&mut self, st: &Stmt) -> Option<u8> {
        let w = self.one(st, "a number")?;
        let v = self.int_word(
            &st.keyword.text,
            w,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
        )?;
        let clamped = v.clamp(1, 99);
        if clamped != v {
            let end = if v > 99 { "maximum" } else { "minimum" };
            self.warn(
                w.pos,
                format!(
                    "{} {v} is outside SCHED_RR's 1-99: using the {end}, {clamped} (keepalived does the same)",
                    st.keyword.text
                ),
            );
        }
        Some(clamped as u8)
    }
}
