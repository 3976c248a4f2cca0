//! Alert delivery end to end: real alerts (the default rules matched on
//! the replayable cases of `tests/rules/`) through [`Outputs`] to every
//! kind of sink, including receivers that misbehave.  Waits are bounded
//! polls, never sleeps standing in for assertions.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kestrel::decode::decode;
use kestrel::output::{
    AlertFormat, FileSink, HttpOptions, HttpSink, Outputs, ProgramSink, Sink, SinkStats,
    StdoutSink, SyslogSink,
};
use kestrel::record::Record;
use kestrel::rules::cases::parse_case_file;
use kestrel::rules::event::EventFields;
use kestrel::rules::{Alert, Engine, EngineOptions, Matching};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every alert the default rules raise on the firing cases, each with its
/// own time, on host `kestrel-test`.
fn real_alerts() -> Vec<Arc<Alert>> {
    let engine = Engine::load_files(
        &[root().join("rules/kestrel_rules.yaml")],
        EngineOptions {
            matching: Matching::All,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut alerts = Vec::new();
    for path in files {
        let cases = parse_case_file(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in &cases.fires {
            for bytes in &case.records {
                let rec = Record::parse(bytes).unwrap();
                let ev = decode(&rec).unwrap();
                let mut src = EventFields::new(&ev);
                src.state = Some(&case.context);
                engine.matches(&src, |r| {
                    let t = 1_764_000_000_000_000_000 + alerts.len() as i128 * 1_000_003;
                    alerts.push(Arc::new(r.alert(&src, t, "kestrel-test")));
                });
            }
        }
    }
    assert!(alerts.len() >= 10, "only {} alerts", alerts.len());
    alerts
}

/// `n` real alerts, cycling through the set.
fn alerts(n: usize) -> Vec<Arc<Alert>> {
    real_alerts().into_iter().cycle().take(n).collect()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kestrel-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn file_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn text(a: &Alert) -> String {
    a.text_line()
}

fn json() -> AlertFormat {
    AlertFormat {
        json: true,
        ..Default::default()
    }
}

fn stat<'a>(stats: &'a [SinkStats], name: &str) -> &'a SinkStats {
    stats.iter().find(|s| s.name == name).unwrap()
}

/// A writer the test reads back: the stdout sink's output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);
impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn stdout_sink(buf: &Captured) -> Box<dyn Sink> {
    Box::new(StdoutSink::with_writer(
        "stdout",
        Box::new(buf.clone()),
        AlertFormat::default(),
        false,
    ))
}

/// One request as the receiver saw it.
struct Received {
    method: String,
    content_type: String,
    user_agent: String,
    remote: String,
    body: String,
}

/// An HTTP receiver on 127.0.0.1 answering each request with the next
/// status of `statuses` (then 200).
fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/falco", server.server_addr().to_ip().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for mut req in server.incoming_requests() {
            let header = |name: &'static str| {
                req.headers()
                    .iter()
                    .find(|h| h.field.equiv(name))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default()
            };
            let (content_type, user_agent) = (header("Content-Type"), header("User-Agent"));
            let mut body = String::new();
            req.as_reader().read_to_string(&mut body).unwrap();
            seen.lock().unwrap().push(Received {
                method: req.method().to_string(),
                content_type,
                user_agent,
                remote: req.remote_addr().map(|a| a.to_string()).unwrap_or_default(),
                body,
            });
            let status = statuses.next().unwrap_or(200);
            let _ = req.respond(tiny_http::Response::from_string("ok").with_status_code(status));
        }
    });
    (url, got)
}

/// A receiver that accepts connections and never answers (nor reads).
fn silent_receiver() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    url
}

