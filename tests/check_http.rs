//! HTTP_GET and SSL_GET against real HTTP servers on loopback.
//!
//! The servers are real TCP servers started by each test on 127.0.0.1 with
//! an ephemeral port (loopback only, nothing else is addressed). Most are
//! small hand-written HTTP/1 responders, because the interesting cases are
//! servers that misbehave — answer slowly, trickle, hang, send the wrong
//! status or body — and one test uses Debian's python3 `http.server` as an
//! independent implementation, with the digest computed by `md5sum`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem::check::runner::RunningChecks;
use tandem::check::spec::{CheckTiming, DEFAULT_CONNECT_TIMEOUT};
use tandem::check::{
    CheckError, CheckEvent, CheckKind, CheckRunner, CheckerSpec, HttpGet, HttpProtocol, Pass,
    Report, StatusCodes, UrlCheck, engine, probe,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::Sender;

/// The two ways a status-only check runs: a tokio task
/// ([`tandem::check::probe`], `CheckRunner::spawn`), and the checks' own
/// event loop (`tandem::check::engine`, what the daemon uses). Every test
/// of such a check runs both, each against a fresh server.
#[derive(Debug, Clone, Copy)]
enum Way {
    Tokio,
    Engine,
}
const WAYS: [Way; 2] = [Way::Tokio, Way::Engine];

async fn probe_by(way: Way, s: &CheckerSpec) -> Result<Pass, CheckError> {
    match way {
        Way::Tokio => probe(s).await,
        Way::Engine => {
            let s = s.clone();
            tokio::task::spawn_blocking(move || engine::probe_once(&s))
                .await
                .unwrap()
                .expect("the engine runs status-only HTTP_GET")
                .map(|()| Pass::Up)
        }
    }
}

/// What a test server does with each request.
#[derive(Clone)]
enum Behaviour {
    /// Answer with this status and body at once.
    Answer(u16, Vec<u8>),
    /// Send the headers, then the body one byte every `gap`.
    Trickle(Vec<u8>, Duration),
    /// Accept and read the request, never answer.
    Hang,
    /// The first `n` requests get 500, the rest 200.
    FailFirst(usize),
    /// Send these pieces as they are, `gap` apart, then close.
    Raw(Vec<Vec<u8>>, Duration),
    /// Answer 200 with no Content-Length (the body ends with the
    /// connection), half-close, and record how the client ended.
    CloseDelimited(Vec<u8>),
    /// Answer 200 with a Content-Length and keep the connection open;
    /// record how the client ended it.
    KeepOpen,
}

/// How the client ended a connection, as the server's read after its
/// answer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// End of stream: the client's FIN.
    Eof,
    /// A reset (ECONNRESET).
    Reset,
    /// Anything else (more bytes, another error).
    Other,
}

async fn client_end(stream: &mut TcpStream) -> End {
    let mut rest = [0u8; 64];
    match stream.read(&mut rest).await {
        Ok(0) => End::Eof,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => End::Reset,
        _ => End::Other,
    }
}

#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    peers: Vec<SocketAddr>,
    /// Per answered request: did the whole answer go out, and did the
    /// client then close in order (end of stream, not a reset)?
    orderly: Vec<bool>,
    /// Per `CloseDelimited` / `KeepOpen` answer: how the client ended.
    ends: Vec<End>,
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    return;
                };
                let seen = Arc::clone(&seen2);
                let behaviour = behaviour.clone();
                tokio::spawn(serve(stream, peer, seen, behaviour));
            }
        });
        Self {
            addr,
            seen,
            _task: task,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().requests.clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().requests.len()
    }
}

