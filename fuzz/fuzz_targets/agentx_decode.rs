//! Fuzzes the AgentX PDU decoder (RFC 2741) and the subagent session with
//! arbitrary bytes from a "master agent": nothing may panic, a decoded PDU
//! must survive a round trip, and whatever the session answers must
//! itself decode.
//!
//! Run with `cargo +nightly fuzz run agentx_decode` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem::snmp::pdu::{Pdu, frame_len};
use tandem::snmp::session::Session;
use tandem::snmp::view::MibView;
use tandem::snmp::{Oid, Value};

fuzz_target!(|data: &[u8]| {
    let _ = frame_len(data);
    let Ok(pdu) = Pdu::decode(data) else {
        return;
    };
    // Encoding writes big-endian and drops nothing but the byte order.
    assert_eq!(Pdu::decode(&pdu.encode()).as_ref(), Ok(&pdu));
    let mut view = MibView::default();
    view.insert(Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 1, 2, 0]), Value::text("lb1"));
    let (mut session, _open) = Session::start(vec![Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5])]);
    let out = session.receive(pdu, &view, 1);
    for answer in out.send {
        assert!(Pdu::decode(&answer.encode()).is_ok());
    }
});
