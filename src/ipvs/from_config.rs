//! keepalived.conf virtual servers -> the IPVS table types.
//!
//! The configuration model ([`crate::config`]) says what the operator
//! wrote, with keepalived's defaults applied; this module says what that
//! means in IPVS terms:
//!
//! | keepalived.conf                     | IPVS                                         |
//! |-------------------------------------|----------------------------------------------|
//! | `virtual_server IP PORT` + protocol | service `<protocol, address, port>`          |
//! | `virtual_server fwmark N`           | service `<family, fwmark>` (`ip_family`)     |
//! | `virtual_server group NAME`         | one service per address/fwmark of the group  |
//! | `lvs_sched` / `lb_algo`             | scheduler name                               |
//! | `persistence_timeout`               | `IP_VS_SVC_F_PERSISTENT` + timeout           |
//! | `persistence_granularity`           | netmask (IPv4) / prefix length (IPv6)        |
//! | `persistence_engine`                | persistence engine name (`pe_name`)          |
//! | `ops`                               | `IP_VS_SVC_F_ONEPACKET`                      |
//! | `lvs_method NAT / DR / TUN`         | forwarding masq / route / tunnel             |
//! | `TUN type ipip/gue port N/gre`      | tunnel type, GUE port                        |
//! | `TUN ... nocsum / csum / remcsum`   | tunnel checksum flags                        |
//! | `flag-1..3`, `sh-/mh-fallback/port` | `IP_VS_SVC_F_SCHED1..3`                      |
//! | `real_server IP PORT`, `weight`     | destination and weight                       |
//! | `uthreshold` / `lthreshold`         | upper / lower connection thresholds          |
//! | `lvs_flush_on_stop`                 | [`StopPolicy`]                               |
//!
//! Which real servers are in the table at a given moment (health checks,
//! `inhibit_on_failure`, quorum and the sorry server) is the `lvs` module's
//! business: it calls [`service_keys`], [`service`], [`destination`] and
//! [`sorry_destination`] to build its table. [`table_all_up`] is the table
//! with every real server up at its configured weight, which is what
//! `tandem ipvs apply -f` programs.
//!
//! Owns the mapping only; may not judge real servers' health nor touch the
//! kernel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::config::{
    self, AddressFamily, Config, LoadOptions, LvsFlushOnStop, LvsMethod, RealServer, SorryServer,
    Tunnel, TunnelChecksum, VirtualServer, VirtualServerKey, VsgEntry,
};

use super::reconcile::StopPolicy;
use super::types::{
    Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
    Table, TunnelFlags, TunnelType,
};

/// At most this many services from one `virtual_server_group` range, so
/// that a typo like `10.0.0.0/8` is an error, not 16 million services.
pub const MAX_RANGE: u128 = 65_536;

/// Why a configuration does not give a valid IPVS table.
#[derive(Debug, thiserror::Error)]
pub enum FromConfigError {
    /// The configuration did not load; the diagnostics, one per line.
    #[error("{0}")]
    Config(String),
    /// A virtual server IPVS would refuse; `at` is file:line:col.
    #[error("{at}: virtual_server {what}: {why}")]
    Invalid {
        at: String,
        what: String,
        why: String,
    },
}

fn invalid(vs: &VirtualServer, why: impl Into<String>) -> FromConfigError {
    FromConfigError::Invalid {
        at: vs.origin.to_string(),
        what: vs.key.to_string(),
        why: why.into(),
    }
}

fn family(f: AddressFamily) -> Family {
    match f {
        AddressFamily::Inet => Family::Inet,
        AddressFamily::Inet6 => Family::Inet6,
    }
}

fn protocol(p: config::Protocol) -> Protocol {
    match p {
        config::Protocol::Tcp => Protocol::Tcp,
        config::Protocol::Udp => Protocol::Udp,
        config::Protocol::Sctp => Protocol::Sctp,
    }
}

/// The forwarding method of `lvs_method` (a TUN with the default
/// IP-in-IP encapsulation; see [`forward_with`]).
pub fn forward(m: LvsMethod) -> Forward {
    match m {
        LvsMethod::Nat => Forward::Masq,
        LvsMethod::Dr => Forward::Route,
        LvsMethod::Tun => Forward::TUNNEL,
    }
}

