/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kestrel_abi.h - the one ABI shared by kestrel.ko and its consumer.
 *
 * Everything both sides see is defined here and only here: the ioctl numbers
 * and their structs, the mmap layout of the per-CPU rings, the record header,
 * the event type numbers and the parameter layout of every event.  The module
 * includes this file; the consumer's kestrel-abi crate runs bindgen over it
 * and parses its event table (KESTREL_EVENT_TABLE, below) into schemas.
 * Only fixed-width types and explicit padding are used, and both sides check
 * the sizes at compile time.
 *
 * Ring layout and ordering protocol
 * ---------------------------------
 * The module keeps one ring per CPU (see "Rings and CPU ids" below).  Each
 * ring occupies kestrel_info.ring_stride bytes of the device's mmap offset
 * space, starting at ring_index * ring_stride, and consists of three parts
 * at the offsets given by struct kestrel_info:
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
 * An idle consumer sleeps in poll() on the device.  poll() reports the device
 * readable once some ring holds at least its wake-up watermark of unread
 * bytes (kestrel_ring_consumer.wakeup_bytes, clamped to 1..ring_size/2), and
 * a probe whose record brings its ring to the watermark while the consumer
 * waits wakes it.  Below the watermark nothing wakes the consumer: it must
 * poll with a bounded timeout and drain whatever is there when it expires,
 * which bounds the delay of a trickle of events (the kestrel consumer uses
 * 50 ms).  A watermark of 0 or 1 wakes on every record.  The module never
 * wakes the consumer from probe context: the probe queues an irq_work on
 * its CPU, which does the wake-up.
 *
 * Timestamps are CLOCK_MONOTONIC nanoseconds (ktime_get_ns()); userspace adds
 * (CLOCK_REALTIME - CLOCK_MONOTONIC), read once, to print wall time.
 */
#ifndef _UAPI_KESTREL_ABI_H
#define _UAPI_KESTREL_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Bumped on every incompatible change of anything in this file. */
#define KESTREL_ABI_VERSION		3

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

/*
 * Written by the consumer only; mapped read-write at consumer_offset.  The
 * module never trusts what it reads here: it clamps both values.
 */
struct kestrel_ring_consumer {
	__u64 tail;		/* consumer: bytes consumed, release store */
	__u64 wakeup_bytes;	/* consumer: wake-up watermark (see above);
				 * store before START or any time.  Was
				 * reserved (zero: wake on every record),
				 * so the ABI version did not change */
	__u64 __reserved[6];	/* consumer: zero; pads to a cache line */
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
 * The event table
 * ---------------
 * Every event type and its parameters are described once, in the X-macro
 * tables below; the module expands them into its enum and its fillers, and
 * the consumer's kestrel-abi build script parses them (strictly: anything it
 * does not understand fails the build) into its schema tables.  Keep the
 * exact shape: one K(), F() or EV() per line (an EV's P() entries may follow
 * on continuation lines), no comments inside the macros.
 *
 * KESTREL_PARAM_KINDS(K): K(KIND, number, WIRE) - how a parameter is filled
 * and what its bytes are.  WIRE is the encoding in the record: S64, U64 (8
 * bytes, little-endian), U32 (4 bytes), STR (text, no NUL), BYTES, ARGV (a
 * list: each item followed by a NUL, as /proc/PID/cmdline; see below),
 * SOCKADDR (a struct sockaddr
 * as the caller passed it, at most 128 bytes), TUPLE (see below).  In the
 * list, "arg a" is the syscall's register argument number a of the P()
 * entry, and a == 6 names the syscall's return value instead:
 *   RES          the syscall's return value (-errno on failure)
 *   INT          arg a as a C int, sign-extended (fds, pids, signals)
 *   S64          arg a as a signed 64-bit number
 *   U64          arg a
 *   U32          arg a, low 32 bits
 *   USER_INT     the int at user address arg a + 4*b, read at exit
 *                (FAULT when the call failed)
 *   USER_U64     the u64 at user address arg a + 8*b
 *   OPEN_HOW     field b (0 flags, 1 mode, 2 resolve) of the struct
 *                open_how at user address arg a
 *   CAP          capability set b of the caller after the call
 *                (0 inheritable, 1 permitted, 2 effective)
 *   CRED         credential b of the caller after the call, as seen from
 *                the initial user namespace: 0 uid, 1 gid, 2 euid, 3 egid,
 *                4 loginuid (0xffffffff when unset or without CONFIG_AUDIT)
 *   TASK         fact b of the caller: 0 pid in its pid namespace, 1 tid in
 *                it, 2 parent's tid, 3 pid namespace inode, 4 controlling
 *                tty (device number new_encode_dev-style, 0 if none)
 *   PATH         the NUL-terminated user string at arg a (cut at snaplen)
 *   ARGV         the NULL-terminated user array of strings at arg a
 *   SOCKADDR     the user sockaddr at arg a, its length in arg b
 *   SOCKADDR_OUT the user sockaddr at arg a that the kernel filled, its
 *                length in the user int at arg b, bounded by the buffer
 *                size that int held at entry (FAULT when the call failed)
 *   TUPLE        both ends of the socket whose fd is arg a (FAULT if it is
 *                not a socket): __u8 family, then for AF_INET local address
 *                (4 bytes, network order), local port (__u16 little-endian),
 *                remote address (4), remote port (__u16); for AF_INET6 the
 *                same with 16-byte addresses; for AF_UNIX the path the
 *                socket is bound to, or else its peer's (abstract names
 *                start with a NUL); any other family: the family byte only
 *   FULLPATH     absolute path (d_path) of the file whose fd is arg a (for
 *                a == 6, the open's result: the file the open installed);
 *                FAULT when the fd is negative or has no path
 *   EXE          the new image's executable (d_path of the file the exec
 *                opened) after a successful exec; after a failed one, the
 *                user string at arg a
 *   ARGS         the new image's arguments after a successful exec; after a
 *                failed one, the user array at arg a
 *   ENV          likewise for the environment (user array at arg a)
 *   CWD          the caller's working directory (d_path)
 *   CGROUP       the caller's cgroup v2 path (e.g. /system.slice/x.service)
 *   COMM         the caller's command name (task->comm)
 *   KSTR         text from the kernel (events the module fills by hand)
 *   RAWARGS      the six raw syscall arguments, 6 x __u64 (48 bytes)
 * What the caller passed and what the kernel acted on: the input
 * parameters an exit event reads from user memory (PATH, SOCKADDR,
 * OPEN_HOW, USER_U64, and SOCKADDR_OUT's buffer size) are copied at
 * syscall entry, so a sibling thread rewriting them during the call does
 * not change the record (the module reads them at exit only when the
 * entry copy could not be made: a page the caller had not touched yet, or
 * no free slot; SOCKADDR_OUT is then FAULT).  The kernel itself copies them
 * after the entry probe, so they may still differ from what it used: the
 * names the kernel acted on are in the kernel-derived parameters, taken
 * from its own objects: an open's FULLPATH from the file it created (read
 * when the fd is installed, before another thread can replace it), exec's
 * EXE from the file it loaded, connect's and bind's TUPLE from the socket
 * after the call.
 * ARGV lists (ARGV, ARGS, ENV) are bounded per item and in count, so that
 * padding cannot push the last items or any one item out of view: of n
 * items the first ones and the last ones are kept (at most 24 and 8; at a
 * small snaplen at most (snaplen - 12) / 2 items, a quarter of them from
 * the end), and the snaplen bytes left after the trailer and one NUL per
 * kept item are shared out in turn, each item taking at most an even share
 * of what is left.  A list with an item cut or items left out has
 * KESTREL_PARAM_TRUNCATED and, after its items, a trailer: a bitmap of the
 * kept items that were cut (bit i of byte i / 8 for kept item i, ceil(kept
 * / 8) bytes), __u32 omitted (items left out after the first `first` kept
 * ones; 0xffffffff when the list's end was not found: the items after the
 * kept ones are not counted), __u16 first, __u16 kept.  A list that is
 * whole has no trailer.
 * Paths resolved by the kernel (FULLPATH, EXE, CWD, CGROUP) are at most
 * PATH_MAX bytes; every variable parameter is at most snaplen bytes, except
 * SOCKADDR/SOCKADDR_OUT (at most 128 bytes) and TUPLE (at most 109), which
 * are never cut at snaplen.
 */
