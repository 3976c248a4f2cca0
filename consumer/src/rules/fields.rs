//! The field catalogue: every field a condition or an output may name, with
//! Falco's names, types and meanings, and the trait through which the
//! evaluator pulls a field's value out of an event.
//!
//! A field the consumer cannot fill yet (process state, containers and
//! Kubernetes arrive with the state module) is still known here: a rule that
//! names it loads, and the field evaluates as missing until a
//! [`FieldSource`] provides it.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

/// What kind of value a field holds; decides which operators apply and how
/// constants in a condition are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text (Falco's CHARBUF, FSPATH): all string operators.
    Str,
    /// Raw bytes (Falco's BYTEBUF): `bcontains`, `bstartswith` and equality.
    Bytes,
    /// Signed integer (Falco's INT64, ERRNO, PID).
    Int,
    /// Unsigned integer (UINT64, UINT32, PORT, times in ns).
    Uint,
    /// true / false.
    Bool,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An address compared against networks (`fd.net = 10.0.0.0/8`).
    IpNet,
    /// A list of strings (`in` means every element is in the set,
    /// `intersects` means one is).
    StrList,
    /// An event parameter (`evt.arg.NAME`): its type is the parameter's own,
    /// known only per event, so constants are kept as text and as numbers.
    Dynamic,
}

impl FieldType {
    /// Lower-case name used in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::Str => "string",
            FieldType::Bytes => "byte buffer",
            FieldType::Int => "signed integer",
            FieldType::Uint => "unsigned integer",
            FieldType::Bool => "boolean",
            FieldType::Ip => "IP address",
            FieldType::IpNet => "IP network",
            FieldType::StrList => "list",
            FieldType::Dynamic => "event argument",
        }
    }
}

/// Whether and how a field takes an argument (`proc.aname[2]`,
/// `evt.arg.flags`, `evt.arg[0]`, `k8s.pod.label[app]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument.
    None,
    /// An optional index (`proc.aname[2]`, or `proc.aname` alone).
    OptionalIndex,
    /// A required index (`proc.apid[2]`).
    Index,
    /// A required key, after a dot or in brackets (`evt.arg.name`,
    /// `evt.arg[0]` is also accepted as an index).
    Key,
    /// A key or an index (`evt.arg.flags` or `evt.arg[1]`).
    KeyOrIndex,
    /// An optional key (`proc.env` or `proc.env[HOME]`).
    OptionalKey,
}

/// Who fills a field's value: the provider column of the catalogue.  Each
/// provider's `match` over [`Field`] lists every field (no catch-all arm),
/// so a field added here without a provider does not compile, and the
/// catalogue test fills every field that is not [`Provider::Missing`] from
/// a fully populated fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The event's own parameters (`rules::event`).
    Event,
    /// The event where it carries the value (an exec's exit, a socket
    /// call's tuple, an open's path), the process state otherwise.
    EventThenState,
    /// The process state (`state::provider`), including what it reads from
    /// `/proc` on demand in live runs.
    State,
    /// Never filled on this engine, for the reason given: the field loads
    /// and evaluates as Falco evaluates a value its source cannot give
    /// (every comparison false, `<NA>` in outputs).
    Missing(&'static str),
}

macro_rules! catalogue {
    ($( $variant:ident => $name:literal, $ty:ident, $arg:ident, $prov:ident $(($why:literal))?, $desc:literal; )*) => {
        /// Every field of the `syscall` source, as Falco names them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)] // each variant's meaning is in FIELDS
        pub enum Field { $( $variant, )* }

        /// The catalogue: one entry per [`Field`], in declaration order.
        pub static FIELDS: &[FieldInfo] = &[
            $( FieldInfo {
                field: Field::$variant,
                name: $name,
                ty: FieldType::$ty,
                arg: ArgKind::$arg,
                provider: Provider::$prov $(($why))?,
                desc: $desc,
            }, )*
        ];
    };
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// Which field.
    pub field: Field,
    /// Falco's name (`proc.name`).
    pub name: &'static str,
    /// Value type.
    pub ty: FieldType,
    /// Argument it takes.
    pub arg: ArgKind,
    /// Who fills it.
    pub provider: Provider,
    /// What it means.
    pub desc: &'static str,
}

