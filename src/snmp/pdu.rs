//! The AgentX wire format (RFC 2741 §5 and §6): the 20-byte header, object
//! identifiers, search ranges, varbinds, and the PDUs a subagent sends
//! (Open, Close, Register, Notify, Response) or receives (Get, GetNext,
//! GetBulk, the Set phases, Close, Response).
//!
//! Owns encoding and decoding only: no sockets, no session logic. A
//! malformed PDU is a [`PduError`], never a panic; every length is checked
//! against the bytes there before it is read. tandem always sends with
//! NETWORK_BYTE_ORDER set (big-endian); it reads either byte order, as a
//! master may send little-endian (RFC 2741 §5.1).

use std::fmt;
use std::net::Ipv4Addr;

/// h.version (RFC 2741 §6.1).
pub const AGENTX_VERSION: u8 = 1;
/// The fixed header length.
pub const HEADER_LEN: usize = 20;
/// The largest payload tandem accepts: far above any real request, low
/// enough that a forged length cannot make the reader buffer gigabytes.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// h.flags bits (RFC 2741 §6.1).
pub const FLAG_INSTANCE_REGISTRATION: u8 = 0x01;
pub const FLAG_NON_DEFAULT_CONTEXT: u8 = 0x08;
pub const FLAG_NETWORK_BYTE_ORDER: u8 = 0x10;

/// h.type values (RFC 2741 §6.1).
pub mod pdu_type {
    pub const OPEN: u8 = 1;
    pub const CLOSE: u8 = 2;
    pub const REGISTER: u8 = 3;
    pub const UNREGISTER: u8 = 4;
    pub const GET: u8 = 5;
    pub const GET_NEXT: u8 = 6;
    pub const GET_BULK: u8 = 7;
    pub const TEST_SET: u8 = 8;
    pub const COMMIT_SET: u8 = 9;
    pub const UNDO_SET: u8 = 10;
    pub const CLEANUP_SET: u8 = 11;
    pub const NOTIFY: u8 = 12;
    pub const PING: u8 = 13;
    pub const RESPONSE: u8 = 18;
}

/// res.error values: the AgentX ones (RFC 2741 §6.2.16) and the SNMP ones
/// a subagent answers a Set with.
pub mod res_error {
    pub const NO_ERROR: u16 = 0;
    pub const GEN_ERR: u16 = 5;
    pub const NOT_WRITABLE: u16 = 17;
    pub const OPEN_FAILED: u16 = 256;
    pub const NOT_OPEN: u16 = 257;
    pub const DUPLICATE_REGISTRATION: u16 = 263;
    pub const PARSE_ERROR: u16 = 266;
    pub const PROCESSING_ERROR: u16 = 268;
}

/// Close reasons (RFC 2741 §6.2.2).
pub mod close_reason {
    pub const OTHER: u8 = 1;
    pub const PARSE_ERROR: u8 = 2;
    pub const PROTOCOL_ERROR: u8 = 3;
    pub const SHUTDOWN: u8 = 5;
}

/// Why a PDU could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("truncated: {0}")]
    Truncated(&'static str),
    #[error("unsupported AgentX version {0}")]
    Version(u8),
    #[error("unknown PDU type {0}")]
    UnknownType(u8),
    #[error("payload length {0} too large")]
    TooLarge(usize),
    #[error("unknown varbind type {0}")]
    UnknownValueType(u16),
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// An object identifier, as its sub-identifiers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    pub fn new(subids: &[u32]) -> Self {
        Oid(subids.to_vec())
    }

    /// This OID followed by `more`.
    pub fn child(&self, more: &[u32]) -> Oid {
        let mut v = self.0.clone();
        v.extend_from_slice(more);
        Oid(v)
    }

    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The null OID (n_subid 0) ends an open search range.
    pub fn is_null(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.0 {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

/// A varbind's value (RFC 2741 §5.4); the type numbers are SNMP's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Integer(i32),
    OctetString(Vec<u8>),
    Null,
    ObjectIdentifier(Oid),
    IpAddress(Ipv4Addr),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value {
    /// A DisplayString.
    pub fn text(s: &str) -> Value {
        Value::OctetString(s.as_bytes().to_vec())
    }

    fn type_code(&self) -> u16 {
        match self {
            Value::Integer(_) => 2,
            Value::OctetString(_) => 4,
            Value::Null => 5,
            Value::ObjectIdentifier(_) => 6,
            Value::IpAddress(_) => 64,
            Value::Counter32(_) => 65,
            Value::Gauge32(_) => 66,
            Value::TimeTicks(_) => 67,
            Value::Opaque(_) => 68,
            Value::Counter64(_) => 70,
            Value::NoSuchObject => 128,
            Value::NoSuchInstance => 129,
            Value::EndOfMibView => 130,
        }
    }
}

/// One name and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarBind {
    pub name: Oid,
    pub value: Value,
}

/// A search range (RFC 2741 §5.2): from `start` (itself included when
/// `include`) up to, not including, `end` (no bound when null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRange {
    pub start: Oid,
    pub include: bool,
    pub end: Oid,
}

