/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kestrel_abi.h - the one ABI shared by kestrel.ko and its consumer.
 *
 * Everything both sides see is defined here and only here: the ioctl numbers
 * and their structs, the mmap layout of the per-CPU rings, the record header,
 * the event type numbers and the parameter layout of every event.  The module
 * includes this file; the consumer's kestrel-abi crate runs bindgen over it.
 * Only fixed-width types and explicit padding are used, and both sides check
 * the sizes at compile time.
 *
 * Ring layout and ordering protocol
 * ---------------------------------
 * The module keeps one ring per possible CPU.  Each ring occupies
 * kestrel_info.ring_stride bytes of the device's mmap offset space, starting at
 * ring_index * ring_stride, and consists of three parts at the offsets given
 * by struct kestrel_info:
 *
 *   consumer_offset  one page holding struct kestrel_ring_consumer, mapped
 *                    read-write; only the consumer writes it.
 *   producer_offset  one page holding struct kestrel_ring_producer, mapped
 *                    read-only; only the module writes it.
 *   data_offset      ring_size bytes of records (a power of two), mapped
 *                    read-only, immediately after the producer page, so the
 *                    producer page and the data can be mapped in one call.
 *
 * head and tail are free-running 64-bit byte counters; a position's offset in
 * the data area is (pos & (ring_size - 1)).  The CPU that owns the ring is its
 * only producer and writes with preemption disabled.  It reads tail with
 * acquire (so the consumer's reads of the bytes it frees are complete before
 * they are overwritten) and never trusts it: a tail ahead of head, or more
 * than ring_size behind it, is clamped.  It writes a whole record (or a pad
 * record plus a record) and then publishes head with a release store.  The
 * consumer reads head with an acquire load, so every byte before head is
 * visible; it reads records between tail and head and publishes the new tail
 * with a release store after each record or small batch, never only after a
 * whole ring.  Records are 8-byte aligned and never split at the end of the
 * data area: when a record does not fit before the end, the producer fills the
 * rest with a KESTREL_EVT_PAD record (of which only len and type are valid;
 * it may be as short as 8 bytes) and writes the record at offset 0.
 *
 * Every event the module could not deliver is counted per CPU and per reason,
 * and the gap is reported in-band: before the next record that fits, the
 * module writes a KESTREL_EVT_LOST record whose parameters give the per-CPU
 * sequence number of the first lost event and the count lost for each reason.
 * Each ring's events are numbered 0, 1, 2 ... in the order the CPU attempted
 * them, so for every ring:
 *   attempted == records written + dropped,
 * and a consumer that drained everything has seen, on each ring, exactly
 * (written) event records and LOST records whose counts add up to dropped
 * (those still pending are in kestrel_cpu_stats.lost_pending).
 *
 * An idle consumer sleeps in poll() on the device.  The module never wakes it
 * from probe context: a probe that publishes while the consumer waits queues
 * an irq_work on its CPU, which does the wake-up.
 *
 * Timestamps are CLOCK_MONOTONIC nanoseconds (ktime_get_ns()); userspace adds
 * (CLOCK_REALTIME - CLOCK_MONOTONIC), read once, to print wall time.
 */
#ifndef _UAPI_KESTREL_ABI_H
#define _UAPI_KESTREL_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Bumped on every incompatible change of anything in this file. */
#define KESTREL_ABI_VERSION		1

/* Path of the character device the module registers (a misc device). */
#define KESTREL_DEVICE_NAME		"kestrel"

/* Syscall numbers (x86_64) that the mask can name: bits 0..511. */
#define KESTREL_MAX_SYSCALLS		512
#define KESTREL_MASK_WORDS		(KESTREL_MAX_SYSCALLS / 64)

/* snaplen: the most bytes copied for any one parameter. */
#define KESTREL_SNAPLEN_MIN		16
#define KESTREL_SNAPLEN_DEFAULT		4096
#define KESTREL_SNAPLEN_MAX		16383

/* Ring sizes the module accepts (bytes of data per CPU, power of two). */
#define KESTREL_RING_SIZE_MIN		(64 * 1024)
#define KESTREL_RING_SIZE_MAX		(1024 * 1024 * 1024)

/* ------------------------------------------------------------------------ */
/* mmap'd ring control pages                                                 */

/* Written by the module only; mapped read-only at producer_offset. */
struct kestrel_ring_producer {
	__u64 head;		/* module: bytes published, release store */
	__u64 __reserved[7];	/* module: zero; pads head to a cache line */
};

/* Written by the consumer only; mapped read-write at consumer_offset. */
struct kestrel_ring_consumer {
	__u64 tail;		/* consumer: bytes consumed, release store */
	__u64 __reserved[7];	/* consumer: zero; pads tail to a cache line */
};

/* ------------------------------------------------------------------------ */
/* Records                                                                  */

