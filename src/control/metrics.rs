//! Prometheus metrics in the text exposition format (version 0.0.4).
//!
//! Rendered from a [`StatusSnapshot`] on each scrape: no registry, no
//! background state, nothing to get out of step with `tandem status`. Metric
//! names follow Prometheus conventions (`_total` for counters, base units);
//! label names follow keepalived.conf (`instance`, `virtual_server`,
//! `real_server`).
//!
//! A pure function of the snapshot: no I/O, no state of its own.

use std::fmt::Write;

use super::model::{StatusSnapshot, VrrpState};

/// The content type Prometheus expects for this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Render every metric of the snapshot, one section after another.
pub fn render(s: &StatusSnapshot) -> String {
    let mut m = Metrics::default();
    daemon(&mut m, s);
    vrrp_instances(&mut m, s);
    vrrp_counters(&mut m, s);
    sync_groups(&mut m, s);
    virtual_servers(&mut m, s);
    real_servers(&mut m, s);
    bfd(&mut m, s);
    mail(&mut m, s);
    m.out
}

/// The BFD sessions: Up or not, packets, and the drops by reason (only
/// with `bfd_instance`s configured).
fn bfd(m: &mut Metrics, s: &StatusSnapshot) {
    let b = &s.bfd;
    if b.sessions.is_empty() {
        return;
    }
    m.family("tandem_bfd_up", "gauge", "1 while the BFD session is Up.");
    for x in &b.sessions {
        m.sample(
            "tandem_bfd_up",
            &[("bfd", &x.name)],
            u64::from(x.state == "Up"),
        );
    }
    for (name, help, get) in [
        (
            "tandem_bfd_packets_received_total",
            "Control packets the session took.",
            (|c: &crate::bfd::SessionCounters| c.rx) as fn(&crate::bfd::SessionCounters) -> u64,
        ),
        (
            "tandem_bfd_packets_sent_total",
            "Control packets sent.",
            |c| c.tx,
        ),
        (
            "tandem_bfd_ttl_dropped_total",
            "Packets dropped by the TTL / hop limit check (RFC 5881 section 5).",
            |c| c.rx_ttl_dropped,
        ),
    ] {
        m.family(name, "counter", help);
        for x in &b.sessions {
            m.sample(name, &[("bfd", &x.name)], get(&x.counters));
        }
    }
    m.family(
        "tandem_bfd_malformed_total",
        "counter",
        "Malformed BFD packets dropped, by RFC 5880 section 6.8.6 check.",
    );
    for (reason, n) in &b.malformed {
        m.sample("tandem_bfd_malformed_total", &[("reason", reason)], *n);
    }
}

/// The daemon itself: version, start time, reloads.
fn daemon(m: &mut Metrics, s: &StatusSnapshot) {
    m.family("tandem_build_info", "gauge", "tandem version (always 1).");
    m.sample(
        "tandem_build_info",
        &[("version", &s.version), ("router_id", &s.router_id)],
        1u64,
    );
    m.family(
        "tandem_start_time_seconds",
        "gauge",
        "When the daemon started, seconds since the epoch.",
    );
    m.sample_f(
        "tandem_start_time_seconds",
        &[],
        s.started_unix_ms as f64 / 1000.0,
    );
    m.family(
        "tandem_config_reloads_total",
        "counter",
        "Reloads applied since start.",
    );
    m.sample("tandem_config_reloads_total", &[], s.config.reloads);
    m.family(
        "tandem_config_reload_failures_total",
        "counter",
        "Reloads refused because the new configuration had errors.",
    );
    m.sample(
        "tandem_config_reload_failures_total",
        &[],
        s.config.reload_failures,
    );
}

/// Each VRRP instance's state and priorities.
fn vrrp_instances(m: &mut Metrics, s: &StatusSnapshot) {
    m.family(
        "tandem_vrrp_state",
        "gauge",
        "1 for the state each VRRP instance is in, 0 for the others.",
    );
    for i in &s.vrrp_instances {
        for st in VrrpState::ALL {
            m.sample(
                "tandem_vrrp_state",
                &[("instance", &i.name), ("state", st.as_str())],
                u64::from(i.state == st),
            );
        }
    }
    m.family(
        "tandem_vrrp_priority",
        "gauge",
        "Configured priority of each VRRP instance.",
    );
    for i in &s.vrrp_instances {
        m.sample("tandem_vrrp_priority", &[("instance", &i.name)], i.priority);
    }
    m.family(
        "tandem_vrrp_effective_priority",
        "gauge",
        "Priority after tracking weights.",
    );
    for i in &s.vrrp_instances {
        m.sample(
            "tandem_vrrp_effective_priority",
            &[("instance", &i.name)],
            i.effective_priority,
        );
    }
    m.family(
        "tandem_vrrp_last_transition_time_seconds",
        "gauge",
        "When the instance last changed state, seconds since the epoch.",
    );
    for i in &s.vrrp_instances {
        if let Some(t) = &i.last_transition {
            m.sample_f(
                "tandem_vrrp_last_transition_time_seconds",
                &[("instance", &i.name)],
                t.at_unix_ms as f64 / 1000.0,
            );
        }
    }
}

