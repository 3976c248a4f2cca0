//! Field values of decoded events: the [`FieldSource`] the engine uses on
//! the live and replay paths, and the seam where process state plugs in.
//!
//! Fields come from the event itself where the event carries them
//! (`evt.*`, `fd.*` of open*/creat and sockets with a tuple, `fs.path.*` of
//! path-taking calls, `proc.*`/`user.*` of an `execve` exit, which carries
//! the new image); every other field, and any field the event cannot
//! answer, is asked of the [`StateView`] if there is one, and is missing
//! otherwise.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use kestrel_abi::{EventClass as Class, ParamFormat};

use super::slots::{type_info, TypeInfo, K, NO_SLOT};

use super::fields::{Field, FieldArg, FieldRef, FieldSource, FieldValue, Negation};
use crate::decode::{Bytes, Event, SockAddr, SockTuple, Value};

/// What the state module knows about the thread behind an event: the
/// process, its ancestors, its fds, its user, its container and pod.
///
/// Implemented by the state module; tests implement it with fixed values.
/// Returns `None` for what it does not know.
pub trait StateView {
    /// The value of `field` for the thread that made `event`.
    fn field<'s>(&'s self, event: &Event<'_>, field: &FieldRef) -> Option<FieldValue<'s>>;
}

/// A decoded event as the rule engine sees it.
pub struct EventFields<'e, 'a> {
    /// The event.
    pub event: &'e Event<'a>,
    /// Process state, when the consumer keeps it.
    pub state: Option<&'e dyn StateView>,
    /// Ring (CPU) the event came from.
    pub ring: u32,
    /// How many events came before this one in the stream (0 for the
    /// first).  `evt.num` counts from 1, as Falco's does: Falco's rules
    /// rely on no event having number 0 (`never_true` is `evt.num=0`).
    pub num: u64,
    /// CLOCK_REALTIME - CLOCK_MONOTONIC, to turn event time to wall time.
    pub wall_offset_ns: i64,
    /// Host name for `evt.hostname` (this machine's, read once, unless
    /// the caller sets another).
    pub hostname: &'e str,
    /// The event type's parameter slots and class, looked up once.
    info: &'static TypeInfo,
    /// An exec's `proc.args`, `proc.cmdline` and `proc.exeline`, joined
    /// on first use and kept for the other rules that test them.
    joined: [OnceCell<Option<Box<str>>>; 3],
}

/// This machine's host name, read once (Falco's `evt.hostname`).
pub fn this_hostname() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(super::format::hostname)
}

impl<'e, 'a> EventFields<'e, 'a> {
    /// An event without state.
    pub fn new(event: &'e Event<'a>) -> Self {
        EventFields {
            event,
            state: None,
            ring: 0,
            num: 0,
            wall_offset_ns: 0,
            hostname: this_hostname(),
            info: type_info(event.event_type()),
            joined: Default::default(),
        }
    }

    /// Event time in ns since the Unix epoch.
    pub fn wall_ns(&self) -> i128 {
        i128::from(self.event.ts_ns) + i128::from(self.wall_offset_ns)
    }

