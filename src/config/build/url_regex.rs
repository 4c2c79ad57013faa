//! A url's `regex` and its `regex_*` settings, read as keepalived 2.2.7
//! reads them (check_http.c), with its silent corrections made errors.
//!
//! keepalived logs and ignores a `regex_*` setting without `regex`, an
//! unknown `regex_options` word, a bad offset or stack size and a
//! `regex_min_offset` beyond `regex_max_offset`, and so checks something
//! other than what the file says; tandem refuses each at its word. A
//! pattern is compiled here with PCRE2 (`config::regex`), so a pattern
//! keepalived would fail to compile is an error with its position too.
//!
//! Owns: the `regex*` keywords of a url block and the [`UrlRegex`] they
//! make. May not: run a pattern (the checkers do).

use crate::config::keywords;
use crate::config::model::UrlRegex;
use crate::config::parser::{Stmt, Word};
use crate::config::regex::{OPTIONS, Pattern, option_bits};

use super::builder::Builder;

/// The regex settings of one url block, as read so far.
#[derive(Default)]
pub(super) struct RawRegex {
    pattern: Option<Word>,
    options: Vec<String>,
    no_match: bool,
    min_offset: Option<(u64, Word)>,
    max_offset: Option<(u64, Word)>,
    stack: Option<(u64, u64)>,
    /// The first `regex_*` setting written (for the error without `regex`).
    first_setting: Option<Word>,
}

impl Builder {
    /// Read `st` if it is one of the url's regex keywords; false if not.
    pub(super) fn url_regex_keyword(&mut self, st: &Stmt, r: &mut RawRegex) -> bool {
        let kw = st.keyword.text.as_str();
        if kw != "regex" && r.first_setting.is_none() && kw.starts_with("regex_") {
            r.first_setting = Some(st.keyword.clone());
        }
        match kw {
            "regex" => {
                if let Some(w) = self.one(st, "a pattern (PCRE2 syntax)") {
                    r.pattern = Some(w.clone());
                }
            }
            "regex_no_match" => {
                self.bare(st);
                r.no_match = true;
            }
            "regex_options" => self.regex_options(st, r),
            "regex_min_offset" => r.min_offset = self.offset(st),
            "regex_max_offset" => r.max_offset = self.offset(st),
            "regex_stack" => {
                self.no_block(st);
                let Some(a) = self.args(st, 2, "a start and a largest size in bytes") else {
                    return true;
                };
                let start = self.int_word(kw, &a[0], 1, i64::from(u32::MAX));
                let max = self.int_word(kw, &a[1], 1, i64::from(u32::MAX));
                match (start, max) {
                    (Some(s), Some(m)) if s > m => self.err(
                        a[0].pos,
                        format!("regex_stack start {s} is larger than its largest size {m}"),
                    ),
                    (Some(s), Some(m)) => r.stack = Some((s as u64, m as u64)),
                    _ => {}
                }
            }
            _ => return false,
        }
        true
    }

    fn regex_options(&mut self, st: &Stmt, r: &mut RawRegex) {
        self.no_block(st);
        if st.args.is_empty() {
            self.err(
                st.keyword.pos,
                "\"regex_options\" needs at least one option",
            );
        }
        for w in &st.args {
            if option_bits([w.text.as_str()]).is_ok() {
                if !r.options.contains(&w.text) {
                    r.options.push(w.text.clone());
                }
                continue;
            }
            let msg = match keywords::suggest(&w.text, OPTIONS.iter().map(|(n, _)| *n)) {
                Some(s) => format!("unknown regex option \"{}\"; did you mean \"{s}\"?", w.text),
                None => format!(
                    "unknown regex option \"{}\" (keepalived ignores it; see keepalived.conf(5) for the list)",
                    w.text
                ),
            };
            self.err(w.pos, msg);
        }
    }

    fn offset(&mut self, st: &Stmt) -> Option<(u64, Word)> {
        let w = self.one(st, "a byte offset into the body")?;
        let v = self.int_word(&st.keyword.text, w, 0, i64::MAX)?;
        Some((v as u64, w.clone()))
    }

