//! What every command that reads a configuration shares: the `-f` and
//! `-i` options, loading with every diagnostic printed, and the usage-error
//! exit status.
//!
//! Owns only that; the commands themselves live beside it in `cli/`.

use std::path::PathBuf;

use clap::Args;

/// Exit status for a command-line usage error (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

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

/// Load the configuration a command was given, printing every diagnostic
/// (`FILE:LINE:COL: error|warning|note: ...`) on stderr. `None` when it has
/// errors, after a summary line ending in `refusal` (what the command does
/// about it). `here`: the command runs the configuration on this machine
/// (`run`, `check-once`), so a script user this machine lacks is an error;
/// `check-config` checks it for the machine that will run it and only
/// warns.
pub fn load_config(args: &ConfigArgs, refusal: &str, here: bool) -> Option<crate::config::Config> {
    let opts = crate::config::LoadOptions {
        config_id: args.config_id.clone(),
    };
    let loaded = crate::config::load(&args.file, &opts);
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    // The scripts as they will run: users that must exist, and
    // enable_script_security's refusals (src/notify/script.rs).
    let mut script_errors = 0;
    if let Some(config) = &loaded.config {
        let (errors, warnings) = crate::notify::script::check_config(config);
        for w in &warnings {
            match &w.origin {
                Some(o) => eprintln!("{o}: warning: {}", w.message),
                None => eprintln!("{}: warning: {}", args.file.display(), w.message),
            }
        }
        for e in &errors {
            if here || !e.problem.is_of_this_machine() {
                eprintln!("{}: error: {}: {}", e.origin, e.what, e.problem);
                script_errors += 1;
            } else {
                eprintln!(
                    "{}: warning: {}: {}; tandem run refuses to start on a machine without it",
                    e.origin, e.what, e.problem
                );
            }
        }
    }
    if loaded.config.is_none() || script_errors > 0 {
        let n = loaded.errors().count() + script_errors;
        eprintln!(
            "{}: {n} error{}; {refusal}",
            args.file.display(),
            if n == 1 { "" } else { "s" }
        );
        return None;
    }
    loaded.config
}
