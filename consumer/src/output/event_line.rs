//! Decoded events → one JSON object per line.
//!
//! Shape: `{"time", "ts_ns", "cpu", "tid", "pid", "type", "dir"?, "res"?,
//! "args", "sym"?, "truncated"?, "faulted"?, "cut"?}` (see [`EventLineWriter`]).
//!
//! The line is written straight to the output, field by field, from the
//! decoded event's borrowed data: no JSON tree, and no heap allocation per
//! event except for symbolic flags and text that is not valid UTF-8.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serializer as _;
use serde_json::ser::{CompactFormatter, Formatter};

use kestrel_abi::{ParamFormat, ParamKind, ParamSchema};

use crate::decode::{ArgvCut, Event, Value as DValue};
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

/// Writes `s` as a JSON string, quoted and escaped exactly as serde_json does.
pub fn write_json_str(out: &mut (impl Write + ?Sized), s: &str) -> io::Result<()> {
    serde_json::Serializer::new(out)
        .serialize_str(s)
        .map_err(io::Error::from)
}

fn write_u64(out: &mut (impl Write + ?Sized), v: u64) -> io::Result<()> {
    CompactFormatter.write_u64(out, v)
}

fn write_i64(out: &mut (impl Write + ?Sized), v: i64) -> io::Result<()> {
    CompactFormatter.write_i64(out, v)
}

/// `"key":` (keys here are names from the ABI table or fixed words).
fn write_key(out: &mut (impl Write + ?Sized), key: &str) -> io::Result<()> {
    write_json_str(out, key)?;
    out.write_all(b":")
}

/// The RFC 3339 text of the current second (`2026-11-27T21:40:00.`),
/// formatted again only when the second changes.
#[derive(Default)]
struct WallSecondCache {
    second: Option<i64>,
    prefix: String,
}

impl WallSecondCache {
    /// Writes `"<format_wall_time(unix_ns)>"`.
    fn write(&mut self, out: &mut (impl Write + ?Sized), unix_ns: i128) -> io::Result<()> {
        let second = unix_ns.div_euclid(1_000_000_000) as i64;
        let nanos = unix_ns.rem_euclid(1_000_000_000) as u32;
        if self.second != Some(second) {
            let full = format_wall_time(i128::from(second) * 1_000_000_000);
            // Drop "000000000Z": the nanoseconds are written per event.
            self.prefix.clear();
            self.prefix.push_str(&full[..full.len() - 10]);
            self.second = Some(second);
        }
        let mut digits = *b"000000000Z\"";
        let mut n = nanos;
        for d in digits[..9].iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.write_all(b"\"")?;
        out.write_all(self.prefix.as_bytes())?;
        out.write_all(&digits)
    }
}

/// Writes events as JSON lines, one object per event, straight to an
/// [`io::Write`].  Keeps the formatted date of the last second seen and a
/// scratch buffer between events, so reuse one writer for a whole stream.
#[derive(Default)]
pub struct EventLineWriter {
    wall_second: WallSecondCache,
    scratch: String,
}

impl EventLineWriter {
    /// A writer with nothing cached yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes one event as a JSON line (the object, then `\n`).
    pub fn write_event_line(
        &mut self,
        out: &mut (impl Write + ?Sized),
        ev: &Event<'_>,
        ring: u32,
        wall_offset_ns: i64,
    ) -> io::Result<()> {
        self.write_event_fields(out, ev, ring, wall_offset_ns)?;
        out.write_all(b"}\n")
    }

