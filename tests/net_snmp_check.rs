//! `enable_snmp_checker` through a real master agent: Debian's snmpd in a
//! namespace (`s10snmpc-*`), tandem its AgentX subagent, read with
//! `snmpwalk` and heard with `snmptrapd`. Runs on this machine: its kernel
//! has no IPVS, so the daemon programs nothing, but the checks run and the
//! status model (what the MIB is built from) follows them; the IPVS side is
//! `tests/snmp_check_vm.sh`.
//!
//! Three virtual servers: an address one (wrr, quorum 2, a sorry server,
//! `snmp_name` on it and on a real server) whose two real servers are
//! TCP_CHECKs of listeners the test starts and kills; a fwmark one; a
//! `virtual_server group` one. Every row of virtualServerTable and
//! realServerTable equals what `tandem status --json` says (type, address,
//! port, protocol, scheduler, method, quorum and its state, real servers
//! total and up; each real server's type, address, port, state, weight,
//! failing checkers, names), before and after a real server dies;
//! realServerStateChange (down, then up) and virtualServerQuorumStateChange
//! (lost, then met) reach snmptrapd with keepalived's varbinds, after the
//! quorum trap per virtual server keepalived's checker sends as it starts.

mod netns;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use netns::daemon::{Daemon, Scratch};
use netns::snmp::{Proc, require_snmp, start_snmpd, start_snmptrapd, walk_under};
use netns::{Netns, wait_until};

const CHECK: &str = ".1.3.6.1.4.1.9586.100.5.3";
const TRAP_OID: &str = ".1.3.6.1.6.3.1.1.4.1.0 = OID: ";

fn conf(sock: &Path) -> String {
    let tcp = |port: u16| {
        format!(
            "    TCP_CHECK {{
      connect_ip 127.0.0.1
      connect_port {port}
      retry 0
      delay_loop 0.5
      connect_timeout 0.5
      warmup 0
    }}
"
        )
    };
    format!(
        "global_defs {{
  router_id lb-chk
  enable_snmp_checker
  enable_traps
  snmp_socket {}
}}
virtual_server_group G1 {{
  192.0.2.101 80
}}
virtual_server 192.0.2.100 80 {{
  protocol TCP
  lvs_sched wrr
  lvs_method NAT
  quorum 2
  sorry_server 192.0.2.50 80
  snmp_name web
  real_server 192.0.2.2 80 {{
    weight 1
    inhibit_on_failure
    snmp_name rs-a
{}  }}
  real_server 192.0.2.3 8080 {{
    weight 1
{}  }}
}}
virtual_server fwmark 7 {{
  lvs_sched rr
  lvs_method DR
  real_server 192.0.2.4 {{
    weight 2
  }}
}}
virtual_server group G1 {{
  protocol UDP
  lvs_sched sh
  real_server 192.0.2.6 80 {{
    weight 3
  }}
}}
",
        sock.display(),
        tcp(8001),
        tcp(8002)
    )
}

/// A TCP listener on 127.0.0.1:`port` in `ns` (the real server a
/// TCP_CHECK sees), until dropped.
fn listener(ns: &Netns, port: u16) -> Proc {
    let code = format!(
        "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('127.0.0.1',{port}))\ns.listen(64)\nwhile True:\n c,_=s.accept()\n c.close()\n"
    );
    let p = Proc::spawn(ns.command("python3").args(["-c", &code]));
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
    let up = wait_until(10.0, || ns.exec(&["bash", "-c", &connect]).status.success());
    assert!(up, "the listener on {port} did not start");
    p
}

/// InetAddress as snmpwalk prints 4 or 16 bytes with a zero among them.
fn hex(ip: IpAddr) -> String {
    let bytes = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let h: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    format!("Hex-STRING: {} ", h.join(" "))
}

fn int(n: i64) -> String {
    format!("INTEGER: {n}")
}

fn gauge(n: i64) -> String {
    format!("Gauge32: {n}")
}

fn text(s: &str) -> String {
    format!("STRING: \"{s}\"")
}

fn truth(b: bool) -> String {
    int(if b { 1 } else { 2 })
}

fn sock(v: &serde_json::Value) -> Option<SocketAddr> {
    v.as_str()?.parse().ok()
}

