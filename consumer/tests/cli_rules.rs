//! End-to-end tests of the rule commands: `rules validate`, `rules list`
//! and `replay -r` over a capture built from the rule test cases.

use std::path::PathBuf;
use std::process::{Command, Output};

use kestrel::capture::{CaptureHeader, CaptureWriter};
use kestrel::record::Record;
use kestrel::rules::cases::encode_event;

fn kestrel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run kestrel")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A path in this process's scratch folder, emptied on first use: a
/// folder left by an earlier run whose pid was the same must not leak its
/// files into a test that lists a directory.
fn temp_path(name: &str) -> PathBuf {
    static FRESH: std::sync::Once = std::sync::Once::new();
    let dir = std::env::temp_dir().join(format!("kestrel-cli-rules-{}", std::process::id()));
    FRESH.call_once(|| {
        let _ = std::fs::remove_dir_all(&dir);
    });
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes a capture of the given event descriptions (YAML flow mappings).
fn capture_of(name: &str, events: &[&str]) -> PathBuf {
    let path = temp_path(name);
    let header = CaptureHeader {
        abi_version: kestrel_abi::ABI_VERSION,
        wall_offset_ns: 1_795_802_400_000_000_000,
        nr_rings: 1,
        snaplen: 4096,
    };
    let mut w = CaptureWriter::new(std::fs::File::create(&path).unwrap(), header).unwrap();
    for (i, e) in events.iter().enumerate() {
        let spec: serde_yaml::Value = serde_yaml::from_str(e).unwrap();
        let bytes = encode_event(&spec, 1_000 * (i as u64 + 1)).unwrap();
        w.write(0, &Record::parse(&bytes).unwrap()).unwrap();
    }
    w.finish().unwrap();
    path
}

const SHADOW: &str = "{type: openat, tid: 301, params: {res: 3, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}";
const PASSWD: &str = "{type: openat, tid: 301, params: {res: 3, dirfd: -100, name: /etc/passwd, flags: 0, mode: 0, fullpath: /etc/passwd}}";
const PTRACE: &str =
    "{type: ptrace, tid: 302, params: {res: 0, request: 16, pid: 1, addr: 0, data: 0}}";

#[test]
fn validate_accepts_the_default_rules_and_summarises() {
    let out = kestrel(&["rules", "validate", "rules/kestrel_rules.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("1 file(s) valid: 69 rules (69 enabled)"), "{s}");
    assert!(s.contains("0 warnings"), "{s}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn validate_refuses_a_bad_file_with_its_position() {
    let bad = temp_path("bad.yaml");
    std::fs::write(
        &bad,
        "- macro: m\n  condition: evt.type = open\n- rule: r\n  desc: d\n  condition: m and (proc.name = x\n  output: o\n  priority: info\n",
    )
    .unwrap();
    let out = kestrel(&["rules", "validate", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{}:5:34: expected ')'", bad.display())),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Warnings are printed and counted, and do not fail validation.
    let warn = temp_path("warn.yaml");
    std::fs::write(
        &warn,
        "- list: spare\n  items: [a]\n- rule: r\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: info\n",
    )
    .unwrap();
    let out = kestrel(&["rules", "validate", warn.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("1 warnings"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("1:1: warning: list 'spare' is not used"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn list_shows_rules_with_their_event_types() {
    let out = kestrel(&["rules", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let line = s
        .lines()
        .find(|l| l.starts_with("Kernel module loaded"))
        .expect("rule listed");
    assert!(
        line.contains("Warning") && line.ends_with("finit_module,init_module"),
        "{line}"
    );
    // A header line, then one line per rule.
    assert_eq!(s.lines().count(), 70);
}

#[test]
fn replay_prints_text_and_json_alerts() {
    let cap = capture_of("story.kcap", &[PASSWD, SHADOW, PTRACE]);
    let out = kestrel(&[
        "replay",
        cap.to_str().unwrap(),
        "-r",
        "rules/kestrel_rules.yaml",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 2, "{s}");
    assert!(lines[0].ends_with(": Warning Sensitive file opened for reading (file=/etc/shadow program=<NA> cmdline=<NA> parent=<NA> pid=301 user=<NA> container=<NA> image=<NA> pod=<NA> ns=<NA>)"), "{}", lines[0]);
    assert!(
        lines[1].contains("Warning ptrace attach or injection (request=PTRACE_ATTACH target=1"),
        "{}",
        lines[1]
    );
    assert!(text(&out.stderr).contains("3 events, 2 alerts"));

    let out = kestrel(&[
        "replay",
        cap.to_str().unwrap(),
        "-r",
        "rules/kestrel_rules.yaml",
        "--json",
    ]);
    assert!(out.status.success());
    let first: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["rule"], "Sensitive file read by unexpected program");
    assert_eq!(first["priority"], "Warning");
    assert_eq!(first["source"], "syscall");
    assert_eq!(first["output_fields"]["fd.name"], "/etc/shadow");
    assert_eq!(first["output_fields"]["proc.pid"], 301);
    assert_eq!(first["output_fields"]["proc.name"], serde_json::Value::Null);
    assert_eq!(first["time"], "2026-11-27T18:00:00.000002000Z");
    assert!(first["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "credentials"));
    assert!(first["hostname"].is_string());

    // The threshold drops the Warning rules.
    let out = kestrel(&[
        "replay",
        cap.to_str().unwrap(),
        "-r",
        "rules/kestrel_rules.yaml",
        "--min-priority",
        "error",
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let out = kestrel(&[
        "replay",
        cap.to_str().unwrap(),
        "-r",
        "rules/kestrel_rules.yaml",
        "--min-priority",
        "loud",
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("'loud' is not a priority"));
}

#[test]
fn a_directory_loads_its_rules_files_in_name_order() {
    let dir = temp_path("rules.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("10-base.yaml"), "- list: l\n  items: [a]\n- rule: R\n  desc: d\n  condition: evt.type = open and proc.name in (l)\n  output: o\n  priority: info\n").unwrap();
    std::fs::write(
        dir.join("20-more.yml"),
        "- list: l\n  items: [b]\n  append: true\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not rules").unwrap();
    let out = kestrel(&["rules", "validate", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 rules"),
        "{}",
        text(&out.stdout)
    );
    // In the other order the append has nothing to amend.
    std::fs::rename(dir.join("20-more.yml"), dir.join("05-more.yml")).unwrap();
    let out = kestrel(&["rules", "validate", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("05-more.yml:1:1: list 'l' amends a list that no earlier item defines"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn later_rules_files_amend_the_default_ones() {
    let local = temp_path("local.yaml");
    std::fs::write(
        &local,
        "- list: password_checkers\n  items: [cat]\n  override:\n    items: append\n- rule: Process attached with ptrace\n  enabled: false\n",
    )
    .unwrap();
    let cap = capture_of("amend.kcap", &[SHADOW, PTRACE]);
    let out = kestrel(&[
        "replay",
        cap.to_str().unwrap(),
        "-r",
        "rules/kestrel_rules.yaml",
        "-r",
        local.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // proc.name is unknown without state, so the shadow read still alerts;
    // the ptrace rule is off.
    let s = text(&out.stdout);
    assert_eq!(s.lines().count(), 1, "{s}");
    assert!(s.contains("Sensitive file"));
}

#[test]
fn replay_keeps_state_from_the_capture_for_process_fields() {
    // The shell execs cat, which opens /etc/shadow: the open itself names
    // no program, the state learned it from the exec.
    let exec = "{type: execve, tid: 301, params: {res: 0, exe: /usr/bin/cat, args: [cat, /etc/shadow], cwd: /root, uid: 0, gid: 0, euid: 0, egid: 0, loginuid: 0, tty: 34816, cgroups: '0::/user.slice', pidns: 4026531836, vpid: 301, vtid: 301, ptid: 300, env: [HOME=/root], comm: cat}}";
    let cap = capture_of("state.kcap", &[exec, SHADOW]);
    let out = kestrel(&[
        "replay",
        cap.to_str().unwrap(),
        "-r",
        "rules/kestrel_rules.yaml",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let alert: serde_json::Value =
        serde_json::from_str(s.lines().next().expect("one alert")).unwrap();
    assert_eq!(alert["rule"], "Sensitive file read by unexpected program");
    assert_eq!(alert["output_fields"]["proc.name"], "cat");
    assert_eq!(alert["output_fields"]["proc.cmdline"], "cat /etc/shadow");
    // The same exec by sshd's name is a checker of passwords: no alert.
    let exec_sshd = exec.replace("comm: cat", "comm: sshd");
    let cap = capture_of("state2.kcap", &[&exec_sshd, SHADOW]);
    let out = kestrel(&[
        "replay",
        cap.to_str().unwrap(),
        "-r",
        "rules/kestrel_rules.yaml",
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

/// Runs kestrel with stdout a stream whose reader has gone already, as
/// when `| head` has read its lines and exited (a write fails with EPIPE,
/// as into a pipe).
fn kestrel_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::os::unix::net::UnixStream::pair().expect("socket pair");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(args)
        .current_dir(root())
        .stdout(std::os::fd::OwnedFd::from(writer))
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run kestrel")
}

/// `kestrel rules list | head` and the like: every subcommand that prints
/// ends quietly and successfully when its reader goes away (it used to
/// panic in println!).
#[test]
fn a_closed_pipe_ends_every_printing_command_quietly() {
    let cap = capture_of("pipe.cap", &[SHADOW, PASSWD]);
    let cap = cap.to_str().unwrap();
    for args in [
        &["rules", "list"][..],
        &["rules", "list", "-L"],
        &["rules", "list", "--list"],
        &["rules", "list", "-l", "System binary modified"],
        &["rules", "validate", "rules/kestrel_rules.yaml"],
        &["replay", cap],
        &["replay", "--sizes", cap],
        &["replay", cap, "-r", "rules/kestrel_rules.yaml"],
    ] {
        let out = kestrel_into_closed_pipe(args);
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("error"), "{args:?}: {err}");
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
    }
}

/// Falco's -t disables every rule and then enables those with the tag,
/// including a rule its file disables; -D and -T only turn rules off.
#[test]
fn only_tag_runs_tagged_rules_the_files_disable_as_falco_does() {
    let file = temp_path("tags.yaml");
    std::fs::write(
        &file,
        "- rule: Tagged off\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: info\n  enabled: false\n  tags: [pick]\n\
         - rule: Tagged on\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: info\n  tags: [pick, other]\n\
         - rule: Untagged\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: info\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let state = |args: &[&str], rule: &str| -> String {
        let mut all = vec!["rules", "list", "-r", f];
        all.extend_from_slice(args);
        let out = kestrel(&all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let s = text(&out.stdout);
        let line = s.lines().find(|l| l.starts_with(rule)).expect("listed");
        line.split_whitespace().rev().nth(1).unwrap().to_string()
    };
    // Without flags the file's own switches hold.
    assert_eq!(state(&[], "Tagged off"), "no");
    assert_eq!(state(&[], "Tagged on"), "yes");
    // -t pick: both tagged rules run, the untagged one does not.
    assert_eq!(state(&["-t", "pick"], "Tagged off"), "yes");
    assert_eq!(state(&["-t", "pick"], "Tagged on"), "yes");
    assert_eq!(state(&["-t", "pick"], "Untagged"), "off");
    // -T and -D never enable.
    assert_eq!(state(&["-T", "other"], "Tagged off"), "no");
    assert_eq!(state(&["-T", "other"], "Tagged on"), "off");
    assert_eq!(state(&["-D", "Untag"], "Untagged"), "off");
    assert_eq!(state(&["-D", "Untag"], "Tagged on"), "yes");
    // -t cannot be combined with -D/-T, as in Falco.
    let out = kestrel(&["rules", "list", "-r", f, "-t", "pick", "-D", "x"]);
    assert!(!out.status.success());
    // -l tells why the file-disabled rule runs.
    let out = kestrel(&["rules", "list", "-r", f, "-t", "pick", "-l", "Tagged off"]);
    assert!(
        text(&out.stdout).contains("run by -t"),
        "{}",
        text(&out.stdout)
    );
}
