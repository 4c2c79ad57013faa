//! The `tandem` command line.
//!
//! The definitions live in the library (not in `main.rs`) so that the man
//! pages and shell completions in `packaging/` are generated from the same
//! source the binary parses with.
//!
//! Owns: parsing arguments, printing for a human, exit statuses. The top
//! layer: it may use every other module, and nothing may use it (a
//! subcommand's front end is never a library for the daemon; what both
//! need lives in the layer below, e.g. `crate::process`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub mod check_once;
mod config_args;
pub mod ipvs;

use config_args::load_config;
pub use config_args::{ConfigArgs, EXIT_USAGE};

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
    /// Ask the running daemon to reload its configuration (as SIGHUP does).
    Reload(ReloadArgs),
    /// Run the configured health checks once (or for a while) and print the results.
    CheckOnce(check_once::CheckOnceArgs),
    /// Answer HTTP on many ports and count requests (benchmark tool).
    #[command(hide = true)]
    HttpSink(check_once::HttpSinkArgs),
    /// Program, dump or flush the kernel's IPVS table (developer and test tool).
    #[command(hide = true)]
    Ipvs(ipvs::IpvsArgs),
    /// Write man pages or shell completions (used to build the package).
    #[command(hide = true)]
    Generate(GenerateArgs),
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
    #[command(flatten)]
    pub control: ControlArgs,
}

/// Where the daemon serves its state (see `crate::control`).
#[derive(Debug, Clone, Args)]
pub struct ControlArgs {
    /// The control socket `tandem status` talks to (created mode 0600).
    #[arg(
        long,
        value_name = "PATH",
        default_value = crate::control::server::DEFAULT_SOCKET
    )]
    pub control_socket: PathBuf,
    /// Serve Prometheus metrics at http://ADDR/metrics (off unless given),
    /// e.g. 127.0.0.1:9650.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Serve a read-only status page at http://ADDR:PORT/ and the status
    /// JSON at /status (off unless given), e.g. 127.0.0.1:8650. Loopback
    /// only, unless --status-listen-allow-remote.
    #[arg(long, value_name = "ADDR:PORT")]
    pub status_listen: Option<String>,
    /// Let --status-listen take an address that is not loopback. The page
    /// has no authentication: only on a network you trust.
    #[arg(long, requires = "status_listen")]
    pub status_listen_allow_remote: bool,
    /// Where SIGUSR1 writes the state dump (and `<PATH>.json`).
    #[arg(
        long,
        value_name = "PATH",
        default_value = crate::control::dump::DEFAULT_DUMP_FILE
    )]
    pub dump_file: PathBuf,
}

impl ControlArgs {
    /// `--status-listen`, parsed and refused when it is not loopback and
    /// `--status-listen-allow-remote` was not given.
    pub fn status_listen(
        &self,
    ) -> Result<Option<std::net::SocketAddr>, crate::control::web::ListenAddressError> {
        self.status_listen
            .as_deref()
            .map(|a| crate::control::web::check_listen_address(a, self.status_listen_allow_remote))
            .transpose()
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The daemon's control socket.
    #[arg(
        long,
        value_name = "PATH",
        env = "TANDEM_SOCKET",
        default_value = crate::control::server::DEFAULT_SOCKET
    )]
    pub socket: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// The daemon's control socket.
    #[arg(
        long,
        value_name = "PATH",
        env = "TANDEM_SOCKET",
        default_value = crate::control::server::DEFAULT_SOCKET
    )]
    pub socket: PathBuf,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to write.
    #[arg(value_enum)]
    pub what: GenerateWhat,
    /// The directory to write into (created if missing).
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GenerateWhat {
    /// `tandem.1` and one page per subcommand (`tandem-status.1`, ...).
    Man,
    /// bash, zsh and fish completions.
    Completions,
}

/// Parse the command line and run the chosen command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => check_config(&args),
        Command::Run(args) => run(&args),
        Command::Status(args) => status(&args),
        Command::Reload(args) => reload(&args),
        Command::Ipvs(args) => ipvs::run(args),
        Command::CheckOnce(args) => check_once::run(args),
        Command::HttpSink(args) => check_once::sink(args),
        Command::Generate(args) => generate(&args),
    }
}

