//! The client side of the control socket: `tandem status` and friends.
//!
//! Owns the client end of the socket and the table `tandem status` prints;
//! reaches the daemon only through the socket.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use super::model::StatusSnapshot;
use crate::process::unix_ms_now;

/// How long a request may take before the client gives up (a wedged daemon
/// must not hang the operator's shell).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot connect to {path}: {source} (is tandem running? the socket is root-only: try sudo)"
    )]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("talking to {path}: {message}")]
    Protocol { path: PathBuf, message: String },
    #[error("no answer from {path} within {REQUEST_TIMEOUT:?}")]
    Timeout { path: PathBuf },
    #[error("{path} answered {status}: {body}")]
    Status {
        path: PathBuf,
        status: StatusCode,
        body: String,
    },
    #[error("the status from {path} is not what this tandem understands: {source}")]
    Decode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// One request over the control socket; the status code and body.
pub async fn request(
    socket: &Path,
    method: Method,
    path: &str,
) -> Result<(StatusCode, Bytes), ClientError> {
    tokio::time::timeout(REQUEST_TIMEOUT, request_inner(socket, method, path))
        .await
        .map_err(|_| ClientError::Timeout {
            path: socket.to_path_buf(),
        })?
}

async fn request_inner(
    socket: &Path,
    method: Method,
    path: &str,
) -> Result<(StatusCode, Bytes), ClientError> {
    let proto = |message: String| ClientError::Protocol {
        path: socket.to_path_buf(),
        message,
    };
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|source| ClientError::Connect {
            path: socket.to_path_buf(),
            source,
        })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| proto(e.to_string()))?;
    let driver = tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "tandem")
        .body(Empty::<Bytes>::new())
        .map_err(|e| proto(e.to_string()))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| proto(e.to_string()))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| proto(e.to_string()))?
        .to_bytes();
    driver.abort();
    Ok((status, body))
}

/// `GET /status`, as raw JSON (for `--json`, which passes through fields
/// this client may not know).
pub async fn fetch_status_json(socket: &Path) -> Result<serde_json::Value, ClientError> {
    let body = get_ok(socket, "/status").await?;
    serde_json::from_slice(&body).map_err(|source| ClientError::Decode {
        path: socket.to_path_buf(),
        source,
    })
}

/// `GET /status`, decoded.
pub async fn fetch_status(socket: &Path) -> Result<StatusSnapshot, ClientError> {
    let body = get_ok(socket, "/status").await?;
    serde_json::from_slice(&body).map_err(|source| ClientError::Decode {
        path: socket.to_path_buf(),
        source,
    })
}

async fn get_ok(socket: &Path, path: &str) -> Result<Bytes, ClientError> {
    let (status, body) = request(socket, Method::GET, path).await?;
    if status != StatusCode::OK {
        return Err(ClientError::Status {
            path: socket.to_path_buf(),
            status,
            body: String::from_utf8_lossy(&body).trim().to_string(),
        });
    }
    Ok(body)
}

/// A plain-text table of the state, for people.
pub fn render_table(s: &StatusSnapshot) -> String {
    render_table_at(s, unix_ms_now())
}

/// [`render_table`] with "now" given, so tests get stable output.
pub fn render_table_at(s: &StatusSnapshot, now_ms: u64) -> String {
    let mut out = String::new();
    header(&mut out, s, now_ms);
    vrrp_instances(&mut out, s, now_ms);
    sync_groups(&mut out, s);
    bfd_sessions(&mut out, s, now_ms);
    virtual_servers(&mut out, s, now_ms);
    mail(&mut out, s);
    out
}

