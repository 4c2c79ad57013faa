//! `SMTP_CHECK`: greeting, `HELO`, `QUIT` over TCP, keepalived's way.
//!
//! keepalived 2.2.7 (check_smtp.c) connects, reads the greeting, sends
//! `HELO <helo_name>`, reads the answer, sends `QUIT`, reads one more line
//! and passes. Its reading rules, which [`Dialogue`] keeps byte for byte:
//! - each step reads into a fresh buffer of 511 bytes until a `\n` is in
//!   it; the line is what comes before the first `\n`, and whatever the
//!   same read brought after it is dropped; a buffer full without a `\n`
//!   is emptied and reading goes on;
//! - a status is three digits followed by a space or the end of the line
//!   (C `strtoul`, so leading blanks and a sign count towards the three):
//!   the greeting must be `220`, the HELO answer `250` (a multi-line
//!   `220-` greeting fails, as in keepalived); the line after `QUIT` may be
//!   anything.
//!
//! `connect_timeout` bounds the whole dialogue (keepalived applies it to
//! each read and write): a server that trickles cannot keep a probe open
//! for long. The failure words are keepalived's.
//!
//! Owns the SMTP dialogue of the check (sans-IO [`Dialogue`]) and its thin
//! I/O ([`probe`]); may not schedule or retry.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::outcome::CheckError;
use super::spec::{CheckerSpec, SmtpCheck};
use super::tcp;

/// keepalived's SMTP_BUFF_MAX, less its terminating NUL.
pub const LINE_ROOM: usize = 511;

/// Where the dialogue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the greeting.
    Banner,
    /// `HELO` sent, reading its answer.
    Helo,
    /// `QUIT` sent, reading one more line.
    Quit,
}

/// What the I/O layer does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read at most this many bytes and hand them to [`Dialogue::on_read`].
    Read(usize),
    /// Write these bytes, then read.
    Write(Vec<u8>),
    /// The check passed.
    Pass,
    /// The check failed: keepalived's words (without the server).
    Fail(&'static str),
}

/// The sans-IO SMTP dialogue of one probe.
#[derive(Debug)]
pub struct Dialogue {
    phase: Phase,
    helo: Vec<u8>,
    buf: Vec<u8>,
}

impl Dialogue {
    /// A dialogue that will say `HELO helo_name`.
    pub fn new(helo_name: &str) -> Self {
        Self {
            phase: Phase::Banner,
            helo: format!("HELO {helo_name}\r\n").into_bytes(),
            buf: Vec::with_capacity(LINE_ROOM),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The first action once connected: read the greeting.
    pub fn start(&self) -> Action {
        Action::Read(LINE_ROOM)
    }

    /// The bytes one `read` returned (not empty: an end of stream is the
    /// I/O layer's "Read failure").
    pub fn on_read(&mut self, data: &[u8]) -> Action {
        self.buf.extend_from_slice(data);
        let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
            if self.buf.len() >= LINE_ROOM {
                self.buf.clear();
            }
            return Action::Read(LINE_ROOM - self.buf.len());
        };
        let status = parse_status(&self.buf[..nl]);
        // The rest of this read is dropped; the next step reads afresh.
        self.buf.clear();
        match self.phase {
            Phase::Banner if status == Some(220) => {
                self.phase = Phase::Helo;
                Action::Write(self.helo.clone())
            }
            Phase::Banner => Action::Fail("Bad greeting banner from server"),
            Phase::Helo if status == Some(250) => {
                self.phase = Phase::Quit;
                Action::Write(b"QUIT\r\n".to_vec())
            }
            Phase::Helo => Action::Fail("Bad HELO response from server"),
            Phase::Quit => Action::Pass,
        }
    }
}

/// keepalived's smtp_get_status: C `strtoul(line, &end, 10)` must have
/// consumed exactly three characters, followed by a space or the end.
pub fn parse_status(line: &[u8]) -> Option<u32> {
    let mut i = 0;
    while line.get(i).is_some_and(|b| b" \t\n\x0b\x0c\r".contains(b)) {
        i += 1;
    }
    let negative = line.get(i) == Some(&b'-');
    if matches!(line.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits_from = i;
    let mut value: u32 = 0;
    while let Some(d) = line.get(i).filter(|b| b.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(u32::from(d - b'0'));
        i += 1;
    }
    if i == digits_from {
        return None; // strtoul consumed nothing
    }
    if i != 3 || !matches!(line.get(i), None | Some(b' ')) {
        return None;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// keepalived's "[ip]:port".
fn pair(addr: SocketAddr) -> String {
    format!("[{}]:{}", addr.ip(), addr.port())
}

/// The errors keepalived counts as "connect_fail" when `connect` returns
/// them at once (layer4.c).
fn is_connect_fail(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENETUNREACH
                | libc::EHOSTUNREACH
                | libc::ECONNREFUSED
                | libc::EHOSTDOWN
                | libc::ENETDOWN
                | libc::ECONNRESET
                | libc::ECONNABORTED
                | libc::ETIMEDOUT
        )
    )
}

/// Where the I/O was when time ran out, for the timeout's words.
#[derive(Clone, Copy)]
enum Waiting {
    Connect,
    Read,
    Write,
}

/// One `SMTP_CHECK` probe.
pub async fn probe(spec: &CheckerSpec, smtp: &SmtpCheck) -> Result<(), CheckError> {
    let server = pair(spec.target);
    let fail = |what: &str| CheckError::Failed {
        checker: "SMTP_CHECK",
        what: format!("{what} {server}"),
    };
    let mut waiting = Waiting::Connect;
    let dialogue = run(spec, smtp, &mut waiting);
    match tokio::time::timeout(spec.connect_timeout, dialogue).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Failure::Words(w))) => Err(fail(w)),
        Ok(Err(Failure::Unreachable)) => Err(CheckError::Failed {
            checker: "SMTP_CHECK",
            what: format!(
                "Network unreachable for server {} - real server {}",
                spec.target.ip(),
                pair(smtp.real_server)
            ),
        }),
        Ok(Err(Failure::Other(e))) => Err(e),
        Err(_) => Err(fail(match waiting {
            Waiting::Connect => "Connection timeout to server",
            Waiting::Read => "Read timeout from server",
            Waiting::Write => "Write timeout to server",
        })),
    }
}

