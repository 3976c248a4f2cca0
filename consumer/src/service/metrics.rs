//! `/metrics`: the service's figures in Prometheus' text format, kept with
//! the `prometheus-client` crate (the Prometheus project's own Rust
//! client: typed metric families with labels, and a text encoder that
//! follows the exposition format, so nothing here formats metrics by hand).
//!
//! Who updates what:
//!
//! - the module's per-CPU counters (events attempted, written, dropped per
//!   reason), the outputs' queues and counters ([`Metrics::sinks`]) and
//!   this process's CPU time and RSS are read when a scrape asks
//!   ([`Metrics::refresh_at_scrape`]);
//! - the run loop sets, once a second, the ring fill, events per second
//!   and the state's table sizes;
//! - alerts are counted as they are raised ([`Metrics::alert`]), reloads as
//!   they happen.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::device::Device;
use crate::output::SinkStats;
use crate::rules::Priority;

/// `cpu` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CpuLabels {
    /// Ring (CPU) number.
    pub cpu: String,
}

/// `cpu`, `reason` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    /// Ring (CPU) number.
    pub cpu: String,
    /// ring_full, too_large, fault.
    pub reason: String,
}

/// `rule`, `priority` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    /// Rule name.
    pub rule: String,
    /// Priority name.
    pub priority: String,
}

