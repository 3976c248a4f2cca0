//! The `kestrel` command line: its subcommands and what each one does
//! with the library.  The binary (`src/main.rs`) only sets up logging,
//! parses the arguments into a [`Cli`] and calls [`run`].

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::capture::{CaptureFile, CaptureHeader, CaptureWriter};
use crate::decode::{decode, decode_into, Event};
use crate::device::{wall_clock_offset_ns, Device, DEFAULT_DEVICE};
use crate::live::{run_session, start_session, SessionOptions, SessionSummary};
use crate::output::EventLineWriter;
use crate::record::TYPE_LOST;
use crate::rules::event::EventFields;
use crate::rules::{Engine, EngineOptions, Matching, Priority, DEFAULT_RULES};
use crate::state::cli::{write_event_with_context, StateArgs};
use crate::state::{State, StateOptions};
use clap::{Args, Parser, Subcommand};
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
        /// Capture file to write.
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        file: PathBuf,
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
    /// Capture live and print an alert for each event that matches a rule.
    ///
    /// The module records only the syscalls the rules need, unless
    /// --syscalls says otherwise.
    Run {
        /// Rules files, loaded in order.
        #[arg(short = 'r', long = "rules", value_name = "FILE", default_value = DEFAULT_RULES)]
        rules: Vec<PathBuf>,
        #[command(flatten)]
        alerts: AlertArgs,
        #[command(flatten)]
        args: CaptureArgs,
        #[command(flatten)]
        state: StateArgs,
    },
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

/// Set by SIGINT/SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Relaxed: a flag polled by the main loop; async-signal-safe.
    STOP.store(true, Ordering::Relaxed);
}

fn install_signal_handlers() -> Result<(), String> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    // No SA_RESTART: poll() returns EINTR so the loop sees the flag at once.
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe, and replaces no handler we rely on.
        unsafe { sigaction(sig, &action) }.map_err(|e| format!("installing {sig} handler: {e}"))?;
    }
    Ok(())
}

/// Every syscall some event of the ABI's table records.
fn detection_set() -> SyscallMask {
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
    let duration = match args.duration {
        Some(d) if !(d.is_finite() && d > 0.0) => {
            return Err(format!(
                "--duration {d} must be a positive number of seconds"
            ))
        }
        Some(d) => Some(Duration::from_secs_f64(d)),
        None => None,
    };
    Ok(SessionOptions {
        syscalls: parse_syscalls(args.syscalls.as_deref().unwrap_or(ALL_DECODED))?,
        snaplen: args.snaplen,
        count: args.count,
        duration,
    })
}

/// A live session's error as the message to print; none when the reader
/// of our output went away (`| head`): there is nothing more to say.
fn session_error(e: crate::live::SessionError) -> String {
    match e {
        crate::live::SessionError::Sink(io) if io.kind() == io::ErrorKind::BrokenPipe => {
            String::new()
        }
        other => other.to_string(),
    }
}

fn print_summary(summary: &SessionSummary) {
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
                "ring {i}: accounting mismatch: module attempted {} written {} dropped {} pending {}; read {} events and {} reported lost ({} sequence gaps)",
                r.module.attempted,
                r.module.written,
                r.dropped(),
                r.module.lost_pending,
                r.reader.records,
                r.reader.lost_events,
                r.reader.sequence_gaps
            );
        }
    }
    if summary.late > 0 {
        log::warn!("{} events arrived after the reorder window", summary.late);
    }
}

fn print_state_summary(s: &State) {
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
    install_signal_handlers()?;
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

fn capture(device: &Path, file: &Path, args: &CaptureArgs) -> Result<(), String> {
    let opts = session_options(args)?;
    let out =
        std::fs::File::create(file).map_err(|e| format!("creating {}: {e}", file.display()))?;
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
            writer.write(ring, rec)?;
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

fn replay(file: &Path) -> Result<(), String> {
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
        if let Err(e) = writer.write_event_line(&mut out, &ev, ring, offset) {
            return match e.kind() {
                io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(format!("writing output: {e}")),
            };
        }
    }
    out.flush().or_else(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(format!("writing output: {e}")),
    })
}

fn load_rules(paths: &[PathBuf], alerts: &AlertArgs) -> Result<Engine, String> {
    let engine = Engine::load_files_selected(
        paths,
        EngineOptions {
            min_priority: alerts.min_priority,
            matching: if alerts.all_matches {
                Matching::All
            } else {
                Matching::First
            },
        },
        &alerts.select,
    )
    .map_err(|e| format!("rules refused:\n{e}"))?;
    for w in engine.warnings() {
        eprintln!("{w}");
    }
    Ok(engine)
}

/// Matches one decoded event and prints its alerts.
struct AlertSink<'e, W: Write> {
    engine: &'e Engine,
    out: W,
    json: bool,
    hostname: String,
    events: u64,
    alerts: u64,
}

