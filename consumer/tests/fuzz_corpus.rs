//! The fuzzers' seed corpora (`fuzz/corpus/<target>/`) and the inputs the
//! fuzzers found that once crashed (`fuzz/regressions/<target>/`, replayed
//! here on every `cargo test`).
//!
//! Every seed must be a *valid* input, so the fuzzers start from the
//! formats as they are: a seed that stops decoding (an ABI change) fails
//! here.  `KESTREL_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_corpus`
//! writes the record and capture seeds again from the specs below.

use std::path::{Path, PathBuf};

use kestrel::capture::{CaptureFile, CaptureHeader, CaptureWriter};
use kestrel::config::Config;
use kestrel::decode::{decode, decode_into, Event};
use kestrel::output::event_line::EventLineWriter;
use kestrel::record::Record;
use kestrel::rules::cases::encode_event;
use kestrel::rules::event::EventFields;
use kestrel::rules::{Engine, EngineOptions};
use kestrel::state::{State, StateOptions};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Events a host sends, as the rule cases write them.
const EVENTS: &[&str] = &[
    "{type: execve, tid: 301, params: {res: 0, exe: /bin/busybox, args: [cat, /etc/shadow], cwd: /root, uid: 0, gid: 0, euid: 0, egid: 0, loginuid: 4294967295, tty: 0, cgroups: '0::/', pidns: 4026531836, vpid: 301, vtid: 301, ptid: 300, env: [HOME=/root], comm: cat}}",
    "{type: openat, tid: 301, params: {res: 3, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}",
    "{type: connect, tid: 302, params: {res: 0, fd: 4, addr: '10.1.2.3:443', tuple: '10.0.0.9:40000->10.1.2.3:443'}}",
    "{type: clone, tid: 301, params: {res: 4242, flags: 0x3d0f00}}",
    "{type: close, tid: 301, params: {res: 0, fd: 3}}",
    "{type: procexit, tid: 301, params: {status: 0}}",
];

fn encoded() -> Vec<Vec<u8>> {
    EVENTS
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let spec = serde_yaml::from_str(text).unwrap();
            encode_event(&spec, 1000 * (i as u64 + 1)).unwrap()
        })
        .collect()
}

fn write_seeds() {
    let dir = fuzz_dir().join("corpus/record_decode");
    std::fs::create_dir_all(&dir).unwrap();
    let recs = encoded();
    for (i, r) in recs.iter().enumerate() {
        std::fs::write(dir.join(format!("event-{i}")), r).unwrap();
    }
    std::fs::write(dir.join("all-events"), recs.concat()).unwrap();
    let dir = fuzz_dir().join("corpus/capture_file");
    std::fs::create_dir_all(&dir).unwrap();
    let header = CaptureHeader {
        abi_version: kestrel_abi::ABI_VERSION,
        wall_offset_ns: 1_795_802_400_000_000_000,
        nr_rings: 2,
        snaplen: 4096,
    };
    let mut w = CaptureWriter::new(Vec::new(), header).unwrap();
    for (i, r) in recs.iter().enumerate() {
        w.write(i as u32 % 2, &Record::parse(r).unwrap()).unwrap();
    }
    std::fs::write(dir.join("story.kcap"), w.finish().unwrap()).unwrap();
}

#[test]
fn seeds_are_valid_inputs() {
    if std::env::var_os("KESTREL_WRITE_FUZZ_SEEDS").is_some() {
        write_seeds();
    }
    let corpus = fuzz_dir().join("corpus");
    let records = files(&corpus.join("record_decode"));
    assert!(records.len() >= 3, "{records:?}");
    for f in &records {
        let bytes = std::fs::read(f).unwrap();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let rec = Record::parse(rest).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            decode(&rec).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            rest = &rest[rec.len()..];
        }
    }
    let captures = files(&corpus.join("capture_file"));
    assert!(!captures.is_empty());
    for f in &captures {
        let c = CaptureFile::open(f).unwrap();
        let mut ev = Event::default();
        for frame in c.records() {
            let (_, _, rec) = frame.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            decode_into(&rec, &mut ev).unwrap();
        }
    }
    let rules = files(&corpus.join("rules_load"));
    assert!(rules.len() >= 2);
    for f in &rules {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy();
        if name.ends_with(".cond") {
            kestrel::rules::condition::parse(&text)
                .unwrap_or_else(|e| panic!("{}: {}", f.display(), e.message));
        } else {
            Engine::load_texts(&[(&name, &text)], EngineOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
    }
    let configs = files(&corpus.join("config_parse"));
    assert!(configs.len() >= 2);
    for f in &configs {
        let text = std::fs::read_to_string(f).unwrap();
        Config::from_text("seed", &text, &[]).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

/// What the fuzzers found: each input must now be handled without a
/// panic (an error is fine), through the same calls as its fuzz target.
#[test]
fn inputs_that_once_crashed_are_handled() {
    let dir = fuzz_dir().join("regressions");
    let mut n = 0;
    // As fuzz/fuzz_targets/record_decode.rs: records back to back, each
    // decoded, printed, applied to the state and matched.
    let rules = std::fs::read_to_string(fuzz_dir().join("../rules/kestrel_rules.yaml")).unwrap();
    let engine =
        Engine::load_texts(&[("kestrel_rules.yaml", &rules)], EngineOptions::default()).unwrap();
    for f in files(&dir.join("record_decode")) {
        let bytes = std::fs::read(&f).unwrap();
        let mut state = State::new(StateOptions::for_replay(None));
        let mut rest = &bytes[..];
        while let Ok(rec) = Record::parse(rest) {
            let len = rec.len();
            let mut ev = Event::default();
            if decode_into(&rec, &mut ev).is_ok() {
                let _ = EventLineWriter::new().write_event_line(&mut std::io::sink(), &ev, 0, 0);
                state.apply(&ev);
                let mut src = EventFields::new(&ev);
                src.state = Some(&state);
                engine.matches(&src, |rule| {
                    let _ = rule.output.render(&src);
                });
            }
            rest = &rest[len.max(8).min(rest.len())..];
        }
        n += 1;
    }
    for f in files(&dir.join("capture_file")) {
        if let Ok(c) = CaptureFile::from_bytes(std::fs::read(&f).unwrap()) {
            let mut ev = Event::default();
            for (_, _, rec) in c.records().map_while(Result::ok) {
                let _ = decode_into(&rec, &mut ev);
            }
        }
        n += 1;
    }
    for f in files(&dir.join("rules_load")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let _ = kestrel::rules::condition::parse(&text);
        let _ = Engine::load_texts(&[("fuzz.yaml", &text)], EngineOptions::default());
        n += 1;
    }
    for f in files(&dir.join("config_parse")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let _ = Config::from_text("fuzz.yaml", &text, &[]);
        n += 1;
    }
    assert!(n >= 1, "fuzz/regressions holds the inputs found so far");
    eprintln!("{n} regression inputs replayed");
}
