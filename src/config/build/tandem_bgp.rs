//! `tandem_bgp { ... }` in a virtual_server: tandem's own extension for
//! scale-out (every balancer active, the VIP announced by BIRD while the
//! local quorum is up; docs/scale-out.md). keepalived has no such block,
//! so keepalived refuses a file that has one; tandem reads it strictly.
//!
//! Owns: the meaning of the block's keywords and their defaults. May not:
//! check across virtual servers (validate does: one include file, one
//! socket and protocol name; an address to announce).

use crate::config::keywords::Block;
use crate::config::lexer::Pos;
use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;

/// BIRD's symbols: a letter or `_`, then letters, digits, `_`.
fn bird_symbol(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Builder {
    /// The block; `None` (with errors) when it is unusable.
    pub(super) fn tandem_bgp(&mut self, s: &Stmt) -> Option<BgpAnnounce> {
        if !self.need_block(s) {
            return None;
        }
        let mut bgp = BgpAnnounce {
            bird_socket: DEFAULT_BIRD_SOCKET.to_string(),
            include_file: String::new(),
            protocol: DEFAULT_BGP_PROTOCOL.to_string(),
            drain_delay: DEFAULT_DRAIN_DELAY,
            liveness_device: DEFAULT_LIVENESS_DEVICE.to_string(),
            origin: self.origin(s.keyword.pos),
        };
        let mut ok = true;
        self.kw_block(s, &mut |b, st| match st.keyword.text.as_str() {
            "bird_socket" => {
                if let Some(v) = b.absolute_path(&st) {
                    bgp.bird_socket = v;
                } else {
                    ok = false;
                }
            }
            "include_file" => {
                if let Some(v) = b.absolute_path(&st) {
                    bgp.include_file = v;
                } else {
                    ok = false;
                }
            }
            "protocol" => match b.one(&st, "a BIRD protocol name") {
                Some(w) if bird_symbol(&w.text) && w.text.len() <= 60 => {
                    bgp.protocol = w.text.clone();
                }
                Some(w) => {
                    let (pos, text) = (w.pos, w.text.clone());
                    b.err(
                        pos,
                        format!(
                            "tandem_bgp protocol must be a BIRD name (a letter or \"_\", then letters, digits, \"_\"), not \"{text}\""
                        ),
                    );
                    ok = false;
                }
                None => ok = false,
            },
            "liveness_device" => match b.one(&st, "an interface name") {
                Some(w)
                    if !w.text.is_empty()
                        && w.text.len() < 16
                        && w.text.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)) =>
                {
                    bgp.liveness_device = w.text.clone();
                }
                Some(w) => {
                    let (pos, text) = (w.pos, w.text.clone());
                    b.err(
                        pos,
                        format!("liveness_device expects an interface name (1 to 15 of a-z, 0-9, \"-\", \"_\", \".\"), not \"{text}\""),
                    );
                    ok = false;
                }
                None => ok = false,
            },
            "drain_delay" => match b.timer(&st) {
                Some(d) => bgp.drain_delay = d,
                None => ok = false,
            },
            _ => {
                b.unknown(Block::TandemBgp, &st);
                ok = false;
            }
        });
        if bgp.include_file.is_empty() {
            if ok {
                self.err(
                    s.keyword.pos,
                    "tandem_bgp needs \"include_file PATH\" (the file BIRD's configuration includes)",
                );
            }
            return None;
        }
        ok.then_some(bgp)
    }

    /// A path that must be absolute: BIRD and tandem do not share a
    /// working directory.
    fn absolute_path(&mut self, st: &Stmt) -> Option<String> {
        let kw = st.keyword.text.clone();
        let w = self.one(st, "an absolute path")?;
        let (pos, text): (Pos, String) = (w.pos, w.text.clone());
        if !text.starts_with('/') || text.contains('"') {
            self.err(
                pos,
                format!("{kw} expects an absolute path, not \"{text}\""),
            );
            return None;
        }
        Some(text)
    }
}
