//! What the LVS task reports beyond logs and scripts ([`LvsReporting`]):
//! where the status and the mails go, the per-server facts they need
//! ([`VsInfo`]), and the last verdict and verdict counts of every checker.
//! Also [`Occasion`], why the task acts, which words its logs and mails.
//!
//! Data and bookkeeping owned by the LVS task; nothing here sends a mail,
//! writes the snapshot or runs a script.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::check::{CheckEvent, CheckerId, Report};
use crate::control::model::CheckResult;
use crate::lvs::{Action, LvsState, VsIndex};
use crate::notify::fifo::{Fifos, trio};
use crate::notify::mail::{Mailer, ServiceProtocol};
use crate::process::unix_ms_now;

use crate::daemon::status::StatusHub;

/// Why the LVS task acts: a check verdict, the start of the daemon, or a
/// reload (keepalived's quorum mails say "Starting with quorum up/down"
/// for the last two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    Check,
    Start,
    Reload,
    /// The daemon stops (`omega`): keepalived's "=> Shutting down <=".
    Stop,
}

/// What the LVS task reports beyond logs and scripts: the virtual servers in
/// the status snapshot, and e-mail alerts.
#[derive(Debug, Default)]
pub struct LvsReporting {
    pub status: Option<StatusHub>,
    pub mailer: Option<Mailer>,
    /// `notify_fifo` / `lvs_notify_fifo`: the VS and RS lines.
    pub fifos: Fifos,
    /// Per virtual server, in configuration order.
    pub servers: Vec<VsInfo>,
    /// The checker keyword of every checker (`HTTP_GET`, ...).
    pub checker_kinds: HashMap<CheckerId, &'static str>,
    /// The last verdict of every checker.
    pub(super) last: HashMap<CheckerId, CheckResult>,
    /// Verdicts counted per (virtual server, real server): (up, down).
    pub(super) verdicts: HashMap<(usize, SocketAddr), (u64, u64)>,
    /// (checker, virtual server, real server): the pairs each checker
    /// decides, sorted by checker. A flat list, not a map of lists: at
    /// 10,000 real servers the map was 2 MB.
    users: Vec<(CheckerId, usize, SocketAddr)>,
}

/// Facts about one `virtual_server` the status and the mails need.
#[derive(Debug, Clone)]
pub struct VsInfo {
    pub protocol: String,
    pub lvs_sched: String,
    pub lvs_method: String,
    /// Resolved `smtp_alert` of the virtual server (quorum mails).
    pub smtp_alert: bool,
    /// Resolved `smtp_alert` of each real server (up/down mails).
    pub rs_smtp_alert: HashMap<SocketAddr, bool>,
    /// Mail a checker's change that leaves its real server's state as it
    /// is (not `no_checker_emails`).
    pub checker_mails: bool,
    /// The virtual server in keepalived's FIFO lines (`format_vs`):
    /// `[192.0.2.1]:tcp:80`, `FWM 7`, `[GROUP]:0`.
    pub fifo_name: String,
    /// The protocol word of its real servers' FIFO lines (`tcp`, ...).
    pub fifo_protocol: &'static str,
    /// `tandem_bgp`, and the address it announces.
    pub bgp: Option<(crate::config::model::BgpAnnounce, std::net::IpAddr)>,
    /// `virtual_server group NAME`: the name.
    pub group: Option<String>,
    /// The service's family is IPv6.
    pub ipv6: bool,
    /// `snmp_name` of the virtual server, and of each real server that
    /// has one.
    pub snmp_name: Option<String>,
    pub rs_snmp_name: HashMap<SocketAddr, String>,
    /// The rest of what KEEPALIVED-MIB shows of the configuration.
    pub settings: crate::control::model::VsSettings,
}

