//! Engine tests over a fake event (a map of field values).

use std::collections::HashMap;

use super::*;

/// A fake event: its name and whatever fields the test sets.
#[derive(Default)]
struct Fake {
    name: &'static str,
    fields: HashMap<String, FieldValue<'static>>,
}

impl Fake {
    fn new(name: &'static str) -> Fake {
        Fake {
            name,
            ..Fake::default()
        }
    }

    fn s(mut self, f: &str, v: &str) -> Fake {
        self.fields
            .insert(f.to_string(), FieldValue::owned(v.as_bytes().to_vec()));
        self
    }

    fn v(mut self, f: &str, v: FieldValue<'static>) -> Fake {
        self.fields.insert(f.to_string(), v);
        self
    }
}

impl FieldSource for Fake {
    fn event_type(&self) -> u16 {
        u16::MAX
    }
    fn event_name(&self) -> &str {
        self.name
    }
    fn field(&self, f: &FieldRef) -> Option<FieldValue<'_>> {
        if f.field == Field::EvtType {
            return Some(FieldValue::str(self.name));
        }
        self.fields.get(&f.to_string()).cloned()
    }
}

fn rule(cond: &str) -> String {
    format!(
        "- rule: R\n  desc: d\n  condition: {cond}\n  output: o %proc.name\n  priority: warning\n"
    )
}

