//! The control socket: status as JSON, Prometheus metrics, state dumps.
//!
//! ```text
//!   daemon tasks ──(publish)──► watch::Sender<StatusSnapshot>
//!                                   │ borrow latest, never blocks the sender
//!        ┌─────────────────────┬────┴───────────────┬──────────────────────┐
//!        ▼                     ▼                    ▼                      ▼
//!  server::serve_control  server::serve_metrics  web::serve_status   dump::spawn_sigusr1_dump
//!  /run/tandem/tandem.sock opt-in TCP, /metrics  opt-in TCP,         /run/tandem/tandem.data
//!  GET /status, /metrics,                        loopback unless     (+ .json)
//!  POST /reload ──► mpsc<ReloadRequest>          allowed: GET /
//!        ▲              ──► daemon               (page), /status
//!  client (tandem status [--json])
//! ```
//!
//! * [`model`] — the [`model::StatusSnapshot`] structs, which are also the
//!   JSON schema of `GET /status`;
//! * [`server`] — hyper on the unix socket and on the metrics listener;
//! * [`client`] — what `tandem status` uses, and its table;
//! * [`metrics`] — Prometheus text rendering;
//! * [`web`] — the opt-in, read-only status listener (`--status-listen`):
//!   `/status` JSON and the HTML [`page`] at `/`;
//! * [`dump`] — the keepalived-style dump written on SIGUSR1;
//! * [`dbus`] — keepalived's D-Bus paths, state numbers and stats file
//!   (`enable_dbus`; the bus connection is `daemon::dbus`);
//! * [`sd_notify`] — READY/RELOADING/STOPPING/WATCHDOG for systemd.
//!
//! Owns the daemon's window for operators and systemd. May not change the
//! daemon's state: it reads snapshots and forwards reload requests; it never
//! acts on VRRP, IPVS or the kernel.

//!
//! How the daemon wires it (the `RunArgs::control` options of `tandem run`):
//!
//! 1. `let (status_tx, status_rx) = model::status_channel(StatusSnapshot::new(router_id))`;
//!    update it with `status_tx.send_modify(..)` on every transition, check
//!    result and counter batch, and copy `Mailer::status()` into `.mail`;
//! 2. `dump::spawn_sigusr1_dump(args.dump_file, status_rx.clone())` early,
//!    so SIGUSR1 never takes the default action (terminate);
//! 3. `server::bind_control_socket(&args.control_socket, DEFAULT_SOCKET_MODE)`
//!    then spawn `server::serve_control(listener, ControlState { status,
//!    reload: Some(reload_tx) }, shutdown)`; answer each `ReloadRequest` on
//!    its `reply` with a `ReloadOutcome`;
//! 4. if `args.metrics_listen` is set, `server::bind_metrics` and spawn
//!    `server::serve_metrics`;
//! 5. if `args.status_listen` is set (checked by
//!    `web::check_listen_address`), `web::bind_status` and spawn
//!    `web::serve_status`;
//! 6. `sd_notify::Notifier::from_env().ready(..)` once the configuration is
//!    applied, `.watchdog()` every `sd_notify::watchdog_interval()` from the
//!    main loop, `.reloading()` / `.ready(..)` around a reload,
//!    `.stopping()` on shutdown.

pub mod client;
pub mod dbus;
pub mod dump;
pub mod metrics;
pub mod model;
pub mod page;
pub mod sd_notify;
pub mod server;
pub mod web;
