//! From the configuration model to checkers, virtual-server state and the
//! mastership rule — everything the LVS task needs, built once at start-up.
//!
//! The model already carries keepalived's defaults and inheritance
//! (virtual server → real server → checker), so this is a mapping. The IPVS
//! side of it (services of a `virtual_server_group`, service settings,
//! destinations and their validation) is the reconciler's own
//! [`crate::ipvs::from_config`]; what is added here is the checkers,
//! deduplicated by [`CheckRunner::add`], and the mastership rule.
//!
//! Owns the start-up mapping; may not start the checkers or touch the kernel
//! (the daemon starts the runner it fills).

use std::net::SocketAddr;

use super::governance::Governance;
use super::governance::InstanceVips;
use super::model::{RealServerSpec, SorryServer, VirtualServerSpec};
use super::state::LvsState;
use crate::check::body_regex::UrlRegex;
use crate::check::spec::{
    CheckKind, CheckTiming, CheckerSpec, HttpGet, HttpProtocol, MiscCheck, StatusCodes, UrlCheck,
};
use crate::check::{CheckRunner, CheckerId};
use crate::config::model as m;
use crate::ipvs::from_config::{self as ipvs_map, FromConfigError};
use crate::ipvs::types::ServiceKey;
use crate::notify::script::{ScriptEnv, SetupError};

/// What the configuration could not be turned into.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Ipvs(#[from] FromConfigError),
    /// A script (`notify_up`, `quorum_down`, `MISC_CHECK`, ...) whose user
    /// does not exist or whose path `enable_script_security` refuses.
    #[error("{0}")]
    Script(#[from] SetupError),
    /// A url `regex` that does not compile (the configuration's own
    /// check refuses it first; this is for a model built by hand).
    #[error("invalid regex \"{pattern}\": {error}")]
    Regex {
        pattern: String,
        error: crate::config::regex::CompileError,
    },
}

/// A url's regex for its checker: compiled once here, shared by every probe.
fn url_regex(r: &m::UrlRegex) -> Result<UrlRegex, BuildError> {
    use crate::config::regex::{Pattern, option_bits};
    let options =
        option_bits(r.options.iter().map(String::as_str)).map_err(|w| BuildError::Regex {
            pattern: r.pattern.clone(),
            error: crate::config::regex::CompileError {
                offset: 0,
                message: format!("unknown option {w}"),
            },
        })?;
    let pattern = Pattern::compile(&r.pattern, options).map_err(|error| BuildError::Regex {
        pattern: r.pattern.clone(),
        error,
    })?;
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Ok(UrlRegex {
        text: r.pattern.clone(),
        options,
        pattern: std::sync::Arc::new(pattern),
        no_match: r.no_match,
        min_offset: r.min_offset,
        max_offset: r.max_offset,
        stack: r.stack.map(|(a, b)| (size(a), size(b))),
    })
}

/// The LVS side of a configuration, ready to run.
#[derive(Debug)]
pub struct Built {
    /// Every distinct checker.
    pub runner: CheckRunner,
    /// The virtual servers, in configuration order.
    pub state: LvsState,
    /// Which VRRP instance governs which virtual server.
    pub governance: Governance,
    /// How each virtual server is named in logs.
    pub names: Vec<String>,
    /// `ha_suspend`: the checkers that may be suspended.
    pub ha_suspend: HaSuspendPlan,
}

/// Each checker that feeds only `ha_suspend` virtual servers, with the
/// addresses of each of them: it is suspended while, for every one of
/// them, none of its addresses is configured on the node. A checker that
/// also feeds a virtual server without `ha_suspend` is not listed: it
/// always runs.
pub type HaSuspendPlan = Vec<(CheckerId, Vec<Vec<std::net::IpAddr>>)>;

