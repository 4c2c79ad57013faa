//! `use_vmac` / `use_ipvlan` resolved against the kernel's links: the
//! name of each instance's vmac, what it must look like, and whether the
//! link of that name is it, must be replaced, or is in the way.
//!
//! keepalived's rules: a vmac configured without a name takes the name of
//! a matching link already on its base (left by an earlier run), else the
//! first free one of PREFIX.VRID, PREFIX1.VRID, ... (IPv6 tries PREFIX6
//! second), `vmac_prefix` being PREFIX (default "vrrp"); a macvlan's MAC
//! is 00-00-5E-00-01-VRID (IPv4) or 00-00-5E-00-02-VRID (IPv6) unless
//! given (RFC 5798 §7.3).
//!
//! Pure: it reads a configuration and a [`Kernel`] snapshot; the links are
//! created by `vmac_set`.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::config::{self, IpvlanMode, VmacKind, VrrpInstance};
use crate::net::vmac::{
    IPVLAN_F_PRIVATE, IPVLAN_F_VEPA, IPVLAN_MODE_L2, MACVLAN_MODE_PRIVATE, NewVlan,
};
use crate::net::{IfAddress, LinkInfo, Scope, VlanInfo};

use super::plan::{Kernel, PlanError, VmacPlan};

/// The longest interface name Linux takes.
const IFNAME_MAX: usize = 15;

/// What the link named as a vmac is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No such link: create it.
    Absent,
    /// The vmac as planned, at this index.
    Matching(u32),
    /// A macvlan or ipvlan that is not as planned (another base, MAC or
    /// mode): remove it and create the right one, as keepalived does.
    Mismatched(u32),
}

/// The RFC 5798 virtual MAC of a VRID.
pub fn virtual_mac(vrid: u8, v6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if v6 { 0x02 } else { 0x01 }, vrid]
}

/// Whether `l` is the link `link` describes, on base `base`.
fn matches(l: &LinkInfo, base: u32, link: &NewVlan) -> bool {
    l.parent == Some(base)
        && match (link, l.vlan) {
            (NewVlan::Macvlan { mac }, Some(VlanInfo::Macvlan { mode })) => {
                mode == MACVLAN_MODE_PRIVATE && l.mac == Some(*mac)
            }
            (NewVlan::Ipvlan { flags }, Some(VlanInfo::Ipvlan { mode, flags: f })) => {
                mode == IPVLAN_MODE_L2 && f == *flags
            }
            _ => false,
        }
}

/// What the link named like the planned vmac is, or why it is in the way.
pub fn found(v: &VmacPlan, kernel: &Kernel) -> Result<Found, String> {
    match kernel.link(&v.name) {
        None => Ok(Found::Absent),
        Some(l) if matches(l, v.base, &v.link) => Ok(Found::Matching(l.index)),
        Some(l) if l.vlan.is_some() => Ok(Found::Mismatched(l.index)),
        Some(_) => Err(format!(
            "interface {} exists and is not a macvlan or ipvlan; give use_vmac / use_ipvlan another name",
            v.name
        )),
    }
}

/// `PREFIX` + `num` + `.VRID`, the prefix cut so that it fits IFNAMSIZ.
fn generated_name(prefix: &str, num: Option<u32>, vrid: u8) -> String {
    let tail = match num {
        Some(n) => format!("{n}.{vrid}"),
        None => format!(".{vrid}"),
    };
    let keep = IFNAME_MAX.saturating_sub(tail.len()).min(prefix.len());
    let mut cut = keep;
    while !prefix.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{tail}", &prefix[..cut])
}

/// The numbers keepalived tries after PREFIX.VRID: 1, 2, ... (IPv6: 6
/// first, then 1, 2, ... skipping 6).
fn suffixes(v6: bool) -> impl Iterator<Item = u32> {
    let first = v6.then_some(6);
    first
        .into_iter()
        .chain((1..1000).filter(move |n| !(v6 && *n == 6)))
}

/// The names already spoken for: every name configured on any instance.
pub fn configured_names(config: &config::Config) -> HashSet<String> {
    config
        .vrrp_instances
        .iter()
        .filter_map(|i| i.vmac.as_ref().and_then(|v| v.name.clone()))
        .collect()
}