impl VsInfo {
    /// One entry per `virtual_server`, in configuration order (the order
    /// of [`crate::lvs::build()`]).
    pub fn from_config(config: &crate::config::Config) -> Vec<VsInfo> {
        use crate::config::model::{AddressFamily, LvsMethod, Protocol, VirtualServerKey};
        config
            .virtual_servers
            .iter()
            .map(|vs| {
                let protocol = match vs.protocol {
                    Protocol::Tcp => ServiceProtocol::Tcp,
                    Protocol::Udp => ServiceProtocol::Udp,
                    Protocol::Sctp => ServiceProtocol::Sctp,
                };
                let fifo_protocol = match vs.protocol {
                    Protocol::Tcp => "tcp",
                    Protocol::Udp => "udp",
                    Protocol::Sctp => "sctp",
                };
                let fifo_name = match &vs.key {
                    VirtualServerKey::Address { address, port } => {
                        trio(*address, fifo_protocol, *port)
                    }
                    VirtualServerKey::Fwmark { fwmark } => format!("FWM {fwmark}"),
                    VirtualServerKey::Group { name } => format!("[{name}]:0"),
                };
                let bgp = match (&vs.bgp, &vs.key) {
                    (Some(b), VirtualServerKey::Address { address, .. }) => {
                        Some((b.clone(), *address))
                    }
                    _ => None,
                };
                VsInfo {
                    bgp,
                    fifo_name,
                    fifo_protocol,
                    protocol: protocol.to_string(),
                    lvs_sched: format!("{:?}", vs.lvs_sched).to_lowercase(),
                    lvs_method: match vs.lvs_method {
                        LvsMethod::Nat => "NAT",
                        LvsMethod::Dr => "DR",
                        LvsMethod::Tun => "TUN",
                    }
                    .to_string(),
                    smtp_alert: vs.smtp_alert,
                    rs_smtp_alert: vs
                        .real_servers
                        .iter()
                        .map(|r| (SocketAddr::new(r.address, r.port), r.smtp_alert))
                        .collect(),
                    checker_mails: !config.global_defs.no_checker_emails,
                    group: match &vs.key {
                        VirtualServerKey::Group { name } => Some(name.clone()),
                        _ => None,
                    },
                    ipv6: vs.family == AddressFamily::Inet6,
                    snmp_name: vs.snmp_name.clone(),
                    settings: settings(vs),
                    rs_snmp_name: vs
                        .real_servers
                        .iter()
                        .filter_map(|r| {
                            let name = r.snmp_name.clone()?;
                            Some((SocketAddr::new(r.address, r.port), name))
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

fn method_name(m: crate::config::model::LvsMethod) -> String {
    use crate::config::model::LvsMethod;
    match m {
        LvsMethod::Nat => "NAT",
        LvsMethod::Dr => "DR",
        LvsMethod::Tun => "TUN",
    }
    .to_string()
}

fn settings(vs: &crate::config::model::VirtualServer) -> crate::control::model::VsSettings {
    crate::control::model::VsSettings {
        persistence_timeout_s: vs.persistence_timeout.map(|d| d.as_secs()),
        delay_loop_s: vs.delay_loop.as_secs(),
        alpha: vs.alpha,
        omega: vs.omega,
        ha_suspend: vs.ha_suspend,
        ops: vs.ops,
        sorry_lvs_method: vs.sorry_server.map(|s| method_name(s.lvs_method)),
        rs_lvs_method: vs
            .real_servers
            .iter()
            .map(|r| method_name(r.lvs_method))
            .collect(),
        rs_alpha: vs.real_servers.iter().map(|r| r.alpha).collect(),
    }
}

impl LvsReporting {
    /// Reporting to `status` and `mailer`, with no verdict recorded yet.
    pub(super) fn new(
        status: Option<StatusHub>,
        (mailer, fifos): (Option<Mailer>, Fifos),
        servers: Vec<VsInfo>,
        checker_kinds: HashMap<CheckerId, &'static str>,
    ) -> Self {
        LvsReporting {
            status,
            mailer,
            fifos,
            servers,
            checker_kinds,
            ..LvsReporting::default()
        }
    }

    /// keepalived's FIFO line for an action (`ipwrapper.c`: written where
    /// the notify_up/down and quorum_up/down scripts run).
    pub(super) fn fifo(&self, action: &Action) {
        let vs_of = |vs: &VsIndex| self.servers.get(vs.0);
        match action {
            Action::RealServerUp { vs, rs, .. } | Action::RealServerDown { vs, rs, .. } => {
                if let Some(info) = vs_of(vs) {
                    let up = matches!(action, Action::RealServerUp { .. });
                    let rs = trio(rs.ip(), info.fifo_protocol, rs.port());
                    self.fifos.real_server(&rs, &info.fifo_name, up);
                }
            }
            Action::QuorumUp { vs, .. } | Action::QuorumDown { vs, .. } => {
                if let Some(info) = vs_of(vs) {
                    let up = matches!(action, Action::QuorumUp { .. });
                    self.fifos.virtual_server(&info.fifo_name, up);
                }
            }
            Action::CheckerChanged { .. } => {}
        }
    }

    /// Remember which (virtual server, real server) pairs each checker
    /// decides, for the verdict counters.
    pub(super) fn index(&mut self, state: &LvsState) {
        self.users.clear();
        for v in 0..state.len() {
            if let Some(spec) = state.spec(VsIndex(v)) {
                for rs in &spec.real_servers {
                    for c in &rs.checkers {
                        self.users.push((*c, v, rs.addr));
                    }
                }
            }
        }
        // Stable: a checker's pairs stay in configuration order.
        self.users.sort_by_key(|u| u.0);
        self.users.shrink_to_fit();
    }

    pub(super) fn record(&mut self, event: &CheckEvent) {
        let ok = !matches!(event.report, Report::Down);
        let reason = match (&event.report, &event.detail) {
            (Report::Down, Some(d)) => d.clone(),
            (Report::Down, None) => "failed".to_string(),
            (Report::Weight(w), _) => format!("passed, weight {w}"),
            (Report::Up, _) => "passed".to_string(),
        };
        self.last.insert(
            event.checker,
            CheckResult {
                checker: self
                    .checker_kinds
                    .get(&event.checker)
                    .copied()
                    .unwrap_or("check")
                    .to_string(),
                ok,
                reason,
                at_unix_ms: unix_ms_now(),
                duration_ms: 0,
            },
        );
        let first = self.users.partition_point(|u| u.0 < event.checker);
        for &(_, vs, rs) in self.users[first..]
            .iter()
            .take_while(|u| u.0 == event.checker)
        {
            let e = self.verdicts.entry((vs, rs)).or_default();
            if ok {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
}
