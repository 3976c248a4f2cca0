//! The state as a field provider: [`StateView`] for [`State`].
//!
//! Answers `proc.*`, `thread.*`, `user.*`, `group.*`, `fd.*` (the event's
//! fd: its `fd` parameter, or the fd an fd-creating call returned),
//! `container.*` and `k8s.*` for the thread that made the event.  What the
//! state does not know is `None` (the engine prints `<NA>`); a host process
//! has `container.id` = `host`.

use std::borrow::Cow;

use super::container::HOST;
use super::fds::{FdInfo, AT_FDCWD};
use super::ondemand::{self, CapSet, FileStat};
use super::threads::{Process, UNKNOWN_ID};
use super::State;
use crate::decode::Event;
use crate::decode::{SockAddr, Value};
use crate::rules::event::StateView;
use crate::rules::fields::{Field, FieldArg, FieldRef, FieldValue, Negation};

/// The fd an event is about: the new fd a call returned, or its `fd`
/// parameter (the event roles table says which).
fn event_fd(ev: &Event<'_>) -> Option<i64> {
    if kestrel_abi::event_roles(ev.event_type()).fd_from_res {
        return ev.res().filter(|&r| r >= 0);
    }
    ev.param("fd").and_then(|v| v.as_i64()).filter(|&f| f >= 0)
}

fn s<'a>(v: &'a str) -> Option<FieldValue<'a>> {
    Some(FieldValue::str(v))
}

fn owned<'a>(v: String) -> Option<FieldValue<'a>> {
    Some(FieldValue::Str(Cow::Owned(v.into_bytes())))
}

fn nonempty(v: &str) -> Option<FieldValue<'_>> {
    (!v.is_empty()).then(|| FieldValue::str(v))
}

fn opt_s(v: Option<&str>) -> Option<FieldValue<'_>> {
    v.map(FieldValue::str)
}

fn id(v: u32) -> Option<FieldValue<'static>> {
    (v != UNKNOWN_ID).then_some(FieldValue::Uint(v.into()))
}

fn nz(v: u32) -> Option<FieldValue<'static>> {
    (v != 0).then_some(FieldValue::Int(v.into()))
}

fn index(f: &FieldRef) -> Option<usize> {
    match f.arg {
        FieldArg::Index(i) => Some(i as usize),
        _ => None,
    }
}

impl State {
    /// The executable's inode, read from `/proc` on demand.
    fn exe_stat(&self, p: &Process) -> Option<FileStat> {
        ondemand::exe_stat(self.opts.proc_root.as_deref()?, p.pid)
    }

    /// A capability set, read from `/proc` on demand.
    fn caps<'s>(&self, p: &Process, tid: u32, set: CapSet) -> Option<FieldValue<'s>> {
        let mask = ondemand::caps(self.opts.proc_root.as_deref()?, p.pid, tid, set)?;
        Some(FieldValue::owned(ondemand::cap_names(mask)))
    }

