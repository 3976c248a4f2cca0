//! The service path without a kernel module: replayed captures through
//! the rule set, the alert path and the outputs; reloads that keep the old
//! rules when the new ones are bad; `kestrel run` refusing bad
//! configurations, bad rules and a missing device with the right message
//! and exit status.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use kestrel::capture::{CaptureHeader, CaptureWriter};
use kestrel::config::{Config, Override};
use kestrel::output::{Outputs, Sink, StdoutSink};
use kestrel::record::Record;
use kestrel::rules::cases::encode_event;
use kestrel::rules::format::Alert;
use kestrel::service::ruleset::RuleSet;
use kestrel::service::{replay, sinks};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kestrel-service-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn kestrel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run kestrel")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const SHADOW: &str = "{type: openat, tid: 301, params: {res: 3, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}";
const PASSWD: &str = "{type: openat, tid: 301, params: {res: 3, dirfd: -100, name: /etc/passwd, flags: 0, mode: 0, fullpath: /etc/passwd}}";
const PTRACE: &str =
    "{type: ptrace, tid: 302, params: {res: 0, request: 16, pid: 1, addr: 0, data: 0}}";

fn capture_of(dir: &Path, events: &[&str]) -> PathBuf {
    let path = dir.join("story.kcap");
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

fn config(text: &str, overrides: &[&str]) -> Config {
    let o: Vec<Override> = overrides
        .iter()
        .map(|s| Override::parse(s).unwrap())
        .collect();
    Config::from_text("test.yaml", text, &o).unwrap()
}

#[test]
fn replay_through_the_service_path_applies_append_output_to_every_sink() {
    let dir = temp_dir("append");
    let cap = capture_of(&dir, &[PASSWD, SHADOW, PTRACE]);
    let rules = root().join("rules/kestrel_rules.yaml");
    let cfg = config(
        "json_output: true\n\
         append_output:\n\
         \x20 - extra_fields:\n\
         \x20     - evt.hostname\n\
         \x20 - match:\n\
         \x20     tags: [credentials]\n\
         \x20   extra_output: \"via %evt.type\"\n\
         \x20   extra_fields:\n\
         \x20     - evt.type\n\
         \x20     - cluster: prod-eu-1\n",
        &[&format!("rules_files=[{}]", rules.display())],
    );
    let ruleset = RuleSet::load(&cfg).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let lines = dir.join("stdout.jsonl");
    let file = std::fs::File::create(&lines).unwrap();
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(Collect(got.clone())),
        Box::new(StdoutSink::with_writer(
            "file",
            Box::new(file),
            sinks::alert_format(&cfg),
            false,
        )),
    ];
    let outputs = Outputs::start(sinks, 2).unwrap();
    let (events, alerts) = replay(&cap, ruleset, outputs, None).unwrap();
    assert_eq!((events, alerts), (3, 2));
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 2);
    let shadow = &got[0];
    assert_eq!(shadow.rule, "Sensitive file read by unexpected program");
    assert!(shadow.output.ends_with(" via openat"), "{}", shadow.output);
    assert_eq!(shadow.output_fields["evt.type"], "openat");
    assert_eq!(shadow.output_fields["cluster"], "prod-eu-1");
    assert!(!shadow.hostname.is_empty(), "alerts carry the host name");
    assert_eq!(
        shadow.output_fields["evt.hostname"], shadow.hostname,
        "%evt.hostname is the host name too"
    );
    // The ptrace rule has no credentials tag: nothing appended.
    assert!(!got[1].output.contains(" via "), "{}", got[1].output);
    assert!(!got[1].output_fields.contains_key("cluster"));
    // The same alerts, in Falco's JSON, reached the second sink.
    let written = std::fs::read_to_string(&lines).unwrap();
    let first: serde_json::Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(first["output_fields"]["cluster"], "prod-eu-1");
    assert_eq!(first["rule"], "Sensitive file read by unexpected program");
    assert_eq!(written.lines().count(), 2);
}

