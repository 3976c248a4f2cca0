//! The 32-bit syscall map of `kmod/kestrel_abi.h` (`KESTREL_COMPAT_TABLE`,
//! `KESTREL_SOCKETCALL_TABLE`, `KESTREL_IPC_TABLE`) against the event table
//! and the system's syscall lists: every syscall that has an event is
//! reachable from the 32-bit ABI, and every name in the map is a real
//! syscall of its ABI (the module's build would fail on a wrong one; this
//! says which row, without a kernel tree).

#![allow(dead_code)]

const ABI_HEADER: &str = "kestrel_abi.h";
include!("../schema_gen.rs");

const HEADER: &str = include_str!("../../kmod/kestrel_abi.h");

/// Where Debian (linux-libc-dev) keeps the i386 syscall numbers.
const UNISTD_32: &[&str] = &[
    "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
    "/usr/include/asm/unistd_32.h",
];

fn table(name: &str) -> Vec<Call> {
    parse_calls(&macro_body(HEADER, name).unwrap(), name).unwrap()
}

/// The x86_64 syscalls the 32-bit ABI is recorded as.
fn reachable() -> Vec<String> {
    let mut out: Vec<String> = table("KESTREL_COMPAT_TABLE")
        .iter()
        .map(|c| c.args[1].clone())
        .collect();
    out.extend(
        table("KESTREL_SOCKETCALL_TABLE")
            .iter()
            .map(|c| c.args[1].clone()),
    );
    out.extend(table("KESTREL_IPC_TABLE").iter().map(|c| c.args[1].clone()));
    out
}

#[test]
fn every_event_syscall_is_reachable_from_32_bit_code() {
    let reach = reachable();
    let mut missing = Vec::new();
    for ev in table("KESTREL_EVENT_TABLE") {
        let syscall = &ev.args[4];
        if syscall != "_" && !reach.contains(syscall) {
            missing.push(syscall.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "no 32-bit syscall is recorded as: {missing:?} (add a KESTREL_COMPAT_TABLE row)"
    );
}

#[test]
fn map_names_are_real_syscalls() {
    for c in table("KESTREL_COMPAT_TABLE") {
        assert_eq!(c.name, "C");
        assert!(
            matches!(
                c.args[2].as_str(),
                "PLAIN" | "ID16" | "OWN16" | "MMAP" | "MMAP2"
            ),
            "{}: ARGS `{}`",
            c.args[0],
            c.args[2]
        );
    }
    for x64 in reachable() {
        assert!(
            kestrel_abi::syscalls().iter().any(|(n, _)| *n == x64),
            "`{x64}` is not an x86_64 syscall"
        );
    }
    // The ia32 names, when the system has the i386 list.
    let Some(text) = UNISTD_32
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
    else {
        eprintln!("no asm/unistd_32.h: ia32 names not checked");
        return;
    };
    let ia32: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#define __NR_")?.split_whitespace().next())
        .collect();
    for c in table("KESTREL_COMPAT_TABLE") {
        assert!(
            ia32.contains(&c.args[0].as_str()),
            "`{}` is not an ia32 syscall",
            c.args[0]
        );
    }
    for name in ["socketcall", "ipc"] {
        assert!(ia32.contains(&name), "{name}");
    }
}