/// The addresses of a virtual server's services (none for a fwmark).
fn service_addrs(services: &[crate::ipvs::Service]) -> Vec<std::net::IpAddr> {
    services
        .iter()
        .filter_map(|s| match s.key {
            ServiceKey::Addr { addr, .. } => Some(addr),
            ServiceKey::Fwmark { .. } => None,
        })
        .collect()
}

/// The addresses a virtual server's checks follow under `ha_suspend`;
/// `None` without it or with a fwmark service (a group's): those checks
/// always run, as keepalived clears such a virtual server's ha_suspend.
fn ha_suspend_addrs(
    vs: &m::VirtualServer,
    services: &[crate::ipvs::Service],
) -> Option<Vec<std::net::IpAddr>> {
    let fwmark = services
        .iter()
        .any(|s| matches!(s.key, ServiceKey::Fwmark { .. }));
    (vs.ha_suspend && !fwmark).then(|| service_addrs(services))
}

/// [`HaSuspendPlan`] from each virtual server's checkers and, if its
/// checks follow its addresses (`ha_suspend`, no fwmark), those addresses.
fn ha_suspend_plan(
    ha_addrs: &[Option<Vec<std::net::IpAddr>>],
    vs_checkers: &[Vec<CheckerId>],
) -> HaSuspendPlan {
    // None: some consumer runs it always.
    let mut by_checker: std::collections::BTreeMap<CheckerId, Option<Vec<Vec<std::net::IpAddr>>>> =
        std::collections::BTreeMap::new();
    for (addrs, ids) in ha_addrs.iter().zip(vs_checkers) {
        for id in ids {
            let entry = by_checker.entry(*id).or_insert_with(|| Some(Vec::new()));
            match (entry.as_mut(), addrs) {
                (Some(lists), Some(addrs)) => lists.push(addrs.clone()),
                _ => *entry = None,
            }
        }
    }
    by_checker
        .into_iter()
        .filter_map(|(id, lists)| Some((id, lists?)))
        .collect()
}

/// Build checkers, state and governance from a loaded configuration.
pub fn build(config: &m::Config) -> Result<Built, BuildError> {
    let env = ScriptEnv::new(&config.global_defs);
    let mut runner = CheckRunner::new();
    let mut specs = Vec::with_capacity(config.virtual_servers.len());
    let mut names = Vec::with_capacity(config.virtual_servers.len());
    let mut vs_addrs = Vec::with_capacity(config.virtual_servers.len());
    let mut ha_addrs = Vec::with_capacity(config.virtual_servers.len());
    let mut vs_checkers: Vec<Vec<CheckerId>> = Vec::with_capacity(config.virtual_servers.len());
    for vs in &config.virtual_servers {
        let services = ipvs_map::service_keys(config, vs)?
            .into_iter()
            .map(|key| ipvs_map::service(vs, key))
            .collect::<Result<Vec<_>, _>>()?;
        ha_addrs.push(ha_suspend_addrs(vs, &services));
        vs_addrs.push(service_addrs(&services));
        let mut real_servers = Vec::with_capacity(vs.real_servers.len());
        vs_checkers.push(Vec::new());
        for rs in &vs.real_servers {
            // Validated against every service (family, thresholds); the
            // weight is the logic's business.
            let mut dest = None;
            for s in &services {
                dest = Some(ipvs_map::destination(vs, &s.key, rs, rs.weight)?);
            }
            let mut checkers = Vec::with_capacity(rs.checkers.len());
            for c in &rs.checkers {
                let id: CheckerId = runner.add(checker_spec(
                    &env,
                    config.global_defs.checker_log_all_failures,
                    vs,
                    rs,
                    c,
                )?);
                checkers.push(id);
                if let Some(ids) = vs_checkers.last_mut() {
                    ids.push(id);
                }
            }
            real_servers.push(RealServerSpec {
                addr: SocketAddr::new(rs.address, rs.port),
                weight: rs.weight,
                inhibit_on_failure: rs.inhibit_on_failure,
                forward: dest
                    .as_ref()
                    .map_or(ipvs_map::forward(rs.lvs_method), |d| d.forward),
                u_threshold: dest.as_ref().map_or(0, |d| d.u_threshold),
                l_threshold: dest.as_ref().map_or(0, |d| d.l_threshold),
                notify_up: env.notify_opt("notify_up", rs.notify_up.as_deref())?,
                notify_down: env.notify_opt("notify_down", rs.notify_down.as_deref())?,
                checkers,
                file_checks: rs.file_checks.iter().map(file_check).collect(),
            });
        }
        let mut sorry_forward = None;
        if let Some(sorry) = &vs.sorry_server {
            for s in &services {
                sorry_forward = Some(ipvs_map::sorry_destination(vs, &s.key, sorry)?.forward);
            }
        }
        specs.push(VirtualServerSpec {
            services,
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
            quorum_up: env.notify_opt("quorum_up", vs.quorum_up.as_ref())?,
            quorum_down: env.notify_opt("quorum_down", vs.quorum_down.as_ref())?,
            sorry_server: vs.sorry_server.map(|s| SorryServer {
                addr: SocketAddr::new(s.address, s.port),
                weight: 1,
                inhibit: vs.sorry_server_inhibit,
                forward: sorry_forward.unwrap_or(ipvs_map::forward(s.lvs_method)),
            }),
            omega: vs.omega,
            real_servers,
        });
        names.push(vs.key.to_string());
    }
    let state = LvsState::new(specs, |c| runner.initial_up(c));
    let instances: Vec<InstanceVips> = config
        .vrrp_instances
        .iter()
        .map(|vi| InstanceVips {
            name: vi.name.clone(),
            vips: vi
                .virtual_ipaddress
                .iter()
                .chain(&vi.virtual_ipaddress_excluded)
                .map(|v| v.address)
                .collect(),
        })
        .collect();
    let governance = Governance::new(&instances, &vs_addrs);
    Ok(Built {
        runner,
        state,
        governance,
        names,
        ha_suspend: ha_suspend_plan(&ha_addrs, &vs_checkers),
    })
}

