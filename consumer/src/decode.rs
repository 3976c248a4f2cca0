//! Raw records → typed events, borrowing strings from the record.
//!
//! Parameter order and types per event are documented beside
//! `enum kestrel_event_type` in `kmod/kestrel_abi.h`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use kestrel_abi::EventType as T;

use crate::record::{Param, Record};

/// A string or byte parameter with the module's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bytes<'a> {
    /// The bytes as recorded (no terminating NUL).
    pub bytes: &'a [u8],
    /// Cut at snaplen.
    pub truncated: bool,
    /// Could not be read from user memory.
    pub fault: bool,
}

impl<'a> From<Param<'a>> for Bytes<'a> {
    fn from(p: Param<'a>) -> Self {
        Bytes {
            bytes: p.bytes,
            truncated: p.truncated,
            fault: p.fault,
        }
    }
}

impl Bytes<'_> {
    /// The bytes as text, with invalid UTF-8 replaced.
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.bytes)
    }

    /// NUL-separated items (argv), the last one possibly cut short.
    pub fn split_nul(&self) -> impl Iterator<Item = &[u8]> {
        let trimmed = self.bytes.strip_suffix(b"\0").unwrap_or(self.bytes);
        trimmed
            .split(|&b| b == 0)
            .filter(move |_| !trimmed.is_empty())
    }
}

/// A socket address as passed to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr<'a> {
    /// AF_INET.
    Inet(Ipv4Addr, u16),
    /// AF_INET6.
    Inet6(Ipv6Addr, u16),
    /// AF_UNIX, with its path (abstract names start with NUL).
    Unix(&'a [u8]),
    /// Any other family, or too short for its family.
    Other(u16),
    /// Nothing usable was recorded.
    Unreadable,
}

impl<'a> SockAddr<'a> {
    /// Decodes a `struct sockaddr_*` as the module copied it.
    pub fn parse(b: &'a [u8]) -> SockAddr<'a> {
        if b.len() < 2 {
            return SockAddr::Unreadable;
        }
        let family = u16::from_le_bytes([b[0], b[1]]);
        match family as i32 {
            libc::AF_INET if b.len() >= 8 => SockAddr::Inet(
                Ipv4Addr::new(b[4], b[5], b[6], b[7]),
                u16::from_be_bytes([b[2], b[3]]),
            ),
            libc::AF_INET6 if b.len() >= 24 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[8..24]);
                SockAddr::Inet6(Ipv6Addr::from(a), u16::from_be_bytes([b[2], b[3]]))
            }
            libc::AF_UNIX => {
                let path = &b[2..];
                let end = if path.first() == Some(&0) {
                    path.len()
                } else {
                    path.iter().position(|&c| c == 0).unwrap_or(path.len())
                };
                SockAddr::Unix(&path[..end])
            }
            _ => SockAddr::Other(family),
        }
    }

    /// The family's name as in `<sys/socket.h>`.
    pub fn family_name(&self) -> String {
        match self {
            SockAddr::Inet(..) => "AF_INET".into(),
            SockAddr::Inet6(..) => "AF_INET6".into(),
            SockAddr::Unix(_) => "AF_UNIX".into(),
            SockAddr::Other(f) => format!("{f}"),
            SockAddr::Unreadable => "unknown".into(),
        }
    }
}

