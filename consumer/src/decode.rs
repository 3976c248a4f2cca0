//! Raw records → typed events, borrowing strings from the record.
//!
//! Decoding is driven by the event table of `kmod/kestrel_abi.h`, which the
//! `kestrel-abi` crate turns into [`EventSchema`]s: every parameter is decoded
//! by its kind's wire type into a [`Value`], and found by its Falco-style
//! name.  An event holds its values in a fixed array: decoding allocates
//! nothing.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use kestrel_abi::{event_schema, EventSchema, ParamKind, ParamSchema, WireType, MAX_PARAMS};

use crate::record::{Param, Record};

/// A string or byte parameter with the module's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bytes<'a> {
    /// The bytes as recorded (no terminating NUL).
    pub bytes: &'a [u8],
    /// Cut at snaplen.
    pub truncated: bool,
    /// Could not be read from user memory.
    pub fault: bool,
}

impl<'a> From<Param<'a>> for Bytes<'a> {
    fn from(p: Param<'a>) -> Self {
        Bytes {
            bytes: p.bytes,
            truncated: p.truncated,
            fault: p.fault,
        }
    }
}

impl<'a> Bytes<'a> {
    /// The bytes as text, with invalid UTF-8 replaced.
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        // `from_utf8` checks ASCII a word at a time; `from_utf8_lossy`
        // walks chunk by chunk even when there is nothing to replace.
        match std::str::from_utf8(self.bytes) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(self.bytes),
        }
    }

    /// NUL-separated items (argv, environment): the items the module kept,
    /// each possibly cut short ([`Bytes::argv_cut`] says which, and how
    /// many were left out between the first and the last ones).
    pub fn split_nul(&self) -> impl Iterator<Item = &'a [u8]> {
        let items = self.argv_cut().map_or(self.bytes, |c| c.items);
        let trimmed = items.strip_suffix(b"\0").unwrap_or(items);
        trimmed
            .split(|&b| b == 0)
            .filter(move |_| !trimmed.is_empty())
    }

    /// How an argv or environment list was cut, when it was: the trailer
    /// the module writes after the items of a truncated list (`ARGV` in
    /// `kmod/kestrel_abi.h`).  `None` for a whole list, for any other
    /// parameter, and for a truncated list without a valid trailer (a
    /// module before ABI 3 cut lists at snaplen in total).
    pub fn argv_cut(&self) -> Option<ArgvCut<'a>> {
        if !self.truncated || self.fault {
            return None;
        }
        let b = self.bytes;
        let n = b.len();
        if n < 8 {
            return None;
        }
        let kept = u16::from_le_bytes([b[n - 2], b[n - 1]]);
        let first = u16::from_le_bytes([b[n - 4], b[n - 3]]);
        let omitted = u32::from_le_bytes([b[n - 8], b[n - 7], b[n - 6], b[n - 5]]);
        let map_len = usize::from(kept).div_ceil(8);
        let items_len = (n - 8).checked_sub(map_len)?;
        let items = &b[..items_len];
        let nuls = items.iter().filter(|&&c| c == 0).count();
        if first > kept || nuls != usize::from(kept) || items.last().is_some_and(|&c| c != 0) {
            return None;
        }
        Some(ArgvCut {
            items,
            cut_map: &b[items_len..n - 8],
            omitted,
            first,
            kept,
        })
    }
}

/// How the module cut an argv or environment list: which kept items were
/// cut short and how many items were left out between the first `first`
/// kept items and the last ones (see [`Bytes::argv_cut`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgvCut<'a> {
    items: &'a [u8],
    cut_map: &'a [u8],
    /// Items left out ([`ArgvCut::OMITTED_UNKNOWN`]: the list's end was
    /// not found, so the items after the kept ones are not counted).
    pub omitted: u32,
    /// Kept items before the gap.
    pub first: u16,
    /// Kept items in all.
    pub kept: u16,
}

impl ArgvCut<'_> {
    /// `omitted` when the module did not find the list's end.
    pub const OMITTED_UNKNOWN: u32 = u32::MAX;

    /// Kept item `i` (0-based, in record order) was cut short.
    pub fn is_cut(&self, i: usize) -> bool {
        self.cut_map
            .get(i / 8)
            .is_some_and(|m| m & (1 << (i % 8)) != 0)
    }

    /// The kept items that were cut short, by index.
    pub fn cut_items(&self) -> impl Iterator<Item = usize> + '_ {
        (0..usize::from(self.kept)).filter(|&i| self.is_cut(i))
    }
}

