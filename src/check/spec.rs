//! One checker as configured, with keepalived's defaults already applied.
//!
//! A [`CheckerSpec`] is a plain value that derives `Hash` and `Eq`: two real
//! servers (in two virtual servers) that name the same target and check it
//! the same way produce equal specs, and the runner checks that target once.
//!
//! Plain values; may not read the configuration model (`lvs::build` maps
//! it) nor do I/O.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// keepalived's default `delay_loop` (keepalived.conf(5): 60 seconds).
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// keepalived's default `connect_timeout` (5 seconds).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything one checker needs to probe a real server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckerSpec {
    pub kind: CheckKind,
    /// `connect_ip`:`connect_port`, defaulting to the real server's address.
    pub target: SocketAddr,
    /// `bindto`: source address of the check connection.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port of the check connection.
    pub bind_port: Option<u16>,
    /// `bind_if`: interface to bind to (SO_BINDTODEVICE).
    pub bind_if: Option<String>,
    /// `fwmark`: mark set on the check's packets (SO_MARK).
    pub fwmark: Option<u32>,
    /// `connect_timeout`: bound on the *whole* probe (connect, TLS, request,
    /// response body), not on each read — a server that trickles one byte a
    /// second must not keep a check alive for minutes.
    pub connect_timeout: Duration,
    pub timing: CheckTiming,
}

/// When to check and how many failures make a server down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckTiming {
    /// `delay_loop`: time between checks of a server in steady state.
    pub delay_loop: Duration,
    /// `retry` (alias `nb_get_retry`): extra attempts after a failure of a
    /// server that is up, before it is declared down.
    pub retry: u32,
    /// `delay_before_retry`: time between those extra attempts.
    pub delay_before_retry: Duration,
    /// `warmup`: the first check runs after a random delay in `[0, warmup]`,
    /// so many checks configured together do not all fire at once.
    pub warmup: Duration,
    /// `alpha`: the server starts down and must pass a check to come up.
    pub alpha: bool,
    /// `log_all_failures` (or the global `checker_log_all_failures`): log
    /// every failed probe of a checker that is up, the retries before it
    /// is declared down included, not only its verdict changes.
    pub log_all_failures: bool,
}

impl CheckTiming {
    /// keepalived's defaults for a checker of `kind` under `delay_loop`.
    ///
    /// keepalived.conf(5): `retry` 1 (0 for MISC_CHECK), `delay_before_retry`
    /// 3 s for HTTP_GET/SSL_GET and 1 s otherwise, `warmup` = `delay_loop`.
    pub fn defaults(kind: &CheckKind, delay_loop: Duration) -> Self {
        let (retry, delay_before_retry) = match kind {
            CheckKind::Http(_) | CheckKind::Ssl(_) => (1, Duration::from_secs(3)),
            CheckKind::Tcp | CheckKind::Smtp(_) | CheckKind::Udp(_) | CheckKind::Ping => {
                (1, Duration::from_secs(1))
            }
            CheckKind::Misc(_) => (0, Duration::from_secs(1)),
            // check_dns.c: 3 retries, delay_before_retry = delay_loop.
            CheckKind::Dns(_) => (3, delay_loop),
            // No probes: the BFD session's own timers decide.
            CheckKind::Bfd(_) => (0, Duration::ZERO),
        };
        Self {
            delay_loop,
            retry,
            delay_before_retry,
            warmup: delay_loop,
            alpha: false,
            log_all_failures: false,
        }
    }
}

/// The checker types tandem implements.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// `HTTP_GET`
    Http(HttpGet),
    /// `SSL_GET`: `HTTP_GET` over TLS.
    Ssl(HttpGet),
    /// `TCP_CHECK`: the connection opens.
    Tcp,
    /// `MISC_CHECK`: a program's exit status.
    Misc(MiscCheck),
    /// `DNS_CHECK`: a DNS query over UDP answers NOERROR.
    Dns(DnsCheck),
    /// `SMTP_CHECK`: greeting 220, HELO 250, QUIT.
    Smtp(SmtpCheck),
    /// `UDP_CHECK`: a datagram, no ICMP unreachable, maybe a reply.
    Udp(UdpCheck),
    /// `PING_CHECK`: an ICMP / ICMPv6 echo is answered.
    Ping,
    /// `BFD_CHECK`: no probe; up while a BFD session is Up ([`super::bfd`]).
    Bfd(BfdCheck),
}

impl CheckKind {
    /// The keepalived.conf keyword of this checker.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckKind::Http(_) => "HTTP_GET",
            CheckKind::Ssl(_) => "SSL_GET",
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::Misc(_) => "MISC_CHECK",
            CheckKind::Dns(_) => "DNS_CHECK",
            CheckKind::Smtp(_) => "SMTP_CHECK",
            CheckKind::Udp(_) => "UDP_CHECK",
            CheckKind::Bfd(_) => "BFD_CHECK",
            CheckKind::Ping => "PING_CHECK",
        }
    }
}

/// The body of an `HTTP_GET` / `SSL_GET` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpGet {
    /// Every `url { }` block; the check passes when all of them pass.
    pub urls: Vec<UrlCheck>,
    /// `http_protocol`
    pub protocol: HttpProtocol,
    /// `virtualhost` from the checker, real server or virtual server (the
    /// innermost one set); a `url`'s own `virtualhost` overrides it.
    pub virtualhost: Option<String>,
    /// `enable_sni` (SSL_GET): send the virtual host as TLS server name.
    pub enable_sni: bool,
}

