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

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while_m_n, take_while1};
use nom::character::complete::{anychar, char, none_of, one_of};
use nom::combinator::recognize;
use nom::multi::fold;
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

use super::diag::Diagnostic;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    Word,
    Open,
    Close,
    /// End of a line that had tokens.
    Eol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokKind,
    /// The word with quotes removed and escapes applied (empty for others).
    pub text: String,
    pub pos: Pos,
}

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
    fn next_line(&mut self, buf: &mut Vec<u8>) -> Option<std::io::Result<String>> {
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

    fn process_line(&mut self, raw: &str, pos: Pos) {
        // Leading white space.
        let trimmed = raw.trim_start();
        let mut start = raw.len() - trimmed.len();
        let mut text = trimmed;

        // `@ID` / `@^ID`: conditional line.
        if let Some(cond) = text.strip_prefix('@') {
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
                return;
            }
            let matches = id == self.config_id;
            if matches == negate {
                return;
            }
            let after = &cond[id_len..];
            let after_trimmed = after.trim_start();
            start = raw.len() - after_trimmed.len();
            text = after_trimmed;
        }

        // `$NAME=value`: a parameter definition.
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
                    return;
                }
                self.macros.insert(name.to_string(), value.to_string());
                return;
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
            return;
        }

        // Parameter substitution, keeping a byte → column map when it
        // happens, so expanded text points at its `$` reference.
        // From here on, work on the line after any `@ID` prefix; `pos.col`
        // is where that text starts.
        let pos = col_at(raw, start, pos);
        let raw = text;
        let mut cols: Option<Vec<u32>> = None;
        let expanded;
        let mut line: &str = raw;
        if text.contains('$')
            && (!self.macros.is_empty() || text.contains("$_") || text.contains("${_"))
        {
            let mut byte_cols = Vec::with_capacity(raw.len() + 1);
            let mut c = pos.col;
            for ch in raw.chars() {
                byte_cols.extend(std::iter::repeat_n(c, ch.len_utf8()));
                c += 1;
            }
            byte_cols.push(c);
            let mut owned = raw.to_string();
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
                    return;
                }
                from = s;
                let at = byte_cols[s];
                owned.replace_range(s..e, &value);
                byte_cols.splice(s..e, std::iter::repeat_n(at, value.len()));
            }
            cols = Some(byte_cols);
            expanded = owned;
            line = &expanded;
        }

        let tokens = match tokenize(line) {
            Ok(t) => t,
            Err(LexError::Unterminated(at)) => {
                let p = self.pos_at(line, at, &cols, pos);
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
            let kpos = self.pos_at(line, first.offset, &cols, pos);
            self.include(&tokens, kpos, line, &cols, pos);
            return;
        }

        let mut last = pos;
        for t in tokens {
            let p = self.pos_at(line, t.offset, &cols, pos);
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

/// The text before a comment (outside quotes).
fn strip_comment(s: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' | '!' => return &s[..i],
                _ => {}
            },
        }
    }
    s
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

/// A token of one line, before positions are attached.
pub(crate) struct RawToken {
    kind: TokKind,
    text: String,
    /// Byte offset in the line.
    offset: usize,
}

enum LexError {
    /// A quote opened at this byte offset is never closed.
    Unterminated(usize),
}

/// One piece of a word: bare text, or a quoted string.
enum Piece<'a> {
    Bare(&'a str),
    Quoted(String),
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\x0b' || c == '\x0c' || c == '\r'
}

fn bare(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| !is_space(c) && !matches!(c, '"' | '\'' | '#' | '!')).parse(i)
}

/// One piece of a quoted string's body.
enum Frag<'a> {
    /// Text without escapes, taken as it is.
    Literal(&'a str),
    /// What an escape stands for (`None`: nothing, e.g. `\c` at the end).
    Escaped(char),
}

/// What follows a `\` in a quoted string (keepalived's shell-like
/// escapes): `\a \b \E \f \n \r \t \v`, `\cX` (control-X), `\xHH` (up to
/// two hex digits), `\OOO` (up to three octal digits), and any other
/// character standing for itself (`\"`, `\\`, ...).
fn escape(i: &str) -> IResult<&str, char> {
    let named = one_of("abEfnrtv").map(|c| match c {
        'a' => '\x07',
        'b' => '\x08',
        'E' => '\x1b',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        _ => '\x0b',
    });
    // The control character's code is the letter's, upper-cased, with
    // bit 6 flipped (`\cA` = 0x01, `\c?` = 0x7f).
    let control =
        preceded(char('c'), anychar).map(|c| char::from((c.to_ascii_uppercase() as u8) ^ 0x40));
    let hex = preceded(
        char('x'),
        take_while_m_n(0, 2, |c: char| c.is_ascii_hexdigit()),
    )
    .map(|h: &str| code_point(h, 16));
    let octal = recognize((
        one_of("01234567"),
        take_while_m_n(0, 2, |c: char| c.is_digit(8)),
    ))
    .map(|o: &str| code_point(o, 8));
    alt((named, control, hex, octal, anychar)).parse(i)
}

