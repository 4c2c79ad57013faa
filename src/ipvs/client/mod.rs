//! The IPVS client: a generic-netlink socket to the kernel's "IPVS" family.
//!
//! Blocking on purpose: every call has a receive and send timeout, so a
//! caller on tokio runs it with `spawn_blocking` (or on a thread of its
//! own) and never waits forever. The socket is opened on first use and
//! dropped after any error that could leave it out of step with the kernel
//! (timeout, lost acknowledgements, a malformed reply); the next call opens
//! a fresh one and resolves the family id again, so a module reload or a
//! stuck socket heals itself.
//!
//! Changes go out in batches: up to [`IpvsClient::window`] requests are
//! packed into one `sendmsg`, each with its own sequence number and
//! `NLM_F_ACK`, then the acknowledgements are read and matched back to the
//! requests by sequence number. The kernel processes the messages of one
//! datagram in order, so the order of the operations is kept. Every
//! request is counted ([`Counters`]), which is what lets a test say "that
//! change took one netlink operation".
//!
//! | file        | what it does                                                 |
//! |-------------|--------------------------------------------------------------|
//! | `mod.rs`    | [`IpvsClient`]: batches, acks, queries, dumps, reconciliation |
//! | `error.rs`  | [`IpvsError`] and how a kernel refusal reads                 |
//! | `frame.rs`  | netlink framing: requests as bytes, replies split and read   |
//! | `socket.rs` | the socket: options, timeouts, send and receive              |
//!
//! Owns the only conversation with the kernel's IPVS; may not decide what
//! the table should be (the reconciler plans, the client sends).

mod error;
mod frame;
mod socket;

use std::time::{Duration, Instant};

use netlink_packet_core::{
    DecodeError, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_ERROR, NlasIterator,
};
use netlink_sys::Socket;
use serde::Serialize;

use super::message::{IpvsCmd, IpvsMessage};
use super::reconcile::{Op, Reconciler};
use super::types::{DestEntry, Info, ServiceEntry, ServiceKey, SyncDaemon, Table, Timeouts};
use frame::{Reply, decode, encode_into, parse_error};
pub use socket::set_namespace;
use socket::{not_connected, open_socket, recv, send_all};

pub use error::IpvsError;
pub(crate) use frame::frames;
pub use frame::{decode_datagram, encode_get_family, encode_request};

/// `CTRL_ATTR_FAMILY_ID` in the controller's reply.
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// Receive buffer: the kernel caps one dump datagram at 32 KiB.
const RECV_BUF: usize = 64 * 1024;
/// Bytes packed into one `sendmsg` at most.
const SEND_BUF: usize = 64 * 1024;

/// How many netlink requests this client sent, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Requests that change the kernel's state (NEW/SET/DEL, FLUSH, ZERO,
    /// SET_CONFIG, daemons).
    pub changes: u64,
    /// Requests that only read (GET, dumps, family resolution).
    pub reads: u64,
    /// `sendmsg` calls (a batch of changes is one).
    pub sends: u64,
    /// Sockets opened: 1, plus one per re-creation after an error.
    pub sockets: u64,
    /// Requests the kernel refused.
    pub refused: u64,
}

/// The result of [`IpvsClient::apply`]: how many operations were sent and
/// which ones the kernel refused.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Operations sent (one netlink request each).
    pub sent: usize,
    /// `(index into the op list, the refusal)`.
    pub failed: Vec<(usize, IpvsError)>,
}

impl ApplyReport {
    pub fn is_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

struct Conn {
    socket: Socket,
    family_id: u16,
}

/// A client of the kernel's IPVS over generic netlink.
pub struct IpvsClient {
    conn: Option<Conn>,
    timeout: Duration,
    window: usize,
    seq: u32,
    counters: Counters,
    buf: Vec<u8>,
}

impl Default for IpvsClient {
    fn default() -> Self {
        Self::new(Duration::from_secs(5))
    }
}

impl IpvsClient {
    /// A client whose every send and receive gives up after `timeout`. No
    /// socket is opened until the first request.
    pub fn new(timeout: Duration) -> Self {
        IpvsClient {
            conn: None,
            timeout,
            window: 128,
            // Start away from zero so a stale reply is not mistaken for one
            // of ours after a re-creation.
            seq: std::process::id().wrapping_mul(2_654_435_761),
            counters: Counters::default(),
            buf: vec![0; RECV_BUF],
        }
    }

    /// Requests packed into one `sendmsg` at most.
    pub fn window(&self) -> usize {
        self.window
    }

