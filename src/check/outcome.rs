//! What one probe of a real server comes to: [`Pass`] or a [`CheckError`].
//!
//! The vocabulary every probe (tokio or the checks' own event loop) and
//! every front end (`check-once`, the runner) shares, so that it sits below
//! all of them. Owns no I/O: plain values only.

use std::time::Duration;

use super::spec::StatusCodes;

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
    /// keepalived's "Regex match failed": the body did not match (or,
    /// with `regex_no_match`, did).
    #[error("url {path}: body {} regex {pattern:?}{}", if *matched { "matches (regex_no_match)" } else { "does not match" }, failure.as_ref().map(|f| format!(" (a match attempt failed: {f})")).unwrap_or_default())]
    Regex {
        path: String,
        pattern: String,
        matched: bool,
        failure: Option<String>,
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
    /// A checker of keepalived's own failure words (DNS_CHECK...): the
    /// text is what keepalived logs after "CHECKER ([ip]:proto:port)".
    #[error("{what}")]
    Failed { checker: &'static str, what: String },
    /// A datagram checker's connect found no route (keepalived's
    /// "network unreachable for [ip]:port").
    #[error("network unreachable for {pair}")]
    Unreachable { checker: &'static str, pair: String },
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
