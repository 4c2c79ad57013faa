//! global_defs knobs of the daemon's life, in a running daemon in a
//! namespace of its own: `rs_init_notifies` (the real servers alive at
//! start run `notify_up` and write their `RS ... UP` FIFO line; one that
//! starts down does not; without the knob nothing runs), the
//! `child_wait_time` and `use_pid_dir` notes at start, and `vrrp_startup_delay` (BACKUP
//! during the delay, the VIP only a Master_Down_Interval after it, as
//! keepalived with the same file).

mod netns;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

fn rs_conf(dir: &Path, init: bool) -> String {
    format!(
        "child_wait_time 3
use_pid_dir
global_defs {{
  {init}
  lvs_notify_fifo {d}/lvs.fifo
}}
track_file tf {{
  file {d}/tf
  weight 0
}}
virtual_server 192.0.2.100 80 {{
  protocol TCP
  real_server 192.0.2.5 80 {{
    notify_up \"{d}/up.sh rs5\"
  }}
  real_server 192.0.2.6 80 {{
    notify_up \"{d}/up.sh rs6\"
    FILE_CHECK {{
      track_file tf
    }}
  }}
  real_server 192.0.2.7 80 {{
    notify_up \"{d}/up.sh rs7\"
    FILE_CHECK {{
      track_file tf
    }}
  }}
}}
",
        init = if init { "rs_init_notifies" } else { "" },
        d = dir.display()
    )
}

/// The scratch directory with `up.sh` (appends its argument to `up.log`)
/// and the track file holding 1 (its real servers start down).
fn rs_dir(name: &str) -> Scratch {
    let dir = Scratch::new(name);
    let script = dir.file(
        "up.sh",
        &format!("#!/bin/sh\necho \"$1\" >> {}/up.log\n", dir.0.display()),
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.0.join("tf"), "1\n").unwrap();
    dir
}

/// Everything the FIFO holds now (tandem opens it read-write, so lines
/// written before this reader wait in the pipe).
fn fifo_lines(path: &Path) -> Vec<String> {
    assert!(
        wait_until(10.0, || path.exists()),
        "{} not made",
        path.display()
    );
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text.lines().map(str::to_owned).collect()
}

fn up_log(dir: &Scratch) -> Vec<String> {
    let mut v: Vec<String> = fs::read_to_string(dir.0.join("up.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn rs_init_notifies_reports_the_real_servers_alive_at_start() {
    let ns = Netns::new("s9knobs-rsi");
    let dir = rs_dir("s9knobs-rsi");
    let d = Daemon::start(
        &ns,
        &dir.file("t.conf", &rs_conf(&dir.0, true)),
        dir.0.join("d.log"),
    );
    assert!(
        wait_until(10.0, || up_log(&dir) == ["rs5"]),
        "{:?}\n{}",
        up_log(&dir),
        d.log()
    );
    assert_eq!(
        fifo_lines(&dir.0.join("lvs.fifo")),
        ["RS [192.0.2.5]:tcp:80 [192.0.2.100]:tcp:80 UP"],
        "{}",
        d.log()
    );
    assert!(
        d.log().contains(
            "note: child_wait_time: tandem runs its VRRP and checker sides in one process"
        ),
        "{}",
        d.log()
    );
    assert!(
        d.log()
            .contains("t.conf:2:1: note: use_pid_dir: tandem writes no pid file"),
        "{}",
        d.log()
    );
    // A real server coming up later runs its notify_up as always.
    fs::write(dir.0.join("tf"), "0").unwrap();
    assert!(
        wait_until(10.0, || up_log(&dir) == ["rs5", "rs6", "rs7"]),
        "{:?}\n{}",
        up_log(&dir),
        d.log()
    );
}

#[test]
fn without_rs_init_notifies_a_real_server_alive_at_start_is_silent() {
    let ns = Netns::new("s9knobs-rsn");
    let dir = rs_dir("s9knobs-rsn");
    let d = Daemon::start(
        &ns,
        &dir.file("t.conf", &rs_conf(&dir.0, false)),
        dir.0.join("d.log"),
    );
    assert!(
        wait_until(10.0, || d.log().contains("tandem started")),
        "{}",
        d.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(up_log(&dir).is_empty(), "{:?}", up_log(&dir));
    assert!(fifo_lines(&dir.0.join("lvs.fifo")).is_empty());
    // The same script does run on a real transition (the script is fine).
    fs::write(dir.0.join("tf"), "0").unwrap();
    assert!(
        wait_until(10.0, || up_log(&dir) == ["rs6", "rs7"]),
        "{:?}\n{}",
        up_log(&dir),
        d.log()
    );
}

fn vrrp_conf(delay: &str) -> String {
    format!(
        "global_defs {{
  {delay}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/32
  }}
}}
"
    )
}

