//! Malformed input, table-driven: rules files, configuration files,
//! capture files and command-line values that must each be refused with
//! exactly the error given here (file:line[:column] where the input has
//! lines) and a non-zero exit status, never a panic or a partial load.
//!
//! Exit statuses: 1 a runtime error (capture files, --duration), 2 a bad
//! configuration or option of `run`, 3 refused rules.

use std::path::PathBuf;
use std::process::Command;

use kestrel::capture::{CaptureHeader, CaptureWriter};
use kestrel::record::{Record, RecordBuilder};
use kestrel_abi::EventType as T;

/// One bad input and what kestrel must say about it.
struct Case {
    /// Names the case and the file written for it.
    name: String,
    /// The file's name in the scratch folder (the error names it).
    file: String,
    input: Vec<u8>,
    /// The command line, FILE standing for the file.
    args: Vec<&'static str>,
    code: i32,
    stderr: String,
}

impl Case {
    /// A rules file given to `kestrel rules validate`; `error` is the one
    /// line after "rules refused:".
    fn rules(name: &str, input: impl Into<Vec<u8>>, error: &str) -> Case {
        Case {
            name: format!("rules/{name}"),
            file: format!("{name}.yaml"),
            input: input.into(),
            args: vec!["rules", "validate", "FILE"],
            code: 3,
            stderr: format!("kestrel: error: rules refused:\n{error}\n"),
        }
    }

    /// A configuration file given to `kestrel run -c` (refused before the
    /// device is opened).
    fn config(name: &str, input: impl Into<Vec<u8>>, error: &str) -> Case {
        Case {
            name: format!("config/{name}"),
            file: format!("{name}.yaml"),
            input: input.into(),
            args: vec!["run", "-c", "FILE", "--device", "/nonexistent/kestrel"],
            code: 2,
            stderr: format!("kestrel: error: bad configuration: {error}\n"),
        }
    }

    /// A capture file given to `kestrel replay`; `error` follows the
    /// file's name.
    fn capture(name: &str, input: Vec<u8>, error: &str) -> Case {
        Case {
            name: format!("capture/{name}"),
            file: format!("{name}.kcap"),
            input,
            args: vec!["replay", "FILE"],
            code: 1,
            stderr: format!("kestrel: error: {name}.kcap: {error}\n"),
        }
    }

    /// A command line alone (the file is written but not named).
    fn args(name: &str, args: Vec<&'static str>, code: i32, error: &str) -> Case {
        Case {
            name: format!("args/{name}"),
            file: format!("{name}.unused"),
            input: Vec::new(),
            args,
            code,
            stderr: format!("kestrel: error: {error}\n"),
        }
    }
}

fn rule(condition: &str) -> String {
    format!("- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: info\n")
}

fn header(format_abi: Option<u32>) -> CaptureHeader {
    CaptureHeader {
        abi_version: format_abi.unwrap_or(kestrel_abi::ABI_VERSION),
        wall_offset_ns: 0,
        nr_rings: 2,
        snaplen: 4096,
    }
}

/// A capture file: the header, then `frames` as raw bytes.
fn capture(frames: &[u8]) -> Vec<u8> {
    let mut w = CaptureWriter::new(Vec::new(), header(None)).unwrap();
    let openat = openat();
    w.write(0, &Record::parse(&openat).unwrap()).unwrap();
    let mut bytes = w.finish().unwrap();
    // Keep the header only: the frames are the test's own.
    bytes.truncate(kestrel::capture::HEADER_LEN);
    bytes.extend_from_slice(frames);
    bytes
}

/// A frame: ring, reserved, record.
fn frame(ring: u32, reserved: u32, record: &[u8]) -> Vec<u8> {
    let mut f = ring.to_le_bytes().to_vec();
    f.extend_from_slice(&reserved.to_le_bytes());
    f.extend_from_slice(record);
    f
}

