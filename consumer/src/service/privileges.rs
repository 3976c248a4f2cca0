//! Dropping the capabilities `kestrel run` does not need once it holds the
//! device.
//!
//! Opening `/dev/kestrel` as the consumer takes CAP_SYS_ADMIN (or
//! CAP_PERFMON and CAP_BPF); everything after that (ioctls and mmaps on the
//! open descriptor, reading the rings) needs no capability.  What the
//! service still needs:
//!
//! - `CAP_SYS_PTRACE`: `/proc/<pid>/exe`, `cwd`, `root`, `fd/` and
//!   `environ` of every process (the kernel checks ptrace access), read
//!   when the state learns a process it has not seen start;
//! - `CAP_DAC_READ_SEARCH`: reading `/proc` and the container runtimes'
//!   metadata (`/var/lib/containers`, `/var/lib/docker`, `/run/containerd`)
//!   and the host's passwd/group whatever their modes;
//! - `CAP_NET_BIND_SERVICE`, only when the web server listens on a port
//!   below 1024.
//!
//! Everything else is dropped from the effective, permitted, inheritable,
//! ambient and bounding sets, so a program output started later (which
//! `exec`s as root) gets no more than those either.  Capabilities are
//! per thread: [`drop_to`] must run before the service starts any thread
//! (it says which threads it could not cover).

use std::io;

/// `CAP_DAC_READ_SEARCH`.
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// `CAP_NET_BIND_SERVICE`.
pub const CAP_NET_BIND_SERVICE: u32 = 10;
/// `CAP_SYS_PTRACE`.
pub const CAP_SYS_PTRACE: u32 = 19;

/// The capabilities `kestrel run` keeps after opening the device; with
/// `low_port`, the web server's port is below 1024.
pub fn kept(low_port: bool) -> u64 {
    let mut keep = (1u64 << CAP_SYS_PTRACE) | (1u64 << CAP_DAC_READ_SEARCH);
    if low_port {
        keep |= 1u64 << CAP_NET_BIND_SERVICE;
    }
    keep
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;

fn capget() -> io::Result<[CapData; 2]> {
    let mut head = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget(2) with a version-3 header writes two CapData (the
    // layout of struct __user_cap_data_struct) into `data`, which holds two.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut head, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(data)
}

fn capset(data: &[CapData; 2]) -> io::Result<()> {
    let mut head = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset(2) with a version-3 header reads two CapData from
    // `data`; pid 0 is the calling thread.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut head, data.as_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63)
        .min(63)
}

/// What [`drop_to`] left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Effective set afterwards.
    pub effective: u64,
    /// Permitted set afterwards.
    pub permitted: u64,
    /// Threads of the process other than the caller (they keep what they
    /// had: capabilities are per thread).
    pub other_threads: usize,
    /// The bounding set could not be reduced (no CAP_SETPCAP).
    pub bounding_kept: bool,
}

/// Drops every capability outside `keep` from the calling thread's
/// bounding, ambient, inheritable, permitted and effective sets.
pub fn drop_to(keep: u64) -> io::Result<Dropped> {
    // The bounding set first: dropping from it needs CAP_SETPCAP, which the
    // capset below removes.
    let mut bounding_kept = false;
    for cap in 0..=last_cap() {
        if keep & (1u64 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl(PR_CAPBSET_READ/DROP) take plain integers.
        let present = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if present == 1 {
            // SAFETY: as above.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if rc != 0 {
                // Without CAP_SETPCAP (a non-root consumer holding only
                // what the device asks) the bounding set stays; the sets
                // below are still reduced.
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EPERM) {
                    return Err(e);
                }
                bounding_kept = true;
                break;
            }
        }
    }
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointer; on kernels
    // without ambient capabilities it fails with EINVAL, which is fine.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    let mut data = capget()?;
    for (i, d) in data.iter_mut().enumerate() {
        let k = (keep >> (32 * i)) as u32;
        d.effective &= k;
        d.permitted &= k;
        d.inheritable = 0;
    }
    capset(&data)?;
    let data = capget()?;
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    let other_threads = std::fs::read_dir("/proc/self/task")
        .map(|d| d.count().saturating_sub(1))
        .unwrap_or(0);
    Ok(Dropped {
        effective: join(|d| d.effective),
        permitted: join(|d| d.permitted),
        other_threads,
        bounding_kept,
    })
}

/// Names of the capabilities in `set`, for the log.
pub fn names(set: u64) -> String {
    const NAMES: [(u32, &str); 3] = [
        (CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"),
        (CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"),
        (CAP_SYS_PTRACE, "CAP_SYS_PTRACE"),
    ];
    let mut out: Vec<String> = Vec::new();
    for bit in 0..64u32 {
        if set & (1u64 << bit) != 0 {
            match NAMES.iter().find(|(b, _)| *b == bit) {
                Some((_, n)) => out.push((*n).to_string()),
                None => out.push(format!("cap {bit}")),
            }
        }
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread's sets from /proc (CapInh, CapPrm, CapEff, CapBnd, CapAmb).
    fn sets() -> std::collections::HashMap<String, u64> {
        std::fs::read_to_string("/proc/thread-self/status")
            .unwrap()
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.starts_with("Cap")
                    .then(|| (k.to_string(), u64::from_str_radix(v.trim(), 16).unwrap()))
            })
            .collect()
    }

    /// Runs in a thread of its own: capabilities are per thread, so the
    /// other tests keep theirs.  Needs root (CI runs as root).
    #[test]
    fn drops_all_but_the_kept_capabilities_from_every_set() {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root");
            return;
        }
        let keep = kept(false);
        let (before, after, dropped) = std::thread::spawn(move || {
            let before = sets();
            let dropped = drop_to(keep).unwrap();
            (before, sets(), dropped)
        })
        .join()
        .unwrap();
        // Root starts with more than the kept set ...
        assert_ne!(before["CapEff"] & !keep, 0, "{before:?}");
        assert_ne!(before["CapBnd"] & !keep, 0, "{before:?}");
        // ... and ends with no more than it, in every set.
        for set in ["CapEff", "CapPrm", "CapBnd"] {
            assert_eq!(after[set], keep & before[set], "{set}: {after:?}");
        }
        assert_eq!(after["CapInh"], 0);
        assert_eq!(after.get("CapAmb").copied().unwrap_or(0), 0);
        assert_eq!(dropped.effective, after["CapEff"]);
        assert_eq!(dropped.permitted, after["CapPrm"]);
        // The test harness runs other threads.
        assert!(dropped.other_threads >= 1);
        assert!(!dropped.bounding_kept);
        // This thread (the test's) still has everything.
        assert_eq!(sets()["CapEff"], before["CapEff"]);
    }

    #[test]
    fn names_the_kept_set() {
        assert_eq!(names(kept(false)), "CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE");
        assert_eq!(
            names(kept(true)),
            "CAP_DAC_READ_SEARCH, CAP_NET_BIND_SERVICE, CAP_SYS_PTRACE"
        );
        assert_eq!(names(1 << 21), "cap 21");
        assert_eq!(names(0), "none");
    }
}
