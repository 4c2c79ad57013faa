//! What a mail says and when one goes: keepalived's subjects and bodies
//! ([`Alert`]), the `smtp_alert` switches and the VRRP mail filter.
//!
//! Sans-IO: words and rules only; delivery is [`super::delivery`]'s.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// VRRP states as the mails name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpMailState {
    Master,
    Backup,
    Fault,
    /// The instance stops (daemon shutdown).
    Stop,
    /// A reload removed the instance, which has `notify_deleted`.
    Deleted,
}

/// The transport protocol of a virtual service, as keepalived prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceProtocol {
    Tcp,
    Udp,
    Sctp,
    /// fwmark services have no protocol.
    None,
}

impl fmt::Display for ServiceProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceProtocol::Tcp => "tcp",
            ServiceProtocol::Udp => "udp",
            ServiceProtocol::Sctp => "sctp",
            ServiceProtocol::None => "none",
        })
    }
}

/// A virtual or real server as keepalived names it in mails:
/// `[addr]:proto:port`, or `FWM n` for a firewall-mark service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceName {
    Addr {
        ip: IpAddr,
        protocol: ServiceProtocol,
        port: u16,
    },
    Fwmark(u32),
}

impl ServiceName {
    pub fn addr(ip: IpAddr, protocol: ServiceProtocol, port: u16) -> Self {
        ServiceName::Addr { ip, protocol, port }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceName::Addr { ip, protocol, port } => write!(f, "[{ip}]:{protocol}:{port}"),
            ServiceName::Fwmark(mark) => write!(f, "FWM {mark}"),
        }
    }
}

/// One event worth a mail. The caller decides *whether* (the `smtp_alert`
/// switches, see [`smtp_alert_enabled`]); this type decides the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A `vrrp_instance` changed state.
    VrrpInstance { name: String, state: VrrpMailState },
    /// A `vrrp_sync_group` changed state.
    VrrpGroup { name: String, state: VrrpMailState },
    /// A checker brought a real server up or down. `reason` is the checker's
    /// words for a failure (`HTTP request failed`), put in the body as
    /// keepalived does.
    RealServer {
        real_server: ServiceName,
        virtual_server: ServiceName,
        up: bool,
        checker: Option<String>,
        reason: Option<String>,
    },
    /// One of a real server's several checkers changed its verdict, the
    /// real server's state did not (keepalived mails this unless
    /// `no_checker_emails`): the subject says the real server's state,
    /// the body the checker's verdict, as keepalived's do.
    Checker {
        real_server: ServiceName,
        virtual_server: ServiceName,
        alive: bool,
        passed: bool,
        checker: Option<String>,
        reason: Option<String>,
    },
    /// A real server was taken out because of a reload (`removing`) or
    /// shutdown.
    RealServerRemoved {
        real_server: ServiceName,
        virtual_server: ServiceName,
        shutting_down: bool,
    },
    /// A virtual server gained or lost quorum (the sum of alive weights
    /// crossed `quorum` ± `hysteresis`).
    Quorum {
        virtual_server: ServiceName,
        up: bool,
        /// The first evaluation after start-up.
        initial: bool,
        quorum: u32,
        hysteresis: u32,
        threshold: i64,
        weight_sum: i64,
    },
    /// Anything else: subject and body as given (still prefixed with the
    /// router_id).
    Other { subject: String, body: String },
}

impl Alert {
    /// The subject line, keepalived's words, prefixed with `[router_id]`
    /// when one is set.
    pub fn subject(&self, router_id: Option<&str>) -> String {
        let text = match self {
            Alert::VrrpInstance { name, state } => {
                format!("VRRP Instance {name} - {}", state_subject(*state))
            }
            Alert::VrrpGroup { name, state } => {
                format!("VRRP Group {name} - {}", state_subject(*state))
            }
            Alert::RealServer {
                real_server,
                virtual_server,
                up,
                ..
            }
            | Alert::Checker {
                real_server,
                virtual_server,
                alive: up,
                ..
            } => format!(
                "Realserver {real_server} of virtual server {virtual_server} - {}",
                if *up { "UP" } else { "DOWN" }
            ),
            Alert::RealServerRemoved {
                real_server,
                virtual_server,
                ..
            } => format!("Realserver {real_server} of virtual server {virtual_server} - DOWN"),
            Alert::Quorum {
                virtual_server, up, ..
            } => format!(
                "Virtualserver {virtual_server} - {}",
                if *up { "UP" } else { "DOWN" }
            ),
            Alert::Other { subject, .. } => subject.clone(),
        };
        match router_id {
            Some(id) if !id.is_empty() => format!("[{id}] {text}"),
            _ => text,
        }
    }

