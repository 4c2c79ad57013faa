//! A url's `regex` run over a response body as it streams in, in bounded
//! memory: the sans-IO half of the regex check (http.rs feeds it).
//!
//! keepalived runs PCRE2 over each read's buffer with hard partial
//! matching: when a possible match is cut off by the end of the data, the
//! bytes from its start (and the pattern's lookbehind before it) are kept
//! and the next read is appended; otherwise the buffer is emptied. This
//! does the same over a window of at most [`WINDOW`] bytes, so memory stays
//! bounded whatever the body's size, with three differences that make the
//! verdict the one a match over the whole body would give (keepalived's
//! depends on how the body happened to arrive in reads):
//! - the byte before where matching resumes is kept, and the window's
//!   first byte is marked as not the start of the body after the first
//!   window, so `^`, `\b` and lookbehinds see the body, not the read;
//! - at the end of the body a possible match still open is tried once
//!   more as a complete match (so `up$` or `a+` can match at the very end);
//! - the window is 16 KiB where keepalived's buffer is 4 KiB.
//!
//! As in keepalived: a match must start at `regex_min_offset` or later and
//! at `regex_max_offset` or earlier (offsets into the body); a possible
//! match that outgrows the window is abandoned (keepalived: "Regex partial
//! match preserve too large"); a failing match (PCRE2's JIT stack
//! exhausted, say) counts as no match in that window.
//!
//! Owns: the window and its offsets. May not: read sockets or clocks.

use std::sync::Arc;

use crate::config::regex::{Found, Matcher, Pattern};

/// The most body bytes held at once.
pub const WINDOW: usize = 16 * 1024;

/// A url's regex settings (from `regex`, `regex_options`,
/// `regex_no_match`, `regex_min_offset`, `regex_max_offset`,
/// `regex_stack`), with the pattern compiled once per configuration.
#[derive(Debug, Clone)]
pub struct UrlRegex {
    /// The pattern as written (for messages, equality and hashing).
    pub text: String,
    /// The compile options, as PCRE2 bits.
    pub options: u32,
    pub pattern: Arc<Pattern>,
    pub no_match: bool,
    pub min_offset: u64,
    pub max_offset: Option<u64>,
    /// `regex_stack START MAX`, bytes.
    pub stack: Option<(usize, usize)>,
}

impl PartialEq for UrlRegex {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}

impl Eq for UrlRegex {}

impl std::hash::Hash for UrlRegex {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.key().hash(h);
    }
}

impl UrlRegex {
    /// Everything but the compiled form, which follows from it.
    #[allow(clippy::type_complexity)]
    fn key(&self) -> (&str, u32, bool, u64, Option<u64>, Option<(usize, usize)>) {
        (
            &self.text,
            self.options,
            self.no_match,
            self.min_offset,
            self.max_offset,
            self.stack,
        )
    }
}

/// Where the search stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Searching,
    Matched,
    /// No match can come any more (past `regex_max_offset`).
    Never,
}

/// One body's search.
#[derive(Debug)]
pub struct BodyMatcher {
    matcher: Matcher,
    min_offset: u64,
    max_offset: Option<u64>,
    /// Bytes kept before where matching resumes: the lookbehind, and at
    /// least one (for `\b` and multiline `^`).
    context: usize,
    /// Body bytes from `base` on.
    buf: Vec<u8>,
    /// Body offset of `buf[0]`.
    base: u64,
    /// Index in `buf` where the next attempt starts.
    resume: usize,
    state: State,
    /// The last failure of a match attempt, for the check's message.
    failure: Option<String>,
}

impl BodyMatcher {
    /// A search for `regex`; `None` when PCRE2 cannot allocate its match
    /// data or JIT stack.
    pub fn new(regex: &UrlRegex) -> Option<Self> {
        Some(Self {
            matcher: Matcher::new(regex.pattern.clone(), regex.stack)?,
            min_offset: regex.min_offset,
            max_offset: regex.max_offset,
            context: regex.pattern.max_lookbehind().max(1),
            buf: Vec::new(),
            base: 0,
            resume: 0,
            state: State::Searching,
            failure: None,
        })
    }

