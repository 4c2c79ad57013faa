//! The checker thread's own event loop for the common probes: `TCP_CHECK`
//! and status-only `HTTP_GET` over plain TCP.
//!
//! Why not one tokio task per checker, as for the other checks: a probe of
//! these kinds is a handful of system calls (socket, connect, one epoll
//! registration, write, read, close), and on tokio about two thirds of the
//! user-space instructions of a check were the runtime's: registering and
//! deregistering the socket with the reactor (an `epoll_ctl` each), two
//! timers per probe (the next probe and `connect_timeout`), each with its own
//! clock read, and a scheduler turn per wake-up. At 1,000 real servers
//! checked every second that made tandem's checks cost more CPU than
//! keepalived's. Here:
//! - a socket is registered once (edge-triggered, readable and writable) and
//!   never deregistered: closing it removes it from the epoll set;
//! - the clock is read once per turn of the loop, not per probe;
//! - the next probes wait in one heap, the `connect_timeout` deadlines in one
//!   first-in-first-out queue per distinct timeout (a deadline is always
//!   later than the ones queued before it with the same timeout), and
//!   probes due in the same [`WAKE_SLOT`] share a turn;
//! - a short read means the socket is drained until its next edge, so a
//!   response that arrives whole costs one `read`;
//! - fewer segments per check, which is where most of a check's CPU time
//!   goes (the kernel's TCP work; on loopback the server's half of it is
//!   charged to the checker too): the request carries the handshake's
//!   last ACK ([`super::tcp::Opening::RequestFollows`]), and once the
//!   server has sent its FIN behind the whole answer the connection ends
//!   with a reset instead of this side's FIN and the server's last ACK
//!   (no TIME_WAIT on the server per check; its program has closed and
//!   sees nothing).
//!
//! The semantics are the tokio path's ([`super::http`] and [`super::tcp`]):
//! `connect_timeout` bounds each URL's connect, request and response head;
//! the rest of a body is read (for an orderly close) only while that time
//! lasts; the status decides. Checks with a `digest`, `SSL_GET` and
//! `MISC_CHECK` stay tokio tasks ([`super::runner`]).
//!
//! Owns the checker thread and its epoll loop; it shares only the event
//! channel with tokio, and may not judge verdicts beyond [`CheckSchedule`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use tokio::sync::mpsc;

use super::event::{CheckEvent, CheckStats, CheckerId};
use super::http::{self, Head, MAX_HEAD, RequestHead};
use super::outcome::CheckError;
use super::probe::Prepared;
use super::schedule::{CheckSchedule, WAKE_SLOT, wake_slot};
use super::spec::{CheckKind, CheckerSpec};
use super::tcp::Opening;

/// The token of the [`Waker`] that interrupts the loop to stop it.
const WAKER: Token = Token(usize::MAX);
/// First size of a probe's read buffer; grown (up to `MAX_HEAD`) only for a
/// response head that does not fit.
const FIRST_BUF: usize = 1024;
/// How soon verdicts that found the channel full are offered again.
const UNSENT_RETRY: Duration = Duration::from_millis(10);

