//! One BFD session in Asynchronous mode (RFC 5880 §6), sans-IO.
//!
//! The session is fed received Control packets and the time, and says
//! when it wants to be woken and what to send: [`Session::receive`],
//! [`Session::handle_timeout`], [`Session::poll_transmit`] and
//! [`Session::next_deadline`]. Time is a number of microseconds on a clock
//! the caller owns; randomness (the jitter of §6.8.7) comes from a seed
//! the caller gives, so a test replays exactly.
//!
//! Where keepalived 2.2.7 and the RFC differ, this follows the RFC except
//! where interoperating with keepalived needs otherwise; each such place
//! says so. Not implemented (keepalived has none either): Demand mode of
//! our own, the Echo function, authentication (a packet with the A bit is
//! dropped, §6.8.6).
//!
//! Owns the per-session state variables of §6.8.1 and its timers; may not
//! do I/O, read a clock, or know the configuration's syntax.

use serde::Serialize;

use super::packet::{ControlPacket, State, diag};

/// One session's settings, keepalived's `bfd_instance` keywords mapped
/// onto RFC 5880's variables. Intervals in microseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionParams {
    /// `min_tx`: bfd.DesiredMinTxInterval while Up.
    pub desired_min_tx_us: u32,
    /// `min_rx`: bfd.RequiredMinRxInterval.
    pub required_min_rx_us: u32,
    /// `idle_tx`: bfd.DesiredMinTxInterval while not Up (§6.8.3: at least
    /// one second; keepalived's minimum for it is 1000 ms).
    pub idle_tx_us: u32,
    /// `multiplier`: bfd.DetectMult.
    pub detect_mult: u8,
    /// `passive`: the Passive role of §6.1 (send nothing until the
    /// neighbour has been heard).
    pub passive: bool,
    /// `ttl` / `hoplimit`: what packets are sent with. RFC 5881 §5 wants
    /// 255; keepalived's defaults are 255 for IPv4 and 64 for IPv6, and
    /// tandem keeps them so that either side reads the other.
    pub ttl: u8,
    /// `max_hops`: a received packet's TTL / hop limit may be at most this
    /// much below `ttl` (RFC 5881 §5's check with 0, the default); 255
    /// disables the check.
    pub max_hops: u8,
}

/// A change of bfd.SessionState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: State,
    pub to: State,
    /// bfd.LocalDiag after the change.
    pub diag: u8,
}

impl Transition {
    /// Whether the session came Up or left Up: what trackers follow.
    pub fn changes_up(&self) -> bool {
        (self.from == State::Up) != (self.to == State::Up)
    }
}

/// Why a well-formed packet was not taken by the session it was meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum Refused {
    /// RFC 5881 §5 (GTSM): TTL / hop limit below `ttl - max_hops`, or not
    /// known at all.
    #[error("TTL / hop limit too low")]
    Ttl,
    /// §6.8.6: A bit set and no authentication in use.
    #[error("authentication is not in use")]
    Auth,
}

/// Per-session counts, for `tandem status` and the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SessionCounters {
    pub rx: u64,
    pub tx: u64,
    pub rx_ttl_dropped: u64,
    pub rx_auth_dropped: u64,
    pub up_transitions: u64,
    pub down_transitions: u64,
}

/// What `tandem status` shows of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionStatus {
    pub state: State,
    pub remote_state: State,
    pub local_diag: u8,
    pub remote_diag: u8,
    pub local_discr: u32,
    pub remote_discr: u32,
    pub tx_interval_us: u32,
    pub detect_time_us: u64,
    pub remote_min_rx_us: u32,
    pub remote_min_tx_us: u32,
    pub remote_detect_mult: u8,
    pub counters: SessionCounters,
}

/// A small xorshift64* generator: the jitter needs spread, not secrecy.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One session: RFC 5880 §6.8.1's state variables and three timers.
#[derive(Debug, Clone)]
pub struct Session {
    params: SessionParams,
    state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: u8,
    remote_diag: u8,
    /// bfd.RemoteMinRxInterval; §6.8.1 initialises it to 1.
    remote_min_rx_us: u32,
    /// The neighbour's last Desired Min TX Interval.
    remote_min_tx_us: u32,
    remote_demand: bool,
    remote_detect_mult: u8,
    /// A Poll Sequence is in progress (§6.5).
    poll: bool,
    /// A packet with F set is owed (§6.8.7).
    final_owed: bool,
    /// A packet should go out now (a state change, the first packet).
    send_now: bool,
    tx_interval_us: u32,
    detect_time_us: u64,
    next_tx: Option<u64>,
    /// The Detection Time runs out (§6.8.4).
    detect_at: Option<u64>,
    rng: Rng,
    counters: SessionCounters,
}