/// Seconds from `start` until the VIP is on eth0 (`None`: not in 15 s).
fn vip_after(ns: &Netns, start: Instant) -> Option<f64> {
    wait_until(15.0, || ns.has_addr("eth0", "192.0.2.100")).then(|| start.elapsed().as_secs_f64())
}

/// Alone on its link, an instance of priority 100 takes over after its
/// Master_Down_Interval (3.61 s): with `vrrp_startup_delay 3` only after
/// 3 + 3.61 s, BACKUP meanwhile; keepalived with the same file too.
#[test]
fn vrrp_startup_delay_holds_the_takeover_as_keepalived_does() {
    let dir = Scratch::new("s9knobs-dly");
    let ns = Netns::with_eth0("s9knobs-dly", "192.0.2.1/24");
    let start = Instant::now();
    let d = Daemon::start(
        &ns,
        &dir.file("t.conf", &vrrp_conf("vrrp_startup_delay 3")),
        dir.0.join("d.log"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        d.status()["vrrp_instances"][0]["state"].as_str(),
        Some("BACKUP"),
        "{}",
        d.log()
    );
    let tandem = vip_after(&ns, start);
    assert!(
        tandem.is_some_and(|s| (6.6..8.5).contains(&s)),
        "tandem took the VIP after {tandem:?} s\n{}",
        d.log()
    );
    assert!(
        d.log().contains("Delaying startup for 3 seconds"),
        "{}",
        d.log()
    );
    drop(d);

    // Without the delay: the Master_Down_Interval alone.
    let ns = Netns::with_eth0("s9knobs-dl0", "192.0.2.1/24");
    let start = Instant::now();
    let d = Daemon::start(
        &ns,
        &dir.file("n.conf", &vrrp_conf("")),
        dir.0.join("n.log"),
    );
    let plain = vip_after(&ns, start);
    assert!(
        plain.is_some_and(|s| (3.5..5.5).contains(&s)),
        "tandem without the delay: {plain:?} s\n{}",
        d.log()
    );
    drop(d);

    if !require_keepalived() {
        return;
    }
    let ns = Netns::with_eth0("s9knobs-dlk", "192.0.2.1/24");
    let kdir = Scratch::new("s9knobs-dlk");
    let conf = kdir.file("k.conf", &vrrp_conf("vrrp_startup_delay 3"));
    let start = Instant::now();
    let mut k = Keepalived::start(&ns, &conf, &kdir.0);
    let keepalived = vip_after(&ns, start);
    k.stop();
    assert!(
        keepalived.is_some_and(|s| (6.6..8.5).contains(&s)),
        "keepalived took the VIP after {keepalived:?} s\n{}",
        fs::read_to_string(kdir.0.join("keepalived.log")).unwrap_or_default()
    );
    eprintln!("VIP after: tandem {tandem:?} s, keepalived {keepalived:?} s, no delay {plain:?} s");
}

fn script_conf(dir: &Path, globals: &str) -> String {
    format!(
        "global_defs {{
{globals}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 52
  priority 255
  advert_int 1
  notify_master \"{d}/s.sh master\"
  virtual_ipaddress {{
    192.0.2.101/32
  }}
}}
",
        d = dir.display()
    )
}