    pub fn set_window(&mut self, n: usize) {
        self.window = n.max(1);
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Open the socket and resolve the family now (else on first use):
    /// `Err(NoIpvs)` says the kernel lacks IPVS.
    pub fn connect(&mut self) -> Result<(), IpvsError> {
        self.conn()?;
        Ok(())
    }

    /// The generic-netlink id the kernel gave the "IPVS" family.
    pub fn family_id(&mut self) -> Result<u16, IpvsError> {
        Ok(self.conn()?.family_id)
    }

    fn conn(&mut self) -> Result<&Conn, IpvsError> {
        if self.conn.is_none() {
            let socket = open_socket(self.timeout)?;
            self.counters.sockets += 1;
            let family_id = self.resolve(&socket)?;
            self.conn = Some(Conn { socket, family_id });
        }
        match &self.conn {
            Some(c) => Ok(c),
            None => Err(IpvsError::NoIpvs),
        }
    }

    /// Drop the socket so that the next request starts clean.
    fn reset(&mut self) {
        self.conn = None;
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// CTRL_CMD_GETFAMILY "IPVS" on the controller.
    fn resolve(&mut self, socket: &Socket) -> Result<u16, IpvsError> {
        let seq = self.next_seq();
        let out = encode_get_family(seq);
        self.counters.reads += 1;
        self.counters.sends += 1;
        send_all(socket, &out, self.timeout)?;
        loop {
            let n = recv(socket, &mut self.buf, self.timeout)?;
            for (hdr, body) in frames(&self.buf[..n])? {
                if hdr.sequence_number != seq {
                    continue;
                }
                if hdr.message_type == NLMSG_ERROR {
                    let (code, message) = parse_error(&hdr, body)?;
                    if code == -libc::ENOENT {
                        return Err(IpvsError::NoIpvs);
                    }
                    return Err(IpvsError::Kernel {
                        cmd: "CTRL_CMD_GETFAMILY",
                        errno: -code,
                        message,
                    });
                }
                // Skip the 4-byte genl header, then look for the id.
                let attrs = body.get(4..).unwrap_or_default();
                for nla in NlasIterator::new(attrs) {
                    let nla = nla?;
                    if nla.kind() == CTRL_ATTR_FAMILY_ID {
                        let v = nla.value();
                        if v.len() == 2 {
                            return Ok(u16::from_ne_bytes([v[0], v[1]]));
                        }
                    }
                }
                return Err(IpvsError::Decode(
                    "controller reply without a family id".into(),
                ));
            }
        }
    }

    fn sock_send(&mut self, out: &[u8]) -> Result<(), IpvsError> {
        let conn = self.conn.as_ref().ok_or_else(not_connected)?;
        self.counters.sends += 1;
        send_all(&conn.socket, out, self.timeout)
    }

    fn sock_recv(&mut self) -> Result<usize, IpvsError> {
        let conn = self.conn.as_ref().ok_or_else(not_connected)?;
        recv(&conn.socket, &mut self.buf, self.timeout)
    }

    /// Run `f`, and drop the socket if it failed in a way that can leave
    /// unread or unsent data behind (anything but a clean kernel refusal).
    fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, IpvsError>,
    ) -> Result<T, IpvsError> {
        let r = f(self);
        if let Err(e) = &r {
            match e {
                IpvsError::Kernel { errno, .. } => {
                    self.counters.refused += 1;
                    self.check_family_after(*errno);
                }
                _ => self.reset(),
            }
        }
        r
    }

    /// A request to a family id the kernel no longer has is answered with
    /// ENOENT (or EOPNOTSUPP): after `ip_vs` was unloaded and loaded again,
    /// "IPVS" has a new id. IPVS itself also answers ENOENT (no such
    /// destination), so on such an answer ask the controller again, and
    /// start over on a new socket if the id changed or is gone.
    fn check_family_after(&mut self, errno: i32) {
        if errno != libc::ENOENT && errno != libc::EOPNOTSUPP {
            return;
        }
        let Some(old) = self.conn.as_ref().map(|c| c.family_id) else {
            return;
        };
        let fresh = match open_socket(self.timeout) {
            Ok(socket) => self.resolve(&socket),
            Err(e) => Err(e),
        };
        if !matches!(fresh, Ok(id) if id == old) {
            tracing::info!(
                old_id = old,
                "IPVS generic netlink family changed; reconnecting"
            );
            self.reset();
        }
    }

    /// Send `msgs` (changes) in batches and return, per message, the
    /// kernel's verdict. Transport failures end the whole call.
    pub fn execute(
        &mut self,
        msgs: Vec<IpvsMessage>,
    ) -> Result<Vec<Result<(), IpvsError>>, IpvsError> {
        let mut results = Vec::with_capacity(msgs.len());
        self.execute_each(msgs.into_iter(), |_, r| results.push(r))?;
        Ok(results)
    }

    /// Send `msgs` in batches, giving each verdict to `verdict` with the
    /// message's index, in order. The messages are taken from the iterator
    /// one window at a time: at 10,000 destinations, building them all
    /// first held megabytes of attribute lists that only their encoding
    /// (one [`SEND_BUF`] at a time) needs.
    fn execute_each(
        &mut self,
        msgs: impl Iterator<Item = IpvsMessage>,
        mut verdict: impl FnMut(usize, Result<(), IpvsError>),
    ) -> Result<(), IpvsError> {
        let mut family_errno = None;
        self.guarded(|c| {
            c.execute_inner(msgs, |i, r| {
                if let Some(e) = r.as_ref().err().and_then(IpvsError::errno)
                    && (e == libc::ENOENT || e == libc::EOPNOTSUPP)
                {
                    family_errno.get_or_insert(e);
                }
                verdict(i, r);
            })
        })?;
        if let Some(errno) = family_errno {
            self.check_family_after(errno);
        }
        Ok(())
    }

    fn execute_inner(
        &mut self,
        msgs: impl Iterator<Item = IpvsMessage>,
        mut verdict: impl FnMut(usize, Result<(), IpvsError>),
    ) -> Result<(), IpvsError> {
        let family_id = self.conn()?.family_id;
        // The verdicts and commands of the window in flight only.
        let mut results: Vec<Option<Result<(), IpvsError>>> = Vec::new();
        let mut cmds = Vec::new();
        let mut out = Vec::with_capacity(SEND_BUF);
        let mut base = 0;
        let mut iter = msgs.peekable();
        while iter.peek().is_some() {
            out.clear();
            results.clear();
            cmds.clear();
            let first_seq = self.seq.wrapping_add(1);
            let mut n = 0;
            while n < self.window && out.len() < SEND_BUF {
                let Some(msg) = iter.next() else { break };
                cmds.push(msg.cmd);
                let seq = self.next_seq();
                encode_into(family_id, msg, NLM_F_REQUEST | NLM_F_ACK, seq, &mut out);
                results.push(None);
                n += 1;
            }
            self.counters.changes += n as u64;
            self.sock_send(&out)?;
            let mut pending = n;
            while pending > 0 {
                let len = self.sock_recv()?;
                for (hdr, body) in frames(&self.buf[..len])? {
                    let idx = hdr.sequence_number.wrapping_sub(first_seq) as usize;
                    if idx >= n || hdr.message_type != NLMSG_ERROR {
                        // A late reply to an earlier request: not ours.
                        continue;
                    }
                    let (code, message) = parse_error(&hdr, body)?;
                    let slot = &mut results[idx];
                    if slot.is_none() {
                        pending -= 1;
                    }
                    *slot = Some(if code == 0 {
                        Ok(())
                    } else {
                        self.counters.refused += 1;
                        Err(IpvsError::Kernel {
                            cmd: cmds[idx].name(),
                            errno: -code,
                            message,
                        })
                    });
                }
            }
            for (i, r) in results.drain(..).enumerate() {
                verdict(
                    base + i,
                    r.unwrap_or(Err(IpvsError::Decode("no acknowledgement".into()))),
                );
            }
            base += n;
        }
        Ok(())
    }

    /// Send one change and wait for its acknowledgement.
    pub fn change(&mut self, msg: IpvsMessage) -> Result<(), IpvsError> {
        let mut r = self.execute(vec![msg])?;
        r.pop()
            .unwrap_or(Err(IpvsError::Decode("no acknowledgement".into())))
    }

    /// One request whose answer is a single message (GET_SERVICE for one
    /// service, GET_INFO, GET_CONFIG), acknowledged after the answer.
    fn query(&mut self, msg: IpvsMessage) -> Result<IpvsMessage, IpvsError> {
        self.guarded(|c| c.query_inner(msg))
    }

    fn query_inner(&mut self, msg: IpvsMessage) -> Result<IpvsMessage, IpvsError> {
        let cmd = msg.cmd;
        let family_id = self.conn()?.family_id;
        let seq = self.next_seq();
        let mut out = Vec::new();
        encode_into(family_id, msg, NLM_F_REQUEST | NLM_F_ACK, seq, &mut out);
        self.counters.reads += 1;
        self.sock_send(&out)?;
        let mut answer = None;
        loop {
            let len = self.sock_recv()?;
            for (hdr, body) in frames(&self.buf[..len])? {
                if hdr.sequence_number != seq {
                    continue;
                }
                match decode(family_id, &hdr, body)? {
                    Reply::Msg(m) => answer = Some(m),
                    Reply::Ack { code: 0, .. } => {
                        return answer.ok_or_else(|| {
                            IpvsError::Decode(format!(
                                "{} acknowledged without an answer",
                                cmd.name()
                            ))
                        });
                    }
                    Reply::Ack { code, message } => {
                        return Err(IpvsError::Kernel {
                            cmd: cmd.name(),
                            errno: -code,
                            message,
                        });
                    }
                    Reply::Done { .. } | Reply::Other => {}
                }
            }
        }
    }

    /// A dump request: every message up to NLMSG_DONE, each given to
    /// `each` as it is decoded (a dump of 10,000 destinations is never
    /// held as messages, only as what `each` keeps of them).
    fn dump_request(
        &mut self,
        msg: IpvsMessage,
        each: impl FnMut(IpvsMessage),
    ) -> Result<(), IpvsError> {
        self.guarded(|c| c.dump_inner(msg, each))
    }

    fn dump_inner(
        &mut self,
        msg: IpvsMessage,
        mut each: impl FnMut(IpvsMessage),
    ) -> Result<(), IpvsError> {
        let cmd = msg.cmd;
        let family_id = self.conn()?.family_id;
        let seq = self.next_seq();
        let mut out = Vec::new();
        encode_into(family_id, msg, NLM_F_REQUEST | NLM_F_DUMP, seq, &mut out);
        self.counters.reads += 1;
        self.sock_send(&out)?;
        loop {
            let len = self.sock_recv()?;
            for (hdr, body) in frames(&self.buf[..len])? {
                if hdr.sequence_number != seq {
                    continue;
                }
                match decode(family_id, &hdr, body)? {
                    Reply::Msg(m) => each(m),
                    Reply::Done { code } if code < 0 => {
                        return Err(IpvsError::Kernel {
                            cmd: cmd.name(),
                            errno: -code,
                            message: None,
                        });
                    }
                    Reply::Done { .. } => return Ok(()),
                    Reply::Ack { code, message } => {
                        return Err(IpvsError::Kernel {
                            cmd: cmd.name(),
                            errno: -code.min(-1),
                            message,
                        });
                    }
                    Reply::Other => {}
                }
            }
        }
    }

    /// A dump of `cmd` messages, each converted by `convert`; the first
    /// conversion error is returned once the dump is read to its end (so
    /// the socket stays in step).
    fn dump_converted<T>(
        &mut self,
        msg: IpvsMessage,
        cmd: IpvsCmd,
        mut convert: impl FnMut(&IpvsMessage) -> Result<T, DecodeError>,
        mut keep: impl FnMut(T),
    ) -> Result<(), IpvsError> {
        let mut bad = None;
        self.dump_request(msg, |m| {
            if m.cmd != cmd || bad.is_some() {
                return;
            }
            match convert(&m) {
                Ok(v) => keep(v),
                Err(e) => bad = Some(e),
            }
        })?;
        match bad {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    // -- The IPVS operations -------------------------------------------------

    /// IPVS_CMD_GET_INFO.
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        Ok(self.query(IpvsMessage::get_info())?.to_info()?)
    }

    /// IPVS_CMD_GET_CONFIG: the tcp, tcpfin and udp timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        Ok(self.query(IpvsMessage::get_config())?.to_timeouts())
    }

    /// IPVS_CMD_SET_CONFIG: change the timeouts given (0 keeps a value).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        self.change(IpvsMessage::set_config(t))
    }