#define KESTREL_PARAM_KINDS(K)	\
	K(RES, 1, S64)		\
	K(INT, 2, S64)		\
	K(S64, 3, S64)		\
	K(U64, 4, U64)		\
	K(U32, 5, U32)		\
	K(USER_INT, 6, S64)	\
	K(USER_U64, 7, U64)	\
	K(OPEN_HOW, 8, U64)	\
	K(CAP, 9, U64)		\
	K(CRED, 10, U32)	\
	K(TASK, 11, U32)	\
	K(PATH, 12, STR)	\
	K(ARGV, 13, ARGV)	\
	K(SOCKADDR, 14, SOCKADDR)	\
	K(SOCKADDR_OUT, 15, SOCKADDR)	\
	K(TUPLE, 16, TUPLE)	\
	K(FULLPATH, 17, STR)	\
	K(EXE, 18, STR)		\
	K(ARGS, 19, ARGV)	\
	K(ENV, 20, ARGV)	\
	K(CWD, 21, STR)		\
	K(CGROUP, 22, STR)	\
	K(COMM, 23, STR)	\
	K(KSTR, 24, STR)	\
	K(RAWARGS, 25, BYTES)

/*
 * KESTREL_PARAM_FORMATS(F): F(FORMAT, number) - how the consumer may render
 * an integer parameter besides its raw value (the module ignores it):
 * NONE, OPEN (O_* flags), MODE (file mode, octal), CLONE (CLONE_* flags),
 * NS (CLONE_NEW* namespace types), PROT (PROT_*), MMAP (MAP_*), AT (AT_*
 * flags), FAMILY (AF_*), SOCKTYPE (SOCK_* type and flags), SIGNAL (SIG*),
 * FCNTL (F_* command), PTRACE (PTRACE_* request).
 */
#define KESTREL_PARAM_FORMATS(F)	\
	F(NONE, 0)		\
	F(OPEN, 1)		\
	F(MODE, 2)		\
	F(CLONE, 3)		\
	F(NS, 4)		\
	F(PROT, 5)		\
	F(MMAP, 6)		\
	F(AT, 7)		\
	F(FAMILY, 8)		\
	F(SOCKTYPE, 9)		\
	F(SIGNAL, 10)		\
	F(FCNTL, 11)		\
	F(PTRACE, 12)

/*
 * KESTREL_EVENT_TABLE(EV, P): every event type, in number order.
 *   EV(ID, number, name, DIR, syscall, params)
 * ID names KESTREL_EVT_<ID>; name is the Falco-style evt.type; DIR is E (at
 * syscall entry, evt.dir '>'), X (at syscall exit, '<') or K (not a syscall:
 * filled by the module from other tracepoints); syscall is the x86_64 name of
 * the syscall recorded (__NR_<syscall>), or _ for none.  params is a list of
 *   P(KIND, name, a, b, FORMAT)
 * in record order: the parameter's kind and name (what rules see as
 * evt.arg.<name>), the kind's a and b, and the consumer's rendering.  Syscall
 * exit events have res first.  A syscall event is recorded only for the
 * syscalls the consumer's mask selects; the module also filters mmap and
 * mprotect to calls asking for PROT_EXEC, and fcntl to F_DUPFD and
 * F_DUPFD_CLOEXEC.
 *
 * Events that are not syscalls:
 *   pad       filler up to the end of the data area (only len and type are
 *             valid; it may be 8 bytes long); skip it
 *   lost      events were dropped before this point: seq is the per-CPU
 *             sequence number of the first lost one, the rest count the
 *             events lost per reason
 *   generic   a masked-in syscall with no event of its own, at its exit:
 *             nr, res and the six raw arguments
 *   procexit  sched_process_exit: a thread exits; status as wait(2) encodes
 *             it (task->exit_code)
 *   procfork  sched_process_fork: header tid/pid are the parent's
 *   procexec  sched_process_exec: a new image replaced the process; filename
 *             as the kernel opened it, old_tid the thread id before exec
 * chdir/fchdir: path as passed / the fd (the consumer resolves them).
 * setsid: res is the new session id as the caller's pid namespace sees it.
 * setpgid: pid and pgid as passed, in the caller's pid namespace (0 means
 * the caller / the target's own pid); setpgrp() is setpgid(0, 0) on x86_64,
 * which has no setpgrp syscall.
 * execve/execveat exit: on success exe, args and env describe the new image;
 * on failure exe, args and env are the caller's arguments.  The ENTER
 * records are written before the image is replaced.  A successful exec's
 * exit record is written at sched_process_exec, right after procexec, from
 * what the kernel loaded: exe is the file it opened and mapped (the
 * interpreter for a #! script), args and env the new image's, whatever the
 * ABI of the old and new images (an exec into a 32-bit image returns to
 * user space as an ia32 syscall).  It is an EXECVE record for execveat too
 * (the kernel also reports a successful execveat as __NR_execve at its
 * exit), following the EXECVEAT_ENTER record of the same thread, and is
 * recorded when the mask selects execve or execveat.  Only a failed
 * execveat has an EXECVEAT exit record.
 */
