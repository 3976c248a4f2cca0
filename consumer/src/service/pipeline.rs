//! The consumer's data path, on one thread or split across two
//! (`engine.threads`).
//!
//! The front half is whatever reads records in order (the rings' drain and
//! merge in `run`, the capture file in `replay`) plus decoding; the back
//! half, [`Back`], is the process state, the rules and the alert path
//! (whose formatted alerts go on to the outputs' own threads).
//!
//! - One thread: each record is decoded and handed to the back half at
//!   once, on the caller's thread.
//! - Two threads: the front copies each record into a [`Batch`] (a
//!   fixed-capacity arena of record bytes) and decodes it there; full
//!   batches of up to [`BATCH_EVENTS`] events go to the back thread over a
//!   channel, and come back empty over a second channel to be filled again,
//!   so nothing is allocated per event or per batch once running.
//!
//! Order is kept: one channel, one reader, so the back half sees the events
//! in the order the front decoded them, and the alerts it raises go to the
//! outputs in that order.  Everything else the service does to the back
//! half (a reload's rule swap, new outputs, a drop alert, the state
//! gauges) is a [`Command`] that travels down the same channel, so it
//! happens between the same two events in both modes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::decode::{decode_into, DecodeError, Event, EventSlot};
use crate::output::AlertSender;
use crate::record::Record;
use crate::rules::event::EventFields;
use crate::rules::format::Alert;
use crate::state::State;

use super::metrics::Metrics;
use super::ruleset::RuleSet;
use super::AlertPath;

/// Events per batch handed from the front thread to the back thread:
/// enough to spread a channel hand-off (two atomic operations and, when
/// the other side sleeps, a wake-up) over many events, few enough that a
/// batch's records stay in the cache between the two threads.
pub const BATCH_EVENTS: usize = 256;

/// Bytes of records a batch holds: 256 records of up to 1 KiB, and never
/// less than one record of the largest size the module writes.
pub const BATCH_BYTES: usize = {
    let b = BATCH_EVENTS * 1024;
    let max = kestrel_abi::RECORD_MAX as usize;
    if b > max {
        b
    } else {
        max
    }
};

/// Batches in circulation between the two threads: the front fills one
/// while the back works through the others; when all are with the back,
/// the front waits (the rings take up the slack, as they do when one
/// thread falls behind).
pub const BATCHES: usize = 4;

/// The state, rules and alert path: the back half of the pipeline.
pub struct Back {
    /// Processes, files, users, containers.
    pub state: State,
    /// The rules and where their alerts go.
    pub path: AlertPath,
    /// Wall clock minus CLOCK_MONOTONIC, for `evt.time`.
    pub wall_offset_ns: i64,
    /// The host name alerts carry.
    pub hostname: String,
    /// Called after an event that raised an alert (replay waits here for
    /// room in the outputs' queues; live capture never waits).
    pub after_alert: Option<Box<dyn FnMut() + Send>>,
}

impl Back {
    /// A back half over `state` and `path`.
    pub fn new(state: State, path: AlertPath, wall_offset_ns: i64) -> Back {
        let hostname = path.hostname().to_string();
        Back {
            state,
            path,
            wall_offset_ns,
            hostname,
            after_alert: None,
        }
    }

    /// Applies one event to the state and matches it against the rules.
    #[inline]
    pub fn event(&mut self, ring: u32, ev: &Event<'_>) {
        self.state.apply(ev);
        let mut src = EventFields::new(ev);
        src.state = Some(&self.state);
        src.ring = ring;
        src.num = self.path.events;
        src.wall_offset_ns = self.wall_offset_ns;
        src.hostname = &self.hostname;
        let before = self.path.alerts;
        self.path.event(&src);
        if self.path.alerts != before {
            if let Some(wait) = &mut self.after_alert {
                wait();
            }
        }
    }

    /// Carries out a command from the service.
    pub fn command(&mut self, command: Command) {
        match command {
            Command::SwapRules(rules) => drop(self.path.swap_rules(*rules)),
            Command::SetSender(sender) => self.path.set_sender(sender),
            Command::Send(alert) => self.path.send(*alert),
            Command::StateMetrics(metrics) => super::state_metrics(&self.state, &metrics),
        }
    }
}