/// The header fields that identify a PDU (RFC 2741 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub flags: u8,
    pub session_id: u32,
    pub transaction_id: u32,
    pub packet_id: u32,
}

/// The PDUs tandem reads or writes. Requests tandem never handles are
/// still decoded (as [`Body::Other`]) so the session can refuse them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Open {
        timeout: u8,
        id: Oid,
        descr: Vec<u8>,
    },
    Close {
        reason: u8,
    },
    Register {
        timeout: u8,
        priority: u8,
        subtree: Oid,
    },
    Get(Vec<SearchRange>),
    GetNext(Vec<SearchRange>),
    GetBulk {
        non_repeaters: u16,
        max_repetitions: u16,
        ranges: Vec<SearchRange>,
    },
    Notify(Vec<VarBind>),
    Ping,
    Response {
        sys_uptime: u32,
        error: u16,
        index: u16,
        varbinds: Vec<VarBind>,
    },
    /// Any other type (the Set phases, Unregister, index allocation...):
    /// its type number; the payload is not read.
    Other(u8),
}

/// A whole PDU: header, the context when NON_DEFAULT_CONTEXT was set, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub header: Header,
    pub context: Option<Vec<u8>>,
    pub body: Body,
}

impl Body {
    fn type_code(&self) -> u8 {
        use pdu_type::*;
        match self {
            Body::Open { .. } => OPEN,
            Body::Close { .. } => CLOSE,
            Body::Register { .. } => REGISTER,
            Body::Get(_) => GET,
            Body::GetNext(_) => GET_NEXT,
            Body::GetBulk { .. } => GET_BULK,
            Body::Notify(_) => NOTIFY,
            Body::Ping => PING,
            Body::Response { .. } => RESPONSE,
            Body::Other(t) => *t,
        }
    }

    /// Whether the context field may precede this body (RFC 2741 §6.1.1).
    fn has_context(t: u8) -> bool {
        !matches!(t, pdu_type::OPEN | pdu_type::CLOSE | pdu_type::RESPONSE)
    }
}

/// How long the PDU at the start of `buf` is, once its header is there:
/// `Ok(None)` while fewer than 20 bytes have arrived. The stream reader
/// uses it to cut PDUs out of the byte stream.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, PduError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[0] != AGENTX_VERSION {
        return Err(PduError::Version(buf[0]));
    }
    let big = buf[2] & FLAG_NETWORK_BYTE_ORDER != 0;
    let len = Reader { buf, pos: 16, big }.u32()? as usize;
    if len > MAX_PAYLOAD {
        return Err(PduError::TooLarge(len));
    }
    if len % 4 != 0 {
        return Err(PduError::Malformed("payload length not a multiple of 4"));
    }
    Ok(Some(HEADER_LEN + len))
}

impl Pdu {
    /// Read one PDU that fills `buf` exactly (cut with [`frame_len`]).
    pub fn decode(buf: &[u8]) -> Result<Pdu, PduError> {
        let total = frame_len(buf)?.ok_or(PduError::Truncated("header"))?;
        if buf.len() < total {
            return Err(PduError::Truncated("payload"));
        }
        let flags = buf[2];
        let kind = buf[1];
        let big = flags & FLAG_NETWORK_BYTE_ORDER != 0;
        let mut h = Reader { buf, pos: 4, big };
        // The byte order and the context are the codec's business (the
        // context is `Pdu::context`): the header keeps the other flags.
        let header = Header {
            flags: flags & !(FLAG_NETWORK_BYTE_ORDER | FLAG_NON_DEFAULT_CONTEXT),
            session_id: h.u32()?,
            transaction_id: h.u32()?,
            packet_id: h.u32()?,
        };
        let mut r = Reader {
            buf: &buf[HEADER_LEN..total],
            pos: 0,
            big,
        };
        let context = if flags & FLAG_NON_DEFAULT_CONTEXT != 0 && Body::has_context(kind) {
            Some(r.octets()?)
        } else {
            None
        };
        let body = decode_body(kind, &mut r)?;
        Ok(Pdu {
            header,
            context,
            body,
        })
    }

