//! What the state knows about a process and a thread: [`Process`] (exe,
//! args, cwd, credentials, cgroup, container, fds, ...), [`Thread`],
//! [`Credentials`], and what an exec changes ([`ExecInfo`]).

use std::sync::Arc;

use super::fds::FdTable;
use super::runtime::ContainerInfo;

/// A uid, gid or loginuid that is not known (also the kernel's "unset"
/// loginuid).
pub const UNKNOWN_ID: u32 = u32::MAX;

/// Default hard cap on threads in the table.
pub const DEFAULT_MAX_THREADS: usize = 131_072;

/// Most bytes of environment read from `/proc/<pid>/environ` (an exec
/// record's is bounded by the capture's snaplen instead).
pub const MAX_ENV_BYTES: usize = 4096;

/// The pid namespace inode of the initial namespace (PROC_PID_INIT_INO).
pub const INIT_PIDNS: u64 = 0xEFFF_FFFC;

/// Longest a `comm` is (TASK_COMM_LEN - 1).
pub(super) const COMM_LEN: usize = 15;

/// Real and effective ids of a process, and its login uid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Audit login uid ([`UNKNOWN_ID`] when unset).
    pub loginuid: u32,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            uid: UNKNOWN_ID,
            gid: UNKNOWN_ID,
            euid: UNKNOWN_ID,
            egid: UNKNOWN_ID,
            loginuid: UNKNOWN_ID,
        }
    }
}

/// What a process is, shared by all its threads.
#[derive(Debug, Clone, Default)]
pub struct Process {
    /// Process id (tgid) in the initial pid namespace.
    pub pid: u32,
    /// Parent's pid when this process was created (or scanned).
    pub ppid: u32,
    /// Pid inside its own pid namespace (0 when unknown).
    pub vpid: u32,
    /// Process group id.
    pub pgid: u32,
    /// Process group id inside its pid namespace (0 when unknown).
    pub vpgid: u32,
    /// Session id.
    pub sid: u32,
    /// The kernel's name for it (`comm`, at most 15 bytes).
    pub comm: Box<str>,
    /// Full path of the executable.
    pub exepath: Box<str>,
    /// The command line, NUL-separated, `argv[0]` first.
    pub cmdline: Box<str>,
    /// Working directory (empty when unknown).
    pub cwd: Box<str>,
    /// Environment, NUL-separated `NAME=value` entries, as far as the exec
    /// record (or `/proc/<pid>/environ`, up to [`MAX_ENV_BYTES`]) carried it.
    pub env: Box<str>,
    /// Ids.
    pub creds: Credentials,
    /// Controlling terminal (`tty_nr`, 0 for none).
    pub tty: u32,
    /// Creation time, CLOCK_MONOTONIC-like ns (0 when unknown).
    pub start_ns: u64,
    /// Cgroup path (v2 unified path, else the first v1 path that names a
    /// container, else the first v1 path).
    pub cgroup: Box<str>,
    /// Its container, `None` on the host (or when `cgroup_unknown`).
    pub container: Option<Arc<ContainerInfo>>,
    /// Entered from events alone and no exec record named its cgroup yet:
    /// whether it runs in a container is unknown.
    pub cgroup_unknown: bool,
    /// Inode of its pid namespace (0 when unknown).
    pub pidns: u64,
    /// Its file descriptors.
    pub fds: FdTable,
    /// All its threads exited.
    pub exited: bool,
    pub(super) live_threads: u32,
    pub(super) children: u32,
    pub(super) parent: Option<u32>,
}

impl Process {
    /// `proc.exe`: the first command-line argument.
    pub fn exe(&self) -> &str {
        self.cmdline.split('\0').next().unwrap_or("")
    }

    /// `proc.args`: the arguments after `argv[0]`.
    pub fn args(&self) -> impl Iterator<Item = &str> {
        self.cmdline.split('\0').skip(1)
    }

