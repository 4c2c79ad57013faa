//! `lvs_sync_daemon` and `lvs_timeouts` in global_defs, and the older
//! `lvs_sync_daemon_interface` of a vrrp_instance: the kernel's
//! connection-sync daemon and IPVS timeouts.
//!
//! Owns: the grammar of these keywords as keepalived 2.2.7 reads it
//! (`global_parser.c` `lvs_syncd_handler` and `lvs_timeouts`,
//! `vrrp_parser.c` `vrrp_lvs_syncd_handler`), each value's range, and the
//! error at the offending word. May not: check the named instance or its
//! family (validate does, once every instance is read).

use std::net::IpAddr;

use crate::config::model::*;
use crate::config::parser::{Stmt, Word};

use super::builder::Builder;

/// keepalived's `LVS_MAX_TIMEOUT`: 31 days.
const MAX_TIMEOUT: i64 = 86400 * 31;
/// The kernel's interface name limit, less the NUL.
const IFNAME_MAX: usize = 15;

impl Builder {
    /// `lvs_sync_daemon IFNAME [[inst] VRRP_INSTANCE] [id N] [maxlen N]
    /// [port N] [ttl N] [group ADDR]`. As keepalived, the instance may be
    /// given without `inst` right after the interface, and the syncid
    /// without `id` right after that (the pre-2.0 syntax).
    pub(super) fn lvs_sync_daemon(&mut self, st: &Stmt) {
        self.no_block(st);
        let Some(args) = self.args_range(st, 1, usize::MAX, "an interface name") else {
            return;
        };
        let Some(mut d) = self.sync_interface(st, &args[0]) else {
            return;
        };
        let mut i = 1;
        while i < args.len() {
            let w = &args[i];
            let value = args.get(i + 1);
            let keyword = matches!(
                w.text.as_str(),
                "inst" | "id" | "maxlen" | "port" | "ttl" | "group"
            );
            if keyword {
                match value {
                    Some(v) => self.sync_option(&mut d, w, v),
                    None => self.err(
                        w.pos,
                        format!("lvs_sync_daemon {} needs a value after it", w.text),
                    ),
                }
                i += 2;
                continue;
            }
            if i == 1 {
                d.instance = Some(w.text.clone());
                d.instance_origin = self.origin(w.pos);
            } else if i == 2 && d.instance.is_some() && d.syncid.is_none() {
                if let Some(v) = self.int_word("lvs_sync_daemon id", w, 0, 255) {
                    d.syncid = Some(v as u8);
                }
            } else {
                let msg = format!(
                    "lvs_sync_daemon does not take \"{}\" (expected inst, id, maxlen, port, ttl or group)",
                    w.text
                );
                self.err(w.pos, msg);
            }
            i += 1;
        }
        self.set_sync_daemon(st, d);
    }

    /// One `NAME VALUE` option of `lvs_sync_daemon`.
    fn sync_option(&mut self, d: &mut LvsSyncDaemon, w: &Word, v: &Word) {
        let kw = format!("lvs_sync_daemon {}", w.text);
        match w.text.as_str() {
            "inst" => {
                d.instance = Some(v.text.clone());
                d.instance_origin = self.origin(v.pos);
            }
            "id" => d.syncid = self.int_word(&kw, v, 0, 255).map(|n| n as u8),
            "maxlen" => d.maxlen = self.int_word(&kw, v, 1, 65535 - 20 - 8).map(|n| n as u16),
            "port" => d.port = self.int_word(&kw, v, 1, 65535).map(|n| n as u16),
            "ttl" => d.ttl = self.int_word(&kw, v, 1, 255).map(|n| n as u8),
            _ => {
                let Some(ip) = self.sock_ip_word(&kw, v) else {
                    return;
                };
                if ip.is_multicast() {
                    d.group = Some(ip);
                    d.group_origin = self.origin(v.pos);
                } else {
                    let msg = format!("lvs_sync_daemon group {ip} is not a multicast address");
                    self.err(v.pos, msg);
                }
            }
        }
    }

    /// The interface word, checked against the kernel's limit.
    fn sync_interface(&mut self, st: &Stmt, w: &Word) -> Option<LvsSyncDaemon> {
        if w.text.is_empty() || w.text.len() > IFNAME_MAX {
            let msg = format!(
                "lvs_sync_daemon interface name \"{}\" is longer than {IFNAME_MAX} bytes",
                w.text
            );
            self.err(w.pos, msg);
            return None;
        }
        Some(LvsSyncDaemon {
            ifname: w.text.clone(),
            instance: None,
            syncid: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None::<IpAddr>,
            origin: self.origin(st.keyword.pos),
            instance_origin: Origin::default(),
            group_origin: Origin::default(),
        })
    }

    /// Keep `d` unless a sync daemon is already configured.
    fn set_sync_daemon(&mut self, st: &Stmt, d: LvsSyncDaemon) {
        if let Some(first) = &self.global.lvs_sync_daemon {
            let msg = format!(
                "{} is given twice: the sync daemon is already configured at {}",
                st.keyword.text, first.origin
            );
            self.err(st.keyword.pos, msg);
            return;
        }
        self.global.lvs_sync_daemon = Some(d);
    }

    /// `lvs_sync_daemon_interface IFNAME` in a vrrp_instance: keepalived's
    /// older spelling of `lvs_sync_daemon IFNAME inst INSTANCE`.
    pub(super) fn lvs_sync_daemon_interface(&mut self, st: &Stmt, instance: &str) {
        let Some(w) = self.one(st, "an interface name") else {
            return;
        };
        let Some(mut d) = self.sync_interface(st, w) else {
            return;
        };
        d.instance = Some(instance.to_owned());
        d.instance_origin = self.origin(st.keyword.pos);
        self.set_sync_daemon(st, d);
    }

    /// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`, each 0-2678400 seconds.
    pub(super) fn lvs_timeouts(&mut self, st: &Stmt) {
        self.no_block(st);
        let Some(args) = self.args_range(st, 2, usize::MAX, "tcp, tcpfin or udp and a time") else {
            return;
        };
        let mut t = self.global.lvs_timeouts;
        let mut it = args.iter();
        while let Some(w) = it.next() {
            let slot = match w.text.as_str() {
                "tcp" => &mut t.tcp,
                "tcpfin" => &mut t.tcpfin,
                "udp" => &mut t.udp,
                _ => {
                    let msg = format!(
                        "lvs_timeouts does not take \"{}\" (expected tcp, tcpfin or udp)",
                        w.text
                    );
                    self.err(w.pos, msg);
                    continue;
                }
            };
            let Some(v) = it.next() else {
                self.err(
                    w.pos,
                    format!("lvs_timeouts {} needs a time after it", w.text),
                );
                break;
            };
            let kw = format!("lvs_timeouts {}", w.text);
            if let Some(n) = self.int_word(&kw, v, 0, MAX_TIMEOUT) {
                *slot = Some(n as u32);
            }
        }
        self.global.lvs_timeouts = t;
    }
}