catalogue! {
    // evt.*: the event itself.
    EvtNum => "evt.num", Uint, None, Event, "event number, counted from 1 at the start of the capture";
    EvtTime => "evt.time", Str, None, Event, "event time as HH:MM:SS.nnnnnnnnn (UTC)";
    EvtTimeS => "evt.time.s", Str, None, Event, "event time as HH:MM:SS";
    EvtTimeIso => "evt.time.iso8601", Str, None, Event, "event time in ISO 8601 with nanoseconds";
    EvtDatetime => "evt.datetime", Str, None, Event, "event date and time with nanoseconds";
    EvtRawtime => "evt.rawtime", Uint, None, Event, "event time in ns since the Unix epoch";
    EvtType => "evt.type", Str, None, Event, "event name (openat, execve, procexit, ...)";
    EvtDir => "evt.dir", Str, None, Event, "direction: '>' for a syscall's entry, '<' for its exit";
    EvtCpu => "evt.cpu", Uint, None, Event, "ring (CPU) the event was recorded on";
    EvtArgs => "evt.args", Str, None, Event, "all arguments rendered as name=value";
    EvtArg => "evt.arg", Dynamic, KeyOrIndex, Event, "one argument by name (evt.arg.flags) or position (evt.arg[0])";
    EvtRawarg => "evt.rawarg", Dynamic, KeyOrIndex, Event, "one argument's raw value, by name or position";
    EvtRes => "evt.res", Str, None, Event, "result: SUCCESS, or the errno name (ENOENT) of a failed call";
    EvtRawres => "evt.rawres", Int, None, Event, "raw return value (negative errno on failure)";
    EvtFailed => "evt.failed", Bool, None, Event, "true if the call returned an error";
    EvtIsOpenRead => "evt.is_open_read", Bool, None, Event, "an open* whose flags allow reading";
    EvtIsOpenWrite => "evt.is_open_write", Bool, None, Event, "an open* whose flags allow writing";
    EvtIsOpenExec => "evt.is_open_exec", Bool, None, Event, "an open* that creates a file with an execute bit";
    EvtIsOpenCreate => "evt.is_open_create", Bool, None, Event, "an open* with O_CREAT";
    EvtHostname => "evt.hostname", Str, None, Event, "host name of the machine";
    EvtSource => "evt.source", Str, None, Event, "event source (always syscall)";
    EvtBuffer => "evt.buffer", Bytes, None, Missing("no recorded event carries a data buffer: Kestrel records no read, write or send data"), "the event's data buffer, if it has one";
    // proc.*: the process (thread group) that made the call.
    ProcPid => "proc.pid", Int, None, EventThenState, "process id";
    ProcExe => "proc.exe", Str, None, EventThenState, "first argument (argv[0]) as the process was started";
    ProcName => "proc.name", Str, None, EventThenState, "process name (comm, or the exe's file name)";
    ProcArgs => "proc.args", Str, None, EventThenState, "arguments after argv[0], joined by spaces";
    ProcEnv => "proc.env", Str, OptionalKey, EventThenState, "environment, or one variable (proc.env[HOME])";
    ProcCmdline => "proc.cmdline", Str, None, EventThenState, "proc.name followed by proc.args";
    ProcExeline => "proc.exeline", Str, None, EventThenState, "proc.exe followed by proc.args";
    ProcCwd => "proc.cwd", Str, None, EventThenState, "working directory";
    ProcNthreads => "proc.nthreads", Uint, None, State, "threads in the process";
    ProcPpid => "proc.ppid", Int, None, State, "parent process id";
    ProcPname => "proc.pname", Str, None, State, "parent's name";
    ProcPcmdline => "proc.pcmdline", Str, None, State, "parent's command line";
    ProcPexe => "proc.pexe", Str, None, State, "parent's argv[0]";
    ProcPexepath => "proc.pexepath", Str, None, State, "parent's executable path";
    ProcApid => "proc.apid", Int, OptionalIndex, State, "pid of the Nth ancestor (1 = parent); without index, any ancestor";
    ProcAname => "proc.aname", Str, OptionalIndex, State, "name of the Nth ancestor (0 = self, 1 = parent); without index, any ancestor";
    ProcAexepath => "proc.aexepath", Str, OptionalIndex, State, "executable path of the Nth ancestor";
    ProcAexe => "proc.aexe", Str, OptionalIndex, State, "argv[0] of the Nth ancestor (0 = self, 1 = parent); without index, any ancestor";
    ProcDuration => "proc.duration", Uint, None, State, "ns since the process started";
    ProcExeIno => "proc.exe_ino", Uint, None, State, "inode number of the executable file";
    ProcExeInoCtime => "proc.exe_ino.ctime", Uint, None, State, "status change time (ctime) of the executable file, ns since the epoch";
    ProcExeInoMtime => "proc.exe_ino.mtime", Uint, None, State, "modification time (mtime) of the executable file, ns since the epoch";
    ProcExeInoCtimeDurationProcStart => "proc.exe_ino.ctime_duration_proc_start", Uint, None, State, "ns from the executable's ctime to the process's start";
    ProcExepath => "proc.exepath", Str, None, EventThenState, "full executable path";
    ProcLoginshellid => "proc.loginshellid", Int, None, State, "pid of the oldest shell ancestor";
    ProcSname => "proc.sname", Str, None, State, "name of the session leader";
    ProcSid => "proc.sid", Int, None, State, "session id";
    ProcVpgid => "proc.vpgid", Int, None, State, "process group id inside its pid namespace";
    ProcPgid => "proc.pgid", Int, None, State, "process group id";
    ProcVpid => "proc.vpid", Int, None, EventThenState, "pid inside its pid namespace";
    ProcPvpid => "proc.pvpid", Int, None, State, "parent's pid inside its pid namespace";
    ProcTty => "proc.tty", Int, None, EventThenState, "controlling terminal (0 if none)";
    ProcIsExeUpperLayer => "proc.is_exe_upper_layer", Bool, None, Missing("needs the kernel to report the executable's overlay layer, which kestrel.ko does not; false in Falco when its driver cannot tell either"), "executable lives in a container's writable overlay layer";
    ProcIsExeFromMemfd => "proc.is_exe_from_memfd", Bool, None, EventThenState, "executable is a memfd (fileless execution)";
    ProcIsExeWritable => "proc.is_exe_writable", Bool, None, State, "executable is writable by the process's user";
    ProcIsSidLeader => "proc.is_sid_leader", Bool, None, State, "process leads its session";
    ProcIsVpgidLeader => "proc.is_vpgid_leader", Bool, None, State, "process leads its process group";
    ProcStartTs => "proc.start_ts", Uint, None, State, "process start time (ns since the epoch)";
    ProcAargs => "proc.aargs", Str, OptionalIndex, State, "arguments of the Nth ancestor; without index, any ancestor";
    ProcAcmdline => "proc.acmdline", Str, OptionalIndex, State, "command line of the Nth ancestor; without index, any ancestor";
    ProcCmdnargs => "proc.cmdnargs", Uint, None, State, "number of arguments after argv[0]";
    ProcCmdlenargs => "proc.cmdlenargs", Uint, None, State, "total length of the arguments after argv[0]";
    ProcSidExe => "proc.sid.exe", Str, None, State, "argv[0] of the session leader";
    ProcSidExepath => "proc.sid.exepath", Str, None, State, "executable path of the session leader";
    ProcVpgidName => "proc.vpgid.name", Str, None, State, "name of the process group leader";
    ProcVpgidExe => "proc.vpgid.exe", Str, None, State, "argv[0] of the process group leader";
    ProcVpgidExepath => "proc.vpgid.exepath", Str, None, State, "executable path of the process group leader";
    ProcPgidName => "proc.pgid.name", Str, None, State, "name of the process group leader";
    ProcPgidExe => "proc.pgid.exe", Str, None, State, "argv[0] of the process group leader";
    ProcPgidExepath => "proc.pgid.exepath", Str, None, State, "executable path of the process group leader";
    ProcIsPgidLeader => "proc.is_pgid_leader", Bool, None, State, "the process leads its process group";
    ProcIsExeLowerLayer => "proc.is_exe_lower_layer", Bool, None, Missing("needs the kernel to report the executable's overlay layer, which kestrel.ko does not"), "executable lives in a container's read-only image layer";
    ProcPidTs => "proc.pid.ts", Uint, None, State, "process start time (ns since the epoch)";
    ProcPpidTs => "proc.ppid.ts", Uint, None, State, "parent's start time (ns since the epoch)";
    ProcPpidDuration => "proc.ppid.duration", Uint, None, State, "ns since the parent started";
    ProcPidnsInitStartTs => "proc.pidns_init_start_ts", Uint, None, State, "start time of the init process of the process's pid namespace (ns since the epoch)";
    ProcFdopencount => "proc.fdopencount", Uint, None, State, "fds the process has open (as far as the state knows)";
    ProcStdinType => "proc.stdin.type", Str, None, State, "fd.type of fd 0";
    ProcStdoutType => "proc.stdout.type", Str, None, State, "fd.type of fd 1";
    ProcStderrType => "proc.stderr.type", Str, None, State, "fd.type of fd 2";
    ProcStdinName => "proc.stdin.name", Str, None, State, "fd.name of fd 0";
    ProcStdoutName => "proc.stdout.name", Str, None, State, "fd.name of fd 1";
    ProcStderrName => "proc.stderr.name", Str, None, State, "fd.name of fd 2";
    // thread.*
    ThreadTid => "thread.tid", Int, None, EventThenState, "thread id";
    ThreadVtid => "thread.vtid", Int, None, EventThenState, "thread id inside its pid namespace";
    ThreadIsmain => "thread.ismain", Bool, None, EventThenState, "the thread is the process's main thread";
    ThreadCapPermitted => "thread.cap_permitted", Str, None, State, "permitted capabilities";
    ThreadCapEffective => "thread.cap_effective", Str, None, State, "effective capabilities";
    ThreadCapInheritable => "thread.cap_inheritable", Str, None, State, "inheritable capabilities";
    // user.* / group.*
    UserUid => "user.uid", Uint, None, EventThenState, "effective user id";
    UserName => "user.name", Str, None, State, "effective user name (from the process's own root)";
    UserHomedir => "user.homedir", Str, None, State, "home directory";
    UserShell => "user.shell", Str, None, State, "login shell";
    UserLoginuid => "user.loginuid", Int, None, EventThenState, "audit login uid (-1 if none)";
    UserLoginname => "user.loginname", Str, None, State, "name of the audit login user";
    GroupGid => "group.gid", Uint, None, EventThenState, "effective group id";
    GroupName => "group.name", Str, None, State, "effective group name";
    // fd.*: the file descriptor the call used or created.
    FdNum => "fd.num", Int, None, EventThenState, "file descriptor number";
    FdType => "fd.type", Str, None, EventThenState, "file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, memfd, ...";
    FdTypechar => "fd.typechar", Str, None, EventThenState, "one letter for fd.type (f, 4, 6, u, p, ...)";
    FdName => "fd.name", Str, None, EventThenState, "file path, or connection tuple for sockets";
    FdDirectory => "fd.directory", Str, None, EventThenState, "directory part of a file's path";
    FdFilename => "fd.filename", Str, None, EventThenState, "file name part of a file's path";
    FdNameraw => "fd.nameraw", Str, None, EventThenState, "the path exactly as the call passed it";
    FdIp => "fd.ip", Ip, None, EventThenState, "either end's address (matches if one does)";
    FdCip => "fd.cip", Ip, None, EventThenState, "client address";
    FdSip => "fd.sip", Ip, None, EventThenState, "server address";
    FdLip => "fd.lip", Ip, None, EventThenState, "local address";
    FdRip => "fd.rip", Ip, None, EventThenState, "remote address";
    FdPort => "fd.port", Uint, None, EventThenState, "either end's port (matches if one does)";
    FdCport => "fd.cport", Uint, None, EventThenState, "client port";
    FdSport => "fd.sport", Uint, None, EventThenState, "server port";
    FdLport => "fd.lport", Uint, None, EventThenState, "local port";
    FdRport => "fd.rport", Uint, None, EventThenState, "remote port";
    FdL4proto => "fd.l4proto", Str, None, EventThenState, "tcp, udp, icmp or raw";
    FdSockfamily => "fd.sockfamily", Str, None, EventThenState, "ip or unix";
    FdIsServer => "fd.is_server", Bool, None, EventThenState, "the process is the server end of the connection";
    FdNet => "fd.net", IpNet, None, EventThenState, "either end's address, compared with networks";
    FdCnet => "fd.cnet", IpNet, None, EventThenState, "client address, compared with networks";
    FdSnet => "fd.snet", IpNet, None, EventThenState, "server address, compared with networks";
    FdLnet => "fd.lnet", IpNet, None, EventThenState, "local address, compared with networks";
    FdRnet => "fd.rnet", IpNet, None, EventThenState, "remote address, compared with networks";
    FdConnected => "fd.connected", Bool, None, EventThenState, "the socket is connected";
    FdDev => "fd.dev", Uint, None, State, "device number of the file";
    FdIno => "fd.ino", Uint, None, State, "inode number of the file";
    FdNameChanged => "fd.name_changed", Bool, None, State, "the event changed the fd's name (a sendto to another address than the socket's peer)";
    FdCipName => "fd.cip.name", Str, None, State, "domain name of the client address (compared with =, != and in: the names are resolved and their addresses compared)";
    FdSipName => "fd.sip.name", Str, None, State, "domain name of the server address (compared as fd.cip.name)";
    FdLipName => "fd.lip.name", Str, None, State, "domain name of the local address (compared as fd.cip.name)";
    FdRipName => "fd.rip.name", Str, None, State, "domain name of the remote address (compared as fd.cip.name)";
    // fs.path.*: paths of path-taking calls (rename, link, unlink, ...).
    FsPathName => "fs.path.name", Str, None, EventThenState, "the path the call acted on, made absolute";
    FsPathNameraw => "fs.path.nameraw", Str, None, EventThenState, "the path as passed";
    FsPathSource => "fs.path.source", Str, None, EventThenState, "source path of a two-path call (rename, link), absolute";
    FsPathSourceraw => "fs.path.sourceraw", Str, None, EventThenState, "source path as passed";
    FsPathTarget => "fs.path.target", Str, None, EventThenState, "target path of a two-path call, absolute";
    FsPathTargetraw => "fs.path.targetraw", Str, None, EventThenState, "target path as passed";
    // container.*
    ContainerId => "container.id", Str, None, State, "container id (12 characters), or 'host'";
    ContainerFullId => "container.full_id", Str, None, State, "full container id, or 'host'";
    ContainerName => "container.name", Str, None, State, "container name, or 'host'";
    ContainerImage => "container.image", Str, None, State, "image name";
    ContainerImageId => "container.image.id", Str, None, State, "image id";
    ContainerImageRepository => "container.image.repository", Str, None, State, "image repository";
    ContainerImageTag => "container.image.tag", Str, None, State, "image tag";
    ContainerImageDigest => "container.image.digest", Str, None, State, "image digest";
    ContainerType => "container.type", Str, None, State, "docker, containerd, cri-o, podman, host, ...";
    ContainerPrivileged => "container.privileged", Bool, None, State, "the container runs privileged";
    ContainerMounts => "container.mounts", Str, None, State, "mounts, as source:dest:mode:rdwr:propagation";
    ContainerMount => "container.mount", Str, KeyOrIndex, State, "one mount as source:dest:mode:rdwr:propagation, by index or by source path (a glob)";
    ContainerMountSource => "container.mount.source", Str, KeyOrIndex, State, "a mount's source, by index or by destination path (a glob)";
    ContainerMountDest => "container.mount.dest", Str, KeyOrIndex, State, "a mount's destination, by index or by source path (a glob)";
    ContainerMountMode => "container.mount.mode", Str, KeyOrIndex, State, "a mount's mode (options), by index or by source path (a glob)";
    ContainerMountRdwr => "container.mount.rdwr", Str, KeyOrIndex, State, "true if a mount is writable, by index or by source path (a glob)";
    ContainerMountPropagation => "container.mount.propagation", Str, KeyOrIndex, State, "a mount's propagation, by index or by source path (a glob)";
    ContainerHealthcheck => "container.healthcheck", Str, None, Missing("deprecated: Falco's container plugin leaves it empty too"), "the container's health check command";
    ContainerStartTs => "container.start_ts", Uint, None, State, "container start time (ns since the epoch)";
    // k8s.*
    K8sPodName => "k8s.pod.name", Str, None, State, "pod name";
    K8sPodId => "k8s.pod.id", Str, None, State, "pod uid (legacy name)";
    K8sPodUid => "k8s.pod.uid", Str, None, State, "pod uid";
    K8sPodLabel => "k8s.pod.label", Str, Key, State, "one pod label (k8s.pod.label[app])";
    K8sPodLabels => "k8s.pod.labels", StrList, None, State, "all pod labels as key:value";
    K8sPodIp => "k8s.pod.ip", Str, None, Missing("needs the pod status from the CRI API, which Kestrel does not query"), "pod IP address";
    K8sPodCniJson => "k8s.pod.cni.json", Str, None, Missing("needs the pod status from the CRI API, which Kestrel does not query"), "pod CNI result as JSON";
    K8sNsName => "k8s.ns.name", Str, None, State, "namespace name";
}

