//! The keywords that flow virtual_server → real_server → checker:
//! `delay_loop`, `connect_timeout`, `retry`, `delay_before_retry`,
//! `warmup`, `alpha`, `inhibit_on_failure`, `virtualhost`, `smtp_alert`.
//!
//! Owns: reading them into an [`Inherit`] at any of the three levels.
//! May not: resolve them (each level's resolution does, parent first).

use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::Inherit;

impl Builder {
    pub(super) fn inherit_stmt(&mut self, kw: &str, st: &Stmt, inh: &mut Inherit) -> bool {
        match kw {
            "delay_loop" => {
                if let Some(v) = self.timer(st) {
                    if v.is_zero() {
                        self.err(st.args[0].pos, "delay_loop must be more than 0");
                    } else {
                        inh.delay_loop = Some(v);
                    }
                }
            }
            "connect_timeout" => {
                if let Some(v) = self.timer(st) {
                    if v.is_zero() {
                        self.err(st.args[0].pos, "connect_timeout must be more than 0");
                    } else {
                        inh.connect_timeout = Some(v);
                    }
                }
            }
            "retry" => inh.retry = self.u32_val(st),
            "delay_before_retry" => inh.delay_before_retry = self.timer(st),
            "warmup" => inh.warmup = self.timer(st),
            "alpha" => inh.alpha = Some(self.flag(st)),
            "inhibit_on_failure" => inh.inhibit_on_failure = Some(self.flag(st)),
            "virtualhost" => inh.virtualhost = self.string(st),
            "smtp_alert" => inh.smtp_alert = Some(self.flag(st)),
            _ => return false,
        }
        true
    }
}