/// Resolve an instance's vmac on its base link. `taken` holds the names
/// other instances use (configured, or chosen before this one); the
/// chosen name is added.
pub fn plan_vmac(
    config: &config::Config,
    inst: &VrrpInstance,
    vmac: &config::Vmac,
    base: &LinkInfo,
    kernel: &Kernel,
    taken: &mut HashSet<String>,
) -> Result<VmacPlan, PlanError> {
    let v6 = inst.family == config::AddressFamily::Inet6;
    let vrid = inst.virtual_router_id;
    let link = match &vmac.kind {
        VmacKind::Macvlan { mac } => NewVlan::Macvlan {
            mac: mac.unwrap_or_else(|| virtual_mac(vrid, v6)),
        },
        VmacKind::Ipvlan { mode, .. } => NewVlan::Ipvlan {
            flags: match mode {
                IpvlanMode::Bridge => 0,
                IpvlanMode::Private => IPVLAN_F_PRIVATE,
                IpvlanMode::Vepa => IPVLAN_F_VEPA,
            },
        },
    };
    let name = match &vmac.name {
        Some(n) => n.clone(),
        None => choose_name(
            &config.global_defs.vmac_prefix,
            vrid,
            v6,
            base.index,
            &link,
            kernel,
            taken,
        ),
    };
    taken.insert(name.clone());
    let plan = VmacPlan {
        name,
        base: base.index,
        base_ifname: base.name.clone(),
        group: base.group,
        link,
        v6,
        xmit_base: vmac.xmit_base,
        disable_ipv6: !v6
            && !inst
                .virtual_ipaddress
                .iter()
                .chain(&inst.virtual_ipaddress_excluded)
                .any(|a| a.address.is_ipv6()),
        address: None,
        index: None,
    };
    adopt_found(plan, inst, kernel)
}

/// A link of the plan's name already there: adopted when it is what the
/// plan would make, refused when it is something else.
fn adopt_found(
    mut plan: VmacPlan,
    inst: &VrrpInstance,
    kernel: &Kernel,
) -> Result<VmacPlan, PlanError> {
    plan.index = match found(&plan, kernel) {
        Ok(Found::Matching(i)) => Some(i),
        Ok(_) => None,
        Err(what) => {
            return Err(PlanError::Invalid {
                origin: inst.origin.to_string(),
                instance: inst.name.clone(),
                what,
            });
        }
    };
    Ok(plan)
}

/// `use_vmac_addr`: a private macvlan on each other interface a VIP or
/// excluded VIP names with `dev` (one per interface), as keepalived makes
/// them: `use_vmac`'s MAC if given, else the RFC 5798 one; named from
/// `vmac_addr_prefix`, else `vmac_prefix`, adopting a matching link left
/// on that interface. (dev, plan) in the VIPs' order.
pub fn plan_addr_vmacs(
    config: &config::Config,
    inst: &VrrpInstance,
    kernel: &Kernel,
    taken: &mut HashSet<String>,
) -> Result<Vec<(String, VmacPlan)>, PlanError> {
    let mut out: Vec<(String, VmacPlan)> = Vec::new();
    if !inst.use_vmac_addr {
        return Ok(out);
    }
    let v6 = inst.family == config::AddressFamily::Inet6;
    let vrid = inst.virtual_router_id;
    let mac = match inst.vmac.as_ref().map(|v| &v.kind) {
        Some(VmacKind::Macvlan { mac: Some(m) }) => *m,
        _ => virtual_mac(vrid, v6),
    };
    let link = NewVlan::Macvlan { mac };
    let g = &config.global_defs;
    let prefix = g.vmac_addr_prefix.as_deref().unwrap_or(&g.vmac_prefix);
    let devs = inst
        .virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
        .filter_map(|a| a.dev.as_ref());
    for dev in devs {
        if *dev == inst.interface || out.iter().any(|(d, _)| d == dev) {
            continue;
        }
        // A missing link: the VIP's own check reports it.
        let Some(base) = kernel.link(dev) else {
            continue;
        };
        let name = choose_name(prefix, vrid, v6, base.index, &link, kernel, taken);
        taken.insert(name.clone());
        let plan = VmacPlan {
            name,
            base: base.index,
            base_ifname: base.name.clone(),
            group: base.group,
            link: link.clone(),
            v6,
            xmit_base: false,
            disable_ipv6: !v6,
            address: None,
            index: None,
        };
        out.push((dev.clone(), adopt_found(plan, inst, kernel)?));
    }
    Ok(out)
}

