//! keepalived.conf → [`Plan`]: every `vrrp_instance` resolved against the
//! kernel's links and addresses, and the `smtp_alert` switches the units
//! mail by.
//!
//! Pure: it reads a parsed configuration and a [`Kernel`] snapshot taken by
//! its caller, and opens no socket, reads no file and starts nothing.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::config::{self, Config, VrrpInstance};
use crate::net::NftSettings;
use crate::notify::script::{NotifyScripts, ScriptEnv};
use crate::vrrp::{self, Auth, Params, Version};

use super::addrs::VipSet;
use super::netconf;
use super::plan::{
    ExtraIfGarp, GarpPlan, GroupPlan, InstancePlan, Kernel, Plan, PlanError, ScriptPlan, UnitPlan,
    Waiting,
};
use super::plan_trackers::{
    bfd_session, bfd_tracker, group_trackers, script_tracker, takeovers, tracker, value_trackers,
};
use super::vmac;

fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// The notify scripts of an instance or group, split and resolved to the
/// user each runs as; `owner` names it in errors (`vrrp_instance VI_1`).
fn notify_scripts(
    env: &ScriptEnv,
    owner: &str,
    [master, backup, fault, stop, generic, master_rx_lower_pri]: [&Option<config::NotifyScript>; 6],
) -> Result<NotifyScripts, PlanError> {
    let one = |kw: &str, s: &Option<config::NotifyScript>| {
        env.notify_opt(&format!("{owner} {kw}"), s.as_ref())
    };
    Ok(NotifyScripts {
        master: one("notify_master", master)?,
        backup: one("notify_backup", backup)?,
        fault: one("notify_fault", fault)?,
        stop: one("notify_stop", stop)?,
        generic: one("notify", generic)?,
        master_rx_lower_pri: one("notify_master_rx_lower_pri", master_rx_lower_pri)?,
        priority_changes: false,
        notify_deleted: None,
    })
}

/// An instance's notify scripts, with `notify_deleted`.
fn instance_notify(env: &ScriptEnv, inst: &VrrpInstance) -> Result<NotifyScripts, PlanError> {
    let mut notify = notify_scripts(
        env,
        &format!("vrrp_instance {}", inst.name),
        [
            &inst.notify_master,
            &inst.notify_backup,
            &inst.notify_fault,
            &inst.notify_stop,
            &inst.notify,
            &inst.notify_master_rx_lower_pri,
        ],
    )?;
    notify.notify_deleted = match &inst.notify_deleted {
        Some(d) => Some(env.notify_opt(
            &format!("vrrp_instance {} notify_deleted", inst.name),
            d.script.as_ref(),
        )?),
        None => None,
    };
    Ok(notify)
}

/// `notify_priority_changes`: the instance's, else its sync group's, else
/// the global `vrrp_notify_priority_changes` (keepalived's order).
fn priority_changes(config: &Config, inst: &VrrpInstance) -> bool {
    let group = config
        .vrrp_sync_groups
        .iter()
        .find(|g| g.group.contains(&inst.name));
    inst.notify_priority_changes
        .or(group.and_then(|g| g.notify_priority_changes))
        .unwrap_or(config.global_defs.vrrp_notify_priority_changes)
}

