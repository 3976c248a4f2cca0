//! The thread table: tid → thread, threads of one process sharing its
//! [`Process`] (the types are in `process`),
//! processes linked to their parents for the ancestry fields
//! (`proc.pname`, `proc.aname[N]`, `proc.apid[N]`, `proc.pcmdline`,
//! `proc.sname`, ...).
//!
//! Bounded: a process is reaped when its last thread exits unless a process
//! still in the table descends from it (its fields are that child's
//! ancestry); it goes when its last such child goes.  Ancestry follows the
//! parent each process had when it was created, not the reaper the kernel
//! gives orphans, so `proc.aname` keeps naming who started a daemon.  A
//! hard cap on threads refuses (and counts) new entries past it.

use super::fds::{FdInfo, FdTable};
use super::idhash::IdMap;

pub use super::process::*;

/// Counters of the table's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Threads added (scan, fork, lazy fill).
    pub threads_added: u64,
    /// Threads removed on exit.
    pub threads_exited: u64,
    /// Process entries freed.
    pub processes_reaped: u64,
    /// Threads not added because the table was full.
    pub refused_full: u64,
    /// Fork events whose parent thread was unknown.
    pub unknown_parent: u64,
    /// Threads entered from events alone (no /proc entry to fill them
    /// from): a tid and pid, plus what an exec record carried.
    pub from_events: u64,
}

/// Why a fork could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkError {
    /// The parent thread is not in the table.
    UnknownParent,
    /// The table is at its cap.
    Full,
}

/// tid → thread, pid → process.
#[derive(Debug)]
pub struct ThreadTable {
    threads: IdMap<u32, Thread>,
    slab: Vec<Option<Process>>,
    free: Vec<u32>,
    live_pids: IdMap<u32, u32>,
    max_threads: usize,
    /// Counters.
    pub stats: TableStats,
}

impl Default for ThreadTable {
    fn default() -> Self {
        ThreadTable::new(DEFAULT_MAX_THREADS)
    }
}

impl ThreadTable {
    /// An empty table holding at most `max_threads` threads (and as many
    /// process entries, dead ancestors included).
    pub fn new(max_threads: usize) -> ThreadTable {
        ThreadTable {
            threads: IdMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            live_pids: IdMap::default(),
            max_threads: max_threads.max(1),
            stats: TableStats::default(),
        }
    }

