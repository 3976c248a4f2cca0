//! Decoded events → state updates.
//!
//! [`State::apply`] dispatches on what the event type means to the state
//! (its [`StateOp`] in the ABI's roles table, `kestrel_abi::roles`) and
//! reads parameters from per-type slots ([`super::params`]): no event or
//! parameter names are compared per event.

use std::borrow::Cow;
use std::net::SocketAddr;

use kestrel_abi::StateOp;

use super::fds::{FdKind, O_CLOEXEC};
pub use super::params::Endpoint;
use super::params::{Params, P};
use super::threads::{comm_of, ExecInfo};
use super::State;
use crate::decode::Event;

/// `CLONE_THREAD`.
const CLONE_THREAD: i64 = 0x0001_0000;
/// `F_DUPFD`, `F_DUPFD_CLOEXEC` (fcntl commands).  `F_SETFD` is not
/// followed: the module's fcntl record carries no `arg`.
const F_DUPFD: i64 = 0;
const F_DUPFD_CLOEXEC: i64 = 1030;
/// `O_CREAT | O_WRONLY | O_TRUNC`: what creat() opens with.
const CREAT_FLAGS: u32 = 0o100 | 0o1 | 0o1000;
/// bpf() commands that return an fd (map/prog create, get fd by id, obj get).
const BPF_FD_CMDS: [i64; 8] = [0, 5, 7, 13, 14, 15, 18, 28];

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
    pub fn apply(&mut self, ev: &Event<'_>) {
        self.flush_pending();
        self.stats.events += 1;
        let op = kestrel_abi::event_roles(ev.event_type()).state_op;
        let enter = ev.is_enter();
        let (tid, pid) = (ev.tid, ev.pid);
        match op {
            StateOp::Skip => return,
            StateOp::ThreadExit => {
                self.defer_exit(tid);
                return;
            }
            StateOp::ProcExec | StateOp::Exec if !enter => {}
            _ => {
                self.ensure_thread(tid, pid);
            }
        }
        if enter {
            return;
        }
        let ts_ns = ev.ts_ns;
        let ev = Params::of(ev);
        let res = ev.int(P::Res);
        let ok = res.is_some_and(|r| r >= 0);
        match op {
            StateOp::ProcFork => {
                if let (Some(ct), Some(cp)) = (ev.int(P::ChildTid), ev.int(P::ChildPid)) {
                    self.on_fork(tid, pid, ct as u32, cp as u32, ts_ns);
                }
            }
            StateOp::Clone => {
                if let Some(child) = res.filter(|&r| r > 0) {
                    let thread = ev.int(P::Flags).unwrap_or(0) & CLONE_THREAD != 0;
                    let child_pid = if thread { pid } else { child as u32 };
                    self.on_fork(tid, pid, child as u32, child_pid, ts_ns);
                }
            }
            StateOp::ProcExec => {
                let filename = ev.text(P::Filename);
                let info = ExecInfo {
                    comm: filename.as_deref().map(comm_of),
                    ..ExecInfo::default()
                };
                let old = ev.int(P::OldTid).map(|t| t as u32).filter(|&t| t != tid);
                self.on_exec(tid, pid, old, None, info);
            }
            StateOp::Exec if ok => {
                let info = ExecInfo {
                    exepath: ev.text(P::Exe).map(Cow::into_owned),
                    comm: ev.text(P::Comm).map(Cow::into_owned),
                    argv: ev.list(P::Args),
                    cwd: ev.text(P::Cwd).map(Cow::into_owned),
                    env: ev.list(P::Env),
                    uid: u32_of(ev.int(P::Uid)),
                    gid: u32_of(ev.int(P::Gid)),
                    euid: u32_of(ev.int(P::Euid)),
                    egid: u32_of(ev.int(P::Egid)),
                    loginuid: ev.int(P::Loginuid).map(|v| v as u32),
                    tty: ev.int(P::Tty).map(|v| v as u32),
                    cgroup: ev.text(P::Cgroups).map(Cow::into_owned),
                    pidns: ev.int(P::Pidns).map(|v| v as u64).filter(|&v| v != 0),
                    vpid: ev.int(P::Vpid).map(|v| v as u32).filter(|&v| v != 0),
                    vtid: ev.int(P::Vtid).map(|v| v as u32).filter(|&v| v != 0),
                    ..ExecInfo::default()
                };
                let parent_tid = ev.int(P::Ptid).and_then(|t| u32::try_from(t).ok());
                self.on_exec(tid, pid, None, parent_tid, info);
            }
            StateOp::Open | StateOp::Creat if ok => {
                let fd = res.unwrap_or(-1);
                let flags = if op == StateOp::Creat {
                    CREAT_FLAGS
                } else {
                    ev.int(P::Flags).unwrap_or(0) as u32
                };
                let full = ev.text(P::Fullpath);
                // The name as passed and its dirfd are only needed when the
                // kernel gave no absolute path (on_open ignores them
                // otherwise): skip their lookups and the name's UTF-8 check.
                let (raw, dirfd) = if full.as_deref().is_some_and(|p| p.starts_with('/')) {
                    (None, super::fds::AT_FDCWD)
                } else {
                    (
                        ev.text(P::Name).or_else(|| ev.text(P::Path)),
                        ev.int(P::Dirfd).unwrap_or(super::fds::AT_FDCWD),
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
            StateOp::Socket if ok => self.on_socket(
                tid,
                res.unwrap_or(-1),
                ev.int(P::Domain).unwrap_or(-1),
                ev.int(P::Type).unwrap_or(0),
                ev.int(P::Proto).unwrap_or(0),
            ),
            StateOp::Connect => {
                // A non-blocking connect returns EINPROGRESS: the peer is set.
                let connecting = ok || res == Some(-i64::from(libc::EINPROGRESS));
                if !connecting {
                    return;
                }
                let fd = ev.int(P::Fd).unwrap_or(-1);
                let (local, remote) = match ev.tuple(P::Tuple) {
                    Some((l, r)) => (Some(l), Some(r)),
                    None => (None, ev.addr(P::Addr)),
                };
                if let Some(Endpoint::Unix(p)) = remote.as_ref().or(local.as_ref()) {
                    self.on_connect_unix(tid, fd, p);
                    return;
                }
                let remote_addr = remote
                    .as_ref()
                    .and_then(inet)
                    .or_else(|| ev.addr(P::Addr).as_ref().and_then(inet));
                self.on_connect(tid, fd, local.as_ref().and_then(inet), remote_addr);
            }
            StateOp::Accept if ok => {
                let (local, remote) = ev
                    .tuple(P::Tuple)
                    .map_or((None, None), |(l, r)| (inet(&l), inet(&r)));
                self.on_accept(
                    tid,
                    ev.int(P::Fd).unwrap_or(-1),
                    res.unwrap_or(-1),
                    local,
                    remote,
                    ev.int(P::Flags).unwrap_or(0) as u32,
                );
            }
            StateOp::Bind if ok => {
                let fd = ev.int(P::Fd).unwrap_or(-1);
                match ev.addr(P::Addr) {
                    Some(Endpoint::Unix(p)) => self.on_bind(tid, fd, None, Some(&p)),
                    Some(e) => self.on_bind(tid, fd, inet(&e), None),
                    None => {}
                }
            }
            StateOp::Pipe if ok => {
                if let (Some(a), Some(b)) = (ev.int(P::Fd1), ev.int(P::Fd2)) {
                    let flags = ev.int(P::Flags).unwrap_or(0) as u32 & O_CLOEXEC;
                    self.on_pipe(tid, a, b, flags);
                }
            }
            StateOp::Socketpair if ok => {
                if let (Some(a), Some(b)) = (ev.int(P::Fd1), ev.int(P::Fd2)) {
                    self.on_socketpair(
                        tid,
                        a,
                        b,
                        ev.int(P::Domain).unwrap_or(libc::AF_UNIX.into()),
                        ev.int(P::Type).unwrap_or(0),
                    );
                }
            }
            StateOp::Memfd if ok => {
                let n = ev.text(P::Name);
                self.on_memfd(
                    tid,
                    res.unwrap_or(-1),
                    n.as_deref().unwrap_or(""),
                    ev.int(P::Flags).unwrap_or(0) as u32,
                );
            }
            StateOp::Userfaultfd | StateOp::IoUringSetup if ok => {
                let kind = if op == StateOp::Userfaultfd {
                    FdKind::Userfaultfd
                } else {
                    FdKind::IoUring
                };
                let cloexec = ev.int(P::Flags).unwrap_or(0) as u32 & O_CLOEXEC != 0;
                self.on_other_fd(tid, res.unwrap_or(-1), kind, cloexec);
            }
            StateOp::Bpf if ok && ev.int(P::Cmd).is_some_and(|c| BPF_FD_CMDS.contains(&c)) => {
                self.on_other_fd(tid, res.unwrap_or(-1), FdKind::Bpf, true);
            }
            StateOp::Dup | StateOp::Dup3 if ok => {
                let cloexec = ev.int(P::Flags).unwrap_or(0) as u32 & O_CLOEXEC != 0;
                self.on_dup(
                    tid,
                    ev.int(P::Oldfd).unwrap_or(-1),
                    res.unwrap_or(-1),
                    op == StateOp::Dup3 && cloexec,
                );
            }
            StateOp::Fcntl if ok => {
                let fd = ev.int(P::Fd).unwrap_or(-1);
                match ev.int(P::Cmd) {
                    Some(F_DUPFD) => self.on_dup(tid, fd, res.unwrap_or(-1), false),
                    Some(F_DUPFD_CLOEXEC) => self.on_dup(tid, fd, res.unwrap_or(-1), true),
                    _ => {}
                }
            }
            StateOp::Close if ok => self.defer_close(tid, ev.int(P::Fd).unwrap_or(-1)),
            StateOp::SetUid if ok => {
                let u = u32_of(ev.int(P::Uid));
                self.on_set_ids(tid, u, u, None, None);
            }
            StateOp::SetGid if ok => {
                let g = u32_of(ev.int(P::Gid));
                self.on_set_ids(tid, None, None, g, g);
            }
            StateOp::SetReUid if ok => self.on_set_ids(
                tid,
                u32_of(ev.int(P::Ruid)),
                u32_of(ev.int(P::Euid)),
                None,
                None,
            ),
            StateOp::SetReGid if ok => self.on_set_ids(
                tid,
                None,
                None,
                u32_of(ev.int(P::Rgid)),
                u32_of(ev.int(P::Egid)),
            ),
            StateOp::Chdir if ok => {
                if let Some(p) = ev.text(P::Path) {
                    self.on_chdir(tid, &p);
                }
            }
            StateOp::Fchdir if ok => self.on_fchdir(tid, ev.int(P::Fd).unwrap_or(-1)),
            StateOp::Setsid if ok => self.on_setsid(tid, u32_of(res).unwrap_or(0)),
            StateOp::Setpgid if ok => {
                if let (Some(p), Some(g)) = (ev.int(P::Pid), ev.int(P::Pgid)) {
                    self.on_setpgid(tid, p, g);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! An exit event built by event and parameter name, encoded as the
    //! module encodes it (through the ABI's event table) and decoded, for
    //! tests of apply() that read like the events they stand for.
    use super::*;
    use crate::record::Record;

    /// A parameter value.
    #[derive(Debug, Clone)]
    pub enum P {
        I(i64),
        S(&'static str),
        L(Vec<&'static str>),
        A(Endpoint),
        T(Endpoint, Endpoint),
    }

    fn end(e: &Endpoint) -> String {
        match e {
            Endpoint::Inet(a) => a.to_string(),
            Endpoint::Unix(p) => format!("unix:{p}"),
            Endpoint::Other => panic!("no encoding for another family"),
        }
    }

    /// The record of exit event `name` of `tid`/`pid` with these
    /// parameters (the others absent); panics on a name the event table
    /// does not have.
    pub fn ev(name: &'static str, tid: u32, pid: u32, params: &[(&'static str, P)]) -> Vec<u8> {
        use serde_yaml::Value as Y;
        let mut m = serde_yaml::Mapping::new();
        for (k, v) in params {
            let v = match v {
                P::I(i) => Y::from(*i),
                P::S(s) => Y::from(*s),
                P::L(l) => Y::Sequence(l.iter().map(|s| Y::from(*s)).collect()),
                P::A(a) => Y::from(end(a)),
                P::T(l, r) => Y::from(match r {
                    Endpoint::Unix(_) => end(r),
                    _ => format!("{}->{}", end(l), end(r)),
                }),
            };
            m.insert(Y::from(*k), v);
        }
        let mut spec = serde_yaml::Mapping::new();
        spec.insert("type".into(), name.into());
        spec.insert("tid".into(), u64::from(tid).into());
        spec.insert("pid".into(), u64::from(pid).into());
        spec.insert("params".into(), Y::Mapping(m));
        crate::rules::cases::encode_event(&Y::Mapping(spec), 1).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Applies the record `ev` made.
    pub fn apply(state: &mut State, record: Vec<u8>) {
        let rec = Record::parse(&record).expect("a record");
        state.apply(&crate::decode::decode(&rec).expect("decodable"));
    }
}