#[test]
fn a_reload_with_a_bad_rules_file_keeps_the_old_rules() {
    let dir = temp_dir("reload");
    let cap = capture_of(&dir, &[SHADOW]);
    let rules = dir.join("local.yaml");
    let good = "- rule: Shadow read\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow\n  output: shadow by %proc.pid\n  priority: warning\n";
    std::fs::write(&rules, good).unwrap();
    let cfg_file = dir.join("kestrel.yaml");
    std::fs::write(
        &cfg_file,
        format!(
            "rules_files:\n  - {}\n  - {}\n",
            rules.display(),
            dir.join("rules.d").display()
        ),
    )
    .unwrap();
    let args = kestrel::service::RunArgs {
        config_file: Some(cfg_file.clone()),
        ..Default::default()
    };
    let first = kestrel::service::load_config(&args).unwrap();
    let running = RuleSet::load(&first.config).unwrap();
    assert_eq!(running.active_rules(), 1);

    // A broken edit: the reload is refused with the file and line.
    std::fs::write(
        &rules,
        format!("{good}- rule: Broken\n  desc: d\n  condition: evt.type = openat and (\n  output: o\n  priority: info\n"),
    )
    .unwrap();
    let refused = kestrel::service::reload(&args).unwrap_err();
    assert!(
        refused.contains(&format!("{}:8:", rules.display())),
        "the error names the file and line: {refused}"
    );
    // A broken configuration is refused too, with its line.
    std::fs::write(&cfg_file, "json_output: true\nrules_files: []\n").unwrap();
    let refused = kestrel::service::reload(&args).unwrap_err();
    assert!(
        refused.contains(&format!(
            "{}:2: rules_files: names no rules file",
            cfg_file.display()
        )),
        "{refused}"
    );

    // The running set still matches.
    let got = Arc::new(Mutex::new(Vec::new()));
    let outputs = Outputs::start(vec![Box::new(Collect(got.clone()))], 8).unwrap();
    let (_, alerts) = replay(&cap, running, outputs, None).unwrap();
    assert_eq!(alerts, 1);
    assert_eq!(got.lock().unwrap()[0].rule, "Shadow read");

    // A good edit is taken: the new rule set has the new rule.
    std::fs::write(
        &cfg_file,
        format!("rules_files:\n  - {}\n", rules.display()),
    )
    .unwrap();
    std::fs::write(&rules, good.replace("Shadow read", "Shadow read v2")).unwrap();
    let (_, reloaded) = kestrel::service::reload(&args).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let outputs = Outputs::start(vec![Box::new(Collect(got.clone()))], 8).unwrap();
    replay(&cap, reloaded, outputs, None).unwrap();
    assert_eq!(got.lock().unwrap()[0].rule, "Shadow read v2");
}

#[test]
fn run_refuses_bad_configurations_before_touching_the_device() {
    let dir = temp_dir("run-config");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "stdout_output:\n  enabled: true\nwebserver:\n  listen_port: eighty\n",
    )
    .unwrap();
    // --device names no device: a config error must come first.
    let out = kestrel(&[
        "run",
        "-c",
        bad.to_str().unwrap(),
        "--device",
        "/nonexistent/kestrel",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "kestrel: error: bad configuration: {}:4: webserver.listen_port: invalid type: string \"eighty\", expected u16\n",
            bad.display()
        )
    );
    // -o is checked the same way.
    let good = dir.join("good.yaml");
    std::fs::write(&good, "json_output: true\n").unwrap();
    let out = kestrel(&[
        "run",
        "-c",
        good.to_str().unwrap(),
        "-o",
        "syscall_event_drops.actions=[log, page]",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad configuration: -o syscall_event_drops.actions=[log, page]: syscall_event_drops.actions[1]: 'page' is not an action"),
        "{}",
        text(&out.stderr)
    );
    // An explicit file must exist.
    let out = kestrel(&["run", "-c", "/nonexistent/kestrel.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/kestrel.yaml: cannot read the configuration"));
}

#[test]
fn run_names_bad_rules_and_a_missing_device() {
    let dir = temp_dir("run-rules");
    let rules = dir.join("r.yaml");
    std::fs::write(
        &rules,
        "- rule: r\n  desc: d\n  condition: evt.type = openat and\n  output: o\n  priority: info\n",
    )
    .unwrap();
    let out = kestrel(&[
        "run",
        "-r",
        rules.to_str().unwrap(),
        "--device",
        "/nonexistent/kestrel",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("{}:3:", rules.display())),
        "{}",
        text(&out.stderr)
    );
    // Good rules, no device: the message says how to load the module.
    let out = kestrel(&[
        "run",
        "-r",
        "rules/kestrel_rules.yaml",
        "--device",
        "/nonexistent/kestrel",
        "-o",
        "webserver.enabled=false",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("/nonexistent/kestrel does not exist"), "{err}");
    assert!(err.contains("insmod"), "{err}");
    // A rules directory that does not exist is skipped, a missing file is not.
    let out = kestrel(&[
        "run",
        "-r",
        "rules/kestrel_rules.yaml",
        "-r",
        dir.join("rules.d").to_str().unwrap(),
        "-r",
        dir.join("missing.yaml").to_str().unwrap(),
        "--device",
        "/nonexistent/kestrel",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("missing.yaml"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::io::stderr().flush();
}
