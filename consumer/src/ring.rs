//! Lock-free reading of one per-CPU ring, following the ordering protocol in
//! `kmod/kestrel_abi.h`.
//!
//! [`RingReader`] is the consumer half: it loads `head` with acquire, hands
//! out records between its tail and that head as slices borrowed from the
//! mapping, and stores `tail` with release after each small batch.  No lock
//! and no syscall is taken per record.  [`sim::RingProducer`] is the module's
//! producer algorithm re-stated in Rust, so the reader can be tested (and run
//! under Miri) against a concurrent producer without a kernel.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use kestrel_abi::{RingConsumerPage, RingProducerPage};

use crate::record::{peek_len_type, Record, RecordError, RecordLayout, TYPE_LOST, TYPE_PAD};

/// Bytes consumed before the reader publishes its tail even though it has
/// not caught up with head: space comes back to the producer in small steps.
pub const TAIL_PUBLISH_BATCH: u64 = 4096;

/// A ring whose contents break the protocol (a module bug or a foreign
/// writer): reading stops with the position and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingError {
    /// Ring (CPU) index.
    pub ring: usize,
    /// Free-running byte position of the bad record.
    pub position: u64,
    /// What was wrong.
    pub what: String,
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ring {} corrupt at byte {}: {}",
            self.ring, self.position, self.what
        )
    }
}

impl std::error::Error for RingError {}

/// Per-ring counts kept by the reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Event records consumed (not PAD, not LOST).
    pub records: u64,
    /// LOST records consumed.
    pub lost_records: u64,
    /// Events the LOST records reported, all reasons.
    pub lost_events: u64,
    /// Bytes consumed, PAD and LOST included.
    pub bytes: u64,
    /// LOST records whose sequence number did not match the events counted
    /// before them (should stay 0).
    pub sequence_gaps: u64,
    /// Loads of the producer's head (each one a cache line written by
    /// another CPU): the merge keeps these per pass, not per record.
    pub head_loads: u64,
    /// LOST records whose counts overflowed a u64 (in the record or added
    /// to `lost_events`, which then stays at `u64::MAX`); should stay 0.
    pub lost_saturated: u64,
}

/// The record the reader is positioned on, validated once.
#[derive(Clone, Copy, Debug)]
struct Pending {
    offset: usize,
    len: usize,
    layout: RecordLayout,
}

/// Consumer half of one per-CPU ring.
pub struct RingReader {
    index: usize,
    producer: *const RingProducerPage,
    consumer: *mut RingConsumerPage,
    data: *const u8,
    size: u64,
    /// Last head loaded from the producer page.
    head: u64,
    /// Position of the next unread byte.
    tail: u64,
    /// Last tail stored to the consumer page.
    published: u64,
    pending: Option<Pending>,
    stats: ReaderStats,
    /// Keeps the memory behind the raw pointers mapped.
    _owner: Box<dyn Any + Send>,
}

// SAFETY: the reader owns the only handle to its consumer page and reads the
// producer page and data through atomics and the published range only; the
// memory is kept alive by `_owner`, which is Send.  Moving the reader to
// another thread moves all of that with it.
unsafe impl Send for RingReader {}

impl fmt::Debug for RingReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingReader")
            .field("index", &self.index)
            .field("size", &self.size)
            .field("head", &self.head)
            .field("tail", &self.tail)
            .finish()
    }
}

impl RingReader {
    /// Creates a reader over one ring's memory.
    ///
    /// # Safety
    ///
    /// - `producer` points to a `kestrel_ring_producer`, `consumer` to a
    ///   `kestrel_ring_consumer` and `data` to `size` bytes, all aligned to 8
    ///   and mapped for as long as `owner` lives;
    /// - `size` is a power of two;
    /// - only a producer following the ABI's protocol writes `producer` and
    ///   `data` (never the bytes between the published tail and head), and
    ///   nothing but this reader writes `consumer`.
    pub unsafe fn from_raw(
        index: usize,
        producer: *const RingProducerPage,
        consumer: *mut RingConsumerPage,
        data: *const u8,
        size: u64,
        owner: Box<dyn Any + Send>,
    ) -> RingReader {
        debug_assert!(size.is_power_of_two());
        // SAFETY: the caller guarantees `consumer` is valid and ours alone.
        let tail = unsafe { Self::tail_atomic(consumer) }.load(Ordering::Relaxed);
        RingReader {
            index,
            producer,
            consumer,
            data,
            size,
            head: tail,
            tail,
            published: tail,
            pending: None,
            stats: ReaderStats::default(),
            _owner: owner,
        }
    }