fn engine(text: &str) -> Engine {
    Engine::load_texts(&[("t.yaml", text)], EngineOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn fires(e: &Engine, ev: &Fake) -> Vec<String> {
    let mut out = Vec::new();
    e.matches(ev, |r| out.push(r.name.clone()));
    out
}

#[test]
fn operators_behave_as_falco_documents() {
    let ev = Fake::new("openat")
        .s("proc.name", "Bash")
        .s("fd.name", "/etc/shadow")
        .s("proc.cmdline", "bash -c 'cat x'")
        .v("proc.pid", FieldValue::Int(100))
        .v("fd.sip", FieldValue::Ip("10.1.2.3".parse().unwrap()))
        .v("evt.arg.flags", FieldValue::Uint(577))
        .v(
            "evt.buffer",
            FieldValue::owned(vec![0xca, 0xfe, 0xba, 0xbe, 1]),
        )
        .v(
            "k8s.pod.labels",
            FieldValue::List(vec![FieldValue::str("app:web"), FieldValue::str("tier:fe")]),
        );
    let cases: &[(&str, bool)] = &[
        ("proc.name = Bash", true),
        ("proc.name == bash", false),
        ("proc.name != bash", true),
        ("proc.name icontains ash", true),
        ("proc.name contains ash", true),
        ("proc.name contains ASH", false),
        ("fd.name startswith /etc/", true),
        ("fd.name endswith shadow", true),
        ("fd.name in (/etc/passwd, /etc/shadow)", true),
        ("fd.name pmatch (/etc)", true),
        ("fd.name pmatch (/et)", false),
        ("fd.name glob '/etc/sh*'", true),
        ("fd.name glob '/etc/p*'", false),
        ("fd.name iglob '/ETC/SH*'", true),
        ("fd.name regex '^/etc/(shadow|gshadow)$'", true),
        // Falco matches regex with RE2's FullMatch: the whole value, so a
        // pattern for part of it does not match.
        ("fd.name regex 'shad'", false),
        ("fd.name regex '.*shad.*'", true),
        ("fd.name regex '/etc/shadow|/x'", true),
        ("proc.cmdline contains \"-c 'cat\"", true),
        ("proc.pid = 100", true),
        ("proc.pid > 99 and proc.pid <= 100", true),
        ("proc.pid < 100", false),
        ("proc.pid >= 101", false),
        ("proc.pid in (1, 100)", true),
        ("proc.pid = 0x64", true),
        ("fd.sip = 10.1.2.3", true),
        ("fd.sip in (10.0.0.0/8)", true),
        ("fd.sip in (192.168.0.0/16)", false),
        ("evt.arg.flags = 577", true),
        ("evt.arg.flags > 500", true),
        ("evt.buffer bcontains FEBA", true),
        ("evt.buffer bstartswith CAFE", true),
        ("evt.buffer bstartswith FE", false),
        ("k8s.pod.labels intersects (app:web, x)", true),
        ("k8s.pod.labels in (app:web, x)", false),
        ("k8s.pod.labels in (app:web, tier:fe, x)", true),
        ("fd.name exists", true),
        ("container.id exists", false),
        // Missing values make every comparison false, `not` makes it true.
        ("container.id = host", false),
        ("container.id != host", false),
        ("not container.id = host", true),
        ("not proc.name = Bash or fd.name = /x", false),
        (
            "(proc.name = x or proc.name = Bash) and not fd.name = /x",
            true,
        ),
        ("evt.type = openat", true),
        ("evt.type in (open, openat)", true),
        ("evt.type != openat", false),
        ("evt.type startswith open", true),
    ];
    for (cond, want) in cases {
        let e = engine(&rule(cond));
        assert_eq!(!fires(&e, &ev).is_empty(), *want, "{cond}");
    }
}

#[test]
fn only_rules_for_the_event_type_are_tried() {
    let text = format!(
        "{}{}",
        rule("evt.type = execve and proc.name = sh"),
        "- rule: Any\n  desc: d\n  condition: proc.name = sh\n  output: o\n  priority: debug\n  warn_evttypes: false\n"
    );
    let mut e = Engine::load_texts(
        &[("t", &text)],
        EngineOptions {
            matching: Matching::All,
            ..Default::default()
        },
    )
    .unwrap();
    let exec = Fake::new("execve").s("proc.name", "sh");
    let open = Fake::new("openat").s("proc.name", "sh");
    assert_eq!(fires(&e, &exec), ["R", "Any"]);
    assert_eq!(fires(&e, &open), ["Any"]);
    assert!(e.warnings().is_empty(), "{:?}", e.warnings());
    // The dense index gives the same answers.
    e.bind_event_types([(u16::MAX, "execve")]);
    assert_eq!(fires(&e, &exec), ["R", "Any"]);
    assert_eq!(e.needed_events(), None);
}

#[test]
fn first_match_and_priority_threshold() {
    let text = "\
- rule: A
  desc: d
  condition: evt.type = execve
  output: a
  priority: notice
- rule: B
  desc: d
  condition: evt.type = execve
  output: b
  priority: critical
";
    let ev = Fake::new("execve");
    let e = engine(text);
    assert_eq!(fires(&e, &ev), ["A"]);
    let e = Engine::load_texts(
        &[("t", text)],
        EngineOptions {
            min_priority: Priority::Warning,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(fires(&e, &ev), ["B"]);
    let mask: Vec<u32> = e.needed_syscalls().iter().collect();
    assert_eq!(mask, vec![kestrel_abi::syscall_number("execve").unwrap()]);
    assert!(Priority::Critical < Priority::Warning);
    assert_eq!(Priority::parse("INFO"), Some(Priority::Informational));
}

#[test]
fn exceptions_suppress_matches() {
    let text = "\
- list: allowed_readers
  items: [sshd, login]
- rule: Read shadow
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: o
  priority: warning
  exceptions:
    - name: readers
      fields: proc.name
      values: [allowed_readers]
    - name: pairs
      fields: [proc.name, proc.pname]
      comps: [=, in]
      values:
        - [cat, [sudo, su]]
    - name: prefix
      fields: [proc.exepath]
      comps: [startswith]
      values:
        - [/opt/backup/]
";
    let e = engine(text);
    let base = || Fake::new("openat").s("fd.name", "/etc/shadow");
    assert_eq!(fires(&e, &base().s("proc.name", "cat")), ["Read shadow"]);
    assert!(fires(&e, &base().s("proc.name", "sshd")).is_empty());
    assert!(fires(&e, &base().s("proc.name", "cat").s("proc.pname", "su")).is_empty());
    assert_eq!(
        fires(&e, &base().s("proc.name", "cat").s("proc.pname", "bash")),
        ["Read shadow"]
    );
    assert!(fires(
        &e,
        &base()
            .s("proc.name", "x")
            .s("proc.exepath", "/opt/backup/x")
    )
    .is_empty());
    assert!(e.warnings().is_empty(), "{:?}", e.warnings());
}

#[test]
fn warnings_are_counted() {
    let text = "\
- list: unused_list
  items: [a]
- macro: unused_macro
  condition: proc.name = x
- rule: Everything
  desc: d
  condition: proc.name = x
  output: o
  priority: info
- rule: Typo
  desc: d
  condition: evt.type = opne
  output: o
  priority: info
";
    let e = engine(text);
    let w: Vec<&str> = e.warnings().iter().map(|w| w.message.as_str()).collect();
    assert_eq!(w.len(), 4, "{w:?}");
    assert!(w.iter().any(|m| m.contains("does not restrict evt.type")));
    assert!(w.iter().any(|m| m.contains("no event called 'opne'")));
    assert!(w.iter().any(|m| m.contains("macro 'unused_macro'")));
    assert!(w.iter().any(|m| m.contains("list 'unused_list'")));
}

#[test]
fn lists_name_lists_and_later_files_amend() {
    let a = "\
- list: shells
  items: [bash, sh]
- list: interpreters
  items: [shells, python]
- rule: Interp
  desc: d
  condition: evt.type = execve and proc.name in (interpreters)
  output: o
  priority: info
";
    let b = "\
- list: shells
  items: [zsh]
  append: true
- rule: Interp
  condition: and not proc.pname = cron
  append: true
";
    let e = Engine::load_texts(&[("a", a), ("b", b)], EngineOptions::default()).unwrap();
    assert!(!fires(&e, &Fake::new("execve").s("proc.name", "zsh")).is_empty());
    assert!(!fires(&e, &Fake::new("execve").s("proc.name", "python")).is_empty());
    assert!(fires(
        &e,
        &Fake::new("execve")
            .s("proc.name", "zsh")
            .s("proc.pname", "cron")
    )
    .is_empty());
    let off = "- rule: Interp\n  enabled: false\n";
    let e = Engine::load_texts(&[("a", a), ("off", off)], EngineOptions::default()).unwrap();
    assert!(fires(&e, &Fake::new("execve").s("proc.name", "sh")).is_empty());
    assert!(!e.rules()[0].active);
}

#[test]
fn errors_name_file_line_and_column() {
    let bad = "\
- macro: m
  condition: proc.name = x
- rule: R
  desc: d
  condition: >
    evt.type = execve and
    m and proc.nmae = y
  output: o
  priority: info
";
    let err = Engine::load_texts(&[("bad.yaml", bad)], EngineOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "bad.yaml:7:11: unknown field 'proc.nmae'");
    let bad_output = "- rule: R\n  desc: d\n  condition: evt.type = execve\n  output: hi %proc.nope\n  priority: info\n";
    let err = Engine::load_texts(&[("o.yaml", bad_output)], EngineOptions::default()).unwrap_err();
    assert_eq!(err.errors[0].pos.line, 4);
    assert_eq!(err.errors[0].pos.col, 14, "{err}");
    assert!(err.to_string().contains("unknown field 'proc.nope'"));
    let skip = "- rule: R\n  desc: d\n  condition: evt.type = execve and proc.future = 1\n  output: o\n  priority: info\n  skip-if-unknown-filter: true\n";
    let e = Engine::load_texts(&[("s", skip)], EngineOptions::default()).unwrap();
    assert!(e.rules().is_empty());
}

/// A deterministic generator for the fuzz loops below.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn garbage_never_panics() {
    let seeds: &[&[u8]] = &[
        b"",
        b"\0\xff\xfe",
        b"- rule: [",
        b"- - - -",
        b"!!binary AAAA",
        b"- rule: x\n  desc: d\n  condition: ((((\n  output: o\n  priority: info\n",
        b"- list: l\n  items: {a: b}\n",
        b"- macro: m\n  condition: m\n- rule: r\n  desc: d\n  condition: m\n  output: '%'\n  priority: info\n",
        b"&a [*a]",
        b"- rule: r\n  desc: d\n  condition: proc.name = '\\\n  output: o\n  priority: 1\n",
        // An alias bomb: expansion must be bounded.
        b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
        b"- rule: r\n  desc: d\n  condition: evt.type = open and proc.future = 1 and proc.other = 2\n  output: o\n  priority: info\n  skip-if-unknown-filter: true\n",
    ];
    for s in seeds {
        let text = String::from_utf8_lossy(s);
        let _ = Engine::load_texts(&[("g", &text)], EngineOptions::default());
    }
}

#[test]
fn random_conditions_never_panic() {
    let alphabet: &[&str] = &[
        " ",
        "(",
        ")",
        ",",
        "'",
        "\"",
        "\\",
        "=",
        "!=",
        "<",
        ">=",
        "and",
        "or",
        "not",
        "in",
        "pmatch",
        "glob",
        "regex",
        "exists",
        "contains",
        "proc.name",
        "proc.aname[",
        "]",
        "evt.arg.",
        "fd.name",
        "/etc",
        "x",
        "0x1",
        "-",
        "[",
        "evt.type",
        "m",
        "l",
        "é",
        "\n",
    ];
    let mut rng = Lcg(7);
    for _ in 0..3000 {
        let n = 1 + rng.next() % 12;
        let cond: String = (0..n)
            .map(|_| alphabet[(rng.next() as usize) % alphabet.len()])
            .collect::<Vec<_>>()
            .join(if rng.next() % 2 == 0 { " " } else { "" });
        let _ = condition::parse(&cond);
        let yaml = format!(
            "- list: l\n  items: [a]\n- macro: m\n  condition: proc.name in (l)\n- rule: R\n  desc: d\n  condition: {}\n  output: o\n  priority: info\n",
            serde_json::to_string(&cond).unwrap()
        );
        if let Ok(e) = Engine::load_texts(&[("c", &yaml)], EngineOptions::default()) {
            let ev = Fake::new("openat")
                .s("proc.name", "a")
                .s("fd.name", "/etc/x");
            e.matches(&ev, |r| {
                let _ = r.alert(&ev, 0, "h");
            });
        }
    }
}

#[test]
fn mutated_rules_never_panic() {
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rules/kestrel_rules.yaml"
    ))
    .unwrap_or_else(|_| {
        rule("evt.type = execve and proc.name in (a, b) and fd.name pmatch (/etc)")
    });
    let alphabet = b" -:()[]'\"%,=<>!\n\tandornotin#&*|>{}\\";
    let mut rng = Lcg(0x5eed);
    let bytes = base.as_bytes();
    for _ in 0..300 {
        let mut m = bytes.to_vec();
        for _ in 0..1 + rng.next() % 4 {
            if m.is_empty() {
                break;
            }
            let at = (rng.next() as usize) % m.len();
            match rng.next() % 3 {
                0 => m[at] = alphabet[(rng.next() as usize) % alphabet.len()],
                1 => {
                    m.remove(at);
                }
                _ => m.insert(at, alphabet[(rng.next() as usize) % alphabet.len()]),
            }
        }
        let text = String::from_utf8_lossy(&m);
        if let Ok(e) = Engine::load_texts(&[("m", &text)], EngineOptions::default()) {
            // Whatever loads must also evaluate without panicking.
            let ev = Fake::new("openat")
                .s("proc.name", "x")
                .s("fd.name", "/etc/x");
            e.matches(&ev, |r| {
                let _ = r.alert(&ev, 0, "h");
            });
        }
    }
}

#[test]
fn default_ruleset_loads_without_warnings() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/kestrel_rules.yaml");
    let e = Engine::load_files(&[path], EngineOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(e.warnings().is_empty(), "{:?}", e.warnings());
    assert!(e.rules().len() >= 15);
    assert!(e.rules().iter().all(|r| r.event_types.is_some()));
    let needed = e.needed_events().unwrap();
    for name in [
        "openat",
        "execve",
        "connect",
        "listen",
        "ptrace",
        "finit_module",
        "setns",
    ] {
        assert!(needed.contains(name), "{name} not in {needed:?}");
    }
}

/// A [`Fake`] that counts its field lookups.
struct Counting {
    inner: Fake,
    lookups: std::cell::RefCell<HashMap<String, usize>>,
}

impl FieldSource for Counting {
    fn event_type(&self) -> u16 {
        self.inner.event_type()
    }
    fn event_name(&self) -> &str {
        self.inner.event_name()
    }
    fn field(&self, f: &FieldRef) -> Option<FieldValue<'_>> {
        *self.lookups.borrow_mut().entry(f.to_string()).or_default() += 1;
        self.inner.field(f)
    }
}

