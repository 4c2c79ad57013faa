//! keepalived's virtual-server logic: real-server state, quorum, sorry server.
//!
//! Sans-IO. [`LvsState`] takes checker verdicts ([`CheckEvent`](crate::check::CheckEvent)s) in and
//! gives back [`Action`]s (notify scripts, log lines, alerts) and, on
//! request, the IPVS table this node should have ([`LvsState::desired`]).
//! It never touches the kernel: the daemon hands the table to the IPVS
//! reconciler, which computes the difference to the kernel's.
//!
//! Which virtual servers this node programs at all depends on VRRP
//! mastership; that rule lives in [`governance`].
//!
//! The semantics are keepalived's (keepalived.conf(5), `virtual_server`):
//! - a real server is alive when *all* its checkers pass (no checker: always
//!   alive);
//! - a dead real server is removed from the table, or kept with weight 0
//!   under `inhibit_on_failure`;
//! - the *quorum* is the sum of the weights of alive real servers; it is lost
//!   when that sum drops below `quorum − hysteresis` and regained when it
//!   reaches `quorum + hysteresis` (`quorum` defaults to 1, so a virtual
//!   server loses quorum when its last real server dies);
//! - while quorum is lost and a `sorry_server` is configured, the sorry
//!   server is the only destination with a weight: real servers are removed
//!   (weight 0 with `inhibit_on_failure`). When quorum returns the sorry
//!   server is removed (weight 0 with `sorry_server_inhibit`);
//! - `quorum_up` / `quorum_down` run on those transitions, `notify_up` /
//!   `notify_down` when a real server changes state;
//! - a `FILE_CHECK` adds its file's value × weight to the real server's
//!   weight (the IPVS weight stays within 0..2147483647) and fails as
//!   keepalived's does ([`FileCheckSpec::effect`]);
//! - `alpha` (start down) is a checker property: see
//!   [`crate::check::CheckTiming::alpha`]; `omega` runs the down notifiers
//!   at shutdown ([`LvsState::shutdown`]).
//!
//! Owns the virtual-server logic, its start-up build and the mastership
//! rule. May not do I/O: no kernel, no sockets, no clock, no script run;
//! checkers are built here but started by the daemon.

pub mod build;
pub mod governance;
pub mod model;
pub mod state;

pub use build::{BuildError, Built, HaSuspendPlan, build};
pub use governance::{Governance, Governor};
pub use model::{FileCheckEffect, FileCheckSpec, RealServerSpec, SorryServer, VirtualServerSpec};
pub use state::{Action, LvsState, VsIndex};

#[cfg(test)]
mod tests;