/// Resolve the configuration against the kernel's view. With
/// `dynamic_interfaces`, an instance (or a sync group) one of whose links
/// is missing is left out and listed in [`Plan::waiting`] instead of
/// refusing the start.
pub fn plan(config: &Config, kernel: &Kernel) -> Result<Plan, PlanError> {
    let global = &config.global_defs;
    let dynamic = global.dynamic_interfaces.is_some();
    let env = ScriptEnv::new(global);
    let mut instances: HashMap<&str, InstancePlan> = HashMap::new();
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut order = Vec::new();
    let mut vmac_names = vmac::configured_names(config);
    for inst in &config.vrrp_instances {
        order.push(inst.name.as_str());
        match plan_instance(config, &env, inst, kernel, &mut vmac_names) {
            Ok(mut p) => {
                p.notify.priority_changes = priority_changes(config, inst);
                instances.insert(inst.name.as_str(), p);
            }
            // keepalived: FAULT until the link, and an address on it, exist.
            Err(
                PlanError::NoInterface { ifname, .. } | PlanError::NoSourceAddress { ifname, .. },
            ) if dynamic => waiting.push(Waiting {
                instance: inst.name.clone(),
                group: None,
                ifname,
            }),
            Err(e) => return Err(e),
        }
    }

    let mut units = Vec::new();
    let mut grouped = std::collections::HashSet::new();
    for g in &config.vrrp_sync_groups {
        grouped.extend(g.group.iter().cloned());
        match group_unit(config, &env, g, &instances, kernel) {
            Ok(u) => units.push(u),
            Err(PlanError::NoInterface { ifname, .. }) if dynamic => {
                // A member that cannot run keeps the whole group out, as a
                // member in FAULT puts its group in FAULT.
                waiting.retain(|w| !g.group.contains(&w.instance));
                waiting.extend(g.group.iter().map(|m| Waiting {
                    instance: m.clone(),
                    group: Some(g.name.clone()),
                    ifname: ifname.clone(),
                }));
            }
            Err(e) => return Err(e),
        }
    }
    for name in order {
        if grouped.contains(name) {
            continue;
        }
        if let Some(p) = instances.remove(name) {
            units.push(UnitPlan {
                group: None,
                instances: vec![p],
            });
        }
    }

    let mut scripts = Vec::new();
    for s in &config.vrrp_scripts {
        let script = env
            .prepare(
                &format!("vrrp_script {}", s.name),
                &s.script,
                s.user.as_ref(),
                &s.origin,
            )?
            .script;
        scripts.push(ScriptPlan {
            name: s.name.clone(),
            script,
            interval: s.interval,
            timeout: s.timeout,
            rise: s.rise.max(1),
            fall: s.fall.max(1),
            init_fail: s.init_fail,
        });
    }
    // With dynamic_interfaces a static entry on a missing link waits too.
    if !dynamic {
        super::statics::check(config, kernel)?;
    }
    let bfd = config.bfd_instances.iter().map(bfd_session).collect();
    let garp_delays = super::garp_delays::plan(config, kernel, &units);
    Ok(Plan {
        units,
        scripts,
        waiting,
        bfd,
        linkbeat: linkbeat_plan(config),
        garp_delays,
    })
}

/// The polled interfaces (`linkbeat_interfaces`, `linkbeat_use_polling`).
fn linkbeat_plan(config: &Config) -> Vec<(String, Option<crate::net::LinkbeatWay>)> {
    use crate::config::LinkbeatKind as K;
    use crate::net::LinkbeatWay as W;
    let way = |k: K| match k {
        K::Mii => W::Mii,
        K::Ethtool => W::Ethtool,
        K::Ioctl => W::Ioctl,
    };
    config
        .global_defs
        .linkbeat_interfaces
        .iter()
        .map(|l| (l.name.clone(), l.kind.map(way)))
        .collect()
}

/// A sync group's unit: its members' plans with the group's trackers.
/// A member missing from `instances` is waiting for a link (`NoInterface`)
/// or not an instance at all.
fn group_unit(
    config: &Config,
    env: &ScriptEnv,
    g: &config::VrrpSyncGroup,
    instances: &HashMap<&str, InstancePlan>,
    kernel: &Kernel,
) -> Result<UnitPlan, PlanError> {
    let notify = notify_scripts(
        env,
        &format!("vrrp_sync_group {}", g.name),
        [
            &g.notify_master,
            &g.notify_backup,
            &g.notify_fault,
            &g.notify_stop,
            &g.notify,
            &None,
        ],
    )?;
    let mut members = Vec::new();
    for m in &g.group {
        let Some(mut p) = instances.get(m.as_str()).cloned() else {
            let Some(inst) = config.vrrp_instance(m) else {
                return Err(PlanError::UnknownMember {
                    group: g.name.clone(),
                    member: m.clone(),
                });
            };
            return Err(no_interface(
                inst,
                &inst.origin.to_string(),
                &inst.interface,
            ));
        };
        group_trackers(config, g, kernel, &mut p)?;
        members.push(p);
    }
    Ok(UnitPlan {
        group: Some(GroupPlan {
            name: g.name.clone(),
            notify,
        }),
        instances: members,
    })
}

/// The resolved `smtp_alert` switches of a configuration's instances and groups.
pub(super) fn smtp_alert_names(config: &Config) -> std::collections::BTreeSet<String> {
    config
        .vrrp_instances
        .iter()
        .filter(|i| i.smtp_alert)
        .map(|i| i.name.clone())
        .chain(
            config
                .vrrp_sync_groups
                .iter()
                .filter(|g| g.smtp_alert)
                .map(|g| g.name.clone()),
        )
        .collect()
}

