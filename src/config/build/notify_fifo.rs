//! `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` and their
//! `_script` forms in global_defs: FIFOs the daemon writes one line to
//! per state change, and the scripts it starts to read them.
//!
//! Read as keepalived 2.2.7 reads them (`global_parser.c`): `NAME
//! [USER [GROUP]]` (the owner given to a FIFO the daemon creates) and
//! `SCRIPT [USER [GROUP]]`; the script may come before its FIFO. Where
//! keepalived reports a problem and ignores the line (a second FIFO of
//! one kind), tandem refuses the file; a script whose FIFO is not given,
//! which keepalived never starts, and two kinds sharing one FIFO, which
//! the man page forbids, are refused too.
//!
//! Owns: the meaning of those six keywords. May not: create or open a
//! FIFO (the daemon does, at start).

use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;

/// The three FIFOs, as the builder collects them.
#[derive(Debug, Default)]
pub(super) struct RawFifos {
    /// (path, owner, where) per kind: `notify_fifo`, `vrrp_`, `lvs_`.
    path: [Option<(String, Option<ScriptUser>, Pos)>; 3],
    script: [Option<(NotifyScript, Pos)>; 3],
}

const KINDS: [&str; 3] = ["notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo"];

impl Builder {
    /// One of the six keywords; false if `kw` is none of them.
    pub(super) fn global_fifo_stmt(&mut self, kw: &str, st: &Stmt) -> bool {
        let (base, script) = match kw.strip_suffix("_script") {
            Some(b) => (b, true),
            None => (kw, false),
        };
        let Some(k) = KINDS.iter().position(|n| *n == base) else {
            return false;
        };
        let earlier = if script {
            self.fifos.script[k].as_ref().map(|(_, p)| *p)
        } else {
            self.fifos.path[k].as_ref().map(|(_, _, p)| *p)
        };
        if let Some(first) = earlier {
            let msg = format!(
                "\"{kw}\" is already set at line {}; keepalived keeps the first and ignores this one",
                first.line
            );
            self.err(st.keyword.pos, msg);
            return true;
        }
        if script {
            if let Some(n) = self.notify_script(st) {
                self.fifos.script[k] = Some((n, st.keyword.pos));
            }
        } else {
            self.fifo_path(st, k);
        }
        true
    }

    /// `NAME [USER [GROUP]]`.
    fn fifo_path(&mut self, st: &Stmt, k: usize) {
        self.no_block(st);
        let Some(args) = self.args_range(st, 1, 3, "a FIFO path [USER [GROUP]]") else {
            return;
        };
        let user = args.get(1).map(|u| ScriptUser {
            user: u.text.clone(),
            group: args.get(2).map(|g| g.text.clone()),
            origin: self.origin(u.pos),
        });
        self.fifos.path[k] = Some((args[0].text.clone(), user, st.keyword.pos));
    }

    /// Once global_defs is read: the three FIFOs, with their scripts.
    pub(super) fn finish_fifos(&mut self, g: &mut GlobalDefs) {
        let raw = std::mem::take(&mut self.fifos);
        let mut out: [Option<NotifyFifo>; 3] = Default::default();
        for k in 0..3 {
            let script = raw.script[k].clone();
            match (&raw.path[k], script) {
                (Some((path, user, pos)), script) => {
                    let earlier = (0..k).find_map(|j| {
                        raw.path[j]
                            .as_ref()
                            .filter(|(p, _, _)| p == path)
                            .map(|(_, _, at)| (j, *at))
                    });
                    if let Some((j, at)) = earlier {
                        let msg = format!(
                            "{} {path} is also the {} (line {}): each FIFO must be another file",
                            KINDS[k], KINDS[j], at.line
                        );
                        self.err(*pos, msg);
                        continue;
                    }
                    out[k] = Some(NotifyFifo {
                        path: path.clone(),
                        user: user.clone(),
                        script: script.map(|(n, _)| n),
                    });
                }
                (None, Some((_, pos))) => {
                    let msg = format!(
                        "{}_script has no {} to read (keepalived never starts it): give \"{} PATH\"",
                        KINDS[k], KINDS[k], KINDS[k]
                    );
                    self.err(pos, msg);
                }
                (None, None) => {}
            }
        }
        let [all, vrrp, lvs] = out;
        g.notify_fifo = all;
        g.vrrp_notify_fifo = vrrp;
        g.lvs_notify_fifo = lvs;
    }
}
