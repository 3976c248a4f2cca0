//! Output: events as JSON lines, and alert delivery.
//!
//! - [`event_line`]: decoded events → one JSON object per line
//!   (`kestrel events`, `replay --events`), re-exported here;
//! - [`alert`]: Falco's alert text line and JSON object ([`AlertFormat`]);
//! - [`Sink`]: one destination of alerts; one implementation per output:
//!   [`StdoutSink`], [`FileSink`], [`SyslogSink`], [`ProgramSink`],
//!   [`HttpSink`];
//! - [`Outputs`]: the dispatcher.  Each sink runs on its own thread behind
//!   its own bounded queue.  [`AlertSender::send`] never blocks: when a
//!   sink is slow or hung, its queue fills, and the alerts it cannot take
//!   are dropped and counted ([`SinkStats::dropped`], and a log line at
//!   most every ten seconds per sink); the caller and the other sinks go on.
//!
//! ```text
//!  matcher ──send(Arc<Alert>)──┬─▶ [queue] ─▶ thread ─▶ stdout
//!  (any number of threads,     ├─▶ [queue] ─▶ thread ─▶ file
//!   each with a clone of the   └─▶ [queue] ─▶ thread ─▶ http …
//!   AlertSender)
//! ```
//!
//! Buffering: a sink built unbuffered (Falco's `buffered_outputs: false`,
//! the default) flushes after every alert.  A buffered one is still flushed
//! whenever its queue runs empty, so an alert never waits in a buffer
//! while the sink is idle; buffering only batches the writes of a burst.

pub mod alert;
pub mod event_line;
pub mod file;
pub mod http;
pub mod program;
mod stdout;
pub mod syslog;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    bounded, select, unbounded, Receiver, RecvTimeoutError, Sender, TrySendError,
};

pub use alert::{json_value, render, render_into, text_line, write_json, AlertFormat};
pub use event_line::{format_wall_time, write_json_str, EventLineWriter};
pub use file::FileSink;
pub use http::{HttpOptions, HttpSink};
pub use program::ProgramSink;
pub use stdout::StdoutSink;
pub use syslog::SyslogSink;

#[cfg(test)]
pub(crate) use event_line::tests;

pub use crate::rules::format::Alert;

/// Queue capacity per sink when the configuration names none.
///
/// Falco's `outputs_queue.capacity` defaults to 0, an unbounded queue; a
/// hung webhook then grows Falco's memory without limit.  Kestrel's queues
/// are always bounded.  1024 alerts per sink hold a burst of several
/// seconds of a noisy rule set.  Measured (`cargo bench -p kestrel --bench
/// outputs`): a queue costs 16 KiB of heap from the start (16 bytes per
/// slot: an `Arc` and a sequence stamp); a full one also keeps up to 1024
/// alerts alive, about 2.3 KiB each for the default rules' alerts, so at
/// most 2.3 MiB, and the alerts are shared by every sink's queue, not
/// copied.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// How often, at most, a sink's dropped or failed alerts are logged.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One destination of alerts.  [`Outputs`] calls it from the sink's own
/// thread only, so an implementation may block (a slow disk, a webhook
/// that does not answer): only its own queue fills.
pub trait Sink: Send {
    /// A short name for logs and metrics: `stdout`, `file`, `syslog`,
    /// `program`, `http`.
    fn name(&self) -> &str;

    /// Delivers one alert.  An error counts the alert as failed
    /// ([`SinkStats::failed`]) and is logged (rate-limited); the sink is
    /// called again with the next alert.
    fn deliver(&mut self, alert: &Alert) -> std::io::Result<()>;

    /// Writes out anything buffered.
    fn flush(&mut self) -> std::io::Result<()>;

    /// Closes and opens again what the sink writes to (a file after
    /// logrotate moved it, a program): SIGUSR1 and reload.
    fn reopen(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One sink's counters, as [`Outputs::stats`] reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkStats {
    /// The sink's [`Sink::name`].
    pub name: String,
    /// Alerts waiting in its queue.
    pub queue_depth: usize,
    /// Its queue's capacity.
    pub capacity: usize,
    /// Alerts delivered.
    pub delivered: u64,
    /// Alerts dropped because its queue was full (or the sink had stopped).
    pub dropped: u64,
    /// Alerts the sink failed to deliver (it returned an error).
    pub failed: u64,
}

/// Logs at most one line per [`LOG_INTERVAL`] about a growing counter,
/// with how much it grew since the last line.
struct RateLimitedLog {
    /// Milliseconds since the sink started, plus one, of the last line;
    /// 0 before the first.
    last_ms: AtomicU64,
    /// Counter value reported by the last line.
    reported: AtomicU64,
}

impl RateLimitedLog {
    fn new() -> Self {
        RateLimitedLog {
            last_ms: AtomicU64::new(0),
            reported: AtomicU64::new(0),
        }
    }

