//! [`DaemonError`]: why the daemon could not start, or had to stop.
//!
//! Owns only the error type, so that every part of the daemon can return it
//! without importing the part that reports it. Touches nothing at run time.

use crate::net::{RtnlError, SocketError};
use crate::vrrp::RouterError;

use super::plan::PlanError;

/// Why the daemon could not start (or had to stop).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Socket(#[from] SocketError),
    #[error("{0}")]
    Bfd(#[from] crate::net::BfdSocketError),
    #[error("{0}")]
    Rtnl(#[from] RtnlError),
    #[error("{0}")]
    Router(#[from] RouterError),
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
    /// A task the daemon cannot run without ended: a unit (a panic, a
    /// bug) or the link monitor (the kernel's rtnetlink socket failed).
    /// Going on would leave VRRP half-blind, so the daemon stops, exits
    /// non-zero, and systemd (`Restart=on-failure`) starts it afresh.
    #[error("{0}; the daemon stopped so that it can be restarted")]
    TaskFailed(String),
    #[error("{0}")]
    Lvs(#[from] crate::lvs::BuildError),
    #[error("{0}")]
    Control(#[from] crate::control::server::ControlError),
    /// A master not in accept mode needs the nftables table.
    #[error("no_accept: {0}")]
    Nft(#[from] crate::net::NftError),
    /// A tracked `track_file` cannot be watched (its directory is missing,
    /// inotify is refused).
    #[error("{0}")]
    TrackFile(String),
    /// The process events connector of `vrrp_track_process` cannot be
    /// opened (no CONFIG_PROC_EVENTS, or no CAP_NET_ADMIN).
    #[error("{0}")]
    TrackProcess(String),
    /// A notify FIFO cannot be created or opened, or its script started.
    #[error("{0}")]
    Fifo(String),
    /// `startup_script` / `shutdown_script` cannot be run as configured.
    #[error("{0}")]
    Script(String),
}
