//! The lexer: files → tokens, as keepalived reads them.
//!
//! Works line by line, because that is how keepalived's dialect is defined:
//!
//! * `@ID` / `@^ID` at the start of a line keeps the line only when the
//!   config id matches (or does not match);
//! * `$NAME=value` defines a parameter, and `$NAME` (followed by white
//!   space or the end of the line) or `${NAME}` is replaced by its value in
//!   later lines, recursively; an undefined parameter is left as written;
//! * `include GLOB` (and `includer`/`includem`/`includew`/`includeb`/
//!   `includea`) splices in other files, relative to the including file;
//! * `#` and `!` start a comment anywhere outside quotes;
//! * `"..."` and `'...'` quote, with shell-like escapes; quoted and bare
//!   pieces that touch form one word;
//! * `{` and `}` at the start of a word are block delimiters.
//!
//! Every token keeps the file, line and column the operator wrote; text
//! produced by a parameter points at the `$` of its reference.
//!
//! Owns: [`Lexer`] and [`Pos`]: following includes (the only files
//! `config` opens besides the top one), conditional lines and parameters,
//! and giving each token its position. The grammar inside a line is in
//! `words`, reading lines in `source`. May not: know what a keyword or a
//! block means (the parser and builder do).

mod expand;
mod pos;
mod source;
mod words;

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::Diagnostic;
use expand::{Def, Generated, Pending, SrcLine};

pub(crate) use pos::Pos;
pub(crate) use source::Source;
pub(crate) use words::TokKind;
use words::{LexError, RawToken, strip_comment, tokenize};

/// How deep includes may nest (a loop of includes stops here).
const MAX_INCLUDE_DEPTH: usize = 32;
/// How many parameter replacements one line may take, and how long it may
/// grow: stops `$A=${A}` style loops. keepalived's own limit on a
/// substituted line is its 1,024-byte line buffer; 64 KiB keeps every line
/// it accepts while bounding the work a runaway definition costs (each
/// round rewrites the line).
const MAX_EXPANSIONS: usize = 10_000;
const MAX_EXPANDED_LINE: usize = 1 << 16;
/// How many times one line is read again after substitution.
const MAX_RECHECKS: usize = 16;
/// How many lines multi-line parameters and `~SEQ`/`~LST` may generate in
/// all: stops a multi-line parameter that refers to itself.
const MAX_GENERATED: u64 = 2_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokKind,
    /// The word with quotes removed and escapes applied (empty for others).
    pub text: String,
    /// The word with escapes applied in its bare pieces too, when one has
    /// a backslash (`None`: the same as `text`): how keepalived reads the
    /// few keywords it re-reads with escapes everywhere (`regex`).
    pub escaped: Option<Box<str>>,
    pub pos: Pos,
}

/// A line being read: its text and where each byte was written.
struct Line<'a> {
    text: Cow<'a, str>,
    /// The column of each byte (and one past the end), once substitution
    /// has moved text; `None`: the text is as written from `pos.col`.
    cols: Option<Vec<u32>>,
    pos: Pos,
}

struct Frame {
    file: u32,
    source: Source,
    /// Number of the next line to read (1-based).
    line: u32,
    dir: PathBuf,
}

/// Turns a configuration (with its includes) into tokens, on demand.
pub(crate) struct Lexer {
    /// Every file read, indexed by [`Pos::file`].
    pub files: Vec<Arc<Path>>,
    stack: Vec<Frame>,
    queue: VecDeque<Token>,
    macros: HashMap<String, Def>,
    /// A multi-line definition being read: its name and lines so far.
    collecting: Option<(String, Vec<SrcLine>)>,
    /// Generated lines still to read, innermost last.
    pending: Vec<Pending>,
    /// How many lines have been generated (bounded by [`MAX_GENERATED`]).
    generated: u64,
    max_generated: u64,
    /// State of the generator behind `${_RANDOM}`.
    rng: u64,
    config_id: String,
    pub diagnostics: Vec<Diagnostic>,
    /// Line buffer reused for every line read from a file.
    buf: Vec<u8>,
}