impl<W: Write> AlertSink<'_, W> {
    fn event(&mut self, src: &EventFields<'_, '_>) -> io::Result<()> {
        self.events += 1;
        let mut result = Ok(());
        let (out, json, host) = (&mut self.out, self.json, self.hostname.as_str());
        self.alerts += self.engine.matches(src, |rule| {
            let alert = rule.alert(src, src.wall_ns(), host);
            if result.is_ok() {
                result = if json {
                    serde_json::to_writer(&mut *out, &alert.to_json())
                        .map_err(io::Error::from)
                        .and_then(|()| out.write_all(b"\n"))
                } else {
                    writeln!(out, "{}", alert.text_line())
                };
            }
        }) as u64;
        result
    }
}

fn replay_alerts(
    file: &Path,
    rules: &[PathBuf],
    alerts: &AlertArgs,
    proc_root: Option<&Path>,
) -> Result<(), String> {
    let engine = load_rules(rules, alerts)?;
    let mut state = State::new(StateOptions::for_replay(proc_root.map(Path::to_path_buf)));
    state.scan();
    let capture = CaptureFile::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let offset = capture.header().wall_offset_ns;
    let stdout = io::stdout();
    let mut sink = AlertSink {
        engine: &engine,
        out: BufWriter::new(stdout.lock()),
        json: alerts.json,
        hostname: crate::rules::format::hostname(),
        events: 0,
        alerts: 0,
    };
    let mut ev = Event::default();
    for frame in capture.records() {
        let (at, ring, rec) = frame.map_err(|e| format!("{}: {e}", file.display()))?;
        decode_into(&rec, &mut ev)
            .map_err(|e| format!("{}: corrupt at offset {at}: {e}", file.display()))?;
        state.apply(&ev);
        let mut src = EventFields::new(&ev);
        src.state = Some(&state);
        src.ring = ring;
        src.num = sink.events;
        src.wall_offset_ns = offset;
        if let Err(e) = sink.event(&src) {
            return match e.kind() {
                io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(format!("writing output: {e}")),
            };
        }
    }
    sink.out.flush().or_else(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(format!("writing output: {e}")),
    })?;
    eprintln!("kestrel: {} events, {} alerts", sink.events, sink.alerts);
    Ok(())
}

fn run_live_rules(
    device: &Path,
    rules: &[PathBuf],
    alerts: &AlertArgs,
    args: &CaptureArgs,
    state_args: &StateArgs,
) -> Result<(), String> {
    let engine = load_rules(rules, alerts)?;
    let mut state = State::new(state_args.options());
    state.scan();
    let mut opts = session_options(args)?;
    if args.syscalls.is_none() {
        // What the rules test, plus what keeps the process, fd and user
        // state current (so proc.*, fd.* and container.* stay answerable).
        let mut mask = engine.needed_syscalls();
        for nr in crate::state::needed_syscalls().iter() {
            mask.insert(nr);
        }
        opts.syscalls = mask;
    }
    let dev = open_for_capture(device)?;
    let offset = wall_clock_offset_ns();
    let stdout = io::stdout();
    let sink = std::cell::RefCell::new(AlertSink {
        engine: &engine,
        out: BufWriter::new(stdout.lock()),
        json: alerts.json,
        hostname: crate::rules::format::hostname(),
        events: 0,
        alerts: 0,
    });
    let session = start_session(&dev, &opts).map_err(|e| e.to_string())?;
    // Only now are the probes attached: scripts wait for this line.
    eprintln!(
        "kestrel: capturing on {} rings, {} rules active",
        dev.info().nr_rings,
        engine.rules().iter().filter(|r| r.active).count()
    );
    let summary = run_session(
        session,
        &opts,
        &STOP,
        |ring, rec| {
            if rec.event_type() == TYPE_LOST {
                return Ok(true); // logged by the session; no rule sees it
            }
            match decode(rec) {
                Ok(ev) => {
                    state.apply(&ev);
                    let mut sink = sink.borrow_mut();
                    let mut src = EventFields::new(&ev);
                    src.state = Some(&state);
                    src.ring = ring;
                    src.num = sink.events;
                    src.wall_offset_ns = offset;
                    sink.event(&src)?;
                }
                Err(e) => log::warn!("ring {ring}: skipping undecodable record: {e}"),
            }
            Ok(true)
        },
        || sink.borrow_mut().out.flush(),
    )
    .map_err(session_error)?;
    print_summary(&summary);
    print_state_summary(&state);
    let sink = sink.borrow();
    eprintln!(
        "kestrel: {} events matched, {} alerts",
        sink.events, sink.alerts
    );
    Ok(())
}

