//! What the k-way merge costs per event as the number of rings grows:
//! `cargo bench -p kestrel --bench merge`.
//!
//! 1, 8 and 64 simulated rings (`kestrel::ring::sim`) are filled with
//! GENERIC-sized records whose timestamps go round-robin over the rings
//! (the worst case for the merge: every record comes from another ring
//! than the last), then merged in one pass the way `run` drains them.
//! Two merges:
//!
//! - `heap`: [`kestrel::merge::Merger`]: a heap of the rings that hold a
//!   record; heads of empty rings loaded once per pass;
//! - `scan`: the merge before issue 12, re-stated here for comparison:
//!   every ring's next record (and every empty ring's head) looked at for
//!   every record released.
//!
//! Each figure is the best of `ROUNDS` passes (default 20) over `EVENTS`
//! events (default 262,144); the table gives ns per event and the head
//! loads per event (each one a cache line another CPU writes, a remote
//! load on a real host).  The second pair has one busy ring and the
//! others empty (the common case on a big host: a few CPUs busy): what
//! the empty rings cost.  `RINGS=n` runs one ring count; for instruction
//! counts (the machine is shared, wall clock is noisy):
//!
//! ```text
//! RINGS=64 ROUNDS=1 EVENTS=65536 valgrind --tool=callgrind \
//!     --collect-atstart=no --toggle-collect='*merge_heap*' BENCH_BINARY
//! ```

use std::hint::black_box;
use std::time::Instant;

use kestrel::merge::{Merger, Step};
use kestrel::record::RecordBuilder;
use kestrel::ring::sim::RingMemory;
use kestrel::ring::RingReader;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn record(ts: u64) -> Vec<u8> {
    RecordBuilder::new(3, ts, 2, 3)
        .u32(39)
        .i64(0)
        .param(&[0u8; 24])
        .build()
}

/// The merge before issue 12: look at every ring per record.
fn scan_next(rings: &mut [RingReader]) -> Option<usize> {
    let mut best: Option<(u64, usize)> = None;
    for (i, ring) in rings.iter_mut().enumerate() {
        if let Some(ts) = ring.peek_ts().unwrap() {
            if best.is_none_or(|(b, _)| ts < b) {
                best = Some((ts, i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// Merges everything with [`Merger`]; returns the records released.  Not
/// inlined, so callgrind can count it alone (`--toggle-collect=*merge_heap*`).
#[inline(never)]
fn merge_heap(readers: &mut [RingReader]) -> u64 {
    let mut merger = Merger::new(5_000_000);
    let (mut sum, mut n) = (0u64, 0u64);
    while let Step::Ready(i) = merger.next(readers, Some(u64::MAX / 2)).unwrap() {
        sum = sum.wrapping_add(readers[i].current().unwrap().ts_ns());
        readers[i].consume();
        n += 1;
    }
    black_box(sum);
    n
}

/// The same with the old scan.
#[inline(never)]
fn merge_scan(readers: &mut [RingReader]) -> u64 {
    let (mut sum, mut n) = (0u64, 0u64);
    while let Some(i) = scan_next(readers) {
        sum = sum.wrapping_add(readers[i].current().unwrap().ts_ns());
        readers[i].consume();
        n += 1;
    }
    black_box(sum);
    n
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Heap,
    Scan,
    HeapIdle,
    ScanIdle,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Heap, Kind::Scan, Kind::HeapIdle, Kind::ScanIdle];

    fn scans(self) -> bool {
        matches!(self, Kind::Scan | Kind::ScanIdle)
    }

    fn idle(self) -> bool {
        matches!(self, Kind::HeapIdle | Kind::ScanIdle)
    }
}

/// One pass: fills the rings, merges them; returns (seconds, head loads).
fn pass(n_rings: usize, events: u64, kind: Kind) -> (f64, f64) {
    let rec_len = record(0).len() as u64;
    let busy_rings = if kind.idle() { 1 } else { n_rings };
    let per_ring = events.div_ceil(busy_rings as u64);
    let size = (per_ring * rec_len * 2).next_power_of_two().max(4096);
    let mems: Vec<_> = (0..n_rings).map(|_| RingMemory::new(size)).collect();
    for (r, m) in mems.iter().enumerate().take(busy_rings) {
        let mut p = m.producer_half();
        for k in 0..per_ring {
            p.push(&record(1 + k * busy_rings as u64 + r as u64))
                .unwrap();
        }
    }
    let mut readers: Vec<_> = mems.iter().enumerate().map(|(i, m)| m.reader(i)).collect();
    let t = Instant::now();
    let n = if kind.scans() {
        merge_scan(&mut readers)
    } else {
        merge_heap(&mut readers)
    };
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(n, per_ring * busy_rings as u64);
    let loads: u64 = readers.iter().map(|r| r.stats().head_loads).sum();
    (secs / n as f64, loads as f64 / n as f64)
}

fn main() {
    let events = env("EVENTS", 1 << 18);
    let rounds = env("ROUNDS", 20).max(1);
    // RINGS=64 runs one ring count, KIND=0..3 one column (for callgrind).
    let only = std::env::var("RINGS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    let kind_only = std::env::var("KIND")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    println!("merge: best of {rounds} passes over {events} events");
    println!("| rings | all busy, round-robin: heap | scan | one busy, rest empty: heap | scan |");
    println!("|-------|-----------------------------|------|----------------------------|------|");
    for n_rings in [1usize, 8, 64] {
        if only.is_some_and(|r| r != n_rings) {
            continue;
        }
        let mut best = [f64::MAX; 4];
        let mut loads = [0f64; 4];
        for _ in 0..rounds {
            for (k, kind) in Kind::ALL.into_iter().enumerate() {
                if kind_only.is_some_and(|o| o != k) {
                    continue;
                }
                let (per_event, l) = pass(n_rings, events, kind);
                best[k] = best[k].min(per_event);
                loads[k] = l;
            }
        }
        let cell = |k: usize| format!("{:.0} ns, {:.2} loads", best[k] * 1e9, loads[k]);
        println!(
            "| {n_rings:5} | {} | {} | {} | {} |",
            cell(0),
            cell(1),
            cell(2),
            cell(3)
        );
    }
    println!("(ns per event; head loads per event: each one a cache line another CPU writes)");
}
