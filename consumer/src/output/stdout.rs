//! `stdout_output`: one alert per line on standard output (or on any
//! writer, for pipes and tests).

use std::io::{self, BufWriter, Write};

use super::alert::{render_into, AlertFormat};
use super::Sink;
use crate::rules::format::Alert;

/// Alerts as lines (Falco's text line or JSON object) on standard output,
/// or on any other writer ([`StdoutSink::with_writer`]).
pub struct StdoutSink {
    name: String,
    out: BufWriter<Box<dyn Write + Send>>,
    fmt: AlertFormat,
    buffered: bool,
    line: Vec<u8>,
}

impl StdoutSink {
    /// Standard output.  Unbuffered (`buffered_outputs: false`) flushes
    /// after every alert; buffered flushes when the queue runs empty.
    pub fn new(fmt: AlertFormat, buffered: bool) -> StdoutSink {
        StdoutSink::with_writer("stdout", Box::new(io::stdout()), fmt, buffered)
    }

    /// Any writer, under the sink name `name`.
    pub fn with_writer(
        name: &str,
        out: Box<dyn Write + Send>,
        fmt: AlertFormat,
        buffered: bool,
    ) -> StdoutSink {
        StdoutSink {
            name: name.to_string(),
            out: BufWriter::with_capacity(64 * 1024, out),
            fmt,
            buffered,
            line: Vec::with_capacity(1024),
        }
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver(&mut self, alert: &Alert) -> io::Result<()> {
        self.line.clear();
        render_into(&mut self.line, alert, &self.fmt);
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        if !self.buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::super::alert::tests::sample_alert;
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn unbuffered_writes_each_line_at_once() {
        let buf = Shared::default();
        let mut s =
            StdoutSink::with_writer("t", Box::new(buf.clone()), AlertFormat::default(), false);
        s.deliver(&sample_alert(1)).unwrap();
        assert_eq!(
            String::from_utf8(buf.0.lock().unwrap().clone()).unwrap(),
            format!("{}\n", sample_alert(1).text_line())
        );
    }

    #[test]
    fn buffered_waits_for_flush_and_json_is_falcos() {
        let buf = Shared::default();
        let fmt = AlertFormat {
            json: true,
            ..Default::default()
        };
        let mut s = StdoutSink::with_writer("t", Box::new(buf.clone()), fmt, true);
        s.deliver(&sample_alert(1)).unwrap();
        s.deliver(&sample_alert(2)).unwrap();
        assert!(buf.0.lock().unwrap().is_empty());
        s.flush().unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [sample_alert(1).to_json(), sample_alert(2).to_json()]
        );
    }
}
