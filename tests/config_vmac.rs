//! `use_vmac`, `use_ipvlan`, `vmac_xmit_base` and `vmac_prefix`: what the
//! model holds for each spelling keepalived.conf(5) gives, and the error
//! (file:line:col) for each value tandem refuses.

use std::net::IpAddr;
use std::path::Path;

use tandem::config::{IpvlanMode, LoadOptions, Loaded, Vmac, VmacKind, load_str};

fn check(text: &str) -> Loaded {
    load_str(
        Path::new("t.conf"),
        text.to_string(),
        &LoadOptions::with_config_id("main"),
    )
}

fn messages(l: &Loaded) -> Vec<String> {
    l.diagnostics.iter().map(|d| d.to_string()).collect()
}

fn errors(text: &str) -> Vec<String> {
    let l = check(text);
    assert_eq!(l.config.is_some(), !l.has_errors(), "{:?}", messages(&l));
    l.errors().map(|d| d.to_string()).collect()
}

/// One instance (VRID 51, `vip` as its address) with `extra` as line 4.
fn instance(extra: &str, vip: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    {extra}
    virtual_ipaddress {{
        {vip}
    }}
}}
"
    )
}

fn vmac_of(text: &str) -> Option<Vmac> {
    let l = check(text);
    assert!(!l.has_errors(), "{:?}", messages(&l));
    l.config.and_then(|c| c.vrrp_instances[0].vmac.clone())
}

fn macvlan(name: Option<&str>, mac: Option<[u8; 6]>, xmit_base: bool) -> Option<Vmac> {
    Some(Vmac {
        name: name.map(String::from),
        kind: VmacKind::Macvlan { mac },
        xmit_base,
    })
}

#[test]
fn use_vmac_takes_a_name_and_a_mac_in_any_order() {
    let v4 = "192.0.2.10/24";
    assert_eq!(vmac_of(&instance("priority 100", v4)), None);
    assert_eq!(
        vmac_of(&instance("use_vmac", v4)),
        macvlan(None, None, false)
    );
    assert_eq!(
        vmac_of(&instance("use_vmac vrrp.51", v4)),
        macvlan(Some("vrrp.51"), None, false)
    );
    // "name" lets a name be a word use_vmac would read otherwise.
    assert_eq!(
        vmac_of(&instance("use_vmac name group", v4)),
        macvlan(Some("group"), None, false)
    );
    let mac = [0x02, 0, 0x5e, 0, 4, 7];
    assert_eq!(
        vmac_of(&instance("use_vmac 02:00:5e:00:04:07 vm1", v4)),
        macvlan(Some("vm1"), Some(mac), false)
    );
    // Five octets: the VRID is the sixth.
    assert_eq!(
        vmac_of(&instance("use_vmac vm1 02:00:5e:00:04:", v4)),
        macvlan(Some("vm1"), Some([0x02, 0, 0x5e, 0, 4, 51]), false)
    );
    assert_eq!(
        vmac_of(&instance("use_vmac\n    vmac_xmit_base", v4)),
        macvlan(None, None, true)
    );
}

#[test]
fn unicast_implies_vmac_xmit_base_with_a_warning() {
    let text = instance(
        "use_vmac\n    unicast_peer {\n        192.0.2.2\n    }",
        "192.0.2.10/24",
    );
    let l = check(&text);
    assert!(!l.has_errors(), "{:?}", messages(&l));
    assert!(
        messages(&l)
            .iter()
            .any(|m| m.contains("warning") && m.contains("vmac_xmit_base implied")),
        "{:?}",
        messages(&l)
    );
    assert_eq!(vmac_of(&text), macvlan(None, None, true));
}

#[test]
fn use_ipvlan_takes_a_name_an_address_and_a_mode() {
    let v = vmac_of(&instance(
        "use_ipvlan ipvlan.252 192.0.2.8/24 vepa",
        "192.0.2.10/24",
    ));
    assert_eq!(
        v,
        Some(Vmac {
            name: Some("ipvlan.252".into()),
            kind: VmacKind::Ipvlan {
                mode: IpvlanMode::Vepa,
                address: Some(("192.0.2.8".parse::<IpAddr>().unwrap(), 24)),
            },
            xmit_base: false,
        })
    );
    let v = vmac_of(&instance("use_ipvlan 192.0.2.8", "192.0.2.10/24"));
    assert!(
        matches!(
            v,
            Some(Vmac {
                name: None,
                kind: VmacKind::Ipvlan {
                    mode: IpvlanMode::Bridge,
                    address: Some((_, 32))
                },
                ..
            })
        ),
        "{v:?}"
    );
    // IPv6: the address may be left out.
    let v = vmac_of(&instance("use_ipvlan private", "2001:db8::10/64"));
    assert!(
        matches!(
            v,
            Some(Vmac {
                kind: VmacKind::Ipvlan {
                    mode: IpvlanMode::Private,
                    address: None
                },
                ..
            })
        ),
        "{v:?}"
    );
}

