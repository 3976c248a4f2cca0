//! File descriptors of one process: what each fd refers to (file,
//! directory, socket, pipe, ...), its name, flags and socket ends, and the
//! path resolution that makes every name absolute.
//!
//! The accessors follow the fields rules ask for: `fd.name`,
//! `fd.directory`, `fd.filename`, `fd.type`, `fd.typechar`, `fd.sip`,
//! `fd.sport`, `fd.cip`, `fd.cport`, `fd.lip`, `fd.lport`, `fd.rip`,
//! `fd.rport`, `fd.l4proto` and `fd.net`.

use super::idhash::IdMap;
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// Marks a name whose relative path could not be made absolute (the dirfd
/// or the working directory was unknown): `<unresolved>/rel/path`.  Never
/// a silently wrong path: a rule matching `/etc/...` does not match it.
pub const UNRESOLVED: &str = "<unresolved>";

/// `O_CLOEXEC` on x86_64.
pub const O_CLOEXEC: u32 = 0o2000000;
/// `O_DIRECTORY` on x86_64.
pub const O_DIRECTORY: u32 = 0o200000;
/// `AT_FDCWD`: the dirfd meaning "the working directory".
pub const AT_FDCWD: i64 = -100;

/// What an fd refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FdKind {
    /// A regular file (or device, fifo opened by path, ...).
    File,
    /// A directory.
    Directory,
    /// An AF_INET socket.
    Ipv4,
    /// An AF_INET6 socket.
    Ipv6,
    /// An AF_UNIX socket.
    Unix,
    /// A pipe end.
    Pipe,
    /// An eventfd.
    Event,
    /// A signalfd.
    Signalfd,
    /// An epoll instance.
    Eventpoll,
    /// An inotify instance.
    Inotify,
    /// A timerfd.
    Timerfd,
    /// An AF_NETLINK socket.
    Netlink,
    /// A memfd_create file.
    Memfd,
    /// A BPF map or program.
    Bpf,
    /// A userfaultfd.
    Userfaultfd,
    /// An io_uring instance.
    IoUring,
    /// A pidfd.
    Pidfd,
    /// Anything else (other socket families, unknown anon inodes).
    Unknown,
}

impl FdKind {
    /// `fd.type`: `file`, `directory`, `ipv4`, `ipv6`, `unix`, `pipe`,
    /// `event`, `signalfd`, `eventpoll`, `inotify`, `timerfd`, `netlink`,
    /// `memfd`, `bpf`, `userfaultfd`, `io_uring`, `pidfd` or `unknown`.
    pub fn type_name(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Event => "event",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Memfd => "memfd",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Pidfd => "pidfd",
            FdKind::Unknown => "unknown",
        }
    }

    /// `fd.typechar`: one character per kind (`f` file, `d` directory, `4`,
    /// `6`, `u` unix, `p` pipe, `e` event, `s` signalfd, `l` eventpoll, `i`
    /// inotify, `t` timerfd, `n` netlink, `m` memfd, `b` bpf, `r`
    /// io_uring, `o` unknown).
    pub fn type_char(self) -> char {
        match self {
            FdKind::File => 'f',
            FdKind::Directory => 'd',
            FdKind::Ipv4 => '4',
            FdKind::Ipv6 => '6',
            FdKind::Unix | FdKind::Userfaultfd => 'u',
            FdKind::Pipe => 'p',
            FdKind::Event => 'e',
            FdKind::Signalfd => 's',
            FdKind::Eventpoll => 'l',
            FdKind::Inotify => 'i',
            FdKind::Timerfd => 't',
            FdKind::Netlink => 'n',
            FdKind::Memfd => 'm',
            FdKind::Bpf => 'b',
            FdKind::IoUring => 'r',
            FdKind::Pidfd => 'P',
            FdKind::Unknown => 'o',
        }
    }

    /// The kind of a socket of this `socket(2)` domain.
    pub fn from_domain(domain: i64) -> FdKind {
        match domain as i32 {
            libc::AF_INET => FdKind::Ipv4,
            libc::AF_INET6 => FdKind::Ipv6,
            libc::AF_UNIX => FdKind::Unix,
            libc::AF_NETLINK => FdKind::Netlink,
            _ => FdKind::Unknown,
        }
    }

    /// True for the two IP socket kinds.
    pub fn is_inet(self) -> bool {
        matches!(self, FdKind::Ipv4 | FdKind::Ipv6)
    }
}

