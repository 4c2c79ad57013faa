//! The I/O side of one instance ([`InstanceIo`]): its plan, its send
//! socket, its VIPs and their announcements, and the bookkeeping around
//! them (the VIP gate's wait, gratuitous ARP counters, sparse drop logs).
//!
//! Owned by the unit task and used only from it. It changes addresses and
//! routes through the unit's rtnetlink handle and sends on sockets the
//! daemon opened; it never reads or drives the state machine: the unit
//! decides, this carries out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::net::{ReceivedAdvert, Rtnl, VrrpSendSocket};
use crate::vrrp::ah::IpsecAh;
use crate::vrrp::packet::{CodecOptions, Received, RxError, decode_ipv4, decode_ipv6};

use crate::daemon::addrs::{Announcer, Burst, VipSet};
use crate::daemon::plan::InstancePlan;

/// The I/O side of one instance.
pub struct InstanceIo {
    pub plan: InstancePlan,
    pub send: Arc<VrrpSendSocket>,
    pub announcer: Announcer,
    /// The VIPs are configured on the interface right now.
    pub(super) vips_held: bool,
    /// MASTER since this instant, waiting for its IPVS rules before it
    /// takes the VIPs (the VIP gate, [`RulesState`](crate::daemon::bus::RulesState)).
    pub(super) vips_pending: Option<Instant>,
    /// The gratuitous burst (its repeat) held back with the VIPs.
    pub(super) garp_pending: Option<u32>,
    /// The advert of a new master (its priority), held back with the VIPs
    /// since this instant (`handover`).
    pub(super) advert_pending: Option<(u8, Instant)>,
    /// Adverts from a source not in `unicast_peer`.
    pub unicast_peer_drops: u64,
    /// `auth_type AH`: the key and the sequence counter (keepalived's one
    /// counter for what is sent and what is accepted).
    pub(super) ah: Option<IpsecAh>,
    /// Gratuitous ARP and unsolicited NA packets sent for this instance's
    /// VIPs (every address of every round): the bursts run on tasks of
    /// their own, which add to it as each packet leaves.
    pub(super) garp_sent: Arc<AtomicU64>,
    /// When a garp_master_refresh round is due.
    pub(super) refresh_at: Option<Instant>,
    /// When a garp_extra_if round is due.
    pub(super) extra_if_at: Option<Instant>,
    /// Drop logging, kept sparse so a flood cannot fill the log: each
    /// (source, reason) at most once a second, at most
    /// [`DROP_LOGS_PER_SECOND`] lines a second in all.
    drop_log: HashMap<(IpAddr, String), Instant>,
    drop_window: Option<Instant>,
    drops_logged_in_window: u32,
    drops_not_logged: u64,
    /// When this instance started running (Unix ms): the origin of the
    /// VRRP MIBs' up time.
    pub(super) started_unix_ms: u64,
}

/// The most drop lines one instance logs per second.
const DROP_LOGS_PER_SECOND: u32 = 20;

impl InstanceIo {
    pub fn new(plan: InstancePlan, send: Arc<VrrpSendSocket>, announcer: Announcer) -> InstanceIo {
        InstanceIo {
            send,
            announcer,
            vips_held: false,
            vips_pending: None,
            garp_pending: None,
            advert_pending: None,
            unicast_peer_drops: 0,
            ah: plan.ah_pass.as_ref().map(|p| IpsecAh::new(p.as_bytes())),
            garp_sent: Arc::default(),
            refresh_at: None,
            extra_if_at: None,
            drop_log: HashMap::new(),
            drop_window: None,
            drops_logged_in_window: 0,
            drops_not_logged: 0,
            started_unix_ms: crate::process::unix_ms_now(),
            plan,
        }
    }

    /// The bytes to send for the VRRP message `msg` to `dst`: the message
    /// itself, or with `auth_type AH` the whole IPv4 datagram around it.
    pub(super) fn wire(&mut self, msg: Vec<u8>, dst: IpAddr) -> Vec<u8> {
        match (&mut self.ah, self.plan.src, dst) {
            (Some(ah), IpAddr::V4(src), IpAddr::V4(d)) => {
                let unicast = !d.is_multicast();
                let ttl = if unicast {
                    self.plan.unicast_ttl
                } else {
                    crate::vrrp::packet::TTL
                };
                ah.seal(&msg, src, d, ttl, unicast)
            }
            _ => msg,
        }
    }

    /// Send a gratuitous ARP / unsolicited NA burst of `repeat` rounds for
    /// every VIP, paced by the interfaces' delays (`garp_group`,
    /// `vrrp_garp_interval` / `vrrp_gna_interval`).
    pub(super) fn gratuitous(&self, repeat: u32, name: String) {
        self.announce(repeat, name, false);
    }

