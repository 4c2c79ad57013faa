//! `ha_suspend`: which checkers are suspended now, one flag per checker,
//! shared by the daemon (which sets them as the virtual servers'
//! addresses come and go) and the checker threads (which read them
//! before each probe).
//!
//! A suspended checker keeps its schedule but opens no connection: at
//! each `delay_loop` it looks again, and its verdict stays what it was
//! (keepalived's `checker->enabled = false`). A checker shared by several
//! virtual servers is suspended only while all of them are; the daemon
//! decides that. Owns the flags; may not decide when a checker is
//! suspended.

use std::sync::atomic::{AtomicBool, Ordering};

use super::event::CheckerId;

/// One flag per checker, by [`CheckerId`].
#[derive(Debug)]
pub struct Suspended {
    flags: Box<[AtomicBool]>,
}

impl Suspended {
    /// `n` checkers, none suspended.
    pub fn new(n: usize) -> Suspended {
        Suspended {
            flags: (0..n).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Checker `id` is suspended now (an unknown id never is).
    pub fn is(&self, id: CheckerId) -> bool {
        self.flags
            .get(id.0)
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// Suspend or resume checker `id`; true if that changed anything.
    pub fn set(&self, id: CheckerId, suspended: bool) -> bool {
        self.flags
            .get(id.0)
            .is_some_and(|f| f.swap(suspended, Ordering::Relaxed) != suspended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_reports_changes_only() {
        let s = Suspended::new(2);
        assert!(!s.is(CheckerId(0)));
        assert!(s.set(CheckerId(0), true));
        assert!(!s.set(CheckerId(0), true));
        assert!(s.is(CheckerId(0)) && !s.is(CheckerId(1)));
        assert!(s.set(CheckerId(0), false));
        assert!(!s.is(CheckerId(0)));
        // Out of range: never suspended, nothing to set.
        assert!(!s.set(CheckerId(5), true) && !s.is(CheckerId(5)));
    }
}