/// `output` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabels {
    /// The sink's name.
    pub output: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    attempted: Family<CpuLabels, Counter>,
    written: Family<CpuLabels, Counter>,
    dropped: Family<DropLabels, Counter>,
    ring_fill: Family<CpuLabels, FloatGauge>,
    /// Events the consumer drained per second (last second).
    pub events_per_second: FloatGauge,
    /// Events the consumer drained.
    pub events_drained: Counter,
    alerts: Family<RuleLabels, Counter>,
    sink_depth: Family<SinkLabels, Gauge>,
    sink_capacity: Family<SinkLabels, Gauge>,
    sink_delivered: Family<SinkLabels, Counter>,
    sink_dropped: Family<SinkLabels, Counter>,
    sink_failed: Family<SinkLabels, Counter>,
    /// Threads in the state's table.
    pub threads: Gauge,
    /// Processes in the state's table.
    pub processes: Gauge,
    /// Open fds across the table's processes.
    pub fds: Gauge,
    /// Threads the full table refused (its cap, max threads).
    pub threads_refused: Counter,
    /// Process entries freed on exit.
    pub processes_reaped: Counter,
    /// Active rules.
    pub rules_loaded: Gauge,
    /// Reloads that took effect.
    pub reloads: Counter,
    /// Reloads refused (bad configuration or rules); the old set stayed.
    pub reload_failures: Counter,
    /// Drop alerts raised.
    pub drop_alerts: Counter,
    cpu_seconds: Counter<f64, AtomicU64>,
    rss_bytes: Gauge,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric (names prefixed `kestrel_`).
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("kestrel");
        let m = Metrics {
            registry: Registry::default(),
            attempted: Family::default(),
            written: Family::default(),
            dropped: Family::default(),
            ring_fill: Family::default(),
            events_per_second: FloatGauge::default(),
            events_drained: Counter::default(),
            alerts: Family::default(),
            sink_depth: Family::default(),
            sink_capacity: Family::default(),
            sink_delivered: Family::default(),
            sink_dropped: Family::default(),
            sink_failed: Family::default(),
            threads: Gauge::default(),
            processes: Gauge::default(),
            fds: Gauge::default(),
            threads_refused: Counter::default(),
            processes_reaped: Counter::default(),
            rules_loaded: Gauge::default(),
            reloads: Counter::default(),
            reload_failures: Counter::default(),
            drop_alerts: Counter::default(),
            cpu_seconds: Counter::default(),
            rss_bytes: Gauge::default(),
            started: Instant::now(),
        };
        r.register(
            "events_attempted",
            "Events the module tried to record, per CPU",
            m.attempted.clone(),
        );
        r.register(
            "events_written",
            "Events the module wrote to its ring, per CPU",
            m.written.clone(),
        );
        r.register(
            "events_dropped",
            "Events the module dropped, per CPU and reason (ring_full, too_large, fault)",
            m.dropped.clone(),
        );
        r.register(
            "ring_fill_ratio",
            "Share of each ring holding unread records (0..1), as of the last second",
            m.ring_fill.clone(),
        );
        r.register(
            "events_per_second",
            "Events drained in the last second",
            m.events_per_second.clone(),
        );
        r.register(
            "events_drained",
            "Events the consumer drained and matched",
            m.events_drained.clone(),
        );
        r.register(
            "alerts",
            "Alerts raised, per rule and priority",
            m.alerts.clone(),
        );
        r.register(
            "output_queue_depth",
            "Alerts waiting in each output's queue",
            m.sink_depth.clone(),
        );
        r.register(
            "output_queue_capacity",
            "Capacity of each output's queue",
            m.sink_capacity.clone(),
        );
        r.register(
            "output_delivered",
            "Alerts each output delivered",
            m.sink_delivered.clone(),
        );
        r.register(
            "output_dropped",
            "Alerts each output dropped because its queue was full",
            m.sink_dropped.clone(),
        );
        r.register(
            "output_failed",
            "Alerts each output failed to deliver",
            m.sink_failed.clone(),
        );
        r.register(
            "state_threads",
            "Threads in the process table",
            m.threads.clone(),
        );
        r.register(
            "state_processes",
            "Processes in the process table",
            m.processes.clone(),
        );
        r.register("state_fds", "Open fds in the process table", m.fds.clone());
        r.register(
            "state_threads_refused",
            "Threads not tracked because the table was full",
            m.threads_refused.clone(),
        );
        r.register(
            "state_processes_reaped",
            "Process entries freed after their exit",
            m.processes_reaped.clone(),
        );
        r.register("rules_loaded", "Active rules", m.rules_loaded.clone());
        r.register("reloads", "Reloads that took effect", m.reloads.clone());
        r.register(
            "reload_failures",
            "Reloads refused (the running configuration and rules stayed)",
            m.reload_failures.clone(),
        );
        r.register(
            "drop_alerts",
            "Drop alerts raised (syscall_event_drops)",
            m.drop_alerts.clone(),
        );
        r.register(
            "process_cpu_seconds",
            "CPU time of the kestrel process (user + system)",
            m.cpu_seconds.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident memory of the kestrel process",
            m.rss_bytes.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Counts an alert of `rule` at `priority`.
    pub fn alert(&self, rule: &str, priority: Priority) {
        self.alerts
            .get_or_create(&RuleLabels {
                rule: rule.to_string(),
                priority: priority.name().to_string(),
            })
            .inc();
    }

    /// Alerts counted for `rule` so far.
    pub fn alerts_of(&self, rule: &str, priority: Priority) -> u64 {
        self.alerts
            .get_or_create(&RuleLabels {
                rule: rule.to_string(),
                priority: priority.name().to_string(),
            })
            .get()
    }

    /// Sets each ring's fill ratio.
    pub fn ring_fill(&self, ring: usize, ratio: f64) {
        self.ring_fill
            .get_or_create(&CpuLabels {
                cpu: ring.to_string(),
            })
            .set(ratio);
    }

    /// Copies the outputs' counters.
    pub fn sinks(&self, stats: &[SinkStats]) {
        for s in stats {
            let l = SinkLabels {
                output: s.name.clone(),
            };
            self.sink_depth.get_or_create(&l).set(s.queue_depth as i64);
            self.sink_capacity.get_or_create(&l).set(s.capacity as i64);
            // Relaxed: plain counters copied from the outputs' own.
            store(&self.sink_delivered.get_or_create(&l), s.delivered);
            store(&self.sink_dropped.get_or_create(&l), s.dropped);
            store(&self.sink_failed.get_or_create(&l), s.failed);
        }
    }

    /// Reads the module's counters and this process's CPU time and RSS.
    pub fn refresh_at_scrape(&self, dev: Option<&Device>) {
        if let Some(dev) = dev {
            for ring in 0..dev.info().nr_rings {
                let Ok(s) = dev.cpu_stats(ring) else { continue };
                let cpu = ring.to_string();
                store(
                    &self
                        .attempted
                        .get_or_create(&CpuLabels { cpu: cpu.clone() }),
                    s.attempted,
                );
                store(
                    &self.written.get_or_create(&CpuLabels { cpu: cpu.clone() }),
                    s.written,
                );
                for (reason, v) in [
                    ("ring_full", s.drop_ring_full),
                    ("too_large", s.drop_too_large),
                    ("fault", s.drop_fault),
                ] {
                    store(
                        &self.dropped.get_or_create(&DropLabels {
                            cpu: cpu.clone(),
                            reason: reason.into(),
                        }),
                        v,
                    );
                }
            }
        }
        if let Some((cpu, rss)) = self_usage() {
            // Relaxed: a counter set to the kernel's figure.
            self.cpu_seconds
                .inner()
                .store(cpu.to_bits(), Ordering::Relaxed);
            self.rss_bytes.set(rss as i64);
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        if prometheus_client::encoding::text::encode(&mut s, &self.registry).is_err() {
            s.clear();
        }
        s
    }

    /// Seconds since the metrics were made.
    pub fn uptime(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

fn store(c: &Counter, v: u64) {
    // Relaxed: the counter mirrors another counter; readers want a recent
    // value, not an ordering.
    c.inner().store(v, Ordering::Relaxed);
}

/// This process's CPU seconds (user + system) and resident bytes, from
/// /proc/self/stat.
fn self_usage() -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command's closing parenthesis: fields from 3 (state) on.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // utime, stime are fields 14, 15; rss field 24 (1-based, whole line).
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let rss_pages: u64 = f.get(21)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // SAFETY: as above.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    Some(((utime + stime) as f64 / tck, rss_pages * page))
}

/// What `/healthz` answers from: capture running, and the run loop coming
/// round (it does at least every 50 ms while it keeps up).
#[derive(Debug)]
pub struct Health {
    capturing: AtomicBool,
    /// Milliseconds since `started` of the loop's last round, plus one.
    last_round_ms: AtomicU64,
    started: Instant,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            capturing: AtomicBool::new(false),
            last_round_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Health {
    /// The loop must come round at least this often to be healthy.
    pub const STALL_MS: u64 = 2000;

    /// Capture started (true) or stopped.
    pub fn set_capturing(&self, on: bool) {
        // Relaxed: a status flag; no data is published through it.
        self.capturing.store(on, Ordering::Relaxed);
        self.round();
    }

    /// The loop came round.
    pub fn round(&self) {
        let ms = self.started.elapsed().as_millis() as u64 + 1;
        // Relaxed: a timestamp read by the health check only.
        self.last_round_ms.store(ms, Ordering::Relaxed);
    }

    /// Healthy, or why not.
    pub fn check(&self) -> Result<(), String> {
        self.check_at(Instant::now())
    }

    /// Healthy at `now`, or why not.
    pub fn check_at(&self, now: Instant) -> Result<(), String> {
        // Relaxed: see set_capturing and round.
        if !self.capturing.load(Ordering::Relaxed) {
            return Err("capture is not running".into());
        }
        let last = self.last_round_ms.load(Ordering::Relaxed);
        let now = now.saturating_duration_since(self.started).as_millis() as u64 + 1;
        let late = now.saturating_sub(last);
        if late > Self::STALL_MS {
            return Err(format!("the drain loop has not come round for {late} ms"));
        }
        Ok(())
    }
}

/// What the web server reads from.
pub struct Shared {
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The health.
    pub health: Arc<Health>,
    /// The device, for its counters at scrape time.
    pub device: Option<Arc<Device>>,
    /// The outputs, for their counters at scrape time.
    pub outputs: Option<super::SharedOutputs>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_the_families_and_labels() {
        let m = Metrics::new();
        m.alert("Sensitive file read", Priority::Warning);
        m.alert("Sensitive file read", Priority::Warning);
        m.sinks(&[SinkStats {
            name: "http".into(),
            queue_depth: 3,
            capacity: 1024,
            delivered: 7,
            dropped: 2,
            failed: 1,
        }]);
        m.ring_fill(1, 0.25);
        m.reloads.inc();
        m.refresh_at_scrape(None);
        let text = m.encode();
        for want in [
            "kestrel_alerts_total{rule=\"Sensitive file read\",priority=\"Warning\"} 2",
            "kestrel_output_queue_depth{output=\"http\"} 3",
            "kestrel_output_dropped_total{output=\"http\"} 2",
            "kestrel_output_delivered_total{output=\"http\"} 7",
            "kestrel_ring_fill_ratio{cpu=\"1\"} 0.25",
            "kestrel_reloads_total 1",
            "# TYPE kestrel_process_resident_memory_bytes gauge",
        ] {
            assert!(text.contains(want), "lacks {want}:\n{text}");
        }
        let rss = text
            .lines()
            .find(|l| l.starts_with("kestrel_process_resident_memory_bytes "))
            .unwrap();
        let v: f64 = rss.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(v > 1e6, "{rss}");
    }

    #[test]
    fn health_needs_capture_and_a_turning_loop() {
        let h = Health::default();
        assert!(h.check().unwrap_err().contains("not running"));
        h.set_capturing(true);
        assert!(h.check().is_ok());
        // A loop that stopped coming round.
        let later = Instant::now() + std::time::Duration::from_millis(Health::STALL_MS + 50);
        assert!(h
            .check_at(later)
            .unwrap_err()
            .contains("has not come round"));
        h.round();
        assert!(h.check().is_ok());
        h.set_capturing(false);
        assert!(h.check().is_err());
    }
}
