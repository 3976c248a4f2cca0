//! Reading processes from a `/proc` tree (its root is configurable, so the
//! consumer can run in a container with the host's /proc mounted
//! elsewhere): `status`, `stat`, `cmdline`, `exe`, `cwd`, `cgroup`,
//! `loginuid`, `ns/pid`, `task/`, `fd/` and, for sockets, `net/*`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::container::main_cgroup_path;
use super::fds::{classify_proc_link, FdInfo, FdKind, InetEnds, L4Proto, Role};
use super::threads::{Credentials, Process, MAX_ENV_BYTES, UNKNOWN_ID};

/// Most fds read per process in a scan.
pub const MAX_FDS_PER_PROCESS: usize = 4096;
/// Most threads read per process.
pub const MAX_THREADS_PER_PROCESS: usize = 65_536;

/// One process as /proc shows it.
#[derive(Debug, Clone)]
pub struct ProcSnapshot {
    /// Its fields (no container yet: the caller resolves the cgroup).
    pub process: Process,
    /// Its threads: (tid, tid in its pid namespace).
    pub threads: Vec<(u32, u32)>,
    /// The whole `cgroup` file.
    pub cgroup_text: String,
}

fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf only reads a system constant; no memory is passed.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// The fields of a `status` file this table uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `Name`.
    pub name: String,
    /// `Tgid`.
    pub tgid: u32,
    /// `PPid`.
    pub ppid: u32,
    /// `Uid`: real, effective.
    pub uid: (u32, u32),
    /// `Gid`: real, effective.
    pub gid: (u32, u32),
    /// Innermost `NStgid`.
    pub vpid: Option<u32>,
    /// Innermost `NSpid`.
    pub vtid: Option<u32>,
    /// Innermost `NSpgid`.
    pub vpgid: Option<u32>,
}

/// Parses a `status` file.
pub fn parse_status(text: &str) -> Status {
    let mut s = Status {
        uid: (UNKNOWN_ID, UNKNOWN_ID),
        gid: (UNKNOWN_ID, UNKNOWN_ID),
        ..Status::default()
    };
    let last = |v: &str| v.split_whitespace().last().and_then(|x| x.parse().ok());
    let two = |v: &str| {
        let mut it = v
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(UNKNOWN_ID));
        (
            it.next().unwrap_or(UNKNOWN_ID),
            it.next().unwrap_or(UNKNOWN_ID),
        )
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Name" => s.name = v.to_string(),
            "Tgid" => s.tgid = v.parse().unwrap_or(0),
            "PPid" => s.ppid = v.parse().unwrap_or(0),
            "Uid" => s.uid = two(v),
            "Gid" => s.gid = two(v),
            "NStgid" => s.vpid = last(v),
            "NSpid" => s.vtid = last(v),
            "NSpgid" => s.vpgid = last(v),
            _ => {}
        }
    }
    s
}

/// The fields of a `stat` file this table uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stat {
    /// Parent pid.
    pub ppid: u32,
    /// Process group.
    pub pgrp: u32,
    /// Session.
    pub session: u32,
    /// Controlling terminal.
    pub tty_nr: u32,
    /// Start time in clock ticks since boot.
    pub starttime: u64,
}

/// Parses a `stat` file (the name in parentheses may hold anything, so
/// fields are counted from the last `)`).
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.len() < 20 {
        return None;
    }
    Some(Stat {
        ppid: f[1].parse().ok()?,
        pgrp: f[2].parse().ok()?,
        session: f[3].parse().ok()?,
        tty_nr: f[4].parse::<i64>().ok()? as u32,
        starttime: f[19].parse().ok()?,
    })
}

/// The inode in a namespace link (`pid:[4026531836]`).
pub fn ns_inode(link: &str) -> Option<u64> {
    link.split_once(":[")?.1.strip_suffix(']')?.parse().ok()
}

