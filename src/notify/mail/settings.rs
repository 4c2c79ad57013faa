//! Where and how mail goes: the `global_defs` mail keywords as
//! [`MailSettings`], the `smtp_server`, and the errors of a bad setting.
//!
//! Plain values, checked when the mailer starts; sends nothing itself.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::config::model::SmtpHost;

/// keepalived's default `smtp_connect_timeout` (seconds).
pub const DEFAULT_SMTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The SMTP port used when `smtp_server` names none.
pub const DEFAULT_SMTP_PORT: u16 = 25;
/// How many alerts may wait for delivery before new ones are dropped.
pub const DEFAULT_QUEUE_CAPACITY: usize = 64;

/// Where and how to send mail: the `global_defs` keywords that concern it,
/// plus the queue policy (which keepalived does not have).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `router_id`: names this balancer in every subject, as `[router_id]`.
    pub router_id: Option<String>,
    /// `notification_email`: every address gets every alert.
    pub notification_email: Vec<String>,
    /// `notification_email_from`; `None` means `tandem@<hostname>`.
    pub notification_email_from: Option<String>,
    /// `smtp_server <host> [port]`; `None` disables mail, as in keepalived.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name`; `None` means this host's name.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout`: bounds the connection and each SMTP command.
    pub smtp_connect_timeout: Duration,
    /// Alerts that may wait; beyond this new alerts are dropped.
    pub queue_capacity: usize,
    /// Delivery attempts per alert (first try included).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled after each failure.
    pub initial_backoff: Duration,
    /// Upper bound of the wait between attempts.
    pub max_backoff: Duration,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: DEFAULT_SMTP_CONNECT_TIMEOUT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_attempts: 4,
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl From<&crate::config::model::GlobalDefs> for MailSettings {
    /// The mail keywords of `global_defs`; the queue policy keeps its
    /// defaults (keepalived has no such keywords).
    fn from(g: &crate::config::model::GlobalDefs) -> Self {
        MailSettings {
            router_id: Some(router_id_or_host(g.router_id.as_deref())),
            notification_email: g.notification_email.clone(),
            notification_email_from: g.notification_email_from.clone(),
            smtp_server: g.smtp_server.as_ref().map(|s| match &s.host {
                SmtpHost::Address(ip) => SmtpServer::new(ip.to_string(), s.port),
                SmtpHost::Name(name) => SmtpServer::new(name.clone(), s.port),
            }),
            smtp_helo_name: g.smtp_helo_name.clone(),
            smtp_connect_timeout: g.smtp_connect_timeout,
            ..MailSettings::default()
        }
    }
}

impl MailSettings {
    /// The settings with `smtp_server`'s host name resolved to an address
    /// through the system resolver (getaddrinfo: /etc/hosts, DNS, as
    /// nsswitch.conf says), the first one it gives, as keepalived takes
    /// it. Done when the daemon starts and at each reload, so the mails go
    /// where the name pointed then; an address is kept as it is. Blocks
    /// for as long as the resolver takes.
    pub fn resolved(mut self) -> Result<MailSettings, MailError> {
        let Some(server) = &mut self.smtp_server else {
            return Ok(self);
        };
        if server.host.parse::<IpAddr>().is_ok() {
            return Ok(self);
        }
        let name = server.host.clone();
        let first = (name.as_str(), server.port)
            .to_socket_addrs()
            .map_err(|e| MailError::Resolve(name.clone(), e.to_string()))?
            .next()
            .ok_or_else(|| MailError::Resolve(name.clone(), "no address".into()))?;
        tracing::info!(
            smtp_server = %name, address = %first.ip(),
            "smtp_server {name} resolved to {}", first.ip()
        );
        server.host = first.ip().to_string();
        Ok(self)
    }

