//! Kestrel's consumer library.
//!
//! Modules follow the data path:
//!
//! - [`ring`]: lock-free reading of one per-CPU ring (and a userspace
//!   producer with the module's protocol, for tests and benchmarks);
//! - [`merge`]: k-way merge of the rings by timestamp;
//! - [`record`]: validation of one raw record;
//! - [`decode`]: raw record → typed event, driven by the ABI's event table;
//! - [`flags`]: symbolic rendering of flags and other numbers;
//! - [`output`]: event → JSON line, and alert delivery to the sinks;
//! - [`capture`]: records to and from capture files;
//! - [`device`]: `/dev/kestrel`, its ioctls and ring mappings;
//! - [`live`]: a capture session tying the device, rings and merge together;
//! - [`state`]: threads, fds, users and containers, kept by the events;
//! - [`rules`]: Falco-style rules, compiled, indexed and matched;
//! - [`config`]: the service's configuration file and `-o` overrides;
//! - [`service`]: `kestrel run` as a service: alert path, outputs, metrics,
//!   reload, signals;
//! - [`logging`]: kestrel's own log (stderr, syslog);
//! - [`cli`]: the `kestrel` command line over all of the above.

#![warn(missing_docs)]

pub mod capture;
pub mod cli;
pub mod config;
pub mod decode;
pub mod device;
pub mod flags;
pub mod live;
pub mod logging;
pub mod merge;
pub mod output;
pub mod record;
pub mod ring;
pub mod rules;
pub mod service;
pub mod state;
pub mod workload;