    /// The next bytes of the body.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() && self.state == State::Searching {
            if self.buf.len() >= WINDOW {
                // A possible match fills the whole window: give it up.
                self.resume = self.buf.len();
                self.trim();
            }
            let n = data.len().min(WINDOW - self.buf.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.search(false);
        }
    }

    /// The body ended: whether the regex matched.
    pub fn finish(&mut self) -> bool {
        if self.state == State::Searching {
            self.search(true);
        }
        self.state == State::Matched
    }

    /// Why a match attempt failed, if one did (JIT stack, ...).
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Search from `resume`; `last`: no more data will come.
    fn search(&mut self, last: bool) {
        let from = self.min_offset.max(self.base + self.resume as u64);
        if self.max_offset.is_some_and(|max| from > max) {
            self.state = State::Never;
            self.buf = Vec::new();
            return;
        }
        let end = self.base + self.buf.len() as u64;
        if from > end {
            // regex_min_offset not reached yet: keep only the context.
            self.resume = self.buf.len();
            self.trim();
            return;
        }
        let start = (from - self.base) as usize;
        let not_bol = self.base > 0;
        match self.matcher.find(&self.buf, start, not_bol, !last) {
            Found::Match(at) => {
                let at = self.base + at as u64;
                self.state = match self.max_offset {
                    Some(max) if at > max => State::Never,
                    _ => State::Matched,
                };
                self.buf = Vec::new();
            }
            Found::Partial(at) => {
                self.resume = at;
                self.trim();
            }
            Found::NoMatch => {
                self.resume = self.buf.len();
                self.trim();
            }
            Found::Failed(why) => {
                self.failure = Some(why);
                self.resume = self.buf.len();
                self.trim();
            }
        }
    }

    /// Drop what lies more than `context` bytes before `resume`.
    fn trim(&mut self) {
        let drop = self.resume.saturating_sub(self.context);
        if drop > 0 {
            self.buf.drain(..drop);
            self.base += drop as u64;
            self.resume -= drop;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::regex::option_bits;

    fn regex(p: &str, min: u64, max: Option<u64>) -> UrlRegex {
        UrlRegex {
            text: p.into(),
            options: 0,
            pattern: Arc::new(Pattern::compile(p, option_bits([]).unwrap()).unwrap()),
            no_match: false,
            min_offset: min,
            max_offset: max,
            stack: None,
        }
    }

    /// Feed `body` in pieces of `step` bytes.
    fn run(r: &UrlRegex, body: &[u8], step: usize) -> bool {
        let mut m = BodyMatcher::new(r).unwrap();
        for piece in body.chunks(step) {
            m.feed(piece);
            assert!(m.buf.len() <= WINDOW);
        }
        m.finish()
    }

    #[test]
    fn a_match_across_reads_is_found_whatever_the_pieces() {
        let r = regex("BUILD: rpm-.{3,50} :: DATE", 0, None);
        let body = b"<html>xxxxxxx BUILD: rpm-1.2.3 :: DATE 01/02</html>";
        for step in 1..body.len() {
            assert!(run(&r, body, step), "step {step}");
        }
        assert!(!run(&r, b"BUILD: rpm- :: DATE", 3));
    }

    #[test]
    fn anchors_and_lookbehind_see_the_body_not_the_read() {
        let caret = regex("^up", 0, None);
        assert!(run(&caret, b"up and running", 2));
        assert!(!run(&caret, b"is up", 3), "^ only at the body's start");
        let behind = regex("(?<=state=)up", 0, None);
        assert!(run(&behind, b"state=up", 6));
        assert!(!run(&behind, b"status=up", 7));
        let end = regex("up$", 0, None);
        assert!(run(&end, b"all up", 1), "$ at the body's end");
    }

    #[test]
    fn offsets_bound_where_a_match_may_start() {
        let body = b"0123456789 up 0123456789";
        // "up" starts at 11.
        assert!(run(&regex("up", 11, None), body, 4));
        assert!(!run(&regex("up", 12, None), body, 4));
        assert!(run(&regex("up", 0, Some(11)), body, 4));
        assert!(!run(&regex("up", 0, Some(10)), body, 4));
        assert!(run(&regex("up", 5, Some(20)), body, 1));
    }

    #[test]
    fn a_large_body_stays_in_the_window() {
        let r = regex("needle", 0, None);
        let mut body = vec![b'x'; 1 << 20];
        body.extend_from_slice(b"needle");
        assert!(run(&r, &body, 4096));
        // A possible match longer than the window is abandoned, as in
        // keepalived.
        let long = regex("<a.*>", 0, None);
        let mut body = b"<a".to_vec();
        body.extend(std::iter::repeat_n(b'y', WINDOW * 2));
        body.push(b'>');
        assert!(!run(&long, &body, 1000));
    }
}