    /// [`Self::resolved`], or, when the name does not resolve, the
    /// settings with mail off and the error logged (keepalived: "Invalid
    /// smtp server", and no mail).
    pub fn resolved_or_off(self) -> MailSettings {
        let fallback = MailSettings {
            smtp_server: None,
            ..self.clone()
        };
        match self.resolved() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "e-mail alerts disabled");
                fallback
            }
        }
    }

    /// Whether `smtp_server` is a host name (resolved anew at each reload).
    pub fn names_a_host(&self) -> bool {
        self.smtp_server
            .as_ref()
            .is_some_and(|s| s.host.parse::<IpAddr>().is_err())
    }
}

/// keepalived's `router_id`: the configured one, or this machine's host
/// name when none is set (keepalived names every mail and its status this
/// way; one function so the mails and tandem's status never disagree).
pub fn router_id_or_host(configured: Option<&str>) -> String {
    match configured {
        Some(id) => id.to_string(),
        None => host_name(),
    }
}

/// This machine's host name (gethostname(2)), `localhost` if the kernel
/// will not say: for `router_id`, HELO and the default sender.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if !name.is_empty() => name.to_string(),
        _ => "localhost".into(),
    }
}

/// `smtp_server`: an address or a host name, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
}

impl SmtpServer {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        SmtpServer {
            host: host.into(),
            port,
        }
    }
}

impl From<SocketAddr> for SmtpServer {
    fn from(addr: SocketAddr) -> Self {
        SmtpServer::new(addr.ip().to_string(), addr.port())
    }
}

impl fmt::Display for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // keepalived writes the server as `[addr]:port` in its logs.
        write!(f, "[{}]:{}", self.host, self.port)
    }
}

/// Errors found when the mailer is set up (the configuration is wrong).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("notification_email_from {0:?} is not a valid mail address: {1}")]
    BadFrom(String, String),
    #[error("notification_email {0:?} is not a valid mail address: {1}")]
    BadRecipient(String, String),
    #[error("smtp_helo_name {0:?} is empty")]
    BadHeloName(String),
    #[error("smtp_server {0}: cannot resolve the host name: {1}")]
    Resolve(String, String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::mail::{Alert, VrrpMailState};

    #[test]
    fn settings_come_from_the_seed_global_defs() {
        let text = "global_defs {\n notification_email {\n nomura@it-ishin.com\n }\n \
                    notification_email_from nomura@it-ishin.com\n smtp_server 192.0.2.25 2525\n \
                    smtp_connect_timeout 30\n router_id LVS_DEVEL\n}\n";
        let loaded = crate::config::load_str(
            std::path::Path::new("keepalived.conf"),
            text.to_string(),
            &crate::config::LoadOptions::default(),
        );
        let config = loaded.config.expect("valid configuration");
        let m = MailSettings::from(&config.global_defs);
        assert_eq!(m.router_id.as_deref(), Some("LVS_DEVEL"));
        assert_eq!(
            m.notification_email,
            vec!["nomura@it-ishin.com".to_string()]
        );
        assert_eq!(
            m.notification_email_from.as_deref(),
            Some("nomura@it-ishin.com")
        );
        assert_eq!(m.smtp_server, Some(SmtpServer::new("192.0.2.25", 2525)));
        assert_eq!(m.smtp_connect_timeout, Duration::from_secs(30));
    }

    #[test]
    fn without_router_id_the_mails_are_named_by_the_host_name() {
        let loaded = crate::config::load_str(
            std::path::Path::new("keepalived.conf"),
            "global_defs {\n smtp_server 192.0.2.25\n}\n".to_string(),
            &crate::config::LoadOptions::default(),
        );
        let config = loaded.config.expect("valid configuration");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
        let host = host.trim();
        assert!(!host.is_empty());
        let m = MailSettings::from(&config.global_defs);
        assert_eq!(m.router_id.as_deref(), Some(host));
        let alert = Alert::VrrpInstance {
            name: "VI_1".into(),
            state: VrrpMailState::Master,
        };
        assert_eq!(
            alert.subject(m.router_id.as_deref()),
            format!("[{host}] VRRP Instance VI_1 - Entering MASTER state")
        );
    }
}