    /// # Safety
    /// `consumer` must be valid for the returned lifetime.
    unsafe fn tail_atomic<'a>(consumer: *mut RingConsumerPage) -> &'a AtomicU64 {
        // SAFETY: `tail` is an aligned u64 in a live page (caller's promise);
        // AtomicU64 has the same layout as u64.
        unsafe { AtomicU64::from_ptr(std::ptr::addr_of_mut!((*consumer).tail)) }
    }

    fn load_head(&self) -> u64 {
        // SAFETY: `head` is an aligned u64 in a page mapped for our lifetime
        // (from_raw's contract).  The page may be mapped read-only: an atomic
        // load of a u64 from read-only memory is permitted.
        let head = unsafe { &*(std::ptr::addr_of!((*self.producer).head) as *const AtomicU64) };
        // Acquire: pairs with the producer's release store of head, so every
        // byte of every record before head is visible before we read it.
        head.load(Ordering::Acquire)
    }

    fn store_tail(&mut self) {
        if self.published != self.tail {
            // SAFETY: from_raw's contract: the consumer page is live and ours.
            let tail = unsafe { Self::tail_atomic(self.consumer) };
            // Release: pairs with the producer's acquire load of tail, so our
            // reads of the freed bytes happen before it overwrites them.
            tail.store(self.tail, Ordering::Release);
            self.published = self.tail;
        }
    }

    /// Ring (CPU) index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Counts of what this reader consumed.
    pub fn stats(&self) -> ReaderStats {
        self.stats
    }

    fn error(&self, what: impl Into<String>) -> RingError {
        RingError {
            ring: self.index,
            position: self.tail,
            what: what.into(),
        }
    }

