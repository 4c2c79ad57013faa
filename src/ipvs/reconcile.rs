//! The reconciler: from the table tandem wants and the table the kernel
//! has, the shortest list of IPVS operations that turns one into the other.
//!
//! Sans-IO: tables in, operations out. [`super::client::IpvsClient::apply`]
//! sends them. The rules:
//!
//! - a service is identified by its key (protocol/address/port or fwmark);
//!   its settings (scheduler, flags, persistence) are changed in place with
//!   one SET_SERVICE, never by delete + add (that would drop connections);
//! - a destination is identified by address and port inside its service;
//!   its forwarding method, weight and thresholds are changed in place with
//!   one SET_DEST;
//! - a service tandem wants is owned by tandem entirely: destinations in it
//!   that the configuration does not list are removed;
//! - a service tandem does not want is removed only when tandem owns it
//!   (it programmed it earlier in this run) or when `lvs_flush` is set;
//!   services other tools put in the table are left alone otherwise;
//! - so a table already right yields no operation (idempotence), and a
//!   one-entry change yields exactly one.
//!
//! Owns the plan and the belief of the kernel's table; may not talk to the
//! kernel or read a clock (the time of an apply is handed in).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::message::{IpvsCmd, IpvsMessage};
use super::types::{DestKey, Destination, Service, ServiceKey, SockAddr, Table};

/// One change to the kernel's table: one IPVS netlink request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Op {
    NewService {
        service: Service,
    },
    SetService {
        service: Service,
    },
    DelService {
        key: ServiceKey,
    },
    NewDest {
        service: ServiceKey,
        dest: Destination,
    },
    SetDest {
        service: ServiceKey,
        dest: Destination,
    },
    DelDest {
        service: ServiceKey,
        dest: DestKey,
    },
    /// Remove every service and destination (`lvs_flush_on_stop`).
    Flush,
}

impl Op {
    /// The netlink request carrying this operation.
    pub fn message(&self) -> IpvsMessage {
        match self {
            Op::NewService { service } => IpvsMessage::new_service(service),
            Op::SetService { service } => IpvsMessage::set_service(service),
            Op::DelService { key } => IpvsMessage::del_service(key),
            Op::NewDest { service, dest } => IpvsMessage::new_dest(service, dest),
            Op::SetDest { service, dest } => IpvsMessage::set_dest(service, dest),
            Op::DelDest { service, dest } => IpvsMessage::del_dest(service, &dest.addr, dest.port),
            Op::Flush => IpvsMessage::flush(),
        }
    }

    pub fn cmd(&self) -> IpvsCmd {
        match self {
            Op::NewService { .. } => IpvsCmd::NewService,
            Op::SetService { .. } => IpvsCmd::SetService,
            Op::DelService { .. } => IpvsCmd::DelService,
            Op::NewDest { .. } => IpvsCmd::NewDest,
            Op::SetDest { .. } => IpvsCmd::SetDest,
            Op::DelDest { .. } => IpvsCmd::DelDest,
            Op::Flush => IpvsCmd::Flush,
        }
    }

    /// The service the operation is about (none for FLUSH).
    pub fn service_key(&self) -> Option<&ServiceKey> {
        match self {
            Op::NewService { service } | Op::SetService { service } => Some(&service.key),
            Op::DelService { key } => Some(key),
            Op::NewDest { service, .. }
            | Op::SetDest { service, .. }
            | Op::DelDest { service, .. } => Some(service),
            Op::Flush => None,
        }
    }
}

impl fmt::Display for Op {
    /// One line per operation, as `tandem ipvs apply` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.cmd().name();
        match self {
            Op::NewService { service } | Op::SetService { service } => {
                write!(f, "{name} {} {}", service.key, service.scheduler)?;
                for flag in service.flags.names() {
                    write!(f, " {flag}")?;
                }
                if service.flags.has(super::types::ServiceFlags::PERSISTENT) {
                    write!(f, " timeout {} mask {}", service.timeout, service.netmask)?;
                }
                Ok(())
            }
            Op::DelService { key } => write!(f, "{name} {key}"),
            Op::NewDest { service, dest } | Op::SetDest { service, dest } => write!(
                f,
                "{name} {service} -> {} {} weight {}",
                SockAddr(dest.addr, dest.port),
                dest.forward.ipvsadm_name(),
                dest.weight
            ),
            Op::DelDest { service, dest } => write!(f, "{name} {service} -> {dest}"),
            Op::Flush => f.write_str(name),
        }
    }
}