    fn proc_field<'s>(
        &'s self,
        event: &Event<'_>,
        p: &'s Process,
        f: &FieldRef,
    ) -> Option<FieldValue<'s>> {
        let tid = event.tid;
        let parent = || self.parent(p);
        if p.cgroup_unknown && matches!(field_class(f.field.name()), "container" | "k8s") {
            return None;
        }
        match f.field {
            Field::ProcPid => Some(FieldValue::Int(p.pid.into())),
            // An entry made from events alone knows no name or command line
            // until an exec record names them: those fields are unknown.
            Field::ProcExe => nonempty(p.exe()),
            Field::ProcName => nonempty(p.name()),
            Field::ProcArgs if p.comm.is_empty() && p.cmdline.is_empty() => None,
            Field::ProcArgs => owned(p.args_line()),
            Field::ProcCmdline if p.comm.is_empty() => None,
            Field::ProcCmdline => owned(p.cmdline_line()),
            Field::ProcEnv => match &f.arg {
                FieldArg::Key(k) => opt_s(p.env_var(k)),
                _ => owned(p.env_vars().collect::<Vec<_>>().join(" ")),
            },
            Field::ProcExeline if p.cmdline.is_empty() => None,
            Field::ProcExeline => {
                let mut line = String::with_capacity(p.cmdline.len());
                line.push_str(p.exe());
                for a in p.args() {
                    line.push(' ');
                    line.push_str(a);
                }
                owned(line)
            }
            Field::ProcCwd => (!p.cwd.is_empty()).then(|| FieldValue::str(&*p.cwd)),
            Field::ProcNthreads => Some(FieldValue::Uint(
                self.table.threads().filter(|t| t.pid == p.pid).count() as u64,
            )),
            Field::ProcPpid => Some(FieldValue::Int(p.ppid.into())),
            Field::ProcPname => parent().and_then(|pp| nonempty(pp.name())),
            Field::ProcPcmdline => parent()
                .filter(|pp| !pp.comm.is_empty())
                .map(|pp| FieldValue::owned(pp.cmdline_line())),
            Field::ProcPexe => parent().and_then(|pp| nonempty(pp.exe())),
            Field::ProcPexepath => parent().map(|pp| FieldValue::str(&*pp.exepath)),
            Field::ProcPvpid => parent().and_then(|pp| nz(pp.vpid)),
            Field::ProcApid => match index(f) {
                Some(n) => self.ancestor(p, n).map(|a| FieldValue::Int(a.pid.into())),
                // Without an index: any ancestor (not the process).
                None => Some(FieldValue::AnyOf(
                    self.lineage(p)
                        .skip(1)
                        .map(|a| FieldValue::Int(a.pid.into()))
                        .collect(),
                    Negation::AnyDiffers,
                )),
            },
            Field::ProcAname | Field::ProcAexepath | Field::ProcAexe => {
                let value = |a: &'s Process| match f.field {
                    Field::ProcAname => nonempty(a.name()),
                    Field::ProcAexe => nonempty(a.exe()),
                    _ => nonempty(&a.exepath),
                };
                match index(f) {
                    Some(n) => self.ancestor(p, n).and_then(value),
                    // Without an index: any ancestor (not the process).
                    None => Some(FieldValue::AnyOf(
                        self.lineage(p).skip(1).filter_map(value).collect(),
                        Negation::AnyDiffers,
                    )),
                }
            }
            Field::ProcExepath => (!p.exepath.is_empty()).then(|| FieldValue::str(&*p.exepath)),
            Field::ProcLoginshellid => self
                .lineage(p)
                .filter(|a| a.name().ends_with("sh"))
                .last()
                .map(|a| FieldValue::Int(a.pid.into())),
            Field::ProcSname => self.session_leader(p).and_then(|l| nonempty(l.name())),
            Field::ProcSid => Some(FieldValue::Int(p.sid.into())),
            Field::ProcVpgid => nz(p.vpgid),
            Field::ProcPgid => Some(FieldValue::Int(p.pgid.into())),
            Field::ProcVpid => nz(p.vpid),
            Field::ProcTty => Some(FieldValue::Int(p.tty.into())),
            Field::ProcIsExeFromMemfd => Some(FieldValue::Bool(
                p.exepath.starts_with("/memfd:") || p.exepath.starts_with("memfd:"),
            )),
            Field::ProcIsSidLeader => Some(FieldValue::Bool(p.sid != 0 && p.sid == p.pid)),
            Field::ProcIsVpgidLeader => Some(FieldValue::Bool(p.vpgid != 0 && p.vpgid == p.vpid)),
            Field::ProcStartTs => (p.start_ns != 0).then_some(FieldValue::Uint(p.start_ns)),
            Field::ProcDuration => {
                (p.start_ns != 0).then(|| FieldValue::Uint(event.ts_ns.saturating_sub(p.start_ns)))
            }
            Field::ProcExeIno => self.exe_stat(p).map(|s| FieldValue::Uint(s.ino)),
            Field::ProcExeInoCtime => self.exe_stat(p).map(|s| FieldValue::Uint(s.ctime_ns)),
            Field::ProcExeInoMtime => self.exe_stat(p).map(|s| FieldValue::Uint(s.mtime_ns)),
            Field::ProcExeInoCtimeDurationProcStart => {
                // Both on the wall clock: the start time is monotonic.
                let st = self.exe_stat(p)?;
                let start_wall = p
                    .start_ns
                    .checked_add_signed(crate::device::wall_clock_offset_ns())?;
                (p.start_ns != 0).then(|| FieldValue::Uint(start_wall.saturating_sub(st.ctime_ns)))
            }
            Field::ProcIsExeWritable => self
                .exe_stat(p)
                .map(|s| FieldValue::Bool(ondemand::writable_by(&s, p.creds.euid, p.creds.egid))),
            Field::ThreadCapPermitted => self.caps(p, tid, CapSet::Permitted),
            Field::ThreadCapEffective => self.caps(p, tid, CapSet::Effective),
            Field::ThreadCapInheritable => self.caps(p, tid, CapSet::Inheritable),
            Field::ProcAargs | Field::ProcAcmdline => {
                let value = |a: &'s Process| -> Option<FieldValue<'s>> {
                    if a.comm.is_empty() && a.cmdline.is_empty() {
                        return None;
                    }
                    Some(FieldValue::owned(if f.field == Field::ProcAargs {
                        a.args_line()
                    } else {
                        a.cmdline_line()
                    }))
                };
                match index(f) {
                    Some(n) => self.ancestor(p, n).and_then(value),
                    None => Some(FieldValue::AnyOf(
                        self.lineage(p).skip(1).filter_map(value).collect(),
                        Negation::AnyDiffers,
                    )),
                }
            }
            Field::ProcCmdnargs if p.cmdline.is_empty() => None,
            Field::ProcCmdnargs => Some(FieldValue::Uint(p.args().count() as u64)),
            Field::ProcCmdlenargs if p.cmdline.is_empty() => None,
            Field::ProcCmdlenargs => Some(FieldValue::Uint(p.args().map(|a| a.len() as u64).sum())),
            Field::ProcSidExe => self.session_leader(p).and_then(|l| nonempty(l.exe())),
            Field::ProcSidExepath => self.session_leader(p).and_then(|l| nonempty(&l.exepath)),
            Field::ProcVpgidName | Field::ProcPgidName => {
                self.group_leader(p).and_then(|l| nonempty(l.name()))
            }
            Field::ProcVpgidExe | Field::ProcPgidExe => {
                self.group_leader(p).and_then(|l| nonempty(l.exe()))
            }
            Field::ProcVpgidExepath | Field::ProcPgidExepath => {
                self.group_leader(p).and_then(|l| nonempty(&l.exepath))
            }
            Field::ProcIsPgidLeader => (p.pgid != 0).then_some(FieldValue::Bool(p.pgid == p.pid)),
            Field::ProcPidTs => (p.start_ns != 0).then_some(FieldValue::Uint(p.start_ns)),
            Field::ProcPpidTs => parent()
                .filter(|pp| pp.start_ns != 0)
                .map(|pp| FieldValue::Uint(pp.start_ns)),
            Field::ProcPpidDuration => parent()
                .filter(|pp| pp.start_ns != 0)
                .map(|pp| FieldValue::Uint(event.ts_ns.saturating_sub(pp.start_ns))),
            Field::ProcPidnsInitStartTs => self
                .table
                .processes()
                .find(|q| q.pidns == p.pidns && q.pidns != 0 && q.vpid == 1)
                .filter(|q| q.start_ns != 0)
                .map(|q| FieldValue::Uint(q.start_ns)),
            Field::ProcFdopencount => Some(FieldValue::Uint(p.fds.len() as u64)),
            Field::ProcStdinType | Field::ProcStdoutType | Field::ProcStderrType => {
                let fd = match f.field {
                    Field::ProcStdinType => 0,
                    Field::ProcStdoutType => 1,
                    _ => 2,
                };
                p.fds.get(fd).map(|i| FieldValue::str(i.type_name()))
            }
            Field::ProcStdinName | Field::ProcStdoutName | Field::ProcStderrName => {
                let fd = match f.field {
                    Field::ProcStdinName => 0,
                    Field::ProcStdoutName => 1,
                    _ => 2,
                };
                p.fds.get(fd).map(|i| match &i.inet {
                    Some(_) => FieldValue::owned(i.name()),
                    None => FieldValue::str(&*i.path),
                })
            }
            Field::ThreadTid => Some(FieldValue::Int(tid.into())),
            Field::ThreadVtid => self.thread(tid).and_then(|t| nz(t.vtid)),
            Field::ThreadIsmain => Some(FieldValue::Bool(tid == p.pid)),
            Field::UserUid => id(p.creds.euid),
            Field::UserName => self.user_name(tid).map(|n| FieldValue::owned(n.as_bytes())),
            Field::UserHomedir => self.user(tid).map(|u| FieldValue::owned(u.home.as_bytes())),
            Field::UserShell => self
                .user(tid)
                .map(|u| FieldValue::owned(u.shell.as_bytes())),
            Field::UserLoginuid => Some(FieldValue::Int(if p.creds.loginuid == UNKNOWN_ID {
                -1
            } else {
                p.creds.loginuid.into()
            })),
            Field::UserLoginname => self
                .login_name(tid)
                .map(|n| FieldValue::owned(n.as_bytes())),
            Field::GroupGid => id(p.creds.egid),
            Field::GroupName => self
                .group_name(tid)
                .map(|n| FieldValue::owned(n.as_bytes())),
            Field::ContainerId => Some(match &p.container {
                None => FieldValue::str(HOST),
                Some(c) => FieldValue::str(&c.id),
            }),
            Field::ContainerFullId => Some(match &p.container {
                None => FieldValue::str(HOST),
                Some(c) => FieldValue::str(&c.full_id),
            }),
            Field::ContainerName => match &p.container {
                None => s(HOST),
                Some(c) => opt_s(c.name.as_deref()),
            },
            Field::ContainerType => match &p.container {
                None => s(HOST),
                Some(c) => s(c.runtime.name()),
            },
            Field::ContainerImage => opt_s(p.container.as_ref()?.image.as_deref()),
            Field::ContainerImageRepository => {
                opt_s(p.container.as_ref()?.image_repository.as_deref())
            }
            Field::ContainerImageTag => opt_s(p.container.as_ref()?.image_tag.as_deref()),
            Field::ContainerImageId => opt_s(p.container.as_ref()?.image_id.as_deref()),
            Field::ContainerImageDigest => opt_s(p.container.as_ref()?.image_digest.as_deref()),
            Field::ContainerMounts => p.container.as_ref()?.mounts.as_ref().map(|m| {
                FieldValue::owned(m.iter().map(|m| m.describe()).collect::<Vec<_>>().join(","))
            }),
            Field::ContainerMount
            | Field::ContainerMountSource
            | Field::ContainerMountDest
            | Field::ContainerMountMode
            | Field::ContainerMountRdwr
            | Field::ContainerMountPropagation => {
                let c = p.container.as_ref()?;
                let (index, key) = match &f.arg {
                    FieldArg::Index(i) => (Some(*i as usize), ""),
                    FieldArg::Key(k) => (None, &**k),
                    FieldArg::None => return None,
                };
                let m = c.mount(index, key, f.field == Field::ContainerMountSource)?;
                Some(match f.field {
                    Field::ContainerMount => FieldValue::owned(m.describe()),
                    Field::ContainerMountSource => FieldValue::str(&m.source),
                    Field::ContainerMountDest => FieldValue::str(&m.dest),
                    Field::ContainerMountMode => FieldValue::str(&m.mode),
                    Field::ContainerMountRdwr => {
                        FieldValue::str(if m.rdwr { "true" } else { "false" })
                    }
                    _ => FieldValue::str(&m.propagation),
                })
            }
            Field::ContainerStartTs => {
                // Falco: the start of the container's pid namespace's init.
                p.container.as_ref()?;
                self.table
                    .processes()
                    .find(|q| q.pidns == p.pidns && q.pidns != 0 && q.vpid == 1)
                    .filter(|q| q.start_ns != 0)
                    .map(|q| FieldValue::Uint(q.start_ns))
            }
            Field::ContainerPrivileged => match &p.container {
                None => Some(FieldValue::Bool(false)),
                Some(c) => c.privileged.map(FieldValue::Bool),
            },
            Field::K8sPodName => opt_s(p.container.as_ref()?.pod_name.as_deref()),
            Field::K8sPodUid | Field::K8sPodId => opt_s(p.container.as_ref()?.pod_uid.as_deref()),
            Field::K8sNsName => opt_s(p.container.as_ref()?.pod_namespace.as_deref()),
            Field::K8sPodLabel => match &f.arg {
                FieldArg::Key(k) => opt_s(p.container.as_ref()?.pod_label(k)),
                _ => None,
            },
            Field::K8sPodLabels => p.container.as_ref()?.pod_labels.as_ref().map(|l| {
                FieldValue::List(
                    l.iter()
                        .map(|(k, v)| FieldValue::owned(format!("{k}:{v}")))
                        .collect(),
                )
            }),
            // The event's own fields and fd.*/fs.path.* (answered by fd_field and fs_path).
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
            | Field::FsPathTargetraw => None,
            // Provider::Missing: nothing on this engine fills them.
            Field::ContainerHealthcheck
            | Field::K8sPodIp
            | Field::K8sPodCniJson
            | Field::ProcIsExeUpperLayer
            | Field::ProcIsExeLowerLayer
            | Field::EvtBuffer => None,
        }
    }

    fn fd_field<'s>(
        &self,
        event: &Event<'_>,
        p: &Process,
        fd: i64,
        info: &'s FdInfo,
        f: &FieldRef,
    ) -> Option<FieldValue<'s>> {
        let ip = |a: Option<std::net::IpAddr>| a.map(FieldValue::Ip);
        let port = |p: Option<u16>| p.map(|p| FieldValue::Uint(p.into()));
        match f.field {
            Field::FdNum => Some(FieldValue::Int(fd)),
            Field::FdType => s(info.type_name()),
            Field::FdTypechar => owned(info.type_char().to_string()),
            Field::FdName => match &info.inet {
                Some(_) => owned(info.name()),
                None => s(&info.path),
            },
            Field::FdDirectory => opt_s(info.directory()),
            Field::FdFilename => opt_s(info.filename()),
            Field::FdCip | Field::FdCnet => ip(info.cip()),
            Field::FdSip | Field::FdSnet => ip(info.sip()),
            Field::FdLip | Field::FdLnet => ip(info.lip()),
            Field::FdRip | Field::FdRnet => ip(info.rip()),
            Field::FdIp | Field::FdNet => {
                let e = info.ends()?;
                Some(FieldValue::AnyOf(
                    [e.local, e.remote]
                        .iter()
                        .flatten()
                        .map(|a| FieldValue::Ip(a.ip()))
                        .collect(),
                    Negation::NoneEqual,
                ))
            }
            Field::FdCport => port(info.cport()),
            Field::FdSport => port(info.sport()),
            Field::FdLport => port(info.lport()),
            Field::FdRport => port(info.rport()),
            Field::FdPort => {
                let e = info.ends()?;
                Some(FieldValue::AnyOf(
                    [e.local, e.remote]
                        .iter()
                        .flatten()
                        .map(|a| FieldValue::Uint(a.port().into()))
                        .collect(),
                    Negation::NoneEqual,
                ))
            }
            Field::FdL4proto => info.ends().map(|_| FieldValue::str(info.l4proto())),
            Field::FdSockfamily => match info.kind {
                super::fds::FdKind::Ipv4 | super::fds::FdKind::Ipv6 => s("ip"),
                super::fds::FdKind::Unix => s("unix"),
                _ => None,
            },
            Field::FdIsServer => info
                .ends()
                .map(|e| FieldValue::Bool(e.role == super::fds::Role::Server)),
            Field::FdConnected => info.ends().map(|e| FieldValue::Bool(e.remote.is_some())),
            Field::FdCipName | Field::FdSipName | Field::FdLipName | Field::FdRipName => {
                let ip = match f.field {
                    Field::FdCipName => info.cip(),
                    Field::FdSipName => info.sip(),
                    Field::FdLipName => info.lip(),
                    _ => info.rip(),
                }?;
                let mut names = crate::rules::dns::names_of(ip);
                Some(if names.len() == 1 {
                    FieldValue::owned(names.pop().expect("one").into_boxed_bytes())
                } else {
                    FieldValue::AnyOf(
                        names
                            .into_iter()
                            .map(|n| FieldValue::owned(n.into_boxed_bytes()))
                            .collect(),
                        Negation::NoneEqual,
                    )
                })
            }
            Field::FdNameChanged => {
                // A sendto to an address other than the socket's peer (or
                // from a socket with none yet) names another connection:
                // Falco's "the fd's tuple changed".
                if !info.kind.is_inet() {
                    return Some(FieldValue::Bool(false));
                }
                let to = match event.param("addr") {
                    Some(Value::SockAddr(SockAddr::Inet(ip, port))) => {
                        std::net::SocketAddr::new((*ip).into(), *port)
                    }
                    Some(Value::SockAddr(SockAddr::Inet6(ip, port))) => {
                        std::net::SocketAddr::new((*ip).into(), *port)
                    }
                    _ => return Some(FieldValue::Bool(false)),
                };
                let remote = info.ends().and_then(|e| e.remote);
                Some(FieldValue::Bool(remote != Some(to)))
            }
            Field::FdDev | Field::FdIno => {
                let st = ondemand::fd_stat(self.opts.proc_root.as_deref()?, p.pid, fd)?;
                Some(FieldValue::Uint(if f.field == Field::FdDev {
                    st.dev
                } else {
                    st.ino
                }))
            }
            // fd.nameraw is the path as the call passed it: only the event has it.
            Field::FdNameraw => None,
            // Not fd fields: proc_field answers them.
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
            | Field::ProcExe
            | Field::ProcName
            | Field::ProcArgs
            | Field::ProcEnv
            | Field::ProcCmdline
            | Field::ProcExeline
            | Field::ProcCwd
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
            | Field::ProcExepath
            | Field::ProcLoginshellid
            | Field::ProcSname
            | Field::ProcSid
            | Field::ProcVpgid
            | Field::ProcPgid
            | Field::ProcVpid
            | Field::ProcPvpid
            | Field::ProcTty
            | Field::ProcIsExeUpperLayer
            | Field::ProcIsExeFromMemfd
            | Field::ProcIsExeWritable
            | Field::ProcIsSidLeader
            | Field::ProcIsVpgidLeader
            | Field::ProcStartTs
            | Field::ThreadTid
            | Field::ThreadVtid
            | Field::ThreadIsmain
            | Field::ThreadCapPermitted
            | Field::ThreadCapEffective
            | Field::ThreadCapInheritable
            | Field::UserUid
            | Field::UserName
            | Field::UserHomedir
            | Field::UserShell
            | Field::UserLoginuid
            | Field::UserLoginname
            | Field::GroupGid
            | Field::GroupName
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
            | Field::ProcStderrName => None,
        }
    }
}

