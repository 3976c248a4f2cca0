//! The service's configuration file (`/etc/kestrel/kestrel.yaml`), with
//! falco.yaml's key names wherever a key means the same thing, and
//! command-line overrides (`-o key.path=value`).
//!
//! Loading is strict: an unknown key, a value of the wrong type or a bad
//! value is an error that names the file, the line and the key path
//! (`/etc/kestrel/kestrel.yaml:12: webserver.listen_port: ...`), and
//! nothing starts on a bad configuration.  Types and unknown keys are
//! checked while deserializing (serde_yaml reports the position); values
//! are checked afterwards ([`Config::validate`]) and placed with a small
//! span-aware pass over the text ([`locate::key_line`]).
//!
//! The commented default file, `config/kestrel.yaml` in the repository,
//! documents every key.

pub mod locate;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::rules::{Matching, Priority};

/// Where `kestrel run` looks for its configuration by default.
pub const DEFAULT_CONFIG: &str = "/etc/kestrel/kestrel.yaml";

/// Where packages install the default ruleset.
pub const PACKAGED_RULES: &str = "/usr/share/kestrel/rules/kestrel_rules.yaml";

/// The directory of the operator's own rules files.
pub const LOCAL_RULES_DIR: &str = "/etc/kestrel/rules.d";

/// The rule name of drop alerts: Falco's, so that whatever already
/// watches for Falco's drop alerts (falcosidekick routes, dashboards)
/// sees Kestrel's too.
pub const DROP_ALERT_RULE: &str = "Falco internal: syscall event drop";

/// A configuration error: where (file and line, or the `-o` override), which
/// key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `-o key=value` for an override).
    pub origin: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// Dotted key path (`webserver.listen_port`), empty for the document.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One `-o key.path=value` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The dotted key path.
    pub key: String,
    /// The value, parsed as YAML (a scalar or a flow collection).
    pub value: Value,
    /// Where it came from, for error messages (`-o key=value`, `--json`).
    pub text: String,
}

impl Override {
    /// Parses `key.path=value`.
    pub fn parse(arg: &str) -> Result<Override, ConfigError> {
        let err = |message: &str| ConfigError {
            origin: format!("-o {arg}"),
            line: None,
            key: String::new(),
            message: message.into(),
        };
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| err("expected KEY=VALUE (e.g. -o json_output=true)"))?;
        let key = key.trim();
        if key.is_empty()
            || key.split('.').any(|c| {
                c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            })
        {
            return Err(err(&format!(
                "'{key}' is not a key path (names of letters, digits and _, joined by dots)"
            )));
        }
        let value = if value.trim().is_empty() {
            Value::String(String::new())
        } else {
            serde_yaml::from_str::<Value>(value).map_err(|e| ConfigError {
                key: key.into(),
                ..err(&format!(
                    "the value is not YAML: {}",
                    strip_location(&e.to_string())
                ))
            })?
        };
        Ok(Override {
            key: key.into(),
            value,
            text: format!("-o {arg}"),
        })
    }
}

