//! `BFD_CHECK { name NAME  alpha }`: a real server that follows a
//! `bfd_instance`.
//!
//! keepalived reads only `name` and `alpha` here (none of the connection
//! or timing options: the session's own timers decide). Owns reading the
//! block; whether the name is a `bfd_instance` that reports to the
//! checker is `validate`'s (the instance may be defined after it).

use crate::config::keywords::Block;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::raw::{Inherit, RawChecker};

impl Builder {
    pub(super) fn bfd_check(&mut self, s: &Stmt) -> Option<RawChecker> {
        if let Some(extra) = s.args.first() {
            self.err(
                extra.pos,
                format!("unexpected \"{}\" after BFD_CHECK", extra.text),
            );
        }
        if !s.block {
            self.need_block(s);
            return None;
        }
        let mut name: Option<String> = None;
        let mut inh = Inherit::default();
        self.kw_block(s, &mut |b, st| {
            let kw = b.alias(&st, Block::BfdCheck);
            match kw.as_str() {
                "name" => {
                    let Some(n) = b.string(&st) else { return };
                    match &name {
                        // keepalived: "BFD %s already specified as %s".
                        Some(first) => b.err(
                            st.keyword.pos,
                            format!("BFD_CHECK follows bfd_instance {first} already; one name per BFD_CHECK"),
                        ),
                        None => name = Some(n),
                    }
                }
                "alpha" => inh.alpha = Some(b.flag(&st)),
                _ => b.unknown(Block::BfdCheck, &st),
            }
        });
        let Some(name) = name else {
            self.err(s.keyword.pos, "BFD_CHECK has no name (of a bfd_instance)");
            return None;
        };
        let mut c = RawChecker::new(
            CheckerKind::BfdCheck(BfdCheck { name }),
            self.origin(s.keyword.pos),
        );
        c.inh = inh;
        Some(c)
    }
}
