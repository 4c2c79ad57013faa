//! Network-namespace fixtures for tandem's integration tests.
//!
//! Every namespace a test makes is named `tdm-<test>-<pid>-<n>` and removed
//! by a `Drop` guard, also when the test panics, so tests can run
//! concurrently and twice in a row. Nothing here touches the root
//! namespace beyond creating and deleting the namespaces themselves.

#![allow(dead_code)]

pub mod daemon;
pub mod fifo;
pub mod keepalived;
pub mod snmp;
pub mod threads;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Run a command, panicking with its stderr on failure.
pub fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace, deleted (with every process still inside killed)
/// when dropped.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(test: &str) -> Netns {
        Netns::with_prefix(&format!("tdm-{test}"))
    }

    /// A namespace named `<prefix>-<pid>-<n>` (tests that must carry a
    /// name of their own).
    pub fn with_prefix(prefix: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        // A leftover from a crashed earlier run with the same pid: remove it.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A namespace alone on a link of its own: `eth0` with `addr` (CIDR),
    /// a veth whose peer is up beside it so that it has a carrier.
    pub fn with_eth0(test: &str, addr: &str) -> Netns {
        let ns = Netns::new(test);
        ns.ip(&[
            "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
        ]);
        ns.ip(&["addr", "add", addr, "dev", "eth0"]);
        ns.ip(&["link", "set", "eth0p", "up"]);
        ns.ip(&["link", "set", "eth0", "up"]);
        ns.wait_oper_up("eth0");
        ns
    }

    /// [`Netns::with_eth0`], and `eth1` beside it: a second veth with a
    /// carrier, for tracked interfaces and static entries.
    pub fn with_eth0_eth1(test: &str, addr: &str) -> Netns {
        Netns::eth0_eth1(test, addr, false)
    }

    /// [`Netns::with_eth0_eth1`] with duplicate address detection off on
    /// eth1 before it comes up, so IPv6 addresses put there are usable
    /// (not tentative) at once.
    pub fn with_eth0_eth1_no_dad(test: &str, addr: &str) -> Netns {
        Netns::eth0_eth1(test, addr, true)
    }

    fn eth0_eth1(test: &str, addr: &str, no_dad: bool) -> Netns {
        let ns = Netns::with_eth0(test, addr);
        ns.ip(&[
            "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
        ]);
        if no_dad {
            ns.exec(&["sysctl", "-qw", "net.ipv6.conf.eth1.accept_dad=0"]);
        }
        ns.ip(&["link", "set", "eth1p", "up"]);
        ns.ip(&["link", "set", "eth1", "up"]);
        ns.wait_oper_up("eth1");
        ns
    }

    /// `ip -n NAME ARGS...`
    pub fn ip(&self, args: &[&str]) -> Output {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        run(&v)
    }

    /// `ip netns exec NAME ARGS...`, not checked.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"))
    }

    /// Wait (up to 5 s) until `dev` is operationally up: the kernel only
    /// starts transmitting on a link after its link-watch work ran, which
    /// can lag `ip link set up` on a busy machine.
    pub fn wait_oper_up(&self, dev: &str) {
        let up = wait_until(5.0, || {
            let out = self.ip(&["-j", "link", "show", "dev", dev]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            v[0]["operstate"] == "UP"
        });
        assert!(up, "{dev} in {} never came up", self.name);
    }

    /// A `Command` running inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// `ip -j addr show dev DEV` as JSON.
    pub fn addrs_json(&self, dev: &str) -> serde_json::Value {
        let out = self.ip(&["-j", "addr", "show", "dev", dev]);
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// Does `dev` carry `addr` (as `ip addr` prints it)?
    pub fn has_addr(&self, dev: &str, addr: &str) -> bool {
        self.addrs_json(dev)
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|l| l["addr_info"].as_array().into_iter().flatten())
            .any(|a| a["local"].as_str() == Some(addr))
    }

    /// The MAC address of `dev`.
    pub fn mac(&self, dev: &str) -> String {
        let out = self.ip(&["-j", "link", "show", "dev", dev]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v[0]["address"].as_str().unwrap_or_default().to_string()
    }

    /// Run `f` on a thread that has entered this namespace (setns(2) only
    /// moves the calling thread), with a current-thread tokio runtime.
    pub fn run_in<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: a valid namespace fd; only this thread changes namespace.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill whatever still runs inside (a daemon a failing test left behind).
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Two namespaces joined by a veth pair: `a` has `veth0`, `b` has `veth1`,
/// both up, with 192.0.2.1/24 and 192.0.2.2/24 (and 2001:db8::1/64, ::2/64,
/// without duplicate address detection so they are usable at once).
pub struct Pair {
    pub a: Netns,
    pub b: Netns,
}

impl Pair {
    pub fn new(test: &str) -> Pair {
        Pair::with_prefix(&format!("tdm-{test}"))
    }

    /// [`Pair::new`] with namespaces named `<prefix>-<pid>-<n>`.
    pub fn with_prefix(prefix: &str) -> Pair {
        let a = Netns::with_prefix(prefix);
        let b = Netns::with_prefix(prefix);
        // Create the pair inside `a` with a short temporary name, then move one end.
        a.ip(&[
            "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
        ]);
        a.ip(&["link", "set", "veth1", "netns", &b.name]);
        for (ns, dev, v4, v6) in [
            (&a, "veth0", "192.0.2.1/24", "2001:db8::1/64"),
            (&b, "veth1", "192.0.2.2/24", "2001:db8::2/64"),
        ] {
            ns.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{dev}.accept_dad=0"),
            ]);
            ns.ip(&["addr", "add", v4, "dev", dev]);
            ns.ip(&["addr", "add", v6, "dev", dev, "nodad"]);
            ns.ip(&["link", "set", dev, "up"]);
        }
        a.wait_oper_up("veth0");
        b.wait_oper_up("veth1");
        Pair { a, b }
    }
}