impl Field {
    /// The catalogue entry.
    pub fn info(self) -> &'static FieldInfo {
        &FIELDS[self as usize]
    }

    /// Falco's name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Looks a field up by its exact name.
    pub fn by_name(name: &str) -> Option<Field> {
        FIELDS.iter().find(|f| f.name == name).map(|f| f.field)
    }
}

/// A field's argument as written in a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldArg {
    /// No argument.
    None,
    /// `[N]`.
    Index(u32),
    /// `.name` or `[name]`.
    Key(Box<str>),
}

/// A resolved reference to a field, with its argument: what the evaluator
/// hands to a [`FieldSource`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// Which field.
    pub field: Field,
    /// Its argument.
    pub arg: FieldArg,
}

impl FieldRef {
    /// Whether the field's value is a [`FieldValue::AnyOf`], and what `!=`
    /// means on it: the ancestor fields without an index (any ancestor)
    /// and the fields that name either end of a socket.
    pub fn any_of(&self) -> Option<Negation> {
        match self.field {
            Field::ProcApid
            | Field::ProcAname
            | Field::ProcAexe
            | Field::ProcAexepath
            | Field::ProcAargs
            | Field::ProcAcmdline
                if self.arg == FieldArg::None =>
            {
                Some(Negation::AnyDiffers)
            }
            Field::FdIp | Field::FdNet | Field::FdPort => Some(Negation::NoneEqual),
            _ => None,
        }
    }