/// An HTTP_GET / SSL_GET as the checker takes it.
fn http(h: &m::HttpGet) -> Result<HttpGet, BuildError> {
    let urls = h
        .url
        .iter()
        .map(|u| {
            Ok(UrlCheck {
                path: u.path.clone(),
                digest: u.digest.map(|d| d.to_string()),
                status: if u.status_code.is_empty() {
                    StatusCodes::default()
                } else {
                    StatusCodes(u.status_code.iter().map(|r| (r.first, r.last)).collect())
                },
                virtualhost: u.virtualhost.clone(),
                regex: u.regex.as_ref().map(url_regex).transpose()?,
            })
        })
        .collect::<Result<_, BuildError>>()?;
    Ok(HttpGet {
        urls,
        protocol: match h.http_protocol {
            m::HttpProtocol::Http10 => HttpProtocol::Http10,
            m::HttpProtocol::Http10Close => HttpProtocol::Http10Close,
            m::HttpProtocol::Http11 => HttpProtocol::Http11,
        },
        // The model resolves virtualhost onto each url already.
        virtualhost: None,
        enable_sni: h.enable_sni,
    })
}

fn checker_spec(
    env: &ScriptEnv,
    log_all_failures: bool,
    vs: &m::VirtualServer,
    rs: &m::RealServer,
    c: &m::Checker,
) -> Result<CheckerSpec, BuildError> {
    let kind = match &c.kind {
        m::CheckerKind::HttpGet(h) => CheckKind::Http(http(h)?),
        m::CheckerKind::SslGet(h) => CheckKind::Ssl(http(h)?),
        m::CheckerKind::TcpCheck => CheckKind::Tcp,
        m::CheckerKind::PingCheck => CheckKind::Ping,
        m::CheckerKind::SmtpCheck(smtp) => CheckKind::Smtp(crate::check::SmtpCheck {
            helo_name: smtp.helo_name.clone(),
            real_server: SocketAddr::new(rs.address, rs.port),
        }),
        m::CheckerKind::UdpCheck(u) => CheckKind::Udp(crate::check::UdpCheck {
            payload: u
                .payload
                .clone()
                .unwrap_or_else(crate::check::udp::default_payload),
            require_reply: u.require_reply,
            reply_data: u.reply_data.clone(),
            reply_mask: u.reply_mask.clone(),
            min_reply_length: u.min_reply_length,
            max_reply_length: u.max_reply_length,
        }),
        m::CheckerKind::BfdCheck(b) => CheckKind::Bfd(crate::check::BfdCheck {
            name: b.name.clone(),
            // keepalived's "[address]:protocol:port".
            real_server: format!(
                "[{}]:{}:{}",
                rs.address,
                vs.protocol.name().to_ascii_lowercase(),
                rs.port
            ),
        }),
        m::CheckerKind::DnsCheck(d) => CheckKind::Dns(crate::check::DnsCheck {
            qtype: d.qtype.number(),
            name: d.name.clone(),
        }),
        m::CheckerKind::MiscCheck(misc) => {
            // Split and checked here, so that a bad line or user refuses
            // the configuration; the checker splits the same line again.
            let prepared = env.prepare(
                "MISC_CHECK misc_path",
                &misc.misc_path,
                misc.user.as_ref(),
                &c.origin,
            )?;
            let run_as = prepared.script.run_as;
            let (uid, gid) = (Some(run_as.uid), Some(run_as.gid));
            CheckKind::Misc(MiscCheck {
                path: misc.misc_path.clone(),
                timeout: Some(misc.misc_timeout),
                dynamic: misc.misc_dynamic,
                uid,
                gid,
            })
        }
    };
    Ok(CheckerSpec {
        kind,
        target: SocketAddr::new(c.connect_ip, c.connect_port),
        bindto: c.bindto,
        bind_port: c.bind_port,
        bind_if: c.bind_if.clone(),
        fwmark: c.fwmark,
        connect_timeout: c.connect_timeout,
        timing: CheckTiming {
            delay_loop: c.delay_loop,
            retry: c.retry,
            delay_before_retry: c.delay_before_retry,
            warmup: c.warmup,
            alpha: c.alpha || rs.alpha,
            log_all_failures: c.log_all_failures || log_all_failures,
        },
    })
}

