//! The state of every virtual server: which real servers are alive, which
//! have quorum, and the IPVS table that follows from it.
//!
//! Owns [`LvsState`] and the [`Action`]s it gives back. Sans-IO: no kernel,
//! no scripts run, no clock; verdicts come in as [`CheckEvent`]s and the
//! table goes out as values for the IPVS reconciler.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;

use super::model::{FileCheckEffect, VirtualServerSpec};
use crate::check::{CheckEvent, CheckerId, Report};
use crate::ipvs::types::{Destination, Table, VirtualService};
use crate::notify::script::Script;

/// Index of a virtual server in the configuration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VsIndex(pub usize);

/// Something the daemon must do or tell the operator, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A real server came up; run `notify` if set.
    RealServerUp {
        vs: VsIndex,
        rs: SocketAddr,
        notify: Option<Script>,
        /// The checker whose verdict made the change (for the mail).
        checker: Option<CheckerId>,
    },
    /// A real server went down; run `notify` if set.
    RealServerDown {
        vs: VsIndex,
        rs: SocketAddr,
        notify: Option<Script>,
        /// The checker's last failure, for the log.
        reason: Option<String>,
        /// The checker whose verdict made the change (for the mail); none
        /// when the daemon stops (`omega`).
        checker: Option<CheckerId>,
    },
    /// One checker of a real server with several changed its verdict, but
    /// the real server did not change state (another checker still fails,
    /// or this one was not the last to fail). Only for the mail
    /// keepalived sends unless `no_checker_emails`.
    CheckerChanged {
        vs: VsIndex,
        rs: SocketAddr,
        checker: CheckerId,
        /// The checker's new verdict.
        passed: bool,
        /// The real server's state, unchanged.
        alive: bool,
        reason: Option<String>,
    },
    /// The alive weight reached the quorum again; `sorry` is true when a
    /// sorry server is being taken out.
    QuorumUp {
        vs: VsIndex,
        notify: Option<Script>,
        sorry: bool,
    },
    /// The alive weight fell below the quorum; `sorry` is true when a sorry
    /// server is being put in.
    QuorumDown {
        vs: VsIndex,
        notify: Option<Script>,
        sorry: bool,
    },
}

#[derive(Debug, Clone)]
struct RsState {
    /// Checkers of this real server that currently fail.
    failing: BTreeSet<CheckerId>,
    /// The weight a `misc_dynamic` checker asked for last.
    dynamic_weight: Option<u32>,
    /// The value of each `FILE_CHECK`'s file (as the spec lists them).
    file_values: Vec<i64>,
}

#[derive(Debug, Clone)]
struct VsState {
    spec: VirtualServerSpec,
    rs: Vec<RsState>,
    quorum_up: bool,
}

impl VsState {
    fn alive(&self, i: usize) -> bool {
        self.rs[i].failing.is_empty() && !self.file_down(i)
    }

    /// Whether one of the real server's FILE_CHECKs fails.
    fn file_down(&self, i: usize) -> bool {
        self.file_effects(i).any(|e| e == FileCheckEffect::Down)
    }

    fn file_effects(&self, i: usize) -> impl Iterator<Item = FileCheckEffect> + '_ {
        self.spec.real_servers[i]
            .file_checks
            .iter()
            .zip(&self.rs[i].file_values)
            .map(|(f, v)| f.effect(*v))
    }

    /// The IPVS weight: the configured one (or `misc_dynamic`'s), plus
    /// what the FILE_CHECKs add, within 0..=i32::MAX as keepalived keeps it.
    fn weight(&self, i: usize) -> u32 {
        let base = self.rs[i]
            .dynamic_weight
            .unwrap_or(self.spec.real_servers[i].weight);
        let files: i64 = self
            .file_effects(i)
            .map(|e| match e {
                FileCheckEffect::Weight(w) => w,
                FileCheckEffect::Down => 0,
            })
            .sum();
        (i64::from(base) + files).clamp(0, i64::from(i32::MAX)) as u32
    }

    fn alive_weight(&self) -> u64 {
        (0..self.rs.len())
            .filter(|&i| self.alive(i))
            .map(|i| u64::from(self.weight(i)))
            .sum()
    }
}

