//! A deterministic synthetic capture of a busy container host, for the
//! benchmarks (`make bench`) and the allocation test.
//!
//! The mix is what a Kubernetes node with a handful of busy pods sends once
//! the module records what rules and process state need:
//!
//! - long-lived services (one per pod, several threads each, plus the
//!   node's own kubelet, containerd and sshd) that open and close files
//!   (shared libraries, `/proc`, configuration, logs and temporary files),
//!   map memory, and talk over the network (outbound connects, inbound
//!   accepts, sends and receives on TCP sockets);
//! - many short-lived processes: a service forks (clone + procfork), the
//!   child execs a probe or a job (`sh -c`, `curl`, `cat`, `date`, `ps`,
//!   a Python job), makes a few dozen calls of its own, and exits;
//! - one event in a few thousand that the default rules alert on (a read
//!   of `/etc/shadow` inside a pod).
//!
//! The same seed gives the same bytes.  Records are encoded with
//! [`crate::rules::cases::encode_event`] (the rule test cases' encoder, so
//! every parameter is by name) and cached by text; tid, pid and timestamp
//! are patched into a cached record's header.

use std::collections::HashMap;

use crate::rules::cases::encode_event;

/// Byte offsets in a record header (see `kestrel_abi.h`).
const TS_AT: usize = 8;
const TID_AT: usize = 16;
const PID_AT: usize = 20;

/// A generated capture: back-to-back records, as a capture file's body or
/// a ring's contents.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The records.
    pub records: Vec<u8>,
    /// How many records.
    pub events: usize,
}

/// A small deterministic generator (PCG-style LCG step, high bits out).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One pod (or the host itself, `id` empty).
struct Group {
    cgroup: String,
    pidns: u64,
    ip: String,
}

/// A live thread of the simulation.
struct Actor {
    tid: u32,
    pid: u32,
    group: usize,
    /// Open fds: (fd, is a socket).
    fds: Vec<(i64, bool)>,
    next_fd: i64,
    /// Calls left before a short-lived process exits (0: long-lived).
    left: u32,
    exe: &'static str,
}

struct Gen {
    rng: Rng,
    out: Vec<u8>,
    events: usize,
    ts: u64,
    cache: HashMap<String, Vec<u8>>,
    groups: Vec<Group>,
    services: Vec<Actor>,
    children: Vec<Actor>,
    next_tid: u32,
}

