//! The model of a real server's health checks: `HTTP_GET`, `SSL_GET`,
//! `TCP_CHECK`, `MISC_CHECK`, `DNS_CHECK`, `SMTP_CHECK`, `UDP_CHECK`,
//! `PING_CHECK` and `BFD_CHECK`, with the `url` blocks.
//!
//! Owns: those types and the MD5 digest's text form. May not: depend on
//! the virtual and real servers that hold the checks.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::common::{Origin, ScriptUser};
use super::secs;

/// A health check of a real server, with its connection options resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checker {
    #[serde(flatten)]
    pub kind: CheckerKind,
    /// `connect_ip`, default the real server's address.
    pub connect_ip: IpAddr,
    /// `connect_port`, default the real server's port.
    pub connect_port: u16,
    /// `bindto`: source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: needed when `bindto` is IPv6 link-local.
    pub bind_if: Option<String>,
    /// `fwmark` set on the checker's packets.
    pub fwmark: Option<u32>,
    /// `connect_timeout`, default 5 s (checker ← real ← virtual server).
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// `retry` (formerly `nb_get_retry`): extra attempts before a server
    /// that was up is declared down. Default 1, 0 for MISC_CHECK.
    pub retry: u32,
    /// `delay_before_retry`: default 3 s for HTTP_GET/SSL_GET, 1 s otherwise.
    #[serde(with = "secs")]
    pub delay_before_retry: Duration,
    /// `warmup`: maximum random delay before the first check; default the
    /// `delay_loop`, zero disables it.
    #[serde(with = "secs")]
    pub warmup: Duration,
    /// `delay_loop`: interval between checks, default 60 s.
    #[serde(with = "secs")]
    pub delay_loop: Duration,
    /// `alpha`: start in the failed state.
    pub alpha: bool,
    /// `log_all_failures`.
    pub log_all_failures: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// The kind of check and its own options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CheckerKind {
    #[serde(rename = "HTTP_GET")]
    HttpGet(HttpGet),
    /// Like HTTP_GET over TLS.
    #[serde(rename = "SSL_GET")]
    SslGet(HttpGet),
    /// A TCP connect.
    #[serde(rename = "TCP_CHECK")]
    TcpCheck,
    #[serde(rename = "MISC_CHECK")]
    MiscCheck(MiscCheck),
    /// A DNS query over UDP.
    #[serde(rename = "DNS_CHECK")]
    DnsCheck(DnsCheck),
    /// An SMTP greeting, HELO and QUIT.
    #[serde(rename = "SMTP_CHECK")]
    SmtpCheck(SmtpCheck),
    /// A UDP datagram, and maybe its reply.
    #[serde(rename = "UDP_CHECK")]
    UdpCheck(UdpCheck),
    /// An ICMP / ICMPv6 echo answered.
    #[serde(rename = "PING_CHECK")]
    PingCheck,
    /// The state of a `bfd_instance`: up while the session is Up.
    #[serde(rename = "BFD_CHECK")]
    BfdCheck(BfdCheck),
}

impl CheckerKind {
    /// The keyword that introduces the checker.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::HttpGet(_) => "HTTP_GET",
            CheckerKind::SslGet(_) => "SSL_GET",
            CheckerKind::TcpCheck => "TCP_CHECK",
            CheckerKind::MiscCheck(_) => "MISC_CHECK",
            CheckerKind::DnsCheck(_) => "DNS_CHECK",
            CheckerKind::SmtpCheck(_) => "SMTP_CHECK",
            CheckerKind::UdpCheck(_) => "UDP_CHECK",
            CheckerKind::BfdCheck(_) => "BFD_CHECK",
            CheckerKind::PingCheck => "PING_CHECK",
        }
    }
}

/// Options of `HTTP_GET` and `SSL_GET`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpGet {
    /// The URLs; each must pass for the check to pass.
    pub url: Vec<Url>,
    /// `http_protocol`, default 1.0.
    pub http_protocol: HttpProtocol,
    /// `fast_recovery`.
    pub fast_recovery: bool,
    /// `enable_sni` (SSL_GET): send the virtualhost as TLS SNI.
    pub enable_sni: bool,
}

/// An `url { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    /// `path`, e.g. `/` or `/status?full`.
    pub path: String,
    /// `digest`: MD5 of the body (from genhash).
    pub digest: Option<Md5Digest>,
    /// `status_code`: accepted statuses; default 200–299.
    pub status_code: Vec<StatusRange>,
    /// Resolved: the url's `virtualhost`, else the checker's, real
    /// server's or virtual server's. `None`: the Host header is the
    /// connect address.
    pub virtualhost: Option<String>,
    /// `regex` and its `regex_*` settings: the body must (or, with
    /// `regex_no_match`, must not) match.
    pub regex: Option<UrlRegex>,
}

