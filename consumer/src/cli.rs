//! The `kestrel` command line: its subcommands and what each one does
//! with the library.  The binary (`src/main.rs`) only sets up logging,
//! parses the arguments into a [`Cli`] and calls [`run`].

pub mod events;

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::capture::{CaptureFile, CaptureHeader, CaptureWriter};
use crate::config::{Config, Override};
use crate::decode::{decode, decode_into, Event};
use crate::device::{wall_clock_offset_ns, Device, DEFAULT_DEVICE};
use crate::live::{run_session, start_session, SessionOptions, SessionSummary};
use crate::output::{EventLineWriter, Outputs, StdoutSink};
use crate::rules::{Engine, EngineOptions, Priority, DEFAULT_RULES};
use crate::service::signals::{self, STOP};
use crate::service::{Failure, RunArgs, EXIT_CONFIG, EXIT_RULES};
use crate::state::State;
use clap::{Args, Parser, Subcommand};
use events::{write_event_with_context, StateArgs};
use kestrel_abi::SyscallMask;

/// `--syscalls` value meaning every syscall the ABI's event table decodes.
const ALL_DECODED: &str = "all";

/// Kestrel: runtime security monitoring for Linux hosts and Kubernetes nodes.
///
/// Reads system call events from the kestrel kernel module (/dev/kestrel),
/// keeps the state of processes, files, users and containers, and matches
/// the events against rules in Falco's rule language (`run`); it also
/// prints events, captures them to files and replays captures.
#[derive(Parser, Debug)]
#[command(name = "kestrel", version, about, long_about)]
pub struct Cli {
    /// The module's device node.
    #[arg(long, global = true, value_name = "PATH", default_value = DEFAULT_DEVICE)]
    device: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Capture live and print one JSON object per event, in time order.
    ///
    /// Runs until interrupted (SIGINT or SIGTERM), --count or --duration;
    /// on the way out it drains what is left and prints a summary with the
    /// number of events delivered and lost to stderr.
    Events {
        #[command(flatten)]
        args: CaptureArgs,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Capture live and write the raw records to a capture file.
    Capture {
        /// Capture file to write (created 0600).
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        file: PathBuf,
        /// Keep the environment of exec'd programs in the file.  Left out
        /// by default: it may hold secrets, and the file outlives the run.
        #[arg(long)]
        with_env: bool,
        #[command(flatten)]
        args: CaptureArgs,
    },
    /// Print the events of a capture file, as `events` would have; with
    /// -r, match them against rules and print the alerts instead.
    Replay {
        /// Capture file written by `kestrel capture`.
        file: PathBuf,
        /// Rules files (Falco's rule language), loaded in order.
        #[arg(short = 'r', long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Instead of the events, print per event type how many records
        /// there are and their sizes in bytes (count, average, max).
        #[arg(long, conflicts_with = "rules")]
        sizes: bool,
        #[command(flatten)]
        alerts: AlertArgs,
        /// With -r: a /proc tree to fill unknown threads from (only for a
        /// capture made on this machine whose processes still run).  By
        /// default replay learns processes from the capture's events
        /// alone: its pids are another machine's.
        #[arg(long, value_name = "DIR")]
        proc_root: Option<PathBuf>,
    },
    /// Run as a service: capture live, match the events against the
    /// rules, and deliver alerts to the configured outputs.
    ///
    /// Reads /etc/kestrel/kestrel.yaml (or -c FILE; built-in defaults when
    /// the default file does not exist); -o key.path=value overrides any
    /// key, and the other options override the keys they name.  SIGHUP
    /// reloads configuration and rules, SIGUSR1 reopens file outputs,
    /// SIGTERM/SIGINT stop cleanly (a second one exits at once).  The
    /// module records only the syscalls the rules need, unless
    /// --syscalls says otherwise.
    Run(Box<RunCmd>),
    /// Check and list rules files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print the module's per-CPU counters (works beside a running consumer).
    Stats,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// Load rules files as `run` would; print a summary and any warnings,
    /// or every error (file:line:column) and exit non-zero.
    Validate {
        /// Rules files, loaded in order.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        select: crate::rules::Selection,
    },
    /// List the rules of rules files: name, priority, state, event types
    /// (Falco's -L, -l RULE and --list as flags).
    List {
        /// Rules files, loaded in order.
        #[arg(short = 'r', long = "rules", value_name = "FILE", default_value = DEFAULT_RULES)]
        rules: Vec<PathBuf>,
        #[command(flatten)]
        select: crate::rules::Selection,
        /// Rule names with their descriptions (Falco's -L).
        #[arg(short = 'L', long = "descriptions")]
        descriptions: bool,
        /// Describe one rule: condition, output, tags, where it is defined (Falco's -l).
        #[arg(short = 'l', long = "describe", value_name = "RULE")]
        describe: Option<String>,
        /// Every field a rule may use, with its description (Falco's --list).
        #[arg(long = "list")]
        fields: bool,
    },
}

/// `kestrel run`'s options.
#[derive(Args, Debug)]
pub struct RunCmd {
    /// Configuration file (default /etc/kestrel/kestrel.yaml).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set a configuration key: -o key.path=value (the value is YAML, e.g.
    /// -o json_output=true, -o rules_files=[/a.yaml,/b.d]); repeatable.
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
    options: Vec<String>,
    /// Rules files or directories, loaded in order (rules_files).
    #[arg(short = 'r', long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Alerts as Falco's JSON objects (json_output).
    #[arg(long)]
    json: bool,
    /// Run only rules at least this severe (priority).
    #[arg(long, value_name = "PRIORITY", value_parser = parse_priority)]
    min_priority: Option<Priority>,
    /// Alert for every matching rule, not only the first (rule_matching: all).
    #[arg(long)]
    all_matches: bool,
    /// Comma-separated syscall names to record, or `all`
    /// (engine.kmod.syscalls).
    #[arg(long, value_name = "LIST")]
    syscalls: Option<String>,
    /// Most bytes copied for any one parameter (engine.kmod.snaplen).
    #[arg(long, value_name = "BYTES")]
    snaplen: Option<u32>,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// The /proc tree to read processes from (engine.kmod.proc_root).
    #[arg(long, value_name = "DIR")]
    proc_root: Option<PathBuf>,
    /// The host's root, under which container runtimes keep their state
    /// (engine.kmod.host_root).
    #[arg(long, value_name = "DIR")]
    host_root: Option<PathBuf>,
}

impl RunCmd {
    /// The command line as configuration overrides, in order: -o first,
    /// then the flags (which win).
    fn overrides(&self, device: &Path) -> Result<Vec<Override>, Failure> {
        use serde_yaml::Value;
        let mut out = Vec::new();
        for o in &self.options {
            out.push(
                Override::parse(o)
                    .map_err(|e| Failure::new(EXIT_CONFIG, format!("bad configuration: {e}")))?,
            );
        }
        let mut flag = |key: &str, value: Value, text: String| {
            out.push(Override {
                key: key.into(),
                value,
                text,
            })
        };
        let path = |p: &Path| Value::String(p.display().to_string());
        if device != Path::new(DEFAULT_DEVICE) {
            flag(
                "engine.kmod.device",
                path(device),
                format!("--device {}", device.display()),
            );
        }
        if !self.rules.is_empty() {
            flag(
                "rules_files",
                Value::Sequence(self.rules.iter().map(|p| path(p)).collect()),
                self.rules
                    .iter()
                    .map(|p| format!("-r {}", p.display()))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        if self.json {
            flag("json_output", Value::Bool(true), "--json".into());
        }
        if let Some(p) = self.min_priority {
            flag(
                "priority",
                Value::String(p.name().to_lowercase()),
                format!("--min-priority {p}"),
            );
        }
        if self.all_matches {
            flag(
                "rule_matching",
                Value::String("all".into()),
                "--all-matches".into(),
            );
        }
        if let Some(list) = &self.syscalls {
            let names = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect();
            flag(
                "engine.kmod.syscalls",
                Value::Sequence(names),
                format!("--syscalls {list}"),
            );
        }
        if let Some(n) = self.snaplen {
            flag(
                "engine.kmod.snaplen",
                Value::Number(n.into()),
                format!("--snaplen {n}"),
            );
        }
        if let Some(p) = &self.proc_root {
            flag(
                "engine.kmod.proc_root",
                path(p),
                format!("--proc-root {}", p.display()),
            );
        }
        if let Some(p) = &self.host_root {
            flag(
                "engine.kmod.host_root",
                path(p),
                format!("--host-root {}", p.display()),
            );
        }
        Ok(out)
    }
}

#[derive(Args, Debug)]
struct AlertArgs {
    /// Print alerts as Falco's JSON objects, one per line.
    #[arg(long)]
    json: bool,
    /// Run only rules at least this severe (emergency, alert, critical,
    /// error, warning, notice, informational, debug).
    #[arg(long, value_name = "PRIORITY", default_value = "debug", value_parser = parse_priority)]
    min_priority: Priority,
    /// Alert for every matching rule, not only the first (Falco's default).
    #[arg(long)]
    all_matches: bool,
    #[command(flatten)]
    select: crate::rules::Selection,
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    Priority::parse(s).ok_or_else(|| {
        format!("'{s}' is not a priority (emergency, alert, critical, error, warning, notice, informational, debug)")
    })
}

#[derive(Args, Debug)]
struct CaptureArgs {
    /// Comma-separated syscall names (x86_64) to record; `all` records every
    /// syscall that has a decoder (the detection set).  Default: `all` for
    /// events and capture, what the rules need for run.
    #[arg(long, value_name = "LIST")]
    syscalls: Option<String>,
    /// Most bytes copied for any one parameter (16..=16383).
    #[arg(long, value_name = "BYTES")]
    snaplen: Option<u32>,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
}

/// Every syscall some event of the ABI's table records.
pub(crate) fn detection_set() -> SyscallMask {
    let names = kestrel_abi::schemas()
        .iter()
        .filter(|s| s.syscall.is_some())
        .map(|s| s.name);
    kestrel_abi::syscalls_for_events(names).expect("the table's own names are known")
}

fn parse_syscalls(list: &str) -> Result<SyscallMask, String> {
    if list.trim() == ALL_DECODED {
        return Ok(detection_set());
    }
    let mut mask = SyscallMask::default();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let nr = kestrel_abi::syscall_number(name)
            .or_else(|| name.parse().ok())
            .ok_or_else(|| {
                format!("unknown syscall '{name}' in --syscalls (use x86_64 names such as openat)")
            })?;
        if !mask.insert(nr) {
            return Err(format!(
                "syscall '{name}' ({nr}) is beyond the {} the module can record",
                kestrel_abi::MAX_SYSCALLS
            ));
        }
    }
    if mask.iter().next().is_none() {
        return Err("--syscalls names no syscall".into());
    }
    Ok(mask)
}

/// The longest `--duration` accepted: about 31.7 years, far beyond any
/// run, and small enough that `Instant::now() + d` cannot overflow.
pub const DURATION_MAX_SECS: f64 = 1e9;

/// `--duration`'s seconds as a [`Duration`]: a positive, finite number
/// of at most [`DURATION_MAX_SECS`].  Never panics (`1e20` once did, in
/// `Duration::from_secs_f64`).
pub fn duration_arg(secs: f64) -> Result<Duration, String> {
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!(
            "--duration {secs} must be a positive number of seconds"
        ));
    }
    if secs > DURATION_MAX_SECS {
        return Err(format!(
            "--duration {secs} is too long (at most {DURATION_MAX_SECS:e} seconds)"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("--duration {secs}: {e}"))
}

fn session_options(args: &CaptureArgs) -> Result<SessionOptions, String> {
    if let Some(s) = args.snaplen {
        if !(kestrel_abi::SNAPLEN_MIN..=kestrel_abi::SNAPLEN_MAX).contains(&s) {
            return Err(format!(
                "--snaplen {s} is out of range ({}..={})",
                kestrel_abi::SNAPLEN_MIN,
                kestrel_abi::SNAPLEN_MAX
            ));
        }
    }
    let duration = args.duration.map(duration_arg).transpose()?;
    Ok(SessionOptions {
        syscalls: parse_syscalls(args.syscalls.as_deref().unwrap_or(ALL_DECODED))?,
        snaplen: args.snaplen,
        count: args.count,
        duration,
        ring_backlog: None,
    })
}

/// A live session's error as the message to print; none when the reader
/// of our output went away (`| head`): there is nothing more to say.
/// What a failed write to stdout means: the reader went away (`| head`)
/// is a quiet, successful end, as for other command-line tools; anything
/// else is an error.
fn stdout_failure(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure::new(0, "")
    } else {
        Failure::from(format!("writing output: {e}"))
    }
}

/// A locked, buffered stdout for a subcommand's listing (flushed with
/// [`finish`]).
fn listing() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::new(io::stdout().lock())
}

