//! SSL_GET against a real TLS server (certificate made by `openssl`),
//! TCP_CHECK against a real listener, MISC_CHECK with real programs.
//! Loopback only; temporary files are removed by Drop guards.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tandem::check::spec::{CheckTiming, DEFAULT_CONNECT_TIMEOUT};
use tandem::check::{
    CheckError, CheckKind, CheckerSpec, HttpGet, HttpProtocol, MiscCheck, Pass, UrlCheck, probe,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("tandem-check-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spec(target: SocketAddr, kind: CheckKind) -> CheckerSpec {
    let timing = CheckTiming::defaults(&kind, Duration::from_secs(2));
    CheckerSpec {
        kind,
        target,
        bindto: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        timing,
    }
}

/// A self-signed certificate for www.example.com, made by openssl.
fn make_cert(dir: &Path) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=www.example.com",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let certs = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    (certs, key)
}

/// A TLS server answering every request with `status`; records the SNI.
async fn tls_server(dir: &Path, status: u16) -> (SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    let (certs, key) = make_cert(dir);
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let snis = Arc::new(Mutex::new(Vec::new()));
    let snis2 = Arc::clone(&snis);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let snis = Arc::clone(&snis2);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                snis.lock()
                    .unwrap()
                    .push(tls.get_ref().1.server_name().map(str::to_owned));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 512];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let r = format!("HTTP/1.0 {status} X\r\nContent-Length: 2\r\n\r\nok");
                let _ = tls.write_all(r.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, snis)
}

fn ssl(target: SocketAddr, sni: bool) -> CheckerSpec {
    spec(
        target,
        CheckKind::Ssl(HttpGet {
            urls: vec![UrlCheck::path("/")],
            protocol: HttpProtocol::Http10,
            virtualhost: Some("www.example.com".into()),
            enable_sni: sni,
        }),
    )
}

#[tokio::test]
async fn ssl_get_passes_with_self_signed_cert_and_sni_on_request() {
    let dir = TempDir::new("ssl");
    let (addr, snis) = tls_server(dir.path(), 200).await;
    // Self-signed and for another name than 127.0.0.1: not verified, as in
    // keepalived; the handshake must still complete.
    assert_eq!(probe(&ssl(addr, false)).await.unwrap(), Pass::Up);
    assert_eq!(probe(&ssl(addr, true)).await.unwrap(), Pass::Up);
    let snis = snis.lock().unwrap().clone();
    assert_eq!(snis, vec![None, Some("www.example.com".to_string())]);
}

#[tokio::test]
async fn ssl_get_checks_status_over_tls() {
    let dir = TempDir::new("ssl500");
    let (addr, _) = tls_server(dir.path(), 500).await;
    let err = probe(&ssl(addr, false)).await.unwrap_err();
    assert!(
        matches!(err, CheckError::Status { got: 500, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn ssl_get_against_a_plain_http_server_fails() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut b = [0u8; 512];
            let _ = s.read(&mut b).await;
            let _ = s
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let err = probe(&ssl(addr, false)).await.unwrap_err();
    assert!(matches!(err, CheckError::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn tcp_check_open_and_closed_port() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert_eq!(probe(&spec(addr, CheckKind::Tcp)).await.unwrap(), Pass::Up);
    drop(listener);
    let err = probe(&spec(addr, CheckKind::Tcp)).await.unwrap_err();
    assert!(matches!(err, CheckError::Connect { .. }), "{err:?}");
}

/// The same on the checks' own event loop (the daemon's way), and a port
/// that accepts but never answers is still open for TCP_CHECK.
#[tokio::test]
async fn tcp_check_on_the_event_loop() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let once = move || {
        let s = spec(addr, CheckKind::Tcp);
        tokio::task::spawn_blocking(move || tandem::check::engine::probe_once(&s))
    };
    assert!(matches!(once().await.unwrap(), Some(Ok(()))));
    drop(listener);
    match once().await.unwrap() {
        Some(Err(CheckError::Connect { source, .. })) => {
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused)
        }
        other => panic!("expected a refused connection, got {other:?}"),
    }
    // Not run there: MISC_CHECK stays a tokio task.
    assert!(tandem::check::engine::probe_once(&misc("/bin/true", false, None)).is_none());
}

fn misc(path: &str, dynamic: bool, timeout: Option<Duration>) -> CheckerSpec {
    spec(
        "127.0.0.1:80".parse().unwrap(),
        CheckKind::Misc(MiscCheck {
            path: path.into(),
            timeout,
            dynamic,
            uid: None,
            gid: None,
        }),
    )
}

#[tokio::test]
async fn misc_check_exit_codes() {
    assert_eq!(
        probe(&misc("/bin/sh -c 'exit 0'", false, None))
            .await
            .unwrap(),
        Pass::Up
    );
    let err = probe(&misc("/bin/sh -c 'exit 1'", false, None))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Exit { code: 1, .. }), "{err:?}");
    // Without misc_dynamic any non-zero status is a failure.
    assert!(
        probe(&misc("/bin/sh -c 'exit 10'", false, None))
            .await
            .is_err()
    );
    // misc_dynamic: 10 -> up with weight 8; 1 is still down.
    assert_eq!(
        probe(&misc("/bin/sh -c 'exit 10'", true, None))
            .await
            .unwrap(),
        Pass::Weight(8)
    );
    assert!(
        probe(&misc("/bin/sh -c 'exit 1'", true, None))
            .await
            .is_err()
    );
    let err = probe(&misc("/nonexistent/checker", false, None))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::Spawn { .. }), "{err:?}");
}

/// MISC_CHECK runs as its resolved user (keepalived's `user USER
/// [GROUP]` / `script_user` / `keepalived_script` / root), with only that
/// group and no capabilities.
#[tokio::test]
async fn misc_check_runs_as_its_user() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to switch users");
        return;
    }
    let as_nobody = |path: &str| {
        spec(
            "127.0.0.1:80".parse().unwrap(),
            CheckKind::Misc(MiscCheck {
                path: path.into(),
                timeout: None,
                dynamic: false,
                uid: Some(65534),
                gid: Some(65534),
            }),
        )
    };
    let cmd = "/bin/sh -c 'test \"$(id -u) $(id -g) $(id -G)\" = \"65534 65534 65534\" && grep -q \"^CapEff:.0000000000000000\" /proc/$$/status'";
    assert_eq!(probe(&as_nobody(cmd)).await.ok(), Some(Pass::Up));
    // The same check as the daemon (root) fails: the user is what changed.
    assert!(probe(&misc(cmd, false, None)).await.is_err());
}

#[tokio::test]
async fn misc_timeout_kills_the_program_and_its_children() {
    let dir = TempDir::new("misc");
    let pidfile = dir.path().join("child.pid");
    // The script starts a long sleep in the background, records its pid,
    // and waits: both must die when misc_timeout expires.
    let cmd = format!(
        "/bin/sh -c 'sleep 300 & echo $! > {}; wait'",
        pidfile.display()
    );
    let err = probe(&misc(&cmd, false, Some(Duration::from_millis(500))))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckError::MiscTimeout { .. }), "{err:?}");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The grandchild is gone (allow a moment for the kernel to reap it).
    let mut gone = false;
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        if stat.is_empty() || stat.contains(") Z ") {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "background child {pid} survived misc_timeout");
}