enum Failure {
    Words(&'static str),
    Unreachable,
    Other(CheckError),
}

async fn run(spec: &CheckerSpec, smtp: &SmtpCheck, waiting: &mut Waiting) -> Result<(), Failure> {
    let stream = connect(spec).await?;
    let mut stream = stream;
    let mut dialogue = Dialogue::new(&smtp.helo_name);
    let mut action = dialogue.start();
    let mut buf = [0u8; LINE_ROOM];
    loop {
        action = match action {
            Action::Read(room) => {
                *waiting = Waiting::Read;
                let room = room.clamp(1, LINE_ROOM);
                match stream.read(&mut buf[..room]).await {
                    Ok(0) | Err(_) => return Err(Failure::Words("Read failure from server")),
                    Ok(n) => dialogue.on_read(&buf[..n]),
                }
            }
            Action::Write(bytes) => {
                *waiting = Waiting::Write;
                if stream.write_all(&bytes).await.is_err() {
                    return Err(Failure::Words("Write failure to server"));
                }
                Action::Read(LINE_ROOM)
            }
            Action::Pass => return Ok(()),
            Action::Fail(words) => return Err(Failure::Words(words)),
        };
    }
}

/// The TCP connection, with keepalived's words for each way it fails.
async fn connect(spec: &CheckerSpec) -> Result<TcpStream, Failure> {
    let std_stream = match tcp::start_connect(spec, tcp::Opening::Plain) {
        Ok(s) => s,
        Err(CheckError::Connect { source, .. }) if is_connect_fail(&source) => {
            return Err(Failure::Unreachable);
        }
        Err(_) => return Err(Failure::Words("Error connecting to server")),
    };
    let stream = TcpStream::from_std(std_stream).map_err(|source| {
        Failure::Other(CheckError::Connect {
            addr: spec.target,
            source,
        })
    })?;
    if stream.writable().await.is_err() {
        return Err(Failure::Words("Error connecting to server"));
    }
    match stream.take_error() {
        Ok(None) => Ok(stream),
        Ok(Some(e)) if e.raw_os_error() == Some(libc::ETIMEDOUT) => {
            Err(Failure::Words("Connection timeout to server"))
        }
        Ok(Some(_)) => Err(Failure::Words("Could not connect to server")),
        Err(_) => Err(Failure::Words("Error connecting to server")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_server_gets_helo_then_quit() {
        let mut d = Dialogue::new("smtpchecker.keepalived.org");
        assert_eq!(d.start(), Action::Read(LINE_ROOM));
        assert_eq!(
            d.on_read(b"220 mx.example ESMTP\r\n"),
            Action::Write(b"HELO smtpchecker.keepalived.org\r\n".to_vec())
        );
        // A line in pieces.
        assert_eq!(d.on_read(b"25"), Action::Read(LINE_ROOM - 2));
        assert_eq!(
            d.on_read(b"0 mx.example\r\n"),
            Action::Write(b"QUIT\r\n".to_vec())
        );
        assert_eq!(d.phase(), Phase::Quit);
        // Whatever the last line says.
        assert_eq!(d.on_read(b"500 whatever\n"), Action::Pass);
    }

    #[test]
    fn a_bad_greeting_or_helo_answer_fails_with_keepalived_s_words() {
        let mut d = Dialogue::new("h");
        assert_eq!(
            d.on_read(b"554 go away\r\n"),
            Action::Fail("Bad greeting banner from server")
        );
        let mut d = Dialogue::new("h");
        // keepalived reads only the first line: a multi-line greeting fails.
        assert_eq!(
            d.on_read(b"220-mx.example\r\n220 more\r\n"),
            Action::Fail("Bad greeting banner from server")
        );
        let mut d = Dialogue::new("h");
        d.on_read(b"220 ok\n");
        assert_eq!(
            d.on_read(b"501 no\r\n"),
            Action::Fail("Bad HELO response from server")
        );
    }

    #[test]
    fn a_full_buffer_without_a_newline_is_emptied() {
        let mut d = Dialogue::new("h");
        assert_eq!(d.on_read(&[b'x'; LINE_ROOM]), Action::Read(LINE_ROOM));
        assert_eq!(
            d.on_read(b"220 ok\n"),
            Action::Write(b"HELO h\r\n".to_vec())
        );
    }

    #[test]
    fn status_is_strtoul_of_three_characters() {
        assert_eq!(parse_status(b"220 mx"), Some(220));
        assert_eq!(parse_status(b"220"), Some(220));
        assert_eq!(parse_status(b"220\r"), None);
        assert_eq!(parse_status(b"220-mx"), None);
        assert_eq!(parse_status(b"2200 mx"), None);
        assert_eq!(parse_status(b"22 mx"), None);
        assert_eq!(parse_status(b" 22 x"), Some(22));
        assert_eq!(parse_status(b"abc"), None);
        assert_eq!(parse_status(b""), None);
    }
}
