//! Which VRRP instance decides whether a virtual server is in this node's
//! IPVS table.
//!
//! Both balancers run every check all the time, so a backup knows the state
//! of every real server when it takes over; but only the master has the
//! virtual servers in its table. The rule, fixed at start-up:
//!
//! 1. **No `vrrp_instance` at all** (a single balancer, like the seed): every
//!    virtual server is always programmed.
//! 2. A virtual server whose address (any address, for a
//!    `virtual_server_group`) is one of an instance's VIPs
//!    (`virtual_ipaddress` or `virtual_ipaddress_excluded`) is *governed* by
//!    that instance: it is programmed while the instance is MASTER and
//!    withdrawn otherwise. If several instances hold its address it is
//!    programmed while any of them is MASTER. Instances in a
//!    `vrrp_sync_group` change state together, so a virtual server on the
//!    outer VIP also follows the inner gateway VIP's instance.
//! 3. A virtual server whose address is no instance's VIP (including
//!    fwmark services) is always programmed, as keepalived does for every
//!    virtual server; the start-up log warns about it, because on a pair
//!    both nodes will then have it.
//!
//! Owns the mastership rule; plain values, no I/O.

use std::net::IpAddr;

use super::state::VsIndex;

/// A VRRP instance as far as the rule cares: its name and its VIPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceVips {
    pub name: String,
    pub vips: Vec<IpAddr>,
}

/// What decides one virtual server's presence in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Governor {
    /// Programmed whatever the VRRP state (rules 1 and 3).
    Always,
    /// Programmed while any of these instances is MASTER (rule 2).
    Instances(Vec<String>),
}

/// The mapping of every virtual server to its governor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governance {
    per_vs: Vec<Governor>,
    any_instance: bool,
}

impl Governance {
    /// Apply the rule. `vs_addrs[i]` are the addresses of virtual server
    /// `i` (empty for a fwmark service).
    pub fn new(instances: &[InstanceVips], vs_addrs: &[Vec<IpAddr>]) -> Self {
        let per_vs = vs_addrs
            .iter()
            .map(|addrs| {
                if instances.is_empty() {
                    return Governor::Always;
                }
                let names: Vec<String> = instances
                    .iter()
                    .filter(|i| addrs.iter().any(|a| i.vips.contains(a)))
                    .map(|i| i.name.clone())
                    .collect();
                if names.is_empty() {
                    Governor::Always
                } else {
                    Governor::Instances(names)
                }
            })
            .collect();
        Self {
            per_vs,
            any_instance: !instances.is_empty(),
        }
    }

    pub fn governor(&self, vs: VsIndex) -> Option<&Governor> {
        self.per_vs.get(vs.0)
    }

    /// Whether virtual server `vs` belongs in the table, given which
    /// instances are MASTER now.
    pub fn programs(&self, vs: VsIndex, is_master: impl Fn(&str) -> bool) -> bool {
        match self.per_vs.get(vs.0) {
            Some(Governor::Always) => true,
            Some(Governor::Instances(names)) => names.iter().any(|n| is_master(n)),
            None => false,
        }
    }

    /// The instances that govern at least one virtual server.
    pub fn governing(&self) -> std::collections::BTreeSet<String> {
        self.per_vs
            .iter()
            .filter_map(|g| match g {
                Governor::Instances(names) => Some(names.iter().cloned()),
                Governor::Always => None,
            })
            .flatten()
            .collect()
    }

    /// One line per virtual server for the start-up log; `names[i]` is how
    /// virtual server `i` is shown. Lines for rule 3 start with "warning:".
    pub fn describe(&self, names: &[String]) -> Vec<String> {
        self.per_vs
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let name = names.get(i).map(String::as_str).unwrap_or("?");
                match g {
                    Governor::Always if !self.any_instance => {
                        format!("virtual_server {name}: always programmed (no vrrp_instance)")
                    }
                    Governor::Always => format!(
                        "warning: virtual_server {name}: address is no vrrp_instance's VIP, \
                         always programmed (on every node)"
                    ),
                    Governor::Instances(n) => format!(
                        "virtual_server {name}: programmed while MASTER of {}",
                        n.join(" or ")
                    ),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn no_vrrp_instance_always_programs() {
        let g = Governance::new(&[], &[vec![ip("192.0.2.2")], vec![]]);
        assert!(g.programs(VsIndex(0), |_| false));
        assert!(g.programs(VsIndex(1), |_| false));
        assert!(g.describe(&["a".into(), "b".into()])[0].contains("no vrrp_instance"));
    }

    #[test]
    fn vs_follows_the_instance_holding_its_address() {
        let inst = vec![
            InstanceVips {
                name: "VI_OUT".into(),
                vips: vec![ip("192.0.2.2")],
            },
            InstanceVips {
                name: "VI_IN".into(),
                vips: vec![ip("198.51.100.1")],
            },
        ];
        let g = Governance::new(&inst, &[vec![ip("192.0.2.2")], vec![ip("203.0.113.9")]]);
        assert_eq!(
            g.governor(VsIndex(0)),
            Some(&Governor::Instances(vec!["VI_OUT".into()]))
        );
        assert!(g.programs(VsIndex(0), |n| n == "VI_OUT"));
        assert!(!g.programs(VsIndex(0), |n| n == "VI_IN"));
        assert!(!g.programs(VsIndex(0), |_| false));
        // Not any instance's VIP: always, with a warning at start.
        assert!(g.programs(VsIndex(1), |_| false));
        let lines = g.describe(&["192.0.2.2:80".into(), "203.0.113.9:80".into()]);
        assert!(lines[0].contains("MASTER of VI_OUT"), "{lines:?}");
        assert!(lines[1].starts_with("warning:"), "{lines:?}");
        // Out of range: never.
        assert!(!g.programs(VsIndex(7), |_| true));
    }

    #[test]
    fn group_address_in_several_instances_any_master() {
        let inst = vec![
            InstanceVips {
                name: "A".into(),
                vips: vec![ip("2001:db8::1")],
            },
            InstanceVips {
                name: "B".into(),
                vips: vec![ip("2001:db8::2")],
            },
        ];
        let g = Governance::new(&inst, &[vec![ip("2001:db8::1"), ip("2001:db8::2")]]);
        assert!(g.programs(VsIndex(0), |n| n == "B"));
        assert!(g.programs(VsIndex(0), |n| n == "A"));
        assert!(!g.programs(VsIndex(0), |_| false));
    }
}
