//! End-to-end tests of the `kestrel` binary that need no kernel module:
//! replay of capture files, and the errors a user meets first.

use std::path::PathBuf;
use std::process::{Command, Output};

use kestrel::capture::{CaptureHeader, CaptureWriter};
use kestrel::record::{Record, RecordBuilder};
use kestrel_abi::EventType as T;

fn kestrel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(args)
        .output()
        .expect("run kestrel")
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kestrel-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A capture of the reference story: a shell execs cat, cat opens
/// /etc/shadow, then an outbound connect, and a gap of 3 lost events.
fn story_capture() -> Vec<u8> {
    let header = CaptureHeader {
        abi_version: kestrel_abi::ABI_VERSION,
        wall_offset_ns: 1_795_802_400_000_000_000,
        nr_rings: 2,
        snaplen: 4096,
    };
    // res exe args cwd uid gid euid egid loginuid tty cgroups pidns vpid
    // vtid ptid env comm
    let exec = RecordBuilder::new(T::KESTREL_EVT_EXECVE as u16, 1_000, 301, 301)
        .i64(0)
        .param(b"/bin/busybox")
        .param(b"cat\0/etc/shadow\0")
        .param(b"/root")
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(u32::MAX)
        .u32(0)
        .param(b"/")
        .u32(4026531836)
        .u32(301)
        .u32(301)
        .u32(300)
        .param(b"HOME=/root\0")
        .param(b"cat")
        .build();
    let open = RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, 2_000, 301, 301)
        .i64(3)
        .i64(-100)
        .param(b"/etc/shadow")
        .u32(0)
        .u32(0)
        .param(b"/etc/shadow")
        .build();
    let mut sa = vec![2u8, 0, 0x01, 0xbb, 10, 1, 2, 3];
    sa.extend_from_slice(&[0; 8]);
    let mut tuple = vec![2u8, 10, 0, 0, 9];
    tuple.extend_from_slice(&40000u16.to_le_bytes());
    tuple.extend_from_slice(&[10, 1, 2, 3]);
    tuple.extend_from_slice(&443u16.to_le_bytes());
    let connect = RecordBuilder::new(T::KESTREL_EVT_CONNECT as u16, 3_000, 302, 300)
        .i64(0)
        .i64(4)
        .param(&sa)
        .param(&tuple)
        .build();
    let lost = RecordBuilder::new(T::KESTREL_EVT_LOST as u16, 0, 0, 0)
        .u64(17)
        .u64(3)
        .u64(0)
        .u64(0)
        .build();
    let mut w = CaptureWriter::new(Vec::new(), header).unwrap();
    for (ring, rec) in [(0, &exec), (0, &open), (1, &lost), (1, &connect)] {
        w.write(ring, &Record::parse(rec).unwrap()).unwrap();
    }
    w.finish().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn replay_prints_the_story_as_json() {
    let path = temp_path("story.kcap");
    std::fs::write(&path, story_capture()).unwrap();
    let out = kestrel(&["replay", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["type"], "execve");
    assert_eq!(
        lines[0]["args"]["args"],
        serde_json::json!(["cat", "/etc/shadow"])
    );
    assert_eq!(lines[0]["args"]["exe"], "/bin/busybox");
    assert_eq!(lines[0]["args"]["loginuid"], u32::MAX);
    assert_eq!(lines[0]["args"]["env"], serde_json::json!(["HOME=/root"]));
    assert_eq!(lines[1]["type"], "openat");
    assert_eq!(lines[1]["args"]["name"], "/etc/shadow");
    assert_eq!(lines[1]["args"]["fullpath"], "/etc/shadow");
    assert_eq!(lines[1]["sym"]["flags"], "O_RDONLY");
    assert_eq!(lines[1]["res"], 3);
    assert_eq!(lines[1]["tid"], 301);
    assert_eq!(lines[1]["time"], "2026-11-27T18:00:00.000002000Z");
    assert_eq!(lines[2]["type"], "lost");
    assert_eq!(lines[2]["args"]["ring_full"], 3);
    assert_eq!(lines[2]["cpu"], 1);
    assert_eq!(lines[3]["args"]["addr"], "10.1.2.3:443");
    assert_eq!(lines[3]["args"]["tuple"], "10.0.0.9:40000->10.1.2.3:443");
}

#[test]
fn replay_of_a_truncated_capture_names_the_offset() {
    let bytes = story_capture();
    let path = temp_path("cut.kcap");
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let out = kestrel(&["replay", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated at offset"), "{err}");
    // What came before the cut was still printed.
    assert_eq!(json_lines(&out).len(), 3);
}

#[test]
fn replay_refuses_a_file_that_is_not_a_capture() {
    let path = temp_path("not.kcap");
    std::fs::write(&path, b"#!/bin/sh\necho hello\n").unwrap();
    let out = kestrel(&["replay", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a kestrel capture file"));
    let out = kestrel(&["replay", "/nonexistent/x.kcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.kcap"));
}

#[test]
fn a_missing_device_says_how_to_load_the_module() {
    let out = kestrel(&["events", "--device", "/nonexistent/kestrel"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is the module loaded?"), "{err}");
    assert!(err.contains("insmod"), "{err}");
}

#[test]
fn bad_options_are_refused_before_touching_the_device() {
    let out = kestrel(&[
        "events",
        "--syscalls",
        "openat,bogus",
        "--device",
        "/nonexistent",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown syscall 'bogus'"));
    let out = kestrel(&["events", "--snaplen", "3", "--device", "/nonexistent"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--snaplen 3 is out of range"));
    let out = kestrel(&["events", "--duration", "0", "--device", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(1));
    let out = kestrel(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_covers_every_subcommand() {
    let out = kestrel(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["events", "capture", "replay", "stats"] {
        assert!(help.contains(cmd), "--help lacks {cmd}");
        let sub = kestrel(&[cmd, "--help"]);
        assert!(sub.status.success(), "{cmd} --help failed");
        assert!(!sub.stdout.is_empty());
    }
    let events = String::from_utf8_lossy(&kestrel(&["events", "--help"]).stdout).to_string();
    for opt in [
        "--syscalls",
        "--snaplen",
        "--count",
        "--duration",
        "--device",
    ] {
        assert!(events.contains(opt), "events --help lacks {opt}");
    }
}