/// The whole configuration.  Every key is optional; a missing key takes the
/// default documented in `config/kestrel.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Rules files and directories, loaded in order (a directory: its
    /// `*.yaml`/`*.yml` files sorted by name; a directory that does not
    /// exist is skipped).
    #[serde(alias = "rules_file")]
    pub rules_files: Vec<PathBuf>,
    /// Least severe priority of the rules that run.
    pub priority: String,
    /// Alerts as Falco's JSON objects rather than text lines.
    pub json_output: bool,
    /// JSON alerts carry `output` (the text line).
    pub json_include_output_property: bool,
    /// JSON alerts carry `tags`.
    pub json_include_tags_property: bool,
    /// `first`: one alert per event (the first matching rule); `all`.
    pub rule_matching: String,
    /// Text alerts start with an ISO 8601 date-time rather than the time of day.
    pub time_format_iso_8601: bool,
    /// Sinks flush when their queue is empty rather than after every alert.
    pub buffered_outputs: bool,
    /// The queue in front of each sink.
    pub outputs_queue: OutputsQueue,
    /// Alerts on standard output.
    pub stdout_output: StdoutOutput,
    /// Alerts appended to a file.
    pub file_output: FileOutput,
    /// Alerts to syslog.
    pub syslog_output: SyslogOutput,
    /// Alerts piped to a program.
    pub program_output: ProgramOutput,
    /// Alerts POSTed as JSON.
    pub http_output: HttpOutput,
    /// `/healthz` and `/metrics`.
    pub webserver: Webserver,
    /// What to do about events the module dropped.
    pub syscall_event_drops: SyscallEventDrops,
    /// Text and fields added to the alerts of matching rules, in order.
    pub append_output: Vec<AppendOutput>,
    /// Least severe log message written: emergency, alert, critical, error,
    /// warning, notice, info, debug.
    pub log_level: String,
    /// Log to standard error.
    pub log_stderr: bool,
    /// Log to syslog (/dev/log).
    pub log_syslog: bool,
    /// Reload when the configuration or a rules file changes.
    pub watch_config_files: bool,
    /// The event source: the kestrel kernel module.
    pub engine: EngineConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules_files: vec![PACKAGED_RULES.into(), LOCAL_RULES_DIR.into()],
            priority: "debug".into(),
            json_output: false,
            json_include_output_property: true,
            json_include_tags_property: true,
            rule_matching: "first".into(),
            time_format_iso_8601: false,
            buffered_outputs: false,
            outputs_queue: OutputsQueue::default(),
            stdout_output: StdoutOutput::default(),
            file_output: FileOutput::default(),
            syslog_output: SyslogOutput::default(),
            program_output: ProgramOutput::default(),
            http_output: HttpOutput::default(),
            webserver: Webserver::default(),
            syscall_event_drops: SyscallEventDrops::default(),
            append_output: Vec::new(),
            log_level: "info".into(),
            log_stderr: true,
            log_syslog: false,
            watch_config_files: true,
            engine: EngineConfig::default(),
        }
    }
}

/// `outputs_queue`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsQueue {
    /// Alerts each sink's queue holds before it drops (and counts) new ones.
    pub capacity: usize,
}

impl Default for OutputsQueue {
    fn default() -> Self {
        OutputsQueue { capacity: 1024 }
    }
}

/// `stdout_output`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StdoutOutput {
    /// On or off.
    pub enabled: bool,
}

impl Default for StdoutOutput {
    fn default() -> Self {
        StdoutOutput { enabled: true }
    }
}

/// `file_output`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileOutput {
    /// On or off.
    pub enabled: bool,
    /// Keep the file open between alerts (reopened on SIGUSR1 and reload);
    /// otherwise open, append and close for each alert.
    pub keep_alive: bool,
    /// The file alerts are appended to.
    pub filename: PathBuf,
}

impl Default for FileOutput {
    fn default() -> Self {
        FileOutput {
            enabled: false,
            keep_alive: false,
            filename: "/var/log/kestrel/events.txt".into(),
        }
    }
}

/// `syslog_output`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogOutput {
    /// On or off.
    pub enabled: bool,
}

/// `program_output`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProgramOutput {
    /// On or off.
    pub enabled: bool,
    /// Keep one program running and write every alert to its stdin;
    /// otherwise run the program once per alert.
    pub keep_alive: bool,
    /// The command, run with `sh -c`.
    pub program: String,
}

/// `http_output`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpOutput {
    /// On or off.
    pub enabled: bool,
    /// Where the JSON alerts are POSTed (`http://host:port/path`).
    pub url: String,
    /// The User-Agent header.
    pub user_agent: String,
    /// Time allowed for one request, in milliseconds.
    pub timeout_ms: u64,
    /// Further attempts after a failed POST (with backoff).
    pub max_retries: u32,
    /// Keep connections open between alerts.
    pub keep_alive: bool,
    /// Print the receiver's answers on standard output.
    pub echo: bool,
}

