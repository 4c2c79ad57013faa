//! Starting the daemon: `tandem run`'s entry points ([`run`], [`run_with`]),
//! the logging, and the start sequence that hands a [`Daemon`] to the main
//! loop.
//!
//! The order is the point: the LVS side is built from the configuration
//! and the signal handlers are installed before anything runs; the control
//! socket is bound before the units; every VRRP socket is opened before the
//! first unit starts ([`start`]); the LVS side starts on the units' bus;
//! only then is systemd told the service is ready. Owns nothing once the
//! daemon is started.

use tokio::sync::mpsc;

use crate::control::sd_notify::Notifier;
use crate::notify::mail::{self, MailSettings, Mailer};

use super::bus::Bus;
use super::configure::{self, smtp_alert_names};
use super::control_socket;
use super::dynamic::{LinkWatch, show_waiting};
use super::error::DaemonError;
use super::lvs::PreparedLvs;
use super::main_loop::{Daemon, Signals};
use super::options::RunOptions;
use super::plan::{Kernel, Plan, PlanError};
use super::reload::Held;
use super::running::{Running, start};
use super::statics::Statics;
use super::status::StatusHub;

/// `tandem run`: start from a parsed keepalived.conf, then serve until
/// SIGTERM or SIGINT. The configuration is taken, not borrowed: the daemon
/// keeps it for reloads, and one copy of 10,000 real servers is megabytes.
pub async fn run(config: crate::config::Config, opts: RunOptions) -> Result<(), DaemonError> {
    // keepalived sets its umask while reading the file, before it creates
    // any: so does tandem (the dump file, notify scripts' files, ...).
    if let Some(mask) = config.global_defs.umask {
        let was = crate::process::set_umask(mask);
        tracing::info!("umask set to 0{mask:03o} (was 0{was:03o})");
    }
    // The netlink sockets are sized before the first one opens.
    set_netlink_bufs(&config.global_defs);
    if let Some(seed) = config.global_defs.random_seed {
        crate::process::seed_random(seed);
    }
    // startup_script before anything starts, shutdown_script after
    // everything has stopped (a start that failed too), as keepalived.
    let scripts = super::start_stop::StartStop::prepare(&config.global_defs)?;
    scripts.startup().await;
    // As keepalived's VRRP process: set at start, put back at its end
    // (before the shutdown script).
    let igmp = config
        .global_defs
        .disable_local_igmp
        .then(|| super::local_igmp::LocalIgmp::disable(super::local_igmp::SYSCTL));
    let result = run_config(config, opts).await;
    if let Some(igmp) = igmp {
        igmp.restore();
    }
    scripts.shutdown().await;
    result
}

/// `vrrp_netlink_monitor_rcv_bufs`, `vrrp_netlink_cmd_rcv_bufs`,
/// `process_monitor_rcv_bufs` (+ `_force`): for every socket of each kind
/// the daemon opens from now on.
fn set_netlink_bufs(g: &crate::config::GlobalDefs) {
    use crate::net::netlink_bufs::{Kind, RcvBuf, set};
    let buf = |b: &crate::config::NetlinkRcvBuf| RcvBuf {
        size: b.size,
        force: b.force,
    };
    set(Kind::Monitor, buf(&g.vrrp_netlink_monitor_rcv_bufs));
    set(Kind::Command, buf(&g.vrrp_netlink_cmd_rcv_bufs));
    set(Kind::ProcessMonitor, buf(&g.process_monitor_rcv_bufs));
}

