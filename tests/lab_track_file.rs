//! `track_file` on the wire, in the namespace lab (tag `s7track`):
//!
//! - a tandem pair: writing a value into lb1's tracked file changes the
//!   priority lb1 advertises at once (read from lb2's status, which takes
//!   it from lb1's adverts), a low value makes lb2 preempt, deleting the
//!   file is value 0 (lb1 preempts back), a value at or below -254 and a
//!   nonzero value in a weight-0 file put lb1 in FAULT; `init_file`
//!   created the file; a file moved in counts as a write;
//! - Debian's keepalived with the same configuration on lb1: the same
//!   file contents give the same priority on the wire, in the same lab,
//!   as tandem on lb1 (strtol's hex, octal and trailing text included,
//!   and a deleted file).

mod lab;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lab::{Kind, Lab, Node, SETTLE, Vrrp};

fn one_instance() -> Vrrp {
    Vrrp {
        inner: false,
        sync_group: false,
        ..Vrrp::v3_fast()
    }
}

/// `tandem status --json` of a tandem node.
fn status(lab: &Lab, node: Node) -> serde_json::Value {
    let sock = lab
        .conf_path(node)
        .parent()
        .map(|d| d.join("tandem.sock"))
        .unwrap_or_default();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["status", "--json", "--socket"])
        .arg(sock)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
        }
        _ => serde_json::Value::Null,
    }
}

fn instance_field(lab: &Lab, node: Node, field: &str) -> Option<u64> {
    status(lab, node)["vrrp_instances"][0][field].as_u64()
}

/// The priority in the master's adverts as lb2 (tandem) hears them.
fn heard(lab: &Lab) -> Option<u64> {
    instance_field(lab, Node::Lb2, "master_priority")
}

fn wait_heard(lab: &Lab, want: u64) {
    lab.wait_for(&format!("lb2 to hear priority {want}"), SETTLE, |l| {
        (heard(l) == Some(want)).then_some(())
    });
}

/// Write `text` to `path` as an editor does: a new file moved in.
fn move_in(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// The configuration of lb1: `tf` (weight `weight`, init_file) and a
/// weight-0 `tf0`, both tracked by the instance.
fn track_lb1(lab: &mut Lab, weight: &str) -> (PathBuf, PathBuf) {
    let tf = lab.dir.join("lb1.track");
    let tf0 = lab.dir.join("lb1.fault");
    lab.vrrp.top[0] = format!(
        "track_file tf {{\n  file {}\n  weight {weight}\n  init_file\n}}\n\
         track_file tf0 {{\n  file {}\n  weight 0\n}}\n\n",
        tf.display(),
        tf0.display()
    );
    lab.vrrp.knobs[0] = "track_file {\n    tf\n    tf0\n  }";
    (tf, tf0)
}

#[test]
fn a_tracked_file_moves_the_advertised_priority_preempts_and_faults() {
    let mut lab = Lab::with_kinds("s7track", one_instance(), [Kind::Tandem, Kind::Tandem]);
    let (tf, tf0) = track_lb1(&mut lab, "2");
    lab.start_both();
    lab.assert_master(Node::Lb1);
    assert_eq!(
        fs::read_to_string(&tf).ok().as_deref(),
        Some("0\n"),
        "init_file"
    );
    wait_heard(&lab, 150);

    // 150 + 10 x 2, advertised at once.
    fs::write(&tf, "10\n").unwrap();
    wait_heard(&lab, 170);
    assert_eq!(
        instance_field(&lab, Node::Lb1, "effective_priority"),
        Some(170)
    );

    // 150 - 30 x 2 = 90, below lb2's 100: lb2 preempts.
    fs::write(&tf, "-30\n").unwrap();
    lab.assert_master(Node::Lb2);
    assert_eq!(
        instance_field(&lab, Node::Lb1, "effective_priority"),
        Some(90)
    );
    wait_heard(&lab, 100);

    // A deleted file holds 0: lb1 is back at 150 and preempts.
    fs::remove_file(&tf).unwrap();
    lab.assert_master(Node::Lb1);
    wait_heard(&lab, 150);

    // -127 x 2 = -254: FAULT (a file moved in counts as written).
    move_in(&tf, "-127");
    lab.wait_for("lb1 in FAULT", SETTLE, |l| {
        (l.state(Node::Lb1, "VI_OUT").as_deref() == Some("FAULT")).then_some(())
    });
    lab.assert_master_while(Node::Lb2, "FAULT");
    // -126 x 2 = -252: out of FAULT at priority 1.
    fs::write(&tf, "-126").unwrap();
    lab.wait_for("lb1 back as BACKUP", SETTLE, |l| {
        (l.state(Node::Lb1, "VI_OUT").as_deref() == Some("BACKUP")).then_some(())
    });
    assert_eq!(
        instance_field(&lab, Node::Lb1, "effective_priority"),
        Some(1)
    );
    fs::write(&tf, "0").unwrap();
    lab.assert_master(Node::Lb1);

    // Weight 0: any nonzero value is FAULT, 0 clears it.
    fs::write(&tf0, "1").unwrap();
    lab.wait_for("lb1 in FAULT (weight 0)", SETTLE, |l| {
        (l.state(Node::Lb1, "VI_OUT").as_deref() == Some("FAULT")).then_some(())
    });
    lab.assert_master_while(Node::Lb2, "FAULT");
    fs::write(&tf0, "0").unwrap();
    lab.assert_master(Node::Lb1);
    assert!(
        lab.log(Node::Lb1).contains("track file tf now holds -127"),
        "{}",
        lab.report()
    );
}

/// The priority lb2 hears from lb1 for each content of lb1's file.
fn priorities_on_the_wire(kind: Kind, contents: &[Option<&str>]) -> Vec<u64> {
    let mut lab = Lab::with_kinds("s7track", one_instance(), [kind, Kind::Tandem]);
    let (tf, _) = track_lb1(&mut lab, "3 reverse");
    lab.start_both();
    lab.assert_master(Node::Lb1);
    let mut out = Vec::new();
    let mut last = heard(&lab);
    for c in contents {
        match c {
            Some(text) => fs::write(&tf, text).unwrap(),
            None => {
                let _ = fs::remove_file(&tf);
            }
        }
        // Each content changes the priority: wait for the change, then
        // for it to settle (one more advert).
        let now = lab.wait_for("a new priority", SETTLE, |l| {
            let h = heard(l);
            (h.is_some() && h != last).then_some(h)
        });
        std::thread::sleep(Duration::from_millis(300));
        let settled = heard(&lab);
        assert_eq!(settled, now, "{kind} on lb1: priority not settled");
        last = settled;
        out.push(settled.unwrap_or(0));
    }
    out
}

#[test]
fn keepalived_and_tandem_advertise_the_same_priority_for_the_same_file() {
    // weight 3 reverse: each value v gives 150 - 3v (capped to 1..254).
    let contents = [
        Some("-0x5\n"),       // hex: +15
        Some("  7 apples\n"), // trailing text ignored: -21
        Some("010"),          // octal 8: -24
        None,                 // deleted: 0
        Some("-40"),          // +120, capped at 254
        Some("junk"),         // no number: 0 (a change from 254)
    ];
    let keepalived = priorities_on_the_wire(Kind::Keepalived, &contents);
    let tandem = priorities_on_the_wire(Kind::Tandem, &contents);
    assert_eq!(keepalived, vec![165, 129, 126, 150, 254, 150]);
    assert_eq!(tandem, keepalived);
}
