//! Rule test cases: event sequences written in YAML, turned into records
//! exactly as the module writes them, plus the process and container
//! context the state module would supply.
//!
//! ```yaml
//! rule: Read sensitive file by untrusted program
//! fires:
//!   - name: cat reads the shadow file
//!     context: {proc.name: cat, container.id: host}
//!     events:
//!       - {type: openat, tid: 10, params: {res: 3, dirfd: -100, name: /etc/shadow,
//!          flags: 0, mode: 0, fullpath: /etc/shadow}}
//! near_misses:
//!   - ...
//! ```
//!
//! Each event names its `type` (an `evt.type`; `dir: enter` picks the
//! entry event), optional `tid`/`pid`/`ts`, and its parameters by their
//! names in the ABI's event table.  Numbers are numbers (or `0x..`), text
//! is text, `args`/`env` may be lists, socket addresses are `ip:port` or
//! `unix:/path`, tuples `ip:port->ip:port`.  A parameter left out is
//! recorded as unreadable (FAULT).

use std::collections::HashMap;
use std::net::SocketAddr;

use kestrel_abi::{schemas, WireType, PARAM_FAULT};
use serde_yaml::Value as Yaml;

use super::event::StateView;
use super::fields::{FieldRef, FieldValue};
use crate::decode::Event;
use crate::record::RecordBuilder;

/// Fixed field values standing in for process state.
#[derive(Debug, Default, Clone)]
pub struct Context {
    values: HashMap<FieldRef, FieldValue<'static>>,
}

impl Context {
    /// Sets a field.
    pub fn set(&mut self, field: FieldRef, value: FieldValue<'static>) {
        self.values.insert(field, value);
    }
}

impl StateView for Context {
    fn field<'s>(&'s self, _: &Event<'_>, field: &FieldRef) -> Option<FieldValue<'s>> {
        self.values.get(field).cloned()
    }
}

/// One sequence of events with its context.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it shows.
    pub name: String,
    /// State-provided fields.
    pub context: Context,
    /// The records, in order.
    pub records: Vec<Vec<u8>>,
}

/// A rule's cases.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// The rule under test.
    pub rule: String,
    /// Sequences on which the rule must fire.
    pub fires: Vec<Case>,
    /// Sequences close to those on which it must not.
    pub near_misses: Vec<Case>,
}

fn field_ref(name: &str) -> Result<FieldRef, String> {
    let (n, arg) = match name.split_once('[') {
        Some((n, a)) => (n, Some(a.trim_end_matches(']'))),
        None => (name, None),
    };
    FieldRef::resolve(n, arg)
}

fn context_value(v: &Yaml) -> Result<FieldValue<'static>, String> {
    Ok(match v {
        Yaml::Bool(b) => FieldValue::Bool(*b),
        Yaml::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => FieldValue::Int(i),
            (_, Some(u)) => FieldValue::Uint(u),
            _ => return Err(format!("context value {n} is not an integer")),
        },
        Yaml::String(s) => match s.parse::<std::net::IpAddr>() {
            Ok(ip) => FieldValue::Ip(ip),
            Err(_) => FieldValue::owned(s.clone().into_bytes()),
        },
        Yaml::Sequence(items) => {
            FieldValue::List(items.iter().map(context_value).collect::<Result<_, _>>()?)
        }
        other => return Err(format!("context value {other:?} is not a scalar or list")),
    })
}

fn int_of(v: &Yaml) -> Option<i128> {
    match v {
        Yaml::Number(n) => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)),
        Yaml::String(s) => {
            let s = s.trim();
            if let Some(h) = s.strip_prefix("0x") {
                i128::from_str_radix(h, 16).ok()
            } else if let Some(o) = s.strip_prefix("0o") {
                i128::from_str_radix(o, 8).ok()
            } else {
                s.parse().ok()
            }
        }
        Yaml::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}