#[test]
fn a_check_shared_by_rules_is_made_once_per_event() {
    let mut text =
        String::from("- macro: shared\n  condition: proc.name = cat and fd.name startswith /etc\n");
    for (name, extra) in [
        ("A", "user.name = root"),
        ("B", "user.name != root"),
        ("C", "fd.num = 3"),
    ] {
        text.push_str(&format!(
            "- rule: {name}\n  desc: d\n  condition: evt.type = openat and shared and {extra}\n  output: o\n  priority: warning\n"
        ));
    }
    let e = Engine::load_texts(
        &[("t.yaml", text.as_str())],
        EngineOptions {
            matching: Matching::All,
            ..Default::default()
        },
    )
    .unwrap();
    let count = |ev: &Counting, f: &str| ev.lookups.borrow().get(f).copied().unwrap_or(0);
    let hit = Counting {
        inner: Fake::new("openat")
            .s("proc.name", "cat")
            .s("fd.name", "/etc/shadow")
            .s("user.name", "root")
            .v("fd.num", FieldValue::Int(3)),
        lookups: Default::default(),
    };
    let mut fired = Vec::new();
    e.matches(&hit, |r| fired.push(r.name.clone()));
    assert_eq!(fired, ["A", "C"]);
    assert_eq!(count(&hit, "proc.name"), 1);
    assert_eq!(count(&hit, "fd.name"), 1);
    // Each rule alone (a fresh memo each time) agrees.
    for r in e.rules() {
        assert_eq!(
            r.condition.eval(&hit),
            fired.contains(&r.name),
            "{}",
            r.name
        );
    }
    // The memo lives for one event: the next call looks again, once.
    hit.lookups.borrow_mut().clear();
    e.matches(&hit, |_| {});
    assert_eq!(count(&hit, "proc.name"), 1);

    // A shared check that fails is remembered as failed.
    let miss = Counting {
        inner: Fake::new("openat")
            .s("proc.name", "vi")
            .s("fd.name", "/etc/shadow")
            .s("user.name", "root")
            .v("fd.num", FieldValue::Int(3)),
        lookups: Default::default(),
    };
    assert_eq!(e.matches(&miss, |_| {}), 0);
    assert_eq!(count(&miss, "proc.name"), 1);
    assert_eq!(count(&miss, "fd.name"), 1);
}