async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    behaviour: Behaviour,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let n = {
        let mut s = seen.lock().unwrap();
        s.requests.push(String::from_utf8_lossy(&buf).into_owned());
        s.peers.push(peer);
        s.requests.len()
    };
    let answer = |status: u16, body: &[u8]| {
        let mut r = format!(
            "HTTP/1.0 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    match behaviour {
        Behaviour::Answer(status, body) => {
            let sent = stream.write_all(&answer(status, &body)).await.is_ok();
            // Half-close, then wait for the client's end: a client that
            // closes with unread data makes the kernel send a reset.
            let closed = stream.shutdown().await.is_ok();
            let end = client_end(&mut stream).await;
            let mut seen = seen.lock().unwrap();
            seen.orderly.push(sent && closed);
            seen.ends.push(end);
            return;
        }
        Behaviour::CloseDelimited(body) => {
            let mut r = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
            r.extend_from_slice(&body);
            if stream.write_all(&r).await.is_ok() && stream.shutdown().await.is_ok() {
                let end = client_end(&mut stream).await;
                seen.lock().unwrap().ends.push(end);
            }
            return;
        }
        Behaviour::KeepOpen => {
            if stream.write_all(&answer(200, b"ok")).await.is_ok() {
                let end = client_end(&mut stream).await;
                seen.lock().unwrap().ends.push(end);
            }
            return;
        }
        Behaviour::Raw(pieces, gap) => {
            for piece in pieces {
                if stream.write_all(&piece).await.is_err() {
                    return;
                }
                tokio::time::sleep(gap).await;
            }
        }
        Behaviour::FailFirst(k) => {
            let status = if n <= k { 500 } else { 200 };
            let _ = stream.write_all(&answer(status, b"ok")).await;
        }
        Behaviour::Trickle(body, gap) => {
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for b in body {
                tokio::time::sleep(gap).await;
                if stream.write_all(&[b]).await.is_err() {
                    return;
                }
            }
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    let _ = stream.shutdown().await;
}

fn get(urls: Vec<UrlCheck>) -> HttpGet {
    HttpGet {
        urls,
        protocol: HttpProtocol::Http10,
        virtualhost: None,
        enable_sni: false,
    }
}

fn spec(target: SocketAddr, kind: CheckKind) -> CheckerSpec {
    let timing = CheckTiming::defaults(&kind, Duration::from_secs(1));
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

fn http(target: SocketAddr, urls: Vec<UrlCheck>) -> CheckerSpec {
    spec(target, CheckKind::Http(get(urls)))
}

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    tandem::check::http::hex(&Md5::digest(data))
}

#[tokio::test]
async fn ok_status_passes_and_request_is_keepalived_like() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Answer(200, b"hello".to_vec())).await;
        let s = http(srv.addr, vec![UrlCheck::path("/health?x=1")]);
        assert_eq!(probe_by(way, &s).await.unwrap(), Pass::Up);
        let req = &srv.requests()[0];
        assert!(req.starts_with("GET /health?x=1 HTTP/1.0\r\n"), "{req}");
        // Host is the target address with its (non-default) port.
        let host = format!("host: 127.0.0.1:{}\r\n", srv.addr.port());
        assert!(req.to_ascii_lowercase().contains(&host), "{req}");
        assert!(req.contains("tandem-check/"), "{req}");
    }
}

