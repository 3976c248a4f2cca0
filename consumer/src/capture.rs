//! Capture files: the module's records written to disk in merged order, so
//! the same pipeline can replay them on machines without the module.
//!
//! Layout (all little-endian):
//!
//! ```text
//! header, 32 bytes:
//!   magic "KESTRCAP" | format u32 = 1 | abi_version u32 |
//!   wall_offset_ns i64 (CLOCK_REALTIME - CLOCK_MONOTONIC at capture) |
//!   nr_rings u32 | snaplen u32
//! then frames until end of file:
//!   ring u32 | reserved u32 = 0 | one record exactly as in the ring
//! ```

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use crate::record::{Record, RecordError};

/// First 8 bytes of every capture file.
pub const MAGIC: &[u8; 8] = b"KESTRCAP";
/// Version of the layout above.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the file header.
pub const HEADER_LEN: usize = 32;
/// Size of the per-record frame header.
pub const FRAME_LEN: usize = 8;

/// What a capture file says about where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureHeader {
    /// The module's ABI version at capture time.
    pub abi_version: u32,
    /// CLOCK_REALTIME - CLOCK_MONOTONIC in ns, to print wall time.
    pub wall_offset_ns: i64,
    /// Rings the module had.
    pub nr_rings: u32,
    /// snaplen in force.
    pub snaplen: u32,
}

impl CaptureHeader {
    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.abi_version.to_le_bytes());
        b[16..24].copy_from_slice(&self.wall_offset_ns.to_le_bytes());
        b[24..28].copy_from_slice(&self.nr_rings.to_le_bytes());
        b[28..32].copy_from_slice(&self.snaplen.to_le_bytes());
        b
    }
}

/// Mode of a capture file Kestrel creates: owner only.  A capture holds
/// every recorded argument (command lines, paths, addresses, and the
/// environment where a rule or the configuration asked for it), which may
/// carry secrets.
pub const CAPTURE_MODE: u32 = 0o600;

/// Opens `path` for writing a capture: created with [`CAPTURE_MODE`],
/// truncated if it exists; an existing regular file readable by others is
/// restricted to [`CAPTURE_MODE`] first (a pipe or device is left alone).
pub fn create_private(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(CAPTURE_MODE)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(CAPTURE_MODE))?;
    }
    Ok(file)
}

/// `record` with its environment parameters (schema kind `Env`: the new
/// program's environment at exec) emptied, or `None` when it has none to
/// empty.  `kestrel capture` writes this unless asked for the environment
/// (`--with-env`): it may hold secrets, and a capture file outlives the
/// run.  The other parameters keep their bytes and flags.
pub fn without_env(record: &Record<'_>) -> Option<Vec<u8>> {
    use crate::record::RecordBuilder;
    use kestrel_abi::{ParamKind, PARAM_FAULT, PARAM_TRUNCATED};
    let schema = kestrel_abi::event_schema(record.event_type())?;
    let is_env = |i: usize| {
        schema
            .params
            .get(i)
            .is_some_and(|p| p.kind == ParamKind::Env)
    };
    if !record
        .params()
        .enumerate()
        .any(|(i, p)| is_env(i) && !p.bytes.is_empty())
    {
        return None;
    }
    let mut b = RecordBuilder::new(
        record.event_type(),
        record.ts_ns(),
        record.tid(),
        record.pid(),
    );
    for (i, p) in record.params().enumerate() {
        if is_env(i) {
            b = b.param(&[]);
        } else {
            let flags = if p.truncated { PARAM_TRUNCATED } else { 0 }
                | if p.fault { PARAM_FAULT } else { 0 };
            b = b.param_flags(p.bytes, flags);
        }
    }
    Some(b.build())
}