/// The requests of a checker the engine can run: none for `TCP_CHECK`, one
/// per URL for a status-only `HTTP_GET`. `None` for every other checker.
pub fn lean_requests(spec: &CheckerSpec, prepared: &Prepared) -> Option<Box<[Bytes]>> {
    match (&spec.kind, prepared) {
        (CheckKind::Tcp, _) => Some(Box::new([])),
        (CheckKind::Http(_), Prepared::Http(p)) => p
            .heads()
            .iter()
            .map(|head| match head {
                Ok(RequestHead::Lean { request }) => Some(request.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A checker handed to [`Engine::new`]: id, first verdict, spec, and its
/// requests from [`lean_requests`].
pub type LeanStart = (CheckerId, bool, Arc<CheckerSpec>, Box<[Bytes]>);

/// One checker the engine runs.
struct Checker {
    id: CheckerId,
    spec: Arc<CheckerSpec>,
    /// See [`lean_requests`].
    requests: Box<[Bytes]>,
    schedule: CheckSchedule,
    /// Counts the probe's connections; a timer carrying an older value is
    /// stale and ignored.
    generation: u32,
    probe: Option<Box<Probe>>,
}

/// A probe in flight: one URL's connection at a time.
struct Probe {
    stream: TcpStream,
    /// The URL being checked (index into the checker's requests).
    url: usize,
    phase: Phase,
    buf: Vec<u8>,
    filled: usize,
    /// The server's FIN has been read: it has closed its side after the
    /// whole answer, so this side may end the connection with a reset
    /// (see [`Engine::advance`]).
    peer_closed: bool,
}

#[derive(Clone, Copy)]
enum Phase {
    /// Handshake under way (or `written` bytes of the request sent).
    Connecting { written: usize },
    /// Request sent; reading the response head.
    Head,
    /// Status known; reading and dropping `left` more bytes of body.
    Drain { status: u16, left: usize },
}

/// What epoll said about a socket.
#[derive(Clone, Copy)]
struct Ready {
    readable: bool,
    writable: bool,
    /// The peer closed its side or the socket has an error: no later
    /// edge will come for what is already queued.
    ends: bool,
}

/// What the loop does next for a probe after an event.
enum Next {
    Wait,
    UrlDone,
    Fail(CheckError),
}

/// A timer: when (nanoseconds since the engine's origin), which checker,
/// which generation.
type Timer = (u64, u32, u32);

/// The engine: its checkers, timers and the epoll set.
pub struct Engine {
    poll: Poll,
    checkers: Vec<Checker>,
    origin: Instant,
    /// Next probes, earliest first.
    wakes: BinaryHeap<Reverse<Timer>>,
    /// `connect_timeout` deadlines, one queue per distinct timeout.
    deadlines: Vec<(Duration, VecDeque<Timer>)>,
    /// Checkers due while `max_in_flight` probes were running.
    waiting: VecDeque<u32>,
    in_flight: usize,
    max_in_flight: usize,
    /// Probes finished in this turn, with their result.
    finished: Vec<(u32, Result<(), CheckError>)>,
    /// Verdict changes the channel had no room for yet.
    unsent: VecDeque<CheckEvent>,
    /// Now, as read once per turn of the loop, right after epoll_wait
    /// (nanoseconds since `origin`).
    turn: u64,
    /// `ha_suspend`'s flags, if any checker may be suspended.
    suspended: Option<Arc<super::suspend::Suspended>>,
}

/// Stops a running engine: from [`Engine::spawn`].
#[derive(Debug)]
pub struct EngineHandle {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    done: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl EngineHandle {
    fn signal(&self) {
        self.stop.store(true, Ordering::Release);
        // If the wake fails the loop still sees the flag at its next turn
        // (at most one delay_loop away).
        let _ = self.waker.wake();
    }

    /// Stop the loop and wait until its thread has closed every socket.
    pub async fn shutdown(mut self) {
        self.signal();
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.signal();
    }
}

impl Engine {
    /// An engine for `checkers` (id, first verdict, spec, requests from
    /// [`lean_requests`]).
    pub fn new(checkers: Vec<LeanStart>, max_in_flight: usize) -> std::io::Result<Self> {
        let checkers = checkers
            .into_iter()
            .map(|(id, up, spec, requests)| Checker {
                id,
                schedule: CheckSchedule::starting(spec.timing, up),
                spec,
                requests,
                generation: 0,
                probe: None,
            })
            .collect();
        Ok(Self {
            poll: Poll::new()?,
            checkers,
            origin: Instant::now(),
            wakes: BinaryHeap::new(),
            deadlines: Vec::new(),
            waiting: VecDeque::new(),
            in_flight: 0,
            max_in_flight: max_in_flight.max(1),
            finished: Vec::new(),
            unsent: VecDeque::new(),
            turn: 0,
            suspended: None,
        })
    }

    /// `ha_suspend`: a checker whose flag is set skips its probes (each
    /// `delay_loop` it looks again) and keeps its verdict.
    pub fn with_suspension(mut self, flags: Option<Arc<super::suspend::Suspended>>) -> Self {
        self.suspended = flags;
        self
    }

    /// Run the engine on a thread of its own ("tandem-checks"), each
    /// checker first after `first_delay(i)`, verdict changes sent on
    /// `events`. `after_start` runs on the thread once the loop is set up.
    pub fn spawn(
        mut self,
        events: mpsc::Sender<CheckEvent>,
        stats: Arc<CheckStats>,
        first_delay: impl Fn(usize) -> f64,
        after_start: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<EngineHandle> {
        let waker = Arc::new(Waker::new(self.poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        for i in 0..self.checkers.len() {
            let delay = self.checkers[i].schedule.first_delay(first_delay(i));
            self.schedule_wake(i, delay, Duration::ZERO);
        }
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let thread_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("tandem-checks".into())
            .spawn(move || {
                after_start();
                self.run(&thread_stop, &events, &stats);
                drop(self); // every socket closed before `done`
                let _ = done_tx.send(());
            })?;
        Ok(EngineHandle {
            stop,
            waker,
            done: Some(done_rx),
        })
    }

    /// Read the clock: the time of this turn.
    fn tick(&mut self) {
        self.turn = nanos(self.origin.elapsed());
    }

    /// Queue checker `i`'s next probe `delay` after `now` (on its slot).
    fn schedule_wake(&mut self, i: usize, delay: Duration, now: Duration) {
        let at = wake_slot(now + delay, now, WAKE_SLOT);
        let c = &self.checkers[i];
        self.wakes
            .push(Reverse((nanos(at), i as u32, c.generation)));
    }

    /// The loop: timers due, then epoll, until `stop` or nobody listens.
    fn run(&mut self, stop: &AtomicBool, events: &mpsc::Sender<CheckEvent>, stats: &CheckStats) {
        let mut ready = Events::with_capacity(1024);
        self.tick();
        loop {
            self.fire_timers();
            if !self.report(events, stats) {
                return; // the daemon is stopping
            }
            if let Err(e) = self.wait(&mut ready) {
                tracing::error!(error = %e, "health checks: epoll_wait failed; checks stopped");
                return;
            }
            if stop.load(Ordering::Acquire) {
                return;
            }
            self.dispatch(&ready);
        }
    }

    /// Sleep in epoll_wait until a socket is ready or the next timer is
    /// due, then read the clock for the turn. A signal is an empty wake.
    fn wait(&mut self, ready: &mut Events) -> std::io::Result<()> {
        match self.poll.poll(ready, self.timeout()) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => ready.clear(),
            Err(e) => return Err(e),
        }
        self.tick();
        Ok(())
    }

    /// The verdicts of the probes finished this turn: counters, schedule,
    /// events out, next probe queued. `false` once nobody listens.
    fn report(&mut self, events: &mpsc::Sender<CheckEvent>, stats: &CheckStats) -> bool {
        let now = Duration::from_nanos(self.turn);
        for (i, result) in std::mem::take(&mut self.finished) {
            let i = i as usize;
            stats.probes.fetch_add(1, Ordering::Relaxed);
            let c = &mut self.checkers[i];
            let (step, detail) = match result {
                Ok(()) => (c.schedule.on_pass(None), None),
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(checker = %c.spec, error = %e, "check failed");
                    super::event::log_failure(&c.spec, c.schedule.is_up(), &e);
                    (c.schedule.on_fail(), Some(e.to_string()))
                }
            };
            let id = c.id;
            for report in step.reports {
                self.unsent.push_back(CheckEvent {
                    checker: id,
                    report,
                    detail: detail.clone(),
                });
            }
            self.schedule_wake(i, step.next, now);
        }
        self.send_unsent(events)
    }

    /// Hand the verdict changes to the channel, in order, as far as it has
    /// room; `false` once nobody listens.
    ///
    /// Never blocking: the daemon stops the checks from the task that reads
    /// the channel, so a blocked send could wait for ever; and probes must
    /// go on meanwhile. What does not fit waits here, retried every
    /// [`UNSENT_RETRY`].
    fn send_unsent(&mut self, events: &mpsc::Sender<CheckEvent>) -> bool {
        while let Some(event) = self.unsent.pop_front() {
            match events.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.unsent.push_front(event);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    }

    /// How long epoll_wait may sleep: until the next timer, or the next
    /// try at sending verdicts the channel had no room for.
    fn timeout(&self) -> Option<Duration> {
        let timer = self
            .next_timer()
            .map(|at| Duration::from_nanos(at.saturating_sub(self.turn)));
        if self.unsent.is_empty() {
            timer
        } else {
            Some(timer.map_or(UNSENT_RETRY, |t| t.min(UNSENT_RETRY)))
        }
    }

    fn next_timer(&self) -> Option<u64> {
        let wake = self.wakes.peek().map(|Reverse((at, ..))| *at);
        let deadline = self
            .deadlines
            .iter()
            .filter_map(|(_, q)| q.front().map(|(at, ..)| *at))
            .min();
        match (wake, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn fire_timers(&mut self) {
        let now = self.turn;
        for q in 0..self.deadlines.len() {
            while let Some(&(at, i, generation)) = self.deadlines[q].1.front() {
                if at > now {
                    break;
                }
                self.deadlines[q].1.pop_front();
                let c = &self.checkers[i as usize];
                if c.generation != generation || c.probe.is_none() {
                    continue; // that connection is over
                }
                let next = match c.probe.as_deref().map(|p| p.phase) {
                    // The status arrived in time; the body's end need not.
                    Some(Phase::Drain { .. }) => Next::UrlDone,
                    _ => Next::Fail(CheckError::Timeout(c.spec.connect_timeout)),
                };
                self.advance(i as usize, next);
            }
        }
        while let Some(&Reverse((at, i, generation))) = self.wakes.peek() {
            if at > now {
                break;
            }
            self.wakes.pop();
            let c = &self.checkers[i as usize];
            if c.generation != generation {
                continue;
            }
            if self.suspended.as_ref().is_some_and(|s| s.is(c.id)) {
                let delay = c.spec.timing.delay_loop;
                self.schedule_wake(i as usize, delay, Duration::from_nanos(now));
                continue;
            }
            if self.in_flight >= self.max_in_flight {
                self.waiting.push_back(i);
            } else {
                self.start_probe(i as usize);
            }
        }
        self.fill_slots();
    }

    /// Start waiting probes while there are free slots. A loop, not a call
    /// from [`Engine::end_probe`]: a probe that fails at once (no route)
    /// frees its slot at once, and thousands of those must not recurse.
    fn fill_slots(&mut self) {
        while self.in_flight < self.max_in_flight {
            let Some(next) = self.waiting.pop_front() else {
                break;
            };
            self.start_probe(next as usize);
        }
    }

    fn start_probe(&mut self, i: usize) {
        self.in_flight += 1;
        self.connect_url(i, 0);
    }

    /// Open the connection for URL `url` of checker `i` (the whole probe
    /// for TCP_CHECK) and arm its `connect_timeout`.
    fn connect_url(&mut self, i: usize, url: usize) {
        let c = &mut self.checkers[i];
        c.generation = c.generation.wrapping_add(1);
        let timeout = c.spec.connect_timeout;
        let generation = c.generation;
        // HTTP_GET writes its request at once: its first segment carries
        // the handshake's last ACK. TCP_CHECK writes nothing.
        let opening = if c.requests.is_empty() {
            Opening::Plain
        } else {
            Opening::RequestFollows
        };
        let opened = super::tcp::start_connect(&c.spec, opening).and_then(|s| {
            let mut stream = TcpStream::from_std(s);
            self.poll
                .registry()
                .register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|source| CheckError::Connect {
                    addr: c.spec.target,
                    source,
                })?;
            Ok(stream)
        });
        let stream = match opened {
            Ok(stream) => stream,
            Err(e) => {
                c.probe = None;
                self.end_probe(i, Err(e));
                return;
            }
        };
        c.probe = Some(Box::new(Probe {
            stream,
            url,
            phase: Phase::Connecting { written: 0 },
            buf: Vec::new(),
            filled: 0,
            peer_closed: false,
        }));
        let at = self.turn.saturating_add(nanos(timeout));
        let q = match self.deadlines.iter().position(|(t, _)| *t == timeout) {
            Some(q) => q,
            None => {
                self.deadlines.push((timeout, VecDeque::new()));
                self.deadlines.len() - 1
            }
        };
        self.deadlines[q].1.push_back((at, i as u32, generation));
    }

    /// Hand each socket's readiness to its probe. An error or a hang-up
    /// counts as both readable and writable: the next read or write
    /// reports it.
    fn dispatch(&mut self, ready: &Events) {
        for event in ready.iter() {
            let token = event.token();
            if token == WAKER {
                continue;
            }
            let ends = event.is_read_closed() || event.is_error();
            let ready = Ready {
                readable: event.is_readable() || ends,
                writable: event.is_writable() || event.is_write_closed() || event.is_error(),
                ends,
            };
            self.on_ready(token.0, ready);
        }
    }

    /// Socket `i` is ready: drive its probe as far as it goes.
    fn on_ready(&mut self, i: usize, ready: Ready) {
        let Ready {
            readable,
            writable,
            ends,
        } = ready;
        let Some(c) = self.checkers.get_mut(i) else {
            return;
        };
        let Some(probe) = c.probe.as_deref_mut() else {
            return; // an event for a connection closed this turn
        };
        let target = c.spec.target;
        let next = match probe.phase {
            Phase::Connecting { .. } if !writable => Next::Wait,
            Phase::Connecting { written } => match c.requests.get(probe.url) {
                // TCP_CHECK: the handshake's outcome is the verdict.
                None => match probe.stream.take_error() {
                    Ok(None) => Next::UrlDone,
                    Ok(Some(source)) | Err(source) => Next::Fail(CheckError::Connect {
                        addr: target,
                        source,
                    }),
                },
                Some(request) => match write_request(probe, request, written, target) {
                    Next::UrlDone if readable => read_response(probe, ends),
                    Next::UrlDone => Next::Wait,
                    other => other,
                },
            },
            Phase::Head | Phase::Drain { .. } if readable => read_response(probe, ends),
            Phase::Head | Phase::Drain { .. } => Next::Wait,
        };
        self.advance(i, next);
    }

    /// Act on what a probe's event or deadline decided.
    fn advance(&mut self, i: usize, next: Next) {
        match next {
            Next::Wait => {}
            Next::Fail(e) => self.end_probe(i, Err(e)),
            Next::UrlDone => {
                let c = &mut self.checkers[i];
                let Some(probe) = c.probe.take() else {
                    return;
                };
                let url = probe.url;
                let status = match probe.phase {
                    Phase::Drain { status, .. } => Some(status),
                    _ => None,
                };
                if probe.peer_closed {
                    // The server sent its whole answer and its FIN: the
                    // exchange is over for both programs. A reset instead
                    // of this side's FIN spares the server's kernel the
                    // last FIN/ACK and a TIME_WAIT entry per check (and on
                    // loopback that work is the checker's system time);
                    // the server's program, already closed, sees nothing.
                    let _ = socket2::SockRef::from(&probe.stream).set_linger(Some(Duration::ZERO));
                }
                drop(probe); // closed: the kernel drops it from the epoll set
                let wrong = match (status, &c.spec.kind) {
                    (Some(status), CheckKind::Http(get)) => http::urls(get)
                        .nth(url)
                        .filter(|check| !check.status.contains(status))
                        .map(|check| CheckError::Status {
                            path: check.path.clone(),
                            got: status,
                            expected: check.status.clone(),
                        }),
                    _ => None,
                };
                let more = url + 1 < c.requests.len();
                if let Some(e) = wrong {
                    self.end_probe(i, Err(e));
                } else if more {
                    self.connect_url(i, url + 1);
                } else {
                    self.end_probe(i, Ok(()));
                }
            }
        }
    }

    /// The probe of checker `i` is over: close it, free its slot (taken by
    /// a waiting probe at the end of the turn), and leave the result for
    /// [`Engine::report`].
    fn end_probe(&mut self, i: usize, result: Result<(), CheckError>) {
        let c = &mut self.checkers[i];
        c.probe = None;
        c.generation = c.generation.wrapping_add(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        self.finished.push((i as u32, result));
    }
}

/// Write (the rest of) the request; `UrlDone` here means "all written".
/// The first write after the handshake reports how it ended (a refused
/// connection fails here), so no `getsockopt(SO_ERROR)` is needed.
fn write_request(
    probe: &mut Probe,
    request: &[u8],
    mut written: usize,
    target: std::net::SocketAddr,
) -> Next {
    while written < request.len() {
        match probe.stream.write(&request[written..]) {
            Ok(0) => {
                return Next::Fail(CheckError::Connect {
                    addr: target,
                    source: ErrorKind::WriteZero.into(),
                });
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                probe.phase = Phase::Connecting { written };
                return Next::Wait;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(source) => {
                return Next::Fail(CheckError::Connect {
                    addr: target,
                    source,
                });
            }
        }
    }
    probe.phase = Phase::Head;
    probe.buf = vec![0; FIRST_BUF];
    Next::UrlDone
}

/// Read what the socket has: the response head (judged once complete,
/// interim 1xx responses skipped), then the body, dropped.
///
/// A short read means the socket is empty until its next edge — unless
/// the peer's end (`ends`: FIN or an error) came with this event: then
/// no edge will follow, and reading goes on to the end, so that a server
/// that closes after half a head fails at once with that reason, not
/// after `connect_timeout`.
fn read_response(probe: &mut Probe, ends: bool) -> Next {
    loop {
        if let Phase::Drain { left: 0, .. } = probe.phase {
            // `ends`: the FIN (or an error) came with this event.
            probe.peer_closed = ends || fin_queued(probe);
            return Next::UrlDone;
        }
        if probe.filled == probe.buf.len() {
            if let Phase::Drain { .. } = probe.phase {
                probe.filled = 0;
            } else if probe.buf.len() >= MAX_HEAD {
                return Next::Fail(CheckError::Response("response head too large".into()));
            } else {
                let len = (probe.buf.len() * 2).clamp(FIRST_BUF, MAX_HEAD);
                probe.buf.resize(len, 0);
            }
        }
        let room = probe.buf.len() - probe.filled;
        let n = match probe.stream.read(&mut probe.buf[probe.filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Next::Wait,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                return match probe.phase {
                    // The status is in; the verdict does not change.
                    Phase::Drain { .. } => Next::UrlDone,
                    _ => Next::Fail(CheckError::Io(e)),
                };
            }
        };
        match &mut probe.phase {
            Phase::Drain { left, .. } => {
                if n == 0 {
                    probe.peer_closed = true;
                    return Next::UrlDone;
                }
                *left = left.saturating_sub(n);
                // Drained bytes are not kept.
                probe.filled = 0;
            }
            _ => {
                if n == 0 {
                    return Next::Fail(CheckError::Response(
                        "connection closed before a complete response head".into(),
                    ));
                }
                probe.filled += n;
                if let Err(e) = parse_heads(probe) {
                    return Next::Fail(e);
                }
            }
        }
        if n < room && !ends {
            // Short read: nothing more until the socket's next edge.
            if let Phase::Drain { left: 0, .. } = probe.phase {
                probe.peer_closed = fin_queued(probe);
                return Next::UrlDone;
            }
            return Next::Wait;
        }
    }
}

/// Whether the server's FIN is already queued behind the answer just read
/// (a server answering HTTP/1.0 or `Connection: close` closes right after
/// it, usually before this side looks): one `read` that returns 0 then, or
/// would block. Bytes beyond the body leave the connection to an ordinary
/// close.
fn fin_queued(probe: &mut Probe) -> bool {
    let mut byte = [0u8; 1];
    matches!(probe.stream.read(&mut byte), Ok(0))
}

/// Parse the buffered bytes as far as they go: interim responses dropped, a
/// final head turns the probe to [`Phase::Drain`].
fn parse_heads(probe: &mut Probe) -> Result<(), CheckError> {
    loop {
        match http::parse_head(&probe.buf[..probe.filled])? {
            Head::Partial => return Ok(()),
            // RFC 9110 15.2: a client ignores 1xx responses it did not ask
            // for (101 only answers an Upgrade, never sent here).
            Head::Complete { status, len, .. } if (100..200).contains(&status) && status != 101 => {
                probe.buf.copy_within(len..probe.filled, 0);
                probe.filled -= len;
            }
            Head::Complete {
                status,
                len,
                content_length,
            } => {
                let have = probe.filled - len;
                probe.phase = Phase::Drain {
                    status,
                    left: http::body_left(status, content_length.map(|c| (c, have))),
                };
                probe.filled = 0;
                return Ok(());
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// One probe of `spec` on an engine of its own, blocking: `None` when the
/// engine does not run this kind of check ([`lean_requests`]). For tests
/// and `check-once`, so that both ways of probing are held to the same
/// behaviour.
pub fn probe_once(spec: &CheckerSpec) -> Option<Result<(), CheckError>> {
    let requests = lean_requests(spec, &Prepared::new(spec))?;
    let spec = Arc::new(spec.clone());
    let mut engine = match Engine::new(vec![(CheckerId(0), true, spec, requests)], 1) {
        Ok(engine) => engine,
        Err(e) => return Some(Err(CheckError::Io(e))),
    };
    let mut ready = Events::with_capacity(16);
    engine.tick();
    engine.start_probe(0);
    loop {
        if let Some((_, result)) = engine.finished.pop() {
            return Some(result);
        }
        if let Err(e) = engine.wait(&mut ready) {
            return Some(Err(CheckError::Io(e)));
        }
        engine.dispatch(&ready);
        engine.fire_timers();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe whose request is sent, reading a response that is already
    /// wholly queued: half a head and the server's FIN.
    fn probe_with_queued(answer: &[u8]) -> Probe {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(answer).unwrap();
        drop(server); // FIN after the bytes
        // Both are in the client's receive queue before anyone reads.
        std::thread::sleep(Duration::from_millis(50));
        client.set_nonblocking(true).unwrap();
        Probe {
            stream: TcpStream::from_std(client),
            url: 0,
            phase: Phase::Head,
            buf: vec![0; FIRST_BUF],
            filled: 0,
            peer_closed: false,
        }
    }

    /// epoll reports the bytes and the FIN in one event, and no edge
    /// follows: the reader must go on to the end, not wait for an edge.
    #[test]
    fn half_a_head_then_close_fails_at_once() {
        let mut probe = probe_with_queued(b"HTTP/1.0 2");
        match read_response(&mut probe, true) {
            Next::Fail(CheckError::Response(why)) => {
                assert!(why.contains("before a complete response head"), "{why}")
            }
            Next::Fail(e) => panic!("wrong failure: {e}"),
            Next::Wait => panic!("waited for an edge that never comes"),
            Next::UrlDone => panic!("passed on half a head"),
        }
    }

    /// A whole answer and the FIN: the status is read, the check is done.
    #[test]
    fn a_whole_answer_then_close_is_done() {
        let mut probe = probe_with_queued(b"HTTP/1.0 200 OK\r\n\r\nbody");
        assert!(matches!(read_response(&mut probe, true), Next::UrlDone));
        assert!(matches!(probe.phase, Phase::Drain { status: 200, .. }));
    }
}
