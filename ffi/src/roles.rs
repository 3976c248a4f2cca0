//! What each event type means to the consumer, beyond its parameters: the
//! one home of these facts, read by event number
//! ([`event_roles`]).  The process state, the rule engine and the field
//! code all read them here instead of keeping name-keyed tables of their
//! own, so a new syscall is one row of the header's event table plus, if
//! it creates fds, carries paths or changes process state, one row here.
//!
//! Rows name events by their `evt.type`; a unit test checks every row
//! against the header's event table (the event and each parameter named
//! must exist).

use std::sync::OnceLock;

use crate::schema::schemas;

/// The kind of call, where the consumer treats it specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventClass {
    /// Nothing special.
    #[default]
    Other,
    /// open, openat, openat2 (exit): `flags`, `mode`, a new fd.
    Open,
    /// creat (exit): opens for writing with `mode`.
    Creat,
    /// execve/execveat exit: describes the new image.
    Exec,
    /// connect: the caller is the client.
    Connect,
    /// accept, accept4: the caller is the server; the result is the new fd.
    Accept,
    /// bind.
    Bind,
    /// memfd_create.
    Memfd,
    /// pipe, pipe2.
    Pipe,
    /// finit_module.
    FinitModule,
}

/// What the process state does with an exit record of the type (entry
/// records only make the thread known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateOp {
    /// Nothing beyond knowing the thread.
    #[default]
    None,
    /// Not even that: ring padding and loss markers carry no thread.
    Skip,
    /// procexit: the thread is gone.
    ThreadExit,
    /// procfork: `child_tid`, `child_pid` of the caller.
    ProcFork,
    /// clone, clone3, fork, vfork: the result is the child.
    Clone,
    /// procexec: the new image's file name.
    ProcExec,
    /// execve, execveat: the new image, its ids, cgroup and namespaces.
    Exec,
    /// open, openat, openat2: a new fd.
    Open,
    /// creat: a new fd opened for writing.
    Creat,
    /// socket: a new socket fd.
    Socket,
    /// connect: the socket's ends.
    Connect,
    /// accept, accept4: a new connected fd.
    Accept,
    /// bind: the socket's local end.
    Bind,
    /// pipe, pipe2: two fds.
    Pipe,
    /// socketpair: two sockets.
    Socketpair,
    /// memfd_create: a new memory file.
    Memfd,
    /// userfaultfd: a new fd of that kind.
    Userfaultfd,
    /// io_uring_setup: a new fd of that kind.
    IoUringSetup,
    /// bpf: a new fd for the commands that make one.
    Bpf,
    /// dup, dup2: a copy of `oldfd`.
    Dup,
    /// dup3: a copy, with its own close-on-exec flag.
    Dup3,
    /// fcntl: F_DUPFD*, F_SETFD.
    Fcntl,
    /// close: the fd goes.
    Close,
    /// setuid.
    SetUid,
    /// setgid.
    SetGid,
    /// setreuid, setresuid.
    SetReUid,
    /// setregid, setresgid.
    SetReGid,
    /// chdir.
    Chdir,
    /// fchdir.
    Fchdir,
    /// setsid.
    Setsid,
    /// setpgid.
    Setpgid,
}

/// One path a path-taking call acts on, as `fs.path.*` read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathRole {
    /// The parameter holding the path as passed.
    pub path: &'static str,
    /// The parameter holding the directory fd a relative path starts
    /// from (`None`: the working directory).
    pub dirfd: Option<&'static str>,
    /// False for a path kept as written (a symlink's content).
    pub resolve: bool,
}

/// What an event type means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventRoles {
    /// Kind of call.
    pub class: EventClass,
    /// The result is a new fd (the event's fd is `res`, not its `fd`
    /// parameter).
    pub fd_from_res: bool,
    /// The caller's end of the socket is the server's (accept, bind,
    /// listen).
    pub server_side: bool,
    /// Where `fs.path.name`, `fs.path.source` and `fs.path.target` read.
    pub fs_paths: [Option<PathRole>; 3],
    /// The process state learns from it (process life cycle, ids, working
    /// directory, fd table): a live session records it whatever the rules
    /// need.
    pub state: bool,
    /// What the process state does with it.
    pub state_op: StateOp,
}

/// Index into [`EventRoles::fs_paths`].
pub const FS_PATH_NAME: usize = 0;
/// Index into [`EventRoles::fs_paths`].
pub const FS_PATH_SOURCE: usize = 1;
/// Index into [`EventRoles::fs_paths`].
pub const FS_PATH_TARGET: usize = 2;

const fn path(path: &'static str, dirfd: Option<&'static str>) -> Option<PathRole> {
    Some(PathRole {
        path,
        dirfd,
        resolve: true,
    })
}

const NONE: EventRoles = EventRoles {
    class: EventClass::Other,
    fd_from_res: false,
    server_side: false,
    fs_paths: [None; 3],
    state: false,
    state_op: StateOp::None,
};

/// State events that only the state cares about.
const STATE: EventRoles = EventRoles {
    state: true,
    ..NONE
};
/// Calls whose result is a new fd the state records.
const NEW_FD: EventRoles = EventRoles {
    fd_from_res: true,
    state: true,
    ..NONE
};