#[tokio::test]
async fn wrong_status_fails_and_lists_and_ranges_apply() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Answer(503, b"busy".to_vec())).await;
        let err = probe_by(way, &http(srv.addr, vec![UrlCheck::path("/")]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CheckError::Status { got: 503, .. }),
            "{err:?}"
        );
        // status_code 200 300-399 503 -> 503 passes.
        let mut url = UrlCheck::path("/");
        url.status = StatusCodes(vec![(200, 200), (300, 399), (503, 503)]);
        assert_eq!(
            probe_by(way, &http(srv.addr, vec![url])).await.unwrap(),
            Pass::Up
        );
        // A redirect is not a 2xx: fails with the default codes.
        let redirect = Server::start(Behaviour::Answer(302, vec![])).await;
        assert!(
            probe_by(way, &http(redirect.addr, vec![UrlCheck::path("/")]))
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn digest_of_body_matches_or_fails() {
    // 200 kB so that the body arrives in many frames.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let srv = Server::start(Behaviour::Answer(200, body.clone())).await;
    let mut url = UrlCheck::path("/index.html");
    url.digest = Some(md5_hex(&body).to_uppercase()); // case does not matter
    assert_eq!(
        probe(&http(srv.addr, vec![url.clone()])).await.unwrap(),
        Pass::Up
    );
    url.digest = Some(md5_hex(b"something else"));
    let err = probe(&http(srv.addr, vec![url])).await.unwrap_err();
    match err {
        CheckError::Digest { got, .. } => assert_eq!(got, md5_hex(&body)),
        e => panic!("expected a digest mismatch, got {e:?}"),
    }
}

#[tokio::test]
async fn every_url_must_pass() {
    let srv = Server::start(Behaviour::Answer(200, b"a".to_vec())).await;
    let mut bad = UrlCheck::path("/b");
    bad.digest = Some(md5_hex(b"b"));
    let err = probe(&http(srv.addr, vec![UrlCheck::path("/a"), bad]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CheckError::Digest { path, .. } if path == "/b"),
        "{err:?}"
    );
    assert_eq!(srv.count(), 2);
}

/// Status-only URLs too: each on its own connection, the first that fails
/// fails the check and is named.
#[tokio::test]
async fn every_status_only_url_must_pass() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Answer(200, b"ok".to_vec())).await;
        let mut b = UrlCheck::path("/b");
        b.status = StatusCodes(vec![(404, 404)]);
        let c = UrlCheck::path("/c");
        let err = probe_by(way, &http(srv.addr, vec![UrlCheck::path("/a"), b, c]))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CheckError::Status { path, got: 200, .. } if path == "/b"),
            "{way:?}: {err:?}"
        );
        let paths: Vec<String> = srv
            .requests()
            .iter()
            .map(|r| r.split(' ').nth(1).unwrap_or("").to_string())
            .collect();
        assert_eq!(paths, ["/a", "/b"], "{way:?}: /c is not asked for");
        assert_eq!(
            probe_by(
                way,
                &http(srv.addr, vec![UrlCheck::path("/a"), UrlCheck::path("/c")])
            )
            .await
            .unwrap(),
            Pass::Up
        );
        assert_eq!(srv.count(), 4);
    }
}

#[tokio::test]
async fn virtualhost_and_http_protocol() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Answer(200, vec![])).await;
        let mut g = get(vec![UrlCheck::path("/")]);
        g.virtualhost = Some("www.example.com".into());
        g.protocol = HttpProtocol::Http11;
        probe_by(way, &spec(srv.addr, CheckKind::Http(g.clone())))
            .await
            .unwrap();
        g.protocol = HttpProtocol::Http10Close;
        let mut u = UrlCheck::path("/u");
        u.virtualhost = Some("api.example.com".into());
        g.urls = vec![u];
        probe_by(way, &spec(srv.addr, CheckKind::Http(g)))
            .await
            .unwrap();
        let reqs: Vec<String> = srv
            .requests()
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        let port = srv.addr.port();
        assert!(reqs[0].starts_with("get / http/1.1\r\n"), "{}", reqs[0]);
        assert!(
            reqs[0].contains(&format!("host: www.example.com:{port}\r\n")),
            "{}",
            reqs[0]
        );
        assert!(reqs[0].contains("connection: close\r\n"), "{}", reqs[0]);
        assert!(reqs[1].starts_with("get /u http/1.0\r\n"), "{}", reqs[1]);
        assert!(
            reqs[1].contains(&format!("host: api.example.com:{port}\r\n")),
            "{}",
            reqs[1]
        );
        assert!(reqs[1].contains("connection: close\r\n"), "{}", reqs[1]);
    }
}

#[tokio::test]
async fn hung_server_fails_with_timeout() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Hang).await;
        let mut s = http(srv.addr, vec![UrlCheck::path("/")]);
        s.connect_timeout = Duration::from_millis(500);
        let err = probe_by(way, &s).await.unwrap_err();
        assert!(matches!(err, CheckError::Timeout(_)), "{err:?}");
    }
}

