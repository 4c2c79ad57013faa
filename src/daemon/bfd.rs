//! The BFD task: every `bfd_instance` of the configuration as a session
//! of [`crate::bfd::Sessions`], on real UDP sockets and the real clock.
//!
//! One task owns the sessions (no lock around protocol state). It reads
//! the port 3784 listener, sleeps until the sessions' next deadline, sends
//! what they ask for on each session's own socket, and when a session
//! comes Up or leaves Up it writes the new state (with a growing sequence
//! number) to [`BfdStates`] and tells every unit ([`UnitMsg::Bfd`]); the
//! units move their `track_bfd` trackers; the same state goes on the
//! [`Bus`] for the `BFD_CHECK`s (`check::bfd`). The status snapshot's `bfd`
//! part is written on every change and once a second (counters).
//!
//! Never blocks on a unit: the reports are sent from a task of their own,
//! so a full inbox delays the report, never a Control packet.

use std::time::{Duration, Instant};

use crate::bfd::{Dropped, SessionConfig, Sessions, State, Transition, packet};
use crate::control::model::{BfdSessionStatus, BfdStatus, BfdTransition};
use crate::net::{BfdListener, BfdSender, BfdSocketError};
use crate::process::unix_ms_now;

use super::bus::Bus;
use super::feeds::Inboxes;
use super::status::StatusHub;
use super::unit::{BfdStates, UnitMsg};

/// The BFD thread ("tandem-bfd"): a single-threaded tokio runtime of its
/// own, so that the `bfd_*` scheduling knobs (`bfd_priority`,
/// `bfd_rt_priority`, `bfd_cpu_affinity`) apply to BFD's I/O and timers
/// alone, as keepalived applies them to its BFD child process, and a
/// 10 ms session never waits behind VRRP or a reload on the daemon's
/// runtime. The sockets are opened in its context ([`BfdRuntime::enter`])
/// so they are registered with its reactor; the task is spawned on it.
/// Dropping the value stops the thread (and the task with it).
pub(super) struct BfdRuntime {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl BfdRuntime {
    pub(super) fn start() -> std::io::Result<BfdRuntime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("tandem-bfd".into())
            .spawn(move || {
                crate::process::enter_bfd_thread();
                // A dropped sender is a stop too.
                rt.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(BfdRuntime {
            handle,
            _stop: stop,
        })
    }

    /// Run `f` in the runtime's context (sockets opened there register
    /// with its reactor).
    pub(super) fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        let _guard = self.handle.enter();
        f()
    }