/// The character with the code written in `digits` (none: NUL).
fn code_point(digits: &str, radix: u32) -> char {
    let v = u32::from_str_radix(digits, radix).unwrap_or(0);
    char::from_u32(v).unwrap_or('\u{fffd}')
}

/// The body of a quoted string up to (not including) the closing quote
/// `q`, with escapes applied: literal runs and escapes, folded into one
/// string, then the quote. `None` if the quote is never closed.
fn quoted_body(i: &str, q: char) -> Option<(&str, String)> {
    let literal = take_while1(move |c: char| c != q && c != '\\').map(Frag::Literal);
    let escaped = preceded(char('\\'), escape).map(Frag::Escaped);
    let body = fold(0.., alt((literal, escaped)), String::new, |mut s, f| {
        match f {
            Frag::Literal(l) => s.push_str(l),
            Frag::Escaped(c) => s.push(c),
        }
        s
    });
    let r: IResult<&str, String> = terminated(body, char(q)).parse(i);
    r.ok()
}

fn piece(i: &str) -> Result<Option<(&str, Piece<'_>)>, ()> {
    if let Ok((rest, q)) = one_of::<_, _, nom::error::Error<&str>>("\"'").parse(i) {
        return match quoted_body(rest, q) {
            Some((rest, s)) => Ok(Some((rest, Piece::Quoted(s)))),
            None => Err(()),
        };
    }
    match bare(i) {
        Ok((rest, b)) => Ok(Some((rest, Piece::Bare(b)))),
        Err(_) => Ok(None),
    }
}

fn comment(i: &str) -> IResult<&str, &str> {
    recognize(preceded(one_of("#!"), take_till(|_| false))).parse(i)
}

fn brace(i: &str) -> IResult<&str, char> {
    let (rest, c) = one_of("{}").parse(i)?;
    // A brace followed by word characters (e.g. a brace glob) is a word.
    if rest
        .chars()
        .next()
        .is_none_or(|n| is_space(n) || n == '#' || n == '!')
    {
        Ok((rest, c))
    } else {
        // Let the word parser take it.
        let _ = none_of::<_, _, nom::error::Error<&str>>("{}").parse(i)?;
        Ok((rest, c))
    }
}

fn spaces(i: &str) -> &str {
    let r: IResult<&str, &str> = take_while1(is_space).parse(i);
    match r {
        Ok((rest, _)) => rest,
        Err(_) => i,
    }
}