    /// The body, keepalived's `=> ... <=` line.
    pub fn body(&self) -> String {
        match self {
            Alert::VrrpInstance { state, .. } => match state {
                VrrpMailState::Master => "=> VRRP Instance is now owning VRRP VIPs <=".into(),
                VrrpMailState::Backup | VrrpMailState::Fault => {
                    "=> VRRP Instance is no longer owning VRRP VIPs <=".into()
                }
                VrrpMailState::Stop => "=> VRRP Instance stopping <=".into(),
                VrrpMailState::Deleted => "=> VRRP Deleted at reload <=".into(),
            },
            Alert::VrrpGroup { state, .. } => match state {
                VrrpMailState::Master => {
                    "=> All VRRP group instances are now in MASTER state <=".into()
                }
                VrrpMailState::Backup => {
                    "=> All VRRP group instances are now in BACKUP state <=".into()
                }
                VrrpMailState::Fault => {
                    "=> All VRRP group instances are now in FAULT state <=".into()
                }
                VrrpMailState::Stop => "=> All VRRP group instances are now stopping <=".into(),
                // A sync group is never deleted with a notify (keepalived).
                VrrpMailState::Deleted => "=> VRRP Deleted at reload <=".into(),
            },
            Alert::RealServer {
                up,
                checker,
                reason,
                ..
            }
            | Alert::Checker {
                passed: up,
                checker,
                reason,
                ..
            } => {
                // "TCP" -> "TCP CHECK"; a name ending in ':' is keepalived's
                // whole word for it ("DNS_CHECK:", check_dns.c).
                let check = match checker.as_deref() {
                    Some(c) if c.ends_with(':') => c.to_string(),
                    Some(c) if !c.is_empty() => format!("{c} CHECK"),
                    _ => "CHECK".to_string(),
                };
                match (up, reason) {
                    (true, _) => format!("=> {check} succeed on service <="),
                    (false, Some(r)) if !r.is_empty() => {
                        format!("=> {check} failed on service : {r} <=")
                    }
                    (false, _) => format!("=> {check} failed on service <="),
                }
            }
            Alert::RealServerRemoved { shutting_down, .. } => {
                if *shutting_down {
                    "=> Shutting down <=".into()
                } else {
                    "=> Removing <=".into()
                }
            }
            Alert::Quorum {
                up,
                initial,
                quorum,
                hysteresis,
                threshold,
                weight_sum,
                ..
            } => {
                let what = match (up, initial) {
                    (true, true) => "Starting with quorum up",
                    (true, false) => "Gained quorum",
                    (false, true) => "Starting with quorum down",
                    (false, false) => "Lost quorum",
                };
                format!("=> {what} {quorum}+{hysteresis}={threshold} <= {weight_sum} <=")
            }
            Alert::Other { body, .. } => body.clone(),
        }
    }
}

fn state_subject(state: VrrpMailState) -> &'static str {
    match state {
        VrrpMailState::Master => "Entering MASTER state",
        VrrpMailState::Backup => "Entering BACKUP state",
        VrrpMailState::Fault => "Entering FAULT state",
        VrrpMailState::Stop => "Stopping",
        VrrpMailState::Deleted => "Deleted",
    }
}