impl Default for HttpOutput {
    fn default() -> Self {
        HttpOutput {
            enabled: false,
            url: String::new(),
            user_agent: "kestrel".into(),
            timeout_ms: 2000,
            max_retries: 3,
            keep_alive: true,
            echo: false,
        }
    }
}

/// `webserver`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webserver {
    /// On or off.
    pub enabled: bool,
    /// Address to listen on.
    pub listen_address: String,
    /// Port to listen on.
    pub listen_port: u16,
    /// Path of the health endpoint.
    pub k8s_healthz_endpoint: String,
    /// Serve `/metrics`.
    pub prometheus_metrics_enabled: bool,
}

impl Default for Webserver {
    fn default() -> Self {
        Webserver {
            enabled: true,
            listen_address: "127.0.0.1".into(),
            listen_port: 8765,
            k8s_healthz_endpoint: "/healthz".into(),
            prometheus_metrics_enabled: true,
        }
    }
}

/// `syscall_event_drops`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyscallEventDrops {
    /// Act when more than this share of the last second's events (0..1)
    /// were dropped.
    pub threshold: f64,
    /// `ignore`, `log`, `alert`, `exit` (any of the last three together).
    pub actions: Vec<String>,
    /// Actions allowed per second, on average (token bucket refill).
    pub rate: f64,
    /// Actions allowed in a burst (token bucket size).
    pub max_burst: u32,
    /// Act as if events were dropped every second (to test the actions).
    pub simulate_drops: bool,
}

impl Default for SyscallEventDrops {
    fn default() -> Self {
        SyscallEventDrops {
            threshold: 0.1,
            actions: vec!["log".into(), "alert".into()],
            rate: 0.03333,
            max_burst: 1,
            simulate_drops: false,
        }
    }
}

/// What to do about drops ([`SyscallEventDrops::actions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropAction {
    /// Nothing.
    Ignore,
    /// A log line (error level).
    Log,
    /// An alert through the outputs.
    Alert,
    /// Stop with an error.
    Exit,
}

/// One `append_output` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AppendOutput {
    /// Which rules; every rule when empty.
    #[serde(rename = "match")]
    pub matches: AppendMatch,
    /// Text (with `%field`s) appended to the output line.
    pub extra_output: String,
    /// Fields added to `output_fields`: a field name (`evt.type`), or
    /// `{name: value}` where value is a constant or a `%field` format.
    pub extra_fields: Vec<ExtraField>,
}

/// `append_output[].match`: all given conditions must hold.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AppendMatch {
    /// Event source (`syscall` is the only one).
    pub source: Option<String>,
    /// The rule carries every one of these tags.
    pub tags: Vec<String>,
    /// The rule's name.
    pub rule: Option<String>,
}

/// One `extra_fields` item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ExtraField {
    /// A field name (`evt.type`), added under its own name.
    Field(String),
    /// `name: format` pairs (one per mapping, usually).
    Named(std::collections::BTreeMap<String, String>),
}

/// `engine`: the event source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// `kmod`, the only kind.
    pub kind: String,
    /// Threads the data path runs on: 1 (drain, decode, state, rules on
    /// one thread) or 2 (drain, merge and decode on one; state and rules on
    /// the other).  The outputs have threads of their own either way.
    pub threads: u32,
    /// The module's settings.
    pub kmod: KmodConfig,
}

/// The most threads `engine.threads` may ask for.
pub const MAX_ENGINE_THREADS: u32 = 2;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            kind: "kmod".into(),
            threads: 1,
            kmod: KmodConfig::default(),
        }
    }
}

/// `engine.kmod`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KmodConfig {
    /// The module's device node.
    pub device: PathBuf,
    /// Bytes per CPU ring, for the loader (`insmod kestrel.ko
    /// ring_size=...`); `kestrel run` warns when the loaded module differs.
    pub ring_size: u64,
    /// Most bytes copied for any one parameter; 0 keeps the module's.
    pub snaplen: u32,
    /// Syscalls to record (x86_64 names, or `all`); empty: what the rules
    /// and the process state need.
    pub syscalls: Vec<String>,
    /// The /proc tree to scan (e.g. /host/proc in a container).
    pub proc_root: PathBuf,
    /// The host's root, under which container runtimes keep their state.
    pub host_root: PathBuf,
}