/*
 * Every record starts with this header, followed by nparams __u16 parameter
 * lengths, then the parameter bytes back to back, then zero padding to a
 * multiple of 8 bytes.  len covers all of it.  A KESTREL_EVT_PAD record has
 * only len and type valid and may be 8 bytes long.
 */
struct kestrel_event_hdr {
	__u32 len;		/* module: whole record in bytes, multiple of 8 */
	__u16 type;		/* module: enum kestrel_event_type */
	__u16 nparams;		/* module: entries in the length table */
	__u64 ts_ns;		/* module: CLOCK_MONOTONIC ns at the probe */
	__u32 tid;		/* module: thread id (task->pid) */
	__u32 pid;		/* module: process id (task->tgid) */
};

/*
 * Parameter length table entries: the low 14 bits are the byte length; the
 * high bits are flags.  A parameter that could not be read from user memory
 * has length 0 and KESTREL_PARAM_FAULT; one cut at snaplen has
 * KESTREL_PARAM_TRUNCATED.
 */
#define KESTREL_PARAM_LEN_MASK		0x3fff
#define KESTREL_PARAM_TRUNCATED		0x4000
#define KESTREL_PARAM_FAULT		0x8000

/*
 * Event types and their parameters, in order.  Numbers are little-endian
 * (the host's order); s64 results are the syscall's return value (-errno on
 * failure).  Strings carry no terminating NUL; argv is each argument followed
 * by a NUL, as in /proc/PID/cmdline.  Syscall events are recorded at syscall
 * exit unless their name says _ENTER.
 */
enum kestrel_event_type {
	/* Filler up to the end of the data area; skip it. */
	KESTREL_EVT_PAD = 1,
	/*
	 * Events were dropped before this point.
	 * 0 seq u64: per-CPU sequence number of the first lost event
	 * 1 ring_full u64, 2 too_large u64, 3 fault u64: events lost per reason
	 */
	KESTREL_EVT_LOST = 2,
	/*
	 * A masked-in syscall with no decoder of its own.
	 * 0 nr u32, 1 res s64, 2 args 6 x u64 (48 bytes)
	 */
	KESTREL_EVT_GENERIC = 3,
	/*
	 * execve / execveat at exit.  On success exe is the path of the new
	 * image's executable as the kernel resolved it and argv is read from
	 * the new image; on failure both come from the caller's arguments.
	 * 0 res s64, 1 exe string, 2 argv bytes, 3 dirfd s64, 4 flags u32
	 * (dirfd is AT_FDCWD and flags 0 for execve)
	 */
	KESTREL_EVT_EXECVE = 4,
	KESTREL_EVT_EXECVEAT = 5,
	/*
	 * open / openat / openat2 at exit.
	 * 0 res s64 (the new fd), 1 dirfd s64 (AT_FDCWD for open), 2 path string,
	 * 3 flags u64, 4 mode u64, 5 resolve u64 (0 unless openat2)
	 */
	KESTREL_EVT_OPEN = 6,
	KESTREL_EVT_OPENAT = 7,
	KESTREL_EVT_OPENAT2 = 8,
	/*
	 * connect at exit.
	 * 0 res s64, 1 fd s64, 2 sockaddr bytes (as passed, at most 128 bytes)
	 */
	KESTREL_EVT_CONNECT = 9,
	/*
	 * clone / fork / vfork at exit, in the parent and in the child.
	 * 0 res s64 (child tid in the parent, 0 in the child), 1 flags u64
	 * (clone's flags argument; 0 for fork and vfork)
	 */
	KESTREL_EVT_CLONE = 10,
	KESTREL_EVT_FORK = 11,
	KESTREL_EVT_VFORK = 12,
	/*
	 * sched_process_exit: a thread exits (tid/pid in the header).
	 * 0 exit_code u32 (as wait(2) encodes it)
	 */
	KESTREL_EVT_PROC_EXIT = 13,
	/*
	 * sched_process_fork: header tid/pid are the parent's.
	 * 0 child_tid u32, 1 child_pid u32
	 */
	KESTREL_EVT_PROC_FORK = 14,
	/*
	 * sched_process_exec: a new image replaced the process.
	 * 0 filename string (as the kernel opened it), 1 old_tid u32
	 */
	KESTREL_EVT_PROC_EXEC = 15,
	/*
	 * execve / execveat at entry, before the image is replaced.
	 * 0 path string, 1 argv bytes
	 */
	KESTREL_EVT_EXECVE_ENTER = 16,
	KESTREL_EVT_EXECVEAT_ENTER = 17,

	KESTREL_EVT_MAX = 18,	/* one past the highest type */
};

/* The most parameters any event has. */
#define KESTREL_MAX_PARAMS		8

/* ------------------------------------------------------------------------ */
/* ioctls                                                                    */

#define KESTREL_IOC_MAGIC		0xb7

