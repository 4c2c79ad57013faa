//! C's `strtol(s, &end, 0)`, the one number reader keepalived uses both
//! for `~SEQ(...)` arguments in its configuration and for the value in a
//! `track_file`: blanks, a sign, then `0x` hex, `0` octal or decimal, up
//! to the first byte that is not a digit. Shared by the lexer and the
//! daemon's file watcher so the two cannot drift apart.

/// What [`strtol`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strtol {
    /// The value, saturated to `i64` as strtol saturates to `long`.
    pub value: i64,
    /// The bytes taken (0 when there were no digits: `end` is then `s`).
    pub used: usize,
    /// The number did not fit (strtol's `ERANGE`).
    pub overflow: bool,
}

/// Read a number from the start of `b` as `strtol(b, &end, 0)` does.
pub fn strtol(b: &[u8]) -> Strtol {
    let mut i = b
        .iter()
        .take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .count();
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let (radix, digits_at) = if b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if b.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let n = b[digits_at.min(b.len())..]
        .iter()
        .take_while(|c| (**c as char).is_digit(radix))
        .count();
    if n == 0 {
        return Strtol {
            value: 0,
            used: 0,
            overflow: false,
        };
    }
    // Saturate above every i64 magnitude, so an overflow stays visible.
    let cap = i128::from(i64::MAX) + 2;
    let mut v: i128 = 0;
    for c in &b[digits_at..digits_at + n] {
        let d = (*c as char).to_digit(radix).unwrap_or(0);
        v = (v * i128::from(radix) + i128::from(d)).min(cap);
    }
    let v = if neg { -v } else { v };
    let overflow = v > i128::from(i64::MAX) || v < i128::from(i64::MIN);
    Strtol {
        value: v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        used: digits_at + n,
        overflow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vu(s: &str) -> (i64, usize, bool) {
        let r = strtol(s.as_bytes());
        (r.value, r.used, r.overflow)
    }

    #[test]
    fn reads_as_c_strtol_with_base_0() {
        assert_eq!(vu(" 12)"), (12, 3, false));
        assert_eq!(vu("0x1f,"), (31, 4, false));
        assert_eq!(vu("017"), (15, 3, false));
        assert_eq!(vu("-3"), (-3, 2, false));
        assert_eq!(vu(")"), (0, 0, false));
        assert_eq!(vu("0x"), (0, 1, false));
        assert_eq!(vu("99999999999999999999"), (i64::MAX, 20, true));
        assert_eq!(vu("-9223372036854775808"), (i64::MIN, 20, false));
        assert_eq!(vu("9223372036854775808"), (i64::MAX, 19, true));
    }
}