/// `tandem status`: ask the running daemon over its control socket.
fn status(args: &StatusArgs) -> ExitCode {
    use crate::control::client;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem status: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async {
        if args.json {
            let v = client::fetch_status_json(&args.socket).await?;
            Ok(serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()) + "\n")
        } else {
            let s = client::fetch_status(&args.socket).await?;
            Ok::<_, client::ClientError>(client::render_table(&s))
        }
    });
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tandem status: {e}");
            ExitCode::from(1)
        }
    }
}

/// `tandem reload`: `POST /reload` on the control socket. Prints what
/// changed, or why the new configuration was refused (exit 1; the running
/// configuration stays).
fn reload(args: &ReloadArgs) -> ExitCode {
    use crate::control::client;
    use crate::control::server::ReloadOutcome;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem reload: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // A reload may take longer than a status request: the daemon parses
    // the whole file first.
    let result = rt.block_on(client::request(
        &args.socket,
        hyper::Method::POST,
        "/reload",
    ));
    let (code, body) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tandem reload: {e}");
            return ExitCode::from(1);
        }
    };
    match serde_json::from_slice::<ReloadOutcome>(&body) {
        Ok(outcome) if outcome.applied => {
            if outcome.changes.is_empty() {
                println!("reloaded: no change");
            } else {
                println!("reloaded:");
                for c in &outcome.changes {
                    println!("  {c}");
                }
            }
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            eprintln!("tandem reload: refused; the running configuration stays");
            for e in &outcome.errors {
                eprintln!("{e}");
            }
            ExitCode::from(1)
        }
        Err(_) => {
            eprintln!(
                "tandem reload: the daemon answered {code}: {}",
                String::from_utf8_lossy(&body).trim()
            );
            ExitCode::from(1)
        }
    }
}

/// `tandem generate man|completions DIR`: the package's man pages and
/// completions come from the same clap definitions the binary parses with,
/// so they cannot drift from the real options.
fn generate(args: &GenerateArgs) -> ExitCode {
    match generate_into(args.what, &args.dir) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tandem generate: {}: {e}", args.dir.display());
            ExitCode::from(1)
        }
    }
}

