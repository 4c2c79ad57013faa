//! From a parsed keepalived.conf to what the daemon runs: each
//! `vrrp_instance` resolved against the kernel (interface indexes, source
//! address, VIPs as rtnetlink addresses) and grouped into units — one per
//! `vrrp_sync_group`, one per instance outside any group.
//!
//! Everything that can make the daemon unable to run is found here, before
//! a single socket is opened: a missing interface, an interface without an
//! address to send adverts from, parameters the state machine refuses.
//! Also `in_place`: whether a running unit can take a reload's new plan.
//!
//! Plain data and pure checks; the only kernel access is [`Kernel::read`],
//! on an rtnetlink handle its caller opened.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::model::UnicastPeerTtl;
use crate::net::vmac::NewVlan;
use crate::net::{IfAddress, LinkInfo};
use crate::notify::script::{NotifyScripts, Script};
use crate::vrrp::Params;

use super::addrs::VipSet;

/// Why the configuration cannot be run on this machine.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{origin}: vrrp_instance {instance}: interface {ifname} does not exist")]
    NoInterface {
        origin: String,
        instance: String,
        ifname: String,
    },
    #[error(
        "{origin}: vrrp_instance {instance}: interface {ifname} has no {family} address to send adverts from; add one or set unicast_src_ip"
    )]
    NoSourceAddress {
        origin: String,
        instance: String,
        ifname: String,
        family: &'static str,
    },
    #[error("{origin}: vrrp_instance {instance}: {what}")]
    Invalid {
        origin: String,
        instance: String,
        what: String,
    },
    /// A static address or route, or an instance's promote_secondaries,
    /// names an interface the machine does not have.
    #[error("{what}: interface {ifname} does not exist")]
    NoLink { what: String, ifname: String },
    #[error("vrrp_sync_group {group}: member {member} is not a vrrp_instance")]
    UnknownMember { group: String, member: String },
    #[error("{0}")]
    Script(#[from] crate::notify::script::SetupError),
    #[error("cannot read the network configuration: {0}")]
    Kernel(#[from] crate::net::RtnlError),
}

/// gratuitous ARP / NA settings of one instance (keepalived names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpPlan {
    pub master_repeat: u32,
    pub lower_prio_repeat: u32,
    pub refresh: Option<Duration>,
    pub refresh_repeat: u32,
    /// `garp_extra_if ... all`, when some VIP is on another interface.
    pub extra_if: Option<ExtraIfGarp>,
}

/// `garp_extra_if` / `vrrp_garp_extra_if` resolved: while master, every
/// `interval`, one gratuitous ARP / NA on each interface of the VIPs
/// other than the instance's own, whose MAC the adverts already keep in
/// the switches' tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraIfGarp {
    pub interval: Duration,
    /// The instance's own interface (its vmac with `use_vmac`); `None`
    /// with `vmac_xmit_base`: the adverts leave from the base, so the
    /// vmac is announced too, as keepalived does.
    pub skip: Option<u32>,
    /// Without `all`: the only interfaces announced (use_vmac_addr's).
    pub only: Option<Vec<u32>>,
}

impl ExtraIfGarp {
    /// keepalived's rule: only when a VIP is on an interface other than
    /// `own` — with `all` any, without it one of `vmacs` (use_vmac_addr's).
    /// Without `all` only those are announced.
    pub fn resolve(
        cfg: Option<crate::config::model::GarpExtraIf>,
        vips: &VipSet,
        own: u32,
        xmit_base: bool,
        vmacs: &[u32],
    ) -> Option<ExtraIfGarp> {
        let c = cfg?;
        let counts = |i: u32| i != own && (c.all || vmacs.contains(&i));
        vips.addresses
            .iter()
            .any(|a| counts(a.ifindex))
            .then(|| ExtraIfGarp {
                interval: c.interval,
                skip: (!xmit_base).then_some(own),
                only: (!c.all).then(|| vmacs.to_vec()),
            })
    }