/// A `FILE_CHECK` as the real-server logic takes it.
fn file_check(f: &m::FileCheck) -> crate::lvs::model::FileCheckSpec {
    crate::lvs::model::FileCheckSpec {
        track_file: f.track_file.clone(),
        weight: f.weight,
        reverse: f.reverse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Report;
    use crate::config::{LoadOptions, load_str};
    use crate::ipvs::types::{DestKey, Family, Forward, Scheduler, ServiceFlags};
    use std::path::Path;
    use std::time::Duration;

    fn load(text: &str) -> m::Config {
        let loaded = load_str(
            Path::new("test.conf"),
            text.to_string(),
            &LoadOptions::with_config_id("lb1"),
        );
        for d in &loaded.diagnostics {
            eprintln!("{d}");
        }
        loaded.config.expect("configuration loads")
    }

    fn weight(t: &crate::ipvs::types::Table, addr: &str) -> Option<i32> {
        let a: SocketAddr = addr.parse().unwrap();
        let vs = t.services.values().next()?;
        vs.destinations
            .get(&DestKey {
                addr: a.ip(),
                port: a.port(),
            })
            .map(|d| d.weight)
    }

    #[test]
    fn seed_configuration() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keepalived/seed.conf"
        ))
        .unwrap();
        let b = build(&load(&text)).unwrap();
        // Two real servers, one HTTP_GET each, checked as configured.
        assert_eq!(b.runner.len(), 2);
        let spec = b.runner.spec(CheckerId(0)).unwrap();
        assert_eq!(spec.target, "192.168.10.10:80".parse().unwrap());
        assert_eq!(spec.connect_timeout, Duration::from_secs(5));
        assert_eq!(spec.timing.delay_loop, Duration::from_secs(5));
        assert_eq!(spec.timing.retry, 3);
        assert_eq!(spec.timing.delay_before_retry, Duration::from_secs(3));
        match &spec.kind {
            CheckKind::Http(h) => {
                assert_eq!(h.urls.len(), 1);
                assert_eq!(h.urls[0].path, "/");
                assert_eq!(h.urls[0].status, StatusCodes(vec![(200, 200)]));
            }
            k => panic!("expected HTTP_GET, got {k:?}"),
        }
        // No vrrp_instance: always programmed.
        assert!(b.governance.programs(super::super::VsIndex(0), |_| false));
        let t = b.state.desired_table(|_| true);
        assert_eq!(t.services.len(), 1);
        let vs = t.services.values().next().unwrap();
        assert_eq!(vs.service.scheduler, Scheduler::Rr);
        assert_eq!(weight(&t, "192.168.10.10:80"), Some(1));
        assert_eq!(weight(&t, "192.168.10.11:80"), Some(1));
        // Both die: inhibit_on_failure keeps them at 0, the sorry server
        // (the seed's 192.168.1.2:80) takes the traffic.
        let mut state = b.state.clone();
        for c in 0..2 {
            state.on_check(&crate::check::CheckEvent {
                checker: CheckerId(c),
                report: Report::Down,
                detail: None,
            });
        }
        let t = state.desired_table(|_| true);
        assert_eq!(weight(&t, "192.168.10.10:80"), Some(0));
        assert_eq!(weight(&t, "192.168.10.11:80"), Some(0));
        assert_eq!(weight(&t, "192.168.1.2:80"), Some(1));
    }

    const TWO_VS: &str = r#"
