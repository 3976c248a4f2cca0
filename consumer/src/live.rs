//! A live capture session: configure the module, attach, drain every ring
//! in timestamp order into a callback, detach, drain the rest, and account
//! for every event (delivered, or reported lost).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kestrel_abi::{CpuStats, SyscallMask};

use crate::device::{monotonic_ns, Device, DeviceError};
use crate::merge::{Merger, Step, DEFAULT_REORDER_WINDOW_NS};
use crate::record::{Record, TYPE_LOST};
use crate::ring::{ReaderStats, RingError, RingReader};

/// Unread bytes in a ring at which the module wakes a consumer sleeping in
/// `poll()` (at most a quarter of the ring is asked for).  64 KiB is several
/// hundred records: a consumer that keeps up is woken once per batch rather
/// than once per record, the wake-up (an irq_work, a scheduler wake-up and
/// our return from `poll()`) is spread over hundreds of records, and the
/// ring (8 MiB by default) has more than 99% of its room left when the
/// consumer is woken.
pub const WAKEUP_WATERMARK_BYTES: u64 = 64 * 1024;

/// The longest `poll()` sleep, in ms.  Below the watermark nothing wakes the
/// consumer, so this bounds how late a trickle of events is read: an alert
/// comes at most 50 ms after its event (well inside "within a second"),
/// while an idle consumer wakes only 20 times a second, a few hundred
/// thousand instructions per second in all.
pub const POLL_TIMEOUT_MS: u64 = 50;

/// What to capture and for how long.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Syscalls the module records.
    pub syscalls: SyscallMask,
    /// Bytes copied per parameter (module default if `None`).
    pub snaplen: Option<u32>,
    /// Stop after this many event records (LOST records not counted).
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Where to publish each ring's unread bytes once per loop round (one
    /// slot per ring), for the service's metrics; `None` to skip.
    pub ring_backlog: Option<std::sync::Arc<Vec<std::sync::atomic::AtomicU64>>>,
}

/// A failure during a session.
#[derive(Debug)]
pub enum SessionError {
    /// The device refused something.
    Device(DeviceError),
    /// A ring broke the protocol.
    Ring(RingError),
    /// The callback failed (for example, stdout closed).
    Sink(std::io::Error),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Device(e) => e.fmt(f),
            SessionError::Ring(e) => e.fmt(f),
            SessionError::Sink(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<DeviceError> for SessionError {
    fn from(e: DeviceError) -> Self {
        SessionError::Device(e)
    }
}

impl From<RingError> for SessionError {
    fn from(e: RingError) -> Self {
        SessionError::Ring(e)
    }
}

/// One ring's accounting at the end of a session.
#[derive(Debug, Clone, Copy)]
pub struct RingAccount {
    /// What the reader consumed.
    pub reader: ReaderStats,
    /// What the module counted.
    pub module: CpuStats,
}

impl RingAccount {
    /// Events the module dropped on this ring.
    pub fn dropped(&self) -> u64 {
        let m = &self.module;
        m.drop_ring_full
            .saturating_add(m.drop_too_large)
            .saturating_add(m.drop_fault)
    }

    /// Whether every attempted event is accounted for: attempted ==
    /// consumed + dropped, and every drop was either reported in-band or is
    /// still pending.
    pub fn balanced(&self) -> bool {
        let m = &self.module;
        m.attempted == self.reader.records + self.dropped()
            && self.dropped() == self.reader.lost_events + m.lost_pending
            && self.reader.sequence_gaps == 0
            && self.reader.lost_saturated == 0
    }
}

/// What a session did.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    /// Per ring.
    pub rings: Vec<RingAccount>,
    /// Records released out of timestamp order.
    pub late: u64,
    /// The session ended because it was asked to stop (signal, count,
    /// duration) rather than by an error.
    pub elapsed: Duration,
}

impl SessionSummary {
    /// Event records delivered.
    pub fn events(&self) -> u64 {
        self.rings.iter().map(|r| r.reader.records).sum()
    }

