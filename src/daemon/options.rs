//! The options of `tandem run` that are not in keepalived.conf:
//! [`RunOptions`], [`ControlOptions`], [`ConfigSource`].
//!
//! Plain data, filled in by the command line (or a test) and read by the
//! start-up and the reload; nothing here opens a socket or starts a task.

use std::time::Duration;

use crate::notify::script;

use super::bus::Bus;
use super::unit::UnitReporting;

/// Where the daemon serves its state (`tandem run --control-socket ...`).
#[derive(Debug, Clone)]
pub struct ControlOptions {
    /// The unix socket for `tandem status` / `tandem reload` (mode 0600).
    pub socket: std::path::PathBuf,
    /// Prometheus listener (`--metrics-listen`), off when `None`.
    pub metrics_listen: Option<String>,
    /// The read-only status page and `/status` JSON over TCP
    /// (`--status-listen`, already checked to be loopback unless the
    /// operator allowed otherwise), off when `None`.
    pub status_listen: Option<std::net::SocketAddr>,
    /// Where SIGUSR1 writes the keepalived-style dump.
    pub dump_file: std::path::PathBuf,
}

/// The configuration file and how to read it again on reload.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub file: std::path::PathBuf,
    pub load: crate::config::LoadOptions,
}

/// Options of `tandem run` that are not in keepalived.conf.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Limit on one notify script run.
    pub script_timeout: Duration,
    /// Limit on the whole graceful shutdown.
    pub shutdown_timeout: Duration,
    /// The bus to publish role changes on. Give one to subscribe before
    /// anything runs (no change is missed); `None` makes a new one
    /// ([`Running::bus`](super::Running::bus)).
    pub bus: Option<Bus>,
    /// Status snapshot and e-mail for the VRRP units.
    pub reporting: UnitReporting,
    /// The control socket, metrics and dump; `None` serves nothing.
    pub control: Option<ControlOptions>,
    /// Where the configuration came from, for reload and the status.
    pub source: Option<ConfigSource>,
    /// `vrrp_startup_delay`: no VRRP instance may become master before
    /// this long after the start (zero: no delay).
    pub vrrp_startup_delay: Duration,
    /// `log_unknown_vrids`: log each advert for a VRID no instance on its
    /// interface runs (otherwise only counted).
    pub log_unknown_vrids: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            script_timeout: script::DEFAULT_TIMEOUT,
            shutdown_timeout: Duration::from_secs(60),
            bus: None,
            reporting: UnitReporting::default(),
            control: None,
            source: None,
            vrrp_startup_delay: Duration::ZERO,
            log_unknown_vrids: false,
        }
    }
}
