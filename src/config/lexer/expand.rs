//! keepalived's generated lines: multi-line parameter definitions,
//! `~SEQ(...)` / `~SEQx(...)` and `~LST(...)` repeats, and the built-in
//! parameter `${_RANDOM [MIN [MAX]]}`.
//!
//! keepalived 2.2.7 (`lib/parser.c`) reads these as follows, and so does
//! tandem:
//!
//! * `$NAME=text \` starts a multi-line definition: every following line
//!   ending in `\` (after its comment and trailing blanks are removed) adds
//!   a line, the first line that does not end in `\` adds the last one,
//!   and an empty line ends it early; comment-only lines are skipped. The
//!   value is used only where the reference ends its line (`... $NAME`):
//!   its first line replaces the reference, the others follow as lines of
//!   their own (each then read as if written there).
//! * `~SEQ(VAR, END)`, `~SEQ(VAR, START, END)` or `~SEQ(VAR, START, STEP,
//!   END)` repeats the rest of its line with `$VAR` set to each number in
//!   turn (`~SEQx` writes them in hex); numbers as C's `strtol` reads them
//!   (`0x..` hex, a leading `0` octal). The definition stays set after.
//! * `~LST(VAR, V1, V2, ...)` or `~LST({A, B}, {A1, B1}, {A2, B2}, ...)`
//!   repeats the rest of its line once per value set (missing values are
//!   empty).
//!
//! Owns: parsing those directives and producing their lines, one at a
//! time ([`Pending`]). May not: read files or tokenize (the lexer does).

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};

use super::pos::Pos;

/// How many lines one `~SEQ` may produce: keepalived has no bound, but a
/// typo such as `~SEQ(i, 1, 100000000000)` must not run the daemon out of
/// memory.
pub(super) const MAX_REPEATS: i64 = 1_000_000;

/// A line of text and where its first byte was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SrcLine {
    pub text: String,
    pub pos: Pos,
}

/// A parameter's value.
#[derive(Debug, Clone)]
pub(super) enum Def {
    Line(String),
    /// A multi-line definition: only usable where the reference ends its
    /// line.
    Lines(Vec<SrcLine>),
}

/// A source of generated lines, taken from before the next file line.
pub(super) enum Pending {
    /// The remaining lines of a multi-line parameter.
    Lines(VecDeque<SrcLine>),
    Seq(Seq),
    Lst(Lst),
}

/// One generated line: the parameters to set first, then the text.
pub(super) struct Generated {
    pub sets: Vec<(String, String)>,
    pub line: SrcLine,
}

impl Pending {
    /// Whether this source has no line left.
    pub fn is_done(&self) -> bool {
        match self {
            Pending::Lines(lines) => lines.is_empty(),
            Pending::Seq(seq) => seq.next.is_none(),
            Pending::Lst(lst) => lst.sets.is_empty(),
        }
    }

    /// The next line, or `None` once this source is used up.
    pub fn next(&mut self) -> Option<Generated> {
        match self {
            Pending::Lines(lines) => lines.pop_front().map(|line| Generated {
                sets: Vec::new(),
                line,
            }),
            Pending::Seq(seq) => seq.next(),
            Pending::Lst(lst) => lst.next(),
        }
    }
}

/// `~SEQ(VAR, START, STEP, END) TEXT`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Seq {
    var: String,
    /// The next value, `None` once past `last`.
    next: Option<i64>,
    step: i64,
    last: i64,
    hex: bool,
    text: SrcLine,
}

impl Seq {
    fn next(&mut self) -> Option<Generated> {
        let v = self.next?;
        self.next = v.checked_add(self.step).filter(|n| {
            if self.step > 0 {
                *n <= self.last
            } else {
                *n >= self.last
            }
        });
        let val = if self.hex {
            format!("{:x}", v as u64)
        } else {
            v.to_string()
        };
        Some(Generated {
            sets: vec![(self.var.clone(), val)],
            line: self.text.clone(),
        })
    }
}

/// `~LST(VARS, VALUE SETS...) TEXT`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Lst {
    names: Vec<String>,
    sets: VecDeque<Vec<String>>,
    text: SrcLine,
}

impl Lst {
    fn next(&mut self) -> Option<Generated> {
        let set = self.sets.pop_front()?;
        Some(Generated {
            sets: self.names.iter().cloned().zip(set).collect(),
            line: self.text.clone(),
        })
    }
}