    /// Spawn `task` on the BFD thread; the handle aborts it from anywhere.
    pub(super) fn spawn(
        &self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.handle.spawn(task)
    }
}

/// The sockets of the BFD task, opened before anything starts.
pub(super) struct BfdIo {
    listener: BfdListener,
    senders: Vec<BfdSender>,
}

/// A random number from the standard library's hasher keys.
fn random() -> u64 {
    crate::process::random_u64()
}

impl BfdIo {
    /// The listener and one sender per session; `None` without sessions.
    pub(super) fn open(sessions: &[SessionConfig]) -> Result<Option<BfdIo>, BfdSocketError> {
        if sessions.is_empty() {
            return Ok(None);
        }
        let listener = BfdListener::bind()?;
        let mut senders = Vec::new();
        for s in sessions {
            let port = 49152 + (random() % 16384) as u16;
            senders.push(BfdSender::open(s.neighbor, s.source, s.params.ttl, port)?);
        }
        Ok(Some(BfdIo { listener, senders }))
    }
}

/// The running BFD side.
pub(super) struct BfdTask {
    sessions: Sessions,
    io: BfdIo,
    epoch: Instant,
    states: BfdStates,
    inboxes: Inboxes,
    status: Option<StatusHub>,
    /// Where the `BFD_CHECK`s read the sessions' states.
    bus: Bus,
    last: Vec<Option<BfdTransition>>,
    /// Whether the last send of each session failed (logged once).
    send_failing: Vec<bool>,
    seq: u64,
}

impl BfdTask {
    pub(super) fn new(
        configs: Vec<SessionConfig>,
        io: BfdIo,
        states: BfdStates,
        inboxes: Inboxes,
        status: Option<StatusHub>,
        bus: Bus,
    ) -> BfdTask {
        let n = configs.len();
        if let Ok(mut m) = states.write() {
            for c in &configs {
                m.insert(c.name.clone(), (0, false));
            }
        }
        // Every session starts Down, and the checkers hear so at once, as
        // keepalived's BFD process tells its checker process at start.
        for c in &configs {
            bus.set_bfd_state(&c.name, false);
        }
        BfdTask {
            sessions: Sessions::new(configs, 0, random()),
            io,
            epoch: Instant::now(),
            states,
            inboxes,
            status,
            bus,
            last: vec![None; n],
            send_failing: vec![false; n],
            seq: 0,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Run for ever (the daemon aborts the task at exit).
    pub(super) async fn run(mut self) {
        for i in 0..self.sessions.len() {
            if let Some(c) = self.sessions.config(i) {
                tracing::info!(bfd = %c.name, neighbor = %c.neighbor, port = self.io.senders[i].port(),
                    "BFD_Instance({}) starting: neighbor {} from port {}", c.name, c.neighbor, self.io.senders[i].port());
            }
        }
        self.publish();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let now = self.now();
            for (i, t) in self.sessions.handle_timeout(now) {
                self.changed(i, t);
            }
            self.transmit(now);
            let deadline = self
                .sessions
                .next_deadline(now)
                .map(|t| self.epoch + Duration::from_micros(t));
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.io.listener.recv() => match r {
                    Ok(d) => {
                        let now = self.now();
                        match self.sessions.receive(now, &d.data, d.src, d.dst, d.ttl) {
                            Ok((i, Some(t))) => self.changed(i, t),
                            Ok((_, None)) => {}
                            Err(e) => drop_logged(&e, &d.src),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "BFD receive failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                _ = sleep => {}
                _ = tick.tick() => self.publish(),
            }
        }
    }

    fn transmit(&mut self, now: u64) {
        for (i, p) in self.sessions.poll_transmit(now) {
            let bytes = p.encode();
            let result = self.io.senders[i].send(&bytes);
            let name = self
                .sessions
                .config(i)
                .map(|c| c.name.as_str())
                .unwrap_or("");
            match result {
                Ok(()) => {
                    if std::mem::take(&mut self.send_failing[i]) {
                        tracing::info!(bfd = %name, "BFD_Instance({name}) sending again");
                    }
                }
                Err(e) => {
                    if !std::mem::replace(&mut self.send_failing[i], true) {
                        tracing::warn!(bfd = %name, error = %e, "BFD_Instance({name}) error sending packet");
                    }
                }
            }
        }
    }

    /// A session changed state: log as keepalived does, and when it came
    /// Up or left Up, tell the units.
    fn changed(&mut self, i: usize, t: Transition) {
        let Some(c) = self.sessions.config(i) else {
            return;
        };
        let name = c.name.clone();
        let remote_diag = self
            .sessions
            .session(i)
            .map(|s| s.status().remote_diag)
            .unwrap_or(0);
        if t.to == State::Up || t.from == State::Up {
            tracing::warn!(bfd = %name, from = t.from.name(), to = t.to.name(),
                "BFD_Instance({name}) Entering {} state (Local diagnostic - {}, Remote diagnostic - {})",
                t.to.name(), packet::diag::name(t.diag), packet::diag::name(remote_diag));
        } else {
            tracing::info!(bfd = %name, from = t.from.name(), to = t.to.name(),
                "BFD_Instance({name}) Entering {} state", t.to.name());
        }
        self.last[i] = Some(BfdTransition {
            from: t.from.name().into(),
            to: t.to.name().into(),
            at_unix_ms: unix_ms_now(),
            diag: packet::diag::name(t.diag).into(),
        });
        if t.changes_up() {
            self.seq += 1;
            let up = t.to == State::Up;
            if let Ok(mut m) = self.states.write() {
                m.insert(name.clone(), (self.seq, up));
            }
            self.bus.set_bfd_state(&name, up);
            let units = self.inboxes.read().map(|l| l.clone()).unwrap_or_default();
            let seq = self.seq;
            tokio::spawn(async move {
                for tx in units {
                    let _ = tx
                        .send(UnitMsg::Bfd {
                            name: name.clone(),
                            up,
                            seq,
                        })
                        .await;
                }
            });
        }
        self.publish();
    }

    fn publish(&self) {
        let Some(hub) = &self.status else {
            return;
        };
        let mut sessions = Vec::new();
        for i in 0..self.sessions.len() {
            let (Some(c), Some(s)) = (self.sessions.config(i), self.sessions.session(i)) else {
                continue;
            };
            let st = s.status();
            sessions.push(BfdSessionStatus {
                name: c.name.clone(),
                neighbor_ip: c.neighbor,
                source_ip: c.source,
                source_port: self.io.senders.get(i).map(BfdSender::port).unwrap_or(0),
                state: st.state.name().into(),
                remote_state: st.remote_state.name().into(),
                local_diag: packet::diag::name(st.local_diag).into(),
                remote_diag: packet::diag::name(st.remote_diag).into(),
                local_discriminator: st.local_discr,
                remote_discriminator: st.remote_discr,
                tx_interval_us: st.tx_interval_us,
                detect_time_us: st.detect_time_us,
                remote_min_rx_us: st.remote_min_rx_us,
                remote_min_tx_us: st.remote_min_tx_us,
                remote_detect_mult: st.remote_detect_mult,
                counters: st.counters,
                last_transition: self.last[i].clone(),
            });
        }
        let c = self.sessions.counters();
        let status = BfdStatus {
            sessions,
            malformed: c
                .malformed
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            no_session: c.no_session,
        };
        hub.modify(|s| s.bfd = status);
    }
}

/// Dropped packets are counted by the sessions; the log says why at debug
/// level (a flood must not flood the journal).
fn drop_logged(e: &Dropped, src: &std::net::IpAddr) {
    tracing::debug!(%src, reason = %e, "BFD packet dropped");
}
