//! State over fake /proc trees and runtime state, driven by events.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::apply::fake::{apply, ev, P};
use super::apply::Endpoint;
use super::procfs::fixture::{write, FakeProc};
use super::testutil::TempDir;
use super::*;

const CID: &str = "5b1c0e2d3f4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344";

struct World {
    _tmp: TempDir,
    state: State,
}

/// A host with init (1) and sshd (100), and a containerd Kubernetes
/// container whose shell (500, pid 1 inside) has its own root and passwd.
fn world() -> World {
    let tmp = TempDir::new("state-world");
    let proc_root = tmp.path().join("proc");
    let host = tmp.path().join("host");
    let ctr_root = tmp.path().join("ctr-rootfs");
    fs::create_dir_all(host.join("etc")).unwrap();
    fs::write(
        host.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    )
    .unwrap();
    fs::write(host.join("etc/group"), "root:x:0:\nalice:x:1000:\n").unwrap();
    fs::create_dir_all(ctr_root.join("etc")).unwrap();
    fs::write(
        ctr_root.join("etc/passwd"),
        "appuser:x:0:0:app:/app:/bin/sh\nweb:x:1000:1000::/srv:/bin/sh\n",
    )
    .unwrap();
    fs::write(ctr_root.join("etc/group"), "appgroup:x:0:\n").unwrap();
    let bundle = host
        .join("run/containerd/io.containerd.runtime.v2.task/k8s.io")
        .join(CID);
    fs::create_dir_all(&bundle).unwrap();
    fs::write(
        bundle.join("config.json"),
        serde_json::to_vec(&json!({"annotations": {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.container-name": "shop",
            "io.kubernetes.cri.image-name": "registry.local/shop:1.4",
            "io.kubernetes.cri.sandbox-name": "shop-0",
            "io.kubernetes.cri.sandbox-namespace": "payments",
            "io.kubernetes.cri.sandbox-uid": "uid-1"
        }}))
        .unwrap(),
    )
    .unwrap();
    write(&proc_root, &FakeProc::default());
    write(
        &proc_root,
        &FakeProc {
            pid: 100,
            ppid: 1,
            name: "sshd",
            cmdline: &["/usr/sbin/sshd", "-D"],
            exe: "/usr/sbin/sshd",
            cgroup: "0::/system.slice/ssh.service\n",
            fds: &[(3, "socket:[123]"), (4, "/var/log/auth.log")],
            ..FakeProc::default()
        },
    );
    let cg = format!(
        "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poduid_1.slice/cri-containerd-{CID}.scope\n"
    );
    write(
        &proc_root,
        &FakeProc {
            pid: 500,
            ppid: 100,
            name: "sh",
            nspid: &[500, 1],
            cmdline: &["/bin/sh"],
            exe: "/bin/busybox",
            cwd: "/app",
            cgroup: &cg,
            pidns: 4026532999,
            ..FakeProc::default()
        },
    );
    symlink(&ctr_root, proc_root.join("500/root")).unwrap();
    let state = State::new(StateOptions {
        proc_root: Some(proc_root),
        host_root: host,
        max_threads: 1000,
        user_refresh: Duration::from_secs(30),
    });
    World { _tmp: tmp, state }
}

fn proc_dir(w: &World) -> &Path {
    w.state.options().proc_root.as_deref().unwrap()
}

#[test]
fn scan_fills_processes_fds_and_containers() {
    let mut w = world();
    assert_eq!(w.state.scan(), 3);
    let s = &w.state;
    assert_eq!(s.table().thread_count(), 3);
    let sh = s.process(500).unwrap();
    assert_eq!(sh.vpid, 1);
    assert_eq!(s.parent(sh).unwrap().name(), "sshd");
    assert_eq!(s.container_id(500), Some(&CID[..12]));
    assert_eq!(s.container_id(100), Some("host"));
    let c = s.container_of(500).unwrap();
    assert_eq!(c.image.as_deref(), Some("registry.local/shop:1.4"));
    assert_eq!(c.pod_namespace.as_deref(), Some("payments"));
    assert_eq!(s.fd(100, 4).unwrap().path.as_ref(), "/var/log/auth.log");
    assert_eq!(s.user_name(100).as_deref(), Some("root"));
    assert_eq!(
        s.user_name(500).as_deref(),
        Some("appuser"),
        "the container's own passwd"
    );
    assert_eq!(s.group_name(500).as_deref(), Some("appgroup"));
    assert_eq!(s.containers().disk_lookups, 1);
}