/// C's `strtol(s, &end, 0)`: the value and the bytes it took (0 when no
/// digits). Out of range saturates, as strtol does.
fn strtol0(s: &str) -> (i64, usize) {
    let r = crate::config::strtol::strtol(s.as_bytes());
    (r.value, r.used)
}

fn skip_blanks(s: &str, i: usize) -> usize {
    i + s[i..]
        .bytes()
        .take_while(|c| *c == b' ' || *c == b'\t')
        .count()
}

/// `s` from byte `i` up to (not including) the first of `stops`.
fn until(s: &str, i: usize, stops: &[u8]) -> usize {
    i + s[i..].bytes().take_while(|c| !stops.contains(c)).count()
}

/// The parts of a `~SEQ` line before its numbers are read: whether hex,
/// the variable, the argument text (up to and including its `)`), and the
/// byte offset where the repeated text starts.
pub(super) struct SeqHead<'a> {
    hex: bool,
    var: &'a str,
    pub args: &'a str,
    text_at: usize,
}

/// Split `line` (which starts with `~SEQ`) as keepalived does.
pub(super) fn seq_head(line: &str) -> Result<SeqHead<'_>, String> {
    let bad = || "invalid ~SEQ: expected ~SEQ(VAR, [START,] [STEP,] END) TEXT".to_string();
    let mut i = 4;
    let hex = line[i..].starts_with('x');
    if hex {
        i += 1;
    }
    i = skip_blanks(line, i);
    if line.as_bytes().get(i) != Some(&b'(') {
        return Err(bad());
    }
    let var_at = skip_blanks(line, i + 1);
    let var_end = until(line, var_at, b" \t,)");
    i = skip_blanks(line, var_end);
    if var_end == var_at || i >= line.len() || line.as_bytes()[i] == b')' {
        return Err(bad());
    }
    // keepalived steps over whatever separates the variable (normally ',').
    let args_at = skip_blanks(line, i + line[i..].chars().next().map_or(1, char::len_utf8));
    let Some(close) = line[args_at..].find(')') else {
        return Err("invalid ~SEQ: no closing \")\"".to_string());
    };
    let args_end = args_at + close + 1;
    if args_end - args_at + 1 > 64 {
        return Err("invalid ~SEQ: its numbers are too long".to_string());
    }
    Ok(SeqHead {
        hex,
        var: &line[var_at..var_end],
        args: &line[args_at..args_end],
        text_at: skip_blanks(line, args_end),
    })
}

/// The `~SEQ` from its head and its (parameter-expanded) numbers; `text_pos`
/// is where the repeated text starts in the operator's file.
pub(super) fn seq(
    head: &SeqHead<'_>,
    args: &str,
    line: &str,
    text_pos: Pos,
) -> Result<Seq, String> {
    let bad = || "invalid ~SEQ: expected ~SEQ(VAR, [START,] [STEP,] END) TEXT".to_string();
    let mut nums = Vec::new();
    let mut rest = args;
    loop {
        let (n, used) = strtol0(rest);
        nums.push(n);
        rest = rest[used..].trim_start_matches([' ', '\t']);
        match rest.as_bytes().first() {
            Some(b')') => break,
            Some(b',') if nums.len() < 3 => rest = &rest[1..],
            _ => return Err(bad()),
        }
    }
    let (start, step, end) = match nums[..] {
        [end] => (
            if end < 0 { -1 } else { 1 },
            if end < 1 { -1 } else { 1 },
            end,
        ),
        [start, end] => (start, if start <= end { 1 } else { -1 }, end),
        [start, step, end] => {
            if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                return Err(format!(
                    "invalid ~SEQ values: from {start} by {step} never reaches {end}"
                ));
            }
            (start, step, end)
        }
        _ => return Err(bad()),
    };
    if head.hex && (start < 0 || end < 0) {
        return Err("~SEQx only takes numbers that are not negative".to_string());
    }
    let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
    if count > i128::from(MAX_REPEATS) {
        return Err(format!(
            "~SEQ would repeat its line {count} times (tandem stops at {MAX_REPEATS})"
        ));
    }
    Ok(Seq {
        var: head.var.to_string(),
        next: Some(start),
        step,
        last: end,
        hex: head.hex,
        text: SrcLine {
            text: line[head.text_at..].to_string(),
            pos: text_pos,
        },
    })
}

/// Where the repeated text of a `~SEQ` starts (a byte offset of `line`).
pub(super) fn seq_text_at(head: &SeqHead<'_>) -> usize {
    head.text_at
}

