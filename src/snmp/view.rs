//! A MIB view: the sorted table of (OID -> value) a subagent answers from,
//! and the three read requests over it (RFC 2741 §7.2.3: Get, GetNext,
//! GetBulk).
//!
//! Owns the lookup rules only. The table is built whole from one status
//! snapshot (see `keepalived_mib`), so a walk never sees half of a change.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::pdu::{Oid, SearchRange, Value, VarBind};

/// Every object the subagent exposes, in lexicographic OID order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MibView {
    objects: BTreeMap<Oid, Value>,
}

/// GetBulk answers no more varbinds than this, whatever max-repetitions
/// asks: snmpd splits a walk into many requests anyway.
const MAX_BULK_VARBINDS: usize = 1024;

impl MibView {
    pub fn insert(&mut self, name: Oid, value: Value) {
        self.objects.insert(name, value);
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    pub fn value(&self, name: &Oid) -> Option<&Value> {
        self.objects.get(name)
    }

    /// Every object, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Oid, &Value)> {
        self.objects.iter()
    }

    /// Get (§7.2.3.1): the exact name, or noSuchInstance when the name is
    /// below an object that has instances, noSuchObject otherwise.
    pub fn get(&self, range: &SearchRange) -> VarBind {
        let value = match self.objects.get(&range.start) {
            Some(v) => v.clone(),
            None if self.has_sibling_column(&range.start) => Value::NoSuchInstance,
            None => Value::NoSuchObject,
        };
        VarBind {
            name: range.start.clone(),
            value,
        }
    }

    /// Whether some object shares all but the last sub-identifier with
    /// `name` (the same column, another row).
    fn has_sibling_column(&self, name: &Oid) -> bool {
        let Some((_, parent)) = name.0.split_last() else {
            return false;
        };
        let parent = Oid(parent.to_vec());
        self.objects
            .range(parent.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&parent) && k.0.len() == name.0.len())
    }

    /// GetNext (§7.2.3.2): the first object after `start` (or at it, when
    /// `include`) and before `end`; endOfMibView named `start` otherwise.
    pub fn get_next(&self, range: &SearchRange) -> VarBind {
        let lower = if range.include {
            Bound::Included(&range.start)
        } else {
            Bound::Excluded(&range.start)
        };
        let found = self
            .objects
            .range::<Oid, _>((lower, Bound::Unbounded))
            .next()
            .filter(|(k, _)| range.end.is_null() || *k < &range.end);
        match found {
            Some((k, v)) => VarBind {
                name: k.clone(),
                value: v.clone(),
            },
            None => VarBind {
                name: range.start.clone(),
                value: Value::EndOfMibView,
            },
        }
    }

    /// GetBulk (§7.2.3.3): the first `non_repeaters` ranges once, then the
    /// others row by row, each step continuing after the last name found,
    /// until every repeater has run off its range or `max_repetitions`.
    pub fn get_bulk(
        &self,
        non_repeaters: u16,
        max_repetitions: u16,
        ranges: &[SearchRange],
    ) -> Vec<VarBind> {
        let n = usize::from(non_repeaters).min(ranges.len());
        let mut out: Vec<VarBind> = ranges[..n].iter().map(|r| self.get_next(r)).collect();
        let mut cursors: Vec<SearchRange> = ranges[n..].to_vec();
        for _ in 0..max_repetitions {
            if cursors.is_empty() || out.len() >= MAX_BULK_VARBINDS {
                break;
            }
            let mut all_ended = true;
            for c in cursors.iter_mut() {
                let vb = self.get_next(c);
                if vb.value != Value::EndOfMibView {
                    all_ended = false;
                    c.start = vb.name.clone();
                    c.include = false;
                }
                out.push(vb);
            }
            if all_ended {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> MibView {
        let mut v = MibView::default();
        for (oid, n) in [(&[1, 2, 1][..], 1), (&[1, 2, 2], 2), (&[1, 3, 1], 3)] {
            v.insert(Oid::new(oid), Value::Integer(n));
        }
        v
    }

    fn range(start: &[u32], include: bool, end: &[u32]) -> SearchRange {
        SearchRange {
            start: Oid::new(start),
            include,
            end: Oid::new(end),
        }
    }

    #[test]
    fn get_finds_the_exact_name_or_says_why_not() {
        let v = view();
        assert_eq!(
            v.get(&range(&[1, 2, 2], false, &[])).value,
            Value::Integer(2)
        );
        assert_eq!(
            v.get(&range(&[1, 2, 9], false, &[])).value,
            Value::NoSuchInstance
        );
        assert_eq!(
            v.get(&range(&[1, 9], false, &[])).value,
            Value::NoSuchObject
        );
    }

    #[test]
    fn get_next_honours_include_and_end() {
        let v = view();
        let vb = v.get_next(&range(&[1, 2], false, &[]));
        assert_eq!(
            (vb.name, vb.value),
            (Oid::new(&[1, 2, 1]), Value::Integer(1))
        );
        let vb = v.get_next(&range(&[1, 2, 1], true, &[]));
        assert_eq!(vb.name, Oid::new(&[1, 2, 1]));
        let vb = v.get_next(&range(&[1, 2, 1], false, &[]));
        assert_eq!(vb.name, Oid::new(&[1, 2, 2]));
        // The range ends before 1.3: nothing there.
        let vb = v.get_next(&range(&[1, 2, 2], false, &[1, 3]));
        assert_eq!(
            (vb.name, vb.value),
            (Oid::new(&[1, 2, 2]), Value::EndOfMibView)
        );
        let vb = v.get_next(&range(&[1, 3, 1], false, &[]));
        assert_eq!(vb.value, Value::EndOfMibView);
    }

    #[test]
    fn get_bulk_walks_row_by_row_and_stops_at_the_end() {
        let v = view();
        let got = v.get_bulk(
            1,
            10,
            &[range(&[1], false, &[]), range(&[1, 2, 1], false, &[])],
        );
        let names: Vec<String> = got.iter().map(|vb| vb.name.to_string()).collect();
        // The non-repeater once, then the repeater until the end of the view.
        assert_eq!(names, [".1.2.1", ".1.2.2", ".1.3.1", ".1.3.1"]);
        assert_eq!(got[3].value, Value::EndOfMibView);
        assert_eq!(v.get_bulk(0, 0, &[range(&[1], false, &[])]), Vec::new());
    }
}