impl Default for KmodConfig {
    fn default() -> Self {
        KmodConfig {
            device: crate::device::DEFAULT_DEVICE.into(),
            ring_size: 8 << 20,
            snaplen: 0,
            syscalls: Vec::new(),
            proc_root: "/proc".into(),
            host_root: "/".into(),
        }
    }
}

/// A configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration, validated.
    pub config: Config,
    /// The file read, if any (none when the default file does not exist).
    pub file: Option<PathBuf>,
}

/// Serde's message without its ` at line L column C` suffix.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i + 9..].contains(" column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

/// Splits serde_yaml's `path: message` (the path it prefixes to errors
/// below the document's root) into its parts.
fn split_path(msg: &str) -> (String, String) {
    if let Some((path, rest)) = msg.split_once(": ") {
        let is_path = !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'));
        if is_path {
            return (path.to_string(), rest.to_string());
        }
    }
    (String::new(), msg.to_string())
}

/// serde_yaml's error as (key path, message); an unknown key's path
/// names the key itself.
fn describe_serde_error(e: &serde_yaml::Error) -> (String, String) {
    let (mut path, mut message) = split_path(&strip_location(&e.to_string()));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((name, expected)) = rest.split_once('`') {
            path = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            let expected = expected.trim_start_matches(", ");
            message = format!("unknown key ({expected})");
        }
    } else if let Some(rest) = message.strip_prefix("duplicate field `") {
        if let Some((name, _)) = rest.split_once('`') {
            path = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            message = "the key appears twice".into();
        }
    } else if message.starts_with("invalid type:") && message.ends_with("expected struct Config") {
        message = "expected a mapping of keys to values at the top of the file".into();
    } else if let Some(i) = message.find(", expected struct ") {
        message = format!("{}, expected a mapping of keys to values", &message[..i]);
    }
    (path, message)
}

