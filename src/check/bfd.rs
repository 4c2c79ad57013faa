//! `BFD_CHECK`: a real server is up while a `bfd_instance` is Up.
//!
//! There is no probe. The BFD task (`daemon::bfd`) owns the sessions and
//! publishes each session's state; [`BfdFollow`] turns those states into
//! [`CheckEvent`]s for the checkers that name the session, as keepalived's
//! checker process does with the events its BFD process sends it
//! (check_bfd.c):
//!
//! - a checker's first state always counts (and is logged), whatever the
//!   checker started as: keepalived's BFD process reports every session's
//!   state (Down until the neighbour is heard) when it starts, so a real
//!   server that follows a session is down until the session comes Up,
//!   `alpha` or not;
//! - after that, only a change of the session's Up-ness counts;
//! - each counted change is logged as keepalived logs it:
//!   `BFD check of [NAME] RS([192.0.2.2]:tcp:80) is DOWN`.
//!
//! The states arrive on a watch channel (the latest state of every
//! session); a Down and Up again faster than this task wakes is seen as
//! no change, as the real server was never observed down.
//!
//! Owns that bookkeeping (sans-IO, [`BfdFollow::on_states`]) and the small
//! task that feeds it ([`follow`]). May not: run BFD (`bfd` and the
//! daemon's BFD task do), or decide what a verdict does to the table.

use std::collections::BTreeMap;

use tokio::sync::{mpsc, watch};

use super::event::{CheckEvent, CheckerId};
use super::schedule::Report;
use super::spec::BfdCheck;

/// Each session's latest state, by `bfd_instance` name: `true` while Up.
pub type BfdUp = BTreeMap<String, bool>;

/// One `BFD_CHECK` as followed.
#[derive(Debug, Clone)]
struct Follower {
    id: CheckerId,
    check: BfdCheck,
    /// The verdict last reported; `None` before the first state.
    reported: Option<bool>,
}

/// Every `BFD_CHECK` of a configuration.
#[derive(Debug, Clone, Default)]
pub struct BfdFollow {
    followers: Vec<Follower>,
}

/// A verdict to report, with keepalived's log line for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    pub event: CheckEvent,
    pub log: String,
}

impl BfdFollow {
    /// Follow `checks` (id, what it names); `seeded` verdicts (a reload's,
    /// for an unchanged checker) count as already reported.
    pub fn new(checks: Vec<(CheckerId, BfdCheck, Option<bool>)>) -> Self {
        Self {
            followers: checks
                .into_iter()
                .map(|(id, check, reported)| Follower {
                    id,
                    check,
                    reported,
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.followers.is_empty()
    }

    /// The sessions' states now: the verdicts that changed. A session not
    /// in `states` (not started yet) changes nothing.
    pub fn on_states(&mut self, states: &BfdUp) -> Vec<Followed> {
        let mut out = Vec::new();
        for f in &mut self.followers {
            let Some(&up) = states.get(&f.check.name) else {
                continue;
            };
            if f.reported == Some(up) {
                continue;
            }
            f.reported = Some(up);
            let word = if up { "UP" } else { "DOWN" };
            out.push(Followed {
                event: CheckEvent {
                    checker: f.id,
                    report: if up { Report::Up } else { Report::Down },
                    detail: (!up)
                        .then(|| format!("BFD CHECK {} failed (session not Up)", f.check.name)),
                },
                log: format!(
                    "BFD check of [{}] RS({}) is {word}",
                    f.check.name, f.check.real_server
                ),
            });
        }
        out
    }
}

/// Feed `follow` from `states` until the states' sender or the events'
/// receiver is gone.
pub async fn follow(
    mut follow: BfdFollow,
    mut states: watch::Receiver<BfdUp>,
    events: mpsc::Sender<CheckEvent>,
) {
    loop {
        let now = states.borrow_and_update().clone();
        for f in follow.on_states(&now) {
            if f.event.report == Report::Up {
                tracing::info!(checker = "BFD_CHECK", "{}", f.log);
            } else {
                tracing::warn!(checker = "BFD_CHECK", "{}", f.log);
            }
            if events.send(f.event).await.is_err() {
                return;
            }
        }
        if states.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str) -> BfdCheck {
        BfdCheck {
            name: name.into(),
            real_server: "[192.0.2.2]:tcp:80".into(),
        }
    }

    fn states(list: &[(&str, bool)]) -> BfdUp {
        list.iter().map(|(n, u)| ((*n).to_string(), *u)).collect()
    }

    #[test]
    fn first_state_counts_then_only_changes() {
        let mut f = BfdFollow::new(vec![
            (CheckerId(0), check("a"), None),
            (CheckerId(1), check("b"), None),
        ]);
        // Session "b" not started: nothing for it.
        let out = f.on_states(&states(&[("a", false)]));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event.checker, CheckerId(0));
        assert_eq!(out[0].event.report, Report::Down);
        assert_eq!(
            out[0].log,
            "BFD check of [a] RS([192.0.2.2]:tcp:80) is DOWN"
        );
        assert!(f.on_states(&states(&[("a", false)])).is_empty());
        let out = f.on_states(&states(&[("a", true), ("b", true)]));
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|o| o.event.report == Report::Up));
        assert_eq!(out[1].log, "BFD check of [b] RS([192.0.2.2]:tcp:80) is UP");
        assert!(f.on_states(&states(&[("a", true), ("b", true)])).is_empty());
        let out = f.on_states(&states(&[("a", true), ("b", false)]));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event.checker, CheckerId(1));
        assert_eq!(out[0].event.report, Report::Down);
    }

    #[test]
    fn a_seeded_verdict_is_not_reported_again() {
        let mut f = BfdFollow::new(vec![(CheckerId(3), check("a"), Some(true))]);
        assert!(f.on_states(&states(&[("a", true)])).is_empty());
        assert_eq!(f.on_states(&states(&[("a", false)])).len(), 1);
    }
}
