//! BFD, Bidirectional Forwarding Detection (RFC 5880) over single-hop
//! UDP (RFC 5881): the Control packet codec and the sans-IO session state
//! machine behind keepalived's `bfd_instance`.
//!
//! | file               | what                                                       |
//! |--------------------|------------------------------------------------------------|
//! | `packet.rs`        | Control packet codec (§4.1) and the session-less checks of §6.8.6 |
//! | `session.rs`       | one session: Down / Init / Up / AdminDown, timers, Poll / Final |
//! | `table.rs`         | all sessions of a node, demultiplexing, discriminators, drop counts |
//! | `session_tests.rs` | two sessions back to back on a virtual clock               |
//!
//! The daemon (`daemon::bfd`) owns the UDP sockets: it feeds
//! [`Sessions::receive`] with each datagram, its addresses and its TTL,
//! sleeps until [`Sessions::next_deadline`], sends what
//! [`Sessions::poll_transmit`] returns, and tells the VRRP instances that
//! track a session when it comes Up or leaves Up.
//!
//! Owns the protocol; may not do I/O, read a clock or know the
//! configuration (the daemon maps `bfd_instance` onto [`SessionParams`]).

pub mod packet;
pub mod session;
#[cfg(test)]
mod session_tests;
pub mod table;

pub use packet::{ControlPacket, Malformed, State};
pub use session::{Refused, Session, SessionCounters, SessionParams, SessionStatus, Transition};
pub use table::{Dropped, SessionConfig, Sessions, TableCounters};