    /// Write the PDU, big-endian, NETWORK_BYTE_ORDER set.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(64));
        let mut flags = (self.header.flags | FLAG_NETWORK_BYTE_ORDER) & !FLAG_NON_DEFAULT_CONTEXT;
        let kind = self.body.type_code();
        if self.context.is_some() && Body::has_context(kind) {
            flags |= FLAG_NON_DEFAULT_CONTEXT;
        }
        w.0.extend_from_slice(&[AGENTX_VERSION, kind, flags, 0]);
        w.u32(self.header.session_id);
        w.u32(self.header.transaction_id);
        w.u32(self.header.packet_id);
        w.u32(0); // payload_length, filled in below
        if let (Some(c), true) = (&self.context, Body::has_context(kind)) {
            w.octets(c);
        }
        encode_body(&self.body, &mut w);
        let len = (w.0.len() - HEADER_LEN) as u32;
        w.0[16..20].copy_from_slice(&len.to_be_bytes());
        w.0
    }
}

fn decode_body(kind: u8, r: &mut Reader<'_>) -> Result<Body, PduError> {
    use pdu_type::*;
    Ok(match kind {
        OPEN => {
            let timeout = r.u8()?;
            r.skip(3)?;
            let id = r.oid()?.0;
            let descr = r.octets()?;
            Body::Open { timeout, id, descr }
        }
        CLOSE => {
            let reason = r.u8()?;
            r.skip(3)?;
            Body::Close { reason }
        }
        REGISTER => {
            let timeout = r.u8()?;
            let priority = r.u8()?;
            let range_subid = r.u8()?;
            r.skip(1)?;
            let subtree = r.oid()?.0;
            if range_subid != 0 {
                r.u32()?; // r.upper_bound
            }
            Body::Register {
                timeout,
                priority,
                subtree,
            }
        }
        GET => Body::Get(r.ranges()?),
        GET_NEXT => Body::GetNext(r.ranges()?),
        GET_BULK => {
            let non_repeaters = r.u16()?;
            let max_repetitions = r.u16()?;
            Body::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges: r.ranges()?,
            }
        }
        NOTIFY => Body::Notify(r.varbinds()?),
        PING => Body::Ping,
        RESPONSE => Body::Response {
            sys_uptime: r.u32()?,
            error: r.u16()?,
            index: r.u16()?,
            varbinds: r.varbinds()?,
        },
        UNREGISTER | TEST_SET | COMMIT_SET | UNDO_SET | CLEANUP_SET | 14..=17 => Body::Other(kind),
        _ => return Err(PduError::UnknownType(kind)),
    })
}

fn encode_body(body: &Body, w: &mut Writer) {
    match body {
        Body::Open { timeout, id, descr } => {
            w.0.extend_from_slice(&[*timeout, 0, 0, 0]);
            w.oid(id, false);
            w.octets(descr);
        }
        Body::Close { reason } => w.0.extend_from_slice(&[*reason, 0, 0, 0]),
        Body::Register {
            timeout,
            priority,
            subtree,
        } => {
            w.0.extend_from_slice(&[*timeout, *priority, 0, 0]);
            w.oid(subtree, false);
        }
        Body::Get(ranges) | Body::GetNext(ranges) => w.ranges(ranges),
        Body::GetBulk {
            non_repeaters,
            max_repetitions,
            ranges,
        } => {
            w.u16(*non_repeaters);
            w.u16(*max_repetitions);
            w.ranges(ranges);
        }
        Body::Notify(vbs) => w.varbinds(vbs),
        Body::Ping | Body::Other(_) => {}
        Body::Response {
            sys_uptime,
            error,
            index,
            varbinds,
        } => {
            w.u32(*sys_uptime);
            w.u16(*error);
            w.u16(*index);
            w.varbinds(varbinds);
        }
    }
}

