//! Every rule of the default ruleset against its replayable cases in
//! `tests/rules/`: the firing sequences must alert with that rule, the near
//! misses must not.  Events are built as the module writes them, decoded,
//! and matched with the process/container context supplied through the same
//! `StateView` seam the state module plugs into.

use std::collections::BTreeSet;
use std::path::PathBuf;

use kestrel::decode::decode;
use kestrel::record::Record;
use kestrel::rules::cases::{parse_case_file, Case};
use kestrel::rules::event::EventFields;
use kestrel::rules::{Engine, EngineOptions, Matching};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn engine() -> Engine {
    Engine::load_files(
        &[root().join("rules/kestrel_rules.yaml")],
        EngineOptions {
            matching: Matching::All,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Rules that fired on any event of the case, with the alert text.
fn replay(engine: &Engine, case: &Case) -> Vec<(String, String)> {
    let mut fired = Vec::new();
    for bytes in &case.records {
        let rec = Record::parse(bytes).expect("valid record");
        let ev = decode(&rec).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let mut src = EventFields::new(&ev);
        src.state = Some(&case.context);
        engine.matches(&src, |r| {
            fired.push((r.name.clone(), r.alert(&src, 0, "test").text_line()))
        });
    }
    fired
}

#[test]
fn every_rule_fires_on_its_cases_and_not_on_its_near_misses() {
    let engine = engine();
    let mut covered = BTreeSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let cases = parse_case_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            engine.rules().iter().any(|r| r.name == cases.rule),
            "{}: no rule '{}'",
            path.display(),
            cases.rule
        );
        assert!(
            !cases.fires.is_empty() && !cases.near_misses.is_empty(),
            "{}",
            path.display()
        );
        for case in &cases.fires {
            let fired = replay(&engine, case);
            assert!(
                fired.iter().any(|(r, _)| *r == cases.rule),
                "{}: '{}' did not fire {}: {fired:?}",
                path.display(),
                case.name,
                cases.rule
            );
        }
        for case in &cases.near_misses {
            let fired = replay(&engine, case);
            assert!(
                fired.iter().all(|(r, _)| *r != cases.rule),
                "{}: near miss '{}' fired: {fired:?}",
                path.display(),
                case.name
            );
        }
        covered.insert(cases.rule);
    }
    let all: BTreeSet<String> = engine.rules().iter().map(|r| r.name.clone()).collect();
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "rules without cases: {missing:?}");
}

#[test]
fn alerts_carry_the_context_in_their_output() {
    let engine = engine();
    let text =
        std::fs::read_to_string(root().join("tests/rules/sensitive_file_read.yaml")).unwrap();
    let cases = parse_case_file(&text).unwrap();
    let fired = replay(&engine, &cases.fires[0]);
    let (_, line) = fired.iter().find(|(r, _)| *r == cases.rule).unwrap();
    assert!(
        line.contains("Warning Sensitive file opened for reading (file=/etc/shadow program=cat"),
        "{line}"
    );
    assert!(line.contains("parent=bash"), "{line}");
    assert!(line.contains("container=<NA>"), "{line}");
}
