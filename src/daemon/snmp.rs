//! The AgentX subagent task (`enable_snmp_vrrp`, `enable_snmp_checker`, `enable_snmp_rfc*`,
//! `snmp_socket`, `enable_traps`): connects to the master agent, runs the sans-IO
//! [`Session`], answers from the latest status snapshot, sends traps when
//! a state changes, and reconnects with backoff when the master goes.
//!
//! Owns the connection and its retry timer only. It reads the status
//! channel like every other reader, so a slow or absent snmpd costs the
//! SNMP answers and nothing else: VRRP and the checks never wait for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::config::model::{AgentxAddress, DEFAULT_AGENTX_SOCKET, SnmpDefs};
use crate::control::model::{StatusReceiver, StatusSnapshot};
use crate::snmp::check_mib;
use crate::snmp::keepalived_mib::{self, Clock, Enabled};
use crate::snmp::pdu::{Pdu, frame_len};
use crate::snmp::session::{Event, Phase, Session};
use crate::snmp::view::MibView;

use super::status::StatusHub;

/// The first wait after a failed connection, and the longest.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A master that takes longer than this to accept a PDU is treated as
/// gone; the connection is dropped and made again.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The running subagent.
pub(super) struct SnmpService {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// `enable_snmp_checker`: the IPVS counters' poller.
    counters: Option<tokio::task::JoinHandle<()>>,
}

