//! Checks across items of a built configuration: names that must be
//! unique, references that must resolve, VRIDs that must not collide,
//! address families that must agree, ports that must make sense for the
//! forwarding method.
//!
//! Per-value checks (ranges, syntax) are made by the builder where the
//! value is written; this pass needs the whole configuration.
//!
//! Owns: the checks that compare items with one another. May not: change
//! the model (it only reports), or see statements or positions other than
//! each item's [`Origin`].

use std::collections::HashMap;

use super::diag::{Diagnostic, Severity};
use super::keywords::suggest;
use super::model::*;

/// Every cross-item problem of `cfg`.
pub fn validate(cfg: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    unique_names(cfg, &mut out);
    track_scripts(cfg, &mut out);
    bfd_instances(cfg, &mut out);
    track_bfds(cfg, &mut out);
    bfd_checks(cfg, &mut out);
    sync_groups(cfg, &mut out);
    vrids(cfg, &mut out);
    instances(cfg, &mut out);
    virtual_servers(cfg, &mut out);
    lvs_sync_daemon(cfg, &mut out);
    tandem_bgp(cfg, &mut out);
    out
}

/// The instance `lvs_sync_daemon` names must exist, and a configured group
/// must be of its family (the sync messages go where its VIPs are).
fn lvs_sync_daemon(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let Some(d) = &cfg.global_defs.lvs_sync_daemon else {
        return;
    };
    let Some(name) = &d.instance else {
        return;
    };
    let Some(vi) = cfg.vrrp_instances.iter().find(|v| &v.name == name) else {
        let hint = suggest(name, cfg.vrrp_instances.iter().map(|v| v.name.as_str()))
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default();
        error(
            out,
            &d.instance_origin,
            format!("lvs_sync_daemon names vrrp_instance {name}, which is not defined{hint}"),
        );
        return;
    };
    if let Some(g) = d.group {
        if AddressFamily::of(&g) != vi.family {
            error(
                out,
                &d.group_origin,
                format!(
                    "lvs_sync_daemon group {g} is not of the family of vrrp_instance {name} ({})",
                    vi.family
                ),
            );
        }
    }
}

fn error(out: &mut Vec<Diagnostic>, origin: &Origin, msg: String) {
    out.push(Diagnostic::at(Severity::Error, origin, msg));
}

fn warning(out: &mut Vec<Diagnostic>, origin: &Origin, msg: String) {
    out.push(Diagnostic::at(Severity::Warning, origin, msg));
}

fn dup_check<'a>(
    out: &mut Vec<Diagnostic>,
    what: &str,
    items: impl Iterator<Item = (&'a str, &'a Origin)>,
) {
    let mut seen: HashMap<&str, &Origin> = HashMap::new();
    for (name, origin) in items {
        if let Some(first) = seen.get(name) {
            error(
                out,
                origin,
                format!("{what} {name} is already defined at {first}"),
            );
        } else {
            seen.insert(name, origin);
        }
    }
}

fn unique_names(cfg: &Config, out: &mut Vec<Diagnostic>) {
    dup_check(
        out,
        "vrrp_script",
        cfg.vrrp_scripts
            .iter()
            .map(|s| (s.name.as_str(), &s.origin)),
    );
    dup_check(
        out,
        "vrrp_instance",
        cfg.vrrp_instances
            .iter()
            .map(|s| (s.name.as_str(), &s.origin)),
    );
    dup_check(
        out,
        "vrrp_sync_group",
        cfg.vrrp_sync_groups
            .iter()
            .map(|s| (s.name.as_str(), &s.origin)),
    );
    dup_check(
        out,
        "virtual_server_group",
        cfg.virtual_server_groups
            .iter()
            .map(|s| (s.name.as_str(), &s.origin)),
    );
}

fn track_scripts(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let names = || cfg.vrrp_scripts.iter().map(|s| s.name.as_str());
    let tracks = cfg
        .vrrp_instances
        .iter()
        .flat_map(|i| {
            i.track_script
                .iter()
                .map(move |t| ("vrrp_instance", &i.name, t))
        })
        .chain(cfg.vrrp_sync_groups.iter().flat_map(|g| {
            g.track_script
                .iter()
                .map(move |t| ("vrrp_sync_group", &g.name, t))
        }));
    for (kind, owner, t) in tracks {
        if cfg.vrrp_script(&t.name).is_none() {
            let msg = match suggest(&t.name, names()) {
                Some(m) => format!(
                    "{kind} {owner}: track_script names no vrrp_script \"{}\"; did you mean \"{m}\"?",
                    t.name
                ),
                None => format!(
                    "{kind} {owner}: track_script names no vrrp_script \"{}\"",
                    t.name
                ),
            };
            error(out, &t.origin, msg);
        }
    }
}