/// One `vrrp_instance` resolved against the kernel. Its checks run in a
/// fixed order (the interface, the source address, the VIPs' devices, the
/// parameters, the trackers, the notify scripts): the first problem found
/// is the one reported.
fn plan_instance(
    config: &Config,
    env: &ScriptEnv,
    inst: &VrrpInstance,
    kernel: &Kernel,
    vmac_names: &mut HashSet<String>,
) -> Result<InstancePlan, PlanError> {
    let origin = inst.origin.to_string();
    let link = kernel
        .link(&inst.interface)
        .ok_or_else(|| no_interface(inst, &origin, &inst.interface))?;
    let base = link.index;
    let mut vmac = match &inst.vmac {
        Some(v) => Some(vmac::plan_vmac(config, inst, v, link, kernel, vmac_names)?),
        None => None,
    };
    // keepalived: the VIPs go on the vmac; the adverts too, unless
    // vmac_xmit_base. A vmac still to be created has index 0 here: such
    // a plan is only read for its vmacs (running::start).
    let vmac_index = vmac.as_ref().map(|v| v.index.unwrap_or(0));
    let (ifindex, ifname) = match &vmac {
        Some(v) if !v.xmit_base => (v.index.unwrap_or(0), v.name.clone()),
        _ => (base, inst.interface.clone()),
    };
    let ipvlan_src = match inst.vmac.as_ref().map(|v| &v.kind) {
        Some(config::VmacKind::Ipvlan {
            address: Some((a, _)),
            ..
        }) => Some(*a),
        _ => None,
    };
    let src = match (inst.unicast_src_ip, ipvlan_src) {
        (None, Some(a)) => a,
        _ => source_address(inst, kernel, base, &origin)?,
    };
    if let (Some(v), Some(cv)) = (vmac.as_mut(), inst.vmac.as_ref()) {
        v.address = vmac::own_address(cv, v, src);
    }
    let (group, dsts) = advert_destinations(config, inst);
    let addr_vmacs = vmac::plan_addr_vmacs(config, inst, kernel, vmac_names)?;
    let mut vips = vip_set(inst, kernel, vmac_index.unwrap_or(base), &origin)?;
    vmac::move_to_addr_vmacs(&mut vips, kernel, &addr_vmacs);
    // RFC 5798 §6.1: not in accept mode, a master (unless the address
    // owner) drops traffic to its VIPs.
    let nft = &config.global_defs.nftables;
    vips.no_accept = (!inst.accept && inst.priority != 255).then(|| NftSettings {
        table: nft.table.clone(),
        priority: nft.priority,
        counters: nft.counters,
    });
    let mut params = params(inst, src, &origin)?;
    params.codec = codec_options(config, inst);
    let Tracked {
        track_links,
        track_scripts,
        track_bfds,
    } = trackers(config, inst, kernel, &origin, &mut params)?;
    let (track_files, track_processes) = value_trackers(inst, &mut params);
    params
        .validate()
        .map_err(|e| invalid(inst, &origin, e.to_string()))?;
    let notify = instance_notify(env, inst)?;
    let xmit_base = vmac.as_ref().is_some_and(|v| v.xmit_base);
    let own = vmac_index.unwrap_or(base);
    let on_vmacs: Vec<u32> = addr_vmacs
        .iter()
        .map(|(_, v)| v.index.unwrap_or(0))
        .collect();
    let extra_if = ExtraIfGarp::resolve(inst.garp_extra_if, &vips, own, xmit_base, &on_vmacs);
    let garp = garp_plan(inst, extra_if);
    Ok(InstancePlan {
        name: inst.name.clone(),
        rx_buf: rx_buf_share(config, inst, &params),
        params,
        ifname,
        ifindex,
        src,
        group,
        dsts,
        unicast_peers: inst.unicast_peer.clone(),
        unicast_peer_ttl: inst.unicast_peer_ttl.clone(),
        unicast_ttl: inst.unicast_ttl.unwrap_or(crate::vrrp::packet::TTL),
        vips,
        track_links,
        track_scripts,
        track_files,
        track_bfds,
        takeovers: takeovers(config, &inst.track_bfd),
        track_processes,
        notify,
        garp,
        vmac,
        addr_vmacs,
        ah_pass: ah_pass(inst),
        origin,
    })
}