/// A capture file that cannot be read, with the byte offset of the problem.
#[derive(Debug)]
pub enum CaptureError {
    /// Reading the file failed.
    Io(io::Error),
    /// Not a capture file.
    BadMagic,
    /// Written by another version of the format or ABI.
    Version {
        /// What the file says.
        file_format: u32,
        /// ABI version in the file.
        file_abi: u32,
    },
    /// The file ends in the middle of something.
    Truncated {
        /// Offset where the cut item starts.
        offset: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A record is malformed.
    Corrupt {
        /// Offset of the frame.
        offset: usize,
        /// What was wrong.
        what: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "{e}"),
            CaptureError::BadMagic => write!(f, "not a kestrel capture file (bad magic at offset 0)"),
            CaptureError::Version { file_format, file_abi } => write!(
                f,
                "capture format {file_format} / ABI {file_abi} not supported (this kestrel reads format {FORMAT_VERSION}, ABI {})",
                kestrel_abi::ABI_VERSION
            ),
            CaptureError::Truncated { offset, what } => {
                write!(f, "truncated at offset {offset}: the file ends inside a {what}")
            }
            CaptureError::Corrupt { offset, what } => write!(f, "corrupt at offset {offset}: {what}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// Appends records to a capture file.
pub struct CaptureWriter<W: Write> {
    out: W,
    records: u64,
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the header.
    pub fn new(mut out: W, header: CaptureHeader) -> io::Result<Self> {
        out.write_all(&header.to_bytes())?;
        Ok(CaptureWriter { out, records: 0 })
    }

    /// Appends one record read from ring `ring`.
    pub fn write(&mut self, ring: u32, record: &Record<'_>) -> io::Result<()> {
        self.out.write_all(&ring.to_le_bytes())?;
        self.out.write_all(&0u32.to_le_bytes())?;
        self.out.write_all(record.as_bytes())?;
        self.records += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A capture file read into memory.
pub struct CaptureFile {
    bytes: Vec<u8>,
    header: CaptureHeader,
}

impl CaptureFile {
    /// Reads and checks the header of the file at `path`.
    pub fn open(path: &Path) -> Result<CaptureFile, CaptureError> {
        CaptureFile::from_bytes(std::fs::read(path).map_err(CaptureError::Io)?)
    }

    /// Checks the header of a capture held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<CaptureFile, CaptureError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(CaptureError::BadMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(CaptureError::Truncated {
                offset: 0,
                what: "file header",
            });
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let file_format = u32_at(8);
        let file_abi = u32_at(12);
        if file_format != FORMAT_VERSION || file_abi != kestrel_abi::ABI_VERSION {
            return Err(CaptureError::Version {
                file_format,
                file_abi,
            });
        }
        let header = CaptureHeader {
            abi_version: file_abi,
            wall_offset_ns: i64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")),
            nr_rings: u32_at(24),
            snaplen: u32_at(28),
        };
        Ok(CaptureFile { bytes, header })
    }

    /// The file header.
    pub fn header(&self) -> CaptureHeader {
        self.header
    }

    /// The frames in file order: `(byte offset, ring, record)`.
    pub fn records(&self) -> CaptureRecords<'_> {
        CaptureRecords {
            bytes: &self.bytes,
            offset: HEADER_LEN,
            nr_rings: self.header.nr_rings,
            failed: false,
        }
    }
}

/// Iterator over a capture's frames; stops after the first error.
pub struct CaptureRecords<'a> {
    bytes: &'a [u8],
    offset: usize,
    nr_rings: u32,
    failed: bool,
}

