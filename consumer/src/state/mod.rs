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
//! The rule engine reads it through [`State::process`], [`State::thread`],
//! [`State::parent`], [`State::ancestor`], [`State::session_leader`],
//! [`State::fd`], [`State::container_of`], [`State::user`],
//! [`State::group_name`], [`State::login_name`] and [`State::resolve_path`].

mod adapter;
pub mod apply;
pub mod cli;
pub mod container;
pub mod fds;
pub mod idhash;
pub mod ondemand;
pub mod procfs;
pub mod provider;
pub mod runtime;
pub mod threads;
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

    /// Reads every process (threads and fds included) from the /proc tree.
    /// Returns the number of processes read.
    pub fn scan(&mut self) -> usize {
        let Some(root) = self.opts.proc_root.clone() else {
            return 0;
        };
        let pids = match procfs::numeric_entries(&root, usize::MAX) {
            Ok(p) => p,
            Err(e) => {
                log::warn!("scanning {}: {e}", root.display());
                return 0;
            }
        };
        let mut sockets = HashMap::new();
        let mut n = 0;
        for pid in pids {
            if self.fill_process(&root, pid, &mut sockets) {
                n += 1;
            }
        }
        self.table.link_orphans();
        self.stats.scanned_processes += n as u64;
        n
    }

    fn fill_process(
        &mut self,
        root: &Path,
        pid: u32,
        sockets: &mut HashMap<u64, procfs::SocketIndex>,
    ) -> bool {
        let Ok(snap) = procfs::read_process(root, pid) else {
            return false;
        };
        let mut p = snap.process;
        p.container = self.container_for(&snap.cgroup_text);
        if let Some(c) = &p.container {
            self.learn_container_users(c, pid);
        }
        for (fd, info) in procfs::read_fds(root, pid, sockets) {
            p.fds.insert(fd.into(), info);
        }
        self.table.insert_process(p, &snap.threads)
    }

    fn container_for(&mut self, cgroup_text: &str) -> Option<Arc<ContainerInfo>> {
        container::from_cgroup_text(cgroup_text).map(|c| self.containers.get(&c))
    }

    /// Makes sure thread `tid` of process `pid` is known: filled (with
    /// missing ancestors) from /proc if not, else entered with only its
    /// ids (see [`ThreadTable::add_from_event`]).  True when it is known
    /// after (false for tid 0 or a full table).
    pub fn ensure_thread(&mut self, tid: u32, pid: u32) -> bool {
        self.ensure_thread_with_parent(tid, pid, 0)
    }

    /// [`State::ensure_thread`], with the parent's pid when the event
    /// names it (0 when not).
    fn ensure_thread_with_parent(&mut self, tid: u32, pid: u32, ppid: u32) -> bool {
        if tid == 0 || self.table.thread(tid).is_some() {
            return tid != 0;
        }
        self.fill_thread_from_proc(tid, pid) || self.table.add_from_event(tid, pid, ppid)
    }

    /// Fills unknown thread `tid` of process `pid` (and missing ancestors)
    /// from /proc.  True when it is known after.
    fn fill_thread_from_proc(&mut self, tid: u32, pid: u32) -> bool {
        let Some(root) = self.opts.proc_root.clone() else {
            self.stats.lazy_failed += 1;
            return false;
        };
        if self.not_in_proc.contains(&tid) {
            return false;
        }
        let pid = if pid == 0 { tid } else { pid };
        let mut sockets = HashMap::new();
        let ok = if self.table.process(pid).is_some() {
            // A thread we missed of a process we know.
            root.join(format!("{pid}/task/{tid}")).exists()
                && self.table.fork(pid, tid, pid, 0).is_ok()
        } else {
            let ok = self.fill_process(&root, pid, &mut sockets);
            if ok {
                // Ancestors the fill pointed at but we do not have.
                let mut ppid = self.table.process(pid).map_or(0, |p| p.ppid);
                for _ in 0..LAZY_ANCESTRY_DEPTH {
                    if ppid == 0 || self.table.process(ppid).is_some() {
                        break;
                    }
                    if !self.fill_process(&root, ppid, &mut sockets) {
                        break;
                    }
                    ppid = self.table.process(ppid).map_or(0, |p| p.ppid);
                }
                self.table.link_orphans();
            }
            ok && self.table.thread(tid).is_some()
        };
        if ok {
            self.stats.lazy_filled += 1;
        } else {
            self.stats.lazy_failed += 1;
            if self.not_in_proc.len() >= MAX_NEGATIVE_TIDS {
                self.not_in_proc.clear();
            }
            self.not_in_proc.insert(tid);
        }
        ok
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

    // ----- reading -------------------------------------------------------

    /// The thread.
    pub fn thread(&self, tid: u32) -> Option<&Thread> {
        self.table.thread(tid)
    }

    /// The process thread `tid` belongs to (`proc.*`).
    pub fn process(&self, tid: u32) -> Option<&Process> {
        self.table.process_of(tid)
    }

    /// The live process with this pid.
    pub fn process_by_pid(&self, pid: u32) -> Option<&Process> {
        self.table.process(pid)
    }

    /// The process's parent (`proc.pname`, `proc.ppid`, `proc.pcmdline`),
    /// possibly one that has exited.
    pub fn parent<'a>(&'a self, p: &'a Process) -> Option<&'a Process> {
        self.table.parent(p)
    }

    /// `proc.aname[n]` / `proc.apid[n]`: n = 0 is the process, 1 its parent.
    pub fn ancestor<'a>(&'a self, p: &'a Process, n: usize) -> Option<&'a Process> {
        self.table.ancestor(p, n)
    }

    /// The process and all its known ancestors (`proc.aname` without index).
    pub fn lineage<'a>(&'a self, p: &'a Process) -> impl Iterator<Item = &'a Process> + 'a {
        self.table.lineage(p)
    }

    /// `proc.sname`'s process: the session leader.
    pub fn session_leader<'a>(&'a self, p: &'a Process) -> Option<&'a Process> {
        self.table.session_leader(p)
    }

    /// The process group leader (`proc.vpgid.name`).
    pub fn group_leader<'a>(&'a self, p: &'a Process) -> Option<&'a Process> {
        self.table.group_leader(p)
    }

    /// `fd.*` of fd `fd` of thread `tid`'s process.
    pub fn fd(&self, tid: u32, fd: i64) -> Option<&FdInfo> {
        self.table.fd(tid, fd)
    }

    /// `container.*` / `k8s.*` of thread `tid`: `None` on the host.
    pub fn container_of(&self, tid: u32) -> Option<&Arc<ContainerInfo>> {
        self.process(tid)?.container.as_ref()
    }

    /// `container.id` of thread `tid`: the short id, or `host`.
    pub fn container_id(&self, tid: u32) -> Option<&str> {
        let p = self.process(tid).filter(|p| !p.cgroup_unknown)?;
        Some(p.container.as_ref().map_or(HOST, |c| c.id.as_str()))
    }

    /// A cached container by short or full id.
    pub fn container(&self, id: &str) -> Option<Arc<ContainerInfo>> {
        self.containers.cached(id)
    }

    /// The passwd/group database of thread `tid`'s root: the host's
    /// (`<proc>/1/root`, else the host root) or its container's (through `<proc>/<pid>/root` of
    /// the process, or of a live ancestor in the same container).  `None`
    /// for a process whose root is unknown (entered from events alone).
    pub fn user_db(&self, tid: u32) -> Option<Arc<UserDb>> {
        let p = self.process(tid).filter(|p| !p.cgroup_unknown)?;
        let mut users = self.users.borrow_mut();
        match &p.container {
            None => {
                // The host's root as /proc shows it (right even when the
                // consumer runs in a container), else the host root option.
                if let Some(r) = &self.opts.proc_root {
                    let db = users.db(HOST, &r.join("1/root"));
                    if users.cached(HOST).is_some() {
                        return Some(db);
                    }
                }
                Some(users.db(HOST, &self.opts.host_root))
            }
            Some(c) => {
                let key = c.full_id.as_str();
                // A live process of the container whose root is the
                // container's (not one that joined its cgroup before
                // changing root, as a runtime's setup process does).
                let dirs: Vec<PathBuf> = self
                    .lineage(p)
                    .filter(|a| {
                        !a.exited && a.container.as_ref().is_some_and(|ac| ac.full_id == key)
                    })
                    .take(LAZY_ANCESTRY_DEPTH)
                    .filter_map(|a| self.own_root_dir(a.pid))
                    .collect();
                for dir in dirs {
                    let db = users.db(key, &dir);
                    if users.cached(key).is_some() {
                        return Some(db);
                    }
                }
                // All gone (short-lived processes, read after they
                // exited): what was learned while the container's
                // processes were alive.
                users.cached(key)
            }
        }
    }

    /// `<proc>/<pid>/root` when process `pid` is alive and its root is not
    /// the host's (`<proc>/1/root`): the directory to read a container's
    /// passwd and group files from.
    fn own_root_dir(&self, pid: u32) -> Option<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        let proc_root = self.opts.proc_root.as_ref()?;
        let dir = proc_root.join(format!("{pid}/root"));
        let own = std::fs::metadata(&dir).ok()?;
        match std::fs::metadata(proc_root.join("1/root")) {
            Ok(host) if (host.dev(), host.ino()) == (own.dev(), own.ino()) => None,
            _ => Some(dir),
        }
    }

    /// Reads container `c`'s users through process `pid` while it is alive
    /// (at the /proc scan and at exec), so names are known even when the
    /// process that needs them has exited by the time its event is matched.
    fn learn_container_users(&self, c: &ContainerInfo, pid: u32) {
        let mut users = self.users.borrow_mut();
        if users.cached(&c.full_id).is_some() {
            return;
        }
        if let Some(dir) = self.own_root_dir(pid) {
            users.db(&c.full_id, &dir);
        }
    }

    /// `user.*` of thread `tid` (its effective uid, as `user.uid`).
    pub fn user(&self, tid: u32) -> Option<UserEntry> {
        let uid = self.process(tid)?.creds.euid;
        self.user_db(tid)?.user(uid).cloned()
    }

    /// `user.name` of thread `tid`.
    pub fn user_name(&self, tid: u32) -> Option<Arc<str>> {
        self.user(tid).map(|u| u.name)
    }

    /// `user.loginname`: the name of the login uid.
    pub fn login_name(&self, tid: u32) -> Option<Arc<str>> {
        let l = self.process(tid)?.creds.loginuid;
        if l == UNKNOWN_ID {
            return None;
        }
        self.user_db(tid)?.user(l).map(|u| u.name.clone())
    }

    /// `group.name` of thread `tid` (its effective gid).
    pub fn group_name(&self, tid: u32) -> Option<Arc<str>> {
        let gid = self.process(tid)?.creds.egid;
        self.user_db(tid)?.group(gid).cloned()
    }

    /// Makes a path absolute for thread `tid` (`fs.path.*`, fd names):
    /// relative to `dirfd`'s directory or, for AT_FDCWD, the working
    /// directory; `<unresolved>/...` when that is unknown.
    pub fn resolve_path(&self, tid: u32, dirfd: i64, raw: &str) -> String {
        let p = self.process(tid);
        let base: Option<&str> = if dirfd == AT_FDCWD {
            p.map(|p| p.cwd.as_ref()).filter(|c| !c.is_empty())
        } else {
            // A successful *at call shows the fd is a directory even when
            // it was opened without O_DIRECTORY.
            p.and_then(|p| p.fds.get(dirfd))
                .filter(|f| matches!(f.kind, FdKind::Directory | FdKind::File))
                .map(|f| f.path.as_ref())
        };
        fds::resolve(base, raw)
    }

    // ----- updating (the internal API apply() adapts events to) ----------

    /// A task was created (procfork, or clone/fork/vfork returning in the
    /// parent).  An unknown parent is filled from /proc first.
    pub fn on_fork(
        &mut self,
        parent_tid: u32,
        parent_pid: u32,
        child_tid: u32,
        child_pid: u32,
        ts_ns: u64,
    ) {
        match self.table.fork(parent_tid, child_tid, child_pid, ts_ns) {
            Err(ForkError::UnknownParent) => {
                if self.ensure_thread(parent_tid, parent_pid) {
                    let _ = self.table.fork(parent_tid, child_tid, child_pid, ts_ns);
                } else {
                    self.ensure_thread(child_tid, child_pid);
                }
            }
            Ok(()) | Err(ForkError::Full) => {}
        }
    }

    /// A thread exec'd (`old_tid` when a non-leader thread did).  Its
    /// container is re-resolved when the cgroup changed.
    ///
    /// A thread the table does not know is filled from /proc (which already
    /// shows the new image; the event's fields still apply on top), or,
    /// without /proc (a replayed capture) or when /proc no longer has it,
    /// built from the event itself: `parent_tid` (the exec record's `ptid`)
    /// names its parent.
    pub fn on_exec(
        &mut self,
        tid: u32,
        pid: u32,
        old_tid: Option<u32>,
        parent_tid: Option<u32>,
        info: ExecInfo,
    ) {
        let probe = old_tid.unwrap_or(tid);
        // The parent's pid: its thread's process when known, else the tid
        // (a process is mostly forked by its parent's main thread).
        let ppid = parent_tid
            .filter(|&t| t != 0)
            .map_or(0, |t| self.table.thread(t).map_or(t, |th| th.pid));
        if self.table.thread(tid).is_none() && self.table.thread(probe).is_none() {
            self.ensure_thread_with_parent(tid, pid, ppid);
        }
        let new_cgroup = info.cgroup.clone();
        if !self.table.exec(tid, old_tid, info) {
            return;
        }
        if ppid != 0 {
            self.table.adopt_parent(tid, ppid);
        }
        if let Some(cg) = new_cgroup {
            let c = self.container_for(&cg);
            if let Some(c) = &c {
                self.learn_container_users(c, pid);
            }
            if let Some(p) = self.table.process_of_mut(tid) {
                p.cgroup = container::main_cgroup_path(&cg).into();
                p.container = c;
            }
        }
    }

    /// A thread exited.
    pub fn on_exit(&mut self, tid: u32) {
        self.table.exit(tid);
        self.not_in_proc.remove(&tid);
    }

    /// Updates ids after a setuid-family call (`None` keeps a value).
    pub fn on_set_ids(
        &mut self,
        tid: u32,
        uid: Option<u32>,
        euid: Option<u32>,
        gid: Option<u32>,
        egid: Option<u32>,
    ) {
        self.table.set_creds(tid, |c| {
            c.uid = uid.unwrap_or(c.uid);
            c.euid = euid.unwrap_or(c.euid);
            c.gid = gid.unwrap_or(c.gid);
            c.egid = egid.unwrap_or(c.egid);
        });
    }

    /// The working directory changed (chdir, or fchdir with the fd's
    /// path): a relative path is resolved against the old working
    /// directory; when that is unknown, so is the new one.
    pub fn on_chdir(&mut self, tid: u32, path: &str) {
        let abs = self.resolve_path(tid, AT_FDCWD, path);
        if let Some(p) = self.table.process_of_mut(tid) {
            p.cwd = if abs.starts_with('/') {
                abs.into()
            } else {
                "".into()
            };
        }
    }

    /// fchdir(fd) succeeded: the working directory is the fd's path.
    pub fn on_fchdir(&mut self, tid: u32, fd: i64) {
        let dir = self
            .fd(tid, fd)
            .filter(|f| matches!(f.kind, FdKind::Directory | FdKind::File))
            .map(|f| f.path.to_string())
            .filter(|p| p.starts_with('/'));
        match dir {
            Some(d) => self.on_chdir(tid, &d),
            None => {
                if let Some(p) = self.table.process_of_mut(tid) {
                    p.cwd = "".into();
                }
            }
        }
    }

    /// setsid() succeeded and returned `vsid` (the session id in the
    /// caller's pid namespace): the process leads a new session and a new
    /// process group, without a controlling terminal.
    pub fn on_setsid(&mut self, tid: u32, vsid: u32) {
        if let Some(p) = self.table.process_of_mut(tid) {
            p.sid = p.pid;
            p.pgid = p.pid;
            if p.vpid == 0 {
                p.vpid = vsid;
            }
            p.vpgid = if vsid != 0 { vsid } else { p.vpid };
            p.tty = 0;
        }
    }

    /// setpgid(`pid`, `pgid`) succeeded (both as the caller's pid namespace
    /// sees them; 0 means the caller, and the target's own pid).  The
    /// target is the caller or a process of its namespace (its child).  A
    /// group id that cannot be mapped to the initial namespace leaves
    /// `proc.pgid` unknown (0); `proc.vpgid` is what was asked.
    pub fn on_setpgid(&mut self, tid: u32, pid: i64, pgid: i64) {
        let Some(caller) = self.process(tid) else {
            return;
        };
        let (Ok(vpid_arg), Ok(vpgid_arg)) = (u32::try_from(pid), u32::try_from(pgid)) else {
            return;
        };
        let (caller_pid, caller_vpid, pidns) = (caller.pid, caller.vpid, caller.pidns);
        let init_ns = caller.in_initial_pidns();
        // Namespace id -> initial-namespace pid, for processes of the
        // caller's namespace.
        let to_global = |s: &State, v: u32| -> Option<u32> {
            if v == caller_vpid && caller_vpid != 0 {
                return Some(caller_pid);
            }
            if init_ns {
                return Some(v);
            }
            s.table
                .processes()
                .find(|p| p.vpid == v && p.pidns == pidns && pidns != 0)
                .map(|p| p.pid)
        };
        let target = if vpid_arg == 0 {
            Some(caller_pid)
        } else {
            to_global(self, vpid_arg)
        };
        let Some(target) = target else { return };
        let target_vpid = if vpid_arg == 0 { caller_vpid } else { vpid_arg };
        let (vpgid, pgid) = if vpgid_arg == 0 {
            (target_vpid, Some(target))
        } else {
            (vpgid_arg, to_global(self, vpgid_arg))
        };
        if let Some(p) = self.table.process_mut(target) {
            p.vpgid = vpgid;
            p.pgid = pgid.unwrap_or(0);
        }
    }

    fn fds_mut(&mut self, tid: u32) -> Option<&mut fds::FdTable> {
        self.table.process_of_mut(tid).map(|p| &mut p.fds)
    }

    /// open/openat/openat2/creat returned `fd`.  `fullpath` is the
    /// kernel-resolved path when the event has one; otherwise `raw` is
    /// resolved against `dirfd` or the working directory.
    pub fn on_open(
        &mut self,
        tid: u32,
        fd: i64,
        dirfd: i64,
        raw: &str,
        fullpath: Option<&str>,
        flags: u32,
    ) {
        if fd < 0 {
            return;
        }
        let path = match fullpath.filter(|p| p.starts_with('/')) {
            Some(p) => fds::normalized(p),
            None => Cow::Owned(self.resolve_path(tid, dirfd, raw)),
        };
        let directory = flags & O_DIRECTORY != 0;
        let Some(t) = self.fds_mut(tid) else { return };
        // A process often reopens the same file into the same fd number
        // (a loop reading /proc/self/stat): then the entry is made anew
        // in place, keeping its path rather than allocating it again.
        if let Some(old) = t.get_mut(fd) {
            if *old.path == *path {
                *old = FdInfo::file(std::mem::take(&mut old.path), flags, directory);
                return;
            }
        }
        t.insert(fd, FdInfo::file(path.into_owned(), flags, directory));
    }

    /// socket() returned `fd`.
    pub fn on_socket(&mut self, tid: u32, fd: i64, domain: i64, sock_type: i64, proto: i64) {
        if fd < 0 {
            return;
        }
        let kind = FdKind::from_domain(domain);
        let cloexec = if sock_type as i32 & libc::SOCK_CLOEXEC != 0 {
            O_CLOEXEC
        } else {
            0
        };
        let info = if kind.is_inet() {
            FdInfo::inet(
                kind,
                InetEnds {
                    proto: L4Proto::from_socket(sock_type, proto),
                    ..InetEnds::default()
                },
                cloexec,
            )
        } else {
            FdInfo::other(kind, "", cloexec)
        };
        if let Some(t) = self.fds_mut(tid) {
            t.insert(fd, info);
        }
    }

    fn set_ends(
        &mut self,
        tid: u32,
        fd: i64,
        local: Option<SocketAddr>,
        remote: Option<SocketAddr>,
        role: Role,
    ) {
        let Some(t) = self.fds_mut(tid) else { return };
        let kind_of = |a: &SocketAddr| {
            if a.is_ipv4() {
                FdKind::Ipv4
            } else {
                FdKind::Ipv6
            }
        };
        match t.get_mut(fd) {
            Some(info) if info.kind.is_inet() => {
                let e = info.inet.get_or_insert_with(Box::default);
                e.local = local.or(e.local);
                e.remote = remote.or(e.remote);
                e.role = role;
            }
            Some(_) => {}
            None => {
                // A socket from before we started: the addresses tell its kind.
                if let Some(a) = local.as_ref().or(remote.as_ref()) {
                    t.insert(
                        fd,
                        FdInfo::inet(
                            kind_of(a),
                            InetEnds {
                                local,
                                remote,
                                proto: L4Proto::Unknown,
                                role,
                            },
                            0,
                        ),
                    );
                }
            }
        }
    }

    /// connect() on `fd`: the ends as the kernel knows them after the
    /// call (`local` may be unknown).
    pub fn on_connect(
        &mut self,
        tid: u32,
        fd: i64,
        local: Option<SocketAddr>,
        remote: Option<SocketAddr>,
    ) {
        self.set_ends(tid, fd, local, remote, Role::Client);
    }

    /// connect() on a unix socket: its name is the peer's path.
    pub fn on_connect_unix(&mut self, tid: u32, fd: i64, path: &str) {
        if let Some(info) = self.fds_mut(tid).and_then(|t| t.get_mut(fd)) {
            if info.kind == FdKind::Unix {
                info.path = path.into();
            }
        }
    }

    /// bind() on `fd`.
    pub fn on_bind(
        &mut self,
        tid: u32,
        fd: i64,
        local: Option<SocketAddr>,
        unix_path: Option<&str>,
    ) {
        if let Some(path) = unix_path {
            if let Some(info) = self.fds_mut(tid).and_then(|t| t.get_mut(fd)) {
                info.path = path.into();
            }
            return;
        }
        self.set_ends(tid, fd, local, None, Role::Server);
    }

    /// accept()/accept4() returned `new_fd` for listening socket `fd`
    /// (which may be unknown: -1).
    pub fn on_accept(
        &mut self,
        tid: u32,
        fd: i64,
        new_fd: i64,
        local: Option<SocketAddr>,
        remote: Option<SocketAddr>,
        flags: u32,
    ) {
        if new_fd < 0 {
            return;
        }
        let Some(t) = self.fds_mut(tid) else { return };
        let listener = t.get(fd).cloned();
        let kind = listener
            .as_ref()
            .map(|l| l.kind)
            .filter(|k| *k != FdKind::Unknown)
            .or_else(|| {
                local.or(remote).map(|a| {
                    if a.is_ipv4() {
                        FdKind::Ipv4
                    } else {
                        FdKind::Ipv6
                    }
                })
            });
        let cloexec = if flags as i32 & libc::SOCK_CLOEXEC != 0 {
            O_CLOEXEC
        } else {
            0
        };
        let info = match kind {
            Some(k) if k.is_inet() => FdInfo::inet(
                k,
                InetEnds {
                    local: local.or(listener.as_ref().and_then(|l| l.ends()?.local)),
                    remote,
                    proto: listener
                        .as_ref()
                        .and_then(|l| l.ends())
                        .map_or(L4Proto::Tcp, |e| e.proto),
                    role: Role::Server,
                },
                cloexec,
            ),
            Some(k) => FdInfo::other(k, listener.map_or("".into(), |l| l.path), cloexec),
            None => FdInfo::other(FdKind::Unknown, "", cloexec),
        };
        t.insert(new_fd, info);
    }

    /// pipe()/pipe2() returned two ends.
    pub fn on_pipe(&mut self, tid: u32, fd1: i64, fd2: i64, flags: u32) {
        if let Some(t) = self.fds_mut(tid) {
            for fd in [fd1, fd2] {
                t.insert(fd, FdInfo::other(FdKind::Pipe, "", flags));
            }
        }
    }

    /// socketpair() returned two ends.
    pub fn on_socketpair(&mut self, tid: u32, fd1: i64, fd2: i64, domain: i64, sock_type: i64) {
        let kind = FdKind::from_domain(domain);
        let flags = if sock_type as i32 & libc::SOCK_CLOEXEC != 0 {
            O_CLOEXEC
        } else {
            0
        };
        if let Some(t) = self.fds_mut(tid) {
            for fd in [fd1, fd2] {
                t.insert(fd, FdInfo::other(kind, "", flags));
            }
        }
    }

    /// memfd_create() returned `fd`.
    pub fn on_memfd(&mut self, tid: u32, fd: i64, name: &str, flags: u32) {
        // MFD_CLOEXEC is 1.
        let f = if flags & 1 != 0 { O_CLOEXEC } else { 0 };
        if let Some(t) = self.fds_mut(tid) {
            t.insert(fd, FdInfo::other(FdKind::Memfd, format!("memfd:{name}"), f));
        }
    }

    /// An fd of another kind was created (eventfd, signalfd, epoll, ...).
    pub fn on_other_fd(&mut self, tid: u32, fd: i64, kind: FdKind, cloexec: bool) {
        if let Some(t) = self.fds_mut(tid) {
            t.insert(
                fd,
                FdInfo::other(kind, "", if cloexec { O_CLOEXEC } else { 0 }),
            );
        }
    }

    /// dup/dup2/dup3/fcntl(F_DUPFD*) made `newfd` a copy of `oldfd`.
    pub fn on_dup(&mut self, tid: u32, oldfd: i64, newfd: i64, cloexec: bool) {
        if newfd < 0 {
            return;
        }
        if let Some(t) = self.fds_mut(tid) {
            t.dup(oldfd, newfd, cloexec);
        }
    }

    /// fcntl(F_SETFD) changed close-on-exec.
    pub fn on_set_cloexec(&mut self, tid: u32, fd: i64, on: bool) {
        if let Some(t) = self.fds_mut(tid) {
            t.set_cloexec(fd, on);
        }
    }

    /// close() of `fd` (applied when it succeeded).
    pub fn on_close(&mut self, tid: u32, fd: i64) {
        if let Some(t) = self.fds_mut(tid) {
            t.close(fd);
        }
    }

    // ----- output ----------------------------------------------------------

    /// The `proc`, `user`, `group` and `container` context of thread `tid`
    /// as JSON objects keyed by field name (`name`, `pname`, ...), to add
    /// to an event's JSON.  Unknown values are `null`; an unknown thread
    /// gives no objects.
    pub fn context_json(&self, tid: u32) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(p) = self.process(tid) else {
            return out;
        };
        let parent = self.parent(p);
        let anames: Vec<&str> = self.lineage(p).skip(1).map(Process::name).collect();
        let sname = self.session_leader(p).map(Process::name);
        let vtid = self.thread(tid).map_or(0, |t| t.vtid);
        let nz = |v: u32| if v == 0 { Value::Null } else { json!(v) };
        out.insert(
            "proc".into(),
            json!({
                "pid": p.pid,
                "vpid": nz(p.vpid),
                "vtid": nz(vtid),
                "name": p.name(),
                "exe": p.exe(),
                "exepath": &*p.exepath,
                "cmdline": p.cmdline_line(),
                "cwd": if p.cwd.is_empty() { Value::Null } else { json!(&*p.cwd) },
                "tty": p.tty,
                "ppid": p.ppid,
                "pname": parent.map(Process::name),
                "pcmdline": parent.map(Process::cmdline_line),
                "anames": anames,
                "sid": p.sid,
                "sname": sname,
                "vpgid": nz(p.vpgid),
            }),
        );
        let id = |v: u32| {
            if v == UNKNOWN_ID {
                Value::Null
            } else {
                json!(v)
            }
        };
        out.insert(
            "user".into(),
            json!({
                "uid": id(p.creds.euid),
                "name": self.user_name(tid).as_deref(),
                "loginuid": id(p.creds.loginuid),
                "loginname": self.login_name(tid).as_deref(),
            }),
        );
        out.insert(
            "group".into(),
            json!({"gid": id(p.creds.egid), "name": self.group_name(tid).as_deref()}),
        );
        let c = match &p.container {
            None if p.cgroup_unknown => json!({"id": null}),
            None => json!({"id": HOST}),
            Some(c) => json!({
                "id": c.id,
                "full_id": c.full_id,
                "type": c.runtime.name(),
                "metadata": c.metadata_found,
                "name": c.name,
                "image": c.image,
                "image.repository": c.image_repository,
                "image.tag": c.image_tag,
                "privileged": c.privileged,
                "k8s.pod.name": c.pod_name,
                "k8s.ns.name": c.pod_namespace,
                "k8s.pod.uid": c.pod_uid,
                "k8s.pod.labels": c.pod_labels.as_ref().map(|l| {
                    l.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>()
                }),
            }),
        };
        out.insert("container".into(), c);
        out
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