    /// Live threads in the table.
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// Process entries (live, and dead ones kept for their descendants).
    pub fn process_count(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    /// Live processes.
    pub fn live_process_count(&self) -> usize {
        self.live_pids.len()
    }

    fn full(&self) -> bool {
        self.threads.len() >= self.max_threads || self.process_count() >= self.max_threads
    }

    fn alloc(&mut self, p: Process) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(p);
                i
            }
            None => {
                self.slab.push(Some(p));
                (self.slab.len() - 1) as u32
            }
        }
    }

    fn proc_at(&self, idx: u32) -> Option<&Process> {
        self.slab.get(idx as usize).and_then(Option::as_ref)
    }

    fn proc_at_mut(&mut self, idx: u32) -> Option<&mut Process> {
        self.slab.get_mut(idx as usize).and_then(Option::as_mut)
    }

    /// The thread.
    pub fn thread(&self, tid: u32) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// The thread's process.
    pub fn process_of(&self, tid: u32) -> Option<&Process> {
        self.threads.get(&tid).and_then(|t| self.proc_at(t.proc))
    }

    /// The thread's process, to update.
    pub fn process_of_mut(&mut self, tid: u32) -> Option<&mut Process> {
        let idx = self.threads.get(&tid)?.proc;
        self.proc_at_mut(idx)
    }

    /// The live process with this pid.
    pub fn process(&self, pid: u32) -> Option<&Process> {
        self.live_pids.get(&pid).and_then(|&i| self.proc_at(i))
    }

    /// The live process with this pid, to update.
    pub fn process_mut(&mut self, pid: u32) -> Option<&mut Process> {
        let idx = *self.live_pids.get(&pid)?;
        self.proc_at_mut(idx)
    }

    /// The process's parent entry (possibly exited).
    pub fn parent(&self, p: &Process) -> Option<&Process> {
        p.parent.and_then(|i| self.proc_at(i))
    }

    /// The process itself (n = 0), its parent (1), grandparent (2), ...
    pub fn ancestor<'a>(&'a self, p: &'a Process, n: usize) -> Option<&'a Process> {
        self.lineage(p).nth(n)
    }

    /// The process, then each ancestor up to the oldest one known.  Bounded
    /// by the table size (a cycle cannot form: parents are older entries).
    pub fn lineage<'a>(&'a self, p: &'a Process) -> impl Iterator<Item = &'a Process> + 'a {
        let mut next = Some(p);
        let mut left = self.slab.len() + 1;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let cur = next?;
            next = self.parent(cur);
            Some(cur)
        })
    }

    /// `proc.sname`'s process: the session leader (pid == sid), looked for
    /// among the ancestors first, then among live processes.
    pub fn session_leader<'a>(&'a self, p: &'a Process) -> Option<&'a Process> {
        if p.sid == 0 {
            return None;
        }
        self.lineage(p)
            .find(|a| a.pid == p.sid)
            .or_else(|| self.process(p.sid))
    }

    /// The process group leader (pid == pgid).
    pub fn group_leader<'a>(&'a self, p: &'a Process) -> Option<&'a Process> {
        if p.pgid == 0 {
            return None;
        }
        self.lineage(p)
            .find(|a| a.pid == p.pgid)
            .or_else(|| self.process(p.pgid))
    }

    /// Adds a process (from /proc) with its threads `(tid, vtid)`.  Its
    /// parent is linked when the parent's pid is in the table.  A process
    /// already known under this pid is replaced.  Threads past the cap are
    /// refused and counted; returns false when none could be added.
    pub fn insert_process(&mut self, mut p: Process, threads: &[(u32, u32)]) -> bool {
        if let Some(&old) = self.live_pids.get(&p.pid) {
            self.drop_process_threads(old);
        }
        if self.full() {
            self.stats.refused_full += threads.len() as u64;
            return false;
        }
        p.parent = if p.ppid != 0 && p.ppid != p.pid {
            self.live_pids.get(&p.ppid).copied()
        } else {
            None
        };
        p.live_threads = 0;
        p.children = 0;
        p.exited = false;
        let pid = p.pid;
        let parent = p.parent;
        let idx = self.alloc(p);
        if let Some(pi) = parent {
            if let Some(pp) = self.proc_at_mut(pi) {
                pp.children += 1;
            }
        }
        self.live_pids.insert(pid, idx);
        for &(tid, vtid) in threads {
            self.add_thread(idx, pid, tid, vtid);
        }
        if self.proc_at(idx).is_some_and(|p| p.live_threads == 0) {
            self.live_pids.remove(&pid);
            self.mark_exited(idx);
            return false;
        }
        true
    }

    /// Links each process whose parent was added after it (a /proc scan
    /// reads pids in order, and a parent can have a larger pid).
    pub fn link_orphans(&mut self) {
        let missing: Vec<(u32, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let p = p.as_ref()?;
                (p.parent.is_none() && p.ppid != 0 && p.ppid != p.pid).then_some((i as u32, p.ppid))
            })
            .collect();
        for (idx, ppid) in missing {
            if let Some(&pi) = self.live_pids.get(&ppid) {
                if pi != idx {
                    if let Some(p) = self.proc_at_mut(idx) {
                        p.parent = Some(pi);
                    }
                    if let Some(pp) = self.proc_at_mut(pi) {
                        pp.children += 1;
                    }
                }
            }
        }
    }

    fn add_thread(&mut self, idx: u32, pid: u32, tid: u32, vtid: u32) -> bool {
        if let Some(old) = self.threads.get(&tid).copied() {
            if old.proc == idx {
                return true;
            }
            self.exit(tid);
        }
        if self.threads.len() >= self.max_threads {
            self.stats.refused_full += 1;
            return false;
        }
        self.threads.insert(
            tid,
            Thread {
                tid,
                pid,
                vtid,
                proc: idx,
            },
        );
        if let Some(p) = self.proc_at_mut(idx) {
            p.live_threads += 1;
        }
        self.stats.threads_added += 1;
        true
    }

    /// Enters thread `tid` of process `pid` known only from an event (no
    /// /proc to fill it from): it joins the live process `pid` if there is
    /// one, else a new process entry with only its ids (and `ppid`, 0 when
    /// unknown, linked when that process is in the table).  Counted in
    /// [`TableStats::from_events`]; false when the table is full.
    pub fn add_from_event(&mut self, tid: u32, pid: u32, ppid: u32) -> bool {
        if tid == 0 {
            return false;
        }
        let pid = if pid == 0 { tid } else { pid };
        let added = match self.live_pids.get(&pid).copied() {
            Some(idx) => self.add_thread(idx, pid, tid, 0),
            None => self.insert_process(
                Process {
                    pid,
                    ppid,
                    cgroup_unknown: true,
                    ..Process::default()
                },
                &[(tid, 0)],
            ),
        };
        if added {
            self.stats.from_events += 1;
        }
        added
    }

    /// Sets the parent of thread `tid`'s process when it is not known yet
    /// (an entry made from events before the record that names the parent)
    /// and links it when `ppid` is a live process.
    pub fn adopt_parent(&mut self, tid: u32, ppid: u32) {
        let Some(idx) = self.threads.get(&tid).map(|t| t.proc) else {
            return;
        };
        // Never link into its own descendants (no cycle in the ancestry).
        let parent_idx = self
            .live_pids
            .get(&ppid)
            .copied()
            .filter(|&pi| !self.descends_from(pi, idx));
        let Some(p) = self.proc_at_mut(idx) else {
            return;
        };
        if p.parent.is_some() || ppid == 0 || ppid == p.pid || (p.ppid != 0 && p.ppid != ppid) {
            return;
        }
        p.ppid = ppid;
        if let Some(pi) = parent_idx.filter(|&pi| pi != idx) {
            p.parent = Some(pi);
            if let Some(pp) = self.proc_at_mut(pi) {
                pp.children += 1;
            }
        }
    }

    /// True when entry `idx` is `ancestor` or descends from it.
    fn descends_from(&self, mut idx: u32, ancestor: u32) -> bool {
        for _ in 0..=self.slab.len() {
            if idx == ancestor {
                return true;
            }
            match self.proc_at(idx).and_then(|p| p.parent) {
                Some(next) => idx = next,
                None => return false,
            }
        }
        true
    }

    /// A task was created: `child_tid` of process `child_pid`, by thread
    /// `parent_tid`.  A new thread joins its process; a new process copies
    /// the parent's (exe, args, cwd, ids, cgroup, container, fds) and links
    /// to it.
    pub fn fork(
        &mut self,
        parent_tid: u32,
        child_tid: u32,
        child_pid: u32,
        ts_ns: u64,
    ) -> Result<(), ForkError> {
        let Some(parent) = self.threads.get(&parent_tid).copied() else {
            self.stats.unknown_parent += 1;
            return Err(ForkError::UnknownParent);
        };
        if let Some(t) = self.threads.get(&child_tid) {
            // Already known (a clone exit after its procfork) unless the tid
            // was reused after an exit we missed.
            let same_parent =
                t.proc == parent.proc || self.proc_at(t.proc).is_some_and(|p| p.ppid == parent.pid);
            if t.pid == child_pid && same_parent {
                return Ok(());
            }
        }
        if child_pid == parent.pid {
            let vtid = self.guess_vid(parent.proc, child_tid);
            return if self.add_thread(parent.proc, child_pid, child_tid, vtid) {
                Ok(())
            } else {
                Err(ForkError::Full)
            };
        }
        if self.full() {
            self.stats.refused_full += 1;
            return Err(ForkError::Full);
        }
        if let Some(&old) = self.live_pids.get(&child_pid) {
            // A pid reused while we missed the old process's exit.
            self.drop_process_threads(old);
        }
        let vpid = self.guess_vid(parent.proc, child_pid);
        let Some(pp) = self.proc_at_mut(parent.proc) else {
            return Err(ForkError::UnknownParent);
        };
        pp.children += 1;
        let mut child = pp.clone();
        child.pid = child_pid;
        child.ppid = parent.pid;
        child.vpid = vpid;
        child.start_ns = ts_ns;
        child.exited = false;
        child.live_threads = 0;
        child.children = 0;
        child.parent = Some(parent.proc);
        let idx = self.alloc(child);
        self.live_pids.insert(child_pid, idx);
        self.add_thread(idx, child_pid, child_tid, vpid);
        Ok(())
    }

    /// In the initial pid namespace a task's virtual id is its id; elsewhere
    /// it is unknown until an exec or /proc says.
    fn guess_vid(&self, parent_idx: u32, id: u32) -> u32 {
        match self.proc_at(parent_idx) {
            Some(p) if p.vpid == p.pid && p.pid != 0 => id,
            _ => 0,
        }
    }

    /// A thread exec'd.  `old_tid` is the thread that called exec when it
    /// was not the leader (the kernel gives it the leader's tid and kills
    /// the other threads).  Closes close-on-exec fds.
    pub fn exec(&mut self, tid: u32, old_tid: Option<u32>, info: ExecInfo) -> bool {
        if let Some(old) = old_tid.filter(|&o| o != tid) {
            if self.threads.contains_key(&old) && !self.threads.contains_key(&tid) {
                if let Some(t) = self.threads.remove(&old) {
                    self.threads.insert(tid, Thread { tid, ..t });
                }
            }
        }
        let Some(t) = self.threads.get(&tid).copied() else {
            return false;
        };
        // Every other thread of the process is gone.  `live_threads`
        // counts the process's entries in `threads` (add_thread adds one,
        // every removal takes one), so with one left there is nothing to
        // look for: skip the walk over every thread of the host.
        let alone = self.proc_at(t.proc).is_some_and(|p| p.live_threads <= 1);
        let others: Vec<u32> = if alone {
            Vec::new()
        } else {
            self.threads
                .values()
                .filter(|o| o.proc == t.proc && o.tid != tid)
                .map(|o| o.tid)
                .collect()
        };
        for o in others {
            self.threads.remove(&o);
            self.stats.threads_exited += 1;
            if let Some(p) = self.proc_at_mut(t.proc) {
                p.live_threads = p.live_threads.saturating_sub(1);
            }
        }
        if let Some(v) = info.vtid {
            if let Some(th) = self.threads.get_mut(&tid) {
                th.vtid = v;
            }
        }
        let Some(p) = self.proc_at_mut(t.proc) else {
            return false;
        };
        apply_exec(p, info);
        p.fds.close_on_exec();
        true
    }

    /// A thread exited; its process is marked exited with its last thread
    /// and reaped unless descendants still need it.
    pub fn exit(&mut self, tid: u32) {
        let Some(t) = self.threads.remove(&tid) else {
            return;
        };
        self.stats.threads_exited += 1;
        let last = match self.proc_at_mut(t.proc) {
            Some(p) => {
                p.live_threads = p.live_threads.saturating_sub(1);
                p.live_threads == 0
            }
            None => false,
        };
        if last {
            if self.live_pids.get(&t.pid) == Some(&t.proc) {
                self.live_pids.remove(&t.pid);
            }
            self.mark_exited(t.proc);
        }
    }

    fn drop_process_threads(&mut self, idx: u32) {
        let tids: Vec<u32> = self
            .threads
            .values()
            .filter(|t| t.proc == idx)
            .map(|t| t.tid)
            .collect();
        for tid in tids {
            self.exit(tid);
        }
        // A process without threads (never had any) still goes.
        if let Some(p) = self.proc_at(idx) {
            if !p.exited {
                let pid = p.pid;
                if self.live_pids.get(&pid) == Some(&idx) {
                    self.live_pids.remove(&pid);
                }
                self.mark_exited(idx);
            }
        }
    }

    fn mark_exited(&mut self, idx: u32) {
        if let Some(p) = self.proc_at_mut(idx) {
            p.exited = true;
            p.fds = FdTable::new();
        }
        self.reap(idx);
    }

    /// Frees `idx` and then each exited ancestor left without children.
    fn reap(&mut self, mut idx: u32) {
        for _ in 0..=self.slab.len() {
            let Some(p) = self.proc_at(idx) else { return };
            if !p.exited || p.children > 0 || p.live_threads > 0 {
                return;
            }
            let parent = p.parent;
            self.slab[idx as usize] = None;
            self.free.push(idx);
            self.stats.processes_reaped += 1;
            let Some(pi) = parent else { return };
            match self.proc_at_mut(pi) {
                Some(pp) => pp.children = pp.children.saturating_sub(1),
                None => return,
            }
            idx = pi;
        }
    }

    /// Updates the ids of a thread's process (setuid family).
    pub fn set_creds(&mut self, tid: u32, f: impl FnOnce(&mut Credentials)) {
        if let Some(p) = self.process_of_mut(tid) {
            f(&mut p.creds);
        }
    }

    /// The fd of thread `tid`'s process.
    pub fn fd(&self, tid: u32, fd: i64) -> Option<&FdInfo> {
        self.process_of(tid)?.fds.get(fd)
    }

    /// Threads, in no order.
    pub fn threads(&self) -> impl Iterator<Item = &Thread> {
        self.threads.values()
    }

    /// Live processes, in no order.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.live_pids.values().filter_map(|&i| self.proc_at(i))
    }

    /// Approximate bytes held by the table: slots of both maps, process
    /// entries and their heap.
    pub fn memory_bytes(&self) -> usize {
        let thread_slot = std::mem::size_of::<(u32, Thread)>() + 1;
        let pid_slot = std::mem::size_of::<(u32, u32)>() + 1;
        self.threads.capacity() * thread_slot
            + self.live_pids.capacity() * pid_slot
            + self.slab.capacity() * std::mem::size_of::<Option<Process>>()
            + self.free.capacity() * 4
            + self
                .slab
                .iter()
                .flatten()
                .map(Process::heap_bytes)
                .sum::<usize>()
    }
}