/// The per-instance VRRP counters (RFC 6527's, keepalived's names).
fn vrrp_counters(m: &mut Metrics, s: &StatusSnapshot) {
    let counters: [CounterFamily; 8] = [
        (
            "tandem_vrrp_became_master_total",
            "Transitions to MASTER.",
            |c| c.became_master,
        ),
        (
            "tandem_vrrp_released_master_total",
            "Transitions out of MASTER.",
            |c| c.released_master,
        ),
        (
            "tandem_vrrp_adverts_sent_total",
            "VRRP advertisements sent.",
            |c| c.adverts_sent,
        ),
        (
            "tandem_vrrp_adverts_received_total",
            "Valid VRRP advertisements received.",
            |c| c.adverts_received,
        ),
        (
            "tandem_vrrp_priority_zero_sent_total",
            "Priority-0 advertisements sent (master resigning).",
            |c| c.priority_zero_sent,
        ),
        (
            "tandem_vrrp_priority_zero_received_total",
            "Priority-0 advertisements received.",
            |c| c.priority_zero_received,
        ),
        (
            "tandem_vrrp_invalid_packets_total",
            "VRRP packets dropped as malformed or not for us.",
            |c| c.invalid_packets,
        ),
        (
            "tandem_vrrp_gratuitous_arps_sent_total",
            "Gratuitous ARPs and unsolicited NAs sent.",
            |c| c.gratuitous_arps_sent,
        ),
    ];
    for (name, help, get) in counters {
        m.family(name, "counter", help);
        for i in &s.vrrp_instances {
            m.sample(name, &[("instance", &i.name)], get(&i.counters));
        }
    }
    m.family(
        "tandem_vrrp_rx_errors_total",
        "counter",
        "VRRP packets rejected, by reason (address_list_errors: counted, still accepted).",
    );
    for i in &s.vrrp_instances {
        for (reason, n) in i.counters.rx_errors.by_reason() {
            m.sample(
                "tandem_vrrp_rx_errors_total",
                &[("instance", &i.name), ("reason", reason)],
                n,
            );
        }
    }
}

/// Each sync group's state.
fn sync_groups(m: &mut Metrics, s: &StatusSnapshot) {
    m.family(
        "tandem_sync_group_state",
        "gauge",
        "1 for the state each sync group is in, 0 for the others.",
    );
    for g in &s.sync_groups {
        for st in VrrpState::ALL {
            m.sample(
                "tandem_sync_group_state",
                &[("group", &g.name), ("state", st.as_str())],
                u64::from(g.state == st),
            );
        }
    }
}

/// Each virtual server's quorum, sorry server and presence in IPVS.
fn virtual_servers(m: &mut Metrics, s: &StatusSnapshot) {
    m.family(
        "tandem_virtual_server_quorum_up",
        "gauge",
        "1 when the virtual server has quorum.",
    );
    for v in &s.virtual_servers {
        m.sample(
            "tandem_virtual_server_quorum_up",
            &[("virtual_server", &v.name)],
            u64::from(v.quorum_up),
        );
    }
    m.family(
        "tandem_virtual_server_sorry_active",
        "gauge",
        "1 when traffic goes to the sorry server.",
    );
    for v in &s.virtual_servers {
        m.sample(
            "tandem_virtual_server_sorry_active",
            &[("virtual_server", &v.name)],
            u64::from(v.sorry_active),
        );
    }
    m.family(
        "tandem_virtual_server_alive_weight",
        "gauge",
        "Sum of the weights of alive real servers.",
    );
    for v in &s.virtual_servers {
        m.sample_i(
            "tandem_virtual_server_alive_weight",
            &[("virtual_server", &v.name)],
            v.alive_weight,
        );
    }
    m.family(
        "tandem_virtual_server_installed",
        "gauge",
        "1 when this node has the virtual server in its IPVS table.",
    );
    for v in &s.virtual_servers {
        m.sample(
            "tandem_virtual_server_installed",
            &[("virtual_server", &v.name)],
            u64::from(v.installed),
        );
    }
}

