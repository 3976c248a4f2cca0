//! Filling the state from a `/proc` tree: the scan at start, and the lazy
//! fill of a thread an event names that the state does not know (missed
//! in a drop), with its ancestors.

use super::*;

impl State {
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

    pub(super) fn fill_process(
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

    pub(super) fn container_for(&mut self, cgroup_text: &str) -> Option<Arc<ContainerInfo>> {
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
    pub(super) fn ensure_thread_with_parent(&mut self, tid: u32, pid: u32, ppid: u32) -> bool {
        if tid == 0 || self.table.thread(tid).is_some() {
            return tid != 0;
        }
        self.fill_thread_from_proc(tid, pid) || self.table.add_from_event(tid, pid, ppid)
    }

    /// Fills unknown thread `tid` of process `pid` (and missing ancestors)
    /// from /proc.  True when it is known after.
    pub(super) fn fill_thread_from_proc(&mut self, tid: u32, pid: u32) -> bool {
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
}
