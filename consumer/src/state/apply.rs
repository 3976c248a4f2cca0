//! Decoded events → state updates.
//!
//! [`State::apply`] reads events through [`EventParams`] (by Falco-style
//! event and parameter names), so the tables never depend on the record
//! layout; the decoder's `Event` implements it.

use std::borrow::Cow;
use std::net::SocketAddr;

use super::fds::{FdKind, O_CLOEXEC};
use super::threads::{comm_of, ExecInfo};
use super::State;

/// `CLONE_THREAD`.
const CLONE_THREAD: i64 = 0x0001_0000;
/// `F_DUPFD`, `F_DUPFD_CLOEXEC`, `F_SETFD` (fcntl commands).
const F_DUPFD: i64 = 0;
const F_DUPFD_CLOEXEC: i64 = 1030;
const F_SETFD: i64 = 2;
/// `O_CREAT | O_WRONLY | O_TRUNC`: what creat() opens with.
const CREAT_FLAGS: u32 = 0o100 | 0o1 | 0o1000;
/// bpf() commands that return an fd (map/prog create, get fd by id, obj get).
const BPF_FD_CMDS: [i64; 8] = [0, 5, 7, 13, 14, 15, 18, 28];

/// One end of a socket as an event carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An IP address and port.
    Inet(SocketAddr),
    /// A unix socket path.
    Unix(String),
    /// Another family, or nothing usable.
    Other,
}

/// What [`State::apply`] needs from an event: its name and parameters by
/// name.  Absent and faulted parameters are `None`.
pub trait EventParams {
    /// `evt.type` (`openat`, `execve`, `procfork`, ...).
    fn name(&self) -> &str;
    /// True for syscall-entry events.
    fn is_enter(&self) -> bool;
    /// Thread id.
    fn tid(&self) -> u32;
    /// Process id.
    fn pid(&self) -> u32;
    /// Timestamp, ns.
    fn ts_ns(&self) -> u64;
    /// A numeric parameter.
    fn int(&self, param: &str) -> Option<i64>;
    /// A text parameter (lossy UTF-8).
    fn text(&self, param: &str) -> Option<Cow<'_, str>>;
    /// A NUL-separated list parameter.
    fn list(&self, param: &str) -> Option<Vec<String>>;
    /// A socket address parameter.
    fn addr(&self, param: &str) -> Option<Endpoint>;
    /// A socket tuple parameter: (local, remote).
    fn tuple(&self, param: &str) -> Option<(Endpoint, Endpoint)>;
}

fn inet(e: &Endpoint) -> Option<SocketAddr> {
    match e {
        Endpoint::Inet(a) if !(a.ip().is_unspecified() && a.port() == 0) => Some(*a),
        _ => None,
    }
}

fn u32_of(v: Option<i64>) -> Option<u32> {
    // -1 (as u32: u32::MAX) means "unchanged" for the set*id family.
    v.and_then(|x| u32::try_from(x & 0xffff_ffff).ok())
        .filter(|&x| x != u32::MAX)
}

