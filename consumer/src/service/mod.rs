//! `kestrel run` as a service: configuration, the alert path from the
//! matcher to the outputs, drop alerts, metrics and health, reload,
//! reopen, and a clean stop.
//!
//! - [`ruleset`]: a configuration's rules, compiled aside and swapped in;
//! - [`AlertPath`]: matched events → alerts (`append_output` applied) →
//!   `Arc<Alert>` → [`Outputs`] (never blocks); used by `run` and by
//!   `replay -r`;
//! - [`drops`]: `syscall_event_drops` (log, alert, exit; token bucket);
//! - [`metrics`], [`web`]: `/metrics` and the health endpoint;
//! - [`signals`], [`notify`]: SIGTERM/SIGINT, SIGHUP, SIGUSR1; systemd's
//!   `READY=1`/`RELOADING=1`/`STOPPING=1`;
//! - [`sinks`]: the outputs a configuration enables;
//! - [`pipeline`]: the data path on one thread or two (`engine.threads`):
//!   drain, merge and decode on one, state and rules on the other.
//!
//! Reload (SIGHUP, or a changed file with `watch_config_files`): the
//! configuration and rules are read and compiled on another thread while
//! capture goes on; when they are good, the module's syscall mask is set to
//! the new set's and the rule set is swapped between two events; the file
//! outputs are reopened, or every output is restarted when its settings
//! changed.  A bad file is reported with its location and the running set
//! stays.  Keys that only a restart can change (`engine`, `webserver`) are
//! logged as such.

pub mod drops;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod privileges;
pub mod ruleset;
pub mod signals;
pub mod sinks;
pub mod web;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::capture::CaptureFile;
use crate::config::{Config, ConfigError, Override};
use crate::device::{wall_clock_offset_ns, Device, DeviceError};
use crate::live::{run_session, start_session, SessionOptions};
use crate::output::{AlertSender, Outputs};
use crate::record::TYPE_LOST;
use crate::rules::event::EventFields;
use crate::state::{State, StateOptions};

use drops::DropPolicy;
use metrics::{Health, Metrics, Shared};
use pipeline::{Back, Command, Pipeline, RecordError};
use ruleset::RuleSet;
use web::WebServer;

/// Exit status: a runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: a bad configuration (or command line).
pub const EXIT_CONFIG: u8 = 2;
/// Exit status: bad rules.
pub const EXIT_RULES: u8 = 3;
/// Exit status: the module's device is missing, busy, not ours to open, or
/// speaks another ABI version.
pub const EXIT_DEVICE: u8 = 4;

/// How long the outputs get to deliver what they hold when kestrel stops.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A failure and the exit status it calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub code: u8,
    /// The message (empty when there is nothing to say).
    pub message: String,
}

impl Failure {
    /// A failure with status `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::new(EXIT_FAILURE, message)
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Failure {
        Failure::new(EXIT_CONFIG, format!("bad configuration: {e}"))
    }
}

impl From<ruleset::RulesError> for Failure {
    fn from(e: ruleset::RulesError) -> Failure {
        Failure::new(EXIT_RULES, e.0)
    }
}

impl From<DeviceError> for Failure {
    fn from(e: DeviceError) -> Failure {
        let code = match e {
            DeviceError::NotLoaded(_)
            | DeviceError::NotRoot(_)
            | DeviceError::Busy(_)
            | DeviceError::AbiMismatch { .. } => EXIT_DEVICE,
            _ => EXIT_FAILURE,
        };
        Failure::new(code, e.to_string())
    }
}

/// Matches events and hands their alerts to the outputs.
pub struct AlertPath {
    rules: RuleSet,
    hostname: String,
    sender: AlertSender,
    metrics: Arc<Metrics>,
    /// Events matched.
    pub events: u64,
    /// Alerts raised.
    pub alerts: u64,
}

impl AlertPath {
    /// A path through `rules` to `sender`, counting in `metrics`.
    pub fn new(rules: RuleSet, sender: AlertSender, metrics: Arc<Metrics>) -> AlertPath {
        metrics.rules_loaded.set(rules.active_rules() as i64);
        AlertPath {
            rules,
            hostname: crate::rules::format::hostname(),
            sender,
            metrics,
            events: 0,
            alerts: 0,
        }
    }