/// Layer-4 protocol of an IP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L4Proto {
    /// Not known (or not an IP socket).
    #[default]
    Unknown,
    /// SOCK_STREAM / IPPROTO_TCP.
    Tcp,
    /// SOCK_DGRAM / IPPROTO_UDP.
    Udp,
    /// IPPROTO_ICMP / ICMPV6.
    Icmp,
    /// Other SOCK_RAW sockets.
    Raw,
}

impl L4Proto {
    /// From `socket(2)`'s `type` (flags masked off) and `protocol`.
    pub fn from_socket(sock_type: i64, proto: i64) -> L4Proto {
        match (sock_type as i32 & 0xf, proto as i32) {
            (_, libc::IPPROTO_TCP) => L4Proto::Tcp,
            (_, libc::IPPROTO_UDP) => L4Proto::Udp,
            (_, libc::IPPROTO_ICMP) | (_, libc::IPPROTO_ICMPV6) => L4Proto::Icmp,
            (libc::SOCK_STREAM, _) => L4Proto::Tcp,
            (libc::SOCK_DGRAM, _) => L4Proto::Udp,
            (libc::SOCK_RAW, _) => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }

    /// `fd.l4proto`: `tcp`, `udp`, `icmp`, `raw`, or `<NA>` when unknown.
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Unknown => "<NA>",
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
            L4Proto::Raw => "raw",
        }
    }
}

/// Which end of a connection this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Not known yet (socket created, nothing else seen).
    #[default]
    Unknown,
    /// It connected: local is the client.
    Client,
    /// It bound or accepted: local is the server.
    Server,
}

/// The IP ends of a socket as far as they are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InetEnds {
    /// This process's end.
    pub local: Option<SocketAddr>,
    /// The peer.
    pub remote: Option<SocketAddr>,
    /// tcp, udp, ...
    pub proto: L4Proto,
    /// Client or server.
    pub role: Role,
}

impl InetEnds {
    fn client(&self) -> Option<SocketAddr> {
        match self.role {
            Role::Server => self.remote,
            _ => self.local,
        }
    }

    fn server(&self) -> Option<SocketAddr> {
        match self.role {
            Role::Server => self.local,
            _ => self.remote,
        }
    }
}

/// One open file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    /// What it refers to.
    pub kind: FdKind,
    /// Absolute path for files and directories (or [`UNRESOLVED`]-prefixed),
    /// the path of a unix socket, `pipe:[ino]`, `memfd:NAME`, or empty.
    pub path: Box<str>,
    /// `open(2)` flags as passed (O_CLOEXEC included when set).
    pub flags: u32,
    /// IP ends, for ipv4/ipv6 sockets.
    pub inet: Option<Box<InetEnds>>,
}

impl FdInfo {
    /// A file or directory at `path`.
    pub fn file(path: impl Into<Box<str>>, flags: u32, directory: bool) -> FdInfo {
        FdInfo {
            kind: if directory {
                FdKind::Directory
            } else {
                FdKind::File
            },
            path: path.into(),
            flags,
            inet: None,
        }
    }

    /// An fd of `kind` with `name` and no socket ends.
    pub fn other(kind: FdKind, name: impl Into<Box<str>>, flags: u32) -> FdInfo {
        FdInfo {
            kind,
            path: name.into(),
            flags,
            inet: if kind.is_inet() {
                Some(Box::default())
            } else {
                None
            },
        }
    }

    /// An IP socket with these ends.
    pub fn inet(kind: FdKind, ends: InetEnds, flags: u32) -> FdInfo {
        FdInfo {
            kind,
            path: "".into(),
            flags,
            inet: Some(Box::new(ends)),
        }
    }

    /// True when the close-on-exec flag is set.
    pub fn cloexec(&self) -> bool {
        self.flags & O_CLOEXEC != 0
    }

    /// `fd.name`: the path for files, `cip:cport->sip:sport` for connected
    /// IP sockets (the known end alone otherwise), the path of a unix
    /// socket, `pipe:[ino]`, ...
    pub fn name(&self) -> String {
        match &self.inet {
            Some(e) => {
                let fmt = |a: Option<SocketAddr>| a.map(|a| a.to_string());
                match (fmt(e.client()), fmt(e.server())) {
                    (Some(c), Some(s)) => format!("{c}->{s}"),
                    (Some(one), None) | (None, Some(one)) => one,
                    (None, None) => String::new(),
                }
            }
            None => self.path.to_string(),
        }
    }