/// A socket address as a caller passed it (or the kernel filled it in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockAddr<'a> {
    /// AF_INET.
    Inet(Ipv4Addr, u16),
    /// AF_INET6.
    Inet6(Ipv6Addr, u16),
    /// AF_UNIX, with its path (abstract names start with NUL).
    Unix(&'a [u8]),
    /// Any other family, or too short for its family.
    Other(u16),
    /// Nothing usable was recorded.
    Unreadable,
}

fn unix_path(path: &[u8]) -> &[u8] {
    let end = if path.first() == Some(&0) {
        path.len()
    } else {
        path.iter().position(|&c| c == 0).unwrap_or(path.len())
    };
    &path[..end]
}

impl<'a> SockAddr<'a> {
    /// Decodes a `struct sockaddr_*` as the module copied it.
    pub fn parse(b: &'a [u8]) -> SockAddr<'a> {
        if b.len() < 2 {
            return SockAddr::Unreadable;
        }
        let family = u16::from_le_bytes([b[0], b[1]]);
        match family as i32 {
            libc::AF_INET if b.len() >= 8 => SockAddr::Inet(
                Ipv4Addr::new(b[4], b[5], b[6], b[7]),
                u16::from_be_bytes([b[2], b[3]]),
            ),
            libc::AF_INET6 if b.len() >= 24 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[8..24]);
                SockAddr::Inet6(Ipv6Addr::from(a), u16::from_be_bytes([b[2], b[3]]))
            }
            libc::AF_UNIX => SockAddr::Unix(unix_path(&b[2..])),
            _ => SockAddr::Other(family),
        }
    }

    /// The family's name as in `<sys/socket.h>`.
    pub fn family_name(&self) -> String {
        match self {
            SockAddr::Inet(..) => "AF_INET".into(),
            SockAddr::Inet6(..) => "AF_INET6".into(),
            SockAddr::Unix(_) => "AF_UNIX".into(),
            SockAddr::Other(f) => format!("{f}"),
            SockAddr::Unreadable => "unknown".into(),
        }
    }
}

impl fmt::Display for SockAddr<'_> {
    /// `127.0.0.1:80`, `[::1]:80`, the unix path, or `family N`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockAddr::Inet(ip, port) => write!(f, "{ip}:{port}"),
            SockAddr::Inet6(ip, port) => write!(f, "[{ip}]:{port}"),
            SockAddr::Unix(p) => write!(f, "{}", String::from_utf8_lossy(p)),
            SockAddr::Other(fam) => write!(f, "family {fam}"),
            SockAddr::Unreadable => write!(f, "unreadable"),
        }
    }
}

/// Both ends of a socket as the kernel knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockTuple<'a> {
    /// AF_INET or AF_INET6.
    Inet {
        /// This socket's address and port.
        local: SocketAddr,
        /// The peer's (unspecified address, port 0 when unconnected).
        remote: SocketAddr,
    },
    /// AF_UNIX: the path the socket is bound to, or else its peer's.
    Unix(&'a [u8]),
    /// Another family (its number).
    Other(u8),
}

impl<'a> SockTuple<'a> {
    /// Decodes the module's tuple encoding (see `TUPLE` in the header).
    pub fn parse(b: &'a [u8]) -> Option<SockTuple<'a>> {
        let (&family, rest) = b.split_first()?;
        let port = |p: &[u8]| u16::from_le_bytes([p[0], p[1]]);
        match i32::from(family) {
            libc::AF_INET => {
                if rest.len() != 12 {
                    return None;
                }
                let ip = |p: &[u8]| Ipv4Addr::new(p[0], p[1], p[2], p[3]);
                Some(SockTuple::Inet {
                    local: SocketAddrV4::new(ip(&rest[0..4]), port(&rest[4..6])).into(),
                    remote: SocketAddrV4::new(ip(&rest[6..10]), port(&rest[10..12])).into(),
                })
            }
            libc::AF_INET6 => {
                if rest.len() != 36 {
                    return None;
                }
                let ip = |p: &[u8]| Ipv6Addr::from(<[u8; 16]>::try_from(p).expect("16 bytes"));
                Some(SockTuple::Inet {
                    local: SocketAddrV6::new(ip(&rest[0..16]), port(&rest[16..18]), 0, 0).into(),
                    remote: SocketAddrV6::new(ip(&rest[18..34]), port(&rest[34..36]), 0, 0).into(),
                })
            }
            libc::AF_UNIX => Some(SockTuple::Unix(unix_path(rest))),
            _ if rest.is_empty() => Some(SockTuple::Other(family)),
            _ => None,
        }
    }
}

impl fmt::Display for SockTuple<'_> {
    /// `local->remote` (Falco's `fd.name` shape), or the unix path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockTuple::Inet { local, remote } => write!(f, "{local}->{remote}"),
            SockTuple::Unix(p) => write!(f, "{}", String::from_utf8_lossy(p)),
            SockTuple::Other(fam) => write!(f, "family {fam}"),
        }
    }
}