/// What happened, with its decoded parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind<'a> {
    /// open/openat/openat2 returned.
    Open {
        /// Which of the three.
        syscall: OpenCall,
        /// New fd or -errno.
        res: i64,
        /// Directory fd (AT_FDCWD for open).
        dirfd: i64,
        /// Path as passed.
        path: Bytes<'a>,
        /// O_* flags.
        flags: u64,
        /// Creation mode.
        mode: u64,
        /// RESOLVE_* flags (openat2 only).
        resolve: u64,
    },
    /// execve/execveat returned.
    Exec {
        /// True for execveat.
        at: bool,
        /// 0 or -errno.
        res: i64,
        /// Executable path (resolved on success).
        exe: Bytes<'a>,
        /// NUL-separated arguments.
        argv: Bytes<'a>,
        /// Directory fd (execveat).
        dirfd: i64,
        /// AT_* flags (execveat).
        flags: u32,
    },
    /// execve/execveat entered (the image is not replaced yet).
    ExecEnter {
        /// True for execveat.
        at: bool,
        /// Path as passed.
        path: Bytes<'a>,
        /// NUL-separated arguments.
        argv: Bytes<'a>,
    },
    /// connect returned.
    Connect {
        /// 0 or -errno.
        res: i64,
        /// Socket fd.
        fd: i64,
        /// Destination.
        addr: SockAddr<'a>,
    },
    /// clone/fork/vfork returned (in the parent or the child).
    Clone {
        /// Which of the three.
        syscall: CloneCall,
        /// Child tid in the parent, 0 in the child, or -errno.
        res: i64,
        /// clone's flags argument.
        flags: u64,
    },
    /// A thread exited.
    ProcExit {
        /// wait(2)-encoded status.
        exit_code: u32,
    },
    /// A task was created.
    ProcFork {
        /// Child thread id.
        child_tid: u32,
        /// Child process id.
        child_pid: u32,
    },
    /// A new image replaced the process.
    ProcExec {
        /// File the kernel opened.
        filename: Bytes<'a>,
        /// Thread id before exec (differs if a non-leader thread exec'd).
        old_tid: u32,
    },
    /// A masked-in syscall without a decoder of its own.
    Generic {
        /// Syscall number.
        nr: u32,
        /// Return value.
        res: i64,
        /// Raw arguments.
        args: [u64; 6],
    },
    /// Events were dropped before this point.
    Lost {
        /// Sequence number of the first lost event on this ring.
        seq: u64,
        /// Lost because the ring was full.
        ring_full: u64,
        /// Lost because the record would be too large.
        too_large: u64,
        /// Lost because the record could not be built.
        fault: u64,
    },
}

/// Which open syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenCall {
    /// open(2).
    Open,
    /// openat(2).
    Openat,
    /// openat2(2).
    Openat2,
}

/// Which process-creating syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneCall {
    /// clone(2).
    Clone,
    /// fork(2).
    Fork,
    /// vfork(2).
    Vfork,
}

/// A decoded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// CLOCK_MONOTONIC ns.
    pub ts_ns: u64,
    /// Thread id.
    pub tid: u32,
    /// Process id.
    pub pid: u32,
    /// What happened.
    pub kind: EventKind<'a>,
}

/// A record that does not decode as its type says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The record's type number.
    pub event_type: u16,
    /// What was wrong.
    pub what: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event type {}: {}", self.event_type, self.what)
    }
}

impl std::error::Error for DecodeError {}

struct Params<'r, 'a> {
    rec: &'r Record<'a>,
}

impl<'a> Params<'_, 'a> {
    fn err(&self, what: String) -> DecodeError {
        DecodeError {
            event_type: self.rec.event_type(),
            what,
        }
    }

    fn get(&self, i: usize) -> Result<Param<'a>, DecodeError> {
        self.rec
            .param(i)
            .ok_or_else(|| self.err(format!("missing parameter {i}")))
    }

    fn i64(&self, i: usize) -> Result<i64, DecodeError> {
        self.get(i)?
            .i64()
            .ok_or_else(|| self.err(format!("parameter {i} is not 8 bytes")))
    }

    fn u64(&self, i: usize) -> Result<u64, DecodeError> {
        self.i64(i).map(|v| v as u64)
    }

    fn u32(&self, i: usize) -> Result<u32, DecodeError> {
        self.get(i)?
            .u32()
            .ok_or_else(|| self.err(format!("parameter {i} is not 4 bytes")))
    }

    fn bytes(&self, i: usize) -> Result<Bytes<'a>, DecodeError> {
        self.get(i).map(Bytes::from)
    }
}