const fn class(class: EventClass, base: EventRoles) -> EventRoles {
    EventRoles { class, ..base }
}

const fn op(state_op: StateOp, base: EventRoles) -> EventRoles {
    EventRoles { state_op, ..base }
}

const fn fs(
    name: Option<PathRole>,
    source: Option<PathRole>,
    target: Option<PathRole>,
) -> EventRoles {
    EventRoles {
        fs_paths: [name, source, target],
        ..NONE
    }
}

/// The table: `evt.type` → roles.  Events not listed have [`NONE`].
pub const ROLE_ROWS: &[(&str, EventRoles)] = &[
    // Records of the module itself.
    ("pad", op(StateOp::Skip, NONE)),
    ("lost", op(StateOp::Skip, NONE)),
    // Process life cycle, ids, working directory.
    ("procexit", op(StateOp::ThreadExit, NONE)),
    ("procfork", op(StateOp::ProcFork, NONE)),
    ("procexec", op(StateOp::ProcExec, NONE)),
    ("execve", op(StateOp::Exec, class(EventClass::Exec, STATE))),
    (
        "execveat",
        op(StateOp::Exec, class(EventClass::Exec, STATE)),
    ),
    ("clone", op(StateOp::Clone, STATE)),
    ("clone3", op(StateOp::Clone, STATE)),
    ("fork", op(StateOp::Clone, STATE)),
    ("vfork", op(StateOp::Clone, STATE)),
    ("setuid", op(StateOp::SetUid, STATE)),
    ("setgid", op(StateOp::SetGid, STATE)),
    ("setreuid", op(StateOp::SetReUid, STATE)),
    ("setregid", op(StateOp::SetReGid, STATE)),
    ("setresuid", op(StateOp::SetReUid, STATE)),
    ("setresgid", op(StateOp::SetReGid, STATE)),
    ("setsid", op(StateOp::Setsid, STATE)),
    ("setpgid", op(StateOp::Setpgid, STATE)),
    ("chdir", op(StateOp::Chdir, STATE)),
    ("fchdir", op(StateOp::Fchdir, STATE)),
    // The fd table.
    ("open", op(StateOp::Open, class(EventClass::Open, NEW_FD))),
    ("openat", op(StateOp::Open, class(EventClass::Open, NEW_FD))),
    (
        "openat2",
        op(StateOp::Open, class(EventClass::Open, NEW_FD)),
    ),
    (
        "creat",
        op(StateOp::Creat, class(EventClass::Creat, NEW_FD)),
    ),
    ("close", op(StateOp::Close, STATE)),
    ("dup", op(StateOp::Dup, NEW_FD)),
    ("dup2", op(StateOp::Dup, NEW_FD)),
    ("dup3", op(StateOp::Dup3, NEW_FD)),
    // fcntl returns an fd only for F_DUPFD*: its fd is the one it acts on.
    ("fcntl", op(StateOp::Fcntl, STATE)),
    ("socket", op(StateOp::Socket, NEW_FD)),
    (
        "connect",
        op(StateOp::Connect, class(EventClass::Connect, STATE)),
    ),
    (
        "accept",
        EventRoles {
            server_side: true,
            ..op(StateOp::Accept, class(EventClass::Accept, NEW_FD))
        },
    ),
    (
        "accept4",
        EventRoles {
            server_side: true,
            ..op(StateOp::Accept, class(EventClass::Accept, NEW_FD))
        },
    ),
    (
        "bind",
        EventRoles {
            server_side: true,
            ..op(StateOp::Bind, class(EventClass::Bind, STATE))
        },
    ),
    (
        "listen",
        EventRoles {
            server_side: true,
            ..NONE
        },
    ),
    ("pipe", op(StateOp::Pipe, class(EventClass::Pipe, STATE))),
    ("pipe2", op(StateOp::Pipe, class(EventClass::Pipe, STATE))),
    ("socketpair", op(StateOp::Socketpair, STATE)),
    (
        "memfd_create",
        op(StateOp::Memfd, class(EventClass::Memfd, NEW_FD)),
    ),
    // New fds the state learns when the rules record them anyway.
    (
        "userfaultfd",
        EventRoles {
            state: false,
            ..op(StateOp::Userfaultfd, NEW_FD)
        },
    ),
    (
        "io_uring_setup",
        EventRoles {
            state: false,
            ..op(StateOp::IoUringSetup, NEW_FD)
        },
    ),
    ("bpf", op(StateOp::Bpf, NONE)),
    ("finit_module", class(EventClass::FinitModule, NONE)),
    // Path-taking calls (fs.path.name / .source / .target).
    ("unlink", fs(path("path", None), None, None)),
    ("mkdir", fs(path("path", None), None, None)),
    ("rmdir", fs(path("path", None), None, None)),
    ("chown", fs(path("path", None), None, None)),
    ("lchown", fs(path("path", None), None, None)),
    ("chroot", fs(path("path", None), None, None)),
    ("mkdirat", fs(path("path", Some("dirfd")), None, None)),
    ("unlinkat", fs(path("name", Some("dirfd")), None, None)),
    ("umount2", fs(path("name", None), None, None)),
    ("chmod", fs(path("filename", None), None, None)),
    ("fchmodat", fs(path("filename", Some("dirfd")), None, None)),
    ("fchownat", fs(path("pathname", Some("dirfd")), None, None)),
    ("mount", fs(path("dir", None), None, None)),
    (
        "rename",
        fs(None, path("oldpath", None), path("newpath", None)),
    ),
    (
        "link",
        fs(None, path("oldpath", None), path("newpath", None)),
    ),
    (
        "renameat",
        fs(
            None,
            path("oldpath", Some("olddirfd")),
            path("newpath", Some("newdirfd")),
        ),
    ),
    (
        "renameat2",
        fs(
            None,
            path("oldpath", Some("olddirfd")),
            path("newpath", Some("newdirfd")),
        ),
    ),
    (
        "linkat",
        fs(
            None,
            path("oldpath", Some("olddir")),
            path("newpath", Some("newdir")),
        ),
    ),
    // A symlink's content is never resolved: it is kept as written.
    (
        "symlink",
        fs(
            None,
            Some(PathRole {
                path: "target",
                dirfd: None,
                resolve: false,
            }),
            path("linkpath", None),
        ),
    ),
    (
        "symlinkat",
        fs(
            None,
            Some(PathRole {
                path: "target",
                dirfd: None,
                resolve: false,
            }),
            path("linkpath", Some("linkdirfd")),
        ),
    ),
];

