//! `garp_extra_if [all] SECS` in a vrrp_instance and `vrrp_garp_extra_if`
//! in global_defs (and their pre-2.2.2 names `vmac_garp_intvl` /
//! `vrrp_vmac_garp_intvl`, read as deprecated aliases).
//!
//! Owns: the words of those statements. keepalived takes `all` and the
//! number in either order; the instance's accepts 0 (off, overriding the
//! global value), the global one does not.

use std::time::Duration;

use crate::config::model::GarpExtraIf;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::RawInstance;

impl Builder {
    /// The global statement.
    pub(super) fn global_garp_extra_if(&mut self, st: &Stmt) {
        if let Some(Some(v)) = self.garp_extra_if(st, 1) {
            self.global.vrrp_garp_extra_if = Some(v);
        }
    }

    /// The instance statement; 0 turns the global default off.
    pub(super) fn instance_garp_extra_if(&mut self, st: &Stmt, r: &mut RawInstance) {
        if let Some(v) = self.garp_extra_if(st, 0) {
            r.garp_extra_if = Some(v);
        }
    }

    /// An instance whose `garp_extra_if` (its own or the global one) has
    /// no `all` and no `use_vmac_addr`: keepalived sends nothing for it.
    pub(super) fn warn_garp_extra_if_idle(&mut self, vi: &crate::config::model::VrrpInstance) {
        if vi.garp_extra_if.is_some_and(|x| !x.all) && !vi.use_vmac_addr {
            self.warn_at(
                &vi.origin,
                format!(
                    "vrrp_instance {}: garp_extra_if without \"all\" sends only on the links of use_vmac_addr, which it does not use: nothing is sent (add \"all\" for every interface of its VIPs)",
                    vi.name
                ),
            );
        }
    }

    /// `[all] SECS` in either order, SECS in `min..=86400`. `None`: an
    /// error (reported); `Some(None)`: 0, off.
    fn garp_extra_if(&mut self, st: &Stmt, min: i64) -> Option<Option<GarpExtraIf>> {
        self.no_block(st);
        let kw = st.keyword.text.clone();
        let mut all = false;
        let mut secs = None;
        for w in &st.args {
            if w.text == "all" && !all {
                all = true;
            } else if secs.is_none() {
                secs = Some(self.int_word(&kw, w, min, 86400)?);
            } else {
                self.err(w.pos, format!("unexpected \"{}\" after \"{kw}\"", w.text));
                return None;
            }
        }
        let Some(secs) = secs else {
            self.err(
                st.keyword.pos,
                format!("\"{kw}\" needs a number of seconds"),
            );
            return None;
        };
        Some((secs > 0).then(|| GarpExtraIf {
            interval: Duration::from_secs(secs as u64),
            all,
        }))
    }
}
