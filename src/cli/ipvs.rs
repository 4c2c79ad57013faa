//! `tandem ipvs ...`: the IPVS client and reconciler from the command line.
//!
//! A developer and test entry point (hidden from `--help`): the VM tests
//! program tables with it and read them back with `ipvsadm`, and the
//! benchmark times it against `ipvsadm -R`. It acts on the IPVS table of
//! the network namespace it runs in.
//!
//! `tandem ipvs daemon start|stop|list` drives the kernel's connection
//! synchronisation daemons by hand (what `ipvsadm --start-daemon`,
//! `--stop-daemon` and `-L --daemon` do), so that every daemon attribute
//! can be checked against the real kernel and the sync experiments of
//! `netns-lab/sync-lab` can run without keepalived.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::config_args::EXIT_USAGE;

use crate::ipvs::client::{IpvsClient, IpvsError};
use crate::ipvs::reconcile::{Op, Reconciler};
use crate::ipvs::types::{
    DaemonState, DestEntry, Forward, ServiceEntry, ServiceFlags, ServiceKey, SockAddr, SyncDaemon,
    Table,
};

#[derive(Debug, Args)]
pub struct IpvsArgs {
    #[command(subcommand)]
    pub command: IpvsCommand,
    /// Give up on the kernel after this many seconds per request.
    #[arg(long, global = true, default_value_t = 5)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum IpvsCommand {
    /// Program the virtual servers of a configuration (or a JSON table)
    /// into the kernel: dump, reconcile, print the operations performed.
    Apply(ApplyArgs),
    /// Print the kernel's IPVS table (like `ipvsadm -Ln`), or JSON.
    Dump(DumpArgs),
    /// Remove every virtual service (IPVS_CMD_FLUSH).
    Flush,
    /// Reset the packet and byte counters (IPVS_CMD_ZERO) of one virtual
    /// service, written as `ipvsadm -Ln` lists it ("TCP 192.0.2.10:80",
    /// "FWM 7"), or of every service and the totals.
    Zero(ZeroArgs),
    /// Print the IPVS version, connection table size and timeouts.
    Info,
    /// Start, stop or list the kernel's connection sync daemons.
    #[command(subcommand)]
    Daemon(DaemonCommand),
}

