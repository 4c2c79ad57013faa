//! E-mail alerts against a real SMTP server (Debian's aiosmtpd), and against
//! SMTP servers that refuse or never answer.
//!
//! Each test makes its own network namespace (`tdm-mail-<pid>-<n>`) with only
//! loopback in it; the SMTP server runs there (`ip netns exec`) and the
//! mailer runs on a thread that has joined the namespace, so no packet
//! touches the machine's own network. Needs root; skipped with a message
//! without it.

use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tandem::notify::mail::{
    Alert, MailSettings, Mailer, SendError, ServiceName, ServiceProtocol, SmtpServer, VrrpMailState,
};

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A network namespace that is deleted when dropped, also on panic.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        let name = format!(
            "tdm-mail-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        run(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        run(&["ip", "-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// Run `f` on a new thread that has joined this namespace: every socket
    /// it opens lives there.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = fs::File::open(&path).expect("open netns");
                // SAFETY: setns on a valid namespace fd only affects this thread.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("netns thread panicked")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A child process killed and reaped when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "tdm-mail-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect("spawn");
    assert!(st.success(), "{args:?} failed");
}

/// Start aiosmtpd in `ns`, storing mail as a Maildir under `dir`, and wait
/// until it accepts connections.
fn start_aiosmtpd(ns: &Netns, dir: &Path, port: u16) -> ChildGuard {
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "/usr/bin/python3",
            "-m",
            "aiosmtpd",
            "-n",
        ])
        .arg("-l")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aiosmtpd");
    let guard = ChildGuard(child);
    let ready = ns.run(|| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                // Wait for the greeting so the server is really up.
                let mut buf = [0u8; 3];
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                if s.read_exact(&mut buf).is_ok() && &buf == b"220" {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    });
    assert!(ready, "aiosmtpd did not come up");
    guard
}

/// `tandem run -f CONF` in the namespace, its control socket and dump in
/// WORK (`tandem.sock`, `tandem.dump`); killed when the guard drops.
fn run_daemon(ns: &Netns, conf: &Path, work: &Path) -> ChildGuard {
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            env!("CARGO_BIN_EXE_tandem"),
            "run",
            "-f",
        ])
        .arg(conf)
        .arg("--control-socket")
        .arg(work.join("tandem.sock"))
        .arg("--dump-file")
        .arg(work.join("tandem.dump"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tandem");
    ChildGuard(child)
}

fn runtime() -> tokio::runtime::Runtime {
    // Show the mailer's log lines in a failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("tandem=debug")
        .try_init();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn vs() -> ServiceName {
    ServiceName::addr("192.0.2.2".parse().unwrap(), ServiceProtocol::Tcp, 80)
}

fn rs() -> ServiceName {
    ServiceName::addr("198.51.100.10".parse().unwrap(), ServiceProtocol::Tcp, 80)
}

/// The headers of one stored message (unfolded, first occurrence wins).
fn headers(raw: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in raw.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k == &name.to_ascii_lowercase())
        .map(|(_, v)| v.as_str())
}

/// Parse an RFC 5322 date (`Fri, 27 Nov 2026 18:40:00 +0000`) into seconds
/// since the epoch.
fn parse_rfc5322_date(s: &str) -> Option<i64> {
    let s = s.split_once(", ").map_or(s, |(_, rest)| rest);
    let mut it = s.split_whitespace();
    let day: i64 = it.next()?.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| Some(*m) == it.clone().next())? as i64
        + 1;
    it.next();
    let year: i64 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':').map(|x| x.parse::<i64>());
    let (h, m, sec) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    let zone = it.next()?;
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zdigits: i64 = zone.trim_start_matches(['+', '-']).parse().ok()?;
    let offset = sign * ((zdigits / 100) * 3600 + (zdigits % 100) * 60);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + m * 60 + sec - offset)
}

fn read_maildir(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = fs::read_dir(dir.join(sub)) {
            for e in entries.flatten() {
                if let Ok(text) = fs::read_to_string(e.path()) {
                    out.push(text);
                }
            }
        }
    }
    out
}

