//! `lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`
//! (and `sorry_server_lvs_method`): how IPVS forwards to a server.
//!
//! Owns: reading the method and its tunnel options, and refusing
//! combinations the kernel does not take. May not: decide which server
//! inherits which method.

use crate::config::model::*;
use crate::config::parser::Stmt;

use super::builder::Builder;
use super::values::parse_method;

impl Builder {
    /// `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
    pub(super) fn lvs_method(&mut self, st: &Stmt) -> Option<(LvsMethod, Tunnel)> {
        self.no_block(st);
        let args = self.args_range(st, 1, 6, "NAT, DR or TUN")?;
        let kw = st.keyword.text.clone();
        let w = &args[0];
        let Some(m) = parse_method(&w.text) else {
            self.err(
                w.pos,
                format!("{kw} expects NAT, DR or TUN, not \"{}\"", w.text),
            );
            return None;
        };
        let mut tunnel = Tunnel::default();
        let rest = &args[1..];
        if m != LvsMethod::Tun {
            if let Some(extra) = rest.first() {
                let msg = format!("unexpected \"{}\" after {kw} {}", extra.text, w.text);
                self.err(extra.pos, msg);
            }
            return Some((m, tunnel));
        }
        let mut it = rest.iter();
        let mut port_given = false;
        let mut ok = true;
        while let Some(a) = it.next() {
            match a.text.as_str() {
                "type" => match it.next().map(|t| (t, t.text.as_str())) {
                    Some((_, "ipip")) => tunnel.tunnel_type = TunnelType::Ipip,
                    Some((_, "gue")) => tunnel.tunnel_type = TunnelType::Gue,
                    Some((_, "gre")) => tunnel.tunnel_type = TunnelType::Gre,
                    Some((t, other)) => {
                        self.err(
                            t.pos,
                            format!("tunnel type expects ipip, gue or gre, not \"{other}\""),
                        );
                        ok = false;
                    }
                    None => {
                        self.err(a.pos, "\"type\" needs ipip, gue or gre");
                        ok = false;
                    }
                },
                "port" => match it.next() {
                    Some(p) => match self.int_word("tunnel port", p, 1, 65535) {
                        Some(v) => {
                            tunnel.port = v as u16;
                            port_given = true;
                        }
                        None => ok = false,
                    },
                    None => {
                        self.err(a.pos, "\"port\" needs a number");
                        ok = false;
                    }
                },
                "nocsum" => tunnel.checksum = TunnelChecksum::Nocsum,
                "csum" => tunnel.checksum = TunnelChecksum::Csum,
                "remcsum" => tunnel.checksum = TunnelChecksum::Remcsum,
                other => {
                    let msg = format!(
                        "unexpected \"{other}\" after {kw} TUN; expected type, port, nocsum, csum or remcsum"
                    );
                    self.err(a.pos, msg);
                    ok = false;
                }
            }
        }
        match tunnel.tunnel_type {
            TunnelType::Gue if !port_given && ok => {
                self.err(
                    w.pos,
                    "a GUE tunnel needs a port (lvs_method TUN type gue port N)",
                );
                ok = false;
            }
            TunnelType::Ipip | TunnelType::Gre if port_given => {
                self.err(w.pos, "only a GUE tunnel takes a port");
                ok = false;
            }
            TunnelType::Ipip if tunnel.checksum != TunnelChecksum::Nocsum => {
                self.err(w.pos, "checksum options need a GUE or GRE tunnel");
                ok = false;
            }
            TunnelType::Gre if tunnel.checksum == TunnelChecksum::Remcsum => {
                self.err(w.pos, "remcsum needs a GUE tunnel");
                ok = false;
            }
            _ => {}
        }
        ok.then_some((m, tunnel))
    }
}