#[test]
fn container_users_are_learned_while_its_processes_live() {
    let mut w = world();
    let proc_root = proc_dir(&w).to_path_buf();
    // pid 1's root is the host's; a runtime's setup process (600) joined
    // the container's cgroup but still has the host's root.
    let host = w.state.options().host_root.clone();
    symlink(&host, proc_root.join("1/root")).unwrap();
    let cg = fs::read_to_string(proc_root.join("500/cgroup")).unwrap();
    write(
        &proc_root,
        &FakeProc {
            pid: 600,
            ppid: 100,
            name: "runc",
            cmdline: &["runc", "init"],
            exe: "/usr/bin/runc",
            cgroup: &cg,
            ..FakeProc::default()
        },
    );
    symlink(&host, proc_root.join("600/root")).unwrap();
    w.state.scan();
    assert_eq!(
        w.state.user_name(600).as_deref(),
        Some("appuser"),
        "the container's passwd, not the host's read through the setup process"
    );
    // The container's shell is gone from /proc by the time its events are
    // matched: the names learned at the scan still answer.
    fs::remove_file(proc_root.join("500/root")).unwrap();
    fs::remove_file(proc_root.join("600/root")).unwrap();
    assert_eq!(w.state.user_name(500).as_deref(), Some("appuser"));
    assert_eq!(w.state.group_name(500).as_deref(), Some("appgroup"));
}

