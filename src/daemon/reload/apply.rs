//! Reloading a running daemon: load and check the file again, decide what
//! its differences need, and apply them to the VRRP units, the LVS side
//! and the mailer, or refuse and leave everything as it was.
//!
//! Runs on the main loop's task (SIGHUP, `tandem reload`) and waits there
//! until the reload is done. Owns no state between reloads: the running
//! configuration is the caller's ([`Held`]), the units are [`Running`]'s,
//! the LVS side is [`LvsService`]'s. It never touches protocol state:
//! units take their new plans through their inboxes.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::control::model::VrrpState;
use crate::control::sd_notify::Notifier;
use crate::control::server::ReloadOutcome;
use crate::daemon::configure::{self, smtp_alert_names};
use crate::daemon::lvs::{LvsService, PreparedLvs};
use crate::daemon::options::{ConfigSource, RunOptions};
use crate::daemon::plan::{Plan, UnitPlan};
use crate::daemon::running::Running;
use crate::daemon::status::StatusHub;
use crate::notify::mail::MailSettings;
use crate::notify::script;

use super::diff::{Diff, Held, diff_held};
use super::policy::{lvs_touched, needs_restart};

/// Load and check the configuration file again, and apply the difference
/// (see [`super`] for what "changed" means): a bad file, or one whose
/// changes need a restart, leaves everything as it is.
pub(crate) async fn reload_config(
    opts: &RunOptions,
    current: &mut Option<Held>,
    running: &mut Running,
    lvs: &mut Option<LvsService>,
    hub: &StatusHub,
    notifier: &Notifier,
) -> ReloadOutcome {
    let _ = notifier.reloading();
    let pinger = feed_watchdog(notifier);
    let outcome = match reload(opts, current, running, lvs, hub).await {
        Ok(outcome) | Err(outcome) => outcome,
    };
    record(hub, &outcome);
    if let Some(p) = pinger {
        p.abort();
    }
    // A reload held two configurations and two LVS builds for a moment;
    // hand what is freed back to the system.
    crate::process::release_free_memory();
    let _ = notifier.ready("configuration reloaded");
    outcome
}

/// Stopping a rebuilt master may take a Master_Down_Interval (bounded by
/// the shutdown timeout): keep systemd's watchdog fed meanwhile.
fn feed_watchdog(notifier: &Notifier) -> Option<tokio::task::JoinHandle<()>> {
    crate::control::sd_notify::watchdog_interval().map(|every| {
        let n = notifier.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let _ = n.watchdog();
            }
        })
    })
}

/// The reload's steps, in order; `Err` is a refusal, and every step that
/// can refuse comes before the first that changes anything.
async fn reload(
    opts: &RunOptions,
    current: &mut Option<Held>,
    running: &mut Running,
    lvs: &mut Option<LvsService>,
    hub: &StatusHub,
) -> Result<ReloadOutcome, ReloadOutcome> {
    let (Some(source), Some(old)) = (&opts.source, current.as_ref()) else {
        return Err(refused(
            vec!["this daemon was not started from a configuration file; nothing to reload".into()],
            Vec::new(),
        ));
    };
    let file = source.file.display().to_string();
    let new = load(source)?;
    let diff = diff_held(old, &new);
    if diff.is_empty() {
        unchanged(&new, hub, running);
        *current = Some(Held::new(new));
        return Ok(applied(Vec::new()));
    }
    let refuse = |errors: Vec<String>| refused(errors, diff.describe());
    let why = needs_restart(&diff, &old.config().global_defs, &new.global_defs);
    if !why.is_empty() {
        return Err(refuse(
            why.into_iter()
                .map(|w| {
                    format!(
                        "{file}: {w} (systemctl restart tandem); the running configuration stays"
                    )
                })
                .collect(),
        ));
    }
    // The LVS side is built before anything changes: a configuration it
    // cannot use (an unknown MISC_CHECK user) refuses the reload.
    let lvs_touched = lvs_touched(old.config(), &new, &diff);
    let prepared = if lvs_touched {
        PreparedLvs::new(&new).map_err(|e| refuse(vec![format!("{file}: {e}")]))?
    } else {
        None
    };
    let (kernel, plan) = match running.resolve(|k| configure::plan(&new, k)) {
        Ok(r) => r,
        Err(e) => {
            running.drop_unused_vmacs();
            return Err(refuse(vec![e.to_string()]));
        }
    };
    let dirty = dirty_units(running, &plan, &diff, old.config(), &new);
    let mut reporting = running.reporting().clone();
    reporting.smtp_alert = smtp_alert_names(&new);
    reporting.no_email_faults = new.global_defs.no_email_faults;
    // New mail keywords: a new delivery task behind the same handle (so
    // the units and the LVS task use it too); settings that do not check
    // out refuse the reload before anything else changes.
    let old_globals = &old.config().global_defs;
    // A host name is resolved again at every reload, as keepalived does.
    let new_mail = MailSettings::from(&new.global_defs);
    let mail_changed = MailSettings::from(old_globals) != new_mail || new_mail.names_a_host();
    if mail_changed && let Some(m) = &running.reporting().mailer {
        m.reconfigure(new_mail.resolved_or_off())
            .map_err(|e| refuse(vec![format!("{file}: e-mail: {e}")]))?;
    }
    let done = match running
        .apply(plan, &kernel, &dirty, reporting, opts.shutdown_timeout)
        .await
    {
        Ok(done) => done,
        Err(e) => {
            if mail_changed && let Some(m) = &running.reporting().mailer {
                let _ = m.reconfigure(MailSettings::from(old_globals).resolved_or_off());
            }
            running.drop_unused_vmacs();
            return Err(refuse(vec![e.to_string()]));
        }
    };
    if mail_changed {
        let router_id =
            crate::notify::mail::router_id_or_host(new.global_defs.router_id.as_deref());
        hub.modify(|s| s.router_id = router_id);
    }
    let (instances, groups) = running.unit_members();
    hub.retain_units(&instances, &groups);
    write_states_on_reload(&new, hub, running, &done.started);
    if lvs_touched {
        replace_lvs(lvs, prepared, running, opts, hub).await;
        crate::daemon::sloppy::apply(&new);
    }
    let mut changes = diff.describe();
    *current = Some(Held::new(new));
    changes.extend(done.lines);
    Ok(applied(changes))
}