/// A socket tuple as the module encoded it (see `TUPLE` in the header),
/// checked when the event is decoded and unpacked into a [`SockTuple`] only
/// when something asks ([`EncodedTuple::get`]): an unpacked tuple is 64
/// bytes, and a [`Value`] that held one would make every event's parameter
/// array twice as large.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncodedTuple<'a>(&'a [u8]);

impl<'a> EncodedTuple<'a> {
    /// Checks the encoding: `None` if [`SockTuple::parse`] would refuse it.
    pub fn new(b: &'a [u8]) -> Option<EncodedTuple<'a>> {
        let (&family, rest) = b.split_first()?;
        let ok = match i32::from(family) {
            libc::AF_INET => rest.len() == 12,
            libc::AF_INET6 => rest.len() == 36,
            libc::AF_UNIX => true,
            _ => rest.is_empty(),
        };
        ok.then_some(EncodedTuple(b))
    }

    /// The tuple, unpacked.
    #[inline]
    pub fn get(&self) -> SockTuple<'a> {
        // `new` accepted exactly what `parse` accepts.
        SockTuple::parse(self.0).unwrap_or(SockTuple::Other(0))
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl fmt::Debug for EncodedTuple<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl fmt::Display for EncodedTuple<'_> {
    /// As [`SockTuple`]'s: `local->remote`, or the unix path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.get(), f)
    }
}