#[test]
fn cat_in_the_container_carries_its_context() {
    let mut w = world();
    w.state.scan();
    // The shell forks and the child execs cat; the child is gone from
    // /proc by the time the consumer looks (it never was in this tree).
    apply(
        &mut w.state,
        ev(
            "procfork",
            500,
            500,
            &[("child_tid", P::I(777)), ("child_pid", P::I(777))],
        ),
    );
    apply(
        &mut w.state,
        ev(
            "procexec",
            777,
            777,
            &[("filename", P::S("/bin/cat")), ("old_tid", P::I(777))],
        ),
    );
    apply(
        &mut w.state,
        ev(
            "execve",
            777,
            777,
            &[
                ("res", P::I(0)),
                ("exe", P::S("/bin/busybox")),
                ("args", P::L(vec!["cat", "/etc/shadow"])),
                ("cwd", P::S("/app")),
                ("uid", P::I(0)),
                ("euid", P::I(0)),
                ("vpid", P::I(7)),
            ],
        ),
    );
    apply(
        &mut w.state,
        ev(
            "openat",
            777,
            777,
            &[
                ("res", P::I(3)),
                ("dirfd", P::I(-100)),
                ("name", P::S("/etc/shadow")),
                ("flags", P::I(0)),
            ],
        ),
    );
    let s = &w.state;
    let cat = s.process(777).unwrap();
    assert_eq!(cat.name(), "cat");
    assert_eq!(cat.exepath.as_ref(), "/bin/busybox");
    assert_eq!(cat.cmdline_line(), "cat /etc/shadow");
    assert_eq!(cat.vpid, 7);
    assert_eq!(s.parent(cat).unwrap().name(), "sh");
    assert_eq!(s.fd(777, 3).unwrap().name(), "/etc/shadow");
    assert_eq!(s.container_id(777), Some(&CID[..12]));
    // The root is read through a live ancestor in the same container.
    assert_eq!(s.user_name(777).as_deref(), Some("appuser"));
    let ctx = s.context_json(777);
    assert_eq!(ctx["proc"]["name"], "cat");
    assert_eq!(ctx["proc"]["pname"], "sh");
    assert_eq!(ctx["proc"]["anames"], json!(["sh", "sshd", "init"]));
    assert_eq!(ctx["user"]["name"], "appuser");
    assert_eq!(ctx["container"]["id"], &CID[..12]);
    assert_eq!(ctx["container"]["image.repository"], "registry.local/shop");
    assert_eq!(ctx["container"]["k8s.pod.name"], "shop-0");
    assert_eq!(ctx["container"]["k8s.ns.name"], "payments");
    assert_eq!(s.stats().lazy_filled, 0);
    assert_eq!(s.containers().disk_lookups, 1, "looked up once per id");
    // `kestrel events --context` writes cat's openat as the JSON tree did:
    // the event's members, then the context objects.
    let bytes = crate::record::RecordBuilder::new(
        kestrel_abi::EventType::KESTREL_EVT_OPENAT as u16,
        5,
        777,
        777,
    )
    .i64(3)
    .i64(-100)
    .param(b"/etc/shadow")
    .u32(0)
    .u32(0)
    .param(b"/etc/shadow")
    .build();
    let rec = crate::record::Record::parse(&bytes).unwrap();
    let open = crate::decode::decode(&rec).unwrap();
    for state in [Some(s), None] {
        let mut line = Vec::new();
        crate::cli::events::write_event_with_context(
            &mut crate::output::EventLineWriter::new(),
            &mut line,
            &open,
            2,
            9,
            state,
        )
        .unwrap();
        let mut want = crate::output::tests::event_json(&open, 2, 9);
        if let (Some(s), Some(obj)) = (state, want.as_object_mut()) {
            obj.extend(s.context_json(777));
        }
        let mut want = serde_json::to_vec(&want).unwrap();
        want.push(b'\n');
        assert_eq!(
            String::from_utf8_lossy(&line),
            String::from_utf8_lossy(&want)
        );
        let has_context = String::from_utf8_lossy(&line).contains(r#","proc":{"pid":"#);
        assert_eq!(has_context, state.is_some());
    }
    apply(&mut w.state, ev("procexit", 777, 777, &[]));
    assert!(
        w.state.process(777).is_some(),
        "kept for the procexit's own rules"
    );
    w.state.flush_pending();
    assert!(w.state.process(777).is_none());
}

#[test]
fn unknown_threads_are_filled_lazily_and_counted() {
    let mut w = world();
    // No scan: the first event from sshd fills it (and its parent).
    apply(
        &mut w.state,
        ev(
            "openat",
            100,
            100,
            &[("res", P::I(5)), ("dirfd", P::I(-100)), ("name", P::S("x"))],
        ),
    );
    assert_eq!(w.state.stats().lazy_filled, 1);
    let sshd = w.state.process(100).unwrap();
    assert_eq!(w.state.parent(sshd).unwrap().name(), "init");
    assert_eq!(
        w.state.fd(100, 5).unwrap().path.as_ref(),
        "/x",
        "resolved against the cwd read from /proc"
    );
    // A thread /proc does not have: one failed read, then remembered.
    for _ in 0..3 {
        apply(
            &mut w.state,
            ev("close", 4242, 4242, &[("res", P::I(0)), ("fd", P::I(1))]),
        );
    }
    assert_eq!(w.state.stats().lazy_failed, 1);
    // It is still entered, with only its ids, and counted.
    let p = w
        .state
        .process(4242)
        .expect("an entry from the events alone");
    assert_eq!((p.pid, p.ppid, p.name()), (4242, 0, ""));
    assert_eq!(w.state.table().stats.from_events, 1);
}

#[test]
fn fd_calls_keep_the_table() {
    let mut w = world();
    w.state.scan();
    let s = &mut w.state;
    let open = |s: &mut State, fd: i64, dirfd: i64, name: &'static str, flags: i64| {
        apply(
            s,
            ev(
                "openat",
                100,
                100,
                &[
                    ("res", P::I(fd)),
                    ("dirfd", P::I(dirfd)),
                    ("name", P::S(name)),
                    ("flags", P::I(flags)),
                ],
            ),
        )
    };
    open(s, 5, -100, "etc/../etc/passwd", 0);
    assert_eq!(s.fd(100, 5).unwrap().path.as_ref(), "/etc/passwd");
    open(s, 6, -100, "/var/lib", 0o200000);
    assert_eq!(s.fd(100, 6).unwrap().type_name(), "directory");
    open(s, 7, 6, "dpkg/status", 0);
    assert_eq!(s.fd(100, 7).unwrap().name(), "/var/lib/dpkg/status");
    assert_eq!(s.fd(100, 7).unwrap().directory(), Some("/var/lib/dpkg"));
    open(s, 8, 42, "rel", 0);
    assert_eq!(
        s.fd(100, 8).unwrap().name(),
        "<unresolved>/rel",
        "an unknown dirfd says so"
    );
    open(s, -2, -100, "/nope", 0);
    assert!(s.fd(100, -2).is_none());
    apply(
        s,
        ev(
            "openat",
            100,
            100,
            &[
                ("res", P::I(9)),
                ("dirfd", P::I(-100)),
                ("name", P::S("whatever")),
                ("fullpath", P::S("/real/path")),
            ],
        ),
    );
    assert_eq!(
        s.fd(100, 9).unwrap().name(),
        "/real/path",
        "the kernel's path wins"
    );
    // socket + connect
    apply(
        s,
        ev(
            "socket",
            100,
            100,
            &[
                ("res", P::I(10)),
                ("domain", P::I(libc::AF_INET.into())),
                ("type", P::I(libc::SOCK_STREAM.into())),
                ("proto", P::I(0)),
            ],
        ),
    );
    apply(
        s,
        ev(
            "connect",
            100,
            100,
            &[
                ("res", P::I(0)),
                ("fd", P::I(10)),
                (
                    "tuple",
                    P::T(
                        Endpoint::Inet("10.0.0.5:41000".parse().unwrap()),
                        Endpoint::Inet("93.184.216.34:443".parse().unwrap()),
                    ),
                ),
            ],
        ),
    );
    let c = s.fd(100, 10).unwrap();
    assert_eq!(c.name(), "10.0.0.5:41000->93.184.216.34:443");
    assert_eq!(
        (c.type_char(), c.l4proto(), c.sport()),
        ('4', "tcp", Some(443))
    );
    // bind of a UDP socket, connect with only the address as passed
    apply(
        s,
        ev(
            "socket",
            100,
            100,
            &[
                ("res", P::I(14)),
                ("domain", P::I(libc::AF_INET.into())),
                ("type", P::I(libc::SOCK_DGRAM.into())),
                ("proto", P::I(0)),
            ],
        ),
    );
    apply(
        s,
        ev(
            "bind",
            100,
            100,
            &[
                ("res", P::I(0)),
                ("fd", P::I(14)),
                (
                    "addr",
                    P::A(Endpoint::Inet("0.0.0.0:5353".parse().unwrap())),
                ),
            ],
        ),
    );
    let b = s.fd(100, 14).unwrap();
    assert_eq!(
        (b.lport(), b.sport(), b.l4proto()),
        (Some(5353), Some(5353), "udp")
    );
    apply(
        s,
        ev(
            "connect",
            100,
            100,
            &[
                ("res", P::I(-(libc::EINPROGRESS as i64))),
                ("fd", P::I(14)),
                ("addr", P::A(Endpoint::Inet("8.8.8.8:53".parse().unwrap()))),
            ],
        ),
    );
    assert_eq!(
        s.fd(100, 14).unwrap().rip(),
        Some("8.8.8.8".parse().unwrap())
    );
    // accept on a listener
    apply(
        s,
        ev(
            "accept4",
            100,
            100,
            &[
                ("res", P::I(11)),
                ("fd", P::I(3)),
                (
                    "tuple",
                    P::T(
                        Endpoint::Inet("[::1]:22".parse().unwrap()),
                        Endpoint::Inet("[::1]:50000".parse().unwrap()),
                    ),
                ),
                ("flags", P::I(libc::SOCK_CLOEXEC.into())),
            ],
        ),
    );
    let a = s.fd(100, 11).unwrap();
    assert_eq!(
        (a.type_name(), a.sport(), a.cport()),
        ("ipv6", Some(22), Some(50000))
    );
    assert!(a.cloexec());
    // pipe, dup2, fcntl dup, close
    apply(
        s,
        ev(
            "pipe2",
            100,
            100,
            &[
                ("res", P::I(0)),
                ("fd1", P::I(12)),
                ("fd2", P::I(13)),
                ("flags", P::I(0)),
            ],
        ),
    );
    assert_eq!(s.fd(100, 13).unwrap().type_char(), 'p');
    apply(
        s,
        ev(
            "dup2",
            100,
            100,
            &[("res", P::I(1)), ("oldfd", P::I(5)), ("newfd", P::I(1))],
        ),
    );
    assert_eq!(s.fd(100, 1).unwrap().name(), "/etc/passwd");
    apply(
        s,
        ev(
            "fcntl",
            100,
            100,
            &[("res", P::I(20)), ("fd", P::I(7)), ("cmd", P::I(1030))],
        ),
    );
    assert!(s.fd(100, 20).unwrap().cloexec());
    apply(
        s,
        ev("close", 100, 100, &[("res", P::I(0)), ("fd", P::I(5))]),
    );
    s.flush_pending();
    assert!(s.fd(100, 5).is_none());
    apply(
        s,
        ev(
            "memfd_create",
            100,
            100,
            &[
                ("res", P::I(21)),
                ("name", P::S("payload")),
                ("flags", P::I(1)),
            ],
        ),
    );
    assert_eq!(s.fd(100, 21).unwrap().name(), "memfd:payload");
    // A failed close changes nothing.
    apply(
        s,
        ev("close", 100, 100, &[("res", P::I(-9)), ("fd", P::I(21))]),
    );
    assert!(s.fd(100, 21).is_some());
    // exec drops the close-on-exec ones (11, 20, 21) and keeps the rest.
    apply(
        s,
        ev(
            "execve",
            100,
            100,
            &[
                ("res", P::I(0)),
                ("exe", P::S("/bin/true")),
                ("comm", P::S("true")),
            ],
        ),
    );
    assert!(s.fd(100, 11).is_none() && s.fd(100, 20).is_none() && s.fd(100, 21).is_none());
    assert!(s.fd(100, 13).is_some());
    assert_eq!(s.process(100).unwrap().name(), "true");
}

