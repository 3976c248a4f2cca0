//! Process state: who did what, where.
//!
//! [`State`] keeps the thread table ([`threads`]), each process's fds
//! ([`fds`]), user and group names per root ([`users`]), and container
//! metadata ([`container`] for the id from cgroups, [`runtime`] for what
//! the runtimes' state on disk says).  It starts from a scan of a `/proc`
//! tree ([`procfs`]) and is kept current by decoded events
//! ([`State::apply`]); an event from a thread it does not know (missed in
//! a drop) fills that thread lazily from `/proc` and is counted.
//!
//! Without /proc (a replayed capture: its pids are another machine's, so
//! replay has no proc root unless `--proc-root` names one), or when /proc
//! no longer has a thread, the state learns from the events alone: an
//! execve exit record builds the process (exe, args, cwd, ids, tty,
//! cgroup, pid namespace, vpid/vtid, env, comm, and its parent from
//! `ptid`), procfork/clone link a child to its parent, and a thread seen
//! only in other events gets an entry with its tid and pid (counted in
//! [`threads::TableStats::from_events`]); what such an entry does not know
//! (name, command line, container, user) is unknown to the rules, not
//! empty or `host`.
//!
//! Ancestry keeps each process's original parent: when a parent exits,
//! the kernel re-parents its children to a reaper (init or a subreaper),
//! but the table keeps the exited parent's entry while a descendant lives,
//! so `proc.ppid`, `proc.pname` and `proc.aname[N]` name who started a
//! daemon rather than the reaper that adopted it.
//!
//! Rooms: `fill` (the /proc scan and lazy fill), [`apply`] (events to
//! handlers, by what the event type means in `kestrel_abi::roles`),
//! `params` (each type's parameter slots), `update` (the event
//! handlers), `read` (the read API),
//! [`provider`] (the state as the rule engine's field provider, with
//! [`ondemand`] for what it reads from /proc only when asked), `context`
//! (JSON context for `events --context`).
//!
//! The rule engine reads it through [`State::process`], [`State::thread`],
//! [`State::parent`], [`State::ancestor`], [`State::session_leader`],
//! [`State::fd`], [`State::container_of`], [`State::user`],
//! [`State::group_name`], [`State::login_name`] and [`State::resolve_path`].

pub mod apply;
mod bolt;
pub mod container;
mod context;
pub mod fds;
mod fill;
pub mod idhash;
pub mod ondemand;
mod params;
pub mod process;
pub mod procfs;
pub mod provider;
mod read;
pub mod runtime;
pub mod threads;
mod update;
pub mod users;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use self::container::HOST;
use self::fds::{FdInfo, FdKind, InetEnds, L4Proto, Role, AT_FDCWD, O_CLOEXEC, O_DIRECTORY};
use self::idhash::IdSet;
use self::runtime::{ContainerCache, ContainerInfo};
use self::threads::{ExecInfo, ForkError, Process, Thread, ThreadTable, UNKNOWN_ID};
use self::users::{UserCache, UserDb, UserEntry};

/// How deep a lazy fill looks for missing ancestors.
const LAZY_ANCESTRY_DEPTH: usize = 16;
/// Most tids remembered as "not in /proc" (so a burst of events from a
/// vanished thread costs one failed read).
const MAX_NEGATIVE_TIDS: usize = 4096;

/// Where state comes from and how big it may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateOptions {
    /// The `/proc` tree to scan and fill from; `None` for no /proc at all
    /// (replaying a capture from another machine).
    pub proc_root: Option<PathBuf>,
    /// The host's root, under which runtime state is found.
    pub host_root: PathBuf,
    /// Hard cap on threads.
    pub max_threads: usize,
    /// Time between checks of one root's passwd/group files.
    pub user_refresh: Duration,
}

impl StateOptions {
    /// Options for replaying a capture: no `/proc` unless one is given
    /// (a capture's pids are those of the machine it was made on, so the
    /// state learns processes from its events alone).
    pub fn for_replay(proc_root: Option<PathBuf>) -> StateOptions {
        StateOptions {
            proc_root,
            ..StateOptions::default()
        }
    }
}

