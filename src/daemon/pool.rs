//! The sockets the VRRP units share: one send socket per (interface,
//! source address), one receive socket per (interface, multicast group)
//! and one per interface and family for unicast adverts,
//! one gratuitous ARP / NA sender per interface that carries a VIP, and
//! accept mode's nftables table.
//!
//! Owns the sockets and the VRID routes of each receive socket; opens what a
//! plan needs, all or nothing. Starts no task and touches no unit: the
//! caller ([`super::running`]) starts the receive tasks and routes VRIDs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::net::{AcceptFilter, GarpSender, NaSender, RxDest, VrrpRecvSocket, VrrpSendSocket};

use super::addrs::{Announcer, GarpDelays};
use super::error::DaemonError;
use super::plan::GarpDelayPlan;
use super::plan::{Kernel, UnitPlan};
use super::rx;
use crate::vrrp::garp_delay::GarpDelay;

/// A receive socket's key: the interface index and what it takes.
pub(super) type RxKey = (u32, RxDest);

/// Receive sockets just opened, by key, and whether each is an AH
/// (protocol 51) socket.
pub(super) type NewReceivers = Vec<(RxKey, VrrpRecvSocket, bool)>;

/// A send socket's key: (interface index, source, unicast TTL, whole
/// datagrams).
pub(super) type SendKey = (u32, IpAddr, u8, bool);

/// The send socket an instance uses.
pub(super) fn send_key(inst: &super::plan::InstancePlan) -> SendKey {
    (
        inst.ifindex,
        inst.src,
        inst.unicast_ttl,
        inst.ah_pass.is_some(),
    )
}

/// Each link's name and MAC address, by interface index.
pub(super) type LinkMacs = HashMap<u32, (String, Option<[u8; 6]>)>;

/// The sockets units share, kept so that a reload can start new units on
/// them (and open what is missing) without disturbing the others.
#[derive(Default)]
pub(super) struct IoPool {
    /// By (interface, source address, unicast TTL, whole datagrams): the
    /// TTL is the socket's; `auth_type AH` sends whole datagrams.
    pub(super) send: HashMap<SendKey, Arc<VrrpSendSocket>>,
    pub(super) routes: HashMap<RxKey, rx::SharedRoutes>,
    /// The receive keys that also have a protocol-51 (AH) receive socket,
    /// sharing the protocol-112 socket's routes.
    ah_rx: std::collections::HashSet<RxKey>,
    garp: HashMap<u32, Arc<GarpSender>>,
    na: HashMap<u32, Arc<NaSender>>,
    /// Accept mode's nftables table, one for the daemon.
    pub(super) accept_filter: Arc<AcceptFilter>,
    /// The gratuitous ARP / NA delays by interface index (a `garp_group`'s
    /// interfaces share one), kept across reloads while unchanged so that
    /// a reload does not reset the pacing.
    delays: GarpDelays,
}

/// A receive socket's buffer: keepalived's sum over the socket's
/// instances (an AH instance's adverts arrive on the protocol-51 socket).
fn rx_buf_sum(units: &[UnitPlan], key: &RxKey, ah: bool) -> u32 {
    units
        .iter()
        .flat_map(|u| &u.instances)
        .filter(|i| (i.ifindex, i.rx_dest()) == *key && i.ah_pass.is_some() == ah)
        .fold(0u32, |sum, i| sum.saturating_add(i.rx_buf))
}

impl IoPool {
    /// Open every socket `units` need that is not open yet; the new receive
    /// sockets are returned (their tasks are started by the caller once
    /// nothing else can fail).
    pub(super) fn open(
        &mut self,
        units: &[UnitPlan],
        macs: &LinkMacs,
    ) -> Result<NewReceivers, DaemonError> {
        let mut new_rx = Vec::new();
        let mut new_send = HashMap::new();
        let mut new_garp = HashMap::new();
        let mut new_na = HashMap::new();
        for unit in units {
            for inst in &unit.instances {
                let key = send_key(inst);
                if !self.send.contains_key(&key) && !new_send.contains_key(&key) {
                    new_send.insert(
                        key,
                        Arc::new(VrrpSendSocket::new(
                            &inst.ifname,
                            inst.ifindex,
                            inst.src,
                            inst.unicast_ttl,
                            key.3,
                        )?),
                    );
                }
                let key = (inst.ifindex, inst.rx_dest());
                if !self.routes.contains_key(&key) && !new_rx.iter().any(|(k, _, _)| *k == key) {
                    new_rx.push((
                        key,
                        VrrpRecvSocket::open(
                            &inst.ifname,
                            inst.ifindex,
                            key.1,
                            crate::net::IPPROTO_VRRP,
                        )?,
                        false,
                    ));
                }
                if inst.ah_pass.is_some()
                    && !self.ah_rx.contains(&key)
                    && !new_rx.iter().any(|(k, _, ah)| *k == key && *ah)
                {
                    new_rx.push((
                        key,
                        VrrpRecvSocket::open(
                            &inst.ifname,
                            inst.ifindex,
                            key.1,
                            crate::net::IPPROTO_AH,
                        )?,
                        true,
                    ));
                }
                for a in &inst.vips.addresses {
                    let Some((ifname, mac)) = macs.get(&a.ifindex) else {
                        continue;
                    };
                    let Some(mac) = *mac else {
                        tracing::warn!(interface = %ifname, "interface has no MAC address; no gratuitous ARP/NA on it");
                        continue;
                    };
                    if a.addr.is_ipv4()
                        && !self.garp.contains_key(&a.ifindex)
                        && !new_garp.contains_key(&a.ifindex)
                    {
                        new_garp.insert(
                            a.ifindex,
                            Arc::new(GarpSender::new(ifname, a.ifindex, mac)?),
                        );
                    }
                    if a.addr.is_ipv6()
                        && !self.na.contains_key(&a.ifindex)
                        && !new_na.contains_key(&a.ifindex)
                    {
                        new_na.insert(a.ifindex, Arc::new(NaSender::new(ifname, a.ifindex, mac)?));
                    }
                }
            }
        }
        // Everything opened: only now change the pool.
        self.send.extend(new_send);
        self.garp.extend(new_garp);
        self.na.extend(new_na);
        self.adopt_receivers(units, &new_rx);
        Ok(new_rx)
    }