/// `tandem ipvs daemon ...`.
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start the master or backup sync daemon (IPVS_CMD_NEW_DAEMON). An
    /// attribute left out is left to the kernel's default (port 8848,
    /// group 224.0.0.81, ttl 1, maxlen from the interface's MTU).
    Start(DaemonStartArgs),
    /// Stop the master or backup sync daemon (IPVS_CMD_DEL_DAEMON).
    Stop(DaemonStopArgs),
    /// The running sync daemons, one line each as `ipvsadm -L --daemon`
    /// prints them, or JSON.
    List(DaemonListArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DaemonRole {
    Master,
    Backup,
}

impl From<DaemonRole> for DaemonState {
    fn from(r: DaemonRole) -> Self {
        match r {
            DaemonRole::Master => DaemonState::Master,
            DaemonRole::Backup => DaemonState::Backup,
        }
    }
}

#[derive(Debug, Args)]
pub struct DaemonStartArgs {
    /// Which daemon: the master sends the connection table, the backup
    /// receives it.
    #[arg(value_enum)]
    pub role: DaemonRole,
    /// The interface the sync messages leave (master) or arrive on (backup).
    #[arg(long, value_name = "IF")]
    pub ifname: String,
    /// The sync id (0-255): the backup takes only messages carrying it, or
    /// every message with 0. The kernel puts it in an 8-bit header field.
    #[arg(long, default_value_t = 0)]
    pub syncid: u8,
    /// Largest sync message payload in bytes (the kernel clamps it: the
    /// backup's to at least 1024).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=65507))]
    pub maxlen: Option<u16>,
    /// UDP port (the kernel's default 8848; the master with several
    /// `sync_ports` threads uses PORT+id).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Multicast TTL (hop limit) of the master's messages.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub ttl: Option<u8>,
    /// Multicast group, IPv4 or IPv6 (the kernel's default 224.0.0.81).
    #[arg(long, value_name = "ADDR", value_parser = multicast_group)]
    pub group: Option<IpAddr>,
}

#[derive(Debug, Args)]
pub struct DaemonStopArgs {
    #[arg(value_enum)]
    pub role: DaemonRole,
}

#[derive(Debug, Args)]
pub struct DaemonListArgs {
    /// JSON: a list of daemons with every attribute the kernel reported.
    #[arg(long)]
    pub json: bool,
}

/// A multicast address: the kernel refuses any other group with EINVAL
/// (`ip_vs_genl_new_daemon`: `ipv4_is_multicast`, `IPV6_ADDR_MULTICAST`),
/// which says less than this message.
fn multicast_group(s: &str) -> Result<IpAddr, String> {
    let a: IpAddr = s.parse().map_err(|e| format!("not an IP address: {e}"))?;
    if a.is_multicast() {
        Ok(a)
    } else {
        Err(format!("{a} is not a multicast address"))
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The configuration file (keepalived.conf syntax).
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        conflicts_with = "table"
    )]
    pub file: Option<PathBuf>,
    /// The identity used by `@ID` conditional lines.
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// A table in JSON (as `tandem ipvs dump --table` prints) instead of a configuration.
    #[arg(long, value_name = "FILE")]
    pub table: Option<PathBuf>,
    /// Also remove services the configuration does not list (keepalived's
    /// `lvs_flush`; on by default when the configuration sets it).
    #[arg(long)]
    pub lvs_flush: bool,
    /// Plan only: print the operations without sending them.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Requests per batch (sendmsg) at most.
    #[arg(long, default_value_t = 128)]
    pub window: usize,
    /// Then reconcile to this second input (a configuration with -f, JSON
    /// with --table), with the same client and reconciler, as the daemon
    /// holds them across a reload: print that second step's operations,
    /// its counters (changes, reads, sends) and its time.
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub then: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ZeroArgs {
    /// The service, e.g. `TCP 192.0.2.10:80`, `UDP [2001:db8::10]:53`,
    /// `FWM 7 IPv6` (one argument or several words); none: every service.
    #[arg(value_name = "SERVICE", num_args = 0..)]
    pub service: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// JSON: every service with its counters and destinations.
    #[arg(long, conflicts_with = "table")]
    pub json: bool,
    /// JSON of the table only (what `apply --table` reads back).
    #[arg(long)]
    pub table: bool,
}

/// Run `tandem ipvs ...`.
pub fn run(args: IpvsArgs) -> ExitCode {
    let mut client = IpvsClient::new(Duration::from_secs(args.timeout.max(1)));
    let r = match args.command {
        IpvsCommand::Apply(a) => apply(&mut client, a),
        IpvsCommand::Dump(a) => dump(&mut client, a),
        IpvsCommand::Flush => client.flush().map(|()| {
            println!("FLUSH");
            println!("operations: 1");
            ExitCode::SUCCESS
        }),
        IpvsCommand::Zero(a) => zero(&mut client, a),
        IpvsCommand::Info => info(&mut client),
        IpvsCommand::Daemon(c) => daemon(&mut client, c),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tandem ipvs: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why the desired table could not be built.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: not a table in JSON: {1}")]
    Json(PathBuf, serde_json::Error),
    #[error("{0}")]
    Config(String),
    #[error("apply needs -f FILE (a keepalived.conf) or --table FILE (JSON)")]
    Nothing,
}

fn desired_table(a: &ApplyArgs) -> Result<(Table, bool), InputError> {
    if let Some(path) = &a.table {
        return read_json_table(path).map(|t| (t, false));
    }
    match &a.file {
        Some(path) => read_config(path, a.config_id.as_deref()),
        None => Err(InputError::Nothing),
    }
}

/// The input of `--then`: of the same kind as the first one.
fn then_table(a: &ApplyArgs, path: &Path) -> Result<Table, InputError> {
    if a.table.is_some() {
        read_json_table(path)
    } else {
        read_config(path, a.config_id.as_deref()).map(|(t, _)| t)
    }
}

fn read_json_table(path: &Path) -> Result<Table, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError::Read(path.into(), e))?;
    serde_json::from_str(&text).map_err(|e| InputError::Json(path.into(), e))
}