/// One `url { }` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlCheck {
    /// `path`
    pub path: String,
    /// `digest`: MD5 of the response body, as 32 hex digits (lower case).
    pub digest: Option<String>,
    /// `status_code` (default 200-299).
    pub status: StatusCodes,
    /// `virtualhost` for this URL only.
    pub virtualhost: Option<String>,
    /// `regex` and its settings: the body must match (or, with
    /// `regex_no_match`, must not).
    pub regex: Option<super::body_regex::UrlRegex>,
}

impl UrlCheck {
    /// A URL check with keepalived's defaults: any 2xx status, no digest.
    pub fn path(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            digest: None,
            status: StatusCodes::default(),
            virtualhost: None,
            regex: None,
        }
    }
}

/// `http_protocol`: what the request line and headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpProtocol {
    /// `1.0` (keepalived's default): `GET path HTTP/1.0`.
    #[default]
    Http10,
    /// `1.0C`: HTTP/1.0 plus `Connection: close`.
    Http10Close,
    /// `1.1`: HTTP/1.1 with `Connection: close`.
    Http11,
}

/// `status_code`: single codes and inclusive ranges, e.g. `200 300-399 503`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusCodes(pub Vec<(u16, u16)>);

impl Default for StatusCodes {
    /// keepalived.conf(5): "Default is 200-299".
    fn default() -> Self {
        Self(vec![(200, 299)])
    }
}

impl StatusCodes {
    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

impl fmt::Display for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// The body of a `DNS_CHECK` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsCheck {
    /// `type` as its RR type number (keepalived's default SOA, 6).
    pub qtype: u16,
    /// `name`, dotted, without empty labels; `""` (the default) is the root.
    pub name: String,
}

/// One connection of an `SMTP_CHECK` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmtpCheck {
    /// `helo_name`.
    pub helo_name: String,
    /// The real server's address and port, which keepalived names in its
    /// "Network unreachable" line.
    pub real_server: SocketAddr,
}

/// The body of a `UDP_CHECK` block, its payload resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdpCheck {
    /// What is sent.
    pub payload: Vec<u8>,
    /// `require_reply`: silence fails.
    pub require_reply: bool,
    /// `require_reply HEX`.
    pub reply_data: Option<Vec<u8>>,
    /// Bits of `reply_data` that may differ.
    pub reply_mask: Option<Vec<u8>>,
    pub min_reply_length: u16,
    pub max_reply_length: u16,
}

/// The body of a `BFD_CHECK` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BfdCheck {
    /// The `bfd_instance` followed.
    pub name: String,
    /// The real server as keepalived names it in the check's log line
    /// (`[192.0.2.2]:tcp:80`).
    pub real_server: String,
}

/// The body of a `MISC_CHECK` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MiscCheck {
    /// `misc_path`: a command line (program and arguments, split like a
    /// shell would split words and quotes; no shell is run).
    pub path: String,
    /// `misc_timeout`; `None` means `delay_loop`, as in keepalived.
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit status 2..=255 sets the weight to status − 2.
    pub dynamic: bool,
    /// `user USERNAME [GROUPNAME]`, resolved to ids by the caller.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl fmt::Display for CheckerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            CheckKind::Misc(m) => write!(f, "MISC_CHECK {:?} for {}", m.path, self.target),
            CheckKind::Bfd(b) => write!(f, "BFD_CHECK {} for {}", b.name, b.real_server),
            CheckKind::Ping => write!(f, "PING_CHECK {}", self.target.ip()),
            kind => write!(f, "{} {}", kind.keyword(), self.target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_default_is_2xx() {
        let s = StatusCodes::default();
        assert!(s.contains(200) && s.contains(204) && s.contains(299));
        assert!(!s.contains(301) && !s.contains(199) && !s.contains(500));
    }

    #[test]
    fn status_codes_list_and_ranges() {
        let s = StatusCodes(vec![(200, 200), (300, 399), (503, 503)]);
        assert!(s.contains(200) && s.contains(302) && s.contains(503));
        assert!(!s.contains(201) && !s.contains(500));
        assert_eq!(s.to_string(), "200 300-399 503");
    }

    #[test]
    fn keepalived_timing_defaults() {
        let http = CheckKind::Http(HttpGet {
            urls: vec![],
            protocol: HttpProtocol::default(),
            virtualhost: None,
            enable_sni: false,
        });
        let t = CheckTiming::defaults(&http, DEFAULT_DELAY_LOOP);
        assert_eq!(t.retry, 1);
        assert_eq!(t.delay_before_retry, Duration::from_secs(3));
        assert_eq!(t.warmup, Duration::from_secs(60));
        let t = CheckTiming::defaults(&CheckKind::Tcp, Duration::from_secs(5));
        assert_eq!(t.delay_before_retry, Duration::from_secs(1));
        let misc = CheckKind::Misc(MiscCheck {
            path: "/bin/true".into(),
            timeout: None,
            dynamic: false,
            uid: None,
            gid: None,
        });
        assert_eq!(CheckTiming::defaults(&misc, DEFAULT_DELAY_LOOP).retry, 0);
    }
}