impl<'a> Iterator for CaptureRecords<'a> {
    type Item = Result<(usize, u32, Record<'a>), CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset == self.bytes.len() {
            return None;
        }
        let at = self.offset;
        let rest = &self.bytes[at..];
        let result = (|| {
            if rest.len() < FRAME_LEN {
                return Err(CaptureError::Truncated {
                    offset: at,
                    what: "frame header",
                });
            }
            let ring = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes"));
            if ring >= self.nr_rings || rest[4..8] != [0; 4] {
                return Err(CaptureError::Corrupt {
                    offset: at,
                    what: format!("bad frame header (ring {ring} of {})", self.nr_rings),
                });
            }
            let rec = Record::parse(&rest[FRAME_LEN..]).map_err(|e| match e {
                RecordError::Truncated { .. } => CaptureError::Truncated {
                    offset: at,
                    what: "record",
                },
                other => CaptureError::Corrupt {
                    offset: at,
                    what: other.to_string(),
                },
            })?;
            Ok((ring, rec))
        })();
        match result {
            Ok((ring, rec)) => {
                self.offset += FRAME_LEN + rec.len();
                Some(Ok((at, ring, rec)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordBuilder;

    fn sample() -> Vec<u8> {
        let header = CaptureHeader {
            abi_version: kestrel_abi::ABI_VERSION,
            wall_offset_ns: 7,
            nr_rings: 2,
            snaplen: 4096,
        };
        let mut w = CaptureWriter::new(Vec::new(), header).unwrap();
        for (ring, ts) in [(0u32, 1u64), (1, 2), (0, 3)] {
            let b = RecordBuilder::new(3, ts, 9, 9).u64(ts).build();
            w.write(ring, &Record::parse(&b).unwrap()).unwrap();
        }
        assert_eq!(w.records(), 3);
        w.finish().unwrap()
    }

    #[test]
    fn round_trips_records_in_order() {
        let file = CaptureFile::from_bytes(sample()).unwrap();
        assert_eq!(file.header().wall_offset_ns, 7);
        let got: Vec<(u32, u64)> = file
            .records()
            .map(|r| r.map(|(_, ring, rec)| (ring, rec.ts_ns())).unwrap())
            .collect();
        assert_eq!(got, vec![(0, 1), (1, 2), (0, 3)]);
    }

    #[test]
    fn truncation_names_the_offset() {
        let bytes = sample();
        let cut = bytes.len() - 5;
        let file = CaptureFile::from_bytes(bytes[..cut].to_vec()).unwrap();
        let errs: Vec<_> = file.records().filter_map(|r| r.err()).collect();
        assert_eq!(errs.len(), 1);
        let frame_len = (cut - HEADER_LEN + 5) / 3;
        let last = HEADER_LEN + 2 * frame_len;
        assert_eq!(
            errs[0].to_string(),
            format!("truncated at offset {last}: the file ends inside a record")
        );
    }

    #[test]
    fn rejects_foreign_and_corrupt_files() {
        assert!(matches!(
            CaptureFile::from_bytes(b"hello world, not a capture".to_vec()),
            Err(CaptureError::BadMagic)
        ));
        let mut other_abi = sample();
        other_abi[12] = 99;
        let err = CaptureFile::from_bytes(other_abi).err().unwrap();
        assert!(err.to_string().contains("ABI 99"), "{err}");
        let mut bad_ring = sample();
        bad_ring[HEADER_LEN] = 5;
        let file = CaptureFile::from_bytes(bad_ring).unwrap();
        let err = file.records().next().unwrap().unwrap_err();
        assert!(err.to_string().starts_with("corrupt at offset 32"), "{err}");
    }

    #[test]
    fn the_environment_is_left_out_of_records_on_request() {
        use kestrel_abi::EventType as T;
        let exec = RecordBuilder::new(T::KESTREL_EVT_EXECVE as u16, 5, 7, 7)
            .i64(0)
            .param(b"/bin/sh")
            .param_flags(b"sh\0-c\0", kestrel_abi::PARAM_TRUNCATED)
            .param(b"/")
            .u32(0)
            .u32(0)
            .u32(0)
            .u32(0)
            .u32(0)
            .u32(0)
            .param(b"/")
            .u32(1)
            .u32(7)
            .u32(7)
            .u32(1)
            .param(b"AWS_SECRET_ACCESS_KEY=hunter2\0HOME=/\0")
            .param(b"sh")
            .build();
        let rec = Record::parse(&exec).unwrap();
        let clean = without_env(&rec).expect("has an environment");
        let clean = Record::parse(&clean).unwrap();
        assert_eq!(clean.nparams(), rec.nparams());
        assert!(!clean.as_bytes().windows(7).any(|w| w == b"hunter2"));
        for (i, (a, b)) in rec.params().zip(clean.params()).enumerate() {
            if i == 15 {
                assert!(b.bytes.is_empty());
            } else {
                assert_eq!(a, b, "param {i}");
            }
        }
        assert_eq!(
            (clean.ts_ns(), clean.tid(), clean.event_type()),
            (5, 7, rec.event_type())
        );
        // Still decodes, as an exec with an empty environment.
        crate::decode::decode(&clean).unwrap();
        // Nothing to do for an event without an environment.
        let open = RecordBuilder::new(T::KESTREL_EVT_CLOSE as u16, 1, 1, 1)
            .i64(0)
            .i64(3)
            .build();
        assert!(without_env(&Record::parse(&open).unwrap()).is_none());
    }

    #[test]
    fn capture_files_are_created_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("kestrel-capmode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Even with a permissive umask in force, a new file is 0600.
        let new = dir.join("new.kcap");
        let old_umask = unsafe_umask(0);
        let created = create_private(&new);
        unsafe_umask(old_umask);
        created.unwrap();
        assert_eq!(mode(&new), 0o600);
        // An existing world-readable file is restricted before use.
        let old = dir.join("old.kcap");
        std::fs::write(&old, b"secret").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        create_private(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read(&old).unwrap(), b"");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Sets the process umask, returning the old one.
    fn unsafe_umask(mask: u32) -> u32 {
        // SAFETY: umask(2) cannot fail and touches no memory; it is
        // process-wide, so the window above is kept to one open.
        unsafe { libc::umask(mask as libc::mode_t) as u32 }
    }
}