/// What the walk must hold for the status JSON, OID (without
/// KEEPALIVED-MIB's check prefix) to value.
fn expected(s: &serde_json::Value) -> BTreeMap<String, String> {
    let mut want = BTreeMap::new();
    let servers = s["virtual_servers"].as_array().cloned().unwrap_or_default();
    for (i, vs) in (1..).zip(&servers) {
        let mut put = |c: u32, v: String| want.insert(format!(".3.1.{c}.{i}"), v);
        let kind = if vs["group"].is_string() {
            3
        } else if vs["fwmark"].is_u64() {
            1
        } else {
            2
        };
        put(2, int(kind));
        match kind {
            3 => put(3, text(vs["group"].as_str().unwrap_or("?"))),
            1 => put(4, gauge(vs["fwmark"].as_i64().unwrap_or(-1))),
            _ => {
                let a = sock(&vs["address"]).expect("address");
                put(6, hex(a.ip()));
                put(7, gauge(i64::from(a.port())))
            }
        };
        if kind != 1 {
            let p = ["tcp", "udp", "sctp"]
                .iter()
                .position(|p| vs["protocol"] == *p)
                .map_or(4, |p| p + 1);
            put(8, int(p as i64));
        }
        let sched = match vs["lvs_sched"].as_str() {
            Some("rr") => 1,
            Some("wrr") => 2,
            Some("sh") => 8,
            _ => 0,
        };
        put(9, int(sched));
        let method = ["NAT", "DR", "TUN"]
            .iter()
            .position(|m| vs["lvs_method"] == *m)
            .map_or(0, |p| p + 1);
        put(10, int(method as i64));
        let rss = vs["real_servers"].as_array().cloned().unwrap_or_default();
        let up = rss.iter().filter(|r| r["alive"] == true).count();
        put(20, gauge(rss.len() as i64));
        put(21, gauge(up as i64));
        put(22, gauge(vs["quorum"].as_i64().unwrap_or(-1)));
        put(23, truth(vs["quorum_up"] == true));
        if let Some(n) = vs["snmp_name"].as_str() {
            put(71, text(n));
        }
        let set = &vs["settings"];
        put(16, gauge(set["delay_loop_s"].as_i64().unwrap_or(-1)));
        put(18, truth(set["alpha"] == true));
        put(19, truth(set["omega"] == true));
        put(13, truth(set["persistence_timeout_s"].is_u64()));
        let mut row = 0;
        let mut rs_put =
            |row: u32, c: u32, v: String| want.insert(format!(".4.1.{c}.{i}.{row}"), v);
        if let Some(a) = sock(&vs["sorry_server"]) {
            row += 1;
            rs_put(row, 2, int(2));
            rs_put(row, 4, hex(a.ip()));
            rs_put(row, 5, gauge(i64::from(a.port())));
        }
        let methods = set["rs_lvs_method"].as_array().cloned().unwrap_or_default();
        for (j, rs) in rss.iter().enumerate() {
            row += 1;
            let m = ["NAT", "DR", "TUN"]
                .iter()
                .position(|m| methods.get(j) == Some(&serde_json::json!(m)))
                .map_or(0, |p| p + 1);
            rs_put(row, 40, int(m as i64));
            let a = sock(&rs["address"]).expect("rs address");
            rs_put(row, 2, int(1));
            rs_put(row, 3, int(if a.is_ipv4() { 1 } else { 2 }));
            rs_put(row, 4, hex(a.ip()));
            rs_put(row, 5, gauge(i64::from(a.port())));
            rs_put(row, 6, truth(rs["alive"] == true));
            let w = if rs["alive"] == true && rs["effective_weight"].as_i64() > Some(0) {
                &rs["effective_weight"]
            } else {
                &rs["weight"]
            };
            rs_put(row, 7, int(w.as_i64().unwrap_or(-1)));
            rs_put(row, 10, truth(rs["inhibit_on_failure"] != true));
            rs_put(
                row,
                13,
                gauge(rs["failing_checkers"].as_i64().unwrap_or(-1)),
            );
            if let Some(n) = rs["snmp_name"].as_str() {
                rs_put(row, 55, text(n));
            }
        }
    }
    want
}

/// Every expected object is in the walk with its value; the error names
/// the first that differs.
fn matches(walk: &BTreeMap<String, String>, s: &serde_json::Value) -> Result<usize, String> {
    let want = expected(s);
    for (oid, v) in &want {
        if walk.get(oid) != Some(v) {
            return Err(format!("{oid}: walk {:?}, status {v}", walk.get(oid)));
        }
    }
    Ok(want.len())
}

fn alive(d: &Daemon) -> Vec<bool> {
    let s = d.status();
    s["virtual_servers"][0]["real_servers"]
        .as_array()
        .map(|v| v.iter().map(|r| r["alive"] == true).collect())
        .unwrap_or_default()
}

/// The traps in snmptrapd's log, one line each, with `oid` (checkTraps.N).
fn traps(log: &Path, n: u32) -> Vec<String> {
    let want = format!("{TRAP_OID}{CHECK}.5.0.{n}");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&want))
        .map(str::to_string)
        .collect()
}

fn has(line: &str, col: &str, value: &str) -> bool {
    line.contains(&format!("{CHECK}{col} = {value}"))
}