    /// `fd.directory`: the directory holding a file, the directory itself
    /// for a directory fd; `None` for other kinds.
    pub fn directory(&self) -> Option<&str> {
        match self.kind {
            FdKind::Directory => Some(&self.path),
            FdKind::File => Some(split_dir_file(&self.path).0),
            _ => None,
        }
    }

    /// `fd.filename`: the file's name without its directory (files only).
    pub fn filename(&self) -> Option<&str> {
        match self.kind {
            FdKind::File => Some(split_dir_file(&self.path).1),
            _ => None,
        }
    }

    /// `fd.type`.
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// `fd.typechar`.
    pub fn type_char(&self) -> char {
        self.kind.type_char()
    }

    /// The IP ends, for ipv4/ipv6 sockets.
    pub fn ends(&self) -> Option<&InetEnds> {
        self.inet.as_deref()
    }

    /// `fd.cip`: the client's address.
    pub fn cip(&self) -> Option<IpAddr> {
        self.ends()?.client().map(|a| a.ip())
    }
    /// `fd.cport`: the client's port.
    pub fn cport(&self) -> Option<u16> {
        self.ends()?.client().map(|a| a.port())
    }
    /// `fd.sip`: the server's address.
    pub fn sip(&self) -> Option<IpAddr> {
        self.ends()?.server().map(|a| a.ip())
    }
    /// `fd.sport`: the server's port.
    pub fn sport(&self) -> Option<u16> {
        self.ends()?.server().map(|a| a.port())
    }
    /// `fd.lip`: this process's address.
    pub fn lip(&self) -> Option<IpAddr> {
        self.ends()?.local.map(|a| a.ip())
    }
    /// `fd.lport`: this process's port.
    pub fn lport(&self) -> Option<u16> {
        self.ends()?.local.map(|a| a.port())
    }
    /// `fd.rip`: the peer's address.
    pub fn rip(&self) -> Option<IpAddr> {
        self.ends()?.remote.map(|a| a.ip())
    }
    /// `fd.rport`: the peer's port.
    pub fn rport(&self) -> Option<u16> {
        self.ends()?.remote.map(|a| a.port())
    }
    /// `fd.l4proto`.
    pub fn l4proto(&self) -> &'static str {
        self.ends().map_or(L4Proto::Unknown, |e| e.proto).name()
    }

    /// `fd.net` (filter only): either end's address lies in `net`.
    pub fn in_net(&self, net: &IpNet) -> bool {
        self.ends().is_some_and(|e| {
            [e.local, e.remote]
                .iter()
                .flatten()
                .any(|a| net.contains(a.ip()))
        })
    }
}

/// An address range in CIDR form (`10.0.0.0/8`, `fd00::/8`), for `fd.net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// Base address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl IpNet {
    /// Parses `ADDR/LEN` or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not an IP network (ADDR/LEN)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.trim()
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("'{s}': prefix length must be 0..={max}"))?
        };
        Ok(IpNet { addr, prefix })
    }

    /// True when `ip` is in the range (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn split_dir_file(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// True when `path` holds `//` or `/.` (then it may not be normal).
///
/// Eight bytes at a time: `str::contains` with a two-byte needle sets up a
/// substring searcher per call, which cost more than the rest of an open.
fn has_slash_then_slash_or_dot(path: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // 0x80 in each byte of `v` that is zero, exactly (no carries between
    // bytes, unlike the shorter `(v - ONES) & !v` form).
    let zero_bytes = |v: u64| !(((v & LOW7) + LOW7) | v | LOW7);
    // 0x80 in byte 0 when the previous word ended with `/`.
    let mut carry = 0u64;
    let mut chunks = path.chunks_exact(8);
    let mut check = |word: [u8; 8]| {
        let w = u64::from_le_bytes(word);
        let slash = zero_bytes(w ^ (u64::from(b'/') * ONES));
        let dot = zero_bytes(w ^ (u64::from(b'.') * ONES));
        let bad = ((slash << 8) | carry) & (slash | dot);
        carry = slash >> 56;
        bad != 0
    };
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        if check(word) {
            return true;
        }
    }
    // The tail, padded with NULs (neither `/` nor `.`).
    let rest = chunks.remainder();
    let mut word = [0u8; 8];
    word[..rest.len()].copy_from_slice(rest);
    check(word)
}

/// Lexically normalizes an absolute path: collapses `//`, removes `.`,
/// applies `..` (never above `/`).  Symlinks are not followed: the kernel
/// resolved them, the path is what the process asked for.
pub fn normalize(abs: &str) -> String {
    normalized(abs).into_owned()
}

