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
    // The one field nothing fills is named, not hidden; notes point where
    // the test is written, also past the sandbox file's flow lists that
    // the position parser refuses.
    let notes = engine.notes();
    assert!(
        notes.iter().any(|n| n.ends_with(
            "falco-sandbox_rules.yaml:1468:28: note: kestrel.ko does not record 'sendmsg': this test can never match it"
        )),
        "{notes:?}"
    );
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

mod firing {
    //! Falco's stable rules fire on the behaviour they describe, through
    //! decode, state and matching, as `replay` runs them.
    use super::*;
    use kestrel::decode::decode;
    use kestrel::record::{Record, RecordBuilder};
    use kestrel::rules::event::EventFields;
    use kestrel::state::{State, StateOptions};
    use kestrel_abi::EventType as T;

    fn stable() -> Engine {
        load(&[rules_dir().join(FILES[0])])
    }

    /// A state that knows one bash (pid 100), learnt from its exec.
    fn state_with_shell(engine: &Engine) -> State {
        let mut st = State::new(StateOptions::for_replay(None));
        fired(
            engine,
            &mut st,
            &exec(
                100,
                1,
                "/usr/bin/bash",
                b"bash\0",
                "bash",
                0,
                "0::/user.slice",
            ),
        );
        assert!(st.process(100).is_some());
        st
    }

    /// The rules an event fires after the state applied it.
    fn fired(engine: &Engine, st: &mut State, rec: &[u8]) -> Vec<String> {
        let rec = Record::parse(rec).unwrap();
        let ev = decode(&rec).unwrap();
        st.apply(&ev);
        let mut src = EventFields::new(&ev);
        src.state = Some(&*st);
        let mut out = Vec::new();
        engine.matches(&src, |r| out.push(r.name.clone()));
        out
    }

    fn exec(
        tid: u32,
        ptid: u32,
        exe: &str,
        argv: &[u8],
        comm: &str,
        tty: u32,
        cgroup: &str,
    ) -> Vec<u8> {
        RecordBuilder::new(T::KESTREL_EVT_EXECVE as u16, 10, tid, tid)
            .i64(0)
            .param(exe.as_bytes())
            .param(argv)
            .param(b"/root")
            .u32(0)
            .u32(0)
            .u32(0)
            .u32(0)
            .u32(u32::MAX)
            .u32(tty)
            .param(cgroup.as_bytes())
            .u32(4026532000)
            .u32(7)
            .u32(7)
            .u32(ptid)
            .param(b"HOME=/root\0")
            .param(comm.as_bytes())
            .build()
    }

    fn open_read(tid: u32, path: &str) -> Vec<u8> {
        RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, 20, tid, tid)
            .i64(3)
            .i64(-100)
            .param(path.as_bytes())
            .u32(libc::O_RDONLY as u32)
            .u32(0)
            .param(path.as_bytes())
            .build()
    }

    #[test]
    fn read_sensitive_file_untrusted_fires_for_cat_not_for_sshd() {
        let engine = stable();
        let mut st = state_with_shell(&engine);
        st.on_fork(100, 100, 101, 101, 5);
        assert!(fired(
            &engine,
            &mut st,
            &exec(
                101,
                100,
                "/usr/bin/cat",
                b"cat\0/etc/shadow\0",
                "cat",
                0,
                "0::/user.slice"
            )
        )
        .is_empty());
        assert_eq!(
            fired(&engine, &mut st, &open_read(101, "/etc/shadow")),
            ["Read sensitive file untrusted"]
        );
        // sshd is one of the programs trusted to read it.
        st.on_fork(100, 100, 102, 102, 6);
        fired(
            &engine,
            &mut st,
            &exec(
                102,
                100,
                "/usr/sbin/sshd",
                b"sshd\0",
                "sshd",
                0,
                "0::/system.slice",
            ),
        );
        assert!(fired(&engine, &mut st, &open_read(102, "/etc/shadow")).is_empty());
        // An ordinary file is nothing.
        assert!(fired(&engine, &mut st, &open_read(101, "/etc/hostname")).is_empty());
    }

    #[test]
    fn terminal_shell_in_container_fires_with_a_tty_only() {
        let engine = stable();
        let mut st = state_with_shell(&engine);
        let cg = format!("0::/system.slice/docker-{}.scope", "ab12".repeat(16));
        // The container's entrypoint parent is runc; a shell with a tty.
        st.on_fork(100, 100, 200, 200, 5);
        fired(
            &engine,
            &mut st,
            &exec(200, 100, "/usr/bin/runc", b"runc\0init\0", "runc", 0, &cg),
        );
        st.on_fork(200, 200, 201, 201, 6);
        assert_eq!(
            fired(
                &engine,
                &mut st,
                &exec(201, 200, "/bin/sh", b"sh\0", "sh", 34816, &cg)
            ),
            ["Terminal shell in container"]
        );
        // Without a terminal (a script run by the entrypoint): nothing.
        st.on_fork(200, 200, 202, 202, 7);
        assert!(fired(
            &engine,
            &mut st,
            &exec(202, 200, "/bin/sh", b"sh\0-c\0true\0", "sh", 0, &cg)
        )
        .is_empty());
    }
}

