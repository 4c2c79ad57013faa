//! The track files (`track_file`): `init_file` at start, the value each
//! file holds, and one inotify watch on their directories that keeps
//! those values on the [`Bus`] ([`Bus::set_track_value`]) as the files
//! change, with no polling.
//!
//! As keepalived 2.2.7 does it (`track_file.c`): the directory of each
//! file is watched for a file closed after writing or moved in (the file
//! is read again) and for a file deleted or moved away (its value becomes
//! 0); the file's first 127 bytes are read as C's `strtol(.., 0)` reads a
//! number (leading blanks, a sign, `0x` hex, `0` octal, text after the
//! number ignored; no number at all is 0); a number outside
//! −2147483648..2147483648 is logged and ignored (the value stays). A
//! symbolic link is followed once, at start, as keepalived resolves the
//! path with realpath(3).
//!
//! What a value means is not decided here: the units and the LVS task
//! read the values and hand them to `vrrp` and `lvs`. Owns the inotify
//! descriptor and the files' paths; writes only the files `init_file`
//! names.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};
use tokio::io::unix::AsyncFd;

use crate::config::{Config, TrackFile};

use super::bus::Bus;
use super::error::DaemonError;

/// keepalived reads this much of a track file.
const READ_MAX: usize = 127;

/// One watched file.
#[derive(Debug, Clone)]
struct Watched {
    name: String,
    path: PathBuf,
    file_name: OsString,
    wd: WatchDescriptor,
}

/// The track files being watched, ready to run ([`TrackFiles::run`]).
pub struct TrackFiles {
    inotify: Inotify,
    files: Vec<Watched>,
}

/// The names of the track files something tracks: a vrrp_instance, a
/// vrrp_sync_group or a FILE_CHECK.
fn tracked_names(config: &Config) -> BTreeSet<&str> {
    let vrrp = config.vrrp_instances.iter().flat_map(|i| &i.track_file);
    let groups = config.vrrp_sync_groups.iter().flat_map(|g| &g.track_file);
    let checks = config
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .flat_map(|r| &r.file_checks)
        .map(|f| f.track_file.as_str());
    vrrp.chain(groups)
        .map(|e| e.name.as_str())
        .chain(checks)
        .collect()
}

/// `init_file`: at start, write the value (and a newline) to a file that
/// does not exist, or to one that does with `overwrite` (a path that is
/// not a regular file is left alone). Failures are logged, as keepalived
/// logs them; the watch below then reports what the file holds.
fn init_file(tf: &TrackFile) {
    let Some(init) = tf.init_file else { return };
    let path = Path::new(&tf.file);
    match std::fs::metadata(path) {
        Ok(_) if !init.overwrite => return,
        Ok(m) if !m.file_type().is_file() => {
            tracing::error!(track_file = %tf.name, path = %tf.file,
                "cannot initialise track file {}: {} is not a regular file", tf.name, tf.file);
            return;
        }
        _ => {}
    }
    match std::fs::write(path, format!("{}\n", init.value)) {
        Ok(()) => tracing::info!(track_file = %tf.name, path = %tf.file, value = init.value,
            "track file {} initialised to {}", tf.name, init.value),
        Err(e) => tracing::error!(track_file = %tf.name, path = %tf.file, error = %e,
            "unable to initialise track file {}", tf.name),
    }
}

/// The file's path with its directory resolved (the file itself too when
/// it exists, following a symbolic link), as keepalived's realpath(3).
fn resolve(path: &Path) -> Result<PathBuf, String> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Ok(p);
    }
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} names no file", path.display()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::canonicalize(dir) {
        Ok(d) if d.is_dir() => Ok(d.join(name)),
        _ => Err(format!("its directory {} does not exist", dir.display())),
    }
}

/// A number as C's `strtol(text, NULL, 0)` reads it; `None` when it
/// overflows a `long` (keepalived then ignores the read).
pub fn parse_value(text: &[u8]) -> Option<i64> {
    let r = crate::config::strtol::strtol(text);
    (!r.overflow).then_some(r.value)
}

/// What the file holds now: 0 when it cannot be opened or is empty;
/// `None` when its number is out of keepalived's range (ignored).
fn read_value(path: &Path) -> Option<i64> {
    let mut buf = [0u8; READ_MAX];
    // Opened without blocking, as keepalived opens it: a FIFO with no
    // writer must not stall the watcher.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let len = match opened {
        Ok(f) => f.take(READ_MAX as u64).read(&mut buf).unwrap_or(0),
        Err(_) => 0,
    };
    if len == 0 {
        return Some(0);
    }
    let value = parse_value(&buf[..len]);
    match value {
        Some(v) if (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1).contains(&v) => Some(v),
        _ => {
            let text = String::from_utf8_lossy(&buf[..len]);
            tracing::warn!(path = %path.display(), "invalid number {:?} read from {} - ignoring", text.trim(), path.display());
            None
        }
    }
}