/// `s.sh WHAT [SLEEP]`: appends "WHAT <VIPs on eth0>" to `order`, then
/// sleeps.
fn script_dir(name: &str) -> Scratch {
    let dir = Scratch::new(name);
    let s = dir.file(
        "s.sh",
        &format!(
            "#!/bin/sh\necho \"$1 $(ip -4 addr show dev eth0 | grep -c 192.0.2.101)\" >> {}/order\nsleep ${{2:-0}}\n",
            dir.0.display()
        ),
    );
    fs::set_permissions(&s, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn order(dir: &Scratch) -> Vec<String> {
    fs::read_to_string(dir.0.join("order"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The startup script runs to its end before VRRP starts (the owner's
/// VIP comes only after its 2 s), the shutdown script after the VIP is
/// released; a reload runs neither.
#[test]
fn startup_and_shutdown_scripts_run_before_and_after_everything() {
    let dir = script_dir("s9knobs-ss");
    let ns = Netns::with_eth0("s9knobs-ss", "192.0.2.1/24");
    let d = dir.0.display();
    let globals = format!(
        "  startup_script \"{d}/s.sh startup 2\"\n  shutdown_script \"{d}/s.sh shutdown\"\n  shutdown_script_timeout 5\n"
    );
    let start = Instant::now();
    let mut dm = Daemon::start(
        &ns,
        &dir.file("t.conf", &script_conf(&dir.0, &globals)),
        dir.0.join("d.log"),
    );
    let vip = vip_at(&ns, "192.0.2.101");
    assert!(
        vip.is_some_and(|_| start.elapsed() >= Duration::from_secs(2)),
        "VIP after {:?}\n{}",
        start.elapsed(),
        dm.log()
    );
    assert!(
        wait_until(5.0, || order(&dir) == ["startup 0", "master 1"]),
        "{:?}",
        order(&dir)
    );
    dm.signal("-HUP");
    assert!(
        wait_until(10.0, || dm.log().contains("reload")),
        "{}",
        dm.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    dm.signal("-TERM");
    assert_eq!(dm.wait(20.0), Some(0), "{}", dm.log());
    assert_eq!(
        order(&dir),
        ["startup 0", "master 1", "shutdown 0"],
        "{}",
        dm.log()
    );
    assert!(
        dm.log().contains("shutdown script succeeded"),
        "{}",
        dm.log()
    );
}

/// A startup script that hangs is killed at its timeout and the daemon
/// starts anyway, as keepalived.
#[test]
fn a_hanging_startup_script_is_killed_at_its_timeout() {
    let dir = script_dir("s9knobs-st");
    let ns = Netns::with_eth0("s9knobs-st", "192.0.2.1/24");
    let globals = format!(
        "  startup_script \"{}/s.sh startup 30\"\n  startup_script_timeout 1\n",
        dir.0.display()
    );
    let start = Instant::now();
    let dm = Daemon::start(
        &ns,
        &dir.file("t.conf", &script_conf(&dir.0, &globals)),
        dir.0.join("d.log"),
    );
    assert!(vip_at(&ns, "192.0.2.101").is_some(), "{}", dm.log());
    let took = start.elapsed();
    assert!(
        (Duration::from_secs(1)..Duration::from_secs(6)).contains(&took),
        "VIP after {took:?}\n{}",
        dm.log()
    );
    assert!(dm.log().contains("timed out after 1 s"), "{}", dm.log());
}

/// Waits up to 15 s for `addr` on eth0.
fn vip_at(ns: &Netns, addr: &str) -> Option<()> {
    wait_until(15.0, || ns.has_addr("eth0", addr)).then_some(())
}

fn reload_conf(dir: &Path, globals: &str, vips: &[&str]) -> String {
    format!(
        "global_defs {{
  reload_time_file {d}/reload-at
  {globals}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
  virtual_ipaddress {{
    {vips}
  }}
}}
",
        d = dir.display(),
        vips = vips.join("\n    ")
    )
}

/// `t` (seconds since the epoch) broken down, local or UTC.
fn broken_down(t: i64, utc: bool) -> libc::tm {
    let tt = t as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe {
        if utc {
            libc::gmtime_r(&tt, &mut tm);
        } else {
            libc::localtime_r(&tt, &mut tm);
        }
    }
    tm
}

fn hms(tm: &libc::tm) -> String {
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

fn ymd(tm: &libc::tm) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday
    )
}

fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The VIP `vip` appears at the time the file schedules, not before: the
/// configuration, changed meanwhile, was reloaded then.
fn reload_seen_at(ns: &Netns, d: &Daemon, at: i64, vip: &str) {
    let before = (at - epoch_now()) as f64 - 1.5;
    assert!(before > 0.5, "the test was too slow to schedule ahead");
    std::thread::sleep(Duration::from_secs_f64(before));
    assert!(
        !ns.has_addr("eth0", vip),
        "{vip} before its time\n{}",
        d.log()
    );
    assert!(
        wait_until(6.0, || ns.has_addr("eth0", vip)),
        "{vip} never added\n{}",
        d.log()
    );
    let late = epoch_now() - at;
    assert!((0..=3).contains(&late), "{vip} {late} s after its time");
}

/// `reload_time_file` without `reload_repeat`: a time written in the file
/// reloads the daemon then (the file edited since is applied) and the file
/// is deleted; moving the time moves the reload, deleting the file cancels
/// it; a date in the past or a malformed line schedules nothing.
#[test]
fn reload_time_file_reloads_at_the_time_written_there() {
    let dir = Scratch::new("s10knobs-rtf");
    let ns = Netns::with_eth0("s10knobs-rtf", "192.0.2.1/24");
    let conf = dir.file("t.conf", &reload_conf(&dir.0, "", &["192.0.2.100/32"]));
    let d = Daemon::start(&ns, &conf, dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    let file = dir.0.join("reload-at");
    // Written for a minute from now, then deleted: cancelled.
    fs::write(
        &file,
        format!("{}\n", hms(&broken_down(epoch_now() + 60, false))),
    )
    .unwrap();
    assert!(
        wait_until(5.0, || d
            .log()
            .contains("reload_time_file: reload scheduled for")),
        "{}",
        d.log()
    );
    fs::remove_file(&file).unwrap();
    assert!(
        wait_until(5.0, || d
            .log()
            .contains("cancelling the reload scheduled for")),
        "{}",
        d.log()
    );
    fs::write(&file, "2001-01-01 00:00:00\n").unwrap();
    assert!(
        wait_until(5.0, || d
            .log()
            .contains("\"2001-01-01 00:00:00\" is in the past")),
        "{}",
        d.log()
    );
    fs::write(&file, "noon\n").unwrap();
    assert!(
        wait_until(5.0, || d.log().contains("\"noon\" is not HH:MM:SS")),
        "{}",
        d.log()
    );
    // The configuration changes; the file says when to take it.
    dir.file(
        "t.conf",
        &reload_conf(&dir.0, "", &["192.0.2.100/32", "192.0.2.101/32"]),
    );
    fs::write(
        &file,
        format!("{}\n", hms(&broken_down(epoch_now() + 60, false))),
    )
    .unwrap();
    assert!(
        wait_until(5.0, || d
            .log()
            .matches("reload_time_file: reload scheduled for")
            .count()
            == 2),
        "{}",
        d.log()
    );
    let at = epoch_now() + 5;
    fs::write(&file, format!("{}\n", hms(&broken_down(at, false)))).unwrap();
    assert!(
        wait_until(5.0, || d
            .log()
            .contains("reload_time_file: reload moved from")),
        "{}",
        d.log()
    );
    reload_seen_at(&ns, &d, at, "192.0.2.101");
    assert!(
        d.log().contains("the scheduled time has come"),
        "{}",
        d.log()
    );
    assert!(!file.exists(), "the file is deleted after its reload");
    assert_eq!(d.log().matches("reload done").count(), 1, "{}", d.log());
}

/// `reload_repeat`: a file with a date is still deleted after its reload;
/// one with a time only is kept, and the watch started again after the
/// reload schedules the same time tomorrow. A `Z` time is UTC.
#[test]
fn reload_repeat_keeps_a_time_only_file_for_tomorrow() {
    let dir = Scratch::new("s10knobs-rrp");
    let ns = Netns::with_eth0("s10knobs-rrp", "192.0.2.1/24");
    let globals = "reload_repeat";
    let conf = dir.file("t.conf", &reload_conf(&dir.0, globals, &["192.0.2.100/32"]));
    let d = Daemon::start(&ns, &conf, dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    let file = dir.0.join("reload-at");
    dir.file(
        "t.conf",
        &reload_conf(&dir.0, globals, &["192.0.2.100/32", "192.0.2.101/32"]),
    );
    let at = epoch_now() + 5;
    let utc = broken_down(at, true);
    fs::write(&file, format!("{} {}Z\n", ymd(&utc), hms(&utc))).unwrap();
    reload_seen_at(&ns, &d, at, "192.0.2.101");
    assert!(
        !file.exists(),
        "a file with a date is deleted even with reload_repeat"
    );

    dir.file(
        "t.conf",
        &reload_conf(
            &dir.0,
            globals,
            &["192.0.2.100/32", "192.0.2.101/32", "192.0.2.102/32"],
        ),
    );
    let at = epoch_now() + 5;
    let time = hms(&broken_down(at, false));
    fs::write(&file, format!("{time}\n")).unwrap();
    reload_seen_at(&ns, &d, at, "192.0.2.102");
    assert!(file.exists(), "a time-only file is kept with reload_repeat");
    let tomorrow = format!("{} {time}", ymd(&broken_down(at + 86_400, false)));
    assert!(
        wait_until(5.0, || d
            .log()
            .contains(&format!("reload scheduled for {tomorrow}"))),
        "no reload scheduled for {tomorrow}\n{}",
        d.log()
    );
    assert_eq!(d.log().matches("reload done").count(), 2, "{}", d.log());
}

/// The netlink sockets of protocol `proto` that `pid` holds, as
/// `/proc/VIEW/net/netlink` lists those of VIEW's namespace: each one's
/// port id and multicast groups, found by the inodes of `pid`'s fds.
fn netlink_sockets(view: &str, pid: u32, proto: u32) -> Vec<(i32, u32)> {
    let inodes: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().to_string();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let table = fs::read_to_string(format!("/proc/{view}/net/netlink")).unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let c: Vec<&str> = line.split_whitespace().collect();
            let (eth, port, groups, inode) = (c.get(1)?, c.get(2)?, c.get(3)?, c.get(9)?);
            (eth.parse::<u32>().ok()? == proto && inodes.iter().any(|i| i == inode)).then(|| {
                (
                    port.parse::<u32>().unwrap_or(0) as i32,
                    u32::from_str_radix(groups, 16).unwrap_or(0),
                )
            })
        })
        .collect()
}

/// The receive buffer (`rb` of `ss -f netlink -m -n`) of the socket of
/// protocol `proto` bound to `port`, read in `ns` (`None`: this one).
fn rcvbuf(ns: Option<&Netns>, proto: u32, port: i32) -> Option<u64> {
    let args = ["ss", "-f", "netlink", "-m", "-n"];
    let out = match ns {
        Some(ns) => ns.exec(&args),
        None => std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .unwrap(),
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let local = format!("{proto}:{port}");
    text.lines()
        .find(|l| l.split_whitespace().nth(2) == Some(local.as_str()))
        .and_then(|l| l.split(",rb").nth(1)?.split(',').next()?.parse().ok())
}

fn rmem_max() -> u64 {
    fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `vrrp_netlink_monitor_rcv_bufs` (SO_RCVBUF: capped at
/// `net.core.rmem_max`), `vrrp_netlink_cmd_rcv_bufs` with `_force`
/// (SO_RCVBUFFORCE: past it) and `process_monitor_rcv_bufs_force`, read
/// back from the daemon's sockets with `ss -m` (the kernel doubles what
/// it is given); the `lvs_netlink_*` knobs are a note.
#[test]
fn netlink_rcv_bufs_size_the_daemon_s_netlink_sockets() {
    let over = rmem_max() + 1_000_000;
    let dir = Scratch::new("s10knobs-nlb");
    let ns = Netns::with_eth0("s10knobs-nlb", "192.0.2.1/24");
    let conf = format!(
        "global_defs {{
  vrrp_netlink_monitor_rcv_bufs {over}
  vrrp_netlink_cmd_rcv_bufs {over}
  vrrp_netlink_cmd_rcv_bufs_force
  process_monitor_rcv_bufs 300000
  process_monitor_rcv_bufs_force true
  lvs_netlink_cmd_rcv_bufs 400000
  lvs_netlink_monitor_rcv_bufs_force
}}
vrrp_track_process tdm_none {{
  process tdm-s10knobs-none
  weight -10
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 53
  priority 100
  advert_int 1
  track_process {{
    tdm_none
  }}
  virtual_ipaddress {{
    192.0.2.100/32
  }}
}}
"
    );
    let d = Daemon::start(&ns, &dir.file("t.conf", &conf), dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    let pid = d.pid().unwrap();
    let view = pid.to_string();
    let rtnl = netlink_sockets(&view, pid, 0);
    let bufs = |groups: bool| -> Vec<Option<u64>> {
        rtnl.iter()
            .filter(|(_, g)| (*g != 0) == groups)
            .map(|&(port, _)| rcvbuf(Some(&ns), 0, port))
            .collect()
    };
    let (monitors, commands) = (bufs(true), bufs(false));
    assert!(!monitors.is_empty() && !commands.is_empty(), "{rtnl:?}");
    // SO_RCVBUF: at most net.core.rmem_max, doubled.
    assert!(
        monitors.iter().all(|&rb| rb == Some(2 * rmem_max())),
        "{monitors:?}"
    );
    // SO_RCVBUFFORCE: the size asked for, doubled.
    assert!(
        commands.iter().all(|&rb| rb == Some(2 * over)),
        "{commands:?}"
    );
    // The connector is opened in the initial namespace when this one has
    // none (see track_process): look in both.
    let here = netlink_sockets(&view, pid, 11);
    let conn: Vec<Option<u64>> = if here.is_empty() {
        let own = std::process::id().to_string();
        netlink_sockets(&own, pid, 11)
            .iter()
            .map(|&(port, _)| rcvbuf(None, 11, port))
            .collect()
    } else {
        here.iter()
            .map(|&(port, _)| rcvbuf(Some(&ns), 11, port))
            .collect()
    };
    assert_eq!(conn, [Some(600_000)], "{}", d.log());
    for kw in [
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs_force",
    ] {
        assert!(
            d.log().contains(&format!(
                "note: {kw}: tandem's checkers run in its one process"
            )),
            "{}",
            d.log()
        );
    }
}

/// `log_unknown_vrids`: adverts for a VRID no instance runs (injected
/// with `netns-lab/inject.py` on the veth's other end) are logged, as
/// keepalived logs them; without the knob they are only counted (the
/// SIGUSR1 dump shows they arrived).
#[test]
fn log_unknown_vrids_logs_adverts_for_vrids_nobody_runs() {
    let dir = Scratch::new("s10knobs-luv");
    for (knob, logged) in [("log_unknown_vrids", true), ("", false)] {
        let ns = Netns::with_eth0("s10knobs-luv", "192.0.2.1/24");
        let conf = format!(
            "global_defs {{\n  {knob}\n}}\n{}",
            vrrp_conf("").split_once("}\n").unwrap().1
        );
        let name = if logged { "on" } else { "off" };
        let d = Daemon::start(
            &ns,
            &dir.file(&format!("{name}.conf"), &conf),
            dir.0.join(format!("{name}.log")),
        );
        d.wait_started();
        let inject = concat!(env!("CARGO_MANIFEST_DIR"), "/netns-lab/inject.py");
        let out = ns.exec(&[
            inject,
            "--iface",
            "eth0p",
            "--kind",
            "badvrid",
            "--bad-vrid",
            "99",
            "--src",
            "192.0.2.9",
            "--vip",
            "192.0.2.100",
            "--count",
            "3",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        d.signal("-USR1");
        assert!(
            wait_until(5.0, || d.log().contains("\"unknown_vrid\":3")),
            "{}",
            d.log()
        );
        let line = "Unknown VRID(99) received on interface(eth0) from 192.0.2.9; ignored";
        assert_eq!(
            d.log().matches(line).count(),
            if logged { 3 } else { 0 },
            "{}",
            d.log()
        );
    }
}