/// A url's `regex PATTERN` with `regex_no_match`, `regex_options`,
/// `regex_min_offset`, `regex_max_offset` and `regex_stack`. The pattern
/// compiled when the configuration was read (`config::regex`), so a bad
/// one is refused there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlRegex {
    /// PCRE2 syntax, as keepalived compiles it.
    pub pattern: String,
    /// `regex_options` words, in the order written (each known).
    pub options: Vec<String>,
    /// `regex_no_match`: a match fails the check.
    pub no_match: bool,
    /// `regex_min_offset`: a match must start at this body offset or later.
    pub min_offset: u64,
    /// `regex_max_offset`: a match must start at this body offset or
    /// earlier.
    pub max_offset: Option<u64>,
    /// `regex_stack START MAX`: the JIT stack's sizes in bytes.
    pub stack: Option<(u64, u64)>,
}

/// An inclusive range of HTTP status codes (`200`, `200-299`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRange {
    pub first: u16,
    pub last: u16,
}

impl StatusRange {
    /// Whether `status` is in the range.
    pub fn contains(&self, status: u16) -> bool {
        (self.first..=self.last).contains(&status)
    }
}

/// An MD5 digest, written as 32 hex digits in the file and in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Md5Digest(pub [u8; 16]);

impl Md5Digest {
    /// Parse 32 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Md5Digest(out))
    }
}

impl fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Md5Digest({self})")
    }
}

impl Serialize for Md5Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Md5Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Md5Digest::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 32 hex digits"))
    }
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpProtocol {
    /// HTTP/1.0 (the default).
    #[default]
    #[serde(rename = "1.0")]
    Http10,
    /// HTTP/1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10Close,
    /// HTTP/1.1 (which sends `Connection: close`).
    #[serde(rename = "1.1")]
    Http11,
}

/// Options of `MISC_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiscCheck {
    /// `misc_path`: the command line (quotes removed).
    pub misc_path: String,
    /// `misc_timeout`: the script is killed and failed after this; default
    /// the checker's `delay_loop`.
    #[serde(with = "secs")]
    pub misc_timeout: Duration,
    /// `misc_dynamic`: exit status 2–255 sets the weight to status − 2.
    pub misc_dynamic: bool,
    /// `user USER [GROUP]`; `None`: the global `script_user`.
    pub user: Option<ScriptUser>,
}

/// Options of `DNS_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsCheck {
    /// `type`: the query's RR type, default SOA.
    #[serde(rename = "type")]
    pub qtype: DnsType,
    /// `name`: the name queried, default `""` (the root, ".").
    pub name: String,
}

/// The query types keepalived 2.2.7's `DNS_CHECK` knows (check_dns.c).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsType {
    A,
    Ns,
    Cname,
    /// keepalived's default.
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
    Rrsig,
    Dnskey,
}

impl DnsType {
    /// Every type with its keyword and RR type number (RFC 1035 §3.2.2,
    /// RFC 3596, RFC 4034).
    pub const ALL: [(DnsType, &'static str, u16); 9] = [
        (DnsType::A, "A", 1),
        (DnsType::Ns, "NS", 2),
        (DnsType::Cname, "CNAME", 5),
        (DnsType::Soa, "SOA", 6),
        (DnsType::Mx, "MX", 15),
        (DnsType::Txt, "TXT", 16),
        (DnsType::Aaaa, "AAAA", 28),
        (DnsType::Rrsig, "RRSIG", 46),
        (DnsType::Dnskey, "DNSKEY", 48),
    ];

    /// The type named `word`, in any case, as keepalived compares it.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, name, _)| name.eq_ignore_ascii_case(word))
            .map(|(t, ..)| *t)
    }

    /// The RR type number sent in the question.
    pub fn number(self) -> u16 {
        Self::ALL
            .iter()
            .find(|(t, ..)| *t == self)
            .map_or(6, |(.., n)| *n)
    }
}

/// Options of `SMTP_CHECK` (one per connection: each deprecated `host { }`
/// block is a checker of its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpCheck {
    /// `helo_name`, default `smtpchecker.keepalived.org`.
    pub helo_name: String,
}

/// Options of `BFD_CHECK`: keepalived reads only `name` and `alpha` (none
/// of the connection or timing options; the session's own timers decide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdCheck {
    /// `name`: the `bfd_instance` followed (one that reports to the
    /// checker: `checker`, or neither `vrrp` nor `checker`).
    pub name: String,
}

/// Options of `UDP_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpCheck {
    /// `payload`; `None`: keepalived's 32 bytes of "keepalived check - ".
    pub payload: Option<Vec<u8>>,
    /// `require_reply`: no reply within connect_timeout fails.
    pub require_reply: bool,
    /// `require_reply HEX`: the reply's first octets.
    pub reply_data: Option<Vec<u8>>,
    /// Bits of `reply_data` that may differ (the `x` nibbles).
    pub reply_mask: Option<Vec<u8>>,
    /// `min_reply_length`, default 0 (with `reply_data` only).
    pub min_reply_length: u16,
    /// `max_reply_length`, default 255 (with `reply_data` only).
    pub max_reply_length: u16,
}
