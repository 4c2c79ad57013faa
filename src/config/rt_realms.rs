//! Realm names for `realms [SRC/]DST` on routes and rules, looked up in
//! iproute2's `rt_realms` as keepalived does (lib/rttables.c): a word
//! that reads as a C number (decimal, 0x hex, 0 octal) is the number;
//! any other word is a name from `/etc/iproute2/rt_realms`, or from
//! `/usr/share/iproute2/rt_realms` when the first does not exist (newer
//! iproute2 ships its defaults there). Each line of the file is
//! `NUMBER NAME`; `#` starts a comment; a line of any other shape, or
//! whose number is too big, is skipped, as keepalived skips it.
//!
//! Owns: reading that file. May not: report errors (the route and rule
//! readers do, at the word's position).

use std::path::Path;

use super::build::parse_c_u64;

/// Where the names are, in the order they are tried.
pub const RT_REALMS_FILES: [&str; 2] = ["/etc/iproute2/rt_realms", "/usr/share/iproute2/rt_realms"];

/// The largest realm a name may stand for (keepalived's limit).
const NAME_MAX: u64 = 255;

/// Why a realm word was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum RealmError {
    /// A number above the limit.
    TooBig,
    /// A name that no realm file lists; the file that was read (if any).
    Unknown(Option<&'static str>),
}

/// One realm word: a number up to `max`, or a name from the realms file.
pub fn realm(word: &str, max: u64) -> Result<u32, RealmError> {
    if let Some(n) = parse_c_u64(word) {
        return u32::try_from(n)
            .ok()
            .filter(|n| u64::from(*n) <= max)
            .ok_or(RealmError::TooBig);
    }
    let Some(file) = RT_REALMS_FILES.into_iter().find(|f| Path::new(f).exists()) else {
        return Err(RealmError::Unknown(None));
    };
    let text = std::fs::read_to_string(file).unwrap_or_default();
    lookup(&text, word).ok_or(RealmError::Unknown(Some(file)))
}

/// `name`'s number in the text of a realms file.
fn lookup(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut f = line.split([' ', '\t']).filter(|w| !w.is_empty());
        let (num, n, rest) = (f.next()?, f.next()?, f.next());
        if rest.is_some() || n != name {
            return None;
        }
        parse_c_u64(num)
            .filter(|v| *v <= NAME_MAX)
            .map(|v| v as u32)
    })
}

/// `[SRC/]DST` with realm words: `(SRC << 16) | DST`. The error names
/// the word that failed.
pub fn realms(s: &str, max: u64) -> Result<u32, (String, RealmError)> {
    let one = |w: &str| realm(w, max).map_err(|e| (w.to_string(), e));
    match s.split_once('/') {
        Some((src, dst)) => Ok((one(src)? << 16) | one(dst)?),
        None => one(s),
    }
}

/// The message for a realm word that failed, `what` being the option's
/// place (a route or a rule).
pub fn message(word: &str, e: &RealmError, max: u64) -> String {
    match e {
        RealmError::TooBig => format!("realm {word} is above {max}"),
        RealmError::Unknown(Some(file)) => {
            format!("realm \"{word}\" is not a number nor a name in {file}")
        }
        RealmError::Unknown(None) => format!(
            "realm \"{word}\" is not a number, and there is no realms file ({} or {}) to look the name up in",
            RT_REALMS_FILES[0], RT_REALMS_FILES[1]
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "#\n# reserved values\n0\tcosmos\n 12  upstream # the ISP\n300 toobig\n7 two words\nx bad\n#1 inr.ac\n";

    #[test]
    fn names_are_read_as_keepalived_reads_rt_realms() {
        assert_eq!(lookup(FILE, "cosmos"), Some(0));
        assert_eq!(lookup(FILE, "upstream"), Some(12));
        assert_eq!(lookup(FILE, "toobig"), None);
        assert_eq!(lookup(FILE, "two"), None);
        assert_eq!(lookup(FILE, "bad"), None);
        assert_eq!(lookup(FILE, "inr.ac"), None);
    }

    #[test]
    fn numbers_need_no_file() {
        assert_eq!(realms("3/0x14", 255), Ok((3 << 16) | 20));
        assert_eq!(realms("010", 255), Ok(8));
        assert_eq!(realm("256", 255), Err(RealmError::TooBig));
        assert_eq!(realm("65535", 65535), Ok(65535));
    }
}