    /// Events dropped by the module.
    pub fn dropped(&self) -> u64 {
        self.rings
            .iter()
            .fold(0u64, |a, r| a.saturating_add(r.dropped()))
    }

    /// Every ring balanced.
    pub fn balanced(&self) -> bool {
        self.rings.iter().all(|r| r.balanced())
    }

    /// Of the dropped events, those of the critical class (exec, fork and
    /// exit, ptrace, module loads, ...), which the module keeps headroom
    /// for: non-zero means even the headroom filled up.
    pub fn critical_dropped(&self) -> u64 {
        self.rings
            .iter()
            .fold(0u64, |a, r| a.saturating_add(r.module.drop_critical))
    }
}

/// A capture whose probes are attached: records are arriving.
pub struct Session<'d> {
    dev: &'d Device,
    rings: Vec<RingReader>,
    started: Instant,
}

/// Maps the rings, configures the module and attaches the probes.  When
/// this returns, every matching syscall is being recorded.
pub fn start_session<'d>(
    dev: &'d Device,
    opts: &SessionOptions,
) -> Result<Session<'d>, SessionError> {
    let mut rings = dev.map_rings()?;
    for r in &mut rings {
        r.set_wakeup_bytes(watermark(dev));
    }
    dev.set_syscalls(&opts.syscalls)?;
    if let Some(s) = opts.snaplen {
        dev.set_snaplen(s)?;
    }
    let started = Instant::now();
    dev.start()?;
    log::info!(
        "capturing on {} rings ({} KiB each)",
        rings.len(),
        dev.info().ring_size / 1024
    );
    Ok(Session {
        dev,
        rings,
        started,
    })
}

fn watermark(dev: &Device) -> u64 {
    WAKEUP_WATERMARK_BYTES.min(dev.info().ring_size / 4)
}

/// Maps the rings that appeared since `rings` was filled (a CPU came online
/// during capture: the module gave it a ring before it ran anything), so
/// that their records are drained too.  Rings stay in id order; the ids
/// may have holes.
fn map_new_rings(dev: &Device, rings: &mut Vec<RingReader>) -> Result<(), SessionError> {
    let ids = dev.ring_ids()?;
    if ids.len() == rings.len() {
        // rings are never freed during a session: same count, same set
        return Ok(());
    }
    for id in ids {
        if rings.iter().any(|r| r.index() == id as usize) {
            continue;
        }
        let mut ring = dev.map_ring(id)?;
        ring.set_wakeup_bytes(watermark(dev));
        log::info!("ring {id} appeared (its CPU came online): draining it too");
        rings.push(ring);
    }
    rings.sort_by_key(|r| r.index());
    Ok(())
}