/// Two sessions to one neighbour from one source cannot be told apart by
/// a packet that carries no discriminator yet; keepalived ignores the
/// second (tandem refuses it).
fn bfd_instances(cfg: &Config, out: &mut Vec<Diagnostic>) {
    dup_check(
        out,
        "bfd_instance",
        cfg.bfd_instances
            .iter()
            .map(|b| (b.name.as_str(), &b.origin)),
    );
    for (i, b) in cfg.bfd_instances.iter().enumerate() {
        let clash = cfg.bfd_instances[..i].iter().find(|a| {
            a.neighbor_ip == b.neighbor_ip
                && (a.source_ip.is_none() || b.source_ip.is_none() || a.source_ip == b.source_ip)
        });
        if let Some(a) = clash {
            error(
                out,
                &b.origin,
                format!(
                    "bfd_instance {}: neighbor_ip {} is already the neighbour of bfd_instance {} ({}) from the same source",
                    b.name, b.neighbor_ip, a.name, a.origin
                ),
            );
        }
    }
}

/// `BFD_CHECK` must name a bfd_instance that tells the checker of its
/// state (`checker`, or neither `vrrp` nor `checker`), once per real
/// server. keepalived reports the same problems as configuration errors
/// and drops the checker, which leaves the real server up for ever: a
/// refusal is the safer answer.
fn bfd_checks(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let names = || cfg.bfd_instances.iter().map(|b| b.name.as_str());
    for vs in &cfg.virtual_servers {
        for rs in &vs.real_servers {
            let mut seen: Vec<&str> = Vec::new();
            for c in &rs.checkers {
                let CheckerKind::BfdCheck(b) = &c.kind else {
                    continue;
                };
                let who = format!("real_server {} {}: BFD_CHECK", rs.address, rs.port);
                match cfg.bfd_instance(&b.name) {
                    None => {
                        let msg = match suggest(&b.name, names()) {
                            Some(m) => format!(
                                "{who} names no bfd_instance \"{}\"; did you mean \"{m}\"?",
                                b.name
                            ),
                            None => format!("{who} names no bfd_instance \"{}\"", b.name),
                        };
                        error(out, &c.origin, msg);
                    }
                    Some(i) if !i.checker => error(
                        out,
                        &c.origin,
                        format!(
                            "{who}: bfd_instance {} reports to VRRP only (\"vrrp\" without \"checker\")",
                            b.name
                        ),
                    ),
                    Some(_) => {}
                }
                if seen.contains(&b.name.as_str()) {
                    error(
                        out,
                        &c.origin,
                        format!(
                            "{who}: the real server follows bfd_instance {} already",
                            b.name
                        ),
                    );
                }
                seen.push(&b.name);
            }
        }
    }
}

/// `track_bfd` must name a bfd_instance that tells VRRP of its state
/// (`vrrp`, or neither `vrrp` nor `checker`).
fn track_bfds(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let names = || cfg.bfd_instances.iter().map(|b| b.name.as_str());
    let tracks = cfg
        .vrrp_instances
        .iter()
        .flat_map(|i| {
            i.track_bfd
                .iter()
                .map(move |t| ("vrrp_instance", &i.name, t))
        })
        .chain(cfg.vrrp_sync_groups.iter().flat_map(|g| {
            g.track_bfd
                .iter()
                .map(move |t| ("vrrp_sync_group", &g.name, t))
        }));
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (kind, owner, t) in tracks {
        match cfg.bfd_instance(&t.name) {
            None => {
                let msg = match suggest(&t.name, names()) {
                    Some(m) => format!(
                        "{kind} {owner}: track_bfd names no bfd_instance \"{}\"; did you mean \"{m}\"?",
                        t.name
                    ),
                    None => format!(
                        "{kind} {owner}: track_bfd names no bfd_instance \"{}\"",
                        t.name
                    ),
                };
                error(out, &t.origin, msg);
            }
            Some(b) if !b.vrrp => error(
                out,
                &t.origin,
                format!(
                    "{kind} {owner}: bfd_instance {} reports to the checker only (\"checker\" without \"vrrp\")",
                    t.name
                ),
            ),
            Some(b) if t.tandem_takeover => takeover_track_bfd(cfg, kind, owner, t, b, out),
            Some(_) => {}
        }
        if kind == "vrrp_instance" && t.weight != 0 {
            weighted_track_bfd(cfg, owner, t, out);
        }
        if seen.contains(&(owner.as_str(), t.name.as_str())) {
            error(
                out,
                &t.origin,
                format!("{kind} {owner}: track_bfd {} is given twice", t.name),
            );
        }
        seen.push((owner, &t.name));
    }
}