/// Split one (already parameter-expanded) line into tokens.
fn tokenize(line: &str) -> Result<Vec<RawToken>, LexError> {
    let mut out = Vec::new();
    let mut i = line;
    loop {
        i = spaces(i);
        if i.is_empty() || comment(i).is_ok() {
            break;
        }
        let offset = line.len() - i.len();
        if let Ok((rest, c)) = brace(i) {
            out.push(RawToken {
                kind: if c == '{' {
                    TokKind::Open
                } else {
                    TokKind::Close
                },
                text: String::new(),
                offset,
            });
            i = rest;
            continue;
        }
        // A word: touching bare and quoted pieces.
        let mut text = String::new();
        loop {
            let before = line.len() - i.len();
            match piece(i) {
                Ok(Some((rest, Piece::Bare(b)))) => {
                    // A trailing "}" glued to a word closes a block
                    // ("foo}"), as keepalived reads it.
                    if let Some(stripped) = b.strip_suffix('}')
                        && !stripped.is_empty()
                        && !stripped.contains('{')
                        && rest.chars().next().is_none_or(is_space)
                    {
                        text.push_str(stripped);
                        out.push(RawToken {
                            kind: TokKind::Word,
                            text: std::mem::take(&mut text),
                            offset,
                        });
                        out.push(RawToken {
                            kind: TokKind::Close,
                            text: String::new(),
                            offset: before + stripped.len(),
                        });
                        i = rest;
                        break;
                    }
                    text.push_str(b);
                    i = rest;
                }
                Ok(Some((rest, Piece::Quoted(s)))) => {
                    text.push_str(&s);
                    i = rest;
                }
                Ok(None) => {
                    out.push(RawToken {
                        kind: TokKind::Word,
                        text: std::mem::take(&mut text),
                        offset,
                    });
                    break;
                }
                Err(()) => return Err(LexError::Unterminated(before)),
            }
            if i.is_empty() || i.starts_with(is_space) || i.starts_with(['#', '!']) {
                out.push(RawToken {
                    kind: TokKind::Word,
                    text: std::mem::take(&mut text),
                    offset,
                });
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written escape reader the nom version replaced: both
    /// must read every string alike.
    /// The body of a quoted string up to (not including) the closing quote,
    /// with escapes applied. `None` if the quote is never closed.
    fn quoted_body_reference(i: &str, q: char) -> Option<(&str, String)> {
        let mut out = String::new();
        let mut chars = i.char_indices().peekable();
        while let Some((idx, c)) = chars.next() {
            if c == q {
                return Some((&i[idx + c.len_utf8()..], out));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let (_, e) = chars.next()?;
            match e {
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'E' => out.push('\x1b'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                'c' => {
                    if let Some((_, ctl)) = chars.next() {
                        out.push(char::from((ctl.to_ascii_uppercase() as u8) ^ 0x40));
                    }
                }
                'x' => {
                    let mut v: u32 = 0;
                    let mut n = 0;
                    while let Some(&(_, h)) = chars.peek() {
                        match h.to_digit(16) {
                            Some(d) if n < 2 => {
                                v = v * 16 + d;
                                n += 1;
                                chars.next();
                            }
                            _ => break,
                        }
                    }
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                '0'..='7' => {
                    let mut v: u32 = e.to_digit(8).unwrap_or(0);
                    let mut n = 1;
                    while let Some(&(_, o)) = chars.peek() {
                        match o.to_digit(8) {
                            Some(d) if n < 3 => {
                                v = v * 8 + d;
                                n += 1;
                                chars.next();
                            }
                            _ => break,
                        }
                    }
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            }
        }
        None
    }

    #[test]
    fn quoted_body_matches_the_reference_reader() {
        let samples = [
            "plain\"",
            "a\\\"b\"",
            "\\t\\n\\a\\b\\E\\f\\r\\v'",
            "\\x41\\x4\\x\\x4g\"",
            "\\101\\7\\0\\777\\18\"",
            "\\cA\\c?\\c\"\"",
            "\\c",
            "\\",
            "no end",
            "日本\\語\"rest",
            "\\q\\'\\\\'",
            "'",
            "\\xé\"",
        ];
        for s in samples {
            for q in ['"', '\''] {
                assert_eq!(quoted_body(s, q), quoted_body_reference(s, q), "{s:?} {q}");
            }
        }
        // And on every short string over an alphabet of the characters
        // that matter.
        let alphabet = ['\\', '"', '\'', 'x', 'c', '7', '0', 'A', 'f', 'n', 'é', ' '];
        let mut buf = Vec::new();
        fn walk(buf: &mut Vec<char>, alphabet: &[char], depth: usize) {
            let s: String = buf.iter().collect();
            for q in ['"', '\''] {
                assert_eq!(
                    quoted_body(&s, q),
                    quoted_body_reference(&s, q),
                    "{s:?} {q}"
                );
            }
            if depth == 0 {
                return;
            }
            for &c in alphabet {
                buf.push(c);
                walk(buf, alphabet, depth - 1);
                buf.pop();
            }
        }
        walk(&mut buf, &alphabet, 4);
    }

    fn words(line: &str) -> Vec<String> {
        tokenize(line)
            .ok()
            .unwrap_or_default()
            .into_iter()
            .map(|t| match t.kind {
                TokKind::Word => t.text,
                TokKind::Open => "{".into(),
                TokKind::Close => "}".into(),
                TokKind::Eol => "\n".into(),
            })
            .collect()
    }

    #[test]
    fn comments_quotes_and_braces() {
        assert_eq!(words("a b ! c"), ["a", "b"]);
        assert_eq!(words("a#b c"), ["a"]);
        assert_eq!(words("x { ! ←日本語"), ["x", "{"]);
        assert_eq!(
            words(r#"script "killall -0 sshd"  # x"#),
            ["script", "killall -0 sshd"]
        );
        assert_eq!(words(r#"abcd" efg h jkl "mnop"#), ["abcd efg h jkl mnop"]);
        assert_eq!(words(r#""a\tb" 'c d'"#), ["a\tb", "c d"]);
        assert_eq!(words("a }"), ["a", "}"]);
        assert_eq!(words("a}"), ["a", "}"]);
        assert_eq!(words("{foo,bar}.conf"), ["{foo,bar}.conf"]);
        assert_eq!(words("}"), ["}"]);
    }

    fn text_source(t: &str) -> Source {
        Source::Text {
            text: t.to_string(),
            offset: 0,
        }
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        assert!(tokenize("script \"abc").is_err());
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
