//! E-mail alerts, as keepalived sends them.
//!
//! keepalived mails `notification_email` through `smtp_server` when a VRRP
//! instance or sync group changes state, when a real server goes up or down
//! and when a virtual server gains or loses quorum. Operators have mail
//! filters and runbooks keyed on those subjects, so the subjects and bodies
//! here are keepalived's (2.x): for example
//!
//! ```text
//! [LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state
//! [LVS_DEVEL] Realserver [198.51.100.10]:tcp:80 of virtual server [192.0.2.2]:tcp:80 - DOWN
//! ```
//!
//! What keepalived does *not* do, and we must: its SMTP session runs on the
//! same event loop as VRRP, and one slow SMTP server makes everything wait.
//! Here the callers only ever [`Mailer::send`], which is `try_send` into a
//! bounded queue and returns at once; one background task delivers, with a
//! timeout per attempt and exponential backoff between attempts. When the
//! queue is full the alert is dropped, counted and logged: an alert storm or
//! a dead mail relay must never delay an election or a health check.
//!
//! The module takes a small [`MailSettings`] rather than the whole
//! configuration model, so it can be built and tested on its own.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

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
            smtp_server: g
                .smtp_server
                .as_ref()
                .map(|s| SmtpServer::new(s.address.to_string(), s.port)),
            smtp_helo_name: g.smtp_helo_name.clone(),
            smtp_connect_timeout: g.smtp_connect_timeout,
            ..MailSettings::default()
        }
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
/// will not say.
pub fn host_name() -> String {
    local_hostname()
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
}

/// VRRP states as the mails name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpMailState {
    Master,
    Backup,
    Fault,
    /// The instance stops (daemon shutdown).
    Stop,
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
                let check = match checker.as_deref() {
                    Some(c) if !c.is_empty() => format!("{c} "),
                    _ => String::new(),
                };
                match (up, reason) {
                    (true, _) => format!("=> {check}CHECK succeed on service <="),
                    (false, Some(r)) if !r.is_empty() => {
                        format!("=> {check}CHECK failed on service : {r} <=")
                    }
                    (false, _) => format!("=> {check}CHECK failed on service <="),
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

/// Counters of the mail queue, as the status socket reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailQueueStatus {
    /// Mail is configured (`smtp_server` and at least one address).
    pub enabled: bool,
    /// Alerts waiting in the queue or being delivered now.
    pub queued: u64,
    /// Room of the queue.
    pub capacity: u64,
    /// Alerts accepted by the SMTP server.
    pub sent: u64,
    /// Alerts given up after every attempt failed.
    pub failed: u64,
    /// Alerts not queued because the queue was full.
    pub dropped: u64,
    /// Delivery attempts that failed (each retry counts).
    pub attempt_errors: u64,
    /// When the last alert was accepted by the server (ms since the epoch).
    pub last_sent_unix_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    attempt_errors: AtomicU64,
    /// 0 = never.
    last_sent_unix_ms: AtomicU64,
}

/// Why [`Mailer::send`] did not queue an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("mail is not configured")]
    Disabled,
    #[error("mail queue full: alert dropped")]
    QueueFull,
    #[error("mail sender has stopped")]
    Closed,
    #[error("the alert cannot be encoded as a mail")]
    Unencodable,
}

/// A prepared mail: built once, delivered to every recipient in one SMTP
/// transaction (one `RCPT TO` each, one `To:` header listing them all, as
/// keepalived does).
struct Outgoing {
    subject: String,
    message: Message,
}

/// The handle the rest of the daemon holds. Cheap to clone; `send` never
/// waits. Every clone shares one slot, so a reload's new mail settings
/// ([`Mailer::reconfigure`]) reach the VRRP units and the LVS task alike.
#[derive(Clone)]
pub struct Mailer {
    slot: Arc<RwLock<Slot>>,
    counters: Arc<Counters>,
}

/// What a reload swaps: the sender of the current delivery task (none when
/// mail is off) and its queue's capacity.
struct Slot {
    inner: Option<Arc<Inner>>,
    capacity: usize,
}

struct Inner {
    tx: mpsc::Sender<Outgoing>,
    router_id: Option<String>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("enabled", &self.current().is_some())
            .field("status", &self.status())
            .finish()
    }
}

