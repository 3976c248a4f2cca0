//! `syscall_event_drops`: once a second, when more than `threshold` of the
//! second's events were dropped by the module, take the configured actions
//! (log, alert, exit), at most as often as a token bucket allows.
//!
//! Facts from Falco (its event_drops manager): the check runs once a
//! second; the ratio is drops / events, where the events include the
//! drops; the bucket starts full; the alert has the rule name
//! [`DROP_ALERT_RULE`], priority Debug, the message `<rule>. N system calls
//! dropped in last second.` and its counts as strings in `output_fields`
//! (`n_evts`, `n_drops`, `n_drops_buffer_total`, `n_drops_page_faults`,
//! ...).  Kestrel's module has three reasons (ring full, too large, user
//! memory fault): ring full is Falco's buffer drops, a fault its page
//! faults, and too large is added as `n_drops_too_large`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use crate::config::{DropAction, SyscallEventDrops, DROP_ALERT_RULE};
use crate::record::Record;
use crate::rules::format::{Alert, SOURCE_INTERNAL};
use crate::rules::Priority;

/// Falco's token bucket: `rate` tokens a second up to `max` tokens; it
/// starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    max: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, max: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            max,
            tokens: max,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn claim(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.max);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Events and drops counted since the last check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Events delivered.
    pub events: u64,
    /// Dropped because the ring was full.
    pub ring_full: u64,
    /// Dropped because the record was too large.
    pub too_large: u64,
    /// Dropped because user memory could not be read.
    pub fault: u64,
}

impl DropCounts {
    /// All drops.
    pub fn drops(&self) -> u64 {
        // Saturating: the counts come from LOST records (outside input).
        self.ring_full
            .saturating_add(self.too_large)
            .saturating_add(self.fault)
    }
}

/// What one check decided.
#[derive(Debug, Default)]
pub struct DropVerdict {
    /// A line to log at error level.
    pub log: Option<String>,
    /// An alert for the outputs.
    pub alert: Option<Alert>,
    /// Stop with this message.
    pub exit: Option<String>,
}

/// The drop policy of a running service.
#[derive(Debug)]
pub struct DropPolicy {
    actions: Vec<DropAction>,
    threshold: f64,
    simulate: bool,
    bucket: TokenBucket,
    counts: DropCounts,
    next_check: Instant,
    /// Seconds in which the threshold was crossed.
    pub occurrences: u64,
    /// Checks that acted.
    pub actions_taken: u64,
}

impl DropPolicy {
    /// The policy `cfg` describes, first checking a second after `now`.
    pub fn new(cfg: &SyscallEventDrops, actions: Vec<DropAction>, now: Instant) -> DropPolicy {
        DropPolicy {
            actions,
            threshold: cfg.threshold,
            simulate: cfg.simulate_drops,
            bucket: TokenBucket::new(cfg.rate, f64::from(cfg.max_burst), now),
            counts: DropCounts::default(),
            next_check: now + Duration::from_secs(1),
            occurrences: 0,
            actions_taken: 0,
        }
    }

    /// Counts one delivered event.
    #[inline]
    pub fn event(&mut self) {
        self.counts.events += 1;
    }

    /// Counts the drops a LOST record reports (params: sequence, ring full,
    /// too large, fault).
    pub fn lost(&mut self, rec: &Record<'_>) {
        let p = |i| rec.param(i).and_then(|p| p.u64()).unwrap_or(0);
        // Saturating: a hostile or corrupt LOST record cannot wrap them.
        self.counts.ring_full = self.counts.ring_full.saturating_add(p(1));
        self.counts.too_large = self.counts.too_large.saturating_add(p(2));
        self.counts.fault = self.counts.fault.saturating_add(p(3));
    }

    /// Runs the once-a-second check when it is due at `now`; `wall_ns` is
    /// the alert's time, `hostname` its host.
    pub fn check(&mut self, now: Instant, wall_ns: i128, hostname: &str) -> DropVerdict {
        if now < self.next_check {
            return DropVerdict::default();
        }
        self.next_check = now + Duration::from_secs(1);
        let mut c = std::mem::take(&mut self.counts);
        if self.simulate {
            c.ring_full += 1;
        }
        let drops = c.drops();
        if drops == 0 {
            return DropVerdict::default();
        }
        // Falco's ratio: the events count the drops too.
        let ratio = drops as f64 / (c.events + drops) as f64;
        if ratio <= self.threshold && !self.simulate {
            return DropVerdict::default();
        }
        self.occurrences += 1;
        if self.actions.is_empty() || !self.bucket.claim(now) {
            return DropVerdict::default();
        }
        self.actions_taken += 1;
        let message = format!("{DROP_ALERT_RULE}. {drops} system calls dropped in last second.");
        let mut v = DropVerdict::default();
        for a in &self.actions {
            match a {
                DropAction::Ignore => {}
                DropAction::Log => v.log = Some(message.clone()),
                DropAction::Alert => v.alert = Some(drop_alert(&c, &message, wall_ns, hostname)),
                DropAction::Exit => v.exit = Some(message.clone()),
            }
        }
        v
    }
}