    /// The running rule set.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The host name alerts carry (read once).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Swaps in a new rule set; returns the old one.
    pub fn swap_rules(&mut self, rules: RuleSet) -> RuleSet {
        self.metrics.rules_loaded.set(rules.active_rules() as i64);
        std::mem::replace(&mut self.rules, rules)
    }

    /// Swaps in a new sender (outputs restarted).
    pub fn set_sender(&mut self, sender: AlertSender) {
        self.sender = sender;
    }

    /// Sends an alert made elsewhere (a drop alert).
    pub fn send(&mut self, alert: crate::rules::format::Alert) {
        self.metrics.alert(&alert.rule, alert.priority);
        self.alerts += 1;
        self.sender.send(Arc::new(alert));
    }

    /// Matches one event; its alerts go to the outputs.
    #[inline]
    pub fn event(&mut self, src: &EventFields<'_, '_>) {
        self.events += 1;
        let (rules, host, sender, metrics) = (
            &self.rules,
            self.hostname.as_str(),
            &self.sender,
            &self.metrics,
        );
        self.alerts += rules.engine.matches(src, |rule| {
            let alert = rules.alert(rule, src, src.wall_ns(), host);
            metrics.alert(&alert.rule, alert.priority);
            sender.send(Arc::new(alert));
        }) as u64;
    }
}

/// Replays a capture file through the alert path into `outputs`'s sinks
/// (`kestrel replay FILE -r RULES`).  Unlike live capture, replay may wait
/// for the outputs: it never drops an alert.
pub fn replay(
    file: &Path,
    rules: RuleSet,
    outputs: Outputs,
    proc_root: Option<&Path>,
) -> Result<(u64, u64), String> {
    replay_threads(file, rules, outputs, proc_root, 1)
}

