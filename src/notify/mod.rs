//! Notify scripts and e-mail alerts.

pub mod mail;
pub mod script;