#[test]
fn clone_threads_share_fds_and_set_ids_update_users() {
    let mut w = world();
    w.state.scan();
    let s = &mut w.state;
    // clone(CLONE_THREAD) returning in the parent
    apply(
        s,
        ev(
            "clone",
            100,
            100,
            &[("res", P::I(101)), ("flags", P::I(0x0001_0000 | 0x100))],
        ),
    );
    assert_eq!(s.thread(101).unwrap().pid, 100);
    assert_eq!(s.fd(101, 4).unwrap().name(), "/var/log/auth.log");
    apply(
        s,
        ev("setuid", 101, 100, &[("res", P::I(0)), ("uid", P::I(1000))]),
    );
    assert_eq!(
        s.user_name(100).as_deref(),
        Some("alice"),
        "threads share ids"
    );
    apply(
        s,
        ev(
            "setresuid",
            100,
            100,
            &[
                ("res", P::I(0)),
                ("ruid", P::I(-1)),
                ("euid", P::I(0)),
                ("suid", P::I(-1)),
            ],
        ),
    );
    let c = s.process(100).unwrap().creds;
    assert_eq!((c.uid, c.euid), (1000, 0), "-1 leaves a value unchanged");
    // fork (a new process) copies the fds; its own later opens are its own
    apply(s, ev("fork", 100, 100, &[("res", P::I(300))]));
    assert_eq!(s.process(300).unwrap().ppid, 100);
    apply(
        s,
        ev(
            "open",
            300,
            300,
            &[("res", P::I(9)), ("name", P::S("/tmp/x"))],
        ),
    );
    assert!(s.fd(300, 9).is_some() && s.fd(100, 9).is_none());
    // a non-existent process root is not needed for host users
    assert!(!proc_dir(&w).join("300").exists());
}