#[test]
fn list_items_written_with_quotes_match_their_text_as_in_falco() {
    // Falco expands list items into the condition before parsing it, so
    // the item '"75-system-updat"' is the quoted string 75-system-updat,
    // and '"10.0.0.0/8"' is a network.
    let text = "\
- list: cron_names
  items: ['\"75-system-updat\"', plain]
- list: private
  items: ['\"10.0.0.0/8\"', '\"192.168.0.0/16\"']
- rule: R
  desc: d
  condition: proc.name in (cron_names) and fd.snet in (private)
  output: o
  priority: warning
";
    let e = engine(text);
    let hit = Fake::new("connect")
        .s("proc.name", "75-system-updat")
        .v("fd.snet", FieldValue::Ip("10.1.2.3".parse().unwrap()));
    assert_eq!(fires(&e, &hit), ["R"]);
    let quoted_name = Fake::new("connect")
        .s("proc.name", "\"75-system-updat\"")
        .v("fd.snet", FieldValue::Ip("10.1.2.3".parse().unwrap()));
    assert!(fires(&e, &quoted_name).is_empty());
    let public = Fake::new("connect")
        .s("proc.name", "plain")
        .v("fd.snet", FieldValue::Ip("8.8.8.8".parse().unwrap()));
    assert!(fires(&e, &public).is_empty());
}

