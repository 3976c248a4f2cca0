//! How fast one core matches a replayed stream against the default rules:
//! `cargo bench -p kestrel --bench rules_replay`.
//!
//! A synthetic capture holds the mix a busy host sends once the module
//! records what the rules (and process state) need: mostly opens of
//! ordinary files, closes, connects, execs, forks and memory calls, with a
//! few events that alert.  Four figures, each the best of `ROUNDS` passes
//! (default 10) over `EVENTS` events (default 200,000):
//!
//! - `full`: record parse + decode + rule matching (what `replay -r` does
//!   per event, without printing);
//! - `match`: rule matching alone, over events decoded beforehand (in
//!   windows of [`MATCH_WINDOW`], so that it measures matching, not
//!   memory);
//! - `decode`: record parse + decode alone;
//! - `state`: the full path with the state module applying each event and
//!   answering process fields.
//!
//! `PHASE=full|match|decode|state` runs one figure only; `RULES=a:b:c`
//! loads those rules files instead of the default ruleset.  Each figure's
//! loop is a function of its own (`phase_full`, ...), so callgrind can
//! count one alone:
//!
//! ```text
//! PHASE=full EVENTS=50000 ROUNDS=1 valgrind --tool=callgrind \
//!     --collect-atstart=no --toggle-collect='*phase_full*' BENCH_BINARY
//! ```
//!
//! Measured on this 2-core machine (AMD EPYC, one core, `taskset -c 0`),
//! 27 Nov 2026, while another session's rustc kept both cores busy (load
//! average 2.3-3.7), so wall-clock figures vary by 2x between runs; four
//! runs of best-of-20, before the perf branch -> after it:
//!
//! | figure | before (M events/s) | after (M events/s) |
//! |--------|---------------------|--------------------|
//! | decode | 2.9 - 4.3           | 10.9 - 17.8        |
//! | match  | (see below)         | 4.1 - 5.7          |
//! | full   | 1.5 - 2.3           | 2.7 - 5.0          |
//! | state  | 0.8 - 1.5           | 1.5 - 3.6 (see below) |
//!
//! (Before, `match` ran over all 200,000 events decoded at once, 260 MB of
//! them, and measured 1.6 - 2.7: memory more than matching.)
//!
//! Instructions per event (callgrind, 50,000 events; these do not depend
//! on the load):
//!
//! | figure | before | after |
//! |--------|--------|-------|
//! | decode | 1,238  | 478   |
//! | match  | 1,849  | 1,348 |
//! | full   | 3,108  | 1,835 |
//! | state  | 4,341  | 2,850 |
//!
//! What dominates after (`full`, 1,835): rule matching 1,244 -- the field
//! lookups of the checks 702 (`EventFields::field` 310, the tests 245:
//! path tries, set lookups, comparisons), the and/or walk and memo the
//! rest; record parse 163 and decode 281.  With state (2,850), the state
//! module's `apply` is 976 (UTF-8 checks of paths, about five allocations
//! per event, path normalisation).  Before, a decoded event was a 1.3 KB
//! value (20 parameter slots of 64 bytes, sized by the unpacked socket tuple)
//! copied twice per event (memcpy 317/event), and every check cost a
//! recursive call with a large frame.
//!
//! The state path, later (stperf branch, 28 Nov 2026; same machine, load
//! average 3.0-3.6).  By then the state merges had raised `state` to 4,038
//! instructions/event (`apply` 1,735 of them, the state's answers to the
//! rules' fields 350); after: 3,048 (`apply` 943, fields 152), against
//! 1,837 for `full`.  Eighteen interleaved runs of best-of-20 each, before
//! -> after: 1.1 - 2.0 (median 1.96) -> 1.4 - 2.8 (median 2.57) M events/s
//! (the last six, with the final code: 1.7 - 2.0 -> 2.4 - 2.7); `full`
//! measured 3.4 - 5.6 in the same minutes.  What made the
//! difference: the tables keyed by tid, pid and fd hash with one multiply
//! instead of SipHash (530 instructions/event); an open that puts the same
//! path back in the same fd keeps the entry's path (no allocation, no
//! free); the name's UTF-8 check is skipped when the kernel's fullpath is
//! absolute, and all-ASCII text skips the general check; path
//! normalisation and cgroup parsing no longer set up substring searchers
//! or collect vectors; exec walks the thread table only when the process
//! has other threads.  What remains in `apply`: parameter lookups by name
//! (`int`, ~240/event), fd-table updates, the path copy of an open whose
//! fd changes file, and exec (argv/env strings, cgroup, container).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use kestrel::decode::{decode, decode_into, Event};
use kestrel::record::Record;
use kestrel::rules::cases::encode_event;
use kestrel::rules::event::EventFields;
use kestrel::rules::{Engine, EngineOptions};
use kestrel::state::{State, StateOptions};

