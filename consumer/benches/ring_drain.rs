//! How fast one core drains a ring: `cargo bench -p kestrel --bench ring_drain`.
//!
//! Two figures: the reader alone over a ring filled beforehand (pure
//! consumer cost per record), and reader and producer running at once on two
//! threads (the producer waits for space, as a fast module would keep the
//! ring busy).  Records are 64 bytes, about the size of a GENERIC event.

use std::hint::black_box;
use std::thread;
use std::time::Instant;

use kestrel::record::RecordBuilder;
use kestrel::ring::sim::RingMemory;

const RING: u64 = 8 << 20;

fn sample() -> Vec<u8> {
    // GENERIC layout: nr, res, six args.
    RecordBuilder::new(3, 1, 2, 3)
        .u32(39)
        .i64(0)
        .param(&[0u8; 48])
        .build()
}

fn drain_prefilled(rounds: u32) -> f64 {
    let rec = sample();
    let mem = RingMemory::new(RING);
    let mut producer = mem.producer_half();
    let mut reader = mem.reader(0);
    let mut total = 0u64;
    let mut elapsed = 0.0;
    for _ in 0..rounds {
        let mut n = 0u64;
        while producer.fits(rec.len() as u64) {
            producer.push(&rec).unwrap();
            n += 1;
        }
        let t = Instant::now();
        let mut sum = 0u64;
        while let Some(ts) = reader.peek_ts().unwrap() {
            sum = sum.wrapping_add(ts);
            let r = reader.current().unwrap();
            black_box(r.param(0));
            reader.consume();
        }
        reader.flush();
        elapsed += t.elapsed().as_secs_f64();
        black_box(sum);
        total += n;
    }
    total as f64 / elapsed
}

fn drain_concurrent(n: u64) -> f64 {
    let rec = sample();
    let mem = RingMemory::new(RING);
    let mut producer = mem.producer_half();
    let mut reader = mem.reader(0);
    let t = Instant::now();
    let handle = thread::spawn(move || {
        for _ in 0..n {
            while !producer.fits(rec.len() as u64) {
                std::hint::spin_loop();
            }
            producer.push(&rec).unwrap();
        }
    });
    let mut got = 0u64;
    while got < n {
        while let Some(r) = reader.peek().unwrap() {
            black_box(r.param(0));
            reader.consume();
            got += 1;
        }
    }
    handle.join().unwrap();
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep it short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (rounds, n) = if quick {
        (1, 100_000)
    } else {
        (20, 20_000_000)
    };
    let pre = drain_prefilled(rounds);
    println!(
        "ring_drain/prefilled: {:.1} M records/s on one core",
        pre / 1e6
    );
    let conc = drain_concurrent(n);
    println!(
        "ring_drain/concurrent: {:.1} M records/s (producer + reader threads)",
        conc / 1e6
    );
}