/// One decoded parameter (32 bytes: the parameter array of an event is
/// copied and scanned on every event, so no variant holds more than a
/// slice and its flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A signed number (results, fds, pids, signals).
    Int(i64),
    /// An unsigned number (flags, ids, sizes).
    Uint(u64),
    /// Paths and text.
    Str(Bytes<'a>),
    /// Raw bytes.
    Bytes(Bytes<'a>),
    /// A NUL-separated list (args, env).
    Argv(Bytes<'a>),
    /// A socket address.
    SockAddr(SockAddr<'a>),
    /// Both ends of a socket (unpacked on use: [`EncodedTuple::get`]).
    Tuple(EncodedTuple<'a>),
    /// A number, address or tuple the module could not read or resolve
    /// (text kinds carry the fault in their [`Bytes`] instead).
    Fault,
}

impl<'a> Value<'a> {
    /// The value as a signed number (Int, or a Uint that fits).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) => Some(v),
            Value::Uint(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as an unsigned number (Uint, or a non-negative Int).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Uint(v) => Some(v),
            Value::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The bytes of a Str, Bytes or Argv value.
    pub fn as_bytes(&self) -> Option<&Bytes<'a>> {
        match self {
            Value::Str(b) | Value::Bytes(b) | Value::Argv(b) => Some(b),
            _ => None,
        }
    }

    /// The module could not read this parameter.
    pub fn is_fault(&self) -> bool {
        match self {
            Value::Fault => true,
            v => v.as_bytes().is_some_and(|b| b.fault),
        }
    }

    /// The module cut this parameter at snaplen.
    pub fn is_truncated(&self) -> bool {
        self.as_bytes().is_some_and(|b| b.truncated)
    }
}

const _: () = assert!(std::mem::size_of::<Value<'static>>() <= 32);

/// A decoded event: header fields, its schema and its parameter values.
#[derive(Clone)]
pub struct Event<'a> {
    /// CLOCK_MONOTONIC ns.
    pub ts_ns: u64,
    /// Thread id.
    pub tid: u32,
    /// Process id.
    pub pid: u32,
    /// What the event is and what its parameters are called.
    pub schema: &'static EventSchema,
    values: [Value<'a>; MAX_PARAMS],
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        d.field("type", &self.name())
            .field("enter", &self.is_enter())
            .field("ts_ns", &self.ts_ns)
            .field("tid", &self.tid)
            .field("pid", &self.pid);
        for (p, v) in self.params() {
            d.field(p.name, v);
        }
        d.finish()
    }
}

impl Default for Event<'_> {
    /// An event to decode into ([`decode_into`]): until then, the ABI's
    /// first event type at time 0 with every parameter unread.
    fn default() -> Self {
        Event {
            ts_ns: 0,
            tid: 0,
            pid: 0,
            schema: &kestrel_abi::schemas()[0],
            values: [Value::Fault; MAX_PARAMS],
        }
    }
}

impl<'a> Event<'a> {
    /// Falco-style event type (`openat`, `procexit`).
    pub fn name(&self) -> &'static str {
        self.schema.name
    }

    /// `KESTREL_EVT_*` number.
    pub fn event_type(&self) -> u16 {
        self.schema.event_type
    }

    /// Recorded at syscall entry (`evt.dir` '>').
    pub fn is_enter(&self) -> bool {
        self.schema.enter
    }

    /// The syscall's return value, for events that have one.
    pub fn res(&self) -> Option<i64> {
        match self.param("res")? {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The parameter called `name`.
    #[inline]
    pub fn param(&self, name: &str) -> Option<&Value<'a>> {
        // The schema's `param_index`, without a memcmp call per parameter:
        // names are short, and most differ in length or first byte.
        let want = name.as_bytes();
        let first = *want.first()?;
        let i = self.schema.params.iter().position(|p| {
            let have = p.name.as_bytes();
            have.len() == want.len()
                && have[0] == first
                && have.iter().zip(want).all(|(a, b)| a == b)
        })?;
        self.values.get(i)
    }

    /// Parameter number `index`, in record order.
    #[inline]
    pub fn param_at(&self, index: usize) -> Option<&Value<'a>> {
        self.values[..self.schema.params.len()].get(index)
    }

    /// Every parameter with its schema, in record order.
    pub fn params(&self) -> impl Iterator<Item = (&'static ParamSchema, &Value<'a>)> {
        self.schema.params.iter().zip(self.values.iter())
    }
}

/// A record that does not decode as its type says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The record's type number.
    pub event_type: u16,
    /// What was wrong.
    pub what: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match event_schema(self.event_type) {
            Some(s) => write!(
                f,
                "event type {} ({}): {}",
                self.event_type, s.name, self.what
            ),
            None => write!(f, "event type {}: {}", self.event_type, self.what),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Falco-style name of an event type (`"openat"`), `"unknown"` if none.
pub fn type_name(ty: u16) -> &'static str {
    event_schema(ty).map_or("unknown", |s| s.name)
}

/// Decodes one parameter; `None` if its bytes do not fit its wire type
/// ([`malformed`] says how).
#[inline]
fn decode_value<'a>(p: Param<'a>, schema: &ParamSchema) -> Option<Value<'a>> {
    let bytes = Bytes::from(p);
    Some(match schema.kind.wire() {
        WireType::S64 | WireType::U64 | WireType::U32 if p.fault => Value::Fault,
        WireType::S64 => Value::Int(i64::from_le_bytes(p.bytes.try_into().ok()?)),
        WireType::U64 => Value::Uint(u64::from_le_bytes(p.bytes.try_into().ok()?)),
        WireType::U32 => Value::Uint(u32::from_le_bytes(p.bytes.try_into().ok()?).into()),
        WireType::Str => Value::Str(bytes),
        WireType::Bytes => {
            if schema.kind == ParamKind::Rawargs && !p.fault && p.bytes.len() != 48 {
                return None;
            }
            Value::Bytes(bytes)
        }
        WireType::Argv => Value::Argv(bytes),
        WireType::SockAddr if p.fault => Value::Fault,
        // A cut address (the caller's buffer ran into an unmapped page) is
        // never shown as if whole: its bytes, marked truncated.
        WireType::SockAddr if p.truncated => Value::Bytes(bytes),
        WireType::SockAddr => Value::SockAddr(SockAddr::parse(p.bytes)),
        WireType::Tuple if p.fault => Value::Fault,
        WireType::Tuple => Value::Tuple(EncodedTuple::new(p.bytes)?),
    })
}

/// Why [`decode_value`] refused a parameter.
#[cold]
fn malformed(p: Param<'_>, schema: &ParamSchema) -> String {
    let len = p.bytes.len();
    let name = schema.name;
    match schema.kind.wire() {
        WireType::S64 | WireType::U64 => format!("parameter {name} is {len} bytes, not 8"),
        WireType::U32 => format!("parameter {name} is {len} bytes, not 4"),
        WireType::Tuple => format!("parameter {name} is not a socket tuple ({len} bytes)"),
        _ => format!("parameter {name} is {len} bytes, not 48"),
    }
}