    /// Writes the event's JSON object without its closing `}`, so that a
    /// caller can append more members (`,"key":value`) and then close it.
    ///
    /// Members: `time`, `ts_ns`, `cpu`, `tid`, `pid`, `type`, `dir`?, `res`?,
    /// `args`, `sym`?, `truncated`?, `faulted`?, `cut`?.  `dir` is `>` or `<` for
    /// syscall events; `res` is the return value of syscall exit events (not
    /// repeated in `args`); `args` holds every other parameter by name (text
    /// as strings, argv/env as arrays, addresses and tuples as text,
    /// parameters that could not be read as null); `sym` gives the symbolic
    /// form of flag-like numbers (`"flags": "O_RDONLY|O_CLOEXEC"`);
    /// `truncated` / `faulted` list the parameters the module cut at snaplen
    /// or could not read; `cut` says, per argv/env list the module cut item
    /// by item, how: `{"args":{"omitted":N,"first":F,"items":[i,...]}}`,
    /// where `omitted` items (null: an unknown number, the list's end was not
    /// found) were left out after the first `F` kept ones, and `items` are
    /// the indices, in the rendered array, of kept items cut short.
    pub fn write_event_fields(
        &mut self,
        out: &mut (impl Write + ?Sized),
        ev: &Event<'_>,
        ring: u32,
        wall_offset_ns: i64,
    ) -> io::Result<()> {
        out.write_all(b"{\"time\":")?;
        self.wall_second
            .write(out, i128::from(ev.ts_ns) + i128::from(wall_offset_ns))?;
        out.write_all(b",\"ts_ns\":")?;
        write_u64(out, ev.ts_ns)?;
        out.write_all(b",\"cpu\":")?;
        write_u64(out, u64::from(ring))?;
        out.write_all(b",\"tid\":")?;
        write_u64(out, u64::from(ev.tid))?;
        out.write_all(b",\"pid\":")?;
        write_u64(out, u64::from(ev.pid))?;
        out.write_all(b",\"type\":")?;
        write_json_str(out, ev.name())?;
        let generic = ev.schema.id == "GENERIC";
        if ev.schema.syscall.is_some() || generic {
            out.write_all(if ev.is_enter() {
                b",\"dir\":\">\""
            } else {
                b",\"dir\":\"<\""
            })?;
        }
        if let Some(r) = ev.param("res") {
            out.write_all(b",\"res\":")?;
            self.write_value(out, &ev.schema.params[0], r)?;
        }

        out.write_all(b",\"args\":{")?;
        let mut first = true;
        for (p, v) in ev.params() {
            if p.kind == ParamKind::Res {
                continue;
            }
            if !std::mem::take(&mut first) {
                out.write_all(b",")?;
            }
            write_key(out, p.name)?;
            self.write_value(out, p, v)?;
        }
        out.write_all(b"}")?;

        let mut sym_open = false;
        let mut sym_entry = |out: &mut _, name: &str, text: &str| -> io::Result<()> {
            out_sep(out, &mut sym_open, b",\"sym\":{")?;
            write_key(out, name)?;
            write_json_str(out, text)
        };
        for (p, v) in ev.params() {
            if p.kind == ParamKind::Res || p.format == ParamFormat::None {
                continue;
            }
            let text = v
                .as_i64()
                .and_then(|n| render(p.format, n))
                .or_else(|| v.as_u64().and_then(|n| render(p.format, n as i64)));
            if let Some(text) = text {
                sym_entry(out, p.name, &text)?;
            }
        }
        if generic {
            if let Some(name) = ev
                .param("nr")
                .and_then(DValue::as_u64)
                .and_then(|nr| kestrel_abi::syscall_name(u32::try_from(nr).ok()?))
            {
                sym_entry(out, "nr", name)?;
            }
        }
        if sym_open {
            out.write_all(b"}")?;
        }

        for (key, faults) in [(&b",\"truncated\":["[..], false), (b",\"faulted\":[", true)] {
            let mut open = false;
            for (p, v) in ev.params() {
                if if faults {
                    v.is_fault()
                } else {
                    v.is_truncated()
                } {
                    out_sep(out, &mut open, key)?;
                    write_json_str(out, p.name)?;
                }
            }
            if open {
                out.write_all(b"]")?;
            }
        }

        let mut cut_open = false;
        for (p, v) in ev.params() {
            let Some(cut) = v.as_bytes().and_then(|b| b.argv_cut()) else {
                continue;
            };
            out_sep(out, &mut cut_open, b",\"cut\":{")?;
            write_key(out, p.name)?;
            out.write_all(b"{\"omitted\":")?;
            if cut.omitted == ArgvCut::OMITTED_UNKNOWN {
                out.write_all(b"null")?;
            } else {
                write_u64(out, u64::from(cut.omitted))?;
            }
            out.write_all(b",\"first\":")?;
            write_u64(out, u64::from(cut.first))?;
            out.write_all(b",\"items\":[")?;
            for (n, i) in cut.cut_items().enumerate() {
                if n > 0 {
                    out.write_all(b",")?;
                }
                write_u64(out, i as u64)?;
            }
            out.write_all(b"]}")?;
        }
        if cut_open {
            out.write_all(b"}")?;
        }
        Ok(())
    }

