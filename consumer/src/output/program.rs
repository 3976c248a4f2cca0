//! `program_output`: alerts piped, one per line, to a command's standard
//! input (`sh -c COMMAND`; its stdout and stderr are Kestrel's).
//!
//! As Falco means `keep_alive`: with `keep_alive: false` (Falco's default)
//! the program is started for every alert, gets that one line and its
//! standard input closed, and is waited for; a non-zero exit counts the
//! alert as failed.  With `keep_alive: true` one program runs and gets every
//! alert.  If it dies it is started again: at once the first time, then
//! after a back-off that doubles from [`RESTART_BACKOFF_MIN`] up to
//! [`RESTART_BACKOFF_MAX`], and is forgotten once a program has run for
//! [`HEALTHY_RUN`].  An alert whose write fails (the program closed its
//! input or died) is failed, not retried: it may have been half read.
//! [`Sink::reopen`] (SIGUSR1, reload) restarts the program, as Falco does.

use std::io::{self, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::alert::{render_into, AlertFormat};
use super::Sink;
use crate::rules::format::Alert;

/// Back-off before the second restart in a row.
pub const RESTART_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest back-off between restarts.
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// A program that ran this long before dying restarts at once.
pub const HEALTHY_RUN: Duration = Duration::from_secs(10);
/// How long a program gets to exit after its input is closed (shutdown,
/// reopen) before it is killed.
pub const EXIT_GRACE: Duration = Duration::from_secs(2);

/// The running program, with `keep_alive`.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    started: Instant,
}

/// Alerts piped to a program.
pub struct ProgramSink {
    command: String,
    keep_alive: bool,
    fmt: AlertFormat,
    running: Option<Running>,
    /// Deaths in a row of short-lived programs.
    deaths: u32,
    /// No restart before this instant.
    next_start: Option<Instant>,
    line: Vec<u8>,
}

fn spawn(command: &str) -> io::Result<Child> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start program {command:?}: {e}")))
}

/// Back-off before starting a program again after `deaths` deaths in a
/// row: none after the first, then 100 ms doubling up to the maximum.
pub fn restart_backoff(deaths: u32) -> Duration {
    if deaths <= 1 {
        Duration::ZERO
    } else {
        RESTART_BACKOFF_MIN
            .saturating_mul(1 << (deaths - 2).min(16))
            .min(RESTART_BACKOFF_MAX)
    }
}

/// Waits up to `grace` for `child` to exit, then kills it.
fn reap(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                return child.wait().ok();
            }
        }
    }
}

impl ProgramSink {
    /// Pipes alerts to `sh -c command`.  With `keep_alive` the program is
    /// started now, so a command that cannot start fails at start-up.
    pub fn new(command: &str, keep_alive: bool, fmt: AlertFormat) -> io::Result<ProgramSink> {
        let mut s = ProgramSink {
            command: command.to_string(),
            keep_alive,
            fmt,
            running: None,
            deaths: 0,
            next_start: None,
            line: Vec::with_capacity(1024),
        };
        if keep_alive {
            s.start()?;
        }
        Ok(s)
    }

    fn start(&mut self) -> io::Result<()> {
        let mut child = spawn(&self.command)?;
        let stdin = child.stdin.take();
        self.running = Some(Running {
            child,
            stdin,
            started: Instant::now(),
        });
        Ok(())
    }

    /// Notes the death of the running program and sets the back-off.
    fn died(&mut self, why: &str) {
        let Some(mut r) = self.running.take() else {
            return;
        };
        drop(r.stdin.take());
        let status = reap(&mut r.child, Duration::ZERO);
        if r.started.elapsed() >= HEALTHY_RUN {
            self.deaths = 0;
        }
        self.deaths += 1;
        let backoff = restart_backoff(self.deaths);
        self.next_start = Some(Instant::now() + backoff);
        log::warn!(
            "output program: {:?} {why} ({}); restarting in {backoff:?}",
            self.command,
            status.map_or("status unknown".to_string(), |s| s.to_string()),
        );
    }

    /// The running program's input, (re)starting it if needed.
    fn input(&mut self) -> io::Result<&mut ChildStdin> {
        if let Some(r) = self.running.as_mut() {
            if let Ok(Some(_)) = r.child.try_wait() {
                self.died("exited");
            }
        }
        if self.running.is_none() {
            if let Some(at) = self.next_start.take() {
                // The back-off blocks this sink's thread only; its queue
                // takes (or drops) the alerts meanwhile.
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
            }
            if let Err(e) = self.start() {
                self.deaths += 1;
                self.next_start = Some(Instant::now() + restart_backoff(self.deaths));
                return Err(e);
            }
        }
        self.running
            .as_mut()
            .and_then(|r| r.stdin.as_mut())
            .ok_or_else(|| io::Error::other("program has no input"))
    }

