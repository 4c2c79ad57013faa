//! The bound on network probes in flight (`CheckRunner::spawn_bounded`):
//! real HTTP servers on loopback — one that answers, some that accept and
//! never answer — checked by the real runner.
//!
//! What a user sees: as long as fewer servers hang than the bound allows
//! probes in flight, a healthy server keeps being checked every
//! `delay_loop`; when as many servers hang as the bound, other checks wait
//! for a free slot (the documented trade-off that keeps memory bounded).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tandem::check::spec::CheckTiming;
use tandem::check::{CheckKind, CheckRunner, CheckerSpec, HttpGet, HttpProtocol, UrlCheck};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An HTTP server on loopback. `answer`: reply 200, else read the request
/// and hold the connection open without a word. Counts requests seen.
async fn server(answer: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 512];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                if answer {
                    let _ = s
                        .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .await;
                } else {
                    // Hung: keep the connection until the checker gives up.
                    let _ = s.read(&mut chunk).await;
                }
            });
        }
    });
    (addr, seen)
}

fn check(target: SocketAddr) -> CheckerSpec {
    CheckerSpec {
        kind: CheckKind::Http(HttpGet {
            urls: vec![UrlCheck::path("/")],
            protocol: HttpProtocol::Http10,
            virtualhost: None,
            enable_sni: false,
        }),
        target,
        bindto: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
        // Long enough that a hung probe holds its slot for the whole test.
        connect_timeout: Duration::from_secs(30),
        timing: CheckTiming {
            delay_loop: Duration::from_millis(100),
            retry: 1,
            delay_before_retry: Duration::from_millis(100),
            warmup: Duration::ZERO,
            alpha: false,
            log_all_failures: false,
        },
    }
}

/// Requests the healthy server saw in 3 s, with `hung` hung servers and at
/// most `bound` probes in flight; `own_loop`: on the checks' own event loop
/// (`spawn_on_thread`, the daemon's way), else as tokio tasks.
async fn healthy_requests(hung: usize, bound: usize, own_loop: bool) -> usize {
    let mut runner = CheckRunner::new();
    for _ in 0..hung {
        let (addr, _) = server(false).await;
        runner.add(check(addr));
    }
    let (addr, seen) = server(true).await;
    runner.add(check(addr));
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let running = if own_loop {
        runner.spawn_on_thread(tx, bound).unwrap()
    } else {
        runner.spawn_bounded(tx, bound)
    };
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let n = seen.load(Ordering::SeqCst);
    running.shutdown().await;
    drain.abort();
    n
}

#[tokio::test]
async fn hung_servers_below_the_bound_do_not_delay_a_healthy_one() {
    // Checked every 100 ms (plus the exchange): dozens of requests in 3 s;
    // 5 is far below that even on a loaded machine.
    for own_loop in [false, true] {
        let n = healthy_requests(3, 4, own_loop).await;
        assert!(
            n >= 5,
            "healthy server checked only {n} times in 3 s (own loop: {own_loop})"
        );
    }
}

#[tokio::test]
async fn as_many_hung_servers_as_the_bound_hold_every_slot() {
    // Three hung servers, three slots: once the hung probes hold them (they
    // do for 30 s), the healthy server's probe waits. Depending on which
    // task ran first it got at most one probe in before that.
    for own_loop in [false, true] {
        let n = healthy_requests(3, 3, own_loop).await;
        assert!(
            n <= 1,
            "healthy server checked {n} times although every slot was held (own loop: {own_loop})"
        );
    }
}

/// Probes that fail at once (a source address this machine does not have:
/// `bind` fails, no packet is sent) queued behind hung servers that hold
/// every slot: when the slots free up, the whole queue runs through — in a
/// loop, not a chain of calls that would overflow the checker thread's
/// stack — and every one of them is reported down.
#[tokio::test]
async fn thousands_of_probes_failing_at_once_behind_hung_ones() {
    const FAILING: usize = 20_000;
    let mut runner = CheckRunner::new();
    for _ in 0..2 {
        let (addr, _) = server(false).await;
        let mut hung = check(addr);
        hung.connect_timeout = Duration::from_millis(500);
        runner.add(hung);
    }
    for k in 0..FAILING {
        let target = SocketAddr::from(([127, 0, 0, 1], 1024 + k as u16));
        let mut c = check(target);
        c.bindto = Some("192.0.2.77".parse().unwrap());
        c.timing.retry = 0;
        runner.add(c);
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let running = runner.spawn_on_thread(tx, 2).unwrap();
    let mut down = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while down.len() < FAILING {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) if e.report == tandem::check::Report::Down => {
                down.insert(e.checker);
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("the checks stopped after {} verdicts", down.len()),
            Err(_) => panic!("only {} of {FAILING} down in 60 s", down.len()),
        }
    }
    running.shutdown().await;
}
