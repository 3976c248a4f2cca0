use super::*;

fn load(text: &str) -> Result<Config, String> {
    Config::from_text("k.yaml", text, &[]).map_err(|e| e.to_string())
}

fn with(text: &str, overrides: &[&str]) -> Result<Config, String> {
    let o = overrides
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Config::from_text("k.yaml", text, &o).map_err(|e| e.to_string())
}

#[test]
fn the_shipped_file_is_the_defaults() {
    let text = include_str!("../../../config/kestrel.yaml");
    let shipped = Config::from_text("config/kestrel.yaml", text, &[]).unwrap();
    assert_eq!(
        shipped,
        Config::default(),
        "config/kestrel.yaml and Config::default() differ"
    );
    // And every top-level key of the structure appears in it, documented.
    let doc: Value = serde_yaml::from_str(text).unwrap();
    let keys: Vec<String> = doc
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for want in [
        "rules_files",
        "priority",
        "json_output",
        "json_include_output_property",
        "json_include_tags_property",
        "rule_matching",
        "time_format_iso_8601",
        "buffered_outputs",
        "outputs_queue",
        "stdout_output",
        "file_output",
        "syslog_output",
        "program_output",
        "http_output",
        "webserver",
        "syscall_event_drops",
        "append_output",
        "log_level",
        "log_stderr",
        "log_syslog",
        "watch_config_files",
        "engine",
    ] {
        assert!(
            keys.iter().any(|k| k == want),
            "config/kestrel.yaml lacks {want}"
        );
    }
}

#[test]
fn empty_text_and_missing_keys_take_the_defaults() {
    assert_eq!(load("").unwrap(), Config::default());
    assert_eq!(load("# only a comment\n").unwrap(), Config::default());
    let c = load("json_output: true\nwebserver:\n  listen_port: 9000\n").unwrap();
    assert!(c.json_output);
    assert_eq!(c.webserver.listen_port, 9000);
    assert!(
        c.webserver.enabled,
        "the rest of the section keeps its defaults"
    );
    assert_eq!(c.rules_files, Config::default().rules_files);
}

#[test]
fn falco_spellings_load() {
    let c = load(
        "rules_file:\n  - /a.yaml\n  - /etc/x/rules.d\npriority: warning\nrule_matching: all\n\
         syscall_event_drops:\n  actions: [log, alert, exit]\n  threshold: .2\n\
         append_output:\n  - match:\n      source: syscall\n      tags: [container]\n    extra_output: \"on %evt.type\"\n    extra_fields:\n      - evt.type\n      - where: \"%fd.name\"\n",
    )
    .unwrap();
    assert_eq!(
        c.rules_files,
        [PathBuf::from("/a.yaml"), "/etc/x/rules.d".into()]
    );
    assert_eq!(c.min_priority(), Priority::Warning);
    assert_eq!(c.matching(), Matching::All);
    assert_eq!(
        c.drop_actions(),
        [DropAction::Log, DropAction::Alert, DropAction::Exit]
    );
    assert_eq!(c.append_output[0].matches.tags, ["container"]);
    assert_eq!(c.append_output[0].extra_fields.len(), 2);
}

