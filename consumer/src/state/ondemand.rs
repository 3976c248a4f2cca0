//! What the state reads from `/proc` only when a rule asks: capabilities
//! (`thread.cap_*`), the executable's inode (`proc.exe_ino*`,
//! `proc.is_exe_writable`) and an fd's device and inode (`fd.dev`,
//! `fd.ino`).  kestrel.ko does not record these; a live run reads them
//! from the thread while it still runs (events are matched milliseconds
//! after they happen).  Without a `/proc` root (replay) they are missing.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Capability names by bit, as Falco prints them.
const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Which capability set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapSet {
    /// `CapPrm`.
    Permitted,
    /// `CapEff`.
    Effective,
    /// `CapInh`.
    Inheritable,
}

/// A capability mask as Falco prints it: names separated by spaces, in
/// bit order (`CAP_CHOWN CAP_SYS_ADMIN`); unnamed bits as `CAP_<n>`.
pub fn cap_names(mask: u64) -> String {
    let mut out = String::new();
    for bit in 0..64 {
        if mask & (1 << bit) == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        match CAP_NAMES.get(bit) {
            Some(n) => out.push_str(n),
            None => out.push_str(&format!("CAP_{bit}")),
        }
    }
    out
}

/// One capability set of a thread, from `/proc/<pid>/task/<tid>/status`.
pub fn caps(proc_root: &Path, pid: u32, tid: u32, set: CapSet) -> Option<u64> {
    let text = std::fs::read_to_string(proc_root.join(format!("{pid}/task/{tid}/status")))
        .or_else(|_| std::fs::read_to_string(proc_root.join(format!("{tid}/status"))))
        .ok()?;
    parse_cap(&text, set)
}

/// The mask of `set` in a `status` file's text.
pub fn parse_cap(status: &str, set: CapSet) -> Option<u64> {
    let key = match set {
        CapSet::Permitted => "CapPrm:",
        CapSet::Effective => "CapEff:",
        CapSet::Inheritable => "CapInh:",
    };
    let line = status.lines().find(|l| l.starts_with(key))?;
    u64::from_str_radix(line[key.len()..].trim(), 16).ok()
}

/// What `stat` says about a file, in the units the fields use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// Device number (`st_dev`).
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Status change time, ns since the epoch.
    pub ctime_ns: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: u64,
    /// Mode bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

fn stat(path: &Path) -> Option<FileStat> {
    let m = std::fs::metadata(path).ok()?;
    let ns = |s: i64, n: i64| {
        u64::try_from(s)
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(u64::try_from(n).ok()?)
    };
    Some(FileStat {
        dev: m.dev(),
        ino: m.ino(),
        ctime_ns: ns(m.ctime(), m.ctime_nsec())?,
        mtime_ns: ns(m.mtime(), m.mtime_nsec())?,
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
    })
}

/// The process's executable (`/proc/<pid>/exe`, followed).
pub fn exe_stat(proc_root: &Path, pid: u32) -> Option<FileStat> {
    stat(&proc_root.join(format!("{pid}/exe")))
}

/// The file behind a process's fd (`/proc/<pid>/fd/<fd>`, followed).
pub fn fd_stat(proc_root: &Path, pid: u32, fd: i64) -> Option<FileStat> {
    stat(&proc_root.join(format!("{pid}/fd/{fd}")))
}

/// Whether a file with `st` is writable by a process with effective ids
/// `euid`/`egid` by its mode bits (root may write anything).
pub fn writable_by(st: &FileStat, euid: u32, egid: u32) -> bool {
    if euid == 0 {
        return true;
    }
    let bit = if st.uid == euid {
        0o200
    } else if st.gid == egid {
        0o020
    } else {
        0o002
    };
    st.mode & bit != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_print_as_falco_names_them() {
        assert_eq!(cap_names(0), "");
        assert_eq!(cap_names(1 << 21 | 1), "CAP_CHOWN CAP_SYS_ADMIN");
        assert_eq!(cap_names(1 << 50), "CAP_50");
        let status = "Name:\tsh\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t0000000000200000\n";
        assert_eq!(parse_cap(status, CapSet::Effective), Some(1 << 21));
        assert_eq!(parse_cap(status, CapSet::Inheritable), Some(0));
        assert_eq!(parse_cap(status, CapSet::Permitted), Some(0xa80425fb));
    }

    #[test]
    fn reads_this_process() {
        let root = Path::new("/proc");
        let me = std::process::id();
        assert!(caps(root, me, me, CapSet::Effective).is_some());
        let exe = exe_stat(root, me).unwrap();
        let direct = std::fs::metadata(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(exe.ino, direct.ino());
        assert!(exe.ctime_ns > 0);
        let st = FileStat {
            mode: 0o755,
            uid: 5,
            gid: 5,
            ..exe
        };
        assert!(writable_by(&st, 5, 9));
        assert!(!writable_by(&st, 6, 5));
        assert!(writable_by(&st, 0, 0));
    }
}