impl SnmpService {
    /// Start the subagent when the configuration enables a MIB.
    pub(super) fn start_if_enabled(defs: &SnmpDefs, hub: &StatusHub) -> Option<SnmpService> {
        if !defs.enabled() {
            return None;
        }
        let text = defs.socket.as_deref().unwrap_or(DEFAULT_AGENTX_SOCKET);
        let address = match AgentxAddress::parse(text) {
            Ok(a) => a,
            Err(why) => {
                // The configuration check refused this already; a plan
                // built some other way must not start a half subagent.
                tracing::error!(socket = text, "SNMP disabled: snmp_socket {why}");
                return None;
            }
        };
        let agent = Agent {
            address,
            label: text.to_string(),
            enabled: Enabled {
                vrrp: defs.vrrp,
                checker: defs.checker,
                rfcv2: defs.rfcv2,
                rfcv3: defs.rfcv3,
                traps: defs.traps,
            },
            traps: defs.traps,
            started: Instant::now(),
            started_unix_ms: crate::process::unix_ms_now(),
            failing: AtomicBool::new(false),
            startup_traps_due: AtomicBool::new(defs.checker && defs.traps),
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(agent.run(hub.subscribe(), stop_rx));
        let counters = defs.checker.then(|| {
            let hub = hub.clone();
            super::ipvs_stats::spawn(move |entries| hub.set_ipvs_counters(entries))
        });
        Some(SnmpService {
            stop,
            task,
            counters,
        })
    }

    /// Close the session (a Close PDU, reason shutdown) and end the task.
    pub(super) async fn shutdown(self) {
        if let Some(c) = self.counters {
            c.abort();
        }
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Agent {
    address: AgentxAddress,
    label: String,
    enabled: Enabled,
    traps: bool,
    started: Instant,
    /// The same instant as Unix ms: the origin of the RFC MIBs' up times.
    started_unix_ms: u64,
    /// Whether the last connection attempt or session failed (so the
    /// next failure is not logged again).
    failing: AtomicBool,
    /// Whether the checker's start-up quorum traps are still to be sent
    /// (once in the daemon's life, on the first session that is open
    /// once the virtual servers are in the snapshot).
    startup_traps_due: AtomicBool,
}

/// How one connection ended.
enum Ended {
    Stopped,
    Lost(String),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Agent {
    async fn run(self, status: StatusReceiver, mut stop: watch::Receiver<bool>) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let ended = match self.connect().await {
                Ok(stream) => {
                    let ended = self.serve(stream, status.clone(), &mut stop).await;
                    backoff = BACKOFF_MIN;
                    ended
                }
                Err(e) => Ended::Lost(format!("cannot connect: {e}")),
            };
            match ended {
                Ended::Stopped => return,
                // The first failure in a row is logged; the retries are
                // not, until a session opens again.
                Ended::Lost(why) => {
                    if !self.failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(socket = %self.label, "SNMP master agent unavailable ({why}); retrying in the background, up to every {}s", BACKOFF_MAX.as_secs());
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stopped(&mut stop) => return,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    async fn connect(&self) -> std::io::Result<Box<dyn Stream>> {
        let connect = async {
            Ok::<Box<dyn Stream>, std::io::Error>(match &self.address {
                AgentxAddress::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
                AgentxAddress::Tcp { host, port } => {
                    let s = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                    s.set_nodelay(true)?;
                    Box::new(s)
                }
            })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("timed out")))
    }

    /// The view of `s` now (the up-time columns count to this moment).
    fn view(&self, s: &StatusSnapshot) -> MibView {
        let clock = Clock {
            now_unix_ms: crate::process::unix_ms_now(),
            agent_start_unix_ms: self.started_unix_ms,
        };
        keepalived_mib::build_view(s, self.enabled, clock)
    }

    fn uptime_cs(&self) -> u32 {
        u32::try_from(self.started.elapsed().as_millis() / 10).unwrap_or(u32::MAX)
    }

    /// One connection: Open, Register, then requests and traps until the
    /// master closes, the stream breaks or the daemon stops.
    async fn serve(
        &self,
        mut stream: Box<dyn Stream>,
        mut status: StatusReceiver,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let (mut session, open) = Session::start(self.enabled.subtrees());
        if let Err(e) = write(&mut stream, &open).await {
            return Ended::Lost(e);
        }
        let mut before: StatusSnapshot = status.borrow_and_update().clone();
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        loop {
            tokio::select! {
                _ = stopped(stop) => {
                    if let Some(close) = session.close() {
                        let _ = write(&mut stream, &close).await;
                    }
                    return Ended::Stopped;
                }
                read = stream.read_buf(&mut buf) => {
                    match read {
                        Ok(0) => return Ended::Lost("the master agent closed the connection".into()),
                        Ok(_) => {}
                        Err(e) => return Ended::Lost(e.to_string()),
                    }
                    let view = self.view(&before);
                    if let Err(why) = self.handle_frames(&mut buf, &mut session, &view, &mut stream).await {
                        return Ended::Lost(why);
                    }
                    if let Err(why) = self.startup_traps(&mut session, &before, &mut stream).await {
                        return Ended::Lost(why);
                    }
                }
                changed = status.changed() => {
                    if changed.is_err() {
                        return Ended::Stopped;
                    }
                    let after = status.borrow_and_update().clone();
                    if self.traps {
                        let traps = keepalived_mib::state_change_traps(&before, &after, self.enabled, self.uptime_cs());
                        for varbinds in traps {
                            if let Some(pdu) = session.notify(varbinds)
                                && let Err(e) = write(&mut stream, &pdu).await
                            {
                                return Ended::Lost(e);
                            }
                        }
                    }
                    before = after;
                    if let Err(why) = self.startup_traps(&mut session, &before, &mut stream).await {
                        return Ended::Lost(why);
                    }
                }
            }
        }
    }

    /// keepalived's checker sends a quorum trap per virtual server as it
    /// starts (`check_mib::startup_traps`): sent here once, as soon as a
    /// session is open and the snapshot has the virtual servers.
    async fn startup_traps(
        &self,
        session: &mut Session,
        s: &StatusSnapshot,
        stream: &mut Box<dyn Stream>,
    ) -> Result<(), String> {
        if !self.startup_traps_due.load(Ordering::Relaxed)
            || s.virtual_servers.is_empty()
            || !matches!(session.phase(), Phase::Open(_))
        {
            return Ok(());
        }
        self.startup_traps_due.store(false, Ordering::Relaxed);
        for varbinds in check_mib::startup_traps(s, self.uptime_cs()) {
            if let Some(pdu) = session.notify(varbinds) {
                write(stream, &pdu).await?;
            }
        }
        Ok(())
    }

    /// Cut the whole PDUs out of `buf`, hand each to the session, write
    /// its answers. A PDU that frames but does not decode is logged and
    /// skipped; one that does not even frame ends the connection (the
    /// stream cannot be resynchronised).
    async fn handle_frames(
        &self,
        buf: &mut Vec<u8>,
        session: &mut Session,
        view: &MibView,
        stream: &mut Box<dyn Stream>,
    ) -> Result<(), String> {
        while let Some(len) =
            frame_len(buf).map_err(|e| format!("unreadable AgentX stream: {e}"))?
        {
            if buf.len() < len {
                break;
            }
            let decoded = Pdu::decode(&buf[..len]);
            buf.drain(..len);
            let pdu = match decoded {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "malformed AgentX PDU from the master agent dropped");
                    continue;
                }
            };
            let out = session.receive(pdu, view, self.uptime_cs());
            for answer in &out.send {
                write(stream, answer).await?;
            }
            for event in out.events {
                self.log(event);
            }
            if session.phase() == Phase::Closed {
                return Err("the session was closed".into());
            }
        }
        Ok(())
    }

    fn log(&self, event: Event) {
        match event {
            Event::Opened { session_id } => {
                self.failing.store(false, Ordering::Relaxed);
                tracing::info!(socket = %self.label, session_id, "AgentX session open with the SNMP master agent")
            }
            Event::Registered { subtree } => {
                tracing::info!(%subtree, "SNMP subtree registered")
            }
            Event::RegisterFailed { subtree, error } => {
                tracing::warn!(%subtree, error, "the SNMP master agent refused to register the subtree")
            }
            Event::OpenFailed { error } => {
                tracing::warn!(error, "the SNMP master agent refused the AgentX session")
            }
            Event::NotifyFailed { error } => {
                tracing::warn!(error, "the SNMP master agent refused a notification")
            }
            Event::ClosedByMaster { reason } => {
                tracing::info!(reason, "the SNMP master agent closed the AgentX session")
            }
        }
    }
}

async fn write(stream: &mut Box<dyn Stream>, pdu: &Pdu) -> Result<(), String> {
    let bytes = pdu.encode();
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the master agent stopped reading".into()),
    }
}

/// Resolves once the daemon says stop (the guard `wait_for` returns is
/// not held across the awaits that follow).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