/// Put the addresses on `use_vmac_addr`'s macvlans: each one whose link is
/// a macvlan's `dev` moves to the macvlan (index 0 while it is still to
/// be made: such a plan is only read for its vmacs).
pub fn move_to_addr_vmacs(
    vips: &mut super::addrs::VipSet,
    kernel: &Kernel,
    vmacs: &[(String, VmacPlan)],
) {
    for a in &mut vips.addresses {
        let on =
            |(dev, _): &&(String, VmacPlan)| kernel.link(dev).is_some_and(|l| l.index == a.ifindex);
        if let Some((_, v)) = vmacs.iter().find(on) {
            a.ifindex = v.index.unwrap_or(0);
        }
    }
}

/// A name for a vmac configured without one: a matching link already on
/// the base, else the first free generated name.
fn choose_name(
    prefix: &str,
    vrid: u8,
    v6: bool,
    base: u32,
    link: &NewVlan,
    kernel: &Kernel,
    taken: &HashSet<String>,
) -> String {
    if let Some(l) = kernel
        .links
        .iter()
        .find(|l| matches(l, base, link) && !taken.contains(&l.name))
    {
        return l.name.clone();
    }
    std::iter::once(None)
        .chain(suffixes(v6).map(Some))
        .map(|n| generated_name(prefix, n, vrid))
        .find(|n| !taken.contains(n) && kernel.link(n).is_none())
        .unwrap_or_else(|| generated_name(prefix, None, vrid))
}

/// The address a vmac carries besides the VIPs: an ipvlan's configured
/// address, or, for an IPv6 macvlan that sends adverts itself, the
/// link-local source (the kernel gives it none: addr_gen_mode none).
pub fn own_address(vmac: &config::Vmac, plan: &VmacPlan, src: IpAddr) -> Option<IfAddress> {
    let index = plan.index.unwrap_or(0);
    match &vmac.kind {
        VmacKind::Ipvlan {
            address: Some((a, len)),
            ..
        } => Some(IfAddress {
            prefix_len: *len,
            nodad: a.is_ipv6(),
            ..IfAddress::host(index, *a)
        }),
        VmacKind::Macvlan { .. } if plan.v6 && !plan.xmit_base => Some(IfAddress {
            prefix_len: 64,
            nodad: true,
            scope: Scope::Link,
            ..IfAddress::host(index, src)
        }),
        _ => None,
    }
}

/// What keepalived changes when the first IPv4 vmac comes and
/// `net.ipv4.conf.all.rp_filter` is on: the kernel filters with the
/// larger of `all` and a link's own value, so a vmac's 0 counts only with
/// `all` at 0. `all` goes to 0 and every link, and `default` (for links
/// made later), is raised to the old `all`, so no other link filters less
/// than before. What was changed is put back at exit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpFilterChange {
    /// `all`'s value before (it is set to 0).
    pub all: i32,
    /// `default`'s value before, when it was raised.
    pub default: Option<i32>,
    /// (link index, its value before) for each link raised.
    pub links: Vec<(u32, i32)>,
}

/// The change for `all` and `default` as they are and the links' values;
/// `None` when `all` is 0 (nothing to do).
pub fn rp_filter_change(all: i32, default: i32, links: &[(u32, i32)]) -> Option<RpFilterChange> {
    if all <= 0 {
        return None;
    }
    Some(RpFilterChange {
        all,
        default: (default < all).then_some(default),
        links: links.iter().filter(|(_, v)| *v < all).copied().collect(),
    })
}

