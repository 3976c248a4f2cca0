//! `kestrel events`: the state's command-line options, and events printed
//! with their context.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use crate::decode::Event;
use crate::output::{write_json_str, EventLineWriter};
use crate::state::{State, StateOptions};

/// `--proc-root`, `--host-root`, `--context`.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct StateArgs {
    /// The /proc tree to scan at start and to fill unknown threads from
    /// (e.g. /host/proc when running in a container).
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
    /// The host's root, under which container runtimes keep their state
    /// (run/containerd, run/containers, var/lib/docker).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub host_root: PathBuf,
    /// Track processes, fds, users and containers, and add `proc`, `user`,
    /// `group` and `container` objects to each event.
    #[arg(long)]
    pub context: bool,
}

impl StateArgs {
    /// The state options these arguments ask for.
    pub fn options(&self) -> StateOptions {
        StateOptions {
            proc_root: Some(self.proc_root.clone()),
            host_root: self.host_root.clone(),
            ..StateOptions::default()
        }
    }

    /// A state scanned from the /proc tree when `--context` was given.
    pub fn build(&self) -> Option<State> {
        if !self.context {
            return None;
        }
        let mut s = State::new(self.options());
        let n = s.scan();
        log::info!(
            "state: scanned {n} processes ({} threads) from {}",
            s.table().thread_count(),
            self.proc_root.display()
        );
        Some(s)
    }
}

/// Writes one event as a JSON line through `writer`, with the thread's
/// context objects (`proc`, `user`, `group`, `container`) after the event's
/// own members when a state is given (the state should have applied the
/// event already).
pub fn write_event_with_context(
    writer: &mut EventLineWriter,
    out: &mut impl Write,
    ev: &Event<'_>,
    ring: u32,
    wall_offset_ns: i64,
    state: Option<&State>,
) -> io::Result<()> {
    writer.write_event_fields(out, ev, ring, wall_offset_ns)?;
    if let Some(s) = state {
        for (key, value) in s.context_json(ev.tid) {
            out.write_all(b",")?;
            write_json_str(out, &key)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut *out, &value)?;
        }
    }
    out.write_all(b"}\n")
}