/// Flushes a listing.
fn finish(mut out: impl Write) -> Result<(), Failure> {
    out.flush().map_err(stdout_failure)
}

/// Stdout for `replay -r`'s alerts, written from the output thread: when
/// the reader goes away (`| head`) nothing is left to do, so the command
/// ends there, quietly and successfully, as [`stdout_failure`] has it.
struct StdoutUntilReaderGone;

impl StdoutUntilReaderGone {
    fn check<T>(r: io::Result<T>) -> io::Result<T> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => other,
        }
    }
}

impl Write for StdoutUntilReaderGone {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Self::check(io::stdout().write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Self::check(io::stdout().flush())
    }
}

fn session_error(e: crate::live::SessionError) -> String {
    match e {
        crate::live::SessionError::Sink(io) if io.kind() == io::ErrorKind::BrokenPipe => {
            String::new()
        }
        other => other.to_string(),
    }
}

pub(crate) fn print_summary(summary: &SessionSummary) {
    eprintln!(
        "kestrel: {} events delivered, {} lost, from {} rings in {:.1}s",
        summary.events(),
        summary.dropped(),
        summary.rings.len(),
        summary.elapsed.as_secs_f64()
    );
    for (i, r) in summary.rings.iter().enumerate() {
        if !r.balanced() {
            log::warn!(
                "ring {i}: accounting mismatch: module attempted {} written {} dropped {} pending {}; read {} events and {} reported lost ({} sequence gaps, {} LOST counts saturated)",
                r.module.attempted,
                r.module.written,
                r.dropped(),
                r.module.lost_pending,
                r.reader.records,
                r.reader.lost_events,
                r.reader.sequence_gaps,
                r.reader.lost_saturated
            );
        }
    }
    if summary.late > 0 {
        log::warn!("{} events arrived after the reorder window", summary.late);
    }
}

