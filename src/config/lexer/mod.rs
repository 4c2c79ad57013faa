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

mod source;
mod words;

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::Diagnostic;

pub(crate) use source::Source;
pub(crate) use words::TokKind;
use words::{LexError, RawToken, strip_comment, tokenize};

/// How deep includes may nest (a loop of includes stops here).
const MAX_INCLUDE_DEPTH: usize = 32;
/// How many parameter replacements one line may take, and how long it may
/// grow: stops `$A=${A}` style loops.
const MAX_EXPANSIONS: usize = 10_000;
const MAX_EXPANDED_LINE: usize = 1 << 20;

/// A position in the operator's files. `file` indexes [`Lexer::files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub file: u32,
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokKind,
    /// The word with quotes removed and escapes applied (empty for others).
    pub text: String,
    pub pos: Pos,
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
    macros: HashMap<String, String>,
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

    /// Read one physical line and queue its tokens. False at end of input.
    fn lex_next_line(&mut self) -> bool {
        let Some(frame) = self.stack.last_mut() else {
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
        self.process_line(&line_text, pos);
        true
    }

    /// One physical line: its `@ID` condition, a parameter definition or
    /// an unsupported directive, parameter substitution, then its tokens.
    fn process_line(&mut self, raw: &str, pos: Pos) {
        let Some((start, text)) = self.condition(raw, pos) else {
            return;
        };
        if self.directive(raw, start, text, pos) {
            return;
        }
        // From here on, work on the line after any `@ID` prefix; `pos.col`
        // is where that text starts.
        let pos = col_at(raw, start, pos);
        let Some((line, cols)) = self.substitute(text, pos) else {
            return;
        };
        self.queue_line(&line, &cols, pos);
    }

    /// The line without its leading white space and `@ID` / `@^ID`
    /// prefix, with the byte offset where that text starts; `None` if the
    /// line is not for this config id (or the condition is malformed).
    fn condition<'a>(&mut self, raw: &'a str, pos: Pos) -> Option<(usize, &'a str)> {
        let trimmed = raw.trim_start();
        let start = raw.len() - trimmed.len();
        let Some(cond) = trimmed.strip_prefix('@') else {
            return Some((start, trimmed));
        };
        let (negate, cond) = match cond.strip_prefix('^') {
            Some(c) => (true, c),
            None => (false, cond),
        };
        let id_len = cond.find(char::is_whitespace).unwrap_or(cond.len());
        let id = &cond[..id_len];
        if id.is_empty() {
            self.error(
                col_at(raw, start, pos),
                "\"@\" must be followed by a config id (e.g. \"@main\")",
            );
            return None;
        }
        let matches = id == self.config_id;
        if matches == negate {
            return None;
        }
        let after_trimmed = cond[id_len..].trim_start();
        Some((raw.len() - after_trimmed.len(), after_trimmed))
    }

    /// A line that is a directive rather than tokens: `$NAME=value` (a
    /// parameter definition) or keepalived's `~SEQ` / `~LST`, which tandem
    /// refuses. True if `text` (at byte `start` of `raw`) was one.
    fn directive(&mut self, raw: &str, start: usize, text: &str, pos: Pos) -> bool {
        if let Some(def) = text.strip_prefix('$')
            && let Some(eq) = def.find('=')
        {
            let name = &def[..eq];
            if is_param_name(name) {
                let value = strip_comment(&def[eq + 1..]).trim();
                if value.ends_with('\\') {
                    self.error(
                        col_at(raw, start, pos),
                        "multi-line parameter definitions are a keepalived feature that tandem does not support yet",
                    );
                    return true;
                }
                self.macros.insert(name.to_string(), value.to_string());
                return true;
            }
        }
        if text.starts_with("~SEQ") || text.starts_with("~LST") {
            self.error(
                col_at(raw, start, pos),
                format!(
                    "\"{}\" is a keepalived option that tandem does not support yet",
                    &text[..4]
                ),
            );
            return true;
        }
        false
    }

    /// `text` with its parameters replaced, and, when any was, a byte →
    /// column map so that expanded text points at its `$` reference.
    /// `None` (with an error) if substitution does not terminate.
    fn substitute<'a>(
        &mut self,
        text: &'a str,
        pos: Pos,
    ) -> Option<(Cow<'a, str>, Option<Vec<u32>>)> {
        if !(text.contains('$')
            && (!self.macros.is_empty() || text.contains("$_") || text.contains("${_")))
        {
            return Some((Cow::Borrowed(text), None));
        }
        let mut byte_cols = Vec::with_capacity(text.len() + 1);
        let mut c = pos.col;
        for ch in text.chars() {
            byte_cols.extend(std::iter::repeat_n(c, ch.len_utf8()));
            c += 1;
        }
        byte_cols.push(c);
        let mut owned = text.to_string();
        let mut rounds = 0;
        // Text before the last replacement holds nothing replaceable,
        // so each search starts there (values are expanded in turn).
        let mut from = 0;
        while let Some((s, e, value)) = self.find_macro(&owned, from) {
            rounds += 1;
            if rounds > MAX_EXPANSIONS || owned.len() + value.len() > MAX_EXPANDED_LINE {
                self.error(
                    pos,
                    "parameter substitution does not terminate (a parameter refers to itself)",
                );
                return None;
            }
            from = s;
            let at = byte_cols[s];
            owned.replace_range(s..e, &value);
            byte_cols.splice(s..e, std::iter::repeat_n(at, value.len()));
        }
        Some((Cow::Owned(owned), Some(byte_cols)))
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

        let mut last = pos;
        for t in tokens {
            let p = self.pos_at(line, t.offset, cols, pos);
            last = p;
            self.queue.push_back(Token {
                kind: t.kind,
                text: t.text,
                pos: p,
            });
        }
        self.queue.push_back(Token {
            kind: TokKind::Eol,
            text: String::new(),
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

    /// The first replaceable `$NAME` / `${NAME}` in `s`: (start, end, value).
    fn find_macro(&self, s: &str, from: usize) -> Option<(usize, usize, String)> {
        let bytes = s.as_bytes();
        let mut i = from;
        while let Some(off) = s[i..].find('$') {
            let at = i + off;
            if bytes.get(at + 1) == Some(&b'{') {
                if let Some(close) = s[at + 2..].find('}') {
                    let name = &s[at + 2..at + 2 + close];
                    if let Some(v) = self.lookup(name) {
                        return Some((at, at + 3 + close, v));
                    }
                }
            } else {
                let name_len = s[at + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(s.len() - at - 1);
                let end = at + 1 + name_len;
                let followed_ok = s[end..].chars().next().is_none_or(char::is_whitespace);
                if name_len > 0
                    && followed_ok
                    && let Some(v) = self.lookup(&s[at + 1..end])
                {
                    return Some((at, end, v));
                }
            }
            i = at + 1;
        }
        None
    }

    fn lookup(&self, name: &str) -> Option<String> {
        if let Some(v) = self.macros.get(name) {
            return Some(v.clone());
        }
        match name {
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_INSTANCE" => Some(self.config_id.clone()),
            "_PWD" => self
                .stack
                .last()
                .map(|f| f.dir.to_string_lossy().into_owned()),
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
}