const LIBS: &[&str] = &[
    "/etc/ld.so.cache",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libpthread.so.0",
    "/usr/lib/x86_64-linux-gnu/libssl.so.3",
    "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
    "/lib/x86_64-linux-gnu/libz.so.1",
];
const READS: &[&str] = &[
    "/proc/self/stat",
    "/proc/self/status",
    "/proc/meminfo",
    "/sys/fs/cgroup/memory.max",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/app/config.yaml",
    "/usr/share/zoneinfo/UTC",
    "/srv/www/index.html",
    "/srv/www/static/app.js",
];
const WRITES: &[&str] = &[
    "/var/log/app/access.log",
    "/var/log/app/error.log",
    "/tmp/upload-0001.part",
    "/var/cache/app/session.db",
];
const PEERS: &[&str] = &[
    "10.96.0.10:53",
    "10.96.12.7:5432",
    "10.96.40.2:6379",
    "10.244.1.17:8080",
    "93.184.216.34:443",
];
/// Short-lived programs: (exe, argv, comm).
const PROGRAMS: &[(&str, &[&str], &str)] = &[
    (
        "/bin/sh",
        &["sh", "-c", "curl -fs localhost:8080/healthz"],
        "sh",
    ),
    (
        "/usr/bin/curl",
        &["curl", "-fs", "localhost:8080/healthz"],
        "curl",
    ),
    ("/bin/cat", &["cat", "/proc/loadavg"], "cat"),
    ("/bin/date", &["date", "+%s"], "date"),
    ("/bin/ps", &["ps", "-o", "pid,comm"], "ps"),
    (
        "/bin/grep",
        &["grep", "-c", "ERROR", "/var/log/app/error.log"],
        "grep",
    ),
    (
        "/usr/bin/python3",
        &["python3", "/srv/jobs/rotate.py"],
        "python3",
    ),
    (
        "/usr/sbin/runc",
        &["runc", "--root", "/run/containerd/runc/k8s.io", "state"],
        "runc",
    ),
];
/// Long-lived services: (exe, argv, comm); the first three are the node's.
const SERVICES: &[(&str, &[&str], &str)] = &[
    (
        "/usr/bin/kubelet",
        &["kubelet", "--config=/var/lib/kubelet/config.yaml"],
        "kubelet",
    ),
    ("/usr/bin/containerd", &["containerd"], "containerd"),
    ("/usr/sbin/sshd", &["sshd", "-D"], "sshd"),
    ("/usr/sbin/nginx", &["nginx", "-g", "daemon off;"], "nginx"),
    (
        "/usr/local/bin/python3",
        &["python3", "-m", "gunicorn", "app:wsgi"],
        "gunicorn",
    ),
    ("/usr/bin/java", &["java", "-jar", "/srv/app.jar"], "java"),
    ("/usr/local/bin/node", &["node", "/srv/server.js"], "node"),
    (
        "/usr/bin/redis-server",
        &["redis-server", "*:6379"],
        "redis-server",
    ),
    (
        "/usr/local/bin/envoy",
        &["envoy", "-c", "/etc/envoy.yaml"],
        "envoy",
    ),
];
const HOST_SERVICES: usize = 3;
const THREADS_PER_SERVICE: u32 = 4;

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Gen {
    /// Appends one event; `text` is the YAML event without tid/pid/ts.
    fn emit(&mut self, tid: u32, pid: u32, text: String) {
        self.ts += 700 + self.rng.next() % 900;
        let rec = self.cache.entry(text).or_insert_with_key(|text| {
            let spec: serde_yaml::Value =
                serde_yaml::from_str(text).unwrap_or_else(|e| panic!("workload event {text}: {e}"));
            encode_event(&spec, 1).unwrap_or_else(|e| panic!("workload event {text}: {e}"))
        });
        let at = self.out.len();
        self.out.extend_from_slice(rec);
        self.out[at + TS_AT..at + TS_AT + 8].copy_from_slice(&self.ts.to_le_bytes());
        self.out[at + TID_AT..at + TID_AT + 4].copy_from_slice(&tid.to_le_bytes());
        self.out[at + PID_AT..at + PID_AT + 4].copy_from_slice(&pid.to_le_bytes());
        self.events += 1;
    }

    fn new_tid(&mut self) -> u32 {
        self.next_tid += 1 + (self.rng.next() % 3) as u32;
        if self.next_tid > 4_000_000 {
            self.next_tid = 5000;
        }
        self.next_tid
    }

    /// clone in the parent, procfork, and (for a process) the child's exec.
    fn spawn(
        &mut self,
        parent: (u32, u32),
        group: usize,
        thread: bool,
        program: Option<(&'static str, &[&str], &str)>,
    ) -> Actor {
        let tid = self.new_tid();
        let pid = if thread { parent.1 } else { tid };
        let flags = if thread { "0x3d0f00" } else { "0x1200011" };
        self.emit(
            parent.0,
            parent.1,
            format!("{{type: clone, params: {{res: {tid}, flags: {flags}}}}}"),
        );
        self.emit(
            parent.0,
            parent.1,
            format!("{{type: procfork, params: {{child_tid: {tid}, child_pid: {pid}}}}}"),
        );
        let mut exe = "";
        if let Some((path, argv, comm)) = program {
            exe = path;
            let g = &self.groups[group];
            let args: Vec<String> = argv.iter().map(|a| quote(a)).collect();
            let vpid = if g.pidns == 4026531836 {
                pid
            } else {
                1 + pid % 200
            };
            let text = format!(
                "{{type: execve, params: {{res: 0, exe: {path}, args: [{}], cwd: /, uid: 0, gid: 0, euid: 0, egid: 0, loginuid: 4294967295, tty: 0, cgroups: {}, pidns: {}, vpid: {vpid}, vtid: {vpid}, ptid: {}, env: [PATH=/usr/local/bin:/usr/bin:/bin, HOSTNAME=pod, HOME=/root], comm: {comm}}}}}",
                args.join(", "),
                quote(&g.cgroup),
                g.pidns,
                parent.1,
            );
            self.emit(tid, pid, text);
        }
        Actor {
            tid,
            pid,
            group,
            fds: Vec::new(),
            next_fd: 3,
            left: 0,
            exe,
        }
    }

    /// One call by `a`.
    fn act(&mut self, a: &mut Actor, short_lived: bool) {
        let (tid, pid) = (a.tid, a.pid);
        let roll = self.rng.below(100);
        if !a.fds.is_empty() && (roll < 22 || a.fds.len() > 24) {
            let i = self.rng.below(a.fds.len());
            let (fd, _) = a.fds.swap_remove(i);
            self.emit(
                tid,
                pid,
                format!("{{type: close, params: {{res: 0, fd: {fd}}}}}"),
            );
            return;
        }
        let fd = a.next_fd;
        match roll {
            0..=40 => {
                let (path, flags) = match self.rng.below(10) {
                    0..=3 => (*self.rng.pick(LIBS), 524288),
                    4..=7 => (*self.rng.pick(READS), 0),
                    _ => (*self.rng.pick(WRITES), 1089),
                };
                let missing = self.rng.below(20) == 0;
                let res = if missing { -2 } else { fd };
                let full = if missing {
                    String::new()
                } else {
                    format!(", fullpath: {path}")
                };
                self.emit(
                    tid,
                    pid,
                    format!("{{type: openat, params: {{res: {res}, dirfd: -100, name: {path}, flags: {flags}, mode: 0{full}}}}}"),
                );
                if !missing {
                    a.fds.push((fd, false));
                    a.next_fd += 1;
                }
            }
            41..=52 if !short_lived || a.exe.ends_with("curl") => {
                let peer = *self.rng.pick(PEERS);
                let port = 30000 + self.rng.below(30000);
                let ip = &self.groups[a.group].ip;
                let tuple = format!("{ip}:{port}->{peer}");
                self.emit(
                    tid,
                    pid,
                    format!(
                        "{{type: socket, params: {{res: {fd}, domain: 2, type: 1, proto: 0}}}}"
                    ),
                );
                self.emit(
                    tid,
                    pid,
                    format!("{{type: connect, params: {{res: 0, fd: {fd}, addr: '{peer}', tuple: '{tuple}'}}}}"),
                );
                a.fds.push((fd, true));
                a.next_fd += 1;
            }
            53..=60 if !short_lived => {
                let ip = self.groups[a.group].ip.clone();
                let peer = format!("10.244.{}.{}", self.rng.below(8), 2 + self.rng.below(250));
                let port = 30000 + self.rng.below(30000);
                self.emit(
                    tid,
                    pid,
                    format!("{{type: accept4, params: {{res: {fd}, fd: 3, tuple: '{peer}:{port}->{ip}:8080', flags: 0}}}}"),
                );
                a.fds.push((fd, true));
                a.next_fd += 1;
            }
            61..=80 => {
                let socks: Vec<i64> = a.fds.iter().filter(|f| f.1).map(|f| f.0).collect();
                if let Some(&s) = socks.get(self.rng.below(socks.len().max(1))) {
                    let kind = if self.rng.below(2) == 0 {
                        "sendto"
                    } else {
                        "recvfrom"
                    };
                    let size = 64 + self.rng.below(4000);
                    self.emit(
                        tid,
                        pid,
                        format!("{{type: {kind}, params: {{res: {size}, fd: {s}, size: {size}}}}}"),
                    );
                } else {
                    self.emit(
                        tid,
                        pid,
                        "{type: mmap, params: {res: 140000000000, addr: 0, length: 8192, prot: 3, flags: 34, fd: -1, offset: 0}}".into(),
                    );
                }
            }
            81..=88 => {
                let file = a.fds.iter().find(|f| !f.1).map_or(-1, |f| f.0);
                let (prot, flags) = if file < 0 { (3, 34) } else { (5, 2) };
                self.emit(
                    tid,
                    pid,
                    format!("{{type: mmap, params: {{res: 140000000000, addr: 0, length: 8192, prot: {prot}, flags: {flags}, fd: {file}, offset: 0}}}}"),
                );
            }
            _ => {
                if let Some(&(f, _)) = a.fds.first() {
                    self.emit(
                        tid,
                        pid,
                        format!("{{type: fcntl, params: {{res: 0, fd: {f}, cmd: 2}}}}"),
                    );
                } else {
                    self.emit(
                        tid,
                        pid,
                        "{type: openat, params: {res: 3, dirfd: -100, name: /etc/ld.so.cache, flags: 524288, mode: 0, fullpath: /etc/ld.so.cache}}".into(),
                    );
                    a.fds.push((3, false));
                    a.next_fd = a.next_fd.max(4);
                }
            }
        }
    }
}

/// Generates about `events` records of a busy container host from `seed`
/// (the last process's calls may run a few past `events`).
pub fn generate(events: usize, seed: u64) -> Workload {
    let mut g = Gen {
        rng: Rng(seed ^ 0x9e37_79b9_7f4a_7c15),
        out: Vec::with_capacity(events * 120),
        events: 0,
        ts: 1_000_000_000,
        cache: HashMap::new(),
        groups: Vec::new(),
        services: Vec::new(),
        children: Vec::new(),
        next_tid: 5000,
    };
    g.groups.push(Group {
        cgroup: "0::/system.slice/containerd.service".into(),
        pidns: 4026531836,
        ip: "10.0.0.5".into(),
    });
    for i in 0..(SERVICES.len() - HOST_SERVICES) {
        let id: String = (0..4)
            .map(|_| format!("{:016x}", g.rng.next() << 31 | g.rng.next()))
            .collect();
        g.groups.push(Group {
            cgroup: format!(
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{:08x}_{i}.slice/cri-containerd-{id}.scope",
                g.rng.next()
            ),
            pidns: 4026532000 + i as u64 * 7,
            ip: format!("10.244.0.{}", 10 + i),
        });
    }
    // The services start: forked by pid 1 (the host's) or a pod's shim,
    // then their worker threads.
    for (i, &(exe, argv, comm)) in SERVICES.iter().enumerate() {
        let group = if i < HOST_SERVICES {
            0
        } else {
            1 + i - HOST_SERVICES
        };
        let main = g.spawn((1, 1), group, false, Some((exe, argv, comm)));
        let parent = (main.tid, main.pid);
        for _ in 1..THREADS_PER_SERVICE {
            let mut t = g.spawn(parent, group, true, None);
            t.exe = exe;
            g.services.push(t);
        }
        g.services.push(main);
    }
    let mut alert_at = 2_500;
    while g.events < events {
        // Now and then a read that the default rules alert on.
        if g.events >= alert_at {
            alert_at += 2_500 + g.rng.below(1000);
            let i = HOST_SERVICES * THREADS_PER_SERVICE as usize
                + g.rng
                    .below(g.services.len() - HOST_SERVICES * THREADS_PER_SERVICE as usize);
            let (tid, pid) = (g.services[i].tid, g.services[i].pid);
            g.emit(
                tid,
                pid,
                "{type: openat, params: {res: 9, dirfd: -100, name: /etc/shadow, flags: 0, mode: 0, fullpath: /etc/shadow}}".into(),
            );
            g.emit(tid, pid, "{type: close, params: {res: 0, fd: 9}}".into());
            continue;
        }
        let roll = g.rng.below(100);
        if roll < 3 || (g.children.is_empty() && roll < 10) {
            // A service forks a short-lived process.
            let i = g.rng.below(g.services.len());
            let (parent, group) = ((g.services[i].tid, g.services[i].pid), g.services[i].group);
            let &(exe, argv, comm) = g.rng.pick(PROGRAMS);
            let mut child = g.spawn(parent, group, false, Some((exe, argv, comm)));
            child.left = 8 + g.rng.below(40) as u32;
            g.children.push(child);
        } else if roll < 55 && !g.children.is_empty() {
            let i = g.rng.below(g.children.len());
            let mut c = g.children.swap_remove(i);
            if c.left == 0 {
                g.emit(c.tid, c.pid, "{type: procexit, params: {status: 0}}".into());
            } else {
                c.left -= 1;
                g.act(&mut c, true);
                g.children.push(c);
            }
        } else {
            let i = g.rng.below(g.services.len());
            let mut s = std::mem::replace(
                &mut g.services[i],
                Actor {
                    tid: 0,
                    pid: 0,
                    group: 0,
                    fds: Vec::new(),
                    next_fd: 0,
                    left: 0,
                    exe: "",
                },
            );
            g.act(&mut s, false);
            g.services[i] = s;
        }
    }
    Workload {
        records: g.out,
        events: g.events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_into, Event};
    use crate::record::Record;

    #[test]
    fn deterministic_and_every_record_decodes() {
        let a = generate(5_000, 7);
        let b = generate(5_000, 7);
        assert_eq!(a.records, b.records);
        assert_ne!(a.records, generate(5_000, 8).records);
        let mut at = 0;
        let mut n = 0;
        let mut ev = Event::default();
        let mut names = std::collections::BTreeMap::<String, usize>::new();
        let mut last_ts = 0;
        while at < a.records.len() {
            let rec = Record::parse(&a.records[at..]).expect("parses");
            at += rec.len();
            decode_into(&rec, &mut ev).expect("decodes");
            assert!(ev.ts_ns > last_ts, "time moves forward");
            last_ts = ev.ts_ns;
            *names.entry(ev.name().to_string()).or_default() += 1;
            n += 1;
        }
        assert_eq!(n, a.events);
        // The mix: many short-lived processes, opens, network.
        for (name, at_least) in [
            ("openat", 1000),
            ("close", 500),
            ("execve", 50),
            ("procexit", 40),
            ("connect", 50),
            ("accept4", 20),
        ] {
            let got = names.get(name).copied().unwrap_or(0);
            assert!(got >= at_least, "{name}: {got} < {at_least} in {names:?}");
        }
    }
}