#[test]
fn alerts_arrive_with_keepalived_subjects_and_right_headers() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let ns = Netns::new();
    let maildir = TempDir::new("box");
    // aiosmtpd creates the Maildir only when the directory does not exist.
    let maildir_path = maildir.0.join("Maildir");
    let _smtpd = start_aiosmtpd(&ns, &maildir_path, 2525);

    let settings = MailSettings {
        router_id: Some("LVS_DEVEL".into()),
        notification_email: vec!["ops@example.org".into(), "oncall@example.net".into()],
        notification_email_from: Some("lb1@example.org".into()),
        smtp_server: Some(SmtpServer::new("127.0.0.1", 2525)),
        smtp_helo_name: Some("lb1.example.org".into()),
        smtp_connect_timeout: Duration::from_secs(5),
        ..MailSettings::default()
    };
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let status = ns.run(move || {
        runtime().block_on(async move {
            let mailer = Mailer::start(settings).expect("mailer");
            mailer
                .send(&Alert::VrrpInstance {
                    name: "VI_1".into(),
                    state: VrrpMailState::Master,
                })
                .expect("queued");
            mailer
                .send(&Alert::RealServer {
                    real_server: rs(),
                    virtual_server: vs(),
                    up: false,
                    checker: None,
                    reason: Some("HTTP request failed".into()),
                })
                .expect("queued");
            let deadline = Instant::now() + Duration::from_secs(30);
            while mailer.status().sent + mailer.status().failed < 2 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            mailer.status()
        })
    });
    assert_eq!(status.sent, 2, "both alerts accepted: {status:?}");
    assert_eq!(status.failed, 0);
    assert_eq!(status.dropped, 0);
    assert_eq!(status.queued, 0);

    let mails = read_maildir(&maildir_path);
    assert_eq!(mails.len(), 2, "two mails stored");
    let mut subjects = Vec::new();
    for raw in &mails {
        let h = headers(raw);
        assert_eq!(header(&h, "From"), Some("lb1@example.org"));
        let to = header(&h, "To").expect("To header");
        assert!(
            to.contains("ops@example.org") && to.contains("oncall@example.net"),
            "To lists every notification_email: {to}"
        );
        // The envelope, as aiosmtpd saw it.
        assert_eq!(header(&h, "X-MailFrom"), Some("lb1@example.org"));
        let rcpt = header(&h, "X-RcptTo").expect("X-RcptTo");
        assert!(rcpt.contains("ops@example.org") && rcpt.contains("oncall@example.net"));
        let date = header(&h, "Date").expect("Date header");
        let t = parse_rfc5322_date(date).unwrap_or_else(|| panic!("unparsable Date: {date}"));
        assert!(
            (t - before).abs() < 300,
            "Date {date} is not the time of sending"
        );
        let subject = header(&h, "Subject").expect("Subject").to_string();
        let body = raw.split_once("\n\n").map(|(_, b)| b).unwrap_or("");
        if subject.contains("VRRP") {
            assert!(body.contains("=> VRRP Instance is now owning VRRP VIPs <="));
        } else {
            assert!(body.contains("=> CHECK failed on service : HTTP request failed <="));
        }
        subjects.push(subject);
    }
    subjects.sort();
    assert_eq!(
        subjects,
        vec![
            "[LVS_DEVEL] Realserver [198.51.100.10]:tcp:80 of virtual server [192.0.2.2]:tcp:80 - DOWN",
            "[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state",
        ]
    );
}