#define KESTREL_EVENT_TABLE(EV, P)                                                      \
	EV(PAD, 1, pad, K, _, )                                                         \
	EV(LOST, 2, lost, K, _, P(U64, seq, 0, 0, NONE) P(U64, ring_full, 0, 0, NONE)   \
	   P(U64, too_large, 0, 0, NONE) P(U64, fault, 0, 0, NONE))                     \
	EV(GENERIC, 3, generic, K, _, P(U32, nr, 0, 0, NONE) P(RES, res, 6, 0, NONE)    \
	   P(RAWARGS, args, 0, 0, NONE))                                                \
	EV(EXECVE, 4, execve, X, execve, P(RES, res, 6, 0, NONE)                        \
	   P(EXE, exe, 0, 0, NONE) P(ARGS, args, 1, 0, NONE) P(CWD, cwd, 0, 0, NONE)    \
	   P(CRED, uid, 0, 0, NONE) P(CRED, gid, 0, 1, NONE) P(CRED, euid, 0, 2, NONE)  \
	   P(CRED, egid, 0, 3, NONE) P(CRED, loginuid, 0, 4, NONE)                      \
	   P(TASK, tty, 0, 4, NONE) P(CGROUP, cgroups, 0, 0, NONE)                      \
	   P(TASK, pidns, 0, 3, NONE) P(TASK, vpid, 0, 0, NONE)                         \
	   P(TASK, vtid, 0, 1, NONE) P(TASK, ptid, 0, 2, NONE) P(ENV, env, 2, 0, NONE)  \
	   P(COMM, comm, 0, 0, NONE))                                                   \
	EV(EXECVEAT, 5, execveat, X, execveat, P(RES, res, 6, 0, NONE)                  \
	   P(EXE, exe, 1, 0, NONE) P(ARGS, args, 2, 0, NONE) P(CWD, cwd, 0, 0, NONE)    \
	   P(CRED, uid, 0, 0, NONE) P(CRED, gid, 0, 1, NONE) P(CRED, euid, 0, 2, NONE)  \
	   P(CRED, egid, 0, 3, NONE) P(CRED, loginuid, 0, 4, NONE)                      \
	   P(TASK, tty, 0, 4, NONE) P(CGROUP, cgroups, 0, 0, NONE)                      \
	   P(TASK, pidns, 0, 3, NONE) P(TASK, vpid, 0, 0, NONE)                         \
	   P(TASK, vtid, 0, 1, NONE) P(TASK, ptid, 0, 2, NONE) P(ENV, env, 3, 0, NONE)  \
	   P(COMM, comm, 0, 0, NONE))                                                   \
	EV(OPEN, 6, open, X, open, P(RES, res, 6, 0, NONE) P(PATH, name, 0, 0, NONE)    \
	   P(U32, flags, 1, 0, OPEN) P(U32, mode, 2, 0, MODE)                           \
	   P(FULLPATH, fullpath, 6, 0, NONE))                                           \
	EV(OPENAT, 7, openat, X, openat, P(RES, res, 6, 0, NONE)                        \
	   P(INT, dirfd, 0, 0, NONE) P(PATH, name, 1, 0, NONE)                          \
	   P(U32, flags, 2, 0, OPEN) P(U32, mode, 3, 0, MODE)                           \
	   P(FULLPATH, fullpath, 6, 0, NONE))                                           \
	EV(OPENAT2, 8, openat2, X, openat2, P(RES, res, 6, 0, NONE)                     \
	   P(INT, dirfd, 0, 0, NONE) P(PATH, name, 1, 0, NONE)                          \
	   P(OPEN_HOW, flags, 2, 0, OPEN) P(OPEN_HOW, mode, 2, 1, MODE)                 \
	   P(OPEN_HOW, resolve, 2, 2, NONE) P(FULLPATH, fullpath, 6, 0, NONE))          \
	EV(CONNECT, 9, connect, X, connect, P(RES, res, 6, 0, NONE)                     \
	   P(INT, fd, 0, 0, NONE) P(SOCKADDR, addr, 1, 2, NONE)                         \
	   P(TUPLE, tuple, 0, 0, NONE))                                                 \
	EV(CLONE, 10, clone, X, clone, P(RES, res, 6, 0, NONE)                          \
	   P(U64, flags, 0, 0, CLONE))                                                  \
	EV(FORK, 11, fork, X, fork, P(RES, res, 6, 0, NONE))                            \
	EV(VFORK, 12, vfork, X, vfork, P(RES, res, 6, 0, NONE))                         \
	EV(PROC_EXIT, 13, procexit, K, _, P(U32, status, 0, 0, NONE))                   \
	EV(PROC_FORK, 14, procfork, K, _, P(U32, child_tid, 0, 0, NONE)                 \
	   P(U32, child_pid, 0, 0, NONE))                                               \
	EV(PROC_EXEC, 15, procexec, K, _, P(KSTR, filename, 0, 0, NONE)                 \
	   P(U32, old_tid, 0, 0, NONE))                                                 \
	EV(EXECVE_ENTER, 16, execve, E, execve, P(PATH, filename, 0, 0, NONE)           \
	   P(ARGV, args, 1, 0, NONE))                                                   \
	EV(EXECVEAT_ENTER, 17, execveat, E, execveat, P(INT, dirfd, 0, 0, NONE)         \
	   P(PATH, pathname, 1, 0, NONE) P(ARGV, args, 2, 0, NONE)                      \
	   P(U32, flags, 4, 0, AT))                                                     \
	EV(CLONE3, 18, clone3, X, clone3, P(RES, res, 6, 0, NONE)                       \
	   P(USER_U64, flags, 0, 0, CLONE))                                             \
	EV(KILL, 19, kill, X, kill, P(RES, res, 6, 0, NONE) P(INT, pid, 0, 0, NONE)     \
	   P(INT, sig, 1, 0, SIGNAL))                                                   \
	EV(TKILL, 20, tkill, X, tkill, P(RES, res, 6, 0, NONE) P(INT, tid, 0, 0, NONE)  \
	   P(INT, sig, 1, 0, SIGNAL))                                                   \
	EV(TGKILL, 21, tgkill, X, tgkill, P(RES, res, 6, 0, NONE)                       \
	   P(INT, pid, 0, 0, NONE) P(INT, tid, 1, 0, NONE) P(INT, sig, 2, 0, SIGNAL))   \
	EV(PTRACE, 22, ptrace, X, ptrace, P(RES, res, 6, 0, NONE)                       \
	   P(S64, request, 0, 0, PTRACE) P(INT, pid, 1, 0, NONE)                        \
	   P(U64, addr, 2, 0, NONE) P(U64, data, 3, 0, NONE))                           \
	EV(PRCTL, 23, prctl, X, prctl, P(RES, res, 6, 0, NONE)                          \
	   P(INT, option, 0, 0, NONE) P(U64, arg2, 1, 0, NONE)                          \
	   P(U64, arg3, 2, 0, NONE))                                                    \
	EV(CAPSET, 24, capset, X, capset, P(RES, res, 6, 0, NONE)                       \
	   P(CAP, cap_inheritable, 0, 0, NONE) P(CAP, cap_permitted, 0, 1, NONE)        \
	   P(CAP, cap_effective, 0, 2, NONE))                                           \
	EV(SETUID, 25, setuid, X, setuid, P(RES, res, 6, 0, NONE)                       \
	   P(U32, uid, 0, 0, NONE))                                                     \
	EV(SETGID, 26, setgid, X, setgid, P(RES, res, 6, 0, NONE)                       \
	   P(U32, gid, 0, 0, NONE))                                                     \
	EV(SETREUID, 27, setreuid, X, setreuid, P(RES, res, 6, 0, NONE)                 \
	   P(U32, ruid, 0, 0, NONE) P(U32, euid, 1, 0, NONE))                           \
	EV(SETREGID, 28, setregid, X, setregid, P(RES, res, 6, 0, NONE)                 \
	   P(U32, rgid, 0, 0, NONE) P(U32, egid, 1, 0, NONE))                           \
	EV(SETRESUID, 29, setresuid, X, setresuid, P(RES, res, 6, 0, NONE)              \
	   P(U32, ruid, 0, 0, NONE) P(U32, euid, 1, 0, NONE) P(U32, suid, 2, 0, NONE))  \
	EV(SETRESGID, 30, setresgid, X, setresgid, P(RES, res, 6, 0, NONE)              \
	   P(U32, rgid, 0, 0, NONE) P(U32, egid, 1, 0, NONE) P(U32, sgid, 2, 0, NONE))  \
	EV(SETFSUID, 31, setfsuid, X, setfsuid, P(RES, res, 6, 0, NONE)                 \
	   P(U32, uid, 0, 0, NONE))                                                     \
	EV(SETFSGID, 32, setfsgid, X, setfsgid, P(RES, res, 6, 0, NONE)                 \
	   P(U32, gid, 0, 0, NONE))                                                     \
	EV(SETNS, 33, setns, X, setns, P(RES, res, 6, 0, NONE) P(INT, fd, 0, 0, NONE)   \
	   P(U32, nstype, 1, 0, NS))                                                    \
	EV(UNSHARE, 34, unshare, X, unshare, P(RES, res, 6, 0, NONE)                    \
	   P(U64, flags, 0, 0, NS))                                                     \
	EV(CHROOT, 35, chroot, X, chroot, P(RES, res, 6, 0, NONE)                       \
	   P(PATH, path, 0, 0, NONE))                                                   \
	EV(PIVOT_ROOT, 36, pivot_root, X, pivot_root, P(RES, res, 6, 0, NONE)           \
	   P(PATH, new_root, 0, 0, NONE) P(PATH, put_old, 1, 0, NONE))                  \
	EV(CREAT, 37, creat, X, creat, P(RES, res, 6, 0, NONE)                          \
	   P(PATH, name, 0, 0, NONE) P(U32, mode, 1, 0, MODE)                           \
	   P(FULLPATH, fullpath, 6, 0, NONE))                                           \
	EV(CLOSE, 38, close, X, close, P(RES, res, 6, 0, NONE) P(INT, fd, 0, 0, NONE))  \
	EV(DUP, 39, dup, X, dup, P(RES, res, 6, 0, NONE) P(INT, oldfd, 0, 0, NONE))     \
	EV(DUP2, 40, dup2, X, dup2, P(RES, res, 6, 0, NONE) P(INT, oldfd, 0, 0, NONE)   \
	   P(INT, newfd, 1, 0, NONE))                                                   \
	EV(DUP3, 41, dup3, X, dup3, P(RES, res, 6, 0, NONE) P(INT, oldfd, 0, 0, NONE)   \
	   P(INT, newfd, 1, 0, NONE) P(U32, flags, 2, 0, OPEN))                         \
	EV(FCNTL, 42, fcntl, X, fcntl, P(RES, res, 6, 0, NONE) P(INT, fd, 0, 0, NONE)   \
	   P(INT, cmd, 1, 0, FCNTL))                                                    \
	EV(RENAME, 43, rename, X, rename, P(RES, res, 6, 0, NONE)                       \
	   P(PATH, oldpath, 0, 0, NONE) P(PATH, newpath, 1, 0, NONE))                   \
	EV(RENAMEAT, 44, renameat, X, renameat, P(RES, res, 6, 0, NONE)                 \
	   P(INT, olddirfd, 0, 0, NONE) P(PATH, oldpath, 1, 0, NONE)                    \
	   P(INT, newdirfd, 2, 0, NONE) P(PATH, newpath, 3, 0, NONE))                   \
	EV(RENAMEAT2, 45, renameat2, X, renameat2, P(RES, res, 6, 0, NONE)              \
	   P(INT, olddirfd, 0, 0, NONE) P(PATH, oldpath, 1, 0, NONE)                    \
	   P(INT, newdirfd, 2, 0, NONE) P(PATH, newpath, 3, 0, NONE)                    \
	   P(U32, flags, 4, 0, NONE))                                                   \
	EV(UNLINK, 46, unlink, X, unlink, P(RES, res, 6, 0, NONE)                       \
	   P(PATH, path, 0, 0, NONE))                                                   \
	EV(UNLINKAT, 47, unlinkat, X, unlinkat, P(RES, res, 6, 0, NONE)                 \
	   P(INT, dirfd, 0, 0, NONE) P(PATH, name, 1, 0, NONE) P(U32, flags, 2, 0, AT)) \
	EV(MKDIR, 48, mkdir, X, mkdir, P(RES, res, 6, 0, NONE)                          \
	   P(PATH, path, 0, 0, NONE) P(U32, mode, 1, 0, MODE))                          \
	EV(MKDIRAT, 49, mkdirat, X, mkdirat, P(RES, res, 6, 0, NONE)                    \
	   P(INT, dirfd, 0, 0, NONE) P(PATH, path, 1, 0, NONE)                          \
	   P(U32, mode, 2, 0, MODE))                                                    \
	EV(RMDIR, 50, rmdir, X, rmdir, P(RES, res, 6, 0, NONE)                          \
	   P(PATH, path, 0, 0, NONE))                                                   \
	EV(LINK, 51, link, X, link, P(RES, res, 6, 0, NONE)                             \
	   P(PATH, oldpath, 0, 0, NONE) P(PATH, newpath, 1, 0, NONE))                   \
	EV(LINKAT, 52, linkat, X, linkat, P(RES, res, 6, 0, NONE)                       \
	   P(INT, olddir, 0, 0, NONE) P(PATH, oldpath, 1, 0, NONE)                      \
	   P(INT, newdir, 2, 0, NONE) P(PATH, newpath, 3, 0, NONE)                      \
	   P(U32, flags, 4, 0, AT))                                                     \
	EV(SYMLINK, 53, symlink, X, symlink, P(RES, res, 6, 0, NONE)                    \
	   P(PATH, target, 0, 0, NONE) P(PATH, linkpath, 1, 0, NONE))                   \
	EV(SYMLINKAT, 54, symlinkat, X, symlinkat, P(RES, res, 6, 0, NONE)              \
	   P(PATH, target, 0, 0, NONE) P(INT, linkdirfd, 1, 0, NONE)                    \
	   P(PATH, linkpath, 2, 0, NONE))                                               \
	EV(CHMOD, 55, chmod, X, chmod, P(RES, res, 6, 0, NONE)                          \
	   P(PATH, filename, 0, 0, NONE) P(U32, mode, 1, 0, MODE))                      \
	EV(FCHMOD, 56, fchmod, X, fchmod, P(RES, res, 6, 0, NONE)                       \
	   P(INT, fd, 0, 0, NONE) P(U32, mode, 1, 0, MODE))                             \
	EV(FCHMODAT, 57, fchmodat, X, fchmodat, P(RES, res, 6, 0, NONE)                 \
	   P(INT, dirfd, 0, 0, NONE) P(PATH, filename, 1, 0, NONE)                      \
	   P(U32, mode, 2, 0, MODE))                                                    \
	EV(CHOWN, 58, chown, X, chown, P(RES, res, 6, 0, NONE)                          \
	   P(PATH, path, 0, 0, NONE) P(U32, uid, 1, 0, NONE) P(U32, gid, 2, 0, NONE))   \
	EV(LCHOWN, 59, lchown, X, lchown, P(RES, res, 6, 0, NONE)                       \
	   P(PATH, path, 0, 0, NONE) P(U32, uid, 1, 0, NONE) P(U32, gid, 2, 0, NONE))   \
	EV(FCHOWN, 60, fchown, X, fchown, P(RES, res, 6, 0, NONE)                       \
	   P(INT, fd, 0, 0, NONE) P(U32, uid, 1, 0, NONE) P(U32, gid, 2, 0, NONE))      \
	EV(FCHOWNAT, 61, fchownat, X, fchownat, P(RES, res, 6, 0, NONE)                 \
	   P(INT, dirfd, 0, 0, NONE) P(PATH, pathname, 1, 0, NONE)                      \
	   P(U32, uid, 2, 0, NONE) P(U32, gid, 3, 0, NONE) P(U32, flags, 4, 0, AT))     \
	EV(MOUNT, 62, mount, X, mount, P(RES, res, 6, 0, NONE)                          \
	   P(PATH, dev, 0, 0, NONE) P(PATH, dir, 1, 0, NONE) P(PATH, type, 2, 0, NONE)  \
	   P(U64, flags, 3, 0, NONE))                                                   \
	EV(UMOUNT2, 63, umount2, X, umount2, P(RES, res, 6, 0, NONE)                    \
	   P(PATH, name, 0, 0, NONE) P(U32, flags, 1, 0, NONE))                         \
	EV(MEMFD_CREATE, 64, memfd_create, X, memfd_create, P(RES, res, 6, 0, NONE)     \
	   P(PATH, name, 0, 0, NONE) P(U32, flags, 1, 0, NONE))                         \
	EV(PIPE, 65, pipe, X, pipe, P(RES, res, 6, 0, NONE)                             \
	   P(USER_INT, fd1, 0, 0, NONE) P(USER_INT, fd2, 0, 1, NONE))                   \
	EV(PIPE2, 66, pipe2, X, pipe2, P(RES, res, 6, 0, NONE)                          \
	   P(USER_INT, fd1, 0, 0, NONE) P(USER_INT, fd2, 0, 1, NONE)                    \
	   P(U32, flags, 1, 0, OPEN))                                                   \
	EV(SOCKET, 67, socket, X, socket, P(RES, res, 6, 0, NONE)                       \
	   P(INT, domain, 0, 0, FAMILY) P(INT, type, 1, 0, SOCKTYPE)                    \
	   P(INT, proto, 2, 0, NONE))                                                   \
	EV(ACCEPT, 68, accept, X, accept, P(RES, res, 6, 0, NONE)                       \
	   P(INT, fd, 0, 0, NONE) P(TUPLE, tuple, 6, 0, NONE))                          \
	EV(ACCEPT4, 69, accept4, X, accept4, P(RES, res, 6, 0, NONE)                    \
	   P(INT, fd, 0, 0, NONE) P(TUPLE, tuple, 6, 0, NONE)                           \
	   P(U32, flags, 3, 0, SOCKTYPE))                                               \
	EV(BIND, 70, bind, X, bind, P(RES, res, 6, 0, NONE) P(INT, fd, 0, 0, NONE)      \
	   P(SOCKADDR, addr, 1, 2, NONE) P(TUPLE, tuple, 0, 0, NONE))                   \
	EV(LISTEN, 71, listen, X, listen, P(RES, res, 6, 0, NONE)                       \
	   P(INT, fd, 0, 0, NONE) P(INT, backlog, 1, 0, NONE))                          \
	EV(SENDTO, 72, sendto, X, sendto, P(RES, res, 6, 0, NONE)                       \
	   P(INT, fd, 0, 0, NONE) P(U64, size, 2, 0, NONE)                              \
	   P(SOCKADDR, addr, 4, 5, NONE) P(TUPLE, tuple, 0, 0, NONE))                   \
	EV(RECVFROM, 73, recvfrom, X, recvfrom, P(RES, res, 6, 0, NONE)                 \
	   P(INT, fd, 0, 0, NONE) P(U64, size, 2, 0, NONE)                              \
	   P(SOCKADDR_OUT, addr, 4, 5, NONE) P(TUPLE, tuple, 0, 0, NONE))               \
	EV(SOCKETPAIR, 74, socketpair, X, socketpair, P(RES, res, 6, 0, NONE)           \
	   P(INT, domain, 0, 0, FAMILY) P(INT, type, 1, 0, SOCKTYPE)                    \
	   P(INT, proto, 2, 0, NONE) P(USER_INT, fd1, 3, 0, NONE)                       \
	   P(USER_INT, fd2, 3, 1, NONE))                                                \
	EV(INIT_MODULE, 75, init_module, X, init_module, P(RES, res, 6, 0, NONE)        \
	   P(U64, length, 1, 0, NONE) P(PATH, uargs, 2, 0, NONE))                       \
	EV(FINIT_MODULE, 76, finit_module, X, finit_module, P(RES, res, 6, 0, NONE)     \
	   P(INT, fd, 0, 0, NONE) P(PATH, uargs, 1, 0, NONE) P(U32, flags, 2, 0, NONE)  \
	   P(FULLPATH, fullpath, 0, 0, NONE))                                           \
	EV(DELETE_MODULE, 77, delete_module, X, delete_module, P(RES, res, 6, 0, NONE)  \
	   P(PATH, name, 0, 0, NONE) P(U32, flags, 1, 0, NONE))                         \
	EV(BPF, 78, bpf, X, bpf, P(RES, res, 6, 0, NONE) P(INT, cmd, 0, 0, NONE))       \
	EV(USERFAULTFD, 79, userfaultfd, X, userfaultfd, P(RES, res, 6, 0, NONE)        \
	   P(U32, flags, 0, 0, OPEN))                                                   \
	EV(IO_URING_SETUP, 80, io_uring_setup, X, io_uring_setup,                       \
	   P(RES, res, 6, 0, NONE) P(U32, entries, 0, 0, NONE))                         \
	EV(MPROTECT, 81, mprotect, X, mprotect, P(RES, res, 6, 0, NONE)                 \
	   P(U64, addr, 0, 0, NONE) P(U64, length, 1, 0, NONE)                          \
	   P(U32, prot, 2, 0, PROT))                                                    \
	EV(MMAP, 82, mmap, X, mmap, P(RES, res, 6, 0, NONE) P(U64, addr, 0, 0, NONE)    \
	   P(U64, length, 1, 0, NONE) P(U32, prot, 2, 0, PROT)                          \
	   P(U32, flags, 3, 0, MMAP) P(INT, fd, 4, 0, NONE) P(U64, offset, 5, 0, NONE)) \
	EV(CHDIR, 83, chdir, X, chdir, P(RES, res, 6, 0, NONE)                          \
	   P(PATH, path, 0, 0, NONE))                                                   \
	EV(FCHDIR, 84, fchdir, X, fchdir, P(RES, res, 6, 0, NONE)                       \
	   P(INT, fd, 0, 0, NONE))                                                      \
	EV(SETSID, 85, setsid, X, setsid, P(RES, res, 6, 0, NONE))                      \
	EV(SETPGID, 86, setpgid, X, setpgid, P(RES, res, 6, 0, NONE)                    \
	   P(INT, pid, 0, 0, NONE) P(INT, pgid, 1, 0, NONE))

