//! keepalived.conf virtual servers -> the desired IPVS table.

use std::path::Path;

/// Why a configuration could not be turned into a table.
#[derive(Debug, thiserror::Error)]
pub enum FromConfigError {
    #[error(
        "{0}: reading keepalived.conf virtual servers needs the config module (not merged yet)"
    )]
    Unavailable(String),
}

/// Read `path` and build its table; the flag is global_defs `lvs_flush`.
pub fn load(
    path: &Path,
    _config_id: Option<&str>,
) -> Result<(super::types::Table, bool), FromConfigError> {
    Err(FromConfigError::Unavailable(path.display().to_string()))
}
