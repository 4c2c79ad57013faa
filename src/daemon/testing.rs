//! Test helpers shared by the daemon's unit tests: a configuration as the
//! daemon would get it. Compiled for tests only; nothing outside tests
//! may use it.

use std::path::Path;

use crate::config::{Config, LoadOptions, load_str};

/// One VRRP instance governing one virtual server with a TCP_CHECK.
pub(crate) const BASE: &str = "\
global_defs {
    router_id lb1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.2/24
    }
}
virtual_server 192.0.2.2 80 {
    lb_algo rr
    lb_kind NAT
    real_server 198.51.100.10 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

/// A test configuration as the daemon would get it.
pub(crate) fn parse(text: &str) -> Config {
    let loaded = load_str(
        Path::new("test.conf"),
        text.to_string(),
        &LoadOptions::default(),
    );
    match loaded.config {
        Some(c) => c,
        None => panic!("test config refused: {:?}", loaded.diagnostics),
    }
}