impl State {
    /// Applies one decoded event: fork/clone/exec/exit keep the thread
    /// table current, fd calls the fd tables, set*id calls the ids.  An
    /// event from an unknown thread first fills it from /proc (counted in
    /// [`super::StateStats::lazy_filled`]).  Failed calls change nothing.
    ///
    /// Removals (the fd of a close, the thread of a procexit) take effect
    /// when the next event is applied (or at [`State::flush_pending`]), so
    /// rules evaluated on the event itself still see what it removes.
    pub fn apply<E: EventParams + ?Sized>(&mut self, ev: &E) {
        self.flush_pending();
        self.stats.events += 1;
        let name = ev.name();
        let (tid, pid) = (ev.tid(), ev.pid());
        match name {
            "lost" | "pad" => return,
            "procexit" | "proc_exit" => {
                self.defer_exit(tid);
                return;
            }
            "procexec" | "proc_exec" | "execve" | "execveat" => {}
            _ => {
                self.ensure_thread(tid, pid);
            }
        }
        if ev.is_enter() {
            return;
        }
        let res = ev.int("res");
        let ok = res.is_some_and(|r| r >= 0);
        match name {
            "procfork" | "proc_fork" => {
                if let (Some(ct), Some(cp)) = (ev.int("child_tid"), ev.int("child_pid")) {
                    self.on_fork(tid, pid, ct as u32, cp as u32, ev.ts_ns());
                }
            }
            "clone" | "clone3" | "fork" | "vfork" => {
                if let Some(child) = res.filter(|&r| r > 0) {
                    let thread = ev.int("flags").unwrap_or(0) & CLONE_THREAD != 0;
                    let child_pid = if thread { pid } else { child as u32 };
                    self.on_fork(tid, pid, child as u32, child_pid, ev.ts_ns());
                }
            }
            "procexec" | "proc_exec" => {
                let filename = ev.text("filename");
                let info = ExecInfo {
                    comm: filename.as_deref().map(comm_of),
                    ..ExecInfo::default()
                };
                let old = ev.int("old_tid").map(|t| t as u32).filter(|&t| t != tid);
                self.on_exec(tid, pid, old, None, info);
            }
            "execve" | "execveat" if ok => {
                let info = ExecInfo {
                    exepath: ev.text("exe").map(Cow::into_owned),
                    comm: ev.text("comm").map(Cow::into_owned),
                    argv: ev.list("args"),
                    cwd: ev.text("cwd").map(Cow::into_owned),
                    env: ev.list("env"),
                    uid: u32_of(ev.int("uid")),
                    gid: u32_of(ev.int("gid")),
                    euid: u32_of(ev.int("euid")),
                    egid: u32_of(ev.int("egid")),
                    loginuid: ev.int("loginuid").map(|v| v as u32),
                    tty: ev.int("tty").map(|v| v as u32),
                    cgroup: ev.text("cgroups").map(Cow::into_owned),
                    pidns: ev.int("pidns").map(|v| v as u64).filter(|&v| v != 0),
                    vpid: ev.int("vpid").map(|v| v as u32).filter(|&v| v != 0),
                    vtid: ev.int("vtid").map(|v| v as u32).filter(|&v| v != 0),
                    ..ExecInfo::default()
                };
                let parent_tid = ev.int("ptid").and_then(|t| u32::try_from(t).ok());
                self.on_exec(tid, pid, None, parent_tid, info);
            }
            "open" | "openat" | "openat2" | "creat" if ok => {
                let fd = res.unwrap_or(-1);
                let flags = if name == "creat" {
                    CREAT_FLAGS
                } else {
                    ev.int("flags").unwrap_or(0) as u32
                };
                let full = ev.text("fullpath");
                // The name as passed and its dirfd are only needed when the
                // kernel gave no absolute path (on_open ignores them
                // otherwise): skip their lookups and the name's UTF-8 check.
                let (raw, dirfd) = if full.as_deref().is_some_and(|p| p.starts_with('/')) {
                    (None, super::fds::AT_FDCWD)
                } else {
                    (
                        ev.text("name").or_else(|| ev.text("path")),
                        ev.int("dirfd").unwrap_or(super::fds::AT_FDCWD),
                    )
                };
                self.on_open(
                    tid,
                    fd,
                    dirfd,
                    raw.as_deref().unwrap_or(""),
                    full.as_deref(),
                    flags,
                );
            }
            "socket" if ok => self.on_socket(
                tid,
                res.unwrap_or(-1),
                ev.int("domain").unwrap_or(-1),
                ev.int("type").unwrap_or(0),
                ev.int("proto").unwrap_or(0),
            ),
            "connect" => {
                // A non-blocking connect returns EINPROGRESS: the peer is set.
                let connecting = ok || res == Some(-i64::from(libc::EINPROGRESS));
                if !connecting {
                    return;
                }
                let fd = ev.int("fd").unwrap_or(-1);
                let (local, remote) = match ev.tuple("tuple") {
                    Some((l, r)) => (Some(l), Some(r)),
                    None => (None, ev.addr("addr")),
                };
                if let Some(Endpoint::Unix(p)) = remote.as_ref().or(local.as_ref()) {
                    self.on_connect_unix(tid, fd, p);
                    return;
                }
                let remote_addr = remote
                    .as_ref()
                    .and_then(inet)
                    .or_else(|| ev.addr("addr").as_ref().and_then(inet));
                self.on_connect(tid, fd, local.as_ref().and_then(inet), remote_addr);
            }
            "accept" | "accept4" if ok => {
                let (local, remote) = ev
                    .tuple("tuple")
                    .map_or((None, None), |(l, r)| (inet(&l), inet(&r)));
                self.on_accept(
                    tid,
                    ev.int("fd").unwrap_or(-1),
                    res.unwrap_or(-1),
                    local,
                    remote,
                    ev.int("flags").unwrap_or(0) as u32,
                );
            }
            "bind" if ok => {
                let fd = ev.int("fd").unwrap_or(-1);
                match ev.addr("addr") {
                    Some(Endpoint::Unix(p)) => self.on_bind(tid, fd, None, Some(&p)),
                    Some(e) => self.on_bind(tid, fd, inet(&e), None),
                    None => {}
                }
            }
            "pipe" | "pipe2" if ok => {
                if let (Some(a), Some(b)) = (ev.int("fd1"), ev.int("fd2")) {
                    let flags = ev.int("flags").unwrap_or(0) as u32 & O_CLOEXEC;
                    self.on_pipe(tid, a, b, flags);
                }
            }
            "socketpair" if ok => {
                if let (Some(a), Some(b)) = (ev.int("fd1"), ev.int("fd2")) {
                    self.on_socketpair(
                        tid,
                        a,
                        b,
                        ev.int("domain").unwrap_or(libc::AF_UNIX.into()),
                        ev.int("type").unwrap_or(0),
                    );
                }
            }
            "memfd_create" if ok => {
                let n = ev.text("name");
                self.on_memfd(
                    tid,
                    res.unwrap_or(-1),
                    n.as_deref().unwrap_or(""),
                    ev.int("flags").unwrap_or(0) as u32,
                );
            }
            "eventfd" | "eventfd2" | "signalfd" | "signalfd4" | "epoll_create"
            | "epoll_create1" | "inotify_init" | "inotify_init1" | "timerfd_create"
            | "userfaultfd" | "io_uring_setup" | "pidfd_open"
                if ok =>
            {
                let kind = match name {
                    "eventfd" | "eventfd2" => FdKind::Event,
                    "signalfd" | "signalfd4" => FdKind::Signalfd,
                    "epoll_create" | "epoll_create1" => FdKind::Eventpoll,
                    "inotify_init" | "inotify_init1" => FdKind::Inotify,
                    "timerfd_create" => FdKind::Timerfd,
                    "userfaultfd" => FdKind::Userfaultfd,
                    "io_uring_setup" => FdKind::IoUring,
                    _ => FdKind::Pidfd,
                };
                let cloexec = ev.int("flags").unwrap_or(0) as u32 & O_CLOEXEC != 0;
                self.on_other_fd(tid, res.unwrap_or(-1), kind, cloexec);
            }
            "bpf" if ok && ev.int("cmd").is_some_and(|c| BPF_FD_CMDS.contains(&c)) => {
                self.on_other_fd(tid, res.unwrap_or(-1), FdKind::Bpf, true);
            }
            "dup" | "dup2" | "dup3" if ok => {
                let cloexec = ev.int("flags").unwrap_or(0) as u32 & O_CLOEXEC != 0;
                self.on_dup(
                    tid,
                    ev.int("oldfd").unwrap_or(-1),
                    res.unwrap_or(-1),
                    name == "dup3" && cloexec,
                );
            }
            "fcntl" if ok => {
                let fd = ev.int("fd").unwrap_or(-1);
                match ev.int("cmd") {
                    Some(F_DUPFD) => self.on_dup(tid, fd, res.unwrap_or(-1), false),
                    Some(F_DUPFD_CLOEXEC) => self.on_dup(tid, fd, res.unwrap_or(-1), true),
                    Some(F_SETFD) => {
                        if let Some(arg) = ev.int("arg") {
                            self.on_set_cloexec(tid, fd, arg & 1 != 0);
                        }
                    }
                    _ => {}
                }
            }
            "close" if ok => self.defer_close(tid, ev.int("fd").unwrap_or(-1)),
            "setuid" if ok => {
                let u = u32_of(ev.int("uid"));
                self.on_set_ids(tid, u, u, None, None);
            }
            "setgid" if ok => {
                let g = u32_of(ev.int("gid"));
                self.on_set_ids(tid, None, None, g, g);
            }
            "setreuid" | "setresuid" if ok => self.on_set_ids(
                tid,
                u32_of(ev.int("ruid")),
                u32_of(ev.int("euid")),
                None,
                None,
            ),
            "setregid" | "setresgid" if ok => self.on_set_ids(
                tid,
                None,
                None,
                u32_of(ev.int("rgid")),
                u32_of(ev.int("egid")),
            ),
            "chdir" if ok => {
                if let Some(p) = ev.text("path") {
                    self.on_chdir(tid, &p);
                }
            }
            "fchdir" if ok => self.on_fchdir(tid, ev.int("fd").unwrap_or(-1)),
            "setsid" if ok => self.on_setsid(tid, u32_of(res).unwrap_or(0)),
            "setpgid" if ok => {
                if let (Some(p), Some(g)) = (ev.int("pid"), ev.int("pgid")) {
                    self.on_setpgid(tid, p, g);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! An event built by name, for tests of apply() independent of the
    //! record encoding.
    use super::*;
    use std::collections::HashMap;

    /// A parameter value.
    #[derive(Debug, Clone)]
    pub enum P {
        I(i64),
        S(&'static str),
        L(Vec<&'static str>),
        A(Endpoint),
        T(Endpoint, Endpoint),
    }

    /// A fake event.
    #[derive(Debug, Clone)]
    pub struct Ev {
        pub name: &'static str,
        pub tid: u32,
        pub pid: u32,
        pub ts: u64,
        pub params: HashMap<&'static str, P>,
    }

    /// An exit event `name` of `tid`/`pid` with these parameters.
    pub fn ev(name: &'static str, tid: u32, pid: u32, params: &[(&'static str, P)]) -> Ev {
        Ev {
            name,
            tid,
            pid,
            ts: 1,
            params: params.iter().cloned().collect(),
        }
    }

    impl EventParams for Ev {
        fn name(&self) -> &str {
            self.name
        }
        fn is_enter(&self) -> bool {
            false
        }
        fn tid(&self) -> u32 {
            self.tid
        }
        fn pid(&self) -> u32 {
            self.pid
        }
        fn ts_ns(&self) -> u64 {
            self.ts
        }
        fn int(&self, p: &str) -> Option<i64> {
            match self.params.get(p)? {
                P::I(v) => Some(*v),
                _ => None,
            }
        }
        fn text(&self, p: &str) -> Option<Cow<'_, str>> {
            match self.params.get(p)? {
                P::S(s) => Some(Cow::Borrowed(s)),
                _ => None,
            }
        }
        fn list(&self, p: &str) -> Option<Vec<String>> {
            match self.params.get(p)? {
                P::L(l) => Some(l.iter().map(|s| s.to_string()).collect()),
                _ => None,
            }
        }
        fn addr(&self, p: &str) -> Option<Endpoint> {
            match self.params.get(p)? {
                P::A(e) => Some(e.clone()),
                _ => None,
            }
        }
        fn tuple(&self, p: &str) -> Option<(Endpoint, Endpoint)> {
            match self.params.get(p)? {
                P::T(l, r) => Some((l.clone(), r.clone())),
                _ => None,
            }
        }
    }
}