/// What the service asks of the back half between two events.
pub enum Command {
    /// A reload's rules take over from the next event.
    SwapRules(Box<RuleSet>),
    /// The outputs were restarted: alerts go here from now on.
    SetSender(AlertSender),
    /// An alert made elsewhere (a drop alert), after the alerts so far.
    Send(Box<Alert>),
    /// Publish the state's gauges (threads, processes, fds).
    StateMetrics(Arc<Metrics>),
}

/// Records copied out of the rings and decoded, on their way to the back
/// thread.  The decoded events borrow the batch's own arena.
pub struct Batch {
    // Declared (and so dropped) before `arena`, whose bytes they borrow.
    events: Vec<Event<'static>>,
    rings: Vec<u32>,
    /// Record bytes; its capacity is fixed at creation and never exceeded,
    /// so its buffer never moves while events point into it.
    arena: Vec<u8>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    /// An empty batch with room for [`BATCH_EVENTS`] events and
    /// [`BATCH_BYTES`] bytes of records.
    pub fn new() -> Batch {
        Batch {
            events: Vec::with_capacity(BATCH_EVENTS),
            rings: Vec::with_capacity(BATCH_EVENTS),
            arena: Vec::with_capacity(BATCH_BYTES),
        }
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether it holds no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether a record of `len` bytes can go in.
    pub fn has_room(&self, len: usize) -> bool {
        self.events.len() < BATCH_EVENTS && self.arena.capacity() - self.arena.len() >= len
    }

    /// Copies `rec` in and decodes the copy.  The caller checked
    /// [`Batch::has_room`]; a record that does not decode is not kept.
    pub fn push(&mut self, ring: u32, rec: &Record<'_>) -> Result<(), DecodeError> {
        let bytes = rec.as_bytes();
        assert!(
            self.has_room(bytes.len()),
            "Batch::push without room (record of {} bytes)",
            bytes.len()
        );
        let start = self.arena.len();
        // Within capacity (asserted): no reallocation, earlier records
        // stay where the events already decoded point.
        self.arena.extend_from_slice(bytes);
        // SAFETY: the slice is the `bytes.len()` bytes just written at
        // `start`, inside the arena's initialised length.  The arena's
        // buffer does not move or change while the events decoded from it
        // exist: it never grows past its capacity (checked above), its
        // bytes are only appended after the slice, and `clear` empties
        // `events` before it truncates the arena.  The 'static lifetime
        // never escapes: `events()` hands the events out borrowed from the
        // batch.
        let copy: &'static [u8] =
            unsafe { std::slice::from_raw_parts(self.arena.as_ptr().add(start), bytes.len()) };
        let rec = Record::with_layout(copy, rec.layout());
        self.events.push(Event::default());
        let slot = self.events.last_mut().expect("just pushed");
        if let Err(e) = decode_into(&rec, slot) {
            self.events.pop();
            self.arena.truncate(start);
            return Err(e);
        }
        self.rings.push(ring);
        Ok(())
    }

    /// The events with their rings, in the order they were pushed.
    pub fn events(&self) -> impl Iterator<Item = (u32, &Event<'_>)> {
        self.rings.iter().copied().zip(self.events.iter())
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        // The events first: they borrow the arena.
        self.events.clear();
        self.rings.clear();
        self.arena.clear();
    }
}

/// What goes down the channel to the back thread.
enum Message {
    Events(Batch),
    Command(Command),
}

/// The back thread stopped (it panicked): its events cannot be delivered.
#[derive(Debug)]
pub struct BackStopped;

impl std::fmt::Display for BackStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the state and rules thread stopped unexpectedly")
    }
}

impl std::error::Error for BackStopped {}

impl From<BackStopped> for std::io::Error {
    fn from(e: BackStopped) -> Self {
        std::io::Error::other(e)
    }
}

