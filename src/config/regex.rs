//! keepalived's url `regex`: a PCRE2 pattern compiled with the options
//! `regex_options` names, and a matcher that runs it over a window of a
//! response body (PCRE2's partial matching, so a match may straddle two
//! reads).
//!
//! Why PCRE2 itself (libpcre2 through the `pcre2-sys` binding) and not the
//! `regex` crate: keepalived compiles these patterns with PCRE2, so the
//! patterns operators wrote are PCRE syntax — backreferences, lookaround,
//! possessive quantifiers, `\Q...\E`, `(*VERB)`s — and `regex_options`
//! names PCRE2 compile options one by one (`alt_bsux`, `firstline`, ...)
//! that no other engine has. Only the same library gives the same verdict
//! for every pattern. The high-level `pcre2` crate hides partial matching
//! and most options, hence this small wrapper over the C API.
//!
//! It lives in `config` because both sides need it: the configuration
//! compiles every pattern to report a bad one at its file:line:col, and
//! the checkers (a layer up) run the compiled patterns.
//!
//! Owns: the only code that calls libpcre2 (and its `unsafe`). May not do
//! I/O.

use std::ptr::NonNull;
use std::sync::Arc;

use pcre2_sys as ffi;

/// `regex_options` words and the PCRE2 compile option each sets: the list
/// keepalived 2.2.7 accepts (keepalived.conf(5), check_http.c).
pub const OPTIONS: &[(&str, u32)] = &[
    ("allow_empty_class", ffi::PCRE2_ALLOW_EMPTY_CLASS),
    ("alt_bsux", ffi::PCRE2_ALT_BSUX),
    ("auto_callout", ffi::PCRE2_AUTO_CALLOUT),
    ("caseless", ffi::PCRE2_CASELESS),
    ("dollar_endonly", ffi::PCRE2_DOLLAR_ENDONLY),
    ("dotall", ffi::PCRE2_DOTALL),
    ("dupnames", ffi::PCRE2_DUPNAMES),
    ("extended", ffi::PCRE2_EXTENDED),
    ("firstline", ffi::PCRE2_FIRSTLINE),
    ("match_unset_backref", ffi::PCRE2_MATCH_UNSET_BACKREF),
    ("multiline", ffi::PCRE2_MULTILINE),
    ("never_ucp", ffi::PCRE2_NEVER_UCP),
    ("never_utf", ffi::PCRE2_NEVER_UTF),
    ("no_auto_capture", ffi::PCRE2_NO_AUTO_CAPTURE),
    ("no_auto_possess", ffi::PCRE2_NO_AUTO_POSSESS),
    ("no_dotstar_anchor", ffi::PCRE2_NO_DOTSTAR_ANCHOR),
    ("no_start_optimize", ffi::PCRE2_NO_START_OPTIMIZE),
    ("ucp", ffi::PCRE2_UCP),
    ("ungreedy", ffi::PCRE2_UNGREEDY),
    ("utf", ffi::PCRE2_UTF),
    ("never_backslash_c", ffi::PCRE2_NEVER_BACKSLASH_C),
    ("alt_circumflex", ffi::PCRE2_ALT_CIRCUMFLEX),
    ("alt_verbnames", ffi::PCRE2_ALT_VERBNAMES),
    ("use_offset_limit", ffi::PCRE2_USE_OFFSET_LIMIT),
];

/// The compile options for `regex_options` words, or the first unknown word.
pub fn option_bits<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<u32, &'a str> {
    let mut bits = 0;
    for w in words {
        match OPTIONS.iter().find(|(name, _)| *name == w) {
            Some((_, bit)) => bits |= bit,
            None => return Err(w),
        }
    }
    Ok(bits)
}

/// Why a pattern did not compile: PCRE2's message and the byte offset in
/// the pattern where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at offset {offset}")]
pub struct CompileError {
    pub offset: usize,
    pub message: String,
}

/// A compiled pattern. Read-only once compiled (and JIT-compiled), which is
/// what PCRE2 requires for one compiled pattern to be matched from several
/// threads at once.
#[derive(Debug)]
pub struct Pattern {
    code: NonNull<ffi::pcre2_code_8>,
    /// How many bytes before a match's start its lookbehinds may read
    /// (`PCRE2_INFO_MAXLOOKBEHIND`): what a window must keep.
    max_lookbehind: usize,
}

// SAFETY: a compiled pcre2_code is never modified after `compile` returns
// (JIT compilation happens inside it); pcre2api(3), "Multithreading":
// a compiled pattern may be shared between threads.
unsafe impl Send for Pattern {}
// SAFETY: as above; matching only reads the code.
unsafe impl Sync for Pattern {}

