//! Symbolic rendering of integer parameters (`O_RDONLY|O_CLOEXEC`), chosen
//! by each parameter's [`ParamFormat`] in the ABI's event table.

use kestrel_abi::ParamFormat;

/// `name|name|0x..` for the bits of `v` found in `table`, the rest in hex.
fn bits(v: u64, table: &[(u64, &str)]) -> String {
    let mut out = String::new();
    let mut rest = v;
    for &(bit, name) in table {
        if bit != 0 && rest & bit == bit {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(name);
            rest &= !bit;
        }
    }
    if rest != 0 || out.is_empty() {
        if !out.is_empty() {
            out.push('|');
        }
        out.push_str(&format!("{rest:#x}"));
    }
    out
}

fn name_of(v: i64, table: &[(i64, &str)]) -> Option<String> {
    table
        .iter()
        .find(|(n, _)| *n == v)
        .map(|(_, s)| (*s).to_string())
}

macro_rules! table {
    ($ty:ty; $($name:ident),* $(,)?) => {
        &[$((libc::$name as $ty, stringify!($name))),*]
    };
}

fn open_flags(v: u64) -> String {
    let access = match v & libc::O_ACCMODE as u64 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let rest = v & !(libc::O_ACCMODE as u64);
    // O_TMPFILE includes O_DIRECTORY and O_SYNC includes O_DSYNC: the wider
    // come first, so the narrower is not shown again.
    let table: &[(u64, &str)] = table!(u64; O_TMPFILE, O_SYNC, O_CREAT, O_EXCL, O_NOCTTY,
        O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_ASYNC, O_DIRECT, O_LARGEFILE, O_DIRECTORY,
        O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH);
    if rest == 0 {
        access.to_string()
    } else {
        format!("{access}|{}", bits(rest, table))
    }
}

const CLONE_FLAGS: &[(u64, &str)] = table!(u64; CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND,
    CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT, CLONE_THREAD, CLONE_NEWNS,
    CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_DETACHED,
    CLONE_UNTRACED, CLONE_CHILD_SETTID, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_IO);

const NS_FLAGS: &[(u64, &str)] = table!(u64; CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS,
    CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_FILES, CLONE_FS,
    CLONE_SYSVSEM);

const PROT_FLAGS: &[(u64, &str)] = table!(u64; PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN,
    PROT_GROWSUP);

const MMAP_FLAGS: &[(u64, &str)] = table!(u64; MAP_SHARED, MAP_PRIVATE, MAP_FIXED,
    MAP_ANONYMOUS, MAP_32BIT, MAP_GROWSDOWN, MAP_DENYWRITE, MAP_EXECUTABLE, MAP_LOCKED,
    MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB, MAP_FIXED_NOREPLACE);

const AT_FLAGS: &[(u64, &str)] = table!(u64; AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR,
    AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH, AT_RECURSIVE);

const FAMILIES: &[(i64, &str)] = table!(i64; AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6,
    AF_NETLINK, AF_PACKET, AF_BLUETOOTH, AF_VSOCK, AF_ALG, AF_XDP, AF_CAN);

const SOCK_TYPES: &[(i64, &str)] = table!(i64; SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM,
    SOCK_SEQPACKET);

const SIGNALS: &[(i64, &str)] = table!(i64; SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT,
    SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT,
    SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ,
    SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS);

const FCNTL_CMDS: &[(i64, &str)] = table!(i64; F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD,
    F_GETFL, F_SETFL);

const PTRACE_REQUESTS: &[(i64, &str)] = table!(i64; PTRACE_TRACEME, PTRACE_PEEKTEXT,
    PTRACE_PEEKDATA, PTRACE_PEEKUSER, PTRACE_POKETEXT, PTRACE_POKEDATA, PTRACE_POKEUSER,
    PTRACE_CONT, PTRACE_KILL, PTRACE_SINGLESTEP, PTRACE_GETREGS, PTRACE_SETREGS,
    PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SYSCALL, PTRACE_SETOPTIONS, PTRACE_GETEVENTMSG,
    PTRACE_GETSIGINFO, PTRACE_SETSIGINFO, PTRACE_GETREGSET, PTRACE_SETREGSET, PTRACE_SEIZE,
    PTRACE_INTERRUPT, PTRACE_LISTEN);