/// Each real server's verdict, weight and checks.
fn real_servers(m: &mut Metrics, s: &StatusSnapshot) {
    m.family(
        "tandem_real_server_up",
        "gauge",
        "1 when the real server passes its checks.",
    );
    for v in &s.virtual_servers {
        for r in &v.real_servers {
            let rs = r.address.to_string();
            m.sample(
                "tandem_real_server_up",
                &[("virtual_server", &v.name), ("real_server", &rs)],
                u64::from(r.alive),
            );
        }
    }
    m.family(
        "tandem_real_server_weight",
        "gauge",
        "Weight of the real server in the IPVS table now.",
    );
    for v in &s.virtual_servers {
        for r in &v.real_servers {
            let rs = r.address.to_string();
            m.sample_i(
                "tandem_real_server_weight",
                &[("virtual_server", &v.name), ("real_server", &rs)],
                i64::from(r.effective_weight),
            );
        }
    }
    m.family(
        "tandem_real_server_checks_total",
        "counter",
        "Health checks run, by result.",
    );
    for v in &s.virtual_servers {
        for r in &v.real_servers {
            let rs = r.address.to_string();
            for (result, n) in [("ok", r.checks_ok), ("failed", r.checks_failed)] {
                m.sample(
                    "tandem_real_server_checks_total",
                    &[
                        ("virtual_server", &v.name),
                        ("real_server", &rs),
                        ("result", result),
                    ],
                    n,
                );
            }
        }
    }
}

/// The mail queue.
fn mail(m: &mut Metrics, s: &StatusSnapshot) {
    let mail = &s.mail;
    for (name, kind, help, value) in [
        (
            "tandem_mail_queued",
            "gauge",
            "Alerts waiting for delivery.",
            mail.queued,
        ),
        (
            "tandem_mail_sent_total",
            "counter",
            "Alerts accepted by the SMTP server.",
            mail.sent,
        ),
        (
            "tandem_mail_failed_total",
            "counter",
            "Alerts given up after every retry.",
            mail.failed,
        ),
        (
            "tandem_mail_dropped_total",
            "counter",
            "Alerts dropped because the queue was full.",
            mail.dropped,
        ),
        (
            "tandem_mail_attempt_errors_total",
            "counter",
            "Failed delivery attempts.",
            mail.attempt_errors,
        ),
    ] {
        m.family(name, kind, help);
        m.sample(name, &[], value);
    }
}

/// A per-instance VRRP counter: name, help, and how to read it.
type CounterFamily = (
    &'static str,
    &'static str,
    fn(&super::model::VrrpCounters) -> u64,
);

#[derive(Default)]
struct Metrics {
    out: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn labels(&mut self, labels: &[(&str, &str)]) {
        if labels.is_empty() {
            return;
        }
        self.out.push('{');
        for (n, (k, v)) in labels.iter().enumerate() {
            if n > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
        }
        self.out.push('}');
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<u64>) {
        self.out.push_str(name);
        self.labels(labels);
        let _ = writeln!(self.out, " {}", value.into());
    }

    fn sample_i(&mut self, name: &str, labels: &[(&str, &str)], value: i64) {
        self.out.push_str(name);
        self.labels(labels);
        let _ = writeln!(self.out, " {value}");
    }

    fn sample_f(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        self.labels(labels);
        let _ = writeln!(self.out, " {value:.3}");
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::model::example_snapshot;

    #[test]
    fn exposition_has_state_and_real_server_samples() {
        let text = render(&example_snapshot());
        assert!(text.contains("tandem_vrrp_state{instance=\"VI_OUTER\",state=\"MASTER\"} 1\n"));
        assert!(text.contains("tandem_vrrp_state{instance=\"VI_OUTER\",state=\"BACKUP\"} 0\n"));
        assert!(text.contains(
            "tandem_real_server_up{virtual_server=\"[192.0.2.2]:tcp:80\",real_server=\"198.51.100.11:80\"} 0\n"
        ));
        assert!(text.contains("tandem_mail_sent_total 3\n"));
        assert!(text.contains(
            "tandem_vrrp_rx_errors_total{instance=\"VI_OUTER\",reason=\"checksum_errors\"} 2\n"
        ));
        assert!(text.contains(
            "tandem_vrrp_rx_errors_total{instance=\"VI_OUTER\",reason=\"length_errors\"} 0\n"
        ));
        assert!(text.contains("tandem_vrrp_invalid_packets_total{instance=\"VI_OUTER\"} 3\n"));
        // Every sample line belongs to a declared family.
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap_or("").to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap_or("");
                assert!(declared.contains(name), "undeclared metric {name}");
            }
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
