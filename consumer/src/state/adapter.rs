//! [`EventParams`] for the decoder's [`Event`].

use std::borrow::Cow;

use super::apply::{Endpoint, EventParams};
use crate::decode::{type_name, Bytes, Event, EventKind, SockAddr};

fn text<'b>(b: &'b Bytes<'_>) -> Option<Cow<'b, str>> {
    (!b.fault).then(|| b.lossy())
}

fn endpoint(a: &SockAddr<'_>) -> Endpoint {
    match a {
        SockAddr::Inet(ip, port) => Endpoint::Inet((*ip, *port).into()),
        SockAddr::Inet6(ip, port) => Endpoint::Inet((*ip, *port).into()),
        SockAddr::Unix(p) => Endpoint::Unix(String::from_utf8_lossy(p).into_owned()),
        _ => Endpoint::Other,
    }
}

impl EventParams for Event<'_> {
    fn name(&self) -> &str {
        match &self.kind {
            EventKind::Open { syscall, .. } => match syscall {
                crate::decode::OpenCall::Open => "open",
                crate::decode::OpenCall::Openat => "openat",
                crate::decode::OpenCall::Openat2 => "openat2",
            },
            EventKind::Exec { at, .. } => {
                if *at {
                    "execveat"
                } else {
                    "execve"
                }
            }
            EventKind::ExecEnter { at, .. } => {
                if *at {
                    "execveat"
                } else {
                    "execve"
                }
            }
            EventKind::Connect { .. } => "connect",
            EventKind::Clone { syscall, .. } => match syscall {
                crate::decode::CloneCall::Clone => "clone",
                crate::decode::CloneCall::Fork => "fork",
                crate::decode::CloneCall::Vfork => "vfork",
            },
            EventKind::ProcExit { .. } => "procexit",
            EventKind::ProcFork { .. } => "procfork",
            EventKind::ProcExec { .. } => "procexec",
            EventKind::Generic { nr, .. } => kestrel_abi::syscall_name(*nr).unwrap_or("generic"),
            EventKind::Lost { .. } => type_name(kestrel_abi::EventType::KESTREL_EVT_LOST as u16),
        }
    }

    fn is_enter(&self) -> bool {
        matches!(self.kind, EventKind::ExecEnter { .. })
    }

    fn tid(&self) -> u32 {
        self.tid
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn ts_ns(&self) -> u64 {
        self.ts_ns
    }

    fn int(&self, param: &str) -> Option<i64> {
        match (&self.kind, param) {
            (EventKind::Open { res, .. }, "res")
            | (EventKind::Exec { res, .. }, "res")
            | (EventKind::Connect { res, .. }, "res")
            | (EventKind::Clone { res, .. }, "res") => Some(*res),
            (EventKind::Open { dirfd, .. }, "dirfd") => Some(*dirfd),
            (EventKind::Open { flags, .. }, "flags") => Some(*flags as i64),
            (EventKind::Clone { flags, .. }, "flags") => Some(*flags as i64),
            (EventKind::Connect { fd, .. }, "fd") => Some(*fd),
            (EventKind::ProcFork { child_tid, .. }, "child_tid") => Some((*child_tid).into()),
            (EventKind::ProcFork { child_pid, .. }, "child_pid") => Some((*child_pid).into()),
            (EventKind::ProcExec { old_tid, .. }, "old_tid") => Some((*old_tid).into()),
            _ => None,
        }
    }

    fn text(&self, param: &str) -> Option<Cow<'_, str>> {
        match (&self.kind, param) {
            (EventKind::Open { path, .. }, "name") => text(path),
            (EventKind::Exec { exe, .. }, "exe") => text(exe),
            (EventKind::ProcExec { filename, .. }, "filename") => text(filename),
            _ => None,
        }
    }

    fn list(&self, param: &str) -> Option<Vec<String>> {
        match (&self.kind, param) {
            (EventKind::Exec { argv, .. }, "args") if !argv.fault => Some(
                argv.split_nul()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
            ),
            _ => None,
        }
    }

    fn addr(&self, param: &str) -> Option<Endpoint> {
        match (&self.kind, param) {
            (EventKind::Connect { addr, .. }, "addr") => Some(endpoint(addr)),
            _ => None,
        }
    }

    fn tuple(&self, _param: &str) -> Option<(Endpoint, Endpoint)> {
        None
    }
}
