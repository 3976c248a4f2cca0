//! Decoded events → one JSON object per line.
//!
//! Shape: `{"time", "ts_ns", "cpu", "tid", "pid", "type", "res"?, "args"}`;
//! `args` holds the type's parameters by name, and `truncated` / `faulted`
//! list the parameters the module cut at snaplen or could not read.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::decode::{type_name, Bytes, Event, EventKind, SockAddr};

/// Formats nanoseconds since the Unix epoch as RFC 3339 UTC with nanoseconds
/// (`2026-11-27T21:40:00.123456789Z`).
pub fn format_wall_time(unix_ns: i128) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000) as i64;
    let nanos = unix_ns.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn text(b: &Bytes<'_>) -> Value {
    Value::String(b.lossy().into_owned())
}

fn argv(b: &Bytes<'_>) -> Value {
    Value::Array(
        b.split_nul()
            .map(|a| Value::String(String::from_utf8_lossy(a).into_owned()))
            .collect(),
    )
}

/// Adds the parameter names that were truncated or faulted.
fn flags(args: &mut Map<String, Value>, named: &[(&str, &Bytes<'_>)]) {
    let truncated: Vec<Value> = named
        .iter()
        .filter(|(_, b)| b.truncated)
        .map(|(n, _)| json!(n))
        .collect();
    let faulted: Vec<Value> = named
        .iter()
        .filter(|(_, b)| b.fault)
        .map(|(n, _)| json!(n))
        .collect();
    if !truncated.is_empty() {
        args.insert("truncated".into(), Value::Array(truncated));
    }
    if !faulted.is_empty() {
        args.insert("faulted".into(), Value::Array(faulted));
    }
}

/// The JSON object for one event.
pub fn event_json(ev: &Event<'_>, ring: u32, ty: u16, wall_offset_ns: i64) -> Value {
    let mut args = Map::new();
    let mut res = None;
    match &ev.kind {
        EventKind::Open {
            res: r,
            dirfd,
            path,
            flags: f,
            mode,
            resolve,
            ..
        } => {
            res = Some(*r);
            args.insert("dirfd".into(), json!(dirfd));
            args.insert("path".into(), text(path));
            args.insert("flags".into(), json!(f));
            args.insert("mode".into(), json!(mode));
            args.insert("resolve".into(), json!(resolve));
            flags(&mut args, &[("path", path)]);
        }
        EventKind::Exec {
            res: r,
            exe,
            argv: a,
            dirfd,
            flags: f,
            ..
        } => {
            res = Some(*r);
            args.insert("exe".into(), text(exe));
            args.insert("argv".into(), argv(a));
            args.insert("dirfd".into(), json!(dirfd));
            args.insert("flags".into(), json!(f));
            flags(&mut args, &[("exe", exe), ("argv", a)]);
        }
        EventKind::ExecEnter { path, argv: a, .. } => {
            args.insert("path".into(), text(path));
            args.insert("argv".into(), argv(a));
            flags(&mut args, &[("path", path), ("argv", a)]);
        }
        EventKind::Connect { res: r, fd, addr } => {
            res = Some(*r);
            args.insert("fd".into(), json!(fd));
            args.insert("family".into(), json!(addr.family_name()));
            match addr {
                SockAddr::Inet(ip, port) => {
                    args.insert("addr".into(), json!(ip.to_string()));
                    args.insert("port".into(), json!(port));
                }
                SockAddr::Inet6(ip, port) => {
                    args.insert("addr".into(), json!(ip.to_string()));
                    args.insert("port".into(), json!(port));
                }
                SockAddr::Unix(path) => {
                    args.insert(
                        "path".into(),
                        json!(String::from_utf8_lossy(path).into_owned()),
                    );
                }
                SockAddr::Other(_) | SockAddr::Unreadable => {}
            }
        }
        EventKind::Clone {
            res: r, flags: f, ..
        } => {
            res = Some(*r);
            args.insert("flags".into(), json!(f));
        }
        EventKind::ProcExit { exit_code } => {
            args.insert("exit_code".into(), json!(exit_code));
        }
        EventKind::ProcFork {
            child_tid,
            child_pid,
        } => {
            args.insert("child_tid".into(), json!(child_tid));
            args.insert("child_pid".into(), json!(child_pid));
        }
        EventKind::ProcExec { filename, old_tid } => {
            args.insert("filename".into(), text(filename));
            args.insert("old_tid".into(), json!(old_tid));
            flags(&mut args, &[("filename", filename)]);
        }
        EventKind::Generic {
            nr,
            res: r,
            args: a,
        } => {
            res = Some(*r);
            args.insert("nr".into(), json!(nr));
            args.insert(
                "name".into(),
                json!(kestrel_abi::syscall_name(*nr).unwrap_or("unknown")),
            );
            args.insert("args".into(), json!(a));
        }
        EventKind::Lost {
            seq,
            ring_full,
            too_large,
            fault,
        } => {
            args.insert("seq".into(), json!(seq));
            args.insert("ring_full".into(), json!(ring_full));
            args.insert("too_large".into(), json!(too_large));
            args.insert("fault".into(), json!(fault));
        }
    }
    let mut obj = Map::new();
    obj.insert(
        "time".into(),
        json!(format_wall_time(
            i128::from(ev.ts_ns) + i128::from(wall_offset_ns)
        )),
    );
    obj.insert("ts_ns".into(), json!(ev.ts_ns));
    obj.insert("cpu".into(), json!(ring));
    obj.insert("tid".into(), json!(ev.tid));
    obj.insert("pid".into(), json!(ev.pid));
    obj.insert("type".into(), json!(type_name(ty)));
    if let Some(r) = res {
        obj.insert("res".into(), json!(r));
    }
    obj.insert("args".into(), Value::Object(args));
    Value::Object(obj)
}

/// Writes one event as a JSON line.
pub fn write_event_line(
    out: &mut impl Write,
    ev: &Event<'_>,
    ring: u32,
    ty: u16,
    wall_offset_ns: i64,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &event_json(ev, ring, ty, wall_offset_ns))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::record::{Record, RecordBuilder};
    use kestrel_abi::EventType as T;

    #[test]
    fn formats_wall_time() {
        assert_eq!(format_wall_time(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_wall_time(1_795_802_400_123_456_789),
            "2026-11-27T18:00:00.123456789Z"
        );
        assert_eq!(
            format_wall_time(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
    }

    #[test]
    fn connect_json_names_family_address_and_port() {
        let mut sa = vec![2u8, 0, 0x15, 0xb3, 127, 0, 0, 1];
        sa.extend_from_slice(&[0; 8]);
        let b = RecordBuilder::new(T::KESTREL_EVT_CONNECT as u16, 10, 7, 7)
            .i64(-111)
            .i64(3)
            .param(&sa)
            .build();
        let rec = Record::parse(&b).unwrap();
        let v = event_json(&decode(&rec).unwrap(), 1, rec.event_type(), 5);
        assert_eq!(v["type"], "connect");
        assert_eq!(v["res"], -111);
        assert_eq!(v["cpu"], 1);
        assert_eq!(v["args"]["family"], "AF_INET");
        assert_eq!(v["args"]["addr"], "127.0.0.1");
        assert_eq!(v["args"]["port"], 5555);
        assert_eq!(v["time"], "1970-01-01T00:00:00.000000015Z");
    }

    #[test]
    fn execve_json_lists_argv_and_flags() {
        let b = RecordBuilder::new(T::KESTREL_EVT_EXECVE as u16, 1, 2, 2)
            .i64(0)
            .param(b"/bin/busybox")
            .param_flags(b"sh\0-c\0echo hi\0", kestrel_abi::PARAM_TRUNCATED)
            .i64(-100)
            .u32(0)
            .build();
        let rec = Record::parse(&b).unwrap();
        let v = event_json(&decode(&rec).unwrap(), 0, rec.event_type(), 0);
        assert_eq!(v["args"]["argv"], json!(["sh", "-c", "echo hi"]));
        assert_eq!(v["args"]["truncated"], json!(["argv"]));
        assert!(v["args"].get("faulted").is_none());
    }
}
