//! The control socket and the metrics listener (HTTP/1.1 with hyper).
//!
//! The control socket is a unix socket, by default
//! `/run/tandem/tandem.sock`, mode 0600: only root may read the state or ask
//! for a reload, by file permission rather than by anything in the protocol.
//! It answers:
//!
//! | request          | answer                                             |
//! |------------------|----------------------------------------------------|
//! | `GET /status`    | the [`StatusSnapshot`](super::model::StatusSnapshot) as JSON (`?pretty` indents) |
//! | `GET /metrics`   | Prometheus text                                    |
//! | `GET /health`    | `ok` (the daemon's loop is alive)                  |
//! | `POST /reload`   | asks the daemon to reload; its verdict as JSON     |
//!
//! The Prometheus listener is opt-in (an address such as `127.0.0.1:9650`)
//! and serves only `GET /metrics`: the JSON status may name internal
//! addresses, and reload is never reachable over TCP.
//!
//! Every request is answered from the latest snapshot in the watch channel;
//! nothing here takes a lock the daemon's tasks need. Connections are capped
//! and slow clients timed out, so a stuck `curl` cannot pile up tasks.
//!
//! Owns the control socket and the metrics listener; may not change the
//! daemon's state (a reload is only forwarded as a `ReloadRequest`).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::metrics;
use super::model::StatusReceiver;

/// Where the control socket lives unless told otherwise. systemd's
/// `RuntimeDirectory=tandem` creates `/run/tandem` for us.
pub const DEFAULT_SOCKET: &str = "/run/tandem/tandem.sock";
/// Mode of the control socket: root only.
pub const DEFAULT_SOCKET_MODE: u32 = 0o600;
/// Connections served at once per listener; more wait in the backlog.
const MAX_CONNECTIONS: usize = 32;
/// A client must send its request headers within this time.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `POST /reload` waits for the daemon's verdict.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket {path}: another tandem answers there (is the daemon already running?)")]
    InUse { path: PathBuf },
    #[error("control socket {path}: exists and is not a socket; not removing it")]
    NotASocket { path: PathBuf },
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("metrics listener {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: io::Error,
    },
}

/// A reload asked for over the socket (or by `tandem reload`); the daemon
/// answers on `reply`.
#[derive(Debug)]
pub struct ReloadRequest {
    pub reply: oneshot::Sender<ReloadOutcome>,
}

/// The daemon's verdict on a reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// The new configuration is in force.
    pub applied: bool,
    /// What changed, in words (`VI_1: priority 100 -> 120`).
    #[serde(default)]
    pub changes: Vec<String>,
    /// Why it was refused, with file:line:col; the old configuration runs on.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// What the request handlers need: the status feed and, if the daemon
/// supports it, the reload channel.
#[derive(Clone, Debug)]
pub struct ControlState {
    pub status: StatusReceiver,
    pub reload: Option<mpsc::Sender<ReloadRequest>>,
}