#[test]
fn the_checker_tables_follow_the_status_and_the_traps_reach_snmptrapd() {
    if !require_snmp() {
        return;
    }
    let ns = Netns::new("s10snmpc");
    let dir = Scratch::new("s10snmpc");
    let sock = dir.0.join("agentx.sock");
    let log = dir.0.join("traps.log");
    let _trapd = start_snmptrapd(&ns, &dir.0, &log);
    let _snmpd = start_snmpd(&ns, &dir.0, &sock);
    let mut a = listener(&ns, 8001);
    let _b = listener(&ns, 8002);
    let d = Daemon::start(&ns, &dir.file("c.conf", &conf(&sock)), dir.0.join("d.log"));
    let walk = || walk_under(&ns, &dir.0, CHECK);

    assert!(
        wait_until(20.0, || alive(&d) == [true, true]),
        "{}",
        d.log()
    );
    let ok = wait_until(10.0, || matches(&walk(), &d.status()).is_ok());
    assert!(ok, "{:?}\n{:#?}", matches(&walk(), &d.status()), walk());
    let w = walk();
    // The numbers themselves, not only their agreement with the status.
    for (oid, v) in [
        (".3.1.2.1", int(2)),
        (".3.1.9.1", int(2)),
        (".3.1.21.1", gauge(2)),
        (".3.1.23.1", int(1)),
        (".3.1.71.1", text("web")),
        (".3.1.2.2", int(1)),
        (".3.1.4.2", gauge(7)),
        (".3.1.10.2", int(2)),
        (".3.1.2.3", int(3)),
        (".3.1.3.3", text("G1")),
        (".3.1.8.3", int(2)),
        (".4.1.2.1.1", int(2)),
        (".4.1.4.1.1", "Hex-STRING: C0 00 02 32 ".to_string()),
        (".4.1.4.1.2", "Hex-STRING: C0 00 02 02 ".to_string()),
        (".4.1.55.1.2", text("rs-a")),
        (".4.1.5.1.3", gauge(8080)),
        (".4.1.7.2.1", int(2)),
        (".4.1.7.3.1", int(3)),
        (".3.1.16.2", gauge(60)),
        (".4.1.40.2.1", int(2)),
        (".4.1.40.1.2", int(1)),
    ] {
        assert_eq!(w.get(oid), Some(&v), "{oid}: {w:#?}");
    }
    // As keepalived's checker starts: one quorum trap per virtual server
    // with quorum (all three here), and no real server trap.
    let met = |l: &String| has(l, ".3.1.23", "INTEGER: 1");
    assert!(
        wait_until(10.0, || traps(&log, 2).len() == 3),
        "{:#?}",
        traps(&log, 2)
    );
    assert!(traps(&log, 2).iter().all(met), "{:#?}", traps(&log, 2));
    assert!(traps(&log, 1).is_empty(), "{:#?}", traps(&log, 1));
    let n = matches(&w, &d.status()).unwrap_or(0);
    eprintln!(
        "{n} checker objects equal to the status ({} walked)",
        w.len()
    );

    // 192.0.2.2's listener dies: it goes down, the quorum (2) is lost.
    a.stop();
    assert!(
        wait_until(15.0, || alive(&d) == [false, true]),
        "{}",
        d.log()
    );
    let ok = wait_until(10.0, || {
        let w = walk();
        w.get(".4.1.6.1.2") == Some(&int(2))
            && w.get(".3.1.23.1") == Some(&int(2))
            && w.get(".4.1.13.1.2") == Some(&gauge(1))
            && matches(&w, &d.status()).is_ok()
    });
    assert!(ok, "{:?}\n{:#?}", matches(&walk(), &d.status()), walk());
    let down = |l: &String| {
        has(l, ".4.1.4", "Hex-STRING: C0 00 02 02 ")
            && has(l, ".4.1.5", "Gauge32: 80")
            && has(l, ".4.1.6", "INTEGER: 2")
            && has(l, ".3.1.2", "INTEGER: 2")
            && has(l, ".3.1.6", "Hex-STRING: C0 00 02 64 ")
            && has(l, ".3.1.8", "INTEGER: 1")
            && has(l, ".3.1.21", "Gauge32: 1")
            && has(l, ".3.1.20", "Gauge32: 2")
            && l.contains(".1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: \"lb-chk\"")
    };
    assert!(
        wait_until(10.0, || traps(&log, 1).iter().any(down)),
        "no realServerStateChange (down):\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let lost = |l: &String| {
        has(l, ".3.1.23", "INTEGER: 2")
            && has(l, ".3.1.22", "Gauge32: 2")
            && has(l, ".3.1.21", "Gauge32: 1")
    };
    assert!(
        wait_until(10.0, || traps(&log, 2).iter().any(lost)),
        "no virtualServerQuorumStateChange (lost):\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // It comes back: up again, the quorum met, both traps say so.
    let _a = listener(&ns, 8001);
    assert!(
        wait_until(15.0, || alive(&d) == [true, true]),
        "{}",
        d.log()
    );
    let up = |l: &String| has(l, ".4.1.6", "INTEGER: 1") && has(l, ".3.1.21", "Gauge32: 2");
    let regained = |t: Vec<String>| {
        t.len() == 5
            && t.last()
                .is_some_and(|l| met(l) && has(l, ".3.1.21", "Gauge32: 2"))
    };
    assert!(
        wait_until(10.0, || traps(&log, 1).iter().any(up)
            && regained(traps(&log, 2))),
        "no up / quorum met traps:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        wait_until(10.0, || matches(&walk(), &d.status()).is_ok()),
        "{:?}",
        matches(&walk(), &d.status())
    );
    // One down and one up per direction: no trap is sent twice.
    assert_eq!(traps(&log, 1).len(), 2, "{:#?}", traps(&log, 1));
    assert_eq!(traps(&log, 2).len(), 5, "{:#?}", traps(&log, 2));
}
