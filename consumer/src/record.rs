//! One raw record as the module writes it: header, parameter length table,
//! parameter bytes (see `kmod/kestrel_abi.h`).
//!
//! [`Record::parse`] validates everything a reader relies on, so a corrupt
//! ring or capture file yields an error, never a panic or an out-of-bounds
//! read.  Records borrow the bytes they were parsed from.

use std::fmt;

use kestrel_abi::{EVENT_HEADER_SIZE, MAX_PARAMS, PARAM_FAULT, PARAM_LEN_MASK, PARAM_TRUNCATED};

/// Record type of a filler record at the end of a ring's data area.
pub const TYPE_PAD: u16 = kestrel_abi::EventType::KESTREL_EVT_PAD as u16;
/// Record type of an in-band "events were lost here" record.
pub const TYPE_LOST: u16 = kestrel_abi::EventType::KESTREL_EVT_LOST as u16;

/// Why a byte range is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer bytes remain than the header (or its `len`) needs.
    Truncated {
        /// Bytes the record needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// `len` is smaller than a header or not a multiple of 8.
    BadLength(u32),
    /// More parameters than any event has.
    TooManyParams(u16),
    /// The parameter lengths add up to more than the record holds.
    ParamsOverflow {
        /// Bytes the header, table and parameters need.
        needed: usize,
        /// The record's `len`.
        len: u32,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated { needed, available } => {
                write!(
                    f,
                    "record truncated: needs {needed} bytes, {available} remain"
                )
            }
            RecordError::BadLength(len) => {
                write!(
                    f,
                    "bad record length {len} (must be >= {EVENT_HEADER_SIZE} and a multiple of 8)"
                )
            }
            RecordError::TooManyParams(n) => {
                write!(f, "record claims {n} parameters (at most {MAX_PARAMS})")
            }
            RecordError::ParamsOverflow { needed, len } => {
                write!(f, "parameters need {needed} bytes but the record is {len}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// One parameter's bytes and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The bytes (empty when `fault`).
    pub bytes: &'a [u8],
    /// The module cut the value at snaplen.
    pub truncated: bool,
    /// The module could not read the value from user memory.
    pub fault: bool,
}

impl<'a> Param<'a> {
    /// The value as a little-endian u64, if it is 8 bytes long.
    pub fn u64(&self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes.try_into().ok()?))
    }

    /// The value as a little-endian i64, if it is 8 bytes long.
    pub fn i64(&self) -> Option<i64> {
        self.u64().map(|v| v as i64)
    }

    /// The value as a little-endian u32, if it is 4 bytes long.
    pub fn u32(&self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes.try_into().ok()?))
    }
}

/// Reads the length and type of the record at the start of `bytes`: the two
/// fields that are valid even in the shortest PAD record.
pub fn peek_len_type(bytes: &[u8]) -> Option<(u32, u16)> {
    let len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?);
    let ty = u16::from_le_bytes(bytes.get(4..6)?.try_into().ok()?);
    Some((len, ty))
}

impl RecordLayout {
    /// Event type number.
    pub(crate) fn event_type(&self) -> u16 {
        self.ty
    }

    /// Timestamp.
    pub(crate) fn ts_ns(&self) -> u64 {
        self.ts_ns
    }
}

/// A validated record borrowed from a ring or a capture file.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    layout: RecordLayout,
}

/// What [`Record::parse`] learned about a record, without the borrow: a
/// reader keeps it to hand the record out again without re-validating.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordLayout {
    ty: u16,
    nparams: u16,
    ts_ns: u64,
    tid: u32,
    pid: u32,
    /// Start of each parameter's bytes, relative to the record.
    offsets: [u16; MAX_PARAMS],
}

impl fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("type", &self.layout.ty)
            .field("len", &self.bytes.len())
            .field("ts_ns", &self.layout.ts_ns)
            .field("tid", &self.layout.tid)
            .field("pid", &self.layout.pid)
            .field("nparams", &self.layout.nparams)
            .finish()
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

