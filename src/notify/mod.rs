//! Notify scripts and e-mail alerts: how tandem tells the world outside the
//! balancer that something changed.
//!
//! | module   | what it does                                                  |
//! |----------|---------------------------------------------------------------|
//! | `script` | notify scripts, `vrrp_script` and MISC_CHECK programs: who runs them, how |
//! | `mail`   | keepalived's alert mails, queued and delivered in the background |
//! | `fifo`   | keepalived's notify FIFOs: one line per state change, never blocking |
//!
//! Owns running scripts and sending mail. May not decide *when* (VRRP, `lvs`
//! and the daemon do) and never makes a caller wait: scripts and mails are
//! queued. Of tandem it reads only `crate::config` and `crate::process`.

pub mod fifo;
pub mod mail;
pub mod script;