/// Events the state learns from: the process life cycle (fork, clone,
/// exec; procfork/procexec/procexit need no syscall), ids (set*id,
/// setsid, setpgid), the working directory (chdir, fchdir) and the fd
/// table (every fd-creating call, dup*, fcntl, close).  A live session
/// asks the module for these besides what its rules need, so `proc.*`,
/// `fd.*`, `user.*` and `container.*` stay answerable.  The event roles
/// table (`kestrel_abi::roles`) says which they are.
pub fn state_events() -> impl Iterator<Item = &'static str> {
    kestrel_abi::roles::state_event_names()
}

/// The syscalls behind [`state_events`] that the module's event table
/// has (names it lacks are skipped, so an older table still works).
pub fn needed_syscalls() -> kestrel_abi::SyscallMask {
    let known: HashSet<&str> = kestrel_abi::schemas().iter().map(|s| s.name).collect();
    kestrel_abi::syscalls_for_events(state_events().filter(|n| known.contains(n)))
        .unwrap_or_default()
}

impl Default for StateOptions {
    fn default() -> Self {
        StateOptions {
            proc_root: Some(PathBuf::from("/proc")),
            host_root: PathBuf::from("/"),
            max_threads: threads::DEFAULT_MAX_THREADS,
            user_refresh: users::DEFAULT_REFRESH,
        }
    }
}

/// Counters of what the state did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateStats {
    /// Processes read by the start-up scan.
    pub scanned_processes: u64,
    /// Events applied.
    pub events: u64,
    /// Threads filled from /proc because an event named them first.
    pub lazy_filled: u64,
    /// Unknown threads that /proc no longer had.
    pub lazy_failed: u64,
}

/// Threads, processes, fds, users and containers.
#[derive(Debug)]
pub struct State {
    opts: StateOptions,
    table: ThreadTable,
    containers: ContainerCache,
    users: RefCell<UserCache>,
    not_in_proc: IdSet<u32>,
    pending: Option<Pending>,
    stats: StateStats,
}

/// A removal held back until the next event, so the event that causes it
/// (close, procexit) is still evaluated with what it removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Close { tid: u32, fd: i64 },
    Exit { tid: u32 },
}

impl State {
    /// An empty state; call [`State::scan`] to fill it from /proc.
    pub fn new(opts: StateOptions) -> State {
        State {
            table: ThreadTable::new(opts.max_threads),
            containers: ContainerCache::new(&opts.host_root),
            users: RefCell::new(UserCache::new(opts.user_refresh)),
            not_in_proc: IdSet::default(),
            pending: None,
            stats: StateStats::default(),
            opts,
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> &StateOptions {
        &self.opts
    }

    /// Counters.
    pub fn stats(&self) -> StateStats {
        self.stats
    }

    /// The thread table (counts, iteration, memory).
    pub fn table(&self) -> &ThreadTable {
        &self.table
    }

    /// The container cache (lookups made, found).
    pub fn containers(&self) -> &ContainerCache {
        &self.containers
    }

    /// Carries out a removal held back by [`State::apply`] (the fd of a
    /// close, the thread of a procexit).  `apply` calls it first thing, so
    /// callers only need it to see the state after the last event.
    pub fn flush_pending(&mut self) {
        match self.pending.take() {
            Some(Pending::Close { tid, fd }) => self.on_close(tid, fd),
            Some(Pending::Exit { tid }) => self.on_exit(tid),
            None => {}
        }
    }

    pub(crate) fn defer_close(&mut self, tid: u32, fd: i64) {
        self.pending = Some(Pending::Close { tid, fd });
    }

    pub(crate) fn defer_exit(&mut self, tid: u32) {
        self.pending = Some(Pending::Exit { tid });
    }

    /// Adds a process directly (tests and benchmarks that build state
    /// without a /proc tree).  Returns false when the table refused it.
    pub fn insert_process(&mut self, p: Process, threads: &[(u32, u32)]) -> bool {
        self.table.insert_process(p, threads)
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Temporary directories for fixtures (std only: no extra dependency).
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    static NEXT: AtomicU64 = AtomicU64::new(0);

    /// A directory under the system temp dir, removed on drop.
    pub struct TempDir(PathBuf);

    impl TempDir {
        /// A new empty directory with a unique name.
        pub fn new(tag: &str) -> TempDir {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let p = std::env::temp_dir().join(format!(
                "kestrel-test-{tag}-{}-{n}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&p).expect("creating a temp dir");
            TempDir(p)
        }

        /// Its path.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests;