/// Runs a started capture until `stop` is set, the count or duration is
/// reached, or an error.  `on_record(ring, record)` sees every event and
/// LOST record in timestamp order; it returns false to end the session.
/// `on_idle` runs before the session waits for more.  The gaps LOST
/// records mark are logged here (see [`GapLog`]), whatever the caller does
/// with the records.
pub fn run_session(
    session: Session<'_>,
    opts: &SessionOptions,
    stop: &AtomicBool,
    mut on_record: impl FnMut(u32, &Record<'_>) -> std::io::Result<bool>,
    mut on_idle: impl FnMut() -> std::io::Result<()>,
) -> Result<SessionSummary, SessionError> {
    let Session {
        dev,
        mut rings,
        started,
    } = session;
    let mut merger = Merger::new(DEFAULT_REORDER_WINDOW_NS);
    let mut gaps = GapLog::default();
    let mut on_record = |ring: u32, rec: &Record<'_>| {
        if rec.event_type() == TYPE_LOST {
            if let Some(line) = gaps.record(ring, rec, Instant::now()) {
                log::warn!("{line}");
            }
        }
        on_record(ring, rec)
    };
    let mut delivered = 0u64;
    let mut finished = false;
    // checked: a duration too long to add means no deadline, never a panic.
    let deadline = opts.duration.and_then(|d| started.checked_add(d));
    let result = (|| -> Result<(), SessionError> {
        while !finished && !stop.load(Ordering::Relaxed) {
            // Relaxed: the flag only asks us to stop; no data rides on it.
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            let step = drain(
                &mut rings,
                &mut merger,
                Some(monotonic_ns()),
                &mut |ring, rec| {
                    if rec.event_type() != TYPE_LOST {
                        delivered += 1;
                    }
                    let more = on_record(ring, rec)?;
                    finished = !more || opts.count.is_some_and(|c| delivered >= c);
                    Ok(!finished)
                },
            )?;
            if finished {
                break;
            }
            if let Some(slots) = &opts.ring_backlog {
                for (r, slot) in rings.iter().zip(slots.iter()) {
                    // Relaxed: a gauge read by the metrics only.
                    slot.store(r.backlog(), Ordering::Relaxed);
                }
            }
            on_idle().map_err(SessionError::Sink)?;
            let until_deadline = deadline.map_or(1000, |d| {
                d.saturating_duration_since(Instant::now()).as_millis() as u64
            });
            match step {
                Step::HoldUntil(t) => {
                    // Records wait out the reorder window: a bounded pause,
                    // not a poll (the device would report them ready).
                    let ns = t
                        .saturating_sub(monotonic_ns())
                        .min(until_deadline * 1_000_000);
                    std::thread::sleep(Duration::from_nanos(ns));
                }
                _ => {
                    for r in &mut rings {
                        r.flush();
                    }
                    dev.wait(until_deadline.clamp(1, POLL_TIMEOUT_MS) as u16)?;
                    // once per wait: a CPU may have come online (an ioctl,
                    // at most 20 a second when idle)
                    map_new_rings(dev, &mut rings)?;
                }
            }
        }
        Ok(())
    })();
    // Detach first, so nothing new arrives, then release what is left
    // (including rings that appeared since the last look).
    let stopped = dev.stop();
    let result = result.and_then(|()| map_new_rings(dev, &mut rings));
    if result.is_ok() && !finished {
        drain(&mut rings, &mut merger, None, &mut |ring, rec| {
            on_record(ring, rec)
        })?;
    }
    for line in gaps.flush() {
        log::warn!("{line}");
    }
    result?;
    stopped?;
    for r in &mut rings {
        r.flush();
    }
    on_idle().map_err(SessionError::Sink)?;
    let accounts = rings
        .iter()
        .map(|r| {
            Ok(RingAccount {
                reader: r.stats(),
                module: dev.cpu_stats(r.index() as u32)?,
            })
        })
        .collect::<Result<Vec<_>, DeviceError>>()?;
    let critical: u64 = accounts
        .iter()
        .fold(0u64, |n, a| n.saturating_add(a.module.drop_critical));
    if critical > 0 {
        log::warn!(
            "{critical} critical events (exec, fork/exit, ptrace, module loads, ...) were dropped: \
             the rings' headroom for them filled up"
        );
    }
    Ok(SessionSummary {
        rings: accounts,
        late: merger.late(),
        elapsed: started.elapsed(),
    })
}

