//! The receive buffers of the VRRP sockets: global_defs'
//! `vrrp_rx_bufs_policy MTU|ADVERT|N` and `vrrp_rx_bufs_multiplier N`, and
//! an instance's `kernel_rx_buf_size N`.
//!
//! Owns: reading them as keepalived 2.2.7 reads them (a policy word is
//! MTU or ADVERT in any case, else a byte count; a size with a policy keeps
//! the size, MTU with ADVERT keeps MTU, each with keepalived's report; a
//! multiplier from 1; an instance's size 0 leaves it unset). May not:
//! compute or apply a size (the daemon's plan does).

use crate::config::model::RxBufsPolicy;
use crate::config::parser::Stmt;

use super::builder::Builder;

impl Builder {
    /// One of the two global knobs; false if `kw` is not one of them.
    pub(super) fn global_rx_bufs_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        match kw {
            "vrrp_rx_bufs_policy" => self.rx_bufs_policy(st),
            "vrrp_rx_bufs_multiplier" => {
                if let Some(v) = self.int_in(st, 1, i64::from(u32::MAX)) {
                    self.global.vrrp_rx_bufs_multiplier = v as u32;
                }
            }
            _ => return false,
        }
        true
    }

    fn rx_bufs_policy(&mut self, st: &Stmt) {
        self.no_block(st);
        let Some(words) = self.args_range(st, 1, usize::MAX, "MTU, ADVERT or a size in bytes")
        else {
            return;
        };
        let (mut mtu, mut advert, mut size) = (false, false, None);
        for w in words {
            match w.text.to_ascii_uppercase().as_str() {
                "MTU" => mtu = true,
                "ADVERT" => advert = true,
                _ => match w.text.parse::<u32>() {
                    Ok(n) => size = Some(n),
                    Err(_) => self.err(
                        w.pos,
                        format!(
                            "vrrp_rx_bufs_policy expects MTU, ADVERT or a size in bytes, not \"{}\" (keepalived 2.2.7 would report it and ignore the word)",
                            w.text
                        ),
                    ),
                },
            }
        }
        let policy = match (size, mtu, advert) {
            (Some(n), false, false) => RxBufsPolicy::Size(n),
            (Some(n), ..) => {
                self.warn(
                    st.keyword.pos,
                    "vrrp_rx_bufs_policy: a size and a policy; the policy is ignored, as keepalived 2.2.7 ignores it",
                );
                RxBufsPolicy::Size(n)
            }
            (None, true, true) => {
                self.warn(
                    st.keyword.pos,
                    "vrrp_rx_bufs_policy: MTU and ADVERT; ADVERT is ignored, as keepalived 2.2.7 ignores it",
                );
                RxBufsPolicy::Mtu
            }
            (None, true, false) => RxBufsPolicy::Mtu,
            (None, false, true) => RxBufsPolicy::Advert,
            (None, false, false) => return,
        };
        self.global.vrrp_rx_bufs_policy = policy;
    }

    /// An instance's `kernel_rx_buf_size N` (0: unset, as in keepalived).
    pub(super) fn kernel_rx_buf_size(&mut self, st: &Stmt) -> Option<u32> {
        self.u32_val(st).filter(|n| *n != 0)
    }
}
