//! Delivering alerts: the [`Mailer`] handle, its bounded queue and the one
//! background task that speaks SMTP, with a timeout per attempt and
//! backoff between attempts.
//!
//! Owns the only SMTP connection of the daemon. May not block a caller:
//! [`Mailer::send`] only queues; a full queue drops the alert.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::alert::Alert;
use super::settings::{MailError, MailSettings, SmtpServer, host_name};

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
            .unwrap_or_else(|| format!("tandem@{}", host_name()));
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
            None => ClientId::Domain(host_name()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
