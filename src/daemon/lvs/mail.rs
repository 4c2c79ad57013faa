//! The LVS side's e-mail alerts, worded as keepalived words them: a real
//! server up or down, one checker's change, a quorum gained or lost
//! ([`Mails::alert_for`]), and the real servers a reload removes
//! ([`removal_alerts`]).
//!
//! Builds alerts only, from the LVS state and the resolved `smtp_alert`
//! switches; the LVS task hands them to the mailer (which never waits).
//! Nothing here changes a verdict or the table.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use crate::check::CheckerId;
use crate::ipvs::types::{Protocol, ServiceKey};
use crate::lvs::{Action, LvsState, VirtualServerSpec, VsIndex};
use crate::notify::mail::{Alert, ServiceName, ServiceProtocol};

use super::reporting::{LvsReporting, Occasion, VsInfo};

/// What the mails of the LVS task are written from.
pub(super) struct Mails<'a> {
    pub(super) state: &'a LvsState,
    pub(super) reporting: &'a LvsReporting,
}

impl Mails<'_> {
    /// The mail for one action, if its `smtp_alert` says so.
    pub(super) fn alert_for(&self, action: &Action, occasion: Occasion) -> Option<Alert> {
        match action {
            Action::RealServerUp {
                vs, rs, checker, ..
            } => self.real_server(*vs, *rs, (true, *checker, None), occasion),
            Action::RealServerDown {
                vs,
                rs,
                checker,
                reason,
                ..
            } => self.real_server(*vs, *rs, (false, *checker, reason.as_ref()), occasion),
            Action::CheckerChanged {
                vs,
                rs,
                checker,
                passed,
                alive,
                reason,
            } => self.checker(*vs, *rs, *checker, (*passed, *alive), reason.as_ref()),
            Action::QuorumUp { vs, .. } => self.quorum(*vs, true, occasion),
            Action::QuorumDown { vs, .. } => self.quorum(*vs, false, occasion),
        }
    }

    /// A virtual server's spec, its name in mails, and its facts.
    fn virtual_server(
        &self,
        vs: VsIndex,
    ) -> Option<(&VirtualServerSpec, ServiceName, Option<&VsInfo>)> {
        let spec = self.state.spec(vs)?;
        let name = vs_mail_name(spec)?;
        Some((spec, name, self.reporting.servers.get(vs.0)))
    }

    /// "Realserver ... - UP/DOWN" (the verdict of `checker`, with the
    /// reason of a failure), or "=> Shutting down <=" when the daemon stops.
    fn real_server(
        &self,
        vs: VsIndex,
        rs: SocketAddr,
        (up, checker, reason): (bool, Option<CheckerId>, Option<&String>),
        occasion: Occasion,
    ) -> Option<Alert> {
        let (_, name, info) = self.virtual_server(vs)?;
        let on = info
            .and_then(|i| i.rs_smtp_alert.get(&rs).copied())
            .unwrap_or(false);
        if !on {
            return None;
        }
        if occasion == Occasion::Stop {
            return Some(Alert::RealServerRemoved {
                real_server: rs_mail_name(&name, rs),
                virtual_server: name,
                shutting_down: true,
            });
        }
        let (checker, reason) = self.words(checker, reason.cloned());
        Some(Alert::RealServer {
            real_server: rs_mail_name(&name, rs),
            virtual_server: name,
            up,
            checker,
            reason,
        })
    }

    /// One checker of a real server changed, the real server did not
    /// (not sent with `no_checker_emails`).
    fn checker(
        &self,
        vs: VsIndex,
        rs: SocketAddr,
        checker: CheckerId,
        (passed, alive): (bool, bool),
        reason: Option<&String>,
    ) -> Option<Alert> {
        let (_, name, info) = self.virtual_server(vs)?;
        let on = info
            .is_some_and(|i| i.checker_mails && i.rs_smtp_alert.get(&rs).copied().unwrap_or(false));
        if !on {
            return None;
        }
        let reason = if passed { None } else { reason.cloned() };
        let (checker, reason) = self.words(Some(checker), reason);
        Some(Alert::Checker {
            real_server: rs_mail_name(&name, rs),
            virtual_server: name,
            alive,
            passed,
            checker,
            reason,
        })
    }

    /// A quorum gained or lost (at start and reload: "Starting with ..."),
    /// or "=> Shutting down <=" when the daemon stops.
    fn quorum(&self, vs: VsIndex, up: bool, occasion: Occasion) -> Option<Alert> {
        let (spec, name, info) = self.virtual_server(vs)?;
        if !info.is_some_and(|i| i.smtp_alert) {
            return None;
        }
        if occasion == Occasion::Stop {
            return Some(Alert::Other {
                subject: format!("Virtualserver {name} - DOWN"),
                body: "=> Shutting down <=".into(),
            });
        }
        let weight_sum: i64 = spec
            .real_servers
            .iter()
            .enumerate()
            .filter(|(r, _)| self.state.real_server_alive(vs, *r) == Some(true))
            .map(|(_, r)| i64::from(r.weight))
            .sum();
        let (q, h) = (i64::from(spec.quorum), i64::from(spec.hysteresis));
        // keepalived's threshold is the one the state crossed: up from
        // below needs quorum + hysteresis, down from above quorum -
        // hysteresis; at start the state was down.
        let from_below = up || occasion == Occasion::Start;
        Some(Alert::Quorum {
            virtual_server: name,
            up,
            initial: occasion != Occasion::Check,
            quorum: spec.quorum,
            hysteresis: spec.hysteresis,
            threshold: if from_below { q + h } else { q - h },
            weight_sum,
        })
    }

    /// keepalived's words for a checker in a real server's mail: TCP_CHECK
    /// and MISC_CHECK name themselves and give no reason ("=> TCP CHECK
    /// failed on service <="); HTTP_GET and SSL_GET give the reason and no
    /// name ("=> CHECK failed on service : ... <=").
    fn words(
        &self,
        checker: Option<CheckerId>,
        reason: Option<String>,
    ) -> (Option<String>, Option<String>) {
        match checker.and_then(|c| self.reporting.checker_kinds.get(&c).copied()) {
            Some("TCP_CHECK") => (Some("TCP".into()), None),
            Some("MISC_CHECK") => (Some("MISC".into()), None),
            // check_udp.c: "=> UDP CHECK failed on service <=".
            Some("UDP_CHECK") => (Some("UDP".into()), None),
            // check_dns.c: "=> DNS_CHECK: failed on service <=".
            Some("DNS_CHECK") => (Some("DNS_CHECK:".into()), None),
            _ => (None, reason),
        }
    }
}