/// `tandem_takeover` must be able to act: a weight (weight 0 would put
/// the instance in FAULT when the peer dies, never MASTER), and a
/// neighbour that can be the source of the master's adverts, in each
/// instance the entry applies to (the group's members for a sync group's
/// entry): the instance's family; one of its `unicast_peer`s when it has
/// any; a link-local address for IPv6 multicast (adverts come from one).
fn takeover_track_bfd(
    cfg: &Config,
    kind: &str,
    owner: &str,
    t: &TrackBfd,
    b: &BfdInstance,
    out: &mut Vec<Diagnostic>,
) {
    let who = format!("{kind} {owner}: track_bfd {} tandem_takeover", t.name);
    if t.weight == 0 {
        error(
            out,
            &t.origin,
            format!(
                "{who}: weight 0 puts the instance in FAULT while the session is down, so it could \
                 never take over; give the entry a weight (weight -1 lowers the priority by one while the peer is down)"
            ),
        );
    }
    let members: Vec<&VrrpInstance> = match cfg.vrrp_sync_group(owner) {
        Some(g) if kind == "vrrp_sync_group" => g
            .group
            .iter()
            .filter_map(|m| cfg.vrrp_instance(m))
            .collect(),
        _ => cfg.vrrp_instance(owner).into_iter().collect(),
    };
    let n = b.neighbor_ip;
    for i in members {
        let why = if AddressFamily::of(&n) != i.family {
            Some(format!(
                "vrrp_instance {} is {}, neighbor_ip {n} is not: it can never be the master's address",
                i.name, i.family
            ))
        } else if !i.unicast_peer.is_empty() && !i.unicast_peer.contains(&n) {
            Some(format!(
                "neighbor_ip {n} is none of vrrp_instance {}'s unicast_peer addresses, where its master's adverts come from",
                i.name
            ))
        } else if i.unicast_peer.is_empty()
            && matches!(n, std::net::IpAddr::V6(a) if !a.is_unicast_link_local())
        {
            Some(format!(
                "vrrp_instance {} sends IPv6 multicast adverts, which come from the master's link-local address, never neighbor_ip {n}",
                i.name
            ))
        } else if i.priority == 255 {
            warning(
                out,
                &t.origin,
                format!(
                    "{who}: vrrp_instance {} owns its addresses (priority 255) and is always master: nothing to take over",
                    i.name
                ),
            );
            None
        } else {
            None
        };
        if let Some(why) = why {
            error(out, &t.origin, format!("{who}: {why}"));
        }
    }
}

/// keepalived drops a weighted `track_bfd` of an instance in a sync group
/// (the group's state is all or nothing; `sync_group_tracking_weight` is
/// not supported yet) or of an address owner (priority 255 never moves),
/// with a configuration error. Refused in the first case, where tandem
/// would otherwise move the priority; a warning in the second, where the
/// priority stays 255 either way.
fn weighted_track_bfd(cfg: &Config, owner: &str, t: &TrackBfd, out: &mut Vec<Diagnostic>) {
    if let Some(g) = cfg
        .sync_group_of(owner)
        .filter(|g| !g.sync_group_tracking_weight)
    {
        error(
            out,
            &t.origin,
            format!(
                "vrrp_instance {owner}: track_bfd {} has weight {} but the instance is in vrrp_sync_group {}, \
                 where keepalived ignores weighted tracking; use weight 0, or track_bfd in the group",
                t.name, t.weight, g.name
            ),
        );
    } else if cfg.vrrp_instance(owner).is_some_and(|i| i.priority == 255) {
        warning(
            out,
            &t.origin,
            format!(
                "vrrp_instance {owner}: the weight of track_bfd {} has no effect on an address owner (priority 255)",
                t.name
            ),
        );
    }
}