/*
 * 32-bit syscalls
 * ---------------
 * A syscall made through the 32-bit x86 ABI (a 32-bit program, or int 0x80
 * from a 64-bit one) is recorded as the x86_64 syscall of the same meaning:
 * the same event type, selected by the same mask bit (the mask holds x86_64
 * numbers only), its arguments rearranged into the x86_64 call's.  Records
 * do not say which ABI a call came through.  The module builds its number
 * map from the tables below with the kernel's own __NR_ia32_* and __NR_*
 * numbers; the consumer does not read them.
 *
 * KESTREL_COMPAT_TABLE(C): C(ia32 syscall, x86_64 syscall, ARGS), where
 * ARGS says how the 32-bit arguments become the x86_64 call's:
 *   PLAIN   the same arguments, each 32 bits (zero-extended; signed ones,
 *           such as fds, are read as C ints); pointers are 32-bit user
 *           addresses and the argv/envp arrays of execve hold 32-bit
 *           pointers (compat_uptr_t)
 *   ID16    the 16-bit uid/gid calls: every argument is an id, 0xffff is -1
 *   OWN16   the 16-bit chown calls: arguments 1 and 2 are such ids
 *   MMAP    the old mmap: one pointer to the six 32-bit arguments
 *   MMAP2   mmap2: the offset (argument 5) is in 4096-byte pages
 * Two 32-bit syscalls multiplex others and are demultiplexed (below):
 * socketcall(call, args) and ipc(call, first, second, third, ptr, fifth).
 * A 32-bit syscall in neither is not recorded, generic included.
 */