impl Drop for Pattern {
    fn drop(&mut self) {
        // SAFETY: `code` came from pcre2_compile and is freed once.
        unsafe { ffi::pcre2_code_free_8(self.code.as_ptr()) }
    }
}

/// PCRE2's text for an error number.
fn error_message(code: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are ours; PCRE2 writes at most
    // that many code units and returns how many (or a negative error).
    let n = unsafe { ffi::pcre2_get_error_message_8(code, buf.as_mut_ptr(), buf.len()) };
    match usize::try_from(n) {
        Ok(n) => String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned(),
        Err(_) => format!("PCRE2 error {code}"),
    }
}

impl Pattern {
    /// Compile `pattern` with `options` (bits from [`option_bits`]), then
    /// JIT-compile it for complete and partial matches when the machine
    /// has PCRE2's JIT (as keepalived does); without it the interpreter
    /// gives the same results. With `utf`, invalid UTF-8 in a body is
    /// simply never matched (`PCRE2_MATCH_INVALID_UTF`) rather than an
    /// error, since a window may cut a character in two.
    pub fn compile(pattern: &str, options: u32) -> Result<Self, CompileError> {
        let mut options = options;
        if options & ffi::PCRE2_UTF != 0 {
            options |= ffi::PCRE2_MATCH_INVALID_UTF;
        }
        let mut err: i32 = 0;
        let mut offset: usize = 0;
        // SAFETY: pattern pointer and length describe a live &str; the
        // out-parameters are ours; a null context means the defaults.
        let code = unsafe {
            ffi::pcre2_compile_8(
                pattern.as_ptr(),
                pattern.len(),
                options,
                &mut err,
                &mut offset,
                std::ptr::null_mut(),
            )
        };
        let Some(code) = NonNull::new(code) else {
            return Err(CompileError {
                offset,
                message: error_message(err),
            });
        };
        let mut lookbehind: u32 = 0;
        // SAFETY: `code` is a valid compiled pattern; MAXLOOKBEHIND writes
        // a uint32_t.
        unsafe {
            ffi::pcre2_pattern_info_8(
                code.as_ptr(),
                ffi::PCRE2_INFO_MAXLOOKBEHIND,
                (&mut lookbehind as *mut u32).cast(),
            );
            // A failed JIT compile (no JIT on this machine) leaves the
            // interpreter, which pcre2_match then uses.
            ffi::pcre2_jit_compile_8(
                code.as_ptr(),
                ffi::PCRE2_JIT_COMPLETE | ffi::PCRE2_JIT_PARTIAL_HARD,
            );
        }
        Ok(Self {
            code,
            max_lookbehind: lookbehind as usize,
        })
    }

    /// See the field: bytes a window keeps before where matching resumes.
    pub fn max_lookbehind(&self) -> usize {
        self.max_lookbehind
    }
}

/// What one match attempt found (offsets into the subject given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A complete match starting at this offset.
    Match(usize),
    /// The subject ended inside a possible match that starts here: more
    /// data may complete it (only with `partial`).
    Partial(usize),
    NoMatch,
    /// The match itself failed (e.g. the JIT stack was too small): PCRE2's
    /// message.
    Failed(String),
}

/// The per-use state of a match: PCRE2's match data, and the JIT stack a
/// url's `regex_stack` asks for. One per probe; not shared.
#[derive(Debug)]
pub struct Matcher {
    pattern: Arc<Pattern>,
    data: NonNull<ffi::pcre2_match_data_8>,
    /// With `regex_stack`: the match context the JIT stack is assigned
    /// to, and the stack.
    jit: Option<(
        NonNull<ffi::pcre2_match_context_8>,
        NonNull<ffi::pcre2_jit_stack_8>,
    )>,
}

// SAFETY: the match data and JIT stack are owned by this value alone and
// used only through &mut self; moving them to another thread is fine.
unsafe impl Send for Matcher {}

impl Drop for Matcher {
    fn drop(&mut self) {
        // SAFETY: each pointer was created for this matcher and is freed
        // once; the context is freed before the stack it refers to.
        unsafe {
            ffi::pcre2_match_data_free_8(self.data.as_ptr());
            if let Some((ctx, stack)) = self.jit.take() {
                ffi::pcre2_match_context_free_8(ctx.as_ptr());
                ffi::pcre2_jit_stack_free_8(stack.as_ptr());
            }
        }
    }
}