/// The internet prefix an OID's `prefix` byte stands for (RFC 2741 §5.1).
const INTERNET: [u32; 4] = [1, 3, 6, 1];

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], PduError> {
        let end = self.pos.checked_add(n).ok_or(PduError::Truncated(what))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(PduError::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }

    fn skip(&mut self, n: usize) -> Result<(), PduError> {
        self.take(n, "reserved").map(|_| ())
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn u8(&mut self) -> Result<u8, PduError> {
        Ok(self.take(1, "byte")?[0])
    }

    fn u16(&mut self) -> Result<u16, PduError> {
        let b: [u8; 2] = self
            .take(2, "u16")?
            .try_into()
            .map_err(|_| PduError::Truncated("u16"))?;
        Ok(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&mut self) -> Result<u32, PduError> {
        let b: [u8; 4] = self
            .take(4, "u32")?
            .try_into()
            .map_err(|_| PduError::Truncated("u32"))?;
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&mut self) -> Result<u64, PduError> {
        let hi = u64::from(self.u32()?);
        let lo = u64::from(self.u32()?);
        // Counter64 is two 32-bit words, most significant first in
        // network order, least significant first otherwise.
        Ok(if self.big {
            hi << 32 | lo
        } else {
            lo << 32 | hi
        })
    }

    /// An OID and its `include` byte (RFC 2741 §5.1).
    fn oid(&mut self) -> Result<(Oid, bool), PduError> {
        let n = usize::from(self.u8()?);
        let prefix = self.u8()?;
        let include = self.u8()? != 0;
        self.skip(1)?;
        if n > 128 {
            return Err(PduError::Malformed("OID longer than 128 sub-identifiers"));
        }
        let mut v = Vec::with_capacity(n + 5);
        if prefix != 0 {
            v.extend_from_slice(&INTERNET);
            v.push(u32::from(prefix));
        }
        for _ in 0..n {
            v.push(self.u32()?);
        }
        Ok((Oid(v), include))
    }

    /// An octet string: length, bytes, padding to 4 (RFC 2741 §5.3).
    fn octets(&mut self) -> Result<Vec<u8>, PduError> {
        let n = self.u32()? as usize;
        let data = self.take(n, "octet string")?.to_vec();
        let pad = (4 - n % 4) % 4;
        self.skip(pad)?;
        Ok(data)
    }

    fn ranges(&mut self) -> Result<Vec<SearchRange>, PduError> {
        let mut out = Vec::new();
        while !self.at_end() {
            let (start, include) = self.oid()?;
            let (end, _) = self.oid()?;
            out.push(SearchRange {
                start,
                include,
                end,
            });
        }
        Ok(out)
    }

    fn varbinds(&mut self) -> Result<Vec<VarBind>, PduError> {
        let mut out = Vec::new();
        while !self.at_end() {
            let kind = self.u16()?;
            self.skip(2)?;
            let name = self.oid()?.0;
            let value = self.value(kind)?;
            out.push(VarBind { name, value });
        }
        Ok(out)
    }

    fn value(&mut self, kind: u16) -> Result<Value, PduError> {
        Ok(match kind {
            2 => Value::Integer(self.u32()? as i32),
            4 => Value::OctetString(self.octets()?),
            5 => Value::Null,
            6 => Value::ObjectIdentifier(self.oid()?.0),
            64 => {
                let b = self.octets()?;
                let a: [u8; 4] = b
                    .as_slice()
                    .try_into()
                    .map_err(|_| PduError::Malformed("IpAddress not 4 bytes"))?;
                Value::IpAddress(Ipv4Addr::from(a))
            }
            65 => Value::Counter32(self.u32()?),
            66 => Value::Gauge32(self.u32()?),
            67 => Value::TimeTicks(self.u32()?),
            68 => Value::Opaque(self.octets()?),
            70 => Value::Counter64(self.u64()?),
            128 => Value::NoSuchObject,
            129 => Value::NoSuchInstance,
            130 => Value::EndOfMibView,
            other => return Err(PduError::UnknownValueType(other)),
        })
    }
}

/// Always big-endian.
struct Writer(Vec<u8>);

impl Writer {
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    /// An OID, shortened with the internet prefix where it fits.
    fn oid(&mut self, oid: &Oid, include: bool) {
        let s = &oid.0;
        let (prefix, rest) = match s.get(..5) {
            Some([1, 3, 6, 1, p]) if (1..=255).contains(p) => (*p as u8, &s[5..]),
            _ => (0, &s[..]),
        };
        // OIDs tandem builds are far shorter than 128 sub-identifiers;
        // a longer one is cut rather than written with a wrong count.
        let rest = &rest[..rest.len().min(128)];
        self.0
            .extend_from_slice(&[rest.len() as u8, prefix, u8::from(include), 0]);
        for v in rest {
            self.u32(*v);
        }
    }

    fn octets(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        let pad = (4 - b.len() % 4) % 4;
        self.0.extend(std::iter::repeat_n(0, pad));
    }

    fn ranges(&mut self, ranges: &[SearchRange]) {
        for r in ranges {
            self.oid(&r.start, r.include);
            self.oid(&r.end, false);
        }
    }

    fn varbinds(&mut self, vbs: &[VarBind]) {
        for vb in vbs {
            self.u16(vb.value.type_code());
            self.u16(0);
            self.oid(&vb.name, false);
            self.value(&vb.value);
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Integer(i) => self.u32(*i as u32),
            Value::OctetString(b) | Value::Opaque(b) => self.octets(b),
            Value::ObjectIdentifier(o) => self.oid(o, false),
            Value::IpAddress(a) => self.octets(&a.octets()),
            Value::Counter32(n) | Value::Gauge32(n) | Value::TimeTicks(n) => self.u32(*n),
            Value::Counter64(n) => {
                self.u32((n >> 32) as u32);
                self.u32(*n as u32);
            }
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {}
        }
    }
}
