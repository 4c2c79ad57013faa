//! Diagnostics: every problem found in a configuration, with its position.
//!
//! Owns: [`Diagnostic`] and [`Severity`], and their `FILE:LINE:COL:` text.
//! May not: decide what is a problem (the layers that find one do).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::Origin;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something the operator should know, not a problem: what tandem does
    /// instead of what the file names (e.g. `vrrp_iptables` chains, since
    /// tandem enforces no_accept with its own nftables table).
    Note,
    /// The configuration is still used (e.g. a deprecated keyword).
    Warning,
    /// The configuration is refused.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem, pointing at the file, line and column the operator wrote
/// (through includes and macro expansion).
///
/// Displayed as `FILE:LINE:COL: error: MESSAGE` (or `warning:`), the form
/// editors and CI logs recognise. `line` and `col` are 1-based; a problem
/// with no position in the file (e.g. the file cannot be read) has line 0
/// and is displayed as `FILE: error: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl Diagnostic {
    /// An error at a position.
    pub fn error(file: &Path, line: u32, col: u32, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
        }
    }

    /// A warning at a position.
    pub fn warning(file: &Path, line: u32, col: u32, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, col, message)
        }
    }

    /// A note at a position.
    pub fn note(file: &Path, line: u32, col: u32, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(file, line, col, message)
        }
    }

    /// A diagnostic at an item's origin.
    pub fn at(severity: Severity, origin: &Origin, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            file: origin.file.to_path_buf(),
            line: origin.line,
            col: origin.col,
            message: message.into(),
        }
    }

    /// Whether this is an error (the configuration is refused).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.severity,
                self.message
            )
        } else {
            write!(
                f,
                "{}:{}:{}: {}: {}",
                self.file.display(),
                self.line,
                self.col,
                self.severity,
                self.message
            )
        }
    }
}
