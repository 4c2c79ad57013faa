//! `FILE_CHECK` in a running daemon, in a namespace of its own: a real
//! server's weight follows its track file's value × weight, a weight-0
//! file takes it down and brings it back, and `init_file ... overwrite`
//! rewrites the file at start. Read through tandem's own status (this
//! machine's kernel has no IPVS: the table is what tandem would program).

mod netns;

use std::fs;
use std::path::Path;

use netns::daemon::{Daemon, Scratch};
use netns::{Netns, wait_until};

fn conf(dir: &Path) -> String {
    format!(
        "track_file tf {{
  file {dir}/tf
  weight 2
  init_file 3 overwrite
}}
track_file tf0 {{
  file {dir}/tf0
  weight 0
}}
virtual_server 192.0.2.100 80 {{
  protocol TCP
  real_server 192.0.2.5 80 {{
    weight 10
    FILE_CHECK {{
      track_file tf
    }}
  }}
  real_server 192.0.2.6 80 {{
    weight 5
    FILE_CHECK {{
      track_file tf0
    }}
  }}
}}
",
        dir = dir.display()
    )
}

/// (effective weight, alive) of each real server, in order.
fn real_servers(d: &Daemon) -> Vec<(i64, bool)> {
    let s = d.status();
    s["virtual_servers"][0]["real_servers"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["effective_weight"].as_i64().unwrap_or(-1),
                        r["alive"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn expect(d: &Daemon, want: &[(i64, bool)]) {
    assert!(
        wait_until(10.0, || real_servers(d) == want),
        "want {want:?}, have {:?}\n{}",
        real_servers(d),
        d.log()
    );
}

#[test]
fn file_check_moves_the_weight_and_takes_a_real_server_down() {
    let ns = Netns::new("s7track-fc");
    let dir = Scratch::new("s7track-fc");
    fs::write(dir.0.join("tf"), "9\n").unwrap();
    let d = Daemon::start(&ns, &dir.file("t.conf", &conf(&dir.0)), dir.0.join("d.log"));
    // init_file 3 overwrite: 10 + 3 x 2.
    expect(&d, &[(16, true), (5, true)]);
    assert_eq!(fs::read_to_string(dir.0.join("tf")).unwrap(), "3\n");

    fs::write(dir.0.join("tf"), "7").unwrap();
    expect(&d, &[(24, true), (5, true)]);
    // Below zero: weight 0, still alive (keepalived keeps it in the table).
    fs::write(dir.0.join("tf"), "-8").unwrap();
    expect(&d, &[(0, true), (5, true)]);
    // Deleted: 0, the configured weight.
    fs::remove_file(dir.0.join("tf")).unwrap();
    expect(&d, &[(10, true), (5, true)]);

    // Weight 0: a nonzero value is a failure, 0 recovers.
    fs::write(dir.0.join("tf0"), "1").unwrap();
    expect(&d, &[(10, true), (0, false)]);
    assert!(d.log().contains("real server DOWN"), "{}", d.log());
    fs::write(dir.0.join("tf0"), "0").unwrap();
    expect(&d, &[(10, true), (5, true)]);
}

#[test]
fn a_tracked_file_in_a_missing_directory_stops_the_start() {
    let ns = Netns::new("s7track-fcdir");
    let dir = Scratch::new("s7track-fcdir");
    let text = conf(&dir.0.join("missing"));
    let mut d = Daemon::start(&ns, &dir.file("t.conf", &text), dir.0.join("d.log"));
    let code = d.wait(10.0);
    assert!(
        matches!(code, Some(c) if c != 0),
        "exit {code:?}\n{}",
        d.log()
    );
    assert!(
        d.log().contains("t.conf:1:1: track_file tf: cannot watch"),
        "{}",
        d.log()
    );
}