/// Lower-case name of an event type, as printed in JSON (`"openat"`).
pub fn type_name(ty: u16) -> &'static str {
    const NAMES: [(T, &str); 17] = [
        (T::KESTREL_EVT_PAD, "pad"),
        (T::KESTREL_EVT_LOST, "lost"),
        (T::KESTREL_EVT_GENERIC, "generic"),
        (T::KESTREL_EVT_EXECVE, "execve"),
        (T::KESTREL_EVT_EXECVEAT, "execveat"),
        (T::KESTREL_EVT_OPEN, "open"),
        (T::KESTREL_EVT_OPENAT, "openat"),
        (T::KESTREL_EVT_OPENAT2, "openat2"),
        (T::KESTREL_EVT_CONNECT, "connect"),
        (T::KESTREL_EVT_CLONE, "clone"),
        (T::KESTREL_EVT_FORK, "fork"),
        (T::KESTREL_EVT_VFORK, "vfork"),
        (T::KESTREL_EVT_PROC_EXIT, "proc_exit"),
        (T::KESTREL_EVT_PROC_FORK, "proc_fork"),
        (T::KESTREL_EVT_PROC_EXEC, "proc_exec"),
        (T::KESTREL_EVT_EXECVE_ENTER, "execve_enter"),
        (T::KESTREL_EVT_EXECVEAT_ENTER, "execveat_enter"),
    ];
    NAMES
        .iter()
        .find(|(t, _)| *t as u16 == ty)
        .map_or("unknown", |(_, n)| n)
}

