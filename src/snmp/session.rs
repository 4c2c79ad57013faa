//! The subagent side of one AgentX session (RFC 2741 §7.1): Open, one
//! Register per enabled subtree, then answers to the master's Get, GetNext
//! and GetBulk from a [`MibView`], refusals for Sets, and Notify PDUs for
//! traps.
//!
//! Sans-IO: it takes decoded PDUs and returns the PDUs to write plus what
//! happened ([`Event`]); the daemon owns the socket, the clock and the
//! reconnects.

use super::pdu::{Body, Header, Oid, Pdu, VarBind, close_reason, pdu_type, res_error};
use super::view::MibView;

/// How far the session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Open sent, no answer yet.
    Opening,
    /// The master gave us this session id.
    Open(u32),
    /// Closed by either side; the connection should go.
    Closed,
}

/// What the daemon should know (and log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Opened { session_id: u32 },
    OpenFailed { error: u16 },
    Registered { subtree: Oid },
    RegisterFailed { subtree: Oid, error: u16 },
    NotifyFailed { error: u16 },
    ClosedByMaster { reason: u8 },
}

/// What the caller answers an incoming PDU with.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub send: Vec<Pdu>,
    pub events: Vec<Event>,
}

/// One session with the master agent.
#[derive(Debug)]
pub struct Session {
    phase: Phase,
    subtrees: Vec<Oid>,
    /// Packet ids of Registers not yet answered, and what they register.
    pending_register: Vec<(u32, Oid)>,
    open_packet: u32,
    next_packet: u32,
}

/// The subagent's identity in Open (o.id): KEEPALIVED-MIB's root, as
/// keepalived's.
pub fn subagent_id() -> Oid {
    Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5])
}

/// o.timeout: how long the master waits for an answer. tandem answers
/// from memory, so the master's default would do; 5 s rides out a busy
/// event loop.
const OPEN_TIMEOUT_S: u8 = 5;
/// r.priority: RFC 2741's default (§6.2.3).
const REGISTER_PRIORITY: u8 = 127;