/// The forwarding method of `lvs_method TUN [type ipip|gue port N|gre]
/// [nocsum|csum|remcsum]` (or NAT / DR, which have no options).
pub fn forward_with(m: LvsMethod, t: &Tunnel) -> Forward {
    match m {
        LvsMethod::Tun => Forward::Tunnel {
            tun_type: match t.tunnel_type {
                config::TunnelType::Ipip => TunnelType::Ipip,
                config::TunnelType::Gue => TunnelType::Gue,
                config::TunnelType::Gre => TunnelType::Gre,
            },
            port: t.port,
            flags: TunnelFlags(match t.checksum {
                TunnelChecksum::Nocsum => 0,
                TunnelChecksum::Csum => TunnelFlags::CSUM,
                TunnelChecksum::Remcsum => TunnelFlags::REMCSUM,
            }),
        },
        other => forward(other),
    }
}

/// What tandem does to the IPVS table when it stops, from `lvs_flush_on_stop`.
/// Without the keyword keepalived removes the virtual servers it added
/// (unless run with `--dont-release-ipvs`), and so does tandem.
pub fn stop_policy(f: LvsFlushOnStop) -> StopPolicy {
    match f {
        LvsFlushOnStop::No | LvsFlushOnStop::Vs => StopPolicy::RemoveOwned,
        LvsFlushOnStop::All => StopPolicy::Flush,
    }
}

/// Every address from `first` to `last`, both included.
fn range(first: IpAddr, last: IpAddr) -> Option<Vec<IpAddr>> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if a > b || u128::from(b - a) >= MAX_RANGE {
                return None;
            }
            Some((a..=b).map(|n| IpAddr::V4(Ipv4Addr::from(n))).collect())
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if a > b || b - a >= MAX_RANGE {
                return None;
            }
            Some((a..=b).map(|n| IpAddr::V6(Ipv6Addr::from(n))).collect())
        }
        _ => None,
    }
}

/// The IPVS services a virtual server stands for: one, or one per address
/// and fwmark of its `virtual_server_group`.
pub fn service_keys(
    config: &Config,
    vs: &VirtualServer,
) -> Result<Vec<ServiceKey>, FromConfigError> {
    let proto = protocol(vs.protocol);
    match &vs.key {
        VirtualServerKey::Address { address, port } => Ok(vec![ServiceKey::Addr {
            protocol: proto,
            addr: *address,
            port: *port,
        }]),
        VirtualServerKey::Fwmark { fwmark } => Ok(vec![ServiceKey::Fwmark {
            family: family(vs.family),
            fwmark: *fwmark,
        }]),
        VirtualServerKey::Group { name } => {
            let group = config
                .virtual_server_group(name)
                .ok_or_else(|| invalid(vs, format!("no virtual_server_group {name}")))?;
            let mut keys = Vec::new();
            for e in &group.entries {
                match e {
                    VsgEntry::Range { first, last, port } => {
                        let addrs = range(*first, *last).ok_or_else(|| {
                            invalid(
                                vs,
                                format!(
                                    "group {name}: range {first}-{last} is reversed, mixes families or holds more than {MAX_RANGE} addresses"
                                ),
                            )
                        })?;
                        keys.extend(addrs.into_iter().map(|addr| ServiceKey::Addr {
                            protocol: proto,
                            addr,
                            port: *port,
                        }));
                    }
                    VsgEntry::Fwmark { fwmark, family: f } => keys.push(ServiceKey::Fwmark {
                        family: family(f.unwrap_or(vs.family)),
                        fwmark: *fwmark,
                    }),
                }
            }
            Ok(keys)
        }
    }
}

/// The service settings of `vs` for `key` (one of [`service_keys`]).
pub fn service(vs: &VirtualServer, key: ServiceKey) -> Result<Service, FromConfigError> {
    let fam = key.family();
    let mut svc = Service::new(key, Scheduler::from(vs.lvs_sched.name().to_owned()));
    if let Some(t) = vs.persistence_timeout {
        svc.flags.0 |= ServiceFlags::PERSISTENT;
        // The kernel keeps whole seconds; a sub-second timeout is one second.
        svc.timeout = u32::try_from(t.as_secs().max(1)).unwrap_or(u32::MAX);
    }
    if let Some(prefix) = vs.persistence_granularity {
        svc.netmask = match fam {
            Family::Inet if prefix <= 32 => Netmask::V4(Ipv4Addr::from(
                u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0),
            )),
            Family::Inet6 if (1..=128).contains(&prefix) => Netmask::V6(prefix),
            _ => {
                return Err(invalid(
                    vs,
                    format!("persistence_granularity /{prefix} does not fit an {fam:?} service"),
                ));
            }
        };
    }
    svc.pe_name = vs.persistence_engine.clone();
    let f = vs.sched_flags;
    for (on, bit) in [
        (f.flag_1, ServiceFlags::SCHED1),
        (f.flag_2, ServiceFlags::SCHED2),
        (f.flag_3, ServiceFlags::SCHED3),
    ] {
        if on {
            svc.flags.0 |= bit;
        }
    }
    if vs.ops {
        if !matches!(
            key,
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                ..
            }
        ) {
            return Err(invalid(
                vs,
                "ops (one-packet scheduling) needs protocol UDP",
            ));
        }
        svc.flags.0 |= ServiceFlags::ONEPACKET;
    }
    Ok(svc)
}