/// keepalived's rule for the `smtp_alert` switches: the object's own
/// `smtp_alert` wins; else `smtp_alert_vrrp` (for VRRP instances and groups)
/// or `smtp_alert_checker` (for virtual and real servers); else the global
/// `smtp_alert`; else the object's default: off for VRRP instances, sync
/// groups and virtual servers (quorum mails), **on for real servers**
/// (keepalived's real servers alert unless told not to). So a
/// configuration such as the seed's, which sets none of them but has an
/// `smtp_server`, mails real-server up/down and nothing else. The config
/// builder resolves the switches this way (`config::build`); this helper
/// states the rule for an object whose default is off.
pub fn smtp_alert_enabled(
    own: Option<bool>,
    kind_default: Option<bool>,
    global: Option<bool>,
) -> bool {
    own.or(kind_default).or(global).unwrap_or(false)
}

/// keepalived's rule for *when* a VRRP instance or sync group mails: only
/// when its `smtp_alert` is on, only when the state differs from the one it
/// last mailed (a bounce MASTER→MASTER through a sync group does not mail
/// twice), and not for FAULT when `no_email_faults` is set. Sans-IO: the
/// daemon feeds state changes in and sends what comes out.
#[derive(Debug, Default, Clone)]
pub struct VrrpMailFilter {
    no_email_faults: bool,
    last_mailed: std::collections::HashMap<(bool, String), VrrpMailState>,
}

impl VrrpMailFilter {
    pub fn new(no_email_faults: bool) -> Self {
        VrrpMailFilter {
            no_email_faults,
            last_mailed: Default::default(),
        }
    }

    /// A reload changed `no_email_faults`; what was mailed is remembered.
    pub fn set_no_email_faults(&mut self, on: bool) {
        self.no_email_faults = on;
    }

    /// The alert to send for `instance` entering `state`, if any.
    pub fn instance(
        &mut self,
        name: &str,
        smtp_alert: bool,
        state: VrrpMailState,
    ) -> Option<Alert> {
        self.pass(false, name, smtp_alert, state)
            .then(|| Alert::VrrpInstance {
                name: name.to_string(),
                state,
            })
    }

    /// The alert to send for sync group `name` entering `state`, if any.
    pub fn group(&mut self, name: &str, smtp_alert: bool, state: VrrpMailState) -> Option<Alert> {
        self.pass(true, name, smtp_alert, state)
            .then(|| Alert::VrrpGroup {
                name: name.to_string(),
                state,
            })
    }

