//! The data path on one thread against two (`engine.threads`):
//! `cargo bench -p kestrel --bench threads`.
//!
//! A synthetic capture (the mix of `rules_replay`: opens, closes,
//! connects, execs, forks, memory calls over 64 threads, one event in a
//! thousand alerting) is replayed through `service::replay_threads` with
//! the default rules and an output that drops what it gets, on 1 and on 2
//! threads, `ROUNDS` times each (default 7, interleaved), over `EVENTS`
//! events (default 200,000).
//!
//! The machine this runs on is shared, so besides the wall clock each run
//! reports CPU time: the front (drain + decode, the calling thread) and the
//! back (state + rules, the rest of the process).  On two free cores the
//! pipeline's rate is bounded by its busier half, so `events / max(front,
//! back)` is what two cores can give whatever else runs; the wall-clock
//! figure is what they gave this time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use kestrel::capture::{CaptureHeader, CaptureWriter};
use kestrel::config::Config;
use kestrel::output::{Outputs, Sink};
use kestrel::record::Record;
use kestrel::rules::cases::encode_event;
use kestrel::rules::format::Alert;
use kestrel::service::replay_threads;
use kestrel::service::ruleset::RuleSet;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `rules_replay` mix, written as a capture.
fn write_capture(path: &std::path::Path, events: u64) {
    let exec = "{type: execve, tid: TID, params: {res: 0, exe: /usr/bin/python3, args: [python3, -m, http.server], cwd: /srv, uid: 1000, gid: 1000, euid: 1000, egid: 1000, loginuid: 1000, tty: 0, cgroups: '0::/user.slice', pidns: 4026531836, vpid: TID, vtid: TID, ptid: 1, env: [HOME=/home/u, LANG=C], comm: python3}}";
    let templates: Vec<(u32, &str)> = vec![
        (30, "{type: openat, tid: TID, params: {res: 5, dirfd: -100, name: /usr/lib/x86_64-linux-gnu/libssl.so.3, flags: 524288, mode: 0, fullpath: /usr/lib/x86_64-linux-gnu/libssl.so.3}}"),
        (10, "{type: openat, tid: TID, params: {res: 6, dirfd: -100, name: /proc/self/stat, flags: 0, mode: 0, fullpath: /proc/self/stat}}"),
        (8, "{type: openat, tid: TID, params: {res: 7, dirfd: 3, name: cache/0001.tmp, flags: 577, mode: 420, fullpath: /var/tmp/app/cache/0001.tmp}}"),
        (2, "{type: openat, tid: TID, params: {res: -2, dirfd: -100, name: /etc/app.conf, flags: 0, mode: 0}}"),
        (20, "{type: close, tid: TID, params: {res: 0, fd: 5}}"),
        (8, "{type: connect, tid: TID, params: {res: 0, fd: 9, addr: '10.0.0.7:443', tuple: '10.0.0.5:41000->10.0.0.7:443'}}"),
        (2, "{type: connect, tid: TID, params: {res: 0, fd: 9, addr: '127.0.0.1:6379', tuple: '127.0.0.1:41001->127.0.0.1:6379'}}"),
        (5, "{type: clone, tid: TID, params: {res: 4242, flags: 0x3d0f00}}"),
        (3, exec),
        (5, "{type: mmap, tid: TID, params: {res: 140000000000, addr: 0, length: 8192, prot: 5, flags: 2, fd: 5, offset: 0}}"),
        (3, "{type: fcntl, tid: TID, params: {res: 10, fd: 5, cmd: 1030}}"),
        (2, "{type: unlinkat, tid: TID, params: {res: 0, dirfd: -100, name: /var/tmp/app/cache/0001.tmp, flags: 0}}"),
        (1, "{type: socket, tid: TID, params: {res: 9, domain: 2, type: 1, proto: 0}}"),
        (1, "{type: procexit, tid: TID, params: {status: 0}}"),
    ];
    let shadow = "{type: openat, tid: TID, params: {res: 3, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}";
    let total: u32 = templates.iter().map(|(w, _)| w).sum();
    let header = CaptureHeader {
        abi_version: kestrel_abi::ABI_VERSION,
        wall_offset_ns: 1_795_802_400_000_000_000,
        nr_rings: 2,
        snaplen: 4096,
    };
    let mut w = CaptureWriter::new(std::fs::File::create(path).unwrap(), header).unwrap();
    let mut cache = std::collections::HashMap::new();
    let mut rng = 0x1234_5678_u64;
    for i in 0..events {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let tid = 1000 + (rng >> 40) % 64;
        let text = if i % 1000 == 999 {
            shadow
        } else {
            let mut pick = ((rng >> 33) % u64::from(total)) as u32;
            let mut chosen = templates[0].1;
            for (wt, t) in &templates {
                if pick < *wt {
                    chosen = t;
                    break;
                }
                pick -= wt;
            }
            chosen
        };
        let rec = cache.entry((text, tid)).or_insert_with(|| {
            let spec = serde_yaml::from_str(&text.replace("TID", &tid.to_string())).unwrap();
            encode_event(&spec, 0).unwrap()
        });
        rec[8..16].copy_from_slice(&(1000 * (i + 1)).to_le_bytes());
        w.write((i % 2) as u32, &Record::parse(rec).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
}

/// An output that drops what it gets.
struct Discard;

impl Sink for Discard {
    fn name(&self) -> &str {
        "discard"
    }
    fn deliver(&mut self, alert: &Alert) -> std::io::Result<()> {
        std::hint::black_box(alert);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn cpu_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// One replay: (wall s, front CPU s, back CPU s).
fn run(file: &std::path::Path, config: &Config, threads: u32, events: u64) -> (f64, f64, f64) {
    let rules = RuleSet::load(config).unwrap();
    let outputs = Outputs::start(vec![Box::new(Discard)], 4096).unwrap();
    let (p0, t0) = (
        cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID),
        cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID),
    );
    let start = Instant::now();
    let (n, _alerts) = replay_threads(file, rules, outputs, None, threads).unwrap();
    let wall = start.elapsed().as_secs_f64();
    let (p1, t1) = (
        cpu_ns(libc::CLOCK_PROCESS_CPUTIME_ID),
        cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID),
    );
    assert_eq!(n, events);
    let front = (t1 - t0) as f64 / 1e9;
    let total = (p1 - p0) as f64 / 1e9;
    (wall, front, total - front)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let events = env("EVENTS", 200_000);
    let rounds = env("ROUNDS", 7).max(1);
    let dir = std::env::temp_dir().join(format!("kestrel-bench-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mix.kcap");
    write_capture(&file, events);
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules/kestrel_rules.yaml");
    let config = Config {
        rules_files: vec![rules],
        ..Config::default()
    };
    let config = Arc::new(config);
    let mut results: [Vec<(f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for threads in [1u32, 2] {
            results[threads as usize - 1].push(run(&file, &config, threads, events));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "pipeline: {events} events x {rounds} rounds, default rules; load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("| threads | wall M ev/s best | wall M ev/s median | front CPU ns/ev | back CPU ns/ev | 2-core bound M ev/s |");
    println!("|---------|------------------|--------------------|-----------------|----------------|---------------------|");
    let mut bounds = [0.0; 2];
    for (k, r) in results.iter().enumerate() {
        let rate = |wall: f64| events as f64 / wall / 1e6;
        let best = r.iter().map(|x| rate(x.0)).fold(0.0, f64::max);
        let med = median(r.iter().map(|x| rate(x.0)).collect());
        let front = median(r.iter().map(|x| x.1).collect());
        let back = median(r.iter().map(|x| x.2).collect());
        // One thread: everything on the front; two: the busier half.
        let bound = if k == 0 {
            events as f64 / (front + back) / 1e6
        } else {
            events as f64 / front.max(back) / 1e6
        };
        bounds[k] = bound;
        println!(
            "| {:7} | {best:16.2} | {med:18.2} | {:15.0} | {:14.0} | {bound:19.2} |",
            k + 1,
            front / events as f64 * 1e9,
            back / events as f64 * 1e9,
        );
    }
    println!(
        "two threads / one (CPU-time bound): {:.2}x",
        bounds[1] / bounds[0]
    );
}