/// The AH key of an instance with `auth_type AH`.
fn ah_pass(inst: &VrrpInstance) -> Option<String> {
    inst.authentication
        .as_ref()
        .filter(|a| a.auth_type == config::AuthType::Ah)
        .map(|a| a.auth_pass.clone())
}

/// An instance's share of its receive socket's buffer, as keepalived
/// computes it: its `kernel_rx_buf_size`, else the policy's size, else
/// multiplier × its advert (IPv4 header, VRRPv2's 8 authentication
/// bytes and AH's 24 counted) or × the interface's MTU (1500 if
/// unreadable), else nothing.
fn rx_buf_share(config: &Config, inst: &VrrpInstance, params: &crate::vrrp::Params) -> u32 {
    use crate::config::RxBufsPolicy;
    let g = &config.global_defs;
    if let Some(n) = inst.kernel_rx_buf_size {
        return n;
    }
    let advert = || {
        let v4 = inst.family != config::AddressFamily::Inet6;
        let addr_len = if v4 { 4 } else { 16 };
        let v2 = params.version == crate::vrrp::Version::V2;
        let ah = inst
            .authentication
            .as_ref()
            .is_some_and(|a| a.auth_type == config::AuthType::Ah);
        8 + addr_len * params.vips.len() as u32
            + if v2 { 8 } else { 0 }
            + if v4 { 20 } else { 0 }
            + if ah { 24 } else { 0 }
    };
    match g.vrrp_rx_bufs_policy {
        RxBufsPolicy::Unset => 0,
        RxBufsPolicy::Size(n) => n,
        RxBufsPolicy::Advert => g.vrrp_rx_bufs_multiplier.saturating_mul(advert()),
        RxBufsPolicy::Mtu => g
            .vrrp_rx_bufs_multiplier
            .saturating_mul(link_mtu(&inst.interface)),
    }
}

fn link_mtu(ifname: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{ifname}/mtu"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1500)
}

/// The instance's multicast group, and where its adverts go: the group,
/// or every `unicast_peer`.
fn advert_destinations(config: &Config, inst: &VrrpInstance) -> (IpAddr, Vec<IpAddr>) {
    let group = match inst.mcast_dst_ip {
        Some(g) => g,
        None if inst.family == config::AddressFamily::Inet6 => {
            IpAddr::V6(config.global_defs.vrrp_mcast_group6)
        }
        None => IpAddr::V4(config.global_defs.vrrp_mcast_group4),
    };
    let dsts = if inst.unicast_peer.is_empty() {
        vec![group]
    } else {
        inst.unicast_peer.clone()
    };
    (group, dsts)
}

fn no_interface(inst: &VrrpInstance, origin: &str, ifname: &str) -> PlanError {
    PlanError::NoInterface {
        origin: origin.to_string(),
        instance: inst.name.clone(),
        ifname: ifname.to_string(),
    }
}

fn invalid(inst: &VrrpInstance, origin: &str, what: String) -> PlanError {
    PlanError::Invalid {
        origin: origin.to_string(),
        instance: inst.name.clone(),
        what,
    }
}

/// Every address the instance configures while master: `virtual_ipaddress`
/// and `virtual_ipaddress_excluded`.
fn vip_addrs(inst: &VrrpInstance) -> Vec<IpAddr> {
    inst.virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
        .map(|v| v.address)
        .collect()
}

/// Where adverts come from: `unicast_src_ip`, or RFC 5798 §5.1.1.1 /
/// §5.1.2.1: the primary IPv4 address of the interface, or its IPv6
/// link-local address. Never one of the instance's VIPs, unless it is the
/// address owner (priority 255), whose VIPs are its own addresses.
fn source_address(
    inst: &VrrpInstance,
    kernel: &Kernel,
    ifindex: u32,
    origin: &str,
) -> Result<IpAddr, PlanError> {
    let v6 = inst.family == config::AddressFamily::Inet6;
    let owner = inst.priority == 255;
    let vip_addrs = vip_addrs(inst);
    let src = match inst.unicast_src_ip {
        Some(a) => a,
        None => kernel
            .addresses
            .iter()
            .filter(|a| a.ifindex == ifindex && a.addr.is_ipv6() == v6)
            .filter(|a| owner || !vip_addrs.contains(&a.addr))
            .find(|a| !v6 || is_link_local(&a.addr))
            .map(|a| a.addr)
            .ok_or_else(|| PlanError::NoSourceAddress {
                origin: origin.to_string(),
                instance: inst.name.clone(),
                ifname: inst.interface.clone(),
                family: if v6 { "IPv6 link-local" } else { "IPv4" },
            })?,
    };
    if src.is_ipv6() != v6 {
        return Err(invalid(
            inst,
            origin,
            format!("unicast_src_ip {src} is not of the instance's address family"),
        ));
    }
    Ok(src)
}

