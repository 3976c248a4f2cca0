//! The data path on one thread and on two (`engine.threads`): the same
//! capture gives byte-identical alert output in the same order, and a
//! reload's rule swap falls between the same two events either way.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kestrel::capture::{CaptureHeader, CaptureWriter};
use kestrel::config::{Config, Override};
use kestrel::output::{Outputs, Sink, StdoutSink};
use kestrel::record::Record;
use kestrel::rules::cases::encode_event;
use kestrel::rules::format::Alert;
use kestrel::service::metrics::Metrics;
use kestrel::service::pipeline::{Back, Command, Pipeline, BATCH_EVENTS};
use kestrel::service::ruleset::RuleSet;
use kestrel::service::{replay_threads, sinks, AlertPath};
use kestrel::state::{State, StateOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kestrel-pipeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(overrides: &[String]) -> Config {
    let o: Vec<Override> = overrides
        .iter()
        .map(|s| Override::parse(s).unwrap())
        .collect();
    Config::from_text("test.yaml", "json_output: true\n", &o).unwrap()
}

fn default_rules() -> Config {
    config(&[format!(
        "rules_files=[{}]",
        root().join("rules/kestrel_rules.yaml").display()
    )])
}

/// A busy host's mix over 40 threads: execs of several programs (so the
/// alerts' process fields come from the state), forks, opens and closes,
/// connects, exits, and now and then a read of /etc/shadow or /etc/passwd
/// or a ptrace, which alert.  `n` events, stamped 1 µs apart.
fn stream(n: usize) -> Vec<Vec<u8>> {
    let programs = ["/usr/bin/python3", "/bin/cat", "/usr/bin/vim", "/bin/sh"];
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    // Encoded once per distinct text (YAML is slow in a debug build); the
    // timestamp is patched in (bytes 8..16 of the header).
    let mut encoded = std::collections::HashMap::<String, Vec<u8>>::new();
    (0..n)
        .map(|i| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let tid = 2000 + (rng >> 40) % 40;
            let text = match (i % 97, (rng >> 33) % 16) {
                (13, _) => format!("{{type: openat, tid: {tid}, params: {{res: 3, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}}}"),
                (41, _) => format!("{{type: ptrace, tid: {tid}, params: {{res: 0, request: 16, pid: 1, addr: 0, data: 0}}}}"),
                (_, 0) => {
                    let exe = programs[((rng >> 20) % 4) as usize];
                    let comm = exe.rsplit('/').next().unwrap();
                    format!("{{type: execve, tid: {tid}, params: {{res: 0, exe: {exe}, args: [{comm}, -x], cwd: /srv, uid: 1000, gid: 1000, euid: 1000, egid: 1000, loginuid: 1000, tty: 0, cgroups: '0::/user.slice', pidns: 4026531836, vpid: {tid}, vtid: {tid}, ptid: 1, env: [HOME=/home/u], comm: {comm}}}}}")
                }
                (_, 1) => format!("{{type: clone, tid: {tid}, params: {{res: {}, flags: 0x3d0f00}}}}", tid + 100),
                (_, 2) => format!("{{type: openat, tid: {tid}, params: {{res: 4, dirfd: -100, name: /etc/passwd, flags: 0, mode: 0, fullpath: /etc/passwd}}}}"),
                (_, 3) => format!("{{type: connect, tid: {tid}, params: {{res: 0, fd: 9, addr: '10.0.0.7:443', tuple: '10.0.0.5:41000->10.0.0.7:443'}}}}"),
                (_, 4) => format!("{{type: procexit, tid: {tid}, params: {{status: 0}}}}"),
                (_, 5..=7) => format!("{{type: close, tid: {tid}, params: {{res: 0, fd: 5}}}}"),
                _ => format!("{{type: openat, tid: {tid}, params: {{res: 5, dirfd: -100, name: /usr/lib/libssl.so.3, flags: 524288, mode: 0, fullpath: /usr/lib/libssl.so.3}}}}"),
            };
            let mut rec = encoded
                .entry(text)
                .or_insert_with_key(|text| {
                    encode_event(&serde_yaml::from_str(text).unwrap(), 0).unwrap()
                })
                .clone();
            rec[8..16].copy_from_slice(&(1_000 * (i as u64 + 1)).to_le_bytes());
            rec
        })
        .collect()
}

fn write_capture(path: &Path, records: &[Vec<u8>]) {
    let header = CaptureHeader {
        abi_version: kestrel_abi::ABI_VERSION,
        wall_offset_ns: 1_795_802_400_000_000_000,
        nr_rings: 2,
        snaplen: 4096,
    };
    let mut w = CaptureWriter::new(std::fs::File::create(path).unwrap(), header).unwrap();
    for (i, r) in records.iter().enumerate() {
        w.write((i % 2) as u32, &Record::parse(r).unwrap()).unwrap();
    }
    w.finish().unwrap();
}