#define KESTREL_COMPAT_TABLE(C)                                                         \
	C(execve, execve, PLAIN) C(execveat, execveat, PLAIN) C(open, open, PLAIN)      \
	C(openat, openat, PLAIN) C(openat2, openat2, PLAIN) C(creat, creat, PLAIN)      \
	C(connect, connect, PLAIN) C(clone, clone, PLAIN) C(fork, fork, PLAIN)          \
	C(vfork, vfork, PLAIN) C(clone3, clone3, PLAIN) C(kill, kill, PLAIN)            \
	C(tkill, tkill, PLAIN) C(tgkill, tgkill, PLAIN) C(ptrace, ptrace, PLAIN)        \
	C(prctl, prctl, PLAIN) C(capset, capset, PLAIN)                                 \
	C(setuid, setuid, ID16) C(setuid32, setuid, PLAIN)                              \
	C(setgid, setgid, ID16) C(setgid32, setgid, PLAIN)                              \
	C(setreuid, setreuid, ID16) C(setreuid32, setreuid, PLAIN)                      \
	C(setregid, setregid, ID16) C(setregid32, setregid, PLAIN)                      \
	C(setresuid, setresuid, ID16) C(setresuid32, setresuid, PLAIN)                  \
	C(setresgid, setresgid, ID16) C(setresgid32, setresgid, PLAIN)                  \
	C(setfsuid, setfsuid, ID16) C(setfsuid32, setfsuid, PLAIN)                      \
	C(setfsgid, setfsgid, ID16) C(setfsgid32, setfsgid, PLAIN)                      \
	C(setns, setns, PLAIN) C(unshare, unshare, PLAIN) C(chroot, chroot, PLAIN)      \
	C(pivot_root, pivot_root, PLAIN) C(close, close, PLAIN) C(dup, dup, PLAIN)      \
	C(dup2, dup2, PLAIN) C(dup3, dup3, PLAIN) C(fcntl, fcntl, PLAIN)                \
	C(fcntl64, fcntl, PLAIN) C(rename, rename, PLAIN) C(renameat, renameat, PLAIN)  \
	C(renameat2, renameat2, PLAIN) C(unlink, unlink, PLAIN)                         \
	C(unlinkat, unlinkat, PLAIN) C(mkdir, mkdir, PLAIN) C(mkdirat, mkdirat, PLAIN)  \
	C(rmdir, rmdir, PLAIN) C(link, link, PLAIN) C(linkat, linkat, PLAIN)            \
	C(symlink, symlink, PLAIN) C(symlinkat, symlinkat, PLAIN)                       \
	C(chmod, chmod, PLAIN) C(fchmod, fchmod, PLAIN) C(fchmodat, fchmodat, PLAIN)    \
	C(chown, chown, OWN16) C(chown32, chown, PLAIN) C(lchown, lchown, OWN16)        \
	C(lchown32, lchown, PLAIN) C(fchown, fchown, OWN16)                             \
	C(fchown32, fchown, PLAIN) C(fchownat, fchownat, PLAIN)                         \
	C(mount, mount, PLAIN) C(umount2, umount2, PLAIN)                               \
	C(memfd_create, memfd_create, PLAIN) C(pipe, pipe, PLAIN)                       \
	C(pipe2, pipe2, PLAIN) C(socket, socket, PLAIN) C(accept4, accept4, PLAIN)      \
	C(bind, bind, PLAIN) C(listen, listen, PLAIN) C(sendto, sendto, PLAIN)          \
	C(recvfrom, recvfrom, PLAIN) C(socketpair, socketpair, PLAIN)                   \
	C(getsockname, getsockname, PLAIN) C(getpeername, getpeername, PLAIN)           \
	C(shutdown, shutdown, PLAIN) C(setsockopt, setsockopt, PLAIN)                   \
	C(getsockopt, getsockopt, PLAIN) C(sendmsg, sendmsg, PLAIN)                     \
	C(recvmsg, recvmsg, PLAIN) C(init_module, init_module, PLAIN)                   \
	C(finit_module, finit_module, PLAIN) C(delete_module, delete_module, PLAIN)     \
	C(bpf, bpf, PLAIN) C(userfaultfd, userfaultfd, PLAIN)                           \
	C(io_uring_setup, io_uring_setup, PLAIN) C(mprotect, mprotect, PLAIN)           \
	C(mmap, mmap, MMAP) C(mmap2, mmap, MMAP2) C(chdir, chdir, PLAIN)                \
	C(fchdir, fchdir, PLAIN) C(setsid, setsid, PLAIN) C(setpgid, setpgid, PLAIN)    \
	C(semget, semget, PLAIN) C(semctl, semctl, PLAIN) C(shmget, shmget, PLAIN)      \
	C(shmctl, shmctl, PLAIN) C(shmat, shmat, PLAIN) C(shmdt, shmdt, PLAIN)          \
	C(msgget, msgget, PLAIN) C(msgsnd, msgsnd, PLAIN) C(msgrcv, msgrcv, PLAIN)      \
	C(msgctl, msgctl, PLAIN)

