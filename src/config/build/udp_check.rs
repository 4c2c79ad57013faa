//! `UDP_CHECK`'s own keywords: `payload`, `require_reply`,
//! `min_reply_length`, `max_reply_length`, and keepalived's hex strings.
//!
//! keepalived 2.2.7 (check_udp.c, parser.c `read_hex_str`) joins a
//! keyword's words with spaces and reads hex digits two by two, blanks
//! between octets allowed; a lone digit before a blank or the end is one
//! octet; in `require_reply`, `x`/`X` is a wildcard nibble. Anything else
//! refuses the string.
//!
//! Owns the reading of those keywords; may not send a datagram.

use crate::config::model::UdpCheck;
use crate::config::parser::Stmt;

use super::builder::Builder;

/// keepalived's read_hex_str: the octets, and the wildcard mask (a set
/// bit is a bit that may differ) when `wildcards` and one was used.
/// `None` for an invalid or empty string.
pub fn read_hex_str(text: &str, wildcards: bool) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let nibble = |c: u8| -> Option<(u8, u8)> {
        match c {
            b'0'..=b'9' => Some((c - b'0', 0)),
            b'a'..=b'f' => Some((c - b'a' + 10, 0)),
            b'A'..=b'F' => Some((c - b'A' + 10, 0)),
            b'x' | b'X' if wildcards => Some((0, 0x0f)),
            _ => None,
        }
    };
    let bytes = text.as_bytes();
    let (mut data, mut mask, mut masked) = (Vec::new(), Vec::new(), false);
    let mut i = 0;
    loop {
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let Some(&c) = bytes.get(i) else { break };
        i += 1;
        let (mut v, mut m) = nibble(c)?;
        if let Some(&c2) = bytes.get(i).filter(|&&b| b != b' ') {
            i += 1;
            let (v2, m2) = nibble(c2)?;
            v = (v << 4) | v2;
            m = (m << 4) | m2;
        }
        masked |= m != 0;
        data.push(v);
        mask.push(m);
    }
    if data.is_empty() {
        return None;
    }
    Some((data, masked.then_some(mask)))
}

impl Builder {
    /// A `UDP_CHECK` keyword of its own; false for any other.
    pub(super) fn udp_stmt(&mut self, st: &Stmt, u: &mut UdpCheck) -> bool {
        let joined = || {
            st.args
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        match st.keyword.text.as_str() {
            "payload" => {
                self.no_block(st);
                if st.args.is_empty() {
                    self.err(st.keyword.pos, "UDP_CHECK payload requires a payload");
                } else {
                    match read_hex_str(&joined(), false) {
                        Some((data, _)) => u.payload = Some(data),
                        None => {
                            self.err(st.args[0].pos, "invalid hex string for UDP_CHECK payload")
                        }
                    }
                }
            }
            "require_reply" => {
                self.no_block(st);
                u.require_reply = true;
                if !st.args.is_empty() {
                    match read_hex_str(&joined(), true) {
                        Some((data, mask)) => {
                            u.reply_data = Some(data);
                            u.reply_mask = mask;
                        }
                        None => self.err(
                            st.args[0].pos,
                            "invalid hex string for UDP_CHECK require_reply",
                        ),
                    }
                }
            }
            "min_reply_length" => {
                if let Some(v) = self.int_in(st, 0, 65535) {
                    u.min_reply_length = v as u16;
                }
            }
            "max_reply_length" => {
                if let Some(v) = self.int_in(st, 0, 65535) {
                    u.max_reply_length = v as u16;
                }
            }
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_strings_read_as_keepalived_reads_them() {
        assert_eq!(read_hex_str("0a1B", false), Some((vec![0x0a, 0x1b], None)));
        assert_eq!(
            read_hex_str("0a 1b  ff", false),
            Some((vec![0x0a, 0x1b, 0xff], None))
        );
        // A lone digit before a blank or the end is one octet.
        assert_eq!(
            read_hex_str("1 2 abc", false),
            Some((vec![1, 2, 0xab, 0x0c], None))
        );
        assert_eq!(
            read_hex_str("4xX1", true),
            Some((vec![0x40, 0x01], Some(vec![0x0f, 0xf0])))
        );
        assert_eq!(read_hex_str("4x", false), None);
        assert_eq!(read_hex_str("zz", true), None);
        assert_eq!(read_hex_str("  ", false), None);
    }
}
