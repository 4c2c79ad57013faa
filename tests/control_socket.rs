//! The control socket as an operator meets it: `tandem status` (the real
//! binary) against a served snapshot, the socket's permissions, reload over
//! the socket, Prometheus over TCP on loopback, and the SIGUSR1 dump.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::{Method, StatusCode};
use tandem::control::client;
use tandem::control::dump;
use tandem::control::model::{StatusSnapshot, VrrpState, example_snapshot, status_channel};
use tandem::control::server::{
    ControlError, ControlState, ReloadOutcome, bind_control_socket, bind_metrics, serve_control,
    serve_metrics,
};
use tokio::sync::{mpsc, oneshot};

static NEXT: AtomicUsize = AtomicUsize::new(0);

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "tdm-control-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tandem_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tandem")
}

/// Serve `snapshot` on a socket in `dir`; returns the socket path, the
/// sender (to publish new snapshots) and a shutdown trigger.
async fn serve(
    dir: &Path,
    snapshot: StatusSnapshot,
    reload: Option<mpsc::Sender<tandem::control::server::ReloadRequest>>,
) -> (
    PathBuf,
    tokio::sync::watch::Sender<StatusSnapshot>,
    oneshot::Sender<()>,
) {
    let path = dir.join("run/tandem.sock");
    let listener = bind_control_socket(&path, 0o600).await.expect("bind");
    let (tx, rx) = status_channel(snapshot);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(serve_control(
        listener,
        ControlState { status: rx, reload },
        async {
            let _ = stop_rx.await;
        },
    ));
    (path, tx, stop_tx)
}

/// Run the real `tandem status` binary off the runtime thread.
async fn tandem_status(socket: &Path, json: bool) -> std::process::Output {
    let socket = socket.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(tandem_bin());
        cmd.arg("status").arg("--socket").arg(&socket);
        if json {
            cmd.arg("--json");
        }
        cmd.output().expect("run tandem status")
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn tandem_status_prints_table_and_json_from_the_socket() {
    let dir = TempDir::new();
    let (path, tx, _stop) = serve(&dir.0, example_snapshot(), None).await;

    // Root-only socket.
    let meta = std::fs::metadata(&path).expect("stat");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let out = tandem_status(&path, false).await;
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("VI_OUTER"), "{table}");
    assert!(table.contains("MASTER"));
    assert!(table.contains("[192.0.2.2]:tcp:80"));
    assert!(table.contains("DOWN (inhibited)"));

    // A state change published by the daemon shows in the next answer.
    tx.send_modify(|s| {
        s.vrrp_instances[0].state = VrrpState::Backup;
        s.vrrp_instances[0].master_address = Some("192.0.2.12".parse().unwrap());
    });
    let out = tandem_status(&path, true).await;
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["vrrp_instances"][0]["state"], "BACKUP");
    assert_eq!(v["vrrp_instances"][0]["master_address"], "192.0.2.12");
    assert_eq!(v["virtual_servers"][0]["real_servers"][1]["alive"], false);
    assert_eq!(v["mail"]["sent"], 3);
    let back: StatusSnapshot = serde_json::from_value(v).expect("schema");
    assert_eq!(back.vrrp_instances[0].state, VrrpState::Backup);
}

#[tokio::test]
async fn status_without_daemon_is_a_clear_error() {
    let dir = TempDir::new();
    let out = tandem_status(&dir.0.join("nothing.sock"), false).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is tandem running?"), "{err}");
}

#[tokio::test]
async fn socket_is_not_stolen_from_a_live_daemon_but_stale_ones_are_replaced() {
    let dir = TempDir::new();
    let (path, _tx, stop) = serve(&dir.0, example_snapshot(), None).await;
    match bind_control_socket(&path, 0o600).await {
        Err(ControlError::InUse { .. }) => {}
        other => panic!("second daemon got {other:?}"),
    }
    // The first daemon dies without cleaning up: its socket file remains.
    drop(stop);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (path2, _tx2, _stop2) = serve(&dir.0, example_snapshot(), None).await;
    assert_eq!(path, path2);
    let s = client::fetch_status(&path2).await.expect("status");
    assert_eq!(s.router_id, "lb1");

    // A regular file in the way is an error, not deleted.
    let file = dir.0.join("not-a-socket");
    std::fs::write(&file, "keep me").expect("write");
    assert!(matches!(
        bind_control_socket(&file, 0o600).await,
        Err(ControlError::NotASocket { .. })
    ));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "keep me");
}

