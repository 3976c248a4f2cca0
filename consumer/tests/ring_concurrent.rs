//! The ring reader against a concurrent producer that follows the module's
//! protocol (`kestrel::ring::sim`), in userspace.  Small cases also run
//! under Miri (`cargo +nightly miri test --test ring_concurrent`), which
//! checks the reader's unsafe code and its atomics for data races.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use kestrel::record::{RecordBuilder, TYPE_LOST, TYPE_PAD};
use kestrel::ring::sim::{DropReason, RingMemory};

/// Record i: GENERIC-shaped, its sequence number in ts and in a parameter,
/// and a payload whose length varies so records meet the ring's end at
/// every alignment.
fn record(i: u64) -> Vec<u8> {
    let payload: Vec<u8> = (0..(i % 61) as u8).collect();
    RecordBuilder::new(3, i, i as u32, 7)
        .u64(i)
        .param(&payload)
        .build()
}

fn check_record(bytes_seq: u64, rec: &kestrel::record::Record<'_>) {
    assert_eq!(rec.ts_ns(), bytes_seq, "records out of order");
    assert_eq!(rec.param(0).unwrap().u64(), Some(bytes_seq));
    let payload = rec.param(1).unwrap().bytes;
    assert_eq!(payload.len() as u64, bytes_seq % 61);
    assert!(payload.iter().enumerate().all(|(j, &b)| b == j as u8));
}

fn scale(n: u64) -> u64 {
    if cfg!(miri) {
        n / 500
    } else {
        n
    }
}

/// A producer that retries when the ring is full never loses anything, and
/// the reader sees every record in order, across many wraps of a small ring.
#[test]
fn no_loss_when_the_producer_waits_for_space() {
    let n = scale(200_000);
    let mem = RingMemory::new(4096);
    let mut producer = mem.producer_half();
    let mut reader = mem.reader(0);
    let done = Arc::new(AtomicBool::new(false));
    let done_p = Arc::clone(&done);
    let handle = thread::spawn(move || {
        for i in 0..n {
            let rec = record(i);
            // A full ring is a drop in the module; this producer waits for
            // space instead, to test the no-loss path.
            while !producer.fits(rec.len() as u64) {
                thread::yield_now();
            }
            producer.push(&rec).unwrap();
        }
        // Release: pairs with the acquire below; the final head store
        // happens before the reader sees `done`.
        done_p.store(true, Ordering::Release);
        producer.counts()
    });
    let mut next = 0u64;
    loop {
        // Acquire the flag before the last look at the ring.
        let finished = done.load(Ordering::Acquire);
        while let Some(rec) = reader.peek().unwrap() {
            assert_ne!(rec.event_type(), TYPE_LOST);
            check_record(next, &rec);
            next += 1;
            reader.consume();
        }
        if finished {
            break;
        }
        thread::yield_now();
    }
    let counts = handle.join().unwrap();
    assert_eq!(next, n);
    assert_eq!(counts.written, n);
    assert_eq!(reader.stats().records, n);
    assert_eq!(reader.stats().sequence_gaps, 0);
}