#[tokio::test]
async fn trickling_server_is_bounded_by_connect_timeout_as_a_whole() {
    // Every byte arrives well within the timeout, but the whole body would
    // take 20 s: connect_timeout bounds the request, not each read.
    let body = vec![b'x'; 100];
    let srv = Server::start(Behaviour::Trickle(body.clone(), Duration::from_millis(200))).await;
    let mut url = UrlCheck::path("/");
    url.digest = Some(md5_hex(&body));
    let mut s = http(srv.addr, vec![url]);
    s.connect_timeout = Duration::from_secs(1);
    let err = probe(&s).await.unwrap_err();
    assert!(matches!(err, CheckError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn refused_connection_fails() {
    for way in WAYS {
        // Bind then drop: nothing listens on this port any more.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = probe_by(way, &http(addr, vec![UrlCheck::path("/")]))
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::Connect { .. }), "{err:?}");
    }
}

/// A status-only check reads the whole answer before it closes, so a real
/// server sending a large page gets it all out and sees an orderly end:
/// the client's FIN, or — from the checks' own loop, once the server's
/// FIN is in after the last byte — a reset (see the next test).
#[tokio::test]
async fn status_only_check_reads_the_body_and_closes_in_order() {
    for way in WAYS {
        // Larger than the socket buffers (unread, part of it would still be
        // in flight at the close), within what a check reads (1 MiB).
        let body = vec![b'x'; 768 << 10];
        let srv = Server::start(Behaviour::Answer(200, body)).await;
        for _ in 0..3 {
            probe_by(way, &http(srv.addr, vec![UrlCheck::path("/")]))
                .await
                .unwrap();
        }
        // The server task records after the client closed.
        for _ in 0..100 {
            if srv.seen.lock().unwrap().orderly.len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seen = srv.seen.lock().unwrap();
        assert_eq!(seen.orderly, vec![true; 3], "{way:?}");
        for end in &seen.ends {
            match way {
                Way::Tokio => assert_eq!(*end, End::Eof),
                Way::Engine => assert!(matches!(end, End::Eof | End::Reset), "{end:?}"),
            }
        }
    }
}

/// The checks' own loop ends a connection with a reset only after the
/// server has closed its side behind the whole answer (the exchange is over
/// for both programs; the reset spares the server's kernel a TIME_WAIT per
/// check): a close-delimited answer, read to its end, is reset; a server
/// that keeps the connection open after a Content-Length answer gets an
/// ordinary FIN. The tokio path always ends with a FIN.
#[tokio::test]
async fn engine_resets_only_after_the_servers_fin() {
    for way in WAYS {
        let closing = Server::start(Behaviour::CloseDelimited(b"body".to_vec())).await;
        let open = Server::start(Behaviour::KeepOpen).await;
        for srv in [&closing, &open] {
            assert_eq!(
                probe_by(way, &http(srv.addr, vec![UrlCheck::path("/")]))
                    .await
                    .unwrap(),
                Pass::Up
            );
        }
        for srv in [&closing, &open] {
            for _ in 0..100 {
                if !srv.seen.lock().unwrap().ends.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let expected = match way {
            Way::Tokio => End::Eof,
            Way::Engine => End::Reset,
        };
        assert_eq!(closing.seen.lock().unwrap().ends, vec![expected], "{way:?}");
        assert_eq!(open.seen.lock().unwrap().ends, vec![End::Eof], "{way:?}");
    }
}

/// The verdict comes from the status line: a body that would take longer
/// than connect_timeout does not turn a 200 into a timeout, and a head
/// that arrives in pieces, after an interim `100 Continue`, is read whole.
#[tokio::test]
async fn status_line_decides_head_in_pieces_and_interim_responses() {
    for way in WAYS {
        let pieces = vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 2".to_vec(),
            b"00 OK\r\nServer: slow\r\n".to_vec(),
            b"Content-Length: 100\r\n\r\nab".to_vec(),
            b"cd".to_vec(),
        ];
        let srv = Server::start(Behaviour::Raw(pieces, Duration::from_millis(300))).await;
        let mut s = http(srv.addr, vec![UrlCheck::path("/")]);
        s.connect_timeout = Duration::from_millis(1500);
        let started = std::time::Instant::now();
        assert_eq!(probe_by(way, &s).await.unwrap(), Pass::Up);
        // The head took 3 gaps; the body never completes: waited out, not failed.
        assert!(started.elapsed() >= Duration::from_millis(600));

        // A 1xx alone is not an answer: the server closes after it.
        let interim = Server::start(Behaviour::Raw(
            vec![b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()],
            Duration::ZERO,
        ))
        .await;
        let err = probe_by(way, &http(interim.addr, vec![UrlCheck::path("/")]))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("before a complete response"),
            "{err}"
        );

        // A close-delimited body (no Content-Length) is read to its end.
        let close = Server::start(Behaviour::Raw(
            vec![b"HTTP/1.0 404 Not Found\r\n\r\ngone".to_vec()],
            Duration::ZERO,
        ))
        .await;
        let err = probe_by(way, &http(close.addr, vec![UrlCheck::path("/")]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CheckError::Status { got: 404, .. }),
            "{err:?}"
        );

        // Not HTTP at all.
        let junk = Server::start(Behaviour::Raw(
            vec![b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec()],
            Duration::ZERO,
        ))
        .await;
        let err = probe_by(way, &http(junk.addr, vec![UrlCheck::path("/")]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("malformed response"), "{err}");
    }
}

/// A 204 has no body: the check ends with the head, even when the server
/// keeps the connection open instead of closing it.
#[tokio::test]
async fn no_content_ends_the_check_without_waiting_for_the_close() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Raw(
            vec![b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()],
            Duration::from_secs(5),
        ))
        .await;
        let mut s = http(srv.addr, vec![UrlCheck::path("/")]);
        s.connect_timeout = Duration::from_secs(3);
        let started = std::time::Instant::now();
        assert_eq!(probe_by(way, &s).await.unwrap(), Pass::Up);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn bindto_sets_the_source_address() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Answer(200, vec![])).await;
        let mut s = http(srv.addr, vec![UrlCheck::path("/")]);
        s.bindto = Some("127.0.0.2".parse().unwrap());
        probe_by(way, &s).await.unwrap();
        let peer = srv.seen.lock().unwrap().peers[0];
        assert_eq!(peer.ip().to_string(), "127.0.0.2");
    }
}