pub(crate) fn print_state_summary(s: &State) {
    let st = s.stats();
    eprintln!(
        "kestrel: state: {} threads, {} processes, {} filled lazily from /proc, {} not found there, {} learned from events alone, {} containers looked up",
        s.table().thread_count(),
        s.table().process_count(),
        st.lazy_filled,
        st.lazy_failed,
        s.table().stats.from_events,
        s.containers().disk_lookups
    );
}

fn open_for_capture(path: &Path) -> Result<Device, String> {
    let dev = Device::open(path).map_err(|e| e.to_string())?;
    signals::install(false)?;
    Ok(dev)
}

fn events(device: &Path, args: &CaptureArgs, state_args: &StateArgs) -> Result<(), String> {
    let opts = session_options(args)?;
    let dev = open_for_capture(device)?;
    // Scanned before the probes attach; what starts in between is filled
    // lazily from /proc when its first event arrives.
    let mut state = state_args.build();
    let offset = wall_clock_offset_ns();
    let stdout = io::stdout();
    // Both callbacks write to stdout; they never run at the same time.
    let out = std::cell::RefCell::new(BufWriter::new(stdout.lock()));
    let mut writer = EventLineWriter::new();
    let session = start_session(&dev, &opts).map_err(|e| e.to_string())?;
    // Only now are the probes attached: scripts wait for this line.
    eprintln!("kestrel: capturing on {} rings", dev.info().nr_rings);
    let summary = run_session(
        session,
        &opts,
        &STOP,
        |ring, rec| {
            match decode(rec) {
                Ok(ev) => {
                    if let Some(s) = state.as_mut() {
                        s.apply(&ev);
                    }
                    write_event_with_context(
                        &mut writer,
                        &mut *out.borrow_mut(),
                        &ev,
                        ring,
                        offset,
                        state.as_ref(),
                    )?
                }
                Err(e) => log::warn!("ring {ring}: skipping undecodable record: {e}"),
            }
            Ok(true)
        },
        || out.borrow_mut().flush(),
    )
    .map_err(session_error)?;
    print_summary(&summary);
    if let Some(s) = &state {
        print_state_summary(s);
    }
    Ok(())
}

