//! `tandem ipvs ...` on this machine, whose kernel has no IPVS: the errors
//! a user sees. (The same commands against a real IPVS kernel are in
//! tests/ipvs_vm_cli.sh, run inside the test VM.)
//!
//! Every command runs in a network namespace of its own, entered by the
//! thread that spawns it, so nothing touches the machine's namespace.

use std::io;
use std::path::Path;
use std::process::{Command, Output};

fn tandem(args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_tandem");
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let h = std::thread::spawn(move || {
        // SAFETY: unshare(2) with CLONE_NEWNET changes only this thread's
        // network namespace, which the child inherits.
        let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            r,
            0,
            "unshare(CLONE_NEWNET): {}",
            io::Error::last_os_error()
        );
        Command::new(bin)
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run tandem")
    });
    match h.join() {
        Ok(o) => o,
        Err(e) => std::panic::resume_unwind(e),
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn without_ipvs_every_command_says_which_module_to_load() {
    if Path::new("/sys/module/ip_vs").exists() {
        eprintln!("skipped: this kernel has IPVS (tests/ipvs_vm_cli.sh covers it)");
        return;
    }
    for args in [
        &["ipvs", "apply", "-f", "tests/fixtures/ipvs/web.conf"][..],
        &["ipvs", "dump"],
        &["ipvs", "dump", "--json"],
        &["ipvs", "flush"],
        &["ipvs", "zero"],
        &["ipvs", "zero", "TCP", "192.0.2.10:80"],
        &["ipvs", "info"],
        &[
            "ipvs",
            "apply",
            "-f",
            "tests/fixtures/ipvs/web.conf",
            "--then",
            "tests/fixtures/ipvs/web.conf",
        ],
    ] {
        let o = tandem(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&o),
            "tandem ipvs: the kernel has no IPVS (generic netlink family \"IPVS\" not found): \
             load the ip_vs module (modprobe ip_vs)\n",
            "{args:?}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_bad_configuration_is_reported_with_its_position_before_the_kernel_is_asked() {
    let dir = std::env::temp_dir().join(format!("tdm-ipvs-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        "virtual_server 192.0.2.10 80 {\n    lvs_sched rrr\n    real_server 198.51.100.1 80 { }\n}\n",
    )
    .unwrap();
    let o = tandem(&["ipvs", "apply", "-f", conf.to_str().unwrap()]);
    let err = stderr(&o);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.conf:2:"), "{err}");
    assert!(err.contains("rrr"), "{err}");
}

#[test]
fn apply_needs_a_configuration_or_a_table() {
    let o = tandem(&["ipvs", "apply"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("apply needs -f FILE (a keepalived.conf) or --table FILE (JSON)"));

    let o = tandem(&["ipvs", "apply", "--table", "tests/fixtures/ipvs/web.conf"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("tests/fixtures/ipvs/web.conf: not a table in JSON"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_ipvs_command_is_hidden_from_help() {
    let o = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("check-config"), "{help}");
    assert!(!help.contains("ipvs"), "{help}");
}

#[test]
fn zero_names_the_service_as_ipvsadm_lists_it() {
    for args in [
        &["ipvs", "zero", "TCP", "192.0.2.10"][..],
        &["ipvs", "zero", "ICMP 192.0.2.10:80"],
        &["ipvs", "zero", "FWM", "seven"],
    ] {
        let o = tandem(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.starts_with("tandem ipvs zero: \""), "{err}");
        assert!(err.contains("e.g. \"TCP 192.0.2.10:80\""), "{err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn apply_then_reads_its_second_input_before_the_kernel_is_asked() {
    let o = tandem(&[
        "ipvs",
        "apply",
        "-f",
        "tests/fixtures/ipvs/web.conf",
        "--then",
        "tests/fixtures/ipvs/no-such.conf",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("tandem ipvs apply --then: "), "{err}");
    assert!(err.contains("no-such.conf"), "{err}");
    // --then is a second reconciliation: a dry run cannot have one.
    let o = tandem(&[
        "ipvs",
        "apply",
        "--dry-run",
        "-f",
        "tests/fixtures/ipvs/web.conf",
        "--then",
        "tests/fixtures/ipvs/web.conf",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