    /// What one round announces: the first VIP (or excluded VIP) on each
    /// interface but the skipped one — one frame per interface refreshes
    /// the switches, as keepalived sends it. The clone keeps the set's
    /// mastership, so a round never follows the VIPs' removal.
    pub fn subset(&self, vips: &VipSet) -> VipSet {
        let mut set = vips.clone();
        let mut seen = Vec::new();
        set.addresses.retain(|a| {
            let first = Some(a.ifindex) != self.skip
                && self.only.as_ref().is_none_or(|o| o.contains(&a.ifindex))
                && !seen.contains(&a.ifindex);
            if first {
                seen.push(a.ifindex);
            }
            first
        });
        set.routes.clear();
        set.rules.clear();
        set
    }
}

/// An instance's `use_vmac` / `use_ipvlan` interface, resolved: its name
/// chosen, its base found, and whether it exists as it should.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacPlan {
    pub name: String,
    /// The instance's `interface`: the link it is created on.
    pub base: u32,
    pub base_ifname: String,
    /// The base's link group, which the vmac joins (as keepalived does).
    pub group: u32,
    pub link: NewVlan,
    /// An IPv6 instance (only `arp_ignore` is set on its vmac).
    pub v6: bool,
    /// `vmac_xmit_base`: adverts on the base, VIPs on the vmac.
    pub xmit_base: bool,
    /// IPv6 off on the link (`disable_ipv6`): an IPv4 instance with no
    /// IPv6 address among its VIPs, as keepalived does.
    pub disable_ipv6: bool,
    /// The address the link carries besides the VIPs: the ipvlan's
    /// address, or an IPv6 macvlan's link-local source (RFC 5798 §5.1.2.1;
    /// not with `vmac_xmit_base`). Its `ifindex` is the vmac's.
    pub address: Option<IfAddress>,
    /// The link's index when it exists as planned; `None`: it must be
    /// created (or replaced) before the plan can run.
    pub index: Option<u32>,
}

/// One `vrrp_instance`, resolved.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    pub name: String,
    pub params: Params,
    pub ifname: String,
    pub ifindex: u32,
    /// The source address of adverts (= `params.primary_addr`).
    pub src: IpAddr,
    /// The multicast group joined on the interface.
    pub group: IpAddr,
    /// Where adverts go: the multicast group, or every `unicast_peer`.
    pub dsts: Vec<IpAddr>,
    /// `unicast_peer`: when not empty, adverts from anyone else are dropped.
    pub unicast_peers: Vec<IpAddr>,
    /// `unicast_peer ... min_ttl/max_ttl`: the peers whose adverts must
    /// arrive with a TTL / hop limit in a range.
    pub unicast_peer_ttl: Vec<UnicastPeerTtl>,
    /// `unicast_ttl`: TTL / hop limit of unicast adverts (255 by default).
    pub unicast_ttl: u8,
    pub vips: VipSet,
    /// (interface index, tracker index in `params.trackers`) for every
    /// tracked interface, the instance's own and its group's.
    pub track_links: Vec<(u32, usize)>,
    /// (vrrp_script name, tracker index) for every tracked script.
    pub track_scripts: Vec<(String, usize)>,
    /// (track_file name, index in `params.track_files`) for every tracked
    /// file, the instance's own and its group's.
    pub track_files: Vec<(String, usize)>,
    /// (bfd_instance name, tracker index, invert) for every tracked BFD
    /// session; `invert`: feed the tracker the opposite of "Up"
    /// ([`crate::vrrp::TrackerParams::for_bfd`]).
    pub track_bfds: Vec<(String, usize, bool)>,
    /// (bfd_instance name, its `neighbor_ip`) for every `track_bfd` entry
    /// with `tandem_takeover`, the instance's own and its group's: when
    /// the session leaves Up, the instance is told
    /// [`crate::vrrp::Event::PeerDown`] with that address.
    pub takeovers: Vec<(String, std::net::IpAddr)>,
    /// (vrrp_track_process name, index in `params.track_processes`), the
    /// instance's own and its group's.
    pub track_processes: Vec<(String, usize)>,
    pub notify: NotifyScripts,
    pub garp: GarpPlan,
    /// `use_vmac` / `use_ipvlan`; `ifindex` is the vmac's unless
    /// `vmac_xmit_base`.
    pub vmac: Option<VmacPlan>,
    /// `use_vmac_addr`: (the `dev` it stands for, its macvlan) for each
    /// other interface a VIP names; the VIPs with that `dev` are on it.
    pub addr_vmacs: Vec<(String, VmacPlan)>,
    /// `auth_type AH`: its `auth_pass`, the key of the IPsec AH ICV. The
    /// adverts then go out whole (IP header included) on an `IP_HDRINCL`
    /// socket and come in on a protocol-51 socket.
    pub ah_pass: Option<String>,
    /// This instance's share of its receive socket's SO_RCVBUF, in bytes
    /// (`kernel_rx_buf_size`, else `vrrp_rx_bufs_policy`'s; 0: none):
    /// the socket gets the sum of its instances' shares.
    pub rx_buf: u32,
    /// Where the instance was configured, for messages.
    pub origin: String,
}

