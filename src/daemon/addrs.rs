//! An instance's virtual addresses and routes, and announcing them.
//!
//! keepalived semantics: `virtual_ipaddress` and `virtual_ipaddress_excluded`
//! are both configured on the interface while master and removed otherwise
//! (the excluded ones are just not carried in adverts); `virtual_routes`
//! follow the addresses, and `virtual_rules` the routes (added last,
//! removed first, as keepalived orders them). Gratuitous ARP / unsolicited NA go out for every
//! address, on the interface that carries it.
//!
//! Carries out, never decides: the unit task that owns an instance calls
//! these when its state machine says so. Bursts run on tasks of their own
//! and stop when their addresses are removed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::net::{
    AcceptFilter, DropEntry, GarpSender, IfAddress, NaSender, NftSettings, Route, Rtnl, Rule,
};
use crate::vrrp::garp_delay::{Announcement, GarpDelay};
use crate::vrrp::time::Time;

/// The addresses and routes an instance owns while master.
#[derive(Debug, Clone, Default)]
pub struct VipSet {
    pub addresses: Vec<IfAddress>,
    pub routes: Vec<Route>,
    /// `virtual_rules`.
    pub rules: Vec<Rule>,
    /// Addresses that are the interface's own and never removed: an
    /// address owner's (priority 255) VIPs that were configured on the
    /// interface before tandem started (RFC 5798 §1: the owner's VIPs are
    /// real interface addresses).
    pub keep: Vec<IpAddr>,
    /// Which mastership the addresses belong to: bumped by [`VipSet::remove`]
    /// before anything is deleted. An announcement burst remembers the
    /// value it started under and sends only while it is unchanged, checked
    /// under this lock right before each packet — so once "removing VIPs"
    /// begins, no gratuitous ARP/NA for them can follow (a late one would
    /// pull clients back to a node that no longer answers).
    mastership: Arc<Mutex<u64>>,
    /// Not in accept mode (RFC 5798 §6.1): the table to drop traffic to
    /// these addresses in while they are held. `None`: accept mode.
    pub no_accept: Option<NftSettings>,
    /// The daemon's one nftables table (attached by `running` to every
    /// instance, so that a reload that turns accept mode on can still
    /// release what the old plan held).
    pub filter: Option<Arc<AcceptFilter>>,
}

impl VipSet {
    /// Configure every address, then every route. Failures are logged and
    /// the rest still applied: a half-configured master is better than none.
    /// Returns the number of failures.
    pub fn add(&self, rtnl: &mut Rtnl, instance: &str) -> usize {
        let mut failed = 0;
        // The drop rules first: no packet to a VIP may be accepted in
        // between.
        if !self.hold_filter(instance) {
            failed += 1;
        }
        for a in &self.addresses {
            match rtnl.add_address(a) {
                Ok(_) => {
                    tracing::debug!(instance, address = %a.addr, prefix = a.prefix_len, "VIP added")
                }
                Err(e) => {
                    failed += 1;
                    tracing::error!(instance, address = %a.addr, error = %e, "cannot add VIP");
                }
            }
        }
        for r in &self.routes {
            if let Err(e) = rtnl.add_route(r) {
                failed += 1;
                tracing::error!(instance, route = %format!("{}/{}", r.dst, r.dst_len), error = %e, "cannot add virtual route");
            }
        }
        for r in &self.rules {
            if let Err(e) = rtnl.add_rule(r) {
                failed += 1;
                tracing::error!(instance, rule = %r.describe(), error = %e, "cannot add virtual rule");
            }
        }
        if failed == 0 {
            tracing::info!(
                instance,
                addresses = %self.list(),
                "VRRP_Instance({instance}) setting VIPs"
            );
        }
        failed
    }