/// A producer that drops when the ring is full (as the module does): every
/// event is either read in order or reported by a LOST record at the exact
/// place of the gap, and produced == consumed + dropped.
#[test]
fn exact_drop_accounting_when_the_ring_fills() {
    let n = scale(100_000);
    let mem = RingMemory::new(2048);
    let mut producer = mem.producer_half();
    let mut reader = mem.reader(0);
    let done = Arc::new(AtomicBool::new(false));
    let done_p = Arc::clone(&done);
    let pushed = Arc::new(AtomicU64::new(0));
    let pushed_p = Arc::clone(&pushed);
    let handle = thread::spawn(move || {
        let mut dropped = 0u64;
        for i in 0..n {
            if producer.push(&record(i)).is_err() {
                dropped += 1;
            }
            // Relaxed: only paces the reader; no data rides on it.
            pushed_p.store(i + 1, Ordering::Relaxed);
        }
        // One more event that fits once the reader catches up flushes the
        // pending LOST record, as the module's next event would.
        loop {
            match producer.push(&record(n)) {
                Ok(()) => break,
                Err(_) => {
                    dropped += 1;
                    thread::yield_now();
                }
            }
        }
        done_p.store(true, Ordering::Release);
        (producer.counts(), dropped, producer.lost_pending())
    });
    // Expected sequence number of the next event (read or lost).
    let mut seq = 0u64;
    let mut read = 0u64;
    let mut lost = 0u64;
    let mut slow = 0u32;
    // Let the producer run ahead by many ring-fulls first, so the ring
    // surely fills however the threads are scheduled.
    while pushed.load(Ordering::Relaxed) < n / 2 {
        thread::yield_now();
    }
    loop {
        let finished = done.load(Ordering::Acquire);
        while let Some(rec) = reader.peek().unwrap() {
            if rec.event_type() == TYPE_LOST {
                let p = |i| rec.param(i).unwrap().u64().unwrap();
                assert_eq!(p(0), seq, "LOST record not at the gap it reports");
                let n_lost = p(1) + p(2) + p(3);
                assert!(n_lost > 0);
                assert_eq!(p(2) + p(3), 0, "only ring-full drops here");
                seq += n_lost;
                lost += n_lost;
            } else {
                // Record i is the producer's i-th attempt (the final
                // flushing record, stamped n, may be attempted several times).
                if rec.ts_ns() < n {
                    assert_eq!(rec.ts_ns(), seq, "event out of order");
                }
                read += 1;
                seq += 1;
            }
            reader.consume();
            // Read slowly now and then so the ring fills.
            slow = slow.wrapping_add(1);
            if slow % 64 == 0 {
                thread::yield_now();
            }
        }
        if finished {
            break;
        }
    }
    let (counts, dropped, pending) = handle.join().unwrap();
    assert!(
        dropped > 0,
        "the ring never filled: the test did not exercise drops"
    );
    assert_eq!(pending, 0);
    assert_eq!(counts.attempted, read + lost);
    assert_eq!(counts.written, read);
    assert_eq!(counts.dropped, dropped);
    assert_eq!(lost, dropped);
    assert_eq!(reader.stats().lost_events, dropped);
    assert_eq!(reader.stats().sequence_gaps, 0);
}

/// Records that do not fit before the end are preceded by a PAD record the
/// reader skips; an 8-byte PAD (the shortest) works too.
#[test]
fn records_meet_the_ring_end_at_every_offset() {
    let mem = RingMemory::new(1024);
    let mut producer = mem.producer_half();
    let mut reader = mem.reader(0);
    for i in 0..2000u64 {
        producer.push(&record(i)).unwrap();
        let rec = reader.peek().unwrap().expect("record published");
        check_record(i, &rec);
        reader.consume();
        assert!(reader.peek().unwrap().is_none());
    }
    assert_eq!(reader.stats().records, 2000);
    // Every wrap used a PAD: bytes consumed exceed the records' own bytes.
    let record_bytes: u64 = (0..2000).map(|i| record(i).len() as u64).sum();
    assert!(reader.stats().bytes > record_bytes);
}

/// Too-large and fault drops are counted by reason and reported in-band.
#[test]
fn drop_reasons_are_reported_in_band() {
    let mem = RingMemory::new(65536);
    let mut producer = mem.producer_half();
    let mut reader = mem.reader(0);
    producer.push(&record(0)).unwrap();
    let huge = RecordBuilder::new(3, 1, 1, 1).param(&[0u8; 16000]).build();
    let huge = [huge.clone(), huge].concat();
    assert_eq!(producer.push(&huge), Err(DropReason::TooLarge));
    producer.drop_event(DropReason::Fault);
    producer.push(&record(3)).unwrap();
    let mut seen = Vec::new();
    while let Some(rec) = reader.peek().unwrap() {
        if rec.event_type() == TYPE_LOST {
            let p = |i| rec.param(i).unwrap().u64().unwrap();
            seen.push(("lost", p(0), p(1), p(2), p(3)));
        } else {
            seen.push(("event", rec.ts_ns(), 0, 0, 0));
        }
        reader.consume();
    }
    assert_eq!(
        seen,
        vec![
            ("event", 0, 0, 0, 0),
            ("lost", 1, 0, 1, 1),
            ("event", 3, 0, 0, 0)
        ]
    );
}

