//! A script line: its words ([`split_command`], keepalived's splitting) and
//! who runs it ([`RunAs`]), as a ready [`Script`].
//!
//! Plain values; nothing here looks anything up or starts anything.

/// What a script line looked like that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("empty script command")]
    Empty,
    #[error("unterminated quote in script command `{0}`")]
    UnterminatedQuote(String),
}

/// The user and group a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

impl RunAs {
    pub const ROOT: RunAs = RunAs { uid: 0, gid: 0 };

    /// Whether keepalived counts this as running with root's rights.
    pub fn is_root(self) -> bool {
        self.uid == 0 || self.gid == 0
    }
}

impl std::fmt::Display for RunAs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "uid {} gid {}", self.uid, self.gid)
    }
}

/// A script ready to run: its words and who runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub argv: Vec<String>,
    pub run_as: RunAs,
}

impl Script {
    /// The command line, for logs.
    pub fn line(&self) -> String {
        self.argv.join(" ")
    }
}

/// Split a script line into words, as keepalived does (quotes group, a
/// backslash escapes, no variable expansion, no globbing).
pub fn split_command(line: &str) -> Result<Vec<String>, ScriptError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                    in_word = true;
                }
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(ScriptError::UnterminatedQuote(line.to_string()));
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(ScriptError::Empty);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::script::testing::w;

    #[test]
    fn split_like_keepalived() {
        assert_eq!(
            split_command("/bin/notify.sh master").ok(),
            Some(w(&["/bin/notify.sh", "master"]))
        );
        assert_eq!(
            split_command("  /bin/x 'a b'  \"c d\" e\\ f ").ok(),
            Some(w(&["/bin/x", "a b", "c d", "e f"]))
        );
        assert_eq!(split_command("/bin/x ''").ok(), Some(w(&["/bin/x", ""])));
        assert_eq!(split_command("   "), Err(ScriptError::Empty));
        assert!(matches!(
            split_command("/bin/x 'oops"),
            Err(ScriptError::UnterminatedQuote(_))
        ));
    }
}
