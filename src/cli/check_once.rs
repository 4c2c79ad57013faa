//! `tandem check-once`: run the configured health checks and print what
//! they find, without touching VRRP or IPVS. For operators ("would this
//! configuration see my real servers as up?"), the demo and the benchmark.
//!
//! Also the hidden `tandem http-sink`, the benchmark's HTTP responder.
//!
//! Owns only the front end: the checks, their schedule and the table come
//! from `crate::check` and `crate::lvs`, as in the daemon.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Args;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::config_args::{ConfigArgs, EXIT_USAGE, load_config};
use crate::check::{CheckerId, Pass, Report, probe};
use crate::lvs::{VsIndex, build};
use crate::process::{raise_nofile_limit, release_free_memory};

#[derive(Debug, Args)]
pub struct CheckOnceArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Instead of one probe per checker, run the checkers on their
    /// configured schedule (warmup, delay_loop, retry) for SECS seconds, on
    /// threads of their own as the daemon does, printing every verdict
    /// change, then the table that would be programmed and the number of
    /// probes.
    #[arg(long = "for", value_name = "SECS")]
    pub run_for: Option<f64>,
    /// At most this many probes in flight at once (one-shot mode).
    #[arg(long, default_value_t = 256)]
    pub parallel: usize,
    /// At most this many network probes in flight at once (--for mode,
    /// as the daemon runs them).
    #[arg(long, default_value_t = crate::check::runner::DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// Worker threads (1: a single-threaded runtime, as the daemon's
    /// checker would be on a small balancer).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct HttpSinkArgs {
    /// Ports to listen on (wildcard address), e.g. `8000-8039` or `80,8080`.
    #[arg(long, value_name = "PORTS", default_value = "80")]
    pub ports: String,
    /// Print the request count this often (seconds).
    #[arg(long, default_value_t = 1.0)]
    pub report: f64,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

