//! `enable_dbus` and `dbus_service_name` as the configuration reads them
//! (the bus itself: `tests/net_dbus.rs`).

use std::path::Path;

use tandem::config::{LoadOptions, load_str};

fn load(global: &str) -> tandem::config::Loaded {
    load_str(
        Path::new("t.conf"),
        format!("global_defs {{\n{global}\n}}\n"),
        &LoadOptions::with_config_id("main"),
    )
}

#[test]
fn dbus_is_off_unless_enabled_and_takes_keepalived_s_name() {
    let c = load("  router_id lb1").config.expect("valid");
    assert!(!c.global_defs.enable_dbus);
    let c = load("  enable_dbus\n  dbus_service_name org.example.Lb2")
        .config
        .expect("valid");
    assert!(c.global_defs.enable_dbus);
    assert_eq!(
        c.global_defs.dbus_service_name.as_deref(),
        Some("org.example.Lb2")
    );
}

#[test]
fn a_service_name_the_bus_would_refuse_is_refused_with_its_position() {
    for bad in ["keepalived", "org..x", "org.1x", "org.ex ample"] {
        let l = load(&format!("  enable_dbus\n  dbus_service_name \"{bad}\""));
        let e: Vec<String> = l.errors().map(|d| d.to_string()).collect();
        assert_eq!(e.len(), 1, "{bad}: {e:?}");
        assert!(
            e[0].starts_with("t.conf:3:21: error: dbus_service_name"),
            "{e:?}"
        );
        assert!(e[0].contains("is not a D-Bus bus name"), "{e:?}");
    }
    let l = load("  enable_dbus yes");
    assert_eq!(l.errors().count(), 1);
}
