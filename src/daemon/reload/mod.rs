//! Reload: what differs between the running configuration and a new one
//! (`diff`), what those differences need (`policy`: live, a rebuilt LVS
//! side, a restart), and applying them to a running daemon (`apply`).
//!
//! A reload first loads and validates the new file completely; a file with
//! errors, or with a change that needs a restart, is refused and the
//! running configuration stays (the errors, with file:line:col, go to the
//! log and to the `POST /reload` reply). The diff and the policy are
//! sans-IO; only `apply` touches running tasks, and only through their
//! handles.

mod apply;
mod diff;
mod policy;

pub(super) use apply::{reapply_links, reload_config};
pub use diff::{Change, Diff, Fingerprint, Held, Item, diff, diff_held};