#[test]
fn domain_name_fields_compare_resolved_addresses_as_in_falco() {
    // Falco resolves the names a condition gives and compares addresses;
    // only =, != and in apply.
    let e = engine(&rule("fd.sip.name in (c2.example.invalid, other.invalid)"));
    let ev = |names: Vec<&str>| {
        Fake::new("connect").v(
            "fd.sip.name",
            FieldValue::List(names.into_iter().map(FieldValue::owned).collect()),
        )
    };
    assert_eq!(fires(&e, &ev(vec!["c2.example.invalid"])), ["R"]);
    assert!(fires(&e, &ev(vec![])).is_empty());
    let err = Engine::load_texts(
        &[("t.yaml", &rule("fd.sip.name startswith c2"))],
        EngineOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("only =, != and in"), "{err}");
}

#[test]
fn evt_hostname_is_this_machines_name_as_in_falco() {
    let want = format::hostname();
    assert!(!want.is_empty());
    let b = crate::record::RecordBuilder::new(
        kestrel_abi::EventType::KESTREL_EVT_CLOSE as u16,
        1,
        2,
        2,
    )
    .i64(0)
    .i64(3)
    .build();
    let rec = crate::record::Record::parse(&b).unwrap();
    let ev = crate::decode::decode(&rec).unwrap();
    let src = event::EventFields::new(&ev);
    let v = src.field(&FieldRef::plain(Field::EvtHostname)).unwrap();
    assert_eq!(v.render(), want);
}