/// A good openat exit record.
fn openat() -> Vec<u8> {
    RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, 1000, 1, 1)
        .i64(3)
        .i64(-100)
        .param(b"/etc/shadow")
        .u32(0)
        .u32(0)
        .param(b"/etc/shadow")
        .build()
}

/// A record with its header's len and nparams replaced.
fn with_header(mut rec: Vec<u8>, len: Option<u32>, nparams: Option<u16>) -> Vec<u8> {
    if let Some(len) = len {
        rec[0..4].copy_from_slice(&len.to_le_bytes());
    }
    if let Some(n) = nparams {
        rec[6..8].copy_from_slice(&n.to_le_bytes());
    }
    rec
}

fn cases() -> Vec<Case> {
    let abc = || RecordBuilder::new(3, 1000, 1, 1).param(b"abc").build();
    let mut cases = vec![
    Case::rules("dangling_eq", "- rule: r\n  desc: d\n  condition: proc.name =\n  output: o\n  priority: info\n", "dangling_eq.yaml:3:25: expected a value after '=', found 'end of condition'"),
    Case::rules("unknown_field", "- rule: r\n  desc: d\n  condition: proc.nam = x\n  output: o\n  priority: info\n", "unknown_field.yaml:3:14: unknown field 'proc.nam'"),
    Case::rules("unbalanced_paren", "- rule: r\n  desc: d\n  condition: (proc.name = x\n  output: o\n  priority: info\n", "unbalanced_paren.yaml:3:28: expected ')' or 'and'/'or', found 'end of condition'"),
    Case::rules("extra_paren", "- rule: r\n  desc: d\n  condition: proc.name = x)\n  output: o\n  priority: info\n", "extra_paren.yaml:3:27: expected 'and', 'or' or the end of the condition, found ')'"),
    Case::rules("bad_operator", "- rule: r\n  desc: d\n  condition: proc.name ~= x\n  output: o\n  priority: info\n", "bad_operator.yaml:3:24: expected an operator (=, !=, <, <=, >, >=, contains, icontains, bcontains, startswith, bstartswith, endswith, in, intersects, pmatch, glob, iglob, regex, exists) after 'proc.name', found '~='"),
    Case::rules("unclosed_string", "- rule: r\n  desc: d\n  condition: proc.name = \"abc\n  output: o\n  priority: info\n", "unclosed_string.yaml:3:26: unterminated quoted string"),
    Case::rules("unknown_macro", "- rule: r\n  desc: d\n  condition: evt.type = open and not_a_macro\n  output: o\n  priority: info\n", "unknown_macro.yaml:3:34: undefined macro 'not_a_macro' (expected a macro name, or a field and an operator)"),
    Case::rules("no_condition", "- rule: r\n  desc: d\n  output: o\n  priority: info\n", "no_condition.yaml:1:1: rule 'r' needs condition"),
    Case::rules("no_output", "- rule: r\n  desc: d\n  condition: proc.name = x\n  priority: info\n", "no_output.yaml:1:1: rule 'r' needs output"),
    Case::rules("no_priority", "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n", "no_priority.yaml:1:1: rule 'r' needs priority"),
    Case::rules("bad_priority", "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: loud\n", "bad_priority.yaml:5:13: expected a priority (emergency, alert, critical, error, warning, notice, informational, debug), found 'loud'"),
    Case::rules("bad_enabled", "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: info\n  enabled: maybe\n", "bad_enabled.yaml:6:12: expected true or false for 'enabled', found text"),
    Case::rules("broken_yaml", "- rule: [unclosed\n", "broken_yaml.yaml:2:1: invalid YAML: did not find expected ',' or ']'"),
    Case::rules("top_mapping", "rule: r\n", "top_mapping.yaml:1:1: expected a list of rule, macro and list items, found a mapping"),
    Case::rules("list_items_scalar", "- list: l\n  items: 3\n", "list_items_scalar.yaml:2:10: expected a list for 'items', found a number"),
    Case::rules("macro_no_condition", "- macro: m\n", "macro_no_condition.yaml:1:1: macro 'm' needs a 'condition'"),
    Case::rules("recursive_macros", "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: info\n", "recursive_macros.yaml:4:14: macro 'a' refers to itself"),
    Case::rules("exception_unknown_field", "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: info\n  exceptions:\n    - name: e\n      fields: [proc.nam]\n", "exception_unknown_field.yaml:7:5: exception 'e': unknown field 'proc.nam'"),
    Case::rules("engine_version", "- required_engine_version: 99.0.0\n- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: info\n", "engine_version.yaml:1:28: the rules need engine version 99.0.0; this engine implements 0.57.0"),
    Case::rules("output_unknown_field", "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: \"%proc.nam\"\n  priority: info\n", "output_unknown_field.yaml:4:11: in output: unknown field 'proc.nam'"),
    Case::rules("append_missing", "- rule: nosuch\n  condition: and proc.name = y\n  append: true\n", "append_missing.yaml:1:1: rule 'nosuch' amends a rule that no earlier item defines"),
    Case::rules("unknown_item", "- frobnicate: x\n", "unknown_item.yaml:1:1: expected an item with one of the keys rule, macro, list, required_engine_version, required_plugin_versions"),
    Case::config("bool_type", "json_output: maybe\n", "bool_type.yaml:1: json_output: invalid type: string \"maybe\", expected a boolean"),
    Case::config("port_string", "webserver:\n  listen_port: eighty\n", "port_string.yaml:2: webserver.listen_port: invalid type: string \"eighty\", expected u16"),
    Case::config("port_range", "webserver:\n  listen_port: 70000\n", "port_range.yaml:2: webserver.listen_port: invalid value: integer `70000`, expected u16"),
    Case::config("priority_bad", "priority: loud\n", "priority_bad.yaml:1: priority: 'loud' is not a priority (emergency, alert, critical, error, warning, notice, informational, debug)"),
    Case::config("drop_action", "syscall_event_drops:\n  actions: [log, page]\n", "drop_action.yaml:2: syscall_event_drops.actions[1]: 'page' is not an action (ignore, log, alert, exit)"),
    Case::config("not_mapping", "- a\n- b\n", "not_mapping.yaml:1: expected a mapping of keys to values at the top of the file"),
    Case::config("rules_files_type", "rules_files: 3\n", "rules_files_type.yaml:1: rules_files: invalid type: integer `3`, expected a sequence"),
    Case::config("log_level", "log_level: chatty\n", "log_level.yaml:1: log_level: 'chatty' is not a log level (emergency, alert, critical, error, warning, notice, info, debug)"),
    Case::config("http_url", "http_output:\n  enabled: true\n  url: ftp://x\n", "http_url.yaml:3: http_output.url: 'ftp://x' is not an http:// or https:// URL with a host"),
    Case::config("file_no_name", "file_output:\n  enabled: true\n  filename: \"\"\n", "file_no_name.yaml:3: file_output.filename: is empty while file_output.enabled is true"),
    Case::config("program_empty", "program_output:\n  enabled: true\n  program: \"\"\n", "program_empty.yaml:3: program_output.program: is empty while program_output.enabled is true"),
    Case::config("queue_zero", "outputs_queue:\n  capacity: 0\n", "queue_zero.yaml:2: outputs_queue.capacity: must be at least 1 (queues are bounded: a slow sink drops and counts its own alerts)"),
    Case::config("listen_address", "webserver:\n  listen_address: not-an-address\n", "listen_address.yaml:2: webserver.listen_address: 'not-an-address' is not an IPv4 or IPv6 address"),
    Case::config("threshold", "syscall_event_drops:\n  threshold: 2\n", "threshold.yaml:2: syscall_event_drops.threshold: 2 is not a share between 0 and 1"),
    Case::config("ring_size", "engine:\n  kmod:\n    ring_size: 1000\n", "ring_size.yaml:3: engine.kmod.ring_size: 1000 is not a power of two from 65536 to 1073741824"),
    Case::config("snaplen", "engine:\n  kmod:\n    snaplen: 3\n", "snaplen.yaml:3: engine.kmod.snaplen: 3 is out of range (16..=16383, or 0 for the module's)"),
    Case::config("engine_kind", "engine:\n  kind: ebpf\n", "engine_kind.yaml:2: engine.kind: 'ebpf' is not an engine kestrel has (kmod)"),
    Case::config("rule_matching", "rule_matching: some\n", "rule_matching.yaml:1: rule_matching: 'some' is neither first nor all"),
    ];
    // Hostile rules files: nesting and chains bounded by counters, never
    // the stack (a chain of 10,000 macros or 50,000 lists once aborted).
    let mut macros = String::new();
    for i in 0..10_000 {
        macros.push_str(&format!("- macro: m{i}\n  condition: m{}\n", i + 1));
    }
    macros.push_str("- macro: m10000\n  condition: proc.name = x\n");
    macros.push_str(&rule("m0"));
    cases.push(Case::rules(
        "macro_chain_10000",
        macros,
        "macro_chain_10000.yaml:512:14: the condition nests deeper than 256 levels (macros inside macros included)",
    ));
    let mut lists = String::new();
    for i in 0..50_000 {
        lists.push_str(&format!("- list: l{i}\n  items: [l{}]\n", i + 1));
    }
    lists.push_str("- list: l50000\n  items: [x]\n");
    lists.push_str(&rule("proc.name in (l0)"));
    cases.push(Case::rules(
        "list_chain_50000",
        lists,
        "list_chain_50000.yaml:100005:28: list 'l256' is nested in lists deeper than 256 levels",
    ));
    let deep = format!("{}proc.name = x{}", "(".repeat(1000), ")".repeat(1000));
    cases.push(Case::rules(
        "deep_parens",
        rule(&deep),
        "deep_parens.yaml:3:214: condition nests deeper than 200 levels",
    ));
    cases.push(Case::rules(
        "not_utf8",
        b"- rule: r\xff\xfe\n".to_vec(),
        "not_utf8.yaml:1:10: expected UTF-8 text",
    ));
    // Capture files.
    let good = frame(0, 0, &openat());
    cases.extend([
        Case::capture(
            "empty",
            Vec::new(),
            "not a kestrel capture file (bad magic at offset 0)",
        ),
        Case::capture(
            "bad_magic",
            b"NOTACAPTUREFILE!NOTACAPTUREFILE!".to_vec(),
            "not a kestrel capture file (bad magic at offset 0)",
        ),
        Case::capture(
            "magic_only",
            b"KESTRCAP".to_vec(),
            "truncated at offset 0: the file ends inside a file header",
        ),
        Case::capture(
            "format_2",
            {
                let mut c = capture(&[]);
                c[8..12].copy_from_slice(&2u32.to_le_bytes());
                c
            },
            &format!(
                "capture format 2 / ABI {v} not supported (this kestrel reads format 1, ABI {v})",
                v = kestrel_abi::ABI_VERSION
            ),
        ),
        Case::capture(
            "abi_old",
            {
                let mut c = capture(&[]);
                c[12..16].copy_from_slice(&(kestrel_abi::ABI_VERSION - 1).to_le_bytes());
                c
            },
            &format!(
                "capture format 1 / ABI {} not supported (this kestrel reads format 1, ABI {})",
                kestrel_abi::ABI_VERSION - 1,
                kestrel_abi::ABI_VERSION
            ),
        ),
        Case::capture(
            "frame_truncated",
            capture(&[0; 4]),
            "truncated at offset 32: the file ends inside a frame header",
        ),
        Case::capture(
            "record_truncated",
            capture(&good[..20]),
            "truncated at offset 32: the file ends inside a record",
        ),
        Case::capture(
            "len_not_aligned",
            capture(&frame(0, 0, &with_header(abc(), Some(33), None))),
            "corrupt at offset 32: bad record length 33 (must be >= 24 and a multiple of 8)",
        ),
        Case::capture(
            "len_too_small",
            capture(&frame(0, 0, &with_header(abc(), Some(4), None))),
            "corrupt at offset 32: bad record length 4 (must be >= 24 and a multiple of 8)",
        ),
        Case::capture(
            "len_huge",
            capture(&frame(0, 0, &with_header(abc(), Some(0x7fff_fff8), None))),
            "truncated at offset 32: the file ends inside a record",
        ),
        Case::capture(
            "too_many_params",
            capture(&frame(0, 0, &with_header(abc(), None, Some(500)))),
            "corrupt at offset 32: record claims 500 parameters (at most 20)",
        ),
        Case::capture(
            "params_overflow",
            capture(&frame(0, 0, &{
                let mut r = abc();
                r[24..26].copy_from_slice(&900u16.to_le_bytes());
                r
            })),
            "corrupt at offset 32: parameters need 926 bytes but the record is 32",
        ),
        Case::capture(
            "ring_out_of_range",
            capture(&frame(7, 0, &openat())),
            "corrupt at offset 32: bad frame header (ring 7 of 2)",
        ),
        Case::capture(
            "reserved_nonzero",
            capture(&frame(0, 1, &openat())),
            "corrupt at offset 32: bad frame header (ring 0 of 2)",
        ),
        Case::capture(
            "unknown_type",
            capture(&frame(0, 0, &RecordBuilder::new(9999, 1000, 1, 1).build())),
            "corrupt at offset 32: event type 9999: unknown event type",
        ),
        Case::capture(
            "openat_missing_params",
            capture(&frame(
                0,
                0,
                &RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, 1000, 1, 1)
                    .i64(3)
                    .build(),
            )),
            "corrupt at offset 32: event type 7 (openat): 1 parameters, the schema has 6",
        ),
        Case::capture(
            "good_then_garbage",
            capture(&[good.clone(), vec![0xff; 13]].concat()),
            "corrupt at offset 128: bad frame header (ring 4294967295 of 2)",
        ),
    ]);
    // Command-line values.
    cases.extend([
        Case::args(
            "events_duration_1e20",
            vec!["events", "--duration", "1e20", "--device", "/nonexistent/kestrel"],
            1,
            "--duration 100000000000000000000 is too long (at most 1e9 seconds)",
        ),
        Case::args(
            "run_duration_1e20",
            vec!["run", "--duration", "1e20", "--device", "/nonexistent/kestrel"],
            2,
            "--duration 100000000000000000000 is too long (at most 1e9 seconds)",
        ),
        Case::args(
            "capture_duration_nan",
            vec!["capture", "--duration", "nan", "-w", "x.kcap", "--device", "/nonexistent/kestrel"],
            1,
            "--duration NaN must be a positive number of seconds",
        ),
        Case::args(
            "run_config_missing",
            vec!["run", "-c", "/nonexistent/kestrel.yaml"],
            2,
            "bad configuration: /nonexistent/kestrel.yaml: cannot read the configuration: No such file or directory (os error 2)",
        ),
    ]);
    cases
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kestrel-bad-inputs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs one case; what went wrong, if anything.
fn run_case(dir: &std::path::Path, case: &Case) -> Option<String> {
    std::fs::write(dir.join(&case.file), &case.input).unwrap();
    let args: Vec<&str> = case
        .args
        .iter()
        .map(|a| if *a == "FILE" { case.file.as_str() } else { a })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(&args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("run kestrel");
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code() != Some(case.code) || stderr != case.stderr).then(|| {
        format!(
            "{}: exit {:?} (want {}), stderr:\n{stderr}want:\n{}",
            case.name,
            out.status.code(),
            case.code,
            case.stderr
        )
    })
}

#[test]
fn every_bad_input_is_refused_with_its_exact_error() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let dir = scratch();
    // Four at a time: the chains take the debug binary a few seconds.
    let chunk = cases.len().div_ceil(4);
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                s.spawn(|| {
                    part.iter()
                        .filter_map(|c| run_case(&dir, c))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