/// The interface index of a VIP's or a route's `dev`: the instance's own
/// interface when there is none.
fn dev_index(
    inst: &VrrpInstance,
    kernel: &Kernel,
    ifindex: u32,
    origin: &str,
    dev: &Option<String>,
) -> Result<u32, PlanError> {
    match dev {
        None => Ok(ifindex),
        Some(d) => kernel
            .link(d)
            .map(|l| l.index)
            .ok_or_else(|| no_interface(inst, origin, d)),
    }
}

/// The addresses and routes the instance owns while master; an address
/// owner keeps those already on the interface when it stops.
fn vip_set(
    inst: &VrrpInstance,
    kernel: &Kernel,
    ifindex: u32,
    origin: &str,
) -> Result<VipSet, PlanError> {
    let dev_index = |dev: &Option<String>| dev_index(inst, kernel, ifindex, origin, dev);
    let mut vips = VipSet::default();
    if inst.priority == 255 {
        let vip_addrs = vip_addrs(inst);
        vips.keep = kernel
            .addresses
            .iter()
            .filter(|a| vip_addrs.contains(&a.addr))
            .map(|a| a.addr)
            .collect();
    }
    for v in inst
        .virtual_ipaddress
        .iter()
        .chain(&inst.virtual_ipaddress_excluded)
    {
        vips.addresses
            .push(netconf::address_of(v, dev_index(&v.dev)?));
    }
    for r in &inst.virtual_routes {
        let oif = match &r.dev {
            None => None,
            Some(_) => Some(dev_index(&r.dev)?),
        };
        let mut hop_oifs = Vec::new();
        for h in &r.nexthops {
            hop_oifs.push(match &h.dev {
                None => 0,
                Some(_) => dev_index(&h.dev)?,
            });
        }
        vips.routes.push(netconf::route_of(r, oif, &hop_oifs));
    }
    vips.rules = inst.virtual_rules.iter().map(netconf::rule_of).collect();
    Ok(vips)
}

/// The codec options of an instance: `old_unicast_checksum` puts the
/// global `vrrp_mcast_group4` in the IPv4 pseudo-header, as keepalived does.
fn codec_options(config: &Config, inst: &VrrpInstance) -> vrrp::packet::CodecOptions {
    vrrp::packet::CodecOptions {
        old_unicast_checksum: inst
            .old_unicast_checksum
            .then_some(config.global_defs.vrrp_mcast_group4),
        ..vrrp::packet::CodecOptions::default()
    }
}

/// The state machine's parameters (no trackers yet), keepalived's
/// keywords mapped one by one.
fn params(inst: &VrrpInstance, src: IpAddr, origin: &str) -> Result<Params, PlanError> {
    let mut params = Params::new(inst.name.clone(), inst.virtual_router_id, src);
    params.version = match inst.version {
        config::VrrpVersion::V2 => Version::V2,
        config::VrrpVersion::V3 => Version::V3,
    };
    params.priority = inst.priority;
    params.advert_int = u16::try_from(inst.advert_int.as_millis() / 10).map_err(|_| {
        invalid(
            inst,
            origin,
            format!("advert_int {:?} too long", inst.advert_int),
        )
    })?;
    params.preempt = !inst.nopreempt;
    params.preempt_delay = inst.preempt_delay;
    params.auth = match &inst.authentication {
        Some(a) if a.auth_type == config::AuthType::Ah => Auth::Ah,
        Some(a) => Auth::pass(a.auth_pass.as_bytes()),
        None => Auth::None,
    };
    params.vips = inst.virtual_ipaddress.iter().map(|v| v.address).collect();
    params.initial_state = match inst.state {
        config::InitialState::Backup => vrrp::InitialState::Backup,
        config::InitialState::Master => vrrp::InitialState::Master,
    };
    params.garp_master_delay =
        (!inst.garp_master_delay.is_zero()).then_some(inst.garp_master_delay);
    // keepalived arms the lower-priority second round only when the first
    // sends anything (garp_lower_prio_repeat > 0).
    params.lower_prio_no_advert = inst.lower_prio_no_advert;
    params.garp_lower_prio_delay = (!inst.garp_lower_prio_delay.is_zero()
        && inst.garp_lower_prio_repeat > 0)
        .then_some(inst.garp_lower_prio_delay);
    params.higher_prio_send_advert = inst.higher_prio_send_advert;
    params.track_primary = !inst.dont_track_primary;
    // keepalived 2.2.7: "Cannot use unicast without any peers - going to
    // fault state" (vrrp_complete_instance).
    params.config_fault = inst.unicast_fault_no_peer && inst.unicast_peer.is_empty();
    Ok(params)
}