/// One name or value of a `~LST`: `{A, B, ...}` or a single word ending
/// at `,` (values also at `)`). Returns the words and the offset after.
fn lst_group(s: &str, mut i: usize, value: bool) -> Option<(Vec<String>, usize)> {
    let braced = s.as_bytes().get(i) == Some(&b'{');
    if braced {
        i = skip_blanks(s, i + 1);
    }
    let stops: &[u8] = if value { b" \t,})" } else { b" \t,}" };
    let mut words = Vec::new();
    loop {
        let end = until(s, i, stops);
        words.push(s[i..end].to_string());
        i = skip_blanks(s, end);
        match s.as_bytes().get(i) {
            Some(b'}') if braced => return Some((words, skip_blanks(s, i + 1))),
            Some(b',') if braced => i = skip_blanks(s, i + 1),
            Some(b',') | Some(b')') if !braced => return Some((words, i)),
            _ => return None,
        }
    }
}

/// A `~LST` line (starting with `~LST`); `line_pos(offset)` gives the
/// operator's position of a byte of `line`.
pub(super) fn lst(line: &str, line_pos: impl Fn(usize) -> Pos) -> Result<Lst, String> {
    let bad = || {
        "invalid ~LST: expected ~LST(VAR, VALUE, ...) or ~LST({VAR, ...}, {VALUE, ...}, ...) TEXT"
            .to_string()
    };
    let mut i = skip_blanks(line, 4);
    if line.as_bytes().get(i) != Some(&b'(') {
        return Err(bad());
    }
    i = skip_blanks(line, i + 1);
    let (names, after) = lst_group(line, i, false).ok_or_else(bad)?;
    if line.as_bytes().get(after) != Some(&b',') {
        return Err(bad());
    }
    i = skip_blanks(line, after + 1);
    let mut sets = VecDeque::new();
    loop {
        let (mut values, after) = lst_group(line, i, true).ok_or_else(bad)?;
        if values.len() > names.len() {
            return Err(format!(
                "~LST: a value set has {} values for {} names",
                values.len(),
                names.len()
            ));
        }
        values.resize(names.len(), String::new());
        sets.push_back(values);
        match line.as_bytes().get(after) {
            Some(b')') => {
                i = skip_blanks(line, after + 1);
                break;
            }
            Some(b',') => i = skip_blanks(line, after + 1),
            _ => return Err(bad()),
        }
    }
    Ok(Lst {
        names,
        sets,
        text: SrcLine {
            text: line[i..].to_string(),
            pos: line_pos(i),
        },
    })
}

/// `${_RANDOM}`'s value: a number from `min` to `max` (0 and 32767 unless
/// given), written in at most as many digits as `max` has, as keepalived
/// does. `params` is the text after `_RANDOM` inside the braces.
pub(super) fn random(params: &str, rng: &mut u64) -> String {
    let mut it = params.split_ascii_whitespace();
    let min: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let max: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(32767);
    // xorshift64*: any spread is fine, keepalived uses random().
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    let r = rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33;
    let span = max.wrapping_sub(min).wrapping_add(1);
    let v = if span == 0 { r } else { r % span }.wrapping_add(min) as i64;
    let digits = max.checked_ilog10().map_or(1, |d| d as usize + 1);
    let s = v.to_string();
    s[..s.len().min(digits)].to_string()
}

/// A seed for `_RANDOM`, different in every process.
pub(super) fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        | 1
}

/// The `${_RANDOM}` generator's state for `random_seed N` (never 0, which
/// xorshift would keep).
pub(super) fn seeded(seed: u32) -> u64 {
    (u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03) | 1
}