/// The operations that turn `current` into `desired`.
///
/// `owned` are the services tandem programmed before (so it may remove them
/// when they leave the configuration); with `lvs_flush` every service not
/// desired is removed. The order is: removals first (so an address and port
/// freed by one service can be taken by another), then changes, then
/// additions, each service before its destinations.
pub fn diff(
    desired: &Table,
    current: &Table,
    owned: &BTreeSet<ServiceKey>,
    lvs_flush: bool,
) -> Vec<Op> {
    let mut dels = Vec::new();
    let mut sets = Vec::new();
    let mut news = Vec::new();

    for (key, cur) in &current.services {
        match desired.services.get(key) {
            None => {
                if lvs_flush || owned.contains(key) {
                    dels.push(Op::DelService { key: *key });
                }
            }
            Some(want) => {
                for dkey in cur.destinations.keys() {
                    if !want.destinations.contains_key(dkey) {
                        dels.push(Op::DelDest {
                            service: *key,
                            dest: *dkey,
                        });
                    }
                }
            }
        }
    }

    for (key, want) in &desired.services {
        match current.services.get(key) {
            None => {
                news.push(Op::NewService {
                    service: want.service.clone(),
                });
                for d in want.destinations.values() {
                    news.push(Op::NewDest {
                        service: *key,
                        dest: d.clone(),
                    });
                }
            }
            Some(cur) => {
                if !want.service.same_settings(&cur.service) {
                    sets.push(Op::SetService {
                        service: want.service.clone(),
                    });
                }
                for (dkey, d) in &want.destinations {
                    match cur.destinations.get(dkey) {
                        None => news.push(Op::NewDest {
                            service: *key,
                            dest: d.clone(),
                        }),
                        Some(c) if c != d => sets.push(Op::SetDest {
                            service: *key,
                            dest: d.clone(),
                        }),
                        Some(_) => {}
                    }
                }
            }
        }
    }

    dels.extend(sets);
    dels.extend(news);
    dels
}

/// What to do with the IPVS table when tandem stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopPolicy {
    /// Leave every service in place (keepalived's `--dont-release-ipvs`).
    Leave,
    /// Remove the services tandem owns, leave the others (keepalived's
    /// default, and `lvs_flush_on_stop VS`).
    RemoveOwned,
    /// Remove every service, whoever added it (`lvs_flush_on_stop`).
    Flush,
}

/// The operations for tandem's exit under `policy`.
pub fn teardown(current: &Table, owned: &BTreeSet<ServiceKey>, policy: StopPolicy) -> Vec<Op> {
    match policy {
        StopPolicy::Leave => Vec::new(),
        StopPolicy::Flush => vec![Op::Flush],
        StopPolicy::RemoveOwned => current
            .services
            .keys()
            .filter(|k| owned.contains(k))
            .map(|k| Op::DelService { key: *k })
            .collect(),
    }
}

/// The reconciler's memory between runs: which services tandem owns, and
/// what it believes the kernel holds for them.
///
/// A service becomes owned when tandem asks for it, and stays owned after
/// it leaves the configuration until it is gone from the kernel, so that a
/// reload that drops a virtual server removes it.
///
/// After an apply the kernel acknowledged in full, the reconciler believes
/// the kernel holds exactly the desired table (for the services tandem
/// owns), and the next change is planned against that belief: no dump, so a
/// one-entry change costs one netlink request whatever the table's size.
/// Any refusal or transport error drops the belief, and the next
/// reconciliation dumps again. So does a belief older than
/// [`Reconciler::max_belief_age`] (default [`Reconciler::DEFAULT_MAX_BELIEF_AGE`]):
/// a change made behind tandem's back (`ipvsadm`, a module reload) is
/// repaired by the first reconciliation after that age, and a daemon that
/// reconciles on a timer repairs it within that time.
#[derive(Debug, Clone)]
pub struct Reconciler {
    owned: BTreeSet<ServiceKey>,
    /// The last set given to [`Reconciler::claim`].
    claimed: BTreeSet<ServiceKey>,
    lvs_flush: bool,
    flushed_once: bool,
    /// Shared with the caller's desired table when it gave it as an
    /// [`Arc`] ([`Reconciler::applied_shared`]): at 10,000 destinations a
    /// copy is a megabyte.
    believed: Option<(Arc<Table>, Instant)>,
    /// When the dump the plan in progress rests on was taken (`None`: now).
    basis: Option<Instant>,
    max_belief_age: Duration,
}