impl Lexer {
    /// A lexer over `text`, read from `path` (includes are relative to its
    /// directory).
    pub fn new(path: &Path, source: Source, config_id: &str) -> Self {
        let mut lx = Lexer {
            files: Vec::new(),
            stack: Vec::new(),
            queue: VecDeque::new(),
            macros: HashMap::new(),
            collecting: None,
            pending: Vec::new(),
            generated: 0,
            max_generated: MAX_GENERATED,
            rng: expand::random_seed(),
            config_id: config_id.to_string(),
            diagnostics: Vec::new(),
            buf: Vec::new(),
        };
        lx.push_file(path, source);
        lx
    }

    fn push_file(&mut self, path: &Path, source: Source) {
        let file = self.files.len() as u32;
        self.files.push(Arc::from(path));
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        self.stack.push(Frame {
            file,
            source,
            line: 1,
            dir,
        });
    }

    fn error(&mut self, pos: Pos, msg: impl Into<String>) {
        let d = Diagnostic::error(&self.files[pos.file as usize], pos.line, pos.col, msg);
        self.diagnostics.push(d);
    }

    fn warning(&mut self, pos: Pos, msg: impl Into<String>) {
        let d = Diagnostic::warning(&self.files[pos.file as usize], pos.line, pos.col, msg);
        self.diagnostics.push(d);
    }

    /// The file a position is in.
    pub fn file_of(&self, pos: Pos) -> &Arc<Path> {
        &self.files[pos.file as usize]
    }

    /// The next token, or `None` at the end of all input.
    pub fn next_token(&mut self) -> Option<Token> {
        loop {
            if let Some(t) = self.queue.pop_front() {
                return Some(t);
            }
            if !self.lex_next_line() {
                return None;
            }
        }
    }

    /// Look at the next token without taking it.
    pub fn peek(&mut self) -> Option<&Token> {
        while self.queue.is_empty() {
            if !self.lex_next_line() {
                return None;
            }
        }
        self.queue.front()
    }

    /// Read one line, generated (a multi-line parameter's next line, a
    /// `~SEQ`/`~LST` repeat) or else physical, and queue its tokens.
    /// False at end of input.
    fn lex_next_line(&mut self) -> bool {
        if let Some(g) = self.next_generated() {
            for (name, value) in g.sets {
                self.macros.insert(name, Def::Line(value));
            }
            self.process_line(&g.line.text, g.line.pos);
            return true;
        }
        let Some(frame) = self.stack.last_mut() else {
            if self.collecting.is_some() {
                self.finish_definition();
                return true;
            }
            return false;
        };
        let pos = Pos {
            file: frame.file,
            line: frame.line,
            col: 1,
        };
        let line_text = match frame.source.next_line(&mut self.buf) {
            None => {
                self.stack.pop();
                return true;
            }
            Some(Err(e)) => {
                self.stack.pop();
                self.error(pos, format!("cannot read further: {e}"));
                return true;
            }
            Some(Ok(l)) => l,
        };
        frame.line += 1;
        if self.collecting.is_some() {
            self.continue_definition(&line_text, pos);
        } else {
            self.process_line(&line_text, pos);
        }
        true
    }

    /// The next generated line, from the innermost source that has one.
    fn next_generated(&mut self) -> Option<Generated> {
        while let Some(top) = self.pending.last_mut() {
            if let Some(g) = top.next() {
                // A used-up source goes at once, so that a parameter
                // expanding itself does not pile sources up.
                if top.is_done() {
                    self.pending.pop();
                }
                self.generated += 1;
                if self.generated > self.max_generated {
                    let pos = g.line.pos;
                    self.pending.clear();
                    self.error(
                        pos,
                        format!("more than {} lines generated by multi-line parameters and ~SEQ/~LST (does a multi-line parameter refer to itself?)", self.max_generated),
                    );
                    return None;
                }
                return Some(g);
            }
            self.pending.pop();
        }
        None
    }

