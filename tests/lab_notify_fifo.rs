//! `vrrp_notify_fifo` / `notify_fifo` and their `_script`, in the
//! namespace lab (tag `s7track`): the lines Debian's keepalived writes to
//! its FIFOs on lb1 for a run of transitions (start as BACKUP, become
//! MASTER with its sync group, its machine's death and return) are the
//! lines tandem writes on lb1 for the same run, read by the same
//! `_script`: the same lines, transition by transition (within one sync
//! group transition keepalived's order of the member and group lines
//! depends on which member's timer fired first, so each transition is
//! compared as a set). At the stop keepalived SIGTERMs its FIFO scripts
//! before it writes the STOP lines, so its script never reads them;
//! tandem closes the FIFO after them and its script reads them. The FIFO
//! tandem created is gone after the stop.

mod lab;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lab::{Kind, Lab, Node, SETTLE, Vrrp};

/// A reader as keepalived's sample: each line of the FIFO (its last
/// argument) appended to OUT (its first).
const READER: &str = "#!/bin/sh\nout=$1\nfor f; do fifo=$f; done\n\
                      while read -r line; do echo \"$line\" >> \"$out\"; done < \"$fifo\"\n";

fn run(kind: Kind) -> (Vec<String>, Vec<String>, PathBuf) {
    let mut lab = Lab::with_kinds("s7track", Vrrp::default(), [kind, Kind::Tandem]);
    let reader = lab.dir.join("reader.sh");
    fs::write(&reader, READER).unwrap();
    fs::set_permissions(&reader, fs::Permissions::from_mode(0o755)).unwrap();
    let (vrrp_out, all_out) = (lab.dir.join("vrrp.out"), lab.dir.join("all.out"));
    let (vrrp_fifo, all_fifo) = (lab.dir.join("vrrp.fifo"), lab.dir.join("all.fifo"));
    lab.vrrp.global[0] = format!(
        "  vrrp_notify_fifo {}\n  vrrp_notify_fifo_script \"{} {}\"\n\
         notify_fifo {}\n  notify_fifo_script \"{} {}\"\n",
        vrrp_fifo.display(),
        reader.display(),
        vrrp_out.display(),
        all_fifo.display(),
        reader.display(),
        all_out.display(),
    );
    lab.start(Node::Lb1);
    lab.wait_for("lb1 MASTER alone", SETTLE, |l| {
        (l.state(Node::Lb1, "VI_OUT").as_deref() == Some("MASTER")).then_some(())
    });
    lab.start(Node::Lb2);
    lab.assert_master(Node::Lb1);
    lab.kill_machine(Node::Lb1);
    lab.assert_master(Node::Lb2);
    lab.revive(Node::Lb1);
    lab.assert_master(Node::Lb1);
    lab.terminate(Node::Lb1);
    assert!(lab.wait_exit(Node::Lb1, Duration::from_secs(20)));
    // The readers see the end of their FIFO and finish.
    std::thread::sleep(Duration::from_millis(500));
    let lines = |p: &Path| {
        fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    (lines(&vrrp_out), lines(&all_out), vrrp_fifo)
}

/// The lines cut into transitions: runs of lines with the same state
/// word, each sorted.
fn transitions(lines: &[String]) -> Vec<Vec<String>> {
    let state = |l: &String| l.split_whitespace().nth(2).unwrap_or("").to_string();
    let mut out: Vec<Vec<String>> = Vec::new();
    for l in lines {
        match out.last_mut() {
            Some(run) if run.first().map(state) == Some(state(l)) => run.push(l.clone()),
            _ => out.push(vec![l.clone()]),
        }
    }
    for run in &mut out {
        run.sort();
    }
    out
}

#[test]
fn tandem_writes_keepalived_s_fifo_lines_for_the_same_transitions() {
    let (k_vrrp, k_all, _) = run(Kind::Keepalived);
    let (t_vrrp, t_all, fifo) = run(Kind::Tandem);
    assert!(
        k_vrrp.iter().any(|l| l == "INSTANCE \"VI_OUT\" MASTER 150")
            && k_vrrp.iter().any(|l| l == "GROUP \"G\" MASTER 0"),
        "keepalived's lines: {k_vrrp:#?}"
    );
    let stop = vec![
        "GROUP \"G\" STOP 0".to_string(),
        "INSTANCE \"VI_IN\" STOP 150".to_string(),
        "INSTANCE \"VI_OUT\" STOP 150".to_string(),
    ];
    for (what, k, t) in [
        ("vrrp_notify_fifo", &k_vrrp, &t_vrrp),
        ("notify_fifo", &k_all, &t_all),
    ] {
        let mut want = transitions(k);
        assert_eq!(want.len(), 4, "{what}: keepalived's transitions: {k:#?}");
        want.push(stop.clone());
        assert_eq!(
            transitions(t),
            want,
            "{what}: tandem {t:#?}\nkeepalived {k:#?}"
        );
    }
    assert!(!fifo.exists(), "the FIFO tandem made is removed at stop");
}