/// The data path from decoded records to alerts, on `threads` threads.
pub struct Pipeline {
    mode: Mode,
    /// The one event the single-thread mode decodes every record into
    /// (no allocation per event, as replay's `decode_into`).
    slot: EventSlot,
}

enum Mode {
    Inline(Box<Back>),
    Threaded(Threaded),
}

struct Threaded {
    to_back: Sender<Message>,
    free: Receiver<Batch>,
    filling: Batch,
    back: JoinHandle<Back>,
    /// Events the back half has matched (its `path.events`).
    matched: Arc<AtomicU64>,
}

impl Pipeline {
    /// The back half on the caller's thread (`threads` 1) or on a thread of
    /// its own (`threads` 2).
    pub fn new(back: Back, threads: u32) -> std::io::Result<Pipeline> {
        if threads <= 1 {
            return Ok(Pipeline {
                slot: EventSlot::default(),
                mode: Mode::Inline(Box::new(back)),
            });
        }
        let (to_back, from_front) = crossbeam_channel::unbounded::<Message>();
        let (to_front, free) = crossbeam_channel::bounded::<Batch>(BATCHES);
        for _ in 1..BATCHES {
            to_front.send(Batch::new()).expect("room for every batch");
        }
        let matched = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&matched);
        let back = std::thread::Builder::new()
            .name("state-rules".into())
            .spawn(move || back_thread(back, from_front, to_front, seen))?;
        Ok(Pipeline {
            slot: EventSlot::default(),
            mode: Mode::Threaded(Threaded {
                to_back,
                free,
                filling: Batch::new(),
                back,
                matched,
            }),
        })
    }

    /// Threads the pipeline runs on (1 or 2).
    pub fn threads(&self) -> u32 {
        match self.mode {
            Mode::Inline(_) => 1,
            Mode::Threaded(_) => 2,
        }
    }

    /// Decodes one record and passes it on; a record that does not decode
    /// is skipped and its error returned.
    #[inline]
    pub fn record(&mut self, ring: u32, rec: &Record<'_>) -> Result<(), RecordError> {
        match &mut self.mode {
            Mode::Inline(back) => {
                let ev = self.slot.decode(rec).map_err(RecordError::Decode)?;
                back.event(ring, &ev);
                Ok(())
            }
            Mode::Threaded(t) => {
                if !t.filling.has_room(rec.len()) {
                    t.send_filling().map_err(RecordError::Stopped)?;
                }
                t.filling.push(ring, rec).map_err(RecordError::Decode)
            }
        }
    }

    /// Hands what is decoded so far to the back thread (before the front
    /// waits for more records, so no event waits with it).
    pub fn flush(&mut self) -> Result<(), BackStopped> {
        match &mut self.mode {
            Mode::Inline(_) => Ok(()),
            Mode::Threaded(t) if t.filling.is_empty() => Ok(()),
            Mode::Threaded(t) => t.send_filling(),
        }
    }

    /// Carries out `command` after every event passed on so far.
    pub fn command(&mut self, command: Command) -> Result<(), BackStopped> {
        match &mut self.mode {
            Mode::Inline(back) => {
                back.command(command);
                Ok(())
            }
            Mode::Threaded(t) => {
                if !t.filling.is_empty() {
                    t.send_filling()?;
                }
                t.to_back
                    .send(Message::Command(command))
                    .map_err(|_| BackStopped)
            }
        }
    }

    /// Events the back half has matched so far.
    pub fn events(&self) -> u64 {
        match &self.mode {
            Mode::Inline(back) => back.path.events,
            // Relaxed: a counter for the metrics; no data rides on it.
            Mode::Threaded(t) => t.matched.load(Ordering::Relaxed),
        }
    }

    /// Passes on what is left, waits for the back half to finish it, and
    /// returns the back half.
    pub fn finish(self) -> Result<Back, BackStopped> {
        match self.mode {
            Mode::Inline(back) => Ok(*back),
            Mode::Threaded(mut t) => {
                let flushed = if t.filling.is_empty() {
                    Ok(())
                } else {
                    t.send_filling()
                };
                // Closing the channel ends the back thread's loop once it
                // has worked through everything sent.
                drop(t.to_back);
                let back = t.back.join().map_err(|_| BackStopped)?;
                flushed.map(|()| back)
            }
        }
    }
}