fn capture(device: &Path, file: &Path, with_env: bool, args: &CaptureArgs) -> Result<(), String> {
    let opts = session_options(args)?;
    let out = crate::capture::create_private(file)
        .map_err(|e| format!("creating {}: {e}", file.display()))?;
    let dev = open_for_capture(device)?;
    let header = CaptureHeader {
        abi_version: kestrel_abi::ABI_VERSION,
        wall_offset_ns: wall_clock_offset_ns(),
        nr_rings: dev.info().nr_rings,
        snaplen: opts.snaplen.unwrap_or(dev.info().snaplen),
    };
    let mut writer = CaptureWriter::new(BufWriter::new(out), header)
        .map_err(|e| format!("writing {}: {e}", file.display()))?;
    let session = start_session(&dev, &opts).map_err(|e| e.to_string())?;
    // Only now are the probes attached: scripts wait for this line.
    eprintln!("kestrel: capturing on {} rings", dev.info().nr_rings);
    let summary = run_session(
        session,
        &opts,
        &STOP,
        |ring, rec| {
            match (with_env, crate::capture::without_env(rec)) {
                (false, Some(clean)) => {
                    let clean = crate::record::Record::parse(&clean)
                        .map_err(|e| io::Error::other(e.to_string()))?;
                    writer.write(ring, &clean)?;
                }
                _ => writer.write(ring, rec)?,
            }
            Ok(true)
        },
        || Ok(()),
    )
    .map_err(|e| e.to_string())?;
    let records = writer.records();
    writer
        .finish()
        .map_err(|e| format!("writing {}: {e}", file.display()))?;
    print_summary(&summary);
    eprintln!("kestrel: wrote {records} records to {}", file.display());
    Ok(())
}