    #[inline]
    fn info(&self) -> &'static TypeInfo {
        self.info
    }

    #[inline]
    fn param(&self, key: K) -> Option<&'e Value<'a>> {
        let i = self.info().slots[key as usize];
        if i == NO_SLOT {
            return None;
        }
        self.event
            .param_at(usize::from(i))
            .filter(|v| !v.is_fault())
    }

    fn text(&self, key: K) -> Option<&'e [u8]> {
        self.param(key)?.as_bytes().map(|b| b.bytes)
    }

    fn int(&self, key: K) -> Option<i64> {
        self.param(key)?.as_i64()
    }

    fn res(&self) -> Option<i64> {
        match self.param(K::Res)? {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The event's own answer, if it has one.
    fn event_value(&self, f: &FieldRef) -> Option<FieldValue<'_>> {
        let ev = self.event;
        let name = ev.name();
        let info = self.info();
        Some(match f.field {
            Field::EvtNum => FieldValue::Uint(self.num + 1),
            Field::EvtTime => FieldValue::owned(super::format::clock_time(self.wall_ns())),
            Field::EvtTimeS => {
                let t = super::format::clock_time(self.wall_ns());
                FieldValue::owned(t.split('.').next().unwrap_or("").to_string())
            }
            Field::EvtTimeIso | Field::EvtDatetime => {
                FieldValue::owned(crate::output::format_wall_time(self.wall_ns()))
            }
            Field::EvtRawtime => FieldValue::Uint(u64::try_from(self.wall_ns()).unwrap_or(0)),
            Field::EvtType => FieldValue::str(name),
            Field::EvtDir => FieldValue::str(if ev.is_enter() { ">" } else { "<" }),
            Field::EvtCpu => FieldValue::Uint(self.ring.into()),
            Field::EvtArgs => FieldValue::owned(render_args(ev)),
            Field::EvtArg | Field::EvtRawarg => {
                let (schema, v) = match &f.arg {
                    FieldArg::Index(i) => {
                        let i = *i as usize;
                        (ev.schema.params.get(i)?, ev.param_at(i)?)
                    }
                    FieldArg::Key(k) => {
                        let i = ev.schema.param_index(k)?;
                        (&ev.schema.params[i], ev.param_at(i)?)
                    }
                    FieldArg::None => return None,
                };
                if v.is_fault() {
                    return None;
                }
                let raw = f.field == Field::EvtRawarg;
                value_of(
                    v,
                    if raw {
                        ParamFormat::None
                    } else {
                        schema.format
                    },
                )?
            }
            Field::EvtRes => {
                let r = self.res()?;
                if r >= 0 {
                    FieldValue::str("SUCCESS")
                } else {
                    errno_name_static(r)
                }
            }
            Field::EvtRawres => FieldValue::Int(self.res()?),
            Field::EvtFailed => FieldValue::Bool(self.res()? < 0),
            Field::EvtIsOpenRead
            | Field::EvtIsOpenWrite
            | Field::EvtIsOpenCreate
            | Field::EvtIsOpenExec => {
                let (flags, mode) = match info.class {
                    Class::Creat => (
                        (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
                        self.param(K::Mode)?.as_u64()?,
                    ),
                    Class::Open => (
                        self.param(K::Flags)?.as_u64()?,
                        self.param(K::Mode).and_then(|m| m.as_u64()).unwrap_or(0),
                    ),
                    _ => return None,
                };
                let acc = flags & libc::O_ACCMODE as u64;
                let create = flags & libc::O_CREAT as u64 != 0;
                FieldValue::Bool(match f.field {
                    Field::EvtIsOpenRead => {
                        acc == libc::O_RDONLY as u64 || acc == libc::O_RDWR as u64
                    }
                    Field::EvtIsOpenWrite => {
                        acc == libc::O_WRONLY as u64 || acc == libc::O_RDWR as u64
                    }
                    Field::EvtIsOpenCreate => create,
                    _ => create && mode & 0o111 != 0,
                })
            }
            Field::EvtHostname => FieldValue::str(self.hostname),
            Field::EvtSource => FieldValue::str("syscall"),
            Field::ProcPid => FieldValue::Int(ev.pid.into()),
            Field::ThreadTid => FieldValue::Int(ev.tid.into()),
            Field::ThreadIsmain => FieldValue::Bool(ev.pid == ev.tid),
            Field::FdNum => {
                let fd = if info.fd_from_res {
                    self.res().filter(|r| *r >= 0)?
                } else {
                    self.int(K::Fd)?
                };
                FieldValue::Int(fd)
            }
            Field::FdName | Field::FdDirectory | Field::FdFilename | Field::FdNameraw => {
                return self.fd_name(f.field);
            }
            Field::FdType | Field::FdTypechar => {
                let (ty, ch) = self.fd_type()?;
                FieldValue::str(if f.field == Field::FdType { ty } else { ch })
            }
            Field::FdSockfamily => match self.tuple()? {
                SockTuple::Inet { .. } => FieldValue::str("ip"),
                SockTuple::Unix(_) => FieldValue::str("unix"),
                SockTuple::Other(_) => return None,
            },
            Field::FdIsServer => {
                self.tuple()?;
                FieldValue::Bool(info.class == Class::Accept)
            }
            Field::FdConnected => {
                self.tuple()?;
                FieldValue::Bool(matches!(info.class, Class::Accept | Class::Connect))
            }
            Field::FdIp
            | Field::FdCip
            | Field::FdSip
            | Field::FdLip
            | Field::FdRip
            | Field::FdNet
            | Field::FdCnet
            | Field::FdSnet
            | Field::FdLnet
            | Field::FdRnet => {
                let (local, remote) = self.ends()?;
                let pick = |a: SocketAddr| FieldValue::Ip(a.ip());
                let server_local = info.server_side;
                match f.field {
                    Field::FdIp | Field::FdNet => {
                        FieldValue::AnyOf(vec![pick(local), pick(remote)], Negation::NoneEqual)
                    }
                    Field::FdLip | Field::FdLnet => pick(local),
                    Field::FdRip | Field::FdRnet => pick(remote),
                    Field::FdSip | Field::FdSnet => pick(if server_local { local } else { remote }),
                    _ => pick(if server_local { remote } else { local }),
                }
            }
            Field::FdPort | Field::FdCport | Field::FdSport | Field::FdLport | Field::FdRport => {
                let (local, remote) = self.ends()?;
                let p = |a: SocketAddr| FieldValue::Uint(a.port().into());
                let server_local = info.server_side;
                match f.field {
                    Field::FdPort => {
                        FieldValue::AnyOf(vec![p(local), p(remote)], Negation::NoneEqual)
                    }
                    Field::FdLport => p(local),
                    Field::FdRport => p(remote),
                    Field::FdSport => p(if server_local { local } else { remote }),
                    _ => p(if server_local { remote } else { local }),
                }
            }
            Field::FsPathName
            | Field::FsPathNameraw
            | Field::FsPathSource
            | Field::FsPathSourceraw
            | Field::FsPathTarget
            | Field::FsPathTargetraw => {
                let which = match f.field {
                    Field::FsPathName | Field::FsPathNameraw => 0,
                    Field::FsPathSource | Field::FsPathSourceraw => 1,
                    _ => 2,
                };
                let raw = matches!(
                    f.field,
                    Field::FsPathNameraw | Field::FsPathSourceraw | Field::FsPathTargetraw
                );
                if which == 0 && !raw {
                    // The kernel's resolution wins when the event has one.
                    if let Some(full) = self.text(K::Fullpath).filter(|p| p.starts_with(b"/")) {
                        return Some(FieldValue::str(full));
                    }
                }
                let (slot, resolve) = info.fs_paths[which]?;
                let p = ev
                    .param_at(usize::from(slot))
                    .filter(|v| !v.is_fault())?
                    .as_bytes()?
                    .bytes;
                if !raw && resolve && !p.starts_with(b"/") {
                    return None; // relative: the state resolves it
                }
                FieldValue::str(p)
            }
            // What a successful exec's exit record describes: the new image.
            Field::ProcExe
            | Field::ProcName
            | Field::ProcArgs
            | Field::ProcEnv
            | Field::ProcCmdline
            | Field::ProcExeline
            | Field::ProcCwd
            | Field::ProcExepath
            | Field::ProcVpid
            | Field::ProcTty
            | Field::ProcIsExeFromMemfd
            | Field::ThreadVtid
            | Field::UserUid
            | Field::UserLoginuid
            | Field::GroupGid => {
                if info.class == Class::Exec && self.res() == Some(0) {
                    return self.exec_value(f);
                }
                return None;
            }
            // The process state answers these (or nothing does: Provider::Missing).
            Field::EvtBuffer
            | Field::ProcNthreads
            | Field::ProcPpid
            | Field::ProcPname
            | Field::ProcPcmdline
            | Field::ProcPexe
            | Field::ProcPexepath
            | Field::ProcApid
            | Field::ProcAname
            | Field::ProcAexepath
            | Field::ProcAexe
            | Field::ProcDuration
            | Field::ProcExeIno
            | Field::ProcExeInoCtime
            | Field::ProcExeInoMtime
            | Field::ProcExeInoCtimeDurationProcStart
            | Field::ProcLoginshellid
            | Field::ProcSname
            | Field::ProcSid
            | Field::ProcVpgid
            | Field::ProcPgid
            | Field::ProcPvpid
            | Field::ProcIsExeUpperLayer
            | Field::ProcIsExeWritable
            | Field::ProcIsSidLeader
            | Field::ProcIsVpgidLeader
            | Field::ProcStartTs
            | Field::ThreadCapPermitted
            | Field::ThreadCapEffective
            | Field::ThreadCapInheritable
            | Field::UserName
            | Field::UserHomedir
            | Field::UserShell
            | Field::UserLoginname
            | Field::GroupName
            | Field::FdL4proto
            | Field::FdDev
            | Field::FdIno
            | Field::FdNameChanged
            | Field::FdCipName
            | Field::FdSipName
            | Field::FdLipName
            | Field::FdRipName
            | Field::ContainerId
            | Field::ContainerFullId
            | Field::ContainerName
            | Field::ContainerImage
            | Field::ContainerImageId
            | Field::ContainerImageRepository
            | Field::ContainerImageTag
            | Field::ContainerImageDigest
            | Field::ContainerType
            | Field::ContainerPrivileged
            | Field::ContainerMounts
            | Field::ContainerMount
            | Field::ContainerMountSource
            | Field::ContainerMountDest
            | Field::ContainerMountMode
            | Field::ContainerMountRdwr
            | Field::ContainerMountPropagation
            | Field::ContainerHealthcheck
            | Field::ContainerStartTs
            | Field::K8sPodName
            | Field::K8sPodId
            | Field::K8sPodUid
            | Field::K8sPodLabel
            | Field::K8sPodLabels
            | Field::K8sPodIp
            | Field::K8sPodCniJson
            | Field::K8sNsName
            | Field::ProcAargs
            | Field::ProcAcmdline
            | Field::ProcCmdnargs
            | Field::ProcCmdlenargs
            | Field::ProcSidExe
            | Field::ProcSidExepath
            | Field::ProcVpgidName
            | Field::ProcVpgidExe
            | Field::ProcVpgidExepath
            | Field::ProcPgidName
            | Field::ProcPgidExe
            | Field::ProcPgidExepath
            | Field::ProcIsPgidLeader
            | Field::ProcIsExeLowerLayer
            | Field::ProcPidTs
            | Field::ProcPpidTs
            | Field::ProcPpidDuration
            | Field::ProcPidnsInitStartTs
            | Field::ProcFdopencount
            | Field::ProcStdinType
            | Field::ProcStdoutType
            | Field::ProcStderrType
            | Field::ProcStdinName
            | Field::ProcStdoutName
            | Field::ProcStderrName => return None,
        })
    }

    /// proc.*/user.*/group.* from a successful execve's exit, which
    /// describes the new image.
    fn exec_value(&self, f: &FieldRef) -> Option<FieldValue<'_>> {
        let args = || self.param(K::Args).and_then(|v| v.as_bytes());
        let argv_tail = || -> Option<String> {
            let a = args()?;
            let mut out = String::with_capacity(a.bytes.len());
            for (i, s) in a.split_nul().skip(1).enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&String::from_utf8_lossy(s));
            }
            Some(out)
        };
        let comm = || -> Option<&'e [u8]> {
            self.text(K::Comm).filter(|c| !c.is_empty()).or_else(|| {
                let exe = self.text(K::Exe)?;
                Some(exe.rsplit(|&b| b == b'/').next().unwrap_or(exe))
            })
        };
        Some(match f.field {
            Field::ProcName => FieldValue::str(comm()?),
            Field::ProcExe => FieldValue::str(args()?.split_nul().next()?),
            Field::ProcExepath => FieldValue::str(self.text(K::Exe)?),
            // Joined once per event, however many rules test them.
            Field::ProcArgs => {
                let v = self.joined[0].get_or_init(|| argv_tail().map(String::into_boxed_str));
                FieldValue::str(v.as_deref()?)
            }
            Field::ProcCmdline | Field::ProcExeline => {
                let which = if f.field == Field::ProcCmdline { 1 } else { 2 };
                let v = self.joined[which].get_or_init(|| {
                    let head = if which == 1 {
                        comm()?
                    } else {
                        args()?.split_nul().next()?
                    };
                    let mut s = String::from_utf8_lossy(head).into_owned();
                    let tail = argv_tail().unwrap_or_default();
                    if !tail.is_empty() {
                        s.push(' ');
                        s.push_str(&tail);
                    }
                    Some(s.into_boxed_str())
                });
                FieldValue::str(v.as_deref()?)
            }
            Field::ProcCwd => FieldValue::str(self.text(K::Cwd)?),
            Field::ProcTty => FieldValue::Int(self.int(K::Tty)?),
            Field::ProcVpid => FieldValue::Int(self.int(K::Vpid)?),
            Field::ThreadVtid => FieldValue::Int(self.int(K::Vtid)?),
            Field::ProcEnv => {
                let env = self.param(K::Env)?.as_bytes()?;
                match &f.arg {
                    FieldArg::Key(k) => {
                        let prefix = format!("{k}=");
                        let hit = env.split_nul().find(|e| e.starts_with(prefix.as_bytes()))?;
                        FieldValue::str(&hit[prefix.len()..])
                    }
                    _ => FieldValue::owned(
                        env.split_nul()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                }
            }
            Field::UserUid => FieldValue::Uint(self.param(K::Euid)?.as_u64()?),
            Field::UserLoginuid => FieldValue::Int(
                self.param(K::Loginuid)?
                    .as_u64()
                    .map(|u| u as u32 as i32 as i64)?,
            ),
            Field::GroupGid => FieldValue::Uint(self.param(K::Egid)?.as_u64()?),
            Field::ProcIsExeFromMemfd => {
                FieldValue::Bool(self.text(K::Exe)?.starts_with(b"/memfd:"))
            }
            // Not in an exec record: the state answers them.
            Field::EvtNum
            | Field::EvtTime
            | Field::EvtTimeS
            | Field::EvtTimeIso
            | Field::EvtDatetime
            | Field::EvtRawtime
            | Field::EvtType
            | Field::EvtDir
            | Field::EvtCpu
            | Field::EvtArgs
            | Field::EvtArg
            | Field::EvtRawarg
            | Field::EvtRes
            | Field::EvtRawres
            | Field::EvtFailed
            | Field::EvtIsOpenRead
            | Field::EvtIsOpenWrite
            | Field::EvtIsOpenExec
            | Field::EvtIsOpenCreate
            | Field::EvtHostname
            | Field::EvtSource
            | Field::EvtBuffer
            | Field::ProcPid
            | Field::ProcNthreads
            | Field::ProcPpid
            | Field::ProcPname
            | Field::ProcPcmdline
            | Field::ProcPexe
            | Field::ProcPexepath
            | Field::ProcApid
            | Field::ProcAname
            | Field::ProcAexepath
            | Field::ProcAexe
            | Field::ProcDuration
            | Field::ProcExeIno
            | Field::ProcExeInoCtime
            | Field::ProcExeInoMtime
            | Field::ProcExeInoCtimeDurationProcStart
            | Field::ProcLoginshellid
            | Field::ProcSname
            | Field::ProcSid
            | Field::ProcVpgid
            | Field::ProcPgid
            | Field::ProcPvpid
            | Field::ProcIsExeUpperLayer
            | Field::ProcIsExeWritable
            | Field::ProcIsSidLeader
            | Field::ProcIsVpgidLeader
            | Field::ProcStartTs
            | Field::ThreadTid
            | Field::ThreadIsmain
            | Field::ThreadCapPermitted
            | Field::ThreadCapEffective
            | Field::ThreadCapInheritable
            | Field::UserName
            | Field::UserHomedir
            | Field::UserShell
            | Field::UserLoginname
            | Field::GroupName
            | Field::FdNum
            | Field::FdType
            | Field::FdTypechar
            | Field::FdName
            | Field::FdDirectory
            | Field::FdFilename
            | Field::FdNameraw
            | Field::FdIp
            | Field::FdCip
            | Field::FdSip
            | Field::FdLip
            | Field::FdRip
            | Field::FdPort
            | Field::FdCport
            | Field::FdSport
            | Field::FdLport
            | Field::FdRport
            | Field::FdL4proto
            | Field::FdSockfamily
            | Field::FdIsServer
            | Field::FdNet
            | Field::FdCnet
            | Field::FdSnet
            | Field::FdLnet
            | Field::FdRnet
            | Field::FdConnected
            | Field::FdDev
            | Field::FdIno
            | Field::FdNameChanged
            | Field::FdCipName
            | Field::FdSipName
            | Field::FdLipName
            | Field::FdRipName
            | Field::FsPathName
            | Field::FsPathNameraw
            | Field::FsPathSource
            | Field::FsPathSourceraw
            | Field::FsPathTarget
            | Field::FsPathTargetraw
            | Field::ContainerId
            | Field::ContainerFullId
            | Field::ContainerName
            | Field::ContainerImage
            | Field::ContainerImageId
            | Field::ContainerImageRepository
            | Field::ContainerImageTag
            | Field::ContainerImageDigest
            | Field::ContainerType
            | Field::ContainerPrivileged
            | Field::ContainerMounts
            | Field::ContainerMount
            | Field::ContainerMountSource
            | Field::ContainerMountDest
            | Field::ContainerMountMode
            | Field::ContainerMountRdwr
            | Field::ContainerMountPropagation
            | Field::ContainerHealthcheck
            | Field::ContainerStartTs
            | Field::K8sPodName
            | Field::K8sPodId
            | Field::K8sPodUid
            | Field::K8sPodLabel
            | Field::K8sPodLabels
            | Field::K8sPodIp
            | Field::K8sPodCniJson
            | Field::K8sNsName
            | Field::ProcAargs
            | Field::ProcAcmdline
            | Field::ProcCmdnargs
            | Field::ProcCmdlenargs
            | Field::ProcSidExe
            | Field::ProcSidExepath
            | Field::ProcVpgidName
            | Field::ProcVpgidExe
            | Field::ProcVpgidExepath
            | Field::ProcPgidName
            | Field::ProcPgidExe
            | Field::ProcPgidExepath
            | Field::ProcIsPgidLeader
            | Field::ProcIsExeLowerLayer
            | Field::ProcPidTs
            | Field::ProcPpidTs
            | Field::ProcPpidDuration
            | Field::ProcPidnsInitStartTs
            | Field::ProcFdopencount
            | Field::ProcStdinType
            | Field::ProcStdoutType
            | Field::ProcStderrType
            | Field::ProcStdinName
            | Field::ProcStdoutName
            | Field::ProcStderrName => return None,
        })
    }

    fn tuple(&self) -> Option<SockTuple<'a>> {
        match self.param(K::Tuple)? {
            Value::Tuple(t) => Some(t.get()),
            _ => None,
        }
    }

    /// Local and remote addresses from the tuple, or from the address a
    /// connect/sendto/bind passed.
    fn ends(&self) -> Option<(SocketAddr, SocketAddr)> {
        if let Some(SockTuple::Inet { local, remote }) = self.tuple() {
            return Some((local, remote));
        }
        let unspecified = |a: &SocketAddr| -> SocketAddr {
            match a {
                SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(0u32.into()), 0),
                SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(0u128.into()), 0),
            }
        };
        let addr = match self.param(K::Addr)? {
            Value::SockAddr(SockAddr::Inet(ip, port)) => SocketAddr::new((*ip).into(), *port),
            Value::SockAddr(SockAddr::Inet6(ip, port)) => SocketAddr::new((*ip).into(), *port),
            _ => return None,
        };
        if self.info().class == Class::Bind {
            Some((addr, unspecified(&addr)))
        } else {
            Some((unspecified(&addr), addr))
        }
    }

    fn fd_type(&self) -> Option<(&'static str, &'static str)> {
        match self.info().class {
            Class::Open | Class::Creat => {
                let dir = self
                    .param(K::Flags)
                    .and_then(|f| f.as_u64())
                    .is_some_and(|f| f & libc::O_DIRECTORY as u64 != 0);
                Some(if dir {
                    ("directory", "d")
                } else {
                    ("file", "f")
                })
            }
            Class::Memfd => Some(("memfd", "m")),
            Class::Pipe => Some(("pipe", "p")),
            _ => match self.tuple()? {
                SockTuple::Inet { local, .. } if local.is_ipv4() => Some(("ipv4", "4")),
                SockTuple::Inet { .. } => Some(("ipv6", "6")),
                SockTuple::Unix(_) => Some(("unix", "u")),
                SockTuple::Other(_) => None,
            },
        }
    }

    fn fd_name(&self, which: Field) -> Option<FieldValue<'e>> {
        let path: Cow<'e, [u8]> = match self.info().class {
            Class::Open | Class::Creat => {
                if which == Field::FdNameraw {
                    return Some(FieldValue::str(self.text(K::Name)?));
                }
                match self.text(K::Fullpath).filter(|p| p.starts_with(b"/")) {
                    Some(p) => Cow::Borrowed(p),
                    None => Cow::Borrowed(self.text(K::Name).filter(|p| p.starts_with(b"/"))?),
                }
            }
            Class::Memfd => {
                let mut n = b"memfd:".to_vec();
                n.extend_from_slice(self.text(K::Name)?);
                Cow::Owned(n)
            }
            Class::FinitModule => {
                Cow::Borrowed(self.text(K::Fullpath).filter(|p| p.starts_with(b"/"))?)
            }
            _ => {
                if !matches!(which, Field::FdName | Field::FdNameraw) {
                    return None;
                }
                match self.tuple() {
                    Some(t @ (SockTuple::Inet { .. } | SockTuple::Unix(_))) => {
                        return Some(FieldValue::owned(t.to_string()))
                    }
                    _ => return None,
                }
            }
        };
        match which {
            Field::FdName | Field::FdNameraw => Some(FieldValue::Str(path)),
            Field::FdDirectory | Field::FdFilename => {
                let dir = which == Field::FdDirectory;
                Some(match path {
                    Cow::Borrowed(p) => FieldValue::str(split_path(p, dir)?),
                    Cow::Owned(p) => FieldValue::owned(split_path(&p, dir)?.to_vec()),
                })
            }
            _ => None,
        }
    }
}

