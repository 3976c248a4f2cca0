//! The host benchmark of `make bench`: one core through decode, process
//! state and rules, over a busy container host's capture
//! ([`kestrel::workload`]).  Four rows:
//!
//! - `decode`: record parse + decode (into one reused event);
//! - `state`: + the state module applying each event;
//! - `default`: + matching the default rules (`rules/kestrel_rules.yaml`)
//!   with the state answering process, fd, user and container fields;
//! - `upstream`: the same with Falco's three rule files
//!   (`$FALCO_RULES`, default `../shared/falco-rules/` beside the
//!   repository) instead.
//!
//! Each row replays the capture once to warm the state up (threads,
//! containers, users known; tables grown), then `ROUNDS` (default 10)
//! timed passes over the same state; the figure is the best pass.  A
//! counting global allocator gives allocations per event over the timed
//! passes.  Environment: `EVENTS` (default 200,000), `ROUNDS`, `PHASE`
//! (one row only), `SEED`.
//!
//! Instructions per event come from callgrind, one row at a time: each
//! row's loop is a function of its own (`phase_decode`, `phase_state`,
//! `phase_rules`) that `scripts/bench.sh` counts with
//! `--toggle-collect` and `ROUNDS=1`: one steady-state pass, since the
//! warm-up pass runs the same loop from `warm_*` functions, outside the
//! count.  `WARM=0` skips the warm-up.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kestrel::decode::{decode_into, Event};
use kestrel::record::Record;
use kestrel::rules::event::EventFields;
use kestrel::rules::{Engine, EngineOptions};
use kestrel::state::{State, StateOptions};

/// Counts allocations (and reallocations) made through the global
/// allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; the counter is a plain statistic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Relaxed: a statistic read after the measured loop on this thread.
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Relaxed: as above.
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Relaxed: as above.
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    // Relaxed: read on the thread that counted.
    ALLOCS.load(Ordering::Relaxed)
}

fn records(buf: &[u8]) -> impl Iterator<Item = Record<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rec = Record::parse(buf.get(at..)?).ok()?;
        at += rec.len();
        Some(rec)
    })
}

#[inline(always)]
fn decode_loop(buf: &[u8]) {
    let mut ev = Event::default();
    for rec in records(buf) {
        decode_into(&rec, &mut ev).expect("decodes");
        black_box(&ev);
    }
}

#[inline(always)]
fn state_loop(buf: &[u8], state: &mut State) {
    let mut ev = Event::default();
    for rec in records(buf) {
        decode_into(&rec, &mut ev).expect("decodes");
        state.apply(&ev);
        black_box(&ev);
    }
}

#[inline(always)]
fn rules_loop(buf: &[u8], state: &mut State, engine: &Engine) -> usize {
    let mut ev = Event::default();
    let mut alerts = 0;
    for (num, rec) in records(buf).enumerate() {
        decode_into(&rec, &mut ev).expect("decodes");
        state.apply(&ev);
        let mut src = EventFields::new(&ev);
        src.state = Some(&*state);
        src.num = num as u64;
        alerts += engine.matches(black_box(&src), |r| {
            black_box(r);
        });
    }
    alerts
}

// The timed passes (`phase_*`) and the warm-up pass (`warm_*`) run the
// same loops from functions of their own, so that callgrind's
// --toggle-collect='*phase_rules*' counts the steady-state passes alone.

#[inline(never)]
fn phase_decode(buf: &[u8]) {
    decode_loop(buf)
}

#[inline(never)]
fn warm_decode(buf: &[u8]) {
    black_box("warm-up"); // not the same code as phase_decode: never merged with it
    decode_loop(buf)
}

#[inline(never)]
fn phase_state(buf: &[u8], state: &mut State) {
    state_loop(buf, state)
}

#[inline(never)]
fn warm_state(buf: &[u8], state: &mut State) {
    black_box("warm-up");
    state_loop(buf, state)
}

#[inline(never)]
fn phase_rules(buf: &[u8], state: &mut State, engine: &Engine) -> usize {
    rules_loop(buf, state, engine)
}