    /// Whether a line is due now; if so, returns how much `total` grew since
    /// the last line.  Only one of several racing callers gets `Some`.
    fn due(&self, started: Instant, total: u64) -> Option<u64> {
        let now_ms = started.elapsed().as_millis() as u64 + 1;
        // Relaxed: the timestamp only throttles log lines; the
        // compare_exchange picks one winner among racing senders, and no
        // other memory is published through it.
        let last = self.last_ms.load(Ordering::Relaxed);
        if last != 0 && now_ms.saturating_sub(last) < LOG_INTERVAL.as_millis() as u64 {
            return None;
        }
        self.last_ms
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .ok()?;
        // Relaxed: a plain counter snapshot for the log text.
        let before = self.reported.swap(total, Ordering::Relaxed);
        Some(total.saturating_sub(before))
    }
}

/// Counters shared by a sink's senders and its thread.
struct Counters {
    delivered: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    drop_log: RateLimitedLog,
    fail_log: RateLimitedLog,
    started: Instant,
}

/// The sending end of one sink's queue.
struct SinkQueue {
    name: String,
    tx: Sender<Arc<Alert>>,
    capacity: usize,
    counters: Arc<Counters>,
}

impl SinkQueue {
    fn send(&self, alert: Arc<Alert>) {
        match self.tx.try_send(alert) {
            Ok(()) => {}
            Err(e) => {
                // Relaxed: a statistics counter; nothing is ordered by it.
                let total = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(n) = self.counters.drop_log.due(self.counters.started, total) {
                    let why = match e {
                        TrySendError::Full(_) => "its queue is full",
                        TrySendError::Disconnected(_) => "it has stopped",
                    };
                    log::warn!(
                        "output {}: {n} alert(s) dropped ({total} in all) because {why} \
                         (capacity {})",
                        self.name,
                        self.capacity
                    );
                }
            }
        }
    }

    fn stats(&self) -> SinkStats {
        // Relaxed: statistics snapshots; each counter is read on its own.
        SinkStats {
            name: self.name.clone(),
            queue_depth: self.tx.len(),
            capacity: self.capacity,
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }
}

/// Hands alerts to every sink's queue.  Cheap to clone, `Send` and `Sync`:
/// give one to each thread that raises alerts.  [`AlertSender::send`]
/// never blocks.
#[derive(Clone)]
pub struct AlertSender {
    queues: Arc<[SinkQueue]>,
}

impl AlertSender {
    /// Queues `alert` for every sink.  A sink whose queue is full (or that
    /// has stopped) does not get it: the drop is counted and logged at most
    /// once per [`LOG_INTERVAL`].  Never blocks.
    pub fn send(&self, alert: Arc<Alert>) {
        for q in self.queues.iter() {
            q.send(alert.clone());
        }
    }

    /// Number of sinks.
    pub fn sinks(&self) -> usize {
        self.queues.len()
    }
}

/// What the dispatcher tells a sink's thread besides alerts.
enum Control {
    Reopen,
    /// Deliver what is queued until the deadline, flush, stop.
    Shutdown(Instant),
}

/// A sink's thread, seen from the dispatcher.
struct Worker {
    name: String,
    control: Sender<Control>,
    /// Disconnected when the thread ends (its sender is dropped on exit,
    /// panics included).
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

/// The alert dispatcher: one thread and one bounded queue per sink.
pub struct Outputs {
    sender: AlertSender,
    workers: Vec<Worker>,
}

impl Outputs {
    /// Starts one thread per sink, each behind a queue of `queue_capacity`
    /// alerts (at least 1).  Fails only if a thread cannot be spawned.
    pub fn start(sinks: Vec<Box<dyn Sink>>, queue_capacity: usize) -> std::io::Result<Outputs> {
        let capacity = queue_capacity.max(1);
        let mut queues = Vec::with_capacity(sinks.len());
        let mut workers: Vec<Worker> = Vec::with_capacity(sinks.len());
        for sink in sinks {
            let name = sink.name().to_string();
            let (tx, rx) = bounded(capacity);
            let (control_tx, control_rx) = unbounded();
            let (done_tx, done_rx) = bounded::<()>(0);
            let counters = Arc::new(Counters {
                delivered: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                drop_log: RateLimitedLog::new(),
                fail_log: RateLimitedLog::new(),
                started: Instant::now(),
            });
            let thread_counters = counters.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("output-{name}"))
                .spawn(move || {
                    let _done = done_tx;
                    run_sink(sink, rx, control_rx, &thread_counters);
                });
            let thread = match spawned {
                Ok(t) => t,
                Err(e) => {
                    // Stop the threads already started before failing.
                    let partial = Outputs {
                        sender: AlertSender {
                            queues: queues.into(),
                        },
                        workers,
                    };
                    partial.shutdown(Duration::from_secs(1));
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("cannot start the thread of output {name}: {e}"),
                    ));
                }
            };
            queues.push(SinkQueue {
                name: name.clone(),
                tx,
                capacity,
                counters,
            });
            workers.push(Worker {
                name,
                control: control_tx,
                done: done_rx,
                thread: Some(thread),
            });
        }
        Ok(Outputs {
            sender: AlertSender {
                queues: queues.into(),
            },
            workers,
        })
    }