impl Session {
    /// Start a session that will register `subtrees`; the first PDU to
    /// write is the Open this returns.
    pub fn start(subtrees: Vec<Oid>) -> (Session, Pdu) {
        let s = Session {
            phase: Phase::Opening,
            subtrees,
            pending_register: Vec::new(),
            open_packet: 1,
            next_packet: 2,
        };
        let open = Pdu {
            header: Header {
                packet_id: s.open_packet,
                ..Header::default()
            },
            context: None,
            body: Body::Open {
                timeout: OPEN_TIMEOUT_S,
                id: subagent_id(),
                descr: format!("tandem {}", env!("CARGO_PKG_VERSION")).into_bytes(),
            },
        };
        (s, open)
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    fn session_id(&self) -> u32 {
        match self.phase {
            Phase::Open(id) => id,
            _ => 0,
        }
    }

    fn next_header(&mut self) -> Header {
        let packet_id = self.next_packet;
        self.next_packet = self.next_packet.wrapping_add(1).max(1);
        Header {
            flags: 0,
            session_id: self.session_id(),
            transaction_id: 0,
            packet_id,
        }
    }

    /// A Notify carrying `varbinds` (sysUpTime.0, snmpTrapOID.0, then the
    /// trap's objects), or nothing while the session is not open.
    pub fn notify(&mut self, varbinds: Vec<VarBind>) -> Option<Pdu> {
        if !matches!(self.phase, Phase::Open(_)) {
            return None;
        }
        Some(Pdu {
            header: self.next_header(),
            context: None,
            body: Body::Notify(varbinds),
        })
    }

    /// The Close to send when the daemon stops.
    pub fn close(&mut self) -> Option<Pdu> {
        if !matches!(self.phase, Phase::Open(_)) {
            return None;
        }
        let header = self.next_header();
        self.phase = Phase::Closed;
        Some(Pdu {
            header,
            context: None,
            body: Body::Close {
                reason: close_reason::SHUTDOWN,
            },
        })
    }

    /// Handle one PDU from the master. `uptime_cs` is sysUpTime in
    /// hundredths of a second, for the Responses.
    pub fn receive(&mut self, pdu: Pdu, view: &MibView, uptime_cs: u32) -> Output {
        let mut out = Output::default();
        match pdu.body {
            Body::Response { error, .. } => self.response(pdu.header, error, &mut out),
            Body::Close { reason } => {
                self.phase = Phase::Closed;
                out.events.push(Event::ClosedByMaster { reason });
            }
            body => {
                if let Some(answer) = self.request(pdu.header, pdu.context.is_some(), body, view) {
                    out.send.push(answer.into_response(uptime_cs));
                }
            }
        }
        out
    }

    /// The master's answer to our Open, a Register or a Notify.
    fn response(&mut self, header: Header, error: u16, out: &mut Output) {
        if self.phase == Phase::Opening && header.packet_id == self.open_packet {
            if error != res_error::NO_ERROR {
                self.phase = Phase::Closed;
                out.events.push(Event::OpenFailed { error });
                return;
            }
            self.phase = Phase::Open(header.session_id);
            out.events.push(Event::Opened {
                session_id: header.session_id,
            });
            for subtree in self.subtrees.clone() {
                let h = self.next_header();
                self.pending_register.push((h.packet_id, subtree.clone()));
                out.send.push(Pdu {
                    header: h,
                    context: None,
                    body: Body::Register {
                        timeout: 0,
                        priority: REGISTER_PRIORITY,
                        subtree,
                    },
                });
            }
            return;
        }
        if let Some(i) = self
            .pending_register
            .iter()
            .position(|(id, _)| *id == header.packet_id)
        {
            let (_, subtree) = self.pending_register.swap_remove(i);
            out.events.push(if error == res_error::NO_ERROR {
                Event::Registered { subtree }
            } else {
                Event::RegisterFailed { subtree, error }
            });
        } else if error != res_error::NO_ERROR {
            out.events.push(Event::NotifyFailed { error });
        }
    }

    /// A request from the master: what to answer, if anything.
    fn request(&self, header: Header, context: bool, body: Body, view: &MibView) -> Option<Answer> {
        let answer = |error: u16, index: u16, varbinds: Vec<VarBind>| {
            Some(Answer {
                header,
                error,
                index,
                varbinds,
            })
        };
        if context {
            // Only the default context is registered (RFC 2741 §6.2.16).
            return answer(262, 0, Vec::new());
        }
        match body {
            Body::Get(ranges) => answer(0, 0, ranges.iter().map(|r| view.get(r)).collect()),
            Body::GetNext(ranges) => {
                answer(0, 0, ranges.iter().map(|r| view.get_next(r)).collect())
            }
            Body::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges,
            } => answer(0, 0, view.get_bulk(non_repeaters, max_repetitions, &ranges)),
            // Everything tandem exposes is read-only (RFC 2741 §7.2.4.1).
            Body::Other(pdu_type::TEST_SET) => answer(res_error::NOT_WRITABLE, 1, Vec::new()),
            Body::Other(pdu_type::COMMIT_SET | pdu_type::UNDO_SET) => answer(0, 0, Vec::new()),
            // CleanupSet has no response (§7.2.4.4).
            Body::Other(pdu_type::CLEANUP_SET) => None,
            Body::Ping => answer(0, 0, Vec::new()),
            _ => answer(res_error::PROCESSING_ERROR, 0, Vec::new()),
        }
    }
}

/// A Response about to be written: the request's ids, error, varbinds.
struct Answer {
    header: Header,
    error: u16,
    index: u16,
    varbinds: Vec<VarBind>,
}

