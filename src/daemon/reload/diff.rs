//! What differs between the running configuration and a new one.
//!
//! A reload first loads and validates the new file completely; a file with
//! errors is refused and the running configuration stays (the errors, with
//! file:line:col, go to the log and to the `POST /reload` reply). A valid
//! file is compared with the running one item by item:
//!
//! * an item is *unchanged* when every field of it is equal, compared
//!   through its JSON form, which leaves out where it was written: moving a
//!   block, adding a comment or a blank line changes nothing;
//! * `vrrp_instance`, `vrrp_sync_group`, `vrrp_script` and `track_file`
//!   are keyed by name,
//!   `virtual_server` by its address / fwmark / group, `virtual_server_group`
//!   by name; `global_defs` is one item;
//! * an item present on one side only is *added* or *removed*, otherwise it
//!   is *changed* when any field differs.
//!
//! Sans-IO: [`diff`] takes two models and says what differs; what to do
//! with it ([`Diff::is_empty`]: nothing to do at all) is decided by the
//! reload's policy and applied by its caller, never here.
//!
//! The daemon keeps the running configuration as a [`Held`]: the model
//! without its virtual servers, and of each virtual server only a
//! fingerprint of its JSON form. The virtual servers are the bulk of a
//! large configuration (6 MB at 10,000 real servers) and, once the LVS side
//! is built from them, the reload's comparison is all they are needed for.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::config::Config;

/// The kinds of item a configuration has, as keepalived.conf names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Item {
    GlobalDefs,
    VrrpScript,
    TrackFile,
    BfdInstance,
    TrackProcess,
    VrrpSyncGroup,
    VrrpInstance,
    VirtualServerGroup,
    VirtualServer,
}

impl Item {
    pub fn keyword(self) -> &'static str {
        match self {
            Item::GlobalDefs => "global_defs",
            Item::VrrpScript => "vrrp_script",
            Item::TrackFile => "track_file",
            Item::BfdInstance => "bfd_instance",
            Item::TrackProcess => "vrrp_track_process",
            Item::VrrpSyncGroup => "vrrp_sync_group",
            Item::VrrpInstance => "vrrp_instance",
            Item::VirtualServerGroup => "virtual_server_group",
            Item::VirtualServer => "virtual_server",
        }
    }
}

/// How one item differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// Every item that differs, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub items: Vec<(Item, String, Change)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// One line per item: `vrrp_instance VI_2: added`.
    pub fn describe(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|(item, name, change)| {
                let what = match change {
                    Change::Added => "added",
                    Change::Removed => "removed",
                    Change::Changed => "changed",
                };
                if name.is_empty() {
                    format!("{}: {what}", item.keyword())
                } else {
                    format!("{} {name}: {what}", item.keyword())
                }
            })
            .collect()
    }
}