    /// `proc.args` as one string, space-separated.
    pub fn args_line(&self) -> String {
        // One allocation of the right size (no vector of parts, no growth).
        let tail = self.cmdline.split_once('\0').map_or("", |(_, t)| t);
        let mut s = String::with_capacity(tail.len());
        for (i, a) in self.args().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(a);
        }
        s
    }

    /// `proc.name`: the kernel's name (`comm`).
    pub fn name(&self) -> &str {
        &self.comm
    }

    /// `proc.cmdline`: name and arguments, space-separated.
    pub fn cmdline_line(&self) -> String {
        // Sized once: comm, then each argument after a space.
        let mut s = String::with_capacity(self.comm.len() + self.cmdline.len());
        s.push_str(&self.comm);
        for a in self.args() {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    /// `proc.env`'s entries (`NAME=value`).
    pub fn env_vars(&self) -> impl Iterator<Item = &str> {
        self.env.split('\0').filter(|e| !e.is_empty())
    }

    /// `proc.env[NAME]`: the value of one variable.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env_vars().find_map(|e| {
            let (k, v) = e.split_once('=')?;
            (k == name).then_some(v)
        })
    }

    /// True when its pid namespace is the initial one (so `vpid == pid`).
    /// Without a namespace inode, a process whose known `vpid` equals its
    /// pid is taken to be there.
    pub fn in_initial_pidns(&self) -> bool {
        match self.pidns {
            0 => self.vpid != 0 && self.vpid == self.pid,
            ns => ns == INIT_PIDNS,
        }
    }

    /// Sets the command line from its arguments.
    pub fn set_cmdline<S: AsRef<str>>(&mut self, argv: &[S]) {
        self.cmdline = join_nul(argv).into();
    }

    /// Bytes this process holds on the heap (strings, fd table).
    pub fn heap_bytes(&self) -> usize {
        self.comm.len()
            + self.exepath.len()
            + self.cmdline.len()
            + self.cwd.len()
            + self.env.len()
            + self.cgroup.len()
            + self.fds.heap_bytes()
    }
}

/// Joins arguments with NUL separators.
pub fn join_nul<S: AsRef<str>>(argv: &[S]) -> String {
    // Sized up front: one allocation, and no shrink when boxed.
    let len = argv.iter().map(|a| a.as_ref().len() + 1).sum::<usize>();
    let mut s = String::with_capacity(len.saturating_sub(1));
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            s.push('\0');
        }
        s.push_str(a.as_ref());
    }
    s
}

/// The `comm` the kernel gives an exec'd image: the file name's last
/// component, cut to 15 bytes (on a character boundary).
pub fn comm_of(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let mut end = base.len().min(COMM_LEN);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    base[..end].to_string()
}

/// One thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thread {
    /// Thread id in the initial pid namespace.
    pub tid: u32,
    /// Its process's id.
    pub pid: u32,
    /// Thread id inside its pid namespace (0 when unknown).
    pub vtid: u32,
    pub(super) proc: u32,
}

/// What an exec changed; `None` fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecInfo {
    /// Full path of the new executable.
    pub exepath: Option<String>,
    /// The kernel's name for the image (see [`comm_of`]); `None` keeps it
    /// (the procexec event before an execve exit already set it).
    pub comm: Option<String>,
    /// New command line, `argv[0]` first.
    pub argv: Option<Vec<String>>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Environment, `NAME=value` entries.
    pub env: Option<Vec<String>>,
    /// Real uid.
    pub uid: Option<u32>,
    /// Real gid.
    pub gid: Option<u32>,
    /// Effective uid.
    pub euid: Option<u32>,
    /// Effective gid.
    pub egid: Option<u32>,
    /// Login uid.
    pub loginuid: Option<u32>,
    /// Controlling terminal.
    pub tty: Option<u32>,
    /// Cgroup path.
    pub cgroup: Option<String>,
    /// Pid namespace inode.
    pub pidns: Option<u64>,
    /// Pid in its namespace.
    pub vpid: Option<u32>,
    /// Tid in its namespace.
    pub vtid: Option<u32>,
    /// Process group.
    pub pgid: Option<u32>,
    /// Process group in its namespace.
    pub vpgid: Option<u32>,
    /// Session.
    pub sid: Option<u32>,
}