/// An instance's own `track_interface`, `track_script` and `track_bfd`, as indexes
/// into its `params.trackers`.
struct Tracked {
    /// (interface index, tracker index) per tracked interface.
    track_links: Vec<(u32, usize)>,
    /// (vrrp_script name, tracker index) per tracked script.
    track_scripts: Vec<(String, usize)>,
    /// (bfd_instance name, tracker index, invert) per tracked session.
    track_bfds: Vec<(String, usize, bool)>,
}

/// Add the instance's own `track_interface` and `track_script` to
/// `params.trackers`.
fn trackers(
    config: &Config,
    inst: &VrrpInstance,
    kernel: &Kernel,
    origin: &str,
    params: &mut Params,
) -> Result<Tracked, PlanError> {
    let mut track_links = Vec::new();
    for t in &inst.track_interface {
        let Some(l) = kernel.link(&t.name) else {
            return Err(no_interface(inst, origin, &t.name));
        };
        track_links.push((l.index, params.trackers.len()));
        params
            .trackers
            .push(tracker(&t.name, t.weight, t.reverse, l.running));
    }
    let mut track_scripts = Vec::new();
    for t in &inst.track_script {
        track_scripts.push((t.name.clone(), params.trackers.len()));
        params
            .trackers
            .push(script_tracker(config, &t.name, t.weight, t.reverse));
    }
    let mut track_bfds = Vec::new();
    for t in &inst.track_bfd {
        let (tracker, invert) = bfd_tracker(t);
        track_bfds.push((t.name.clone(), params.trackers.len(), invert));
        params.trackers.push(tracker);
    }
    Ok(Tracked {
        track_links,
        track_scripts,
        track_bfds,
    })
}