/// Bind the control socket at `path` with `mode`, replacing a stale socket
/// left by a crashed daemon but never a live one or a non-socket file.
pub async fn bind_control_socket(path: &Path, mode: u32) -> Result<UnixListener, ControlError> {
    let io_err = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            tokio::fs::create_dir_all(dir).await.map_err(io_err)?;
        }
    }
    match tokio::fs::symlink_metadata(path).await {
        Ok(meta) if meta.file_type().is_socket() => {
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(ControlError::InUse {
                    path: path.to_path_buf(),
                });
            }
            tokio::fs::remove_file(path).await.map_err(io_err)?;
        }
        Ok(_) => {
            return Err(ControlError::NotASocket {
                path: path.to_path_buf(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let listener = UnixListener::bind(path).map_err(io_err)?;
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .await
        .map_err(io_err)?;
    Ok(listener)
}

/// Serve the control socket until `shutdown` completes.
pub async fn serve_control(
    listener: UnixListener,
    state: ControlState,
    shutdown: impl Future<Output = ()>,
) {
    let listener = &listener;
    accept_loop(
        "control socket",
        move || async move { listener.accept().await.map(|(stream, _)| stream) },
        move |stream| {
            let state = state.clone();
            serve_connection(stream, move |req| handle_control(req, state.clone()))
        },
        shutdown,
    )
    .await;
}

/// Bind the opt-in Prometheus listener.
pub async fn bind_metrics(addr: &str) -> Result<TcpListener, ControlError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ControlError::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// Serve `GET /metrics` over TCP until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    status: StatusReceiver,
    shutdown: impl Future<Output = ()>,
) {
    let listener = &listener;
    accept_loop(
        "metrics listener",
        move || async move { listener.accept().await.map(|(stream, _)| stream) },
        move |stream| {
            let status = status.clone();
            serve_connection(stream, move |req| {
                let status = status.clone();
                async move { Ok::<_, Infallible>(handle_metrics(&req, &status)) }
            })
        },
        shutdown,
    )
    .await;
}

/// Accepts connections until `shutdown` completes and serves each on its
/// own task. A permit is taken *before* accepting, so at most
/// [`MAX_CONNECTIONS`] are served at once and the rest wait in the kernel's
/// backlog rather than as tasks. A failed accept (EMFILE, say) is logged
/// and retried after a pause instead of spinning or ending the listener.
pub(super) async fn accept_loop<S, A, AF, H, HF>(
    what: &'static str,
    mut accept: A,
    handle: H,
    shutdown: impl Future<Output = ()>,
) where
    A: FnMut() -> AF,
    AF: Future<Output = io::Result<S>>,
    H: Fn(S) -> HF,
    HF: Future<Output = ()> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => return,
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            r = accept() => match r {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "{what}: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let served = handle(stream);
        tokio::spawn(async move {
            served.await;
            drop(permit);
        });
    }
}

pub(super) async fn serve_connection<S, F, Fut>(stream: S, handler: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service_fn(handler));
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "control connection ended with an error");
    }
}

pub(super) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(super) fn json<T: Serialize>(
    status: StatusCode,
    value: &T,
    pretty: bool,
) -> Response<Full<Bytes>> {
    let body = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    match body {
        Ok(mut b) => {
            b.push(b'\n');
            respond(status, "application/json", b)
        }
        Err(e) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("cannot encode status: {e}\n"),
        ),
    }
}

fn handle_metrics(req: &Request<Incoming>, status: &StatusReceiver) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            let text = metrics::render(&status.borrow());
            respond(StatusCode::OK, metrics::CONTENT_TYPE, text)
        }
        (&Method::GET, "/") => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "tandem: metrics at /metrics\n",
        ),
        (_, "/metrics") => method_not_allowed(),
        _ => not_found(),
    }
}

fn not_found() -> Response<Full<Bytes>> {
    respond(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "not found; try /status, /metrics, /health or POST /reload\n",
    )
}

pub(super) fn method_not_allowed() -> Response<Full<Bytes>> {
    respond(
        StatusCode::METHOD_NOT_ALLOWED,
        "text/plain; charset=utf-8",
        "method not allowed\n",
    )
}

async fn handle_control(
    req: Request<Incoming>,
    state: ControlState,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let pretty = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "pretty"));
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/status") => {
            let snapshot = state.status.borrow().clone();
            json(StatusCode::OK, &snapshot, pretty)
        }
        (&Method::GET, "/metrics") => handle_metrics(&req, &state.status),
        (&Method::GET, "/health") => respond(StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
        (&Method::POST, "/reload") => reload(state.reload.as_ref()).await,
        (_, "/status" | "/metrics" | "/health" | "/reload") => method_not_allowed(),
        _ => not_found(),
    };
    Ok(resp)
}

async fn reload(tx: Option<&mpsc::Sender<ReloadRequest>>) -> Response<Full<Bytes>> {
    let unavailable = |why: &str| {
        respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            format!("{why}\n"),
        )
    };
    let Some(tx) = tx else {
        return unavailable("this daemon does not take reloads over the socket; send SIGHUP");
    };
    let (reply, rx) = oneshot::channel();
    // One reload at a time: a second one waits for room, not forever.
    match tokio::time::timeout(RELOAD_TIMEOUT, tx.send(ReloadRequest { reply })).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return unavailable("the daemon is shutting down"),
        Err(_) => return unavailable("another reload is still running"),
    }
    match tokio::time::timeout(RELOAD_TIMEOUT, rx).await {
        Ok(Ok(outcome)) => {
            let code = if outcome.applied {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            json(code, &outcome, true)
        }
        Ok(Err(_)) => unavailable("the daemon dropped the reload request"),
        Err(_) => unavailable("no verdict on the reload within 60 s"),
    }
}