    fn pass(&mut self, group: bool, name: &str, smtp_alert: bool, state: VrrpMailState) -> bool {
        if !smtp_alert || (self.no_email_faults && state == VrrpMailState::Fault) {
            return false;
        }
        let key = (group, name.to_string());
        if self.last_mailed.get(&key) == Some(&state) {
            return false;
        }
        self.last_mailed.insert(key, state);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn vs() -> ServiceName {
        ServiceName::addr(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            ServiceProtocol::Tcp,
            80,
        )
    }
    fn rs() -> ServiceName {
        ServiceName::addr(
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10)),
            ServiceProtocol::Tcp,
            80,
        )
    }

    #[test]
    fn vrrp_subjects_and_bodies_are_keepalived_s() {
        let a = Alert::VrrpInstance {
            name: "VI_1".into(),
            state: VrrpMailState::Master,
        };
        assert_eq!(
            a.subject(Some("LVS_DEVEL")),
            "[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(a.body(), "=> VRRP Instance is now owning VRRP VIPs <=");
        let b = Alert::VrrpInstance {
            name: "VI_1".into(),
            state: VrrpMailState::Backup,
        };
        assert_eq!(
            b.subject(None),
            "VRRP Instance VI_1 - Entering BACKUP state"
        );
        assert_eq!(
            b.body(),
            "=> VRRP Instance is no longer owning VRRP VIPs <="
        );
        let g = Alert::VrrpGroup {
            name: "VG_1".into(),
            state: VrrpMailState::Fault,
        };
        assert_eq!(
            g.subject(Some("lb1")),
            "[lb1] VRRP Group VG_1 - Entering FAULT state"
        );
        assert_eq!(
            g.body(),
            "=> All VRRP group instances are now in FAULT state <="
        );
        let s = Alert::VrrpInstance {
            name: "VI_1".into(),
            state: VrrpMailState::Stop,
        };
        assert_eq!(
            s.subject(Some("lb1")),
            "[lb1] VRRP Instance VI_1 - Stopping"
        );
    }

    #[test]
    fn real_server_and_quorum_texts() {
        let down = Alert::RealServer {
            real_server: rs(),
            virtual_server: vs(),
            up: false,
            checker: None,
            reason: Some("HTTP request failed".into()),
        };
        assert_eq!(
            down.subject(Some("LVS_DEVEL")),
            "[LVS_DEVEL] Realserver [198.51.100.10]:tcp:80 of virtual server [192.0.2.2]:tcp:80 - DOWN"
        );
        assert_eq!(
            down.body(),
            "=> CHECK failed on service : HTTP request failed <="
        );
        let up = Alert::RealServer {
            real_server: rs(),
            virtual_server: vs(),
            up: true,
            checker: None,
            reason: None,
        };
        assert!(up.subject(Some("x")).ends_with(" - UP"));
        assert_eq!(up.body(), "=> CHECK succeed on service <=");
        // One checker of two passes again while the other still fails:
        // the real server is still down, the body says the check passed.
        let checker = Alert::Checker {
            real_server: rs(),
            virtual_server: vs(),
            alive: false,
            passed: true,
            checker: Some("TCP".into()),
            reason: None,
        };
        assert_eq!(
            checker.subject(Some("LVS_DEVEL")),
            "[LVS_DEVEL] Realserver [198.51.100.10]:tcp:80 of virtual server [192.0.2.2]:tcp:80 - DOWN"
        );
        assert_eq!(checker.body(), "=> TCP CHECK succeed on service <=");
        // DNS_CHECK names itself with a colon (check_dns.c).
        let dns = Alert::Checker {
            real_server: rs(),
            virtual_server: vs(),
            alive: false,
            passed: false,
            checker: Some("DNS_CHECK:".into()),
            reason: None,
        };
        assert_eq!(dns.body(), "=> DNS_CHECK: failed on service <=");
        let q = Alert::Quorum {
            virtual_server: vs(),
            up: false,
            initial: false,
            quorum: 1,
            hysteresis: 0,
            threshold: 1,
            weight_sum: 0,
        };
        assert_eq!(
            q.subject(Some("LVS_DEVEL")),
            "[LVS_DEVEL] Virtualserver [192.0.2.2]:tcp:80 - DOWN"
        );
        assert_eq!(q.body(), "=> Lost quorum 1+0=1 <= 0 <=");
        assert_eq!(ServiceName::Fwmark(7).to_string(), "FWM 7");
    }

    #[test]
    fn smtp_alert_switch_precedence() {
        assert!(!smtp_alert_enabled(None, None, None));
        assert!(smtp_alert_enabled(None, None, Some(true)));
        assert!(!smtp_alert_enabled(None, Some(false), Some(true)));
        assert!(smtp_alert_enabled(Some(true), Some(false), Some(false)));
    }

    #[test]
    fn vrrp_mails_only_on_a_new_state() {
        use VrrpMailState::*;
        let mut f = VrrpMailFilter::new(true);
        assert!(f.instance("VI_1", true, Backup).is_some());
        assert!(f.instance("VI_1", true, Master).is_some());
        assert!(
            f.instance("VI_1", true, Master).is_none(),
            "same state twice"
        );
        assert!(f.instance("VI_1", true, Fault).is_none(), "no_email_faults");
        assert!(f.instance("VI_1", true, Backup).is_some());
        assert!(
            f.instance("VI_2", false, Master).is_none(),
            "smtp_alert off"
        );
        // Groups and instances are tracked apart, even with the same name.
        assert_eq!(
            f.group("VI_1", true, Backup),
            Some(Alert::VrrpGroup {
                name: "VI_1".into(),
                state: Backup
            })
        );
        let mut g = VrrpMailFilter::new(false);
        assert!(g.instance("VI_1", true, Fault).is_some());
    }
}
