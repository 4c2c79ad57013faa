//! The global_defs knobs of the netlink sockets' receive buffers:
//! `vrrp_netlink_monitor_rcv_bufs`, `vrrp_netlink_cmd_rcv_bufs`,
//! `process_monitor_rcv_bufs` (applied by the daemon) and the
//! `lvs_netlink_*` pair (moot in tandem: a note), each with `_force`.
//!
//! Owns: reading them with keepalived 2.2.7's ranges (a size 0..UINT_MAX,
//! where 0 leaves the size unset; `_force [BOOL]`). May not: apply them.

use crate::config::model::NetlinkRcvBuf;
use crate::config::parser::Stmt;

use super::builder::Builder;

impl Builder {
    /// One of the knobs; false if `kw` is not one of them.
    pub(super) fn global_netlink_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        let (base, force) = match kw.strip_suffix("_force") {
            Some(b) => (b, true),
            None => (kw, false),
        };
        let slot: &mut NetlinkRcvBuf = match base {
            "vrrp_netlink_monitor_rcv_bufs" => &mut self.global.vrrp_netlink_monitor_rcv_bufs,
            "vrrp_netlink_cmd_rcv_bufs" => &mut self.global.vrrp_netlink_cmd_rcv_bufs,
            "process_monitor_rcv_bufs" => &mut self.global.process_monitor_rcv_bufs,
            "lvs_netlink_monitor_rcv_bufs" | "lvs_netlink_cmd_rcv_bufs" => {
                self.lvs_netlink_knob(kw, force, st);
                return true;
            }
            _ => return false,
        };
        let mut buf = *slot;
        if force {
            buf.force = self.flag(st);
        } else if let Some(v) = self.u32_val(st) {
            // keepalived leaves the size unset for 0.
            if v != 0 {
                buf.size = Some(v);
            }
        }
        match base {
            "vrrp_netlink_monitor_rcv_bufs" => self.global.vrrp_netlink_monitor_rcv_bufs = buf,
            "vrrp_netlink_cmd_rcv_bufs" => self.global.vrrp_netlink_cmd_rcv_bufs = buf,
            _ => self.global.process_monitor_rcv_bufs = buf,
        }
        true
    }

    /// `lvs_netlink_monitor_rcv_bufs` / `lvs_netlink_cmd_rcv_bufs` (and
    /// `_force`): the rtnetlink sockets of keepalived's checker process.
    /// tandem's checkers run in the one process and open no rtnetlink
    /// socket of their own: read, range-checked, and said so.
    fn lvs_netlink_knob(&mut self, kw: &str, force: bool, st: &Stmt) {
        let ok = if force {
            self.flag(st);
            true
        } else {
            self.u32_val(st).is_some()
        };
        if ok {
            let vrrp = kw.replacen("lvs_", "vrrp_", 1);
            self.note(
                st.keyword.pos,
                format!("{kw}: tandem's checkers run in its one process and open no rtnetlink socket of their own (keepalived's checker process does); {vrrp} sizes the sockets there are"),
            );
        }
    }
}
