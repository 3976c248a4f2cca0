//! Where each event type keeps the parameters the state reads, worked out
//! once per type from the ABI's event table (as the rule engine's slots
//! are), so that applying an event looks up no names; and the parameters
//! read as the handlers want them (text, argument lists, socket ends).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::OnceLock;

use crate::decode::{Event, SockAddr, SockTuple, Value};

/// Parameters the state reads, by name in the ABI's event table.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(super) enum P {
    Res,
    ChildTid,
    ChildPid,
    Flags,
    Filename,
    OldTid,
    Exe,
    Comm,
    Args,
    Cwd,
    Env,
    Uid,
    Gid,
    Euid,
    Egid,
    Loginuid,
    Tty,
    Cgroups,
    Pidns,
    Vpid,
    Vtid,
    Ptid,
    Fullpath,
    Name,
    Path,
    Dirfd,
    Domain,
    Type,
    Proto,
    Fd,
    Tuple,
    Addr,
    Fd1,
    Fd2,
    Cmd,
    Oldfd,
    Ruid,
    Rgid,
    Pid,
    Pgid,
}

const NAMES: [&str; 40] = [
    "res",
    "child_tid",
    "child_pid",
    "flags",
    "filename",
    "old_tid",
    "exe",
    "comm",
    "args",
    "cwd",
    "env",
    "uid",
    "gid",
    "euid",
    "egid",
    "loginuid",
    "tty",
    "cgroups",
    "pidns",
    "vpid",
    "vtid",
    "ptid",
    "fullpath",
    "name",
    "path",
    "dirfd",
    "domain",
    "type",
    "proto",
    "fd",
    "tuple",
    "addr",
    "fd1",
    "fd2",
    "cmd",
    "oldfd",
    "ruid",
    "rgid",
    "pid",
    "pgid",
];

const NO_SLOT: u8 = u8::MAX;

type Slots = [u8; NAMES.len()];

/// The slots of event type `event_type`'s parameters.
fn slots(event_type: u16) -> &'static Slots {
    static NONE: Slots = [NO_SLOT; NAMES.len()];
    static TABLE: OnceLock<Vec<Slots>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let schemas = kestrel_abi::schemas();
        let max = schemas.iter().map(|s| s.event_type).max().unwrap_or(0);
        let mut t = vec![NONE; usize::from(max) + 1];
        for s in schemas {
            for (k, name) in NAMES.iter().enumerate() {
                if let Some(i) = s.param_index(name) {
                    t[usize::from(s.event_type)][k] = u8::try_from(i).unwrap_or(NO_SLOT);
                }
            }
        }
        t
    });
    table.get(usize::from(event_type)).unwrap_or(&NONE)
}

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

fn endpoint(a: &SockAddr<'_>) -> Endpoint {
    match a {
        SockAddr::Inet(ip, port) => Endpoint::Inet((*ip, *port).into()),
        SockAddr::Inet6(ip, port) => Endpoint::Inet((*ip, *port).into()),
        SockAddr::Unix(p) => Endpoint::Unix(String::from_utf8_lossy(p).into_owned()),
        _ => Endpoint::Other,
    }
}

/// `bytes` as text when every byte is ASCII (paths and names nearly
/// always are), checked eight bytes at a time: cheaper than the general
/// UTF-8 check for the short strings events carry.
fn ascii(bytes: &[u8]) -> Option<&str> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut seen = 0u64;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        seen |= u64::from_le_bytes(word);
    }
    for &b in chunks.remainder() {
        seen |= u64::from(b);
    }
    if seen & HIGH != 0 {
        return None;
    }
    // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// An event's parameters as the state reads them: absent and faulted
/// ones are `None`.
pub(super) struct Params<'e, 'a> {
    ev: &'e Event<'a>,
    slots: &'static Slots,
}

impl<'e, 'a> Params<'e, 'a> {
    /// The parameters of `ev`.
    pub(super) fn of(ev: &'e Event<'a>) -> Self {
        Params {
            ev,
            slots: slots(ev.event_type()),
        }
    }

    #[inline]
    fn value(&self, p: P) -> Option<&'e Value<'a>> {
        match self.slots[p as usize] {
            NO_SLOT => None,
            i => self.ev.param_at(usize::from(i)),
        }
    }

