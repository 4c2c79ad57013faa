//! VRRP (RFC 3768, RFC 5798): wire format and the sans-IO state machine.
