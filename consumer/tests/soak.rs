//! The soak run (`make soak`, not part of `make test`): a realistic stream
//! replayed for `SOAK_MINUTES` (default 30) through the service's alert
//! path (process state, the default rules, `AlertPath`) with every output
//! on (stdout to /dev/null, a file, syslog to a local socket, a program,
//! an HTTP receiver), sampling the resident set size.  Threads keep
//! appearing (every pass shifts the thread ids), so the state's tables
//! must stay bounded by eviction.  Fails if RSS after the warm-up grows
//! by more than `SOAK_RSS_GROWTH_MB` (default 32 MB).
//!
//! `cargo test --release -p kestrel --test soak -- --ignored --nocapture`

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kestrel::config::Config;
use kestrel::decode::{decode_into, Event};
use kestrel::output::{
    FileSink, HttpOptions, HttpSink, Outputs, ProgramSink, StdoutSink, SyslogSink,
};
use kestrel::record::Record;
use kestrel::rules::cases::encode_event;
use kestrel::rules::event::EventFields;
use kestrel::service::metrics::Metrics;
use kestrel::service::ruleset::RuleSet;
use kestrel::service::{sinks, AlertPath};
use kestrel::state::{State, StateOptions};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The mix a busy host sends (as the rules_replay benchmark's): opens,
/// closes, connects, clones, execs, mmaps, exits; one alert in a thousand.
fn stream(events: usize) -> Vec<Vec<u8>> {
    let exec = "{type: execve, tid: TID, params: {res: 0, exe: /usr/bin/python3, args: [python3, -m, http.server], cwd: /srv, uid: 1000, gid: 1000, euid: 1000, egid: 1000, loginuid: 1000, tty: 0, cgroups: '0::/user.slice', pidns: 4026531836, vpid: TID, vtid: TID, ptid: 1, env: [HOME=/home/u, LANG=C], comm: python3}}";
    let templates: Vec<(u32, &str)> = vec![
        (30, "{type: openat, tid: TID, params: {res: 5, dirfd: -100, name: /usr/lib/x86_64-linux-gnu/libssl.so.3, flags: 524288, mode: 0, fullpath: /usr/lib/x86_64-linux-gnu/libssl.so.3}}"),
        (10, "{type: openat, tid: TID, params: {res: 6, dirfd: -100, name: /proc/self/stat, flags: 0, mode: 0, fullpath: /proc/self/stat}}"),
        (8, "{type: openat, tid: TID, params: {res: 7, dirfd: 3, name: cache/0001.tmp, flags: 577, mode: 420, fullpath: /var/tmp/app/cache/0001.tmp}}"),
        (20, "{type: close, tid: TID, params: {res: 0, fd: 5}}"),
        (8, "{type: connect, tid: TID, params: {res: 0, fd: 9, addr: '10.0.0.7:443', tuple: '10.0.0.5:41000->10.0.0.7:443'}}"),
        (5, "{type: clone, tid: TID, params: {res: 4242, flags: 0x3d0f00}}"),
        (3, exec),
        (5, "{type: mmap, tid: TID, params: {res: 140000000000, addr: 0, length: 8192, prot: 5, flags: 2, fd: 5, offset: 0}}"),
        (3, "{type: fcntl, tid: TID, params: {res: 10, fd: 5, cmd: 1030}}"),
        (1, "{type: socket, tid: TID, params: {res: 9, domain: 2, type: 1, proto: 0}}"),
        (1, "{type: procexit, tid: TID, params: {status: 0}}"),
    ];
    let total: u32 = templates.iter().map(|(w, _)| w).sum();
    let mut rng = 0x1234_5678_u64;
    let mut cache = std::collections::HashMap::new();
    (0..events)
        .map(|i| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let tid = 1000 + (rng >> 40) % 512;
            let text = if i % 1000 == 999 {
                "{type: openat, tid: TID, params: {res: 3, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}"
            } else {
                let mut pick = ((rng >> 33) % u64::from(total)) as u32;
                let mut chosen = templates[0].1;
                for (w, t) in &templates {
                    if pick < *w {
                        chosen = t;
                        break;
                    }
                    pick -= w;
                }
                chosen
            };
            cache
                .entry((text, tid))
                .or_insert_with(|| {
                    let spec = serde_yaml::from_str(&text.replace("TID", &tid.to_string()))
                        .expect("soak event");
                    encode_event(&spec, 1).expect("encodes")
                })
                .clone()
        })
        .collect()
}

/// An HTTP receiver on 127.0.0.1 that answers 200 to every request and
/// counts them.
fn receiver() -> (String, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                let mut pending = Vec::new();
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    // One request per header block with its body.
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..end]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if pending.len() < end + 4 + len {
                            break;
                        }
                        pending.drain(..end + 4 + len);
                        // Relaxed: a counter read once at the end.
                        c.fetch_add(1, Ordering::Relaxed);
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok",
                        );
                    }
                }
            });
        }
    });
    (url, count)
}