    /// The url's [`UrlRegex`] once its block is read: the pattern compiled,
    /// the settings checked together.
    pub(super) fn finish_url_regex(&mut self, r: RawRegex) -> Option<UrlRegex> {
        let Some(pattern) = r.pattern else {
            if let Some(kw) = r.first_setting {
                self.err(
                    kw.pos,
                    format!(
                        "\"{}\" without \"regex\" in this url (keepalived ignores it)",
                        kw.text
                    ),
                );
            }
            return None;
        };
        if let (Some((min, w)), Some((max, _))) = (&r.min_offset, &r.max_offset) {
            if min > max {
                self.err(
                    w.pos,
                    format!("regex_min_offset {min} is beyond regex_max_offset {max} (keepalived would ignore both)"),
                );
            }
        }
        // keepalived reads this line again with escapes applied in bare
        // words too: `a\.b` is the pattern `a.b`, `a\\.b` is `a\.b`.
        let text = pattern.escaped_text().to_string();
        let bits = option_bits(r.options.iter().map(String::as_str)).unwrap_or(0);
        if let Err(e) = Pattern::compile(&text, bits) {
            self.err(pattern.pos, format!("invalid regex \"{text}\": {e}"));
            return None;
        }
        Some(UrlRegex {
            pattern: text,
            options: r.options,
            no_match: r.no_match,
            min_offset: r.min_offset.map_or(0, |(v, _)| v),
            max_offset: r.max_offset.map(|(v, _)| v),
            stack: r.stack,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{CheckerKind, LoadOptions, UrlRegex, load_str};

    fn url(body: &str) -> (Option<UrlRegex>, Vec<String>) {
        let text = format!(
            "virtual_server 192.0.2.1 80 {{\n protocol TCP\n real_server 198.51.100.1 80 {{\n  HTTP_GET {{\n   url {{\n    path /\n{body}\n   }}\n  }}\n }}\n}}\n"
        );
        let l = load_str(
            std::path::Path::new("t.conf"),
            text,
            &LoadOptions::default(),
        );
        let diags = l.diagnostics.iter().map(|d| d.to_string()).collect();
        let regex =
            l.config.and_then(
                |c| match &c.virtual_servers[0].real_servers[0].checkers[0].kind {
                    CheckerKind::HttpGet(h) => h.url[0].regex.clone(),
                    _ => None,
                },
            );
        (regex, diags)
    }

    #[test]
    fn escapes_apply_outside_quotes_too_as_keepalived_reads_the_line() {
        let (r, _) = url(r#"regex armitage\.org\\.uk"#);
        assert_eq!(r.unwrap().pattern, r"armitage.org\.uk");
        let (r, _) = url(r#"regex "(up) \\1""#);
        assert_eq!(r.unwrap().pattern, r"(up) \1");
    }

    #[test]
    fn settings_are_read_and_options_add_up() {
        let (r, d) = url(
            "regex up\nregex_options caseless\nregex_options multiline caseless\nregex_no_match\nregex_min_offset 3\nregex_max_offset 9\nregex_stack 100 200",
        );
        assert!(d.is_empty(), "{d:?}");
        let r = r.unwrap();
        assert_eq!(r.options, ["caseless", "multiline"]);
        assert!(r.no_match);
        assert_eq!(
            (r.min_offset, r.max_offset, r.stack),
            (3, Some(9), Some((100, 200)))
        );
    }

    #[test]
    fn mistakes_are_errors_at_their_word() {
        let (_, d) = url("regex up\nregex_options dotal");
        assert_eq!(
            d,
            ["t.conf:8:15: error: unknown regex option \"dotal\"; did you mean \"dotall\"?"]
        );
        let (_, d) = url("regex_max_offset 4");
        assert_eq!(
            d,
            [
                "t.conf:7:1: error: \"regex_max_offset\" without \"regex\" in this url (keepalived ignores it)"
            ]
        );
        let (_, d) = url("regex up\nregex_min_offset 5\nregex_max_offset 4");
        assert_eq!(
            d,
            [
                "t.conf:8:18: error: regex_min_offset 5 is beyond regex_max_offset 4 (keepalived would ignore both)"
            ]
        );
        let (_, d) = url("regex a)");
        assert_eq!(
            d,
            ["t.conf:7:7: error: invalid regex \"a)\": unmatched closing parenthesis at offset 1"]
        );
        let (_, d) = url("regex up\nregex_stack 10");
        assert_eq!(
            d,
            ["t.conf:8:1: error: \"regex_stack\" needs a start and a largest size in bytes"]
        );
    }
}
