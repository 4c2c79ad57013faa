//! One line into tokens: words (bare and quoted pieces that touch, with
//! keepalived's shell-like escapes), `{` and `}`, and the comment that
//! ends the line.
//!
//! Owns: the token grammar inside a line (written with nom). May not:
//! know about files, positions beyond byte offsets, parameters or
//! includes; the lexer does those before and after.

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while_m_n, take_while1};
use nom::character::complete::{anychar, char, none_of, one_of};
use nom::combinator::recognize;
use nom::multi::fold;
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    Word,
    Open,
    Close,
    /// End of a line that had tokens.
    Eol,
}

/// The text before a comment (outside quotes).
pub(super) fn strip_comment(s: &str) -> &str {
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

/// A token of one line, before positions are attached.
pub(super) struct RawToken {
    pub(super) kind: TokKind,
    pub(super) text: String,
    /// See [`super::Token::escaped`].
    pub(super) escaped: Option<String>,
    /// Byte offset in the line.
    pub(super) offset: usize,
}

pub(super) enum LexError {
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

/// Add a bare piece to the escaped reading of a word (see
/// [`super::Token::escaped`]): started, from the word so far (`text`), at
/// the first bare piece with a backslash; escapes applied as in quotes. A
/// backslash that ends the piece stays (keepalived refuses the line).
fn push_bare(escaped: &mut Option<String>, text: &str, bare: &str) {
    if escaped.is_none() && !bare.contains('\\') {
        return;
    }
    let e = escaped.get_or_insert_with(|| text.to_string());
    let mut i = bare;
    while let Some(at) = i.find('\\') {
        e.push_str(&i[..at]);
        let after = &i[at + 1..];
        match escape(after) {
            Ok((rest, c)) => {
                e.push(c);
                i = rest;
            }
            Err(_) => {
                e.push('\\');
                i = after;
            }
        }
    }
    e.push_str(i);
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
pub(super) fn tokenize(line: &str) -> Result<Vec<RawToken>, LexError> {
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
                escaped: None,
                offset,
            });
            i = rest;
            continue;
        }
        // A word: touching bare and quoted pieces.
        let mut text = String::new();
        // The word as keepalived's escape-everywhere reading gives it, once
        // a bare piece has a backslash.
        let mut escaped: Option<String> = None;
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
                        push_bare(&mut escaped, &text, stripped);
                        text.push_str(stripped);
                        out.push(RawToken {
                            kind: TokKind::Word,
                            text: std::mem::take(&mut text),
                            escaped: escaped.take(),
                            offset,
                        });
                        out.push(RawToken {
                            kind: TokKind::Close,
                            text: String::new(),
                            escaped: None,
                            offset: before + stripped.len(),
                        });
                        i = rest;
                        break;
                    }
                    push_bare(&mut escaped, &text, b);
                    text.push_str(b);
                    i = rest;
                }
                Ok(Some((rest, Piece::Quoted(s)))) => {
                    if let Some(e) = escaped.as_mut() {
                        e.push_str(&s);
                    }
                    text.push_str(&s);
                    i = rest;
                }
                Ok(None) => {
                    out.push(RawToken {
                        kind: TokKind::Word,
                        text: std::mem::take(&mut text),
                        escaped: escaped.take(),
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
                    escaped: escaped.take(),
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

    #[test]
    fn unterminated_quote_is_an_error() {
        assert!(tokenize("script \"abc").is_err());
    }
}