fn sync_groups(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for g in &cfg.vrrp_sync_groups {
        for m in &g.group {
            if let Some(other) = member_of.insert(m, &g.name) {
                let msg = if other == g.name {
                    format!("vrrp_sync_group {}: {m} is listed twice", g.name)
                } else {
                    format!(
                        "vrrp_instance {m} is in two sync groups ({other} and {})",
                        g.name
                    )
                };
                error(out, &g.origin, msg);
            }
        }
    }
}

/// RFC 5798 §5.2.3: the VRID identifies the virtual router on a LAN; two
/// instances that hear the same adverts must not share one. As keepalived
/// 2.2.7 judges it (`check_vrid_conflicts`), and as tandem's receive path
/// keeps them apart (a socket per multicast group and one for unicast,
/// `daemon::rx::pick` among unicast instances): unicast and multicast are
/// separate VRID spaces, multicast instances on different groups too, and
/// unicast instances with different `unicast_src_ip`s or with no peer in
/// common.
fn vrids(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let list = &cfg.vrrp_instances;
    for (i, a) in list.iter().enumerate() {
        for b in &list[..i] {
            if a.virtual_router_id == 0
                || a.virtual_router_id != b.virtual_router_id
                || a.interface != b.interface
                || a.family != b.family
                || a.unicast_peer.is_empty() != b.unicast_peer.is_empty()
            {
                continue;
            }
            let what = if a.unicast_peer.is_empty() {
                let (ga, gb) = (mcast_group(cfg, a), mcast_group(cfg, b));
                if ga != gb {
                    continue;
                }
                format!("multicast group {ga}")
            } else {
                // A source address known on only one side is the
                // interface's on the other: told apart at run time.
                match (a.unicast_src_ip, b.unicast_src_ip) {
                    (Some(x), Some(y)) if x != y => continue,
                    (Some(_), None) | (None, Some(_)) => continue,
                    _ => {}
                }
                let Some(p) = a.unicast_peer.iter().find(|p| b.unicast_peer.contains(p)) else {
                    continue;
                };
                format!("unicast, the same source address and peer {p}")
            };
            error(
                out,
                &a.origin,
                format!(
                    "vrrp_instance {}: virtual_router_id {} is already used on {} ({}, {what}) by vrrp_instance {} at {}",
                    a.name, a.virtual_router_id, a.interface, a.family, b.name, b.origin
                ),
            );
        }
    }
}

/// The group a multicast instance's adverts go to.
fn mcast_group(cfg: &Config, vi: &crate::config::model::VrrpInstance) -> std::net::IpAddr {
    match vi.mcast_dst_ip {
        Some(g) => g,
        None if vi.family == AddressFamily::Inet6 => cfg.global_defs.vrrp_mcast_group6.into(),
        None => cfg.global_defs.vrrp_mcast_group4.into(),
    }
}

fn instances(cfg: &Config, out: &mut Vec<Diagnostic>) {
    // One address held by two instances: keepalived 2.2.7 runs such a file
    // without a word. When both are master the second add finds the address
    // there, and the first to leave master removes it from under the other;
    // tandem does the same (tests/net_shared_vip.rs), and says so.
    let mut held: HashMap<std::net::IpAddr, &str> = HashMap::new();
    for vi in &cfg.vrrp_instances {
        // (Repeats within one instance are dropped by the builder.)
        for v in vi
            .virtual_ipaddress
            .iter()
            .chain(&vi.virtual_ipaddress_excluded)
        {
            if let Some(other) = held.insert(v.address, &vi.name) {
                warning(
                    out,
                    &vi.origin,
                    format!(
                        "vrrp_instance {}: virtual address {} is also held by vrrp_instance {other}: \
                         whichever of the two leaves MASTER first removes it from the other \
                         (keepalived does the same)",
                        vi.name, v.address
                    ),
                );
            }
        }
    }
    for vi in &cfg.vrrp_instances {
        // More than an advert carries: the builder moved the excess to
        // the excluded ones (RFC 5798 §5.2.5's 8-bit count).
        if vi.virtual_ipaddress.is_empty() && vi.virtual_router_id != 0 {
            warning(
                out,
                &vi.origin,
                format!("vrrp_instance {} has no virtual_ipaddress", vi.name),
            );
        }
    }
}

