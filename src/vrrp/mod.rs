//! VRRP (RFC 3768, RFC 5798, RFC 9568): wire format and the sans-IO state
//! machine.
//!
//! | file            | what                                                        |
//! |-----------------|-------------------------------------------------------------|
//! | `packet.rs`     | codec: checked view + owned repr, checksums, §7.1 checks    |
//! | `params.rs`     | one instance's configuration, keepalived's adjustments      |
//! | `event.rs`      | events in, actions out, states and reasons                  |
//! | `instance.rs`   | one VRID: Initialize / Backup / Master / Fault              |
//! | `sync_group.rs` | `vrrp_sync_group` and [`Router`], all instances of a node  |
//! | `track.rs`      | tracker weights, file values, effective priority, rise/fall |
//! | `counters.rs`   | RFC 6527 statistics                                         |
//! | `garp_delay.rs` | keepalived's per-interface gap between gratuitous ARPs/NAs  |
//! | `time.rs`       | the caller-owned clock                                      |
//!
//! Nothing here does I/O or reads a clock: the daemon decodes packets with
//! [`packet::decode_ipv4`] / [`packet::decode_ipv6`], feeds [`Event`]s with
//! the current [`Time`], and carries out the [`Action`]s. The same code runs
//! under `tests/vrrp_sim.rs`, a simulated network with a virtual clock.
//!
//! Owns the protocol: wire format, the per-VRID state machine, sync groups,
//! tracking and the RFC 6527 counters. May not do I/O: no sockets, no clock,
//! no tokio, and no `crate::config` (the daemon maps the configuration onto
//! [`Params`]).

pub mod ah;
pub mod counters;
pub mod event;
pub mod garp_delay;
pub mod instance;
pub mod packet;
pub mod params;
pub mod sync_group;
pub mod time;
pub mod track;

pub use counters::{InstanceCounters, NewMasterReason, RxErrorCounters};
pub use event::{Action, Event, Reason, State};
pub use instance::{Instance, InstanceStatus};
pub use packet::{
    Auth, CodecOptions, Envelope, Family, Packet, Received, RxError, TxError, Version, VrrpRepr,
};
pub use params::{InitialState, Params, ParamsError, ParamsWarning, ReconfigureError};
pub use sync_group::{InstanceId, Router, RouterError};
pub use time::Time;
pub use track::{FileEffect, ScriptState, TrackFileParams, TrackProcessParams, TrackerParams};
