//! `tandem ipvs ...`: the IPVS client and reconciler from the command line.
//!
//! A developer and test entry point (hidden from `--help`): the VM tests
//! program tables with it and read them back with `ipvsadm`, and the
//! benchmark times it against `ipvsadm -R`. It acts on the IPVS table of
//! the network namespace it runs in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::config_args::EXIT_USAGE;

use crate::ipvs::client::{IpvsClient, IpvsError};
use crate::ipvs::reconcile::{Op, Reconciler};
use crate::ipvs::types::{
    DestEntry, Forward, ServiceEntry, ServiceFlags, ServiceKey, SockAddr, Table,
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
        println!(
            "{:?} sync daemon (mcast={}, syncid={})",
            d.state, d.mcast_ifn, d.syncid
        );
    }
    Ok(ExitCode::SUCCESS)
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