/// [`normalize`], borrowing `abs` when it is already normal (most paths:
/// no `//`, no `.` or `..` component, no trailing `/`).
pub fn normalized(abs: &str) -> Cow<'_, str> {
    let plain = abs.starts_with('/')
        && !has_slash_then_slash_or_dot(abs.as_bytes())
        && (abs.len() == 1 || !abs.ends_with('/'));
    if plain {
        return Cow::Borrowed(abs);
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in abs.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::with_capacity(abs.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Makes `raw` absolute: as is when it starts with `/`, else joined to
/// `base` (the dirfd's path or the working directory).  With no usable
/// base the result is `<unresolved>/raw`.
pub fn resolve(base: Option<&str>, raw: &str) -> String {
    if raw.starts_with('/') {
        return normalize(raw);
    }
    match base {
        Some(b) if b.starts_with('/') => {
            if raw.is_empty() {
                normalize(b)
            } else {
                normalize(&format!("{b}/{raw}"))
            }
        }
        _ => format!("{UNRESOLVED}/{raw}"),
    }
}

/// The fds of one process (shared by its threads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FdTable {
    fds: IdMap<i32, FdInfo>,
}

impl FdTable {
    /// An empty table.
    pub fn new() -> FdTable {
        FdTable::default()
    }

    /// The fd's entry.
    pub fn get(&self, fd: i64) -> Option<&FdInfo> {
        i32::try_from(fd).ok().and_then(|fd| self.fds.get(&fd))
    }

    /// The fd's entry, to update.
    pub fn get_mut(&mut self, fd: i64) -> Option<&mut FdInfo> {
        i32::try_from(fd).ok().and_then(|fd| self.fds.get_mut(&fd))
    }

    /// Records `fd` (replacing what it was: the kernel reuses numbers).
    /// Negative fds (errors) are ignored.
    pub fn insert(&mut self, fd: i64, info: FdInfo) {
        if let Ok(fd) = i32::try_from(fd) {
            if fd >= 0 {
                self.fds.insert(fd, info);
            }
        }
    }

    /// Forgets `fd`; returns what it was.
    pub fn close(&mut self, fd: i64) -> Option<FdInfo> {
        i32::try_from(fd).ok().and_then(|fd| self.fds.remove(&fd))
    }

    /// `newfd` becomes a copy of `oldfd` (dup, dup2, dup3, F_DUPFD*), with
    /// close-on-exec as given (dup'd fds never inherit it).  If `oldfd` is
    /// unknown, `newfd` is forgotten rather than left stale.
    pub fn dup(&mut self, oldfd: i64, newfd: i64, cloexec: bool) {
        if oldfd == newfd {
            return;
        }
        match self.get(oldfd).cloned() {
            Some(mut info) => {
                info.flags &= !O_CLOEXEC;
                if cloexec {
                    info.flags |= O_CLOEXEC;
                }
                self.insert(newfd, info);
            }
            None => {
                self.close(newfd);
            }
        }
    }

    /// Sets or clears close-on-exec (fcntl F_SETFD).
    pub fn set_cloexec(&mut self, fd: i64, on: bool) {
        if let Some(info) = self.get_mut(fd) {
            if on {
                info.flags |= O_CLOEXEC;
            } else {
                info.flags &= !O_CLOEXEC;
            }
        }
    }

    /// exec: closes every close-on-exec fd.
    pub fn close_on_exec(&mut self) {
        self.fds.retain(|_, info| !info.cloexec());
    }

    /// Number of fds.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// True when no fd is known.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// The fds in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &FdInfo)> {
        self.fds.iter().map(|(&fd, i)| (fd, i))
    }

    /// Heap bytes held (table slots plus names), for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.fds.capacity() * (std::mem::size_of::<(i32, FdInfo)>() + 1)
            + self
                .fds
                .values()
                .map(|i| {
                    i.path.len()
                        + i.inet
                            .as_ref()
                            .map_or(0, |_| std::mem::size_of::<InetEnds>())
                })
                .sum::<usize>()
    }
}

