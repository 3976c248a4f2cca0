//! The state's read API: threads, processes and their ancestry, fds,
//! containers, users and groups, paths resolved as a thread sees them.
//! The rule engine reads the state through these (see `provider`).

use super::*;

impl State {
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
        // Checked recently: no root directory to find (a stat of
        // <proc>/<pid>/root per live ancestor) and no path to build.
        let key = p.container.as_ref().map_or(HOST, |c| c.full_id.as_str());
        if let Some(db) = users.fresh(key) {
            return Some(db);
        }
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
    pub(super) fn own_root_dir(&self, pid: u32) -> Option<PathBuf> {
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
    pub(super) fn learn_container_users(&self, c: &ContainerInfo, pid: u32) {
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
}
