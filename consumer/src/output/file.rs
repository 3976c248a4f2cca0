//! `file_output`: alerts appended to a file, one per line.
//!
//! As Falco means `keep_alive`: with `keep_alive: false` (Falco's default)
//! the file is opened for appending, the alert written and the file closed,
//! for every alert; with `keep_alive: true` it is opened once and kept open.
//! Kestrel does not rotate the file: [`Sink::reopen`] (SIGUSR1, reload)
//! closes it and opens the path again, so logrotate can move it away.
//! A file Kestrel creates gets mode 0640.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::alert::{render_into, AlertFormat};
use super::Sink;
use crate::rules::format::Alert;

/// Mode of a file the sink creates: owner rw, group r.
pub const FILE_MODE: u32 = 0o640;

/// Alerts appended to a file.
pub struct FileSink {
    path: PathBuf,
    keep_alive: bool,
    buffered: bool,
    fmt: AlertFormat,
    /// The open file, with `keep_alive`.
    file: Option<BufWriter<File>>,
    line: Vec<u8>,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open {} for appending: {e}", path.display()),
            )
        })
}

impl FileSink {
    /// Checks that `path` can be opened for appending (creating it, mode
    /// 0640), so that a bad path fails at start-up, not at the first alert.
    /// With `keep_alive` the file stays open; unbuffered
    /// (`buffered_outputs: false`) flushes after every alert.
    pub fn open(
        path: impl Into<PathBuf>,
        keep_alive: bool,
        fmt: AlertFormat,
        buffered: bool,
    ) -> io::Result<FileSink> {
        let path = path.into();
        let file = open_append(&path)?;
        Ok(FileSink {
            file: keep_alive.then(|| BufWriter::with_capacity(64 * 1024, file)),
            path,
            keep_alive,
            buffered,
            fmt,
            line: Vec::with_capacity(1024),
        })
    }

    fn write_err(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!("cannot write to {}: {e}", self.path.display()),
        )
    }
}

impl Sink for FileSink {
    fn name(&self) -> &str {
        "file"
    }

    fn deliver(&mut self, alert: &Alert) -> io::Result<()> {
        self.line.clear();
        render_into(&mut self.line, alert, &self.fmt);
        self.line.push(b'\n');
        if !self.keep_alive {
            // One write(2) of the whole line on an O_APPEND file.
            let mut f = open_append(&self.path)?;
            return f.write_all(&self.line).map_err(|e| self.write_err(e));
        }
        if self.file.is_none() {
            // A reopen that failed earlier: try again.
            self.file = Some(BufWriter::with_capacity(
                64 * 1024,
                open_append(&self.path)?,
            ));
        }
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let mut result = f.write_all(&self.line);
        if result.is_ok() && !self.buffered {
            result = f.flush();
        }
        result.map_err(|e| self.write_err(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot write to {}: {e}", self.path.display()),
                )
            }),
            None => Ok(()),
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        if !self.keep_alive {
            return Ok(()); // opened anew for every alert anyway
        }
        let flushed = self.flush();
        self.file = None;
        self.file = Some(BufWriter::with_capacity(
            64 * 1024,
            open_append(&self.path)?,
        ));
        flushed
    }
}

#[cfg(test)]
mod tests {
    use super::super::alert::tests::sample_alert;
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("kestrel-file-sink-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn creates_0640_and_appends_without_keep_alive() {
        let d = tmp("append");
        let p = d.join("events.txt");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut s = FileSink::open(&p, false, AlertFormat::default(), false).unwrap();
        s.deliver(&sample_alert(1)).unwrap();
        // Opened and closed per alert: a file moved away is recreated.
        std::fs::rename(&p, d.join("events.txt.1")).unwrap();
        s.deliver(&sample_alert(2)).unwrap();
        assert_eq!(
            lines(&d.join("events.txt.1")),
            ["old".to_string(), sample_alert(1).text_line()]
        );
        assert_eq!(lines(&p), [sample_alert(2).text_line()]);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !FILE_MODE, 0, "mode {mode:o}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn keep_alive_writes_to_the_open_file_until_reopened() {
        let d = tmp("keep");
        let p = d.join("events.json");
        let fmt = AlertFormat {
            json: true,
            ..Default::default()
        };
        let mut s = FileSink::open(&p, true, fmt, false).unwrap();
        s.deliver(&sample_alert(1)).unwrap();
        std::fs::rename(&p, d.join("rotated")).unwrap();
        s.deliver(&sample_alert(2)).unwrap(); // still the open, renamed file
        assert!(!p.exists());
        s.reopen().unwrap();
        s.deliver(&sample_alert(3)).unwrap();
        let rotated: Vec<serde_json::Value> = lines(&d.join("rotated"))
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            rotated,
            [sample_alert(1).to_json(), sample_alert(2).to_json()]
        );
        let new: serde_json::Value = serde_json::from_str(&lines(&p)[0]).unwrap();
        assert_eq!(new, sample_alert(3).to_json());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn buffered_keep_alive_writes_on_flush() {
        let d = tmp("buffered");
        let p = d.join("events.txt");
        let mut s = FileSink::open(&p, true, AlertFormat::default(), true).unwrap();
        s.deliver(&sample_alert(1)).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
        s.flush().unwrap();
        assert_eq!(lines(&p), [sample_alert(1).text_line()]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_bad_path_fails_at_open_naming_it() {
        let e = FileSink::open(
            "/nonexistent-dir/x/events.txt",
            false,
            AlertFormat::default(),
            false,
        )
        .err()
        .expect("cannot open");
        assert!(
            e.to_string().contains("/nonexistent-dir/x/events.txt"),
            "{e}"
        );
    }
}