#[tokio::test]
async fn independent_server_python_http_server_and_md5sum() {
    let dir = tempdir("pyhttp");
    let page = dir.join("index.html");
    std::fs::write(&page, b"<html>tandem seed page</html>\n").unwrap();
    // md5sum computes the expected digest independently of tandem.
    let out = std::process::Command::new("md5sum")
        .arg(&page)
        .output()
        .unwrap();
    let expected = String::from_utf8(out.stdout).unwrap()[..32].to_string();
    // A free port for python (bind, read, release).
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut url = UrlCheck::path("/index.html");
    url.digest = Some(expected);
    url.status = StatusCodes(vec![(200, 200)]);
    let s = http(addr, vec![url]);
    // Wait for python to listen (up to 10 s).
    let mut last = None;
    for _ in 0..100 {
        match probe(&s).await {
            Ok(p) => {
                last = Some(Ok(p));
                break;
            }
            Err(e) => last = Some(Err(e)),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last.unwrap().unwrap(), Pass::Up);
    let mut missing = UrlCheck::path("/nope.html");
    missing.status = StatusCodes(vec![(200, 200)]);
    let err = probe(&http(addr, vec![missing])).await.unwrap_err();
    assert!(
        matches!(err, CheckError::Status { got: 404, .. }),
        "{err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

struct KillOnDrop(std::process::Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tandem-check-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------- runner

/// The daemon's way: TCP_CHECK and status-only HTTP_GET on the checks'
/// own event loop, on a thread of its own.
fn spawn(way: Way, runner: &CheckRunner, tx: Sender<CheckEvent>) -> RunningChecks {
    match way {
        Way::Tokio => runner.spawn(tx),
        Way::Engine => runner.spawn_on_thread(tx, 512).unwrap(),
    }
}

fn fast(mut s: CheckerSpec, retry: u32) -> CheckerSpec {
    s.timing = CheckTiming {
        delay_loop: Duration::from_millis(300),
        retry,
        delay_before_retry: Duration::from_millis(50),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    };
    s
}

async fn next_event(rx: &mut tokio::sync::mpsc::Receiver<CheckEvent>) -> CheckEvent {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an event within 20 s")
        .expect("runner alive")
}

#[tokio::test]
async fn runner_declares_down_after_retry_plus_one_failures_then_up() {
    for way in WAYS {
        // 500 for the first 3 requests: with retry 2 that is exactly the
        // failures needed for Down (1 + 2 retries); the 4th passes -> Up.
        let srv = Server::start(Behaviour::FailFirst(3)).await;
        let mut runner = CheckRunner::new();
        runner.add(fast(http(srv.addr, vec![UrlCheck::path("/")]), 2));
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let running = spawn(way, &runner, tx);
        let e = next_event(&mut rx).await;
        assert_eq!(e.report, Report::Down);
        assert_eq!(srv.count(), 3, "down after exactly retry + 1 probes");
        assert!(e.detail.unwrap().contains("500"));
        let e = next_event(&mut rx).await;
        assert_eq!(e.report, Report::Up);
        assert_eq!(srv.count(), 4);
        running.shutdown().await;
    }
}

#[tokio::test]
async fn retry_absorbs_a_single_failure() {
    for way in WAYS {
        let srv = Server::start(Behaviour::FailFirst(1)).await;
        let mut runner = CheckRunner::new();
        runner.add(fast(http(srv.addr, vec![UrlCheck::path("/")]), 1));
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let running = spawn(way, &runner, tx);
        // Let it probe a few times: failure, retry passes, steady passes.
        while srv.count() < 4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(rx.try_recv().is_err(), "no verdict change");
        running.shutdown().await;
    }
}

#[tokio::test]
async fn a_hung_server_does_not_delay_other_checks() {
    for way in WAYS {
        let hung = Server::start(Behaviour::Hang).await;
        let good = Server::start(Behaviour::Answer(200, vec![])).await;
        let mut runner = CheckRunner::new();
        let mut h = fast(http(hung.addr, vec![UrlCheck::path("/")]), 0);
        h.connect_timeout = Duration::from_secs(60);
        runner.add(h);
        runner.add(fast(http(good.addr, vec![UrlCheck::path("/")]), 0));
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let running = spawn(way, &runner, tx);
        // The good server is checked again and again (every 300 ms) while the
        // hung server's first probe is still waiting for its answer.
        while good.count() < 5 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(hung.count(), 1, "the hung probe is still in flight");
        assert!(rx.try_recv().is_err(), "nothing changed state");
        running.shutdown().await;
    }
}

#[tokio::test]
async fn same_check_for_two_virtual_servers_probes_once() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Answer(200, vec![])).await;
        let once = |s: CheckerSpec| {
            let mut s = fast(s, 0);
            s.timing.delay_loop = Duration::from_secs(3600);
            s
        };
        let mut runner = CheckRunner::new();
        let a = runner.add(once(http(srv.addr, vec![UrlCheck::path("/")])));
        let b = runner.add(once(http(srv.addr, vec![UrlCheck::path("/")])));
        assert_eq!(a, b);
        let (tx, _rx) = tokio::sync::mpsc::channel(16);
        let running = spawn(way, &runner, tx);
        // Every checker probes at once (warmup 0) and then not for an hour:
        // one request means one checker for both virtual servers.
        while srv.count() < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(srv.count(), 1);
        running.shutdown().await;
    }
}

/// A verdict channel that is full (nobody reads it for a while) stops
/// neither the probes nor the shutdown, and no verdict is lost once it is
/// read again.
#[tokio::test]
async fn a_full_verdict_channel_blocks_neither_probes_nor_shutdown() {
    for way in WAYS {
        for read_before_stop in [true, false] {
            let srv = Server::start(Behaviour::Answer(500, vec![])).await;
            let mut runner = CheckRunner::new();
            // Three distinct checkers (three paths), each down at its first
            // failure: three verdicts for a channel with room for one.
            for path in ["/a", "/b", "/c"] {
                runner.add(fast(http(srv.addr, vec![UrlCheck::path(path)]), 0));
            }
            let (tx, mut rx) = tokio::sync::mpsc::channel(1);
            let running = spawn(way, &runner, tx);
            // Probes go on every 300 ms while the verdicts wait.
            tokio::time::timeout(Duration::from_secs(20), async {
                while srv.count() < 12 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{way:?}: probes stopped at {}", srv.count()));
            if read_before_stop {
                let mut ids: Vec<_> = Vec::new();
                for _ in 0..3 {
                    let e = next_event(&mut rx).await;
                    assert_eq!(e.report, Report::Down, "{way:?}");
                    ids.push(e.checker);
                }
                ids.sort();
                ids.dedup();
                assert_eq!(ids.len(), 3, "{way:?}: one verdict per checker");
            }
            tokio::time::timeout(Duration::from_secs(10), running.shutdown())
                .await
                .unwrap_or_else(|_| panic!("{way:?}: shutdown hung on a full channel"));
        }
    }
}

/// A close-delimited answer (HTTP/1.0, no `Content-Length`) ends with the
/// server's close: the check is over then, not at `connect_timeout`, also
/// when the close arrives together with the bytes.
#[tokio::test]
async fn a_close_delimited_answer_ends_with_the_close() {
    for way in WAYS {
        let srv = Server::start(Behaviour::Raw(
            vec![b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello".to_vec()],
            Duration::ZERO,
        ))
        .await;
        let mut s = http(srv.addr, vec![UrlCheck::path("/")]);
        s.connect_timeout = Duration::from_secs(3);
        for _ in 0..10 {
            let started = std::time::Instant::now();
            assert_eq!(probe_by(way, &s).await.unwrap(), Pass::Up, "{way:?}");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{way:?}: {:?}",
                started.elapsed()
            );
        }
    }
}

/// Segments the server's side of one connection had received when the
/// request was in (`tcpi_segs_in` of the accepted socket), for a client
/// that `connect`s and then writes `request` (run on another thread).
fn segments_until_request(listener: &std::net::TcpListener, client: impl FnOnce() + Send) -> u32 {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    std::thread::scope(|scope| {
        let client = scope.spawn(client);
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 512];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut chunk).unwrap();
            assert!(n > 0, "closed before the request");
            buf.extend_from_slice(&chunk[..n]);
        }
        // SAFETY: an all-zero tcp_info is valid; the length is its size.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                conn.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
        use std::io::Write;
        let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
        drop(conn);
        client.join().unwrap();
        info.tcpi_segs_in
    })
}

/// The checks' own loop writes its request as soon as the handshake is
/// over, and the handshake's last ACK rides on the request's segment
/// (`tcp::Opening::RequestFollows`): the server receives one segment
/// fewer before the request than from a client that connects and then
/// writes, as the kernel's own count on the server's socket shows.
#[test]
fn engine_request_carries_the_handshake_ack() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let plain = segments_until_request(&listener, || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        // Let the handshake's own ACK go out first, as it does.
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let _ = s.read_to_end(&mut Vec::new());
    });
    let spec = http(addr, vec![UrlCheck::path("/")]);
    let engine = segments_until_request(&listener, || {
        assert!(matches!(engine::probe_once(&spec), Some(Ok(()))));
    });
    assert_eq!(engine + 1, plain, "engine {engine}, plain client {plain}");
}
