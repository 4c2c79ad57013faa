//! `vrrp_rx_bufs_policy`, `vrrp_rx_bufs_multiplier` and an instance's
//! `kernel_rx_buf_size`: the receive buffer of the VRRP receive socket,
//! read back from the sockets themselves (getsockopt on a copy of the
//! process's fd: `ss` shows no memory for raw sockets) from tandem and from Debian's
//! keepalived 2.2.7 running the same file in a namespace of their own.
//! The socket an interface's instances share gets the sum of their
//! shares (the kernel doubles what SO_RCVBUF is given).

mod netns;

use netns::daemon::{Daemon, Scratch};
use netns::keepalived::{Keepalived, require_keepalived};
use netns::{Netns, wait_until};

/// Two instances on eth0 (one socket), two VIPs each, VRRPv2.
fn conf(globals: &str, vi2_extra: &str) -> String {
    format!(
        "global_defs {{
{globals}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 1
  virtual_ipaddress {{
    192.0.2.100/32
    192.0.2.101/32
  }}
}}
vrrp_instance VI_2 {{
  interface eth0
  virtual_router_id 62
  priority 100
  advert_int 1
{vi2_extra}
  virtual_ipaddress {{
    192.0.2.102/32
    192.0.2.103/32
  }}
}}
"
    )
}

/// SO_RCVBUF of every raw protocol-112 socket the processes in `ns` hold
/// (the receive socket and the send sockets), read from the sockets
/// themselves: each one's inode in `/proc/PID/net/raw` (where a raw
/// socket's "port" is its protocol), then a copy of the process's fd
/// (pidfd_getfd) and getsockopt.
fn vrrp_rcvbufs(ns: &Netns) -> Vec<u64> {
    let pids = std::process::Command::new("ip")
        .args(["netns", "pids", &ns.name])
        .output()
        .unwrap();
    let mut bufs = Vec::new();
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let Ok(raw) = std::fs::read_to_string(format!("/proc/{pid}/net/raw")) else {
            continue;
        };
        let inodes: Vec<String> = raw
            .lines()
            .skip(1)
            .filter_map(|l| {
                let c: Vec<&str> = l.split_whitespace().collect();
                c.get(1)?
                    .ends_with(":0070")
                    .then(|| c.get(9).map(|i| i.to_string()))?
            })
            .collect();
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for e in fds.flatten() {
            let Ok(link) = std::fs::read_link(e.path()) else {
                continue;
            };
            let link = link.to_string_lossy().to_string();
            let inode = link
                .strip_prefix("socket:[")
                .and_then(|l| l.strip_suffix(']'));
            if !inode.is_some_and(|i| inodes.iter().any(|x| x == i)) {
                continue;
            }
            let fd: i32 = e.file_name().to_string_lossy().parse().unwrap();
            bufs.push(rcvbuf_of(pid.parse().unwrap(), fd));
        }
    }
    bufs
}

/// getsockopt(SO_RCVBUF) on a copy of `pid`'s `fd`.
fn rcvbuf_of(pid: i32, fd: i32) -> u64 {
    // SAFETY: plain syscalls on integers; the copies are closed here.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        assert!(
            pidfd >= 0,
            "pidfd_open {pid}: {}",
            std::io::Error::last_os_error()
        );
        let copy = libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) as i32;
        assert!(
            copy >= 0,
            "pidfd_getfd: {}",
            std::io::Error::last_os_error()
        );
        let mut v: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        let rc = libc::getsockopt(
            copy,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        );
        libc::close(copy);
        libc::close(pidfd);
        assert_eq!(rc, 0);
        v as u64
    }
}

/// The kernel's default receive buffer (what a socket has without
/// SO_RCVBUF).
fn rmem_default() -> u64 {
    std::fs::read_to_string("/proc/sys/net/core/rmem_default")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The buffers of tandem's and keepalived's sockets for one file.
fn both(test: &str, text: &str) -> (Vec<u64>, Vec<u64>) {
    let dir = Scratch::new(test);
    let path = dir.file("t.conf", text);
    let ns = Netns::with_eth0(&format!("{test}-t"), "192.0.2.1/24");
    let d = Daemon::start(&ns, &path, dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    let tandem = vrrp_rcvbufs(&ns);
    let kns = Netns::with_eth0(&format!("{test}-k"), "192.0.2.1/24");
    let mut k = Keepalived::start(&kns, &path, &dir.0);
    assert!(
        wait_until(10.0, || kns.has_addr("eth0", "192.0.2.100")),
        "{}",
        k.log()
    );
    let keepalived = vrrp_rcvbufs(&kns);
    k.stop();
    (tandem, keepalived)
}

#[test]
fn advert_policy_and_kernel_rx_buf_size_add_up_on_the_shared_socket() {
    if !require_keepalived() {
        return;
    }
    // VI_1: 4 × (20 IP + 8 VRRP + 2 × 4 addresses + 8 auth) = 176;
    // VI_2: its own 100000. SO_RCVBUF 100176, doubled.
    let text = conf(
        "  vrrp_rx_bufs_policy ADVERT\n  vrrp_rx_bufs_multiplier 4",
        "  kernel_rx_buf_size 100000",
    );
    let (tandem, keepalived) = both("s11knobs-rxa", &text);
    let want = 2 * (100_000 + 4 * 44);
    let default = rmem_default();
    let t: Vec<u64> = tandem.into_iter().filter(|b| *b != default).collect();
    assert_eq!(t, [want]);
    // keepalived's send socket has the smallest buffer there is (it
    // receives nothing); its receive socket is the largest.
    assert_eq!(keepalived.iter().max(), Some(&want), "keepalived's sockets");
}

#[test]
fn mtu_policy_counts_the_interface_mtu_per_instance() {
    if !require_keepalived() {
        return;
    }
    // 2 instances × 3 (the default multiplier) × 1500, doubled.
    let text = conf("  vrrp_rx_bufs_policy MTU", "");
    let (tandem, keepalived) = both("s11knobs-rxm", &text);
    let want = 2 * 2 * 3 * 1500;
    let default = rmem_default();
    let t: Vec<u64> = tandem.into_iter().filter(|b| *b != default).collect();
    assert_eq!(t, [want]);
    // keepalived's send socket has the smallest buffer there is (it
    // receives nothing); its receive socket is the largest.
    assert_eq!(keepalived.iter().max(), Some(&want), "keepalived's sockets");
}

#[test]
fn without_a_policy_the_socket_keeps_the_kernel_default() {
    let dir = Scratch::new("s11knobs-rxn");
    let ns = Netns::with_eth0("s11knobs-rxn", "192.0.2.1/24");
    let d = Daemon::start(&ns, &dir.file("t.conf", &conf("", "")), dir.0.join("d.log"));
    assert!(
        wait_until(10.0, || ns.has_addr("eth0", "192.0.2.100")),
        "{}",
        d.log()
    );
    let bufs = vrrp_rcvbufs(&ns);
    assert!(!bufs.is_empty());
    assert!(bufs.iter().all(|b| *b == rmem_default()), "{bufs:?}");
}