/// Bad configurations and the exact message each must give.
const BAD: &[(&str, &str)] = &[
    (
        "json_ouput: true\n",
        "k.yaml:1: json_ouput: unknown key (expected one of `rules_file`, `rules_files`, `priority`, `json_output`, `json_include_output_property`, `json_include_tags_property`, `rule_matching`, `time_format_iso_8601`, `buffered_outputs`, `outputs_queue`, `stdout_output`, `file_output`, `syslog_output`, `program_output`, `http_output`, `webserver`, `syscall_event_drops`, `append_output`, `log_level`, `log_stderr`, `log_syslog`, `watch_config_files`, `engine`)",
    ),
    (
        "webserver:\n  enabled: true\n  lisen_port: 3\n",
        "k.yaml:3: webserver.lisen_port: unknown key (expected one of `enabled`, `listen_address`, `listen_port`, `k8s_healthz_endpoint`, `prometheus_metrics_enabled`)",
    ),
    (
        "json_output: yes\n",
        "k.yaml:1: json_output: invalid type: string \"yes\", expected a boolean",
    ),
    (
        "webserver:\n  listen_port: 70000\n",
        "k.yaml:2: webserver.listen_port: invalid value: integer `70000`, expected u16",
    ),
    (
        "webserver:\n  listen_port: http\n",
        "k.yaml:2: webserver.listen_port: invalid type: string \"http\", expected u16",
    ),
    (
        "rules_files: /etc/kestrel/rules.d\n",
        "k.yaml:1: rules_files: invalid type: string \"/etc/kestrel/rules.d\", expected a sequence",
    ),
    ("rules_files: []\n", "k.yaml:1: rules_files: names no rules file or directory"),
    (
        "priority: severe\n",
        "k.yaml:1: priority: 'severe' is not a priority (emergency, alert, critical, error, warning, notice, informational, debug)",
    ),
    ("rule_matching: best\n", "k.yaml:1: rule_matching: 'best' is neither first nor all"),
    (
        "outputs_queue:\n  capacity: 0\n",
        "k.yaml:2: outputs_queue.capacity: must be at least 1 (queues are bounded: a slow sink drops and counts its own alerts)",
    ),
    (
        "outputs_queue:\n  capacity: -5\n",
        "k.yaml:2: outputs_queue.capacity: invalid type: integer `-5`, expected usize",
    ),
    (
        "file_output:\n  enabled: true\n  filename: \"\"\n",
        "k.yaml:3: file_output.filename: is empty while file_output.enabled is true",
    ),
    (
        "program_output:\n  enabled: true\n",
        "k.yaml:1: program_output.program: is empty while program_output.enabled is true",
    ),
    (
        "http_output:\n  enabled: true\n  url: \"\"\n",
        "k.yaml:3: http_output.url: is empty while http_output.enabled is true",
    ),
    (
        "http_output:\n  enabled: true\n  url: ftp://x/\n",
        "k.yaml:3: http_output.url: 'ftp://x/' is not an http:// or https:// URL with a host",
    ),
    (
        "http_output:\n  timeout_ms: 0\n",
        "k.yaml:2: http_output.timeout_ms: must be at least 1",
    ),
    (
        "webserver:\n  listen_address: localhost\n",
        "k.yaml:2: webserver.listen_address: 'localhost' is not an IPv4 or IPv6 address",
    ),
    (
        "webserver:\n  k8s_healthz_endpoint: healthz\n",
        "k.yaml:2: webserver.k8s_healthz_endpoint: 'healthz' does not start with /",
    ),
    (
        "syscall_event_drops:\n  threshold: 1.5\n",
        "k.yaml:2: syscall_event_drops.threshold: 1.5 is not a share between 0 and 1",
    ),
    (
        "syscall_event_drops:\n  actions:\n    - log\n    - page\n",
        "k.yaml:2: syscall_event_drops.actions[1]: 'page' is not an action (ignore, log, alert, exit)",
    ),
    (
        "syscall_event_drops:\n  rate: 0\n",
        "k.yaml:2: syscall_event_drops.rate: 0 is not a positive number of actions per second",
    ),
    (
        "syscall_event_drops:\n  max_burst: 0\n",
        "k.yaml:2: syscall_event_drops.max_burst: must be at least 1",
    ),
    (
        "append_output:\n  - extra_output: ok\n  - match:\n      source: k8s_audit\n",
        "k.yaml:4: append_output[1].match.source: 'k8s_audit' is not an event source (syscall)",
    ),
    (
        "append_output:\n  - extra_output: \"on %proc.nmae\"\n",
        "k.yaml:2: append_output[0].extra_output: at character 4: in output: unknown field 'proc.nmae'",
    ),
    (
        "append_output:\n  - extra_fields:\n      - proc.nmae\n",
        "k.yaml:2: append_output[0].extra_fields[0]: in output: unknown field 'proc.nmae'",
    ),
    (
        "append_output:\n  - mtch:\n      rule: x\n",
        "k.yaml:2: append_output[0].mtch: unknown key (expected one of `match`, `extra_output`, `extra_fields`)",
    ),
    (
        "log_level: verbose\n",
        "k.yaml:1: log_level: 'verbose' is not a log level (emergency, alert, critical, error, warning, notice, info, debug)",
    ),
    ("engine:\n  kind: ebpf\n", "k.yaml:2: engine.kind: 'ebpf' is not an engine kestrel has (kmod)"),
    (
        "engine:\n  threads: 3\n",
        "k.yaml:2: engine.threads: 3 is not a thread count kestrel runs with (1 or 2)",
    ),
    (
        "engine:\n  threads: 0\n",
        "k.yaml:2: engine.threads: 0 is not a thread count kestrel runs with (1 or 2)",
    ),
    (
        "engine:\n  kmod:\n    ring_size: 1000000\n",
        "k.yaml:3: engine.kmod.ring_size: 1000000 is not a power of two from 65536 to 1073741824",
    ),
    (
        "engine:\n  kmod:\n    snaplen: 8\n",
        "k.yaml:3: engine.kmod.snaplen: 8 is out of range (16..=16383, or 0 for the module's)",
    ),
    (
        "engine:\n  kmod:\n    syscalls: [openat, opne]\n",
        "k.yaml:3: engine.kmod.syscalls[1]: 'opne' is not an x86_64 syscall name",
    ),
    (
        "engine:\n  kmod:\n    hostroot: /host\n",
        "k.yaml:3: engine.kmod.hostroot: unknown key (expected one of `device`, `ring_size`, `snaplen`, `syscalls`, `proc_root`, `host_root`)",
    ),
    (
        "- json_output\n",
        "k.yaml:1: expected a mapping of keys to values at the top of the file",
    ),
    (
        "json_output: true\njson_output: false\n",
        "k.yaml:1: json_output: the key appears twice",
    ),
    (
        "webserver: [1\n",
        "k.yaml:1: webserver: invalid type: sequence, expected a mapping of keys to values",
    ),
];