/// [`run`] from the track files on.
async fn run_config(
    config: crate::config::Config,
    mut opts: RunOptions,
) -> Result<(), DaemonError> {
    // The track files first (init_file, then their values on the bus):
    // the units and the LVS side start from what the files hold.
    let bus = opts.bus.get_or_insert_with(Bus::new).clone();
    if let Some(files) = super::track_file::TrackFiles::prepare(&config, &bus)? {
        tokio::spawn(files.run(bus.clone()));
    }
    // The processes' quorums too, before the units read them.
    if let Some(procs) = super::track_process::ProcessMonitor::prepare(&config, &bus)? {
        tokio::spawn(procs.run(bus.clone()));
    }
    // The notify FIFOs before anything that writes to them.
    let fifo = super::fifo::FifoService::start(&config)?;
    opts.reporting.fifos = fifo.fifos.clone();
    // Health checks and virtual servers (docs/checks.md), built before
    // anything starts so that a configuration they cannot use stops here.
    let lvs = PreparedLvs::new(&config)?;
    // tandem_bgp: sloppy_tcp, so that a balancer takes the flows the
    // router moves to it in mid-stream (while the virtual servers are
    // still in `config`: `Held` keeps only their fingerprints).
    super::sloppy::apply(&config);
    super::sched::spawn_auto_priority(&config.global_defs);
    let router_id = mail::router_id_or_host(config.global_defs.router_id.as_deref());
    if opts.reporting.status.is_none() {
        opts.reporting.status = Some(StatusHub::new(&router_id));
    }
    if opts.reporting.mailer.is_none() {
        opts.reporting.mailer = Some(
            match Mailer::start(MailSettings::from(&config.global_defs).resolved_or_off()) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, "e-mail alerts disabled");
                    Mailer::disabled()
                }
            },
        );
    }
    opts.reporting.smtp_alert = smtp_alert_names(&config);
    opts.reporting.no_email_faults = config.global_defs.no_email_faults;
    opts.vrrp_startup_delay = config.global_defs.vrrp_startup_delay;
    opts.log_unknown_vrids = config.global_defs.log_unknown_vrids;
    // Everything is built from the virtual servers now: keep them only as
    // the reload's fingerprints, and hand their memory back before the
    // checks and the first IPVS table need theirs.
    super::firewall::clear_at_start(&config)?;
    let config = Held::new(config);
    crate::process::release_free_memory();
    run_with_lvs(
        |kernel, config| match config {
            Some(config) => configure::plan(config, kernel),
            None => Ok(Plan::default()),
        },
        (opts, Some(fifo)),
        lvs,
        Some(config),
    )
    .await
}

/// Start from a plan, then serve until SIGTERM or SIGINT.
pub async fn run_with(
    make_plan: impl Fn(&Kernel) -> Result<Plan, PlanError>,
    opts: RunOptions,
) -> Result<(), DaemonError> {
    run_with_lvs(|kernel, _| make_plan(kernel), (opts, None), None, None).await
}

async fn run_with_lvs(
    make_plan: impl Fn(&Kernel, Option<&crate::config::Config>) -> Result<Plan, PlanError>,
    (opts, fifo): (RunOptions, Option<super::fifo::FifoService>),
    lvs: Option<PreparedLvs>,
    config: Option<Held>,
) -> Result<(), DaemonError> {
    let mut daemon = start_daemon(make_plan, opts, lvs, config).await?;
    daemon.fifo = fifo;
    daemon.serve().await
}