    /// A numeric parameter.
    pub(super) fn int(&self, p: P) -> Option<i64> {
        match self.value(p)? {
            Value::Int(v) => Some(*v),
            Value::Uint(v) => Some(*v as i64),
            _ => None,
        }
    }

    /// A text parameter (lossy UTF-8).
    pub(super) fn text(&self, p: P) -> Option<Cow<'e, str>> {
        match self.value(p)? {
            Value::Str(b) | Value::Bytes(b) if !b.fault => Some(match ascii(b.bytes) {
                Some(s) => Cow::Borrowed(s),
                None => b.lossy(),
            }),
            _ => None,
        }
    }

    /// A NUL-separated list parameter.
    pub(super) fn list(&self, p: P) -> Option<Vec<String>> {
        match self.value(p)? {
            Value::Argv(b) if !b.fault => Some(
                b.split_nul()
                    .map(|a| match ascii(a) {
                        Some(s) => s.to_owned(),
                        None => String::from_utf8_lossy(a).into_owned(),
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// A socket address parameter.
    pub(super) fn addr(&self, p: P) -> Option<Endpoint> {
        match self.value(p)? {
            Value::SockAddr(a) => Some(endpoint(a)),
            _ => None,
        }
    }

    /// A socket tuple parameter: (local, remote).
    pub(super) fn tuple(&self, p: P) -> Option<(Endpoint, Endpoint)> {
        let Value::Tuple(t) = self.value(p)? else {
            return None;
        };
        match t.get() {
            SockTuple::Inet { local, remote } => {
                Some((Endpoint::Inet(local), Endpoint::Inet(remote)))
            }
            SockTuple::Unix(p) => Some((
                Endpoint::Other,
                Endpoint::Unix(String::from_utf8_lossy(p).into_owned()),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every parameter name the state reads is one the ABI's event table
    /// has for some event (a renamed parameter would read as absent).
    #[test]
    fn every_parameter_read_exists_in_the_event_table() {
        for name in super::NAMES {
            assert!(
                kestrel_abi::schemas()
                    .iter()
                    .any(|s| s.param_index(name).is_some()),
                "{name}"
            );
        }
    }

    #[test]
    fn ascii_text_is_borrowed_and_anything_else_goes_through_utf8() {
        for pad in 0..20 {
            let a = "p".repeat(pad);
            let plain = format!("/{a}x");
            assert_eq!(super::ascii(plain.as_bytes()), Some(plain.as_str()));
            // A non-ASCII byte at every offset, in a word or the tail.
            let mut high = plain.clone().into_bytes();
            high[pad] = 0xc3;
            assert_eq!(super::ascii(&high), None, "{high:?}");
        }
        assert_eq!(super::ascii(b""), Some(""));
        assert_eq!(super::ascii("/tmp/é".as_bytes()), None);
    }

    use crate::decode::decode;
    use crate::record::{Record, RecordBuilder};
    use crate::state::{State, StateOptions};
    use kestrel_abi::EventType as T;

    fn apply(state: &mut State, b: Vec<u8>) {
        let rec = Record::parse(&b).unwrap();
        state.apply(&decode(&rec).unwrap());
    }

    #[test]
    fn records_from_the_module_drive_the_state() {
        let mut s = State::new(StateOptions {
            proc_root: None,
            ..StateOptions::default()
        });
        // Nothing known and no /proc: the fork itself enters the parent
        // (its ids only) and links the child to it.
        apply(
            &mut s,
            RecordBuilder::new(T::KESTREL_EVT_PROC_FORK as u16, 1, 10, 10)
                .u32(11)
                .u32(11)
                .build(),
        );
        let child = s.process(11).expect("the child of a fork");
        assert_eq!((child.pid, child.ppid), (11, 10));
        assert_eq!(s.parent(child).unwrap().pid, 10);
        assert_eq!(s.container_id(11), None, "its cgroup is unknown");
        assert!(s.stats().lazy_failed >= 1);
        assert_eq!(s.table().stats.from_events, 1);
        // execve exit with every parameter the header lists, in its order.
        let exec = |tid: u32, exe: &[u8], args: &[u8], comm: &[u8], cg: &[u8]| {
            RecordBuilder::new(T::KESTREL_EVT_EXECVE as u16, 2, tid, tid)
                .i64(0)
                .param(exe)
                .param(args)
                .param(b"/work")
                .u32(1000) // uid
                .u32(1000) // gid
                .u32(0) // euid
                .u32(0) // egid
                .u32(1000) // loginuid
                .u32(34816) // tty
                .param(cg)
                .u32(4026531836) // pidns
                .u32(tid) // vpid
                .u32(tid) // vtid
                .u32(1) // ptid
                .param(b"HOME=/root\0")
                .param(comm)
                .build()
        };
        let mut st = State::new(StateOptions {
            proc_root: None,
            ..StateOptions::default()
        });
        // Seed one known process through the internal API.
        let mut init = crate::state::threads::Process {
            pid: 10,
            vpid: 10,
            comm: "bash".into(),
            cwd: "/".into(),
            ..Default::default()
        };
        init.set_cmdline(&["bash"]);
        assert!(st.insert_process(init, &[(10, 10)]));
        apply(
            &mut st,
            RecordBuilder::new(T::KESTREL_EVT_PROC_FORK as u16, 1, 10, 10)
                .u32(11)
                .u32(11)
                .build(),
        );
        apply(
            &mut st,
            exec(
                11,
                b"/usr/bin/sudo",
                b"sudo\0-i\0",
                b"sudo",
                b"/user.slice/user-1000.slice/session-2.scope",
            ),
        );
        let p = st.process(11).unwrap();
        assert_eq!(p.name(), "sudo");
        assert_eq!(p.exepath.as_ref(), "/usr/bin/sudo");
        assert_eq!(p.cmdline_line(), "sudo -i");
        assert_eq!(p.cwd.as_ref(), "/work");
        assert_eq!(p.env_var("HOME"), Some("/root"));
        assert_eq!(
            (p.creds.uid, p.creds.euid, p.creds.loginuid),
            (1000, 0, 1000)
        );
        assert_eq!((p.tty, p.pidns, p.vpid), (34816, 4026531836, 11));
        assert_eq!(
            p.cgroup.as_ref(),
            "/user.slice/user-1000.slice/session-2.scope"
        );
        assert_eq!(st.container_id(11), Some("host"));
        assert_eq!(st.parent(p).unwrap().name(), "bash");
        // openat with a relative name: the kernel's fullpath is used.
        apply(
            &mut st,
            RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, 3, 11, 11)
                .i64(4)
                .i64(-100)
                .param(b"shadow")
                .u32(0)
                .u32(0)
                .param(b"/etc/shadow")
                .build(),
        );
        assert_eq!(st.fd(11, 4).unwrap().name(), "/etc/shadow");
        // close, then the thread exits.
        apply(
            &mut st,
            RecordBuilder::new(T::KESTREL_EVT_CLOSE as u16, 4, 11, 11)
                .i64(0)
                .i64(4)
                .build(),
        );
        st.flush_pending();
        assert!(st.fd(11, 4).is_none());
        apply(
            &mut st,
            RecordBuilder::new(T::KESTREL_EVT_PROC_EXIT as u16, 5, 11, 11)
                .u32(0)
                .build(),
        );
        st.flush_pending();
        assert!(st.process(11).is_none());
        assert_eq!(st.stats().events, 5);

        // A replayed capture: an exec by a thread nobody knows builds the
        // process from the record, its parent from `ptid`; a later event
        // of another unknown thread gets its ids only.
        let mut r = State::new(StateOptions::for_replay(None));
        apply(
            &mut r,
            exec(301, b"/usr/bin/cat", b"cat\0/etc/shadow\0", b"cat", b"/"),
        );
        let p = r.process(301).expect("built from the exec record");
        assert_eq!(
            (p.name(), p.cmdline_line().as_str()),
            ("cat", "cat /etc/shadow")
        );
        assert_eq!((p.ppid, p.vpid, p.creds.euid), (1, 301, 0));
        assert_eq!(p.env_var("HOME"), Some("/root"));
        assert_eq!(
            r.container_id(301),
            Some("host"),
            "the record named its cgroup"
        );
        assert_eq!(r.thread(301).unwrap().vtid, 301);
        apply(
            &mut r,
            RecordBuilder::new(T::KESTREL_EVT_CLOSE as u16, 4, 402, 400)
                .i64(0)
                .i64(4)
                .build(),
        );
        let q = r.process(402).expect("a minimal entry");
        assert_eq!((q.pid, q.name()), (400, ""));
        assert_eq!(r.table().stats.from_events, 2);
    }
}