impl<'a> Record<'a> {
    /// Parses the record that starts at `bytes[0]`; `bytes` may run past it.
    pub fn parse(bytes: &'a [u8]) -> Result<Record<'a>, RecordError> {
        if bytes.len() < EVENT_HEADER_SIZE {
            return Err(RecordError::Truncated {
                needed: EVENT_HEADER_SIZE,
                available: bytes.len(),
            });
        }
        let len = u32_at(bytes, 0);
        if (len as usize) < EVENT_HEADER_SIZE || len % 8 != 0 {
            return Err(RecordError::BadLength(len));
        }
        if len as usize > bytes.len() {
            return Err(RecordError::Truncated {
                needed: len as usize,
                available: bytes.len(),
            });
        }
        let bytes = &bytes[..len as usize];
        let nparams = u16_at(bytes, 6);
        if nparams as usize > MAX_PARAMS {
            return Err(RecordError::TooManyParams(nparams));
        }
        let mut offsets = [0u16; MAX_PARAMS];
        let mut pos = EVENT_HEADER_SIZE + 2 * nparams as usize;
        if pos > bytes.len() {
            return Err(RecordError::ParamsOverflow { needed: pos, len });
        }
        for (i, slot) in offsets.iter_mut().enumerate().take(nparams as usize) {
            let plen = (u16_at(bytes, EVENT_HEADER_SIZE + 2 * i) & PARAM_LEN_MASK) as usize;
            // pos stays below len <= u32 range; the check below keeps it <= len.
            *slot =
                u16::try_from(pos).map_err(|_| RecordError::ParamsOverflow { needed: pos, len })?;
            pos += plen;
            if pos > bytes.len() {
                return Err(RecordError::ParamsOverflow { needed: pos, len });
            }
        }
        Ok(Record {
            bytes,
            layout: RecordLayout {
                ty: u16_at(bytes, 4),
                nparams,
                ts_ns: u64_at(bytes, 8),
                tid: u32_at(bytes, 16),
                pid: u32_at(bytes, 20),
                offsets,
            },
        })
    }

    /// The validated layout, to rebuild the record with [`Record::with_layout`].
    pub(crate) fn layout(&self) -> RecordLayout {
        self.layout
    }

    /// The record `parse` returned for these same bytes, without parsing
    /// again.  `bytes` must be the bytes that record borrowed (same length,
    /// unchanged); parameter access stays bounds-checked either way.
    pub(crate) fn with_layout(bytes: &'a [u8], layout: RecordLayout) -> Record<'a> {
        Record { bytes, layout }
    }

    /// The whole record, padding included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Record length in bytes (a multiple of 8).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a record holds at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Event type number (`KESTREL_EVT_*`).
    pub fn event_type(&self) -> u16 {
        self.layout.ty
    }

    /// CLOCK_MONOTONIC nanoseconds at the probe.
    pub fn ts_ns(&self) -> u64 {
        self.layout.ts_ns
    }

    /// Thread id.
    pub fn tid(&self) -> u32 {
        self.layout.tid
    }

    /// Process id (thread group id).
    pub fn pid(&self) -> u32 {
        self.layout.pid
    }

    /// Number of parameters.
    pub fn nparams(&self) -> usize {
        self.layout.nparams as usize
    }

    /// Every parameter in order: one pass over the length table, cheaper
    /// than [`Record::param`] for each index.
    #[inline]
    pub fn params(&self) -> impl Iterator<Item = Param<'a>> + 'a {
        let bytes = self.bytes;
        let n = self.layout.nparams as usize;
        let table = bytes
            .get(EVENT_HEADER_SIZE..EVENT_HEADER_SIZE + 2 * n)
            .unwrap_or(&[]);
        let mut rest = bytes.get(EVENT_HEADER_SIZE + 2 * n..).unwrap_or(&[]);
        table.chunks_exact(2).map(move |c| {
            let raw = u16::from_le_bytes([c[0], c[1]]);
            // `parse` checked that the lengths fit the record.
            let len = ((raw & PARAM_LEN_MASK) as usize).min(rest.len());
            let (here, tail) = rest.split_at(len);
            rest = tail;
            Param {
                bytes: here,
                truncated: raw & PARAM_TRUNCATED != 0,
                fault: raw & PARAM_FAULT != 0,
            }
        })
    }

    /// Parameter `i`, if the record has it.
    pub fn param(&self, i: usize) -> Option<Param<'a>> {
        if i >= self.layout.nparams as usize {
            return None;
        }
        let raw = u16_at(self.bytes, EVENT_HEADER_SIZE + 2 * i);
        let start = self.layout.offsets[i] as usize;
        let len = (raw & PARAM_LEN_MASK) as usize;
        Some(Param {
            bytes: &self.bytes[start..start + len],
            truncated: raw & PARAM_TRUNCATED != 0,
            fault: raw & PARAM_FAULT != 0,
        })
    }
}

/// Builds records in the module's layout: used by the ring simulator, tests
/// and benchmarks, never by the live path.
#[derive(Debug, Clone)]
pub struct RecordBuilder {
    ty: u16,
    ts_ns: u64,
    tid: u32,
    pid: u32,
    params: Vec<(Vec<u8>, u16)>,
}

impl RecordBuilder {
    /// An argv/env parameter the way the module cuts one item by item
    /// (`ARGV` in kestrel_abi.h): the kept items, NUL-terminated; the map of
    /// the items cut short (bit `i` for item `i`); the count left out; the
    /// count kept before the gap; the count kept.
    pub fn argv_list(items: &[&[u8]], cut: &[usize], omitted: u32, first: u16) -> Vec<u8> {
        let mut b = Vec::new();
        for it in items {
            b.extend_from_slice(it);
            b.push(0);
        }
        let mut map = vec![0u8; items.len().div_ceil(8)];
        for &i in cut {
            map[i / 8] |= 1 << (i % 8);
        }
        b.extend_from_slice(&map);
        b.extend_from_slice(&omitted.to_le_bytes());
        b.extend_from_slice(&first.to_le_bytes());
        b.extend_from_slice(&(items.len() as u16).to_le_bytes());
        b
    }