#[test]
fn vmac_prefix_is_read() {
    let l = check(&format!(
        "global_defs {{\n    vmac_prefix VRRP\n}}\n{}",
        instance("use_vmac", "192.0.2.10/24")
    ));
    assert!(!l.has_errors(), "{:?}", messages(&l));
    assert_eq!(l.config.unwrap().global_defs.vmac_prefix, "VRRP");
    assert_eq!(
        errors("global_defs {\n    vmac_prefix a/b\n}\n"),
        ["t.conf:2:17: error: vmac_prefix \"a/b\" may not contain '/', ':' or spaces"]
    );
}

#[test]
fn bad_names_macs_and_combinations_are_errors_at_their_word() {
    let v4 = "192.0.2.10/24";
    for (extra, want) in [
        (
            "use_vmac vrrp.51.eth0.long",
            "t.conf:4:14: error: use_vmac: interface name \"vrrp.51.eth0.long\" is longer than 15 characters (Linux's limit for interface names)",
        ),
        (
            "use_vmac 01:00:5e:00:04:07",
            "t.conf:4:14: error: use_vmac: MAC address 01:00:5e:00:04:07 is a multicast address",
        ),
        (
            "use_vmac 00:00:5e:00:01:33",
            "t.conf:4:14: error: use_vmac: MAC address 00:00:5e:00:01:33 is an RFC 5798 virtual MAC (the default; leave it out)",
        ),
        (
            "use_vmac 00:00:5e:zz:01:33",
            "t.conf:4:14: error: use_vmac: \"00:00:5e:zz:01:33\" is not a MAC address (6 octets, or 5 and the VRID is the 6th)",
        ),
        (
            "use_vmac a b",
            "t.conf:4:16: error: use_vmac: the interface name is already given",
        ),
        (
            "use_vmac netlink_notify_msg",
            "t.conf:4:14: error: \"netlink_notify_msg\" is a keepalived option that tandem does not support yet",
        ),
        (
            "use_vmac group 4",
            "t.conf:4:14: error: \"group\" is a keepalived option that tandem does not support yet",
        ),
        (
            "vmac_xmit_base",
            "t.conf:4:5: error: vrrp_instance VI_1: vmac_xmit_base needs use_vmac",
        ),
        (
            "use_ipvlan ipv0",
            "t.conf:4:5: error: vrrp_instance VI_1: an IPv4 use_ipvlan needs an address (the adverts' source)",
        ),
        (
            "use_ipvlan 2001:db8::8",
            "t.conf:4:5: error: vrrp_instance VI_1: use_ipvlan address 2001:db8::8 is not IPv4 like the instance's virtual addresses",
        ),
        (
            "use_ipvlan 192.0.2.8 bridge vepa",
            "t.conf:4:33: error: use_ipvlan: the mode is already given",
        ),
        (
            "use_vmac\n    use_ipvlan 192.0.2.8",
            "t.conf:5:5: error: vrrp_instance VI_1: use_vmac or use_ipvlan given twice",
        ),
    ] {
        assert_eq!(errors(&instance(extra, v4)), [want], "{extra}");
    }
}

/// keepalived 2.2.7 drops the second instance's name with a report and
/// runs it with a generated one; so does tandem.
#[test]
fn a_vmac_name_given_twice_is_dropped_from_the_second_instance() {
    let text = format!(
        "{}{}",
        instance("use_vmac vm.51", "192.0.2.10/24"),
        instance("use_vmac vm.51", "192.0.2.11/24")
            .replace("VI_1", "VI_2")
            .replace(" 51\n", " 52\n")
    );
    let l = check(&text);
    assert_eq!(
        messages(&l),
        [
            "t.conf:12:5: warning: vrrp_instance VI_2: vrrp_instance VI_1 already uses the interface name vm.51; \
             the name is ignored and the vmac gets a generated one (keepalived does the same)"
        ]
    );
    let names: Vec<Option<String>> = l
        .config
        .iter()
        .flat_map(|c| &c.vrrp_instances)
        .map(|vi| vi.vmac.as_ref().and_then(|v| v.name.clone()))
        .collect();
    assert_eq!(names, [Some("vm.51".to_string()), None]);
}

#[test]
fn use_vmac_addr_and_vmac_addr_prefix_are_read() {
    let l = check(&format!(
        "global_defs {{\n    vmac_addr_prefix vaddr\n    vmac_addr_prefix other\n}}\n{}",
        instance("use_vmac_addr", "198.51.100.7/24 dev eth1")
    ));
    assert!(!l.has_errors(), "{:?}", messages(&l));
    // keepalived keeps the first prefix and ignores the second.
    assert_eq!(
        messages(&l),
        [
            "t.conf:3:22: warning: vmac_addr_prefix is given again; the first stays (as in keepalived)"
        ]
    );
    let c = l.config.unwrap();
    assert_eq!(c.global_defs.vmac_addr_prefix.as_deref(), Some("vaddr"));
    assert!(c.vrrp_instances[0].use_vmac_addr);
    assert_eq!(
        errors("global_defs {\n    vmac_addr_prefix a/b\n}\n"),
        ["t.conf:2:22: error: vmac_addr_prefix \"a/b\" may not contain '/', ':' or spaces"]
    );
    assert_eq!(
        errors(&instance("use_vmac_addr yes", "192.0.2.10/24")),
        ["t.conf:4:19: error: unexpected \"yes\" after \"use_vmac_addr\""]
    );
}
