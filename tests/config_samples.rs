//! keepalived's sample configurations give the outcome recorded in
//! tests/fixtures/keepalived/expected-outcomes (the shell suite
//! 20-config-samples.sh checks the same through the binary).

use std::path::Path;

use tandem::config::{LoadOptions, load};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keepalived");

#[test]
fn samples_give_their_recorded_outcome() {
    let expected = std::fs::read_to_string(format!("{DIR}/expected-outcomes")).unwrap();
    let mut checked = 0;
    for line in expected.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let name = words.next().unwrap();
        let outcome = words.next().unwrap();
        let rest: Vec<&str> = words.collect();
        let id = match rest.as_slice() {
            ["-i", id] => (*id).to_string(),
            [] => "lb1".to_string(),
            other => panic!("unexpected options {other:?} for {name}"),
        };
        let loaded = load(
            &Path::new(DIR).join("samples").join(name),
            &LoadOptions::with_config_id(id),
        );
        let errors: Vec<String> = loaded.errors().map(|d| d.to_string()).collect();
        let real: Vec<&String> = errors
            .iter()
            .filter(|e| !e.contains("that tandem does not support yet"))
            .collect();
        match outcome {
            "accepted" => {
                assert!(errors.is_empty(), "{name}: {errors:#?}");
                assert!(loaded.config.is_some());
            }
            "unsupported" => {
                assert!(!errors.is_empty(), "{name} was accepted");
                assert!(real.is_empty(), "{name}: {real:#?}");
            }
            "invalid" => assert!(!real.is_empty(), "{name}: {errors:#?}"),
            other => panic!("bad outcome {other}"),
        }
        checked += 1;
    }
    let files = std::fs::read_dir(format!("{DIR}/samples")).unwrap().count();
    assert_eq!(checked, files, "every sample has a recorded outcome");
}

#[test]
fn the_quorum_sample_reads_as_written() {
    let loaded = load(
        &Path::new(DIR).join("samples/keepalived.conf.quorum"),
        &LoadOptions::default(),
    );
    let cfg = loaded.config.expect("accepted");
    let vs = &cfg.virtual_servers[0];
    assert!(vs.alpha && vs.omega);
    assert_eq!((vs.quorum, vs.hysteresis), (7, 2));
    assert_eq!(
        vs.quorum_up.as_ref().unwrap().command,
        "/usr/local/sbin/quorum-up.sh"
    );
    assert_eq!(
        vs.persistence_timeout,
        Some(std::time::Duration::from_secs(900))
    );
    assert_eq!(vs.real_servers.len(), 10);
    for rs in &vs.real_servers {
        assert!(rs.alpha, "alpha is inherited from the virtual server");
        assert_eq!(rs.port, 8080);
        assert_eq!(rs.checkers[0].connect_port, 80);
    }
}

#[test]
fn the_virtual_server_group_sample_reads_ranges_and_fwmarks() {
    use tandem::config::VsgEntry;
    let loaded = load(
        &Path::new(DIR).join("samples/keepalived.conf.virtual_server_group"),
        &LoadOptions::default(),
    );
    let cfg = loaded.config.expect("accepted");
    let g = &cfg.virtual_server_groups[0];
    assert_eq!(g.name, "VSG_1");
    assert_eq!(
        g.entries[3],
        VsgEntry::Range {
            first: "192.168.200.3".parse().unwrap(),
            last: "192.168.200.10".parse().unwrap(),
            port: 80
        }
    );
    assert_eq!(
        g.entries[4],
        VsgEntry::Fwmark {
            fwmark: 1,
            family: None
        }
    );
}

#[test]
fn the_localcheck_sample_resolves_track_weights() {
    let loaded = load(
        &Path::new(DIR).join("samples/keepalived.conf.vrrp.localcheck"),
        &LoadOptions::default(),
    );
    let cfg = loaded.config.expect("accepted");
    let vi = cfg.vrrp_instance("VI_1").unwrap();
    let weights: Vec<(&str, i32)> = vi
        .track_script
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(
        weights,
        [
            ("chk_sshd", -4),
            ("chk_haproxy", 2),
            ("chk_http_port", -2),
            ("chk_https_port", -2),
            ("chk_smtp_port", -2)
        ]
    );
    let ti: Vec<(&str, i32)> = vi
        .track_interface
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(ti, [("eth1", 2), ("eth2", -2), ("eth3", 0)]);
    let sc = cfg.vrrp_script("chk_sshd").unwrap();
    assert_eq!(
        (sc.script.as_str(), sc.fall, sc.rise),
        ("killall -0 sshd", 2, 2)
    );
}

#[test]
fn group_ranges_expand_to_addresses() {
    let l = tandem::config::load_str(
        Path::new("g.conf"),
        "virtual_server_group G {\n  2001:db8::2-a 80\n  192.0.2.250-192.0.3.1 443\n}\n".into(),
        &LoadOptions::default(),
    );
    let cfg = l.config.expect("valid");
    let g = &cfg.virtual_server_groups[0];
    let v6: Vec<String> = g.entries[0].addresses().map(|a| a.to_string()).collect();
    assert_eq!(v6.len(), 9);
    assert_eq!(
        (v6[0].as_str(), v6[8].as_str()),
        ("2001:db8::2", "2001:db8::a")
    );
    let v4: Vec<String> = g.entries[1].addresses().map(|a| a.to_string()).collect();
    assert_eq!(
        v4,
        [
            "192.0.2.250",
            "192.0.2.251",
            "192.0.2.252",
            "192.0.2.253",
            "192.0.2.254",
            "192.0.2.255",
            "192.0.3.0",
            "192.0.3.1"
        ]
    );
}