fn garp_plan(inst: &VrrpInstance, extra_if: Option<ExtraIfGarp>) -> GarpPlan {
    GarpPlan {
        master_repeat: inst.garp_master_repeat,
        lower_prio_repeat: inst.garp_lower_prio_repeat,
        refresh: inst.garp_master_refresh.filter(|d| !d.is_zero()),
        refresh_repeat: inst.garp_master_refresh_repeat,
        extra_if,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::path::Path;

    use std::time::Duration;

    use super::*;
    use crate::net::{IfAddress, LinkInfo, Scope};

    fn kernel() -> Kernel {
        let link = |index, name: &str, running| LinkInfo {
            index,
            name: name.into(),
            running,
            mac: Some([2, 0, 0, 0, 0, index as u8]),
            ..LinkInfo::default()
        };
        let v4 = |ifindex, a: [u8; 4], len| IfAddress {
            prefix_len: len,
            ..IfAddress::host(ifindex, IpAddr::V4(Ipv4Addr::from(a)))
        };
        let v6 = |ifindex, a: &str| IfAddress {
            prefix_len: 64,
            ..IfAddress::host(
                ifindex,
                IpAddr::V6(a.parse().unwrap_or(Ipv6Addr::UNSPECIFIED)),
            )
        };
        Kernel {
            links: vec![
                link(1, "lo", true),
                link(2, "eth0", true),
                link(3, "eth1", false),
            ],
            addresses: vec![
                // A stale VIP listed first must not become the source.
                v4(2, [203, 0, 113, 10], 24),
                v4(2, [192, 0, 2, 1], 24),
                v6(2, "2001:db8::1"),
                v6(2, "fe80::1"),
                v4(3, [198, 51, 100, 1], 24),
            ],
        }
    }

    fn plan_of(text: &str) -> Result<Plan, PlanError> {
        let loaded = config::load_str(
            Path::new("test.conf"),
            text.to_string(),
            &config::LoadOptions::with_config_id("lb1"),
        );
        let Some(cfg) = loaded.config else {
            panic!("config refused: {:?}", loaded.diagnostics);
        };
        plan(&cfg, &kernel())
    }

    #[test]
    fn source_is_the_primary_address_never_a_vip() {
        let p = plan_of(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n\
             virtual_ipaddress {\n 203.0.113.10/24 dev eth0 label eth0:vip\n 198.51.100.10/24 dev eth1 brd 198.51.100.255 scope link\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let i = &p.units[0].instances[0];
        assert_eq!(i.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(i.params.primary_addr, i.src);
        assert_eq!(i.dsts, vec![IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18))]);
        assert_eq!(i.ifindex, 2);
        let a = &i.vips.addresses;
        assert_eq!(a[0].label.as_deref(), Some("eth0:vip"));
        assert_eq!((a[0].ifindex, a[0].prefix_len), (2, 24));
        assert_eq!(a[1].ifindex, 3);
        assert_eq!(a[1].broadcast, Some(Ipv4Addr::new(198, 51, 100, 255)));
        assert_eq!(a[1].scope, Scope::Link);
        assert_eq!(i.params.priority, 150);
        assert_eq!(i.params.advert_int, 100);
    }

    #[test]
    fn a_groups_track_files_reach_every_member_as_keepalived_merges_them() {
        let p = plan_of(
            "track_file ta {\n file /run/ta\n weight 3\n}\ntrack_file tb {\n file /run/tb\n}\n\
             vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n track_file {\n ta weight 5\n tb\n }\n}\n\
             vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 192.0.2.10\n }\n track_file {\n ta weight 0 reverse\n }\n}\n\
             vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n virtual_ipaddress {\n 192.0.2.11\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let files = |i: &InstancePlan| {
            i.params
                .track_files
                .iter()
                .map(|f| (f.name.clone(), f.weight, f.reverse))
                .collect::<Vec<_>>()
        };
        let unit = &p.units[0];
        // VI_1 tracks ta itself with weight 0: that stays (keepalived keeps
        // an unweighted entry); tb comes from the group.
        assert_eq!(
            files(&unit.instances[0]),
            [("ta".to_string(), 0, true), ("tb".to_string(), 1, false)]
        );
        assert_eq!(
            unit.instances[0].track_files,
            [("ta".to_string(), 0), ("tb".to_string(), 1)]
        );
        assert_eq!(
            files(&unit.instances[1]),
            [("ta".to_string(), 5, false), ("tb".to_string(), 1, false)]
        );
    }

    #[test]
    fn an_address_owner_keeps_its_own_addresses() {
        let p = plan_of(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 255\n\
             virtual_ipaddress {\n 203.0.113.10/24\n 203.0.113.99/24\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let i = &p.units[0].instances[0];
        // The interface's first address is also a VIP: for an owner it is
        // still the source, and it is never removed.
        assert_eq!(i.src, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)));
        assert_eq!(
            i.vips.keep,
            vec![IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10))]
        );
    }

    #[test]
    fn ipv6_instances_send_from_the_link_local_address() {
        let p = plan_of(
            "vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 61\n virtual_ipaddress {\n 2001:db8::100/64\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let i = &p.units[0].instances[0];
        assert_eq!(
            i.src,
            IpAddr::V6("fe80::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED))
        );
        assert_eq!(i.params.version, Version::V3);
        assert!(i.vips.addresses[0].nodad);
        assert_eq!(
            i.group,
            IpAddr::V6("ff02::12".parse().unwrap_or(Ipv6Addr::UNSPECIFIED))
        );
    }

    #[test]
    fn unicast_peers_are_the_destinations_and_the_filter() {
        let p = plan_of(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n unicast_src_ip 192.0.2.1\n\
             unicast_peer {\n 192.0.2.2\n 192.0.2.3\n }\n virtual_ipaddress {\n 203.0.113.10\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let i = &p.units[0].instances[0];
        let peers = vec![
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
        ];
        assert_eq!(i.dsts, peers);
        assert_eq!(i.unicast_peers, peers);
        assert_eq!(i.vips.addresses[0].prefix_len, 32);
    }

    #[test]
    fn virtual_ipaddress_excluded_is_held_but_never_advertised() {
        let p = plan_of(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n\
             virtual_ipaddress {\n 203.0.113.10/24\n }\n\
             virtual_ipaddress_excluded {\n 203.0.113.11/24\n 198.51.100.11/24 dev eth1\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let i = &p.units[0].instances[0];
        let vip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));
        // Configured on the interfaces while master...
        let held: Vec<IpAddr> = i.vips.addresses.iter().map(|a| a.addr).collect();
        assert_eq!(
            held,
            vec![
                vip,
                IpAddr::V4(Ipv4Addr::new(203, 0, 113, 11)),
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, 11)),
            ]
        );
        // ...but the adverts carry only virtual_ipaddress.
        assert_eq!(i.params.vips, vec![vip]);
        let inst = crate::vrrp::Instance::new(i.params.clone(), crate::vrrp::Time::ZERO)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inst.advert(100).addresses, vec![vip]);
    }

    #[test]
    fn garp_lower_prio_delay_reaches_the_state_machine() {
        let conf = |extra: &str| {
            format!(
                "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{extra}\
                 virtual_ipaddress {{\n 203.0.113.10/24\n }}\n}}\n"
            )
        };
        let delay = |extra: &str| {
            plan_of(&conf(extra))
                .unwrap_or_else(|e| panic!("{e}"))
                .units[0]
                .instances[0]
                .params
                .garp_lower_prio_delay
        };
        assert_eq!(
            delay(" garp_lower_prio_delay 3\n"),
            Some(Duration::from_secs(3))
        );
        // keepalived's default: garp_master_delay.
        assert_eq!(
            delay(" garp_master_delay 7\n"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(delay(" garp_lower_prio_delay 0\n"), None);
    }

    #[test]
    fn a_missing_interface_names_the_instance_and_the_line() {
        let e = plan_of(
            "\nvrrp_instance VI_1 {\n interface eth9\n virtual_router_id 51\n virtual_ipaddress {\n 203.0.113.10\n }\n}\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.starts_with("test.conf:2:"), "{e}");
        assert!(
            e.contains("vrrp_instance VI_1: interface eth9 does not exist"),
            "{e}"
        );
        let e = plan_of(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n track_interface {\n eth7\n }\n virtual_ipaddress {\n 203.0.113.10\n }\n}\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("interface eth7 does not exist"), "{e}");
    }

    #[test]
    fn an_interface_without_an_address_of_the_family_is_refused() {
        let e = plan_of(
            "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n virtual_ipaddress {\n 203.0.113.10\n }\n}\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("interface lo has no IPv4 address"), "{e}");
    }

    #[test]
    fn a_sync_group_is_one_unit_and_shares_its_trackers() {
        let p = plan_of(
            "vrrp_sync_group G {\n group {\n VI_OUT\n VI_IN\n }\n track_interface {\n eth1\n }\n}\n\
             vrrp_instance VI_OUT {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 203.0.113.10\n }\n}\n\
             vrrp_instance VI_IN {\n interface eth1\n virtual_router_id 52\n virtual_ipaddress {\n 198.51.100.10\n }\n}\n\
             vrrp_instance VI_ALONE {\n interface eth0\n virtual_router_id 53\n virtual_ipaddress {\n 203.0.113.11\n }\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.units.len(), 2);
        let g = &p.units[0];
        assert_eq!(g.name(), "G");
        assert_eq!(g.instances.len(), 2);
        for i in &g.instances {
            // eth1 (index 3) is down: the tracker starts down, weight 0 = FAULT.
            assert_eq!(i.track_links, vec![(3, 0)]);
            assert_eq!(i.params.trackers[0].weight, 0);
            assert!(!i.params.trackers[0].initially_up);
        }
        assert_eq!(p.units[1].name(), "VI_ALONE");
        assert!(p.units[1].group.is_none());
    }

    #[test]
    fn notify_scripts_are_split_into_words() {
        let p = plan_of(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 203.0.113.10\n }\n\
             notify_master \"/usr/local/bin/m.sh 'a b' c\"\n notify /usr/local/bin/n.sh\n}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let n = &p.units[0].instances[0].notify;
        assert_eq!(
            n.master.as_ref().map(|s| s.argv.clone()),
            Some(vec![
                "/usr/local/bin/m.sh".to_string(),
                "a b".into(),
                "c".into()
            ])
        );
        assert_eq!(
            n.generic.as_ref().map(|s| s.argv.clone()),
            Some(vec!["/usr/local/bin/n.sh".to_string()])
        );
    }
}
