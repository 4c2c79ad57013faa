//! `virtual_server_group NAME { ... }`: addresses, ranges and fwmarks
//! served as one virtual server.
//!
//! Owns: reading the group's entries. May not: check the services that
//! name the group (validate does).

use crate::config::keywords;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::values::{ip_le, parse_range};

impl Builder {
    pub(super) fn virtual_server_group(&mut self, s: &Stmt) {
        let name = self.name_arg(s);
        if !self.need_block(s) {
            return;
        }
        let mut entries = Vec::new();
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            if st.keyword.text == "fwmark" {
                let Some(args) = b.args_range(&st, 1, 2, "a number") else {
                    return;
                };
                let mark = b.int_word("fwmark", &args[0], 1, i64::from(u32::MAX));
                let family = match args.get(1).map(|w| (w, w.text.as_str())) {
                    None => None,
                    Some((_, "inet")) => Some(AddressFamily::Inet),
                    Some((_, "inet6")) => Some(AddressFamily::Inet6),
                    Some((w, other)) => {
                        b.err(w.pos, format!("expected inet or inet6, not \"{other}\""));
                        None
                    }
                };
                if let Some(m) = mark {
                    entries.push(VsgEntry::Fwmark {
                        fwmark: m as u32,
                        family,
                    });
                }
                return;
            }
            let Some((first, last)) = parse_range(&st.keyword.text) else {
                let msg = format!(
                    "expected an IP address, range (192.0.2.1-10) or \"fwmark N\", not \"{}\"",
                    st.keyword.text
                );
                let msg = match keywords::suggest(&st.keyword.text, ["fwmark"]) {
                    Some(m) => format!("{msg}; did you mean \"{m}\"?"),
                    None => msg,
                };
                b.err(st.keyword.pos, msg);
                return;
            };
            if !ip_le(&first, &last) {
                b.err(
                    st.keyword.pos,
                    format!("range {} ends before it starts", st.keyword.text),
                );
                return;
            }
            let port = match st.args.first() {
                Some(w) => b.port_word("port", w),
                None => Some(0),
            };
            if let Some(extra) = st.args.get(1) {
                b.err(extra.pos, format!("unexpected \"{}\"", extra.text));
            }
            if let Some(port) = port {
                entries.push(VsgEntry::Range { first, last, port });
            }
        });
        if let Some(name) = name {
            if entries.is_empty() {
                self.warn(
                    s.keyword.pos,
                    format!("virtual_server_group {name} is empty"),
                );
            }
            let origin = self.origin(s.keyword.pos);
            self.vsgs.push(VirtualServerGroup {
                name,
                entries,
                origin,
            });
        }
    }
}