impl Default for Reconciler {
    fn default() -> Self {
        Reconciler::new(false)
    }
}

impl Reconciler {
    /// `lvs_flush`: on the first reconciliation, remove every service the
    /// configuration does not ask for, whoever put it there.
    pub fn new(lvs_flush: bool) -> Self {
        Reconciler {
            owned: BTreeSet::new(),
            claimed: BTreeSet::new(),
            lvs_flush,
            flushed_once: false,
            believed: None,
            basis: None,
            max_belief_age: Self::DEFAULT_MAX_BELIEF_AGE,
        }
    }

    /// How long a belief is trusted when nothing else dropped it.
    pub const DEFAULT_MAX_BELIEF_AGE: Duration = Duration::from_secs(60);

    /// Trust a belief for at most `age` (zero: always dump).
    pub fn set_max_belief_age(&mut self, age: Duration) {
        self.max_belief_age = age;
    }

    pub fn max_belief_age(&self) -> Duration {
        self.max_belief_age
    }

    /// Plan against the believed table, when there is one young enough at
    /// `now` (see above); `None` means: dump and call [`Self::plan`].
    pub fn plan_from_belief(&mut self, desired: &Table, now: Instant) -> Option<Vec<Op>> {
        let (current, since) = self.believed.take()?;
        if now.saturating_duration_since(since) >= self.max_belief_age {
            return None;
        }
        let ops = self.plan(desired, &current);
        self.basis = Some(since);
        Some(ops)
    }

    /// Record how applying the plan for `desired` went at `now`: believe
    /// the kernel holds `desired` only if every operation was acknowledged.
    /// The age of a belief counts from the last dump it rests on, so a
    /// steady stream of changes still dumps once per maximum age.
    pub fn applied(&mut self, desired: &Table, all_acknowledged: bool, now: Instant) {
        let since = self.basis.take().unwrap_or(now);
        self.believed = all_acknowledged.then(|| (Arc::new(desired.clone()), since));
    }

    /// [`Self::applied`] for a desired table the caller shares: the belief
    /// keeps a reference to it instead of a copy.
    pub fn applied_shared(&mut self, desired: &Arc<Table>, all_acknowledged: bool, now: Instant) {
        let since = self.basis.take().unwrap_or(now);
        self.believed = all_acknowledged.then(|| (Arc::clone(desired), since));
    }

    /// Drop the belief: the next reconciliation starts from a dump.
    pub fn forget(&mut self) {
        self.believed = None;
    }

    /// The table the reconciler believes the kernel holds, if any.
    pub fn believed(&self) -> Option<&Table> {
        self.believed.as_ref().map(|(t, _)| &**t)
    }

    /// Plan the operations for `desired` against a fresh dump `current`, and
    /// take ownership of what `desired` holds.
    pub fn plan(&mut self, desired: &Table, current: &Table) -> Vec<Op> {
        self.basis = None;
        let flush = self.lvs_flush && !self.flushed_once;
        self.flushed_once = true;
        self.owned.extend(desired.services.keys().copied());
        let ops = diff(desired, current, &self.owned, flush);
        // Services removed from the kernel are no longer ours to track.
        let gone: Vec<ServiceKey> = ops
            .iter()
            .filter_map(|o| match o {
                Op::DelService { key } => Some(*key),
                _ => None,
            })
            .collect();
        for k in gone {
            self.owned.remove(&k);
        }
        // Owned services missing from both tables are forgotten too.
        self.owned
            .retain(|k| desired.services.contains_key(k) || current.services.contains_key(k));
        self.owned.extend(desired.services.keys().copied());
        ops
    }

    /// Take ownership of services the configuration names, present in the
    /// kernel or not. A service with such a key that this run did not put
    /// there was left by an earlier run that died without cleaning up
    /// (`kill -9`, a crash) or by keepalived before tandem; a BACKUP must
    /// not keep it, since master-only rules make it the master's alone.
    /// A new claim (start-up, a reload that names other services) drops
    /// the belief, so the next plan sees the kernel as it is; the same
    /// claim again costs nothing, so a steady daemon keeps planning from
    /// its belief.
    pub fn claim(&mut self, keys: &BTreeSet<ServiceKey>) {
        if self.claimed == *keys {
            return;
        }
        let new: Vec<ServiceKey> = keys.difference(&self.claimed).copied().collect();
        self.claimed.clone_from(keys);
        if !new.is_empty() {
            self.owned.extend(new);
            self.forget();
        }
    }