/// The reader never trusts the ring: a head more than a ring ahead, a
/// record length that crosses the end or a PAD that stops short is an error
/// naming the ring and position, not a crash or a wild read.
#[test]
fn corrupt_rings_are_errors() {
    let good = record(1);
    let cases: Vec<(u64, Vec<u8>, &str)> = vec![
        (1024, good.clone(), "more than a ring ahead"),
        (
            256,
            {
                let mut b = good.clone();
                b[0..4].copy_from_slice(&512u32.to_le_bytes());
                b
            },
            "does not fit",
        ),
        (
            good.len() as u64,
            {
                let mut b = good.clone();
                b[4] = 1; // PAD that does not reach the end
                b
            },
            "pad record",
        ),
        (
            good.len() as u64,
            {
                let mut b = good.clone();
                b[6] = 99; // too many parameters
                b
            },
            "parameters",
        ),
    ];
    for (head, bytes, expect) in cases {
        let mem = RingMemory::new(256);
        // SAFETY: nothing else touches this ring yet; no reader exists.
        unsafe { mem.publish_raw(0, &bytes, head) };
        let mut reader = mem.reader(3);
        let err = reader.peek().unwrap_err();
        assert_eq!(err.ring, 3);
        assert_eq!(err.position, 0);
        assert!(
            err.to_string().contains(expect),
            "{err} (expected {expect})"
        );
    }
}

/// N rings filled at once by N producer threads that stamp their records
/// from one shared clock (so the rings' timestamps interleave), merged by
/// `kestrel::merge::Merger` as `run` does: the output is globally ordered,
/// every record comes out once, and with producers that drop when a ring is
/// full every drop is reported by a LOST record (produced == read + lost).
#[test]
fn merged_rings_are_globally_ordered_and_lose_nothing() {
    for drop_when_full in [false, true] {
        merge_rings(if cfg!(miri) { 3 } else { 8 }, drop_when_full);
    }
}

