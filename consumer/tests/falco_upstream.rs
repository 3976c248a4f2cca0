//! Falco's own rule files load unmodified: `falco_rules.yaml` alone, and
//! the stable, incubating and sandbox files together (in that order), with
//! every rule compiled, enabled as Falco enables it, and no warning.
//!
//! The files are test data kept outside the repository (Apache-2.0, see
//! their SOURCE.txt): `shared/falco-rules/` beside the checkout (or beside
//! one of its parent directories), or the directory named by
//! `KESTREL_FALCO_RULES`.  The test fails when they are not found.

use std::path::{Path, PathBuf};

use kestrel::rules::{Engine, EngineOptions};

const FILES: [&str; 3] = [
    "falco_rules.yaml",
    "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml",
];

fn rules_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KESTREL_FALCO_RULES") {
        return PathBuf::from(d);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    for dir in root.ancestors() {
        let d = dir.join("shared/falco-rules");
        if d.join(FILES[0]).is_file() {
            return d;
        }
    }
    panic!(
        "Falco's rule files not found in shared/falco-rules beside {} or its parents; set KESTREL_FALCO_RULES",
        root.display()
    );
}

/// Rules a file defines and how many of them Falco enables, counted from
/// the file itself: every `rule` item, enabled unless `enabled: false`.
fn count(path: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let items: Vec<serde_yaml::Value> = serde_yaml::from_str(&text).unwrap();
    let mut names = Vec::new();
    let mut disabled = Vec::new();
    for item in &items {
        let Some(name) = item.get("rule").and_then(|v| v.as_str()) else {
            continue;
        };
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
        if let Some(enabled) = item.get("enabled").and_then(|v| v.as_bool()) {
            disabled.retain(|n| n != name);
            if !enabled {
                disabled.push(name.to_string());
            }
        }
    }
    (names.len(), names.len() - disabled.len())
}

fn load(files: &[PathBuf]) -> Engine {
    Engine::load_files(files, EngineOptions::default())
        .unwrap_or_else(|e| panic!("Falco's rules refused:\n{e}"))
}

#[test]
fn falco_stable_rules_load_alone() {
    let dir = rules_dir();
    let path = dir.join(FILES[0]);
    let engine = load(std::slice::from_ref(&path));
    assert!(
        engine.warnings().is_empty(),
        "warnings Falco would not give: {:?}",
        engine.warnings()
    );
    let (rules, enabled) = count(&path);
    assert_eq!(
        rules, 25,
        "the stable file's rule count changed: update this test"
    );
    assert_eq!(engine.rules().len(), rules);
    assert_eq!(engine.rules().iter().filter(|r| r.enabled).count(), enabled);
    assert_eq!(engine.rules().iter().filter(|r| r.active).count(), enabled);
}

#[test]
fn falco_stable_incubating_and_sandbox_rules_load_together() {
    let dir = rules_dir();
    let paths: Vec<PathBuf> = FILES.iter().map(|f| dir.join(f)).collect();
    let engine = load(&paths);
    assert!(
        engine.warnings().is_empty(),
        "warnings Falco would not give: {:?}",
        engine.warnings()
    );
    let (mut rules, mut enabled) = (0, 0);
    for p in &paths {
        let (r, e) = count(p);
        rules += r;
        enabled += e;
    }
    // No rule name repeats across the three files.
    assert_eq!(rules, 93);
    assert_eq!(engine.rules().len(), rules);
    assert_eq!(engine.rules().iter().filter(|r| r.enabled).count(), enabled);
    assert_eq!(enabled, 81);
    // Every enabled rule runs, and each is indexed by the events it needs.
    for r in engine.rules() {
        assert_eq!(r.active, r.enabled, "{}", r.name);
    }
    // The one field nothing fills is named, not hidden.
    let notes = engine.notes();
    assert!(
        notes.iter().any(|n| n.contains("proc.is_exe_upper_layer")),
        "{notes:?}"
    );
}

#[test]
fn the_cli_validates_the_three_files() {
    let dir = rules_dir();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["rules", "validate"])
        .args(FILES.iter().map(|f| dir.join(f)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("93 rules (81 enabled)") && stdout.contains(" 0 warnings"),
        "{stdout}"
    );
}

fn kestrel(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn falcos_rule_selection_flags_choose_what_runs() {
    let stable = rules_dir().join(FILES[0]);
    let stable = stable.to_str().unwrap();
    let running = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["rules", "list", "-r", stable];
        args.extend_from_slice(extra);
        let (ok, out) = kestrel(&args);
        assert!(ok, "{out}");
        out.lines()
            .filter(|l| l.split_whitespace().any(|w| w == "yes"))
            .map(|l| l.to_string())
            .collect()
    };
    assert_eq!(running(&[]).len(), 25);
    // -D: by name substring.
    let no_shell = running(&["-D", "shell"]);
    assert!(!no_shell.is_empty() && no_shell.len() < 25);
    assert!(no_shell.iter().all(|l| !l.contains("shell")));
    // -T: by tag; -t: only a tag.
    let only_net = running(&["-t", "network"]);
    let no_net = running(&["-T", "network"]);
    assert!(!only_net.is_empty());
    assert_eq!(only_net.len() + no_net.len(), 25);
    // -t cannot be combined with -D or -T, as in Falco.
    assert!(!kestrel(&["rules", "list", "-r", stable, "-t", "network", "-D", "x"]).0);
    // -l RULE, -L, --list.
    let (ok, d) = kestrel(&[
        "rules",
        "list",
        "-r",
        stable,
        "-l",
        "Terminal shell in container",
    ]);
    assert!(
        ok && d.contains("Condition:   spawned_process and container"),
        "{d}"
    );
    assert!(!kestrel(&["rules", "list", "-r", stable, "-l", "No such rule"]).0);
    let (ok, l) = kestrel(&["rules", "list", "-r", stable, "-L"]);
    assert!(ok && l.lines().count() == 25, "{l}");
    let (ok, f) = kestrel(&["rules", "list", "--list"]);
    assert!(
        ok && f.contains("fd.sip.name") && f.contains("proc.aexe[N]?"),
        "{f}"
    );
}
