//! Notify scripts and e-mail alerts.
