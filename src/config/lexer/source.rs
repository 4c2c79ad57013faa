//! Where a file's lines come from: text in memory, or a reader over the
//! file, a line at a time.
//!
//! Owns: splitting input into lines (LF or CRLF, invalid UTF-8 replaced).
//! May not: open files (the lexer and `config::load` do) or look inside a
//! line.

use std::io::BufRead;

/// Where a file's lines come from: text in memory, or the file itself,
/// read a line at a time so a large configuration is never held whole.
pub(crate) enum Source {
    Text {
        text: String,
        /// Byte offset of the next line to read.
        offset: usize,
    },
    Reader(Box<dyn BufRead>),
}

impl Source {
    /// The next line (without its end of line), or `None` at the end.
    pub(super) fn next_line(&mut self, buf: &mut Vec<u8>) -> Option<std::io::Result<String>> {
        match self {
            Source::Text { text, offset } => {
                if *offset >= text.len() {
                    return None;
                }
                let rest = &text[*offset..];
                let (line, advance) = match rest.find('\n') {
                    Some(i) => (&rest[..i], i + 1),
                    None => (rest, rest.len()),
                };
                *offset += advance;
                Some(Ok(line.strip_suffix('\r').unwrap_or(line).to_string()))
            }
            Source::Reader(r) => {
                buf.clear();
                match r.read_until(b'\n', buf) {
                    Ok(0) => None,
                    Ok(_) => {
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                        }
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                        Some(Ok(String::from_utf8_lossy(buf).into_owned()))
                    }
                    Err(e) => Some(Err(e)),
                }
            }
        }
    }
}
