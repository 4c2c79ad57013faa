//! The keepalived.conf dialect: lexer, parser, typed model and checks.
//!
//! tandem reads the configuration language operators already run with
//! keepalived. Reading a configuration goes through four layers:
//!
//! 1. `lexer`: files → tokens (comments, quotes, `include`, `@ID`
//!    conditional lines, `$NAME` parameters), each token keeping the file,
//!    line and column the operator wrote;
//! 2. `parser`: tokens → statements and blocks;
//! 3. `build`: statements → the typed [`model`], applying keepalived's
//!    defaults and inheritance, with per-keyword checks (ranges, syntax,
//!    unknown keywords with a suggestion, keepalived options tandem does not
//!    support yet);
//! 4. [`validate`]: checks across items (references, duplicate VRIDs, ...).
//!
//! Every problem becomes a [`Diagnostic`]; all of them are collected in one
//! run. The entry point is [`load`] (or [`load_str`] for text in memory):
//!
//! ```no_run
//! use std::path::Path;
//! use tandem::config::{load, LoadOptions};
//!
//! let loaded = load(Path::new("/etc/tandem/keepalived.conf"), &LoadOptions::default());
//! for d in &loaded.diagnostics {
//!     eprintln!("{d}");
//! }
//! if let Some(config) = loaded.config {
//!     for vi in &config.vrrp_instances {
//!         println!("{} on {} VRID {}", vi.name, vi.interface, vi.virtual_router_id);
//!     }
//! }
//! ```
//!
//! Owns: the public face of `config` (its module list and re-exports) and
//! the top-level [`load`] functions that run the four layers and put the
//! diagnostics in file order. May not: be imported by the modules below
//! it (they share nothing through this file), or use any module of the
//! crate outside `config` (the configuration is the bottom layer).

mod build;
pub mod diag;
pub mod keywords;
pub(crate) mod lexer;
pub mod model;
pub(crate) mod parser;
pub mod regex;
pub mod rt_realms;
pub mod strtol;
pub mod validate;

use std::path::Path;

pub use diag::{Diagnostic, Severity};
pub use model::*;

/// How to read a configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The config id that `@ID` / `@^ID` lines are compared with.
    /// `None`: the first label of the host name (keepalived's default).
    pub config_id: Option<String>,
}

impl LoadOptions {
    /// Options with an explicit config id.
    pub fn with_config_id(id: impl Into<String>) -> Self {
        LoadOptions {
            config_id: Some(id.into()),
        }
    }
}

/// The result of reading a configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model, present exactly when there is no error-level diagnostic.
    pub config: Option<Config>,
    /// Every warning and error, in the order of the files.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The error-level diagnostics.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warning-level diagnostics.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

/// Read, parse and check the configuration at `path` (with its includes).
///
/// Never panics on bad input: every problem is a [`Diagnostic`], and
/// [`Loaded::config`] is `None` when any of them is an error.
pub fn load(path: &Path, opts: &LoadOptions) -> Loaded {
    let meta = std::fs::metadata(path);
    let file = match meta {
        Ok(m) if !m.is_file() => Err(std::io::Error::other("not a regular file")),
        Ok(_) => std::fs::File::open(path),
        Err(e) => Err(e),
    };
    match file {
        // Read a line at a time: a large configuration is never held whole.
        Ok(f) => run(
            path,
            lexer::Source::Reader(Box::new(std::io::BufReader::with_capacity(64 * 1024, f))),
            opts,
        ),
        Err(e) => Loaded {
            config: None,
            diagnostics: vec![Diagnostic::error(
                path,
                0,
                0,
                format!("cannot read the configuration: {e}"),
            )],
        },
    }
}

/// Parse and check configuration text as if read from `path` (which names
/// the file in diagnostics and anchors relative includes).
pub fn load_str(path: &Path, text: String, opts: &LoadOptions) -> Loaded {
    run(path, lexer::Source::Text { text, offset: 0 }, opts)
}

fn run(path: &Path, source: lexer::Source, opts: &LoadOptions) -> Loaded {
    let config_id = match &opts.config_id {
        Some(id) => id.clone(),
        None => default_config_id(),
    };
    let lexer = lexer::Lexer::new(path, source, &config_id);
    let (config, mut diagnostics, files) = build::build(parser::Parser::new(lexer));
    // Cross-item checks run even when items had errors, so one run reports
    // every problem.
    diagnostics.extend(validate::validate(&config));
    sort_diagnostics(&mut diagnostics, &files);
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    Loaded {
        config: (!has_errors).then_some(config),
        diagnostics,
    }
}

/// Put diagnostics in the order of the files (in the order they were
/// opened), then of lines and columns, so the operator reads them as the
/// configuration reads. The sort is stable: problems at one position keep
/// the order they were found in.
fn sort_diagnostics(diagnostics: &mut [Diagnostic], files: &[std::sync::Arc<Path>]) {
    diagnostics.sort_by_key(|d| {
        let file = files
            .iter()
            .position(|f| f.as_ref() == d.file.as_path())
            .unwrap_or(usize::MAX);
        (file, d.line, d.col)
    });
}

/// keepalived's default config id: the host name up to its first dot.
pub fn default_config_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    host.trim().split('.').next().unwrap_or("").to_string()
}