    /// As [`InstanceIo::gratuitous`], with the first round on the wire
    /// before it returns (a new master about to send its first advert).
    pub(super) fn gratuitous_first_now(&self, repeat: u32, name: String) {
        self.announce(repeat, name, true);
    }

    fn announce(&self, repeat: u32, name: String, first_now: bool) {
        self.announcer.announce(
            &self.plan.vips,
            Burst { repeat },
            name,
            self.garp_sent.clone(),
            first_now,
        );
    }

    /// Start (as master) or stop the garp_extra_if rounds: the first one
    /// interval after becoming master, as keepalived times it.
    pub(super) fn arm_extra_if(&mut self, master: bool) {
        self.extra_if_at = match (master, &self.plan.garp.extra_if) {
            (true, Some(x)) => Some(Instant::now() + x.interval),
            _ => None,
        };
    }

    /// A garp_extra_if round, if due: one announcement on each of the
    /// VIPs' other interfaces, then the next one scheduled. On its own
    /// timer, apart from the bursts of becoming master and refresh.
    pub(super) fn extra_if_round(&mut self, now: Instant) {
        let Some(x) = self.plan.garp.extra_if.clone() else {
            self.extra_if_at = None;
            return;
        };
        if self.extra_if_at.is_none_or(|t| t > now) {
            return;
        }
        self.extra_if_at = Some(now + x.interval);
        if self.vips_held {
            let burst = Burst { repeat: 1 };
            let set = x.subset(&self.plan.vips);
            let name = self.plan.name.clone();
            self.announcer
                .announce(&set, burst, name, self.garp_sent.clone(), true);
        }
    }

    /// Log a dropped advert, unless the same source was dropped for the
    /// same reason within the last second or this second's lines are used
    /// up; the next line logged says how many were not.
    pub(super) fn log_drop(&mut self, src: IpAddr, why: &str) {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        if self
            .drop_window
            .is_none_or(|t| now.duration_since(t) >= second)
        {
            self.drop_window = Some(now);
            self.drops_logged_in_window = 0;
        }
        let key = (src, why.to_string());
        let recent = self
            .drop_log
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < second);
        if recent || self.drops_logged_in_window >= DROP_LOGS_PER_SECOND {
            self.drops_not_logged += 1;
            return;
        }
        if self.drop_log.len() >= 256 {
            self.drop_log.clear();
        }
        self.drop_log.insert(key, now);
        self.drops_logged_in_window += 1;
        tracing::warn!(
            instance = %self.plan.name, %src, reason = why, not_logged = self.drops_not_logged,
            "VRRP_Instance({}) dropped advert from {src}: {why}", self.plan.name
        );
        self.drops_not_logged = 0;
    }

    /// A reload gave this master other VIPs (`new`): remove the addresses,
    /// routes and rules it took away, add and announce the ones it added. The
    /// addresses that stay are not touched (no flap, no new burst).
    pub(super) fn change_held_vips(
        &mut self,
        rtnl: &mut Rtnl,
        new: &InstancePlan,
        announcer: &Announcer,
    ) {
        let old = &self.plan.vips;
        // A set of its own: removing it must not cancel the
        // announcements of the addresses that stay.
        let mut gone = VipSet::default();
        gone.addresses = old
            .addresses
            .iter()
            .filter(|a| !new.vips.addresses.contains(a))
            .cloned()
            .collect();
        gone.routes = old
            .routes
            .iter()
            .filter(|r| !new.vips.routes.contains(r))
            .cloned()
            .collect();
        gone.rules = old
            .rules
            .iter()
            .filter(|r| !new.vips.rules.contains(r))
            .cloned()
            .collect();
        gone.keep = old.keep.clone();
        gone.filter = old.filter.clone();
        if !gone.addresses.is_empty() || !gone.routes.is_empty() || !gone.rules.is_empty() {
            gone.remove(rtnl, &new.name);
        }
        let mut added = new.vips.clone();
        added.addresses.retain(|a| !old.addresses.contains(a));
        added.routes.retain(|r| !old.routes.contains(r));
        added.rules.retain(|r| !old.rules.contains(r));
        if !added.addresses.is_empty() || !added.routes.is_empty() || !added.rules.is_empty() {
            added.add(rtnl, &new.name);
            self.announcer = announcer.clone();
            self.announcer.announce(
                &added,
                Burst {
                    repeat: new.garp.master_repeat.max(1),
                },
                new.name.clone(),
                self.garp_sent.clone(),
                false,
            );
        }
    }
}

/// Decode an advert as its family says: IPv6 from the payload and the
/// reported hop limit (none reported fails the TTL check), IPv4 from the
/// whole datagram.
pub(super) fn decode(advert: &ReceivedAdvert, codec: CodecOptions) -> Result<Received, RxError> {
    match (advert.src, advert.dst) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            decode_ipv6(src, dst, advert.ttl.unwrap_or(0), advert.vrrp(), codec)
        }
        _ => decode_ipv4(&advert.packet, codec),
    }
}