#[tokio::test]
async fn an_idle_client_does_not_block_others() {
    let dir = TempDir::new();
    let (path, _tx, _stop) = serve(&dir.0, example_snapshot(), None).await;
    // Connect and say nothing.
    let _idle = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    let s = client::fetch_status(&path).await.expect("status");
    assert_eq!(s.vrrp_instances.len(), 2);
}

#[tokio::test]
async fn reload_over_the_socket_reports_the_daemon_s_verdict() {
    let dir = TempDir::new();
    let (reload_tx, mut reload_rx) = mpsc::channel(1);
    let (path, _tx, _stop) = serve(&dir.0, example_snapshot(), Some(reload_tx)).await;
    // A stand-in for the daemon: refuses the first reload, applies the second.
    tokio::spawn(async move {
        let mut n = 0;
        while let Some(req) = reload_rx.recv().await {
            n += 1;
            let outcome = if n == 1 {
                ReloadOutcome {
                    applied: false,
                    changes: vec![],
                    errors: vec!["/etc/tandem/keepalived.conf:12:5: unknown keyword 'priorty' (did you mean 'priority'?)".into()],
                }
            } else {
                ReloadOutcome {
                    applied: true,
                    changes: vec!["VI_1: priority 100 -> 120".into()],
                    errors: vec![],
                }
            };
            let _ = req.reply.send(outcome);
        }
    });
    let (code, body) = client::request(&path, Method::POST, "/reload")
        .await
        .expect("reload");
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let o: ReloadOutcome = serde_json::from_slice(&body).expect("json");
    assert!(!o.applied && o.errors[0].contains(":12:5:"));
    let (code, body) = client::request(&path, Method::POST, "/reload")
        .await
        .expect("reload");
    assert_eq!(code, StatusCode::OK);
    let o: ReloadOutcome = serde_json::from_slice(&body).expect("json");
    assert!(o.applied);

    // Wrong method, unknown path.
    let (code, _) = client::request(&path, Method::GET, "/reload")
        .await
        .expect("req");
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    let (code, _) = client::request(&path, Method::GET, "/nope")
        .await
        .expect("req");
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reload_without_a_daemon_hook_says_so() {
    let dir = TempDir::new();
    let (path, _tx, _stop) = serve(&dir.0, example_snapshot(), None).await;
    let (code, body) = client::request(&path, Method::POST, "/reload")
        .await
        .expect("reload");
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&body).contains("SIGHUP"));
}

#[tokio::test]
async fn prometheus_scrape_over_loopback() {
    let listener = bind_metrics("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (_tx, rx) = status_channel(example_snapshot());
    let (_stop, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(serve_metrics(listener, rx, async {
        let _ = stop_rx.await;
    }));
    let (status, head, body) = http_get_tcp(addr, "/metrics").await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4")
    );
    assert!(body.contains("tandem_vrrp_state{instance=\"VI_OUTER\",state=\"MASTER\"} 1"));
    assert!(body.contains("tandem_real_server_up{virtual_server=\"[192.0.2.2]:tcp:80\",real_server=\"198.51.100.10:80\"} 1"));
    // The JSON status is not served over TCP.
    let (status, _, _) = http_get_tcp(addr, "/status").await;
    assert_eq!(status, 404);
}

/// A minimal HTTP/1.0 GET, independent of the code under test.
async fn http_get_tcp(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("http response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    (status, head.to_string(), body.to_string())
}

#[tokio::test]
async fn sigusr1_writes_the_state_dump() {
    let dir = TempDir::new();
    let path = dir.0.join("tandem.data");
    let (_tx, rx) = status_channel(example_snapshot());
    dump::spawn_sigusr1_dump(path.clone(), rx).expect("signal handler");
    // SAFETY: sending a signal to ourselves; the handler is installed.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGUSR1);
    }
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(t) = std::fs::read_to_string(&path) {
            text = t;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(text.contains(" VRRP Instance = VI_OUTER\n"), "{text}");
    assert!(text.contains("   State = MASTER\n"));
    let json = std::fs::read_to_string(dump::json_path(&path)).expect("json dump");
    let s: StatusSnapshot = serde_json::from_str(&json).expect("parse");
    assert_eq!(s.router_id, "lb1");
}