    /// Remove every route, then every address. Absent ones are fine.
    /// Any announcement burst still running for them is cancelled first.
    pub fn remove(&self, rtnl: &mut Rtnl, instance: &str) -> usize {
        self.end_mastership();
        let mut failed = 0;
        for r in &self.rules {
            if let Err(e) = rtnl.del_rule(r) {
                failed += 1;
                tracing::error!(instance, rule = %r.describe(), error = %e, "cannot remove virtual rule");
            }
        }
        for r in &self.routes {
            if let Err(e) = rtnl.del_route(r) {
                failed += 1;
                tracing::error!(instance, route = %format!("{}/{}", r.dst, r.dst_len), error = %e, "cannot remove virtual route");
            }
        }
        for a in self
            .addresses
            .iter()
            .filter(|a| !self.keep.contains(&a.addr))
        {
            if let Err(e) = rtnl.del_address(a) {
                failed += 1;
                tracing::error!(instance, address = %a.addr, error = %e, "cannot remove VIP");
            }
        }
        tracing::info!(instance, addresses = %self.list(), "VRRP_Instance({instance}) removing VIPs");
        if !self.release_filter(instance) {
            failed += 1;
        }
        failed
    }

    fn drop_entries(&self) -> Vec<DropEntry> {
        self.addresses
            .iter()
            .map(|a| DropEntry {
                addr: a.addr,
                ifindex: a.ifindex,
            })
            .collect()
    }

