//! Kestrel's own log (not alerts): `kestrel: level: message` lines on
//! standard error and, with `log_syslog`, datagrams to the local syslog
//! daemon (/dev/log).  [`init`] installs the logger before the command line
//! is read; [`configure`] applies the configuration's `log_level`,
//! `log_stderr` and `log_syslog` once it is loaded.  `RUST_LOG`, when set,
//! chooses what is logged instead of `log_level` (env_logger's syntax).

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use log::{LevelFilter, Log, Metadata, Record};

/// The level before a configuration says otherwise.
pub const DEFAULT_LEVEL: LevelFilter = LevelFilter::Warn;

struct Logger {
    /// env_logger's filter from RUST_LOG, when set.
    env: Option<env_logger::Logger>,
    stderr: AtomicBool,
    syslog: Mutex<Option<UnixDatagram>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

impl Log for Logger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        match &self.env {
            Some(env) => env.enabled(m),
            None => m.level() <= log::max_level(),
        }
    }

    fn log(&self, r: &Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let level = r.level().as_str().to_lowercase();
        // Relaxed: a setting read on its own.
        if self.stderr.load(Ordering::Relaxed) {
            let _ = writeln!(std::io::stderr().lock(), "kestrel: {level}: {}", r.args());
        }
        if let Ok(sock) = self.syslog.lock() {
            if let Some(sock) = sock.as_ref() {
                // RFC 3164 as the local daemon takes it: <facility*8 +
                // severity>tag[pid]: message (facility 3, daemon).
                let severity = match r.level() {
                    log::Level::Error => 3,
                    log::Level::Warn => 4,
                    log::Level::Info => 6,
                    log::Level::Debug | log::Level::Trace => 7,
                };
                let msg = format!(
                    "<{}>kestrel[{}]: {}",
                    3 * 8 + severity,
                    std::process::id(),
                    r.args()
                );
                let _ = sock.send(msg.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

/// Installs the logger: standard error, `DEFAULT_LEVEL` (or `RUST_LOG`).
pub fn init() {
    let env = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|spec| env_logger::Builder::new().parse_filters(&spec).build());
    let max = env.as_ref().map_or(DEFAULT_LEVEL, |e| e.filter());
    let logger = LOGGER.get_or_init(|| Logger {
        env,
        stderr: AtomicBool::new(true),
        syslog: Mutex::new(None),
    });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(max);
    }
}

/// Applies `log_level` (unless `RUST_LOG` is set), `log_stderr` and
/// `log_syslog`.
pub fn configure(level: LevelFilter, stderr: bool, syslog: bool) {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    if logger.env.is_none() {
        log::set_max_level(level);
    }
    // Relaxed: see Logger::log.
    logger.stderr.store(stderr, Ordering::Relaxed);
    let sock = if syslog {
        UnixDatagram::unbound()
            .and_then(|s| s.connect("/dev/log").map(|()| s))
            .map_err(|e| eprintln!("kestrel: warning: log_syslog: cannot reach /dev/log: {e}"))
            .ok()
    } else {
        None
    };
    if let Ok(mut slot) = logger.syslog.lock() {
        *slot = sock;
    }
}