/// `tandem check-once`.
pub fn run(args: CheckOnceArgs) -> ExitCode {
    let Some(config) = load_config(&args.config, "configuration refused", true) else {
        return ExitCode::from(1);
    };
    let built = match build(&config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    // The parsed model is not needed any more; with 10,000 real servers it
    // is several megabytes. Give them back to the system.
    drop(config);
    release_free_memory();
    raise_nofile_limit();
    let rt = match runtime(args.threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem check-once: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match args.run_for {
        None => rt.block_on(once(built, args.parallel.max(1))),
        Some(secs) => rt.block_on(watch(
            built,
            Duration::from_secs_f64(secs.max(0.0)),
            args.max_in_flight,
        )),
    }
}

/// Which (virtual server, real server) pairs each checker decides, for
/// printing.
fn users(built: &crate::lvs::Built) -> BTreeMap<CheckerId, Vec<(String, String)>> {
    let mut map: BTreeMap<CheckerId, Vec<(String, String)>> = BTreeMap::new();
    for v in 0..built.state.len() {
        let Some(spec) = built.state.spec(VsIndex(v)) else {
            continue;
        };
        for rs in &spec.real_servers {
            for c in &rs.checkers {
                map.entry(*c)
                    .or_default()
                    .push((built.names[v].clone(), rs.addr.to_string()));
            }
        }
    }
    map
}

async fn once(built: crate::lvs::Built, parallel: usize) -> ExitCode {
    let limit = Arc::new(Semaphore::new(parallel));
    let mut tasks = JoinSet::new();
    for (id, spec) in built.runner.specs() {
        let spec = spec.clone();
        let limit = Arc::clone(&limit);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let started = Instant::now();
            let result = probe(&spec).await;
            (id, spec, result, started.elapsed())
        });
    }
    let mut results = Vec::with_capacity(built.runner.len());
    while let Some(r) = tasks.join_next().await {
        if let Ok(r) = r {
            results.push(r);
        }
    }
    results.sort_by_key(|r| r.0);
    let users = users(&built);
    let mut failed = 0;
    for (id, spec, result, took) in &results {
        let verdict = match result {
            Ok(Pass::Up) => "UP".to_string(),
            Ok(Pass::Weight(w)) => format!("UP weight {w}"),
            Err(e) => {
                failed += 1;
                format!("DOWN: {e}")
            }
        };
        let used_by: Vec<String> = users
            .get(id)
            .map(|u| u.iter().map(|(vs, rs)| format!("{vs} -> {rs}")).collect())
            .unwrap_or_default();
        println!(
            "{spec}  [{}]  {verdict}  ({} ms)",
            used_by.join(", "),
            took.as_millis()
        );
    }
    println!(
        "{} checker{}, {} up, {failed} down",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        results.len() - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn watch(built: crate::lvs::Built, run_for: Duration, max_in_flight: usize) -> ExitCode {
    let start = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    // As the daemon runs them: status-only HTTP_GET and TCP_CHECK on the
    // checks' own event loop, the others on a runtime of their own.
    let running = match built.runner.spawn_on_thread(tx, max_in_flight) {
        Ok(running) => running,
        Err(e) => {
            eprintln!("tandem check-once: cannot start the checks: {e}");
            return ExitCode::from(1);
        }
    };
    let mut state = built.state;
    let users = users_for_watch(&built.runner);
    let deadline = tokio::time::sleep(run_for);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                let what = match ev.report {
                    Report::Up => "UP".to_string(),
                    Report::Down => "DOWN".to_string(),
                    Report::Weight(w) => format!("weight {w}"),
                };
                let spec = users.get(&ev.checker).cloned().unwrap_or_default();
                match &ev.detail {
                    Some(d) => println!("{:8.3}s {spec} {what}: {d}", start.elapsed().as_secs_f64()),
                    None => println!("{:8.3}s {spec} {what}", start.elapsed().as_secs_f64()),
                }
                for action in state.on_check(&ev) {
                    println!("{:8.3}s   {action:?}", start.elapsed().as_secs_f64());
                }
            }
        }
    }
    let probes = running.stats.probes.load(Ordering::Relaxed);
    let failures = running.stats.failures.load(Ordering::Relaxed);
    running.shutdown().await;
    let table = state.desired_table(|_| true);
    print!("{}", super::ipvs::listing(&table_entries(&table)));
    println!(
        "probes {probes} failures {failures} checkers {} seconds {:.3}",
        users.len(),
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn users_for_watch(runner: &crate::check::CheckRunner) -> BTreeMap<CheckerId, String> {
    runner.specs().map(|(id, s)| (id, s.to_string())).collect()
}

/// The desired table in the shape `cli::ipvs::listing` prints (ipvsadm -Ln).
fn table_entries(table: &crate::ipvs::types::Table) -> Vec<crate::ipvs::types::ServiceEntry> {
    table
        .services
        .values()
        .map(|vs| crate::ipvs::types::ServiceEntry {
            service: vs.service.clone(),
            stats: None,
            destinations: vs
                .destinations
                .values()
                .map(|d| crate::ipvs::types::DestEntry {
                    dest: d.clone(),
                    active_conns: 0,
                    inact_conns: 0,
                    persist_conns: 0,
                    stats: None,
                })
                .collect(),
        })
        .collect()
}

/// Parse `8000-8039,9000` into ports.
pub fn parse_ports(s: &str) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("bad port or range {part:?}");
        match part.split_once('-') {
            Some((a, b)) => {
                let a: u16 = a.trim().parse().map_err(|_| bad())?;
                let b: u16 = b.trim().parse().map_err(|_| bad())?;
                if b < a {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    if out.is_empty() {
        return Err("no ports".into());
    }
    Ok(out)
}

/// `tandem http-sink`.
pub fn sink(args: HttpSinkArgs) -> ExitCode {
    let ports = match parse_ports(&args.ports) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tandem http-sink: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    raise_nofile_limit();
    let rt = match runtime(args.threads.max(2)) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem http-sink: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(crate::check::sink::serve(
        ports,
        Duration::from_secs_f64(args.report.max(0.05)),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem http-sink: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(parse_ports("80").unwrap(), vec![80]);
        assert_eq!(
            parse_ports("8000-8002, 9000").unwrap(),
            vec![8000, 8001, 8002, 9000]
        );
        assert!(parse_ports("9-1").is_err());
        assert!(parse_ports("x").is_err());
        assert!(parse_ports("").is_err());
    }
}
