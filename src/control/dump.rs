//! The state dump written on SIGUSR1.
//!
//! keepalived writes `/tmp/keepalived.data` when it gets SIGUSR1, and
//! monitoring scripts grep it for lines such as ` VRRP Instance = VI_1` and
//! `   State = MASTER`. tandem writes the same shape of text (those key lines
//! are spelled as keepalived spells them), plus the full status as JSON
//! beside it (`<path>.json`), which is what new scripts should read.
//!
//! The default is `/run/tandem/tandem.data`, not `/tmp`: the systemd unit
//! gives tandem a private `/tmp` (`PrivateTmp=yes`), where a dump would be
//! invisible to the scripts that look for it.
//!
//! Files are written to a temporary name and renamed into place, so a
//! script never reads half a dump.
//!
//! Owns the dump files; may not change the state it dumps.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::model::{StatusReceiver, StatusSnapshot};

/// Where SIGUSR1 writes unless told otherwise.
pub const DEFAULT_DUMP_FILE: &str = "/run/tandem/tandem.data";

/// keepalived-style text of the snapshot, one section after another.
pub fn render_dump(s: &StatusSnapshot) -> String {
    let mut o = String::new();
    global_definitions(&mut o, s);
    vrrp_topology(&mut o, s);
    sync_groups(&mut o, s);
    lvs_topology(&mut o, s);
    smtp_alerts(&mut o, s);
    o
}

/// `Global definitions`: the daemon and its configuration.
fn global_definitions(o: &mut String, s: &StatusSnapshot) {
    let _ = writeln!(o, "------< Global definitions >------");
    let _ = writeln!(o, " Router ID = {}", s.router_id);
    let _ = writeln!(o, " tandem version = {}", s.version);
    let _ = writeln!(o, " PID = {}", s.pid);
    let _ = writeln!(o, " Config file = {}", s.config.file);
    let _ = writeln!(o, " Snapshot time = {}", fmt_ms(s.generated_unix_ms));
}

/// `VRRP Topology`: every instance, with the key lines keepalived spells.
fn vrrp_topology(o: &mut String, s: &StatusSnapshot) {
    let _ = writeln!(o, "------< VRRP Topology >------");
    for i in &s.vrrp_instances {
        let _ = writeln!(o, " VRRP Instance = {}", i.name);
        let _ = writeln!(o, "   VRRP Version = {}", i.version);
        let _ = writeln!(o, "   State = {}", i.state);
        if let Some(t) = &i.last_transition {
            let _ = writeln!(
                o,
                "   Last transition = {} ({} -> {}: {})",
                fmt_ms(t.at_unix_ms),
                t.from,
                t.to,
                t.reason
            );
        }
        let _ = writeln!(o, "   Interface = {}", i.interface);
        let _ = writeln!(o, "   Virtual Router ID = {}", i.virtual_router_id);
        let _ = writeln!(o, "   Priority = {}", i.priority);
        let _ = writeln!(o, "   Effective priority = {}", i.effective_priority);
        let _ = writeln!(o, "   Advert interval = {} milli-sec", i.advert_interval_ms);
        if let Some(m) = i.master_address {
            let _ = writeln!(o, "   Master router = {m}");
        }
        if let Some(p) = i.master_priority {
            let _ = writeln!(o, "   Master priority = {p}");
        }
        if let Some(g) = &i.sync_group {
            let _ = writeln!(o, "   Sync group = {g}");
        }
        let _ = writeln!(o, "   Virtual IP ({}):", i.virtual_ipaddress.len());
        for vip in &i.virtual_ipaddress {
            let _ = writeln!(o, "     {vip}");
        }
        let c = &i.counters;
        let _ = writeln!(o, "   Became master = {}", c.became_master);
        let _ = writeln!(o, "   Released master = {}", c.released_master);
        let _ = writeln!(o, "   Advertisements sent = {}", c.adverts_sent);
        let _ = writeln!(o, "   Advertisements received = {}", c.adverts_received);
        let _ = writeln!(o, "   Invalid packets dropped = {}", c.invalid_packets);
        for (reason, n) in c.rx_errors.by_reason() {
            let _ = writeln!(o, "     {reason} = {n}");
        }
    }
}

/// `VRRP Sync groups`, when there are any.
fn sync_groups(o: &mut String, s: &StatusSnapshot) {
    if !s.sync_groups.is_empty() {
        let _ = writeln!(o, "------< VRRP Sync groups >------");
        for g in &s.sync_groups {
            let _ = writeln!(o, " VRRP Sync Group = {}, {}", g.name, g.state);
            for i in &g.instances {
                let _ = writeln!(o, "   monitor = {i}");
            }
        }
    }
}