/// The state of every virtual server of the configuration.
#[derive(Debug, Clone)]
pub struct LvsState {
    vs: Vec<VsState>,
    /// Checker → the (virtual server, real server) pairs it decides, because
    /// one deduplicated checker may serve several virtual servers.
    by_checker: HashMap<CheckerId, Vec<(usize, usize)>>,
}

impl LvsState {
    /// Build the state at start-up. `initial_up` tells whether a checker
    /// starts passing (false under `alpha`).
    pub fn new(specs: Vec<VirtualServerSpec>, initial_up: impl Fn(CheckerId) -> bool) -> Self {
        let mut by_checker: HashMap<CheckerId, Vec<(usize, usize)>> = HashMap::new();
        let vs = specs
            .into_iter()
            .enumerate()
            .map(|(v, spec)| {
                let rs: Vec<RsState> = spec
                    .real_servers
                    .iter()
                    .enumerate()
                    .map(|(r, rs)| {
                        for c in &rs.checkers {
                            let users = by_checker.entry(*c).or_default();
                            if !users.contains(&(v, r)) {
                                users.push((v, r));
                            }
                        }
                        RsState {
                            failing: rs
                                .checkers
                                .iter()
                                .copied()
                                .filter(|c| !initial_up(*c))
                                .collect(),
                            dynamic_weight: None,
                            file_values: vec![0; rs.file_checks.len()],
                        }
                    })
                    .collect();
                let mut state = VsState {
                    spec,
                    rs,
                    quorum_up: true,
                };
                state.quorum_up = state.alive_weight() >= u64::from(state.spec.quorum);
                state
            })
            .collect();
        Self { vs, by_checker }
    }

    pub fn len(&self) -> usize {
        self.vs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vs.is_empty()
    }

    pub fn spec(&self, vs: VsIndex) -> Option<&VirtualServerSpec> {
        self.vs.get(vs.0).map(|v| &v.spec)
    }

    /// Whether the virtual server currently has its quorum.
    pub fn quorum_up(&self, vs: VsIndex) -> Option<bool> {
        self.vs.get(vs.0).map(|v| v.quorum_up)
    }

    /// Whether a real server (by position in its virtual server) is alive.
    pub fn real_server_alive(&self, vs: VsIndex, rs: usize) -> Option<bool> {
        let v = self.vs.get(vs.0)?;
        (rs < v.rs.len()).then(|| v.alive(rs))
    }

    /// Whether checker `id` passes now (`None`: no real server uses it).
    pub fn checker_up(&self, id: CheckerId) -> Option<bool> {
        let (v, r) = *self.by_checker.get(&id)?.first()?;
        Some(!self.vs.get(v)?.rs.get(r)?.failing.contains(&id))
    }

    /// Reload: take the quorum state of the virtual servers `old` has with
    /// the same services, so a sorry server in use stays in use. The quorum
    /// is then judged again with the hysteresis; what changes is returned
    /// as actions (quorum_up / quorum_down), as a check would.
    pub fn carry_quorum(&mut self, old: &LvsState) -> Vec<Action> {
        let mut actions = Vec::new();
        for v in 0..self.vs.len() {
            let keys = |s: &VirtualServerSpec| s.services.iter().map(|x| x.key).collect::<Vec<_>>();
            let mine = keys(&self.vs[v].spec);
            if let Some(o) = old.vs.iter().find(|o| keys(&o.spec) == mine) {
                self.vs[v].quorum_up = o.quorum_up;
                actions.extend(self.update_quorum(v));
            }
        }
        actions
    }

    /// `rs_init_notifies` at start: every real server alive as the daemon
    /// starts (no failing checker, no failing FILE_CHECK) reported as come
    /// up, so its `notify_up` runs and its FIFO line is written, in the
    /// order of the file (keepalived's `init_service_rs`).
    pub fn initial_up(&self) -> Vec<Action> {
        let mut actions = Vec::new();
        for (v, vs) in self.vs.iter().enumerate() {
            for (r, spec) in vs.spec.real_servers.iter().enumerate() {
                if vs.alive(r) {
                    actions.push(Action::RealServerUp {
                        vs: VsIndex(v),
                        rs: spec.addr,
                        notify: spec.notify_up.clone(),
                        checker: None,
                    });
                }
            }
        }
        actions
    }