fn sockaddr_bytes(s: &str) -> Result<Vec<u8>, String> {
    if let Some(path) = s.strip_prefix("unix:") {
        let mut b = (libc::AF_UNIX as u16).to_le_bytes().to_vec();
        b.extend_from_slice(path.as_bytes());
        b.push(0);
        return Ok(b);
    }
    let a: SocketAddr = s
        .parse()
        .map_err(|_| format!("'{s}' is not ip:port or unix:/path"))?;
    Ok(match a {
        SocketAddr::V4(v4) => {
            let mut b = (libc::AF_INET as u16).to_le_bytes().to_vec();
            b.extend_from_slice(&v4.port().to_be_bytes());
            b.extend_from_slice(&v4.ip().octets());
            b.extend_from_slice(&[0; 8]);
            b
        }
        SocketAddr::V6(v6) => {
            let mut b = (libc::AF_INET6 as u16).to_le_bytes().to_vec();
            b.extend_from_slice(&v6.port().to_be_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(&v6.ip().octets());
            b.extend_from_slice(&[0; 4]);
            b
        }
    })
}

fn tuple_bytes(s: &str) -> Result<Vec<u8>, String> {
    if let Some(path) = s.strip_prefix("unix:") {
        let mut b = vec![libc::AF_UNIX as u8];
        b.extend_from_slice(path.as_bytes());
        return Ok(b);
    }
    let (l, r) = s
        .split_once("->")
        .ok_or_else(|| format!("'{s}' is not local->remote"))?;
    let parse = |x: &str| -> Result<SocketAddr, String> {
        x.trim()
            .parse()
            .map_err(|_| format!("'{x}' is not ip:port"))
    };
    let (l, r) = (parse(l)?, parse(r)?);
    let mut b = Vec::new();
    match (l, r) {
        (SocketAddr::V4(l), SocketAddr::V4(r)) => {
            b.push(libc::AF_INET as u8);
            for a in [l, r] {
                b.extend_from_slice(&a.ip().octets());
                b.extend_from_slice(&a.port().to_le_bytes());
            }
        }
        (SocketAddr::V6(l), SocketAddr::V6(r)) => {
            b.push(libc::AF_INET6 as u8);
            for a in [l, r] {
                b.extend_from_slice(&a.ip().octets());
                b.extend_from_slice(&a.port().to_le_bytes());
            }
        }
        _ => return Err(format!("'{s}' mixes IPv4 and IPv6")),
    }
    Ok(b)
}

/// Builds one record from an event description.
pub fn encode_event(spec: &Yaml, default_ts: u64) -> Result<Vec<u8>, String> {
    let ty = spec
        .get("type")
        .and_then(Yaml::as_str)
        .ok_or("an event needs a 'type'")?;
    let enter = match spec.get("dir").and_then(Yaml::as_str) {
        None | Some("exit") | Some("<") => false,
        Some("enter") | Some(">") => true,
        Some(d) => return Err(format!("dir '{d}' is not enter or exit")),
    };
    let schema = schemas()
        .iter()
        .find(|s| s.name == ty && s.enter == enter)
        .ok_or_else(|| format!("no event '{ty}' ({})", if enter { "enter" } else { "exit" }))?;
    let num = |k: &str, d: u64| spec.get(k).and_then(int_of).map_or(d, |v| v as u64);
    let tid = num("tid", 100) as u32;
    let pid = num("pid", u64::from(tid)) as u32;
    let ts = num("ts", default_ts);
    let empty = serde_yaml::Mapping::new();
    let params = match spec.get("params") {
        None => &empty,
        Some(Yaml::Mapping(m)) => m,
        Some(_) => return Err(format!("{ty}: 'params' must be a mapping")),
    };
    for k in params.keys() {
        let k = k.as_str().unwrap_or("?");
        if schema.param_index(k).is_none() {
            let names: Vec<&str> = schema.params.iter().map(|p| p.name).collect();
            return Err(format!(
                "{ty} has no parameter '{k}' (it has {})",
                names.join(", ")
            ));
        }
    }
    let mut b = RecordBuilder::new(schema.event_type, ts, tid, pid);
    for p in schema.params {
        let Some(v) = params.get(p.name) else {
            b = b.param_flags(b"", PARAM_FAULT);
            continue;
        };
        let bad = || format!("{ty}: parameter {} has the wrong kind of value", p.name);
        b = match p.kind.wire() {
            WireType::S64 => b.i64(int_of(v).ok_or_else(bad)? as i64),
            WireType::U64 => b.u64(int_of(v).ok_or_else(bad)? as u64),
            WireType::U32 => b.u32(int_of(v).ok_or_else(bad)? as u32),
            WireType::Str | WireType::Bytes => match v {
                Yaml::String(s) => b.param(s.as_bytes()),
                _ => return Err(bad()),
            },
            WireType::Argv => match v {
                Yaml::Sequence(items) => {
                    let mut bytes = Vec::new();
                    for i in items {
                        let s = match i {
                            Yaml::String(s) => s.clone(),
                            Yaml::Number(n) => n.to_string(),
                            _ => return Err(bad()),
                        };
                        bytes.extend_from_slice(s.as_bytes());
                        bytes.push(0);
                    }
                    b.param(&bytes)
                }
                Yaml::String(s) => b.param(s.as_bytes()),
                _ => return Err(bad()),
            },
            WireType::SockAddr => b.param(&sockaddr_bytes(v.as_str().ok_or_else(bad)?)?),
            WireType::Tuple => b.param(&tuple_bytes(v.as_str().ok_or_else(bad)?)?),
        };
    }
    Ok(b.build())
}

fn parse_cases(v: Option<&Yaml>, what: &str) -> Result<Vec<Case>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let seq = v.as_sequence().ok_or(format!("'{what}' must be a list"))?;
    let mut out = Vec::new();
    for (i, c) in seq.iter().enumerate() {
        let name = c
            .get("name")
            .and_then(Yaml::as_str)
            .map_or_else(|| format!("{what} #{}", i + 1), str::to_string);
        let mut context = Context::default();
        if let Some(Yaml::Mapping(m)) = c.get("context") {
            for (k, v) in m {
                let k = k
                    .as_str()
                    .ok_or(format!("{name}: context keys are field names"))?;
                let f = field_ref(k).map_err(|e| format!("{name}: {e}"))?;
                let mut value = context_value(v).map_err(|e| format!("{name}: {e}"))?;
                // A list given for `proc.aname` stands for the ancestors.
                if let (Some(negation), FieldValue::List(items)) = (f.any_of(), &mut value) {
                    value = FieldValue::AnyOf(std::mem::take(items), negation);
                }
                context.set(f, value);
            }
        }
        let events = c
            .get("events")
            .and_then(Yaml::as_sequence)
            .ok_or(format!("{name}: needs a list of 'events'"))?;
        let mut records = Vec::new();
        for (j, e) in events.iter().enumerate() {
            records.push(
                encode_event(e, 1_000_000 * (j as u64 + 1)).map_err(|e| format!("{name}: {e}"))?,
            );
        }
        out.push(Case {
            name,
            context,
            records,
        });
    }
    Ok(out)
}