/// Write the man pages or completions into `dir`; the files written.
pub fn generate_into(what: GenerateWhat, dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command();
    cmd.build();
    let mut written = Vec::new();
    match what {
        GenerateWhat::Man => {
            // tandem.1 and tandem-<sub>.1 for every visible subcommand.
            clap_mangen::generate_to(Cli::command(), dir)?;
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "1") {
                    written.push(path);
                }
            }
            written.sort();
        }
        GenerateWhat::Completions => {
            use clap_complete::Shell;
            for (shell, file) in [
                (Shell::Bash, "tandem"),
                (Shell::Zsh, "_tandem"),
                (Shell::Fish, "tandem.fish"),
            ] {
                let path = dir.join(file);
                let mut buf = Vec::new();
                clap_complete::generate(shell, &mut cmd, "tandem", &mut buf);
                std::fs::write(&path, buf)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// `tandem check-config`: exit 0 when valid (warnings on stderr), 1 when
/// not (every problem on stderr as `FILE:LINE:COL: error: MESSAGE`).
fn check_config(args: &CheckConfigArgs) -> ExitCode {
    let Some(config) = load_config(&args.config, "configuration refused", false) else {
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
    // Refused before anything starts: a page that would listen where it
    // should not is a mistake to fix, not to run with.
    let status_listen = match args.control.status_listen() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("tandem run: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let Some(config) = load_config(&args.config, "not starting", true) else {
        return ExitCode::from(1);
    };
    // Before the runtime's threads exist, so that they all start inside.
    let (mut socket, mut dump_file) = (
        args.control.control_socket.clone(),
        args.control.dump_file.clone(),
    );
    if let Some(ns) = &config.global_defs.net_namespace {
        if let Err(e) = crate::process::enter_net_namespace(ns) {
            eprintln!("tandem run: {e}");
            return ExitCode::from(1);
        }
        tracing::info!(net_namespace = %ns, "running in network namespace {ns}");
    }
    if let Some(name) = &config.global_defs.net_namespace_ipvs {
        // keepalived's: no name is the init process's namespace.
        let path = match name.as_str() {
            "" => std::path::PathBuf::from("/proc/1/ns/net"),
            n => std::path::Path::new("/run/netns").join(n),
        };
        if let Err(e) = crate::ipvs::client::set_namespace(Some(path.clone())) {
            eprintln!("tandem run: net_namespace_ipvs: cannot open {e}");
            return ExitCode::from(1);
        }
        tracing::info!(net_namespace_ipvs = %path.display(), "the IPVS table is in network namespace {}", path.display());
    }
    // One daemon per namespace and instance on a host: the default paths
    // get their names, as keepalived's pid files and syslog ident do.
    let g = &config.global_defs;
    if let Some(suffix) = daemon_suffix(g.net_namespace.as_deref(), g.instance.as_deref()) {
        (socket, dump_file) = per_daemon_paths(&suffix, socket, dump_file);
        tracing::info!(
            control_socket = %socket.display(), dump_file = %dump_file.display(),
            "this daemon's files are named after {suffix}"
        );
    }
    crate::daemon::sched::prepare(&config.global_defs);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(crate::process::enter_vrrp_thread)
        .on_thread_stop(crate::process::leave_vrrp_thread)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem run: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let run_opts = crate::daemon::RunOptions {
        control: Some(crate::daemon::ControlOptions {
            socket,
            metrics_listen: args.control.metrics_listen.clone(),
            status_listen,
            dump_file,
        }),
        source: Some(crate::daemon::ConfigSource {
            file: args.config.file.clone(),
            load: crate::config::LoadOptions {
                config_id: args.config.config_id.clone(),
            },
        }),
        ..crate::daemon::RunOptions::default()
    };
    match runtime.block_on(crate::daemon::run(config, run_opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandem run: {e}");
            ExitCode::from(1)
        }
    }
}

/// What names one of several daemons on a host, as keepalived's syslog
/// ident does: `NS`, `INSTANCE` or `NS_INSTANCE`.
fn daemon_suffix(net_namespace: Option<&str>, instance: Option<&str>) -> Option<String> {
    match (net_namespace, instance) {
        (None, None) => None,
        (Some(n), None) | (None, Some(n)) => Some(n.to_string()),
        (Some(n), Some(i)) => Some(format!("{n}_{i}")),
    }
}

/// The control socket and dump file of a daemon named `NAME` (see
/// [`daemon_suffix`]): the defaults become `/run/tandem/tandem-NAME.sock`
/// and `…-NAME.data`; paths given on the command line stay.
fn per_daemon_paths(
    ns: &str,
    socket: std::path::PathBuf,
    dump_file: std::path::PathBuf,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let renamed = |p: std::path::PathBuf, default: &str, ext: &str| {
        if p == std::path::Path::new(default) {
            p.with_file_name(format!("tandem-{ns}.{ext}"))
        } else {
            p
        }
    };
    (
        renamed(socket, crate::control::server::DEFAULT_SOCKET, "sock"),
        renamed(dump_file, crate::control::dump::DEFAULT_DUMP_FILE, "data"),
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{daemon_suffix, per_daemon_paths};
    use crate::control::{dump::DEFAULT_DUMP_FILE, server::DEFAULT_SOCKET};

    #[test]
    fn default_paths_get_the_namespace_and_given_ones_stay() {
        let (s, d) = per_daemon_paths("blue", DEFAULT_SOCKET.into(), DEFAULT_DUMP_FILE.into());
        assert_eq!(s, PathBuf::from("/run/tandem/tandem-blue.sock"));
        assert_eq!(d, PathBuf::from("/run/tandem/tandem-blue.data"));
        let (s, d) = per_daemon_paths("blue", "/tmp/a.sock".into(), "/tmp/a.data".into());
        assert_eq!(
            (s, d),
            (PathBuf::from("/tmp/a.sock"), PathBuf::from("/tmp/a.data"))
        );
    }

    #[test]
    fn a_daemon_is_named_by_namespace_then_instance() {
        assert_eq!(daemon_suffix(None, None), None);
        assert_eq!(daemon_suffix(Some("blue"), None).as_deref(), Some("blue"));
        assert_eq!(daemon_suffix(None, Some("web")).as_deref(), Some("web"));
        assert_eq!(
            daemon_suffix(Some("blue"), Some("web")).as_deref(),
            Some("blue_web")
        );
    }
}