vrrp_instance VI_OUT {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.2/24
    }
}
virtual_server 192.0.2.2 80 {
    delay_loop 2
    lvs_sched wrr
    persistence_timeout 300
    real_server 198.51.100.10 80 {
        weight 3
        HTTP_GET {
            url {
                path /health
                digest 9b3a0c85a887a256d6939da88aabd8cd
                status_code 200-299 302
            }
            connect_timeout 2
        }
    }
}
virtual_server 203.0.113.7 80 {
    delay_loop 2
    real_server 198.51.100.10 80 {
        HTTP_GET {
            url {
                path /health
                digest 9b3a0c85a887a256d6939da88aabd8cd
                status_code 200-299 302
            }
            connect_timeout 2
        }
    }
    real_server 198.51.100.11 80 {
        MISC_CHECK {
            misc_path "/bin/check 198.51.100.11"
            misc_dynamic
        }
    }
}
"#;

    #[test]
    fn same_check_in_two_virtual_servers_is_one_checker() {
        let b = build(&load(TWO_VS)).unwrap();
        // rs 198.51.100.10 checked identically by both virtual servers: one
        // checker; plus the MISC_CHECK.
        assert_eq!(b.runner.len(), 2);
        let spec = b.runner.spec(CheckerId(0)).unwrap();
        match &spec.kind {
            CheckKind::Http(h) => {
                assert_eq!(
                    h.urls[0].digest.as_deref(),
                    Some("9b3a0c85a887a256d6939da88aabd8cd")
                );
                assert_eq!(h.urls[0].status, StatusCodes(vec![(200, 299), (302, 302)]));
            }
            k => panic!("{k:?}"),
        }
        match &b.runner.spec(CheckerId(1)).unwrap().kind {
            CheckKind::Misc(misc) => {
                assert_eq!(misc.path, "/bin/check 198.51.100.11");
                assert!(misc.dynamic);
                // misc_timeout defaults to delay_loop.
                assert_eq!(misc.timeout, Some(Duration::from_secs(2)));
            }
            k => panic!("{k:?}"),
        }
        // The first follows VI_OUT, the second is nobody's VIP.
        let names = b.governance.describe(&b.names);
        assert!(names[0].contains("MASTER of VI_OUT"), "{names:?}");
        assert!(names[1].starts_with("warning:"), "{names:?}");
        let backup = b
            .state
            .desired_table(|v| b.governance.programs(v, |_| false));
        assert_eq!(backup.services.len(), 1, "only the unmatched one");
        let master = b
            .state
            .desired_table(|v| b.governance.programs(v, |n| n == "VI_OUT"));
        assert_eq!(master.services.len(), 2);
        let svc = master
            .services
            .values()
            .find(|s| matches!(s.service.key, ServiceKey::Addr { port: 80, addr, .. } if addr.to_string() == "192.0.2.2"))
            .unwrap();
        assert_eq!(svc.service.scheduler, Scheduler::Wrr);
        assert!(svc.service.flags.has(ServiceFlags::PERSISTENT));
        assert_eq!(svc.service.timeout, 300);
        assert_eq!(svc.destinations.values().next().map(|d| d.weight), Some(3));
    }

    #[test]
    fn script_users_follow_keepalived_rules() {
        // script_user applies where no user is named; a per-script user wins;
        // an unknown one refuses the configuration with its position.
        let text = |misc_user: &str, up_user: &str| {
            format!(
                "global_defs {{\n script_user nobody\n}}\n\
                 virtual_server 192.0.2.2 80 {{\n protocol TCP\n\
                 real_server 198.51.100.10 80 {{\n notify_up \"/bin/up x\"{up_user}\n notify_down /bin/down\n\
                 MISC_CHECK {{\n misc_path /bin/true\n{misc_user} }}\n }}\n}}\n"
            )
        };
        let b = build(&load(&text(" user daemon\n", " root"))).unwrap();
        match &b.runner.spec(CheckerId(0)).unwrap().kind {
            CheckKind::Misc(misc) => assert_eq!((misc.uid, misc.gid), (Some(1), Some(1))),
            k => panic!("{k:?}"),
        }
        let rs = &b.state.spec(crate::lvs::VsIndex(0)).unwrap().real_servers[0];
        let up = rs.notify_up.as_ref().unwrap();
        assert_eq!(up.argv, vec!["/bin/up".to_string(), "x".into()]);
        assert_eq!((up.run_as.uid, up.run_as.gid), (0, 0));
        let down = rs.notify_down.as_ref().unwrap();
        assert_eq!((down.run_as.uid, down.run_as.gid), (65534, 65534));
        let b = build(&load(&text("", ""))).unwrap();
        match &b.runner.spec(CheckerId(0)).unwrap().kind {
            CheckKind::Misc(misc) => {
                assert_eq!((misc.uid, misc.gid), (Some(65534), Some(65534)))
            }
            k => panic!("{k:?}"),
        }
        let e = build(&load(&text(" user tdm-nobody-here\n", ""))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("test.conf:11:7: MISC_CHECK misc_path: user \"tdm-nobody-here\""),
            "{e}"
        );
    }

    #[test]
    fn virtual_server_group_expands_to_services() {
        let text = r#"
virtual_server_group WEB {
    192.0.2.10-12 80
    fwmark 7
}
virtual_server group WEB {
    lvs_method DR
    persistence_timeout 60
    real_server 198.51.100.10 80 {
    }
}
"#;
        let b = build(&load(text)).unwrap();
        let t = b.state.desired_table(|_| true);
        assert_eq!(t.services.len(), 4, "{:?}", t.services.keys());
        for vs in t.services.values() {
            assert_eq!(vs.destinations.len(), 1);
            assert_eq!(
                vs.destinations.values().next().map(|d| d.forward),
                Some(Forward::Route)
            );
        }
        assert!(t.services.contains_key(&ServiceKey::Fwmark {
            family: Family::Inet,
            fwmark: 7
        }));
    }
}