impl InstancePlan {
    /// The receive socket its adverts arrive on: unicast with
    /// `unicast_peer`, else its multicast group.
    pub fn rx_dest(&self) -> crate::net::RxDest {
        if self.unicast_peers.is_empty() {
            crate::net::RxDest::Group(self.group)
        } else {
            crate::net::RxDest::Unicast {
                v6: self.group.is_ipv6(),
            }
        }
    }
}

/// A `vrrp_sync_group`, resolved.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    pub name: String,
    pub notify: NotifyScripts,
}

/// What one task runs: a sync group with its members, or a lone instance.
#[derive(Debug, Clone)]
pub struct UnitPlan {
    pub group: Option<GroupPlan>,
    pub instances: Vec<InstancePlan>,
}

impl UnitPlan {
    /// Whether vrrp_instance `name` is one of this unit's.
    pub fn has_instance(&self, name: &str) -> bool {
        self.instances.iter().any(|i| i.name == name)
    }

    /// The name for logs: the group's, or the instance's.
    pub fn name(&self) -> &str {
        match &self.group {
            Some(g) => &g.name,
            None => self
                .instances
                .first()
                .map(|i| i.name.as_str())
                .unwrap_or(""),
        }
    }
}

/// A `vrrp_script`, for the script tracker.
#[derive(Debug, Clone)]
pub struct ScriptPlan {
    pub name: String,
    pub script: Script,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

/// The whole daemon (empty: nothing to elect).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub units: Vec<UnitPlan>,
    pub scripts: Vec<ScriptPlan>,
    /// `dynamic_interfaces`: the instances left out because a link they
    /// need does not exist (yet); they are FAULT until it appears.
    pub waiting: Vec<Waiting>,
    /// Every `bfd_instance`, as the BFD task runs it.
    pub bfd: Vec<crate::bfd::SessionConfig>,
    /// The interfaces whose carrier is polled (linkbeat), and the way
    /// each prefers; rtnetlink's word on them is ignored.
    pub linkbeat: Vec<(String, Option<crate::net::LinkbeatWay>)>,
    /// keepalived's `garp_delay`s: each `garp_group`, and one per other
    /// interface the instances use when `vrrp_garp_interval` /
    /// `vrrp_gna_interval` are set.
    pub garp_delays: Vec<GarpDelayPlan>,
}

/// One delay shared by `ifindexes` (keepalived's `garp_delay`): the
/// minimum gap between two gratuitous ARPs, and between two NAs, sent on
/// any of them; `None` leaves that kind unpaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpDelayPlan {
    pub ifindexes: Vec<u32>,
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
}

/// An instance that waits for a link (`dynamic_interfaces`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub instance: String,
    /// Its sync group, which waits with it.
    pub group: Option<String>,
    /// The first missing link found.
    pub ifname: String,
}

/// What the kernel says about links and addresses, read once.
pub struct Kernel {
    pub links: Vec<LinkInfo>,
    pub addresses: Vec<IfAddress>,
}

impl Kernel {
    pub fn read(rtnl: &mut crate::net::Rtnl) -> Result<Kernel, PlanError> {
        Ok(Kernel {
            links: rtnl.links()?,
            addresses: rtnl.addresses()?,
        })
    }

