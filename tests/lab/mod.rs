//! The namespace lab shared by the `tests/lab_*.rs` integration tests.
//!
//! A [`Lab`] is the seed's two-balancer network (see
//! `netns-lab/topology.sh`, which builds it) with a VRRP daemon on each
//! balancer. The daemon per balancer is a parameter ([`Kind`]): tandem, or
//! Debian's keepalived as the reference peer. Running the same scenario with
//! keepalived on both balancers proves the topology and the assertions; with
//! tandem on both it proves tandem; mixed pairs prove interoperability.
//!
//! Everything lives in namespaces named `tdm-<pid>-<tag>-<role>`; nothing
//! touches the root namespace. [`Lab`]'s `Drop` kills the processes it
//! started (by process group) and everything else inside its own namespaces,
//! then deletes them — also when the test panics. A run killed hard leaves
//! namespaces that the next run's `topology.sh sweep` removes (their
//! `<pid>` no longer exists).
//!
//! What "holds a VIP" means here: the address is configured on an interface
//! that is administratively up. A balancer that "died as a machine" has its
//! links down, so a VIP left on its dead interfaces does not count (nor can
//! it answer).
//!
//! The daemon's VRRP state is read from what its `notify` script was told
//! (keepalived's arguments: `INSTANCE NAME STATE PRIORITY`), so the same
//! assertion works for both daemons; the script adds its pid and the time,
//! which put back in order the lines of keepalived's scripts, which run
//! concurrently ([`Lab::notifications`]).

#![allow(dead_code)]

mod notify;
#[allow(unused_imports)]
pub use notify::{NOTIFY_BURST, Notification, in_fork_order};

use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The outer (client-facing) virtual address: the seed's 192.168.1.2.
pub const VIP_OUT: &str = "192.0.2.2";
/// The outer IPv6 virtual address (when [`Vrrp::ipv6`] is set).
pub const VIP6_OUT: &str = "2001:db8:2::2";
/// The VRID of the IPv6 instance.
pub const VRID_OUT6: u8 = 61;
/// The inner virtual address, the real servers' default gateway.
pub const VIP_IN: &str = "198.51.100.1";
/// The client's address on the outer network.
pub const CLIENT: &str = "192.0.2.100";
/// VRIDs of the two instances.
pub const VRID_OUT: u8 = 51;
pub const VRID_IN: u8 = 52;
/// The PASS authentication secret used with VRRPv2.
pub const AUTH_PASS: &str = "tandem1";

/// How long a scenario waits for a state it expects before it fails. These
/// are not speed targets (those live in `benches/failover.sh`); they bound a
/// hung test on a busy machine.
pub const SETTLE: Duration = Duration::from_secs(25);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One of the two balancers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Lb1,
    Lb2,
}

impl Node {
    pub const BOTH: [Node; 2] = [Node::Lb1, Node::Lb2];

    pub fn name(self) -> &'static str {
        match self {
            Node::Lb1 => "lb1",
            Node::Lb2 => "lb2",
        }
    }
    pub fn other(self) -> Node {
        match self {
            Node::Lb1 => Node::Lb2,
            Node::Lb2 => Node::Lb1,
        }
    }
    /// lb1 is the preferred master, as in the seed's redundancy plan.
    pub fn priority(self) -> u8 {
        match self {
            Node::Lb1 => 150,
            Node::Lb2 => 100,
        }
    }
    pub fn outer_addr(self) -> &'static str {
        match self {
            Node::Lb1 => "192.0.2.11",
            Node::Lb2 => "192.0.2.12",
        }
    }
    pub fn inner_addr(self) -> &'static str {
        match self {
            Node::Lb1 => "198.51.100.2",
            Node::Lb2 => "198.51.100.3",
        }
    }
    /// The fixed MAC address `topology.sh` gives the outer interface.
    pub fn outer_mac(self) -> &'static str {
        match self {
            Node::Lb1 => "02:00:00:00:01:01",
            Node::Lb2 => "02:00:00:00:02:01",
        }
    }
    pub fn inner_mac(self) -> &'static str {
        match self {
            Node::Lb1 => "02:00:00:00:01:02",
            Node::Lb2 => "02:00:00:00:02:02",
        }
    }
    /// The switch port (in the switch namespace) of this node's inner cable.
    pub fn inner_port(self) -> &'static str {
        match self {
            Node::Lb1 => "lb1i",
            Node::Lb2 => "lb2i",
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which VRRP daemon runs on a balancer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Keepalived,
    Tandem,
}

