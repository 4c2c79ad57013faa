//! The model of tandem's own `tandem_bgp` block (a virtual_server's
//! extension; keepalived has nothing like it): every balancer active for
//! the virtual server's address, which BIRD announces over BGP while the
//! local virtual server has its quorum (docs/scale-out.md).
//!
//! Owns: that type and its defaults. May not: know BIRD's syntax (the
//! `bird` room writes it) or read anything.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::common::Origin;
use super::secs;

/// Debian's bird2 listens here (`/run/bird/bird.ctl`).
pub const DEFAULT_BIRD_SOCKET: &str = "/run/bird/bird.ctl";
/// The static protocols tandem writes are named `tandem4` and `tandem6`.
pub const DEFAULT_BGP_PROTOCOL: &str = "tandem";
/// The TUN device whose life is tandem's: BIRD's routes point at it.
pub const DEFAULT_LIVENESS_DEVICE: &str = "tandem-bgp";
/// Between the withdrawal on SIGTERM and the end of forwarding: long
/// enough for the router to hear the BGP UPDATE and move new flows.
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(2);

/// `tandem_bgp { ... }` in a virtual_server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpAnnounce {
    /// `bird_socket PATH`: BIRD's control socket, where tandem asks for
    /// `configure` after each change of the include file.
    pub bird_socket: String,
    /// `include_file PATH`: the file tandem owns and rewrites; BIRD's
    /// configuration includes it (`include "PATH";`). Required.
    pub include_file: String,
    /// `protocol NAME`: the include file's static protocols are
    /// `NAME4` (IPv4) and `NAME6` (IPv6), for the BGP export filter.
    pub protocol: String,
    /// `drain_delay SECS`: on SIGTERM, how long the node keeps forwarding
    /// after the withdrawal.
    #[serde(with = "secs")]
    pub drain_delay: Duration,
    /// `liveness_device NAME`: the TUN device tandem holds open while it
    /// runs; the routes go `via "NAME"`, so BIRD withdraws them when the
    /// kernel removes the device at tandem's death (kill -9 included).
    pub liveness_device: String,
    #[serde(skip)]
    pub origin: Origin,
}
