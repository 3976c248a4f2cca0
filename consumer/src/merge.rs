//! K-way merge of the per-CPU rings into one stream ordered by timestamp.
//!
//! Each ring is ordered by itself; across rings, a record may be published a
//! moment after a later-stamped record on another CPU.  So while some ring is
//! empty, a record is released only once it is older than `now -
//! window`: every record stamped before that has had `window` to be
//! published.  When capture has stopped, everything left is released in
//! order.
//!
//! Nothing per record grows with the number of rings.  The merge keeps a
//! min-heap of the rings that hold a record (keyed by that record's
//! timestamp, then the ring's place, so ties go to the lower ring as
//! before) and a list of the rings that were empty at their last look.  An
//! empty ring's head (a cache line the producing CPU writes) is loaded
//! again only once per pass, that is once per new `now` (after `now` was
//! read, which is what the hold rule needs), and once more before the merge
//! would stop (hold or empty), so a record that arrived meanwhile is not
//! left waiting.  Releasing a record re-reads only the ring it came from
//! (a load of its head only when it has caught up with its own snapshot)
//! and costs one heap step: O(log rings) comparisons, no remote loads.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;

use crate::ring::{RingError, RingReader};

/// How long a record may take from its timestamp to its publication.  The
/// probe runs with preemption off, so this is a few microseconds in practice;
/// the margin covers interrupts taken in the middle of a probe.
pub const DEFAULT_REORDER_WINDOW_NS: u64 = 5_000_000;

/// What the merge can do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Release the current record of this ring.
    Ready(usize),
    /// Records are waiting, but the oldest may not go before this
    /// CLOCK_MONOTONIC time.
    HoldUntil(u64),
    /// Every ring is empty.
    Empty,
}

/// A ring's next record: its timestamp and the ring's place in the slice.
/// Ordered by timestamp, then place.
type Head = (u64, usize);

/// Picks, among the rings, the one holding the oldest record that may be
/// released.
///
/// The merger remembers which rings hold a record between calls: the
/// caller passes the same rings (in the same order) every time and
/// consumes the record of each [`Step::Ready`] before the next call.  A
/// different number of rings (a CPU came online) makes it look at every
/// ring again.
#[derive(Debug, Clone)]
pub struct Merger {
    window_ns: u64,
    last_ts: u64,
    late: u64,
    /// Rings holding a record, oldest on top.
    heap: BinaryHeap<Reverse<Head>>,
    /// Rings that were empty at their last look, by place.
    empty: Vec<usize>,
    /// The ring of the last `Ready`: its record was consumed, its next one
    /// is looked at on the next call.
    released: Option<usize>,
    /// How many rings the heap and `empty` describe (`None`: none yet).
    tracked: Option<usize>,
    /// The `now` of the current pass.
    pass_now: Option<Option<u64>>,
    /// The empty rings were looked at since the last `Ready`.
    polled: bool,
}

impl Merger {
    /// A merger that holds records for `window_ns` while a ring is empty.
    pub fn new(window_ns: u64) -> Self {
        Merger {
            window_ns,
            last_ts: 0,
            late: 0,
            heap: BinaryHeap::new(),
            empty: Vec::new(),
            released: None,
            tracked: None,
            pass_now: None,
            polled: false,
        }
    }

    /// Records released with a timestamp older than one already released
    /// (published later than the window allowed).
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Looks at every ring afresh (first call, or the set of rings changed).
    fn rebuild(&mut self, rings: &mut [RingReader]) -> Result<(), RingError> {
        self.heap.clear();
        self.empty.clear();
        self.released = None;
        self.tracked = Some(rings.len());
        for (i, ring) in rings.iter_mut().enumerate() {
            match ring.peek_ts()? {
                Some(ts) => self.heap.push(Reverse((ts, i))),
                None => self.empty.push(i),
            }
        }
        self.polled = true;
        Ok(())
    }

    /// Looks again at the rings that were empty (one head load each).
    fn poll_empty(&mut self, rings: &mut [RingReader]) -> Result<(), RingError> {
        let mut k = 0;
        while k < self.empty.len() {
            let i = self.empty[k];
            match rings[i].peek_ts()? {
                Some(ts) => {
                    self.heap.push(Reverse((ts, i)));
                    self.empty.swap_remove(k);
                }
                None => k += 1,
            }
        }
        self.polled = true;
        Ok(())
    }

