//! `tandem check-config` as an operator runs it: exit status 0 (valid,
//! warnings on stderr), 1 (invalid, every problem on stderr), 2 (usage).

use std::process::Command;

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/keepalived/seed.conf"
);

fn tandem(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .expect("run tandem");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct TempFile(std::path::PathBuf);
impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tdm-cli-{name}-{}.conf", std::process::id()));
        std::fs::write(&p, text).unwrap();
        TempFile(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn valid_configuration_exits_0_with_warnings_on_stderr() {
    let (code, stdout, stderr) = tandem(&["check-config", "-f", SEED]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains(":30:1: warning: \"nb_get_retry\" is deprecated; use \"retry\""));
}

#[test]
fn invalid_configuration_exits_1_with_every_problem() {
    let f = TempFile::new(
        "invalid",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  priorty 100\n}\n",
    );
    let (code, _, stderr) = tandem(&["check-config", "-f", f.path()]);
    assert_eq!(code, 1, "{stderr}");
    let p = f.path();
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            format!("{p}:3:21: error: virtual_router_id 300 is out of range (1-255)"),
            format!(
                "{p}:4:3: error: unknown keyword \"priorty\" in vrrp_instance; did you mean \"priority\"? (keepalived 2.2.7 would log it and skip the line)"
            ),
            format!("{p}: 2 errors; configuration refused"),
        ]
    );
}

#[test]
fn missing_file_exits_1() {
    let (code, _, stderr) = tandem(&["check-config", "-f", "/nonexistent/k.conf"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("/nonexistent/k.conf: error: cannot read the configuration"),
        "{stderr}"
    );
}

#[test]
fn usage_error_exits_2() {
    let (code, _, _) = tandem(&["check-config", "--no-such-flag"]);
    assert_eq!(code, 2);
    let (code, _, _) = tandem(&["check-config", "-f"]);
    assert_eq!(code, 2);
}

#[test]
fn json_prints_the_typed_model() {
    let (code, stdout, _) = tandem(&["check-config", "-f", SEED, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    let rs = &v["virtual_servers"][0]["real_servers"][1];
    assert_eq!(rs["address"], "192.168.10.11");
    assert_eq!(rs["checkers"][0]["type"], "HTTP_GET");
    assert_eq!(rs["checkers"][0]["retry"], 3);
    assert_eq!(v["global_defs"]["smtp_server"]["port"], 25);
}

#[test]
fn config_id_selects_conditional_lines() {
    let f = TempFile::new(
        "cond",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 3\n@a priority 250\n@b priority 50\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    );
    for (id, prio) in [("a", 250), ("b", 50), ("c", 100)] {
        let (code, stdout, stderr) = tandem(&["check-config", "-f", f.path(), "-i", id, "--json"]);
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["vrrp_instances"][0]["priority"], prio, "config id {id}");
    }
}

/// Without `-i`, the config id is the host name up to its first dot (as
/// keepalived does). Run in a UTS namespace of its own with the host
/// name `lb7.example`, so the machine's host name is never touched.
#[test]
fn the_default_config_id_is_the_first_label_of_the_host_name() {
    let f = TempFile::new(
        "hostid",
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 3\n@lb7 priority 250\n@^lb7 priority 50\n@lb7.example priority 10\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n",
    );
    let out = Command::new("unshare")
        .args([
            "--uts",
            "sh",
            "-c",
            "hostname lb7.example && exec \"$0\" check-config -f \"$1\" --json",
        ])
        .arg(env!("CARGO_BIN_EXE_tandem"))
        .arg(f.path())
        .output()
        .expect("run unshare (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["vrrp_instances"][0]["priority"], 250);
}
