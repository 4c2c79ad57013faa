//! keepalived's `garp_delay`: the minimum gap between two gratuitous ARPs
//! (and, apart, between two unsolicited NAs) sent on an interface, shared
//! by every instance and every VIP that uses it.
//!
//! A `garp_group` gives one delay to all its interfaces (so they are paced
//! together); the global `vrrp_garp_interval` / `vrrp_gna_interval` give
//! each other interface an instance uses a delay of its own (keepalived
//! 2.2.7 vrrp_if.c `set_default_garp_delay`). keepalived sends a message at
//! once when the interface's next time has passed and pushes that time on
//! by the interval; an earlier one waits for a timer (vrrp_arp.c
//! `send_gratuitous_arp`, `queue_garp`). Here too: a message goes out
//! only once the interval since the last one *sent* has passed (not since
//! the time it was due: a send that came late under load must not bring
//! the next one closer), and marks its own send time.
//!
//! Sans-IO: the caller passes the time and sleeps until the slot itself.

use std::time::Duration;

use super::time::Time;

/// Which kind of announcement: each has its own interval and clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    /// Gratuitous ARP (IPv4), paced by `garp_interval`.
    Garp,
    /// Unsolicited neighbour advertisement (IPv6), paced by `gna_interval`.
    Na,
}

/// One delay: the intervals as configured (`None`: not paced) and the
/// next free slot of each kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpDelay {
    garp_interval: Option<Duration>,
    gna_interval: Option<Duration>,
    next_garp: Time,
    next_gna: Time,
}

impl GarpDelay {
    pub fn new(garp_interval: Option<Duration>, gna_interval: Option<Duration>) -> GarpDelay {
        GarpDelay {
            garp_interval,
            gna_interval,
            next_garp: Time::ZERO,
            next_gna: Time::ZERO,
        }
    }

    /// The intervals this delay was made with.
    pub fn intervals(&self) -> (Option<Duration>, Option<Duration>) {
        (self.garp_interval, self.gna_interval)
    }

    fn clock(&mut self, kind: Announcement) -> (Option<Duration>, &mut Time) {
        match kind {
            Announcement::Garp => (self.garp_interval, &mut self.next_garp),
            Announcement::Na => (self.gna_interval, &mut self.next_gna),
        }
    }

    /// How long a message of `kind` must still wait at `now`: zero when
    /// the interface is free (or that kind is not paced).
    pub fn wait(&mut self, now: Time, kind: Announcement) -> Duration {
        match self.clock(kind) {
            (Some(_), next) => next.saturating_duration_since(now),
            (None, _) => Duration::ZERO,
        }
    }

    /// A message of `kind` was sent at `now`: the next may go an interval
    /// later.
    pub fn sent(&mut self, now: Time, kind: Announcement) {
        if let (Some(interval), next) = self.clock(kind) {
            *next = now + interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Time = Time::from_millis;
    const G: Announcement = Announcement::Garp;

    #[test]
    fn a_message_waits_an_interval_after_the_last_one_sent() {
        let mut d = GarpDelay::new(Some(Duration::from_millis(100)), None);
        assert_eq!(d.wait(MS(1000), G), Duration::ZERO, "nothing sent yet");
        d.sent(MS(1000), G);
        assert_eq!(d.wait(MS(1000), G), Duration::from_millis(100));
        assert_eq!(d.wait(MS(1030), G), Duration::from_millis(70));
        assert_eq!(d.wait(MS(1100), G), Duration::ZERO);
    }

    #[test]
    fn a_late_send_pushes_the_next_one_back() {
        let mut d = GarpDelay::new(Some(Duration::from_millis(100)), None);
        d.sent(MS(0), G);
        // Due at 100, sent at 144 (a busy machine): the next is due at 244.
        d.sent(MS(144), G);
        assert_eq!(d.wait(MS(200), G), Duration::from_millis(44));
    }

    #[test]
    fn arp_and_na_are_paced_apart() {
        let mut d = GarpDelay::new(
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(40)),
        );
        d.sent(MS(0), G);
        assert_eq!(d.wait(MS(0), Announcement::Na), Duration::ZERO);
        d.sent(MS(0), Announcement::Na);
        assert_eq!(d.wait(MS(10), Announcement::Na), Duration::from_millis(30));
        assert_eq!(d.wait(MS(10), G), Duration::from_millis(90));
    }

    #[test]
    fn a_kind_without_an_interval_is_not_paced() {
        let mut d = GarpDelay::new(None, Some(Duration::from_millis(40)));
        d.sent(MS(7), G);
        assert_eq!(d.wait(MS(7), G), Duration::ZERO);
    }
}
