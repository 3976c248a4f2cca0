//! `/dev/kestrel`: opening it, checking the ABI version, mapping the rings,
//! and the ioctls, with errors that say what to do.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use kestrel_abi::{CpuStats, DeviceInfo, SyscallMask};
use memmap2::MmapOptions;

use crate::ring::RingReader;

/// Where the module's device node appears.
pub const DEFAULT_DEVICE: &str = "/dev/kestrel";

/// Module features this consumer cannot work without: rings found by CPU id
/// through `GET_RINGS`.  (`HOTPLUG` is used when present: without it no ring
/// appears during capture, and the consumer simply finds none new.)
pub const REQUIRED_FEATURES: u64 = kestrel_abi::feature::RING_MAP;

/// Why the device cannot be used.
#[derive(Debug)]
pub enum DeviceError {
    /// No device node: the module is not loaded.
    NotLoaded(PathBuf),
    /// Permission denied: not root.
    NotRoot(PathBuf),
    /// Root, but without the capabilities the module asks for.
    NoCapability {
        /// The device.
        path: PathBuf,
        /// Opened as the consumer (not an observer).
        consumer: bool,
    },
    /// The module lacks features this consumer needs.
    MissingFeatures(Vec<String>),
    /// Another consumer holds the device.
    Busy(PathBuf),
    /// The module speaks another ABI version.
    AbiMismatch {
        /// The module's version.
        module: u32,
        /// Ours.
        consumer: u32,
    },
    /// The module reported a ring geometry we cannot use.
    BadGeometry(String),
    /// Any other failure, with what was being done.
    Io {
        /// The step that failed.
        what: String,
        /// The error.
        err: io::Error,
    },
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::NotLoaded(p) => write!(
                f,
                "{} does not exist: is the module loaded? Load it with `insmod kmod/kestrel.ko` \
                 (or `modprobe kestrel` where it is installed with DKMS)",
                p.display()
            ),
            DeviceError::NotRoot(p) => write!(
                f,
                "permission denied opening {}: kestrel must run as root (the device is mode 0600)",
                p.display()
            ),
            DeviceError::NoCapability { path, consumer } => write!(
                f,
                "operation not permitted opening {}: the module asks {}",
                path.display(),
                if *consumer {
                    "CAP_SYS_ADMIN, or CAP_PERFMON and CAP_BPF, of a consumer"
                } else {
                    "CAP_SYS_ADMIN or CAP_PERFMON of an observer (kestrel stats)"
                }
            ),
            DeviceError::MissingFeatures(names) => write!(
                f,
                "the loaded module lacks feature(s) this kestrel needs: {}; load the module \
                 built from the same source",
                names.join(", ")
            ),
            DeviceError::Busy(p) => write!(
                f,
                "{} is busy: another kestrel consumer is attached (one at a time)",
                p.display()
            ),
            DeviceError::AbiMismatch { module, consumer } => write!(
                f,
                "ABI version mismatch: the loaded module speaks version {module}, this kestrel \
                 speaks version {consumer}; load the module built from the same source"
            ),
            DeviceError::BadGeometry(what) => write!(f, "unusable ring geometry: {what}"),
            DeviceError::Io { what, err } => write!(f, "{what}: {err}"),
        }
    }
}

impl std::error::Error for DeviceError {}

fn io_err(what: impl Into<String>) -> impl FnOnce(nix::Error) -> DeviceError {
    let what = what.into();
    move |e| DeviceError::Io {
        what,
        err: io::Error::from(e),
    }
}

/// An open `/dev/kestrel`.
#[derive(Debug)]
pub struct Device {
    file: File,
    path: PathBuf,
    info: DeviceInfo,
}

impl Device {
    /// Opens the device as its one consumer (read-write) and checks the ABI.
    pub fn open(path: &Path) -> Result<Device, DeviceError> {
        Device::open_mode(path, true)
    }

    /// Opens the device to read counters only; works beside a consumer.
    pub fn open_observer(path: &Path) -> Result<Device, DeviceError> {
        Device::open_mode(path, false)
    }