/// The roles of event type `event_type` (nothing special for a type the
/// table does not list or the ABI does not have).  Entry records of a
/// call are never an open's, a creat's or an exec's result.
pub fn event_roles(event_type: u16) -> &'static EventRoles {
    static TABLE: OnceLock<Vec<EventRoles>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let max = schemas().iter().map(|s| s.event_type).max().unwrap_or(0);
        let mut t = vec![NONE; usize::from(max) + 1];
        for s in schemas() {
            if let Some((_, r)) = ROLE_ROWS.iter().find(|(n, _)| *n == s.name) {
                let mut r = *r;
                if s.enter {
                    // Only exit records carry results and paths.
                    r = EventRoles {
                        class: match r.class {
                            EventClass::Open | EventClass::Creat | EventClass::Exec => {
                                EventClass::Other
                            }
                            c => c,
                        },
                        fs_paths: [None; 3],
                        ..r
                    };
                }
                t[usize::from(s.event_type)] = r;
            }
        }
        t
    });
    table.get(usize::from(event_type)).unwrap_or(&NONE)
}

/// The `evt.type` names the process state learns from.
pub fn state_event_names() -> impl Iterator<Item = &'static str> {
    ROLE_ROWS.iter().filter(|(_, r)| r.state).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schemas;

    #[test]
    fn every_row_names_an_event_and_parameters_it_has() {
        for (name, roles) in ROLE_ROWS {
            let exits: Vec<_> = schemas()
                .iter()
                .filter(|s| s.name == *name && !s.enter)
                .collect();
            assert!(
                !exits.is_empty(),
                "roles for '{name}', which the event table lacks"
            );
            for p in roles.fs_paths.iter().flatten() {
                for s in &exits {
                    assert!(
                        s.param_index(p.path).is_some(),
                        "{name} has no '{}'",
                        p.path
                    );
                    if let Some(d) = p.dirfd {
                        assert!(s.param_index(d).is_some(), "{name} has no '{d}'");
                    }
                }
            }
            if roles.fd_from_res {
                assert!(exits.iter().all(|s| s.param_index("res").is_some()));
            }
        }
        let mut names: Vec<&str> = ROLE_ROWS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a name with two rows");
    }

    #[test]
    fn roles_are_read_by_event_number() {
        let openat = schemas().iter().find(|s| s.name == "openat").unwrap();
        let r = event_roles(openat.event_type);
        assert_eq!(r.class, EventClass::Open);
        assert!(r.fd_from_res && r.state && !r.server_side);
        let exec_enter = schemas()
            .iter()
            .find(|s| s.name == "execve" && s.enter)
            .unwrap();
        assert_eq!(event_roles(exec_enter.event_type).class, EventClass::Other);
        let renameat = schemas().iter().find(|s| s.name == "renameat").unwrap();
        let r = event_roles(renameat.event_type);
        assert_eq!(r.fs_paths[FS_PATH_SOURCE].unwrap().dirfd, Some("olddirfd"));
        assert!(event_roles(u16::MAX).fs_paths.iter().all(Option::is_none));
        assert!(state_event_names().any(|n| n == "fchdir"));
        assert_eq!(r.state_op, StateOp::None);
        assert_eq!(event_roles(openat.event_type).state_op, StateOp::Open);
    }

    /// Every event the state learns from has something for it to do.
    #[test]
    fn state_events_have_a_state_op() {
        for (name, roles) in ROLE_ROWS {
            if roles.state {
                assert_ne!(roles.state_op, StateOp::None, "{name}");
            }
        }
    }
}