    /// A line read while a multi-line definition is open: a line empty
    /// after its comment ends it, a line ending in `\` adds a line and
    /// continues, any other adds its last line. (keepalived's parent
    /// process skips a comment-only line, but its VRRP and checker
    /// processes, which run the configuration, read a copy in which that
    /// line is empty, and end there: tandem does what they do.)
    ///
    /// As in keepalived, a `\\` that ends the physical line continues it
    /// even inside a comment (`# old_option \\` is skipped, not the end).
    fn continue_definition(&mut self, raw: &str, pos: Pos) {
        let text = strip_comment(raw).trim();
        let (text, more) = match text.strip_suffix('\\') {
            Some(t) => (t.trim_end(), true),
            None => (text, raw.ends_with('\\')),
        };
        if text.is_empty() && !more {
            self.finish_definition();
            return;
        }
        let lead = raw.len() - raw.trim_start().len();
        if !text.is_empty()
            && let Some((_, lines)) = &mut self.collecting
        {
            lines.push(SrcLine {
                text: text.to_string(),
                pos: col_at(raw, lead, pos),
            });
        }
        if !more {
            self.finish_definition();
        }
    }

    fn finish_definition(&mut self) {
        if let Some((name, lines)) = self.collecting.take() {
            let def = if lines.is_empty() {
                Def::Line(String::new())
            } else {
                Def::Lines(lines)
            };
            self.macros.insert(name, def);
        }
    }

    /// One line: its `@ID` condition, a parameter definition or a
    /// `~SEQ`/`~LST`, parameter substitution, then its tokens. As in
    /// keepalived, a line that substitution leaves starting with `@` or
    /// still holding a `$` is looked at again (so a parameter may expand
    /// to a `~SEQ` line).
    fn process_line(&mut self, raw: &str, pos: Pos) {
        let mut line = Line {
            text: Cow::Borrowed(raw),
            cols: None,
            pos,
        };
        for _ in 0..MAX_RECHECKS {
            let Some(start) = self.condition(&line) else {
                return;
            };
            if self.directive(&line, start) {
                return;
            }
            let text = &line.text[start..];
            let substituted = if text.starts_with('~') {
                None
            } else {
                match self.substitute(&line, start) {
                    Err(()) => return,
                    Ok(s) => s,
                }
            };
            match substituted {
                Some(next) if next.text.starts_with('@') || next.text.contains('$') => line = next,
                Some(next) => return self.queue_line(&next.text, &next.cols, next.pos),
                None => {
                    let cols = line.cols.as_ref().map(|c| c[start..].to_vec());
                    let pos = self.pos_at(&line.text, start, &line.cols, line.pos);
                    return self.queue_line(text, &cols, pos);
                }
            }
        }
        self.queue_line(&line.text, &line.cols, line.pos);
    }

    /// The byte offset where `line` starts after its leading white space
    /// and `@ID` / `@^ID` prefix; `None` if the line is not for this
    /// config id (or the condition is malformed).
    fn condition(&mut self, line: &Line<'_>) -> Option<usize> {
        let raw: &str = &line.text;
        let trimmed = raw.trim_start();
        let start = raw.len() - trimmed.len();
        let Some(cond) = trimmed.strip_prefix('@') else {
            return Some(start);
        };
        let (negate, cond) = match cond.strip_prefix('^') {
            Some(c) => (true, c),
            None => (false, cond),
        };
        let id_len = cond.find(char::is_whitespace).unwrap_or(cond.len());
        let id = &cond[..id_len];
        if id.is_empty() {
            let p = self.pos_at(raw, start, &line.cols, line.pos);
            self.error(p, "\"@\" must be followed by a config id (e.g. \"@main\")");
            return None;
        }
        let matches = id == self.config_id;
        if matches == negate {
            return None;
        }
        let after_trimmed = cond[id_len..].trim_start();
        Some(raw.len() - after_trimmed.len())
    }

