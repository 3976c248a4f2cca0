//! Allocations per event on the hot path, counted by a global allocator
//! over a steady-state replay of the busy-container-host workload
//! ([`kestrel::workload`]) after a warm-up pass over the same records.
//!
//! Decoding allocates nothing.  The state and rule paths are not there
//! yet (issue 12's target is zero on both): these tests hold them at or
//! below today's figures so that a change that adds allocations per event
//! fails here, and are to be tightened to zero as the remaining ones go
//! (process entries and their strings on fork/exec, fd paths on open, the
//! per-lookup text of `proc.cmdline`/`proc.args` from the state, flag
//! names, list values).  `make bench` prints the same figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use kestrel::decode::{decode_into, Event};
use kestrel::record::Record;
use kestrel::rules::event::EventFields;
use kestrel::rules::{Engine, EngineOptions};
use kestrel::state::{State, StateOptions};

/// Counts the allocations of the thread that turned counting on (the test
/// harness runs other tests on other threads at the same time).
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // try_with: the thread-locals may be gone while a thread exits.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; counting touches only const-initialised
// thread-locals (no allocation, no recursion into the allocator).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn count(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    COUNT.with(Cell::get)
}

const EVENTS: usize = 20_000;

fn records(buf: &[u8]) -> impl Iterator<Item = Record<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rec = Record::parse(buf.get(at..)?).ok()?;
        at += rec.len();
        Some(rec)
    })
}

fn new_state() -> State {
    State::new(StateOptions {
        proc_root: None,
        host_root: PathBuf::from("/nonexistent-kestrel-alloc-test-root"),
        ..StateOptions::default()
    })
}

/// Decode, state and (if given) rules over every record; returns alerts.
fn pass(buf: &[u8], state: &mut State, engine: Option<&Engine>) -> usize {
    let mut ev = Event::default();
    let mut alerts = 0;
    for (num, rec) in records(buf).enumerate() {
        decode_into(&rec, &mut ev).expect("decodes");
        state.apply(&ev);
        if let Some(engine) = engine {
            let mut src = EventFields::new(&ev);
            src.state = Some(&*state);
            src.num = num as u64;
            alerts += engine.matches(&src, |_| {});
        }
    }
    alerts
}

/// Allocations per event of a steady-state pass (after a warm-up pass).
fn per_event(engine: Option<&Engine>) -> (f64, usize) {
    let w = kestrel::workload::generate(EVENTS, 3);
    let mut state = new_state();
    pass(&w.records, &mut state, engine);
    let mut alerts = 0;
    let n = count(|| alerts = pass(&w.records, &mut state, engine));
    (n as f64 / w.events as f64, alerts)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn decoding_allocates_nothing() {
    let w = kestrel::workload::generate(EVENTS, 3);
    let mut ev = Event::default();
    let mut decoded = 0;
    let n = count(|| {
        for rec in records(&w.records) {
            decode_into(&rec, &mut ev).expect("decodes");
            decoded += 1;
        }
    });
    assert_eq!(decoded, w.events);
    assert_eq!(n, 0, "decoding {decoded} records allocated {n} times");
}

#[test]
fn the_counter_sees_allocations() {
    // The allocator under test counts what it should: otherwise every
    // bound here would hold trivially.
    let n = count(|| {
        std::hint::black_box(vec![1u8; 64]);
    });
    assert_eq!(n, 1);
}

#[test]
fn state_and_default_rules_stay_within_todays_allocations() {
    let (state_only, _) = per_event(None);
    assert!(
        state_only <= 1.15,
        "state: {state_only:.3} allocations per event (today 1.11)"
    );
    let engine = Engine::load_files(
        &[repo().join("rules/kestrel_rules.yaml")],
        EngineOptions::default(),
    )
    .expect("default rules load");
    let (with_rules, alerts) = per_event(Some(&engine));
    eprintln!("allocations per event: state {state_only:.3}, + default rules {with_rules:.3}");
    assert!(alerts > 0, "the workload's /etc/shadow reads alert");
    // What the rules add to the state's own.
    assert!(
        with_rules - state_only <= 0.3,
        "default rules: {:.3} allocations per event beyond the state's (today 0.28)",
        with_rules - state_only
    );
}

#[test]
fn upstream_rules_stay_within_todays_allocations() {
    let dir = repo().join("../../shared/falco-rules");
    let dir = if dir.exists() {
        dir
    } else {
        PathBuf::from("/work/shared/falco-rules")
    };
    let files: Vec<PathBuf> = [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    if !files.iter().all(|f| f.exists()) {
        eprintln!("skipped: Falco's rule files are not in {}", dir.display());
        return;
    }
    let engine = Engine::load_files(&files, EngineOptions::default()).expect("upstream rules load");
    let (state_only, _) = per_event(None);
    let (with_rules, _) = per_event(Some(&engine));
    eprintln!("allocations per event: state {state_only:.3}, + upstream rules {with_rules:.3}");
    assert!(
        with_rules - state_only <= 1.5,
        "upstream rules: {:.3} allocations per event beyond the state's (today 1.43)",
        with_rules - state_only
    );
}