fn virtual_servers(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let mut seen = HashMap::new();
    for vs in &cfg.virtual_servers {
        duplicate_service(cfg, vs, &mut seen, out);
        service_key(cfg, vs, out);
        if vs.protocol == Protocol::Tcp && vs.ops {
            error(
                out,
                &vs.origin,
                format!(
                    "virtual_server {}: ops (one-packet scheduling) applies to UDP only",
                    vs.key
                ),
            );
        }
        ha_suspend_group(cfg, vs, out);
        mh_fallback(vs, out);
        let family = service_family(cfg, vs);
        real_servers(vs, family, out);
        if let Some(s) = &vs.sorry_server
            && s.lvs_method != LvsMethod::Tun
            && AddressFamily::of(&s.address) != family
        {
            error(
                out,
                &vs.origin,
                format!(
                    "virtual_server {}: sorry_server {} is not {family}",
                    vs.key, s.address
                ),
            );
        }
    }
}

/// `mh` keeps a failed real server's slots while `inhibit_on_failure`
/// holds it at weight 0 (the kernel builds the table from each server's
/// last non-zero weight); without `mh-fallback` (scheduler flag 1) IPVS
/// finds no destination for a new connection hashed to such a slot and
/// refuses it, where with the flag it rehashes to an available server.
fn mh_fallback(vs: &VirtualServer, out: &mut Vec<Diagnostic>) {
    if vs.lvs_sched == LvsSched::Mh
        && !vs.sched_flags.flag_1
        && vs.real_servers.iter().any(|r| r.inhibit_on_failure)
    {
        warning(
            out,
            &vs.origin,
            format!(
                "virtual_server {}: lvs_sched mh with inhibit_on_failure and without mh-fallback: a new connection hashed to a failed real server (kept at weight 0) is refused instead of rehashed; add mh-fallback",
                vs.key
            ),
        );
    }
}

/// `ha_suspend` on a `virtual_server group`: with a fwmark among the
/// group's entries keepalived 2.2.7 clears it ("cannot use ha_suspend
/// with fwmarks"), and so does tandem (lvs::build); with addresses only,
/// keepalived 2.2.7 matches none of them (its checker never runs), while
/// tandem follows them as it follows a plain virtual server's address.
fn ha_suspend_group(cfg: &Config, vs: &VirtualServer, out: &mut Vec<Diagnostic>) {
    let VirtualServerKey::Group { name } = &vs.key else {
        return;
    };
    let Some(g) = cfg.virtual_server_group(name).filter(|_| vs.ha_suspend) else {
        return;
    };
    let msg = if g
        .entries
        .iter()
        .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
    {
        format!(
            "virtual_server group {name}: ha_suspend cannot follow a fwmark's addresses; it is cleared (the checks always run), as keepalived 2.2.7 clears it"
        )
    } else {
        format!(
            "virtual_server group {name}: ha_suspend: the checks run while one of the group's addresses is configured here (keepalived 2.2.7 matches no address of a group, so its checks would never run)"
        )
    };
    warning(out, &vs.origin, msg);
}

/// The services seen so far, by key and protocol.
type Services<'a> = HashMap<
    (
        &'a VirtualServerKey,
        Option<Protocol>,
        Option<AddressFamily>,
    ),
    &'a Origin,
>;

/// A service defined twice: IPVS has one entry per key and protocol. A
/// fwmark service has no protocol but a family: IPVS keys it by family
/// and mark, so `fwmark 80` for IPv4 real servers and `fwmark 80` for
/// IPv6 ones are two services (as keepalived runs them). So are two
/// services of one group of family-less fwmarks, one for each family.
fn duplicate_service<'a>(
    cfg: &Config,
    vs: &'a VirtualServer,
    seen: &mut Services<'a>,
    out: &mut Vec<Diagnostic>,
) {
    let (protocol, family) = match vs.key {
        VirtualServerKey::Fwmark { .. } => (None, Some(vs.family)),
        VirtualServerKey::Group { .. } => (Some(vs.protocol), Some(service_family(cfg, vs))),
        VirtualServerKey::Address { .. } => (Some(vs.protocol), None),
    };
    match seen.entry((&vs.key, protocol, family)) {
        std::collections::hash_map::Entry::Occupied(first) => {
            let what = match (protocol, family) {
                (Some(p), Some(f)) => format!("{} {} ({f})", vs.key, p.name()),
                (Some(p), None) => format!("{} {}", vs.key, p.name()),
                (None, Some(f)) => format!("{} ({f})", vs.key),
                (None, None) => vs.key.to_string(),
            };
            error(
                out,
                &vs.origin,
                format!(
                    "virtual_server {what} is already defined at {}",
                    first.get()
                ),
            );
        }
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(&vs.origin);
        }
    }
}

