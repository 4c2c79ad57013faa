//! Health checkers: HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK, DNS_CHECK,
//! SMTP_CHECK, UDP_CHECK, PING_CHECK and BFD_CHECK.
//!
//! The module is split the same way as the rest of tandem: what a check *is*
//! and how its result turns into an up/down verdict is plain data and sans-IO
//! logic; only the probes and the runner touch sockets, processes and timers.
//!
//! | file          | what it does                                                   |
//! |---------------|----------------------------------------------------------------|
//! | `spec.rs`     | [`CheckerSpec`]: one checker as configured, hashable for dedupe |
//! | `schedule.rs` | sans-IO retry / delay_loop / alpha logic ([`CheckSchedule`])   |
//! | `event.rs`    | [`CheckEvent`] and the counters, what the checkers report      |
//! | `outcome.rs`  | [`Pass`] / [`CheckError`]: what one probe comes to             |
//! | `probe.rs`    | one probe of any kind: the dispatch by [`CheckKind`]           |
//! | `http.rs`     | `HTTP_GET` (and the HTTP part of `SSL_GET`) on hyper 1         |
//! | `body_regex.rs` | a url's `regex` over the body as it streams in (sans-IO)     |
//! | `ssl.rs`      | `SSL_GET`: TLS via tokio-rustls                                |
//! | `tcp.rs`      | `TCP_CHECK` and the socket set-up every network checker shares |
//! | `dns.rs`      | `DNS_CHECK`: the query/answer codec (sans-IO) and the UDP probe |
//! | `smtp.rs`     | `SMTP_CHECK`: the greeting/HELO/QUIT dialogue (sans-IO) and its TCP I/O |
//! | `udp.rs`      | `UDP_CHECK`: a datagram, ICMP errors, the reply's verdict (sans-IO) |
//! | `misc.rs`     | `MISC_CHECK`: run a program, read its exit status              |
//! | `ping.rs`     | `PING_CHECK`: ICMP / ICMPv6 echo (ping socket, else raw)        |
//! | `bfd.rs`      | `BFD_CHECK`: follow the BFD sessions' Up/Down, no probe        |
//! | `runner.rs`   | one tokio task per distinct checker, events out on a channel   |
//! | `engine.rs`   | the checker thread's own epoll loop for TCP_CHECK and status-only HTTP_GET |
//! | `sink.rs`     | a minimal HTTP responder for the checker benchmark             |
//!
//! ```text
//!   CheckerSpec ──► runner task ──probe()──► real server
//!                      │   ▲
//!                      │   └── CheckSchedule (retry, delay_before_retry, delay_loop)
//!                      ▼
//!                 CheckEvent (Up / Down / Weight) ──► lvs::LvsState
//! ```
//!
//! Owns the probes, their schedules and the tasks that run them. May not
//! decide what a verdict means for the table (that is `lvs`'s) nor touch
//! IPVS, VRRP or the configuration model; of tandem it uses only `process`,
//! `notify::script`, to run MISC_CHECK as every script runs, and
//! `config::regex`, the PCRE2 patterns the configuration compiled.

pub mod bfd;
pub mod body_regex;
pub mod dns;
pub mod engine;
pub mod event;
pub mod http;
pub mod misc;
pub mod outcome;
pub mod ping;
pub mod probe;
pub mod runner;
pub mod schedule;
pub mod sink;
pub mod smtp;
pub mod spec;
pub mod ssl;
pub mod suspend;
pub mod tcp;
pub mod udp;

pub use event::{CheckEvent, CheckerId};
pub use outcome::{CheckError, Pass};
pub use probe::{Prepared, probe, probe_prepared};
pub use runner::CheckRunner;
pub use schedule::{CheckSchedule, Report, Step};
pub use spec::{
    BfdCheck, CheckKind, CheckTiming, CheckerSpec, DnsCheck, HttpGet, HttpProtocol, MiscCheck,
    SmtpCheck, StatusCodes, UdpCheck, UrlCheck,
};