/// What to write back at exit, given the values then: only what still
/// holds what the change wrote (an operator's later change stays).
/// (`all`, `default`, links), each `None` / left out when it stays.
pub fn rp_filter_restore(
    c: &RpFilterChange,
    all_now: i32,
    default_now: i32,
    links_now: &[(u32, i32)],
) -> (Option<i32>, Option<i32>, Vec<(u32, i32)>) {
    let all = (all_now == 0).then_some(c.all);
    let default = c.default.filter(|_| default_now == c.all);
    let links = c
        .links
        .iter()
        .filter(|(i, _)| links_now.iter().any(|(j, v)| j == i && *v == c.all))
        .copied()
        .collect();
    (all, default, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            running: true,
            mac: Some([2, 0, 0, 0, 0, index as u8]),
            ..LinkInfo::default()
        }
    }

    fn macvlan(index: u32, name: &str, base: u32, mac: [u8; 6]) -> LinkInfo {
        LinkInfo {
            mac: Some(mac),
            parent: Some(base),
            vlan: Some(VlanInfo::Macvlan {
                mode: MACVLAN_MODE_PRIVATE,
            }),
            ..link(index, name)
        }
    }

    #[test]
    fn names_follow_keepalived() {
        assert_eq!(generated_name("vrrp", None, 51), "vrrp.51");
        assert_eq!(generated_name("vrrp", Some(6), 51), "vrrp6.51");
        // Cut to fit 15 characters.
        assert_eq!(
            generated_name("averyverylongprefix", None, 255),
            "averyverylo.255"
        );
        assert_eq!(
            generated_name("averyverylongprefix", Some(1), 255),
            "averyveryl1.255"
        );
        assert_eq!(suffixes(true).take(3).collect::<Vec<_>>(), vec![6, 1, 2]);
        assert_eq!(suffixes(false).take(2).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn a_free_name_is_chosen_and_a_matching_link_is_reused() {
        let mac = virtual_mac(51, false);
        let link_of = NewVlan::Macvlan { mac };
        let mut kernel = Kernel {
            links: vec![link(2, "eth0"), link(5, "vrrp.51")],
            addresses: vec![],
        };
        let taken = HashSet::new();
        // vrrp.51 is a plain link: the next name.
        assert_eq!(
            choose_name("vrrp", 51, false, 2, &link_of, &kernel, &taken),
            "vrrp1.51"
        );
        // A matching macvlan of an earlier run, whatever its name, is reused.
        kernel.links.push(macvlan(7, "old", 2, mac));
        assert_eq!(
            choose_name("vrrp", 51, false, 2, &link_of, &kernel, &taken),
            "old"
        );
        // ... unless another instance names it.
        let taken: HashSet<String> = ["old".to_string()].into();
        assert_eq!(
            choose_name("vrrp", 51, false, 2, &link_of, &kernel, &taken),
            "vrrp1.51"
        );
    }

    #[test]
    fn what_is_found_under_the_name() {
        let mac = virtual_mac(51, false);
        let mut plan = VmacPlan {
            name: "vrrp.51".into(),
            base: 2,
            base_ifname: "eth0".into(),
            group: 0,
            link: NewVlan::Macvlan { mac },
            v6: false,
            xmit_base: false,
            disable_ipv6: true,
            address: None,
            index: None,
        };
        let kernel = |l: Vec<LinkInfo>| Kernel {
            links: l,
            addresses: vec![],
        };
        assert_eq!(
            found(&plan, &kernel(vec![link(2, "eth0")])),
            Ok(Found::Absent)
        );
        assert_eq!(
            found(&plan, &kernel(vec![macvlan(9, "vrrp.51", 2, mac)])),
            Ok(Found::Matching(9))
        );
        // Another MAC, another base, another mode: replaced.
        assert_eq!(
            found(
                &plan,
                &kernel(vec![macvlan(9, "vrrp.51", 2, virtual_mac(52, false))])
            ),
            Ok(Found::Mismatched(9))
        );
        assert_eq!(
            found(&plan, &kernel(vec![macvlan(9, "vrrp.51", 3, mac)])),
            Ok(Found::Mismatched(9))
        );
        let mut bridge_mode = macvlan(9, "vrrp.51", 2, mac);
        bridge_mode.vlan = Some(VlanInfo::Macvlan { mode: 4 });
        assert_eq!(
            found(&plan, &kernel(vec![bridge_mode])),
            Ok(Found::Mismatched(9))
        );
        // A link that is no vlan is never removed.
        assert!(found(&plan, &kernel(vec![link(9, "vrrp.51")])).is_err());
        plan.link = NewVlan::Ipvlan { flags: 0 };
        assert_eq!(
            found(&plan, &kernel(vec![macvlan(9, "vrrp.51", 2, mac)])),
            Ok(Found::Mismatched(9))
        );
    }

    #[test]
    fn rp_filter_all_is_cleared_as_keepalived_does() {
        assert_eq!(rp_filter_change(0, 1, &[(2, 0)]), None);
        let c = rp_filter_change(1, 0, &[(1, 0), (2, 1), (3, 2)]);
        let want = RpFilterChange {
            all: 1,
            default: Some(0),
            links: vec![(1, 0)],
        };
        assert_eq!(c.as_ref(), Some(&want));
        // At exit: what still holds the written value goes back.
        assert_eq!(
            rp_filter_restore(&want, 0, 1, &[(1, 1), (2, 1)]),
            (Some(1), Some(0), vec![(1, 0)])
        );
        // An operator changed all, default and link 1 since: they stay.
        assert_eq!(
            rp_filter_restore(&want, 2, 0, &[(1, 2)]),
            (None, None, vec![])
        );
    }

    /// The plan of `BASE` with `extra` in VI_1, on `links` (eth0 is 2,
    /// with 192.0.2.1 and fe80::1) and `vip` as its address.
    fn plan_of(extra: &str, vip: &str, links: Vec<LinkInfo>) -> super::super::plan::InstancePlan {
        use crate::daemon::testing::{BASE, parse};
        let text = BASE
            .replace("priority 150", &format!("priority 150\n {extra}"))
            .replace("192.0.2.2/24", vip);
        let kernel = Kernel {
            links,
            addresses: vec![
                IfAddress {
                    prefix_len: 24,
                    ..IfAddress::host(2, "192.0.2.1".parse().unwrap())
                },
                IfAddress {
                    prefix_len: 64,
                    ..IfAddress::host(2, "fe80::1".parse().unwrap())
                },
            ],
        };
        match crate::daemon::configure::plan(&parse(&text), &kernel) {
            Ok(mut p) => p.units.remove(0).instances.remove(0),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_plan_puts_vips_and_adverts_on_the_vmac() {
        let mac = virtual_mac(51, false);
        // Not there yet: to be created; nothing can run on index 0.
        let p = plan_of("use_vmac", "192.0.2.2/24", vec![link(2, "eth0")]);
        let v = p.vmac.clone().unwrap();
        assert_eq!((v.name.as_str(), v.base, v.index), ("vrrp.51", 2, None));
        assert_eq!(v.link, NewVlan::Macvlan { mac });
        // There: the VIPs and the adverts on it, from eth0's address.
        let links = || vec![link(2, "eth0"), macvlan(9, "vrrp.51", 2, mac)];
        let p = plan_of("use_vmac", "192.0.2.2/24", links());
        assert_eq!((p.ifindex, p.ifname.as_str()), (9, "vrrp.51"));
        assert_eq!(p.vips.addresses[0].ifindex, 9);
        assert_eq!(p.src, "192.0.2.1".parse::<IpAddr>().unwrap());
        let v = p.vmac.unwrap();
        assert_eq!((v.address, v.disable_ipv6), (None, true));
        // An IPv6 excluded VIP keeps IPv6 on.
        let p = plan_of(
            "use_vmac\n virtual_ipaddress_excluded {\n 2001:db8::9\n }",
            "192.0.2.2/24",
            links(),
        );
        assert!(!p.vmac.unwrap().disable_ipv6);
        // vmac_xmit_base: the adverts on eth0, the VIPs still on the vmac.
        let p = plan_of("use_vmac\n vmac_xmit_base", "192.0.2.2/24", links());
        assert_eq!((p.ifindex, p.ifname.as_str()), (2, "eth0"));
        assert_eq!(p.vips.addresses[0].ifindex, 9);
        // IPv6: the vmac carries the base's link-local, the adverts' source.
        let mac6 = virtual_mac(51, true);
        let p = plan_of(
            "use_vmac",
            "2001:db8::2/64",
            vec![link(2, "eth0"), macvlan(9, "vrrp.51", 2, mac6)],
        );
        let fe80: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(p.src, fe80);
        let a = p.vmac.unwrap().address.unwrap();
        assert_eq!(
            (a.ifindex, a.addr, a.prefix_len, a.nodad),
            (9, fe80, 64, true)
        );
        // An ipvlan's address is the adverts' source.
        let p = plan_of(
            "use_ipvlan ipv1 192.0.2.53/24",
            "192.0.2.2/24",
            vec![link(2, "eth0")],
        );
        assert_eq!(p.src, "192.0.2.53".parse::<IpAddr>().unwrap());
        assert_eq!(p.vmac.unwrap().address.unwrap().prefix_len, 24);
    }

    #[test]
    fn a_plain_link_with_the_vmacs_name_refuses_the_plan() {
        use crate::daemon::testing::{BASE, parse};
        let text = BASE.replace("priority 150", "priority 150\n use_vmac eth1");
        let kernel = Kernel {
            links: vec![link(2, "eth0"), link(3, "eth1")],
            addresses: vec![IfAddress {
                prefix_len: 24,
                ..IfAddress::host(2, "192.0.2.1".parse().unwrap())
            }],
        };
        let e = crate::daemon::configure::plan(&parse(&text), &kernel)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("interface eth1 exists and is not a macvlan or ipvlan"),
            "{e}"
        );
    }

    #[test]
    fn the_virtual_mac_is_rfc_5798s() {
        assert_eq!(virtual_mac(7, false), [0, 0, 0x5e, 0, 1, 7]);
        assert_eq!(virtual_mac(255, true), [0, 0, 0x5e, 0, 2, 255]);
    }
}
