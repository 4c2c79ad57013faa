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

use std::io;
use std::time::{Duration, Instant};

use netlink_packet_core::{
    DecodeError, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer,
    NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NlasIterator,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};
use serde::Serialize;

use super::message::{IPVS_GENL_NAME, IpvsCmd, IpvsMessage};
use super::reconcile::{Op, Reconciler};
use super::types::{DestEntry, Info, ServiceEntry, ServiceKey, SyncDaemon, Table, Timeouts};

/// `NLM_F_CAPPED` in an error: the request was not echoed back.
const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` in an error: extended-ack attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: the kernel's error text.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// `CTRL_ATTR_FAMILY_ID` in the controller's reply.
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// Receive buffer: the kernel caps one dump datagram at 32 KiB.
const RECV_BUF: usize = 64 * 1024;
/// Bytes packed into one `sendmsg` at most.
const SEND_BUF: usize = 64 * 1024;

/// What can go wrong talking to IPVS.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    #[error(
        "the kernel has no IPVS (generic netlink family \"IPVS\" not found): load the ip_vs module (modprobe ip_vs)"
    )]
    NoIpvs,
    #[error("IPVS netlink socket: {0}")]
    Socket(#[source] io::Error),
    #[error("IPVS: no answer from the kernel within {0:?}")]
    Timeout(Duration),
    #[error(
        "IPVS: the kernel dropped replies (receive buffer overrun); the table may be partly changed: dump and reconcile again"
    )]
    Overrun,
    #[error("IPVS {cmd}: {}", kernel_text(*.errno, .message.as_deref()))]
    Kernel {
        cmd: &'static str,
        /// The positive errno.
        errno: i32,
        /// The kernel's extended-ack text, when it gave one.
        message: Option<String>,
    },
    #[error("IPVS: malformed reply from the kernel: {0}")]
    Decode(String),
}

impl IpvsError {
    /// The errno of a kernel refusal.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

impl From<DecodeError> for IpvsError {
    fn from(e: DecodeError) -> Self {
        IpvsError::Decode(e.to_string())
    }
}

/// The errno text, the kernel's own message, and a hint for the refusals
/// people meet.
fn kernel_text(errno: i32, message: Option<&str>) -> String {
    let mut s = io::Error::from_raw_os_error(errno).to_string();
    if let Some(m) = message {
        s.push_str(": ");
        s.push_str(m);
    }
    let hint = match errno {
        libc::EPERM => Some("changing IPVS needs CAP_NET_ADMIN (run as root)"),
        libc::ESRCH => Some("no such virtual service"),
        libc::EEXIST => Some("it exists already"),
        libc::ENOENT => Some("no such destination, or scheduler/persistence module not found"),
        libc::EINVAL => Some(
            "invalid request: destination address not unicast or not routable, or an option the kernel refuses",
        ),
        libc::ERANGE => Some("weight negative or lower threshold above upper threshold"),
        libc::EAFNOSUPPORT => Some("the kernel's IPVS lacks this address family"),
        _ => None,
    };
    if let Some(h) = hint {
        s.push_str(" (");
        s.push_str(h);
        s.push(')');
    }
    s
}

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

/// One message of a reply, with what matching needs.
enum Reply {
    Msg(IpvsMessage),
    /// ACK (code 0) or NACK (negative errno) for a request.
    Ack {
        code: i32,
        message: Option<String>,
    },
    Done {
        code: i32,
    },
    Other,
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

fn not_connected() -> IpvsError {
    IpvsError::Socket(io::Error::from(io::ErrorKind::NotConnected))
}

fn open_socket(timeout: Duration) -> Result<Socket, IpvsError> {
    let mut socket = Socket::new(NETLINK_GENERIC).map_err(IpvsError::Socket)?;
    socket.bind_auto().map_err(IpvsError::Socket)?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(IpvsError::Socket)?;
    // Errors carry the request header only, plus the kernel's text.
    socket.set_cap_ack(true).map_err(IpvsError::Socket)?;
    socket.set_ext_ack(true).map_err(IpvsError::Socket)?;
    set_buffers(&socket);
    set_timeout(&socket, libc::SO_RCVTIMEO, timeout)?;
    set_timeout(&socket, libc::SO_SNDTIMEO, timeout)?;
    Ok(socket)
}

/// Room for a full window of acknowledgements; FORCE needs CAP_NET_ADMIN,
/// which changing IPVS needs anyway, and the plain option is the fallback.
fn set_buffers(socket: &Socket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: a valid fd and a pointer to a c_int of the given length.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
    }
}

fn set_timeout(socket: &Socket, opt: libc::c_int, d: Duration) -> Result<(), IpvsError> {
    use std::os::fd::AsRawFd;
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: a valid fd and a pointer to a timeval of the given length.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(IpvsError::Socket(io::Error::last_os_error()));
    }
    Ok(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn send_all(socket: &Socket, buf: &[u8], timeout: Duration) -> Result<(), IpvsError> {
    loop {
        match socket.send(buf, 0) {
            Ok(n) if n == buf.len() => return Ok(()),
            Ok(n) => {
                return Err(IpvsError::Socket(io::Error::other(format!(
                    "short send: {n} of {} bytes",
                    buf.len()
                ))));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(IpvsError::Timeout(timeout)),
            Err(e) => return Err(IpvsError::Socket(e)),
        }
    }
}

fn recv(socket: &Socket, buf: &mut [u8], timeout: Duration) -> Result<usize, IpvsError> {
    loop {
        let mut slice = &mut *buf;
        match socket.recv(&mut slice, libc::MSG_TRUNC) {
            Ok(n) if n > buf.len() => {
                return Err(IpvsError::Decode(format!(
                    "a {n}-byte datagram does not fit the {}-byte buffer",
                    buf.len()
                )));
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(IpvsError::Timeout(timeout)),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Err(IpvsError::Overrun),
            Err(e) => return Err(IpvsError::Socket(e)),
        }
    }
}

/// Split a datagram into netlink messages: `(header, payload)`.
pub(crate) fn frames(buf: &[u8]) -> Result<Vec<(NetlinkHeader, &[u8])>, IpvsError> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let nb = NetlinkBuffer::new_checked(&buf[off..])?;
        let len = nb.length() as usize;
        let mut hdr = NetlinkHeader::default();
        hdr.length = nb.length();
        hdr.message_type = nb.message_type();
        hdr.flags = nb.flags();
        hdr.sequence_number = nb.sequence_number();
        hdr.port_number = nb.port_number();
        let body = buf
            .get(off + 16..off + len)
            .ok_or_else(|| IpvsError::Decode("truncated netlink message".into()))?;
        out.push((hdr, body));
        off += (len + 3) & !3;
    }
    Ok(out)
}

/// An NLMSG_ERROR body: the code and, with extended acks, the kernel's text.
fn parse_error(hdr: &NetlinkHeader, body: &[u8]) -> Result<(i32, Option<String>), IpvsError> {
    let code_bytes: [u8; 4] = body
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| IpvsError::Decode("short NLMSG_ERROR".into()))?;
    let code = i32::from_ne_bytes(code_bytes);
    let mut message = None;
    if hdr.flags & NLM_F_ACK_TLVS != 0 {
        // After the code: the request's header (capped) or the whole request.
        let orig = body.get(4..).unwrap_or_default();
        let skip = if hdr.flags & NLM_F_CAPPED != 0 {
            16
        } else {
            orig.get(..4)
                .map(|l| u32::from_ne_bytes([l[0], l[1], l[2], l[3]]) as usize)
                .unwrap_or(16)
        };
        if let Some(tlvs) = orig.get((skip + 3) & !3..) {
            for nla in NlasIterator::new(tlvs).flatten() {
                if nla.kind() == NLMSGERR_ATTR_MSG {
                    let v = nla.value();
                    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                    message = Some(String::from_utf8_lossy(&v[..end]).into_owned());
                }
            }
        }
    }
    Ok((code, message))
}

fn decode(family_id: u16, hdr: &NetlinkHeader, body: &[u8]) -> Result<Reply, IpvsError> {
    match hdr.message_type {
        NLMSG_ERROR => {
            let (code, message) = parse_error(hdr, body)?;
            Ok(Reply::Ack { code, message })
        }
        NLMSG_DONE => {
            let code = body
                .get(..4)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0);
            Ok(Reply::Done { code })
        }
        t if t == family_id => {
            let genl = GenlMessage::<IpvsMessage>::deserialize(hdr, body)?;
            Ok(Reply::Msg(genl.payload))
        }
        _ => Ok(Reply::Other),
    }
}

/// Decode every IPVS message of a datagram (for tests and tools that
/// captured replies): headers are checked, payloads parsed.
pub fn decode_datagram(family_id: u16, buf: &[u8]) -> Result<Vec<IpvsMessage>, IpvsError> {
    let mut out = Vec::new();
    for (hdr, body) in frames(buf)? {
        if let Reply::Msg(m) = decode(family_id, &hdr, body)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// CTRL_CMD_GETFAMILY for "IPVS" to the generic-netlink controller, as a
/// complete netlink request with sequence `seq` (what the client sends to
/// learn the family id the kernel gave IPVS).
pub fn encode_get_family(seq: u32) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(IPVS_GENL_NAME.to_owned())],
    });
    genl.finalize();
    let mut msg = NetlinkMessage::from(genl);
    msg.header.flags = NLM_F_REQUEST;
    msg.header.sequence_number = seq;
    msg.finalize();
    let mut out = vec![0; msg.buffer_len()];
    msg.serialize(&mut out);
    out
}

/// Serialize `msg` as a complete netlink request, as the client sends it.
pub fn encode_request(family_id: u16, msg: IpvsMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(family_id, msg, flags, seq, &mut out);
    out
}

/// Append `msg` as a netlink request with `flags` and sequence `seq`.
fn encode_into(family_id: u16, msg: IpvsMessage, flags: u16, seq: u32, out: &mut Vec<u8>) {
    let mut genl = GenlMessage::from_payload(msg);
    genl.set_resolved_family_id(family_id);
    genl.finalize();
    let mut nl = NetlinkMessage::from(genl);
    nl.header.flags = flags;
    nl.header.sequence_number = seq;
    nl.finalize();
    let start = out.len();
    out.resize(start + nl.buffer_len(), 0);
    nl.serialize(&mut out[start..]);
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

    /// The value of a `struct timeval` socket option.
    fn timeval_opt(socket: &Socket, opt: libc::c_int) -> Duration {
        use std::os::fd::AsRawFd;
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let mut len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        // SAFETY: a valid fd, a timeval and its length.
        let r = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&mut tv as *mut libc::timeval).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0, "getsockopt: {}", io::Error::last_os_error());
        Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
    }

    #[test]
    fn the_socket_gives_up_sending_and_receiving_after_the_timeout() {
        // A blocking send to a kernel that stops reading (its receive
        // queue full) would otherwise wait for ever.
        for timeout in [Duration::from_millis(1500), Duration::from_secs(5)] {
            let socket = open_socket(timeout).expect("a generic netlink socket");
            assert_eq!(timeval_opt(&socket, libc::SO_SNDTIMEO), timeout);
            assert_eq!(timeval_opt(&socket, libc::SO_RCVTIMEO), timeout);
        }
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

    #[test]
    fn kernel_refusals_read_like_the_errno_with_a_hint() {
        let e = IpvsError::Kernel {
            cmd: "NEW_DEST",
            errno: libc::ERANGE,
            message: None,
        };
        assert_eq!(
            e.to_string(),
            "IPVS NEW_DEST: Numerical result out of range (os error 34) \
             (weight negative or lower threshold above upper threshold)"
        );
        let e = IpvsError::Kernel {
            cmd: "NEW_SERVICE",
            errno: libc::EPERM,
            message: Some("denied".into()),
        };
        assert!(
            e.to_string()
                .contains(": denied (changing IPVS needs CAP_NET_ADMIN")
        );
    }

    #[test]
    fn error_acks_with_extended_ack_text_are_read() {
        // NLMSG_ERROR, flags CAPPED|ACK_TLVS, code -EINVAL, the request's
        // header, then NLMSGERR_ATTR_MSG "bad thing".
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
        let mut body = (-libc::EINVAL).to_ne_bytes().to_vec();
        body.extend([0u8; 16]);
        body.extend([14, 0, 1, 0]);
        body.extend(b"bad thing\0\0\0");
        let (code, msg) = parse_error(&hdr, &body).unwrap();
        assert_eq!(code, -libc::EINVAL);
        assert_eq!(msg.as_deref(), Some("bad thing"));
        // A plain ack.
        let (code, msg) = parse_error(&NetlinkHeader::default(), &[0; 20]).unwrap();
        assert_eq!((code, msg), (0, None));
        // Too short.
        assert!(parse_error(&NetlinkHeader::default(), &[0; 3]).is_err());
    }
}
