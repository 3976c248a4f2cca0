//! K-way merge of the per-CPU rings into one stream ordered by timestamp.
//!
//! Each ring is ordered by itself; across rings, a record may be published a
//! moment after a later-stamped record on another CPU.  So while some ring is
//! empty, a record is released only once it is older than `now -
//! window`: every record stamped before that has had `window` to be
//! published.  When capture has stopped, everything left is released in
//! order.

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

/// Picks, among the rings, the one holding the oldest record that may be
/// released.
#[derive(Debug, Clone, Copy)]
pub struct Merger {
    window_ns: u64,
    last_ts: u64,
    late: u64,
}

impl Merger {
    /// A merger that holds records for `window_ns` while a ring is empty.
    pub fn new(window_ns: u64) -> Self {
        Merger {
            window_ns,
            last_ts: 0,
            late: 0,
        }
    }

    /// Records released with a timestamp older than one already released
    /// (published later than the window allowed).
    pub fn late(&self) -> u64 {
        self.late
    }

    /// The ring whose current record comes next, if it may be released.
    /// `now_ns` is CLOCK_MONOTONIC read before this call; `None` releases
    /// everything (capture stopped).
    pub fn next(
        &mut self,
        rings: &mut [RingReader],
        now_ns: Option<u64>,
    ) -> Result<Step, RingError> {
        let mut best: Option<(u64, usize)> = None;
        let mut some_empty = false;
        for (i, ring) in rings.iter_mut().enumerate() {
            match ring.peek_ts()? {
                Some(ts) => {
                    if best.is_none_or(|(b, _)| ts < b) {
                        best = Some((ts, i));
                    }
                }
                None => some_empty = true,
            }
        }
        let Some((ts, i)) = best else {
            return Ok(Step::Empty);
        };
        if let (true, Some(now)) = (some_empty, now_ns) {
            let release = ts.saturating_add(self.window_ns);
            if release > now {
                return Ok(Step::HoldUntil(release));
            }
        }
        if ts < self.last_ts {
            self.late += 1;
        } else {
            self.last_ts = ts;
        }
        Ok(Step::Ready(i))
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
}