    /// Writes one parameter value: numbers as numbers, text as a string,
    /// argv as an array of strings, raw syscall arguments as an array of
    /// numbers, other bytes as hex, addresses and tuples as text, and
    /// anything the module could not read as `null`.
    fn write_value(
        &mut self,
        out: &mut (impl Write + ?Sized),
        schema: &ParamSchema,
        v: &DValue<'_>,
    ) -> io::Result<()> {
        match v {
            DValue::Int(i) => write_i64(out, *i),
            DValue::Uint(u) => write_u64(out, *u),
            DValue::Str(b) | DValue::Argv(b) | DValue::Bytes(b) if b.fault => {
                out.write_all(b"null")
            }
            DValue::Fault => out.write_all(b"null"),
            DValue::Str(b) => write_json_str(out, &b.lossy()),
            DValue::Argv(b) => {
                out.write_all(b"[")?;
                for (i, a) in b.split_nul().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    write_json_str(out, &String::from_utf8_lossy(a))?;
                }
                out.write_all(b"]")
            }
            DValue::Bytes(b) if schema.kind == ParamKind::Rawargs => {
                out.write_all(b"[")?;
                for (i, c) in b.bytes.chunks_exact(8).enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    let word: [u8; 8] = c.try_into().expect("chunks_exact(8)");
                    write_u64(out, u64::from_le_bytes(word))?;
                }
                out.write_all(b"]")
            }
            DValue::Bytes(b) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.write_all(b"\"")?;
                for chunk in b.bytes.chunks(64) {
                    let mut buf = [0u8; 128];
                    for (i, x) in chunk.iter().enumerate() {
                        buf[2 * i] = HEX[usize::from(x >> 4)];
                        buf[2 * i + 1] = HEX[usize::from(x & 15)];
                    }
                    out.write_all(&buf[..2 * chunk.len()])?;
                }
                out.write_all(b"\"")
            }
            DValue::SockAddr(a) => self.write_display(out, a),
            DValue::Tuple(t) => self.write_display(out, t),
        }
    }

    /// Writes a value's Display text as a JSON string, through the scratch
    /// buffer (no allocation once the buffer has grown).
    fn write_display(
        &mut self,
        out: &mut (impl Write + ?Sized),
        v: &impl std::fmt::Display,
    ) -> io::Result<()> {
        self.scratch.clear();
        write!(self.scratch, "{v}").map_err(|_| io::Error::other("formatting a value failed"))?;
        write_json_str(out, &self.scratch)
    }
}

