//! The status page listener (`tandem run --status-listen ADDR:PORT`): the
//! daemon's state over plain HTTP for a browser or `curl`.
//!
//! | request       | answer                                                  |
//! |---------------|---------------------------------------------------------|
//! | `GET /`       | the [status page](super::page): HTML an operator reads at a glance |
//! | `GET /status` | the same JSON as the control socket's `/status` (`tandem status --json`) |
//! | `GET /health` | `ok`                                                    |
//!
//! Off unless asked for, and read-only: nothing here can reload, change a
//! weight or reach the daemon's reload channel (it is not even handed one),
//! and every other method is refused. The page has no authentication and
//! names internal addresses, so an address that is not loopback is refused
//! unless the operator says, with `--status-listen-allow-remote`, that the
//! network in front of it is trusted ([`check_listen_address`]).
//!
//! Owns the status listener; may not change the daemon's state.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use super::model::StatusReceiver;
use super::page;
use super::server::{accept_loop, json, method_not_allowed, respond, serve_connection};

/// Why a `--status-listen` address is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListenAddressError {
    #[error(
        "--status-listen {given}: not an IP address and port (e.g. 127.0.0.1:8650 or [::1]:8650)"
    )]
    Malformed { given: String },
    #[error(
        "--status-listen {addr}: not a loopback address; the status page has no authentication \
         and shows internal addresses and state to whoever reaches it, so it listens on \
         127.0.0.1 or ::1 unless --status-listen-allow-remote says the network in front of \
         {addr} is trusted"
    )]
    NotLoopback { addr: SocketAddr },
}

/// Parse the `--status-listen` address and refuse one that is not
/// loopback unless `allow_remote`. The unspecified addresses (`0.0.0.0`,
/// `::`) are every address, so they count as remote.
pub fn check_listen_address(
    given: &str,
    allow_remote: bool,
) -> Result<SocketAddr, ListenAddressError> {
    let addr: SocketAddr = given
        .trim()
        .parse()
        .map_err(|_| ListenAddressError::Malformed {
            given: given.to_string(),
        })?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(ListenAddressError::NotLoopback { addr });
    }
    Ok(addr)
}

/// Bind the status listener.
pub async fn bind_status(addr: SocketAddr) -> Result<TcpListener, super::server::ControlError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| super::server::ControlError::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// Serve the status page and `/status` until `shutdown` completes.
pub async fn serve_status(
    listener: TcpListener,
    status: StatusReceiver,
    shutdown: impl Future<Output = ()>,
) {
    let listener = &listener;
    accept_loop(
        "status listener",
        move || async move { listener.accept().await.map(|(stream, _)| stream) },
        move |stream| {
            let status = status.clone();
            serve_connection(stream, move |req| {
                let status = status.clone();
                async move { Ok::<_, Infallible>(handle_status(&req, &status)) }
            })
        },
        shutdown,
    )
    .await;
}

fn handle_status(req: &Request<Incoming>, status: &StatusReceiver) -> Response<Full<Bytes>> {
    let pretty = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "pretty"));
    let mut resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => {
            let mut r = respond(StatusCode::OK, page::CONTENT_TYPE, page::HTML);
            r.headers_mut().insert(
                "content-security-policy",
                HeaderValue::from_static(page::CONTENT_SECURITY_POLICY),
            );
            r.headers_mut()
                .insert("x-frame-options", HeaderValue::from_static("DENY"));
            r
        }
        (&Method::GET, "/status") => {
            let snapshot = status.borrow().clone();
            json(StatusCode::OK, &snapshot, pretty)
        }
        (&Method::GET, "/health") => respond(StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
        (_, "/" | "/status" | "/health") => method_not_allowed(),
        _ => respond(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found; this read-only listener serves /, /status and /health\n",
        ),
    };
    let headers = resp.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_taken_and_anything_else_needs_the_explicit_flag() {
        assert_eq!(
            check_listen_address("127.0.0.1:8650", false),
            Ok("127.0.0.1:8650".parse().unwrap_or_else(|_| unreachable!()))
        );
        assert!(check_listen_address("[::1]:8650", false).is_ok());
        assert!(check_listen_address("127.0.0.2:8650", false).is_ok());
        for remote in [
            "192.0.2.1:8650",
            "0.0.0.0:8650",
            "[::]:8650",
            "[2001:db8::1]:80",
        ] {
            let e = check_listen_address(remote, false);
            assert!(
                matches!(e, Err(ListenAddressError::NotLoopback { .. })),
                "{remote}: {e:?}"
            );
            assert!(check_listen_address(remote, true).is_ok(), "{remote}");
        }
        let msg = check_listen_address("0.0.0.0:8650", false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("no authentication"), "{msg}");
        assert!(msg.contains("--status-listen-allow-remote"), "{msg}");
        for bad in ["localhost:8650", "127.0.0.1", "8650", ""] {
            assert!(
                matches!(
                    check_listen_address(bad, true),
                    Err(ListenAddressError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }
}