impl Kind {
    fn parse(s: &str) -> Kind {
        match s.trim() {
            "keepalived" => Kind::Keepalived,
            "tandem" => Kind::Tandem,
            other => panic!("lab: unknown daemon kind {other:?} (keepalived | tandem)"),
        }
    }

    /// The daemon the scenario tests run on `node`: `TANDEM_LAB_LB1` /
    /// `TANDEM_LAB_LB2`, else `TANDEM_LAB_DAEMON`, else tandem. Running the
    /// scenarios with `TANDEM_LAB_DAEMON=keepalived` checks the lab itself
    /// against the reference implementation.
    pub fn for_node(node: Node) -> Kind {
        let per_node = format!("TANDEM_LAB_{}", node.name().to_uppercase());
        std::env::var(per_node)
            .or_else(|_| std::env::var("TANDEM_LAB_DAEMON"))
            .map(|s| Kind::parse(&s))
            .unwrap_or(Kind::Tandem)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Keepalived => "keepalived",
            Kind::Tandem => "tandem",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The VRRP settings both balancers share, rendered to keepalived.conf
/// (which tandem reads too).
#[derive(Clone, Debug)]
pub struct Vrrp {
    /// 2 (RFC 3768) or 3 (RFC 5798).
    pub version: u8,
    /// `advert_int` as written in the configuration, in seconds ("1", "0.1").
    pub advert_int: &'static str,
    /// Authentication (VRRPv2 only), with `auth_type`'s value.
    pub auth_pass: Option<&'static str>,
    /// `PASS`, or `AH` (keepalived's IPsec AH).
    pub auth_type: &'static str,
    /// `unicast_src_ip` / `unicast_peer` instead of multicast.
    pub unicast: bool,
    pub nopreempt: bool,
    /// Whether the inner (gateway) instance exists at all.
    pub inner: bool,
    /// Outer and inner instance in one `vrrp_sync_group`.
    pub sync_group: bool,
    /// `track_interface { eth1 }` on the outer instance.
    pub track_inner: bool,
    /// A third instance, `VI_OUT6`: VRRPv3 for the outer IPv6 VIP.
    pub ipv6: bool,
    /// Extra lines in every IPv4 instance of lb1 (`[0]`) and lb2 (`[1]`),
    /// e.g. `"dont_track_primary"` or `"unicast_ttl 5"`.
    pub knobs: [&'static str; 2],
    /// Written after the unicast peer's address on lb1 / lb2, e.g.
    /// `"min_ttl 4 max_ttl 5"`.
    pub peer_opts: [&'static str; 2],
    /// Top-level text written after global_defs on lb1 (`[0]`) and lb2
    /// (`[1]`), before the instances (e.g. a `track_file` block, which
    /// keepalived finds only when it comes first).
    pub top: [String; 2],
    /// Lines added to global_defs on lb1 (`[0]`) and lb2 (`[1]`).
    pub global: [String; 2],
}

impl Default for Vrrp {
    fn default() -> Self {
        Vrrp {
            version: 2,
            advert_int: "1",
            auth_pass: Some(AUTH_PASS),
            auth_type: "PASS",
            unicast: false,
            nopreempt: false,
            inner: true,
            sync_group: true,
            track_inner: false,
            ipv6: false,
            knobs: ["", ""],
            peer_opts: ["", ""],
            top: [String::new(), String::new()],
            global: [String::new(), String::new()],
        }
    }
}

impl Vrrp {
    /// VRRPv3 at advert_int 0.1, no authentication (v3 has none).
    pub fn v3_fast() -> Self {
        Vrrp {
            version: 3,
            advert_int: "0.1",
            auth_pass: None,
            ..Vrrp::default()
        }
    }

    pub fn advert_interval(&self) -> Duration {
        Duration::from_secs_f64(self.advert_int.parse().unwrap_or(1.0))
    }

    /// Skew_Time of a router with `priority` (RFC 5798 6.1; RFC 3768 uses
    /// the same formula with a one-second interval).
    pub fn skew(&self, priority: u8) -> Duration {
        let scale = if self.version == 3 {
            self.advert_interval().as_secs_f64()
        } else {
            1.0
        };
        Duration::from_secs_f64(f64::from(256 - u16::from(priority)) * scale / 256.0)
    }

    /// Master_Down_Interval of a router with `priority`.
    pub fn master_down(&self, priority: u8) -> Duration {
        self.advert_interval() * 3 + self.skew(priority)
    }

    /// The configuration of `node`, with `notify` as every instance's
    /// generic notify script.
    ///
    /// One difference between the kinds: with unicast, keepalived accepts
    /// adverts from any source unless told `vrrp_check_unicast_src`;
    /// tandem always drops those not from a `unicast_peer` (and rejects
    /// the keyword as unsupported), so only keepalived's file carries it.
    pub fn render(&self, node: Node, kind: Kind, notify: &Path) -> String {
        let mut c = String::new();
        c.push_str(&format!(
            "! tandem lab: {node} ({kind}), generated by tests/lab/mod.rs\n\
             global_defs {{\n  router_id {node}\n  vrrp_version {}\n",
            self.version
        ));
        if self.unicast && kind == Kind::Keepalived {
            c.push_str("  vrrp_check_unicast_src\n");
        }
        c.push_str(&self.global[usize::from(node == Node::Lb2)]);
        c.push_str("}\n\n");
        c.push_str(&self.top[usize::from(node == Node::Lb2)]);
        if self.inner && self.sync_group {
            // The group reports through the same script: `GROUP G STATE 0`.
            c.push_str(&format!(
                "vrrp_sync_group G {{\n  group {{\n    VI_OUT\n    VI_IN\n  }}\n  notify {}\n}}\n\n",
                notify.display()
            ));
        }
        c.push_str(&self.instance(
            node,
            "VI_OUT",
            "eth0",
            VRID_OUT,
            (node.outer_addr(), node.other().outer_addr()),
            VIP_OUT,
            self.track_inner,
            notify,
        ));
        if self.ipv6 {
            c.push_str(&self.instance6(node, notify));
        }
        if self.inner {
            c.push_str(&self.instance(
                node,
                "VI_IN",
                "eth1",
                VRID_IN,
                (node.inner_addr(), node.other().inner_addr()),
                VIP_IN,
                false,
                notify,
            ));
        }
        c
    }

    /// The IPv6 instance: always VRRPv3 (RFC 5798 is the only VRRP for
    /// IPv6), adverts from the link-local address, no authentication.
    fn instance6(&self, node: Node, notify: &Path) -> String {
        let mut c = format!(
            "vrrp_instance VI_OUT6 {{\n  state BACKUP\n  interface eth0\n  version 3\n  \
             virtual_router_id {VRID_OUT6}\n  priority {}\n  advert_int {}\n",
            node.priority(),
            self.advert_int
        );
        if self.nopreempt {
            c.push_str("  nopreempt\n");
        }
        c.push_str(&format!(
            "  virtual_ipaddress {{\n    {VIP6_OUT}/64 dev eth0\n  }}\n  notify {}\n}}\n\n",
            notify.display()
        ));
        c
    }

    #[allow(clippy::too_many_arguments)]
    fn instance(
        &self,
        node: Node,
        name: &str,
        ifname: &str,
        vrid: u8,
        (src, peer): (&str, &str),
        vip: &str,
        track_inner: bool,
        notify: &Path,
    ) -> String {
        let mut c = format!(
            "vrrp_instance {name} {{\n  state BACKUP\n  interface {ifname}\n  \
             virtual_router_id {vrid}\n  priority {}\n  advert_int {}\n",
            node.priority(),
            self.advert_int
        );
        if self.nopreempt {
            c.push_str("  nopreempt\n");
        }
        if let (2, Some(pass)) = (self.version, self.auth_pass) {
            c.push_str(&format!(
                "  authentication {{\n    auth_type {}\n    auth_pass {pass}\n  }}\n",
                self.auth_type
            ));
        }
        let at = usize::from(node == Node::Lb2);
        if !self.knobs[at].is_empty() {
            c.push_str(&format!("  {}\n", self.knobs[at]));
        }
        if self.unicast {
            c.push_str(&format!(
                "  unicast_src_ip {src}\n  unicast_peer {{\n    {peer} {}\n  }}\n",
                self.peer_opts[at]
            ));
        }
        if track_inner {
            c.push_str("  track_interface {\n    eth1\n  }\n");
        }
        c.push_str(&format!(
            "  virtual_ipaddress {{\n    {vip}/24 dev {ifname}\n  }}\n  notify {}\n}}\n\n",
            notify.display()
        ));
        c
    }
}

/// A daemon process the lab started (its own process group).
struct Daemon {
    child: Child,
}

/// The lab: namespaces, balancers' web servers, daemons.
pub struct Lab {
    pub prefix: String,
    pub dir: PathBuf,
    pub vrrp: Vrrp,
    kinds: [Kind; 2],
    daemons: [Option<Daemon>; 2],
    helpers: Vec<Child>,
    root: PathBuf,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `http://ADDR/`, with brackets around an IPv6 address.
fn url(addr: &str) -> String {
    if addr.contains(':') {
        format!("http://[{addr}]/")
    } else {
        format!("http://{addr}/")
    }
}

/// Runs a command, returning its output; a failure to spawn is a test bug.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("lab: cannot run {cmd:?}: {e}"))
}

/// Runs a command that must succeed.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "lab: {cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Lab {
    /// Builds the topology with `vrrp` rendered for both balancers, the
    /// daemons chosen by the environment (see [`Kind::for_node`]). The
    /// daemons are not started yet.
    pub fn new(tag: &str, vrrp: Vrrp) -> Lab {
        Lab::with_kinds(
            tag,
            vrrp,
            [Kind::for_node(Node::Lb1), Kind::for_node(Node::Lb2)],
        )
    }

    pub fn with_kinds(tag: &str, vrrp: Vrrp, kinds: [Kind; 2]) -> Lab {
        assert!(
            // SAFETY: geteuid has no preconditions.
            unsafe { libc::geteuid() } == 0,
            "the namespace lab needs root (network namespaces, raw sockets): \
             run `sudo tests/run-all.sh` or `sudo cargo test --test lab_...`"
        );
        let root = repo_root();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("tdm-{}-{tag}{n}-", std::process::id());
        let dir = std::env::temp_dir().join(prefix.trim_end_matches('-'));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("lab: create temp dir");
        let topo = root.join("netns-lab/topology.sh");
        // Leftovers of a run that was killed hard.
        let _ = run(Command::new(&topo).arg("sweep"));
        let mut lab = Lab {
            prefix,
            dir,
            vrrp,
            kinds,
            daemons: [None, None],
            helpers: Vec::new(),
            root,
        };
        run_ok(Command::new(&topo).args(["up", &lab.prefix]));
        for node in Node::BOTH {
            lab.start_httpd(node);
        }
        lab
    }

    pub fn kind(&self, node: Node) -> Kind {
        self.kinds[node as usize]
    }

    /// The namespace of a role ("client", "lb1", "switch", ...).
    pub fn ns(&self, role: &str) -> String {
        format!("{}{role}", self.prefix)
    }

    /// A command run inside the namespace of `role`.
    pub fn cmd(&self, role: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(role), program]);
        c
    }

    /// `ip -n <ns> ARGS`.
    pub fn ip(&self, role: &str, args: &[&str]) -> String {
        run_ok(Command::new("ip").arg("-n").arg(self.ns(role)).args(args))
    }

    fn node_dir(&self, node: Node) -> PathBuf {
        self.dir.join(node.name())
    }

    /// Every balancer serves a page naming itself, on every address — so a
    /// request to a VIP says which balancer holds it.
    fn start_httpd(&mut self, node: Node) {
        let www = self.node_dir(node).join("www");
        fs::create_dir_all(&www).expect("lab: www dir");
        fs::write(www.join("index.html"), format!("{node}\n")).expect("lab: index.html");
        let mut c = self.cmd(node.name(), "busybox");
        c.args(["httpd", "-f", "-p", "80", "-h"])
            .arg(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let child = c.spawn().expect("lab: busybox httpd");
        self.helpers.push(child);
    }

    pub fn conf_path(&self, node: Node) -> PathBuf {
        self.node_dir(node).join("keepalived.conf")
    }
    pub fn log_path(&self, node: Node) -> PathBuf {
        self.node_dir(node).join("daemon.log")
    }
    fn notify_log(&self, node: Node) -> PathBuf {
        self.node_dir(node).join("notify.log")
    }

    /// Writes the node's configuration and notify script.
    fn write_config(&self, node: Node) -> PathBuf {
        let nd = self.node_dir(node);
        let notify = nd.join("notify.sh");
        fs::write(
            &notify,
            format!(
                "#!/bin/sh\n# notify TYPE NAME STATE PRIORITY (keepalived's arguments),\n\
                 # then this process's pid and the time (see Lab::notifications)\n\
                 echo \"$1 $2 $3 $4 $$ $(date +%s%N)\" >> {}\n",
                self.notify_log(node).display()
            ),
        )
        .expect("lab: notify.sh");
        fs::set_permissions(&notify, fs::Permissions::from_mode(0o755)).expect("lab: chmod");
        let conf = self.conf_path(node);
        fs::write(&conf, self.vrrp.render(node, self.kind(node), &notify)).expect("lab: config");
        conf
    }

    /// Starts the node's daemon (its configured kind).
    pub fn start(&mut self, node: Node) {
        assert!(
            self.daemons[node as usize].is_none(),
            "lab: {node} already running"
        );
        let conf = self.write_config(node);
        let nd = self.node_dir(node);
        let kind = self.kind(node);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(node))
            .expect("lab: log file");
        let mut c = match kind {
            Kind::Keepalived => {
                // A SIGKILLed keepalived's VRRP child can linger as a zombie
                // whose pid is still in the old pid file; keepalived would
                // then refuse to start ("daemon is already running").
                for f in ["keepalived.pid", "vrrp.pid", "checkers.pid"] {
                    let _ = fs::remove_file(nd.join(f));
                }
                let mut c = self.cmd(node.name(), "keepalived");
                // -n: foreground; -l -D -G: detailed log on stderr, no
                // syslog; -P: VRRP only; pid files private to this lab.
                c.args(["-n", "-l", "-D", "-G", "-P", "-f"])
                    .arg(&conf)
                    .arg("-p")
                    .arg(nd.join("keepalived.pid"))
                    .arg("-r")
                    .arg(nd.join("vrrp.pid"))
                    .arg("-c")
                    .arg(nd.join("checkers.pid"));
                c
            }
            Kind::Tandem => {
                let mut c = self.cmd(node.name(), env!("CARGO_BIN_EXE_tandem"));
                c.args(["run", "-f"]).arg(&conf);
                // The file system is shared: each node its own socket.
                c.arg("--control-socket")
                    .arg(nd.join("tandem.sock"))
                    .arg("--dump-file")
                    .arg(nd.join("tandem.data"));
                if std::env::var_os("RUST_LOG").is_none() {
                    c.env("RUST_LOG", "debug");
                }
                c
            }
        };
        c.stdin(Stdio::null())
            .stdout(log.try_clone().expect("lab: log fd"))
            .stderr(log)
            .process_group(0);
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("lab: cannot start {kind}: {e}"));
        self.daemons[node as usize] = Some(Daemon { child });
    }