/// The group a service names must exist, and a service without a port
/// (its own or its group's addresses') must be persistent, as IPVS wants.
fn service_key(cfg: &Config, vs: &VirtualServer, out: &mut Vec<Diagnostic>) {
    let persistent = vs.persistence_timeout.is_some();
    match &vs.key {
        VirtualServerKey::Group { name } => match cfg.virtual_server_group(name) {
            None => {
                let cands = cfg.virtual_server_groups.iter().map(|g| g.name.as_str());
                let msg = match suggest(name, cands) {
                    Some(m) => format!(
                        "virtual_server group {name}: no virtual_server_group named \"{name}\"; did you mean \"{m}\"?"
                    ),
                    None => format!(
                        "virtual_server group {name}: no virtual_server_group named \"{name}\""
                    ),
                };
                error(out, &vs.origin, msg);
            }
            Some(g) => {
                let portless = g
                    .entries
                    .iter()
                    .any(|e| matches!(e, VsgEntry::Range { port: 0, .. }));
                if portless && !persistent {
                    error(
                        out,
                        &vs.origin,
                        format!(
                            "virtual_server group {name}: group {name} has addresses without a port, which IPVS only allows for persistent services (set persistence_timeout)"
                        ),
                    );
                }
            }
        },
        VirtualServerKey::Address { port: 0, .. } if !persistent => {
            error(
                out,
                &vs.origin,
                format!(
                    "virtual_server {}: a service without a port must be persistent (set persistence_timeout) or name its port",
                    vs.key
                ),
            );
        }
        _ => {}
    }
}

/// A service's family: its group's first entry that has one, else its own.
fn service_family(cfg: &Config, vs: &VirtualServer) -> AddressFamily {
    let group_family = match &vs.key {
        VirtualServerKey::Group { name } => cfg.virtual_server_group(name).and_then(|g| {
            g.entries.iter().find_map(|e| match e {
                VsgEntry::Range { first, .. } => Some(AddressFamily::of(first)),
                VsgEntry::Fwmark { family, .. } => *family,
            })
        }),
        _ => None,
    };
    group_family.unwrap_or(vs.family)
}

/// Each real server of the service's family (only TUN crosses families;
/// the builder keeps each address and port once), with a port for its
/// checkers and sane thresholds.
fn real_servers(vs: &VirtualServer, family: AddressFamily, out: &mut Vec<Diagnostic>) {
    for rs in &vs.real_servers {
        if rs.lvs_method != LvsMethod::Tun && AddressFamily::of(&rs.address) != family {
            error(
                out,
                &rs.origin,
                format!(
                    "real_server {} is {} but virtual_server {} is {family}; only TUN can cross families",
                    rs.address,
                    AddressFamily::of(&rs.address),
                    vs.key
                ),
            );
        }
        for c in &rs.checkers {
            // MISC_CHECK runs a program; ICMP and BFD have no ports.
            let portless = matches!(
                c.kind,
                CheckerKind::MiscCheck(_) | CheckerKind::PingCheck | CheckerKind::BfdCheck(_)
            );
            if c.connect_port == 0 && !portless {
                error(
                    out,
                    &c.origin,
                    format!(
                        "{} of real_server {} has no port to connect to; set connect_port (the real server has none)",
                        c.kind.keyword(),
                        rs.address
                    ),
                );
            }
        }
        if let (Some(lo), Some(hi)) = (rs.lthreshold, rs.uthreshold)
            && hi != 0
            && lo > hi
        {
            error(
                out,
                &rs.origin,
                format!(
                    "real_server {}: lthreshold {lo} is above uthreshold {hi}",
                    rs.address
                ),
            );
        }
    }
}