#[test]
fn exec_cgroup_moves_a_process_into_a_container() {
    let mut w = world();
    w.state.scan();
    apply(&mut w.state, ev(
        "execve",
        100,
        100,
        &[
            ("res", P::I(0)),
            ("exe", P::S("/usr/bin/runc")),
            (
                "cgroups",
                P::S("/kubepods.slice/kubepods-poduid_1.slice/cri-containerd-5b1c0e2d3f4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344.scope"),
            ),
        ],
    ));
    assert_eq!(w.state.container_id(100), Some(&CID[..12]));
    assert_eq!(
        w.state.containers().disk_lookups,
        2 - 1,
        "cached from the scan"
    );
}

#[test]
fn scans_the_real_proc() {
    let file = tempfile_in_tmp();
    let mut s = State::new(StateOptions::default());
    assert!(s.scan() > 0);
    let me = std::process::id();
    let p = s.process_by_pid(me).expect("this test's own process");
    let exe = std::env::current_exe().unwrap();
    assert_eq!(Path::new(p.exepath.as_ref()), exe.as_path());
    assert!(p.creds.euid != threads::UNKNOWN_ID);
    let fd = {
        use std::os::fd::AsRawFd;
        file.0.as_raw_fd()
    };
    let info = s.process_by_pid(me).unwrap().fds.get(fd.into()).unwrap();
    assert_eq!(Path::new(info.path.as_ref()), file.1.as_path());
    assert_eq!(info.type_name(), "file");
    let _ = fs::remove_file(&file.1);
}

