//! `reload_time_file` and `reload_repeat`: a reload scheduled by the time
//! written in a file, as keepalived 2.2.7 does it (`reload_monitor.c`).
//!
//! The file's first line is exactly `HH:MM:SS`, `YY-MM-DD HH:MM:SS` or
//! `YYYY-MM-DD HH:MM:SS`, each with an optional `Z` (UTC; local time
//! otherwise). A time without a date that has passed today means that time
//! tomorrow; a date and time in the past, or anything else, schedules
//! nothing (logged). The file's directory is watched with inotify: the
//! file written, created or moved in is read again (the reload moves to
//! the new time), deleted or moved away cancels the reload, the directory
//! removed stops the watch until the next reload or restart. When the time
//! comes the file is deleted, unless `reload_repeat` is given and the file
//! holds no date (then the next read schedules the same time tomorrow),
//! and the daemon reloads; the main loop starts the watch again from the
//! reloaded configuration, so a kept file schedules its next reload.
//!
//! Owns the parsing ([`parse_written`], [`schedule`]: sans-IO, the clock
//! and the time zone given), the inotify descriptor and the timer; the
//! reload itself is the main loop's ([`ReloadTimer::fired`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use inotify::{EventMask, Inotify, WatchMask};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::GlobalDefs;

/// keepalived reads at most this much of the file's first line.
const LINE_MAX: usize = 20;

/// A broken-down time, as `struct tm` holds it (month 1..=12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
}

/// What the file says, before the clock is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Year (four digits), month, day; `None`: today.
    pub date: Option<(i64, i64, i64)>,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    /// A trailing `Z`: the time is UTC, not local time.
    pub utc: bool,
}

/// A time zone: local time or UTC, to and from seconds since the epoch.
pub trait Zone {
    /// The broken-down time of `t`.
    fn split(&self, t: i64, utc: bool) -> Civil;
    /// The seconds since the epoch of `c`, its fields normalized as
    /// mktime(3) does (day 32 is the next month's first).
    fn join(&self, c: &Civil, utc: bool) -> Option<i64>;
}

/// Why a written time schedules nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not one of the three forms, or a field out of range.
    Format,
    /// A date and time that does not exist (31 April, 25:00, a time a
    /// daylight-saving change skips).
    Invalid,
    /// A date and time already passed.
    Past,
}

/// A reload the file schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled {
    /// Seconds since the epoch.
    pub at: i64,
    /// The file gave a date: it is deleted after the reload even with
    /// `reload_repeat` (the same date would be in the past).
    pub date_given: bool,
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `HH:MM:SS` at `s`.
fn time_of(s: &[u8]) -> Option<(i64, i64, i64)> {
    if s.len() != 8 || s[2] != b':' || s[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&s[0..2])?, digits(&s[3..5])?, digits(&s[6..8])?);
    (h <= 23 && m <= 59 && sec <= 60).then_some((h, m, sec))
}

/// The file's line, read as keepalived's strptime formats read it: the
/// length decides the form (8, 17 or 19 characters without the `Z`).
pub fn parse_written(line: &str) -> Option<Written> {
    let (body, utc) = match line.strip_suffix('Z') {
        Some(b) => (b.as_bytes(), true),
        None => (line.as_bytes(), false),
    };
    let (date, time) = match body.len() {
        8 => (None, body),
        17 | 19 => {
            let (d, t) = body.split_at(body.len() - 9);
            if t[0] != b' ' {
                return None;
            }
            let n = d.len();
            if d[n - 3] != b'-' || d[n - 6] != b'-' {
                return None;
            }
            let y = digits(&d[..n - 6])?;
            // strptime's %y: 69..99 are 1969..1999, 00..68 are 20xx.
            let year = match n {
                8 if y >= 69 => 1900 + y,
                8 => 2000 + y,
                _ => y,
            };
            let (mo, da) = (digits(&d[n - 5..n - 3])?, digits(&d[n - 2..])?);
            if !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
                return None;
            }
            (Some((year, mo, da)), &t[1..])
        }
        _ => return None,
    };
    let (hour, min, sec) = time_of(time)?;
    Some(Written {
        date,
        hour,
        min,
        sec,
        utc,
    })
}