    /// The ring whose current record comes next, if it may be released.
    /// `now_ns` is CLOCK_MONOTONIC read before this call; `None` releases
    /// everything (capture stopped).  A call with another `now_ns` than
    /// the last starts a new pass: the rings that were empty are looked at
    /// again.
    pub fn next(
        &mut self,
        rings: &mut [RingReader],
        now_ns: Option<u64>,
    ) -> Result<Step, RingError> {
        if self.tracked != Some(rings.len()) {
            self.rebuild(rings)?;
            self.pass_now = Some(now_ns);
        } else if self.pass_now != Some(now_ns) {
            self.pass_now = Some(now_ns);
            self.poll_empty(rings)?;
        }
        // The ring released last: its next record (or it is empty now).
        let mut candidate = None;
        if let Some(i) = self.released.take() {
            match rings[i].peek_ts()? {
                Some(ts) => candidate = Some((ts, i)),
                None => self.empty.push(i),
            }
        }
        loop {
            // The older of the candidate and the heap's top; when the
            // candidate is the older, the heap is not touched at all.
            let best = match (candidate.take(), self.heap.peek_mut()) {
                (Some(c), Some(mut top)) if top.0 < c => {
                    Some(std::mem::replace(&mut *top, Reverse(c)).0)
                }
                (Some(c), _) => Some(c),
                (None, Some(top)) => Some(PeekMut::pop(top).0),
                (None, None) => None,
            };
            let Some(best) = best else {
                if !self.polled && !self.empty.is_empty() {
                    self.poll_empty(rings)?;
                    continue;
                }
                return Ok(Step::Empty);
            };
            let (ts, i) = best;
            if let (false, Some(now)) = (self.empty.is_empty(), now_ns) {
                let release = ts.saturating_add(self.window_ns);
                if release > now {
                    if !self.polled {
                        // An empty ring may have filled: look before holding.
                        self.poll_empty(rings)?;
                        candidate = Some(best);
                        continue;
                    }
                    self.heap.push(Reverse(best));
                    return Ok(Step::HoldUntil(release));
                }
            }
            if ts < self.last_ts {
                self.late += 1;
            } else {
                self.last_ts = ts;
            }
            self.released = Some(i);
            self.polled = false;
            return Ok(Step::Ready(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordBuilder;
    use crate::ring::sim::RingMemory;

    fn rec(ts: u64) -> Vec<u8> {
        RecordBuilder::new(3, ts, 1, 1).u64(ts).build()
    }

    #[test]
    fn merges_by_timestamp_and_holds_back_young_records() {
        let mems: Vec<_> = (0..3).map(|_| RingMemory::new(4096)).collect();
        let mut producers: Vec<_> = mems.iter().map(|m| m.producer_half()).collect();
        let mut readers: Vec<_> = mems.iter().enumerate().map(|(i, m)| m.reader(i)).collect();
        for (ring, ts) in [(0, 10), (1, 5), (0, 20), (1, 30), (2, 25)] {
            producers[ring].push(&rec(ts)).unwrap();
        }
        let mut merger = Merger::new(100);
        let mut out = Vec::new();
        // Ring 2 will be empty after its one record: with now = 120, only
        // records stamped at or before 20 may go.
        let step = loop {
            match merger.next(&mut readers, Some(120)).unwrap() {
                Step::Ready(i) => {
                    out.push(readers[i].current().unwrap().ts_ns());
                    readers[i].consume();
                }
                other => break other,
            }
        };
        assert_eq!(out, vec![5, 10, 20]);
        assert_eq!(step, Step::HoldUntil(125));
        // Capture stopped: the rest comes out in order.
        while let Step::Ready(i) = merger.next(&mut readers, None).unwrap() {
            out.push(readers[i].current().unwrap().ts_ns());
            readers[i].consume();
        }
        assert_eq!(out, vec![5, 10, 20, 25, 30]);
        assert_eq!(merger.late(), 0);
    }

    #[test]
    fn counts_records_published_too_late() {
        let mems: Vec<_> = (0..2).map(|_| RingMemory::new(4096)).collect();
        let mut producers: Vec<_> = mems.iter().map(|m| m.producer_half()).collect();
        let mut readers: Vec<_> = mems.iter().enumerate().map(|(i, m)| m.reader(i)).collect();
        producers[0].push(&rec(100)).unwrap();
        let mut merger = Merger::new(10);
        assert_eq!(
            merger.next(&mut readers, Some(1000)).unwrap(),
            Step::Ready(0)
        );
        readers[0].consume();
        producers[1].push(&rec(50)).unwrap();
        assert_eq!(
            merger.next(&mut readers, Some(1000)).unwrap(),
            Step::Ready(1)
        );
        assert_eq!(merger.late(), 1);
    }

    /// The merge loads an empty ring's head once per pass, not once per
    /// record released: with 64 rings of which one is busy, releasing a
    /// thousand records costs a few hundred head loads in all, where
    /// looking at every ring per record would cost 63,000.
    #[test]
    fn head_loads_per_record_do_not_grow_with_the_rings() {
        let n_rings = 64;
        let mems: Vec<_> = (0..n_rings).map(|_| RingMemory::new(1 << 17)).collect();
        let mut busy = mems[5].producer_half();
        let mut readers: Vec<_> = mems.iter().enumerate().map(|(i, m)| m.reader(i)).collect();
        let mut merger = Merger::new(10);
        let mut out = Vec::new();
        for round in 0..4u64 {
            for k in 0..250 {
                busy.push(&rec(round * 1000 + k + 1)).unwrap();
            }
            // One pass per round (a new `now`), records old enough to go.
            let now = Some(1_000_000 + round);
            while let Step::Ready(i) = merger.next(&mut readers, now).unwrap() {
                out.push(readers[i].current().unwrap().ts_ns());
                readers[i].consume();
            }
        }
        assert_eq!(out.len(), 1000);
        assert!(out.windows(2).all(|w| w[0] < w[1]));
        let loads: u64 = readers.iter().map(|r| r.stats().head_loads).sum();
        // Per pass: each empty ring once at the pass's start and once
        // before the merge stops, the busy ring when it catches up.
        assert!(
            loads <= 4 * (2 * n_rings as u64 + 4),
            "{loads} head loads for 1000 records over {n_rings} rings"
        );
    }

    /// Ties go to the lower ring, and a ring that was empty is looked at
    /// again when the next pass starts.
    #[test]
    fn ties_go_to_the_lower_ring_and_new_records_lift_a_hold() {
        let mems: Vec<_> = (0..3).map(|_| RingMemory::new(4096)).collect();
        let mut producers: Vec<_> = mems.iter().map(|m| m.producer_half()).collect();
        let mut readers: Vec<_> = mems.iter().enumerate().map(|(i, m)| m.reader(i)).collect();
        producers[2].push(&rec(7)).unwrap();
        producers[1].push(&rec(7)).unwrap();
        let mut merger = Merger::new(100);
        // Ring 0 is empty and the records are young: hold.
        assert_eq!(
            merger.next(&mut readers, Some(50)).unwrap(),
            Step::HoldUntil(107)
        );
        // Ring 0 gets a record; the next pass sees it: no ring is empty any
        // more, so the merge releases without waiting for the window.
        producers[0].push(&rec(9)).unwrap();
        let mut order = Vec::new();
        while let Step::Ready(i) = merger.next(&mut readers, Some(51)).unwrap() {
            order.push((i, readers[i].current().unwrap().ts_ns()));
            readers[i].consume();
        }
        // Ring 1 before ring 2 at the same timestamp; then ring 1 is empty,
        // so ring 2's 7 waits out the window again.
        assert_eq!(order, vec![(1, 7)]);
        assert_eq!(
            merger.next(&mut readers, Some(51)).unwrap(),
            Step::HoldUntil(107)
        );
        assert_eq!(
            merger.next(&mut readers, Some(107)).unwrap(),
            Step::Ready(2)
        );
        readers[2].consume();
        assert_eq!(merger.next(&mut readers, None).unwrap(), Step::Ready(0));
        readers[0].consume();
        assert_eq!(merger.next(&mut readers, None).unwrap(), Step::Empty);
    }
}