#[test]
fn http_receiver_gets_falcos_json_over_one_connection() {
    let (url, got) = receiver(vec![]);
    let sink = HttpSink::new(HttpOptions {
        url: url.clone(),
        user_agent: Some("falcosecurity/falco".into()),
        ..Default::default()
    })
    .unwrap();
    let outputs = Outputs::start(vec![Box::new(sink)], 64).unwrap();
    let sent = alerts(20);
    for a in &sent {
        outputs.send(a.clone());
    }
    let stats = outputs.shutdown(Duration::from_secs(20));
    assert_eq!(
        (stats[0].delivered, stats[0].dropped, stats[0].failed),
        (20, 0, 0)
    );
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 20);
    for (r, a) in got.iter().zip(&sent) {
        assert_eq!(r.method, "POST");
        assert_eq!(r.content_type, "application/json");
        assert_eq!(r.user_agent, "falcosecurity/falco");
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body, a.to_json());
        // The keys falcosidekick reads.
        for key in [
            "output",
            "priority",
            "rule",
            "time",
            "output_fields",
            "source",
            "tags",
            "hostname",
        ] {
            assert!(body.get(key).is_some(), "{key} missing in {body}");
        }
        assert_eq!(body["hostname"], "kestrel-test");
    }
    // Keep-alive: every request came over the same connection.
    assert!(
        got.iter().all(|r| r.remote == got[0].remote),
        "several connections"
    );
}

#[test]
fn http_retries_what_may_pass_and_fails_what_cannot() {
    let (url, got) = receiver(vec![503, 500, 200, 400]);
    let sink = HttpSink::new(HttpOptions {
        url,
        max_retries: 3,
        retry_backoff: Duration::from_millis(10),
        ..Default::default()
    })
    .unwrap();
    let outputs = Outputs::start(vec![Box::new(sink)], 8).unwrap();
    let a = alerts(2);
    outputs.send(a[0].clone());
    outputs.send(a[1].clone());
    let s = outputs.shutdown(Duration::from_secs(20)).remove(0);
    // The first alert passed at its third attempt; the second was refused
    // with 400 and not sent again.
    assert_eq!((s.delivered, s.failed), (1, 1));
    assert_eq!(got.lock().unwrap().len(), 4);
}