    pub fn start_both(&mut self) {
        self.start(Node::Lb1);
        self.start(Node::Lb2);
    }

    /// Whether the node's daemon is still running.
    pub fn alive(&mut self, node: Node) -> bool {
        match &mut self.daemons[node as usize] {
            Some(d) => matches!(d.child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The daemon's pid (its process group id), if started.
    pub fn pid(&self, node: Node) -> Option<i32> {
        self.daemons[node as usize]
            .as_ref()
            .map(|d| d.child.id() as i32)
    }

    fn signal_group(&self, node: Node, sig: i32) {
        if let Some(pid) = self.pid(node) {
            // SAFETY: plain syscall on a process group this lab created.
            unsafe {
                libc::killpg(pid, sig);
            }
        }
    }

    /// The node dies as a machine would: its daemon is killed with SIGKILL
    /// and its links go down (no goodbye advert, VIPs left behind on the
    /// dead interfaces). The kill comes first: a daemon that saw its links
    /// go down first would still say goodbye on the other link.
    pub fn kill_machine(&mut self, node: Node) {
        self.signal_group(node, libc::SIGKILL);
        if let Some(mut d) = self.daemons[node as usize].take() {
            let _ = d.child.wait();
        }
        self.ip(node.name(), &["link", "set", "eth0", "down"]);
        self.ip(node.name(), &["link", "set", "eth1", "down"]);
    }

    /// Only the daemon dies (SIGKILL), the machine lives on: whatever the
    /// daemon had configured — the VIPs — stays, links up.
    pub fn kill_daemon(&mut self, node: Node) {
        self.signal_group(node, libc::SIGKILL);
        if let Some(mut d) = self.daemons[node as usize].take() {
            let _ = d.child.wait();
        }
    }

    /// The dead node boots again: its addresses are the configured ones only
    /// (a reboot forgets the VIPs), its links come up, its daemon starts.
    pub fn revive(&mut self, node: Node) {
        for (dev, vip, len) in [
            ("eth0", VIP_OUT, 24),
            ("eth1", VIP_IN, 24),
            ("eth0", VIP6_OUT, 64),
        ] {
            if self.has_addr(node, dev, vip) {
                self.ip(
                    node.name(),
                    &["addr", "del", &format!("{vip}/{len}"), "dev", dev],
                );
            }
        }
        self.ip(node.name(), &["link", "set", "eth0", "up"]);
        self.ip(node.name(), &["link", "set", "eth1", "up"]);
        self.start(node);
    }

    /// Sends `sig` to the node's daemon (main process only).
    pub fn signal(&self, node: Node, sig: i32) {
        if let Some(pid) = self.pid(node) {
            // SAFETY: plain syscall on a process this lab started.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// Sends SIGTERM to the node's daemon (the main process only, as
    /// systemd's `systemctl stop` would with KillMode=mixed).
    pub fn terminate(&mut self, node: Node) {
        if let Some(pid) = self.pid(node) {
            // SAFETY: plain syscall on a process this lab started.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }

    /// Waits for the node's daemon to exit (after [`Lab::terminate`]);
    /// returns whether it exited successfully.
    pub fn wait_exit(&mut self, node: Node, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(d) = &mut self.daemons[node as usize] else {
                return true;
            };
            if let Ok(Some(status)) = d.child.try_wait() {
                self.daemons[node as usize] = None;
                return status.success();
            }
            if Instant::now() > deadline {
                panic!(
                    "lab: {node}'s daemon did not exit within {timeout:?}\n{}",
                    self.report()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    fn has_addr(&self, node: Node, dev: &str, addr: &str) -> bool {
        let out = self.ip(node.name(), &["-o", "addr", "show", "dev", dev]);
        out.split_whitespace()
            .any(|w| w.split('/').next() == Some(addr))
    }

    /// The balancers holding `vip` on an interface that is up.
    pub fn holders(&self, vip: &str) -> Vec<Node> {
        Node::BOTH
            .into_iter()
            .filter(|n| {
                let out = self.ip(n.name(), &["-o", "addr", "show", "up"]);
                out.split_whitespace()
                    .any(|w| w.split('/').next() == Some(vip))
            })
            .collect()
    }

    /// The last state the node's daemon reported for `instance` through
    /// its notify script ("MASTER", "BACKUP", "FAULT", "STOP").
    pub fn state(&self, node: Node, instance: &str) -> Option<String> {
        self.notifications(node)
            .into_iter()
            .rev()
            .find(|(_, name, _)| name == instance)
            .map(|(_, _, state)| state)
    }

    /// Every notification the node's daemon made: (TYPE, NAME, STATE), in
    /// the order the daemon made them.
    ///
    /// That is not always the order of the lines: keepalived forks a
    /// notify script per transition without waiting for it, so when an
    /// instance goes MASTER and straight back to BACKUP (a peer's advert
    /// arriving just after its own timer fired), the two scripts race and
    /// the later one's line can land first — the file then says MASTER
    /// while keepalived is BACKUP. The scripts were forked in order, so
    /// within a burst of lines (written within [`NOTIFY_BURST`] of each
    /// other) the pid of each script orders them.
    pub fn notifications(&self, node: Node) -> Vec<(String, String, String)> {
        let text = fs::read_to_string(self.notify_log(node)).unwrap_or_default();
        let lines: Vec<Notification> = text.lines().filter_map(Notification::parse).collect();
        in_fork_order(lines)
            .into_iter()
            .map(|n| (n.kind, n.name, n.state))
            .collect()
    }

    /// The daemon's log so far.
    pub fn log(&self, node: Node) -> String {
        fs::read_to_string(self.log_path(node)).unwrap_or_default()
    }

    /// The instances configured on each node.
    pub fn instances(&self) -> Vec<&'static str> {
        let mut v = vec!["VI_OUT"];
        if self.vrrp.inner {
            v.push("VI_IN");
        }
        if self.vrrp.ipv6 {
            v.push("VI_OUT6");
        }
        v
    }

    /// The VIPs configured (outer, inner and IPv6 if present).
    pub fn vips(&self) -> Vec<&'static str> {
        let mut v = vec![VIP_OUT];
        if self.vrrp.inner {
            v.push(VIP_IN);
        }
        if self.vrrp.ipv6 {
            v.push(VIP6_OUT);
        }
        v
    }

    /// An HTTP GET from the client to `addr`: the body (the name of the
    /// balancer that answered), or None.
    pub fn http_from(&self, role: &str, addr: &str) -> Option<String> {
        let out = run(self
            .cmd(role, "curl")
            .args(["-s", "--max-time", "2", &url(addr)]));
        if out.status.success() {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            None
        }
    }

    /// The client's HTTP request to the IPv6 VIP is answered by `node`.
    pub fn assert_answers_v6(&self, node: Node) {
        let answer = self.wait_for(
            &format!("the client's HTTP request to [{VIP6_OUT}] to be answered"),
            Duration::from_secs(10),
            |lab| lab.http_from("client", VIP6_OUT),
        );
        assert_eq!(
            answer,
            node.name(),
            "IPv6: the client was answered by the wrong balancer\n{}",
            self.report()
        );
    }

    /// The MAC address in `role`'s neighbour entry for `addr`, if any.
    pub fn neigh_mac(&self, role: &str, addr: &str) -> Option<String> {
        let out = self.ip(role, &["neigh", "show", addr]);
        let mut words = out.split_whitespace();
        while let Some(w) = words.next() {
            if w == "lladdr" {
                return words.next().map(str::to_owned);
            }
        }
        None
    }

    /// Polls `f` every 50 ms until it returns Some, or panics after
    /// `timeout` with `what` and a snapshot of the lab.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Lab) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "lab: timed out after {timeout:?} waiting for {what}\n{}",
                    self.report()
                );
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Whether `node` holds every VIP alone and reports MASTER for every
    /// instance, and the other node (if its daemon runs) reports BACKUP.
    pub fn is_stable_master(&self, node: Node, other_state: &str) -> bool {
        let vips_ok = self.vips().iter().all(|v| self.holders(v) == vec![node]);
        let states_ok = self.instances().iter().all(|i| {
            self.state(node, i).as_deref() == Some("MASTER")
                && (self.daemons[node.other() as usize].is_none()
                    || self.state(node.other(), i).as_deref() == Some(other_state))
        });
        vips_ok && states_ok
    }

    /// A stable point with `node` master: it alone holds every VIP, its
    /// daemon says MASTER and the other's says BACKUP, the client's HTTP
    /// request to the outer VIP is answered by `node`, and a real server's
    /// request to its gateway VIP too.
    pub fn assert_master(&self, node: Node) {
        self.assert_master_while(node, "BACKUP");
    }

    /// As [`Lab::assert_master`], with the other node (if its daemon runs)
    /// in `other_state` ("BACKUP", "FAULT").
    ///
    /// "Stable" means the condition has held for one advert interval (at
    /// least 0.5 s): right after an election the loser's own Master_Down
    /// timer may still fire (on a loaded machine its adverts can be handled
    /// late), and a brief second master would otherwise be caught mid-way.
    pub fn assert_master_while(&self, node: Node, other_state: &str) {
        let hold = self.vrrp.advert_interval().max(Duration::from_millis(500));
        let mut since: Option<Instant> = None;
        self.wait_for(
            &format!("{node} to be the only master, the other {other_state}, for {hold:?}"),
            SETTLE,
            |lab| {
                if lab.is_stable_master(node, other_state) {
                    let t = *since.get_or_insert_with(Instant::now);
                    (t.elapsed() >= hold).then_some(())
                } else {
                    since = None;
                    None
                }
            },
        );
        self.assert_answers(node);
    }

    /// The client (and a real server, through the gateway VIP) get their
    /// answer from `node`.
    pub fn assert_answers(&self, node: Node) {
        let answer = self.wait_for(
            &format!("the client's HTTP request to {VIP_OUT} to be answered"),
            Duration::from_secs(10),
            |lab| lab.http_from("client", VIP_OUT),
        );
        assert_eq!(
            answer,
            node.name(),
            "the client was answered by the wrong balancer\n{}",
            self.report()
        );
        if self.vrrp.inner {
            let answer = self.wait_for(
                &format!("rs1's HTTP request to its gateway {VIP_IN} to be answered"),
                Duration::from_secs(10),
                |lab| lab.http_from("rs1", VIP_IN),
            );
            assert_eq!(
                answer,
                node.name(),
                "rs1's gateway is the wrong balancer\n{}",
                self.report()
            );
        }
    }

    /// Blocks VRRP (IP protocol 112) arriving at `node`, as a broken
    /// link or a bad firewall rule would.
    pub fn block_vrrp(&self, node: Node) {
        let rules = "table inet tdm_lab {\n  chain input {\n    \
                     type filter hook input priority 0; policy accept;\n    \
                     ip protocol 112 drop\n  }\n}\n";
        let path = self.dir.join("block-vrrp.nft");
        fs::write(&path, rules).expect("lab: nft file");
        run_ok(self.cmd(node.name(), "nft").arg("-f").arg(&path));
    }

    pub fn unblock_vrrp(&self, node: Node) {
        run_ok(
            self.cmd(node.name(), "nft")
                .args(["delete", "table", "inet", "tdm_lab"]),
        );
    }

    /// Pulls (or plugs back) the cable of `node`'s inner interface at the
    /// switch: the node's eth1 loses its carrier, as when a cable or a
    /// switch port fails.
    pub fn inner_cable(&self, node: Node, plugged: bool) {
        let state = if plugged { "up" } else { "down" };
        self.ip("switch", &["link", "set", node.inner_port(), state]);
    }

    /// Starts a helper process in `role`'s namespace (killed by Drop).
    pub fn spawn_helper(&mut self, role: &str, program: &str, args: &[&str], out: &Path) -> usize {
        let f = fs::File::create(out).expect("lab: helper output");
        let mut c = self.cmd(role, program);
        c.args(args)
            .stdin(Stdio::null())
            .stdout(f.try_clone().expect("lab: fd"))
            .stderr(f)
            .process_group(0);
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("lab: cannot start {program}: {e}"));
        self.helpers.push(child);
        self.helpers.len() - 1
    }

    /// Stops a helper with SIGTERM (SIGKILL after a second) and reaps it.
    pub fn stop_helper(&mut self, idx: usize) {
        let child = &mut self.helpers[idx];
        let pid = child.id() as i32;
        // SAFETY: plain syscall on a process group this lab created.
        unsafe {
            libc::killpg(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
        let _ = child.wait();
    }

    /// Runs `netns-lab/inject.py ARGS` in `role`'s namespace: crafted
    /// VRRP adverts onto the LAN (see that script for the kinds).
    pub fn inject(&self, role: &str, args: &[&str]) {
        let script = self.root.join("netns-lab/inject.py");
        run_ok(
            self.cmd(role, "/usr/bin/python3")
                .arg(script)
                .args(["--iface", "eth0"])
                .args(args),
        );
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What the lab looks like now, for failure messages.
    pub fn report(&self) -> String {
        let mut r = format!("--- lab {} ({})\n", self.prefix, self.dir.display());
        for vip in self.vips() {
            r.push_str(&format!("holders of {vip}: {:?}\n", self.holders(vip)));
        }
        r.push_str(&format!(
            "client's neighbour entry for {VIP_OUT}: {:?}\n",
            self.neigh_mac("client", VIP_OUT)
        ));
        for node in Node::BOTH {
            r.push_str(&format!(
                "--- {node} ({}) notifications: {:?}\n",
                self.kind(node),
                self.notifications(node)
            ));
            let log = self.log(node);
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            r.push_str(&format!(
                "--- {node} log (last {} lines):\n{}\n",
                tail.len(),
                tail.join("\n")
            ));
        }
        r
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for node in Node::BOTH {
            self.signal_group(node, libc::SIGKILL);
            if let Some(mut d) = self.daemons[node as usize].take() {
                let _ = d.child.wait();
            }
        }
        for h in &mut self.helpers {
            // SAFETY: plain syscall on a process group this lab created.
            unsafe {
                libc::killpg(h.id() as i32, libc::SIGKILL);
            }
            let _ = h.wait();
        }
        let topo = self.root.join("netns-lab/topology.sh");
        let _ = Command::new(topo)
            .args(["down", &self.prefix])
            .stdin(Stdio::null())
            .status();
        if std::thread::panicking() || std::env::var_os("TANDEM_LAB_KEEP").is_some() {
            eprintln!("lab: logs kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