/// Releases every record the merge allows; returns why it stopped.
fn drain(
    rings: &mut [RingReader],
    merger: &mut Merger,
    now: Option<u64>,
    on_record: &mut dyn FnMut(u32, &Record<'_>) -> std::io::Result<bool>,
) -> Result<Step, SessionError> {
    loop {
        match merger.next(rings, now)? {
            Step::Ready(i) => {
                let ring = &mut rings[i];
                // the ring's id (its CPU), not its place in the list
                let id = ring.index() as u32;
                let more = match ring.current() {
                    Some(rec) => on_record(id, &rec).map_err(SessionError::Sink)?,
                    None => true,
                };
                ring.consume();
                if !more {
                    return Ok(Step::Empty);
                }
            }
            other => return Ok(other),
        }
    }
}

/// Reports the gaps the module marks with LOST records without flooding
/// the log in a drop storm: the first gap of a ring is reported at once,
/// then at most one line per ring per [`GapLog::INTERVAL`], summing what
/// was lost since the last line.
#[derive(Debug, Default)]
pub struct GapLog {
    rings: std::collections::HashMap<u32, RingGaps>,
}

#[derive(Debug, Default)]
struct RingGaps {
    last_line: Option<Instant>,
    gaps: u64,
    first_seq: u64,
    /// Lost for ring full, too large, fault.
    lost: [u64; kestrel_abi::LOST_NPARAMS - 1],
}

impl GapLog {
    /// Least time between two lines about one ring.
    pub const INTERVAL: Duration = Duration::from_secs(1);

    /// Notes LOST record `rec` of ring `ring`, seen at `now`; returns the
    /// line to log when one is due.
    pub fn record(&mut self, ring: u32, rec: &Record<'_>, now: Instant) -> Option<String> {
        let p = |i| rec.param(i).and_then(|p| p.u64()).unwrap_or(0);
        let g = self.rings.entry(ring).or_default();
        if g.gaps == 0 {
            g.first_seq = p(0);
        }
        g.gaps += 1;
        for (i, n) in g.lost.iter_mut().enumerate() {
            // Saturating: the counts come from outside (a LOST record).
            *n = n.saturating_add(p(i + 1));
        }
        if g.last_line
            .is_none_or(|t| now.duration_since(t) >= Self::INTERVAL)
        {
            Self::line(ring, g, now)
        } else {
            None
        }
    }

    fn line(ring: u32, g: &mut RingGaps, now: Instant) -> Option<String> {
        if g.gaps == 0 {
            return None;
        }
        let [full, large, fault] = g.lost;
        let line = format!(
            "ring {ring}: gap of {} events from sequence {} in {} LOST record(s) (ring full {full}, too large {large}, fault {fault})",
            full.saturating_add(large).saturating_add(fault),
            g.first_seq,
            g.gaps
        );
        *g = RingGaps {
            last_line: Some(now),
            ..RingGaps::default()
        };
        Some(line)
    }

    /// The lines for what is not reported yet, by ring number.
    pub fn flush(&mut self) -> Vec<String> {
        let now = Instant::now();
        let mut rings: Vec<_> = self.rings.iter_mut().collect();
        rings.sort_by_key(|(r, _)| **r);
        rings
            .into_iter()
            .filter_map(|(ring, g)| Self::line(*ring, g, now))
            .collect()
    }
}

#[cfg(test)]
mod gap_log_tests {
    use super::*;
    use crate::record::RecordBuilder;

    fn rec(b: &[u8]) -> Record<'_> {
        Record::parse(b).unwrap()
    }

    fn lost(seq: u64, full: u64, large: u64, fault: u64) -> Vec<u8> {
        let mut b = RecordBuilder::new(TYPE_LOST, 0, 0, 0);
        for v in [seq, full, large, fault] {
            b = b.u64(v);
        }
        b.build()
    }

    #[test]
    fn first_gap_at_once_then_one_line_per_interval_with_the_sums() {
        let mut log = GapLog::default();
        let t0 = Instant::now();
        let (a, b, c) = (lost(10, 5, 0, 0), lost(20, 3, 1, 0), lost(40, 0, 0, 2));
        let first = log
            .record(0, &rec(&a), t0)
            .expect("first gap logged at once");
        assert!(
            first.contains("gap of 5 events from sequence 10 in 1 LOST"),
            "{first}"
        );
        assert_eq!(
            log.record(0, &rec(&b), t0 + Duration::from_millis(10)),
            None
        );
        // Another ring has its own budget.
        assert!(log.record(1, &rec(&c), t0).is_some());
        let later = log
            .record(0, &rec(&c), t0 + GapLog::INTERVAL)
            .expect("a line once the interval passed");
        assert!(
            later.contains("gap of 6 events from sequence 20 in 2 LOST record(s) (ring full 3, too large 1, fault 2)"),
            "{later}"
        );
        assert!(log.flush().is_empty(), "nothing left unreported");
        assert_eq!(log.record(0, &rec(&a), t0 + GapLog::INTERVAL), None);
        let rest = log.flush();
        assert_eq!(rest.len(), 1);
        assert!(
            rest[0].starts_with("ring 0: gap of 5 events from sequence 10"),
            "{rest:?}"
        );
    }
}
