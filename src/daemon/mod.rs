//! The tokio layer that connects the sans-IO logic to sockets, netlink and
//! timers: `tandem run`. This file is only the façade and defines nothing;
//! the tasks, channels and who owns which state are drawn in
//! docs/architecture.md ("The running daemon").
//!
//! - start-up and main loop: `startup` ([`run`]) builds and starts
//!   everything, `main_loop` waits for signals, reloads and failures, then
//!   stops in order; `control_socket` serves the status; [`reload`] decides
//!   and applies a reload, `reload_time` schedules one (`reload_time_file`); `options` and `error` are shared by all;
//!   `logging` sets up the log (journald priorities under systemd).
//! - the VRRP side: `running` ([`Running`]) holds the units;
//!   [`unit`](mod@unit) is one unit's task, the only owner of its protocol
//!   state; [`rx`] receives adverts, `feeds` tracks links and
//!   `vrrp_script`s, `pool` holds the shared sockets, [`addrs`] the VIPs;
//!   `bfd` runs the `bfd_instance` sessions that `track_bfd` follows;
//!   [`configure`] and [`plan`] resolve keepalived.conf against the kernel
//!   before a socket is opened (`plan_trackers` the instances' trackers); `vmac` names and checks the instances'
//!   `use_vmac` / `use_ipvlan` links, `vmac_set` creates and removes them.
//! - the LVS side: [`lvs`] runs the checks' verdicts and the VRRP roles
//!   into the IPVS table, notify scripts and mails; [`sync`] runs the
//!   kernel's connection-sync daemons (`lvs_sync_daemon`) after the role.
//! - shared by both: [`bus`] (role changes, the VIP gate, the track files'
//!   values), `track_file` (`init_file`, and the inotify watch that keeps
//!   those values) and [`status`] (the snapshot the control socket serves;
//!   `ipvs_stats` adds the kernel's counters for `enable_snmp_checker`).
//!
//! A configuration that cannot run fails at once with a message naming
//! what is missing: everything is resolved against the kernel, and every
//! socket opened, before anything starts.

pub mod addrs;
mod bfd;
mod bird;
pub mod bus;
pub mod configure;
mod control_socket;
mod dbus;
mod dynamic;
mod error;
mod feeds;
mod fifo;
mod firewall;
mod garp_delays;
mod ipvs_stats;
mod local_igmp;
mod logging;
pub mod lvs;
mod main_loop;
mod netconf;
mod options;
pub mod plan;
mod plan_trackers;
mod pool;
pub mod reload;
mod reload_time;
mod running;
pub mod rx;
pub mod sched;
mod sloppy;
mod snmp;
mod start_stop;
mod startup;
mod statics;
pub mod status;
pub mod sync;
#[cfg(test)]
mod testing;
mod track_file;
mod track_process;
pub mod unit;
mod vmac;
mod vmac_set;

pub use bus::{Bus, Role, RoleChange, Subject};
pub use error::DaemonError;
pub use logging::init_logging;
pub use options::{ConfigSource, ControlOptions, RunOptions};
pub use running::{Running, start};
pub use startup::{run, run_with};
pub use status::StatusHub;
pub use unit::UnitReporting;