impl Answer {
    fn into_response(self, sys_uptime: u32) -> Pdu {
        Pdu {
            header: Header {
                flags: 0,
                ..self.header
            },
            context: None,
            body: Body::Response {
                sys_uptime,
                error: self.error,
                index: self.index,
                varbinds: self.varbinds,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pdu::{SearchRange, Value};
    use super::*;

    fn response(session_id: u32, packet_id: u32, error: u16) -> Pdu {
        Pdu {
            header: Header {
                session_id,
                packet_id,
                ..Header::default()
            },
            context: None,
            body: Body::Response {
                sys_uptime: 0,
                error,
                index: 0,
                varbinds: Vec::new(),
            },
        }
    }

    #[test]
    fn open_then_register_then_answer() {
        let tree = subagent_id().child(&[2]);
        let (mut s, open) = Session::start(vec![tree.clone()]);
        assert!(matches!(open.body, Body::Open { .. }));
        let view = MibView::default();
        let out = s.receive(response(42, open.header.packet_id, 0), &view, 0);
        assert_eq!(s.phase(), Phase::Open(42));
        assert_eq!(out.events, [Event::Opened { session_id: 42 }]);
        let [reg] = &out.send[..] else {
            panic!("one Register expected: {:?}", out.send)
        };
        assert_eq!(reg.header.session_id, 42);
        let out = s.receive(response(42, reg.header.packet_id, 0), &view, 0);
        assert_eq!(out.events, [Event::Registered { subtree: tree }]);

        let mut view = MibView::default();
        view.insert(subagent_id().child(&[1, 1, 0]), Value::text("tandem"));
        let get = Pdu {
            header: Header {
                session_id: 42,
                transaction_id: 5,
                packet_id: 6,
                flags: 0,
            },
            context: None,
            body: Body::GetNext(vec![SearchRange {
                start: subagent_id(),
                include: false,
                end: Oid::default(),
            }]),
        };
        let out = s.receive(get, &view, 77);
        let [
            Pdu {
                header,
                body:
                    Body::Response {
                        sys_uptime,
                        varbinds,
                        ..
                    },
                ..
            },
        ] = &out.send[..]
        else {
            panic!("a Response expected: {:?}", out.send)
        };
        assert_eq!(
            (header.transaction_id, header.packet_id, *sys_uptime),
            (5, 6, 77)
        );
        assert_eq!(varbinds[0].value, Value::text("tandem"));
    }

    #[test]
    fn a_refused_open_or_register_is_reported() {
        let (mut s, open) = Session::start(vec![subagent_id()]);
        let out = s.receive(
            response(0, open.header.packet_id, 256),
            &MibView::default(),
            0,
        );
        assert_eq!(out.events, [Event::OpenFailed { error: 256 }]);
        assert_eq!(s.phase(), Phase::Closed);
        assert!(s.notify(Vec::new()).is_none());

        let (mut s, open) = Session::start(vec![subagent_id()]);
        let out = s.receive(
            response(9, open.header.packet_id, 0),
            &MibView::default(),
            0,
        );
        let id = out.send[0].header.packet_id;
        let out = s.receive(response(9, id, 263), &MibView::default(), 0);
        assert_eq!(
            out.events,
            [Event::RegisterFailed {
                subtree: subagent_id(),
                error: 263
            }]
        );
    }

    #[test]
    fn sets_are_refused_and_close_ends_the_session() {
        let (mut s, open) = Session::start(Vec::new());
        s.receive(
            response(3, open.header.packet_id, 0),
            &MibView::default(),
            0,
        );
        let test_set = Pdu {
            header: Header::default(),
            context: None,
            body: Body::Other(pdu_type::TEST_SET),
        };
        let out = s.receive(test_set, &MibView::default(), 0);
        assert!(matches!(
            out.send[0].body,
            Body::Response {
                error: res_error::NOT_WRITABLE,
                ..
            }
        ));
        assert!(s.notify(Vec::new()).is_some());
        let close = Pdu {
            header: Header::default(),
            context: None,
            body: Body::Close { reason: 5 },
        };
        let out = s.receive(close, &MibView::default(), 0);
        assert_eq!(out.events, [Event::ClosedByMaster { reason: 5 }]);
        assert_eq!(s.phase(), Phase::Closed);
    }
}