/*
 * Opening the device read-write makes the opener THE consumer: one at a
 * time (a second gets EBUSY), and the open resets the rings, counters, mask
 * and snaplen.  A read-only open is an observer, allowed beside the
 * consumer: it may use ABI_VERSION, GET_INFO and GET_STATS only (anything
 * else, mmap included, gets EPERM).
 */

/* KESTREL_IOC_GET_INFO: what the consumer needs to map the rings. */
struct kestrel_info {
	__u32 abi_version;	/* module: KESTREL_ABI_VERSION */
	__u32 nr_rings;		/* module: nr_cpu_ids; ids that are not
				 * possible CPUs have no ring (EINVAL) */
	__u64 ring_size;	/* module: data bytes per ring, power of two */
	__u64 page_size;	/* module: PAGE_SIZE */
	__u64 ring_stride;	/* module: mmap bytes from one ring to the next */
	__u64 consumer_offset;	/* module: struct kestrel_ring_consumer page */
	__u64 producer_offset;	/* module: struct kestrel_ring_producer page */
	__u64 data_offset;	/* module: data area, == producer_offset + page */
	__u32 snaplen;		/* module: current snaplen */
	__u32 capturing;	/* module: 1 while probes are attached */
};

/* KESTREL_IOC_SET_MASK: syscalls to record (bit n = syscall n). */
struct kestrel_syscall_mask {
	__u64 bits[KESTREL_MASK_WORDS];	/* consumer: requested syscalls */
};

/*
 * One CPU's counters, reset when the consumer opens the device (kept after
 * it closes, for observers) and monotonic since
 * (except lost_pending, which drops to 0 when a LOST record is written).
 */
struct kestrel_cpu_stats {
	__u64 attempted;	/* events the probes tried to record */
	__u64 written;		/* event records published (not PAD/LOST) */
	__u64 bytes;		/* bytes published, PAD and LOST included */
	__u64 drop_ring_full;	/* dropped: not enough free space */
	__u64 drop_too_large;	/* dropped: larger than a record may be */
	__u64 drop_fault;	/* dropped: event could not be built */
	__u64 lost_records;	/* KESTREL_EVT_LOST records written */
	__u64 lost_pending;	/* dropped, not yet reported in-band */
	__u64 param_faults;	/* parameters marked KESTREL_PARAM_FAULT */
	__u64 param_truncated;	/* parameters marked KESTREL_PARAM_TRUNCATED */
	__u64 wakeups;		/* irq_work wake-ups queued */
	__u64 __reserved[5];	/* module: zero */
};

/* KESTREL_IOC_GET_STATS: read one CPU's counters. */
struct kestrel_stats_req {
	__u32 cpu;			/* consumer: ring index < nr_rings */
	__u32 __pad;			/* consumer: zero */
	struct kestrel_cpu_stats stats;	/* module: the counters */
};

/* Never changes layout: read first, refuse any other version. */
#define KESTREL_IOC_ABI_VERSION	_IOR(KESTREL_IOC_MAGIC, 0, __u32)
#define KESTREL_IOC_GET_INFO	_IOR(KESTREL_IOC_MAGIC, 1, struct kestrel_info)
/* Attach the probes and start recording / detach them. No argument. */
#define KESTREL_IOC_START	_IO(KESTREL_IOC_MAGIC, 2)
#define KESTREL_IOC_STOP	_IO(KESTREL_IOC_MAGIC, 3)
#define KESTREL_IOC_SET_MASK	_IOW(KESTREL_IOC_MAGIC, 4, struct kestrel_syscall_mask)
/* Argument: __u32 in [KESTREL_SNAPLEN_MIN, KESTREL_SNAPLEN_MAX]. */
#define KESTREL_IOC_SET_SNAPLEN	_IOW(KESTREL_IOC_MAGIC, 5, __u32)
#define KESTREL_IOC_GET_STATS	_IOWR(KESTREL_IOC_MAGIC, 6, struct kestrel_stats_req)

#ifndef __KERNEL__
/*
 * The same numbers as integer constants, for generators that cannot expand
 * _IOR() (bindgen).  kestrel-abi's tests check each against the number
 * computed from magic, sequence number and argument size.
 */
enum kestrel_ioctl_request {
	KESTREL_IOCTL_ABI_VERSION = KESTREL_IOC_ABI_VERSION,
	KESTREL_IOCTL_GET_INFO = KESTREL_IOC_GET_INFO,
	KESTREL_IOCTL_START = KESTREL_IOC_START,
	KESTREL_IOCTL_STOP = KESTREL_IOC_STOP,
	KESTREL_IOCTL_SET_MASK = KESTREL_IOC_SET_MASK,
	KESTREL_IOCTL_SET_SNAPLEN = KESTREL_IOC_SET_SNAPLEN,
	KESTREL_IOCTL_GET_STATS = KESTREL_IOC_GET_STATS,
};
#endif

#endif /* _UAPI_KESTREL_ABI_H */
