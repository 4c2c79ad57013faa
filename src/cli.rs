//! The `tandem` command line.
//!
//! The definitions live in the library (not in `main.rs`) so that the man
//! pages and shell completions in `packaging/` are generated from the same
//! source the binary parses with.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit status for a command-line usage error (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

/// Two Linux load balancers as one highly available service (VRRP + IPVS).
#[derive(Debug, Parser)]
#[command(name = "tandem", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a keepalived.conf and report every problem with its position.
    CheckConfig(CheckConfigArgs),
    /// Run the daemon in the foreground.
    Run(RunArgs),
    /// Show the state of a running daemon.
    Status(StatusArgs),
    /// Run the configured health checks once (or for a while) and print the results.
    CheckOnce(crate::check::cli::CheckOnceArgs),
    /// Answer HTTP on many ports and count requests (benchmark tool).
    #[command(hide = true)]
    HttpSink(crate::check::cli::HttpSinkArgs),
    /// Program, dump or flush the kernel's IPVS table (developer and test tool).
    #[command(hide = true)]
    Ipvs(crate::ipvs::cli::IpvsArgs),
}

/// Options shared by every command that reads a configuration.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The configuration file (keepalived.conf syntax).
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        default_value = "/etc/tandem/keepalived.conf"
    )]
    pub file: PathBuf,
    /// The identity used by `@ID` conditional lines (default: the first label of the host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the typed model as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parse the command line and run the chosen command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => check_config(&args),
        Command::Run(args) => run(&args),
        Command::Status(_args) => not_yet("status", "issue 7"),
        Command::Ipvs(args) => crate::ipvs::cli::run(args),
        Command::CheckOnce(args) => crate::check::cli::run(args),
        Command::HttpSink(args) => crate::check::cli::sink(args),
    }
}

/// `tandem check-config`: exit 0 when valid (warnings on stderr), 1 when
/// not (every problem on stderr as `FILE:LINE:COL: error: MESSAGE`).
fn check_config(args: &CheckConfigArgs) -> ExitCode {
    let opts = crate::config::LoadOptions {
        config_id: args.config.config_id.clone(),
    };
    let loaded = crate::config::load(&args.config.file, &opts);
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    let Some(config) = loaded.config else {
        let n = loaded.errors().count();
        eprintln!(
            "{}: {n} error{}; configuration refused",
            args.config.file.display(),
            if n == 1 { "" } else { "s" }
        );
        return ExitCode::from(1);
    };
    if args.json {
        match serde_json::to_string_pretty(&config) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("tandem check-config: cannot print the model as JSON: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

/// `tandem run`: the daemon in the foreground, logging to stderr. Exit 0
/// after a clean stop (SIGTERM / SIGINT), 1 when the configuration is
/// refused or cannot run here (missing interface, sockets that cannot be
/// opened).
fn run(args: &RunArgs) -> ExitCode {
    crate::daemon::init_logging();
    let opts = crate::config::LoadOptions {
        config_id: args.config.config_id.clone(),
    };
    let loaded = crate::config::load(&args.config.file, &opts);
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    let Some(config) = loaded.config else {
        let n = loaded.errors().count();
        eprintln!(
            "{}: {n} error{}; not starting",
            args.config.file.display(),
            if n == 1 { "" } else { "s" }
        );
        return ExitCode::from(1);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem run: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(crate::daemon::run(
        &config,
        crate::daemon::RunOptions::default(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem run: {e}");
            ExitCode::from(1)
        }
    }
}

fn not_yet(what: &str, issue: &str) -> ExitCode {
    eprintln!("tandem {what}: not implemented yet (tracked in {issue})");
    ExitCode::from(1)
}