fn replay(file: &Path) -> Result<(), Failure> {
    let capture = CaptureFile::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let offset = capture.header().wall_offset_ns;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut writer = EventLineWriter::new();
    let mut ev = Event::default();
    for frame in capture.records() {
        let (at, ring, rec) = frame.map_err(|e| format!("{}: {e}", file.display()))?;
        decode_into(&rec, &mut ev)
            .map_err(|e| format!("{}: corrupt at offset {at}: {e}", file.display()))?;
        writer
            .write_event_line(&mut out, &ev, ring, offset)
            .map_err(stdout_failure)?;
    }
    finish(out)
}

fn replay_alerts(
    file: &Path,
    rules: &[PathBuf],
    alerts: &AlertArgs,
    proc_root: Option<&Path>,
) -> Result<(), Failure> {
    // The configuration's defaults, with the command line's rules and
    // switches: the same rule set, alert path and stdout sink as `run`.
    let config = Config {
        rules_files: rules.to_vec(),
        priority: alerts.min_priority.name().to_lowercase(),
        rule_matching: if alerts.all_matches { "all" } else { "first" }.into(),
        json_output: alerts.json,
        ..Config::default()
    };
    let ruleset = crate::service::ruleset::RuleSet::load_selected(&config, &alerts.select)
        .map_err(|e| Failure::new(EXIT_RULES, e.0))?;
    let sink = StdoutSink::with_writer(
        "stdout",
        Box::new(StdoutUntilReaderGone),
        crate::service::sinks::alert_format(&config),
        true,
    );
    let outputs = Outputs::start(vec![Box::new(sink)], 4096)
        .map_err(|e| format!("starting the outputs: {e}"))?;
    let (events, alerts) = crate::service::replay(file, ruleset, outputs, proc_root)?;
    eprintln!("kestrel: {events} events, {alerts} alerts");
    Ok(())
}

fn run_service(device: &Path, cmd: &RunCmd) -> Result<(), Failure> {
    let duration = cmd
        .duration
        .map(duration_arg)
        .transpose()
        .map_err(|e| Failure::new(EXIT_CONFIG, e))?;
    let args = RunArgs {
        config_file: cmd.config.clone(),
        overrides: cmd.overrides(device)?,
        count: cmd.count,
        duration,
    };
    let loaded = crate::service::load_config(&args)?;
    let c = &loaded.config;
    crate::logging::configure(c.log_filter(), c.log_stderr, c.log_syslog);
    crate::service::run(&args, loaded)
}

/// Loads rules files as `run` would and prints their warnings.
fn load_rules_with_warnings(
    files: &[PathBuf],
    select: &crate::rules::Selection,
) -> Result<Engine, Failure> {
    let engine = Engine::load_files_selected(files, EngineOptions::default(), select)
        .map_err(|e| Failure::new(EXIT_RULES, format!("rules refused:\n{e}")))?;
    for w in engine.warnings() {
        eprintln!("{w}");
    }
    Ok(engine)
}