    /// A reference without argument.
    pub fn plain(field: Field) -> FieldRef {
        FieldRef {
            field,
            arg: FieldArg::None,
        }
    }

    /// Resolves `name` (`proc.name`, `evt.arg.flags`) and an optional
    /// bracketed argument (`2` in `proc.aname[2]`).  Errors say what was
    /// wrong in words meant for a rule author.
    pub fn resolve(name: &str, bracket: Option<&str>) -> Result<FieldRef, String> {
        let (field, dotted) = match Field::by_name(name) {
            Some(f) => (f, None),
            None => {
                // evt.arg.flags, proc.env.HOME-style keys: longest known prefix.
                let mut found = None;
                for (i, _) in name.match_indices('.').rev() {
                    if let Some(f) = Field::by_name(&name[..i]) {
                        found = Some((f, Some(&name[i + 1..])));
                        break;
                    }
                }
                match found {
                    Some((f, Some(key)))
                        if matches!(f.info().arg, ArgKind::Key | ArgKind::KeyOrIndex)
                            && !key.is_empty() =>
                    {
                        (f, Some(key))
                    }
                    _ => return Err(format!("unknown field '{name}'")),
                }
            }
        };
        let info = field.info();
        if dotted.is_some() && bracket.is_some() {
            return Err(format!(
                "field '{name}' has both a dotted and a bracketed argument"
            ));
        }
        let arg = match (info.arg, dotted.or(bracket)) {
            (ArgKind::None, None) => FieldArg::None,
            (ArgKind::None, Some(a)) => {
                return Err(format!(
                    "field '{}' takes no argument (got '{a}')",
                    info.name
                ))
            }
            (ArgKind::Index, None) | (ArgKind::Key, None) | (ArgKind::KeyOrIndex, None) => {
                return Err(format!(
                    "field '{}' needs an argument, as in {}",
                    info.name,
                    match info.arg {
                        ArgKind::Index => format!("{}[1]", info.name),
                        _ => format!("{}[name]", info.name),
                    }
                ))
            }
            (ArgKind::OptionalIndex | ArgKind::OptionalKey, None) => FieldArg::None,
            (ArgKind::Index | ArgKind::OptionalIndex, Some(a)) => match a.trim().parse::<u32>() {
                Ok(n) => FieldArg::Index(n),
                Err(_) => {
                    return Err(format!(
                        "field '{}' takes a number in brackets, not '{a}'",
                        info.name
                    ))
                }
            },
            (ArgKind::KeyOrIndex, Some(a)) if bracket.is_some() => match a.trim().parse::<u32>() {
                Ok(n) => FieldArg::Index(n),
                Err(_) => FieldArg::Key(a.trim().into()),
            },
            (_, Some(a)) => {
                if a.trim().is_empty() {
                    return Err(format!("field '{}' has an empty argument", info.name));
                }
                FieldArg::Key(a.trim().into())
            }
        };
        Ok(FieldRef { field, arg })
    }
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arg {
            FieldArg::None => f.write_str(self.field.name()),
            FieldArg::Index(i) => write!(f, "{}[{i}]", self.field.name()),
            FieldArg::Key(k) if self.field == Field::EvtArg || self.field == Field::EvtRawarg => {
                write!(f, "{}.{k}", self.field.name())
            }
            FieldArg::Key(k) => write!(f, "{}[{k}]", self.field.name()),
        }
    }
}