    /// The operations for exit (see [`teardown`]).
    pub fn teardown(&self, current: &Table, policy: StopPolicy) -> Vec<Op> {
        teardown(current, &self.owned, policy)
    }

    pub fn owned(&self) -> &BTreeSet<ServiceKey> {
        &self.owned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::types::{Family, Forward, Netmask, Protocol, Scheduler, ServiceFlags};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn tcp(addr: &str, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip(addr),
            port,
        }
    }

    /// Two services, one with two destinations, one fwmark with one.
    fn sample() -> Table {
        let mut t = Table::new();
        let web = tcp("192.0.2.10", 80);
        t.insert_service(Service::new(web, Scheduler::Rr));
        t.insert_dest(
            &web,
            Destination::new(ip("198.51.100.1"), 80, Forward::Masq, 1),
        );
        t.insert_dest(
            &web,
            Destination::new(ip("198.51.100.2"), 80, Forward::Masq, 1),
        );
        let fwm = ServiceKey::Fwmark {
            family: Family::Inet6,
            fwmark: 7,
        };
        t.insert_service(Service::new(fwm, Scheduler::Wlc));
        t.insert_dest(
            &fwm,
            Destination::new(ip("2001:db8::2"), 0, Forward::Route, 3),
        );
        t
    }

    fn none() -> BTreeSet<ServiceKey> {
        BTreeSet::new()
    }

    #[test]
    fn from_empty_adds_services_before_their_destinations() {
        let ops = diff(&sample(), &Table::new(), &none(), false);
        let cmds: Vec<_> = ops.iter().map(|o| o.cmd()).collect();
        assert_eq!(
            cmds,
            [
                IpvsCmd::NewService,
                IpvsCmd::NewDest,
                IpvsCmd::NewDest,
                IpvsCmd::NewService,
                IpvsCmd::NewDest,
            ]
        );
    }

    #[test]
    fn same_table_needs_nothing() {
        assert!(diff(&sample(), &sample(), &none(), false).is_empty());
        assert!(diff(&sample(), &sample(), &none(), true).is_empty());
    }

    #[test]
    fn one_weight_change_is_exactly_one_set_dest() {
        let current = sample();
        let mut desired = sample();
        let web = tcp("192.0.2.10", 80);
        let mut d = Destination::new(ip("198.51.100.2"), 80, Forward::Masq, 5);
        d.weight = 5;
        desired.insert_dest(&web, d.clone());
        let ops = diff(&desired, &current, &none(), false);
        assert_eq!(
            ops,
            vec![Op::SetDest {
                service: web,
                dest: d
            }]
        );
    }

