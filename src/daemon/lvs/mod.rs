//! The LVS side of the daemon: checker verdicts and VRRP roles in, the
//! IPVS table, notify scripts and mails out.
//!
//! - `task`: the LVS task ([`LvsTask`]), sole owner of the check state;
//! - `programmer`: the IPVS programmer ([`program`]), sole writer of the
//!   kernel's IPVS table;
//! - `guard`: when the handover guard goes in and out (on a takeover,
//!   with `lvs_sync_daemon`);
//! - `service`: starting, reloading and stopping both with the checkers
//!   ([`PreparedLvs`], [`LvsService`]);
//! - `reporting`, `snapshot`, `mail`: what the task reports and how.
//!
//! It hears of VRRP only through the bus and tells it only that a table is
//! in the kernel (the VIP gate); it never touches a unit.

mod guard;
mod ha_suspend;
mod mail;
mod programmer;
mod reporting;
mod service;
mod snapshot;
mod task;

pub use programmer::{Desired, DesiredTable, program};
pub use reporting::{LvsReporting, Occasion, VsInfo};
pub use service::{LvsService, PreparedLvs};
pub use task::LvsTask;
