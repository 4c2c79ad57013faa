//! BIRD's control socket, as `birdc` speaks it: a greeting, then one
//! command a line; each reply line starts with a four-digit code, `-` when
//! more lines follow, a space on the last one. Codes 0xxx are success,
//! 8xxx and 9xxx errors (a configuration BIRD cannot parse is `8002` with
//! its file:line:col).
//!
//! Owns: that exchange. May not: decide when to reconfigure (the daemon
//! does), or wait without a bound: every read and write has a timeout.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long BIRD may take to answer; reconfiguring a few static routes
/// takes milliseconds.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum BirdError {
    #[error("BIRD control socket {socket}: {source}")]
    Io {
        socket: String,
        source: std::io::Error,
    },
    #[error("BIRD refused \"{command}\": {reply}")]
    Refused { command: String, reply: String },
    #[error("BIRD control socket {socket}: unexpected reply {line:?}")]
    Protocol { socket: String, line: String },
}

/// `configure`: BIRD rereads its configuration (and so tandem's include
/// file). `Ok` holds BIRD's last reply line ("Reconfigured").
pub fn configure(socket: &Path) -> Result<String, BirdError> {
    command(socket, "configure")
}

/// One command on a fresh connection; the reply's final line on success.
pub fn command(socket: &Path, command: &str) -> Result<String, BirdError> {
    let name = socket.display().to_string();
    let io = |source| BirdError::Io {
        socket: name.clone(),
        source,
    };
    let stream = UnixStream::connect(socket).map_err(io)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let mut reader = BufReader::new(stream.try_clone().map_err(io)?);
    let greeting = read_reply(&mut reader, &name)?;
    if !greeting.ok {
        return Err(BirdError::Refused {
            command: "(connect)".into(),
            reply: greeting.text,
        });
    }
    let mut writer = stream;
    writer
        .write_all(format!("{command}\n").as_bytes())
        .map_err(io)?;
    let reply = read_reply(&mut reader, &name)?;
    if reply.ok {
        Ok(reply.text)
    } else {
        Err(BirdError::Refused {
            command: command.into(),
            reply: reply.text,
        })
    }
}

/// One reply: its lines up to the one whose code ends with a space.
struct Reply {
    ok: bool,
    /// The last line's text, without its code; every error line's text
    /// when it failed.
    text: String,
}

fn read_reply(reader: &mut impl BufRead, socket: &str) -> Result<Reply, BirdError> {
    let mut errors = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| BirdError::Io {
                socket: socket.into(),
                source,
            })?;
        if n == 0 {
            return Err(BirdError::Protocol {
                socket: socket.into(),
                line: "(connection closed)".into(),
            });
        }
        let line = line.trim_end_matches('\n');
        let Some(parsed) = parse_line(line) else {
            return Err(BirdError::Protocol {
                socket: socket.into(),
                line: line.into(),
            });
        };
        match parsed {
            Line::More => {}
            Line::Coded { code, last, text } => {
                if code >= 8000 {
                    errors.push(text.to_string());
                }
                if last {
                    let ok = errors.is_empty();
                    let text = if ok {
                        text.to_string()
                    } else {
                        errors.join("; ")
                    };
                    return Ok(Reply { ok, text });
                }
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Line<'a> {
    /// A line that continues the previous code (starts with a space).
    More,
    Coded {
        code: u16,
        last: bool,
        text: &'a str,
    },
}

fn parse_line(line: &str) -> Option<Line<'_>> {
    if line.starts_with(' ') {
        return Some(Line::More);
    }
    let code = line.get(..4)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let last = match line.as_bytes().get(4) {
        Some(b' ') | None => true,
        Some(b'-') => false,
        Some(_) => return None,
    };
    Some(Line::Coded {
        code: code.parse().ok()?,
        last,
        text: line.get(5..).unwrap_or(""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Result<Reply, BirdError> {
        read_reply(&mut text.as_bytes(), "test")
    }

    #[test]
    fn a_reconfiguration_is_success_with_its_last_line() {
        let r = reply("0002-Reading configuration from /etc/bird/bird.conf\n0003 Reconfigured\n")
            .unwrap();
        assert!(r.ok);
        assert_eq!(r.text, "Reconfigured");
    }

    #[test]
    fn a_parse_error_is_refused_with_bird_s_position() {
        let r =
            reply("0002-Reading configuration from a.conf\n8002 /run/t.conf:1:68 syntax error\n")
                .unwrap();
        assert!(!r.ok);
        assert_eq!(r.text, "/run/t.conf:1:68 syntax error");
    }

    #[test]
    fn garbage_and_a_closed_socket_are_protocol_errors() {
        assert!(matches!(reply("hello\n"), Err(BirdError::Protocol { .. })));
        assert!(matches!(
            reply("0002-Reading\n"),
            Err(BirdError::Protocol { .. })
        ));
        assert_eq!(parse_line(" more"), Some(Line::More));
    }
}