    fn deliver_once(&mut self) -> io::Result<()> {
        let mut child = spawn(&self.command)?;
        let written = child
            .stdin
            .take()
            .map_or(Ok(()), |mut stdin| stdin.write_all(&self.line));
        // stdin is closed here: the program sees end of input.
        let status = child.wait()?;
        written.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot write to program {:?}: {e}", self.command),
            )
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "program {:?} failed: {status}",
                self.command
            )))
        }
    }

    /// Closes the program's input and waits (up to [`EXIT_GRACE`]) for it.
    fn stop(&mut self) {
        if let Some(mut r) = self.running.take() {
            drop(r.stdin.take());
            reap(&mut r.child, EXIT_GRACE);
        }
    }
}

impl Sink for ProgramSink {
    fn name(&self) -> &str {
        "program"
    }

    fn deliver(&mut self, alert: &Alert) -> io::Result<()> {
        self.line.clear();
        render_into(&mut self.line, alert, &self.fmt);
        self.line.push(b'\n');
        if !self.keep_alive {
            return self.deliver_once();
        }
        let line = std::mem::take(&mut self.line);
        let result = self.input().and_then(|stdin| stdin.write_all(&line));
        self.line = line;
        if let Err(e) = result {
            if self.running.is_some() {
                self.died("stopped reading its input");
            }
            return Err(io::Error::new(
                e.kind(),
                format!("cannot write to program {:?}: {e}", self.command),
            ));
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Writes go straight to the pipe: nothing is buffered here.
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<()> {
        if !self.keep_alive {
            return Ok(());
        }
        self.stop();
        self.next_start = None;
        self.start()
    }
}

impl Drop for ProgramSink {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::super::alert::tests::sample_alert;
    use super::*;
    use std::path::{Path, PathBuf};

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "kestrel-program-unit-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn wait_for_lines(p: &Path, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.len() >= n {
                return lines;
            }
            assert!(Instant::now() < deadline, "timed out: {lines:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(restart_backoff(1), Duration::ZERO);
        assert_eq!(restart_backoff(2), Duration::from_millis(100));
        assert_eq!(restart_backoff(3), Duration::from_millis(200));
        assert_eq!(restart_backoff(8), Duration::from_millis(6400));
        assert_eq!(restart_backoff(9), RESTART_BACKOFF_MAX);
        assert_eq!(restart_backoff(1000), RESTART_BACKOFF_MAX);
    }

    #[test]
    fn one_program_per_alert_without_keep_alive() {
        let d = tmp("once");
        let out = d.join("out");
        let cmd = format!(
            "cat >> {}; echo run >> {}",
            out.display(),
            d.join("runs").display()
        );
        let mut s = ProgramSink::new(&cmd, false, AlertFormat::default()).unwrap();
        s.deliver(&sample_alert(1)).unwrap();
        s.deliver(&sample_alert(2)).unwrap();
        // Each program was waited for: its output is complete now.
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            format!(
                "{}\n{}\n",
                sample_alert(1).text_line(),
                sample_alert(2).text_line()
            )
        );
        assert_eq!(
            std::fs::read_to_string(d.join("runs")).unwrap(),
            "run\nrun\n"
        );
        let mut bad =
            ProgramSink::new("cat >/dev/null; exit 3", false, AlertFormat::default()).unwrap();
        let e = bad.deliver(&sample_alert(1)).unwrap_err();
        assert!(e.to_string().contains("exit status: 3"), "{e}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn keep_alive_feeds_one_program_and_shutdown_lets_it_finish() {
        let d = tmp("keep");
        let out = d.join("out");
        let cmd = format!(
            "echo $$ >> {}; cat >> {}",
            d.join("pids").display(),
            out.display()
        );
        let mut s = ProgramSink::new(&cmd, true, AlertFormat::default()).unwrap();
        for i in 0..5 {
            s.deliver(&sample_alert(i)).unwrap();
        }
        drop(s); // closes its input: cat ends after writing everything
        let want: Vec<String> = (0..5).map(|i| sample_alert(i).text_line()).collect();
        assert_eq!(wait_for_lines(&out, 5), want);
        assert_eq!(
            std::fs::read_to_string(d.join("pids"))
                .unwrap()
                .lines()
                .count(),
            1
        );
        std::fs::remove_dir_all(d).unwrap();
    }
}