#[test]
#[ignore = "long: make soak"]
fn soak_rss_stays_flat() {
    let minutes = env_u64("SOAK_MINUTES", 30);
    let growth_limit_kib = env_u64("SOAK_RSS_GROWTH_MB", 32) * 1024;
    let dir = std::env::temp_dir().join(format!("kestrel-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let syslog = dir.join("log.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&syslog).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while sock.recv(&mut buf).is_ok() {}
    });
    let (url, http_count) = receiver();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config_text = format!(
        "rules_files: [{rules}]\njson_output: true\n",
        rules = root.join("rules/kestrel_rules.yaml").display(),
    );
    let config = Config::from_text("soak.yaml", &config_text, &[]).unwrap();
    let rules = RuleSet::load(&config).unwrap();
    let fmt = sinks::alert_format(&config);
    // Every kind of output, each to a healthy receiver.
    let outputs = Outputs::start(
        vec![
            Box::new(StdoutSink::with_writer(
                "stdout",
                Box::new(std::io::sink()),
                fmt,
                true,
            )),
            Box::new(FileSink::open(dir.join("alerts.jsonl"), true, fmt, false).unwrap()),
            Box::new(SyslogSink::new(&syslog, fmt).unwrap()),
            Box::new(ProgramSink::new("cat > /dev/null", true, fmt).unwrap()),
            Box::new(
                HttpSink::new(HttpOptions {
                    url,
                    ..Default::default()
                })
                .unwrap(),
            ),
        ],
        config.outputs_queue.capacity,
    )
    .unwrap();
    let metrics = Arc::new(Metrics::new());
    let mut path = AlertPath::new(rules, outputs.sender(), metrics);
    // SOAK_MAX_THREADS (default 16,384, the service's is 131,072): the
    // thread table's bound, small enough that the table fills within the
    // warm-up of a short run, so what follows shows whether it stays put.
    let max_threads = env_u64("SOAK_MAX_THREADS", 16_384) as usize;
    let mut state = State::new(StateOptions {
        max_threads,
        ..StateOptions::for_replay(None)
    });
    let hostname = path.hostname().to_string();
    let records = stream(200_000);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(minutes * 60);
    let warmup = Duration::from_secs((minutes * 60 / 3).clamp(10, 600));
    let mut baseline: Option<u64> = None;
    let mut peak = 0u64;
    let mut samples = Vec::new();
    let mut next_sample = started;
    let mut pass = 0u32;
    let mut bytes = Vec::new();
    while Instant::now() < deadline {
        // Each pass: new thread ids (and pids), so threads keep coming.
        let shift = (pass % 8_000) * 512;
        for (i, rec) in records.iter().enumerate() {
            bytes.clear();
            bytes.extend_from_slice(rec);
            let tid = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) + shift;
            bytes[16..20].copy_from_slice(&tid.to_le_bytes());
            bytes[20..24].copy_from_slice(&tid.to_le_bytes());
            let ts = u64::from(pass) * 1_000_000_000 + i as u64 * 1000;
            bytes[8..16].copy_from_slice(&ts.to_le_bytes());
            let rec = Record::parse(&bytes).unwrap();
            let mut ev = Event::default();
            decode_into(&rec, &mut ev).unwrap();
            state.apply(&ev);
            let mut src = EventFields::new(&ev);
            src.state = Some(&state);
            src.num = path.events;
            src.hostname = &hostname;
            path.event(&src);
            if i % 4096 != 4095 {
                continue;
            }
            let now = Instant::now();
            if now >= next_sample {
                next_sample = now + Duration::from_secs(10);
                let rss = rss_kib();
                samples.push((now.duration_since(started).as_secs(), rss));
                if now.duration_since(started) >= warmup {
                    let base = *baseline.get_or_insert(rss);
                    peak = peak.max(rss);
                    assert!(
                        rss <= base + growth_limit_kib,
                        "RSS grew from {base} KiB to {rss} KiB after {:?} (samples {samples:?})",
                        now.duration_since(started)
                    );
                }
            }
            if now >= deadline {
                break;
            }
        }
        pass += 1;
    }
    let stats = outputs.shutdown(Duration::from_secs(10));
    let threads = state.table().thread_count();
    println!(
        "soak: {minutes} min, {pass} passes, {} events, {} alerts; RSS after warm-up {} KiB, peak {} KiB; threads in the table {threads}; HTTP requests {}",
        path.events,
        path.alerts,
        baseline.unwrap_or(0),
        peak,
        http_count.load(Ordering::Relaxed)
    );
    for s in &stats {
        println!(
            "soak: sink {}: delivered {} dropped {} failed {}",
            s.name, s.delivered, s.dropped, s.failed
        );
    }
    println!("soak: RSS samples (s, KiB): {samples:?}");
    assert!(baseline.is_some(), "the run ended before the warm-up");
    assert!(path.alerts > 0);
    assert!(threads <= max_threads);
    std::fs::remove_dir_all(&dir).unwrap();
}