/// Poll `f` every 20 ms until it is true or `secs` pass.
pub fn wait_until(secs: f64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A LAN: a bridge in a "switch" namespace and `n` node namespaces, each
/// with an `eth0` plugged into it. Node `i` gets 192.0.2.(i+1)/24 and
/// 2001:db8::(i+1)/64. Taking a node's `eth0` down leaves the others'
/// carrier up, as with a real switch.
pub struct Lan {
    pub nodes: Vec<Netns>,
    pub switch: Netns,
}

impl Lan {
    pub fn new(test: &str, n: usize) -> Lan {
        let switch = Netns::new(test);
        switch.ip(&["link", "add", "br0", "type", "bridge"]);
        // No STP, no forwarding delay: ports forward at once.
        switch.ip(&[
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
            "stp_state",
            "0",
        ]);
        switch.ip(&["link", "set", "br0", "up"]);
        let mut nodes = Vec::new();
        for i in 0..n {
            let node = Netns::new(test);
            let port = format!("p{i}");
            switch.ip(&["link", "add", &port, "type", "veth", "peer", "name", "eth0"]);
            switch.ip(&["link", "set", "eth0", "netns", &node.name]);
            switch.ip(&["link", "set", &port, "master", "br0"]);
            switch.ip(&["link", "set", &port, "up"]);
            node.exec(&["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"]);
            node.ip(&[
                "addr",
                "add",
                &format!("192.0.2.{}/24", i + 1),
                "dev",
                "eth0",
            ]);
            node.ip(&[
                "addr",
                "add",
                &format!("2001:db8::{}/64", i + 1),
                "dev",
                "eth0",
                "nodad",
            ]);
            node.ip(&["link", "set", "eth0", "up"]);
            nodes.push(node);
        }
        for node in &nodes {
            node.wait_oper_up("eth0");
        }
        Lan { nodes, switch }
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Nodes first (their veth ends vanish with them), then the switch.
        self.nodes.clear();
    }
}