fn replay_sizes(file: &Path) -> Result<(), Failure> {
    let capture = CaptureFile::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    // (count, total bytes, max) per event type number.
    let mut sizes = std::collections::BTreeMap::<u16, (u64, u64, usize)>::new();
    for frame in capture.records() {
        let (_, _, rec) = frame.map_err(|e| format!("{}: {e}", file.display()))?;
        let s = sizes.entry(rec.event_type()).or_default();
        s.0 += 1;
        s.1 += rec.len() as u64;
        s.2 = s.2.max(rec.len());
    }
    let mut out = listing();
    writeln!(
        out,
        "{:<16} {:>3} {:>8} {:>8} {:>6}",
        "type", "dir", "records", "avg_len", "max"
    )
    .map_err(stdout_failure)?;
    for (ty, (count, total, max)) in sizes {
        let (name, dir) = match kestrel_abi::event_schema(ty) {
            Some(s) if s.syscall.is_some() => (s.name, if s.enter { ">" } else { "<" }),
            Some(s) => (s.name, "-"),
            None => ("unknown", "-"),
        };
        writeln!(
            out,
            "{name:<16} {dir:>3} {count:>8} {:>8} {max:>6}",
            total / count
        )
        .map_err(stdout_failure)?;
    }
    finish(out)
}

fn rules_validate(files: &[PathBuf], select: &crate::rules::Selection) -> Result<(), Failure> {
    let engine = load_rules_with_warnings(files, select)?;
    let rules = engine.rules();
    let (lists, macros) = engine.list_and_macro_counts();
    let events = match engine.needed_events() {
        Some(e) => e.len().to_string(),
        None => "every".into(),
    };
    let mut out = listing();
    writeln!(
        out,
        "{} file(s) valid: {} rules ({} enabled), {} macros, {} lists, {} warnings; rules need {} event types",
        files.len(),
        rules.len(),
        rules.iter().filter(|r| r.enabled).count(),
        macros,
        lists,
        engine.warnings().len(),
        events
    )
    .map_err(stdout_failure)?;
    finish(out)?;
    for note in engine.notes() {
        eprintln!("{note}");
    }
    Ok(())
}

fn rules_list(files: &[PathBuf], select: &crate::rules::Selection) -> Result<(), Failure> {
    let engine = load_rules_with_warnings(files, select)?;
    let mut out = listing();
    writeln!(
        out,
        "{:<45} {:<13} {:<8} EVENTS",
        "RULE", "PRIORITY", "ENABLED"
    )
    .map_err(stdout_failure)?;
    for r in engine.rules() {
        let events = match &r.event_types {
            Some(t) => t.iter().cloned().collect::<Vec<_>>().join(","),
            None => "all".into(),
        };
        writeln!(
            out,
            "{:<45} {:<13} {:<8} {events}",
            r.name,
            r.priority.name(),
            match (r.enabled, r.active) {
                (_, true) => "yes",
                (true, false) => "off",
                (false, false) => "no",
            }
        )
        .map_err(stdout_failure)?;
    }
    finish(out)
}

fn stats(device: &Path) -> Result<(), Failure> {
    let dev = Device::open_observer(device).map_err(|e| e.to_string())?;
    let info = dev.info();
    let mut out = listing();
    writeln!(
        out,
        "rings {}  ring_size {}  snaplen {}  capturing {}",
        info.nr_rings,
        info.ring_size,
        info.snaplen,
        if info.capturing != 0 { "yes" } else { "no" }
    )
    .map_err(stdout_failure)?;
    writeln!(
        out,
        "{:>4} {:>12} {:>12} {:>14} {:>10} {:>10} {:>10} {:>8} {:>8} {:>10} {:>10} {:>8}",
        "ring",
        "attempted",
        "written",
        "bytes",
        "drop_full",
        "drop_large",
        "drop_fault",
        "lost_rec",
        "pending",
        "param_flt",
        "param_trunc",
        "wakeups"
    )
    .map_err(stdout_failure)?;
    let mut total = kestrel_abi::CpuStats::default();
    for ring in 0..info.nr_rings {
        let s = dev.cpu_stats(ring).map_err(|e| e.to_string())?;
        total.attempted += s.attempted;
        total.written += s.written;
        total.bytes += s.bytes;
        total.drop_ring_full += s.drop_ring_full;
        total.drop_too_large += s.drop_too_large;
        total.drop_fault += s.drop_fault;
        total.lost_records += s.lost_records;
        total.lost_pending += s.lost_pending;
        total.param_faults += s.param_faults;
        total.param_truncated += s.param_truncated;
        total.wakeups += s.wakeups;
        writeln!(
            out,
            "{:>4} {:>12} {:>12} {:>14} {:>10} {:>10} {:>10} {:>8} {:>8} {:>10} {:>10} {:>8}",
            ring,
            s.attempted,
            s.written,
            s.bytes,
            s.drop_ring_full,
            s.drop_too_large,
            s.drop_fault,
            s.lost_records,
            s.lost_pending,
            s.param_faults,
            s.param_truncated,
            s.wakeups
        )
        .map_err(stdout_failure)?;
    }
    writeln!(
        out,
        "total: attempted {} written {} dropped {} (ring full {}, too large {}, fault {}), lost records {}, pending {}",
        total.attempted,
        total.written,
        total.drop_ring_full + total.drop_too_large + total.drop_fault,
        total.drop_ring_full,
        total.drop_too_large,
        total.drop_fault,
        total.lost_records,
        total.lost_pending
    )
    .map_err(stdout_failure)?;
    finish(out)
}

