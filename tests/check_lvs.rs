//! The LVS task end to end without a kernel: real HTTP servers on loopback
//! are checked by the real runner; the desired IPVS table that the task
//! publishes must follow the servers' health and the VRRP role published on
//! the daemon's bus; notify scripts really run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use tandem::check::spec::{CheckTiming, DEFAULT_CONNECT_TIMEOUT};
use tandem::check::{
    CheckKind, CheckRunner, CheckerId, CheckerSpec, HttpGet, HttpProtocol, UrlCheck,
};
use tandem::daemon::bus::{Bus, Role, RoleChange, Subject};
use tandem::daemon::lvs::{DesiredTable, LvsTask};
use tandem::ipvs::types::{DestKey, Forward, Protocol, Scheduler, Service, ServiceKey};
use tandem::lvs::governance::InstanceVips;
use tandem::lvs::{Governance, LvsState, RealServerSpec, SorryServer, VirtualServerSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// An HTTP server whose answer status can be changed while it runs.
async fn server() -> (SocketAddr, Arc<AtomicU16>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let status = Arc::new(AtomicU16::new(200));
    let st = Arc::clone(&status);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let code = st.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 512];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let r = format!("HTTP/1.0 {code} X\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(r.as_bytes()).await;
            });
        }
    });
    (addr, status)
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
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        timing: CheckTiming {
            delay_loop: Duration::from_millis(200),
            retry: 1,
            delay_before_retry: Duration::from_millis(50),
            warmup: Duration::ZERO,
            alpha: false,
            log_all_failures: false,
        },
    }
}

/// Wait until the published table satisfies `pred` (20 s at most).
async fn until(
    rx: &mut watch::Receiver<DesiredTable>,
    what: &str,
    pred: impl Fn(&DesiredTable) -> bool,
) {
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|t| pred(t))).await,
        Ok(Ok(_))
    );
    assert!(ok, "table never became: {what}; last: {:?}", *rx.borrow());
}

fn weight(t: &DesiredTable, rs: SocketAddr) -> Option<i32> {
    let vs = t.services.values().next()?;
    vs.destinations
        .get(&DestKey {
            addr: rs.ip(),
            port: rs.port(),
        })
        .map(|d| d.weight)
}

fn role(bus: &Bus, role: Role) {
    bus.publish(RoleChange {
        subject: Subject::Instance,
        name: "VI_1".into(),
        role,
        priority: 100,
        reason: "test".into(),
    });
}

struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A real server checked by `checker`, inhibited on failure, LVS-NAT.
fn real_server(addr: SocketAddr, checker: CheckerId, weight: u32) -> RealServerSpec {
    RealServerSpec {
        addr,
        weight,
        inhibit_on_failure: true,
        forward: Forward::Masq,
        u_threshold: 0,
        l_threshold: 0,
        notify_up: None,
        notify_down: None,
        checkers: vec![checker],
        file_checks: Vec::new(),
    }
}

/// `virtual_server ADDR 80` (TCP, rr, quorum 1), without a sorry server.
fn virtual_server(addr: &str, real_servers: Vec<RealServerSpec>) -> VirtualServerSpec {
    VirtualServerSpec {
        services: vec![Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: addr.parse().unwrap(),
                port: 80,
            },
            Scheduler::Rr,
        )],
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        sorry_server: None,
        omega: false,
        real_servers,
    }
}