/*
 * KESTREL_SOCKETCALL_TABLE(S): S(call, x86_64 syscall, n): socketcall's
 * call number (SYS_* of <linux/net.h>) and the x86_64 syscall it is
 * recorded as, whose n arguments are the first n 32-bit values of the
 * user array (the rest are 0: SEND and RECV are sendto and recvfrom
 * without an address).
 */
#define KESTREL_SOCKETCALL_TABLE(S)                                                     \
	S(SYS_SOCKET, socket, 3) S(SYS_BIND, bind, 3) S(SYS_CONNECT, connect, 3)        \
	S(SYS_LISTEN, listen, 2) S(SYS_ACCEPT, accept, 3)                               \
	S(SYS_GETSOCKNAME, getsockname, 3) S(SYS_GETPEERNAME, getpeername, 3)           \
	S(SYS_SOCKETPAIR, socketpair, 4) S(SYS_SEND, sendto, 4)                         \
	S(SYS_RECV, recvfrom, 4) S(SYS_SENDTO, sendto, 6)                               \
	S(SYS_RECVFROM, recvfrom, 6) S(SYS_SHUTDOWN, shutdown, 2)                       \
	S(SYS_SETSOCKOPT, setsockopt, 5) S(SYS_GETSOCKOPT, getsockopt, 5)               \
	S(SYS_SENDMSG, sendmsg, 3) S(SYS_RECVMSG, recvmsg, 3)                           \
	S(SYS_ACCEPT4, accept4, 4) S(SYS_RECVMMSG, recvmmsg, 5)                         \
	S(SYS_SENDMMSG, sendmmsg, 4)