impl Matcher {
    /// The pattern this matcher runs.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// Match state for `pattern`; `stack`: `regex_stack START MAX` (bytes),
    /// the JIT stack's first and largest size (PCRE2's own default, 32 KiB
    /// on the machine stack, without it). `None` if PCRE2 has no memory.
    pub fn new(pattern: Arc<Pattern>, stack: Option<(usize, usize)>) -> Option<Self> {
        // SAFETY: `pattern.code` is valid for the call.
        let data = unsafe {
            ffi::pcre2_match_data_create_from_pattern_8(pattern.code.as_ptr(), std::ptr::null_mut())
        };
        let mut m = Self {
            pattern,
            data: NonNull::new(data)?,
            jit: None,
        };
        if let Some((start, max)) = stack {
            // SAFETY: plain constructors; each result is checked for null
            // and, once both exist, the stack is assigned to the context.
            unsafe {
                let ctx = NonNull::new(ffi::pcre2_match_context_create_8(std::ptr::null_mut()))?;
                let Some(st) = NonNull::new(ffi::pcre2_jit_stack_create_8(
                    start.max(1),
                    max.max(start).max(1),
                    std::ptr::null_mut(),
                )) else {
                    ffi::pcre2_match_context_free_8(ctx.as_ptr());
                    return None;
                };
                ffi::pcre2_jit_stack_assign_8(ctx.as_ptr(), None, st.as_ptr().cast());
                m.jit = Some((ctx, st));
            }
        }
        Some(m)
    }

    /// The leftmost match of the pattern in `subject` starting at `start` or
    /// later. `not_bol`: the subject's first byte is not the start of the
    /// text (`^` may not match there). `partial`: more text may follow, so
    /// a possible match cut off by the end is [`Found::Partial`] (PCRE2's
    /// hard partial matching, as keepalived matches).
    pub fn find(&mut self, subject: &[u8], start: usize, not_bol: bool, partial: bool) -> Found {
        let mut flags = 0;
        if not_bol {
            flags |= ffi::PCRE2_NOTBOL;
        }
        if partial {
            flags |= ffi::PCRE2_PARTIAL_HARD;
        }
        let ctx = self
            .jit
            .map_or(std::ptr::null_mut(), |(ctx, _)| ctx.as_ptr());
        // SAFETY: subject pointer and length describe a live slice; the
        // match data was created from this very pattern (held in self).
        let rc = unsafe {
            ffi::pcre2_match_8(
                self.pattern.code.as_ptr(),
                subject.as_ptr(),
                subject.len(),
                start.min(subject.len()),
                flags,
                self.data.as_ptr(),
                ctx,
            )
        };
        let first = || {
            // SAFETY: after a match or a partial match the output vector
            // holds at least one pair (its start is ovector[0]).
            unsafe { *ffi::pcre2_get_ovector_pointer_8(self.data.as_ptr()) }
        };
        match rc {
            ffi::PCRE2_ERROR_NOMATCH => Found::NoMatch,
            ffi::PCRE2_ERROR_PARTIAL => Found::Partial(first()),
            rc if rc < 0 => Found::Failed(error_message(rc)),
            // 0: the output vector was too small for every group, yet the
            // whole match is in its first pair.
            _ => Found::Match(first()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(p: &str, opts: &[&str], s: &str, partial: bool) -> Found {
        let pat = Pattern::compile(p, option_bits(opts.iter().copied()).unwrap()).unwrap();
        let mut m = Matcher::new(Arc::new(pat), None).unwrap();
        m.find(s.as_bytes(), 0, false, partial)
    }

    #[test]
    fn pcre_syntax_that_the_regex_crate_lacks() {
        // A backreference and a lookbehind.
        assert_eq!(find(r"(ab)\1", &[], "xxabab", false), Found::Match(2));
        assert_eq!(
            find(r"(?<=status: )up", &[], "status: up", false),
            Found::Match(8)
        );
        assert_eq!(
            find(r"(?<=status: )up", &[], "status:up", false),
            Found::NoMatch
        );
    }

    #[test]
    fn options_change_the_match() {
        assert_eq!(find("IBM", &[], "ibm", false), Found::NoMatch);
        assert_eq!(find("IBM", &["caseless"], "ibm", false), Found::Match(0));
        // alt_bsux: \u0041 is "A" (without it, \u is an error).
        assert_eq!(find(r"\u0041", &["alt_bsux"], "xA", false), Found::Match(1));
        assert!(Pattern::compile(r"\u0041", 0).is_err());
        assert_eq!(option_bits(["caseless", "bogus"]), Err("bogus"));
    }

    #[test]
    fn partial_matches_report_where_they_start() {
        assert_eq!(find("passing", &[], "all passi", true), Found::Partial(4));
        assert_eq!(find("passing", &[], "all passi", false), Found::NoMatch);
    }

    #[test]
    fn compile_errors_say_where() {
        let e = Pattern::compile("a(b", 0).unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(e.message.contains("parenthesis"), "{}", e.message);
    }
}