    /// IPVS_CMD_GET_SERVICE for one service; `None` if the kernel has none.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Option<ServiceEntry>, IpvsError> {
        match self.query(IpvsMessage::get_service(Some(key))) {
            Ok(m) => Ok(Some(m.to_service()?)),
            Err(e) if e.errno() == Some(libc::ESRCH) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// IPVS_CMD_GET_SERVICE dump: every service, without destinations.
    pub fn services(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        let mut out = Vec::new();
        self.dump_converted(
            IpvsMessage::get_service(None),
            IpvsCmd::NewService,
            IpvsMessage::to_service,
            |s| out.push(s),
        )?;
        Ok(out)
    }

    /// IPVS_CMD_GET_DEST dump: the destinations of one service.
    pub fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestEntry>, IpvsError> {
        let mut out = Vec::new();
        self.each_destination(key, |d| out.push(d))?;
        Ok(out)
    }

    fn each_destination(
        &mut self,
        key: &ServiceKey,
        keep: impl FnMut(DestEntry),
    ) -> Result<(), IpvsError> {
        let family = key.family();
        self.dump_converted(
            IpvsMessage::get_dest(key),
            IpvsCmd::NewDest,
            |m| m.to_dest(family),
            keep,
        )
    }

    /// Every service with its destinations. A service that vanishes
    /// between the two dumps is left out.
    pub fn dump(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        let mut services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for mut s in services.drain(..) {
            match self.destinations(&s.service.key) {
                Ok(d) => {
                    s.destinations = d;
                    out.push(s);
                }
                Err(e) if e.errno() == Some(libc::ESRCH) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The kernel's table, for the reconciler: [`Self::dump`] without the
    /// counters, built as the destinations arrive (no list of dump entries
    /// beside the table).
    pub fn table(&mut self) -> Result<Table, IpvsError> {
        let mut table = Table::new();
        for s in self.services()? {
            let key = s.service.key;
            let mut destinations = std::collections::BTreeMap::new();
            match self.each_destination(&key, |d| {
                destinations.insert(d.dest.key(), d.dest);
            }) {
                Ok(()) => {
                    table.services.insert(
                        key,
                        super::types::VirtualService {
                            service: s.service,
                            destinations,
                        },
                    );
                }
                Err(e) if e.errno() == Some(libc::ESRCH) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(table)
    }

    /// IPVS_CMD_NEW_DAEMON: start a connection sync daemon.
    pub fn new_daemon(&mut self, d: &SyncDaemon) -> Result<(), IpvsError> {
        self.change(IpvsMessage::new_daemon(d))
    }

    /// IPVS_CMD_DEL_DAEMON: stop the master or backup sync daemon.
    pub fn del_daemon(&mut self, state: super::types::DaemonState) -> Result<(), IpvsError> {
        self.change(IpvsMessage::del_daemon(state))
    }

    /// IPVS_CMD_GET_DAEMON dump: the running sync daemons.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let mut out = Vec::new();
        self.dump_converted(
            IpvsMessage::get_daemon(),
            IpvsCmd::NewDaemon,
            IpvsMessage::to_daemon,
            |d| out.push(d),
        )?;
        Ok(out)
    }

    /// IPVS_CMD_FLUSH: remove every service and destination.
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        self.change(IpvsMessage::flush())
    }

    /// IPVS_CMD_ZERO: reset the counters of one service, or of all.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), IpvsError> {
        self.change(IpvsMessage::zero(key))
    }

    /// Send `ops` (see [`Self::execute`]); refusals are reported per op.
    pub fn apply(&mut self, ops: &[Op]) -> Result<ApplyReport, IpvsError> {
        let mut report = ApplyReport {
            sent: ops.len(),
            failed: Vec::new(),
        };
        // Each message is built when its window is encoded, not before.
        self.execute_each(ops.iter().map(Op::message), |i, r| {
            if let Err(e) = r {
                report.failed.push((i, e));
            }
        })?;
        Ok(report)
    }

    /// One reconciliation: plan with `reconciler` (from its belief of the
    /// kernel's table when it has one, else from a dump), apply, and tell
    /// the reconciler how it went. Returns the operations planned and the
    /// report of sending them.
    pub fn reconcile(
        &mut self,
        reconciler: &mut Reconciler,
        desired: &Table,
    ) -> Result<(Vec<Op>, ApplyReport), IpvsError> {
        self.reconcile_with(reconciler, desired, |r, ok, now| {
            r.applied(desired, ok, now)
        })
    }

    /// [`Self::reconcile`] of a shared table: the reconciler's belief
    /// keeps a reference to `desired`, not a copy (the daemon's tables are
    /// shared this way).
    pub fn reconcile_shared(
        &mut self,
        reconciler: &mut Reconciler,
        desired: &std::sync::Arc<Table>,
    ) -> Result<(Vec<Op>, ApplyReport), IpvsError> {
        self.reconcile_with(reconciler, desired, |r, ok, now| {
            r.applied_shared(desired, ok, now)
        })
    }

    fn reconcile_with(
        &mut self,
        reconciler: &mut Reconciler,
        desired: &Table,
        applied: impl FnOnce(&mut Reconciler, bool, Instant),
    ) -> Result<(Vec<Op>, ApplyReport), IpvsError> {
        let ops = match reconciler.plan_from_belief(desired, Instant::now()) {
            Some(ops) => ops,
            None => {
                let current = self.table()?;
                reconciler.plan(desired, &current)
            }
        };
        match self.apply(&ops) {
            Ok(report) => {
                applied(reconciler, report.is_ok(), Instant::now());
                Ok((ops, report))
            }
            Err(e) => {
                reconciler.forget();
                Err(e)
            }
        }
    }

    /// tandem's exit: dump, and remove what `policy` says (see
    /// [`super::reconcile::teardown`]; `lvs_flush_on_stop` maps to it with
    /// [`super::from_config::stop_policy`]).
    pub fn teardown(
        &mut self,
        reconciler: &mut Reconciler,
        policy: super::reconcile::StopPolicy,
    ) -> Result<(Vec<Op>, ApplyReport), IpvsError> {
        reconciler.forget();
        let ops = match policy {
            // Nothing to look at, nothing to send.
            super::reconcile::StopPolicy::Leave => Vec::new(),
            super::reconcile::StopPolicy::Flush => vec![Op::Flush],
            super::reconcile::StopPolicy::RemoveOwned => {
                reconciler.teardown(&self.table()?, policy)
            }
        };
        let report = self.apply(&ops)?;
        Ok((ops, report))
    }

    /// [`Self::reconcile`] from a fresh dump, whatever the reconciler
    /// believes: after a reload, or now and then to repair changes made
    /// behind tandem's back.
    pub fn resync(
        &mut self,
        reconciler: &mut Reconciler,
        desired: &Table,
    ) -> Result<(Vec<Op>, ApplyReport), IpvsError> {
        reconciler.forget();
        self.reconcile(reconciler, desired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A client connected to a family that is not IPVS: the generic-netlink
    /// controller (id 0x10), which every kernel has, so these tests run on
    /// a kernel without IPVS too.
    fn client_on_nlctrl(timeout: Duration) -> IpvsClient {
        let mut c = IpvsClient::new(timeout);
        let socket = open_socket(timeout).expect("a generic netlink socket");
        c.counters.sockets += 1;
        c.conn = Some(Conn {
            socket,
            family_id: netlink_packet_generic::constants::GENL_ID_CTRL,
        });
        c
    }

    #[test]
    fn a_receive_gives_up_after_the_timeout_and_the_next_request_opens_a_new_socket() {
        let mut c = client_on_nlctrl(Duration::from_millis(150));
        let started = Instant::now();
        // Nothing was sent, so nothing will come.
        let r = c.guarded(|c| c.sock_recv().map(|_| ()));
        let waited = started.elapsed();
        assert!(
            matches!(r, Err(IpvsError::Timeout(d)) if d == Duration::from_millis(150)),
            "{r:?}"
        );
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert!(c.conn.is_none(), "the socket is kept after a timeout");
        assert_eq!(c.counters().sockets, 1);

        // The next request starts on a new socket: it opens one and asks
        // the controller for "IPVS" on it. (On a kernel without IPVS the
        // family does not resolve: the new socket was opened all the same.)
        let reads = c.counters().reads;
        let r = c.info();
        assert!(r.is_ok() || matches!(r, Err(IpvsError::NoIpvs)), "{r:?}");
        assert_eq!(c.counters().sockets, 2, "no new socket after the timeout");
        assert!(
            c.counters().reads > reads,
            "the family was not resolved again"
        );
    }

    #[test]
    fn a_request_the_family_does_not_know_makes_the_client_look_again() {
        // The controller does not know IPVS command 15: it answers with an
        // error, as a stale family id after a module reload would. The
        // client then resolves "IPVS" again: a different id (or none, on
        // this kernel) means the socket is dropped.
        let mut c = client_on_nlctrl(Duration::from_secs(2));
        let r = c.query(IpvsMessage::get_info());
        let errno = r.as_ref().err().and_then(IpvsError::errno);
        assert!(
            matches!(errno, Some(libc::EOPNOTSUPP) | Some(libc::ENOENT)),
            "{r:?}"
        );
        assert!(c.conn.is_none(), "still on the wrong family");
        assert_eq!(c.counters().refused, 1);
    }
}