impl Mailer {
    /// A mailer that sends nothing (no `smtp_server` or no addresses).
    pub fn disabled() -> Self {
        Mailer {
            slot: Arc::new(RwLock::new(Slot {
                inner: None,
                capacity: 0,
            })),
            counters: Arc::default(),
        }
    }

    /// Check the settings and start the delivery task on the current tokio
    /// runtime. With no `smtp_server` or no `notification_email` the mailer
    /// is disabled, as keepalived's is.
    pub fn start(settings: MailSettings) -> Result<Self, MailError> {
        let mailer = Self::disabled();
        mailer.reconfigure(settings)?;
        Ok(mailer)
    }

    /// New settings for every clone of this handle (a reload that changed
    /// the mail keywords of `global_defs`): alerts from now on go through a
    /// new delivery task; the old one still delivers what it had queued,
    /// then ends. Settings that do not check out (a bad address) change
    /// nothing and are returned as the error.
    pub fn reconfigure(&self, settings: MailSettings) -> Result<(), MailError> {
        let slot = Self::launch(settings, &self.counters)?;
        match self.slot.write() {
            Ok(mut s) => *s = slot,
            Err(poisoned) => *poisoned.into_inner() = slot,
        }
        Ok(())
    }

    /// The current sender, if mail is on.
    fn current(&self) -> Option<Arc<Inner>> {
        match self.slot.read() {
            Ok(s) => s.inner.clone(),
            Err(poisoned) => poisoned.into_inner().inner.clone(),
        }
    }

    /// The delivery task for `settings`, started on the current runtime.
    fn launch(settings: MailSettings, counters: &Arc<Counters>) -> Result<Slot, MailError> {
        let off = Slot {
            inner: None,
            capacity: 0,
        };
        let Some(server) = settings.smtp_server.clone() else {
            return Ok(off);
        };
        if settings.notification_email.is_empty() {
            return Ok(off);
        }
        let from_text = settings
            .notification_email_from
            .clone()
            .unwrap_or_else(|| format!("tandem@{}", local_hostname()));
        let from: Mailbox = from_text
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                MailError::BadFrom(from_text, e.to_string())
            })?;
        let to = settings
            .notification_email
            .iter()
            .map(|addr| {
                addr.parse::<Mailbox>()
                    .map_err(|e| MailError::BadRecipient(addr.clone(), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let helo = match &settings.smtp_helo_name {
            Some(name) if name.trim().is_empty() => {
                return Err(MailError::BadHeloName(name.clone()));
            }
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::Domain(local_hostname()),
        };
        // Plain SMTP to the configured relay, as keepalived speaks it; the
        // relay is the operator's own (typically on the LAN).
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
                .port(server.port)
                .hello_name(helo)
                .timeout(Some(settings.smtp_connect_timeout))
                .build();

        let capacity = settings.queue_capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let worker = Worker {
            rx,
            transport,
            server,
            counters: counters.clone(),
            attempt_limit: settings.smtp_connect_timeout.saturating_mul(2),
            max_attempts: settings.max_attempts.max(1),
            initial_backoff: settings.initial_backoff,
            max_backoff: settings.max_backoff,
        };
        tokio::spawn(worker.run());
        Ok(Slot {
            inner: Some(Arc::new(Inner {
                tx,
                router_id: settings.router_id,
                from,
                to,
            })),
            capacity,
        })
    }

    /// Queue an alert for every `notification_email`. Never waits: when the
    /// queue is full the alert is dropped, counted and logged.
    pub fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let Some(inner) = self.current() else {
            return Err(SendError::Disabled);
        };
        let subject = alert.subject(inner.router_id.as_deref());
        let message = match inner.build(&subject, &alert.body()) {
            Ok(m) => m,
            Err(e) => {
                // Only reachable with a subject lettre cannot encode; count
                // it as a failure rather than lose it silently.
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%subject, error = %e, "cannot build alert mail");
                return Err(SendError::Unencodable);
            }
        };
        // Count before handing over, so the worker's decrement never races
        // below zero.
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        match inner.tx.try_send(Outgoing { subject, message }) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(out)) => {
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(subject = %out.subject, dropped, "mail queue full, alert dropped");
                Err(SendError::QueueFull)
            }
            Err(mpsc::error::TrySendError::Closed(out)) => {
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subject = %out.subject, "mail sender stopped, alert dropped");
                Err(SendError::Closed)
            }
        }
    }

    /// On shutdown: wait until the queue is empty (every alert sent or
    /// given up), at most `within`, so the last alerts (a stopping
    /// instance's, `omega`'s "Shutting down") are not lost with the
    /// process. Called after VRRP has stopped: nothing waits on it.
    pub async fn flush(&self, within: Duration) {
        if self.current().is_none() {
            return;
        }
        let deadline = tokio::time::Instant::now() + within;
        while self.counters.queued.load(Ordering::Relaxed) > 0 {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    queued = self.counters.queued.load(Ordering::Relaxed),
                    "stopping with alerts not yet sent"
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The queue counters for the status socket and metrics.
    pub fn status(&self) -> MailQueueStatus {
        let c = &self.counters;
        let last = c.last_sent_unix_ms.load(Ordering::Relaxed);
        let (enabled, capacity) = match self.slot.read() {
            Ok(s) => (s.inner.is_some(), s.capacity),
            Err(poisoned) => {
                let s = poisoned.into_inner();
                (s.inner.is_some(), s.capacity)
            }
        };
        MailQueueStatus {
            enabled,
            queued: c.queued.load(Ordering::Relaxed),
            capacity: capacity as u64,
            sent: c.sent.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            attempt_errors: c.attempt_errors.load(Ordering::Relaxed),
            last_sent_unix_ms: (last != 0).then_some(last),
        }
    }
}

impl Inner {
    fn build(&self, subject: &str, body: &str) -> Result<Message, lettre::error::Error> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .date_now()
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Mailer"),
                format!("tandem {}", env!("CARGO_PKG_VERSION")),
            ));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder.body(format!("{body}\r\n"))
    }
}

