//! Decoded events → one JSON object per line.
//!
//! Shape: `{"time", "ts_ns", "cpu", "tid", "pid", "type", "dir"?, "res"?,
//! "args", "sym"?, "truncated"?, "faulted"?}` (see [`event_json`]).

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use kestrel_abi::{ParamFormat, ParamKind, ParamSchema};

use crate::decode::{Bytes, Event, Value as DValue};
use crate::flags::render;

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

/// The JSON form of one parameter value.
pub fn value_json(schema: &ParamSchema, v: &DValue<'_>) -> Value {
    match v {
        DValue::Int(i) => json!(i),
        DValue::Uint(u) => json!(u),
        DValue::Str(b) if b.fault => Value::Null,
        DValue::Str(b) => text(b),
        DValue::Argv(b) if b.fault => Value::Null,
        DValue::Argv(b) => argv(b),
        DValue::Bytes(b) if b.fault => Value::Null,
        DValue::Bytes(b) if schema.kind == ParamKind::Rawargs => Value::Array(
            b.bytes
                .chunks_exact(8)
                .map(|c| json!(u64::from_le_bytes(c.try_into().expect("8 bytes"))))
                .collect(),
        ),
        DValue::Bytes(b) => json!(b
            .bytes
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()),
        DValue::SockAddr(a) => json!(a.to_string()),
        DValue::Tuple(t) => json!(t.to_string()),
        DValue::Fault => Value::Null,
    }
}