    pub fn link(&self, name: &str) -> Option<&LinkInfo> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The same view without the links named in `names` (and their
    /// addresses): `dynamic_interfaces` ignores a link that came back as
    /// another kind.
    pub fn without(&self, names: &std::collections::BTreeSet<String>) -> Kernel {
        let links: Vec<LinkInfo> = self
            .links
            .iter()
            .filter(|l| !names.contains(&l.name))
            .cloned()
            .collect();
        let addresses = self
            .addresses
            .iter()
            .filter(|a| links.iter().any(|l| l.index == a.ifindex))
            .cloned()
            .collect();
        Kernel { links, addresses }
    }
}

/// Whether a running unit can take a reload's new plan in place (its
/// instances keep their state: no re-election, no VIP flap), or why it must
/// be rebuilt. What names the virtual router or the sockets it runs on
/// cannot change under a running instance: the members, their interface,
/// source address, multicast group, unicast vs multicast, VRID, version and
/// the tracked objects (a new tracker's state is not known). Priority,
/// advert_int, preemption, authentication, VIPs, tracker weights, GARP
/// settings, notify scripts and unicast peers can.
pub(super) fn in_place(old: &UnitPlan, new: &UnitPlan) -> Result<(), String> {
    if old.group.is_some() != new.group.is_some() {
        return Err("it became or stopped being a vrrp_sync_group".into());
    }
    let names = |u: &UnitPlan| {
        u.instances
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    };
    if names(old) != names(new) {
        return Err("its members changed".into());
    }
    for (o, n) in old.instances.iter().zip(&new.instances) {
        let what = if o.ifindex != n.ifindex {
            "interface"
        } else if o.vmac.as_ref().map(|v| (&v.name, &v.link, v.xmit_base))
            != n.vmac.as_ref().map(|v| (&v.name, &v.link, v.xmit_base))
        {
            "use_vmac / use_ipvlan"
        } else if o
            .addr_vmacs
            .iter()
            .map(|(_, v)| (&v.name, &v.link))
            .ne(n.addr_vmacs.iter().map(|(_, v)| (&v.name, &v.link)))
        {
            "use_vmac_addr"
        } else if o.src != n.src {
            "source address"
        } else if o.group != n.group {
            "multicast group"
        } else if o.unicast_peers.is_empty() != n.unicast_peers.is_empty() {
            "unicast vs multicast"
        } else if o.unicast_ttl != n.unicast_ttl {
            "unicast_ttl"
        } else if o.ah_pass != n.ah_pass {
            // A new key starts a new AH sequence; other sockets.
            "auth_type AH / its auth_pass"
        } else if o.params.vrid != n.params.vrid {
            "virtual_router_id"
        } else if o.params.version != n.params.version {
            "version"
        } else if o.track_links != n.track_links
            || o.track_scripts != n.track_scripts
            || o.track_files != n.track_files
            || o.track_bfds != n.track_bfds
            || o.track_processes != n.track_processes
            || o.params.trackers.iter().map(|t| &t.name).ne(n
                .params
                .trackers
                .iter()
                .map(|t| &t.name))
        {
            "tracked objects"
        } else {
            continue;
        };
        return Err(format!("vrrp_instance {}: {what} changed", n.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::daemon::configure;
    use crate::daemon::testing::{BASE, parse};

    fn unit_of(text: &str) -> UnitPlan {
        let link = |index: u32, name: &str| crate::net::LinkInfo {
            index,
            name: name.into(),
            running: true,
            mac: Some([2, 0, 0, 0, 0, 1]),
            ..crate::net::LinkInfo::default()
        };
        let addr = |ifindex, a: [u8; 4]| crate::net::IfAddress {
            prefix_len: 24,
            ..crate::net::IfAddress::host(ifindex, IpAddr::from(a))
        };
        let kernel = Kernel {
            links: vec![link(2, "eth0"), link(3, "eth1")],
            addresses: vec![addr(2, [192, 0, 2, 1]), addr(3, [198, 51, 100, 1])],
        };
        match configure::plan(&parse(text), &kernel) {
            Ok(mut p) if p.units.len() == 1 => p.units.remove(0),
            other => panic!("not one unit: {other:?}"),
        }
    }

    #[test]
    fn how_an_instance_behaves_is_reloaded_in_place() {
        let old = unit_of(BASE);
        for new in [
            BASE.replace("priority 150", "priority 90"),
            BASE.replace("priority 150", "priority 90\n advert_int 2\n nopreempt"),
            BASE.replace("192.0.2.2/24", "192.0.2.2/24\n 192.0.2.3/24"),
            BASE.replace("priority 150", "priority 150\n garp_master_repeat 2"),
        ] {
            assert_eq!(in_place(&old, &unit_of(&new)), Ok(()), "{new}");
        }
    }

    #[test]
    fn what_names_the_virtual_router_rebuilds_it() {
        let old = unit_of(BASE);
        for (new, why) in [
            (
                BASE.replace("interface eth0", "interface eth1"),
                "vrrp_instance VI_1: interface changed",
            ),
            (
                BASE.replace("virtual_router_id 51", "virtual_router_id 52"),
                "vrrp_instance VI_1: virtual_router_id changed",
            ),
            (
                BASE.replace(
                    "priority 150",
                    "priority 150\n unicast_peer {\n 192.0.2.9\n }",
                ),
                "vrrp_instance VI_1: unicast vs multicast changed",
            ),
            (
                BASE.replace(
                    "priority 150",
                    "priority 150\n track_interface {\n eth1\n }",
                ),
                "vrrp_instance VI_1: tracked objects changed",
            ),
        ] {
            assert_eq!(
                in_place(&old, &unit_of(&new)),
                Err(why.to_string()),
                "{new}"
            );
        }
    }

    #[test]
    fn garp_extra_if_announces_the_first_vip_of_each_other_interface() {
        let with = |kw: &str, vips: &str| {
            let text = BASE
                .replace("priority 150", &format!("priority 150\n {kw}"))
                .replace("192.0.2.2/24", vips);
            unit_of(&text).instances.remove(0)
        };
        let two_links = "192.0.2.2/24\n 198.51.100.7/24 dev eth1\n 198.51.100.8/24 dev eth1";
        let i = with("garp_extra_if all 3", two_links);
        let x = i.garp.extra_if;
        assert_eq!(
            x,
            Some(ExtraIfGarp {
                interval: Duration::from_secs(3),
                skip: Some(2),
                only: None,
            })
        );
        let round: Vec<_> = x
            .map(|x| x.subset(&i.vips).addresses)
            .unwrap_or_default()
            .iter()
            .map(|a| (a.ifindex, a.addr.to_string()))
            .collect();
        assert_eq!(round, [(3, "198.51.100.7".to_string())]);
        // keepalived: off when every VIP is on the instance's interface,
        // and without `all` (no VMAC of a VIP's own).
        assert_eq!(
            with("garp_extra_if all 3", "192.0.2.2/24").garp.extra_if,
            None
        );
        assert_eq!(with("garp_extra_if 3", two_links).garp.extra_if, None);
        // use_vmac_addr: eth1's VIPs go on a macvlan there, still to be
        // made (index 0), and without `all` only it is announced.
        let i = with("use_vmac_addr\n garp_extra_if 3", two_links);
        let names: Vec<_> = i
            .addr_vmacs
            .iter()
            .map(|(d, v)| (d.as_str(), v.name.as_str(), v.base, v.index))
            .collect();
        assert_eq!(names, [("eth1", "vrrp.51", 3, None)]);
        let on: Vec<_> = i.vips.addresses.iter().map(|a| a.ifindex).collect();
        assert_eq!(on, [2, 0, 0]);
        assert_eq!(
            i.garp.extra_if.and_then(|x| x.only),
            Some(vec![0]),
            "without all: only the macvlan"
        );
        // A reload that changes it keeps the instance running.
        let old = unit_of(BASE);
        let new = unit_of(&BASE.replace("priority 150", "priority 150\n garp_extra_if all 3"));
        assert_eq!(in_place(&old, &new), Ok(()));
    }
}
