//! The typed configuration model: what a keepalived.conf *means* once parsed.
//!
//! Every value here is final. keepalived's defaults are filled in and its
//! inheritance is resolved (global_defs → vrrp_instance for GARP timers,
//! SMTP alerts and the VRRP version; virtual_server → real_server → checker
//! for `delay_loop`, `connect_timeout`, `retry`, `delay_before_retry`,
//! `warmup`, `inhibit_on_failure`, `alpha` and `virtualhost`), so a consumer
//! (the VRRP daemon, the IPVS reconciler, the health checkers, the mailer)
//! reads one field and never re-implements a default.
//!
//! The types do no I/O. Host-dependent defaults that need I/O (the host
//! name used for `router_id`, `smtp_helo_name` and `notification_email_from`)
//! are left as `None`, documented on the field, for the daemon to fill in.
//!
//! Units: every duration is a [`Duration`](std::time::Duration); in JSON it is written as a
//! number of seconds (fractional where needed, e.g. `0.1`).
//!
//! Each named item carries an [`Origin`] (file, line and column of its
//! keyword) so that the daemon can say where something it reports on was
//! configured; it is not part of the JSON output.
//!
//! Owns: the model's types and their defaults, one file per part of the
//! configuration. May not: read files, parse text, or depend on the rest
//! of `config` (the builder fills the model in; the model knows nothing
//! of it).

mod addresses;
mod bfd;
mod bgp;
mod checkers;
mod common;
mod global;
mod lvs;
mod opt_secs;
mod rules;
mod secs;
mod track_file;
mod track_process;
mod vmac;
mod vrrp;

use serde::{Deserialize, Serialize};

pub use addresses::*;
pub use bfd::*;
pub use bgp::*;
pub use checkers::*;
pub use common::*;
pub use global::*;
pub use lvs::*;
pub use rules::*;
pub use track_file::*;
pub use track_process::*;
pub use vmac::*;
pub use vrrp::*;

/// A whole configuration, in the order the items were written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `track_file` (and `vrrp_track_file`) blocks, in file order.
    pub track_files: Vec<TrackFile>,
    /// `bfd_instance` blocks.
    #[serde(default)]
    pub bfd_instances: Vec<BfdInstance>,
    /// `vrrp_track_process` blocks, in file order.
    #[serde(default)]
    pub track_processes: Vec<TrackProcess>,
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    pub vrrp_instances: Vec<VrrpInstance>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    /// `static_ipaddress { ... }`: addresses every node holds whatever its
    /// VRRP state, from start to exit (a `dev` is required).
    #[serde(default)]
    pub static_ipaddress: Vec<VirtualIpAddress>,
    /// `static_routes { ... }`: routes held from start to exit.
    #[serde(default)]
    pub static_routes: Vec<VirtualRoute>,
    /// `static_rules { ... }`: ip rules held from start to exit.
    #[serde(default)]
    pub static_rules: Vec<IpRule>,
    /// `garp_group` blocks, in file order.
    #[serde(default)]
    pub garp_groups: Vec<GarpGroup>,
}

impl Config {
    /// The `vrrp_script` called `name`.
    pub fn vrrp_script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }
    /// The `track_file` called `name`.
    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|s| s.name == name)
    }
    /// The `bfd_instance` called `name`.
    pub fn bfd_instance(&self, name: &str) -> Option<&BfdInstance> {
        self.bfd_instances.iter().find(|s| s.name == name)
    }
    /// The `vrrp_track_process` called `name`.
    pub fn track_process(&self, name: &str) -> Option<&TrackProcess> {
        self.track_processes.iter().find(|s| s.name == name)
    }
    /// The `vrrp_instance` called `name`.
    pub fn vrrp_instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|s| s.name == name)
    }
    /// The `vrrp_sync_group` called `name`.
    pub fn vrrp_sync_group(&self, name: &str) -> Option<&VrrpSyncGroup> {
        self.vrrp_sync_groups.iter().find(|s| s.name == name)
    }
    /// The sync group that lists instance `name`, if any.
    pub fn sync_group_of(&self, instance: &str) -> Option<&VrrpSyncGroup> {
        self.vrrp_sync_groups
            .iter()
            .find(|g| g.group.iter().any(|m| m == instance))
    }
    /// The `virtual_server_group` called `name`.
    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|s| s.name == name)
    }
}
