//! A minimal HTTP responder for the checker benchmark (`benches/checks.sh`).
//!
//! Ten thousand real servers checked every second means ten thousand
//! requests a second; the sink answers each with a fixed `200 OK` and counts
//! them, so the benchmark can divide checker CPU time by checks really
//! served. It is not a web server: no paths, no keep-alive, HTTP/1.0 only.
//! It runs inside the benchmark's own network namespace, listening on the
//! wildcard address, so one listener per port answers for every address of
//! the namespace.
//!
//! Owns a benchmark-only listener: only the benchmark's front end
//! (`cli::check_once`) starts it, never the daemon.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

/// Listen on `ports` of every local address; print `requests N` (the total
/// so far) every `report` on stdout. Runs until the process is killed.
pub async fn serve(ports: Vec<u16>, report: Duration) -> std::io::Result<()> {
    let count = Arc::new(AtomicU64::new(0));
    for port in ports {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
        let listener = socket.listen(4096)?;
        let count = Arc::clone(&count);
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(answer(stream, Arc::clone(&count)));
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
    }
    let mut tick = tokio::time::interval(report);
    loop {
        tick.tick().await;
        println!("requests {}", count.load(Ordering::Relaxed));
    }
}

async fn answer(mut stream: TcpStream, count: Arc<AtomicU64>) {
    let mut buf = [0u8; 2048];
    let mut have = 0;
    loop {
        match stream.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        if buf[..have].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if have == buf.len() {
            return;
        }
    }
    if stream.write_all(RESPONSE).await.is_ok() {
        count.fetch_add(1, Ordering::Relaxed);
    }
    let _ = stream.shutdown().await;
}
