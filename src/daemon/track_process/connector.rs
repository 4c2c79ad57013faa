//! The kernel's process events connector (`NETLINK_CONNECTOR`,
//! `CN_IDX_PROC`): the socket, the subscription, and the decoding of one
//! event (`linux/cn_proc.h`).
//!
//! The connector exists only in the initial network namespace: a socket
//! opened in another one is refused when it subscribes. keepalived 2.2.7
//! then has no process events at all (its trackers never see a process);
//! tandem opens the socket from a short-lived thread that enters the
//! initial namespace for the `socket(2)` call only: that of pid 1, or,
//! where pid 1's cannot be opened (a container), the first of its
//! ancestors' namespaces where the subscription is accepted. The socket
//! receives process events and nothing else; the daemon stays in its own
//! namespace.
//!
//! Owns the socket and the wire layout. What an event means is the
//! table's business.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_CONNECTOR};

/// `CN_IDX_PROC` / `CN_VAL_PROC`.
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN`.
const MCAST_LISTEN: u32 = 1;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// Sizes of `struct nlmsghdr` and `struct cn_msg`.
const NLMSG_HDR: usize = 16;
const CN_MSG: usize = 20;
/// Where `struct proc_event`'s union starts (after what, cpu, timestamp).
const EVENT_DATA: usize = NLMSG_HDR + CN_MSG + 16;

/// One process event, for processes only (thread events are dropped, as
/// keepalived drops them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcEvent {
    /// The kernel's answer to the subscription (`PROC_EVENT_NONE`).
    Ack,
    Fork {
        parent: i32,
        child: i32,
    },
    Exec {
        pid: i32,
    },
    Comm {
        pid: i32,
        comm: Vec<u8>,
    },
    Exit {
        pid: i32,
    },
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    u32_at(b, at).map(|v| v as i32)
}

/// Decodes one datagram; `None` for anything else (not from the proc
/// connector, a thread's event, an event tandem does not follow, or a
/// short or malformed message).
pub fn parse(buf: &[u8]) -> Option<ProcEvent> {
    let len = u32_at(buf, 0)? as usize;
    let kind = u16::from_ne_bytes(buf.get(4..6)?.try_into().ok()?);
    if len > buf.len() || kind == NLMSG_ERROR || kind == NLMSG_NOOP {
        return None;
    }
    if u32_at(buf, NLMSG_HDR)? != CN_IDX_PROC || u32_at(buf, NLMSG_HDR + 4)? != CN_VAL_PROC {
        return None;
    }
    let what = u32_at(buf, NLMSG_HDR + CN_MSG)?;
    let d = EVENT_DATA;
    let (pid, tgid) = (i32_at(buf, d)?, i32_at(buf, d + 4)?);
    match what {
        0 => Some(ProcEvent::Ack),
        0x1 => {
            let (child_pid, child_tgid) = (i32_at(buf, d + 8)?, i32_at(buf, d + 12)?);
            (child_pid == child_tgid).then_some(ProcEvent::Fork {
                parent: tgid,
                child: child_tgid,
            })
        }
        0x2 => (pid == tgid).then_some(ProcEvent::Exec { pid }),
        0x200 => {
            let raw = buf.get(d + 8..d + 24)?;
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            (pid == tgid).then(|| ProcEvent::Comm {
                pid,
                comm: raw[..end].to_vec(),
            })
        }
        0x8000_0000 => (pid == tgid).then_some(ProcEvent::Exit { pid }),
        _ => None,
    }
}

/// The subscription request (`PROC_CN_MCAST_LISTEN`).
fn listen_request() -> Vec<u8> {
    let total = NLMSG_HDR + CN_MSG + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills it
    m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&4u16.to_ne_bytes()); // len
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&MCAST_LISTEN.to_ne_bytes());
    m
}

/// The subscribed, non-blocking connector socket.
pub struct Connector {
    sock: Socket,
}

impl AsRawFd for Connector {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

fn open_here() -> io::Result<Socket> {
    let mut sock = Socket::new(NETLINK_CONNECTOR)?;
    crate::net::netlink_bufs::apply(
        crate::net::netlink_bufs::Kind::ProcessMonitor,
        sock.as_raw_fd(),
        None,
    );
    sock.bind(&SocketAddr::new(0, CN_IDX_PROC))?;
    Ok(sock)
}

/// The parent of `pid`, from `/proc/PID/stat` (the field after the
/// state, itself after the parenthesised comm).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Where the initial network namespace may be: pid 1's, then this
/// process's ancestors' (nearest first), each differing from our own.
fn candidates() -> Vec<std::path::PathBuf> {
    let own = std::fs::read_link("/proc/self/ns/net").ok();
    let mut pids = vec![1];
    let mut pid = std::process::id();
    while let Some(parent) = parent_of(pid).filter(|&p| p > 1 && p != pid) {
        pids.push(parent);
        pid = parent;
    }
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for p in pids {
        let path = std::path::PathBuf::from(format!("/proc/{p}/ns/net"));
        let Ok(ns) = std::fs::read_link(&path) else {
            continue;
        };
        if Some(&ns) != own.as_ref() && !seen.contains(&ns) {
            seen.push(ns);
            out.push(path);
        }
    }
    out
}

/// A subscribed socket opened in the initial network namespace (see the
/// module comment): a thread of its own enters it, so no other thread
/// moves.
fn open_in_initial_namespace(request: &[u8]) -> io::Result<Socket> {
    let mut last = io::Error::from_raw_os_error(libc::ECONNREFUSED);
    for path in candidates() {
        let req = request.to_vec();
        let opened = std::thread::spawn(move || {
            crate::process::enter_netns_path(&path)?;
            let s = open_here()?;
            s.send(&req, 0)?;
            Ok::<_, io::Error>(s)
        })
        .join()
        .map_err(|_| io::Error::other("namespace thread panicked"))?;
        match opened {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Connector {
    /// Opens and subscribes (needs CAP_NET_ADMIN).
    pub fn open() -> io::Result<Connector> {
        let sock = open_here()?;
        let request = listen_request();
        let sock = match sock.send(&request, 0) {
            Ok(_) => sock,
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                tracing::info!(
                    "track_process: no process events connector in this network namespace; \
                     subscribing from the initial one"
                );
                open_in_initial_namespace(&request)?
            }
            Err(e) => return Err(e),
        };
        sock.set_non_blocking(true)?;
        Ok(Connector { sock })
    }

    /// One datagram, from the kernel only: `Ok(None)` when there is
    /// nothing to read. ENOBUFS (events were lost) is an error the caller
    /// answers with a rescan.
    pub fn recv(&self, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
        buf.clear();
        match self.sock.recv_from(buf, 0) {
            Ok((n, from)) if from.port_number() == 0 => Ok(Some(n)),
            Ok(_) => Ok(Some(0)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(what: u32, data: &[u32]) -> Vec<u8> {
        let mut b = Vec::new();
        let total = (EVENT_DATA + 4 * data.len()) as u32;
        b.extend_from_slice(&total.to_ne_bytes());
        b.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        b.extend_from_slice(&[0; 10]);
        for v in [CN_IDX_PROC, CN_VAL_PROC, 7, 0] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        b.extend_from_slice(&[0; 4]); // len, flags
        b.extend_from_slice(&what.to_ne_bytes());
        b.extend_from_slice(&[0; 12]); // cpu, timestamp
        for v in data {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        b
    }

    #[test]
    fn events_decode_and_threads_are_dropped() {
        assert_eq!(parse(&event(0, &[0, 0])), Some(ProcEvent::Ack));
        assert_eq!(
            parse(&event(1, &[10, 10, 11, 11])),
            Some(ProcEvent::Fork {
                parent: 10,
                child: 11
            })
        );
        assert_eq!(parse(&event(1, &[10, 10, 12, 11])), None, "a new thread");
        assert_eq!(parse(&event(2, &[5, 5])), Some(ProcEvent::Exec { pid: 5 }));
        assert_eq!(parse(&event(2, &[6, 5])), None);
        assert_eq!(
            parse(&event(0x8000_0000, &[5, 5, 0, 17])),
            Some(ProcEvent::Exit { pid: 5 })
        );
        let name = u32::from_ne_bytes(*b"abc\0");
        assert_eq!(
            parse(&event(0x200, &[5, 5, name, 0, 0, 0])),
            Some(ProcEvent::Comm {
                pid: 5,
                comm: b"abc".to_vec()
            })
        );
        assert_eq!(parse(&event(0x4, &[5, 5])), None, "uid change");
    }

    #[test]
    fn malformed_messages_are_dropped() {
        let good = event(2, &[5, 5]);
        for cut in 0..good.len() {
            assert_eq!(parse(&good[..cut]), None);
        }
        let mut other = good.clone();
        other[NLMSG_HDR] = 9; // another connector
        assert_eq!(parse(&other), None);
        let mut err = good.clone();
        err[4] = NLMSG_ERROR as u8;
        assert_eq!(parse(&err), None);
        assert_eq!(listen_request().len(), 40);
    }
}