    /// The published bytes from `offset`, up to `len`.
    fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        debug_assert!(offset + len <= self.size as usize);
        // SAFETY: offset + len stays inside the data area (checked by the
        // callers against `size`), and the range lies between our tail and
        // the head we loaded with acquire: the producer finished writing it
        // and will not write it again until we publish a tail past it, which
        // `consume` only does after the borrow of self ends.
        unsafe { std::slice::from_raw_parts(self.data.add(offset), len) }
    }

    /// Positions the reader on the next event or LOST record, skipping PAD
    /// records, and returns its timestamp; `None` when the ring is empty.
    pub fn peek_ts(&mut self) -> Result<Option<u64>, RingError> {
        if let Some(p) = self.pending {
            return Ok(Some(p.layout.ts_ns()));
        }
        loop {
            if self.tail == self.head {
                // Caught up: give the space back before looking for more.
                self.store_tail();
                let head = self.load_head();
                self.stats.head_loads += 1;
                if head.wrapping_sub(self.tail) > self.size {
                    return Err(self.error(format!(
                        "head {head} is more than a ring ahead of tail {}",
                        self.tail
                    )));
                }
                self.head = head;
                if self.tail == self.head {
                    return Ok(None);
                }
            }
            let offset = (self.tail & (self.size - 1)) as usize;
            let to_end = self.size as usize - offset;
            let available = (self.head - self.tail) as usize;
            let window = self.bytes(offset, to_end.min(available));
            let (len, ty) =
                peek_len_type(window).ok_or_else(|| self.error("less than 8 bytes published"))?;
            let len = len as usize;
            if len < 8 || len % 8 != 0 || len > window.len() {
                return Err(self.error(format!(
                    "record length {len} (type {ty}) does not fit the {} published bytes before the ring's end",
                    window.len()
                )));
            }
            if ty == TYPE_PAD {
                if len != to_end {
                    return Err(self.error(format!(
                        "pad record of {len} bytes does not reach the ring's end ({to_end} bytes)"
                    )));
                }
                self.advance(len);
                continue;
            }
            let rec = Record::parse(&window[..len])
                .map_err(|e: RecordError| self.error(e.to_string()))?;
            let ts_ns = rec.ts_ns();
            self.pending = Some(Pending {
                offset,
                len,
                layout: rec.layout(),
            });
            return Ok(Some(ts_ns));
        }
    }

    /// The record the reader is positioned on (see [`RingReader::peek_ts`]).
    pub fn current(&self) -> Option<Record<'_>> {
        let p = self.pending?;
        // Validated once by peek_ts; the bytes cannot change until consume.
        Some(Record::with_layout(self.bytes(p.offset, p.len), p.layout))
    }

    /// Reads the next record, skipping PAD; `None` when the ring is empty.
    pub fn peek(&mut self) -> Result<Option<Record<'_>>, RingError> {
        Ok(match self.peek_ts()? {
            Some(_) => self.current(),
            None => None,
        })
    }

    /// Steps past the current record; its space is returned to the producer
    /// with the next tail store (at most [`TAIL_PUBLISH_BATCH`] bytes later,
    /// or when the reader catches up).
    pub fn consume(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        if p.layout.event_type() == TYPE_LOST {
            let rec = Record::with_layout(self.bytes(p.offset, p.len), p.layout);
            let param = |i| rec.param(i).and_then(|p| p.u64());
            let seq = param(0).unwrap_or(0);
            // Checked: a LOST record's counts come from outside this
            // process; a sum past u64 saturates and is counted, never
            // wraps or panics.
            let mut lost = 0u64;
            let mut saturated = false;
            for n in (1..kestrel_abi::LOST_NPARAMS).filter_map(param) {
                lost = lost.checked_add(n).unwrap_or_else(|| {
                    saturated = true;
                    u64::MAX
                });
            }
            // Sequence numbers are free-running: compare modulo 2^64.
            if seq != self.stats.records.wrapping_add(self.stats.lost_events) {
                self.stats.sequence_gaps += 1;
            }
            self.stats.lost_records += 1;
            self.stats.lost_events =
                self.stats.lost_events.checked_add(lost).unwrap_or_else(|| {
                    saturated = true;
                    u64::MAX
                });
            if saturated {
                self.stats.lost_saturated += 1;
            }
        } else {
            self.stats.records += 1;
        }
        self.advance(p.len);
    }

    fn advance(&mut self, len: usize) {
        self.tail += len as u64;
        self.stats.bytes += len as u64;
        if self.tail - self.published >= TAIL_PUBLISH_BATCH {
            self.store_tail();
        }
    }

    /// Asks the module to wake a consumer waiting in `poll()` only once this
    /// ring holds `bytes` unread bytes (it clamps the value to
    /// 1..ring_size/2; 0 or 1: on every record).  See the wake-up rules in
    /// `kmod/kestrel_abi.h`: below the watermark, the consumer's poll
    /// timeout is what delivers a trickle of events.
    pub fn set_wakeup_bytes(&mut self, bytes: u64) {
        // SAFETY: from_raw's contract: the consumer page is live and ours;
        // `wakeup_bytes` is an aligned u64 in it, and AtomicU64 has the same
        // layout as u64.
        let wm =
            unsafe { AtomicU64::from_ptr(std::ptr::addr_of_mut!((*self.consumer).wakeup_bytes)) };
        // Relaxed: the module reads it with READ_ONCE and needs no ordering
        // with anything else (a value it sees late costs at most one late
        // wake-up, which the poll timeout covers).
        wm.store(bytes, Ordering::Relaxed);
    }

    /// Publishes the tail now (before sleeping or exiting).
    pub fn flush(&mut self) {
        self.store_tail();
    }

    /// Bytes published and not yet consumed, as of the last head load.
    pub fn backlog(&self) -> u64 {
        self.head - self.tail
    }
}

