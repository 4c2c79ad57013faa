//! The control socket: status as JSON, Prometheus metrics, state dumps.
//!
//! ```text
//!   daemon tasks ──(publish)──► watch::Sender<StatusSnapshot>
//!                                   │ borrow latest, never blocks the sender
//!        ┌──────────────────────────┼──────────────────────────┐
//!        ▼                          ▼                          ▼
//!  server::serve_control     server::serve_metrics     dump::spawn_sigusr1_dump
//!  /run/tandem/tandem.sock   opt-in TCP, /metrics      /run/tandem/tandem.data
//!  GET /status, /metrics,                              (+ .json)
//!  POST /reload ──► mpsc<ReloadRequest> ──► daemon
//!        ▲
//!  client (tandem status [--json])
//! ```
//!
//! * [`model`] — the [`model::StatusSnapshot`] structs, which are also the
//!   JSON schema of `GET /status`;
//! * [`server`] — hyper on the unix socket and on the metrics listener;
//! * [`client`] — what `tandem status` uses, and its table;
//! * [`metrics`] — Prometheus text rendering;
//! * [`dump`] — the keepalived-style dump written on SIGUSR1;
//! * [`sd_notify`] — READY/RELOADING/STOPPING/WATCHDOG for systemd.

pub mod client;
pub mod dump;
pub mod metrics;
pub mod model;
pub mod sd_notify;
pub mod server;