impl Config {
    /// Reads and checks `path`, then applies `overrides` in order.
    pub fn load(path: &Path, overrides: &[Override]) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            line: None,
            key: String::new(),
            message: format!("cannot read the configuration: {e}"),
        })?;
        Config::from_text(&origin, &text, overrides)
    }

    /// Loads the configuration `kestrel run` uses: `explicit` (`-c FILE`),
    /// which must exist, or else [`DEFAULT_CONFIG`] if it exists, or else
    /// the defaults; then `overrides`.
    pub fn load_for_run(
        explicit: Option<&Path>,
        overrides: &[Override],
    ) -> Result<Loaded, ConfigError> {
        match explicit {
            Some(p) => Ok(Loaded {
                config: Config::load(p, overrides)?,
                file: Some(p.to_path_buf()),
            }),
            None if Path::new(DEFAULT_CONFIG).exists() => Ok(Loaded {
                config: Config::load(Path::new(DEFAULT_CONFIG), overrides)?,
                file: Some(DEFAULT_CONFIG.into()),
            }),
            None => Ok(Loaded {
                config: Config::from_text("(defaults)", "", overrides)?,
                file: None,
            }),
        }
    }

    /// Parses and checks a configuration text named `origin`, then applies
    /// `overrides` in order (each checked as it is applied).
    pub fn from_text(
        origin: &str,
        text: &str,
        overrides: &[Override],
    ) -> Result<Config, ConfigError> {
        let at = |line: Option<usize>, key: String, message: String| ConfigError {
            origin: origin.to_string(),
            line,
            key,
            message,
        };
        // Pass 1: types and unknown keys, with serde_yaml's positions.
        let mut config = if text.trim().is_empty() {
            Config::default()
        } else {
            Config::deserialize(serde_yaml::Deserializer::from_str(text)).map_err(|e| {
                let (key, message) = describe_serde_error(&e);
                at(e.location().map(|l| l.line()), key, message)
            })?
        };
        // Pass 2: values, placed by the span-aware pass.
        if let Err((key, message)) = config.validate() {
            let comps: Vec<&str> = key.split('.').collect();
            return Err(at(locate::key_line(text, &comps), key, message));
        }
        if overrides.is_empty() {
            return Ok(config);
        }
        // Overrides: merged into the document as YAML values, then the
        // whole is read again; each is checked as it is applied, so an
        // error names the override that caused it.
        let mut doc: Value = if text.trim().is_empty() {
            Value::Mapping(Default::default())
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                at(
                    e.location().map(|l| l.line()),
                    String::new(),
                    strip_location(&e.to_string()),
                )
            })?
        };
        if doc.is_null() {
            doc = Value::Mapping(Default::default());
        }
        for o in overrides {
            let oerr = |key: String, message: String| ConfigError {
                origin: o.text.clone(),
                line: None,
                key,
                message,
            };
            set_path(&mut doc, &o.key, o.value.clone()).map_err(|m| oerr(o.key.clone(), m))?;
            config = Config::deserialize(doc.clone()).map_err(|e| {
                let (key, message) = describe_serde_error(&e);
                // Deserializing a Value tracks no path: the override's key
                // is the one that changed.
                let key = if key.is_empty() || o.key.ends_with(&format!(".{key}")) {
                    o.key.clone()
                } else {
                    key
                };
                oerr(key, message)
            })?;
        }
        // Values are checked once all overrides are in (one may need
        // another: http_output.enabled and http_output.url).  The error
        // names the last override of the same section, or else the file.
        if let Err((key, message)) = config.validate() {
            let section = |k: &str| k.split(['.', '[']).next().unwrap_or("").to_string();
            return Err(
                match overrides
                    .iter()
                    .rev()
                    .find(|o| section(&o.key) == section(&key))
                {
                    Some(o) => ConfigError {
                        origin: o.text.clone(),
                        line: None,
                        key,
                        message,
                    },
                    None => {
                        let comps: Vec<&str> = key.split('.').collect();
                        at(locate::key_line(text, &comps), key, message)
                    }
                },
            );
        }
        Ok(config)
    }

    /// Checks the values serde cannot: names, ranges, and keys that need
    /// each other.  The error is (key path, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let e = |key: &str, msg: String| Err((key.to_string(), msg));
        if self.rules_files.is_empty() {
            return e("rules_files", "names no rules file or directory".into());
        }
        for (i, p) in self.rules_files.iter().enumerate() {
            if p.as_os_str().is_empty() {
                return e(&format!("rules_files[{i}]"), "an empty path".into());
            }
        }
        if Priority::parse(&self.priority).is_none() {
            return e(
                "priority",
                format!(
                    "'{}' is not a priority (emergency, alert, critical, error, warning, notice, informational, debug)",
                    self.priority
                ),
            );
        }
        if !matches!(self.rule_matching.as_str(), "first" | "all") {
            return e(
                "rule_matching",
                format!("'{}' is neither first nor all", self.rule_matching),
            );
        }
        if self.outputs_queue.capacity == 0 {
            return e(
                "outputs_queue.capacity",
                "must be at least 1 (queues are bounded: a slow sink drops and counts its own alerts)".into(),
            );
        }
        if self.outputs_queue.capacity > 1 << 20 {
            return e(
                "outputs_queue.capacity",
                format!(
                    "{} is more than 1048576 alerts per sink",
                    self.outputs_queue.capacity
                ),
            );
        }
        if self.file_output.enabled && self.file_output.filename.as_os_str().is_empty() {
            return e(
                "file_output.filename",
                "is empty while file_output.enabled is true".into(),
            );
        }
        if self.program_output.enabled && self.program_output.program.trim().is_empty() {
            return e(
                "program_output.program",
                "is empty while program_output.enabled is true".into(),
            );
        }
        let h = &self.http_output;
        if h.enabled {
            if h.url.is_empty() {
                return e(
                    "http_output.url",
                    "is empty while http_output.enabled is true".into(),
                );
            }
            let host = h
                .url
                .strip_prefix("http://")
                .or_else(|| h.url.strip_prefix("https://"))
                .unwrap_or("");
            if host.is_empty() || host.starts_with('/') {
                return e(
                    "http_output.url",
                    format!("'{}' is not an http:// or https:// URL with a host", h.url),
                );
            }
        }
        if h.timeout_ms == 0 {
            return e("http_output.timeout_ms", "must be at least 1".into());
        }
        if h.max_retries > 100 {
            return e(
                "http_output.max_retries",
                format!("{} retries is more than 100", h.max_retries),
            );
        }
        let w = &self.webserver;
        if w.listen_address.parse::<IpAddr>().is_err() {
            return e(
                "webserver.listen_address",
                format!("'{}' is not an IPv4 or IPv6 address", w.listen_address),
            );
        }
        if !w.k8s_healthz_endpoint.starts_with('/') {
            return e(
                "webserver.k8s_healthz_endpoint",
                format!("'{}' does not start with /", w.k8s_healthz_endpoint),
            );
        }
        if w.k8s_healthz_endpoint == "/metrics" {
            return e(
                "webserver.k8s_healthz_endpoint",
                "/metrics is the metrics endpoint".into(),
            );
        }
        let d = &self.syscall_event_drops;
        if !(0.0..=1.0).contains(&d.threshold) {
            return e(
                "syscall_event_drops.threshold",
                format!("{} is not a share between 0 and 1", d.threshold),
            );
        }
        if !(d.rate.is_finite() && d.rate > 0.0) {
            return e(
                "syscall_event_drops.rate",
                format!("{} is not a positive number of actions per second", d.rate),
            );
        }
        if d.max_burst == 0 {
            return e("syscall_event_drops.max_burst", "must be at least 1".into());
        }
        for (i, a) in d.actions.iter().enumerate() {
            if parse_drop_action(a).is_none() {
                return e(
                    &format!("syscall_event_drops.actions[{i}]"),
                    format!("'{a}' is not an action (ignore, log, alert, exit)"),
                );
            }
        }
        for (i, a) in self.append_output.iter().enumerate() {
            if let Some(s) = &a.matches.source {
                if s != "syscall" {
                    return e(
                        &format!("append_output[{i}].match.source"),
                        format!("'{s}' is not an event source (syscall)"),
                    );
                }
            }
            if let Err((offset, msg)) = crate::rules::OutputFormat::parse(&a.extra_output) {
                return e(
                    &format!("append_output[{i}].extra_output"),
                    format!("at character {}: {msg}", offset + 1),
                );
            }
            for (j, f) in a.extra_fields.iter().enumerate() {
                let key = format!("append_output[{i}].extra_fields[{j}]");
                match f {
                    ExtraField::Field(name) => {
                        if let Err(msg) = crate::rules::OutputFormat::parse(&format!("%{name}"))
                            .map_err(|(_, m)| m)
                            .and_then(|f| {
                                if f.fields().len() == 1 {
                                    Ok(())
                                } else {
                                    Err(format!("'{name}' is not one field name"))
                                }
                            })
                        {
                            return e(&key, msg);
                        }
                    }
                    ExtraField::Named(map) => {
                        for (name, format) in map {
                            if let Err((_, msg)) = crate::rules::OutputFormat::parse(format) {
                                return e(&format!("{key}.{name}"), msg);
                            }
                        }
                    }
                }
            }
        }
        if log_level_filter(&self.log_level).is_none() {
            return e(
                "log_level",
                format!(
                    "'{}' is not a log level (emergency, alert, critical, error, warning, notice, info, debug)",
                    self.log_level
                ),
            );
        }
        if self.engine.kind != "kmod" {
            return e(
                "engine.kind",
                format!("'{}' is not an engine kestrel has (kmod)", self.engine.kind),
            );
        }
        if !(1..=MAX_ENGINE_THREADS).contains(&self.engine.threads) {
            return e(
                "engine.threads",
                format!(
                    "{} is not a thread count kestrel runs with (1 or {MAX_ENGINE_THREADS})",
                    self.engine.threads
                ),
            );
        }
        let k = &self.engine.kmod;
        if k.device.as_os_str().is_empty() {
            return e("engine.kmod.device", "an empty path".into());
        }
        if !k.ring_size.is_power_of_two() || !(64 << 10..=1 << 30).contains(&k.ring_size) {
            return e(
                "engine.kmod.ring_size",
                format!(
                    "{} is not a power of two from 65536 to 1073741824",
                    k.ring_size
                ),
            );
        }
        if k.snaplen != 0
            && !(kestrel_abi::SNAPLEN_MIN..=kestrel_abi::SNAPLEN_MAX).contains(&k.snaplen)
        {
            return e(
                "engine.kmod.snaplen",
                format!(
                    "{} is out of range ({}..={}, or 0 for the module's)",
                    k.snaplen,
                    kestrel_abi::SNAPLEN_MIN,
                    kestrel_abi::SNAPLEN_MAX
                ),
            );
        }
        for (i, name) in k.syscalls.iter().enumerate() {
            if name != "all" && kestrel_abi::syscall_number(name).is_none() {
                return e(
                    &format!("engine.kmod.syscalls[{i}]"),
                    format!("'{name}' is not an x86_64 syscall name"),
                );
            }
        }
        for (key, p) in [
            ("engine.kmod.proc_root", &k.proc_root),
            ("engine.kmod.host_root", &k.host_root),
        ] {
            if p.as_os_str().is_empty() {
                return e(key, "an empty path".into());
            }
        }
        Ok(())
    }

    /// The priority threshold (validated).
    pub fn min_priority(&self) -> Priority {
        Priority::parse(&self.priority).unwrap_or(Priority::Debug)
    }

    /// First or all matching rules (validated).
    pub fn matching(&self) -> Matching {
        if self.rule_matching == "all" {
            Matching::All
        } else {
            Matching::First
        }
    }

    /// The drop actions (validated); `ignore` alone, or none, means none.
    pub fn drop_actions(&self) -> Vec<DropAction> {
        self.syscall_event_drops
            .actions
            .iter()
            .filter_map(|a| parse_drop_action(a))
            .filter(|a| *a != DropAction::Ignore)
            .collect()
    }

    /// The log filter `log_level` names (validated).
    pub fn log_filter(&self) -> log::LevelFilter {
        log_level_filter(&self.log_level).unwrap_or(log::LevelFilter::Info)
    }
}