#[inline(never)]
fn warm_rules(buf: &[u8], state: &mut State, engine: &Engine) -> usize {
    black_box("warm-up");
    rules_loop(buf, state, engine)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn new_state() -> State {
    State::new(StateOptions {
        proc_root: None,
        host_root: PathBuf::from("/nonexistent-kestrel-bench-root"),
        ..StateOptions::default()
    })
}

struct Row {
    name: &'static str,
    rate: f64,
    allocs_per_event: f64,
    alerts: usize,
}

fn main() {
    let events: usize = env_or("EVENTS", 200_000);
    let rounds: usize = env_or("ROUNDS", 10).max(1);
    let seed: u64 = env_or("SEED", 1);
    let warm = env_or("WARM", 1u32) != 0;
    let phase = std::env::var("PHASE").unwrap_or_default();
    let run = |name: &str| phase.is_empty() || phase == name;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let upstream_dir = std::env::var_os("FALCO_RULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../../shared/falco-rules"));
    let upstream_dir = if upstream_dir.exists() {
        upstream_dir
    } else {
        PathBuf::from("/work/shared/falco-rules")
    };

    let w = kestrel::workload::generate(events, seed);
    let buf = &w.records;
    let n = w.events as f64;
    eprintln!(
        "workload: {} events, {:.1} MB (seed {seed}), {rounds} timed passes per row",
        w.events,
        buf.len() as f64 / 1e6
    );
    if std::env::var_os("MIX").is_some() {
        // The workload's mix by event name, for docs/performance.md.
        let mut mix = std::collections::BTreeMap::<&str, usize>::new();
        for rec in records(buf) {
            *mix.entry(kestrel::decode::type_name(rec.event_type()))
                .or_default() += 1;
        }
        for (name, k) in mix {
            eprintln!("{name:>10} {k:>7} {:5.1}%", 100.0 * k as f64 / n);
        }
    }
    let mut rows = Vec::new();

    let measure =
        |name: &'static str, warm_up: &mut dyn FnMut(), pass: &mut dyn FnMut() -> usize| -> Row {
            if warm {
                warm_up();
            }
            let mut best = 0f64;
            let before = allocs();
            let mut alerts = 0;
            for _ in 0..rounds {
                let t = Instant::now();
                alerts = pass();
                best = best.max(n / t.elapsed().as_secs_f64());
            }
            Row {
                name,
                rate: best,
                allocs_per_event: (allocs() - before) as f64 / (n * rounds as f64),
                alerts,
            }
        };

    if run("decode") {
        rows.push(measure("decode", &mut || warm_decode(buf), &mut || {
            phase_decode(buf);
            0
        }));
    }
    if run("state") {
        let state = std::cell::RefCell::new(new_state());
        rows.push(measure(
            "+ state",
            &mut || warm_state(buf, &mut state.borrow_mut()),
            &mut || {
                phase_state(buf, &mut state.borrow_mut());
                0
            },
        ));
    }
    for (key, label, files) in [
        (
            "default",
            "+ default rules",
            vec![root.join("rules/kestrel_rules.yaml")],
        ),
        (
            "upstream",
            "+ upstream 3 files",
            [
                "falco_rules.yaml",
                "falco-incubating_rules.yaml",
                "falco-sandbox_rules.yaml",
            ]
            .iter()
            .map(|f| upstream_dir.join(f))
            .collect(),
        ),
    ] {
        if !run(key) {
            continue;
        }
        let engine = match Engine::load_files(&files, EngineOptions::default()) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("{key}: rules do not load, row skipped: {e}");
                continue;
            }
        };
        let active = engine.rules().iter().filter(|r| r.active).count();
        let state = std::cell::RefCell::new(new_state());
        let mut row = measure(
            label,
            &mut || {
                warm_rules(buf, &mut state.borrow_mut(), &engine);
            },
            &mut || phase_rules(buf, &mut state.borrow_mut(), &engine),
        );
        eprintln!(
            "{key}: {active} active rules, {} alerts per pass",
            row.alerts
        );
        row.name = label;
        rows.push(row);
    }

    println!("| path | M events/s | allocs/event |");
    println!("|------|-----------:|-------------:|");
    for r in &rows {
        println!(
            "| {} | {:.2} | {:.3} |",
            r.name,
            r.rate / 1e6,
            r.allocs_per_event
        );
    }
}