    fn open_mode(path: &Path, consumer: bool) -> Result<Device, DeviceError> {
        let file = OpenOptions::new()
            .read(true)
            .write(consumer)
            .open(path)
            .map_err(|err| match err.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENXIO) | Some(libc::ENODEV) => {
                    DeviceError::NotLoaded(path.into())
                }
                Some(libc::EACCES) => DeviceError::NotRoot(path.into()),
                Some(libc::EPERM) => DeviceError::NoCapability {
                    path: path.into(),
                    consumer,
                },
                Some(libc::EBUSY) => DeviceError::Busy(path.into()),
                _ => DeviceError::Io {
                    what: format!("opening {}", path.display()),
                    err,
                },
            })?;
        let module = kestrel_abi::abi_version(&file).map_err(io_err(format!(
            "reading the ABI version of {}",
            path.display()
        )))?;
        if module != kestrel_abi::ABI_VERSION {
            return Err(DeviceError::AbiMismatch {
                module,
                consumer: kestrel_abi::ABI_VERSION,
            });
        }
        let info = kestrel_abi::device_info(&file).map_err(io_err("reading the device info"))?;
        let missing = kestrel_abi::feature::missing(info.features, REQUIRED_FEATURES);
        if !missing.is_empty() {
            return Err(DeviceError::MissingFeatures(missing));
        }
        Ok(Device {
            file,
            path: path.into(),
            info,
        })
    }

    /// Ring geometry and capture state, as read at open.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ids of the rings that exist now, ascending.  Ids are CPU ids:
    /// they may have holes (CPUs that are not present, or were offline
    /// when the consumer opened the device), and rings appear when a CPU
    /// comes online during capture.
    pub fn ring_ids(&self) -> Result<Vec<u32>, DeviceError> {
        kestrel_abi::ring_ids(&self.file)
            .map(|(ids, _)| ids)
            .map_err(io_err("reading which rings exist"))
    }

    fn check_geometry(&self) -> Result<(), DeviceError> {
        let i = &self.info;
        let page = i.page_size;
        if !i.ring_size.is_power_of_two()
            || i.ring_size < 64
            || page == 0
            || i.data_offset != i.producer_offset + page
            || i.ring_stride < i.data_offset + i.ring_size
        {
            return Err(DeviceError::BadGeometry(format!("{i:?}")));
        }
        Ok(())
    }

    /// Maps every ring that exists now and returns a reader for each, in
    /// ring id order.
    pub fn map_rings(&self) -> Result<Vec<RingReader>, DeviceError> {
        self.check_geometry()?;
        self.ring_ids()?
            .into_iter()
            .map(|id| self.map_ring(id))
            .collect()
    }

    /// Maps ring `ring` (a CPU id that [`Device::ring_ids`] listed).
    pub fn map_ring(&self, ring: u32) -> Result<RingReader, DeviceError> {
        self.check_geometry()?;
        let i = &self.info;
        let page = i.page_size;
        let base = u64::from(ring) * i.ring_stride;
        let map_err = |what: &str| {
            let what = format!("mapping the {what} of ring {ring}");
            move |err| DeviceError::Io { what, err }
        };
        // SAFETY: the module backs this range with the ring's consumer page
        // for as long as the mapping exists (a mapping holds the file open,
        // which keeps the rings and pins the module); only this process
        // writes it (the mapping is not inherited across fork).
        let mut consumer = unsafe {
            MmapOptions::new()
                .offset(base + i.consumer_offset)
                .len(page as usize)
                .map_mut(&self.file)
        }
        .map_err(map_err("consumer page"))?;
        // SAFETY: as above, for the producer page and the data that follows
        // it, mapped read-only; the module writes them under the ring
        // protocol, which RingReader follows.
        let producer = unsafe {
            MmapOptions::new()
                .offset(base + i.producer_offset)
                .len((page + i.ring_size) as usize)
                .map(&self.file)
        }
        .map_err(map_err("producer page and data"))?;
        let consumer_ptr = consumer.as_mut_ptr() as *mut kestrel_abi::RingConsumerPage;
        let producer_ptr = producer.as_ptr() as *const kestrel_abi::RingProducerPage;
        // SAFETY (pointer arithmetic): the data starts one page into a
        // mapping of page + ring_size bytes.
        let data = producer.as_ptr().wrapping_add(page as usize);
        // SAFETY: the pointers come from the two mappings above, which are
        // page aligned, stay mapped while the owner box lives, and have the
        // layout kestrel_abi.h gives; ring_size is a power of two (checked
        // above); the module is the only producer and follows the protocol.
        Ok(unsafe {
            RingReader::from_raw(
                ring as usize,
                producer_ptr,
                consumer_ptr,
                data,
                i.ring_size,
                Box::new((consumer, producer)),
            )
        })
    }

    /// Tells the module which syscalls to record.
    pub fn set_syscalls(&self, mask: &SyscallMask) -> Result<(), DeviceError> {
        kestrel_abi::set_syscall_mask(&self.file, mask).map_err(io_err("setting the syscall mask"))
    }

    /// Sets the most bytes copied per parameter.
    pub fn set_snaplen(&self, snaplen: u32) -> Result<(), DeviceError> {
        kestrel_abi::set_snaplen(&self.file, snaplen)
            .map_err(io_err(format!("setting snaplen to {snaplen}")))
    }

    /// Attaches the probes.
    pub fn start(&self) -> Result<(), DeviceError> {
        kestrel_abi::start_capture(&self.file).map_err(io_err("starting capture"))
    }

    /// Detaches the probes.
    pub fn stop(&self) -> Result<(), DeviceError> {
        kestrel_abi::stop_capture(&self.file).map_err(io_err("stopping capture"))
    }

    /// One ring's counters.
    pub fn cpu_stats(&self, ring: u32) -> Result<CpuStats, DeviceError> {
        kestrel_abi::cpu_stats(&self.file, ring)
            .map_err(io_err(format!("reading the counters of ring {ring}")))
    }

    /// Sleeps until a ring reaches its wake-up watermark (the module wakes
    /// us; see [`RingReader::set_wakeup_bytes`]) or `timeout_ms` passes; a
    /// signal ends the wait early.
    pub fn wait(&self, timeout_ms: u16) -> Result<(), DeviceError> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(timeout_ms)) {
            Ok(_) | Err(nix::Error::EINTR) => Ok(()),
            Err(e) => Err(io_err("waiting for events")(e)),
        }
    }
}

/// CLOCK_REALTIME - CLOCK_MONOTONIC, in ns: add it to a record's timestamp
/// to get wall time.
pub fn wall_clock_offset_ns() -> i64 {
    monotonic_pair().1
}

/// CLOCK_MONOTONIC now, in ns.
pub fn monotonic_ns() -> u64 {
    monotonic_pair().0
}

fn monotonic_pair() -> (u64, i64) {
    use nix::time::{clock_gettime, ClockId};
    let ns = |t: nix::sys::time::TimeSpec| t.tv_sec() as i128 * 1_000_000_000 + t.tv_nsec() as i128;
    let mono = clock_gettime(ClockId::CLOCK_MONOTONIC).map(ns).unwrap_or(0);
    let real = clock_gettime(ClockId::CLOCK_REALTIME).map(ns).unwrap_or(0);
    (mono as u64, (real - mono) as i64)
}