fn tempfile_in_tmp() -> (fs::File, std::path::PathBuf) {
    let p = std::env::temp_dir().join(format!("kestrel-scan-{}", std::process::id()));
    (fs::File::create(&p).unwrap(), p.canonicalize().unwrap())
}

#[test]
fn the_environment_comes_from_proc_and_from_exec_records() {
    let mut w = world();
    // A 4 KiB cap: the entry cut there is dropped.
    let long = format!("BIG={}", "x".repeat(super::threads::MAX_ENV_BYTES));
    fs::write(
        proc_dir(&w).join("100/environ"),
        format!("LANG=C.UTF-8\0PATH=/usr/sbin:/usr/bin\0{long}\0"),
    )
    .unwrap();
    w.state.scan();
    let sshd = w.state.process(100).unwrap();
    assert_eq!(sshd.env_var("LANG"), Some("C.UTF-8"));
    assert_eq!(sshd.env_var("PATH"), Some("/usr/sbin:/usr/bin"));
    assert_eq!(sshd.env_var("BIG"), None, "cut at MAX_ENV_BYTES");
    assert_eq!(w.state.process(1).unwrap().env_var("LANG"), None);
    // A fork inherits it; an exec replaces it with the record's.
    apply(
        &mut w.state,
        ev(
            "procfork",
            100,
            100,
            &[("child_tid", P::I(600)), ("child_pid", P::I(600))],
        ),
    );
    assert_eq!(
        w.state.process(600).unwrap().env_var("LANG"),
        Some("C.UTF-8")
    );
    apply(
        &mut w.state,
        ev(
            "execve",
            600,
            600,
            &[
                ("res", P::I(0)),
                ("exe", P::S("/usr/bin/env")),
                ("args", P::L(vec!["env"])),
                ("env", P::L(vec!["TERM=xterm", "EMPTY="])),
            ],
        ),
    );
    let p = w.state.process(600).unwrap();
    assert_eq!(p.env_var("TERM"), Some("xterm"));
    assert_eq!(p.env_var("EMPTY"), Some(""));
    assert_eq!(p.env_var("LANG"), None);
    assert_eq!(p.env_vars().collect::<Vec<_>>(), ["TERM=xterm", "EMPTY="]);
}