/// While the relay is dead the callers' `send` returns at once, the queue
/// overflows into counted drops, every queued alert is retried and given up,
/// and other work on the same runtime (a VRRP timer, say) keeps its pace.
fn dead_server_never_blocks(server_port: u16, blackhole: bool) {
    let ns = Netns::new();
    let capacity = 4;
    let settings = MailSettings {
        router_id: Some("lb1".into()),
        notification_email: vec!["ops@example.org".into()],
        notification_email_from: Some("lb1@example.org".into()),
        smtp_server: Some(SmtpServer::new("127.0.0.1", server_port)),
        smtp_connect_timeout: Duration::from_millis(300),
        queue_capacity: capacity,
        max_attempts: 2,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
        ..MailSettings::default()
    };
    let (results, ticks, status) = ns.run(move || {
        runtime().block_on(async move {
            // A silent server: accepts, never says 220.
            let _listener = if blackhole {
                Some(
                    tokio::net::TcpListener::bind(("127.0.0.1", server_port))
                        .await
                        .expect("bind"),
                )
            } else {
                None
            };
            let mailer = Mailer::start(settings).expect("mailer");
            // A stand-in for the VRRP advert timer on the same runtime.
            let ticker = tokio::spawn(async {
                let mut n = 0u32;
                let mut iv = tokio::time::interval(Duration::from_millis(10));
                let end = tokio::time::Instant::now() + Duration::from_millis(600);
                while tokio::time::Instant::now() < end {
                    iv.tick().await;
                    n += 1;
                }
                n
            });
            let mut results = Vec::new();
            for i in 0..200 {
                results.push(mailer.send(&Alert::VrrpInstance {
                    name: format!("VI_{i}"),
                    state: VrrpMailState::Backup,
                }));
                // Let the worker and the ticker run between sends.
                tokio::task::yield_now().await;
            }
            let ticks = ticker.await.expect("ticker");
            // Every queued alert is tried twice and then given up.
            let deadline = Instant::now() + Duration::from_secs(30);
            while mailer.status().queued > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (results, ticks, mailer.status())
        })
    });
    let accepted = results.iter().filter(|r| r.is_ok()).count() as u64;
    let dropped = results
        .iter()
        .filter(|r| **r == Err(SendError::QueueFull))
        .count() as u64;
    assert_eq!(
        accepted + dropped,
        200,
        "every send either queued or dropped"
    );
    // A queue of 4 against 200 alerts and a dead relay: most must be dropped
    // (the worker takes a few out while it fails them).
    assert!(dropped >= 100, "queue overflowed: {status:?}");
    assert!(accepted >= capacity as u64, "the queue filled: {status:?}");
    assert_eq!(status.dropped, dropped, "drops are counted");
    assert_eq!(status.sent, 0);
    assert_eq!(status.queued, 0, "queue drained by giving up: {status:?}");
    assert_eq!(
        status.failed, accepted,
        "each queued alert given up: {status:?}"
    );
    assert_eq!(status.attempt_errors, accepted * 2, "retried once each");
    // 600 ms of a 10 ms timer: a blocked runtime would show a handful.
    assert!(
        ticks >= 30,
        "runtime starved while mail was stuck: {ticks} ticks"
    );
}

#[test]
fn refusing_smtp_server_never_blocks_and_drops_are_counted() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    dead_server_never_blocks(2526, false);
}

#[test]
fn silent_smtp_server_never_blocks_and_drops_are_counted() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    dead_server_never_blocks(2527, true);
}

/// Stops keepalived the way its service manager would (SIGTERM, so its
/// VRRP child goes too), then makes sure.
struct KeepalivedGuard(Child);