    /// A line that is a directive rather than tokens: `$NAME=value` (a
    /// parameter definition, perhaps the first of several lines) or
    /// `~SEQ` / `~LST`. True if the text at byte `start` of `line` was one.
    fn directive(&mut self, line: &Line<'_>, start: usize) -> bool {
        let text = &line.text[start..];
        if let Some(def) = text.strip_prefix('$')
            && let Some(eq) = def.find('=')
        {
            let name = &def[..eq];
            if is_param_name(name) {
                let after = &def[eq + 1..];
                let value = strip_comment(after).trim();
                // A `\\` ending the line continues it, even in a comment.
                let first = value
                    .strip_suffix('\\')
                    .or_else(|| line.text.ends_with('\\').then_some(value));
                let Some(first) = first else {
                    self.macros
                        .insert(name.to_string(), Def::Line(value.to_string()));
                    return true;
                };
                let first = first.trim_end();
                let at = start + 1 + eq + 1 + (after.len() - after.trim_start().len());
                let lines = if first.is_empty() {
                    Vec::new()
                } else {
                    vec![SrcLine {
                        text: first.to_string(),
                        pos: self.pos_at(&line.text, at, &line.cols, line.pos),
                    }]
                };
                self.collecting = Some((name.to_string(), lines));
                return true;
            }
        }
        if text.starts_with("~SEQ") {
            self.seq(line, start);
            return true;
        }
        if text.starts_with("~LST") {
            let text = strip_comment(text).trim_end();
            match expand::lst(text, |o| {
                self.pos_at(&line.text, start + o, &line.cols, line.pos)
            }) {
                Ok(l) => self.pending.push(Pending::Lst(l)),
                Err(e) => {
                    let p = self.pos_at(&line.text, start, &line.cols, line.pos);
                    self.error(p, e);
                }
            }
            return true;
        }
        false
    }

    /// `~SEQ(...) TEXT` at byte `start` of `line`: its numbers may be
    /// parameters (but not multi-line ones).
    fn seq(&mut self, line: &Line<'_>, start: usize) {
        let text = strip_comment(&line.text[start..]).trim_end();
        let at = self.pos_at(&line.text, start, &line.cols, line.pos);
        let head = match expand::seq_head(text) {
            Ok(h) => h,
            Err(e) => return self.error(at, e),
        };
        let arg_line = Line {
            text: Cow::Borrowed(head.args),
            cols: None,
            pos: at,
        };
        let pending_before = self.pending.len();
        let args = match self.substitute(&arg_line, 0) {
            Err(()) => return,
            Ok(s) => s.map(|l| l.text.into_owned()),
        };
        if self.pending.len() != pending_before {
            self.pending.truncate(pending_before);
            return self.error(at, "a ~SEQ number cannot be a multi-line parameter");
        }
        let text_pos = self.pos_at(
            &line.text,
            start + expand::seq_text_at(&head),
            &line.cols,
            line.pos,
        );
        match expand::seq(&head, args.as_deref().unwrap_or(head.args), text, text_pos) {
            Ok(s) => self.pending.push(Pending::Seq(s)),
            Err(e) => self.error(at, e),
        }
    }