#[test]
fn bad_configurations_name_file_line_and_key() {
    assert!(BAD.len() >= 20);
    for (text, want) in BAD {
        let got = load(text).expect_err(text);
        assert_eq!(&got, want, "config:\n{text}");
    }
}

#[test]
fn overrides_set_any_key_and_are_checked() {
    let base = "json_output: false\nwebserver:\n  listen_port: 9000\n";
    let c = with(
        base,
        &[
            "json_output=true",
            "webserver.listen_port=9100",
            "rules_files=[/a.yaml, /b.d]",
            "http_output.enabled=true",
            "http_output.url=http://127.0.0.1:2801/",
            "engine.kmod.syscalls=[openat]",
            "engine.threads=2",
        ],
    )
    .unwrap();
    assert_eq!(c.engine.threads, 2);
    assert!(c.json_output);
    assert_eq!(c.webserver.listen_port, 9100);
    assert_eq!(c.rules_files, [PathBuf::from("/a.yaml"), "/b.d".into()]);
    assert!(c.http_output.enabled);
    assert_eq!(c.http_output.url, "http://127.0.0.1:2801/");
    assert_eq!(c.engine.kmod.syscalls, ["openat"]);
    // Later overrides win; the file's other keys stay.
    let c = with(base, &["json_output=true", "json_output=false"]).unwrap();
    assert!(!c.json_output);
    assert_eq!(c.webserver.listen_port, 9000);
    // On the defaults (no file).
    let c = with("", &["stdout_output.enabled=false"]).unwrap();
    assert!(!c.stdout_output.enabled);

    for (o, want) in [
        (
            "webserver.listen_port=http",
            "-o webserver.listen_port=http: webserver.listen_port: invalid type: string \"http\", expected u16",
        ),
        (
            "webserver.lisen_port=1",
            "-o webserver.lisen_port=1: webserver.lisen_port: unknown key (expected one of `enabled`, `listen_address`, `listen_port`, `k8s_healthz_endpoint`, `prometheus_metrics_enabled`)",
        ),
        (
            "priority=loud",
            "-o priority=loud: priority: 'loud' is not a priority (emergency, alert, critical, error, warning, notice, informational, debug)",
        ),
        (
            "json_output.x=1",
            "-o json_output.x=1: json_output.x: json_output is not a mapping, so it has no key 'x'",
        ),
        (
            "json_output",
            "-o json_output: expected KEY=VALUE (e.g. -o json_output=true)",
        ),
        (
            "a..b=1",
            "-o a..b=1: 'a..b' is not a key path (names of letters, digits and _, joined by dots)",
        ),
        (
            "http_output.enabled=true",
            "-o http_output.enabled=true: http_output.url: is empty while http_output.enabled is true",
        ),
    ] {
        let got = with(base, &[o]).expect_err(o);
        assert_eq!(got, want, "-o {o}");
    }
}

#[test]
fn an_explicit_file_must_exist() {
    let err = Config::load_for_run(Some(Path::new("/nonexistent/kestrel.yaml")), &[]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/kestrel.yaml: cannot read the configuration:"),
        "{err}"
    );
}