impl State {
    /// `fs.path.name`/`.source`/`.target` of a relative path (the event
    /// answers absolute ones): resolved against the call's directory fd
    /// or the working directory, `<unresolved>/...` when that is unknown.
    fn fs_path<'s>(&'s self, event: &Event<'_>, field: Field) -> Option<FieldValue<'s>> {
        if event.is_enter() {
            return None;
        }
        let which = match field {
            Field::FsPathName => kestrel_abi::roles::FS_PATH_NAME,
            Field::FsPathSource => kestrel_abi::roles::FS_PATH_SOURCE,
            _ => kestrel_abi::roles::FS_PATH_TARGET,
        };
        let pp =
            kestrel_abi::event_roles(event.event_type()).fs_paths[which].filter(|pp| pp.resolve)?;
        let raw = match event.param(pp.path)? {
            Value::Str(b) | Value::Bytes(b) if !b.fault => b.lossy(),
            _ => return None,
        };
        let dirfd = pp
            .dirfd
            .and_then(|d| event.param(d)?.as_i64())
            .unwrap_or(AT_FDCWD);
        owned(self.resolve_path(event.tid, dirfd, &raw))
    }
}

impl StateView for State {
    fn field<'s>(&'s self, event: &Event<'_>, field: &FieldRef) -> Option<FieldValue<'s>> {
        let tid = event.tid;
        if matches!(
            field.field,
            Field::FsPathName | Field::FsPathSource | Field::FsPathTarget
        ) {
            return self.fs_path(event, field.field);
        }
        let p = self.process(tid)?;
        let name = field.field.name();
        if name.starts_with("fd.") {
            let fd = event_fd(event)?;
            return self.fd_field(event, p, fd, p.fds.get(fd)?, field);
        }
        self.proc_field(event, p, field)
    }
}