/// Replays `cap` on `threads` threads into a JSON-lines file; returns its
/// bytes and the (events, alerts) counts.
fn replay_to_file(cap: &Path, dir: &Path, threads: u32) -> (Vec<u8>, (u64, u64)) {
    let cfg = default_rules();
    let out = dir.join(format!("alerts-{threads}.jsonl"));
    let sink = StdoutSink::with_writer(
        "file",
        Box::new(std::fs::File::create(&out).unwrap()),
        sinks::alert_format(&cfg),
        false,
    );
    // A small queue, so replay's back pressure (waiting for room after an
    // alert) runs on the back thread too.
    let outputs = Outputs::start(vec![Box::new(sink)], 8).unwrap();
    let counts = replay_threads(cap, RuleSet::load(&cfg).unwrap(), outputs, None, threads).unwrap();
    (std::fs::read(&out).unwrap(), counts)
}

/// The same capture through one thread and through two: the same events
/// matched, and the alert file byte for byte the same, in the same order.
#[test]
fn one_and_two_threads_give_byte_identical_alerts() {
    let dir = temp_dir("identical");
    let cap = dir.join("mix.kcap");
    // Many batches, and a last one that is not full.
    let n = 12 * BATCH_EVENTS + 77;
    write_capture(&cap, &stream(n));
    let (one, counts_one) = replay_to_file(&cap, &dir, 1);
    let (two, counts_two) = replay_to_file(&cap, &dir, 2);
    assert_eq!(counts_one.0, n as u64, "every event matched");
    assert_eq!(counts_one, counts_two);
    let lines = one.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    assert_eq!(lines as u64, counts_one.1);
    assert!(
        counts_one.1 >= 30,
        "the capture should raise many alerts, got {}",
        counts_one.1
    );
    // State-dependent output: the shadow alerts name the programs the
    // execs installed, so state and rules saw the events in order.
    let text = String::from_utf8(one.clone()).unwrap();
    assert!(text.contains("Sensitive file read by unexpected program"));
    assert!(text.contains("\"proc.name\":\"cat\"") || text.contains("\"proc.name\":\"vim\""));
    assert!(one == two, "alert output differs between 1 and 2 threads");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sink that keeps what it gets.
struct Collect(Arc<Mutex<Vec<Alert>>>);

impl Sink for Collect {
    fn name(&self) -> &str {
        "collect"
    }
    fn deliver(&mut self, alert: &Alert) -> std::io::Result<()> {
        self.0.lock().unwrap().push(alert.clone());
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `records` through a pipeline on `threads` threads with the
/// default rules, swapping in `swap` before event `at`; returns the
/// alerts' rule names in delivery order.
fn run_with_swap(records: &[Vec<u8>], at: usize, swap: &Config, threads: u32) -> Vec<String> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let outputs = Outputs::start(vec![Box::new(Collect(got.clone()))], 100_000).unwrap();
    let path = AlertPath::new(
        RuleSet::load(&default_rules()).unwrap(),
        outputs.sender(),
        Arc::new(Metrics::new()),
    );
    let back = Back::new(State::new(StateOptions::for_replay(None)), path, 0);
    let mut pipeline = Pipeline::new(back, threads).unwrap();
    assert_eq!(pipeline.threads(), threads);
    for (i, r) in records.iter().enumerate() {
        if i == at {
            pipeline
                .command(Command::SwapRules(Box::new(RuleSet::load(swap).unwrap())))
                .unwrap();
        }
        pipeline.record(0, &Record::parse(r).unwrap()).unwrap();
    }
    let back = pipeline.finish().unwrap();
    assert_eq!(back.path.events, records.len() as u64);
    outputs.shutdown(std::time::Duration::from_secs(10));
    let got = got.lock().unwrap();
    got.iter().map(|a| a.rule.clone()).collect()
}

/// A reload's rule swap takes effect between the same two events on one
/// thread and on two: the alerts before it come from the old rules, those
/// after from the new, and both runs give the same sequence.
#[test]
fn a_rule_swap_falls_between_the_same_events_on_either_thread_count() {
    let dir = temp_dir("swap");
    let rules = dir.join("passwd.yaml");
    std::fs::write(
        &rules,
        "- rule: Passwd opened\n  desc: test rule\n  condition: evt.type = openat and fd.name = /etc/passwd\n  output: \"passwd opened by %proc.name\"\n  priority: WARNING\n",
    )
    .unwrap();
    let swap = config(&[format!("rules_files=[{}]", rules.display())]);
    let records = stream(10 * BATCH_EVENTS);
    // Not on a batch boundary: the swap must split a batch.
    let at = 4 * BATCH_EVENTS + 100;
    let one = run_with_swap(&records, at, &swap, 1);
    let two = run_with_swap(&records, at, &swap, 2);
    assert_eq!(one, two, "the swap fell elsewhere on two threads");
    let first_new = one
        .iter()
        .position(|r| r == "Passwd opened")
        .expect("the new rules alert");
    assert!(first_new > 0, "the old rules alerted before the swap");
    assert!(one[..first_new].iter().all(|r| r != "Passwd opened"));
    assert!(
        one[first_new..].iter().all(|r| r == "Passwd opened"),
        "an old rule alerted after the swap"
    );
    // The old rules' alerts are exactly those of the events before the swap.
    let before = run_with_swap(&records[..at], usize::MAX, &swap, 1);
    assert_eq!(before, one[..first_new]);
    let _ = std::fs::remove_dir_all(&dir);
}
