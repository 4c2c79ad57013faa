//! The moments the VIPs change hands, where a client must find somebody
//! holding them: the VIP gate of a new master, and the graceful leave of a
//! stopping one.
//!
//! Two rules keep the addresses from ever being held by nobody:
//!
//! - A new master takes its VIPs only once its IPVS rules are in the
//!   kernel (the VIP gate, [`bus::RulesState`]), and it holds its first
//!   advert back with them: the router it displaces (a master that is
//!   leaving, or a lower-priority one it preempts) gives its VIPs up on
//!   hearing that advert, so sending it before the VIPs are in place would
//!   leave the addresses with nobody for the time the rules take (about
//!   half a second under the test VM's emulated CPU). The hold lasts one
//!   advert interval at most: then adverts go out whatever the gate says.
//! - A master that stops keeps its VIPs until it hears the new master
//!   (RFC 5798 §6.4.3 has it drop them at once; keepalived does, leaving a
//!   gap of about Skew_Time).
//!
//! In a sync group both rules apply to the group as one: its members take
//! their VIPs together, when every member's rules are in, and a leaving
//! group releases them together, once it has heard the new master of every
//! member. In the seed's layout (outer VIP and the real servers' gateway,
//! one group) a connection needs both addresses on the same balancer.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::net::ReceivedAdvert;
use crate::vrrp::Event;

use super::bus::{self, Role, RoleChange};
use super::instance_io::decode;
use super::{RULES_WAIT, Unit, UnitMsg};

impl Unit {
    /// Whether instance `name`, now MASTER, must still wait for IPVS rules
    /// (its own, or in a sync group those of any member).
    fn waits_for_rules(&self, rules: &bus::RulesState, name: &str) -> bool {
        if self.group.is_some() {
            self.io.iter().any(|io| rules.must_wait(&io.plan.name))
        } else {
            rules.must_wait(name)
        }
    }

    pub(super) fn add_vips(&mut self, id: usize) {
        let rules = self.rules.borrow_and_update().clone();
        let Some(name) = self.io.get(id).map(|io| io.plan.name.clone()) else {
            return;
        };
        // The VIP gate: a master whose virtual servers are not yet in the
        // kernel's IPVS table would answer for the VIP itself (or refuse):
        // it takes the VIPs when the programmer confirms, or after
        // RULES_WAIT.
        let wait = self.waits_for_rules(&rules, &name);
        let Some(io) = self.io.get_mut(id) else {
            return;
        };
        if wait {
            tracing::info!(
                instance = %name,
                "VRRP_Instance({name}) waits for its IPVS rules before taking the VIPs"
            );
            io.vips_pending = Some(Instant::now());
        } else {
            io.plan.vips.add(&mut self.rtnl, &name);
            io.vips_held = true;
        }
    }

    /// An advert, or, while a new master is still behind the VIP gate, held
    /// until the VIPs are in place (see the module's doc): every advert of
    /// that wait, the first and those a lower-priority master's adverts
    /// call for, for one advert interval at most.
    pub(super) async fn send_or_hold_advert(&mut self, id: usize, priority: u8) {
        if let Some(io) = self.io.get_mut(id) {
            let now = Instant::now();
            let since = io.advert_pending.map_or(now, |(_, t)| t);
            let within = now.duration_since(since) < io.plan.params.advert_interval();
            if priority > 0 && io.vips_pending.is_some() && within {
                io.advert_pending = Some((priority, since));
                return;
            }
            io.advert_pending = None;
        }
        self.send_advert(id, priority).await;
    }

    /// Take the VIPs of every instance whose IPVS rules are now in the
    /// kernel, or that waited RULES_WAIT (or all of them with `force`, when
    /// nothing will ever confirm), and send the gratuitous burst and the
    /// advert held back with them. A sync group's members go together.
    pub(super) async fn release_vips(&mut self, force: bool) {
        let rules = self.rules.borrow_and_update().clone();
        let at = Instant::now();
        let still_waiting =
            |since: Instant, waits: bool| waits && !force && at.duration_since(since) < RULES_WAIT;
        if self.group.is_some() {
            let group_waits = self.io.iter().any(|io| {
                io.vips_pending
                    .is_some_and(|since| still_waiting(since, rules.must_wait(&io.plan.name)))
            });
            if group_waits {
                return;
            }
        }
        let mut adverts = Vec::new();
        for (id, io) in self.io.iter_mut().enumerate() {
            let Some(since) = io.vips_pending else {
                continue;
            };
            let name = io.plan.name.clone();
            let waited = at.duration_since(since);
            let waiting = rules.must_wait(&name);
            if still_waiting(since, waiting) {
                continue;
            }
            if waiting {
                tracing::warn!(
                    instance = %name, waited_ms = waited.as_millis(),
                    "VRRP_Instance({name}) IPVS rules not confirmed: taking the VIPs anyway"
                );
            } else if rules.unreachable {
                tracing::warn!(
                    instance = %name, waited_ms = waited.as_millis(),
                    "VRRP_Instance({name}) IPVS cannot be programmed: taking the VIPs without rules"
                );
            } else {
                tracing::info!(
                    instance = %name, waited_ms = waited.as_millis(),
                    "VRRP_Instance({name}) IPVS rules in place: taking the VIPs"
                );
            }
            io.vips_pending = None;
            io.plan.vips.add(&mut self.rtnl, &name);
            io.vips_held = true;
            // The first round of the burst goes out before the held
            // advert: the router we displace lets go on hearing it.
            if let Some(repeat) = io.garp_pending.take() {
                io.gratuitous_first_now(repeat, name);
            }
            if let Some((priority, _)) = io.advert_pending.take() {
                adverts.push((id, priority));
            }
        }
        for (id, priority) in adverts {
            tracing::info!(
                instance = %self.io[id].plan.name,
                "VRRP_Instance({}) holds its VIPs: sends its first advert as master",
                self.io[id].plan.name
            );
            self.send_advert(id, priority).await;
        }
    }