impl Drop for RingReader {
    fn drop(&mut self) {
        self.store_tail();
    }
}

#[cfg(any(test, feature = "sim"))]
pub mod sim {
    //! The module's producer, re-stated in Rust for tests and benchmarks on
    //! machines that cannot load the module.  It follows `kestrel_ring.c`
    //! step for step: clamp the tail, pad at the end, write a LOST record
    //! before the next event that fits, publish head with release.
    //!
    //! Test-only: built for the crate's own tests and with the `sim`
    //! feature (which the integration tests and benchmarks turn on through
    //! a dev-dependency), never into the shipped binary.  Each ring hands
    //! out one reader and one producer (a second request panics), so safe
    //! code cannot race two writers; the faulty producer
    //! [`RingMemory::publish_raw`] is `unsafe`.

    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    use kestrel_abi::{RingConsumerPage, RingProducerPage};
    use memmap2::MmapMut;

    use super::RingReader;
    use crate::record::{RecordBuilder, TYPE_LOST, TYPE_PAD};

    /// Size of a LOST record (`KESTREL_LOST_LEN`: header, 4 length entries,
    /// 4 u64 parameters).
    pub const LOST_RECORD_LEN: u64 = kestrel_abi::LOST_RECORD_LEN;

    /// Anonymous memory laid out like one ring of the device: consumer page,
    /// producer page, data.
    pub struct RingMemory {
        /// Keeps the mapping alive; all access goes through `base`.
        _map: MmapMut,
        /// Start of the mapping, taken from a unique borrow so that writes
        /// through it are permitted.
        base: *mut u8,
        size: u64,
        /// A reader was handed out (Relaxed swaps: the flag orders no
        /// memory, it only makes the second request fail).
        reader_taken: AtomicBool,
        /// A producer was handed out (as `reader_taken`).
        producer_taken: AtomicBool,
    }

    const PAGE: usize = 4096;

    impl RingMemory {
        /// Allocates a zeroed ring with `size` data bytes (a power of two,
        /// at least 64).
        pub fn new(size: u64) -> Arc<RingMemory> {
            assert!(size.is_power_of_two() && size >= 64);
            let mut map = MmapMut::map_anon(2 * PAGE + size as usize).expect("anonymous mapping");
            let base = map.as_mut_ptr();
            Arc::new(RingMemory {
                _map: map,
                base,
                size,
                reader_taken: AtomicBool::new(false),
                producer_taken: AtomicBool::new(false),
            })
        }

        fn base(&self) -> *mut u8 {
            self.base
        }

        fn consumer(&self) -> *mut RingConsumerPage {
            self.base() as *mut RingConsumerPage
        }

        fn producer(&self) -> *mut RingProducerPage {
            // SAFETY (pointer arithmetic): PAGE is inside the mapping.
            self.base().wrapping_add(PAGE) as *mut RingProducerPage
        }

        fn data(&self) -> *mut u8 {
            self.base().wrapping_add(2 * PAGE)
        }

        /// A reader over this memory (the one consumer of the ring).
        ///
        /// # Panics
        ///
        /// On a second call: a ring has one consumer.
        pub fn reader(self: &Arc<Self>, index: usize) -> RingReader {
            // Relaxed: see `reader_taken`.
            assert!(
                !self.reader_taken.swap(true, Ordering::Relaxed),
                "this simulated ring already has its reader"
            );
            // SAFETY: the pages are laid out as from_raw requires and stay
            // mapped while the Arc we hand over as owner lives; size is a
            // power of two; the only writers are the one RingProducer
            // (`producer_half` hands out one), which follows the protocol,
            // and `publish_raw`, whose callers promise not to race it; this
            // is the only reader (checked above), so nothing else writes
            // the consumer page.
            unsafe {
                RingReader::from_raw(
                    index,
                    self.producer(),
                    self.consumer(),
                    self.data(),
                    self.size,
                    Box::new(Arc::clone(self)),
                )
            }
        }