#[tokio::test]
async fn table_follows_checks_and_mastership() {
    let (a1, s1) = server().await;
    let (a2, s2) = server().await;
    let sorry: SocketAddr = "192.0.2.100:80".parse().unwrap();
    let log =
        TempFile(std::env::temp_dir().join(format!("tandem-check-lvs-{}.log", std::process::id())));
    let notify = |what: &str, rs: SocketAddr| {
        Some(tandem::notify::script::Script {
            argv: vec![
                "/bin/sh".into(),
                "-c".into(),
                format!("echo {what} {rs} >> {}", log.0.display()),
            ],
            // SAFETY: getuid/getgid cannot fail.
            run_as: unsafe {
                tandem::notify::script::RunAs {
                    uid: libc::getuid(),
                    gid: libc::getgid(),
                }
            },
        })
    };

    let mut runner = CheckRunner::new();
    let c1 = runner.add(check(a1));
    let c2 = runner.add(check(a2));
    let rs = |addr, c, w| RealServerSpec {
        notify_up: notify("up", addr),
        notify_down: notify("down", addr),
        ..real_server(addr, c, w)
    };
    let vs = VirtualServerSpec {
        sorry_server: Some(SorryServer {
            addr: sorry,
            weight: 1,
            inhibit: false,
            forward: Forward::Masq,
        }),
        ..virtual_server("192.0.2.2", vec![rs(a1, c1, 1), rs(a2, c2, 2)])
    };
    let state = LvsState::new(vec![vs], |c| runner.initial_up(c));
    let governance = Governance::new(
        &[InstanceVips {
            name: "VI_1".into(),
            vips: vec!["192.0.2.2".parse().unwrap()],
        }],
        &[vec!["192.0.2.2".parse().unwrap()]],
    );
    let bus = Bus::new();
    let (checks_tx, checks_rx) = tokio::sync::mpsc::channel(64);
    let (table_tx, mut table) = LvsTask::table_channel();
    let (scripts, scripts_task) =
        tandem::notify::script::ScriptQueue::start("lvs".into(), Duration::from_secs(5));
    let task = LvsTask {
        state,
        governance,
        names: vec!["192.0.2.2:80".into()],
        checks: checks_rx,
        bus: bus.clone(),
        table: table_tx,
        scripts: Some(scripts),
        reporting: Default::default(),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let lvs = tokio::spawn(task.run(async {
        let _ = stop_rx.await;
        true
    }));
    let running = runner.spawn(checks_tx);

    // BACKUP (no role yet): nothing programmed although checks run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        table.borrow().services.is_empty(),
        "backup must not program"
    );

    // MASTER: the full table at once.
    role(&bus, Role::Master);
    until(&mut table, "both real servers", |t| {
        weight(t, a1) == Some(1) && weight(t, a2) == Some(2) && weight(t, sorry).is_none()
    })
    .await;

    // rs1 fails: weight 0 (inhibit_on_failure), rs2 untouched.
    s1.store(500, Ordering::SeqCst);
    until(&mut table, "rs1 at weight 0", |t| {
        weight(t, a1) == Some(0) && weight(t, a2) == Some(2)
    })
    .await;

    // Both fail: the sorry server serves.
    s2.store(500, Ordering::SeqCst);
    until(&mut table, "sorry server", |t| {
        weight(t, sorry) == Some(1) && weight(t, a1) == Some(0) && weight(t, a2) == Some(0)
    })
    .await;

    // rs2 returns: out of sorry mode.
    s2.store(200, Ordering::SeqCst);
    until(&mut table, "rs2 back, sorry out", |t| {
        weight(t, sorry).is_none() && weight(t, a2) == Some(2)
    })
    .await;

    // Losing MASTER withdraws everything; regaining it restores the table
    // from the current check state (rs1 still down).
    role(&bus, Role::Backup);
    until(&mut table, "withdrawn", |t| t.services.is_empty()).await;
    role(&bus, Role::Master);
    until(&mut table, "reprogrammed", |t| {
        weight(t, a1) == Some(0) && weight(t, a2) == Some(2)
    })
    .await;

    running.shutdown().await;
    let _ = stop_tx.send(());
    let _ = lvs.await.unwrap();
    scripts_task.drained().await;
    let got = std::fs::read_to_string(&log.0).unwrap_or_default();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!("down {a1}"),
            format!("down {a2}"),
            format!("up {a2}"),
        ],
        "notify scripts ran in order"
    );
}