/// The destination of real server `rs` of `vs`, at `weight` (its
/// configured weight when up; 0 when inhibited).
pub fn destination(
    vs: &VirtualServer,
    key: &ServiceKey,
    rs: &RealServer,
    weight: u32,
) -> Result<Destination, FromConfigError> {
    let fwd = forward_with(rs.lvs_method, &rs.tunnel);
    check_family(vs, key, &rs.address, fwd)?;
    let weight = i32::try_from(weight).map_err(|_| {
        invalid(
            vs,
            format!("real_server {}: weight {weight} too large", rs.address),
        )
    })?;
    let mut d = Destination::new(rs.address, rs.port, fwd, weight);
    d.u_threshold = rs.uthreshold.unwrap_or(0);
    d.l_threshold = rs.lthreshold.unwrap_or(0);
    if d.l_threshold > d.u_threshold && d.u_threshold != 0 {
        return Err(invalid(
            vs,
            format!(
                "real_server {}: lthreshold {} above uthreshold {}",
                rs.address, d.l_threshold, d.u_threshold
            ),
        ));
    }
    if d.u_threshold == 0 && d.l_threshold != 0 {
        // The kernel refuses a lower threshold above the upper one, and an
        // absent upper threshold is 0.
        return Err(invalid(
            vs,
            format!("real_server {}: lthreshold without uthreshold", rs.address),
        ));
    }
    Ok(d)
}

/// The sorry server of `vs` as a destination (weight 1).
pub fn sorry_destination(
    vs: &VirtualServer,
    key: &ServiceKey,
    sorry: &SorryServer,
) -> Result<Destination, FromConfigError> {
    let fwd = forward_with(sorry.lvs_method, &sorry.tunnel);
    check_family(vs, key, &sorry.address, fwd)?;
    Ok(Destination::new(sorry.address, sorry.port, fwd, 1))
}

/// IPVS forwards to a destination of the other family only through a tunnel.
fn check_family(
    vs: &VirtualServer,
    key: &ServiceKey,
    addr: &IpAddr,
    fwd: Forward,
) -> Result<(), FromConfigError> {
    if Family::of(addr) != key.family() && !matches!(fwd, Forward::Tunnel { .. }) {
        return Err(invalid(
            vs,
            format!(
                "real server {addr} is not {:?} like the service; mixing families needs lvs_method TUN",
                key.family()
            ),
        ));
    }
    Ok(())
}

/// The table with every real server up at its configured weight.
pub fn table_all_up(config: &Config) -> Result<Table, FromConfigError> {
    let mut t = Table::new();
    for vs in &config.virtual_servers {
        for key in service_keys(config, vs)? {
            if t.services.contains_key(&key) {
                return Err(invalid(vs, format!("service {key} is defined twice")));
            }
            t.insert_service(service(vs, key)?);
            for rs in &vs.real_servers {
                let d = destination(vs, &key, rs, rs.weight)?;
                if !t.insert_dest(&key, d) {
                    return Err(invalid(vs, "internal: service missing"));
                }
            }
        }
    }
    Ok(t)
}