/// Whether `params` (the text after a parameter's name inside `${...}`) is
/// a valid parameter list: blanks and digits, not ending in a blank.
pub(super) fn valid_params(params: &str) -> bool {
    params.bytes().all(|c| c == b' ' || c.is_ascii_digit()) && !params.ends_with(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(col: u32) -> Pos {
        Pos {
            file: 0,
            line: 1,
            col,
        }
    }

    fn seq_values(line: &str) -> Result<Vec<String>, String> {
        let head = seq_head(line)?;
        let mut s = seq(&head, head.args, line, p(1))?;
        let mut out = Vec::new();
        while let Some(g) = s.next() {
            out.push(g.sets[0].1.clone());
        }
        Ok(out)
    }

    #[test]
    fn seq_forms_as_keepalived_counts() {
        assert_eq!(seq_values("~SEQ(i, 3) x").unwrap(), ["1", "2", "3"]);
        assert_eq!(seq_values("~SEQ(i, 0) x").unwrap(), ["1", "0"]);
        assert_eq!(seq_values("~SEQ(i, -2) x").unwrap(), ["-1", "-2"]);
        assert_eq!(seq_values("~SEQ(i, 5, 3) x").unwrap(), ["5", "4", "3"]);
        assert_eq!(seq_values("~SEQ(i,0,0) x").unwrap(), ["0"]);
        assert_eq!(
            seq_values("~SEQ(AD, 144, 16, 192) x").unwrap(),
            ["144", "160", "176", "192"]
        );
        assert_eq!(seq_values("~SEQ(i, 1, 2, 4) x").unwrap(), ["1", "3"]);
        assert_eq!(
            seq_values("~SEQx(AD, 0x90, 0x10, 0xc0) x").unwrap(),
            ["90", "a0", "b0", "c0"]
        );
        assert_eq!(seq_values("~SEQ(i, 010, 011) x").unwrap(), ["8", "9"]);
        assert_eq!(
            seq_values("~SEQ ( IF , 0 , 1 ) x").unwrap(),
            ["0", "1"],
            "blanks everywhere"
        );
    }

    #[test]
    fn seq_errors() {
        for bad in [
            "~SEQ i, 1)",
            "~SEQ()",
            "~SEQ(i)",
            "~SEQ(i, 1, 2",
            "~SEQ(i, 1, 0, 3)",
            "~SEQ(i, 3, 1, 1)",
            "~SEQ(i, 1 2)",
            "~SEQ(i, 1, 2, 3, 4)",
            "~SEQx(i, -1, 3)",
            "~SEQ(i, 1, 10000000)",
        ] {
            assert!(seq_values(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seq_text_and_its_position() {
        let line = "~SEQ(i, 2)   vrrp_instance VI_${i} {";
        let head = seq_head(line).unwrap();
        assert_eq!(&line[seq_text_at(&head)..], "vrrp_instance VI_${i} {");
    }

    #[test]
    fn lst_forms() {
        let mut l = lst("~LST(V, a, b) t $V", |o| p(o as u32 + 1)).unwrap();
        assert_eq!(l.text.text, "t $V");
        assert_eq!(l.text.pos.col, 15);
        let got: Vec<_> = std::iter::from_fn(|| l.next()).map(|g| g.sets).collect();
        assert_eq!(
            got,
            [
                vec![("V".to_string(), "a".to_string())],
                vec![("V".to_string(), "b".to_string())]
            ]
        );
        let mut l = lst(
            "~LST({INST,PREF,LOW,HIGH},{,10.1.7.,1,3}, {6,fd00::,1}) $BFD",
            |o| p(o as u32 + 1),
        )
        .unwrap();
        let got: Vec<_> = std::iter::from_fn(|| l.next())
            .map(|g| g.sets.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
            .collect();
        assert_eq!(
            got,
            [vec!["", "10.1.7.", "1", "3"], vec!["6", "fd00::", "1", ""]]
        );
        for bad in ["~LST(V)", "~LST V, a)", "~LST({A}, {1, 2})", "~LST(V, a"] {
            assert!(lst(bad, |o| p(o as u32 + 1)).is_err(), "{bad}");
        }
    }

    #[test]
    fn random_stays_in_range_and_width() {
        let mut rng = 7;
        for _ in 0..1000 {
            let v: u64 = random(" 5 9", &mut rng).parse().unwrap();
            assert!((5..=9).contains(&v));
            let v: u64 = random("", &mut rng).parse().unwrap();
            assert!(v <= 32767);
        }
        assert!(valid_params(" 1 2"));
        assert!(!valid_params(" 1 2 "));
        assert!(!valid_params(" a"));
    }

    #[test]
    fn strtol_as_c() {
        assert_eq!(strtol0(" 12)"), (12, 3));
        assert_eq!(strtol0("0x1f,"), (31, 4));
        assert_eq!(strtol0("017"), (15, 3));
        assert_eq!(strtol0("-3"), (-3, 2));
        assert_eq!(strtol0(")"), (0, 0));
        assert_eq!(strtol0("0x"), (0, 1));
        assert_eq!(strtol0("99999999999999999999"), (i64::MAX, 20));
    }
}
