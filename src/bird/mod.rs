//! BIRD 2 as tandem's BGP speaker (docs/scale-out.md): tandem does not
//! speak BGP itself; it tells the BIRD beside it which VIPs to announce.
//!
//! - [`include`]: the include file (two static protocols holding one
//!   route per announced VIP), rendered from a set of addresses: sans-IO.
//! - [`control`]: BIRD's control socket (what `birdc` speaks): ask for
//!   `configure` and read the reply.
//!
//! Owns: BIRD's syntax and its control protocol. May not: decide what is
//! announced (the daemon follows the LVS task's quorum for that).

pub mod control;
pub mod include;

pub use control::{BirdError, configure};
pub use include::render;