    /// A sender for another thread that raises alerts.
    pub fn sender(&self) -> AlertSender {
        self.sender.clone()
    }

    /// Queues `alert` for every sink; never blocks (see [`AlertSender::send`]).
    pub fn send(&self, alert: Arc<Alert>) {
        self.sender.send(alert);
    }

    /// Asks every sink to reopen its file or program (SIGUSR1, reload).
    /// Returns at once; each sink reopens between two alerts.
    pub fn reopen(&self) {
        for w in &self.workers {
            let _ = w.control.send(Control::Reopen);
        }
    }

    /// Every sink's counters, in the order the sinks were given.
    pub fn stats(&self) -> Vec<SinkStats> {
        self.sender.queues.iter().map(SinkQueue::stats).collect()
    }

    /// Delivers what the queues hold, flushes every sink and stops their
    /// threads, all within `timeout`.  A sink still busy at the deadline
    /// (hung) is left behind, its thread detached, and named in a log line;
    /// what its queue still holds shows as `queue_depth`.  Returns the
    /// final counters.
    pub fn shutdown(mut self, timeout: Duration) -> Vec<SinkStats> {
        let deadline = Instant::now() + timeout;
        for w in &self.workers {
            let _ = w.control.send(Control::Shutdown(deadline));
        }
        for w in &mut self.workers {
            match w.done.recv_deadline(deadline) {
                Err(RecvTimeoutError::Disconnected) => {
                    if let Some(t) = w.thread.take() {
                        let _ = t.join();
                    }
                }
                Ok(()) | Err(RecvTimeoutError::Timeout) => {
                    log::warn!(
                        "output {}: not finished within {timeout:?} of shutdown; left behind",
                        w.name
                    );
                    // Detach: dropping a JoinHandle does not wait.
                    w.thread.take();
                }
            }
        }
        self.stats()
    }
}

impl Drop for Outputs {
    /// Without [`Outputs::shutdown`], the threads are told to stop at once
    /// (what is queued is not delivered) and are not waited for.
    fn drop(&mut self) {
        let now = Instant::now();
        for w in &self.workers {
            if w.thread.is_some() {
                let _ = w.control.send(Control::Shutdown(now));
            }
        }
    }
}

/// Delivers one alert, counting the outcome.  A panicking sink counts as a
/// failure, not as a dead thread.
fn deliver(sink: &mut dyn Sink, alert: &Alert, counters: &Counters) {
    let result = catch_unwind(AssertUnwindSafe(|| sink.deliver(alert)))
        .unwrap_or_else(|_| Err(std::io::Error::other("the sink panicked")));
    match result {
        // Relaxed: statistics counters; nothing is ordered by them.
        Ok(()) => {
            counters.delivered.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            let total = counters.failed.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(n) = counters.fail_log.due(counters.started, total) {
                log::warn!(
                    "output {}: {n} alert(s) not delivered ({total} in all); last error: {e}",
                    sink.name()
                );
            }
        }
    }
}

fn flush(sink: &mut dyn Sink) {
    if let Err(e) = sink.flush() {
        log::warn!("output {}: flush failed: {e}", sink.name());
    }
}

