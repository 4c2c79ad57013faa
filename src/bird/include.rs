//! The include file tandem owns in BIRD's configuration: one static
//! protocol per address family (`NAME4`, `NAME6`), one route per VIP
//! announced. BIRD's BGP protocols export `where proto = "NAME4"`.
//!
//! The routes point at a device (`via "DEV"`) when a liveness device is
//! given: BIRD keeps a device route only while the device is up, so a
//! device that lives exactly as long as tandem (a TUN device whose file
//! descriptor tandem holds) withdraws the routes when tandem dies. Without
//! one they are `unreachable` routes (BGP announces them all the same,
//! with the session's own address as next hop).
//!
//! Owns: the text. May not: write it (the daemon does, atomically).

use std::collections::BTreeSet;
use std::net::IpAddr;

/// The include file for `protocol` announcing `vips`.
pub fn render(protocol: &str, vips: &BTreeSet<IpAddr>, device: Option<&str>) -> String {
    let mut out = String::from(
        "# Written by tandem (tandem_bgp): the VIPs this node announces.\n\
         # Do not edit: tandem rewrites it on every quorum change.\n",
    );
    for (suffix, v4) in [("4", true), ("6", false)] {
        let channel = if v4 { "ipv4" } else { "ipv6" };
        out.push_str(&format!(
            "protocol static {protocol}{suffix} {{\n  {channel};\n"
        ));
        for vip in vips.iter().filter(|a| a.is_ipv4() == v4) {
            let len = if v4 { 32 } else { 128 };
            match device {
                Some(dev) => out.push_str(&format!("  route {vip}/{len} via \"{dev}\";\n")),
                None => out.push_str(&format!("  route {vip}/{len} unreachable;\n")),
            }
        }
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_route_per_vip_in_its_family_s_protocol() {
        let vips: BTreeSet<IpAddr> = ["203.0.113.10", "2001:db8::10", "203.0.113.11"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let text = render("tandem", &vips, None);
        assert!(text.ends_with(
            "protocol static tandem4 {\n  ipv4;\n  route 203.0.113.10/32 unreachable;\n  route 203.0.113.11/32 unreachable;\n}\n\
             protocol static tandem6 {\n  ipv6;\n  route 2001:db8::10/128 unreachable;\n}\n"
        ), "{text}");
    }

    #[test]
    fn nothing_announced_is_two_empty_protocols() {
        let text = render("lb", &BTreeSet::new(), Some("tandem-live"));
        assert!(
            text.ends_with(
                "protocol static lb4 {\n  ipv4;\n}\nprotocol static lb6 {\n  ipv6;\n}\n"
            )
        );
    }

    #[test]
    fn a_liveness_device_makes_device_routes() {
        let vips: BTreeSet<IpAddr> = ["203.0.113.10".parse().unwrap()].into();
        let text = render("t", &vips, Some("tandem-live"));
        assert!(
            text.contains("  route 203.0.113.10/32 via \"tandem-live\";\n"),
            "{text}"
        );
    }
}