/// The JSON object for one event: `{"time", "ts_ns", "cpu", "tid", "pid",
/// "type", "dir"?, "res"?, "args", "sym"?, "truncated"?, "faulted"?}`.
///
/// `dir` is `>` or `<` for syscall events; `res` is the return value of
/// syscall exit events (not repeated in `args`); `args` holds every other
/// parameter by name (text as strings, argv/env as arrays, addresses and
/// tuples as text, parameters that could not be read as null); `sym` gives
/// the symbolic form of flag-like numbers (`"flags": "O_RDONLY|O_CLOEXEC"`);
/// `truncated` / `faulted` list the parameters the module cut at snaplen or
/// could not read.
pub fn event_json(ev: &Event<'_>, ring: u32, wall_offset_ns: i64) -> Value {
    let mut args = Map::new();
    let mut sym = Map::new();
    let mut truncated = Vec::new();
    let mut faulted = Vec::new();
    for (p, v) in ev.params() {
        if v.is_truncated() {
            truncated.push(json!(p.name));
        }
        if v.is_fault() {
            faulted.push(json!(p.name));
        }
        if p.kind == ParamKind::Res {
            continue;
        }
        if p.format != ParamFormat::None {
            if let Some(s) = v.as_i64().and_then(|n| render(p.format, n)) {
                sym.insert(p.name.into(), json!(s));
            } else if let Some(s) = v.as_u64().and_then(|n| render(p.format, n as i64)) {
                sym.insert(p.name.into(), json!(s));
            }
        }
        args.insert(p.name.into(), value_json(p, v));
    }
    if ev.schema.id == "GENERIC" {
        if let Some(name) = ev
            .param("nr")
            .and_then(DValue::as_u64)
            .and_then(|nr| kestrel_abi::syscall_name(u32::try_from(nr).ok()?))
        {
            sym.insert("nr".into(), json!(name));
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
    obj.insert("type".into(), json!(ev.name()));
    if ev.schema.syscall.is_some() || ev.schema.id == "GENERIC" {
        obj.insert("dir".into(), json!(if ev.is_enter() { ">" } else { "<" }));
    }
    if let Some(r) = ev.param("res") {
        obj.insert("res".into(), value_json(&ev.schema.params[0], r));
    }
    obj.insert("args".into(), Value::Object(args));
    if !sym.is_empty() {
        obj.insert("sym".into(), Value::Object(sym));
    }
    if !truncated.is_empty() {
        obj.insert("truncated".into(), Value::Array(truncated));
    }
    if !faulted.is_empty() {
        obj.insert("faulted".into(), Value::Array(faulted));
    }
    Value::Object(obj)
}

/// Writes one event as a JSON line.
pub fn write_event_line(
    out: &mut impl Write,
    ev: &Event<'_>,
    ring: u32,
    wall_offset_ns: i64,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &event_json(ev, ring, wall_offset_ns))?;
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
    fn connect_json_renders_addresses() {
        let mut sa = vec![2u8, 0, 0x15, 0xb3, 127, 0, 0, 1];
        sa.extend_from_slice(&[0; 8]);
        let mut tuple = vec![2u8, 127, 0, 0, 1];
        tuple.extend_from_slice(&40000u16.to_le_bytes());
        tuple.extend_from_slice(&[127, 0, 0, 1]);
        tuple.extend_from_slice(&5555u16.to_le_bytes());
        let b = RecordBuilder::new(T::KESTREL_EVT_CONNECT as u16, 10, 7, 7)
            .i64(-111)
            .i64(3)
            .param(&sa)
            .param(&tuple)
            .build();
        let rec = Record::parse(&b).unwrap();
        let v = event_json(&decode(&rec).unwrap(), 1, 5);
        assert_eq!(v["type"], "connect");
        assert_eq!(v["dir"], "<");
        assert_eq!(v["res"], -111);
        assert_eq!(v["cpu"], 1);
        assert_eq!(v["args"]["fd"], 3);
        assert_eq!(v["args"]["addr"], "127.0.0.1:5555");
        assert_eq!(v["args"]["tuple"], "127.0.0.1:40000->127.0.0.1:5555");
        assert!(v["args"].get("res").is_none());
        assert_eq!(v["time"], "1970-01-01T00:00:00.000000015Z");
    }

    #[test]
    fn execve_json_lists_args_and_flags() {
        let b = RecordBuilder::new(T::KESTREL_EVT_EXECVE_ENTER as u16, 1, 2, 2)
            .param(b"/bin/sh")
            .param_flags(b"sh\0-c\0echo hi\0", kestrel_abi::PARAM_TRUNCATED)
            .build();
        let rec = Record::parse(&b).unwrap();
        let v = event_json(&decode(&rec).unwrap(), 0, 0);
        assert_eq!(v["type"], "execve");
        assert_eq!(v["dir"], ">");
        assert!(v.get("res").is_none());
        assert_eq!(v["args"]["args"], json!(["sh", "-c", "echo hi"]));
        assert_eq!(v["truncated"], json!(["args"]));
        assert!(v.get("faulted").is_none());
    }

    #[test]
    fn openat_json_has_symbolic_flags_and_null_faults() {
        let b = RecordBuilder::new(T::KESTREL_EVT_OPENAT as u16, 1, 2, 2)
            .i64(3)
            .i64(-100)
            .param(b"/etc/shadow")
            .u32(libc::O_CLOEXEC as u32)
            .u32(0)
            .param_flags(b"", kestrel_abi::PARAM_FAULT)
            .build();
        let rec = Record::parse(&b).unwrap();
        let v = event_json(&decode(&rec).unwrap(), 0, 0);
        assert_eq!(v["args"]["name"], "/etc/shadow");
        assert_eq!(v["args"]["flags"], libc::O_CLOEXEC);
        assert_eq!(v["sym"]["flags"], "O_RDONLY|O_CLOEXEC");
        assert!(v["sym"].get("mode").is_none());
        assert_eq!(v["args"]["fullpath"], Value::Null);
        assert_eq!(v["faulted"], json!(["fullpath"]));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "time", "ts_ns", "cpu", "tid", "pid", "type", "dir", "res", "args", "sym",
                "faulted"
            ]
        );
    }

    #[test]
    fn procexit_json_has_no_dir_or_res() {
        let b = RecordBuilder::new(T::KESTREL_EVT_PROC_EXIT as u16, 1, 2, 2)
            .u32(256)
            .build();
        let rec = Record::parse(&b).unwrap();
        let v = event_json(&decode(&rec).unwrap(), 0, 0);
        assert_eq!(v["type"], "procexit");
        assert_eq!(v["args"]["status"], 256);
        assert!(v.get("dir").is_none() && v.get("res").is_none());
    }

    #[test]
    fn every_event_type_renders_all_its_parameters() {
        use kestrel_abi::{schemas, WireType};
        for s in schemas() {
            let mut b = RecordBuilder::new(s.event_type, 1, 2, 3);
            for p in s.params {
                b = match p.kind.wire() {
                    WireType::S64 => b.i64(-5),
                    WireType::U64 => b.u64(5),
                    WireType::U32 => b.u32(5),
                    WireType::Bytes => b.param(&[1; 48]),
                    WireType::Argv => b.param(b"a\0b\0"),
                    WireType::Str => b.param(b"/x"),
                    WireType::SockAddr => b.param(&[1, 0, b'/', b's']),
                    WireType::Tuple => b.param(b"\x01/s"),
                };
            }
            let bytes = b.build();
            let rec = Record::parse(&bytes).unwrap();
            let v = event_json(&decode(&rec).unwrap(), 0, 0);
            assert_eq!(v["type"], s.name, "{}", s.id);
            for p in s.params {
                if p.name == "res" {
                    assert_eq!(v["res"], -5, "{}", s.id);
                } else {
                    assert!(!v["args"][p.name].is_null(), "{}.{}", s.id, p.name);
                }
            }
            assert!(v.get("faulted").is_none() && v.get("truncated").is_none());
        }
    }
}