    #[test]
    fn threshold_and_forwarding_changes_are_set_dest() {
        let current = sample();
        let mut desired = sample();
        let web = tcp("192.0.2.10", 80);
        let mut d = Destination::new(ip("198.51.100.1"), 80, Forward::TUNNEL, 1);
        d.u_threshold = 100;
        d.l_threshold = 10;
        desired.insert_dest(&web, d);
        let ops = diff(&desired, &current, &none(), false);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].cmd(), IpvsCmd::SetDest);
    }

    #[test]
    fn scheduler_or_persistence_change_is_one_set_service() {
        let current = sample();
        let mut desired = sample();
        let web = tcp("192.0.2.10", 80);
        let mut s = Service::new(web, Scheduler::Wrr);
        desired.insert_service(s.clone());
        assert_eq!(
            diff(&desired, &current, &none(), false),
            vec![Op::SetService { service: s.clone() }]
        );
        s.scheduler = Scheduler::Rr;
        s.flags = ServiceFlags(ServiceFlags::PERSISTENT);
        s.timeout = 300;
        s.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
        desired.insert_service(s.clone());
        assert_eq!(
            diff(&desired, &current, &none(), false),
            vec![Op::SetService { service: s.clone() }]
        );
        // persistence_engine: set, changed or removed, one edit each, as
        // keepalived's reload (strcmp of pe_name, IP_VS_SO_SET_EDIT).
        let persistent = {
            let mut p = current.clone();
            p.insert_service(s.clone());
            p
        };
        s.pe_name = Some("sip".into());
        desired.insert_service(s.clone());
        assert_eq!(
            diff(&desired, &persistent, &none(), false),
            vec![Op::SetService { service: s.clone() }]
        );
        assert_eq!(
            diff(&persistent, &desired, &none(), false).len(),
            1,
            "removing the engine is one edit too"
        );
    }

    #[test]
    fn removed_destination_is_one_del_dest() {
        let current = sample();
        let mut desired = sample();
        let web = tcp("192.0.2.10", 80);
        let gone = DestKey {
            addr: ip("198.51.100.1"),
            port: 80,
        };
        desired
            .services
            .get_mut(&web)
            .unwrap()
            .destinations
            .remove(&gone);
        assert_eq!(
            diff(&desired, &current, &none(), false),
            vec![Op::DelDest {
                service: web,
                dest: gone
            }]
        );
    }

    #[test]
    fn foreign_services_are_left_alone_unless_lvs_flush() {
        let mut current = sample();
        let foreign = tcp("203.0.113.9", 443);
        current.insert_service(Service::new(foreign, Scheduler::Lc));
        assert!(diff(&sample(), &current, &none(), false).is_empty());
        assert_eq!(
            diff(&sample(), &current, &none(), true),
            vec![Op::DelService { key: foreign }]
        );
        // Owned, it goes even without lvs_flush.
        let owned: BTreeSet<_> = [foreign].into_iter().collect();
        assert_eq!(
            diff(&sample(), &current, &owned, false),
            vec![Op::DelService { key: foreign }]
        );
    }

    #[test]
    fn removals_come_before_changes_and_additions() {
        let mut current = sample();
        let old = tcp("192.0.2.99", 25);
        current.insert_service(Service::new(old, Scheduler::Rr));
        let mut desired = sample();
        let new = tcp("192.0.2.98", 25);
        desired.insert_service(Service::new(new, Scheduler::Rr));
        desired.insert_service(Service::new(tcp("192.0.2.10", 80), Scheduler::Sh));
        let owned: BTreeSet<_> = [old].into_iter().collect();
        let cmds: Vec<_> = diff(&desired, &current, &owned, false)
            .iter()
            .map(|o| o.cmd())
            .collect();
        assert_eq!(
            cmds,
            [
                IpvsCmd::DelService,
                IpvsCmd::SetService,
                IpvsCmd::NewService
            ]
        );
    }

    #[test]
    fn reconciler_removes_a_service_dropped_from_the_configuration() {
        let mut r = Reconciler::new(false);
        let desired = sample();
        let ops = r.plan(&desired, &Table::new());
        assert_eq!(ops.len(), 5);
        // The kernel now has it all; a reload drops the fwmark service.
        let current = sample();
        let mut reduced = sample();
        let fwm = ServiceKey::Fwmark {
            family: Family::Inet6,
            fwmark: 7,
        };
        reduced.services.remove(&fwm);
        assert_eq!(
            r.plan(&reduced, &current),
            vec![Op::DelService { key: fwm }]
        );
        assert!(!r.owned().contains(&fwm));
        // Someone else adds it back by hand: no longer tandem's business.
        assert!(r.plan(&reduced, &current).is_empty());
    }

    #[test]
    fn claimed_services_left_by_a_dead_run_go_while_backup_foreign_ones_stay() {
        // A restart after kill -9: the kernel still holds the web service
        // (the old run's) and a service someone added by hand. As BACKUP
        // the desired table is empty; the configuration names the web
        // service, so it goes; the other one stays.
        let web = tcp("192.0.2.10", 80);
        let mut current = sample();
        let foreign = tcp("203.0.113.9", 443);
        current.insert_service(Service::new(foreign, Scheduler::Lc));
        let mut r = Reconciler::new(false);
        assert!(
            r.plan(&Table::new(), &current).is_empty(),
            "without a claim nothing is tandem's"
        );
        let mut r = Reconciler::new(false);
        r.claim(&BTreeSet::from([web]));
        assert_eq!(
            r.plan(&Table::new(), &current),
            vec![Op::DelService { key: web }]
        );
        // A newly claimed key drops a belief: the next plan dumps.
        let mut r = Reconciler::new(false);
        r.plan(&sample(), &sample());
        r.applied(&sample(), true, Instant::now());
        r.claim(&BTreeSet::from([foreign]));
        assert!(r.plan_from_belief(&sample(), Instant::now()).is_none());
        // The same claim again keeps the belief, also for a claimed service
        // that is in neither table (a backup's): no dump per change.
        let mut r = Reconciler::new(false);
        let absent = tcp("192.0.2.99", 80);
        r.claim(&BTreeSet::from([web, absent]));
        r.plan(&sample(), &sample());
        r.applied(&sample(), true, Instant::now());
        r.claim(&BTreeSet::from([web, absent]));
        assert!(r.plan_from_belief(&sample(), Instant::now()).is_some());
    }

    #[test]
    fn reconciler_flushes_foreign_services_only_on_the_first_run() {
        let mut r = Reconciler::new(true);
        let mut current = sample();
        let foreign = tcp("203.0.113.9", 443);
        current.insert_service(Service::new(foreign, Scheduler::Lc));
        assert_eq!(
            r.plan(&sample(), &current),
            vec![Op::DelService { key: foreign }]
        );
        assert!(r.plan(&sample(), &current).is_empty());
    }

    #[test]
    fn belief_plans_without_a_dump_until_a_failure_or_its_age() {
        let t0 = Instant::now();
        let later = |s| t0 + Duration::from_secs(s);
        let mut r = Reconciler::new(false);
        assert!(r.plan_from_belief(&sample(), t0).is_none());
        let ops = r.plan(&sample(), &Table::new());
        r.applied(&sample(), true, t0);
        assert_eq!(ops.len(), 5);
        let mut changed = sample();
        let web = tcp("192.0.2.10", 80);
        changed.insert_dest(
            &web,
            Destination::new(ip("198.51.100.1"), 80, Forward::Masq, 9),
        );
        let ops = r.plan_from_belief(&changed, later(1)).expect("a belief");
        assert_eq!(ops.len(), 1);
        r.applied(&changed, true, later(1));
        // The belief's age counts from the dump (t0), not from the change.
        assert!(r.plan_from_belief(&changed, later(59)).is_some());
        r.applied(&changed, true, later(59));
        assert!(r.plan_from_belief(&changed, later(60)).is_none());
        // After a dump, a fresh belief.
        r.plan(&changed, &changed);
        r.applied(&changed, true, later(60));
        assert!(r.plan_from_belief(&changed, later(61)).is_some());
        // A refusal: no belief, the next plan needs a dump.
        r.applied(&changed, false, later(61));
        assert!(r.plan_from_belief(&changed, later(61)).is_none());
        // A service dropped from the configuration goes, planned from belief.
        r.plan(&sample(), &sample());
        r.applied(&sample(), true, later(62));
        let mut fewer = sample();
        fewer.services.remove(&web);
        assert_eq!(
            r.plan_from_belief(&fewer, later(63)),
            Some(vec![Op::DelService { key: web }])
        );
    }

    #[test]
    fn teardown_removes_owned_or_flushes() {
        let mut current = sample();
        let foreign = tcp("203.0.113.9", 443);
        current.insert_service(Service::new(foreign, Scheduler::Lc));
        let mut r = Reconciler::new(false);
        r.plan(&sample(), &sample());
        let ops = r.teardown(&current, StopPolicy::RemoveOwned);
        assert_eq!(ops.len(), 2);
        assert!(ops.iter().all(|o| o.cmd() == IpvsCmd::DelService));
        assert!(!ops.contains(&Op::DelService { key: foreign }));
        assert_eq!(r.teardown(&current, StopPolicy::Flush), vec![Op::Flush]);
        assert!(r.teardown(&current, StopPolicy::Leave).is_empty());
    }

    #[test]
    fn op_lines_read_like_ipvsadm() {
        let web = tcp("192.0.2.10", 80);
        let op = Op::SetDest {
            service: web,
            dest: Destination::new(ip("198.51.100.2"), 8080, Forward::Masq, 2),
        };
        assert_eq!(
            op.to_string(),
            "SET_DEST TCP 192.0.2.10:80 -> 198.51.100.2:8080 Masq weight 2"
        );
        let op = Op::DelService {
            key: tcp("2001:db8::1", 443),
        };
        assert_eq!(op.to_string(), "DEL_SERVICE TCP [2001:db8::1]:443");
    }
}