/// Classifies the target of a `/proc/PID/fd/N` symlink: `socket:[ino]`,
/// `pipe:[ino]`, `anon_inode:[eventfd]`, `/memfd:name (deleted)`, a path.
/// `is_dir` says whether the target is a directory (from a stat).
pub fn classify_proc_link(target: &str, is_dir: bool) -> FdInfo {
    if let Some(rest) = target.strip_prefix("anon_inode:") {
        let what = rest.trim_start_matches('[').trim_end_matches(']');
        let kind = match what {
            "eventfd" => FdKind::Event,
            "signalfd" => FdKind::Signalfd,
            "eventpoll" => FdKind::Eventpoll,
            "inotify" => FdKind::Inotify,
            "timerfd" => FdKind::Timerfd,
            "userfaultfd" => FdKind::Userfaultfd,
            "io_uring" => FdKind::IoUring,
            "pidfd" => FdKind::Pidfd,
            w if w.starts_with("bpf") => FdKind::Bpf,
            _ => FdKind::Unknown,
        };
        return FdInfo::other(kind, "", 0);
    }
    if target.starts_with("pipe:[") {
        return FdInfo::other(FdKind::Pipe, target, 0);
    }
    if target.starts_with("socket:[") {
        // The family needs /proc/net; the scan refines it when it can.
        return FdInfo::other(FdKind::Unknown, target, 0);
    }
    if let Some(name) = target.strip_prefix("/memfd:") {
        let name = name.strip_suffix(" (deleted)").unwrap_or(name);
        return FdInfo::other(FdKind::Memfd, format!("memfd:{name}"), 0);
    }
    FdInfo::file(target, 0, is_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::from(a), port))
    }

    #[test]
    fn finds_double_slashes_and_dot_components_anywhere() {
        // Against the plain two-needle search, at every offset and across
        // the 8-byte words.
        let mut cases = vec![String::new(), "/".into(), ".".into()];
        for pad in 0..20 {
            let a = "a".repeat(pad);
            for tail in ["//", "/.", "/x", "./", "x/", "/", ".", "/..", "a/b"] {
                cases.push(format!("{a}{tail}"));
                cases.push(format!("/{a}{tail}z"));
                cases.push(format!("{tail}{a}"));
            }
        }
        for c in &cases {
            let want = c.contains("//") || c.contains("/.");
            assert_eq!(has_slash_then_slash_or_dot(c.as_bytes()), want, "{c:?}");
        }
    }

    #[test]
    fn resolves_relative_paths_against_base_and_marks_unknown() {
        assert_eq!(resolve(Some("/home/u"), "a/../b/./c"), "/home/u/b/c");
        assert_eq!(resolve(Some("/"), "etc/shadow"), "/etc/shadow");
        assert_eq!(resolve(None, "/etc//shadow"), "/etc/shadow");
        assert_eq!(resolve(Some("/a"), "../../.."), "/");
        assert_eq!(resolve(None, "etc/shadow"), "<unresolved>/etc/shadow");
        assert_eq!(
            resolve(Some("<unresolved>/x"), "y"),
            "<unresolved>/y",
            "an unresolved base never yields a path that looks absolute"
        );
        assert_eq!(resolve(Some("/srv"), ""), "/srv");
        assert_eq!(normalize("/a/b/"), "/a/b");
        assert_eq!(normalize("/a/.hidden/./x"), "/a/.hidden/x");
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("/plain/path"), "/plain/path");
    }

    #[test]
    fn file_fields_split_directory_and_name() {
        let f = FdInfo::file("/etc/shadow", 0, false);
        assert_eq!(f.name(), "/etc/shadow");
        assert_eq!(f.directory(), Some("/etc"));
        assert_eq!(f.filename(), Some("shadow"));
        assert_eq!((f.type_name(), f.type_char()), ("file", 'f'));
        let root = FdInfo::file("/x", 0, false);
        assert_eq!(root.directory(), Some("/"));
        let d = FdInfo::file("/var/log", O_DIRECTORY, true);
        assert_eq!(d.directory(), Some("/var/log"));
        assert_eq!(d.filename(), None);
        assert_eq!(d.type_char(), 'd');
        assert_eq!(f.l4proto(), "<NA>");
        assert_eq!(f.sip(), None);
    }

    #[test]
    fn socket_ends_follow_the_role() {
        let client = FdInfo::inet(
            FdKind::Ipv4,
            InetEnds {
                local: Some(v4([10, 0, 0, 2], 40000)),
                remote: Some(v4([1, 2, 3, 4], 443)),
                proto: L4Proto::Tcp,
                role: Role::Client,
            },
            0,
        );
        assert_eq!(client.name(), "10.0.0.2:40000->1.2.3.4:443");
        assert_eq!(client.sip(), Some(IpAddr::from([1, 2, 3, 4])));
        assert_eq!(client.sport(), Some(443));
        assert_eq!(client.cport(), Some(40000));
        assert_eq!(client.lport(), Some(40000));
        assert_eq!(client.rport(), Some(443));
        assert_eq!(client.l4proto(), "tcp");
        let server = FdInfo::inet(
            FdKind::Ipv4,
            InetEnds {
                local: Some(v4([10, 0, 0, 2], 22)),
                remote: Some(v4([9, 9, 9, 9], 50000)),
                proto: L4Proto::Tcp,
                role: Role::Server,
            },
            0,
        );
        assert_eq!(server.name(), "9.9.9.9:50000->10.0.0.2:22");
        assert_eq!(server.sport(), Some(22));
        assert_eq!(server.cip(), Some(IpAddr::from([9, 9, 9, 9])));
        assert_eq!(server.lip(), Some(IpAddr::from([10, 0, 0, 2])));
        assert_eq!(server.rip(), Some(IpAddr::from([9, 9, 9, 9])));
        assert!(server.in_net(&IpNet::parse("9.0.0.0/8").unwrap()));
        assert!(!server.in_net(&IpNet::parse("192.168.0.0/16").unwrap()));
    }

    #[test]
    fn ipnet_parses_and_matches() {
        let n = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(n.contains(IpAddr::from([10, 1, 200, 3])));
        assert!(!n.contains(IpAddr::from([10, 2, 0, 1])));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains(IpAddr::from([8, 8, 8, 8])));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 1, 0, 1).to_ipv6_mapped());
        assert!(n.contains(mapped));
        let v6 = IpNet::parse("fd00::/8").unwrap();
        assert!(v6.contains(IpAddr::V6("fd12::1".parse::<Ipv6Addr>().unwrap())));
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("nonsense").is_err());
        assert_eq!(IpNet::parse("1.2.3.4").unwrap().prefix, 32);
    }

    #[test]
    fn table_dup_close_and_exec() {
        let mut t = FdTable::new();
        t.insert(3, FdInfo::file("/a", O_CLOEXEC, false));
        t.insert(4, FdInfo::file("/b", 0, false));
        t.insert(-2, FdInfo::file("/err", 0, false));
        assert_eq!(t.len(), 2);
        t.dup(3, 10, false);
        assert_eq!(t.get(10).unwrap().path.as_ref(), "/a");
        assert!(!t.get(10).unwrap().cloexec(), "dup clears close-on-exec");
        t.dup(4, 11, true);
        assert!(t.get(11).unwrap().cloexec());
        t.insert(12, FdInfo::file("/stale", 0, false));
        t.dup(99, 12, false);
        assert!(
            t.get(12).is_none(),
            "dup of an unknown fd forgets the target"
        );
        t.set_cloexec(4, true);
        t.close_on_exec();
        let mut left: Vec<i32> = t.iter().map(|(fd, _)| fd).collect();
        left.sort();
        assert_eq!(left, vec![10]);
        assert_eq!(t.close(10).unwrap().path.as_ref(), "/a");
        assert!(t.is_empty());
    }

    #[test]
    fn proc_fd_links_are_classified() {
        assert_eq!(classify_proc_link("pipe:[123]", false).kind, FdKind::Pipe);
        assert_eq!(
            classify_proc_link("anon_inode:[eventfd]", false).kind,
            FdKind::Event
        );
        assert_eq!(
            classify_proc_link("anon_inode:inotify", false).kind,
            FdKind::Inotify
        );
        assert_eq!(
            classify_proc_link("anon_inode:bpf-map", false).kind,
            FdKind::Bpf
        );
        let m = classify_proc_link("/memfd:jit (deleted)", false);
        assert_eq!((m.kind, m.path.as_ref()), (FdKind::Memfd, "memfd:jit"));
        assert_eq!(classify_proc_link("/tmp", true).kind, FdKind::Directory);
        assert_eq!(classify_proc_link("/tmp/x", false).kind, FdKind::File);
    }

    #[test]
    fn socket_kinds_and_protocols() {
        assert_eq!(FdKind::from_domain(libc::AF_INET6 as i64), FdKind::Ipv6);
        assert_eq!(FdKind::from_domain(libc::AF_UNIX as i64), FdKind::Unix);
        assert_eq!(
            L4Proto::from_socket((libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as i64, 0),
            L4Proto::Tcp
        );
        assert_eq!(
            L4Proto::from_socket(libc::SOCK_DGRAM as i64, 0),
            L4Proto::Udp
        );
        assert_eq!(
            L4Proto::from_socket(libc::SOCK_RAW as i64, libc::IPPROTO_ICMP as i64),
            L4Proto::Icmp
        );
    }
}