    /// Apply one checker verdict change.
    pub fn on_check(&mut self, event: &CheckEvent) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(users) = self.by_checker.get(&event.checker) else {
            return actions;
        };
        let mut touched: Vec<usize> = Vec::new();
        for &(v, r) in users {
            let vs = &mut self.vs[v];
            let was_alive = vs.alive(r);
            let state = &mut vs.rs[r];
            let flipped = match event.report {
                Report::Up => state.failing.remove(&event.checker),
                Report::Down => state.failing.insert(event.checker),
                Report::Weight(w) => {
                    state.dynamic_weight = Some(w);
                    false
                }
            };
            let alive = vs.alive(r);
            let spec = &vs.spec.real_servers[r];
            if alive && !was_alive {
                actions.push(Action::RealServerUp {
                    vs: VsIndex(v),
                    rs: spec.addr,
                    notify: spec.notify_up.clone(),
                    checker: Some(event.checker),
                });
            } else if !alive && was_alive {
                actions.push(Action::RealServerDown {
                    vs: VsIndex(v),
                    rs: spec.addr,
                    notify: spec.notify_down.clone(),
                    reason: event.detail.clone(),
                    checker: Some(event.checker),
                });
            } else if flipped {
                actions.push(Action::CheckerChanged {
                    vs: VsIndex(v),
                    rs: spec.addr,
                    checker: event.checker,
                    passed: event.report == Report::Up,
                    alive,
                    reason: event.detail.clone(),
                });
            }
            if !touched.contains(&v) {
                touched.push(v);
            }
        }
        for v in touched {
            actions.extend(self.update_quorum(v));
        }
        actions
    }

    /// Set the value of every track file (`values`; a file not named
    /// holds 0) without any action: the state at start, or after a reload,
    /// is taken as it is, as keepalived starts a real server whose
    /// FILE_CHECK fails as down without a notify. The quorum is judged
    /// again from it, silently too.
    pub fn seed_track_files(&mut self, values: &BTreeMap<String, i64>) {
        for vs in &mut self.vs {
            for (i, rs) in vs.rs.iter_mut().enumerate() {
                let checks = &vs.spec.real_servers[i].file_checks;
                for (slot, f) in rs.file_values.iter_mut().zip(checks) {
                    *slot = values.get(&f.track_file).copied().unwrap_or(0);
                }
            }
            vs.quorum_up = vs.alive_weight() >= u64::from(vs.spec.quorum);
        }
    }

    /// The file of track_file `name` now holds `value`: the real servers
    /// whose FILE_CHECK follows it change weight, go down or come up.
    pub fn on_track_file(&mut self, name: &str, value: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        for v in 0..self.vs.len() {
            let mut touched = false;
            for r in 0..self.vs[v].rs.len() {
                let vs = &mut self.vs[v];
                let checks = &vs.spec.real_servers[r].file_checks;
                let slots: Vec<usize> = (0..checks.len())
                    .filter(|&k| checks[k].track_file == name && vs.rs[r].file_values[k] != value)
                    .collect();
                if slots.is_empty() {
                    continue;
                }
                touched = true;
                let was_alive = vs.alive(r);
                for k in slots {
                    vs.rs[r].file_values[k] = value;
                }
                let alive = vs.alive(r);
                let spec = &vs.spec.real_servers[r];
                let reason = format!("FILE_CHECK: track_file {name} holds {value}");
                if alive && !was_alive {
                    actions.push(Action::RealServerUp {
                        vs: VsIndex(v),
                        rs: spec.addr,
                        notify: spec.notify_up.clone(),
                        checker: None,
                    });
                } else if !alive && was_alive {
                    actions.push(Action::RealServerDown {
                        vs: VsIndex(v),
                        rs: spec.addr,
                        notify: spec.notify_down.clone(),
                        reason: Some(reason),
                        checker: None,
                    });
                }
            }
            if touched {
                actions.extend(self.update_quorum(v));
            }
        }
        actions
    }

    /// The IPVS weight real server `rs` of `vs` has while alive (its
    /// configured weight, moved by `misc_dynamic` and FILE_CHECKs).
    pub fn real_server_weight(&self, vs: VsIndex, rs: usize) -> Option<u32> {
        let v = self.vs.get(vs.0)?;
        (rs < v.rs.len()).then(|| v.weight(rs))
    }

    /// Quorum with hysteresis (keepalived.conf(5) `quorum`, `hysteresis`).
    fn update_quorum(&mut self, v: usize) -> Option<Action> {
        let vs = &mut self.vs[v];
        let sum = vs.alive_weight();
        let quorum = u64::from(vs.spec.quorum);
        let hysteresis = u64::from(vs.spec.hysteresis);
        let sorry = vs.spec.sorry_server.is_some();
        if vs.quorum_up && sum < quorum.saturating_sub(hysteresis) {
            vs.quorum_up = false;
            Some(Action::QuorumDown {
                vs: VsIndex(v),
                notify: vs.spec.quorum_down.clone(),
                sorry,
            })
        } else if !vs.quorum_up && sum >= quorum + hysteresis {
            vs.quorum_up = true;
            Some(Action::QuorumUp {
                vs: VsIndex(v),
                notify: vs.spec.quorum_up.clone(),
                sorry,
            })
        } else {
            None
        }
    }

    /// What to do when the daemon stops: with `omega`, the down notifiers
    /// of every alive real server and `quorum_down` of every virtual server
    /// that has its quorum; nothing without it.
    pub fn shutdown(&self) -> Vec<Action> {
        let mut actions = Vec::new();
        for (v, vs) in self.vs.iter().enumerate() {
            if !vs.spec.omega {
                continue;
            }
            for (r, rs) in vs.spec.real_servers.iter().enumerate() {
                if vs.alive(r) {
                    actions.push(Action::RealServerDown {
                        vs: VsIndex(v),
                        rs: rs.addr,
                        notify: rs.notify_down.clone(),
                        reason: Some("shutting down (omega)".into()),
                        checker: None,
                    });
                }
            }
            if vs.quorum_up {
                actions.push(Action::QuorumDown {
                    vs: VsIndex(v),
                    notify: vs.spec.quorum_down.clone(),
                    sorry: false,
                });
            }
        }
        actions
    }

    /// The IPVS services (with destinations) virtual server `vs` should
    /// have now, from the current check state.
    pub fn desired(&self, vs: VsIndex) -> Vec<VirtualService> {
        let Some(v) = self.vs.get(vs.0) else {
            return Vec::new();
        };
        let sorry_mode = !v.quorum_up && v.spec.sorry_server.is_some();
        let mut destinations = BTreeMap::new();
        let mut add = |addr: SocketAddr, forward, weight: u32, u, l| {
            let d = Destination {
                addr: addr.ip(),
                port: addr.port(),
                forward,
                weight: i32::try_from(weight).unwrap_or(i32::MAX),
                u_threshold: u,
                l_threshold: l,
            };
            destinations.insert(d.key(), d);
        };
        for (i, rs) in v.spec.real_servers.iter().enumerate() {
            let weight = if v.alive(i) && !sorry_mode {
                Some(v.weight(i))
            } else if rs.inhibit_on_failure {
                Some(0)
            } else {
                None
            };
            if let Some(weight) = weight {
                add(rs.addr, rs.forward, weight, rs.u_threshold, rs.l_threshold);
            }
        }
        if let Some(sorry) = &v.spec.sorry_server {
            let weight = if sorry_mode {
                Some(sorry.weight)
            } else if sorry.inhibit {
                Some(0)
            } else {
                None
            };
            if let Some(weight) = weight {
                add(sorry.addr, sorry.forward, weight, 0, 0);
            }
        }
        v.spec
            .services
            .iter()
            .map(|service| VirtualService {
                service: service.clone(),
                destinations: destinations.clone(),
            })
            .collect()
    }

    /// The key of every IPVS service the configuration names, whoever
    /// governs it: these are tandem's in the kernel (see
    /// [`crate::ipvs::Reconciler::claim`]).
    pub fn service_keys(&self) -> std::collections::BTreeSet<crate::ipvs::types::ServiceKey> {
        self.vs
            .iter()
            .flat_map(|v| v.spec.services.iter().map(|s| s.key))
            .collect()
    }

    /// The whole table for the virtual servers `programs` selects (see
    /// [`Governance::programs`]).
    ///
    /// [`Governance::programs`]: super::Governance::programs
    pub fn desired_table(&self, programs: impl Fn(VsIndex) -> bool) -> Table {
        let mut table = Table::new();
        for v in (0..self.vs.len()).map(VsIndex).filter(|&v| programs(v)) {
            for service in self.desired(v) {
                table.services.insert(service.service.key, service);
            }
        }
        table
    }
}