/// A sink's thread: alerts from its queue, orders from the dispatcher.
fn run_sink(
    mut sink: Box<dyn Sink>,
    alerts: Receiver<Arc<Alert>>,
    control: Receiver<Control>,
    counters: &Counters,
) {
    let sink = &mut *sink;
    loop {
        select! {
            recv(control) -> msg => match msg {
                Ok(Control::Reopen) => {
                    if let Err(e) = sink.reopen() {
                        log::warn!("output {}: reopen failed: {e}", sink.name());
                    }
                }
                Ok(Control::Shutdown(deadline)) => {
                    while Instant::now() < deadline {
                        match alerts.try_recv() {
                            Ok(a) => deliver(sink, &a, counters),
                            Err(_) => break,
                        }
                    }
                    flush(sink);
                    return;
                }
                // The dispatcher is gone without a word: stop.
                Err(_) => {
                    flush(sink);
                    return;
                }
            },
            recv(alerts) -> a => match a {
                Ok(a) => {
                    deliver(sink, &a, counters);
                    if alerts.is_empty() {
                        flush(sink);
                    }
                }
                Err(_) => {
                    flush(sink);
                    return;
                }
            },
        }
    }
}

#[cfg(test)]
mod dispatcher_tests {
    use super::alert::tests::sample_alert;
    use super::*;
    use std::sync::Mutex;

    /// A sink that records what it gets, and can be made to hang or fail.
    struct Probe {
        name: String,
        got: Arc<Mutex<Vec<String>>>,
        gate: Option<Receiver<()>>,
        fail_every: Option<u32>,
        reopened: Arc<AtomicU64>,
        flushed: Arc<AtomicU64>,
        n: u32,
    }

    impl Probe {
        fn new(name: &str) -> (Probe, Arc<Mutex<Vec<String>>>) {
            let got = Arc::new(Mutex::new(Vec::new()));
            (
                Probe {
                    name: name.into(),
                    got: got.clone(),
                    gate: None,
                    fail_every: None,
                    reopened: Arc::new(AtomicU64::new(0)),
                    flushed: Arc::new(AtomicU64::new(0)),
                    n: 0,
                },
                got,
            )
        }
    }