/// The daemon and its configuration.
fn header(out: &mut String, s: &StatusSnapshot, now_ms: u64) {
    let applied = s
        .config
        .applied_unix_ms
        .map(|t| format!("applied {} ago", ago(now_ms, t)))
        .unwrap_or_else(|| "not applied yet".into());
    let _ = writeln!(
        out,
        "tandem {}  router_id {}  pid {}  up {}",
        s.version,
        s.router_id,
        s.pid,
        ago(now_ms, s.started_unix_ms)
    );
    let _ = writeln!(
        out,
        "config {} ({applied}; {} reloads, {} refused)",
        s.config.file, s.config.reloads, s.config.reload_failures
    );
    for e in &s.config.last_reload_errors {
        let _ = writeln!(out, "  last refused reload: {e}");
    }
}

/// One row per VRRP instance: state, priorities, master, last change.
fn vrrp_instances(out: &mut String, s: &StatusSnapshot, now_ms: u64) {
    if !s.vrrp_instances.is_empty() {
        out.push('\n');
        let mut t = Table::new(&[
            "VRRP INSTANCE",
            "INTERFACE",
            "VRID",
            "STATE",
            "PRIO",
            "EFFECTIVE",
            "MASTER",
            "LAST TRANSITION",
        ]);
        for i in &s.vrrp_instances {
            let master = match (i.master_address, i.master_priority) {
                (Some(a), Some(p)) => format!("{a} ({p})"),
                (Some(a), None) => a.to_string(),
                _ => "-".into(),
            };
            let last = i
                .last_transition
                .as_ref()
                .map(|t| {
                    format!(
                        "{}->{} {} ago, {}",
                        t.from,
                        t.to,
                        ago(now_ms, t.at_unix_ms),
                        t.reason
                    )
                })
                .unwrap_or_else(|| "-".into());
            t.row(vec![
                i.name.clone(),
                i.interface.clone(),
                i.virtual_router_id.to_string(),
                i.state.to_string(),
                i.priority.to_string(),
                i.effective_priority.to_string(),
                master,
                last,
            ]);
        }
        out.push_str(&t.render());
        for i in &s.vrrp_instances {
            if let Some(until) = i.preempt_held_until_unix_ms {
                let left = until.saturating_sub(now_ms).div_ceil(1000);
                let _ = writeln!(
                    out,
                    "  {}: preempt held: sync catching up, {left} s left",
                    i.name
                );
            }
        }
    }
}

/// One row per sync group.
fn sync_groups(out: &mut String, s: &StatusSnapshot) {
    if !s.sync_groups.is_empty() {
        out.push('\n');
        let mut t = Table::new(&["SYNC GROUP", "STATE", "INSTANCES"]);
        for g in &s.sync_groups {
            t.row(vec![
                g.name.clone(),
                g.state.to_string(),
                g.instances.join(", "),
            ]);
        }
        out.push_str(&t.render());
    }
}

/// One row per BFD session (`bfd_instance`), then the packets none took.
fn bfd_sessions(out: &mut String, s: &StatusSnapshot, now_ms: u64) {
    let b = &s.bfd;
    if b.sessions.is_empty() {
        return;
    }
    out.push('\n');
    let mut t = Table::new(&[
        "BFD INSTANCE",
        "NEIGHBOR",
        "STATE",
        "REMOTE",
        "TX/DETECT",
        "RX/TX",
        "LAST TRANSITION",
    ]);
    for x in &b.sessions {
        let last = x
            .last_transition
            .as_ref()
            .map(|l| {
                format!(
                    "{}->{} {} ago, {}",
                    l.from,
                    l.to,
                    ago(now_ms, l.at_unix_ms),
                    l.diag
                )
            })
            .unwrap_or_else(|| "-".into());
        let ms = |us: u64| format!("{}", us as f64 / 1000.0);
        t.row(vec![
            x.name.clone(),
            x.neighbor_ip.to_string(),
            x.state.clone(),
            x.remote_state.clone(),
            format!(
                "{}/{} ms",
                ms(u64::from(x.tx_interval_us)),
                ms(x.detect_time_us)
            ),
            format!("{}/{}", x.counters.rx, x.counters.tx),
            last,
        ]);
    }
    out.push_str(&t.render());
    let malformed: u64 = b.malformed.values().sum();
    let refused: u64 = b
        .sessions
        .iter()
        .map(|x| x.counters.rx_ttl_dropped + x.counters.rx_auth_dropped)
        .sum();
    if malformed + refused + b.no_session > 0 {
        let _ = writeln!(
            out,
            "  BFD packets dropped: {malformed} malformed, {} for no session, {refused} by TTL or authentication",
            b.no_session
        );
    }
}