fn apply_exec(p: &mut Process, info: ExecInfo) {
    if let Some(e) = info.exepath {
        p.exepath = e.into();
    }
    if let Some(c) = info.comm {
        p.comm = c.into();
    }
    if let Some(a) = info.argv {
        p.set_cmdline(&a);
    }
    if let Some(c) = info.cwd {
        p.cwd = c.into();
    }
    if let Some(e) = info.env {
        p.env = join_nul(&e).into();
    }
    let c = &mut p.creds;
    c.uid = info.uid.unwrap_or(c.uid);
    c.gid = info.gid.unwrap_or(c.gid);
    c.euid = info.euid.unwrap_or(c.euid);
    c.egid = info.egid.unwrap_or(c.egid);
    c.loginuid = info.loginuid.unwrap_or(c.loginuid);
    p.tty = info.tty.unwrap_or(p.tty);
    if let Some(cg) = info.cgroup {
        p.cgroup = cg.into();
        p.cgroup_unknown = false;
    }
    p.pidns = info.pidns.unwrap_or(p.pidns);
    p.vpid = info.vpid.unwrap_or(p.vpid);
    p.pgid = info.pgid.unwrap_or(p.pgid);
    p.vpgid = info.vpgid.unwrap_or(p.vpgid);
    p.sid = info.sid.unwrap_or(p.sid);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_(pid: u32, ppid: u32, comm: &str, argv: &[&str]) -> Process {
        let mut p = Process {
            pid,
            ppid,
            vpid: pid,
            pgid: pid,
            sid: pid,
            comm: comm.into(),
            exepath: format!("/bin/{comm}").into(),
            cwd: "/".into(),
            ..Process::default()
        };
        p.set_cmdline(argv);
        p
    }

    fn table() -> ThreadTable {
        let mut t = ThreadTable::new(1000);
        assert!(t.insert_process(proc_(1, 0, "init", &["/sbin/init"]), &[(1, 1)]));
        let mut sshd = proc_(100, 1, "sshd", &["sshd", "-D"]);
        sshd.sid = 100;
        assert!(t.insert_process(sshd, &[(100, 100)]));
        t
    }

    #[test]
    fn fork_inherits_and_exec_replaces() {
        let mut t = table();
        t.process_mut(100).unwrap().fds.insert(
            3,
            FdInfo::file("/var/log/auth.log", super::super::fds::O_CLOEXEC, false),
        );
        t.process_mut(100)
            .unwrap()
            .fds
            .insert(4, FdInfo::file("/dev/null", 0, false));
        t.fork(100, 200, 200, 5).unwrap();
        let child = t.process(200).unwrap();
        assert_eq!((child.ppid, child.vpid, child.start_ns), (100, 200, 5));
        assert_eq!(child.comm.as_ref(), "sshd");
        assert_eq!(child.fds.len(), 2, "fds are inherited");
        assert_eq!(child.sid, 100);
        t.exec(
            200,
            None,
            ExecInfo {
                exepath: Some("/usr/bin/bash".into()),
                comm: Some(comm_of("/usr/bin/bash")),
                argv: Some(vec!["-bash".into(), "-i".into()]),
                uid: Some(1000),
                ..ExecInfo::default()
            },
        );
        let child = t.process(200).unwrap();
        assert_eq!(child.comm.as_ref(), "bash");
        assert_eq!(child.exe(), "-bash");
        assert_eq!(child.cmdline_line(), "bash -i");
        assert_eq!(child.creds.uid, 1000);
        assert_eq!(child.fds.len(), 1, "exec closed the close-on-exec fd");
        assert_eq!(t.process(100).unwrap().fds.len(), 2, "parent keeps its fds");
        assert_eq!(t.parent(child).unwrap().comm.as_ref(), "sshd");
        let names: Vec<&str> = t.lineage(child).map(|p| p.name()).collect();
        assert_eq!(names, vec!["bash", "sshd", "init"]);
        assert_eq!(t.ancestor(child, 2).unwrap().pid, 1);
        assert!(t.ancestor(child, 3).is_none());
        assert_eq!(t.session_leader(child).unwrap().name(), "sshd");
    }

    #[test]
    fn threads_share_their_process() {
        let mut t = table();
        t.fork(100, 101, 100, 9).unwrap();
        assert_eq!(t.thread_count(), 3);
        assert_eq!(t.process_count(), 2);
        t.process_of_mut(101)
            .unwrap()
            .fds
            .insert(7, FdInfo::file("/x", 0, false));
        assert!(t.fd(100, 7).is_some(), "threads share the fd table");
        t.exit(100);
        assert!(t.process(100).is_some(), "a live thread keeps the process");
        t.exit(101);
        assert!(t.process(100).is_none());
        assert_eq!(t.process_count(), 1);
    }

    #[test]
    fn exec_from_a_non_leader_thread_takes_the_leader_tid() {
        let mut t = table();
        t.fork(100, 101, 100, 9).unwrap();
        t.fork(100, 102, 100, 9).unwrap();
        t.exit(100); // the kernel has the leader wait in exec
        assert!(t.exec(
            100,
            Some(102),
            ExecInfo {
                exepath: Some("/bin/true".into()),
                comm: Some("true".into()),
                ..ExecInfo::default()
            }
        ));
        assert!(t.thread(101).is_none() && t.thread(102).is_none());
        assert_eq!(t.process_of(100).unwrap().comm.as_ref(), "true");
    }

    #[test]
    fn dead_ancestors_stay_while_descendants_live() {
        let mut t = table();
        t.fork(100, 200, 200, 1).unwrap(); // sshd → bash
        t.fork(200, 300, 300, 2).unwrap(); // bash → daemon
        t.exec(
            300,
            None,
            ExecInfo {
                comm: Some("crond".into()),
                ..ExecInfo::default()
            },
        );
        t.exec(
            200,
            None,
            ExecInfo {
                comm: Some("bash".into()),
                ..ExecInfo::default()
            },
        );
        t.exit(200);
        assert!(t.process(200).is_none(), "no longer live");
        assert_eq!(t.process_count(), 4, "kept for crond's ancestry");
        let crond = t.process(300).unwrap();
        assert_eq!(t.parent(crond).unwrap().name(), "bash");
        assert!(t.parent(crond).unwrap().exited);
        assert_eq!(t.ancestor(crond, 2).unwrap().name(), "sshd");
        t.exit(300);
        assert_eq!(t.process_count(), 2, "bash reaped with its last child");
        assert_eq!(t.stats.processes_reaped, 2);
    }

    #[test]
    fn unknown_parent_and_cap_are_reported() {
        let mut t = ThreadTable::new(3);
        assert_eq!(t.fork(5, 6, 6, 0), Err(ForkError::UnknownParent));
        t.insert_process(proc_(1, 0, "init", &["init"]), &[(1, 1)]);
        t.fork(1, 2, 2, 0).unwrap();
        t.fork(1, 3, 3, 0).unwrap();
        assert_eq!(t.fork(1, 4, 4, 0), Err(ForkError::Full));
        assert_eq!(t.thread_count(), 3);
        assert_eq!(t.stats.refused_full, 1);
        assert_eq!(t.stats.unknown_parent, 1);
        t.exit(3);
        t.fork(1, 4, 4, 0).unwrap();
    }

    #[test]
    fn reused_pid_replaces_a_missed_exit() {
        let mut t = table();
        t.fork(100, 200, 200, 1).unwrap();
        // pid 200's exit was lost; init forks a new 200.
        t.fork(1, 200, 200, 2).unwrap();
        let p = t.process(200).unwrap();
        assert_eq!((p.ppid, p.start_ns), (1, 2));
        assert_eq!(t.thread_count(), 3);
    }

    #[test]
    fn comm_is_cut_like_the_kernel() {
        assert_eq!(
            comm_of("/usr/bin/a-very-long-program-name"),
            "a-very-long-pro"
        );
        assert_eq!(comm_of("cat"), "cat");
    }

    #[test]
    fn scan_order_links_children_seen_before_parents() {
        let mut t = ThreadTable::new(100);
        t.insert_process(proc_(50, 900, "child", &["child"]), &[(50, 50)]);
        t.insert_process(proc_(900, 1, "parent", &["parent"]), &[(900, 900)]);
        t.link_orphans();
        let c = t.process(50).unwrap();
        assert_eq!(t.parent(c).unwrap().name(), "parent");
    }

    #[test]
    fn bytes_per_entry() {
        // Reported in the issue: a thread of a process with a typical
        // command line, cwd, cgroup and 8 fds.
        let mut t = ThreadTable::new(100_000);
        t.insert_process(proc_(1, 0, "init", &["init"]), &[(1, 1)]);
        let before = t.memory_bytes();
        let n = 10_000u32;
        for i in 0..n {
            let pid = 1000 + i;
            let mut p = proc_(
                pid,
                1,
                "worker",
                &["/usr/lib/app/worker", "--config", "/etc/app/worker.toml"],
            );
            p.cgroup = "/system.slice/app-worker.service".into();
            p.cwd = "/var/lib/app".into();
            for fd in 0..8 {
                p.fds
                    .insert(fd, FdInfo::file("/var/lib/app/data.db", 0, false));
            }
            t.insert_process(p, &[(pid, pid)]);
        }
        let per = (t.memory_bytes() - before) / n as usize;
        println!(
            "size_of Process {} Thread {} FdInfo {}; bytes per process entry with 8 fds: {per}",
            std::mem::size_of::<Process>(),
            std::mem::size_of::<Thread>(),
            std::mem::size_of::<FdInfo>(),
        );
        assert!(per > std::mem::size_of::<Process>());
        assert!(per < 4096, "{per} bytes per entry");
    }
}