/// Parses a case file.
pub fn parse_case_file(text: &str) -> Result<CaseFile, String> {
    let doc: Yaml = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let rule = doc
        .get("rule")
        .and_then(Yaml::as_str)
        .ok_or("a case file needs 'rule'")?
        .to_string();
    Ok(CaseFile {
        rule,
        fires: parse_cases(doc.get("fires"), "fires")?,
        near_misses: parse_cases(doc.get("near_misses"), "near_misses")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, SockTuple, Value};
    use crate::record::Record;

    #[test]
    fn encodes_events_by_their_schema() {
        let spec: Yaml = serde_yaml::from_str(
            "{type: connect, tid: 9, params: {res: 0, fd: 3, addr: '1.2.3.4:80', tuple: '10.0.0.1:5000->1.2.3.4:80'}}",
        )
        .unwrap();
        let b = encode_event(&spec, 7).unwrap();
        let rec = Record::parse(&b).unwrap();
        let ev = decode(&rec).unwrap();
        assert_eq!((ev.name(), ev.tid, ev.pid, ev.ts_ns), ("connect", 9, 9, 7));
        assert!(
            matches!(ev.param("tuple"), Some(Value::Tuple(t)) if matches!(t.get(), SockTuple::Inet { remote, .. } if remote.port() == 80))
        );
        let spec: Yaml = serde_yaml::from_str(
            "{type: execve, dir: enter, params: {filename: /bin/sh, args: [sh, -c, id]}}",
        )
        .unwrap();
        let b = encode_event(&spec, 1).unwrap();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        assert!(ev.is_enter());
        assert_eq!(
            ev.param("args").unwrap().as_bytes().unwrap().bytes,
            b"sh\0-c\0id\0"
        );
        let bad: Yaml = serde_yaml::from_str("{type: openat, params: {path: /x}}").unwrap();
        assert!(encode_event(&bad, 1)
            .unwrap_err()
            .contains("no parameter 'path'"));
    }
}