/*
 * KESTREL_IPC_TABLE(I): I(call, x86_64 syscall, a0, a1, a2, a3): ipc's call
 * number (low 16 bits of its first argument, as <linux/ipc.h> numbers
 * them) and the x86_64 syscall it is recorded as, whose arguments 0..3 are
 * ipc's arguments a0..a3 (1 first, 2 second, 3 third, 4 ptr, 5 fifth;
 * 0 for none).  These have no events of their own: they are recorded as
 * generic when the mask selects them.
 */
#define KESTREL_IPC_TABLE(I)                                                            \
	I(SEMOP, semop, 1, 4, 2, 0) I(SEMGET, semget, 1, 2, 3, 0)                       \
	I(SEMCTL, semctl, 1, 2, 3, 4) I(SEMTIMEDOP, semtimedop, 1, 4, 2, 5)             \
	I(MSGSND, msgsnd, 1, 4, 2, 3) I(MSGRCV, msgrcv, 1, 4, 2, 5)                     \
	I(MSGGET, msgget, 1, 2, 0, 0) I(MSGCTL, msgctl, 1, 2, 4, 0)                     \
	I(SHMAT, shmat, 1, 4, 2, 0) I(SHMDT, shmdt, 4, 0, 0, 0)                         \
	I(SHMGET, shmget, 1, 2, 3, 0) I(SHMCTL, shmctl, 1, 2, 4, 0)

/* The argument number a P() entry uses for the syscall's return value. */
#define KESTREL_ARG_RES			6

#define KESTREL_PK_ENUM_(kind, nr, wire)	KESTREL_PK_##kind = nr,
/* Parameter kinds (see KESTREL_PARAM_KINDS). */
enum kestrel_param_kind {
	KESTREL_PARAM_KINDS(KESTREL_PK_ENUM_)
};
#undef KESTREL_PK_ENUM_

#define KESTREL_EVT_ENUM_(id, nr, name, dir, sc, params)	\
	KESTREL_EVT_##id = nr,
#define KESTREL_EVT_NOP_(...)
/*
 * Event type numbers (see KESTREL_EVENT_TABLE for their parameters).
 * Numbers are little-endian (the host's order).
 */
enum kestrel_event_type {
	KESTREL_EVENT_TABLE(KESTREL_EVT_ENUM_, KESTREL_EVT_NOP_)
	KESTREL_EVT_MAX,	/* one past the highest type */
};
#undef KESTREL_EVT_ENUM_
#undef KESTREL_EVT_NOP_

/* The most parameters any event has (execve's exit: 17). */
#define KESTREL_MAX_PARAMS		20

/* ------------------------------------------------------------------------ */
/* ioctls                                                                    */

/*
 * 0xBC: no subsystem in the kernel's Documentation/userspace-api/ioctl/
 * ioctl-number.rst uses it (0xB7 is nsfs's and remoteproc's, 0xB8 mshv's,
 * 0xBA liveupdate's).  ABI 2 used 0xB7, where START was NS_GET_PARENT.
 */
#define KESTREL_IOC_MAGIC		0xbc