/// A field name's class: what comes before its first `.` (`proc` of
/// `proc.name`), found with a byte scan rather than a `split` iterator.
fn field_class(name: &str) -> &str {
    match name.bytes().position(|b| b == b'.') {
        Some(i) => &name[..i],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::record::{Record, RecordBuilder};
    use crate::state::fds::FdInfo;
    use crate::state::{State, StateOptions};
    use kestrel_abi::EventType as T;

    fn get(s: &State, ev: &Event<'_>, name: &str, bracket: Option<&str>) -> Option<String> {
        let f = FieldRef::resolve(name, bracket).unwrap();
        s.field(ev, &f).map(|v| v.render())
    }

    #[test]
    fn fields_come_from_the_thread_and_its_fds() {
        let mut st = State::new(StateOptions {
            proc_root: None,
            ..StateOptions::default()
        });
        let mut sh = Process {
            pid: 10,
            ppid: 1,
            vpid: 10,
            sid: 10,
            comm: "bash".into(),
            exepath: "/usr/bin/bash".into(),
            cwd: "/root".into(),
            ..Process::default()
        };
        sh.set_cmdline(&["-bash"]);
        sh.creds.euid = 0;
        assert!(st.insert_process(sh, &[(10, 10)]));
        st.on_fork(10, 10, 11, 11, 5);
        st.on_exec(
            11,
            11,
            None,
            None,
            crate::state::threads::ExecInfo {
                exepath: Some("/usr/bin/nc".into()),
                comm: Some("nc".into()),
                argv: Some(vec!["nc".into(), "-l".into(), "4444".into()]),
                ..Default::default()
            },
        );
        st.on_socket(11, 3, libc::AF_INET.into(), libc::SOCK_STREAM.into(), 0);
        st.on_bind(11, 3, Some("0.0.0.0:4444".parse().unwrap()), None);
        st.process(11).unwrap();
        let b = RecordBuilder::new(T::KESTREL_EVT_CLOSE as u16, 9, 11, 11)
            .i64(0)
            .i64(3)
            .build();
        let rec = Record::parse(&b).unwrap();
        let ev = decode(&rec).unwrap();
        assert_eq!(get(&st, &ev, "proc.name", None).as_deref(), Some("nc"));
        assert_eq!(
            get(&st, &ev, "proc.cmdline", None).as_deref(),
            Some("nc -l 4444")
        );
        assert_eq!(get(&st, &ev, "proc.pname", None).as_deref(), Some("bash"));
        assert_eq!(
            get(&st, &ev, "proc.aname", Some("1")).as_deref(),
            Some("bash")
        );
        assert_eq!(get(&st, &ev, "proc.apid", Some("1")).as_deref(), Some("10"));
        assert_eq!(get(&st, &ev, "proc.aname", None).as_deref(), Some("(bash)"));
        assert_eq!(get(&st, &ev, "proc.sname", None).as_deref(), Some("bash"));
        assert_eq!(get(&st, &ev, "proc.cwd", None).as_deref(), Some("/root"));
        assert_eq!(get(&st, &ev, "container.id", None).as_deref(), Some("host"));
        assert_eq!(get(&st, &ev, "k8s.pod.name", None), None);
        assert_eq!(get(&st, &ev, "fd.num", None).as_deref(), Some("3"));
        assert_eq!(get(&st, &ev, "fd.typechar", None).as_deref(), Some("4"));
        assert_eq!(get(&st, &ev, "fd.sport", None).as_deref(), Some("4444"));
        assert_eq!(get(&st, &ev, "fd.is_server", None).as_deref(), Some("true"));
        assert_eq!(get(&st, &ev, "fd.l4proto", None).as_deref(), Some("tcp"));
        assert_eq!(
            get(&st, &ev, "fd.name", None).as_deref(),
            Some("0.0.0.0:4444")
        );
        // The state answers the fd of the close being evaluated: it goes
        // only when the next event is applied.
        st.apply(&ev);
        assert_eq!(get(&st, &ev, "fd.sport", None).as_deref(), Some("4444"));
        st.flush_pending();
        assert_eq!(get(&st, &ev, "fd.sport", None), None);
        let _ = FdInfo::file("/x", 0, false);
    }

    #[test]
    fn fs_path_fields_are_made_absolute_by_the_state() {
        use crate::rules::event::EventFields;
        use crate::rules::fields::FieldSource;
        let mut st = State::new(StateOptions::for_replay(None));
        let sh = Process {
            pid: 10,
            comm: "sh".into(),
            cwd: "/root".into(),
            env: "HOME=/root\0TERM=xterm".into(),
            ..Process::default()
        };
        assert!(st.insert_process(sh, &[(10, 10)]));
        st.on_open(10, 5, AT_FDCWD, "/etc", None, 0o200000);
        // Through the engine: the event answers absolute paths, the state
        // relative ones.
        let field = |b: &[u8], st: &State, name: &str| -> Option<String> {
            let rec = Record::parse(b).unwrap();
            let ev = decode(&rec).unwrap();
            let mut src = EventFields::new(&ev);
            src.state = Some(st);
            src.field(&FieldRef::resolve(name, None).unwrap())
                .map(|v| v.render())
        };
        let unlinkat = RecordBuilder::new(T::KESTREL_EVT_UNLINKAT as u16, 1, 10, 10)
            .i64(0)
            .i64(5)
            .param(b"shadow")
            .u32(0)
            .build();
        assert_eq!(
            field(&unlinkat, &st, "fs.path.name").as_deref(),
            Some("/etc/shadow")
        );
        assert_eq!(
            field(&unlinkat, &st, "fs.path.nameraw").as_deref(),
            Some("shadow")
        );
        let mkdir = RecordBuilder::new(T::KESTREL_EVT_MKDIR as u16, 2, 10, 10)
            .i64(0)
            .param(b"tmp/../work/x")
            .u32(0o755)
            .build();
        assert_eq!(
            field(&mkdir, &st, "fs.path.name").as_deref(),
            Some("/root/work/x")
        );
        let abs = RecordBuilder::new(T::KESTREL_EVT_MKDIR as u16, 2, 10, 10)
            .i64(0)
            .param(b"/srv/y")
            .u32(0o755)
            .build();
        assert_eq!(field(&abs, &st, "fs.path.name").as_deref(), Some("/srv/y"));
        let renameat = RecordBuilder::new(T::KESTREL_EVT_RENAMEAT as u16, 3, 10, 10)
            .i64(0)
            .i64(AT_FDCWD)
            .param(b"a")
            .i64(5)
            .param(b"b")
            .build();
        assert_eq!(
            field(&renameat, &st, "fs.path.source").as_deref(),
            Some("/root/a")
        );
        assert_eq!(
            field(&renameat, &st, "fs.path.target").as_deref(),
            Some("/etc/b")
        );
        assert_eq!(
            field(&renameat, &st, "fs.path.targetraw").as_deref(),
            Some("b")
        );
        // A symlink's content is kept as written; its link is resolved.
        let symlink = RecordBuilder::new(T::KESTREL_EVT_SYMLINK as u16, 4, 10, 10)
            .i64(0)
            .param(b"../lib/x")
            .param(b"l")
            .build();
        assert_eq!(
            field(&symlink, &st, "fs.path.source").as_deref(),
            Some("../lib/x")
        );
        assert_eq!(
            field(&symlink, &st, "fs.path.target").as_deref(),
            Some("/root/l")
        );
        // After a chdir, relative paths follow it.
        st.on_chdir(10, "/var");
        assert_eq!(
            field(&mkdir, &st, "fs.path.name").as_deref(),
            Some("/var/work/x")
        );
        // An unknown thread's relative path says it is unresolved.
        let other = RecordBuilder::new(T::KESTREL_EVT_MKDIR as u16, 2, 99, 99)
            .i64(0)
            .param(b"z")
            .u32(0o755)
            .build();
        assert_eq!(
            field(&other, &st, "fs.path.name").as_deref(),
            Some("<unresolved>/z")
        );
        // proc.env from the state.
        assert_eq!(
            field(&mkdir, &st, "proc.env").as_deref(),
            Some("HOME=/root TERM=xterm")
        );
        let term = FieldRef::resolve("proc.env", Some("TERM")).unwrap();
        let rec = Record::parse(&mkdir).unwrap();
        let ev = decode(&rec).unwrap();
        assert_eq!(
            st.field(&ev, &term).map(|v| v.render()).as_deref(),
            Some("xterm")
        );
        let missing = FieldRef::resolve("proc.env", Some("NOPE")).unwrap();
        assert!(st.field(&ev, &missing).is_none());
    }
}

#[cfg(test)]
mod catalogue_tests {
    //! Every field of the catalogue is filled from a fully populated
    //! fixture, except those whose provider says nothing fills them.
    use std::os::fd::AsRawFd;
    use std::sync::Arc;

    use crate::decode::decode;
    use crate::record::{Record, RecordBuilder};
    use crate::rules::event::EventFields;
    use crate::rules::fields::{ArgKind, Field, FieldArg, FieldRef, FieldSource, Provider, FIELDS};
    use crate::state::runtime::{ContainerInfo, Mount};
    use crate::state::threads::Process;
    use crate::state::{State, StateOptions};
    use kestrel_abi::EventType as T;

    fn inet4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut a = vec![libc::AF_INET as u8, 0];
        a.extend_from_slice(&port.to_be_bytes());
        a.extend_from_slice(&ip);
        a.extend_from_slice(&[0; 8]);
        a
    }

    fn tuple4(l: [u8; 4], lp: u16, r: [u8; 4], rp: u16) -> Vec<u8> {
        let mut t = vec![libc::AF_INET as u8];
        t.extend_from_slice(&l);
        t.extend_from_slice(&lp.to_le_bytes());
        t.extend_from_slice(&r);
        t.extend_from_slice(&rp.to_le_bytes());
        t
    }

    /// The argument a field is tested with.
    fn arg_for(f: Field) -> FieldArg {
        match f {
            Field::K8sPodLabel => FieldArg::Key("app".into()),
            Field::ProcEnv => FieldArg::Key("HOME".into()),
            Field::EvtArg | Field::EvtRawarg => FieldArg::Index(0),
            _ => match f.info().arg {
                ArgKind::Index | ArgKind::KeyOrIndex => FieldArg::Index(1),
                ArgKind::OptionalIndex => FieldArg::Index(1),
                ArgKind::Key => FieldArg::Key("x".into()),
                ArgKind::OptionalKey | ArgKind::None => FieldArg::None,
            },
        }
    }

    #[test]
    fn every_catalogued_field_has_a_provider_that_fills_it() {
        // The process is this test process, so what the state reads from
        // /proc on demand (capabilities, the executable, fds) is there.
        let me = std::process::id();
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        let file_fd = i64::from(file.as_raw_fd());
        let sock_fd = 900;
        let mut st = State::new(StateOptions::default());
        let parent = Process {
            pid: 1,
            vpid: 1,
            start_ns: 500,
            comm: "init".into(),
            exepath: "/sbin/init".into(),
            cmdline: "/sbin/init".into(),
            ..Process::default()
        };
        assert!(st.insert_process(parent, &[(1, 1)]));
        let container = ContainerInfo {
            id: "0123456789ab".into(),
            full_id: "0123456789ab".repeat(5) + "0123",
            runtime: crate::state::container::RuntimeKind::Containerd,
            metadata_found: true,
            name: Some("web".into()),
            image: Some("nginx:1.25@sha256:abcd".into()),
            image_repository: Some("nginx".into()),
            image_tag: Some("1.25".into()),
            privileged: Some(false),
            pod_name: Some("web-0".into()),
            pod_namespace: Some("prod".into()),
            pod_uid: Some("uid-1".into()),
            pod_labels: Some(vec![("app".into(), "web".into())]),
            image_id: Some("6f7e2741b66b".into()),
            image_digest: Some("sha256:abcd".into()),
            mounts: Some(vec![
                Mount {
                    source: "/var/lib/kubelet".into(),
                    dest: "/data".into(),
                    mode: "rbind,rw".into(),
                    rdwr: true,
                    propagation: "rprivate".into(),
                };
                2
            ]),
        };
        let mut p = Process {
            pid: me,
            ppid: 1,
            vpid: 1,
            pgid: me,
            vpgid: 1,
            sid: me,
            comm: "sh".into(),
            exepath: "/bin/sh".into(),
            cwd: "/root".into(),
            env: "HOME=/root\0TERM=xterm".into(),
            tty: 34816,
            start_ns: 1_000,
            pidns: 4026532000,
            container: Some(Arc::new(container)),
            ..Process::default()
        };
        p.set_cmdline(&["sh", "-c", "true"]);
        p.creds.uid = 0;
        p.creds.gid = 0;
        p.creds.euid = 0;
        p.creds.egid = 0;
        p.creds.loginuid = 0;
        assert!(st.insert_process(p, &[(me, me)]));
        st.on_open(me, file_fd, -100, "/proc/self/exe", None, 0);
        for std_fd in 0..3 {
            st.on_open(me, std_fd, -100, "/dev/pts/0", None, 2);
        }
        st.on_socket(
            me,
            sock_fd,
            libc::AF_INET.into(),
            libc::SOCK_DGRAM.into(),
            0,
        );
        st.on_connect(
            me,
            sock_fd,
            Some("10.0.0.5:40000".parse().unwrap()),
            Some("93.184.216.34:53".parse().unwrap()),
        );
        crate::rules::dns::watch("fixture.invalid");
        crate::rules::dns::set_addresses("fixture.invalid", vec!["93.184.216.34".parse().unwrap()]);
        crate::rules::dns::set_addresses(
            "fixture-local.invalid",
            vec!["10.0.0.5".parse().unwrap()],
        );
        let (pid, tid) = (me, me);
        let events: Vec<Vec<u8>> = vec![
            RecordBuilder::new(T::KESTREL_EVT_EXECVE as u16, 5, tid, pid)
                .i64(0)
                .param(b"/bin/sh")
                .param(b"sh\0-c\0true\0")
                .param(b"/root")
                .u32(0)
                .u32(0)
                .u32(0)
                .u32(0)
                .u32(0)
                .u32(34816)
                .param(b"0::/kubepods")
                .u32(4026532000)
                .u32(1)
                .u32(1)
                .u32(1)
                .param(b"HOME=/root\0")
                .param(b"sh")
                .build(),
            RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, 6, tid, pid)
                .i64(file_fd)
                .i64(-100)
                .param(b"/proc/self/exe")
                .u32((libc::O_RDWR | libc::O_CREAT) as u32)
                .u32(0o755)
                .param(b"/proc/self/exe")
                .build(),
            RecordBuilder::new(T::KESTREL_EVT_SENDTO as u16, 7, tid, pid)
                .i64(10)
                .i64(sock_fd)
                .u64(10)
                .param(&inet4([1, 1, 1, 1], 53))
                .param(&tuple4([10, 0, 0, 5], 40000, [93, 184, 216, 34], 53))
                .build(),
            RecordBuilder::new(T::KESTREL_EVT_RENAMEAT as u16, 8, tid, pid)
                .i64(0)
                .i64(-100)
                .param(b"/a")
                .i64(-100)
                .param(b"/b")
                .build(),
            RecordBuilder::new(T::KESTREL_EVT_UNLINKAT as u16, 9, tid, pid)
                .i64(0)
                .i64(-100)
                .param(b"/c")
                .u32(0)
                .build(),
        ];
        let decoded: Vec<_> = events.iter().map(|b| Record::parse(b).unwrap()).collect();
        let mut unfilled = Vec::new();
        for info in FIELDS {
            let f = FieldRef {
                field: info.field,
                arg: arg_for(info.field),
            };
            let filled = decoded.iter().any(|rec| {
                let ev = decode(rec).unwrap();
                let mut src = EventFields::new(&ev);
                src.state = Some(&st);
                src.field(&f).is_some()
            });
            match (info.provider, filled) {
                (Provider::Missing(_), true) => {
                    panic!("{} is filled but its provider says Missing", info.name)
                }
                (Provider::Missing(_), false) | (_, true) => {}
                (_, false) => unfilled.push(info.name),
            }
        }
        assert!(unfilled.is_empty(), "never filled: {unfilled:?}");
        // A few values, as Falco gives them.
        let ev = decode(&decoded[3]).unwrap();
        let mut src = EventFields::new(&ev);
        src.state = Some(&st);
        let get = |name: &str, arg: FieldArg| {
            src.field(&FieldRef {
                field: Field::by_name(name).unwrap(),
                arg,
            })
            .map(|v| v.render())
        };
        assert_eq!(
            get("proc.stdin.name", FieldArg::None).as_deref(),
            Some("/dev/pts/0")
        );
        assert_eq!(
            get("proc.stderr.type", FieldArg::None).as_deref(),
            Some("file")
        );
        assert_eq!(get("proc.cmdnargs", FieldArg::None).as_deref(), Some("2"));
        assert_eq!(get("proc.cmdlenargs", FieldArg::None).as_deref(), Some("6"));
        assert_eq!(
            get("proc.acmdline", FieldArg::Index(1)).as_deref(),
            Some("init")
        );
        assert_eq!(
            get("proc.is_pgid_leader", FieldArg::None).as_deref(),
            Some("true")
        );
        assert_eq!(
            get("proc.vpgid.name", FieldArg::None).as_deref(),
            Some("sh")
        );
        assert_eq!(get("proc.aexe", FieldArg::Index(0)).as_deref(), Some("sh"));
        assert_eq!(
            get("proc.fdopencount", FieldArg::None).as_deref(),
            Some("5")
        );
        assert_eq!(
            get(
                "container.mount.dest",
                FieldArg::Key("/var/lib/kube*".into())
            )
            .as_deref(),
            Some("/data")
        );
        assert_eq!(
            get("container.mount.source", FieldArg::Key("/nope".into())),
            None
        );
        assert_eq!(
            get("fd.sip.name", FieldArg::None),
            None,
            "a rename has no socket"
        );
        drop(file);
    }
}