impl TrackFiles {
    /// Write `init_file`s, resolve every track file's path, read its value
    /// onto `bus`, and watch its directory. A tracked file whose directory
    /// does not exist stops the start (keepalived would drop the tracker
    /// and run as though the file were not tracked); an untracked one is
    /// only logged. `None` when the configuration has no track file.
    pub fn prepare(config: &Config, bus: &Bus) -> Result<Option<TrackFiles>, DaemonError> {
        if config.track_files.is_empty() {
            return Ok(None);
        }
        let tracked = tracked_names(config);
        let inotify = Inotify::init()
            .map_err(|e| DaemonError::TrackFile(format!("track_file: inotify: {e}")))?;
        let mut files = Vec::new();
        for tf in &config.track_files {
            init_file(tf);
            let path = match resolve(Path::new(&tf.file)) {
                Ok(p) => p,
                Err(why) if tracked.contains(tf.name.as_str()) => {
                    return Err(DaemonError::TrackFile(format!(
                        "{}: track_file {}: cannot watch {}: {why}",
                        tf.origin, tf.name, tf.file
                    )));
                }
                Err(why) => {
                    tracing::warn!(track_file = %tf.name, "track_file {} is tracked by nothing and not watched: {why}", tf.name);
                    continue;
                }
            };
            let (Some(dir), Some(file_name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            let mask = WatchMask::CLOSE_WRITE | WatchMask::DELETE | WatchMask::MOVE;
            let wd = inotify.watches().add(dir, mask).map_err(|e| {
                DaemonError::TrackFile(format!(
                    "{}: track_file {}: cannot watch {}: {e}",
                    tf.origin,
                    tf.name,
                    dir.display()
                ))
            })?;
            let value = read_value(&path).unwrap_or(0);
            tracing::info!(track_file = %tf.name, path = %path.display(), value, "tracking file {}", path.display());
            bus.set_track_value(&tf.name, value);
            files.push(Watched {
                name: tf.name.clone(),
                file_name: file_name.to_os_string(),
                path,
                wd,
            });
        }
        Ok(Some(TrackFiles { inotify, files }))
    }

    /// Follow the files until the daemon stops: each event for a watched
    /// file updates its value on `bus` at once.
    pub async fn run(self, bus: Bus) {
        let files = self.files;
        // SAFETY: the `Inotify` owns its descriptor and the `AsyncFd` owns
        // the `Inotify`, so the descriptor stays open exactly as long as it
        // is registered, and nothing else closes it.
        let registered = unsafe { AsyncFd::register(self.inotify) };
        let mut fd = match registered {
            Ok(fd) => fd,
            Err(e) => {
                tracing::error!(error = %e, "track files: cannot poll inotify; file changes are not followed");
                return;
            }
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let mut guard = match fd.readable_mut().await {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!(error = %e, "track files: inotify failed; file changes are not followed");
                    return;
                }
            };
            let batch = guard.try_io(|inner| {
                let events = inner.get_mut().read_events(&mut buf)?;
                Ok(events
                    .map(|e| (e.wd, e.mask, e.name.map(|n| n.to_os_string())))
                    .collect::<Vec<_>>())
            });
            match batch {
                Ok(Ok(events)) => apply_events(&files, events, &bus),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "track files: inotify read failed; file changes are not followed");
                    return;
                }
                Err(_would_block) => continue,
            }
        }
    }
}

/// One batch of inotify events: re-read, or zero, the files they name.
fn apply_events(
    files: &[Watched],
    events: Vec<(WatchDescriptor, EventMask, Option<OsString>)>,
    bus: &Bus,
) {
    let mut latest: BTreeMap<usize, Option<i64>> = BTreeMap::new();
    for (wd, mask, name) in events {
        if mask.contains(EventMask::Q_OVERFLOW) {
            // Events were lost: read every file again.
            for (i, f) in files.iter().enumerate() {
                latest.insert(i, read_value(&f.path));
            }
            continue;
        }
        if mask.contains(EventMask::ISDIR) {
            continue;
        }
        if mask.contains(EventMask::IGNORED) {
            tracing::warn!("a track file directory was removed; its files are no longer followed");
            continue;
        }
        let Some(name) = name else { continue };
        for (i, f) in files.iter().enumerate() {
            if f.wd != wd || f.file_name != name {
                continue;
            }
            let value = if mask.intersects(EventMask::DELETE | EventMask::MOVED_FROM) {
                Some(0)
            } else {
                read_value(&f.path)
            };
            latest.insert(i, value);
        }
    }
    for (i, value) in latest {
        let (Some(f), Some(value)) = (files.get(i), value) else {
            continue;
        };
        let old = bus.track_values().get(&f.name).copied();
        if old != Some(value) {
            tracing::info!(track_file = %f.name, value, "track file {} now holds {}", f.name, value);
            bus.set_track_value(&f.name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_value;

    #[test]
    fn values_are_read_as_strtol_reads_them() {
        assert_eq!(parse_value(b"42\n"), Some(42));
        assert_eq!(parse_value(b"  -17 trailing"), Some(-17));
        assert_eq!(parse_value(b"+5"), Some(5));
        assert_eq!(parse_value(b"0x1f"), Some(31));
        assert_eq!(parse_value(b"0X1F"), Some(31));
        assert_eq!(parse_value(b"010"), Some(8));
        assert_eq!(parse_value(b"09"), Some(0), "octal stops at 9");
        assert_eq!(parse_value(b"0x"), Some(0));
        assert_eq!(parse_value(b"abc"), Some(0));
        assert_eq!(parse_value(b""), Some(0));
        assert_eq!(parse_value(b"-"), Some(0));
        assert_eq!(parse_value(b"2147483648"), Some(2_147_483_648));
        assert_eq!(parse_value(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(
            parse_value(b"9223372036854775808"),
            None,
            "overflows a long"
        );
        assert_eq!(parse_value(b"99999999999999999999999"), None);
    }
}
