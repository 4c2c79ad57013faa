//! The seed's keepalived.conf (an LVS-NAT WordPress site, with Japanese
//! comments after `!`) parses, and its model is what the operator meant.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use tandem::config::{
    CheckerKind, HttpProtocol, LoadOptions, LvsMethod, LvsSched, Protocol, Severity, StatusRange,
    VirtualServerKey, load,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keepalived/seed.conf"
);

#[test]
fn seed_config_model_field_by_field() {
    let loaded = load(Path::new(SEED), &LoadOptions::with_config_id("lb1"));
    let errors: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    let cfg = loaded.config.expect("the seed configuration is valid");

    // Mail settings.
    let g = &cfg.global_defs;
    assert_eq!(g.notification_email, ["nomura@it-ishin.com"]);
    assert_eq!(
        g.notification_email_from.as_deref(),
        Some("nomura@it-ishin.com")
    );
    let smtp = g.smtp_server.clone().expect("smtp_server is set");
    assert_eq!(
        smtp.host,
        tandem::config::SmtpHost::Address(ip("157.7.156.150"))
    );
    assert_eq!(smtp.port, 25, "keepalived's default SMTP port");
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(30));
    assert_eq!(g.router_id.as_deref(), Some("LVS_DEVEL"));

    assert!(cfg.vrrp_instances.is_empty());
    assert_eq!(cfg.virtual_servers.len(), 1);
    let vs = &cfg.virtual_servers[0];
    assert_eq!(
        vs.key,
        VirtualServerKey::Address {
            address: ip("192.168.1.2"),
            port: 80
        }
    );
    assert_eq!(vs.lvs_sched, LvsSched::Rr);
    assert_eq!(vs.lvs_method, LvsMethod::Nat);
    assert_eq!(vs.protocol, Protocol::Tcp);
    assert_eq!(vs.delay_loop, Duration::from_secs(5));
    assert_eq!(vs.persistence_timeout, None);
    let sorry = vs.sorry_server.expect("sorry_server is set");
    assert_eq!((sorry.address, sorry.port), (ip("192.168.1.2"), 80));

    let addrs: Vec<(IpAddr, u16)> = vs
        .real_servers
        .iter()
        .map(|r| (r.address, r.port))
        .collect();
    assert_eq!(
        addrs,
        [(ip("192.168.10.10"), 80), (ip("192.168.10.11"), 80)]
    );
    for rs in &vs.real_servers {
        assert_eq!(rs.weight, 1);
        assert!(rs.inhibit_on_failure);
        assert_eq!(
            rs.lvs_method,
            LvsMethod::Nat,
            "inherited from the virtual server"
        );
        assert_eq!(rs.checkers.len(), 1);
        let c = &rs.checkers[0];
        let CheckerKind::HttpGet(http) = &c.kind else {
            panic!("expected HTTP_GET, got {:?}", c.kind);
        };
        assert_eq!(http.url.len(), 1);
        assert_eq!(http.url[0].path, "/");
        assert_eq!(
            http.url[0].status_code,
            [StatusRange {
                first: 200,
                last: 200
            }]
        );
        assert_eq!(http.url[0].digest, None);
        assert_eq!(http.http_protocol, HttpProtocol::Http10);
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.retry, 3, "from nb_get_retry");
        assert_eq!(c.delay_before_retry, Duration::from_secs(3));
        assert_eq!(
            c.delay_loop,
            Duration::from_secs(5),
            "inherited from the virtual server"
        );
        assert_eq!(c.connect_ip, rs.address, "defaults to the real server");
        assert_eq!(c.connect_port, 80);
    }
}

#[test]
fn seed_config_warns_about_nb_get_retry_by_position() {
    let loaded = load(Path::new(SEED), &LoadOptions::with_config_id("lb1"));
    let warnings: Vec<String> = loaded.warnings().map(|d| d.to_string()).collect();
    assert_eq!(
        warnings,
        [
            format!("{SEED}:30:1: warning: \"nb_get_retry\" is deprecated; use \"retry\""),
            format!("{SEED}:43:1: warning: \"nb_get_retry\" is deprecated; use \"retry\""),
        ]
    );
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning)
    );
}

#[test]
fn seed_config_json_round_trips() {
    let loaded = load(Path::new(SEED), &LoadOptions::with_config_id("lb1"));
    let cfg = loaded.config.expect("valid");
    let json = serde_json::to_string(&cfg).expect("serialises");
    let back: tandem::config::Config = serde_json::from_str(&json).expect("deserialises");
    // Origins are not serialised; compare everything else through JSON.
    assert_eq!(serde_json::to_string(&back).expect("serialises"), json);
    assert!(json.contains("\"lvs_sched\":\"rr\""));
    assert!(json.contains("\"type\":\"HTTP_GET\""));
}