const EVENTS: usize = 200_000;

/// Events decoded ahead of the `match` figure at a time.
const MATCH_WINDOW: usize = 2048;

fn spec(text: &str) -> serde_yaml::Value {
    serde_yaml::from_str(text).expect("bench event")
}

/// The synthetic stream: one buffer of back-to-back records.
fn stream() -> (Vec<u8>, usize) {
    let exec = "{type: execve, tid: TID, params: {res: 0, exe: /usr/bin/python3, args: [python3, -m, http.server], cwd: /srv, uid: 1000, gid: 1000, euid: 1000, egid: 1000, loginuid: 1000, tty: 0, cgroups: '0::/user.slice', pidns: 4026531836, vpid: TID, vtid: TID, ptid: 1, env: [HOME=/home/u, LANG=C], comm: python3}}";
    let templates: Vec<(u32, String)> = vec![
        (30, "{type: openat, tid: TID, params: {res: 5, dirfd: -100, name: /usr/lib/x86_64-linux-gnu/libssl.so.3, flags: 524288, mode: 0, fullpath: /usr/lib/x86_64-linux-gnu/libssl.so.3}}".into()),
        (10, "{type: openat, tid: TID, params: {res: 6, dirfd: -100, name: /proc/self/stat, flags: 0, mode: 0, fullpath: /proc/self/stat}}".into()),
        (8, "{type: openat, tid: TID, params: {res: 7, dirfd: 3, name: cache/0001.tmp, flags: 577, mode: 420, fullpath: /var/tmp/app/cache/0001.tmp}}".into()),
        (2, "{type: openat, tid: TID, params: {res: -2, dirfd: -100, name: /etc/app.conf, flags: 0, mode: 0}}".into()),
        (20, "{type: close, tid: TID, params: {res: 0, fd: 5}}".into()),
        (8, "{type: connect, tid: TID, params: {res: 0, fd: 9, addr: '10.0.0.7:443', tuple: '10.0.0.5:41000->10.0.0.7:443'}}".into()),
        (2, "{type: connect, tid: TID, params: {res: 0, fd: 9, addr: '127.0.0.1:6379', tuple: '127.0.0.1:41001->127.0.0.1:6379'}}".into()),
        (5, "{type: clone, tid: TID, params: {res: 4242, flags: 0x3d0f00}}".into()),
        (3, exec.into()),
        (5, "{type: mmap, tid: TID, params: {res: 140000000000, addr: 0, length: 8192, prot: 5, flags: 2, fd: 5, offset: 0}}".into()),
        (3, "{type: fcntl, tid: TID, params: {res: 10, fd: 5, cmd: 1030}}".into()),
        (2, "{type: unlinkat, tid: TID, params: {res: 0, dirfd: -100, name: /var/tmp/app/cache/0001.tmp, flags: 0}}".into()),
        (1, "{type: socket, tid: TID, params: {res: 9, domain: 2, type: 1, proto: 0}}".into()),
        (1, "{type: procexit, tid: TID, params: {status: 0}}".into()),
    ];
    let total: u32 = templates.iter().map(|(w, _)| w).sum();
    let mut buf = Vec::new();
    let mut rng = 0x1234_5678_u64;
    let mut n = 0;
    let mut cache = std::collections::HashMap::new();
    let events = std::env::var("EVENTS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(EVENTS);
    for i in 0..events {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let tid = 1000 + (rng >> 40) % 64;
        let text = if i % 1000 == 999 {
            // One in a thousand alerts.
            "{type: openat, tid: TID, params: {res: 3, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}".to_string()
        } else {
            let mut pick = ((rng >> 33) % u64::from(total)) as u32;
            let mut chosen = &templates[0].1;
            for (w, t) in &templates {
                if pick < *w {
                    chosen = t;
                    break;
                }
                pick -= w;
            }
            chosen.clone()
        };
        let rec = cache.entry((text.clone(), tid)).or_insert_with(|| {
            encode_event(&spec(&text.replace("TID", &tid.to_string())), 1).unwrap()
        });
        buf.extend_from_slice(rec);
        n += 1;
    }
    (buf, n)
}

fn records(buf: &[u8]) -> impl Iterator<Item = Record<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rec = Record::parse(buf.get(at..)?).ok()?;
        at += rec.len();
        Some(rec)
    })
}

