//! `syslog_output`: one RFC 5424 message per alert, as a datagram on the
//! local syslog socket (`/dev/log`).
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME kestrel PID - - MSG
//! <12>1 2017-10-09T23:31:56.746609Z node-1 kestrel 4242 - - 23:31:56.746609046: Warning …
//! ```
//!
//! - facility `user` (1), as Falco's syslog output (it calls syslog(3)
//!   without openlog, so LOG_USER); severity from the alert priority, whose
//!   eight levels are syslog's eight (Emergency 0 … Debug 7); so
//!   PRI = 8 + severity;
//! - TIMESTAMP is the event time, UTC, with microseconds (RFC 5424 allows
//!   at most six fraction digits);
//! - HOSTNAME is the alert's host name (`-` when empty), APP-NAME
//!   `kestrel`, PROCID Kestrel's pid, no MSGID and no structured data;
//! - MSG is the alert as [`AlertFormat`] renders it (text line or JSON).
//!
//! When the syslog daemon restarts the socket is recreated: a failed send
//! reconnects once and tries again.  A socket missing at start is not an
//! error (see [`SyslogSink::new`]).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use super::alert::{render_into, AlertFormat};
use super::event_line::format_wall_time;
use super::Sink;
use crate::rules::format::Alert;
use crate::rules::Priority;

/// The local syslog socket.
pub const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";

/// Syslog facility `user`.
pub const FACILITY_USER: u8 = 1;

/// Syslog severity of an alert priority (RFC 5424 table 2: Falco's eight
/// priorities are syslog's eight severities).
pub fn severity(p: Priority) -> u8 {
    match p {
        Priority::Emergency => 0,
        Priority::Alert => 1,
        Priority::Critical => 2,
        Priority::Error => 3,
        Priority::Warning => 4,
        Priority::Notice => 5,
        Priority::Informational => 6,
        Priority::Debug => 7,
    }
}

/// RFC 5424 PRI value of an alert priority: facility `user` × 8 + severity.
pub fn pri(p: Priority) -> u8 {
    FACILITY_USER * 8 + severity(p)
}

/// Alerts to the local syslog daemon.
pub struct SyslogSink {
    path: PathBuf,
    socket: Option<UnixDatagram>,
    fmt: AlertFormat,
    pid: u32,
    msg: Vec<u8>,
}

/// `2017-10-09T23:31:56.746609Z`: RFC 5424 TIMESTAMP, microseconds.
fn timestamp(unix_ns: i128) -> String {
    let t = format_wall_time(unix_ns);
    // "….746609046Z" → "….746609Z"
    format!("{}Z", &t[..t.len() - 4])
}

/// RFC 5424 HOSTNAME: printable US-ASCII without spaces, 1–255 characters,
/// or `-`.
fn header_hostname(h: &str) -> String {
    let clean: String = h
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    if clean.is_empty() {
        "-".into()
    } else {
        clean
    }
}

impl SyslogSink {
    /// Sends to the datagram socket at `socket_path` (normally
    /// [`DEFAULT_SYSLOG_SOCKET`]).  A socket that cannot be reached now (no
    /// syslog daemon in this container, or not yet) is logged, not an
    /// error: each alert tries again, and fails (counted) until it works,
    /// as Falco's syslog output, on by default, never stops Falco.
    pub fn new(socket_path: impl Into<PathBuf>, fmt: AlertFormat) -> io::Result<SyslogSink> {
        let mut s = SyslogSink {
            path: socket_path.into(),
            socket: None,
            fmt,
            pid: std::process::id(),
            msg: Vec::with_capacity(1024),
        };
        if let Err(e) = s.connect() {
            log::warn!("output syslog: {e}; trying again with each alert");
        }
        Ok(s)
    }

    fn connect(&mut self) -> io::Result<()> {
        self.socket = None;
        let sock = UnixDatagram::unbound()?;
        sock.connect(&self.path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot reach syslog at {}: {e}", self.path.display()),
            )
        })?;
        self.socket = Some(sock);
        Ok(())
    }

    /// The whole RFC 5424 message for `alert`.
    pub fn message(&self, alert: &Alert) -> Vec<u8> {
        let mut m = format!(
            "<{}>1 {} {} kestrel {} - - ",
            pri(alert.priority),
            timestamp(alert.time_ns),
            header_hostname(&alert.hostname),
            self.pid
        )
        .into_bytes();
        render_into(&mut m, alert, &self.fmt);
        m
    }

    fn send(&self) -> io::Result<()> {
        match &self.socket {
            Some(s) => s.send(&self.msg).map(|_| ()),
            None => Err(io::Error::new(io::ErrorKind::NotConnected, "not connected")),
        }
    }
}

impl Sink for SyslogSink {
    fn name(&self) -> &str {
        "syslog"
    }

    fn deliver(&mut self, alert: &Alert) -> io::Result<()> {
        self.msg = self.message(alert);
        if self.send().is_ok() {
            return Ok(());
        }
        // The daemon may have restarted (new socket): reconnect once.
        self.connect()?;
        self.send().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot send to syslog at {}: {e}", self.path.display()),
            )
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.connect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::alert::tests::sample_alert;
    use super::*;

    #[test]
    fn pri_is_user_facility_plus_severity() {
        assert_eq!(pri(Priority::Emergency), 8);
        assert_eq!(pri(Priority::Warning), 12);
        assert_eq!(pri(Priority::Debug), 15);
    }

    #[test]
    fn header_fields_are_rfc5424_shaped() {
        assert_eq!(
            timestamp(1_507_591_916_746_609_046),
            "2017-10-09T23:31:56.746609Z"
        );
        assert_eq!(header_hostname(""), "-");
        assert_eq!(header_hostname("my host\n"), "myhost");
    }

    #[test]
    fn a_socket_that_appears_later_is_used() {
        let dir = std::env::temp_dir().join(format!("kestrel-syslog-late-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let mut s = SyslogSink::new(&path, AlertFormat::default()).expect("not an error yet");
        let e = s.deliver(&sample_alert(1)).unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        let server = UnixDatagram::bind(&path).unwrap();
        s.deliver(&sample_alert(2)).unwrap();
        let mut buf = [0u8; 4096];
        let n = server.recv(&mut buf).unwrap();
        assert!(std::str::from_utf8(&buf[..n]).unwrap().ends_with("n=2)"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sends_one_datagram_per_alert() {
        let dir = std::env::temp_dir().join(format!("kestrel-syslog-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut s = SyslogSink::new(&path, AlertFormat::default()).unwrap();
        s.deliver(&sample_alert(1)).unwrap();
        let mut buf = [0u8; 4096];
        let n = server.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(
            got,
            format!(
                "<12>1 2017-10-09T23:31:56.746609Z node-1 kestrel {} - - {}",
                std::process::id(),
                sample_alert(1).text_line()
            )
        );
        // The daemon goes away: alerts fail, and are counted by the caller.
        drop(server);
        std::fs::remove_file(&path).unwrap();
        assert!(s.deliver(&sample_alert(9)).is_err());
        // The daemon restarts: a new socket at the same path.
        let server = UnixDatagram::bind(&path).unwrap();
        s.deliver(&sample_alert(2)).unwrap();
        let n = server.recv(&mut buf).unwrap();
        assert!(std::str::from_utf8(&buf[..n]).unwrap().ends_with("n=2)"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