/// A reload of an unchanged file: an smtp_server host name is resolved
/// again, as keepalived does each time it reads the file, and the states
/// go to the FIFOs.
fn unchanged(new: &Config, hub: &StatusHub, running: &Running) {
    let mail = MailSettings::from(&new.global_defs);
    if mail.names_a_host()
        && let Some(m) = &running.reporting().mailer
    {
        let _ = m.reconfigure(mail.resolved_or_off());
    }
    write_states_on_reload(new, hub, running, &[]);
}

/// `fifo_write_vrrp_states_on_reload`: after a reload, each sync group's
/// state, then each instance's that is BACKUP or FAULT, in the file's
/// order, to the VRRP FIFOs; an instance that stayed MASTER writes
/// nothing (keepalived 2.2.7's `vrrp_init_state`, seen in the lab). The
/// units the reload `started` (new or rebuilt) wrote their transitions
/// already.
fn write_states_on_reload(config: &Config, hub: &StatusHub, running: &Running, started: &[String]) {
    if !config.global_defs.fifo_write_vrrp_states_on_reload {
        return;
    }
    let snap = hub.current();
    let fifos = &running.reporting().fifos;
    let group_of = |inst: &str| {
        config
            .vrrp_sync_groups
            .iter()
            .find(|g| g.group.iter().any(|m| m == inst))
            .map(|g| g.name.as_str())
    };
    for g in &config.vrrp_sync_groups {
        let Some(gs) = snap.sync_groups.iter().find(|s| s.name == g.name) else {
            continue;
        };
        if started.contains(&g.name) {
            continue;
        }
        if let Some(word) = state_word(gs.state, true) {
            fifos.group(&g.name, word);
        }
    }
    for i in &config.vrrp_instances {
        let unit = group_of(&i.name).unwrap_or(&i.name);
        let Some(is) = snap.vrrp_instances.iter().find(|s| s.name == i.name) else {
            continue;
        };
        if started.iter().any(|s| s == unit) {
            continue;
        }
        if let Some(word) = state_word(is.state, false) {
            fifos.instance(&i.name, word, is.effective_priority);
        }
    }
}

/// The FIFO's word for a state kept over a reload (`None`: no line).
fn state_word(state: VrrpState, group: bool) -> Option<&'static str> {
    match state {
        VrrpState::Master if group => Some("MASTER"),
        VrrpState::Backup => Some("BACKUP"),
        VrrpState::Fault => Some("FAULT"),
        _ => None,
    }
}

/// `dynamic_interfaces`: a link appeared. The running configuration is
/// resolved again on the links as they are now (without those in
/// `ignored`): instances that waited for a link start, and a unit whose
/// link was made again (another index) is rebuilt on it. Nothing else
/// changes. Returns what was done, for the log.
pub(crate) async fn reapply_links(
    opts: &RunOptions,
    current: &Option<Held>,
    running: &mut Running,
    ignored: &BTreeSet<String>,
) -> Vec<String> {
    let Some(held) = current else {
        return Vec::new();
    };
    let config = held.config();
    let (kernel, plan) = match running.resolve(|k| configure::plan(config, &k.without(ignored))) {
        Ok(r) => r,
        Err(e) => {
            running.drop_unused_vmacs();
            return vec![format!("links changed, not applied: {e}")];
        }
    };
    let dirty = dirty_units(running, &plan, &Diff::default(), config, config);
    let reporting = running.reporting().clone();
    match running
        .apply(plan, &kernel, &dirty, reporting, opts.shutdown_timeout)
        .await
    {
        Ok(done) => done.lines,
        Err(e) => {
            running.drop_unused_vmacs();
            vec![format!("links changed, not applied: {e}")]
        }
    }
}