/// Per virtual server: its quorum line, then its real servers.
fn virtual_servers(out: &mut String, s: &StatusSnapshot, now_ms: u64) {
    for v in &s.virtual_servers {
        out.push('\n');
        let sorry = match (v.sorry_server, v.sorry_active) {
            (Some(a), true) => format!("  SORRY SERVER {a} ACTIVE"),
            (Some(a), false) => format!("  sorry_server {a} standing by"),
            (None, _) => String::new(),
        };
        let _ = writeln!(
            out,
            "VIRTUAL SERVER {}  {} {}  quorum {} (alive weight {}, need {}{}){}{}",
            v.name,
            v.lvs_sched,
            v.lvs_method,
            if v.quorum_up { "UP" } else { "DOWN" },
            v.alive_weight,
            v.quorum,
            if v.hysteresis > 0 {
                format!(" ±{}", v.hysteresis)
            } else {
                String::new()
            },
            if v.installed {
                ""
            } else {
                "  (not in IPVS here)"
            },
            sorry
        );
        let mut t = Table::new(&[
            "  REAL SERVER",
            "STATE",
            "WEIGHT",
            "CHECKS OK/FAILED",
            "LAST CHECK",
        ]);
        for r in &v.real_servers {
            let state = match (r.alive, r.inhibited) {
                (true, _) => "UP",
                (false, true) => "DOWN (inhibited)",
                (false, false) => "DOWN",
            };
            let last = r
                .last_check
                .as_ref()
                .map(|c| {
                    format!(
                        "{} {}: {} ({} ago)",
                        c.checker,
                        if c.ok { "ok" } else { "failed" },
                        c.reason,
                        ago(now_ms, c.at_unix_ms)
                    )
                })
                .unwrap_or_else(|| "not checked yet".into());
            t.row(vec![
                format!("  {}", r.address),
                state.into(),
                format!("{}/{}", r.effective_weight, r.weight),
                format!("{}/{}", r.checks_ok, r.checks_failed),
                last,
            ]);
        }
        out.push_str(&t.render());
    }
}

/// The mail queue, or why mail is off.
fn mail(out: &mut String, s: &StatusSnapshot) {
    out.push('\n');
    let m = &s.mail;
    if m.enabled {
        let _ = writeln!(
            out,
            "MAIL queued {}/{}  sent {}  failed {}  dropped {}  attempt errors {}",
            m.queued, m.capacity, m.sent, m.failed, m.dropped, m.attempt_errors
        );
    } else {
        let _ = writeln!(out, "MAIL off (no smtp_server or notification_email)");
    }
}

/// `3d4h`, `2h5m`, `4m10s`, `12s`.
fn ago(now_ms: u64, then_ms: u64) -> String {
    let s = now_ms.saturating_sub(then_ms) / 1000;
    let (d, h, m, sec) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    }
}

struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| h.to_string()).collect()],
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; cols];
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in &self.rows {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                if i + 1 == r.len() {
                    line.push_str(c);
                } else {
                    let pad = widths[i] - c.chars().count();
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    #[test]
    fn bfd_sessions_have_a_row_and_their_drops_a_line() {
        use crate::control::model::{BfdSessionStatus, BfdTransition};
        let mut s = example_snapshot();
        assert!(!render_table_at(&s, s.generated_unix_ms).contains("BFD INSTANCE"));
        s.bfd.sessions.push(BfdSessionStatus {
            name: "to_lb2".into(),
            neighbor_ip: "192.0.2.12".parse().unwrap(),
            source_ip: None,
            source_port: 49999,
            state: "Up".into(),
            remote_state: "Up".into(),
            local_diag: "No Diagnostic".into(),
            remote_diag: "No Diagnostic".into(),
            local_discriminator: 1,
            remote_discriminator: 2,
            tx_interval_us: 20_000,
            detect_time_us: 60_000,
            remote_min_rx_us: 20_000,
            remote_min_tx_us: 20_000,
            remote_detect_mult: 3,
            counters: crate::bfd::SessionCounters {
                rx: 7,
                tx: 9,
                rx_ttl_dropped: 1,
                ..Default::default()
            },
            last_transition: Some(BfdTransition {
                from: "Down".into(),
                to: "Up".into(),
                at_unix_ms: s.generated_unix_ms - 5000,
                diag: "No Diagnostic".into(),
            }),
        });
        s.bfd.malformed.insert("version".into(), 2);
        let text = render_table_at(&s, s.generated_unix_ms);
        assert!(text.contains("BFD INSTANCE"), "{text}");
        let row = text.lines().find(|l| l.starts_with("to_lb2")).unwrap_or("");
        for cell in [
            "192.0.2.12",
            "Up",
            "20/60 ms",
            "7/9",
            "Down->Up 5s ago, No Diagnostic",
        ] {
            assert!(row.contains(cell), "{cell}: {row}");
        }
        assert!(
            text.contains(
                "BFD packets dropped: 2 malformed, 0 for no session, 1 by TTL or authentication"
            ),
            "{text}"
        );
        let metrics = crate::control::metrics::render(&s);
        assert!(
            metrics.contains("tandem_bfd_up{bfd=\"to_lb2\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("tandem_bfd_malformed_total{reason=\"version\"} 2"),
            "{metrics}"
        );
    }

    #[test]
    fn table_shows_states_weights_and_reasons() {
        let s = example_snapshot();
        let text = render_table_at(&s, s.generated_unix_ms);
        assert!(text.contains("router_id lb1"));
        assert!(text.contains("VI_OUTER"));
        assert!(text.contains("MASTER"));
        assert!(text.contains("192.0.2.11 (150)"));
        assert!(text.contains("VIRTUAL SERVER [192.0.2.2]:tcp:80  rr NAT  quorum UP"));
        assert!(text.contains("198.51.100.11:80"));
        assert!(text.contains("DOWN (inhibited)"));
        assert!(text.contains("connection refused"));
        assert!(text.contains("MAIL queued 0/64  sent 3"));
        // Columns line up: the STATE column starts at the same offset in
        // the header and in each instance row.
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .find(|l| l.starts_with("VRRP INSTANCE"))
            .expect("header");
        let col = header.find("STATE").expect("STATE column");
        for l in lines.iter().filter(|l| l.starts_with("VI_")) {
            assert_eq!(&l[col..col + 6], "MASTER", "misaligned row: {l}");
        }
    }

    #[test]
    fn a_held_preemption_is_shown_with_the_seconds_left() {
        let mut s = example_snapshot();
        let now = s.generated_unix_ms;
        assert!(!render_table_at(&s, now).contains("preempt held"));
        s.vrrp_instances[0].preempt_held_until_unix_ms = Some(now + 7_400);
        let name = s.vrrp_instances[0].name.clone();
        assert!(
            render_table_at(&s, now)
                .contains(&format!("{name}: preempt held: sync catching up, 8 s left"))
        );
    }

    #[test]
    fn ago_is_compact() {
        assert_eq!(ago(100_000, 88_000), "12s");
        assert_eq!(ago(1_000_000, 0), "16m40s");
        assert_eq!(ago(90_000_000, 0), "1d1h");
    }
}