/// `LVS Topology`: virtual servers and their real servers, when there are any.
fn lvs_topology(o: &mut String, s: &StatusSnapshot) {
    if !s.virtual_servers.is_empty() {
        let _ = writeln!(o, "------< LVS Topology >------");
        for v in &s.virtual_servers {
            let _ = writeln!(o, " Virtual Server = {}", v.name);
            let _ = writeln!(o, "   lvs_sched = {}", v.lvs_sched);
            let _ = writeln!(o, "   lvs_method = {}", v.lvs_method);
            let _ = writeln!(o, "   Installed in IPVS = {}", yes_no(v.installed));
            let _ = writeln!(
                o,
                "   Quorum = {} ({}), alive weight = {}",
                v.quorum,
                if v.quorum_up { "UP" } else { "DOWN" },
                v.alive_weight
            );
            if let Some(sorry) = v.sorry_server {
                let _ = writeln!(
                    o,
                    "   sorry_server = {sorry} ({})",
                    if v.sorry_active { "active" } else { "standby" }
                );
            }
            for r in &v.real_servers {
                let _ = writeln!(o, "   Real Server = {}", r.address);
                let _ = writeln!(o, "     Alive = {}", yes_no(r.alive));
                let _ = writeln!(o, "     Weight = {}", r.weight);
                let _ = writeln!(o, "     Effective weight = {}", r.effective_weight);
                if let Some(c) = &r.last_check {
                    let _ = writeln!(
                        o,
                        "     Last check = {} {} at {}: {}",
                        c.checker,
                        if c.ok { "ok" } else { "failed" },
                        fmt_ms(c.at_unix_ms),
                        c.reason
                    );
                }
            }
        }
    }
}

/// `SMTP alerts`: the mail queue.
fn smtp_alerts(o: &mut String, s: &StatusSnapshot) {
    let m = &s.mail;
    let _ = writeln!(o, "------< SMTP alerts >------");
    let _ = writeln!(o, " Enabled = {}", yes_no(m.enabled));
    let _ = writeln!(o, " Queued = {}", m.queued);
    let _ = writeln!(o, " Sent = {}", m.sent);
    let _ = writeln!(o, " Failed = {}", m.failed);
    let _ = writeln!(o, " Dropped = {}", m.dropped);
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Seconds since the epoch with milliseconds, as keepalived prints times.
fn fmt_ms(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Write `<path>` (text) and `<path>.json` atomically.
pub fn write_dump(path: &Path, s: &StatusSnapshot) -> io::Result<()> {
    write_atomic(path, render_dump(s).as_bytes())?;
    let mut json = serde_json::to_vec_pretty(s).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(&json_path(path), &json)
}

/// `<path>.json`.
pub fn json_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".json");
    PathBuf::from(p)
}

fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    // O_EXCL (`create_new`) never follows a symlink: with `--dump-file` in a
    // world-writable directory such as /tmp, a link planted at the temporary
    // name must not make root truncate the file it points to. A leftover of
    // an earlier crash is removed first (unlinking does not follow links).
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write a dump each time SIGUSR1 arrives, until the process ends. Spawn it
/// once at start-up: installing the handler early means a SIGUSR1 never
/// kills the daemon (the default action would).
pub fn spawn_sigusr1_dump(path: PathBuf, status: StatusReceiver) -> io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sig = signal(SignalKind::user_defined1())?;
    tokio::spawn(async move {
        while sig.recv().await.is_some() {
            let snapshot = status.borrow().clone();
            let p = path.clone();
            // File I/O off the runtime's worker threads.
            let r = tokio::task::spawn_blocking(move || write_dump(&p, &snapshot)).await;
            match r {
                Ok(Ok(())) => {
                    tracing::info!(path = %path.display(), "state dump written (SIGUSR1)")
                }
                Ok(Err(e)) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write state dump")
                }
                Err(e) => tracing::warn!(error = %e, "state dump task failed"),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    #[test]
    fn dump_has_keepalived_key_lines() {
        let text = render_dump(&example_snapshot());
        assert!(text.contains("------< VRRP Topology >------\n VRRP Instance = VI_OUTER\n"));
        assert!(text.contains("\n   State = MASTER\n"));
        assert!(text.contains(" VRRP Sync Group = VG_LB, MASTER\n"));
        assert!(text.contains(
            "   Invalid packets dropped = 3\n     truncated_errors = 1\n     length_errors = 0\n"
        ));
        assert!(text.contains("     checksum_errors = 2\n"));
        assert!(text.contains("   Real Server = 198.51.100.11:80\n     Alive = no\n"));
    }

    #[test]
    fn write_dump_replaces_atomically() {
        let dir = std::env::temp_dir().join(format!("tdm-dump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("tandem.data");
        std::fs::write(&path, "old").expect("write");
        let s = example_snapshot();
        write_dump(&path, &s).expect("dump");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("------< Global definitions >------"));
        let json = std::fs::read_to_string(json_path(&path)).expect("read json");
        let back: StatusSnapshot = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, s);
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_symlink_at_the_temporary_name_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("tdm-dump-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep me").expect("write");
        let path = dir.join("tandem.data");
        let tmp = PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).expect("symlink");
        write_dump(&path, &example_snapshot()).expect("dump");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("------< Global definitions >------"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