/// Everything up to "ready": see the module comment for the order.
async fn start_daemon(
    make_plan: impl Fn(&Kernel, Option<&crate::config::Config>) -> Result<Plan, PlanError>,
    mut opts: RunOptions,
    lvs: Option<PreparedLvs>,
    config: Option<Held>,
) -> Result<Daemon, DaemonError> {
    let signals = Signals::install()?;
    let hub = opts
        .reporting
        .status
        .clone()
        .unwrap_or_else(|| StatusHub::new(&mail::host_name()));
    let (reload_tx, reload_requests) = mpsc::channel(1);
    let dbus_reload = reload_tx.clone();
    let control = control_socket::start_if_asked(opts.control.as_ref(), &hub, reload_tx).await;
    let notifier = Notifier::from_env();
    // The VIP gate knows which instances govern virtual servers before any
    // unit runs: an address owner is MASTER at once.
    if let Some(l) = &lvs {
        opts.bus
            .get_or_insert_with(Bus::new)
            .set_governing(l.governing());
    }
    // The caught-up preemption gate too (lvs_sync_daemon): a node that
    // starts and would preempt waits for its backup sync daemon.
    opts.bus
        .get_or_insert_with(Bus::new)
        .set_preempt_gate(super::sync::provisional_gate(
            config.as_ref().map(Held::config),
        ));
    let running = match start(
        |kernel| make_plan(kernel, config.as_ref().map(Held::config)),
        &opts,
    ) {
        Ok(r) => r,
        Err(e) => {
            if let Some(c) = control {
                c.shutdown().await;
            }
            return Err(e);
        }
    };
    // static_ipaddress, static_routes, static_rules: on every node, once
    // the vmacs they may name exist.
    let statics = match config.as_ref() {
        Some(c) => Statics::start(c.config()),
        None => Statics::default(),
    };
    // dynamic_interfaces: the instances waiting for a link, and the
    // link events that will start them.
    let links = config.as_ref().and_then(|c| {
        show_waiting(&hub, c.config(), &running);
        LinkWatch::start(c.config())
    });
    let mailer = opts.reporting.mailer.clone();
    // tandem_bgp: follows what the LVS task will announce.
    let bird = super::bird::BirdService::start(&running.bus);
    let lvs = lvs.map(|l| {
        l.start(
            &running.bus,
            opts.script_timeout,
            Some(hub.clone()),
            (mailer.clone(), opts.reporting.fifos.clone()),
        )
    });
    let sync = super::sync::SyncService::start(config.as_ref().map(Held::config), &running.bus);
    let snmp = config.as_ref().and_then(|c| {
        super::snmp::SnmpService::start_if_enabled(&c.config().global_defs.snmp, &hub)
    });
    announce_started(&running, &hub, &opts, &notifier);
    // D-Bus after the units: the first VrrpStatusChange signals carry the
    // states they start in.
    let (dbus, garp_requests) = start_dbus(&opts, config.as_ref(), &hub, dbus_reload).await;
    let mut daemon = Daemon {
        opts,
        config,
        running,
        lvs,
        bird,
        sync,
        statics,
        links,
        removals: None,
        control,
        snmp,
        hub,
        notifier,
        mailer,
        signals,
        reload_requests,
        dbus,
        garp_requests,
        fifo: None,
        reload_timer: None,
    };
    daemon.follow_removals();
    daemon.start_reload_timer();
    Ok(daemon)
}

/// `enable_dbus`: the bus service (or none), and the inbox of its
/// `SendGarp` requests.
async fn start_dbus(
    opts: &RunOptions,
    config: Option<&Held>,
    hub: &StatusHub,
    reload: mpsc::Sender<crate::control::server::ReloadRequest>,
) -> (
    Option<super::dbus::DbusService>,
    mpsc::Receiver<super::dbus::GarpRequest>,
) {
    let (garp_tx, garp_requests) = mpsc::channel(16);
    let requests = super::dbus::DbusRequests {
        reload,
        garp: garp_tx,
        dump_file: opts
            .control
            .as_ref()
            .map(|c| c.dump_file.clone())
            .unwrap_or_else(|| crate::control::dump::DEFAULT_DUMP_FILE.into()),
    };
    let dbus = super::dbus::start_if_enabled(config.map(Held::config), hub, requests).await;
    (dbus, garp_requests)
}

/// Log the start, stamp the status snapshot, and tell systemd.
fn announce_started(running: &Running, hub: &StatusHub, opts: &RunOptions, notifier: &Notifier) {
    let units = running.unit_count();
    if units == 0 {
        tracing::info!("no vrrp_instance configured: nothing to elect");
    }
    hub.modify(|s| {
        s.config.file = opts
            .source
            .as_ref()
            .map(|c| c.file.display().to_string())
            .unwrap_or_default();
        s.config.applied_unix_ms = Some(crate::process::unix_ms_now());
    });
    tracing::info!(units, "tandem started");
    // Sockets open, VIPs of the initial state decided by the units, checks
    // running: systemd may now consider the service started.
    let _ = notifier.ready(&format!("{units} VRRP unit(s) running"));
}
