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
//!
//! Owns the words, the queue and the SMTP delivery. May not decide whether
//! an event mails (callers apply the `smtp_alert` switches) nor make a caller
//! wait.

mod alert;
mod delivery;
mod settings;

pub use alert::{
    Alert, ServiceName, ServiceProtocol, VrrpMailFilter, VrrpMailState, smtp_alert_enabled,
};
pub use delivery::{MailQueueStatus, Mailer, SendError};
pub use settings::{
    DEFAULT_QUEUE_CAPACITY, DEFAULT_SMTP_CONNECT_TIMEOUT, DEFAULT_SMTP_PORT, MailError,
    MailSettings, SmtpServer, host_name, router_id_or_host,
};
