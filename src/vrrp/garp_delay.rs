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
//! `send_gratuitous_arp`, `queue_garp`). Here each message asks for its
//! slot: the earliest time it may go out, which also pushes the next slot
//! on, so consecutive messages on the interfaces of one delay are never
//! closer than the interval, whoever sends them.
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

    /// The time at which a message of `kind` asked for at `now` may be
    /// sent: `now` when the interface is free (or that kind is not paced),
    /// else the next free slot. Taking the slot moves the next one an
    /// interval later.
    pub fn slot(&mut self, now: Time, kind: Announcement) -> Time {
        let (interval, next) = match kind {
            Announcement::Garp => (self.garp_interval, &mut self.next_garp),
            Announcement::Na => (self.gna_interval, &mut self.next_gna),
        };
        let Some(interval) = interval else {
            return now;
        };
        let at = now.max(*next);
        *next = at + interval;
        at
    }

    /// A message of `kind` asked for at `now` would go out at once: the
    /// slot is taken only then (the caller sends now or not at all).
    pub fn try_now(&mut self, now: Time, kind: Announcement) -> bool {
        let next = match kind {
            Announcement::Garp => self.next_garp,
            Announcement::Na => self.next_gna,
        };
        if next > now {
            return false;
        }
        self.slot(now, kind);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Time = Time::from_millis;

    #[test]
    fn messages_asked_for_together_are_an_interval_apart() {
        let mut d = GarpDelay::new(Some(Duration::from_millis(100)), None);
        let slots: Vec<Time> = (0..4)
            .map(|_| d.slot(MS(1000), Announcement::Garp))
            .collect();
        assert_eq!(slots, vec![MS(1000), MS(1100), MS(1200), MS(1300)]);
    }

    #[test]
    fn a_message_after_the_interval_goes_at_once() {
        let mut d = GarpDelay::new(Some(Duration::from_millis(100)), None);
        assert_eq!(d.slot(MS(1000), Announcement::Garp), MS(1000));
        assert_eq!(d.slot(MS(1150), Announcement::Garp), MS(1150));
        // 30 ms later: waits until 100 ms after the previous one.
        assert_eq!(d.slot(MS(1180), Announcement::Garp), MS(1250));
    }

    #[test]
    fn arp_and_na_are_paced_apart() {
        let mut d = GarpDelay::new(
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(40)),
        );
        assert_eq!(d.slot(MS(0), Announcement::Garp), MS(0));
        assert_eq!(d.slot(MS(0), Announcement::Na), MS(0));
        assert_eq!(d.slot(MS(0), Announcement::Na), MS(40));
        assert_eq!(d.slot(MS(0), Announcement::Garp), MS(100));
    }

    #[test]
    fn a_kind_without_an_interval_is_not_paced() {
        let mut d = GarpDelay::new(None, Some(Duration::from_millis(40)));
        for _ in 0..3 {
            assert_eq!(d.slot(MS(7), Announcement::Garp), MS(7));
        }
    }

    #[test]
    fn try_now_takes_the_slot_only_when_free() {
        let mut d = GarpDelay::new(Some(Duration::from_millis(100)), None);
        assert!(d.try_now(MS(0), Announcement::Garp));
        assert!(!d.try_now(MS(50), Announcement::Garp));
        // The refusal took nothing: the next slot is still at 100.
        assert_eq!(d.slot(MS(50), Announcement::Garp), MS(100));
        assert!(d.try_now(MS(200), Announcement::Garp));
    }
}