/// `tandem_bgp`: the virtual server must have one address to announce
/// (not a fwmark, not yet a group), and every block that names one include
/// file must agree on BIRD's socket and the protocol name: the file is
/// one set of routes for one BIRD.
fn tandem_bgp(cfg: &Config, out: &mut Vec<Diagnostic>) {
    sloppy_note(cfg, out);
    let mut files: HashMap<&str, &BgpAnnounce> = HashMap::new();
    for vs in &cfg.virtual_servers {
        let Some(bgp) = &vs.bgp else { continue };
        consistent_hashing(vs, bgp, out);
        match &vs.key {
            VirtualServerKey::Address { .. } => {}
            VirtualServerKey::Fwmark { .. } => error(
                out,
                &bgp.origin,
                format!(
                    "virtual_server {}: tandem_bgp needs an address to announce, and a fwmark service has none",
                    vs.key
                ),
            ),
            VirtualServerKey::Group { .. } => error(
                out,
                &bgp.origin,
                format!(
                    "virtual_server {}: tandem_bgp in a virtual_server group is not supported yet",
                    vs.key
                ),
            ),
        }
        match files.get(bgp.include_file.as_str()) {
            None => {
                files.insert(&bgp.include_file, bgp);
            }
            Some(first)
                if first.bird_socket != bgp.bird_socket
                    || first.protocol != bgp.protocol
                    || first.liveness_device != bgp.liveness_device =>
            {
                error(
                    out,
                    &bgp.origin,
                    format!(
                        "tandem_bgp: include_file {} is already used at {} with bird_socket {}, protocol {} and liveness_device {}; one include file is one BIRD's routes",
                        bgp.include_file,
                        first.origin,
                        first.bird_socket,
                        first.protocol,
                        first.liveness_device
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let mut protocols: HashMap<(&str, &str), &BgpAnnounce> = HashMap::new();
    for bgp in files.values() {
        if let Some(first) = protocols.insert((&bgp.bird_socket, &bgp.protocol), bgp) {
            let (a, b) = if first.origin.line < bgp.origin.line {
                (first, *bgp)
            } else {
                (*bgp, first)
            };
            error(
                out,
                &b.origin,
                format!(
                    "tandem_bgp: protocol {} on {} is already written to {} (at {}); two include files would define it twice",
                    b.protocol, b.bird_socket, a.include_file, a.origin
                ),
            );
        }
    }
}

/// What `tandem run` will do to the namespace's IPVS sysctls
/// (`daemon::sloppy`), said once, at the first `tandem_bgp` block.
fn sloppy_note(cfg: &Config, out: &mut Vec<Diagnostic>) {
    let bgp = || cfg.virtual_servers.iter().filter(|v| v.bgp.is_some());
    let Some(first) = bgp().find_map(|v| v.bgp.as_ref()) else {
        return;
    };
    let sctp = bgp().any(|v| v.protocol == crate::config::model::Protocol::Sctp);
    let tcp = bgp().any(|v| v.protocol != crate::config::model::Protocol::Sctp);
    let what = match (tcp, sctp) {
        (true, true) => "net.ipv4.vs.sloppy_tcp=1 and sloppy_sctp=1",
        (false, true) => "net.ipv4.vs.sloppy_sctp=1",
        _ => "net.ipv4.vs.sloppy_tcp=1",
    };
    out.push(Diagnostic::at(
        Severity::Note,
        &first.origin,
        format!(
            "tandem_bgp: tandem sets {what} in its network namespace: the router may move a flow to this balancer in mid-stream, and IPVS schedules only a first packet without it"
        ),
    ));
}

/// Every balancer active: the router may send a flow's next packet to
/// another balancer, which must pick the same real server. `mh` (or `sh`)
/// does, and only when every node's IPVS holds the real servers in the
/// same order: with `inhibit_on_failure` a dead one stays (weight 0) and
/// the order is the configuration's; without it, one removed and added
/// back goes to the end on one node only.
fn consistent_hashing(vs: &VirtualServer, bgp: &BgpAnnounce, out: &mut Vec<Diagnostic>) {
    let sched = format!("{:?}", vs.lvs_sched).to_lowercase();
    if !matches!(vs.lvs_sched, LvsSched::Mh | LvsSched::Sh) {
        warning(
            out,
            &bgp.origin,
            format!(
                "virtual_server {}: tandem_bgp with lvs_sched {sched}: each balancer picks real servers on its own, so a flow the router moves to another balancer breaks; use mh",
                vs.key
            ),
        );
    } else if vs.real_servers.iter().any(|r| !r.inhibit_on_failure) {
        warning(
            out,
            &bgp.origin,
            format!(
                "virtual_server {}: tandem_bgp without inhibit_on_failure: a real server that fails and returns is re-added at the end of the table on one balancer only, and {sched} then maps flows differently there",
                vs.key
            ),
        );
    }
}
