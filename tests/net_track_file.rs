//! `track_file` across a reload, in a daemon in a namespace of its own:
//! an entry's new weight applies at once to the value the file already
//! holds (the instance keeps its state and its value, as keepalived keeps
//! them), and a changed `track_file` block is refused as needing a
//! restart, the running configuration staying.

mod netns;

use std::fs;
use std::path::Path;
use std::process::Command;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

fn conf(dir: &Path, block_weight: u32, entry_weight: u32) -> String {
    format!(
        "track_file tf {{
  file {d}/tf
  weight {block_weight}
  init_file 10
}}
vrrp_instance VI_1 {{
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/24
  }}
  track_file {{
    tf weight {entry_weight}
  }}
}}
",
        d = dir.display()
    )
}

fn priority(d: &Daemon) -> Option<u64> {
    d.status()["vrrp_instances"][0]["effective_priority"].as_u64()
}

fn reload(d: &Daemon) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["reload", "--socket"])
        .arg(d.log.with_extension("sock"))
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_reload_applies_a_new_weight_to_the_value_held_and_refuses_a_new_block() {
    let ns = Netns::with_eth0("s7track-rl", "192.0.2.1/24");
    let dir = Scratch::new("s7track-rl");
    let conf_path = dir.file("t.conf", &conf(&dir.0, 1, 2));
    let d = Daemon::start(&ns, &conf_path, dir.0.join("d.log"));
    // init_file 10, weight 2: 100 + 20.
    assert!(
        wait_until(10.0, || priority(&d) == Some(120)),
        "{:?}\n{}",
        priority(&d),
        d.log()
    );
    fs::write(dir.0.join("tf"), "5").unwrap();
    assert!(
        wait_until(10.0, || priority(&d) == Some(110)),
        "{}",
        d.log()
    );

    let state = |d: &Daemon| {
        d.status()["vrrp_instances"][0]["state"]
            .as_str()
            .map(str::to_owned)
    };
    assert!(
        wait_until(10.0, || state(&d).as_deref() == Some("MASTER")),
        "{}",
        d.log()
    );
    fs::write(&conf_path, conf(&dir.0, 1, 3)).unwrap();
    let (ok, out) = reload(&d);
    assert!(ok, "{out}");
    assert!(
        wait_until(10.0, || priority(&d) == Some(115)),
        "{:?}\n{}",
        priority(&d),
        d.log()
    );
    assert_eq!(state(&d).as_deref(), Some("MASTER"), "kept its state");

    fs::write(&conf_path, conf(&dir.0, 4, 3)).unwrap();
    let (ok, out) = reload(&d);
    assert!(!ok, "{out}");
    assert!(
        out.contains("track_file tf: changed: applying this change needs a restart"),
        "{out}"
    );
    fs::write(dir.0.join("tf"), "-5").unwrap();
    assert!(wait_until(10.0, || priority(&d) == Some(85)), "{}", d.log());
}
