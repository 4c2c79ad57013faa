//! `linkbeat_interfaces { IF [MII|ETHTOOL|IOCTL] ... }` (top level) and
//! `linkbeat_use_polling` (top level: each instance's own
//! interface; in a vrrp_instance, deprecated: that instance's), read as
//! keepalived 2.2.7 reads them (vrrp_parser.c, vrrp.c): the interfaces
//! whose carrier is polled instead of taken from rtnetlink.
//!
//! Owns: the block's lines and the one list they become. May not: know
//! whether the interfaces exist (the daemon polls whatever is there; a
//! missing one is down, as in keepalived).

use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;

impl Builder {
    pub(super) fn linkbeat_interfaces(&mut self, s: &Stmt) {
        if !self.need_block(s) {
            return;
        }
        self.block(s, &mut |b, st| {
            b.no_block(&st);
            let kind = match st.args.first().map(|w| w.text.as_str()) {
                None => None,
                Some("MII") => Some(LinkbeatKind::Mii),
                Some("ETHTOOL") => Some(LinkbeatKind::Ethtool),
                Some("IOCTL") => Some(LinkbeatKind::Ioctl),
                Some(other) => {
                    b.err(
                        st.args[0].pos,
                        format!(
                            "linkbeat interface {}: \"{other}\" is not MII, ETHTOOL or IOCTL",
                            st.keyword.text
                        ),
                    );
                    return;
                }
            };
            if let Some(w) = st.args.get(1) {
                b.err(
                    w.pos,
                    format!(
                        "linkbeat interface {}: \"{}\" after its type",
                        st.keyword.text, w.text
                    ),
                );
                return;
            }
            let list = &mut b.global.linkbeat_interfaces;
            // A name given again takes the later type, as keepalived's
            // per-interface setting does.
            list.retain(|l| l.name != st.keyword.text);
            list.push(LinkbeatInterface {
                name: st.keyword.text.clone(),
                kind,
            });
        });
    }

    /// `linkbeat_use_polling` in vrrp_instance `name`: deprecated.
    pub(super) fn instance_linkbeat(&mut self, st: &Stmt, name: &str) -> bool {
        self.bare(st);
        self.warn(
            st.keyword.pos,
            format!("({name}) linkbeat_use_polling in a vrrp_instance is deprecated (as keepalived says): use a linkbeat_interfaces block"),
        );
        true
    }

    /// Add the interfaces of the instances that poll theirs.
    pub(super) fn finish_linkbeat(&mut self, g: &mut GlobalDefs) {
        for name in std::mem::take(&mut self.linkbeat_of_instances) {
            if !g.linkbeat_interfaces.iter().any(|l| l.name == name) {
                g.linkbeat_interfaces
                    .push(LinkbeatInterface { name, kind: None });
            }
        }
    }
}