fn merge_rings(n_rings: usize, drop_when_full: bool) {
    use kestrel::merge::{Merger, Step};
    let target = scale(50_000);
    let clock = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let mems: Vec<_> = (0..n_rings).map(|_| RingMemory::new(2048)).collect();
    let mut readers: Vec<_> = mems.iter().enumerate().map(|(i, m)| m.reader(i)).collect();
    let handles: Vec<_> = mems
        .iter()
        .map(|m| {
            let mut producer = m.producer_half();
            let (clock, stop) = (Arc::clone(&clock), Arc::clone(&stop));
            thread::spawn(move || {
                let mut produced = Vec::new();
                // Relaxed: the flag only ends the loop; the join below
                // orders everything the producer did before the last look.
                while !stop.load(Ordering::Relaxed) {
                    let len = record(0).len() as u64 + 64;
                    if !drop_when_full && !producer.fits(len) {
                        thread::yield_now();
                        continue;
                    }
                    // Relaxed: a unique, increasing stamp is all we need;
                    // the record's bytes are published by the ring's own
                    // release store of head.
                    let ts = clock.fetch_add(1, Ordering::Relaxed);
                    let rec = RecordBuilder::new(3, ts, 1, 1)
                        .u64(ts)
                        .param(&[0u8; 40])
                        .build();
                    if producer.push(&rec).is_ok() {
                        produced.push(ts);
                    } else {
                        thread::yield_now();
                    }
                }
                (produced, producer.counts(), producer.lost_pending())
            })
        })
        .collect();
    // A window no record outlives: the merge releases a record only once
    // every ring holds one (or capture stopped), the strict k-way merge.
    let mut merger = Merger::new(u64::MAX / 2);
    let mut out = Merged::default();
    let mut passes = 0u64;
    while (out.events.len() as u64) < target {
        passes += 1;
        out.take(&mut merger, &mut readers, Some(passes));
        thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // Capture stopped: the rest comes out, still in order.
    assert_eq!(out.take(&mut merger, &mut readers, None), Step::Empty);
    let Merged { events, lost_seen } = out;
    assert!(
        events.windows(2).all(|w| w[0] < w[1]),
        "merged output out of order"
    );
    let mut produced: Vec<u64> = results.iter().flat_map(|r| r.0.clone()).collect();
    produced.sort_unstable();
    assert_eq!(events, produced, "records lost or duplicated");
    // Interleaved: consecutive stamps came from different rings.
    assert!(results.iter().all(|r| !r.0.is_empty()));
    for (reader, (mine, counts, pending)) in readers.iter().zip(&results) {
        let s = reader.stats();
        assert_eq!(s.records, mine.len() as u64);
        assert_eq!(s.sequence_gaps, 0);
        assert_eq!(counts.attempted, s.records + s.lost_events + pending);
        if !drop_when_full {
            assert_eq!(counts.dropped, 0);
        }
    }
    let lost_records: u64 = readers.iter().map(|r| r.stats().lost_records).sum();
    assert_eq!(lost_seen, lost_records);
    if drop_when_full && !cfg!(miri) {
        assert!(lost_seen > 0, "no ring filled: drops were not exercised");
    }
}

/// What the merge released: event stamps in order, LOST records counted.
#[derive(Default)]
struct Merged {
    events: Vec<u64>,
    lost_seen: u64,
}

impl Merged {
    /// Releases what the merge allows at `now`; returns why it stopped.
    fn take(
        &mut self,
        merger: &mut kestrel::merge::Merger,
        readers: &mut [kestrel::ring::RingReader],
        now: Option<u64>,
    ) -> kestrel::merge::Step {
        loop {
            match merger.next(readers, now).unwrap() {
                kestrel::merge::Step::Ready(i) => {
                    let rec = readers[i].current().unwrap();
                    if rec.event_type() == TYPE_LOST {
                        self.lost_seen += 1;
                    } else {
                        self.events.push(rec.ts_ns());
                    }
                    readers[i].consume();
                }
                other => return other,
            }
        }
    }
}

/// A tiny deterministic generator (xorshift64*), so every failure names a
/// seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A faulty producer: mostly good records, then at random a record with a
/// garbage length or type, random bytes, a head moved past what was
/// written or more than a ring ahead.  Whatever it writes, the reader
/// hands out only records that parse and lie inside the ring, or stops
/// with an error naming the ring and a position it really reached; it
/// never panics and (under Miri) never reads outside the mapping.
#[test]
fn a_corrupted_ring_is_reported_never_read_out_of_bounds() {
    let seeds: u64 = if cfg!(miri) { 6 } else { 3000 };
    let mut errors = 0;
    let mut clean = 0;
    for seed in 1..=seeds {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let size: u64 = if seed % 2 == 0 { 256 } else { 1024 };
        let mem = RingMemory::new(size);
        let mut reader = mem.reader(5);
        let mut head = 0u64;
        let mut outcome = None;
        let steps: u64 = if cfg!(miri) { 12 } else { 60 };
        for step in 0..steps {
            // Write into free space only (as far as the reader's tail
            // lets a well-behaved producer), then move head: by what was
            // written, or by garbage.
            let tail = reader.stats().bytes;
            let free = size.saturating_sub(head.saturating_sub(tail));
            // One seed in three is a well-behaved producer (the reader
            // must read all of it); the others misbehave at random.
            let hostile = seed % 3 != 0;
            let mut bytes = match if hostile { rng.below(6) } else { 5 } {
                0 => (0..rng.below(64) * 8).map(|_| rng.next() as u8).collect(),
                1 => {
                    let mut b = record(step);
                    b[0..4].copy_from_slice(&(rng.next() as u32).to_le_bytes());
                    b
                }
                2 => {
                    let mut b = record(step);
                    b[4..6].copy_from_slice(&(rng.next() as u16).to_le_bytes());
                    b[6..8].copy_from_slice(&(rng.below(40) as u16).to_le_bytes());
                    b
                }
                _ => record(step),
            };
            let mut off = (head & (size - 1)) as usize;
            if !hostile && off + bytes.len() > size as usize {
                // As the module: a PAD record fills the ring's end.
                let to_end = size as usize - off;
                let mut pad = vec![0u8; 8];
                pad[0..4].copy_from_slice(&(to_end as u32).to_le_bytes());
                pad[4..6].copy_from_slice(&TYPE_PAD.to_le_bytes());
                // SAFETY: one thread: no reader call is running and no
                // record it handed out is borrowed (each is dropped first).
                unsafe { mem.publish_raw(off, &pad, head) };
                head += to_end as u64;
                off = 0;
            }
            bytes.truncate(free as usize);
            let first = bytes.len().min(size as usize - off);
            // SAFETY: as above.
            unsafe {
                mem.publish_raw(off, &bytes[..first], head);
                mem.publish_raw(0, &bytes[first..], head);
            }
            head += match if hostile { rng.below(12) } else { 11 } {
                0 => rng.below(3 * size),
                1 => size + 8 + rng.below(size),
                _ => bytes.len() as u64,
            };
            // SAFETY: as above.
            unsafe { mem.publish_raw(0, &[], head) };
            loop {
                match reader.peek() {
                    Ok(Some(rec)) => {
                        assert!(rec.len() >= 8 && rec.len() as u64 <= size, "seed {seed}");
                        let _ = kestrel::decode::decode(&rec);
                        reader.consume();
                    }
                    Ok(None) => break,
                    Err(e) => {
                        assert_eq!(e.ring, 5, "seed {seed}");
                        assert_eq!(e.position, reader.stats().bytes, "seed {seed}");
                        assert!(
                            e.to_string().starts_with("ring 5 corrupt at byte "),
                            "seed {seed}: {e}"
                        );
                        outcome = Some(e);
                        break;
                    }
                }
            }
            if outcome.is_some() {
                break;
            }
        }
        match outcome {
            Some(e) => {
                assert!(
                    seed % 3 != 0,
                    "seed {seed}: a well-behaved ring refused: {e}"
                );
                errors += 1;
            }
            None => {
                clean += 1;
                if seed % 3 == 0 {
                    assert_eq!(reader.stats().records, steps, "seed {seed}");
                }
            }
        }
    }
    // Both outcomes happen: the generator does corrupt rings, and the
    // reader does not refuse every ring it is given.
    assert!(errors > 0 && clean > 0, "errors {errors}, clean {clean}");
}

/// LOST records carry counts from outside: counts that overflow a u64
/// saturate and are counted, never wrap or panic.
#[test]
fn lost_counts_saturate_and_are_reported() {
    let mem = RingMemory::new(1024);
    let mut reader = mem.reader(0);
    let mut bytes = Vec::new();
    for seq in [0u64, u64::MAX] {
        bytes.extend(
            RecordBuilder::new(TYPE_LOST, 0, 0, 0)
                .u64(seq)
                .u64(u64::MAX)
                .u64(u64::MAX)
                .u64(1)
                .build(),
        );
    }
    // SAFETY: one thread, no borrowed record.
    unsafe { mem.publish_raw(0, &bytes, bytes.len() as u64) };
    while reader.peek().unwrap().is_some() {
        reader.consume();
    }
    let s = reader.stats();
    assert_eq!(s.lost_records, 2);
    assert_eq!(s.lost_events, u64::MAX);
    assert_eq!(s.lost_saturated, 2);
}

/// A simulated ring has one producer and one reader: a second of either
/// would race on the ring from safe code, so asking again panics.
#[test]
fn a_ring_hands_out_one_producer_and_one_reader() {
    let mem = RingMemory::new(256);
    let _p = mem.producer_half();
    let _r = mem.reader(0);
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mem.producer_half()));
    assert!(again.is_err());
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mem.reader(1)));
    assert!(again.is_err());
}