#[test]
fn chdir_and_fchdir_move_the_working_directory() {
    let mut w = world();
    w.state.scan();
    let s = &mut w.state;
    let cwd = |s: &State| s.process(100).unwrap().cwd.to_string();
    assert_eq!(cwd(s), "/");
    apply(
        s,
        ev(
            "chdir",
            100,
            100,
            &[("res", P::I(0)), ("path", P::S("/srv"))],
        ),
    );
    assert_eq!(cwd(s), "/srv");
    apply(
        s,
        ev(
            "chdir",
            100,
            100,
            &[("res", P::I(0)), ("path", P::S("data/../logs/"))],
        ),
    );
    assert_eq!(cwd(s), "/srv/logs", "relative to the old cwd, normalized");
    apply(
        s,
        ev(
            "chdir",
            100,
            100,
            &[("res", P::I(-2)), ("path", P::S("/nonexistent"))],
        ),
    );
    assert_eq!(cwd(s), "/srv/logs", "a failed chdir changes nothing");
    // Relative opens follow the new cwd.
    apply(
        s,
        ev(
            "openat",
            100,
            100,
            &[
                ("res", P::I(7)),
                ("dirfd", P::I(-100)),
                ("name", P::S("app.log")),
            ],
        ),
    );
    assert_eq!(s.fd(100, 7).unwrap().path.as_ref(), "/srv/logs/app.log");
    // fchdir to a directory fd (opened without O_DIRECTORY: the call's
    // success says it is one).
    apply(
        s,
        ev(
            "openat",
            100,
            100,
            &[
                ("res", P::I(8)),
                ("dirfd", P::I(-100)),
                ("name", P::S("/var/lib")),
            ],
        ),
    );
    apply(
        s,
        ev("fchdir", 100, 100, &[("res", P::I(0)), ("fd", P::I(8))]),
    );
    assert_eq!(cwd(s), "/var/lib");
    apply(
        s,
        ev("fchdir", 100, 100, &[("res", P::I(-9)), ("fd", P::I(99))]),
    );
    assert_eq!(cwd(s), "/var/lib", "a failed fchdir changes nothing");
    // fchdir to an fd the table does not know: the cwd is unknown now, and
    // a relative chdir from there stays unknown.
    apply(
        s,
        ev("fchdir", 100, 100, &[("res", P::I(0)), ("fd", P::I(42))]),
    );
    assert_eq!(cwd(s), "");
    apply(
        s,
        ev("chdir", 100, 100, &[("res", P::I(0)), ("path", P::S("x"))]),
    );
    assert_eq!(cwd(s), "");
    assert!(s
        .resolve_path(100, fds::AT_FDCWD, "y")
        .starts_with(fds::UNRESOLVED));
    // Threads share the cwd of their process.
    apply(
        s,
        ev(
            "chdir",
            100,
            100,
            &[("res", P::I(0)), ("path", P::S("/tmp"))],
        ),
    );
    apply(
        s,
        ev(
            "clone",
            100,
            100,
            &[("res", P::I(101)), ("flags", P::I(0x0001_0000))],
        ),
    );
    assert_eq!(s.process(101).unwrap().cwd.as_ref(), "/tmp");
}