/// `kestrel rules list` and its Falco-style variants: `--list` (fields),
/// `-l RULE` (one rule described), `-L` (rules with descriptions).
fn rules_list_command(
    rules: &[PathBuf],
    select: &crate::rules::Selection,
    descriptions: bool,
    describe: Option<&str>,
    fields: bool,
) -> Result<(), Failure> {
    let text = if fields {
        crate::rules::describe::fields_listing()
    } else if let Some(name) = describe {
        let engine = load_rules_with_warnings(rules, select)?;
        crate::rules::describe::describe_rule(&engine, name)
            .ok_or_else(|| Failure::new(EXIT_RULES, format!("no rule called '{name}'")))?
    } else if descriptions {
        let engine = load_rules_with_warnings(rules, select)?;
        crate::rules::describe::rules_with_descriptions(&engine)
    } else {
        return rules_list(rules, select);
    };
    let mut out = listing();
    out.write_all(text.as_bytes()).map_err(stdout_failure)?;
    finish(out)
}

/// Runs the subcommand `cli` names.  The error is the message to print
/// (empty when there is nothing to say, e.g. the reader of our output went
/// away).
pub fn run(cli: &Cli) -> Result<(), Failure> {
    let plain = |r: Result<(), String>| r.map_err(Failure::from);
    match &cli.command {
        // An empty message: the reader of the events went away.
        Command::Events { args, state } => match events(&cli.device, args, state) {
            Err(m) if m.is_empty() => Err(Failure::new(0, "")),
            other => plain(other),
        },
        Command::Capture {
            file,
            with_env,
            args,
        } => plain(capture(&cli.device, file, *with_env, args)),
        Command::Replay {
            file,
            rules,
            sizes,
            alerts,
            proc_root,
        } => {
            if *sizes {
                replay_sizes(file)
            } else if rules.is_empty() {
                replay(file)
            } else {
                replay_alerts(file, rules, alerts, proc_root.as_deref())
            }
        }
        Command::Run(cmd) => run_service(&cli.device, cmd),
        Command::Rules(RulesCommand::Validate { files, select }) => rules_validate(files, select),
        Command::Rules(RulesCommand::List {
            rules,
            select,
            descriptions,
            describe,
            fields,
        }) => rules_list_command(rules, select, *descriptions, describe.as_deref(), *fields),
        Command::Stats => stats(&cli.device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_checked_never_panic() {
        assert_eq!(duration_arg(1.5), Ok(Duration::from_millis(1500)));
        assert_eq!(
            duration_arg(DURATION_MAX_SECS),
            Ok(Duration::from_secs(1_000_000_000))
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = duration_arg(bad).unwrap_err();
            assert!(e.contains("must be a positive number of seconds"), "{e}");
        }
        // 1e20 panicked in Duration::from_secs_f64; f64::MAX too.
        for huge in [1e20, 1.0e9 + 1.0, f64::MAX] {
            let e = duration_arg(huge).unwrap_err();
            assert!(e.contains("is too long"), "{e}");
        }
        // The longest accepted duration still fits after `now`.
        assert!(std::time::Instant::now()
            .checked_add(duration_arg(DURATION_MAX_SECS).unwrap())
            .is_some());
    }
}