/// Record parse + decode + rule matching over the whole stream; returns
/// the number of alerts.  A function of its own (not inlined) so that
/// `valgrind --tool=callgrind --toggle-collect=*phase_full*` counts it alone.
#[inline(never)]
fn phase_full(engine: &Engine, buf: &[u8]) -> usize {
    let mut alerts = 0;
    let mut ev = Event::default();
    for rec in records(buf) {
        decode_into(&rec, &mut ev).expect("decodes");
        let src = EventFields::new(&ev);
        alerts += engine.matches(black_box(&src), |r| {
            black_box(r);
        });
    }
    alerts
}

/// Rule matching alone over events decoded beforehand.
#[inline(never)]
fn phase_match(engine: &Engine, decoded: &[Event<'_>]) {
    for ev in decoded {
        let src = EventFields::new(ev);
        black_box(engine.matches(black_box(&src), |r| {
            black_box(r);
        }));
    }
}

/// The full path with the state module applying every event and
/// answering the fields the event cannot.
#[inline(never)]
fn phase_state(engine: &Engine, buf: &[u8], state: &mut State) {
    let mut ev = Event::default();
    for rec in records(buf) {
        decode_into(&rec, &mut ev).expect("decodes");
        state.apply(&ev);
        let mut src = EventFields::new(&ev);
        src.state = Some(&*state);
        black_box(engine.matches(black_box(&src), |r| {
            black_box(r);
        }));
    }
}

/// Record parse + decode alone.
#[inline(never)]
fn phase_decode(buf: &[u8]) {
    let mut ev = Event::default();
    for rec in records(buf) {
        decode_into(&rec, &mut ev).unwrap();
        black_box(&ev);
    }
}

fn main() {
    // RULES=a.yaml:b.yaml loads other rules files (Falco's, for instance).
    let rules: Vec<PathBuf> = match std::env::var_os("RULES") {
        Some(list) => std::env::split_paths(&list).collect(),
        None => vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules/kestrel_rules.yaml")],
    };
    let engine = Engine::load_files(&rules, EngineOptions::default()).expect("rules load");
    let (buf, n) = stream();
    eprintln!(
        "stream: {n} events, {:.1} MB, {} rules",
        buf.len() as f64 / 1e6,
        engine.rules().len()
    );
    let rounds = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    // PHASE=full|match|state|decode runs only that figure (for profiling).
    let phase = std::env::var("PHASE").unwrap_or_default();
    let run = |name: &str| phase.is_empty() || phase == name;
    let rate = |t: Instant| n as f64 / t.elapsed().as_secs_f64();

    let mut best_full = 0f64;
    if run("full") {
        for _ in 0..rounds {
            let t = Instant::now();
            let alerts = phase_full(&engine, &buf);
            best_full = best_full.max(rate(t));
            assert_eq!(alerts, n / 1000, "one alert per thousand events");
        }
    }

    // Matching alone, over events decoded beforehand in windows of a few
    // thousand (all of them at once would be 130 MB of events, and the
    // figure would measure memory, not matching).
    let mut best_match = 0f64;
    if run("match") {
        for _ in 0..rounds {
            let mut spent = std::time::Duration::ZERO;
            let mut recs = records(&buf);
            loop {
                let window: Vec<Event<'_>> = recs
                    .by_ref()
                    .take(MATCH_WINDOW)
                    .map(|r| decode(&r).unwrap())
                    .collect();
                if window.is_empty() {
                    break;
                }
                let t = Instant::now();
                phase_match(&engine, &window);
                spent += t.elapsed();
            }
            best_match = best_match.max(n as f64 / spent.as_secs_f64());
        }
    }

    // No /proc: every thread is unknown to the state, as in a replay from
    // another machine.
    let mut best_state = 0f64;
    if run("state") {
        for _ in 0..rounds {
            let mut state = State::new(StateOptions {
                proc_root: None,
                ..StateOptions::default()
            });
            let t = Instant::now();
            phase_state(&engine, &buf, &mut state);
            best_state = best_state.max(rate(t));
        }
    }

    let mut best_decode = 0f64;
    if run("decode") {
        for _ in 0..rounds {
            let t = Instant::now();
            phase_decode(&buf);
            best_decode = best_decode.max(rate(t));
        }
    }
    println!(
        "rules_replay full   (parse+decode+match): {:.2} M events/s",
        best_full / 1e6
    );
    println!(
        "rules_replay match  (engine only):        {:.2} M events/s",
        best_match / 1e6
    );
    println!(
        "rules_replay decode (parse+decode only):  {:.2} M events/s",
        best_decode / 1e6
    );
    println!(
        "rules_replay state  (full + state apply): {:.2} M events/s",
        best_state / 1e6
    );
}