/// The directory (`dir`) or file name part of an absolute path.
fn split_path(p: &[u8], dir: bool) -> Option<&[u8]> {
    let cut = p.iter().rposition(|&b| b == b'/')?;
    Some(match (dir, cut) {
        (true, 0) => &p[..1],
        (true, _) => &p[..cut],
        (false, _) => &p[cut + 1..],
    })
}

/// An event parameter as a field value; integers with a symbolic format
/// render as Falco renders `evt.arg` (`O_RDONLY|O_CLOEXEC`).
fn value_of<'e>(v: &'e Value<'_>, format: ParamFormat) -> Option<FieldValue<'e>> {
    Some(match v {
        Value::Int(i) if format != ParamFormat::None => match crate::flags::render(format, *i) {
            Some(s) => FieldValue::owned(s),
            None => FieldValue::Int(*i),
        },
        Value::Uint(u) if format != ParamFormat::None => {
            match crate::flags::render(format, *u as i64) {
                Some(s) => FieldValue::owned(s),
                None => FieldValue::Uint(*u),
            }
        }
        Value::Int(i) => FieldValue::Int(*i),
        Value::Uint(u) => FieldValue::Uint(*u),
        Value::Str(b) | Value::Bytes(b) => FieldValue::str(b.bytes),
        Value::Argv(b) => FieldValue::owned(argv_text(b)),
        Value::SockAddr(a) => FieldValue::owned(a.to_string()),
        Value::Tuple(t) => FieldValue::owned(t.to_string()),
        Value::Fault => return None,
    })
}