/// Decodes one record.  Unknown types and malformed parameters are errors
/// (the caller reports them with the record's position and goes on).
pub fn decode<'a>(rec: &Record<'a>) -> Result<Event<'a>, DecodeError> {
    let p = Params { rec };
    let ty = rec.event_type();
    let is = |t: T| ty == t as u16;
    let kind = if is(T::KESTREL_EVT_OPEN) || is(T::KESTREL_EVT_OPENAT) || is(T::KESTREL_EVT_OPENAT2)
    {
        EventKind::Open {
            syscall: if is(T::KESTREL_EVT_OPEN) {
                OpenCall::Open
            } else if is(T::KESTREL_EVT_OPENAT) {
                OpenCall::Openat
            } else {
                OpenCall::Openat2
            },
            res: p.i64(0)?,
            dirfd: p.i64(1)?,
            path: p.bytes(2)?,
            flags: p.u64(3)?,
            mode: p.u64(4)?,
            resolve: p.u64(5)?,
        }
    } else if is(T::KESTREL_EVT_EXECVE) || is(T::KESTREL_EVT_EXECVEAT) {
        EventKind::Exec {
            at: is(T::KESTREL_EVT_EXECVEAT),
            res: p.i64(0)?,
            exe: p.bytes(1)?,
            argv: p.bytes(2)?,
            dirfd: p.i64(3)?,
            flags: p.u32(4)?,
        }
    } else if is(T::KESTREL_EVT_EXECVE_ENTER) || is(T::KESTREL_EVT_EXECVEAT_ENTER) {
        EventKind::ExecEnter {
            at: is(T::KESTREL_EVT_EXECVEAT_ENTER),
            path: p.bytes(0)?,
            argv: p.bytes(1)?,
        }
    } else if is(T::KESTREL_EVT_CONNECT) {
        let addr = p.get(2)?;
        EventKind::Connect {
            res: p.i64(0)?,
            fd: p.i64(1)?,
            addr: if addr.fault {
                SockAddr::Unreadable
            } else {
                SockAddr::parse(addr.bytes)
            },
        }
    } else if is(T::KESTREL_EVT_CLONE) || is(T::KESTREL_EVT_FORK) || is(T::KESTREL_EVT_VFORK) {
        EventKind::Clone {
            syscall: if is(T::KESTREL_EVT_CLONE) {
                CloneCall::Clone
            } else if is(T::KESTREL_EVT_FORK) {
                CloneCall::Fork
            } else {
                CloneCall::Vfork
            },
            res: p.i64(0)?,
            flags: p.u64(1)?,
        }
    } else if is(T::KESTREL_EVT_PROC_EXIT) {
        EventKind::ProcExit {
            exit_code: p.u32(0)?,
        }
    } else if is(T::KESTREL_EVT_PROC_FORK) {
        EventKind::ProcFork {
            child_tid: p.u32(0)?,
            child_pid: p.u32(1)?,
        }
    } else if is(T::KESTREL_EVT_PROC_EXEC) {
        EventKind::ProcExec {
            filename: p.bytes(0)?,
            old_tid: p.u32(1)?,
        }
    } else if is(T::KESTREL_EVT_GENERIC) {
        let raw = p.get(2)?;
        if raw.bytes.len() != 48 {
            return Err(p.err(format!(
                "generic arguments are {} bytes, not 48",
                raw.bytes.len()
            )));
        }
        let mut args = [0u64; 6];
        for (a, chunk) in args.iter_mut().zip(raw.bytes.chunks_exact(8)) {
            *a = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        EventKind::Generic {
            nr: p.u32(0)?,
            res: p.i64(1)?,
            args,
        }
    } else if is(T::KESTREL_EVT_LOST) {
        EventKind::Lost {
            seq: p.u64(0)?,
            ring_full: p.u64(1)?,
            too_large: p.u64(2)?,
            fault: p.u64(3)?,
        }
    } else {
        return Err(p.err("unknown event type".into()));
    };
    Ok(Event {
        ts_ns: rec.ts_ns(),
        tid: rec.tid(),
        pid: rec.pid(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordBuilder;
    use kestrel_abi::PARAM_TRUNCATED;

    fn ty(t: T) -> u16 {
        t as u16
    }

    #[test]
    fn decodes_openat() {
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_OPENAT), 5, 42, 41)
            .i64(3)
            .i64(-100)
            .param(b"/etc/shadow")
            .u64(0)
            .u64(0)
            .u64(0)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        assert_eq!((ev.tid, ev.pid, ev.ts_ns), (42, 41, 5));
        match ev.kind {
            EventKind::Open {
                syscall,
                res,
                dirfd,
                path,
                ..
            } => {
                assert_eq!(syscall, OpenCall::Openat);
                assert_eq!((res, dirfd), (3, -100));
                assert_eq!(path.bytes, b"/etc/shadow");
            }
            other => panic!("decoded as {other:?}"),
        }
    }

    #[test]
    fn decodes_execve_argv_with_truncation() {
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_EXECVE), 1, 1, 1)
            .i64(0)
            .param(b"/bin/busybox")
            .param_flags(b"sh\0-c\0echo h", PARAM_TRUNCATED)
            .i64(-100)
            .u32(0)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        let EventKind::Exec { argv, exe, .. } = ev.kind else {
            panic!("not exec");
        };
        assert_eq!(exe.bytes, b"/bin/busybox");
        assert!(argv.truncated);
        let args: Vec<&[u8]> = argv.split_nul().collect();
        assert_eq!(args, vec![&b"sh"[..], b"-c", b"echo h"]);
    }

    #[test]
    fn decodes_socket_addresses() {
        let mut v4 = vec![2u8, 0, 0x15, 0xb3, 127, 0, 0, 1];
        v4.extend_from_slice(&[0; 8]);
        assert_eq!(
            SockAddr::parse(&v4),
            SockAddr::Inet(Ipv4Addr::LOCALHOST, 5555)
        );
        let mut v6 = vec![10u8, 0, 0, 80, 0, 0, 0, 0];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        assert_eq!(
            SockAddr::parse(&v6),
            SockAddr::Inet6(Ipv6Addr::LOCALHOST, 80)
        );
        assert_eq!(
            SockAddr::parse(b"\x01\x00/run/x.sock\0junk"),
            SockAddr::Unix(b"/run/x.sock")
        );
        assert_eq!(SockAddr::parse(&[2, 0, 1]), SockAddr::Other(2));
        assert_eq!(SockAddr::parse(&[2]), SockAddr::Unreadable);
    }

    #[test]
    fn malformed_parameters_are_errors_not_panics() {
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_OPENAT), 1, 1, 1)
            .u32(3)
            .build();
        let err = decode(&Record::parse(&b).unwrap()).unwrap_err();
        assert!(err.what.contains("parameter 0"), "{err}");
        let b = RecordBuilder::new(999, 1, 1, 1).build();
        assert!(decode(&Record::parse(&b).unwrap()).is_err());
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_GENERIC), 1, 1, 1)
            .u32(39)
            .i64(0)
            .param(&[0; 47])
            .build();
        assert!(decode(&Record::parse(&b).unwrap()).is_err());
    }
}