/// Falco's stable rules on single events with fixed process context (the
/// YAML event form of `tests/rules/`): each fires the rule it describes.
#[test]
fn falco_stable_rules_fire_on_their_behaviours() {
    use kestrel::decode::decode;
    use kestrel::record::Record;
    use kestrel::rules::cases::{encode_event, Context};
    use kestrel::rules::event::EventFields;
    use kestrel::rules::{FieldRef, FieldValue, Matching};
    let engine = Engine::load_files(
        &[rules_dir().join(FILES[0])],
        EngineOptions {
            matching: Matching::All,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "Create Symlink Over Sensitive Files",
            "ln",
            "{type: symlinkat, tid: 50, params: {res: 0, target: /etc/shadow, linkdirfd: -100, linkpath: /tmp/s}}",
        ),
        (
            "Clear Log Activities",
            "evil",
            "{type: openat, tid: 50, params: {res: 3, dirfd: -100, name: /var/log/syslog, flags: 577, mode: 0, fullpath: /var/log/syslog}}",
        ),
        (
            "PTRACE attached to process",
            "evil",
            "{type: ptrace, tid: 50, params: {res: 0, request: 16, pid: 123, addr: 0, data: 0}}",
        ),
        (
            "Fileless execution via memfd_create",
            "x",
            "{type: execve, tid: 50, params: {res: 0, exe: '/memfd:x (deleted)', args: [x], cwd: /, uid: 0, gid: 0, euid: 0, egid: 0, loginuid: 0, tty: 0, cgroups: '0::/', pidns: 4026531836, vpid: 50, vtid: 50, ptid: 1, env: [], comm: x}}",
        ),
    ];
    for (rule, proc_name, event) in cases {
        let spec: serde_yaml::Value = serde_yaml::from_str(event).unwrap();
        let bytes = encode_event(&spec, 1).unwrap();
        let rec = Record::parse(&bytes).unwrap();
        let ev = decode(&rec).unwrap();
        let mut ctx = Context::default();
        ctx.set(
            FieldRef::resolve("proc.name", None).unwrap(),
            FieldValue::owned(proc_name.as_bytes().to_vec()),
        );
        ctx.set(
            FieldRef::resolve("container.id", None).unwrap(),
            FieldValue::owned(b"host".to_vec()),
        );
        let mut src = EventFields::new(&ev);
        src.state = Some(&ctx);
        let mut fired = Vec::new();
        engine.matches(&src, |r| fired.push(r.name.clone()));
        assert!(fired.iter().any(|f| f == rule), "{rule}: fired {fired:?}");
    }
}