impl Drop for KeepalivedGuard {
    fn drop(&mut self) {
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        for _ in 0..50 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A mail's body as text: long lines come quoted-printable, so soft line
/// breaks and "=3D" are undone (the bodies here are ASCII).
fn body_text(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .split_once("\n\n")
        .map(|(_, b)| b.trim().replace("=\n", "").replace("=3D", "="))
        .unwrap_or_default()
}

/// The (Subject, From, To, envelope recipients, body) of every mail in a
/// Maildir, sorted.
fn mail_summaries(dir: &Path) -> Vec<(String, String, String, String, String)> {
    let mut out: Vec<_> = read_maildir(dir)
        .iter()
        .map(|raw| {
            let h = headers(raw);
            let get = |n: &str| header(&h, n).unwrap_or("").to_string();
            (
                get("Subject"),
                get("From"),
                get("To"),
                get("X-RcptTo"),
                body_text(raw),
            )
        })
        .collect();
    out.sort();
    out
}

/// keepalived itself is the reference: run Debian's keepalived 2.2.7 in the
/// namespace with mail on, let it go BACKUP (init) then MASTER, and check
/// that tandem's mails for the same two events are the same mails.
#[test]
fn vrrp_mails_are_the_mails_keepalived_sends() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    if Command::new("keepalived")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: keepalived is not installed");
        return;
    }
    let ns = Netns::new();
    // A veth pair (multicast-capable) for the VRRP instance, alone on it.
    run(&[
        "ip", "-n", &ns.name, "link", "add", "vrrp0", "type", "veth", "peer", "name", "vrrp1",
    ]);
    run(&["ip", "-n", &ns.name, "link", "set", "vrrp0", "up"]);
    run(&["ip", "-n", &ns.name, "link", "set", "vrrp1", "up"]);
    run(&[
        "ip",
        "-n",
        &ns.name,
        "addr",
        "add",
        "192.0.2.1/24",
        "dev",
        "vrrp0",
    ]);

    let work = TempDir::new("ka");
    let ka_box = work.0.join("keepalived-mail");
    let tandem_box = work.0.join("tandem-mail");
    let _smtpd_ka = start_aiosmtpd(&ns, &ka_box, 2528);
    let _smtpd_tandem = start_aiosmtpd(&ns, &tandem_box, 2529);