    /// In non-accept mode, drop traffic to these addresses (nftables).
    /// False when the table could not be written (logged).
    pub fn hold_filter(&self, instance: &str) -> bool {
        let (Some(filter), Some(settings)) = (&self.filter, &self.no_accept) else {
            return true;
        };
        match filter.hold(settings, instance, &self.drop_entries()) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(instance, error = %e, "cannot install the no_accept drop rules");
                false
            }
        }
    }

    /// Stop dropping traffic to these addresses (whatever the mode: a
    /// reload may have turned accept mode on). False on failure (logged).
    pub fn release_filter(&self, instance: &str) -> bool {
        let Some(filter) = &self.filter else {
            return true;
        };
        match filter.release(instance, &self.drop_entries()) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(instance, error = %e, "cannot remove the no_accept drop rules");
                false
            }
        }
    }

    /// At startup, remove the addresses this instance will own that are
    /// already on their interface (a previous run killed with -9, or an
    /// operator's `ip addr add`): a backup must not answer for a VIP.
    /// keepalived does the same. Returns the addresses removed.
    pub fn remove_stale(&self, rtnl: &mut Rtnl, instance: &str) -> Vec<IpAddr> {
        let present = match rtnl.addresses() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(instance, error = %e, "cannot list addresses at startup");
                return Vec::new();
            }
        };
        let mut removed = Vec::new();
        for a in self
            .addresses
            .iter()
            .filter(|a| !self.keep.contains(&a.addr))
        {
            // Delete what the kernel has (its prefix length may differ from
            // ours), on the interface the VIP belongs to.
            let Some(p) = present
                .iter()
                .find(|p| p.ifindex == a.ifindex && p.addr == a.addr)
            else {
                continue;
            };
            match rtnl.del_address(p) {
                Ok(true) => {
                    tracing::warn!(
                        instance, address = %a.addr,
                        "VRRP_Instance({instance}) removing VIP {} found on the interface at startup (not master)", a.addr
                    );
                    removed.push(a.addr);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(instance, address = %a.addr, error = %e, "cannot remove stale VIP")
                }
            }
        }
        // keepalived removes its rules left by an earlier run too: a rule
        // added twice would be there twice.
        for r in &self.rules {
            let _ = rtnl.del_rule(r);
        }
        for r in &self.routes {
            let _ = rtnl.del_route(r);
        }
        removed
    }

    /// Take over `other`'s mastership: a reload that gives a running
    /// master a new address list must still cancel, when it steps down,
    /// the bursts started under the old list.
    pub fn share_mastership(&mut self, other: &VipSet) {
        self.mastership = other.mastership.clone();
    }

    /// Cancel every announcement burst started so far for these addresses.
    /// Waits for a packet being sent right now, so none goes out afterwards.
    pub fn end_mastership(&self) {
        let mut g = self
            .mastership
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *g = g.wrapping_add(1);
    }

    fn current_mastership(&self) -> u64 {
        *self
            .mastership
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `send` while the mastership is still `generation`, holding the
    /// lock across the send so that [`VipSet::end_mastership`] cannot slip
    /// in between the check and the packet. `None` when cancelled.
    fn while_master<T>(&self, generation: u64, send: impl FnOnce() -> T) -> Option<T> {
        let g = self
            .mastership
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (*g == generation).then(send)
    }

    fn list(&self) -> String {
        self.addresses
            .iter()
            .map(|a| a.addr.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Gratuitous ARP / NA senders, one per interface that carries a VIP, and
/// the delays that pace them (keepalived's `garp_delay`, by interface
/// index: the interfaces of one `garp_group` share one).
#[derive(Clone, Default)]
pub struct Announcer {
    pub garp: HashMap<u32, Arc<GarpSender>>,
    pub na: HashMap<u32, Arc<NaSender>>,
    pub delays: GarpDelays,
}

/// The delays by interface index, and the clock they count on.
#[derive(Clone, Default)]
pub struct GarpDelays {
    pub by_ifindex: HashMap<u32, Arc<Mutex<GarpDelay>>>,
    pub epoch: Option<Instant>,
}

impl GarpDelays {
    fn now(&self) -> Time {
        let us = self.epoch.map_or(0, |e| e.elapsed().as_micros());
        Time::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    fn delay(&self, ifindex: u32) -> Option<std::sync::MutexGuard<'_, GarpDelay>> {
        let d = self.by_ifindex.get(&ifindex)?;
        Some(d.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Send the announcement of `addr` on `ifindex` with `send` if its
    /// interface's delay lets it go now, and mark the time; else how long
    /// to wait before asking again. The delay stays locked across the
    /// send, so two bursts cannot both take the same free moment.
    fn pace<T>(&self, ifindex: u32, addr: IpAddr, send: impl FnOnce() -> T) -> Result<T, Duration> {
        let Some(mut d) = self.delay(ifindex) else {
            return Ok(send());
        };
        let wait = d.wait(self.now(), kind(addr));
        if !wait.is_zero() {
            return Err(wait);
        }
        let sent = send();
        d.sent(self.now(), kind(addr));
        Ok(sent)
    }
}

fn kind(addr: IpAddr) -> Announcement {
    match addr {
        IpAddr::V4(_) => Announcement::Garp,
        IpAddr::V6(_) => Announcement::Na,
    }
}

/// How many announcements per address (`garp_master_repeat` and the like);
/// how far apart is the interfaces' [`GarpDelay`]s' business.
#[derive(Debug, Clone, Copy)]
pub struct Burst {
    pub repeat: u32,
}

impl Announcer {
    /// Send `burst.repeat` rounds for every address, on a task of its own
    /// so that a spaced-out burst never delays an advert. The burst stops
    /// as soon as the addresses are removed (see [`VipSet::remove`]).
    /// Every packet the kernel accepted is added to `sent` (the instance's
    /// `gratuitous_arps_sent`, shown by status and metrics). With
    /// `first_now`, the first round is on the wire before this returns
    /// (as far as the interfaces' delays let it go at once): a
    /// new master that sends its advert next has announced its VIPs first,
    /// so a leaving master that lets go of them on hearing the advert
    /// leaves no moment in which the hosts' caches point at nobody.
    pub fn announce(
        &self,
        set: &VipSet,
        burst: Burst,
        instance: String,
        sent: Arc<AtomicU64>,
        first_now: bool,
    ) {
        let addrs: Vec<(u32, IpAddr)> = set.addresses.iter().map(|a| (a.ifindex, a.addr)).collect();
        if addrs.is_empty() || burst.repeat == 0 {
            return;
        }
        let set = set.clone();
        let generation = set.current_mastership();
        let me = self.clone();
        let mut send = move |ifindex: u32, addr: IpAddr| {
            let result = match addr {
                IpAddr::V4(a) => me
                    .garp
                    .get(&ifindex)
                    .map(|g| g.send(a).map_err(|e| e.to_string())),
                IpAddr::V6(a) => me
                    .na
                    .get(&ifindex)
                    .map(|n| n.send(a, false).map_err(|e| e.to_string())),
            };
            // Counted only once the kernel took the packet.
            if matches!(result, Some(Ok(()))) {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            result
        };
        let mut first = 0;
        if first_now {
            let delays = &self.delays;
            let pace = |i, a, f: &mut dyn FnMut() -> bool| delays.pace(i, a, f);
            match send_at_once(&set, generation, &addrs, &instance, &mut send, pace) {
                None => return,
                Some(n) => first = n,
            }
        }
        let total = burst.repeat as usize * addrs.len();
        if first >= total {
            return;
        }
        let delays = self.delays.clone();
        tokio::spawn(async move {
            let pace = |i, a, f: &mut dyn FnMut() -> bool| delays.pace(i, a, f);
            let pause = async |gap: Duration| tokio::time::sleep(gap).await;
            run_burst(
                &set, generation, &addrs, burst, first, &instance, send, pace, pause,
            )
            .await;
        });
    }
}

/// Puts one announcement on the wire through its interface's delay:
/// `Ok(still master)` once sent, `Err(wait)` while the delay holds it.
pub(crate) trait Pace:
    FnMut(u32, IpAddr, &mut dyn FnMut() -> bool) -> Result<bool, Duration>
{
}
impl<F: FnMut(u32, IpAddr, &mut dyn FnMut() -> bool) -> Result<bool, Duration>> Pace for F {}

/// The first round's announcements that may go out at once (`pace`), in
/// order, up to the first that must wait for its interface's delay.
/// Returns how many were sent, `None` when the mastership ended.
fn send_at_once(
    set: &VipSet,
    generation: u64,
    addrs: &[(u32, IpAddr)],
    instance: &str,
    send: &mut impl FnMut(u32, IpAddr) -> Option<Result<(), String>>,
    mut pace: impl Pace,
) -> Option<usize> {
    for (n, &(ifindex, addr)) in addrs.iter().enumerate() {
        let mut one = || send_one(set, generation, ifindex, addr, 0, instance, send);
        match pace(ifindex, addr, &mut one) {
            Err(_) => return Some(n),
            Ok(false) => return None,
            Ok(true) => {}
        }
    }
    Some(addrs.len())
}

/// The announcements `first..` of one burst (`burst.repeat` rounds of
/// `addrs`, numbered in sending order); `send` puts one on the wire
/// (`None`: no sender for that interface) when its interface's delay
/// lets `pace` send it, and `pause` waits as long as `pace` says
/// before asking again. Returns the rounds completed. Separate from the
/// sockets and the clock so that the pacing and the cancellation can be
/// tested on a virtual clock.
#[allow(clippy::too_many_arguments)]
async fn run_burst(
    set: &VipSet,
    generation: u64,
    addrs: &[(u32, IpAddr)],
    burst: Burst,
    first: usize,
    instance: &str,
    mut send: impl FnMut(u32, IpAddr) -> Option<Result<(), String>>,
    mut pace: impl Pace,
    mut pause: impl AsyncFnMut(Duration),
) -> u32 {
    let total = burst.repeat as usize * addrs.len();
    for n in first..total {
        let (ifindex, addr) = addrs[n % addrs.len()];
        let round = u32::try_from(n / addrs.len()).unwrap_or(u32::MAX);
        loop {
            let mut one = || send_one(set, generation, ifindex, addr, round, instance, &mut send);
            match pace(ifindex, addr, &mut one) {
                Ok(true) => break,
                Ok(false) => return round,
                Err(gap) => pause(gap).await,
            }
        }
    }
    tracing::debug!(instance, rounds = burst.repeat, "gratuitous ARP/NA sent");
    burst.repeat
}

/// One announcement, while still master for the addresses. `false` when
/// the mastership ended (the burst is cancelled).
fn send_one(
    set: &VipSet,
    generation: u64,
    ifindex: u32,
    addr: IpAddr,
    round: u32,
    instance: &str,
    send: &mut impl FnMut(u32, IpAddr) -> Option<Result<(), String>>,
) -> bool {
    match set.while_master(generation, || send(ifindex, addr)) {
        None => {
            tracing::debug!(
                instance,
                rounds_sent = round,
                "gratuitous ARP/NA burst cancelled: no longer master for these VIPs"
            );
            return false;
        }
        Some(Some(Err(e))) => {
            tracing::warn!(instance, address = %addr, error = %e, "cannot send gratuitous ARP/NA")
        }
        Some(None) => {
            tracing::warn!(instance, address = %addr, "no announcer for the interface of this VIP")
        }
        Some(Some(Ok(()))) => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Scope;
    use std::net::Ipv4Addr;

    fn vips() -> VipSet {
        let mut set = VipSet::default();
        for last in [10, 11] {
            set.addresses.push(IfAddress {
                ifindex: 2,
                addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)),
                prefix_len: 24,
                broadcast: None,
                label: None,
                scope: Scope::Global,
                nodad: false,
                peer: None,
                flags: 0,
                preferred_lft: None,
            });
        }
        set
    }

    fn addrs(set: &VipSet) -> Vec<(u32, IpAddr)> {
        set.addresses.iter().map(|a| (a.ifindex, a.addr)).collect()
    }

    const BURST: Burst = Burst { repeat: 5 };

    /// No delay: every announcement goes at once.
    fn no_delay(_: u32, _: IpAddr, f: &mut dyn FnMut() -> bool) -> Result<bool, Duration> {
        Ok(f())
    }

    #[tokio::test]
    async fn a_whole_burst_goes_out_while_master() {
        let set = vips();
        let mut sent = Vec::new();
        let g = set.current_mastership();
        let send = |_, a| {
            sent.push(a);
            Some(Ok(()))
        };
        let rounds = run_burst(
            &set,
            g,
            &addrs(&set),
            BURST,
            0,
            "VI_1",
            send,
            no_delay,
            async |_| {},
        )
        .await;
        assert_eq!(rounds, 5);
        assert_eq!(sent.len(), 10);
    }

    /// Bursts of two instances whose VIPs share one delay, on a virtual
    /// clock that oversleeps now and then (a busy machine): every
    /// announcement goes out at least the interval after the previous one,
    /// whichever instance sent it.
    #[tokio::test]
    async fn bursts_sharing_a_delay_are_paced_together() {
        let delay = Mutex::new(GarpDelay::new(Some(Duration::from_millis(100)), None));
        let clock = std::cell::Cell::new(Time::ZERO);
        let sent_at = std::cell::RefCell::new(Vec::new());
        let pauses = std::cell::Cell::new(0u32);
        let pace = |_, a, f: &mut dyn FnMut() -> bool| {
            let mut d = delay.lock().unwrap_or_else(PoisonError::into_inner);
            let wait = d.wait(clock.get(), kind(a));
            if !wait.is_zero() {
                return Err(wait);
            }
            let still = f();
            d.sent(clock.get(), kind(a));
            Ok(still)
        };
        let pause = async |gap: Duration| {
            pauses.set(pauses.get() + 1);
            let late = if pauses.get() % 3 == 0 { 44 } else { 0 };
            clock.set(clock.get() + gap + Duration::from_millis(late));
        };
        let send = |_, _| {
            sent_at.borrow_mut().push(clock.get().as_micros() / 1000);
            Some(Ok(()))
        };
        let (a, b) = (vips(), vips());
        let burst = Burst { repeat: 2 };
        let ga = a.current_mastership();
        run_burst(&a, ga, &addrs(&a), burst, 0, "VI_1", send, pace, pause).await;
        // The second instance starts at 150 ms, while the first's slots run.
        clock.set(Time::from_millis(150));
        let gb = b.current_mastership();
        run_burst(&b, gb, &addrs(&b), burst, 0, "VI_2", send, pace, pause).await;
        let times = sent_at.borrow().clone();
        assert_eq!(times.len(), 8);
        // The third pause oversleeps by 44 ms; the next waits from there.
        assert_eq!(times[..5], [0, 100, 200, 344, 444]);
        let gaps: Vec<u64> = times
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .collect();
        assert!(gaps.iter().all(|g| *g >= 100), "gaps {gaps:?} of {times:?}");
    }

    #[tokio::test]
    async fn what_cannot_go_at_once_is_left_to_the_burst_task() {
        // `announce(.., first_now)`: round 0 goes out before the advert as
        // far as the delay lets it; the task sends the rest.
        let set = vips();
        let g = set.current_mastership();
        let mut delay = GarpDelay::new(Some(Duration::from_millis(100)), None);
        let mut first = 0;
        let free = |_, a, f: &mut dyn FnMut() -> bool| {
            let wait = delay.wait(Time::ZERO, kind(a));
            if !wait.is_zero() {
                return Err(wait);
            }
            let still = f();
            delay.sent(Time::ZERO, kind(a));
            Ok(still)
        };
        let at_once = send_at_once(
            &set,
            g,
            &addrs(&set),
            "VI_1",
            &mut |_, _| {
                first += 1;
                Some(Ok(()))
            },
            free,
        );
        assert_eq!(
            at_once,
            Some(1),
            "the second VIP must wait for the interval"
        );
        assert_eq!(first, 1);
        let mut sent = 0;
        let send = |_, _| {
            sent += 1;
            Some(Ok(()))
        };
        let rounds = run_burst(
            &set,
            g,
            &addrs(&set),
            BURST,
            1,
            "VI_1",
            send,
            no_delay,
            async |_| {},
        )
        .await;
        assert_eq!(rounds, 5);
        assert_eq!(sent, 9, "the first announcement is not sent twice");
        // Without a delay the whole first round goes at once.
        let n = send_at_once(
            &set,
            g,
            &addrs(&set),
            "VI_1",
            &mut |_, _| Some(Ok(())),
            no_delay,
        );
        assert_eq!(n, Some(2));
    }

    #[tokio::test]
    async fn leaving_master_between_announcements_stops_the_burst() {
        let set = vips();
        let g = set.current_mastership();
        let unit = set.clone(); // the unit task's copy, as in the daemon
        let mut sent = 0;
        let mut pauses = 0;
        let send = |_, _| {
            sent += 1;
            Some(Ok(()))
        };
        // Every announcement waits 5 ms for its delay once.
        let waited = std::cell::Cell::new(false);
        let wait = |_, _, f: &mut dyn FnMut() -> bool| {
            if !waited.replace(!waited.get()) {
                return Err(Duration::from_millis(5));
            }
            Ok(f())
        };
        // The instance leaves MASTER (its VIPs are removed) while the
        // burst waits before its fifth announcement (round 2).
        let pause = async |_| {
            pauses += 1;
            if pauses == 5 {
                unit.end_mastership();
            }
        };
        let rounds = run_burst(&set, g, &addrs(&set), BURST, 0, "VI_1", send, wait, pause).await;
        assert_eq!(rounds, 2, "the burst must stop at the removal");
        assert_eq!(sent, 4, "no announcement after the VIPs were removed");
    }

    #[tokio::test]
    async fn a_burst_of_an_earlier_mastership_sends_nothing() {
        let set = vips();
        let g = set.current_mastership();
        set.end_mastership();
        let mut sent = 0;
        let send = |_, _| {
            sent += 1;
            Some(Ok(()))
        };
        let rounds = run_burst(
            &set,
            g,
            &addrs(&set),
            BURST,
            0,
            "VI_1",
            send,
            no_delay,
            async |_| {},
        )
        .await;
        assert_eq!((rounds, sent), (0, 0));
        // A new mastership's burst is not affected by the old one's end.
        let g2 = set.current_mastership();
        let send = |_, _| Some(Ok(()));
        let rounds = run_burst(
            &set,
            g2,
            &addrs(&set),
            BURST,
            0,
            "VI_1",
            send,
            no_delay,
            async |_| {},
        )
        .await;
        assert_eq!(rounds, 5);
    }
}
