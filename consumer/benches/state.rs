//! State costs: `cargo bench -p kestrel --bench state`.
//!
//! 1. Memory: the consumer's RSS (VmRSS of /proc/self/status) before and
//!    after 10,000 live threads enter the table through events (2,500
//!    processes of 4 threads, each process with a command line, cwd, cgroup
//!    and 8 open files), and the table's own estimate per thread.
//! 2. Replay rate: records decoded and applied to the state (fork, exec,
//!    opens, closes, exit of short-lived processes under a long-lived
//!    parent), against decoding alone.

use std::hint::black_box;
use std::time::Instant;

use kestrel::decode::decode;
use kestrel::record::{Record, RecordBuilder};
use kestrel::state::threads::Process;
use kestrel::state::{State, StateOptions};
use kestrel_abi::EventType as T;

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn procfork(ts: u64, parent: u32, ppid: u32, child_tid: u32, child_pid: u32) -> Vec<u8> {
    RecordBuilder::new(T::KESTREL_EVT_PROC_FORK as u16, ts, parent, ppid)
        .u32(child_tid)
        .u32(child_pid)
        .build()
}

fn execve(ts: u64, tid: u32, exe: &[u8], args: &[u8]) -> Vec<u8> {
    RecordBuilder::new(T::KESTREL_EVT_EXECVE as u16, ts, tid, tid)
        .i64(0)
        .param(exe)
        .param(args)
        .param(b"/var/lib/app")
        .u32(1000)
        .u32(1000)
        .u32(1000)
        .u32(1000)
        .u32(1000)
        .u32(0)
        .param(b"/system.slice/app-worker.service")
        .u32(4026531836)
        .u32(tid)
        .u32(tid)
        .u32(1)
        .param(b"HOME=/var/lib/app\0PATH=/usr/bin:/bin\0")
        .param(b"worker")
        .build()
}

fn openat(ts: u64, tid: u32, pid: u32, fd: i64, name: &[u8]) -> Vec<u8> {
    RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, ts, tid, pid)
        .i64(fd)
        .i64(-100)
        .param(name)
        .u32(0o2000000)
        .u32(0)
        .param(name)
        .build()
}

fn close(ts: u64, tid: u32, pid: u32, fd: i64) -> Vec<u8> {
    RecordBuilder::new(T::KESTREL_EVT_CLOSE as u16, ts, tid, pid)
        .i64(0)
        .i64(fd)
        .build()
}

fn procexit(ts: u64, tid: u32, pid: u32) -> Vec<u8> {
    RecordBuilder::new(T::KESTREL_EVT_PROC_EXIT as u16, ts, tid, pid)
        .u32(0)
        .build()
}

fn state_with_root() -> State {
    let mut s = State::new(StateOptions {
        proc_root: None,
        max_threads: 1 << 20,
        ..StateOptions::default()
    });
    let mut init = Process::default();
    init.pid = 1;
    init.vpid = 1;
    init.comm = "systemd".into();
    init.exepath = "/usr/lib/systemd/systemd".into();
    init.cwd = "/".into();
    init.set_cmdline(&["/sbin/init"]);
    assert!(s.insert_process(init, &[(1, 1)]));
    s
}

fn apply_all(s: &mut State, recs: &[Vec<u8>]) {
    for b in recs {
        let rec = Record::parse(b).expect("valid record");
        s.apply(&decode(&rec).expect("decodable"));
    }
}

fn memory() {
    const PROCS: u32 = 2_500;
    const THREADS_PER: u32 = 4;
    let mut recs = Vec::new();
    for i in 0..PROCS {
        let ts = u64::from(i) + 1;
        let pid = 10_000 + i * THREADS_PER;
        recs.push(procfork(ts, 1, 1, pid, pid));
        recs.push(execve(
            ts,
            pid,
            b"/usr/lib/app/worker",
            b"/usr/lib/app/worker\0--config\0/etc/app/worker.toml\0",
        ));
        for t in 1..THREADS_PER {
            recs.push(procfork(ts, pid, pid, pid + t, pid));
        }
        for fd in 3..11 {
            recs.push(openat(
                ts,
                pid,
                pid,
                fd,
                b"/var/lib/app/data/segment-000123.db",
            ));
        }
    }
    let mut s = state_with_root();
    let before = vm_rss_kib();
    apply_all(&mut s, &recs);
    drop(recs);
    let after = vm_rss_kib();
    let threads = s.table().thread_count();
    assert_eq!(threads as u32, PROCS * THREADS_PER + 1);
    println!(
        "state memory: {} live threads ({} processes, 8 fds each): VmRSS {} KiB -> {} KiB (+{} KiB, {} bytes per thread); table estimate {} bytes per thread",
        threads,
        s.table().live_process_count(),
        before,
        after,
        after.saturating_sub(before),
        after.saturating_sub(before) * 1024 / threads as u64,
        s.table().memory_bytes() / threads
    );
    black_box(&s);
}

fn stream(n_procs: u32) -> Vec<Vec<u8>> {
    // A long-lived shell (pid 2) forks short-lived workers that exec, open
    // and close files, and exit: 14 events per worker.
    let mut recs = vec![procfork(0, 1, 1, 2, 2)];
    for i in 0..n_procs {
        let ts = u64::from(i) + 1;
        let pid = 100 + (i % 30_000);
        recs.push(procfork(ts, 2, 2, pid, pid));
        recs.push(execve(ts, pid, b"/usr/bin/cat", b"cat\0/etc/hosts\0"));
        for fd in 3..8 {
            recs.push(openat(ts, pid, pid, fd, b"/etc/hosts"));
            recs.push(close(ts, pid, pid, fd));
        }
        recs.push(procexit(ts, pid, pid));
    }
    recs
}

fn replay_rate() {
    let recs = stream(20_000);
    let n = recs.len() as f64;
    // Decode only.
    let t = Instant::now();
    let mut sum = 0u64;
    for _ in 0..5 {
        for b in &recs {
            let rec = Record::parse(b).expect("valid");
            sum += decode(&rec).expect("decodable").ts_ns;
        }
    }
    black_box(sum);
    let decode_rate = 5.0 * n / t.elapsed().as_secs_f64();
    // Decode and apply.
    let mut best = 0.0f64;
    for _ in 0..5 {
        let mut s = state_with_root();
        let t = Instant::now();
        apply_all(&mut s, &recs);
        best = best.max(n / t.elapsed().as_secs_f64());
        s.flush_pending();
        assert_eq!(s.table().thread_count(), 2, "workers reaped");
        black_box(&s);
    }
    println!(
        "replay: {:.2} M events/s decoded; {:.2} M events/s decoded and applied to the state ({} events per pass)",
        decode_rate / 1e6,
        best / 1e6,
        recs.len()
    );
}

fn main() {
    memory();
    replay_rate();
}