/// A field's value for one event, borrowed from the event or the state
/// where possible (no allocation on the hot path for plain fields).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// Text or bytes.
    Str(Cow<'a, [u8]>),
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    Uint(u64),
    /// Boolean.
    Bool(bool),
    /// Address.
    Ip(IpAddr),
    /// A list field's values (`k8s.pod.labels`): `in` holds if every item
    /// is in the set, `intersects` if any is.
    List(Vec<FieldValue<'a>>),
    /// One field seen several ways, a test holding if it holds for any of
    /// them, as Falco compares `proc.aname` without an index (each ancestor)
    /// and `fd.ip`/`fd.net`/`fd.port` (each end of the socket).  The
    /// [`Negation`] says what `!=` means.
    AnyOf(Vec<FieldValue<'a>>, Negation),
}

/// What `!=` means on a [`FieldValue::AnyOf`] value, as Falco has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negation {
    /// True if any value differs (`proc.aname != bash`: some ancestor is
    /// not bash), like every other operator on ancestors.
    AnyDiffers,
    /// True only if no value is equal (`fd.port != 80`: neither end is
    /// port 80).
    NoneEqual,
}

impl<'a> FieldValue<'a> {
    /// Borrowed text.
    pub fn str(s: &'a (impl AsRef<[u8]> + ?Sized)) -> FieldValue<'a> {
        FieldValue::Str(Cow::Borrowed(s.as_ref()))
    }

    /// Owned text (computed values).
    pub fn owned(s: impl Into<Vec<u8>>) -> FieldValue<'a> {
        FieldValue::Str(Cow::Owned(s.into()))
    }

    /// The value as text for outputs (`<NA>` is the caller's business).
    pub fn render(&self) -> String {
        match self {
            FieldValue::Str(s) => String::from_utf8_lossy(s).into_owned(),
            FieldValue::Int(v) => v.to_string(),
            FieldValue::Uint(v) => v.to_string(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Ip(ip) => ip.to_string(),
            FieldValue::List(items) | FieldValue::AnyOf(items, _) => {
                let parts: Vec<String> = items.iter().map(|v| v.render()).collect();
                format!("({})", parts.join(","))
            }
        }
    }

    /// The value as JSON for `output_fields`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FieldValue::Int(v) => (*v).into(),
            FieldValue::Uint(v) => (*v).into(),
            FieldValue::Bool(b) => (*b).into(),
            FieldValue::List(items) | FieldValue::AnyOf(items, _) => {
                items.iter().map(|v| v.to_json()).collect()
            }
            other => other.render().into(),
        }
    }
}