/// Decodes one record.  Unknown types and malformed parameters are errors
/// (the caller reports them with the record's position and goes on).
///
/// A loop over many records is cheaper with [`decode_into`], which reuses
/// one event instead of moving a new one out each time.
#[inline]
pub fn decode<'a>(rec: &Record<'a>) -> Result<Event<'a>, DecodeError> {
    let mut ev = Event::default();
    decode_into(rec, &mut ev)?;
    Ok(ev)
}

/// Decodes one record into `ev`, overwriting it.  On error `ev` is left
/// partly written and must not be used as the record's event.
pub fn decode_into<'a>(rec: &Record<'a>, ev: &mut Event<'a>) -> Result<(), DecodeError> {
    let ty = rec.event_type();
    let err = |what: String| DecodeError {
        event_type: ty,
        what,
    };
    let schema = event_schema(ty).ok_or_else(|| err("unknown event type".into()))?;
    if rec.nparams() != schema.params.len() {
        return Err(err(format!(
            "{} parameters, the schema has {}",
            rec.nparams(),
            schema.params.len()
        )));
    }
    ev.ts_ns = rec.ts_ns();
    ev.tid = rec.tid();
    ev.pid = rec.pid();
    ev.schema = schema;
    // nparams == schema.params.len(), so the three run in step; slots past
    // the schema's parameters are never read.
    for ((slot, ps), p) in ev.values.iter_mut().zip(schema.params).zip(rec.params()) {
        match decode_value(p, ps) {
            Some(v) => *slot = v,
            None => return Err(err(malformed(p, ps))),
        }
    }
    Ok(())
}

/// One event reused across records whose borrows do not share a lifetime:
/// the live loop gets each record from a fresh borrow of the rings, so it
/// cannot keep an `Event<'a>` between records.  [`EventSlot::decode`]
/// decodes in place, as [`decode_into`] does, instead of building and
/// moving out a new event per record as [`decode`] does.
#[derive(Default)]
pub struct EventSlot {
    /// Between two [`EventSlot::decode`] calls every value here is
    /// borrow-free (`Fault`): [`Decoded`]'s drop puts them back, and
    /// `decode` clears them again first in case a guard was leaked.
    ev: Event<'static>,
}

impl fmt::Debug for EventSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSlot")
    }
}

impl EventSlot {
    /// Decodes `rec` into the slot; the event lives as long as the guard.
    pub fn decode<'s, 'a>(&'s mut self, rec: &Record<'a>) -> Result<Decoded<'s, 'a>, DecodeError> {
        clear_values(&mut self.ev);
        // SAFETY: `Event<'static>` and `Event<'a>` differ only in a
        // lifetime, so they have one layout.  The slot stores values
        // borrowing from `rec` only while the returned guard (bounded by
        // both 's and 'a) lives: its drop resets them to `Fault`, and if
        // the guard is leaked the next call clears them (above) before
        // anything reads the slot; nothing else reads `self.ev`.
        let ev: &'s mut Event<'a> = unsafe { &mut *(&mut self.ev as *mut Event<'static>).cast() };
        match decode_into(rec, ev) {
            Ok(()) => Ok(Decoded { ev }),
            Err(e) => {
                clear_values(ev);
                Err(e)
            }
        }
    }
}

/// Resets every value an event's schema uses to the borrow-free `Fault`.
fn clear_values(ev: &mut Event<'_>) {
    let n = ev.schema.params.len().min(MAX_PARAMS);
    for v in &mut ev.values[..n] {
        *v = Value::Fault;
    }
}

/// An event decoded into an [`EventSlot`]; dereferences to the [`Event`].
pub struct Decoded<'s, 'a> {
    ev: &'s mut Event<'a>,
}

impl<'a> std::ops::Deref for Decoded<'_, 'a> {
    type Target = Event<'a>;
    fn deref(&self) -> &Event<'a> {
        self.ev
    }
}

