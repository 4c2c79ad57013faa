//! The pieces every part of the model uses: where an item was written
//! ([`Origin`]), the address family, the VRRP version (a global default
//! and an instance setting), and the user and command of a script.
//!
//! Owns: those types. May not: depend on the other model files, or do I/O.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Where in the operator's files an item was written (its keyword).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: Arc<Path>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            file: Arc::from(PathBuf::new().as_path()),
            line: 0,
            col: 0,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// `user USERNAME [GROUPNAME]` of a script (group default: the user's group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
    /// Where the user was named, for "no such user" errors.
    #[serde(skip)]
    pub origin: Origin,
}

/// A notify script: `notify_master "/path/cmd arg" [username [groupname]]`.
///
/// `command` is the command line exactly as written (quotes removed); it is
/// run without a shell, split on unquoted white space like keepalived does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyScript {
    pub command: String,
    /// `None`: the global `script_user` (or keepalived's default).
    pub user: Option<ScriptUser>,
    /// Where the script was configured (its keyword), for errors about it
    /// (`enable_script_security`, an unknown user).
    #[serde(skip)]
    pub origin: Origin,
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VrrpVersion {
    /// RFC 3768 (IPv4 only, `advert_int` in whole seconds 1–255).
    #[default]
    #[serde(rename = "2")]
    V2,
    /// RFC 5798 (IPv4 and IPv6, `advert_int` in centiseconds, 0.01–40.95 s).
    #[serde(rename = "3")]
    V3,
}

impl VrrpVersion {
    /// The version number on the wire.
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

/// An address family, as the kernel names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressFamily {
    #[default]
    Inet,
    Inet6,
}

impl AddressFamily {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressFamily::Inet => "IPv4",
            AddressFamily::Inet6 => "IPv6",
        })
    }
}