#[test]
fn setsid_and_setpgid_keep_session_and_group() {
    let mut w = world();
    w.state.scan();
    let s = &mut w.state;
    let fork = |s: &mut State, parent: u32, child: u32| {
        apply(
            s,
            ev(
                "procfork",
                parent,
                parent,
                &[
                    ("child_tid", P::I(child.into())),
                    ("child_pid", P::I(child.into())),
                ],
            ),
        )
    };
    s.process_by_pid(100).unwrap();
    fork(s, 100, 600);
    let before = s.process(600).unwrap().sid;
    apply(s, ev("setsid", 600, 600, &[("res", P::I(-1))]));
    assert_eq!(s.process(600).unwrap().sid, before, "failed: unchanged");
    apply(s, ev("setsid", 600, 600, &[("res", P::I(600))]));
    let p = s.process(600).unwrap();
    assert_eq!((p.sid, p.pgid, p.vpgid, p.tty), (600, 600, 600, 0));
    assert_eq!(s.session_leader(p).unwrap().pid, 600);
    // The shell's job: setpgid(child, child) from the parent, then the
    // child's own setpgid(0, 0) (setpgrp); a child of the job joins it.
    fork(s, 600, 700);
    assert_eq!(s.process(700).unwrap().sid, 600, "inherited");
    apply(
        s,
        ev(
            "setpgid",
            600,
            600,
            &[("res", P::I(0)), ("pid", P::I(700)), ("pgid", P::I(700))],
        ),
    );
    assert_eq!(s.process(700).unwrap().pgid, 700);
    assert_eq!(s.process(600).unwrap().pgid, 600, "the caller is unchanged");
    apply(
        s,
        ev(
            "setpgid",
            700,
            700,
            &[("res", P::I(0)), ("pid", P::I(0)), ("pgid", P::I(0))],
        ),
    );
    let p = s.process(700).unwrap();
    assert_eq!((p.pgid, p.vpgid), (700, 700));
    assert_eq!(s.group_leader(p).unwrap().pid, 700);
    fork(s, 700, 701);
    apply(
        s,
        ev(
            "setpgid",
            701,
            701,
            &[("res", P::I(0)), ("pid", P::I(0)), ("pgid", P::I(600))],
        ),
    );
    let p = s.process(701).unwrap();
    assert_eq!((p.pgid, p.vpgid, p.sid), (600, 600, 600));
    // In a container the ids are the namespace's: the shell (pid 500, 1
    // inside) makes itself a group leader, then moves its child (vpid 2).
    apply(
        s,
        ev(
            "setpgid",
            500,
            500,
            &[("res", P::I(0)), ("pid", P::I(0)), ("pgid", P::I(0))],
        ),
    );
    let sh = s.process(500).unwrap();
    assert_eq!((sh.pgid, sh.vpgid), (500, 1));
    fork(s, 500, 510);
    apply(
        s,
        ev(
            "execve",
            510,
            510,
            &[
                ("res", P::I(0)),
                ("vpid", P::I(2)),
                ("pidns", P::I(4026532999)),
            ],
        ),
    );
    apply(
        s,
        ev(
            "setpgid",
            500,
            500,
            &[("res", P::I(0)), ("pid", P::I(2)), ("pgid", P::I(1))],
        ),
    );
    let c = s.process(510).unwrap();
    assert_eq!(
        (c.pgid, c.vpgid),
        (500, 1),
        "mapped to the initial namespace"
    );
    apply(
        s,
        ev(
            "setpgid",
            500,
            500,
            &[("res", P::I(0)), ("pid", P::I(2)), ("pgid", P::I(77))],
        ),
    );
    let c = s.process(510).unwrap();
    assert_eq!(
        (c.pgid, c.vpgid),
        (0, 77),
        "a group it cannot map is unknown"
    );
}

#[test]
fn orphans_keep_their_original_parent() {
    let mut w = world();
    w.state.scan();
    let s = &mut w.state;
    apply(
        s,
        ev(
            "procfork",
            100,
            100,
            &[("child_tid", P::I(600)), ("child_pid", P::I(600))],
        ),
    );
    apply(s, ev("procexit", 100, 100, &[]));
    s.flush_pending();
    let p = s.process(600).unwrap();
    assert_eq!(p.ppid, 100, "not the reaper");
    assert_eq!(s.parent(p).unwrap().name(), "sshd");
    assert!(s.parent(p).unwrap().exited);
}

#[test]
fn container_users_are_read_at_start_while_the_container_is_there() {
    let mut w = world();
    w.state.scan();
    // The container's processes leave /proc before the consumer asks.
    fs::remove_file(proc_dir(&w).join("500/root")).unwrap();
    assert_eq!(w.state.user_name(500).as_deref(), Some("appuser"));
}