impl Drop for Decoded<'_, '_> {
    fn drop(&mut self) {
        clear_values(self.ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordBuilder;
    use kestrel_abi::{schemas, EventType as T, PARAM_FAULT, PARAM_TRUNCATED};

    #[test]
    fn event_slot_decodes_each_record_in_place() {
        let mut slot = EventSlot::default();
        for (fd, path) in [(5i64, &b"/etc/a"[..]), (6, b"/var/b/c")] {
            let bytes = RecordBuilder::new(ty(T::KESTREL_EVT_OPENAT), 9, 1, 1)
                .i64(fd)
                .i64(-100)
                .param(path)
                .u32(0)
                .u32(0)
                .param(path)
                .build();
            let rec = Record::parse(&bytes).unwrap();
            let ev = slot.decode(&rec).unwrap();
            assert_eq!(ev.res(), Some(fd));
            assert!(matches!(ev.param("name"), Some(Value::Str(b)) if b.bytes == path));
            assert_eq!(format!("{:?}", *ev), format!("{:?}", decode(&rec).unwrap()));
        }
        // After the guard, nothing borrowed stays behind.
        assert!(slot.ev.values.iter().all(|v| *v == Value::Fault));
        let bad = RecordBuilder::new(ty(T::KESTREL_EVT_OPENAT), 9, 1, 1)
            .i64(1)
            .build();
        assert!(slot.decode(&Record::parse(&bad).unwrap()).is_err());
    }

    fn ty(t: T) -> u16 {
        t as u16
    }

    /// A plausible value of each wire type, and what it decodes to.
    type Check = Box<dyn Fn(&Value<'_>) -> bool>;

    fn sample(kind: ParamKind, i: usize) -> (Vec<u8>, Check) {
        let n = i as u64 + 1;
        match kind.wire() {
            WireType::S64 => (
                (-(n as i64)).to_le_bytes().to_vec(),
                Box::new(move |v| *v == Value::Int(-(n as i64))),
            ),
            WireType::U64 => (
                (n << 40).to_le_bytes().to_vec(),
                Box::new(move |v| *v == Value::Uint(n << 40)),
            ),
            WireType::U32 => (
                (n as u32).to_le_bytes().to_vec(),
                Box::new(move |v| *v == Value::Uint(n)),
            ),
            WireType::Str => (
                format!("/p/{i}").into_bytes(),
                Box::new(
                    move |v| matches!(v, Value::Str(b) if b.bytes == format!("/p/{i}").as_bytes()),
                ),
            ),
            WireType::Bytes => (
                vec![i as u8; 48],
                Box::new(move |v| matches!(v, Value::Bytes(b) if b.bytes == [i as u8; 48])),
            ),
            WireType::Argv => (
                b"a\0b\0".to_vec(),
                Box::new(|v| matches!(v, Value::Argv(b) if b.split_nul().count() == 2)),
            ),
            WireType::SockAddr => (
                vec![2, 0, 0, 80, 10, 0, 0, i as u8],
                Box::new(move |v| {
                    *v == Value::SockAddr(SockAddr::Inet(Ipv4Addr::new(10, 0, 0, i as u8), 80))
                }),
            ),
            WireType::Tuple => {
                let mut t = vec![2u8, 127, 0, 0, 1];
                t.extend_from_slice(&4000u16.to_le_bytes());
                t.extend_from_slice(&[10, 0, 0, 2]);
                t.extend_from_slice(&(i as u16).to_le_bytes());
                (
                    t,
                    Box::new(move |v| v.rendered() == format!("127.0.0.1:4000->10.0.0.2:{i}")),
                )
            }
        }
    }

    impl Value<'_> {
        fn rendered(self) -> String {
            match self {
                Value::Tuple(t) => t.to_string(),
                other => format!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_event_type_round_trips() {
        for s in schemas() {
            let mut b = RecordBuilder::new(s.event_type, 7, 8, 9);
            let mut checks = Vec::new();
            for (i, p) in s.params.iter().enumerate() {
                let (bytes, check) = sample(p.kind, i);
                b = b.param(&bytes);
                checks.push(check);
            }
            let bytes = b.build();
            let rec = Record::parse(&bytes).unwrap();
            let ev = decode(&rec).unwrap_or_else(|e| panic!("{}: {e}", s.id));
            assert_eq!((ev.ts_ns, ev.tid, ev.pid), (7, 8, 9));
            assert_eq!(ev.name(), s.name);
            assert_eq!(ev.event_type(), s.event_type);
            assert_eq!(ev.params().count(), s.params.len());
            for (i, (p, check)) in s.params.iter().zip(&checks).enumerate() {
                let v = ev.param(p.name).unwrap();
                assert!(check(v), "{}.{}: {v:?}", s.id, p.name);
                assert_eq!(ev.param_at(i), Some(v));
            }
            assert!(ev.param_at(s.params.len()).is_none());
            assert!(ev.param("no_such_param").is_none());
            if s.params.first().is_some_and(|p| p.name == "res") {
                assert_eq!(ev.res(), Some(-1), "{}", s.id);
            }
        }
    }

    #[test]
    fn decodes_openat_by_name() {
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_OPENAT), 5, 42, 41)
            .i64(3)
            .i64(-100)
            .param(b"/etc/shadow")
            .u32(0o2000000)
            .u32(0)
            .param(b"/etc/shadow")
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        assert_eq!((ev.tid, ev.pid, ev.ts_ns), (42, 41, 5));
        assert_eq!(ev.name(), "openat");
        assert!(!ev.is_enter());
        assert_eq!(ev.res(), Some(3));
        assert_eq!(ev.param("dirfd"), Some(&Value::Int(-100)));
        assert_eq!(ev.param("flags"), Some(&Value::Uint(0o2000000)));
        let Some(Value::Str(name)) = ev.param("name") else {
            panic!("name is not text")
        };
        assert_eq!(name.bytes, b"/etc/shadow");
    }

    #[test]
    fn fault_and_truncation_flags_survive_decoding() {
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_OPENAT), 1, 1, 1)
            .i64(-14)
            .i64(-100)
            .param_flags(b"", PARAM_FAULT)
            .u32(0)
            .u32(0)
            .param_flags(b"", PARAM_FAULT)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        assert!(ev.param("name").unwrap().is_fault());
        assert!(ev.param("fullpath").unwrap().is_fault());
        assert!(!ev.param("dirfd").unwrap().is_fault());

        let b = RecordBuilder::new(ty(T::KESTREL_EVT_PIPE), 1, 1, 1)
            .i64(-24)
            .param_flags(b"", PARAM_FAULT)
            .param_flags(b"", PARAM_FAULT)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        assert_eq!(ev.param("fd1"), Some(&Value::Fault));

        let b = RecordBuilder::new(ty(T::KESTREL_EVT_EXECVE_ENTER), 1, 1, 1)
            .param(b"/bin/busybox")
            .param_flags(b"sh\0-c\0echo h", PARAM_TRUNCATED)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        assert!(ev.is_enter());
        assert_eq!(ev.res(), None);
        let args = ev.param("args").unwrap();
        assert!(args.is_truncated() && !args.is_fault());
        let items: Vec<&[u8]> = args.as_bytes().unwrap().split_nul().collect();
        assert_eq!(items, vec![&b"sh"[..], b"-c", b"echo h"]);
    }

    #[test]
    fn a_cut_socket_address_is_bytes_marked_truncated() {
        // AF_INET, port 5555, 127.0.0.1: 8 of the caller's 16 bytes read
        let part = [2u8, 0, 0x15, 0xb3, 127, 0, 0, 1];
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_CONNECT), 1, 1, 1)
            .i64(-14)
            .i64(3)
            .param_flags(&part, PARAM_TRUNCATED)
            .param_flags(&[], PARAM_FAULT)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        let addr = ev.param("addr").unwrap();
        assert!(addr.is_truncated());
        assert!(matches!(addr, Value::Bytes(b) if b.bytes == part));
        // whole, it is an address
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_CONNECT), 1, 1, 1)
            .i64(0)
            .i64(3)
            .param(&part)
            .param_flags(&[], PARAM_FAULT)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        assert_eq!(
            ev.param("addr"),
            Some(&Value::SockAddr(SockAddr::Inet(
                Ipv4Addr::new(127, 0, 0, 1),
                5555
            )))
        );
    }

    #[test]
    fn argv_lists_cut_per_item_keep_first_and_last() {
        let list =
            RecordBuilder::argv_list(&[b"python3", b"-c", b"pad", b"real-cmd"], &[2], 1000, 3);
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_EXECVE_ENTER), 1, 1, 1)
            .param(b"/usr/bin/python3")
            .param_flags(&list, PARAM_TRUNCATED)
            .build();
        let ev = decode(&Record::parse(&b).unwrap()).unwrap();
        let args = ev.param("args").unwrap().as_bytes().unwrap();
        let items: Vec<&[u8]> = args.split_nul().collect();
        assert_eq!(items, vec![&b"python3"[..], b"-c", b"pad", b"real-cmd"]);
        let cut = args.argv_cut().expect("a trailer");
        assert_eq!((cut.omitted, cut.first, cut.kept), (1000, 3, 4));
        assert_eq!(cut.cut_items().collect::<Vec<_>>(), vec![2]);
        assert!(!cut.is_cut(3) && !cut.is_cut(40));

        // Nine items: a two-byte map; an empty item is an item.
        let nine: Vec<&[u8]> = vec![b"a", b"", b"c", b"d", b"e", b"f", b"g", b"h", b"i"];
        let list = RecordBuilder::argv_list(&nine, &[0, 8], ArgvCut::OMITTED_UNKNOWN, 9);
        let bytes = Bytes {
            bytes: &list,
            truncated: true,
            fault: false,
        };
        assert_eq!(bytes.split_nul().collect::<Vec<_>>(), nine);
        let cut = bytes.argv_cut().unwrap();
        assert_eq!(cut.cut_items().collect::<Vec<_>>(), vec![0, 8]);
        assert_eq!(cut.omitted, ArgvCut::OMITTED_UNKNOWN);

        // A whole list has no trailer; a trailer that does not add up is
        // not one (a list cut at snaplen in total, before ABI 3).
        let whole = Bytes {
            bytes: b"a\0b\0",
            truncated: false,
            fault: false,
        };
        assert!(whole.argv_cut().is_none());
        assert_eq!(whole.split_nul().count(), 2);
        let mut bad = RecordBuilder::argv_list(&[b"a", b"b"], &[1], 0, 2);
        let n = bad.len();
        bad[n - 2] = 3; // claims three items
        let bad = Bytes {
            bytes: &bad,
            truncated: true,
            fault: false,
        };
        assert!(bad.argv_cut().is_none());
    }

    #[test]
    fn decodes_socket_addresses_and_tuples() {
        let mut v4 = vec![2u8, 0, 0x15, 0xb3, 127, 0, 0, 1];
        v4.extend_from_slice(&[0; 8]);
        assert_eq!(
            SockAddr::parse(&v4),
            SockAddr::Inet(Ipv4Addr::LOCALHOST, 5555)
        );
        assert_eq!(SockAddr::parse(&v4).to_string(), "127.0.0.1:5555");
        let mut v6 = vec![10u8, 0, 0, 80, 0, 0, 0, 0];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        assert_eq!(
            SockAddr::parse(&v6),
            SockAddr::Inet6(Ipv6Addr::LOCALHOST, 80)
        );
        assert_eq!(SockAddr::parse(&v6).to_string(), "[::1]:80");
        assert_eq!(
            SockAddr::parse(b"\x01\x00/run/x.sock\0junk"),
            SockAddr::Unix(b"/run/x.sock")
        );
        assert_eq!(SockAddr::parse(&[2, 0, 1]), SockAddr::Other(2));
        assert_eq!(SockAddr::parse(&[2]), SockAddr::Unreadable);

        let mut t6 = vec![10u8];
        t6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        t6.extend_from_slice(&443u16.to_le_bytes());
        t6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        t6.extend_from_slice(&50000u16.to_le_bytes());
        assert_eq!(
            SockTuple::parse(&t6).unwrap().to_string(),
            "[::1]:443->[::1]:50000"
        );
        assert_eq!(
            SockTuple::parse(b"\x01/run/x.sock").unwrap(),
            SockTuple::Unix(b"/run/x.sock")
        );
        assert_eq!(SockTuple::parse(&[16]), Some(SockTuple::Other(16)));
        assert!(SockTuple::parse(&t6[..20]).is_none());
        assert!(SockTuple::parse(&[]).is_none());
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_CLOSE), 1, 1, 1)
            .u32(3)
            .i64(4)
            .build();
        let err = decode(&Record::parse(&b).unwrap()).unwrap_err();
        assert!(err.what.contains("res"), "{err}");
        assert!(err.to_string().contains("close"), "{err}");
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_CLOSE), 1, 1, 1)
            .i64(0)
            .build();
        let err = decode(&Record::parse(&b).unwrap()).unwrap_err();
        assert!(err.what.contains("1 parameters"), "{err}");
        let b = RecordBuilder::new(999, 1, 1, 1).build();
        assert!(decode(&Record::parse(&b).unwrap()).is_err());
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_GENERIC), 1, 1, 1)
            .u32(39)
            .i64(0)
            .param(&[0; 47])
            .build();
        assert!(decode(&Record::parse(&b).unwrap()).is_err());
        let b = RecordBuilder::new(ty(T::KESTREL_EVT_ACCEPT), 1, 1, 1)
            .i64(4)
            .i64(3)
            .param(&[2, 1, 2])
            .build();
        assert!(decode(&Record::parse(&b).unwrap()).is_err());
    }
}
