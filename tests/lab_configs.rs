//! The configurations the namespace lab gives its daemons are keepalived.conf
//! that tandem accepts: every variant the Rust scenarios render, and the
//! one `netns-lab/lib.sh` writes for the demo and the benchmark. (keepalived
//! accepting them is shown by the lab runs with keepalived on both
//! balancers.) Needs no root.

mod lab;

use std::fs;
use std::path::Path;
use std::process::Command;

use lab::{Kind, Node, Vrrp};

fn check_config(path: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["check-config", "-f"])
        .arg(path)
        .output()
        .expect("run tandem check-config");
    assert!(
        out.status.success(),
        "tandem check-config rejected {}:\n{}{}\n--- the file:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        fs::read_to_string(path).unwrap_or_default()
    );
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tdm-{}-configs-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn every_rendered_lab_configuration_passes_tandem_check_config() {
    let variants: Vec<(&str, Vrrp)> = vec![
        ("v2-pass", Vrrp::default()),
        ("v3-fast", Vrrp::v3_fast()),
        (
            "v2-unicast",
            Vrrp {
                unicast: true,
                ..Vrrp::default()
            },
        ),
        (
            "v3-unicast",
            Vrrp {
                unicast: true,
                ..Vrrp::v3_fast()
            },
        ),
        (
            "nopreempt",
            Vrrp {
                nopreempt: true,
                ..Vrrp::default()
            },
        ),
        (
            "no-sync",
            Vrrp {
                sync_group: false,
                ..Vrrp::default()
            },
        ),
        (
            "track",
            Vrrp {
                sync_group: false,
                track_inner: true,
                ..Vrrp::default()
            },
        ),
        (
            "outer-only",
            Vrrp {
                inner: false,
                sync_group: false,
                ..Vrrp::default()
            },
        ),
        (
            "ipv6",
            Vrrp {
                inner: false,
                sync_group: false,
                ipv6: true,
                ..Vrrp::default()
            },
        ),
        (
            "advert-2",
            Vrrp {
                advert_int: "2",
                ..Vrrp::default()
            },
        ),
    ];
    let dir = scratch("rendered");
    let notify = dir.join("notify.sh");
    for (name, vrrp) in &variants {
        for node in Node::BOTH {
            let path = dir.join(format!("{name}-{node}.conf"));
            fs::write(&path, vrrp.render(node, Kind::Tandem, &notify)).expect("write config");
            check_config(&path);
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_and_benchmark_configuration_passes_tandem_check_config() {
    let dir = scratch("lib");
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("netns-lab/lib.sh");
    for (version, advert) in [("2", "1"), ("3", "0.1")] {
        let status = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". '{}' && LAB_DIR='{}' && lab_conf lb1 {version} {advert} && lab_conf lb2 {version} {advert}",
                lib.display(),
                dir.display()
            ))
            .status()
            .expect("run bash");
        assert!(status.success(), "lab_conf failed");
        for node in ["lb1", "lb2"] {
            check_config(&dir.join(node).join("keepalived.conf"));
        }
    }
    let _ = fs::remove_dir_all(&dir);
}