fn parse_drop_action(s: &str) -> Option<DropAction> {
    Some(match s {
        "ignore" => DropAction::Ignore,
        "log" => DropAction::Log,
        "alert" => DropAction::Alert,
        "exit" => DropAction::Exit,
        _ => return None,
    })
}

/// falco.yaml's log levels (syslog's names) as `log`'s filters.
pub fn log_level_filter(s: &str) -> Option<log::LevelFilter> {
    use log::LevelFilter as L;
    Some(match s {
        "emergency" | "alert" | "critical" | "error" => L::Error,
        "warning" => L::Warn,
        "notice" | "info" => L::Info,
        "debug" => L::Debug,
        "trace" => L::Trace,
        _ => return None,
    })
}

/// Sets `key.path` in a YAML document to `value`, creating mappings on
/// the way.
fn set_path(doc: &mut Value, key: &str, value: Value) -> Result<(), String> {
    let mut node = doc;
    let comps: Vec<&str> = key.split('.').collect();
    for (i, c) in comps.iter().enumerate() {
        let Value::Mapping(map) = node else {
            return Err(format!(
                "{} is not a mapping, so it has no key '{c}'",
                comps[..i].join(".")
            ));
        };
        let k = Value::String(c.to_string());
        if i + 1 == comps.len() {
            map.insert(k, value);
            return Ok(());
        }
        node = map
            .entry(k)
            .or_insert_with(|| Value::Mapping(Default::default()));
        if node.is_null() {
            *node = Value::Mapping(Default::default());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