/// [`replay`] with the data path on `threads` threads (`engine.threads`):
/// the same alerts in the same order either way.
pub fn replay_threads(
    file: &Path,
    rules: RuleSet,
    outputs: Outputs,
    proc_root: Option<&Path>,
    threads: u32,
) -> Result<(u64, u64), String> {
    let metrics = Arc::new(Metrics::new());
    let path = AlertPath::new(rules, outputs.sender(), metrics);
    let mut state = State::new(StateOptions::for_replay(proc_root.map(Path::to_path_buf)));
    state.scan();
    let capture = CaptureFile::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let offset = capture.header().wall_offset_ns;
    let outputs = Arc::new(outputs);
    let mut back = Back::new(state, path, offset);
    let watched = Arc::clone(&outputs);
    back.after_alert = Some(Box::new(move || wait_for_room(&watched)));
    let mut pipeline =
        Pipeline::new(back, threads).map_err(|e| format!("starting the pipeline: {e}"))?;
    let mut failure = None;
    for frame in capture.records() {
        let (at, ring, rec) = match frame {
            Ok(f) => f,
            Err(e) => {
                failure = Some(format!("{}: {e}", file.display()));
                break;
            }
        };
        match pipeline.record(ring, &rec) {
            Ok(()) => {}
            Err(RecordError::Decode(e)) => {
                failure = Some(format!("{}: corrupt at offset {at}: {e}", file.display()));
                break;
            }
            Err(RecordError::Stopped(e)) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    // Every event before a failure is matched, as on one thread.
    let back = pipeline.finish().map_err(|e| e.to_string())?;
    if let Some(f) = failure {
        return Err(f);
    }
    let counts = (back.path.events, back.path.alerts);
    // The back half's hook holds the other reference to the outputs.
    drop(back);
    let outputs = Arc::try_unwrap(outputs)
        .map_err(|_| "replay: the outputs are still in use after the last event".to_string())?;
    let stats = outputs.shutdown(Duration::from_secs(60));
    if let Some(s) = stats.iter().find(|s| s.failed > 0 || s.dropped > 0) {
        return Err(format!(
            "output {}: {} alert(s) failed, {} dropped",
            s.name, s.failed, s.dropped
        ));
    }
    Ok(counts)
}

/// Waits until every output's queue is at most half full: replay's back
/// pressure (live capture never waits).
fn wait_for_room(outputs: &Outputs) {
    while outputs
        .stats()
        .iter()
        .any(|s| s.queue_depth * 2 > s.capacity)
    {
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// What `kestrel run` was asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    /// `-c FILE`.
    pub config_file: Option<PathBuf>,
    /// `-o key=value` and the flags that stand for keys, in order.
    pub overrides: Vec<Override>,
    /// Stop after this many events.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// Loads the configuration `args` name (exit status 2 on error).
pub fn load_config(args: &RunArgs) -> Result<crate::config::Loaded, Failure> {
    Ok(Config::load_for_run(
        args.config_file.as_deref(),
        &args.overrides,
    )?)
}

/// A reload's outcome, from the loader thread.
type Reloaded = Result<(Config, RuleSet), String>;

/// Modification times of the configuration file and the rules files and
/// directories, to notice a change.
fn fingerprint(config_file: Option<&Path>, config: &Config) -> Vec<(PathBuf, Option<SystemTime>)> {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut out = Vec::new();
    if let Some(f) = config_file {
        out.push((f.to_path_buf(), mtime(f)));
    }
    for p in &config.rules_files {
        out.push((p.clone(), mtime(p)));
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                let mut inside: Vec<PathBuf> =
                    rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                inside.sort();
                for f in inside {
                    let m = mtime(&f);
                    out.push((f, m));
                }
            }
        }
    }
    out
}

/// The settings that, when changed by a reload, restart the outputs.
fn outputs_key(c: &Config) -> String {
    format!(
        "{:?}",
        (
            c.json_output,
            c.json_include_output_property,
            c.json_include_tags_property,
            c.time_format_iso_8601,
            c.buffered_outputs,
            &c.outputs_queue,
            &c.stdout_output,
            &c.file_output,
            &c.syslog_output,
            &c.program_output,
            &c.http_output,
        )
    )
}

/// Loads the configuration and rules again, as a reload does (on its own
/// thread, while capture goes on): the error names the file and line.
pub fn reload(args: &RunArgs) -> Reloaded {
    let loaded = load_config(args).map_err(|f| f.message)?;
    let rules = RuleSet::load(&loaded.config).map_err(|e| e.0)?;
    Ok((loaded.config, rules))
}

/// Drops the capabilities `run` does not need once it holds the device;
/// logs what it kept.  `KESTREL_KEEP_CAPABILITIES=1` skips it (debugging).
fn drop_privileges(config: &Config) {
    if std::env::var_os("KESTREL_KEEP_CAPABILITIES").is_some_and(|v| v == "1") {
        log::warn!("KESTREL_KEEP_CAPABILITIES=1: keeping every capability");
        return;
    }
    let low_port = config.webserver.enabled && config.webserver.listen_port < 1024;
    match privileges::drop_to(privileges::kept(low_port)) {
        Ok(d) => {
            log::info!(
                "capabilities: kept {} (everything else dropped{})",
                privileges::names(d.permitted),
                if d.bounding_kept {
                    "; the bounding set stays: no CAP_SETPCAP"
                } else {
                    ""
                }
            );
            if d.other_threads > 0 {
                log::warn!(
                    "capabilities: {} other thread(s) started before the drop keep theirs",
                    d.other_threads
                );
            }
        }
        Err(e) => log::warn!("capabilities: could not drop them: {e}"),
    }
}

/// `kestrel run`: capture, match, deliver, until stopped.
pub fn run(args: &RunArgs, loaded: crate::config::Loaded) -> Result<(), Failure> {
    let config_file = loaded.file.clone();
    let mut config = loaded.config;
    match &config_file {
        Some(f) => log::info!("configuration: {}", f.display()),
        None => log::info!(
            "configuration: {} does not exist; built-in defaults",
            crate::config::DEFAULT_CONFIG
        ),
    }
    let rules = RuleSet::load(&config)?;
    log::info!(
        "rules: {} file(s), {} active rules",
        rules.files.len(),
        rules.active_rules()
    );
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let kmod = &config.engine.kmod;
    let dev = Arc::new(Device::open(&kmod.device)?);
    // Holding the device, the service needs few capabilities: drop the
    // rest before any thread (sinks, web server, reload) starts, since
    // capabilities are per thread (see privileges.rs).
    drop_privileges(&config);
    let outputs = sinks::start(&config).map_err(|e| Failure::new(EXIT_CONFIG, e))?;
    let first_sender = outputs.sender();
    // Shared with the web server, which reads the outputs' counters at
    // scrape time; the run loop locks it only to reopen, swap or stop.
    let outputs: SharedOutputs = Arc::new(Mutex::new(Some(outputs)));
    signals::install(true)?;
    if dev.info().ring_size != kmod.ring_size {
        log::info!(
            "the module's rings hold {} bytes per CPU; engine.kmod.ring_size asks the loader for {}",
            dev.info().ring_size,
            kmod.ring_size
        );
    }
    let web = if config.webserver.enabled {
        Some(
            WebServer::start(
                &config.webserver.listen_address,
                config.webserver.listen_port,
                &config.webserver.k8s_healthz_endpoint,
                config.webserver.prometheus_metrics_enabled,
                Shared {
                    metrics: metrics.clone(),
                    health: health.clone(),
                    device: Some(dev.clone()),
                    outputs: Some(outputs.clone()),
                },
            )
            .map_err(|e| Failure::new(EXIT_FAILURE, e))?,
        )
    } else {
        None
    };

    let mut state = State::new(StateOptions {
        proc_root: Some(kmod.proc_root.clone()),
        host_root: kmod.host_root.clone(),
        ..StateOptions::default()
    });
    state.scan();
    let backlog: Arc<Vec<AtomicU64>> = Arc::new(
        (0..dev.info().nr_rings)
            .map(|_| AtomicU64::new(0))
            .collect(),
    );
    let opts = SessionOptions {
        syscalls: rules.mask,
        snaplen: (kmod.snaplen != 0).then_some(kmod.snaplen),
        count: args.count,
        duration: args.duration,
        ring_backlog: Some(backlog.clone()),
    };
    let offset = wall_clock_offset_ns();
    let now = Instant::now();
    let policy = RefCell::new(DropPolicy::new(
        &config.syscall_event_drops,
        config.drop_actions(),
        now,
    ));
    let active = rules.active_rules();
    let back = Back::new(
        state,
        AlertPath::new(rules, first_sender, metrics.clone()),
        offset,
    );
    let hostname = back.hostname.clone();
    let threads = config.engine.threads;
    let pipeline = RefCell::new(Pipeline::new(back, threads).map_err(|e| {
        Failure::new(
            EXIT_FAILURE,
            format!("starting the state and rules thread: {e}"),
        )
    })?);
    let session =
        start_session(&dev, &opts).map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
    health.set_capturing(true);
    let ring_size = dev.info().ring_size.max(1) as f64;
    if threads > 1 {
        log::info!("data path on {threads} threads: drain, merge and decode; state and rules");
    }
    // Only now are the probes attached: scripts wait for this line.
    eprintln!(
        "kestrel: capturing on {} rings, {} rules active",
        dev.info().nr_rings,
        active
    );
    notify::notify("READY=1");

    let mut watched = fingerprint(config_file.as_deref(), &config);
    let mut next_tick = now + Duration::from_secs(1);
    let mut last_tick = now;
    let mut events_at_tick = 0u64;
    let mut reloading: Option<crossbeam_channel::Receiver<Reloaded>> = None;
    let exit_reason: RefCell<Option<String>> = RefCell::new(None);
    let summary = run_session(
        session,
        &opts,
        &signals::STOP,
        |ring, rec| {
            if rec.event_type() == TYPE_LOST {
                policy.borrow_mut().lost(rec);
                return Ok(true); // logged by the session; no rule sees it
            }
            match pipeline.borrow_mut().record(ring, rec) {
                Ok(()) => policy.borrow_mut().event(),
                Err(RecordError::Decode(e)) => {
                    log::warn!("ring {ring}: skipping undecodable record: {e}")
                }
                Err(RecordError::Stopped(e)) => return Err(e.into()),
            }
            Ok(true)
        },
        || {
            // The events decoded so far go on before the front waits.
            pipeline.borrow_mut().flush()?;
            health.round();
            let now = Instant::now();
            if signals::take(&signals::REOPEN) {
                log::info!("SIGUSR1: reopening the outputs");
                with_outputs(&outputs, Outputs::reopen);
            }
            // A finished reload is swapped in here, between two events.
            if let Some(rx) = &reloading {
                if let Ok(result) = rx.try_recv() {
                    reloading = None;
                    match result {
                        Ok((new_config, new_rules)) => {
                            apply_reload(
                                &dev,
                                &config,
                                &new_config,
                                new_rules,
                                &pipeline,
                                &outputs,
                                &policy,
                                &metrics,
                            );
                            config = new_config;
                        }
                        Err(msg) => {
                            metrics.reload_failures.inc();
                            log::error!(
                                "reload refused, the running configuration and rules stay:\n{msg}"
                            );
                        }
                    }
                    watched = fingerprint(config_file.as_deref(), &config);
                    notify::notify("READY=1");
                }
            }
            // A SIGHUP during a reload waits for it to finish.
            let mut reload = reloading.is_none() && signals::take(&signals::RELOAD);
            if reload {
                log::info!("SIGHUP: reloading the configuration and rules");
            }
            if now >= next_tick {
                let secs = now.duration_since(last_tick).as_secs_f64().max(1e-3);
                last_tick = now;
                next_tick = now + Duration::from_secs(1);
                let events = pipeline.borrow().events();
                metrics
                    .events_per_second
                    .set((events - events_at_tick) as f64 / secs);
                metrics.events_drained.inc_by(events - events_at_tick);
                events_at_tick = events;
                for (i, b) in backlog.iter().enumerate() {
                    // Relaxed: see SessionOptions::ring_backlog.
                    let bytes = b.load(std::sync::atomic::Ordering::Relaxed);
                    metrics.ring_fill(i, bytes as f64 / ring_size);
                }
                if let Some(stats) = with_outputs(&outputs, Outputs::stats) {
                    metrics.sinks(&stats);
                }
                pipeline
                    .borrow_mut()
                    .command(Command::StateMetrics(metrics.clone()))?;
                let wall = wall_clock_offset_ns() as i128 + crate::device::monotonic_ns() as i128;
                let verdict = policy.borrow_mut().check(now, wall, &hostname);
                if let Some(line) = verdict.log {
                    log::error!("{line}");
                }
                if let Some(alert) = verdict.alert {
                    metrics.drop_alerts.inc();
                    pipeline
                        .borrow_mut()
                        .command(Command::Send(Box::new(alert)))?;
                }
                if let Some(msg) = verdict.exit {
                    let msg = format!("{msg} Exiting (syscall_event_drops.actions has exit).");
                    *exit_reason.borrow_mut() = Some(msg.clone());
                    return Err(std::io::Error::other(msg));
                }
                if config.watch_config_files && reloading.is_none() {
                    let current = fingerprint(config_file.as_deref(), &config);
                    if current != watched {
                        log::info!("a configuration or rules file changed: reloading");
                        watched = current;
                        reload = true;
                    }
                }
            }
            if reload && reloading.is_none() {
                notify::notify("RELOADING=1");
                let (tx, rx) = crossbeam_channel::bounded(1);
                let args = args.clone();
                let spawned = std::thread::Builder::new()
                    .name("reload".into())
                    .spawn(move || {
                        let _ = tx.send(self::reload(&args));
                    });
                match spawned {
                    Ok(_) => reloading = Some(rx),
                    Err(e) => {
                        metrics.reload_failures.inc();
                        log::error!("reload: cannot start its thread: {e}");
                        notify::notify("READY=1");
                    }
                }
            }
            Ok(())
        },
    );
    health.set_capturing(false);
    notify::notify("STOPPING=1");
    // The back half works through what the front passed on before the
    // outputs are stopped, so its alerts are delivered.
    let back = pipeline.into_inner().finish();
    if let Some(w) = web {
        w.stop();
    }
    let taken = outputs.lock().ok().and_then(|mut o| o.take());
    let final_stats = taken.map_or_else(Vec::new, |o| o.shutdown(SHUTDOWN_TIMEOUT));
    let back = back.map_err(|e| Failure::new(EXIT_FAILURE, e.to_string()))?;
    let summary = summary.map_err(|e| {
        let msg = exit_reason
            .borrow_mut()
            .take()
            .unwrap_or_else(|| e.to_string());
        Failure::new(EXIT_FAILURE, msg)
    })?;
    crate::cli::print_summary(&summary);
    crate::cli::print_state_summary(&back.state);
    let path = &back.path;
    eprintln!(
        "kestrel: {} events matched, {} alerts",
        path.events, path.alerts
    );
    for s in &final_stats {
        eprintln!(
            "kestrel: output {}: {} delivered, {} dropped, {} failed, {} left in the queue",
            s.name, s.delivered, s.dropped, s.failed, s.queue_depth
        );
    }
    Ok(())
}

/// The running outputs, shared by the run loop and the web server; `None`
/// once stopped.
pub type SharedOutputs = Arc<Mutex<Option<Outputs>>>;

/// Calls `f` on the running outputs, if any.
pub fn with_outputs<T>(outputs: &SharedOutputs, f: impl FnOnce(&Outputs) -> T) -> Option<T> {
    let guard = outputs.lock().ok()?;
    guard.as_ref().map(f)
}

fn state_metrics(state: &State, metrics: &Metrics) {
    let t = state.table();
    metrics.threads.set(t.thread_count() as i64);
    metrics.processes.set(t.process_count() as i64);
    metrics
        .fds
        .set(t.processes().map(|p| p.fds.len()).sum::<usize>() as i64);
    // Relaxed: see metrics::store.
    let store = |c: &prometheus_client::metrics::counter::Counter, v: u64| {
        c.inner().store(v, std::sync::atomic::Ordering::Relaxed)
    };
    store(&metrics.threads_refused, t.stats.refused_full);
    store(&metrics.processes_reaped, t.stats.processes_reaped);
}

/// Puts a loaded reload into force: the module's mask first (so the new
/// rules see their events from the first one), then the rule set, then the
/// outputs and the drop policy.
#[allow(clippy::too_many_arguments)]
fn apply_reload(
    dev: &Device,
    old: &Config,
    new: &Config,
    rules: RuleSet,
    pipeline: &RefCell<Pipeline>,
    outputs: &SharedOutputs,
    policy: &RefCell<DropPolicy>,
    metrics: &Metrics,
) {
    if let Err(e) = dev.set_syscalls(&rules.mask) {
        metrics.reload_failures.inc();
        log::error!("reload refused, the running rules stay: {e}");
        return;
    }
    if new.engine.kmod.snaplen != 0 && new.engine.kmod.snaplen != old.engine.kmod.snaplen {
        if let Err(e) = dev.set_snaplen(new.engine.kmod.snaplen) {
            log::warn!("reload: {e}");
        }
    }
    let active = rules.active_rules();
    // Between two events: after every event passed on so far, on either
    // thread count.
    if let Err(e) = pipeline
        .borrow_mut()
        .command(Command::SwapRules(Box::new(rules)))
    {
        log::error!("reload: {e}");
        return;
    }
    if outputs_key(old) != outputs_key(new) {
        match sinks::start(new) {
            Ok(fresh) => {
                if let Err(e) = pipeline
                    .borrow_mut()
                    .command(Command::SetSender(fresh.sender()))
                {
                    log::error!("reload: {e}");
                }
                let stale = outputs.lock().ok().and_then(|mut o| o.replace(fresh));
                // The old outputs deliver what they hold on their own time.
                let _ = std::thread::Builder::new()
                    .name("outputs-stop".into())
                    .spawn(move || {
                        if let Some(stale) = stale {
                            stale.shutdown(SHUTDOWN_TIMEOUT);
                        }
                    });
                log::info!("reload: outputs restarted with the new settings");
            }
            Err(e) => log::error!("reload: the outputs keep their old settings: {e}"),
        }
    } else {
        with_outputs(outputs, Outputs::reopen);
    }
    if old.syscall_event_drops != new.syscall_event_drops {
        *policy.borrow_mut() =
            DropPolicy::new(&new.syscall_event_drops, new.drop_actions(), Instant::now());
    }
    crate::logging::configure(new.log_filter(), new.log_stderr, new.log_syslog);
    if old.engine.kind != new.engine.kind
        || old.engine.threads != new.engine.threads
        || old.engine.kmod.device != new.engine.kmod.device
        || old.engine.kmod.proc_root != new.engine.kmod.proc_root
        || old.engine.kmod.host_root != new.engine.kmod.host_root
        || old.webserver != new.webserver
    {
        log::warn!("reload: changes to engine.threads, engine.kmod.device, proc_root, host_root and webserver take effect at the next start");
    }
    metrics.reloads.inc();
    log::info!("reloaded: {active} rules active");
}

#[cfg(test)]
mod tests;
