//! One probe of a checker, whatever its kind: the dispatch from a
//! [`CheckerSpec`] to the HTTP_GET, SSL_GET, TCP_CHECK or MISC_CHECK probe.
//!
//! Owns neither scheduling nor retries ([`super::schedule`] does) nor the
//! tasks that run probes ([`super::runner`]); only which probe runs.

use super::outcome::{CheckError, Pass};
use super::spec::{CheckKind, CheckerSpec};
use super::{dns, http, misc, ping, smtp, ssl, tcp, udp};

/// What a checker builds once and reuses on every probe.
#[derive(Debug)]
pub enum Prepared {
    /// HTTP_GET / SSL_GET: the request heads.
    Http(http::Prepared),
    /// Nothing to prepare.
    Nothing,
}

impl Prepared {
    pub fn new(spec: &CheckerSpec) -> Self {
        match &spec.kind {
            CheckKind::Http(get) => Self::Http(http::Prepared::new(spec, get, 80, false)),
            CheckKind::Ssl(get) => Self::Http(http::Prepared::new(spec, get, 443, true)),
            CheckKind::Tcp
            | CheckKind::Misc(_)
            | CheckKind::Dns(_)
            | CheckKind::Smtp(_)
            | CheckKind::Udp(_)
            | CheckKind::Ping
            | CheckKind::Bfd(_) => Self::Nothing,
        }
    }
}

/// One probe with what [`Prepared::new`] built for this spec.
pub async fn probe_prepared(spec: &CheckerSpec, prepared: &Prepared) -> Result<Pass, CheckError> {
    match (&spec.kind, prepared) {
        (CheckKind::Http(get), Prepared::Http(p)) => {
            http::probe_prepared(spec, get, p).await.map(|()| Pass::Up)
        }
        // Boxed, so that the future of a probe is only as large as the
        // common HTTP_GET one (the runner boxes and copies it on every
        // probe): TLS and a child process carry much more state.
        (CheckKind::Ssl(get), Prepared::Http(p)) => Box::pin(ssl::probe_prepared(spec, get, p))
            .await
            .map(|()| Pass::Up),
        _ => Box::pin(probe(spec)).await,
    }
}

/// Run one probe of `spec` (no retries, no scheduling): what `check-once`
/// prints and what the runner feeds into [`CheckSchedule`].
///
/// [`CheckSchedule`]: super::schedule::CheckSchedule
pub async fn probe(spec: &CheckerSpec) -> Result<Pass, CheckError> {
    match &spec.kind {
        CheckKind::Tcp => tcp::probe(spec).await.map(|()| Pass::Up),
        CheckKind::Http(get) => http::probe(spec, get).await.map(|()| Pass::Up),
        CheckKind::Ssl(get) => ssl::probe(spec, get).await.map(|()| Pass::Up),
        CheckKind::Misc(misc) => misc::probe(spec, misc).await,
        CheckKind::Dns(dns) => dns::probe(spec, dns).await.map(|()| Pass::Up),
        CheckKind::Smtp(smtp) => smtp::probe(spec, smtp).await.map(|()| Pass::Up),
        CheckKind::Udp(udp) => udp::probe(spec, udp).await.map(|()| Pass::Up),
        CheckKind::Ping => ping::probe(spec).await.map(|()| Pass::Up),
        // Nothing to probe: the verdict is the session's state, which
        // only the BFD task knows (`check::bfd` follows it).
        CheckKind::Bfd(b) => Err(CheckError::Failed {
            checker: "BFD_CHECK",
            what: format!(
                "BFD_CHECK has no probe of its own; it follows bfd_instance {}",
                b.name
            ),
        }),
    }
}
