//! The IPVS generic-netlink messages (`include/uapi/linux/ip_vs.h`, the
//! "IPVS Generic Netlink interface definitions"), defined on the
//! netlink-packet-core / netlink-packet-generic traits.
//!
//! Two layers:
//! - [`IpvsMessage`] with attribute enums ([`CmdAttr`], [`SvcAttr`],
//!   [`DestAttr`], [`DaemonAttr`], [`StatsAttr`]): one variant per attribute
//!   number of the header, lossless in both directions;
//! - conversions between those attribute lists and the table types of
//!   [`super::types`], where the layouts are interpreted: addresses are a
//!   16-byte `union nf_inet_addr` cut by family, ports are big-endian, the
//!   netmask is an IPv4 mask or an IPv6 prefix length, counters come as
//!   `STATS` (32/64-bit mix) or `STATS64`.
//!
//! | file         | what it does                                                  |
//! |--------------|---------------------------------------------------------------|
//! | `attr.rs`    | commands, attribute numbers and enums, writing them           |
//! | `parse.rs`   | reading them back, strict about lengths                       |
//! | `table.rs`   | table types to attributes and back                            |
//! | `request.rs` | one constructor per request, one reader per reply             |
//!
//! Owns the encoding; may not open a socket (that is the client's).

mod attr;
mod parse;
mod request;
mod table;

pub use attr::{
    CmdAttr, DaemonAttr, DestAttr, IP_VS_IFNAME_MAXLEN, IP_VS_SCHEDNAME_MAXLEN, IPVS_GENL_NAME,
    IPVS_GENL_VERSION, IpvsCmd, IpvsMessage, StatsAttr, SvcAttr, cmd_attr, daemon_attr, dest_attr,
    info_attr, stats_attr, svc_attr,
};
pub use table::{
    addr_from_union, addr_union, daemon_attrs, daemon_from_attrs, dest_attrs, dest_from_attrs,
    dest_key_attrs, service_attrs, service_from_attrs, service_key_attrs, stats_from_attrs,
};