    /// Size each new receive socket's buffer and give it its routes.
    fn adopt_receivers(&mut self, units: &[UnitPlan], new_rx: &NewReceivers) {
        for (key, socket, ah) in new_rx {
            let bytes = rx_buf_sum(units, key, *ah);
            if bytes > 0 {
                socket.set_recv_buffer(bytes);
            }
            // An AH socket opened beside a running protocol-112 socket
            // shares its routes.
            self.routes.entry(*key).or_default();
            if *ah {
                self.ah_rx.insert(*key);
            }
        }
    }

    /// Give every instance of `plan` the daemon's nftables table (used
    /// only by those not in accept mode, and to release on a reload).
    pub(super) fn attach_filter(&self, mut plan: UnitPlan) -> UnitPlan {
        for inst in &mut plan.instances {
            inst.vips.filter = Some(self.accept_filter.clone());
        }
        plan
    }

    /// A unit updated in place (a reload) keeps its routes; what tells
    /// unicast instances that share a VRID apart (their peers) follows
    /// the new plan.
    pub(super) fn update_routes(
        &self,
        tx: &tokio::sync::mpsc::Sender<super::unit::UnitMsg>,
        plan: &UnitPlan,
    ) {
        for (idx, inst) in plan.instances.iter().enumerate() {
            let Some(routes) = self.routes.get(&(inst.ifindex, inst.rx_dest())) else {
                continue;
            };
            let Ok(mut routes) = routes.write() else {
                continue;
            };
            let found = routes
                .get_mut(&inst.params.vrid)
                .into_iter()
                .flatten()
                .find(|r| r.instance == idx && r.tx.same_channel(tx));
            if let Some(r) = found {
                r.local = inst.src;
                r.peers = inst.unicast_peers.clone();
            }
        }
    }

    pub(super) fn announcer(&self) -> Announcer {
        Announcer {
            garp: self.garp.clone(),
            na: self.na.clone(),
            delays: self.delays.clone(),
        }
    }

    /// An empty pool with the delays `plans` ask for.
    pub(super) fn with_delays(plans: &[GarpDelayPlan]) -> IoPool {
        let mut pool = IoPool::default();
        pool.set_delays(plans);
        pool
    }

    /// Take the delays a plan asks for: one shared [`GarpDelay`] per
    /// entry; an interface whose intervals stay the same keeps its delay
    /// (and the slots its bursts have taken).
    pub(super) fn set_delays(&mut self, plans: &[GarpDelayPlan]) {
        let epoch = *self
            .delays
            .epoch
            .get_or_insert_with(std::time::Instant::now);
        let mut by_ifindex = HashMap::new();
        for p in plans {
            let wanted = (p.garp_interval, p.gna_interval);
            let kept = p.ifindexes.iter().find_map(|i| {
                let d = self.delays.by_ifindex.get(i)?;
                let same = d.lock().ok()?.intervals() == wanted;
                same.then(|| d.clone())
            });
            let delay = kept.unwrap_or_else(|| {
                Arc::new(Mutex::new(GarpDelay::new(p.garp_interval, p.gna_interval)))
            });
            for &i in &p.ifindexes {
                by_ifindex.insert(i, delay.clone());
            }
        }
        self.delays = GarpDelays {
            by_ifindex,
            epoch: Some(epoch),
        };
    }
}

pub(super) fn link_macs(kernel: &Kernel) -> LinkMacs {
    kernel
        .links
        .iter()
        .map(|l| (l.index, (l.name.clone(), l.mac)))
        .collect()
}