/// A virtual server as its mails name it (`[192.0.2.2]:tcp:80`, or its
/// fwmark).
fn vs_mail_name(spec: &VirtualServerSpec) -> Option<ServiceName> {
    Some(match spec.services.first().map(|s| &s.key)? {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => ServiceName::addr(*addr, mail_protocol(*protocol), *port),
        ServiceKey::Fwmark { fwmark, .. } => ServiceName::Fwmark(*fwmark),
    })
}

/// A real server as its mails name it, in its virtual server's protocol.
fn rs_mail_name(vs: &ServiceName, rs: SocketAddr) -> ServiceName {
    match vs {
        ServiceName::Addr { protocol, .. } => ServiceName::addr(rs.ip(), *protocol, rs.port()),
        ServiceName::Fwmark(_) => ServiceName::addr(rs.ip(), ServiceProtocol::None, rs.port()),
    }
}

/// keepalived's mails for the real servers a reload takes away: every
/// real server alive in `old` that the new configuration no longer has
/// (in a virtual server with the same services, or at all) gets
/// "Realserver ... - DOWN", "=> Removing <=" when its `smtp_alert` was on
/// (`old_alerts`, by virtual server, as `old` was built).
pub(super) fn removal_alerts(
    old: &LvsState,
    old_alerts: &[HashMap<SocketAddr, bool>],
    new: &LvsState,
) -> Vec<Alert> {
    let keys = |s: &VirtualServerSpec| s.services.iter().map(|x| x.key).collect::<Vec<_>>();
    let new_by_keys: Vec<(Vec<ServiceKey>, BTreeSet<SocketAddr>)> = (0..new.len())
        .filter_map(|v| new.spec(VsIndex(v)))
        .map(|s| (keys(s), s.real_servers.iter().map(|r| r.addr).collect()))
        .collect();
    let mut alerts = Vec::new();
    for v in 0..old.len() {
        let Some(spec) = old.spec(VsIndex(v)) else {
            continue;
        };
        let Some(name) = vs_mail_name(spec) else {
            continue;
        };
        let mine = keys(spec);
        let kept = new_by_keys
            .iter()
            .find(|(k, _)| *k == mine)
            .map(|(_, rs)| rs);
        for (r, rs) in spec.real_servers.iter().enumerate() {
            let gone = kept.is_none_or(|set| !set.contains(&rs.addr));
            let alive = old.real_server_alive(VsIndex(v), r) == Some(true);
            let on = old_alerts
                .get(v)
                .and_then(|m| m.get(&rs.addr).copied())
                .unwrap_or(false);
            if gone && alive && on {
                alerts.push(Alert::RealServerRemoved {
                    real_server: rs_mail_name(&name, rs.addr),
                    virtual_server: name.clone(),
                    shutting_down: false,
                });
            }
        }
    }
    alerts
}

fn mail_protocol(p: Protocol) -> ServiceProtocol {
    match p {
        Protocol::Tcp => ServiceProtocol::Tcp,
        Protocol::Udp => ServiceProtocol::Udp,
        Protocol::Sctp => ServiceProtocol::Sctp,
    }
}