/*
 * Who may open the device (besides its file mode, 0600 root):
 *   read-write (the consumer): CAP_SYS_ADMIN, or both CAP_PERFMON and
 *     CAP_BPF, as attaching a tracing BPF program asks: the consumer sees
 *     every process's system calls;
 *   read-only (an observer): CAP_SYS_ADMIN or CAP_PERFMON, as perf asks for
 *     system-wide counting: it sees counters only.
 * Both as seen from the initial user namespace; anything else gets EPERM.
 *
 * Opening the device read-write makes the opener THE consumer: one at a
 * time (a second gets EBUSY).  The open allocates a fresh, zeroed ring for
 * every online CPU and resets the counters, mask and snaplen; release frees
 * the rings, so nothing of one session is readable by the next, and rings
 * cost memory only while a consumer holds the device.  A read-only open is
 * an observer, allowed beside the consumer: it may use ABI_VERSION,
 * GET_INFO, GET_RINGS and GET_STATS only (anything else, mmap included,
 * gets EPERM).  The module logs (kernel log, rate-limited) when a consumer
 * opens the device, starts or stops capture, and releases the device.
 *
 * Rings and CPU ids: ring i belongs to CPU i (0 <= i < nr_rings, which is
 * the kernel's nr_cpu_ids); ids need not be contiguous, and a CPU has a
 * ring only once it has been online while a consumer held the device.
 * GET_RINGS says which exist.  A CPU brought online during capture gets its
 * ring before it runs any task, and a ring stays (with its unread records)
 * when its CPU goes offline, until the consumer releases the device.  A
 * consumer learns of new rings by reading GET_RINGS again (kestrel does so
 * on every poll() timeout) and maps them then.
 */

/*
 * Feature bits (kestrel_info.features): what this module implements beyond
 * the ABI version's baseline.  An addition that an older consumer may ignore
 * gets a bit, not a new version; a consumer checks the bits it needs and
 * names the missing ones.  Bits are only ever added.
 */
#define KESTREL_FEAT_RING_MAP		(1ULL << 0)	/* GET_RINGS; rings per present CPU id */
#define KESTREL_FEAT_HOTPLUG		(1ULL << 1)	/* rings of CPUs that come online later */
#define KESTREL_FEAT_HEADROOM		(1ULL << 2)	/* critical events' headroom, drop_critical */
#define KESTREL_FEAT_ALL		(KESTREL_FEAT_RING_MAP | KESTREL_FEAT_HOTPLUG | \
					 KESTREL_FEAT_HEADROOM)

/*
 * Flooding: the last 1/KESTREL_HEADROOM_DIV of each ring is kept for the
 * events the default rules rely on most, the critical class: exec (entry,
 * exit, procexec), process fork and exit, ptrace, capset, setuid, module
 * loads and unloads, bpf.  Any other event is dropped as ring_full once it
 * would leave less free space than that, so a flood of cheap events cannot
 * push a critical one out.  kestrel_cpu_stats.drop_critical counts the
 * critical events dropped all the same (the headroom was used up too).
 * Which events are critical is the module's choice (kestrel_ring.c), not
 * part of the record format.
 */
#define KESTREL_HEADROOM_DIV		8

/*
 * The largest record the module writes is min(ring_size / 4,
 * KESTREL_RECORD_MAX); an event whose upper bound is larger is dropped as
 * drop_too_large.  With the largest snaplen (16383) the biggest event (a
 * failed EXECVE: three 16 KiB user strings and two kernel paths) is below
 * 57 KiB, so only rings smaller than 256 KiB can refuse an event, and only
 * at large snaplens.
 */
#define KESTREL_RECORD_MAX		(64 * 1024)

/*
 * KESTREL_EVT_LOST records: header (24), 4 parameter lengths (8), 4 __u64
 * parameters (32): seq and the counts per drop reason.  Both sides check
 * the sum at compile time.
 */
#define KESTREL_LOST_NPARAMS		4
#define KESTREL_LOST_LEN		64

/* The most CPU ids GET_RINGS can describe (x86's largest NR_CPUS). */
#define KESTREL_MAX_CPUS		8192

/* KESTREL_IOC_GET_INFO: what the consumer needs to map the rings. */
struct kestrel_info {
	__u32 abi_version;	/* module: KESTREL_ABI_VERSION */
	__u32 nr_rings;		/* module: nr_cpu_ids: ring ids are below it;
				 * see GET_RINGS for those that exist */
	__u64 ring_size;	/* module: data bytes per ring, power of two */
	__u64 page_size;	/* module: PAGE_SIZE */
	__u64 ring_stride;	/* module: mmap bytes from one ring to the next */
	__u64 consumer_offset;	/* module: struct kestrel_ring_consumer page */
	__u64 producer_offset;	/* module: struct kestrel_ring_producer page */
	__u64 data_offset;	/* module: data area, == producer_offset + page */
	__u32 snaplen;		/* module: current snaplen */
	__u32 capturing;	/* module: 1 while probes are attached */
	__u64 features;		/* module: KESTREL_FEAT_* it implements */
	__u32 rings_present;	/* module: rings allocated now */
	__u32 record_max;	/* module: largest record it writes */
	__u64 ring_bytes;	/* module: kernel memory the rings hold now */
	__u64 __reserved[5];	/* module: zero */
};

/* KESTREL_IOC_GET_RINGS: which ring ids exist now (bit i = ring i). */
struct kestrel_ring_map {
	__u32 nr_rings;		/* module: as kestrel_info.nr_rings */
	__u32 rings_present;	/* module: bits set below */
	__u64 present[KESTREL_MAX_CPUS / 64];	/* module: ring i mapped-able */
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
	__u64 drop_critical;	/* of the drops, critical events (see
				 * KESTREL_HEADROOM_DIV); was reserved */
	__u64 __reserved[4];	/* module: zero */
};

/*
 * KESTREL_IOC_GET_STATS: read one CPU's counters.  Any cpu below nr_rings
 * may be asked: a CPU without a ring has zero counters (or, after the
 * consumer released the device, those its ring ended with).
 */
struct kestrel_stats_req {
	__u32 cpu;			/* consumer: ring index < nr_rings */
	__u32 __pad;			/* consumer: zero */
	struct kestrel_cpu_stats stats;	/* module: the counters */
};

/* Never changes layout or number: read first, refuse any other version. */
#define KESTREL_IOC_ABI_VERSION	_IOR(KESTREL_IOC_MAGIC, 0, __u32)
#define KESTREL_IOC_GET_INFO	_IOR(KESTREL_IOC_MAGIC, 1, struct kestrel_info)
/* Attach the probes and start recording / detach them. No argument. */
#define KESTREL_IOC_START	_IO(KESTREL_IOC_MAGIC, 2)
#define KESTREL_IOC_STOP	_IO(KESTREL_IOC_MAGIC, 3)
#define KESTREL_IOC_SET_MASK	_IOW(KESTREL_IOC_MAGIC, 4, struct kestrel_syscall_mask)
/* Argument: __u32 in [KESTREL_SNAPLEN_MIN, KESTREL_SNAPLEN_MAX]. */
#define KESTREL_IOC_SET_SNAPLEN	_IOW(KESTREL_IOC_MAGIC, 5, __u32)
#define KESTREL_IOC_GET_STATS	_IOWR(KESTREL_IOC_MAGIC, 6, struct kestrel_stats_req)
#define KESTREL_IOC_GET_RINGS	_IOR(KESTREL_IOC_MAGIC, 7, struct kestrel_ring_map)

#endif /* _UAPI_KESTREL_ABI_H */