impl Session {
    /// A new session in Down (§6.8.1). `local_discr` must be nonzero and
    /// unique on this system (the table chooses it); `seed` drives the
    /// jitter.
    pub fn new(params: SessionParams, local_discr: u32, now: u64, seed: u64) -> Session {
        let mut s = Session {
            state: State::Down,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: diag::NONE,
            remote_diag: diag::NONE,
            remote_min_rx_us: 1,
            remote_min_tx_us: 0,
            remote_demand: false,
            remote_detect_mult: 0,
            poll: false,
            final_owed: false,
            // keepalived sends its first packet at once, unless passive.
            send_now: !params.passive,
            tx_interval_us: params.idle_tx_us,
            detect_time_us: 0,
            next_tx: None,
            detect_at: None,
            rng: Rng(seed | 1),
            counters: SessionCounters::default(),
            params,
        };
        s.update_tx_interval(now);
        s
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn is_up(&self) -> bool {
        self.state == State::Up
    }

    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    pub fn params(&self) -> &SessionParams {
        &self.params
    }

    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            state: self.state,
            remote_state: self.remote_state,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            tx_interval_us: self.tx_interval_us,
            detect_time_us: self.detect_time_us,
            remote_min_rx_us: self.remote_min_rx_us,
            remote_min_tx_us: self.remote_min_tx_us,
            remote_detect_mult: self.remote_detect_mult,
            counters: self.counters.clone(),
        }
    }

    /// bfd.DesiredMinTxInterval now: §6.8.3, at least one second
    /// (`idle_tx`) while not Up.
    fn desired_min_tx(&self) -> u32 {
        if self.state == State::Up {
            self.params.desired_min_tx_us
        } else {
            self.params.idle_tx_us
        }
    }

    /// §6.8.7: the transmission interval is the larger of
    /// bfd.DesiredMinTxInterval and bfd.RemoteMinRxInterval. A shorter
    /// interval takes effect at once (the next packet is brought forward);
    /// a longer one from the next packet on.
    fn update_tx_interval(&mut self, now: u64) {
        let new = self.desired_min_tx().max(self.remote_min_rx_us);
        let shorter = new < self.tx_interval_us;
        self.tx_interval_us = new;
        if shorter || self.next_tx.is_none() {
            let next = now + self.jittered_interval();
            self.next_tx = Some(self.next_tx.map_or(next, |t| t.min(next)));
        }
    }

    /// §6.8.7: each interval is reduced by a random 0–25 %, or by 10–25 %
    /// when bfd.DetectMult is 1.
    fn jittered_interval(&mut self) -> u64 {
        let iv = u64::from(self.tx_interval_us);
        let (lo, hi) = if self.params.detect_mult == 1 {
            (iv / 10, iv / 4)
        } else {
            (0, iv / 4)
        };
        let span = hi - lo + 1;
        iv - (lo + self.rng.next() % span)
    }

    /// §6.8.7: may periodic packets go out at all?
    fn may_transmit(&self) -> bool {
        // "MUST NOT transmit ... if bfd.RemoteDiscr is zero and the system
        // is taking the Passive role."
        if self.params.passive && self.remote_discr == 0 {
            return false;
        }
        // "MUST NOT transmit periodic ... if bfd.RemoteMinRxInterval is
        // zero" ...
        if self.remote_min_rx_us == 0 {
            return false;
        }
        // ... "or if bfd.RemoteDemandMode is 1, bfd.SessionState is Up
        // and bfd.RemoteSessionState is Up".
        !(self.remote_demand && self.state == State::Up && self.remote_state == State::Up)
    }

    /// When the caller must next call [`Session::handle_timeout`] /
    /// [`Session::poll_transmit`].
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        let tx = if self.final_owed || (self.send_now && self.may_transmit()) {
            Some(now)
        } else if self.may_transmit() {
            self.next_tx
        } else {
            None
        };
        [tx, self.detect_at].into_iter().flatten().min()
    }

    /// §6.8.4: the Detection Time passed without a valid packet.
    pub fn handle_timeout(&mut self, now: u64) -> Option<Transition> {
        let at = self.detect_at?;
        if now < at {
            return None;
        }
        self.detect_at = None;
        // "If a period of a Detection Time passes without the receipt of a
        // valid, authenticated BFD packet from the remote system, this
        // variable [bfd.RemoteDiscr] MUST be set to zero."
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.remote_demand = false;
        self.poll = false;
        if matches!(self.state, State::Init | State::Up) {
            return self.go(now, State::Down, diag::EXPIRED);
        }
        None
    }

    /// The packet to send now, if one is due: a Final owed, a state change,
    /// or the periodic timer.
    pub fn poll_transmit(&mut self, now: u64) -> Option<ControlPacket> {
        let periodic = self.may_transmit() && self.next_tx.is_some_and(|t| t <= now);
        let urgent = self.final_owed || (self.send_now && self.may_transmit());
        if !periodic && !urgent {
            return None;
        }
        if periodic || self.send_now {
            self.next_tx = Some(now + self.jittered_interval());
        }
        // §6.5: P and F are never both set; a Final answers now and the
        // Poll goes on in the next packet.
        let final_ = self.final_owed;
        let p = ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll: self.poll && !final_,
            final_,
            cpi: false,
            auth: false,
            demand: false,
            multipoint: false,
            detect_mult: self.params.detect_mult,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx_us: self.desired_min_tx(),
            required_min_rx_us: self.params.required_min_rx_us,
            // No Echo function (§6.8.9 allows zero).
            required_min_echo_rx_us: 0,
        };
        self.final_owed = false;
        self.send_now = false;
        self.counters.tx += 1;
        Some(p)
    }

    /// RFC 5881 §5: the Generalized TTL Security Mechanism, extended by
    /// keepalived's `max_hops`. keepalived compares with its own `ttl`
    /// setting, not 255, so an IPv6 peer sending keepalived's default hop
    /// limit 64 is read by a tandem with the same default.
    fn ttl_ok(&self, ttl: Option<u8>) -> bool {
        if self.params.max_hops == u8::MAX {
            return true;
        }
        match ttl {
            Some(t) => u16::from(t) + u16::from(self.params.max_hops) >= u16::from(self.params.ttl),
            None => false,
        }
    }

    /// §6.8.6, from "If the A bit is set" on: a packet this session was
    /// selected for (by Your Discriminator, or by address when that is 0).
    pub fn receive(
        &mut self,
        now: u64,
        p: &ControlPacket,
        ttl: Option<u8>,
    ) -> Result<Option<Transition>, Refused> {
        if !self.ttl_ok(ttl) {
            self.counters.rx_ttl_dropped += 1;
            return Err(Refused::Ttl);
        }
        if p.auth {
            self.counters.rx_auth_dropped += 1;
            return Err(Refused::Auth);
        }
        self.counters.rx += 1;
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        self.remote_diag = p.diag;
        self.remote_demand = p.demand;
        self.remote_min_rx_us = p.required_min_rx_us;
        self.remote_min_tx_us = p.desired_min_tx_us;
        self.remote_detect_mult = p.detect_mult;
        // §6.5: "If the Final (F) bit is set ... terminate the Poll
        // Sequence".
        if p.final_ {
            self.poll = false;
        }
        // §6.8.4: Detection Time = the remote's Detect Mult × the larger of
        // our Required Min RX and its last Desired Min TX.
        self.detect_time_us = u64::from(p.detect_mult)
            * u64::from(self.params.required_min_rx_us.max(p.desired_min_tx_us));
        self.detect_at = Some(now + self.detect_time_us);
        // §6.8.7: "If a BFD Control packet is received with the Poll (P)
        // bit set to 1, the receiving system MUST transmit a BFD Control
        // packet with the Poll (P) bit clear and the Final (F) bit set as
        // soon as practicable".
        if p.poll {
            self.final_owed = true;
        }
        let change = self.state_machine(now);
        self.update_tx_interval(now);
        Ok(change)
    }

    /// §6.8.6's state table (the diagram of §6.2).
    fn state_machine(&mut self, now: u64) -> Option<Transition> {
        if self.state == State::AdminDown {
            return None;
        }
        if self.remote_state == State::AdminDown {
            if self.state != State::Down {
                return self.go(now, State::Down, diag::NEIGHBOR_DOWN);
            }
            return None;
        }
        match (self.state, self.remote_state) {
            (State::Down, State::Down) => self.go(now, State::Init, diag::NONE),
            (State::Down, State::Init) => self.go(now, State::Up, diag::NONE),
            (State::Init, State::Init | State::Up) => self.go(now, State::Up, diag::NONE),
            (State::Up, State::Down) => self.go(now, State::Down, diag::NEIGHBOR_DOWN),
            _ => None,
        }
    }

    fn go(&mut self, now: u64, to: State, diag_code: u8) -> Option<Transition> {
        let from = self.state;
        self.state = to;
        // keepalived clears the diagnostic when rising; the RFC leaves it
        // open. Down keeps the reason it went down for.
        self.local_diag = diag_code;
        match to {
            State::Up => {
                self.counters.up_transitions += 1;
                // §6.8.3: DesiredMinTx changes from idle_tx to min_tx, so
                // a Poll Sequence starts (keepalived does the same).
                if self.params.desired_min_tx_us != self.params.idle_tx_us {
                    self.poll = true;
                }
            }
            State::Down if from == State::Up => {
                self.counters.down_transitions += 1;
                self.poll = false;
            }
            _ => {}
        }
        // Tell the neighbour at once rather than at the next (perhaps one
        // second away) periodic packet.
        self.send_now = true;
        self.update_tx_interval(now);
        Some(Transition {
            from,
            to,
            diag: diag_code,
        })
    }
}