    let conf = work.0.join("keepalived.conf");
    fs::write(
        &conf,
        "global_defs {\n  router_id LVS_DEVEL\n  notification_email {\n    ops@example.org\n    oncall@example.net\n  }\n  \
         notification_email_from lb1@example.org\n  smtp_server 127.0.0.1 2528\n  smtp_connect_timeout 5\n  smtp_alert\n}\n\
         vrrp_instance VI_1 {\n  state MASTER\n  interface vrrp0\n  virtual_router_id 51\n  priority 150\n  advert_int 1\n  \
         virtual_ipaddress {\n    192.0.2.2/24\n  }\n}\n",
    )
    .expect("write keepalived.conf");
    let keepalived = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "keepalived",
            "-n",
            "-l",
            "-P",
            "-f",
        ])
        .arg(&conf)
        .arg("-p")
        .arg(work.0.join("keepalived.pid"))
        .arg("-r")
        .arg(work.0.join("vrrp.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keepalived");
    let ka = KeepalivedGuard(keepalived);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && !mail_summaries(&ka_box)
            .iter()
            .any(|m| m.0.contains("Entering MASTER state"))
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(ka);
    let from_keepalived: Vec<_> = mail_summaries(&ka_box)
        .into_iter()
        .filter(|m| m.0.contains("Entering"))
        .collect();
    assert_eq!(
        from_keepalived.len(),
        2,
        "keepalived mailed BACKUP (init) and MASTER: {from_keepalived:?}"
    );

    let settings = MailSettings {
        router_id: Some("LVS_DEVEL".into()),
        notification_email: vec!["ops@example.org".into(), "oncall@example.net".into()],
        notification_email_from: Some("lb1@example.org".into()),
        smtp_server: Some(SmtpServer::new("127.0.0.1", 2529)),
        smtp_connect_timeout: Duration::from_secs(5),
        ..MailSettings::default()
    };
    let status = ns.run(move || {
        runtime().block_on(async move {
            let mailer = Mailer::start(settings).expect("mailer");
            for state in [VrrpMailState::Backup, VrrpMailState::Master] {
                mailer
                    .send(&Alert::VrrpInstance {
                        name: "VI_1".into(),
                        state,
                    })
                    .expect("queued");
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while mailer.status().sent + mailer.status().failed < 2 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            mailer.status()
        })
    });
    assert_eq!(status.sent, 2, "{status:?}");
    let from_tandem = mail_summaries(&tandem_box);
    assert_eq!(from_tandem, from_keepalived);
}

/// A server inside the test's namespace on 127.0.0.1:`port`: answers every
/// connection with `HTTP/1.0 200 OK` (`http`) or just accepts and closes it.
/// Dropping it closes the port (connections are then refused).
struct Listener {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start(ns: &Netns, port: u16, http: bool) -> Listener {
        let listener = ns.run(|| std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind"));
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        if http {
                            use std::io::Write;
                            let _ = s.set_nonblocking(false);
                            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                            let mut buf = [0u8; 1024];
                            let _ = s.read(&mut buf);
                            let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Listener {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The (subject, body) of every real-server mail in the Maildir (quorum
/// mails left out), in the order sent
/// (aiosmtpd names its files by time; the Date header has only seconds).
fn subjects_and_bodies_in_order(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<_> = ["new", "cur"]
        .iter()
        .filter_map(|d| fs::read_dir(dir.join(d)).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|(_, p)| fs::read_to_string(p).ok())
        .map(|raw| {
            let subject = header(&headers(&raw), "Subject").unwrap_or("").to_string();
            (subject, body_text(&raw))
        })
        .filter(|(subject, _)| subject.contains("Realserver"))
        .collect()
}

/// The daemon's real-server mails, keepalived's way, for a real server with
/// two checkers: a mail when the real server changes state and, unless
/// `no_checker_emails`, also when one checker changes while the real server
/// does not (its subject then says the real server's unchanged state).
#[test]
fn real_server_mails_follow_no_checker_emails() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    for no_checker_emails in [false, true] {
        let ns = Netns::new();
        let work = TempDir::new("rs");
        let maildir = work.0.join("Maildir");
        let _smtpd = start_aiosmtpd(&ns, &maildir, 2530);
        let conf = work.0.join("keepalived.conf");
        fs::write(
            &conf,
            format!(
                "global_defs {{\n  router_id LVS_DEVEL\n  notification_email {{\n    ops@example.org\n  }}\n  \
                 notification_email_from lb1@example.org\n  smtp_server 127.0.0.1 2530\n  smtp_alert\n{}}}\n\
                 virtual_server 127.0.0.1 8080 {{\n  delay_loop 1\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  \
                 real_server 127.0.0.1 8081 {{\n    HTTP_GET {{\n      url {{\n        path /\n      }}\n      \
                 connect_timeout 1\n      retry 0\n    }}\n    TCP_CHECK {{\n      connect_port 8082\n      \
                 connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n",
                if no_checker_emails {
                    "  no_checker_emails\n"
                } else {
                    ""
                }
            ),
        )
        .expect("write config");
        let http = Listener::start(&ns, 8081, true);
        let tcp = Listener::start(&ns, 8082, false);
        let _daemon = run_daemon(&ns, &conf, &work.0);
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(20);
            while subjects_and_bodies_in_order(&maildir).len() < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        // Both checkers pass first (warmup ≤ 1 s), then, one step at a time:
        std::thread::sleep(Duration::from_secs(3));
        drop(tcp); // TCP_CHECK fails: the real server goes down
        wait_for(1);
        // Each next step waits for the mail of the one before, where
        // there is one; else three delay_loops.
        let settle = |n: usize| {
            if no_checker_emails {
                std::thread::sleep(Duration::from_secs(3));
            } else {
                wait_for(n);
            }
        };
        drop(http); // HTTP_GET fails too: the real server stays down
        settle(2);
        let tcp = Listener::start(&ns, 8082, false); // TCP_CHECK passes, still down
        settle(3);
        let _http = Listener::start(&ns, 8081, true); // both pass: up
        wait_for(if no_checker_emails { 2 } else { 4 });
        std::thread::sleep(Duration::from_secs(1)); // nothing more may come
        drop(tcp);
        let got = subjects_and_bodies_in_order(&maildir);
        let rs =
            "[LVS_DEVEL] Realserver [127.0.0.1]:tcp:8081 of virtual server [127.0.0.1]:tcp:8080";
        let down = format!("{rs} - DOWN");
        let up = format!("{rs} - UP");
        let subjects: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        let bodies: Vec<&str> = got.iter().map(|(_, b)| b.as_str()).collect();
        // Each mail names the checker that made it, in keepalived's words:
        // TCP_CHECK by name without a reason, HTTP_GET with its reason.
        let tcp_failed = "=> TCP CHECK failed on service <=";
        // The server's stop may also reset a probe it had just accepted.
        let http_failed = [
            "=> CHECK failed on service : connect to 127.0.0.1:8081: Connection refused (os error 111) <=",
            "=> CHECK failed on service : HTTP: Connection reset by peer (os error 104) <=",
        ];
        if no_checker_emails {
            assert_eq!(subjects, [down.as_str(), up.as_str()], "{got:#?}");
            assert_eq!(
                bodies,
                [tcp_failed, "=> CHECK succeed on service <="],
                "{got:#?}"
            );
        } else {
            assert_eq!(
                subjects,
                [down.as_str(), down.as_str(), down.as_str(), up.as_str()],
                "{got:#?}"
            );
            assert_eq!(bodies.len(), 4, "{got:#?}");
            assert!(http_failed.contains(&bodies[1]), "{got:#?}");
            assert_eq!(
                [bodies[0], bodies[2], bodies[3]],
                [
                    tcp_failed,
                    "=> TCP CHECK succeed on service <=",
                    "=> CHECK succeed on service <="
                ],
                "{got:#?}"
            );
        }
    }
}

/// The (subject, body) of every mail whose subject contains `what`, in the
/// order sent.
fn mails_about(dir: &Path, what: &str) -> Vec<(String, String)> {
    let mut files: Vec<_> = ["new", "cur"]
        .iter()
        .filter_map(|d| fs::read_dir(dir.join(d)).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|(_, p)| fs::read_to_string(p).ok())
        .map(|raw| {
            let subject = header(&headers(&raw), "Subject").unwrap_or("").to_string();
            (subject, body_text(&raw))
        })
        .filter(|(subject, _)| subject.contains(what))
        .collect()
}

/// The mails about `what` in `dir` once there are `n` of them, or what
/// there is after 20 s.
fn wait_for_mails(dir: &Path, what: &str, n: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while mails_about(dir, what).len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    mails_about(dir, what)
}

/// A running daemon's quorum mails, keepalived's way: a virtual server with
/// a sorry server that starts without its quorum (`alpha`: the real server
/// starts down) says "Starting with quorum down"; the real server passing
/// its check gains the quorum (quorum + hysteresis), failing loses it
/// (quorum - hysteresis). No router_id is set: the subjects carry the host
/// name, as keepalived's do.
#[test]
fn quorum_mails_from_a_running_daemon() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let ns = Netns::new();
    let work = TempDir::new("quorum");
    let maildir = work.0.join("Maildir");
    let _smtpd = start_aiosmtpd(&ns, &maildir, 2531);
    let conf = work.0.join("keepalived.conf");
    fs::write(
        &conf,
        "global_defs {\n  notification_email {\n    ops@example.org\n  }\n  \
         notification_email_from lb1@example.org\n  smtp_server 127.0.0.1 2531\n  smtp_alert\n}\n\
         virtual_server 127.0.0.1 8080 {\n  delay_loop 1\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  \
         alpha\n  quorum 2\n  hysteresis 1\n  sorry_server 127.0.0.1 8090\n  \
         real_server 127.0.0.1 8081 {\n    weight 3\n    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n}\n",
    )
    .expect("write config");
    let _daemon = run_daemon(&ns, &conf, &work.0);
    let wait_for = |n: usize| wait_for_mails(&maildir, "Virtualserver", n);
    wait_for(1);
    // The real server comes up: quorum gained; then it goes: quorum lost.
    let rs = Listener::start(&ns, 8081, false);
    wait_for(2);
    drop(rs);
    wait_for(3);
    std::thread::sleep(Duration::from_secs(1)); // nothing more may come
    let host = fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let vs = format!("[{}] Virtualserver [127.0.0.1]:tcp:8080", host.trim());
    let (down, up) = (format!("{vs} - DOWN"), format!("{vs} - UP"));
    let got = mails_about(&maildir, "Virtualserver");
    assert_eq!(
        got,
        [
            (
                down.clone(),
                "=> Starting with quorum down 2+1=3 <= 0 <=".into()
            ),
            (up, "=> Gained quorum 2+1=3 <= 3 <=".into()),
            (down, "=> Lost quorum 2+1=1 <= 0 <=".into()),
        ],
        "{got:#?}"
    );
}

/// The mails keepalived sends when things go away: a reload that removes
/// an alive real server ("=> Removing <="), and a stop with `omega`: the
/// VRRP instance's "Stopping", each alive real server's and the virtual
/// server's "=> Shutting down <=". The daemon sends the last ones before it
/// exits.
#[test]
fn removal_and_shutdown_mails_from_a_running_daemon() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let ns = Netns::new();
    // An interface for the VRRP instance; alone on it, it becomes MASTER.
    run(&[
        "ip", "-n", &ns.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ]);
    run(&["ip", "-n", &ns.name, "link", "set", "eth1", "up"]);
    run(&[
        "ip",
        "-n",
        &ns.name,
        "addr",
        "add",
        "192.0.2.1/24",
        "dev",
        "eth0",
    ]);
    run(&["ip", "-n", &ns.name, "link", "set", "eth0", "up"]);
    let work = TempDir::new("stop");
    let maildir = work.0.join("Maildir");
    let _smtpd = start_aiosmtpd(&ns, &maildir, 2532);
    let conf = work.0.join("keepalived.conf");
    let text = |second_rs: bool| {
        let rs = |port: u16| {
            format!(
                "  real_server 127.0.0.1 {port} {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n"
            )
        };
        format!(
            "global_defs {{\n  router_id lb1\n  notification_email {{\n    ops@example.org\n  }}\n  \
             notification_email_from lb1@example.org\n  smtp_server 127.0.0.1 2532\n  smtp_alert\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    192.0.2.10/24\n  }}\n}}\n\
             virtual_server 127.0.0.1 8080 {{\n  delay_loop 1\n  lvs_sched rr\n  lvs_method NAT\n  \
             protocol TCP\n  omega\n  quorum 1\n{}{}}}\n",
            rs(8081),
            if second_rs { rs(8083) } else { String::new() }
        )
    };
    fs::write(&conf, text(true)).expect("write config");
    let _a = Listener::start(&ns, 8081, false);
    let _b = Listener::start(&ns, 8083, false);
    let sock = work.0.join("tandem.sock");
    let mut daemon = run_daemon(&ns, &conf, &work.0);
    let pid = daemon.0.id();
    let wait_for = |what: &str, n: usize| wait_for_mails(&maildir, what, n);
    let master = wait_for("Entering MASTER state", 1);
    assert_eq!(master.len(), 1, "VI_1 never mailed MASTER");
    // Both real servers are up (no alpha); a reload drops 8083.
    std::thread::sleep(Duration::from_secs(2));
    fs::write(&conf, text(false)).expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["reload", "--socket"])
        .arg(&sock)
        .output()
        .expect("tandem reload");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let removed = wait_for("Realserver", 1);
    assert_eq!(
        removed,
        [(
            "[lb1] Realserver [127.0.0.1]:tcp:8083 of virtual server [127.0.0.1]:tcp:8080 - DOWN"
                .to_string(),
            "=> Removing <=".to_string()
        )],
        "{removed:#?}"
    );
    // SIGTERM: the daemon sends its last mails, then exits.
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while daemon.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        daemon.0.try_wait().ok().flatten().is_some(),
        "tandem did not stop"
    );
    // Everything was handed to the relay before the exit.
    let stopping = mails_about(&maildir, "Stopping");
    assert_eq!(
        stopping,
        [(
            "[lb1] VRRP Instance VI_1 - Stopping".to_string(),
            "=> VRRP Instance stopping <=".to_string()
        )],
        "{stopping:#?}"
    );
    let rs = mails_about(&maildir, "Realserver");
    assert_eq!(
        rs.get(1),
        Some(&(
            "[lb1] Realserver [127.0.0.1]:tcp:8081 of virtual server [127.0.0.1]:tcp:8080 - DOWN"
                .to_string(),
            "=> Shutting down <=".to_string()
        )),
        "{rs:#?}"
    );
    assert_eq!(rs.len(), 2, "{rs:#?}");
    let vs = mails_about(&maildir, "Virtualserver");
    assert_eq!(
        vs,
        [(
            "[lb1] Virtualserver [127.0.0.1]:tcp:8080 - DOWN".to_string(),
            "=> Shutting down <=".to_string()
        )],
        "{vs:#?}"
    );
}

/// A reload that changes the mail keywords of `global_defs` (here the relay
/// and `router_id`) applies them at once, as keepalived's reload does: the
/// next alert goes to the new relay, named by the new router_id, and the
/// status says the new router_id. Nothing else restarts.
#[test]
fn reloaded_mail_settings_take_effect_at_once() {
    if !is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return;
    }
    let ns = Netns::new();
    let work = TempDir::new("mailreload");
    let (old_dir, new_dir) = (work.0.join("old"), work.0.join("new"));
    let _old_relay = start_aiosmtpd(&ns, &old_dir, 2533);
    let _new_relay = start_aiosmtpd(&ns, &new_dir, 2534);
    let conf = work.0.join("keepalived.conf");
    let text = |router_id: &str, port: u16| {
        format!(
            "global_defs {{\n  router_id {router_id}\n  notification_email {{\n    ops@example.org\n  }}\n  \
             notification_email_from lb1@example.org\n  smtp_server 127.0.0.1 {port}\n  smtp_alert\n}}\n\
             virtual_server 127.0.0.1 8080 {{\n  delay_loop 1\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  \
             real_server 127.0.0.1 8081 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n"
        )
    };
    fs::write(&conf, text("lb1", 2533)).expect("write config");
    let rs = Listener::start(&ns, 8081, false);
    let sock = work.0.join("tandem.sock");
    let _daemon = run_daemon(&ns, &conf, &work.0);
    let wait_for = |dir: &Path, n: usize| wait_for_mails(dir, "Realserver", n);
    let subject = |router_id: &str, state: &str| {
        format!(
            "[{router_id}] Realserver [127.0.0.1]:tcp:8081 of virtual server [127.0.0.1]:tcp:8080 - {state}"
        )
    };
    // Before the reload: the real server fails, the old relay hears it.
    std::thread::sleep(Duration::from_secs(2));
    drop(rs);
    let before = wait_for(&old_dir, 1);
    assert_eq!(
        before.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        [subject("lb1", "DOWN")],
        "{before:#?}"
    );
    // The reload: a new relay and a new router_id.
    fs::write(&conf, text("lb1-new", 2534)).expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["reload", "--socket"])
        .arg(&sock)
        .output()
        .expect("tandem reload");
    assert!(
        out.status.success(),
        "reload refused: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // After it: the real server returns, the new relay hears it, by the new name.
    let _rs = Listener::start(&ns, 8081, false);
    let after = wait_for(&new_dir, 1);
    assert_eq!(
        after.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        [subject("lb1-new", "UP")],
        "{after:#?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        mails_about(&old_dir, "Realserver").len(),
        1,
        "the old relay got mail after the reload"
    );
    let status = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["status", "--json", "--socket"])
        .arg(&sock)
        .output()
        .expect("tandem status");
    let json: serde_json::Value =
        serde_json::from_slice(&status.stdout).expect("status --json is JSON");
    assert_eq!(json["router_id"], "lb1-new", "{json}");
    assert_eq!(json["config"]["reloads"], 1, "{json}");
}