/// When the line `line` schedules a reload, `now` being the time now.
pub fn schedule(line: &str, now: i64, zone: &dyn Zone) -> Result<Scheduled, Refused> {
    let w = parse_written(line).ok_or(Refused::Format)?;
    let today = zone.split(now, w.utc);
    let (year, month, day) = w.date.unwrap_or((today.year, today.month, today.day));
    let mut c = Civil {
        year,
        month,
        day,
        hour: w.hour,
        min: w.min,
        sec: w.sec,
    };
    let t = zone.join(&c, w.utc).ok_or(Refused::Invalid)?;
    if zone.split(t, w.utc) != c {
        return Err(Refused::Invalid);
    }
    if t > now {
        return Ok(Scheduled {
            at: t,
            date_given: w.date.is_some(),
        });
    }
    if w.date.is_some() {
        return Err(Refused::Past);
    }
    c.day += 1;
    let at = zone.join(&c, w.utc).ok_or(Refused::Invalid)?;
    Ok(Scheduled {
        at,
        date_given: false,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// UTC, computed; local time through the C library (the TZ the daemon
/// runs with), as keepalived's localtime_r/mktime.
pub struct SystemZone;

impl Zone for SystemZone {
    fn split(&self, t: i64, utc: bool) -> Civil {
        if utc {
            let (year, month, day) = civil_from_days(t.div_euclid(86_400));
            let s = t.rem_euclid(86_400);
            return Civil {
                year,
                month,
                day,
                hour: s / 3600,
                min: s / 60 % 60,
                sec: s % 60,
            };
        }
        // SAFETY: localtime_r writes only the `tm` it is given.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let tt = t as libc::time_t;
        unsafe { libc::localtime_r(&tt, &mut tm) };
        Civil {
            year: i64::from(tm.tm_year) + 1900,
            month: i64::from(tm.tm_mon) + 1,
            day: i64::from(tm.tm_mday),
            hour: i64::from(tm.tm_hour),
            min: i64::from(tm.tm_min),
            sec: i64::from(tm.tm_sec),
        }
    }

    fn join(&self, c: &Civil, utc: bool) -> Option<i64> {
        if utc {
            // Months out of 1..=12 do not occur: only the day overflows.
            let days = days_from_civil(c.year, c.month, 1) + c.day - 1;
            return Some(days * 86_400 + c.hour * 3600 + c.min * 60 + c.sec);
        }
        // SAFETY: mktime reads and normalizes only the `tm` it is given.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        tm.tm_year = i32::try_from(c.year - 1900).ok()?;
        tm.tm_mon = i32::try_from(c.month - 1).ok()?;
        tm.tm_mday = i32::try_from(c.day).ok()?;
        tm.tm_hour = i32::try_from(c.hour).ok()?;
        tm.tm_min = i32::try_from(c.min).ok()?;
        tm.tm_sec = i32::try_from(c.sec).ok()?;
        tm.tm_isdst = -1;
        let t = unsafe { libc::mktime(&mut tm) };
        (t != -1).then_some(t as i64)
    }
}

/// `t` as keepalived logs it: local `YYYY-MM-DD HH:MM:SS`.
fn shown(t: i64) -> String {
    let c = SystemZone.split(t, false);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.min, c.sec
    )
}

fn now_epoch() -> (i64, Duration) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (
        d.as_secs() as i64,
        Duration::from_nanos(u64::from(d.subsec_nanos())),
    )
}

/// The watch of a `reload_time_file`, running as a task until its time
/// comes or the main loop stops it.
pub struct ReloadTimer {
    fired: mpsc::Receiver<()>,
    task: JoinHandle<()>,
}

impl ReloadTimer {
    /// Watch the file `global` names, if it names one.
    pub fn start(global: &GlobalDefs) -> Option<ReloadTimer> {
        let path = PathBuf::from(global.reload_time_file.as_ref()?);
        let (tx, fired) = mpsc::channel(1);
        let task = tokio::spawn(watch(path, global.reload_repeat, tx));
        Some(ReloadTimer { fired, task })
    }

    /// When the scheduled time has come (the file already deleted if it
    /// is to be); never, while nothing is scheduled.
    pub async fn fired(&mut self) {
        if self.fired.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    /// Stop watching (a reload or a stop).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// The reload the file holds now; `None` (logged) when it schedules none.
fn read_file(path: &Path) -> Option<Scheduled> {
    let text = std::fs::read(path).ok()?;
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = &first[..first.len().min(LINE_MAX)];
    let line = String::from_utf8_lossy(first);
    let (now, _) = now_epoch();
    match schedule(&line, now, &SystemZone) {
        Ok(s) => Some(s),
        Err(why) => {
            let why = match why {
                Refused::Format => {
                    "is not HH:MM:SS, YY-MM-DD HH:MM:SS or YYYY-MM-DD HH:MM:SS (with an optional Z)"
                }
                Refused::Invalid => "is not a valid date and time",
                Refused::Past => "is in the past",
            };
            tracing::warn!(path = %path.display(), "reload_time_file {}: \"{line}\" {why}; no reload scheduled", path.display());
            None
        }
    }
}

/// A change of the schedule, logged as keepalived logs it.
fn reschedule(old: Option<Scheduled>, new: Option<Scheduled>) -> Option<(Scheduled, Instant)> {
    match (old, new) {
        (Some(o), None) => tracing::info!(
            "reload_time_file: cancelling the reload scheduled for {}",
            shown(o.at)
        ),
        (Some(o), Some(n)) if o.at != n.at => {
            tracing::info!(
                "reload_time_file: reload moved from {} to {}",
                shown(o.at),
                shown(n.at)
            )
        }
        (None, Some(n)) => tracing::info!("reload_time_file: reload scheduled for {}", shown(n.at)),
        _ => {}
    }
    let n = new?;
    let (now, frac) = now_epoch();
    let ahead = Duration::from_secs((n.at - now).max(0) as u64).saturating_sub(frac);
    Some((n, Instant::now() + ahead))
}

/// What an inotify event on the directory means for the file.
enum Seen {
    Reread,
    Gone,
    DirGone,
    Other,
}

fn seen(mask: EventMask, name: Option<&OsString>, file: &OsString) -> Seen {
    if mask.intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED) {
        return Seen::DirGone;
    }
    if name != Some(file) || mask.contains(EventMask::ISDIR) {
        return Seen::Other;
    }
    if mask.intersects(EventMask::DELETE | EventMask::MOVED_FROM) {
        Seen::Gone
    } else {
        Seen::Reread
    }
}

/// The task: read the file, follow its directory, fire at the time.
async fn watch(path: PathBuf, repeat: bool, fired: mpsc::Sender<()>) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("/"),
    };
    let Some(file) = path.file_name().map(|f| f.to_os_string()) else {
        tracing::warn!(
            "reload_time_file {}: not a file name; no reload scheduled",
            path.display()
        );
        return;
    };
    let mask = WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MOVED_TO
        | WatchMask::MOVED_FROM
        | WatchMask::CLOSE_WRITE
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF;
    let inotify = match Inotify::init() {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "reload_time_file: inotify: no reload scheduled");
            return;
        }
    };
    if let Err(e) = inotify.watches().add(&dir, mask) {
        tracing::warn!(error = %e, "reload_time_file: cannot watch the directory {}; no reload is scheduled until the next reload or restart", dir.display());
        return;
    }
    // SAFETY: the `AsyncFd` owns the `Inotify`, which owns its descriptor.
    let mut fd = match unsafe { AsyncFd::register(inotify) } {
        Ok(fd) => fd,
        Err(e) => {
            tracing::error!(error = %e, "reload_time_file: cannot poll inotify; no reload scheduled");
            return;
        }
    };
    let mut current = reschedule(None, read_file(&path));
    let mut buf = vec![0u8; 4096];
    loop {
        let deadline = current.map(|(_, at)| at);
        tokio::select! {
            _ = sleep_until(deadline) => {
                let date_given = current.is_some_and(|(s, _)| s.date_given);
                if !repeat || date_given {
                    let _ = std::fs::remove_file(&path);
                }
                let _ = fired.send(()).await;
                return;
            }
            guard = fd.readable_mut() => {
                let Ok(mut guard) = guard else { return };
                let batch = guard.try_io(|inner| {
                    let events = inner.get_mut().read_events(&mut buf)?;
                    Ok(events.map(|e| (e.mask, e.name.map(|n| n.to_os_string()))).collect::<Vec<_>>())
                });
                let events = match batch {
                    Ok(Ok(ev)) => ev,
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "reload_time_file: inotify read failed; no reload scheduled");
                        return;
                    }
                    Err(_would_block) => continue,
                };
                // One batch, one read: a file created and written is
                // read once, at its last state.
                let mut last = Seen::Other;
                for (mask, name) in events {
                    match seen(mask, name.as_ref(), &file) {
                        Seen::Other => {}
                        Seen::DirGone => {
                            last = Seen::DirGone;
                            break;
                        }
                        s => last = s,
                    }
                }
                let old = current.map(|(s, _)| s);
                match last {
                    Seen::Reread => current = reschedule(old, read_file(&path)),
                    Seen::Gone => current = reschedule(old, None),
                    Seen::DirGone => {
                        reschedule(old, None);
                        tracing::warn!("reload_time_file: the directory {} is gone; no reload is scheduled until the next reload or restart", dir.display());
                        return;
                    }
                    Seen::Other => {}
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTC: SystemZone = SystemZone;

    /// 2026-03-01 12:00:00 UTC.
    const NOON: i64 = 1_772_366_400;

    #[test]
    fn the_three_forms_and_the_z() {
        let w = parse_written("13:05:09").unwrap();
        assert_eq!(
            (w.date, w.hour, w.min, w.sec, w.utc),
            (None, 13, 5, 9, false)
        );
        let w = parse_written("26-03-01 13:05:09Z").unwrap();
        assert_eq!(w.date, Some((2026, 3, 1)));
        assert!(w.utc);
        assert_eq!(
            parse_written("70-01-01 00:00:00").unwrap().date,
            Some((1970, 1, 1))
        );
        let w = parse_written("2026-12-31 23:59:59").unwrap();
        assert_eq!(w.date, Some((2026, 12, 31)));
        for bad in [
            "",
            " 13:05:09",
            "13:05:09 ",
            "1:05:09",
            "13-05-09",
            "24:00:00",
            "13:60:00",
            "2026-13-01 00:00:00",
            "2026-1-01 00:00:00",
            "2026-01-01  00:00:00",
            "13:05:09ZZ",
            "2026-01-01T00:00:00",
        ] {
            assert_eq!(parse_written(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn utc_conversion_round_trips() {
        let c = UTC.split(NOON, true);
        assert_eq!((c.year, c.month, c.day, c.hour), (2026, 3, 1, 12));
        assert_eq!(UTC.join(&c, true), Some(NOON));
        assert_eq!(UTC.split(0, true).year, 1970);
    }

    #[test]
    fn a_later_time_is_today_a_passed_one_tomorrow() {
        let s = schedule("12:00:05Z", NOON, &UTC).unwrap();
        assert_eq!(
            s,
            Scheduled {
                at: NOON + 5,
                date_given: false
            }
        );
        let s = schedule("11:59:59Z", NOON, &UTC).unwrap();
        assert_eq!(s.at, NOON - 1 + 86_400);
        // The very second is not later: tomorrow.
        assert_eq!(schedule("12:00:00Z", NOON, &UTC).unwrap().at, NOON + 86_400);
    }

    #[test]
    fn a_date_is_kept_or_refused_when_past() {
        let s = schedule("2026-03-02 00:00:00Z", NOON, &UTC).unwrap();
        assert_eq!(
            s,
            Scheduled {
                at: NOON + 12 * 3600,
                date_given: true
            }
        );
        assert_eq!(
            schedule("26-03-02 00:00:00Z", NOON, &UTC).unwrap().at,
            NOON + 12 * 3600
        );
        assert_eq!(
            schedule("2026-03-01 11:00:00Z", NOON, &UTC),
            Err(Refused::Past)
        );
        assert_eq!(
            schedule("2026-02-30 11:00:00Z", NOON, &UTC),
            Err(Refused::Invalid)
        );
        assert_eq!(
            schedule("2026-04-31 11:00:00Z", NOON, &UTC),
            Err(Refused::Invalid)
        );
        assert_eq!(schedule("12:00:60Z", NOON, &UTC), Err(Refused::Invalid));
        assert_eq!(schedule("noon", NOON, &UTC), Err(Refused::Format));
    }

    #[test]
    fn tomorrow_crosses_months_and_years() {
        // 2026-12-31 23:00:00 UTC: 22:00 is tomorrow, 2027-01-01.
        let eve = UTC
            .join(
                &Civil {
                    year: 2026,
                    month: 12,
                    day: 31,
                    hour: 23,
                    min: 0,
                    sec: 0,
                },
                true,
            )
            .unwrap();
        let s = schedule("22:00:00Z", eve, &UTC).unwrap();
        let c = UTC.split(s.at, true);
        assert_eq!((c.year, c.month, c.day, c.hour), (2027, 1, 1, 22));
    }

    #[test]
    fn local_time_follows_the_c_library() {
        // Whatever TZ the test runs in: a local time later today is today.
        let (now, _) = now_epoch();
        let later = SystemZone.split(now + 2, false);
        if later.day == SystemZone.split(now, false).day {
            let line = format!("{:02}:{:02}:{:02}", later.hour, later.min, later.sec);
            assert_eq!(schedule(&line, now, &SystemZone).unwrap().at, now + 2);
        }
    }
}
