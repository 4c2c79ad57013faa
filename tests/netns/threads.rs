//! The threads of a process as /proc shows them: name, nice value,
//! real-time priority, policy and allowed CPUs (the scheduling tests).

use std::fs;

/// One thread of the daemon as /proc shows it.
#[derive(Debug, Default)]
pub struct Thread {
    pub comm: String,
    pub nice: i64,
    pub rt_priority: i64,
    pub policy: i64,
    pub cpus: String,
}

/// Every thread of process `pid`, read from /proc.
pub fn threads(pid: u32) -> Vec<Thread> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in dir.flatten() {
        let p = t.path();
        let comm = fs::read_to_string(p.join("comm")).unwrap_or_default();
        let stat = fs::read_to_string(p.join("stat")).unwrap_or_default();
        let status = fs::read_to_string(p.join("status")).unwrap_or_default();
        // Fields after the command's closing parenthesis, from field 3.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |n: usize| f.get(n - 3).and_then(|v| v.parse().ok()).unwrap_or(-99);
        let cpus = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap_or("")
            .trim()
            .to_string();
        out.push(Thread {
            comm: comm.trim().to_string(),
            nice: num(19),
            rt_priority: num(40),
            policy: num(41),
            cpus,
        });
    }
    out
}