#[test]
fn a_receiver_that_never_answers_drops_and_counts_while_stdout_and_file_get_every_alert() {
    let dir = tmpdir("hung-http");
    let file = dir.join("events.txt");
    let out = Captured::default();
    let http = HttpSink::new(HttpOptions {
        url: silent_receiver(),
        timeout: Duration::from_secs(60),
        ..Default::default()
    })
    .unwrap();
    let outputs = Outputs::start(
        vec![
            Box::new(http),
            stdout_sink(&out),
            Box::new(FileSink::open(&file, true, AlertFormat::default(), false).unwrap()),
        ],
        4,
    )
    .unwrap();
    let sent = alerts(200);
    let sender = outputs.sender();
    for (i, a) in sent.iter().enumerate() {
        sender.send(a.clone());
        if i == 0 {
            wait_until("the first POST", Duration::from_secs(10), || {
                stat(&outputs.stats(), "http").queue_depth == 0
            });
        }
        if i % 4 == 3 {
            // Give the healthy sinks the time to keep up: they must never drop.
            wait_until("stdout and file", Duration::from_secs(10), || {
                out.lines().len() == i + 1 && file_lines(&file).len() == i + 1
            });
        }
    }
    let want: Vec<String> = sent.iter().map(|a| text(a)).collect();
    wait_until("stdout and file", Duration::from_secs(10), || {
        out.lines().len() == 200 && file_lines(&file).len() == 200
    });
    assert_eq!(out.lines(), want);
    assert_eq!(file_lines(&file), want);
    let stats = outputs.stats();
    let h = stat(&stats, "http");
    // One alert hangs inside the POST, four wait, the rest were dropped.
    assert_eq!(h.delivered + h.failed, 0);
    assert_eq!(h.queue_depth, 4);
    assert_eq!(h.dropped, 195);
    assert_eq!(stat(&stats, "stdout").dropped, 0);
    assert_eq!(stat(&stats, "file").dropped, 0);
    // Shutdown is bounded although the POST is not.
    let t = Instant::now();
    let stats = outputs.shutdown(Duration::from_millis(300));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(stat(&stats, "stdout").delivered, 200);
    assert_eq!(stat(&stats, "file").delivered, 200);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Pid of a process, once it has exited (gone or a zombie).
fn exited(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_program_that_exits_is_restarted_and_later_alerts_arrive() {
    let dir = tmpdir("program-exits");
    let (out, pids) = (dir.join("out"), dir.join("pids"));
    // Reads one alert, then exits.
    let cmd = format!(
        "echo $$ >> {}; exec head -n 1 >> {}",
        pids.display(),
        out.display()
    );
    let sink = ProgramSink::new(&cmd, true, json()).unwrap();
    let outputs = Outputs::start(vec![Box::new(sink)], 16).unwrap();
    let sent = alerts(3);
    for (i, a) in sent.iter().enumerate() {
        outputs.send(a.clone());
        wait_until("the alert", Duration::from_secs(10), || {
            file_lines(&out).len() == i + 1
        });
        let pid = file_lines(&pids)[i].clone();
        wait_until("the program's exit", Duration::from_secs(10), || {
            exited(&pid)
        });
    }
    let stats = outputs.shutdown(Duration::from_secs(10));
    assert_eq!((stats[0].delivered, stats[0].failed), (3, 0));
    let got: Vec<serde_json::Value> = file_lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want: Vec<serde_json::Value> = sent.iter().map(|a| a.to_json()).collect();
    assert_eq!(got, want);
    // Three programs: the first, and one restart per exit.
    assert_eq!(file_lines(&pids).len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_program_that_closes_its_input_fails_the_alert_and_is_replaced() {
    let dir = tmpdir("program-closes");
    let (out, flag) = (dir.join("out"), dir.join("flag"));
    // The first program closes its input and lingers; the next one reads.
    let cmd = format!(
        "if [ -e {flag} ]; then exec cat >> {out}; fi; exec 0<&-; touch {flag}; exec sleep 30",
        flag = flag.display(),
        out = out.display()
    );
    let sink = ProgramSink::new(&cmd, true, AlertFormat::default()).unwrap();
    wait_until("the first program", Duration::from_secs(10), || {
        flag.exists()
    });
    let outputs = Outputs::start(vec![Box::new(sink)], 16).unwrap();
    let sent = alerts(3);
    for a in &sent {
        outputs.send(a.clone());
    }
    wait_until("the later alerts", Duration::from_secs(10), || {
        file_lines(&out).len() == 2
    });
    let stats = outputs.shutdown(Duration::from_secs(10));
    assert_eq!((stats[0].delivered, stats[0].failed), (2, 1));
    assert_eq!(file_lines(&out), [text(&sent[1]), text(&sent[2])]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_program_that_stops_reading_fills_only_its_own_queue() {
    let dir = tmpdir("program-stuck");
    let (pidfile, file) = (dir.join("pid"), dir.join("events.txt"));
    let cmd = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let program = ProgramSink::new(&cmd, true, AlertFormat::default()).unwrap();
    let out = Captured::default();
    let outputs = Outputs::start(
        vec![
            Box::new(program),
            stdout_sink(&out),
            Box::new(FileSink::open(&file, false, AlertFormat::default(), false).unwrap()),
        ],
        8,
    )
    .unwrap();
    // Enough to fill the pipe (64 KiB) and the queue many times over.
    let sent = alerts(2000);
    for (i, a) in sent.iter().enumerate() {
        outputs.send(a.clone());
        if i % 8 == 7 {
            wait_until("stdout and file", Duration::from_secs(10), || {
                out.lines().len() == i + 1 && file_lines(&file).len() == i + 1
            });
        }
    }
    let stats = outputs.stats();
    let p = stat(&stats, "program");
    assert!(p.dropped > 0, "{p:?}");
    assert_eq!(
        p.delivered + p.failed + p.dropped + p.queue_depth as u64 + 1,
        2000,
        "{p:?}"
    );
    assert_eq!(stat(&stats, "stdout").dropped, 0);
    assert_eq!(stat(&stats, "file").dropped, 0);
    assert_eq!(file_lines(&file).len(), 2000);
    let t = Instant::now();
    let stats = outputs.shutdown(Duration::from_millis(300));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(stat(&stats, "stdout").delivered, 2000);
    // Unblock the left-behind thread: its program goes away.
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_program_per_alert_without_keep_alive() {
    let dir = tmpdir("program-once");
    let out = dir.join("out");
    let cmd = format!("cat >> {}", out.display());
    let sink = ProgramSink::new(&cmd, false, AlertFormat::default()).unwrap();
    let outputs = Outputs::start(vec![Box::new(sink)], 16).unwrap();
    let sent = alerts(5);
    for a in &sent {
        outputs.send(a.clone());
    }
    let s = outputs.shutdown(Duration::from_secs(20)).remove(0);
    assert_eq!(s.delivered, 5);
    assert_eq!(
        file_lines(&out),
        sent.iter().map(|a| text(a)).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_file_is_reopened_after_logrotate_moves_it() {
    let dir = tmpdir("logrotate");
    let (file, rotated) = (
        dir.join("kestrel_events.txt"),
        dir.join("kestrel_events.txt.1"),
    );
    let sink = FileSink::open(&file, true, json(), false).unwrap();
    let outputs = Outputs::start(vec![Box::new(sink)], 16).unwrap();
    let sent = alerts(4);
    outputs.send(sent[0].clone());
    outputs.send(sent[1].clone());
    wait_until("two alerts", Duration::from_secs(10), || {
        file_lines(&file).len() == 2
    });
    std::fs::rename(&file, &rotated).unwrap();
    // Written before the reopen: still to the moved file, as logrotate expects.
    outputs.send(sent[2].clone());
    wait_until("the third alert", Duration::from_secs(10), || {
        file_lines(&rotated).len() == 3
    });
    outputs.reopen(); // SIGUSR1
    wait_until("the new file", Duration::from_secs(10), || file.exists());
    outputs.send(sent[3].clone());
    let stats = outputs.shutdown(Duration::from_secs(10));
    assert_eq!(stats[0].delivered, 4);
    let parse = |p: &Path| -> Vec<serde_json::Value> {
        file_lines(p)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let want: Vec<serde_json::Value> = sent.iter().map(|a| a.to_json()).collect();
    assert_eq!(parse(&rotated), want[..3]);
    assert_eq!(parse(&file), want[3..]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn syslog_gets_rfc5424_messages_with_the_priority_mapped() {
    let dir = tmpdir("syslog");
    let path = dir.join("log");
    let server = UnixDatagram::bind(&path).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let sent = real_alerts();
    // Room for every alert: this test is about the messages, not drops.
    let outputs = Outputs::start(
        vec![Box::new(
            SyslogSink::new(&path, AlertFormat::default()).unwrap(),
        )],
        sent.len(),
    )
    .unwrap();
    for a in &sent {
        outputs.send(a.clone());
    }
    let pid = std::process::id().to_string();
    let mut buf = vec![0u8; 65536];
    let mut priorities = std::collections::BTreeSet::new();
    for a in &sent {
        let n = server.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..n]).unwrap();
        // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
        let mut parts = msg.splitn(8, ' ');
        let head = parts.next().unwrap();
        let pri: u8 = head
            .strip_prefix('<')
            .and_then(|h| h.strip_suffix(">1"))
            .unwrap_or_else(|| panic!("bad header {head:?}"))
            .parse()
            .unwrap();
        let severity = kestrel::rules::Priority::ALL
            .iter()
            .position(|p| *p == a.priority)
            .unwrap() as u8;
        assert_eq!(pri, 8 + severity, "{msg}"); // facility user
        priorities.insert(pri);
        let ts = parts.next().unwrap();
        assert_eq!(ts.len(), "2025-11-24T15:06:40.000000Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
        assert_eq!(parts.next(), Some("kestrel-test"));
        assert_eq!(parts.next(), Some("kestrel"));
        assert_eq!(parts.next(), Some(pid.as_str()));
        assert_eq!(parts.next(), Some("-"));
        assert_eq!(parts.next(), Some("-"));
        assert_eq!(parts.next(), Some(text(a).as_str()));
    }
    assert!(priorities.len() >= 2, "only {priorities:?}");
    let s = outputs.shutdown(Duration::from_secs(10)).remove(0);
    assert_eq!(s.delivered, sent.len() as u64);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn shutdown_flushes_buffered_sinks_within_its_timeout_despite_a_hung_one() {
    let dir = tmpdir("shutdown");
    let file = dir.join("events.txt");
    let http = HttpSink::new(HttpOptions {
        url: silent_receiver(),
        timeout: Duration::from_secs(60),
        ..Default::default()
    })
    .unwrap();
    let outputs = Outputs::start(
        vec![
            Box::new(http),
            Box::new(FileSink::open(&file, true, AlertFormat::default(), true).unwrap()),
        ],
        1024,
    )
    .unwrap();
    let sent = alerts(500);
    for a in &sent {
        outputs.send(a.clone());
    }
    let t = Instant::now();
    let stats = outputs.shutdown(Duration::from_millis(500));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(stat(&stats, "file").delivered, 500);
    assert_eq!(file_lines(&file).len(), 500);
    assert_eq!(stat(&stats, "http").delivered, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every fault at once: an HTTP receiver that never answers, a program
/// that stops reading, and a file output on a full disk (`/dev/full`:
/// every write fails with ENOSPC).  Each faulty sink drops or fails its
/// own alerts and counts every one; stdout, beside them, gets all 2000
/// in order; sending never waits for a sink; shutdown stays bounded.
#[test]
fn every_faulty_sink_counts_its_losses_while_stdout_gets_every_alert() {
    let dir = tmpdir("all-faults");
    let pidfile = dir.join("pid");
    let cmd = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let out = Captured::default();
    let http = HttpSink::new(HttpOptions {
        url: silent_receiver(),
        timeout: Duration::from_secs(60),
        ..Default::default()
    })
    .unwrap();
    let outputs = Outputs::start(
        vec![
            Box::new(http),
            Box::new(ProgramSink::new(&cmd, true, AlertFormat::default()).unwrap()),
            Box::new(
                FileSink::open(Path::new("/dev/full"), false, AlertFormat::default(), false)
                    .unwrap(),
            ),
            stdout_sink(&out),
        ],
        8,
    )
    .unwrap();
    let sent = alerts(2000);
    for (i, a) in sent.iter().enumerate() {
        outputs.send(a.clone());
        if i % 8 == 7 {
            wait_until("stdout", Duration::from_secs(10), || {
                out.lines().len() == i + 1
            });
        }
    }
    let want: Vec<String> = sent.iter().map(|a| text(a)).collect();
    wait_until("stdout", Duration::from_secs(10), || {
        out.lines().len() == 2000
    });
    assert_eq!(out.lines(), want);
    // The file sink fails every alert it takes (ENOSPC) and drops what
    // its queue cannot hold: all 2000 are accounted for once it is idle.
    wait_until("the file sink to finish", Duration::from_secs(20), || {
        let f = stat(&outputs.stats(), "file").clone();
        f.queue_depth == 0 && f.failed + f.dropped == 2000
    });
    let stats = outputs.stats();
    let f = stat(&stats, "file");
    assert_eq!(f.delivered, 0, "{f:?}");
    assert!(f.failed > 0, "{f:?}");
    // The hung POST holds one alert, its queue eight, the rest dropped.
    let h = stat(&stats, "http");
    assert_eq!(h.delivered + h.failed, 0, "{h:?}");
    assert_eq!(h.dropped + h.queue_depth as u64 + 1, 2000, "{h:?}");
    // The stuck program took what its pipe held, then its queue filled.
    let p = stat(&stats, "program");
    assert!(p.dropped > 0, "{p:?}");
    assert_eq!(
        p.delivered + p.failed + p.dropped + p.queue_depth as u64 + 1,
        2000,
        "{p:?}"
    );
    assert_eq!(stat(&stats, "stdout").dropped, 0);
    let t = Instant::now();
    let stats = outputs.shutdown(Duration::from_millis(300));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(stat(&stats, "stdout").delivered, 2000);
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    std::fs::remove_dir_all(dir).unwrap();
}
