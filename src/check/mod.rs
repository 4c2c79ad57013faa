//! Health checkers: HTTP_GET, SSL_GET, TCP_CHECK and MISC_CHECK on tokio.
//!
//! The module is split the same way as the rest of tandem: what a check *is*
//! and how its result turns into an up/down verdict is plain data and sans-IO
//! logic; only the probes and the runner touch sockets, processes and timers.
//!
//! | file          | what it does                                                   |
//! |---------------|----------------------------------------------------------------|
//! | `spec.rs`     | [`CheckerSpec`]: one checker as configured, hashable for dedupe |
//! | `schedule.rs` | sans-IO retry / delay_loop / alpha logic ([`CheckSchedule`])   |
//! | `http.rs`     | `HTTP_GET` (and the HTTP part of `SSL_GET`) on hyper 1         |
//! | `ssl.rs`      | `SSL_GET`: TLS via tokio-rustls                                |
//! | `tcp.rs`      | `TCP_CHECK` and the socket set-up every network checker shares |
//! | `misc.rs`     | `MISC_CHECK`: run a program, read its exit status              |
//! | `runner.rs`   | one tokio task per distinct checker, events out on a channel   |
//! | `engine.rs`   | the checker thread's own epoll loop for TCP_CHECK and status-only HTTP_GET |
//!
//! ```text
//!   CheckerSpec ──► runner task ──probe()──► real server
//!                      │   ▲
//!                      │   └── CheckSchedule (retry, delay_before_retry, delay_loop)
//!                      ▼
//!                 CheckEvent (Up / Down / Weight) ──► lvs::LvsState
//! ```

pub mod engine;
pub mod event;
pub mod http;
pub mod misc;
pub mod runner;
pub mod schedule;
pub mod sink;
pub mod spec;
pub mod ssl;
pub mod tcp;

pub use event::{CheckEvent, CheckerId};
pub use runner::CheckRunner;
pub use schedule::{CheckSchedule, Report, Step};
pub use spec::{
    CheckKind, CheckTiming, CheckerSpec, HttpGet, HttpProtocol, MiscCheck, StatusCodes, UrlCheck,
};

use std::time::Duration;

/// Why a single probe of a real server failed.
///
/// Every variant is an ordinary, expected outcome of checking a server that
/// is down or misbehaving; none of them is a bug in tandem.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("connect to {addr}: {source}")]
    Connect {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("no complete answer within connect_timeout ({0:?})")]
    Timeout(Duration),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("HTTP: {0}")]
    Response(String),
    #[error("HTTP: {0}")]
    Io(std::io::Error),
    #[error("could not build the HTTP request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("could not build the HTTP request: {0}")]
    BadRequest(String),
    #[error("url {path}: status {got} not in {expected}")]
    Status {
        path: String,
        got: u16,
        expected: StatusCodes,
    },
    #[error("url {path}: digest {got} differs from the configured {expected}")]
    Digest {
        path: String,
        got: String,
        expected: String,
    },
    #[error("TLS: {0}")]
    Tls(std::io::Error),
    #[error("TLS server name {0:?} is not valid")]
    ServerName(String),
    #[error("MISC_CHECK {path:?}: could not start: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("MISC_CHECK {path:?}: {reason}")]
    BadCommand { path: String, reason: String },
    #[error("MISC_CHECK {path:?}: exit status {code}")]
    Exit { path: String, code: i32 },
    #[error("MISC_CHECK {path:?}: killed by signal {signal}")]
    Signal { path: String, signal: i32 },
    #[error("MISC_CHECK {path:?}: still running after misc_timeout ({timeout:?}), killed")]
    MiscTimeout { path: String, timeout: Duration },
}

/// What a probe that passed found out beyond "up".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The check passed; the weight stays as it is.
    Up,
    /// `MISC_CHECK` with `misc_dynamic` exited 2..=255: up, with this weight
    /// (exit status − 2), as keepalived does.
    Weight(u32),
}

/// Run one probe of `spec` (no retries, no scheduling): what `check-once`
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
            CheckKind::Tcp | CheckKind::Misc(_) => Self::Nothing,
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

/// prints and what the runner feeds into [`CheckSchedule`].
pub async fn probe(spec: &CheckerSpec) -> Result<Pass, CheckError> {
    match &spec.kind {
        CheckKind::Tcp => tcp::probe(spec).await.map(|()| Pass::Up),
        CheckKind::Http(get) => http::probe(spec, get).await.map(|()| Pass::Up),
        CheckKind::Ssl(get) => ssl::probe(spec, get).await.map(|()| Pass::Up),
        CheckKind::Misc(misc) => misc::probe(spec, misc).await,
    }
}