fn argv_text(b: &Bytes<'_>) -> String {
    b.split_nul()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn render_args(ev: &Event<'_>) -> String {
    let mut out = String::new();
    for (p, v) in ev.params() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(p.name);
        out.push('=');
        match value_of(v, p.format) {
            Some(fv) => out.push_str(&fv.render()),
            None => out.push_str("<NA>"),
        }
    }
    out
}

/// `ENOENT` for -2.
pub fn errno_name(res: i64) -> String {
    // checked: -i64::MIN overflows (a fuzzed record's res found it).
    let n = res
        .checked_neg()
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(0);
    let e = nix::errno::Errno::from_raw(n);
    if e == nix::errno::Errno::UnknownErrno {
        format!("E{n}")
    } else {
        format!("{e:?}")
    }
}

/// [`errno_name`] without an allocation per call for the errno numbers
/// Linux has (below 4096): each name is made once.
fn errno_name_static(res: i64) -> FieldValue<'static> {
    const KNOWN: usize = 4096;
    static NAMES: OnceLock<Box<[Box<str>]>> = OnceLock::new();
    let n = usize::try_from(-i128::from(res)).unwrap_or(usize::MAX);
    if n >= KNOWN {
        return FieldValue::owned(errno_name(res));
    }
    let names = NAMES.get_or_init(|| {
        (0..KNOWN as i64)
            .map(|n| errno_name(-n).into_boxed_str())
            .collect()
    });
    FieldValue::str(names[n].as_bytes())
}