/// Read `path` and build [`table_all_up`]; also returns `lvs_flush`.
pub fn load(path: &Path, config_id: Option<&str>) -> Result<(Table, bool), FromConfigError> {
    let opts = match config_id {
        Some(id) => LoadOptions::with_config_id(id),
        None => LoadOptions::default(),
    };
    let loaded = config::load(path, &opts);
    let Some(cfg) = loaded.config else {
        let lines: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        return Err(FromConfigError::Config(lines.join("\n")));
    };
    Ok((table_all_up(&cfg)?, cfg.global_defs.lvs_flush))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn table(text: &str) -> Result<Table, FromConfigError> {
        let loaded = load_str(
            Path::new("test.conf"),
            text.to_owned(),
            &LoadOptions::with_config_id("t"),
        );
        let errors: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        let cfg = loaded
            .config
            .unwrap_or_else(|| panic!("config errors: {errors:?}"));
        table_all_up(&cfg)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn nat_service_with_defaults() {
        let t = table(
            "virtual_server 192.0.2.10 80 {
               protocol TCP
               lb_algo rr
               real_server 198.51.100.1 80 { weight 2 }
               real_server 198.51.100.2 8080 { }
             }",
        )
        .unwrap();
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip("192.0.2.10"),
            port: 80,
        };
        let vs = &t.services[&key];
        assert_eq!(vs.service, Service::new(key, Scheduler::Rr));
        let ds: Vec<_> = vs.destinations.values().cloned().collect();
        assert_eq!(
            ds,
            vec![
                Destination::new(ip("198.51.100.1"), 80, Forward::Masq, 2),
                Destination::new(ip("198.51.100.2"), 8080, Forward::Masq, 1),
            ]
        );
    }

    #[test]
    fn persistence_dr_tun_thresholds_and_default_scheduler() {
        let t = table(
            "virtual_server 192.0.2.20 443 {
               lvs_method DR
               persistence_timeout 300
               persistence_granularity 255.255.255.0
               real_server 198.51.100.3 443 {
                 uthreshold 100
                 lthreshold 10
               }
               real_server 198.51.100.4 443 { lvs_method TUN }
             }",
        )
        .unwrap();
        let vs = t.services.values().next().unwrap();
        assert_eq!(vs.service.scheduler, Scheduler::Wlc);
        assert_eq!(vs.service.flags, ServiceFlags(ServiceFlags::PERSISTENT));
        assert_eq!(vs.service.timeout, 300);
        assert_eq!(
            vs.service.netmask,
            Netmask::V4("255.255.255.0".parse().unwrap())
        );
        let d3 = &vs.destinations.values().next().unwrap();
        assert_eq!(d3.forward, Forward::Route);
        assert_eq!((d3.u_threshold, d3.l_threshold), (100, 10));
        let d4 = vs.destinations.values().nth(1).unwrap();
        assert!(matches!(
            d4.forward,
            Forward::Tunnel {
                tun_type: TunnelType::Ipip,
                ..
            }
        ));
    }

    #[test]
    fn persistence_engine_names_the_service_s_pe() {
        let t = table(
            "virtual_server 192.0.2.44 5060 {
               protocol UDP
               persistence_timeout 60
               persistence_engine sip
               real_server 198.51.100.66 5060 { }
             }
             virtual_server 192.0.2.45 5060 {
               protocol UDP
               persistence_timeout 60
               real_server 198.51.100.66 5060 { }
             }",
        )
        .unwrap();
        let pe: Vec<Option<&str>> = t
            .services
            .values()
            .map(|v| v.service.pe_name.as_deref())
            .collect();
        assert_eq!(pe, [Some("sip"), None]);
    }

    #[test]
    fn ipv6_fwmark_and_udp_ops() {
        let t = table(
            "virtual_server fwmark 7 {
               ip_family inet6
               lb_algo sh
               persistence_timeout 60
               persistence_granularity 64
               real_server 2001:db8:1::2 0 { }
             }
             virtual_server 192.0.2.21 53 {
               protocol UDP
               ops
               real_server 198.51.100.5 53 { }
             }",
        )
        .unwrap();
        let fwm = ServiceKey::Fwmark {
            family: Family::Inet6,
            fwmark: 7,
        };
        let s = &t.services[&fwm].service;
        assert_eq!(s.scheduler, Scheduler::Sh);
        assert_eq!(s.netmask, Netmask::V6(64));
        let dns = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: ip("192.0.2.21"),
            port: 53,
        };
        assert_eq!(
            t.services[&dns].service.flags,
            ServiceFlags(ServiceFlags::ONEPACKET)
        );
    }

    #[test]
    fn tunnel_types_and_scheduler_flags() {
        let t = table(
            "virtual_server 2001:db8::10 80 {
               lvs_sched mh
               mh-port
               mh-fallback
               real_server 2001:db8:1::2 80 {
                 lvs_method TUN type gue port 6080 csum
               }
               real_server 2001:db8:1::3 80 {
                 lvs_method TUN type gre
               }
               real_server 198.51.100.9 80 {
                 lvs_method TUN
               }
             }",
        )
        .unwrap();
        let vs = t.services.values().next().unwrap();
        assert_eq!(
            vs.service.flags,
            ServiceFlags(ServiceFlags::SCHED1 | ServiceFlags::SCHED2)
        );
        let fwd: Vec<Forward> = vs.destinations.values().map(|d| d.forward).collect();
        assert_eq!(
            fwd,
            [
                Forward::TUNNEL,
                Forward::Tunnel {
                    tun_type: TunnelType::Gue,
                    port: 6080,
                    flags: TunnelFlags(TunnelFlags::CSUM)
                },
                Forward::Tunnel {
                    tun_type: TunnelType::Gre,
                    port: 0,
                    flags: TunnelFlags(0)
                },
            ]
        );
    }

    #[test]
    fn group_expands_to_one_service_per_address_and_fwmark() {
        let t = table(
            "virtual_server_group web {
               192.0.2.30-32 80
               fwmark 9
             }
             virtual_server group web {
               protocol TCP
               lb_algo rr
               real_server 198.51.100.1 80 { }
             }",
        )
        .unwrap();
        let keys: Vec<String> = t.services.keys().map(|k| k.to_string()).collect();
        assert_eq!(
            keys,
            [
                "TCP 192.0.2.30:80",
                "TCP 192.0.2.31:80",
                "TCP 192.0.2.32:80",
                "FWM 9"
            ]
        );
        assert!(t.services.values().all(|v| v.destinations.len() == 1));
    }

    fn config(text: &str) -> Config {
        let loaded = load_str(
            Path::new("test.conf"),
            text.to_owned(),
            &LoadOptions::with_config_id("t"),
        );
        let errors: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        loaded
            .config
            .unwrap_or_else(|| panic!("config errors: {errors:?}"))
    }

    /// The configuration checks catch these first; the mapping refuses them
    /// too, for the callers (the `lvs` module) that build entries from
    /// model values of their own.
    #[test]
    fn refusals_name_the_place_and_the_reason() {
        let text = "virtual_server 192.0.2.10 80 {
               protocol TCP
               real_server 198.51.100.1 80 { }
             }";
        let mut c = config(text);
        c.virtual_servers[0].real_servers[0].address = ip("2001:db8:1::1");
        let e = table_all_up(&c).unwrap_err().to_string();
        assert!(
            e.starts_with("test.conf:1:1: virtual_server 192.0.2.10:80:"),
            "{e}"
        );
        assert!(e.contains("mixing families needs lvs_method TUN"), "{e}");
        // Through a tunnel the families may differ.
        c.virtual_servers[0].real_servers[0].lvs_method = LvsMethod::Tun;
        assert!(table_all_up(&c).is_ok());

        let mut c = config(text);
        c.virtual_servers[0].real_servers[0].uthreshold = Some(10);
        c.virtual_servers[0].real_servers[0].lthreshold = Some(20);
        let e = table_all_up(&c).unwrap_err().to_string();
        assert!(e.contains("lthreshold 20 above uthreshold 10"), "{e}");

        let mut c = config(text);
        c.virtual_servers[0].ops = true;
        let e = table_all_up(&c).unwrap_err().to_string();
        assert!(
            e.contains("ops (one-packet scheduling) needs protocol UDP"),
            "{e}"
        );

        let mut c = config(text);
        c.virtual_servers[0].real_servers[0].weight = u32::MAX;
        let e = table_all_up(&c).unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");

        let mut c = config(text);
        c.virtual_servers.push(c.virtual_servers[0].clone());
        let e = table_all_up(&c).unwrap_err().to_string();
        assert!(e.contains("defined twice"), "{e}");
    }

    #[test]
    fn seed_configuration_maps() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keepalived/seed.conf");
        let (t, _flush) = load(&path, Some("lb1")).unwrap();
        assert!(!t.services.is_empty());
        assert!(t.dest_count() > 0);
    }

    #[test]
    fn stop_policy_follows_lvs_flush_on_stop() {
        assert_eq!(stop_policy(LvsFlushOnStop::No), StopPolicy::RemoveOwned);
        assert_eq!(stop_policy(LvsFlushOnStop::Vs), StopPolicy::RemoveOwned);
        assert_eq!(stop_policy(LvsFlushOnStop::All), StopPolicy::Flush);
    }
}