fn applied(changes: Vec<String>) -> ReloadOutcome {
    ReloadOutcome {
        applied: true,
        changes,
        errors: Vec::new(),
    }
}

fn refused(errors: Vec<String>, changes: Vec<String>) -> ReloadOutcome {
    ReloadOutcome {
        applied: false,
        changes,
        errors,
    }
}

/// Load and check the file as a start would: its errors, or those of its
/// script users and `enable_script_security`, refuse the reload.
fn load(source: &ConfigSource) -> Result<Config, ReloadOutcome> {
    let loaded = crate::config::load(&source.file, &source.load);
    for d in loaded.diagnostics.iter().filter(|d| !d.is_error()) {
        match d.severity {
            crate::config::Severity::Note => tracing::info!("{d}"),
            _ => tracing::warn!("{d}"),
        }
    }
    let Some(new) = loaded.config else {
        return Err(refused(
            loaded.errors().map(|d| d.to_string()).collect(),
            Vec::new(),
        ));
    };
    let (script_errors, script_warnings) = script::check_config(&new);
    for w in &script_warnings {
        tracing::warn!("{w}");
    }
    if !script_errors.is_empty() {
        return Err(refused(
            script_errors.iter().map(|e| e.to_string()).collect(),
            Vec::new(),
        ));
    }
    Ok(new)
}

/// The units a reload updates in place, or rebuilds when it must
/// ([`in_place`](crate::daemon::plan::in_place)): those whose group or any
/// member changed, running or planned; and every running unit when
/// `no_email_faults` changed, since it lives in each unit's mail filter.
fn dirty_units(
    running: &Running,
    plan: &Plan,
    diff: &Diff,
    old: &Config,
    new: &Config,
) -> BTreeSet<String> {
    let changed: BTreeSet<String> = diff.items.iter().map(|(_, name, _)| name.clone()).collect();
    let mut dirty = BTreeSet::new();
    for u in running.unit_plans().chain(plan.units.iter()) {
        if changed.contains(u.name()) || u.instances.iter().any(|i| changed.contains(&i.name)) {
            dirty.insert(u.name().to_string());
        }
    }
    if old.global_defs.no_email_faults != new.global_defs.no_email_faults {
        dirty.extend(running.unit_plans().map(|u| u.name().to_string()));
    }
    // The same configuration on other links: a vmac made again (deleted by
    // hand), an interface re-created with another index.
    let links = |u: &UnitPlan| {
        u.instances
            .iter()
            .map(|i| (i.ifindex, i.vmac.as_ref().and_then(|v| v.index)))
            .collect::<Vec<_>>()
    };
    for u in running.unit_plans() {
        if let Some(n) = plan.units.iter().find(|n| n.name() == u.name())
            && links(n) != links(u)
        {
            dirty.insert(u.name().to_string());
        }
    }
    dirty
}

/// Replace the LVS side by the reload's build. The running IPVS programmer
/// is kept when there is one, so the kernel sees only the difference.
async fn replace_lvs(
    lvs: &mut Option<LvsService>,
    prepared: Option<PreparedLvs>,
    running: &Running,
    opts: &RunOptions,
    hub: &StatusHub,
) {
    *lvs = match (lvs.take(), prepared) {
        (Some(l), Some(p)) => Some(l.reload(p, &running.bus).await),
        (Some(l), None) => {
            l.shutdown().await;
            hub.set_virtual_servers(Vec::new());
            None
        }
        (None, Some(p)) => Some(p.start(
            &running.bus,
            opts.script_timeout,
            Some(hub.clone()),
            (
                running.reporting().mailer.clone(),
                running.reporting().fifos.clone(),
            ),
        )),
        (None, None) => None,
    };
}

/// The reload's verdict in the status snapshot (`tandem status`, metrics).
fn record(hub: &StatusHub, outcome: &ReloadOutcome) {
    hub.modify(|s| {
        if outcome.applied {
            s.config.reloads += 1;
            s.config.applied_unix_ms = Some(crate::process::unix_ms_now());
            s.config.last_reload_errors.clear();
        } else {
            s.config.reload_failures += 1;
            s.config.last_reload_errors = outcome.errors.clone();
        }
    });
}
