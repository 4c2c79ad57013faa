//! `net.ipv4.vs.sloppy_tcp` (and `sloppy_sctp`) for `tandem_bgp`: every
//! balancer is active, and the router's hash may move a flow to another
//! balancer in mid-stream (a nexthop that goes or comes). Without the
//! sysctl IPVS schedules only a SYN (an SCTP INIT): the moved flow's next
//! segment goes to the local stack (the VIP is a local address), which
//! resets it. With it IPVS schedules that segment, `mh` picks the real
//! server the first balancer picked, and the flow goes on
//! (docs/scale-out.md). keepalived has no keyword for it, so tandem sets
//! it in its own network namespace when any virtual server has a
//! `tandem_bgp` block, at start and on a reload that adds one; it never
//! sets it back to 0 (another service of the namespace may want it).
//!
//! The sysctls exist only once `ip_vs` is loaded (the IPVS programmer's
//! first request loads it): the write is retried every second for a while.

use std::time::Duration;

use crate::config::Config;
use crate::config::model::Protocol;

const VS_SYSCTLS: &str = "/proc/sys/net/ipv4/vs";
/// How long to wait for `ip_vs` to appear.
const PATIENCE: Duration = Duration::from_secs(60);

/// Which sloppy sysctls the configuration needs: `(tcp, sctp)`.
pub fn wanted(config: &Config) -> (bool, bool) {
    let bgp = || config.virtual_servers.iter().filter(|v| v.bgp.is_some());
    let tcp = bgp().any(|v| v.protocol != Protocol::Sctp);
    let sctp = bgp().any(|v| v.protocol == Protocol::Sctp);
    (tcp, sctp)
}

/// The sysctls `wanted` names, in the order they are set.
fn names(config: &Config) -> Vec<&'static str> {
    let (tcp, sctp) = wanted(config);
    let mut out = Vec::new();
    if tcp {
        out.push("sloppy_tcp");
    }
    if sctp {
        out.push("sloppy_sctp");
    }
    out
}

/// Set what `config` needs, in the background (nothing to do: no task).
pub fn apply(config: &Config) {
    let names = names(config);
    if names.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        for name in names {
            while !set(name) {
                if tokio::time::Instant::now() >= deadline {
                    tracing::warn!(
                        "tandem_bgp: cannot set net.ipv4.vs.{name}=1 ({VS_SYSCTLS}/{name}): a flow the router moves to this balancer in mid-stream will be reset"
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
}

/// One write; `true` when the sysctl is 1 now (logged with why).
fn set(name: &str) -> bool {
    let path = format!("{VS_SYSCTLS}/{name}");
    let Ok(before) = std::fs::read_to_string(&path) else {
        return false;
    };
    let before = before.trim().to_owned();
    if before != "1" && std::fs::write(&path, "1").is_err() {
        return false;
    }
    tracing::info!(
        "tandem_bgp: net.ipv4.vs.{name}={} -> 1: the router may move a flow to this balancer in mid-stream, and IPVS schedules only a first packet without it",
        before
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let l = crate::config::load_str(
            std::path::Path::new("t.conf"),
            text.to_string(),
            &crate::config::LoadOptions::with_config_id("main"),
        );
        l.config.expect("config")
    }

    #[test]
    fn only_tandem_bgp_services_need_it() {
        let plain = config("virtual_server 203.0.113.10 80 {\n protocol TCP\n}\n");
        assert_eq!(wanted(&plain), (false, false));
        let bgp = "virtual_server 203.0.113.10 80 {\n protocol PROTO\n lvs_sched mh\n tandem_bgp {\n  include_file /run/x.conf\n }\n}\n";
        assert_eq!(wanted(&config(&bgp.replace("PROTO", "TCP"))), (true, false));
        assert_eq!(
            wanted(&config(&bgp.replace("PROTO", "SCTP"))),
            (false, true)
        );
        assert_eq!(names(&config(&bgp.replace("PROTO", "TCP"))), ["sloppy_tcp"]);
    }
}