    impl Sink for Probe {
        fn name(&self) -> &str {
            &self.name
        }
        fn deliver(&mut self, alert: &Alert) -> std::io::Result<()> {
            if let Some(g) = &self.gate {
                // Hung until the test opens the gate (or drops it).
                let _ = g.recv();
            }
            self.n += 1;
            if self.fail_every.is_some_and(|k| self.n % k == 0) {
                return Err(std::io::Error::other("refused"));
            }
            if alert.rule == "panic" {
                panic!("probe asked to panic");
            }
            self.got.lock().unwrap().push(alert.output.clone());
            Ok(())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.flushed.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        fn reopen(&mut self) -> std::io::Result<()> {
            self.reopened.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn every_sink_gets_every_alert_in_order() {
        let (a, got_a) = Probe::new("a");
        let (b, got_b) = Probe::new("b");
        let outputs = Outputs::start(vec![Box::new(a), Box::new(b)], 64).unwrap();
        for i in 0..50 {
            outputs.send(Arc::new(sample_alert(i)));
        }
        let stats = outputs.shutdown(Duration::from_secs(10));
        let want: Vec<String> = (0..50).map(|i| sample_alert(i).output).collect();
        assert_eq!(*got_a.lock().unwrap(), want);
        assert_eq!(*got_b.lock().unwrap(), want);
        for s in stats {
            assert_eq!(
                (s.delivered, s.dropped, s.failed, s.queue_depth),
                (50, 0, 0, 0)
            );
            assert_eq!(s.capacity, 64);
        }
    }

    #[test]
    fn a_hung_sink_drops_and_counts_while_others_go_on() {
        let (mut hung, got_hung) = Probe::new("hung");
        let (gate_tx, gate_rx) = bounded::<()>(0);
        hung.gate = Some(gate_rx);
        let (ok, got_ok) = Probe::new("ok");
        let outputs = Outputs::start(vec![Box::new(hung), Box::new(ok)], 4).unwrap();
        let sender = outputs.sender();
        for i in 0..100 {
            sender.send(Arc::new(sample_alert(i)));
            if i == 0 {
                // The hung sink has taken the first alert and hangs on it.
                wait_until("the hung sink's first alert", || {
                    outputs.stats()[0].queue_depth == 0
                });
            }
            // The healthy sink keeps up: it never drops if given the time.
            wait_until("the healthy sink", || {
                got_ok.lock().unwrap().len() == i as usize + 1
            });
        }
        let stats = outputs.stats();
        assert_eq!(stats[0].name, "hung");
        // One alert is inside the hung deliver(), four wait in the queue.
        assert_eq!(stats[0].queue_depth, 4);
        assert_eq!(stats[0].dropped, 95);
        assert_eq!(stats[0].delivered, 0);
        assert_eq!((stats[1].delivered, stats[1].dropped), (100, 0));
        // Released, the hung sink delivers what it had taken.
        drop(gate_tx);
        let stats = outputs.shutdown(Duration::from_secs(10));
        assert_eq!(stats[0].delivered, 5);
        assert_eq!(got_hung.lock().unwrap().len(), 5);
    }

    #[test]
    fn failures_and_panics_are_counted_and_the_sink_goes_on() {
        let (mut p, got) = Probe::new("flaky");
        p.fail_every = Some(3);
        let outputs = Outputs::start(vec![Box::new(p)], 64).unwrap();
        for i in 0..9 {
            outputs.send(Arc::new(sample_alert(i)));
        }
        let mut boom = sample_alert(99);
        boom.rule = "panic".into();
        outputs.send(Arc::new(boom));
        outputs.send(Arc::new(sample_alert(100)));
        let s = outputs.shutdown(Duration::from_secs(10)).remove(0);
        assert_eq!((s.delivered, s.failed), (7, 4));
        assert_eq!(
            got.lock().unwrap().last().unwrap(),
            &sample_alert(100).output
        );
    }

    #[test]
    fn shutdown_is_bounded_by_its_timeout_even_with_a_hung_sink() {
        let (mut hung, _) = Probe::new("hung");
        let (_gate_tx, gate_rx) = bounded::<()>(0);
        hung.gate = Some(gate_rx);
        let (ok, got_ok) = Probe::new("ok");
        let flushed = ok.flushed.clone();
        let outputs = Outputs::start(vec![Box::new(hung), Box::new(ok)], 16).unwrap();
        outputs.send(Arc::new(sample_alert(0)));
        wait_until("the hung sink's first alert", || {
            outputs.stats()[0].queue_depth == 0
        });
        for i in 1..10 {
            outputs.send(Arc::new(sample_alert(i)));
        }
        let t = Instant::now();
        let stats = outputs.shutdown(Duration::from_millis(300));
        // Bounded: generous slack for a loaded machine, far below "forever".
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(got_ok.lock().unwrap().len(), 10);
        assert!(flushed.load(Ordering::Relaxed) >= 1);
        assert_eq!(stats[1].delivered, 10);
        assert_eq!(stats[0].delivered, 0);
        assert_eq!(stats[0].queue_depth, 9);
    }

    #[test]
    fn reopen_reaches_every_sink() {
        let (a, _) = Probe::new("a");
        let (b, _) = Probe::new("b");
        let (ra, rb) = (a.reopened.clone(), b.reopened.clone());
        let outputs = Outputs::start(vec![Box::new(a), Box::new(b)], 4).unwrap();
        outputs.reopen();
        outputs.reopen();
        wait_until("both reopens", || {
            ra.load(Ordering::Relaxed) == 2 && rb.load(Ordering::Relaxed) == 2
        });
        outputs.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn senders_on_many_threads_share_the_counters() {
        let (p, got) = Probe::new("p");
        let outputs = Outputs::start(vec![Box::new(p)], 4096).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let tx = outputs.sender();
                s.spawn(move || {
                    for i in 0..250 {
                        tx.send(Arc::new(sample_alert(t * 1000 + i)));
                    }
                });
            }
        });
        let s = outputs.shutdown(Duration::from_secs(10)).remove(0);
        assert_eq!((s.delivered, s.dropped), (1000, 0));
        assert_eq!(got.lock().unwrap().len(), 1000);
    }

    #[test]
    fn the_sender_can_go_to_any_thread() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<AlertSender>();
        fn sendable<T: Send>() {}
        sendable::<Outputs>();
    }

    #[test]
    fn rate_limited_log_reports_growth_once_per_interval() {
        let log = RateLimitedLog::new();
        let started = Instant::now();
        assert_eq!(log.due(started, 1), Some(1));
        assert_eq!(log.due(started, 2), None);
        assert_eq!(log.due(started, 50), None);
        // Pretend the last line is older than the interval.
        log.last_ms.store(1, Ordering::Relaxed);
        let long_ago = started - LOG_INTERVAL - Duration::from_millis(5);
        assert_eq!(log.due(long_ago, 60), Some(59));
    }
}