        /// Writes `bytes` at data offset `offset` and publishes `head`
        /// without any checks: a faulty producer, for testing that the
        /// reader refuses what breaks the protocol.
        ///
        /// # Safety
        ///
        /// No other thread may run a reader or producer of this ring
        /// during the call, and no record the reader handed out may be
        /// borrowed across it (the bytes would change under the borrow).
        /// The reader still validates what it reads: garbage is allowed.
        pub unsafe fn publish_raw(&self, offset: usize, bytes: &[u8], head: u64) {
            assert!(offset
                .checked_add(bytes.len())
                .is_some_and(|end| end <= self.size as usize));
            // SAFETY: in bounds (asserted); the caller promises no
            // concurrent access and no outstanding borrow.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.data().add(offset), bytes.len())
            };
            // SAFETY: the producer page's head is a live, aligned u64.
            let h = unsafe { AtomicU64::from_ptr(std::ptr::addr_of_mut!((*self.producer()).head)) };
            // Release: as the real producer's head store.
            h.store(head, Ordering::Release);
        }

        /// The producer half (one per ring).
        ///
        /// # Panics
        ///
        /// On a second call: two producers would race on the data.
        pub fn producer_half(self: &Arc<Self>) -> RingProducer {
            // Relaxed: see `reader_taken`.
            assert!(
                !self.producer_taken.swap(true, Ordering::Relaxed),
                "this simulated ring already has its producer"
            );
            RingProducer {
                mem: Arc::clone(self),
                head: 0,
                counts: ProducerCounts::default(),
                pending: [0; 3],
                pending_seq: 0,
                max_record: (self.size / 4).min(kestrel_abi::RECORD_MAX),
            }
        }
    }

    // SAFETY: the mapping is plain memory; all shared access goes through
    // the ring protocol (atomics for head/tail, disjoint ranges for data).
    unsafe impl Sync for RingMemory {}
    // SAFETY: as above; the raw pointer is into a mapping the struct owns.
    unsafe impl Send for RingMemory {}

    /// Why an event was dropped (the module's reasons).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DropReason {
        /// Not enough free space.
        RingFull = 0,
        /// Larger than a record may be.
        TooLarge = 1,
        /// Could not be built.
        Fault = 2,
    }

    /// The producer's counters, as in `struct kestrel_cpu_stats`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ProducerCounts {
        /// Events attempted.
        pub attempted: u64,
        /// Event records written.
        pub written: u64,
        /// Events dropped, all reasons.
        pub dropped: u64,
        /// LOST records written.
        pub lost_records: u64,
    }

    /// The producer half of a simulated ring.
    pub struct RingProducer {
        mem: Arc<RingMemory>,
        head: u64,
        counts: ProducerCounts,
        pending: [u64; kestrel_abi::LOST_NPARAMS - 1],
        pending_seq: u64,
        max_record: u64,
    }

    // SAFETY: moving the producer to its thread moves its only handle.
    unsafe impl Send for RingProducer {}

    impl RingProducer {
        /// Counters so far.
        pub fn counts(&self) -> ProducerCounts {
            self.counts
        }

        /// Drops not yet reported in-band.
        pub fn lost_pending(&self) -> u64 {
            self.pending.iter().sum()
        }

        fn load_tail(&self) -> u64 {
            // SAFETY: the consumer page is a live, aligned u64 in our memory.
            let tail =
                unsafe { AtomicU64::from_ptr(std::ptr::addr_of_mut!((*self.mem.consumer()).tail)) };
            // Acquire: pairs with the reader's release store of tail; its
            // reads of the bytes it freed are done before we overwrite them.
            let tail = tail.load(Ordering::Acquire);
            // Never trust the consumer: clamp into [head - size, head].
            tail.clamp(self.head.saturating_sub(self.mem.size), self.head)
        }

        /// Bytes (pad included) needed to place `len` bytes at `pos`, and
        /// where the record then starts.
        fn placement(&self, pos: u64, len: u64) -> (u64, u64) {
            let to_end = self.mem.size - (pos & (self.mem.size - 1));
            if len > to_end {
                (to_end + len, pos + to_end)
            } else {
                (len, pos)
            }
        }

        fn write_at(&mut self, pos: u64, bytes: &[u8]) {
            let off = (pos & (self.mem.size - 1)) as usize;
            assert!(off + bytes.len() <= self.mem.size as usize);
            // SAFETY: the range is inside the data area and in free space
            // (between head and the clamped tail + size): the reader does not
            // read it until we publish head past it.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.mem.data().add(off), bytes.len())
            }
        }

        fn write_pad(&mut self, pos: u64) -> u64 {
            let to_end = self.mem.size - (pos & (self.mem.size - 1));
            let mut pad = [0u8; 8];
            pad[0..4].copy_from_slice(&(to_end as u32).to_le_bytes());
            pad[4..6].copy_from_slice(&TYPE_PAD.to_le_bytes());
            self.write_at(pos, &pad);
            pos + to_end
        }

        fn place(&mut self, pos: u64, bytes: &[u8]) -> u64 {
            let (_, start) = self.placement(pos, bytes.len() as u64);
            let pos = if start != pos {
                self.write_pad(pos)
            } else {
                pos
            };
            self.write_at(pos, bytes);
            pos + bytes.len() as u64
        }

        /// Whether a record of `len` bytes would fit now (a test producer
        /// uses it to wait for space instead of dropping).
        pub fn fits(&self, len: u64) -> bool {
            let free = self.mem.size - (self.head - self.load_tail());
            self.lost_pending() == 0 && self.placement(self.head, len).0 <= free
        }

        /// Counts a drop the way the module does.
        pub fn drop_event(&mut self, reason: DropReason) {
            if self.lost_pending() == 0 {
                self.pending_seq = self.counts.attempted;
            }
            self.counts.attempted += 1;
            self.counts.dropped += 1;
            self.pending[reason as usize] += 1;
        }

        /// Tries to write one record (built with the ABI layout, len a
        /// multiple of 8); on failure the event is counted as dropped.
        pub fn push(&mut self, record: &[u8]) -> Result<(), DropReason> {
            let len = record.len() as u64;
            if len > self.max_record {
                self.drop_event(DropReason::TooLarge);
                return Err(DropReason::TooLarge);
            }
            let tail = self.load_tail();
            let free = self.mem.size - (self.head - tail);
            let lost = self.lost_pending() > 0;
            let mut need = 0;
            let mut pos = self.head;
            if lost {
                let (n, start) = self.placement(pos, LOST_RECORD_LEN);
                need += n;
                pos = start + LOST_RECORD_LEN;
            }
            need += self.placement(pos, len).0;
            if need > free {
                self.drop_event(DropReason::RingFull);
                return Err(DropReason::RingFull);
            }
            let mut pos = self.head;
            if lost {
                let rec = RecordBuilder::new(TYPE_LOST, 0, 0, 0)
                    .u64(self.pending_seq)
                    .u64(self.pending[0])
                    .u64(self.pending[1])
                    .u64(self.pending[2])
                    .build();
                debug_assert_eq!(rec.len() as u64, LOST_RECORD_LEN);
                pos = self.place(pos, &rec);
                self.pending = [0; 3];
                self.counts.lost_records += 1;
            }
            pos = self.place(pos, record);
            self.counts.attempted += 1;
            self.counts.written += 1;
            self.head = pos;
            // SAFETY: the producer page is a live, aligned u64 in our memory.
            let head =
                unsafe { AtomicU64::from_ptr(std::ptr::addr_of_mut!((*self.mem.producer()).head)) };
            // Release: pairs with the reader's acquire load of head; the
            // record bytes written above are visible before the new head.
            head.store(self.head, Ordering::Release);
            Ok(())
        }
    }
}