impl FieldSource for EventFields<'_, '_> {
    #[inline]
    fn event_type(&self) -> u16 {
        self.event.event_type()
    }

    #[inline]
    fn event_name(&self) -> &str {
        self.event.name()
    }

    fn field(&self, f: &FieldRef) -> Option<FieldValue<'_>> {
        if let Some(v) = self.event_value(f) {
            return Some(v);
        }
        let v = self.state?.field(self.event, f)?;
        Some(self.on_wall_clock(f, v))
    }
}

impl EventFields<'_, '_> {
    /// The state keeps start times on the events' clock (monotonic, so
    /// durations are differences); Falco's `*_ts` fields are nanoseconds
    /// since the epoch, so those values move to the wall clock with the
    /// stream's offset (the capture's, in a replay).
    #[inline]
    fn on_wall_clock<'v>(&self, f: &FieldRef, v: FieldValue<'v>) -> FieldValue<'v> {
        match (f.field, v) {
            (
                Field::ProcStartTs
                | Field::ProcPidTs
                | Field::ProcPpidTs
                | Field::ProcPidnsInitStartTs
                | Field::ContainerStartTs,
                FieldValue::Uint(ns),
            ) => FieldValue::Uint(ns.saturating_add_signed(self.wall_offset_ns)),
            (_, v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::record::{Record, RecordBuilder};
    use kestrel_abi::{schemas, PARAM_FAULT};

    fn ty(name: &str, enter: bool) -> u16 {
        schemas()
            .iter()
            .find(|s| s.name == name && s.enter == enter)
            .unwrap()
            .event_type
    }

    fn get(src: &EventFields<'_, '_>, name: &str) -> Option<String> {
        let (n, arg) = match name.split_once('[') {
            Some((n, a)) => (n, Some(a.trim_end_matches(']'))),
            None => (name, None),
        };
        src.field(&FieldRef::resolve(n, arg).unwrap())
            .map(|v| v.render())
    }

    #[test]
    fn open_fields() {
        let b = RecordBuilder::new(ty("openat", false), 5, 42, 41)
            .i64(3)
            .i64(-100)
            .param(b"shadow")
            .u32((libc::O_RDWR | libc::O_CLOEXEC) as u32)
            .u32(0)
            .param(b"/etc/shadow")
            .build();
        let rec = Record::parse(&b).unwrap();
        let ev = decode(&rec).unwrap();
        let src = EventFields::new(&ev);
        assert_eq!(get(&src, "evt.type").as_deref(), Some("openat"));
        // Falco numbers events from 1: its `never_true` macro is evt.num=0.
        assert_eq!(get(&src, "evt.num").as_deref(), Some("1"));
        assert_eq!(get(&src, "evt.dir").as_deref(), Some("<"));
        assert_eq!(get(&src, "fd.name").as_deref(), Some("/etc/shadow"));
        assert_eq!(get(&src, "fd.nameraw").as_deref(), Some("shadow"));
        assert_eq!(get(&src, "fd.directory").as_deref(), Some("/etc"));
        assert_eq!(get(&src, "fd.filename").as_deref(), Some("shadow"));
        assert_eq!(get(&src, "fd.num").as_deref(), Some("3"));
        assert_eq!(get(&src, "fd.typechar").as_deref(), Some("f"));
        assert_eq!(get(&src, "evt.is_open_read").as_deref(), Some("true"));
        assert_eq!(get(&src, "evt.is_open_write").as_deref(), Some("true"));
        assert_eq!(
            get(&src, "evt.arg.flags").as_deref(),
            Some("O_RDWR|O_CLOEXEC")
        );
        assert_eq!(get(&src, "evt.rawarg.flags").as_deref(), Some("524290"));
        assert_eq!(get(&src, "evt.arg[2]").as_deref(), Some("shadow"));
        assert_eq!(get(&src, "evt.res").as_deref(), Some("SUCCESS"));
        assert_eq!(get(&src, "evt.failed").as_deref(), Some("false"));
        assert_eq!(get(&src, "proc.pid").as_deref(), Some("41"));
        assert_eq!(get(&src, "thread.tid").as_deref(), Some("42"));
        assert_eq!(get(&src, "proc.name"), None);
        assert_eq!(get(&src, "container.id"), None);
        assert_eq!(errno_name(-2), "ENOENT");
        // The table gives the same names without allocating; beyond it,
        // the number.
        assert_eq!(errno_name_static(-2).render(), "ENOENT");
        assert_eq!(errno_name_static(-13).render(), "EACCES");
        assert_eq!(errno_name_static(-5000).render(), "E5000");
        assert!(matches!(
            errno_name_static(-2),
            FieldValue::Str(Cow::Borrowed(_))
        ));
        // A res of i64::MIN (found by the record_decode fuzzer) negated
        // overflowed.
        assert_eq!(errno_name(i64::MIN), "E0");
    }

    struct Ctx;
    impl StateView for Ctx {
        fn field<'s>(&'s self, ev: &Event<'_>, f: &FieldRef) -> Option<FieldValue<'s>> {
            match f.field {
                Field::ProcName => (ev.tid == 42).then(|| FieldValue::str("cat")),
                // Start times on the events' (monotonic) clock.
                Field::ProcStartTs | Field::ProcPpidTs | Field::ContainerStartTs => {
                    Some(FieldValue::Uint(4))
                }
                Field::ProcDuration => Some(FieldValue::Uint(1)),
                _ => None,
            }
        }
    }

    /// Falco's `proc.start_ts`, `proc.pid.ts`, `container.start_ts`...
    /// are ns since the epoch: the state's monotonic start times move by
    /// the stream's wall-clock offset; durations stay as they are.
    #[test]
    fn start_times_are_epoch_nanoseconds() {
        let b = RecordBuilder::new(ty("openat", false), 5, 42, 41)
            .i64(3)
            .i64(-100)
            .param(b"/x")
            .u32(0)
            .u32(0)
            .param(b"/x")
            .build();
        let rec = Record::parse(&b).unwrap();
        let ev = decode(&rec).unwrap();
        let mut src = EventFields::new(&ev);
        src.state = Some(&Ctx);
        src.wall_offset_ns = 1_795_802_400_000_000_000;
        for f in ["proc.start_ts", "proc.ppid.ts", "container.start_ts"] {
            assert_eq!(get(&src, f).as_deref(), Some("1795802400000000004"), "{f}");
        }
        assert_eq!(
            get(&src, "evt.rawtime").as_deref(),
            Some("1795802400000000005")
        );
        assert_eq!(get(&src, "proc.duration").as_deref(), Some("1"));
    }

    #[test]
    fn state_fills_what_the_event_lacks() {
        let b = RecordBuilder::new(ty("openat", false), 5, 42, 41)
            .i64(-13)
            .i64(-100)
            .param(b"rel/x")
            .u32(0)
            .u32(0)
            .param_flags(b"", PARAM_FAULT)
            .build();
        let rec = Record::parse(&b).unwrap();
        let ev = decode(&rec).unwrap();
        let mut src = EventFields::new(&ev);
        src.state = Some(&Ctx);
        assert_eq!(get(&src, "proc.name").as_deref(), Some("cat"));
        assert_eq!(get(&src, "fd.name"), None);
        assert_eq!(get(&src, "evt.res").as_deref(), Some("EACCES"));
        assert_eq!(get(&src, "fd.num"), None);
    }

    #[test]
    fn exec_and_socket_fields() {
        let b = RecordBuilder::new(ty("execve", false), 5, 7, 7)
            .i64(0)
            .param(b"/usr/bin/python3.11")
            .param(b"python3\0-c\0print(1)\0")
            .param(b"/root")
            .u32(0)
            .u32(0)
            .u32(1000)
            .u32(1000)
            .u32(u32::MAX)
            .u32(0)
            .param(b"0::/system.slice")
            .u32(4026531836)
            .u32(7)
            .u32(7)
            .u32(1)
            .param(b"HOME=/root\0TERM=xterm\0")
            .param(b"python3")
            .build();
        let rec = Record::parse(&b).unwrap();
        let ev = decode(&rec).unwrap_or_else(|e| panic!("{e}"));
        let src = EventFields::new(&ev);
        assert_eq!(get(&src, "proc.name").as_deref(), Some("python3"));
        assert_eq!(
            get(&src, "proc.cmdline").as_deref(),
            Some("python3 -c print(1)")
        );
        assert_eq!(get(&src, "proc.args").as_deref(), Some("-c print(1)"));
        assert_eq!(
            get(&src, "proc.exepath").as_deref(),
            Some("/usr/bin/python3.11")
        );
        assert_eq!(get(&src, "proc.env[TERM]").as_deref(), Some("xterm"));
        assert_eq!(get(&src, "user.uid").as_deref(), Some("1000"));
        assert_eq!(get(&src, "user.loginuid").as_deref(), Some("-1"));

        let mut tuple = vec![libc::AF_INET as u8];
        tuple.extend_from_slice(&[10, 0, 0, 5]);
        tuple.extend_from_slice(&40000u16.to_le_bytes());
        tuple.extend_from_slice(&[93, 184, 216, 34]);
        tuple.extend_from_slice(&443u16.to_le_bytes());
        let mut addr = vec![libc::AF_INET as u8, 0];
        addr.extend_from_slice(&443u16.to_be_bytes());
        addr.extend_from_slice(&[93, 184, 216, 34]);
        addr.extend_from_slice(&[0; 8]);
        let b = RecordBuilder::new(ty("connect", false), 5, 7, 7)
            .i64(0)
            .i64(3)
            .param(&addr)
            .param(&tuple)
            .build();
        let rec = Record::parse(&b).unwrap();
        let ev = decode(&rec).unwrap();
        let src = EventFields::new(&ev);
        assert_eq!(
            get(&src, "fd.name").as_deref(),
            Some("10.0.0.5:40000->93.184.216.34:443")
        );
        assert_eq!(get(&src, "fd.sip").as_deref(), Some("93.184.216.34"));
        assert_eq!(get(&src, "fd.cport").as_deref(), Some("40000"));
        assert_eq!(get(&src, "fd.sport").as_deref(), Some("443"));
        assert_eq!(get(&src, "fd.typechar").as_deref(), Some("4"));
        assert_eq!(get(&src, "fd.num").as_deref(), Some("3"));
    }
}
