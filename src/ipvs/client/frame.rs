//! The netlink framing of IPVS requests and replies: a request as
//! complete bytes, a datagram split into messages, an NLMSG_ERROR read with
//! its extended-ack text.
//!
//! Bytes in, bytes out: no socket here ([`super::socket`] has it).

use netlink_packet_core::{
    NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer, NetlinkDeserializable, NetlinkHeader,
    NetlinkMessage, NlasIterator,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};

use super::error::IpvsError;
use crate::ipvs::message::{IPVS_GENL_NAME, IpvsMessage};

/// `NLM_F_CAPPED` in an error: the request was not echoed back.
const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` in an error: extended-ack attributes follow.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: the kernel's error text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// One message of a reply, with what matching needs.
pub(super) enum Reply {
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
pub(super) fn parse_error(
    hdr: &NetlinkHeader,
    body: &[u8],
) -> Result<(i32, Option<String>), IpvsError> {
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

pub(super) fn decode(family_id: u16, hdr: &NetlinkHeader, body: &[u8]) -> Result<Reply, IpvsError> {
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
pub(super) fn encode_into(
    family_id: u16,
    msg: IpvsMessage,
    flags: u16,
    seq: u32,
    out: &mut Vec<u8>,
) {
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