/// Loads rules files as `run` would and prints their warnings.
fn load_rules_with_warnings(
    files: &[PathBuf],
    select: &crate::rules::Selection,
) -> Result<Engine, String> {
    let engine = Engine::load_files_selected(files, EngineOptions::default(), select)
        .map_err(|e| format!("rules refused:\n{e}"))?;
    for w in engine.warnings() {
        eprintln!("{w}");
    }
    Ok(engine)
}

fn replay_sizes(file: &Path) -> Result<(), String> {
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
    println!(
        "{:<16} {:>3} {:>8} {:>8} {:>6}",
        "type", "dir", "records", "avg_len", "max"
    );
    for (ty, (count, total, max)) in sizes {
        let (name, dir) = match kestrel_abi::event_schema(ty) {
            Some(s) if s.syscall.is_some() => (s.name, if s.enter { ">" } else { "<" }),
            Some(s) => (s.name, "-"),
            None => ("unknown", "-"),
        };
        println!(
            "{name:<16} {dir:>3} {count:>8} {:>8} {max:>6}",
            total / count
        );
    }
    Ok(())
}

fn rules_validate(files: &[PathBuf], select: &crate::rules::Selection) -> Result<(), String> {
    let engine = load_rules_with_warnings(files, select)?;
    let rules = engine.rules();
    let (lists, macros) = engine.list_and_macro_counts();
    let events = match engine.needed_events() {
        Some(e) => e.len().to_string(),
        None => "every".into(),
    };
    println!(
        "{} file(s) valid: {} rules ({} enabled), {} macros, {} lists, {} warnings; rules need {} event types",
        files.len(),
        rules.len(),
        rules.iter().filter(|r| r.enabled).count(),
        macros,
        lists,
        engine.warnings().len(),
        events
    );
    for note in engine.notes() {
        eprintln!("{note}");
    }
    Ok(())
}

fn rules_list(files: &[PathBuf], select: &crate::rules::Selection) -> Result<(), String> {
    let engine = load_rules_with_warnings(files, select)?;
    println!("{:<45} {:<13} {:<8} EVENTS", "RULE", "PRIORITY", "ENABLED");
    for r in engine.rules() {
        let events = match &r.event_types {
            Some(t) => t.iter().cloned().collect::<Vec<_>>().join(","),
            None => "all".into(),
        };
        println!(
            "{:<45} {:<13} {:<8} {events}",
            r.name,
            r.priority.name(),
            match (r.enabled, r.active) {
                (true, true) => "yes",
                (true, false) => "off",
                _ => "no",
            }
        );
    }
    Ok(())
}

fn stats(device: &Path) -> Result<(), String> {
    let dev = Device::open_observer(device).map_err(|e| e.to_string())?;
    let info = dev.info();
    println!(
        "rings {}  ring_size {}  snaplen {}  capturing {}",
        info.nr_rings,
        info.ring_size,
        info.snaplen,
        if info.capturing != 0 { "yes" } else { "no" }
    );
    println!(
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
    );
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
        println!(
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
        );
    }
    println!(
        "total: attempted {} written {} dropped {} (ring full {}, too large {}, fault {}), lost records {}, pending {}",
        total.attempted,
        total.written,
        total.drop_ring_full + total.drop_too_large + total.drop_fault,
        total.drop_ring_full,
        total.drop_too_large,
        total.drop_fault,
        total.lost_records,
        total.lost_pending
    );
    Ok(())
}

/// Runs the subcommand `cli` names.  The error is the message to print
/// (empty when there is nothing to say, e.g. the reader of our output went
/// away).
pub fn run(cli: &Cli) -> Result<(), String> {
    match &cli.command {
        Command::Events { args, state } => events(&cli.device, args, state),
        Command::Capture { file, args } => capture(&cli.device, file, args),
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
        Command::Run {
            rules,
            alerts,
            args,
            state,
        } => run_live_rules(&cli.device, rules, alerts, args, state),
        Command::Rules(RulesCommand::Validate { files, select }) => rules_validate(files, select),
        Command::Rules(RulesCommand::List {
            rules,
            select,
            descriptions,
            describe,
            fields,
        }) => match (fields, describe, descriptions) {
            (true, _, _) => {
                print!("{}", crate::rules::describe::fields_listing());
                Ok(())
            }
            (_, Some(name), _) => {
                let engine = load_rules_with_warnings(rules, select)?;
                let text = crate::rules::describe::describe_rule(&engine, name)
                    .ok_or_else(|| format!("no rule called '{name}'"))?;
                print!("{text}");
                Ok(())
            }
            (_, None, true) => {
                let engine = load_rules_with_warnings(rules, select)?;
                print!(
                    "{}",
                    crate::rules::describe::rules_with_descriptions(&engine)
                );
                Ok(())
            }
            _ => rules_list(rules, select),
        },
        Command::Stats => stats(&cli.device),
    }
}
