//! Alert delivery costs: `cargo bench -p kestrel --bench outputs`.
//!
//! 1. Memory: heap bytes of the sink queues at their default capacity
//!    (`DEFAULT_QUEUE_CAPACITY`), measured by a counting allocator, and the
//!    heap size of one real alert (the sensitive-file alert of the default
//!    rules), which bounds what a full queue holds.
//! 2. The caller's cost of `send()`: per alert, to 1, 3 and 5 sinks whose
//!    queues have room (the sinks keep up), and to 5 sinks whose queues are
//!    full (hung sinks: every alert is dropped and counted).
//! 3. The sink thread's cost of rendering one alert: Falco's text line and
//!    Falco's JSON object.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kestrel::decode::decode;
use kestrel::output::{render_into, Alert, AlertFormat, Outputs, Sink, DEFAULT_QUEUE_CAPACITY};
use kestrel::record::Record;
use kestrel::rules::cases::parse_case_file;
use kestrel::rules::event::EventFields;
use kestrel::rules::{Engine, EngineOptions};

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // Relaxed: a statistic read after the measured code has run.
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // Relaxed: as above.
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // Relaxed: as above.
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from this allocator with layout `l`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    // Relaxed: read on the thread that did the measured allocations.
    LIVE.load(Ordering::Relaxed)
}

/// The alert the default rules raise on `cat /etc/shadow`.
fn real_alert() -> Alert {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let engine = Engine::load_files(
        &[root.join("rules/kestrel_rules.yaml")],
        EngineOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(root.join("tests/rules/sensitive_file_read.yaml")).unwrap();
    let case = parse_case_file(&text).unwrap().fires.remove(0);
    let rec = Record::parse(&case.records[0]).unwrap();
    let ev = decode(&rec).unwrap();
    let mut src = EventFields::new(&ev);
    src.state = Some(&case.context);
    let mut alert = None;
    engine.matches(&src, |r| {
        alert.get_or_insert_with(|| r.alert(&src, 1_764_000_000_123_456_789, "node-1.example"));
    });
    alert.expect("the rule fires")
}

/// A sink that takes alerts and does nothing, optionally hanging.
struct Null {
    name: String,
    hang: Option<Arc<Mutex<()>>>,
}

impl Sink for Null {
    fn name(&self) -> &str {
        &self.name
    }
    fn deliver(&mut self, a: &Alert) -> std::io::Result<()> {
        if let Some(h) = &self.hang {
            drop(h.lock());
        }
        black_box(a);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn null_sinks(n: usize, hang: Option<&Arc<Mutex<()>>>) -> Vec<Box<dyn Sink>> {
    (0..n)
        .map(|i| {
            Box::new(Null {
                name: format!("null{i}"),
                hang: hang.cloned(),
            }) as Box<dyn Sink>
        })
        .collect()
}

fn memory(alert: &Alert) {
    let before = live();
    let one = Outputs::start(null_sinks(5, None), 1).unwrap();
    let small = live() - before;
    one.shutdown(Duration::from_secs(5));
    let before = live();
    let full = Outputs::start(null_sinks(5, None), DEFAULT_QUEUE_CAPACITY).unwrap();
    let big = live() - before;
    full.shutdown(Duration::from_secs(5));
    let per_queue = (big - small) as f64 / 5.0;
    println!(
        "queue memory: {} bytes of heap per sink queue at capacity {} ({:.1} bytes per slot); \
         5 sinks: {} bytes with the dispatcher and threads' bookkeeping",
        per_queue as i64,
        DEFAULT_QUEUE_CAPACITY,
        per_queue / (DEFAULT_QUEUE_CAPACITY - 1) as f64,
        big
    );
    let before = live();
    let copy = Arc::new(alert.clone());
    let alert_bytes = live() - before;
    drop(copy);
    println!(
        "alert memory: {alert_bytes} bytes of heap for one real alert ({} output fields, output {} bytes); \
         a full queue of distinct alerts holds {} KiB (shared by all sinks, each alert counted once)",
        alert.output_fields.len(),
        alert.output.len(),
        alert_bytes as usize * DEFAULT_QUEUE_CAPACITY / 1024
    );
}

fn send_cost(alert: &Arc<Alert>, sinks: usize) {
    let outputs = Outputs::start(null_sinks(sinks, None), DEFAULT_QUEUE_CAPACITY).unwrap();
    let batch = DEFAULT_QUEUE_CAPACITY / 2;
    let rounds = 400;
    let mut spent = Duration::ZERO;
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            outputs.send(alert.clone());
        }
        spent += t.elapsed();
        // Let the sinks empty their queues, outside the timing.
        while outputs.stats().iter().any(|s| s.queue_depth > 0) {
            std::thread::yield_now();
        }
    }
    let stats = outputs.shutdown(Duration::from_secs(5));
    let n = (rounds * batch) as f64;
    println!(
        "send(): {:.0} ns per alert to {sinks} sink(s) with room ({} sent, {} dropped)",
        spent.as_nanos() as f64 / n,
        rounds * batch,
        stats.iter().map(|s| s.dropped).sum::<u64>()
    );
}

fn send_cost_all_full(alert: &Arc<Alert>) {
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().unwrap();
    let outputs = Outputs::start(null_sinks(5, Some(&gate)), DEFAULT_QUEUE_CAPACITY).unwrap();
    for _ in 0..DEFAULT_QUEUE_CAPACITY + 1 {
        outputs.send(alert.clone());
    }
    let n = 1_000_000;
    let t = Instant::now();
    for _ in 0..n {
        outputs.send(alert.clone());
    }
    let spent = t.elapsed();
    let dropped: u64 = outputs.stats().iter().map(|s| s.dropped).sum();
    println!(
        "send(): {:.0} ns per alert to 5 hung sinks (queues full; {} drops counted)",
        spent.as_nanos() as f64 / n as f64,
        dropped
    );
    drop(held);
    outputs.shutdown(Duration::from_secs(5));
}

fn render_cost(alert: &Alert) {
    let mut buf = Vec::with_capacity(4096);
    for (what, fmt) in [
        ("text line", AlertFormat::default()),
        (
            "JSON",
            AlertFormat {
                json: true,
                ..Default::default()
            },
        ),
    ] {
        let n = 200_000;
        let t = Instant::now();
        for _ in 0..n {
            buf.clear();
            render_into(&mut buf, black_box(alert), &fmt);
            black_box(&buf);
        }
        println!(
            "render: {:.0} ns per alert as Falco's {what} ({} bytes)",
            t.elapsed().as_nanos() as f64 / n as f64,
            buf.len()
        );
    }
}

fn main() {
    let alert = real_alert();
    memory(&alert);
    let alert = Arc::new(alert);
    for sinks in [1, 3, 5] {
        send_cost(&alert, sinks);
    }
    send_cost_all_full(&alert);
    render_cost(&alert);
}