impl Threaded {
    /// Sends the batch being filled and takes an empty one (waiting for
    /// the back thread to return one when all are in use).
    fn send_filling(&mut self) -> Result<(), BackStopped> {
        let empty = self.free.recv().map_err(|_| BackStopped)?;
        let full = std::mem::replace(&mut self.filling, empty);
        self.to_back
            .send(Message::Events(full))
            .map_err(|_| BackStopped)
    }
}

/// Why a record was not passed on.
#[derive(Debug)]
pub enum RecordError {
    /// It does not decode (skipped; the pipeline goes on).
    Decode(DecodeError),
    /// The back thread stopped.
    Stopped(BackStopped),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Decode(e) => e.fmt(f),
            RecordError::Stopped(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RecordError {}

/// The back thread: events and commands in order until the front closes
/// the channel; empty batches go back for refilling.
fn back_thread(
    mut back: Back,
    from_front: Receiver<Message>,
    to_front: Sender<Batch>,
    matched: Arc<AtomicU64>,
) -> Back {
    for message in from_front {
        match message {
            Message::Events(mut batch) => {
                for (ring, ev) in batch.events() {
                    back.event(ring, ev);
                }
                // Relaxed: see Pipeline::events.
                matched.store(back.path.events, Ordering::Relaxed);
                batch.clear();
                // The front may be gone (finishing): then the batch is
                // simply dropped.
                let _ = to_front.try_send(batch);
            }
            Message::Command(command) => back.command(command),
        }
    }
    back
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordBuilder;

    /// A GENERIC record: nr, res, the six arguments.
    fn rec(ts: u64) -> Vec<u8> {
        RecordBuilder::new(3, ts, 7, 7)
            .u32(39)
            .i64(0)
            .param(&[0xab; 48])
            .build()
    }

    /// An openat whose paths take `path_len` bytes each.
    fn big_open(path_len: usize) -> Vec<u8> {
        let path = format!("/{}", "a".repeat(path_len - 1));
        let spec = format!(
            "{{type: openat, tid: 5, params: {{res: 3, dirfd: -100, name: {path}, flags: 0, mode: 0, fullpath: {path}}}}}"
        );
        crate::rules::cases::encode_event(&serde_yaml::from_str(&spec).unwrap(), 1).unwrap()
    }

    #[test]
    fn a_batch_keeps_its_records_and_events_until_cleared() {
        let mut batch = Batch::new();
        let recs: Vec<Vec<u8>> = (0..BATCH_EVENTS as u64).map(rec).collect();
        for (i, r) in recs.iter().enumerate() {
            assert!(batch.has_room(r.len()));
            batch.push(i as u32, &Record::parse(r).unwrap()).unwrap();
        }
        assert!(!batch.has_room(8), "a full batch takes no more events");
        let arena = batch.arena.as_ptr();
        for (i, (ring, ev)) in batch.events().enumerate() {
            assert_eq!(ring, i as u32);
            assert_eq!(ev.ts_ns, i as u64);
        }
        batch.clear();
        assert!(batch.is_empty() && batch.has_room(BATCH_BYTES));
        batch.push(9, &Record::parse(&recs[3]).unwrap()).unwrap();
        assert_eq!(
            batch.arena.as_ptr(),
            arena,
            "the arena is reused, not moved"
        );
        assert_eq!(batch.events().next().unwrap().1.ts_ns, 3);
    }

    #[test]
    fn a_batch_stops_taking_records_when_its_bytes_are_used() {
        let mut batch = Batch::new();
        let big = big_open(8000);
        assert!(big.len() > 16_000);
        let mut n = 0;
        while batch.has_room(big.len()) {
            batch.push(0, &Record::parse(&big).unwrap()).unwrap();
            n += 1;
        }
        assert_eq!(n, BATCH_BYTES / big.len());
        assert!(batch.arena.len() <= BATCH_BYTES);
    }
}