    /// The text of `line` from byte `start` with its parameters replaced,
    /// and a byte → column map so that expanded text points at its `$`
    /// reference; `Ok(None)` if nothing was replaced, `Err` (with an
    /// error) if substitution does not terminate. A multi-line parameter
    /// replaces its reference with its first line and queues the others.
    fn substitute(&mut self, line: &Line<'_>, start: usize) -> Result<Option<Line<'static>>, ()> {
        // As keepalived, never in a comment (a commented-out `~SEQ ...
        // $PARAM` must not generate lines).
        let text = strip_comment(&line.text[start..]);
        if !text.contains('$') {
            return Ok(None);
        }
        let mut byte_cols: Vec<u32> = match &line.cols {
            Some(map) => map[start..].to_vec(),
            None => {
                let mut v = Vec::with_capacity(text.len() + 1);
                let mut c = self.pos_at(&line.text, start, &None, line.pos).col;
                for ch in text.chars() {
                    v.extend(std::iter::repeat_n(c, ch.len_utf8()));
                    c += 1;
                }
                v.push(c);
                v
            }
        };
        let mut owned = text.to_string();
        let mut rounds = 0;
        let mut replaced = false;
        // Text before the last replacement holds nothing replaceable,
        // so each search starts there (values are expanded in turn).
        let mut from = 0;
        while let Some((s, e, value)) = self.find_macro(&owned, from) {
            rounds += 1;
            if rounds > MAX_EXPANSIONS || owned.len() + value.len() > MAX_EXPANDED_LINE {
                let p = Pos {
                    col: byte_cols[0],
                    ..line.pos
                };
                self.error(
                    p,
                    "parameter substitution does not terminate (a parameter refers to itself)",
                );
                return Err(());
            }
            replaced = true;
            from = s;
            let at = byte_cols[s];
            owned.replace_range(s..e, &value);
            byte_cols.splice(s..e, std::iter::repeat_n(at, value.len()));
            // keepalived stops at a value that starts with `~` (a `~SEQ`
            // in a parameter), to read the line again.
            if value.trim_start().starts_with('~') {
                break;
            }
        }
        if !replaced {
            return Ok(None);
        }
        Ok(Some(Line {
            text: Cow::Owned(owned),
            cols: Some(byte_cols),
            pos: line.pos,
        }))
    }

    /// Tokenize a (substituted) line: an `include` splices files in after
    /// it; any other line's tokens are queued, then an end of line.
    fn queue_line(&mut self, line: &str, cols: &Option<Vec<u32>>, pos: Pos) {
        let tokens = match tokenize(line) {
            Ok(t) => t,
            Err(LexError::Unterminated(at)) => {
                let p = self.pos_at(line, at, cols, pos);
                self.error(p, "unterminated quoted string");
                return;
            }
        };
        if tokens.is_empty() {
            return;
        }

        // `include GLOB`: splice files in after this line.
        if let Some(first) = tokens.first()
            && first.kind == TokKind::Word
            && is_include_keyword(&first.text)
        {
            let kpos = self.pos_at(line, first.offset, cols, pos);
            self.include(&tokens, kpos, line, cols, pos);
            return;
        }

        // `random_seed N`: `${_RANDOM}` on the lines after it draws from
        // this seed, so that one file expands one way (keepalived seeds
        // random() with it). The builder reads the line as any other.
        if let [first, second, ..] = tokens.as_slice()
            && first.text == "random_seed"
            && let Ok(seed) = second.text.parse::<u32>()
        {
            self.rng = expand::seeded(seed);
        }
        let mut last = pos;
        for t in tokens {
            let p = self.pos_at(line, t.offset, cols, pos);
            last = p;
            self.queue.push_back(Token {
                kind: t.kind,
                text: t.text,
                escaped: t.escaped.map(String::into_boxed_str),
                pos: p,
            });
        }
        self.queue.push_back(Token {
            kind: TokKind::Eol,
            text: String::new(),
            escaped: None,
            pos: Pos {
                col: last.col + 1,
                ..last
            },
        });
    }

    fn pos_at(&self, line: &str, offset: usize, cols: &Option<Vec<u32>>, pos: Pos) -> Pos {
        let col = match cols {
            Some(map) => map.get(offset).copied().unwrap_or(pos.col),
            None => char_col(line, offset) + pos.col - 1,
        };
        Pos { col, ..pos }
    }

    /// The first replaceable `$NAME` / `${NAME}` in `s` from byte `from`:
    /// (start, end, value). A bare `$NAME` must be followed by a blank, `,`,
    /// `)` or the end, as keepalived requires. A multi-line parameter is
    /// replaceable only where its reference ends the line; its lines after
    /// the first are queued to follow.
    fn find_macro(&mut self, s: &str, from: usize) -> Option<(usize, usize, String)> {
        let bytes = s.as_bytes();
        let mut i = from;
        while let Some(off) = s[i..].find('$') {
            let at = i + off;
            let found = if bytes.get(at + 1) == Some(&b'{') {
                s[at + 2..].find('}').and_then(|close| {
                    let inner = &s[at + 2..at + 2 + close];
                    let (name, params) = inner.split_at(inner.find(' ').unwrap_or(inner.len()));
                    (is_param_name(name) && expand::valid_params(params)).then_some((
                        name,
                        params,
                        at + 3 + close,
                    ))
                })
            } else {
                let name_len = s[at + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(s.len() - at - 1);
                let end = at + 1 + name_len;
                let followed_ok = s[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| matches!(c, ' ' | '\t' | ',' | ')'));
                (name_len > 0 && followed_ok).then_some((&s[at + 1..end], "", end))
            };
            if let Some((name, params, end)) = found {
                if let Some(v) = self.lookup(name, params, &s[end..]) {
                    return Some((at, end, v));
                }
            }
            i = at + 1;
        }
        None
    }

    /// A parameter's value; a multi-line one only when its reference ends
    /// the line (nothing but a comment in `rest`; its lines after the first
    /// are then queued).
    fn lookup(&mut self, name: &str, params: &str, rest: &str) -> Option<String> {
        match self.macros.get(name) {
            Some(Def::Line(v)) => return Some(v.clone()),
            Some(Def::Lines(lines)) => {
                if !strip_comment(rest).trim().is_empty() {
                    return None;
                }
                let (first, rest) = lines.split_first()?;
                let first = first.text.clone();
                if !rest.is_empty() {
                    let rest = rest.iter().cloned().collect();
                    self.pending.push(Pending::Lines(rest));
                }
                return Some(first);
            }
            None => {}
        }
        if !params.is_empty() && name != "_RANDOM" {
            return None;
        }
        match name {
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_INSTANCE" => Some(self.config_id.clone()),
            "_RANDOM" => Some(expand::random(params, &mut self.rng)),
            "_PWD" => self
                .stack
                .last()
                .map(|f| std::path::absolute(&f.dir).unwrap_or_else(|_| f.dir.clone()))
                .map(|d| d.to_string_lossy().into_owned()),
            _ => None,
        }
    }

    fn include(
        &mut self,
        tokens: &[RawToken],
        kpos: Pos,
        line: &str,
        cols: &Option<Vec<u32>>,
        pos: Pos,
    ) {
        let Some(arg) = tokens.get(1) else {
            self.error(kpos, "\"include\" needs a file name or pattern");
            return;
        };
        let apos = self.pos_at(line, arg.offset, cols, pos);
        if let Some(extra) = tokens.get(2) {
            let p = self.pos_at(line, extra.offset, cols, pos);
            self.error(p, "\"include\" takes one file name or pattern");
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.error(
                apos,
                format!("includes nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"),
            );
            return;
        }
        let dir = self
            .stack
            .last()
            .map(|f| f.dir.clone())
            .unwrap_or_else(|| PathBuf::from("."));
        let pattern = if Path::new(&arg.text).is_absolute() {
            PathBuf::from(&arg.text)
        } else {
            dir.join(&arg.text)
        };
        let pattern_str = pattern.to_string_lossy().into_owned();
        let has_wildcard = arg.text.contains(['*', '?', '[']);
        let mut paths: Vec<PathBuf> = Vec::new();
        match glob::glob(&pattern_str) {
            Ok(iter) => {
                for entry in iter {
                    match entry {
                        Ok(p) => paths.push(p),
                        Err(e) => {
                            self.error(
                                apos,
                                format!("cannot read {}: {}", e.path().display(), e.error()),
                            );
                        }
                    }
                }
            }
            Err(e) => {
                self.error(
                    apos,
                    format!("bad include pattern \"{}\": {}", arg.text, e.msg),
                );
                return;
            }
        }
        if paths.is_empty() {
            if has_wildcard {
                self.warning(apos, format!("include \"{}\" matches no file", arg.text));
            } else {
                self.error(
                    apos,
                    format!("cannot include \"{}\": no such file", pattern.display()),
                );
            }
            return;
        }
        paths.sort();
        // Push in reverse so the first file is read first.
        for p in paths.into_iter().rev() {
            if p.is_dir() {
                continue;
            }
            // Only regular files: `include /dev/zero` must not hang.
            if !std::fs::metadata(&p).is_ok_and(|m| m.is_file()) {
                self.error(
                    apos,
                    format!("cannot include \"{}\": not a regular file", p.display()),
                );
                continue;
            }
            match std::fs::File::open(&p) {
                Ok(f) => {
                    let reader = Box::new(std::io::BufReader::with_capacity(64 * 1024, f));
                    self.push_file(&p, Source::Reader(reader));
                }
                Err(e) => self.error(apos, format!("cannot include \"{}\": {e}", p.display())),
            }
        }
    }
}

fn is_include_keyword(w: &str) -> bool {
    matches!(
        w,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    )
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn char_col(line: &str, offset: usize) -> u32 {
    let prefix = &line[..offset.min(line.len())];
    if prefix.is_ascii() {
        offset as u32 + 1
    } else {
        prefix.chars().count() as u32 + 1
    }
}

fn col_at(line: &str, offset: usize, pos: Pos) -> Pos {
    Pos {
        col: char_col(line, offset),
        ..pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_source(t: &str) -> Source {
        Source::Text {
            text: t.to_string(),
            offset: 0,
        }
    }

    #[test]
    fn macros_expand_with_positions() {
        let mut lx = Lexer::new(
            Path::new("t.conf"),
            text_source("$P=240\n$B=10.2.${S}\n$S=0\npriority $P\naddr ${B}.1 $Pfoo\n"),
            "main",
        );
        let mut toks = Vec::new();
        while let Some(t) = lx.next_token() {
            toks.push(t);
        }
        let w: Vec<_> = toks
            .iter()
            .filter(|t| t.kind == TokKind::Word)
            .map(|t| (t.text.as_str(), t.pos.line, t.pos.col))
            .collect();
        assert_eq!(
            w,
            [
                ("priority", 4, 1),
                ("240", 4, 10),
                ("addr", 5, 1),
                ("10.2.0.1", 5, 6),
                ("$Pfoo", 5, 13)
            ]
        );
    }

    #[test]
    fn conditional_lines() {
        let mut lx = Lexer::new(
            Path::new("t.conf"),
            text_source("@main a\n@backup b\n@^main c\n@^backup d\n"),
            "main",
        );
        let mut w = Vec::new();
        while let Some(t) = lx.next_token() {
            if t.kind == TokKind::Word {
                w.push((t.text, t.pos.col));
            }
        }
        assert_eq!(w, [("a".to_string(), 7), ("d".to_string(), 10)]);
    }

    #[test]
    fn a_multi_line_parameter_expanding_itself_stops() {
        let mut lx = Lexer::new(
            Path::new("t.conf"),
            text_source("$M= \\\n a \\\n $M\n\n$M\n"),
            "main",
        );
        lx.max_generated = 1000;
        let mut words = 0;
        while let Some(t) = lx.next_token() {
            words += usize::from(t.kind == TokKind::Word);
        }
        assert_eq!(words, 1001, "the first line, then one per generated line");
        assert!(
            lx.pending.len() <= 1,
            "sources piled up: {}",
            lx.pending.len()
        );
        let errs: Vec<_> = lx.diagnostics.iter().map(|d| d.to_string()).collect();
        assert!(
            errs.len() == 1 && errs[0].contains("more than 1000 lines generated"),
            "{errs:?}"
        );
    }
}