fn read_text(p: &Path) -> io::Result<String> {
    fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn read_link_text(p: &Path) -> Option<String> {
    fs::read_link(p)
        .ok()
        .map(|t| t.to_string_lossy().into_owned())
}

/// `environ`: NUL-separated entries, at most [`MAX_ENV_BYTES`] (an entry
/// cut there is dropped); empty when unreadable (another user's process).
fn read_environ(p: &Path) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    let Ok(f) = fs::File::open(p) else {
        return String::new();
    };
    if f.take(MAX_ENV_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .is_err()
    {
        return String::new();
    }
    if buf.len() > MAX_ENV_BYTES {
        buf.truncate(MAX_ENV_BYTES);
        let keep = buf.iter().rposition(|&b| b == 0).unwrap_or(0);
        buf.truncate(keep);
    }
    let text = String::from_utf8_lossy(buf.strip_suffix(b"\0").unwrap_or(&buf));
    text.into_owned()
}

/// Numeric entries of a directory (pids in /proc, tids in task/).
pub fn numeric_entries(dir: &Path, limit: usize) -> io::Result<Vec<u32>> {
    let mut out: Vec<u32> = fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .take(limit)
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Reads process `pid` (its leader's view; threads listed from `task/`).
pub fn read_process(proc_root: &Path, pid: u32) -> io::Result<ProcSnapshot> {
    let dir = proc_root.join(pid.to_string());
    let status = parse_status(&read_text(&dir.join("status"))?);
    let stat = parse_stat(&read_text(&dir.join("stat"))?).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: unreadable stat", dir.join("stat").display()),
        )
    })?;
    let cmdline = fs::read(dir.join("cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(cmdline.strip_suffix(b"\0").unwrap_or(&cmdline));
    let exepath = read_link_text(&dir.join("exe")).unwrap_or_default();
    let exepath = exepath
        .strip_suffix(" (deleted)")
        .unwrap_or(&exepath)
        .to_string();
    let cwd = read_link_text(&dir.join("cwd")).unwrap_or_default();
    let env = read_environ(&dir.join("environ"));
    let loginuid = read_text(&dir.join("loginuid"))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .unwrap_or(UNKNOWN_ID);
    let cgroup_text = read_text(&dir.join("cgroup")).unwrap_or_default();
    let pidns = read_link_text(&dir.join("ns/pid"))
        .and_then(|l| ns_inode(&l))
        .unwrap_or(0);
    let vpid = status.vpid.unwrap_or(0);
    let tids = numeric_entries(&dir.join("task"), MAX_THREADS_PER_PROCESS).unwrap_or_default();
    let mut threads: Vec<(u32, u32)> = Vec::with_capacity(tids.len().max(1));
    for tid in tids {
        let vtid = if tid == pid {
            vpid
        } else if vpid == pid {
            tid // the initial namespace: ids are the same
        } else {
            read_text(&dir.join(format!("task/{tid}/status")))
                .ok()
                .and_then(|t| parse_status(&t).vtid)
                .unwrap_or(0)
        };
        threads.push((tid, vtid));
    }
    if threads.is_empty() {
        threads.push((pid, vpid));
    }
    let ticks = clock_ticks_per_sec();
    let process = Process {
        pid,
        ppid: status.ppid.max(stat.ppid),
        vpid,
        pgid: stat.pgrp,
        vpgid: status.vpgid.unwrap_or(0),
        sid: stat.session,
        comm: status.name.into(),
        exepath: exepath.into(),
        cmdline: cmdline.into_owned().into(),
        cwd: cwd.into(),
        env: env.into(),
        creds: Credentials {
            uid: status.uid.0,
            euid: status.uid.1,
            gid: status.gid.0,
            egid: status.gid.1,
            loginuid,
        },
        tty: stat.tty_nr,
        start_ns: stat.starttime.saturating_mul(1_000_000_000 / ticks.max(1)),
        cgroup: main_cgroup_path(&cgroup_text).into(),
        pidns,
        ..Process::default()
    };
    Ok(ProcSnapshot {
        process,
        threads,
        cgroup_text,
    })
}

/// Socket inode → what the process's network namespace says about it.
#[derive(Debug, Default)]
pub struct SocketIndex {
    by_inode: HashMap<u64, FdInfo>,
}

fn parse_hex_addr(s: &str) -> Option<SocketAddr> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(a, 16).ok()?.swap_bytes(),
        )),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_exact_mut(4).enumerate() {
                let w = u32::from_str_radix(&a[i * 8..i * 8 + 8], 16).ok()?;
                chunk.copy_from_slice(&w.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

impl SocketIndex {
    /// Reads `net/{tcp,tcp6,udp,udp6,raw,raw6,unix}` under `net_dir`.
    pub fn read(net_dir: &Path) -> SocketIndex {
        let mut idx = SocketIndex::default();
        for (file, kind, proto) in [
            ("tcp", FdKind::Ipv4, L4Proto::Tcp),
            ("tcp6", FdKind::Ipv6, L4Proto::Tcp),
            ("udp", FdKind::Ipv4, L4Proto::Udp),
            ("udp6", FdKind::Ipv6, L4Proto::Udp),
            ("raw", FdKind::Ipv4, L4Proto::Raw),
            ("raw6", FdKind::Ipv6, L4Proto::Raw),
        ] {
            let Ok(text) = read_text(&net_dir.join(file)) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 10 {
                    continue;
                }
                let (Some(local), Some(remote), Ok(inode)) = (
                    parse_hex_addr(f[1]),
                    parse_hex_addr(f[2]),
                    f[9].parse::<u64>(),
                ) else {
                    continue;
                };
                let listening = proto == L4Proto::Tcp && f[3] == "0A";
                let ends = InetEnds {
                    local: Some(local),
                    remote: (!remote.ip().is_unspecified() || remote.port() != 0).then_some(remote),
                    proto,
                    role: if listening {
                        Role::Server
                    } else {
                        Role::Unknown
                    },
                };
                idx.by_inode.insert(inode, FdInfo::inet(kind, ends, 0));
            }
        }
        if let Ok(text) = read_text(&net_dir.join("unix")) {
            for line in text.lines().skip(1) {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 7 {
                    continue;
                }
                if let Ok(inode) = f[6].parse::<u64>() {
                    let path = f.get(7).copied().unwrap_or("");
                    idx.by_inode
                        .insert(inode, FdInfo::other(FdKind::Unix, path, 0));
                }
            }
        }
        idx
    }

    /// The socket with this inode.
    pub fn get(&self, inode: u64) -> Option<&FdInfo> {
        self.by_inode.get(&inode)
    }
}

/// Reads `fd/` of process `pid`: each link classified, directories told
/// apart by a stat, sockets described from `sockets` when it knows them.
/// Close-on-exec comes from `fdinfo/N` flags.
pub fn read_fds(
    proc_root: &Path,
    pid: u32,
    sockets: &mut HashMap<u64, SocketIndex>,
) -> Vec<(i32, FdInfo)> {
    let dir = proc_root.join(pid.to_string());
    let Ok(entries) = numeric_entries(&dir.join("fd"), MAX_FDS_PER_PROCESS) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    for fd in entries {
        let link: PathBuf = dir.join("fd").join(fd.to_string());
        let Some(target) = read_link_text(&link) else {
            continue;
        };
        let is_dir = target.starts_with('/') && fs::metadata(&link).is_ok_and(|m| m.is_dir());
        let mut info = classify_proc_link(&target, is_dir);
        if let Some(ino) = target
            .strip_prefix("socket:[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse::<u64>().ok())
        {
            let netns = read_link_text(&dir.join("ns/net"))
                .and_then(|l| ns_inode(&l))
                .unwrap_or(0);
            let index = sockets
                .entry(netns)
                .or_insert_with(|| SocketIndex::read(&dir.join("net")));
            if let Some(s) = index.get(ino) {
                info = s.clone();
            }
        }
        if let Some(flags) = read_text(&dir.join(format!("fdinfo/{fd}")))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("flags:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
        {
            info.flags = flags;
        }
        out.push((fd as i32, info));
    }
    out
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A fake /proc tree, shaped like the real one.
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    /// What one fake process looks like.
    pub struct FakeProc<'a> {
        pub pid: u32,
        pub ppid: u32,
        pub name: &'a str,
        pub uid: u32,
        pub gid: u32,
        pub nspid: &'a [u32],
        pub cmdline: &'a [&'a str],
        pub exe: &'a str,
        pub cwd: &'a str,
        pub cgroup: &'a str,
        pub loginuid: u32,
        pub pidns: u64,
        pub sid: u32,
        pub tty: u32,
        pub tids: &'a [u32],
        pub fds: &'a [(u32, &'a str)],
    }

    impl Default for FakeProc<'_> {
        fn default() -> Self {
            FakeProc {
                pid: 1,
                ppid: 0,
                name: "init",
                uid: 0,
                gid: 0,
                nspid: &[],
                cmdline: &["/sbin/init"],
                exe: "/sbin/init",
                cwd: "/",
                cgroup: "0::/init.scope\n",
                loginuid: u32::MAX,
                pidns: 4026531836,
                sid: 0,
                tty: 0,
                tids: &[],
                fds: &[],
            }
        }
    }

    /// Writes the process under `root/<pid>`.
    pub fn write(root: &Path, p: &FakeProc<'_>) {
        let d = root.join(p.pid.to_string());
        fs::create_dir_all(d.join("ns")).unwrap();
        fs::create_dir_all(d.join("fd")).unwrap();
        fs::create_dir_all(d.join("fdinfo")).unwrap();
        let ns: Vec<String> = if p.nspid.is_empty() {
            vec![p.pid.to_string()]
        } else {
            p.nspid.iter().map(u32::to_string).collect()
        };
        fs::write(
            d.join("status"),
            format!(
                "Name:\t{}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{}\nTracerPid:\t0\n\
                 Uid:\t{u}\t{u}\t{u}\t{u}\nGid:\t{g}\t{g}\t{g}\t{g}\nNStgid:\t{ns}\nNSpid:\t{ns}\nNSpgid:\t{ns}\nNSsid:\t{ns}\n",
                p.name,
                p.ppid,
                pid = p.pid,
                u = p.uid,
                g = p.gid,
                ns = ns.join("\t"),
            ),
        )
        .unwrap();
        fs::write(
            d.join("stat"),
            format!(
                "{} ({}) S {} {} {} {} -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 100 18446744073709551615\n",
                p.pid,
                p.name,
                p.ppid,
                p.pid,
                if p.sid == 0 { p.pid } else { p.sid },
                p.tty
            ),
        )
        .unwrap();
        let mut cmd = p.cmdline.join("\0");
        cmd.push('\0');
        fs::write(d.join("cmdline"), cmd).unwrap();
        symlink(p.exe, d.join("exe")).unwrap();
        symlink(p.cwd, d.join("cwd")).unwrap();
        symlink(format!("pid:[{}]", p.pidns), d.join("ns/pid")).unwrap();
        symlink("net:[4026531840]", d.join("ns/net")).unwrap();
        fs::write(d.join("cgroup"), p.cgroup).unwrap();
        fs::write(d.join("loginuid"), p.loginuid.to_string()).unwrap();
        let tids: Vec<u32> = if p.tids.is_empty() {
            vec![p.pid]
        } else {
            p.tids.to_vec()
        };
        for t in tids {
            fs::create_dir_all(d.join(format!("task/{t}"))).unwrap();
        }
        for (fd, target) in p.fds {
            symlink(target, d.join(format!("fd/{fd}"))).unwrap();
            let flags = if *fd == 3 { "02100000" } else { "0100002" };
            fs::write(
                d.join(format!("fdinfo/{fd}")),
                format!("pos:\t0\nflags:\t{flags}\nmnt_id:\t21\n"),
            )
            .unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{write, FakeProc};
    use super::*;
    use crate::state::testutil::TempDir;

    #[test]
    fn parses_status_and_stat() {
        let s = parse_status(
            "Name:\tbash\nTgid:\t42\nPPid:\t7\nUid:\t1000\t0\t0\t0\nGid:\t100\t101\t0\t0\nNStgid:\t42\t3\nNSpid:\t42\t3\nNSpgid:\t40\t1\n",
        );
        assert_eq!(s.name, "bash");
        assert_eq!((s.tgid, s.ppid), (42, 7));
        assert_eq!((s.uid, s.gid), ((1000, 0), (100, 101)));
        assert_eq!((s.vpid, s.vtid, s.vpgid), (Some(3), Some(3), Some(1)));
        let st = parse_stat(
            "42 (a (weird) name) S 7 40 30 34816 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9999 0 0\n",
        )
        .unwrap();
        assert_eq!(
            (st.ppid, st.pgrp, st.session, st.tty_nr, st.starttime),
            (7, 40, 30, 34816, 9999)
        );
        assert!(parse_stat("42 (x) S 1").is_none());
        assert_eq!(ns_inode("pid:[4026531836]"), Some(4026531836));
        assert_eq!(ns_inode("garbage"), None);
    }

    #[test]
    fn reads_a_fake_process() {
        let tmp = TempDir::new("procfs-read");
        write(
            tmp.path(),
            &FakeProc {
                pid: 4242,
                ppid: 1,
                name: "nginx",
                uid: 33,
                gid: 33,
                nspid: &[4242, 7],
                cmdline: &["nginx: worker", "-g", "daemon off;"],
                exe: "/usr/sbin/nginx",
                cwd: "/srv/www",
                cgroup: "0::/system.slice/nginx.service\n",
                loginuid: 1000,
                pidns: 4026532000,
                sid: 4000,
                tty: 34816,
                tids: &[4242, 4243],
                fds: &[(0, "/dev/null"), (3, "/var/log/nginx/access.log")],
            },
        );
        fs::create_dir_all(tmp.path().join("4242/task/4243")).unwrap();
        fs::write(
            tmp.path().join("4242/task/4243/status"),
            "NSpid:\t4243\t8\n",
        )
        .unwrap();
        let snap = read_process(tmp.path(), 4242).unwrap();
        let p = &snap.process;
        assert_eq!(
            (p.pid, p.ppid, p.vpid, p.sid, p.tty),
            (4242, 1, 7, 4000, 34816)
        );
        assert_eq!(p.comm.as_ref(), "nginx");
        assert_eq!(p.exe(), "nginx: worker");
        assert_eq!(p.args().collect::<Vec<_>>(), vec!["-g", "daemon off;"]);
        assert_eq!(p.exepath.as_ref(), "/usr/sbin/nginx");
        assert_eq!(p.cwd.as_ref(), "/srv/www");
        assert_eq!(p.cgroup.as_ref(), "/system.slice/nginx.service");
        assert_eq!(
            (p.creds.uid, p.creds.euid, p.creds.loginuid),
            (33, 33, 1000)
        );
        assert_eq!(p.pidns, 4026532000);
        assert!(p.start_ns > 0);
        assert_eq!(snap.threads, vec![(4242, 7), (4243, 8)]);
        let fds = read_fds(tmp.path(), 4242, &mut HashMap::new());
        assert_eq!(fds.len(), 2);
        let (fd, log) = &fds[1];
        assert_eq!((*fd, log.path.as_ref()), (3, "/var/log/nginx/access.log"));
        assert!(log.cloexec(), "fdinfo flags say O_CLOEXEC");
        assert!(!fds[0].1.cloexec());
        assert!(read_process(tmp.path(), 9999).is_err());
    }

    #[test]
    fn socket_index_reads_net_tables() {
        let tmp = TempDir::new("procfs-net");
        let net = tmp.path().join("net");
        fs::create_dir_all(&net).unwrap();
        fs::write(
            net.join("tcp"),
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 5555 1 0 100 0 0 10 0\n\
             1: 0200000A:9C40 04030201:01BB 01 00000000:00000000 00:00000000 00000000  0 0 6666 1 0 100 0 0 10 0\n",
        )
        .unwrap();
        fs::write(
            net.join("tcp6"),
            "  sl  local_address rem_address st tx rx tr tm retr uid timeout inode\n\
             0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 7777 1\n",
        )
        .unwrap();
        fs::write(
            net.join("unix"),
            "Num       RefCount Protocol Flags    Type St Inode Path\n\
             0000000000000000: 00000002 00000000 00010000 0001 01 8888 /run/dbus/system_bus_socket\n",
        )
        .unwrap();
        let idx = SocketIndex::read(&net);
        let listen = idx.get(5555).unwrap();
        assert_eq!(listen.name(), "127.0.0.1:8080");
        assert_eq!(listen.ends().unwrap().role, Role::Server);
        let conn = idx.get(6666).unwrap();
        assert_eq!(conn.name(), "10.0.0.2:40000->1.2.3.4:443");
        assert_eq!(conn.l4proto(), "tcp");
        let v6 = idx.get(7777).unwrap();
        assert_eq!(v6.kind, FdKind::Ipv6);
        assert_eq!(v6.lip(), Some("::1".parse().unwrap()));
        assert_eq!(v6.lport(), Some(22));
        assert_eq!(
            idx.get(8888).unwrap().path.as_ref(),
            "/run/dbus/system_bus_socket"
        );
    }
}