    /// Leave the protocol gracefully.
    ///
    /// RFC 5798 §6.4.3: a master that shuts down sends priority 0 so a
    /// backup takes over after Skew_Time instead of Master_Down_Interval.
    /// Beyond the RFC (keepalived drops its VIPs at once, leaving a gap of
    /// about Skew_Time), we keep the VIPs until an advert from the new
    /// master arrives — or one Master_Down_Interval passes — so clients see
    /// no outage. A sync group keeps all of them until it has heard the new
    /// master of every member it holds VIPs for.
    pub(super) async fn shutdown(&mut self, mut inbox: mpsc::Receiver<UnitMsg>) {
        self.stopping = true;
        let now = self.now();
        self.router.broadcast(now, Event::Shutdown);
        self.execute().await;

        let longest = (0..self.io.len())
            .filter(|&id| self.io[id].vips_held)
            .filter_map(|id| self.router.instance(id))
            .map(|i| i.master_down_interval() + i.master_adver_interval())
            .max();
        let mut relieved = vec![false; self.io.len()];
        if let Some(wait) = longest {
            let deadline = Instant::now() + wait;
            while self.io.iter().any(|io| io.vips_held) {
                let msg = tokio::select! {
                    m = inbox.recv() => m,
                    _ = tokio::time::sleep_until(deadline.into()) => None,
                };
                let Some(msg) = msg else {
                    break;
                };
                if let UnitMsg::Advert { instance, advert } = msg {
                    if self.new_master_heard(instance, &advert) {
                        relieved[instance] = true;
                        self.release_relieved(&relieved);
                    }
                }
            }
        }
        for io in &mut self.io {
            if io.vips_held {
                tracing::info!(
                    instance = %io.plan.name,
                    "VRRP_Instance({}) no new master heard; releasing VIPs", io.plan.name
                );
                io.plan.vips.remove(&mut self.rtnl, &io.plan.name);
                io.vips_held = false;
            }
            self.bus.publish(RoleChange {
                subject: bus::Subject::Instance,
                name: io.plan.name.clone(),
                role: Role::Stop,
                priority: 0,
                reason: "shutdown".into(),
            });
        }
        self.report_status();
        drop(inbox);
        // Let notify_stop run (each script is bounded by its timeout).
        self.scripts = None;
        if let Some(task) = self.scripts_task.take() {
            task.drained().await;
        }
        tracing::info!(unit = %self.name, "stopped");
    }

    /// During shutdown, release the VIPs whose new master has been heard:
    /// each instance's own, or a sync group's all at once when every member
    /// that holds VIPs has been relieved.
    fn release_relieved(&mut self, relieved: &[bool]) {
        let grouped = self.group.is_some();
        let all = self
            .io
            .iter()
            .zip(relieved)
            .all(|(io, &r)| r || !io.vips_held);
        for (io, &r) in self.io.iter_mut().zip(relieved) {
            if io.vips_held && (if grouped { all } else { r }) {
                tracing::info!(
                    instance = %io.plan.name,
                    "VRRP_Instance({}) new master heard; releasing VIPs", io.plan.name
                );
                io.plan.vips.remove(&mut self.rtnl, &io.plan.name);
                io.vips_held = false;
            }
        }
    }

    /// During shutdown: whether `advert` for `id` is from another router
    /// claiming mastership (a non-zero priority, authentic, same VRID).
    fn new_master_heard(&self, id: usize, advert: &ReceivedAdvert) -> bool {
        let Some(io) = self.io.get(id) else {
            return false;
        };
        if !io.vips_held || advert.src == io.plan.src {
            return false;
        }
        if !io.plan.unicast_peers.is_empty() && !io.plan.unicast_peers.contains(&advert.src) {
            return false;
        }
        let Ok(rx) = decode(advert, io.plan.params.codec) else {
            return false;
        };
        let params = &io.plan.params;
        let authentic = rx.repr.version == params.version
            && (params.version == crate::vrrp::Version::V3 || rx.repr.auth == params.auth);
        if authentic && rx.repr.vrid == params.vrid && rx.repr.priority > 0 {
            tracing::info!(
                instance = %io.plan.name, new_master = %advert.src,
                "VRRP_Instance({}) new master {} heard", io.plan.name, advert.src
            );
            return true;
        }
        false
    }
}