/// Wait until the status snapshot's virtual servers satisfy `pred` (20 s
/// at most); returns them.
async fn status_until(
    hub: &tandem::daemon::status::StatusHub,
    what: &str,
    pred: impl Fn(&[tandem::control::model::VirtualServerStatus]) -> bool,
) -> Vec<tandem::control::model::VirtualServerStatus> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let vs = hub.current().virtual_servers;
        if pred(&vs) {
            return vs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "status never became: {what}; last: {vs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status a user reads (`tandem status`, metrics): the weight each real
/// server has in the table, and verdicts counted for every virtual server a
/// shared check decides — the same real server checked the same way in two
/// virtual servers is one checker, and both count its verdicts.
#[tokio::test]
async fn status_counts_a_shared_checker_for_every_virtual_server() {
    let (a1, s1) = server().await;
    let (a2, _s2) = server().await;
    let mut runner = CheckRunner::new();
    let c1 = runner.add(check(a1));
    let c2 = runner.add(check(a2));
    assert_eq!(runner.add(check(a1)), c1, "the same check is one checker");
    let rs = real_server;
    let specs = vec![
        virtual_server("192.0.2.2", vec![rs(a1, c1, 1), rs(a2, c2, 2)]),
        virtual_server("192.0.2.3", vec![rs(a1, c1, 3)]),
    ];
    let state = LvsState::new(specs, |c| runner.initial_up(c));
    let hub = tandem::daemon::status::StatusHub::new("test");
    let (checks_tx, checks_rx) = tokio::sync::mpsc::channel(64);
    let (table_tx, _table) = LvsTask::table_channel();
    let mut reporting = tandem::daemon::lvs::LvsReporting::default();
    reporting.status = Some(hub.clone());
    let task = LvsTask {
        state,
        governance: Governance::new(&[], &[vec![], vec![]]),
        names: vec!["vs1".into(), "vs2".into()],
        checks: checks_rx,
        bus: Bus::new(),
        table: table_tx,
        scripts: None,
        reporting,
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let lvs = tokio::spawn(task.run(async {
        let _ = stop_rx.await;
        true
    }));
    let running = runner.spawn(checks_tx);
    // (virtual server, real server) → that real server's status
    fn rs_of(
        v: &[tandem::control::model::VirtualServerStatus],
        vs: usize,
        addr: SocketAddr,
    ) -> Option<tandem::control::model::RealServerStatus> {
        v.get(vs)?
            .real_servers
            .iter()
            .find(|r| r.address == addr)
            .cloned()
    }
    let effective = |v: &[_], vs, addr| rs_of(v, vs, addr).map(|r| r.effective_weight);

    status_until(&hub, "every real server in the table", |v| {
        effective(v, 0, a1) == Some(1)
            && effective(v, 0, a2) == Some(2)
            && effective(v, 1, a1) == Some(3)
    })
    .await;

    s1.store(500, Ordering::SeqCst);
    let v = status_until(&hub, "a1 failed in both virtual servers", |v| {
        [0, 1].iter().all(|&i| {
            rs_of(v, i, a1).is_some_and(|r| {
                !r.alive && r.inhibited && r.effective_weight == 0 && r.checks_failed > 0
            })
        })
    })
    .await;
    let (one, two) = (rs_of(&v, 0, a1).unwrap(), rs_of(&v, 1, a1).unwrap());
    assert_eq!(
        (one.checks_ok, one.checks_failed),
        (two.checks_ok, two.checks_failed),
        "one checker, counted for both"
    );
    let other = rs_of(&v, 0, a2).unwrap();
    assert!(
        other.alive && other.effective_weight == 2 && other.checks_failed == 0,
        "{other:?}"
    );

    s1.store(200, Ordering::SeqCst);
    let v = status_until(&hub, "a1 back in both virtual servers", |v| {
        effective(v, 0, a1) == Some(1) && effective(v, 1, a1) == Some(3)
    })
    .await;
    let (one, two) = (rs_of(&v, 0, a1).unwrap(), rs_of(&v, 1, a1).unwrap());
    assert!(one.checks_ok > 0 && one.alive && !one.inhibited, "{one:?}");
    assert_eq!(
        (one.checks_ok, one.checks_failed),
        (two.checks_ok, two.checks_failed)
    );

    running.shutdown().await;
    let _ = stop_tx.send(());
    let _ = lvs.await.unwrap();
}