struct Worker {
    rx: mpsc::Receiver<Outgoing>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: SmtpServer,
    counters: Arc<Counters>,
    attempt_limit: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Worker {
    /// Deliver one alert at a time. While the relay is down, alerts wait in
    /// the bounded queue (and new ones are dropped once it is full); the
    /// callers never notice.
    async fn run(mut self) {
        while let Some(out) = self.rx.recv().await {
            self.deliver(&out).await;
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    async fn deliver(&self, out: &Outgoing) {
        let mut backoff = self.initial_backoff;
        for attempt in 1..=self.max_attempts {
            let result =
                tokio::time::timeout(self.attempt_limit, self.transport.send(out.message.clone()))
                    .await;
            let error = match result {
                Ok(Ok(_)) => {
                    self.counters.sent.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .last_sent_unix_ms
                        .store(crate::process::unix_ms_now(), Ordering::Relaxed);
                    tracing::info!(server = %self.server, subject = %out.subject, "SMTP alert successfully sent");
                    return;
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {:?}", self.attempt_limit),
            };
            self.counters.attempt_errors.fetch_add(1, Ordering::Relaxed);
            if attempt == self.max_attempts {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(server = %self.server, subject = %out.subject, attempts = attempt, %error,
                    "SMTP alert not sent, giving up");
                return;
            }
            tracing::info!(server = %self.server, subject = %out.subject, attempt, %error,
                retry_in = ?backoff, "SMTP alert not sent, will retry");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2).min(self.max_backoff);
        }
    }
}

/// This host's name (for HELO and the default sender), `localhost` if the
/// kernel will not say.
fn local_hostname() -> String {
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

    #[test]
    fn bad_addresses_are_configuration_errors() {
        let settings = MailSettings {
            smtp_server: Some(SmtpServer::new("127.0.0.1", 25)),
            notification_email: vec!["not an address".into()],
            notification_email_from: Some("a@example.org".into()),
            ..MailSettings::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let err = rt.block_on(async { Mailer::start(settings) });
        assert!(matches!(err, Err(MailError::BadRecipient(..))));
    }

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

    #[test]
    fn without_server_mail_is_disabled() {
        let m = Mailer::disabled();
        assert_eq!(
            m.send(&Alert::Other {
                subject: "s".into(),
                body: "b".into()
            }),
            Err(SendError::Disabled)
        );
        assert!(!m.status().enabled);
    }
}