/// Writes `opening` before the first item of a list or object and `,`
/// before each later one.
fn out_sep(out: &mut (impl Write + ?Sized), open: &mut bool, opening: &[u8]) -> io::Result<()> {
    if *open {
        out.write_all(b",")
    } else {
        *open = true;
        out.write_all(opening)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::decode::{decode, Bytes};
    use crate::record::{Record, RecordBuilder};
    use kestrel_abi::EventType as T;
    use serde_json::{json, Map, Value};

    // ----- the oracle: the JSON-tree rendering this writer replaced -------

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

    fn value_json(schema: &ParamSchema, v: &DValue<'_>) -> Value {
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

    /// The event as the former `event_json` built it (a serde_json tree).
    pub(crate) fn event_json(ev: &Event<'_>, ring: u32, wall_offset_ns: i64) -> Value {
        let mut args = Map::new();
        let mut sym = Map::new();
        let mut truncated = Vec::new();
        let mut faulted = Vec::new();
        let mut cut = Map::new();
        for (p, v) in ev.params() {
            if let Some(c) = v.as_bytes().and_then(|b| b.argv_cut()) {
                let omitted = if c.omitted == ArgvCut::OMITTED_UNKNOWN {
                    Value::Null
                } else {
                    json!(c.omitted)
                };
                cut.insert(
                    p.name.into(),
                    json!({"omitted": omitted, "first": c.first,
                           "items": c.cut_items().collect::<Vec<_>>()}),
                );
            }
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
        if !cut.is_empty() {
            obj.insert("cut".into(), Value::Object(cut));
        }
        Value::Object(obj)
    }

    /// The line the writer produces, parsed back (key order kept).
    fn rendered(ev: &Event<'_>, ring: u32, wall_offset_ns: i64) -> Value {
        let mut line = Vec::new();
        EventLineWriter::new()
            .write_event_line(&mut line, ev, ring, wall_offset_ns)
            .unwrap();
        assert_eq!(line.pop(), Some(b'\n'));
        serde_json::from_slice(&line).unwrap()
    }

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
        let v = rendered(&decode(&rec).unwrap(), 1, 5);
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
        let v = rendered(&decode(&rec).unwrap(), 0, 0);
        assert_eq!(v["type"], "execve");
        assert_eq!(v["dir"], ">");
        assert!(v.get("res").is_none());
        assert_eq!(v["args"]["args"], json!(["sh", "-c", "echo hi"]));
        assert_eq!(v["truncated"], json!(["args"]));
        assert!(v.get("faulted").is_none());
        // cut at snaplen in total (no per-item trailer): no `cut` member
        assert!(v.get("cut").is_none());
    }

    #[test]
    fn execve_json_shows_per_item_cuts() {
        let args =
            RecordBuilder::argv_list(&[b"python3", b"-c", b"AAAA", b"real-cmd"], &[2], 5000, 3);
        let env = RecordBuilder::argv_list(&[b"A=1", b"LD_PRELOAD=/tmp/x.so"], &[], u32::MAX, 1);
        let b = RecordBuilder::new(T::KESTREL_EVT_EXECVE_ENTER as u16, 1, 2, 2)
            .param(b"/usr/bin/python3")
            .param_flags(&args, kestrel_abi::PARAM_TRUNCATED)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        let v = rendered(&ev, 0, 0);
        assert_eq!(v, event_json(&ev, 0, 0));
        assert_eq!(
            v["args"]["args"],
            json!(["python3", "-c", "AAAA", "real-cmd"])
        );
        assert_eq!(v["truncated"], json!(["args"]));
        assert_eq!(
            v["cut"],
            json!({"args": {"omitted": 5000, "first": 3, "items": [2]}})
        );

        // an unknown count left out renders as null
        let b = RecordBuilder::new(T::KESTREL_EVT_EXECVE_ENTER as u16, 1, 2, 2)
            .param(b"/usr/bin/env")
            .param_flags(&env, kestrel_abi::PARAM_TRUNCATED)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        let v = rendered(&ev, 0, 0);
        assert_eq!(v, event_json(&ev, 0, 0));
        assert_eq!(
            v["cut"],
            json!({"args": {"omitted": null, "first": 1, "items": []}})
        );
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
        let v = rendered(&decode(&rec).unwrap(), 0, 0);
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
        let v = rendered(&decode(&rec).unwrap(), 0, 0);
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
            let v = rendered(&decode(&rec).unwrap(), 0, 0);
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

    /// One record of schema `s`, every parameter filled per `variant`:
    /// 0 plain values, 1 text needing escapes / invalid UTF-8 / flag bits,
    /// 2 every parameter faulted, 3 every parameter truncated.
    fn sample_record(s: &kestrel_abi::EventSchema, variant: u32, ts: u64) -> Vec<u8> {
        use kestrel_abi::{WireType, PARAM_FAULT, PARAM_TRUNCATED};
        let flags = match variant {
            2 => PARAM_FAULT,
            3 => PARAM_TRUNCATED,
            _ => 0,
        };
        let mut b = RecordBuilder::new(s.event_type, ts, 4242, 7);
        for (i, p) in s.params.iter().enumerate() {
            let n = if variant == 1 {
                0x80_0c2 + i as u64
            } else {
                5 + i as u64
            };
            let bytes: Vec<u8> = match p.kind.wire() {
                WireType::S64 => (-(n as i64)).to_le_bytes().to_vec(),
                WireType::U64 => n.to_le_bytes().to_vec(),
                WireType::U32 => (n as u32).to_le_bytes().to_vec(),
                WireType::Bytes if variant == 1 && p.kind == ParamKind::Rawargs => {
                    (200u8..248).collect()
                }
                WireType::Bytes if variant == 1 => (0u8..=255).chain(0..=7).collect(),
                WireType::Bytes => vec![1; 48],
                WireType::Argv if variant == 1 => b"s\"h\0-c\0\x01\\\xff\n\0".to_vec(),
                WireType::Argv => b"a\0b\0".to_vec(),
                WireType::Str if variant == 1 => b"/tmp/\"q\"\t\\\x7f\xc3\x28\xe2\x82\xac".to_vec(),
                WireType::Str => b"/x".to_vec(),
                WireType::SockAddr if variant == 1 => b"\x01/run/\"s\"\n".to_vec(),
                WireType::SockAddr => {
                    let mut sa = vec![2u8, 0, 0x15, 0xb3, 10, 0, 0, 1];
                    sa.extend_from_slice(&[0; 8]);
                    sa
                }
                WireType::Tuple if variant == 1 => b"\x01/run/\"t\"".to_vec(),
                WireType::Tuple => {
                    let mut t = vec![2u8, 127, 0, 0, 1];
                    t.extend_from_slice(&40000u16.to_le_bytes());
                    t.extend_from_slice(&[127, 0, 0, 1]);
                    t.extend_from_slice(&5555u16.to_le_bytes());
                    t
                }
            };
            b = if flags == PARAM_FAULT
                && !matches!(
                    p.kind.wire(),
                    WireType::Str | WireType::Argv | WireType::Bytes
                ) {
                b.param_flags(&[], flags)
            } else {
                b.param_flags(&bytes, flags)
            };
        }
        b.build()
    }

    #[test]
    fn writer_matches_the_json_tree_for_every_event_type() {
        // One writer for the whole stream, as `kestrel events` uses it, so
        // the cached date is exercised across second boundaries (forwards
        // and backwards) and across days.
        let mut writer = EventLineWriter::new();
        let offsets = [0i64, 1_795_802_399_999_999_990, -5];
        let mut checked = 0;
        for s in kestrel_abi::schemas() {
            for variant in 0..4 {
                for (k, offset) in offsets.iter().enumerate() {
                    let ts = 1_000_000_000 * (u64::from(variant) + 86_399 * k as u64) + 7;
                    let bytes = sample_record(s, variant, ts);
                    let rec = Record::parse(&bytes).unwrap();
                    let ev = decode(&rec).unwrap();
                    let ring = variant + 3 * k as u32;
                    let mut line = Vec::new();
                    writer
                        .write_event_line(&mut line, &ev, ring, *offset)
                        .unwrap();
                    let mut want = serde_json::to_vec(&event_json(&ev, ring, *offset)).unwrap();
                    want.push(b'\n');
                    assert_eq!(
                        String::from_utf8_lossy(&line),
                        String::from_utf8_lossy(&want),
                        "{} variant {variant} offset {offset}",
                        s.id
                    );
                    assert_eq!(line, want, "{} variant {variant}", s.id);
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, kestrel_abi::schemas().len() * 4 * offsets.len());
    }

    #[test]
    fn cached_date_follows_the_clock() {
        let mut cache = WallSecondCache::default();
        for ns in [
            0i128,
            999_999_999,
            1_000_000_000,
            86_399_999_999_999,
            86_400_000_000_000,
            1_795_802_400_123_456_789,
            -1,
            951_782_400_000_000_001,
            951_782_400_000_000_002,
        ] {
            let mut out = Vec::new();
            cache.write(&mut out, ns).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}\"", format_wall_time(ns)),
                "{ns}"
            );
        }
    }
}
