//! The tokio layer that connects the sans-IO logic to sockets, netlink and timers.

pub mod addrs;
pub mod bus;
pub mod lvs;