fn keyed<T: serde::Serialize>(
    items: &[T],
    key: impl Fn(&T) -> String,
) -> BTreeMap<String, serde_json::Value> {
    items
        .iter()
        .map(|i| {
            (
                key(i),
                serde_json::to_value(i).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect()
}

/// The MD5 of an item's JSON form: equal items have equal fingerprints,
/// and the JSON is hashed as it is written, never held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 16]);

impl Fingerprint {
    fn of<T: serde::Serialize>(item: &T) -> Fingerprint {
        struct Writer(Md5);
        impl std::io::Write for Writer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = Writer(Md5::new());
        // A model that cannot be written as JSON hashes as what was written
        // of it, as `to_value` compares it as null: still deterministic.
        let _ = serde_json::to_writer(&mut w, item);
        Fingerprint(w.0.finalize().into())
    }
}

/// The virtual servers, keyed as [`diff`] keys them.
fn virtual_servers(config: &Config) -> BTreeMap<String, Fingerprint> {
    config
        .virtual_servers
        .iter()
        .map(|v| (v.key.to_string(), Fingerprint::of(v)))
        .collect()
}

/// The running configuration as the daemon keeps it between reloads: all
/// of it but the virtual servers, which are kept as fingerprints.
#[derive(Debug)]
pub struct Held {
    /// The model, with `virtual_servers` empty.
    config: Config,
    virtual_servers: BTreeMap<String, Fingerprint>,
}

impl Held {
    pub fn new(mut config: Config) -> Held {
        let virtual_servers = virtual_servers(&config);
        config.virtual_servers = Vec::new();
        Held {
            config,
            virtual_servers,
        }
    }

    /// The model without its virtual servers (instances, scripts, groups,
    /// global_defs and virtual_server_group are all there).
    pub fn config(&self) -> &Config {
        &self.config
    }
}

fn compare<V: PartialEq>(
    out: &mut Vec<(Item, String, Change)>,
    item: Item,
    old: BTreeMap<String, V>,
    new: BTreeMap<String, V>,
) {
    for (name, value) in &old {
        match new.get(name) {
            None => out.push((item, name.clone(), Change::Removed)),
            Some(v) if v != value => out.push((item, name.clone(), Change::Changed)),
            Some(_) => {}
        }
    }
    for name in new.keys() {
        if !old.contains_key(name) {
            out.push((item, name.clone(), Change::Added));
        }
    }
}

/// What differs between `old` and `new`.
pub fn diff(old: &Config, new: &Config) -> Diff {
    diff_parts(old, virtual_servers(old), new)
}

/// What differs between the running configuration and `new`.
pub fn diff_held(old: &Held, new: &Config) -> Diff {
    diff_parts(&old.config, old.virtual_servers.clone(), new)
}

/// `old` is compared without its virtual servers: `old_vs` stands for them.
fn diff_parts(old: &Config, old_vs: BTreeMap<String, Fingerprint>, new: &Config) -> Diff {
    let mut items = Vec::new();
    let global = |c: &Config| {
        let mut m = BTreeMap::new();
        m.insert(
            String::new(),
            serde_json::to_value(&c.global_defs).unwrap_or(serde_json::Value::Null),
        );
        m
    };
    compare(&mut items, Item::GlobalDefs, global(old), global(new));
    compare(
        &mut items,
        Item::VrrpScript,
        keyed(&old.vrrp_scripts, |s| s.name.clone()),
        keyed(&new.vrrp_scripts, |s| s.name.clone()),
    );
    compare(
        &mut items,
        Item::TrackFile,
        keyed(&old.track_files, |s| s.name.clone()),
        keyed(&new.track_files, |s| s.name.clone()),
    );
    compare(
        &mut items,
        Item::BfdInstance,
        keyed(&old.bfd_instances, |s| s.name.clone()),
        keyed(&new.bfd_instances, |s| s.name.clone()),
    );
    compare(
        &mut items,
        Item::TrackProcess,
        keyed(&old.track_processes, |s| s.name.clone()),
        keyed(&new.track_processes, |s| s.name.clone()),
    );
    compare(
        &mut items,
        Item::VrrpSyncGroup,
        keyed(&old.vrrp_sync_groups, |s| s.name.clone()),
        keyed(&new.vrrp_sync_groups, |s| s.name.clone()),
    );
    compare(
        &mut items,
        Item::VrrpInstance,
        keyed(&old.vrrp_instances, |s| s.name.clone()),
        keyed(&new.vrrp_instances, |s| s.name.clone()),
    );
    compare(
        &mut items,
        Item::VirtualServerGroup,
        keyed(&old.virtual_server_groups, |s| s.name.clone()),
        keyed(&new.virtual_server_groups, |s| s.name.clone()),
    );
    compare(
        &mut items,
        Item::VirtualServer,
        old_vs,
        virtual_servers(new),
    );
    Diff { items }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::testing::parse;

    const BASE: &str = "\
global_defs {
    router_id lb1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.2/24
    }
}
virtual_server 192.0.2.2 80 {
    lb_algo rr
    lb_kind NAT
    real_server 198.51.100.10 80 {
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

    #[test]
    fn comments_blank_lines_and_moved_lines_change_nothing() {
        let old = parse(BASE);
        let new = parse(&format!("# a comment\n\n{BASE}\n# another\n"));
        assert!(diff(&old, &new).is_empty(), "{:?}", diff(&old, &new));
    }

    #[test]
    fn a_priority_change_names_only_that_instance() {
        let old = parse(BASE);
        let new = parse(&BASE.replace("priority 150", "priority 90"));
        assert_eq!(diff(&old, &new).describe(), ["vrrp_instance VI_1: changed"]);
    }

    #[test]
    fn the_held_configuration_compares_like_the_whole_one() {
        let old = parse(BASE);
        let held = Held::new(parse(BASE));
        assert!(held.config().virtual_servers.is_empty());
        let extra_vs = "virtual_server 192.0.2.3 443 {\n lb_algo rr\n lb_kind NAT\n}\n";
        for new in [
            parse(BASE),
            parse(&format!("# moved\n\n{BASE}")),
            parse(&BASE.replace("connect_timeout 3", "connect_timeout 4")),
            parse(&BASE.replace("198.51.100.10 80", "198.51.100.11 80")),
            parse(&BASE.replace("priority 150", "priority 90")),
            parse(&format!("{BASE}{extra_vs}")),
            parse(&BASE.replace("192.0.2.2 80", "192.0.2.2 8080")),
        ] {
            assert_eq!(diff_held(&held, &new), diff(&old, &new));
        }
        assert_eq!(
            diff_held(
                &held,
                &parse(&BASE.replace("connect_timeout 3", "connect_timeout 4"))
            )
            .describe(),
            ["virtual_server 192.0.2.2:80: changed"]
        );
    }

    #[test]
    fn added_and_removed_items_are_named() {
        let old = parse(BASE);
        let extra = "vrrp_instance VI_2 {\n interface eth1\n virtual_router_id 52\n priority 100\n virtual_ipaddress {\n 198.51.100.1/24\n }\n}\n";
        let new = parse(&format!("{BASE}{extra}"));
        assert_eq!(diff(&old, &new).describe(), ["vrrp_instance VI_2: added"]);
        assert_eq!(diff(&new, &old).describe(), ["vrrp_instance VI_2: removed"]);
        let weight = parse(&BASE.replace("lb_algo rr", "lb_algo wrr"));
        assert_eq!(
            diff(&old, &weight).describe(),
            ["virtual_server 192.0.2.2:80: changed"]
        );
    }
}