    /// Starts a record of type `ty`.
    pub fn new(ty: u16, ts_ns: u64, tid: u32, pid: u32) -> Self {
        RecordBuilder {
            ty,
            ts_ns,
            tid,
            pid,
            params: Vec::new(),
        }
    }

    /// Appends a parameter with raw bytes and flags.
    pub fn param_flags(mut self, bytes: &[u8], flags: u16) -> Self {
        self.params.push((bytes.to_vec(), flags));
        self
    }

    /// Appends a parameter.
    pub fn param(self, bytes: &[u8]) -> Self {
        self.param_flags(bytes, 0)
    }

    /// Appends a u64 parameter.
    pub fn u64(self, v: u64) -> Self {
        self.param(&v.to_le_bytes())
    }

    /// Appends an i64 parameter.
    pub fn i64(self, v: i64) -> Self {
        self.param(&v.to_le_bytes())
    }

    /// Appends a u32 parameter.
    pub fn u32(self, v: u32) -> Self {
        self.param(&v.to_le_bytes())
    }

    /// The finished record, padded to 8 bytes.
    pub fn build(&self) -> Vec<u8> {
        let table = 2 * self.params.len();
        let body: usize = self.params.iter().map(|p| p.0.len()).sum();
        let len = (EVENT_HEADER_SIZE + table + body).next_multiple_of(8);
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&self.ty.to_le_bytes());
        out.extend_from_slice(&(self.params.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.ts_ns.to_le_bytes());
        out.extend_from_slice(&self.tid.to_le_bytes());
        out.extend_from_slice(&self.pid.to_le_bytes());
        for (bytes, flags) in &self.params {
            let entry = (bytes.len() as u16 & PARAM_LEN_MASK) | flags;
            out.extend_from_slice(&entry.to_le_bytes());
        }
        for (bytes, _) in &self.params {
            out.extend_from_slice(bytes);
        }
        out.resize(len, 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_header_and_params() {
        let bytes = RecordBuilder::new(7, 99, 10, 11)
            .i64(-2)
            .param(b"/etc/shadow")
            .param_flags(b"", PARAM_FAULT)
            .param_flags(b"abc", PARAM_TRUNCATED)
            .build();
        assert_eq!(bytes.len() % 8, 0);
        let rec = Record::parse(&bytes).unwrap();
        assert_eq!(rec.event_type(), 7);
        assert_eq!(rec.ts_ns(), 99);
        assert_eq!((rec.tid(), rec.pid()), (10, 11));
        assert_eq!(rec.nparams(), 4);
        assert_eq!(rec.param(0).unwrap().i64(), Some(-2));
        assert_eq!(rec.param(1).unwrap().bytes, b"/etc/shadow");
        assert!(rec.param(2).unwrap().fault);
        assert!(rec.param(3).unwrap().truncated);
        assert_eq!(rec.param(3).unwrap().bytes, b"abc");
        assert!(rec.param(4).is_none());
    }

    #[test]
    fn rejects_corrupt_records() {
        let good = RecordBuilder::new(7, 1, 1, 1).param(b"hello").build();
        assert!(matches!(
            Record::parse(&good[..20]),
            Err(RecordError::Truncated { .. })
        ));
        assert!(matches!(
            Record::parse(&good[..good.len() - 8]),
            Err(RecordError::Truncated { .. })
        ));
        let mut bad_len = good.clone();
        bad_len[0] = 13;
        assert_eq!(
            Record::parse(&bad_len).unwrap_err(),
            RecordError::BadLength(13)
        );
        let mut many = good.clone();
        many[6] = 200;
        assert!(matches!(
            Record::parse(&many),
            Err(RecordError::TooManyParams(200))
        ));
        let mut overflow = good.clone();
        overflow[24] = 0xff;
        overflow[25] = 0x0f;
        assert!(matches!(
            Record::parse(&overflow),
            Err(RecordError::ParamsOverflow { .. })
        ));
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // A small deterministic fuzz: every truncation and single-byte
        // corruption of a valid record either parses or errors.
        let good = RecordBuilder::new(4, 5, 6, 7)
            .i64(0)
            .param(b"/bin/sh")
            .param(b"sh\0-c\0echo hi\0")
            .build();
        for cut in 0..good.len() {
            let _ = Record::parse(&good[..cut]);
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                if let Ok(rec) = Record::parse(&b) {
                    for p in 0..rec.nparams() {
                        let _ = rec.param(p);
                    }
                }
            }
        }
    }
}