#[test]
fn error_positions_are_right_in_flow_mappings_and_anchors() {
    let err = |text: &str| -> String {
        Engine::load_texts(&[("f.yaml", text)], EngineOptions::default())
            .unwrap_err()
            .to_string()
    };
    // A flow mapping item, on one line.
    let e = err("- {rule: R, desc: d, condition: 'evt.type = open and proc.nme = x', output: o, priority: info}\n");
    assert!(
        e.starts_with("f.yaml:1:54: unknown field 'proc.nme'"),
        "{e}"
    );
    // A flow mapping over several lines.
    let e = err("- {rule: R, desc: d,\n   condition: \"evt.type = open\n     and proc.nme = x\",\n   output: o, priority: info}\n");
    assert!(
        e.starts_with("f.yaml:3:10: unknown field 'proc.nme'"),
        "{e}"
    );
    // An anchored block item: the error is where the condition is written.
    let e = err("- &r\n  rule: R\n  desc: d\n  condition: evt.type = open and proc.nme = x\n  output: o\n  priority: info\n");
    assert!(
        e.starts_with("f.yaml:4:34: unknown field 'proc.nme'"),
        "{e}"
    );
    // A condition that is an alias: the error points at the alias.
    let e = err("- macro: m\n  condition: &c evt.type = open\n- rule: R\n  desc: d\n  condition: *c and proc.nme = x\n  output: o\n  priority: info\n");
    assert!(
        e.contains("unknown field 'proc.nme'") || e.contains("f.yaml:5:"),
        "{e}"
    );
}

#[test]
fn transformers_and_field_operands_work_as_in_falco() {
    let ev = Fake::new("execve")
        .s("proc.name", "BASH")
        .s("proc.pname", "bash")
        .s("proc.exepath", "/usr/bin/Bash")
        .s("proc.cmdline", "aGVsbG8=")
        .s("proc.args", "-c id");
    let cases: &[(&str, bool)] = &[
        ("tolower(proc.name) = bash", true),
        ("toupper(proc.pname) = BASH", true),
        ("proc.name = bash", false),
        ("basename(proc.exepath) = Bash", true),
        ("tolower(basename(proc.exepath)) = bash", true),
        ("b64(proc.cmdline) = hello", true),
        ("len(proc.args) = 5", true),
        ("len(proc.args) > 5", false),
        ("tolower(proc.name) = val(proc.pname)", true),
        ("proc.name = val(proc.pname)", false),
        ("proc.name = toupper(val(proc.pname))", true),
        ("proc.exepath endswith val(proc.name)", false),
        ("tolower(proc.exepath) endswith val(proc.pname)", true),
        ("proc.name != val(proc.pname)", true),
        ("proc.name = val(proc.nothing_here)", false),
    ];
    for (cond, want) in cases {
        let cond = cond.replace("proc.nothing_here", "proc.cwd");
        let e = engine(&rule(&cond));
        assert_eq!(!fires(&e, &ev).is_empty(), *want, "{cond}");
    }
    let refused = |cond: &str| {
        Engine::load_texts(&[("t.yaml", &rule(cond))], EngineOptions::default())
            .unwrap_err()
            .to_string()
    };
    assert!(refused("tolower(proc.pid) = 1").contains("applies to text"));
    assert!(refused("proc.name in val(proc.pname)").contains("expected"));
    assert!(refused("proc.pid = val(proc.name)").contains("cannot compare"));
    assert!(refused("tolower(proc.name = x").contains("expected ')'"));
}