fn read_config(path: &Path, config_id: Option<&str>) -> Result<(Table, bool), InputError> {
    crate::ipvs::from_config::load(path, config_id).map_err(|e| InputError::Config(e.to_string()))
}

fn apply(client: &mut IpvsClient, a: ApplyArgs) -> Result<ExitCode, IpvsError> {
    let (desired, config_flush) = match desired_table(&a) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tandem ipvs apply: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    client.set_window(a.window);
    if let Some(then) = &a.then {
        let second = match then_table(&a, then) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("tandem ipvs apply --then: {e}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        };
        return apply_then(client, &a, a.lvs_flush || config_flush, desired, second);
    }
    let mut reconciler = Reconciler::new(a.lvs_flush || config_flush);
    let started = Instant::now();
    let current = client.table()?;
    let dumped = started.elapsed();
    let ops = reconciler.plan(&desired, &current);
    let before = client.counters();
    let report = if a.dry_run {
        None
    } else {
        Some(client.apply(&ops)?)
    };
    let elapsed = started.elapsed();
    let sent = client.counters().changes - before.changes;
    let failed: Vec<(usize, String)> = report
        .as_ref()
        .map(|r| r.failed.iter().map(|(i, e)| (*i, e.to_string())).collect())
        .unwrap_or_default();
    if a.json {
        let out = serde_json::json!({
            "ops": ops,
            "operations": sent,
            "planned": ops.len(),
            "failed": failed.iter().map(|(i, e)| serde_json::json!({"index": i, "op": ops[*i].to_string(), "error": e})).collect::<Vec<_>>(),
            "dry_run": a.dry_run,
            "services": desired.services.len(),
            "destinations": desired.dest_count(),
            "dump_ms": dumped.as_secs_f64() * 1e3,
            "total_ms": elapsed.as_secs_f64() * 1e3,
            "counters": client.counters(),
        });
        println!("{out:#}");
    } else {
        for op in &ops {
            println!("{op}");
        }
        for (i, e) in &failed {
            eprintln!("tandem ipvs apply: refused: {}: {e}", ops[*i]);
        }
        if a.dry_run {
            println!("operations: 0 (dry run, {} planned)", ops.len());
        } else if failed.is_empty() {
            println!("operations: {sent}");
        } else {
            println!("operations: {sent} ({} refused)", failed.len());
        }
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What one step of `apply --then` did: its counters and its time.
#[derive(Debug, serde::Serialize)]
struct Step {
    ops: Vec<Op>,
    refused: Vec<String>,
    /// Requests that changed the kernel (one per operation).
    changes: u64,
    /// Requests that only read (dumps, family resolution).
    reads: u64,
    /// `sendmsg` calls.
    sends: u64,
    micros: u128,
}

/// One reconciliation of `desired` with `reconciler`, measured. The table
/// is shared with the reconciler's belief, as in the daemon
/// (`daemon::lvs::program`), so no copy of it is timed.
fn step(
    client: &mut IpvsClient,
    reconciler: &mut Reconciler,
    desired: &Arc<Table>,
) -> Result<Step, IpvsError> {
    let before = client.counters();
    let started = Instant::now();
    let (ops, report) = client.reconcile_shared(reconciler, desired)?;
    let micros = started.elapsed().as_micros();
    let after = client.counters();
    Ok(Step {
        refused: report
            .failed
            .iter()
            .map(|(i, e)| format!("{}: {e}", ops[*i]))
            .collect(),
        ops,
        changes: after.changes - before.changes,
        reads: after.reads - before.reads,
        sends: after.sends - before.sends,
        micros,
    })
}

/// `apply -f A --then B`: the daemon's way of changing the table. The
/// first step learns the kernel's table (a dump) and programs A; the
/// reconciler then believes the kernel holds A, so the second step plans
/// B against that belief and sends only the difference: a one-entry change
/// is one request and no read, whatever the table's size.
fn apply_then(
    client: &mut IpvsClient,
    a: &ApplyArgs,
    lvs_flush: bool,
    first: Table,
    second: Table,
) -> Result<ExitCode, IpvsError> {
    let mut reconciler = Reconciler::new(lvs_flush);
    // Both tables live to the end: freeing one is not part of a step.
    let (first, second) = (Arc::new(first), Arc::new(second));
    let one = step(client, &mut reconciler, &first)?;
    let two = if one.refused.is_empty() {
        Some(step(client, &mut reconciler, &second)?)
    } else {
        None
    };
    let ok = one.refused.is_empty() && two.as_ref().is_some_and(|t| t.refused.is_empty());
    if a.json {
        let out = serde_json::json!({ "first": one, "then": two });
        println!("{out:#}");
    } else {
        let summary = |s: &Step| {
            format!(
                "changes {}, reads {}, sends {}, {} us",
                s.changes, s.reads, s.sends, s.micros
            )
        };
        println!("first: {} operations; {}", one.ops.len(), summary(&one));
        for e in &one.refused {
            eprintln!("tandem ipvs apply: refused: {e}");
        }
        if let Some(two) = &two {
            for op in &two.ops {
                println!("{op}");
            }
            for e in &two.refused {
                eprintln!("tandem ipvs apply: refused: {e}");
            }
            println!("operations: {}", two.changes);
            println!("reads: {}", two.reads);
            println!("sends: {}", two.sends);
            println!("time_us: {}", two.micros);
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn zero(client: &mut IpvsClient, a: ZeroArgs) -> Result<ExitCode, IpvsError> {
    let key = if a.service.is_empty() {
        None
    } else {
        match a.service.join(" ").parse::<ServiceKey>() {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("tandem ipvs zero: {e}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
    };
    client.zero(key.as_ref())?;
    match key {
        Some(k) => println!("ZERO {k}"),
        None => println!("ZERO"),
    }
    println!("operations: 1");
    Ok(ExitCode::SUCCESS)
}

fn dump(client: &mut IpvsClient, a: DumpArgs) -> Result<ExitCode, IpvsError> {
    let entries = client.dump()?;
    if a.table {
        let t = Table::from_entries(&entries);
        println!("{}", json_or_err(serde_json::to_string_pretty(&t)));
    } else if a.json {
        println!("{}", json_or_err(serde_json::to_string_pretty(&entries)));
    } else {
        print!("{}", listing(&entries));
    }
    Ok(ExitCode::SUCCESS)
}

fn json_or_err(r: Result<String, serde_json::Error>) -> String {
    r.unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn info(client: &mut IpvsClient) -> Result<ExitCode, IpvsError> {
    let info = client.info()?;
    let t = client.timeouts()?;
    println!(
        "IP Virtual Server version {} (size={})",
        info.version_string(),
        info.conn_tab_size
    );
    let show = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    println!(
        "Timeout (tcp tcpfin udp): {} {} {}",
        show(t.tcp),
        show(t.tcp_fin),
        show(t.udp)
    );
    for d in client.daemons()? {
        println!("{}", daemon_line(&d));
    }
    Ok(ExitCode::SUCCESS)
}

fn daemon(client: &mut IpvsClient, c: DaemonCommand) -> Result<ExitCode, IpvsError> {
    match c {
        DaemonCommand::Start(a) => {
            let mut d = SyncDaemon::new(a.role.into(), &a.ifname, u32::from(a.syncid));
            d.sync_maxlen = a.maxlen;
            d.mcast_port = a.port;
            d.mcast_ttl = a.ttl;
            d.mcast_group = a.group;
            client.new_daemon(&d)?;
            println!("NEW_DAEMON {}", daemon_line(&d));
        }
        DaemonCommand::Stop(a) => {
            let state: DaemonState = a.role.into();
            client.del_daemon(state)?;
            println!("DEL_DAEMON {}", state_name(state));
        }
        DaemonCommand::List(a) => {
            let daemons = client.daemons()?;
            if a.json {
                println!("{}", json_or_err(serde_json::to_string_pretty(&daemons)));
            } else {
                for d in &daemons {
                    println!("{}", daemon_line(d));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn state_name(s: DaemonState) -> &'static str {
    match s {
        DaemonState::Master => "master",
        DaemonState::Backup => "backup",
    }
}

/// One sync daemon in the words of `ipvsadm -L --daemon` (ipvsadm's
/// `print_daemon`: the optional fields in the order maxlen, group, port,
/// ttl, each only when set), so that a test can compare the two listings
/// line for line.
pub fn daemon_line(d: &SyncDaemon) -> String {
    use std::fmt::Write;
    let mut s = format!(
        "{} sync daemon (mcast={}, syncid={}",
        state_name(d.state),
        d.mcast_ifn,
        d.syncid
    );
    if let Some(m) = d.sync_maxlen.filter(|m| *m != 0) {
        let _ = write!(s, ", maxlen={m}");
    }
    if let Some(g) = d.mcast_group {
        let _ = write!(s, ", group={g}");
    }
    if let Some(p) = d.mcast_port.filter(|p| *p != 0) {
        let _ = write!(s, ", port={p}");
    }
    if let Some(t) = d.mcast_ttl.filter(|t| *t != 0) {
        let _ = write!(s, ", ttl={t}");
    }
    s.push(')');
    s
}

/// The table in the layout of `ipvsadm -Ln`, so that a reader can put the
/// two side by side.
pub fn listing(entries: &[ServiceEntry]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "Prot LocalAddress:Port Scheduler Flags");
    let _ = writeln!(
        s,
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
    );
    for e in entries {
        let svc = &e.service;
        let _ = write!(s, "{} {}", svc.key, svc.scheduler);
        let mut flags: Vec<String> = svc
            .flags
            .names()
            .into_iter()
            .filter(|n| *n != "persistent")
            .map(str::to_owned)
            .collect();
        if svc.flags.has(ServiceFlags::PERSISTENT) {
            flags.push(format!("persistent {}", svc.timeout));
            flags.push(format!("mask {}", svc.netmask));
        }
        if !flags.is_empty() {
            let _ = write!(s, " {}", flags.join(" "));
        }
        if let Some(pe) = &svc.pe_name {
            let _ = write!(s, " pe {pe}");
        }
        let _ = writeln!(s);
        for d in &e.destinations {
            let _ = writeln!(s, "{}", dest_line(d));
        }
    }
    s
}

fn dest_line(d: &DestEntry) -> String {
    let mut fwd = d.dest.forward.ipvsadm_name().to_owned();
    if let Forward::Tunnel { tun_type, port, .. } = d.dest.forward {
        if tun_type != crate::ipvs::types::TunnelType::Ipip {
            fwd = format!("{fwd}({tun_type:?}:{port})").to_lowercase();
        }
    }
    format!(
        "  -> {:<28} {:<7} {:<6} {:<10} {}",
        SockAddr(d.dest.addr, d.dest.port).to_string(),
        fwd,
        d.dest.weight,
        d.active_conns,
        d.inact_conns
    )
}

/// `Op` lines for a list of operations (what `apply` prints).
pub fn op_lines(ops: &[Op]) -> String {
    ops.iter().map(|o| format!("{o}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_lines_are_ipvsadms() {
        // ipvsadm 1.31 `print_daemon`, as `ipvsadm -L --daemon` printed it
        // in the test VM (tests/ipvs_vm_cli.sh compares the two there).
        let mut d = SyncDaemon::new(DaemonState::Backup, "s1", 202);
        assert_eq!(daemon_line(&d), "backup sync daemon (mcast=s1, syncid=202)");
        d.sync_maxlen = Some(1600);
        d.mcast_group = "ff02::8848".parse().ok();
        d.mcast_port = Some(4661);
        d.mcast_ttl = Some(9);
        assert_eq!(
            daemon_line(&d),
            "backup sync daemon (mcast=s1, syncid=202, maxlen=1600, group=ff02::8848, port=4661, ttl=9)"
        );
    }

    #[test]
    fn only_multicast_groups() {
        assert!(multicast_group("224.0.0.81").is_ok());
        assert!(multicast_group("ff02::12").is_ok());
        assert!(multicast_group("192.0.2.1").is_err());
        assert!(multicast_group("2001:db8::1").is_err());
        assert!(multicast_group("eth0").is_err());
    }
}
