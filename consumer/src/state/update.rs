//! The state's event handlers: what each kind of event changes (fork,
//! exec, exit, ids, working directory, the fd table).  `apply` adapts
//! decoded events to these calls.

use super::*;

impl State {
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

    pub(super) fn fds_mut(&mut self, tid: u32) -> Option<&mut fds::FdTable> {
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

    pub(super) fn set_ends(
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
}