fn drop_alert(c: &DropCounts, message: &str, wall_ns: i128, hostname: &str) -> Alert {
    let mut f = Map::new();
    let drops = c.drops();
    for (k, v) in [
        ("n_evts", c.events + drops),
        ("n_drops", drops),
        ("n_drops_buffer_total", c.ring_full),
        ("n_drops_page_faults", c.fault),
        ("n_drops_too_large", c.too_large),
    ] {
        f.insert(k.into(), Json::String(v.to_string()));
    }
    f.insert("ebpf_enabled".into(), Json::String("0".into()));
    Alert {
        rule: DROP_ALERT_RULE.into(),
        priority: Priority::Debug,
        output: message.into(),
        time_ns: wall_ns,
        output_fields: f,
        tags: Vec::new(),
        hostname: hostname.into(),
        source: SOURCE_INTERNAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RecordBuilder, TYPE_LOST};

    fn lost(full: u64, large: u64, fault: u64) -> Vec<u8> {
        let mut b = RecordBuilder::new(TYPE_LOST, 0, 0, 0);
        for v in [7, full, large, fault] {
            b = b.u64(v);
        }
        b.build()
    }

    fn policy(actions: &[DropAction], rate: f64, burst: u32, t0: Instant) -> DropPolicy {
        let cfg = SyscallEventDrops {
            threshold: 0.1,
            actions: Vec::new(),
            rate,
            max_burst: burst,
            simulate_drops: false,
        };
        DropPolicy::new(&cfg, actions.to_vec(), t0)
    }

    #[test]
    fn acts_once_a_second_above_the_threshold_with_falcos_alert() {
        let t0 = Instant::now();
        let all = [DropAction::Log, DropAction::Alert, DropAction::Exit];
        let mut p = policy(&all, 10.0, 10, t0);
        for _ in 0..80 {
            p.event();
        }
        let rec = lost(15, 3, 2);
        p.lost(&Record::parse(&rec).unwrap());
        // Not before a second has passed.
        assert!(p.check(t0, 0, "h").alert.is_none());
        let v = p.check(t0 + Duration::from_secs(1), 5, "h");
        let a = v.alert.expect("20 of 100 dropped: above 0.1");
        assert_eq!(a.rule, "Falco internal: syscall event drop");
        assert_eq!(a.priority, Priority::Debug);
        assert_eq!(a.source, SOURCE_INTERNAL);
        assert_eq!(
            a.output,
            "Falco internal: syscall event drop. 20 system calls dropped in last second."
        );
        assert_eq!(a.output_fields["n_evts"], "100");
        assert_eq!(a.output_fields["n_drops"], "20");
        assert_eq!(a.output_fields["n_drops_buffer_total"], "15");
        assert_eq!(a.output_fields["n_drops_page_faults"], "2");
        assert_eq!(a.output_fields["n_drops_too_large"], "3");
        assert_eq!(v.log.as_deref(), Some(a.output.as_str()));
        assert!(v.exit.is_some());
        // The counts were reset: the next second has no drops.
        assert!(p.check(t0 + Duration::from_secs(2), 5, "h").alert.is_none());
    }

    #[test]
    fn below_the_threshold_nothing_happens() {
        let t0 = Instant::now();
        let mut p = policy(&[DropAction::Alert], 10.0, 10, t0);
        for _ in 0..991 {
            p.event();
        }
        let rec = lost(9, 0, 0);
        p.lost(&Record::parse(&rec).unwrap());
        assert!(p.check(t0 + Duration::from_secs(1), 0, "h").alert.is_none());
        assert_eq!(p.occurrences, 0);
    }

    #[test]
    fn the_token_bucket_limits_actions() {
        let t0 = Instant::now();
        // One action per 2 s, bursts of 1.
        let mut p = policy(&[DropAction::Alert], 0.5, 1, t0);
        let rec = lost(5, 0, 0);
        let mut alerts = 0;
        for s in 1..=10 {
            p.lost(&Record::parse(&rec).unwrap());
            if p.check(t0 + Duration::from_secs(s), 0, "h").alert.is_some() {
                alerts += 1;
            }
        }
        assert_eq!(p.occurrences, 10);
        assert_eq!(alerts, 5, "the full bucket, then one per 2 s");
    }
}