/// The symbolic form of `value` under `format`, or None when the format has
/// none (`NONE`) or the value has no name (an unknown signal number).
pub fn render(format: ParamFormat, value: i64) -> Option<String> {
    let u = value as u64;
    match format {
        ParamFormat::None => None,
        ParamFormat::Open => Some(open_flags(u)),
        ParamFormat::Mode if u & 0o7777 == 0 => None,
        ParamFormat::Mode => Some(format!("{:#o}", u & 0o7777)),
        ParamFormat::Clone => Some(bits(u, CLONE_FLAGS)),
        ParamFormat::Ns => Some(bits(u, NS_FLAGS)),
        ParamFormat::Prot if u == 0 => Some("PROT_NONE".into()),
        ParamFormat::Prot => Some(bits(u, PROT_FLAGS)),
        ParamFormat::Mmap => Some(bits(u, MMAP_FLAGS)),
        ParamFormat::At if u == 0 => None,
        ParamFormat::At => Some(bits(u, AT_FLAGS)),
        ParamFormat::Family => name_of(value, FAMILIES),
        ParamFormat::Socktype => {
            let flags = u & (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64;
            let base = name_of(value & 0xf, SOCK_TYPES)?;
            let extra: &[(u64, &str)] = table!(u64; SOCK_NONBLOCK, SOCK_CLOEXEC);
            Some(if flags == 0 {
                base
            } else {
                format!("{base}|{}", bits(flags, extra))
            })
        }
        ParamFormat::Signal => name_of(value, SIGNALS),
        ParamFormat::Fcntl => name_of(value, FCNTL_CMDS),
        ParamFormat::Ptrace => name_of(value, PTRACE_REQUESTS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_open_flags() {
        assert_eq!(
            render(ParamFormat::Open, libc::O_CLOEXEC as i64).unwrap(),
            "O_RDONLY|O_CLOEXEC"
        );
        let creat = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as i64;
        assert_eq!(
            render(ParamFormat::Open, creat).unwrap(),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(render(ParamFormat::Open, 0).unwrap(), "O_RDONLY");
        let tmp = (libc::O_RDWR | libc::O_TMPFILE) as i64;
        assert_eq!(render(ParamFormat::Open, tmp).unwrap(), "O_RDWR|O_TMPFILE");
        // unknown bits stay visible
        assert_eq!(
            render(ParamFormat::Open, 1 << 30).unwrap(),
            "O_RDONLY|0x40000000"
        );
    }

    #[test]
    fn renders_other_formats() {
        assert_eq!(render(ParamFormat::Mode, 0o100644).unwrap(), "0o644");
        let clone = (libc::CLONE_VM | libc::CLONE_THREAD) as i64;
        assert_eq!(
            render(ParamFormat::Clone, clone).unwrap(),
            "CLONE_VM|CLONE_THREAD"
        );
        assert_eq!(
            render(ParamFormat::Ns, libc::CLONE_NEWNET as i64).unwrap(),
            "CLONE_NEWNET"
        );
        let prot = (libc::PROT_READ | libc::PROT_EXEC) as i64;
        assert_eq!(
            render(ParamFormat::Prot, prot).unwrap(),
            "PROT_READ|PROT_EXEC"
        );
        assert_eq!(render(ParamFormat::Prot, 0).unwrap(), "PROT_NONE");
        assert_eq!(render(ParamFormat::Family, 10).unwrap(), "AF_INET6");
        let st = (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as i64;
        assert_eq!(
            render(ParamFormat::Socktype, st).unwrap(),
            "SOCK_STREAM|SOCK_CLOEXEC"
        );
        assert_eq!(render(ParamFormat::Signal, 9).unwrap(), "SIGKILL");
        assert_eq!(render(ParamFormat::Signal, 1000), None);
        assert_eq!(render(ParamFormat::Fcntl, 1030).unwrap(), "F_DUPFD_CLOEXEC");
        assert_eq!(render(ParamFormat::Ptrace, 16).unwrap(), "PTRACE_ATTACH");
        assert_eq!(render(ParamFormat::At, 0), None);
        assert_eq!(render(ParamFormat::None, 5), None);
    }
}