/// Where the evaluator gets field values: implemented for decoded events
/// (with or without process state) and by tests.
///
/// `field` returns `None` when the event has no such value (wrong event
/// type, state not known, parameter unreadable): every comparison on a
/// missing value is false, and `exists` tells whether it is there.
pub trait FieldSource {
    /// The event's type number (`KESTREL_EVT_*`), used to pick the rules
    /// that can match it.
    fn event_type(&self) -> u16;
    /// The event's name as `evt.type` shows it (`openat`).
    fn event_name(&self) -> &str;
    /// One field's value.
    fn field(&self, f: &FieldRef) -> Option<FieldValue<'_>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_in_enum_order_and_names_are_unique() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(f.field as usize, i, "{}", f.name);
        }
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn resolves_arguments_in_every_form() {
        let r = FieldRef::resolve("proc.aname", Some("2")).unwrap();
        assert_eq!((r.field, r.arg), (Field::ProcAname, FieldArg::Index(2)));
        let r = FieldRef::resolve("evt.arg.flags", None).unwrap();
        assert_eq!(
            (r.field, r.arg),
            (Field::EvtArg, FieldArg::Key("flags".into()))
        );
        let r = FieldRef::resolve("evt.arg", Some("0")).unwrap();
        assert_eq!(r.arg, FieldArg::Index(0));
        let r = FieldRef::resolve("k8s.pod.label", Some("app")).unwrap();
        assert_eq!(r.to_string(), "k8s.pod.label[app]");
        assert_eq!(
            FieldRef::resolve("evt.arg.flags", None)
                .unwrap()
                .to_string(),
            "evt.arg.flags"
        );
        assert!(FieldRef::resolve("proc.nmae", None)
            .unwrap_err()
            .contains("unknown field 'proc.nmae'"));
        assert!(FieldRef::resolve("k8s.pod.label", None)
            .unwrap_err()
            .contains("needs an argument"));
        assert_eq!(
            FieldRef::resolve("proc.apid", None).unwrap().any_of(),
            Some(Negation::AnyDiffers)
        );
        assert_eq!(
            FieldRef::resolve("proc.apid", Some("1")).unwrap().any_of(),
            None
        );
        assert_eq!(
            FieldRef::resolve("fd.port", None).unwrap().any_of(),
            Some(Negation::NoneEqual)
        );
        assert!(FieldRef::resolve("proc.aname", Some("x")).is_err());
        assert!(FieldRef::resolve("proc.name", Some("1")).is_err());
        assert!(FieldRef::resolve("proc.name.x", None).is_err());
    }
}
